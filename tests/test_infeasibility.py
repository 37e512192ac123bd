"""The elastic explanation, one module for every horizon: hand-derived relaxations.

Every service below has a single option, so the plan is forced and the smallest relaxation can be
worked out by hand: latc is used by one service where ``min_services`` asks for 2 (relax by 1);
voluntary has 40 of 100 spent where its share must be at least 0.5 (to 0.4); carbon is 70 where
the limit is 50 (to 70). Over a two-year horizon the same holds each year, named by year.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.infeasibility import explain_infeasibility, explain_multi_year
from portfolio.multiyear import compile_multi_year

ROOT = Path(__file__).resolve().parent.parent


def _data(horizon: bool) -> dict[str, Any]:
    def service(sid: str, mode: str, cost: float, carbon: float) -> dict[str, Any]:
        option = {"mode": mode, "annual_cost": cost, "outcome": 1, "metrics": {"carbon_t": carbon}}
        return {"id": sid, "current_mode": mode, "options": [option]}

    data: dict[str, Any] = {
        "modes": [
            {"id": "latc", "sector": "public", "min_services": 2},
            {"id": "voluntary", "sector": "voluntary"},
            {"id": "private", "sector": "private"},
        ],
        "services": [
            service("a", "latc", 50, 30),
            service("b", "voluntary", 40, 40),
            service("c", "private", 10, 0),
        ],
        "constraints": {
            "sector_share": {"voluntary": {"min": 0.5}},
            "limits": [{"metric": "carbon_t", "max": 50}],
        },
    }
    if horizon:
        data["horizon"] = {"start_year": 2027, "years": 2, "discount_rate": 0.0}
    return data


def _moves(explanation: portfolio.Explanation) -> dict[str, tuple[float, float]]:
    return {r.constraint: (r.current, r.needed) for r in explanation.relaxations}


def test_single_period_relaxations_are_named_as_in_the_file() -> None:
    instance = portfolio.Instance.from_data(_data(horizon=False))
    explanation = explain_infeasibility(instance, 30)
    assert _moves(explanation) == {
        "modes.latc.min_services": (2.0, 1.0),
        "sector_share.voluntary.min": pytest.approx((0.5, 0.4)),
        "limits[0] (carbon_t).max": (50.0, 70.0),
    }
    assert explanation.single_fixes == ()  # every one of the three must move


def test_multi_year_relaxations_name_the_limit_and_the_year() -> None:
    instance = portfolio.Instance.from_data(_data(horizon=True))
    explanation = explain_multi_year(compile_multi_year(instance), 30)
    expected: dict[str, Any] = {}
    for year in (2027, 2028):
        # min_services in the mode's own terms (from 2 to 1), as in a single period.
        expected[f"min_services[latc]@{year}"] = (2.0, 1.0)
        expected[f"sector_share[voluntary].min@{year}"] = pytest.approx((0.5, 0.4))
        expected[f"limits[0]@{year}"] = (50.0, 70.0)
    assert _moves(explanation) == expected


def test_solve_explains_both_horizons_through_the_same_module() -> None:
    for horizon in (False, True):
        result = portfolio.solve(_data(horizon), params=SolveParams(time_limit=30))
        assert result.status is Status.INFEASIBLE
        assert result.explanation is not None
        assert len(result.explanation.relaxations) == (6 if horizon else 3)


def test_a_bundle_with_no_common_mode_is_reported_once() -> None:
    path = ROOT / "instances" / "small" / "infeasible_bundle_no_common_mode.yaml"
    instance = portfolio.load_instance(path)
    explanation = explain_infeasibility(instance, 30)
    assert explanation.relaxations == ()
    assert explanation.structural == (
        "same_mode[0] (waste, street_cleansing) cannot be met: the services share no usable mode",
    )
