"""The backend interface: capabilities, the one solve procedure every backend follows, and the
helpers solver processes share.

A backend translates a :class:`~portfolio.linear.LinearModel` for one solver, runs it and maps the
solver's answer back to a :class:`~portfolio.result.BackendResult`. :meth:`Backend.solve` is the
same for every backend (a template method): it checks the options and the model, scales the model
for a floating-point solver, times the call, checks the returned vector against the model and
discards it when it does not hold; each backend implements only :meth:`Backend.translate`,
:meth:`Backend.run` and :meth:`Backend.map_back`. Backends import only ``linear``, ``params``,
``result`` and ``errors``; their solver package is imported inside those hooks so that
``import portfolio`` works without it. The registry of backends by name is
:mod:`portfolio.backends.registry`.
"""

from __future__ import annotations

import abc
import contextlib
import difflib
import enum
import importlib.util
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from portfolio.backends.scaling import MAX_INTEGRALITY_TOLERANCE, scale_for_float
from portfolio.errors import BackendOptionError, IncompatibleModelError
from portfolio.linear import CHECK_TOL, BoolArray, FloatArray, LinearModel
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

DEFAULT_BACKEND = "highs"
"""The backend used when none is named."""

WORK_NODES = 1000
"""Branch-and-bound nodes of a work-limited search (:meth:`Backend.work_limit_options`)."""
WORK_DETERMINISTIC_SECONDS = 10.0
"""Deterministic time of a work-limited search where the solver counts work that way (CP-SAT's
``max_deterministic_time``, in its own units, roughly seconds on a current core)."""

_BOUND_TOL = 1e-9
"""Slack when telling contradictory bounds from equal ones (:func:`contradiction`)."""
_INTEGER_TOL = 1e-6
"""An integer column's bound within this of an integer is that integer (:func:`contradiction`)."""


@enum.unique
class Feature(enum.Enum):
    """What a backend can do."""

    MIP_START = "mip_start"
    """Accepts a starting plan (warm start)."""
    LP = "lp"
    """Solves continuous relaxations (used by the heuristic and infeasibility explanations)."""
    INTERRUPT = "interrupt"
    """Can be stopped from another thread (the hard time limit does not rely on its own)."""
    INTEGER_COEFFICIENTS = "integer_coefficients"
    """Needs integer coefficients: real data are scaled, exactly where possible."""
    THREADS = "threads"
    """Uses more than one thread when asked."""
    DETERMINISTIC = "deterministic"
    """The same model and parameters give the same answer."""
    OWN_PROCESS = "own_process"
    """Runs its solver in a child process it ends at the deadline: a run is never abandoned,
    so it needs no process isolation (:attr:`~portfolio.params.SolveParams.isolation`)."""


@dataclass(frozen=True)
class SolveRequest:
    """One solve, as a backend's hooks see it.

    Attributes:
        model: the model to solve: scaled for a floating-point backend (see :meth:`Backend.solve`)
            and, for a relaxation, with every column continuous.
        params: common parameters (gap, threads, seed, verbosity, backend options).
        time_limit: seconds for the whole call (what is left of the caller's limit), or None.
        start: a plan to start from, for backends with :attr:`Feature.MIP_START` (None for a
            relaxation).
        interrupt: set by the caller to ask the solver to stop and return its best plan.
        relax: a continuous relaxation is asked (``model`` is already relaxed).
        began: ``time.perf_counter()`` when the hooks were called (after the checks and the
            scaling of :meth:`Backend.solve`); :attr:`time_limit` counts from here.
    """

    model: LinearModel
    params: SolveParams
    time_limit: float | None
    start: FloatArray | None
    interrupt: threading.Event | None
    relax: bool
    began: float

    @property
    def deadline(self) -> float | None:
        """The ``time.perf_counter()`` reading by which the call should return, or None."""
        return None if self.time_limit is None else self.began + self.time_limit

    def remaining(self) -> float | None:
        """Seconds left until :attr:`deadline` (negative once past), or None for no limit."""
        deadline = self.deadline
        return None if deadline is None else deadline - time.perf_counter()

    @property
    def stop_requested(self) -> bool:
        """The caller has set :attr:`interrupt`."""
        return self.interrupt is not None and self.interrupt.is_set()


class OptionRejected(Exception):
    """Raised by :meth:`Backend.option_checker`'s check for an option the solver cannot take.

    Attributes:
        reason: why, in the solver's terms.
        known: the solver's option names, for suggestions (empty for a known name whose value
            is refused).
    """

    def __init__(self, reason: str, known: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.known = tuple(known)


OptionCheck = Callable[[str, Any], None]
"""A check of one backend option by name and value (see :meth:`Backend.option_checker`)."""


class Backend(abc.ABC):
    """A solver behind the common interface.

    Subclasses set ``name``, ``modules`` (the Python modules the solver needs), ``extra`` (the
    pip extra that installs them), ``features`` and ``description``, and implement
    :meth:`option_checker`, :meth:`translate`, :meth:`run` and :meth:`map_back`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    modules: ClassVar[tuple[str, ...]]
    extra: ClassVar[str]
    features: ClassVar[frozenset[Feature]]

    @classmethod
    def is_available(cls) -> bool:
        """True when every solver module can be imported (checked without importing it)."""
        try:
            return all(importlib.util.find_spec(module) is not None for module in cls.modules)
        except (ImportError, ValueError):
            return False

    @classmethod
    def version(cls) -> str | None:
        """Version of the solver package, when installed."""
        from importlib import metadata

        for dist in (cls.extra, *cls.modules):
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return None

    def supports(self, feature: Feature) -> bool:
        """True when the backend declares the feature."""
        return feature in self.features

    @classmethod
    def tolerance_options(cls, tolerance: float) -> dict[str, Any]:
        """Solver options that make integrality (and feasibility) tests as tight as
        ``tolerance``, set when large exact rows need it (none here; see :meth:`solve`)."""
        return {}

    def work_limit_options(self) -> dict[str, Any]:
        """Solver options that end a search after a fixed amount of work rather than time
        (a node limit, a deterministic time), so that the same model and parameters give the
        same answer on any machine; ``{}`` when the solver has none. Used for the tie-break
        phase when the user gives no time limit (:func:`portfolio.solve.prefer_plan`)."""
        return {}

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Check ``backend_options`` before any solving: every name must be an option of this
        solver and every value of a type it takes (checked against the solver's own list of
        options, so an unknown name is never silently ignored).

        Raises:
            BackendOptionError: an unknown option (with close names as suggestions) or a value
                the option cannot take.
        """
        if not options:
            return
        check = self.option_checker()
        for key, value in options.items():
            try:
                check(str(key), value)
            except OptionRejected as rejected:
                near = close_matches(str(key).lstrip("-"), rejected.known)
                raise BackendOptionError(self.name, str(key), rejected.reason, near) from None

    @abc.abstractmethod
    def option_checker(self) -> OptionCheck:
        """A check of one option (name, value) against the solver's own table of options;
        it raises :class:`OptionRejected` for a name or value the solver would not take."""

    def solve(
        self,
        model: LinearModel,
        params: SolveParams,
        *,
        time_limit: float | None,
        start: FloatArray | None = None,
        interrupt: threading.Event | None = None,
        relax: bool = False,
    ) -> BackendResult:
        """Solve ``model``: the same steps for every backend, the solver's own in the hooks.

        1. ``params.backend_options`` are checked (:meth:`check_options`); a relaxation is
           refused by a backend without :attr:`Feature.LP`; the start is dropped for a backend
           without :attr:`Feature.MIP_START` and for a relaxation.
        2. Contradictory bounds (a column with no value, a row no activity can meet) answer
           ``infeasible`` without running the solver.
        3. A floating-point backend (one without :attr:`Feature.INTEGER_COEFFICIENTS`) is given
           the model through :func:`~portfolio.backends.scaling.scale_for_float` (rows as the
           exact decimals of the data, of moderate scale; the objective by a power of two); when
           the data need an integrality tolerance tighter than
           :data:`~portfolio.backends.scaling.MAX_INTEGRALITY_TOLERANCE`, its
           :meth:`tolerance_options` are set (the caller's ``backend_options`` win). Integer-only
           backends do their own exact scaling.
        4. :meth:`translate`, :meth:`run`, :meth:`map_back`.
        5. The returned vector is checked against the model the solver was given
           (:meth:`~portfolio.linear.LinearModel.violation`, :data:`CHECK_TOL`). A vector that
           breaks it, or a plan status with no vector, is discarded, and the status becomes
           ``time_limit_no_solution`` when a limit ended the search, else ``error``. Then
           :meth:`settle`.
        6. A scaled answer is read back in the model's own units (objective recomputed on the
           real coefficients, bound, reduced costs and row duals unscaled, ``optimal`` over a
           row with no
           exact form reported as ``feasible``), and ``seconds`` is the wall time of the call.

        Args:
            model: the linear model.
            params: common parameters (gap, threads, seed, verbosity, backend options).
            time_limit: seconds the solver may use (what is left of the caller's limit), or None.
            start: a feasible plan to start from (backends with MIP_START use it).
            interrupt: set by the caller to ask the solver to stop and return its best plan.
            relax: solve the continuous relaxation instead (backends with LP).

        Returns:
            The answer in model space. Solver failures are reported as ``Status.ERROR`` with the
            solver's words in ``detail``, not raised.

        Raises:
            BackendOptionError: a backend option the solver does not take.
            IncompatibleModelError: a relaxation asked of a backend without LP, or a model the
                solver cannot take (e.g. continuous columns for an integer-only one).
            ValueError: a start of the wrong length.
        """
        began = time.perf_counter()
        self.check_options(params.backend_options)
        if relax and not self.supports(Feature.LP):
            raise IncompatibleModelError(
                f"the {self.name} backend cannot solve continuous relaxations"
            )
        if start is not None and (relax or not self.supports(Feature.MIP_START)):
            start = None
        if start is not None and np.shape(start) != (model.num_cols,):
            raise ValueError(
                f"start has shape {np.shape(start)}, the model has {model.num_cols} columns"
            )
        integer = np.zeros(model.num_cols, dtype=np.bool_) if relax else model.integrality
        why = contradiction(model, integer)
        if why:
            answer = BackendResult(Status.INFEASIBLE, raw_status="contradictory bounds", detail=why)
            return replace(answer, seconds=time.perf_counter() - began)
        solved, scaling = model, None
        if not self.supports(Feature.INTEGER_COEFFICIENTS):
            solved, scaling = scale_for_float(model)
            if scaling.integrality_tolerance < MAX_INTEGRALITY_TOLERANCE:
                # Large exact rows: an LP value within the solver's default tolerance of an
                # integer could move such a row by more than its half unit of slack. The
                # caller's own options win.
                tight = self.tolerance_options(scaling.integrality_tolerance)
                if tight:
                    params = params.with_(backend_options={**tight, **params.backend_options})
        if relax:
            solved = replace(solved, integrality=integer)
        # The hooks' clock starts here, after the checks and the scaling (as the solver's did).
        request = SolveRequest(
            solved, params, time_limit, start, interrupt, relax, time.perf_counter()
        )
        answer = self.settle(request, checked(self.name, solved, self._answer(request)))
        if scaling is not None:
            answer = scaling.unscale(model, answer)
        return replace(answer, seconds=time.perf_counter() - began)

    def _answer(self, request: SolveRequest) -> BackendResult:
        """The hooks in turn; a hook that returns a :class:`BackendResult` has the answer."""
        translated = self.translate(request)
        if isinstance(translated, BackendResult):
            return translated
        raw = self.run(request, translated)
        if isinstance(raw, BackendResult):
            return raw
        return self.map_back(request, raw)

    @abc.abstractmethod
    def translate(self, request: SolveRequest) -> Any:
        """Build the solver's own model (and its parameters) from ``request``.

        Returns:
            Whatever :meth:`run` takes, or a :class:`BackendResult` when the answer is known
            without running the solver (a failure to build, nothing to solve).
        """

    @abc.abstractmethod
    def run(self, request: SolveRequest, translated: Any) -> Any:
        """Run the solver on what :meth:`translate` built, under ``request``'s time limit and
        interrupt.

        Returns:
            The solver's raw answer for :meth:`map_back`, or a :class:`BackendResult` (a failure
            of the solver itself, reported as ``Status.ERROR``).
        """

    @abc.abstractmethod
    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:
        """Map the solver's raw answer to a :class:`BackendResult`: the status in portfolio's
        terms, the vector in model columns, the objective at it and the best bound. The vector
        is checked by :meth:`solve` afterwards."""

    def settle(self, request: SolveRequest, answer: BackendResult) -> BackendResult:
        """A last look at the checked answer (none here; a backend may, e.g., return its start
        plan when the solver found nothing better)."""
        return answer


def checked(solver: str, model: LinearModel, answer: BackendResult) -> BackendResult:
    """``answer`` with its vector checked against ``model``: the one rule every backend follows.

    A vector whose :meth:`~portfolio.linear.LinearModel.violation` exceeds :data:`CHECK_TOL`, or
    a plan status with no vector, is discarded (with its objective and reduced costs), and the
    status becomes ``time_limit_no_solution`` when a limit ended the search (the bound is kept),
    else ``error`` (the bound is dropped).
    """
    if answer.x is not None:
        found = model.violation(answer.x)
        if found.relative <= CHECK_TOL:
            return answer
        why = f"{solver}'s plan failed verification against the model: {found.describe()}"
    elif answer.status.has_plan:
        why = f"{solver} reported {answer.status.value} but returned no plan"
    else:
        return answer
    status = Status.TIME_LIMIT_NO_SOLUTION if answer.hit_limit else Status.ERROR
    return replace(
        answer,
        status=status,
        x=None,
        objective=None,
        bound=answer.bound if status is Status.TIME_LIMIT_NO_SOLUTION else None,
        reduced_costs=None,
        row_duals=None,
        detail="; ".join(part for part in (answer.detail, f"{why}, discarded") if part),
    )


def contradiction(model: LinearModel, integer: BoolArray) -> str:
    """Words naming a column with no value within its bounds (integer columns: no integer), or a
    row no activity can meet (lower bound above upper, or an empty row whose bounds exclude 0);
    ``""`` when there is none."""
    return _empty_column(model, integer) or _impossible_row(model)


def _empty_column(model: LinearModel, integer: BoolArray) -> str:
    """Words naming the first column with no (integer) value within its bounds, or ``""``."""
    lower, upper = model.col_lower, model.col_upper
    if integer.any():
        lower = np.where(integer, np.ceil(lower - _INTEGER_TOL), lower)
        upper = np.where(integer, np.floor(upper + _INTEGER_TOL), upper)
    columns = np.flatnonzero(lower > upper + _BOUND_TOL)
    if not columns.size:
        return ""
    j = int(columns[0])
    return (
        f"column {model.column_name(j)} has no value within its bounds "
        f"[{model.col_lower[j]:g}, {model.col_upper[j]:g}]{' (integer)' if integer[j] else ''} "
        f"({columns.size} such columns)"
    )


def _impossible_row(model: LinearModel) -> str:
    """Words naming the first row whose bounds no activity can meet, or ``""``."""
    empty = np.diff(model.matrix.indptr) == 0
    lower, upper = model.row_lower, model.row_upper
    excluded = (lower > _BOUND_TOL) | (upper < -_BOUND_TOL)
    rows = np.flatnonzero((lower > upper + _BOUND_TOL) | (empty & excluded))
    if not rows.size:
        return ""
    i = int(rows[0])
    where = " on an empty row" if empty[i] else ""
    return (
        f"row {model.row_name(i)} cannot hold: bounds [{lower[i]:g}, {upper[i]:g}]{where} "
        f"({rows.size} such rows)"
    )


def close_matches(name: str, known: Iterable[str], count: int = 3) -> tuple[str, ...]:
    """Known names close to ``name`` (case-insensitive), best first, for "did you mean"."""
    by_lower: dict[str, str] = {}
    for candidate in known:
        by_lower.setdefault(candidate.lower(), candidate)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=count, cutoff=0.6)
    return tuple(by_lower[match] for match in found)


_children_lock = threading.Lock()
_children: set[Any] = set()
_folders: set[str] = set()


def track_child(process: Any) -> None:
    """Record a solver child process (a ``subprocess.Popen``) while it runs."""
    with _children_lock:
        _children.add(process)


def untrack_child(process: Any) -> None:
    """Forget a child process recorded with :func:`track_child` (it has exited)."""
    with _children_lock:
        _children.discard(process)


@contextlib.contextmanager
def temporary_folder(prefix: str) -> Iterator[str]:
    """A temporary folder for a solver's files, removed on exit and by :func:`kill_children`."""
    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        with _children_lock:
            _folders.add(work)
        try:
            yield work
        finally:
            with _children_lock:
                _folders.discard(work)


def kill_children() -> None:
    """Kill the solver child processes still running and remove their temporary folders.

    For a process about to exit without waiting for its solver threads (``os._exit``): those
    threads would otherwise leave their children running, and their folders behind.
    """
    with _children_lock:
        children, folders = list(_children), list(_folders)
        _children.clear()
        _folders.clear()
    for process in children:
        with contextlib.suppress(Exception):  # already gone
            process.kill()
            process.wait(timeout=1.0)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
