"""Money as the data give it: how many decimals an instance's money figures have, and money
formatted with them (for the text reports; library code returns strings, never prints)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from portfolio.domain import Instance, is_per_year
from portfolio.result import Check

MAX_MONEY_DECIMALS = 6
"""Most decimals shown for money, whatever the data hold."""

MONEY_FIGURES = ("annual_cost", "transition_cost")


def _decimals(value: float) -> int:
    """Decimals of a number as written (its shortest exact form): 99999999.99 -> 2."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _money_values(instance: Instance) -> Iterator[float]:
    def each(value: object) -> Iterator[float]:
        if is_per_year(value):
            yield from (float(v) for v in value)  # type: ignore[attr-defined]
        elif isinstance(value, int | float):
            yield float(value)

    for mode in instance.modes:
        yield from each(mode.setup_cost)
        yield from each(mode.max_spend)
    for service in instance.services:
        yield from each(service.termination_cost)
        for option in service.options:
            yield from each(option.annual_cost)
            yield from each(option.transition_cost)
    constraints = instance.constraints
    yield from each(constraints.budget)
    yield from each(constraints.transition_budget)
    for limit in constraints.limits:
        if limit.metric in MONEY_FIGURES:
            yield from each(limit.max)
            yield from each(limit.min)


def money_decimals(instance: Instance) -> int:
    """Decimals to show money with: as many as the instance's money figures have (at most
    :data:`MAX_MONEY_DECIMALS`), so 99,999,999.99 is shown as written, never rounded to
    100,000,000.0, and whole pounds get no decimals."""
    return min(MAX_MONEY_DECIMALS, max((_decimals(v) for v in _money_values(instance)), default=0))


def format_money(value: float, decimals: int) -> str:
    """Money with thousands separators and ``decimals`` decimals."""
    return f"{value:,.{decimals}f}"


def is_money_check(check: Check, instance: Instance) -> bool:
    """The check's value and limit are money (a budget, a spend capacity, a cost limit)."""
    name = check.name
    if name in ("budget", "transition_budget") or name.startswith("capacity_spend"):
        return True
    if name.startswith("limits[") and "]" in name:
        index = name[len("limits[") : name.index("]")]
        limits = instance.constraints.limits
        return index.isdigit() and int(index) < len(limits) and (
            limits[int(index)].metric in MONEY_FIGURES
        )
    return False
