"""The wall-clock budget of one solve, shared by every caller that runs one."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class Clock:
    """Wall-clock budget of one solve, and the caller's cancel request."""

    began: float
    limit: float | None
    cancel: threading.Event | None = None

    def remaining(self) -> float | None:
        if self.limit is None:
            return None
        return self.limit - (time.perf_counter() - self.began)

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    @property
    def cancelled(self) -> bool:
        """True once the caller asked the solve to stop."""
        return self.cancel is not None and self.cancel.is_set()
