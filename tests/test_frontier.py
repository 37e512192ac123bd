"""The trade-off frontier against brute force on tiny instances, on every backend.

The single-period enumerator (``frontier_oracle``) and the multi-year one
(``test_multiyear_bruteforce``'s ``enumerate_paths``/``evaluate``) import nothing from portfolio.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

import portfolio
from frontier_oracle import non_dominated, plans, random_instance
from portfolio.errors import ParameterError
from portfolio.tradeoff import frontier
from test_multiyear_bruteforce import enumerate_paths, evaluate, termination_case

PAIRS = [
    ("outcome", "maximise", "cost", "minimise"),
    ("cost", "minimise", "outcome", "maximise"),
    ("social_value", "maximise", "annual_cost", "minimise"),
    ("carbon", "minimise", "outcome", "maximise"),
]


def _run(data: dict[str, Any], pair: tuple[str, str, str, str], backend: str = "highs", **kw: Any):
    first, s1, second, s2 = pair
    senses = {first: s1, second: s2}
    return frontier(
        portfolio.instance_from_data(data),
        first,
        second,
        maximise=[n for n, s in senses.items() if s == "maximise"],
        minimise=[n for n, s in senses.items() if s == "minimise"],
        backend=backend,
        **kw,
    )


def _expected(data: dict[str, Any], pair: tuple[str, str, str, str]) -> list[tuple[float, float]]:
    first, s1, second, s2 = pair
    pairs = [(v[first], v[second]) for _, v in plans(data)]
    return non_dominated(pairs, (s1, s2))


def _points(result: Any) -> list[tuple[float, float]]:
    first, second = result.first, result.second
    return [(round(p.values[first], 6), round(p.values[second], 6)) for p in result.points]


def _setup_case() -> dict[str, Any]:
    """Three services in house; a trading company (setup cost 30) runs each for 5 less a year
    with a better outcome (see the test below for the hand-derived frontier)."""
    return {
        "name": "setup case",
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "latc", "sector": "public", "setup_cost": 30},
        ],
        "services": [
            {
                "id": f"s{i}",
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 100, "outcome": 50},
                    {"mode": "latc", "annual_cost": 95, "outcome": 60 - 2 * i},
                ],
            }
            for i in range(3)
        ],
    }


def test_setup_case_has_the_hand_derived_frontier() -> None:
    """Hand derivation: the company costs 30 once and saves 5 a service. Plans by how many of
    the three services move (outcome gains 10, 8, 6 for s0, s1, s2): none (150, 300); s0
    (160, 325); s0+s1 (168, 320); all three (174, 315). (160, 325) is dominated by (168, 320),
    and (168, 320) by (174, 315); the frontier is (150, 300) and (174, 315)."""
    result = _run(_setup_case(), PAIRS[0])
    assert _points(result) == [(150.0, 300.0), (174.0, 315.0)]
    assert result.complete
    assert [p.changes for p in result.points] == [0, 3]
    assert result.today == {"outcome": 150.0, "cost": 300.0, "feasible": True, "changes": 0}
    assert result.plan is not None
    assert result.plan["outcome"] == 174.0
    assert _expected(_setup_case(), PAIRS[0]) == _points(result)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[2]}")
def test_frontier_equals_brute_force(seed: int, pair: tuple[str, str, str, str]) -> None:
    data = random_instance(seed)
    expected = _expected(data, pair)
    result = _run(data, pair)
    assert _points(result) == expected
    assert result.complete
    assert result.found == len(expected)


@pytest.mark.parametrize("pair", PAIRS[:2], ids=lambda p: f"{p[0]}-{p[2]}")
def test_frontier_on_every_backend(backend: str, pair: tuple[str, str, str, str]) -> None:
    for seed in (1, 4):
        data = random_instance(seed)
        assert _points(_run(data, pair, backend)) == _expected(data, pair)
    assert _points(_run(_setup_case(), pair, backend)) == _expected(_setup_case(), pair)


def test_points_are_sorted_and_carry_their_plans() -> None:
    data = random_instance(3)
    result = _run(data, PAIRS[0])
    firsts = [p.values["outcome"] for p in result.points]
    assert firsts == sorted(firsts)
    instance = portfolio.instance_from_data(data)
    for point in result.points:
        positions = [point.options[s.id] for s in instance.services]
        verdict = portfolio.verify_plan(instance, positions)
        assert verdict.ok
        assert verdict.plan.objective == pytest.approx(point.values["outcome"])
        assert len(verdict.plan.changes) == point.changes


def test_more_points_than_asked_are_spread_and_marked_incomplete() -> None:
    data = random_instance(3)
    full = _run(data, PAIRS[0])
    assert full.found >= 3, "the case needs at least three points"
    thinned = _run(data, PAIRS[0], points=2)
    assert not thinned.complete
    assert thinned.found == full.found
    assert _points(thinned) == [_points(full)[0], _points(full)[-1]]
    assert "spread" in thinned.detail


def _multi_year_expected(
    data: dict[str, Any], first: str, second: str
) -> list[tuple[float, float]]:
    objective = {"outcome": "maximise_outcome", "cost": "minimise_cost"}
    per_service = [enumerate_paths(s, data["horizon"]) for s in data["services"]]
    pairs = []
    for choice in itertools.product(*per_service):
        values = []
        for name in (first, second):
            variant = copy.deepcopy(data)
            variant["objective"] = objective[name]
            values.append(evaluate(variant, choice))
        if values[0] is not None and values[1] is not None:
            pairs.append((values[0], values[1]))
    senses = ("maximise" if first == "outcome" else "minimise",
              "maximise" if second == "outcome" else "minimise")
    return non_dominated(pairs, senses)


@pytest.mark.parametrize("rate", [0.0, 0.035])
def test_multi_year_frontier_equals_brute_force_of_discounted_totals(rate: float) -> None:
    data = termination_case()
    data["horizon"]["discount_rate"] = rate
    expected = _multi_year_expected(data, "outcome", "cost")
    result = frontier(portfolio.instance_from_data(data), "outcome", "cost")
    assert result.multi_year
    assert result.complete
    assert [(round(a, 4), round(b, 4)) for a, b in _points(result)] == [
        (round(a, 4), round(b, 4)) for a, b in expected
    ]


def test_infeasible_instance_has_no_points() -> None:
    data = _setup_case()
    data["constraints"] = {"budget": 100}
    result = _run(data, PAIRS[0])
    assert result.points == ()
    assert result.complete
    assert result.plan is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first": "outcome", "second": "outcome"}, "the same"),
        ({"first": "outcome", "second": "carbon_t"}, "unknown criterion 'carbon_t'"),
        ({"first": "outcome", "second": "cost", "maximise": ["cost"], "minimise": ["cost"]},
         "both maximised and minimised"),
        ({"first": "outcome", "second": "cost", "points": 1}, "at least 2"),
    ],
)
def test_bad_requests_are_named_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        frontier(portfolio.instance_from_data(_setup_case()), **kwargs)


# ---------------------------------------------------------------------- the command
def _cli(*argv: str) -> int:
    from portfolio.cli import main

    return main(list(argv))


def test_cli_writes_json_and_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    instance = tmp_path / "setup.json"
    instance.write_text(json.dumps(_setup_case()))
    out = tmp_path / "f.json"
    code = _cli("frontier", str(instance), "--maximise", "outcome", "--minimise", "cost",
                "--output", str(out), "--chart", str(tmp_path / "f.svg"))
    assert code == 0
    data = json.loads(out.read_text())
    assert [(p["outcome"], p["cost"]) for p in data["points"]] == [(150.0, 300.0), (174.0, 315.0)]
    assert data["complete"] is True
    assert data["criteria"][0]["name"] == "outcome"
    svg = (tmp_path / "f.svg").read_text()
    assert svg.startswith("<svg")
    assert 'data-mark="today"' in svg
    assert 'data-mark="plan"' in svg
    printed = capsys.readouterr().out
    assert "174" in printed
    assert "315" in printed
    assert "today" in printed
    pytest.importorskip("matplotlib", reason="matplotlib draws the PNG chart")
    assert _cli("frontier", str(instance), "--chart", str(tmp_path / "f.png")) == 0
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_reversed_order_sorts_along_the_first(tmp_path: Path) -> None:
    instance = tmp_path / "setup.json"
    instance.write_text(json.dumps(_setup_case()))
    out = tmp_path / "f.json"
    assert _cli("frontier", str(instance), "--minimise", "cost", "--maximise", "outcome",
                "-o", str(out)) == 0
    data = json.loads(out.read_text())
    assert [(p["cost"], p["outcome"]) for p in data["points"]] == [(300.0, 150.0), (315.0, 174.0)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--maximise", "carbon_t"], "unknown criterion 'carbon_t'"),
        (["--maximise", "outcome", "--minimise", "cost", "--minimise", "annual_cost"],
         "at most two criteria"),
        (["--chart", "f.gif"], "unknown chart format '.gif'"),
    ],
)
def test_cli_bad_input_exits_2_with_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    instance = tmp_path / "setup.json"
    instance.write_text(json.dumps(_setup_case()))
    assert _cli("frontier", str(instance), *argv) == 2
    assert message in capsys.readouterr().err


def test_cli_infeasible_exits_1(tmp_path: Path) -> None:
    data = _setup_case()
    data["constraints"] = {"budget": 100}
    instance = tmp_path / "tight.json"
    instance.write_text(json.dumps(data))
    assert _cli("frontier", str(instance)) == 1


def test_text_says_when_the_time_ran_out_before_any_point() -> None:
    from portfolio.cli.frontier import frontier_text

    data = {
        "instance": "x",
        "criteria": [
            {"name": "outcome", "sense": "maximise", "step": 1.0},
            {"name": "cost", "sense": "minimise", "step": 1.0},
        ],
        "points": [],
        "complete": False,
        "found": 0,
        "detail": "the time limit ran out after 0 points: the frontier is incomplete",
    }
    assert frontier_text(data).splitlines()[1] == (
        "No point was found: the time limit ran out after 0 points: the frontier is incomplete."
    )
    data["complete"] = True
    assert "no frontier" in frontier_text(data)


@pytest.mark.parametrize("broken", ["not json", '{"name": "x", "modes": [], "services": 3}'])
def test_cli_broken_file_prints_the_same_error_as_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    instance = tmp_path / "broken.json"
    instance.write_text(broken)
    assert _cli("solve", str(instance)) == 2
    said_by_solve = capsys.readouterr().err
    assert _cli("frontier", str(instance)) == 2
    said_by_frontier = capsys.readouterr().err
    assert said_by_frontier.startswith("portfolio: ")
    assert said_by_frontier == said_by_solve
    assert "broken.json" in said_by_frontier
