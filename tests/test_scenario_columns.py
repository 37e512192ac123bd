"""The funding-scenario verifier, the scenario instances and the frontier's criterion values read
the option columns (issue 13): the same answers as the code that built option objects
(``scenario_verify_reference.py``), on the bundled scenario files and generated instances, read
both ways; no option object built on an instance read fast; and an option position that does not
exist reported as a violation, not raised."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from portfolio.columnar import OptionColumns, option_columns
from portfolio.decisions import Decisions
from portfolio.domain import Instance, UnbuiltOptions
from portfolio.generate import random_instance_data
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.multiyear.schedule import ServicePath
from portfolio.planspace import PlanSpace, criterion
from portfolio.scenarios.data import scenario_instance
from portfolio.scenarios.generate import random_scenario_data
from portfolio.scenarios.verify import OptionLookup, decisions_in, verify_scenarios
from scenario_verify_reference import (
    reference_decisions_in,
    reference_scenario_instance,
    reference_verify_scenarios,
)
from test_planspace_vectors import _fast_instance as _fast

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
BUNDLED = ["example_borough_scenarios.yaml", "scenarios_flexible_contract.yaml"]


def _data(name: str) -> dict[str, Any]:
    if name.endswith(".yaml"):
        loaded: dict[str, Any] = yaml.safe_load((INSTANCES / name).read_text())
        return loaded
    seed = int(name.split(":")[1])
    if name.startswith("random-shared:"):  # scenarios that part late and share their costs
        return random_scenario_data(12, years=4, branching=(2,), seed=seed, inflation=0.0)
    return random_scenario_data(12, years=4, branching=(2, 2), seed=seed)


CASES = [*BUNDLED, "random:0", "random:1", "random-shared:2"]


def services_built(instance: Instance) -> int:
    """Services whose option objects exist (the rest are still columns)."""
    return len(built_ids(instance))


def built_ids(instance: Instance) -> set[str]:
    """The ids of the services whose option objects exist."""
    return {s.id for s in instance.services if type(s.__dict__["options"]) is not UnbuiltOptions}


def _same_columns(found: OptionColumns, expected: OptionColumns) -> None:
    for item in fields(OptionColumns):
        a, b = getattr(found, item.name), getattr(expected, item.name)
        if isinstance(b, np.ndarray) or isinstance(a, np.ndarray):
            assert a is not None, item.name
            assert b is not None, item.name
            assert a.dtype == b.dtype, item.name
            assert a.shape == b.shape, item.name
            assert np.array_equal(a, b, equal_nan=True), item.name
        elif isinstance(b, dict):
            assert a.keys() == b.keys(), item.name
            for key in b:
                assert np.array_equal(a[key], b[key], equal_nan=True), (item.name, key)
        else:
            assert a == b, item.name


def _random_paths(instance: Instance, rng: random.Random, bad: bool = False) -> list[ServicePath]:
    """A plan for every service: contracts one after another from the year the service is free,
    each a random option (possibly breaking a limit); ``bad``: a random break or late start
    too (possibly breaking a rule)."""
    horizon = instance.horizon
    assert horizon is not None
    paths = []
    for service in instance.services:
        end = service.current_contract_end
        year = 0 if end is None else end - horizon.start_year + 1
        broken = None
        if end is not None and service.termination_cost is not None and rng.random() < 0.3:
            broken = rng.randrange(0, max(1, min(year, horizon.years)))
            year = broken
        if bad and rng.random() < 0.2:
            year += 1
        starts = []
        while year < horizon.years:
            position = rng.randrange(len(service.options))
            starts.append((position, year))
            year += service.options[position].contract_years or 1
        paths.append(ServicePath(service.id, broken, tuple(starts)))
    return paths


def _plans(instance: Instance, seed: int) -> list[list[list[ServicePath]]]:
    """Plans to verify: every scenario the same random plan; each its own; the first
    scenario's plan with one service changed in the others (a decision taken too early)."""
    rng = random.Random(seed)
    count = len(instance.scenarios or [])
    shared = _random_paths(instance, rng)
    own = [_random_paths(instance, rng, bad=True) for _ in range(count)]
    nudged = []
    for _ in range(count):
        paths = list(shared)
        s = rng.randrange(len(paths))
        paths[s] = _random_paths(instance, rng)[s]
        nudged.append(paths)
    return [[shared] * count, own, nudged]


# ---------------------------------------------------------------------- scenario instances
@pytest.mark.parametrize("name", CASES)
def test_scenario_instances_are_the_previous_ones(tmp_path: Path, name: str) -> None:
    """Each scenario's instance equals the previous one (objects, dumps), read both ways, and
    its option columns are those built from the previous instance's option objects."""
    data = _data(name)
    full = Instance.from_data(data)
    fast = _fast(tmp_path, data)
    for instance in (full, fast):
        for scenario in instance.scenarios or []:
            found = scenario_instance(instance, scenario)
            expected = reference_scenario_instance(full, scenario)
            assert found == expected
            assert found.model_dump(exclude_unset=True) == expected.model_dump(exclude_unset=True)
            remade = Instance.model_validate(expected.model_dump())  # columns from objects
            _same_columns(option_columns(found), option_columns(remade))


def test_a_scenario_without_cost_factors_builds_no_option(tmp_path: Path) -> None:
    """The borough's scenarios read fast: the two that change limits only build no option;
    the cost shock on the private sector builds the options of the services with a private
    option only, and verifying every scenario builds no more. (The reader itself builds the
    options of two services, for a check of its own.)"""
    data = _data("example_borough_scenarios.yaml")
    fast = _fast(tmp_path, data)
    full = Instance.from_data(data)
    read = built_ids(fast)
    assert len(read) < len(full.services) // 4
    scenarios = fast.scenarios or []
    assert [s.cost_factor is None for s in scenarios] == [True, True, False]
    instances = [scenario_instance(fast, s) for s in scenarios[:2]]
    assert built_ids(fast) == read
    assert all(inst.services is fast.services for inst in instances)
    shocked = scenario_instance(fast, scenarios[2])
    private = {m.id for m in full.modes if m.sector == "private"}
    with_private = {s.id for s in full.services if any(o.mode in private for o in s.options)}
    assert 0 < len(with_private) < len(full.services)
    assert built_ids(fast) == read | with_private
    paths = _plans(full, 0)[0]
    verdict = verify_scenarios(fast, paths, [*instances, shocked])
    assert built_ids(fast) == read | with_private
    expected = reference_verify_scenarios(full, paths)
    assert verdict.violations == expected.violations
    assert repr(verdict.plan) == repr(expected.plan)


# ---------------------------------------------------------------------- the verifier
@pytest.mark.parametrize("name", CASES)
def test_the_verifier_gives_the_previous_verdicts(tmp_path: Path, name: str) -> None:
    """Verdicts (violations, the risk-combined plan, the decisions taken now) equal the previous
    verifier's on shared, separate and nudged plans, read both ways; the nudged plans break
    non-anticipativity somewhere, so the messages are compared too."""
    data = _data(name)
    full = Instance.from_data(data)
    fast = _fast(tmp_path, data)
    anticipated = 0
    for seed in range(3):
        for paths in _plans(full, seed):
            expected = reference_verify_scenarios(full, paths)
            anticipated += sum("non-anticipativity" in v for v in expected.violations)
            for instance in (full, fast):
                found = verify_scenarios(instance, paths)
                assert found.ok == expected.ok
                assert found.violations == expected.violations
                assert repr(found.plan) == repr(expected.plan)
                assert repr(found.verdicts) == repr(expected.verdicts)
    assert anticipated > 0


def test_the_verifier_builds_no_option_of_a_fast_instance(tmp_path: Path) -> None:
    """A generated instance read fast whose scenarios change limits only: verifying plans
    (each scenario's instance made by the verifier) builds none of its options."""
    data = _data("random-shared:2")
    fast = _fast(tmp_path, data)
    full = Instance.from_data(data)
    assert services_built(fast) == 0
    for paths in _plans(full, 0):
        found = verify_scenarios(fast, paths)
        assert found.violations == reference_verify_scenarios(full, paths).violations
    assert services_built(fast) == 0


def test_decisions_in_is_the_previous_one() -> None:
    full = Instance.from_data(_data("example_borough_scenarios.yaml"))
    assert full.horizon is not None
    lookup = OptionLookup(full)
    for paths in _plans(full, 1):
        by_year = lookup.decisions_by_year(paths[0])
        for year in range(full.horizon.years):
            expected = set().union(*(reference_decisions_in(full, p, year) for p in paths[0]))
            assert set().union(*(decisions_in(full, p, year) for p in paths[0])) == expected
            assert by_year.get(year, set()) == expected


def test_decisions_in_counts_investments() -> None:
    full = Instance.from_data(_data("random:0"))
    paths = _plans(full, 0)[0][0]
    made = OptionLookup(full).decisions_by_year(Decisions(paths, {"shared_ict": 1}))
    assert ("shared_ict", "invest", -1, 1) in made[1]


@pytest.mark.parametrize("position", [99, -1])
def test_an_option_that_does_not_exist_is_reported(position: int) -> None:
    """A plan starting option 99 (or -1) of a service: each scenario's verdict names it, as the
    multi-year verifier does, and nothing is raised (the previous verifier raised IndexError
    for 99 and read the last option's lead time for -1)."""
    full = Instance.from_data(_data("scenarios_flexible_contract.yaml"))
    paths = _plans(full, 0)[0]
    service = full.services[0]
    first = paths[0][0]
    broken = ServicePath(first.service, first.broken_in, ((position, first.starts[0][1]),
                                                          *first.starts[1:]))
    plan = [[broken, *own[1:]] for own in paths]
    found = verify_scenarios(full, plan)
    assert not found.ok
    for scenario in full.scenarios or []:
        assert (
            f"scenario '{scenario.name}': service '{service.id}': option index {position} "
            "does not exist"
        ) in found.violations
    assert position not in [d.option for d in found.plan.here_and_now if d.service == service.id]
    if position > 0:
        with pytest.raises(IndexError):
            reference_verify_scenarios(full, plan)


def test_a_path_for_an_unknown_service_is_reported() -> None:
    full = Instance.from_data(_data("scenarios_flexible_contract.yaml"))
    paths = _plans(full, 0)[0]
    first = paths[0][0]
    plan = [[ServicePath("nowhere", None, first.starts), *own[1:]] for own in paths]
    found = verify_scenarios(full, plan)
    assert any(
        f"path for 'nowhere' given where '{first.service}' was expected" in v
        for v in found.violations
    )


# ---------------------------------------------------------------------- frontier values
def _reference_value(space: PlanSpace, objective: Any, decisions: Any) -> float:
    changed = space.instance.model_copy(update={"objective": objective})
    return float(space.verify(decisions, changed).plan.objective)


def _positions(instance: Instance, rng: random.Random) -> list[int]:
    return [rng.randrange(len(service.options)) for service in instance.services]


@pytest.mark.parametrize("multi_year", [False, True])
def test_criterion_values_are_the_previous_ones_and_build_no_option(
    tmp_path: Path, multi_year: bool
) -> None:
    """``PlanSpace.value`` for every criterion (outcome, cost, annual cost, social value, a
    metric) on random plans: the previous values exactly, read both ways, and no option object
    of the instance read fast built."""
    if multi_year:
        data = random_multi_year_data(15, years=3, seed=3, carbon_cut=0.05)
    else:
        data = random_instance_data(40, seed=3, setup_costs=True, sector_shares=True,
                                    bundles=True)
        for service in data["services"]:
            for index, option in enumerate(service["options"]):
                option.setdefault("metrics", {})["carbon_t"] = float(index % 3)
    full = Instance.from_data(data)
    fast = _fast(tmp_path, data)
    names = ["outcome", "cost", "annual_cost", "social_value", "carbon_t"]
    items = [criterion(full, name) for name in names]
    spaces = [PlanSpace(full), PlanSpace(fast)]
    assert services_built(fast) == 0
    rng = random.Random(7)
    for _ in range(4):
        decisions: Sequence[Any] = (
            _random_paths(full, rng) if multi_year else _positions(full, rng)
        )
        for item in items:
            expected = _reference_value(spaces[0], item.objective, decisions)
            assert [space.value(item, decisions) for space in spaces] == [expected, expected]
    assert services_built(fast) == 0
