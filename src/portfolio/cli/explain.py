"""``portfolio explain FILE``: why this plan, on the command line (see :mod:`portfolio.whynot`).

Prints, for each service, the mode chosen and every other mode with its loss (or what stops
it), then each limit with its value, bound, whether the plan sits on it and what relaxing it by
a step gains; ``--output`` writes the same as JSON (atomically). Exit codes: 0 a plan explained,
1 no plan to explain (infeasible, or none within the time limit), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

from portfolio.cli.common import (
    add_input_options,
    add_solve_options,
    params_from_args,
    positive_int,
)
from portfolio.domain import Instance
from portfolio.errors import PortfolioError
from portfolio.exitcodes import EXIT_NO_PLAN, EXIT_OK
from portfolio.whynot import COUNT, KINDS, MONEY, SHARE, LimitWorth, PlanExplanation

EXPLAIN_EPILOG = """steps (--step): 1% of the bound for money and other amounts, 1 for counts,
0.01 for shares; --step X sets every limit's step to X (in its own units), --step NAME=X one
limit's (budget=100, limits[1]=50, budget@2028=100) or one kind's (money, count, share, amount).

exit codes:
  0    the plan was explained
  1    no plan to explain: infeasible, or none found within the limits
  2    bad input or usage (the message names the file, item and field)"""


def register(subparsers: Any) -> None:
    """Add ``portfolio explain`` to the command line."""

    parser = subparsers.add_parser(
        "explain",
        help="why this plan: what each other mode would lose, what each limit is worth",
        description="Solve an instance, then re-solve it with each service forced into each "
        "other mode it is offered (the loss against the plan, or the limit that stops it) and "
        "with each limit relaxed by one step (the gain). A limit 'at limit' is one the plan "
        "sits on; one that 'holds back' is one whose relaxation improves the objective: the "
        "two differ. --time-limit bounds the whole command.",
        epilog=EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="instance file (.json, .yaml, .yml, .toml or .xlsx)")
    add_solve_options(parser)
    add_input_options(parser)
    parser.add_argument(
        "--service",
        "-s",
        action="append",
        dest="services",
        default=None,
        metavar="S",
        help="explain only this service's alternatives (repeatable; default: every service)",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write the explanation here as JSON (atomically)"
    )
    parser.add_argument(
        "--step",
        action="append",
        default=[],
        metavar="X|NAME=X",
        help="relaxation step of the limits (repeatable; see below)",
    )
    parser.add_argument(
        "--workers",
        "-j",
        type=positive_int,
        default=1,
        metavar="N",
        help="local worker processes for the re-solves (default 1: in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        default=None,
        help="run the re-solves on this Dask distributed scheduler",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the JSON instead of the tables"
    )
    parser.add_argument(
        "--no-warm-start",
        dest="warm_start",
        action="store_false",
        help="do not start the re-solves from the plan (each finds its own start)",
    )
    parser.set_defaults(func=cmd_explain)


def parse_steps(values: list[str]) -> float | dict[str, float] | None:
    """``--step`` options as :func:`~portfolio.whynot.explain_plan` takes them.

    Raises:
        PortfolioError: a value is not ``X`` or ``NAME=X`` with X a positive number.
    """
    if not values:
        return None
    steps: dict[str, float] = {}
    for text in values:
        name, sep, number = text.rpartition("=")
        name = name.strip()
        if sep and not name:
            raise PortfolioError(f"--step expects X or NAME=X, got '{text}'")
        try:
            amount = float(number)
        except ValueError:
            amount = math.nan
        if not (math.isfinite(amount) and amount > 0):
            raise PortfolioError(
                f"--step {text}: the step must be a positive number, got '{number.strip()}'"
            )
        if sep:
            steps[name] = amount
        else:
            steps.update(dict.fromkeys(KINDS, amount))
    return steps


def cmd_explain(args: argparse.Namespace) -> int:
    """portfolio explain FILE."""
    from portfolio.errors import ReadTimeLimitError
    from portfolio.io import load_instance
    from portfolio.output import check_output_file, write_json
    from portfolio.whynot import explain_plan

    started = getattr(args, "started", time.perf_counter())
    steps = parse_steps(args.step)
    if args.output:
        check_output_file(args.output)  # before any work
    left = None
    if args.time_limit is not None:
        left = max(0.05, args.time_limit - (time.perf_counter() - started))
    params = params_from_args(args, time_limit=left)
    deadline = None if left is None else time.perf_counter() + left
    try:
        instance = load_instance(args.file, deadline=deadline)
    except ReadTimeLimitError as exc:
        sys.stderr.write(f"portfolio: {exc}\n")
        return EXIT_NO_PLAN
    if left is not None and deadline is not None:
        params = params.with_(time_limit=max(0.05, deadline - time.perf_counter()))
    explanation = explain_plan(
        instance,
        services=args.services,
        backend=args.backend,
        params=params,
        step=steps,
        workers=args.workers,
        scheduler=args.scheduler,
        warm_start=args.warm_start,
    )
    data = explanation.to_dict()
    data["file"] = os.path.abspath(args.file)
    if args.output:
        write_json(args.output, data)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_explanation(instance, explanation))
    sys.stdout.flush()
    return EXIT_OK if explanation.has_plan else EXIT_NO_PLAN


# ---------------------------------------------------------------------- the tables
def format_explanation(instance: Instance, explanation: PlanExplanation) -> str:
    """The explanation as two tables (alternatives, then limits), ending with a newline."""
    from portfolio.money import format_money, money_decimals

    decimals = money_decimals(instance)
    objective_is_money = instance.objective == "minimise_cost"

    def objective(value: float) -> str:
        return format_money(value, decimals) if objective_is_money else _figure(value)

    unit = f" {instance.currency}" if instance.currency and objective_is_money else ""
    head = f"{explanation.instance}: {explanation.status}"
    if explanation.objective is not None:
        head += f", objective {objective(explanation.objective)}{unit} "
        head += f"({explanation.objective_label}), {explanation.backend}"
    lines = [head]
    if not explanation.has_plan:
        lines.append(f"no plan to explain: {explanation.detail}".rstrip(": "))
        return "\n".join(lines) + "\n"
    warm = f" ({explanation.warm_starts} started from the plan)" if explanation.warm_starts else ""
    lines.append(f"{explanation.solves} re-solves{warm} in {explanation.seconds:.1f} s")

    lines += ["", "Why not another mode? (loss: how much worse the objective is with the service "
              "in that mode, every other choice re-optimised)"]
    rows: list[tuple[str, ...]] = [("service", "chosen", "instead", "objective", "loss", "")]
    for why in explanation.services.values():
        chosen = why.chosen
        if why.chosen_by_year is not None and len(set(why.chosen_by_year.values())) > 1:
            chosen = " > ".join(
                f"{mode} {year}" for year, mode in _first_years(why.chosen_by_year).items()
            )
        if not why.alternatives:
            rows.append((why.service, chosen, "-", "", "", "no other mode offered"))
            continue
        for number, alternative in enumerate(why.alternatives):
            first = (why.service, chosen) if number == 0 else ("", "")
            if alternative.objective is not None and alternative.loss is not None:
                note = "" if alternative.status == "optimal" else alternative.status
                rows.append((*first, alternative.mode, objective(alternative.objective),
                             objective(alternative.loss), note))
            else:
                word = "not allowed" if alternative.status == "not_allowed" else alternative.status
                stop = (" and " if alternative.jointly else " or ").join(alternative.blocked_by)
                rows.append((*first, alternative.mode, "", "", f"{word}: {stop}" if stop else word))
    lines += _table(rows, right=(3, 4))

    lines += ["", "What is each limit worth? (gain: how much the objective improves when only "
              "that limit is relaxed by the step)"]
    rows = [("limit", "value", "", "bound", "at limit", "step", "gain", "LP dual", "holds back")]
    for limit in explanation.limits:
        rows.append(
            (
                _limit_name(limit),
                _amount(limit.value, limit, decimals),
                limit.sense,
                _amount(limit.bound, limit, decimals),
                "yes" if limit.at_limit else "no",
                ("+" if limit.sense == "<=" else "-") + _step(limit),
                _gain(limit, objective),
                "-" if limit.lp_dual is None else _figure(limit.lp_dual),
                "yes" if limit.holds_back else "",
            )
        )
    lines += _table(rows, right=(1, 3, 5, 6, 7))
    lines += [
        "",
        "at limit: the plan sits on the bound. holds back: relaxing the limit by the step "
        "improves the objective (gain > 0).",
        "A limit can sit on its bound and hold nothing back, or hold the plan back without "
        "sitting on its bound.",
        "LP dual: a hint, not a proof: how fast the LP relaxation's optimum improves per unit "
        "the limit is relaxed (objective units per pound, per service, per 1.0 of share); the "
        "integer gain can be larger, smaller or zero.",
    ]
    return "\n".join(lines) + "\n"


def _first_years(by_year: Any) -> dict[int, str]:
    """The years in which the mode changes (and the first year)."""
    out: dict[int, str] = {}
    last = None
    for year, mode in by_year.items():
        if mode != last:
            out[year] = mode
            last = mode
    return out


def _limit_name(limit: LimitWorth) -> str:
    if limit.name.startswith("limits["):
        return f"{limit.name} {limit.label}"
    return limit.name


def _gain(limit: LimitWorth, objective: Any) -> str:
    if limit.gain is None:
        return limit.status
    if limit.status == "loosest":
        return "0 (at its loosest)"
    return str(objective(limit.gain))


def _step(limit: LimitWorth) -> str:
    if limit.kind == COUNT:
        return f"{limit.step:,.0f}"
    if limit.kind == SHARE:
        return f"{limit.step:.4g}"
    return _figure(limit.step)


def _amount(value: float | None, limit: LimitWorth, decimals: int) -> str:
    from portfolio.money import format_money

    if value is None:
        return "-"
    if limit.kind == MONEY:
        return format_money(value, decimals)
    if limit.kind == COUNT:
        return f"{value:,.0f}"
    if limit.kind == SHARE:
        return f"{value:.4g}"
    return _figure(value)


def _figure(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        text = f"{value:,.1f}"
        return text[:-2] if text.endswith(".0") else text
    return f"{value:.4g}"


def _table(rows: list[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    """Rows as aligned text: columns in ``right`` aligned right, the last one left."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
