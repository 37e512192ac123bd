"""How the scenarios' objectives combine into one (models/scenarios.md, "Objective"): the
probability-weighted mean, the worst, or the mean of the worst ``alpha`` of probability mass
(conditional value at risk). Computed directly from the scenarios' values, by sorting: the
verifier and the appraisal use this, never the model's epigraph columns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from portfolio.domain import CVaR


def combine(
    risk: Any, probabilities: Sequence[float], values: Sequence[float], maximise: bool
) -> float:
    """The risk measure of ``values`` (one per scenario) in the user's sense.

    Args:
        risk: ``None`` or ``"expected"``, ``"worst_case"``, or a :class:`~portfolio.domain.CVaR`.
        probabilities: the scenarios' probabilities (summing to 1).
        values: each scenario's objective.
        maximise: larger is better (the worst is the smallest).
    """
    if risk is None or risk == "expected":
        return math.fsum(p * v for p, v in zip(probabilities, values, strict=True))
    if risk == "worst_case":
        return min(values) if maximise else max(values)
    if isinstance(risk, CVaR):
        return tail_mean(risk.cvar, probabilities, values, maximise)
    raise ValueError(f"unknown risk measure {risk!r}")


def tail_mean(
    alpha: float, probabilities: Sequence[float], values: Sequence[float], maximise: bool
) -> float:
    """The mean of the worst ``alpha`` of probability mass (a scenario straddling the boundary
    counts with the part of its mass inside the tail)."""
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=not maximise)
    left = alpha
    total = 0.0
    for i in order:
        if left <= 0:
            break
        take = min(probabilities[i], left)
        total += take * values[i]
        left -= take
    return total / alpha


def label(risk: Any) -> str:
    """The measure in words: ``expected``, ``worst_case`` or ``cvar 0.2``."""
    if isinstance(risk, CVaR):
        return f"cvar {risk.cvar:g}"
    return "expected" if risk is None else str(risk)


def as_data(risk: Any) -> Any:
    """The measure as the result file gives it: ``"expected"``, ``"worst_case"`` or
    ``{"cvar": alpha}``."""
    if isinstance(risk, CVaR):
        return {"cvar": risk.cvar}
    return "expected" if risk is None else str(risk)
