"""Keep in-process HiGHS solves that ask for different thread counts apart.

HiGHS has one process-wide thread scheduler; the highs backend resets it when a solve asks for
a different number of threads than the last one. In a command that is harmless (one solve at a
time); in the server several solves run at once in worker threads, and resetting the scheduler
under a running solve is not safe. The gate lets any number of HiGHS solves with the same thread
count run together, and makes a solve with another count wait until they have finished.
Other backends pass straight through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

GATED_BACKENDS = frozenset({"highs"})
"""Backends whose solves share a process-wide thread scheduler."""


class ThreadsGate:
    """Admits solves whose thread count matches the ones running (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._threads: int | None = None
        self._running = 0

    @contextmanager
    def hold(self, backend: str, threads: int | None) -> Iterator[None]:
        """Run the body once no solve with another thread count is running on ``backend``."""
        if backend not in GATED_BACKENDS:
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._running == 0 or self._threads == threads)
            self._threads = threads
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
