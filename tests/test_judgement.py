"""What may be reported: a plan that fails verification is never reported as a plan."""

from __future__ import annotations

import numpy as np
import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.compile import compile_instance
from portfolio.result import BackendResult
from portfolio.solve import judge_answer
from portfolio.verify import verify_plan


@pytest.fixture
def setting(examples):  # type: ignore[no-untyped-def]
    instance = portfolio.load_instance(examples / "small" / "budget_binds.yaml")
    compiled = compile_instance(instance)

    def verify(x: np.ndarray) -> portfolio.Verification:
        return verify_plan(instance, compiled.decode(x))

    return instance, compiled, verify


def test_plan_breaking_the_budget_is_not_reported(setting) -> None:  # type: ignore[no-untyped-def]
    instance, compiled, verify = setting
    # Both services in house: 150 > budget 140 (see tests/conformance_cases.py).
    over_budget = compiled.encode([0, 0])
    answer = BackendResult(Status.OPTIMAL, over_budget, 0.0, 0.0, detail="claimed optimal")
    judged = judge_answer(answer, verify, None, [], SolveParams())
    assert judged.status is Status.ERROR
    assert judged.verdict is None
    assert any("budget" in v for v in judged.violations)
    limited = BackendResult(Status.FEASIBLE, over_budget, 0.0, None, hit_limit=True)
    assert judge_answer(limited, verify, None, [], SolveParams()).status is (
        Status.TIME_LIMIT_NO_SOLUTION
    )


def test_verified_fallback_is_returned_when_the_solver_fails(setting) -> None:  # type: ignore[no-untyped-def]
    instance, compiled, verify = setting
    good = verify(compiled.encode([0, 1]))
    assert good.ok
    answer = BackendResult(Status.TIME_LIMIT_NO_SOLUTION, None, hit_limit=True)
    judged = judge_answer(answer, verify, good, [], SolveParams())
    assert judged.status is Status.FEASIBLE
    assert judged.objective == 128


def test_optimal_claim_outside_the_gap_is_downgraded(setting) -> None:  # type: ignore[no-untyped-def]
    instance, compiled, verify = setting
    x = compiled.encode([0, 1])  # objective 128
    answer = BackendResult(Status.OPTIMAL, x, 128.0, bound=140.0)
    judged = judge_answer(answer, verify, None, [], SolveParams())
    assert judged.status is Status.FEASIBLE
    assert "not within the gap" in judged.detail
