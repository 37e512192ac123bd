"""Readable text reports of a result, for the CLI (library code returns strings, never prints).

One module for every horizon: :func:`format_result` shows a single-period plan as a table of
services, and hands a result with a ``multi_year`` plan to :func:`format_multi_year`, which shows
years as columns for a finance officer. The headline, the solver line and the explanation of a
result without a plan are written once, for both.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from portfolio.baseline import baseline, current_options, versus_baseline
from portfolio.domain import Instance, value_in_year
from portfolio.money import format_money, is_money_check, money_decimals
from portfolio.multiyear.schedule import MultiYearPlan
from portfolio.result import Check, Explanation, Plan, SolveResult, Status
from portfolio.scenarios.data import scenario_instance

_BOLD, _DIM, _RED, _GREEN, _YELLOW, _RESET = (
    "\033[1m",
    "\033[2m",
    "\033[31m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)
_BINDING = "*"
_AT_BOUND = (
    f"{_BINDING} at its bound (run `portfolio explain` for what each limit is worth)"
)
_NAME_WIDTH = 34
"""Widest service name column; longer names wrap onto further lines, never cut."""

Paint = Callable[[str, str], str]
Number = Callable[[float], str]


def _figure(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.1f}" if abs(value - round(value)) > 1e-9 else f"{value:,.0f}"
    return f"{value:.4g}"


def _number(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


def _painter(color: bool) -> Paint:
    """``paint(text, code)``: the text in an ANSI colour when ``color`` is set, else as it is."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    return paint


def _headline(
    instance: Instance, result: SolveResult, paint: Paint, number: Number, where: str, rate: str
) -> str:
    """Name, status and objective: ``Borough: optimal, objective 1,234 (label)``."""
    status_color = {Status.OPTIMAL: _GREEN, Status.FEASIBLE: _YELLOW}.get(result.status, _RED)
    head = f"{instance.name}{where}: {paint(result.status.value, status_color)}"
    if result.objective is not None:
        head += f", objective {number(result.objective)} ({instance.objective_label}{rate})"
    return head


def _solver_line(result: SolveResult, number: Number) -> str:
    """Backend, time, bound, gap and whether the plan is verified."""
    line = f"backend {result.backend}, {result.timings.total:.2f}s"
    if result.bound is not None:
        line += f", bound {number(result.bound)}"
    if result.gap is not None:
        line += f", gap {result.gap:.2e}"
    return line + (", verified" if result.verified else "")


def _no_plan(result: SolveResult) -> list[str]:
    """Why there is no plan: the solver's words, what failed verification, the explanation."""
    lines = [f"detail: {result.detail}"] if result.detail else []
    lines += [f"  - {violation}" for violation in result.violations]
    explanation = result.explanation
    if explanation is not None:
        lines += ["", explanation.summary]
        lines += [f"  - {relaxation}" for relaxation in explanation.relaxations]
        if explanation.single_fixes:
            lines.append("Any one of these alone would also do:")
            lines += [f"  - {relaxation}" for relaxation in explanation.single_fixes]
        lines += [f"  - {conflict}" for conflict in explanation.structural]
        lines += _ways_out_lines(explanation)
    return lines


def _ways_out_lines(explanation: Explanation) -> list[str]:
    """The ways out, one line each: the limits that move and where to (nothing when none)."""
    if not explanation.ways_out:
        return []

    def figure(value: float) -> str:
        whole = abs(value) >= 100 or float(value).is_integer()
        return f"{value:,.0f}" if whole else f"{value:,.4g}"

    lines = ["Ways out (each restores a plan on its own; every other limit stays as it is):"]
    for number, way in enumerate(explanation.ways_out, start=1):
        moves = [
            f"{r.constraint} {figure(r.current)} -> {figure(r.needed)}" for r in way.relaxations
        ]
        lines.append(f"  {number}. " + "; ".join(moves))
    return lines


def format_result(instance: Instance, result: SolveResult, *, color: bool = False) -> str:
    """The plan as a table: each service with today's and the plan's mode, cost, one-off money
    and outcome; the plan's totals against today's; every limit with those at their bound
    marked; or the explanation when there is no plan. Ends with a newline."""
    if instance.scenarios is not None:
        return format_scenarios(instance, result, color)
    if result.multi_year is not None:
        return format_multi_year(instance, result, color)
    paint = _painter(color)
    decimals = money_decimals(instance)

    def money(value: float) -> str:
        return format_money(value, decimals)

    def amount(value: float, is_money: bool) -> str:
        return money(value) if is_money else _figure(value)

    def objective_number(value: float) -> str:
        return amount(value, instance.objective == "minimise_cost")

    unit = f"({instance.currency})" if instance.currency else "(money)"
    lines = [
        _headline(instance, result, paint, objective_number, "", ""),
        _solver_line(result, objective_number),
        *_objective_definition(instance),
    ]
    plan = result.plan
    if plan is None:
        return "\n".join(lines + _no_plan(result)) + "\n"

    names = {service.id: service.name or service.id for service in instance.services}
    mix = _mix_rows(instance, plan, money)
    width = min(
        _NAME_WIDTH,
        max(len("service"), *(len(n) for n in names.values()), *(len(label) for label, _ in mix)),
    )
    mode_width = max(len("today"), *(len(m.id) for m in instance.modes), len("= option 10"))
    figures = [("annual cost", unit, 12), ("one-off", unit, 10), ("weighted", "outcome", 9)]

    def row(name: str, today: str, new: str, values: list[str]) -> str:
        cells = "  ".join(f"{v:>{w}}" for v, (_, _, w) in zip(values, figures, strict=True))
        return f"{name:<{width}}  {today:<{mode_width}}  {new:<{mode_width}}  {cells}".rstrip()

    def total_row(label: str, values: list[str]) -> str:
        """A totals row: its label spans the name and both mode columns (a long label never
        pushes the figures out of their columns when the names are short)."""
        cells = "  ".join(f"{v:>{w}}" for v, (_, _, w) in zip(values, figures, strict=True))
        return f"{label:<{width + 2 * mode_width + 4}}  {cells}".rstrip()

    lines.append("")
    lines.append(row("", "", "", [top for top, _, _ in figures]))
    header = row("service", "today", "plan", [bottom for _, bottom, _ in figures])
    lines.append(header)
    rule = "-" * len(header)
    lines.append(rule)
    today = dict(zip(names, current_options(instance), strict=True))
    for choice in plan.choices:
        wrapped = _wrap(names[choice.service], width)
        new = choice.mode if choice.changes else _same_mode(today[choice.service], choice.option)
        text = row(
            wrapped[0],
            choice.current_mode,
            new,
            [
                money(choice.annual_cost),
                money(choice.transition_cost),
                _number(choice.weighted_outcome),
            ],
        )
        lines.append(paint(text, _BOLD) if choice.changes and color else text)
        lines += [row(more, "", "", ["", "", ""]) for more in wrapped[1:]]
    setups = [
        (mode, instance.mode(mode).setup_cost)
        for mode in plan.modes_used
        if instance.mode(mode).setup_cost > 0
    ]
    for mode, cost in setups:
        lines.append(row(f"setup of mode {mode}", "", "", ["", money(cost), ""]))
    for label, values in mix:
        wrapped = _wrap(label, width)
        lines.append(row(wrapped[0], "", "", values))
        lines += [row(more, "", "", ["", "", ""]) for more in wrapped[1:]]
    lines.append(rule)
    today = baseline(instance)
    one_off = sum(c.transition_cost for c in plan.choices) + sum(cost for _, cost in setups)
    total_outcome = sum(c.weighted_outcome for c in plan.choices)
    annual = plan.annual_cost
    if plan.investments:
        one_off += plan.investment_cost
    if plan.effects:
        annual -= plan.savings
        total_outcome += plan.outcome_gain
    lines.append(total_row("plan", [money(annual), money(one_off), _number(total_outcome)]))
    lines.append(
        total_row(
            "today (every service as now)",
            [
                money(today["annual_cost"]),
                money(today["one_off_cost"]),
                _number(today["outcome"]),
            ],
        )
    )
    lines += textwrap.wrap(_against_today(instance, result, today, money), max(79, len(rule)))
    lines.append(f"modes used: {', '.join(plan.modes_used)}")
    if plan.modes_counted is not None:
        lines.append(_vehicles_line(instance, plan.modes_counted, 0))
    if plan.checks:
        lines.append("")
        lines.append("limits:")
        labels = [_limit_label(check.name, instance) for check in plan.checks]
        units = [_limit_unit(check, instance) for check in plan.checks]
        name_width = max(len(label) for label in labels)
        unit_width = max(len(u) for u in units)
        for check, label, kind in zip(plan.checks, labels, units, strict=True):
            mark = _BINDING if check.binding else " "
            shown = _limit_figure(check, instance, money)
            text = (
                f" {mark} {label:<{name_width}}  {kind:<{unit_width}}  "
                f"{shown(check.value):>12} {check.sense:>2} {shown(check.limit)}"
            )
            if check.detail:
                text += f"  {check.detail}"
            if not check.ok:
                text = paint(text + "  VIOLATED", _RED)
            elif check.binding and color:
                text = paint(text, _YELLOW)
            lines.append(text)
        lines.append(_AT_BOUND)
    if _says_something(result):
        lines.append("")
        lines.append(paint(f"detail: {result.detail}", _DIM))
    return "\n".join(lines) + "\n"


def _mix_rows(instance: Instance, plan: Plan, money: Number) -> list[tuple[str, list[str]]]:
    """Rows of the single-period table for the investments made (one-off money) and the effects
    that landed (a saving in the annual cost column, a gain in the outcome column)."""
    rows: list[tuple[str, list[str]]] = []
    costs = {investment.id: investment for investment in instance.investments}
    for investment_id in plan.investments:
        investment = costs[investment_id]
        rows.append(
            (
                f"investment: {investment.name or investment_id} ({investment.mode})",
                ["", money(investment.cost), ""],
            )
        )
    for effect in plan.effects:
        when = effect["when"]
        saving = -float(effect["saving"])
        gain = float(effect["outcome_gain"])
        rows.append(
            (
                f"effect of {when['service']} ({when['mode']}) on {effect['on']}",
                [money(saving) if saving else "", "", _number(gain) if gain else ""],
            )
        )
    return rows


def _vehicles_line(instance: Instance, counted: Sequence[str], year: int) -> str:
    """'vehicles in use: 3 of at most 4 (a, b, c; modes that cease a service not counted)'."""
    cap = value_in_year(instance.constraints.max_modes_used, year)
    most = "" if cap is None else f" of at most {cap:g}"
    return (
        f"vehicles in use: {len(counted)}{most} ({', '.join(counted)}; modes that cease a "
        "service not counted)"
    )


def _mix_lines(instance: Instance, plan: MultiYearPlan, money: Number) -> list[str]:
    """The multi-year plan's investments (when made, when in effect), the effects by year, and
    the vehicles in use against the cap each year."""
    lines: list[str] = []
    by_id = {investment.id: investment for investment in instance.investments}
    if plan.investments:
        lines.append("investments made:")
        for investment_id, year in plan.investments.items():
            investment = by_id[investment_id]
            raised = []
            if investment.max_services:
                raised.append(f"+{investment.max_services} services")
            if investment.max_spend:
                raised.append(f"+{money(investment.max_spend)} spend")
            lines.append(
                f"  {investment_id}: {year}, cost {money(investment.cost)}; {investment.mode} "
                f"{' and '.join(raised)} from {year + investment.years_to_effect}"
            )
    elif instance.investments:
        lines.append("investments made: none")
    landed: dict[tuple[int, str, str, str], list[str]] = {}
    for totals in plan.years:
        for effect in totals.effects:
            key = (effect.index, effect.when_service, effect.when_mode, effect.on)
            landed.setdefault(key, []).append(str(totals.year))
    if landed:
        lines.append("effects landed (saving and outcome gain in each year listed):")
        for (index, service, mode, on), landed_in in landed.items():
            rule = instance.effects[index]
            what = []
            if rule.saving:
                what.append(f"saving {money(rule.saving)}")
            if rule.outcome:
                what.append(f"outcome {rule.outcome:+g}")
            lines.append(
                f"  {service} in {mode} -> {on}: {', '.join(what)} in {', '.join(landed_in)}"
            )
    elif instance.effects:
        lines.append("effects landed: none")
    if instance.constraints.max_modes_used is not None:
        counts = ", ".join(
            f"{y.year} {len(y.modes_counted or ())}" for y in plan.years
        )
        lines.append(f"vehicles in use by year (modes that cease a service not counted): {counts}")
    return lines


def _wrap(name: str, width: int) -> list[str]:
    """A service name in full, over as many lines of ``width`` as it needs."""
    return textwrap.wrap(name, width, break_on_hyphens=False) or [""]


def _same_mode(today: int, option: int) -> str:
    """The plan column for a service kept in today's mode: ``=`` on today's option (``today``),
    else the option's number in the service's list (1-based)."""
    if option == today:
        return "="
    return f"= option {option + 1}"


def _objective_definition(instance: Instance) -> list[str]:
    """What ``minimise_cost`` counts, stated where the plan is shown."""
    if instance.objective != "minimise_cost":
        return []
    per = ", each year discounted" if instance.horizon is not None else ""
    return [
        "minimise_cost = annual cost + one-off money (transition, setup and termination)" + per
    ]


def _limit_label(name: str, instance: Instance) -> str:
    """A limit's name as the reader knows it: a ``limits`` row by its metric and filter
    (``limits[0]`` -> ``carbon_t (private)``, ``limits[1].max`` -> ``outcome (mode latc) max``);
    every other name as it is."""
    if not name.startswith("limits[") or "]" not in name:
        return name
    index = name[len("limits[") : name.index("]")]
    rows = instance.constraints.limits
    if not index.isdigit() or int(index) >= len(rows):
        return name
    row = rows[int(index)]
    text = row.metric
    if row.sector is not None:
        text += f" ({row.sector})"
    if row.mode is not None:
        text += f" (mode {row.mode})"
    side = name[name.index("]") + 1 :].lstrip(".")
    return f"{text} {side}" if side else text


def _limit_unit(check: Check, instance: Instance) -> str:
    """What a limit's numbers are: money (the currency), a share, a count, or a total."""
    name = check.name
    if is_money_check(check, instance):
        return instance.currency or "money"
    if name.startswith("sector_share"):
        return "share"
    if name == "min_flexibility":
        return "0-1 score"
    if name.startswith(("max_changes", "capacity_count", "min_services")):
        return "services"
    if name == "max_modes_used":
        return "vehicles"
    if name == "min_outcome":
        return "outcome"
    if name.startswith("same_mode"):
        return "rule"
    return "total"


def _limit_figure(check: Check, instance: Instance, money: Number) -> Number:
    """How a limit's figures are shown: money as money, shares as percentages, counts whole."""
    if is_money_check(check, instance):
        return money
    if check.name.startswith("sector_share"):
        return _percent
    if check.name == "min_flexibility":
        return lambda value: f"{value:.2f}"
    return _figure


def _percent(value: float) -> str:
    """A share as a percentage, one decimal unless it is whole: ``35.6%``, ``40%``."""
    text = f"{value:.1%}"
    return text.replace(".0%", "%")


def _says_something(result: SolveResult) -> bool:
    """The solver's detail is worth printing: not empty and not just the status again."""
    detail = (result.detail or "").strip()
    said = detail.rsplit(":", 1)[-1].strip().lower()
    return bool(said) and said not in {result.status.value, "optimal"}


def _against_today(
    instance: Instance, result: SolveResult, today: dict[str, Any], money: Number
) -> str:
    """One line: what the plan changes and what it gains against today's arrangement."""
    versus = versus_baseline(instance, result, today)
    assert versus is not None
    count = len(versus["changes"])
    text = f"Against today: {count:,} of {len(instance.services):,} services change mode"
    if instance.horizon is not None:
        text += " in some year"
    others = len(versus["other_option"])
    if others:
        text += f" ({others:,} more keep{'s' if others == 1 else ''} the mode on another option)"
    unit = f" ({instance.currency})" if instance.currency else ""
    text += (
        f"; outcome {_signed(versus['outcome'], _figure)}, "
        f"annual cost {_signed(versus['annual_cost'], money)}, "
        f"one-off {_signed(versus['one_off_cost'], money)}{unit}"
    )
    if instance.objective not in ("maximise_outcome",):
        text += f"; objective {_signed(versus['objective'], _figure)}"
    if not today["feasible"]:
        broken = len(today["violations"])
        text += f"; today's arrangement breaks {broken} limit{'s' if broken != 1 else ''}"
    return text + "."


def _signed(value: float, shown: Number) -> str:
    """A difference with its sign: ``+84.5``, ``-3,000``, ``0``."""
    text = shown(abs(value))
    if text.strip("0.,") == "":
        return text
    return ("-" if value < 0 else "+") + text


def _money_formats(instance: Instance) -> tuple[Number, Number]:
    """How money is shown (at the precision the data have, 99,999,999.99 stays so, never
    more), and how the objective is (money for ``minimise_cost``)."""
    decimals = money_decimals(instance)

    def money(value: float) -> str:
        return format_money(value, decimals)

    return money, money if instance.objective == "minimise_cost" else _number


def _horizon_head(
    instance: Instance, result: SolveResult, paint: Paint, number: Number, rate: str
) -> list[str]:
    """The headline (the horizon's years when the name does not give them), the solver line and
    what the objective means."""
    horizon = instance.horizon
    span = ""
    if horizon is not None and str(horizon.start_year) not in instance.name:
        span = f" {horizon.start_year}-{horizon.start_year + horizon.years - 1}"
    head = _headline(instance, result, paint, number, span, rate)
    return [paint(head, _BOLD), _solver_line(result, number), *_objective_definition(instance)]


def format_multi_year(instance: Instance, result: SolveResult, color: bool = False) -> str:
    """The result as a year-by-year table.

    Args:
        instance: the instance solved (with a horizon).
        result: its result; ``result.multi_year`` holds the plan (when there is one).
        color: use ANSI colours.

    Returns:
        Lines of text: the headline, the mode of each service each year (contract starts
        marked), the contracts started, and each year's totals against each yearly limit with
        the binding ones marked.
    """
    paint = _painter(color)
    money, objective_number = _money_formats(instance)
    horizon = instance.horizon
    rate = f", discounted at {horizon.discount_rate:.1%}" if horizon else ""
    lines = _horizon_head(instance, result, paint, objective_number, rate)
    plan = result.multi_year
    if plan is None:
        return "\n".join(lines + _no_plan(result)) + "\n"
    today = baseline(instance)
    lines += _plan_lines(instance, plan, today, paint, money, color)
    lines += [""] + textwrap.wrap(_against_today(instance, result, today, money), 99)
    if _says_something(result):
        lines += ["", paint(f"detail: {result.detail}", _DIM)]
    return "\n".join(lines) + "\n"


def _plan_lines(
    instance: Instance,
    plan: MultiYearPlan,
    today: dict[str, Any],
    paint: Paint,
    money: Number,
    color: bool,
) -> list[str]:
    """A year-by-year plan: the schedule, the arrangements started, the yearly totals against
    today's and against each limit, the modes set up."""
    lines: list[str] = []
    unit = f" ({instance.currency})" if instance.currency else ""
    years = plan.calendar_years
    starts = {(c.service, c.start_year) for c in plan.contracts if not (c.existing or c.renewal)}
    broken = {(c.service, c.broken_year) for c in plan.contracts if c.broken_year is not None}
    locked = {
        (c.service, year)
        for c in plan.contracts
        if c.existing
        for year in years[: c.years_in_horizon]
    }

    def cell(service: str, index: int, year: int, mode: str) -> str:
        options = plan.options[service]
        continuing = index > 0 and options[index] == options[index - 1]
        mark = ""
        if (service, year) in starts:
            mark = "+"
        if (service, year) in broken:
            mark = "!"
        if (service, year) in locked:
            mark = "="
        if continuing and mark in ("", "="):
            return '"' + mark
        return mode + mark

    names = {s.id: s.name or s.id for s in instance.services}
    today_mode = {s.id: s.current_mode for s in instance.services}
    table = [["service", "today", *map(str, years)]]
    for service_id, modes in plan.schedule.items():
        wrapped = _wrap(names[service_id], _NAME_WIDTH - 4)
        table.append(
            [wrapped[0], today_mode[service_id]]
            + [
                cell(service_id, i, y, m)
                for i, (y, m) in enumerate(zip(years, modes, strict=True))
            ]
        )
        table += [[more, "", *("" for _ in years)] for more in wrapped[1:]]
    lines += ["", *_grid(table)]
    lines.append(
        "= existing contract (locked)   + new arrangement starts   ! existing contract broken"
    )
    lines.append('" the same arrangement continues from the year before')

    started = [c for c in plan.contracts if not c.existing]
    broken_contracts = [c for c in plan.contracts if c.broken_year is not None]
    changed = [c for c in started if not c.renewal]
    renewals = len(started) - len(changed)
    if changed or broken_contracts:
        lines += [
            "",
            "New arrangements" + (f" ({renewals} renewals not shown)" if renewals else ""),
        ]
        for c in broken_contracts:
            lines.append(
                f"  {c.service}: existing {c.mode} contract broken in {c.broken_year} "
                f"(termination {money(c.termination_cost)})"
            )
        for c in changed:
            label = f' "{c.label}"' if c.label else ""
            paid = f", transition {money(c.transition_cost)}" if c.transition_cost else ""
            lines.append(
                f"  {c.service}: {c.mode}{label} {c.start_year}-{c.end_year} "
                f"({c.years} year{'s' if c.years != 1 else ''}){paid}"
            )

    today_years = today["years"]
    totals = [[f"yearly totals{unit}", *map(str, years)]]
    totals.append(["annual cost", *(money(y.annual_cost) for y in plan.years)])
    totals.append(["  today", *(money(y["annual_cost"]) for y in today_years)])
    if instance.effects:
        totals.append(["  less effects' savings", *(money(y.savings) for y in plan.years)])
        totals.append(
            ["  net of savings", *(money(y.annual_cost - y.savings) for y in plan.years)]
        )
    totals.append(["transition", *(money(y.transition_cost) for y in plan.years)])
    totals.append(["setup of modes", *(money(y.setup_cost) for y in plan.years)])
    totals.append(["termination", *(money(y.termination_cost) for y in plan.years)])
    if instance.investments:
        totals.append(["investments", *(money(y.investment_cost) for y in plan.years)])
    totals.append(["one-off total", *(money(y.transition_money) for y in plan.years)])
    totals.append(["  today", *(money(y["one_off_cost"]) for y in today_years)])
    totals.append(["weighted outcome", *(_number(y.weighted_outcome) for y in plan.years)])
    if instance.effects:
        totals.append(["  of which effects", *(_number(y.outcome_gain) for y in plan.years)])
    totals.append(["  today", *(_number(y["outcome"]) for y in today_years)])
    totals.append(["services changing mode (count)", *(str(len(y.changes)) for y in plan.years)])
    check_names: list[str] = []
    for year in plan.years:
        for check in year.checks:
            if check.name not in check_names:
                check_names.append(check.name)
    for name in check_names:
        values, limits = [], []
        sense = ""
        label = name
        for year in plan.years:
            found = next((c for c in year.checks if c.name == name), None)
            if found is None:
                values.append("")
                limits.append("")
                continue
            sense = found.sense
            label = f"{_limit_label(name, instance)}, {_limit_unit(found, instance)}"
            shown = _limit_figure(found, instance, money)
            if shown is _figure:
                shown = _number
            text = shown(found.value) + (_BINDING if found.binding else "")
            values.append(paint(text, _YELLOW) if color and found.binding else text)
            limits.append(shown(found.limit))
        totals.append([label, *values])
        if sense != "=":
            totals.append([f"  limit ({sense})", *limits])
    lines += ["", *_grid(totals)]
    lines.append(_AT_BOUND)
    if plan.first_used:
        first = ", ".join(
            f"{mode} {year}"
            for mode, year in plan.first_used.items()
            if instance.mode(mode).setup_cost > 0
        )
        if first:
            lines.append(f"modes set up (setup cost paid): {first}")
    lines += _mix_lines(instance, plan, money)
    return lines


def format_scenarios(instance: Instance, result: SolveResult, color: bool = False) -> str:
    """A plan under funding scenarios: what to commit now, then each scenario's year-by-year
    plan.

    Args:
        instance: the instance solved (with a horizon and scenarios).
        result: its result; ``result.scenarios`` holds the plans (when there are).
        color: use ANSI colours.
    """
    paint = _painter(color)
    money, objective_number = _money_formats(instance)
    horizon = instance.horizon
    assert horizon is not None
    scenarios = instance.scenarios or []
    plans = result.scenarios
    risk = plans.risk_label if plans is not None else ("expected" if instance.risk is None
                                                      else str(instance.risk))
    rate = f", discounted at {horizon.discount_rate:.1%}; {risk} over {len(scenarios)} scenarios"
    lines = _horizon_head(instance, result, paint, objective_number, rate)
    if plans is None:
        return "\n".join(lines + _no_plan(result)) + "\n"
    split = (
        f"told apart from {plans.first_split}"
        if plans.first_split is not None
        else "never told apart"
    )
    lines += ["", f"Funding scenarios ({split}):"]
    for outcome in plans.outcomes:
        lines.append(
            f"  {outcome.name:<24} probability {outcome.probability:<6g} objective "
            f"{objective_number(outcome.objective)}"
        )
    first = horizon.start_year
    now = [d for d in plans.here_and_now if d.changes_mode or d.action == "break"
           or d.start_year > first]
    kept = len(plans.here_and_now) - len(now)
    lines += ["", paint(f"Commit now ({first}), whichever scenario comes:", _BOLD)]
    lines += [f"  - {decision.words}" for decision in now] or [
        f"  - no change: every service keeps its current arrangement in {first}"
    ]
    if kept and now:
        lines.append(f"  ({kept} more keep their current arrangement in {first})")
    for scenario, outcome, own in zip(
        scenarios, plans.outcomes, [scenario_instance(instance, s) for s in scenarios], strict=True
    ):
        lines += [
            "",
            paint(
                f"Scenario {outcome.name} (probability {scenario.probability:g}): objective "
                f"{objective_number(outcome.objective)}",
                _BOLD,
            ),
        ]
        lines += _plan_lines(own, outcome.plan, baseline(own), paint, money, color)
    if _says_something(result):
        lines += ["", paint(f"detail: {result.detail}", _DIM)]
    return "\n".join(lines) + "\n"


def _visible(text: str) -> int:
    """Length without ANSI escape sequences."""
    length = 0
    skip = False
    for char in text:
        if char == "\033":
            skip = True
        elif skip and char == "m":
            skip = False
        elif not skip:
            length += 1
    return length


def _grid(rows: list[list[str]]) -> list[str]:
    """Left-aligned first column, right-aligned year columns."""
    widths = [max(_visible(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        first = row[0] + " " * (widths[0] - _visible(row[0]))
        rest = [" " * (w - _visible(v)) + v for v, w in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join([first, *rest]).rstrip())
    return out
