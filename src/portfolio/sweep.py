"""Scenario sweeps: one instance expanded along parameters, solved as a batch, drawn as a curve.

``portfolio sweep FILE --set constraints.budget=80000:100000:11 --out DIR`` makes 11 variants of
FILE with the budget from 80000 to 100000, solves them with the batch machinery (same executors
and options as ``portfolio batch``), and writes, besides the batch's result files and summaries,

* ``curve.csv``: one row per variant in grid order: the parameter values, status, objective,
  bound, gap, number of services changing mode, annual cost, transition cost, one-off cost
  (transition, setup and termination), weighted outcome, seconds, error. For a multi-year instance
  the money and outcome columns are discounted totals over the horizon, the figures the objective
  counts (``minimise_cost`` = annual_cost + one_off_cost, ``maximise_outcome`` = outcome);
* ``curve.png``: the objective against the first parameter, each point labelled with the number
  of services that change mode (one line per combination of the other parameters). Written with
  matplotlib's Agg canvas; without matplotlib the chart is skipped.

A ``--set`` gives the values a parameter takes: ``START:STOP:COUNT`` (a linear grid),
``V1,V2,...`` (numbers, words, true/false/null), or ``[V1, V2, ...]``: a JSON array whose every
element is one value, so an element may itself be a list (a yearly path such as
``[[318000, 312000], [310000, 300000]]``: two variants) or a mapping (a weighted objective).
A ``--scale PATH=START:STOP:COUNT`` (or ``F1,F2,...``) multiplies the instance's own value at
PATH, a number or every year of a yearly list, by each factor.

Paths are dotted keys into the instance data. A list is indexed by position or by the ``id`` of
its items: ``services.3.weight``, ``services.waste.weight``, ``modes.voluntary.max_services``,
``constraints.sector_share.private.max``. Missing mapping keys are created (so a sweep may add a
constraint the file lacks). Several ``--set`` and ``--scale`` options give the cartesian product
of their values.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from portfolio.batch import BatchItem, BatchReport, ItemResult, run_batch
from portfolio.errors import PortfolioError

Value = int | float | str | bool | None | list[Any] | dict[str, Any]
"""A parameter value: a scalar, a list (a yearly path) or a mapping (a weighted objective)."""

MAX_VARIANTS = 10_000
"""Default cap on the number of variants of a sweep (``--max-variants``)."""

CURVE_FIXED_FIELDS = (
    "status", "objective", "bound", "gap", "changes", "annual_cost", "transition_cost",
    "one_off_cost", "outcome", "seconds", "error",
)

SCALE_PREFIX = "scale:"
"""A ``--scale`` axis's curve column is ``scale:PATH`` (its values are the factors)."""
SET_PREFIX = "set:"
"""A ``--set`` axis whose path is also a curve column (``objective``) is ``set:PATH``."""


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
        values: the values it takes, in order (a :class:`Grid` for ``START:STOP:COUNT``); for a
            scale, the factors.
        scale: True for a ``--scale``: each value multiplies the instance's own value at
            ``path`` (a number, or every year of a yearly list).
    """

    path: str
    values: Sequence[Value]
    scale: bool = False

    @property
    def name(self) -> str:
        """The axis's column in the curve: ``PATH``, ``scale:PATH`` for a scale, ``set:PATH``
        when PATH is itself a curve column (``set:objective``)."""
        if self.scale:
            return SCALE_PREFIX + self.path
        if self.path in ("variant", *CURVE_FIXED_FIELDS):
            return SET_PREFIX + self.path
        return self.path

    @property
    def option(self) -> str:
        """The command-line option that gives this axis (for messages)."""
        return "--scale" if self.scale else "--set"


@dataclass(frozen=True)
class Variant:
    """One point of the grid: the parameter values and the modified instance data.

    Attributes:
        values: axis name (see :attr:`Axis.name`) -> the axis's value (a scale's factor).
        data: the variant's instance data.
        settings: path -> the value written there, for each scale (``values`` holds the factor).
        setup_costs: mode id -> setup cost in the variant (single-period one-off costs).
    """

    index: int
    name: str
    values: dict[str, Value]
    data: dict[str, Any]
    settings: dict[str, Value] = field(default_factory=dict)
    setup_costs: dict[str, float] = field(default_factory=dict)

    def point(self) -> SweepPoint:
        """The variant without its instance data."""
        return SweepPoint(self.index, self.name, self.values, self.settings, self.setup_costs)


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid without its instance data: what the curve needs."""

    index: int
    name: str
    values: dict[str, Value]
    settings: dict[str, Value] = field(default_factory=dict)
    setup_costs: dict[str, float] = field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, Value]:
        """What a variant's result file records: the axis values, then each scaled value."""
        return {**self.values, **self.settings}


class TooManyVariantsError(PortfolioError):
    """A sweep would have more variants than its cap."""


SET_FORMS = "PATH=START:STOP:COUNT, PATH=V1,V2,... or PATH=[V1, V2, ...] (JSON)"
SCALE_FORMS = "PATH=START:STOP:COUNT or PATH=F1,F2,... (factors)"


def parse_set(text: str) -> Axis:
    """Parse a ``--set``: the values one parameter takes.

    * ``PATH=START:STOP:COUNT``: a linear grid (COUNT >= 1). Numbers that are whole stay integers
      when both ends are integers and every point is whole (``80000:100000:11`` gives 80000,
      82000, ...).
    * ``PATH=V1,V2,...``: scalars (numbers, true/false, null, anything else a word).
    * ``PATH=[V1, V2, ...]``: a JSON array; each element is one value, so an element may be a
      list (a yearly path: ``[[318000, 312000], [310000, 300000]]`` is two variants) or a
      mapping (a weighted objective: ``[{"maximise": {"outcome": 1}}, "minimise_cost"]``).
      Strings are quoted; NaN and infinities are refused.

    A single ``PATH=V`` sets one value.

    Raises:
        PortfolioError: the text is not of one of those forms.
    """
    path, spec = _split(text, "--set", SET_FORMS)
    if spec.startswith("["):
        return Axis(path, _json_values(spec, path))
    if any(mark in spec for mark in "[]{}"):
        raise PortfolioError(
            f"--set {path}: lists and mappings are given as one JSON array of values, "
            f"e.g. {path}=[[318000, 312000], [310000, 300000]], got '{spec}'"
        )
    if ":" in spec:
        return Axis(path, _grid(spec, path, "--set", text, minimum=1))
    return Axis(path, tuple(_literal(p.strip()) for p in spec.split(",")))


def parse_scale(text: str) -> Axis:
    """Parse a ``--scale``: factors that multiply the instance's own value at PATH.

    ``PATH=START:STOP:COUNT`` (a linear grid of factors, COUNT >= 2) or ``PATH=F1,F2,...`` (at
    least two factors). Every factor is a finite number >= 0. The value at PATH, a number or a
    yearly list of numbers (every year is multiplied), is read when the sweep is expanded.

    Raises:
        PortfolioError: the text is not of that form.
    """
    path, spec = _split(text, "--scale", SCALE_FORMS)
    factors: Sequence[int | float]
    if ":" in spec:
        factors = _grid(spec, path, "--scale", text, minimum=2)
    else:
        factors = tuple(_number(p, text, "--scale") for p in spec.split(","))
        if len(factors) < 2:
            raise PortfolioError(
                f"--scale {path}: a scale needs at least two factors, got '{spec}'"
            )
    for factor in (factors[0], factors[-1]) if isinstance(factors, Grid) else factors:
        if factor < 0:
            raise PortfolioError(f"--scale {path}: a factor must be >= 0, got {factor}")
    return Axis(path, factors, scale=True)


def _split(text: str, option: str, forms: str) -> tuple[str, str]:
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec or any(not part for part in path.split(".")):
        raise PortfolioError(f"{option} expects {forms}, got '{text}'")
    return path, spec


def _grid(spec: str, path: str, option: str, text: str, *, minimum: int) -> Grid:
    pieces = spec.split(":")
    if len(pieces) != 3:
        raise PortfolioError(f"{option} {path}: a grid is START:STOP:COUNT, got '{spec}'")
    start, stop = (_number(p, text, option) for p in pieces[:2])
    try:
        count = int(pieces[2])
    except ValueError:
        count = 0
    if count < minimum:
        raise PortfolioError(
            f"{option} {path}: COUNT must be a whole number >= {minimum}, got '{pieces[2]}'"
        )
    return Grid(start, stop, count)


def _json_values(spec: str, path: str) -> tuple[Value, ...]:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a number")

    try:
        values = json.loads(spec, parse_constant=refuse)
    except RecursionError:
        raise PortfolioError(f"--set {path}: the list is nested too deeply") from None
    except ValueError as exc:
        raise PortfolioError(
            f"--set {path}: '{spec}' is not a JSON array of values ({exc}); strings are "
            'quoted, e.g. ["minimise_cost", "maximise_outcome"]'
        ) from None
    if not isinstance(values, list):  # "[1] x" and the like are refused by json.loads
        raise PortfolioError(f"--set {path}: expected a JSON array of values, got '{spec}'")
    if not values:
        raise PortfolioError(f"--set {path}: the list of values is empty")
    for position, value in enumerate(values, start=1):
        if not _finite(value):
            raise PortfolioError(
                f"--set {path}: value {position} of {len(values)} holds a number that is not "
                "finite"
            )
    return tuple(values)


def linear_grid(start: float, stop: float, count: int) -> tuple[int | float, ...]:
    """``count`` evenly spaced values from ``start`` to ``stop`` inclusive, without float noise
    (the values of ``Grid(start, stop, count)`` as a tuple)."""
    return tuple(Grid(start, stop, count))


def set_path(data: Any, path: str, value: Value, *, option: str = "--set") -> None:
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
            node = node[_index(node, key, where, path, option)]
        elif isinstance(node, dict):
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        else:
            parent = ".".join(parts[:depth])
            raise PortfolioError(f"{option} {path}: '{parent}' is not a mapping or list")
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, path, path, option)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise PortfolioError(
            f"{option} {path}: '{'.'.join(parts[:-1])}' is not a mapping or list"
        )


def get_path(data: Any, path: str, *, option: str = "--scale") -> Any:
    """The value at the dotted ``path`` in ``data``; None when a mapping key is missing.

    Raises:
        PortfolioError: a list index is out of range, an id is unknown, or a number or string
            stands where a mapping or list is needed.
    """
    parts = path.split(".")
    node = data
    for depth, key in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_index(node, key, where, path, option)]
        elif isinstance(node, dict):
            node = node.get(key)
            if node is None:
                return None
        else:
            parent = ".".join(parts[:depth])
            raise PortfolioError(f"{option} {path}: '{parent}' is not a mapping or list")
    return node


def scale_value(base: Any, factor: int | float, path: str = "") -> Value:
    """``base`` times ``factor``: a number, or each entry of a yearly list.

    Each product is rounded to 12 significant digits (no float noise: 325000 x 0.95 is 308750)
    and is an integer when ``base`` is one and the product is whole.

    Raises:
        PortfolioError: ``base`` is neither a number nor a list of numbers.
    """
    if _is_number(base):
        return _product(base, factor)
    if _is_yearly(base):
        return [_product(item, factor) for item in base]
    what = "nothing" if base is None else f"'{_shown(base)}'"
    raise PortfolioError(
        f"--scale {path}: the instance has {what} there; a scale multiplies a number or a "
        "yearly list of numbers"
    )


def _product(base: int | float, factor: int | float) -> int | float:
    value = float(f"{base * factor:.12g}")
    if isinstance(base, int) and value.is_integer():
        return int(value)
    return value


def _shown(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_axes(data: Any, axes: Sequence[Axis], source: str = "instance") -> None:
    """Check the axes against the instance data before any variant is built.

    Each path is swept once; a scale has a number or a yearly list of numbers to multiply; every
    yearly list a ``--set`` gives (a list of numbers) has as many values as the list it replaces,
    or, where the file has a single number or nothing, as the horizon has years (and needs a
    horizon). A grid's values are never listed.

    Raises:
        PortfolioError: naming the file, the option and path, and the value at fault.
    """
    seen: set[str] = set()
    for axis in axes:
        if axis.path in seen:
            raise PortfolioError(
                f"{axis.option} {axis.path}: each PATH may be swept once (by --set or --scale)"
            )
        seen.add(axis.path)
    horizon = data.get("horizon") if isinstance(data, dict) else None
    years = horizon.get("years") if isinstance(horizon, dict) else None
    if any(axis.path.split(".")[0] == "horizon" for axis in axes):
        years = None  # the sweep changes the horizon: the schema checks each variant
    for axis in axes:
        try:
            base = get_path(data, axis.path, option=axis.option)
        except PortfolioError as exc:
            raise PortfolioError(f"{source}: {exc}") from None
        if axis.scale:
            try:
                scale_value(base, 1, axis.path)
            except PortfolioError as exc:
                raise PortfolioError(f"{source}: {exc}") from None
            continue
        if isinstance(axis.values, Grid):
            continue
        for position, value in enumerate(axis.values, start=1):
            if not _is_yearly(value):
                continue
            assert isinstance(value, list)
            where = (
                f"{source}: --set {axis.path}: value {position} of {len(axis.values)} "
                f"({_shown(value)}) has {len(value)} yearly values"
            )
            if _is_yearly(base) and len(base) != len(value):
                raise PortfolioError(f"{where}; the file's list there has {len(base)}")
            if isinstance(years, int) and not isinstance(years, bool):
                if len(value) != years:
                    raise PortfolioError(f"{where}; the horizon has {years} years")
            elif horizon is None and not _is_yearly(base):
                raise PortfolioError(
                    f"{where}, but the instance has no horizon (a list of yearly values needs "
                    "horizon: {start_year, years}; give one number per variant instead)"
                )


def _index(items: list[Any], key: str, where: str, path: str, option: str = "--set") -> int:
    if key.isdigit():
        position = int(key)
        if position >= len(items):
            raise PortfolioError(
                f"{option} {path}: '{where}' is out of range (the list has {len(items)} items)"
            )
        return position
    for position, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("id")) == key:
            return position
    raise PortfolioError(f"{option} {path}: no item with id '{key}' at '{where}'")


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
        sizes = " x ".join(f"{axis.name}: {len(axis.values):,} values" for axis in axes)
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
    """Every combination of the axes' values (the first axis varies slowest), one at a time.

    A scale's value is the instance's own value at its path (in ``data``) times the factor.

    Raises:
        PortfolioError: a path does not lead anywhere, or a scale has nothing numeric to scale.
    """
    width = max(3, len(str(count_variants(axes) - 1)))
    bases = {axis.path: get_path(data, axis.path) for axis in axes if axis.scale}
    for index, combo in enumerate(grid_points(axes)):
        variant = copy.deepcopy(data)
        values: dict[str, Value] = {}
        settings: dict[str, Value] = {}
        for axis, value in zip(axes, combo, strict=True):
            if axis.scale:
                assert isinstance(value, int | float)  # a scale's values are its factors
                written = scale_value(bases[axis.path], value, axis.path)
                settings[axis.path] = written
            else:
                written = copy.deepcopy(value)
            set_path(variant, axis.path, written, option=axis.option)
            values[axis.name] = value
        yield Variant(
            index, f"{stem}-{index:0{width}d}", values, variant, settings, _setup_costs(variant)
        )


def _setup_costs(data: dict[str, Any]) -> dict[str, float]:
    modes = data.get("modes")
    costs: dict[str, float] = {}
    for mode in modes if isinstance(modes, list) else []:
        if isinstance(mode, dict) and _is_number(mode.get("setup_cost")) and mode["setup_cost"]:
            costs[str(mode.get("id"))] = float(mode["setup_cost"])
    return costs


def display_value(path: str, value: Value) -> Value:
    """A parameter value as the curve shows it: a weighted objective by its name
    (``maximise 1*outcome + 0.2*social_value``), anything else unchanged."""
    if path == "objective" and isinstance(value, dict) and len(value) == 1:
        (sense, terms), = value.items()
        if isinstance(terms, dict) and terms and all(_is_number(w) for w in terms.values()):
            sense = {"maximize": "maximise", "minimize": "minimise"}.get(sense, sense)
            return f"{sense} " + " + ".join(f"{w:g}*{name}" for name, w in terms.items())
    return value


def _cell(value: Value) -> Value:
    """A value for one CSV cell: lists and mappings as JSON text."""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return value


def variant_items(variants: Iterable[Variant], source: str) -> Iterator[BatchItem]:
    """Batch items for the variants (JSON contents; the source names the file and values)."""
    for variant in variants:
        settings = ", ".join(
            f"{path}={_cell(display_value(path, value))}"
            for path, value in variant.values.items()
        )
        content = json.dumps(variant.data, default=str)
        yield BatchItem(variant.name, content, "json", f"{source} [{settings}]")


def curve_rows(
    variants: Iterable[Variant | SweepPoint], rows: Sequence[ItemResult]
) -> list[dict[str, Any]]:
    """One curve row per variant, in grid order.

    Money and outcome are totals over the plan: for a multi-year result (one with ``years``)
    each year's figure times its discount factor, summed, as the objective counts them.
    """
    by_name = {row.name: row for row in rows}
    table = []
    for variant in variants:
        row = by_name.get(variant.name)
        result = (row.result if row else None) or {}
        has_plan = bool(row and row.has_plan)
        seconds = (result.get("timings") or {}).get("total", row.seconds if row else None)
        totals = _plan_totals(result, variant.setup_costs) if has_plan else {}
        shown = {
            name: display_value(name.removeprefix(SET_PREFIX), value)
            for name, value in variant.values.items()
        }
        table.append(
            {
                "variant": variant.name,
                **shown,
                "status": row.status.value if row else "",
                "objective": result.get("objective"),
                "bound": result.get("bound"),
                "gap": result.get("gap"),
                "changes": len(result.get("changes") or []) if has_plan else None,
                "annual_cost": totals.get("annual_cost"),
                "transition_cost": totals.get("transition_cost"),
                "one_off_cost": totals.get("one_off_cost"),
                "outcome": totals.get("outcome"),
                "seconds": seconds,
                "error": " ".join((row.error or "").split()) if row and row.error else None,
            }
        )
    return table


def _plan_totals(result: dict[str, Any], setup_costs: dict[str, float]) -> dict[str, float]:
    """annual_cost, transition_cost, one_off_cost and outcome of a plan's result."""
    years = result.get("years")
    if isinstance(years, list) and years:
        def discounted(*keys: str) -> float:
            return round(math.fsum(
                float(year.get("discount_factor", 1.0)) * float(year.get(key) or 0.0)
                for year in years for key in keys
            ), 6)

        return {
            "annual_cost": discounted("annual_cost"),
            "transition_cost": discounted("transition_cost"),
            "one_off_cost": discounted("transition_cost", "setup_cost", "termination_cost"),
            "outcome": discounted("weighted_outcome"),
        }
    services = result.get("services") or []
    transition = _total([s for s in services if s.get("changes")], "transition_cost")
    setup = math.fsum(setup_costs.get(str(mode), 0.0) for mode in result.get("modes_used") or [])
    return {
        "annual_cost": _total(services, "annual_cost"),
        "transition_cost": transition,
        "one_off_cost": round(transition + setup, 6),
        "outcome": _total(services, "weighted_outcome"),
    }


def _total(services: list[dict[str, Any]], key: str) -> float:
    return round(math.fsum(float(s.get(key) or 0.0) for s in services), 6)


def write_curve_csv(
    path: str | os.PathLike[str], axes: Sequence[Axis], table: list[dict[str, Any]]
) -> None:
    """Write the curve as CSV, atomically."""
    from portfolio.output import write_atomic

    fields = ["variant", *(axis.name for axis in axes), *CURVE_FIXED_FIELDS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for line in table:
        writer.writerow({k: "" if v is None else _cell(v) for k, v in line.items()})
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
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for line in table:
        groups.setdefault(tuple(str(_cell(line[a.name])) for a in others), []).append(line)
    # Numbers are drawn to scale; other values (yearly paths, objectives) one per tick in order.
    numeric = all(_is_number(line[first.name]) for line in table)
    ticks: dict[str, int] = {}
    for line in table:
        ticks.setdefault(str(_cell(line[first.name])), len(ticks))

    def x_of(line: dict[str, Any]) -> Any:
        return line[first.name] if numeric else ticks[str(_cell(line[first.name]))]

    figure = Figure(figsize=(8.0, 5.0), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    failed_label = "no plan"
    for key, lines in groups.items():
        planned = [ln for ln in lines if ln["objective"] is not None]
        label = ", ".join(f"{a.name}={v}" for a, v in zip(others, key, strict=True)) or None
        if planned:
            xs = [x_of(ln) for ln in planned]
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
                    [x_of(line)], [0.02], marker="x", color="red", linestyle="none",
                    transform=ax.get_xaxis_transform(), label=failed_label,
                )
                failed_label = "_nolegend_"
    if not numeric:
        ax.set_xticks(
            list(ticks.values()), [_shown(text, 28) for text in ticks], rotation=20,
            ha="right", fontsize=7,
        )
    ax.set_xlabel(first.name)
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
    discounted = ", discounted total" if isinstance(data.get("horizon"), dict) else ""
    if objective == "maximise_outcome":
        return f"weighted outcome (maximised{discounted})"
    if objective == "minimise_cost":
        one_off = "transition + setup + termination" if discounted else "transition + setup"
        return f"cost: annual + {one_off} (minimised{discounted})"
    return f"objective{discounted}"


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
        PortfolioError: a path does not lead anywhere, a scale has no number to multiply, a
            yearly list has the wrong length (see :func:`check_axes`).
    """
    from portfolio.io import instance_from_data, read_data

    if not axes:
        raise PortfolioError("a sweep needs at least one --set or --scale")
    check_variant_count(axes, max_variants)
    source = str(file)
    data = read_data(file)
    if not isinstance(data, dict):
        instance_from_data(data, source=source)  # raises the usual message
    check_axes(data, axes, source)
    stem = Path(file).name.split(".")[0] or "variant"
    points: list[SweepPoint] = []

    def generate() -> Iterator[Variant]:
        for variant in expand(data, axes, stem):
            if variant.index == 0:
                # Check one variant: a wrong path or field fails once, not once per variant.
                instance_from_data(variant.data, source=f"{source} [{variant.name}]")
            points.append(variant.point())
            yield variant

    # Each variant is kept only as its JSON text: the data trees are built one at a time.
    items = list(variant_items(generate(), source))
    values = {point.name: point.parameters for point in points}
    report = run_batch(
        items, out_dir, extra=lambda row: {"parameters": values.get(row.name, {})}, **batch_options
    )
    if report.interrupted:
        return SweepReport(report, None, None, points)
    out = Path(out_dir)
    table = curve_rows(points, report.rows)
    curve = out / "curve.csv"
    write_curve_csv(curve, axes, table)
    title = f"{data.get('name') or stem}: sweep of {', '.join(a.name for a in axes)}"
    chart = out / "curve.png"
    drawn = plot_curve(chart, axes, table, title=title, ylabel=objective_label(data))
    return SweepReport(report, curve, chart if drawn else None, points)


def _number(text: str, whole: str, option: str = "--set") -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise PortfolioError(f"{option} {whole}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise PortfolioError(f"{option} {whole}: '{text}' is not a finite number")
    return value


def _finite(value: Any) -> bool:
    """False when a number anywhere in a JSON value is not finite (``1e400`` reads as inf)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_yearly(value: Any) -> bool:
    """A list of numbers: one value per year."""
    return isinstance(value, list) and bool(value) and all(_is_number(v) for v in value)


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
