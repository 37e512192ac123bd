"""The verifier as it was written before it read option columns: plain loops over services and
option objects. The tests hold the vectorised verifier (:mod:`portfolio.verify`,
:mod:`portfolio.multiyear.verify`), today's baseline and the scenarios' yearly data
(:func:`portfolio.scenarios.data.year_values`) to exactly these answers
(``test_verify_columns.py``).

This is a reference copy kept for that comparison only; the library does not use it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portfolio.decisions import investments_of
from portfolio.domain import (
    Instance,
    Mode,
    Option,
    Service,
    WeightedObjective,
    current_option_index,
    limit_values,
    value_in_year,
)
from portfolio.multiyear.schedule import Contract, MultiYearPlan, ServicePath
from portfolio.multiyear.verify import MultiYearVerification
from portfolio.result import Check, Plan, ServiceChoice
from portfolio.verify import EffectLanded, Verification, YearTotals

#: Relative feasibility tolerance: a total may exceed its limit by this fraction of
#: max(1, |limit|, |total|). Totals are exact sums of the doubles read from the file (math.fsum),
#: which differ from the decimals written by at most ~3e-16 of that scale, so 1e-13 accepts every
#: plan that holds on the decimals and rejects an overrun of a penny on totals up to 1e11.
FEASIBILITY_TOL = 1e-13


@dataclass(frozen=True)
class Running:
    """What one service runs in one year of a plan, and the one-off money it pays that year.

    Attributes:
        service: the service.
        position: 0-based index of the option running that year in the service's list.
        option: that option.
        mode_before: the service's mode the year before (its current mode for year 0).
        transition_cost: transition cost paid that year (a contract starts and changes mode).
        termination_cost: termination fee paid that year (the existing contract is broken).
    """

    service: Service
    position: int
    option: Option
    mode_before: str
    transition_cost: float = 0.0
    termination_cost: float = 0.0


def reference_verify_plan(
    instance: Instance,
    positions: Sequence[int],
    investments: Mapping[str, int] | None = None,
) -> Verification:
    """Check a plan given as the chosen option's position for each service (file order).

    The plan is year 0 of :func:`evaluate_years`: every service starts its chosen option, paying
    its transition cost when the mode differs from the current one.

    Args:
        instance: the instance the plan answers.
        positions: for each service, the 0-based index of its chosen option.
        investments: the investments made (id -> year index, 0); None: those ``positions``
            carries (:func:`~portfolio.decisions.investments_of`).

    Returns:
        The verdict, the evaluated plan and the list of violations.
    """
    if len(positions) != len(instance.services):
        raise ValueError(
            f"the plan has {len(positions)} choices for {len(instance.services)} services"
        )
    problems: list[str] = []
    running: list[Running] = []
    for service, position in zip(instance.services, positions, strict=True):
        if not 0 <= position < len(service.options):
            problems.append(f"service '{service.id}': option index {position} does not exist")
            position = 0
        option = service.options[position]
        paid = option.transition_cost if option.mode != service.current_mode else 0.0
        running.append(Running(service, position, option, service.current_mode, paid))
    if investments is None:
        investments = investments_of(positions)
    (year,), first_used = evaluate_years(instance, [running], None, problems, investments)
    mode_order = [mode.id for mode in instance.modes]
    plan = Plan(
        choices=plan_choices(running),
        objective=year.objective,
        checks=year.checks,
        modes_used=tuple(sorted(first_used, key=mode_order.index)),
        investments=year.investments,
        investment_cost=year.investment_cost,
        savings=year.savings,
        outcome_gain=year.outcome_gain,
        effects=tuple(effect.to_dict() for effect in year.effects),
        modes_counted=year.modes_counted,
    )
    return Verification(not problems, plan, tuple(problems))


def plan_choices(running: Sequence[Running]) -> tuple[ServiceChoice, ...]:
    """The services of one year as the choices of a :class:`Plan`."""
    return tuple(
        ServiceChoice(
            service=r.service.id,
            current_mode=r.service.current_mode,
            mode=r.option.mode,
            option=r.position,
            annual_cost=r.option.annual_cost_in_year(0),
            transition_cost=r.transition_cost,
            outcome=r.option.outcome,
            weighted_outcome=r.service.weight * r.option.outcome,
            flexibility=r.option.flexibility,
            label=r.option.label,
        )
        for r in running
    )


def evaluate_years(
    instance: Instance,
    years: Sequence[Sequence[Running]],
    calendar: Sequence[int] | None,
    problems: list[str],
    investments: Mapping[str, int] | None = None,
) -> tuple[list[YearTotals], dict[str, int]]:
    """Add up every year of a plan and check its red lines and yearly limits.

    A mode's setup cost is paid once, in the first year any service uses it. An investment made
    in year t costs its ``cost`` in year t and raises its mode's caps from year
    t + years_to_effect; an effect whose service runs in its mode in year t saves ``saving`` and
    gains ``outcome`` (times the weight of ``on``) in year t + lag_years, if inside the plan.

    Args:
        instance: the instance the plan answers.
        years: for each 0-based horizon year, what every service runs (file order).
        calendar: the calendar year of each horizon year, named in the problems found; None for a
            single-period plan (the problems name no year).
        problems: where a broken red line or limit is recorded, one line each.
        investments: the investments made, id -> 0-based year index (None: none).

    Returns:
        Each year's evaluation, and the year each mode is first used (mode id -> year index, in
        the order first met).
    """
    modes = {mode.id: mode for mode in instance.modes}
    first_used: dict[str, int] = {}
    for index, running in enumerate(years):
        for entry in running:
            first_used.setdefault(entry.option.mode, index)

    def where(index: int) -> str:
        return "" if calendar is None else f" in {calendar[index]}"

    fixed = instance.constraints.fixed
    for index, running in enumerate(years):
        for entry in running:
            mode_id = entry.option.mode
            if entry.service.statutory and modes[mode_id].ceases_service:
                problems.append(
                    f"service '{entry.service.id}' is statutory but mode '{mode_id}' ceases it"
                    + where(index)
                )
        by_id = {entry.service.id: entry.option.mode for entry in running}
        for service_id, wanted in fixed.items():
            if by_id[service_id] != wanted:
                problems.append(
                    f"service '{service_id}' is fixed to '{wanted}' but uses "
                    f"'{by_id[service_id]}'" + where(index)
                )
    made = _check_investments(instance, investments or {}, len(years), calendar, problems)
    landed = _effects_landed(instance, years, calendar)
    evaluations = []
    for index, running in enumerate(years):
        setup_modes = [mode for mode, first in first_used.items() if first == index]
        evaluations.append(
            _evaluate_year(
                instance,
                modes,
                index,
                None if calendar is None else calendar[index],
                running,
                setup_modes,
                problems,
                made,
                landed[index],
            )
        )
    return evaluations, first_used


def _check_investments(
    instance: Instance,
    investments: Mapping[str, int],
    num_years: int,
    calendar: Sequence[int] | None,
    problems: list[str],
) -> dict[str, int]:
    """The investments made (id -> year index) that exist and fall inside the plan's years; a
    problem recorded for any other."""
    known = {investment.id for investment in instance.investments}
    made: dict[str, int] = {}
    for investment_id, year in investments.items():
        if investment_id not in known:
            problems.append(f"investment '{investment_id}' does not exist")
        elif not 0 <= year < num_years:
            when = year if calendar is None else f"year index {year}"
            problems.append(f"investment '{investment_id}' made in {when}, outside the plan")
        else:
            made[investment_id] = year
    return made


def _effects_landed(
    instance: Instance, years: Sequence[Sequence[Running]], calendar: Sequence[int] | None
) -> list[list[EffectLanded]]:
    """For each year, the effects that land in it: effect e lands in t + lag_e when its service
    runs in its mode in year t (effects landing after the last year do not count)."""
    landed: list[list[EffectLanded]] = [[] for _ in years]
    weights = {service.id: service.weight for service in instance.services}
    for index, effect in enumerate(instance.effects):
        for year, running in enumerate(years):
            target = year + effect.lag_years
            if target >= len(years):
                break
            if any(
                entry.service.id == effect.when.service and entry.option.mode == effect.when.mode
                for entry in running
            ):
                landed[target].append(
                    EffectLanded(
                        index,
                        effect.when.service,
                        effect.when.mode,
                        effect.on,
                        effect.saving,
                        weights[effect.on] * effect.outcome,
                        year if calendar is None else calendar[year],
                    )
                )
    return landed


def _evaluate_year(
    instance: Instance,
    modes: dict[str, Mode],
    year: int,
    calendar: int | None,
    running: Sequence[Running],
    setup_modes: Sequence[str],
    problems: list[str],
    made: Mapping[str, int],
    landed: Sequence[EffectLanded],
) -> YearTotals:
    """One year's totals, its limits checked (the problems name ``calendar``, when given)."""
    where = "" if calendar is None else f" in {calendar}"
    constraints = instance.constraints
    checks: list[Check] = []

    def add(name: str, value: float, sense: str, limit: float, integral: bool = False) -> None:
        tol = 0.5 if integral else FEASIBILITY_TOL * max(1.0, abs(limit), abs(value))
        slack = limit - value if sense == "<=" else value - limit
        ok = slack >= -tol
        checks.append(Check(name, value, sense, limit, slack, abs(slack) <= tol, ok))
        if not ok:
            problems.append(f"{name}{where}: {value:,.6g} {sense} {limit:,.6g} does not hold")

    def ratio(name: str, value: float, sense: str, limit: float, linear: float) -> bool:
        """A share checked in its linear form ``linear`` (>= 0 holds), a multiple of spend."""
        tol = FEASIBILITY_TOL * max(1.0, annual)
        ok = linear >= -tol
        slack = value - limit if sense == ">=" else limit - value
        checks.append(Check(name, value, sense, limit, slack, abs(linear) <= tol, ok))
        return ok

    cost = [entry.option.annual_cost_in_year(year) for entry in running]
    annual = math.fsum(cost)
    transition = math.fsum(entry.transition_cost for entry in running)
    setup = math.fsum(modes[mode].setup_cost for mode in setup_modes)
    termination = math.fsum(entry.termination_cost for entry in running)
    invested = [i for i in instance.investments if made.get(i.id) == year]
    investment_cost = math.fsum(i.cost for i in invested)
    in_effect = [i for i in instance.investments if i.id in made and
                 made[i.id] + i.years_to_effect <= year]
    savings = math.fsum(effect.saving for effect in landed)
    gain = math.fsum(effect.outcome_gain for effect in landed)
    outcome = math.fsum(
        [entry.service.weight * entry.option.outcome for entry in running]
        + [effect.outcome_gain for effect in landed]
    )  # with no effect landed, the same sum as before effects existed
    changed = tuple(
        entry.service.id for entry in running if entry.option.mode != entry.mode_before
    )

    limit = value_in_year(constraints.budget, year)
    if limit is not None:
        add("budget", annual - savings if landed else annual, "<=", limit)
    limit = value_in_year(constraints.transition_budget, year)
    if limit is not None:
        add("transition_budget", transition + setup + termination + investment_cost, "<=", limit)
    limit = value_in_year(constraints.min_outcome, year)
    if limit is not None:
        add("min_outcome", outcome, ">=", limit)
    floor = value_in_year(constraints.min_flexibility, year)
    if floor is not None:
        # Spend-weighted mean flexibility, checked in its linear form sum c (f - floor) >= 0.
        surplus = math.fsum(
            c * ((entry.option.flexibility or 0.0) - floor)
            for c, entry in zip(cost, running, strict=True)
        )
        mean = floor + surplus / annual if annual > 0 else floor
        if not ratio("min_flexibility", mean, ">=", floor, surplus):
            problems.append(
                f"min_flexibility{where}: spend-weighted mean {mean:.6g} < {floor:.6g}"
            )
    limit = value_in_year(constraints.max_changes, year)
    if limit is not None:
        add("max_changes", len(changed), "<=", limit, integral=True)

    count: dict[str, int] = defaultdict(int)
    spend: dict[str, list[float]] = defaultdict(list)
    for c, entry in zip(cost, running, strict=True):
        count[entry.option.mode] += 1
        spend[entry.option.mode].append(c)
    for mode in instance.modes:
        raised = [i for i in in_effect if i.mode == mode.id]
        cap = value_in_year(mode.max_services, year)
        if cap is not None:
            cap += sum(i.max_services for i in raised)
            add(f"capacity_count[{mode.id}]", count[mode.id], "<=", cap, integral=True)
        cap = value_in_year(mode.max_spend, year)
        if cap is not None:
            cap = math.fsum([cap, *(i.max_spend for i in raised)])
            add(f"capacity_spend[{mode.id}]", math.fsum(spend[mode.id]), "<=", cap)
        if mode.min_services and count[mode.id] > 0:
            add(f"min_services[{mode.id}]", count[mode.id], ">=", mode.min_services, True)

    for sector, bound in constraints.sector_share.items():
        in_sector = math.fsum(
            c
            for c, entry in zip(cost, running, strict=True)
            if modes[entry.option.mode].sector == sector
        )
        share = in_sector / annual if annual > 0 else 0.0
        for side, value in (("max", bound.max), ("min", bound.min)):
            share_limit = value_in_year(value, year)
            if share_limit is None:
                continue
            # Linear form: in_sector - limit * annual (<= 0 for max, >= 0 for min).
            linear = in_sector - share_limit * annual
            name = f"sector_share[{sector}].{side}"
            sense = "<=" if side == "max" else ">="
            if not ratio(name, share, sense, share_limit, -linear if side == "max" else linear):
                problems.append(
                    f"{name}{where}: share {share:.6g} breaks {side} {share_limit:.6g}"
                )

    counted: tuple[str, ...] | None = None
    limit = value_in_year(constraints.max_modes_used, year)
    if limit is not None:
        in_use = {entry.option.mode for entry in running}
        counted = tuple(m.id for m in instance.modes if m.id in in_use and not m.ceases_service)
        add("max_modes_used", len(counted), "<=", limit, integral=True)

    by_id = {entry.service.id: entry.option for entry in running}
    for index, bundle in enumerate(constraints.same_mode):
        used = {by_id[sid].mode for sid in bundle}
        ok = len(used) == 1
        detail = ", ".join(f"{sid}={by_id[sid].mode}" for sid in bundle)
        checks.append(
            Check(f"same_mode[{index}]", len(used), "=", 1, 0.0 if ok else -1.0, False, ok, detail)
        )
        if not ok:
            problems.append(f"same_mode[{index}]{where}: the bundle uses several modes ({detail})")

    for index, row in enumerate(constraints.limits):
        terms = []
        for entry in running:
            option = entry.option
            if row.mode is not None and option.mode != row.mode:
                continue
            if row.sector is not None and modes[option.mode].sector != row.sector:
                continue
            if row.metric == "transition_cost":
                terms.append(entry.transition_cost)
            else:
                terms.append(option.figure_in_year(row.metric, year))
        total = math.fsum(terms)
        label = f"limits[{index}]"
        upper = value_in_year(row.max, year)
        lower = value_in_year(row.min, year)
        if upper is not None:
            add(label if lower is None else f"{label}.max", total, "<=", upper)
        if lower is not None:
            add(label if upper is None else f"{label}.min", total, ">=", lower)

    horizon = instance.horizon
    return YearTotals(
        year=year if calendar is None else calendar,
        index=year,
        discount_factor=1.0 if horizon is None else horizon.discount_factor(year),
        annual_cost=annual,
        transition_cost=transition,
        setup_cost=setup,
        termination_cost=termination,
        weighted_outcome=outcome,
        objective=_year_objective(
            instance, year, running, setup, termination, outcome, investment_cost, savings, gain
        ),
        changes=changed,
        checks=tuple(checks),
        investment_cost=investment_cost,
        investments=tuple(i.id for i in invested),
        savings=savings,
        outcome_gain=gain,
        effects=tuple(landed),
        modes_counted=counted,
    )


def _year_objective(
    instance: Instance,
    year: int,
    running: Sequence[Running],
    setup: float,
    termination: float,
    outcome: float,
    investment_cost: float = 0.0,
    savings: float = 0.0,
    gain: float = 0.0,
) -> float:
    """The year's objective as the user stated it, on the real data, before discounting.

    ``outcome`` includes the effects' gains; cost objectives count the investments made and
    less the effects' savings (in a weighted sum: the ``investment_cost`` and ``annual_cost``
    terms).
    """
    objective = instance.objective
    if objective == "maximise_outcome":
        return outcome
    if objective == "minimise_cost":
        paid = [
            e.option.annual_cost_in_year(year) + e.transition_cost + e.termination_cost
            for e in running
        ]
        total = math.fsum(paid) + setup
        if investment_cost or savings:
            total = math.fsum([*paid, setup, investment_cost, -savings])
        return total
    assert isinstance(objective, WeightedObjective)
    terms: list[float] = []
    for name, weight in objective.terms.items():
        if name == "investment_cost":
            terms.append(weight * investment_cost)
        elif name == "setup_cost":
            terms.append(weight * setup)
        elif name == "termination_cost" and instance.horizon is not None:
            terms.append(weight * termination)
        else:
            if name == "annual_cost" and savings:
                terms.append(-weight * savings)
            if name == "outcome" and gain:
                terms.append(weight * gain)
            for entry in running:
                if name == "outcome":
                    terms.append(weight * entry.service.weight * entry.option.outcome)
                elif name == "transition_cost":
                    terms.append(weight * entry.transition_cost)
                else:
                    terms.append(weight * entry.option.figure_in_year(name, year))
    return math.fsum(terms)


@dataclass
class _ServiceYears:
    """What one service does each year, derived from its decisions."""

    service: Service
    option: list[int]  # option position running each year
    existing: list[bool]  # the year runs the existing contract
    started: dict[int, int]  # year -> position of a contract the plan starts that year
    fee: dict[int, float]  # year -> termination fee paid that year

    def running(self, year: int) -> Running:
        """The service in ``year``: its option, and the money it pays that year."""
        service = self.service
        option = service.options[self.option[year]]
        before = (
            service.current_mode if year == 0 else service.options[self.option[year - 1]].mode
        )
        paid = 0.0
        if year in self.started and option.mode != before:
            paid = option.transition_cost
        return Running(service, self.option[year], option, before, paid, self.fee.get(year, 0.0))


def reference_verify_schedule(
    instance: Instance,
    paths: Sequence[ServicePath],
    investments: Mapping[str, int] | None = None,
) -> MultiYearVerification:
    """Check a multi-year plan given as each service's decisions (file order).

    Args:
        instance: the instance (with a horizon) the plan answers.
        paths: one :class:`ServicePath` per service, in the instance's order.
        investments: the investments made, id -> 0-based horizon year; None: those ``paths``
            carries (:func:`~portfolio.decisions.investments_of`).

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
    first = horizon.start_year
    calendar = horizon.calendar_years
    problems: list[str] = []

    derived: list[_ServiceYears] = []
    contracts: list[Contract] = []
    for service, path in zip(instance.services, paths, strict=True):
        if path.service != service.id:
            problems.append(f"path for '{path.service}' given where '{service.id}' was expected")
        service_years, service_contracts = _derive(service, path, instance, problems)
        derived.append(service_years)
        contracts += service_contracts

    years = [[entry.running(year) for entry in derived] for year in range(horizon.years)]
    if investments is None:
        investments = investments_of(paths)
    totals, first_used = evaluate_years(instance, years, calendar, problems, investments)
    objective = math.fsum(t.discount_factor * t.objective for t in totals)
    plan = MultiYearPlan(
        start_year=first,
        discount_rate=horizon.discount_rate,
        paths=tuple(paths),
        investments={i: first + year for i, year in sorted(investments.items(), key=_by_year)},
        schedule={e.service.id: [e.service.options[p].mode for p in e.option] for e in derived},
        options={e.service.id: list(e.option) for e in derived},
        contracts=tuple(contracts),
        years=tuple(totals),
        objective=objective,
        first_used={mode: first + year for mode, year in first_used.items()},
    )
    mode_order = [mode.id for mode in instance.modes]
    first_year = Plan(
        choices=plan_choices(years[0]),
        objective=objective,
        checks=tuple(
            Check(
                f"{c.name}@{t.year}", c.value, c.sense, c.limit, c.slack, c.binding, c.ok, c.detail
            )
            for t in totals
            for c in t.checks
        ),
        modes_used=tuple(sorted(first_used, key=mode_order.index)),
        investments=totals[0].investments,
        investment_cost=totals[0].investment_cost,
        savings=totals[0].savings,
        outcome_gain=totals[0].outcome_gain,
        effects=tuple(effect.to_dict() for effect in totals[0].effects),
        modes_counted=totals[0].modes_counted,
    )
    return MultiYearVerification(not problems, plan, first_year, tuple(problems))


def _by_year(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]


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


# ---------------------------------------------------------------------- today's baseline
def reference_current_options(instance: Instance) -> list[int]:
    """The 0-based index of each service's current option, in the instance's order."""
    positions = []
    for service in instance.services:
        position = current_option_index(service)
        positions.append(0 if position is None else position)
    return positions


def reference_baseline(instance: Instance) -> dict[str, Any]:
    """Today's arrangement evaluated on the instance.

    Args:
        instance: a single-period or multi-year instance.

    Returns:
        ``{objective, annual_cost, one_off_cost, outcome, feasible, violations, options}``:

        * ``objective``: the instance's own objective (its sense and definition; discounted over
          the horizon in multi-year planning);
        * ``annual_cost``: the total annual cost (multi-year: the sum over the horizon's years);
        * ``one_off_cost``: transition, setup and termination money (today's arrangement changes
          no mode, so this is the setup cost of the modes it uses);
        * ``outcome``: the weighted outcome, sum of weight * outcome (multi-year: summed over
          the years);
        * ``feasible``: whether today's arrangement meets every limit and rule;
        * ``violations``: what it breaks, each ``{name, value, sense, bound, by, text}``
          (``by`` the amount beyond the bound; multi-year rows add ``year``; a broken rule such
          as a red line has ``text`` only);
        * ``options``: service id -> index of its current option.

        Multi-year instances add ``years``: each year's ``{year, annual_cost, one_off_cost,
        outcome}``.
    """
    positions = reference_current_options(instance)
    options = {s.id: p for s, p in zip(instance.services, positions, strict=True)}
    if instance.horizon is None:
        return _single_period(instance, positions, options)
    return _multi_year(instance, positions, options)


def _single_period(
    instance: Instance, positions: list[int], options: dict[str, int]
) -> dict[str, Any]:
    verdict = reference_verify_plan(instance, positions)
    plan = verdict.plan
    setup = math.fsum(instance.mode(mode).setup_cost for mode in plan.modes_used)
    one_off = math.fsum(choice.transition_cost for choice in plan.choices) + setup
    failed = [check for check in plan.checks if not check.ok]
    return {
        "objective": plan.objective,
        "annual_cost": plan.annual_cost,
        "one_off_cost": one_off,
        "outcome": math.fsum(choice.weighted_outcome for choice in plan.choices)
        + plan.outcome_gain,  # effects' gains (0 without effects), as over a horizon
        "feasible": verdict.ok,
        "violations": _limit_rows(failed, None)
        + _rule_rows(verdict.violations, [f"{check.name}:" for check in failed]),
        "options": options,
    }


def _multi_year(
    instance: Instance, positions: list[int], options: dict[str, int]
) -> dict[str, Any]:
    paths = [
        _continued(service, position, instance)
        for service, position in zip(instance.services, positions, strict=True)
    ]
    verdict = reference_verify_schedule(instance, paths)
    plan = verdict.plan
    violations: list[dict[str, Any]] = []
    covered: list[str] = []
    for totals in plan.years:
        failed = [check for check in totals.checks if not check.ok]
        violations += _limit_rows(failed, totals.year)
        covered += [f"{check.name} in {totals.year}" for check in failed]
    violations += _rule_rows(verdict.violations, covered)
    return {
        "objective": plan.objective,
        "annual_cost": math.fsum(totals.annual_cost for totals in plan.years),
        "one_off_cost": math.fsum(totals.transition_money for totals in plan.years),
        "outcome": math.fsum(totals.weighted_outcome for totals in plan.years),
        "feasible": verdict.ok,
        "violations": violations,
        "options": options,
        "years": [
            {
                "year": totals.year,
                "annual_cost": totals.annual_cost,
                "one_off_cost": totals.transition_money,
                "outcome": totals.weighted_outcome,
            }
            for totals in plan.years
        ],
    }


def _continued(service: Service, position: int, instance: Instance) -> Any:
    """The decisions that keep a service on its current option every year of the horizon."""
    horizon = instance.horizon
    assert horizon is not None
    start = 0
    if service.current_contract_end is not None:
        start = service.current_contract_end - horizon.start_year + 1
    length = service.options[position].contract_years or 1
    starts = tuple((position, year) for year in range(max(0, start), horizon.years, length))
    return ServicePath(service.id, None, starts)


def reference_current_decisions(instance: Instance) -> Any:
    """Today's arrangement as a verifier takes it: option positions (single period), or each
    service's path with its current arrangement continued every year (multi-year)."""
    positions = reference_current_options(instance)
    if instance.horizon is None:
        return positions
    return [
        _continued(service, position, instance)
        for service, position in zip(instance.services, positions, strict=True)
    ]


def _limit_rows(failed: list[Check], year: int | None) -> list[dict[str, Any]]:
    """Broken limits, each with the amount beyond its bound."""
    rows: list[dict[str, Any]] = []
    for check in failed:
        where = "" if year is None else f" in {year}"
        by = abs(check.slack)
        row: dict[str, Any] = {
            "name": check.name,
            "value": check.value,
            "sense": check.sense,
            "bound": check.limit,
            "by": by,
            "text": f"{check.name}{where}: {check.value:,.6g} {check.sense} {check.limit:,.6g} "
            f"does not hold (by {by:,.6g})",
        }
        if year is not None:
            row["year"] = year
        rows.append(row)
    return rows


def _rule_rows(problems: tuple[str, ...], covered: list[str]) -> list[dict[str, Any]]:
    """The verifier's problems that are not a limit already listed (red lines, rules)."""
    prefixes = tuple(covered)
    return [
        {"name": "rule", "text": problem}
        for problem in problems
        if not (prefixes and problem.startswith(prefixes))
    ]


# ---------------------------------------------------------------------- the scenarios' data
def reference_year_values(instance: Instance) -> list[tuple[float | None, ...]]:
    """Every figure a scenario can change, year by year: each yearly limit's value that year,
    then each option's annual cost that year (indexed). Two scenarios are indistinguishable at t
    when these agree in every year up to t (models/scenarios.md)."""
    assert instance.horizon is not None
    years = instance.horizon.years
    costs = [
        [
            (value_in_year(option.annual_cost, t) or 0.0) * (1.0 + option.indexation) ** t
            for t in range(years)
        ]
        for service in instance.services
        for option in service.options
    ]
    return [
        (*limit_values(instance, t), *(row[t] for row in costs)) for t in range(years)
    ]
