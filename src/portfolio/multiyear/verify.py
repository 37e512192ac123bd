"""Independent verification of a multi-year plan against the instance.

This module plays each service's decisions (:class:`~portfolio.multiyear.schedule.ServicePath`:
the break year of its existing contract, the contracts it starts) out into the arrangement of
every year, following the issue's semantics literally, from the domain objects only, never the
compiled matrix. Every yearly total, limit and red line is then checked by the one verifier,
:func:`portfolio.verify.evaluate_years` (a single-period plan is its year 0), and the objective is
discounted. An error in the network formulation, a solver tolerance or a backend's translation
cannot produce an accepted plan that breaks a yearly limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from portfolio.decisions import investments_of
from portfolio.domain import Instance, Service, current_option_index
from portfolio.multiyear.schedule import Contract, MultiYearPlan, ServicePath
from portfolio.result import Check, Plan
from portfolio.verify import Arrangement, evaluate_years, plan_choices


@dataclass(frozen=True)
class MultiYearVerification:
    """The verdict on a multi-year plan.

    Attributes:
        ok: every rule and every yearly limit holds within tolerance.
        plan: the evaluated year-by-year plan.
        first_year: the first year's arrangement as a single-period :class:`Plan` (its checks are
            every yearly check, named ``name@year``; its objective is the multi-year objective).
        violations: one line per broken rule or limit.
    """

    ok: bool
    plan: MultiYearPlan
    first_year: Plan
    violations: tuple[str, ...]


@dataclass
class _ServiceYears:
    """What one service does each year, derived from its decisions."""

    service: Service
    option: list[int]  # option position running each year
    existing: list[bool]  # the year runs the existing contract
    started: dict[int, int]  # year -> position of a contract the plan starts that year
    fee: dict[int, float]  # year -> termination fee paid that year

    def running(self, year: int) -> tuple[int, str, float, float]:
        """The service in ``year``: its option's position, its mode the year before, and the
        transition cost and termination fee it pays that year."""
        service = self.service
        option = service.options[self.option[year]]
        before = (
            service.current_mode if year == 0 else service.options[self.option[year - 1]].mode
        )
        paid = 0.0
        if year in self.started and option.mode != before:
            paid = option.transition_cost
        return self.option[year], before, paid, self.fee.get(year, 0.0)


def _arrangement(instance: Instance, derived: Sequence[_ServiceYears], year: int) -> Arrangement:
    """What every service runs in ``year`` (file order)."""
    mode_index = {mode.id: i for i, mode in enumerate(instance.modes)}
    entries = [entry.running(year) for entry in derived]
    return Arrangement(
        position=np.array([e[0] for e in entries], dtype=np.int64),
        mode_before=np.array([mode_index[e[1]] for e in entries], dtype=np.int64),
        transition_cost=np.array([e[2] for e in entries], dtype=np.float64),
        termination_cost=np.array([e[3] for e in entries], dtype=np.float64),
    )


def verify_schedule(
    instance: Instance,
    paths: Sequence[ServicePath],
    investments: Mapping[str, int] | None = None,
) -> MultiYearVerification:
    """Check a multi-year plan given as each service's decisions (file order).

    Args:
        instance: the instance (with a horizon) the plan answers.
        paths: one :class:`ServicePath` per service, in the instance's order.
        investments: the investments made, id -> 0-based horizon year; None: those ``paths``
            carries (:func:`~portfolio.decisions.investments_of`).

    Returns:
        The verdict, the evaluated plan and the list of violations.

    Raises:
        ValueError: the instance has no horizon, or the plan has the wrong number of services.
    """
    horizon = instance.horizon
    if horizon is None:
        raise ValueError("verify_schedule needs an instance with a horizon")
    if len(paths) != len(instance.services):
        raise ValueError(f"the plan has {len(paths)} paths for {len(instance.services)} services")
    first = horizon.start_year
    calendar = horizon.calendar_years
    problems: list[str] = []

    derived: list[_ServiceYears] = []
    contracts: list[Contract] = []
    for service, path in zip(instance.services, paths, strict=True):
        if path.service != service.id:
            problems.append(f"path for '{path.service}' given where '{service.id}' was expected")
        service_years, service_contracts = _derive(service, path, instance, problems)
        derived.append(service_years)
        contracts += service_contracts

    years = [_arrangement(instance, derived, year) for year in range(horizon.years)]
    if investments is None:
        investments = investments_of(paths)
    totals, first_used = evaluate_years(instance, years, calendar, problems, investments)
    objective = math.fsum(t.discount_factor * t.objective for t in totals)
    plan = MultiYearPlan(
        start_year=first,
        discount_rate=horizon.discount_rate,
        paths=tuple(paths),
        investments={i: first + year for i, year in sorted(investments.items(), key=_by_year)},
        schedule={e.service.id: [e.service.options[p].mode for p in e.option] for e in derived},
        options={e.service.id: list(e.option) for e in derived},
        contracts=tuple(contracts),
        years=tuple(totals),
        objective=objective,
        first_used={mode: first + year for mode, year in first_used.items()},
    )
    mode_order = [mode.id for mode in instance.modes]
    first_year = Plan(
        choices=plan_choices(instance, years[0]),
        objective=objective,
        checks=tuple(
            Check(
                f"{c.name}@{t.year}", c.value, c.sense, c.limit, c.slack, c.binding, c.ok, c.detail
            )
            for t in totals
            for c in t.checks
        ),
        modes_used=tuple(sorted(first_used, key=mode_order.index)),
        investments=totals[0].investments,
        investment_cost=totals[0].investment_cost,
        savings=totals[0].savings,
        outcome_gain=totals[0].outcome_gain,
        effects=tuple(effect.to_dict() for effect in totals[0].effects),
        modes_counted=totals[0].modes_counted,
    )
    return MultiYearVerification(not problems, plan, first_year, tuple(problems))


def _by_year(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]


def _derive(
    service: Service, path: ServicePath, instance: Instance, problems: list[str]
) -> tuple[_ServiceYears, list[Contract]]:
    """The option of each year, the contracts, the fees: one service's decisions played out."""
    horizon = instance.horizon
    assert horizon is not None
    years = horizon.years
    first = horizon.start_year
    name = f"service '{service.id}'"
    current = current_option_index(service)
    if current is None:  # validation guarantees an option in the current mode
        current = 0
    running: list[int | None] = [None] * years
    existing = [False] * years
    started: dict[int, int] = {}
    fee: dict[int, float] = {}
    contracts: list[Contract] = []

    free_from = 0
    end = service.current_contract_end
    if end is not None:
        last_locked = end - first
        broken = path.broken_in
        if broken is not None:
            if service.termination_cost is None:
                problems.append(f"{name}: the existing contract cannot be broken")
            if not 0 <= broken <= min(last_locked, years - 1):
                problems.append(
                    f"{name}: broken in year index {broken}, outside the locked years "
                    f"0..{min(last_locked, years - 1)}"
                )
            broken = max(0, min(broken, years - 1))
            fee[broken] = service.termination_cost or 0.0
            free_from = broken
        else:
            free_from = last_locked + 1
        for year in range(min(free_from, years)):
            running[year] = current
            existing[year] = True
        option = service.options[current]
        ran = min(free_from, years)
        contracts.append(
            Contract(
                service=service.id,
                mode=option.mode,
                option=current,
                label=option.label,
                start_year=None,
                end_year=end if broken is None else first + broken - 1,
                years=ran,
                years_in_horizon=ran,
                existing=True,
                broken_year=None if broken is None else first + broken,
                termination_cost=fee.get(broken, 0.0) if broken is not None else 0.0,
            )
        )
    elif path.broken_in is not None:
        problems.append(f"{name}: broken in year index {path.broken_in} but it has no contract end")

    expected = free_from
    previous = current  # today's arrangement, or the existing contract
    previous_mode = service.current_mode
    for position, start in path.starts:
        if not 0 <= position < len(service.options):
            problems.append(f"{name}: option index {position} does not exist")
            continue
        option = service.options[position]
        length = option.contract_years or 1
        lead = option.lead_time_years or 0
        if start != expected:
            problems.append(
                f"{name}: a contract starts in year index {start} where {expected} was expected "
                "(contracts run their full length, one after another)"
            )
        if not 0 <= start < years:
            problems.append(f"{name}: start year index {start} is outside the horizon")
            continue
        if start < lead:
            problems.append(
                f"{name}: option {position} starts in {first + start}, before its lead time "
                f"allows ({first + lead})"
            )
        for year in range(start, min(start + length, years)):
            if running[year] is not None:
                problems.append(f"{name}: two arrangements in {first + year}")
            running[year] = position
        started[start] = position
        paid = option.transition_cost if option.mode != previous_mode else 0.0
        contracts.append(
            Contract(
                service=service.id,
                mode=option.mode,
                option=position,
                label=option.label,
                start_year=first + start,
                end_year=first + start + length - 1,
                years=length,
                years_in_horizon=min(length, years - start),
                renewal=previous == position,
                transition_cost=paid,
            )
        )
        expected = start + length
        previous = position
        previous_mode = option.mode
    missing = [first + year for year, option in enumerate(running) if option is None]
    if missing:
        problems.append(f"{name}: no arrangement in {', '.join(map(str, missing))}")
    filled = [current if option is None else option for option in running]
    return _ServiceYears(service, filled, existing, started, fee), contracts
