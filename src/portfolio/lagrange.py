"""A bound and a start that need no LP: a Lagrangian relaxation of the single-period model.

The single-period model (``models/single_period.md``) is a set of per-service choices (one option
each) tied together by a few *coupling* rows: the budget, the transition budget, the outcome and
flexibility floors, the change limit, capacities, sector shares, ``limits``, ``min_services``,
the vehicle cap. Moving the coupling rows into the objective with prices (multipliers) λ leaves
a problem that splits by service, solved exactly in one vectorised pass:

    L(λ) = max_{x ∈ X}  (p − Aᵀλ)·x + λ⁺·u − λ⁻·l        (p: the objective, as a profit)

where ``X`` keeps, exactly, the structure each service's choice has:

* **choice**: one option per service;
* **bundles** (``same_mode`` rows): the services of a bundle (a connected group of them) choose
  the same mode, so a group's best is ``max_m Σ_{s in group} best_{s,m}``, over the modes every
  member offers. The rows are kept this way only when they are exactly that (checked on the
  compiled rows: each linked pair has a row for every mode either service offers); otherwise
  they are priced like the others;
* **setup linking** (``x_o ≤ y_m``): with at most :data:`ENUMERATED_SETUPS` setup indicators,
  every open/closed combination is evaluated (a closed mode's options are out); with more, the
  linking rows are priced too;
* other shared columns (indicators of the vehicle cap, investments) at the bound their price
  favours.

For every λ of the right signs (λ⁺ ≥ 0 on upper sides, λ⁻ ≥ 0 on lower sides) ``L(λ)`` is an
upper bound on the best plan (a lower bound when minimising): the relaxation drops no plan and
the priced terms are ≥ 0 on every plan. Since X's convex hull is described by its LP relaxation
when nothing is enumerated (choice rows and bundles are integral), the best ``L`` equals the LP
bound; enumerating setups can make it tighter.

The prices are found by a trust-region bundle method (cutting planes, each a small LP solved
by HiGHS through :func:`scipy.optimize.linprog`) when at most :data:`BUNDLE_ROWS` rows are
priced, else by projected subgradient steps with the Polyak step size; rows are scaled to a
largest coefficient of 1. Plans come from, in this order: each step's choice when it satisfies
every row; the planes' convex combination of recent choices, rounded (one mode per bundle
group) and repaired and improved by vectorised switches of many services at once
(:func:`_vector_moves`, ranked at the best prices); a MIP over the services the prices leave
unsettled, the rest fixed (:func:`_fix_and_solve`, when a solver is given); and the greedy
repair of :mod:`portfolio.greedy` (models of at most :data:`GREEDY_MAX_COLUMNS` options).
Everything is anytime: a first plan is made after :data:`FIRST_PLAN_SHARE` of the time, and
when the time or a stop request comes, the best bound and plan so far are returned.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from portfolio.backends.base import Backend
from portfolio.compile import CompiledModel
from portfolio.greedy import repair_start
from portfolio.heuristic import SinglePeriodStart
from portfolio.linear import (
    CHECK_TOL,
    BoolArray,
    FloatArray,
    IntArray,
    LinearModel,
    Sense,
    fix_columns,
)
from portfolio.params import SolveParams
from portfolio.result import relative_gap

#: Most setup indicators whose open/closed combinations are enumerated (2**this combinations).
ENUMERATED_SETUPS = 3
#: Most subgradient steps.
MAX_STEPS = 400
#: The Polyak step's factor halves after this many steps without a better bound.
PATIENCE = 8
#: The step factor it starts with, and the least it may fall to.
THETA_START, THETA_MIN = 1.0, 1e-4
#: A row counts as satisfied within this (in units of its largest coefficient).
ROW_TOL = 1e-9
#: Relative safety margin added to the bound (floating-point sums).
BOUND_MARGIN = 1e-10
#: Share of its time the pricing may use before the repair runs.
PRICE_SHARE = 0.6
#: The vectorised repair holds the priced rows' option columns as a dense array up to this size.
DENSE_ENTRIES = 20_000_000
#: The fixed MIP and the greedy improvement start only with this many seconds left.
MIN_MIP_SECONDS = 0.5
MIN_GREEDY_SECONDS = 1.0
#: Share of its time after which the bundle method makes a first plan if it has none.
FIRST_PLAN_SHARE = 0.25
#: The greedy repair of :mod:`portfolio.greedy` runs on models of at most this many options.
GREEDY_MAX_COLUMNS = 100_000
#: Rounds of the vectorised repair and improvement.
VECTOR_ROUNDS = 12
#: With less time than this left after the pricing, the repair may take all of it.
SHORT_SECONDS = 2.0
#: The bundle method is used up to this many priced rows (its planes are small LPs).
BUNDLE_ROWS = 64
#: The fixed MIP frees at most this many option columns (or :data:`FREE_SHARE` of them).
FREE_COLUMNS = 1000
FREE_SHARE = 0.005
#: Most planes the bundle method keeps.
MAX_PLANES = 80
#: The bundle method rounds its primal estimate every this many steps.
ROUND_EVERY = 5


@dataclass(frozen=True)
class LagrangeResult:
    """What the Lagrangian relaxation found.

    Attributes:
        bound: a proven bound on the best plan, in the model's objective (an upper bound when
            maximising, a lower bound when minimising), or None when it proved none.
        x: the best plan found (full column vector, checked against the model), or None.
        steps: subgradient steps taken.
        seconds: wall-clock seconds taken.
        note: what it did, for the result's notes.
    """

    bound: float | None
    x: FloatArray | None
    steps: int
    seconds: float
    note: str

    def objective(self, model: LinearModel) -> float | None:
        """The plan's objective value, or None without a plan."""
        return None if self.x is None else model.objective_value(self.x)


class Relaxation:
    """The relaxation of one compiled single-period model: which rows are priced, the
    per-(service, mode) segments of the option columns, the bundle groups and the enumerated
    setup indicators.

    Raises:
        ValueError: never; :meth:`supported` says whether the model has the expected form.
    """

    def __init__(self, compiled: CompiledModel) -> None:
        model = compiled.model
        self.model = model
        self.sign = 1.0 if model.sense is Sense.MAXIMISE else -1.0
        self.profit: FloatArray = self.sign * model.objective
        num_x = compiled.num_x
        table = compiled.table
        self.num_services = table.num_services
        self.num_modes = table.num_modes
        self.num_x = num_x
        service = table.service[compiled.option_of_column].astype(np.int64)
        mode = table.mode[compiled.option_of_column].astype(np.int64)
        self.service, self.mode = service, mode
        self.problem = self._check_columns()
        csr: sp.csr_matrix = model.matrix.tocsr()
        self.csr = csr
        kinds = np.empty(model.num_rows, dtype=object)
        for block in model.blocks:
            kinds[block.start : block.stop] = block.kind
        self.kept = np.zeros(model.num_rows, dtype=np.bool_)
        self.kept[kinds == "choice"] = True
        # (service, mode) segments of the option columns.
        order = np.lexsort((mode, service)).astype(np.int64)
        key = service[order] * self.num_modes + mode[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if num_x else np.zeros(0, int)
        self.order, self.starts = order, starts
        self.seg_key = key[starts]
        seg_of = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, num_x]))
        self.seg_of_sorted: IntArray = seg_of
        self.offered = np.zeros((self.num_services, self.num_modes), dtype=np.bool_)
        self.offered.flat[self.seg_key] = True
        if self.problem is None and not self.offered.any(axis=1).all():
            self.problem = "a service has no option column"
        self.group = self._bundles(kinds)
        self.num_groups = int(self.group.max()) + 1 if self.group.size else 0
        self.group_order = np.argsort(self.group, kind="stable")
        sorted_groups = self.group[self.group_order]
        self.group_starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        self.seg_index = np.full(self.num_services * self.num_modes, -1, dtype=np.int64)
        self.seg_index[self.seg_key] = np.arange(self.seg_key.shape[0])
        self.enumerated, self.enumerated_mode = self._setups(compiled, kinds)
        priced = np.flatnonzero(~self.kept)
        self.priced = priced
        rows = csr[priced]
        biggest = np.zeros(priced.shape[0])
        if rows.nnz:
            np.maximum.at(
                biggest, np.repeat(np.arange(priced.shape[0]), np.diff(rows.indptr)),
                np.abs(rows.data),
            )
        scale = 1.0 / np.where(biggest > 0, biggest, 1.0)
        self.rows: sp.csr_matrix = sp.diags(scale) @ rows
        self.rows_t: sp.csr_matrix = self.rows.T.tocsr()
        self.upper = scale * model.row_upper[priced]
        self.lower = scale * model.row_lower[priced]
        self.has_upper = np.isfinite(self.upper)
        self.has_lower = np.isfinite(self.lower)
        self._dense: FloatArray | None = None
        shared = np.arange(num_x, model.num_cols)
        self.boxed = shared[~np.isin(shared, self.enumerated)]
        if self.boxed.size and not (
            np.isfinite(model.col_lower[self.boxed]).all()
            and np.isfinite(model.col_upper[self.boxed]).all()
        ):
            self.problem = "a shared column without finite bounds"

    def _check_columns(self) -> str | None:
        """Why the model is not of the form relaxed here (option columns binary in [0, 1],
        every option column first), or None."""
        model = self.model
        cols = slice(0, self.num_x)
        if not (model.integrality[cols].all() and (model.col_lower[cols] == 0).all()):
            return "option columns are not free binaries"
        if not (model.col_upper[cols] == 1).all():
            return "option columns are not free binaries"
        return None

    def _bundles(self, kinds: npt.NDArray[np.object_]) -> IntArray:
        """Each service's bundle group (itself when in none).

        The ``same_mode`` rows are kept (not priced) when they force each linked pair of
        services into the same mode: a row ``Σ_{a,m} x − Σ_{b,m} x = 0`` over all the options of
        a and b in mode m links a and b; the pair is forced when, for every mode either service
        offers, it has such a row, or a row ``Σ_{a,m} x = 0`` rules the mode out for the service
        that offers it. Then every plan of the model has each group (connected by links) in one
        mode offered to all its members, which the relaxation keeps; otherwise the rows are
        priced like the others.
        """
        ids = np.arange(self.num_services, dtype=np.int64)
        rows = np.flatnonzero(kinds == "same_mode")
        if not rows.size:
            return ids
        block = self.csr[rows]
        count = rows.shape[0]
        entry_row = np.repeat(np.arange(count), np.diff(block.indptr))
        cols = block.indices.astype(np.int64)
        if (cols >= self.num_x).any() or not np.all(np.abs(block.data) == 1.0):
            return ids
        lower, upper = self.model.row_lower[rows], self.model.row_upper[rows]
        if not ((lower == 0).all() and (upper == 0).all()):
            return ids
        svc, mod = self.service[cols], self.mode[cols]
        big = np.iinfo(np.int64).max

        def spread(values: IntArray, where: BoolArray) -> tuple[IntArray, IntArray]:
            lo = np.full(count, big, dtype=np.int64)
            hi = np.full(count, -1, dtype=np.int64)
            np.minimum.at(lo, entry_row[where], values[where])
            np.maximum.at(hi, entry_row[where], values[where])
            return lo, hi

        positive = block.data > 0
        a_lo, a_hi = spread(svc, positive)
        b_lo, b_hi = spread(svc, ~positive)
        m_lo, m_hi = spread(mod, np.ones_like(positive))
        has_a, has_b = a_hi >= 0, b_hi >= 0
        if ((a_lo != a_hi) & has_a).any() or ((b_lo != b_hi) & has_b).any():
            return ids
        if (m_lo != m_hi).any():
            return ids
        sizes = np.zeros(self.num_services * self.num_modes, dtype=np.int64)
        np.add.at(sizes, self.service * self.num_modes + self.mode, 1)
        row_mode = m_lo
        expected = np.where(has_a, sizes[np.where(has_a, a_hi, 0) * self.num_modes + row_mode], 0)
        expected += np.where(has_b, sizes[np.where(has_b, b_hi, 0) * self.num_modes + row_mode], 0)
        full = np.diff(block.indptr) == expected
        two = full & has_a & has_b
        one = full & (has_a ^ has_b)
        if not two.any():
            return ids
        n, modes = self.num_services, self.num_modes
        first, second = np.minimum(a_hi[two], b_hi[two]), np.maximum(a_hi[two], b_hi[two])
        two_keys = (first * n + second) * modes + row_mode[two]
        lone = np.where(has_a, a_hi, b_hi)[one]
        one_keys = lone * modes + row_mode[one]
        pairs = np.unique(np.stack([first, second], axis=1), axis=0)
        for member, other in ((0, 1), (1, 0)):
            svc_m = pairs[:, member]
            pair_i, mode_i = np.nonzero(self.offered[svc_m])
            lo_s = np.minimum(pairs[pair_i, member], pairs[pair_i, other])
            hi_s = np.maximum(pairs[pair_i, member], pairs[pair_i, other])
            linked = np.isin((lo_s * n + hi_s) * modes + mode_i, two_keys)
            ruled_out = np.isin(svc_m[pair_i] * modes + mode_i, one_keys)
            if not (linked | ruled_out).all():
                return ids
        graph = sp.coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        self.kept[rows] = True
        groups: IntArray = labels.astype(np.int64)
        return groups

    def _setups(
        self, compiled: CompiledModel, kinds: npt.NDArray[np.object_]
    ) -> tuple[IntArray, IntArray]:
        """The setup indicators enumerated (and their modes); their linking rows are kept when
        they say exactly "an option of mode m needs y_m" for every option of that mode."""
        none = np.zeros(0, dtype=np.int64)
        rows = np.flatnonzero(kinds == "linking")
        count = int(compiled.mode_of_y.shape[0])
        if not rows.size or count == 0 or count > ENUMERATED_SETUPS:
            return none, none
        block = self.csr[rows]
        entries = np.diff(block.indptr)
        # A row of one entry is -y <= 0 (its option column was reduced away): always true.
        lone = entries == 1
        lone_entries = block.indptr[:-1][lone]
        if not (
            (block.indices[lone_entries] >= self.num_x).all()
            and (block.data[lone_entries] == -1.0).all()
            and (self.model.row_upper[rows[lone]] == 0).all()
        ):
            return none, none
        rows = rows[~lone]
        block = self.csr[rows]
        if not (np.diff(block.indptr) == 2).all():
            return none, none
        cols = block.indices.reshape(-1, 2).astype(np.int64)
        data = block.data.reshape(-1, 2)
        order = np.argsort(cols, axis=1)
        cols = np.take_along_axis(cols, order, axis=1)
        data = np.take_along_axis(data, order, axis=1)
        option, y = cols[:, 0], cols[:, 1]
        if not (
            (option < self.num_x).all()
            and (y >= self.num_x).all()
            and (data[:, 0] == 1.0).all()
            and (data[:, 1] == -1.0).all()
            and (self.model.row_upper[rows] == 0).all()
            and np.isneginf(self.model.row_lower[rows]).all()
        ):
            return none, none
        y_cols = self.num_x + np.arange(count, dtype=np.int64)
        y_mode = compiled.mode_of_y.astype(np.int64)
        if not np.isin(y, y_cols).all():
            return none, none
        if (self.mode[option] != y_mode[y - self.num_x]).any():
            return none, none
        # Every option of a setup mode is linked, exactly once.
        linked_modes = np.isin(self.mode, y_mode)
        distinct = np.unique(option).shape[0]
        if int(linked_modes.sum()) != option.shape[0] or distinct != option.shape[0]:
            return none, none
        model = self.model
        if not (
            (model.col_lower[y_cols] == 0).all() and (model.col_upper[y_cols] == 1).all()
            and model.integrality[y_cols].all()
        ):
            return none, none
        self.kept[rows] = True
        self.kept[np.flatnonzero(kinds == "linking")] = True
        return y_cols, y_mode

    def evaluate(self, price: FloatArray) -> tuple[float, FloatArray]:
        """``L(price)`` in profit terms and a maximiser (full column vector).

        ``price`` is one signed price per priced row (scaled rows): positive on an upper side,
        negative on a lower side, zero on a side that has no bound.
        """
        value = self.profit - self.rows_t @ price
        constant = float(
            np.where(price > 0, price * np.where(self.has_upper, self.upper, 0.0), 0.0).sum()
            + np.where(price < 0, price * np.where(self.has_lower, self.lower, 0.0), 0.0).sum()
        )
        x = np.zeros(self.model.num_cols)
        total = constant + self.sign * self.model.objective_offset
        if self.boxed.size:
            lo, hi = self.model.col_lower[self.boxed], self.model.col_upper[self.boxed]
            v = value[self.boxed]
            at = np.where(v > 0, hi, lo)
            x[self.boxed] = at
            total += float(v @ at)
        ordered = value[self.order]
        best = np.maximum.reduceat(ordered, self.starts) if ordered.size else np.zeros(0)
        table = np.full((self.num_services, self.num_modes), -np.inf)
        table.flat[self.seg_key] = best
        chosen_total, modes, opened = self._best_modes(table, value)
        total += chosen_total
        # The column of each service: the first best option of its group's mode.
        hits = np.flatnonzero(ordered >= best[self.seg_of_sorted])
        seg = self.seg_of_sorted[hits]
        firsts = hits[np.r_[True, seg[1:] != seg[:-1]]]
        column_of_seg = self.order[firsts]
        services = np.arange(self.num_services)
        picked = self.seg_index[services * self.num_modes + modes[self.group]]
        x[column_of_seg[picked]] = 1.0
        if self.enumerated.size:
            x[self.enumerated] = opened
        return total, x

    def _best_modes(
        self, table: FloatArray, value: FloatArray
    ) -> tuple[float, IntArray, FloatArray]:
        """Over the enumerated setup combinations: the best total of the groups' best modes,
        the mode of each group and the setup indicators' values."""
        groups = self.num_groups
        best: tuple[float, IntArray, FloatArray] | None = None
        count = self.enumerated.shape[0]
        # Closing a mode rules out one column of every group's sums, so the sums are formed
        # once and each combination masks its closed modes' columns.
        if groups == self.num_services:
            every = table
        else:
            every = np.add.reduceat(table[self.group_order], self.group_starts, axis=0)
        for combo in range(1 << count):
            opened = np.array([(combo >> k) & 1 for k in range(count)], dtype=np.float64)
            closed = self.enumerated_mode[opened == 0]
            sums = every
            if closed.size:
                sums = every.copy()
                sums[:, closed] = -np.inf
            modes = np.argmax(sums, axis=1)
            tops = sums[np.arange(groups), modes]
            if not np.isfinite(tops).all():
                continue
            total = float(tops.sum()) + float(value[self.enumerated] @ opened)
            if best is None or total > best[0]:
                best = (total, modes.astype(np.int64), opened)
        if best is None:
            # No combination lets every group choose: the relaxation has no plan (so neither
            # has the model).
            return -np.inf, np.zeros(groups, dtype=np.int64), np.ones(count)
        return best

    def dense_columns(self) -> FloatArray | None:
        """The priced rows' option columns as a dense (options x rows) array, kept once made;
        None above :data:`DENSE_ENTRIES` entries."""
        if self.num_x * self.rows_t.shape[1] > DENSE_ENTRIES:
            return None
        if self._dense is None:
            self._dense = self.rows_t[: self.num_x].toarray()
        return self._dense

    def violation(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The priced rows' excess over their upper sides and shortfall under their lower sides
        (scaled, zero where a side has no bound)."""
        activity = self.rows @ x
        excess = np.where(self.has_upper, activity - np.where(self.has_upper, self.upper, 0.0), 0.0)
        short = np.where(self.has_lower, np.where(self.has_lower, self.lower, 0.0) - activity, 0.0)
        return excess, short


def applies(compiled: CompiledModel) -> str | None:
    """Why the relaxation does not apply to ``compiled``, or None when it does."""
    return Relaxation(compiled).problem


class _Search:
    """What the search found so far: the best (smallest) value of ``L``, the best plan that
    satisfies every row, and the choice with the least violation (for the repair)."""

    def __init__(
        self, relaxation: Relaxation, deadline: float | None, stops: list[threading.Event]
    ) -> None:
        self.relaxation = relaxation
        self.model = relaxation.model
        self.deadline = deadline
        self.stops = stops
        self.bound = np.inf
        self.plan: FloatArray | None = None
        self.value = -np.inf
        self.closest: tuple[float, float, FloatArray] | None = None
        self.steps = 0
        self.infeasible = False
        self.price = np.zeros(relaxation.priced.shape[0])

    def out_of_time(self, at: float | None = None) -> bool:
        """The time (or ``at``, a moment before it) is up, or a stop was requested."""
        if any(event.is_set() for event in self.stops):
            return True
        limit = at if at is not None else self.deadline
        return limit is not None and time.perf_counter() > limit

    def evaluate(self, price: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        """``L(price)``, its maximiser, and the maximiser's excess and shortfall on the priced
        rows; the best bound, plan and closest choice are updated."""
        relaxation = self.relaxation
        bound, x = relaxation.evaluate(price)
        self.steps += 1
        if not np.isfinite(bound):
            self.infeasible = True
            return bound, x, np.zeros(0), np.zeros(0)
        if bound < self.bound:
            self.bound, self.price = bound, price.copy()
        excess, short = relaxation.violation(x)
        self.offer(x, excess, short)
        return bound, x, excess, short

    def offer(self, x: FloatArray, excess: FloatArray, short: FloatArray) -> None:
        """A candidate choice: kept as the plan when it satisfies every row and is better, as the
        closest when it violates least."""
        worst = float(max(excess.max(initial=0.0), short.max(initial=0.0)))
        value = self.value_of(x)
        if (
            worst <= ROW_TOL
            and value > self.value
            and self.model.violation(x).relative <= CHECK_TOL
        ):
            self.plan, self.value = x, value
        total = float(np.maximum(excess, 0).sum() + np.maximum(short, 0).sum())
        if self.closest is None or (total, -value) < (self.closest[0], -self.closest[1]):
            self.closest = (total, value, x)

    def value_of(self, x: FloatArray) -> float:
        """A vector's objective as a profit."""
        relaxation = self.relaxation
        return float(relaxation.profit @ x) + relaxation.sign * self.model.objective_offset

    def closed(self, rel_gap: float) -> bool:
        """The plan is within ``rel_gap`` of the bound."""
        return self.plan is not None and relative_gap(self.value, self.bound) <= rel_gap


def lagrangian(
    compiled: CompiledModel,
    seconds: float | None,
    *,
    rel_gap: float = 1e-6,
    stop: threading.Event | None = None,
    cancel: threading.Event | None = None,
    repair: bool = True,
    max_steps: int = MAX_STEPS,
    method: str = "auto",
    solver: Backend | None = None,
    params: SolveParams | None = None,
) -> LagrangeResult:
    """A bound and a plan for a compiled single-period model (see the module docstring).

    Args:
        compiled: the compiled model.
        seconds: the time it may take (None: until its step limit).
        rel_gap: it stops once its plan is within this relative gap of its bound.
        stop: when set, it stops and returns what it has.
        cancel: the caller's cancel request, which stops it too.
        repair: repair and improve the least violated choice with :mod:`portfolio.greedy`.
        max_steps: most evaluations of ``L``.
        method: ``"bundle"`` (cutting planes in a trust region, for at most
            :data:`BUNDLE_ROWS` priced rows), ``"subgradient"``, or ``"auto"`` (the bundle
            method when it applies).
        solver: when given, the services the prices leave unsettled (and those cheapest to
            switch) are freed and the rest fixed at the rounded choice, and this backend
            solves the small MIP over them (:func:`_fix_and_solve`).
        params: the solve's parameters for that MIP (its ``rel_gap``).
    """
    began = time.perf_counter()
    deadline = None if seconds is None else began + max(0.0, seconds)
    relaxation = Relaxation(compiled)
    if relaxation.problem is not None:
        return LagrangeResult(None, None, 0, 0.0, f"Lagrangian not used: {relaxation.problem}")
    stops = [event for event in (stop, cancel) if event is not None]
    search = _Search(relaxation, deadline, stops)
    share = 1.0 if not repair else PRICE_SHARE if (seconds or 0) > SHORT_SECONDS else 0.4
    pricing_ends = None if deadline is None else began + share * (deadline - began)
    bundle = method == "bundle" or (
        method == "auto" and relaxation.priced.shape[0] <= BUNDLE_ROWS
    )
    if bundle:
        first_plan_at = None if deadline is None else began + FIRST_PLAN_SHARE * (deadline - began)
        rounded = _bundle_method(search, pricing_ends, rel_gap, max_steps, first_plan_at)
    else:
        _subgradient(search, pricing_ends, rel_gap, max_steps)
        rounded = None if search.closest is None else search.closest[2]
    notes = [f"{search.steps} {'bundle' if bundle else 'subgradient'} steps"]
    if search.infeasible:
        return _result(compiled.model, relaxation, -np.inf, None, search.steps, began, "no plan")
    hooks = SinglePeriodStart(compiled)
    if repair and search.plan is None and rounded is not None and not search.out_of_time():
        # First a plan, fast: vectorised switches repair the rounded choice, then improve it.
        if _quick_plan(search, rounded):
            notes.append("plan by vectorised repair")
    # The greedy's moves are plain Python: on large models it only eats the time left.
    greedy = repair and relaxation.num_x <= GREEDY_MAX_COLUMNS
    if greedy and search.plan is None and not search.out_of_time():
        # First a plan (anytime): the rounded or least violated choice, repaired and improved
        # in half the time left when a fixed MIP follows.
        start = rounded if rounded is not None else search.closest[2] if search.closest else None
        if start is not None:
            left = 30.0 if deadline is None else deadline - time.perf_counter()
            share = 0.5 if solver is not None and left > SHORT_SECONDS else 1.0
            fixed = repair_start(hooks, start, share * left, stop, cancel)
            if fixed is not None and search.value_of(fixed) > search.value:
                search.plan, search.value = fixed, search.value_of(fixed)
                notes.append("plan repaired and improved greedily")
    if solver is not None and rounded is not None and not search.closed(rel_gap):
        if not search.out_of_time(None if deadline is None else deadline - MIN_MIP_SECONDS):
            notes.append(_fix_and_solve(search, rounded, solver, params or SolveParams(), rel_gap))
    if greedy and search.plan is not None and not search.closed(rel_gap):
        if not search.out_of_time(None if deadline is None else deadline - MIN_GREEDY_SECONDS):
            left = 30.0 if deadline is None else deadline - time.perf_counter()
            better = repair_start(hooks, search.plan, left, stop, cancel)
            if better is not None and search.value_of(better) > search.value:
                search.plan, search.value = better, search.value_of(better)
                notes.append("plan improved greedily")
    return _result(
        compiled.model, relaxation, search.bound, search.plan, search.steps, began,
        "; ".join(notes),
    )


def _subgradient(search: _Search, until: float | None, rel_gap: float, max_steps: int) -> None:
    """Projected subgradient steps with the Polyak step size."""
    relaxation = search.relaxation
    price = np.zeros(relaxation.priced.shape[0])
    theta, idle, best = THETA_START, 0, np.inf
    span = _span(relaxation)
    while search.steps < max_steps and not search.out_of_time(until):
        bound, _, excess, short = search.evaluate(price)
        if search.infeasible or search.closed(rel_gap):
            return
        if bound < best - 1e-12 * max(1.0, abs(bound)) or not np.isfinite(best):
            best, idle = bound, 0
        else:
            idle += 1
            if idle >= PATIENCE:
                theta, idle = theta / 2, 0
        if theta < THETA_MIN:
            return
        up = np.where(relaxation.has_upper, excess, 0.0)
        down = np.where(relaxation.has_lower, short, 0.0)
        direction = np.where(price > 0, up, np.where(price < 0, -down, 0.0))
        free = price == 0
        direction = np.where(free & (up > 0), up, direction)
        direction = np.where(free & (down > 0), -down, direction)
        norm = float(direction @ direction)
        if norm <= 0:
            return  # the choice satisfies every priced row with complementary prices
        target = search.value if search.plan is not None else search.bound - 0.01 * span
        step = theta * max(bound - target, 1e-9 * span) / norm
        new = price + step * direction
        new = np.where(relaxation.has_upper, new, np.minimum(new, 0.0))
        new = np.where(relaxation.has_lower, new, np.maximum(new, 0.0))
        crossed = (price > 0) & (new < 0) | (price < 0) & (new > 0)
        price = np.where(crossed, 0.0, new)


def _span(relaxation: Relaxation) -> float:
    """The mean spread of profit among a service's options (the scale of useful prices)."""
    ordered = relaxation.profit[: relaxation.num_x][relaxation.order]
    if not ordered.size:
        return 1.0
    service_starts = np.flatnonzero(
        np.r_[True, np.diff(relaxation.service[relaxation.order]) != 0]
    )
    spread = np.maximum.reduceat(ordered, service_starts) - np.minimum.reduceat(
        ordered, service_starts
    )
    value = float(np.mean(spread))
    return value if value > 0 else max(1.0, float(np.abs(ordered).mean()))


def _bundle_method(
    search: _Search,
    until: float | None,
    rel_gap: float,
    max_steps: int,
    first_plan_at: float | None = None,
) -> FloatArray | None:
    """Cutting planes in a trust region (a box around the best prices): each evaluation of
    ``L`` gives a plane below it; the next prices minimise the planes' maximum in the box;
    the box grows after a step that lowers ``L`` enough and shrinks after one that does not.
    Returns the rounded convex combination of the recent choices the last planes weigh (the
    relaxation's primal estimate), for the repair."""
    relaxation = search.relaxation
    upper_rows = np.flatnonzero(relaxation.has_upper)
    lower_rows = np.flatnonzero(relaxation.has_lower)
    size = upper_rows.shape[0] + lower_rows.shape[0]

    def price_of(z: FloatArray) -> FloatArray:
        price = np.zeros(relaxation.priced.shape[0])
        price[upper_rows] += z[: upper_rows.shape[0]]
        price[lower_rows] -= z[upper_rows.shape[0] :]
        return price

    span = _span(relaxation)
    radius = 2.0 * span
    center = np.zeros(size)
    bound, x, excess, short = search.evaluate(price_of(center))
    if search.infeasible or size == 0:
        return None
    center_value = bound
    planes: list[FloatArray] = []
    offsets: list[float] = []
    choices: list[FloatArray] = []

    def add_plane(z: FloatArray, value: float, x: FloatArray, excess: FloatArray,
                  short: FloatArray) -> None:
        # dL/dz: -(excess) on an upper side, -(shortfall) on a lower side.
        gradient = np.concatenate((-excess[upper_rows], -short[lower_rows]))
        planes.append(gradient)
        offsets.append(value - float(gradient @ z))
        choices.append(x)

    add_plane(center, bound, x, excess, short)
    weights = np.ones(1)
    while search.steps < max_steps and not search.out_of_time(until):
        if search.closed(rel_gap):
            break
        matrix = np.array(planes)
        lo = np.maximum(0.0, center - radius)
        hi = center + radius
        # min t  s.t.  offset_k + g_k . z <= t
        solution = linprog(
            np.r_[np.zeros(size), 1.0],
            A_ub=np.c_[matrix, -np.ones(len(planes))],
            b_ub=-np.array(offsets),
            bounds=[*zip(lo.tolist(), hi.tolist(), strict=True), (None, None)],
            method="highs",
        )
        if solution.status != 0:
            break
        z = np.asarray(solution.x[:size])
        predicted = float(solution.x[size])
        marginals = -np.asarray(solution.ineqlin.marginals)
        weights = np.maximum(marginals, 0.0)
        if center_value - predicted <= 1e-9 * max(1.0, abs(center_value)):
            # The planes leave no descent in the box: converged (when the box is not binding)
            # or the box must grow.
            if np.all((z > lo + 1e-12) | (lo == 0)) and np.all(z < hi - 1e-12):
                break
            radius *= 2.0
            continue
        value, x, excess, short = search.evaluate(price_of(z))
        if search.infeasible:
            return None
        add_plane(z, value, x, excess, short)
        if center_value - value >= 0.1 * (center_value - predicted):
            center, center_value = z, value
            radius *= 2.0
        else:
            radius = max(radius * 0.7, 1e-9 * span)
        if len(planes) > MAX_PLANES:
            keep = np.argsort(-np.r_[weights, np.zeros(len(planes) - weights.shape[0])],
                              kind="stable")[: MAX_PLANES // 2]
            keep = np.union1d(keep, np.arange(len(planes) - 5, len(planes)))
            planes = [planes[k] for k in keep]
            offsets = [offsets[k] for k in keep]
            choices = [choices[k] for k in keep]
            weights = np.zeros(len(planes))
        late = first_plan_at is not None and time.perf_counter() > first_plan_at
        if search.steps % ROUND_EVERY == 0 or (late and search.plan is None):
            rounded = _round_combination(search, choices, weights)
            if late and search.plan is None and rounded is not None:
                # Anytime: a first plan by the vectorised repair, then the pricing goes on.
                first_plan_at = None
                _quick_plan(search, rounded)
    return _round_combination(search, choices, weights)


def _quick_plan(search: _Search, rounded: FloatArray) -> bool:
    """The vectorised repair and improvement of a rounded choice, offered as a plan; True when
    it gave one."""
    fixed = _vector_moves(search, rounded, improving=False)
    if fixed is not None:
        fixed = _vector_moves(search, fixed, improving=True)
    if fixed is None:
        return False
    excess, short = search.relaxation.violation(fixed)
    before = search.value
    search.offer(fixed, excess, short)
    return search.value > before


def _round_combination(
    search: _Search, choices: list[FloatArray], weights: FloatArray
) -> FloatArray | None:
    """The convex combination of the choices with the planes' weights, rounded (each service
    takes its column of largest weight; setup indicators open where a chosen option needs
    them); offered as a candidate plan, and returned."""
    relaxation = search.relaxation
    count = min(len(choices), weights.shape[0])
    if count == 0 or weights[:count].sum() <= 0:
        return None
    mixed = np.zeros(relaxation.model.num_cols)
    for k in range(count):
        if weights[k] > 0:
            mixed += weights[k] * choices[k]
    mixed /= float(weights[:count].sum())
    # Each bundle group takes the mode of largest total weight (offered to all its members),
    # each service its column of largest weight in that mode.
    ordered = mixed[: relaxation.num_x][relaxation.order]
    weight = np.add.reduceat(ordered, relaxation.starts)
    table = np.full((relaxation.num_services, relaxation.num_modes), -np.inf)
    table.flat[relaxation.seg_key] = weight
    if relaxation.num_groups == relaxation.num_services:
        sums = table
    else:
        sums = np.add.reduceat(table[relaxation.group_order], relaxation.group_starts, axis=0)
    modes = np.argmax(sums, axis=1)
    if not np.isfinite(sums[np.arange(sums.shape[0]), modes]).all():
        return None
    best = np.maximum.reduceat(ordered, relaxation.starts)
    seg = relaxation.seg_of_sorted
    hits = np.flatnonzero(ordered >= best[seg])
    firsts = hits[np.r_[True, seg[hits][1:] != seg[hits][:-1]]]
    column_of_seg = relaxation.order[firsts]
    services = np.arange(relaxation.num_services)
    picked = relaxation.seg_index[services * relaxation.num_modes + modes[relaxation.group]]
    chosen = column_of_seg[picked]
    x = np.zeros(relaxation.model.num_cols)
    x[chosen] = 1.0
    shared = np.arange(relaxation.num_x, relaxation.model.num_cols)
    x[shared] = np.round(mixed[shared])
    if relaxation.enumerated.size:
        used = np.zeros(relaxation.num_modes, dtype=np.bool_)
        used[relaxation.mode[chosen]] = True
        x[relaxation.enumerated] = used[relaxation.enumerated_mode].astype(np.float64)
    excess, short = relaxation.violation(x)
    search.offer(x, excess, short)
    return x


def _vector_moves(search: _Search, x: FloatArray, *, improving: bool) -> FloatArray | None:
    """Switches of single services (not in a bundle) to other options of open modes, many at
    once: ``x`` with the moves applied, or None when repairing fails.

    Repairing: the switches that reduce the weighted violation of the priced rows, least profit
    lost per unit repaired first (those that gain profit before all); the shortest prefix (one
    switch per service, so activities add up exactly) that leaves no priced row violated is
    applied, or, when none does, the prefix that violates least, and again. Improving: the
    switches that gain profit and fit each row's slack alone, most profit per share of slack
    used first; the longest prefix that keeps every row satisfied is applied, and again.
    """
    relaxation = search.relaxation
    num_x = relaxation.num_x
    rows_t = relaxation.rows_t
    single = np.bincount(relaxation.group, minlength=relaxation.num_groups)[relaxation.group] == 1
    x = x.copy()
    moved = np.zeros(relaxation.num_services, dtype=np.bool_)
    priced_value = relaxation.profit - rows_t @ search.price
    dense = relaxation.dense_columns()
    for _ in range(VECTOR_ROUNDS):
        if search.out_of_time():
            break
        chosen_cols = np.flatnonzero(x[:num_x] > 0.5)
        chosen = np.empty(relaxation.num_services, dtype=np.int64)
        chosen[relaxation.service[chosen_cols]] = chosen_cols
        activity = relaxation.rows @ x
        upper = np.where(relaxation.has_upper, relaxation.upper, np.inf)
        lower = np.where(relaxation.has_lower, relaxation.lower, -np.inf)
        columns = np.arange(num_x)
        owner = relaxation.service
        usable = single[owner] & (chosen[owner] != columns) & ~moved[owner]
        if relaxation.enumerated.size:
            closed = relaxation.enumerated_mode[x[relaxation.enumerated] < 0.5]
            usable &= ~np.isin(relaxation.mode, closed)
        candidates = np.flatnonzero(usable)
        if not candidates.size:
            break
        if dense is not None:
            delta = dense[candidates]
            delta -= dense[chosen][owner[candidates]]
        else:
            delta = (rows_t[candidates] - rows_t[chosen[owner[candidates]]]).toarray()
        gain = relaxation.profit[candidates] - relaxation.profit[chosen[owner[candidates]]]
        over = np.maximum(activity - upper, 0.0)
        under = np.maximum(lower - activity, 0.0)
        now = float(over.sum() + under.sum())
        if improving:
            if now > ROW_TOL:
                return None
            room_up = np.where(np.isfinite(upper), upper - activity, np.inf)
            room_down = np.where(np.isfinite(lower), activity - lower, np.inf)
            fits = np.all(delta <= room_up + 1e-12, axis=1) & np.all(
                -delta <= room_down + 1e-12, axis=1
            )
            pick = np.flatnonzero(fits & (gain > 1e-12))
            if not pick.size:
                break
            share = np.maximum(delta[pick], 0.0) / np.maximum(room_up, 1e-12) + np.maximum(
                -delta[pick], 0.0
            ) / np.maximum(room_down, 1e-12)
            key = -gain[pick] / (1e-9 + share.sum(axis=1))
        else:
            if now <= ROW_TOL:
                return x
            # max(activity + delta - upper, 0) + max(lower - activity - delta, 0), in place.
            after = np.add(activity, delta)
            after -= upper
            np.maximum(after, 0.0, out=after)
            short = np.subtract(lower - activity, delta)
            np.maximum(short, 0.0, out=short)
            after += short
            repair = now - after.sum(axis=1)
            pick = np.flatnonzero(repair > 1e-12)
            if not pick.size:
                return None
            # Profit lost at the best prices (which weigh the rows against each other).
            loss = priced_value[chosen[owner[candidates[pick]]]] - priced_value[candidates[pick]]
            key = np.where(loss <= 0, loss - 1e300, loss / repair[pick])
        order = _best_per_owner(pick, key, owner[candidates[pick]])
        path = activity + np.cumsum(delta[order], axis=0)
        violation = (
            np.maximum(path - upper, 0.0) + np.maximum(lower - path, 0.0)
        ).sum(axis=1)
        if improving:
            bad = np.flatnonzero(violation > ROW_TOL)
            count = int(bad[0]) if bad.size else order.shape[0]
            if count == 0:
                break
        else:
            good = np.flatnonzero(violation <= ROW_TOL)
            count = int(good[0]) + 1 if good.size else int(np.argmin(violation)) + 1
        applied = candidates[order[:count]]
        services = owner[applied]
        x[chosen[services]] = 0.0
        x[applied] = 1.0
        moved[services] = improving
        if not improving and good.size:
            return x
    if improving:
        return x
    excess, short = relaxation.violation(x)
    return x if float(np.maximum(excess, 0).sum() + np.maximum(short, 0).sum()) <= ROW_TOL else None


def _best_per_owner(pick: IntArray, key: FloatArray, owners: IntArray) -> IntArray:
    """One switch per service, its best-ranked (smallest ``key``, the first among equals), in
    ranking order (ties by position in ``pick``).

    ``owners`` (the service of each switch in ``pick``) is nondecreasing for the option columns
    (grouped by service), so each service's best is a segment minimum and only the winners are
    sorted; otherwise every switch is sorted and the first of each service kept. Both give the
    same order.
    """
    if owners.size > 1 and not bool(np.all(owners[1:] >= owners[:-1])):
        ranked = pick[np.argsort(key, kind="stable")]
        order_owners = owners[np.argsort(key, kind="stable")]
        _, first = np.unique(order_owners, return_index=True)
        return np.asarray(ranked[np.sort(first)], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    best = np.minimum.reduceat(key, starts)
    segment = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, owners.shape[0]]))
    hits = np.flatnonzero(key == best[segment])
    firsts = hits[np.r_[True, segment[hits][1:] != segment[hits][:-1]]]
    return np.asarray(pick[firsts[np.argsort(key[firsts], kind="stable")]], dtype=np.int64)


def _fix_and_solve(
    search: _Search, rounded: FloatArray, solver: Backend, params: SolveParams, rel_gap: float
) -> str:
    """Fix the services the prices settle, solve the rest exactly.

    Under the best prices λ each option has a value ``v = p − Aᵀλ``; a service's *switch loss*
    is how much less than its best its second-best option is worth. The services whose rounded
    choice differs from their best under λ, and then those with the smallest switch loss (up to
    :data:`FREE_COLUMNS` columns, or :data:`FREE_SHARE` of them), are freed with their whole
    bundle group; every other service keeps its rounded choice, and ``solver`` solves the MIP
    over the free columns (and every shared one) in the time left. Returns a note.
    """
    relaxation = search.relaxation
    model = relaxation.model
    value = relaxation.profit - relaxation.rows_t @ search.price
    num_x = relaxation.num_x
    order = relaxation.order
    service_sorted = relaxation.service[order]
    starts = np.flatnonzero(np.r_[True, service_sorted[1:] != service_sorted[:-1]])
    ordered = value[:num_x][order]
    best = np.maximum.reduceat(ordered, starts)
    seg = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, num_x]))
    loss = best[seg] - ordered
    second = np.full(starts.shape[0], np.inf)
    np.minimum.at(second, seg, np.where(loss > 1e-12, loss, np.inf))
    chosen_loss = np.zeros(starts.shape[0])
    picked = rounded[:num_x][order] > 0.5
    chosen_loss[seg[picked]] = loss[picked]
    unsettled = chosen_loss > 1e-12
    limit = max(FREE_COLUMNS, int(FREE_SHARE * num_x))
    sizes = np.diff(np.r_[starts, num_x])
    score = np.where(unsettled, -1.0, second)
    ranked = np.argsort(score, kind="stable")
    take = ranked[np.cumsum(sizes[ranked]) <= limit]
    freed = np.zeros(relaxation.num_services, dtype=np.bool_)
    freed[take] = True
    group_freed = np.zeros(relaxation.num_groups, dtype=np.bool_)
    group_freed[relaxation.group[freed]] = True
    freed = group_freed[relaxation.group]
    fixed = np.ones(model.num_cols, dtype=np.bool_)
    fixed[:num_x] = ~freed[relaxation.service]
    fixed[num_x:] = False
    restricted, free = fix_columns(model, fixed, rounded)
    left = None if search.deadline is None else search.deadline - time.perf_counter()
    if left is not None and left <= 0.05:
        return "no time for the fixed MIP"
    interrupt = search.stops[0] if search.stops else None
    sub = solver.solve(
        restricted,
        params.with_(backend_options={}, verbose=False, rel_gap=max(rel_gap * 0.5, 1e-9)),
        time_limit=left,
        interrupt=interrupt,
    )
    note = f"{int(freed.sum())} services free in the fixed MIP: {sub.status.value}"
    if sub.x is None or not sub.status.has_plan:
        return note
    candidate = rounded.copy()
    candidate[free] = np.where(model.integrality[free], np.round(sub.x), sub.x)
    excess, short = relaxation.violation(candidate)
    search.offer(candidate, excess, short)
    return note


def _result(
    model: LinearModel,
    relaxation: Relaxation,
    bound: float,
    x: FloatArray | None,
    steps: int,
    began: float,
    note: str,
) -> LagrangeResult:
    """The result in the model's objective, with the bound's safety margin."""
    proven: float | None = None
    if np.isfinite(bound):
        loosened = bound + BOUND_MARGIN * max(1.0, abs(bound))
        proven = relaxation.sign * loosened
    seconds = time.perf_counter() - began
    text = f"Lagrangian relaxation in {seconds:.2f}s ({note})"
    return LagrangeResult(proven, x, steps, seconds, text)


class LagrangeRun:
    """:func:`lagrangian` in a background thread, run while the LP phase does.

    Attributes:
        closed: set when its plan is within the requested gap of its bound (the LP phase may
            then stop).
    """

    def __init__(
        self,
        compiled: CompiledModel,
        seconds: float,
        rel_gap: float,
        *,
        cancel: threading.Event | None = None,
        solver: Backend | None = None,
        params: SolveParams | None = None,
    ) -> None:
        self.stop = threading.Event()
        self.closed = threading.Event()
        self._box: list[LagrangeResult] = []

        def work() -> None:
            found = lagrangian(
                compiled, seconds, rel_gap=rel_gap, stop=self.stop, cancel=cancel,
                solver=solver, params=params,
            )
            self._box.append(found)
            plan_value = found.objective(compiled.model)
            if (
                found.bound is not None
                and plan_value is not None
                and relative_gap(plan_value, found.bound) <= rel_gap
            ):
                self.closed.set()

        self._thread = threading.Thread(target=work, name="portfolio-lagrange", daemon=True)
        self._thread.start()

    def result(self, *, wait: bool, timeout: float | None = None) -> LagrangeResult | None:
        """Its result: waited for (it keeps its own time limit) when ``wait``, else it is asked
        to stop and returns what it has at once. With ``wait`` and a ``timeout``, it is asked
        to stop after that many seconds (it then returns at its next look at the clock)."""
        if not wait:
            self.stop.set()
        elif timeout is not None:
            self._thread.join(max(0.0, timeout))
            self.stop.set()
        self._thread.join()
        return self._box[0] if self._box else None


class EitherEvent(threading.Event):
    """An event that reads as set when it, or any of the given events, is set (the LP phase's
    stop request: the caller's cancel, or the Lagrangian's plan closing the gap)."""

    def __init__(self, *events: threading.Event | None) -> None:
        super().__init__()
        self.events = [event for event in events if event is not None]

    def is_set(self) -> bool:
        return super().is_set() or any(event.is_set() for event in self.events)
