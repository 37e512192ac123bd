"""Row kernels shared by every horizon: one function per constraint family.

Both compilers (:mod:`portfolio.compile`, one period, and :mod:`portfolio.multiyear.compile`)
describe their columns as a :class:`Columns` table that carries a years axis, and call the kernels
here for every family whose rows are the same sums over it: budget, transition budget, outcome
and flexibility floors, change limits, mode capacity, sector shares, bundles (``same_mode``), the
user's ``limits`` and the objective. The single-period model is the one-year case: every column
is in year 0, the discount factor is 1, and the rows carry no year label. The maths, family by
family, is written in ``models/single_period.md`` and ``models/multi_year.md``.

Each kernel returns :class:`Rows` in coordinate form (row numbers local to the block);
:func:`assemble` stacks them into one CSR matrix with a :class:`~portfolio.linear.RowBlock` per
block, whose ``kind``, ``key`` and ``side`` say which limit its rows are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

import numpy as np
import scipy.sparse as sp

from portfolio.domain import SECTORS, Constraints, WeightedObjective, value_in_year
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, RowBlock, Sense
from portfolio.table import OptionTable

INF = np.inf


# ---------------------------------------------------------------------- row blocks
@dataclass
class Rows:
    """Rows of one family in coordinate form (row numbers local to the block).

    Attributes:
        family: the block's name as shown in results (e.g. ``sector_share[private].max``).
        rows, cols, vals: the entries.
        lower, upper: row bounds (one per row).
        items: one label per row, or ``None`` for a single unlabelled row.
        kind: the constraint family alone (``sector_share``); left out, the family, for the
            families that are not indexed (``budget``, ``capacity_count``, ``flow``...).
        key: what the block is indexed by (a sector, the position of a ``limits`` row), if any.
        side: ``"upper"`` or ``"lower"`` for a family bounded both ways in separate blocks.
    """

    family: str
    rows: IntArray
    cols: IntArray
    vals: FloatArray
    lower: FloatArray
    upper: FloatArray
    items: Sequence[str] | None = None
    kind: str = field(default="", kw_only=True)
    key: str | int | None = field(default=None, kw_only=True)
    side: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = self.family


def assemble(blocks: list[Rows], num_cols: int, sense: Sense, objective: FloatArray) -> LinearModel:
    """Stack the family blocks into one CSR matrix with row bounds and named row blocks.

    Every column is binary (bounds 0 and 1, integral).
    """
    offsets = np.cumsum([0] + [b.lower.shape[0] for b in blocks])
    num_rows = int(offsets[-1])
    matrix = _stacked_csr(blocks, offsets, num_rows, num_cols)
    row_blocks = tuple(
        RowBlock(
            b.family,
            int(off),
            int(off) + b.lower.shape[0],
            b.items,
            kind=b.kind,
            key=b.key,
            side=b.side,
        )
        for b, off in zip(blocks, offsets, strict=False)
    )
    model = LinearModel(
        sense=sense,
        objective=np.asarray(objective, dtype=np.float64),
        objective_offset=0.0,
        matrix=matrix,
        row_lower=np.concatenate([b.lower for b in blocks]).astype(np.float64),
        row_upper=np.concatenate([b.upper for b in blocks]).astype(np.float64),
        col_lower=np.zeros(num_cols),
        col_upper=np.ones(num_cols),
        integrality=np.ones(num_cols, dtype=np.bool_),
        blocks=row_blocks,
    )
    model.validate_shapes()
    return model


def _stacked_csr(
    blocks: list[Rows], offsets: IntArray, num_rows: int, num_cols: int
) -> sp.csr_matrix:
    """The blocks' entries as one canonical CSR matrix (duplicates summed, zeros dropped,
    column indices sorted in each row).

    The entries are written once into arrays of the matrix's own index type, each block's in
    (row, column) order (sorted when a kernel lists them otherwise). With no (row, column) pair
    given twice, the CSR arrays are those arrays themselves; otherwise scipy sums them. Both
    give the same matrix.
    """
    total = sum(b.vals.shape[0] for b in blocks)
    small = max(num_rows, num_cols, total) < np.iinfo(np.int32).max
    index = np.int32 if small else np.int64
    rows = np.empty(total, dtype=index)
    cols = np.empty(total, dtype=index)
    vals = np.empty(total, dtype=np.float64)
    at = 0
    for block, offset in zip(blocks, offsets, strict=False):
        end = at + block.vals.shape[0]
        local, where, value = block.rows, block.cols, block.vals
        if local.size > 1 and not _row_major(local, where):
            order = np.lexsort((where, local))
            local, where, value = local[order], where[order], value[order]
        np.add(local, int(offset), out=rows[at:end], casting="unsafe")
        cols[at:end] = where
        vals[at:end] = value
        at = end
    if not vals.all():
        keep = vals != 0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    if not _row_major(rows, cols):  # a (row, column) pair given twice: scipy sums them
        matrix = sp.csr_matrix(
            (vals, (rows, cols)), shape=(num_rows, num_cols), dtype=np.float64
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return matrix
    indptr = np.zeros(num_rows + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    matrix = sp.csr_matrix((vals, cols, indptr), shape=(num_rows, num_cols))
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return matrix


def _row_major(rows: IntArray, cols: IntArray) -> bool:
    """The entries are in strictly increasing (row, column) order."""
    if rows.size < 2:
        return True
    return bool(
        np.all((rows[1:] > rows[:-1]) | ((rows[1:] == rows[:-1]) & (cols[1:] > cols[:-1])))
    )


class Labels(Sequence[str]):
    """Row labels built on demand from a function of the row number."""

    def __init__(self, count: int, label: Callable[[int], str]) -> None:
        self._count = count
        self._label = label

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return self._label(index % self._count)

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


def yearly_bounds(value: object, years: int, side: str) -> FloatArray:
    """One bound per year from a yearly field (``side`` is "upper" or "lower"; None: no bound).

    A number is the same every year; a list gives one value per year.
    """
    if value is None:
        return np.full(years, INF if side == "upper" else -INF)
    return np.array([value_in_year(value, t) for t in range(years)], dtype=np.float64)  # type: ignore[arg-type]


def _none() -> IntArray:
    return np.zeros(0, dtype=np.int64)


# ---------------------------------------------------------------------- the column table
@dataclass(frozen=True)
class Columns:
    """The columns the shared rows read, with a years axis.

    Three kinds of column carry the figures: *activities* (option o runs in year t: its costs,
    outcome and flexibility count in year t), *changes* (a start in a mode other than the one the
    service was in: the transition cost is paid and a change counted in that year) and *setups*
    (a mode's setup cost paid in a year); *fees* are termination fees paid in a year. One period:
    an activity and, where its mode is not the current one, a change per option column, a setup
    per mode indicator, no fee; every column in year 0.

    Attributes:
        table: the options.
        num_cols: number of columns of the model.
        act_col, act_option, act_year: column, option and year of each activity.
        change_col, change_option, change_year: column, option and year of each change.
        fee_col, fee_year, fee_value: column, year and amount of each termination fee.
        setup_col, setup_mode, setup_year: column, mode and year of each setup.
        discount: discount factor of each year (objective only).
        year_labels: the label of each year's row (calendar years), or ``None`` for one period
            (its rows carry no year label).
        paid_terms: objective terms counted as money paid (on changes, fees, setups) rather
            than as a figure of the activities.
        mix_col, mix_mode, mix_year: column, mode and year of each in-use indicator w[m, t] that
            ``max_modes_used`` counts (none when the instance has no such cap).
        invest_col, invest_index, invest_year: column, investment (index into
            ``instance.investments``) and year made of each investment column i[j, t].
    """

    table: OptionTable
    num_cols: int
    act_col: IntArray
    act_option: IntArray
    act_year: IntArray
    change_col: IntArray
    change_option: IntArray
    change_year: IntArray
    fee_col: IntArray
    fee_year: IntArray
    fee_value: FloatArray
    setup_col: IntArray
    setup_mode: IntArray
    setup_year: IntArray
    discount: FloatArray
    year_labels: tuple[str, ...] | None
    paid_terms: frozenset[str]
    mix_col: IntArray = field(default_factory=lambda: _none())
    mix_mode: IntArray = field(default_factory=lambda: _none())
    mix_year: IntArray = field(default_factory=lambda: _none())
    invest_col: IntArray = field(default_factory=lambda: _none())
    invest_index: IntArray = field(default_factory=lambda: _none())
    invest_year: IntArray = field(default_factory=lambda: _none())

    @property
    def years(self) -> int:
        """Number of years (rows per yearly family)."""
        return int(self.discount.shape[0])

    @property
    def act_service(self) -> IntArray:
        """Service of each activity."""
        return self.table.service[self.act_option]

    @property
    def act_mode(self) -> IntArray:
        """Mode of each activity."""
        return self.table.mode[self.act_option]

    def act_figure(self, name: str) -> FloatArray:
        """A figure of each activity (its option's figure in its year)."""
        return np.asarray(self.table.figure(name)[self.act_option, self.act_year], np.float64)

    def labels(self, prefixes: Sequence[str]) -> tuple[str, ...]:
        """Row labels of a family with one row per (prefix, year), prefix-major."""
        if self.year_labels is None:
            return tuple(prefixes)
        return tuple(f"{p}@{y}" for p in prefixes for y in self.year_labels)


def yearly(
    cols: Columns,
    family: str,
    coef: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    mask: BoolArray | None = None,
    *,
    kind: str = "",
    key: str | int | None = None,
    side: str | None = None,
) -> Rows:
    """One row per year over the activities: lower_t <= sum_{a in year t} coef_a a <= upper_t."""
    keep = coef != 0
    if mask is not None:
        keep &= mask
    index = np.flatnonzero(keep)
    return Rows(
        family,
        cols.act_year[index],
        cols.act_col[index],
        coef[index],
        lower,
        upper,
        cols.year_labels,
        kind=kind,
        key=key,
        side=side,
    )


# ---------------------------------------------------------------------- totals
def budget(cols: Columns, limit: object) -> Rows:
    """budget[t]: sum_o c_o(t) a[o, t] - sum_e saving_e sum_{o of when_e in mode_e}
    a[o, t - lag_e] <= budget_t (the annual costs of the year's arrangements, less the savings
    that effects land in year t; see :func:`effect_entries`)."""
    years = cols.years
    rows = yearly(
        cols,
        "budget",
        cols.act_figure("annual_cost"),
        np.full(years, -INF),
        yearly_bounds(limit, years, "upper"),
    )
    return _with_effects(rows, cols, "saving")


def transition_budget(cols: Columns, limit: object) -> Rows:
    """transition_budget[t]: sum_{changes in t} tc_o + sum_{fees in t} fee
    + sum_{setups in t} setup_m + sum_j cost_j i[j, t] <= limit_t (the one-off money paid in
    year t, investments made that year included)."""
    table = cols.table
    years = cols.years
    paid = np.flatnonzero(table.transition_cost[cols.change_option] != 0)
    fees = np.flatnonzero(cols.fee_value != 0)
    setup = table.setup[cols.setup_mode]
    setups = np.flatnonzero(setup != 0)
    invest = investment_cost(cols)
    spent = np.flatnonzero(invest != 0)
    return Rows(
        "transition_budget",
        np.concatenate(
            (cols.change_year[paid], cols.fee_year[fees], cols.setup_year[setups],
             cols.invest_year[spent])
        ),
        np.concatenate(
            (cols.change_col[paid], cols.fee_col[fees], cols.setup_col[setups],
             cols.invest_col[spent])
        ),
        np.concatenate(
            (
                table.transition_cost[cols.change_option[paid]],
                cols.fee_value[fees],
                setup[setups],
                invest[spent],
            )
        ),
        np.full(years, -INF),
        yearly_bounds(limit, years, "upper"),
        cols.year_labels,
    )


def min_outcome(cols: Columns, floor: object) -> Rows:
    """min_outcome[t]: sum_o w_s(o) outcome_o a[o, t] + sum_e w_on(e) outcome_e
    sum_{o of when_e in mode_e} a[o, t - lag_e] >= floor_t (the outcome gains that effects land in
    year t count)."""
    table = cols.table
    years = cols.years
    coef = table.weight[cols.act_service] * table.outcome[cols.act_option]
    rows = yearly(
        cols, "min_outcome", coef, yearly_bounds(floor, years, "lower"), np.full(years, INF)
    )
    return _with_effects(rows, cols, "outcome")


def min_flexibility(cols: Columns, floor: object) -> Rows:
    """min_flexibility[t]: sum_o c_o(t) (f_o - f_min,t) a[o, t] >= 0 (the spend-weighted mean
    flexibility of year t is at least the floor)."""
    table = cols.table
    years = cols.years
    floors = yearly_bounds(floor, years, "lower")
    coef = cols.act_figure("annual_cost") * (
        table.flexibility[cols.act_option] - floors[cols.act_year]
    )
    return yearly(cols, "min_flexibility", coef, np.zeros(years), np.full(years, INF))


def max_changes(cols: Columns, limit: object) -> Rows:
    """max_changes[t]: sum_{changes in t} 1 <= limit_t (services whose mode in year t differs from
    the year before; before the first year, the current mode)."""
    years = cols.years
    count = cols.change_col.shape[0]
    return Rows(
        "max_changes",
        cols.change_year,
        cols.change_col,
        np.ones(count),
        np.full(years, -INF),
        yearly_bounds(limit, years, "upper"),
        cols.year_labels,
    )


def totals(cols: Columns, constraints: Constraints) -> list[Rows]:
    """The rows of the instance-wide totals that are set, in this order: budget, transition
    budget, min_outcome, min_flexibility, max_changes."""
    blocks = []
    if constraints.budget is not None:
        blocks.append(budget(cols, constraints.budget))
    if constraints.transition_budget is not None:
        blocks.append(transition_budget(cols, constraints.transition_budget))
    if constraints.min_outcome is not None:
        blocks.append(min_outcome(cols, constraints.min_outcome))
    if constraints.min_flexibility is not None:
        blocks.append(min_flexibility(cols, constraints.min_flexibility))
    if constraints.max_changes is not None:
        blocks.append(max_changes(cols, constraints.max_changes))
    return blocks


# ---------------------------------------------------------------------- per mode, sector, bundle
def capacity(cols: Columns) -> list[Rows]:
    """capacity_count[m, t]: sum_{o in m} a[o, t] - sum_{j in m, t' + Y_j <= t} S_j i[j, t']
    <= max_services_m,t;
    capacity_spend[m, t]: sum_{o in m} c_o(t) a[o, t] - sum_{j in m, t' + Y_j <= t} P_j i[j, t']
    <= max_spend_m,t (an investment j made in t' raises its mode's caps by S_j services and P_j
    spend from year t' + years_to_effect_j on)."""
    table = cols.table
    years = cols.years
    blocks = []
    act_mode = cols.act_mode
    for attribute, family, coef in (
        ("max_services", "capacity_count", np.ones(act_mode.shape[0])),
        ("max_spend", "capacity_spend", cols.act_figure("annual_cost")),
    ):
        modes = [i for i, m in enumerate(table.instance.modes) if getattr(m, attribute) is not None]
        if not modes:
            continue
        limits = np.concatenate(
            [
                yearly_bounds(getattr(table.instance.modes[m], attribute), years, "upper")
                for m in modes
            ]
        )
        row_of_mode = np.full(table.num_modes, -1, dtype=np.int64)
        row_of_mode[modes] = np.arange(len(modes))
        block = row_of_mode[act_mode]
        index = np.flatnonzero((block >= 0) & (coef != 0))
        raise_rows, raise_cols, raise_vals = _capacity_raises(cols, attribute, row_of_mode)
        blocks.append(
            Rows(
                family,
                np.concatenate((block[index] * years + cols.act_year[index], raise_rows)),
                np.concatenate((cols.act_col[index], raise_cols)),
                np.concatenate((coef[index], raise_vals)),
                np.full(len(modes) * years, -INF),
                limits,
                cols.labels([table.mode_ids[m] for m in modes]),
            )
        )
    return blocks


def _capacity_raises(
    cols: Columns, attribute: str, row_of_mode: IntArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """The entries -raise_j i[j, t] of the capacity rows (mode row block, year tau) for every
    investment column made in year t with t + years_to_effect_j <= tau."""
    investments = cols.table.instance.investments
    years = cols.years
    rows: list[IntArray] = [_none()]
    entries: list[IntArray] = [_none()]
    vals: list[FloatArray] = [np.zeros(0)]
    mode_index = {mode_id: i for i, mode_id in enumerate(cols.table.mode_ids)}
    for col, j, made in zip(
        cols.invest_col.tolist(), cols.invest_index.tolist(), cols.invest_year.tolist(),
        strict=True,
    ):
        investment = investments[j]
        amount = float(getattr(investment, attribute))
        block = int(row_of_mode[mode_index[investment.mode]])
        first = made + investment.years_to_effect
        if amount == 0 or block < 0 or first >= years:
            continue
        taus = np.arange(first, years, dtype=np.int64)
        rows.append(block * years + taus)
        entries.append(np.full(taus.shape[0], col, dtype=np.int64))
        vals.append(np.full(taus.shape[0], -amount))
    return np.concatenate(rows), np.concatenate(entries), np.concatenate(vals)


# ---------------------------------------------------------------------- effects and investments
def effect_entries(cols: Columns) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Where each prevention effect lands: for every effect e and every activity a[o, t] of
    service when_e in mode when_e with t + lag_e inside the horizon, the entry (year t + lag_e,
    column of a[o, t], saving_e, w_on(e) outcome_e). An effect that lands beyond the horizon has
    no entry."""
    table = cols.table
    effects = table.instance.effects
    if not effects:
        return _none(), _none(), np.zeros(0), np.zeros(0)
    service_index = {sid: i for i, sid in enumerate(table.service_ids)}
    mode_index = {mid: i for i, mid in enumerate(table.mode_ids)}
    act_service = cols.act_service
    act_mode = cols.act_mode
    years: list[IntArray] = []
    columns: list[IntArray] = []
    saving: list[FloatArray] = []
    gain: list[FloatArray] = []
    for effect in effects:
        landed = cols.act_year + effect.lag_years
        hit = np.flatnonzero(
            (act_service == service_index[effect.when.service])
            & (act_mode == mode_index[effect.when.mode])
            & (landed < cols.years)
        )
        years.append(landed[hit])
        columns.append(cols.act_col[hit])
        saving.append(np.full(hit.shape[0], effect.saving))
        weight = float(table.weight[service_index[effect.on]])
        gain.append(np.full(hit.shape[0], weight * effect.outcome))
    return (
        np.concatenate(years),
        np.concatenate(columns),
        np.concatenate(saving),
        np.concatenate(gain),
    )


def _with_effects(rows: Rows, cols: Columns, what: str) -> Rows:
    """A yearly block with the effects' entries added: ``-saving`` (budget) or the weighted
    ``outcome`` gain (min_outcome) in the year each effect lands."""
    year, col, saving, gain = effect_entries(cols)
    vals = -saving if what == "saving" else gain
    keep = np.flatnonzero(vals != 0)
    if not keep.shape[0]:
        return rows
    return replace(
        rows,
        rows=np.concatenate((rows.rows, year[keep])),
        cols=np.concatenate((rows.cols, col[keep])),
        vals=np.concatenate((rows.vals, vals[keep])),
    )


def investment_cost(cols: Columns) -> FloatArray:
    """The cost of each investment column (the one-off money paid in the year it is made)."""
    investments = cols.table.instance.investments
    return np.array([investments[j].cost for j in cols.invest_index.tolist()], dtype=np.float64)


def max_modes_used(cols: Columns, limit: object) -> list[Rows]:
    """mode_in_use[s, m, t]: sum_{o of s in m} a[o, t] - w[m, t] <= 0 for every service s, mode
    m and year t with a w column (modes that cease a service have none: they are not counted);
    max_modes_used[t]: sum_m w[m, t] <= K_t."""
    table = cols.table
    years = cols.years
    grid = np.full((table.num_modes, years), -1, dtype=np.int64)
    grid[cols.mix_mode, cols.mix_year] = cols.mix_col
    w_of_act = grid[cols.act_mode, cols.act_year]
    act = np.flatnonzero(w_of_act >= 0)
    key = (cols.act_service[act] * table.num_modes + cols.act_mode[act]) * years + cols.act_year[
        act
    ]
    unique, row = np.unique(key, return_inverse=True)
    row = np.asarray(row, dtype=np.int64).ravel()
    count = int(unique.shape[0])
    row_service = unique // years // table.num_modes
    row_mode = (unique // years) % table.num_modes
    row_year = unique % years
    link = Rows(
        "mode_in_use",
        np.concatenate((row, np.arange(count, dtype=np.int64))),
        np.concatenate((cols.act_col[act], grid[row_mode, row_year])),
        np.concatenate((np.ones(act.shape[0]), -np.ones(count))),
        np.full(count, -INF),
        np.zeros(count),
        Labels(
            count,
            lambda i: (
                f"{table.service_ids[int(row_service[i])]}/{table.mode_ids[int(row_mode[i])]}"
                + ("" if cols.year_labels is None else f"@{cols.year_labels[int(row_year[i])]}")
            ),
        ),
    )
    cap = Rows(
        "max_modes_used",
        cols.mix_year,
        cols.mix_col,
        np.ones(cols.mix_col.shape[0]),
        np.full(years, -INF),
        yearly_bounds(limit, years, "upper"),
        cols.year_labels,
    )
    return [link, cap]


def sector_share(cols: Columns) -> list[Rows]:
    """sector_share[k].max[t]: sum_o c_o(t) ([sector(o) = k] - u_k,t) a[o, t] <= 0;
    sector_share[k].min[t]: sum_o c_o(t) ([sector(o) = k] - l_k,t) a[o, t] >= 0."""
    table = cols.table
    years = cols.years
    cost = cols.act_figure("annual_cost")
    in_sector = table.mode_sector[cols.act_mode]
    blocks = []
    for sector, bound in table.instance.constraints.sector_share.items():
        member = (in_sector == SECTORS.index(sector)).astype(np.float64)
        for name, side, share in (("max", "upper", bound.max), ("min", "lower", bound.min)):
            if share is None:
                continue
            shares = yearly_bounds(share, years, "upper")
            coef = cost * (member - shares[cols.act_year])
            zero, free = np.zeros(years), np.full(years, INF)
            lo, hi = (-free, zero) if side == "upper" else (zero, free)
            blocks.append(
                yearly(
                    cols,
                    f"sector_share[{sector}].{name}",
                    coef,
                    lo,
                    hi,
                    kind="sector_share",
                    key=sector,
                    side=side,
                )
            )
    return blocks


def same_mode(cols: Columns, offered_service: IntArray, offered_mode: IntArray) -> Rows | None:
    """same_mode[b, m, t]: for consecutive services (a, s) of bundle b, every mode m offered to
    either (``offered_service``/``offered_mode`` pairs) and every year t:
    sum_{o of a in m} a[o, t] - sum_{o of s in m} a[o, t] = 0.

    Every pair's rows at once: the pairs' modes as one (pairs x modes) table, and each side's
    activities gathered by one sort of the activities by service.
    """
    table = cols.table
    bundles = table.instance.constraints.same_mode
    if not bundles:
        return None
    years = cols.years
    index = {sid: i for i, sid in enumerate(table.service_ids)}
    firsts: list[int] = []
    seconds: list[int] = []
    bundle_of: list[int] = []
    for b, bundle in enumerate(bundles):
        members = [index[sid] for sid in bundle]
        firsts += members[:-1]
        seconds += members[1:]
        bundle_of += [b] * (len(members) - 1)
    first = np.asarray(firsts, dtype=np.int64)
    second = np.asarray(seconds, dtype=np.int64)
    # The modes of each pair: those offered to either service, ascending.
    involved = np.unique(np.concatenate((first, second)))
    offered = np.zeros((involved.shape[0], table.num_modes), dtype=np.bool_)
    seen = np.isin(offered_service, involved)
    offered[np.searchsorted(involved, offered_service[seen]), offered_mode[seen]] = True
    pair_modes = offered[np.searchsorted(involved, first)] | offered[
        np.searchsorted(involved, second)
    ]
    count = pair_modes.sum(axis=1)
    row_start = np.concatenate(([0], np.cumsum(count * years)[:-1])).astype(np.int64)
    rank = np.where(pair_modes, np.cumsum(pair_modes, axis=1) - 1, -1)
    # Each pair's first service (+1), then its second (-1); each side's activities ascending.
    sides = np.stack((first, second), axis=1).ravel()
    sign = np.tile(np.array([1.0, -1.0]), first.shape[0])
    pair_of_side = np.repeat(np.arange(first.shape[0]), 2)
    order = np.argsort(cols.act_service, kind="stable")
    bounds = np.searchsorted(cols.act_service[order], np.arange(table.num_services + 1))
    lengths = bounds[sides + 1] - bounds[sides]
    side_of = np.repeat(np.arange(sides.shape[0]), lengths)
    before = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    entry = order[np.arange(side_of.shape[0]) - before[side_of] + bounds[sides][side_of]]
    pair = pair_of_side[side_of]
    rows = row_start[pair] + rank[pair, cols.act_mode[entry]] * years + cols.act_year[entry]
    pair_index, mode_index = np.nonzero(pair_modes)
    ids, mode_ids = table.service_ids, table.mode_ids
    prefixes = [
        f"{bundle_of[p]}:{ids[firsts[p]]}={ids[seconds[p]]}@{mode_ids[m]}"
        for p, m in zip(pair_index.tolist(), mode_index.tolist(), strict=True)
    ]
    total = int(count.sum()) * years
    return Rows(
        "same_mode",
        rows.astype(np.int64),
        np.asarray(cols.act_col[entry], dtype=np.int64),
        sign[side_of],
        np.zeros(total),
        np.zeros(total),
        cols.labels(prefixes),
    )


def limits(cols: Columns) -> list[Rows]:
    """limits[i][t]: min_i,t <= sum_{o matching the mode/sector filter} g_i(o, t) a[o, t]
    <= max_i,t; for ``transition_cost`` the figure is the transition cost paid:
    sum_{changes in t} tc_o."""
    table = cols.table
    years = cols.years
    blocks = []
    for i, limit in enumerate(table.instance.constraints.limits):
        option_ok = table.mode_mask(limit.mode, limit.sector)
        lo = yearly_bounds(limit.min, years, "lower")
        hi = yearly_bounds(limit.max, years, "upper")
        family = f"limits[{i}]"
        if limit.metric == "transition_cost":
            coef = table.transition_cost[cols.change_option]
            paid = np.flatnonzero(option_ok[cols.change_option] & (coef != 0))
            rows = Rows(
                family,
                cols.change_year[paid],
                cols.change_col[paid],
                coef[paid],
                lo,
                hi,
                cols.year_labels,
                kind="limits",
                key=i,
            )
        else:
            coef = cols.act_figure(limit.metric)
            mask = option_ok[cols.act_option]
            rows = yearly(cols, family, coef, lo, hi, mask, kind="limits", key=i)
        blocks.append(rows)
    return blocks


# ---------------------------------------------------------------------- objective
def objective(
    cols: Columns, goal: str | WeightedObjective | None = None
) -> tuple[Sense, FloatArray]:
    """The objective over all columns: sum_t d_t (the year-t objective), d_t the discount factor
    (1 for one period). ``goal`` is the instance's objective unless given (the plan space's other
    criteria over the same columns, :mod:`portfolio.planspace`).

    maximise_outcome: d_t w_s outcome_o on each activity. minimise_cost: d_t c_o(t) on each
    activity, d_t tc_o on each change, d_t fee on each termination fee, d_t setup_m on each setup.
    A weighted objective sums its terms the same way: the paid terms (``transition_cost``,
    ``setup_cost`` and, over a horizon, ``termination_cost``) as paid, every other figure on the
    activities.

    Effects and investments: an effect landing in year t + lag adds d_{t+lag} w_on outcome_e
    (outcome objectives; the ``outcome`` term) and -d_{t+lag} saving_e (minimise_cost; the
    ``annual_cost`` term) to the activity that produces it; an investment made in year t adds
    d_t cost_j to its column (minimise_cost; the ``investment_cost`` term).
    """
    table = cols.table
    goal = table.instance.objective if goal is None else goal
    coef = np.zeros(cols.num_cols)
    d_act = cols.discount[cols.act_year]
    transition = table.transition_cost[cols.change_option] * cols.discount[cols.change_year]
    fee = cols.fee_value * cols.discount[cols.fee_year]
    setup = table.setup[cols.setup_mode] * cols.discount[cols.setup_year]
    weight = table.weight[cols.act_service]
    outcome = table.outcome[cols.act_option]
    landed, effect_col, saving, gain = effect_entries(cols)
    d_landed = cols.discount[landed]
    invest = investment_cost(cols) * cols.discount[cols.invest_year]
    if goal == "maximise_outcome":
        coef[cols.act_col] = weight * outcome * d_act
        np.add.at(coef, effect_col, gain * d_landed)
        return Sense.MAXIMISE, coef
    if goal == "minimise_cost":
        coef[cols.act_col] = cols.act_figure("annual_cost") * d_act
        coef[cols.change_col] += transition
        coef[cols.fee_col] += fee
        coef[cols.setup_col] += setup
        np.add.at(coef, effect_col, -saving * d_landed)
        coef[cols.invest_col] += invest
        return Sense.MINIMISE, coef
    assert isinstance(goal, WeightedObjective)
    for name, w in goal.terms.items():
        if name == "outcome":
            coef[cols.act_col] += w * weight * outcome * d_act
            np.add.at(coef, effect_col, w * gain * d_landed)
        elif name == "annual_cost" and effect_col.shape[0]:
            coef[cols.act_col] += w * cols.act_figure(name) * d_act
            np.add.at(coef, effect_col, -w * saving * d_landed)
        elif name == "investment_cost":
            coef[cols.invest_col] += w * invest
        elif name == "setup_cost":
            coef[cols.setup_col] += w * setup
        elif name == "transition_cost" and name in cols.paid_terms:
            coef[cols.change_col] += w * transition
        elif name == "termination_cost" and name in cols.paid_terms:
            coef[cols.fee_col] += w * fee
        else:
            coef[cols.act_col] += w * cols.act_figure(name) * d_act
    sense = Sense.MAXIMISE if goal.sense == "maximise" else Sense.MINIMISE
    return sense, coef
