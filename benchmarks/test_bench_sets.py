"""Benchmark-set timings (pytest-benchmark): reading the files and building instances.

Solving the suites is done by ``portfolio bench`` / ``benchmarks/validate_sets.py`` (one solve per
instance and backend, with a report); this module only times the readers. Run with::

    PYTHONPATH=src pytest benchmarks/test_bench_sets.py --benchmark-only
"""

from __future__ import annotations

from typing import Any

import pytest

from portfolio.benchsets import SUITES, suite_instances
from portfolio.domain import Instance


@pytest.mark.parametrize("suite", SUITES)
def test_read_suite(benchmark: Any, suite: str) -> None:
    """Parse every file of a suite (numbers only, no instance objects)."""
    items = benchmark(suite_instances, suite)
    benchmark.extra_info["instances"] = len(items)
    assert items


@pytest.mark.parametrize("suite", SUITES)
def test_build_suite_instances(benchmark: Any, suite: str) -> None:
    """Canonical dicts and their validation into Instance objects, for a whole suite."""
    items = suite_instances(suite)

    def build() -> list[Instance]:
        return [Instance.from_data(item.data(), source=item.name) for item in items]

    instances = benchmark.pedantic(build, rounds=3, iterations=1)
    benchmark.extra_info["instances"] = len(instances)
    benchmark.extra_info["options"] = sum(
        len(s.options) for instance in instances for s in instance.services
    )
