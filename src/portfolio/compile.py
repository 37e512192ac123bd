"""Compile an instance into a solver-neutral :class:`~portfolio.linear.LinearModel`.

The instance is first turned into columnar arrays (:class:`~portfolio.table.OptionTable`, one
entry per option) and its columns into a one-year :class:`~portfolio.kernels.Columns` table; the
constraint families every horizon shares are the kernels of :mod:`portfolio.kernels`, the ones
only this model has (``choice``, ``min_services``, ``linking``) are the functions ``_add_<family>``
here. Each returns a block of rows in coordinate form; the blocks are stacked into one CSR matrix.
The same maths, family by family, is written in ``models/single_period.md``.

Columns: ``x_o`` (binary) for every option that can be chosen, then ``y_m`` (binary) for every mode
with a setup cost or a ``min_services``. Options that can never be chosen are not given a column:
ceasing options of statutory services, options outside a ``fixed`` mode, and options that alone
break a nonnegative knapsack row (budget, transition budget, max changes, ``max`` limits) whatever
the other services choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from portfolio.decisions import Decisions, investments_of
from portfolio.domain import Instance
from portfolio.kernels import (
    Columns,
    Labels,
    Rows,
    assemble,
    capacity,
    limits,
    max_modes_used,
    objective,
    same_mode,
    sector_share,
    totals,
)
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, Sense
from portfolio.table import OptionTable

__all__ = ["AGGREGATE_FAMILIES", "CompiledModel", "OptionTable", "compile_instance"]

INF = np.inf


# ---------------------------------------------------------------------- compiled model
@dataclass(frozen=True)
class CompiledModel:
    """A LinearModel and the maps back to the instance.

    Attributes:
        model: the linear model.
        table: the columnar instance.
        option_of_column: for each x column, the option (index into ``table``) it stands for.
        mode_of_y: for each y column (after the x columns), the mode index it stands for.
        removed: number of options given no column, by reason.
        mode_of_w: for each w column (after the y columns), the mode index it stands for
            (``max_modes_used`` only).
        num_investments: number of investment columns (after the w columns).
    """

    model: LinearModel
    table: OptionTable
    option_of_column: IntArray
    mode_of_y: IntArray
    removed: dict[str, int]
    mode_of_w: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    num_investments: int = 0

    @property
    def w_offset(self) -> int:
        """Column of the first in-use indicator w_m counted by ``max_modes_used``."""
        return self.num_x + int(self.mode_of_y.shape[0])

    @property
    def invest_offset(self) -> int:
        """Column of the first investment column i_j (one per investment, in file order)."""
        return self.w_offset + int(self.mode_of_w.shape[0])

    @property
    def num_x(self) -> int:
        """Number of option columns."""
        return int(self.option_of_column.shape[0])

    def decode(self, x: FloatArray) -> list[int]:
        """Chosen option position (within each service's list) from column values.

        For each service the option column with the largest value is taken; the verifier then
        checks the plan, so a fractional or inconsistent vector cannot pass unnoticed.
        """
        table = self.table
        values = np.asarray(x[: self.num_x], dtype=np.float64)
        services = table.service[self.option_of_column]
        # Sort columns by (service, -value): the first of each service is its choice.
        order = np.lexsort((-values, services))
        firsts = order[np.r_[True, services[order][1:] != services[order][:-1]]]
        chosen = np.full(table.num_services, -1, dtype=np.int64)
        chosen[services[firsts]] = table.position[self.option_of_column[firsts]]
        made = np.flatnonzero(
            np.asarray(x[self.invest_offset : self.invest_offset + self.num_investments]) > 0.5
        )
        investments = table.instance.investments
        return Decisions(
            (int(v) for v in chosen), {investments[j].id: 0 for j in made.tolist()}
        )

    def encode(self, positions: Sequence[int]) -> FloatArray:
        """Column values for a plan given as option positions (raises if one has no column) and
        the investments it makes (:func:`~portfolio.decisions.investments_of`)."""
        table = self.table
        wanted = table.first_option[:-1] + np.asarray(positions, dtype=np.int64)
        x = np.zeros(self.model.num_cols, dtype=np.float64)
        column_of_option = np.full(table.num_options, -1, dtype=np.int64)
        column_of_option[self.option_of_column] = np.arange(self.num_x)
        columns = column_of_option[wanted]
        if (columns < 0).any():
            raise ValueError("the plan uses an option that has no column")
        x[columns] = 1.0
        used = np.zeros(len(table.mode_ids), dtype=np.bool_)
        used[table.mode[wanted]] = True
        if self.mode_of_y.size:
            x[self.num_x : self.w_offset] = used[self.mode_of_y].astype(np.float64)
        x[self.w_offset : self.invest_offset] = used[self.mode_of_w].astype(np.float64)
        made = investments_of(positions)
        for j, investment in enumerate(table.instance.investments):
            x[self.invest_offset + j] = float(investment.id in made)
        return x


# ---------------------------------------------------------------------- columns
def single_period_columns(
    table: OptionTable,
    options: IntArray,
    y_modes: IntArray,
    w_modes: IntArray | None = None,
    investments: int = 0,
) -> Columns:
    """The one-year column table: option column j is the activity of ``options[j]`` in year 0
    (and a change where its mode is not the current one); each y column is its mode's setup;
    then the in-use indicators ``w_modes`` of ``max_modes_used`` and one column per investment
    (made in year 0)."""
    num_x = int(options.shape[0])
    changed = np.flatnonzero(table.changes[options] != 0)
    none = np.zeros(0, dtype=np.int64)
    w_modes = none if w_modes is None else w_modes
    w_offset = num_x + int(y_modes.shape[0])
    invest_offset = w_offset + int(w_modes.shape[0])
    return Columns(
        table=table,
        num_cols=invest_offset + investments,
        act_col=np.arange(num_x, dtype=np.int64),
        act_option=options,
        act_year=np.zeros(num_x, dtype=np.int64),
        change_col=changed,
        change_option=options[changed],
        change_year=np.zeros(changed.shape[0], dtype=np.int64),
        fee_col=none,
        fee_year=none,
        fee_value=np.zeros(0),
        setup_col=num_x + np.arange(y_modes.shape[0], dtype=np.int64),
        setup_mode=y_modes,
        setup_year=np.zeros(y_modes.shape[0], dtype=np.int64),
        discount=np.ones(1),
        year_labels=None,
        paid_terms=frozenset({"transition_cost", "setup_cost"}),
        mix_col=w_offset + np.arange(w_modes.shape[0], dtype=np.int64),
        mix_mode=w_modes,
        mix_year=np.zeros(w_modes.shape[0], dtype=np.int64),
        invest_col=invest_offset + np.arange(investments, dtype=np.int64),
        invest_index=np.arange(investments, dtype=np.int64),
        invest_year=np.zeros(investments, dtype=np.int64),
    )


# ---------------------------------------------------------------------- single-period rows
def _add_choice(c: Columns) -> Rows:
    """choice: sum_{o in O(s)} x_o = 1 for every service s."""
    services = c.act_service
    n = c.table.num_services
    num_x = int(services.shape[0])
    return Rows(
        "choice",
        services,
        c.act_col,
        np.ones(num_x),
        np.ones(n),
        np.ones(n),
        c.table.service_ids,
    )


def _add_min_services(c: Columns) -> Rows | None:
    """min_services[m]: sum_{o in m} x_o - min_services_m y_m >= 0."""
    table = c.table
    wanted = table.min_services[c.setup_mode] > 0
    modes = c.setup_mode[wanted]
    if not modes.shape[0]:
        return None
    row_of_mode = np.full(table.num_modes, -1, dtype=np.int64)
    row_of_mode[modes] = np.arange(modes.shape[0])
    rows_x = row_of_mode[c.act_mode]
    cols_x = np.flatnonzero(rows_x >= 0)
    minimum = table.min_services[modes].astype(np.float64)
    return Rows(
        "min_services",
        np.concatenate((rows_x[cols_x], np.arange(modes.shape[0]))),
        np.concatenate((c.act_col[cols_x], c.setup_col[wanted])),
        np.concatenate((np.ones(cols_x.shape[0]), -minimum)),
        np.zeros(modes.shape[0]),
        np.full(modes.shape[0], INF),
        tuple(table.mode_ids[m] for m in modes.tolist()),
    )


def _add_linking(c: Columns) -> Rows | None:
    """linking[o]: x_o - y_m(o) <= 0 for every option whose mode has a y column (disaggregated)."""
    table = c.table
    if not c.setup_mode.shape[0]:
        return None
    y_of_mode = np.full(table.num_modes, -1, dtype=np.int64)
    y_of_mode[c.setup_mode] = c.setup_col
    y_cols = y_of_mode[c.act_mode]
    linked = np.flatnonzero(y_cols >= 0)
    count = linked.shape[0]
    rows = np.arange(count, dtype=np.int64)
    options = c.act_option[linked]
    return Rows(
        "linking",
        np.concatenate((rows, rows)),
        np.concatenate((c.act_col[linked], y_cols[linked])),
        np.concatenate((np.ones(count), -np.ones(count))),
        np.full(count, -INF),
        np.zeros(count),
        Labels(count, lambda i: table.option_label(int(options[i]))),
    )


# ---------------------------------------------------------------------- reductions
def _allowed_options(table: OptionTable) -> tuple[BoolArray, dict[str, int]]:
    """Options that can be chosen at all, and how many were removed by each reduction."""
    instance = table.instance
    removed: dict[str, int] = {}
    statutory_cease, off_fixed = table.red_lines()
    removed["statutory"] = int(statutory_cease.sum())
    allowed = ~statutory_cease
    removed["fixed"] = int((off_fixed & allowed).sum())
    allowed &= ~off_fixed

    constraints = instance.constraints
    knapsacks: list[tuple[FloatArray, float]] = []
    if constraints.budget is not None:
        # Effects' savings lower the spend counted: the row has room for all of them at most.
        savings = sum(effect.saving for effect in instance.effects)
        knapsacks.append((table.annual_cost, constraints.budget + savings))
    if constraints.max_changes is not None:
        knapsacks.append((table.changes, float(constraints.max_changes)))
    if constraints.transition_budget is not None:
        knapsacks.append((table.transition_cost * table.changes, constraints.transition_budget))
    for limit in constraints.limits:
        if limit.max is None:
            continue
        figure = table.figure(limit.metric)[:, 0]
        if limit.metric == "transition_cost":
            figure = figure * table.changes  # paid only on a change of mode
        coef = np.where(table.mode_mask(limit.mode, limit.sector), figure, 0.0)
        if (coef >= 0).all():
            knapsacks.append((coef, limit.max))
    before = int(allowed.sum())
    for coef, room in knapsacks:
        allowed = _knapsack_reduce(table, allowed, coef, room)
    removed["knapsack"] = before - int(allowed.sum())
    return allowed, {k: v for k, v in removed.items() if v}


def _knapsack_reduce(
    table: OptionTable, allowed: BoolArray, coef: FloatArray, capacity: float
) -> BoolArray:
    """Drop options o with coef_o - min_{s(o)} + sum_s min_s > capacity (nonnegative coef).

    A service whose every option would go keeps them all: the solver then proves infeasibility.
    """
    masked = np.where(allowed, coef, INF)
    min_per_service = np.minimum.reduceat(masked, table.first_option[:-1])
    if not np.isfinite(min_per_service).all():
        return allowed
    total_min = float(min_per_service.sum())
    slack = capacity - total_min
    tolerance = 1e-9 * max(1.0, abs(capacity))
    excess = coef - min_per_service[table.service]
    keep = allowed & (excess <= slack + tolerance)
    alive = np.add.reduceat(keep.astype(np.int64), table.first_option[:-1])
    dead_services = alive == 0
    if dead_services.any():
        keep |= allowed & dead_services[table.service]
    return keep


# ---------------------------------------------------------------------- compile
def compile_instance(instance: Instance, *, reduce: bool = True) -> CompiledModel:
    """Compile an instance into a LinearModel and the maps back to the instance.

    Args:
        instance: a validated instance.
        reduce: drop options that can never be chosen (statutory ceasing and ``fixed`` options are
            always dropped: they are constraints; the knapsack reduction only when True).
    """
    table = OptionTable.from_instance(instance)
    if reduce:
        allowed, removed = _allowed_options(table)
    else:
        allowed, removed = _structural_only(table)
    options = np.flatnonzero(allowed)

    used_modes = np.unique(table.mode[options])
    wanted = (table.setup[used_modes] > 0) | (table.min_services[used_modes] > 0)
    y_modes = used_modes[wanted].astype(np.int64)
    constraints = instance.constraints
    w_modes = _counted_modes(table, used_modes)
    columns = single_period_columns(
        table, options, y_modes, w_modes, len(instance.investments)
    )
    num_x = int(options.shape[0])

    blocks: list[Rows | None] = [_add_choice(columns)]
    blocks += totals(columns, constraints)
    if constraints.max_modes_used is not None:
        blocks += max_modes_used(columns, constraints.max_modes_used)
    blocks += capacity(columns)
    blocks.append(_add_min_services(columns))
    blocks += sector_share(columns)
    blocks.append(same_mode(columns, columns.act_service, columns.act_mode))
    blocks += limits(columns)
    blocks.append(_add_linking(columns))
    sense, coef = objective(columns)
    model = assemble([b for b in blocks if b is not None], columns.num_cols, sense, coef)
    if reduce:
        dominated = _dominated_columns(model, table, options)
        if dominated.any():
            removed["dominated"] = int(dominated.sum())
            model = _drop_columns(model, dominated)
            options = options[~dominated[:num_x]]
    return CompiledModel(
        model, table, options, y_modes, removed, w_modes, len(instance.investments)
    )


def _counted_modes(table: OptionTable, used_modes: IntArray) -> IntArray:
    """The modes ``max_modes_used`` counts (an in-use column w_m each): those some option
    column uses, that do not cease a service; none when the instance has no such cap."""
    if table.instance.constraints.max_modes_used is None:
        return np.zeros(0, dtype=np.int64)
    ceases = np.array([m.ceases_service for m in table.instance.modes], dtype=np.bool_)
    return np.asarray(used_modes[~ceases[used_modes]], dtype=np.int64)


#: Row families that may differ between two options of one service in one mode. Every other
#: family (choice, capacity_count, min_services, same_mode, linking) treats such options alike.
AGGREGATE_FAMILIES = (
    "budget",
    "transition_budget",
    "min_outcome",
    "min_flexibility",
    "max_changes",
    "capacity_spend",
    "sector_share",
    "limits",
)


def _dominated_columns(model: LinearModel, table: OptionTable, options: IntArray) -> BoolArray:
    """Option columns dominated by another option of the same service in the same mode.

    Column j dominates column k when both serve the same service in the same mode (so every
    structural row treats them alike) and j is at least as good in every aggregate row (no more
    on a ``<=`` row, no less on a ``>=`` row, equal on a two-sided row) and in the objective.
    Any plan using k stays feasible and no worse with j instead, so k can go. Among identical
    columns the first is kept, which makes the relation a strict order: a best option of every
    (service, mode) always remains.
    """
    num_x = int(options.shape[0])
    dominated = np.zeros(model.num_cols, dtype=np.bool_)
    rows = np.concatenate(
        [
            np.arange(block.start, block.stop)
            for block in model.blocks
            if block.kind in AGGREGATE_FAMILIES
        ]
        or [np.zeros(0, dtype=np.int64)]
    )
    # Scores oriented so that larger is better; two-sided rows appear twice (equality needed).
    sub = model.matrix[rows].toarray()[:, :num_x] if rows.size else np.zeros((0, num_x))
    lower_finite = np.isfinite(model.row_lower[rows])
    upper_finite = np.isfinite(model.row_upper[rows])
    sign = 1.0 if model.sense is Sense.MAXIMISE else -1.0
    scores = np.vstack(
        (
            sign * model.objective[:num_x],
            sub[lower_finite],
            -sub[upper_finite],
        )
    )
    key = table.service[options] * len(table.mode_ids) + table.mode[options]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sizes = np.diff(np.r_[starts, num_x])
    for size in np.unique(sizes[sizes > 1]).tolist():
        groups = order[starts[sizes == size][:, None] + np.arange(size)]  # (groups, size), by index
        values = scores[:, groups]  # (scores, groups, size)
        at_least = (values[:, :, :, None] >= values[:, :, None, :]).all(axis=0)  # [g, j, k]
        # j beats k somewhere exactly when k is not at least as good as j everywhere (the
        # scores are finite).
        strictly = ~np.swapaxes(at_least, 1, 2)
        earlier = np.arange(size)[:, None] < np.arange(size)[None, :]  # j before k
        beats = at_least & (strictly | earlier)
        beats &= ~np.eye(size, dtype=np.bool_)
        dominated[groups[beats.any(axis=1)]] = True
    return dominated


def _drop_columns(model: LinearModel, drop: BoolArray) -> LinearModel:
    """The model without the given columns (rows are kept)."""
    keep = np.flatnonzero(~drop)
    return replace(
        model,
        objective=model.objective[keep],
        matrix=model.matrix[:, keep].tocsr(),
        col_lower=model.col_lower[keep],
        col_upper=model.col_upper[keep],
        integrality=model.integrality[keep],
    )


def _structural_only(table: OptionTable) -> tuple[BoolArray, dict[str, int]]:
    return table.allowed_options(), {}
