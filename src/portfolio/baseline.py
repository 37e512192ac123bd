"""Today's arrangement as a plan: the baseline every plan is shown against (DESIGN.md).

The baseline puts every service on its current option (the one marked ``current``, else the first
in its current mode). In multi-year planning the current arrangements are continued every year: an
existing contract runs to its end and is then renewed, like any other current option, for its
``contract_years`` (one year when it has none) until the horizon is covered; no contract is broken.

The figures come from the project's own verifiers (:func:`portfolio.verify.verify_plan` and
:func:`portfolio.multiyear.verify.verify_schedule`), so that the baseline is evaluated exactly as a
plan is: same objective, same limits, same tolerances.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from portfolio.columnar import option_columns
from portfolio.domain import Instance
from portfolio.result import Check

__all__ = ["baseline", "current_decisions", "current_options", "versus_baseline"]


def current_options(instance: Instance) -> list[int]:
    """The 0-based index of each service's current option, in the instance's order: the option
    marked ``current``, else the first in the service's current mode
    (:func:`~portfolio.domain.current_option_index`, read from the option columns), else 0."""
    columns = option_columns(instance)
    mode_index = {mode.id: i for i, mode in enumerate(instance.modes)}
    current_mode = np.fromiter(
        (mode_index[service.current_mode] for service in instance.services),
        np.int64,
        len(instance.services),
    )
    chosen = columns.current_options(current_mode) - columns.first_option[:-1]
    return [int(p) for p in chosen.tolist()]


def current_decisions(instance: Instance) -> Any:
    """Today's arrangement as a verifier takes it: option positions (single period), or each
    service's path with its current arrangement continued every year (multi-year)."""
    positions = current_options(instance)
    if instance.horizon is None:
        return positions
    return _continued(instance, positions)


def baseline(instance: Instance) -> dict[str, Any]:
    """Today's arrangement evaluated on the instance.

    Args:
        instance: a single-period or multi-year instance.

    Returns:
        ``{objective, annual_cost, one_off_cost, outcome, feasible, violations, options}``:

        * ``objective``: the instance's own objective (its sense and definition; discounted over
          the horizon in multi-year planning);
        * ``annual_cost``: the total annual cost (multi-year: the sum over the horizon's years);
        * ``one_off_cost``: transition, setup and termination money (today's arrangement changes
          no mode, so this is the setup cost of the modes it uses);
        * ``outcome``: the weighted outcome, sum of weight * outcome (multi-year: summed over
          the years);
        * ``feasible``: whether today's arrangement meets every limit and rule;
        * ``violations``: what it breaks, each ``{name, value, sense, bound, by, text}``
          (``by`` the amount beyond the bound; multi-year rows add ``year``; a broken rule such
          as a red line has ``text`` only);
        * ``options``: service id -> index of its current option.

        Multi-year instances add ``years``: each year's ``{year, annual_cost, one_off_cost,
        outcome}``.
    """
    positions = current_options(instance)
    options = dict(zip([s.id for s in instance.services], positions, strict=True))
    if instance.horizon is None:
        return _single_period(instance, positions, options)
    return _multi_year(instance, positions, options)


def _single_period(
    instance: Instance, positions: list[int], options: dict[str, int]
) -> dict[str, Any]:
    from portfolio.verify import evaluate_plan

    # The verifier's totals (the plan's choices need not be listed): the annual cost is the
    # exact sum of the services' costs, the one-off money their transition costs (none: today
    # changes no mode) and the setup costs of the modes used (all paid in year 0).
    evaluation = evaluate_plan(instance, positions)
    year = evaluation.year
    failed = [check for check in year.checks if not check.ok]
    return {
        "objective": year.objective,
        "annual_cost": year.annual_cost,
        "one_off_cost": year.transition_cost + year.setup_cost,
        "outcome": evaluation.services_outcome
        + year.outcome_gain,  # effects' gains (0 without effects), as over a horizon
        "feasible": evaluation.ok,
        "violations": _limit_rows(failed, None)
        + _rule_rows(evaluation.violations, [f"{check.name}:" for check in failed]),
        "options": options,
    }


def _multi_year(
    instance: Instance, positions: list[int], options: dict[str, int]
) -> dict[str, Any]:
    from portfolio.multiyear.verify import verify_schedule

    verdict = verify_schedule(instance, _continued(instance, positions))
    plan = verdict.plan
    violations: list[dict[str, Any]] = []
    covered: list[str] = []
    for totals in plan.years:
        failed = [check for check in totals.checks if not check.ok]
        violations += _limit_rows(failed, totals.year)
        covered += [f"{check.name} in {totals.year}" for check in failed]
    violations += _rule_rows(verdict.violations, covered)
    return {
        "objective": plan.objective,
        "annual_cost": math.fsum(totals.annual_cost for totals in plan.years),
        "one_off_cost": math.fsum(totals.transition_money for totals in plan.years),
        "outcome": math.fsum(totals.weighted_outcome for totals in plan.years),
        "feasible": verdict.ok,
        "violations": violations,
        "options": options,
        "years": [
            {
                "year": totals.year,
                "annual_cost": totals.annual_cost,
                "one_off_cost": totals.transition_money,
                "outcome": totals.weighted_outcome,
            }
            for totals in plan.years
        ],
    }


def _continued(instance: Instance, positions: list[int]) -> list[Any]:
    """The decisions that keep every service on its current option (``positions``) every year
    of the horizon (the contract lengths read from the option columns)."""
    from portfolio.multiyear.schedule import ServicePath

    horizon = instance.horizon
    assert horizon is not None
    columns = option_columns(instance)
    chosen = columns.first_option[:-1] + np.array(positions, dtype=np.int64)
    lengths = columns.contract_years[chosen].tolist()  # 0 where not given: one year
    paths = []
    for service, position, length in zip(instance.services, positions, lengths, strict=True):
        start = 0
        if service.current_contract_end is not None:
            start = service.current_contract_end - horizon.start_year + 1
        starts = tuple((position, year) for year in range(max(0, start), horizon.years,
                                                          length or 1))
        paths.append(ServicePath(service.id, None, starts))
    return paths


def _limit_rows(failed: list[Check], year: int | None) -> list[dict[str, Any]]:
    """Broken limits, each with the amount beyond its bound."""
    rows: list[dict[str, Any]] = []
    for check in failed:
        where = "" if year is None else f" in {year}"
        by = abs(check.slack)
        row: dict[str, Any] = {
            "name": check.name,
            "value": check.value,
            "sense": check.sense,
            "bound": check.limit,
            "by": by,
            "text": f"{check.name}{where}: {check.value:,.6g} {check.sense} {check.limit:,.6g} "
            f"does not hold (by {by:,.6g})",
        }
        if year is not None:
            row["year"] = year
        rows.append(row)
    return rows


def _rule_rows(problems: tuple[str, ...], covered: list[str]) -> list[dict[str, Any]]:
    """The verifier's problems that are not a limit already listed (red lines, rules)."""
    prefixes = tuple(covered)
    return [
        {"name": "rule", "text": problem}
        for problem in problems
        if not (prefixes and problem.startswith(prefixes))
    ]


def versus_baseline(
    instance: Instance, result: Any, today: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """What a plan changes and gains against today's arrangement.

    Args:
        instance: the instance the result solves.
        result: a :class:`~portfolio.result.SolveResult` (single-period or multi-year).
        today: :func:`baseline` of the instance, when already computed.

    Returns:
        None when the result has no plan; else ``{objective, annual_cost, one_off_cost, outcome}``
        each as the plan's figure minus today's (so a negative ``annual_cost`` is a saving),
        ``changes`` (the services whose mode differs from today's, in any year),
        ``other_option`` (the services kept in today's mode on another of its options),
        ``improves`` (the objective is better
        than today's in the objective's own sense), ``today_feasible`` and ``summary``, one line.
    """
    if not getattr(result, "has_plan", False):
        return None
    base = today or baseline(instance)
    figures = _plan_figures(instance, result)
    differences = {key: figures[key] - float(base[key]) for key in figures}
    options = base["options"]
    if instance.horizon is None:
        # The plan's choices already hold each service's mode and today's (one pass).
        choices = result.plan.choices
        changed = [c.service for c in choices if c.mode != c.current_mode]
        other_option = [
            c.service
            for c in choices
            if c.mode == c.current_mode and c.option != options[c.service]
        ]
    else:
        changed, other_option = _multi_year_moves(instance, result, options)
    gain = differences["objective"]
    maximise = instance.objective_sense == "maximise"
    better = gain > 0 if maximise else gain < 0
    summary = _summary(instance, changed, differences, base, better)
    return {
        **differences,
        "changes": changed,
        "other_option": other_option,
        "improves": better,
        "today_feasible": bool(base["feasible"]),
        "summary": summary,
    }


def _multi_year_moves(
    instance: Instance, result: Any, options: dict[str, int]
) -> tuple[list[str], list[str]]:
    """The services whose mode differs from today's in some year, and those kept in today's
    mode on another option (each year's mode as the verifier derived it from the options)."""
    chosen = dict(result.multi_year.options)
    current_mode = {service.id: service.current_mode for service in instance.services}
    schedule = result.multi_year.schedule
    modes = {service.id: schedule[service.id] for service in instance.services}
    changed = [sid for sid, used in modes.items() if any(m != current_mode[sid] for m in used)]
    moved = set(changed)
    other_option = [
        sid
        for sid, indices in chosen.items()
        if sid not in moved and any(i != options[sid] for i in indices)
    ]
    return changed, other_option


def _plan_figures(instance: Instance, result: Any) -> dict[str, float]:
    """The plan's objective, annual cost, one-off money and outcome, as :func:`baseline` counts
    them for today's arrangement."""
    if instance.horizon is None:
        plan = result.plan
        setup = math.fsum(instance.mode(mode).setup_cost for mode in plan.modes_used)
        return {
            "objective": float(plan.objective),
            "annual_cost": float(plan.annual_cost),
            "one_off_cost": math.fsum(c.transition_cost for c in plan.choices) + setup
            + plan.investment_cost,  # investments made (0 without), as over a horizon
            "outcome": math.fsum(c.weighted_outcome for c in plan.choices) + plan.outcome_gain,
        }
    schedule = result.multi_year
    return {
        "objective": float(schedule.objective),
        "annual_cost": math.fsum(t.annual_cost for t in schedule.years),
        "one_off_cost": math.fsum(t.transition_money for t in schedule.years),
        "outcome": math.fsum(t.weighted_outcome for t in schedule.years),
    }


def _summary(
    instance: Instance,
    changed: list[str],
    differences: dict[str, float],
    base: dict[str, Any],
    better: bool,
) -> str:
    """One line: what the plan changes and what it gains against today."""
    if not changed:
        what = "keeps every service as today"
    else:
        what = f"changes {len(changed)} service{'s' if len(changed) != 1 else ''} " + (
            f"({', '.join(changed)})" if len(changed) <= 4 else f"({', '.join(changed[:4])}, ...)"
        )
    gain = differences["objective"]
    verb = "improves" if better else ("matches" if gain == 0 else "worsens")
    text = f"Against today the plan {what}; it {verb} the objective by {abs(gain):,.6g}"
    text += (
        f" (annual cost {differences['annual_cost']:+,.6g},"
        f" one-off {differences['one_off_cost']:+,.6g},"
        f" outcome {differences['outcome']:+,.6g})"
    )
    if not base["feasible"]:
        text += "; today's arrangement breaks the limits"
    return text + "."
