"""MIP starts (``SolveParams.start``, ``BatchItem.start``), the LP dual hint of ``portfolio
explain`` (row duals read back through the float scaling) and the work-limited tie-break.

Every answer is hand-derived or compared with a cold solve of the same instance.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import portfolio
from portfolio.backends import get_backend
from portfolio.backends.highs import HighsBackend
from portfolio.backends.scaling import scale_for_float
from portfolio.compile import compile_instance
from portfolio.errors import ParameterError
from portfolio.executors import BatchItem, input_hash, solve_many
from portfolio.guard import ABANDON_GRACE
from portfolio.linear import LinearModel, RowBlock, Sense
from portfolio.params import SolveParams
from portfolio.planspace import PlanSpace
from portfolio.whynot import explain_plan, instance_limits, lp_rates
from test_prefer import _tie_case
from test_whynot import mixed, newcomer

QUIET = SolveParams(prefer="none")


# ---------------------------------------------------------------------- MIP starts
def _plan(data: dict[str, Any], backend: str = "highs") -> dict[str, int]:
    result = portfolio.solve(data, backend, QUIET)
    assert result.plan is not None
    return dict(result.plan.options)


def test_a_verified_start_is_passed_and_the_optimum_is_the_cold_one(backend: str) -> None:
    data = newcomer()
    cold = portfolio.solve(data, backend, QUIET)
    # Today's arrangement (every option 0) meets every limit: outcome 100 against 106.
    warm = portfolio.solve(data, backend, QUIET.with_(start={"A": 0, "B": 0, "C": 0}))
    assert warm.status.value == "optimal"
    assert warm.objective == pytest.approx(cold.objective) == pytest.approx(106.0)
    record = warm.stats["start"]
    assert record["used"] is True
    assert record["objective"] == pytest.approx(100.0)
    assert backend in record["detail"]
    assert "start" not in cold.stats


def test_a_start_that_breaks_a_limit_or_names_nothing_is_ignored(backend: str) -> None:
    data = newcomer()
    # A and C private, B voluntary: three changes (max_changes is 1).
    broken = portfolio.solve(data, backend, QUIET.with_(start={"A": 1, "B": 1, "C": 1}))
    assert broken.objective == pytest.approx(106.0)
    assert broken.stats["start"]["used"] is False
    assert "max_changes" in broken.stats["start"]["detail"]
    partial = portfolio.solve(data, backend, QUIET.with_(start={"A": 0, "B": 1}))
    assert partial.stats["start"]["used"] is False
    assert "leaves out 1 service" in partial.stats["start"]["detail"]
    stranger = portfolio.solve(data, backend, QUIET.with_(start={"A": 0, "B": 1, "C": 0, "Z": 0}))
    assert "Z" in stranger.stats["start"]["detail"]
    out_of_range = portfolio.solve(data, backend, QUIET.with_(start={"A": 0, "B": 2, "C": 0}))
    assert "not a position 2" in out_of_range.stats["start"]["detail"]
    assert out_of_range.objective == pytest.approx(106.0)


def test_a_start_must_be_option_positions() -> None:
    with pytest.raises(ParameterError, match="option position"):
        SolveParams(start={"A": -1})
    with pytest.raises(ParameterError, match="option position"):
        SolveParams(start={"A": 1.5})  # type: ignore[dict-item]


def test_a_start_is_the_fallback_when_the_solver_finds_nothing_better() -> None:
    # HiGHS with no nodes, no heuristics and no presolve returns no plan of its own: the
    # verified start is what the solve reports (feasible, not optimal).
    data = newcomer()
    options = {
        "mip_max_nodes": 0,
        "presolve": "off",
        "mip_heuristic_effort": 0.0,
        "mip_heuristic_run_feasibility_jump": False,
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "mip_heuristic_run_root_reduced_cost": False,
        "mip_heuristic_run_zi_round": False,
        "mip_heuristic_run_shifting": False,
    }
    params = QUIET.with_(backend_options=options, start={"A": 0, "B": 0, "C": 0})
    result = portfolio.solve(data, "highs", params)
    assert result.has_plan
    assert result.objective is not None
    assert result.objective >= 100.0 - 1e-9
    assert result.stats["start"]["used"] is True


def test_batch_items_carry_their_start() -> None:
    content = json.dumps(newcomer())
    items = [
        BatchItem("cold", content),
        BatchItem("warm", content, start={"A": 0, "B": 1, "C": 0}),
    ]
    rows = {row.name: row for row in solve_many(items, "highs", QUIET, executor="serial")}
    assert rows["cold"].objective == rows["warm"].objective == pytest.approx(106.0)
    assert rows["warm"].result is not None
    assert rows["cold"].result is not None
    assert rows["warm"].result["stats"]["start"]["used"] is True
    assert "start" not in rows["cold"].result["stats"]
    # The start is part of what the item solves: --resume tells the two apart.
    assert rows["warm"].input_hash != rows["cold"].input_hash
    expected = input_hash(content, "highs", QUIET.with_(start=items[1].start))
    assert rows["warm"].input_hash == expected


@pytest.mark.parametrize("case", [newcomer, mixed])
def test_warm_started_explanations_equal_cold_ones(case: Any, backend: str) -> None:
    data = case()
    warm = explain_plan(data, backend=backend)
    cold = explain_plan(data, backend=backend, warm_start=False)
    assert cold.warm_starts == 0
    assert warm.warm_starts > 0
    for sid, why in warm.services.items():
        for ours, theirs in zip(why.alternatives, cold.services[sid].alternatives, strict=True):
            assert (ours.mode, ours.status) == (theirs.mode, theirs.status)
            if theirs.objective is None:
                assert ours.objective is None
            else:
                assert ours.objective == pytest.approx(theirs.objective, abs=1e-6)
    for ours, theirs in zip(warm.limits, cold.limits, strict=True):
        assert (ours.name, ours.status) == (theirs.name, theirs.status)
        if theirs.gain is not None:
            assert ours.gain == pytest.approx(theirs.gain, abs=1e-6)


def test_every_limit_resolve_and_every_feasible_move_starts_from_the_plan() -> None:
    # newcomer: the plan moves B to voluntary. Limits: budget, max_changes (2 re-solves, both
    # start from the plan). Why-not moves that keep every limit: B back in house (no change);
    # A private or C private would be a second change (max_changes 1): no start for those.
    result = explain_plan(newcomer())
    assert result.warm_starts == 3


# ---------------------------------------------------------------------- row duals
def _lp(sense: Sense, sign: float) -> LinearModel:
    """maximise 3000 x + 2000 y (or minimise its negative) s.t. 0.35 x + 0.7 y <= 0.7,
    x, y in [0, 1]: x = 1, y = 0.5, objective 4000; the row's dual is 2000 / 0.7 per unit of
    its bound (in the objective's own sense: +2857.14 for the maximisation, -2857.14 for the
    minimisation). The row is scaled by a power of ten and the objective by 2**-11 for the
    solver, so the duals must be read back through both factors."""
    return LinearModel(
        sense=sense,
        objective=sign * np.array([3000.0, 2000.0]),
        objective_offset=0.0,
        matrix=sp.csr_matrix(np.array([[0.35, 0.7]])),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([0.7]),
        col_lower=np.zeros(2),
        col_upper=np.ones(2),
        integrality=np.array([True, True]),
        blocks=(RowBlock("budget", 0, 1, kind="budget"),),
    )


@pytest.mark.parametrize("name", ["highs", "cbc"])
@pytest.mark.parametrize(("sense", "sign"), [(Sense.MAXIMISE, 1.0), (Sense.MINIMISE, -1.0)])
def test_row_duals_are_read_back_in_the_model_units(name: str, sense: Sense, sign: float) -> None:
    solver = get_backend(name)
    if not solver.is_available():
        pytest.skip(f"backend '{name}' is not installed")
    model = _lp(sense, sign)
    _, scaling = scale_for_float(model)
    assert scaling.row_factor[0] != 1.0
    assert scaling.objective_factor != 1.0
    answer = solver.solve(model, SolveParams(), time_limit=None, relax=True)
    assert answer.objective == pytest.approx(sign * 4000.0)
    assert answer.row_duals is not None
    assert answer.row_duals[0] == pytest.approx(sign * 2000.0 / 0.7, rel=1e-7)
    # The dual predicts the LP's change for a small step of the bound.
    step = 0.007
    moved = LinearModel(**{**model.__dict__, "row_upper": np.array([0.7 + step])})
    again = solver.solve(moved, SolveParams(), time_limit=None, relax=True)
    assert again.objective is not None
    assert answer.objective is not None
    change = again.objective - answer.objective
    assert change == pytest.approx(answer.row_duals[0] * step, rel=1e-6)


@pytest.mark.parametrize("name", ["highs", "cbc"])
def test_a_ranged_row_has_the_dual_of_its_active_side(name: str) -> None:
    # The same LP with a lower side too (CBC writes a ranged row as two rows: C and U).
    solver = get_backend(name)
    if not solver.is_available():
        pytest.skip(f"backend '{name}' is not installed")
    base = _lp(Sense.MAXIMISE, 1.0)
    ranged = LinearModel(**{**base.__dict__, "row_lower": np.array([-5.0])})
    answer = solver.solve(ranged, SolveParams(), time_limit=None, relax=True)
    assert answer.row_duals is not None
    assert answer.row_duals[0] == pytest.approx(2000.0 / 0.7, rel=1e-7)


def test_a_mip_answer_has_no_row_duals() -> None:
    answer = get_backend("highs").solve(_lp(Sense.MAXIMISE, 1.0), SolveParams(), time_limit=None)
    assert answer.row_duals is None


def test_lp_dual_hint_equals_the_hand_derived_lp_shadow_prices() -> None:
    # newcomer's LP relaxation (see test_whynot.newcomer): outcome 100 - 10 a + 6 b + 8 c with
    # cost 1000 - 50 a + 12 c <= budget and a + b + c <= max_changes. Optimum a = 0,
    # c = (budget - 1000) / 12 = 5/12, b = 1 - c: 106 + 2 c. So d LP / d budget = 2/12 and
    # d LP / d max_changes = 6 (b takes the extra change).
    explained = explain_plan(newcomer())
    duals = {limit.name: limit.lp_dual for limit in explained.limits}
    assert duals["budget"] == pytest.approx(1 / 6)
    assert duals["max_changes"] == pytest.approx(6.0)
    data = explained.to_dict()
    assert data["limits"][0]["lp_dual"] == pytest.approx(1 / 6)


def _lp_value(data: dict[str, Any]) -> float:
    model = compile_instance(portfolio.instance_from_data(data), reduce=False).model
    answer = get_backend("highs").solve(model, SolveParams(), time_limit=None, relax=True)
    assert answer.objective is not None
    return float(answer.objective)


def share_case() -> dict[str, Any]:
    """A share limit that binds in the LP: A and B each spend 100 whatever their mode; private
    raises A's outcome by 10 and B's by 4; private spend at most 30% of 200. LP: a <= 0.6
    (A's private fraction; B's is 0), outcome 20 + 10 a; the row is 100 a - 0.3 * 200 <= 0, so
    raising the share by dp lets a rise by 2 dp: d LP / d share = 20 (objective units per 1.0
    of share). The bound sits in the row's coefficients, not its right-hand side."""
    return {
        "name": "share",
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "private", "sector": "private"},
        ],
        "services": [
            {"id": "A", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 10},
                {"mode": "private", "annual_cost": 100, "outcome": 20},
            ]},
            {"id": "B", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 10},
                {"mode": "private", "annual_cost": 100, "outcome": 14},
            ]},
        ],
        "constraints": {"sector_share": {"private": {"max": 0.3}}},
    }


def test_lp_dual_of_a_share_is_the_hand_derived_rate() -> None:
    explained = explain_plan(share_case())
    (share,) = explained.limits
    assert share.name == "sector_share[private].max"
    assert share.lp_dual == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("case", "path", "step", "rate"),
    [
        (newcomer, ("constraints", "budget"), 1.0, 1 / 6),
        (share_case, ("constraints", "sector_share", "private", "max"), 0.01, 20.0),
    ],
)
def test_lp_dual_predicts_the_lp_change_for_a_small_step(
    case: Any, path: tuple[str, ...], step: float, rate: float
) -> None:
    data = case()
    instance = portfolio.instance_from_data(data)
    specs = instance_limits(instance)
    index = next(i for i, spec in enumerate(specs) if spec.path == path)
    node: Any = data
    for key in path:
        node = node[key]
    bound = float(node)
    rates = lp_rates(instance, data, specs, {index: (bound, bound + step)})
    assert rates[index] == pytest.approx(rate)
    moved = json.loads(json.dumps(data))
    target: Any = moved
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bound + step
    change = _lp_value(moved) - _lp_value(data)  # both cases maximise
    assert change == pytest.approx(rate * step)


# ---------------------------------------------------------------------- the tie-break
def test_the_tie_break_is_limited_by_work_not_time(backend: str) -> None:
    result = portfolio.solve(_tie_case(), backend)
    record = result.stats["prefer"]
    assert record["limited"].startswith("by work: ")
    for key in get_backend(backend).work_limit_options():
        assert key in record["limited"]
    # The preferred plan: waste stays in house (its change gains nothing), parks changes.
    assert result.plan is not None
    assert result.plan.assignment == {"waste": "in_house", "parks": "private"}
    # A time limit shorter than the backstop is the one the phase keeps.
    limited = portfolio.solve(_tie_case(), backend, time_limit=10)
    assert limited.stats["prefer"]["limited"].endswith("within the time limit")
    assert "within 20 s (as long as the first phase" in record["limited"]
    assert limited.plan is not None
    assert limited.plan.options == result.plan.options


# ---------------------------------------------------------------------- plan space guard
class _Overrunning(HighsBackend):
    """HiGHS that ignores its time limit and interrupt for 10 s before solving (a solver in a
    phase with no interrupt callback)."""

    def run(self, request: Any, translated: Any) -> Any:
        time.sleep(10.0)
        return super().run(request, translated)


def test_a_plan_space_solve_that_overruns_its_limit_is_cut_off() -> None:
    instance = portfolio.instance_from_data(newcomer())
    space = PlanSpace(instance, _Overrunning(), SolveParams(isolation="thread"))
    began = time.perf_counter()
    found = space.search(space.vector(instance.objective), "maximise", deadline=began + 0.5)
    waited = time.perf_counter() - began
    assert found.status.value == "time_limit_no_solution"
    assert "abandoned" in found.detail
    assert waited < 0.5 + ABANDON_GRACE + 2.0  # not the 10 s the solver takes
