"""Backends by name: the four built in, and any added with :func:`register_backend`.

This module imports the built-in backend modules (which import only
:mod:`portfolio.backends.base`, never this module), so the registry is complete as soon as it is
imported; the solver packages themselves are imported only when a backend solves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portfolio.backends.base import DEFAULT_BACKEND, Backend, Feature
from portfolio.backends.cbc import CbcBackend
from portfolio.backends.cpsat import CpSatBackend
from portfolio.backends.highs import HighsBackend
from portfolio.backends.scip import ScipBackend
from portfolio.errors import BackendUnavailableError, UnknownBackendError

_REGISTRY: dict[str, Callable[[], Backend]] = {
    backend.name: backend for backend in (HighsBackend, CbcBackend, CpSatBackend, ScipBackend)
}


def register_backend(backend: type[Backend] | Callable[[], Backend], name: str = "") -> None:
    """Make a backend available by name: to :func:`portfolio.solve`, :func:`get_backend`, the
    command line's ``--backend`` and the service.

    A backend is a subclass of :class:`~portfolio.backends.base.Backend` that sets ``name``,
    ``description``, ``modules``, ``extra`` and ``features`` and implements the solver's own
    steps (``option_checker``, ``translate``, ``run``, ``map_back``); :meth:`Backend.solve`
    does the rest (checks, scaling, timing, the check of the returned plan). Registering under a
    name already taken replaces that backend. Register in a module that every process using the
    name imports (batch workers start fresh processes).

    Example, HiGHS under a name of its own (a new solver implements the hooks instead)::

        import portfolio
        from portfolio.backends.highs import HighsBackend

        class MyHighs(HighsBackend):
            name = "my-highs"
            description = "HiGHS, registered under another name"

        portfolio.register_backend(MyHighs)
        result = portfolio.solve("instances/example_borough.yaml", backend="my-highs")

    Args:
        backend: the backend class, or a function of no arguments that returns a backend.
        name: the name to register it under; by default the class's ``name``.

    Raises:
        ValueError: no name was given and ``backend`` is not a class with a ``name``.
    """
    key = name
    if not key and isinstance(backend, type) and issubclass(backend, Backend):
        key = backend.name
    if not key:
        raise ValueError("register_backend: give a name, or a Backend class with a 'name'")
    _REGISTRY[key] = backend


def unregister_backend(name: str) -> None:
    """Remove a backend added with :func:`register_backend` (nothing happens for an unknown
    name)."""
    _REGISTRY.pop(name, None)


def backend_names() -> tuple[str, ...]:
    """Names of every registered backend, installed or not."""
    return tuple(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The class registered under ``name`` (without checking availability)."""
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


register = register_backend
"""The former name of :func:`register_backend` (``register(factory, name)``)."""
