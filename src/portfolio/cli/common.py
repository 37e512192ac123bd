"""What the commands share: the parser class, argument types, the solve and input options, and
the few helpers that print.

Argument types raise :class:`argparse.ArgumentTypeError`, so a bad value is a usage error (exit
code 2) with a message that names the option and the value.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TextIO, TypeVar

from portfolio.errors import PortfolioError
from portfolio.exitcodes import EXIT_BAD_INPUT

Number = TypeVar("Number", int, float)


class Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line hint on usage errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


# ---------------------------------------------------------------------- argument types
def checked_number(
    text: str,
    convert: Callable[[str], Number],
    expected: str,
    valid: Callable[[Number], bool],
    rule: str,
) -> Number:
    """``text`` as a number for an argparse ``type``.

    Args:
        text: the option's value as given.
        convert: ``int`` or ``float``.
        expected: what the option takes, for text that does not convert ("a whole number").
        valid: whether a converted value is allowed.
        rule: the rule a value that is not allowed breaks ("must be at least 1").

    Raises:
        argparse.ArgumentTypeError: ``expected <expected>, got '<text>'`` or
            ``<rule>, got '<text>'``.
    """
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got '{text}'") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"{rule}, got '{text}'")
    return value


def positive_float(text: str) -> float:
    """A number of seconds above zero (and finite)."""
    return checked_number(
        text, float, "a number of seconds", lambda v: v > 0 and v != float("inf"),
        "must be a positive number",
    )


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    return checked_number(text, int, "a whole number", lambda v: v >= 1, "must be at least 1")


def relative_gap(text: str) -> float:
    """A relative optimality gap in [0, 1)."""
    return checked_number(
        text, float, "a relative gap like 1e-4", lambda v: 0 <= v < 1, "must be in [0, 1)"
    )


def file_size(text: str) -> int:
    """A size in bytes such as ``512MB`` or ``1G`` (see :func:`portfolio.io.parse_size`)."""
    from portfolio.io import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---------------------------------------------------------------------- shared options
def add_solve_options(
    parser: argparse.ArgumentParser,
    time_limit_help: str = "wall-clock limit for the whole command, from start until the result "
    "is written",
) -> None:
    """Options shared by solve, batch and sweep."""
    parser.add_argument("--backend", "-b", default="highs", help="solver backend (default: highs)")
    parser.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help=time_limit_help,
    )
    parser.add_argument(
        "--gap",
        type=relative_gap,
        default=None,
        metavar="REL",
        help="relative optimality gap (default 1e-7)",
    )
    parser.add_argument("--threads", type=positive_int, default=None, help="solver threads")
    parser.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    parser.add_argument(
        "--option",
        "-O",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="backend-specific option, passed through to the solver (repeatable)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show the solver's log")
    parser.add_argument(
        "--no-heuristic", action="store_true", help="skip the LP-guided start heuristic"
    )
    parser.add_argument(
        "--prefer",
        choices=("changes", "none"),
        default="changes",
        help="among plans as good as the one found, report one with the fewest changes of "
        "mode, then the least one-off money (changes, the default), or the plan as found (none)",
    )


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options on reading instance files (solve, validate, batch, sweep)."""
    parser.add_argument(
        "--max-file-size",
        type=file_size,
        default=None,
        metavar="SIZE",
        help="largest instance file read, e.g. 512MB or 1G (default 256MB, or "
        "$PORTFOLIO_MAX_FILE_SIZE)",
    )


def params_from_args(args: argparse.Namespace, time_limit: float | None = None) -> Any:
    """SolveParams from parsed options."""
    from portfolio.params import DEFAULT_REL_GAP, SolveParams

    return SolveParams(
        time_limit=time_limit if time_limit is not None else args.time_limit,
        rel_gap=args.gap if args.gap is not None else DEFAULT_REL_GAP,
        threads=args.threads,
        seed=args.seed,
        verbose=args.verbose,
        backend_options=_backend_options(args.option),
        heuristic=not args.no_heuristic,
        prefer=getattr(args, "prefer", "changes"),
    )


def _backend_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PortfolioError(f"--option expects KEY=VALUE, got '{pair}'")
        options[key.strip()] = _literal(value.strip())
    return options


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


@contextlib.contextmanager
def file_size_limit(size: int | None) -> Iterator[None]:
    """Let ``--max-file-size`` reach every reader of the command (and batch workers) through
    the environment variable the library reads, restoring it afterwards."""
    from portfolio.io import MAX_FILE_SIZE_ENV

    if size is None:
        yield
        return
    previous = os.environ.get(MAX_FILE_SIZE_ENV)
    os.environ[MAX_FILE_SIZE_ENV] = str(size)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MAX_FILE_SIZE_ENV, None)
        else:
            os.environ[MAX_FILE_SIZE_ENV] = previous


# ---------------------------------------------------------------------- printing
def color(stream: TextIO) -> bool:
    """Whether to colour output to ``stream``: a terminal, and ``NO_COLOR`` unset."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def err(message: str) -> None:
    """Write ``portfolio: <message>`` to stderr."""
    sys.stderr.write(f"portfolio: {message}\n")
