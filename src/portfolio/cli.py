"""The ``portfolio`` command: a thin layer over the library.

Exit codes: 0 a plan, 1 infeasible or no plan within the limits, 2 bad input or usage, 130
interrupted (Ctrl-C).
Subcommands of other modules (``batch``, ``sweep``, ``bench``) register themselves through
:data:`SUBCOMMANDS`, so this module stays small.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn, TextIO

from portfolio.errors import (
    BackendUnavailableError,
    InstanceFileError,
    PortfolioError,
    UnknownBackendError,
    ValidationError,
)

EXIT_OK, EXIT_NO_PLAN, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130

SOLVE_EPILOG = """exit codes:
  0    a plan (optimal, or feasible within the limits)
  1    no plan: infeasible, or none found within the limits
  2    bad input or usage (the message names the file, item and field)
  130  interrupted (Ctrl-C)"""

VALIDATE_EPILOG = """exit codes:
  0    every file is valid
  2    a file is invalid or unreadable (every error is listed)"""

SCHEMA_EPILOG = """exit codes:
  0    the schema was printed"""

#: Extra subcommands: name -> "module:function" where function(subparsers) adds the parser and
#: sets ``func`` (taking the parsed args, returning an exit code).
SUBCOMMANDS: dict[str, str] = {
    "report": "portfolio.htmlreport:register_cli",
    "batch": "portfolio.batch:register_cli",
    "sweep": "portfolio.sweep:register_cli",
    "bench": "portfolio.benchsets.runner:register_cli",
    "serve": "portfolio.server.cli:register_cli",
    "frontier": "portfolio.frontier_cli:add_frontier_command",
}


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line hint on usage errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


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
        type=_gap,
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


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options on reading instance files (solve, validate, batch, sweep)."""
    parser.add_argument(
        "--max-file-size",
        type=_size,
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
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="portfolio",
        description="Choose how each council service is delivered, under budget, flexibility "
        "and outcome constraints.",
    )
    parser.add_argument("--version", action="version", version=f"portfolio {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    solve = sub.add_parser(
        "solve",
        help="solve an instance file and show the plan",
        description="Read and validate an instance file, solve it, verify the plan against the "
        "instance, and print it as a table (or JSON) with the limits it sits on; with no plan, "
        "say what would have to give. --time-limit bounds the whole command, reading included.",
        epilog=SOLVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    solve.add_argument("file", help="instance file (.json, .yaml, .yml, .toml or .xlsx)")
    add_solve_options(solve)
    add_input_options(solve)
    solve.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the result here (atomically): JSON, or a workbook when FILE ends in .xlsx",
    )
    solve.add_argument(
        "--json", action="store_true", help="print the result JSON instead of the table"
    )
    solve.add_argument(
        "--report", metavar="FILE", help="also write a readable HTML report here (atomically)"
    )
    solve.set_defaults(func=cmd_solve)

    validate = sub.add_parser(
        "validate",
        help="check an instance file and report every error",
        description="Read and validate instance files without solving: every error is reported "
        "at once, each naming the file, the item (service or mode id) and the field.",
        epilog=VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("files", nargs="+", help="instance files")
    add_input_options(validate)
    validate.set_defaults(func=cmd_validate)

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of instance files",
        description="Print the JSON Schema of instance files (JSON, YAML and TOML share one "
        "structure), with a description of every field.",
        epilog=SCHEMA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.set_defaults(func=cmd_schema)

    backends = sub.add_parser("backends", help="list the solver backends and whether installed")
    backends.add_argument("--json", action="store_true", help="machine-readable output")
    backends.set_defaults(func=cmd_backends)

    add_workbook_commands(sub)
    for target in SUBCOMMANDS.values():
        module_name, function = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        register: Callable[[Any], None] = getattr(module, function)
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``portfolio`` command; returns the exit code."""
    began = time.perf_counter()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    args.started = began
    before = _solver_threads()
    try:
        with _max_file_size(getattr(args, "max_file_size", None)):
            code: int = args.func(args)
        if _solver_threads() - before:  # e.g. a serial batch stopped by Ctrl-C: see hard_exit
            hard_exit(code)
        return code
    except (InstanceFileError, ValidationError) as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except (UnknownBackendError, BackendUnavailableError) as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except PortfolioError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file that cannot be read or written: say which, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        _err(f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        if _solver_threads() - before:
            hard_exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------------- commands
def cmd_solve(args: argparse.Namespace) -> int:
    """portfolio solve FILE."""
    before = _solver_threads()
    with interrupts() as stop:
        code = _solve_command(args, stop)
        if _solver_threads() - before or stop.event.is_set():
            # A solver that ignored its limit or the stop request may still run in a background
            # thread: do not wait for it (nor let interpreter shutdown meet its native threads).
            # After Ctrl-C, exit while this handler still holds, so a second Ctrl-C during
            # shutdown cannot turn exit code 130 into a death by SIGINT.
            hard_exit(code)
    return code


def _solve_command(args: argparse.Namespace, stop: Interrupts) -> int:
    """The body of ``portfolio solve``, with Ctrl-C handled by ``stop``."""
    from portfolio.backends import get_backend
    from portfolio.clock import Clock
    from portfolio.errors import ReadTimeLimitError
    from portfolio.io import check_output_file, load_instance
    from portfolio.report import format_result
    from portfolio.solve import read_time_limit_result, solve_instance

    params = params_from_args(args)
    backend = get_backend(args.backend)
    if args.output:
        check_output_file(args.output)  # before any work: a folder or an unwritable place
    if getattr(args, "report", None):
        check_output_file(args.report)
    clock = Clock(args.started, params.time_limit, stop.event)
    t0 = time.perf_counter()
    deadline = None if params.time_limit is None else args.started + params.time_limit
    try:
        instance = load_instance(args.file, deadline=deadline)
    except ReadTimeLimitError as exc:
        spent = read_time_limit_result(exc, backend.name, params.time_limit, clock.elapsed())
        with stop.writing():
            return _report_read_time_limit(args, spent)
    read_seconds = time.perf_counter() - t0
    if args.verbose:
        _err(
            f"read {args.file} in {read_seconds:.2f}s ({len(instance.services)} services); "
            f"solving with {backend.name}"
        )
    result = solve_instance(instance, backend, params, clock=clock, read_seconds=read_seconds)
    data = result.to_dict()
    data["file"] = os.path.abspath(args.file)
    if args.output:
        with stop.writing():
            write_result_file(args.output, data, instance)
    if getattr(args, "report", None):
        with stop.writing():
            _write_html_report(args.report, data, instance)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_result(instance, result, color=_color(sys.stdout)))
    sys.stdout.flush()
    if stop.event.is_set():
        _err("interrupted" + (f"; result written to {args.output}" if args.output else ""))
        return EXIT_INTERRUPTED
    return result.status.exit_code


def _report_read_time_limit(args: argparse.Namespace, result: Any) -> int:
    """The time limit ran out while reading: say so, write the result file, exit 1."""
    from portfolio.io import write_json

    data = result.to_dict()
    data["file"] = os.path.abspath(args.file)
    if args.output:
        write_json(args.output, data)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    _err(result.detail)
    code: int = result.status.exit_code
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    """portfolio validate FILE..."""
    from portfolio.io import load_instance

    worst = EXIT_OK
    for path in args.files:
        try:
            instance = load_instance(path)
        except (InstanceFileError, ValidationError) as exc:
            _err(str(exc))
            worst = EXIT_BAD_INPUT
            continue
        options = sum(len(s.options) for s in instance.services)
        sys.stdout.write(
            f"{path}: valid ({len(instance.services)} services, {len(instance.modes)} modes, "
            f"{options} options)\n"
        )
    return worst


def cmd_schema(args: argparse.Namespace) -> int:
    """portfolio schema."""
    from portfolio.domain import Instance

    sys.stdout.write(json.dumps(Instance.model_json_schema(), indent=2) + "\n")
    return EXIT_OK


def cmd_backends(args: argparse.Namespace) -> int:
    """portfolio backends."""
    from portfolio.backends import backend_rows

    rows = backend_rows()
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return EXIT_OK
    for row in rows:
        mark = "installed" if row["installed"] else f"missing: {row['install']}"
        default = " (default)" if row["default"] else ""
        version = f" {row['version']}" if row["version"] else ""
        sys.stdout.write(f"{row['name']:<7}{default:<10} {mark}{version}\n")
        sys.stdout.write(f"         {row['description']}\n")
        sys.stdout.write(f"         features: {', '.join(row['features'])}\n")
    return EXIT_OK


def add_workbook_commands(sub: Any) -> None:
    """The ``template`` and ``convert`` subcommands."""
    template = sub.add_parser(
        "template", help="write an instance workbook (.xlsx) to fill in, with the example borough"
    )
    template.add_argument("output", help="the workbook to write (.xlsx)")
    source = template.add_mutually_exclusive_group()
    source.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="fill the template with this instance instead of the example borough",
    )
    source.add_argument(
        "--multi-year",
        action="store_true",
        help="fill the template with the five-year example borough (horizon, yearly limits)",
    )
    template.set_defaults(func=cmd_template)

    convert = sub.add_parser(
        "convert", help="convert an instance between .yaml, .json, .toml and .xlsx (by extension)"
    )
    convert.add_argument("input", help="instance file to read")
    convert.add_argument("output", help="instance file to write (atomically)")
    convert.set_defaults(func=cmd_convert)


def cmd_template(args: argparse.Namespace) -> int:
    """portfolio template OUT.xlsx."""
    from portfolio.io import load_instance
    from portfolio.spreadsheet import example_instance, write_template

    if not args.output.lower().endswith(".xlsx"):
        raise PortfolioError(f"{args.output}: the template is a workbook: name it *.xlsx")
    instance = load_instance(args.source) if args.source else example_instance(args.multi_year)
    write_template(args.output, instance)
    sys.stdout.write(f"wrote {args.output}\n")
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    """portfolio convert IN OUT."""
    from portfolio.io import file_format, load_instance, write_instance

    file_format(args.output)  # an unknown output type fails before the input is read
    instance = load_instance(args.input)
    write_instance(instance, args.output)
    sys.stdout.write(f"wrote {args.output}\n")
    return EXIT_OK


def write_result_file(path: str, data: dict[str, Any], instance: Any = None) -> None:
    """Write a result atomically: a workbook when ``path`` ends in ``.xlsx``, else JSON."""
    if path.lower().endswith(".xlsx"):
        from portfolio.spreadsheet import write_result_workbook

        write_result_workbook(data, path, instance)
        return
    from portfolio.io import write_json

    write_json(path, data)


# ---------------------------------------------------------------------- helpers
def _write_html_report(path: str, data: dict[str, Any], instance: Any) -> None:
    """solve --report: the HTML report of the result just solved."""
    from portfolio.htmlreport import render_report, write_report

    write_report(path, render_report(data, instance))


# ---------------------------------------------------------------------- Ctrl-C
class Interrupts:
    """What Ctrl-C (SIGINT) does while a command runs (see :func:`interrupts`).

    The first Ctrl-C sets :attr:`event`, which the solve polls like its deadline: the solver is
    asked to stop through its own interrupt and the command finishes normally with the best plan
    so far, writes its result and exits 130. A second Ctrl-C exits at once (130), after the
    result file being written, if any, is complete; solver child processes are killed first.

    Attributes:
        event: set by the first Ctrl-C.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._writing = 0
        self._exit_after_write = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler (runs in the main thread, between two bytecodes)."""
        if not self.event.is_set():
            self.event.set()
            _write_stderr(
                "portfolio: interrupted: stopping the solver and keeping the best plan so far "
                "(Ctrl-C again to quit at once)\n"
            )
            return
        if self._writing:
            self._exit_after_write = True
            return
        _write_stderr("portfolio: interrupted again: quitting\n")
        hard_exit(EXIT_INTERRUPTED)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A result file is being written: a second Ctrl-C waits until it is complete."""
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
            if not self._writing and self._exit_after_write:
                _write_stderr("portfolio: interrupted again: quitting\n")
                hard_exit(EXIT_INTERRUPTED)


@contextlib.contextmanager
def interrupts() -> Iterator[Interrupts]:
    """Handle Ctrl-C as :class:`Interrupts` says for the duration of a command.

    Nothing is installed outside the main thread, nor when SIGINT is ignored (a background
    job): the previous handler is restored on exit.
    """
    state = Interrupts()
    installable = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    )
    previous = signal.signal(signal.SIGINT, state.handle) if installable else None
    try:
        yield state
    finally:
        if installable:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def hard_exit(code: int) -> NoReturn:
    """Exit now without waiting for solver threads (``os._exit``), after flushing the output
    and killing solver child processes. Interpreter shutdown is skipped on purpose: it would
    meet a solver's native threads still running and abort the process."""
    from portfolio.backends.base import kill_children

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    kill_children()
    os._exit(code)


def _write_stderr(text: str) -> None:
    """Write to file descriptor 2 directly (safe inside a signal handler)."""
    with contextlib.suppress(OSError):
        os.write(2, text.encode("utf-8", "replace"))


# ---------------------------------------------------------------------- helpers
def _solver_threads() -> set[threading.Thread]:
    """portfolio's solver threads still running (abandoned ones included)."""
    return {t for t in threading.enumerate() if t.name.startswith("portfolio-") and t.is_alive()}


@contextlib.contextmanager
def _max_file_size(size: int | None) -> Iterator[None]:
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


def _size(text: str) -> int:
    from portfolio.io import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{text}'")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got '{text}'")
    return value


def _gap(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a relative gap like 1e-4, got '{text}'"
        ) from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got '{text}'")
    return value


def _color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _err(message: str) -> None:
    sys.stderr.write(f"portfolio: {message}\n")


def _version() -> str:
    from portfolio import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
