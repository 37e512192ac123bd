"""Explain an infeasible multi-year instance: which yearly limits conflict, by how much, and when.

The same idea as :mod:`portfolio.explain`: an *elastic* copy of the compiled model gives every
yearly limit row (budget, transition budget, outcome floor, flexibility, changes, capacity,
min_services, sector shares, ``limits``) a slack column, each weighted by the inverse of its
limit's size, while the structure (the paths, lock-ins, lead times, red lines, bundles) stays hard.
The optimal slacks are the smallest joint relaxation (solved to a 0.1% gap, for at most
:data:`MAX_SECONDS`), reported as ``budget@2029 must rise by ...``.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import scipy.sparse as sp

from portfolio.linear import LinearModel, RowBlock, Sense
from portfolio.multiyear.compile import MultiYearModel
from portfolio.params import SolveParams
from portfolio.result import Explanation, Relaxation

#: Families whose rows may be relaxed (the family name before any ``[``).
SOFT_FAMILIES = (
    "budget",
    "transition_budget",
    "min_outcome",
    "min_flexibility",
    "max_changes",
    "capacity_count",
    "capacity_spend",
    "min_services",
    "sector_share",
    "limits",
)
#: Families counted in whole services.
COUNT_FAMILIES = ("max_changes", "capacity_count", "min_services")
SLACK_TOL = 1e-6
#: The elastic MIP may be hard (many near-equal relaxations): it gets at most this long.
MAX_SECONDS = 15.0


def explain_multi_year(
    compiled: MultiYearModel,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
) -> Explanation:
    """Say what must give for an infeasible multi-year instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solve.
    """
    from portfolio.backends.highs import HighsBackend

    began = time.perf_counter()
    model = compiled.model
    slacks: list[tuple[int, str, RowBlock]] = []
    for block in model.blocks:
        if block.family.split("[")[0] not in SOFT_FAMILIES:
            continue
        for row in range(block.start, block.stop):
            if np.isfinite(model.row_upper[row]):
                slacks.append((row, "upper", block))
            if np.isfinite(model.row_lower[row]):
                slacks.append((row, "lower", block))
    stranded = _stranded_services(compiled)
    if stranded:
        return Explanation(
            "No plan exists: some services have no arrangement for every year.",
            structural=tuple(stranded),
        )
    structural = "the lock-ins, lead times, red lines and bundles leave no plan whatever the limits"
    if not slacks:
        return Explanation("No plan exists; no yearly limit is set.", structural=(structural,))
    if not HighsBackend.is_available():
        return Explanation("No plan meets every yearly limit (install highspy for details).")
    remaining = MAX_SECONDS
    if time_limit is not None:
        remaining = min(remaining, max(0.5, time_limit - (time.perf_counter() - began)))
    answer = HighsBackend().solve(
        _elastic(model, slacks),
        SolveParams(rel_gap=1e-3),
        time_limit=remaining,
        interrupt=interrupt,
    )
    if answer.x is None or not answer.status.has_plan:
        return Explanation(
            "No plan exists even with every yearly limit relaxed.", structural=(structural,)
        )
    x = answer.x[: model.num_cols]
    amounts = answer.x[model.num_cols :]
    relaxations: list[Relaxation] = []
    for (row, side, block), amount in zip(slacks, amounts, strict=True):
        bound = model.row_upper[row] if side == "upper" else model.row_lower[row]
        if amount <= SLACK_TOL * max(1.0, abs(bound)):
            continue
        relaxations.append(_relaxation(compiled, row, side, block, float(amount), x))
    if not relaxations:
        return Explanation("No plan meets every yearly limit.")
    return Explanation(
        "No plan meets every yearly limit. The smallest joint relaxation found:",
        tuple(relaxations),
    )


def _stranded_services(compiled: MultiYearModel) -> list[str]:
    """Services with no path through the horizon at all (every arc pruned), in words."""
    table = compiled.table
    arcs_per_service = np.bincount(compiled.layout.arcs.service, minlength=table.num_services)
    return [
        f"service '{table.service_ids[s]}': no sequence of contracts covers every year "
        "(lead times, the existing contract or red lines leave a year with no option)"
        for s in np.flatnonzero(arcs_per_service == 0).tolist()
    ]


def _elastic(model: LinearModel, slacks: list[tuple[int, str, RowBlock]]) -> LinearModel:
    count = len(slacks)
    rows = np.array([row for row, _, _ in slacks], dtype=np.int64)
    signs = np.array([-1.0 if side == "upper" else 1.0 for _, side, _ in slacks])
    rhs = np.array(
        [model.row_upper[r] if side == "upper" else model.row_lower[r] for r, side, _ in slacks]
    )
    row_scale = np.asarray(abs(model.matrix).max(axis=1).todense()).ravel()
    scale = np.maximum(1.0, np.maximum(np.abs(rhs), row_scale[rows]))
    integer = np.array([block.family in COUNT_FAMILIES for _, _, block in slacks])
    extra = sp.csr_matrix((signs, (rows, np.arange(count))), shape=(model.num_rows, count))
    return LinearModel(
        sense=Sense.MINIMISE,
        objective=np.concatenate((np.zeros(model.num_cols), 1.0 / scale)),
        objective_offset=0.0,
        matrix=sp.hstack((model.matrix, extra), format="csr"),
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_lower=np.concatenate((model.col_lower, np.zeros(count))),
        col_upper=np.concatenate((model.col_upper, np.full(count, np.inf))),
        integrality=np.concatenate((model.integrality, integer)),
        blocks=model.blocks,
    )


def _relaxation(
    compiled: MultiYearModel,
    row: int,
    side: str,
    block: RowBlock,
    amount: float,
    x: np.ndarray,
) -> Relaxation:
    """One positive slack in the user's terms: the limit as written, its year, the move."""
    model = compiled.model
    item = str(block.items[row - block.start]) if block.items is not None else ""
    if "@" in item:  # per mode and year: capacity_spend[voluntary]@2029
        mode, year_text = item.rsplit("@", 1)
        name = f"{block.family}[{mode}]@{year_text}"
    else:  # per year: budget@2029, sector_share[private].max@2029, limits[0]@2029
        name = f"{block.family}@{item}"
    family = block.family.split("[")[0]
    if family in COUNT_FAMILIES:
        amount = float(math.ceil(amount - 1e-6))
    bound = float(model.row_upper[row] if side == "upper" else model.row_lower[row])
    if family in ("min_flexibility", "sector_share"):
        # Rows of the form sum c (f - floor) >= 0: move the share or floor by amount / spend.
        layout = compiled.layout
        year = row - block.start  # one row per horizon year
        in_year = np.flatnonzero(layout.act_year == year)
        cost = layout.act_figure("annual_cost")[in_year]
        spend = float(cost @ x[layout.act_offset + in_year])
        delta = amount / spend if spend > 0 else 1.0
        limit = _share_limit(compiled, block, year)
        needed = (
            limit - delta
            if family == "min_flexibility" or block.family.endswith(".min")
            else (limit + delta)
        )
        needed = min(1.0, max(0.0, needed))
        return Relaxation(name, limit, 0.0 if needed < 1e-12 else needed)
    if side == "upper":
        return Relaxation(name, bound, bound + amount)
    return Relaxation(name, bound, bound - amount)


def _share_limit(compiled: MultiYearModel, block: RowBlock, year: int) -> float:
    from portfolio.domain import value_in_year

    constraints = compiled.table.instance.constraints
    if block.family == "min_flexibility":
        return float(value_in_year(constraints.min_flexibility, year) or 0.0)
    sector = block.family.split("[")[1].split("]")[0]
    bound = constraints.sector_share[sector]  # type: ignore[index]
    value = bound.max if block.family.endswith(".max") else bound.min
    return float(value_in_year(value, year) or 0.0)
