"""Money as the data give it: how many decimals an instance's money figures have, and money
formatted with them (for the text reports; library code returns strings, never prints)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from portfolio.columnar import option_columns
from portfolio.domain import Instance, is_per_year
from portfolio.result import Check

MAX_MONEY_DECIMALS = 6
"""Most decimals shown for money, whatever the data hold."""

MONEY_FIGURES = ("annual_cost", "transition_cost")


def _decimals(value: float) -> int:
    """Decimals of a number as written (its shortest exact form): 99999999.99 -> 2."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _each(value: object) -> list[float]:
    """A money field's values: one number, or one per year."""
    if is_per_year(value):
        return [float(v) for v in value]  # type: ignore[attr-defined]
    return [float(value)] if isinstance(value, int | float) else []


def _money_values(instance: Instance) -> Iterator[float]:
    """Every money figure of the instance but the options' (:func:`_option_money`)."""
    for mode in instance.modes:
        yield from _each(mode.setup_cost)
        yield from _each(mode.max_spend)
    for service in instance.services:
        yield from _each(service.termination_cost)
    constraints = instance.constraints
    yield from _each(constraints.budget)
    yield from _each(constraints.transition_budget)
    for limit in constraints.limits:
        if limit.metric in MONEY_FIGURES:
            yield from _each(limit.max)
            yield from _each(limit.min)


def _option_money(instance: Instance) -> npt.NDArray[np.float64]:
    """The options' annual and transition costs: their columns (a single period has no
    per-year costs), else every year's from the options."""
    if instance.horizon is None:
        columns = option_columns(instance)
        return np.concatenate((columns.annual_cost, columns.transition_cost))
    values: list[float] = []
    for service in instance.services:
        for option in service.options:
            values += _each(option.annual_cost)
            values.append(float(option.transition_cost))
    return np.array(values, dtype=np.float64)


def _written_within(values: npt.NDArray[np.float64], decimals: int) -> bool:
    """Every value is written (its shortest exact form) with at most ``decimals`` decimals.

    A value is, exactly when it is the double nearest c / 10**decimals for an integer c: then
    that decimal reads back as the value, and the shortest form has no more decimals. Such a c
    is within one of the value scaled by 10**decimals; the division of two exact doubles is
    correctly rounded, so the test is exact while c is below 2**52. Larger scaled values are
    asked one at a time (:func:`_decimals`).
    """
    power = 10.0**decimals
    scaled = values * power
    small = np.abs(scaled) < 2.0**52
    nearest = np.rint(scaled[small])
    within = np.zeros(int(small.sum()), dtype=np.bool_)
    for step in (-1.0, 0.0, 1.0):
        within |= (nearest + step) / power == values[small]
    if not within.all():
        return False
    return all(_decimals(v) <= decimals for v in values[~small].tolist())


def money_decimals(instance: Instance) -> int:
    """Decimals to show money with: as many as the instance's money figures have (at most
    :data:`MAX_MONEY_DECIMALS`), so 99,999,999.99 is shown as written, never rounded to
    100,000,000.0, and whole pounds get no decimals. The options' figures are read as columns,
    each distinct value once."""
    others = max((_decimals(v) for v in _money_values(instance)), default=0)
    if others >= MAX_MONEY_DECIMALS:
        return MAX_MONEY_DECIMALS
    values = np.unique(_option_money(instance))
    values = values[np.isfinite(values)]
    for decimals in range(others, MAX_MONEY_DECIMALS):
        if _written_within(values, decimals):
            return decimals
    return MAX_MONEY_DECIMALS


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
