"""The multi-year plan as text for a finance officer: years as columns.

:func:`format_multi_year` is called by :func:`portfolio.report.format_result` for results with a
``multi_year`` plan. Library code returns strings and never prints.
"""

from __future__ import annotations

from portfolio.domain import Instance
from portfolio.money import format_money, is_money_check, money_decimals
from portfolio.multiyear.schedule import MultiYearPlan
from portfolio.result import SolveResult, Status

_BOLD, _DIM, _RED, _GREEN, _YELLOW, _RESET = (
    "\033[1m",
    "\033[2m",
    "\033[31m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)
_BINDING = "*"


def _number(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


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

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    decimals = money_decimals(instance)

    def money(value: float) -> str:
        # Money at the precision the data have (99,999,999.99 stays so), never more.
        return format_money(value, decimals)

    objective_number = money if instance.objective == "minimise_cost" else _number
    status_color = {Status.OPTIMAL: _GREEN, Status.FEASIBLE: _YELLOW}.get(result.status, _RED)
    horizon = instance.horizon
    span = ""
    if horizon is not None and str(horizon.start_year) not in instance.name:
        span = f" {horizon.start_year}-{horizon.start_year + horizon.years - 1}"
    head = f"{instance.name}{span}: {paint(result.status.value, status_color)}"
    if result.objective is not None:
        rate = f", discounted at {horizon.discount_rate:.1%}" if horizon else ""
        head += (
            f", objective {objective_number(result.objective)} "
            f"({instance.objective_label}{rate})"
        )
    lines = [paint(head, _BOLD)]
    tail = f"backend {result.backend}, {result.timings.total:.2f}s"
    if result.bound is not None:
        tail += f", bound {objective_number(result.bound)}"
    if result.gap is not None:
        tail += f", gap {result.gap:.2e}"
    lines.append(tail + (", verified" if result.verified else ""))
    plan: MultiYearPlan | None = result.multi_year
    if plan is None:
        if result.detail:
            lines.append(f"detail: {result.detail}")
        lines += [f"  - {violation}" for violation in result.violations]
        if result.explanation is not None:
            lines += ["", result.explanation.summary]
            lines += [f"  - {relaxation}" for relaxation in result.explanation.relaxations]
        return "\n".join(lines)

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
