"""Settings of the HTTP service (no web framework imported here)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

DEFAULT_MAX_TIME_LIMIT = 60.0
"""Seconds: the longest time limit a synchronous solve (or one job item) may ask for."""

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
"""Bytes: the largest request body accepted (20 MiB)."""

DEFAULT_MAX_JOBS = 2
"""Jobs run at the same time; later jobs wait in the queue."""

DEFAULT_KEEP_JOBS = 200
"""Finished jobs kept in memory (the oldest are forgotten first)."""


@dataclass(frozen=True)
class ServerSettings:
    """How the service runs.

    Attributes:
        max_time_limit: cap on the ``time_limit`` of a synchronous solve and of each item of a
            job, in seconds; it is also the time limit when the request gives none.
        max_body_bytes: requests with a larger body get 413.
        workers: worker processes of a job (local pool), and synchronous solves at the same time.
            None: the number of cores.
        scheduler: a Dask scheduler address (``tcp://host:port``); jobs then run on that cluster
            instead of a local process pool.
        max_jobs: jobs running at the same time.
        keep_jobs: finished jobs remembered (the oldest are forgotten first).
    """

    max_time_limit: float = DEFAULT_MAX_TIME_LIMIT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    workers: int | None = None
    scheduler: str | None = None
    max_jobs: int = DEFAULT_MAX_JOBS
    keep_jobs: int = DEFAULT_KEEP_JOBS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_time_limit) and self.max_time_limit > 0):
            raise ValueError(f"max_time_limit must be a positive number, got {self.max_time_limit}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {self.max_body_bytes}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.max_jobs < 1 or self.keep_jobs < 1:
            raise ValueError("max_jobs and keep_jobs must be at least 1")

    @property
    def worker_count(self) -> int:
        """Workers actually used."""
        return self.workers or os.cpu_count() or 1

    @property
    def executor(self) -> str:
        """The executor of jobs: ``dask`` with a scheduler, else ``processes``."""
        return "dask" if self.scheduler else "processes"
