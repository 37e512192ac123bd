"""``portfolio batch``: many instance files solved with :func:`portfolio.batch.run_batch`, and
the options and closing lines it shares with ``portfolio sweep``.

Exit codes: 2 if any input was bad, else 1 if any instance has no plan, else 0; 130 when
interrupted (see :func:`portfolio.batch.exit_code`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portfolio.batch import (
    BatchReport,
    assign_names,
    expand_inputs,
    missing_input_rows,
    one_line,
    read_inputs,
    run_batch,
)
from portfolio.cli.common import (
    add_input_options,
    add_solve_options,
    params_from_args,
    positive_float,
    positive_int,
)
from portfolio.errors import PortfolioError
from portfolio.executors import EXECUTORS
from portfolio.exitcodes import EXIT_INTERRUPTED

PER_INSTANCE_LIMIT_HELP = "wall-clock limit per instance, from the start of its task"

MAX_ERRORS_SHOWN = 20
"""Errors printed at the end of a batch; the rest are in ``summary.csv``."""


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``batch`` and ``sweep`` after their inputs: solve options (the time limit
    per instance), input options, then output, executor and resume."""
    add_solve_options(parser, PER_INSTANCE_LIMIT_HELP)
    add_input_options(parser)
    parser.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--workers",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="local worker processes (default: the number of cores)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        default=None,
        help="run on this Dask distributed scheduler instead of local processes",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="processes (default), dask (default with --scheduler) or serial (in this process)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip instances whose result file exists for the same contents and parameters",
    )
    parser.add_argument(
        "--task-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="abandon a task with no answer after this long (default: 2 x time limit + 30 s)",
    )


def executor_from_args(args: argparse.Namespace) -> str:
    """The executor the options ask for."""
    if args.executor is not None:
        if args.scheduler and args.executor != "dask":
            raise PortfolioError("--scheduler needs the dask executor")
        return str(args.executor)
    return "dask" if args.scheduler else "processes"


def register(subparsers: Any) -> None:
    """Add ``batch`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "batch",
        help="solve many instance files, locally or on a Dask cluster",
        description="Solve every instance in INPUTS (files, folders, globs) and write "
        "OUT/<name>.result.json, summary.csv and summary.json. Exit code: 2 if any input was "
        "bad, else 1 if any instance has no plan, else 0; 130 if interrupted.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUTS", help="files, folders or globs")
    add_batch_options(parser)
    parser.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    """portfolio batch INPUTS... --out DIR."""
    from portfolio.backends import get_backend
    from portfolio.output import check_output_dir
    from portfolio.progress import BatchProgress

    backend = get_backend(args.backend)  # an unknown or missing backend: a usage error now
    check_output_dir(args.out)  # a file, or a place that cannot be written: fail now
    params = params_from_args(args)
    backend.check_options(params.backend_options)  # a bad -O: exit 2 before any work
    executor = executor_from_args(args)
    files, missing = expand_inputs(args.inputs, exclude=args.out)
    named = assign_names(files)
    items, failed = read_inputs(named)
    failed += missing_input_rows(missing, {entry.name for entry in named})
    if not items and not failed:
        raise PortfolioError("no instance files found in the inputs")

    with BatchProgress(len(items) + len(failed), sys.stderr) as progress:
        report = run_batch(
            items,
            args.out,
            backend=args.backend,
            params=params,
            executor=executor,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            task_timeout=args.task_timeout,
            failed=failed,
            on_result=progress.advance,
        )
    return finish_report(report, len(items) + len(failed))


def finish_report(report: BatchReport, total: int) -> int:
    """Print the closing lines of a batch or sweep and return its exit code."""
    done = len(report.rows)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts.items()))
    resumed = sum(1 for row in report.rows if row.resumed)
    if report.interrupted:
        sys.stderr.write(
            f"portfolio: interrupted after {done} of {total} instances ({counts or 'none'}); "
            "rerun with --resume to finish\n"
        )
        return EXIT_INTERRUPTED
    for name, reason in sorted(report.rejected.items()):
        sys.stderr.write(f"portfolio: {name}: result file not reused ({reason}); solved again\n")
    note = f" ({resumed} resumed)" if resumed > 0 else ""
    sys.stdout.write(
        f"{done} instances{note}: {counts}. Results in {report.out_dir}"
        f" (summary.csv, summary.json)\n"
    )
    errors = [row for row in report.rows if row.error]
    for row in errors[:MAX_ERRORS_SHOWN]:
        sys.stderr.write(f"portfolio: {row.name}: {one_line(row.error or '')}\n")
    if len(errors) > MAX_ERRORS_SHOWN:
        sys.stderr.write(
            f"portfolio: ... and {len(errors) - MAX_ERRORS_SHOWN} more errors (see summary.csv)\n"
        )
    return report.exit_code
