"""Solve an instance: one pipeline for every horizon.

:func:`solve_instance` compiles the instance's formulation (:mod:`portfolio.formulation`: the
single-period model, or the multi-year one when the instance has a ``horizon``), runs the
LP-guided start heuristic and then the backend under the caller's deadline
(:mod:`portfolio.guard`), decodes and verifies the answer, explains an infeasible instance, and
builds the :class:`~portfolio.result.SolveResult`. Nothing here depends on the horizon: what
differs is the formulation's.

Every plan returned has passed the formulation's independent verifier
(:func:`~portfolio.verify.verify_plan`, :func:`~portfolio.multiyear.verify.verify_schedule`). A
backend's answer that fails verification is never reported as a plan: the result says ``error``
(or ``time_limit_no_solution`` when a limit stopped the solver) and lists what failed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from portfolio.backends import DEFAULT_BACKEND, Backend, Feature, get_backend, lp_backend
from portfolio.backends.isolated import IsolatedBackend
from portfolio.baseline import baseline, versus_baseline
from portfolio.clock import Clock
from portfolio.domain import Instance
from portfolio.errors import ReadTimeLimitError
from portfolio.formulation import Formulation, SinglePeriod, Verdict
from portfolio.greedy import GreedyRun, applies
from portfolio.guard import (
    ABANDON_GRACE,
    explain_guarded,
    prepare,
    reclaimable,
    run_guarded,
    run_heuristic,
    run_with_deadline,
)
from portfolio.heuristic import lp_then_fix
from portfolio.io import instance_from_data, load_instance
from portfolio.lagrange import EitherEvent, LagrangeResult, LagrangeRun
from portfolio.linear import FloatArray, Sense, gc_paused
from portfolio.multiyear.formulation import MultiYear
from portfolio.params import SolveParams
from portfolio.prefer import fewest_changes
from portfolio.result import (
    BackendResult,
    SolveResult,
    Status,
    StopReason,
    Timings,
    join_notes,
    relative_gap,
)
from portfolio.scenarios.formulation import Scenarios

#: The note the result's ``notes`` (and ``detail``) start with when a cancel request stopped
#: the solve.
INTERRUPTED_NOTE = "interrupted (stop requested)"

#: A backend with no work limit: the second phase (no gratuitous changes) gets
#: :data:`PREFER_SHARE` of the first phase's time, and at least this many seconds.
PREFER_MIN_SECONDS = 5.0
#: The second phase's time, as a share of the first phase's (see :func:`prefer_plan`).
PREFER_SHARE = 0.5
#: The work-limited second phase stops after as long as the first phase took, and at least this
#: many seconds: a backstop, so that a tie-break whose relaxation alone is slow (1000 services x
#: 7 years: 55 s against a 3 s first phase) cannot turn a quick answer into a long wait. Within
#: it the phase is limited by work alone, and the same instance gives the same plan on any
#: machine; ``stats["prefer"]["limited"]`` records the backstop, and a note says when it struck.
PREFER_BACKSTOP_SECONDS = 20.0
#: Seconds the work-limited second phase needs per nonzero of the model, about: it is not started
#: when this exceeds the time it may take (the backstop, or the user's limit). Its re-solve is the
#: whole model again plus a dense row holding the objective, and HiGHS's presolve of it does not
#: stop when asked. Measured on the shared 2-core machine: 300 services x 5 years (125k
#: nonzeros) finishes by work in about 16 s; 10k single-period services (282k) in 7.9 s; 10k
#: with every row family (479k) and 1000 x 7 (686k) reach the 20 s backstop with no better plan,
#: and 100k services (4.8M) spent the backstop in presolve.
PREFER_SECONDS_PER_NONZERO = 5e-5

D = TypeVar("D")
V = TypeVar("V", bound=Verdict)


def solve(
    instance: Instance | str | os.PathLike[str] | Mapping[str, Any],
    backend: str | Backend = DEFAULT_BACKEND,
    params: SolveParams | None = None,
    *,
    cancel: threading.Event | None = None,
    **overrides: Any,
) -> SolveResult:
    """Solve one instance and return a verified result.

    The solver runs in a background thread while the calling thread waits, so a solve can be
    stopped: set ``cancel`` (from another thread, a signal handler, a web request, ...) and the
    solver is asked to stop through its own interrupt; the result then holds the best verified
    plan found so far (``feasible``) or none (``time_limit_no_solution``), with
    ``interrupted`` set and ``detail`` starting "interrupted". A ``KeyboardInterrupt`` in the
    calling thread also asks the solver to stop and waits for it (at most
    :data:`~portfolio.guard.CANCEL_GRACE` seconds) before it propagates, so no solver keeps
    running. ``stop_reason`` says why the solve ended.

    Given a path or data, the call reads the instance itself, and pauses the cyclic garbage
    collector until it returns (as the ``portfolio solve`` command does; its previous state is
    restored): nothing the call builds forms reference cycles, and the collector's passes over a
    large instance free nothing. Given an :class:`Instance`, the collector is left alone.

    Args:
        instance: an :class:`Instance`, a path to an instance file, or the parsed data.
        backend: backend name (``highs``, ``cbc``, ``cpsat``, ``scip``) or a backend object.
        params: solve parameters; keyword ``overrides`` (e.g. ``time_limit=30``) change fields.
        cancel: an event that asks the solve to stop when set; checked throughout.

    Returns:
        The result. Outcomes (infeasible, time limit, interrupted, ...) are in ``status``; only
        failures of the input or of the machinery raise.

    Raises:
        InstanceFileError, ValidationError: bad input.
        UnknownBackendError, BackendUnavailableError: the backend cannot be used.
        KeyboardInterrupt: raised in the calling thread during the solve (after the solver
            was asked to stop).
    """
    params = (
        (params or SolveParams()).with_(**overrides) if overrides else (params or SolveParams())
    )
    clock = Clock(time.perf_counter(), params.time_limit, cancel)
    solver = backend if isinstance(backend, Backend) else get_backend(backend)
    if isinstance(instance, Instance):
        return solve_instance(instance, solver, params, clock=clock, read_seconds=clock.elapsed())
    # The call reads the instance itself: as for the ``portfolio solve`` command, the cyclic
    # garbage collector is paused for the call (and restored after it). Every object the call
    # builds is fresh and forms no cycles, and the collector's passes over them free nothing
    # (at 100,000 services: 2 full passes and about 570 younger ones, 0.5-0.6 s at load 4.5;
    # ``benchmarks/library_gc.py``). A given Instance leaves the collector alone: its caller
    # owns the process (a server solving in threads, say).
    with gc_paused():
        if isinstance(instance, Mapping):
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
    clock: Clock | None = None,
    read_seconds: float = 0.0,
    cancel: threading.Event | None = None,
) -> SolveResult:
    """Solve a validated instance with a backend object (see :func:`solve`).

    ``cancel`` is used when no ``clock`` is given (a clock carries its own).

    Raises:
        BackendOptionError: ``params.backend_options`` names an option the backend does not
            know, or gives one a value it cannot take (checked before any solving).
    """
    solver.check_options(params.backend_options)
    clock = clock or Clock(time.perf_counter(), params.time_limit, cancel)
    prepare(solver, params)
    t0 = time.perf_counter()
    formulation = formulation_for(instance).compile(instance, params)
    t_compile = time.perf_counter() - t0
    return solve_formulation(
        formulation, solver, params, clock, read_seconds=read_seconds, compile_seconds=t_compile
    )


def formulation_for(instance: Instance) -> type[Formulation[Any, Any]]:
    """The formulation of an instance's axes: multi-year with a ``horizon``, else single-period."""
    if instance.scenarios is not None:
        return Scenarios
    if instance.horizon is not None:
        return MultiYear
    return SinglePeriod


def solve_formulation(
    formulation: Formulation[D, V],
    solver: Backend,
    params: SolveParams,
    clock: Clock,
    *,
    read_seconds: float = 0.0,
    compile_seconds: float = 0.0,
) -> SolveResult:
    """Solve a compiled formulation: start heuristic, backend under the deadline, verified result.

    Args:
        formulation: the compiled formulation.
        solver: the backend.
        params: solve parameters; ``time_limit`` bounds the whole solve (``clock`` keeps it).
        clock: the caller's wall clock and cancel request.
        read_seconds: seconds spent reading the file, for the timings.
        compile_seconds: seconds spent compiling, for the timings.
    """
    model = formulation.model
    notes: list[str] = []
    start: FloatArray | None = None
    fallback: V | None = None
    lp_bound: float | None = None
    t_heur = 0.0
    given: dict[str, Any] | None = None
    if params.start is not None:
        start, fallback, given = check_start(formulation, params.start, solver)
        if fallback is not None:
            notes.append(given["detail"])
    searching = fallback is None  # a verified given start replaces the start heuristics
    # The search phases end early enough to leave the time the last plan's verification and the
    # result need (``reserve``): the user's limit covers the whole solve.
    reserve = Reserve(formulation, clock)
    lagrange = lagrange_run(formulation, params, reserve.search()) if searching else None
    # Today's arrangement is evaluated while the solver runs (it releases the interpreter), so
    # that it costs next to no wall-clock time. Beside the Lagrangian (Python, which holds the
    # interpreter) it would starve it: then it starts once the Lagrangian is done (or is
    # evaluated at the end).
    today: Background[dict[str, Any]] | None = None
    if lagrange is None and reserve.time_for_baseline():
        today = Background(lambda: baseline(formulation.instance))
    greedy = (
        greedy_run(formulation, params, reserve.search())
        if searching and lagrange is None
        else None
    )
    left = reserve.search().remaining()
    # A limit too short for the LP leaves the cores to the Lagrangian.
    lp_hopeless = (
        lagrange is not None
        and left is not None
        and left < LP_SECONDS_PER_NONZERO * model.num_nonzeros
    )
    if (
        searching
        and params.heuristic
        and solver.supports(Feature.MIP_START)
        and not clock.cancelled
        and not lp_hopeless
        and (left is None or left > 0)
    ):
        t1 = time.perf_counter()
        search = reserve.search()
        remaining = search.remaining()
        lp_solver = lp_backend()
        lp_solver = None if lp_solver is None else reclaimable(
            lp_solver, params, keep_answer=False
        )
        # The LP phase stops early when the Lagrangian's plan closes the gap.
        lp_clock = search if lagrange is None else replace(
            search, cancel=EitherEvent(clock.cancel, lagrange.closed)
        )
        try:
            found = run_heuristic(
                lambda stop: formulation.start_without_lp(params, remaining, interrupt=stop)
                or lp_then_fix(
                    formulation.start_hooks(), params, remaining, interrupt=stop,
                    solver=lp_solver,
                ),
                lp_clock,
                grace=ABANDON_GRACE if isinstance(lp_solver, IsolatedBackend) else 0.0,
            )
        except BaseException:  # a KeyboardInterrupt, a bad option: the greedy run stops too
            if greedy is not None:
                greedy.result(wait=False)
            if lagrange is not None:
                lagrange.result(wait=False)
            raise
        t_heur = time.perf_counter() - t1
        if lagrange is not None and lagrange.closed.is_set():
            found = None  # the LP phase was stopped: the Lagrangian's plan is used below
        if found is not None:
            decision, verdict = reserve.verify(found.x)
            lp_bound = found.bound
            if verdict.ok:
                start, fallback = formulation.start_vector(found.x, decision), verdict
                notes.append(found.note)
                if greedy is not None:
                    greedy.result(wait=False)  # the LP-guided plan is as good or better
                    greedy = None
                if lagrange is not None:
                    lagrange.stop.set()  # its plan and bound so far are taken below
                if (
                    found.bound is not None
                    and relative_gap(verdict.plan.objective, found.bound) <= params.rel_gap
                ):
                    if lagrange is not None:
                        lagrange.result(wait=False)
                    answer = _heuristic_answer(
                        start, model.objective_value(start), found.bound, "lp-guided", t_heur
                    )
                    return _finish(
                        formulation, solver, params, clock, answer, notes, fallback,
                        read_seconds, compile_seconds, today, given, start, reserve=reserve,
                    )

    if lagrange is not None:
        t1 = time.perf_counter()
        # It keeps its own time; past the search's deadline it is asked to stop.
        relaxed = lagrange.result(wait=True, timeout=reserve.search().remaining())
        t_heur += time.perf_counter() - t1
        lp_bound = _tighter_bound(lp_bound, relaxed, model.sense)
        if relaxed is not None and relaxed.x is not None:
            decision, verdict = reserve.verify(relaxed.x)
            better = fallback is None or _worse(
                float(fallback.plan.objective), float(verdict.plan.objective), model.sense
            )
            if verdict.ok and better:
                start, fallback = formulation.start_vector(relaxed.x, decision), verdict
                notes.append(relaxed.note)
                if lp_bound is not None and relative_gap(
                    verdict.plan.objective, lp_bound
                ) <= params.rel_gap:
                    answer = _heuristic_answer(
                        start, model.objective_value(start), lp_bound, "lagrangian", t_heur
                    )
                    return _finish(
                        formulation, solver, params, clock, answer, notes, fallback,
                        read_seconds, compile_seconds, today, given, start, reserve=reserve,
                    )

    if lagrange is not None and reserve.time_for_baseline():
        # Evaluated while the solver runs.
        today = Background(lambda: baseline(formulation.instance))

    if greedy is not None:
        x_greedy = greedy.result(wait=True)
        if x_greedy is not None:
            decision, verdict = reserve.verify(x_greedy)
            if verdict.ok:
                start, fallback = formulation.start_vector(x_greedy, decision), verdict
                notes.append(
                    f"greedy start (the LP phase did not finish) in {greedy.seconds:.2f}s"
                )

    t1 = time.perf_counter()
    answer = run_with_deadline(solver, model, params, reserve.search(), start)
    bound = answer.bound
    if lp_bound is not None and answer.status is not Status.INFEASIBLE:
        # The LP bound is proven too: keep the tighter of the two.
        tighter = min if model.sense is Sense.MAXIMISE else max
        bound = lp_bound if bound is None else tighter(bound, lp_bound)
    answer = replace(answer, seconds=time.perf_counter() - t1 + t_heur, bound=bound)
    return _finish(
        formulation, solver, params, clock, answer, notes, fallback, read_seconds,
        compile_seconds, today, given, reserve=reserve,
    )


def check_start(
    formulation: Formulation[D, V], start: Mapping[str, int], solver: Backend
) -> tuple[FloatArray | None, V | None, dict[str, Any]]:
    """A given start (:attr:`SolveParams.start`), checked: its column values for the backend
    (None when the backend takes no start or the model has no column for it), its verdict when
    it meets every limit (else None: it is ignored, not repaired), and the record for
    ``stats["start"]`` (``used``, ``objective``, ``detail``)."""
    taken = formulation.given_start(start)
    if isinstance(taken, str):
        return None, None, {"used": False, "objective": None, "detail": f"start ignored: {taken}"}
    decision, x = taken
    verdict = formulation.verify(decision)
    if not verdict.ok:
        broken = "; ".join(verdict.violations[:3])
        more = len(verdict.violations) - 3
        tail = f" (and {more} more)" if more > 0 else ""
        return None, None, {
            "used": False,
            "objective": None,
            "detail": f"start ignored: it breaks {broken}{tail}",
        }
    objective = float(verdict.plan.objective)
    if x is not None and not solver.supports(Feature.MIP_START):
        passed = f"{solver.name} takes no start, so it is the fallback plan only"
        x = None
    elif x is None:
        passed = "it uses an option the presolve removed, so it is the fallback plan only"
    else:
        passed = f"passed to {solver.name}"
    record = {
        "used": True,
        "objective": objective,
        "detail": f"given start verified (objective {objective:,.6g}): {passed}",
    }
    return x, verdict, record


def lagrange_run(
    formulation: Formulation[D, V], params: SolveParams, clock: Clock
) -> LagrangeRun | None:
    """The Lagrangian bound and start (:mod:`portfolio.lagrange`), started in the background for
    a single-period solve with a time limit and a large model (as the greedy start, which it
    replaces there); None otherwise. Its fixed MIP runs on the LP backend, in a solver process
    when runs must be reclaimable."""
    remaining = clock.remaining()
    if remaining is None or remaining <= 0 or not params.heuristic or clock.cancelled:
        return None
    if not isinstance(formulation, SinglePeriod):
        return None
    hooks = formulation.start_hooks()
    if formulation.model.num_cols < hooks.min_columns:
        return None
    sub_solver = lp_backend()
    if sub_solver is not None:
        sub_solver = reclaimable(sub_solver, params)
    # When the LP phase cannot finish, the solver after it cannot either: its plans are the
    # Lagrangian's, which then takes most of the time.
    alone = remaining < LP_SECONDS_PER_NONZERO * formulation.model.num_nonzeros
    return LagrangeRun(
        formulation.compiled,
        (LAGRANGE_ALONE_SHARE if alone else LAGRANGE_SHARE) * remaining,
        params.rel_gap,
        cancel=clock.cancel,
        solver=sub_solver,
        params=params,
    )


#: Share of the time left that the Lagrangian may take (it runs while the LP phase does).
LAGRANGE_SHARE = 0.7
#: Its share when the time left is too short for the LP phase (``LP_SECONDS_PER_NONZERO``).
LAGRANGE_ALONE_SHARE = 0.9
#: Seconds the LP phase needs per nonzero, about (measured on a shared 2-core machine: the
#: relaxation of 10k services with every row family, 479k nonzeros, takes 13-20 s, and 100k
#: services do not finish in 60 s); with less time left the LP phase is not started when the
#: Lagrangian runs.
LP_SECONDS_PER_NONZERO = 2e-5


def _heuristic_answer(
    x: FloatArray, objective: float, bound: float, raw: str, seconds: float
) -> BackendResult:
    """The answer of a start heuristic whose plan is within the gap of its proven bound."""
    words = {"lp-guided": "the LP bound", "lagrangian": "the Lagrangian (or LP) bound"}[raw]
    return BackendResult(
        Status.OPTIMAL, x, objective, bound, raw, f"within the gap of {words}", seconds
    )


def _tighter_bound(
    bound: float | None, relaxed: LagrangeResult | None, sense: Sense
) -> float | None:
    """The tighter of a proven bound and the Lagrangian's (both valid)."""
    if relaxed is None or relaxed.bound is None:
        return bound
    if bound is None:
        return relaxed.bound
    return min(bound, relaxed.bound) if sense is Sense.MAXIMISE else max(bound, relaxed.bound)


#: Share of the time left that the greedy start may take (it runs while the LP phase does).
GREEDY_SHARE = 0.5
#: Most seconds the greedy start may take.
GREEDY_MAX_SECONDS = 10.0


def greedy_run(
    formulation: Formulation[D, V], params: SolveParams, clock: Clock
) -> GreedyRun | None:
    """The greedy start (:mod:`portfolio.greedy`), started in the background for a solve with a
    time limit and a large model of a formulation it applies to; None otherwise."""
    remaining = clock.remaining()
    if remaining is None or remaining <= 0 or not params.heuristic or clock.cancelled:
        return None
    hooks = formulation.start_hooks()
    if not applies(hooks) or formulation.model.num_cols < hooks.min_columns:
        return None
    return GreedyRun(
        hooks, min(GREEDY_SHARE * remaining, GREEDY_MAX_SECONDS), cancel=clock.cancel
    )


@dataclass(frozen=True)
class Judgement(Generic[V]):
    """The backend's answer after verification: what may be reported."""

    status: Status
    verdict: V | None
    notes: tuple[str, ...]
    violations: tuple[str, ...]
    objective: float | None
    bound: float | None

    @property
    def detail(self) -> str:
        """The notes as one line."""
        return join_notes(self.notes)


def judge_answer(
    answer: BackendResult,
    verify: Callable[[FloatArray], V],
    fallback: V | None,
    notes: list[str],
    params: SolveParams,
    sense: Sense | None = None,
) -> Judgement[V]:
    """Verify a backend's plan and settle the status that may be reported.

    A plan that fails verification is never reported (``error``, or ``time_limit_no_solution``
    when a limit stopped the solver); a verified heuristic plan found before a limit is returned
    as ``feasible``; with the objective's ``sense``, a backend's plan worse than that start plan
    gives way to it (the answer is never worse than the start); ``optimal`` is kept only when
    the plan is within the gap of the bound on the real data.
    """
    status = answer.status
    said = [answer.detail, *notes]
    violations: tuple[str, ...] = ()
    verdict: V | None = None
    if answer.x is not None and status.has_plan:
        verdict = verify(answer.x)
        if not verdict.ok:
            violations = verdict.violations
            said.append("the solver's plan failed verification")
            verdict = None
            status = Status.TIME_LIMIT_NO_SOLUTION if answer.hit_limit else Status.ERROR
    elif status.has_plan:
        status = Status.ERROR
        said.append("the backend reported a plan but returned none")
    if verdict is None and fallback is not None and (answer.hit_limit or status is Status.ERROR):
        # The heuristic's verified plan was found before the limit: return it.
        verdict = fallback
        status = Status.FEASIBLE
        said.append("returning the start plan found before the limit")
    elif (
        verdict is not None
        and fallback is not None
        and sense is not None
        and _worse(float(verdict.plan.objective), float(fallback.plan.objective), sense)
    ):
        # A solver that ignored the start (or stopped before it) never makes the answer worse.
        verdict = fallback
        said.append("returning the start plan: the solver's plan was worse")
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
            said.append("not within the gap of the bound on the real data")
    kept = tuple(note.strip("; ") for note in said if note.strip("; "))
    return Judgement(status, verdict, kept, violations, objective, answer.bound)


def _worse(value: float, than: float, sense: Sense) -> bool:
    """``value`` is worse than ``than`` for the objective's sense, beyond rounding."""
    margin = 1e-9 * max(1.0, abs(than))
    return value < than - margin if sense is Sense.MAXIMISE else value > than + margin


def stop_reason(answer: BackendResult, status: Status, clock: Clock) -> StopReason:
    """Why a solve stopped, from the backend's answer and the status reported."""
    if answer.stop is not None:
        return answer.stop
    if clock.cancelled:
        return StopReason.INTERRUPTED
    if answer.hit_limit:
        return StopReason.TIME_LIMIT
    if Status.ERROR in (status, answer.status):
        return StopReason.FAILED
    if status is Status.OPTIMAL:
        return StopReason.GAP_REACHED
    return StopReason.COMPLETED


def _finish(
    formulation: Formulation[D, V],
    solver: Backend,
    params: SolveParams,
    clock: Clock,
    answer: BackendResult,
    notes: list[str],
    fallback: V | None,
    read_seconds: float,
    compile_seconds: float,
    today: Background[dict[str, Any]] | None = None,
    given: dict[str, Any] | None = None,
    start: FloatArray | None = None,
    *,
    reserve: Reserve[D, V] | None = None,
) -> SolveResult:
    """Decode and verify the backend's answer, explain an infeasible instance, build the
    result, prefer among equally good plans, and attach today's baseline (``given``: the
    record of a given start, for ``stats["start"]``; ``start``: the column values whose
    verdict ``fallback`` is, so that an answer that is that very vector is not checked
    twice; ``reserve``: the time kept back from the tie-break for what follows it, and the
    estimate of what today's baseline takes)."""
    t0 = time.perf_counter()
    def check(x: FloatArray) -> V:
        # A start heuristic's answer is the very vector whose plan was verified as the fallback.
        if fallback is not None and start is not None and x is start:
            return fallback
        return formulation.check(x)

    judged = judge_answer(answer, check, fallback, notes, params, formulation.model.sense)
    plan, multi_year = (None, None) if judged.verdict is None else formulation.plans(judged.verdict)
    t_verify = time.perf_counter() - t0

    explanation = None
    t_explain = 0.0
    if judged.status is Status.INFEASIBLE and params.explain_infeasible:
        t1 = time.perf_counter()
        remaining = clock.remaining()
        explanation = explain_guarded(
            lambda stop: formulation.explain(remaining, interrupt=stop, ways_out=params.ways_out),
            clock,
        )
        t_explain = time.perf_counter() - t1

    said = judged.notes
    if clock.cancelled:
        said = (INTERRUPTED_NOTE, *said)
    result = SolveResult(
        status=judged.status,
        objective=judged.objective,
        bound=judged.bound if judged.status is not Status.INFEASIBLE else None,
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
        notes=said,
        explanation=explanation,
        instance_name=formulation.instance.name,
        violations=judged.violations,
        stats={
            **formulation.stats(),
            "raw_status": answer.raw_status,
            **({} if given is None else {"start": given}),
        },
        multi_year=multi_year,
        interrupted=clock.cancelled,
        stop_reason=stop_reason(answer, judged.status, clock),
    )
    result = formulation.attach(result, judged.verdict)
    t1 = time.perf_counter()
    result = formulation.refine(result, judged.verdict, solver, params, clock)
    result = prefer_plan(
        formulation.instance, result, solver, params,
        clock if reserve is None else reserve.search(),
        nonzeros=formulation.model.num_nonzeros,
    )
    t_prefer = time.perf_counter() - t1
    estimate = 0.0 if reserve is None else max(
        BASELINE_VERIFICATIONS * reserve.verify_seconds, BASELINE_MIN_SECONDS)
    result = with_baseline_in_time(formulation.instance, result, today, clock, estimate)
    return replace(
        result,
        timings=replace(
            result.timings,
            prefer=t_prefer,
            baseline=time.perf_counter() - t1 - t_prefer,
            total=clock.elapsed(),
        ),
    )


T = TypeVar("T")


class Background(Generic[T]):
    """A computation run in a daemon thread from construction; :meth:`get` waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._box: list[T] = []
        self._failure: list[Exception] = []

        def target() -> None:
            try:
                self._box.append(work())
            except Exception as exc:  # re-raised by get() in the caller's thread
                self._failure.append(exc)

        self._thread = threading.Thread(target=target, name="portfolio-baseline", daemon=True)
        self._thread.start()

    def get(self) -> T:
        """The computation's value (its exception is raised here)."""
        self._thread.join()
        if self._failure:
            raise self._failure[0]
        return self._box[0]

    def wait(self, timeout: float | None) -> bool:
        """Wait at most ``timeout`` seconds (None: until it is done); True when it is done."""
        self._thread.join(None if timeout is None else max(0.0, timeout))
        return not self._thread.is_alive()


#: Today's arrangement is evaluated after the search only when the time left is at least this
#: many verifications (it is one, plus comparing the plans service by service) ...
BASELINE_VERIFICATIONS = 2.0
#: ... and at least this many seconds: on a loaded machine a thread's first touch of the data
#: can take ten times its quiet time (0.2-0.7 s against 0.015 s at 8,000 services, measured).
BASELINE_MIN_SECONDS = 0.25
#: The note a result carries when its time limit left no time to evaluate today's arrangement.
BASELINE_SKIPPED_NOTE = (
    "today's arrangement (the baseline) was not evaluated: the time limit left no time for it"
)


def with_baseline_in_time(
    instance: Instance,
    result: SolveResult,
    today: Background[dict[str, Any]] | None,
    clock: Clock,
    estimate: float,
) -> SolveResult:
    """:func:`with_baseline` within the caller's time limit.

    Today's arrangement, when it is being evaluated in the background (``today``: started only
    when the search left time for it, so it is normally done by then), is waited for until the
    limit; not yet evaluated, it is evaluated only when the time left is at least ``estimate``
    seconds (:data:`BASELINE_VERIFICATIONS` verifications, at least
    :data:`BASELINE_MIN_SECONDS`). Otherwise the result has no ``baseline`` nor
    ``versus_baseline``, and a note (:data:`BASELINE_SKIPPED_NOTE`) says so; a background
    evaluation still running (a heavily loaded machine) ends on its own. Without a limit it is
    always evaluated.
    """
    remaining = clock.remaining()
    if today is not None:
        if today.wait(remaining):
            return with_baseline(instance, result, today.get())
    elif remaining is None or remaining >= estimate:
        return with_baseline(instance, result)
    return replace(result, notes=(*result.notes, BASELINE_SKIPPED_NOTE))


#: Seconds that a process's first verification of a plan takes beyond what
#: :data:`VERIFY_SECONDS_PER_COLUMN` gives, at most: its first touch of the instance's option
#: columns and of the verifier's code, and on a loaded machine a thread that waits for a core
#: (``benchmarks/verify_rate.py``, the first run against the later ones: 0.07 s at 70k columns
#: and 0.17-0.22 s at 696k; a first verification of 56k columns once took 0.54 s under the test
#: suite's own load). A small model's first touch is small: the allowance is at most
#: :data:`FIRST_TOUCH_SECONDS_PER_COLUMN` per column.
VERIFY_FIRST_SECONDS = 0.25
#: The first-touch allowance per column of a small model (see :data:`VERIFY_FIRST_SECONDS`).
FIRST_TOUCH_SECONDS_PER_COLUMN = 5e-6
#: Seconds that verifying one plan takes per column of the model, about, beside the first-touch
#: allowance, until a verification of the solve has been timed: the verifier re-derives every
#: total from the instance's option columns (100,000 services with every row family, 696k
#: columns: 0.31 s on a quiet 2-core machine, 0.48 s the first time; at load 5 with the
#: collector paused, 0.47 s and 0.69 s the first time; 10,000 services 0.02 s, 0.09 s the first
#: time; 2026-12-02, ``benchmarks/verify_rate.py``).
VERIFY_SECONDS_PER_COLUMN = 1e-6
#: Seconds that building the result and writing it as JSON take per column, about (the same
#: instance, with the collector paused as ``portfolio solve`` pauses it: a 40 MB result, 0.17 s
#: for the result data, 0.64 s for its JSON text, 0.05 s to write it to a file, at load 5,
#: 1.2 us per column; ``benchmarks/verify_rate.py --output``).
OUTPUT_SECONDS_PER_COLUMN = 1.5e-6
#: The reserve holds this many times the longest verification timed so far.
RESERVE_MARGIN = 1.25
#: The least reserve, in seconds.
MIN_RESERVE_SECONDS = 0.05


def first_verification_seconds(columns: int) -> float:
    """The estimate of a solve's first verification of a plan, for a model of ``columns``
    columns: a first-touch allowance (:data:`VERIFY_FIRST_SECONDS`, at most
    :data:`FIRST_TOUCH_SECONDS_PER_COLUMN` per column) and :data:`VERIFY_SECONDS_PER_COLUMN`."""
    first_touch = min(VERIFY_FIRST_SECONDS, FIRST_TOUCH_SECONDS_PER_COLUMN * columns)
    return first_touch + VERIFY_SECONDS_PER_COLUMN * columns


class Reserve(Generic[D, V]):
    """The time a solve keeps back from its search phases (the Lagrangian, the start
    heuristics, the solver, the tie-break) for what must follow the last of them: verifying its
    plan, today's baseline when it is not done yet, and building and writing the result.

    It is estimated from the model's size (:func:`first_verification_seconds`,
    :data:`OUTPUT_SECONDS_PER_COLUMN`) until a verification of this solve has been timed
    (:meth:`verify`), and from the longest one timed after that.
    """

    def __init__(self, formulation: Formulation[D, V], clock: Clock) -> None:
        self.formulation = formulation
        self.clock = clock
        columns = formulation.model.num_cols
        #: Seconds one verification takes (estimated, then measured).
        self.verify_seconds = first_verification_seconds(columns)
        self.output_seconds = OUTPUT_SECONDS_PER_COLUMN * columns
        self.timed = False

    @property
    def seconds(self) -> float:
        """The seconds kept back."""
        return MIN_RESERVE_SECONDS + RESERVE_MARGIN * self.verify_seconds + self.output_seconds

    def search(self) -> Clock:
        """The clock of the search phases: the caller's, ending :attr:`seconds` earlier."""
        if self.clock.limit is None:
            return self.clock
        return replace(self.clock, limit=self.clock.limit - self.seconds)

    def time_for_baseline(self) -> bool:
        """Today's baseline (about one verification) can be evaluated before the search ends."""
        left = self.search().remaining()
        return left is None or left > self.verify_seconds

    def verify(self, x: FloatArray) -> tuple[D, V]:
        """The decoded plan of column values ``x`` and its verdict, timed (the first timing
        replaces the estimate; later ones raise it)."""
        t0 = time.perf_counter()
        decision = self.formulation.decode(x)
        verdict = self.formulation.verify(decision)
        seconds = time.perf_counter() - t0
        self.verify_seconds = seconds if not self.timed else max(self.verify_seconds, seconds)
        self.timed = True
        return decision, verdict


def with_baseline(
    instance: Instance, result: SolveResult, today: dict[str, Any] | None = None
) -> SolveResult:
    """The result with today's arrangement (``baseline``, computed unless given) and the plan
    against it (``versus_baseline``, None without a plan) attached."""
    today = baseline(instance) if today is None else today
    comparable = result.has_plan and result.scenarios is None
    versus = versus_baseline(instance, result, today) if comparable else None
    return replace(result, baseline=today, versus_baseline=versus)


def prefer_plan(
    instance: Instance,
    result: SolveResult,
    solver: Backend,
    params: SolveParams,
    clock: Clock,
    *,
    nonzeros: int | None = None,
) -> SolveResult:
    """The second phase: among plans as good as the one found, the one with the fewest changes,
    then the least one-off money (:func:`portfolio.prefer.fewest_changes`), when
    ``params.prefer`` asks for it.

    It is limited by work, not by a share of the time: the backend's
    :meth:`~portfolio.backends.base.Backend.work_limit_options` (a node limit; CP-SAT: one
    worker and a deterministic time), so the same instance gives the same plan on any machine.
    The user's time limit, when given, still holds, and so does a backstop of as long as the
    first phase took, at least :data:`PREFER_BACKSTOP_SECONDS`: the phase gets the shorter,
    passed to its solver as that solver's own limit (a run that overruns it, or does not stop
    after a cancel request, is abandoned); only a phase cut short by a time limit depends on
    the machine. Given the model's ``nonzeros``, the phase is not started when
    :data:`PREFER_SECONDS_PER_NONZERO` times them exceeds that time (a note says so). A backend
    with no work limit keeps a time cap instead: at most
    :data:`PREFER_SHARE` of the time the first phase took, at least
    :data:`PREFER_MIN_SECONDS`, never past the user's limit. ``stats["prefer"]["limited"]``
    says which limit applied.
    When it has no time, is interrupted or fails, the plan found is kept and a note says so.
    ``stats["prefer"]`` records what applied (``applied``: ``fewest_changes``,
    ``least_one_off`` or ``none``).
    """
    if not result.has_plan:
        return result
    if result.scenarios is not None:
        if "prefer" in result.stats:  # the scenarios' own second phase ran
            return result
        return _prefer_record(
            result, "none", "fewest changes is not available with funding scenarios yet",
            rule="none",
        )
    if params.prefer == "none":
        return _prefer_record(result, "none", "turned off (prefer none)", rule="none")
    if _fewest_already(instance, result):
        return _prefer_record(
            result, "none", "the plan changes no mode and pays no avoidable one-off money"
        )
    if clock.cancelled:
        return _prefer_record(result, "none", "not tried: the solve was interrupted", note=True)
    remaining = clock.remaining()
    work = solver.work_limit_options()
    phase_limit: float | None
    timeout: float | None
    if work:
        # The second phase is limited by work, not by a share of the time (a node limit, a
        # deterministic time), so that the same instance gives the same plan on any machine;
        # the user's own time limit, when given, still holds. The caller's backend options win.
        if remaining is not None and remaining <= 0.05:
            return _prefer_record(result, "none", "not tried: no time left", note=True)
        backstop = max(PREFER_BACKSTOP_SECONDS, clock.elapsed())
        within = "the time limit" if remaining is not None and remaining <= backstop else (
            f"{backstop:.0f} s (as long as the first phase, at least "
            f"{PREFER_BACKSTOP_SECONDS:.0f} s)"
        )
        remaining = backstop if remaining is None else min(remaining, backstop)
        if nonzeros is not None and nonzeros * PREFER_SECONDS_PER_NONZERO > remaining:
            return _prefer_record(
                result, "none",
                f"not tried: its exact re-solve is not expected to finish within {within} "
                f"on a model with {nonzeros:,} nonzeros",
                note=True,
            )
        timeout = remaining + ABANDON_GRACE
        phase_limit = max(0.05, remaining * 0.97 - 0.05)
        params = params.with_(backend_options={**work, **params.backend_options})
        limited = "by work: " + ", ".join(f"{key}={value}" for key, value in work.items())
        limited += f", within {within}"
    else:
        # The user's limit is kept (a run that overruns it is abandoned). Within it, the
        # second phase gets at most half as long as the first took (at least
        # PREFER_MIN_SECONDS): a tie-break must not turn a 3 s answer into a 60 s one.
        timeout = None if remaining is None else remaining + ABANDON_GRACE
        cap = max(PREFER_MIN_SECONDS, PREFER_SHARE * clock.elapsed())
        remaining = cap if remaining is None else min(remaining, cap)
        if remaining <= 0.05:
            return _prefer_record(result, "none", "not tried: no time left", note=True)
        phase_limit = max(0.05, remaining * 0.9)
        limited = "by time"
    try:
        preferred, ending = run_guarded(
            lambda stop: fewest_changes(
                instance, result, reclaimable(solver, params), params,
                time_limit=phase_limit,
            ),
            name="prefer",
            timeout=timeout,
            cancel=clock.cancel,
        )
    except Exception as exc:  # the first plan stands; the failure is reported, not raised
        return _prefer_record(
            result, "none", f"not applied: {type(exc).__name__}: {exc}", note=True
        )
    if preferred is None:
        return _prefer_record(
            result, "none", f"not applied: the second phase did not finish ({ending.value})",
            note=True,
        )
    recorded = preferred.stats.get("prefer", {})
    if recorded:
        stats = dict(preferred.stats)
        stats["prefer"] = {**recorded, "limited": limited}
        preferred = replace(preferred, stats=stats)
    if recorded.get("applied") == "none" and recorded.get("detail"):
        preferred = replace(
            preferred,
            notes=(*preferred.notes, f"no gratuitous changes: {recorded['detail']}; "
                   "the plan as found is kept"),
        )
    return preferred


def _fewest_already(instance: Instance, result: SolveResult) -> bool:
    """True when no plan can have fewer changes or less one-off money: the plan changes no
    mode (then it pays no transition cost and uses exactly today's modes, whose setup costs
    every plan without a change pays) and, with a horizon, pays no termination fee (every such
    fee is non-negative)."""
    if result.multi_year is not None:
        schedule = result.multi_year
        return all(not year.changes for year in schedule.years) and all(
            year.termination_cost <= 0.0 for year in schedule.years
        )
    return result.plan is not None and not result.plan.changes


def _prefer_record(
    result: SolveResult, applied: str, detail: str, *, rule: str = "", note: bool = False
) -> SolveResult:
    """The result with ``stats["prefer"]`` saying that the plan as found was kept, and why."""
    stats = dict(result.stats)
    stats["prefer"] = {
        "rule": rule or "fewest changes, then least one-off money",
        "applied": applied,
        "detail": detail,
    }
    notes = result.notes
    if note:
        notes = (*notes, f"no gratuitous changes: {detail}; the plan as found is kept")
    return replace(result, stats=stats, notes=notes)


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
        notes=(detail,),
        stop_reason=StopReason.TIME_LIMIT,
    )
