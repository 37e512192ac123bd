"""Compile a multi-year instance into a solver-neutral :class:`~portfolio.linear.LinearModel`.

Per service the plan is a path through the years in a network (:mod:`.network`, written out in
models/multi_year.md):

* nodes ``(t, p)``: "a new arrangement starts in horizon year t, and the service ran in mode p the
  year before" (for t = 0, p is the current mode), a source ``SRC`` for services locked into an
  existing contract, and a sink ``END`` (the end of the horizon);
* arcs (binary columns ``x``): a contract of option o started in year t from node (t, p), covering
  years t .. t + L_o - 1 (only years inside the horizon count) and ending in node
  (t + L_o, mode(o)), or END; the existing contract kept to its end (SRC -> (E + 1, current)); the
  existing contract broken in year b (SRC -> (b, current), covering years 0 .. b - 1, the fee paid
  in year b).

A unit of flow leaves each service's source and reaches END (flow conservation rows), so a
service is in exactly one arrangement each year. Whether a start changes mode is a property of the
arc (mode(o) != p), so transition costs and the change count are arc costs: the per-service
polytope is a network polytope (integral), and the coupling yearly rows are the only source of
fractionality in the LP relaxation. There is no big-M: a lock-in is simply the absence of arcs.

Activity columns ``a[o, t]`` (binary, implied integral) equal the flow of the arcs that run option o
in year t; the yearly rows (budget, capacity, shares, flexibility, limits, bundles) read them, so
each row has one entry per (option, year) instead of one per arc. First-use columns ``z[m, t]``
carry setup costs, ``u[m, t]`` the ``min_services`` rule.

Each constraint family is one vectorised function ``_add_<family>`` returning a block of rows in
coordinate form, its maths in the docstring; :func:`compile_multi_year` stacks them into one CSR
matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from portfolio.compile import _assemble, _Rows
from portfolio.domain import SECTORS, Instance, WeightedObjective, value_in_year
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, Sense
from portfolio.multiyear.network import (
    ARC_BROKEN,
    ARC_KEPT,
    ARC_NEW,
    Arcs,
    Nodes,
    build_arcs,
)
from portfolio.multiyear.schedule import ServicePath
from portfolio.multiyear.table import NO_LOCK, YearTable

INF = np.inf


# ---------------------------------------------------------------------- column layout
@dataclass(frozen=True)
class Layout:
    """Columns: arcs ``x``, then activities ``a[o, t]``, then ``z[m, t]``, then ``u[m, t]``.

    Attributes:
        table: the columnar instance.
        arcs: the arcs (column j < num_arcs is arc j).
        supply: supply node of each service.
        nodes: node numbering.
        act_option: option of each activity column.
        act_year: year of each activity column.
        cover_arc: for each (arc, covered year) pair, the arc.
        cover_act: for each (arc, covered year) pair, the activity (0-based among activities).
        z_mode, z_year: mode and year of each first-use column.
        u_mode, u_year: mode and year of each in-use column (modes with ``min_services``).
    """

    table: YearTable
    arcs: Arcs
    supply: IntArray
    nodes: Nodes
    act_option: IntArray
    act_year: IntArray
    cover_arc: IntArray
    cover_act: IntArray
    z_mode: IntArray
    z_year: IntArray
    u_mode: IntArray
    u_year: IntArray

    @property
    def num_arcs(self) -> int:
        """Number of arc columns."""
        return len(self.arcs)

    @property
    def num_act(self) -> int:
        """Number of activity columns."""
        return int(self.act_option.shape[0])

    @property
    def act_offset(self) -> int:
        """Column of the first activity."""
        return self.num_arcs

    @property
    def z_offset(self) -> int:
        """Column of the first first-use indicator."""
        return self.num_arcs + self.num_act

    @property
    def u_offset(self) -> int:
        """Column of the first in-use indicator."""
        return self.z_offset + int(self.z_mode.shape[0])

    @property
    def num_cols(self) -> int:
        """Number of columns."""
        return self.u_offset + int(self.u_mode.shape[0])

    @property
    def act_service(self) -> IntArray:
        """Service of each activity column."""
        return self.table.service[self.act_option]

    @property
    def act_mode(self) -> IntArray:
        """Mode of each activity column."""
        return self.table.mode[self.act_option]

    def act_figure(self, name: str) -> FloatArray:
        """A figure of each activity (its option's figure in its year)."""
        return self.table.figure(name)[self.act_option, self.act_year]

    def act_cols(self) -> IntArray:
        """Column index of every activity."""
        return self.act_offset + np.arange(self.num_act, dtype=np.int64)


def _layout(table: YearTable) -> Layout:
    arcs, supply, nodes = build_arcs(table)
    years = table.years
    cover = arcs.cover
    total = int(cover.sum())
    cover_arc = np.repeat(np.arange(len(arcs), dtype=np.int64), cover)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(cover) - cover, cover)
    key = arcs.option[cover_arc] * years + arcs.start[cover_arc] + offset
    keys, cover_act = np.unique(key, return_inverse=True)
    act_option = (keys // years).astype(np.int64)
    act_year = (keys % years).astype(np.int64)
    act_mode = table.mode[act_option]

    used = np.zeros((table.num_modes, years), dtype=np.bool_)
    used[act_mode, act_year] = True
    z_mode, z_year = np.nonzero(used & (table.setup > 0)[:, None])
    u_mode, u_year = np.nonzero(used & (table.min_services > 0)[:, None])
    return Layout(
        table=table,
        arcs=arcs,
        supply=supply,
        nodes=nodes,
        act_option=act_option,
        act_year=act_year,
        cover_arc=cover_arc,
        cover_act=np.asarray(cover_act, dtype=np.int64).ravel(),
        z_mode=z_mode.astype(np.int64),
        z_year=z_year.astype(np.int64),
        u_mode=u_mode.astype(np.int64),
        u_year=u_year.astype(np.int64),
    )


# ---------------------------------------------------------------------- row blocks
class _Labels(Sequence[str]):
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


def _year_items(table: YearTable) -> tuple[str, ...]:
    return tuple(str(year) for year in table.horizon.calendar_years)


def _yearly_bounds(value: object, years: int, side: str) -> FloatArray:
    """One bound per year from a yearly field (``side`` is "upper" or "lower"; None: no bound)."""
    if value is None:
        return np.full(years, INF if side == "upper" else -INF)
    return np.array([value_in_year(value, t) for t in range(years)], dtype=np.float64)  # type: ignore[arg-type]


def _per_year(
    lay: Layout,
    family: str,
    coef: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    mask: BoolArray | None = None,
) -> _Rows:
    """One row per year over the activities: lower_t <= sum_{a in year t} coef_a a <= upper_t."""
    keep = coef != 0
    if mask is not None:
        keep &= mask
    index = np.flatnonzero(keep)
    return _Rows(
        family,
        lay.act_year[index],
        lay.act_offset + index,
        coef[index],
        lower,
        upper,
        _year_items(lay.table),
    )


def _add_flow(lay: Layout) -> _Rows:
    """flow[n]: sum_{arcs out of n} x - sum_{arcs into n} x = [n is the service's source], for
    every node n but the end (one unit of flow per service from its source to the end)."""
    arcs = lay.arcs
    nodes = lay.nodes
    into = np.flatnonzero(~nodes.is_end(arcs.head))
    node_ids = np.unique(np.concatenate((arcs.tail, arcs.head[into], lay.supply)))
    out_rows = np.searchsorted(node_ids, arcs.tail)
    in_rows = np.searchsorted(node_ids, arcs.head[into])
    supply = np.zeros(node_ids.shape[0])
    supply[np.searchsorted(node_ids, lay.supply)] = 1.0
    table = lay.table
    return _Rows(
        "flow",
        np.concatenate((out_rows, in_rows)),
        np.concatenate((np.arange(len(arcs), dtype=np.int64), into)),
        np.concatenate((np.ones(len(arcs)), -np.ones(into.shape[0]))),
        supply,
        supply.copy(),
        _Labels(int(node_ids.shape[0]), lambda i: nodes.label(int(node_ids[i]), table)),
    )


def _add_activity(lay: Layout) -> _Rows:
    """activity[o, t]: a[o, t] - sum_{arcs running option o in year t} x = 0."""
    table = lay.table
    count = lay.num_act
    return _Rows(
        "activity",
        np.concatenate((np.arange(count, dtype=np.int64), lay.cover_act)),
        np.concatenate((lay.act_cols(), lay.cover_arc)),
        np.concatenate((np.ones(count), -np.ones(lay.cover_arc.shape[0]))),
        np.zeros(count),
        np.zeros(count),
        _Labels(
            count,
            lambda i: (
                f"{table.service_ids[int(table.service[lay.act_option[i]])]}/option "
                f"{int(table.position[lay.act_option[i]])}"
                f"@{table.horizon.start_year + lay.act_year[i]}"
            ),
        ),
    )


def _add_budget(lay: Layout, budget: object) -> _Rows:
    """budget[t]: sum_{o} c_o(t) a[o, t] <= budget_t (annual costs of the year's arrangements,
    c_o(t) = annual_cost_o (1 + indexation_o)^t or the option's year-t cost)."""
    years = lay.table.years
    return _per_year(
        lay,
        "budget",
        lay.act_figure("annual_cost"),
        np.full(years, -INF),
        _yearly_bounds(budget, years, "upper"),
    )


def _transition_entries(lay: Layout) -> tuple[IntArray, IntArray, FloatArray]:
    """(year, column, value) of the transition money paid: transition costs of new contracts
    that change mode (in their start year), termination fees (in the break year), setup costs
    (in the first-use year)."""
    arcs = lay.arcs
    table = lay.table
    paid = np.flatnonzero((arcs.kind == ARC_NEW) & arcs.change)
    paid = paid[table.transition_cost[arcs.option[paid]] != 0]
    broken = np.flatnonzero((arcs.kind == ARC_BROKEN) & (arcs.fee != 0))
    z_cols = lay.z_offset + np.arange(lay.z_mode.shape[0], dtype=np.int64)
    return (
        np.concatenate((arcs.start[paid], arcs.fee_year[broken], lay.z_year)),
        np.concatenate((paid, broken, z_cols)),
        np.concatenate(
            (table.transition_cost[arcs.option[paid]], arcs.fee[broken], table.setup[lay.z_mode])
        ),
    )


def _add_transition_budget(lay: Layout, limit: object) -> _Rows:
    """transition_budget[t]: sum_{new arcs starting in t with mode != previous mode} tc_o x
    + sum_{existing contracts broken in t} fee_s x + sum_m setup_m z[m, t] <= limit_t."""
    years = lay.table.years
    rows, cols, vals = _transition_entries(lay)
    return _Rows(
        "transition_budget",
        rows,
        cols,
        vals,
        np.full(years, -INF),
        _yearly_bounds(limit, years, "upper"),
        _year_items(lay.table),
    )


def _add_min_outcome(lay: Layout, floor: object) -> _Rows:
    """min_outcome[t]: sum_o w_s(o) outcome_o a[o, t] >= floor_t."""
    table = lay.table
    coef = table.weight[lay.act_service] * table.outcome[lay.act_option]
    years = table.years
    return _per_year(
        lay, "min_outcome", coef, _yearly_bounds(floor, years, "lower"), np.full(years, INF)
    )


def _add_min_flexibility(lay: Layout, floor: object) -> _Rows:
    """min_flexibility[t]: sum_o c_o(t) (f_o - f_min,t) a[o, t] >= 0 (the spend-weighted mean
    flexibility of year t, each arrangement weighted by its year-t indexed cost)."""
    table = lay.table
    floors = _yearly_bounds(floor, table.years, "lower")
    coef = lay.act_figure("annual_cost") * (
        table.flexibility[lay.act_option] - floors[lay.act_year]
    )
    years = table.years
    return _per_year(lay, "min_flexibility", coef, np.zeros(years), np.full(years, INF))


def _add_max_changes(lay: Layout, limit: object) -> _Rows:
    """max_changes[t]: sum_{new arcs starting in t with mode != previous mode} x <= limit_t (the
    services whose mode in year t differs from year t - 1; the year before the horizon is the
    current mode)."""
    arcs = lay.arcs
    changed = np.flatnonzero((arcs.kind == ARC_NEW) & arcs.change)
    years = lay.table.years
    return _Rows(
        "max_changes",
        arcs.start[changed],
        changed,
        np.ones(changed.shape[0]),
        np.full(years, -INF),
        _yearly_bounds(limit, years, "upper"),
        _year_items(lay.table),
    )


def _add_capacity(lay: Layout) -> list[_Rows]:
    """capacity_count[m, t]: sum_{o in m} a[o, t] <= max_services_m,t;
    capacity_spend[m, t]: sum_{o in m} c_o(t) a[o, t] <= max_spend_m,t."""
    table = lay.table
    years = table.years
    blocks = []
    act_mode = lay.act_mode
    for attribute, family, coef in (
        ("max_services", "capacity_count", np.ones(lay.num_act)),
        ("max_spend", "capacity_spend", lay.act_figure("annual_cost")),
    ):
        modes = [i for i, m in enumerate(table.instance.modes) if getattr(m, attribute) is not None]
        if not modes:
            continue
        limits = np.concatenate(
            [
                _yearly_bounds(getattr(table.instance.modes[m], attribute), years, "upper")
                for m in modes
            ]
        )
        row_of_mode = np.full(table.num_modes, -1, dtype=np.int64)
        row_of_mode[modes] = np.arange(len(modes))
        block = row_of_mode[act_mode]
        index = np.flatnonzero((block >= 0) & (coef != 0))
        blocks.append(
            _Rows(
                family,
                block[index] * years + lay.act_year[index],
                lay.act_offset + index,
                coef[index],
                np.full(len(modes) * years, -INF),
                limits,
                tuple(f"{table.mode_ids[m]}@{y}" for m in modes for y in _year_items(table)),
            )
        )
    return blocks


def _group_rows(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Row number of each entry when entries with equal keys share a row, and the row keys."""
    unique, rows = np.unique(keys, return_inverse=True)
    return np.asarray(rows, dtype=np.int64).ravel(), unique.astype(np.int64)


def _add_setup(lay: Layout) -> list[_Rows]:
    """Setup costs, paid once in the first year any service uses the mode (z[m, t] = 1):

    setup_once[m]: sum_t z[m, t] <= 1;
    setup_link[s, m, t]: sum_{o of s in m} a[o, t] - sum_{t' <= t} z[m, t'] <= 0 (a service using
    m in year t needs m set up by year t: the disaggregated, per-service form);
    setup_first[m, t]: z[m, t] - sum_{o in m} a[o, t] <= 0 (the first-use year is a year of use,
    so z marks exactly the first year, whatever the objective).
    """
    table = lay.table
    years = table.years
    num_z = int(lay.z_mode.shape[0])
    if num_z == 0:
        return []
    z_col = np.full((table.num_modes, years), -1, dtype=np.int64)
    z_col[lay.z_mode, lay.z_year] = lay.z_offset + np.arange(num_z)
    z_modes = np.unique(lay.z_mode)
    once_row = np.searchsorted(z_modes, lay.z_mode)
    once = _Rows(
        "setup_once",
        once_row,
        lay.z_offset + np.arange(num_z, dtype=np.int64),
        np.ones(num_z),
        np.full(z_modes.shape[0], -INF),
        np.ones(z_modes.shape[0]),
        tuple(table.mode_ids[m] for m in z_modes.tolist()),
    )

    act = np.flatnonzero(z_col[lay.act_mode, lay.act_year] >= 0)
    key = (lay.act_service[act] * table.num_modes + lay.act_mode[act]) * years + lay.act_year[act]
    rows, keys = _group_rows(key)
    row_mode = (keys // years) % table.num_modes
    row_year = keys % years
    earlier = z_col[row_mode][:, :]  # rows x years: z columns of the row's mode
    earlier = np.where(np.arange(years)[None, :] <= row_year[:, None], earlier, -1)
    z_row, z_year = np.nonzero(earlier >= 0)
    link = _Rows(
        "setup_link",
        np.concatenate((rows, z_row)),
        np.concatenate((lay.act_offset + act, earlier[z_row, z_year])),
        np.concatenate((np.ones(act.shape[0]), -np.ones(z_row.shape[0]))),
        np.full(keys.shape[0], -INF),
        np.zeros(keys.shape[0]),
        _Labels(
            int(keys.shape[0]),
            lambda i: (
                f"{table.service_ids[int(keys[i] // years // table.num_modes)]}/"
                f"{table.mode_ids[int(row_mode[i])]}@{table.horizon.start_year + int(row_year[i])}"
            ),
        ),
    )

    first_rows = np.arange(num_z, dtype=np.int64)
    act_row = z_col[lay.act_mode[act], lay.act_year[act]] - lay.z_offset
    first = _Rows(
        "setup_first",
        np.concatenate((first_rows, act_row)),
        np.concatenate((lay.z_offset + first_rows, lay.act_offset + act)),
        np.concatenate((np.ones(num_z), -np.ones(act.shape[0]))),
        np.full(num_z, -INF),
        np.zeros(num_z),
        tuple(
            f"{table.mode_ids[m]}@{table.horizon.start_year + t}"
            for m, t in zip(lay.z_mode.tolist(), lay.z_year.tolist(), strict=True)
        ),
    )
    return [once, link, first]


def _add_min_services(lay: Layout) -> list[_Rows]:
    """min_services[m, t]: sum_{o in m} a[o, t] - min_services_m u[m, t] >= 0;
    used_link[s, m, t]: sum_{o of s in m} a[o, t] - u[m, t] <= 0 (a mode used in year t is used
    by at least min_services services that year)."""
    table = lay.table
    years = table.years
    num_u = int(lay.u_mode.shape[0])
    if num_u == 0:
        return []
    u_col = np.full((table.num_modes, years), -1, dtype=np.int64)
    u_col[lay.u_mode, lay.u_year] = lay.u_offset + np.arange(num_u)
    act = np.flatnonzero(u_col[lay.act_mode, lay.act_year] >= 0)
    u_of_act = u_col[lay.act_mode[act], lay.act_year[act]]
    minimum = table.min_services[lay.u_mode].astype(np.float64)
    count = _Rows(
        "min_services",
        np.concatenate((u_of_act - lay.u_offset, np.arange(num_u, dtype=np.int64))),
        np.concatenate((lay.act_offset + act, lay.u_offset + np.arange(num_u, dtype=np.int64))),
        np.concatenate((np.ones(act.shape[0]), -minimum)),
        np.zeros(num_u),
        np.full(num_u, INF),
        tuple(
            f"{table.mode_ids[m]}@{table.horizon.start_year + t}"
            for m, t in zip(lay.u_mode.tolist(), lay.u_year.tolist(), strict=True)
        ),
    )
    key = (lay.act_service[act] * table.num_modes + lay.act_mode[act]) * years + lay.act_year[act]
    rows, keys = _group_rows(key)
    row_u = u_col[(keys // years) % table.num_modes, keys % years]
    link = _Rows(
        "used_link",
        np.concatenate((rows, np.arange(keys.shape[0], dtype=np.int64))),
        np.concatenate((lay.act_offset + act, row_u)),
        np.concatenate((np.ones(act.shape[0]), -np.ones(keys.shape[0]))),
        np.full(keys.shape[0], -INF),
        np.zeros(keys.shape[0]),
    )
    return [count, link]


def _add_sector_share(lay: Layout) -> list[_Rows]:
    """sector_share[k].max[t]: sum_o c_o(t) ([sector(o) = k] - u_k,t) a[o, t] <= 0;
    sector_share[k].min[t]: sum_o c_o(t) ([sector(o) = k] - l_k,t) a[o, t] >= 0."""
    table = lay.table
    years = table.years
    cost = lay.act_figure("annual_cost")
    blocks = []
    for sector, bound in table.instance.constraints.sector_share.items():
        member = (table.mode_sector[lay.act_mode] == SECTORS.index(sector)).astype(np.float64)
        for side, share in (("max", bound.max), ("min", bound.min)):
            if share is None:
                continue
            shares = _yearly_bounds(share, years, "upper")
            coef = cost * (member - shares[lay.act_year])
            lo, hi = (
                (np.full(years, -INF), np.zeros(years))
                if side == "max"
                else (np.zeros(years), np.full(years, INF))
            )
            blocks.append(_per_year(lay, f"sector_share[{sector}].{side}", coef, lo, hi))
    return blocks


def _add_same_mode(lay: Layout) -> _Rows | None:
    """same_mode[b, m, t]: for consecutive services (a, s) of bundle b, every mode m offered to
    either and every year t: sum_{o of a in m} a[o, t] - sum_{o of s in m} a[o, t] = 0."""
    table = lay.table
    bundles = table.instance.constraints.same_mode
    if not bundles:
        return None
    years = table.years
    index = {sid: i for i, sid in enumerate(table.service_ids)}
    act_service = lay.act_service
    act_mode = lay.act_mode
    rows, cols, vals, items = [], [], [], []
    row = 0
    for b, bundle in enumerate(bundles):
        members = [index[sid] for sid in bundle]
        for first, second in zip(members, members[1:], strict=False):
            in_a = np.flatnonzero(act_service == first)
            in_b = np.flatnonzero(act_service == second)
            modes = np.union1d(
                table.mode[table.service == first], table.mode[table.service == second]
            )
            row_of_mode = np.full(table.num_modes, -1, dtype=np.int64)
            row_of_mode[modes] = np.arange(modes.shape[0])
            for part, sign in ((in_a, 1.0), (in_b, -1.0)):
                rows.append(row + row_of_mode[act_mode[part]] * years + lay.act_year[part])
                cols.append(lay.act_offset + part)
                vals.append(np.full(part.shape[0], sign))
            pair = f"{b}:{table.service_ids[first]}={table.service_ids[second]}"
            items += [
                f"{pair}@{table.mode_ids[m]}@{y}"
                for m in modes.tolist()
                for y in _year_items(table)
            ]
            row += modes.shape[0] * years
    return _Rows(
        "same_mode",
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        np.zeros(row),
        np.zeros(row),
        tuple(items),
    )


def _add_limits(lay: Layout) -> list[_Rows]:
    """limits[i][t]: min_i,t <= sum_{o matching the filter} figure_i(o, t) a[o, t] <= max_i,t;
    for ``transition_cost`` the figure is the transition cost paid: new arcs starting in t that
    change mode, tc_o x."""
    table = lay.table
    years = table.years
    blocks = []
    for i, limit in enumerate(table.instance.constraints.limits):
        option_ok = table.mode_mask(limit.mode, limit.sector)
        lo = _yearly_bounds(limit.min, years, "lower")
        hi = _yearly_bounds(limit.max, years, "upper")
        if limit.metric == "transition_cost":
            arcs = lay.arcs
            paid = np.flatnonzero((arcs.kind == ARC_NEW) & arcs.change & option_ok[arcs.option])
            coef = table.transition_cost[arcs.option[paid]]
            keep = coef != 0
            blocks.append(
                _Rows(
                    f"limits[{i}]",
                    arcs.start[paid][keep],
                    paid[keep],
                    coef[keep],
                    lo,
                    hi,
                    _year_items(table),
                )
            )
            continue
        coef = lay.act_figure(limit.metric)
        blocks.append(_per_year(lay, f"limits[{i}]", coef, lo, hi, option_ok[lay.act_option]))
    return blocks


# ---------------------------------------------------------------------- objective
def objective_vector(lay: Layout) -> tuple[Sense, FloatArray]:
    """The discounted objective over all columns: sum_t (1 + r)^-t (the year-t objective).

    maximise_outcome: d_t w_s outcome_o on a[o, t]. minimise_cost: d_t c_o(t) on a[o, t],
    d_t tc_o on new arcs starting in t that change mode, d_b fee_s on breaks in b, d_t setup_m on
    z[m, t].
    A weighted objective sums its figures the same way (``transition_cost``, ``setup_cost`` and
    ``termination_cost`` as paid, every other figure on the activities).
    """
    table = lay.table
    arcs = lay.arcs
    objective = table.instance.objective
    coef = np.zeros(lay.num_cols)
    d_act = table.discount[lay.act_year]
    act = slice(lay.act_offset, lay.z_offset)
    z = slice(lay.z_offset, lay.u_offset)
    changed = (arcs.kind == ARC_NEW) & arcs.change
    transition = np.where(changed, table.transition_cost[arcs.option], 0.0)
    transition *= table.discount[arcs.start]
    termination = np.where(
        arcs.kind == ARC_BROKEN, arcs.fee * table.discount[np.maximum(arcs.fee_year, 0)], 0.0
    )
    setup = table.setup[lay.z_mode] * table.discount[lay.z_year]
    outcome = table.weight[lay.act_service] * table.outcome[lay.act_option] * d_act

    if objective == "maximise_outcome":
        coef[act] = outcome
        return Sense.MAXIMISE, coef
    if objective == "minimise_cost":
        coef[act] = lay.act_figure("annual_cost") * d_act
        coef[: lay.num_arcs] = transition + termination
        coef[z] = setup
        return Sense.MINIMISE, coef
    assert isinstance(objective, WeightedObjective)
    for name, weight in objective.terms.items():
        if name == "outcome":
            coef[act] += weight * outcome
        elif name == "setup_cost":
            coef[z] += weight * setup
        elif name == "transition_cost":
            coef[: lay.num_arcs] += weight * transition
        elif name == "termination_cost":
            coef[: lay.num_arcs] += weight * termination
        else:
            coef[act] += weight * lay.act_figure(name) * d_act
    sense = Sense.MAXIMISE if objective.sense == "maximise" else Sense.MINIMISE
    return sense, coef


# ---------------------------------------------------------------------- compiled model
@dataclass(frozen=True)
class MultiYearModel:
    """A compiled multi-year model and the maps back to the instance.

    Attributes:
        model: the linear model (every column binary).
        layout: the columns (arcs, activities, first-use and in-use indicators).
    """

    model: LinearModel
    layout: Layout

    @property
    def table(self) -> YearTable:
        """The columnar instance."""
        return self.layout.table

    def decode(self, x: FloatArray) -> list[ServicePath]:
        """The plan's decisions from column values: the arcs with value above one half.

        The verifier checks the result, so an inconsistent vector cannot pass unnoticed.
        """
        lay = self.layout
        table = lay.table
        arcs = lay.arcs
        chosen = np.flatnonzero(np.asarray(x[: lay.num_arcs]) > 0.5)
        order = chosen[np.lexsort((arcs.start[chosen], arcs.service[chosen]))]
        broken: dict[int, int] = {}
        starts: dict[int, list[tuple[int, int]]] = {s: [] for s in range(table.num_services)}
        for arc in order.tolist():
            service = int(arcs.service[arc])
            if arcs.kind[arc] == ARC_BROKEN:
                broken[service] = int(arcs.fee_year[arc])
            elif arcs.kind[arc] == ARC_NEW:
                starts[service].append(
                    (int(table.position[arcs.option[arc]]), int(arcs.start[arc]))
                )
        return [
            ServicePath(sid, broken.get(s), tuple(starts[s]))
            for s, sid in enumerate(table.service_ids)
        ]

    def encode(self, paths: Sequence[ServicePath]) -> FloatArray:
        """Column values of a plan given as decisions (e.g. a MIP start).

        Raises:
            ValueError: the plan uses an arc the model does not have (a red line, a lead time, an
                unbreakable contract, a path that does not cover the horizon).
        """
        lay = self.layout
        table = lay.table
        arcs = lay.arcs
        lookup = {
            (int(s), int(k), int(o), int(t), int(p), int(c)): j
            for j, (s, k, o, t, p, c) in enumerate(
                zip(
                    arcs.service.tolist(),
                    arcs.kind.tolist(),
                    arcs.option.tolist(),
                    arcs.start.tolist(),
                    arcs.prev.tolist(),
                    arcs.cover.tolist(),
                    strict=True,
                )
            )
        }
        x = np.zeros(lay.num_cols)
        years = table.years
        for s, path in enumerate(paths):
            first = int(table.first_option[s])
            current = int(table.current_option[s])
            lock_end = int(table.lock_end[s])
            wanted: list[tuple[int, int, int, int, int, int]] = []
            prev_mode = int(table.current_mode[s])
            if lock_end != NO_LOCK:
                if path.broken_in is not None:
                    wanted.append((s, ARC_BROKEN, current, 0, -1, path.broken_in))
                else:
                    wanted.append((s, ARC_KEPT, current, 0, -1, min(lock_end + 1, years)))
            for position, start in path.starts:
                option = first + position
                cover = min(start + int(table.length[option]), years) - start
                wanted.append((s, ARC_NEW, option, start, prev_mode, cover))
                prev_mode = int(table.mode[option])
            for key in wanted:
                if key not in lookup:
                    raise ValueError(f"service '{path.service}': the model has no arc {key}")
                x[lookup[key]] = 1.0
        x[lay.act_offset : lay.z_offset] = np.bincount(
            lay.cover_act, weights=x[lay.cover_arc], minlength=lay.num_act
        )
        active = x[lay.act_offset : lay.z_offset] > 0.5
        used = np.zeros((table.num_modes, years), dtype=np.bool_)
        used[lay.act_mode[active], lay.act_year[active]] = True
        first_year = np.where(used.any(axis=1), used.argmax(axis=1), -1)
        x[lay.z_offset : lay.u_offset] = first_year[lay.z_mode] == lay.z_year
        x[lay.u_offset :] = used[lay.u_mode, lay.u_year]
        return x


def compile_multi_year(instance: Instance) -> MultiYearModel:
    """Compile an instance with a horizon into a LinearModel and the maps back to the instance.

    Raises:
        ValueError: the instance has no horizon.
    """
    table = YearTable.from_instance(instance)
    lay = _layout(table)
    constraints = instance.constraints
    blocks: list[_Rows | None] = [_add_flow(lay), _add_activity(lay)]
    if constraints.budget is not None:
        blocks.append(_add_budget(lay, constraints.budget))
    if constraints.transition_budget is not None:
        blocks.append(_add_transition_budget(lay, constraints.transition_budget))
    if constraints.min_outcome is not None:
        blocks.append(_add_min_outcome(lay, constraints.min_outcome))
    if constraints.min_flexibility is not None:
        blocks.append(_add_min_flexibility(lay, constraints.min_flexibility))
    if constraints.max_changes is not None:
        blocks.append(_add_max_changes(lay, constraints.max_changes))
    blocks += _add_capacity(lay)
    blocks += _add_min_services(lay)
    blocks += _add_sector_share(lay)
    blocks.append(_add_same_mode(lay))
    blocks += _add_limits(lay)
    blocks += _add_setup(lay)
    sense, objective = objective_vector(lay)
    model = _assemble([b for b in blocks if b is not None], lay.num_cols, sense, objective)
    return MultiYearModel(model, lay)
