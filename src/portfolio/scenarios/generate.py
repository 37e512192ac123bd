"""Seeded random multi-year instances with a tree of funding scenarios, for tests and
benchmarks."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from portfolio.multiyear.generate import random_multi_year_data


def random_scenario_data(
    services: int,
    *,
    years: int = 5,
    branching: tuple[int, ...] = (3, 3),
    seed: int = 0,
    cut: float = 0.01,
    inflation: float = 0.04,
    **multi_year: Any,
) -> dict[str, Any]:
    """A random multi-year council (:func:`~portfolio.multiyear.generate.random_multi_year_data`)
    with a scenario tree: the scenarios part in years 1, 2, ... into ``branching[k]`` branches
    each (a 3 x 3 tree has 9 scenarios), every branch a funding level (the budget ``cut`` lower
    or higher from that year on, or unchanged) and, for its private sector, a cost factor
    (``inflation`` higher or lower from that year on). Probabilities are equal within a split.

    Args:
        services: number of services.
        years: horizon length (more than ``len(branching)``).
        branching: the number of branches at each split, the splits in years 1, 2, ...
        seed: random seed; the same arguments give the same instance.
        cut: a branch's budget change, as a share of the budget, from its year on.
        inflation: a branch's private cost change, as a share, from its year on.
        **multi_year: further arguments of the multi-year generator.
    """
    if len(branching) >= years:
        raise ValueError("the scenarios must part before the horizon's last year")
    data = random_multi_year_data(services, years=years, seed=seed, **multi_year)
    rng = np.random.default_rng(seed + 104729)
    budget = [float(b) for b in data["constraints"]["budget"]]
    # Give the base a little room, so that the harder branches keep a plan.
    budget = [b * (1 + cut) for b in budget]
    data["constraints"]["budget"] = [round(b, 1) for b in budget]
    scenarios: list[dict[str, Any]] = []
    # One random size per branch of the tree (a branch is a path prefix), so that scenarios
    # sharing a branch share its data and the tree is exactly ``branching``.
    jitters: dict[tuple[int, ...], float] = {}
    for path in itertools.product(*(range(k) for k in branching)):
        probability = float(np.prod([1.0 / k for k in branching]))
        factor_budget = [1.0] * years
        factor_cost = [1.0] * years
        for split, branch in enumerate(path):
            k = branching[split]
            level = (branch - (k - 1) / 2) / max(1, (k - 1) / 2)  # -1 .. 1
            prefix = path[: split + 1]
            if prefix not in jitters:
                jitters[prefix] = float(rng.uniform(0.8, 1.2))
            jitter = jitters[prefix]
            for t in range(split + 1, years):
                factor_budget[t] *= 1 - cut * level * jitter
                factor_cost[t] *= 1 + inflation * level * jitter / 2
        scenarios.append(
            {
                "name": "s" + "".join(str(b) for b in path),
                "probability": probability,
                "constraints": {
                    "budget": [round(b * f, 1) for b, f in zip(budget, factor_budget, strict=True)]
                },
                "cost_factor": {"private": [round(f, 4) for f in factor_cost]},
            }
        )
    total = sum(float(s["probability"]) for s in scenarios)
    scenarios[-1]["probability"] += 1.0 - total
    data["scenarios"] = scenarios
    data["name"] = (
        f"random council, {services} services, {years} years, "
        f"{len(scenarios)} scenarios, seed {seed}"
    )
    return data
