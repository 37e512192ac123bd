"""Property-based tests: valid instances give verified plans or explained infeasibility; corrupted
instances give validation errors naming the item and field, never a traceback."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio
from oracle import brute_force
from portfolio import Status, ValidationError
from portfolio.generate import random_instance_data

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw: st.DrawFn) -> dict[str, Any]:
    services = draw(st.integers(2, 5))
    data = random_instance_data(
        services,
        modes=draw(st.integers(2, 6)),
        options=(2, 4),
        seed=draw(st.integers(0, 10_000)),
        setup_costs=draw(st.booleans()),
        sector_shares=draw(st.booleans()),
        bundles=draw(st.booleans()),
        budget_cut=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.4])),
    )
    constraints = data["constraints"]
    if draw(st.booleans()):
        constraints["max_changes"] = draw(st.integers(0, services))
    if draw(st.booleans()):
        constraints["min_outcome"] = draw(st.floats(0, 80 * services, allow_nan=False))
    if draw(st.booleans()):
        data["objective"] = draw(
            st.sampled_from(["minimise_cost", {"maximise": {"outcome": 1.0, "fte": -0.1}}])
        )
    return data


@SETTINGS
@given(instances())
def test_valid_instance_gives_verified_plan_or_explained_infeasibility(
    data: dict[str, Any],
) -> None:
    result = portfolio.solve(copy.deepcopy(data))
    expected_status, expected_objective, _ = brute_force(copy.deepcopy(data))
    assert result.status.value == expected_status, result.detail
    if result.status is Status.OPTIMAL:
        assert result.verified
        assert result.objective == pytest.approx(expected_objective, rel=1e-6, abs=1e-6)
    else:
        assert result.explanation is not None
        assert result.explanation.summary


CORRUPTIONS: list[tuple[str, Any]] = [
    ("annual_cost", -5.0),
    ("annual_cost", math.nan),
    ("annual_cost", math.inf),
    ("annual_cost", "cheap"),
    ("flexibility", 1.5),
    ("flexibility", -0.1),
    ("mode", "nowhere"),
    ("outcome", None),
    ("transition_cost", -1.0),
    ("unknown_field", 3),
]


@SETTINGS
@given(
    seed=st.integers(0, 1000),
    corruption=st.sampled_from(CORRUPTIONS),
    service=st.integers(0, 3),
)
def test_corrupted_option_names_item_and_field(
    seed: int, corruption: tuple[str, Any], service: int
) -> None:
    data = random_instance_data(4, seed=seed, options=(2, 3))
    field, value = corruption
    data["services"][service]["options"][1][field] = value
    with pytest.raises(ValidationError) as info:
        portfolio.instance_from_data(data, source="corrupt.yaml")
    service_id = data["services"][service]["id"]
    messages = [str(issue) for issue in info.value.issues]
    assert any(
        f"service '{service_id}'" in m and f"options[1].{field}" in m and "corrupt.yaml" in m
        for m in messages
    ), messages
