"""Solver backends behind one interface: ``highs`` (default), ``cbc``, ``cpsat``, ``scip``.

:mod:`~portfolio.backends.base` holds the interface (:class:`Backend`, :class:`Feature`) and
:mod:`~portfolio.backends.registry` the backends by name.
"""

from portfolio.backends.base import DEFAULT_BACKEND, Backend, Feature, SolveRequest
from portfolio.backends.registry import (
    available_backends,
    backend_class,
    backend_names,
    backend_rows,
    get_backend,
    lp_backend,
    register,
    register_backend,
    unregister_backend,
)

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "Feature",
    "SolveRequest",
    "available_backends",
    "backend_class",
    "backend_names",
    "backend_rows",
    "get_backend",
    "lp_backend",
    "register",
    "register_backend",
    "unregister_backend",
]
