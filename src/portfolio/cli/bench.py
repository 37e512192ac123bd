"""``portfolio bench``: the public GAP and MMKP suites solved and compared with the known values
(:mod:`portfolio.benchsets.runner`).

Exit codes: 0 when every record is ok, 1 otherwise, 2 on bad usage or data, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from portfolio.backends import DEFAULT_BACKEND, available_backends
from portfolio.benchsets.readers import data_dir
from portfolio.benchsets.runner import (
    DEFAULT_TIME_LIMIT,
    BenchRecord,
    markdown_report,
    run_suites,
    summary_lines,
    table_header,
    table_line,
)
from portfolio.benchsets.suites import SUITES, suite_names
from portfolio.cli.common import add_solve_options, params_from_args, positive_float
from portfolio.cli.interrupts import solver_threads
from portfolio.errors import PortfolioError
from portfolio.exitcodes import EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK
from portfolio.output import check_output_file, write_atomic, write_json
from portfolio.params import SolveParams


def register(subparsers: Any) -> None:
    """Add ``bench`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "bench",
        help="solve the public GAP and MMKP benchmark suites and compare with known optima",
        description=(
            "Solve benchmark suites on one or more backends, print a line per solve, and compare "
            "with the published optima and bounds. Exit 0 when every plan is verified and every "
            "proven optimum is reproduced, 1 otherwise."
        ),
        conflict_handler="resolve",
    )
    parser.add_argument(
        "suites",
        nargs="+",
        metavar="SUITE",
        choices=[*SUITES, "all"],
        help=f"{', '.join(SUITES)} or all",
    )
    add_solve_options(parser)
    # Redefined for bench (conflict_handler="resolve" replaces the shared ones).
    parser.add_argument(
        "--backend",
        "-b",
        action="append",
        default=None,
        metavar="NAME",
        help="backend to run (repeatable; 'all' for every installed one; default: highs)",
    )
    parser.add_argument(
        "--time-limit",
        type=positive_float,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"wall-clock limit per instance and backend (default {DEFAULT_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the records as a JSON list (atomically, updated after every solve)",
    )
    parser.add_argument(
        "--json",
        dest="json_deprecated",
        metavar="FILE",
        help="deprecated spelling of --output (in solve, --json prints JSON)",
    )
    parser.add_argument("--markdown", metavar="OUT", help="write a Markdown report")
    parser.add_argument(
        "--instances",
        action="append",
        default=None,
        metavar="PATTERN",
        help="only instances whose name or alias matches this shell pattern (repeatable), "
        "e.g. 'gap1-*', 'c515-*', 'I0[1-6]'",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=None,
        help="data folder holding gap/ and mmkp/ (default: benchmarks/data, or "
        "$PORTFOLIO_BENCH_DATA)",
    )
    parser.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """portfolio bench SUITE..."""
    from portfolio.backends import get_backend

    output_file(args)
    for path in (args.output, args.markdown):
        if path:
            check_output_file(path)  # before hours of solving: a folder or an unwritable place
    requested = args.backend or [DEFAULT_BACKEND]
    backends: list[str] = []
    for name in requested:
        for backend in available_backends() if name == "all" else (name,):
            if backend not in backends:
                get_backend(backend)  # fails early (exit 2) when unknown or not installed
                backends.append(backend)
    params: SolveParams = params_from_args(args, time_limit=args.time_limit)
    suites = suite_names(args.suites)
    data = data_dir(args.data)  # fails early (exit 2) when the data cannot be found
    out = sys.stdout
    out.write(
        f"portfolio bench: {', '.join(suites)} on {', '.join(backends)}; "
        f"time limit {params.time_limit:g} s per solve, relative gap {params.rel_gap:g}\n"
    )
    out.write(table_header() + "\n")
    out.flush()
    records: list[BenchRecord] = []

    def on_record(record: BenchRecord) -> None:
        records.append(record)
        out.write(table_line(record) + "\n")
        out.flush()
        if args.output:
            write_json(args.output, [r.to_dict() for r in records])

    interrupted = False
    try:
        run_suites(
            suites, backends, params, data=data, patterns=args.instances, on_record=on_record
        )
    except KeyboardInterrupt:
        interrupted = True
        out.write("interrupted: writing the records so far\n")
    out.write("\n" + "\n".join(summary_lines(records)) + "\n")
    if args.output:
        write_json(args.output, [r.to_dict() for r in records])
    if args.markdown:
        command = _command(suites, backends, params, args.instances)
        write_atomic(args.markdown, markdown_report(records, command=command))
    failed = [r for r in records if not r.ok]
    out.write(
        f"{len(records) - len(failed)} of {len(records)} ok"
        + (f"; not ok: {', '.join(f'{r.instance}/{r.backend}' for r in failed)}" if failed else "")
        + "\n"
    )
    out.flush()
    code = EXIT_OK if records and not failed else EXIT_NO_PLAN
    if interrupted:
        code = EXIT_INTERRUPTED
    if solver_threads():
        # A solver that ignored its limit still runs in a background thread: do not wait for it.
        sys.stderr.flush()
        os._exit(code)
    return code


def output_file(args: argparse.Namespace) -> str | None:
    """Resolve ``--output`` and its deprecated spelling ``--json`` (which warns on stderr)."""
    old = getattr(args, "json_deprecated", None)
    if old:
        sys.stderr.write(
            "portfolio: bench --json FILE is deprecated; use --output FILE (in solve, --json "
            "prints the result as JSON)\n"
        )
        if args.output and args.output != old:
            raise PortfolioError("give --output or --json (deprecated), not both")
        args.output = old
    output: str | None = args.output
    return output


def _command(
    suites: Sequence[str],
    backends: Sequence[str],
    params: SolveParams,
    patterns: Sequence[str] | None,
) -> str:
    """The command line that reproduces a run (for reports)."""
    parts = ["portfolio bench", *suites, *(f"--backend {b}" for b in backends)]
    parts.append(f"--time-limit {params.time_limit:g}" if params.time_limit else "")
    parts.append(f"--gap {params.rel_gap:g}")
    parts += [f"--instances '{p}'" for p in patterns or ()]
    return " ".join(p for p in parts if p)
