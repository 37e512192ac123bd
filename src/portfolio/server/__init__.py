"""The HTTP service (``portfolio serve``) and its page.

FastAPI and uvicorn are imported only in this package, and only by :func:`create_app` and the
``serve`` command, so ``import portfolio`` works without them (``pip install 'portfolio[serve]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portfolio.server.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServerSettings", "create_app"]


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI application (see :mod:`portfolio.server.app`)."""
    from portfolio.server.app import create_app as build

    return build(settings)
