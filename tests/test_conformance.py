"""Conformance: every backend reproduces the hand-derived answers of instances/small/.

Each small instance makes one constraint family bind (see tests/conformance_cases.py); the
brute-force oracle re-derives the same answers independently (tests/test_oracle_cases.py).
"""

from __future__ import annotations

import pytest
import yaml

import portfolio
from conformance_cases import CASES, Case
from oracle import brute_force
from portfolio import SolveParams, Status


@pytest.mark.parametrize("case", CASES, ids=[c.file.removesuffix(".yaml") for c in CASES])
def test_small_instance(case: Case, backend: str) -> None:
    result = portfolio.solve(case.path, backend=backend, params=SolveParams(time_limit=60))
    assert result.status.value == case.status, result.detail
    if case.status == "infeasible":
        assert result.plan is None
        assert result.explanation is not None
        assert result.explanation.relaxations or result.explanation.structural
        return
    assert result.verified
    assert result.objective == pytest.approx(case.objective, rel=1e-6, abs=1e-6)
    plan = result.require_plan()
    if case.options is not None:
        assert plan.options == case.options
        assert plan.assignment == case.assignment


RELAXABLE = [c for c in CASES if c.relax is not None]


@pytest.mark.parametrize("case", RELAXABLE, ids=[c.file.removesuffix(".yaml") for c in RELAXABLE])
def test_family_binds(case: Case) -> None:
    """Removing the family's key changes the oracle's answer: the case really tests it."""
    assert case.relax is not None
    data = yaml.safe_load(case.path.read_text())
    node = data
    *parents, last = case.relax
    for key in parents:
        if isinstance(node, list):
            node = next(item for item in node if item.get("id") == key)
        else:
            node = node[key]
    if isinstance(node, list):
        node.remove(next(item for item in node if item.get("id") == last))
    else:
        del node[last]
    relaxed = brute_force(data)
    assert (relaxed[0], relaxed[1]) != (case.status, case.objective)


def test_time_limit_without_plan_is_reported(backend: str) -> None:
    """A tiny limit on a large instance stops the solve; the status says so, no plan is invented."""
    from portfolio.generate import random_instance

    instance = random_instance(3000, seed=5, setup_costs=True, sector_shares=True, bundles=True)
    params = SolveParams(time_limit=0.5, heuristic=False)
    result = portfolio.solve(instance, backend=backend, params=params)
    assert result.status in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION, Status.OPTIMAL)
    if result.plan is not None:
        assert result.verified
    assert result.timings.total < 0.5 * 1.1 + 2 + 1.0  # the limit is kept (with slack for CI)
