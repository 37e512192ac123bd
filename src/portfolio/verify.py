"""Independent verification of a plan against the instance, year by year.

This module reads the domain objects only, never the compiled matrix: it recomputes every total
from the instance's own definitions (DESIGN.md "Conventions"), so that an error in compilation, a
solver's tolerance or a backend's translation cannot produce an accepted plan that breaks a limit.
It is deliberately written as plain loops over services, the way a finance officer would add up
the plan.

One implementation serves every horizon. :func:`evaluate_years` adds up each year of a plan given
as what every service runs that year (:class:`Running`) and checks every yearly limit and red
line; a single-period plan is its year 0 (:func:`verify_plan`), and a multi-year plan is every
year of the horizon once its contract decisions are played out
(:func:`portfolio.multiyear.verify.verify_schedule`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portfolio.decisions import investments_of
from portfolio.domain import Instance, Mode, Option, Service, WeightedObjective, value_in_year
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


@dataclass(frozen=True)
class EffectLanded:
    """A prevention effect that landed in a year of the plan.

    Attributes:
        index: position of the effect in ``instance.effects``.
        when_service: the service whose arrangement produced it.
        when_mode: its mode.
        on: the service it landed on.
        saving: spend saved.
        outcome_gain: outcome gained, times the weight of ``on``.
        from_year: the year (as the plan names years) of the arrangement that produced it.
    """

    index: int
    when_service: str
    when_mode: str
    on: str
    saving: float
    outcome_gain: float
    from_year: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "effect": self.index,
            "when": {"service": self.when_service, "mode": self.when_mode},
            "on": self.on,
            "saving": self.saving,
            "outcome_gain": self.outcome_gain,
            "from_year": self.from_year,
        }


@dataclass(frozen=True)
class YearTotals:
    """One horizon year of a plan: totals and every yearly limit evaluated.

    Attributes:
        year: calendar year (for a single period, 0).
        index: 0-based horizon year.
        discount_factor: (1 + rate)**-index (1 for a single period).
        annual_cost: annual cost of the arrangements active that year.
        transition_cost: transition costs paid that year (mode changes).
        setup_cost: setup costs of modes first used that year.
        termination_cost: termination fees paid that year.
        weighted_outcome: sum of weight * outcome that year.
        objective: the year's contribution to the objective, before discounting.
        changes: services whose mode differs from the year before.
        checks: the yearly limits, named as in the file (``budget``, ``capacity_count[mode]``...).
        investment_cost: cost of the investments made that year.
        investments: ids of the investments made that year.
        savings: spend saved that year by prevention effects (the budget counts
            ``annual_cost - savings``).
        outcome_gain: weighted outcome gained that year from effects (included in
            ``weighted_outcome``).
        effects: the effects that landed that year.
        modes_counted: the modes ``max_modes_used`` counts that year (None without the cap).
    """

    year: int
    index: int
    discount_factor: float
    annual_cost: float
    transition_cost: float
    setup_cost: float
    termination_cost: float
    weighted_outcome: float
    objective: float
    changes: tuple[str, ...]
    checks: tuple[Check, ...]
    investment_cost: float = 0.0
    investments: tuple[str, ...] = ()
    savings: float = 0.0
    outcome_gain: float = 0.0
    effects: tuple[EffectLanded, ...] = ()
    modes_counted: tuple[str, ...] | None = None

    @property
    def transition_money(self) -> float:
        """Transition, setup, termination and investment costs paid that year (the transition
        budget's sum)."""
        return self.transition_cost + self.setup_cost + self.termination_cost + (
            self.investment_cost
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: totals, then each yearly limit as ``{value, limit, binding, ...}``."""
        out: dict[str, Any] = {
            "year": self.year,
            "index": self.index,
            "discount_factor": self.discount_factor,
            "annual_cost": self.annual_cost,
            "transition_cost": self.transition_cost,
            "setup_cost": self.setup_cost,
            "termination_cost": self.termination_cost,
            "weighted_outcome": self.weighted_outcome,
            "objective": self.objective,
            "changes": list(self.changes),
        }
        if self.investments or self.investment_cost:
            out["investment_cost"] = self.investment_cost
            out["investments"] = list(self.investments)
        if self.effects:
            out["savings"] = self.savings
            out["outcome_gain"] = self.outcome_gain
            out["effects"] = [effect.to_dict() for effect in self.effects]
        if self.modes_counted is not None:
            out["modes_counted"] = list(self.modes_counted)
        for check in self.checks:
            plain = check.to_dict()  # JSON-ready: no inf or NaN
            out[check.name] = {
                "value": plain["value"],
                "limit": plain["limit"],
                "sense": check.sense,
                "binding": check.binding,
                "ok": check.ok,
                **({"detail": check.detail} if check.detail else {}),
            }
        return out


def verify_plan(
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
