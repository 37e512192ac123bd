"""Explain infeasibility: which limits conflict and by how much they would have to move.

An *elastic* model is solved: every limit row (budget, transition budget, outcome floor,
flexibility, max changes, capacity, min_services, sector shares, bundles, ``limits`` rows) gets a
slack column, while the structure (one option per service, linking, red lines) stays hard. The
objective minimises the total slack, each slack divided by the size of its limit so that moving a
budget of 90,000 by 900 weighs the same as moving max_changes from 4 by 0.04. The slacks of the
optimum are the smallest joint relaxation; each is translated back into the user's terms ("budget
must rise by 1,240"). Then every conflicting limit is tried alone: if relaxing only that limit
restores feasibility, the amount is reported as a single fix.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance
from portfolio.linear import FloatArray, LinearModel, RowBlock, Sense
from portfolio.params import SolveParams
from portfolio.result import Explanation, Relaxation

#: Families whose rows may be relaxed; everything else is structure.
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
    "same_mode",
    "limits",
)
#: Families counted in whole services: their slacks are integers.
COUNT_FAMILIES = ("max_changes", "capacity_count", "min_services")
SLACK_TOL = 1e-6


@dataclass(frozen=True)
class _Slack:
    row: int
    side: str  # "upper" (row may exceed its upper bound) or "lower"
    block: RowBlock


def explain_infeasibility(
    instance: Instance,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
) -> Explanation:
    """Say what must give for an infeasible instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solves (the explanation is then partial).
    """
    from portfolio.backends.highs import HighsBackend

    began = time.perf_counter()
    compiled = compile_instance(instance, reduce=False)
    model = compiled.model
    slacks = _slack_columns(model)
    if not slacks:
        return Explanation(
            summary="No plan exists, and no limit can be relaxed to fix it: "
            "the services' options, red lines and bundles leave no choice.",
            structural=tuple(_structural_hints(instance)),
        )
    backend = HighsBackend()
    params = SolveParams(rel_gap=1e-6)

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return max(0.5, time_limit - (time.perf_counter() - began))

    elastic = _elastic_model(model, slacks, allowed=None)
    answer = backend.solve(elastic, params, time_limit=remaining(), interrupt=interrupt)
    if answer.x is None or not answer.status.has_plan:
        return Explanation(
            summary="No plan exists even with every limit relaxed: the conflict is structural.",
            structural=tuple(_structural_hints(instance)),
        )
    x = answer.x[: model.num_cols]
    amounts = answer.x[model.num_cols :]
    relaxations, structural = _translate(compiled, slacks, amounts, x)

    single: list[Relaxation] = []
    blocks_hit = {slacks[i].block for i in np.flatnonzero(amounts > SLACK_TOL)}
    if len(blocks_hit) > 1:
        for block in sorted(blocks_hit, key=lambda b: b.start):
            if time_limit is not None and time.perf_counter() - began > time_limit:
                break
            if interrupt is not None and interrupt.is_set():
                break
            allowed = np.array([s.block == block for s in slacks])
            trial = backend.solve(
                _elastic_model(model, slacks, allowed),
                params,
                time_limit=remaining(),
                interrupt=interrupt,
            )
            if trial.x is None or not trial.status.has_plan:
                continue
            fixes, _ = _translate(
                compiled, slacks, trial.x[model.num_cols :], trial.x[: model.num_cols]
            )
            single += fixes

    if relaxations:
        summary = "No plan meets every limit. The smallest joint relaxation found:"
    else:
        summary = "No plan meets every limit."
    if structural and not relaxations:
        summary = "No plan meets every limit; the conflict is structural:"
    return Explanation(summary, tuple(relaxations), tuple(single), tuple(structural))


def _slack_columns(model: LinearModel) -> list[_Slack]:
    slacks = []
    for block in model.blocks:
        family = block.family.split("[")[0]
        if family not in SOFT_FAMILIES:
            continue
        for row in range(block.start, block.stop):
            if np.isfinite(model.row_upper[row]):
                slacks.append(_Slack(row, "upper", block))
            if np.isfinite(model.row_lower[row]):
                slacks.append(_Slack(row, "lower", block))
    return slacks


def _elastic_model(
    model: LinearModel, slacks: list[_Slack], allowed: np.ndarray | None
) -> LinearModel:
    """The model with a slack column per soft row side; objective: weighted total slack."""
    count = len(slacks)
    rows = np.array([s.row for s in slacks], dtype=np.int64)
    signs = np.array([-1.0 if s.side == "upper" else 1.0 for s in slacks])
    extra = sp.csr_matrix((signs, (rows, np.arange(count))), shape=(model.num_rows, count))
    rhs = np.array(
        [model.row_upper[s.row] if s.side == "upper" else model.row_lower[s.row] for s in slacks]
    )
    # Scale: the limit's size, or the typical coefficient of the row when the limit is 0.
    row_scale = np.asarray(abs(model.matrix).max(axis=1).todense()).ravel()
    scale = np.maximum(1.0, np.maximum(np.abs(rhs), row_scale[rows]))
    upper = np.full(count, np.inf)
    if allowed is not None:
        upper[~allowed] = 0.0
    integer = np.array([s.block.family in COUNT_FAMILIES for s in slacks])
    return LinearModel(
        sense=Sense.MINIMISE,
        objective=np.concatenate((np.zeros(model.num_cols), 1.0 / scale)),
        objective_offset=0.0,
        matrix=sp.hstack((model.matrix, extra), format="csr"),
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_lower=np.concatenate((model.col_lower, np.zeros(count))),
        col_upper=np.concatenate((model.col_upper, upper)),
        integrality=np.concatenate((model.integrality, integer)),
        blocks=model.blocks,
    )


def _translate(
    compiled: CompiledModel, slacks: list[_Slack], amounts: FloatArray, x: FloatArray
) -> tuple[list[Relaxation], list[str]]:
    """Turn positive slacks into relaxations in the user's units."""
    instance = compiled.table.instance
    constraints = instance.constraints
    model = compiled.model
    spend = float(compiled.table.annual_cost[compiled.option_of_column] @ x[: compiled.num_x])
    relaxations: list[Relaxation] = []
    structural: list[str] = []
    for slack, amount in zip(slacks, amounts, strict=True):
        if amount <= SLACK_TOL * max(
            1.0,
            abs(
                model.row_upper[slack.row] if slack.side == "upper" else model.row_lower[slack.row]
            ),
        ):
            continue
        block = slack.block
        family = block.family
        item = block.items[slack.row - block.start] if block.items is not None else None
        if family == "budget":
            relaxations.append(
                Relaxation(
                    "budget", constraints.budget or 0.0, (constraints.budget or 0.0) + amount
                )
            )
        elif family == "transition_budget":
            limit = constraints.transition_budget or 0.0
            relaxations.append(Relaxation("transition_budget", limit, limit + amount))
        elif family == "min_outcome":
            limit = constraints.min_outcome or 0.0
            relaxations.append(Relaxation("min_outcome", limit, limit - amount))
        elif family == "max_changes":
            limit = float(constraints.max_changes or 0)
            relaxations.append(Relaxation("max_changes", limit, limit + math.ceil(amount - 1e-6)))
        elif family == "min_flexibility":
            limit = constraints.min_flexibility or 0.0
            needed = limit - amount / spend if spend > 0 else 0.0
            relaxations.append(Relaxation("min_flexibility", limit, max(0.0, needed)))
        elif family in ("capacity_count", "capacity_spend", "min_services"):
            mode = instance.mode(str(item))
            if family == "capacity_count":
                limit = float(mode.max_services or 0)
                relaxations.append(
                    Relaxation(
                        f"modes.{mode.id}.max_services", limit, limit + math.ceil(amount - 1e-6)
                    )
                )
            elif family == "capacity_spend":
                limit = mode.max_spend or 0.0
                relaxations.append(Relaxation(f"modes.{mode.id}.max_spend", limit, limit + amount))
            else:
                limit = float(mode.min_services or 0)
                relaxations.append(
                    Relaxation(
                        f"modes.{mode.id}.min_services",
                        limit,
                        max(0.0, limit - math.ceil(amount - 1e-6)),
                    )
                )
        elif family.startswith("sector_share"):
            sector = family.split("[")[1].split("]")[0]
            side = family.rsplit(".", 1)[1]
            bound = constraints.sector_share[sector]  # type: ignore[index]
            limit = (bound.max if side == "max" else bound.min) or 0.0
            delta = amount / spend if spend > 0 else 1.0
            needed = min(1.0, limit + delta) if side == "max" else max(0.0, limit - delta)
            relaxations.append(Relaxation(f"sector_share.{sector}.{side}", limit, needed))
        elif family.startswith("limits"):
            index = int(family.split("[")[1].split("]")[0])
            row = constraints.limits[index]
            name = f"limits[{index}] ({row.metric}"
            name += f", mode {row.mode}" if row.mode else ""
            name += f", sector {row.sector}" if row.sector else ""
            name += ")"
            if slack.side == "upper":
                limit = row.max or 0.0
                relaxations.append(Relaxation(f"{name}.max", limit, limit + amount))
            else:
                limit = row.min or 0.0
                relaxations.append(Relaxation(f"{name}.min", limit, limit - amount))
        elif family == "same_mode":
            text = str(item)
            index = int(text.split(":")[0])
            bundle = constraints.same_mode[index]
            message = f"same_mode[{index}] ({', '.join(bundle)}) cannot be met"
            if message not in structural:
                structural.append(message + ": the services share no usable mode")
    return _merge(relaxations), structural


def _merge(relaxations: list[Relaxation]) -> list[Relaxation]:
    """One relaxation per constraint (rows of one family may appear twice)."""
    merged: dict[str, Relaxation] = {}
    for relaxation in relaxations:
        merged.setdefault(relaxation.constraint, relaxation)
    return list(merged.values())


def _structural_hints(instance: Instance) -> list[str]:
    """Plain-language structural conflicts found by inspection."""
    hints = []
    options_of = {s.id: {o.mode for o in s.options} for s in instance.services}
    for index, bundle in enumerate(instance.constraints.same_mode):
        fixed = {instance.constraints.fixed.get(sid) for sid in bundle} - {None}
        shared = set.intersection(*(options_of[sid] for sid in bundle))
        if fixed:
            shared &= {str(mode) for mode in fixed}
        if not shared:
            hints.append(f"same_mode[{index}] ({', '.join(bundle)}): the services share no mode")
    return hints
