"""Shared fixtures: a ``backend`` fixture parametrised over every registered backend."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))  # the oracle and case tables are plain modules here

from portfolio.backends import backend_class, backend_names  # noqa: E402

BACKENDS = backend_names()


def _available(name: str) -> bool:
    return backend_class(name).is_available()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend; skipped with a reason when its solver is not installed."""
    name: str = request.param
    if not _available(name):
        pytest.skip(f"backend '{name}' is not installed (pip install 'portfolio[{name}]')")
    return name


@pytest.fixture
def examples() -> Path:
    """The instances/ folder."""
    return ROOT / "instances"


from serving import live_server  # noqa: E402, F401  (the HTTP service, once per session)
