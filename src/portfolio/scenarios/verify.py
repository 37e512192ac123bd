"""The independent verifier of a plan under funding scenarios.

Each scenario's decisions are checked by the multi-year verifier against that scenario's own
instance (every rule and yearly limit, and its objective re-derived from the plan). What the
scenarios add is checked here from the decisions alone, never from the model: scenarios whose
data agree in every year up to d (:func:`portfolio.scenarios.data.year_values`) take the same
decisions in year d (each contract decided in d, which is its start year less its lead time, a
break in d, and an investment made in d); and the reported objective is the scenarios' objectives
combined by the risk measure (:func:`portfolio.scenarios.risk.combine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from portfolio.columnar import option_columns
from portfolio.decisions import investments_of
from portfolio.domain import Instance
from portfolio.multiyear.schedule import MultiYearPlan, ServicePath
from portfolio.multiyear.verify import MultiYearVerification, verify_schedule
from portfolio.result import Plan
from portfolio.scenarios.data import scenario_instance, year_values
from portfolio.scenarios.plan import Decision, ScenarioOutcome, ScenarioPlan
from portfolio.scenarios.risk import as_data, combine, label


@dataclass(frozen=True)
class ScenarioVerification:
    """The verdict on a plan under funding scenarios.

    Attributes:
        ok: every scenario's plan holds and the decisions respect what is known when.
        plan: the evaluated plan (its ``objective`` is the risk-combined one).
        verdicts: each scenario's multi-year verdict.
        violations: one line per broken rule, limit or non-anticipativity, named by scenario.
    """

    ok: bool
    plan: ScenarioPlan
    verdicts: tuple[MultiYearVerification, ...]
    violations: tuple[str, ...]

    @property
    def first_year(self) -> Plan:
        """The first year's arrangement (of the first scenario: the year every scenario shares
        unless their first year's data differ)."""
        return self.verdicts[0].first_year


Decided = tuple[str, str, int, int]
"""A decision: (service, ``start`` or ``break``, option position, start year index)."""


class OptionLookup:
    """Each service's options, found by service id in one dict lookup and read from the option
    columns (:func:`portfolio.columnar.option_columns`): no option object is built.

    Args:
        instance: the instance whose services and options are looked up.
    """

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.columns = option_columns(instance)
        self.position = {service.id: s for s, service in enumerate(instance.services)}
        self.first = self.columns.first_option.tolist()
        self.lead = np.maximum(self.columns.lead_time_years, 0).tolist()

    def option(self, service_id: str, position: int) -> int | None:
        """The global index of option ``position`` of service ``service_id``; None when the
        service or the option does not exist (the multi-year verifier reports either)."""
        s = self.position.get(service_id)
        if s is None or not 0 <= position < self.first[s + 1] - self.first[s]:
            return None
        return int(self.first[s] + position)

    def decisions_in(self, path: ServicePath, year: int) -> set[Decided]:
        """The decisions of one service's plan taken in horizon year ``year`` (see
        :func:`decisions_in`)."""
        taken: set[Decided] = set()
        for position, start in path.starts:
            option = self.option(path.service, position)
            if option is not None and start - self.lead[option] == year:
                taken.add((path.service, "start", position, start))
        if path.broken_in == year:
            taken.add((path.service, "break", -1, year))
        return taken

    def decisions_by_year(self, paths: Sequence[ServicePath]) -> dict[int, set[Decided]]:
        """Every decision of one scenario's plan, by the horizon year it is taken in: a
        contract's start year less its lead time, a break's year, an investment's year."""
        by_year: dict[int, set[Decided]] = {}
        for path in paths:
            for position, start in path.starts:
                option = self.option(path.service, position)
                if option is not None:
                    decided = start - self.lead[option]
                    by_year.setdefault(decided, set()).add(
                        (path.service, "start", position, start)
                    )
            if path.broken_in is not None:
                year = path.broken_in
                by_year.setdefault(year, set()).add((path.service, "break", -1, year))
        for investment, year in investments_of(paths).items():
            by_year.setdefault(year, set()).add((investment, "invest", -1, year))
        return by_year


def decisions_in(instance: Instance, path: ServicePath, year: int) -> set[Decided]:
    """The decisions of one service's plan taken in horizon year ``year``: the contracts whose
    start year less their lead time is ``year``, and a break in ``year``. A start of an option
    that does not exist is no decision (the multi-year verifier reports it). For many paths,
    build one :class:`OptionLookup` and ask it."""
    return OptionLookup(instance).decisions_in(path, year)


def verify_scenarios(
    instance: Instance,
    paths: Sequence[Sequence[ServicePath]],
    instances: Sequence[Instance] | None = None,
) -> ScenarioVerification:
    """Check a plan given as each scenario's decisions.

    Args:
        instance: the instance, with a horizon and scenarios.
        paths: per scenario (file order), one :class:`ServicePath` per service.
        instances: each scenario's instance
            (:func:`portfolio.scenarios.data.scenario_instance`), when the caller has them.

    Raises:
        ValueError: the instance has no scenarios, or ``paths`` has the wrong length.
    """
    scenarios = instance.scenarios
    horizon = instance.horizon
    if not scenarios or horizon is None:
        raise ValueError("verify_scenarios needs an instance with a horizon and scenarios")
    if len(paths) != len(scenarios):
        raise ValueError(f"the plan has {len(paths)} scenarios; the instance has {len(scenarios)}")
    if instances is None:
        instances = [scenario_instance(instance, s) for s in scenarios]
    verdicts = tuple(
        verify_schedule(inst, own) for inst, own in zip(instances, paths, strict=True)
    )
    problems = [
        f"scenario '{s.name}': {line}"
        for s, verdict in zip(scenarios, verdicts, strict=True)
        for line in verdict.violations
    ]
    years = horizon.years
    data = [year_values(inst) for inst in instances]
    lookup = OptionLookup(instance)
    taken = [lookup.decisions_by_year(own) for own in paths]
    for a in range(len(scenarios)):
        for b in range(a + 1, len(scenarios)):
            for d in range(years):
                if data[a][d] != data[b][d]:
                    break  # told apart from year d on
                mine = taken[a].get(d, set())
                theirs = taken[b].get(d, set())
                for service, action, position, start in sorted(mine ^ theirs):
                    who = scenarios[a].name if (service, action, position, start) in mine \
                        else scenarios[b].name
                    what = {
                        "start": f"service '{service}' starts option {position} in "
                        f"{horizon.start_year + start}",
                        "break": f"service '{service}' breaks its contract",
                        "invest": f"investment '{service}' is made",
                    }[action]
                    problems.append(
                        f"non-anticipativity: in {horizon.start_year + d} scenarios "
                        f"'{scenarios[a].name}' and '{scenarios[b].name}' cannot be told apart, "
                        f"but only in '{who}' {what} (decided {horizon.start_year + d})"
                    )
    maximise = instance.objective_sense == "maximise"
    values = [verdict.plan.objective for verdict in verdicts]
    objective = combine(instance.risk, [s.probability for s in scenarios], values, maximise)
    first_split = next(
        (
            horizon.start_year + t
            for t in range(years)
            if len({tuple(data[s][: t + 1]) for s in range(len(scenarios))}) > 1
        ),
        None,
    )
    plan = ScenarioPlan(
        risk=as_data(instance.risk),
        risk_label=label(instance.risk),
        objective=objective,
        outcomes=tuple(
            ScenarioOutcome(s.name, s.probability, verdict.plan.objective, verdict.plan)
            for s, verdict in zip(scenarios, verdicts, strict=True)
        ),
        here_and_now=here_and_now(instance, paths[0], verdicts[0].plan, lookup),
        first_split=first_split,
    )
    return ScenarioVerification(not problems, plan, verdicts, tuple(problems))


def here_and_now(
    instance: Instance,
    paths: Sequence[ServicePath],
    plan: MultiYearPlan,
    lookup: OptionLookup | None = None,
) -> tuple[Decision, ...]:
    """The decisions one scenario's plan takes in the first year, in words (a start of an option
    that does not exist is left out: the multi-year verifier reports it).

    Args:
        instance: the instance.
        paths: the scenario's decisions, one path per service.
        plan: the scenario's verified plan.
        lookup: the instance's :class:`OptionLookup`, when the caller has it.
    """
    horizon = instance.horizon
    assert horizon is not None
    first = horizon.start_year
    if lookup is None:
        lookup = OptionLookup(instance)
    columns = lookup.columns
    mode_ids = columns.mode_ids
    labels = columns.labels
    services = instance.services
    found: list[Decision] = []
    for path in paths:
        s = lookup.position.get(path.service)
        if s is None:
            continue  # no such service: the multi-year verifier reports the path
        service = services[s]
        modes = plan.schedule[path.service]
        if path.broken_in == 0:
            fee = service.termination_cost or 0.0
            found.append(
                Decision(
                    service=service.id, action="break", mode=service.current_mode,
                    option=-1, label=None, start_year=first, contract_years=0,
                    decided_year=first, changes_mode=False,
                    words=f"break {service.id}'s current contract in {first} (termination fee "
                    f"{fee:,.0f})",
                )
            )
        for position, start in path.starts:
            option = lookup.option(path.service, position)
            if option is None:
                continue
            lead = lookup.lead[option]
            if start - lead != 0:
                continue
            mode = mode_ids[int(columns.mode[option])]
            label = None if labels is None else labels[option]
            before = service.current_mode if start == 0 else modes[start - 1]
            length = int(columns.contract_years[option]) or 1
            year = first + start
            term = f"{length} year{'s' if length != 1 else ''}"
            changes = mode != before
            if lead:
                verb = f"let {service.id} to {mode}" if changes else \
                    f"renew {service.id} in {mode}"
                words = f"{verb} for {term} from {year}: procure now"
            elif changes:
                words = f"move {service.id} to {mode} in {year} for {term}"
            else:
                words = f"keep {service.id} in {mode} in {year} for {term}"
            if label:
                words += f" ({label})"
            found.append(
                Decision(
                    service=service.id, action="start", mode=mode, option=position,
                    label=label, start_year=year, contract_years=length,
                    decided_year=first, changes_mode=changes, words=words,
                )
            )
    return tuple(found)
