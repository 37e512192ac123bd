"""Multi-year planning: 1-year equivalence, cross-backend agreement, verification, bad input.

The brute-force comparison on tiny instances is in ``test_multiyear_bruteforce.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import portfolio
from portfolio import SolveParams, Status, ValidationError
from portfolio.domain import Instance
from portfolio.generate import random_instance_data
from portfolio.multiyear import ServicePath, compile_multi_year, verify_schedule
from portfolio.multiyear import heuristic as multiyear_heuristic
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.verify import verify_plan

ROOT = Path(__file__).resolve().parent.parent
SMALL = sorted((ROOT / "instances" / "small").glob("*.yaml"))
# These tests compare objectives and statuses (formulations, backends, the heuristic), which the
# tie-break (prefer="changes") never changes: it is off here and tested in test_prefer.py.
QUIET = SolveParams(time_limit=60, explain_infeasible=False, prefer="none")


def _one_year(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["horizon"] = {"start_year": 2027, "years": 1}
    return out


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _assert_same_as_single_period(data: dict[str, Any], backend: str = "highs") -> None:
    single = portfolio.solve(copy.deepcopy(data), backend=backend, params=QUIET)
    multi = portfolio.solve(_one_year(data), backend=backend, params=QUIET)
    assert multi.status is single.status, (multi.detail, single.detail)
    if single.status is not Status.OPTIMAL:
        return
    assert multi.objective == pytest.approx(single.objective, rel=1e-7, abs=1e-9)
    assert multi.multi_year is not None
    plan = multi.require_plan()
    # The multi-year plan's only year is an optimal single-period plan: the single-period
    # verifier accepts it with the same objective.
    verdict = verify_plan(Instance.from_data(data), [plan.options[s] for s in plan.options])
    assert verdict.ok, verdict.violations
    assert verdict.plan.objective == pytest.approx(single.objective, rel=1e-7, abs=1e-9)
    # The plan may differ only between ties: the same objective on the real data (above). The
    # two models' rows differ in form, so a solver need not break ties the same way on both.


# ---------------------------------------------------------------------- 1-year equivalence
def test_one_year_horizon_equals_single_period_on_the_example(examples: Path) -> None:
    _assert_same_as_single_period(_load(examples / "example_borough.yaml"))


@pytest.mark.parametrize("path", SMALL, ids=[p.stem for p in SMALL])
def test_one_year_horizon_equals_single_period_on_small_cases(path: Path) -> None:
    data = _load(path)
    for service in data["services"]:
        for option in service["options"]:
            option.pop("lead_time_years", None)  # "no lead times"
    _assert_same_as_single_period(data)


@pytest.mark.parametrize("seed", range(4))
def test_one_year_horizon_equals_single_period_on_random_instances(seed: int) -> None:
    data = random_instance_data(
        30,
        seed=seed,
        options=(3, 6),
        setup_costs=seed % 2 == 0,
        sector_shares=seed >= 2,
        bundles=seed == 3,
    )
    _assert_same_as_single_period(data)


def test_one_year_equivalence_on_every_backend(backend: str) -> None:
    data = random_instance_data(12, seed=11, options=(3, 5), setup_costs=True)
    single = portfolio.solve(copy.deepcopy(data), backend=backend, params=QUIET)
    multi = portfolio.solve(_one_year(data), backend=backend, params=QUIET)
    assert multi.status is single.status is Status.OPTIMAL
    assert multi.objective == pytest.approx(single.objective, rel=1e-7)


# ---------------------------------------------------------------------- cross-backend agreement
def random_multi_year(
    seed: int, services: int = 14, years: int = 4, **extra: Any
) -> dict[str, Any]:
    """A random multi-year instance whose row families vary with the seed (setup costs on even
    seeds, sector shares on multiples of 3, bundles on seed 2); shared with
    ``test_multiyear_lagrange``."""
    return random_multi_year_data(
        services,
        years=years,
        seed=seed,
        options=(3, 5),
        setup_costs=seed % 2 == 0,
        sector_shares=seed % 3 == 0,
        bundles=seed == 2,
        **extra,
    )


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (0, Status.INFEASIBLE),
        (1, Status.OPTIMAL),
        (2, Status.OPTIMAL),
        (4, Status.OPTIMAL),
        (6, Status.OPTIMAL),
    ],
)
def test_backends_agree_on_random_multi_year_instances(seed: int, expected: Status) -> None:
    data = random_multi_year(seed)
    results = {
        name: portfolio.solve(copy.deepcopy(data), backend=name, params=QUIET)
        for name in portfolio.available_backends()
    }
    reference = results["highs"]
    assert reference.status is expected, reference.detail
    for name, result in results.items():
        if expected is Status.INFEASIBLE:
            assert result.status is Status.INFEASIBLE, name
            continue
        # CP-SAT rounds indexed (non-decimal) costs conservatively: then "feasible".
        assert result.status is Status.OPTIMAL or (
            name == "cpsat" and result.status is Status.FEASIBLE
        ), (name, result.detail)
        assert result.verified
        assert result.objective == pytest.approx(reference.objective, rel=1e-6), name


def test_lp_guided_heuristic_gives_a_verified_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_multi_year(5, services=40, years=4)
    reference = portfolio.solve(copy.deepcopy(data), params=QUIET.with_(heuristic=False))
    monkeypatch.setattr(multiyear_heuristic, "MIN_COLUMNS", 0)
    result = portfolio.solve(copy.deepcopy(data), params=QUIET)
    assert result.status is Status.OPTIMAL
    assert "LP-guided start" in result.detail
    assert result.objective == pytest.approx(reference.objective, rel=1e-6)


# ---------------------------------------------------------------------- result and plan
@pytest.fixture(scope="module")
def example_result() -> tuple[Instance, portfolio.SolveResult]:
    """The multi-year example, solved once to a 1% gap (the optimum takes ~30 s to prove; these
    tests read the plan's structure). The limit is generous so that a loaded machine still gets
    its plan: a quiet one stops at the gap in a few seconds."""
    instance = portfolio.load_instance(ROOT / "instances" / "example_borough_multiyear.yaml")
    result = portfolio.solve(
        instance, params=QUIET.with_(time_limit=120, rel_gap=1e-2, prefer="none")
    )
    return instance, result


def test_result_file_has_schedule_contracts_and_years(
    example_result: tuple[Instance, portfolio.SolveResult],
) -> None:
    instance, result = example_result
    assert result.status.has_plan, result.detail
    assert result.verified
    out = result.to_dict()
    assert instance.horizon is not None
    years = instance.horizon.years
    assert set(out["schedule"]) == {s.id for s in instance.services}
    assert all(len(modes) == years for modes in out["schedule"].values())
    assert [y["year"] for y in out["years"]] == instance.horizon.calendar_years
    for year in out["years"]:
        assert set(year["budget"]) >= {"value", "limit", "binding"}
        assert year["budget"]["value"] <= year["budget"]["limit"] * (1 + 1e-9)
    # Existing contracts of different end years appear, and the plan starts new arrangements.
    existing = [c for c in out["contracts"] if c["existing"]]
    assert len({c["end_year"] for c in existing}) >= 2
    assert any(not c["existing"] and not c["renewal"] for c in out["contracts"])
    assert out["assignment"] == {s: modes[0] for s, modes in out["schedule"].items()}
    # The budget falls and the lead times hold: nothing procured starts in 2027.
    budgets = [y["budget"]["limit"] for y in out["years"]]
    assert budgets == sorted(budgets, reverse=True)
    for contract in out["contracts"]:
        if contract["existing"]:
            continue
        service = instance.service(contract["service"])
        lead = service.options[contract["option"]].lead_time_years or 0
        assert contract["start_year"] >= 2027 + lead
    # The CLI table (years as columns).
    from portfolio.report import format_multi_year

    text = format_multi_year(instance, result, color=False)
    assert "2027" in text
    assert "2031" in text
    assert "budget" in text


def test_decode_encode_round_trip_and_the_model_accepts_the_plan(
    example_result: tuple[Instance, portfolio.SolveResult],
) -> None:
    instance, result = example_result
    compiled = compile_multi_year(instance)
    paths = list(result.multi_year.paths)
    x = compiled.encode(paths)
    assert compiled.model.max_violation(x) <= 1e-6
    assert compiled.decode(x) == paths
    # The model's objective on the plan is the verifier's objective.
    assert compiled.model.objective_value(x) == pytest.approx(result.objective, rel=1e-9)


def test_status_quo_paths_are_valid_for_unlocked_services() -> None:
    data = random_multi_year(1)
    instance = Instance.from_data(data)
    compiled = compile_multi_year(instance)
    assert compiled.model.num_cols > 0
    assert np.all(compiled.model.integrality)


# ---------------------------------------------------------------------- verifier
def _two_service_instance() -> Instance:
    return Instance.from_data(
        {
            "horizon": {"start_year": 2027, "years": 3, "discount_rate": 0.0},
            "modes": [
                {"id": "in_house", "sector": "public"},
                {"id": "private", "sector": "private"},
            ],
            "services": [
                {
                    "id": "a",
                    "current_mode": "private",
                    "current_contract_end": 2028,
                    "termination_cost": 7,
                    "options": [
                        {"mode": "private", "annual_cost": 10, "outcome": 5, "contract_years": 3},
                        {"mode": "in_house", "annual_cost": 12, "outcome": 6, "transition_cost": 3},
                    ],
                },
                {
                    "id": "b",
                    "current_mode": "in_house",
                    "options": [
                        {"mode": "in_house", "annual_cost": 10, "outcome": 5},
                        {
                            "mode": "private",
                            "annual_cost": 8,
                            "outcome": 4,
                            "transition_cost": 2,
                            "contract_years": 2,
                            "lead_time_years": 1,
                        },
                    ],
                },
            ],
            "constraints": {"budget": [30, 30, 20], "transition_budget": 20, "max_changes": 1},
        }
    )


def test_verifier_accepts_a_valid_plan_and_adds_up_each_year() -> None:
    instance = _two_service_instance()
    # a: existing contract broken in 2028 (fee 7), in house from 2028 (transition 3);
    # b: in house 2027-28, a 2-year private contract from 2029 (lead time 1; transition 2).
    paths = [
        ServicePath("a", 1, ((1, 1), (1, 2))),
        ServicePath("b", None, ((0, 0), (0, 1), (1, 2))),
    ]
    verdict = verify_schedule(instance, paths)
    assert verdict.ok, verdict.violations
    plan = verdict.plan
    assert plan.schedule == {
        "a": ["private", "in_house", "in_house"],
        "b": ["in_house", "in_house", "private"],
    }
    y2028, y2029 = plan.years[1], plan.years[2]
    assert (y2028.termination_cost, y2028.transition_cost, y2028.changes) == (7, 3, ("a",))
    assert (y2029.transition_cost, y2029.changes) == (2, ("b",))
    assert [year.annual_cost for year in plan.years] == [20, 22, 20]
    budget_2029 = {c.name: c for c in y2029.checks}["budget"]
    assert budget_2029.binding
    assert budget_2029.ok
    assert plan.objective == pytest.approx(5 + 5 + 6 + 5 + 6 + 4)
    contracts = {(c.service, c.start_year): c for c in plan.contracts}
    assert contracts[("a", None)].existing
    assert contracts[("a", None)].broken_year == 2028
    assert contracts[("b", 2029)].end_year == 2030
    assert contracts[("b", 2029)].years_in_horizon == 1
    assert contracts[("b", 2028)].renewal
    # Two changes in 2028 break max_changes = 1.
    both = [ServicePath("a", 1, ((1, 1), (1, 2))), ServicePath("b", None, ((0, 0), (1, 1)))]
    verdict = verify_schedule(instance, both)
    assert [v for v in verdict.violations if v.startswith("max_changes in 2028")]


@pytest.mark.parametrize(
    ("paths", "needle"),
    [
        (
            [ServicePath("a", None, ((1, 1),)), ServicePath("b", None, ((0, 0), (0, 1), (0, 2)))],
            "expected",
        ),  # a is locked through 2028: a start in 2028 overlaps the lock
        (
            [ServicePath("a", None, ((1, 2),)), ServicePath("b", None, ((1, 0), (0, 2)))],
            "lead time",
        ),
        ([ServicePath("a", None, ()), ServicePath("b", None, ((0, 0),))], "no arrangement"),
        (
            [ServicePath("a", None, ((1, 2),)), ServicePath("b", 1, ((0, 0), (0, 1), (0, 2)))],
            "no contract end",
        ),
        (
            [ServicePath("a", 3, ((1, 2),)), ServicePath("b", None, ((0, 0), (0, 1), (0, 2)))],
            "outside the locked years",
        ),
    ],
)
def test_verifier_rejects_impossible_paths(paths: list[ServicePath], needle: str) -> None:
    verdict = verify_schedule(_two_service_instance(), paths)
    assert not verdict.ok
    assert any(needle in v for v in verdict.violations), verdict.violations


def test_verifier_rejects_a_broken_yearly_limit() -> None:
    instance = _two_service_instance()
    # Keep a's contract to 2028, then a 3-year private renewal; b in house: 2029 costs 20 <= 20.
    ok = [ServicePath("a", None, ((0, 2),)), ServicePath("b", None, ((0, 0), (0, 1), (0, 2)))]
    assert verify_schedule(instance, ok).ok
    # a in house from 2029 costs 12 + 10 = 22 > 20.
    bad = [ServicePath("a", None, ((1, 2),)), ServicePath("b", None, ((0, 0), (0, 1), (0, 2)))]
    verdict = verify_schedule(instance, bad)
    assert any(v.startswith("budget in 2029") for v in verdict.violations)


def test_unbreakable_contract_cannot_be_broken() -> None:
    data = _two_service_instance().model_dump(exclude_none=True)
    del data["services"][0]["termination_cost"]
    instance = Instance.from_data(data)
    paths = [ServicePath("a", 0, ((1, 0),)), ServicePath("b", None, ((0, 0), (0, 1), (0, 2)))]
    verdict = verify_schedule(instance, paths)
    assert any("cannot be broken" in v for v in verdict.violations)


# ---------------------------------------------------------------------- bad input
def _bad(mutate: Any) -> ValidationError:
    data = _two_service_instance().model_dump(exclude_none=True)
    mutate(data)
    with pytest.raises(ValidationError) as info:
        Instance.from_data(data, source="council.yaml")
    return info.value


@pytest.mark.parametrize(
    ("mutate", "item", "field", "needle"),
    [
        (
            lambda d: d["constraints"].update(budget=[30, 30]),
            "constraints",
            "budget",
            "has 2 yearly values; the horizon (2027-2029) has 3",
        ),
        (
            lambda d: d["services"][1]["options"][0].update(annual_cost=[1, 2, 3, 4]),
            "service 'b'",
            "options[0].annual_cost",
            "has 4 yearly values",
        ),
        (
            lambda d: d["modes"][1].update(max_services=[1, 2]),
            "mode 'private'",
            "max_services",
            "has 2 yearly values",
        ),
        (
            lambda d: d["services"][0].update(current_contract_end=2025),
            "service 'a'",
            "current_contract_end",
            "before the horizon starts (2027)",
        ),
        (
            lambda d: d["services"][1]["options"][1].update(lead_time_years=3),
            "service 'b'",
            "options[1].lead_time_years",
            "beyond the 3-year horizon",
        ),
        (
            lambda d: d["services"][1].update(termination_cost=5),
            "service 'b'",
            "termination_cost",
            "needs current_contract_end",
        ),
        (
            lambda d: d["services"][1]["options"][0].update(annual_cost=[1, 2, 3], indexation=0.1),
            "service 'b'",
            "options[0]",
            "not both",
        ),
        (
            lambda d: d["constraints"].update(budget=[30, -1, 20]),
            "constraints",
            "budget[1]",
            "greater than or equal to 0",
        ),
        (lambda d: d["horizon"].update(years=0), "instance", "horizon.years", "greater than"),
        (lambda d: d.pop("horizon"), "constraints", "budget", "needs a horizon"),
        (lambda d: d.pop("horizon"), "service 'a'", "current_contract_end", "add a horizon"),
    ],
)
def test_bad_multi_year_input_names_file_item_and_field(
    mutate: Any, item: str, field: str, needle: str
) -> None:
    error = _bad(mutate)
    matching = [i for i in error.issues if i.item == item and i.field == field]
    assert matching, [str(i) for i in error.issues]
    assert any(needle in i.message for i in matching), [str(i) for i in matching]
    assert all(i.file == "council.yaml" for i in error.issues)


def test_single_period_instances_are_unchanged_by_the_multi_year_fields(examples: Path) -> None:
    instance = portfolio.load_instance(examples / "example_borough.yaml")
    assert instance.horizon is None
    assert all(isinstance(o.annual_cost, float) for s in instance.services for o in s.options)


def test_infeasible_multi_year_instance_is_explained() -> None:
    data = _two_service_instance().model_dump(exclude_none=True)
    data["constraints"]["budget"] = [30, 30, 5]
    result = portfolio.solve(data, params=SolveParams(time_limit=30))
    assert result.status is Status.INFEASIBLE
    assert result.explanation is not None
    assert any("budget@2029" in r.constraint for r in result.explanation.relaxations)
