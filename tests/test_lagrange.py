"""The Lagrangian bound and start (:mod:`portfolio.lagrange`).

What is tested:

* **A valid bound.** On small generated instances with every row family the relaxation keeps
  or prices (setup costs and their linking, bundles, sector shares, capacity, budget,
  transition budget, flexibility), solved exactly by every backend, the bound is never below the
  optimum when maximising, never above it when minimising, for the bundle method and the
  subgradient method alike (any prices of the right signs give a valid bound).
* **The LP bound where theory says so.** With the choice rows and one budget row, the choice
  polytope is integral, so the best Lagrangian bound equals the LP bound: 12.8 on a hand case
  whose optimum is 10 (derived in the test), and HiGHS's LP value on a generated instance with
  no setup costs and no bundles.
* **Bundles and setup linking kept exactly.** The groups and the enumerated setups are found on
  the generated instances, so those rows are not priced.
* **Plans.** Every plan it returns passes the independent verifier and is no better than the
  optimum; with a solver for the fixed MIP it closes the gap of a mid-size instance.
* **Determinism.** The same call twice gives the same plan and bound.
* **The pipeline.** A very short time limit on a mid-size instance still returns a verified plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from portfolio import solve
from portfolio.backends import get_backend
from portfolio.formulation import SinglePeriod
from portfolio.generate import random_instance_data
from portfolio.io import instance_from_data
from portfolio.lagrange import Relaxation, lagrangian
from portfolio.params import SolveParams
from portfolio.result import Status, relative_gap
from portfolio.solve import LP_SECONDS_PER_NONZERO


def _instance(services: int, seed: int, *, full: bool = True, minimise: bool = False) -> Any:
    data = random_instance_data(
        services, seed=seed, setup_costs=full, sector_shares=full, bundles=full
    )
    if minimise:
        data["objective"] = "minimise_cost"
    return instance_from_data(data)


HAND = {
    "name": "knapsack hand case",
    "modes": [{"id": "in_house", "sector": "public"}, {"id": "private", "sector": "private"}],
    "services": [
        {
            "id": "a",
            "current_mode": "in_house",
            "options": [
                {"mode": "in_house", "annual_cost": 10, "outcome": 10},
                {"mode": "private", "annual_cost": 4, "outcome": 0},
            ],
        },
        {
            "id": "b",
            "current_mode": "in_house",
            "options": [
                {"mode": "in_house", "annual_cost": 6, "outcome": 7},
                {"mode": "private", "annual_cost": 1, "outcome": 0},
            ],
        },
    ],
    "constraints": {"budget": 13},
    "objective": "maximise_outcome",
}


def test_one_knapsack_row_gives_the_lp_bound_by_hand() -> None:
    """Cheapest choices cost 4 + 1 = 5, leaving 8 of the budget of 13. Upgrading a costs 6 for
    10 (1.67 per unit), b costs 5 for 7 (1.4 per unit). The MIP takes one upgrade: a (10), since
    both cost 11 > 8. The LP takes a fully and 2/5 of b: 10 + 2.8 = 12.8, the Lagrangian dual's
    value too (the choice polytope is integral)."""
    instance = instance_from_data(HAND)
    compiled = SinglePeriod.compile(instance, SolveParams()).compiled
    found = lagrangian(compiled, None, rel_gap=0.0, max_steps=200)
    assert found.bound == pytest.approx(12.8, rel=1e-6)
    assert found.x is not None
    assert compiled.model.objective_value(found.x) == pytest.approx(10.0)
    best = solve(instance, rel_gap=1e-9, prefer="none")
    assert best.objective == pytest.approx(10.0)


def test_the_bound_equals_the_lp_bound_without_setups_or_bundles() -> None:
    instance = _instance(200, seed=11, full=False)
    formulation = SinglePeriod.compile(instance, SolveParams())
    relaxation = Relaxation(formulation.compiled)
    assert relaxation.enumerated.size == 0
    assert relaxation.num_groups == relaxation.num_services
    lp = get_backend("highs").solve(formulation.model, SolveParams(), time_limit=60, relax=True)
    assert lp.status is Status.OPTIMAL
    assert lp.objective is not None
    found = lagrangian(formulation.compiled, None, rel_gap=0.0, max_steps=300, repair=False)
    assert found.bound is not None
    assert found.bound >= lp.objective - 1e-7 * abs(lp.objective)
    assert relative_gap(lp.objective, found.bound) <= 1e-6


def test_bundles_and_setups_are_kept_not_priced() -> None:
    instance = _instance(300, seed=5)
    compiled = SinglePeriod.compile(instance, SolveParams()).compiled
    relaxation = Relaxation(compiled)
    assert relaxation.problem is None
    assert relaxation.enumerated.size == compiled.mode_of_y.shape[0] > 0
    assert relaxation.num_groups < relaxation.num_services  # bundles joined into groups
    kinds = {block.kind for block in compiled.model.blocks
             if relaxation.kept[block.start:block.stop].any()}
    assert kinds == {"choice", "same_mode", "linking"}
    # Every bundle's services share a group.
    ids = {sid: k for k, sid in enumerate(compiled.table.service_ids)}
    for bundle in instance.constraints.same_mode or []:
        assert len({int(relaxation.group[ids[s]]) for s in bundle}) == 1


@pytest.mark.parametrize(("seed", "minimise"), [(1, False), (2, False), (3, True)])
@pytest.mark.parametrize("method", ["bundle", "subgradient"])
def test_the_bound_is_valid_against_every_backend(
    backend: str, seed: int, minimise: bool, method: str
) -> None:
    instance = _instance(40, seed=seed, minimise=minimise)
    compiled = SinglePeriod.compile(instance, SolveParams()).compiled
    found = lagrangian(compiled, None, rel_gap=0.0, max_steps=60, method=method)
    assert found.bound is not None
    best = solve(instance, backend, rel_gap=1e-9, time_limit=120, prefer="none")
    assert best.status is Status.OPTIMAL, best.notes
    assert best.objective is not None
    slack = 1e-7 * max(1.0, abs(best.objective))
    if minimise:
        assert found.bound <= best.objective + slack
    else:
        assert found.bound >= best.objective - slack
    # Its plan is a real plan: verified, and no better than the optimum.
    if found.x is not None:
        formulation = SinglePeriod.compile(instance, SolveParams())
        verdict = formulation.check(found.x)
        assert verdict.ok, verdict.violations
        value = float(verdict.plan.objective)
        assert (value >= best.objective - slack) if minimise else (
            value <= best.objective + slack
        )


@pytest.mark.parametrize(("services", "seed"), [(300, 1), (500, 2)])
def test_the_repaired_plan_verifies(services: int, seed: int) -> None:
    instance = _instance(services, seed=seed)
    formulation = SinglePeriod.compile(instance, SolveParams())
    found = lagrangian(formulation.compiled, None, rel_gap=0.0, max_steps=40)
    assert found.x is not None
    verdict = formulation.check(found.x)
    assert verdict.ok, verdict.violations
    assert found.bound is not None
    # Measured: within 1% of its bound on these instances (a start, not a wild guess).
    assert relative_gap(float(verdict.plan.objective), found.bound) <= 0.01


def test_the_fixed_mip_closes_a_mid_size_gap() -> None:
    instance = _instance(3000, seed=7)
    formulation = SinglePeriod.compile(instance, SolveParams())
    found = lagrangian(
        formulation.compiled, None, rel_gap=1e-4, solver=get_backend("highs"),
        params=SolveParams(rel_gap=1e-4),
    )
    assert found.x is not None
    assert found.bound is not None
    verdict = formulation.check(found.x)
    assert verdict.ok, verdict.violations
    assert relative_gap(float(verdict.plan.objective), found.bound) <= 1e-4
    exact = solve(instance, rel_gap=1e-6, time_limit=120, prefer="none")
    assert exact.objective is not None
    assert exact.objective <= found.bound * (1 + 1e-9)


def test_the_same_call_gives_the_same_plan_and_bound() -> None:
    instance = _instance(400, seed=3)
    compiled = SinglePeriod.compile(instance, SolveParams()).compiled
    first = lagrangian(compiled, None, rel_gap=0.0, max_steps=30)
    second = lagrangian(compiled, None, rel_gap=0.0, max_steps=30)
    assert first.bound == second.bound
    assert first.x is not None
    assert second.x is not None
    np.testing.assert_array_equal(first.x, second.x)


@pytest.mark.slow  # a wall-clock race: on a heavily loaded machine the limit can pass first
def test_a_very_short_limit_on_a_mid_size_instance_returns_a_verified_plan() -> None:
    """12,000 services with every row family: about 570k nonzeros, so a 10 s limit is below
    what the LP phase needs (``LP_SECONDS_PER_NONZERO``; the relaxation of 10,000 such
    services alone takes 13-20 s on a shared 2-core machine), and the Lagrangian's plan is what
    is returned."""
    instance = _instance(12000, seed=9)
    formulation = SinglePeriod.compile(instance, SolveParams())
    assert 10.0 < LP_SECONDS_PER_NONZERO * formulation.model.num_nonzeros
    result = solve(instance, rel_gap=1e-6, time_limit=10.0, prefer="none")
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL), result.notes
    assert result.verified
    assert result.plan is not None
    assert result.bound is not None
    assert result.objective is not None
    assert result.objective <= result.bound * (1 + 1e-9)
