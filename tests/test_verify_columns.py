"""The verifier reads option columns and adds up with numpy gathers: it must give exactly the
answers of the loops over option objects it replaced (``verify_reference.py``, a copy of them).

Every comparison is of whole results: the verdict, every violation message in order, and the
plan (every choice, check, total and the objective) compared with ``==`` and by ``repr`` (so a
count that became a float, or a numpy scalar in place of a Python float, fails too). Instances
are generated with every row family (setup costs and ``min_services``, market capacity, sector
shares, bundles, red lines, statutory services and ceasing modes, ``limits`` rows on fields,
metrics, money moved and annual cost, filtered by mode and by sector, the vehicle cap,
investments, prevention effects, and every kind of objective), read both through the full
validation path and through the fast reader (whose columns are kept at reading), and checked on
today's plan, random plans, plans naming options that do not exist, and plans that break each
limit by a penny.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio
from portfolio.baseline import baseline, current_decisions, current_options, versus_baseline
from portfolio.columnar import option_columns, read_json
from portfolio.domain import Instance, value_in_year
from portfolio.io import instance_from_data, load_instance
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.multiyear.schedule import ServicePath
from portfolio.multiyear.verify import verify_schedule
from portfolio.result import Check
from portfolio.scenarios.data import scenario_instance, year_values
from portfolio.verify import verify_plan
from verify_reference import (
    reference_baseline,
    reference_current_decisions,
    reference_current_options,
    reference_verify_plan,
    reference_verify_schedule,
    reference_year_values,
)

ROOT = Path(__file__).resolve().parent.parent

MODES = [
    {"id": "in_house", "sector": "public"},
    {"id": "private", "sector": "private"},
    {"id": "voluntary", "sector": "voluntary"},
    {"id": "shared", "sector": "public"},
    {"id": "latc", "sector": "public"},
    {"id": "community", "sector": "community"},
    {"id": "cease", "sector": "public", "ceases_service": True},
]

OBJECTIVES: list[Any] = [
    "maximise_outcome",
    "minimise_cost",
    {"maximise": {"outcome": 1.0, "social_value": 0.25, "carbon_t": -0.01, "flexibility": 3.0}},
    {"minimise": {"annual_cost": 1.0, "transition_cost": 1.0, "setup_cost": 1.0,
                  "investment_cost": 1.0, "risk": 0.5, "contract_years": 2.0,
                  "lead_time_years": 1.0, "staff_transferred": 0.1}},
]


def _money(rng: np.random.Generator, low: float, high: float) -> float:
    """Pounds and pence: sums of these are not exact in binary, which is the point."""
    return round(float(rng.uniform(low, high)), 2)


def random_single_period(seed: int) -> dict[str, Any]:
    """A random single-period instance with every row family (which appear depends on the seed:
    each family is present in about two thirds of the instances)."""
    rng = np.random.default_rng(seed)
    on = [bool(rng.random() < 0.67) for _ in range(16)]
    modes = [dict(mode) for mode in MODES]
    if on[0]:
        modes[3]["setup_cost"] = _money(rng, 50, 400)
        modes[4]["setup_cost"] = _money(rng, 50, 400)
        modes[4]["min_services"] = 2
    if on[1]:
        modes[2]["max_services"] = int(rng.integers(1, 6))
        modes[2]["max_spend"] = _money(rng, 500, 4000)
        modes[5]["max_services"] = int(rng.integers(1, 4))
    num_services = int(rng.integers(3, 25))
    services = []
    for s in range(num_services):
        count = int(rng.integers(1, 6))
        picks = [0, *rng.integers(0, len(modes), size=count - 1).tolist()]
        options = []
        for k, m in enumerate(picks):
            option: dict[str, Any] = {
                "mode": modes[m]["id"],
                "annual_cost": _money(rng, 0, 2000),
                "outcome": round(float(rng.uniform(-5, 90)), 2),
                "transition_cost": _money(rng, 0, 300),
                "flexibility": round(float(rng.uniform(0, 1)), 3),
            }
            if rng.random() < 0.5:
                option["metrics"] = {"carbon_t": _money(rng, 0, 500)}
                if rng.random() < 0.5:
                    option["metrics"]["fte"] = round(float(rng.uniform(0, 40)), 1)
            for name, draw in (
                ("social_value", lambda: round(float(rng.uniform(-3, 10)), 2)),
                ("risk", lambda: round(float(rng.uniform(0, 5)), 2)),
                ("staff_transferred", lambda: float(rng.integers(0, 50))),
                ("contract_years", lambda: int(rng.integers(1, 9))),
                ("lead_time_years", lambda: int(rng.integers(0, 3))),
            ):
                if rng.random() < 0.4:
                    option[name] = draw()
            if rng.random() < 0.3:
                option["label"] = f"option {k} of s{s}"
            options.append(option)
        service: dict[str, Any] = {
            "id": f"s{s}",
            "current_mode": options[int(rng.integers(0, len(options)))]["mode"],
            "weight": round(float(rng.uniform(0.5, 2.0)), 1),
            "options": options,
        }
        if service["current_mode"] == "cease":
            service["current_mode"] = "in_house"  # options[0] is in house
        if rng.random() < 0.3 and any(o["mode"] != "cease" for o in options):
            service["statutory"] = True
        in_current = [i for i, o in enumerate(options) if o["mode"] == service["current_mode"]]
        if rng.random() < 0.3:
            options[in_current[-1]]["current"] = True
        services.append(service)
    if not on[2]:
        for service in services:
            for option in service["options"]:
                if rng.random() < 0.3:
                    option.pop("flexibility")
    spend = math.fsum(s["options"][0]["annual_cost"] for s in services)
    constraints: dict[str, Any] = {}
    if on[3]:
        constraints["budget"] = round(spend * float(rng.uniform(0.8, 1.2)), 2)
    if on[4]:
        constraints["transition_budget"] = _money(rng, 0, 1500)
    if on[2]:
        constraints["min_flexibility"] = round(float(rng.uniform(0.2, 0.7)), 3)
    if on[5]:
        constraints["min_outcome"] = round(float(rng.uniform(0, 40)) * num_services, 2)
    if on[6]:
        constraints["max_changes"] = int(rng.integers(0, num_services))
    if on[7]:
        constraints["sector_share"] = {
            "private": {"max": round(float(rng.uniform(0.1, 0.6)), 3)},
            "voluntary": {"min": round(float(rng.uniform(0.0, 0.2)), 3)},
            "public": {"min": 0.2, "max": round(float(rng.uniform(0.5, 1.0)), 3)},
        }
    if on[8] and num_services >= 4:
        constraints["same_mode"] = [["s0", "s1"], ["s2", "s3", f"s{num_services - 1}"]]
    if on[9]:
        target = services[-1]
        constraints["fixed"] = {target["id"]: target["options"][-1]["mode"]}
        if target["options"][-1]["mode"] == "cease":
            target.pop("statutory", None)
    if on[10]:
        constraints["limits"] = [
            {"metric": "carbon_t", "max": _money(rng, 100, 3000)},
            {"metric": "fte", "sector": "private", "max": round(float(rng.uniform(0, 60)), 1)},
            {"metric": "transition_cost", "max": _money(rng, 0, 1000)},
            {"metric": "annual_cost", "mode": "private", "min": 0.0,
             "max": _money(rng, 0, 5000)},
            {"metric": "outcome", "min": round(float(rng.uniform(0, 30)) * num_services, 2)},
            {"metric": "social_value", "sector": "public", "min": -5.0, "max": 20.0},
            {"metric": "staff_transferred", "mode": "voluntary", "max": 30.0},
            {"metric": "contract_years", "max": float(4 * num_services)},
        ]
    if on[11]:
        constraints["max_modes_used"] = int(rng.integers(1, 5))
    data: dict[str, Any] = {
        "name": f"random {seed}",
        "modes": modes,
        "services": services,
        "constraints": constraints,
        "objective": OBJECTIVES[seed % len(OBJECTIVES)],
    }
    if on[12] and on[1]:  # investments raise market capacity
        data["investments"] = [
            {"id": "fund", "mode": "voluntary", "cost": _money(rng, 10, 300), "max_services": 2,
             "max_spend": _money(rng, 0, 2000)},
            {"id": "hub", "mode": "community", "cost": _money(rng, 10, 300), "max_services": 1},
        ]
    if on[13] and num_services >= 3:

        def saving(on: int) -> float:  # at most the cheapest option of the service it lands on
            cheapest = min(o["annual_cost"] for o in services[on]["options"])
            return math.floor(cheapest * float(rng.uniform(0.1, 1.0)) * 100) / 100

        data["effects"] = [
            {"when": {"service": "s0", "mode": services[0]["options"][-1]["mode"]}, "on": "s1",
             "saving": saving(1), "outcome": round(float(rng.uniform(0.5, 5)), 2)},
            {"when": {"service": "s2", "mode": "in_house"}, "on": "s0", "saving": saving(0),
             "outcome": -0.75},
        ]
    objective = data["objective"]
    if isinstance(objective, dict) and "investments" not in data:
        data["objective"] = {
            sense: {k: v for k, v in terms.items() if k != "investment_cost"}
            for sense, terms in objective.items()
        }
    return data


def _both_readings(data: dict[str, Any]) -> list[Instance]:
    """The instance through the full validation path (columns built from the objects) and
    through the fast reader (columns kept at reading)."""
    full = instance_from_data(data)
    fast = read_json(json.dumps(data).encode())
    assert fast is not None, "the fast reader should take these generated files"
    return [full, fast]


def _random_plans(instance: Instance, rng: np.random.Generator, count: int) -> list[list[int]]:
    return [
        [int(rng.integers(0, len(service.options))) for service in instance.services]
        for _ in range(count)
    ]


def _same(new: Any, old: Any) -> None:
    """Equal, and equal in every type and digit of their repr."""
    assert new == old
    assert repr(new) == repr(old)


SEEDS = range(48)


@pytest.mark.parametrize("seed", SEEDS)
def test_single_period_plans_give_exactly_the_loops_answers(seed: int) -> None:
    data = random_single_period(seed)
    rng = np.random.default_rng(1000 + seed)
    for instance in _both_readings(data):
        plans = [reference_current_options(instance), *_random_plans(instance, rng, 6)]
        made = [None, {}, {"fund": 0}, {"fund": 0, "hub": 0}, {"nothing": 0}, {"fund": 1}]
        for index, plan in enumerate(plans):
            investments = made[index % len(made)]
            if investments and not instance.investments:
                investments = {"nothing": 0}
            _same(
                verify_plan(instance, plan, investments),
                reference_verify_plan(instance, plan, investments),
            )


@pytest.mark.parametrize("seed", range(12))
def test_a_plan_naming_no_option_gives_the_loops_messages(seed: int) -> None:
    data = random_single_period(seed)
    instance = instance_from_data(data)
    rng = np.random.default_rng(seed)
    plan = _random_plans(instance, rng, 1)[0]
    plan[0] = -1
    plan[-1] = len(instance.services[-1].options)
    plan[len(plan) // 2] = 10**30  # beyond any machine integer
    verdict = verify_plan(instance, plan)
    assert not verdict.ok
    assert verdict.violations[0] == "service 's0': option index -1 does not exist"
    _same(verdict, reference_verify_plan(instance, plan))
    numpy_plan = np.array(plan[:-1] + [0], dtype=object)
    numpy_plan[len(plan) // 2] = 0
    as_array = np.array([int(p) for p in numpy_plan], dtype=np.int64)
    # Positions given as numpy integers: the same plan (the choices hold Python ints, where the
    # loops kept the numpy scalars they were given).
    from_array = verify_plan(instance, as_array)
    assert from_array == reference_verify_plan(instance, as_array)
    _same(from_array, reference_verify_plan(instance, as_array.tolist()))
    assert {type(choice.option) for choice in from_array.plan.choices} == {int}
    with pytest.raises(TypeError):
        verify_plan(instance, [1.5] * len(plan))


@pytest.mark.parametrize("seed", SEEDS)
def test_todays_arrangement_and_baseline_are_the_loops(seed: int) -> None:
    for instance in _both_readings(random_single_period(seed)):
        assert current_options(instance) == reference_current_options(instance)
        _same(baseline(instance), reference_baseline(instance))


def test_the_columns_carry_the_labels_both_ways() -> None:
    data = random_single_period(3)
    full, fast = _both_readings(data)
    expected = tuple(o.label for s in full.services for o in s.options)
    assert any(label is not None for label in expected)
    assert option_columns(full).labels == expected
    assert option_columns(fast).labels == expected
    for service in data["services"]:
        for option in service["options"]:
            option.pop("label", None)
    full, fast = _both_readings(data)
    assert option_columns(full).labels is None
    assert option_columns(fast).labels is None


# ---------------------------------------------------------------------- a penny beyond a limit
def _limit_setters(
    check_name: str, instance: Instance, year: int | None = None
) -> Callable[[dict[str, Any], float], None] | None:
    """How to move the limit a check reads, in the instance's data; None for a check that has
    no single number to move (bundles). With ``year`` (a multi-year instance), in that horizon
    year only: the field becomes a yearly list (``min_services`` stays one number)."""
    name, _, side = check_name.partition(".")
    modes = {mode.id: i for i, mode in enumerate(instance.modes)}
    years = instance.horizon.years if instance.horizon is not None else 1

    def put(old: Any, value: float) -> Any:
        """The field moved to ``value`` (in ``year`` only, when given)."""
        if year is None:
            return value
        values = list(old) if isinstance(old, list) else [value if old is None else old] * years
        values[year] = value
        return values

    if name in ("budget", "transition_budget", "min_outcome", "min_flexibility", "max_changes",
                "max_modes_used"):

        def constraint(data: dict[str, Any], value: float) -> None:
            data["constraints"][name] = put(data["constraints"].get(name), value)

        return constraint
    if name.startswith(("capacity_spend[", "capacity_count[", "min_services[")):
        field = {"capacity_spend": "max_spend", "capacity_count": "max_services",
                 "min_services": "min_services"}[name.partition("[")[0]]
        index = modes[name.partition("[")[2].rstrip("]")]

        def mode_limit(data: dict[str, Any], value: float) -> None:
            mode = data["modes"][index]
            mode[field] = value if field == "min_services" else put(mode.get(field), value)
            if field == "min_services":
                mode.pop("max_services", None)
            if field == "max_services":
                mode.pop("min_services", None)

        return mode_limit
    if name.startswith("limits["):
        row = int(name[len("limits["):].rstrip("]"))

        def limits_row(data: dict[str, Any], value: float) -> None:
            bounds = data["constraints"]["limits"][row]
            moved = side or ("max" if "max" in bounds else "min")
            bounds[moved] = put(bounds.get(moved), value)
            other = "min" if moved == "max" else "max"
            if other in bounds:  # the other bound makes room (min <= max)
                now = bounds[other] if year is None else value_in_year(bounds[other], year)
                bounds[other] = put(bounds[other], (min if other == "min" else max)(now, value))

        return limits_row
    if name.startswith("sector_share["):
        sector = name[len("sector_share["):].rstrip("]")

        def share(data: dict[str, Any], value: float) -> None:
            shares = data["constraints"]["sector_share"]
            shares[sector] = {side: put(shares.get(sector, {}).get(side), value)}

        return share
    return None


def _counted(name: str) -> bool:
    """The check counts whole services or modes."""
    return name.startswith(("capacity_count", "min_services", "max_changes", "max_modes_used"))


def _on_and_inside(check: Check, annual: float) -> tuple[float, float] | None:
    """A limit on the plan's own figure, and one a penny inside it (a share: a penny of the
    year's spend; a count: one); None where the second cannot be set (no spend, a share beyond
    0..1, money or a count below 0)."""
    on = check.value
    if check.name.startswith(("sector_share", "min_flexibility")):
        if annual <= 0:
            return None
        penny = 0.01 / annual
        if not (0.0 <= on - penny and on + penny <= 1.0):
            return None
    else:
        penny = 1 if _counted(check.name) else 0.01
    inside = on - penny if check.sense == "<=" else on + penny
    never_negative = _counted(check.name) or check.name.startswith(
        ("budget", "transition_budget", "capacity_spend")
    )
    if never_negative and inside < 0:
        return None
    return on, inside


def _moved_limits(
    data: dict[str, Any],
    instance: Instance,
    checks: Sequence[Check],
    annual: float,
    year: int | None = None,
) -> Iterator[tuple[Check, dict[str, Any], float, bool]]:
    """For each check with a limit to move (in ``year`` only, when given): the check, the data
    with its limit on the plan's own figure (it should hold) and then a penny inside (it should
    break), the limit, and whether it should hold."""
    for check in checks:
        setter = _limit_setters(check.name, instance, year)
        limits = None if setter is None else _on_and_inside(check, annual)
        if setter is None or limits is None:
            continue
        for limit, should_hold in zip(limits, (True, False), strict=True):
            moved = json.loads(json.dumps(data))
            setter(moved, int(limit) if _counted(check.name) else limit)
            yield check, moved, limit, should_hold


@pytest.mark.parametrize("seed", range(24))
def test_a_penny_beyond_each_limit_breaks_it_and_on_it_holds(seed: int) -> None:
    """For each limit a plan is checked against: the limit moved to the plan's own figure holds
    (binding), moved a penny inside (a count: one inside) breaks; the vectorised verifier and the
    loops agree on every verdict, message and check."""
    data = random_single_period(seed)
    instance = instance_from_data(data)
    plan = _random_plans(instance, np.random.default_rng(seed), 1)[0]
    first = reference_verify_plan(instance, plan)
    annual = first.plan.annual_cost
    tried = 0
    for check, moved, limit, should_hold in _moved_limits(data, instance, first.plan.checks,
                                                          annual):
        changed = instance_from_data(moved)
        new = verify_plan(changed, plan)
        _same(new, reference_verify_plan(changed, plan))
        verdict = {c.name: c for c in new.plan.checks}[check.name]
        assert verdict.ok is should_hold, (check.name, limit, verdict)
        if should_hold and not _counted(check.name):
            assert verdict.binding or check.name.startswith(("sector", "min_flex"))
        if not should_hold:
            assert any(v.startswith(check.name.partition(".")[0]) for v in new.violations)
        tried += 1
    assert tried >= 2


# ---------------------------------------------------------------------- multi-year
def random_multi_year(seed: int) -> dict[str, Any]:
    """A small random multi-year instance with yearly limits, a vehicle cap, a delayed
    investment, a lagged effect, per-year costs on some options and the row families of the
    single-period generator."""
    rng = np.random.default_rng(seed)
    data = random_multi_year_data(
        int(rng.integers(4, 9)), years=3, seed=seed, options=(2, 4),
        setup_costs=bool(seed % 2), sector_shares=bool(seed % 3), bundles=True,
    )
    years = data["horizon"]["years"]
    for service in data["services"]:
        for option in service["options"]:
            if "indexation" not in option and rng.random() < 0.3:
                base = option["annual_cost"]
                option["annual_cost"] = [round(base * (1 + 0.01 * t), 2) for t in range(years)]
            if rng.random() < 0.3:
                option["label"] = "labelled"
            if rng.random() < 0.5:
                option["metrics"]["carbon_t"] = _money(rng, 0, 300)
    constraints = data["constraints"]
    constraints["max_modes_used"] = [5, 4, 3][:years]
    constraints["limits"] = [
        {"metric": "fte", "max": [400.0, 380.0, 360.0][:years]},
        {"metric": "annual_cost", "sector": "private", "max": 5000.0},
        {"metric": "transition_cost", "min": 0.0, "max": 3000.0},
    ]
    ids = [service["id"] for service in data["services"]]
    data["investments"] = [
        {"id": "fund", "mode": "voluntary", "cost": 120.5, "max_services": 1,
         "years_to_effect": 1},
    ]
    data["effects"] = [
        {"when": {"service": ids[0], "mode": "in_house"}, "on": ids[1], "saving": 12.25,
         "outcome": 0.5, "lag_years": 1},
    ]
    data["objective"] = OBJECTIVES[seed % len(OBJECTIVES)]
    return data


def _random_paths(instance: Instance, rng: np.random.Generator) -> list[ServicePath]:
    """Each service's contracts one after another from the year it is free (sometimes breaking
    its existing contract), with random options: some break lead times, which both verifiers
    must report alike."""
    horizon = instance.horizon
    assert horizon is not None
    paths = []
    for service in instance.services:
        free = 0
        broken = None
        end = service.current_contract_end
        if end is not None:
            free = end - horizon.start_year + 1
            if service.termination_cost is not None and rng.random() < 0.5:
                broken = int(rng.integers(0, max(1, min(free, horizon.years))))
                free = broken
        starts = []
        year = free
        while year < horizon.years:
            position = int(rng.integers(0, len(service.options)))
            starts.append((position, year))
            year += service.options[position].contract_years or 1
        paths.append(ServicePath(service.id, broken, tuple(starts)))
    return paths


@pytest.mark.parametrize("seed", range(16))
def test_multi_year_plans_give_exactly_the_loops_answers(seed: int) -> None:
    data = random_multi_year(seed)
    instance = instance_from_data(data)
    rng = np.random.default_rng(seed)
    plans = [current_decisions(instance), *(_random_paths(instance, rng) for _ in range(4))]
    for index, paths in enumerate(plans):
        investments = None if index % 2 else {"fund": index % instance.horizon.years}
        _same(
            verify_schedule(instance, paths, investments),
            reference_verify_schedule(instance, paths, investments),
        )
    _same(baseline(instance), reference_baseline(instance))


# ---------------------------------------------------------------------- multi-year, read both ways
def _built(instance: Instance) -> int:
    """Option objects an instance holds built (the fast reader leaves them as columns, but for
    the few services its reference checks read: those an effect or a fixed mode names)."""
    return sum(
        len(service.__dict__["options"])
        for service in instance.services
        if type(service.__dict__.get("options")) is list
    )


def random_multi_year_every_family(seed: int) -> dict[str, Any]:
    """:func:`random_multi_year` with a mode minimum, a fixed service, a yearly outcome floor and
    some whole-number figures (an ``int`` in the file) on top."""
    data = random_multi_year(seed)
    rng = np.random.default_rng(5000 + seed)
    data["modes"][0]["min_services"] = 1
    constraints = data["constraints"]
    constraints["min_outcome"] = [0.0, 1.0, 2.0][: data["horizon"]["years"]]
    last = data["services"][-1]
    last_modes = [o["mode"] for o in last["options"]]
    if last.get("current_contract_end") is None:
        constraints["fixed"] = {last["id"]: last_modes[-1]}
    for service in data["services"]:
        for option in service["options"]:
            if rng.random() < 0.2:
                option["transition_cost"] = int(rng.integers(0, 40))
            if rng.random() < 0.2 and not isinstance(option["annual_cost"], list):
                option["annual_cost"] = int(rng.integers(100, 900))
    return data


@pytest.mark.parametrize("seed", range(24))
def test_multi_year_plans_read_both_ways_give_the_loops_answers(seed: int) -> None:
    """Random schedules on instances read both ways: the same verdicts, messages, contracts,
    years and plans as the loops; the instance read fast builds no option object."""
    data = random_multi_year_every_family(seed)
    full, fast = _both_readings(data)
    read = _built(fast)
    assert read <= 3 * 8  # at most three services' options (two by the effect, one fixed)
    rng = np.random.default_rng(seed)
    plans = [reference_current_decisions(full), *(_random_paths(full, rng) for _ in range(4))]
    years = full.horizon.years
    made = [None if index % 2 else {"fund": index % years} for index in range(len(plans))]
    found = [verify_schedule(fast, paths, made[i]) for i, paths in enumerate(plans)]
    assert current_decisions(fast) == plans[0]
    today = baseline(fast)
    assert _built(fast) == read
    for instance in (fast, full):
        for index, paths in enumerate(plans):
            new = verify_schedule(instance, paths, made[index])
            _same(new, reference_verify_schedule(instance, paths, made[index]))
            _same(found[index], new)
    _same(today, reference_baseline(full))


def _edge_plans(instance: Instance, rng: np.random.Generator) -> list[list[ServicePath]]:
    """Schedules that break each rule of playing contracts out (one service at a time, then all
    at once): an option that does not exist (negative, one past the end, beyond any machine
    integer), no contract, a contract over the last, every start a year late or early, a start
    outside the horizon, a path for another service, positions and years given as numpy
    integers or a bool, breaking a contract that has no end, cannot be broken, or outside its
    locked years, and a contract started before its lead time allows."""
    horizon = instance.horizon
    assert horizon is not None
    years = horizon.years
    base = _random_paths(instance, rng)
    plans: list[list[ServicePath]] = []
    together = list(base)

    def change(index: int, **fields: Any) -> None:
        path = dataclasses.replace(base[index], **fields)
        plans.append([*base[:index], path, *base[index + 1:]])
        together[index] = path

    services = instance.services
    free = [i for i, s in enumerate(services) if s.current_contract_end is None]
    locked = [i for i, s in enumerate(services) if s.current_contract_end is not None]
    i = free[int(rng.integers(len(free)))] if free else 0
    starts = base[i].starts
    count = len(services[i].options)
    if starts:
        rest = starts[1:]
        change(i, starts=((-1, starts[0][1]), *rest))
        change(i, starts=((count, starts[0][1]), *rest))
        change(i, starts=((10**30, starts[0][1]), *rest))
        change(i, starts=(*starts, starts[-1]))
        change(i, starts=((starts[0][0], years), *rest))
        change(i, starts=((starts[0][0], -1), *rest))
    change(i, starts=())
    change(i, starts=tuple((p, y + 1) for p, y in starts))
    change(i, starts=tuple((p, y - 1) for p, y in starts))
    change(i, starts=tuple((np.int64(p), np.int64(y)) for p, y in starts))
    change(i, starts=tuple((True, y) if count > 1 else (False, y) for _, y in starts))
    change(i, service="nobody")
    change(i, broken_in=0)
    for j in locked:
        service = services[j]
        end = service.current_contract_end
        assert end is not None
        change(j, broken_in=end - horizon.start_year + 1)
        change(j, broken_in=-1)
        change(j, broken_in=years + 2)
        if service.termination_cost is None:
            change(j, broken_in=0, starts=tuple((p, 0) for p, _ in base[j].starts[:1]))
    for j in free:
        late = [k for k, o in enumerate(services[j].options) if (o.lead_time_years or 0) > 0]
        if late:
            option = services[j].options[late[0]]
            length = option.contract_years or 1
            change(j, starts=tuple((late[0], y) for y in range(0, years, length)))
            break
    plans.append(together)
    return plans


@pytest.mark.parametrize("seed", range(16))
def test_edge_and_broken_schedules_give_the_loops_messages(seed: int) -> None:
    data = random_multi_year_every_family(seed)
    full, fast = _both_readings(data)
    read = _built(fast)
    plans = _edge_plans(full, np.random.default_rng(100 + seed))
    assert len(plans) >= 12
    found = [verify_schedule(fast, paths) for paths in plans]
    assert _built(fast) == read
    for paths, first in zip(plans, found, strict=True):
        assert not first.ok
        for instance in (fast, full):
            new = verify_schedule(instance, paths)
            _same(first, new)
            old = reference_verify_schedule(instance, paths)
            if all(type(p) is int for path in paths for p, _ in path.starts):
                _same(new, old)
                continue
            # Positions given as numpy integers or a bool: the same verdict; the plan and the
            # contracts keep the positions as given, as the loops did, but the first year's
            # choices hold Python ints (as a single-period plan's do, since the verifier read
            # columns), where the loops kept what they were given.
            assert new == old
            _same(new.plan, old.plan)
            _same(new.violations, old.violations)
            _same(new.first_year.checks, old.first_year.checks)
            assert {type(choice.option) for choice in new.first_year.choices} == {int}
    # The errors that are raised, raised alike.
    paths = plans[-1]
    for verify in (verify_schedule, reference_verify_schedule):
        with pytest.raises(ValueError, match="paths for"):
            verify(fast, paths[:-1])
        floating = [dataclasses.replace(paths[0], starts=((1.5, 0),)), *paths[1:]]
        with pytest.raises(TypeError):
            verify(full, floating)
    single = instance_from_data(random_single_period(seed))
    with pytest.raises(ValueError, match="needs an instance with a horizon"):
        verify_schedule(single, [])


def test_the_edge_schedules_break_what_they_say() -> None:
    """The messages of a few edge schedules, by hand (the loops could share a fault)."""
    data = random_multi_year_every_family(3)
    instance = instance_from_data(data)
    paths = _random_paths(instance, np.random.default_rng(0))
    free = next(i for i, s in enumerate(instance.services) if s.current_contract_end is None)
    sid = instance.services[free].id
    count = len(instance.services[free].options)
    bad = list(paths)
    bad[free] = ServicePath(sid, 2, ((count, 0),))
    verdict = verify_schedule(instance, bad)
    start = instance.horizon.start_year
    expected = [
        f"service '{sid}': broken in year index 2 but it has no contract end",
        f"service '{sid}': option index {count} does not exist",
        f"service '{sid}': no arrangement in {start}, {start + 1}, {start + 2}",
    ]
    assert [v for v in verdict.violations if v.startswith(f"service '{sid}'")] == expected
    assert verdict.plan.options[sid] == [reference_current_options(instance)[free]] * 3


# ---------------------------------------------------------------------- multi-year, a penny
@pytest.mark.parametrize("seed", range(12))
def test_a_penny_beyond_each_yearly_limit_breaks_it_and_on_it_holds(seed: int) -> None:
    """For each limit of each year: the limit moved to the plan's own figure that year holds,
    a penny (a count: one) inside breaks; the columns and the loops agree on everything."""
    data = random_multi_year_every_family(seed)
    instance = instance_from_data(data)
    paths = _random_paths(instance, np.random.default_rng(seed))
    first = reference_verify_schedule(instance, paths, {})
    tried = 0
    for year, totals in enumerate(first.plan.years):
        annual = totals.annual_cost
        moves = _moved_limits(data, instance, totals.checks, annual, year)
        for check, moved, limit, should_hold in moves:
            for changed in _both_readings(moved):
                new = verify_schedule(changed, paths, {})
                _same(new, reference_verify_schedule(changed, paths, {}))
            verdict = {c.name: c for c in new.plan.years[year].checks}[check.name]
            assert verdict.ok is should_hold, (check.name, year, limit, verdict)
            if not should_hold:
                where = f" in {totals.year}"
                assert any(v.startswith(check.name.partition(".")[0]) and where in v
                           for v in new.violations)
            tried += 1
    assert tried >= 10


# ---------------------------------------------------------------------- the scenarios' data
def _negative_zero(data: dict[str, Any]) -> dict[str, Any]:
    """The data with a cost of -0.0 (one number, and in a yearly list)."""
    moved = json.loads(json.dumps(data))
    landed = {effect["on"] for effect in moved.get("effects", [])}  # their savings stay valid
    options = [o for s in moved["services"] if s["id"] not in landed for o in s["options"]]
    scalar = next(o for o in options if not isinstance(o["annual_cost"], list))
    scalar["annual_cost"] = -0.0
    listed = [o for o in options if isinstance(o["annual_cost"], list)]
    if listed:
        listed[0]["annual_cost"][0] = -0.0
    return moved


@pytest.mark.parametrize("seed", range(12))
def test_year_values_are_the_loops(seed: int) -> None:
    data = random_multi_year_every_family(seed)
    for source in (data, _negative_zero(data)):
        full, fast = _both_readings(source)
        read = _built(fast)
        found = year_values(fast)
        assert _built(fast) == read
        expected = reference_year_values(full)
        _same(found, expected)
        _same(year_values(full), expected)
        _same(reference_year_values(fast), expected)


@pytest.mark.parametrize(
    "name", ["example_borough_scenarios.yaml", "scenarios_flexible_contract.yaml"]
)
def test_year_values_of_each_scenario_are_the_loops(name: str) -> None:
    instance = load_instance(ROOT / "instances" / name)
    assert instance.scenarios
    values = [year_values(scenario_instance(instance, s)) for s in instance.scenarios]
    for scenario, found in zip(instance.scenarios, values, strict=True):
        _same(found, reference_year_values(scenario_instance(instance, scenario)))
    assert len({tuple(v) for v in values}) > 1  # the scenarios' data differ somewhere


# ---------------------------------------------------------------------- a multi-year solve
def test_a_multi_year_solve_of_an_instance_read_fast_builds_no_option() -> None:
    """Solving, verifying and comparing with today (the services that change mode in some
    year, those kept in today's mode on another option) read the columns only; the comparison
    is the one the option objects give."""
    data = _labelled_multi_year(random_multi_year_data(40, years=4, seed=2))
    full, fast = _both_readings(data)
    read = _built(fast)
    params = portfolio.SolveParams(rel_gap=1e-3, time_limit=30, prefer="none")
    result = portfolio.solve(fast, params=params)
    assert result.status.has_plan, result.detail
    assert _built(fast) == read
    versus = versus_baseline(fast, result)
    assert versus is not None
    assert _built(fast) == read
    today = reference_baseline(full)["options"]
    modes = {
        service.id: [service.options[i].mode for i in result.multi_year.options[service.id]]
        for service in full.services
    }
    changed = [s.id for s in full.services if any(m != s.current_mode for m in modes[s.id])]
    other = [sid for sid, used in result.multi_year.options.items()
             if sid not in changed and any(i != today[sid] for i in used)]
    assert versus["changes"] == changed
    assert versus["other_option"] == other
    assert changed  # the plan moves some services
    _same(verify_schedule(full, result.multi_year.paths).plan, result.multi_year)


def _labelled_multi_year(data: dict[str, Any]) -> dict[str, Any]:
    for service in data["services"][::3]:
        service["options"][0]["label"] = "first"
    return data
