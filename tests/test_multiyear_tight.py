"""Multi-year instances with tight yearly rows (models/multi_year.md, "What makes a plan hard to
prove optimal"): the generator's carbon cap (``carbon_cut``), the example borough's structure in
random instances, binds and keeps one optimum on every backend, against the brute force and the
unreduced model; the LP-guided start leaves a model most of whose services the LP leaves
fractional to the full search.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.domain import Instance
from portfolio.multiyear import compile_multi_year
from portfolio.multiyear import heuristic as multiyear_heuristic
from portfolio.multiyear.generate import random_multi_year_data, random_multi_year_instance
from portfolio.multiyear.heuristic import lp_guided_start
from portfolio.multiyear.verify import verify_schedule
from test_multiyear_bruteforce import brute_force
from test_multiyear_strength import _assert_same_optimum

EXACT = SolveParams(explain_infeasible=False, prefer="none", rel_gap=1e-9)


def _uncapped(data: dict[str, Any]) -> dict[str, Any]:
    """The same instance without the carbon cap."""
    data = copy.deepcopy(data)
    limits = data["constraints"]["limits"]
    kept = [row for row in limits if row.get("metric") != "carbon_t"]
    if kept:
        data["constraints"]["limits"] = kept
    else:
        del data["constraints"]["limits"]
    return data


def test_carbon_cut_zero_is_the_instance_without_it() -> None:
    plain = random_multi_year_data(12, years=4, seed=3)
    assert random_multi_year_data(12, years=4, seed=3, carbon_cut=0.0) == plain
    capped = random_multi_year_data(12, years=4, seed=3, carbon_cut=0.05)
    caps = capped["constraints"]["limits"][-1]
    assert caps["metric"] == "carbon_t"
    # The figures are new: the plain instance has none.
    assert not any(
        "carbon_t" in o.get("metrics", {}) for s in plain["services"] for o in s["options"]
    )
    # Today's emissions in the first year, 5% less by the last, falling evenly.
    first, *_, last = caps["max"]
    assert last == pytest.approx(first * 0.95, rel=1e-3)
    assert list(caps["max"]) == sorted(caps["max"], reverse=True)
    # Apart from the new figures and the cap, the instance is the plain one.
    stripped = _uncapped(capped)
    for service in stripped["services"]:
        for option in service["options"]:
            option["metrics"].pop("carbon_t")
            if not option["metrics"]:
                del option["metrics"]
    assert stripped == plain


@pytest.mark.parametrize("seed", [11, 29])
def test_a_binding_carbon_cap_matches_the_brute_force(seed: int, backend: str) -> None:
    """Four services over three years: the brute force's optimum is below the uncapped one (the
    cap binds), and the backend finds it, with and without the model's reductions."""
    data = random_multi_year_data(4, years=3, seed=seed, options=(2, 3), carbon_cut=0.05)
    best, _ = brute_force(copy.deepcopy(data))
    free, _ = brute_force(_uncapped(data))
    assert best is not None
    assert free is not None
    assert best < free - 1e-6
    for presolve in (True, False):
        result = portfolio.solve(
            copy.deepcopy(data), backend=backend, params=EXACT.with_(presolve=presolve)
        )
        # CP-SAT rounds indexed (non-decimal) costs conservatively: then "feasible".
        assert result.status is Status.OPTIMAL or (
            backend == "cpsat" and result.status is Status.FEASIBLE
        ), result.detail
        assert result.verified
        assert result.objective == pytest.approx(best, rel=1e-7)


@pytest.mark.parametrize("seed", [0, 4, 5])
def test_a_binding_carbon_cap_keeps_the_optimum_of_the_unreduced_model(
    seed: int, backend: str
) -> None:
    """Twelve services over four years with a 5% carbon cut (it binds: the uncapped optimum is
    higher): the reduced model (dominance, knapsack reduction) and the model of every arc have
    the same optimum on every backend."""
    data = random_multi_year_data(12, years=4, seed=seed, options=(3, 5), carbon_cut=0.05)
    instance = Instance.from_data(copy.deepcopy(data), source=f"<carbon {seed}>")
    capped = portfolio.solve(copy.deepcopy(data), params=EXACT)
    free = portfolio.solve(_uncapped(data), params=EXACT)
    assert capped.status is Status.OPTIMAL
    assert free.status is Status.OPTIMAL
    assert capped.objective is not None
    assert free.objective is not None
    assert capped.objective < free.objective - 1e-6
    reduced = compile_multi_year(instance)
    assert reduced.forbidden > 0
    _assert_same_optimum(compile_multi_year(instance, reduce=False).model, reduced.model, backend)


def test_a_mostly_fractional_lp_is_left_to_the_full_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20 services over 5 years (2,044 columns): the LP leaves 9 of them fractional, more than a
    third, so the LP-guided start gives no plan (its sub-MIP would be most of the model); with
    no such limit it gives one, which verifies, and both solves reach the same optimum."""
    instance = random_multi_year_instance(20, years=5, seed=1)
    compiled = compile_multi_year(instance)
    assert compiled.model.num_cols >= multiyear_heuristic.MIN_COLUMNS
    params = SolveParams(explain_infeasible=False, prefer="none", rel_gap=1e-4)
    assert lp_guided_start(compiled, params, None) is None
    skipped = portfolio.solve(instance, params=params)
    monkeypatch.setattr(multiyear_heuristic, "MAX_UNSETTLED_SHARE", 1.0)
    found = lp_guided_start(compiled, params, None)
    assert found is not None
    assert "9 of 20 services fractional" in found.note
    assert verify_schedule(instance, compiled.decode(found.x)).ok
    used = portfolio.solve(instance, params=params)
    assert "LP-guided start" in used.detail
    assert "LP-guided start" not in skipped.detail
    assert skipped.status is Status.OPTIMAL
    assert used.status is Status.OPTIMAL
    assert skipped.objective == pytest.approx(used.objective, rel=2e-4)
