"""Funding-scenario benchmarks (pytest-benchmark): compiling the extensive form of 300 services
over 5 years with a 3 x 3 tree of scenarios, and solving the bundled borough under its three
scenarios. The time-to-gap figures of ``bench_scenarios.py`` are the ones the README records;
these keep the compile and a whole solve under watch in ``make bench``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portfolio.domain import Instance
from portfolio.io import load_instance
from portfolio.params import SolveParams
from portfolio.scenarios.compile import compile_scenarios
from portfolio.scenarios.generate import random_scenario_data
from portfolio.solve import solve

ROOT = Path(__file__).resolve().parents[1]


def test_compile_300_services_9_scenarios(benchmark: Any) -> None:
    instance = Instance.from_data(random_scenario_data(300, branching=(3, 3), seed=0))
    compiled = benchmark.pedantic(compile_scenarios, args=(instance,), rounds=3, iterations=1)
    assert compiled.tree.num_nodes == 1 + 3 + 9 + 9 + 9
    benchmark.extra_info["columns"] = compiled.model.num_cols
    benchmark.extra_info["rows"] = compiled.model.num_rows


@pytest.mark.slow
def test_solve_the_borough_under_three_scenarios(benchmark: Any) -> None:
    instance = load_instance(ROOT / "instances" / "example_borough_scenarios.yaml")
    params = SolveParams(time_limit=120, rel_gap=1e-4, prefer="none", explain_infeasible=False)
    result = benchmark.pedantic(solve, args=(instance,), kwargs={"params": params}, rounds=1,
                                iterations=1)
    assert result.has_plan
    benchmark.extra_info["status"] = result.status.value
    benchmark.extra_info["gap"] = result.gap
