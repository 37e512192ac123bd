"""A cheap start that needs no LP: priced per-service choices, then a greedy repair.

When a time limit is too short for the LP relaxation (a large instance, a loaded machine), the
LP-guided start (:mod:`portfolio.heuristic`) finds nothing, and without a start the solver may
stop with no plan at all. :func:`greedy_start` finds a plan in a fraction of the LP's time when
one is easy to find:

1. **Price the coupling rows.** Each service takes its best option by profit less a price on the
   rows (a few subgradient steps of a Lagrangian relaxation of every row but the choice rows,
   which the per-service choice keeps); the assignment with the least violation is kept.
2. **Repair.** While some row is violated, the moves (a service switching option, a shared
   indicator such as a mode's setup flipping) that reduce the weighted violation most per unit
   of profit lost are tried in turn, each kept only when it reduces the exact violation.
3. **Improve.** Moves that gain profit and keep every row satisfied, best first.

It works on the compiled model and each service's columns (:class:`~portfolio.heuristic.StartHooks`
with one chosen column per service: the single-period model), never on the instance; its plan is
checked against the model here and verified by the pipeline like every plan. It returns None
when it finds no plan in its time.
"""

from __future__ import annotations

import threading
import time
from typing import cast

import numpy as np
import scipy.sparse as sp

from portfolio.heuristic import SinglePeriodStart, StartHooks
from portfolio.linear import CHECK_TOL, FloatArray, IntArray, LinearModel, Sense

Change = dict[int, float]
"""A move's change of row activities, by row."""

#: Subgradient steps of the pricing.
PRICE_STEPS = 12
#: Moves tried (exactly) per repair or improvement pass.
MOVES_PER_PASS = 3000
#: Rows with at most this many entries are repaired by joint moves of their two services.
PAIR_ROW_ENTRIES = 64
#: Most partners tried for a service alone in a violated small row.
PAIR_PARTNERS = 4
#: A row counts as violated beyond this (in units of its largest coefficient).
ROW_TOL = 1e-9


def applies(hooks: StartHooks) -> bool:
    """True when the greedy start applies: each service chooses exactly one of its columns
    (the single-period model; a multi-year service's choice is a path over a network)."""
    return isinstance(hooks, SinglePeriodStart)


class _State:
    """The assignment being repaired: one column per service, each shared column at a bound,
    and the row activities."""

    def __init__(self, model: LinearModel, groups: IntArray, num_services: int) -> None:
        self.model = model
        self.matrix: sp.csr_matrix = model.matrix
        self.columns: sp.csc_matrix = model.matrix.tocsc()
        self.lower, self.upper = model.row_lower, model.row_upper
        biggest = np.zeros(model.num_rows)
        if self.matrix.nnz:
            np.maximum.at(
                biggest,
                np.repeat(np.arange(model.num_rows), np.diff(self.matrix.indptr)),
                np.abs(self.matrix.data),
            )
        self.weight = 1.0 / np.where(biggest > 0, biggest, 1.0)
        self.lower_list: list[float] = self.lower.tolist()
        self.upper_list: list[float] = self.upper.tolist()
        self.weight_list: list[float] = self.weight.tolist()
        sign = 1.0 if model.sense is Sense.MAXIMISE else -1.0
        self.profit: FloatArray = sign * model.objective
        owned = np.flatnonzero(groups >= 0)
        self.owned: IntArray = owned[np.argsort(groups[owned], kind="stable")]
        self.group = groups
        starts = np.flatnonzero(np.r_[True, np.diff(groups[self.owned]) != 0])
        self.starts = starts
        self.num_services = num_services
        self.shared = np.flatnonzero(groups < 0)
        self.x = np.zeros(model.num_cols)
        self.x[self.shared] = model.col_lower[self.shared]
        self.chosen = np.full(num_services, -1, dtype=np.int64)
        self.activity = np.zeros(model.num_rows)

    def complete(self) -> bool:
        """Every service has at least one column."""
        return self.starts.shape[0] == self.num_services

    def choose(self, value: FloatArray) -> None:
        """Each service takes its column of highest ``value``; the activities are recomputed."""
        ordered = value[self.owned]
        best = np.maximum.reduceat(ordered, self.starts)
        seg = np.repeat(np.arange(self.starts.shape[0]), np.diff(np.r_[self.starts, len(ordered)]))
        hits = np.flatnonzero(ordered >= best[seg])
        firsts = hits[np.r_[True, seg[hits][1:] != seg[hits][:-1]]]
        self.x[self.owned] = 0.0
        self.chosen = self.owned[firsts]
        self.x[self.chosen] = 1.0
        self.activity = self.matrix @ self.x

    def row_violation(self, activity: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """Each row's violation, in units of its largest coefficient."""
        lower = self.lower if rows is None else self.lower[rows]
        upper = self.upper if rows is None else self.upper[rows]
        weight = self.weight if rows is None else self.weight[rows]
        over = np.maximum(activity - upper, 0.0)
        under = np.maximum(lower - activity, 0.0)
        return weight * np.where(np.isfinite(over), over, 0.0) + weight * np.where(
            np.isfinite(under), under, 0.0
        )

    def total(self) -> float:
        """The weighted violation of the assignment."""
        return float(self.row_violation(self.activity).sum())

    def column(self, j: int) -> tuple[IntArray, FloatArray]:
        """Rows and coefficients of column ``j``."""
        lo, hi = self.columns.indptr[j], self.columns.indptr[j + 1]
        return self.columns.indices[lo:hi], self.columns.data[lo:hi]

    def change(self, removed: int, added: int, scale: float = 1.0) -> tuple[IntArray, FloatArray]:
        """Rows touched and the activity change of moving ``scale`` from column ``removed``
        (-1: none) to column ``added``."""
        rows_a, data_a = self.column(added)
        if removed < 0:
            return rows_a, scale * data_a
        rows_r, data_r = self.column(removed)
        rows = np.union1d(rows_a, rows_r)
        delta = np.zeros(rows.shape[0])
        delta[np.searchsorted(rows, rows_a)] += data_a
        delta[np.searchsorted(rows, rows_r)] -= data_r
        return rows, scale * delta

    def quick(self, removed: int, added: int, scale: float = 1.0) -> tuple[float, float, Change]:
        """A move from column ``removed`` (-1: none) to ``added`` (by ``scale``), evaluated
        exactly row by row in plain Python (a move touches a handful of rows, where numpy's
        per-call cost would dominate): how much it reduces the weighted violation, the weighted
        violation of the touched rows after it, and the change per row."""
        change: Change = {}
        indptr, indices, data = self.columns.indptr, self.columns.indices, self.columns.data
        lo, hi = int(indptr[added]), int(indptr[added + 1])
        for row, value in zip(indices[lo:hi].tolist(), data[lo:hi].tolist(), strict=True):
            change[row] = change.get(row, 0.0) + scale * value
        if removed >= 0:
            lo, hi = int(indptr[removed]), int(indptr[removed + 1])
            for row, value in zip(indices[lo:hi].tolist(), data[lo:hi].tolist(), strict=True):
                change[row] = change.get(row, 0.0) - value
        gain = after = 0.0
        activity, lower, upper = self.activity, self.lower_list, self.upper_list
        weight = self.weight_list
        for row, shift in change.items():
            now = float(activity[row])
            then = now + shift
            w = weight[row]
            before_row = w * (max(now - upper[row], 0.0) + max(lower[row] - now, 0.0))
            after_row = w * (max(then - upper[row], 0.0) + max(lower[row] - then, 0.0))
            gain += before_row - after_row
            after += after_row
        return gain, after, change

    def move(self, service: int, column: int, scale: float, change: Change) -> None:
        """Apply a move evaluated by :meth:`quick`."""
        activity = self.activity
        for row, shift in change.items():
            activity[row] += shift
        if service < 0:
            self.x[column] += scale
            return
        self.x[self.chosen[service]] = 0.0
        self.x[column] = 1.0
        self.chosen[service] = column

    def gain(self, rows: IntArray, delta: FloatArray) -> float:
        """How much a change reduces the weighted violation (exactly)."""
        before = self.row_violation(self.activity[rows], rows)
        after = self.row_violation(self.activity[rows] + delta, rows)
        return float(before.sum() - after.sum())

    def direction(self) -> FloatArray:
        """Per row: +weight where the activity must rise, -weight where it must fall."""
        over = self.activity > self.upper + ROW_TOL / self.weight
        under = self.activity < self.lower - ROW_TOL / self.weight
        return np.where(over, -self.weight, np.where(under, self.weight, 0.0))


def greedy_start(
    hooks: StartHooks,
    seconds: float,
    stop: threading.Event | None = None,
    cancel: threading.Event | None = None,
) -> FloatArray | None:
    """A plan (full column vector) for the hooks' model, found greedily within ``seconds``, or
    None (see the module docstring). The vector satisfies the model (checked here).

    Args:
        hooks: the formulation's start hooks (see :func:`applies`).
        seconds: the time it may take.
        stop: when set, it stops (with None, or the plan if one is already repaired).
        cancel: the caller's cancel request, which stops it too.
    """
    return _run(hooks, None, seconds, stop, cancel)


def repair_start(
    hooks: StartHooks,
    x: FloatArray,
    seconds: float,
    stop: threading.Event | None = None,
    cancel: threading.Event | None = None,
) -> FloatArray | None:
    """Steps 2 and 3 of :func:`greedy_start` from a given assignment ``x`` (one column at 1 per
    service, shared columns at a bound): the repaired and improved plan, checked against the
    model, or None when the repair finds none within ``seconds``."""
    return _run(hooks, x, seconds, stop, cancel)


def _run(
    hooks: StartHooks,
    x: FloatArray | None,
    seconds: float,
    stop: threading.Event | None,
    cancel: threading.Event | None,
) -> FloatArray | None:
    """Price (without a start ``x``) or take ``x``, then repair and improve."""
    deadline = _Deadline(time.perf_counter() + max(0.0, seconds), stop, cancel)
    if not applies(hooks) or hooks.model.num_cols == 0:
        return None
    state = _State(hooks.model, hooks.service_of_column, hooks.num_services)
    if not state.complete():
        return None
    if x is None:
        _price(state, deadline)
    else:
        _restore(state, x)
        if (state.chosen < 0).any():
            return None
    if not _repair(state, deadline):
        return None
    _improve(state, deadline)
    plan = state.x.copy()
    if hooks.model.violation(plan).relative > CHECK_TOL:
        return None
    return plan


class _Deadline:
    """The greedy's time limit and its caller's stop request."""

    def __init__(self, at: float, *stops: threading.Event | None) -> None:
        self.at = at
        self.stops = [stop for stop in stops if stop is not None]

    def passed(self) -> bool:
        """The time is up, or a stop was requested."""
        return time.perf_counter() > self.at or any(stop.is_set() for stop in self.stops)


def _price(state: _State, deadline: _Deadline) -> None:
    """Per-service best options under prices on the rows (subgradient steps); leaves the
    assignment with the least violation (then the most profit)."""
    model = state.model
    spread = np.maximum.reduceat(state.profit[state.owned], state.starts) - np.minimum.reduceat(
        state.profit[state.owned], state.starts
    )
    scale = float(np.mean(spread)) if spread.size else 1.0
    scale = scale if scale > 0 else 1.0
    finite_upper = np.isfinite(state.upper)
    finite_lower = np.isfinite(state.lower)
    above = np.zeros(model.num_rows)
    below = np.zeros(model.num_rows)
    best: tuple[float, float, FloatArray] | None = None
    for step in range(PRICE_STEPS):
        price = state.weight * (above - below)
        value = state.profit - state.matrix.T @ price
        state.choose(value)
        _set_shared(state, value)
        violation = state.total()
        profit = float(state.profit @ state.x)
        if best is None or (violation, -profit) < (best[0], -best[1]):
            best = (violation, profit, state.x.copy())
        if violation <= ROW_TOL or deadline.passed():
            break
        weighted = state.weight * state.activity
        excess = np.where(finite_upper, weighted - state.weight * state.upper, 0.0)
        shortfall = np.where(finite_lower, state.weight * state.lower - weighted, 0.0)
        largest = max(
            float(np.abs(excess).max(initial=0.0)), float(np.abs(shortfall).max(initial=0.0)), 1.0
        )
        size = scale / (step + 1) / largest
        above = np.maximum(0.0, above + size * excess)
        below = np.maximum(0.0, below + size * shortfall)
    assert best is not None
    _restore(state, best[2])


def _set_shared(state: _State, value: FloatArray) -> None:
    """Shared columns (setup indicators) at their upper bound where their priced value is
    positive, else at their lower bound; activities updated."""
    if not state.shared.size:
        return
    columns = state.shared
    target = np.where(
        value[columns] > 0, state.model.col_upper[columns], state.model.col_lower[columns]
    )
    target = np.where(np.isfinite(target), target, 0.0)
    state.x[columns] = target
    state.activity = state.matrix @ state.x


def _restore(state: _State, x: FloatArray) -> None:
    """Set the assignment to the vector ``x``."""
    state.x = x.copy()
    owned_x = x[state.owned]
    seg = np.repeat(np.arange(state.starts.shape[0]), np.diff(np.r_[state.starts, len(owned_x)]))
    picked = np.flatnonzero(owned_x > 0.5)
    chosen = np.full(state.starts.shape[0], -1, dtype=np.int64)
    chosen[seg[picked]] = state.owned[picked]
    state.chosen = chosen
    state.activity = state.matrix @ state.x


def _moves(state: _State, improving: bool) -> list[tuple[int, int, float]]:
    """Candidate moves ``(service or -1 for a shared column, column, scale)``, best first.

    Repair: every switch's exact reduction of the weighted violation is computed at once (the
    difference of the two columns, row by row); those that reduce it are ordered by profit lost
    per unit repaired, those that also gain profit first. Improving: switches that gain profit,
    most first (their feasibility is checked when applied).
    """
    owned, chosen = state.owned, state.chosen
    service = state.group[owned]
    current = chosen[service]
    other = owned != current
    profit_loss = state.profit[current] - state.profit[owned]
    if improving:
        picks = np.flatnonzero(other & (profit_loss < -1e-12))
        picks = picks[np.argsort(profit_loss[picks], kind="stable")[:MOVES_PER_PASS]]
        repair = np.zeros(0)
    else:
        candidates = np.flatnonzero(other)
        repair = _exact_repair(state, owned[candidates], current[candidates])
        good = repair > 1e-12
        picks, repair = candidates[good], repair[good]
        losing = profit_loss[picks] > 0
        # Moves that repair and gain profit first (most repair first), then the least profit
        # lost per unit repaired.
        key = np.where(losing, profit_loss[picks] / repair, -repair)
        picks = picks[np.lexsort((key, losing))[:MOVES_PER_PASS]]
    moves = [(int(service[i]), int(owned[i]), 1.0) for i in picks]
    shared: list[tuple[int, int, float]] = []
    for j in state.shared:
        lo, hi = state.model.col_lower[j], state.model.col_upper[j]
        target = hi if state.x[j] <= lo else lo
        if not np.isfinite(target) or target == state.x[j]:
            continue
        shift = float(target - state.x[j])
        gain = state.profit[j] * shift
        if improving:
            # A shared column may also go down at no loss (it frees what it uses).
            if gain > 1e-12 or (gain >= 0 and shift < 0):
                shared.append((-1, int(j), shift))
        else:
            rows, delta = state.change(-1, int(j), shift)
            if state.gain(rows, delta) > 1e-12:
                shared.append((-1, int(j), shift))
    return shared + moves


def _exact_repair(state: _State, added: IntArray, removed: IntArray) -> FloatArray:
    """For each switch from column ``removed[i]`` to ``added[i]``: how much it reduces the
    weighted violation, exactly, at the current activities."""
    if not added.size:
        return np.zeros(0)
    difference = (state.columns[:, added] - state.columns[:, removed]).tocsc()
    rows = difference.indices
    move = np.repeat(np.arange(added.shape[0]), np.diff(difference.indptr))
    before = state.row_violation(state.activity[rows], rows)
    after = state.row_violation(state.activity[rows] + difference.data, rows)
    return cast(FloatArray, np.bincount(move, weights=before - after, minlength=added.shape[0]))


def _repair(state: _State, deadline: _Deadline) -> bool:
    """Greedy moves until no row is violated; False when stuck or out of time."""
    while True:
        if state.total() <= ROW_TOL:
            return True
        if deadline.passed():
            return False
        accepted = 0
        for number, (service, column, scale) in enumerate(_moves(state, improving=False)):
            if number % 64 == 63 and deadline.passed():
                return False
            removed = -1 if service < 0 else int(state.chosen[service])
            if removed == column:
                continue
            gain, _, change = state.quick(removed, column, scale)
            if gain > 1e-12:
                state.move(service, column, scale, change)
                accepted += 1
        if not accepted and not _pair_moves(state, deadline):
            return False


def _pair_moves(state: _State, deadline: _Deadline) -> bool:
    """Joint switches of two services sharing a violated row with few entries (a bundle that
    must share a mode, which neither service alone can repair): for each such row, the pair of
    options that reduces the weighted violation most, if any. True when one was applied."""
    violated = np.flatnonzero(state.row_violation(state.activity) > ROW_TOL)
    applied = False
    for row in violated:
        if deadline.passed():
            break
        lo, hi = state.matrix.indptr[row], state.matrix.indptr[row + 1]
        if hi - lo > PAIR_ROW_ENTRIES:
            continue
        found = np.unique(state.group[state.matrix.indices[lo:hi]])
        found = found[found >= 0]
        if found.shape[0] == 1:
            pairs = [np.array([found[0], other]) for other in _partners(state, int(found[0]))]
        elif found.shape[0] == 2:
            pairs = [found]
        else:
            continue
        best: tuple[float, int, int, IntArray] | None = None
        for services in pairs:
            first, second = (_columns_of(state, int(s)) for s in services)
            for a in first:
                for b in second:
                    rows, delta = _joint_change(state, services, (int(a), int(b)))
                    gain = state.gain(rows, delta)
                    if gain > 1e-12 and (best is None or gain > best[0]):
                        best = (gain, int(a), int(b), services)
        if best is None:
            continue
        services = best[3]
        rows, delta = _joint_change(state, services, (best[1], best[2]))
        state.activity[rows] += delta
        for service, column in zip(services, best[1:3], strict=True):
            state.x[state.chosen[service]] = 0.0
            state.x[column] = 1.0
            state.chosen[service] = column
        applied = True
    return applied


def _columns_of(state: _State, service: int) -> IntArray:
    """The columns of one service."""
    columns: IntArray = state.owned[state.group[state.owned] == service]
    return columns


def _partners(state: _State, service: int) -> list[int]:
    """Services that share a row with few entries with ``service`` (its bundle partners)."""
    partners: set[int] = set()
    for column in _columns_of(state, service):
        rows, _ = state.column(int(column))
        for row in rows:
            lo, hi = state.matrix.indptr[row], state.matrix.indptr[row + 1]
            if hi - lo <= PAIR_ROW_ENTRIES:
                partners.update(int(g) for g in state.group[state.matrix.indices[lo:hi]])
    partners.discard(service)
    partners.discard(-1)
    return sorted(partners)[:PAIR_PARTNERS]


def _joint_change(
    state: _State, services: IntArray, columns: tuple[int, int]
) -> tuple[IntArray, FloatArray]:
    """Rows touched and the activity change of two services switching to ``columns``."""
    parts = [
        state.change(int(state.chosen[service]), column)
        for service, column in zip(services, columns, strict=True)
        if state.chosen[service] != column
    ]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows = np.unique(np.concatenate([p[0] for p in parts]))
    delta = np.zeros(rows.shape[0])
    for part_rows, part_delta in parts:
        delta[np.searchsorted(rows, part_rows)] += part_delta
    return rows, delta


def _improve(state: _State, deadline: _Deadline) -> None:
    """Moves that gain profit and keep every row satisfied, while time lasts."""
    for _ in range(20):
        if deadline.passed():
            return
        accepted = 0
        for number, (service, column, scale) in enumerate(_moves(state, improving=True)):
            if number % 64 == 63 and deadline.passed():
                return
            removed = -1 if service < 0 else int(state.chosen[service])
            if service >= 0 and state.profit[column] <= state.profit[removed] + 1e-12:
                continue  # this service has moved in this pass already
            _, after, change = state.quick(removed, column, scale)
            if after <= ROW_TOL:
                state.move(service, column, scale, change)
                accepted += 1
        if not accepted:
            return


class GreedyRun:
    """:func:`greedy_start` in a background thread, so that it runs while the LP phase does
    (whose solver runs in another process, or outside the interpreter lock)."""

    def __init__(
        self, hooks: StartHooks, seconds: float, *, cancel: threading.Event | None = None
    ) -> None:
        self.stop = threading.Event()
        self.began = time.perf_counter()
        self.seconds = 0.0
        self._box: list[FloatArray | None] = []

        def work() -> None:
            try:
                self._box.append(greedy_start(hooks, seconds, self.stop, cancel))
            finally:
                self.seconds = time.perf_counter() - self.began

        self._thread = threading.Thread(target=work, name="portfolio-greedy", daemon=True)
        self._thread.start()

    def result(self, *, wait: bool) -> FloatArray | None:
        """The greedy plan: waited for (it keeps its own time limit) when ``wait``, else taken
        only if it is already there (the run is stopped)."""
        if not wait:
            self.stop.set()
        self._thread.join()
        return self._box[0] if self._box else None
