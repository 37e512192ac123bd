"""Seeded random multi-year instances, for tests, benchmarks and scale studies.

Built on :func:`portfolio.generate.random_instance_data` (council-like services and options), with
a horizon, a budget that falls each year, existing contracts that lock some services (some
breakable at a fee), lead times on outsourcing options and cost indexation on contracts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from portfolio.generate import random_instance_data

#: Modes whose options need procurement: they get lead times and indexation.
PROCURED = ("private", "voluntary", "jv", "mutual")


def random_multi_year_data(
    services: int,
    *,
    years: int = 5,
    start_year: int = 2027,
    seed: int = 0,
    options: tuple[int, int] = (6, 8),
    first_cut: float = 0.01,
    yearly_cut: float = 0.015,
    locked_share: float = 0.4,
    carbon_cut: float = 0.0,
    **single: Any,
) -> dict[str, Any]:
    """A random multi-year instance as plain data (the canonical file structure).

    Args:
        services: number of services.
        years: horizon length.
        start_year: calendar year of the first horizon year.
        seed: random seed; the same arguments give the same instance.
        options: inclusive range of options per service.
        first_cut: the first year's budget is today's spend (the current arrangements) less
            this share (most changes need a lead time, so the first year cannot save much).
        yearly_cut: the budget falls by this share of today's spend each further year.
        locked_share: share of services with an existing contract (``current_contract_end``);
            half of those can be broken at a fee of about a year's saving.
        carbon_cut: when positive, a yearly cap of the kind that makes a small council's plan
            hard to prove optimal (the example borough's carbon cap): every option gets a
            ``carbon_t`` figure, the same for all of a service's options except about half the
            options of about half the services, which emit 10-40% less; a
            ``limits`` row caps each year's total at today's less ``carbon_cut`` times
            t / (years - 1) (today's in the first year, the whole cut by the last). 0 (the
            default) adds neither, and the instance is the one the other arguments give.
        **single: further arguments of :func:`~portfolio.generate.random_instance_data`.
    """
    data = random_instance_data(services, options=options, seed=seed, **single)
    rng = np.random.default_rng(seed + 7919)
    data["name"] = f"random council, {services} services, {years} years, seed {seed}"
    data["horizon"] = {"start_year": start_year, "years": years, "discount_rate": 0.035}
    for service in data["services"]:
        opts = service["options"]
        for option in opts:
            if option["mode"] in PROCURED:
                option["lead_time_years"] = int(rng.integers(0, min(2, years - 1) + 1))
                option["indexation"] = float(rng.choice([0.02, 0.025, 0.03]))
        if rng.random() < locked_share:
            # Today's arrangement is an outsourced contract (when one exists) with years left,
            # in a mode without market capacity limits (today's arrangements respect them).
            contracted = [
                i
                for i, o in enumerate(opts)
                if o["mode"] not in ("in_house", "voluntary", "community", "mutual")
            ]
            if contracted:
                chosen = contracted[int(rng.integers(len(contracted)))]
                opts[chosen]["current"] = True
                opts[chosen].pop("lead_time_years", None)
                service["current_mode"] = opts[chosen]["mode"]
            service["current_contract_end"] = start_year + int(rng.integers(0, years + 2))
            if rng.random() < 0.5:
                annual = opts[0]["annual_cost"]
                service["termination_cost"] = round(float(annual * rng.uniform(0.05, 0.2)), 1)
    constraints = data["constraints"]
    today = 0.0
    for service in data["services"]:
        current = [o for o in service["options"] if o.get("current")]
        today += (current or service["options"])[0]["annual_cost"]
    constraints["budget"] = [
        round(today * (1 - first_cut - t * yearly_cut), 1) for t in range(years)
    ]
    transition = float(constraints["transition_budget"])
    constraints["transition_budget"] = [
        round(transition * (1.5 if t == 0 else 1.0), 1) for t in range(years)
    ]
    constraints["max_changes"] = max(1, services // 8)
    if carbon_cut > 0:
        _add_carbon_cap(data, years, carbon_cut, np.random.default_rng(seed + 104729))
    return data


def _add_carbon_cap(
    data: dict[str, Any], years: int, carbon_cut: float, rng: np.random.Generator
) -> None:
    """Give every option a ``carbon_t`` figure and cap each year's total (see
    :func:`random_multi_year_data`'s ``carbon_cut``)."""
    today = 0.0
    for service in data["services"]:
        base = float(np.round(rng.lognormal(5.5, 0.8), -1)) + 10.0
        greener = rng.random() < 0.5
        for option in service["options"]:
            carbon = base
            if greener and not option.get("current") and rng.random() < 0.5:
                carbon = float(np.round(base * (1 - rng.uniform(0.1, 0.4)), -1))
            option.setdefault("metrics", {})["carbon_t"] = carbon
        today += base
    share = [t / max(1, years - 1) for t in range(years)]
    caps = [round(today * (1 - carbon_cut * f), 1) for f in share]
    data["constraints"].setdefault("limits", []).append({"metric": "carbon_t", "max": caps})


def random_multi_year_instance(services: int, **kwargs: Any) -> Any:
    """A validated random multi-year :class:`~portfolio.domain.Instance`."""
    from portfolio.domain import Instance

    return Instance.from_data(
        random_multi_year_data(services, **kwargs), source=f"<random multi-year {services}>"
    )
