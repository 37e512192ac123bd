"""``portfolio serve``: run the HTTP service (FastAPI on uvicorn, :mod:`portfolio.server`) in this
process."""

from __future__ import annotations

import argparse
from typing import Any

from portfolio.cli.common import checked_number, positive_float, positive_int
from portfolio.errors import PortfolioError
from portfolio.server.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TIME_LIMIT


def port(text: str) -> int:
    """A TCP port number, 0 to 65535."""
    return checked_number(
        text, int, "a port number", lambda v: 0 <= v <= 65535, "must be in 0..65535"
    )


def register(subparsers: Any) -> None:
    """Add ``serve`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP service and its page (FastAPI + uvicorn)",
        description="Serve POST /v1/solve, /v1/validate, /v1/jobs, ... and the page at /. "
        "The OpenAPI document is at /openapi.json. Needs pip install 'portfolio[serve]'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="worker processes of a job, and synchronous solves at the same time "
        "(default: the number of cores)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run jobs on this Dask scheduler (tcp://host:port) instead of a local process pool",
    )
    parser.add_argument(
        "--max-time-limit",
        type=positive_float,
        default=DEFAULT_MAX_TIME_LIMIT,
        metavar="SECONDS",
        help=f"cap on a request's time limit, and the default (default {DEFAULT_MAX_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="BYTES",
        help=f"larger request bodies get 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="server log level (default info)",
    )
    parser.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """portfolio serve."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise PortfolioError(
            "portfolio serve needs FastAPI and uvicorn: pip install 'portfolio[serve]'"
        ) from None
    from portfolio.server.app import create_app
    from portfolio.server.settings import ServerSettings

    settings = ServerSettings(
        max_time_limit=args.max_time_limit,
        max_body_bytes=args.max_body_bytes,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()
    return 0
