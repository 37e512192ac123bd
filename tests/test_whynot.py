"""Why this plan (``portfolio.whynot``, ``portfolio explain``): every why-not objective equals a
re-solve with the service fixed to that mode and the brute-force optimum over the plans that put
it there; every limit's gain equals a re-solve with that limit relaxed, and the brute force of
the relaxed instance. The enumerators are ``tests/oracle.py`` (single period) and the one in
``tests/test_multiyear_bruteforce.py`` (multi-year): neither imports ``portfolio``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import portfolio
from oracle import brute_force, feasible_plans
from portfolio.cli import main
from portfolio.errors import ParameterError
from portfolio.whynot import (
    LOOSEST,
    NOT_ALLOWED,
    PlanExplanation,
    UnknownServiceError,
    explain_plan,
)
from test_multiyear_bruteforce import brute_force as multi_year_brute_force

TOL = 1e-6


def newcomer() -> dict[str, Any]:
    """The misleading marker of issue 10, in three services (all today in house).

    A: private saves 50 but loses 10 outcome. B: voluntary costs the same and gains 6.
    C: private costs 12 more and gains 8. Budget 1005, one change allowed.
    Plans with at most one change: none (cost 1000, outcome 100), A (950, 90), B (1000, 106),
    C (1012: over budget). The plan changes B: 106, cost 1000, budget slack 5 (not at its limit).
    Budget + 1% (1015.05): C alone fits (108): gain 2, though the budget is not at its limit.
    max_changes 2: A+B 96, A+C 98, B+C over budget: still 106, gain 0, though at its limit.
    Why not: A private 90 (loss 16); B in house: best 100 (loss 6); C private: over budget alone
    (1012), or with A a second change: infeasible, stopped by the budget or by max_changes.
    """
    return {
        "name": "newcomer",
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
            {"id": "voluntary", "sector": "voluntary"},
        ],
        "services": [
            {"id": "A", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 500, "outcome": 50},
                {"mode": "private", "annual_cost": 450, "outcome": 40},
            ]},
            {"id": "B", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 300, "outcome": 30},
                {"mode": "voluntary", "annual_cost": 300, "outcome": 36},
            ]},
            {"id": "C", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 200, "outcome": 20},
                {"mode": "private", "annual_cost": 212, "outcome": 28},
            ]},
        ],
        "constraints": {"budget": 1005, "max_changes": 1},
    }


def mixed() -> dict[str, Any]:
    """Four services, minimise_cost, setup cost, capacity, shares, a limits row, a red line."""
    return {
        "name": "mixed",
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
            {"id": "voluntary", "sector": "voluntary", "max_services": 1},
            {"id": "latc", "sector": "public", "setup_cost": 30},
            {"id": "cease", "sector": "public", "ceases_service": True},
        ],
        "services": [
            {"id": "waste", "current_mode": "in_house", "statutory": True, "options": [
                {"mode": "in_house", "annual_cost": 400, "outcome": 60,
                 "metrics": {"carbon_t": 50}},
                {"mode": "private", "annual_cost": 340, "transition_cost": 40, "outcome": 55,
                 "metrics": {"carbon_t": 40}},
                {"mode": "latc", "annual_cost": 360, "transition_cost": 10, "outcome": 58,
                 "metrics": {"carbon_t": 45}},
                {"mode": "cease", "annual_cost": 0, "outcome": 0},
            ]},
            {"id": "leisure", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 200, "outcome": 40,
                 "metrics": {"carbon_t": 30}},
                {"mode": "voluntary", "annual_cost": 150, "transition_cost": 20, "outcome": 38,
                 "metrics": {"carbon_t": 20}},
                {"mode": "latc", "annual_cost": 170, "transition_cost": 5, "outcome": 41,
                 "metrics": {"carbon_t": 25}},
                {"mode": "cease", "annual_cost": 0, "outcome": 0},
            ]},
            {"id": "libraries", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 120, "outcome": 30},
                {"mode": "voluntary", "annual_cost": 90, "transition_cost": 10, "outcome": 31},
            ]},
            {"id": "assessment", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 250, "outcome": 70},
                {"mode": "private", "annual_cost": 220, "transition_cost": 30, "outcome": 66},
            ]},
        ],
        "constraints": {
            "min_outcome": 150,
            "transition_budget": 80,
            "max_changes": 2,
            "sector_share": {"private": {"max": 0.5}},
            "fixed": {"assessment": "in_house"},
            "limits": [{"metric": "carbon_t", "max": 100}],
        },
        "objective": "minimise_cost",
    }


def _maximise(data: dict[str, Any]) -> bool:
    objective = data.get("objective", "maximise_outcome")
    return objective == "maximise_outcome"


def _best_in_mode(data: dict[str, Any], service: str, mode: str) -> float | None:
    """Brute force: the best objective over the feasible plans that put ``service`` in ``mode``."""
    index = [s["id"] for s in data["services"]].index(service)
    options = data["services"][index]["options"]
    values = [v for v, choice in feasible_plans(data) if options[choice[index]]["mode"] == mode]
    if not values:
        return None
    return max(values) if _maximise(data) else min(values)


def _fixed(data: dict[str, Any], service: str, mode: str) -> dict[str, Any]:
    variant = copy.deepcopy(data)
    variant.setdefault("constraints", {}).setdefault("fixed", {})[service] = mode
    return variant


def _improvement(data: dict[str, Any], new: float, old: float) -> float:
    return new - old if _maximise(data) else old - new


def _relax(data: dict[str, Any], name: str, relaxed: float) -> dict[str, Any]:
    """The data with one limit (as whynot names it) set to ``relaxed``."""
    variant = copy.deepcopy(data)
    constraints = variant["constraints"]
    if name in constraints and not isinstance(constraints[name], dict | list):
        constraints[name] = relaxed
    elif name.startswith("capacity_count["):
        mode = name[len("capacity_count["):-1]
        next(m for m in variant["modes"] if m["id"] == mode)["max_services"] = int(relaxed)
    elif name.startswith("sector_share["):
        sector, side = name[len("sector_share["):].split("].")
        constraints["sector_share"][sector][side] = relaxed
    elif name.startswith("limits["):
        index = int(name[len("limits["):name.index("]")])
        row = constraints["limits"][index]
        side = name.rsplit(".", 1)[1] if name.endswith((".max", ".min")) else (
            "max" if "max" in row else "min")
        row[side] = relaxed
    else:  # pragma: no cover - a limit family this helper does not know
        raise AssertionError(f"no relaxation for {name}")
    return variant


def _check_against_resolves(data: dict[str, Any], backend: str) -> PlanExplanation:
    """Every number of the explanation against portfolio.solve and the brute force."""
    explanation = explain_plan(data, backend=backend)
    status, best, _ = brute_force(data)
    assert status == "optimal"
    assert explanation.objective == pytest.approx(best, abs=TOL)
    maximise = _maximise(data)
    for service, why in explanation.services.items():
        offered = {o["mode"] for s in data["services"] if s["id"] == service for o in s["options"]}
        assert {a.mode for a in why.alternatives} == offered - {why.chosen}
        for alternative in why.alternatives:
            if alternative.status == NOT_ALLOWED:
                continue
            expected = _best_in_mode(data, service, alternative.mode)
            fixed = _fixed(data, service, alternative.mode)
            again = portfolio.solve(fixed, backend)
            if expected is None:
                assert alternative.status == "infeasible"
                assert again.status.value == "infeasible"
                assert alternative.blocked_by, alternative
                continue
            assert alternative.status == "optimal"
            assert alternative.objective == pytest.approx(expected, abs=TOL)
            assert again.objective == pytest.approx(expected, abs=TOL)
            loss = (best - expected) if maximise else (expected - best)
            assert alternative.loss == pytest.approx(loss, abs=TOL)
            assert alternative.loss >= 0
    for limit in explanation.limits:
        if limit.status == LOOSEST:
            assert limit.gain == 0
            continue
        bound = int(limit.relaxed_bound) if limit.kind == "count" else limit.relaxed_bound
        relaxed = _relax(data, limit.name, bound)
        status, relaxed_best, _ = brute_force(relaxed)
        assert status == "optimal"
        again = portfolio.solve(relaxed, backend)
        assert again.objective == pytest.approx(relaxed_best, abs=TOL)
        assert limit.objective == pytest.approx(relaxed_best, abs=TOL)
        assert limit.gain == pytest.approx(_improvement(data, relaxed_best, best), abs=TOL)
        assert limit.gain >= 0
        assert limit.holds_back == (limit.gain > TOL)
    return explanation


# ---------------------------------------------------------------------- the newcomer case
def test_the_misleading_marker_case_has_the_hand_derived_answers() -> None:
    explanation = explain_plan(newcomer())
    assert explanation.status == "optimal"
    assert explanation.objective == pytest.approx(106)
    limits = {limit.name: limit for limit in explanation.limits}
    budget, changes = limits["budget"], limits["max_changes"]
    # Not at its limit (1000 <= 1005), yet another 1% (10.05) is worth 2 (C instead of B).
    assert (budget.value, budget.bound, budget.at_limit) == (1000, 1005, False)
    assert budget.step == pytest.approx(10.05)
    assert budget.relaxed_bound == pytest.approx(1015.05)
    assert budget.gain == pytest.approx(2)
    assert budget.holds_back
    # At its limit (1 <= 1), yet a second change is worth nothing.
    assert (changes.value, changes.bound, changes.at_limit) == (1, 1, True)
    assert (changes.step, changes.relaxed_bound, changes.gain) == (1, 2, 0)
    assert not changes.holds_back

    services = explanation.services
    assert [(s.service, s.chosen) for s in services.values()] == [
        ("A", "in_house"), ("B", "voluntary"), ("C", "in_house")
    ]
    (a,), (b,), (c,) = (services[sid].alternatives for sid in "ABC")
    assert (a.mode, a.status, a.objective, a.loss) == ("private", "optimal", 90, 16)
    assert (b.mode, b.status, b.objective, b.loss) == ("in_house", "optimal", 100, 6)
    assert (c.mode, c.status, c.objective, c.loss) == ("private", "infeasible", None, None)
    assert "budget" in c.blocked_by
    assert "budget" in c.why


@pytest.mark.parametrize("case", [newcomer, mixed])
def test_every_number_equals_a_resolve_and_the_brute_force(
    case: Any, backend: str
) -> None:
    explanation = _check_against_resolves(case(), backend)
    assert explanation.backend == backend


def test_red_lines_and_statute_are_not_alternatives() -> None:
    explanation = explain_plan(mixed())
    assessment = {a.mode: a for a in explanation.services["assessment"].alternatives}
    assert assessment["private"].status == NOT_ALLOWED
    assert assessment["private"].blocked_by == ("fixed[assessment]",)
    waste = {a.mode: a for a in explanation.services["waste"].alternatives}
    assert waste["cease"].status == NOT_ALLOWED
    assert waste["cease"].blocked_by == ("statutory",)
    # Leisure is not statutory: the cheapest plan closes it (waste private 380 with its
    # transition, leisure 0, libraries 120, assessment 250: 750). Kept in house (200), the two
    # changes it frees go to waste and libraries (voluntary 90 + 10 saves 20): 930, loss 180.
    leisure = explanation.services["leisure"]
    assert explanation.objective == 750
    assert leisure.chosen == "cease"
    kept = next(a for a in leisure.alternatives if a.mode == "in_house")
    assert (kept.status, kept.objective, kept.loss) == ("optimal", 930, 180)


def test_a_share_at_its_loosest_is_not_resolved_and_steps_can_be_chosen() -> None:
    data = mixed()
    data["constraints"]["sector_share"] = {"private": {"max": 1.0}}
    explanation = explain_plan(data, step={"transition_budget": 25, "count": 2})
    limits = {limit.name: limit for limit in explanation.limits}
    share = limits["sector_share[private].max"]
    assert (share.status, share.gain, share.relaxed_bound) == (LOOSEST, 0, 1.0)
    assert limits["transition_budget"].relaxed_bound == 105
    assert limits["max_changes"].relaxed_bound == 4
    assert limits["capacity_count[voluntary]"].relaxed_bound == 3
    assert limits["min_outcome"].relaxed_bound == pytest.approx(148.5)  # default: 1% of 150
    # A single number is every limit's step, in its own units; a count's is rounded up.
    one = explain_plan(data, step=1.5, services=[])
    by_name = {limit.name: limit for limit in one.limits}
    assert by_name["min_outcome"].relaxed_bound == 148.5
    assert by_name["max_changes"].relaxed_bound == 4
    assert one.services == {}


def test_bad_requests_name_what_is_wrong() -> None:
    with pytest.raises(UnknownServiceError, match="unknown service 'wastes'.*'waste'"):
        explain_plan(mixed(), services=["wastes"])
    with pytest.raises(ParameterError, match="'budgt'"):
        explain_plan(newcomer(), step={"budgt": 10})
    with pytest.raises(ParameterError, match="positive"):
        explain_plan(newcomer(), step={"budget": -1})


def test_no_plan_says_why() -> None:
    data = newcomer()
    data["constraints"]["budget"] = 900
    explanation = explain_plan(data)
    assert not explanation.has_plan
    assert explanation.status == "infeasible"
    assert "budget" in explanation.detail
    assert explanation.to_dict()["services"] == {}


def test_a_given_result_is_explained_without_solving_it_again() -> None:
    data = newcomer()
    result = portfolio.solve(data)
    explanation = explain_plan(data, result, services=["B"])
    assert list(explanation.services) == ["B"]
    assert explanation.solves == 1 + 2  # B in house, and the two limits


def test_local_worker_processes_give_the_same_answer() -> None:
    serial = explain_plan(newcomer()).to_dict()
    pooled = explain_plan(newcomer(), workers=2).to_dict()
    for data in (serial, pooled):
        data.pop("seconds")
    assert pooled == serial


# ---------------------------------------------------------------------- multi-year
def multi_year() -> dict[str, Any]:
    """Two services over three years; the budget falls, so the plan must change in time."""
    return {
        "name": "two services, three years",
        "horizon": {"start_year": 2027, "years": 3, "discount_rate": 0.0},
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
            {"id": "shared", "sector": "public"},
        ],
        "services": [
            {"id": "waste", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 10},
                {"mode": "private", "annual_cost": 80, "transition_cost": 5, "outcome": 8},
            ]},
            {"id": "payroll", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 50, "outcome": 6},
                {"mode": "shared", "annual_cost": 40, "transition_cost": 2, "outcome": 5},
                {"mode": "private", "annual_cost": 45, "transition_cost": 3, "outcome": 7},
            ]},
        ],
        "constraints": {"budget": [150, 140, 130], "max_changes": 1},
    }


def test_multi_year_alternatives_and_gains_equal_resolves_and_the_brute_force() -> None:
    data = multi_year()
    explanation = explain_plan(data)
    best, _ = multi_year_brute_force(data)
    assert best is not None
    assert explanation.objective == pytest.approx(best, abs=TOL)
    for service, why in explanation.services.items():
        assert why.chosen_by_year is not None
        assert list(why.chosen_by_year) == [2027, 2028, 2029]
        assert why.chosen == why.chosen_by_year[2027]
        for alternative in why.alternatives:
            expected, _ = multi_year_brute_force(_fixed(data, service, alternative.mode))
            if expected is None:
                assert alternative.status == "infeasible"
                continue
            assert alternative.objective == pytest.approx(expected, abs=TOL)
            assert alternative.loss == pytest.approx(best - expected, abs=TOL)
    names = [limit.name for limit in explanation.limits]
    assert names == [f"{n}@{y}" for n in ("budget", "max_changes") for y in (2027, 2028, 2029)]
    for limit in explanation.limits:
        assert limit.year is not None
        year = limit.year - 2027
        relaxed = copy.deepcopy(data)
        family = limit.name.split("@")[0]
        values = relaxed["constraints"][family]
        values = list(values) if isinstance(values, list) else [values] * 3
        values[year] = int(limit.relaxed_bound) if limit.kind == "count" else limit.relaxed_bound
        relaxed["constraints"][family] = values
        expected, _ = multi_year_brute_force(relaxed)
        assert expected is not None
        assert limit.gain == pytest.approx(expected - best, abs=TOL)
        again = portfolio.solve(relaxed)
        assert again.objective == pytest.approx(expected, abs=TOL)
    budgets = {limit.year: limit for limit in explanation.limits if limit.name[0] == "b"}
    assert budgets[2029].bound == 130
    assert budgets[2029].relaxed_bound == pytest.approx(131.3)


# ---------------------------------------------------------------------- the command
def _write(tmp_path: Path, data: dict[str, Any], name: str = "case.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_cli_prints_the_tables_and_writes_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path, newcomer())
    output = tmp_path / "out" / "explain.json"
    code = main(["explain", str(source), "--output", str(output), "--step", "budget=20"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Why not another mode?" in text
    assert "What is each limit worth?" in text
    assert "infeasible: budget" in text
    data = json.loads(output.read_text())
    assert set(data) >= {"instance", "status", "objective", "services", "limits", "file"}
    assert set(data["services"]) == {"A", "B", "C"}
    assert data["services"]["B"]["chosen"] == "voluntary"
    assert data["services"]["A"]["alternatives"] == [
        {"mode": "private", "status": "optimal", "objective": 90.0, "loss": 16.0}
    ]
    budget = data["limits"][0]
    assert (budget["name"], budget["relaxed_bound"], budget["gain"]) == ("budget", 1025.0, 2.0)
    assert budget["at_limit"] is False
    assert budget["holds_back"] is True
    assert not list(output.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_cli_service_filter_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path, newcomer())
    assert main(["explain", str(source), "--service", "C", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["services"]) == ["C"]
    assert data["services"]["C"]["alternatives"][0]["status"] == "infeasible"


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = newcomer()
    broken["services"][0]["options"][0]["annual_cost"] = -5
    bad = _write(tmp_path, broken, "bad.json")
    assert main(["explain", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err
    assert "service 'A'" in err
    assert "annual_cost" in err
    assert main(["explain", str(tmp_path / "missing.yaml")]) == 2
    good = _write(tmp_path, newcomer())
    assert main(["explain", str(good), "--service", "Z"]) == 2
    assert "unknown service 'Z'" in capsys.readouterr().err
    assert main(["explain", str(good), "--step", "budget=-3"]) == 2
    assert main(["explain", str(good), "--step", "nonsense=3"]) == 2


def test_cli_no_plan_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = newcomer()
    data["constraints"]["budget"] = 900
    output = tmp_path / "explain.json"
    assert main(["explain", str(_write(tmp_path, data)), "-o", str(output)]) == 1
    assert "no plan to explain" in capsys.readouterr().out
    written = json.loads(output.read_text())
    assert written["status"] == "infeasible"
    assert written["objective"] is None
