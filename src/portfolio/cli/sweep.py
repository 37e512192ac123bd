"""``portfolio sweep``: variants of one instance along parameters, solved as a batch, with a
curve and a chart (:func:`portfolio.sweep.run_sweep`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portfolio.cli.batch import add_batch_options, executor_from_args, finish_report
from portfolio.cli.common import params_from_args, positive_int
from portfolio.errors import PortfolioError
from portfolio.sweep import MAX_VARIANTS, check_variant_count, parse_set, run_sweep


def register(subparsers: Any) -> None:
    """Add ``sweep`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "sweep",
        help="solve variants of one instance along parameters; write a curve and a chart",
        description="Expand FILE along one or more parameters (--set PATH=START:STOP:COUNT or "
        "PATH=V1,V2,...; several --set give every combination), solve the variants as a batch "
        "and write curve.csv and curve.png besides the batch's result files.",
    )
    parser.add_argument("file", help="instance file (.json, .yaml, .yml or .toml)")
    parser.add_argument(
        "--set", dest="sets", action="append", required=True, metavar="PATH=START:STOP:COUNT",
        help="a parameter to sweep, e.g. constraints.budget=80000:100000:11 or "
        "services.waste.weight=1,2,3 (repeatable)",
    )
    parser.add_argument(
        "--max-variants", type=positive_int, default=MAX_VARIANTS, metavar="N",
        help=f"refuse a sweep of more than N variants, before any work (default {MAX_VARIANTS:,})",
    )
    add_batch_options(parser)
    parser.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """portfolio sweep FILE --set PATH=START:STOP:COUNT --out DIR."""
    from portfolio.backends import get_backend
    from portfolio.output import check_output_dir
    from portfolio.progress import BatchProgress

    params = params_from_args(args)
    get_backend(args.backend).check_options(params.backend_options)  # before any work
    check_output_dir(args.out)  # a file, or a place that cannot be written: fail now
    axes = [parse_set(text) for text in args.sets]
    paths = [axis.path for axis in axes]
    if len(set(paths)) != len(paths):
        raise PortfolioError("each --set PATH may be given once")
    total = check_variant_count(axes, args.max_variants)
    with BatchProgress(total, sys.stderr) as progress:
        report = run_sweep(
            args.file, axes, args.out, max_variants=args.max_variants,
            backend=args.backend, params=params,
            executor=executor_from_args(args), workers=args.workers, scheduler=args.scheduler,
            resume=args.resume, task_timeout=args.task_timeout, on_result=progress.advance,
        )
    code = finish_report(report.batch, total)
    if report.curve is not None:
        sys.stdout.write(f"curve: {report.curve}\n")
        if report.chart is not None:
            sys.stdout.write(f"chart: {report.chart}\n")
        else:
            sys.stdout.write(
                "chart skipped: matplotlib is not installed (pip install 'portfolio[plot]')\n"
            )
    return code
