"""``portfolio solve``, ``validate``, ``schema`` and ``backends``: one instance file at a time."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from portfolio.cli.common import (
    add_input_options,
    add_solve_options,
    color,
    err,
    params_from_args,
)
from portfolio.cli.interrupts import Interrupts, hard_exit, interrupts, solver_threads
from portfolio.errors import InstanceFileError, ValidationError
from portfolio.exitcodes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK

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


def register(sub: Any) -> None:
    """Add ``solve``, ``validate``, ``schema`` and ``backends`` to the subparsers ``sub``."""
    solve = _add_command(
        sub,
        "solve",
        "solve an instance file and show the plan",
        "Read and validate an instance file, solve it, verify the plan against the instance, and "
        "print it as a table (or JSON) with the limits it sits on; with no plan, say what would "
        "have to give. --time-limit bounds the whole command, reading included.",
        SOLVE_EPILOG,
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

    validate = _add_command(
        sub,
        "validate",
        "check an instance file and report every error",
        "Read and validate instance files without solving: every error is reported at once, each "
        "naming the file, the item (service or mode id) and the field.",
        VALIDATE_EPILOG,
    )
    validate.add_argument("files", nargs="+", help="instance files")
    add_input_options(validate)
    validate.set_defaults(func=cmd_validate)

    schema = _add_command(
        sub,
        "schema",
        "print the JSON Schema of instance files",
        "Print the JSON Schema of instance files (JSON, YAML and TOML share one structure), with "
        "a description of every field.",
        SCHEMA_EPILOG,
    )
    schema.set_defaults(func=cmd_schema)

    backends = sub.add_parser("backends", help="list the solver backends and whether installed")
    backends.add_argument("--json", action="store_true", help="machine-readable output")
    backends.set_defaults(func=cmd_backends)


def _add_command(
    sub: Any, name: str, summary: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """A subcommand whose help ends with its exit codes (``epilog``, printed as written)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


# ---------------------------------------------------------------------- solve
def cmd_solve(args: argparse.Namespace) -> int:
    """portfolio solve FILE.

    The cyclic garbage collector is paused for the command (and restored after it): one instance
    is read, solved and written, and nothing built forms reference cycles (the collector finds
    none left at the end, measured at 10,000 services with the tie-break phase), while its passes
    scan the whole instance and every plan, row and check built from it: about 3 s at 100,000
    services for nothing freed.
    """
    from portfolio.linear import gc_paused

    before = solver_threads()
    with interrupts() as stop, gc_paused():
        code = _solve_command(args, stop)
        if solver_threads() - before or stop.event.is_set():
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
    from portfolio.output import json_text
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
        err(
            f"read {args.file} in {read_seconds:.2f}s ({len(instance.services)} services); "
            f"solving with {backend.name}"
        )
    result = solve_instance(instance, backend, params, clock=clock, read_seconds=read_seconds)
    data = result.to_dict()
    data["file"] = os.path.abspath(args.file)
    # The JSON text is written once, for the result file and the printed result alike.
    text = json_text(data) if args.json else None
    if args.output:
        with stop.writing():
            write_result_file(args.output, data, instance, text)
    if getattr(args, "report", None):
        with stop.writing():
            _write_html_report(args.report, data, instance)
    if text is not None:
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(format_result(instance, result, color=color(sys.stdout)))
    sys.stdout.flush()
    if stop.event.is_set():
        err("interrupted" + (f"; result written to {args.output}" if args.output else ""))
        return EXIT_INTERRUPTED
    return result.status.exit_code


def _report_read_time_limit(args: argparse.Namespace, result: Any) -> int:
    """The time limit ran out while reading: say so, write the result file, exit 1."""
    from portfolio.output import json_text, write_json

    data = result.to_dict()
    data["file"] = os.path.abspath(args.file)
    if args.output:
        write_json(args.output, data)
    if args.json:
        sys.stdout.write(json_text(data) + "\n")
    err(result.detail)
    code: int = result.status.exit_code
    return code


def write_result_file(
    path: str, data: dict[str, Any], instance: Any = None, text: str | None = None
) -> None:
    """Write a result atomically: a workbook when ``path`` ends in ``.xlsx``, else JSON
    (``text``: the data's JSON text, when already written)."""
    if path.lower().endswith(".xlsx"):
        from portfolio.spreadsheet import write_result_workbook

        write_result_workbook(data, path, instance)
        return
    from portfolio.output import json_text, write_atomic

    write_atomic(path, (json_text(data) if text is None else text) + "\n")


def _write_html_report(path: str, data: dict[str, Any], instance: Any) -> None:
    """solve --report: the HTML report of the result just solved."""
    from portfolio.htmlreport import render_report, write_report

    write_report(path, render_report(data, instance))


# ---------------------------------------------------------------------- the others
def cmd_validate(args: argparse.Namespace) -> int:
    """portfolio validate FILE..."""
    from portfolio.io import load_instance

    worst = EXIT_OK
    for path in args.files:
        try:
            instance = load_instance(path)
        except (InstanceFileError, ValidationError) as exc:
            err(str(exc))
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
