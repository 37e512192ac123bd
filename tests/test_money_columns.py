"""``money_decimals`` reads the options' money as columns: the same answer as asking every
figure's shortest written form (``Decimal(repr(x))``), on generated instances and on values
whose binary forms are awkward."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from portfolio.domain import Instance, is_per_year
from portfolio.io import instance_from_data
from portfolio.money import MAX_MONEY_DECIMALS, money_decimals
from test_verify_columns import random_multi_year, random_single_period

AWKWARD = [0.1 + 0.2, 99999999.99, 1e14 + 0.3, 123456.7890123, 5e-324, 2.5, 0.001,
           999999999999999.9, 1e15, 0.30000000000000004, 1234567.125, 7.000001, 1e-7, 19.99]


def _written(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def reference_decimals(instance: Instance) -> int:
    """Every money figure, one at a time (the loop ``money_decimals`` replaced)."""
    values: list[float] = []

    def each(value: Any) -> None:
        if is_per_year(value):
            values.extend(float(v) for v in value)
        elif isinstance(value, int | float):
            values.append(float(value))

    for mode in instance.modes:
        each(mode.setup_cost)
        each(mode.max_spend)
    for service in instance.services:
        each(service.termination_cost)
        for option in service.options:
            each(option.annual_cost)
            each(option.transition_cost)
    constraints = instance.constraints
    each(constraints.budget)
    each(constraints.transition_budget)
    for limit in constraints.limits:
        if limit.metric in ("annual_cost", "transition_cost"):
            each(limit.max)
            each(limit.min)
    return min(MAX_MONEY_DECIMALS, max((_written(v) for v in values), default=0))


@pytest.mark.parametrize("seed", range(24))
def test_generated_instances(seed: int) -> None:
    for data in (random_single_period(seed), random_multi_year(seed % 8)):
        instance = instance_from_data(data)
        assert money_decimals(instance) == reference_decimals(instance)


@pytest.mark.parametrize("seed", range(40))
def test_awkward_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = random_single_period(seed)
    for service in data["services"]:
        for option in service["options"]:
            choice = rng.random()
            if choice < 0.3:
                option["annual_cost"] = float(rng.choice(AWKWARD))
            elif choice < 0.6:
                decimals = int(rng.integers(0, 9))
                option["annual_cost"] = round(float(rng.uniform(0, 1e7)), decimals)
            option["transition_cost"] = round(float(rng.uniform(0, 1e4)), int(rng.integers(0, 4)))
    data["constraints"].pop("budget", None)
    data["constraints"].pop("transition_budget", None)
    data["constraints"].pop("limits", None)
    for mode in data["modes"]:
        mode.pop("setup_cost", None)
        mode.pop("max_spend", None)
    data.pop("investments", None)
    data.pop("effects", None)
    data["objective"] = "minimise_cost"
    instance = instance_from_data(data)
    assert money_decimals(instance) == reference_decimals(instance)
