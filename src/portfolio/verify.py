"""Independent verification of a plan against the instance.

This module reads the domain objects only, never the compiled matrix: it recomputes every total
from the instance's own definitions (DESIGN.md "Conventions"), so that an error in compilation, a
solver's tolerance or a backend's translation cannot produce an accepted plan that breaks a limit.
It is deliberately written as plain loops over services, the way a finance officer would add up
the plan.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from portfolio.domain import Instance, Option, Service, WeightedObjective
from portfolio.result import Check, Plan, ServiceChoice

#: Relative feasibility tolerance: a total may exceed its limit by this fraction of
#: max(1, |limit|, |total|). Totals are exact sums of the doubles read from the file (math.fsum),
#: which differ from the decimals written by at most ~3e-16 of that scale, so 1e-13 accepts every
#: plan that holds on the decimals and rejects an overrun of a penny on totals up to 1e11.
FEASIBILITY_TOL = 1e-13


@dataclass(frozen=True)
class Verification:
    """The verdict on a plan.

    Attributes:
        ok: every constraint holds within tolerance.
        plan: the evaluated plan (checks, totals, objective on the real data).
        violations: one line per broken constraint.
    """

    ok: bool
    plan: Plan
    violations: tuple[str, ...]


def verify_plan(instance: Instance, positions: Sequence[int]) -> Verification:
    """Check a plan given as the chosen option's position for each service (file order).

    Args:
        instance: the instance the plan answers.
        positions: for each service, the 0-based index of its chosen option.

    Returns:
        The verdict, the evaluated plan and the list of violations.
    """
    if len(positions) != len(instance.services):
        raise ValueError(
            f"the plan has {len(positions)} choices for {len(instance.services)} services"
        )
    modes = {mode.id: mode for mode in instance.modes}
    constraints = instance.constraints
    checks: list[Check] = []
    problems: list[str] = []

    chosen: list[tuple[Service, Option]] = []
    valid_positions: list[int] = []
    for service, position in zip(instance.services, positions, strict=True):
        if not 0 <= position < len(service.options):
            problems.append(f"service '{service.id}': option index {position} does not exist")
            position = 0
        chosen.append((service, service.options[position]))
        valid_positions.append(position)

    def paid_transition(service: Service, option: Option) -> float:
        return option.transition_cost if option.mode != service.current_mode else 0.0

    modes_used = sorted({option.mode for _, option in chosen}, key=list(modes).index)
    setup_total = math.fsum(modes[m].setup_cost for m in modes_used)
    annual = math.fsum(option.annual_cost for _, option in chosen)

    # Red lines: statutory services and fixed modes.
    for service, option in chosen:
        if service.statutory and modes[option.mode].ceases_service:
            problems.append(
                f"service '{service.id}' is statutory but mode '{option.mode}' ceases it"
            )
    for service_id, mode_id in constraints.fixed.items():
        picked = next(option.mode for service, option in chosen if service.id == service_id)
        if picked != mode_id:
            problems.append(f"service '{service_id}' is fixed to '{mode_id}' but uses '{picked}'")

    def add(name: str, value: float, sense: str, limit: float, integral: bool = False) -> None:
        tol = 0.5 if integral else FEASIBILITY_TOL * max(1.0, abs(limit), abs(value))
        slack = limit - value if sense == "<=" else value - limit
        if sense == "=":
            slack = -abs(value - limit)
        ok = slack >= -tol
        binding = abs(slack) <= tol
        checks.append(Check(name, value, sense, limit, slack, binding, ok))
        if not ok:
            problems.append(f"{name}: {value:,.6g} {sense} {limit:,.6g} does not hold")

    if constraints.budget is not None:
        add("budget", annual, "<=", constraints.budget)
    if constraints.transition_budget is not None:
        transition = math.fsum(paid_transition(s, o) for s, o in chosen) + setup_total
        add("transition_budget", transition, "<=", constraints.transition_budget)
    if constraints.min_outcome is not None:
        outcome = math.fsum(s.weight * o.outcome for s, o in chosen)
        add("min_outcome", outcome, ">=", constraints.min_outcome)
    if constraints.min_flexibility is not None:
        floor = constraints.min_flexibility
        # Spend-weighted mean flexibility, checked in its linear form sum c (f - floor) >= 0.
        surplus = math.fsum(o.annual_cost * ((o.flexibility or 0.0) - floor) for _, o in chosen)
        mean = floor + surplus / annual if annual > 0 else floor
        tol = FEASIBILITY_TOL * max(1.0, annual)
        ok = surplus >= -tol
        checks.append(
            Check("min_flexibility", mean, ">=", floor, mean - floor, abs(surplus) <= tol, ok)
        )
        if not ok:
            problems.append(f"min_flexibility: spend-weighted mean {mean:.6g} < {floor:.6g}")
    if constraints.max_changes is not None:
        changes = sum(1 for s, o in chosen if o.mode != s.current_mode)
        add("max_changes", changes, "<=", constraints.max_changes, integral=True)

    count: dict[str, int] = defaultdict(int)
    spend: dict[str, list[float]] = defaultdict(list)
    for _, option in chosen:
        count[option.mode] += 1
        spend[option.mode].append(option.annual_cost)
    for mode in instance.modes:
        if mode.max_services is not None:
            add(f"capacity_count[{mode.id}]", count[mode.id], "<=", mode.max_services, True)
        if mode.max_spend is not None:
            add(f"capacity_spend[{mode.id}]", math.fsum(spend[mode.id]), "<=", mode.max_spend)
        if mode.min_services and count[mode.id] > 0:
            add(f"min_services[{mode.id}]", count[mode.id], ">=", mode.min_services, True)

    for sector, bound in constraints.sector_share.items():
        in_sector = math.fsum(o.annual_cost for _, o in chosen if modes[o.mode].sector == sector)
        share = in_sector / annual if annual > 0 else 0.0
        for side, limit in (("max", bound.max), ("min", bound.min)):
            if limit is None:
                continue
            # Linear form: in_sector - limit * annual (<= 0 for max, >= 0 for min).
            linear = in_sector - limit * annual
            tol = FEASIBILITY_TOL * max(1.0, annual)
            ok = linear <= tol if side == "max" else linear >= -tol
            slack = (limit - share) if side == "max" else (share - limit)
            name = f"sector_share[{sector}].{side}"
            checks.append(
                Check(
                    name,
                    share,
                    "<=" if side == "max" else ">=",
                    limit,
                    slack,
                    abs(linear) <= tol,
                    ok,
                )
            )
            if not ok:
                problems.append(f"{name}: share {share:.6g} breaks {side} {limit:.6g}")

    by_id = {service.id: option for service, option in chosen}
    for index, bundle in enumerate(constraints.same_mode):
        used = {by_id[sid].mode for sid in bundle}
        ok = len(used) == 1
        detail = ", ".join(f"{sid}={by_id[sid].mode}" for sid in bundle)
        checks.append(
            Check(f"same_mode[{index}]", len(used), "=", 1, 0.0 if ok else -1.0, False, ok, detail)
        )
        if not ok:
            problems.append(f"same_mode[{index}]: the bundle uses several modes ({detail})")

    for index, row in enumerate(constraints.limits):
        terms = []
        for service, option in chosen:
            mode = modes[option.mode]
            if row.mode is not None and option.mode != row.mode:
                continue
            if row.sector is not None and mode.sector != row.sector:
                continue
            if row.metric == "transition_cost":
                terms.append(paid_transition(service, option))
            else:
                terms.append(option.figure(row.metric))
        total = math.fsum(terms)
        label = f"limits[{index}]"
        if row.max is not None:
            add(label if row.min is None else f"{label}.max", total, "<=", row.max)
        if row.min is not None:
            add(label if row.max is None else f"{label}.min", total, ">=", row.min)

    plan = Plan(
        choices=tuple(
            ServiceChoice(
                service=service.id,
                current_mode=service.current_mode,
                mode=option.mode,
                option=position,
                annual_cost=option.annual_cost,
                transition_cost=paid_transition(service, option),
                outcome=option.outcome,
                weighted_outcome=service.weight * option.outcome,
                flexibility=option.flexibility,
                label=option.label,
            )
            for (service, option), position in zip(chosen, valid_positions, strict=True)
        ),
        objective=plan_objective(instance, chosen, setup_total),
        checks=tuple(checks),
        modes_used=tuple(modes_used),
    )
    return Verification(not problems, plan, tuple(problems))


def plan_objective(
    instance: Instance, chosen: Sequence[tuple[Service, Option]], setup_total: float
) -> float:
    """The objective as the user stated it, on the real data."""
    objective = instance.objective

    def paid(service: Service, option: Option) -> float:
        return option.transition_cost if option.mode != service.current_mode else 0.0

    if objective == "maximise_outcome":
        return math.fsum(s.weight * o.outcome for s, o in chosen)
    if objective == "minimise_cost":
        return math.fsum(o.annual_cost + paid(s, o) for s, o in chosen) + setup_total
    assert isinstance(objective, WeightedObjective)
    total = []
    for name, weight in objective.terms.items():
        if name == "setup_cost":
            total.append(weight * setup_total)
            continue
        for service, option in chosen:
            if name == "outcome":
                total.append(weight * service.weight * option.outcome)
            elif name == "transition_cost":
                total.append(weight * paid(service, option))
            else:
                total.append(weight * option.figure(name))
    return math.fsum(total)
