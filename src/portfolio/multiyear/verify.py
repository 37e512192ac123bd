"""Independent verification of a multi-year plan against the instance.

Like :mod:`portfolio.verify`, this module reads the domain objects only, never the compiled
matrix. From each service's decisions (:class:`~portfolio.multiyear.schedule.ServicePath`: the
break year of its existing contract, the contracts it starts) it derives the arrangement of every
year, following the issue's semantics literally, then adds up every yearly total and the
discounted objective with plain loops. An error in the network formulation, a solver tolerance or
a backend's translation cannot produce an accepted plan that breaks a yearly limit.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from portfolio.domain import Instance, Option, Service, WeightedObjective, current_option_index
from portfolio.domain import value_in_year as _in_year
from portfolio.multiyear.schedule import Contract, MultiYearPlan, ServicePath, YearTotals
from portfolio.result import Check, Plan, ServiceChoice

#: Relative feasibility tolerance: a total may exceed its limit by this fraction of max(1, |limit|).
FEASIBILITY_TOL = 1e-6


@dataclass(frozen=True)
class MultiYearVerification:
    """The verdict on a multi-year plan.

    Attributes:
        ok: every rule and every yearly limit holds within tolerance.
        plan: the evaluated year-by-year plan.
        first_year: the first year's arrangement as a single-period :class:`Plan` (its checks are
            every yearly check, named ``name@year``; its objective is the multi-year objective).
        violations: one line per broken rule or limit.
    """

    ok: bool
    plan: MultiYearPlan
    first_year: Plan
    violations: tuple[str, ...]


@dataclass
class _ServiceYears:
    """What one service does each year, derived from its decisions."""

    service: Service
    option: list[int]  # option position running each year
    existing: list[bool]  # the year runs the existing contract
    started: dict[int, int]  # year -> position of a contract the plan starts that year
    fee: dict[int, float]  # year -> termination fee paid that year


def verify_schedule(instance: Instance, paths: Sequence[ServicePath]) -> MultiYearVerification:
    """Check a multi-year plan given as each service's decisions (file order).

    Args:
        instance: the instance (with a horizon) the plan answers.
        paths: one :class:`ServicePath` per service, in the instance's order.

    Returns:
        The verdict, the evaluated plan and the list of violations.

    Raises:
        ValueError: the instance has no horizon, or the plan has the wrong number of services.
    """
    horizon = instance.horizon
    if horizon is None:
        raise ValueError("verify_schedule needs an instance with a horizon")
    if len(paths) != len(instance.services):
        raise ValueError(f"the plan has {len(paths)} paths for {len(instance.services)} services")
    years = horizon.years
    first = horizon.start_year
    problems: list[str] = []
    modes = {mode.id: mode for mode in instance.modes}

    derived: list[_ServiceYears] = []
    contracts: list[Contract] = []
    for service, path in zip(instance.services, paths, strict=True):
        if path.service != service.id:
            problems.append(f"path for '{path.service}' given where '{service.id}' was expected")
        service_years, service_contracts = _derive(service, path, instance, problems)
        derived.append(service_years)
        contracts += service_contracts

    def option_of(entry: _ServiceYears, year: int) -> Option:
        return entry.service.options[entry.option[year]]

    def mode_before(entry: _ServiceYears, year: int) -> str:
        return entry.service.current_mode if year == 0 else option_of(entry, year - 1).mode

    def paid_transition(entry: _ServiceYears, year: int) -> float:
        option = option_of(entry, year)
        if year in entry.started and option.mode != mode_before(entry, year):
            return option.transition_cost
        return 0.0

    # Red lines, every year.
    fixed = instance.constraints.fixed
    for entry in derived:
        for year in range(years):
            mode_id = option_of(entry, year).mode
            if entry.service.statutory and modes[mode_id].ceases_service:
                problems.append(
                    f"service '{entry.service.id}' is statutory but mode '{mode_id}' ceases it "
                    f"in {first + year}"
                )
            wanted = fixed.get(entry.service.id)
            if wanted is not None and mode_id != wanted:
                problems.append(
                    f"service '{entry.service.id}' is fixed to '{wanted}' but uses '{mode_id}' "
                    f"in {first + year}"
                )

    # Setup costs: once, in the first year any service uses the mode.
    first_used: dict[str, int] = {}
    for year in range(years):
        for entry in derived:
            mode_id = option_of(entry, year).mode
            if mode_id not in first_used:
                first_used[mode_id] = year

    constraints = instance.constraints
    totals: list[YearTotals] = []
    objective_terms: list[float] = []
    for year in range(years):
        checks: list[Check] = []
        calendar = first + year
        add = functools.partial(_add_check, checks, problems, calendar)

        running = [(entry, option_of(entry, year)) for entry in derived]
        cost = {entry.service.id: o.annual_cost_in_year(year) for entry, o in running}
        annual = math.fsum(cost.values())
        transition = math.fsum(paid_transition(entry, year) for entry in derived)
        setup = math.fsum(modes[m].setup_cost for m, y in first_used.items() if y == year)
        termination = math.fsum(entry.fee.get(year, 0.0) for entry in derived)
        outcome = math.fsum(entry.service.weight * o.outcome for entry, o in running)
        changed = tuple(
            entry.service.id for entry, o in running if o.mode != mode_before(entry, year)
        )

        budget = _in_year(constraints.budget, year)
        if budget is not None:
            add("budget", annual, "<=", budget)
        limit = _in_year(constraints.transition_budget, year)
        if limit is not None:
            add("transition_budget", transition + setup + termination, "<=", limit)
        floor = _in_year(constraints.min_outcome, year)
        if floor is not None:
            add("min_outcome", outcome, ">=", floor)
        floor = _in_year(constraints.min_flexibility, year)
        if floor is not None:
            surplus = math.fsum(
                cost[entry.service.id] * ((o.flexibility or 0.0) - floor) for entry, o in running
            )
            mean = floor + surplus / annual if annual > 0 else floor
            tol = FEASIBILITY_TOL * max(1.0, annual)
            ok = surplus >= -tol
            checks.append(
                Check("min_flexibility", mean, ">=", floor, mean - floor, abs(surplus) <= tol, ok)
            )
            if not ok:
                problems.append(
                    f"min_flexibility in {calendar}: spend-weighted mean {mean:.6g} < {floor:.6g}"
                )
        limit = _in_year(constraints.max_changes, year)
        if limit is not None:
            add("max_changes", len(changed), "<=", limit, integral=True)

        count: dict[str, int] = defaultdict(int)
        spend: dict[str, list[float]] = defaultdict(list)
        for entry, option in running:
            count[option.mode] += 1
            spend[option.mode].append(cost[entry.service.id])
        for mode in instance.modes:
            cap = _in_year(mode.max_services, year)
            if cap is not None:
                add(f"capacity_count[{mode.id}]", count[mode.id], "<=", cap, integral=True)
            cap = _in_year(mode.max_spend, year)
            if cap is not None:
                add(f"capacity_spend[{mode.id}]", math.fsum(spend[mode.id]), "<=", cap)
            if mode.min_services and count[mode.id] > 0:
                add(f"min_services[{mode.id}]", count[mode.id], ">=", mode.min_services, True)

        for sector, bound in constraints.sector_share.items():
            in_sector = math.fsum(
                cost[entry.service.id] for entry, o in running if modes[o.mode].sector == sector
            )
            share = in_sector / annual if annual > 0 else 0.0
            for side, value in (("max", bound.max), ("min", bound.min)):
                share_limit = _in_year(value, year)
                if share_limit is None:
                    continue
                linear = in_sector - share_limit * annual
                tol = FEASIBILITY_TOL * max(1.0, annual)
                ok = linear <= tol if side == "max" else linear >= -tol
                slack = (share_limit - share) if side == "max" else (share - share_limit)
                name = f"sector_share[{sector}].{side}"
                sense = "<=" if side == "max" else ">="
                checks.append(Check(name, share, sense, share_limit, slack, abs(linear) <= tol, ok))
                if not ok:
                    problems.append(
                        f"{name} in {calendar}: share {share:.6g} breaks {side} {share_limit:.6g}"
                    )

        by_id = {entry.service.id: o for entry, o in running}
        for index, bundle in enumerate(constraints.same_mode):
            used = {by_id[sid].mode for sid in bundle}
            ok = len(used) == 1
            detail = ", ".join(f"{sid}={by_id[sid].mode}" for sid in bundle)
            checks.append(
                Check(
                    f"same_mode[{index}]", len(used), "=", 1, 0.0 if ok else -1.0, False, ok, detail
                )
            )
            if not ok:
                problems.append(f"same_mode[{index}] in {calendar}: several modes ({detail})")

        for index, row in enumerate(constraints.limits):
            terms = []
            for entry, option in running:
                mode = modes[option.mode]
                if row.mode is not None and option.mode != row.mode:
                    continue
                if row.sector is not None and mode.sector != row.sector:
                    continue
                if row.metric == "transition_cost":
                    terms.append(paid_transition(entry, year))
                else:
                    terms.append(option.figure_in_year(row.metric, year))
            total = math.fsum(terms)
            label = f"limits[{index}]"
            upper = _in_year(row.max, year)
            lower = _in_year(row.min, year)
            if upper is not None:
                add(label if lower is None else f"{label}.max", total, "<=", upper)
            if lower is not None:
                add(label if upper is None else f"{label}.min", total, ">=", lower)

        value = _year_objective(
            instance, derived, year, annual, transition, setup, termination, outcome
        )
        factor = horizon.discount_factor(year)
        objective_terms.append(factor * value)
        totals.append(
            YearTotals(
                year=calendar,
                index=year,
                discount_factor=factor,
                annual_cost=annual,
                transition_cost=transition,
                setup_cost=setup,
                termination_cost=termination,
                weighted_outcome=outcome,
                objective=value,
                changes=changed,
                checks=tuple(checks),
            )
        )

    objective = math.fsum(objective_terms)
    plan = MultiYearPlan(
        start_year=first,
        discount_rate=horizon.discount_rate,
        paths=tuple(paths),
        schedule={e.service.id: [option_of(e, t).mode for t in range(years)] for e in derived},
        options={e.service.id: list(e.option) for e in derived},
        contracts=tuple(contracts),
        years=tuple(totals),
        objective=objective,
        first_used={mode: first + year for mode, year in first_used.items()},
    )
    mode_order = list(modes)
    first_year = Plan(
        choices=tuple(
            ServiceChoice(
                service=e.service.id,
                current_mode=e.service.current_mode,
                mode=option_of(e, 0).mode,
                option=e.option[0],
                annual_cost=option_of(e, 0).annual_cost_in_year(0),
                transition_cost=paid_transition(e, 0),
                outcome=option_of(e, 0).outcome,
                weighted_outcome=e.service.weight * option_of(e, 0).outcome,
                flexibility=option_of(e, 0).flexibility,
                label=option_of(e, 0).label,
            )
            for e in derived
        ),
        objective=objective,
        checks=tuple(
            Check(
                f"{c.name}@{t.year}", c.value, c.sense, c.limit, c.slack, c.binding, c.ok, c.detail
            )
            for t in totals
            for c in t.checks
        ),
        modes_used=tuple(sorted(first_used, key=mode_order.index)),
    )
    return MultiYearVerification(not problems, plan, first_year, tuple(problems))


def _add_check(
    checks: list[Check],
    problems: list[str],
    calendar: int,
    name: str,
    value: float,
    sense: str,
    limit: float,
    integral: bool = False,
) -> None:
    """Evaluate one yearly limit: record the check, and the problem when it fails."""
    tol = 0.5 if integral else FEASIBILITY_TOL * max(1.0, abs(limit))
    slack = limit - value if sense == "<=" else value - limit
    ok = slack >= -tol
    checks.append(Check(name, value, sense, limit, slack, abs(slack) <= tol, ok))
    if not ok:
        problems.append(f"{name} in {calendar}: {value:,.6g} {sense} {limit:,.6g} fails")


def _derive(
    service: Service, path: ServicePath, instance: Instance, problems: list[str]
) -> tuple[_ServiceYears, list[Contract]]:
    """The option of each year, the contracts, the fees: one service's decisions played out."""
    horizon = instance.horizon
    assert horizon is not None
    years = horizon.years
    first = horizon.start_year
    name = f"service '{service.id}'"
    current = current_option_index(service)
    if current is None:  # validation guarantees an option in the current mode
        current = 0
    running: list[int | None] = [None] * years
    existing = [False] * years
    started: dict[int, int] = {}
    fee: dict[int, float] = {}
    contracts: list[Contract] = []

    free_from = 0
    end = service.current_contract_end
    if end is not None:
        last_locked = end - first
        broken = path.broken_in
        if broken is not None:
            if service.termination_cost is None:
                problems.append(f"{name}: the existing contract cannot be broken")
            if not 0 <= broken <= min(last_locked, years - 1):
                problems.append(
                    f"{name}: broken in year index {broken}, outside the locked years "
                    f"0..{min(last_locked, years - 1)}"
                )
            broken = max(0, min(broken, years - 1))
            fee[broken] = service.termination_cost or 0.0
            free_from = broken
        else:
            free_from = last_locked + 1
        for year in range(min(free_from, years)):
            running[year] = current
            existing[year] = True
        option = service.options[current]
        ran = min(free_from, years)
        contracts.append(
            Contract(
                service=service.id,
                mode=option.mode,
                option=current,
                label=option.label,
                start_year=None,
                end_year=end if broken is None else first + broken - 1,
                years=ran,
                years_in_horizon=ran,
                existing=True,
                broken_year=None if broken is None else first + broken,
                termination_cost=fee.get(broken, 0.0) if broken is not None else 0.0,
            )
        )
    elif path.broken_in is not None:
        problems.append(f"{name}: broken in year index {path.broken_in} but it has no contract end")

    expected = free_from
    previous = current  # today's arrangement, or the existing contract
    previous_mode = service.current_mode
    for position, start in path.starts:
        if not 0 <= position < len(service.options):
            problems.append(f"{name}: option index {position} does not exist")
            continue
        option = service.options[position]
        length = option.contract_years or 1
        lead = option.lead_time_years or 0
        if start != expected:
            problems.append(
                f"{name}: a contract starts in year index {start} where {expected} was expected "
                "(contracts run their full length, one after another)"
            )
        if not 0 <= start < years:
            problems.append(f"{name}: start year index {start} is outside the horizon")
            continue
        if start < lead:
            problems.append(
                f"{name}: option {position} starts in {first + start}, before its lead time "
                f"allows ({first + lead})"
            )
        for year in range(start, min(start + length, years)):
            if running[year] is not None:
                problems.append(f"{name}: two arrangements in {first + year}")
            running[year] = position
        started[start] = position
        paid = option.transition_cost if option.mode != previous_mode else 0.0
        contracts.append(
            Contract(
                service=service.id,
                mode=option.mode,
                option=position,
                label=option.label,
                start_year=first + start,
                end_year=first + start + length - 1,
                years=length,
                years_in_horizon=min(length, years - start),
                renewal=previous == position,
                transition_cost=paid,
            )
        )
        expected = start + length
        previous = position
        previous_mode = option.mode
    missing = [first + year for year, option in enumerate(running) if option is None]
    if missing:
        problems.append(f"{name}: no arrangement in {', '.join(map(str, missing))}")
    filled = [current if option is None else option for option in running]
    return _ServiceYears(service, filled, existing, started, fee), contracts


def _year_objective(
    instance: Instance,
    derived: list[_ServiceYears],
    year: int,
    annual: float,
    transition: float,
    setup: float,
    termination: float,
    outcome: float,
) -> float:
    """The year's objective before discounting, in the user's sense."""
    objective = instance.objective
    if objective == "maximise_outcome":
        return outcome
    if objective == "minimise_cost":
        return annual + transition + setup + termination
    assert isinstance(objective, WeightedObjective)
    terms: list[float] = []
    for name, weight in objective.terms.items():
        if name == "setup_cost":
            terms.append(weight * setup)
        elif name == "termination_cost":
            terms.append(weight * termination)
        elif name == "transition_cost":
            terms.append(weight * transition)
        else:
            for entry in derived:
                option = entry.service.options[entry.option[year]]
                if name == "outcome":
                    terms.append(weight * entry.service.weight * option.outcome)
                else:
                    terms.append(weight * option.figure_in_year(name, year))
    return math.fsum(terms)
