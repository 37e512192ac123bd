"""Readable text reports of a result, for the CLI (library code returns strings, never prints).

One module for every horizon: :func:`format_result` shows a single-period plan as a table of
services, and hands a result with a ``multi_year`` plan to :func:`format_multi_year`, which shows
years as columns for a finance officer. The headline, the solver line and the explanation of a
result without a plan are written once, for both.
"""

from __future__ import annotations

from collections.abc import Callable

from portfolio.domain import Instance
from portfolio.money import format_money, is_money_check, money_decimals
from portfolio.result import Explanation, SolveResult, Status

_BOLD, _DIM, _RED, _GREEN, _YELLOW, _RESET = (
    "\033[1m",
    "\033[2m",
    "\033[31m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)
_BINDING = "*"

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
    """The plan as a table: each service with current and new mode, cost and outcome; totals
    against every limit with the binding ones marked; or the explanation when there is no plan."""
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

    unit = f" ({instance.currency})" if instance.currency else ""
    lines = [
        _headline(instance, result, paint, objective_number, "", ""),
        _solver_line(result, objective_number),
    ]
    plan = result.plan
    if plan is None:
        return "\n".join(lines + _no_plan(result)) + "\n"

    names = {service.id: service.name or service.id for service in instance.services}
    width = min(34, max(len("service"), *(len(n) for n in names.values())))
    mode_width = max(len("current"), *(len(m.id) for m in instance.modes))
    lines.append("")
    header = (
        f"{'service':<{width}}  {'current':<{mode_width}}  {'new':<{mode_width}}  "
        f"{'annual cost' + unit:>16}  {'transition':>11}  {'outcome':>8}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for choice in plan.choices:
        name = names[choice.service]
        if len(name) > width:
            name = name[: width - 1] + "…"
        new = choice.mode if choice.changes else "="
        row = (
            f"{name:<{width}}  {choice.current_mode:<{mode_width}}  {new:<{mode_width}}  "
            f"{money(choice.annual_cost):>16}  {money(choice.transition_cost):>11}  "
            f"{_figure(choice.weighted_outcome):>8}"
        )
        lines.append(paint(row, _BOLD) if choice.changes and color else row)
    lines.append("-" * len(header))
    total_outcome = sum(c.weighted_outcome for c in plan.choices)
    lines.append(
        f"{'total':<{width}}  {'':<{mode_width}}  {'':<{mode_width}}  "
        f"{money(plan.annual_cost):>16}  "
        f"{money(sum(c.transition_cost for c in plan.choices)):>11}  {_figure(total_outcome):>8}"
    )
    lines.append(
        f"{len(plan.changes)} of {len(plan.choices)} services change mode; "
        f"modes used: {', '.join(plan.modes_used)}"
    )
    if plan.checks:
        lines.append("")
        lines.append("limits (* binding):")
        name_width = max(len(check.name) for check in plan.checks)
        for check in plan.checks:
            mark = _BINDING if check.binding else " "
            is_money = is_money_check(check, instance)
            text = (
                f" {mark} {check.name:<{name_width}}  {amount(check.value, is_money):>14} "
                f"{check.sense:>2} {amount(check.limit, is_money):<14}"
            )
            if check.detail:
                text += f"  {check.detail}"
            if not check.ok:
                text = paint(text + "  VIOLATED", _RED)
            elif check.binding and color:
                text = paint(text, _YELLOW)
            lines.append(text)
    if result.detail:
        lines.append("")
        lines.append(paint(f"detail: {result.detail}", _DIM))
    return "\n".join(lines) + "\n"


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
    decimals = money_decimals(instance)

    def money(value: float) -> str:
        # Money at the precision the data have (99,999,999.99 stays so), never more.
        return format_money(value, decimals)

    objective_number = money if instance.objective == "minimise_cost" else _number
    horizon = instance.horizon
    span = ""
    if horizon is not None and str(horizon.start_year) not in instance.name:
        span = f" {horizon.start_year}-{horizon.start_year + horizon.years - 1}"
    rate = f", discounted at {horizon.discount_rate:.1%}" if horizon else ""
    head = _headline(instance, result, paint, objective_number, span, rate)
    lines = [paint(head, _BOLD), _solver_line(result, objective_number)]
    plan = result.multi_year
    if plan is None:
        return "\n".join(lines + _no_plan(result))

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

    def cell(service: str, year: int, mode: str) -> str:
        mark = ""
        if (service, year) in starts:
            mark = "+"
        if (service, year) in broken:
            mark = "!"
        if (service, year) in locked:
            mark = "="
        return mode + mark

    names = {s.id: s.id for s in instance.services}
    table = [["service", *map(str, years)]]
    for service_id, modes in plan.schedule.items():
        table.append(
            [names[service_id]]
            + [cell(service_id, y, m) for y, m in zip(years, modes, strict=True)]
        )
    lines += ["", *_grid(table)]
    lines.append(
        "= existing contract (locked)   + new arrangement starts   ! existing contract broken"
    )

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

    totals = [[f"yearly totals{unit}", *map(str, years)]]
    totals.append(["annual cost", *(money(y.annual_cost) for y in plan.years)])
    totals.append(
        ["transition + setup + termination", *(money(y.transition_money) for y in plan.years)]
    )
    totals.append(["weighted outcome", *(_number(y.weighted_outcome) for y in plan.years)])
    totals.append(["services changing mode", *(str(len(y.changes)) for y in plan.years)])
    check_names: list[str] = []
    for year in plan.years:
        for check in year.checks:
            if check.name not in check_names:
                check_names.append(check.name)
    for name in check_names:
        values, limits = [], []
        sense = ""
        for year in plan.years:
            found = next((c for c in year.checks if c.name == name), None)
            if found is None:
                values.append("")
                limits.append("")
                continue
            sense = found.sense
            shown = money if is_money_check(found, instance) else _number
            text = shown(found.value) + (_BINDING if found.binding else "")
            values.append(paint(text, _YELLOW) if color and found.binding else text)
            limits.append(shown(found.limit))
        totals.append([name, *values])
        if sense != "=":
            totals.append([f"  limit ({sense})", *limits])
    lines += ["", *_grid(totals)]
    lines.append(f"{_BINDING} binding: the plan sits on the limit that year")
    if plan.first_used:
        first = ", ".join(
            f"{mode} {year}"
            for mode, year in plan.first_used.items()
            if instance.mode(mode).setup_cost > 0
        )
        if first:
            lines.append(f"modes set up (setup cost paid): {first}")
    return "\n".join(lines)


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
