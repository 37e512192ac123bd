"""The backend interface, capabilities and registry.

A backend translates a :class:`~portfolio.linear.LinearModel` for one solver, runs it and maps the
solver's status to :class:`~portfolio.result.Status`. Backends import only ``linear``, ``params``,
``result`` and ``errors``; their solver package is imported inside ``solve`` so that
``import portfolio`` works without it.
"""

from __future__ import annotations

import abc
import contextlib
import difflib
import enum
import functools
import importlib.util
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar, cast

from portfolio.backends.scaling import MAX_INTEGRALITY_TOLERANCE
from portfolio.errors import BackendUnavailableError, UnknownBackendError
from portfolio.linear import FloatArray, LinearModel
from portfolio.params import SolveParams
from portfolio.result import BackendResult


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


class Backend(abc.ABC):
    """A solver behind the common interface.

    Subclasses set ``name``, ``modules`` (the Python modules the solver needs), ``extra`` (the
    pip extra that installs them), ``features`` and ``description``, and implement :meth:`solve`.
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
        ``tolerance``, set by :func:`exact_rows` when large exact rows need it (none here)."""
        return {}

    @abc.abstractmethod
    def check_options(self, options: Mapping[str, Any]) -> None:
        """Check ``backend_options`` before any solving: every name must be an option of this
        solver and every value of a type it takes (checked against the solver's own list of
        options, so an unknown name is never silently ignored).

        Raises:
            BackendOptionError: an unknown option (with close names as suggestions) or a value
                the option cannot take.
        """

    @abc.abstractmethod
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
        """Solve ``model``.

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
        """


def close_matches(name: str, known: Iterable[str], count: int = 3) -> tuple[str, ...]:
    """Known names close to ``name`` (case-insensitive), best first, for "did you mean"."""
    by_lower: dict[str, str] = {}
    for candidate in known:
        by_lower.setdefault(candidate.lower(), candidate)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=count, cutoff=0.6)
    return tuple(by_lower[match] for match in found)


SolveMethod = TypeVar("SolveMethod", bound=Callable[..., BackendResult])


def exact_rows(solve: SolveMethod) -> SolveMethod:
    """Decorate a floating-point backend's ``solve`` so that it sees the model scaled.

    The model is passed through :func:`portfolio.backends.scaling.scale_for_float` (rows as the
    exact decimals of the data, of moderate scale; the objective by a power of two) and the
    answer is read back in the model's own units (objective recomputed on the real
    coefficients, bound and reduced costs unscaled, ``optimal`` over an unsafe row reported as
    ``feasible``). When the data need an integrality tolerance tighter than
    :data:`~portfolio.backends.scaling.MAX_INTEGRALITY_TOLERANCE`, the backend's
    :meth:`Backend.tolerance_options` are set (the caller's ``backend_options`` win).
    Integer-only backends (CP-SAT) do their own exact scaling and are not decorated.
    """

    @functools.wraps(solve)
    def wrapper(
        self: Backend, model: LinearModel, params: SolveParams, *args: Any, **kwargs: Any
    ) -> BackendResult:
        from portfolio.backends.scaling import scale_for_float

        scaled, scaling = scale_for_float(model)
        if scaling.integrality_tolerance < MAX_INTEGRALITY_TOLERANCE:
            # Large exact rows: an LP value within the solver's default tolerance of an
            # integer could move such a row by more than its half unit of slack. The caller's
            # own options win.
            tight = self.tolerance_options(scaling.integrality_tolerance)
            if tight:
                params = params.with_(backend_options={**tight, **params.backend_options})
        answer = solve(self, scaled, params, *args, **kwargs)
        return scaling.unscale(model, answer)

    return cast(SolveMethod, wrapper)


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


_REGISTRY: dict[str, Callable[[], Backend]] = {}
DEFAULT_BACKEND = "highs"


def register(factory: Callable[[], Backend], name: str) -> None:
    """Register a backend factory under a name."""
    _REGISTRY[name] = factory


def backend_names() -> tuple[str, ...]:
    """Names of every registered backend, installed or not."""
    _load_builtin()
    return tuple(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The class registered under ``name`` (without checking availability)."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownBackendError(f"unknown backend '{name}'; choose one of: {known}") from None
    return factory if isinstance(factory, type) else type(factory())


def get_backend(name: str = DEFAULT_BACKEND) -> Backend:
    """An instance of the named backend.

    Raises:
        UnknownBackendError: no backend of that name.
        BackendUnavailableError: its solver package is missing; the message names the extra.
    """
    cls = backend_class(name)
    if not cls.is_available():
        raise BackendUnavailableError(
            f"backend '{name}' needs the Python package(s) {', '.join(cls.modules)}; "
            f"install them with: pip install 'portfolio[{cls.extra}]'"
        )
    return _REGISTRY[name]()


def available_backends() -> tuple[str, ...]:
    """Names of the backends whose solver is installed."""
    return tuple(name for name in backend_names() if backend_class(name).is_available())


def lp_backend() -> Backend | None:
    """A backend that solves continuous relaxations (:attr:`Feature.LP`), for the heuristic and
    the infeasibility explanations: the default backend when it can, else the first installed
    one in registration order; ``None`` when no installed backend solves LPs."""
    names = backend_names()
    ordered = [DEFAULT_BACKEND, *(n for n in names if n != DEFAULT_BACKEND)]
    for name in ordered:
        if name not in _REGISTRY:
            continue
        cls = backend_class(name)
        if Feature.LP in cls.features and cls.is_available():
            return _REGISTRY[name]()
    return None


def backend_rows() -> list[dict[str, Any]]:
    """Every registered backend as plain data (what ``portfolio backends --json`` prints and
    ``GET /v1/backends`` answers): name, installed, default, version, features, install,
    description."""
    rows: list[dict[str, Any]] = []
    for name in backend_names():
        cls = backend_class(name)
        available = cls.is_available()
        rows.append(
            {
                "name": name,
                "installed": available,
                "default": name == DEFAULT_BACKEND,
                "version": cls.version() if available else None,
                "features": sorted(f.value for f in cls.features),
                "install": f"pip install 'portfolio[{cls.extra}]'",
                "description": cls.description,
            }
        )
    return rows


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from portfolio.backends import cbc, cpsat, highs, scip

    for module in (highs, cbc, cpsat, scip):
        register(module.BACKEND, module.BACKEND.name)
