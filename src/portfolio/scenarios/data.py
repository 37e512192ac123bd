"""Each funding scenario as a plain multi-year instance, and the scenario tree the data imply.

A scenario's instance is the instance with the scenario's constraint overrides put in place and
its cost factors applied to every option's yearly annual cost (``annual_cost`` becomes the list of
indexed, factored yearly costs; transition, setup and termination costs are unchanged). Two
scenarios are indistinguishable at year t when their data agree in every year up to t
(every yearly limit, and every option's cost): that is the information structure, a tree whose
nodes at
year t are the classes of indistinguishable scenarios (models/scenarios.md, "Information").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from portfolio.columnar import OptionColumns, option_columns, remember_columns
from portfolio.domain import (
    SECTORS,
    Constraints,
    Instance,
    Scenario,
    is_per_year,
    limit_values,
    value_in_year,
)
from portfolio.linear import BoolArray, FloatArray, IntArray


def scenario_instance(instance: Instance, scenario: Scenario) -> Instance:
    """The multi-year instance of one scenario (no ``scenarios`` or ``risk`` of its own).

    Only the services with an option the scenario's cost factors change get new option objects;
    the others are the instance's own (on an instance read fast, their options stay columns).
    The scenario instance's option columns are the instance's, with the changed options' costs
    in place (exactly what :func:`~portfolio.columnar.option_columns` would build from its
    objects), so verifying it builds no option of an unchanged service.
    """
    assert instance.horizon is not None
    years = instance.horizon.years
    constraints = _constraints(instance.constraints, scenario)
    columns = option_columns(instance)
    factors_of_mode = [
        [scenario.factor(mode.sector, t) for t in range(years)] for mode in instance.modes
    ]
    changed_mode = np.array([any(f != 1.0 for f in row) for row in factors_of_mode], np.bool_)
    changed_option = changed_mode[columns.mode] if len(changed_mode) else \
        np.zeros(columns.num_options, np.bool_)
    counts = np.diff(columns.first_option)
    changed_service = np.flatnonzero(
        np.bincount(np.repeat(np.arange(len(counts)), counts), weights=changed_option,
                    minlength=len(counts)) > 0
    ).tolist()
    update: dict[str, object] = {
        "name": f"{instance.name} [{scenario.name}]",
        "constraints": constraints,
        "scenarios": None,
        "risk": None,
    }
    if changed_service:
        mode_index = {mode_id: m for m, mode_id in enumerate(columns.mode_ids)}
        services = list(instance.services)
        for s in changed_service:
            service = services[s]
            options = []
            for option in service.options:
                factors = factors_of_mode[mode_index[option.mode]]
                if all(f == 1.0 for f in factors):
                    options.append(option)
                    continue
                costs = [
                    float(value_in_year(option.annual_cost, t) or 0.0)
                    * (1.0 + option.indexation) ** t
                    * factors[t]
                    for t in range(years)
                ]
                options.append(
                    option.model_copy(update={"annual_cost": costs, "indexation": 0.0})
                )
            services[s] = service.model_copy(update={"options": options})
        update["services"] = services
    own = instance.model_copy(update=update)
    if own.modes is instance.modes:
        scenario_columns = _factored_columns(own, columns, np.flatnonzero(changed_option))
        if scenario_columns is not None:
            remember_columns(own, scenario_columns)
    return own


def _factored_columns(
    own: Instance, columns: OptionColumns, changed: IntArray
) -> OptionColumns | None:
    """The option columns of a scenario's instance ``own``: the instance's ``columns`` with the
    yearly costs of the ``changed`` options (global indices) taken from ``own``'s new option
    objects; None when the instance's per-year cost lists are not one per horizon year (then
    the columns are built from the objects)."""
    if not len(changed):
        return columns
    assert own.horizon is not None
    years = own.horizon.years
    listed = columns.annual_cost_years
    if listed is not None and listed.shape[1] != years:
        return None
    first = columns.first_option
    service_of = np.searchsorted(first, changed, side="right") - 1
    rows = np.array(
        [
            own.services[s].options[o - int(first[s])].annual_cost
            for s, o in zip(service_of.tolist(), changed.tolist(), strict=True)
        ],
        dtype=np.float64,
    ).reshape(len(changed), years)
    yearly = np.full((columns.num_options, years), np.nan) if listed is None else listed.copy()
    yearly[changed] = rows
    annual_cost = columns.annual_cost.copy()
    annual_cost[changed] = rows[:, 0]
    indexation = columns.indexation.copy()
    indexation[changed] = 0.0
    return replace(columns, annual_cost=annual_cost, indexation=indexation,
                   annual_cost_years=yearly)


def year_values(instance: Instance) -> list[tuple[float | None, ...]]:
    """Every figure a scenario can change, year by year: each yearly limit's value that year,
    then each option's annual cost that year (indexed; read from the option columns,
    :meth:`~portfolio.columnar.OptionColumns.annual_cost_in_year`). Two scenarios are
    indistinguishable at t when these agree in every year up to t (models/scenarios.md)."""
    assert instance.horizon is not None
    columns = option_columns(instance)
    every = np.arange(columns.num_options, dtype=np.int64)
    return [
        # + 0.0: a cost of -0.0 is counted as 0.0
        (*limit_values(instance, t), *(columns.annual_cost_in_year(every, t) + 0.0).tolist())
        for t in range(instance.horizon.years)
    ]


def _constraints(base: Constraints, scenario: Scenario) -> Constraints:
    own = scenario.constraints
    update: dict[str, object] = {
        name: getattr(own, name)
        for name in ("budget", "transition_budget", "min_flexibility", "min_outcome",
                     "max_changes")
        if getattr(own, name) is not None
    }
    if own.sector_share:
        shares = dict(base.sector_share)
        for sector, bound in own.sector_share.items():
            old = shares.get(sector)
            if old is None:
                shares[sector] = bound
                continue
            given = {k: v for k, v in (("min", bound.min), ("max", bound.max)) if v is not None}
            shares[sector] = old.model_copy(update=given)
        update["sector_share"] = shares
    if own.limits:
        rows = list(base.limits)
        for key, override in own.limits.items():
            given = {k: v for k, v in (("min", override.min), ("max", override.max))
                     if v is not None}
            rows[int(key)] = rows[int(key)].model_copy(update=given)
        update["limits"] = rows
    return base.model_copy(update=update)


def base_instance(instance: Instance) -> Instance:
    """The instance without its scenarios (the base data, as a plain multi-year instance)."""
    return instance.model_copy(update={"scenarios": None, "risk": None})


def mean_instance(instance: Instance) -> Instance:
    """The expected-value problem's instance: every figure a scenario can change replaced by its
    probability-weighted mean over the scenarios, year by year (a count limit, ``max_changes``,
    rounded down; a limit some scenarios lack is the mean of those that have it)."""
    scenarios = instance.scenarios or []
    parts = [(s.probability, scenario_instance(instance, s)) for s in scenarios]
    assert instance.horizon is not None
    years = instance.horizon.years

    def mean(values: Sequence[tuple[float, Any]], count: bool = False) -> Any:
        given = [(p, v) for p, v in values if v is not None]
        if not given:
            return None
        mass = math.fsum(p for p, _ in given)
        per_year: list[float] = []
        for t in range(years):
            if mass <= 0:
                total = math.fsum(float(value_in_year(v, t) or 0.0) for _, v in given) / len(given)
            else:
                total = math.fsum(p * float(value_in_year(v, t) or 0.0) for p, v in given) / mass
            per_year.append(float(math.floor(total + 1e-9)) if count else total)
        if all(v == per_year[0] for v in per_year) and not any(is_per_year(v) for _, v in given):
            first = per_year[0]
            return int(first) if count else first
        return [int(v) for v in per_year] if count else per_year

    first = parts[0][1]
    update: dict[str, object] = {}
    for name in ("budget", "transition_budget", "min_flexibility", "min_outcome", "max_changes"):
        update[name] = mean(
            [(p, getattr(inst.constraints, name)) for p, inst in parts], count=name == "max_changes"
        )
    shares = {}
    for sector in sorted({k for _, inst in parts for k in inst.constraints.sector_share}):
        bounds = [(p, inst.constraints.sector_share.get(sector)) for p, inst in parts]
        low = mean([(p, None if b is None else b.min) for p, b in bounds])
        high = mean([(p, None if b is None else b.max) for p, b in bounds])
        template = next(b for _, b in bounds if b is not None)
        shares[sector] = template.model_copy(update={"min": low, "max": high})
    update["sector_share"] = shares
    rows = []
    for index, row in enumerate(first.constraints.limits):
        low = mean([(p, inst.constraints.limits[index].min) for p, inst in parts])
        high = mean([(p, inst.constraints.limits[index].max) for p, inst in parts])
        rows.append(row.model_copy(update={"min": low, "max": high}))
    update["limits"] = rows
    services = []
    for s_index, service in enumerate(first.services):
        options = []
        for o_index, option in enumerate(service.options):
            costs = [
                math.fsum(
                    p
                    * float(
                        value_in_year(inst.services[s_index].options[o_index].annual_cost, t) or 0
                    )
                    * (1.0 + inst.services[s_index].options[o_index].indexation) ** t
                    for p, inst in parts
                )
                for t in range(years)
            ]
            options.append(option.model_copy(update={"annual_cost": costs, "indexation": 0.0}))
        services.append(service.model_copy(update={"options": options}))
    return instance.model_copy(
        update={
            "name": f"{instance.name} [expected value]",
            "constraints": first.constraints.model_copy(update=update),
            "services": services,
            "scenarios": None,
            "risk": None,
        }
    )


@dataclass(frozen=True)
class ScenarioTree:
    """The information structure: which scenarios are told apart by each year.

    Attributes:
        names: the scenarios' names.
        probability: their probabilities.
        node: ``node[s][t]``, the node scenario s is in at year t; nodes are numbered year by
            year (every node of year t before any of year t + 1), in order of their first
            scenario.
        node_year: the year of each node.
        members: the scenarios of each node.
    """

    names: tuple[str, ...]
    probability: tuple[float, ...]
    node: tuple[tuple[int, ...], ...]
    node_year: tuple[int, ...]
    members: tuple[tuple[int, ...], ...]

    @property
    def num_nodes(self) -> int:
        """Number of nodes over all years."""
        return len(self.node_year)

    def nodes_in(self, year: int) -> list[int]:
        """The nodes of year ``year``."""
        return [n for n, y in enumerate(self.node_year) if y == year]

    def together(self, a: int, b: int, year: int) -> bool:
        """True when scenarios ``a`` and ``b`` are indistinguishable at ``year``."""
        return self.node[a][year] == self.node[b][year]

    def first_split(self) -> int | None:
        """The first year in which some scenarios are told apart (None: never)."""
        for year in sorted(set(self.node_year)):
            if len(self.nodes_in(year)) > 1:
                return year
        return None


def limits_instance(instance: Instance, scenario: Scenario) -> Instance:
    """The instance with the scenario's limits in place and its options untouched: with
    :func:`cost_factors` on the base table, what the compiler needs (cheaper than
    :func:`scenario_instance`, which rewrites every factored option)."""
    return instance.model_copy(
        update={
            "constraints": _constraints(instance.constraints, scenario),
            "scenarios": None,
            "risk": None,
        }
    )


def cost_factors(instance: Instance, scenario: Scenario, sector_of_option: IntArray) -> FloatArray:
    """The scenario's factor on each option's annual cost in each year (options x years), given
    each option's sector (its index in :data:`portfolio.domain.SECTORS`)."""
    assert instance.horizon is not None
    years = instance.horizon.years
    by_sector = np.array(
        [[scenario.factor(sector, t) for t in range(years)] for sector in SECTORS],
        dtype=np.float64,
    )
    return np.asarray(by_sector[sector_of_option], dtype=np.float64)


def build_tree(instance: Instance, sector_cost: BoolArray | None = None) -> ScenarioTree:
    """The scenario tree of ``instance``'s scenarios.

    Scenario data differ only in the limits they override and in their cost factors, so two
    scenarios agree in year t when every yearly limit has the same value and every sector that
    has an option with a non-zero cost that year has the same factor.

    Args:
        instance: the instance with its scenarios.
        sector_cost: ``sector_cost[k, t]``: some option of sector k costs something in year t
            (computed from the instance when not given).
    """
    scenarios = instance.scenarios or []
    assert instance.horizon is not None
    years = instance.horizon.years
    if sector_cost is None:
        sector_cost = np.zeros((len(SECTORS), years), dtype=np.bool_)
        sectors = {mode.id: SECTORS.index(mode.sector) for mode in instance.modes}
        for service in instance.services:
            for option in service.options:
                for t in range(years):
                    if option.annual_cost_in_year(t) != 0:
                        sector_cost[sectors[option.mode], t] = True
    history: list[tuple[object, ...]] = [() for _ in scenarios]
    node = [[0] * years for _ in scenarios]
    node_year: list[int] = []
    members: list[tuple[int, ...]] = []
    limited = [limits_instance(instance, s) for s in scenarios]
    for t in range(years):
        seen: dict[tuple[object, ...], int] = {}
        for s, scenario in enumerate(scenarios):
            factors = tuple(
                scenario.factor(sector, t) if sector_cost[k, t] else 1.0
                for k, sector in enumerate(SECTORS)
            )
            history[s] = (*history[s], (limit_values(limited[s], t), factors))
            key = history[s]
            if key not in seen:
                seen[key] = len(node_year)
                node_year.append(t)
                members.append(())
            n = seen[key]
            node[s][t] = n
            members[n] = (*members[n], s)
    return ScenarioTree(
        names=tuple(s.name for s in scenarios),
        probability=tuple(s.probability for s in scenarios),
        node=tuple(tuple(row) for row in node),
        node_year=tuple(node_year),
        members=tuple(members),
    )
