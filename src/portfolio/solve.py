"""Solve an instance: compile, (heuristic start), backend under a hard deadline, decode, verify.

Every plan returned has passed :func:`~portfolio.verify.verify_plan`. A backend's answer that
fails verification is never reported as a plan: the result says ``error`` (or
``time_limit_no_solution`` when a limit stopped the solver) and lists what failed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from portfolio.backends.base import DEFAULT_BACKEND, Backend, Feature, get_backend
from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance
from portfolio.errors import ReadTimeLimitError
from portfolio.io import instance_from_data, load_instance
from portfolio.linear import FloatArray, LinearModel, Sense
from portfolio.params import SolveParams
from portfolio.result import BackendResult, SolveResult, Status, Timings, relative_gap
from portfolio.verify import Verification, verify_plan

#: Seconds a solver may overrun the deadline (after being asked to stop) before it is abandoned.
ABANDON_GRACE = 1.0
#: Share of the time limit after which a heuristic that has not returned is abandoned.
HEURISTIC_SHARE = 0.6

T = TypeVar("T")


def _call_with_timeout(function: Callable[[], T | None], timeout: float | None) -> T | None:
    """Run ``function`` in a daemon thread; None if it has not returned within ``timeout``.

    Used for the heuristic, whose HiGHS solves may overrun their own limit in phases that have
    no interrupt callback (presolve, crossover).
    """
    if timeout is None:
        return function()
    box: list[T | None] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="portfolio-heuristic", daemon=True)
    thread.start()
    thread.join(timeout)
    if failure:
        raise failure[0]
    return box[0] if box else None


@dataclass
class _Clock:
    """Wall-clock budget of one solve."""

    began: float
    limit: float | None

    def remaining(self) -> float | None:
        if self.limit is None:
            return None
        return self.limit - (time.perf_counter() - self.began)

    def elapsed(self) -> float:
        return time.perf_counter() - self.began


def solve(
    instance: Instance | str | os.PathLike[str] | Mapping[str, Any],
    backend: str | Backend = DEFAULT_BACKEND,
    params: SolveParams | None = None,
    **overrides: Any,
) -> SolveResult:
    """Solve one instance and return a verified result.

    Args:
        instance: an :class:`Instance`, a path to an instance file, or the parsed data.
        backend: backend name (``highs``, ``cbc``, ``cpsat``, ``scip``) or a backend object.
        params: solve parameters; keyword ``overrides`` (e.g. ``time_limit=30``) change fields.

    Returns:
        The result. Outcomes (infeasible, time limit, ...) are in ``status``; only failures of the
        input or of the machinery raise.

    Raises:
        InstanceFileError, ValidationError: bad input.
        UnknownBackendError, BackendUnavailableError: the backend cannot be used.
    """
    params = (
        (params or SolveParams()).with_(**overrides) if overrides else (params or SolveParams())
    )
    clock = _Clock(time.perf_counter(), params.time_limit)
    solver = backend if isinstance(backend, Backend) else get_backend(backend)

    if isinstance(instance, Instance):
        inst = instance
    elif isinstance(instance, Mapping):
        inst = instance_from_data(instance)
    else:
        deadline = None if params.time_limit is None else clock.began + params.time_limit
        try:
            inst = load_instance(instance, deadline=deadline)
        except ReadTimeLimitError as exc:
            return read_time_limit_result(exc, solver.name, params.time_limit, clock.elapsed())
    t_read = clock.elapsed()
    return solve_instance(inst, solver, params, clock=clock, read_seconds=t_read)


def solve_instance(
    instance: Instance,
    solver: Backend,
    params: SolveParams,
    *,
    clock: _Clock | None = None,
    read_seconds: float = 0.0,
) -> SolveResult:
    """Solve a validated instance with a backend object (see :func:`solve`).

    Raises:
        BackendOptionError: ``params.backend_options`` names an option the backend does not
            know, or gives one a value it cannot take (checked before any solving).
    """
    solver.check_options(params.backend_options)
    clock = clock or _Clock(time.perf_counter(), params.time_limit)
    if getattr(instance, "horizon", None) is not None:
        from portfolio.multiyear import solve_multi_year

        outcome: SolveResult = solve_multi_year(
            instance, solver, params, clock=clock, read_seconds=read_seconds
        )
        return outcome
    t0 = time.perf_counter()
    compiled = compile_instance(instance, reduce=params.presolve)
    t_compile = time.perf_counter() - t0

    notes: list[str] = []
    start: FloatArray | None = None
    fallback: Verification | None = None
    lp_bound: float | None = None
    t_heur = 0.0
    if params.heuristic and solver.supports(Feature.MIP_START):
        from portfolio.heuristic import lp_guided_start

        t1 = time.perf_counter()
        remaining = clock.remaining()
        found = _call_with_timeout(
            lambda: lp_guided_start(compiled, params, remaining),
            None if remaining is None else remaining * HEURISTIC_SHARE + ABANDON_GRACE,
        )
        t_heur = time.perf_counter() - t1
        if found is not None:
            verdict = verify_plan(instance, compiled.decode(found.x))
            lp_bound = found.bound
            if verdict.ok:
                start, fallback = found.x, verdict
                notes.append(found.note)
                if found.bound is not None and _within_gap(
                    compiled, verdict.plan.objective, found.bound, params.rel_gap
                ):
                    return _finish(
                        instance,
                        compiled,
                        solver,
                        params,
                        clock,
                        BackendResult(
                            Status.OPTIMAL,
                            found.x,
                            compiled.model.objective_value(found.x),
                            found.bound,
                            "lp-guided",
                            "within the gap of the LP bound",
                            t_heur,
                        ),
                        read_seconds,
                        t_compile,
                        notes,
                        fallback,
                    )

    t1 = time.perf_counter()
    answer = _run_with_deadline(solver, compiled.model, params, clock, start)
    bound = answer.bound
    if lp_bound is not None and answer.status is not Status.INFEASIBLE:
        # The LP bound is proven too: keep the tighter of the two.
        tighter = min if compiled.model.sense is Sense.MAXIMISE else max
        bound = lp_bound if bound is None else tighter(bound, lp_bound)
    answer = replace(answer, seconds=time.perf_counter() - t1 + t_heur, bound=bound)
    return _finish(
        instance, compiled, solver, params, clock, answer, read_seconds, t_compile, notes, fallback
    )


def _within_gap(compiled: CompiledModel, objective: float, bound: float, gap: float) -> bool:
    return relative_gap(objective, bound) <= gap


def _run_with_deadline(
    solver: Backend,
    model: LinearModel,
    params: SolveParams,
    clock: _Clock,
    start: FloatArray | None,
) -> BackendResult:
    """Run the backend, keeping the caller's time limit even if the solver overruns its own."""
    remaining = clock.remaining()
    if remaining is None:
        return solver.solve(model, params, time_limit=None, start=start)
    if remaining <= 0:
        return BackendResult(
            Status.TIME_LIMIT_NO_SOLUTION, detail="no time left to solve", hit_limit=True
        )
    # Leave the solver most of what is left; keep a little for decoding and verification.
    solver_limit = max(0.05, remaining * 0.97 - 0.05)
    interrupt = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = solver.solve(
                model, params, time_limit=solver_limit, start=start, interrupt=interrupt
            )
        except BaseException as exc:  # reported below, with the traceback kept
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"portfolio-{solver.name}", daemon=True)
    thread.start()
    thread.join(timeout=max(0.0, remaining))
    if thread.is_alive():
        interrupt.set()
        thread.join(timeout=ABANDON_GRACE + min(1.0, 0.05 * (params.time_limit or 0)))
    if thread.is_alive():
        return BackendResult(
            Status.TIME_LIMIT_NO_SOLUTION,
            raw_status="abandoned",
            detail=f"{solver.name} did not stop at the time limit; its run was abandoned",
            hit_limit=True,
        )
    if "error" in box:
        raise box["error"]
    result: BackendResult = box["result"]
    return result


class _Verdict(Protocol):
    """What a verifier returns: single-period or multi-year."""

    @property
    def ok(self) -> bool: ...
    @property
    def violations(self) -> tuple[str, ...]: ...
    @property
    def plan(self) -> Any: ...


V = TypeVar("V", bound=_Verdict)


@dataclass(frozen=True)
class Judgement(Generic[V]):
    """The backend's answer after verification: what may be reported."""

    status: Status
    verdict: V | None
    detail: str
    violations: tuple[str, ...]
    objective: float | None
    bound: float | None


def judge_answer(
    answer: BackendResult,
    verify: Callable[[FloatArray], V],
    fallback: V | None,
    notes: list[str],
    params: SolveParams,
) -> Judgement[V]:
    """Verify a backend's plan and settle the status that may be reported.

    A plan that fails verification is never reported (``error``, or ``time_limit_no_solution``
    when a limit stopped the solver); a verified heuristic plan found before a limit is returned
    as ``feasible``; ``optimal`` is kept only when the plan is within the gap of the bound on the
    real data. Shared by the single-period and multi-year solves.
    """
    status = answer.status
    detail = "; ".join([answer.detail, *notes]) if answer.detail else "; ".join(notes)
    violations: tuple[str, ...] = ()
    verdict: V | None = None
    if answer.x is not None and status.has_plan:
        verdict = verify(answer.x)
        if not verdict.ok:
            violations = verdict.violations
            detail += "; the solver's plan failed verification"
            verdict = None
            status = Status.TIME_LIMIT_NO_SOLUTION if answer.hit_limit else Status.ERROR
    elif status.has_plan:
        status = Status.ERROR
        detail += "; the backend reported a plan but returned none"
    if verdict is None and fallback is not None and (answer.hit_limit or status is Status.ERROR):
        # The heuristic's verified plan was found before the limit: return it.
        verdict = fallback
        status = Status.FEASIBLE
        detail += "; returning the LP-guided plan found before the limit"
    objective: float | None = None
    if verdict is not None:
        objective = float(verdict.plan.objective)
        tolerance = max(params.rel_gap, 1e-9) * 1.0001 + 1e-12
        if (
            status is Status.OPTIMAL
            and answer.bound is not None
            and relative_gap(objective, answer.bound) > tolerance
        ):
            # Never call a plan optimal that is not within the gap of the proven bound.
            status = Status.FEASIBLE
            detail += "; not within the gap of the bound on the real data"
    return Judgement(status, verdict, detail, violations, objective, answer.bound)


def _finish(
    instance: Instance,
    compiled: CompiledModel,
    solver: Backend,
    params: SolveParams,
    clock: _Clock,
    answer: BackendResult,
    read_seconds: float,
    compile_seconds: float,
    notes: list[str],
    fallback: Verification | None,
) -> SolveResult:
    """Decode and verify the backend's answer and build the result."""
    t0 = time.perf_counter()
    judged = judge_answer(
        answer, lambda x: verify_plan(instance, compiled.decode(x)), fallback, notes, params
    )
    status, detail, violations = judged.status, judged.detail, judged.violations
    plan = judged.verdict.plan if judged.verdict is not None else None
    objective, bound = judged.objective, judged.bound
    t_verify = time.perf_counter() - t0

    explanation = None
    t_explain = 0.0
    if status is Status.INFEASIBLE and params.explain_infeasible:
        from portfolio.explain import explain_infeasibility

        t1 = time.perf_counter()
        explanation = explain_infeasibility(instance, clock.remaining())
        t_explain = time.perf_counter() - t1

    stats = {
        "columns": compiled.model.num_cols,
        "rows": compiled.model.num_rows,
        "nonzeros": compiled.model.num_nonzeros,
        "options": compiled.table.num_options,
        "options_removed": dict(compiled.removed),
        "raw_status": answer.raw_status,
    }
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound if status is not Status.INFEASIBLE else None,
        plan=plan,
        verified=plan is not None,
        backend=solver.name,
        timings=Timings(
            read=read_seconds,
            compile=compile_seconds,
            solve=answer.seconds,
            verify=t_verify,
            explain=t_explain,
            total=clock.elapsed(),
        ),
        detail=detail.strip("; "),
        explanation=explanation,
        instance_name=instance.name,
        violations=violations,
        stats=stats,
    )


def read_time_limit_result(
    error: ReadTimeLimitError, backend: str, time_limit: float | None, seconds: float
) -> SolveResult:
    """The result of a command whose time limit ran out while its file was being read.

    Args:
        error: what ran out, and where.
        backend: the backend that would have solved.
        time_limit: the limit, in seconds.
        seconds: wall-clock seconds spent.
    """
    limit = f" ({time_limit:g} s)" if time_limit is not None else ""
    detail = (
        f"the time limit{limit} ran out while {error.stage} {error.file} after {seconds:.2f} s: "
        "nothing was solved (raise --time-limit, or use a smaller file or JSON, which reads "
        "fastest)"
    )
    return SolveResult(
        Status.TIME_LIMIT_NO_SOLUTION,
        None,
        None,
        None,
        False,
        backend,
        Timings(read=seconds, total=seconds),
        detail=detail,
    )
