"""An independent brute-force enumerator of single-period plans (imports nothing from portfolio).

It reads an instance as plain data and follows DESIGN.md literally: one option per service; a
service changes when its option's mode differs from ``current_mode``; ``transition_cost`` is paid
only on a change; a mode's ``setup_cost`` once if any service uses it; ``minimise_cost`` = annual
+ transition + setup; outcome = sum of weight * outcome. Limits understood: budget,
transition_budget (transition + setup), max_changes, min_outcome, mode max_services/max_spend,
``limits`` rows (max/min, filtered by mode or sector), ``fixed``, statutory services never use a
ceasing mode. Instances built for the tests use nothing else.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

TOL = 1e-9


def _figure(option: dict[str, Any], name: str) -> float:
    if name in option:
        return float(option[name])
    return float(option.get("metrics", {}).get(name, 0.0))


def figures(data: dict[str, Any], choice: tuple[int, ...]) -> dict[str, float] | None:
    """Every criterion of one plan (option index per service), or None when it breaks a limit."""
    modes = {m["id"]: m for m in data["modes"]}
    constraints = data.get("constraints", {})
    picked = [s["options"][i] for s, i in zip(data["services"], choice, strict=True)]
    changed = [
        o["mode"] != s["current_mode"] for s, o in zip(data["services"], picked, strict=True)
    ]
    used = {o["mode"] for o in picked}
    annual = sum(float(o["annual_cost"]) for o in picked)
    transition = sum(
        float(o.get("transition_cost", 0.0)) for o, c in zip(picked, changed, strict=True) if c
    )
    setup = sum(float(modes[m].get("setup_cost", 0.0)) for m in used)
    outcome = sum(
        float(s.get("weight", 1.0)) * float(o["outcome"])
        for s, o in zip(data["services"], picked, strict=True)
    )
    for service, option in zip(data["services"], picked, strict=True):
        if service.get("statutory") and modes[option["mode"]].get("ceases_service"):
            return None
        fixed = constraints.get("fixed", {}).get(service["id"])
        if fixed is not None and option["mode"] != fixed:
            return None
    if annual > constraints.get("budget", float("inf")) + TOL:
        return None
    if transition + setup > constraints.get("transition_budget", float("inf")) + TOL:
        return None
    if sum(changed) > constraints.get("max_changes", len(changed)):
        return None
    if outcome < constraints.get("min_outcome", -float("inf")) - TOL:
        return None
    for mode_id, mode in modes.items():
        members = [o for o in picked if o["mode"] == mode_id]
        if len(members) > mode.get("max_services", len(picked)):
            return None
        if sum(float(o["annual_cost"]) for o in members) > mode.get("max_spend", float("inf")):
            return None
    for limit in constraints.get("limits", []):
        rows = [
            o
            for o in picked
            if limit.get("mode", o["mode"]) == o["mode"]
            and limit.get("sector", modes[o["mode"]]["sector"]) == modes[o["mode"]]["sector"]
        ]
        total = sum(_figure(o, limit["metric"]) for o in rows)
        if total > limit.get("max", float("inf")) + TOL:
            return None
        if total < limit.get("min", -float("inf")) - TOL:
            return None
    values = {
        "outcome": outcome,
        "cost": annual + transition + setup,
        "annual_cost": annual,
        "one_off": transition + setup,
        "changes": float(sum(changed)),
    }
    names = {k for o in picked for k in o.get("metrics", {})} | {"social_value"}
    for name in names:
        values[name] = sum(_figure(o, name) for o in picked)
    return values


def plans(data: dict[str, Any]) -> Iterator[tuple[tuple[int, ...], dict[str, float]]]:
    """Every feasible plan with its figures."""
    for choice in itertools.product(*(range(len(s["options"])) for s in data["services"])):
        values = figures(data, choice)
        if values is not None:
            yield choice, values


def non_dominated(
    pairs: list[tuple[float, float]], senses: tuple[str, str]
) -> list[tuple[float, float]]:
    """The distinct non-dominated (a, b) pairs, sorted by a then b."""

    def oriented(pair: tuple[float, float]) -> tuple[float, float]:
        a, b = pair
        return (a if senses[0] == "maximise" else -a, b if senses[1] == "maximise" else -b)

    distinct = sorted({(round(a, 6), round(b, 6)) for a, b in pairs})
    keep = []
    for pair in distinct:
        pa, pb = oriented(pair)
        dominated = any(
            qa >= pa and qb >= pb and (qa > pa or qb > pb)
            for qa, qb in (oriented(q) for q in distinct)
        )
        if not dominated:
            keep.append(pair)
    return keep


def random_instance(seed: int) -> dict[str, Any]:
    """A tiny random single-period instance: 3-4 services of 2-4 options, setup costs, limits."""
    rng = random.Random(seed)
    modes = [
        {"id": "in_house", "sector": "public"},
        {"id": "private", "sector": "private"},
        {"id": "voluntary", "sector": "voluntary", "max_services": 2},
        {"id": "latc", "sector": "public", "setup_cost": rng.choice([0, 15, 30])},
        {"id": "jv", "sector": "private", "setup_cost": rng.choice([10, 25])},
    ]
    services = []
    for s in range(rng.randint(3, 4)):
        current = rng.choice(["in_house", "private"])
        options = [
            {
                "mode": current,
                "annual_cost": rng.randint(80, 120),
                "outcome": rng.randint(50, 80),
                "social_value": rng.randint(0, 5),
                "metrics": {"carbon": rng.randint(5, 20)},
            }
        ]
        for _ in range(rng.randint(1, 3)):
            options.append(
                {
                    "mode": rng.choice([m["id"] for m in modes]),
                    "annual_cost": rng.randint(60, 130),
                    "transition_cost": rng.choice([0, 5, 10, 20]),
                    "outcome": rng.randint(45, 85) + rng.choice([0, 0.5]),
                    "social_value": rng.randint(0, 8),
                    "metrics": {"carbon": rng.randint(2, 25)},
                }
            )
        services.append(
            {
                "id": f"s{s}",
                "current_mode": current,
                "weight": rng.choice([1.0, 1.0, 2.0]),
                "options": options,
            }
        )
    constraints: dict[str, Any] = {}
    if rng.random() < 0.5:
        constraints["max_changes"] = rng.randint(1, 3)
    if rng.random() < 0.5:
        constraints["limits"] = [{"metric": "carbon", "max": rng.randint(30, 60)}]
    if rng.random() < 0.3:
        constraints["transition_budget"] = rng.randint(20, 60)
    return {
        "name": f"tiny frontier {seed}",
        "modes": modes,
        "services": services,
        "constraints": constraints,
    }
