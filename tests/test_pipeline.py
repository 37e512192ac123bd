"""The one solve pipeline: the formulation an instance's axes choose, why a solve stopped, and the
structured parts of a result (notes, the year-by-year plan, batch rows' enums)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import portfolio
from portfolio.executors import INPUT, ErrorKind, ItemResult
from portfolio.formulation import Axis, SinglePeriod
from portfolio.multiyear.formulation import MultiYear
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.result import Status, StopReason
from portfolio.solve import INTERRUPTED_NOTE, formulation_for


def test_the_formulation_follows_the_instance_axes(examples: Path) -> None:
    single = portfolio.load_instance(examples / "example_borough.yaml")
    multi = portfolio.load_instance(examples / "example_borough_multiyear.yaml")
    assert formulation_for(single) is SinglePeriod
    assert SinglePeriod.axes == (Axis.SERVICES,)
    assert formulation_for(multi) is MultiYear
    assert MultiYear.axes == (Axis.SERVICES, Axis.YEARS)


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("budget_binds.yaml", Status.OPTIMAL, StopReason.GAP_REACHED),
        ("infeasible_budget.yaml", Status.INFEASIBLE, StopReason.COMPLETED),
    ],
)
def test_stop_reason_says_why_the_solve_ended(
    examples: Path, name: str, status: Status, reason: StopReason
) -> None:
    result = portfolio.solve(examples / "small" / name)
    assert result.status is status
    assert result.stop_reason is reason
    out = result.to_dict()
    assert out["stop_reason"] == reason.value
    assert out["detail"] == result.detail == "; ".join(result.notes)


def test_a_solve_cancelled_before_it_starts_is_interrupted(examples: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    result = portfolio.solve(examples / "small" / "budget_binds.yaml", cancel=cancel)
    assert result.status is Status.TIME_LIMIT_NO_SOLUTION
    assert result.stop_reason is StopReason.INTERRUPTED
    assert result.notes[0] == INTERRUPTED_NOTE
    assert result.detail.startswith("interrupted")
    assert result.to_dict()["stop_reason"] == "interrupted"


def test_a_limit_spent_reading_is_a_time_limit(examples: Path) -> None:
    result = portfolio.solve(examples / "example_borough.yaml", time_limit=1e-9)
    assert result.status is Status.TIME_LIMIT_NO_SOLUTION
    assert result.stop_reason is StopReason.TIME_LIMIT
    assert "ran out while" in result.detail


def test_multi_year_result_carries_the_year_by_year_plan() -> None:
    data = random_multi_year_data(6, years=3, seed=2)
    result = portfolio.solve(data)
    assert result.status is Status.OPTIMAL
    assert result.stop_reason is StopReason.GAP_REACHED
    assert isinstance(result.multi_year, portfolio.MultiYearPlan)
    assert result.plan is not None
    out = result.to_dict()
    assert {"schedule", "contracts", "years"} <= out.keys()
    assert len(out["years"]) == 3
    # The first year's arrangement is the plan.
    assert out["assignment"] == {service: modes[0] for service, modes in out["schedule"].items()}


def test_batch_rows_hold_enums_and_write_plain_strings() -> None:
    row = ItemResult(0, "x", "h", "error", error="x: bad", error_kind="input")
    assert row.status is Status.ERROR
    assert row.error_kind is ErrorKind.INPUT is INPUT
    assert not row.has_plan
    data = row.to_file_dict()
    assert type(data["status"]) is str
    assert data["status"] == "error"
    assert type(data["error_kind"]) is str
    assert data["error_kind"] == "input"
    assert json.loads(json.dumps(data))["error_kind"] == "input"
    solved = ItemResult(1, "y", "h", Status.FEASIBLE)
    assert solved.has_plan
    assert solved.status == "feasible"
