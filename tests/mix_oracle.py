"""A brute-force oracle for the vehicle cap, investments and prevention effects (issue 14).

It imports nothing from ``portfolio``: it reads an instance as plain data (dicts and lists) and
lists every plan of a tiny instance, every year's option of every service and every set of
investments with the year each is made, and follows the issue's semantics literally:

* a plan runs one option per service each year (single period: one year). Contracts here are one
  year long (the cases give no ``contract_years``, lead times or contract ends), so any option
  may run in any year;
* ``transition_cost`` is paid in a year when the service's mode differs from the year before
  (its ``current_mode`` before the first year); a mode's ``setup_cost`` once, in the first year
  any service uses it;
* **max_modes_used** K (a number, or one per year): in each year the number of distinct modes run
  by at least one service, modes with ``ceases_service`` not counted, is at most K;
* **investments**: each made at most once, in some year t (single period: t = 0). Its ``cost`` is
  paid in year t (in ``transition_budget`` and in ``minimise_cost``, discounted); from year
  t + ``years_to_effect`` on, its mode's ``max_services`` and ``max_spend`` are raised by its
  ``max_services`` and ``max_spend``;
* **effects**: when service ``when.service`` runs in mode ``when.mode`` in year t, then in year
  t + ``lag_years`` (if inside the horizon) the spend counted against ``budget`` falls by
  ``saving``, ``minimise_cost`` falls by ``saving``, and the weighted outcome (objective and
  ``min_outcome``) rises by ``outcome`` times the weight of service ``on``;
* other limits read: budget, transition_budget, min_outcome (each one number or one per year),
  a mode's ``max_services``/``max_spend``; statutory services never run a ceasing mode;
* objective: ``maximise_outcome`` (sum of weight * outcome, plus gains) or ``minimise_cost``
  (annual + transition + setup + investments - savings), each year discounted by
  (1 + rate)**-t (rate 0.035 unless the horizon gives one; single period: 1).
"""

from __future__ import annotations

import itertools
from typing import Any

TOL = 1e-9


def _at(value: Any, year: int) -> float | None:
    if value is None:
        return None
    return float(value[year]) if isinstance(value, list) else float(value)


def _cost(option: dict[str, Any], year: int) -> float:
    cost = option["annual_cost"]
    return float(cost[year]) if isinstance(cost, list) else float(cost)


def evaluate(data: dict[str, Any], plan: list[list[int]], made: dict[str, int]) -> float | None:
    """The objective of a plan (``plan[s][t]``: option of service s in year t; ``made``:
    investment id -> year), or None when it breaks a rule."""
    horizon = data.get("horizon")
    years = horizon["years"] if horizon else 1
    rate = horizon.get("discount_rate", 0.035) if horizon else 0.0
    modes = {m["id"]: m for m in data["modes"]}
    services = data["services"]
    limits = data.get("constraints", {})
    investments = data.get("investments", [])
    effects = data.get("effects", [])
    maximise = data.get("objective", "maximise_outcome") == "maximise_outcome"
    weight = {s["id"]: s.get("weight", 1.0) for s in services}
    first_used: dict[str, int] = {}
    for t in range(years):
        for s, service in enumerate(services):
            first_used.setdefault(service["options"][plan[s][t]]["mode"], t)
    total = 0.0
    for t in range(years):
        running = [service["options"][plan[s][t]] for s, service in enumerate(services)]
        in_mode = [option["mode"] for option in running]
        for service, option in zip(services, running, strict=True):
            if service.get("statutory") and modes[option["mode"]].get("ceases_service"):
                return None
        annual = sum(_cost(option, t) for option in running)
        outcome = sum(
            weight[s["id"]] * o["outcome"] for s, o in zip(services, running, strict=True)
        )
        transition = 0.0
        for s, service in enumerate(services):
            before = (
                service["current_mode"] if t == 0 else service["options"][plan[s][t - 1]]["mode"]
            )
            if running[s]["mode"] != before:
                transition += running[s].get("transition_cost", 0.0)
        setup = sum(
            modes[m].get("setup_cost", 0.0) for m, first in first_used.items() if first == t
        )
        invest = sum(i["cost"] for i in investments if made.get(i["id"]) == t)
        saving = gain = 0.0
        for effect in effects:
            source = t - effect.get("lag_years", 0)
            if source >= 0:
                # the producing service's mode in year `source`
                s = next(
                    k for k, sv in enumerate(services) if sv["id"] == effect["when"]["service"]
                )
                if services[s]["options"][plan[s][source]]["mode"] == effect["when"]["mode"]:
                    saving += effect.get("saving", 0.0)
                    gain += weight[effect["on"]] * effect.get("outcome", 0.0)
        outcome += gain
        checks = [
            (_at(limits.get("budget"), t), annual - saving),
            (_at(limits.get("transition_budget"), t), transition + setup + invest),
        ]
        for limit, value in checks:
            if limit is not None and value > limit + TOL:
                return None
        floor = _at(limits.get("min_outcome"), t)
        if floor is not None and outcome < floor - TOL:
            return None
        cap = _at(limits.get("max_modes_used"), t)
        counted = {m for m in in_mode if not modes[m].get("ceases_service")}
        if cap is not None and len(counted) > cap:
            return None
        for mode_id, mode in modes.items():
            raised = [
                i for i in investments
                if i["mode"] == mode_id and i["id"] in made
                and made[i["id"]] + i.get("years_to_effect", 0) <= t
            ]
            count_cap = _at(mode.get("max_services"), t)
            if count_cap is not None:
                count_cap += sum(i.get("max_services", 0) for i in raised)
                if sum(1 for o in running if o["mode"] == mode_id) > count_cap:
                    return None
            spend_cap = _at(mode.get("max_spend"), t)
            if spend_cap is not None:
                spend_cap += sum(i.get("max_spend", 0.0) for i in raised)
                spend = sum(_cost(o, t) for o in running if o["mode"] == mode_id)
                if spend > spend_cap + TOL:
                    return None
        value = outcome if maximise else annual + transition + setup + invest - saving
        total += (1.0 + rate) ** -t * value
    return total


def brute_force(data: dict[str, Any]) -> float | None:
    """The optimum over every plan and every set of investments (None: no plan is feasible)."""
    horizon = data.get("horizon")
    years = horizon["years"] if horizon else 1
    maximise = data.get("objective", "maximise_outcome") == "maximise_outcome"
    services = data["services"]
    per_service = [
        list(itertools.product(range(len(service["options"])), repeat=years))
        for service in services
    ]
    ids = [i["id"] for i in data.get("investments", [])]
    timings = list(itertools.product([None, *range(years)], repeat=len(ids)))
    best: float | None = None
    for choice in itertools.product(*per_service):
        plan = [list(path) for path in choice]
        for timing in timings:
            made = {i: t for i, t in zip(ids, timing, strict=True) if t is not None}
            value = evaluate(data, plan, made)
            if value is None:
                continue
            if best is None or (value > best if maximise else value < best):
                best = value
    return best
