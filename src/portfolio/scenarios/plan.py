"""A verified plan under funding scenarios: the decisions to take now, and each scenario's
year-by-year plan (the result file's ``here_and_now``, ``scenarios`` and ``risk``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from portfolio.multiyear.schedule import MultiYearPlan


@dataclass(frozen=True)
class Decision:
    """One decision taken in the first year of the horizon (here and now).

    Attributes:
        service: service id.
        action: ``start`` (a contract the plan starts, or commits to procure) or ``break``
            (the existing contract is broken this year).
        mode: the mode of the contract started (the current mode for a break).
        option: the option's position in the service's list.
        label: the option's label.
        start_year: calendar year the contract starts (the year of the break).
        contract_years: its length in years.
        decided_year: calendar year the decision is taken (the start year less the lead time).
        changes_mode: the contract's mode differs from the service's mode the year before.
        words: the decision in words, e.g. "let waste_collection to private for 8 years from
            2029: procure now".
    """

    service: str
    action: str
    mode: str
    option: int
    label: str | None
    start_year: int
    contract_years: int
    decided_year: int
    changes_mode: bool
    words: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "service": self.service,
            "action": self.action,
            "mode": self.mode,
            "option": self.option,
            "label": self.label,
            "start_year": self.start_year,
            "contract_years": self.contract_years,
            "decided_year": self.decided_year,
            "changes_mode": self.changes_mode,
            "words": self.words,
        }


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario's plan.

    Attributes:
        name: the scenario's name.
        probability: its probability.
        objective: its discounted objective, as the multi-year verifier computes it.
        plan: its verified year-by-year plan.
    """

    name: str
    probability: float
    objective: float
    plan: MultiYearPlan

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: name, probability, objective, schedule, contracts, years."""
        return {
            "name": self.name,
            "probability": self.probability,
            "objective": self.objective,
            **self.plan.to_dict(),
        }


@dataclass(frozen=True)
class ScenarioPlan:
    """A verified plan under funding scenarios.

    Attributes:
        risk: the risk measure as the result file gives it (``expected``, ``worst_case`` or
            ``{"cvar": alpha}``).
        risk_label: the measure in words.
        objective: the scenarios' objectives combined by the risk measure (reported as the
            result's ``objective``).
        outcomes: each scenario's plan, in the file's order.
        here_and_now: the decisions taken in the first year (common to every scenario that
            cannot be told apart in that year).
        first_split: calendar year in which the scenarios are first told apart (None: never).
    """

    risk: Any
    risk_label: str
    objective: float
    outcomes: tuple[ScenarioOutcome, ...]
    here_and_now: tuple[Decision, ...]
    first_split: int | None

    @property
    def expected(self) -> float:
        """The scenarios' objectives weighted by probability."""
        return math.fsum(o.probability * o.objective for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """The result file's ``risk``, ``here_and_now`` and ``scenarios``."""
        return {
            "risk": self.risk,
            "first_split": self.first_split,
            "here_and_now": [decision.to_dict() for decision in self.here_and_now],
            "scenarios": [outcome.to_dict() for outcome in self.outcomes],
        }
