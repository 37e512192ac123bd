"""Solve many instances and yield results as they complete: serially, on a local process pool,
or on a Dask cluster.

:func:`solve_many` takes items (name, file contents, format) and yields one :class:`ItemResult`
per item as each completes. Workers receive the instance *contents*, never a path, so they need
not share a file system with the caller. Nothing is written to disk here (see
:mod:`portfolio.batch` for result files and the ``portfolio batch`` command).

Failures never stop a batch. A file that cannot be parsed or validated, a task that raises, a
worker process that dies, or a task that outlives its wall-clock guard each become a row with
status ``error`` and an :attr:`ItemResult.error_kind` (``input``, ``crash``, ``worker_lost``,
``timeout``). An infeasible instance is an ordinary row.

Executors:

``serial``
    In the calling process, one item after another. No wall-clock guard (a solve cannot be
    abandoned in-process beyond its own time limit).
``processes``
    A :class:`concurrent.futures.ProcessPoolExecutor` with the ``forkserver`` start method
    (``spawn`` where there is none). ``fork`` is never used: the solvers (HiGHS, CP-SAT) keep
    thread pools, and a process forked from a parent whose thread pool is running can deadlock.
    Workers ignore SIGINT so that Ctrl-C is handled once, by the caller, which then terminates
    them. Workers end when the caller dies, however it dies (``kill -9`` included): on Linux
    the kernel kills them when their parent (the forkserver) goes (``PR_SET_PDEATHSIG``), and
    everywhere a watchdog thread in each worker exits it once the caller's process is gone
    (see :func:`_worker_init`). A worker that dies breaks the pool: the pool is rebuilt, the
    tasks it held are re-run one at a time to find the culprit, and an item that kills its
    worker ``1 + retries`` times becomes an ``error`` row.
``dask``
    A :class:`distributed.Client` connected to ``scheduler`` (``tcp://host:port``), or to a new
    local cluster when ``scheduler`` is None. Tasks are submitted with ``pure=False`` and
    ``retries``; the scheduler re-runs a task whose worker died on another worker, and reports
    :class:`distributed.KilledWorker` (an ``error`` row) when the same task kills workers
    repeatedly.

On the pooled executors about one task per worker slot is in flight (two on Dask, so that no
worker waits for the client between tasks), so a task's wall-clock guard (``task_timeout``; by
default ``2 x time_limit + 30`` seconds when a time limit is set) measures roughly from the
moment it starts. A task past its guard is abandoned: its row says ``error`` (``timeout``) and
the worker running it is recycled (the local pool is rebuilt; a Dask worker is restarted through
its nanny).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from portfolio.errors import (
    BackendOptionError,
    BackendUnavailableError,
    InstanceFileError,
    PortfolioError,
    UnknownBackendError,
    ValidationError,
)
from portfolio.params import SolveParams
from portfolio.result import Status

EXECUTORS = ("serial", "processes", "dask")
"""Names accepted by ``solve_many(executor=...)``."""

DEFAULT_RETRIES = 2
"""Re-runs of a task whose worker died before the item is reported as an error."""

GUARD_MARGIN = 30.0
"""Seconds added to twice the time limit for the default wall-clock guard of a task."""

CONNECT_TIMEOUT = 20.0
"""Seconds to wait for a Dask scheduler before giving up."""

POOLED_THREADS = 1
"""Solver threads per task on the pooled executors unless ``params.threads`` says otherwise:
the pool is the parallelism, and a multi-threaded solver in every worker would oversubscribe
the cores (HiGHS's extra thread costs CPU time without making these models faster)."""

ERROR_STATUS = Status.ERROR


@enum.unique
class ErrorKind(enum.StrEnum):
    """Why an item has no result; the values are the strings of the result file's
    ``error_kind``."""

    INPUT = "input"
    """The file cannot be read, parsed or validated (exit code 2)."""
    CRASH = "crash"
    """The task raised (a defect or an environment problem on the worker)."""
    WORKER_LOST = "worker_lost"
    """The worker process died while solving, on every attempt."""
    TIMEOUT = "timeout"
    """The task did not return within its wall-clock guard."""


INPUT = ErrorKind.INPUT
CRASH = ErrorKind.CRASH
WORKER_LOST = ErrorKind.WORKER_LOST
TIMEOUT = ErrorKind.TIMEOUT


@dataclass(frozen=True)
class BatchItem:
    """One instance to solve.

    Attributes:
        name: a unique name; it names the result (``<name>.result.json`` in a batch).
        content: the instance file's text.
        fmt: its format: ``json``, ``yaml`` or ``toml``.
        source: what error messages call the file (default: ``name``).
        start: a plan to start this item's solve from (service id -> option position), as
            :attr:`SolveParams.start`; it wins over the run's ``params.start``.
    """

    name: str
    content: str
    fmt: str = "json"
    source: str | None = None
    start: dict[str, int] | None = None

    def params_for(self, params: SolveParams) -> SolveParams:
        """The run's parameters with this item's start, if it has one."""
        return params if self.start is None else params.with_(start=dict(self.start))


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item of a batch.

    Attributes:
        index: the item's position in the input sequence.
        name: the item's name.
        input_hash: sha256 of the contents, backend and parameters (see :func:`input_hash`).
        status: the solve status (``optimal``, ``infeasible``, ...), or ``error``; a string given
            here (a status read back from a result file) is taken as its :class:`Status`.
        result: the solve command's result JSON (:meth:`SolveResult.to_dict`), or None when the
            item could not be solved.
        error: why there is no result (naming the file), or None.
        error_kind: why there is no result (None without error); a string is taken as its
            :class:`ErrorKind`.
        seconds: wall-clock seconds of the task on its worker (None if unknown).
        cpu_seconds: CPU seconds of the worker process during the task (every thread of the
            process, so it includes other tasks running at the same time in that process).
        worker: ``host:pid`` of the process that ran the task (None if unknown).
        attempts: how many times the task was submitted (1 unless a worker died).
        resumed: taken from an existing result file (``--resume``) rather than solved.
        source: the file the item came from, if any.
    """

    index: int
    name: str
    input_hash: str
    status: Status
    result: dict[str, Any] | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None
    worker: str | None = None
    attempts: int = 1
    resumed: bool = False
    source: str | None = None

    def __post_init__(self) -> None:
        # Rows come back from workers and result files as plain data: keep the enums.
        object.__setattr__(self, "status", Status(self.status))
        if self.error_kind is not None:
            object.__setattr__(self, "error_kind", ErrorKind(self.error_kind))

    @property
    def has_plan(self) -> bool:
        """A verified plan was found (optimal or feasible)."""
        return self.status.has_plan

    @property
    def bad_input(self) -> bool:
        """The input could not be read, parsed or validated."""
        return self.error_kind == INPUT

    @property
    def objective(self) -> float | None:
        """The plan's objective, or None."""
        return self.result.get("objective") if self.result else None

    def to_file_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result file's content: the solve command's JSON plus ``input_hash``.

        Rows without a result get the same keys with empty values, plus ``error`` and
        ``error_kind``.
        """
        if self.result is not None:
            data = dict(self.result)
        else:
            data = {
                "instance": self.name,
                "status": self.status.value,
                "objective": None,
                "bound": None,
                "gap": None,
                "assignment": None,
                "options": None,
                "backend": None,
                "solve_seconds": None,
                "verified": False,
            }
        if self.error is not None:
            data["error"] = self.error
            data["error_kind"] = None if self.error_kind is None else self.error_kind.value
        data["input_hash"] = self.input_hash
        if self.source is not None:
            data["file"] = self.source
        data.update(extra or {})
        return data


TaskFunction = Callable[[str, str, str, str, SolveParams, str], dict[str, Any]]
"""``task(name, content, fmt, backend, params, source) -> dict`` (see :func:`solve_task`)."""


def input_hash(content: str | bytes, backend: str, params: SolveParams) -> str:
    """sha256 of an instance's contents, the backend name and the solve parameters.

    ``verbose`` and ``isolation`` are left out (they change the log and where the solver runs,
    not the answer). Two runs with the same hash
    solve the same problem the same way, which is what ``--resume`` relies on.
    """
    raw = content.encode("utf-8") if isinstance(content, str) else content
    settings = {
        k: v for k, v in dataclasses.asdict(params).items() if k not in ("verbose", "isolation")
    }
    digest = hashlib.sha256()
    digest.update(raw)
    digest.update(b"\0")
    digest.update(backend.encode("utf-8"))
    digest.update(b"\0")
    digest.update(json.dumps(settings, sort_keys=True, default=repr).encode("utf-8"))
    return digest.hexdigest()


def solve_task(
    name: str, content: str, fmt: str, backend: str, params: SolveParams, source: str
) -> dict[str, Any]:
    """Parse, validate and solve one instance; the function each worker runs.

    It never raises for a bad input or a failed solve: the outcome is a plain dict (cheap to
    send back from a worker) with ``status``, ``result`` (the result JSON or None), ``error``,
    ``error_kind``, ``seconds``, ``cpu_seconds`` and ``worker``. The time limit in ``params``
    runs from the moment the task starts on its worker.
    """
    from portfolio.backends import get_backend
    from portfolio.clock import Clock
    from portfolio.errors import ReadTimeLimitError
    from portfolio.io import instance_from_data
    from portfolio.solve import read_time_limit_result, solve_instance

    began = time.perf_counter()
    cpu = time.process_time()
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def failure(kind: ErrorKind, message: str) -> dict[str, Any]:
        return {
            "status": ERROR_STATUS.value,
            "result": None,
            "error": message,
            "error_kind": kind.value,
            "seconds": time.perf_counter() - began,
            "cpu_seconds": time.process_time() - cpu,
            "worker": worker,
        }

    try:
        clock = Clock(began, params.time_limit)
        deadline = None if params.time_limit is None else began + params.time_limit
        try:
            instance = instance_from_data(content, fmt, source=source, deadline=deadline)
        except ReadTimeLimitError as exc:  # the limit ran out while reading: nothing solved
            spent = read_time_limit_result(exc, backend, params.time_limit, clock.elapsed())
            data = spent.to_dict()
        else:
            read_seconds = time.perf_counter() - began
            result = solve_instance(
                instance, get_backend(backend), params, clock=clock, read_seconds=read_seconds
            )
            data = result.to_dict()
    except (InstanceFileError, ValidationError) as exc:
        return failure(INPUT, str(exc))
    except BackendOptionError as exc:
        return failure(INPUT, f"{source}: {exc}")
    except (UnknownBackendError, BackendUnavailableError) as exc:
        return failure(CRASH, f"{source}: on worker {worker}: {exc}")
    except Exception as exc:  # a defect or the environment: the row says what happened
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
        return failure(CRASH, f"{source}: {type(exc).__name__}: {exc}{at}")
    return {
        "status": data["status"],
        "result": data,
        "error": None,
        "error_kind": None,
        "seconds": time.perf_counter() - began,
        "cpu_seconds": time.process_time() - cpu,
        "worker": worker,
    }


def effective_params(params: SolveParams | None, executor: str) -> SolveParams:
    """The parameters each task of ``executor`` solves with (``threads`` defaults to 1 on the
    pooled executors; see :data:`POOLED_THREADS`; their tasks' solver runs stay in the task's
    process, which the pool itself ends when a task overruns, unless ``isolation`` asks for
    solver processes)."""
    params = params or SolveParams()
    if executor != "serial" and params.isolation == "auto":
        params = params.with_(isolation="thread")
    if executor != "serial" and params.threads is None:
        return params.with_(threads=POOLED_THREADS)
    return params


def solve_many(
    items: Iterable[BatchItem | tuple[str, str, str]],
    backend: str = "highs",
    params: SolveParams | None = None,
    *,
    executor: str = "serial",
    workers: int | None = None,
    scheduler: Any = None,
    task_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    task: TaskFunction | None = None,
    cancel: threading.Event | None = None,
) -> Generator[ItemResult, None, None]:
    """Solve many instances and yield one result per item, in the order they complete.

    Close the iterator (``contextlib.closing``) if you may stop before the end: closing it, or
    an exception such as KeyboardInterrupt while it waits, cancels what is left and shuts the
    workers down.

    Args:
        items: :class:`BatchItem` objects or ``(name, content, format)`` tuples. Names should be
            unique; they are passed through to the results.
        backend: solver backend name, resolved on the worker.
        params: solve parameters for every item; ``time_limit`` applies to each item, from the
            moment its task starts. On the pooled executors ``threads`` defaults to 1
            (:data:`POOLED_THREADS`); the input hash uses the parameters actually applied.
        executor: ``serial``, ``processes`` or ``dask`` (see the module docstring).
        workers: local worker processes (``processes``, default: the number of cores) or workers
            of the local cluster started by ``dask`` without a ``scheduler``.
        scheduler: for ``dask``, a scheduler address (``tcp://host:port``) or an existing
            :class:`distributed.Client`; None starts a local cluster.
        task_timeout: wall-clock guard per task on the pooled executors, in seconds. Default:
            ``2 * time_limit + 30`` when a time limit is set, otherwise no guard.
        retries: local processes: re-runs of a task whose worker died (alone) before it is
            reported as an error. Dask: passed to ``Client.submit`` (re-runs of a task that
            raised); tasks whose worker died are re-run by the scheduler, up to its
            ``distributed.scheduler.allowed-failures`` (default 3), then reported as errors.
        task: the function each worker runs (default :func:`solve_task`); it must be importable
            by the workers and have the same signature.
        cancel: an event another thread may set to stop the run: within about a second the
            iterator raises :class:`Cancelled`, after cancelling what is left and stopping the
            workers (running tasks are abandoned, their processes terminated).

    Returns:
        An iterator over one :class:`ItemResult` per item, in the order they complete. The
        executor starts (and a Dask client connects) when iteration starts.

    Raises:
        ValueError: unknown executor or bad argument (at once).
        PortfolioError: when iteration starts, if the executor cannot start (Dask missing,
            scheduler unreachable).
        Cancelled: while iterating, once ``cancel`` is set.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor '{executor}': use one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if retries < 0:
        raise ValueError(f"retries must be at least 0, got {retries}")
    if task_timeout is not None and not task_timeout > 0:
        raise ValueError(f"task_timeout must be a positive number of seconds, got {task_timeout}")
    params = effective_params(params, executor)
    jobs = [
        _Job(i, item, input_hash(item.content, backend, item.params_for(params)))
        for i, item in enumerate(_as_item(item) for item in items)
    ]
    if task_timeout is None and params.time_limit is not None:
        task_timeout = 2 * params.time_limit + GUARD_MARGIN
    # The executor starts when iteration starts, so that an unused iterator holds nothing.
    return _results(
        jobs, task or solve_task, backend, params, executor, workers, scheduler, task_timeout,
        retries, cancel,
    )


def _results(
    jobs: list[_Job],
    run: TaskFunction,
    backend: str,
    params: SolveParams,
    executor: str,
    workers: int | None,
    scheduler: Any,
    task_timeout: float | None,
    retries: int,
    cancel: threading.Event | None = None,
) -> Generator[ItemResult, None, None]:
    if not jobs:
        return
    if executor == "serial":
        for job in jobs:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the run was cancelled")
            yield job.finish(_call(run, job, backend, params))
        return
    runner: _Runner
    if executor == "processes":
        runner = _LocalRunner(workers or os.cpu_count() or 1)
    else:
        runner = _DaskRunner(scheduler, workers, retries)
    try:
        yield from _drive(runner, jobs, run, backend, params, task_timeout, retries, cancel)
    except BaseException:
        runner.close(abort=True)
        raise
    runner.close(abort=False)


# ---------------------------------------------------------------------- internals
@dataclass
class _Job:
    """An item on its way through an executor."""

    index: int
    item: BatchItem
    hash: str
    attempts: int = 0
    deaths: int = 0
    suspect: bool = False

    @property
    def source(self) -> str:
        return self.item.source or self.item.name

    def args(self, backend: str, params: SolveParams) -> tuple[Any, ...]:
        item = self.item
        return (item.name, item.content, item.fmt, backend, item.params_for(params), self.source)

    def finish(self, outcome: dict[str, Any]) -> ItemResult:
        return ItemResult(
            index=self.index,
            name=self.item.name,
            input_hash=self.hash,
            status=outcome.get("status", ERROR_STATUS),
            result=outcome.get("result"),
            error=outcome.get("error"),
            error_kind=outcome.get("error_kind"),
            seconds=outcome.get("seconds"),
            cpu_seconds=outcome.get("cpu_seconds"),
            worker=outcome.get("worker"),
            attempts=max(1, self.attempts),
            source=self.item.source,
        )

    def failed(self, kind: ErrorKind, message: str) -> ItemResult:
        return self.finish(
            {"status": ERROR_STATUS, "error": f"{self.source}: {message}", "error_kind": kind}
        )


def _as_item(item: BatchItem | tuple[str, str, str]) -> BatchItem:
    if isinstance(item, BatchItem):
        return item
    name, content, fmt = item
    return BatchItem(str(name), content, fmt)


def _call(run: TaskFunction, job: _Job, backend: str, params: SolveParams) -> dict[str, Any]:
    job.attempts += 1
    try:
        return run(*job.args(backend, params))
    except Exception as exc:  # a custom task that raises: the row says so
        return {"status": ERROR_STATUS, "error": f"{job.source}: {exc!r}", "error_kind": CRASH}


class Cancelled(PortfolioError):
    """A run was cancelled through the ``cancel`` event of :func:`solve_many`."""


class _WorkerLost(Exception):
    """The process running a task died (local pool)."""


class _Runner(Protocol):
    """What the scheduling loop needs from a pooled executor."""

    def slots(self) -> int:
        """How many tasks to keep in flight."""

    def submit(self, run: TaskFunction, job: _Job, backend: str, params: SolveParams) -> Any:
        """Start a task; returns a handle (a future)."""

    def wait(self, handles: list[Any], timeout: float | None) -> set[Any]:
        """Handles done within ``timeout`` (at least one unless it expired)."""

    def outcome(self, handle: Any, job: _Job) -> dict[str, Any] | ItemResult:
        """The task's dict, an error row, or raise :class:`_WorkerLost`."""

    def abandon(self, handles: list[Any]) -> bool:
        """Give up on hung tasks; True when every other in-flight task was lost too."""

    def reset(self) -> None:
        """Replace a broken pool."""

    def close(self, abort: bool) -> None:
        """Shut down (abort: cancel everything and stop the workers now)."""


def _drive(
    runner: _Runner,
    jobs: list[_Job],
    run: TaskFunction,
    backend: str,
    params: SolveParams,
    task_timeout: float | None,
    retries: int,
    cancel: threading.Event | None = None,
) -> Iterator[ItemResult]:
    """Keep the workers busy, yield results as they complete, recover from lost workers."""
    queue: deque[_Job] = deque(jobs)
    suspects: deque[_Job] = deque()  # lost with others when a worker died: re-run alone
    inflight: dict[Any, tuple[_Job, float]] = {}

    def submit(job: _Job) -> None:
        job.attempts += 1
        inflight[runner.submit(run, job, backend, params)] = (job, time.monotonic())

    while queue or suspects or inflight:
        if cancel is not None and cancel.is_set():
            raise Cancelled("the run was cancelled")  # the caller aborts the workers
        if any(job.suspect for job, _ in inflight.values()):
            pass  # a suspect runs alone until it finishes or kills its worker
        elif suspects:
            if not inflight:
                submit(suspects.popleft())
        else:
            while queue and len(inflight) < runner.slots():
                submit(queue.popleft())

        timeout = 1.0
        if task_timeout is not None and inflight:
            oldest = min(began for _, began in inflight.values())
            timeout = min(timeout, max(0.0, oldest + task_timeout - time.monotonic()))
        done = runner.wait(list(inflight), timeout)

        lost: list[_Job] = []
        for handle in done:
            job, _ = inflight.pop(handle)
            try:
                outcome = runner.outcome(handle, job)
            except _WorkerLost:
                lost.append(job)
                continue
            yield outcome if isinstance(outcome, ItemResult) else job.finish(outcome)

        if lost:
            # The pool broke: every task it held is lost with it.
            lost.extend(job for job, _ in inflight.values())
            inflight.clear()
            runner.reset()
            if len(lost) == 1:  # alone in the pool: this task killed its worker
                job = lost[0]
                job.deaths += 1
                if job.deaths > retries:
                    yield job.failed(
                        WORKER_LOST,
                        f"the worker process died while solving it, {job.deaths} times",
                    )
                else:
                    job.suspect = True
                    suspects.append(job)
            else:
                for job in sorted(lost, key=lambda j: j.index):
                    job.suspect = True
                    suspects.append(job)
            continue

        if task_timeout is not None:
            now = time.monotonic()
            hung = [h for h, (_, began) in inflight.items() if now - began > task_timeout]
            if hung:
                pool_lost = runner.abandon(hung)
                for handle in hung:
                    job, _ = inflight.pop(handle)
                    yield job.failed(
                        TIMEOUT,
                        f"no answer within the {task_timeout:g} s wall-clock guard; "
                        "the task was abandoned and its worker restarted",
                    )
                if pool_lost:  # innocent bystanders: start them again, uncharged
                    for job, _ in sorted(inflight.values(), key=lambda v: v[0].index):
                        job.attempts -= 1
                        queue.appendleft(job)
                    inflight.clear()


def _ignore_sigint() -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


ORPHAN_POLL_SECONDS = 0.5
"""How often a worker's watchdog looks for its caller (where it cannot wait on a pidfd)."""

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _worker_init(caller: int) -> None:
    """Pool worker initializer: ignore Ctrl-C, and end when the caller (pid ``caller``) dies.

    1. On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes) has the kernel kill the
       worker when its parent process ends. The parent is the forkserver (or the caller, with
       ``spawn``); the forkserver itself exits when the caller does.
    2. Everywhere, a daemon thread watches the caller: on a pidfd where the system has them
       (Linux 5.3+; no pid-reuse race), else by polling that the parent pid is unchanged and the
       caller's pid still exists. When the caller is gone the worker kills itself, whatever it
       is solving: nobody is left to take the answer.
    """
    _ignore_sigint()
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            _die()
    pidfd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(caller)
    threading.Thread(
        target=_watch_caller, args=(caller, parent, pidfd), name="portfolio-orphan-watch",
        daemon=True,
    ).start()


def _watch_caller(caller: int, parent: int, pidfd: int | None) -> None:
    """Kill this worker once the caller process has ended."""
    if pidfd is not None:
        import select

        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        while not poller.poll(None):
            pass  # readable when the process has exited
        _die()
    while True:
        time.sleep(ORPHAN_POLL_SECONDS)
        if os.getppid() != parent or not _alive(caller):
            _die()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die() -> None:
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    os._exit(1)  # pragma: no cover - where SIGKILL does not exist


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class _LocalRunner:
    """A ProcessPoolExecutor that can be rebuilt after a worker dies or hangs."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.context = multiprocessing.get_context(_start_method())
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self.context,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def slots(self) -> int:
        return self.workers

    def submit(self, run: TaskFunction, job: _Job, backend: str, params: SolveParams) -> Any:
        return self.pool.submit(run, *job.args(backend, params))

    def wait(self, handles: list[Any], timeout: float | None) -> set[Any]:
        done, _ = wait_futures(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return done

    def outcome(self, handle: Any, job: _Job) -> dict[str, Any] | ItemResult:
        future: Future[dict[str, Any]] = handle
        try:
            return future.result()
        except BrokenProcessPool:
            raise _WorkerLost from None
        except Exception as exc:
            return job.failed(CRASH, f"{type(exc).__name__}: {exc}")

    def abandon(self, handles: list[Any]) -> bool:
        # A running task cannot be cancelled, and there is no telling which process runs it:
        # stop the whole pool and start another.
        self._stop(self.pool)
        self.pool = self._new_pool()
        return True

    def reset(self) -> None:
        self._stop(self.pool)
        self.pool = self._new_pool()

    def close(self, abort: bool) -> None:
        if abort:
            self._stop(self.pool)
        else:
            self.pool.shutdown(wait=True)

    @staticmethod
    def _stop(pool: ProcessPoolExecutor) -> None:
        # The pool has no public way to stop running tasks: terminate its processes.
        handles = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in handles:
            if process.is_alive():
                process.terminate()
        for process in handles:
            process.join(timeout=2.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=2.0)


class _DaskRunner:
    """A Dask distributed client; the scheduler re-runs tasks of workers that die."""

    def __init__(self, scheduler: Any, workers: int | None, retries: int) -> None:
        try:
            import distributed as dask_distributed
        except ImportError:
            raise PortfolioError(
                "the dask executor needs Dask: pip install 'portfolio[dask]'"
            ) from None
        distributed: Any = dask_distributed
        self.distributed = distributed
        self.retries = retries
        self.cluster: Any = None
        self.owns_client = not isinstance(scheduler, distributed.Client)
        if not self.owns_client:
            self.client = scheduler
        elif scheduler is None:
            self.cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = distributed.Client(self.cluster, set_as_default=False)
        else:
            try:
                self.client = distributed.Client(
                    scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise PortfolioError(
                    f"cannot connect to the Dask scheduler at {scheduler}: {exc}"
                ) from None
        self._slots = 1
        self._slots_checked = -1e9
        self.run_id = uuid.uuid4().hex[:8]
        self.pending: set[Any] = set()

    def slots(self) -> int:
        now = time.monotonic()
        if now - self._slots_checked > 5.0:
            self._slots_checked = now
            info = self.client.scheduler_info(n_workers=-1)
            threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
            # Two tasks per thread: one running, one waiting, so no worker idles between tasks.
            self._slots = max(2, 2 * threads)
        return self._slots

    def submit(self, run: TaskFunction, job: _Job, backend: str, params: SolveParams) -> Any:
        future = self.client.submit(
            run,
            *job.args(backend, params),
            key=f"portfolio-{self.run_id}-{job.index}-{job.attempts}",
            pure=False,
            retries=self.retries,
        )
        self.pending.add(future)
        return future

    def wait(self, handles: list[Any], timeout: float | None) -> set[Any]:
        try:
            with self.client.as_current():  # our client, not whichever is the default
                done, _ = self.distributed.wait(
                    handles, timeout=timeout, return_when=FIRST_COMPLETED
                )
        except TimeoutError:
            return set()
        return set(done)

    def outcome(self, handle: Any, job: _Job) -> dict[str, Any] | ItemResult:
        try:
            result: dict[str, Any] = handle.result()
            return result
        except self.distributed.KilledWorker as exc:
            return job.failed(WORKER_LOST, f"workers died while solving it ({exc})")
        except Exception as exc:
            name = type(exc).__name__
            if name == "CancelledError" or handle.status == "cancelled":
                return job.failed(WORKER_LOST, "the task was cancelled (scheduler lost?)")
            return job.failed(CRASH, f"{name}: {exc}")
        finally:
            self.pending.discard(handle)
            handle.release()

    def abandon(self, handles: list[Any]) -> bool:
        keys = {handle.key for handle in handles}
        try:
            processing = self.client.processing()
        except Exception:
            processing = {}
        for handle in handles:
            self.pending.discard(handle)
            handle.cancel()
        stuck = [w for w, tasks in processing.items() if keys.intersection(tasks)]
        if stuck:
            with contextlib.suppress(Exception):  # no nanny: the worker cannot be restarted
                self.client.restart_workers(stuck, raise_for_error=False)
        return False

    def reset(self) -> None:
        """Nothing to do: the scheduler handles lost workers."""

    def close(self, abort: bool) -> None:
        if abort and self.pending:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.pending))
        self.pending.clear()
        if self.owns_client:
            with contextlib.suppress(Exception):
                self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
