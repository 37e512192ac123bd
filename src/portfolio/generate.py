"""Seeded random council-like instances, for tests, benchmarks and scale studies.

The shapes follow ``shared/reference/council-facts.md``: outsourcing saves 5-20% at the price of
flexibility and transition costs, shared services and trading companies carry setup costs, the
voluntary sector has limited capacity. Figures are rounded to one decimal so that every backend,
CP-SAT included, can scale them exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: (id, sector, cost factor, outcome shift, flexibility, transition share of annual cost, setup)
MODES: tuple[tuple[str, str, float, float, float, float, float], ...] = (
    ("in_house", "public", 1.00, 0.0, 0.90, 0.00, 0.0),
    ("private", "private", 0.88, -3.0, 0.35, 0.08, 0.0),
    ("voluntary", "voluntary", 0.92, 1.0, 0.60, 0.05, 0.0),
    ("shared", "public", 0.90, -1.0, 0.55, 0.06, 1.0),
    ("latc", "public", 0.94, 0.5, 0.70, 0.05, 1.0),
    ("community", "community", 0.80, -4.0, 0.80, 0.03, 0.0),
    ("mutual", "voluntary", 0.93, 1.5, 0.65, 0.05, 0.0),
    ("jv", "private", 0.91, -1.5, 0.45, 0.07, 1.0),
)


def random_instance_data(
    services: int,
    *,
    modes: int = 6,
    options: tuple[int, int] = (6, 8),
    seed: int = 0,
    setup_costs: bool = False,
    sector_shares: bool = False,
    bundles: bool = False,
    capacity: bool = True,
    budget_cut: float = 0.06,
) -> dict[str, Any]:
    """A random instance as plain data (the canonical file structure).

    Args:
        services: number of services.
        modes: number of modes (2 to 8), taken from :data:`MODES` in order.
        options: inclusive range of options per service.
        seed: random seed; the same arguments give the same instance.
        setup_costs: give shared services, trading companies and joint ventures a setup cost
            (one binary per mode and a linking row per option).
        sector_shares: add private max and voluntary min share rows.
        bundles: add same_mode bundles over pairs of services (about 2% of services).
        capacity: cap the voluntary and community modes (services and spend).
        budget_cut: the budget is today's spend less this share.
    """
    if not 2 <= modes <= len(MODES):
        raise ValueError(f"modes must be between 2 and {len(MODES)}")
    rng = np.random.default_rng(seed)
    chosen = MODES[:modes]
    base = np.round(rng.lognormal(mean=7.0, sigma=1.0, size=services), 1)  # ~£1.1m median, in £k
    quality = rng.uniform(40, 80, size=services)
    weights = np.round(rng.uniform(0.5, 2.0, size=services), 1)
    counts = rng.integers(options[0], options[1] + 1, size=services)

    service_list = []
    today = 0.0
    for s in range(services):
        n_options = int(counts[s])
        # in_house always, then modes drawn with repetition (several contracts per mode).
        picks = [0, *rng.integers(0, modes, size=n_options - 1).tolist()]
        opts = []
        for k, m in enumerate(picks):
            mode_id, _, factor, shift, flex, transition, _ = chosen[m]
            noise = rng.uniform(0.9, 1.1)
            length = int(rng.choice([1, 3, 5, 7])) if m else 1
            # Longer contracts are cheaper and less flexible.
            term = 1.0 - 0.01 * length
            cost = round(float(base[s] * factor * noise * term), 1)
            option = {
                "mode": mode_id,
                "annual_cost": cost,
                "transition_cost": round(float(base[s] * transition * rng.uniform(0.5, 1.5)), 1),
                "outcome": round(float(quality[s] + shift + rng.normal(0, 3)), 1),
                "flexibility": round(
                    float(min(1.0, max(0.0, flex - 0.03 * length + rng.normal(0, 0.05)))), 2
                ),
                "contract_years": length,
                "metrics": {"fte": round(float(cost / 45.0), 1)},
            }
            if k == 0:
                today += cost
            opts.append(option)
        service_list.append(
            {
                "id": f"s{s:06d}",
                "current_mode": "in_house",
                "weight": float(weights[s]),
                "options": opts,
            }
        )

    mode_list: list[dict[str, Any]] = []
    for mode_id, sector, *_rest, setup in chosen:
        mode: dict[str, Any] = {"id": mode_id, "sector": sector}
        if setup_costs and setup:
            mode["setup_cost"] = round(0.002 * today, 1)
        if capacity and mode_id in ("voluntary", "community"):
            mode["max_services"] = max(1, services // 10)
            mode["max_spend"] = round(0.08 * today, 1)
        mode_list.append(mode)

    constraints: dict[str, Any] = {
        "budget": round(today * (1 - budget_cut), 1),
        "transition_budget": round(0.02 * today, 1),
        "min_flexibility": 0.5,
    }
    if sector_shares:
        constraints["sector_share"] = {"private": {"max": 0.45}}
        if modes >= 3:
            constraints["sector_share"]["voluntary"] = {"min": 0.01}
    if bundles:
        pairs: Any = (
            rng.choice(services, size=(max(1, services // 50), 2), replace=False)
            if services >= 4
            else []
        )
        constraints["same_mode"] = [
            [f"s{a:06d}", f"s{b:06d}"] for a, b in np.asarray(pairs).tolist()
        ]
    return {
        "name": f"random council, {services} services, seed {seed}",
        "currency": "£k",
        "modes": mode_list,
        "services": service_list,
        "constraints": constraints,
        "objective": "maximise_outcome",
    }


def random_instance(services: int, **kwargs: Any) -> Any:
    """A validated random :class:`~portfolio.domain.Instance` (see :func:`random_instance_data`)."""
    from portfolio.domain import Instance

    return Instance.from_data(
        random_instance_data(services, **kwargs), source=f"<random {services}>"
    )
