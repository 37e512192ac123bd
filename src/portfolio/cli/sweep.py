"""``portfolio sweep``: variants of one instance along parameters, solved as a batch, with a
curve and a chart (:func:`portfolio.sweep.run_sweep`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portfolio.cli.batch import add_batch_options, executor_from_args, finish_report
from portfolio.cli.common import params_from_args, positive_int
from portfolio.errors import PortfolioError
from portfolio.sweep import (
    MAX_VARIANTS,
    Axis,
    check_variant_count,
    parse_scale,
    parse_set,
    run_sweep,
)

SET_HELP = """\
a parameter and its values (repeatable): PATH=START:STOP:COUNT (a linear grid, e.g.
constraints.budget=80000:100000:11), PATH=V1,V2,... (numbers or words, e.g.
services.waste.weight=1,2,3), or PATH=[V1, V2, ...], a JSON array whose every element is one
value, so an element may be a yearly list: 'constraints.budget=[[318000,312000],[310000,300000]]'
is two variants, 'constraints.budget=[13000,12600,12200]' three (quote it for the shell)"""
SCALE_HELP = """\
multiply the file's own value at PATH (a number, or every year of a yearly list) by each factor
(repeatable): PATH=START:STOP:COUNT (COUNT >= 2, e.g. constraints.budget=0.9:1.0:11) or
PATH=F1,F2,...; the curve's column is scale:PATH"""


def _set(text: str) -> tuple[str, str]:
    return ("set", text)


def _scale(text: str) -> tuple[str, str]:
    return ("scale", text)


def register(subparsers: Any) -> None:
    """Add ``sweep`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "sweep",
        help="solve variants of one instance along parameters; write a curve and a chart",
        description="Expand FILE along one or more parameters (--set PATH=VALUES, "
        "--scale PATH=FACTORS; several give every combination, the first is the chart's "
        "horizontal axis), solve the variants as a batch and write curve.csv and curve.png "
        "besides the batch's result files. For a multi-year FILE the curve's money and outcome "
        "columns are discounted totals, as the objective counts them.",
    )
    parser.add_argument("file", help="instance file (.json, .yaml, .yml or .toml)")
    parser.add_argument(
        "--set", dest="axes", action="append", type=_set, metavar="PATH=VALUES", help=SET_HELP,
    )
    parser.add_argument(
        "--scale", dest="axes", action="append", type=_scale, metavar="PATH=FACTORS",
        help=SCALE_HELP,
    )
    parser.add_argument(
        "--max-variants", type=positive_int, default=MAX_VARIANTS, metavar="N",
        help=f"refuse a sweep of more than N variants, before any work (default {MAX_VARIANTS:,})",
    )
    add_batch_options(parser)
    parser.set_defaults(func=cmd_sweep)


def axes_from_args(given: list[tuple[str, str]]) -> list[Axis]:
    """The axes of ``--set`` and ``--scale`` in command-line order (a path given twice is
    refused by :func:`portfolio.sweep.check_axes` once the file is read).

    Raises:
        PortfolioError: none given, or a malformed one.
    """
    if not given:
        raise PortfolioError("a sweep needs at least one --set PATH=VALUES or --scale PATH=FACTORS")
    return [parse_scale(text) if kind == "scale" else parse_set(text) for kind, text in given]


def cmd_sweep(args: argparse.Namespace) -> int:
    """portfolio sweep FILE --set PATH=VALUES [--scale PATH=FACTORS] --out DIR."""
    from portfolio.backends import get_backend
    from portfolio.output import check_output_dir
    from portfolio.progress import BatchProgress

    params = params_from_args(args)
    get_backend(args.backend).check_options(params.backend_options)  # before any work
    check_output_dir(args.out)  # a file, or a place that cannot be written: fail now
    axes = axes_from_args(args.axes or [])
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
