"""The plan space's objective vectors are taken from its own compiled columns, and the default
tie-break builds no option object (issue 13).

``PlanSpace.vector`` used to compile a changed copy of the instance for every criterion and, to
count changes, a copy with every option's transition cost set to 1 (which built every option
object: 700k at 100k services, 2.5 GB). These tests hold the new vectors to the old way, kept
here as the oracle (:func:`compiled_vector`), bit for bit, on every bundled instance and on
generated ones with every row family, effects, investments and discounting; and they count the
option objects a solve with the tie-break builds on an instance read by the fast reader.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio
from portfolio.columnar import columns_of
from portfolio.compile import compile_instance
from portfolio.domain import Instance, UnbuiltOptions, WeightedObjective
from portfolio.generate import random_instance_data
from portfolio.io import load_instance
from portfolio.multiyear import compile_multi_year
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.planspace import PlanSpace, known_figures
from portfolio.prefer import COUNTING, fewest_changes
from test_mix import everything_minimise_cost, everything_multi_year

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(
    path
    for pattern in ("*.yaml", "*.json", "*.toml", "*/*.yaml", "*/*.json")
    for path in (ROOT / "instances").glob(pattern)
    if "out_of_range" not in path.name
)


def compiled_vector(
    instance: Instance,
    objective: str | WeightedObjective,
    *,
    discounted: bool = True,
    unit_transition: bool = False,
) -> tuple[Any, float]:
    """The oracle: the objective vector of a changed copy of the instance, compiled as the plan
    space compiles it (every option's transition cost 1 when ``unit_transition``; a discount
    rate of 0 unless ``discounted``)."""
    update: dict[str, Any] = {"objective": objective}
    if unit_transition:
        update["services"] = [
            service.model_copy(
                update={
                    "options": [
                        option.model_copy(update={"transition_cost": 1.0})
                        for option in service.options
                    ]
                }
            )
            for service in instance.services
        ]
    if not discounted and instance.horizon is not None:
        update["horizon"] = instance.horizon.model_copy(update={"discount_rate": 0.0})
    changed = instance.model_copy(update=update)
    if changed.horizon is not None:
        model = compile_multi_year(changed, reduce=False).model
    else:
        model = compile_instance(changed, reduce=False).model
    return np.asarray(model.objective, dtype=np.float64), float(model.objective_offset)


def _objectives(instance: Instance) -> list[tuple[str | WeightedObjective, bool, bool]]:
    """(objective, discounted, unit_transition) of every vector the tie-break and the trade-off
    frontier ask for, and a few more."""
    one_off = {"transition_cost": 1.0, "setup_cost": 1.0, "termination_cost": 1.0,
               "investment_cost": 1.0}
    wanted: list[tuple[str | WeightedObjective, bool, bool]] = [
        (instance.objective, True, False),
        (COUNTING, False, True),
        (COUNTING, True, True),
        (COUNTING, True, False),
        (WeightedObjective(minimise=one_off), False, False),
        (WeightedObjective(minimise=one_off), True, False),
        ("maximise_outcome", True, False),
        ("minimise_cost", True, False),
        ("minimise_cost", False, True),
    ]
    for name in sorted(known_figures(instance)):
        wanted.append((WeightedObjective(maximise={name: 1.0}), True, False))
    wanted.append((WeightedObjective(minimise={"annual_cost": 2.0, "outcome": -0.5}), True, False))
    return wanted


def _assert_vectors_match(instance: Instance) -> int:
    space = PlanSpace(instance)
    compared = 0
    for objective, discounted, unit in _objectives(instance):
        got = space.vector(objective, discounted=discounted, unit_transition=unit)
        expected = compiled_vector(instance, objective, discounted=discounted,
                                   unit_transition=unit)
        assert got[0].dtype == np.float64
        assert np.array_equal(got[0], expected[0]), (objective, discounted, unit)
        assert got[1] == expected[1]
        compared += 1
    return compared


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT / "instances")))
def test_vectors_equal_the_compiled_copies_on_every_bundled_instance(path: Path) -> None:
    assert _assert_vectors_match(portfolio.load_instance(path)) >= 9


GENERATED = {
    "single_every_family": lambda: random_instance_data(
        40, seed=3, setup_costs=True, sector_shares=True, bundles=True),
    "multi_year": lambda: random_multi_year_data(20, years=4, seed=5, carbon_cut=0.05),
    "mixed_single": everything_minimise_cost,
    "mixed_multi_year": everything_multi_year,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_vectors_equal_the_compiled_copies_on_generated_instances(name: str) -> None:
    assert _assert_vectors_match(Instance.model_validate(GENERATED[name]())) >= 9


def test_the_counting_vector_counts_changes_of_mode() -> None:
    """Hand-checkable: one period, every option column whose mode is not the service's current
    one counts 1, every other column 0; over a horizon with discounting, a new contract in
    another mode counts 1 whatever its year."""
    instance = Instance.model_validate(GENERATED["single_every_family"]())
    space = PlanSpace(instance)
    counts, offset = space.vector(COUNTING, discounted=False, unit_transition=True)
    compiled = compile_instance(instance, reduce=False)
    table = compiled.table
    options = compiled.option_of_column
    expected = np.zeros(space.model.num_cols)
    expected[: options.shape[0]] = table.mode[options] != table.current_mode[table.service[options]]
    assert np.array_equal(counts, expected)
    assert offset == 0.0
    assert 0 < counts.sum() < options.shape[0]

    horizon = Instance.model_validate(GENERATED["multi_year"]())
    assert horizon.horizon is not None
    assert horizon.horizon.discount_rate > 0
    many = PlanSpace(horizon).vector(COUNTING, discounted=False, unit_transition=True)[0]
    assert set(np.unique(many).tolist()) == {0.0, 1.0}
    discounted = PlanSpace(horizon).vector(COUNTING, discounted=True, unit_transition=True)[0]
    assert discounted.max() == 1.0
    assert 0.0 < discounted[discounted > 0].min() < 1.0


def _fast_instance(tmp_path: Path, data: dict[str, Any]) -> Instance:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    instance = load_instance(path)
    assert columns_of(instance) is not None, "the fast reader refused the file"
    return instance


def services_built(instance: Instance) -> int:
    """Services whose option objects exist (the rest are still columns)."""
    return sum(type(s.__dict__["options"]) is not UnbuiltOptions for s in instance.services)


def test_the_default_tie_break_builds_no_option_object(tmp_path: Path) -> None:
    """A solve with the tie-break on an instance read fast (every row family) builds none of its
    options: the tie-break ran both re-solves and changed nothing, as the plan was already the
    preferred one."""
    data = random_instance_data(300, seed=1, setup_costs=True, sector_shares=True, bundles=True)
    instance = _fast_instance(tmp_path, data)
    result = portfolio.solve(instance)
    assert result.status is portfolio.Status.OPTIMAL
    assert result.verified
    recorded = result.stats["prefer"]
    assert recorded["applied"] == "none", recorded
    assert recorded["detail"] == "", recorded  # both re-solves finished
    assert recorded["changes"][0] > 0  # the plan changes modes: the re-solves ran
    assert services_built(instance) == 0


def test_the_tie_break_on_a_fast_instance_prefers_as_on_the_full_one(tmp_path: Path) -> None:
    """A plan with a gratuitous change (the tie case of ``test_prefer``, read fast and built
    from objects): the same preferred plan both ways, and no option object built."""
    data = {
        "objective": "minimise_cost",
        "modes": [{"id": "in_house", "sector": "public"},
                  {"id": "private", "sector": "private"}],
        "services": [
            {"id": "waste", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 70},
                {"mode": "private", "annual_cost": 90, "transition_cost": 10, "outcome": 66}]},
            {"id": "parks", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 50, "outcome": 30},
                {"mode": "private", "annual_cost": 40, "transition_cost": 5, "outcome": 29}]},
        ],
    }
    fast = _fast_instance(tmp_path, data)
    full = Instance.model_validate(data)
    found = portfolio.solve(full, prefer="none")
    changed = portfolio.verify_plan(full, [1, 1])
    assert changed.ok
    assert changed.plan.objective == found.objective == 145.0
    as_found = replace(found, plan=changed.plan, objective=changed.plan.objective)
    answers = [fewest_changes(instance, as_found) for instance in (fast, full)]
    for answer in answers:
        assert answer.require_plan().options == {"waste": 0, "parks": 1}
        assert answer.stats["prefer"]["applied"] == "fewest_changes"
        assert answer.stats["prefer"]["changes"] == [2, 1]
    assert services_built(fast) == 0
