"""Explain infeasibility: which limits conflict, by how much they must move, and in which year.

One elastic model serves every horizon. Every limit row (budget, transition budget, outcome
floor, flexibility, max changes, capacity, min_services, sector shares, ``limits`` rows and, in a
single period, bundles) gets a slack column, while the structure (one option per service, or one
path per service through the years, linking, lock-ins, lead times, red lines) stays hard. The
objective minimises the total slack, each slack divided by the size of its limit so that moving a
budget of 90,000 by 900 weighs the same as moving max_changes from 4 by 0.04. The slacks of the
optimum are the smallest joint relaxation; each is translated back into the user's terms
("budget must rise by 1,240", "budget@2029 must rise by ..."). A row is told apart by its
:class:`~portfolio.linear.RowBlock` (``kind``, ``key``, ``side``) and, for rows per mode or per
year, by its label.

:func:`explain_infeasibility` (one period) then tries every conflicting limit alone: if relaxing
only that limit restores feasibility, the amount is reported as a single fix.
:func:`explain_multi_year` solves the elastic model to a 0.1% gap, for at most
:data:`MAX_SECONDS` (it may be hard: many near-equal relaxations).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portfolio.backends import Backend, lp_backend
from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance, value_in_year
from portfolio.linear import FloatArray, LinearModel, RowBlock, Sense
from portfolio.multiyear.compile import MultiYearModel
from portfolio.params import SolveParams
from portfolio.result import Explanation, Relaxation

#: Kinds of rows that may be relaxed; everything else is structure.
SOFT_KINDS = (
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
#: Kinds that stay hard over a horizon: a bundle that cannot be met is structure there.
HARD_OVER_A_HORIZON = ("same_mode",)
#: Kinds counted in whole services: their slacks are integers.
COUNT_KINDS = ("max_changes", "capacity_count", "min_services")
SLACK_TOL = 1e-6
#: The multi-year elastic MIP may be hard (many near-equal relaxations): it gets at most this long.
MAX_SECONDS = 15.0


@dataclass(frozen=True)
class _Slack:
    """One side of one soft row that may move."""

    row: int
    side: str  # "upper" (the row may exceed its upper bound) or "lower"
    block: RowBlock
    key: str | int | None  # the block's key (a sector, the position of a limits row)
    bound_side: str | None  # the block's side: "upper" or "lower" for sector shares


@dataclass(frozen=True)
class _Rows:
    """What the translation needs to know about a compiled model, whatever its horizon.

    Attributes:
        instance: the instance.
        model: its linear model.
        start_year: calendar year of horizon year 0; None for a single period (names carry no
            year).
        spend: the annual spend of a 0-based year at a solution of the model.
        bundle_of_row: the position in ``same_mode`` of the bundle a row belongs to.
    """

    instance: Instance
    model: LinearModel
    start_year: int | None
    spend: Callable[[FloatArray, int], float]
    bundle_of_row: Callable[[int], int | None]


def explain_infeasibility(
    instance: Instance,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
) -> Explanation:
    """Say what must give for an infeasible single-period instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solves (the explanation is then partial).
    """
    began = time.perf_counter()
    compiled = compile_instance(instance, reduce=False)
    model = compiled.model
    slacks = _slack_columns(model, instance, SOFT_KINDS)
    if not slacks:
        return Explanation(
            summary="No plan exists, and no limit can be relaxed to fix it: "
            "the services' options, red lines and bundles leave no choice.",
            structural=tuple(_structural_hints(instance)),
        )
    backend = lp_backend()
    if backend is None:
        return Explanation("No plan meets every limit (install highspy for details).")
    params = SolveParams(rel_gap=1e-6)

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return max(0.5, time_limit - (time.perf_counter() - began))

    rows = _single_period_rows(compiled)
    answer = _solve_elastic(backend, model, slacks, None, params, remaining(), interrupt)
    if answer is None:
        return Explanation(
            summary="No plan exists even with every limit relaxed: the conflict is structural.",
            structural=tuple(_structural_hints(instance)),
        )
    x, amounts = answer
    relaxations, structural = _translate(rows, slacks, amounts, x)

    single: list[Relaxation] = []
    blocks_hit = {slacks[i].block for i in np.flatnonzero(amounts > SLACK_TOL)}
    if len(blocks_hit) > 1:
        for block in sorted(blocks_hit, key=lambda b: b.start):
            if time_limit is not None and time.perf_counter() - began > time_limit:
                break
            if interrupt is not None and interrupt.is_set():
                break
            allowed = np.array([s.block == block for s in slacks])
            trial = _solve_elastic(backend, model, slacks, allowed, params, remaining(), interrupt)
            if trial is not None:
                single += _translate(rows, slacks, trial[1], trial[0])[0]

    if relaxations:
        summary = "No plan meets every limit. The smallest joint relaxation found:"
    else:
        summary = "No plan meets every limit."
    if structural and not relaxations:
        summary = "No plan meets every limit; the conflict is structural:"
    return Explanation(summary, tuple(relaxations), tuple(single), tuple(structural))


def explain_multi_year(
    compiled: MultiYearModel,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
) -> Explanation:
    """Say what must give for an infeasible multi-year instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solve.
    """
    began = time.perf_counter()
    model = compiled.model
    instance = compiled.table.instance
    soft = tuple(kind for kind in SOFT_KINDS if kind not in HARD_OVER_A_HORIZON)
    slacks = _slack_columns(model, instance, soft)
    stranded = _stranded_services(compiled)
    if stranded:
        return Explanation(
            "No plan exists: some services have no arrangement for every year.",
            structural=tuple(stranded),
        )
    structural = "the lock-ins, lead times, red lines and bundles leave no plan whatever the limits"
    if not slacks:
        return Explanation("No plan exists; no yearly limit is set.", structural=(structural,))
    backend = lp_backend()
    if backend is None:
        return Explanation("No plan meets every yearly limit (install highspy for details).")
    remaining = MAX_SECONDS
    if time_limit is not None:
        remaining = min(remaining, max(0.5, time_limit - (time.perf_counter() - began)))
    params = SolveParams(rel_gap=1e-3)
    answer = _solve_elastic(backend, model, slacks, None, params, remaining, interrupt)
    if answer is None:
        return Explanation(
            "No plan exists even with every yearly limit relaxed.", structural=(structural,)
        )
    x, amounts = answer
    relaxations, _ = _translate(_multi_year_rows(compiled), slacks, amounts, x)
    if not relaxations:
        return Explanation("No plan meets every yearly limit.")
    return Explanation(
        "No plan meets every yearly limit. The smallest joint relaxation found:",
        tuple(relaxations),
    )


# ---------------------------------------------------------------------- the elastic model
def _slack_columns(model: LinearModel, instance: Instance, soft: Sequence[str]) -> list[_Slack]:
    """A slack for every finite bound of every row of a soft kind."""
    slacks = []
    for block in model.blocks:
        if block.kind not in soft:
            continue
        key, side = block.key, block.side
        for row in range(block.start, block.stop):
            if np.isfinite(model.row_upper[row]):
                slacks.append(_Slack(row, "upper", block, key, side))
            if np.isfinite(model.row_lower[row]):
                slacks.append(_Slack(row, "lower", block, key, side))
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
    integer = np.array([s.block.kind in COUNT_KINDS for s in slacks])
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


def _solve_elastic(
    backend: Backend,
    model: LinearModel,
    slacks: list[_Slack],
    allowed: np.ndarray | None,
    params: SolveParams,
    time_limit: float | None,
    interrupt: threading.Event | None,
) -> tuple[FloatArray, FloatArray] | None:
    """The elastic model's solution: (the model's columns, the slacks), or None without one."""
    answer = backend.solve(
        _elastic_model(model, slacks, allowed), params, time_limit=time_limit, interrupt=interrupt
    )
    if answer.x is None or not answer.status.has_plan:
        return None
    return answer.x[: model.num_cols], answer.x[model.num_cols :]


# ---------------------------------------------------------------------- the user's terms
def _single_period_rows(compiled: CompiledModel) -> _Rows:
    """The rows of a single-period model: one year, rows per mode labelled by the mode."""
    table = compiled.table
    option_cost = table.annual_cost[compiled.option_of_column]
    model = compiled.model
    bundles = table.instance.constraints.same_mode

    def spend(x: FloatArray, year: int) -> float:
        return float(option_cost @ x[: compiled.num_x])

    def bundle_of_row(row: int) -> int | None:
        cols = model.matrix.indices[model.matrix.indptr[row] : model.matrix.indptr[row + 1]]
        options = compiled.option_of_column[cols[cols < compiled.num_x]]
        services = {table.service_ids[s] for s in table.service[options].tolist()}
        return next((b for b, bundle in enumerate(bundles) if services <= set(bundle)), None)

    return _Rows(table.instance, model, None, spend, bundle_of_row)


def _multi_year_rows(compiled: MultiYearModel) -> _Rows:
    """The rows of a multi-year model: rows per year labelled ``year`` or ``mode@year``."""
    layout = compiled.layout
    cost = layout.act_figure("annual_cost")
    instance = compiled.table.instance
    assert instance.horizon is not None

    def spend(x: FloatArray, year: int) -> float:
        in_year = np.flatnonzero(layout.act_year == year)
        return float(cost[in_year] @ x[layout.act_offset + in_year])

    return _Rows(instance, compiled.model, instance.horizon.start_year, spend, lambda row: None)


def _translate(
    rows: _Rows, slacks: list[_Slack], amounts: FloatArray, x: FloatArray
) -> tuple[list[Relaxation], list[str]]:
    """Turn positive slacks into relaxations in the user's units (and bundles into words)."""
    model = rows.model
    relaxations: list[Relaxation] = []
    structural: list[str] = []
    for slack, amount in zip(slacks, amounts, strict=True):
        bound = float(
            model.row_upper[slack.row] if slack.side == "upper" else model.row_lower[slack.row]
        )
        if amount <= SLACK_TOL * max(1.0, abs(bound)):
            continue
        if slack.block.kind == "same_mode":
            index = rows.bundle_of_row(slack.row)
            if index is None:
                continue
            bundle = rows.instance.constraints.same_mode[index]
            message = f"same_mode[{index}] ({', '.join(bundle)}) cannot be met"
            message += ": the services share no usable mode"
            if message not in structural:
                structural.append(message)
            continue
        relaxations.append(_relaxation(rows, slack, float(amount), bound, x))
    merged: dict[str, Relaxation] = {}
    for relaxation in relaxations:  # one per limit: rows of one limit may appear twice
        merged.setdefault(relaxation.constraint, relaxation)
    return list(merged.values()), structural


def _relaxation(
    rows: _Rows, slack: _Slack, amount: float, bound: float, x: FloatArray
) -> Relaxation:
    """One positive slack in the user's terms: the limit as written, its year, the move.

    Single-period names are the file's (``budget``, ``modes.voluntary.max_spend``,
    ``sector_share.private.max``, ``limits[0] (carbon_t).max``); multi-year names add the year
    (``budget@2029``, ``capacity_spend[voluntary]@2029``, ``sector_share[private].max@2029``).
    """
    block = slack.block
    kind = block.kind
    label = str(block.items[slack.row - block.start]) if block.items is not None else ""
    mode, year, where = label, 0, ""
    if rows.start_year is not None:  # rows per year: "2029", or "voluntary@2029" per mode
        mode, _, calendar = label.rpartition("@")
        year, where = int(calendar) - rows.start_year, f"@{calendar}"
    constraints = rows.instance.constraints
    if kind in COUNT_KINDS:
        amount = float(math.ceil(amount - 1e-6))
    if kind in ("min_flexibility", "sector_share"):
        # Rows of the form sum c (f - floor) >= 0: move the share or floor by amount / spend.
        spend = rows.spend(x, year)
        delta = amount / spend if spend > 0 else 1.0
        if kind == "min_flexibility":
            name = f"min_flexibility{where}"
            limit = value_in_year(constraints.min_flexibility, year) or 0.0
            needed = limit - delta
        else:
            sector = str(slack.key)
            word = "max" if slack.bound_side == "upper" else "min"
            share = constraints.sector_share[sector]  # type: ignore[index]
            limit = value_in_year(share.max if word == "max" else share.min, year) or 0.0
            needed = limit + delta if word == "max" else limit - delta
            name = (
                f"sector_share.{sector}.{word}"
                if rows.start_year is None
                else f"sector_share[{sector}].{word}{where}"
            )
        needed = min(1.0, max(0.0, needed))
        return Relaxation(name, limit, 0.0 if needed < 1e-12 else needed)
    if kind == "min_services":
        limit = float(rows.instance.mode(mode).min_services or 0)
        name = f"modes.{mode}.min_services" if not where else f"min_services[{mode}]{where}"
        return Relaxation(name, limit, max(0.0, limit - amount))
    if kind in ("capacity_count", "capacity_spend"):
        field = "max_services" if kind == "capacity_count" else "max_spend"
        name = f"modes.{mode}.{field}" if not where else f"{kind}[{mode}]{where}"
    elif kind == "limits":
        name = f"limits[{slack.key}]{where}"
        if not where:
            row = constraints.limits[int(slack.key or 0)]
            name += f" ({row.metric}"
            name += f", mode {row.mode}" if row.mode else ""
            name += f", sector {row.sector}" if row.sector else ""
            name += ").max" if slack.side == "upper" else ").min"
    else:  # budget, transition_budget, min_outcome, max_changes
        name = f"{kind}{where}"
    if slack.side == "upper":
        return Relaxation(name, bound, bound + amount)
    return Relaxation(name, bound, bound - amount)


# ---------------------------------------------------------------------- structure
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


def _stranded_services(compiled: MultiYearModel) -> list[str]:
    """Services with no path through the horizon at all (every arc pruned), in words."""
    table = compiled.table
    arcs_per_service = np.bincount(compiled.layout.arcs.service, minlength=table.num_services)
    return [
        f"service '{table.service_ids[s]}': no sequence of contracts covers every year "
        "(lead times, the existing contract or red lines leave a year with no option)"
        for s in np.flatnonzero(arcs_per_service == 0).tolist()
    ]
