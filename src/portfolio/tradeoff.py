"""The trade-off frontier: every non-dominated plan between two criteria (issue 10).

Method: epsilon-constraint with exact steps, lexicographic at each point. With ``first`` and
``second`` the two criteria (each with its direction):

1. optimise ``first`` over the instance's plans, with ``second`` strictly better than the last
   point's value (no bound for the first point): value f;
2. optimise ``second`` with ``first`` held at f: the point (f, s), non-dominated (no plan is at
   least as good in both and better in one: a plan better in ``second`` is allowed in step 1, so
   cannot be better in ``first``; a plan as good in ``first`` is allowed in step 2);
3. the next bound is s moved by one step of ``second`` in its better direction (the smallest
   difference that counts, see :func:`portfolio.planspace.criterion`: for money the instance's
   precision, e.g. 1 for whole pounds, 0.01 for pennies), written as s plus half a step so that
   rounding never admits s itself nor refuses a plan one step better.

The points come out sorted along ``first`` (best first) and are returned sorted along ``first``,
ascending. Every figure is the objective vector of the instance compiled with that figure as its
objective (``cost`` is the ``minimise_cost`` total: annual cost plus transition, setup and, in
multi-year planning, termination money; multi-year totals are discounted as the objective is),
and every point's plan is checked by the verifier on the instance as written, with every limit of
the instance still in force.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from portfolio.backends.base import Backend
from portfolio.domain import Instance
from portfolio.errors import ParameterError
from portfolio.params import SolveParams
from portfolio.planspace import Bound, Criterion, PlanSpace, at_least_as_good, criterion
from portfolio.result import Status

__all__ = ["WIDENINGS", "Frontier", "FrontierPoint", "frontier", "spread"]

WIDENINGS = 3
"""How many times the step of the bounded criterion may be widened tenfold when a solver's
tolerances keep returning a plan no better than the last point."""


@dataclass(frozen=True)
class FrontierPoint:
    """One non-dominated plan.

    Attributes:
        values: criterion name -> value (the first criterion, then the second).
        changes: changes of mode against today (multi-year: summed over the years).
        options: service id -> chosen option index (multi-year: one per year).
    """

    values: dict[str, float]
    changes: int
    options: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{<first>: value, <second>: value, changes, options}``."""
        return {**self.values, "changes": self.changes, "options": dict(self.options)}


@dataclass(frozen=True)
class Frontier:
    """The non-dominated set between two criteria.

    Attributes:
        first: the first criterion's name (the points are sorted along it, ascending).
        second: the second criterion's name.
        senses: criterion name -> ``maximise`` or ``minimise``.
        points: the points reported (all of them when ``complete``).
        complete: every non-dominated point was found and is reported.
        found: how many non-dominated points were found.
        steps: criterion name -> the step used between values (see the module docstring).
        today: the values of today's arrangement (each service on its current option), and
            whether it meets every limit (``feasible``).
        plan: the values of the instance's own optimal plan, or None when it has none.
        detail: why the frontier is incomplete, when it is.
        solves: the number of solver calls made.
        seconds: wall-clock seconds.
        backend: the backend used.
        multi_year: the values are discounted totals over the horizon.
    """

    first: str
    second: str
    senses: dict[str, str]
    points: tuple[FrontierPoint, ...]
    complete: bool
    found: int
    steps: dict[str, float]
    today: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    detail: str = ""
    solves: int = 0
    seconds: float = 0.0
    backend: str = ""
    multi_year: bool = False
    instance_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The frontier as JSON-ready data (full precision)."""
        return {
            "instance": self.instance_name,
            "criteria": [
                {
                    "name": self.first,
                    "sense": self.senses[self.first],
                    "step": self.steps[self.first],
                },
                {
                    "name": self.second,
                    "sense": self.senses[self.second],
                    "step": self.steps[self.second],
                },
            ],
            "complete": self.complete,
            "found": self.found,
            "points": [point.to_dict() for point in self.points],
            "today": self.today,
            "plan": self.plan,
            "multi_year": self.multi_year,
            "discounted": self.multi_year,
            "backend": self.backend,
            "solves": self.solves,
            "seconds": self.seconds,
            "detail": self.detail,
        }


def frontier(
    instance: Instance,
    first: str = "outcome",
    second: str = "cost",
    *,
    maximise: tuple[str, ...] | list[str] = (),
    minimise: tuple[str, ...] | list[str] = (),
    points: int = 50,
    backend: str | Backend = "highs",
    params: SolveParams | None = None,
    with_plan: bool = True,
) -> Frontier:
    """The exact non-dominated set between two criteria (see the module docstring).

    Args:
        instance: a single-period or multi-year instance (multi-year: discounted totals).
        first: the first criterion: ``outcome``, ``cost`` (the ``minimise_cost`` total),
            ``annual_cost``, ``social_value`` or any metric of the options.
        second: the second criterion.
        maximise: criteria to maximise (overriding their natural direction).
        minimise: criteria to minimise.
        points: the most points to report; when there are more, ``points`` spread along the
            curve (both ends included) and ``complete`` is False.
        backend: backend name or object.
        params: solve parameters; ``time_limit`` bounds the whole frontier (the points found by
            then are reported, ``complete`` False).
        with_plan: also solve the instance as written, to mark its plan (``plan``).

    Returns:
        The frontier; no points when the instance has no plan.

    Raises:
        ParameterError: unknown or repeated criteria, a criterion both maximised and minimised,
            or ``points`` below 2.
    """
    began = time.perf_counter()
    params = params or SolveParams()
    if points < 2:
        raise ParameterError(f"points must be at least 2, got {points}")
    if instance.scenarios is not None:
        raise ParameterError(
            "the frontier is drawn for one future; this instance has funding scenarios: give "
            "one scenario's instance, or use `portfolio appraise`"
        )
    if first == second:
        raise ParameterError(f"the two criteria are the same ('{first}'): give two different ones")
    for name in maximise:
        if name in minimise:
            raise ParameterError(f"criterion '{name}' is both maximised and minimised")
    for name in (*maximise, *minimise):
        if name not in (first, second):
            raise ParameterError(
                f"criterion '{name}' is given a direction but is not one of the two criteria "
                f"('{first}', '{second}')"
            )

    def sense(name: str) -> str | None:
        return "maximise" if name in maximise else "minimise" if name in minimise else None

    a = criterion(instance, first, sense(first))
    b = criterion(instance, second, sense(second))
    deadline = None if params.time_limit is None else began + params.time_limit
    space = PlanSpace(instance, backend, params)
    found, solves, detail, b_step = _sweep(space, a, b, deadline)
    complete = not detail
    ordered = sorted(found, key=lambda p: (p.values[first], p.values[second]))
    reported = ordered
    if len(ordered) > points:
        reported = [ordered[i] for i in spread(ordered, first, second, points)]
        complete = False
        detail = detail or (
            f"{len(ordered)} non-dominated points; {points} spread along the curve are reported"
        )
    today = _today(space, a, b)
    plan = None
    if with_plan and found:
        plan = _plan(space, a, b, deadline)
    return Frontier(
        first=first,
        second=second,
        senses={first: a.sense, second: b.sense},
        points=tuple(reported),
        complete=complete,
        found=len(found),
        steps={first: a.step, second: b_step},
        today=today,
        plan=plan,
        detail=detail,
        solves=solves,
        seconds=time.perf_counter() - began,
        backend=space.solver.name,
        multi_year=space.multi_year,
        instance_name=instance.name,
    )


def _sweep(
    space: PlanSpace, a: Criterion, b: Criterion, deadline: float | None
) -> tuple[list[FrontierPoint], int, str, float]:
    """Every non-dominated point, best in ``a`` first: (points, solver calls, why incomplete,
    the step of ``b`` used).

    When a solver returns a plan that is not better than the last point on the real data (its
    integrality tolerance times a large coefficient can exceed half a step), the step of ``b``
    is widened tenfold and the search repeated, at most :data:`WIDENINGS` times; the step used
    is reported.
    """
    a_vector = space.criterion_vector(a)
    b_vector = space.criterion_vector(b)
    points: list[FrontierPoint] = []
    solves = 0
    step = b.step
    last_b: float | None = None
    while True:
        bounds: list[Bound] = []
        for _ in range(WIDENINGS + 1):
            if last_b is not None:
                bounds = [at_least_as_good(space, b, last_b, by=step / 2)]
            best_a = space.search(a_vector, a.sense, bounds, deadline=deadline)
            solves += 1
            if best_a.status is Status.INFEASIBLE:
                return points, solves, "", step
            if not best_a.ok:
                return points, solves, _stopped(best_a.status, best_a.detail, len(points)), step
            if last_b is None or _beyond(b, space.value(b, best_a.decisions), last_b, step):
                break
            step *= 10
        else:
            return points, solves, (
                f"stopped after {len(points)} points: the solver's plans are not better in "
                f"{b.name} than the last point even with a step of {step / 10:g}"
            ), step
        a_value = space.value(a, best_a.decisions)
        held = [*bounds, at_least_as_good(space, a, a_value)]
        best_b = space.search(b_vector, b.sense, held, deadline=deadline, start=best_a.x)
        solves += 1
        if not best_b.ok:
            return points, solves, _stopped(best_b.status, best_b.detail, len(points)), step
        chosen = best_b
        values = {
            a.name: space.value(a, best_b.decisions),
            b.name: space.value(b, best_b.decisions),
        }
        first_b = space.value(b, best_a.decisions)
        if a.better(a_value, values[a.name]) or b.better(first_b, values[b.name]):
            # The second solve's tolerances let it give up some of the first criterion, or it
            # did worse than the first plan: keep the first plan.
            chosen = best_a
            values = {a.name: a_value, b.name: space.value(b, best_a.decisions)}
        points.append(
            FrontierPoint(values, space.changes(chosen.verdict), space.options(chosen.verdict))
        )
        last_b = values[b.name]


def _beyond(item: Criterion, value: float, last: float, step: float) -> bool:
    """``value`` is better than ``last`` by at least (nearly) half of ``step``."""
    margin = step / 2 * 0.999
    return value > last + margin if item.sense == "maximise" else value < last - margin


def _stopped(status: Status, detail: str, count: int) -> str:
    why = "the time limit ran out" if status is not Status.ERROR else f"a solve failed ({detail})"
    if status is Status.FEASIBLE:
        why = "the time limit ran out before a point was proven"
    return f"{why} after {count} points: the frontier is incomplete"


def spread(points: list[FrontierPoint], first: str, second: str, count: int) -> list[int]:
    """Indices of ``count`` points spread evenly along the curve's length (both ends kept).

    Each criterion is scaled to [0, 1] over the points, the curve's length is measured point to
    point, and for each of ``count`` evenly spaced positions along it the first point at or past
    it is taken (moved to the next free point when taken already).
    """
    n = len(points)
    if n <= count:
        return list(range(n))
    xs = np.array([p.values[first] for p in points], dtype=np.float64)
    ys = np.array([p.values[second] for p in points], dtype=np.float64)

    def scaled(values: np.ndarray) -> np.ndarray:
        span = float(values.max() - values.min())
        return (values - values.min()) / span if span > 0 else np.zeros_like(values)

    steps = np.hypot(np.diff(scaled(xs)), np.diff(scaled(ys)))
    along = np.concatenate(([0.0], np.cumsum(steps)))
    targets = np.linspace(0.0, float(along[-1]), count)
    chosen = [int(np.searchsorted(along, t - 1e-12)) for t in targets]
    for k in range(count):  # strictly increasing, leaving room for the rest
        low = chosen[k - 1] + 1 if k else 0
        chosen[k] = min(max(chosen[k], low), n - (count - k))
    chosen[-1] = n - 1
    return chosen


def _today(space: PlanSpace, a: Criterion, b: Criterion) -> dict[str, Any]:
    from portfolio.baseline import current_decisions

    decisions = current_decisions(space.instance)
    verdict = space.verify(decisions)
    return {
        a.name: space.value(a, decisions),
        b.name: space.value(b, decisions),
        "feasible": bool(verdict.ok),
        "changes": 0,
    }


def _plan(
    space: PlanSpace, a: Criterion, b: Criterion, deadline: float | None
) -> dict[str, Any] | None:
    """The instance's own objective optimised: its plan's values on the two criteria."""
    vector = space.model.objective, float(space.model.objective_offset)
    sense = space.instance.objective_sense
    found = space.search(vector, sense, deadline=deadline)
    if not found.ok:
        return None
    return {
        a.name: space.value(a, found.decisions),
        b.name: space.value(b, found.decisions),
        "objective": float(found.verdict.plan.objective),
        "changes": space.changes(found.verdict),
        "options": space.options(found.verdict),
    }
