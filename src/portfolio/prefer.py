"""No gratuitous changes: among plans as good as the one found, the fewest changes, then the
least one-off money (DESIGN.md, "Decision support conventions"; issue 10).

A solver returns one of possibly many optimal plans, and nothing stops it from returning one
that moves a service, or breaks a contract and re-lets the same option, for no gain.
:func:`fewest_changes` takes a result with a plan and re-solves twice, exactly, with the plan's
objective held within :data:`OBJECTIVE_TOLERANCE` (relative) of its value:

1. fewest changes of mode (multi-year: summed over the years, each year against the year
   before, the first against today);
2. with that number of changes held, the least one-off money: transition costs of changed
   services, setup costs of the modes used and, in multi-year planning, termination fees
   (counted as paid, not discounted).

The plan returned is decoded and checked by the project's verifier on the instance as written,
and kept only if its objective is within the tolerance of the original; otherwise the original
result is returned unchanged. ``stats["prefer"]`` records what was done.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

from portfolio.backends.base import Backend
from portfolio.decisions import Decisions
from portfolio.domain import Instance, WeightedObjective
from portfolio.params import SolveParams
from portfolio.planspace import Bound, Found, PlanSpace
from portfolio.result import SolveResult, Status

__all__ = ["OBJECTIVE_TOLERANCE", "RULES", "fewest_changes"]

OBJECTIVE_TOLERANCE = 1e-9
"""Plans whose objective is within this (relative) of the plan's count as equally good."""

RULES = ("fewest_changes", "least_one_off", "none")
"""What ``stats["prefer"]["applied"]`` may say: the plan was replaced by one with fewer changes,
by one with as many changes and less one-off money, or kept (it was already the preferred one,
or the re-solves could not improve it within the time)."""


def fewest_changes(
    instance: Instance,
    result: SolveResult,
    backend: str | Backend = "highs",
    params: SolveParams | None = None,
    *,
    time_limit: float | None = None,
) -> SolveResult:
    """The result with, among plans as good, the one with the fewest changes, then the least
    one-off money (see the module docstring).

    Args:
        instance: the instance ``result`` solves (single-period or multi-year).
        result: a result with a plan (``optimal`` or ``feasible``); one without is returned as is.
        backend: backend name or object for the re-solves.
        params: solve parameters (gap, threads, backend options); its ``time_limit`` is ignored.
        time_limit: seconds for both re-solves together, or None.

    Returns:
        A copy of ``result`` with the preferred plan (``plan``, ``objective``, ``multi_year``),
        ``stats["prefer"]`` = ``{applied, changes: [before, after], one_off: [before, after],
        detail}``, and a note in ``detail`` when the plan changed.
    """
    if not result.has_plan or result.objective is None:
        return result
    began = time.perf_counter()
    deadline = None if time_limit is None else began + time_limit
    space = PlanSpace(instance, backend, (params or SolveParams()).with_(time_limit=None))
    original = space.verify(_decisions(instance, result))
    if not original.ok:
        return _record(result, "none", original, original, space, "the plan did not verify")
    target = float(original.plan.objective)
    held = _objective_held(space, instance, target)
    before_changes = space.changes(original)
    before_money = space.one_off(original)
    start = space.encode(_decisions(instance, result))

    counts = space.vector(COUNTING, discounted=False, unit_transition=True)
    if deadline is not None and time.perf_counter() >= deadline:
        return _record(result, "none", original, original, space, _OUT_OF_TIME)
    found = space.search(counts, "minimise", [held], deadline=deadline, start=start)
    if not _acceptable(found, space, target):
        return _record(result, "none", original, original, space, _why(found))
    fewest = space.changes(found.verdict)
    money = space.vector(_one_off_objective(instance), discounted=False)
    if deadline is not None and time.perf_counter() >= deadline:
        return _record(result, "none", original, original, space, _OUT_OF_TIME)
    keep_count = Bound(counts[0], counts[1], upper=fewest + 0.5)
    cheapest = space.search(
        money, "minimise", [held, keep_count], deadline=deadline, start=found.x
    )
    best = cheapest if _acceptable(cheapest, space, target) else found
    verdict = best.verdict
    after_changes = space.changes(verdict)
    after_money = space.one_off(verdict)
    if after_changes < before_changes:
        applied = "fewest_changes"
    elif after_changes == before_changes and _less(after_money, before_money):
        applied = "least_one_off"
    else:
        proven = found.status is Status.OPTIMAL and best.status is Status.OPTIMAL
        why = "" if proven else "the re-solves found no better plan but did not finish"
        return _record(result, "none", original, original, space, why)
    note = (
        f"among plans as good, preferred one with {after_changes} change(s) "
        f"(was {before_changes}) and one-off money {after_money:,.6g} (was {before_money:,.6g})"
    )
    preferred = replace(
        result,
        objective=float(verdict.plan.objective),
        plan=verdict.first_year if space.multi_year else verdict.plan,
        multi_year=verdict.plan if space.multi_year else result.multi_year,
        notes=(*result.notes, note),
    )
    return _record(preferred, applied, original, verdict, space, note)


COUNTING = WeightedObjective(minimise={"transition_cost": 1.0})
"""The objective that counts changes of mode, with every option's transition cost taken as 1
and no discounting (:meth:`~portfolio.planspace.PlanSpace.vector`): the transition cost is paid
only on a change of mode."""

_OUT_OF_TIME = "the time limit ran out while the re-solves were being set up"


def _decisions(instance: Instance, result: SolveResult) -> Any:
    if instance.horizon is not None:
        if result.multi_year is None:
            raise ValueError("a multi-year result without its schedule")
        plan = result.multi_year
        made = {i: year - plan.start_year for i, year in plan.investments.items()}
        return Decisions(plan.paths, made)
    chosen = result.require_plan()
    options = chosen.options
    return Decisions(
        [options[service.id] for service in instance.services],
        dict.fromkeys(chosen.investments, 0),
    )


def _objective_held(space: PlanSpace, instance: Instance, target: float) -> Bound:
    """The instance's objective within :data:`OBJECTIVE_TOLERANCE` (relative) of ``target``."""
    coefficients, offset = space.vector(instance.objective)
    slack = OBJECTIVE_TOLERANCE * max(1.0, abs(target))
    if instance.objective_sense == "maximise":
        return Bound(coefficients, offset, lower=target - slack)
    return Bound(coefficients, offset, upper=target + slack)


def _one_off_objective(instance: Instance) -> WeightedObjective:
    terms = {"transition_cost": 1.0, "setup_cost": 1.0}
    if instance.horizon is not None:
        terms["termination_cost"] = 1.0
    if instance.investments:
        terms["investment_cost"] = 1.0
    return WeightedObjective(minimise=terms)


def _acceptable(found: Found, space: PlanSpace, target: float) -> bool:
    """A verified plan whose objective, on the real data, is within the tolerance."""
    if found.verdict is None or not found.status.has_plan:
        return False
    value = float(found.verdict.plan.objective)
    return abs(value - target) <= OBJECTIVE_TOLERANCE * max(1.0, abs(target)) * 1.0001


def _less(a: float, b: float) -> bool:
    return a < b - 1e-9 * max(1.0, abs(b))


def _why(found: Found) -> str:
    return f"the re-solve gave no better plan ({found.status.value}{': ' if found.detail else ''}"\
        f"{found.detail})"


def _record(
    result: SolveResult, applied: str, before: Any, after: Any, space: PlanSpace, detail: str
) -> SolveResult:
    stats = dict(result.stats)
    stats["prefer"] = {
        "rule": "fewest changes, then least one-off money",
        "applied": applied,
        "changes": [space.changes(before), space.changes(after)],
        "one_off": [_plain(space.one_off(before)), _plain(space.one_off(after))],
        "detail": detail,
    }
    return replace(result, stats=stats)


def _plain(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0
