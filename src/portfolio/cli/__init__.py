"""The ``portfolio`` command: a thin layer over the library, and the only one that knows argparse.

Exit codes: 0 a plan, 1 infeasible or no plan within the limits, 2 bad input or usage, 130
interrupted (Ctrl-C) (:mod:`portfolio.exitcodes`).

One module per group of subcommands, each with a ``register(subparsers)`` that adds its parsers
and sets ``func`` (taking the parsed args, returning an exit code):

* :mod:`~portfolio.cli.solve`: ``solve``, ``validate``, ``schema``, ``backends``;
* :mod:`~portfolio.cli.workbook`: ``template``, ``convert``;
* :mod:`~portfolio.cli.report`: ``report``;
* :mod:`~portfolio.cli.explain`: ``explain`` (why this plan);
* :mod:`~portfolio.cli.frontier`: ``frontier`` (the trade-off between two criteria);
* :mod:`~portfolio.cli.batch`: ``batch`` (and the options ``sweep`` shares);
* :mod:`~portfolio.cli.sweep`: ``sweep``;
* :mod:`~portfolio.cli.bench`: ``bench``;
* :mod:`~portfolio.cli.serve`: ``serve``.

:mod:`~portfolio.cli.common` holds the parser class, argument types and shared options;
:mod:`~portfolio.cli.interrupts` what Ctrl-C does and the hard exit. Library modules never import
this package.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from portfolio.cli import (
    appraise,
    batch,
    bench,
    explain,
    frontier,
    report,
    serve,
    solve,
    sweep,
    workbook,
)
from portfolio.cli.common import Parser, err, file_size_limit
from portfolio.cli.interrupts import hard_exit, solver_threads
from portfolio.errors import PortfolioError
from portfolio.exitcodes import EXIT_BAD_INPUT, EXIT_INTERRUPTED

__all__ = ["build_parser", "main"]

#: The groups of subcommands, in the order ``portfolio --help`` lists them.
REGISTER: tuple[Callable[[Any], None], ...] = (
    solve.register,
    workbook.register,
    report.register,
    explain.register,
    frontier.register,
    appraise.register,
    batch.register,
    sweep.register,
    bench.register,
    serve.register,
)


def build_parser() -> Parser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="portfolio",
        description="Choose how each council service is delivered, under budget, flexibility "
        "and outcome constraints.",
    )
    parser.add_argument("--version", action="version", version=f"portfolio {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for register in REGISTER:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``portfolio`` command; returns the exit code."""
    began = time.perf_counter()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    args.started = began
    before = solver_threads()
    try:
        with file_size_limit(getattr(args, "max_file_size", None)):
            code: int = args.func(args)
        if solver_threads() - before:  # e.g. a serial batch stopped by Ctrl-C: see hard_exit
            hard_exit(code)
        return code
    except PortfolioError as exc:  # bad input, an unknown or missing backend, a bad option...
        err(str(exc))
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file that cannot be read or written: say which, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        err(f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err("interrupted")
        if solver_threads() - before:
            hard_exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED


def _version() -> str:
    from portfolio import __version__

    return __version__
