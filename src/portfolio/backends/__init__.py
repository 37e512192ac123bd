"""Solver backends behind one interface: ``highs`` (default), ``cbc``, ``cpsat``, ``scip``."""

from portfolio.backends.base import (
    DEFAULT_BACKEND,
    Backend,
    Feature,
    available_backends,
    backend_class,
    backend_names,
    backend_rows,
    get_backend,
    lp_backend,
    register,
)

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "Feature",
    "available_backends",
    "backend_class",
    "backend_names",
    "backend_rows",
    "get_backend",
    "lp_backend",
    "register",
]
