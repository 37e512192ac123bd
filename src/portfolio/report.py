"""Readable text reports of a result, for the CLI (library code returns strings, never prints)."""

from __future__ import annotations

from portfolio.domain import Instance
from portfolio.money import format_money, is_money_check, money_decimals
from portfolio.result import SolveResult, Status

_BOLD, _DIM, _RED, _GREEN, _YELLOW, _RESET = (
    "\033[1m",
    "\033[2m",
    "\033[31m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)


def _money(value: float, decimals: int = 0) -> str:
    return format_money(value, decimals)


def _figure(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.1f}" if abs(value - round(value)) > 1e-9 else f"{value:,.0f}"
    return f"{value:.4g}"


def format_result(instance: Instance, result: SolveResult, *, color: bool = False) -> str:
    """The plan as a table: each service with current and new mode, cost and outcome; totals
    against every limit with the binding ones marked; or the explanation when there is no plan."""
    if result.multi_year is not None:
        from portfolio.multiyear.report import format_multi_year

        text: str = format_multi_year(instance, result, color)
        return text

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines: list[str] = []
    decimals = money_decimals(instance)

    def money(value: float) -> str:
        return _money(value, decimals)

    def amount(value: float, is_money: bool) -> str:
        return money(value) if is_money else _figure(value)

    objective_is_money = instance.objective == "minimise_cost"
    unit = f" ({instance.currency})" if instance.currency else ""
    status_color = {Status.OPTIMAL: _GREEN, Status.FEASIBLE: _YELLOW}.get(result.status, _RED)
    head = f"{instance.name}: {paint(result.status.value, status_color)}"
    if result.objective is not None:
        head += (
            f", objective {amount(result.objective, objective_is_money)} "
            f"({instance.objective_label})"
        )
    lines.append(paint(head, _BOLD) if not color else head)
    gap = result.gap
    lines.append(
        f"backend {result.backend}, {result.timings.total:.2f}s"
        + (
            f", bound {amount(result.bound, objective_is_money)}"
            if result.bound is not None
            else ""
        )
        + (f", gap {gap:.2e}" if gap is not None else "")
        + (", verified" if result.verified else "")
    )
    plan = result.plan
    if plan is None:
        if result.detail:
            lines.append(f"detail: {result.detail}")
        for violation in result.violations:
            lines.append(f"  - {violation}")
        if result.explanation is not None:
            lines.append("")
            lines.append(result.explanation.summary)
            for relaxation in result.explanation.relaxations:
                lines.append(f"  - {relaxation}")
            if result.explanation.single_fixes:
                lines.append("Any one of these alone would also do:")
                for relaxation in result.explanation.single_fixes:
                    lines.append(f"  - {relaxation}")
            for conflict in result.explanation.structural:
                lines.append(f"  - {conflict}")
        return "\n".join(lines) + "\n"

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
            mark = "*" if check.binding else " "
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
        lines.append(
            paint(f"detail: {result.detail}", _DIM) if color else f"detail: {result.detail}"
        )
    return "\n".join(lines) + "\n"
