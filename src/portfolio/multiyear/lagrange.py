"""A bound and a start for multi-year models without the full LP: Lagrangian relaxation of the
coupling rows, per-service longest paths, column generation and a restricted master MIP.

Each service's plan is a path through its contract network (:mod:`portfolio.multiyear.network`);
the flow and activity rows describe exactly those paths, and every other row (budget,
transition budget, outcome, flexibility, changes, capacity, shares, limits, setup and in-use
links, bundles...) couples services. Priced by multipliers ``y`` on the coupling rows, the model
falls apart into one longest-path problem per service over a DAG (arcs always go forward in
time), solved for every service at once by one numpy pass per start year
(:meth:`Relaxation.best_paths`), plus a box for the shared columns (first use, in use,
investments). For any ``y`` of the right signs,

    L(y) = sum_s max_path (c - A'y)(path) + sum_shared max(0, (c - A'y)_j) + sum_i y_i b_i(y)

(in the maximising sense, with ``b_i = upper_i`` where ``y_i > 0`` and ``lower_i`` where
``y_i < 0``) is a valid bound on the optimum; its minimum over ``y`` equals the LP bound, since
each service's polytope is integral.

:func:`lagrangian_start`:

1. **Subgradient** steps (Polyak, on rows scaled to unit largest coefficient) give a first
   bound and collect each service's paths.
2. **Column generation**: a master LP over the paths collected (one convexity row per service,
   the coupling rows, the shared columns) gives multipliers (its duals); each service's best
   path at those prices is added when it prices out. Every pass's ``L(y)`` is a valid bound, and
   the master's value is a plan value of the relaxation, so the two meet at the LP bound. The
   master has the coupling rows and one row per service: far smaller than the network model.
3. **Repair**: the master solved as a MIP over the paths collected: a plan that meets every
   row by construction (the paths meet the network rows), found within the time left.

The plan is the pipeline's MIP start and its fallback (verified like every plan); the bound is
kept when it is tighter than the backend's.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from portfolio.backends import lp_backend
from portfolio.backends.highs import new_highs
from portfolio.heuristic import HeuristicPlan
from portfolio.linear import BoolArray, FloatArray, IntArray, Sense, fix_columns
from portfolio.multiyear.compile import MultiYearModel
from portfolio.params import SolveParams

#: Row families of the service networks (every other row couples services); each service's
#: arrangement rows are implied by its flow and activity rows, so a path meets them.
NETWORK_FAMILIES = frozenset({"flow", "activity", "arrangement"})
#: Subgradient steps before column generation.
SUBGRADIENT_STEPS = 8
#: Prices (in units of the mean path value) at which the paths sparing the rows broken at
#: y = 0 are collected.
SPARING_SCALES = (0.1, 1.0, 10.0)
#: Most column-generation passes.
MAX_PASSES = 60
#: Share of the time the bound phases (subgradient and column generation) may use; the rest is
#: for the master MIP.
BOUND_SHARE = 0.6
#: Column generation stops when the master LP is within this share of the requested gap of
#: the bound.
BOUND_GAP_SHARE = 0.001
#: A path at or above 1 less this in the master LP settles its service.
SETTLED_TOL = 1e-6
#: While the master LP has no plan among its paths (it uses its slacks), column generation
#: may go on to this share of the time.
ELASTIC_SHARE = 0.8
#: Master MIPs: the share of services freed besides the ones the master LP leaves fractional.
WIDENING = (0.0, 0.1, 0.3)
#: Share of the time left that the Lagrangian start may use (the heuristic's guard allows a
#: little more, :data:`portfolio.guard.HEURISTIC_SHARE`).
TIME_SHARE = 0.55
#: Below this many columns the full MIP is quick and the Lagrangian start is not used.
MIN_COLUMNS = 5000


@dataclass(frozen=True)
class LagrangeResult:
    """What :func:`lagrangian_start` found.

    Attributes:
        x: the plan's full column vector (None when no plan was found).
        bound: the best Lagrangian bound, in the model's objective (None if no pass ended).
        master: the value of the last master LP that needed no slack (a plan of the relaxation
            over the paths), in the model's objective; the LP bound when column generation ended.
        passes: subgradient steps and column-generation passes made.
        paths: paths collected.
        seconds: wall-clock seconds.
    """

    x: FloatArray | None
    bound: float | None
    master: float | None
    passes: int
    paths: int
    seconds: float


class Relaxation:
    """The model split into its service networks and its coupling rows.

    Attributes:
        compiled: the compiled multi-year model.
        sign: +1 when the model maximises, -1 when it minimises (every value here is in the
            maximising sense, ``sign * objective``).
        profit: the objective of each column in the maximising sense.
        coupling: the coupling rows, scaled so that each row's largest coefficient is 1.
        lower, upper: the coupling rows' bounds (scaled).
        rows: the model's row index of each coupling row.
    """

    def __init__(self, compiled: MultiYearModel) -> None:
        self.compiled = compiled
        model = compiled.model
        lay = compiled.layout
        self.sign = 1.0 if model.sense is Sense.MAXIMISE else -1.0
        self.profit: FloatArray = self.sign * np.asarray(model.objective, dtype=np.float64)
        self.offset = self.sign * float(model.objective_offset)
        keep = np.ones(model.num_rows, dtype=np.bool_)
        for block in model.blocks:
            if block.kind in NETWORK_FAMILIES:
                keep[block.start : block.stop] = False
        self.rows: IntArray = np.flatnonzero(keep)
        matrix = sp.csr_matrix(model.matrix[self.rows])
        scale = np.ones(self.rows.shape[0])
        if matrix.nnz:
            largest = np.asarray(abs(matrix).max(axis=1).todense()).ravel()
            scale = np.where(largest > 0, largest, 1.0)
        self.coupling = sp.csr_matrix(sp.diags(1.0 / scale) @ matrix)
        self.coupling_t = sp.csr_matrix(self.coupling.T)
        self.lower: FloatArray = np.asarray(model.row_lower[self.rows], dtype=np.float64) / scale
        self.upper: FloatArray = np.asarray(model.row_upper[self.rows], dtype=np.float64) / scale
        self.num_services = compiled.table.num_services
        self.num_arcs = lay.num_arcs
        self.shared: IntArray = np.arange(lay.z_offset, lay.num_cols, dtype=np.int64)
        arcs = lay.arcs
        self.tail: IntArray = arcs.tail
        self.head: IntArray = arcs.head
        nodes = lay.nodes
        self.num_nodes = self.num_services * nodes.per_service
        self.supply: IntArray = lay.supply
        self.end: IntArray = (
            np.arange(self.num_services, dtype=np.int64) * nodes.per_service + nodes.end_code
        )
        # Arcs grouped by the time of their tail (a DAG: heads are later), each group sorted by
        # head, with the start of each head's run.
        tail_time = nodes.time(arcs.tail)
        self.groups: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
        for t in range(-1, nodes.years):
            at = np.flatnonzero(tail_time == t)
            if not at.shape[0]:
                continue
            at = at[np.argsort(arcs.head[at], kind="stable")]
            heads, starts, counts = np.unique(
                arcs.head[at], return_index=True, return_counts=True
            )
            self.groups.append((at, heads, starts, counts))
        # Each arc's columns: itself and the activities it runs.
        self.cover_arc: IntArray = lay.cover_arc
        self.cover_col: IntArray = lay.act_offset + lay.cover_act
        self.service_of_arc: IntArray = arcs.service
        #: Price of a unit of a scaled coupling row's excess in the master LP.
        self.penalty = 10.0 * max(1.0, float(np.abs(self.profit).sum()))
        #: Arcs to model columns (each arc, and the activities it runs), built when first needed.
        self.arc_columns: sp.csr_matrix | None = None

    # ------------------------------------------------------------------ pricing
    def reduced(self, y: FloatArray) -> FloatArray:
        """Each column's profit less the priced coupling rows: ``c - A'y``."""
        return np.asarray(self.profit - self.coupling_t @ y, dtype=np.float64)

    def arc_profit(self, reduced: FloatArray) -> FloatArray:
        """Each arc's reduced profit: its own and that of the activities it runs."""
        return np.asarray(
            reduced[: self.num_arcs]
            + np.bincount(self.cover_arc, reduced[self.cover_col], minlength=self.num_arcs),
            dtype=np.float64,
        )

    def best_paths(self, arc_profit: FloatArray) -> tuple[BoolArray, FloatArray]:
        """Each service's longest source-to-end path by ``arc_profit``: the arcs chosen and each
        service's path value. Ties go to the arc first in (head, arc index) order.

        One vectorised pass per tail time: every node of that time has its final value when its
        out-arcs are read, since arcs run forward in time.
        """
        value = np.full(self.num_nodes, -np.inf)
        value[self.supply] = 0.0
        pred = np.full(self.num_nodes, -1, dtype=np.int64)
        for at, heads, starts, counts in self.groups:
            cand = value[self.tail[at]] + arc_profit[at]
            best = np.maximum.reduceat(cand, starts)
            position = np.arange(at.shape[0], dtype=np.int64)
            first = np.minimum.reduceat(
                np.where(cand >= np.repeat(best, counts), position, at.shape[0]), starts
            )
            better = best > value[heads]
            value[heads[better]] = best[better]
            pred[heads[better]] = at[first[better]]
        chosen = np.zeros(self.num_arcs, dtype=np.bool_)
        node = self.end.copy()
        going = node != self.supply
        while going.any():
            arc = pred[node[going]]
            chosen[arc] = True
            node[going] = self.tail[arc]
            going = node != self.supply
        return chosen, value[self.end]

    def columns(self, chosen: BoolArray) -> FloatArray:
        """The column vector of the chosen arcs (activities from their cover; shared columns 0)."""
        x = np.zeros(self.profit.shape[0])
        x[: self.num_arcs] = chosen
        x += np.bincount(self.cover_col, x[self.cover_arc], minlength=x.shape[0])
        return x

    def constant(self, y: FloatArray) -> float:
        """``sum_i y_i b_i(y)``: the priced bounds (``upper`` where y > 0, ``lower`` where
        y < 0)."""
        pos = np.where(y > 0, y * np.where(np.isfinite(self.upper), self.upper, 0.0), 0.0)
        neg = np.where(y < 0, y * np.where(np.isfinite(self.lower), self.lower, 0.0), 0.0)
        return float(pos.sum() + neg.sum())

    def project(self, y: FloatArray) -> FloatArray:
        """Multipliers of the right signs: none above 0 on a row with no upper bound, none below
        0 on a row with no lower bound."""
        y = np.where(np.isfinite(self.upper), y, np.minimum(y, 0.0))
        return np.asarray(np.where(np.isfinite(self.lower), y, np.maximum(y, 0.0)), np.float64)

    def evaluate(self, y: FloatArray) -> tuple[float, BoolArray, FloatArray, FloatArray]:
        """``L(y)`` (maximising sense), the chosen arcs, the relaxation's column vector and the
        column reduced profits, for multipliers of the right signs."""
        reduced = self.reduced(y)
        chosen, values = self.best_paths(self.arc_profit(reduced))
        x = self.columns(chosen)
        shared = reduced[self.shared]
        x[self.shared] = shared > 0
        bound = float(values.sum()) + float(np.maximum(shared, 0.0).sum())
        return bound + self.constant(y) + self.offset, chosen, x, reduced


# ---------------------------------------------------------------------- master problem
def _row_keys(rows: IntArray) -> npt.NDArray[np.void]:
    """Each row of an integer matrix as one opaque value (equal rows, equal values)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()


class _Master:
    """The restricted master: convex combinations of each service's collected paths, and the
    shared columns, under the coupling rows (scaled as in the relaxation)."""

    def __init__(self, relax: Relaxation) -> None:
        self.relax = relax
        # Every path in the master, one row each (its arcs ascending, padded with -1).
        self.known = np.zeros((0, 1), dtype=np.int64)
        self.path_service: list[IntArray] = []
        self.path_arcs: list[sp.csc_matrix] = []  # arcs x paths, per batch
        self.num_paths = 0
        self.lp: Any = None  # the master LP's HiGHS object, kept for warm starts
        self.lp_fixed = 0  # its columns before the paths (shared, slacks)
        self.lp_batches = 0  # batches of paths it holds

    def add(self, chosen: BoolArray, services: BoolArray | None = None) -> int:
        """Add each service's path in ``chosen`` (only ``services`` when given) not yet in the
        master; the number added."""
        relax = self.relax
        arcs = np.flatnonzero(chosen)
        svc = relax.service_of_arc[arcs]
        if services is not None:
            keep = services[svc]
            arcs, svc = arcs[keep], svc[keep]
        order = np.lexsort((arcs, svc))
        arcs, svc = arcs[order], svc[order]
        owners, starts = np.unique(svc, return_index=True)
        if not owners.size:
            return 0
        lengths = np.diff(np.append(starts, arcs.shape[0]))
        # Each service's path as one row; the rows not in the master yet are added.
        width = max(int(lengths.max()), self.known.shape[1])
        rows = np.full((owners.shape[0], width), -1, dtype=np.int64)
        entry_owner = np.repeat(np.arange(owners.shape[0]), lengths)
        rows[entry_owner, np.arange(arcs.shape[0]) - starts[entry_owner]] = arcs
        if width > self.known.shape[1]:
            padding = np.full((self.known.shape[0], width - self.known.shape[1]), -1)
            self.known = np.hstack((self.known, padding))
        fresh = ~np.isin(_row_keys(rows), _row_keys(self.known))
        if not fresh.any():
            return 0
        self.known = np.vstack((self.known, rows[fresh]))
        picked = np.flatnonzero(fresh)
        index = arcs[fresh[entry_owner]]
        column = np.repeat(np.arange(picked.shape[0], dtype=np.int64), lengths[picked])
        batch = sp.csc_matrix(
            (np.ones(index.shape[0]), (index, column)), shape=(relax.num_arcs, picked.shape[0])
        )
        self.path_arcs.append(batch)
        self.path_service.append(owners[picked])
        self.num_paths += int(picked.shape[0])
        return int(picked.shape[0])

    def arrays(self) -> tuple[IntArray, sp.csc_matrix]:
        """Every path's service and its arcs (arcs x paths)."""
        return np.concatenate(self.path_service), sp.csc_matrix(sp.hstack(self.path_arcs))

    def path_columns(
        self, service: IntArray, arcs: sp.csc_matrix
    ) -> tuple[sp.csc_matrix, FloatArray]:
        """The master columns of some paths (coupling rows, then one convexity row per
        service) and their profits."""
        relax = self.relax
        # Each path's columns: its arcs and the activities they run.
        if relax.arc_columns is None:
            cover = sp.csr_matrix(
                (np.ones(relax.cover_arc.shape[0]), (relax.cover_col, relax.cover_arc)),
                shape=(relax.profit.shape[0], relax.num_arcs),
            )
            ident = sp.eye(relax.profit.shape[0], relax.num_arcs, format="csr")
            relax.arc_columns = sp.csr_matrix(ident + cover)
        cols = sp.csc_matrix(relax.arc_columns @ arcs)
        path_rows = sp.csc_matrix(relax.coupling @ cols)
        profit = np.asarray(cols.T @ relax.profit, dtype=np.float64)
        convex = sp.csc_matrix(
            (np.ones(service.shape[0]), (service, np.arange(service.shape[0]))),
            shape=(relax.num_services, service.shape[0]),
        )
        return sp.vstack((path_rows, convex), format="csc"), profit

    def model(self) -> tuple[sp.csc_matrix, FloatArray, IntArray]:
        """The master's matrix (coupling rows, then one convexity row per service; columns the
        paths, then the shared columns), the columns' profits and each path's service."""
        relax = self.relax
        service, arcs = self.arrays()
        paths, profit = self.path_columns(service, arcs)
        matrix = sp.hstack((paths, self.shared_columns()), format="csc")
        return matrix, np.concatenate((profit, relax.profit[relax.shared])), service

    def shared_columns(self) -> sp.csc_matrix:
        """The master columns of the shared columns (no convexity entries)."""
        relax = self.relax
        return sp.vstack(
            (
                sp.csc_matrix(relax.coupling[:, relax.shared]),
                sp.csc_matrix((relax.num_services, relax.shared.shape[0])),
            ),
            format="csc",
        )

    def slack_columns(self) -> tuple[sp.csc_matrix, int]:
        """Elastic rows: a slack per finite bound of a coupling row (a high price keeps the LP
        feasible while the paths collected cannot meet every row yet; the MIP has none)."""
        relax = self.relax
        up = np.flatnonzero(np.isfinite(relax.upper))
        low = np.flatnonzero(np.isfinite(relax.lower))
        slack_rows = np.concatenate((up, low))
        slacks = sp.csc_matrix(
            (
                np.concatenate((-np.ones(up.shape[0]), np.ones(low.shape[0]))),
                (slack_rows, np.arange(slack_rows.shape[0])),
            ),
            shape=(relax.rows.shape[0] + relax.num_services, slack_rows.shape[0]),
        )
        return slacks, int(slack_rows.shape[0])

    def solve_lp(
        self, time_limit: float | None, threads: int | None
    ) -> tuple[float, FloatArray, FloatArray, float] | None:
        """The master LP, warm-started from the previous pass's basis (the paths added since are
        appended as columns): its value (maximising sense, without the offset), each path's
        value, the coupling rows' multipliers (maximising sense, scaled rows) and the slacks'
        total; None when it did not solve to optimality."""
        import highspy

        relax = self.relax
        inf = highspy.kHighsInf
        if self.lp is None:
            slacks, num_slacks = self.slack_columns()
            matrix = sp.hstack((self.shared_columns(), slacks), format="csc")
            num_cols = int(matrix.shape[1])
            h = _master_highs(
                relax,
                matrix,
                np.concatenate((-relax.profit[relax.shared], np.full(num_slacks, relax.penalty))),
                np.concatenate((np.ones(relax.shared.shape[0]), np.full(num_slacks, inf))),
                False,
                threads,
            )
            self.lp = h
            self.lp_fixed = num_cols
        h = self.lp
        for batch in range(self.lp_batches, len(self.path_arcs)):
            columns, profit = self.path_columns(self.path_service[batch], self.path_arcs[batch])
            count = int(columns.shape[1])
            h.addCols(
                count,
                -profit,
                np.zeros(count),
                np.ones(count),
                int(columns.nnz),
                columns.indptr[:-1].astype(np.int32),
                columns.indices.astype(np.int32),
                columns.data,
            )
        self.lp_batches = len(self.path_arcs)
        h.setOptionValue("time_limit", inf if time_limit is None else max(0.01, time_limit))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = h.getSolution()
        values = np.asarray(solution.col_value, dtype=np.float64)
        duals = -np.asarray(solution.row_dual, dtype=np.float64)[: relax.rows.shape[0]]
        value = -float(h.getInfo().objective_function_value)
        slack = float(values[relax.shared.shape[0] : self.lp_fixed].sum())
        return value, values[self.lp_fixed :], duals, slack


def _master_highs(
    relax: Relaxation,
    matrix: sp.csc_matrix,
    cost: FloatArray,
    col_upper: FloatArray,
    integral: bool,
    threads: int | None,
) -> Any:
    """A HiGHS object holding a master problem (minimising ``cost``; rows: the coupling rows,
    then one convexity row per service; columns from 0 to ``col_upper``)."""
    import highspy

    inf = highspy.kHighsInf
    h = new_highs()
    h.setOptionValue("output_flag", False)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    num_cols = int(matrix.shape[1])
    h.passModel(
        num_cols,
        int(matrix.shape[0]),
        int(matrix.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        np.zeros(num_cols),
        col_upper,
        np.concatenate((np.clip(relax.lower, -inf, inf), np.ones(relax.num_services))),
        np.concatenate((np.clip(relax.upper, -inf, inf), np.ones(relax.num_services))),
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
        np.full(num_cols, 1 if integral else 0, dtype=np.int32),
    )
    return h


def _solve_master(
    relax: Relaxation,
    master: _Master,
    *,
    time_limit: float | None,
    rel_gap: float = 1e-4,
    threads: int | None = None,
    closed: BoolArray | None = None,
) -> tuple[float | None, FloatArray | None]:
    """The master MIP over the paths collected (``closed`` paths may not be chosen): its value
    (maximising sense, without the offset) and column values (paths, then shared columns), or
    None and None when it found no plan."""
    matrix, profit, _ = master.model()
    upper = np.ones(int(profit.shape[0]))
    if closed is not None:
        upper[: closed.shape[0]] = np.where(closed, 0.0, 1.0)
    h = _master_highs(relax, matrix, -profit, upper, True, threads)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(0.01, float(time_limit)))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.run()
    info = h.getInfo()
    if int(info.primal_solution_status) != 2:  # no feasible solution
        return None, None
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return -float(info.objective_function_value), values


def _plan(relax: Relaxation, master: _Master, values: FloatArray) -> FloatArray:
    """The full column vector of an integral master solution."""
    service, arcs = master.arrays()
    paths = service.shape[0]
    picked = np.round(values[:paths])
    chosen = np.asarray(arcs @ picked > 0.5, dtype=np.bool_)
    x = relax.columns(chosen)
    x[relax.shared] = np.round(values[paths : paths + relax.shared.shape[0]])
    return x


def _network_repair(
    relax: Relaxation,
    master: _Master,
    last_lp: tuple[FloatArray, IntArray],
    time_limit: float | None,
    *,
    rel_gap: float,
    threads: int | None,
    stop: threading.Event | None,
) -> FloatArray | None:
    """When the paths collected hold no plan: the full model with every service the master LP
    settles fixed to its path, every other service free over all its arcs (a small MIP, as in
    :func:`portfolio.heuristic.lp_then_fix`); None when it has no plan either."""
    solver = lp_backend()
    if solver is None:
        return None
    lp_path, lp_service = last_lp
    service, arcs = master.arrays()
    settled = np.zeros(relax.num_services, dtype=np.bool_)
    settled[lp_service[lp_path >= 1.0 - SETTLED_TOL]] = True
    picked = np.zeros(service.shape[0])
    picked[: lp_path.shape[0]] = np.where(settled[lp_service] & (lp_path >= 0.5), 1.0, 0.0)
    values = relax.columns(np.asarray(arcs @ picked > 0.5, dtype=np.bool_))
    lay = relax.compiled.layout
    owner = np.full(values.shape[0], -1, dtype=np.int64)
    owner[: relax.num_arcs] = relax.service_of_arc
    owner[lay.act_offset : lay.z_offset] = lay.act_service
    fixed = np.zeros(values.shape[0], dtype=np.bool_)
    fixed[owner >= 0] = settled[owner[owner >= 0]]
    model = relax.compiled.model
    restricted, free = fix_columns(model, fixed, values)
    sub = solver.solve(
        restricted,
        SolveParams(rel_gap=rel_gap, threads=threads, verbose=False),
        time_limit=time_limit,
        interrupt=stop,
    )
    if sub.x is None or not sub.status.has_plan:
        return None
    values[free] = np.round(sub.x)
    return values if model.accepts(values) else None


# ---------------------------------------------------------------------- driver
def lagrangian_start(
    compiled: MultiYearModel,
    seconds: float | None,
    *,
    rel_gap: float = 1e-4,
    bound_gap: float = 1e-9,
    threads: int | None = None,
    stop: threading.Event | None = None,
    relaxation: Relaxation | None = None,
) -> LagrangeResult:
    """A bound and a plan by Lagrangian relaxation and column generation (module docstring).

    Args:
        compiled: the compiled multi-year model.
        seconds: wall-clock budget (None: until column generation ends, then the master MIP to
            ``rel_gap``).
        rel_gap: the master MIP's relative gap.
        bound_gap: column generation stops when the master LP is within this relative gap of
            the best bound (both then lie within it of the LP bound).
        threads: HiGHS threads for the master problems.
        stop: when set, no further pass starts (the best so far is returned).
        relaxation: the split model, when the caller already has it.
    """
    began = time.perf_counter()
    relax = relaxation or Relaxation(compiled)
    sign = relax.sign

    def left() -> float | None:
        return None if seconds is None else seconds - (time.perf_counter() - began)

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    bound_until = None if seconds is None else began + BOUND_SHARE * seconds
    master = _Master(relax)
    y = np.zeros(relax.rows.shape[0])
    best = np.inf
    passes = 0
    # 1. Subgradient (Polyak) steps from y = 0; the target is the bound less a share of it.
    theta = 1.0
    for _ in range(SUBGRADIENT_STEPS):
        value, chosen, x, _ = relax.evaluate(y)
        passes += 1
        master.add(chosen)
        best = min(best, value)
        activity = relax.coupling @ x
        over = np.where(np.isfinite(relax.upper), activity - relax.upper, -np.inf)
        under = np.where(np.isfinite(relax.lower), relax.lower - activity, -np.inf)
        g = np.where(over > 0, over, np.where(under > 0, -under, 0.0))
        if passes == 1 and g.any():
            # Paths that spare the rows the unpriced paths break, at a sweep of prices: the
            # master then holds a plan that meets them from its first pass.
            unit = max(1.0, abs(value)) / max(1, relax.num_services)
            for scale in SPARING_SCALES:
                master.add(relax.evaluate(relax.project(scale * unit * np.sign(g)))[1])
        # Complementary slackness: a priced row that is slack pulls its multiplier back.
        g = np.where((g == 0) & (y > 0), np.maximum(over, -y), g)
        g = np.where((g == 0) & (y < 0), np.minimum(-under, -y), g)
        norm = float(g @ g)
        late = bound_until is not None and time.perf_counter() > bound_until
        if norm <= 0 or stopped() or late:
            break
        target = best - 0.02 * max(1.0, abs(best))
        y = relax.project(y + theta * (value - target) / norm * g)
        theta *= 0.85
    # 2. Column generation from the master's duals.
    master_value: float | None = None
    last_lp: tuple[FloatArray, IntArray] | None = None
    elastic = True  # the master LP still needs its slacks (no plan among its paths yet)
    for _ in range(MAX_PASSES):
        # Past its share, the bound phase goes on only while the master has no plan, and only
        # to ELASTIC_SHARE of the time.
        until = bound_until
        if seconds is not None and elastic:
            until = began + ELASTIC_SHARE * seconds
        if stopped() or (until is not None and time.perf_counter() > until):
            break
        remaining = None if until is None else until - time.perf_counter()
        solved = master.solve_lp(remaining, threads)
        if solved is None:
            break
        value_m, lp_values, duals, slack = solved
        elastic = slack > SETTLED_TOL
        if not elastic:
            master_value = value_m + relax.offset
            last_lp = (lp_values, np.concatenate(master.path_service))
        y = relax.project(duals)
        value, chosen, _, _ = relax.evaluate(y)
        passes += 1
        best = min(best, value)
        if master_value is not None and best - master_value <= bound_gap * max(1.0, abs(best)):
            break
        if bound_until is not None and time.perf_counter() > bound_until and not elastic:
            break
        if not master.add(chosen):
            break
    # 3. The master MIP over the paths collected: first with the services the master LP
    # settles (one path at 1) fixed to that path; when that has no plan, with more services
    # free (those with the most paths collected: the ones the prices moved most), then all.
    x_plan: FloatArray | None = None
    tries: list[BoolArray | None] = [None]
    if last_lp is not None:
        lp_path, lp_service = last_lp
        settled = np.zeros(relax.num_services, dtype=np.bool_)
        settled[lp_service[lp_path >= 1.0 - SETTLED_TOL]] = True
        counts = np.bincount(lp_service, minlength=relax.num_services)
        order = np.argsort(-counts, kind="stable")
        widened: list[BoolArray] = []
        for share in WIDENING:
            keep = settled.copy()
            keep[order[: int(share * relax.num_services)]] = False
            shut = np.zeros(master.num_paths, dtype=np.bool_)
            shut[: lp_path.shape[0]] = keep[lp_service] & (lp_path < 0.5)
            if not widened or not np.array_equal(shut, widened[-1]):
                widened.append(shut)
        tries = [*widened, None]  # None: every path open
    for number, closed in enumerate(tries):
        remaining = left()
        if stopped() or (remaining is not None and remaining <= 0.05):
            break
        if remaining is not None and number + 1 < len(tries):
            remaining /= 2  # the later tries get their share
        value_i, values = _solve_master(
            relax, master, time_limit=remaining, rel_gap=rel_gap, threads=threads, closed=closed
        )
        if values is not None and value_i is not None:
            x_plan = _plan(relax, master, values)
            break
    if x_plan is None and last_lp is not None and not stopped():
        remaining = left()
        if remaining is None or remaining > 0.05:
            x_plan = _network_repair(
                relax, master, last_lp, remaining, rel_gap=rel_gap, threads=threads, stop=stop
            )
    return LagrangeResult(
        x=x_plan,
        bound=None if not np.isfinite(best) else sign * best,
        master=None if master_value is None else sign * master_value,
        passes=passes,
        paths=master.num_paths,
        seconds=time.perf_counter() - began,
    )


def lagrangian_plan(
    compiled: MultiYearModel,
    params: SolveParams,
    remaining: float | None,
    *,
    interrupt: threading.Event | None = None,
) -> HeuristicPlan | None:
    """The Lagrangian start as the pipeline takes it (:class:`~portfolio.heuristic.HeuristicPlan`),
    or None for a model small enough for the full MIP or when no plan was found."""
    if compiled.model.num_cols < MIN_COLUMNS or importlib.util.find_spec("highspy") is None:
        return None
    result = lagrangian_start(
        compiled,
        None if remaining is None else remaining * TIME_SHARE,
        rel_gap=max(params.rel_gap / 2, 1e-6),
        bound_gap=params.rel_gap * BOUND_GAP_SHARE,
        threads=params.threads,
        stop=interrupt,
    )
    if result.x is None:
        return None
    note = (
        f"Lagrangian start: {result.passes} passes, {result.paths} paths, "
        f"plan and bound in {result.seconds:.2f}s (master problems by HiGHS)"
    )
    return HeuristicPlan(x=result.x, bound=result.bound, note=note)


#: Why the master problems are HiGHS's whatever backend solves the model (``stats``, README).
MASTER_SOLVER_WHY = (
    "the master LP is re-solved every pass from the previous pass's basis, with the new paths "
    "appended as columns, and its row duals are the next prices; a backend's solve starts "
    "from scratch, and CP-SAT gives no duals; so the start phase uses HiGHS whatever backend "
    "solves the model (as the LP-guided start uses the LP-capable backend), and is skipped "
    "when highspy is not installed"
)


def start_record(compiled: MultiYearModel) -> dict[str, Any]:
    """What the multi-year Lagrangian start is for this model, for the result's ``stats``:
    whether it is used (``applies``: at least :data:`MIN_COLUMNS` columns and HiGHS installed;
    it runs as the first start heuristic, so not with ``heuristic=False`` or a backend that
    takes no start), from how many columns, and its master problems' solver (always HiGHS) and
    why."""
    installed = importlib.util.find_spec("highspy") is not None
    return {
        "applies": installed and compiled.model.num_cols >= MIN_COLUMNS,
        "from_columns": MIN_COLUMNS,
        "master_solver": "highs" if installed else None,
        "why": MASTER_SOLVER_WHY,
    }


def describe(result: LagrangeResult) -> dict[str, Any]:
    """A result's figures as a dict (benchmarks)."""
    return {
        "bound": result.bound,
        "master": result.master,
        "passes": result.passes,
        "paths": result.paths,
        "seconds": round(result.seconds, 3),
    }
