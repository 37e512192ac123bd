"""Several ways out of an infeasible instance: distinct minimal sets of limits, with the amounts.

Each case is small enough to work out by hand, and a brute-force enumerator written here (it
imports nothing from ``portfolio``) goes through every plan to confirm that each reported way out
restores a plan when only its limits move by the reported amounts, that none of its limits could
stay at its bound at those amounts, and that the sets are distinct.

The newcomer's instance (the issue): three services, each cheaper in the private sector, saving
500, 510 and 1,000 a year on a total of 13,180; budget 11,000 and at most one change. The budget
alone must rise to 12,180 (one change: the 1,000 saving); with three changes allowed it need only
rise to 11,170 (all three savings).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import portfolio
from portfolio import SolveParams, Status
from portfolio.infeasibility import explain_infeasibility, explain_multi_year
from portfolio.multiyear import compile_multi_year

#: Limits the enumerator checks, and how each is named in a way out (single period).
CHECKED = ("budget", "max_changes", "min_outcome")


def _service(sid: str, options: list[tuple[str, float, float]]) -> dict[str, Any]:
    rows = [{"mode": m, "annual_cost": cost, "outcome": outcome} for m, cost, outcome in options]
    return {"id": sid, "current_mode": options[0][0], "options": rows}


def _modes() -> list[dict[str, str]]:
    return [{"id": "in_house", "sector": "public"}, {"id": "private", "sector": "private"}]


def _newcomer(horizon: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "modes": _modes(),
        "services": [
            _service("a", [("in_house", 5000, 1), ("private", 4500, 1)]),
            _service("b", [("in_house", 4000, 1), ("private", 3490, 1)]),
            _service("c", [("in_house", 4180, 1), ("private", 3180, 1)]),
        ],
        "constraints": {"budget": 11000, "max_changes": 1},
    }
    if horizon:
        data["horizon"] = {"start_year": 2027, "years": 2, "discount_rate": 0.0}
    return data


def _two_sets() -> dict[str, Any]:
    """Service a can reach the outcome floor only by going private (a change, costing 250)."""
    return {
        "modes": _modes(),
        "services": [
            _service("a", [("in_house", 100, 1), ("private", 150, 3)]),
            _service("b", [("in_house", 100, 1)]),
        ],
        "constraints": {"budget": 220, "max_changes": 0, "min_outcome": 4},
    }


# ---------------------------------------------------------------------- the enumerator
def _plans(data: Mapping[str, Any]) -> list[tuple[float, float, int]]:
    """(annual cost, outcome, changes) of every plan of a single-period instance."""
    services = data["services"]
    plans = []
    for choice in itertools.product(*(s["options"] for s in services)):
        cost = sum(o["annual_cost"] for o in choice)
        outcome = sum(o["outcome"] for o in choice)
        changes = sum(o["mode"] != s["current_mode"] for o, s in zip(choice, services, strict=True))
        plans.append((cost, outcome, changes))
    return plans


def _has_plan(data: Mapping[str, Any], limits: Mapping[str, float]) -> bool:
    """Whether some plan meets these limits (budget and max_changes above, min_outcome below)."""
    tol = 1e-6
    for cost, outcome, changes in _plans(data):
        if "budget" in limits and cost > limits["budget"] * (1 + tol):
            continue
        if "max_changes" in limits and changes > limits["max_changes"] + tol:
            continue
        if "min_outcome" in limits and outcome < limits["min_outcome"] * (1 - tol):
            continue
        return True
    return False


def _restores(data: Mapping[str, Any], given: Mapping[str, float], limits: frozenset[str]) -> bool:
    """Whether dropping these limits altogether (any amount) leaves some plan."""
    return _has_plan(data, {k: v for k, v in given.items() if k not in limits})


def _check_by_enumeration(data: Mapping[str, Any], ways: list[dict[str, Any]]) -> None:
    """Each way out restores a plan, none of its limits can stay put, the sets are distinct.

    And the first set is one of the smallest that restore a plan; a set that is not minimal by
    any amount (a trade-off) contains an earlier set, and lets that set move less.
    """
    constraints = data["constraints"]
    given = {name: float(constraints[name]) for name in CHECKED if name in constraints}
    assert not _has_plan(data, given)  # the instance is infeasible to start with
    sets = [frozenset(way["limits"]) for way in ways]
    assert len(set(sets)) == len(sets), sets
    sizes = [
        len(subset)
        for size in range(len(given) + 1)
        for subset in map(frozenset, itertools.combinations(given, size))
        if _restores(data, given, subset)
    ]
    assert ways
    assert len(sets[0]) == min(sizes)
    for number, way in enumerate(ways):
        moved = {r["limit"]: r["to"] for r in way["relaxations"]}
        assert set(moved) == set(way["limits"])
        assert _has_plan(data, given | moved), way
        for name in way["limits"]:
            kept = given | {k: v for k, v in moved.items() if k != name}
            assert not _has_plan(data, kept), f"{name} could stay at its bound in {way}"
        strict = not any(_restores(data, given, sets[number] - {name}) for name in sets[number])
        if not strict:  # a trade-off: an earlier set, plus a limit that lets it move less
            assert any(earlier < sets[number] for earlier in sets[:number]), way


def _ways(data: dict[str, Any]) -> list[dict[str, Any]]:
    explanation = explain_infeasibility(portfolio.Instance.from_data(data), 30)
    return [way.to_dict() for way in explanation.ways_out]


def _moves(way: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    return {r["limit"]: (r["from"], r["to"]) for r in way["relaxations"]}


# ---------------------------------------------------------------------- the cases
def test_the_newcomer_gets_the_budget_alone_and_the_trade_off() -> None:
    data = _newcomer()
    ways = _ways(data)
    assert [way["limits"] for way in ways] == [["budget"], ["budget", "max_changes"]]
    assert _moves(ways[0]) == {"budget": (11000, 12180)}
    assert _moves(ways[1]) == {"budget": (11000, 11170), "max_changes": (1, 3)}
    _check_by_enumeration(data, ways)
    # The joint relaxation is unchanged: the budget alone, to 12,180.
    explanation = explain_infeasibility(portfolio.Instance.from_data(data), 30)
    assert [(r.constraint, r.needed) for r in explanation.relaxations] == [("budget", 12180)]


def test_budget_alone_is_a_way_out() -> None:
    data = _newcomer()
    data["constraints"]["max_changes"] = 3  # every change allowed: only the budget can give
    ways = _ways(data)
    assert [way["limits"] for way in ways] == [["budget"]]
    assert _moves(ways[0]) == {"budget": (11000, 11170)}
    _check_by_enumeration(data, ways)


def test_a_different_set_max_changes_and_budget_together() -> None:
    # Lowering the outcome floor to 2 (today's outcome) is one way out; the other is to let a go
    # private: one change, and a budget of 250. Neither budget nor max_changes does it alone.
    data = _two_sets()
    ways = _ways(data)
    assert [sorted(way["limits"]) for way in ways] == [["min_outcome"], ["budget", "max_changes"]]
    assert _moves(ways[0]) == {"min_outcome": (4, 2)}
    assert _moves(ways[1]) == {"budget": (220, 250), "max_changes": (0, 1)}
    _check_by_enumeration(data, ways)
    # A strict minimal set: neither limit alone restores a plan, by any amount.
    assert not _has_plan(data, {"budget": 220, "min_outcome": 4})
    assert not _has_plan(data, {"max_changes": 0, "min_outcome": 4})


@pytest.mark.parametrize("seed", range(6))
def test_random_tiny_instances_agree_with_enumeration(seed: int) -> None:
    import random

    rng = random.Random(seed)
    services = []
    for index in range(4):
        options = [("in_house", rng.randint(50, 150), rng.randint(0, 3))]
        options.append(("private", rng.randint(30, 150), rng.randint(0, 3)))
        services.append(_service(f"s{index}", options))
    plans = _plans({"services": services})
    cheapest = min(cost for cost, _, _ in plans)
    best = max(outcome for _, outcome, _ in plans)
    data = {
        "modes": _modes(),
        "services": services,
        "constraints": {"budget": cheapest + 20, "max_changes": 1, "min_outcome": best},
    }
    constraints = data["constraints"]
    given = {name: float(constraints[name]) for name in CHECKED}
    if _has_plan(data, given):
        constraints["budget"] = cheapest - 1  # no plan at all: the budget must move
    ways = _ways(data)
    assert 1 <= len(ways) <= 3
    _check_by_enumeration(data, ways)


def test_multi_year_ways_out_move_a_limit_in_each_year_it_must() -> None:
    # max_changes holds each year: one change in 2027 (c, saving 1,000), a second in 2028 (b,
    # 510). The budget alone: 12,180 in 2027 and 11,670 in 2028; with three changes allowed in
    # 2027, 11,170 in both years.
    instance = portfolio.Instance.from_data(_newcomer(horizon=True))
    explanation = explain_multi_year(compile_multi_year(instance), 30)
    ways = [way.to_dict() for way in explanation.ways_out]
    assert [way["limits"] for way in ways] == [["budget"], ["budget", "max_changes"]]
    assert _moves(ways[0]) == {"budget@2027": (11000, 12180), "budget@2028": (11000, 11670)}
    assert _moves(ways[1]) == {
        "budget@2027": (11000, 11170),
        "budget@2028": (11000, 11170),
        "max_changes@2027": (1, 3),
    }
    # Re-solves with the limits moved as reported: a plan; a little less: none.
    for budget, changes, status in (
        ([12180, 11670], 1, Status.OPTIMAL),
        ([12179, 11670], 1, Status.INFEASIBLE),
        ([12180, 11669], 1, Status.INFEASIBLE),
        ([11170, 11170], 3, Status.OPTIMAL),
        ([11169, 11170], 3, Status.INFEASIBLE),
        ([11170, 11170], 2, Status.INFEASIBLE),
    ):
        data = _newcomer(horizon=True)
        data["constraints"] |= {"budget": budget, "max_changes": changes}
        result = portfolio.solve(data, params=SolveParams(time_limit=30))
        assert result.status is status, (budget, changes)


def test_the_result_file_carries_the_ways_out_beside_the_explanation() -> None:
    result = portfolio.solve(_newcomer(), params=SolveParams(time_limit=30))
    assert result.status is Status.INFEASIBLE
    explanation = result.to_dict()["explanation"]
    assert set(explanation) == {"summary", "relaxations", "single_fixes", "structural", "ways_out"}
    assert explanation["ways_out"][1] == {
        "limits": ["budget", "max_changes"],
        "relaxations": [
            {"limit": "budget", "from": 11000, "to": 11170, "change": 170},
            {"limit": "max_changes", "from": 1, "to": 3, "change": 2},
        ],
    }


def test_ways_out_are_deterministic() -> None:
    first = [_ways(_two_sets()) for _ in range(2)]
    assert first[0] == first[1]


def test_ways_out_can_be_turned_off_and_the_rest_of_the_explanation_stays() -> None:
    params = SolveParams(time_limit=30, ways_out=False)
    result = portfolio.solve(_newcomer(), params=params)
    assert result.explanation is not None
    assert result.explanation.ways_out == ()
    assert [(r.constraint, r.needed) for r in result.explanation.relaxations] == [("budget", 12180)]
    again = portfolio.solve(_newcomer(), params=params.with_(ways_out=True)).explanation
    assert again is not None
    assert len(again.ways_out) == 2


def test_the_html_report_and_the_workbook_show_the_ways_out(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="the workbook needs openpyxl")
    from portfolio.htmlreport import render_report
    from portfolio.spreadsheet import write_result_workbook

    instance = portfolio.Instance.from_data(_newcomer())
    result = portfolio.solve(instance, params=SolveParams(time_limit=30)).to_dict()
    document = render_report(result, instance)
    ways = document.split('<div id="ways-out">', 1)[1].split("</div>", 1)[0]
    assert "<li>budget 11,000 &rarr; 12,180</li>" in ways
    assert "<li>budget 11,000 &rarr; 11,170; max_changes 1 &rarr; 3</li>" in ways
    target = tmp_path / "result.xlsx"
    write_result_workbook(result, target, instance)
    sheet = openpyxl.load_workbook(target)["ways out"]
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows == [
        ("way", "limit", "from", "to", "change"),
        (1, "budget", 11000, 12180, 1180),
        (2, "budget", 11000, 11170, 170),
        (2, "max_changes", 1, 3, 2),
    ]
    feasible = portfolio.solve(instance.model_copy(
        update={"constraints": instance.constraints.model_copy(update={"budget": 20000.0})}
    ), params=SolveParams(prefer="none")).to_dict()
    assert '<div id="ways-out">' not in render_report(feasible, instance)
    write_result_workbook(feasible, target, instance)
    assert "ways out" not in openpyxl.load_workbook(target).sheetnames
