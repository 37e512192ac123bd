"""Scenario sweeps: grids, dotted paths, the curve, the chart."""

from __future__ import annotations

import copy
import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from portfolio import solve
from portfolio.cli import main
from portfolio.errors import PortfolioError
from portfolio.generate import random_instance_data
from portfolio.io import read_data
from portfolio.sweep import (
    Axis,
    Grid,
    expand,
    linear_grid,
    parse_scale,
    parse_set,
    scale_value,
    set_path,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _read_curve(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_parse_set_grids_and_lists() -> None:
    assert parse_set("constraints.budget=80000:100000:11") == Axis(
        "constraints.budget", tuple(range(80000, 100001, 2000))
    )
    assert parse_set("constraints.min_flexibility=0.1:0.3:3").values == (0.1, 0.2, 0.3)
    assert linear_grid(0, 1, 4) == (0.0, 0.333333333333, 0.666666666667, 1.0)
    assert parse_set("services.3.weight=1,2.5,3").values == (1, 2.5, 3)
    assert parse_set("objective=minimise_cost,maximise_outcome").values == (
        "minimise_cost", "maximise_outcome"
    )
    assert parse_set("constraints.budget=5:5:1").values == (5,)
    for bad in ("budget", "=1:2:3", "a.b=1:2", "a.b=1:2:0", "a.b=x:2:3", "a..b=1"):
        with pytest.raises(PortfolioError):
            parse_set(bad)


def test_set_path_by_index_id_and_nested_keys() -> None:
    data: dict[str, Any] = {
        "services": [{"id": "waste", "weight": 1}, {"id": "parks", "weight": 1}],
        "constraints": {"budget": 10},
    }
    set_path(data, "services.1.weight", 3)
    set_path(data, "services.waste.weight", 2)
    set_path(data, "constraints.sector_share.private.max", 0.4)  # created on the way
    assert data["services"] == [{"id": "waste", "weight": 2}, {"id": "parks", "weight": 3}]
    assert data["constraints"]["sector_share"] == {"private": {"max": 0.4}}
    with pytest.raises(PortfolioError, match="out of range"):
        set_path(data, "services.7.weight", 1)
    with pytest.raises(PortfolioError, match="no item with id 'libraries'"):
        set_path(data, "services.libraries.weight", 1)
    with pytest.raises(PortfolioError, match="not a mapping or list"):
        set_path(data, "constraints.budget.max", 1)


def test_expand_is_the_cartesian_product_first_axis_slowest() -> None:
    axes = [Axis("a", (1, 2, 3)), Axis("b.c", ("x", "y"))]
    variants = list(expand({"a": 0}, axes, "inst"))
    assert [v.name for v in variants] == [f"inst-{k:03d}" for k in range(6)]
    assert [(v.data["a"], v.data["b"]["c"]) for v in variants] == [
        (1, "x"), (1, "y"), (2, "x"), (2, "y"), (3, "x"), (3, "y")
    ]


def test_budget_sweep_writes_curve_chart_and_results(tmp_path: Path) -> None:
    data = random_instance_data(15, seed=3)
    budget = data["constraints"]["budget"]
    file = _write(tmp_path / "council.json", data)
    out = tmp_path / "out"
    low, high = round(budget * 0.9), round(budget * 1.2)
    code = main([
        "sweep", str(file), "--set", f"constraints.budget={low}:{high}:4", "--out", str(out),
        "--executor", "serial",
    ])
    assert code == 1  # 10% less than the budget leaves no plan: an ordinary infeasible point
    rows = _read_curve(out / "curve.csv")
    assert [row["variant"] for row in rows] == [f"council-{k:03d}" for k in range(4)]
    assert [float(row["constraints.budget"]) for row in rows] == list(linear_grid(low, high, 4))
    assert rows[0]["status"] == "infeasible"
    assert rows[0]["objective"] == ""
    assert [row["status"] for row in rows[1:]] == ["optimal"] * 3
    planned = [row for row in rows if row["objective"]]
    objectives = [float(row["objective"]) for row in planned]
    assert objectives == sorted(objectives)  # more money never lowers the best outcome
    for row in planned:
        result = json.loads((out / f"{row['variant']}.result.json").read_text())
        assert int(row["changes"]) == len(result["changes"])
        assert float(row["annual_cost"]) <= float(row["constraints.budget"]) + 1e-6
        assert result["parameters"] == {"constraints.budget": float(row["constraints.budget"])}
    assert (out / "curve.png").read_bytes()[:8] == PNG_SIGNATURE
    assert len(json.loads((out / "summary.json").read_text())["rows"]) == 4


def test_two_parameters_and_missing_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path / "small.json", random_instance_data(8, seed=1))
    out = tmp_path / "out"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    code = main([
        "sweep", str(file), "--set", "constraints.min_flexibility=0.3:0.5:3",
        "--set", "services.s000001.weight=1,3", "--out", str(out), "--executor", "serial",
    ])
    assert code == 0
    rows = _read_curve(out / "curve.csv")
    assert [(r["constraints.min_flexibility"], r["services.s000001.weight"]) for r in rows] == [
        ("0.3", "1"), ("0.3", "3"), ("0.4", "1"), ("0.4", "3"), ("0.5", "1"), ("0.5", "3")
    ]
    assert not (out / "curve.png").exists()
    assert "chart skipped: matplotlib is not installed" in capsys.readouterr().out


def test_bad_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(tmp_path / "small.json", random_instance_data(5, seed=1))
    code = main([
        "sweep", str(file), "--set", "services.99.weight=1:2:2", "--out", str(tmp_path / "o"),
    ])
    assert code == 2
    assert "out of range" in capsys.readouterr().err
    code = main([
        "sweep", str(file), "--set", "constraints.budgett=1:2:2", "--out", str(tmp_path / "o"),
    ])
    assert code == 2
    assert "budgett" in capsys.readouterr().err


# ---------------------------------------------------------------------- sweeps of lists
# Three years, discount 3.5%; the yearly budget limits the annual cost. Annual costs of the four
# plans (s1, s2): aa 150 (outcome 2), ab 160 (4), ba 130 (3), bb 140 (5); s1 to b pays 10 once.
# instances/budget_path_multiyear.yaml (its comments derive the answers).
BUDGET_PATH_FILE = Path(__file__).parent.parent / "instances" / "budget_path_multiyear.yaml"
TINY_3_YEARS: dict[str, Any] = read_data(BUDGET_PATH_FILE)
D1, D2 = 1 / 1.035, 1 / 1.035**2


def test_parse_set_json_lists_and_parse_scale() -> None:
    assert parse_set("constraints.budget=[13000,12600,12200]").values == (13000, 12600, 12200)
    paths = parse_set("constraints.budget=[[318000,312000],[310000,300000]]")
    assert paths == Axis("constraints.budget", ([318000, 312000], [310000, 300000]))
    assert paths.name == "constraints.budget"
    assert parse_set('objective=["minimise_cost", {"maximise": {"outcome": 1}}]').values == (
        "minimise_cost", {"maximise": {"outcome": 1}}
    )
    assert parse_set("objective=minimise_cost").name == "set:objective"  # not the result column
    scale = parse_scale("constraints.budget=0.9:1.0:11")
    assert scale.scale
    assert scale.name == "scale:constraints.budget"
    assert isinstance(scale.values, Grid)
    assert len(scale.values) == 11
    assert scale.values[1] == 0.91
    assert scale.values[-1] == 1.0
    assert parse_scale("constraints.budget=0.5,1,2").values == (0.5, 1, 2)
    huge = parse_scale("constraints.budget=0.5:1.5:1000000000000")
    assert isinstance(huge.values, Grid)
    assert len(huge.values) == 10**12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("constraints.budget=[1,2", "not a JSON array of values"),
        ("constraints.budget=[]", "the list of values is empty"),
        ("constraints.budget=[1, NaN]", "not a JSON array of values"),
        ("constraints.budget=[[1, 1e400]]", "value 1 of 1 holds a number that is not finite"),
        ("constraints.budget=1,[2,3]", "one JSON array of values"),
        ("objective=[minimise_cost]", "strings are quoted"),
        ("constraints.budget=" + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_lists_are_named(text: str, message: str) -> None:
    with pytest.raises(PortfolioError, match=r"^--set constraints\.budget|^--set objective") as e:
        parse_set(text)
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("constraints.budget=0.9:1.0:1", "COUNT must be a whole number >= 2, got '1'"),
        ("constraints.budget=0.9", "at least two factors"),
        ("constraints.budget=0.9:x:3", "'x' is not a number"),
        ("constraints.budget=-1,1", "a factor must be >= 0, got -1"),
        ("constraints.budget", "--scale expects PATH=START:STOP:COUNT or PATH=F1,F2,..."),
    ],
)
def test_malformed_scales_are_named(text: str, message: str) -> None:
    with pytest.raises(PortfolioError, match=r"^--scale") as e:
        parse_scale(text)
    assert message in str(e.value)


def test_scale_multiplies_every_year_exactly() -> None:
    axes = [parse_scale("constraints.budget=0.9:1.0:3")]
    variants = list(expand(TINY_3_YEARS, axes, "tiny"))
    # 0.95 x 150 = 142.5 and 0.95 x 140 = 133 (0.95 * 140 is 132.99999999999997 in floats)
    assert [v.data["constraints"]["budget"] for v in variants] == [
        [144, 135, 126], [152, 142.5, 133], [160, 150, 140]
    ]
    assert all(type(y) is int for y in variants[0].data["constraints"]["budget"])
    assert [v.values for v in variants] == [
        {"scale:constraints.budget": f} for f in (0.9, 0.95, 1.0)
    ]
    assert variants[1].point().parameters == {
        "scale:constraints.budget": 0.95, "constraints.budget": [152, 142.5, 133]
    }
    assert TINY_3_YEARS["constraints"]["budget"] == [160, 150, 140]  # the base is untouched
    assert scale_value(12900, 0.9) == 11610
    assert scale_value(0.45, 1.1) == 0.495


def test_scale_sweep_objectives_hand_derived(tmp_path: Path) -> None:
    """At 0.9 year 3's budget 126 buys no plan; at 0.95 the best plan is bb, bb, ba (outcomes
    5, 5, 3: year 3's 133 does not pay for bb's 140); at 1.0 it is bb every year."""
    file = BUDGET_PATH_FILE
    out = tmp_path / "out"
    code = main([
        "sweep", str(file), "--scale", "constraints.budget=0.9:1.0:3", "--out", str(out),
        "--executor", "serial",
    ])
    assert code == 1  # one infeasible point
    rows = _read_curve(out / "curve.csv")
    assert [r["scale:constraints.budget"] for r in rows] == ["0.9", "0.95", "1.0"]
    assert [r["status"] for r in rows] == ["infeasible", "optimal", "optimal"]
    assert float(rows[1]["objective"]) == pytest.approx(5 + 5 * D1 + 3 * D2, rel=1e-9)
    assert float(rows[2]["objective"]) == pytest.approx(5 + 5 * D1 + 5 * D2, rel=1e-9)
    result = json.loads((out / "budget_path_multiyear-001.result.json").read_text())
    assert result["parameters"] == {
        "scale:constraints.budget": 0.95, "constraints.budget": [152, 142.5, 133]
    }
    assert result["schedule"] == {"s1": ["b", "b", "b"], "s2": ["b", "b", "a"]}


def test_list_sweep_of_budget_paths_equals_solving_each_alone(tmp_path: Path) -> None:
    paths = [[160, 150, 140], [150, 140, 130], [140, 140, 140], [135, 130, 130]]
    file = _write(tmp_path / "tiny.json", TINY_3_YEARS)
    out = tmp_path / "out"
    code = main([
        "sweep", str(file), "--set", f"constraints.budget={json.dumps(paths)}",
        "--out", str(out), "--executor", "serial",
    ])
    assert code == 0
    rows = _read_curve(out / "curve.csv")
    assert [json.loads(r["constraints.budget"]) for r in rows] == paths
    for row, path in zip(rows, paths, strict=True):
        alone = copy.deepcopy(TINY_3_YEARS)
        alone["constraints"]["budget"] = path
        result = solve(alone)
        assert result.status.value == row["status"] == "optimal"
        assert float(row["objective"]) == pytest.approx(result.objective, rel=1e-9)
    # hand-derived: 140 a year buys bb (5) every year; 135 and 130 buy ba (3) only
    assert float(rows[2]["objective"]) == pytest.approx(5 * (1 + D1 + D2), rel=1e-9)
    assert float(rows[3]["objective"]) == pytest.approx(3 * (1 + D1 + D2), rel=1e-9)


def test_multi_year_curve_has_discounted_totals_and_the_objective_by_name(
    tmp_path: Path,
) -> None:
    file = _write(tmp_path / "tiny.json", TINY_3_YEARS)
    out = tmp_path / "out"
    weighted = {"maximise": {"outcome": 1, "annual_cost": -0.01}}
    objectives = json.dumps(["maximise_outcome", "minimise_cost", weighted])
    code = main([
        "sweep", str(file), "--set", f"objective={objectives}",
        "--set", "constraints.budget=[[160,150,140],[150,140,130]]",
        "--out", str(out), "--executor", "serial",
    ])
    assert code == 0
    rows = _read_curve(out / "curve.csv")
    names = ["maximise_outcome", "minimise_cost", "maximise 1*outcome + -0.01*annual_cost"]
    assert [r["set:objective"] for r in rows] == [n for n in names for _ in range(2)]
    header = (out / "curve.csv").read_text().splitlines()[0]
    assert header.startswith("variant,set:objective,constraints.budget,status,objective,")
    for row in rows:
        result = json.loads((out / f"{row['variant']}.result.json").read_text())
        objective = float(row["objective"])
        assert objective == pytest.approx(result["objective"], rel=1e-12)
        years = result["years"]
        discounted = sum(y["discount_factor"] * y["objective"] for y in years)
        assert objective == pytest.approx(discounted, rel=1e-9)
        annual, one_off = float(row["annual_cost"]), float(row["one_off_cost"])
        if row["set:objective"] == "maximise_outcome":
            assert float(row["outcome"]) == pytest.approx(objective, abs=1e-6)
        elif row["set:objective"] == "minimise_cost":
            assert annual + one_off == pytest.approx(objective, abs=1e-5)
        else:
            assert float(row["outcome"]) - 0.01 * annual == pytest.approx(objective, abs=1e-5)
    # minimise_cost, budgets 160/150/140: ba every year, s1's move paid in 2027
    cheapest = rows[2]
    assert float(cheapest["annual_cost"]) == pytest.approx(130 * (1 + D1 + D2), abs=1e-6)
    assert float(cheapest["one_off_cost"]) == pytest.approx(10.0)
    assert float(cheapest["transition_cost"]) == pytest.approx(10.0)


def test_single_period_one_off_cost_counts_setup(tmp_path: Path) -> None:
    """instances/small/setup_cost_minimise_cost.yaml: both services to the trading company,
    annual 80 + 42, transitions 5 + 3, setup 18 once: objective 148."""
    file = Path(__file__).parent.parent / "instances/small/setup_cost_minimise_cost.yaml"
    out = tmp_path / "out"
    assert main([
        "sweep", str(file), "--scale", "modes.latc.setup_cost=1,2", "--out", str(out),
        "--executor", "serial",
    ]) == 0
    rows = _read_curve(out / "curve.csv")
    assert [(r["objective"], r["annual_cost"], r["one_off_cost"]) for r in rows] == [
        ("148.0", "122.0", "26.0"), ("150.0", "150.0", "0.0")  # setup 36: staying in house wins
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "constraints.budget=[[160,150]]"],
         "--set constraints.budget: value 1 of 1 ([160, 150]) has 2 yearly values; the file's "
         "list there has 3"),
        (["--set", "constraints.transition_budget=[[5,5]]"],
         "value 1 of 1 ([5, 5]) has 2 yearly values; the horizon has 3 years"),
        (["--scale", "modes.a.sector=0.9,1"],
         "--scale modes.a.sector: the instance has 'public' there; a scale multiplies a number"),
        (["--scale", "constraints.min_outcome=0.9,1"],
         "--scale constraints.min_outcome: the instance has nothing there"),
        (["--scale", "services.s9.weight=0.9,1"], "no item with id 's9' at 'services.s9'"),
        (["--scale", "constraints.budget=0.9:1:1"], "COUNT must be a whole number >= 2"),
        (["--set", "constraints.budget=[1,2"], "is not a JSON array of values"),
        (["--set", "constraints.budget=1,2", "--scale", "constraints.budget=1,2"],
         "each PATH may be swept once"),
        (["--scale", "constraints.budget=0.5:1.5:100000"],
         "the sweep has 100,000 variants (scale:constraints.budget: 100,000 values), more than "
         "the limit of 10,000"),
        ([], "a sweep needs at least one --set PATH=VALUES or --scale PATH=FACTORS"),
    ],
)
def test_bad_list_and_scale_input_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    file = _write(tmp_path / "tiny.json", TINY_3_YEARS)
    out = tmp_path / "out"
    assert main(["sweep", str(file), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert not (out / "curve.csv").exists()


def test_yearly_list_without_a_horizon_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {k: v for k, v in TINY_3_YEARS.items() if k != "horizon"}
    data["constraints"] = {"budget": 160}
    file = _write(tmp_path / "one.json", data)
    code = main([
        "sweep", str(file), "--set", "constraints.budget=[[160,150]]", "--out",
        str(tmp_path / "o"),
    ])
    assert code == 2
    assert f"{file}: --set constraints.budget: value 1 of 1 ([160, 150]) has 2 yearly values, " \
        "but the instance has no horizon" in capsys.readouterr().err


def test_server_sweep_job_takes_lists_and_scales() -> None:
    pytest.importorskip("fastapi", reason="the server needs portfolio[server]")
    from portfolio.server.jobs import JOB_KINDS, JobRequest
    from portfolio.server.problems import Problem

    build = JOB_KINDS["sweep"]
    spec = build(JobRequest(
        kind="sweep", instance=TINY_3_YEARS, scales=["constraints.budget=0.95,1"],
        sets=["constraints.transition_budget=[[10,0,0],[9,9,9]]"],
    ))
    budgets = [json.loads(item.content)["constraints"] for item in spec.items]
    assert budgets == [
        {"budget": b, "transition_budget": t}
        for t in ([10, 0, 0], [9, 9, 9]) for b in ([152, 142.5, 133], [160, 150, 140])
    ]
    results = [solve(json.loads(item.content)) for item in spec.items]
    # 9 a year cannot pay s1's move (10), and s1 in house costs at least 150 > 133 or 140
    assert [r.status.value for r in results] == ["optimal", "optimal", "infeasible", "infeasible"]
    assert results[0].objective == pytest.approx(5 + 5 * D1 + 3 * D2, rel=1e-9)
    assert results[1].objective == pytest.approx(5 + 5 * D1 + 5 * D2, rel=1e-9)
    for request, field_name in (
        (JobRequest(kind="sweep", instance=TINY_3_YEARS, scales=["constraints.budget=1"]),
         "scales[0]"),
        (JobRequest(kind="sweep", instance=TINY_3_YEARS, sets=["constraints.budget=[[1]]"]),
         "sets"),
    ):
        with pytest.raises(Problem) as caught:
            build(request)
        assert field_name in str(caught.value.__dict__)
