"""A multi-year plan as the decisions it is made of, and as the year-by-year report.

:class:`ServicePath` is what a plan decides for one service: whether (and when) its existing
contract is broken, and which contracts it starts when. It is the input of the independent
verifier (:mod:`portfolio.multiyear.verify`), which derives everything else from it and the
instance. :class:`MultiYearPlan` is the verifier's output: the mode and option of every service in
every year, the contracts, and each year's totals against each yearly limit, with ``to_dict()``
giving the result file's ``schedule``, ``contracts`` and ``years``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portfolio.verify import YearTotals as YearTotals  # the verifier adds up each year


@dataclass(frozen=True)
class ServicePath:
    """The decisions of a plan for one service.

    Attributes:
        service: service id.
        broken_in: 0-based horizon year in which the existing contract is broken (the fee is paid
            and the next contract starts that year), or None.
        starts: contracts the plan starts, as (option position in the service's list, 0-based
            start year), in start order. A renewal is the same option started again.
    """

    service: str
    broken_in: int | None
    starts: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Contract:
    """One contract of the plan: the existing one (locked or broken) or one the plan starts.

    Attributes:
        service: service id.
        mode: mode id.
        option: 0-based index of the option in the service's list.
        label: the option's label.
        start_year: calendar start year (None for the existing contract, begun before the horizon).
        end_year: last calendar year of the contract (it may lie beyond the horizon); for a
            broken existing contract, the last year it ran.
        years: contract length in years (``contract_years``); for the existing contract, the
            years it runs inside the horizon.
        years_in_horizon: years of the contract inside the horizon.
        existing: the contract in place before the horizon (``current_contract_end``).
        renewal: the same option as the arrangement the year before (today's for year 0).
        broken_year: calendar year the existing contract is broken in (None if it runs its term).
        transition_cost: transition cost paid in the start year (the mode changed).
        termination_cost: termination fee paid in ``broken_year``.
    """

    service: str
    mode: str
    option: int
    label: str | None
    start_year: int | None
    end_year: int
    years: int
    years_in_horizon: int
    existing: bool = False
    renewal: bool = False
    broken_year: int | None = None
    transition_cost: float = 0.0
    termination_cost: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "service": self.service,
            "mode": self.mode,
            "option": self.option,
            "label": self.label,
            "start_year": self.start_year,
            "end_year": self.end_year,
            "years": self.years,
            "years_in_horizon": self.years_in_horizon,
            "existing": self.existing,
            "renewal": self.renewal,
            "broken_year": self.broken_year,
            "transition_cost": self.transition_cost,
            "termination_cost": self.termination_cost,
        }


@dataclass(frozen=True)
class MultiYearPlan:
    """A verified year-by-year plan.

    Attributes:
        start_year: calendar year of horizon year 0.
        discount_rate: the horizon's discount rate.
        paths: the plan's decisions, one per service (the verifier's input).
        schedule: service id -> mode id of each year.
        options: service id -> option index of each year.
        contracts: every contract, by service then start.
        years: each year's totals and limits.
        objective: the objective as stated, discounted, on the real data.
        first_used: mode id -> calendar year it is first used (its setup cost is paid then).
        investments: investment id -> calendar year it is made (its cost is paid then).
    """

    start_year: int
    discount_rate: float
    paths: tuple[ServicePath, ...]
    schedule: dict[str, list[str]]
    options: dict[str, list[int]]
    contracts: tuple[Contract, ...]
    years: tuple[YearTotals, ...]
    objective: float
    first_used: dict[str, int]
    investments: dict[str, int] = field(default_factory=dict)

    @property
    def calendar_years(self) -> list[int]:
        """The calendar years of the horizon."""
        return [year.year for year in self.years]

    @property
    def binding(self) -> tuple[str, ...]:
        """Yearly limits the plan sits on, as ``name@year``."""
        return tuple(
            f"{check.name}@{year.year}"
            for year in self.years
            for check in year.checks
            if check.binding
        )

    def to_dict(self) -> dict[str, Any]:
        """The multi-year part of the result file: ``schedule``, ``contracts``, ``years``, ..."""
        return {
            "horizon": {
                "start_year": self.start_year,
                "years": len(self.years),
                "discount_rate": self.discount_rate,
            },
            "schedule": {service: list(modes) for service, modes in self.schedule.items()},
            "schedule_options": {service: list(o) for service, o in self.options.items()},
            "contracts": [contract.to_dict() for contract in self.contracts],
            "years": [year.to_dict() for year in self.years],
            "modes_first_used": dict(self.first_used),
            **({"investments": dict(self.investments)} if self.investments else {}),
        }
