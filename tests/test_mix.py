"""The vehicle cap, investments and prevention effects (issue 14) against brute force.

Every case is solved on every backend and compared with :mod:`mix_oracle`, an enumerator that
imports nothing from ``portfolio`` and lists every plan and every set of investments (with the
year each is made). The named cases are built so that each feature binds: removing it changes
the optimum (``test_each_feature_binds``, on the oracle alone), and their optima are derived by
hand in the comments.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio
from mix_oracle import brute_force
from portfolio import SolveParams, Status
from portfolio.decisions import investments_of
from portfolio.domain import Instance
from portfolio.errors import ValidationError
from portfolio.multiyear import ServicePath, verify_schedule
from portfolio.report import format_result
from portfolio.verify import verify_plan


def _option(mode: str, cost: float, outcome: float, transition: float = 0.0) -> dict[str, Any]:
    return {"mode": mode, "annual_cost": cost, "outcome": outcome, "transition_cost": transition}


def _modes(**extra: dict[str, Any]) -> list[dict[str, Any]]:
    modes = [
        {"id": "inhouse", "sector": "public"},
        {"id": "vcs", "sector": "voluntary"},
        {"id": "private", "sector": "private"},
        {"id": "cease", "sector": "public", "ceases_service": True},
    ]
    for mode in modes:
        mode.update(extra.get(mode["id"], {}))
    return modes


def _service(sid: str, *options: dict[str, Any], current: str = "inhouse") -> dict[str, Any]:
    return {"id": sid, "current_mode": current, "options": list(options)}


# ---------------------------------------------------------------------- single period
def cap_binds() -> dict[str, Any]:
    """Each service is best in its own mode (outcomes 5): with at most two vehicles one service
    takes its second best (4). Ceasing does not count, so 'c' may cease (outcome 4.5) instead.
    Optimum 5 + 5 + 4.5 = 14.5 (without the cap 15)."""
    return {
        "modes": _modes(),
        "services": [
            _service("a", _option("inhouse", 10, 5), _option("vcs", 10, 4)),
            _service("b", _option("vcs", 10, 5), _option("inhouse", 10, 4)),
            _service("c", _option("private", 10, 5), _option("inhouse", 10, 4),
                     _option("cease", 0, 4.5)),
        ],
        "constraints": {"max_modes_used": 2},
    }


def investment_binds() -> dict[str, Any]:
    """The voluntary sector can take one service; a fund (cost 3) lets it take two. Transition
    budget 4 allows the fund. Optimum: a and b both in vcs (6 + 6) + c private (2.5) = 14.5
    (without the fund: 6 + 3 + 2.5 = 11.5)."""
    return {
        "modes": _modes(vcs={"max_services": 1}),
        "services": [
            _service("a", _option("inhouse", 10, 3), _option("vcs", 10, 6)),
            _service("b", _option("inhouse", 10, 3), _option("vcs", 10, 6)),
            _service("c", _option("inhouse", 10, 2), _option("private", 12, 2.5)),
        ],
        "constraints": {"transition_budget": 4},
        "investments": [{"id": "fund", "mode": "vcs", "cost": 3, "max_services": 1}],
    }


def effect_binds() -> dict[str, Any]:
    """Budget 25: public health in the voluntary sector (cost 12) saves 4 on children's care, so
    it fits (12 + 15 - 4 = 23) and gains 2 x weight 2 = 4 there. Optimum 3 + 8 + 4 = 15 (without the
    effect the voluntary option is over budget: 4 + 8 = 12)."""
    return {
        "modes": _modes(),
        "services": [
            _service("health", _option("inhouse", 9, 4), _option("vcs", 12, 3)),
            {**_service("children", _option("inhouse", 15, 4)), "weight": 2},
        ],
        "constraints": {"budget": 25},
        "effects": [{"when": {"service": "health", "mode": "vcs"}, "on": "children",
                     "saving": 4, "outcome": 2}],
    }


def everything_minimise_cost() -> dict[str, Any]:
    """minimise_cost with all three: private is cheapest for all but capped at one service; the
    fund (cost 2) raises the spend cap; the effect saves 3 when 'a' is in vcs."""
    return {
        "modes": _modes(private={"max_services": 1, "max_spend": 10}),
        "services": [
            _service("a", _option("inhouse", 10, 1), _option("vcs", 9, 1),
                     _option("private", 7, 1, 1)),
            _service("b", _option("inhouse", 10, 1), _option("private", 6, 1, 1)),
            _service("c", _option("inhouse", 8, 1), _option("private", 5, 1, 1)),
        ],
        "constraints": {"max_modes_used": 2, "min_outcome": 3},
        "investments": [
            {"id": "market", "mode": "private", "cost": 2, "max_services": 1, "max_spend": 6}
        ],
        "effects": [{"when": {"service": "a", "mode": "vcs"}, "on": "b", "saving": 3}],
        "objective": "minimise_cost",
    }


# ---------------------------------------------------------------------- multi-year
def _horizon(case: dict[str, Any], years: int = 3) -> dict[str, Any]:
    case["horizon"] = {"start_year": 2026, "years": years, "discount_rate": 0.05}
    return case


def delayed_investment() -> dict[str, Any]:
    """Three years; the fund takes a year to work: made in 2026, vcs takes a second service from
    2027. Transition budget 3 a year (the fund's cost 3 fits in one year only with no move)."""
    return _horizon({
        "modes": _modes(vcs={"max_services": 1}),
        "services": [
            _service("a", _option("inhouse", 10, 3), _option("vcs", 10, 6, 1)),
            _service("b", _option("inhouse", 10, 3), _option("vcs", 10, 6, 1)),
        ],
        "constraints": {"transition_budget": 3},
        "investments": [{"id": "fund", "mode": "vcs", "cost": 3, "max_services": 1,
                         "years_to_effect": 1}],
    })


def lagged_saving() -> dict[str, Any]:
    """The saving lands two years after the arrangement: only the 2026 arrangement's saving
    counts (in 2028), so the budget of 2028 binds and 2028's choice depends on 2026's."""
    return _horizon({
        "modes": _modes(),
        "services": [
            _service("health", _option("inhouse", 9, 4), _option("vcs", 11, 3.5)),
            _service("children", _option("inhouse", 15, 4), _option("private", 18, 6)),
            _service("roads", _option("inhouse", 5, 1), _option("private", 4, 1)),
        ],
        "constraints": {"budget": [30, 30, 28]},
        "effects": [{"when": {"service": "health", "mode": "vcs"}, "on": "children",
                     "saving": 4, "outcome": 1, "lag_years": 2}],
    })


def yearly_cap() -> dict[str, Any]:
    """A cap of three vehicles, then two, then one (a list), with a lagged outcome gain."""
    return _horizon({
        "modes": _modes(),
        "services": [
            _service("a", _option("inhouse", 10, 5), _option("vcs", 10, 4)),
            _service("b", _option("vcs", 10, 5), _option("inhouse", 10, 4)),
            _service("c", _option("private", 10, 5), _option("inhouse", 10, 4)),
        ],
        "constraints": {"max_modes_used": [3, 2, 1]},
        "effects": [{"when": {"service": "b", "mode": "vcs"}, "on": "c", "outcome": 0.5,
                     "lag_years": 1}],
    })


def everything_multi_year() -> dict[str, Any]:
    """minimise_cost over three years with the cap, a delayed fund and a lagged saving."""
    case = everything_minimise_cost()
    case["investments"][0]["years_to_effect"] = 1
    case["effects"][0]["lag_years"] = 1
    return _horizon(case)


NAMED: dict[str, Callable[[], dict[str, Any]]] = {
    f.__name__: f
    for f in (
        cap_binds, investment_binds, effect_binds, everything_minimise_cost,
        delayed_investment, lagged_saving, yearly_cap, everything_multi_year,
    )
}

#: For each named case, the feature whose removal changes the optimum.
BINDS = {
    "cap_binds": "max_modes_used",
    "investment_binds": "investments",
    "effect_binds": "effects",
    "everything_minimise_cost": "investments",
    "delayed_investment": "investments",
    "lagged_saving": "effects",
    "yearly_cap": "max_modes_used",
    "everything_multi_year": "effects",
}


def _without(case: dict[str, Any], feature: str) -> dict[str, Any]:
    case = copy.deepcopy(case)
    if feature == "max_modes_used":
        del case["constraints"]["max_modes_used"]
    else:
        del case[feature]
    return case


def random_case(seed: int) -> dict[str, Any]:
    """A tiny random instance with all three features (single period for even seeds, three
    years for odd seeds)."""
    rng = random.Random(seed)
    multi = seed % 2 == 1
    count = 2 if multi else 3
    modes = ["inhouse", "vcs", "private"]
    services = []
    for s in range(count):
        options = [
            _option(mode, rng.randint(5, 12), rng.randint(1, 6), rng.choice([0, 1, 2]))
            for mode in rng.sample(modes, 2 if multi else 3)
        ]
        if all(o["mode"] != "inhouse" for o in options):
            options[0]["mode"] = "inhouse"
        services.append(_service(f"s{s}", *options))
    case: dict[str, Any] = {
        "modes": _modes(vcs={"max_services": 1}, private={"max_spend": rng.randint(8, 14)}),
        "services": services,
        "constraints": {
            "max_modes_used": rng.randint(1, 2),
            "budget": 10 * count + rng.randint(-2, 4),
            "transition_budget": rng.randint(2, 5),
        },
        "investments": [
            {"id": "fund", "mode": "vcs", "cost": rng.randint(1, 3), "max_services": 1,
             "years_to_effect": rng.randint(0, 1) if multi else 0},
            {"id": "market", "mode": "private", "cost": rng.randint(1, 3), "max_spend": 6},
        ],
        "effects": [],
        "objective": rng.choice(["maximise_outcome", "minimise_cost"]),
    }
    first = services[0]
    case["effects"].append({
        "when": {"service": first["id"], "mode": first["options"][-1]["mode"]},
        "on": services[1]["id"],
        "saving": rng.randint(0, 4),
        "outcome": rng.randint(1, 3),
        "lag_years": rng.randint(0, 2) if multi else 0,
    })
    if multi:
        _horizon(case)
    return case


# ---------------------------------------------------------------------- tests
def _check(data: dict[str, Any], backend: str) -> None:
    best = brute_force(copy.deepcopy(data))
    result = portfolio.solve(
        copy.deepcopy(data),
        backend=backend,
        params=SolveParams(time_limit=30, explain_infeasible=False),
    )
    if best is None:
        assert result.status is Status.INFEASIBLE, (result.status, result.detail)
        return
    allowed = {Status.OPTIMAL} | ({Status.FEASIBLE} if backend == "cpsat" else set())
    assert result.status in allowed, (result.status, result.detail)
    assert result.verified
    assert result.objective == pytest.approx(best, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_cases_match_brute_force(name: str, backend: str) -> None:
    _check(NAMED[name](), backend)


@pytest.mark.parametrize("seed", range(12))
def test_random_tiny_instances_match_brute_force(seed: int, backend: str) -> None:
    _check(random_case(seed), backend)


@pytest.mark.parametrize("name", sorted(BINDS))
def test_each_feature_binds(name: str) -> None:
    """Removing the feature changes the optimum: the case tests it."""
    case = NAMED[name]()
    assert brute_force(case) != pytest.approx(brute_force(_without(case, BINDS[name])))


def test_hand_derived_optima() -> None:
    assert brute_force(cap_binds()) == pytest.approx(14.5)
    assert brute_force(_without(cap_binds(), "max_modes_used")) == pytest.approx(15)
    assert brute_force(investment_binds()) == pytest.approx(14.5)
    assert brute_force(_without(investment_binds(), "investments")) == pytest.approx(11.5)
    assert brute_force(effect_binds()) == pytest.approx(15)


def test_random_cases_exercise_the_features() -> None:
    """Across the random cases, each feature binds in some (else they would test nothing)."""
    binding = {"max_modes_used": 0, "investments": 0, "effects": 0}
    for seed in range(12):
        case = random_case(seed)
        best = brute_force(case)
        for feature in binding:
            if best != pytest.approx(brute_force(_without(case, feature))):
                binding[feature] += 1
    assert all(count >= 2 for count in binding.values()), binding


# ---------------------------------------------------------------------- bad input
def _issues(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(item, field, message) of every issue the instance raises."""
    with pytest.raises(ValidationError) as caught:
        Instance.from_data(data, "borough.yaml")
    assert all(issue.file == "borough.yaml" for issue in caught.value.issues)
    return {(issue.item, issue.field, issue.message) for issue in caught.value.issues}


def _one(data: dict[str, Any], item: str, field: str, words: str) -> None:
    issues = _issues(data)
    assert any(i == item and f == field and words in m for i, f, m in issues), issues


def test_bad_investments_are_named() -> None:
    case = investment_binds()
    fund = case["investments"][0]
    # Raising a cap the mode does not have.
    _one({**case, "investments": [{**fund, "max_spend": 5}]}, "investment 'fund'", "max_spend",
         "which has no max_spend")
    _one({**case, "investments": [{**fund, "mode": "vsc"}]}, "investment 'fund'", "mode",
         "unknown mode 'vsc'; did you mean 'vcs'?")
    _one({**case, "investments": [{**fund, "years_to_effect": 1}]}, "investment 'fund'",
         "years_to_effect", "single-period")
    _one({**case, "investments": [fund, fund]}, "investment 'fund'", "id", "duplicate")
    _one({**case, "investments": [{**fund, "max_services": 0}]}, "investment 'fund'", "",
         "needs 'max_services', 'max_spend' or both")
    _one({**case, "investments": [{**fund, "cost": -1}]}, "investment 'fund'", "cost",
         "greater than or equal to 0")
    late = _horizon(investment_binds(), years=2)
    late["investments"][0]["years_to_effect"] = 2
    _one(late, "investment 'fund'", "years_to_effect", "could never take effect")


def test_bad_effects_are_named() -> None:
    case = effect_binds()
    effect = case["effects"][0]
    # A saving larger than the cheapest option of the service it lands on (15).
    _one({**case, "effects": [{**effect, "saving": 16}]}, "effects[0]", "saving",
         "more than the cheapest option of service 'children' (15)")
    _one({**case, "effects": [{**effect, "lag_years": 1}]}, "effects[0]", "lag_years",
         "single-period")
    _one({**case, "effects": [{**effect, "on": "chidlren"}]}, "effects[0]", "on",
         "unknown service 'chidlren'; did you mean 'children'?")
    _one({**case, "effects": [{**effect, "when": {"service": "health", "mode": "private"}}]},
         "effects[0]", "when.mode", "has no option in mode 'private'")
    _one({**case, "effects": [{**effect, "on": "health"}]}, "effects[0]", "on",
         "another service")
    _one({**case, "effects": [{**effect, "saving": 0, "outcome": 0}]}, "effects[0]", "",
         "needs a 'saving', an 'outcome' or both")
    _one({**case, "effects": [{**effect, "lag": 1}]}, "effects[0]", "lag", "unknown field")


def test_bad_vehicle_caps_are_named() -> None:
    case = cap_binds()
    _one({**case, "constraints": {"max_modes_used": -1}}, "constraints", "max_modes_used",
         "greater than or equal to 0")
    _one({**case, "constraints": {"max_modes_used": [2, 2]}}, "constraints", "max_modes_used",
         "needs a horizon")
    _one(_horizon({**cap_binds(), "constraints": {"max_modes_used": [2, 2]}}), "constraints",
         "max_modes_used", "has 2 yearly values")


def test_bad_input_exits_2_from_the_command(tmp_path: Path) -> None:
    case = effect_binds()
    case["effects"][0]["saving"] = 16
    path = tmp_path / "borough.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "portfolio.cli", "solve", str(path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "borough.json" in proc.stderr
    assert "effects[0]" in proc.stderr
    assert "saving" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------- the verifier and the result
def test_the_verifier_rederives_the_cap_investments_and_effects() -> None:
    cap = Instance.from_data(cap_binds())
    verdict = verify_plan(cap, [0, 0, 0])  # three vehicles: a in-house, b vcs, c private
    assert not verdict.ok
    assert any(v.startswith("max_modes_used: 3 <= 2") for v in verdict.violations)
    ceasing = verify_plan(cap, [0, 0, 2])  # c ceases: not counted
    assert ceasing.ok
    assert ceasing.plan.modes_counted == ("inhouse", "vcs")
    assert ceasing.plan.objective == pytest.approx(14.5)

    fund = Instance.from_data(investment_binds())
    assert not verify_plan(fund, [1, 1, 1]).ok  # two services in vcs need the fund
    made = verify_plan(fund, [1, 1, 1], {"fund": 0})
    assert made.ok
    assert made.plan.investments == ("fund",)
    assert made.plan.objective == pytest.approx(14.5)
    transition = next(c for c in made.plan.checks if c.name == "transition_budget")
    assert transition.value == pytest.approx(3)
    assert not verify_plan(fund, [1, 1, 1], {"no_such_fund": 0}).ok

    effect = Instance.from_data(effect_binds())
    landed = verify_plan(effect, [1, 0])
    assert landed.ok
    budget = next(c for c in landed.plan.checks if c.name == "budget")
    assert budget.value == pytest.approx(12 + 15 - 4)
    assert landed.plan.savings == 4
    assert landed.plan.outcome_gain == 4
    assert landed.plan.objective == pytest.approx(3 + 8 + 4)


def test_the_verifier_plays_delays_and_lags_out_by_year() -> None:
    delayed = Instance.from_data(delayed_investment())
    both = [ServicePath("a", None, ((1, 0), (1, 1), (1, 2))),
            ServicePath("b", None, ((1, 0), (1, 1), (1, 2)))]
    # Made in 2026, the fund works from 2027: two services in vcs in 2026 break the cap.
    early = verify_schedule(delayed, both, {"fund": 0})
    broken = [v.split(":")[0] for v in early.violations]
    assert "capacity_count[vcs] in 2026" in broken
    assert not any("capacity" in name and "2026" not in name for name in broken)
    # The fund alone in 2026 (3 of the 3 one-off), both move in 2027 (transition 2).
    later = [ServicePath("a", None, ((0, 0), (1, 1), (1, 2))),
             ServicePath("b", None, ((0, 0), (1, 1), (1, 2)))]
    ok = verify_schedule(delayed, later, {"fund": 0})
    assert ok.ok, ok.violations
    assert ok.plan.investments == {"fund": 2026}
    assert [y.investment_cost for y in ok.plan.years] == [3, 0, 0]

    lagged = Instance.from_data(lagged_saving())
    health_vcs = [ServicePath("health", None, ((1, 0), (1, 1), (1, 2))),
                  ServicePath("children", None, ((0, 0), (0, 1), (0, 2))),
                  ServicePath("roads", None, ((1, 0), (1, 1), (1, 2)))]
    plan = verify_schedule(lagged, health_vcs).plan
    # Arrangements of 2026, 2027 and 2028 land in 2028, 2029 (beyond) and 2030 (beyond).
    assert [y.savings for y in plan.years] == [0, 0, 4]
    assert [y.outcome_gain for y in plan.years] == [0, 0, 1]
    assert [y.weighted_outcome for y in plan.years] == [8.5, 8.5, 9.5]  # 3.5 + 4 + 1 (+1)


def test_the_result_and_the_printed_plan_show_all_three() -> None:
    single = portfolio.solve(everything_minimise_cost())
    out = single.to_dict()
    assert out["investments"] == ["market"]
    assert out["investment_cost"] == 2
    assert out["effects"]["savings"] == 3
    assert out["modes_counted"] == ["vcs", "private"]
    text = format_result(Instance.from_data(everything_minimise_cost()), single)
    assert "investment: market (private)" in text
    assert "effect of a (vcs) on b" in text
    assert "vehicles in use: 2 of at most 2 (vcs, private;" in text

    data = everything_multi_year()
    multi = portfolio.solve(copy.deepcopy(data))
    assert multi.status is Status.OPTIMAL
    out = multi.to_dict()
    assert out["investments"] == {"market": 2026}
    assert [y.get("savings", 0) for y in out["years"]] == [0, 0, 3]
    assert [y["modes_counted"] for y in out["years"]] == [["inhouse", "private"]] + [
        ["vcs", "private"]
    ] * 2
    text = format_result(Instance.from_data(data), multi)
    assert "  market: 2026, cost 2; private +1 services and +6 spend from 2027" in text
    assert "  a in vcs -> b: saving 3 in 2028" in text
    assert "vehicles in use by year (modes that cease a service not counted): 2026 2, 2027 2," in (
        text
    )


def test_decisions_round_trip_through_the_model() -> None:
    """encode(decode(x)) is x: the MIP start of a verified plan carries its investments."""
    from portfolio.compile import compile_instance
    from portfolio.multiyear.compile import compile_multi_year

    for data in (everything_minimise_cost(), everything_multi_year()):
        instance = Instance.from_data(data)
        result = portfolio.solve(copy.deepcopy(data))
        compiled = (
            compile_multi_year(instance) if instance.horizon else compile_instance(instance)
        )
        answer = portfolio.get_backend("highs").solve(
            compiled.model, SolveParams(), time_limit=60
        )
        assert answer.x is not None
        decisions = compiled.decode(answer.x)
        assert investments_of(decisions) == {"market": 0}
        assert np.allclose(compiled.encode(decisions), np.round(answer.x))
        assert result.objective == pytest.approx(float(answer.objective))


# ---------------------------------------------------------------------- the example
EXAMPLES = Path(__file__).resolve().parents[1] / "instances"


def test_the_mixed_example_is_the_example_borough_plus_the_three_features() -> None:
    """instances/example_borough_mixed.yaml is example_borough.yaml word for word, plus a
    vehicle cap, one investment and two effects (the two copies cannot drift apart)."""
    base = portfolio.load_instance(EXAMPLES / "example_borough.yaml")
    mixed = portfolio.load_instance(EXAMPLES / "example_borough_mixed.yaml")
    assert mixed.constraints.max_modes_used == 5
    assert [i.id for i in mixed.investments] == ["local_vcs_fund"]
    assert [(e.when.service, e.on) for e in mixed.effects] == [
        ("early_help", "childrens_residential"), ("reablement", "residential_care")
    ]
    stripped = mixed.model_copy(
        update={
            "name": base.name,
            "constraints": mixed.constraints.model_copy(update={"max_modes_used": None}),
            "investments": [],
            "effects": [],
        }
    )
    assert stripped == base


@pytest.mark.slow
def test_the_mixed_example_solves_to_its_published_optimum() -> None:
    """README, 'Vehicles, investment and prevention': 2,540.1 with the fund made, both effects
    landing and five vehicles."""
    result = portfolio.solve(EXAMPLES / "example_borough_mixed.yaml", time_limit=300)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(2540.1, abs=1e-6)
    plan = result.require_plan()
    assert plan.investments == ("local_vcs_fund",)
    assert plan.savings == 1000
    assert plan.modes_counted is not None
    assert len(plan.modes_counted) == 5


def test_a_workbook_holds_the_vehicle_cap_and_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl", reason="the xlsx extra (portfolio[xlsx]) is not installed")
    from portfolio.errors import PortfolioError
    from portfolio.spreadsheet import read_workbook, write_instance_workbook

    for data in (cap_binds(), _without(yearly_cap(), "effects")):
        instance = Instance.from_data(data)
        path = tmp_path / "cap.xlsx"
        write_instance_workbook(instance, path)
        assert read_workbook(path) == instance
    with pytest.raises(PortfolioError, match="does not hold investments or effects yet"):
        write_instance_workbook(Instance.from_data(everything_minimise_cost()), tmp_path / "x.xlsx")


def test_a_saved_result_with_investments_is_reverified_with_them() -> None:
    """Resuming a batch re-verifies each saved plan: its investments are part of it."""
    from portfolio.resume import plan_problem

    for data in (everything_minimise_cost(), everything_multi_year()):
        instance = Instance.from_data(data)
        saved = json.loads(json.dumps(portfolio.solve(copy.deepcopy(data)).to_dict()))
        assert plan_problem(saved, instance, 1e-7) is None
        del saved["investments"]
        problem = plan_problem(saved, instance, 1e-7)
        assert problem is not None
        assert problem.startswith("the plan fails verification: capacity_count[private]")
