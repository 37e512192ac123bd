"""The bundled example instances: every format says the same, and each solves to a verified plan."""

from __future__ import annotations

from pathlib import Path

import pytest

import portfolio
from portfolio import Status

ROOT = Path(__file__).resolve().parent.parent


def test_example_formats_agree(examples: Path) -> None:
    loaded = [
        portfolio.load_instance(examples / f"example_borough.{suffix}")
        for suffix in ("yaml", "json", "toml")
        if (examples / f"example_borough.{suffix}").exists()
    ]
    assert len(loaded) >= 2
    assert all(instance == loaded[0] for instance in loaded)


@pytest.fixture(scope="module")
def reference_objective() -> float:
    """The example's optimum on the default backend, solved once for every backend's test (only
    the objective is compared, which the tie-break among equally good plans never changes)."""
    reference = portfolio.solve(ROOT / "instances" / "example_borough.yaml", prefer="none")
    assert reference.status is Status.OPTIMAL, reference.detail
    assert reference.objective is not None
    return reference.objective


def test_example_borough_solves_on_every_backend(
    examples: Path, backend: str, reference_objective: float
) -> None:
    result = portfolio.solve(examples / "example_borough.yaml", backend=backend, time_limit=120)
    assert result.status is Status.OPTIMAL, result.detail
    assert result.verified
    assert result.objective == pytest.approx(reference_objective, rel=1e-6)
    plan = result.require_plan()
    assert plan.changes  # the example is built so that some services change mode
    assert plan.binding  # and some limits bind
