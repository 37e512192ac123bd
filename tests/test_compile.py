"""The compiled model, row family by row family, against coefficients derived by hand."""

from __future__ import annotations

import numpy as np
import pytest

import portfolio
from portfolio.compile import CompiledModel, compile_instance
from portfolio.linear import Sense

BASE = {
    "name": "compile check",
    "modes": [
        {"id": "in_house", "sector": "public"},
        {"id": "private", "sector": "private", "max_services": 1, "max_spend": 500},
        {"id": "shared", "sector": "public", "setup_cost": 30, "min_services": 2},
        {"id": "cease", "sector": "public", "ceases_service": True},
    ],
    "services": [
        {
            "id": "waste",
            "current_mode": "in_house",
            "statutory": True,
            "weight": 2,
            "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 70, "flexibility": 0.9},
                {
                    "mode": "private",
                    "annual_cost": 80,
                    "transition_cost": 10,
                    "outcome": 66,
                    "flexibility": 0.3,
                },
                {"mode": "cease", "annual_cost": 0, "outcome": 0, "flexibility": 1},
            ],
        },
        {
            "id": "parks",
            "current_mode": "in_house",
            "options": [
                {"mode": "in_house", "annual_cost": 50, "outcome": 60, "flexibility": 0.8},
                {
                    "mode": "shared",
                    "annual_cost": 40,
                    "transition_cost": 5,
                    "outcome": 58,
                    "flexibility": 0.7,
                },
            ],
        },
    ],
    "constraints": {
        "budget": 150,
        "transition_budget": 40,
        "min_flexibility": 0.5,
        "max_changes": 1,
        "sector_share": {"private": {"max": 0.6}},
    },
}


def model_of(data: dict) -> tuple[CompiledModel, dict[str, list[int]]]:
    compiled = compile_instance(portfolio.instance_from_data(data))
    families: dict[str, list[int]] = {}
    for block in compiled.model.blocks:
        families.setdefault(block.family, []).extend(range(block.start, block.stop))
    return compiled, families


def row(compiled: CompiledModel, index: int) -> np.ndarray:
    return compiled.model.matrix[index].toarray().ravel()


def test_columns_and_reductions() -> None:
    compiled, _ = model_of(BASE)
    # waste's cease option is gone (statutory); 4 option columns + y[shared].
    assert compiled.removed == {"statutory": 1}
    assert compiled.num_x == 4
    assert compiled.model.num_cols == 5
    assert compiled.model.sense is Sense.MAXIMISE
    # Objective: weight * outcome, 0 on y.
    assert compiled.model.objective.tolist() == [140, 132, 60, 58, 0]


def test_rows_by_family() -> None:
    compiled, families = model_of(BASE)
    model = compiled.model
    (budget,) = families["budget"]
    assert row(compiled, budget).tolist() == [100, 80, 50, 40, 0]
    assert model.row_upper[budget] == 150
    (transition,) = families["transition_budget"]
    # transition cost only on change; setup cost on y.
    assert row(compiled, transition).tolist() == [0, 10, 0, 5, 30]
    (flex,) = families["min_flexibility"]
    assert row(compiled, flex) == pytest.approx([100 * 0.4, 80 * -0.2, 50 * 0.3, 40 * 0.2, 0])
    assert model.row_lower[flex] == 0
    (changes,) = families["max_changes"]
    assert row(compiled, changes).tolist() == [0, 1, 0, 1, 0]
    (share,) = families["sector_share[private].max"]
    assert row(compiled, share) == pytest.approx([100 * -0.6, 80 * 0.4, 50 * -0.6, 40 * -0.6, 0])
    assert model.row_upper[share] == 0
    (count,) = families["capacity_count"]
    assert row(compiled, count).tolist() == [0, 1, 0, 0, 0]
    (spend,) = families["capacity_spend"]
    assert row(compiled, spend).tolist() == [0, 80, 0, 0, 0]
    (minimum,) = families["min_services"]
    assert row(compiled, minimum).tolist() == [0, 0, 0, 1, -2]
    (link,) = families["linking"]
    assert row(compiled, link).tolist() == [0, 0, 0, 1, -1]
    assert len(families["choice"]) == 2


def test_bundle_rows_force_one_mode() -> None:
    data = {**BASE, "constraints": {"same_mode": [["waste", "parks"]]}}
    compiled, families = model_of(data)
    rows = families["same_mode"]
    # Modes offered to either service: in_house, private, shared -> one row each.
    assert len(rows) == 3
    matrix = np.array([row(compiled, r) for r in rows])
    assert matrix.tolist() == [[1, 0, -1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, -1, 0]]


def test_knapsack_reduction_drops_options_that_cannot_fit() -> None:
    data = {**BASE, "constraints": {"budget": 145}}
    # Cheapest plan 80 + 40 = 120; waste in_house needs 100 + 40 = 140 <= 145 (kept);
    data["services"] = [dict(s) for s in BASE["services"]]
    data["services"][1] = {
        **BASE["services"][1],
        "options": [
            *BASE["services"][1]["options"],
            {"mode": "in_house", "annual_cost": 70, "outcome": 90, "flexibility": 0.8},
        ],
    }
    # parks' third option: 80 + 70 = 150 > 145 -> dropped.
    compiled, _ = model_of(data)
    assert compiled.removed.get("knapsack") == 1


def test_dominated_option_is_dropped_and_answer_unchanged() -> None:
    data = {**BASE, "constraints": {"budget": 150}}
    data["services"] = [dict(s) for s in BASE["services"]]
    data["services"][0] = {
        **BASE["services"][0],
        "options": [
            *BASE["services"][0]["options"],
            # dearer, worse and less flexible than the other private option
            {
                "mode": "private",
                "annual_cost": 85,
                "transition_cost": 10,
                "outcome": 65,
                "flexibility": 0.3,
            },
        ],
    }
    compiled, _ = model_of(data)
    assert compiled.removed.get("dominated") == 1
    with_reduction = portfolio.solve(data)
    without = portfolio.solve(data, presolve=False)
    assert with_reduction.objective == without.objective
