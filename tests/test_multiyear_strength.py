"""What makes the multi-year model stronger (models/multi_year.md): the ``arrangement`` rows,
implied by the network, change neither the optimum (every backend, against the model without
them) nor the LP relaxation; the knapsack reduction leaves out only (option, year) pairs no
feasible plan runs (against the brute force's every plan) and keeps the optimum on every backend.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.backends import get_backend
from portfolio.domain import Instance
from portfolio.infeasibility import explain_multi_year
from portfolio.io import load_instance
from portfolio.linear import LinearModel
from portfolio.multiyear import compile_multi_year
from portfolio.multiyear.compile import knapsack_forbidden
from portfolio.multiyear.generate import random_multi_year_instance
from test_multiyear_bruteforce import enumerate_paths, evaluate, random_case

SEEDS = range(16)
BOROUGH = Path(__file__).resolve().parents[1] / "instances" / "example_borough_multiyear.yaml"


def _without(model: LinearModel, kind: str) -> LinearModel:
    """The model without the rows of one family (the last block)."""
    block = model.blocks[-1]
    assert block.kind == kind
    return replace(
        model,
        matrix=model.matrix[: block.start],
        row_lower=model.row_lower[: block.start],
        row_upper=model.row_upper[: block.start],
        blocks=model.blocks[:-1],
    )


def _relaxed(model: LinearModel) -> LinearModel:
    return replace(model, integrality=np.zeros(model.num_cols, dtype=np.bool_))


def _solve(model: LinearModel, backend: str) -> tuple[Status, float | None]:
    result = get_backend(backend).solve(model, SolveParams(), time_limit=60)
    return result.status, result.objective


def _assert_same_optimum(first: LinearModel, second: LinearModel, backend: str) -> None:
    """Both models have the same status and, when feasible, the same optimum."""
    answers = [_solve(model, backend) for model in (first, second)]
    statuses = {status for status, _ in answers}
    # CP-SAT rounds non-decimal data conservatively: it may only prove "feasible".
    assert len(statuses) == 1 or statuses <= {Status.OPTIMAL, Status.FEASIBLE}
    if Status.INFEASIBLE in statuses:
        return
    values = [value for _, value in answers]
    assert None not in values
    assert values[0] == pytest.approx(values[1], rel=1e-7, abs=1e-7)


def test_one_row_per_service_and_year_over_its_activities() -> None:
    data: dict[str, Any] = random_case(5)
    instance = Instance.from_data(data, source="<case 5>")
    compiled = compile_multi_year(instance)
    model = compiled.model
    lay = compiled.layout
    block = model.blocks[-1]
    assert block.kind == "arrangement"
    years = lay.table.years
    services = lay.table.num_services
    assert block.stop - block.start == services * years
    rows = model.matrix[block.start : block.stop].toarray()
    np.testing.assert_array_equal(model.row_lower[block.start : block.stop], 1.0)
    np.testing.assert_array_equal(model.row_upper[block.start : block.stop], 1.0)
    for s in range(services):
        for t in range(years):
            row = rows[s * years + t]
            mine = lay.act_offset + np.flatnonzero((lay.act_service == s) & (lay.act_year == t))
            assert set(np.flatnonzero(row).tolist()) == set(mine.tolist())
            assert (row[mine] == 1.0).all()
    assert block.items is not None
    assert block.items[0] == f"{lay.table.service_ids[0]}@{lay.table.horizon.start_year}"


@pytest.mark.parametrize("seed", SEEDS)
def test_arrangement_rows_keep_the_optimum(seed: int, backend: str) -> None:
    instance = Instance.from_data(random_case(seed), source=f"<case {seed}>")
    model = compile_multi_year(instance).model
    _assert_same_optimum(model, _without(model, "arrangement"), backend)


@pytest.mark.parametrize("seed", SEEDS)
def test_arrangement_rows_leave_the_lp_relaxation_alone(seed: int) -> None:
    """Implied by flow and activity: the LP relaxation has the same optimum with them."""
    pytest.importorskip("highspy", reason="the LP relaxation is solved with HiGHS")
    instance = Instance.from_data(random_case(seed), source=f"<case {seed}>")
    model = compile_multi_year(instance).model
    status_with, bound_with = _solve(_relaxed(model), "highs")
    status_without, bound_without = _solve(_relaxed(_without(model, "arrangement")), "highs")
    assert status_with is status_without
    if status_with is not Status.OPTIMAL:
        return
    assert bound_with is not None
    assert bound_without is not None
    assert bound_with == pytest.approx(bound_without, rel=1e-9, abs=1e-7)


@pytest.mark.parametrize(
    "instance",
    [
        pytest.param(lambda: load_instance(BOROUGH), id="borough"),
        pytest.param(
            lambda: random_multi_year_instance(
                30, years=4, seed=0, setup_costs=True, sector_shares=True, bundles=True
            ),
            id="random-30x4-full",
        ),
    ],
)
def test_every_point_of_the_lp_relaxation_meets_them(instance: Any) -> None:
    """The LP optimum of the model without the rows satisfies them (the network implies them)."""
    highspy = pytest.importorskip("highspy", reason="the LP relaxation is solved with HiGHS")
    assert highspy is not None
    model = compile_multi_year(instance()).model
    block = model.blocks[-1]
    result = get_backend("highs").solve(
        _relaxed(_without(model, "arrangement")), SolveParams(), time_limit=60
    )
    assert result.status is Status.OPTIMAL
    assert result.x is not None
    activity = model.matrix[block.start : block.stop] @ result.x
    np.testing.assert_allclose(activity, 1.0, atol=1e-6)


# ---------------------------------------------------------------------- the knapsack reduction
#: Seeds of the brute-force suite's tiny feasible instances whose yearly rows forbid some
#: (option, year).
KNAPSACK_SEEDS = (0, 1, 2, 3, 5, 9, 15, 20, 21, 24, 26, 27, 28, 29, 33, 36)


@pytest.mark.parametrize("seed", KNAPSACK_SEEDS)
def test_no_feasible_plan_runs_a_forbidden_option_year(seed: int) -> None:
    """Against every plan of the brute force: a forbidden (option, year) is in no feasible plan."""
    data = random_case(seed)
    instance = Instance.from_data(data, source=f"<case {seed}>")
    forbidden = knapsack_forbidden(compile_multi_year(instance, reduce=False))
    compiled = compile_multi_year(instance)
    assert compiled.forbidden > 0
    assert int(forbidden.sum()) <= compiled.forbidden
    table = compiled.table
    per_service = [enumerate_paths(s, data["horizon"]) for s in data["services"]]
    feasible = 0
    ran = np.zeros_like(forbidden)
    for choice in itertools.product(*per_service):
        if evaluate(data, choice) is None:
            continue
        feasible += 1
        for s, path in enumerate(choice):
            for t, local in enumerate(path["years"]):
                ran[int(table.first_option[s]) + local, t] = True
    assert feasible > 0
    full = compile_multi_year(instance, reduce=False)
    allowed = np.zeros_like(forbidden)
    allowed[full.layout.act_option, full.layout.act_year] = True
    reduced = np.zeros_like(forbidden)
    reduced[compiled.layout.act_option, compiled.layout.act_year] = True
    # Every (option, year) some feasible plan runs is still in the reduced model ...
    assert not (ran & ~reduced).any()
    # ... and the reduction left out some the unreduced model has.
    assert (allowed & ~reduced).any()


@pytest.mark.parametrize("seed", KNAPSACK_SEEDS)
def test_knapsack_reduction_keeps_the_optimum(seed: int, backend: str) -> None:
    instance = Instance.from_data(random_case(seed), source=f"<case {seed}>")
    full = compile_multi_year(instance, reduce=False)
    reduced = compile_multi_year(instance)
    assert reduced.forbidden > 0
    _assert_same_optimum(full.model, reduced.model, backend)


def _hand_case(**constraints: Any) -> Instance:
    """Two services, two years, budget [210, 200]. The cheapest choices cost 100 + 80 = 180, so
    year 0 has 30 of room and year 1 has 20. s0: 'a' 100, 'b' 125 (25 more: fits year 0 only).
    s1: 'c' 80, 'd' 95 (15 more: fits both). The carbon cap of 50 reads only 'c' (60 t), which
    breaks it whatever s0 does: 'c' runs in no year. s1's cheapest is then 'd' (95): year 0
    has 210 - 195 = 15 of room, too little for 'b' there too."""
    data = {
        "name": "knapsack by hand",
        "horizon": {"start_year": 2027, "years": 2, "discount_rate": 0.0},
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
        ],
        "services": [
            {
                "id": "s0",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "label": "a", "annual_cost": 100, "outcome": 50},
                    {"mode": "private", "label": "b", "annual_cost": 125, "outcome": 70},
                ],
            },
            {
                "id": "s1",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "label": "c", "annual_cost": 80, "outcome": 50,
                     "metrics": {"carbon_t": 60}},
                    {"mode": "private", "label": "d", "annual_cost": 95, "outcome": 55},
                ],
            },
        ],
        "constraints": {
            "budget": [210, 200],
            "limits": [{"metric": "carbon_t", "max": 50}],
            **constraints,
        },
    }
    return Instance.from_data(data, source="<knapsack by hand>")


def test_hand_derived_forbidden_pairs() -> None:
    instance = _hand_case()
    compiled = compile_multi_year(instance)
    table = compiled.table
    runs = {
        (table.option_label(int(o)), int(t))
        for o, t in zip(compiled.layout.act_option, compiled.layout.act_year, strict=True)
    }
    a, b, c, d = (table.option_label(i) for i in range(4))
    # Round 1: 'c' in both years (carbon), 'b' in year 1 (25 > 20). Round 2, with s1's cheapest
    # now 'd' (95): year 0 has 210 - 195 = 15 of room, so 'b' (25 more) goes there too.
    assert runs == {(a, 0), (a, 1), (d, 0), (d, 1)}
    assert compiled.forbidden == 4
    result = portfolio.solve(instance, params=SolveParams(prefer="none"))
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(2 * (50 + 55))


def test_an_infeasible_instance_is_explained_over_every_arc() -> None:
    """The reduction holds only under every limit, and an explanation relaxes limits: with no
    change of mode allowed, s1 can only keep 'c', which the carbon cap forbids. Relaxing the cap
    is a way out that the reduced model (without 'c') would not show."""
    instance = _hand_case(max_changes=0)
    assert compile_multi_year(instance).forbidden > 0
    result = portfolio.solve(instance, params=SolveParams(prefer="none"))
    assert result.status is Status.INFEASIBLE
    assert result.explanation is not None
    expected = explain_multi_year(compile_multi_year(instance, reduce=False), 30)
    assert result.explanation.summary == expected.summary
    assert result.explanation.relaxations == expected.relaxations
    assert any("limits" in str(r) for r in expected.relaxations)
