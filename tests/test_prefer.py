"""No gratuitous changes: the issue's newcomer cases, and brute force on tiny instances.

The single-period enumerator (``frontier_oracle``) and the multi-year one
(``test_multiyear_bruteforce``) import nothing from portfolio.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import replace
from typing import Any

import pytest

import portfolio
from frontier_oracle import plans, random_instance
from portfolio import ServicePath
from portfolio.baseline import baseline, versus_baseline
from portfolio.prefer import fewest_changes
from test_multiyear_bruteforce import enumerate_paths, evaluate, termination_case

TOL = 1e-9


def _with_plan(instance: portfolio.Instance, result: Any, positions: list[int]) -> Any:
    """``result`` as if the solver had returned the plan ``positions`` (single period)."""
    verdict = portfolio.verify_plan(instance, positions)
    assert verdict.ok
    return replace(result, plan=verdict.plan, objective=verdict.plan.objective)


def _with_paths(instance: portfolio.Instance, result: Any, paths: list[ServicePath]) -> Any:
    """``result`` as if the solver had returned the multi-year plan ``paths``."""
    verdict = portfolio.verify_schedule(instance, paths)
    assert verdict.ok, verdict.violations
    return replace(
        result, plan=verdict.first_year, multi_year=verdict.plan, objective=verdict.plan.objective
    )


# ---------------------------------------------------------------------- the newcomer cases
def _tie_case() -> dict[str, Any]:
    """minimise_cost; waste outsourced costs 90 a year + 10 to change = 100, exactly what
    keeping it in house costs; parks has one cheaper option that is worth taking."""
    return {
        "name": "tie",
        "objective": "minimise_cost",
        "modes": [{"id": "in_house", "sector": "public"}, {"id": "private", "sector": "private"}],
        "services": [
            {
                "id": "waste",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 100, "outcome": 70},
                    {"mode": "private", "annual_cost": 90, "transition_cost": 10, "outcome": 66},
                ],
            },
            {
                "id": "parks",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 50, "outcome": 30},
                    {"mode": "private", "annual_cost": 40, "transition_cost": 5, "outcome": 28},
                ],
            },
        ],
    }


def test_a_change_that_costs_what_doing_nothing_costs_is_dropped(backend: str) -> None:
    instance = portfolio.instance_from_data(_tie_case())
    solved = portfolio.solve(instance, backend)
    assert solved.objective == 145.0  # 100 (waste either way) + 40 + 5 (parks outsourced)
    gratuitous = _with_plan(instance, solved, [1, 1])  # waste outsourced too: also 145
    assert gratuitous.objective == 145.0
    assert len(gratuitous.plan.changes) == 2
    preferred = fewest_changes(instance, gratuitous, backend)
    assert preferred.objective == 145.0
    assert preferred.plan.assignment == {"waste": "in_house", "parks": "private"}
    assert preferred.stats["prefer"]["applied"] == "fewest_changes"
    assert preferred.stats["prefer"]["changes"] == [2, 1]
    assert preferred.stats["prefer"]["one_off"] == [15.0, 5.0]
    again = fewest_changes(instance, preferred, backend)
    assert again.plan.assignment == preferred.plan.assignment
    assert again.stats["prefer"]["applied"] == "none"


def _break_case() -> dict[str, Any]:
    """A voluntary contract runs to 2028; breaking it in 2028 (fee 300) and re-letting the same
    option gives the same outcome as keeping it (maximise_outcome ignores money)."""
    return {
        "name": "break",
        "horizon": {"start_year": 2027, "years": 3, "discount_rate": 0.035},
        "objective": "maximise_outcome",
        "constraints": {"budget": 1000},
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "voluntary", "sector": "voluntary"},
        ],
        "services": [
            {
                "id": "day_centres",
                "current_mode": "voluntary",
                "current_contract_end": 2028,
                "termination_cost": 300,
                "options": [
                    {"mode": "voluntary", "annual_cost": 200, "outcome": 60},
                    {"mode": "in_house", "annual_cost": 260, "outcome": 55, "transition_cost": 40},
                ],
            }
        ],
    }


def test_a_broken_contract_re_let_unchanged_is_not_broken(backend: str) -> None:
    instance = portfolio.instance_from_data(_break_case())
    solved = portfolio.solve(instance, backend)
    broken = _with_paths(
        instance, solved, [ServicePath("day_centres", 1, ((0, 1), (0, 2)))]
    )
    assert broken.objective == pytest.approx(solved.objective, rel=1e-12)
    assert sum(y.termination_cost for y in broken.multi_year.years) == 300.0
    preferred = fewest_changes(instance, broken, backend)
    assert preferred.objective == pytest.approx(solved.objective, rel=1e-12)
    assert sum(y.termination_cost for y in preferred.multi_year.years) == 0.0
    assert preferred.multi_year.schedule == {"day_centres": ["voluntary"] * 3}
    assert preferred.stats["prefer"]["applied"] == "least_one_off"
    assert preferred.stats["prefer"]["one_off"] == [300.0, 0.0]


# ---------------------------------------------------------------------- brute force
def _single_minima(
    data: dict[str, Any], objective: str
) -> tuple[float, int, float, tuple[int, ...]]:
    """(optimum, fewest changes among optimal plans, least one-off among those, and the optimal
    plan with the most changes and one-off money)."""
    name = "outcome" if objective == "maximise_outcome" else "cost"
    sign = 1.0 if objective == "maximise_outcome" else -1.0
    found = list(plans(data))
    best = max(sign * v[name] for _, v in found)
    optimal = [(c, v) for c, v in found if abs(sign * v[name] - best) <= TOL * max(1.0, abs(best))]
    fewest = min(v["changes"] for _, v in optimal)
    least = min(v["one_off"] for _, v in optimal if v["changes"] == fewest)
    worst = max(optimal, key=lambda cv: (cv[1]["changes"], cv[1]["one_off"]))[0]
    return sign * best, int(fewest), least, worst


def _tied_instance(seed: int) -> dict[str, Any]:
    """A random tiny instance made to have ties: transition costs that even out savings."""
    data = random_instance(seed)
    for service in data["services"]:
        base = service["options"][0]
        for option in service["options"][1:]:
            option["annual_cost"] = base["annual_cost"] - option.get("transition_cost", 0)
            option["outcome"] = base["outcome"] if seed % 2 else option["outcome"]
    for mode in data["modes"]:
        mode.pop("setup_cost", None)
    return data


@pytest.mark.parametrize("seed", range(1, 11))  # seeds 0 and 11 have no plan
@pytest.mark.parametrize("objective", ["maximise_outcome", "minimise_cost"])
def test_fewest_changes_among_optimal_plans_equals_brute_force(seed: int, objective: str) -> None:
    data = _tied_instance(seed)
    data["objective"] = objective
    best, fewest, least, worst = _single_minima(data, objective)
    instance = portfolio.instance_from_data(data)
    solved = portfolio.solve(instance)
    start = _with_plan(instance, solved, list(worst))
    preferred = fewest_changes(instance, start)
    assert preferred.objective == pytest.approx(best, rel=1e-9)
    assert len(preferred.plan.changes) == fewest
    assert preferred.stats["prefer"]["one_off"][1] == pytest.approx(least, abs=1e-9)


@pytest.mark.parametrize("seed", [3, 5])
def test_fewest_changes_on_every_backend(seed: int, backend: str) -> None:
    data = _tied_instance(seed)
    data["objective"] = "minimise_cost"
    best, fewest, least, worst = _single_minima(data, "minimise_cost")
    instance = portfolio.instance_from_data(data)
    start = _with_plan(instance, portfolio.solve(instance, backend), list(worst))
    preferred = fewest_changes(instance, start, backend)
    assert preferred.objective == pytest.approx(best, rel=1e-9)
    assert len(preferred.plan.changes) == fewest
    assert preferred.stats["prefer"]["one_off"][1] == pytest.approx(least, abs=1e-9)


def _multi_year_minima(data: dict[str, Any]) -> tuple[float, int, float]:
    """Optimum, fewest changes among optimal plans, least one-off money among those."""
    sense = 1.0 if data["objective"] == "maximise_outcome" else -1.0
    counting = copy.deepcopy(data)
    counting["horizon"]["discount_rate"] = 0.0
    counting["constraints"].pop("transition_budget", None)
    for service in counting["services"]:
        for option in service["options"]:
            option["transition_cost"] = 1
    counting["objective"] = {"minimise": {"transition_cost": 1}}
    money = copy.deepcopy(data)
    money["horizon"]["discount_rate"] = 0.0
    paid = {"transition_cost": 1, "setup_cost": 1, "termination_cost": 1}
    money["objective"] = {"minimise": paid}
    per_service = [enumerate_paths(s, data["horizon"]) for s in data["services"]]
    rows = []
    for choice in itertools.product(*per_service):
        value = evaluate(data, choice)
        if value is not None:
            rows.append((sense * value, evaluate(counting, choice), evaluate(money, choice)))
    best = max(r[0] for r in rows)
    optimal = [r for r in rows if abs(r[0] - best) <= TOL * max(1.0, abs(best))]
    fewest = min(r[1] for r in optimal)
    least = min(r[2] for r in optimal if r[1] == fewest)
    return sense * best, int(round(fewest)), least


@pytest.mark.parametrize("case", ["termination", "break"])
def test_multi_year_preferred_plan_equals_brute_force(case: str, backend: str) -> None:
    data = termination_case() if case == "termination" else _break_case()
    best, fewest, least = _multi_year_minima(data)
    instance = portfolio.instance_from_data(data)
    preferred = fewest_changes(instance, portfolio.solve(instance, backend), backend)
    assert preferred.objective == pytest.approx(best, rel=1e-9)
    assert sum(len(y.changes) for y in preferred.multi_year.years) == fewest
    assert preferred.stats["prefer"]["one_off"][1] == pytest.approx(least, abs=1e-9)


def test_a_result_without_a_plan_is_returned_as_is() -> None:
    data = _tie_case()
    data["constraints"] = {"budget": 10}
    instance = portfolio.instance_from_data(data)
    solved = portfolio.solve(instance)
    assert fewest_changes(instance, solved) is solved


# ---------------------------------------------------------------------- baseline
def test_baseline_figures_are_the_current_options_totals() -> None:
    """Hand-derived: waste 100 + parks 50 in house; outcome 70 + 30; no one-off money."""
    data = _tie_case()
    data["constraints"] = {"budget": 140}
    instance = portfolio.instance_from_data(data)
    today = baseline(instance)
    assert today["objective"] == 150.0
    assert today["annual_cost"] == 150.0
    assert today["one_off_cost"] == 0.0
    assert today["outcome"] == 100.0
    assert today["feasible"] is False
    assert [(v["name"], v["by"]) for v in today["violations"]] == [("budget", 10.0)]


def test_versus_baseline_says_what_the_plan_changes_and_gains() -> None:
    instance = portfolio.instance_from_data(_tie_case())
    preferred = fewest_changes(instance, portfolio.solve(instance))
    versus = versus_baseline(instance, preferred)
    assert versus is not None
    assert versus["objective"] == -5.0  # 145 against 150 today
    assert versus["annual_cost"] == -10.0
    assert versus["one_off_cost"] == 5.0
    assert versus["outcome"] == -2.0
    assert versus["changes"] == ["parks"]
    assert versus["improves"] is True
    assert versus["summary"] == (
        "Against today the plan changes 1 service (parks); it improves the objective by 5 "
        "(annual cost -10, one-off +5, outcome -2)."
    )


def test_multi_year_baseline_continues_today_every_year() -> None:
    """Hand-derived: the voluntary contract (200 a year, outcome 60) runs all three years."""
    instance = portfolio.instance_from_data(_break_case())
    today = baseline(instance)
    assert today["annual_cost"] == 600.0
    assert today["outcome"] == 180.0
    assert today["one_off_cost"] == 0.0
    assert today["feasible"] is True
    assert today["objective"] == pytest.approx(60 * (1 + 1 / 1.035 + 1 / 1.035**2))
    preferred = fewest_changes(instance, portfolio.solve(instance))
    versus = versus_baseline(instance, preferred)
    assert versus is not None
    assert versus["changes"] == []
    assert versus["objective"] == 0.0


def test_the_tie_break_is_not_started_when_the_model_is_too_large_for_its_time() -> None:
    """``prefer_plan`` skips the exact re-solve when the model's nonzeros, at
    ``PREFER_SECONDS_PER_NONZERO`` each, would not fit the phase's time (the backstop here), keeps
    the plan as found and says so; with the model's own size it applies the rule."""
    import time

    from portfolio.backends import get_backend
    from portfolio.clock import Clock
    from portfolio.params import SolveParams
    from portfolio.solve import PREFER_BACKSTOP_SECONDS, PREFER_SECONDS_PER_NONZERO, prefer_plan

    instance = portfolio.instance_from_data(_tie_case())
    solved = portfolio.solve(instance, "highs")
    gratuitous = _with_plan(instance, solved, [1, 1])
    too_large = int(PREFER_BACKSTOP_SECONDS / PREFER_SECONDS_PER_NONZERO) + 1
    clock = Clock(time.perf_counter(), None)
    backend, params = get_backend("highs"), SolveParams()
    kept = prefer_plan(instance, gratuitous, backend, params, clock, nonzeros=too_large)
    assert kept.plan.assignment == gratuitous.plan.assignment
    assert kept.stats["prefer"]["applied"] == "none"
    assert f"{too_large:,} nonzeros" in kept.stats["prefer"]["detail"]
    assert any("not expected to finish" in note for note in kept.notes)
    fits = prefer_plan(instance, gratuitous, backend, params, clock, nonzeros=too_large - 2)
    assert fits.plan.assignment == {"waste": "in_house", "parks": "private"}
    assert fits.stats["prefer"]["applied"] == "fewest_changes"
