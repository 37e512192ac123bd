"""Multi-year Lagrangian start (pytest-benchmark): the bound and the plan without the full LP.

Random multi-year instances (:func:`portfolio.multiyear.generate.random_multi_year_instance`,
seed 0) of 300 services x 5 years and 1000 x 7. Each round runs
:func:`portfolio.multiyear.lagrange.lagrangian_start` to convergence (column generation to the LP
bound, then the master MIP to 1e-4); the plan must meet the compiled model, and its distance from
the bound is stored in ``extra_info``. Run with::

    PYTHONPATH=src pytest benchmarks/test_bench_multiyear_lagrange.py --benchmark-only
"""

from __future__ import annotations

from typing import Any

import pytest

from portfolio.multiyear.compile import compile_multi_year
from portfolio.multiyear.generate import random_multi_year_instance
from portfolio.multiyear.lagrange import describe, lagrangian_start
from portfolio.result import relative_gap


@pytest.mark.parametrize(("services", "years"), [(300, 5), (1000, 7)])
def test_lagrangian_start(benchmark: Any, services: int, years: int) -> None:
    compiled = compile_multi_year(random_multi_year_instance(services, years=years, seed=0))
    result = benchmark.pedantic(
        lambda: lagrangian_start(compiled, None, rel_gap=1e-4), rounds=2, iterations=1
    )
    assert result.x is not None
    assert compiled.model.accepts(result.x)
    assert result.bound is not None
    gap = relative_gap(compiled.model.objective_value(result.x), result.bound)
    benchmark.extra_info.update(describe(result), gap=gap, columns=compiled.model.num_cols)
