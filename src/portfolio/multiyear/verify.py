"""Independent verification of a multi-year plan against the instance.

This module plays each service's decisions (:class:`~portfolio.multiyear.schedule.ServicePath`:
the break year of its existing contract, the contracts it starts) out into the arrangement of
every year, following the issue's semantics literally, from the instance's own data only (the
services' fields and the option columns, :func:`portfolio.columnar.option_columns`: the numbers
of the file), never the compiled matrix. Every yearly total, limit and red line is then checked
by the one verifier, :func:`portfolio.verify.evaluate_years` (a single-period plan is its year
0), and the objective is discounted. An error in the network formulation, a solver tolerance or
a backend's translation cannot produce an accepted plan that breaks a yearly limit.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portfolio.columnar import OptionColumns, option_columns
from portfolio.decisions import investments_of
from portfolio.domain import Instance
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


@dataclass(frozen=True)
class _Played:
    """Every service's decisions played out: what it runs each year and what it pays.

    Attributes:
        options: for each service (file order), the option position running each year (the
            positions as the plan gave them).
        started: services x years, a contract the plan starts begins that year.
        fee: services x years, the termination fee paid that year.
        current_mode: each service's current mode (index into the modes).
        contracts: the contracts, service by service.
    """

    options: list[list[int]]
    started: npt.NDArray[np.bool_]
    fee: npt.NDArray[np.float64]
    current_mode: npt.NDArray[np.int64]
    contracts: list[Contract]

    def arrangements(self, columns: OptionColumns) -> tuple[list[Arrangement], list[list[int]]]:
        """What every service runs each year (one :class:`Arrangement` per year), and each
        service's mode each year (index into the modes): a contract started in a year pays its
        transition cost when its mode differs from the year before's (today's for year 0)."""
        num_services, years = self.started.shape
        position = np.array(self.options, dtype=np.int64).reshape(num_services, years)
        option = columns.first_option[:-1, None] + position
        mode = columns.mode[option]
        before = np.empty_like(mode)
        before[:, 0] = self.current_mode
        before[:, 1:] = mode[:, :-1]
        paid = np.where(self.started & (mode != before), columns.transition_cost[option], 0.0)
        arrangements = [
            Arrangement(
                position=np.ascontiguousarray(position[:, year]),
                mode_before=np.ascontiguousarray(before[:, year]),
                transition_cost=np.ascontiguousarray(paid[:, year]),
                termination_cost=np.ascontiguousarray(self.fee[:, year]),
            )
            for year in range(years)
        ]
        return arrangements, mode.tolist()


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

    columns = option_columns(instance)
    played = _play_out(instance, columns, paths, problems)
    years, modes = played.arrangements(columns)
    if investments is None:
        investments = investments_of(paths)
    totals, first_used = evaluate_years(instance, years, calendar, problems, investments)
    objective = math.fsum(t.discount_factor * t.objective for t in totals)
    mode_ids = columns.mode_ids
    ids = [service.id for service in instance.services]
    plan = MultiYearPlan(
        start_year=first,
        discount_rate=horizon.discount_rate,
        paths=tuple(paths),
        investments={i: first + year for i, year in sorted(investments.items(), key=_by_year)},
        schedule={sid: [mode_ids[m] for m in row] for sid, row in zip(ids, modes, strict=True)},
        options={sid: list(row) for sid, row in zip(ids, played.options, strict=True)},
        contracts=tuple(played.contracts),
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


def _play_out(
    instance: Instance,
    columns: OptionColumns,
    paths: Sequence[ServicePath],
    problems: list[str],
) -> _Played:
    """The option of each year, the contracts, the fees: every service's decisions played out,
    service by service (each problem recorded as met).

    The options are read from the columns: each service's current option (the one marked
    ``current``, else the first in its current mode), and the mode, length, lead time,
    transition cost and label of the options the plan starts, gathered at once.
    """
    horizon = instance.horizon
    assert horizon is not None
    years = horizon.years
    first = horizon.start_year
    services = instance.services
    num_services = len(services)
    mode_index = {mode_id: i for i, mode_id in enumerate(columns.mode_ids)}
    fields = list(map(operator.attrgetter(
        "id", "current_mode", "current_contract_end", "termination_cost"), services))
    current_mode = np.fromiter(
        (mode_index[field[1]] for field in fields), np.int64, num_services
    )
    first_option = columns.first_option[:-1].tolist()
    counts = np.diff(columns.first_option).tolist()
    current_option = columns.current_options(current_mode)
    current = (current_option - columns.first_option[:-1]).tolist()
    current_of_mode = columns.mode[current_option].tolist()
    current_global = current_option.tolist()
    current_modes = current_mode.tolist()

    # The options the plan starts (those that exist), gathered from the columns.
    wanted = [
        first_option[s] + operator.index(position)
        for s, path in enumerate(paths)
        for position, _ in path.starts
        if 0 <= position < counts[s]
    ]
    chosen = np.array(wanted, dtype=np.int64)
    mode_of = columns.mode[chosen].tolist()
    length_of = np.maximum(columns.contract_years[chosen], 1).tolist()
    lead_of = np.maximum(columns.lead_time_years[chosen], 0).tolist()
    transition_of = columns.transition_cost[chosen].tolist()
    labels = columns.labels
    label_of = [None] * len(wanted) if labels is None else [labels[o] for o in wanted]
    mode_ids = columns.mode_ids

    options: list[list[int]] = []
    started = np.zeros((num_services, years), dtype=np.bool_)
    fees = np.zeros((num_services, years), dtype=np.float64)
    contracts: list[Contract] = []
    k = 0  # the next gathered option
    for s, (path, (service_id, _, end, termination)) in enumerate(
        zip(paths, fields, strict=True)
    ):
        if path.service != service_id:
            problems.append(f"path for '{path.service}' given where '{service_id}' was expected")
        name = f"service '{service_id}'"
        today = current[s]
        running: list[int | None] = [None] * years
        fee: dict[int, float] = {}
        free_from = 0
        if end is not None:
            last_locked = end - first
            broken = path.broken_in
            if broken is not None:
                if termination is None:
                    problems.append(f"{name}: the existing contract cannot be broken")
                if not 0 <= broken <= min(last_locked, years - 1):
                    problems.append(
                        f"{name}: broken in year index {broken}, outside the locked years "
                        f"0..{min(last_locked, years - 1)}"
                    )
                broken = max(0, min(broken, years - 1))
                fee[broken] = termination or 0.0
                fees[s, broken] = fee[broken]
                free_from = broken
            else:
                free_from = last_locked + 1
            ran = min(free_from, years)
            for year in range(ran):
                running[year] = today
            contracts.append(
                Contract(
                    service=service_id,
                    mode=mode_ids[current_of_mode[s]],
                    option=today,
                    label=None if labels is None else labels[current_global[s]],
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
            problems.append(
                f"{name}: broken in year index {path.broken_in} but it has no contract end"
            )

        expected = free_from
        previous = today  # today's arrangement, or the existing contract
        previous_mode = current_modes[s]
        count = counts[s]
        for position, start in path.starts:
            if not 0 <= position < count:
                problems.append(f"{name}: option index {position} does not exist")
                continue
            mode, length, lead = mode_of[k], length_of[k], lead_of[k]
            transition, label = transition_of[k], label_of[k]
            k += 1
            if start != expected:
                problems.append(
                    f"{name}: a contract starts in year index {start} where {expected} was "
                    "expected (contracts run their full length, one after another)"
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
            started[s, start] = True
            contracts.append(
                Contract(
                    service=service_id,
                    mode=mode_ids[mode],
                    option=position,
                    label=label,
                    start_year=first + start,
                    end_year=first + start + length - 1,
                    years=length,
                    years_in_horizon=min(length, years - start),
                    renewal=previous == position,
                    transition_cost=transition if mode != previous_mode else 0.0,
                )
            )
            expected = start + length
            previous = position
            previous_mode = mode
        missing = [first + year for year, option in enumerate(running) if option is None]
        if missing:
            problems.append(f"{name}: no arrangement in {', '.join(map(str, missing))}")
        options.append([today if option is None else option for option in running])
    return _Played(options, started, fees, current_mode, contracts)
