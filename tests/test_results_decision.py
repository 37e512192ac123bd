"""Every result carries today's baseline and the plan against it; the pipeline reports no
gratuitous change by default (issue 10), through ``portfolio.solve``, the JSON and the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import portfolio
from portfolio.errors import ParameterError
from portfolio.prefer import fewest_changes
from portfolio.resume import plan_problem, schema_problem
from test_prefer import _break_case, _tie_case

DISCOUNTED_OUTCOME = 60 * (1 + 1 / 1.035 + 1 / 1.035**2)


def _budget_case() -> dict[str, Any]:
    """The tie case with a budget of 140 that today's arrangement (150) breaks by 10."""
    data = _tie_case()
    data["constraints"] = {"budget": 140}
    return data


def _assert_single_period_baseline(today: Any) -> None:
    """Hand-derived: waste 100 + parks 50 in house; outcome 70 + 30; no one-off money; the
    budget of 140 broken by 10."""
    assert today["objective"] == 150.0
    assert today["annual_cost"] == 150.0
    assert today["one_off_cost"] == 0.0
    assert today["outcome"] == 100.0
    assert today["feasible"] is False
    assert [(v["name"], v["bound"], v["by"]) for v in today["violations"]] == [
        ("budget", 140.0, 10.0)
    ]


def _assert_single_period_versus(versus: Any) -> None:
    """The plan keeps waste in house and outsources parks: 100 + 40 a year + 5 once = 145."""
    assert versus["objective"] == -5.0
    assert versus["annual_cost"] == -10.0
    assert versus["one_off_cost"] == 5.0
    assert versus["outcome"] == -2.0
    assert versus["changes"] == ["parks"]
    assert versus["improves"] is True
    assert versus["today_feasible"] is False


def test_every_result_carries_the_baseline(backend: str) -> None:
    solved = portfolio.solve(_budget_case(), backend)
    assert solved.objective == 145.0
    assert solved.baseline is not None
    assert solved.versus_baseline is not None
    _assert_single_period_baseline(solved.baseline)
    _assert_single_period_versus(solved.versus_baseline)
    out = json.loads(json.dumps(solved.to_dict()))
    _assert_single_period_baseline(out["baseline"])
    _assert_single_period_versus(out["versus_baseline"])
    assert out["baseline"]["options"] == {"waste": 0, "parks": 0}


def test_an_infeasible_result_has_the_baseline_and_no_comparison() -> None:
    data = _tie_case()
    data["constraints"] = {"budget": 10}
    solved = portfolio.solve(data)
    assert solved.status is portfolio.Status.INFEASIBLE
    assert solved.baseline is not None
    assert solved.baseline["objective"] == 150.0
    assert [(v["name"], v["by"]) for v in solved.baseline["violations"]] == [("budget", 140.0)]
    assert solved.versus_baseline is None
    assert "prefer" not in solved.stats
    out = solved.to_dict()
    assert out["baseline"]["feasible"] is False
    assert "versus_baseline" not in out


def test_multi_year_result_carries_today_continued(backend: str) -> None:
    """Hand-derived: the voluntary contract (200 a year, outcome 60) runs all three years."""
    solved = portfolio.solve(_break_case(), backend)
    today = solved.baseline
    assert today is not None
    assert today["annual_cost"] == 600.0
    assert today["outcome"] == 180.0
    assert today["one_off_cost"] == 0.0
    assert today["feasible"] is True
    assert today["violations"] == []
    assert today["objective"] == pytest.approx(DISCOUNTED_OUTCOME, rel=1e-12)
    assert [year["annual_cost"] for year in today["years"]] == [200.0, 200.0, 200.0]
    versus = solved.versus_baseline
    assert versus is not None
    assert versus["changes"] == []
    assert versus["objective"] == pytest.approx(0.0, abs=1e-9)
    assert versus["one_off_cost"] == 0.0  # no fee paid: the contract is not broken
    out = json.loads(json.dumps(solved.to_dict()))
    assert out["baseline"]["annual_cost"] == 600.0
    assert out["versus_baseline"]["changes"] == []


# ---------------------------------------------------------------------- no gratuitous changes
def test_the_tie_is_resolved_without_the_gratuitous_change(backend: str) -> None:
    """minimise_cost: outsourcing waste costs exactly what keeping it costs (90 + 10 = 100);
    by default the plan keeps it, whatever plan the first phase found."""
    instance = portfolio.instance_from_data(_tie_case())
    solved = portfolio.solve(instance, backend)
    assert solved.objective == 145.0
    assert solved.plan is not None
    assert solved.plan.assignment == {"waste": "in_house", "parks": "private"}
    assert solved.stats["prefer"]["applied"] in ("none", "fewest_changes")
    assert solved.to_dict()["prefer"] == solved.stats["prefer"]
    off = portfolio.solve(instance, backend, prefer="none")
    assert off.objective == 145.0
    assert off.stats["prefer"] == {"rule": "none", "applied": "none",
                                   "detail": "turned off (prefer none)"}
    # The default is exactly the second phase applied to the plan as found.
    again = fewest_changes(instance, off, backend)
    assert again.plan is not None
    assert again.plan.assignment == solved.plan.assignment


def test_the_broken_contract_is_not_broken_by_default(backend: str) -> None:
    """The multi-year newcomer case: breaking the voluntary contract in 2028 (fee 300) and
    re-letting the same option has the objective of keeping it; the default keeps it."""
    instance = portfolio.instance_from_data(_break_case())
    solved = portfolio.solve(instance, backend)
    assert solved.multi_year is not None
    assert solved.multi_year.schedule == {"day_centres": ["voluntary"] * 3}
    assert sum(year.termination_cost for year in solved.multi_year.years) == 0.0
    assert solved.objective == pytest.approx(DISCOUNTED_OUTCOME, rel=1e-12)
    assert solved.stats["prefer"]["applied"] in ("none", "least_one_off")


def test_prefer_none_keeps_the_plan_as_found_with_highs() -> None:
    """HiGHS (seed 0) finds the plan that breaks the contract and re-lets it: prefer="none"
    reports it as the solver found it; the default drops the fee (least one-off money)."""
    instance = portfolio.instance_from_data(_break_case())
    off = portfolio.solve(instance, "highs", prefer="none")
    assert off.multi_year is not None
    assert sum(year.termination_cost for year in off.multi_year.years) == 300.0
    on = portfolio.solve(instance, "highs")
    assert on.objective == pytest.approx(off.objective, rel=1e-9)
    assert on.stats["prefer"]["applied"] == "least_one_off"
    assert on.stats["prefer"]["one_off"] == [300.0, 0.0]
    assert on.versus_baseline is not None
    assert on.versus_baseline["one_off_cost"] == 0.0
    assert off.versus_baseline is not None
    assert off.versus_baseline["one_off_cost"] == 300.0
    assert any("preferred one with 0 change(s)" in note for note in on.notes)


def test_a_plan_without_changes_skips_the_second_phase() -> None:
    """A plan that changes nothing has the fewest changes and the least one-off money (today's
    modes, whose setup every plan without a change pays): no re-solve."""
    data = _tie_case()
    data["objective"] = "maximise_outcome"
    solved = portfolio.solve(data)
    assert solved.plan is not None
    assert solved.plan.changes == ()
    assert solved.stats["prefer"]["applied"] == "none"
    assert solved.stats["prefer"]["detail"].startswith("the plan changes no mode")
    assert solved.versus_baseline is not None
    assert solved.versus_baseline["objective"] == 0.0


def test_prefer_must_be_a_known_rule() -> None:
    with pytest.raises(ParameterError, match="prefer must be one of changes, none"):
        portfolio.SolveParams(prefer="fewest")


# ---------------------------------------------------------------------- files and the command
def test_result_files_without_the_new_keys_still_verify() -> None:
    instance = portfolio.instance_from_data(_budget_case())
    data = json.loads(json.dumps(portfolio.solve(instance).to_dict()))
    assert schema_problem(data) is None
    assert plan_problem(data, instance, 1e-7) is None
    old = {k: v for k, v in data.items() if k not in ("baseline", "versus_baseline", "prefer")}
    assert schema_problem(old) is None
    assert plan_problem(old, instance, 1e-7) is None


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_json_has_baseline_and_prefer(tmp_path: Path) -> None:
    path = tmp_path / "tie.yaml"
    path.write_text(yaml.safe_dump(_budget_case()), encoding="utf-8")
    done = _run("solve", str(path), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    _assert_single_period_baseline(out["baseline"])
    _assert_single_period_versus(out["versus_baseline"])
    assert out["prefer"]["applied"] in ("none", "fewest_changes")
    written = tmp_path / "r.json"
    done = _run("solve", str(path), "--prefer", "none", "--output", str(written))
    assert done.returncode == 0, done.stderr
    out = json.loads(written.read_text(encoding="utf-8"))
    assert out["prefer"]["rule"] == "none"
    _assert_single_period_baseline(out["baseline"])
    bad = _run("solve", str(path), "--prefer", "fewest")
    assert bad.returncode == 2
    assert "--prefer" in bad.stderr
    assert "Traceback" not in bad.stderr
