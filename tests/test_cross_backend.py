"""Cross-backend agreement on seeded random instances of the canonical format.

Every backend must return the same optimal objective (1e-6 relative) with a verified plan, or all
must prove infeasibility. Small instances are also checked against the brute-force oracle.
"""

from __future__ import annotations

import copy

import pytest

import portfolio
from oracle import brute_force
from portfolio import SolveParams, Status
from portfolio.generate import random_instance_data

#: The tie-break among equally good plans (prefer="changes": two more exact solves) never changes
#: a status or an objective, which is all the tests here compare; it is tested in test_prefer.py.
#: It stays on in test_same_plan_twice, whose subject is the default path's determinism.
NO_TIE_BREAK = SolveParams(prefer="none")

FEATURES = [
    {},
    {"setup_costs": True},
    {"sector_shares": True},
    {"bundles": True},
    {"setup_costs": True, "sector_shares": True, "bundles": True, "budget_cut": 0.09},
]


def _cases() -> list[tuple[int, int, dict[str, bool]]]:
    return [
        (services, seed, features) for seed, features in enumerate(FEATURES) for services in (6, 40)
    ]


@pytest.mark.parametrize(("services", "seed", "features"), _cases())
def test_backends_agree(services: int, seed: int, features: dict[str, bool]) -> None:
    data = random_instance_data(services, seed=seed, options=(3, 5), **features)
    outcomes = {}
    for name in portfolio.available_backends():
        result = portfolio.solve(
            copy.deepcopy(data), backend=name, params=NO_TIE_BREAK.with_(time_limit=60)
        )
        assert result.status in (Status.OPTIMAL, Status.INFEASIBLE), (name, result.detail)
        if result.status is Status.OPTIMAL:
            assert result.verified, name
        outcomes[name] = result
    statuses = {r.status for r in outcomes.values()}
    assert len(statuses) == 1, {n: r.status for n, r in outcomes.items()}
    if Status.OPTIMAL in statuses:
        reference = outcomes["highs"].objective
        for name, result in outcomes.items():
            assert result.objective == pytest.approx(reference, rel=1e-6), name
    if services <= 6:
        status, objective, _ = brute_force(copy.deepcopy(data))
        assert status == next(iter(statuses)).value
        if objective is not None:
            assert outcomes["highs"].objective == pytest.approx(objective, rel=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_tight_budgets_agree_on_infeasibility(seed: int) -> None:
    """Budgets cut hard enough to be infeasible: every backend proves it, and explains it."""
    data = random_instance_data(8, seed=100 + seed, options=(3, 4), budget_cut=0.5)
    for name in portfolio.available_backends():
        result = portfolio.solve(copy.deepcopy(data), backend=name)
        assert result.status is Status.INFEASIBLE, (name, result.detail)
        assert result.explanation is not None
        names = {r.constraint for r in result.explanation.relaxations}
        assert "budget" in names
    assert brute_force(copy.deepcopy(data))[0] == "infeasible"


def test_same_plan_twice() -> None:
    """Determinism: the same instance and parameters give the same plan."""
    data = random_instance_data(300, seed=11, setup_costs=True, sector_shares=True)
    first = portfolio.solve(copy.deepcopy(data))
    second = portfolio.solve(copy.deepcopy(data))
    assert first.require_plan().options == second.require_plan().options
    assert first.objective == second.objective


@pytest.mark.parametrize(
    "features", [{}, {"setup_costs": True, "sector_shares": True, "bundles": True}]
)
def test_heuristic_start_agrees_with_plain_search(features: dict[str, bool]) -> None:
    """The LP-guided start (used from 2,000 columns up) changes speed, never the answer."""
    data = random_instance_data(600, seed=21, **features)
    with_start = portfolio.solve(copy.deepcopy(data), params=NO_TIE_BREAK.with_(rel_gap=1e-9))
    without = portfolio.solve(
        copy.deepcopy(data), params=NO_TIE_BREAK.with_(rel_gap=1e-9, heuristic=False)
    )
    assert "LP-guided start" in with_start.detail
    assert with_start.status is Status.OPTIMAL
    assert without.status is Status.OPTIMAL
    assert with_start.objective == pytest.approx(without.objective, rel=1e-8)


def test_heuristic_plan_within_gap_is_returned_as_optimal() -> None:
    """With a loose gap the heuristic's plan, within the gap of the LP bound, is final."""
    data = random_instance_data(1500, seed=3)
    result = portfolio.solve(data, params=NO_TIE_BREAK.with_(rel_gap=1e-3))
    assert result.status is Status.OPTIMAL
    assert result.verified
    assert result.gap is not None
    assert result.gap <= 1e-3
    exact = portfolio.solve(
        random_instance_data(1500, seed=3), params=NO_TIE_BREAK.with_(rel_gap=1e-9)
    )
    assert result.objective >= exact.objective * (1 - 1e-3)
    assert result.bound >= exact.objective - 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_heuristic_bound_is_a_true_bound(seed: int) -> None:
    """The heuristic's plan is never better than the optimum, and its bound (LP bound tightened by
    reduced-cost fixing) is never below it."""
    from portfolio.compile import compile_instance
    from portfolio.heuristic import lp_guided_start

    data = random_instance_data(1000, seed=seed, sector_shares=bool(seed % 2))
    instance = portfolio.instance_from_data(copy.deepcopy(data))
    exact = portfolio.solve(
        instance, params=NO_TIE_BREAK.with_(rel_gap=0.0, heuristic=False)
    )
    assert exact.status is Status.OPTIMAL
    found = lp_guided_start(compile_instance(instance), SolveParams(rel_gap=1e-12), None)
    assert found is not None
    compiled = compile_instance(instance)
    value = compiled.model.objective_value(found.x)
    assert value <= exact.objective + 1e-6
    assert found.bound is not None
    assert found.bound >= exact.objective - 1e-6
    assert portfolio.verify_plan(instance, compiled.decode(found.x)).ok
