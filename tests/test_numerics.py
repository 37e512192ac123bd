"""Numeric range and precision (issue 12): every backend sees the model as the data say it.

The issue's examples (instances/numerics/) on every backend, their multi-year versions, the range
check at validation, the scaling itself, and a property test that puts budgets exactly on a
random plan's cost (pence on hundreds of millions, mixed with sub-pound costs) and compares
every backend with a brute force in exact rational arithmetic.
"""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio
from conftest import BACKENDS, _available
from portfolio import Status, ValidationError
from portfolio.backends.scaling import scale_for_float
from portfolio.compile import compile_instance
from portfolio.io import instance_from_data, load_instance

ROOT = Path(__file__).resolve().parent.parent
NUMERICS = ROOT / "instances" / "numerics"
INSTALLED = [name for name in BACKENDS if _available(name)]


def _solve(path: Path | dict[str, Any], backend: str) -> portfolio.SolveResult:
    source = copy.deepcopy(path) if isinstance(path, dict) else path
    return portfolio.solve(source, backend=backend)


# ------------------------------------------------------------------ the examples


def test_pence_on_a_100m_budget(backend: str) -> None:
    """Example 1: (b, b) costs exactly 100,000,000 and scores 5 (HiGHS said 3)."""
    result = _solve(NUMERICS / "pence_on_100m.yaml", backend)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.objective == 5
    assert result.plan is not None
    assert result.plan.options == {"s1": 1, "s2": 1}
    assert result.bound == pytest.approx(5)


def test_pence_on_a_100m_budget_a_penny_less(backend: str) -> None:
    """One penny less and only (b, a) fits (99,999,999.99): 3; (b, b) overruns by a penny."""
    data: dict[str, Any] = load_instance(NUMERICS / "pence_on_100m.yaml").model_dump(
        exclude_none=True
    )
    data["constraints"]["budget"] = 99999999.99
    result = _solve(data, backend)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.objective == 3
    assert result.plan is not None
    assert result.plan.options == {"s1": 1, "s2": 0}


def test_pence_on_a_100m_budget_over_two_years(backend: str) -> None:
    """Example 1 over a 2-year horizon, undiscounted: 2 x 5 = 10 (HiGHS said 8)."""
    result = _solve(NUMERICS / "pence_on_100m_multiyear.yaml", backend)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.objective == pytest.approx(10, abs=1e-9)
    assert result.verified


def test_budget_with_seventeen_significant_digits(backend: str) -> None:
    """Example 2: budget 1000000.1234561234 admits s2's 0.1234561234 option: 3 (CBC said 2).

    The row has no exact decimal form a double can carry, so the floating-point backends may
    only call the plan ``feasible`` and say why; CP-SAT proves it with its outer relaxation.
    """
    result = _solve(NUMERICS / "many_digits.yaml", backend)
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE), result.detail
    assert result.objective == 3
    assert result.plan is not None
    assert result.plan.options == {"s1": 0, "s2": 0}
    if result.status is Status.FEASIBLE:
        assert "no exact decimal form" in result.detail


def test_budget_exactly_on_the_only_plan(backend: str) -> None:
    """Example 2: 241164871.657046 = 241164870.27 + 0.648854 + 0.738192 (CBC said infeasible)."""
    result = _solve(NUMERICS / "exact_budget.yaml", backend)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.objective == 3
    assert result.plan is not None
    assert result.plan.options == {"s1": 0, "s2": 0, "s3": 0}


def test_numbers_beyond_the_range_are_a_validation_error() -> None:
    """Example 3: costs of 1e23 are rejected, naming the file, the item and the field."""
    path = NUMERICS / "out_of_range.json"
    with pytest.raises(ValidationError) as caught:
        load_instance(path)
    text = str(caught.value)
    assert "out_of_range.json" in text
    assert "service 's1'" in text
    assert "options[0].annual_cost" in text
    assert "constraints, field 'budget'" in text
    assert "1e+15" in text


@pytest.mark.parametrize(
    ("value", "ok"), [(1e15, True), (-1e15, True), (1.0000000000000002e15, False), (-2e15, False)]
)
def test_range_edge(value: float, ok: bool) -> None:
    """|value| <= 1e15 is accepted, beyond it rejected, for signed figures too."""
    data = {
        "modes": [{"id": "a", "sector": "public"}],
        "services": [
            {
                "id": "s",
                "current_mode": "a",
                "options": [{"mode": "a", "annual_cost": 1, "outcome": 1, "metrics": {"m": value}}],
            }
        ],
    }
    if ok:
        assert instance_from_data(data).services[0].options[0].metrics["m"] == value
    else:
        with pytest.raises(ValidationError, match=r"metrics\.m"):
            instance_from_data(data)


def test_out_of_range_exits_2() -> None:
    """The command line says so in one line per field and exits 2, without a traceback."""
    run = subprocess.run(
        [sys.executable, "-m", "portfolio.cli", "solve", str(NUMERICS / "out_of_range.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "must be at most 1e+15" in run.stderr


# ------------------------------------------------------------------ the scaling itself


def test_scaling_recovers_the_decimals_and_widens_by_half_a_unit() -> None:
    """The budget row of example 1 becomes whole pence (x 2**-p), bound + half a penny."""
    model = compile_instance(load_instance(NUMERICS / "pence_on_100m.yaml")).model
    scaled, scaling = scale_for_float(model)
    budget = next(b for b in model.blocks if b.family == "budget").start
    factor = scaling.row_factor[budget]
    assert scaling.exact[budget]
    assert budget in scaling.widened.tolist()
    pence = scaled.matrix[budget].toarray().ravel() / factor * 100  # back to whole pence
    assert sorted(pence[pence != 0].tolist()) == [1.0, 2.0, 9999999998.0, 9999999999.0]
    assert scaled.row_upper[budget] / factor * 100 == 10000000000.5
    # A power of two apart from whole pence: the scaled values are exact.
    assert np.log2(factor / 100) == np.round(np.log2(factor / 100))
    # Choice rows (equations) keep their form.
    choice = next(b for b in model.blocks if b.family == "choice")
    assert scaled.row_lower[choice.start] == scaled.row_upper[choice.start] == 1.0
    assert scaling.unsafe.size == 0


def test_scaling_flags_rows_without_an_exact_form() -> None:
    """Example 2's budget has no exact decimal form within 2**53 units: listed as unsafe."""
    model = compile_instance(load_instance(NUMERICS / "many_digits.yaml")).model
    scaled, scaling = scale_for_float(model)
    budget = next(b for b in model.blocks if b.family == "budget").start
    assert not scaling.exact[budget]
    assert scaling.unsafe.tolist() == [budget]
    row = np.abs(scaled.matrix[budget].toarray())
    assert 1.0 <= max(row.max(), abs(scaled.row_upper[budget])) < 2.0
    assert "budget" in scaling.note(model)


def test_objective_is_scaled_by_a_power_of_two_and_read_back() -> None:
    """A minimise_cost objective of hundreds of millions is scaled; answers come back in pounds."""
    data: dict[str, Any] = load_instance(NUMERICS / "pence_on_100m.yaml").model_dump(
        exclude_none=True
    )
    data["objective"] = "minimise_cost"
    model = compile_instance(instance_from_data(data)).model
    _, scaling = scale_for_float(model)
    assert scaling.objective_factor == 2.0**-26
    for name in INSTALLED:
        result = _solve(data, name)
        assert result.status is Status.OPTIMAL, (name, result.detail)
        # The cheapest plan is (b, a): 99,999,999.98 + 0.01; optimal means within the gap
        # (1e-7 relative), which (a, a) or (b, b) at 100,000,000 also are.
        assert result.objective is not None
        assert result.bound is not None
        assert 99999999.99 <= result.objective <= 99999999.99 * (1 + 1e-7), name
        assert 99999999.99 * (1 - 1e-7) <= result.bound <= result.objective, name


# ------------------------------------------------------------------ property test


def _pounds(text: Decimal) -> float:
    return float(text)


@st.composite
def edge_instances(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[Decimal]], Decimal]:
    """2-4 services x 2-3 options; costs in pence on £100m-£1bn or below £1; the budget is
    exactly the cost of a random plan (sometimes a penny less)."""
    big = st.integers(100_000_000_00, 1_000_000_000_00).map(lambda p: Decimal(p) / 100)
    small = st.integers(1, 99).map(lambda p: Decimal(p) / 100)
    mid = st.integers(1, 500_000_00).map(lambda p: Decimal(p) / 100)
    money = st.one_of(big, small, mid)
    services = draw(st.integers(2, 4))
    costs: list[list[Decimal]] = []
    specs = []
    for s in range(services):
        count = draw(st.integers(2, 3))
        row = [draw(money) for _ in range(count)]
        costs.append(row)
        options = [
            {"mode": "abc"[k], "annual_cost": _pounds(c), "outcome": draw(st.integers(0, 9))}
            for k, c in enumerate(row)
        ]
        specs.append({"id": f"s{s}", "current_mode": "a", "options": options})
    plan = [draw(st.integers(0, len(row) - 1)) for row in costs]
    budget = sum((costs[s][k] for s, k in enumerate(plan)), Decimal(0))
    if draw(st.booleans()):
        budget -= Decimal("0.01")
    data = {
        "modes": [
            {"id": "a", "sector": "public"},
            {"id": "b", "sector": "private"},
            {"id": "c", "sector": "voluntary"},
        ],
        "services": specs,
        "constraints": {"budget": _pounds(budget)},
    }
    return data, costs, budget


def _exact_optimum(data: dict[str, Any], costs: list[list[Decimal]], budget: Decimal) -> int | None:
    """Best total outcome over every plan whose cost, in exact rationals, fits the budget."""
    limit = Fraction(budget)
    best: int | None = None
    for plan in itertools.product(*(range(len(row)) for row in costs)):
        if sum(Fraction(costs[s][k]) for s, k in enumerate(plan)) > limit:
            continue
        value = sum(data["services"][s]["options"][k]["outcome"] for s, k in enumerate(plan))
        best = value if best is None else max(best, value)
    return best


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same 20 cases on every run: CI is reproducible
    suppress_health_check=[HealthCheck.too_slow],
)
@given(edge_instances())
def test_every_backend_agrees_with_exact_arithmetic(
    case: tuple[dict[str, Any], list[list[Decimal]], Decimal],
) -> None:
    data, costs, budget = case
    expected = _exact_optimum(data, costs, budget)
    for name in INSTALLED:
        result = _solve(data, name)
        if name in ("scip", "cbc") and result.status is Status.ERROR:
            # SCIP tests rows relative to their total (1e-6), and CBC now and then returns a
            # plan a penny over on rows of 1e10 units and more: the check must then reject it
            # (README, "Known limits"), never report it as a plan.
            assert "failed verification" in result.detail, result.detail
            assert result.plan is None
            continue
        if expected is None:
            assert result.status is Status.INFEASIBLE, (name, result.detail)
            continue
        assert result.status is Status.OPTIMAL, (name, result.detail)
        assert result.objective == expected, name
        assert result.plan is not None
        spent = sum((costs[s][k] for s, k in enumerate(result.plan.options.values())), Decimal(0))
        assert spent <= budget, name
