"""The backend template (``Backend.solve``): one check of every returned vector, one rule for a
vector that fails it, and the registry a new backend joins.

Every test runs real solvers on real models; where a hook is overridden, it is to make a real
solver's answer wrong on purpose, so that the check has something to catch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import portfolio
from portfolio import Backend, SolveParams, Status, register_backend
from portfolio.backends import backend_class, backend_names, get_backend, unregister_backend
from portfolio.backends.base import SolveRequest
from portfolio.backends.highs import HighsBackend
from portfolio.compile import compile_instance
from portfolio.errors import BackendOptionError
from portfolio.linear import LinearModel, RowBlock, Sense
from portfolio.result import BackendResult

QUIET = SolveParams(time_limit=60)


@pytest.fixture
def budget_binds(examples: Path) -> LinearModel:
    """Two services, budget 140: the best plan keeps waste in house and moves libraries to the
    voluntary sector, outcome 128 (tests/conformance_cases.py)."""
    instance = portfolio.load_instance(examples / "small" / "budget_binds.yaml")
    return compile_instance(instance).model


def _corrupting(cls: type[Backend], *, hit_limit: bool) -> type[Backend]:
    """``cls`` with a ``map_back`` that sets every column of the solver's answer to 1 (which
    picks every option of every service, breaking the rows that choose one), and says a limit
    stopped the search when ``hit_limit``."""

    def map_back(self: Backend, request: SolveRequest, raw: Any) -> BackendResult:
        answer = cls.map_back(self, request, raw)
        assert answer.x is not None  # the real solver found the plan
        return replace(answer, x=np.ones_like(answer.x), hit_limit=hit_limit)

    name = f"corrupt-{cls.name}"
    return type(f"Corrupt{cls.__name__}", (cls,), {"map_back": map_back, "name": name})


@pytest.mark.parametrize("hit_limit", [False, True], ids=["finished", "limit"])
def test_every_backend_discards_a_vector_that_breaks_the_model(
    backend: str, budget_binds: LinearModel, hit_limit: bool
) -> None:
    clean = get_backend(backend).solve(budget_binds, QUIET, time_limit=60)
    assert clean.status is Status.OPTIMAL, clean.detail
    assert clean.objective == pytest.approx(128.0)

    solver = _corrupting(backend_class(backend), hit_limit=hit_limit)()
    answer = solver.solve(budget_binds, QUIET, time_limit=60)
    assert answer.x is None
    assert answer.objective is None
    assert answer.reduced_costs is None
    assert f"{solver.name}'s plan failed verification against the model" in answer.detail
    assert "discarded" in answer.detail
    if hit_limit:  # a limit ended the search: no plan, and the bound still holds
        assert answer.status is Status.TIME_LIMIT_NO_SOLUTION
        assert answer.bound == pytest.approx(clean.bound)
    else:
        assert answer.status is Status.ERROR
        assert answer.bound is None


def test_the_pipeline_reports_no_plan_from_a_backend_whose_vector_fails(examples: Path) -> None:
    register_backend(_corrupting(HighsBackend, hit_limit=False))
    try:
        result = portfolio.solve(
            examples / "small" / "budget_binds.yaml",
            backend="corrupt-highs",
            params=QUIET.with_(heuristic=False),
        )
    finally:
        unregister_backend("corrupt-highs")
    assert result.status is Status.ERROR
    assert result.plan is None
    assert "failed verification against the model" in result.detail


class RenamedHighs(HighsBackend):
    """HiGHS under a name of its own, as a user would register it."""

    name = "highs-renamed"
    description = "HiGHS, registered under another name"


@pytest.fixture
def renamed() -> Iterator[str]:
    register_backend(RenamedHighs)
    yield RenamedHighs.name
    unregister_backend(RenamedHighs.name)


def test_a_registered_backend_solves_by_name(renamed: str, examples: Path) -> None:
    assert renamed in backend_names()
    assert renamed in portfolio.available_backends()
    assert isinstance(portfolio.get_backend(renamed), RenamedHighs)
    path = examples / "small" / "budget_binds.yaml"
    result = portfolio.solve(path, backend=renamed, params=QUIET)
    assert result.backend == renamed
    assert result.status is Status.OPTIMAL
    assert result.objective == 128
    assert result.plan is not None
    assert result.plan.assignment == {"waste": "in_house", "libraries": "voluntary"}


def test_unregistering_removes_the_name() -> None:
    register_backend(RenamedHighs, "highs-again")
    assert "highs-again" in backend_names()
    unregister_backend("highs-again")
    assert "highs-again" not in backend_names()
    with pytest.raises(portfolio.UnknownBackendError, match="highs-again"):
        portfolio.get_backend("highs-again")


def _two_column_lp(sense: Sense, scale: float) -> LinearModel:
    """``min -3a - 2b`` (or ``max 3a + 2b``), times ``scale``, with ``a + b <= 1.5`` and
    ``0 <= a, b <= 1``, integer. The relaxation's optimum is ``a = 1, b = 0.5`` with the row's
    dual ``-2 scale`` (``b`` lies between its bounds), so the reduced costs are ``-scale`` for
    ``a`` and 0 for ``b`` (signs flipped for the maximisation)."""
    sign = 1.0 if sense is Sense.MINIMISE else -1.0
    return LinearModel(
        sense=sense,
        objective=sign * scale * np.array([-3.0, -2.0]),
        objective_offset=0.0,
        matrix=sp.csr_matrix(np.array([[1.0, 1.0]])),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([1.5]),
        col_lower=np.zeros(2),
        col_upper=np.ones(2),
        integrality=np.array([True, True]),
        blocks=(RowBlock("capacity", 0, 1, kind="capacity"),),
    )


@pytest.mark.parametrize("sense", [Sense.MINIMISE, Sense.MAXIMISE], ids=["min", "max"])
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_cbc_returns_the_reduced_costs_of_a_relaxation(sense: Sense, scale: float) -> None:
    """CBC's reduced costs (read from its solution file) survive to the answer, unscaled (an
    objective of 3000 is sent to CBC times a power of two) and in the model's sense; HiGHS
    gives the same."""
    if not backend_class("cbc").is_available():
        pytest.skip("backend 'cbc' is not installed (pip install 'portfolio[cbc]')")
    model = _two_column_lp(sense, scale)
    sign = 1.0 if sense is Sense.MINIMISE else -1.0
    expected = sign * scale * np.array([-1.0, 0.0])
    for name in ("cbc", "highs"):
        answer = get_backend(name).solve(model, QUIET, time_limit=60, relax=True)
        assert answer.status is Status.OPTIMAL, answer.detail
        np.testing.assert_allclose(answer.x, [1.0, 0.5])
        assert answer.objective == pytest.approx(sign * -4.0 * scale)
        assert answer.reduced_costs is not None, name
        np.testing.assert_allclose(answer.reduced_costs, expected, atol=1e-9 * scale)
        assert answer.seconds > 0
    integer = get_backend("cbc").solve(model, QUIET, time_limit=60)
    assert integer.objective == pytest.approx(sign * -3.0 * scale)
    assert integer.reduced_costs is None  # only an optimal relaxation has them


def test_contradictory_bounds_are_infeasible_on_every_backend(backend: str) -> None:
    model = _two_column_lp(Sense.MINIMISE, 1.0)
    no_integer = replace(model, col_lower=np.array([0.2, 0.0]), col_upper=np.array([0.8, 1.0]))
    answer = get_backend(backend).solve(no_integer, QUIET, time_limit=60)
    assert answer.status is Status.INFEASIBLE
    assert "column x0 has no value within its bounds [0.2, 0.8] (integer)" in answer.detail
    empty_row = replace(
        model,
        matrix=sp.csr_matrix((1, 2)),
        row_lower=np.array([1.0]),
        row_upper=np.array([np.inf]),
    )
    answer = get_backend(backend).solve(empty_row, QUIET, time_limit=60)
    assert answer.status is Status.INFEASIBLE
    assert "row capacity cannot hold: bounds [1, inf] on an empty row" in answer.detail


def test_solve_checks_the_options_first(backend: str) -> None:
    model = _two_column_lp(Sense.MINIMISE, 1.0)
    params = QUIET.with_(backend_options={"no_such_option": 1})
    with pytest.raises(BackendOptionError) as caught:
        get_backend(backend).solve(model, params, time_limit=60)
    assert caught.value.option == "no_such_option"
    assert caught.value.backend == backend


def test_a_relaxation_needs_the_lp_feature(backend: str) -> None:
    model = _two_column_lp(Sense.MINIMISE, 1.0)
    solver = get_backend(backend)
    if solver.supports(portfolio.Feature.LP):
        assert solver.solve(model, QUIET, time_limit=60, relax=True).status is Status.OPTIMAL
    else:
        with pytest.raises(portfolio.IncompatibleModelError, match="continuous relaxations"):
            solver.solve(model, QUIET, time_limit=60, relax=True)
