"""An independent brute-force oracle for single-period portfolio instances.

It enumerates every combination of options (one per service) with ``itertools.product`` and
checks each constraint of DESIGN.md exactly as written there, on the parsed instance dict (as
loaded from YAML/JSON/TOML). It deliberately does NOT import ``portfolio``: it is the independent
check that the solvers, the compiler and the verifier are measured against. Keep it simple and
obviously correct; it is meant for instances of up to about 8^6 combinations.

Semantics (DESIGN.md, "The canonical instance file" and "Conventions"):

* defaults: service ``weight`` 1, ``statutory`` false; option ``transition_cost`` 0; any figure an
  option does not give is 0; mode ``setup_cost`` 0; objective ``maximise_outcome``.
* a service *changes* when the chosen option's mode differs from its ``current_mode``; only then is
  the option's ``transition_cost`` paid (in the transition budget, in ``minimise_cost``, and when
  ``transition_cost`` is named in a ``limits`` row or a weighted objective).
* a mode is *used* when at least one service chooses an option in it; its ``setup_cost`` is then
  paid once (transition budget, ``minimise_cost``).
* budget: sum of annual_cost <= budget.
* transition_budget: sum of transition_cost of changing services + setup_cost of used modes <= it.
* min_flexibility f: sum over services of annual_cost * (flexibility - f) >= 0 (spend-weighted).
* min_outcome: sum of weight * outcome >= it.
* max_changes: number of changing services <= it.
* sector_share {sector: {min, max}}: S = total annual spend, s = annual spend in modes of that
  sector; s <= max * S and s >= min * S. When S is 0 both sides are 0 and the shares are treated as
  satisfied (the linear rows are, too).
* same_mode: every service of a bundle chooses an option in one and the same mode.
* fixed {service: mode}: the service's chosen option is in that mode.
* statutory: a statutory service never chooses an option in a mode with ``ceases_service: true``.
* limits rows {metric, max?, min?, mode?, sector?}: the sum of the figure over the chosen options
  whose mode is ``mode`` (if given) and whose mode's sector is ``sector`` (if given) lies within
  [min, max]. A figure is the option's own field (annual_cost, transition_cost, outcome,
  flexibility, social_value, risk, staff_transferred, contract_years, lead_time_years), else its
  ``metrics`` entry, else 0. ``outcome`` is the raw option outcome here (the service weight
  applies only to the objective and to ``min_outcome``).
* modes: ``max_services`` (count of services using it), ``max_spend`` (annual spend in it),
  ``min_services`` (if used at all, at least that many services use it).
* objective ``maximise_outcome`` = sum weight * outcome; ``minimise_cost`` = annual_cost +
  transition_cost (changing services) + setup_cost (used modes); weighted
  ``{maximise|minimise: {figure: w}}`` = sum over services of sum_figure w * figure, the ``outcome``
  figure multiplied by the service weight.

Constraints are checked with a relative tolerance of 1e-9 (of the larger of 1 and the magnitudes
involved). Among optimal plans (objective within the same tolerance of the best), ``brute_force``
returns the first in ``itertools.product`` order; ``all_optima`` returns them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

REL_TOL = 1e-9

#: Option fields that are figures (DESIGN.md: "the option's own field if it has one").
OPTION_FIELDS = (
    "annual_cost",
    "transition_cost",
    "outcome",
    "flexibility",
    "social_value",
    "risk",
    "staff_transferred",
    "contract_years",
    "lead_time_years",
)

Answer = tuple[str, float | None, dict[str, int] | None]


def _num(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _le(lhs: float, rhs: float, scale: float = 0.0) -> bool:
    """lhs <= rhs up to the relative tolerance."""
    return lhs <= rhs + REL_TOL * max(1.0, abs(lhs), abs(rhs), scale)


def _ge(lhs: float, rhs: float, scale: float = 0.0) -> bool:
    """lhs >= rhs up to the relative tolerance."""
    return _le(rhs, lhs, scale)


def figure(option: dict[str, Any], name: str, changed: bool) -> float:
    """A named figure of an option: own field, else metrics entry, else 0.

    ``transition_cost`` counts only when the service changes mode.
    """
    if name == "transition_cost" and not changed:
        return 0.0
    if name in OPTION_FIELDS:
        return _num(option.get(name))
    return _num((option.get("metrics") or {}).get(name))


def _objective_spec(data: dict[str, Any]) -> tuple[str, Any]:
    """('maximise_outcome' | 'minimise_cost' | 'maximise' | 'minimise', terms or None)."""
    objective = data.get("objective", "maximise_outcome")
    if objective is None:
        objective = "maximise_outcome"
    if isinstance(objective, str):
        name = {"maximize_outcome": "maximise_outcome", "minimize_cost": "minimise_cost"}.get(
            objective, objective
        )
        if name not in ("maximise_outcome", "minimise_cost"):
            raise ValueError(f"unknown objective {objective!r}")
        return name, None
    spelled = {
        {"maximize": "maximise", "minimize": "minimise"}.get(k, k): v for k, v in objective.items()
    }
    if len(spelled) != 1 or next(iter(spelled)) not in ("maximise", "minimise"):
        raise ValueError(f"unknown objective {objective!r}")
    sense, terms = next(iter(spelled.items()))
    return sense, {str(k): float(v) for k, v in terms.items()}


def _evaluate(data: dict[str, Any], choice: tuple[int, ...]) -> float | None:
    """Objective value of the plan ``choice`` (option index per service), or None if infeasible."""
    services = data["services"]
    modes = {mode["id"]: mode for mode in data["modes"]}
    constraints = data.get("constraints") or {}

    chosen = [service["options"][index] for service, index in zip(services, choice, strict=True)]
    changed = [
        option["mode"] != service["current_mode"]
        for service, option in zip(services, chosen, strict=True)
    ]
    weights = [_num(service.get("weight", 1.0)) for service in services]
    annual = [_num(option["annual_cost"]) for option in chosen]
    outcome = [_num(option["outcome"]) for option in chosen]
    transition = [
        _num(option.get("transition_cost")) if change else 0.0
        for option, change in zip(chosen, changed, strict=True)
    ]
    used_modes = {option["mode"] for option in chosen}
    setup = sum(_num(modes[m].get("setup_cost")) for m in used_modes)
    total_annual = sum(annual)

    # statutory: never a ceasing mode
    for service, option in zip(services, chosen, strict=True):
        if service.get("statutory", False) and modes[option["mode"]].get("ceases_service", False):
            return None

    # fixed red lines
    for service_id, mode_id in (constraints.get("fixed") or {}).items():
        index = next(i for i, s in enumerate(services) if s["id"] == service_id)
        if chosen[index]["mode"] != mode_id:
            return None

    # same_mode bundles
    position = {service["id"]: i for i, service in enumerate(services)}
    for bundle in constraints.get("same_mode") or []:
        if len({chosen[position[service_id]]["mode"] for service_id in bundle}) > 1:
            return None

    # budget
    if constraints.get("budget") is not None and not _le(
        total_annual, float(constraints["budget"])
    ):
        return None

    # transition budget (transition on change + setup of used modes)
    if constraints.get("transition_budget") is not None and not _le(
        sum(transition) + setup, float(constraints["transition_budget"])
    ):
        return None

    # flexibility: sum c * (f - fmin) >= 0
    if constraints.get("min_flexibility") is not None:
        fmin = float(constraints["min_flexibility"])
        flex = [_num(option.get("flexibility")) for option in chosen]
        lhs = sum(c * (f - fmin) for c, f in zip(annual, flex, strict=True))
        scale = sum(c * f for c, f in zip(annual, flex, strict=True)) + fmin * total_annual
        if not _ge(lhs, 0.0, scale):
            return None

    # outcome floor
    if constraints.get("min_outcome") is not None and not _ge(
        sum(w * o for w, o in zip(weights, outcome, strict=True)), float(constraints["min_outcome"])
    ):
        return None

    # max changes
    if constraints.get("max_changes") is not None and sum(changed) > int(
        constraints["max_changes"]
    ):
        return None

    # sector shares of total annual spend (all satisfied when the total is 0)
    for sector, bounds in (constraints.get("sector_share") or {}).items():
        spend = sum(
            c
            for c, option in zip(annual, chosen, strict=True)
            if modes[option["mode"]]["sector"] == sector
        )
        if bounds.get("max") is not None and not _le(
            spend, float(bounds["max"]) * total_annual, total_annual
        ):
            return None
        if bounds.get("min") is not None and not _ge(
            spend, float(bounds["min"]) * total_annual, total_annual
        ):
            return None

    # generic limits rows
    for row in constraints.get("limits") or []:
        value = 0.0
        for option, change in zip(chosen, changed, strict=True):
            if row.get("mode") is not None and option["mode"] != row["mode"]:
                continue
            if row.get("sector") is not None and modes[option["mode"]]["sector"] != row["sector"]:
                continue
            value += figure(option, row["metric"], change)
        if row.get("max") is not None and not _le(value, float(row["max"])):
            return None
        if row.get("min") is not None and not _ge(value, float(row["min"])):
            return None

    # market capacity of each mode
    for mode_id, mode in modes.items():
        count = sum(1 for option in chosen if option["mode"] == mode_id)
        spend = sum(
            c for c, option in zip(annual, chosen, strict=True) if option["mode"] == mode_id
        )
        if mode.get("max_services") is not None and count > int(mode["max_services"]):
            return None
        if mode.get("max_spend") is not None and not _le(spend, float(mode["max_spend"])):
            return None
        if mode.get("min_services") is not None and 0 < count < int(mode["min_services"]):
            return None

    # objective
    sense, terms = _objective_spec(data)
    if sense == "maximise_outcome":
        return sum(w * o for w, o in zip(weights, outcome, strict=True))
    if sense == "minimise_cost":
        return total_annual + sum(transition) + setup
    value = 0.0
    for weight, option, change in zip(weights, chosen, changed, strict=True):
        for name, coefficient in terms.items():
            amount = figure(option, name, change)
            if name == "outcome":
                amount *= weight
            value += coefficient * amount
    return value


def _is_maximise(data: dict[str, Any]) -> bool:
    return _objective_spec(data)[0] in ("maximise_outcome", "maximise")


def feasible_plans(data: dict[str, Any]) -> Iterator[tuple[float, tuple[int, ...]]]:
    """Every feasible plan as (objective, option index per service), in product order."""
    ranges = [range(len(service["options"])) for service in data["services"]]
    for choice in itertools.product(*ranges):
        value = _evaluate(data, choice)
        if value is not None:
            yield value, choice


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def all_optima(data: dict[str, Any]) -> tuple[str, float | None, list[dict[str, int]]]:
    """('optimal', objective, every optimal assignment) or ('infeasible', None, [])."""
    maximise = _is_maximise(data)
    best: float | None = None
    plans: list[tuple[float, tuple[int, ...]]] = []
    for value, choice in feasible_plans(data):
        plans.append((value, choice))
        if best is None or (value > best if maximise else value < best):
            best = value
    if best is None:
        return "infeasible", None, []
    ids = [service["id"] for service in data["services"]]
    optima = [dict(zip(ids, choice, strict=True)) for value, choice in plans if _same(value, best)]
    return "optimal", best, optima


def brute_force(data: dict[str, Any]) -> Answer:
    """Solve by enumeration.

    Returns:
        ('optimal', objective, {service id: option index}) or ('infeasible', None, None).
    """
    status, best, optima = all_optima(data)
    if status == "infeasible":
        return "infeasible", None, None
    return "optimal", best, optima[0]
