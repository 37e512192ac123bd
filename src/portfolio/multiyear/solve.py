"""Solve a multi-year instance: compile the network model, run the backend under the caller's hard
deadline, decode the paths, verify them independently, and build the :class:`SolveResult`.

Statuses, objective and bound mean what they mean for a single-period solve (DESIGN.md,
"Conventions"): the objective is the verifier's, computed from the plan on the real data; a plan
is ``optimal`` only when it is within the relative gap of the solver's proven bound; a solver plan
that fails verification is never returned.
"""

from __future__ import annotations

import time
from dataclasses import replace

from portfolio.backends.base import Backend, Feature
from portfolio.clock import Clock
from portfolio.domain import Instance
from portfolio.linear import FloatArray, Sense
from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.verify import MultiYearVerification, verify_schedule
from portfolio.params import SolveParams
from portfolio.result import BackendResult, SolveResult, Status, Timings, relative_gap


def solve_multi_year(
    instance: Instance,
    solver: Backend,
    params: SolveParams,
    *,
    clock: Clock | None = None,
    read_seconds: float = 0.0,
) -> SolveResult:
    """Solve an instance with a horizon (called by :func:`portfolio.solve.solve_instance`).

    Args:
        instance: a validated instance with a ``horizon``.
        solver: the backend.
        params: solve parameters; ``time_limit`` bounds the whole solve.
        clock: the caller's wall clock (its limit is kept even if the solver overruns its own).
        read_seconds: seconds spent reading the file, for the timings.

    Returns:
        The result; ``multi_year`` holds the year-by-year plan (``schedule``, ``contracts``,
        ``years`` in the result file), ``plan`` the first year's arrangement.
    """
    from portfolio.solve import run_heuristic, run_with_deadline

    clock = clock or Clock(time.perf_counter(), params.time_limit)
    t0 = time.perf_counter()
    compiled = compile_multi_year(instance)
    t_compile = time.perf_counter() - t0

    notes: list[str] = []
    start: FloatArray | None = None
    fallback: MultiYearVerification | None = None
    lp_bound: float | None = None
    t_heur = 0.0
    if params.heuristic and solver.supports(Feature.MIP_START) and not clock.cancelled:
        from portfolio.multiyear.heuristic import lp_guided_start

        t1 = time.perf_counter()
        remaining = clock.remaining()
        found = run_heuristic(
            lambda stop: lp_guided_start(compiled, params, remaining, interrupt=stop), clock
        )
        t_heur = time.perf_counter() - t1
        if found is not None:
            paths = compiled.decode(found.x)
            verdict = verify_schedule(instance, paths)
            lp_bound = found.bound
            if verdict.ok:
                start, fallback = compiled.encode(paths), verdict
                notes.append(found.note)
                if (
                    found.bound is not None
                    and relative_gap(verdict.plan.objective, found.bound) <= params.rel_gap
                ):
                    answer = BackendResult(
                        Status.OPTIMAL,
                        start,
                        compiled.model.objective_value(start),
                        found.bound,
                        "lp-guided",
                        "within the gap of the LP bound",
                        t_heur,
                    )
                    return _finish(
                        instance,
                        compiled,
                        solver,
                        params,
                        clock,
                        answer,
                        read_seconds,
                        t_compile,
                        notes,
                        fallback,
                    )

    t1 = time.perf_counter()
    answer = run_with_deadline(solver, compiled.model, params, clock, start)
    bound = answer.bound
    if lp_bound is not None and answer.status is not Status.INFEASIBLE:
        # The LP bound is proven too: keep the tighter of the two.
        tighter = min if compiled.model.sense is Sense.MAXIMISE else max
        bound = lp_bound if bound is None else tighter(bound, lp_bound)
    answer = replace(answer, seconds=time.perf_counter() - t1 + t_heur, bound=bound)
    return _finish(
        instance,
        compiled,
        solver,
        params,
        clock,
        answer,
        read_seconds,
        t_compile,
        notes,
        fallback,
    )


def _finish(
    instance: Instance,
    compiled: MultiYearModel,
    solver: Backend,
    params: SolveParams,
    clock: Clock,
    answer: BackendResult,
    read_seconds: float,
    compile_seconds: float,
    notes: list[str],
    fallback: MultiYearVerification | None,
) -> SolveResult:
    """Decode and verify the backend's answer and build the result."""
    from portfolio.solve import explain_guarded, interrupted_detail, judge_answer

    t0 = time.perf_counter()
    judged = judge_answer(
        answer, lambda x: verify_schedule(instance, compiled.decode(x)), fallback, notes, params
    )
    status, detail, violations = judged.status, judged.detail, judged.violations
    verdict, objective, bound = judged.verdict, judged.objective, judged.bound
    t_verify = time.perf_counter() - t0

    explanation = None
    t_explain = 0.0
    if status is Status.INFEASIBLE and params.explain_infeasible:
        from portfolio.infeasibility import explain_multi_year

        t1 = time.perf_counter()
        remaining = clock.remaining()
        explanation = explain_guarded(
            lambda stop: explain_multi_year(compiled, remaining, interrupt=stop), clock
        )
        t_explain = time.perf_counter() - t1

    model = compiled.model
    layout = compiled.layout
    stats = {
        "columns": model.num_cols,
        "rows": model.num_rows,
        "nonzeros": model.num_nonzeros,
        "options": compiled.table.num_options,
        "arcs": layout.num_arcs,
        "activities": layout.num_act,
        "years": compiled.table.years,
        "raw_status": answer.raw_status,
    }
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound if status is not Status.INFEASIBLE else None,
        plan=verdict.first_year if verdict is not None else None,
        verified=verdict is not None,
        backend=solver.name,
        timings=Timings(
            read=read_seconds,
            compile=compile_seconds,
            solve=answer.seconds,
            verify=t_verify,
            explain=t_explain,
            total=clock.elapsed(),
        ),
        detail=interrupted_detail(detail.strip("; "), clock),
        explanation=explanation,
        instance_name=instance.name,
        violations=violations,
        stats=stats,
        multi_year=verdict.plan if verdict is not None else None,
        interrupted=clock.cancelled,
    )
