"""Integer scaling of a model's rows and objective, for integer-only solvers (CP-SAT).

Pure numpy; no solver import. Two regimes, per row and for the objective:

*Exact* (the usual case). The smallest power of ten ``10**k`` (``k = 0..9``) that makes every
coefficient and every finite bound of the row an integer up to float noise (:func:`is_integral`:
``0.35 * 100 == 35.00000000000001`` counts, ``10**9 / 3`` does not), is used
when the scaled row stays small enough for exact arithmetic: ``sum_j |a_j| * 10**k * M_j`` and
every scaled bound at most :data:`MAX_ACTIVITY`, where ``M_j = max(|l_j|, |u_j|)`` is the largest
magnitude column ``j`` can take. Such a row admits exactly the integer points of the real row (up
to that float noise).

*Conservative rounding* (data with no short decimal form, such as ``1/3``). The row is scaled by
a power of two ``S`` (so that ``a * S`` is computed exactly) and rounded so that every integer
point of the scaled row satisfies the real row within ``tol = ROW_TOLERANCE * (1 + |bound|)``.
Write ``s_j = min(l_j, 0)`` and ``y = x - s >= 0`` (for the usual binary and nonnegative columns
``s = 0`` and ``y = x``). For an upper side ``a.x <= u``::

    q_j = ceil(a_j * S),   R = floor(S * (u + tol) - S * a.s),   row:  q.x <= R + q.s

is sound: ``S a.y <= q.y <= R <= S (u + tol - a.s)`` gives ``a.x <= u + tol``. A lower side
``a.x >= lo`` is the mirror image (``floor`` coefficients, ``ceil`` bound). An equality or range
row becomes two such rows (one per side). The rounded row may exclude plans the real row admits
(its integer points are a subset), so a solver's optimum and bound on the rounded model are not
proven for the real one: :attr:`IntegerRows.restricting` lists those rows. A rounded side that
holds on the whole column box (redundant) is dropped and excludes nothing.

``mode="outer"`` builds the opposite approximation (``floor`` coefficients on upper sides,
``ceil`` on lower sides, the same bounds): every plan of the real row (within the tolerance)
satisfies it, so the outer model is a relaxation. It proves infeasibility and bounds when the
inner model cannot.

The objective is scaled the same way (a power of ten when exact, else a power of two rounded to
nearest); :attr:`IntegerObjective.max_error` bounds the error on any plan in the column box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from portfolio.linear import LinearModel, Sense
from portfolio.result import BackendResult, Status

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_POWER = 9
"""Largest power of ten tried for exact scaling."""
INTEGRALITY_RTOL = 1e-12
"""Relative part of the test for "a scaled value is an integer" (see :func:`is_integral`)."""
INTEGRALITY_ATOL = 0.01
"""Absolute cap of that test (see :func:`is_integral`)."""
MAX_ACTIVITY = float(2**53)
"""Largest scaled activity ``sum_j |coef_j| * M_j`` (and scaled bound) allowed: exact in doubles and
far inside CP-SAT's int64 overflow checks."""
ROUNDING_PRECISION_BITS = 40
"""Conservative rounding scales the largest coefficient or bound of a row to about ``2**40``."""
ROUNDING_ACTIVITY = float(2**52)
"""Conservative rounding keeps ``S * sum_j |a_j| * M_j`` below this (the ceilings add at most
``sum_j M_j`` more, which stays below :data:`MAX_ACTIVITY`)."""
ROW_TOLERANCE = 1e-9
"""A rounded row holds on the real data within ``ROW_TOLERANCE * (1 + |bound|)``."""
NO_LOWER = -(2**63)
"""Integer lower bound meaning "none" (CP-SAT reads ``INT64_MIN`` as minus infinity)."""
NO_UPPER = 2**63 - 1
"""Integer upper bound meaning "none" (``INT64_MAX``)."""

SKIPPED = -2
"""Entry of :attr:`IntegerRows.powers` for a row not emitted (no finite bound, no nonzero, or
infeasible on its own)."""
ROUNDED = -1
"""Entry of :attr:`IntegerRows.powers` for a row scaled by conservative rounding."""


@dataclass(frozen=True)
class IntegerRows:
    """The rows of a model as integer constraints ``lower <= coeffs . x <= upper``.

    Attributes:
        indptr: CSR row pointer of the emitted constraints (length ``num_constraints + 1``).
        indices: column of each coefficient.
        coeffs: integer coefficients.
        lower: integer lower bounds (:data:`NO_LOWER` where none).
        upper: integer upper bounds (:data:`NO_UPPER` where none).
        source: the model row each emitted constraint comes from.
        factor: the scale factor of each emitted constraint (``10**k`` or ``2**p``).
        powers: per model row, ``k`` when scaled exactly by ``10**k``, :data:`ROUNDED` or
            :data:`SKIPPED`.
        restricting: model rows rounded conservatively whose rounding may exclude plans (inner
            mode); empty in outer mode.
        relaxing: model rows rounded outwards (outer mode) whose rounding may admit points that
            break the real row; empty in inner mode.
        infeasible: model rows no point can satisfy (an empty row whose bounds exclude 0).
    """

    indptr: IntArray
    indices: IntArray
    coeffs: IntArray
    lower: IntArray
    upper: IntArray
    source: IntArray
    factor: FloatArray
    powers: IntArray
    restricting: IntArray
    relaxing: IntArray
    infeasible: IntArray

    @property
    def num_constraints(self) -> int:
        """Number of emitted constraints."""
        return int(self.source.shape[0])

    @property
    def rounded(self) -> IntArray:
        """Model rows scaled by conservative rounding (restricting or not)."""
        return np.flatnonzero(self.powers == ROUNDED).astype(np.int64)


@dataclass(frozen=True)
class IntegerObjective:
    """An objective scaled to integers: ``objective . x ~= coeffs . x / factor``.

    Attributes:
        coeffs: integer coefficients, one per column.
        factor: the scale factor ``S`` (``10**k`` when exact, else a power of two).
        power: ``k`` when the scaling is exact, else None.
        max_error: bound on ``|objective . x - coeffs . x / factor|`` over every ``x`` in the
            column box (0 when exact).
    """

    coeffs: IntArray
    factor: float
    power: int | None
    max_error: float

    @property
    def exact(self) -> bool:
        """The scaled objective equals the real one on every plan."""
        return self.power is not None


def is_integral(
    values: FloatArray, rtol: float = INTEGRALITY_RTOL, atol: float = INTEGRALITY_ATOL
) -> BoolArray:
    """Which values are integers up to float noise.

    ``|v - round(v)| <= min(rtol * max(1, |v|), atol)``. The relative part accepts the noise of
    decimal data in doubles (``0.35 * 100 == 35.00000000000001``: a few units in the last place,
    ~1e-16 relative). The absolute cap stops large scaled values from passing by magnitude alone:
    with a relative test only, ``1/3 * 10**9 = 333333333.33`` would pass at ``rtol = 1e-9``, and
    ``1e6/3 * 10**7`` at ``rtol = 1e-12``, and the equality ``x / 3 == 1`` would lose ``x = 3``.
    """
    tolerance = np.minimum(rtol * np.maximum(1.0, np.abs(values)), atol)
    return np.asarray(np.abs(values - np.rint(values)) <= tolerance, dtype=np.bool_)


def column_magnitude(col_lower: FloatArray, col_upper: FloatArray) -> FloatArray:
    """``M_j = max(|l_j|, |u_j|)``: the largest magnitude each column can take."""
    return np.maximum(np.abs(col_lower), np.abs(col_upper))


def scale_objective(
    objective: FloatArray, col_lower: FloatArray, col_upper: FloatArray
) -> IntegerObjective:
    """Scale objective coefficients to integers, exactly when a power of ten allows it.

    Args:
        objective: real coefficients.
        col_lower: column lower bounds (finite).
        col_upper: column upper bounds (finite).

    Returns:
        The integer objective. When no ``10**k`` (``k <= 9``) is exact within range, the factor is
        the largest power of two keeping ``S * sum_j |c_j| * M_j`` below ``2**52``, coefficients are
        rounded to nearest, and ``max_error = sum_j |c_j - round(c_j S) / S| * M_j``.
    """
    c = np.asarray(objective, dtype=np.float64)
    magnitude = column_magnitude(col_lower, col_upper)
    total = float(np.abs(c) @ magnitude)
    if not np.any(c):
        return IntegerObjective(np.zeros(c.shape, dtype=np.int64), 1.0, 0, 0.0)
    for k in range(MAX_POWER + 1):
        factor = 10.0**k
        if total * factor > MAX_ACTIVITY:
            break
        scaled = c * factor
        if bool(is_integral(scaled).all()):
            return IntegerObjective(np.rint(scaled).astype(np.int64), factor, k, 0.0)
    reference = max(total, float(np.abs(c).max()))
    p = math.floor(math.log2(ROUNDING_ACTIVITY / reference))
    factor = math.ldexp(1.0, p)
    coeffs = np.rint(c * factor)
    error = float(np.abs(c - coeffs / factor) @ magnitude)
    # Cover the rounding of the error computation itself.
    error = error * (1.0 + 1e-12) + total * 1e-15
    return IntegerObjective(coeffs.astype(np.int64), factor, None, error)


def scale_rows(
    matrix: sp.csr_matrix,
    row_lower: FloatArray,
    row_upper: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    *,
    mode: Literal["inner", "outer"] = "inner",
) -> IntegerRows:
    """Scale every row to integers (exactly where possible, else conservatively rounded).

    Args:
        matrix: constraint matrix in CSR form.
        row_lower: row lower bounds (``-inf`` where none).
        row_upper: row upper bounds (``+inf`` where none).
        col_lower: integer-valued, finite column lower bounds.
        col_upper: integer-valued, finite column upper bounds.
        mode: ``"inner"``: rounded rows admit only points of the real row (the solver's plans are
            real plans). ``"outer"``: rounded rows admit every point of the real row (a
            relaxation, for proofs of infeasibility and bounds).

    Returns:
        The integer constraints in model-row order, with the bookkeeping of which rows were
        rounded. Rows listed in ``infeasible`` are not emitted.
    """
    csr = sp.csr_matrix(matrix, dtype=np.float64)
    csr.sum_duplicates()
    m = csr.shape[0]
    indptr = csr.indptr.astype(np.int64)
    indices = csr.indices.astype(np.int64)
    data = csr.data.astype(np.float64)
    keep = data != 0.0
    if not keep.all():
        indptr = _compress_indptr(indptr, keep)
        indices = indices[keep]
        data = data[keep]
    lower = np.asarray(row_lower, dtype=np.float64)
    upper = np.asarray(row_upper, dtype=np.float64)
    col_lo = np.asarray(col_lower, dtype=np.float64)
    col_hi = np.asarray(col_upper, dtype=np.float64)
    magnitude_col = column_magnitude(col_lo, col_hi)
    lengths = np.diff(indptr)
    row_of = np.repeat(np.arange(m, dtype=np.int64), lengths)

    has_lower = np.isfinite(lower)
    has_upper = np.isfinite(upper)
    empty = lengths == 0
    crossed = has_lower & has_upper & (lower > upper)
    infeasible = crossed | (empty & ((has_lower & (lower > 0)) | (has_upper & (upper < 0))))
    skipped = empty | (~has_lower & ~has_upper) | infeasible

    activity = np.bincount(
        row_of, weights=np.abs(data) * magnitude_col[indices], minlength=m
    ).astype(np.float64)
    bound_size = np.maximum(
        np.where(has_lower, np.abs(lower), 0.0), np.where(has_upper, np.abs(upper), 0.0)
    )
    powers = _decimal_powers(row_of, data, lower, upper, activity, bound_size, skipped)
    powers[skipped] = SKIPPED

    # Exact rows, vectorised.
    exact_rows = np.flatnonzero(powers >= 0)
    factor_row = 10.0 ** np.maximum(powers, 0)
    nz_exact = powers[row_of] >= 0
    lower_exact = np.full(exact_rows.shape, NO_LOWER, dtype=np.int64)
    upper_exact = np.full(exact_rows.shape, NO_UPPER, dtype=np.int64)
    fl = has_lower[exact_rows]
    fu = has_upper[exact_rows]
    scale_exact = factor_row[exact_rows]
    lower_exact[fl] = np.rint(lower[exact_rows][fl] * scale_exact[fl]).astype(np.int64)
    upper_exact[fu] = np.rint(upper[exact_rows][fu] * scale_exact[fu]).astype(np.int64)

    parts_idx: list[IntArray] = [indices[nz_exact]]
    parts_coef: list[IntArray] = [
        np.rint(data[nz_exact] * factor_row[row_of[nz_exact]]).astype(np.int64)
    ]
    parts_len: list[IntArray] = [lengths[exact_rows]]
    parts_lo: list[IntArray] = [lower_exact]
    parts_hi: list[IntArray] = [upper_exact]
    parts_src: list[IntArray] = [exact_rows.astype(np.int64)]
    parts_fac: list[FloatArray] = [scale_exact]

    rounded_rows = np.flatnonzero(powers == ROUNDED)
    kept: list[int] = []
    for row in rounded_rows.tolist():
        a, b = int(indptr[row]), int(indptr[row + 1])
        cols = indices[a:b]
        rounded = _round_row(
            data[a:b],
            float(lower[row]) if has_lower[row] else None,
            float(upper[row]) if has_upper[row] else None,
            col_lo[cols],
            col_hi[cols],
            magnitude_col[cols],
            mode,
        )
        if rounded.constraints:
            kept.append(row)
        for coef, lo, hi in rounded.constraints:
            parts_idx.append(cols)
            parts_coef.append(coef)
            parts_len.append(np.array([cols.shape[0]], dtype=np.int64))
            parts_lo.append(np.array([lo], dtype=np.int64))
            parts_hi.append(np.array([hi], dtype=np.int64))
            parts_src.append(np.array([row], dtype=np.int64))
            parts_fac.append(np.array([rounded.factor], dtype=np.float64))

    out_len = np.concatenate(parts_len).astype(np.int64)
    out_src = np.concatenate(parts_src)
    out_idx = np.concatenate(parts_idx)
    out_coef = np.concatenate(parts_coef)
    # Emit in model-row order; the sides of one row stay together (stable sort).
    order = np.argsort(out_src, kind="stable")
    new_len = out_len[order]
    if rounded_rows.size:
        old_start = np.concatenate(([0], np.cumsum(out_len)[:-1])).astype(np.int64)
        new_start = np.concatenate(([0], np.cumsum(new_len)[:-1])).astype(np.int64)
        total = int(new_len.sum())
        gather = np.repeat(old_start[order] - new_start, new_len) + np.arange(total)
        out_idx = out_idx[gather]
        out_coef = out_coef[gather]
    no_rows = np.array([], dtype=np.int64)
    return IntegerRows(
        indptr=np.concatenate(([0], np.cumsum(new_len))).astype(np.int64),
        indices=out_idx,
        coeffs=out_coef,
        lower=np.concatenate(parts_lo)[order],
        upper=np.concatenate(parts_hi)[order],
        source=out_src[order],
        factor=np.concatenate(parts_fac)[order],
        powers=powers,
        restricting=np.array(kept, dtype=np.int64) if mode == "inner" else no_rows,
        relaxing=rounded_rows.astype(np.int64) if mode == "outer" else no_rows,
        infeasible=np.flatnonzero(infeasible).astype(np.int64),
    )


def _compress_indptr(indptr: IntArray, keep: BoolArray) -> IntArray:
    """Row pointer after dropping the nonzeros where ``keep`` is False."""
    kept = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    return kept[indptr]


def _decimal_powers(
    row_of: IntArray,
    data: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    activity: FloatArray,
    bound_size: FloatArray,
    skipped: BoolArray,
) -> IntArray:
    """Per row, the smallest ``k`` making the row integral at ``10**k`` within range, else -1."""
    m = lower.shape[0]
    powers = np.full(m, ROUNDED, dtype=np.int64)
    unresolved = ~skipped
    has_lower = np.isfinite(lower)
    has_upper = np.isfinite(upper)
    for k in range(MAX_POWER + 1):
        if not unresolved.any():
            break
        if k:  # only the nonzeros of rows still unresolved
            live = unresolved[row_of]
            row_of, data = row_of[live], data[live]
        factor = 10.0**k
        bad_nz = ~is_integral(data * factor)
        bad = np.bincount(row_of[bad_nz], minlength=m) > 0
        with np.errstate(invalid="ignore"):
            bad |= has_lower & ~is_integral(np.where(has_lower, lower, 0.0) * factor)
            bad |= has_upper & ~is_integral(np.where(has_upper, upper, 0.0) * factor)
        bad |= (activity * factor > MAX_ACTIVITY) | (bound_size * factor > MAX_ACTIVITY)
        found = unresolved & ~bad
        powers[found] = k
        unresolved &= bad
    return powers


@dataclass(frozen=True)
class _RoundedRow:
    """The integer constraints ``(coeffs, lower, upper)`` replacing one rounded row."""

    constraints: list[tuple[IntArray, int, int]]
    factor: float


def _round_row(
    vals: FloatArray,
    lower: float | None,
    upper: float | None,
    col_lo: FloatArray,
    col_hi: FloatArray,
    magnitude: FloatArray,
    mode: Literal["inner", "outer"],
) -> _RoundedRow:
    """Round one row conservatively (inner) or outwards (outer) at a power-of-two scale.

    Sides that hold everywhere on the column box are dropped (they exclude nothing).
    """
    activity = float(np.abs(vals) @ magnitude)
    big = max(
        float(np.abs(vals).max()),
        abs(lower) if lower is not None else 0.0,
        abs(upper) if upper is not None else 0.0,
        1e-300,
    )
    p_precision = ROUNDING_PRECISION_BITS - math.ceil(math.log2(big))
    p_activity = math.floor(math.log2(ROUNDING_ACTIVITY / max(activity, big)))
    factor = math.ldexp(1.0, min(p_precision, p_activity))
    scaled = vals * factor  # exact: a product with a power of two
    shift = np.minimum(col_lo, 0.0).astype(np.int64)  # s_j = min(l_j, 0), so y = x - s >= 0
    shifted = bool(np.any(shift != 0))

    def scaled_bound(bound: float, side: int) -> int:
        """Upper side (+1): ``floor(S (bound + tol) - S a.s)``; lower side (-1): the ``ceil`` of
        ``S (bound - tol) - S a.s``."""
        target = bound + side * ROW_TOLERANCE * (1.0 + abs(bound))
        if shifted:  # exact rational arithmetic for the shift term
            value: Fraction | float = Fraction(target) * Fraction(factor) - sum(
                (
                    Fraction(v) * s
                    for v, s in zip(scaled.tolist(), shift.tolist(), strict=True)
                    if s
                ),
                Fraction(0),
            )
        else:
            value = target * factor
        return math.floor(value) if side > 0 else math.ceil(value)

    ceil_coef = np.ceil(scaled).astype(np.int64)
    floor_coef = np.floor(scaled).astype(np.int64)
    upper_coef, lower_coef = (ceil_coef, floor_coef) if mode == "inner" else (floor_coef, ceil_coef)
    lo_box = col_lo.astype(np.int64)
    hi_box = col_hi.astype(np.int64)
    upper_side: tuple[IntArray, int] | None = None
    lower_side: tuple[IntArray, int] | None = None
    if upper is not None:
        bound = scaled_bound(upper, +1) + int(upper_coef @ shift)
        top = int(np.maximum(upper_coef * lo_box, upper_coef * hi_box).sum())
        if top > bound:  # the side can bind somewhere in the box: keep it
            upper_side = (upper_coef, bound)
    if lower is not None:
        bound = scaled_bound(lower, -1) + int(lower_coef @ shift)
        bottom = int(np.minimum(lower_coef * lo_box, lower_coef * hi_box).sum())
        if bottom < bound:
            lower_side = (lower_coef, bound)
    constraints: list[tuple[IntArray, int, int]] = []
    if (
        upper_side is not None
        and lower_side is not None
        and np.array_equal(upper_side[0], lower_side[0])
        and lower_side[1] <= upper_side[1]
    ):
        constraints.append((upper_side[0], lower_side[1], upper_side[1]))
    else:
        if lower_side is not None:
            constraints.append((lower_side[0], lower_side[1], NO_UPPER))
        if upper_side is not None:
            constraints.append((upper_side[0], NO_LOWER, upper_side[1]))
    return _RoundedRow(constraints, factor)


# --------------------------------------------------------------------------------------------
# Scaling for floating-point solvers (HiGHS, CBC, SCIP)
# --------------------------------------------------------------------------------------------

WINDOW_BITS = 10
"""An exact row whose largest integer entry is below ``2**WINDOW_BITS`` is left at unit scale;
larger ones are scaled down by powers of two towards that window."""
UNIT_FLOOR_BITS = 10
"""An exact row is never scaled down by more than ``2**-UNIT_FLOOR_BITS``: one unit of its data
(a penny, for money in pounds and pence) stays at least ``2**-10`` in solver units, three orders
of magnitude above the solvers' feasibility tolerances (1e-6 to 1e-9)."""
WIDEN_ABOVE = float(2**20)
"""An exact row over integer columns gets half a unit of slack only when its largest integer
entry exceeds this (about a million units): below it no solver tolerance (1e-6 relative at
most) reaches a unit, and slack would only weaken the LP relaxation."""
OBJECTIVE_WINDOW_BITS = 10
"""The objective is rescaled (by a power of two, to a largest coefficient in ``[1, 2)``) only
when its largest coefficient lies outside ``[2**-10, 2**10]``."""
UNSAFE_RANGE = 1e6
"""A row without an exact decimal form whose largest entry (coefficient or bound) is more than
this many times its smallest nonzero coefficient is decided only to the solver's tolerance: a
float solver's ``optimal`` on it is reported as ``feasible``."""


MAX_INTEGRALITY_TOLERANCE = 1e-7
"""Integrality tolerance asked of a solver when the data need no tighter one (CBC's default)."""
MIN_INTEGRALITY_TOLERANCE = 1e-15
"""The tightest integrality tolerance ever asked (about 5 units in the last place of 1)."""


@dataclass(frozen=True)
class FloatScaling:
    """How :func:`scale_for_float` changed a model (what it takes to read the answer back).

    Attributes:
        row_factor: per row, the factor the row was multiplied by (``10**k * 2**-p`` for an exact
            row, ``2**-e`` otherwise, 1 for a row left alone).
        exact: per row, True when the row was recovered as exact decimals: integer
            coefficients and bounds (in units of ``10**-k``) with ``sum |a_j| M_j < 2**53``.
        widened: rows whose bounds were widened by half a unit (large exact rows over integer
            columns only, where the activity is an integer and half a unit adds no plan).
        objective_factor: the power of two the objective (and its offset) was multiplied by.
        unsafe: rows with no exact form and a dynamic range beyond :data:`UNSAFE_RANGE`.
        integrality_tolerance: the largest integrality tolerance that cannot move a widened
            row across its bound: ``x_j`` within ``t`` of an integer moves the activity by at
            most ``t * sum_j |a_j|``, which must stay below the half unit of slack (capped at
            :data:`MAX_INTEGRALITY_TOLERANCE`, floored at :data:`MIN_INTEGRALITY_TOLERANCE`).
    """

    row_factor: FloatArray
    exact: BoolArray
    widened: IntArray
    objective_factor: float
    unsafe: IntArray
    integrality_tolerance: float = 1e-7

    def note(self, model: LinearModel) -> str:
        """A sentence for ``detail`` when some row could not be passed exactly, else ``""``."""
        if not self.unsafe.size:
            return ""
        names = ", ".join(model.row_name(int(i)) for i in self.unsafe[:5])
        more = f" and {self.unsafe.size - 5} more" if self.unsafe.size > 5 else ""
        return (
            f"not proven optimal: row(s) {names}{more} have no exact decimal form and numbers "
            f"more than {UNSAFE_RANGE:g} times apart, so a floating-point solver decides them "
            "only to its tolerance"
        )

    def unscale(self, model: LinearModel, result: BackendResult) -> BackendResult:
        """The backend's answer on the scaled model, read back in the units of ``model``.

        ``x`` is unchanged (columns are not scaled); the objective is recomputed on ``model``;
        the bound and reduced costs are divided by the objective factor (exact: a power of two),
        row duals multiplied by their row's factor and divided by the objective factor,
        and a bound a hair beyond the plan's own value (solver float noise) is clamped to it.
        An ``optimal`` answer over an unsafe row becomes ``feasible`` without a bound.
        """
        factor = self.objective_factor
        objective = result.objective
        if result.x is not None:
            objective = model.objective_value(result.x)
        elif objective is not None:
            objective = objective / factor
        bound = None if result.bound is None else result.bound / factor
        if bound is not None and result.x is not None and objective is not None:
            # A bound cannot lie beyond a real plan's value; solvers' float noise (their dual
            # bound is as exact as their tolerances) sometimes puts it a hair across.
            bound = (
                min(bound, objective) if model.sense is Sense.MINIMISE else max(bound, objective)
            )
        reduced = None if result.reduced_costs is None else result.reduced_costs / factor
        # A row multiplied by s, under an objective multiplied by f: the solver's dual y is
        # d(f obj)/d(s b), so the dual in the model's units is y * s / f.
        duals = (
            None
            if result.row_duals is None
            else np.asarray(result.row_duals, dtype=np.float64) * self.row_factor / factor
        )
        status, detail = result.status, result.detail
        if self.unsafe.size and status in (Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE):
            note = self.note(model)
            if status is Status.INFEASIBLE:
                note = note.replace("not proven optimal", "infeasibility not proven")
            detail = f"{detail}; {note}" if detail else note
            if status is Status.OPTIMAL:
                status, bound, reduced, duals = Status.FEASIBLE, None, None, None
        return replace(
            result,
            status=status,
            objective=objective,
            bound=bound,
            reduced_costs=reduced,
            row_duals=duals,
            detail=detail,
        )


def _row_reduce(
    ufunc: np.ufunc, values: FloatArray, indptr: IntArray, empty: float
) -> FloatArray:
    """Per CSR row, ``ufunc`` over the row's values (``empty`` for a row without any)."""
    m = indptr.shape[0] - 1
    out = np.full(m, empty, dtype=np.float64)
    starts = indptr[:-1]
    nonempty = indptr[1:] > starts
    if values.size and nonempty.any():
        out[nonempty] = ufunc.reduceat(values, starts[nonempty])
    return out


def scale_for_float(model: LinearModel) -> tuple[LinearModel, FloatScaling]:
    """The model as a floating-point solver should see it: exact rows, of moderate scale.

    Per row (vectorised):

    * *Exact rows.* When a power of ten ``10**k`` (``k <= 9``) makes every coefficient and
      bound an integer up to float noise (:func:`is_integral`, the test CP-SAT's scaling uses)
      and ``sum_j |a_j| M_j * 10**k <= 2**53``, the row is replaced by those integers: the
      decimals the data were written in, free of binary representation error (``99999999.98``
      is ``99999999.980000004`` as a double; ``9999999998`` is exact). Rows whose integers are
      large are then multiplied by ``2**-p`` (exact), ``p`` at most :data:`UNIT_FLOOR_BITS`, to
      bring them towards the window ``[1, 2**WINDOW_BITS)``. When every column of the row is
      integer, its activity is a whole number of units, so a row with entries above
      :data:`WIDEN_ABOVE` units has its bounds widened by half a unit (equations excepted): no
      plan is added, and a plan exactly on the bound keeps half a unit of slack against any
      solver tolerance.
    * *Other rows* (data with no short decimal form, or too large to be exact) are multiplied by
      the power of two that puts their largest entry in ``[1, 2)``: exact, and of order one.
      Those whose entries span more than :data:`UNSAFE_RANGE` are listed as unsafe.

    The objective is multiplied by a power of two when its largest coefficient lies outside
    ``[2**-10, 2**10]``. Columns are never scaled, so plans need no translation.
    """
    csr = model.matrix
    if not csr.has_canonical_format:
        csr = sp.csr_matrix(csr, copy=True)
        csr.sum_duplicates()
    m = model.num_rows
    indptr = csr.indptr.astype(np.int64)
    indices = csr.indices.astype(np.int64)
    data = np.asarray(csr.data, dtype=np.float64)
    lower = np.asarray(model.row_lower, dtype=np.float64)
    upper = np.asarray(model.row_upper, dtype=np.float64)
    lengths = np.diff(indptr)
    row_of = np.repeat(np.arange(m, dtype=np.int64), lengths)
    has_lower = np.isfinite(lower)
    has_upper = np.isfinite(upper)
    magnitude_col = column_magnitude(model.col_lower, model.col_upper)
    with np.errstate(invalid="ignore"):
        activity = np.bincount(
            row_of, weights=np.abs(data) * magnitude_col[indices], minlength=m
        ).astype(np.float64)
    activity[~np.isfinite(activity)] = np.inf
    bound_size = np.maximum(
        np.where(has_lower, np.abs(lower), 0.0), np.where(has_upper, np.abs(upper), 0.0)
    )
    nonzero_rows = np.bincount(row_of[data != 0.0], minlength=m) > 0
    skipped = ~nonzero_rows | (~has_lower & ~has_upper)
    powers = _decimal_powers(row_of, data, lower, upper, activity, bound_size, skipped)
    exact = powers >= 0
    approximate = (powers == ROUNDED) & ~skipped

    new_lower = lower.copy()
    new_upper = upper.copy()
    new_data = data.copy()
    row_factor = np.ones(m, dtype=np.float64)
    abs_data = np.abs(data)
    row_max = _row_reduce(np.maximum, abs_data, indptr, 0.0)

    # Exact rows: integers in units of 10**-k, then 2**-p towards the window.
    decimal = 10.0 ** np.maximum(powers, 0)
    nz_exact = exact[row_of]
    new_data[nz_exact] = np.rint(data[nz_exact] * decimal[row_of[nz_exact]])
    with np.errstate(invalid="ignore"):
        int_lower = np.where(exact & has_lower, np.rint(lower * decimal), 0.0)
        int_upper = np.where(exact & has_upper, np.rint(upper * decimal), 0.0)
    int_max = _row_reduce(np.maximum, np.where(nz_exact, np.abs(new_data), 0.0), indptr, 0.0)
    int_max = np.maximum(int_max, np.maximum(np.abs(int_lower), np.abs(int_upper)))
    with np.errstate(divide="ignore"):
        top_bit = np.floor(np.log2(np.where(int_max > 0, int_max, 1.0)))
    shift = np.clip(top_bit - WINDOW_BITS + 1, 0, UNIT_FLOOR_BITS).astype(np.int64)
    unit = np.ldexp(1.0, -shift)
    new_data[nz_exact] *= unit[row_of[nz_exact]]
    integer_col = np.asarray(model.integrality, dtype=np.bool_)
    fractional_cols = np.bincount(
        row_of, weights=(~integer_col[indices]).astype(np.float64), minlength=m
    )
    # Equations keep their form (solvers' presolve exploits them: substitution, cliques), and
    # rows of small integers need no slack (no tolerance reaches a unit) and would only have
    # their LP relaxation weakened (x - y <= 0.5 lets the LP open half of x without y).
    equation = has_lower & has_upper & (lower == upper)
    widen = exact & (fractional_cols == 0) & ~equation & (int_max > WIDEN_ABOVE)
    margin = np.where(widen, 0.5, 0.0)
    new_lower = np.where(exact & has_lower, (int_lower - margin) * unit, new_lower)
    new_upper = np.where(exact & has_upper, (int_upper + margin) * unit, new_upper)
    row_factor = np.where(exact, decimal * unit, row_factor)

    # Other rows: a power of two to a largest entry in [1, 2).
    entry_max = np.maximum(row_max, bound_size)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.where(entry_max > 0, entry_max, 1.0)))
    two = np.where(approximate, np.ldexp(1.0, -exponent.astype(np.int64)), 1.0)
    nz_approx = approximate[row_of]
    new_data[nz_approx] *= two[row_of[nz_approx]]
    new_lower = np.where(approximate & has_lower, lower * two, new_lower)
    new_upper = np.where(approximate & has_upper, upper * two, new_upper)
    row_factor = np.where(approximate, two, row_factor)
    row_min = _row_reduce(np.minimum, np.where(abs_data > 0, abs_data, np.inf), indptr, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        span = entry_max / row_min
    unsafe = np.flatnonzero(approximate & (span > UNSAFE_RANGE)).astype(np.int64)

    # Objective.
    c = np.asarray(model.objective, dtype=np.float64)
    c_max = float(np.max(np.abs(c), initial=0.0))
    objective_factor = 1.0
    if c_max > 0 and not (2.0**-OBJECTIVE_WINDOW_BITS <= c_max <= 2.0**OBJECTIVE_WINDOW_BITS):
        objective_factor = math.ldexp(1.0, -math.floor(math.log2(c_max)))

    matrix = sp.csr_matrix((new_data, indices, indptr), shape=csr.shape)
    scaled = replace(
        model,
        objective=c * objective_factor,
        objective_offset=float(model.objective_offset) * objective_factor,
        matrix=matrix,
        row_lower=new_lower,
        row_upper=new_upper,
    )
    abs_sum = np.bincount(row_of, weights=np.abs(new_data), minlength=m)
    tolerance = MAX_INTEGRALITY_TOLERANCE
    if widen.any():
        slack = 0.5 * unit[widen] / np.maximum(abs_sum[widen], 1e-300)
        tolerance = float(np.clip(0.5 * slack.min(), MIN_INTEGRALITY_TOLERANCE, tolerance))
    scaling = FloatScaling(
        integrality_tolerance=tolerance,
        row_factor=row_factor,
        exact=exact,
        widened=np.flatnonzero(widen).astype(np.int64),
        objective_factor=objective_factor,
        unsafe=unsafe,
    )
    return scaled, scaling
