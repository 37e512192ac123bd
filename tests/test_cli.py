"""The portfolio command, run as a user runs it: a subprocess, exit codes, messages, files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "instances" / "small"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_solve_writes_result_file(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    proc = run("solve", str(SMALL / "budget_binds.yaml"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\* budget\s", proc.stdout)  # the binding budget is marked
    result = json.loads(out.read_text())
    for key in (
        "status",
        "objective",
        "bound",
        "assignment",
        "options",
        "backend",
        "solve_seconds",
        "verified",
    ):
        assert key in result
    assert result["status"] == "optimal"
    assert result["objective"] == 128
    assert result["assignment"] == {"waste": "in_house", "libraries": "voluntary"}
    assert result["options"] == {"waste": 0, "libraries": 1}
    assert result["verified"] is True
    assert "budget" in result["binding"]


def test_json_output_is_pure_json() -> None:
    proc = run("solve", str(SMALL / "budget_binds.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objective"] == 128


def test_infeasible_exit_1_with_explanation(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run("solve", str(SMALL / "infeasible_budget.yaml"), "-o", str(out))
    assert proc.returncode == 1
    assert "budget must rise by" in proc.stdout
    result = json.loads(out.read_text())
    assert result["status"] == "infeasible"
    assert result["explanation"]["relaxations"][0]["constraint"] == "budget"


BAD_INPUTS = [
    # (mutation on the budget_binds instance, text expected in the message)
    (
        lambda d: d["services"][0]["options"][0].update(annual_cost=-1),
        ["service 'waste'", "options[0].annual_cost"],
    ),
    (
        lambda d: d["services"][1]["options"][0].update(mode="ghost"),
        ["service 'libraries'", "options[0].mode", "ghost"],
    ),
    (lambda d: d["services"][0].update(current_mode="cease"), ["service 'waste'", "current_mode"]),
    (lambda d: d["services"].append(dict(d["services"][0])), ["service 'waste'", "duplicate"]),
    (lambda d: d["modes"].append(dict(d["modes"][0])), ["mode", "duplicate"]),
    (
        lambda d: d["constraints"].update(fixed={"ghost": "in_house"}),
        ["constraints", "fixed.ghost"],
    ),
    (lambda d: d["constraints"].update(same_mode=[["waste", "ghost"]]), ["same_mode[0]", "ghost"]),
    (lambda d: d["constraints"].update(budget=float("nan")), ["constraints", "budget", "finite"]),
    (
        lambda d: d["constraints"].update(sector_share={"private": {"max": 1.5}}),
        ["sector_share", "max"],
    ),
    (lambda d: d["services"][0]["options"][0].update(flexibility=2), ["options[0].flexibility"]),
    (lambda d: d["constraints"].update(limits=[{"metric": "carbon"}]), ["limits[0]", "max"]),
    (
        lambda d: d["constraints"].update(limits=[{"metric": "carbn", "max": 1}]),
        ["limits[0].metric", "carbn"],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD_INPUTS)
def test_bad_input_exit_2_names_item_and_field(tmp_path: Path, mutate, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    mutate(data)
    path = write(tmp_path / "bad.yaml", data)
    for command in ("solve", "validate"):
        proc = run(command, str(path))
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert str(path) in proc.stderr
        for text in expected:
            assert text in proc.stderr, (text, proc.stderr)


def test_nan_literal_in_json_is_rejected(tmp_path: Path) -> None:
    data = json.loads(json.dumps(yaml.safe_load((SMALL / "budget_binds.yaml").read_text())))
    text = re.sub(r'"annual_cost": [0-9.]+', '"annual_cost": NaN', json.dumps(data), count=1)
    assert "NaN" in text
    path = tmp_path / "nan.json"
    path.write_text(text)
    proc = run("validate", str(path))
    assert proc.returncode == 2
    assert "finite" in proc.stderr
    assert "annual_cost" in proc.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["solve", "missing.yaml"], "file not found"),
        (["solve", "x.csv"], "unknown file type"),
        (["solve", str(SMALL / "budget_binds.yaml"), "--backend", "gurobi"], "unknown backend"),
        (["solve", str(SMALL / "budget_binds.yaml"), "--time-limit", "-3"], "positive"),
        (["solve", str(SMALL / "budget_binds.yaml"), "--gap", "2"], "[0, 1)"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args: list[str], expected: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("modes: [\n")
    proc = run("solve", str(path))
    assert proc.returncode == 2
    assert "invalid YAML" in proc.stderr
    assert str(path) in proc.stderr


def test_schema_and_backends() -> None:
    schema = json.loads(run("schema").stdout)
    assert "services" in schema["properties"]
    proc = run("backends", "--json")
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert set(rows) >= {"highs", "cbc", "cpsat", "scip"}
    assert rows["highs"]["default"] is True


def test_validate_reports_every_error_at_once(tmp_path: Path) -> None:
    data = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    data["services"][0]["options"][0]["annual_cost"] = -1
    data["services"][1]["options"][0]["outcome"] = "high"
    proc = run("validate", str(write(tmp_path / "two.yaml", data)))
    assert proc.returncode == 2
    assert "2 errors" in proc.stderr
