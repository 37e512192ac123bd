"""``portfolio frontier``: the trade-off between two criteria, as a table, JSON and a chart.

The command line layer over :func:`portfolio.tradeoff.frontier`; no library module imports it.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path
from typing import Any

from portfolio.cli.common import add_solve_options, err, params_from_args, positive_int
from portfolio.errors import ParameterError

__all__ = ["register", "cmd_frontier", "frontier_chart_svg", "frontier_text"]

EXIT_PLAN = 0
EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2

FRONTIER_EPILOG = """criteria: outcome (sum of weight * outcome), cost (the minimise_cost total:
annual cost + transition costs of changed services + setup costs of modes used),
annual_cost, social_value, or any metric of the options. Multi-year instances:
discounted totals over the horizon. Give two criteria, in order (the points are
sorted along the first); one alone is paired with cost (or outcome when it is cost).

exit codes:
  0    the frontier (or part of it, when the time limit ran out) was found
  1    the instance has no plan
  2    bad input or usage"""


class _Criterion(argparse.Action):
    """``--maximise NAME`` / ``--minimise NAME``, kept in the order given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        given = list(getattr(namespace, self.dest, None) or [])
        given.append((self.const, str(values)))
        setattr(namespace, self.dest, given)


def register(subparsers: Any) -> None:
    """Add ``portfolio frontier`` to the command's subparsers."""

    parser = subparsers.add_parser(
        "frontier",
        help="the trade-off between two criteria: every non-dominated plan",
        description="The exact non-dominated set between two criteria (epsilon-constraint "
        "with exact steps, lexicographic at each point), with today's arrangement and the "
        "plan for the instance's own objective.",
        epilog=FRONTIER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="instance file (YAML, JSON, TOML, workbook)")
    parser.add_argument(
        "--maximise",
        "--maximize",
        dest="criteria",
        action=_Criterion,
        const="maximise",
        metavar="CRITERION",
        help="a criterion to maximise (default: outcome)",
    )
    parser.add_argument(
        "--minimise",
        "--minimize",
        dest="criteria",
        action=_Criterion,
        const="minimise",
        metavar="CRITERION",
        help="a criterion to minimise (default: cost)",
    )
    parser.add_argument(
        "--points",
        type=positive_int,
        default=50,
        metavar="N",
        help="most points reported; more are thinned to N spread along the curve (default 50)",
    )
    parser.add_argument("--output", "-o", metavar="F.json", help="write the frontier as JSON")
    parser.add_argument(
        "--chart",
        metavar="F.png",
        help="draw the frontier with today and the plan marked (matplotlib when installed, "
        "else SVG; a .svg name always gives SVG)",
    )
    add_solve_options(
        parser,
        time_limit_help="wall-clock limit for the whole frontier; the points found by then are "
        "reported",
    )
    parser.set_defaults(func=cmd_frontier)


def criteria_from(given: list[tuple[str, str]] | None) -> tuple[str, str, list[str], list[str]]:
    """(first, second, maximised, minimised) from the ``--maximise``/``--minimise`` given.

    Raises:
        ParameterError: more than two criteria, or one given twice.
    """
    given = list(given or [])
    if len(given) > 2:
        named = ", ".join(name for _, name in given)
        raise ParameterError(f"--maximise/--minimise: give at most two criteria, got {named}")
    if len(given) == 2 and given[0][1] == given[1][1]:
        raise ParameterError(f"--maximise/--minimise: criterion '{given[0][1]}' is given twice")
    if not given:
        given = [("maximise", "outcome"), ("minimise", "cost")]
    elif len(given) == 1:
        given.append(("maximise", "outcome") if given[0][1] == "cost" else ("minimise", "cost"))
    maximised = [name for sense, name in given if sense == "maximise"]
    minimised = [name for sense, name in given if sense == "minimise"]
    return given[0][1], given[1][1], maximised, minimised


def cmd_frontier(args: argparse.Namespace) -> int:
    """Run ``portfolio frontier``; returns the exit code."""
    from portfolio.errors import InstanceFileError, PortfolioError, ValidationError
    from portfolio.io import load_instance, write_json
    from portfolio.tradeoff import frontier

    try:
        first, second, maximised, minimised = criteria_from(args.criteria)
        if args.chart:
            chart_format(args.chart)
        params = params_from_args(args)
        instance = load_instance(args.file)
        result = frontier(
            instance,
            first,
            second,
            maximise=maximised,
            minimise=minimised,
            points=args.points,
            backend=args.backend,
            params=params,
        )
    except (InstanceFileError, ValidationError) as exc:
        err(str(exc))  # names the file itself, as `solve` and `explain` print it
        return EXIT_BAD_INPUT
    except PortfolioError as exc:
        err(f"{args.file}: {exc}")
        return EXIT_BAD_INPUT
    data = result.to_dict()
    if args.output:
        write_json(args.output, data)
    if args.chart:
        note = write_chart(args.chart, data)
        if note:
            sys.stderr.write(f"{note}\n")
    sys.stdout.write(frontier_text(data))
    return EXIT_PLAN if data["points"] else EXIT_NO_PLAN


def _decimals(step: float) -> int:
    return max(0, round(-math.log10(step))) if step > 0 else 0


def frontier_text(data: dict[str, Any]) -> str:
    """The frontier as a table for people (figures rounded to each criterion's step)."""
    first, second = (c["name"] for c in data["criteria"])
    steps = {c["name"]: c["step"] for c in data["criteria"]}
    senses = {c["name"]: c["sense"] for c in data["criteria"]}
    decimals = {name: min(_decimals(step), 4) for name, step in steps.items()}

    def fmt(name: str, value: float) -> str:
        return f"{value:,.{decimals[name]}f}"

    lines = [
        f"Frontier of {data['instance']}: {senses[first]} {first}, {senses[second]} {second}"
        + (" (discounted totals)" if data.get("discounted") else ""),
    ]
    if not data["points"]:
        if data["complete"]:
            lines.append("No plan meets the instance's limits: there is no frontier.")
        else:
            lines.append(f"No point was found: {data['detail']}.")
        return "\n".join(lines) + "\n"
    rows = [
        (fmt(first, p[first]), fmt(second, p[second]), str(p["changes"])) for p in data["points"]
    ]
    marks = []
    for label, mark in (("today", data.get("today")), ("plan", data.get("plan"))):
        if mark:
            marks.append((label, fmt(first, mark[first]), fmt(second, mark[second])))
    width_a = max(len(first), *(len(r[0]) for r in rows), *(len(m[1]) for m in marks))
    width_b = max(len(second), *(len(r[1]) for r in rows), *(len(m[2]) for m in marks))
    lines.append(f"  {first:>{width_a}}  {second:>{width_b}}  changes")
    lines += [f"  {a:>{width_a}}  {b:>{width_b}}  {c:>7}" for a, b, c in rows]
    count = len(data["points"])
    if data["complete"]:
        lines.append(f"{count} non-dominated point{'s' if count != 1 else ''}, every one.")
    else:
        lines.append(f"{count} of {data['found']} points found shown: {data['detail']}.")
    for label, a, b in marks:
        extra = ""
        if label == "today" and data["today"] and not data["today"].get("feasible", True):
            extra = " (breaks the instance's limits)"
        lines.append(f"{label:>5}: {first} {a}, {second} {b}{extra}")
    return "\n".join(lines) + "\n"


def frontier_chart_svg(data: dict[str, Any]) -> str:
    """The frontier as an SVG chart (first criterion across, second up), today and the plan
    marked."""
    from portfolio.svgchart import xy_chart

    first, second = (c["name"] for c in data["criteria"])
    points = [(p[first], p[second], "") for p in data["points"]]
    marks = []
    if data.get("today"):
        marks.append(("today", data["today"][first], data["today"][second], "#b2182b"))
    if data.get("plan"):
        marks.append(("plan", data["plan"][first], data["plan"][second], "#1b7837"))
    return xy_chart(
        "frontier", [("frontier", points)], x_label=first, y_label=second, marks=marks
    ) + "\n"


def _matplotlib_png(data: dict[str, Any], suffix: str) -> bytes | None:
    """The chart drawn with matplotlib in the file's format, or None when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    first, second = (c["name"] for c in data["criteria"])
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    try:
        xs = [p[first] for p in data["points"]]
        ys = [p[second] for p in data["points"]]
        axes.plot(xs, ys, "-o", color="#2166ac", markersize=4, label="non-dominated plans")
        for label, color, marker in (("today", "#b2182b", "s"), ("plan", "#1b7837", "D")):
            mark = data.get(label)
            if mark:
                axes.plot([mark[first]], [mark[second]], marker, color=color, label=label)
                axes.annotate(label, (mark[first], mark[second]), textcoords="offset points",
                              xytext=(6, 4), color=color)
        axes.set_xlabel(first)
        axes.set_ylabel(second)
        axes.set_title(f"{data['instance']}: {first} against {second}")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize="small")
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix, bbox_inches="tight", metadata=_metadata(suffix))
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _metadata(suffix: str) -> dict[str, Any] | None:
    """File metadata that keeps the chart deterministic (no creation date)."""
    if suffix == "png":
        return {"Software": None}
    if suffix in ("svg",):
        return {"Date": None}
    if suffix == "pdf":
        return {"CreationDate": None}
    return None


CHART_FORMATS = ("png", "svg", "pdf")


def chart_format(path: str) -> str:
    """The chart's format from its file name.

    Raises:
        ParameterError: a suffix other than .png, .svg or .pdf.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in CHART_FORMATS:
        raise ParameterError(
            f"--chart {path}: unknown chart format '.{suffix}': use .png, .svg or .pdf"
        )
    return suffix


def write_chart(path: str, data: dict[str, Any]) -> str:
    """Write the chart to ``path`` atomically; returns a note for the user ('' when none).

    ``.svg`` is written with the project's own SVG helpers; other formats with matplotlib,
    and when matplotlib is not installed the SVG goes to ``path`` with a ``.svg`` suffix.
    """
    from portfolio.io import write_atomic, write_bytes_atomic

    target = Path(path)
    suffix = chart_format(path)
    if suffix == "svg":
        write_atomic(target, frontier_chart_svg(data))
        return ""
    drawn = _matplotlib_png(data, suffix)
    if drawn is None:
        svg = target.with_suffix(".svg")
        write_atomic(svg, frontier_chart_svg(data))
        return f"matplotlib is not installed: the chart was written as SVG to {svg}"
    write_bytes_atomic(target, drawn)
    return ""
