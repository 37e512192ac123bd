"""The funding-scenario verifier and scenario instances as they were written before they read
option columns: a service looked up by id for every path, pair of scenarios and year, option
objects built for lead times, every service's options copied for each scenario. The tests hold
:mod:`portfolio.scenarios.verify` and :func:`portfolio.scenarios.data.scenario_instance` to
exactly these answers (``test_scenario_columns.py``).

This is a reference copy kept for that comparison only; the library does not use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from portfolio.decisions import investments_of
from portfolio.domain import Instance, Scenario, value_in_year
from portfolio.multiyear.schedule import MultiYearPlan, ServicePath
from portfolio.multiyear.verify import verify_schedule
from portfolio.scenarios.data import _constraints, year_values
from portfolio.scenarios.plan import Decision, ScenarioOutcome, ScenarioPlan
from portfolio.scenarios.risk import as_data, combine, label
from portfolio.scenarios.verify import ScenarioVerification


def reference_scenario_instance(instance: Instance, scenario: Scenario) -> Instance:
    """The multi-year instance of one scenario (no ``scenarios`` or ``risk`` of its own)."""
    assert instance.horizon is not None
    years = instance.horizon.years
    constraints = _constraints(instance.constraints, scenario)
    sectors = {mode.id: mode.sector for mode in instance.modes}
    services = []
    for service in instance.services:
        options = []
        for option in service.options:
            factors = [scenario.factor(sectors.get(option.mode, ""), t) for t in range(years)]
            if all(f == 1.0 for f in factors):
                options.append(option)
                continue
            costs = [
                float(value_in_year(option.annual_cost, t) or 0.0)
                * (1.0 + option.indexation) ** t
                * factors[t]
                for t in range(years)
            ]
            options.append(option.model_copy(update={"annual_cost": costs, "indexation": 0.0}))
        services.append(service.model_copy(update={"options": options}))
    return instance.model_copy(
        update={
            "name": f"{instance.name} [{scenario.name}]",
            "constraints": constraints,
            "services": services,
            "scenarios": None,
            "risk": None,
        }
    )


Decided = tuple[str, str, int, int]
"""A decision: (service, ``start`` or ``break``, option position, start year index)."""


def reference_decisions_in(instance: Instance, path: ServicePath, year: int) -> set[Decided]:
    """The decisions of one service's plan taken in horizon year ``year``: the contracts whose
    start year less their lead time is ``year``, and a break in ``year``."""
    service = instance.service(path.service)
    taken: set[Decided] = set()
    for position, start in path.starts:
        lead = service.options[position].lead_time_years or 0
        if start - lead == year:
            taken.add((path.service, "start", position, start))
    if path.broken_in == year:
        taken.add((path.service, "break", -1, year))
    return taken


def reference_verify_scenarios(
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
        instances = [reference_scenario_instance(instance, s) for s in scenarios]
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
    for a in range(len(scenarios)):
        for b in range(a + 1, len(scenarios)):
            for d in range(years):
                if data[a][d] != data[b][d]:
                    break  # told apart from year d on
                mine = set().union(*(reference_decisions_in(instance, p, d) for p in paths[a]))
                theirs = set().union(*(reference_decisions_in(instance, p, d) for p in paths[b]))
                mine |= {(i, "invest", -1, d) for i, y in investments_of(paths[a]).items()
                         if y == d}
                theirs |= {(i, "invest", -1, d) for i, y in investments_of(paths[b]).items()
                           if y == d}
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
        here_and_now=reference_here_and_now(instance, paths[0], verdicts[0].plan),
        first_split=first_split,
    )
    return ScenarioVerification(not problems, plan, verdicts, tuple(problems))


def reference_here_and_now(
    instance: Instance, paths: Sequence[ServicePath], plan: MultiYearPlan
) -> tuple[Decision, ...]:
    """The decisions one scenario's plan takes in the first year, in words."""
    horizon = instance.horizon
    assert horizon is not None
    first = horizon.start_year
    found: list[Decision] = []
    for path in paths:
        service = instance.service(path.service)
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
            option = service.options[position]
            lead = option.lead_time_years or 0
            if start - lead != 0:
                continue
            before = service.current_mode if start == 0 else modes[start - 1]
            length = option.contract_years or 1
            year = first + start
            term = f"{length} year{'s' if length != 1 else ''}"
            changes = option.mode != before
            if lead:
                verb = f"let {service.id} to {option.mode}" if changes else \
                    f"renew {service.id} in {option.mode}"
                words = f"{verb} for {term} from {year}: procure now"
            elif changes:
                words = f"move {service.id} to {option.mode} in {year} for {term}"
            else:
                words = f"keep {service.id} in {option.mode} in {year} for {term}"
            if option.label:
                words += f" ({option.label})"
            found.append(
                Decision(
                    service=service.id, action="start", mode=option.mode, option=position,
                    label=option.label, start_year=year, contract_years=length,
                    decided_year=first, changes_mode=changes, words=words,
                )
            )
    return tuple(found)
