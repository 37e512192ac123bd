"""Running solver work under the caller's deadline and cancel request.

Every solve runs its backend, its start heuristic and its infeasibility explanation through
:func:`run_guarded`: the work runs in a daemon thread while the caller's thread waits in short
polls, so the caller's time limit holds even when a solver overruns its own, a cancel request
(Ctrl-C, a web request) reaches the solver through its own interrupt, and a solver that does not
stop is abandoned rather than waited for.

With a time limit, :func:`reclaimable` (see :attr:`~portfolio.params.SolveParams.isolation`) puts
each run of a backend that would run in this process into a child process of its own
(:mod:`portfolio.backends.isolated`), killed when it does not stop: then the thread waiting on it
always returns, and nothing is left running.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from portfolio.backends.base import Backend, Feature
from portfolio.backends.isolated import can_isolate, isolated, prestart, process_available
from portfolio.clock import Clock
from portfolio.linear import FloatArray, LinearModel
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status, StopReason

STOP_GRACE = 0.75
"""Seconds a child solver process gets to send its best plan after a stop request (below
:data:`ABANDON_GRACE`, so that the guard never abandons the thread that waits on it)."""

#: Seconds a solver may overrun the deadline (after being asked to stop) before it is abandoned.
ABANDON_GRACE = 1.0
#: Seconds a solver gets to stop after a cancel request (Ctrl-C) before its run is abandoned.
CANCEL_GRACE = 2.0
#: Share of the time limit after which a heuristic that has not returned is abandoned.
HEURISTIC_SHARE = 0.6
#: How often a guarded run looks at the deadline and the cancel request (seconds).
POLL_SECONDS = 0.05

T = TypeVar("T")


@enum.unique
class Ending(enum.Enum):
    """How a guarded run ended."""

    DONE = "done"
    """It returned on its own."""
    TIMEOUT = "timeout"
    """Its time ran out; it was asked to stop and returned within the grace period."""
    CANCELLED = "cancelled"
    """A cancel request came; it was asked to stop and returned within the grace period."""
    ABANDONED = "abandoned"
    """It did not return within the grace period after being asked to stop; it still runs."""


def run_guarded(
    work: Callable[[threading.Event], T],
    *,
    name: str,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    timeout_grace: float = ABANDON_GRACE,
    cancel_grace: float = CANCEL_GRACE,
) -> tuple[T | None, Ending]:
    """Run ``work(stop)`` in a daemon thread and wait for it, keeping a deadline and a cancel.

    ``work`` gets an event that is set when it must stop (the solver's own interrupt). The
    caller's thread only waits, in short polls, so a signal handler (Ctrl-C) runs promptly and
    no ``KeyboardInterrupt`` is ever raised inside native solver code.

    Args:
        work: the function to run; it should return soon after its ``stop`` event is set.
        name: thread name suffix (threads are named ``portfolio-<name>``).
        timeout: seconds after which ``work`` is asked to stop, or None.
        cancel: when set (from a signal handler or another thread), ``work`` is asked to stop.
        timeout_grace: seconds ``work`` gets to return after its time ran out.
        cancel_grace: seconds ``work`` gets to return after a cancel request.

    Returns:
        What ``work`` returned (None when abandoned) and how the run ended.

    Raises:
        KeyboardInterrupt: raised in the waiting thread (no handler of its own for SIGINT):
            ``work`` is asked to stop and given ``cancel_grace`` seconds first, so that no
            solver is left running when the interpreter exits.
        BaseException: whatever ``work`` raised.
    """
    stop = threading.Event()
    finished = threading.Event()
    box: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box.append(work(stop))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            finished.set()

    # The waiting uses an event, not Thread.join: a KeyboardInterrupt that lands in join marks
    # a running thread as stopped in Python 3.11 (bpo-45274's fix), and it would be left behind.
    thread = threading.Thread(target=target, name=f"portfolio-{name}", daemon=True)
    give_up = None if timeout is None else time.monotonic() + max(0.0, timeout)
    ending = Ending.DONE
    try:
        thread.start()
        while not finished.is_set():
            if cancel is not None and cancel.is_set():
                ending = Ending.CANCELLED
                break
            wait = POLL_SECONDS
            if give_up is not None:
                left = give_up - time.monotonic()
                if left <= 0:
                    ending = Ending.TIMEOUT
                    break
                wait = min(wait, left)
            finished.wait(wait)
        if not finished.is_set():
            stop.set()
            finished.wait(cancel_grace if ending is Ending.CANCELLED else timeout_grace)
    except KeyboardInterrupt:
        stop.set()
        finished.wait(cancel_grace)
        raise
    if not finished.is_set():
        return None, Ending.ABANDONED
    thread.join()  # it has finished: only the thread's own exit is left
    if failure:
        raise failure[0]
    return (box[0] if box else None), ending


def run_heuristic(
    work: Callable[[threading.Event], T], clock: Clock, *, grace: float = 0.0
) -> T | None:
    """Run a start heuristic under the clock: abandoned (asked to stop, not waited for) after
    :data:`HEURISTIC_SHARE` of the time left, stopped on a cancel request.

    Its solves may overrun their own limit in phases with no interrupt callback (HiGHS's
    presolve and crossover), hence the guard. ``grace`` is how long it may take to return once
    asked to stop: 0 for solves in this process (nothing waits for one that does not stop), a
    little for solves in solver processes (they are killed at once, and the thread then ends).
    """
    remaining = clock.remaining()
    value, _ = run_guarded(
        work,
        name="heuristic",
        timeout=None if remaining is None else remaining * HEURISTIC_SHARE + ABANDON_GRACE,
        cancel=clock.cancel,
        timeout_grace=grace,
        cancel_grace=max(grace, CANCEL_GRACE),
    )
    return value


def in_child_process(solver: Backend, params: SolveParams) -> bool:
    """True when ``solver``'s runs go to a child process (:attr:`SolveParams.isolation`):
    ``"process"``, or ``"auto"`` with a time limit, for a backend that runs in this process and
    whose class a child can import, where child processes can be started."""
    if params.isolation == "thread" or (params.isolation == "auto" and params.time_limit is None):
        return False
    if solver.supports(Feature.OWN_PROCESS) or not can_isolate(solver):
        return False
    return process_available()


def prepare(solver: Backend, params: SolveParams) -> None:
    """Start a solver process for the solve ahead when its runs will go to one
    (:func:`in_child_process`), so that its start overlaps the compilation."""
    if in_child_process(solver, params):
        prestart()


def reclaimable(solver: Backend, params: SolveParams, *, keep_answer: bool = True) -> Backend:
    """``solver``, or ``solver`` run in child processes when :func:`in_child_process` says so.

    Args:
        solver: the backend.
        params: the solve's parameters (``isolation``, ``time_limit``).
        keep_answer: a stopped run's answer is wanted (its best plan): the child gets
            :data:`~portfolio.backends.isolated.STOP_GRACE` seconds to send it; else it is
            killed as soon as it is asked to stop.
    """
    if not in_child_process(solver, params):
        return solver
    return isolated(solver, stop_grace=STOP_GRACE if keep_answer else 0.0)


def run_with_deadline(
    solver: Backend,
    model: LinearModel,
    params: SolveParams,
    clock: Clock,
    start: FloatArray | None,
) -> BackendResult:
    """Run the backend, keeping the caller's time limit even if the solver overruns its own, and
    stopping it (through its own interrupt) when the caller's cancel request comes."""
    if clock.cancelled:
        return _no_run(StopReason.INTERRUPTED, f"{solver.name} not started", "interrupted")
    remaining = clock.remaining()
    if remaining is not None and remaining <= 0:
        return _no_run(StopReason.TIME_LIMIT, "no time left to solve")
    solver = reclaimable(solver, params)
    # Leave the solver most of what is left; keep a little for decoding and verification.
    solver_limit = None if remaining is None else max(0.05, remaining * 0.97 - 0.05)
    result, ending = run_guarded(
        lambda stop: solver.solve(
            model, params, time_limit=solver_limit, start=start, interrupt=stop
        ),
        name=solver.name,
        timeout=remaining,
        cancel=clock.cancel,
        timeout_grace=ABANDON_GRACE + min(1.0, 0.05 * (params.time_limit or 0)),
    )
    if result is None:
        why = (
            f"did not stop within {CANCEL_GRACE:g}s of the stop request"
            if clock.cancelled
            else "did not stop at the time limit"
        )
        return _no_run(
            StopReason.ABANDONED, f"{solver.name} {why}; its run was abandoned", "abandoned"
        )
    if ending is Ending.CANCELLED:
        if result.status is Status.ERROR and result.x is None:
            # A solver stopped early may call that a failure (CP-SAT's UNKNOWN, ...).
            result = replace(result, status=Status.TIME_LIMIT_NO_SOLUTION)
        if result.status in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION):
            result = replace(result, hit_limit=True)
    return result


def _no_run(stop: StopReason, detail: str, raw_status: str = "") -> BackendResult:
    """The answer of a backend run the guard did not start, or abandoned: no plan."""
    return BackendResult(
        Status.TIME_LIMIT_NO_SOLUTION,
        raw_status=raw_status,
        detail=detail,
        hit_limit=True,
        stop=stop,
    )


def explain_guarded(explain: Callable[[threading.Event], T], clock: Clock) -> T | None:
    """Run an infeasibility explanation unless the caller cancelled; stop it on a cancel."""
    if clock.cancelled:
        return None
    value, _ = run_guarded(explain, name="explain", cancel=clock.cancel)
    return value
