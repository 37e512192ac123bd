"""The optimum of tiny multi-year instances with funding scenarios, by enumeration.

This module imports nothing from ``portfolio``: it reads an instance as plain data (the canonical
file format as parsed from YAML or JSON) and follows issue 9's semantics literally, so that it can
prove the engine's scenario formulation right or wrong. It is slow on purpose: every schedule of
every service is listed, every scenario's yearly limits are checked on every combination, and the
stochastic optimum is found by trying every non-anticipative choice of one plan per scenario.

**Multi-year semantics** (issue 3, ``models/multi_year.md``). Year index t is 0-based from
``horizon.start_year``; option o's base cost in year t is its ``annual_cost`` list entry, else
``annual_cost * (1 + indexation) ** t``. A service with ``current_contract_end`` E runs its current
option (marked ``current``, else the first in ``current_mode``) in years 0 .. E - start_year, or,
when it has a ``termination_cost`` and is broken in year b <= that end, in years 0 .. b - 1, pays
the fee in year b, and a new contract starts in b. Every other year is covered by contracts the
plan starts: option o started in t covers ``contract_years`` (default 1) years (it may run past the
horizon), may start only in t >= ``lead_time_years`` (default 0), and the next contract starts
when it ends. ``transition_cost`` is paid in a contract's start year when its mode differs from the
year before (the current mode before the horizon); a mode's ``setup_cost`` once, in the first year
any service uses it. Yearly limits, each one number or one value per year: ``budget`` (annual
costs), ``transition_budget`` (transition + setup + termination paid that year), ``max_changes``
(services whose mode differs from the year before), ``min_outcome`` (weighted outcome),
``min_flexibility`` (cost-weighted mean flexibility), ``sector_share`` (share of the year's annual
cost, ``max``/``min``), a mode's ``max_services``/``max_spend``/``min_services``, and ``limits``
rows (``metric``, optional ``mode``/``sector`` filter, ``max``/``min``; ``annual_cost`` is the
year's cost, ``transition_cost`` the transition paid, any other figure the option's field or
``metrics`` entry). Statutory services never use a mode that ``ceases_service``; ``fixed``
services always use their mode; ``same_mode`` bundles share a mode each year. Objectives:
``maximise_outcome``, ``minimise_cost`` (annual + transition + setup + termination) and a weighted
``{maximise|minimise: {figure: weight}}`` (``outcome`` times the service weight, ``setup_cost``,
``termination_cost``, any option figure), each year's value discounted by
``(1 + discount_rate) ** -t`` (default rate 0.035).

**Scenarios** (issue 9). ``scenarios: [{name, probability, constraints?, cost_factor?}]``; none
given means one scenario of probability 1 with the base data.

* A scenario's ``constraints`` replace the base value of any yearly limit it names (``budget``,
  ``transition_budget``, ``max_changes``, ``min_outcome``, ``min_flexibility``); ``sector_share``
  replaces the base entry of each sector it names; ``limits`` is a list whose entry i (a dict,
  or null for "unchanged") is merged into the base row i. Other keys are rejected (not yearly).
* ``cost_factor`` is ``{sector: [factor per year]}`` or one list for every option (a number stands
  for the same factor every year). In the scenario, option o's year-t annual cost is its base cost
  (indexation included) times the factor of its mode's sector in year t (1 where none is given);
  everything that reads annual cost (budget, flexibility weights, sector shares, mode spend caps,
  ``limits`` on ``annual_cost``, cost objectives) reads that. Transition, setup and termination
  costs are not factored.
* Information: the data of year t in a scenario are every option's factored year-t cost and every
  yearly limit's year-t value. Scenarios whose data agree in every year <= t are
  indistinguishable at t.
* Decisions: starting option o of service s in year t (the event ``("start", s, o, t)``) is
  decided in year t - lead_time_years(o); breaking service s's existing contract (the event
  ``("break", s, b)``) in year b is decided in b. The contract preceding a start is not part of
  the decision. A kept existing contract is the absence of break events.
* Non-anticipativity: scenarios indistinguishable at t take the same set of decisions at t.
* Every scenario's plan must meet that scenario's limits; each scenario's objective is the
  discounted objective above on its data. Risk measures: ``expected`` (the default):
  the probability-weighted mean; ``worst_case``: the worst scenario's objective (the smallest for
  a maximise objective, the largest cost for a minimise one); ``{cvar: alpha}``: the mean over the
  worst alpha of probability mass (scenarios ordered worst first, the one at the boundary counted
  for the part of its mass that fits).
* Wait-and-see: each scenario's own optimum (no non-anticipativity), combined by the same
  measure. EVPI: wait-and-see minus recourse for a maximise objective, recourse minus wait-and-see
  for a minimise one (>= 0).

**Search.** Per scenario, every combination of the services' schedules is checked. Plans of one
scenario that take the same decisions in every year where it is indistinguishable from some
other scenario are interchangeable for non-anticipativity, so only the best of them is kept (the
three measures are non-decreasing in each scenario's objective, so this loses no optimum); then
every non-anticipative combination of the kept plans, one per scenario, is tried.

Supported: what tiny instances need (a handful of services and options, a short horizon, up to a
few scenarios); it never builds an optimisation model.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TOL = 1e-9
"""Relative tolerance for ties and for the yearly limits (1e-7, as the verifier)."""
ROW_TOL = 1e-7

YEARLY_LIMITS = ("budget", "transition_budget", "max_changes", "min_outcome", "min_flexibility")
"""The scalar-or-list limits under ``constraints`` a scenario may replace as a whole."""

Event = tuple[Any, ...]
"""A decision: ``("start", service, option, year)`` or ``("break", service, year)``."""


# ---------------------------------------------------------------------- data of one scenario
@dataclass(frozen=True)
class Scenario:
    """One scenario's data: its limits (base with overrides) and cost factors by sector."""

    name: str
    probability: float
    constraints: dict[str, Any]
    factors: dict[str | None, list[float]]
    """Factor per year by sector; the key None applies to every sector not named."""

    def factor(self, sector: str, year: int) -> float:
        """The cost factor of a sector in a year (1 where none is given)."""
        values = self.factors.get(sector, self.factors.get(None))
        return 1.0 if values is None else float(values[year])


def value_at(value: Any, year: int) -> float | None:
    """A limit's value in a year: one number for every year, or the year's list entry."""
    if value is None:
        return None
    return float(value[year]) if isinstance(value, list) else float(value)


def _per_year(value: Any, years: int, where: str) -> list[float]:
    if isinstance(value, list):
        if len(value) != years:
            raise ValueError(f"{where}: {len(value)} values for {years} years")
        return [float(v) for v in value]
    return [float(value)] * years


def _scenario_constraints(base: dict[str, Any], override: dict[str, Any], name: str) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key in YEARLY_LIMITS:
            merged[key] = copy.deepcopy(value)
        elif key == "sector_share":
            shares = merged.setdefault("sector_share", {})
            for sector, bounds in value.items():
                # The bounds given replace the instance's; a bound not given stays.
                shares[sector] = {**shares.get(sector, {}), **copy.deepcopy(bounds)}
        elif key == "limits":
            # {position: {max, min}}: the bounds given replace that row's.
            rows = [dict(row) for row in merged.get("limits", [])]
            for position, change in value.items():
                rows[int(position)].update(copy.deepcopy(change))
            merged["limits"] = rows
        else:
            raise ValueError(f"scenario {name}: constraints.{key} is not a yearly limit")
    return merged


def scenarios_of(data: dict[str, Any]) -> list[Scenario]:
    """The instance's scenarios with their data; one base scenario when it has none."""
    years = data["horizon"]["years"]
    base = data.get("constraints", {}) or {}
    given = data.get("scenarios") or [{"name": "base", "probability": 1.0}]
    out = []
    for entry in given:
        name = entry["name"]
        factors: dict[str | None, list[float]] = {}
        raw = entry.get("cost_factor")
        if isinstance(raw, dict):
            for sector, values in raw.items():
                factors[sector] = _per_year(values, years, f"scenario {name} {sector}")
        elif raw is not None:
            factors[None] = _per_year(raw, years, f"scenario {name} cost_factor")
        constraints = _scenario_constraints(base, entry.get("constraints", {}) or {}, name)
        out.append(Scenario(name, float(entry["probability"]), constraints, factors))
    if abs(sum(s.probability for s in out) - 1.0) > 1e-6:
        raise ValueError("scenario probabilities do not sum to 1")
    return out


def base_cost(option: dict[str, Any], year: int) -> float:
    """An option's year-t cost before any scenario factor: list entry or indexed cost."""
    cost = option["annual_cost"]
    if isinstance(cost, list):
        return float(cost[year])
    return float(cost) * (1.0 + float(option.get("indexation", 0.0))) ** year


def annual_cost(data: dict[str, Any], scenario: Scenario, option: dict[str, Any], t: int) -> float:
    """An option's year-t annual cost in a scenario: base cost times its sector's factor."""
    sector = _sectors(data)[option["mode"]]
    return base_cost(option, t) * scenario.factor(sector, t)


def _sectors(data: dict[str, Any]) -> dict[str, str]:
    return {m["id"]: m["sector"] for m in data["modes"]}


def year_data(data: dict[str, Any], scenario: Scenario, t: int) -> tuple[Any, ...]:
    """Everything a scenario says about year t: every option's cost and every limit's value."""
    costs = tuple(
        annual_cost(data, scenario, option, t)
        for service in data["services"]
        for option in service["options"]
    )
    cons = scenario.constraints
    limits = tuple(value_at(cons.get(key), t) for key in YEARLY_LIMITS)
    shares = tuple(
        (sector, value_at(bounds.get("max"), t), value_at(bounds.get("min"), t))
        for sector, bounds in sorted((cons.get("sector_share") or {}).items())
    )
    rows = tuple(
        (value_at(row.get("max"), t), value_at(row.get("min"), t))
        for row in cons.get("limits") or []
    )
    return costs, limits, shares, rows


def last_common_year(data: dict[str, Any], a: Scenario, b: Scenario) -> int:
    """The last year t such that a and b agree in every year <= t (-1: they differ in year 0)."""
    for t in range(data["horizon"]["years"]):
        if year_data(data, a, t) != year_data(data, b, t):
            return t - 1
    return data["horizon"]["years"] - 1


# ---------------------------------------------------------------------- schedules of one service
@dataclass(frozen=True)
class Path:
    """One way to run one service over the horizon."""

    years: tuple[int, ...]
    """The option run in each year."""
    starts: tuple[tuple[int, int], ...]
    """The contracts the plan starts: (option, start year)."""
    broken: int | None = None
    """The year the existing contract is broken in (None: kept, or there is none)."""
    fee: float = 0.0
    """The termination fee paid in year ``broken``."""


def current_option(service: dict[str, Any]) -> int:
    """Today's option: the one marked ``current``, else the first in ``current_mode``."""
    for index, option in enumerate(service["options"]):
        if option.get("current"):
            return index
    return next(i for i, o in enumerate(service["options"]) if o["mode"] == service["current_mode"])


def service_paths(service: dict[str, Any], horizon: dict[str, Any]) -> list[Path]:
    """Every schedule of a service: the existing contract kept or broken, then new contracts."""
    years = horizon["years"]
    today = current_option(service)
    heads: list[tuple[tuple[int, ...], int | None, float]] = []  # (years run so far, break, fee)
    end = service.get("current_contract_end")
    if end is None:
        heads.append(((), None, 0.0))
    else:
        last = end - horizon["start_year"]
        heads.append(((today,) * min(last + 1, years), None, 0.0))
        fee = service.get("termination_cost")
        if fee is not None:
            heads.extend(((today,) * b, b, float(fee)) for b in range(min(last, years - 1) + 1))
    out: list[Path] = []
    for head, broken, fee in heads:
        # a kept contract may run past the horizon: the next start is then never reached
        frontier = [(head, ())] if len(head) < years else []
        if len(head) >= years:
            out.append(Path(head[:years], (), broken, fee))
        while frontier:
            covered, starts = frontier.pop()
            t = len(covered)
            for index, option in enumerate(service["options"]):
                if t < option.get("lead_time_years", 0):
                    continue
                length = option.get("contract_years") or 1
                run = covered + (index,) * min(length, years - t)
                started = (*starts, (index, t))
                if len(run) >= years:
                    out.append(Path(run, started, broken, fee))
                else:
                    frontier.append((run, started))
    return out


def decisions(
    data: dict[str, Any], plan: Sequence[Path], lead_times: bool = True
) -> tuple[frozenset[Event], ...]:
    """The decisions a plan takes, by the year they are taken in.

    Args:
        data: the instance.
        plan: one path per service.
        lead_times: False dates a start by its start year instead of ``start - lead time`` (only
            to show, in tests, that the lead-time rule changes the answer).
    """
    years = data["horizon"]["years"]
    taken: list[set[Event]] = [set() for _ in range(years)]
    for s, (service, path) in enumerate(zip(data["services"], plan, strict=True)):
        for option, start in path.starts:
            lead = service["options"][option].get("lead_time_years", 0) if lead_times else 0
            taken[start - lead].add(("start", s, option, start))
        if path.broken is not None:
            taken[path.broken].add(("break", s, path.broken))
    return tuple(frozenset(t) for t in taken)


# ---------------------------------------------------------------------- one plan in one scenario
def objective_sense(data: dict[str, Any]) -> str:
    """``max`` or ``min``."""
    objective = data.get("objective", "maximise_outcome")
    if isinstance(objective, dict):
        return "max" if "maximise" in objective else "min"
    return "max" if objective == "maximise_outcome" else "min"


@dataclass(frozen=True)
class _Year:
    """One service's figures in one year of one path."""

    option: dict[str, Any]
    mode: str
    cost: float
    changed: bool
    paid: float
    fee: float
    weight: float


def _path_years(data: dict[str, Any], scenario: Scenario, s: int, path: Path) -> list[_Year] | None:
    """A path's yearly figures in a scenario, or None when it breaks a red line."""
    service = data["services"][s]
    modes = {m["id"]: m for m in data["modes"]}
    fixed = (data.get("constraints") or {}).get("fixed", {}).get(service["id"])
    starts = {t for _, t in path.starts}
    before = service["current_mode"]
    out = []
    for t, index in enumerate(path.years):
        option = service["options"][index]
        mode = option["mode"]
        if service.get("statutory") and modes[mode].get("ceases_service"):
            return None
        if fixed is not None and mode != fixed:
            return None
        changed = mode != before
        out.append(
            _Year(
                option=option,
                mode=mode,
                cost=annual_cost(data, scenario, option, t),
                changed=changed,
                paid=float(option.get("transition_cost", 0.0)) if t in starts and changed else 0.0,
                fee=path.fee if path.broken == t else 0.0,
                weight=float(service.get("weight", 1.0)),
            )
        )
        before = mode
    return out


def _figure(row: _Year, name: str, weighted: bool) -> float:
    if name == "annual_cost":
        return row.cost
    if name == "transition_cost":
        return row.paid
    value = row.option.get(name, row.option.get("metrics", {}).get(name, 0.0))
    if name == "outcome" and weighted:
        return row.weight * float(value)
    return float(value)


def _le(lhs: float, rhs: float | None) -> bool:
    return rhs is None or lhs <= rhs + ROW_TOL * max(1.0, abs(rhs))


def _ge(lhs: float, rhs: float | None) -> bool:
    return rhs is None or lhs >= rhs - ROW_TOL * max(1.0, abs(rhs))


def plan_value(
    data: dict[str, Any], scenario: Scenario, rows_by_service: Sequence[list[_Year]]
) -> float | None:
    """A plan's discounted objective in a scenario, or None when it breaks a limit there."""
    horizon = data["horizon"]
    rate = float(horizon.get("discount_rate", 0.035))
    modes = {m["id"]: m for m in data["modes"]}
    cons = scenario.constraints
    objective = data.get("objective", "maximise_outcome")
    first_use: dict[str, int] = {}
    for t in range(horizon["years"]):
        for rows in rows_by_service:
            first_use.setdefault(rows[t].mode, t)
    total = 0.0
    for t in range(horizon["years"]):
        year = [rows[t] for rows in rows_by_service]
        spend = sum(r.cost for r in year)
        setup = sum(float(modes[m].get("setup_cost", 0.0)) for m, y in first_use.items() if y == t)
        paid = sum(r.paid for r in year)
        fees = sum(r.fee for r in year)
        outcome = sum(r.weight * float(r.option["outcome"]) for r in year)
        checks = [
            _le(spend, value_at(cons.get("budget"), t)),
            _le(paid + setup + fees, value_at(cons.get("transition_budget"), t)),
            _le(sum(r.changed for r in year), value_at(cons.get("max_changes"), t)),
            _ge(outcome, value_at(cons.get("min_outcome"), t)),
        ]
        floor = value_at(cons.get("min_flexibility"), t)
        if floor is not None:
            flexible = sum(r.cost * (float(r.option.get("flexibility", 0.0)) - floor) for r in year)
            checks.append(_ge(flexible, 0.0))
        for mode in modes.values():
            users = [r for r in year if r.mode == mode["id"]]
            checks.append(_le(len(users), value_at(mode.get("max_services"), t)))
            checks.append(_le(sum(r.cost for r in users), value_at(mode.get("max_spend"), t)))
            if users and mode.get("min_services") is not None:
                checks.append(_ge(len(users), float(mode["min_services"])))
        for sector, bounds in (cons.get("sector_share") or {}).items():
            inside = sum(r.cost for r in year if modes[r.mode]["sector"] == sector)
            high, low = value_at(bounds.get("max"), t), value_at(bounds.get("min"), t)
            if high is not None:
                checks.append(_le(inside - high * spend, 0.0))
            if low is not None:
                checks.append(_ge(inside - low * spend, 0.0))
        by_id = {s["id"]: r.mode for s, r in zip(data["services"], year, strict=True)}
        for bundle in (data.get("constraints") or {}).get("same_mode", []):
            checks.append(len({by_id[sid] for sid in bundle}) == 1)
        for limit in cons.get("limits") or []:
            figure = sum(
                _figure(r, limit["metric"], weighted=False)
                for r in year
                if limit.get("mode") in (None, r.mode)
                and limit.get("sector") in (None, modes[r.mode]["sector"])
            )
            checks.append(_le(figure, value_at(limit.get("max"), t)))
            checks.append(_ge(figure, value_at(limit.get("min"), t)))
        if not all(checks):
            return None
        value = _year_objective(objective, year, {"setup_cost": setup, "termination_cost": fees})
        total += (1.0 + rate) ** -t * value
    return total


def _year_objective(objective: Any, year: Sequence[_Year], once: dict[str, float]) -> float:
    """One year's objective: every objective is a weighted sum of figures.

    ``maximise_outcome`` is the weighted outcome; ``minimise_cost`` is annual + transition +
    setup + termination cost; ``once`` holds the year's setup and termination money, which
    belong to no option.
    """
    if objective == "maximise_outcome":
        terms = {"outcome": 1.0}
    elif objective == "minimise_cost":
        terms = dict.fromkeys(("annual_cost", "transition_cost", *once), 1.0)
    else:
        ((_, terms),) = objective.items()
    return sum(
        weight * (once[name] if name in once else sum(_figure(r, name, True) for r in year))
        for name, weight in terms.items()
    )


# ---------------------------------------------------------------------- risk measures
def risk_of(data: dict[str, Any]) -> tuple[str, float]:
    """The risk measure: (``expected`` | ``worst_case`` | ``cvar``, alpha)."""
    risk = data.get("risk", "expected")
    if isinstance(risk, dict):
        ((name, alpha),) = risk.items()
        return str(name), float(alpha)
    return str(risk), 1.0


def combine(
    values: Sequence[float], probabilities: Sequence[float], sense: str, risk: tuple[str, float]
) -> float:
    """Scenario objectives combined by the risk measure, in the objective's own sense."""
    name, alpha = risk
    if name == "expected":
        return sum(p * v for p, v in zip(probabilities, values, strict=True))
    if name == "worst_case":
        return min(values) if sense == "max" else max(values)
    if name != "cvar":
        raise ValueError(f"unknown risk measure {name!r}")
    order = sorted(zip(values, probabilities, strict=True), reverse=sense == "min")
    mass, total = 0.0, 0.0
    for value, probability in order:
        take = min(probability, alpha - mass)
        if take <= 0.0:
            break
        mass += take
        total += take * value
    return total / mass


def better(a: float, b: float | None, sense: str) -> bool:
    """a is strictly better than b (None: nothing yet), beyond the tie tolerance."""
    if b is None:
        return True
    slack = TOL * max(1.0, abs(b))
    return a > b + slack if sense == "max" else a < b - slack


# ---------------------------------------------------------------------- the whole problem
@dataclass
class Answer:
    """The enumerator's answer for one instance (objectives None: no plan exists)."""

    scenarios: list[Scenario]
    sense: str
    risk: tuple[str, float]
    common: list[list[int]]
    """``common[j][k]``: the last year scenarios j and k are indistinguishable (-1: never)."""
    recourse: float | None = None
    """The stochastic (recourse) optimum, combined by the risk measure."""
    recourse_values: list[float] = field(default_factory=list)
    """Each scenario's objective in one optimal recourse plan."""
    recourse_plans: list[tuple[Path, ...]] = field(default_factory=list)
    """One optimal recourse plan: one path per service, per scenario."""
    alone: list[float | None] = field(default_factory=list)
    """Each scenario's own optimum (None: no plan meets its limits)."""
    wait_and_see: float | None = None
    evpi: float | None = None
    feasible_counts: list[int] = field(default_factory=list)
    """How many plans meet each scenario's limits (a size, for the record)."""


def feasible_plans(
    data: dict[str, Any], scenario: Scenario, paths: Sequence[Sequence[Path]]
) -> list[tuple[float, tuple[Path, ...]]]:
    """Every plan (one path per service) that meets a scenario's limits, with its objective."""
    figures: list[list[tuple[Path, list[_Year]]]] = []
    for s, options in enumerate(paths):
        rows = [(p, _path_years(data, scenario, s, p)) for p in options]
        figures.append([(p, r) for p, r in rows if r is not None])
    out = []
    for combination in itertools.product(*figures):
        value = plan_value(data, scenario, [rows for _, rows in combination])
        if value is not None:
            out.append((value, tuple(p for p, _ in combination)))
    return out


def solve(data: dict[str, Any], lead_times: bool = True) -> Answer:
    """The recourse optimum, the wait-and-see value and EVPI of an instance, by enumeration.

    Args:
        data: the instance as parsed from its file (with or without ``scenarios``).
        lead_times: False decides a start in its start year rather than ``lead_time_years``
            earlier (a deliberately wrong rule, for tests that show the right one matters).
    """
    scenarios = scenarios_of(data)
    sense, risk = objective_sense(data), risk_of(data)
    n = len(scenarios)
    common = [[last_common_year(data, a, b) for b in scenarios] for a in scenarios]
    answer = Answer(scenarios, sense, risk, common)
    paths = [service_paths(s, data["horizon"]) for s in data["services"]]
    probabilities = [s.probability for s in scenarios]
    # per scenario: the best plan for each sequence of decisions that others can see
    kept: list[dict[tuple[frozenset[Event], ...], tuple[float, tuple[Path, ...]]]] = []
    for k, scenario in enumerate(scenarios):
        depth = max((common[j][k] for j in range(n) if j != k), default=-1)
        plans = feasible_plans(data, scenario, paths)
        answer.feasible_counts.append(len(plans))
        best: dict[tuple[frozenset[Event], ...], tuple[float, tuple[Path, ...]]] = {}
        for value, plan in plans:
            key = decisions(data, plan, lead_times)[: depth + 1]
            if key not in best or better(value, best[key][0], sense):
                best[key] = (value, plan)
        kept.append(best)
        own = [v for v, _ in best.values()]
        top = None
        for v in own:
            top = v if better(v, top, sense) else top
        answer.alone.append(top)
    if any(v is None for v in answer.alone):
        return answer
    alone = [float(v) for v in answer.alone if v is not None]
    answer.wait_and_see = combine(alone, probabilities, sense, risk)
    best_value: float | None = None
    for chosen in _compatible(kept, common):
        values = [kept[k][key][0] for k, key in enumerate(chosen)]
        value = combine(values, probabilities, sense, risk)
        if better(value, best_value, sense):
            best_value = value
            answer.recourse_values = values
            answer.recourse_plans = [kept[k][key][1] for k, key in enumerate(chosen)]
    answer.recourse = best_value
    if best_value is not None:
        ws = answer.wait_and_see
        answer.evpi = ws - best_value if sense == "max" else best_value - ws
    return answer


def _compatible(
    kept: Sequence[dict[tuple[frozenset[Event], ...], Any]], common: Sequence[Sequence[int]]
) -> Iterable[tuple[tuple[frozenset[Event], ...], ...]]:
    """Every choice of one decision sequence per scenario that is non-anticipative."""

    def extend(
        chosen: tuple[tuple[frozenset[Event], ...], ...],
    ) -> Iterable[tuple[tuple[frozenset[Event], ...], ...]]:
        k = len(chosen)
        if k == len(kept):
            yield chosen
            return
        for key in kept[k]:
            if all(key[: common[j][k] + 1] == chosen[j][: common[j][k] + 1] for j in range(k)):
                yield from extend((*chosen, key))

    yield from extend(())


def is_non_anticipative(
    data: dict[str, Any], plans: Sequence[Sequence[Path]], lead_times: bool = True
) -> bool:
    """Whether one plan per scenario takes the same decisions wherever the scenarios agree."""
    scenarios = scenarios_of(data)
    taken = [decisions(data, plan, lead_times) for plan in plans]
    for j, k in itertools.combinations(range(len(scenarios)), 2):
        depth = last_common_year(data, scenarios[j], scenarios[k])
        if taken[j][: depth + 1] != taken[k][: depth + 1]:
            return False
    return True


def scenario_value(data: dict[str, Any], k: int, plan: Sequence[Path]) -> float | None:
    """One plan's objective in scenario k, or None when it breaks a rule or a limit there."""
    scenario = scenarios_of(data)[k]
    rows = [_path_years(data, scenario, s, p) for s, p in enumerate(plan)]
    if any(r is None for r in rows):
        return None
    return plan_value(data, scenario, [r for r in rows if r is not None])


def materialise(data: dict[str, Any], k: int) -> dict[str, Any]:
    """Scenario k as a plain multi-year instance: limits replaced, factored costs as lists."""
    scenario = scenarios_of(data)[k]
    out = copy.deepcopy({key: v for key, v in data.items() if key not in ("scenarios", "risk")})
    out["constraints"] = copy.deepcopy(scenario.constraints)
    for service in out["services"]:
        for option in service["options"]:
            years = range(data["horizon"]["years"])
            option["annual_cost"] = [annual_cost(data, scenario, option, t) for t in years]
            option.pop("indexation", None)
    return out
