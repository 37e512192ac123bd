"""``portfolio appraise``: what uncertainty and flexibility are worth under funding scenarios.

The command line layer over :func:`portfolio.scenarios.appraise.appraise`; no library module
imports it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portfolio.cli.batch import executor_from_args
from portfolio.cli.common import add_solve_options, params_from_args, positive_int
from portfolio.executors import EXECUTORS

__all__ = ["register", "cmd_appraise"]

EXIT_PLAN = 0
EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2

APPRAISE_EPILOG = """figures (each "how much better", in the objective's units, >= 0):
  evpi                   wait-and-see (funding known now) against the recourse problem
  vss                    the recourse problem against the mean-data plan's first year (EEV)
  value_of_flexibility   the recourse problem against only the longest contract of each
                         (service, mode); per service: that service alone so limited

exit codes:
  0    the appraisal is complete
  1    the recourse problem has no plan
  2    bad input or usage"""


def register(subparsers: Any) -> None:
    """Add ``portfolio appraise`` to the command's subparsers."""
    parser = subparsers.add_parser(
        "appraise",
        help="what perfect foresight, planning for uncertainty and flexible contracts are worth",
        description="Solve an instance with funding scenarios as the stochastic plan, each "
        "scenario alone (wait and see), the mean-data plan (EEV) and with long contracts only, "
        "and report EVPI, VSS and the value of flexibility, overall, per scenario and per "
        "service.",
        epilog=APPRAISE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="instance file with scenarios")
    parser.add_argument("--output", "-o", metavar="A.json", help="write the appraisal as JSON")
    parser.add_argument(
        "--no-per-service",
        dest="per_service",
        action="store_false",
        help="skip the per-service value of flexibility (one solve per service)",
    )
    add_solve_options(parser, time_limit_help="wall-clock limit for each solve")
    parser.add_argument(
        "--workers",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="local worker processes for the independent solves (default: the number of cores)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        default=None,
        help="run the independent solves on this Dask distributed scheduler",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="processes (default), dask (default with --scheduler) or serial (in this process)",
    )
    parser.set_defaults(func=cmd_appraise)


def cmd_appraise(args: argparse.Namespace) -> int:
    """Run ``portfolio appraise``; returns the exit code."""
    from portfolio.errors import InstanceFileError, PortfolioError, ValidationError
    from portfolio.io import load_instance, write_json
    from portfolio.scenarios.appraise import appraise, format_appraisal

    try:
        params = params_from_args(args)
        executor = executor_from_args(args)
        instance = load_instance(args.file)
    except (InstanceFileError, ValidationError) as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_BAD_INPUT
    except PortfolioError as exc:
        sys.stderr.write(f"portfolio appraise: {args.file}: {exc}\n")
        return EXIT_BAD_INPUT
    if not instance.scenarios:
        sys.stderr.write(
            f"portfolio appraise: {args.file}: the instance has no funding scenarios "
            "(add scenarios: [...] to a multi-year instance)\n"
        )
        return EXIT_BAD_INPUT
    try:
        appraisal = appraise(
            instance,
            params,
            backend=args.backend,
            executor=executor,
            workers=args.workers,
            scheduler=args.scheduler,
            per_service=args.per_service,
        )
    except PortfolioError as exc:
        sys.stderr.write(f"portfolio appraise: {args.file}: {exc}\n")
        return EXIT_NO_PLAN
    if args.output:
        write_json(args.output, appraisal.to_dict())
    sys.stdout.write(format_appraisal(appraisal, instance.currency))
    return EXIT_PLAN
