"""Option dominance in multi-year models (``compile_multi_year(instance, reduce=True)``).

Each seeded tiny instance of the brute-force suite gets dominated twins of its options (an exact
copy, a dearer copy, a copy with less outcome, a copy with a dearer transition) and a few that
only look dominated (a dearer copy where a sector's minimum share or the flexibility floor makes
spending more useful). The reduced and the unreduced model must have the same optimum on every
backend, and the reduction must drop what is provably dominated and keep what is not.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

from portfolio import SolveParams, Status
from portfolio.backends import get_backend
from portfolio.domain import Instance
from portfolio.multiyear import compile_multi_year
from portfolio.multiyear.dominance import dominated_options
from portfolio.multiyear.generate import random_multi_year_instance
from test_multiyear_bruteforce import random_case

SEEDS = range(24)


def _with_twins(seed: int) -> tuple[dict[str, Any], list[int]]:
    """A tiny instance with twins of its options, and the global index of each twin that is an
    exact copy of a non-current option (always dropped, when a red line does not rule it out)."""
    data = random_case(seed)
    rng = random.Random(1000 + seed)
    copies = []
    first = 0
    for service in data["services"]:
        count = len(service["options"])
        extra = []
        for option in service["options"][1:]:  # option 0 is the current (in-house) option
            twin = copy.deepcopy(option)
            change = rng.choice(["copy", "cost", "outcome", "transition", "flexibility"])
            if change == "copy":
                copies.append(first + count + len(extra))
            elif change == "cost":
                twin["annual_cost"] = round(twin["annual_cost"] * 1.1 + 1, 1)
            elif change == "outcome":
                twin["outcome"] = max(0, twin["outcome"] - 3)
            elif change == "transition":
                twin["transition_cost"] = twin.get("transition_cost", 0) + 5
            else:
                twin["flexibility"] = round(max(0.0, twin["flexibility"] - 0.1), 2)
            extra.append(twin)
        service["options"].extend(extra)
        first += len(service["options"])
    return data, copies


def _solve_model(model: Any, backend: str) -> tuple[Status, float | None]:
    result = get_backend(backend).solve(model, SolveParams(), time_limit=60)
    return result.status, result.objective


def _options(compiled: Any) -> set[int]:
    """The options with an arc in a compiled model."""
    return set(np.unique(compiled.layout.arcs.option).tolist())


def _dropped(instance: Instance) -> int:
    """Options dominance leaves out (reduce=True also applies the knapsack reduction, which can
    take every arc of an option that no feasible plan runs: counted apart)."""
    full = compile_multi_year(instance, reduce=False)
    reduced = compile_multi_year(instance, reduce=True)
    assert _options(reduced) <= _options(full)
    lay = full.layout
    dominated = dominated_options(
        full.model, full.table, lay.arcs, lay.act_option, lay.act_year, lay.act_offset
    )
    assert not (set(np.flatnonzero(dominated).tolist()) & _options(reduced))
    return int(dominated.sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_reduced_model_has_the_same_optimum(seed: int, backend: str) -> None:
    data, copies = _with_twins(seed)
    instance = Instance.from_data(data, source=f"<twins {seed}>")
    full = compile_multi_year(instance, reduce=False)
    reduced = compile_multi_year(instance)
    copied = _options(full) & set(copies)
    assert not copied & _options(reduced)
    status_full, best_full = _solve_model(full.model, backend)
    status_reduced, best_reduced = _solve_model(reduced.model, backend)
    # CP-SAT rounds non-decimal data conservatively: it may only prove "feasible".
    assert status_full in (Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE)
    assert status_reduced is status_full or {status_full, status_reduced} <= {
        Status.OPTIMAL,
        Status.FEASIBLE,
    }
    if status_full is Status.INFEASIBLE:
        return
    assert best_full is not None
    assert best_reduced is not None
    assert best_reduced == pytest.approx(best_full, rel=1e-7, abs=1e-7)


def test_reduce_false_is_the_model_of_every_option() -> None:
    data, _ = _with_twins(3)
    instance = Instance.from_data(data, source="<twins 3>")
    full = compile_multi_year(instance, reduce=False)
    options = np.unique(full.layout.arcs.option[full.layout.arcs.kind == 0])
    allowed = np.flatnonzero(full.table.allowed_options())
    # Every allowed option that can start in the horizon has arcs in the unreduced model.
    startable = allowed[full.table.lead[allowed] < full.table.years]
    assert set(startable.tolist()) <= set(options.tolist())


def _two_services(extra: dict[str, Any], dearer: dict[str, Any]) -> Instance:
    """Two services; s0 offers a private option and a dearer private copy."""
    private = {
        "mode": "private",
        "annual_cost": 80,
        "outcome": 60,
        "flexibility": 0.5,
        "metrics": {"fte": 2},
    }
    data = {
        "horizon": {"start_year": 2027, "years": 2},
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
            {"id": "mutual", "sector": "voluntary"},
        ],
        "services": [
            {
                "id": "s0",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 100, "outcome": 50, "flexibility": 0.9},
                    private,
                    {**private, **dearer},
                ],
            },
            {
                "id": "s1",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 100, "outcome": 50, "flexibility": 0.9},
                    {"mode": "mutual", "annual_cost": 90, "outcome": 55, "flexibility": 0.6},
                ],
            },
        ],
        "constraints": {"budget": 400, **extra},
    }
    return Instance.from_data(data, source="<two services>")


@pytest.mark.parametrize(
    ("extra", "dearer", "dropped"),
    [
        ({}, {"annual_cost": 90}, 1),  # dearer, same outcome: dominated
        ({}, {"annual_cost": 90, "outcome": 61}, 0),  # dearer but better: kept
        # A private share ceiling: a dearer private option uses more of it: dominated.
        ({"sector_share": {"private": {"max": 0.9}}}, {"annual_cost": 90}, 1),
        # A voluntary share floor: a dearer private option dilutes it: dominated.
        ({"sector_share": {"voluntary": {"min": 0.1}}}, {"annual_cost": 90}, 1),
        # A private share floor: a dearer private option helps reach it: kept.
        ({"sector_share": {"private": {"min": 0.1}}}, {"annual_cost": 90}, 0),
        # A flexibility floor of 0.4: spending more at flexibility 0.5 helps reach it: kept.
        ({"min_flexibility": 0.4}, {"annual_cost": 90}, 0),
        # ... and at flexibility 0.3, below the floor, more spend hurts: dominated again.
        ({"min_flexibility": 0.4}, {"annual_cost": 90, "flexibility": 0.3}, 1),
        # Cheaper, but with less of a figure that has a minimum: kept.
        ({"limits": [{"metric": "fte", "min": 1}]}, {"annual_cost": 70, "metrics": {"fte": 0}}, 0),
        # ... and with no such minimum: the cheaper copy dominates the original.
        ({}, {"annual_cost": 70, "metrics": {"fte": 0}}, 1),
        # Different contract lengths are different arcs: kept.
        ({}, {"annual_cost": 90, "contract_years": 2}, 0),
    ],
)
def test_dominance_minds_every_row(
    extra: dict[str, Any], dearer: dict[str, Any], dropped: int
) -> None:
    instance = _two_services(extra, dearer)
    assert _dropped(instance) == dropped


def test_generated_instances_keep_their_optimum() -> None:
    """A generated 40-service instance: same LP and MIP optimum with and without reduction."""
    instance = random_multi_year_instance(40, years=3, seed=5)
    full = compile_multi_year(instance, reduce=False)
    reduced = compile_multi_year(instance)
    assert reduced.model.num_cols < full.model.num_cols
    solver = get_backend("highs")
    for relax in (True, False):
        a = solver.solve(full.model, SolveParams(), time_limit=120, relax=relax)
        b = solver.solve(reduced.model, SolveParams(), time_limit=120, relax=relax)
        assert a.status is Status.OPTIMAL
        assert b.status is Status.OPTIMAL
        assert b.objective == pytest.approx(a.objective, rel=1e-7)
