"""The solver-neutral linear model every backend translates.

``minimise or maximise  c @ x + offset
  subject to          row_lower <= A @ x <= row_upper,
                      col_lower <= x <= col_upper,  x[j] integer where integrality[j]``

Rows come in contiguous *blocks*, one per constraint family instance (e.g. ``budget`` or
``choice`` over all services), so a row can be named without materialising a string per row.
Backends import this module, never the domain.
"""

from __future__ import annotations

import enum
import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles (an
    instance read from a file, the lines of a model file): its passes over the growing heap cost
    more than the building. The previous state is restored.

    It lives here, among the foundations, because both the readers of an instance and the
    backends (which see only this module of the model's side) use it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


CHECK_TOL = 1e-6
"""Largest violation (:meth:`LinearModel.violation`, relative) of a vector the model accepts:
every backend's answer is held to it (``Backend.solve``)."""


@enum.unique
class Sense(enum.Enum):
    """Direction of optimisation."""

    MINIMISE = "minimise"
    """Smaller objective is better."""
    MAXIMISE = "maximise"
    """Larger objective is better."""


@dataclass(frozen=True)
class RowBlock:
    """A contiguous run of rows of one constraint family.

    Attributes:
        family: constraint family, e.g. ``"budget"``, ``"choice"``, ``"capacity_count"``.
        start: first row index.
        stop: one past the last row index.
        items: one label per row (a service or mode id), or ``None`` for a single unlabelled row.
        kind: the constraint family alone (``"sector_share"`` for
            ``sector_share[private].max``), given by every constructor (keyword only); code that
            needs to know which limit a row is reads ``kind``, ``key`` and ``side``, never the
            text of ``family``.
        key: what the family is indexed by, where it is: a sector (``sector_share``), the position
            of a ``limits`` row, a year; ``None`` otherwise.
        side: ``"upper"`` or ``"lower"`` for families that bound both ways; ``None`` otherwise.
    """

    family: str
    start: int
    stop: int
    items: Sequence[str] | None = None
    kind: str = field(kw_only=True)
    key: str | int | None = field(default=None, kw_only=True)
    side: str | None = field(default=None, kw_only=True)

    def name(self, row: int) -> str:
        """Name of a row of this block, e.g. ``capacity_count[voluntary]``."""
        if self.items is None:
            return self.family
        return f"{self.family}[{self.items[row - self.start]}]"


@dataclass(frozen=True)
class Violation:
    """How far a vector is from satisfying a :class:`LinearModel`
    (:meth:`LinearModel.violation`).

    Attributes:
        relative: the largest violation, each row and column bound relative to ``1 + |bound|``
            and integrality absolute; ``inf`` for a vector with a missing or non-finite value.
        absolute: the largest violation in the model's own units.
        where: the row or column ``relative`` was measured on, e.g. ``row budget (upper)``, or
            ``""`` when nothing is violated.
    """

    relative: float
    absolute: float
    where: str

    def worse(self, other: Violation) -> Violation:
        """The larger of two violations (relative, with its place), and the larger absolute."""
        worst = other if other.relative > self.relative else self
        return Violation(worst.relative, max(self.absolute, other.absolute), worst.where)

    def describe(self) -> str:
        """Words for ``detail``: how much, relative and absolute, and where."""
        return (
            f"it breaks {self.where} by {self.relative:.3g} (relative; {self.absolute:.3g} "
            "absolute)"
        )


def _worst(excess: FloatArray, limit: FloatArray) -> tuple[float, float, int]:
    """The largest of ``excess`` (how far past ``limit`` each entry is; an infinite limit is no
    limit): relative to ``1 + |limit|``, absolute, and the index of the relative one."""
    finite = np.isfinite(limit)
    if not finite.any():
        return 0.0, 0.0, 0
    with np.errstate(invalid="ignore"):
        gap = np.where(finite, excess, 0.0)
        scaled = gap / (1.0 + np.where(finite, np.abs(limit), 0.0))
    k = int(np.argmax(scaled))
    return float(scaled[k]), float(np.max(gap)), k


@dataclass(frozen=True)
class LinearModel:
    """A mixed-integer linear programme in matrix form.

    Attributes:
        sense: minimise or maximise.
        objective: objective coefficients, one per column.
        objective_offset: constant added to the objective.
        matrix: constraint matrix in CSR form (rows x columns), explicit zeros removed.
        row_lower: row lower bounds (``-inf`` where none).
        row_upper: row upper bounds (``+inf`` where none).
        col_lower: column lower bounds.
        col_upper: column upper bounds.
        integrality: True for integer columns.
        blocks: row blocks in row order, covering every row.
        column_names: optional column names (``x{j}`` is used when absent).
    """

    sense: Sense
    objective: FloatArray
    objective_offset: float
    matrix: sp.csr_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integrality: BoolArray
    blocks: tuple[RowBlock, ...]
    column_names: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def num_cols(self) -> int:
        """Number of columns (variables)."""
        return int(self.objective.shape[0])

    @property
    def num_rows(self) -> int:
        """Number of rows (constraints)."""
        return int(self.row_lower.shape[0])

    @property
    def num_nonzeros(self) -> int:
        """Number of stored nonzeros of the matrix."""
        return int(self.matrix.nnz)

    def row_name(self, row: int) -> str:
        """Name of a row, from its block."""
        for block in self.blocks:
            if block.start <= row < block.stop:
                return block.name(row)
        raise IndexError(row)

    def column_name(self, col: int) -> str:
        """Name of a column (``x{j}`` when no names were given)."""
        if self.column_names is not None:
            return self.column_names[col]
        return f"x{col}"

    def objective_value(self, x: FloatArray) -> float:
        """Objective at ``x``."""
        return float(self.objective @ x + self.objective_offset)

    def max_violation(self, x: FloatArray) -> float:
        """Largest violation of any row, column bound or integrality at ``x`` (absolute)."""
        return self.violation(x).absolute

    def violation(self, x: FloatArray) -> Violation:
        """How far ``x`` is from satisfying the model: every row, column bound and integrality.

        The one measure every backend's answer is checked with (``Backend.solve``): rows and
        column bounds relative to ``1 + |bound|``, integrality absolute. A vector of the wrong
        length, or with a value that is not finite, is infinitely far.
        """
        values = np.asarray(x, dtype=np.float64)
        if values.shape != (self.num_cols,) or not np.isfinite(values).all():
            return Violation(math.inf, math.inf, "a value that is missing or not finite")
        activity = self.matrix @ values
        found = Violation(0.0, 0.0, "")
        for excess, limit, name, side in (
            (self.row_lower - activity, self.row_lower, self.row_name, "row {} (lower)"),
            (activity - self.row_upper, self.row_upper, self.row_name, "row {} (upper)"),
            (self.col_lower - values, self.col_lower, self.column_name, "column {} (lower bound)"),
            (values - self.col_upper, self.col_upper, self.column_name, "column {} (upper bound)"),
        ):
            relative, absolute, k = _worst(excess, limit)
            if relative > 0.0:
                found = found.worse(Violation(relative, absolute, side.format(name(k))))
        if self.integrality.any():
            fractional = np.where(self.integrality, np.abs(values - np.round(values)), 0.0)
            j = int(np.argmax(fractional))
            off = float(fractional[j])
            found = found.worse(Violation(off, off, f"column {self.column_name(j)} (integer)"))
        return found

    def accepts(self, x: FloatArray) -> bool:
        """True when ``x`` satisfies the model to :data:`CHECK_TOL` (:meth:`violation`)."""
        return self.violation(x).relative <= CHECK_TOL

    def validate_shapes(self) -> None:
        """Raise ValueError when the arrays disagree in size (a programming error)."""
        rows, cols = self.matrix.shape
        if self.objective.shape != (cols,):
            raise ValueError("objective length differs from the number of columns")
        for name in ("col_lower", "col_upper", "integrality"):
            if getattr(self, name).shape != (cols,):
                raise ValueError(f"{name} length differs from the number of columns")
        for name in ("row_lower", "row_upper"):
            if getattr(self, name).shape != (rows,):
                raise ValueError(f"{name} length differs from the number of rows")
        covered = sum(block.stop - block.start for block in self.blocks)
        if covered != rows:
            raise ValueError("row blocks do not cover every row")


def fix_columns(
    model: LinearModel, fixed: BoolArray, values: FloatArray
) -> tuple[LinearModel, IntArray]:
    """The model over the free columns only, with fixed columns moved into the row bounds.

    Rows left with no free column are dropped (their feasibility is the caller's concern: it is
    checked when the full vector is verified). Row blocks are kept only as one ``restricted``
    block, since the sub-model is for solving, not for reporting.

    Args:
        model: the full model.
        fixed: True for columns to fix.
        values: the values of the fixed columns (full length; free entries ignored).

    Returns:
        The restricted model and the indices of its columns in the full model.
    """
    free = np.flatnonzero(~fixed)
    fixed_values = np.where(fixed, values, 0.0)
    shift = model.matrix @ fixed_values
    sub = model.matrix[:, free].tocsr()
    live = np.diff(sub.indptr) > 0
    rows = np.flatnonzero(live)
    sub = sub[rows]
    restricted = LinearModel(
        sense=model.sense,
        objective=model.objective[free].copy(),
        objective_offset=model.objective_offset + float(model.objective @ fixed_values),
        matrix=sub,
        row_lower=(model.row_lower - shift)[rows],
        row_upper=(model.row_upper - shift)[rows],
        col_lower=model.col_lower[free].copy(),
        col_upper=model.col_upper[free].copy(),
        integrality=model.integrality[free].copy(),
        blocks=(RowBlock("restricted", 0, int(rows.shape[0]), kind="restricted"),),
    )
    return restricted, free
