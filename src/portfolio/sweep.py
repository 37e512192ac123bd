"""Scenario sweeps: one instance expanded along parameters, solved as a batch, drawn as a curve.

``portfolio sweep FILE --set constraints.budget=80000:100000:11 --out DIR`` makes 11 variants of
FILE with the budget from 80000 to 100000, solves them with the batch machinery (same executors
and options as ``portfolio batch``), and writes, besides the batch's result files and summaries,

* ``curve.csv``: one row per variant in grid order: the parameter values, status, objective,
  bound, gap, number of services changing mode, annual and transition cost, seconds, error;
* ``curve.png``: the objective against the first parameter, each point labelled with the number
  of services that change mode (one line per combination of the other parameters). Written with
  matplotlib's Agg canvas; without matplotlib the chart is skipped.

Paths are dotted keys into the instance data. A list is indexed by position or by the ``id`` of
its items: ``services.3.weight``, ``services.waste.weight``, ``modes.voluntary.max_services``,
``constraints.sector_share.private.max``. Missing mapping keys are created (so a sweep may add a
constraint the file lacks). Several ``--set`` options give the cartesian product of their values.

Variants are counted before anything is built (the product of the axes' lengths; a grid's values
are computed on demand, never listed) and a sweep of more than ``max_variants`` (default
:data:`MAX_VARIANTS`, ``--max-variants`` on the command line) is refused before any work. The
variants themselves are generated one at a time, each kept only as its JSON text.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from portfolio.batch import BatchItem, BatchReport, ItemResult, run_batch
from portfolio.errors import PortfolioError

Value = int | float | str | bool | None

MAX_VARIANTS = 10_000
"""Default cap on the number of variants of a sweep (``--max-variants``)."""

CURVE_FIXED_FIELDS = (
    "status", "objective", "bound", "gap", "changes", "annual_cost", "transition_cost",
    "seconds", "error",
)


class Grid(Sequence[int | float]):
    """``count`` evenly spaced values from ``start`` to ``stop`` inclusive, computed on demand.

    A grid of a million points costs nothing until its points are asked for. Values are rounded
    to 12 significant digits (no float noise: ``0.1:0.3:3`` gives 0.1, 0.2, 0.3) and the last is
    ``stop`` exactly. When both ends are integers and the step is whole, the values are integers.
    A grid compares equal to any sequence holding the same values.
    """

    def __init__(self, start: int | float, stop: int | float, count: int) -> None:
        if count < 1:
            raise ValueError(f"a grid needs at least one point, got {count}")
        self.start, self.stop, self.size = start, stop, count
        self.whole = (
            isinstance(start, int)
            and isinstance(stop, int)
            and (count == 1 or (stop - start) % (count - 1) == 0)
        )

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> int | float: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[int | float, ...]: ...

    def __getitem__(self, index: int | slice) -> int | float | tuple[int | float, ...]:
        if isinstance(index, slice):
            return tuple(self._value(k) for k in range(*index.indices(self.size)))
        k = index + self.size if index < 0 else index
        if not 0 <= k < self.size:
            raise IndexError(f"grid index {index} out of range")
        return self._value(k)

    def _value(self, k: int) -> int | float:
        if k == 0:
            return self.start
        if k == self.size - 1:
            return self.stop
        if self.whole:
            return int(self.start) + (int(self.stop) - int(self.start)) // (self.size - 1) * k
        step = (self.stop - self.start) / (self.size - 1)
        return float(f"{self.start + step * k:.12g}")

    def __iter__(self) -> Iterator[int | float]:
        return (self._value(k) for k in range(self.size))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            if len(other) != self.size:
                return False
            return all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.start, self.stop, self.size))

    def __repr__(self) -> str:
        return f"Grid({self.start!r}, {self.stop!r}, {self.size})"


@dataclass(frozen=True)
class Axis:
    """One swept parameter.

    Attributes:
        path: dotted path into the instance data, e.g. ``constraints.budget``.
        values: the values it takes, in order (a :class:`Grid` for ``START:STOP:COUNT``).
    """

    path: str
    values: Sequence[Value]


@dataclass(frozen=True)
class Variant:
    """One point of the grid: the parameter values and the modified instance data."""

    index: int
    name: str
    values: dict[str, Value]
    data: dict[str, Any]


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid without its instance data: what the curve needs."""

    index: int
    name: str
    values: dict[str, Value]


class TooManyVariantsError(PortfolioError):
    """A sweep would have more variants than its cap."""


def parse_set(text: str) -> Axis:
    """Parse ``PATH=START:STOP:COUNT`` (a linear grid) or ``PATH=V1,V2,...`` (a list).

    A single ``PATH=V`` sets one value. Numbers that are whole stay integers when both ends of a
    grid are integers and every point is whole (``80000:100000:11`` gives 80000, 82000, ...).

    Raises:
        PortfolioError: the text is not of that form.
    """
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec or any(not part for part in path.split(".")):
        raise PortfolioError(
            f"--set expects PATH=START:STOP:COUNT or PATH=V1,V2,..., got '{text}'"
        )
    if ":" in spec:
        pieces = spec.split(":")
        if len(pieces) != 3:
            raise PortfolioError(f"--set {path}: a grid is START:STOP:COUNT, got '{spec}'")
        start, stop = (_number(p, text) for p in pieces[:2])
        try:
            count = int(pieces[2])
        except ValueError:
            count = 0
        if count < 1:
            raise PortfolioError(
                f"--set {path}: COUNT must be a whole number >= 1, got '{pieces[2]}'"
            )
        return Axis(path, Grid(start, stop, count))
    return Axis(path, tuple(_literal(p.strip()) for p in spec.split(",")))


def linear_grid(start: float, stop: float, count: int) -> tuple[int | float, ...]:
    """``count`` evenly spaced values from ``start`` to ``stop`` inclusive, without float noise
    (the values of ``Grid(start, stop, count)`` as a tuple)."""
    return tuple(Grid(start, stop, count))


def set_path(data: Any, path: str, value: Value) -> None:
    """Set ``value`` at the dotted ``path`` in ``data`` (in place).

    Raises:
        PortfolioError: the path does not lead anywhere (an index out of range, an unknown id,
            a number or string where a mapping or list is needed).
    """
    parts = path.split(".")
    node = data
    for depth, key in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_index(node, key, where, path)]
        elif isinstance(node, dict):
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        else:
            parent = ".".join(parts[:depth])
            raise PortfolioError(f"--set {path}: '{parent}' is not a mapping or list")
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, path, path)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise PortfolioError(f"--set {path}: '{'.'.join(parts[:-1])}' is not a mapping or list")


def _index(items: list[Any], key: str, where: str, path: str) -> int:
    if key.isdigit():
        position = int(key)
        if position >= len(items):
            raise PortfolioError(
                f"--set {path}: '{where}' is out of range (the list has {len(items)} items)"
            )
        return position
    for position, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("id")) == key:
            return position
    raise PortfolioError(f"--set {path}: no item with id '{key}' at '{where}'")


def count_variants(axes: Sequence[Axis]) -> int:
    """How many variants the axes give (the product of their lengths; nothing is built)."""
    return math.prod(len(axis.values) for axis in axes)


def check_variant_count(axes: Sequence[Axis], max_variants: int | None = MAX_VARIANTS) -> int:
    """The number of variants, checked against the cap before anything is built.

    Raises:
        TooManyVariantsError: more than ``max_variants`` (None: no cap).
    """
    total = count_variants(axes)
    if max_variants is not None and total > max_variants:
        sizes = " x ".join(f"{axis.path}: {len(axis.values):,} values" for axis in axes)
        raise TooManyVariantsError(
            f"the sweep has {total:,} variants ({sizes}), more than the limit of "
            f"{max_variants:,}: use fewer values, or raise the limit with --max-variants"
        )
    return total


def grid_points(axes: Sequence[Axis]) -> Iterator[tuple[Value, ...]]:
    """The combinations of the axes' values, first axis slowest, one at a time.

    Unlike :func:`itertools.product`, which lists every input first, each combination is found
    from its index, so an axis is only ever indexed, never listed.
    """
    sizes = [len(axis.values) for axis in axes]
    for index in range(math.prod(sizes)):
        combo: list[Value] = []
        rest = index
        for axis, size in zip(reversed(axes), reversed(sizes), strict=True):
            rest, position = divmod(rest, size)
            combo.append(axis.values[position])
        yield tuple(reversed(combo))


def expand(data: dict[str, Any], axes: Sequence[Axis], stem: str) -> Iterator[Variant]:
    """Every combination of the axes' values (the first axis varies slowest), one at a time."""
    width = max(3, len(str(count_variants(axes) - 1)))
    for index, combo in enumerate(grid_points(axes)):
        variant = copy.deepcopy(data)
        values: dict[str, Value] = {}
        for axis, value in zip(axes, combo, strict=True):
            set_path(variant, axis.path, value)
            values[axis.path] = value
        yield Variant(index, f"{stem}-{index:0{width}d}", values, variant)


def variant_items(variants: Iterable[Variant], source: str) -> Iterator[BatchItem]:
    """Batch items for the variants (JSON contents; the source names the file and values)."""
    for variant in variants:
        settings = ", ".join(f"{path}={value}" for path, value in variant.values.items())
        content = json.dumps(variant.data, default=str)
        yield BatchItem(variant.name, content, "json", f"{source} [{settings}]")


def curve_rows(
    variants: Iterable[Variant | SweepPoint], rows: Sequence[ItemResult]
) -> list[dict[str, Any]]:
    """One curve row per variant, in grid order."""
    by_name = {row.name: row for row in rows}
    table = []
    for variant in variants:
        row = by_name.get(variant.name)
        result = (row.result if row else None) or {}
        services = result.get("services") or []
        has_plan = bool(row and row.has_plan)
        seconds = (result.get("timings") or {}).get("total", row.seconds if row else None)
        table.append(
            {
                "variant": variant.name,
                **variant.values,
                "status": row.status.value if row else "",
                "objective": result.get("objective"),
                "bound": result.get("bound"),
                "gap": result.get("gap"),
                "changes": len(result.get("changes") or []) if has_plan else None,
                "annual_cost": _total(services, "annual_cost") if has_plan else None,
                "transition_cost": (
                    _total([s for s in services if s.get("changes")], "transition_cost")
                    if has_plan
                    else None
                ),
                "seconds": seconds,
                "error": " ".join((row.error or "").split()) if row and row.error else None,
            }
        )
    return table


def _total(services: list[dict[str, Any]], key: str) -> float:
    return round(math.fsum(float(s.get(key) or 0.0) for s in services), 6)


def write_curve_csv(
    path: str | os.PathLike[str], axes: Sequence[Axis], table: list[dict[str, Any]]
) -> None:
    """Write the curve as CSV, atomically."""
    from portfolio.output import write_atomic

    fields = ["variant", *(axis.path for axis in axes), *CURVE_FIXED_FIELDS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for line in table:
        writer.writerow({k: "" if v is None else v for k, v in line.items()})
    write_atomic(path, buffer.getvalue())


def plot_curve(
    path: str | os.PathLike[str],
    axes: Sequence[Axis],
    table: list[dict[str, Any]],
    *,
    title: str,
    ylabel: str,
) -> bool:
    """Draw the objective against the first parameter and write a PNG atomically.

    Each point is labelled with the number of services changing mode; variants without a plan
    are marked with a red cross on the horizontal axis. With several parameters, one line per
    combination of the others.

    Returns:
        False when matplotlib is not installed (nothing written), True otherwise.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False

    first, others = axes[0], axes[1:]
    groups: dict[tuple[Value, ...], list[dict[str, Any]]] = {}
    for line in table:
        groups.setdefault(tuple(line[a.path] for a in others), []).append(line)

    figure = Figure(figsize=(8.0, 5.0), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    failed_label = "no plan"
    for key, lines in groups.items():
        planned = [ln for ln in lines if ln["objective"] is not None]
        label = ", ".join(f"{a.path}={v}" for a, v in zip(others, key, strict=True)) or None
        if planned:
            xs = [ln[first.path] for ln in planned]
            ys = [ln["objective"] for ln in planned]
            (drawn,) = ax.plot(xs, ys, marker="o", label=label)
            for x, y, line in zip(xs, ys, planned, strict=True):
                ax.annotate(
                    str(line["changes"]), (x, y), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=8, color=drawn.get_color(),
                )
        for line in lines:
            if line["objective"] is None:
                ax.plot(
                    [line[first.path]], [0.02], marker="x", color="red", linestyle="none",
                    transform=ax.get_xaxis_transform(), label=failed_label,
                )
                failed_label = "_nolegend_"
    ax.set_xlabel(first.path)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    figure.text(0.01, 0.005, "point labels: services changing mode", fontsize=7, color="0.4")
    if len(groups) > 1 or failed_label == "_nolegend_":
        ax.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    from portfolio.output import write_bytes_atomic

    write_bytes_atomic(path, buffer.getvalue())
    return True


def objective_label(data: dict[str, Any]) -> str:
    """Words for the objective of an instance, for the chart's axis."""
    objective = data.get("objective", "maximise_outcome")
    if objective == "maximise_outcome":
        return "weighted outcome (maximised)"
    if objective == "minimise_cost":
        return "cost: annual + transition + setup (minimised)"
    return "objective"


@dataclass
class SweepReport:
    """What a sweep produced: the batch report, the curve and the chart (None if skipped), and
    the grid's points (parameter values by variant name)."""

    batch: BatchReport
    curve: Path | None
    chart: Path | None
    variants: list[SweepPoint]


def run_sweep(
    file: str | os.PathLike[str],
    axes: Sequence[Axis],
    out_dir: str | os.PathLike[str],
    *,
    max_variants: int | None = MAX_VARIANTS,
    **batch_options: Any,
) -> SweepReport:
    """Expand ``file`` along ``axes``, solve the variants as a batch, write the curve and chart.

    Args:
        file: the instance file.
        axes: the parameters to sweep (at least one).
        out_dir: the output folder.
        max_variants: refuse a sweep of more variants than this, before reading the file
            (None: no cap).
        **batch_options: passed to :func:`portfolio.batch.run_batch` (backend, params, executor,
            workers, scheduler, resume, task_timeout, on_result, ...).

    Raises:
        InstanceFileError, ValidationError: the file, or its first variant, is invalid.
        TooManyVariantsError: more variants than ``max_variants``.
        PortfolioError: a path does not lead anywhere.
    """
    from portfolio.io import instance_from_data, read_data

    if not axes:
        raise PortfolioError("a sweep needs at least one --set")
    check_variant_count(axes, max_variants)
    source = str(file)
    data = read_data(file)
    if not isinstance(data, dict):
        instance_from_data(data, source=source)  # raises the usual message
    stem = Path(file).name.split(".")[0] or "variant"
    points: list[SweepPoint] = []

    def generate() -> Iterator[Variant]:
        for variant in expand(data, axes, stem):
            if variant.index == 0:
                # Check one variant: a wrong path or field fails once, not once per variant.
                instance_from_data(variant.data, source=f"{source} [{variant.name}]")
            points.append(SweepPoint(variant.index, variant.name, variant.values))
            yield variant

    # Each variant is kept only as its JSON text: the data trees are built one at a time.
    items = list(variant_items(generate(), source))
    values = {point.name: point.values for point in points}
    report = run_batch(
        items, out_dir, extra=lambda row: {"parameters": values.get(row.name, {})}, **batch_options
    )
    if report.interrupted:
        return SweepReport(report, None, None, points)
    out = Path(out_dir)
    table = curve_rows(points, report.rows)
    curve = out / "curve.csv"
    write_curve_csv(curve, axes, table)
    title = f"{data.get('name') or stem}: sweep of {', '.join(a.path for a in axes)}"
    chart = out / "curve.png"
    drawn = plot_curve(chart, axes, table, title=title, ylabel=objective_label(data))
    return SweepReport(report, curve, chart if drawn else None, points)


def _number(text: str, whole: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise PortfolioError(f"--set {whole}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise PortfolioError(f"--set {whole}: '{text}' is not a finite number")
    return value


def _literal(text: str) -> Value:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    for convert in (int, float):
        try:
            value = convert(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            break
        return value
    return text
