"""The multi-year Lagrangian start (``portfolio.multiyear.lagrange``): its path solver against a
brute-force enumeration of every service's paths, its bound against optima every backend agrees
on, its plan through the independent verifier, and the pipeline under a short time limit."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.domain import Instance
from portfolio.linear import Sense
from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.generate import random_multi_year_instance
from portfolio.multiyear.lagrange import Relaxation, lagrangian_start
from portfolio.multiyear.verify import verify_schedule
from test_multiyear import random_multi_year

QUIET = SolveParams(time_limit=60, explain_infeasible=False, prefer="none")


def _compiled(data: dict[str, Any], reduce: bool = True) -> tuple[Instance, MultiYearModel]:
    instance = Instance.from_data(copy.deepcopy(data), source="<test>")
    return instance, compile_multi_year(instance, reduce=reduce)


# ---------------------------------------------------------------------- the path solver
def _all_paths(relax: Relaxation, service: int) -> list[list[int]]:
    """Every source-to-end path of one service, by depth-first search over its arcs."""
    arcs = np.flatnonzero(relax.service_of_arc == service)
    out: dict[int, list[int]] = {}
    for arc in arcs.tolist():
        out.setdefault(int(relax.tail[arc]), []).append(arc)
    end = int(relax.end[service])
    paths: list[list[int]] = []

    def walk(node: int, path: list[int]) -> None:
        if node == end:
            paths.append(list(path))
            return
        for arc in out.get(node, []):
            walk(int(relax.head[arc]), [*path, arc])

    walk(int(relax.supply[service]), [])
    return paths


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_longest_paths_equal_a_brute_force_enumeration(seed: int) -> None:
    _, compiled = _compiled(random_multi_year(seed, services=6, years=3), reduce=False)
    relax = Relaxation(compiled)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        profit = rng.normal(size=relax.num_arcs)
        chosen, values = relax.best_paths(profit)
        for service in range(relax.num_services):
            paths = _all_paths(relax, service)
            assert paths, service
            best = max(sum(profit[a] for a in path) for path in paths)
            assert values[service] == pytest.approx(best, abs=1e-9)
            mine = np.flatnonzero(chosen & (relax.service_of_arc == service)).tolist()
            assert sorted(mine) in [sorted(p) for p in paths]
            assert sum(profit[a] for a in mine) == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_master_adds_each_path_once(seed: int) -> None:
    """The master keeps each service's paths once: a pass whose paths are all known adds none,
    one service's new path adds exactly that path, and every stored path is the arcs of a
    source-to-end path of its service (checked against the enumeration)."""
    from portfolio.multiyear.lagrange import _Master

    _, compiled = _compiled(random_multi_year(seed, services=6, years=3), reduce=False)
    relax = Relaxation(compiled)
    master = _Master(relax)
    rng = np.random.default_rng(seed)
    first, _ = relax.best_paths(rng.normal(size=relax.num_arcs))
    assert master.add(first) == relax.num_services
    assert master.add(first) == 0
    # Another path for service 0 only (the best under profits that favour a path not chosen).
    paths = _all_paths(relax, 0)
    mine = sorted(np.flatnonzero(first & (relax.service_of_arc == 0)).tolist())
    other = next(path for path in paths if sorted(path) != mine)
    second = first.copy()
    second[relax.service_of_arc == 0] = False
    second[other] = True
    only = np.zeros(relax.num_services, dtype=np.bool_)
    only[0] = True
    assert master.add(second, only) == 1
    assert master.add(second) == 0
    service, arcs = master.arrays()
    assert service.tolist() == [*range(relax.num_services), 0]
    stored = [sorted(arcs[:, k].nonzero()[0].tolist()) for k in range(arcs.shape[1])]
    assert stored[-1] == sorted(other)
    assert stored[0] == mine
    for k, owner in enumerate(service.tolist()):
        assert stored[k] in [sorted(p) for p in _all_paths(relax, owner)]
    assert master.num_paths == relax.num_services + 1


# ---------------------------------------------------------------------- the bound
def _optimum(data: dict[str, Any]) -> float:
    """The optimum every available backend agrees on."""
    objectives = []
    for name in portfolio.available_backends():
        result = portfolio.solve(
            copy.deepcopy(data), backend=name, params=QUIET.with_(heuristic=False)
        )
        assert result.status is Status.OPTIMAL or (
            name == "cpsat" and result.status is Status.FEASIBLE
        ), (name, result.detail)
        objectives.append(float(result.objective))
    assert max(objectives) == pytest.approx(min(objectives), rel=1e-6)
    return objectives[0]


@pytest.mark.parametrize(
    ("seed", "services", "objective"),
    [
        (1, 10, None),
        (2, 14, None),  # setup costs and bundles
        (4, 10, None),  # setup costs
        (6, 10, None),  # setup costs and sector shares
        (1, 10, "minimise_cost"),
        (6, 10, "minimise_cost"),
    ],
)
def test_the_lagrangian_bound_is_valid_and_the_plan_verifies(
    seed: int, services: int, objective: str | None
) -> None:
    data = random_multi_year(seed, services=services)
    if objective is not None:
        data["objective"] = objective
    optimum = _optimum(data)
    instance, compiled = _compiled(data)
    relax = Relaxation(compiled)
    sense = compiled.model.sense
    maximising = sense is Sense.MAXIMISE
    # Any multipliers of the right signs give a bound: random ones, and the method's own.
    rng = np.random.default_rng(seed)
    for _ in range(5):
        y = relax.project(rng.normal(scale=10.0, size=relax.rows.shape[0]))
        bound = relax.sign * relax.evaluate(y)[0]
        assert (bound >= optimum - 1e-6) if maximising else (bound <= optimum + 1e-6)
    result = lagrangian_start(compiled, None, rel_gap=1e-9)
    assert result.bound is not None
    if maximising:
        assert result.bound >= optimum - 1e-6 * abs(optimum)
    else:
        assert result.bound <= optimum + 1e-6 * abs(optimum)
    # Column generation ends at the LP bound: the master's value equals the best bound.
    assert result.master == pytest.approx(result.bound, rel=1e-7)
    assert result.x is not None
    verdict = verify_schedule(instance, compiled.decode(result.x))
    assert verdict.ok, verdict.violations
    value = float(verdict.plan.objective)
    assert value == pytest.approx(compiled.model.objective_value(result.x), rel=1e-7)
    assert (value <= optimum + 1e-6 * abs(optimum)) if maximising else (
        value >= optimum - 1e-6 * abs(optimum)
    )


def test_the_bound_equals_the_lp_bound() -> None:
    from portfolio.backends import get_backend

    _, compiled = _compiled(random_multi_year(1, services=40, years=5))
    lp = get_backend("highs").solve(compiled.model, QUIET, time_limit=60, relax=True)
    assert lp.status is Status.OPTIMAL
    assert lp.objective is not None
    result = lagrangian_start(compiled, None, rel_gap=1e-6)
    assert result.bound == pytest.approx(lp.objective, rel=1e-7)


def test_the_start_is_deterministic() -> None:
    _, compiled = _compiled(random_multi_year(1, services=60, years=5))
    first = lagrangian_start(compiled, None, rel_gap=1e-4)
    second = lagrangian_start(compiled, None, rel_gap=1e-4)
    assert first.x is not None
    assert second.x is not None
    assert np.array_equal(first.x, second.x)
    assert first.bound == second.bound
    assert first.passes == second.passes


# ---------------------------------------------------------------------- the pipeline
def test_a_limit_too_short_for_the_lp_still_returns_a_verified_plan() -> None:
    """300 services over 5 years: the LP relaxation alone takes 4-5 s on a quiet machine, and
    the LP-guided start may use half of the 6 s (no plan from it: `time_limit_no_solution`
    before the Lagrangian start); the Lagrangian start finds a plan in about a second."""
    instance = random_multi_year_instance(300, years=5, seed=0)
    result = portfolio.solve(instance, params=QUIET.with_(time_limit=6.0, rel_gap=1e-3))
    assert result.status.has_plan, result.detail
    assert result.verified
    assert "Lagrangian start" in result.detail
    assert result.bound is not None
    assert result.objective is not None
    assert result.objective <= result.bound + 1e-6 * abs(result.bound)


def test_the_result_says_the_start_phase_uses_highs() -> None:
    """Whatever backend solves the model, the Lagrangian start's master problems are HiGHS's;
    the result's ``stats`` say whether the start applies, from how many columns, and why its
    masters are HiGHS's; its note names HiGHS when it ran."""
    from portfolio.multiyear.lagrange import MIN_COLUMNS

    pytest.importorskip("highspy", reason="the Lagrangian start needs HiGHS")
    backend = "cbc" if "cbc" in portfolio.available_backends() else "highs"
    small = portfolio.solve(random_multi_year(1), backend=backend, params=QUIET)
    record = small.stats["lagrangian_start"]
    assert record["applies"] is (small.stats["columns"] >= MIN_COLUMNS)
    assert record["applies"] is False  # 14 services over 4 years: below the threshold
    assert record["from_columns"] == MIN_COLUMNS
    assert record["master_solver"] == "highs"
    assert "duals" in record["why"]
    assert "Lagrangian start" not in small.detail
    instance = random_multi_year_instance(300, years=5, seed=0)
    large = portfolio.solve(instance, params=QUIET.with_(time_limit=30.0, rel_gap=1e-2))
    assert large.stats["lagrangian_start"]["applies"] is True
    assert large.stats["columns"] >= MIN_COLUMNS
    assert "master problems by HiGHS" in large.detail
