"""``portfolio report``: the HTML report of a result file (see :mod:`portfolio.htmlreport`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portfolio.errors import PortfolioError
from portfolio.htmlreport import load_sweep, render_report, write_report


def register(subparsers: Any) -> None:
    """Add ``report`` to the subparsers ``subparsers``."""
    parser = subparsers.add_parser(
        "report",
        help="write a readable, printable HTML report of a result file",
        description="Write one self-contained HTML page (inline CSS and SVG charts, no network) "
        "presenting a result file: the plan against today's arrangement, the limits, spend by "
        "sector, changes and the budget path per year, and a sweep curve when given.",
    )
    parser.add_argument("result", help="result JSON written by portfolio solve --output")
    parser.add_argument("--html", required=True, metavar="FILE",
                        help="the HTML file to write (atomically)")
    parser.add_argument("--instance", metavar="FILE",
                        help="the instance file (default: the path recorded in the result)")
    parser.add_argument("--sweep", metavar="DIR_OR_FILE",
                        help="a portfolio sweep output folder, its curve.csv, or curve JSON")
    parser.add_argument("--frontier", metavar="FILE", help="a frontier JSON (points: [...])")
    parser.add_argument("--title", help="the page title")
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """portfolio report RESULT.json --html FILE."""
    from portfolio.io import load_instance

    result = _read_json(args.result, "result")
    if not isinstance(result, Mapping) or "status" not in result:
        raise PortfolioError(f"{args.result}: not a result file (no 'status' key)")
    instance_path = args.instance or result.get("file")
    instance = None
    if instance_path:
        if not args.instance and not Path(str(instance_path)).is_file():
            raise PortfolioError(
                f"{args.result}: the instance it records ({instance_path}) is not there; "
                "give it with --instance"
            )
        instance = load_instance(str(instance_path))
    sweep = load_sweep(args.sweep) if args.sweep else None
    frontier = _read_json(args.frontier, "frontier") if args.frontier else None
    if frontier is not None and not isinstance(frontier, Mapping):
        raise PortfolioError(f"{args.frontier}: a frontier file is a mapping with 'points'")
    document = render_report(result, instance, sweep=sweep, frontier=frontier, title=args.title)
    write_report(args.html, document)
    sys.stdout.write(f"report: {args.html}\n")
    return 0


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc
        raise PortfolioError(f"{path}: cannot read the {what} file: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PortfolioError(f"{path}: the {what} file is not valid JSON: {exc}") from None
