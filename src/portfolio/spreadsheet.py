"""Spreadsheets: instances read from and written to ``.xlsx`` workbooks; results as workbooks.

An instance workbook has the sheets ``README`` (what every column means; ignored when read),
``instance`` (name, currency, objective, horizon), ``modes``, ``services``, ``options``,
``constraints``, ``limits`` and ``scenarios``. Each data sheet is a table headed in row 1. A yearly
field (multi-year planning) holds one value for every year in its own column, or one value per
horizon year in columns headed ``field@YEAR`` (``annual_cost@2027``; on the ``constraints`` sheet
simply ``2027``). A workbook is read into plain data and validated by
:meth:`portfolio.domain.Instance.from_data`, like a YAML or JSON file; every issue is then named by
its sheet, cell and column header (``options!D14 (annual_cost): ...``), all at once.

openpyxl is imported only inside this module's functions, so ``import portfolio`` works without it;
a missing openpyxl is reported with the extra that installs it (``portfolio[xlsx]``).
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from portfolio.domain import (
    SECTORS,
    Constraints,
    Horizon,
    Instance,
    Limit,
    Mode,
    Option,
    Service,
    WeightedObjective,
    current_option_index,
    did_you_mean,
    is_per_year,
)
from portfolio.errors import InputIssue, InstanceFileError, PortfolioError, ValidationError

#: The sheets of an instance workbook, in order (``README`` is written, and ignored when read).
INSTANCE_SHEETS: tuple[str, ...] = (
    "README",
    "instance",
    "modes",
    "services",
    "options",
    "constraints",
    "limits",
    "scenarios",
)
#: The pip extra that installs openpyxl.
XLSX_EXTRA = "xlsx"

#: Constraint names of the ``constraints`` sheet (sector shares take the ``sector`` column).
CONSTRAINT_NAMES: tuple[str, ...] = (
    "budget",
    "transition_budget",
    "min_flexibility",
    "min_outcome",
    "max_changes",
    "max_modes_used",
    "sector_share_min",
    "sector_share_max",
    "same_mode",
)
OBJECTIVE_CHOICES: tuple[str, ...] = ("maximise_outcome", "minimise_cost", "maximise", "minimise")

_DATA_ROWS = 1000  # rows below the header covered by data validation lists
_MONEY = "#,##0.00"
_SCORE = "0.00"
_COUNT = "0"
_SHARE = "0.0%"
_HEADER_FILL = "DDEBF7"


def _openpyxl() -> Any:
    """The openpyxl module, or an error naming the extra that installs it."""
    try:
        import openpyxl
    except ImportError:
        raise PortfolioError(
            "reading and writing .xlsx workbooks needs openpyxl: "
            f"pip install 'portfolio[{XLSX_EXTRA}]'"
        ) from None
    return openpyxl


# ---------------------------------------------------------------------- column layout
@dataclass(frozen=True)
class _Col:
    """One column of a data sheet: its header, the kind of value, and what it means."""

    name: str
    kind: str  # text, number, int, bool or raw (read as is, typed later)
    help: str
    yearly: bool = False
    required: bool = False  # the header must be present
    width: int = 14


def _doc(model: type[Any], name: str) -> str:
    """The field's docstring from the domain model (one line)."""
    text = model.model_fields[name].description or ""
    return " ".join(text.split())


MODE_COLUMNS: tuple[_Col, ...] = (
    _Col("id", "text", _doc(Mode, "id"), required=True, width=16),
    _Col("sector", "text", _doc(Mode, "sector"), required=True, width=12),
    _Col("name", "text", _doc(Mode, "name"), width=36),
    _Col("setup_cost", "number", _doc(Mode, "setup_cost")),
    _Col("max_services", "int", _doc(Mode, "max_services"), yearly=True),
    _Col("max_spend", "number", _doc(Mode, "max_spend"), yearly=True),
    _Col("min_services", "int", _doc(Mode, "min_services")),
    _Col("ceases_service", "bool", _doc(Mode, "ceases_service")),
)
SERVICE_COLUMNS: tuple[_Col, ...] = (
    _Col("id", "text", _doc(Service, "id"), required=True, width=24),
    _Col("name", "text", _doc(Service, "name"), width=40),
    _Col("group", "text", _doc(Service, "group"), width=28),
    _Col("current_mode", "text", _doc(Service, "current_mode"), required=True),
    _Col("weight", "number", _doc(Service, "weight"), width=9),
    _Col("statutory", "bool", _doc(Service, "statutory"), width=10),
    _Col("current_contract_end", "int", _doc(Service, "current_contract_end")),
    _Col("termination_cost", "number", _doc(Service, "termination_cost")),
    _Col(
        "fixed_mode",
        "text",
        "Red line: the mode this service must use (constraints.fixed); empty when free.",
    ),
)
OPTION_COLUMNS: tuple[_Col, ...] = (
    _Col(
        "service",
        "text",
        "Id of the service (sheet services) this option belongs to; a service's options are "
        "listed in row order.",
        required=True,
        width=24,
    ),
    _Col("mode", "text", _doc(Option, "mode"), required=True),
    _Col("label", "text", _doc(Option, "label"), width=30),
    _Col("annual_cost", "number", _doc(Option, "annual_cost"), yearly=True, required=True),
    _Col("transition_cost", "number", _doc(Option, "transition_cost")),
    _Col("outcome", "number", _doc(Option, "outcome"), required=True, width=9),
    _Col("flexibility", "number", _doc(Option, "flexibility"), width=11),
    _Col("contract_years", "int", _doc(Option, "contract_years")),
    _Col("lead_time_years", "int", _doc(Option, "lead_time_years")),
    _Col("indexation", "number", _doc(Option, "indexation"), width=11),
    _Col("social_value", "number", _doc(Option, "social_value")),
    _Col("risk", "number", _doc(Option, "risk"), width=9),
    _Col("staff_transferred", "number", _doc(Option, "staff_transferred")),
    _Col("current", "bool", _doc(Option, "current"), width=9),
)
CONSTRAINT_COLUMNS: tuple[_Col, ...] = (
    _Col(
        "constraint",
        "text",
        "One of: " + ", ".join(CONSTRAINT_NAMES) + ". One row per limit.",
        required=True,
        width=20,
    ),
    _Col("sector", "text", "For sector_share_min and sector_share_max: the sector.", width=12),
    _Col(
        "value",
        "raw",
        "The limit for every year; or leave it empty and give one value per horizon year in the "
        "year columns (2027, 2028, ...). For same_mode: the service ids that must share one mode, "
        "separated by commas.",
        yearly=True,
        width=44,
    ),
)
LIMIT_COLUMNS: tuple[_Col, ...] = (
    _Col("metric", "text", _doc(Limit, "metric"), required=True, width=18),
    _Col("mode", "text", _doc(Limit, "mode")),
    _Col("sector", "text", _doc(Limit, "sector"), width=12),
    _Col("max", "number", _doc(Limit, "max"), yearly=True),
    _Col("min", "number", _doc(Limit, "min"), yearly=True),
)
#: What a row of the ``scenarios`` sheet may override (``<sector>`` and ``<i>`` filled in).
SCENARIO_WHAT: tuple[str, ...] = (
    "budget",
    "transition_budget",
    "max_changes",
    "min_outcome",
    "min_flexibility",
    "sector_share.<sector>.min",
    "sector_share.<sector>.max",
    "limits[<i>].min",
    "limits[<i>].max",
    "cost_factor",
    "cost_factor.<sector>",
)
SCENARIO_COLUMNS: tuple[_Col, ...] = (
    _Col(
        "scenario",
        "text",
        "The scenario's name (unique; a short name without spaces). A scenario takes one row per "
        "figure it changes, each row naming it; a scenario that changes nothing (the base data) "
        "is one row with 'what' empty.",
        required=True,
        width=20,
    ),
    _Col(
        "probability",
        "number",
        "The scenario's probability, on its first row (or on every row, the same); the "
        "scenarios' probabilities sum to 1.",
        width=12,
    ),
    _Col(
        "what",
        "text",
        "What the row changes: "
        + ", ".join(SCENARIO_WHAT)
        + ". A limit replaces the instance's (limits[<i>]: the row of the limits sheet at "
        "position i, counting from 0); cost_factor multiplies the annual cost of every option "
        "(cost_factor.<sector>: the options of that sector's modes) in each year; transition, "
        "setup and termination costs are not factored. Empty: the scenario changes nothing.",
        width=26,
    ),
    _Col(
        "value",
        "raw",
        "The new figure for every year; or leave it empty and give one value per horizon year in "
        "the year columns (2027, 2028, ...).",
        yearly=True,
        width=14,
    ),
)
INSTANCE_COLUMNS: tuple[_Col, ...] = (
    _Col("setting", "text", "The setting's name.", required=True, width=24),
    _Col("value", "raw", "Its value.", required=True, width=40),
    _Col("meaning", "text", "What the setting means (not read).", width=90),
)
#: Settings of the ``instance`` sheet: name -> (kind, meaning). ``objective.<figure>`` rows give
#: the weights of a weighted objective.
INSTANCE_SETTINGS: dict[str, tuple[str, str]] = {
    "name": ("text", _doc(Instance, "name")),
    "description": ("text", _doc(Instance, "description")),
    "currency": ("text", _doc(Instance, "currency")),
    "objective": (
        "text",
        "maximise_outcome (default), minimise_cost, or maximise / minimise for a weighted sum of "
        "figures, whose weights are given in rows objective.<figure> (e.g. objective.outcome = 1, "
        "objective.social_value = 0.2).",
    ),
    "horizon.start_year": ("int", _doc(Horizon, "start_year") + " Empty: single-period plan."),
    "horizon.years": ("int", _doc(Horizon, "years")),
    "horizon.discount_rate": ("number", _doc(Horizon, "discount_rate")),
    "risk": (
        "text",
        "With funding scenarios (sheet scenarios): how their objectives combine. expected "
        "(default: weighted by probability), worst_case (the worst scenario), or cvar 0.2 (the "
        "mean of the worst 20% of probability).",
    ),
}

_SHEET_COLUMNS: dict[str, tuple[_Col, ...]] = {
    "instance": INSTANCE_COLUMNS,
    "modes": MODE_COLUMNS,
    "services": SERVICE_COLUMNS,
    "options": OPTION_COLUMNS,
    "constraints": CONSTRAINT_COLUMNS,
    "limits": LIMIT_COLUMNS,
    "scenarios": SCENARIO_COLUMNS,
}
_SHEET_ABOUT: dict[str, str] = {
    "instance": "One row per setting: the name, the money unit, the objective and, for "
    "multi-year planning, the horizon.",
    "modes": "One row per delivery vehicle.",
    "services": "One row per service line of the council.",
    "options": "One row per way of running a service: several rows per service. Further named "
    "figures go in columns headed metrics.<name> (e.g. metrics.carbon_t); an empty cell is 0.",
    "constraints": "One row per limit; every row optional. With a horizon, a limit may instead "
    "take one value per year in the year columns.",
    "limits": "Generic limits over any option figure (a field or a metrics.<name> column), "
    "optionally only over one mode or one sector.",
    "scenarios": "Funding scenarios (multi-year planning only): one row per figure a scenario "
    "changes (scenario, probability on its first row, what, and the value or one value per "
    "year). The plan holds in every scenario and decides each year only what is known by then; "
    "the risk setting of the instance sheet says how the scenarios' objectives combine. Leave "
    "the sheet with its header row only to plan for one known future.",
}


# ---------------------------------------------------------------------- reading
@dataclass
class _Row:
    """One data row of a sheet: its cells' coordinates and normalised values."""

    sheet: str
    row: int
    coords: dict[str, tuple[str, int]]  # header -> (coordinate, column index)
    values: dict[str, Any] = field(default_factory=dict)  # field -> normalised non-empty value
    years: dict[str, list[tuple[int, str, int, Any]]] = field(default_factory=dict)

    def cell(self, header: str) -> tuple[str, int] | None:
        """(coordinate, column) of the column headed ``header`` in this row, if present."""
        return self.coords.get(header)


_NUMBER_KINDS = ("number", "int")
_MISSING = object()


class _Reader:
    """Reads one workbook into plain instance data, recording every issue with its cell."""

    def __init__(self, book: Any, raw: bytes, source: str) -> None:
        self.book = book
        self.raw = raw
        self.source = source
        self.values_book: Any = None
        self.issues: list[tuple[tuple[int, int, int], InputIssue]] = []
        self.flagged: set[tuple[str, str]] = set()
        self.missing_sheets: set[str] = set()
        self.missing_columns: set[tuple[str, str]] = set()
        self.tables: dict[str, list[_Row]] = {}
        self.headers: dict[str, dict[str, tuple[str, int]]] = {}

    # ------------------------------------------------------------------ issues
    def add(
        self, sheet: str, coord: str | None, header: str, message: str, row: int = 0, col: int = 0
    ) -> None:
        where = f"{sheet}!{coord}" if coord else sheet
        item = f"{where} ({header})" if header else where
        order = INSTANCE_SHEETS.index(sheet) if sheet in INSTANCE_SHEETS else len(INSTANCE_SHEETS)
        self.issues.append(((order, row, col), InputIssue(self.source, item, "", message)))
        if coord:
            self.flagged.add((sheet, coord))

    def add_at(self, row: _Row, header: str, message: str) -> None:
        where = row.cell(header)
        if where is None:
            self.add(row.sheet, None, header, message, row.row)
        else:
            self.add(row.sheet, where[0], header, message, row.row, where[1])

    # ------------------------------------------------------------------ cells
    def cell_value(self, sheet: str, cell: Any) -> tuple[bool, Any]:
        """(ok, value) of a cell: formulas give their saved result; Excel errors are issues."""
        if cell is None:
            return True, None
        value = cell.value
        kind = getattr(cell, "data_type", None)
        if kind == "f":
            if self.values_book is None:
                openpyxl = _openpyxl()
                self.values_book = openpyxl.load_workbook(io.BytesIO(self.raw), data_only=True)
            value = self.values_book[sheet][cell.coordinate].value
            if value is None:
                self.add(
                    sheet,
                    cell.coordinate,
                    self._header_of(sheet, cell),
                    "a formula with no saved result: open and save the workbook in a spreadsheet "
                    "program, or type the value",
                    cell.row,
                    cell.column,
                )
                return False, None
        if kind == "e":
            self.add(
                sheet,
                cell.coordinate,
                self._header_of(sheet, cell),
                f"the cell holds the spreadsheet error {value}",
                cell.row,
                cell.column,
            )
            return False, None
        return True, value

    def _header_of(self, sheet: str, cell: Any) -> str:
        for header, (_, column) in self.headers.get(sheet, {}).items():
            if column == cell.column:
                return header
        return ""

    def normalise(self, row: _Row, header: str, value: Any, kind: str) -> Any:
        """The value typed for its column, or _MISSING after recording an issue."""
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        if value is None or kind == "raw":
            return value
        if isinstance(value, datetime | date | time | timedelta):
            self.add_at(row, header, f"expected {_KIND_WORDS[kind]}, got a date or time")
            return _MISSING
        if kind == "text":
            if isinstance(value, bool):
                self.add_at(row, header, f"expected text, got {str(value).upper()}")
                return _MISSING
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)
        if kind in _NUMBER_KINDS:
            if isinstance(value, bool):
                self.add_at(
                    row, header, f"expected {_KIND_WORDS[kind]}, got {str(value).upper()}"
                )
                return _MISSING
            if isinstance(value, str):
                self.add_at(row, header, f"expected {_KIND_WORDS[kind]}, got text {value!r}")
                return _MISSING
            if kind == "int" and isinstance(value, float) and value.is_integer():
                return int(value)
            return value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in _BOOL_WORDS:
                return _BOOL_WORDS[value.lower()]
            self.add_at(row, header, f"expected TRUE or FALSE, got {value!r}")
            return _MISSING
        raise AssertionError(kind)  # pragma: no cover - the column tables name only these kinds

    # ------------------------------------------------------------------ tables
    def table(
        self,
        sheet: str,
        columns: Sequence[_Col],
        *,
        metrics: bool = False,
        plain_years: str | None = None,
    ) -> list[_Row]:
        """Read a headed table: every non-empty row, typed by column; issues recorded."""
        if sheet not in self.book.sheetnames:
            self.missing_sheets.add(sheet)
            present = ", ".join(s for s in self.book.sheetnames) or "none"
            self.add(
                sheet,
                None,
                "",
                f"missing sheet '{sheet}' (sheets found: {present}); every sheet of the template "
                "must be present, with only its header row when it has no data",
            )
            return []
        ws = self.book[sheet]
        self._merged(sheet, ws)
        rows = list(ws.iter_rows())
        spec = {col.name: col for col in columns}
        layout: list[tuple[int, str, str, int | None]] = []  # (index, header, field, year)
        headers: dict[str, tuple[str, int]] = {}
        self.headers[sheet] = headers
        if rows:
            for index, cell in enumerate(rows[0]):
                ok, value = self.cell_value(sheet, cell)
                if not ok or value is None or (isinstance(value, str) and not value.strip()):
                    continue
                text = str(value).strip()
                parsed = _parse_header(text, spec, metrics=metrics, plain_years=plain_years)
                if parsed is None:
                    hint = " (figures of your own go in columns headed metrics.<name>)"
                    self.add(
                        sheet,
                        cell.coordinate,
                        text,
                        "unknown column: expected one of "
                        + ", ".join(spec)
                        + (hint if metrics else ""),
                        cell.row,
                        cell.column,
                    )
                    continue
                name, year = parsed
                header = name if year is None else _year_header(name, year, plain_years)
                if header in headers:
                    self.add(
                        sheet, cell.coordinate, text, "duplicate column", cell.row, cell.column
                    )
                    continue
                headers[header] = (cell.coordinate, cell.column)
                layout.append((index, header, name, year))
        for col in columns:
            if col.required and col.name not in headers:
                self.missing_columns.add((sheet, col.name))
                self.add(sheet, None, col.name, f"missing column: add a column headed '{col.name}'")
        data_rows = rows[1:]
        filled = [i for i, cells in enumerate(data_rows) if not _empty(cells)]
        last = filled[-1] if filled else -1
        out: list[_Row] = []
        for i, cells in enumerate(data_rows):
            if i > last:
                break
            number = i + 2
            if _empty(cells):
                self.add(
                    sheet,
                    f"A{number}",
                    "empty row",
                    "an empty row in the middle of the table: delete it (a table ends at its last "
                    "filled row)",
                    number,
                )
                continue
            coords = {
                header: (f"{_letter(index)}{number}", index + 1) for index, header, _, _ in layout
            }
            row = _Row(sheet, number, coords)
            for index, header, name, year in layout:
                cell = cells[index] if index < len(cells) else None
                ok, value = self.cell_value(sheet, cell)
                if not ok:
                    if year is not None:
                        row.years.setdefault(name, []).append((year, *coords[header], _MISSING))
                    continue
                kind = spec[name].kind if name in spec else "number"
                typed = self.normalise(row, header, value, kind)
                if year is not None:
                    if typed is not None:
                        row.years.setdefault(name, []).append((year, *coords[header], typed))
                    continue
                if typed is not None and typed is not _MISSING:
                    row.values[name] = typed
            out.append(row)
        self.tables[sheet] = out
        return out

    def _merged(self, sheet: str, ws: Any) -> None:
        for merged in sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
            top = ws.cell(row=1, column=merged.min_col).value
            header = str(top).strip() if top is not None and merged.min_row > 1 else ""
            self.add(
                sheet,
                merged.coord,
                header,
                "merged cells: unmerge them and give each cell its own value",
                merged.min_row,
                merged.min_col,
            )
            for row in range(merged.min_row, merged.max_row + 1):
                for column in range(merged.min_col, merged.max_col + 1):
                    self.flagged.add((sheet, f"{_letter(column - 1)}{row}"))

    def check_mode(self, row: _Row, header: str, known: set[str] | None) -> None:
        """Report a mode id that is not on the modes sheet (when that sheet was read)."""
        value = row.values.get(header)
        if known is not None and isinstance(value, str) and value not in known:
            self.add_at(
                row,
                header,
                f"unknown mode '{value}' (not on sheet modes){did_you_mean(value, known)}",
            )

    def yearly(self, row: _Row, name: str, kind: str, years: list[int] | None) -> Any:
        """A yearly field: the one value, the list of the year columns' values, or None."""
        single = row.values.get(name)
        per_year = sorted(row.years.get(name, []))
        if not per_year:
            return single
        present = [entry for entry in per_year if entry[3] is not _MISSING]
        if single is not None:
            first = per_year[0]
            self.add_at(
                row,
                name,
                f"give one value for every year here, or one value per year in the year columns "
                f"({_year_header(name, first[0], None)}...), not both",
            )
            return single
        if len(present) < len(per_year):
            return _MISSING  # the bad cells are already reported
        all_years = sorted({y for y, *_ in self._year_columns(row.sheet, name)})
        given = {y for y, *_ in per_year}
        for year in all_years:
            if year not in given:
                header = self._year_header_in(row.sheet, name, year)
                self.add_at(
                    row,
                    header,
                    f"empty: give a value for every year in the year columns, or one value in "
                    f"'{name}'",
                )
        if given != set(all_years):
            return _MISSING
        if years is not None and all_years != years:
            header = self._year_header_in(row.sheet, name, all_years[0])
            self.add_at(
                row,
                header,
                f"the year columns ({_span(all_years)}) do not match the horizon "
                f"({_span(years)}) set on the instance sheet",
            )
            return _MISSING
        values = [value for _, _, _, value in per_year]
        if kind == "int":
            values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
        return values

    def _year_columns(self, sheet: str, name: str) -> list[tuple[int, str]]:
        out = []
        for header in self.headers.get(sheet, {}):
            if header.startswith(f"{name}@"):
                out.append((int(header.split("@", 1)[1]), header))
            elif name == "value" and header.isdigit():
                out.append((int(header), header))
        return out

    def _year_header_in(self, sheet: str, name: str, year: int) -> str:
        for y, header in self._year_columns(sheet, name):
            if y == year:
                return header
        return name


_KIND_WORDS = {"number": "a number", "int": "a whole number", "text": "text", "bool": "TRUE/FALSE"}
_BOOL_WORDS = {"true": True, "yes": True, "y": True, "false": False, "no": False, "n": False}
_YEAR_RE = re.compile(r"^(\d{4})$")


def _parse_header(
    text: str, spec: Mapping[str, _Col], *, metrics: bool, plain_years: str | None
) -> tuple[str, int | None] | None:
    lowered = text.lower()
    if lowered in spec:
        return lowered, None
    if plain_years is not None and _YEAR_RE.match(text):
        return plain_years, int(text)
    if "@" in text:
        base, _, year = lowered.partition("@")
        if base in spec and spec[base].yearly and _YEAR_RE.match(year):
            return base, int(year)
    if metrics and text.startswith("metrics.") and len(text) > len("metrics."):
        return text, None
    return None


def _year_header(name: str, year: int, plain_years: str | None) -> str:
    return str(year) if name == plain_years else f"{name}@{year}"


def _span(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])


def _empty(cells: Sequence[Any]) -> bool:
    for cell in cells:
        value = cell.value
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return False
    return True


def _letter(index: int) -> str:
    """Column letter of a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_workbook(
    source: str | os.PathLike[str] | BinaryIO, *, name: str | None = None
) -> Instance:
    """Read an instance workbook (``.xlsx``) into the canonical instance.

    The workbook is turned into the same plain data a YAML or JSON file gives and validated by
    :meth:`Instance.from_data`; every issue (of the workbook or of the instance) is named by its
    sheet, cell and column header, e.g. ``options!D14 (annual_cost): ...``, and all are reported
    at once.

    Args:
        source: a path, or a binary file object holding the workbook.
        name: the name used in messages (default: the path, or the file object's name).

    Raises:
        InstanceFileError: the file cannot be read or is not a workbook.
        ValidationError: the workbook's contents are invalid.
        PortfolioError: openpyxl is not installed.
    """
    openpyxl = _openpyxl()
    if isinstance(source, str | os.PathLike):
        label = name or str(source)
        try:
            raw = Path(source).read_bytes()
        except FileNotFoundError:
            raise InstanceFileError(label, "file not found") from None
        except IsADirectoryError:
            raise InstanceFileError(label, "is a directory, not an instance file") from None
        except OSError as exc:
            raise InstanceFileError(label, exc.strerror or str(exc)) from None
    else:
        label = name or str(getattr(source, "name", "<workbook>"))
        raw = source.read()
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), data_only=False)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise InstanceFileError(label, f"not a readable .xlsx workbook ({_cause(exc)})") from None
    reader = _Reader(book, raw, label)
    data, locator = _workbook_data(reader)
    issues: list[tuple[tuple[int, int, int], InputIssue]] = list(reader.issues)
    try:
        instance = Instance.from_data(data, source=label)
    except ValidationError as exc:
        for issue in exc.issues:
            placed = locator.place(issue)
            if placed is not None:
                issues.append(placed)
        instance = None
    if issues:
        issues.sort(key=lambda pair: pair[0])
        raise ValidationError([issue for _, issue in issues])
    assert instance is not None
    return instance


def _cause(exc: BaseException) -> str:
    """The first cause of a failure to load a workbook, in words (openpyxl wraps its causes)."""
    root = exc
    while root.__cause__ is not None or root.__context__ is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    if type(root).__module__.startswith("defusedxml"):
        return (
            f"{type(root).__name__}: its XML declares entities or a DTD, which a workbook never "
            "needs (refused: such files can exhaust memory)"
        )
    return f"{type(root).__name__}: {root}"


# ---------------------------------------------------------------------- workbook -> data
def _workbook_data(reader: _Reader) -> tuple[dict[str, Any], _Locator]:
    """Plain instance data from the sheets, and where each item came from."""
    locator = _Locator(reader)
    data: dict[str, Any] = {}
    settings = reader.table("instance", INSTANCE_COLUMNS)
    weights: dict[str, float] = {}
    weight_rows: list[_Row] = []
    horizon: dict[str, Any] = {}
    seen: set[str] = set()
    for row in settings:
        key = row.values.get("setting")
        if key is None:
            if "value" in row.values:
                reader.add_at(row, "setting", "a value without a setting name")
            continue
        if key in seen:
            reader.add_at(row, "setting", f"'{key}' is set twice")
            continue
        seen.add(key)
        locator.settings[key] = row
        if key.startswith("objective.") and len(key) > len("objective."):
            value = reader.normalise(row, "value", row.values.get("value"), "number")
            if value is not None and value is not _MISSING:
                weights[key[len("objective.") :]] = value
            weight_rows.append(row)
            continue
        if key not in INSTANCE_SETTINGS:
            reader.add_at(
                row,
                "setting",
                f"unknown setting '{key}': expected one of {', '.join(INSTANCE_SETTINGS)}, or "
                "objective.<figure> for the weights of a weighted objective",
            )
            continue
        kind = INSTANCE_SETTINGS[key][0]
        value = reader.normalise(row, "value", row.values.get("value"), kind)
        if value is None or value is _MISSING:
            continue
        if key.startswith("horizon."):
            horizon[key[len("horizon.") :]] = value
        elif key == "risk":
            data[key] = _risk_value(value)
        else:
            data[key] = value
    objective = data.get("objective")
    if isinstance(objective, str) and objective.lower() in ("maximise", "maximize", "minimise",
                                                            "minimize"):
        sense = "maximise" if objective.lower().startswith("max") else "minimise"
        data["objective"] = {sense: weights}
    elif weight_rows:
        for row in weight_rows:
            reader.add_at(
                row,
                "setting",
                "objective weights need the objective 'maximise' or 'minimise'",
            )
    if horizon:
        data["horizon"] = horizon
    years: list[int] | None = None
    start, count = horizon.get("start_year"), horizon.get("years")
    if isinstance(start, int) and isinstance(count, int) and 0 < count <= 50:
        years = list(range(start, start + count))

    modes = []
    for row in _unique(reader, reader.table("modes", MODE_COLUMNS), "mode"):
        item = {k: v for k, v in row.values.items() if k not in ("max_services", "max_spend")}
        for name, kind in (("max_services", "int"), ("max_spend", "number")):
            value = reader.yearly(row, name, kind, years)
            if value is not None and value is not _MISSING:
                item[name] = value
        locator.modes.append(row)
        modes.append(item)
    data["modes"] = modes
    known = None if "modes" in reader.missing_sheets else {m.get("id") for m in modes}
    known_modes = {m for m in known or () if isinstance(m, str)} if known is not None else None

    services: list[dict[str, Any]] = []
    fixed: dict[str, Any] = {}
    service_index: dict[str, int] = {}
    for row in _unique(reader, reader.table("services", SERVICE_COLUMNS), "service"):
        reader.check_mode(row, "current_mode", known_modes)
        reader.check_mode(row, "fixed_mode", known_modes)
        item = dict(row.values)
        mode = item.pop("fixed_mode", None)
        if mode is not None:
            if "id" in item:
                fixed[item["id"]] = mode
            else:
                reader.add_at(row, "fixed_mode", "a red line for a row with no service id")
        if "id" in item:
            service_index.setdefault(item["id"], len(services))
        item["options"] = []
        locator.services.append(row)
        services.append(item)
    options_rows = reader.table("options", OPTION_COLUMNS, metrics=True)
    for row in options_rows:
        reader.check_mode(row, "mode", known_modes)
        item = {k: v for k, v in row.values.items() if not k.startswith("metrics.")}
        service_id = item.pop("service", None)
        cost = reader.yearly(row, "annual_cost", "number", years)
        if cost is not None and cost is not _MISSING:
            item["annual_cost"] = cost
        elif cost is _MISSING:
            item["annual_cost"] = 0.0  # reported already; keeps the option's other checks
        metrics = {
            k[len("metrics.") :]: v for k, v in row.values.items() if k.startswith("metrics.")
        }
        if metrics:
            item["metrics"] = metrics
        if service_id is None:
            if "service" not in row.values:
                reader.add_at(row, "service", "required: the id of the service this option is for")
            continue
        index = service_index.get(service_id)
        if index is None:
            if "services" not in reader.missing_sheets:
                message = (
                    f"unknown service '{service_id}' (not on sheet services)"
                    f"{did_you_mean(service_id, service_index)}"
                )
                reader.add_at(row, "service", message)
            continue
        locator.options[(index, len(services[index]["options"]))] = row
        services[index]["options"].append(item)
    if "options" in reader.missing_sheets:
        for item in services:
            del item["options"]
    data["services"] = services

    constraints: dict[str, Any] = {}
    for row in reader.table("constraints", CONSTRAINT_COLUMNS, plain_years="value"):
        _constraint_row(reader, locator, row, constraints, years)
    if fixed:
        constraints["fixed"] = fixed
    limits = []
    for row in reader.table("limits", LIMIT_COLUMNS):
        reader.check_mode(row, "mode", known_modes)
        item = {k: v for k, v in row.values.items() if k not in ("max", "min")}
        for name in ("max", "min"):
            value = reader.yearly(row, name, "number", years)
            if value is not None and value is not _MISSING:
                item[name] = value
            elif value is _MISSING:
                item[name] = 0.0
        locator.limits.append(row)
        limits.append(item)
    if limits:
        constraints["limits"] = limits
    if constraints:
        data["constraints"] = constraints

    scenarios = _scenarios(
        reader, locator, reader.table("scenarios", SCENARIO_COLUMNS, plain_years="value"), years
    )
    if scenarios:
        data["scenarios"] = scenarios
    return data, locator


_CVAR_RE = re.compile(r"^\{?\s*cvar\s*[:=]?\s*([^\s}]*)\s*\}?$", re.IGNORECASE)


def _risk_value(text: str) -> Any:
    """The ``risk`` setting as the instance format gives it: ``cvar 0.2`` -> ``{"cvar": 0.2}``;
    any other text as it is (the instance's validation names what is wrong with it)."""
    match = _CVAR_RE.match(text.strip())
    if match is None:
        return text
    number = match.group(1)
    try:
        return {"cvar": float(number)}
    except ValueError:
        return {"cvar": number}  # reported by the instance's validation as not a number


def _risk_text(risk: Any) -> str | None:
    """The ``risk`` setting's cell: ``expected``, ``worst_case`` or ``cvar 0.2``."""
    if risk is None:
        return None
    if isinstance(risk, str):
        return risk
    return f"cvar {float(risk.cvar)!r}"


_WHAT_RE = re.compile(
    r"^(?:(budget|transition_budget|max_changes|min_outcome|min_flexibility)"
    r"|sector_share\.([a-z_]+)\.(min|max)"
    r"|limits\[(\d+)\]\.(min|max)"
    r"|cost_factor(?:\.([a-z_]+))?)$"
)


def _scenarios(
    reader: _Reader, locator: _Locator, rows: list[_Row], years: list[int] | None
) -> list[dict[str, Any]]:
    """The ``scenarios`` of the instance data from the sheet's rows (grouped by name, in the
    order of their first row)."""
    scenarios: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.values.get("scenario")
        if name is None:
            reader.add_at(row, "scenario", "required: the name of the scenario this row is for")
            continue
        scenario = scenarios.get(name)
        if scenario is None:
            scenario = scenarios[name] = {"name": name}
            locator.scenarios[name] = {"": row}
        places = locator.scenarios[name]
        probability = row.values.get("probability")
        if probability is not None:
            given = scenario.get("probability")
            if given is None:
                scenario["probability"] = probability
                places["probability"] = row
            elif given != probability:
                reader.add_at(
                    row,
                    "probability",
                    f"scenario '{name}' has probability {given:g} on row "
                    f"{places['probability'].row}: give it once, on the scenario's first row",
                )
        what = row.values.get("what")
        if what is None:
            if "value" in row.values or row.years.get("value"):
                reader.add_at(row, "what", "required with a value: what the value changes (one "
                              "of " + ", ".join(SCENARIO_WHAT) + ")")
            continue
        match = _WHAT_RE.match(what)
        if match is None:
            reader.add_at(
                row, "what", f"unknown '{what}': expected one of " + ", ".join(SCENARIO_WHAT)
            )
            continue
        if what in places:
            reader.add_at(row, "what", f"scenario '{name}' changes {what} twice (also on row "
                          f"{places[what].row})")
            continue
        value = _scenario_value(reader, row, what, years)
        if value is _MISSING:
            continue
        if value is None:
            reader.add_at(row, "value", f"required: the value of {what} in scenario '{name}'")
            continue
        places[what] = row
        limit, share_sector, share_side = match.group(1), match.group(2), match.group(3)
        position, limit_side, factor_sector = match.group(4), match.group(5), match.group(6)
        constraints = scenario.setdefault("constraints", {})
        if limit is not None:
            constraints[limit] = value
        elif share_sector is not None:
            if share_sector not in SECTORS:
                reader.add_at(row, "what", f"unknown sector '{share_sector}': expected one of "
                              + ", ".join(SECTORS))
                continue
            constraints.setdefault("sector_share", {}).setdefault(share_sector, {})[
                share_side
            ] = value
        elif position is not None:
            constraints.setdefault("limits", {}).setdefault(str(int(position)), {})[
                limit_side
            ] = value
        else:
            factor = value if is_per_year(value) else [value] * (len(years) if years else 1)
            if factor_sector is None:
                scenario["cost_factor"] = factor
            else:
                scenario.setdefault("cost_factor", {})
                if not isinstance(scenario["cost_factor"], dict):
                    reader.add_at(row, "what", f"scenario '{name}' gives cost_factor for every "
                                  "sector already: give it by sector or for all, not both")
                    continue
                scenario["cost_factor"][factor_sector] = factor
        if not constraints:
            del scenario["constraints"]
        if isinstance(scenario.get("cost_factor"), list) and any(
            key.startswith("cost_factor.") for key in places
        ):
            reader.add_at(row, "what", f"scenario '{name}' gives cost_factor by sector already: "
                          "give it by sector or for all, not both")
    return list(scenarios.values())


def _scenario_value(reader: _Reader, row: _Row, what: str, years: list[int] | None) -> Any:
    """A scenario row's value: one number, the year columns' list, None or _MISSING."""
    kind = "int" if what == "max_changes" else "number"
    raw = row.values.pop("value", None)
    if raw is not None:
        typed = reader.normalise(row, "value", raw, kind)
        if typed is _MISSING:
            return _MISSING
        row.values["value"] = typed
    for index, (year, coord, column, value) in enumerate(row.years.get("value", [])):
        if value is not _MISSING and value is not None:
            typed = reader.normalise(row, str(year), value, kind)
            row.years["value"][index] = (year, coord, column, typed)
    return reader.yearly(row, "value", kind, years)


def _unique(reader: _Reader, rows: list[_Row], kind: str) -> list[_Row]:
    """The rows whose id is not taken by an earlier row (a repeated id is reported there)."""
    first: dict[Any, int] = {}
    out = []
    for row in rows:
        ident = row.values.get("id")
        if ident is not None and ident in first:
            reader.add_at(row, "id", f"duplicate {kind} id (also on row {first[ident]})")
            continue
        if ident is not None:
            first[ident] = row.row
        out.append(row)
    return out


def _constraint_row(
    reader: _Reader,
    locator: _Locator,
    row: _Row,
    constraints: dict[str, Any],
    years: list[int] | None,
) -> None:
    name = row.values.get("constraint")
    if name is None:
        reader.add_at(row, "constraint", "required: one of " + ", ".join(CONSTRAINT_NAMES))
        return
    if name not in CONSTRAINT_NAMES:
        reader.add_at(
            row, "constraint", f"unknown constraint '{name}': expected one of "
            + ", ".join(CONSTRAINT_NAMES)
        )
        return
    sector = row.values.get("sector")
    if name == "same_mode":
        text = row.values.get("value")
        if row.years.get("value"):
            reader.add_at(row, "value", "same_mode takes no yearly values")
        if text is None:
            reader.add_at(row, "value", "required: the service ids of the bundle, comma-separated")
            return
        members = [part.strip() for part in str(text).split(",") if part.strip()]
        locator.constraints[f"same_mode[{len(constraints.get('same_mode', []))}]"] = row
        constraints.setdefault("same_mode", []).append(members)
        return
    kind = "int" if name in ("max_changes", "max_modes_used") else "number"
    raw = row.values.pop("value", None)
    if raw is not None:
        typed = reader.normalise(row, "value", raw, kind)
        if typed is _MISSING:
            return
        row.values["value"] = typed
    for index, (year, coord, column, value) in enumerate(row.years.get("value", [])):
        if value is not _MISSING and value is not None:
            typed = reader.normalise(row, str(year), value, kind)
            row.years["value"][index] = (year, coord, column, typed)
    value = reader.yearly(row, "value", kind, years)
    if value is _MISSING:
        return
    if value is None:
        reader.add_at(row, "value", f"required: the value of {name}")
        return
    if name.startswith("sector_share_"):
        bound = name.rsplit("_", 1)[1]
        if sector is None:
            reader.add_at(row, "sector", f"required for {name}: one of {', '.join(SECTORS)}")
            return
        shares = constraints.setdefault("sector_share", {})
        entry = shares.setdefault(sector, {})
        key = f"sector_share.{sector}.{bound}"
        if bound in entry:
            reader.add_at(row, "constraint", f"{name} for '{sector}' is given twice")
            return
        entry[bound] = value
        locator.constraints[key] = row
        locator.constraints.setdefault(f"sector_share.{sector}", row)
        return
    if sector is not None:
        reader.add_at(row, "sector", f"{name} takes no sector")
    if name in constraints:
        reader.add_at(row, "constraint", f"{name} is given twice")
        return
    constraints[name] = value
    locator.constraints[name] = row


class _Locator:
    """Places an instance issue (item, field) on the cell it came from."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.settings: dict[str, _Row] = {}
        self.modes: list[_Row] = []
        self.services: list[_Row] = []
        self.options: dict[tuple[int, int], _Row] = {}
        self.constraints: dict[str, _Row] = {}
        self.limits: list[_Row] = []
        self.scenarios: dict[str, dict[str, _Row]] = {}  # name -> what ('' first row) -> row

    def place(self, issue: InputIssue) -> tuple[tuple[int, int, int], InputIssue] | None:
        """The issue named by sheet, cell and header; None when its cell is already reported."""
        found = self._find(issue.item, issue.field)
        if found is None:
            return (len(INSTANCE_SHEETS), 0, 0), issue
        sheet, row, header, rest = found
        reader = self.reader
        if sheet in reader.missing_sheets or (sheet, header) in reader.missing_columns:
            return None
        message = issue.message if not rest or rest == header else f"{rest}: {issue.message}"
        order = INSTANCE_SHEETS.index(sheet)
        if row is None:
            item = f"{sheet} ({header})" if header else sheet
            return (order, 0, 0), InputIssue(issue.file, item, "", message)
        where = row.cell(header)
        if where is None:
            first = next(iter(row.coords.items()), None)
            if first is not None:
                header, where = first
            field_name = rest or issue.field
            message = f"{field_name}: {issue.message}" if field_name else issue.message
        if where is None:
            item = f"{sheet}!row {row.row}"
            return (order, row.row, 0), InputIssue(issue.file, item, "", message)
        if (sheet, where[0]) in reader.flagged:
            return None
        item = f"{sheet}!{where[0]} ({header})"
        return (order, row.row, where[1]), InputIssue(issue.file, item, "", message)

    def _find(self, item: str, field: str) -> tuple[str, _Row | None, str, str] | None:
        """(sheet, row, header, the field's rest) of an issue, or None when unknown."""
        kind, _, ident = item.partition(" ")
        if kind in ("service", "mode"):
            rows = self.services if kind == "service" else self.modes
            index = self._index(rows, ident, field)
            if index is None:
                return None
            if kind == "service":
                return self._service_field(index, field)
            return "modes", rows[index], *self._header("modes", rows[index], field)
        if item == "constraints":
            return self._constraint_field(field)
        if item == "risk":
            return "instance", self.settings.get("risk"), "value", ""
        if item == "scenarios":
            first = next(iter(self.scenarios.values()), None)
            if first is None:
                return "scenarios", None, "", field
            if field == "probability":
                return "scenarios", first.get("probability", first[""]), "probability", ""
            return "scenarios", first[""], "scenario", ""
        if kind == "scenario":
            return self._scenario_field(ident, field)
        if item == "objective":
            key = f"objective.{field.split('.', 1)[1]}" if "." in field else "objective"
            row = self.settings.get(key) or self.settings.get("objective")
            return "instance", row, "value", field
        if item == "instance":
            head = field.split(".")[0].split("[")[0]
            if head in ("modes", "services", "constraints"):
                return head, None, "", field
            row = self.settings.get(field) or self.settings.get(head)
            if row is None and head == "horizon":
                row = next((r for k, r in self.settings.items() if k.startswith("horizon.")), None)
            return "instance", row, "value", field
        return None

    def _index(self, rows: list[_Row], ident: str, field: str) -> int | None:
        if ident.startswith("#"):
            index = int(ident[1:]) - 1
            return index if 0 <= index < len(rows) else None
        wanted = ident.strip("'")
        matches = [i for i, row in enumerate(rows) if row.values.get("id") == wanted]
        if not matches:
            return None
        return matches[1] if field == "id" and len(matches) > 1 else matches[0]

    def _service_field(self, index: int, field: str) -> tuple[str, _Row | None, str, str]:
        row = self.services[index]
        match = re.match(r"^options\[(\d+)\]\.?(.*)$", field)
        if match:
            option = self.options.get((index, int(match.group(1))))
            if option is None:
                return "services", row, "id", field
            rest = match.group(2)
            if not rest:
                return "options", option, "service", f"options[{match.group(1)}]"
            return "options", option, *self._header("options", option, rest)
        if field == "options":
            first = next((r for (s, _), r in sorted(self.options.items()) if s == index), None)
            if first is None:
                return "services", row, "id", "options (no rows on sheet options)"
            return "options", first, "service", field
        if field.startswith("constraints.fixed."):
            return "services", row, "fixed_mode", "fixed_mode"
        return "services", row, *self._header("services", row, field)

    def _constraint_field(self, field: str) -> tuple[str, _Row | None, str, str] | None:
        match = re.match(r"^limits\[(\d+)\]\.?(.*)$", field)
        if match:
            index = int(match.group(1))
            if index >= len(self.limits):
                return None
            limit = self.limits[index]
            rest = match.group(2)
            if not rest:
                return "limits", limit, "metric", field
            return "limits", limit, *self._header("limits", limit, rest)
        if field.startswith("fixed."):
            service = field[len("fixed.") :]
            for service_row in self.services:
                if service_row.values.get("id") == service:
                    return "services", service_row, "fixed_mode", "fixed_mode"
            return None
        match = re.match(r"^(same_mode\[\d+\])", field)
        if match:
            return "constraints", self.constraints.get(match.group(1)), "value", field
        match = re.match(r"^(sector_share\.[a-z_]+)(\.(min|max))?(\[(\d+)\])?$", field)
        if match:
            key = match.group(1) + (match.group(2) or "")
            row = self.constraints.get(key)
            if row is None:
                return "constraints", None, "", field
            if match.group(2) is None:
                return "constraints", row, "sector", "sector"
            path = "value" + (match.group(4) or "")
            return "constraints", row, *self._header("constraints", row, path)
        head = field.split("[")[0]
        row = self.constraints.get(head)
        if row is None:
            return "constraints", None, "", field
        return "constraints", row, *self._header("constraints", row, "value" + field[len(head):])

    def _scenario_field(self, ident: str, field: str) -> tuple[str, _Row | None, str, str] | None:
        if ident.startswith("#"):
            names = list(self.scenarios)
            number = int(ident[1:]) - 1
            if not 0 <= number < len(names):
                return None
            places = self.scenarios[names[number]]
        else:
            places = self.scenarios.get(ident.strip("'"), {})
        if not places:
            return None
        first = places[""]
        if field in ("name", ""):
            return "scenarios", first, "scenario", field
        if field == "probability":
            return "scenarios", places.get("probability", first), "probability", ""
        path = field.removeprefix("constraints.")
        match = re.match(r"^limits\.(\d+)(.*)$", path)
        if match:  # the domain names limits overrides by position: limits.0.max
            path = f"limits[{match.group(1)}]{match.group(2)}"
        what, _, index = path.partition("[")
        if path.startswith("limits["):
            close = path.index("]")
            bound, _, index = path[close + 1 :].lstrip(".").partition("[")
            what = path[: close + 1] + (f".{bound}" if bound else "")
        row = places.get(what)
        if row is None:  # a sector share or limits row: the first row of it
            row = next((r for key, r in places.items() if key.startswith(f"{what}.")), None)
            return "scenarios", row or first, "what", field
        rest = "value" + (f"[{index}" if index else "")
        header, _ = self._header("scenarios", row, rest)
        return "scenarios", row, header, field

    def _header(self, sheet: str, row: _Row, rest: str) -> tuple[str, str]:
        """(header, rest) for a field path within a row: yearly indices map to year columns."""
        match = re.match(r"^([A-Za-z_]+)(?:\[(\d+)\])?(?:\.(.+))?$", rest)
        if not match:
            return "", rest
        name, index, tail = match.group(1), match.group(2), match.group(3)
        if name == "metrics" and tail:
            return f"metrics.{tail}", f"metrics.{tail}"
        used = sorted(row.years.get(name, []))
        if used:
            position = int(index) if index is not None else 0
            if position < len(used):
                year = used[position][0]
                plain = "value" if sheet in ("constraints", "scenarios") else None
                return _year_header(name, year, plain), rest
        if sheet in ("constraints", "scenarios") and name == "value":
            return "value", "value"
        return name, rest


# ---------------------------------------------------------------------- writing instances
def write_template(
    path: str | os.PathLike[str] | BinaryIO, instance: Instance | None = None
) -> None:
    """Write the instance template: every sheet headed and explained, with data validation lists
    for modes, sectors and the objective, filled with ``instance`` (by default the example
    borough shipped with the package).

    Args:
        path: where to write the workbook (atomically), or a binary file object.
        instance: the instance to fill in; None for the example borough.
    """
    write_instance_workbook(instance if instance is not None else example_instance(), path)


def example_instance(multi_year: bool = False) -> Instance:
    """The example borough shipped with the package (``instances/example_borough.yaml``), or its
    five-year version."""
    import yaml

    name = "example_borough_multiyear.yaml" if multi_year else "example_borough.yaml"
    resource = resources.files("portfolio") / "data" / name
    return Instance.from_data(yaml.safe_load(resource.read_text(encoding="utf-8")), source=name)


def write_instance_workbook(
    instance: Instance, path: str | os.PathLike[str] | BinaryIO
) -> None:
    """Write an instance as a workbook that :func:`read_workbook` reads back to an equal instance.

    Args:
        instance: the instance.
        path: where to write the workbook (atomically), or a binary file object.

    Raises:
        PortfolioError: the instance has ``investments`` or ``effects``, which no sheet holds.
    """
    unheld = [name for name in ("investments", "effects") if getattr(instance, name)]
    if unheld:
        raise PortfolioError(
            f"a workbook does not hold {' or '.join(unheld)} yet: keep this instance in YAML, "
            "JSON or TOML"
        )
    openpyxl = _openpyxl()
    book = openpyxl.Workbook()
    book.remove(book.active)
    years = instance.horizon.calendar_years if instance.horizon else None
    _readme_sheet(book, instance)
    _instance_sheet(book, instance)
    _table_sheet(book, "modes", MODE_COLUMNS, [_mode_row(m) for m in instance.modes], years)
    _table_sheet(
        book,
        "services",
        SERVICE_COLUMNS,
        [_service_row(s, instance.constraints.fixed) for s in instance.services],
        years,
    )
    metric_names: list[str] = []
    for service in instance.services:
        for option in service.options:
            for metric in option.metrics:
                if metric not in metric_names:
                    metric_names.append(metric)
    option_columns = OPTION_COLUMNS + tuple(
        _Col(f"metrics.{m}", "number", f"The option's figure '{m}' (metrics); empty is 0.")
        for m in metric_names
    )
    _table_sheet(
        book,
        "options",
        option_columns,
        [_option_row(s.id, o) for s in instance.services for o in s.options],
        years,
    )
    _table_sheet(
        book,
        "constraints",
        CONSTRAINT_COLUMNS,
        _constraint_rows(instance.constraints),
        years,
        all_years=True,
    )
    limits = [_limit_row(limit) for limit in instance.constraints.limits]
    _table_sheet(book, "limits", LIMIT_COLUMNS, limits, years)
    _table_sheet(
        book,
        "scenarios",
        SCENARIO_COLUMNS,
        _scenario_sheet_rows(instance),
        years,
        all_years=instance.scenarios is not None,
    )
    _validations(book, instance)
    _save(book, path)


def _mode_row(mode: Mode) -> dict[str, Any]:
    return {
        "id": mode.id,
        "sector": mode.sector,
        "name": mode.name,
        "setup_cost": mode.setup_cost,
        "max_services": mode.max_services,
        "max_spend": mode.max_spend,
        "min_services": mode.min_services,
        "ceases_service": mode.ceases_service or None,
    }


def _service_row(service: Service, fixed: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "group": service.group,
        "current_mode": service.current_mode,
        "weight": service.weight,
        "statutory": service.statutory or None,
        "current_contract_end": service.current_contract_end,
        "termination_cost": service.termination_cost,
        "fixed_mode": fixed.get(service.id),
    }


def _option_row(service_id: str, option: Option) -> dict[str, Any]:
    row: dict[str, Any] = {"service": service_id}
    for col in OPTION_COLUMNS[1:]:
        row[col.name] = getattr(option, col.name)
    row["current"] = option.current or None
    for name, value in option.metrics.items():
        row[f"metrics.{name}"] = value
    return row


def _limit_row(limit: Limit) -> dict[str, Any]:
    return {
        "metric": limit.metric,
        "mode": limit.mode,
        "sector": limit.sector,
        "max": limit.max,
        "min": limit.min,
    }


def _constraint_rows(constraints: Constraints) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in ("budget", "transition_budget", "min_flexibility", "min_outcome", "max_changes",
                 "max_modes_used"):
        value = getattr(constraints, name)
        if value is not None:
            rows.append({"constraint": name, "value": value})
    for sector, bound in constraints.sector_share.items():
        for side in ("min", "max"):
            value = getattr(bound, side)
            if value is not None:
                name = f"sector_share_{side}"
                rows.append({"constraint": name, "sector": sector, "value": value})
    for bundle in constraints.same_mode:
        rows.append({"constraint": "same_mode", "value": ", ".join(bundle)})
    return rows


def _scenario_sheet_rows(instance: Instance) -> list[dict[str, Any]]:
    """The ``scenarios`` sheet: one row per figure a scenario changes (one empty row when it
    changes nothing), the probability on the scenario's first row."""
    rows: list[dict[str, Any]] = []
    for scenario in instance.scenarios or []:
        own = scenario.constraints
        changes: list[tuple[str, Any]] = []
        for name in ("budget", "transition_budget", "max_changes", "min_outcome",
                     "min_flexibility"):
            value = getattr(own, name)
            if value is not None:
                changes.append((name, value))
        for sector, bound in own.sector_share.items():
            for side in ("min", "max"):
                if getattr(bound, side) is not None:
                    changes.append((f"sector_share.{sector}.{side}", getattr(bound, side)))
        for position, override in own.limits.items():
            for side in ("min", "max"):
                if getattr(override, side) is not None:
                    changes.append((f"limits[{position}].{side}", getattr(override, side)))
        factor = scenario.cost_factor
        if isinstance(factor, Mapping):
            changes += [(f"cost_factor.{sector}", values) for sector, values in factor.items()]
        elif factor is not None:
            changes.append(("cost_factor", factor))
        first: dict[str, Any] = {"scenario": scenario.name, "probability": scenario.probability}
        if not changes:
            rows.append(first)
        for index, (what, value) in enumerate(changes):
            row = dict(first) if index == 0 else {"scenario": scenario.name}
            rows.append({**row, "what": what, "value": value})
    return rows


def _style_header(sheet: Any, widths: Sequence[int]) -> None:
    openpyxl = _openpyxl()
    styles = openpyxl.styles
    bold = styles.Font(bold=True)
    fill = styles.PatternFill("solid", fgColor=_HEADER_FILL)
    for index, cell in enumerate(sheet[1]):
        cell.font = bold
        cell.fill = fill
        if index < len(widths):
            sheet.column_dimensions[_letter(index)].width = widths[index]
    sheet.freeze_panes = "A2"


def _table_sheet(
    book: Any,
    title: str,
    columns: Sequence[_Col],
    rows: Sequence[Mapping[str, Any]],
    years: list[int] | None,
    *,
    all_years: bool = False,
) -> None:
    """A headed table; yearly fields get year columns when some row has a list (or always)."""
    sheet = book.create_sheet(title)
    headers: list[str] = []
    widths: list[int] = []
    for col in columns:
        headers.append(col.name)
        widths.append(col.width)
    yearly_columns: list[tuple[str, int, int]] = []  # (field, year index, position)
    if years is not None:
        for col in columns:
            if not col.yearly:
                continue
            if not all_years and not any(is_per_year(row.get(col.name)) for row in rows):
                continue
            for t, year in enumerate(years):
                plain = "value" if title in ("constraints", "scenarios") else None
                yearly_columns.append((col.name, t, len(headers)))
                headers.append(_year_header(col.name, year, plain))
                widths.append(11)
    sheet.append(headers)
    positions = {col.name: i for i, col in enumerate(columns)}
    for row in rows:
        line: list[Any] = [None] * len(headers)
        for name, value in row.items():
            if name not in positions or value is None:
                continue
            if is_per_year(value):
                for field_name, t, position in yearly_columns:
                    if field_name == name:
                        line[position] = value[t]
            else:
                line[positions[name]] = value
        sheet.append(line)
    _style_header(sheet, widths)


def _instance_sheet(book: Any, instance: Instance) -> None:
    sheet = book.create_sheet("instance")
    sheet.append([col.name for col in INSTANCE_COLUMNS])
    objective = instance.objective
    weights: dict[str, float] = {}
    objective_text: str
    if isinstance(objective, WeightedObjective):
        objective_text = objective.sense
        weights = objective.terms
    else:
        objective_text = objective
    horizon = instance.horizon
    values: dict[str, Any] = {
        "name": instance.name,
        "description": instance.description,
        "currency": instance.currency,
        "objective": objective_text,
        "horizon.start_year": horizon.start_year if horizon else None,
        "horizon.years": horizon.years if horizon else None,
        "horizon.discount_rate": horizon.discount_rate if horizon else None,
        "risk": _risk_text(instance.risk),
    }
    for key, (_, meaning) in INSTANCE_SETTINGS.items():
        sheet.append([key, values[key], meaning])
        if key == "objective":
            for figure, weight in weights.items():
                sheet.append(
                    [f"objective.{figure}", weight, f"Weight of the figure '{figure}' in the "
                     "weighted objective."]
                )
    _style_header(sheet, [col.width for col in INSTANCE_COLUMNS])
    alignment = _openpyxl().styles.Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = alignment


def _readme_sheet(book: Any, instance: Instance) -> None:
    styles = _openpyxl().styles
    sheet = book.create_sheet("README")
    lines: list[tuple[str, str, str]] = [
        ("portfolio instance workbook", "", "title"),
        (
            "Fill in the sheets below (one table per sheet, headed in row 1, no empty rows in the "
            "middle, no merged cells), then run: portfolio solve THIS.xlsx. "
            "portfolio validate THIS.xlsx lists every problem by sheet, cell and column. "
            "portfolio convert THIS.xlsx THIS.yaml converts to YAML, JSON or TOML and back.",
            "",
            "text",
        ),
        (
            "Money is in one unit throughout (the currency setting, e.g. £k). Ids are short names "
            "without spaces; modes and services are referred to by their id. An empty cell takes "
            "the default. Cells with a drop-down list accept its values only.",
            "",
            "text",
        ),
        (
            "Multi-year planning: set horizon.start_year and horizon.years on the instance sheet. "
            "A yearly field (the limits on the constraints sheet, max and min on the limits sheet, "
            "max_services and max_spend of a mode, annual_cost of an option) then takes either one "
            "value for every year in its own column, or one value per year in columns headed "
            "field@YEAR (annual_cost@2027, annual_cost@2028, ...; on the constraints sheet the "
            "year columns are headed 2027, 2028, ...).",
            "",
            "text",
        ),
    ]
    for sheet_name, columns in _SHEET_COLUMNS.items():
        lines.append((f"Sheet {sheet_name}", _SHEET_ABOUT[sheet_name], "heading"))
        if sheet_name == "instance":
            for key, (_, meaning) in INSTANCE_SETTINGS.items():
                lines.append((key, meaning, "row"))
            continue
        for col in columns:
            lines.append((col.name, col.help, "row"))
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 110
    wrap = styles.Alignment(wrap_text=True, vertical="top")
    for text, meaning, style in lines:
        if style in ("title", "text"):
            sheet.append([text])
            cell = sheet.cell(row=sheet.max_row, column=1)
            if style == "title":
                cell.font = styles.Font(bold=True, size=14)
            else:
                sheet.merge_cells(
                    start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=2
                )
                cell.alignment = wrap
                sheet.row_dimensions[sheet.max_row].height = 48
            continue
        if style == "heading":
            sheet.append([])
        sheet.append([text, meaning])
        row = sheet.max_row
        if style == "heading":
            sheet.cell(row=row, column=1).font = styles.Font(bold=True)
            sheet.cell(row=row, column=2).font = styles.Font(italic=True)
        sheet.cell(row=row, column=2).alignment = wrap
    del instance  # the README is the same for every instance


def _validations(book: Any, instance: Instance) -> None:
    """Drop-down lists: modes (from the modes sheet), services, sectors, objective, constraints."""
    openpyxl = _openpyxl()
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    last = max(_DATA_ROWS, len(instance.modes) + 200, len(instance.services) + 200) + 1
    book.defined_names["mode_ids"] = DefinedName("mode_ids", attr_text=f"modes!$A$2:$A${last}")
    book.defined_names["service_ids"] = DefinedName(
        "service_ids", attr_text=f"services!$A$2:$A${last}"
    )
    sectors = '"' + ",".join(SECTORS) + '"'
    lists = {
        "mode_ids": "=mode_ids",
        "service_ids": "=service_ids",
        "sectors": sectors,
        "constraints": '"' + ",".join(CONSTRAINT_NAMES) + '"',
        "objective": '"' + ",".join(OBJECTIVE_CHOICES) + '"',
    }
    targets = {
        "modes": {"sector": "sectors"},
        "services": {"current_mode": "mode_ids", "fixed_mode": "mode_ids"},
        "options": {"service": "service_ids", "mode": "mode_ids"},
        "constraints": {"constraint": "constraints", "sector": "sectors"},
        "limits": {"mode": "mode_ids", "sector": "sectors"},
    }
    for sheet_name, columns in targets.items():
        sheet = book[sheet_name]
        header = {cell.value: cell.column for cell in sheet[1]}
        for column, list_name in columns.items():
            letter = _letter(header[column] - 1)
            rule = DataValidation(type="list", formula1=lists[list_name], allow_blank=True)
            rule.error = f"Choose a value from the list ({list_name.replace('_', ' ')})."
            rule.errorTitle = "Not in the list"
            rule.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(rule)
    settings = book["instance"]
    for row in settings.iter_rows(min_row=2):
        if row[0].value == "objective":
            rule = DataValidation(type="list", formula1=lists["objective"], allow_blank=True)
            rule.add(row[1].coordinate)
            settings.add_data_validation(rule)
    del openpyxl


_SAVE_LOCK = threading.Lock()


@contextmanager
def _numbers_at_full_precision() -> Iterator[None]:
    """While saving, write numbers in their shortest exact form (``repr``). openpyxl writes them
    with 16 significant digits (``'%.16g'``), which changes a double that needs 17: a budget of
    1000000.1234561234 would come back as 1000000.123456123, and a result's share
    0.051923076923076926 as 0.05192307692307693. Spreadsheet programs read either form."""
    from openpyxl.cell import _writer

    with _SAVE_LOCK:
        original = _writer.safe_string

        def exact(value: Any) -> Any:
            if isinstance(value, float) and math.isfinite(value):
                return repr(float(value))
            return original(value)

        _writer.safe_string = exact
        try:
            yield
        finally:
            _writer.safe_string = original


def _save(book: Any, target: str | os.PathLike[str] | BinaryIO) -> None:
    """Save a workbook: atomically to a path (temporary file, then a rename), or to a stream."""
    if not isinstance(target, str | os.PathLike):
        with _numbers_at_full_precision():
            book.save(target)
        return
    buffer = io.BytesIO()
    with _numbers_at_full_precision():
        book.save(buffer)
    from portfolio.output import write_bytes_atomic

    write_bytes_atomic(target, buffer.getvalue())



# ---------------------------------------------------------------------- result workbooks
def write_result_workbook(
    result: Mapping[str, Any],
    target: str | os.PathLike[str] | BinaryIO,
    instance: Instance | None = None,
) -> None:
    """Write a result (``SolveResult.to_dict()``, the JSON of ``--output``) as a workbook.

    Sheets: ``summary`` (status, objective, bound, ...), ``plan`` (a row per service: today's mode
    and option, the plan's mode and option, annual cost, one-off cost, outcome, change),
    ``years`` and ``schedule`` (multi-year results), ``limits`` (value, bound, at limit, gain when
    known), ``ways out`` (an infeasible result's ways out, when it has them) and ``scenarios``
    when the result has them. A plan under funding scenarios adds
    ``commit now`` (the decisions taken in the first year, in words), ``scenarios`` (each one's
    probability and objective), ``scenario schedules`` (each one's mode and option per year) and
    ``scenario years`` (each one's yearly totals). Numbers are written as numbers with number
    formats.

    Args:
        result: the result as plain data.
        target: where to write the workbook (atomically), or a binary file object.
        instance: the instance solved, for service names and today's option and figures.
    """
    openpyxl = _openpyxl()
    book = openpyxl.Workbook()
    book.remove(book.active)
    _summary_sheet(book, result, instance)
    _plan_sheet(book, result, instance)
    if result.get("years"):
        _years_sheet(book, result)
    if result.get("schedule"):
        _schedule_sheet(book, result)
    _limits_sheet(book, result)
    _ways_out_sheet(book, result)
    if isinstance(result.get("here_and_now"), list):
        _commit_now_sheet(book, result)
    if result.get("scenarios"):
        records = _scenario_records(result["scenarios"])
        if all(isinstance(r.get("schedule"), Mapping) for r in records):
            _scenario_sheets(book, result, records)
        else:
            _records_sheet(book, "scenarios", records)
    _save(book, target)


def _summary_sheet(book: Any, result: Mapping[str, Any], instance: Instance | None) -> None:
    sheet = book.create_sheet("summary")
    sheet.append(["field", "value"])
    rows: list[tuple[str, Any, str | None]] = [
        ("instance", result.get("instance"), None),
        ("status", result.get("status"), None),
        ("objective", result.get("objective"), _SCORE),
        ("objective sense", instance.objective_label if instance else None, None),
        ("bound", result.get("bound"), _SCORE),
        ("gap", result.get("gap"), "0.00E+00"),
        ("verified", result.get("verified"), None),
        ("backend", result.get("backend"), None),
        ("solve seconds", result.get("solve_seconds"), "0.000"),
        ("currency", instance.currency if instance else None, None),
        ("changes", len(result.get("changes") or []), _COUNT),
        ("detail", result.get("detail"), None),
    ]
    baseline = result.get("baseline")
    if isinstance(baseline, Mapping):  # today's arrangement, when the result carries it
        for key in ("objective", "annual_cost", "one_off_cost", "outcome", "feasible"):
            money = _SCORE if key in ("objective", "outcome") else _MONEY
            rows.append((f"today: {key.replace('_', ' ')}", baseline.get(key), money))
    explanation = result.get("explanation")
    if isinstance(explanation, Mapping):
        rows.append(("why no plan", explanation.get("summary"), None))
        for relaxation in explanation.get("relaxations") or []:
            rows.append(("relax", relaxation.get("text"), None))
    for label, value, number_format in rows:
        if value is None:
            continue
        sheet.append([label, value])
        if number_format and isinstance(value, int | float) and not isinstance(value, bool):
            sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    _style_header(sheet, [18, 90])


_PLAN_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("service", None, 24),
    ("name", None, 36),
    ("today mode", None, 13),
    ("today option", _COUNT, 8),
    ("today label", None, 26),
    ("today annual cost", _MONEY, 14),
    ("today outcome", _SCORE, 10),
    ("plan mode", None, 13),
    ("plan option", _COUNT, 8),
    ("plan label", None, 26),
    ("annual cost", _MONEY, 14),
    ("one-off cost", _MONEY, 12),
    ("outcome", _SCORE, 10),
    ("weighted outcome", _SCORE, 10),
    ("flexibility", _SCORE, 10),
    ("change", None, 24),
)


def _plan_sheet(book: Any, result: Mapping[str, Any], instance: Instance | None) -> None:
    sheet = book.create_sheet("plan")
    sheet.append([name for name, _, _ in _PLAN_COLUMNS])
    rows = list(result.get("services") or [])
    services = {s.id: s for s in instance.services} if instance else {}
    if not rows and instance is not None:  # no plan: today's arrangement only
        rows = [{"service": s.id, "current_mode": s.current_mode} for s in instance.services]
    totals: dict[str, list[float]] = {}
    for row in rows:
        service = services.get(row.get("service", ""))
        today_index = current_option_index(service) if service else None
        today = service.options[today_index] if service and today_index is not None else None
        mode = row.get("mode")
        current = row.get("current_mode")
        change = f"{current} → {mode}" if mode is not None and mode != current else ""
        values = {
            "service": row.get("service"),
            "name": service.name if service else None,
            "today mode": current,
            "today option": today_index,
            "today label": today.label if today else None,
            "today annual cost": today.annual_cost_in_year(0) if today else None,
            "today outcome": today.outcome if today else None,
            "plan mode": mode,
            "plan option": row.get("option"),
            "plan label": row.get("label"),
            "annual cost": row.get("annual_cost"),
            "one-off cost": row.get("transition_cost"),
            "outcome": row.get("outcome"),
            "weighted outcome": row.get("weighted_outcome"),
            "flexibility": row.get("flexibility"),
            "change": change,
        }
        _append(sheet, [values[name] for name, _, _ in _PLAN_COLUMNS], _PLAN_COLUMNS)
        for name in ("today annual cost", "annual cost", "one-off cost", "weighted outcome"):
            value = values[name]
            if isinstance(value, int | float):
                totals.setdefault(name, []).append(float(value))
    if rows:
        total_row: list[Any] = ["total"] + [None] * (len(_PLAN_COLUMNS) - 1)
        for index, (name, _, _) in enumerate(_PLAN_COLUMNS):
            if name in totals:
                total_row[index] = math.fsum(totals[name])
        changes = sum(1 for row in rows if row.get("mode") not in (None, row.get("current_mode")))
        total_row[-1] = f"{changes} change{'s' if changes != 1 else ''}"
        _append(sheet, total_row, _PLAN_COLUMNS)
        bold = _openpyxl().styles.Font(bold=True)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
    _style_header(sheet, [width for _, _, width in _PLAN_COLUMNS])


def _append(
    sheet: Any, values: Sequence[Any], columns: Sequence[tuple[str, str | None, int]]
) -> None:
    sheet.append(list(values))
    row = sheet.max_row
    for index, (_, fmt, _) in enumerate(columns):
        value = values[index]
        if fmt and isinstance(value, int | float) and not isinstance(value, bool):
            sheet.cell(row=row, column=index + 1).number_format = fmt


_YEAR_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("year", "0", 8),
    ("annual_cost", _MONEY, 14),
    ("transition_cost", _MONEY, 14),
    ("setup_cost", _MONEY, 12),
    ("termination_cost", _MONEY, 14),
    ("weighted_outcome", _SCORE, 14),
    ("objective", _SCORE, 12),
    ("discount_factor", "0.0000", 12),
    ("changes", _COUNT, 9),
    ("services changing", None, 60),
)


def _years_sheet(book: Any, result: Mapping[str, Any]) -> None:
    sheet = book.create_sheet("years")
    sheet.append([name for name, _, _ in _YEAR_COLUMNS])
    for year in result["years"]:
        changes = list(year.get("changes") or [])
        values = [year.get(name) for name, _, _ in _YEAR_COLUMNS[:-2]]
        _append(sheet, [*values, len(changes), ", ".join(changes)], _YEAR_COLUMNS)
    _style_header(sheet, [width for _, _, width in _YEAR_COLUMNS])


def _schedule_sheet(book: Any, result: Mapping[str, Any]) -> None:
    sheet = book.create_sheet("schedule")
    horizon = result.get("horizon") or {}
    schedule: Mapping[str, Sequence[str]] = result["schedule"]
    options: Mapping[str, Sequence[int]] = result.get("schedule_options") or {}
    count = max((len(modes) for modes in schedule.values()), default=0)
    start = int(horizon.get("start_year", 0))
    years = [start + t for t in range(count)]
    sheet.append(
        ["service"] + [f"mode {y}" for y in years] + [f"option {y}" for y in years]
    )
    for service, modes in schedule.items():
        indices = list(options.get(service, []))
        line: list[Any] = [service, *modes, *indices]
        sheet.append(line)
        for k in range(len(indices)):
            sheet.cell(row=sheet.max_row, column=2 + count + k).number_format = _COUNT
    _style_header(sheet, [24] + [12] * (2 * count))


_LIMIT_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("limit", None, 34),
    ("year", "0", 8),
    ("value", None, 14),
    ("sense", None, 6),
    ("bound", None, 14),
    ("slack", None, 14),
    ("at limit", None, 9),
    ("holds", None, 7),
    ("gain", None, 12),
    ("detail", None, 40),
)


def _limit_format(name: str) -> str:
    if name.startswith("sector_share"):
        return _SHARE
    if name.startswith(("max_changes", "capacity_count", "min_services")):
        return _COUNT
    if name.startswith("min_flexibility"):
        return "0.000"
    if name.startswith("min_outcome"):
        return _SCORE
    return _MONEY


def _limits_sheet(book: Any, result: Mapping[str, Any]) -> None:
    sheet = book.create_sheet("limits")
    sheet.append([name for name, _, _ in _LIMIT_COLUMNS])
    known: dict[str, Mapping[str, Any]] = {}  # limits analysed further (gain), by name
    for entry in result.get("limits") or []:
        if isinstance(entry, Mapping):
            known[str(entry.get("name", entry.get("constraint", "")))] = entry
    for check in result.get("checks") or []:
        name = str(check.get("name", ""))
        base, _, year = name.partition("@")
        fmt = _limit_format(base)
        check = {**known.get(name, {}), **check}
        at_limit = check.get("at_limit", check.get("binding"))
        values = [
            base,
            int(year) if year.isdigit() else None,
            check.get("value"),
            check.get("sense"),
            check.get("limit", check.get("bound")),
            check.get("slack"),
            at_limit,
            check.get("ok"),
            check.get("gain"),
            check.get("detail"),
        ]
        columns = [
            (label, fmt if label in ("value", "bound", "slack", "gain") else spec, width)
            for label, spec, width in _LIMIT_COLUMNS
        ]
        _append(sheet, values, columns)
    _style_header(sheet, [width for _, _, width in _LIMIT_COLUMNS])


def _ways_out_sheet(book: Any, result: Mapping[str, Any]) -> None:
    """``ways out`` (infeasible results whose explanation has them): one row per limit of each
    way out, numbered; each way restores a plan on its own, every other limit as it is."""
    explanation = result.get("explanation")
    if not isinstance(explanation, Mapping) or not explanation.get("ways_out"):
        return
    sheet = book.create_sheet("ways out")
    sheet.append(["way", "limit", "from", "to", "change"])
    for number, way in enumerate(explanation["ways_out"], start=1):
        if not isinstance(way, Mapping):
            continue
        for move in way.get("relaxations") or []:
            if isinstance(move, Mapping):
                sheet.append(
                    [number, move.get("limit"), move.get("from"), move.get("to"),
                     move.get("change")]
                )
    _style_header(sheet, [6, 30, 14, 14, 14])


_COMMIT_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("decision", None, 60),
    ("service", None, 24),
    ("action", None, 8),
    ("mode", None, 13),
    ("option", _COUNT, 8),
    ("label", None, 26),
    ("start_year", "0", 10),
    ("contract_years", _COUNT, 10),
    ("decided_year", "0", 10),
    ("changes_mode", None, 10),
)


def _commit_now_sheet(book: Any, result: Mapping[str, Any]) -> None:
    """The decisions taken in the first year, whichever scenario comes: those that commit to a
    change first, then the arrangements kept."""
    sheet = book.create_sheet("commit now")
    sheet.append([name for name, _, _ in _COMMIT_COLUMNS])
    decisions = [d for d in result["here_and_now"] if isinstance(d, Mapping)]
    decisions.sort(key=lambda d: not (d.get("changes_mode") or d.get("action") == "break"))
    for decision in decisions:
        values = [decision.get("words")] + [
            decision.get(name) for name, _, _ in _COMMIT_COLUMNS[1:]
        ]
        _append(sheet, values, _COMMIT_COLUMNS)
    _style_header(sheet, [width for _, _, width in _COMMIT_COLUMNS])


def _scenario_sheets(
    book: Any, result: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> None:
    """Each scenario's probability and objective, its schedule and its yearly totals."""
    sheet = book.create_sheet("scenarios")
    risk = result.get("risk")
    risk_text = f"cvar {risk['cvar']:g}" if isinstance(risk, Mapping) else risk
    columns = (("scenario", None, 24), ("probability", _SHARE, 12), ("objective", _SCORE, 14))
    sheet.append([name for name, _, _ in columns])
    for record in records:
        _append(sheet, [record.get("name"), record.get("probability"), record.get("objective")],
                columns)
    if risk_text is not None:
        sheet.append([])
        _append(sheet, ["combined by", risk_text, result.get("objective")], columns)
    _style_header(sheet, [width for _, _, width in columns])

    schedules = book.create_sheet("scenario schedules")
    horizons = [r["horizon"] for r in records if isinstance(r.get("horizon"), Mapping)]
    horizon: Mapping[str, Any] = result.get("horizon") or (horizons[0] if horizons else {})
    count = max((len(m) for r in records for m in r["schedule"].values()), default=0)
    start = int(horizon.get("start_year", 0))
    years = [start + t for t in range(count)]
    schedules.append(
        ["scenario", "service"] + [f"mode {y}" for y in years] + [f"option {y}" for y in years]
    )
    for record in records:
        options: Mapping[str, Sequence[int]] = record.get("schedule_options") or {}
        for service, modes in record["schedule"].items():
            schedules.append([record.get("name"), service, *modes, *options.get(service, [])])
    _style_header(schedules, [20, 24] + [12] * (2 * count))

    totals = book.create_sheet("scenario years")
    totals.append(["scenario"] + [name for name, _, _ in _YEAR_COLUMNS])
    year_columns = (("scenario", None, 20), *_YEAR_COLUMNS)
    for record in records:
        for year in record.get("years") or []:
            changes = list(year.get("changes") or [])
            values = [year.get(name) for name, _, _ in _YEAR_COLUMNS[:-2]]
            _append(totals, [record.get("name"), *values, len(changes), ", ".join(changes)],
                    year_columns)
    _style_header(totals, [width for _, _, width in year_columns])


def _scenario_records(scenarios: Any) -> list[dict[str, Any]]:
    if isinstance(scenarios, Mapping):
        return [
            {"scenario": name, **(value if isinstance(value, Mapping) else {"value": value})}
            for name, value in scenarios.items()
        ]
    return [dict(item) if isinstance(item, Mapping) else {"value": item} for item in scenarios]


def _records_sheet(book: Any, title: str, records: Iterable[Mapping[str, Any]]) -> None:
    """A table of records: one column per scalar key (nested values written as text)."""
    records = list(records)
    sheet = book.create_sheet(title)
    keys: list[str] = []
    for record in records:
        for key in record:
            if key not in keys:
                keys.append(key)
    sheet.append(keys)
    for record in records:
        line = []
        for key in keys:
            value = record.get(key)
            if isinstance(value, Mapping | list | tuple):
                value = _as_text(value)
            line.append(value)
        sheet.append(line)
        for index, value in enumerate(line):
            if isinstance(value, float):
                sheet.cell(row=sheet.max_row, column=index + 1).number_format = "#,##0.00##"
    _style_header(sheet, [16] * len(keys))


def _as_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, allow_nan=False)

