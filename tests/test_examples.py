"""The bundled example instances: every format says the same, and each solves to a verified plan."""

from __future__ import annotations

from pathlib import Path

import pytest

import portfolio
from portfolio import Status


def test_example_formats_agree(examples: Path) -> None:
    loaded = [
        portfolio.load_instance(examples / f"example_borough.{suffix}")
        for suffix in ("yaml", "json", "toml")
        if (examples / f"example_borough.{suffix}").exists()
    ]
    assert len(loaded) >= 2
    assert all(instance == loaded[0] for instance in loaded)


def test_example_borough_solves_on_every_backend(examples: Path, backend: str) -> None:
    result = portfolio.solve(examples / "example_borough.yaml", backend=backend, time_limit=120)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.verified
    reference = portfolio.solve(examples / "example_borough.yaml")
    assert result.objective == pytest.approx(reference.objective, rel=1e-6)
    plan = result.require_plan()
    assert plan.changes  # the example is built so that some services change mode
    assert plan.binding  # and some limits bind
