"""Scenario sweeps: grids, dotted paths, the curve, the chart."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from portfolio.cli import main
from portfolio.errors import PortfolioError
from portfolio.generate import random_instance_data
from portfolio.sweep import Axis, expand, linear_grid, parse_set, set_path

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
