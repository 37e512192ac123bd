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

Each constraint family is one vectorised function returning a block of rows in coordinate form,
its maths in the docstring: the families every horizon shares are the kernels of
:mod:`portfolio.kernels`, read over :func:`year_columns`; the network's own (flow, activity, setup,
min_services) are the functions ``_add_<family>`` here. :func:`compile_multi_year` stacks them into
one CSR matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

import portfolio.kernels as kernels
from portfolio.decisions import Decisions, investments_of
from portfolio.domain import Instance
from portfolio.kernels import Columns, Labels, Rows
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel
from portfolio.multiyear.dominance import dominated_options
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
        w_mode, w_year: mode and year of each in-use column counted by ``max_modes_used`` (a
            column of year w_year).
        i_index, i_year: investment (index into ``instance.investments``) and year made of each
            investment column (a column of year i_year).
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
    w_mode: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    w_year: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    i_index: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    i_year: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

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
    def w_offset(self) -> int:
        """Column of the first ``max_modes_used`` in-use indicator w[m, t]."""
        return self.u_offset + int(self.u_mode.shape[0])

    @property
    def i_offset(self) -> int:
        """Column of the first investment column i[j, t]."""
        return self.w_offset + int(self.w_mode.shape[0])

    @property
    def num_cols(self) -> int:
        """Number of columns."""
        return self.i_offset + int(self.i_index.shape[0])

    @cached_property
    def columns(self) -> Columns:
        """The column table the shared row kernels read (:func:`year_columns`)."""
        return year_columns(self)

    @property
    def act_service(self) -> IntArray:
        """Service of each activity column."""
        return self.columns.act_service

    @property
    def act_mode(self) -> IntArray:
        """Mode of each activity column."""
        return self.columns.act_mode

    def act_figure(self, name: str) -> FloatArray:
        """A figure of each activity (its option's figure in its year)."""
        return self.columns.act_figure(name)

    def act_cols(self) -> IntArray:
        """Column index of every activity."""
        return self.act_offset + np.arange(self.num_act, dtype=np.int64)


def _layout(
    table: YearTable, dropped: BoolArray | None = None, forbidden: BoolArray | None = None
) -> Layout:
    arcs, supply, nodes = build_arcs(table, forbidden)
    if dropped is not None:
        # A dropped option's arcs have twins of the option that dominates it (same tail, head
        # and years), so no node loses its way to the end.
        arcs = arcs.take(~dropped[arcs.option])
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
    w_mode, w_year = _counted_modes(table, used)
    i_index, i_year = _investment_years(table)
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
        w_mode=w_mode,
        w_year=w_year,
        i_index=i_index,
        i_year=i_year,
    )


def _counted_modes(table: YearTable, used: BoolArray) -> tuple[IntArray, IntArray]:
    """(mode, year) of each in-use column ``max_modes_used`` counts: modes some activity could
    run that year, not ceasing a service; none when the instance has no such cap."""
    if table.instance.constraints.max_modes_used is None:
        none = np.zeros(0, dtype=np.int64)
        return none, none
    ceases = np.array([m.ceases_service for m in table.instance.modes], dtype=np.bool_)
    mode, year = np.nonzero(used & ~ceases[:, None])
    return mode.astype(np.int64), year.astype(np.int64)


def _investment_years(table: YearTable) -> tuple[IntArray, IntArray]:
    """(investment, year made) of each investment column: every year t whose effect year
    t + years_to_effect lies inside the horizon (one made later could never take effect)."""
    index: list[int] = []
    year: list[int] = []
    for j, investment in enumerate(table.instance.investments):
        for t in range(table.years - investment.years_to_effect):
            index.append(j)
            year.append(t)
    return np.array(index, dtype=np.int64), np.array(year, dtype=np.int64)


# ---------------------------------------------------------------------- columns
def year_columns(lay: Layout) -> Columns:
    """The column table the shared kernels read: the activity columns ``a[o, t]``, the new arcs
    that change mode (in their start year), the broken existing contracts (their fee in the break
    year) and the first-use columns ``z[m, t]``."""
    arcs = lay.arcs
    table = lay.table
    changed = np.flatnonzero((arcs.kind == ARC_NEW) & arcs.change)
    broken = np.flatnonzero(arcs.kind == ARC_BROKEN)
    return Columns(
        table=table,
        num_cols=lay.num_cols,
        act_col=lay.act_cols(),
        act_option=lay.act_option,
        act_year=lay.act_year,
        change_col=changed,
        change_option=arcs.option[changed],
        change_year=arcs.start[changed],
        fee_col=broken,
        fee_year=arcs.fee_year[broken],
        fee_value=arcs.fee[broken],
        setup_col=lay.z_offset + np.arange(lay.z_mode.shape[0], dtype=np.int64),
        setup_mode=lay.z_mode,
        setup_year=lay.z_year,
        discount=table.discount,
        year_labels=tuple(str(year) for year in table.horizon.calendar_years),
        paid_terms=frozenset({"transition_cost", "setup_cost", "termination_cost"}),
        mix_col=lay.w_offset + np.arange(lay.w_mode.shape[0], dtype=np.int64),
        mix_mode=lay.w_mode,
        mix_year=lay.w_year,
        invest_col=lay.i_offset + np.arange(lay.i_index.shape[0], dtype=np.int64),
        invest_index=lay.i_index,
        invest_year=lay.i_year,
    )


# ---------------------------------------------------------------------- multi-year rows
def _add_flow(lay: Layout) -> Rows:
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
    return Rows(
        "flow",
        np.concatenate((out_rows, in_rows)),
        np.concatenate((np.arange(len(arcs), dtype=np.int64), into)),
        np.concatenate((np.ones(len(arcs)), -np.ones(into.shape[0]))),
        supply,
        supply.copy(),
        Labels(int(node_ids.shape[0]), lambda i: nodes.label(int(node_ids[i]), table)),
    )


def _add_activity(lay: Layout) -> Rows:
    """activity[o, t]: a[o, t] - sum_{arcs running option o in year t} x = 0."""
    table = lay.table
    count = lay.num_act
    return Rows(
        "activity",
        np.concatenate((np.arange(count, dtype=np.int64), lay.cover_act)),
        np.concatenate((lay.act_cols(), lay.cover_arc)),
        np.concatenate((np.ones(count), -np.ones(lay.cover_arc.shape[0]))),
        np.zeros(count),
        np.zeros(count),
        Labels(
            count,
            lambda i: (
                f"{table.option_label(int(lay.act_option[i]))}"
                f"@{table.horizon.start_year + lay.act_year[i]}"
            ),
        ),
    )


def _add_arrangement(lay: Layout) -> Rows:
    """arrangement[s, t]: sum_{o of s} a[o, t] = 1, for every service s and year t with an
    activity (the service is in exactly one arrangement that year).

    The flow and activity rows imply it (a path covers every year exactly once), so it cuts off
    no point of the LP relaxation; written out, it gives the solver each service's choice in
    each year as a set of which exactly one is taken (a clique), the structure its presolve,
    propagation and cuts (cliques, knapsack covers over the yearly rows) work from.
    """
    table = lay.table
    years = table.years
    key = lay.act_service * years + lay.act_year
    keys, rows = np.unique(key, return_inverse=True)
    count = int(keys.shape[0])
    return Rows(
        "arrangement",
        np.asarray(rows, dtype=np.int64).ravel(),
        lay.act_cols(),
        np.ones(lay.num_act),
        np.ones(count),
        np.ones(count),
        Labels(
            count,
            lambda i: (
                f"{table.service_ids[int(keys[i] // years)]}"
                f"@{table.horizon.start_year + int(keys[i] % years)}"
            ),
        ),
    )


def _indicator_grid(lay: Layout, mode: IntArray, year: IntArray, offset: int) -> IntArray:
    """Column of each (mode, year) indicator in a modes x years grid (-1 where there is none)."""
    grid = np.full((lay.table.num_modes, lay.table.years), -1, dtype=np.int64)
    grid[mode, year] = offset + np.arange(mode.shape[0], dtype=np.int64)
    return grid


def _service_mode_year_rows(lay: Layout, act: IntArray) -> tuple[IntArray, IntArray]:
    """One row per (service, mode, year) of the given activities: the row of each activity and
    the row keys ``(service * modes + mode) * years + year``."""
    modes = lay.table.num_modes
    years = lay.table.years
    key = (lay.act_service[act] * modes + lay.act_mode[act]) * years + lay.act_year[act]
    unique, rows = np.unique(key, return_inverse=True)
    return np.asarray(rows, dtype=np.int64).ravel(), unique.astype(np.int64)


def _add_setup(lay: Layout) -> list[Rows]:
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
    z_col = _indicator_grid(lay, lay.z_mode, lay.z_year, lay.z_offset)
    z_modes = np.unique(lay.z_mode)
    once_row = np.searchsorted(z_modes, lay.z_mode)
    once = Rows(
        "setup_once",
        once_row,
        lay.z_offset + np.arange(num_z, dtype=np.int64),
        np.ones(num_z),
        np.full(z_modes.shape[0], -INF),
        np.ones(z_modes.shape[0]),
        tuple(table.mode_ids[m] for m in z_modes.tolist()),
    )

    act = np.flatnonzero(z_col[lay.act_mode, lay.act_year] >= 0)
    rows, keys = _service_mode_year_rows(lay, act)
    row_mode = (keys // years) % table.num_modes
    row_year = keys % years
    earlier = z_col[row_mode][:, :]  # rows x years: z columns of the row's mode
    earlier = np.where(np.arange(years)[None, :] <= row_year[:, None], earlier, -1)
    z_row, z_year = np.nonzero(earlier >= 0)
    link = Rows(
        "setup_link",
        np.concatenate((rows, z_row)),
        np.concatenate((lay.act_offset + act, earlier[z_row, z_year])),
        np.concatenate((np.ones(act.shape[0]), -np.ones(z_row.shape[0]))),
        np.full(keys.shape[0], -INF),
        np.zeros(keys.shape[0]),
        Labels(
            int(keys.shape[0]),
            lambda i: (
                f"{table.service_ids[int(keys[i] // years // table.num_modes)]}/"
                f"{table.mode_ids[int(row_mode[i])]}@{table.horizon.start_year + int(row_year[i])}"
            ),
        ),
    )

    first_rows = np.arange(num_z, dtype=np.int64)
    act_row = z_col[lay.act_mode[act], lay.act_year[act]] - lay.z_offset
    first = Rows(
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


def _add_min_services(lay: Layout) -> list[Rows]:
    """min_services[m, t]: sum_{o in m} a[o, t] - min_services_m u[m, t] >= 0;
    used_link[s, m, t]: sum_{o of s in m} a[o, t] - u[m, t] <= 0 (a mode used in year t is used
    by at least min_services services that year)."""
    if not lay.u_mode.shape[0]:
        return []
    u_col = _indicator_grid(lay, lay.u_mode, lay.u_year, lay.u_offset)
    act = np.flatnonzero(u_col[lay.act_mode, lay.act_year] >= 0)
    table = lay.table
    years = table.years
    num_u = int(lay.u_mode.shape[0])
    u_of_act = u_col[lay.act_mode[act], lay.act_year[act]]
    minimum = table.min_services[lay.u_mode].astype(np.float64)
    count = Rows(
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
    rows, keys = _service_mode_year_rows(lay, act)
    row_u = u_col[(keys // years) % table.num_modes, keys % years]
    link = Rows(
        "used_link",
        np.concatenate((rows, np.arange(keys.shape[0], dtype=np.int64))),
        np.concatenate((lay.act_offset + act, row_u)),
        np.concatenate((np.ones(act.shape[0]), -np.ones(keys.shape[0]))),
        np.full(keys.shape[0], -INF),
        np.zeros(keys.shape[0]),
    )
    return [count, link]


def _add_investment_once(lay: Layout) -> Rows | None:
    """investment_once[j]: sum_t i[j, t] <= 1 (each investment is made in at most one year)."""
    count = int(lay.i_index.shape[0])
    if not count:
        return None
    investments = lay.table.instance.investments
    return Rows(
        "investment_once",
        lay.i_index,
        lay.i_offset + np.arange(count, dtype=np.int64),
        np.ones(count),
        np.full(len(investments), -INF),
        np.ones(len(investments)),
        tuple(investment.id for investment in investments),
    )


# ---------------------------------------------------------------------- compiled model
@dataclass(frozen=True)
class MultiYearModel:
    """A compiled multi-year model and the maps back to the instance.

    Attributes:
        model: the linear model (every column binary).
        layout: the columns (arcs, activities, first-use and in-use indicators).
        forbidden: (option, year) pairs left out because they alone break a yearly row
            (:func:`knapsack_forbidden`); 0 for a model of every arc.
    """

    model: LinearModel
    layout: Layout
    forbidden: int = 0

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
        made = np.flatnonzero(np.asarray(x[lay.i_offset : lay.num_cols]) > 0.5)
        investments = table.instance.investments
        return Decisions(
            (
                ServicePath(sid, broken.get(s), tuple(starts[s]))
                for s, sid in enumerate(table.service_ids)
            ),
            {
                investments[int(lay.i_index[k])].id: int(lay.i_year[k])
                for k in made.tolist()
            },
        )

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
        x[lay.u_offset : lay.w_offset] = used[lay.u_mode, lay.u_year]
        x[lay.w_offset : lay.i_offset] = used[lay.w_mode, lay.w_year]
        made = investments_of(paths)
        ids = [investment.id for investment in table.instance.investments]
        for k, (j, t) in enumerate(zip(lay.i_index.tolist(), lay.i_year.tolist(), strict=True)):
            x[lay.i_offset + k] = float(made.get(ids[j]) == t)
        return x


def compile_multi_year(
    instance: Instance, reduce: bool = True, *, table: YearTable | None = None
) -> MultiYearModel:
    """Compile an instance with a horizon into a LinearModel and the maps back to the instance.

    Args:
        instance: an instance with a horizon.
        reduce: leave out the options another option of the same service, mode, contract length
            and lead time dominates in every row and the objective
            (:mod:`portfolio.multiyear.dominance`); the optimum is unchanged. False gives the
            model of every option (a scenario whose figures differ must not rely on one
            instance's dominance).
        table: the instance's table when the caller already has it (a funding scenario's: the
            base table with the scenario's costs, :mod:`portfolio.scenarios.compile`).

    Raises:
        ValueError: the instance has no horizon.
    """
    table = table if table is not None else YearTable.from_instance(instance)
    compiled = _compile(instance, _layout(table))
    if not reduce:
        return compiled
    lay = compiled.layout
    dropped = dominated_options(
        compiled.model, table, lay.arcs, lay.act_option, lay.act_year, lay.act_offset
    )
    if dropped.any():
        compiled = _compile(instance, _layout(table, dropped))
    forbidden = np.zeros((table.num_options, table.years), dtype=np.bool_)
    for _ in range(MAX_KNAPSACK_ROUNDS):
        more = knapsack_forbidden(compiled) & ~forbidden
        if not more.any():
            break
        lay = _layout(table, dropped, forbidden | more)
        if np.isin(lay.supply, lay.arcs.tail, invert=True).any():
            # Some service has no plan left: the instance is infeasible; the solver proves it
            # on the model as it stands.
            break
        forbidden |= more
        compiled = MultiYearModel(
            _compile(instance, lay).model, lay, int(np.count_nonzero(forbidden))
        )
    return compiled


MAX_KNAPSACK_ROUNDS = 8
"""Rounds of :func:`knapsack_forbidden` (each round's removals can raise a service's cheapest
choice, and so remove more in the next)."""

#: Row families of the network itself (equalities the reduction does not read).
_NETWORK_KINDS = frozenset({"flow", "activity", "arrangement"})


def knapsack_forbidden(compiled: MultiYearModel) -> BoolArray:
    """(option, year) pairs that alone break a yearly row whatever the other services choose.

    For a row sum_j A_rj x_j <= U (a lower bound is the same with the signs turned) whose every
    entry is an activity a[o, t]: every service s is in exactly one arrangement in every year t'
    (the ``arrangement`` rows), so its activities of year t' add at least
    m_r(s, t') = min_{o of s running in t'} A_r(o, t') (an activity the row does not read counts
    0), and the row's activity is at least sum_{s, t'} m_r(s, t'). Running o in year t then adds
    A_r(o, t) - m_r(s(o), t) more, so when

        A_r(o, t) - m_r(s(o), t) > U - sum_{s, t'} m_r(s, t'),

    no plan runs o in year t. This is the single-period knapsack reduction
    (``portfolio.compile``) per year, read off the compiled matrix as the dominance test is, so
    yearly lists, indexation, effects (terms on other years' activities) and every limit family
    are covered without a rule per family. Rows that read other columns (arcs, indicators,
    investments) are not used.

    Returns:
        options x years, True where o cannot run in year t (nothing when a row cannot be met by
        any plan: the solver then proves the instance infeasible).
    """
    lay = compiled.layout
    table = lay.table
    model = compiled.model
    forbidden = np.zeros((table.num_options, table.years), dtype=np.bool_)
    matrix = model.matrix
    act_lo, act_hi = lay.act_offset, lay.z_offset
    row_kind = np.empty(model.num_rows, dtype=object)
    for block in model.blocks:
        row_kind[block.start : block.stop] = block.kind
    nnz = np.diff(matrix.indptr)
    row_of = np.repeat(np.arange(model.num_rows), nnz)
    outside = (matrix.indices < act_lo) | (matrix.indices >= act_hi)
    reads_other = np.bincount(row_of[outside], minlength=model.num_rows) > 0
    network = np.isin(row_kind, list(_NETWORK_KINDS))
    rows = np.flatnonzero(~reads_other & ~network & (nnz > 0))
    if not rows.shape[0] or not lay.num_act:
        return forbidden
    coef = matrix[rows][:, act_lo:act_hi].toarray()
    group = lay.act_service * table.years + lay.act_year
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    group_index = np.empty(lay.num_act, dtype=np.int64)
    group_index[order] = np.cumsum(np.r_[True, np.diff(group[order]) != 0]) - 1
    bad = np.zeros(lay.num_act, dtype=np.bool_)
    for sign, bound in ((1.0, model.row_upper[rows]), (-1.0, -model.row_lower[rows])):
        has = np.isfinite(bound)
        if not has.any():
            continue
        side = sign * coef[has]
        least = np.minimum.reduceat(side[:, order], starts, axis=1)
        slack = bound[has] - least.sum(axis=1)
        tolerance = 1e-9 * np.maximum(1.0, np.abs(bound[has]))
        if (slack < -tolerance).any():
            return forbidden
        excess = side - least[:, group_index]
        bad |= (excess > (slack + tolerance)[:, None]).any(axis=0)
    forbidden[lay.act_option[bad], lay.act_year[bad]] = True
    return forbidden


def _compile(instance: Instance, lay: Layout) -> MultiYearModel:
    """Stack every family's rows over a layout's columns."""
    table = lay.table
    cols = lay.columns
    blocks: list[Rows | None] = [_add_flow(lay), _add_activity(lay)]
    blocks += kernels.totals(cols, instance.constraints)
    blocks += kernels.capacity(cols)
    blocks += _add_min_services(lay)
    blocks += kernels.sector_share(cols)
    blocks.append(kernels.same_mode(cols, table.service, table.mode))
    blocks += kernels.limits(cols)
    blocks += _add_setup(lay)
    if instance.constraints.max_modes_used is not None:
        blocks += kernels.max_modes_used(cols, instance.constraints.max_modes_used)
    blocks.append(_add_investment_once(lay))
    blocks.append(_add_arrangement(lay))
    sense, coef = kernels.objective(cols)
    model = kernels.assemble([b for b in blocks if b is not None], lay.num_cols, sense, coef)
    return MultiYearModel(model, lay)
