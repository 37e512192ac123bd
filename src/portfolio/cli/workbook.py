"""``portfolio template`` and ``convert``: instance workbooks and instance files of every format."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portfolio.errors import PortfolioError
from portfolio.exitcodes import EXIT_OK


def register(sub: Any) -> None:
    """Add ``template`` and ``convert`` to the subparsers ``sub``."""
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
