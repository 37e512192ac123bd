"""Each service's plan as a path through a network of contracts (models/multi_year.md).

Nodes ``(t, p)``: "a new arrangement starts in horizon year t, and the service ran in mode p the
year before" (for t = 0, p is the current mode); a source ``SRC`` for services locked into an
existing contract; an end node ``END`` (the end of the horizon). Arcs: a contract of option o
started in year t from node (t, p), covering years t .. t + L_o - 1 and ending in
(t + L_o, mode(o)) or END; the existing contract kept to its end; the existing contract broken in
year b. Everything is built as arrays over (service, option, start year, previous mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portfolio.linear import BoolArray, FloatArray, IntArray
from portfolio.multiyear.table import NO_LOCK, YearTable

ARC_NEW = 0
"""Arc kind: a contract the plan starts."""
ARC_KEPT = 1
"""Arc kind: the existing contract, run to its end."""
ARC_BROKEN = 2
"""Arc kind: the existing contract, broken (the fee is paid in the year the arc ends)."""


# ---------------------------------------------------------------------- arcs
@dataclass(frozen=True)
class Arcs:
    """The arcs of every service's network, as arrays (one entry per arc).

    Attributes:
        service: service index.
        option: global option index (the current option for existing-contract arcs).
        kind: :data:`ARC_NEW`, :data:`ARC_KEPT` or :data:`ARC_BROKEN`.
        start: first horizon year the arc covers (0 for existing-contract arcs).
        cover: number of horizon years the arc covers (0 for a break in year 0).
        prev: mode of the year before ``start`` (new contracts), else -1.
        change: a new contract whose mode differs from the year before.
        fee_year: year the termination fee is paid (broken arcs), else -1.
        fee: termination fee (broken arcs), else 0.
        tail: tail node id.
        head: head node id.
    """

    service: IntArray
    option: IntArray
    kind: IntArray
    start: IntArray
    cover: IntArray
    prev: IntArray
    change: BoolArray
    fee_year: IntArray
    fee: FloatArray
    tail: IntArray
    head: IntArray

    def __len__(self) -> int:
        return int(self.service.shape[0])

    def take(self, index: IntArray | BoolArray) -> Arcs:
        """The arcs selected by an index or mask."""
        return Arcs(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})


@dataclass(frozen=True)
class Nodes:
    """Node numbering: ``service * per_service + code``; code 0 is the source of a locked
    service, ``1 + t * modes + p`` the node (t, p), ``per_service - 1`` the end of the horizon."""

    years: int
    modes: int

    @property
    def per_service(self) -> int:
        """Node ids per service."""
        return self.years * self.modes + 2

    @property
    def end_code(self) -> int:
        """Code of the end node."""
        return self.per_service - 1

    def node(self, service: IntArray, year: IntArray, mode: IntArray) -> IntArray:
        """Id of node (year, mode) of each service; END where year >= years."""
        code = np.where(year >= self.years, self.end_code, 1 + year * self.modes + mode)
        return np.asarray(service * self.per_service + code, dtype=np.int64)

    def source(self, service: IntArray) -> IntArray:
        """Id of the source of each (locked) service."""
        return np.asarray(service * self.per_service, dtype=np.int64)

    def time(self, node: IntArray) -> IntArray:
        """Time of each node: -1 for a source, t for (t, p), ``years`` for the end."""
        code = node % self.per_service
        inner = (code - 1) // self.modes
        return np.asarray(
            np.where(code == 0, -1, np.where(code == self.end_code, self.years, inner)),
            dtype=np.int64,
        )

    def is_end(self, node: IntArray) -> BoolArray:
        """True for end nodes."""
        return np.asarray(node % self.per_service == self.end_code, dtype=np.bool_)

    def label(self, node: int, table: YearTable) -> str:
        """Readable name of a node."""
        service, code = divmod(int(node), self.per_service)
        sid = table.service_ids[service]
        if code == 0:
            return f"{sid}/existing contract"
        if code == self.end_code:
            return f"{sid}/end"
        year, mode = divmod(code - 1, self.modes)
        return f"{sid}/{table.horizon.start_year + year} after {table.mode_ids[mode]}"


def build_arcs(
    table: YearTable, forbidden: BoolArray | None = None
) -> tuple[Arcs, IntArray, Nodes]:
    """Every arc that lies on some source-to-end path, the supply node of each service, and the
    node numbering.

    ``forbidden`` (options x years), when given, marks (option, year) pairs no plan can run
    (:func:`portfolio.multiyear.compile.knapsack_forbidden`): arcs that run one are not built.

    New contracts of option o start in every year t >= lead_o from every node (t, p) with p a mode
    the service can be in (t = 0: only the current mode). The existing contract of a locked
    service (lock end E, the last locked year index) gives one kept arc SRC -> (E + 1, current) and,
    when it can be broken, one broken arc SRC -> (b, current) for each b in 0 .. min(E, H - 1).
    Options a red line forbids (statutory ceasing, ``fixed``) give no arc covering a year.
    Arcs not on any source-to-end path are dropped (forward and backward reachability, one
    vectorised pass per year).
    """
    years = table.years
    modes = table.num_modes
    nodes = Nodes(years, modes)
    allowed = table.allowed_options()
    cur = table.current_mode

    # New contracts: every (option, start year, previous mode) that makes sense.
    has_mode = np.zeros((table.num_services, modes), dtype=np.bool_)
    has_mode[table.service[allowed], table.mode[allowed]] = True
    has_mode[np.arange(table.num_services), cur] = True
    t_grid = np.arange(years)
    p_grid = np.arange(modes)
    svc = table.service
    mask = (
        allowed[:, None, None]
        & (t_grid[None, :] >= table.lead[:, None])[:, :, None]
        & has_mode[svc][:, None, :]
        & ((t_grid > 0)[None, :, None] | (p_grid[None, :] == cur[svc][:, None])[:, None, :])
    )
    o_new, t_new, p_new = (np.asarray(a, dtype=np.int64) for a in np.nonzero(mask))
    s_new = svc[o_new]
    end_new = t_new + table.length[o_new]
    new = Arcs(
        service=s_new,
        option=o_new,
        kind=np.full(o_new.shape[0], ARC_NEW, dtype=np.int64),
        start=t_new,
        cover=np.minimum(end_new, years) - t_new,
        prev=p_new,
        change=table.mode[o_new] != p_new,
        fee_year=np.full(o_new.shape[0], -1, dtype=np.int64),
        fee=np.zeros(o_new.shape[0]),
        tail=nodes.node(s_new, t_new, p_new),
        head=nodes.node(s_new, end_new, table.mode[o_new]),
    )

    # The existing contract of locked services: kept to its end, or broken in year b.
    locked = np.flatnonzero(table.lock_end != NO_LOCK)
    lock_end = table.lock_end[locked]
    current_ok = allowed[table.current_option[locked]]
    kept_s = locked[current_ok]
    kept_cover = np.minimum(lock_end[current_ok] + 1, years)
    breakable = locked[np.isfinite(table.termination[locked])]
    last_break = np.minimum(table.lock_end[breakable], years - 1)
    # A break in year b > 0 runs the current option in years 0 .. b - 1.
    last_break = np.where(allowed[table.current_option[breakable]], last_break, 0)
    counts = last_break + 1
    broken_s = np.repeat(breakable, counts)
    broken_b = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    ex_s = np.concatenate((kept_s, broken_s)).astype(np.int64)
    ex_cover = np.concatenate((kept_cover, broken_b)).astype(np.int64)
    ex_kind = np.concatenate(
        (np.full(kept_s.shape[0], ARC_KEPT), np.full(broken_s.shape[0], ARC_BROKEN))
    ).astype(np.int64)
    is_broken = ex_kind == ARC_BROKEN
    existing = Arcs(
        service=ex_s,
        option=table.current_option[ex_s],
        kind=ex_kind,
        start=np.zeros(ex_s.shape[0], dtype=np.int64),
        cover=ex_cover,
        prev=np.full(ex_s.shape[0], -1, dtype=np.int64),
        change=np.zeros(ex_s.shape[0], dtype=np.bool_),
        fee_year=np.where(is_broken, ex_cover, -1).astype(np.int64),
        fee=np.where(is_broken, table.termination[ex_s], 0.0),
        tail=nodes.source(ex_s),
        head=nodes.node(ex_s, ex_cover, cur[ex_s]),
    )
    arcs = Arcs(
        **{
            name: np.concatenate((getattr(new, name), getattr(existing, name)))
            for name in Arcs.__dataclass_fields__
        }
    )
    if forbidden is not None:
        arcs = arcs.take(~_runs_forbidden(arcs, forbidden))
    unlocked = table.lock_end == NO_LOCK
    services = np.arange(table.num_services, dtype=np.int64)
    supply = np.where(
        unlocked, nodes.node(services, np.zeros_like(services), cur), nodes.source(services)
    ).astype(np.int64)
    return arcs.take(_on_some_path(arcs, supply, nodes)), supply, nodes


def _runs_forbidden(arcs: Arcs, forbidden: BoolArray) -> BoolArray:
    """Arcs that run their option in a forbidden year."""
    cover = arcs.cover
    arc = np.repeat(np.arange(len(arcs), dtype=np.int64), cover)
    first = np.repeat(np.cumsum(cover) - cover, cover)
    offset = np.arange(int(cover.sum()), dtype=np.int64) - first
    hit = forbidden[arcs.option[arc], arcs.start[arc] + offset]
    return np.asarray(np.bincount(arc[hit], minlength=len(arcs)) > 0, dtype=np.bool_)


def _on_some_path(arcs: Arcs, supply: IntArray, nodes: Nodes) -> BoolArray:
    """Arcs whose tail is reachable from the source and whose head reaches the end."""
    total = int(supply.shape[0]) * nodes.per_service
    tail_time = nodes.time(arcs.tail)
    reach = np.zeros(total, dtype=np.bool_)
    reach[supply] = True
    for time in range(-1, nodes.years):
        at = np.flatnonzero(tail_time == time)
        reach[arcs.head[at[reach[arcs.tail[at]]]]] = True
    coreach = np.zeros(total, dtype=np.bool_)
    coreach[nodes.is_end(np.arange(total))] = True
    for time in range(nodes.years - 1, -2, -1):
        at = np.flatnonzero(tail_time == time)
        coreach[arcs.tail[at[coreach[arcs.head[at]]]]] = True
    return np.asarray(reach[arcs.tail] & coreach[arcs.head], dtype=np.bool_)
