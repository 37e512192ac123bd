"""Independent verification of a plan against the instance, year by year.

This module reads the instance's own data only, never the compiled matrix: it recomputes every
total from the instance's own definitions (DESIGN.md "Conventions"), so that an error in
compilation, a solver's tolerance or a backend's translation cannot produce an accepted plan that
breaks a limit. The options are read as the instance's own columns
(:func:`portfolio.columnar.option_columns`: the numbers of the file, one array per field), the
chosen option of each service is gathered from them, and each total is the exact sum
(``math.fsum``) of the gathered figures, service by service in file order, as a finance officer
would add up the plan; the limits and the rules come from the instance's constraints and modes.

One implementation serves every horizon. :func:`evaluate_years` adds up each year of a plan given
as what every service runs that year (:class:`Arrangement`) and checks every yearly limit and red
line; a single-period plan is its year 0 (:func:`verify_plan`), and a multi-year plan is every
year of the horizon once its contract decisions are played out
(:func:`portfolio.multiyear.verify.verify_schedule`).
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from portfolio.columnar import option_columns
from portfolio.decisions import investments_of
from portfolio.domain import Instance, WeightedObjective, value_in_year
from portfolio.result import Check, Plan, ServiceChoice

#: Relative feasibility tolerance: a total may exceed its limit by this fraction of
#: max(1, |limit|, |total|). Totals are exact sums of the doubles read from the file (math.fsum),
#: which differ from the decimals written by at most ~3e-16 of that scale, so 1e-13 accepts every
#: plan that holds on the decimals and rejects an overrun of a penny on totals up to 1e11.
FEASIBILITY_TOL = 1e-13

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Bools = npt.NDArray[np.bool_]


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
class Arrangement:
    """What every service runs in one year of a plan, and the one-off money each pays that year:
    one entry per service, in the instance's order.

    Attributes:
        position: 0-based index of the option each service runs that year in its own list
            (every entry a valid index).
        mode_before: index (in ``instance.modes``) of each service's mode the year before (its
            current mode for year 0).
        transition_cost: transition cost each service pays that year (a contract starts and
            changes mode).
        termination_cost: termination fee each service pays that year (its existing contract
            is broken).
    """

    position: _Ints
    mode_before: _Ints
    transition_cost: _Floats
    termination_cost: _Floats


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


@dataclass(frozen=True)
class _ServiceFields:
    """The services' own fields as arrays, in file order."""

    ids: tuple[str, ...]
    current: _Ints  # current mode index
    weight: _Floats
    statutory: _Bools
    # id -> position, made when first asked (whole, before it is shared: threads may ask)
    positions: list[dict[str, int]] = field(default_factory=list)

    def index(self, service_id: str) -> int:
        """The position of a service in the instance."""
        if not self.positions:
            self.positions.append({sid: i for i, sid in enumerate(self.ids)})
        return self.positions[0][service_id]

    @classmethod
    def read(cls, instance: Instance) -> _ServiceFields:
        """One pass over the services: at scale, touching each object is the cost."""
        services = instance.services
        mode_index = {mode.id: i for i, mode in enumerate(instance.modes)}
        get = operator.attrgetter("id", "current_mode", "weight", "statutory")
        ids, current, weight, statutory = zip(*map(get, services), strict=True)
        return cls(
            ids=ids,
            current=np.fromiter(map(mode_index.__getitem__, current), np.int64, len(services)),
            weight=np.array(weight, dtype=np.float64),
            statutory=np.array(statutory, dtype=np.bool_),
        )


#: The service fields of the instances verified, while they live: a plan is verified several
#: times in a solve (its start, the answer, today's arrangement). Keyed by ``id(instance)``, with
#: the services list they were read from; an entry never keeps its instance alive.
_FIELDS: dict[int, tuple[weakref.ref[Instance], list[Any], _ServiceFields]] = {}


def _service_fields(instance: Instance) -> _ServiceFields:
    """The service fields of ``instance`` (kept while it lives, for as long as its services list
    is the one they were read from)."""
    key = id(instance)
    entry = _FIELDS.get(key)
    if entry is not None:
        ref, listed, fields = entry
        if ref() is instance and listed is instance.services and len(listed) == len(fields.ids):
            return fields
    fields = _ServiceFields.read(instance)

    def forget(_: Any) -> None:
        _FIELDS.pop(key, None)

    _FIELDS[key] = (weakref.ref(instance, forget), instance.services, fields)
    return fields


class _Services:
    """An instance's services and options as arrays: the service fields, the option columns
    and each mode's facts."""

    def __init__(self, instance: Instance) -> None:
        columns = option_columns(instance)
        fields = _service_fields(instance)
        self.instance = instance
        self.columns = columns
        self.ids = fields.ids
        self.current = fields.current
        self.weight = fields.weight
        self.statutory = fields.statutory
        self.mode_ids: tuple[str, ...] = columns.mode_ids
        self.first: _Ints = columns.first_option[:-1]
        self.ceases: _Bools = np.array(
            [mode.ceases_service for mode in instance.modes], dtype=np.bool_
        )
        self.index = fields.index

    def mode_names(self, modes: _Ints) -> list[str]:
        """Mode ids of an array of mode indices."""
        names = self.mode_ids
        return [names[m] for m in modes.tolist()]


def _exact_sum(values: _Floats) -> float:
    """The correctly rounded sum of an array (``math.fsum``), whatever the order of its terms."""
    return math.fsum(values.tolist())


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
    evaluation = evaluate_plan(instance, positions, investments)
    year = evaluation.year
    plan = Plan(
        choices=plan_choices(instance, evaluation.running),
        objective=year.objective,
        checks=year.checks,
        modes_used=evaluation.modes_used,
        investments=year.investments,
        investment_cost=year.investment_cost,
        savings=year.savings,
        outcome_gain=year.outcome_gain,
        effects=tuple(effect.to_dict() for effect in year.effects),
        modes_counted=year.modes_counted,
    )
    return Verification(evaluation.ok, plan, evaluation.violations)


@dataclass(frozen=True)
class Evaluation:
    """A single-period plan added up and checked: what :func:`verify_plan` finds before it lists
    each service's choice (today's baseline needs only the totals).

    Attributes:
        ok: every constraint holds within tolerance.
        year: the plan's totals and checks (its year 0).
        modes_used: ids of the modes the plan uses, in the instance's order.
        services_outcome: the sum of weight * outcome over the services (exact; the effects'
            gains left out).
        violations: one line per broken constraint.
        running: what every service runs.
    """

    ok: bool
    year: YearTotals
    modes_used: tuple[str, ...]
    services_outcome: float
    violations: tuple[str, ...]
    running: Arrangement


def evaluate_plan(
    instance: Instance,
    positions: Sequence[int],
    investments: Mapping[str, int] | None = None,
) -> Evaluation:
    """Add up and check a plan given as the chosen option's position for each service, as
    :func:`verify_plan` does (the same arguments), without listing the choices."""
    if len(positions) != len(instance.services):
        raise ValueError(
            f"the plan has {len(positions)} choices for {len(instance.services)} services"
        )
    services = _Services(instance)
    columns = services.columns
    problems: list[str] = []
    chosen, wrong = _positions(positions, np.diff(columns.first_option))
    for i in wrong.tolist():
        problems.append(f"service '{services.ids[i]}': option index {positions[i]} does not exist")
    option = services.first + chosen
    changes = columns.mode[option] != services.current
    running = Arrangement(
        position=chosen,
        mode_before=services.current,
        transition_cost=np.where(changes, columns.transition_cost[option], 0.0),
        termination_cost=np.zeros(len(chosen)),
    )
    if investments is None:
        investments = investments_of(positions)
    (year,), first_used = _evaluate(services, [running], None, problems, investments)
    mode_order = [mode.id for mode in instance.modes]
    return Evaluation(
        ok=not problems,
        year=year,
        modes_used=tuple(sorted(first_used, key=mode_order.index)),
        services_outcome=_exact_sum(services.weight * columns.outcome[option]),
        violations=tuple(problems),
        running=running,
    )


def _positions(positions: Sequence[int], counts: _Ints) -> tuple[_Ints, _Ints]:
    """The positions as an array, those that name no option replaced by 0, and which those are.

    Raises:
        TypeError: a position is not a whole number (as indexing a list with it would).
    """
    given = np.asarray(positions) if len(positions) else np.zeros(0, dtype=np.int64)
    if given.dtype.kind in "iub":
        chosen = given.astype(np.int64)
        wrong = np.flatnonzero((given < 0) | (chosen < 0) | (chosen >= counts))
    else:  # not all machine integers: one at a time
        limits = counts.tolist()
        valid = [0 <= operator.index(p) < limits[i] for i, p in enumerate(positions)]
        wrong = np.flatnonzero(~np.array(valid, dtype=np.bool_))
        chosen = np.array([p if ok else 0 for p, ok in zip(positions, valid, strict=True)],
                          dtype=np.int64)
    chosen[wrong] = 0
    return chosen, wrong


def plan_choices(instance: Instance, running: Arrangement) -> tuple[ServiceChoice, ...]:
    """The services of one year as the choices of a :class:`Plan` (the annual cost is the
    first year's)."""
    return _choices(_Services(instance), running)


def _choices(services: _Services, running: Arrangement) -> tuple[ServiceChoice, ...]:
    columns = services.columns
    position = running.position
    option = services.first + position
    outcome = columns.outcome[option]
    flexibilities = [None if f != f else f for f in columns.flexibility[option].tolist()]
    labels = columns.labels
    return ServiceChoice.many(
        services.ids,
        services.mode_names(services.current),
        services.mode_names(columns.mode[option]),
        position.tolist(),
        columns.annual_cost[option].tolist(),
        running.transition_cost.tolist(),
        outcome.tolist(),
        (services.weight * outcome).tolist(),
        flexibilities,
        [None] * len(option) if labels is None else [labels[o] for o in option.tolist()],
    )


def evaluate_years(
    instance: Instance,
    years: Sequence[Arrangement],
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
        years: for each 0-based horizon year, what every service runs.
        calendar: the calendar year of each horizon year, named in the problems found; None for a
            single-period plan (the problems name no year).
        problems: where a broken red line or limit is recorded, one line each.
        investments: the investments made, id -> 0-based year index (None: none).

    Returns:
        Each year's evaluation, and the year each mode is first used (mode id -> year index, in
        the order first met).
    """
    return _evaluate(
        _Services(instance), years, calendar, problems, investments
    )


def _evaluate(
    services: _Services,
    years: Sequence[Arrangement],
    calendar: Sequence[int] | None,
    problems: list[str],
    investments: Mapping[str, int] | None,
) -> tuple[list[YearTotals], dict[str, int]]:
    instance = services.instance
    options = [services.first + running.position for running in years]
    modes = [services.columns.mode[option] for option in options]
    first_used: dict[str, int] = {}
    for index, used in enumerate(modes):
        found, where_first = np.unique(used, return_index=True)
        for mode in found[np.argsort(where_first)].tolist():
            first_used.setdefault(services.mode_ids[mode], index)

    def where(index: int) -> str:
        return "" if calendar is None else f" in {calendar[index]}"

    fixed = instance.constraints.fixed
    for index, used in enumerate(modes):
        ceasing = np.flatnonzero(services.statutory & services.ceases[used])
        for i in ceasing.tolist():
            problems.append(
                f"service '{services.ids[i]}' is statutory but mode "
                f"'{services.mode_ids[used[i]]}' ceases it" + where(index)
            )
        for service_id, wanted in fixed.items():
            got = services.mode_ids[used[services.index(service_id)]]
            if got != wanted:
                problems.append(
                    f"service '{service_id}' is fixed to '{wanted}' but uses '{got}'"
                    + where(index)
                )
    made = _check_investments(instance, investments or {}, len(years), calendar, problems)
    landed = _effects_landed(instance, services, modes, calendar)
    evaluations = []
    for index, running in enumerate(years):
        setup_modes = [mode for mode, first in first_used.items() if first == index]
        evaluations.append(
            _evaluate_year(
                services,
                index,
                None if calendar is None else calendar[index],
                running,
                options[index],
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
    instance: Instance,
    services: _Services,
    modes: Sequence[_Ints],
    calendar: Sequence[int] | None,
) -> list[list[EffectLanded]]:
    """For each year, the effects that land in it: effect e lands in t + lag_e when its service
    runs in its mode in year t (effects landing after the last year do not count)."""
    landed: list[list[EffectLanded]] = [[] for _ in modes]
    for index, effect in enumerate(instance.effects):
        when = services.index(effect.when.service)
        for year, used in enumerate(modes):
            target = year + effect.lag_years
            if target >= len(modes):
                break
            if services.mode_ids[used[when]] == effect.when.mode:
                landed[target].append(
                    EffectLanded(
                        index,
                        effect.when.service,
                        effect.when.mode,
                        effect.on,
                        effect.saving,
                        float(services.weight[services.index(effect.on)]) * effect.outcome,
                        year if calendar is None else calendar[year],
                    )
                )
    return landed


def _annual_costs(services: _Services, option: _Ints, year: int) -> _Floats:
    """Each service's annual cost in 0-based horizon year ``year``
    (:meth:`~portfolio.domain.Option.annual_cost_in_year`, read from the option columns): the
    column in year 0, where it is the option's own figure; a later year's (multi-year plans) the
    list's entry, else the cost indexed."""
    if year == 0:
        return services.columns.annual_cost[option]
    return services.columns.annual_cost_in_year(option, year)


def _evaluate_year(
    services: _Services,
    year: int,
    calendar: int | None,
    running: Arrangement,
    option: _Ints,
    setup_modes: Sequence[str],
    problems: list[str],
    made: Mapping[str, int],
    landed: Sequence[EffectLanded],
) -> YearTotals:
    """One year's totals, its limits checked (the problems name ``calendar``, when given)."""
    instance = services.instance
    columns = services.columns
    modes = {mode.id: mode for mode in instance.modes}
    where = "" if calendar is None else f" in {calendar}"
    constraints = instance.constraints
    checks: list[Check] = []
    mode = columns.mode[option]

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

    def in_modes(mode_id: str | None, sector: str | None) -> _Bools:
        """The services running a mode that is ``mode_id`` (if given) of ``sector`` (if given)."""
        wanted = np.array(
            [(mode_id is None or m.id == mode_id) and (sector is None or m.sector == sector)
             for m in instance.modes],
            dtype=np.bool_,
        )
        return np.asarray(wanted[mode], dtype=np.bool_)

    def figure(name: str) -> _Floats:
        """A named figure of each service's option that year (``figure_in_year``)."""
        return cost if name == "annual_cost" else columns.figure(name)[option]

    cost = _annual_costs(services, option, year)
    annual = _exact_sum(cost)
    transition = _exact_sum(running.transition_cost)
    setup = math.fsum(modes[mode_id].setup_cost for mode_id in setup_modes)
    termination = _exact_sum(running.termination_cost)
    invested = [i for i in instance.investments if made.get(i.id) == year]
    investment_cost = math.fsum(i.cost for i in invested)
    in_effect = [i for i in instance.investments if i.id in made and
                 made[i.id] + i.years_to_effect <= year]
    savings = math.fsum(effect.saving for effect in landed)
    gain = math.fsum(effect.outcome_gain for effect in landed)
    outcome = math.fsum(
        (services.weight * columns.outcome[option]).tolist()
        + [effect.outcome_gain for effect in landed]
    )  # with no effect landed, the same sum as before effects existed
    changed = tuple(
        services.ids[i] for i in np.flatnonzero(mode != running.mode_before).tolist()
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
        flexibility = columns.flexibility[option]
        surplus = _exact_sum(cost * (np.where(np.isnan(flexibility), 0.0, flexibility) - floor))
        mean = floor + surplus / annual if annual > 0 else floor
        if not ratio("min_flexibility", mean, ">=", floor, surplus):
            problems.append(
                f"min_flexibility{where}: spend-weighted mean {mean:.6g} < {floor:.6g}"
            )
    limit = value_in_year(constraints.max_changes, year)
    if limit is not None:
        add("max_changes", len(changed), "<=", limit, integral=True)

    count = np.bincount(mode, minlength=len(instance.modes)).tolist()
    for index, mode_info in enumerate(instance.modes):
        raised = [i for i in in_effect if i.mode == mode_info.id]
        cap = value_in_year(mode_info.max_services, year)
        if cap is not None:
            cap += sum(i.max_services for i in raised)
            add(f"capacity_count[{mode_info.id}]", count[index], "<=", cap, integral=True)
        cap = value_in_year(mode_info.max_spend, year)
        if cap is not None:
            cap = math.fsum([cap, *(i.max_spend for i in raised)])
            add(f"capacity_spend[{mode_info.id}]", _exact_sum(cost[mode == index]), "<=", cap)
        if mode_info.min_services and count[index] > 0:
            add(f"min_services[{mode_info.id}]", count[index], ">=", mode_info.min_services, True)

    for sector, bound in constraints.sector_share.items():
        in_sector = _exact_sum(cost[in_modes(None, sector)])
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
        counted = tuple(
            m.id for index, m in enumerate(instance.modes) if count[index] and not m.ceases_service
        )
        add("max_modes_used", len(counted), "<=", limit, integral=True)

    for index, bundle in enumerate(constraints.same_mode):
        bundle_modes = [services.mode_ids[mode[services.index(sid)]] for sid in bundle]
        used = set(bundle_modes)
        ok = len(used) == 1
        detail = ", ".join(f"{sid}={m}" for sid, m in zip(bundle, bundle_modes, strict=True))
        checks.append(
            Check(f"same_mode[{index}]", len(used), "=", 1, 0.0 if ok else -1.0, False, ok, detail)
        )
        if not ok:
            problems.append(f"same_mode[{index}]{where}: the bundle uses several modes ({detail})")

    for index, row in enumerate(constraints.limits):
        values = running.transition_cost if row.metric == "transition_cost" else figure(row.metric)
        if row.mode is not None or row.sector is not None:
            values = values[in_modes(row.mode, row.sector)]
        total = _exact_sum(values)
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
            services, running, cost, figure, setup, termination, outcome, investment_cost,
            savings, gain,
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
    services: _Services,
    running: Arrangement,
    cost: _Floats,
    figure: Callable[[str], _Floats],
    setup: float,
    termination: float,
    outcome: float,
    investment_cost: float = 0.0,
    savings: float = 0.0,
    gain: float = 0.0,
) -> float:
    """The year's objective as the user stated it, on the real data, before discounting.

    ``cost`` is each service's annual cost that year, ``figure(name)`` each service's named
    figure that year. ``outcome`` includes the effects' gains; cost objectives count the
    investments made and less the effects' savings (in a weighted sum: the ``investment_cost``
    and ``annual_cost`` terms).
    """
    instance = services.instance
    objective = instance.objective
    if objective == "maximise_outcome":
        return outcome
    if objective == "minimise_cost":
        paid = (cost + running.transition_cost + running.termination_cost).tolist()
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
            if name == "outcome":
                each = weight * services.weight * services.columns.outcome[
                    services.first + running.position
                ]
            elif name == "transition_cost":
                each = weight * running.transition_cost
            else:
                each = weight * figure(name)
            terms += each.tolist()
    return math.fsum(terms)
