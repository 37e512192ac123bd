"""A report people read: one self-contained HTML page of a result, with charts.

:func:`render_report` turns a result dict (``SolveResult.to_dict()``, what ``portfolio solve
--output`` writes, single-period or multi-year) into one HTML document that needs no network and no
JavaScript: inline CSS (with a print stylesheet for A4 committee papers) and inline SVG charts. With
the instance it also shows today's arrangement (:func:`portfolio.baseline.baseline`) next to the
plan. It can add a sweep curve (``portfolio sweep``'s ``curve.csv``, see :func:`load_sweep`), a
trade-off frontier (``{"points": [{<criterion>: value, ..., "changes": n}]}``) and per-scenario
outcomes (a result's ``scenarios``: ``[{name, probability, objective, ...}]``).

Figures are rounded for people (money with thousands separators, shares as percentages); the
result file keeps full precision. The page is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from portfolio.columnar import OptionColumns, option_columns
from portfolio.domain import Instance, Service
from portfolio.errors import PortfolioError
from portfolio.svgchart import (
    PALETTE,
    bar_chart,
    escape,
    fmt_number,
    fmt_share,
    fmt_signed,
    legend,
    xy_chart,
)
from portfolio.sweep import CURVE_FIXED_FIELDS

__all__ = ["load_sweep", "render_report", "write_report"]

#: Statuses that carry a plan.
PLAN_STATUSES = ("optimal", "feasible")
#: Columns of ``curve.csv`` that are not swept parameters (see :mod:`portfolio.sweep`).
CURVE_FIELDS = ("variant", *CURVE_FIXED_FIELDS)
SECTOR_COLORS = {
    "public": "#2b6a99",
    "private": "#c4573a",
    "voluntary": "#4b9a5f",
    "community": "#d9a21b",
}
#: Limit families counted in whole services.
COUNT_FAMILIES = ("max_changes", "capacity_count", "min_services")
NUM_CLASS = ' class="num"'
CHANGED_CLASS = ' class="changed"'

CSS = """
:root { --ink: #1d2329; --muted: #5c6670; --rule: #d5dae0; --band: #f3f5f7; --accent: #2b6a99;
  --good: #2e7d4f; --bad: #b3261e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: var(--ink); background: #fff; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05em; margin: 24px 0 6px; }
p { margin: 6px 0; }
.meta { color: var(--muted); font-size: 0.9em; }
.headline { font-size: 1.08em; background: var(--band); border-left: 4px solid var(--accent);
  padding: 12px 16px; margin: 16px 0; }
.headline p { margin: 4px 0; }
.status-bad { border-left-color: var(--bad); }
.note { color: var(--muted); font-size: 0.88em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin: 8px 0; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
#plan-table td:first-child { min-width: 13em; }
#plan-table td:nth-child(3) { min-width: 9em; }
.option { display: block; font-size: 0.85em; color: var(--muted); }
.bound { display: block; font-size: 0.85em; color: var(--muted); }
tr.changed td { background: #fdf7e6; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
tr.setup td { color: var(--muted); }
.small { font-size: 0.85em; color: var(--muted); }
.tag { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 0.85em; }
.tag-hold { background: #fbe3df; color: var(--bad); font-weight: 600; }
.tag-at { background: #fff1cc; color: var(--warn); }
.tag-broken { background: var(--bad); color: #fff; font-weight: 600; }
.tag-ok { color: var(--good); }
td.at-limit, td.moved { background: #fff1cc; }
td.broken { background: #fbe3df; }
.chart { margin: 8px 0 4px; }
.chart svg { display: block; width: 100%; max-width: 760px; height: auto; }
.legend { font-size: 0.85em; color: var(--muted); margin: 2px 0 8px; }
.legend span.key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px;
  vertical-align: baseline; }
code { font-size: 0.9em; color: var(--muted); }
ul { margin: 4px 0 4px 20px; padding: 0; }
footer { margin-top: 36px; color: var(--muted); font-size: 0.82em;
  border-top: 1px solid var(--rule); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm 16mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  th, td { padding: 3px 4px; }
  td.num { white-space: normal; }
  #plan-table td:first-child { min-width: 9em; }
  #plan-table td:nth-child(3) { min-width: 6em; }
  thead { display: table-header-group; }
  tfoot { display: table-footer-group; }
  tr, td, th { break-inside: avoid; page-break-inside: avoid; }
  .chart, .headline, figure { break-inside: avoid; page-break-inside: avoid; }
  .chart svg { max-width: 100%; }
  .headline { background: none; border: 1px solid #999; }
  tr.changed td, td.at-limit, td.moved, td.broken { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
}
"""


# ---------------------------------------------------------------------- public API
def render_report(
    result: Mapping[str, Any],
    instance: Instance | None = None,
    *,
    sweep: Mapping[str, Any] | None = None,
    frontier: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML document presenting a result.

    Args:
        result: the result dict (``SolveResult.to_dict()``, a ``portfolio solve --output`` file),
            single-period or multi-year.
        instance: the instance the result answers; needed for today's baseline, sectors and
            service names (without it the page shows what the result alone says).
        sweep: a sweep curve, ``{"axes": [path, ...], "rows": [curve.csv row, ...]}`` (see
            :func:`load_sweep`); ``rows`` alone is enough.
        frontier: a trade-off frontier, ``{"points": [{<criterion>: value, <criterion>: value,
            "changes": n, "options": {...}}, ...], "complete": bool}``.
        title: the page title (default: the instance's or result's name).

    Returns:
        The HTML document as a string (no external URL, no script).
    """
    page = _Page(result, instance, title)
    return page.render(sweep, frontier)


def write_report(path: str | os.PathLike[str], document: str) -> None:
    """Write an HTML report atomically."""
    from portfolio.io import write_atomic

    write_atomic(path, document)


def load_sweep(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a sweep's curve: a ``portfolio sweep`` output folder, its ``curve.csv``, or JSON.

    JSON may be a list of curve rows or a mapping with ``rows`` (or ``curve``) and optionally
    ``axes``. Swept parameters are the columns that are not curve fields.

    Returns:
        ``{"axes": [path, ...], "rows": [{column: value}, ...]}`` with numbers as numbers.

    Raises:
        PortfolioError: the path does not exist or holds no curve.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "curve.csv"
    if not target.is_file():
        raise PortfolioError(f"{path}: no sweep curve there (expected a folder with curve.csv, "
                             "curve.csv itself, or a JSON file)")
    text = target.read_text(encoding="utf-8")
    axes: list[str] | None = None
    if target.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PortfolioError(f"{target}: not valid JSON: {exc}") from None
        if isinstance(data, Mapping):
            raw_axes = data.get("axes")
            axes = [str(a) for a in raw_axes] if isinstance(raw_axes, list) else None
            data = data.get("rows", data.get("curve"))
        if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
            raise PortfolioError(f"{target}: expected a list of curve rows (or {{'rows': [...]}})")
        rows = [dict(row) for row in data]
    else:
        reader = csv.DictReader(io.StringIO(text))
        rows = [{k: _cell(v) for k, v in row.items()} for row in reader]
        axes = [f for f in (reader.fieldnames or []) if f not in CURVE_FIELDS]
    if not rows:
        raise PortfolioError(f"{target}: the sweep curve has no rows")
    if axes is None:
        axes = [key for key in rows[0] if key not in CURVE_FIELDS]
    return {"axes": axes, "rows": rows}


def _ways_out_html(ways: Any) -> str:
    """The infeasibility explanation's ways out as a numbered list (``""`` when none): each way
    is a set of limits, each moved from its bound to the amount shown."""
    items = []
    for way in ways:
        if not isinstance(way, Mapping):
            continue
        moves = [
            f"{_esc(str(move.get('limit')))} {_esc(fmt_number(move.get('from')))} &rarr; "
            f"{_esc(fmt_number(move.get('to')))}"
            for move in way.get("relaxations") or []
            if isinstance(move, Mapping)
        ]
        if moves:
            items.append("<li>" + "; ".join(moves) + "</li>")
    if not items:
        return ""
    return (
        '<div id="ways-out"><p>Ways out (each restores a plan on its own; every other limit '
        'stays as it is):</p><ol>' + "".join(items) + "</ol></div>"
    )


def _cell(text: str | None) -> Any:
    if text is None or text == "":
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text in ("True", "False"):
        return text == "True"
    return text


_esc = escape


def _flag(value: Any) -> str:
    return "true" if value else "false"




def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _num_cell(value: float | None, text: str | None = None, cls: str = "num") -> str:
    shown = fmt_number(value) if text is None else text
    data = "" if value is None else f' data-value="{value!r}"'
    return f'<td class="{cls}"{data}>{_esc(shown)}</td>'


# ---------------------------------------------------------------------- the page
class _Page:
    """Everything one report needs, computed once."""

    def __init__(
        self, result: Mapping[str, Any], instance: Instance | None, title: str | None
    ) -> None:
        self.result = result
        self.instance = instance
        self.status = str(result.get("status", "unknown"))
        self.has_plan = self.status in PLAN_STATUSES and bool(result.get("services"))
        self.multi_year = bool(result.get("years")) and bool(result.get("schedule"))
        name = instance.name if instance is not None else str(result.get("instance") or "")
        self.name = name or "portfolio result"
        self.title = title or f"{self.name}: delivery plan"
        self.currency = (instance.currency if instance is not None else None) or ""
        self.base: dict[str, Any] | None = None
        if instance is not None:
            from portfolio.baseline import baseline

            self.base = baseline(instance)
        self.services = [dict(s) for s in result.get("services") or []]
        self.years: list[dict[str, Any]] = [dict(y) for y in result.get("years") or []]
        self.calendar = [int(y["year"]) for y in self.years]
        # A plan under funding scenarios: the decisions to take now and each scenario's plan.
        outcomes = result.get("scenarios")
        self.under_scenarios = (
            isinstance(result.get("here_and_now"), list)
            and isinstance(outcomes, list)
            and bool(outcomes)
            and all(isinstance(o, Mapping) and isinstance(o.get("schedule"), Mapping)
                    for o in outcomes)
        )
        if self.under_scenarios and not self.calendar:
            first = outcomes[0] if isinstance(outcomes, list) else {}
            self.calendar = [int(y["year"]) for y in first.get("years") or []]

    # ------------------------------------------------------------ helpers
    def unit(self) -> str:
        return f" ({self.currency})" if self.currency else ""

    def money(self, value: float | None) -> str:
        """Money with the instance's unit: '£19,750k' for '£k', '19,750 EUR' otherwise."""
        text = fmt_number(value)
        cur = self.currency
        if not cur or text == "—":
            return text
        sign = ""
        if text.startswith("-"):
            sign, text = "−", text[1:]
        if cur[0] in "£$€¥" and len(cur) <= 3:
            return f"{sign}{cur[0]}{text}{cur[1:]}"
        return f"{sign}{text} {cur}"

    def service_name(self, service_id: str) -> str:
        if self.instance is not None:
            service = self._services.get(service_id)
            if service is None:
                return service_id
            return service.name or service.id
        return service_id

    def sector_of(self, mode_id: str) -> str | None:
        if self.instance is None:
            return None
        sectors = self._sectors
        if mode_id not in sectors:
            try:
                sectors[mode_id] = str(self.instance.mode(mode_id).sector)
            except KeyError:
                sectors[mode_id] = None
        return sectors[mode_id]

    @functools.cached_property
    def _sectors(self) -> dict[str, str | None]:
        """Each mode's sector, as :meth:`sector_of` finds it (filled as asked)."""
        return {}

    @functools.cached_property
    def _services(self) -> dict[str, Service]:
        """The instance's services by id (the first of an id, as ``Instance.service`` finds)."""
        found: dict[str, Service] = {}
        for service in self.instance.services if self.instance is not None else []:
            found.setdefault(service.id, service)
        return found

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        """Each service's position in the instance, by id (the first of an id)."""
        found: dict[str, int] = {}
        for index, service in enumerate(
                self.instance.services if self.instance is not None else []):
            found.setdefault(service.id, index)
        return found

    @functools.cached_property
    def _columns(self) -> OptionColumns:
        """The instance's option columns (the options are read from them, never built)."""
        assert self.instance is not None
        return option_columns(self.instance)

    @functools.cached_property
    def _bounds(self) -> list[int]:
        """Where each service's options start in the columns (and where the last ends)."""
        return [int(first) for first in self._columns.first_option.tolist()]

    def _option(self, service_id: str, position: Any) -> int:
        """The column index of a service's option given by its position in the service's list,
        read as the list would read it (a negative position counts from the end).

        Raises:
            KeyError: the instance has no service of that id.
            IndexError: the service has no option at that position.
        """
        index = self._positions[service_id]
        bounds = self._bounds
        first, end = bounds[index], bounds[index + 1]
        at = int(position)
        if at < 0:
            at += end - first
        if not 0 <= at < end - first:
            raise IndexError("list index out of range")
        return first + at

    def _costs_in_year(self, options: Sequence[int], year: int) -> list[float]:
        """The annual cost of options (column indices) in 0-based horizon year ``year``."""
        chosen = np.array(options, dtype=np.int64)
        return [float(cost) for cost in self._columns.annual_cost_in_year(chosen, year).tolist()]

    def _labels(self, options: Sequence[int]) -> list[str | None]:
        labels = self._columns.labels
        return [None] * len(options) if labels is None else [labels[o] for o in options]

    def objective_label(self) -> str:
        if self.instance is not None:
            label = self.instance.objective_label
        else:
            label = "objective"
        words = {
            "maximise_outcome": "weighted outcome (maximised)",
            "minimise_cost": "cost: annual + one-off (minimised)",
        }
        text = words.get(label, label)
        if self.under_scenarios:
            count = len(self.result.get("scenarios") or [])
            return (f"{text}, discounted over the horizon; {self.risk_words()} over {count} "
                    "funding scenarios")
        return text + (", discounted over the horizon" if self.multi_year else "")

    def risk_words(self) -> str:
        """The risk measure in words: 'expected', 'worst case', 'CVaR 20%' ..."""
        risk = self.result.get("risk", "expected")
        if isinstance(risk, Mapping):
            alpha = _float(risk.get("cvar"))
            return f"mean of the worst {fmt_share(alpha)} (CVaR)"
        return {"expected": "expected value", "worst_case": "worst case"}.get(str(risk),
                                                                              str(risk))

    def limit_label(self, name: str) -> str:
        """Words for a limit's name (``limits[1]`` -> ``carbon_t``, ...)."""
        base, _, _ = name.partition("@")
        family, _, rest = base.partition("[")
        item = rest.split("]")[0] if rest else ""
        side = base.rsplit(".", 1)[1] if base.endswith((".max", ".min")) else ""
        if family == "limits" and self.instance is not None and item.isdigit():
            rows = self.instance.constraints.limits
            if int(item) < len(rows):
                row = rows[int(item)]
                where = row.sector or row.mode
                text = row.metric + (f" ({where})" if where else "")
                return text + (f", {side}" if side else "")
        words = {
            "budget": "Budget: annual cost",
            "transition_budget": "One-off money: transition, setup, termination",
            "min_outcome": "Outcome floor: weighted outcome",
            "min_flexibility": "Flexibility floor: spend-weighted mean",
            "max_changes": "Services changing mode",
        }
        if base in words:
            return words[base]
        if family == "capacity_count":
            return f"Services in {item} (capacity)"
        if family == "capacity_spend":
            return f"Spend in {item} (capacity)"
        if family == "min_services":
            return f"Services in {item} if used"
        if family == "sector_share":
            return f"{item.capitalize()} share of spend ({side})"
        if family == "same_mode" and self.instance is not None and item.isdigit():
            bundles = self.instance.constraints.same_mode
            if int(item) < len(bundles):
                return "Same mode: " + ", ".join(bundles[int(item)])
        return base

    def limit_value(self, name: str, value: float | None) -> str:
        family = name.partition("@")[0].partition("[")[0].split(".")[0]
        if family == "sector_share":
            return fmt_share(value)
        if family == "min_flexibility":
            return "—" if value is None else f"{value:.2f}"
        if family in COUNT_FAMILIES or family == "same_mode":
            return "—" if value is None else f"{value:,.0f}"
        if family in ("budget", "transition_budget", "capacity_spend"):
            return fmt_number(value)
        return fmt_number(value)

    # ------------------------------------------------------------ page
    def render(
        self, sweep: Mapping[str, Any] | None, frontier: Mapping[str, Any] | None
    ) -> str:
        parts = [self.header()]
        if self.has_plan and self.under_scenarios:
            parts.append(self.scenario_headline())
            parts.append(self.commit_now())
        elif self.has_plan:
            parts.append(self.headline())
            parts.append(self.plan_table())
            if self.multi_year:
                parts.append(self.schedule_table())
            parts.append(self.limits())
            parts.append(self.spend_chart())
            parts.append(self.changes_chart())
            if self.multi_year:
                parts.append(self.budget_chart())
        else:
            parts.append(self.no_plan())
        scenarios = self.result.get("scenarios")
        if isinstance(scenarios, list) and scenarios:
            parts.append(self.scenarios(scenarios))
        if sweep:
            parts.append(self.sweep(sweep))
        if frontier:
            parts.append(self.frontier(frontier))
        parts.append(self.footer())
        body = "\n".join(part for part in parts if part)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_esc(self.title)}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    def header(self) -> str:
        r = self.result
        bits = [f"status <strong>{_esc(self.status)}</strong>"]
        if r.get("objective") is not None:
            bits.append(f"{_esc(self.objective_label())}: "
                        f"{_esc(fmt_number(_float(r['objective'])))}")
        if r.get("gap") is not None and self.status == "feasible":
            bits.append(f"gap {float(r['gap']):.2%}")
        if r.get("backend"):
            bits.append(f"solved by {_esc(r['backend'])}")
        if r.get("verified"):
            bits.append("plan verified independently")
        if self.multi_year and self.calendar:
            bits.append(f"horizon {self.calendar[0]}–{self.calendar[-1]}")
        if self.currency:
            bits.append(f"money in {_esc(self.currency)}")
        return (
            f"<header>\n<h1>{_esc(self.title)}</h1>\n"
            f"<p class=\"meta\">{' · '.join(bits)}</p>\n</header>"
        )

    def footer(self) -> str:
        source = self.result.get("file")
        text = "Generated by portfolio from the result file"
        if source:
            text += f" of {_esc(Path(str(source)).name)}"
        text += (". Figures are rounded for reading; the result file keeps full precision. "
                 "“At limit”: the plan sits on the bound. “Holds the plan back”: relaxing the "
                 "limit by a step improves the objective (measured by a re-solve).")
        return f"<footer>{text}</footer>"

    # ------------------------------------------------------------ plan figures
    def plan_rows(self) -> list[dict[str, Any]]:
        """One row per service: today, plan, costs, outcome, changed (the plan table)."""
        rows = []
        contracts = self.result.get("contracts") or []
        one_off_of: dict[str, float] = {}
        for c in contracts:
            sid = str(c.get("service"))
            one_off_of[sid] = one_off_of.get(sid, 0.0) + float(c.get("transition_cost") or 0.0) \
                + float(c.get("termination_cost") or 0.0)
        schedule = self.result.get("schedule") or {}
        options = self.result.get("schedule_options") or {}
        last = len(self.calendar) - 1
        base_options = (self.base or {}).get("options") or {}
        # Rows whose figures come from the instance's options: (row, plan option, today's
        # option, the service's weight), the options read from the columns once all are known.
        priced: list[tuple[dict[str, Any], int, int, float]] = []
        for s in self.services:
            sid = str(s["service"])
            row: dict[str, Any] = {
                "service": sid,
                "name": self.service_name(sid),
                "today": str(s.get("current_mode")),
            }
            if self.multi_year:
                modes = [str(m) for m in schedule.get(sid, [])]
                row["plan"] = self.path_text(str(s.get("current_mode")), modes)
                row["changed"] = any(m != row["today"] for m in modes)
                row["one_off"] = one_off_of.get(sid, 0.0)
                row["label"] = None
                row["plan_cost"] = None
                row["outcome"] = None
                row["today_cost"] = None
                if self.instance is not None and sid in options and last >= 0:
                    final = self._option(sid, options[sid][last])
                    current = self._option(sid, base_options.get(sid, 0))
                    priced.append((row, final, current, self._services[sid].weight))
            else:
                row["plan"] = str(s.get("mode"))
                row["label"] = s.get("label")
                row["changed"] = bool(s.get("changes"))
                row["plan_cost"] = _float(s.get("annual_cost"))
                row["one_off"] = _float(s.get("transition_cost")) or 0.0
                row["outcome"] = _float(s.get("weighted_outcome"))
                row["today_cost"] = None
                if self.instance is not None:
                    current = self._option(sid, base_options.get(sid, 0))
                    priced.append((row, -1, current, 0.0))
            rows.append(row)
        if priced:
            year = max(last, 0) if self.multi_year else 0
            today = self._costs_in_year([p[2] for p in priced], year)
            for (row, _, _, _), cost in zip(priced, today, strict=True):
                row["today_cost"] = cost
            if self.multi_year:
                finals = [p[1] for p in priced]
                outcomes = self._columns.outcome[np.array(finals, dtype=np.int64)].tolist()
                for (row, _, _, weight), cost, outcome, label in zip(
                    priced, self._costs_in_year(finals, year), outcomes, self._labels(finals),
                    strict=True,
                ):
                    row["plan_cost"] = cost
                    row["outcome"] = weight * outcome
                    row["label"] = label
        return rows

    def path_text(self, today: str, modes: Sequence[str]) -> str:
        """A year-by-year schedule in words: 'in_house; private from 2029'."""
        if not modes:
            return today
        pieces = []
        previous = None
        for year, mode in zip(self.calendar, modes, strict=False):
            if mode != previous:
                pieces.append(mode if previous is None else f"{mode} from {year}")
                previous = mode
        return "; ".join(pieces)

    def setup_rows(self) -> list[tuple[str, float]]:
        """Setup costs of the modes the plan sets up (a line of their own in the table)."""
        if self.instance is None:
            return []
        if self.multi_year:
            used = self.result.get("modes_first_used") or {}
            modes = list(used)
        else:
            modes = [str(m) for m in self.result.get("modes_used") or []]
        rows = []
        for mode_id in modes:
            try:
                cost = self.instance.mode(mode_id).setup_cost
            except KeyError:
                continue
            if cost > 0:
                rows.append((mode_id, cost))
        return rows

    def plan_totals(self) -> dict[str, float]:
        """Totals of the plan: annual cost (final year for multi-year), one-off, outcome."""
        if self.multi_year:
            last = self.years[-1]
            return {
                "annual_cost": float(last.get("annual_cost") or 0.0),
                "outcome": float(last.get("weighted_outcome") or 0.0),
                "one_off": math.fsum(
                    float(y.get("transition_cost") or 0.0) + float(y.get("setup_cost") or 0.0)
                    + float(y.get("termination_cost") or 0.0)
                    for y in self.years
                ),
                "spend": math.fsum(float(y.get("annual_cost") or 0.0) for y in self.years),
            }
        annual = math.fsum(float(s.get("annual_cost") or 0.0) for s in self.services)
        transition = math.fsum(float(s.get("transition_cost") or 0.0) for s in self.services)
        setup = math.fsum(cost for _, cost in self.setup_rows())
        return {
            "annual_cost": annual,
            "outcome": math.fsum(float(s.get("weighted_outcome") or 0.0) for s in self.services),
            "one_off": transition + setup,
            "spend": annual,
        }

    # ------------------------------------------------------------ sections
    def headline(self) -> str:
        r = self.result
        changes = [str(c) for c in r.get("changes") or []]
        if self.multi_year:
            changes = self._changed_in_order(
                {str(s) for y in self.years for s in y.get("changes") or []}
            )
        total = len(self.services)
        names = [self.service_name(c) for c in changes]
        listed = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        when = f" over {self.calendar[0]}–{self.calendar[-1]}" if self.multi_year else ""
        if changes:
            first = (f"The plan changes how {len(changes)} of {total} services are delivered"
                     f"{when} ({_esc(listed)}).")
        else:
            first = f"The plan keeps all {total} services as they are today{when}."
        sentences = [first]
        totals = self.plan_totals()
        base = self.base
        objective = _float(r.get("objective"))
        if base is None:
            sentences.append(
                "Today's baseline is not shown: it needs the instance file "
                "(<code>--instance</code>)."
            )
            return self._headline_box(sentences)
        if self.multi_year:
            last_year = self.calendar[-1]
            base_years = base.get("years") or []
            base_last = base_years[-1] if base_years else {}
            base_cost = base_last.get("annual_cost")
            base_outcome = float(base_last.get("outcome") or 0.0)
            outcome_change = fmt_signed(
                totals["outcome"] - base_outcome, totals["outcome"], base_outcome
            )
            sentences.append(
                f"By {last_year} it spends {_esc(self.money(totals['annual_cost']))} a year "
                f"against {_esc(self.money(base_last.get('annual_cost')))} if today's "
                f"arrangements continue ({_esc(self.saving(base_cost, totals['annual_cost']))}), "
                f"with a weighted outcome of {_esc(fmt_number(totals['outcome']))} against "
                f"{_esc(fmt_number(base_last.get('outcome')))} "
                f"({_esc(outcome_change)}); "
                f"one-off costs over the horizon come to {_esc(self.money(totals['one_off']))}."
            )
        else:
            base_outcome = float(base["outcome"])
            outcome_change = fmt_signed(
                totals["outcome"] - base_outcome, totals["outcome"], base_outcome
            )
            sentences.append(
                f"It costs {_esc(self.money(totals['annual_cost']))} a year against "
                f"{_esc(self.money(base['annual_cost']))} today "
                f"({_esc(self.saving(base['annual_cost'], totals['annual_cost']))}), "
                f"for a weighted outcome of {_esc(fmt_number(totals['outcome']))} against "
                f"{_esc(fmt_number(base['outcome']))} "
                f"({_esc(outcome_change)}), "
                f"with one-off costs of {_esc(self.money(totals['one_off']))}."
            )
        if objective is not None:
            gain = objective - float(base["objective"])
            better = gain > 0 if self._maximise() else gain < 0
            word = "better" if better else ("no change" if abs(gain) < 1e-9 else "worse")
            if not base["feasible"]:
                word = ""  # the next sentence says today's arrangement is not an option
            sentences.append(
                f"Objective, {_esc(self.objective_label())}: {_esc(fmt_number(objective))} "
                f"against {_esc(fmt_number(float(base['objective'])))} for today's arrangement "
                f"({_esc(fmt_signed(gain, objective, float(base['objective'])))}"
                f"{', ' + word if word else ''})."
            )
        if base["feasible"]:
            sentences.append("Today's arrangement meets every limit.")
        else:
            broken = self._broken_summary(base["violations"])
            sentences.append(
                f"Today's arrangement is not an option: it breaks {broken}; the plan meets every "
                "limit." if r.get("verified") else f"Today's arrangement breaks {broken}."
            )
        return self._headline_box(sentences)

    def _changed_in_order(self, changed: set[str]) -> list[str]:
        """The services that change, in the order of the result's services."""
        order: dict[str, int] = {}
        for index, s in enumerate(self.services):
            order.setdefault(str(s["service"]), index)
        return sorted(changed, key=order.__getitem__)

    def saving(self, today: Any, plan: float) -> str:
        base = _float(today)
        if base is None:
            return "today unknown"
        diff = base - plan
        if abs(diff) < 0.5e-9 * max(1.0, abs(base)):
            return "the same"
        return f"saves {self.money(diff)}" if diff > 0 else f"costs {self.money(-diff)} more"

    def _maximise(self) -> bool:
        if self.instance is not None:
            return self.instance.objective_sense == "maximise"
        return True

    def _broken_summary(self, violations: Sequence[Mapping[str, Any]]) -> str:
        names: dict[str, list[Mapping[str, Any]]] = {}
        for v in violations:
            names.setdefault(str(v.get("name")), []).append(v)
        pieces = []
        for name, items in names.items():
            if name == "rule":
                pieces += [_esc(str(v.get("text"))) for v in items]
                continue
            label = self.limit_label(name)
            if self.multi_year:
                years = sorted({int(v["year"]) for v in items if v.get("year") is not None})
                span = f"{years[0]}" if len(years) == 1 else f"{len(years)} years"
                pieces.append(f"{_esc(label)} ({span})")
            else:
                by = self.limit_value(name, _float(items[0].get("by")))
                pieces.append(f"{_esc(label)} (by {_esc(by)})")
        return ", ".join(pieces) if pieces else "a rule"

    def _headline_box(self, sentences: Sequence[str]) -> str:
        body = " ".join(sentences[:2])
        rest = "".join(f"<p>{s}</p>" for s in sentences[2:])
        return f'<section id="headline" class="headline"><p>{body}</p>{rest}</section>'

    def plan_table(self) -> str:
        rows = self.plan_rows()
        unit = self.unit()
        if self.multi_year:
            last = self.calendar[-1]
            cost_today = f"Annual cost {last}, today's continued{unit}"
            cost_plan = f"Annual cost {last}, plan{unit}"
            one_off = f"One-off {self.calendar[0]}–{last}{unit}"
            outcome = f"Outcome {last}"
        else:
            cost_today = f"Annual cost today{unit}"
            cost_plan = f"Annual cost plan{unit}"
            one_off = f"One-off cost{unit}"
            outcome = "Outcome (weighted)"
        head = (
            "<thead><tr><th>Service</th><th>Today</th><th>Plan</th>"
            f'<th class="num">{_esc(cost_today)}</th><th class="num">{_esc(cost_plan)}</th>'
            f'<th class="num">{_esc(one_off)}</th><th class="num">{_esc(outcome)}</th>'
            "<th>Changed</th></tr></thead>"
        )
        body = []
        for row in rows:
            label = f'<span class="option">{_esc(row["label"])}</span>' if row["label"] else ""
            body.append(
                f'<tr data-service="{_esc(row["service"])}"'
                f"{CHANGED_CLASS if row['changed'] else ''}>"
                f'<td>{_esc(row["name"])}</td><td>{_esc(row["today"])}</td>'
                f'<td data-plan="{_esc(row["plan"])}">{_esc(row["plan"])}{label}</td>'
                + _num_cell(row["today_cost"])
                + _num_cell(row["plan_cost"])
                + _num_cell(row["one_off"])
                + _num_cell(row["outcome"])
                + f'<td>{"yes" if row["changed"] else ""}</td></tr>'
            )
        foot = []
        setup = self.setup_rows()
        for mode_id, cost in setup:
            when = ""
            if self.multi_year:
                when = f" ({(self.result.get('modes_first_used') or {}).get(mode_id)})"
            foot.append(
                f'<tr class="setup" data-setup="{_esc(mode_id)}"><td colspan="5">Set-up of '
                f"{_esc(mode_id)}{_esc(when)}, paid once</td>"
                + _num_cell(cost) + "<td></td><td></td></tr>"
            )
        totals = self.plan_totals()
        today_total = None
        if all(row["today_cost"] is not None for row in rows):
            today_total = math.fsum(row["today_cost"] for row in rows)
        changed = sum(1 for row in rows if row["changed"])
        foot.append(
            '<tr class="total"><td colspan="3">Total</td>'
            + _num_cell(today_total)
            + _num_cell(totals["annual_cost"])
            + _num_cell(totals["one_off"])
            + _num_cell(totals["outcome"])
            + f"<td>{changed} of {len(rows)}</td></tr>"
        )
        note = ""
        if self.multi_year:
            note = (
                f'<p class="note">Costs and outcomes are those of {self.calendar[-1]}, the last '
                "year of the horizon (where the plan leaves the council); one-off costs are "
                "transition and termination payments over the horizon. The year-by-year "
                "schedule follows.</p>"
            )
        return (
            '<section id="plan"><h2>The plan, service by service</h2>'
            f'<table id="plan-table">{head}<tbody>{"".join(body)}</tbody>'
            f'<tfoot>{"".join(foot)}</tfoot></table>{note}</section>'
        )

    def schedule_table(self) -> str:
        schedule = self.result.get("schedule") or {}
        table, others = self._schedule_table(schedule, "schedule-table")
        return (
            '<section id="schedule"><h2>Year by year: the services that change</h2>'
            f"{table}"
            f'<p class="note">Highlighted: the year a service moves. The other {others} '
            "services stay as they are today in every year.</p></section>"
        )

    def _schedule_table(self, schedule: Mapping[str, Any], table_id: str) -> tuple[str, int]:
        """The services that change in ``schedule``, years as columns (the year each moves
        highlighted), and how many do not change."""
        moving = [
            str(s["service"]) for s in self.services
            if any(m != s.get("current_mode") for m in schedule.get(str(s["service"]), []))
        ]
        head = "".join(f'<th class="num">{y}</th>' for y in self.calendar)
        today_of: dict[Any, str] = {}
        for s in self.services:
            today_of.setdefault(s["service"], str(s["current_mode"]))
        body = []
        for sid in moving:
            modes = schedule[sid]
            today = today_of[sid]
            cells = []
            previous = today
            for mode in modes:
                cls = ' class="moved"' if mode != previous else ""
                cells.append(f"<td{cls}>{_esc(mode)}</td>")
                previous = mode
            body.append(
                f'<tr data-service="{_esc(sid)}"><td>{_esc(self.service_name(sid))}</td>'
                f"<td>{_esc(today)}</td>{''.join(cells)}</tr>"
            )
        others = len(self.services) - len(moving)
        return (
            f'<table id="{_esc(table_id)}" class="schedule"><thead><tr><th>Service</th>'
            f"<th>Today</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
            others,
        )

    def gains(self) -> dict[str, float | None]:
        """Measured gains by limit name, from the checks or a ``limits`` list when present."""
        gains: dict[str, float | None] = {}
        for check in self.result.get("checks") or []:
            if "gain" in check:
                gains[str(check["name"])] = _float(check.get("gain"))
        extra = self.result.get("limits")
        if isinstance(extra, list):
            for row in extra:
                if isinstance(row, Mapping) and "name" in row and "gain" in row:
                    gains[str(row["name"])] = _float(row.get("gain"))
        return gains

    def limits(self) -> str:
        checks = [c for c in self.result.get("checks") or [] if isinstance(c, Mapping)]
        if not checks:
            return ('<section id="limits"><h2>Limits</h2><p>The instance sets no limits.</p>'
                    "</section>")
        gains = self.gains()
        measured = bool(gains)
        if self.multi_year:
            table = self._limits_by_year(gains)
        else:
            table = self._limits_table(checks, gains)
        held = sorted(name for name, gain in gains.items() if gain is not None and gain > 1e-9)
        if measured:
            note = ("“Holds the plan back”: relaxing the limit by one step improves the objective "
                    "by the gain shown (measured by a re-solve). “At limit”: the plan sits on "
                    "the bound, but relaxing it gains nothing or was not measured.")
            if held:
                note = (f"{len(held)} limit(s) hold the plan back: "
                        f"{_esc(', '.join(self.limit_label(n) for n in held))}. " + note)
        else:
            note = ("“At limit”: the plan sits on the bound. Whether relaxing a limit would "
                    "improve the plan was not measured for this result (no gains recorded), so "
                    "no limit is claimed to hold the plan back.")
        return (f'<section id="limits"><h2>Limits: where the plan stands</h2>{table}'
                f'<p class="note">{note}</p></section>')

    def _status_tag(self, binding: bool, ok: bool, gain: float | None, known: bool) -> str:
        if not ok:
            return '<span class="tag tag-broken">broken</span>'
        if known and gain is not None and gain > 1e-9:
            return '<span class="tag tag-hold">holds the plan back</span>'
        if binding:
            return '<span class="tag tag-at">at limit</span>'
        return '<span class="tag tag-ok">within</span>'

    def _limits_table(
        self, checks: Sequence[Mapping[str, Any]], gains: Mapping[str, float | None]
    ) -> str:
        with_gain = bool(gains)
        head = ("<thead><tr><th>Limit</th><th class=\"num\">Plan</th><th>Sense</th>"
                "<th class=\"num\">Bound</th><th>Where the plan stands</th>"
                + ('<th class="num">Gain of one step</th>' if with_gain else "")
                + "</tr></thead>")
        body = []
        for check in checks:
            name = str(check.get("name"))
            value, bound = _float(check.get("value")), _float(check.get("limit"))
            sense = {"<=": "≤", ">=": "≥", "=": "="}.get(str(check.get("sense")), "")
            known = name in gains
            gain = gains.get(name)
            detail = check.get("detail")
            label = self.limit_label(name)
            shown_value = self.limit_value(name, value)
            if name.startswith("same_mode"):
                shown_value = "shared" if check.get("ok") else "split"
            extra = f' <span class="small">{_esc(detail)}</span>' if detail else ""
            shown_bound = self.limit_value(name, bound)
            if name.startswith("same_mode"):
                shown_bound = "one mode"
            tag = self._status_tag(
                bool(check.get("binding")), bool(check.get("ok", True)), gain, known
            )
            body.append(
                f'<tr data-limit="{_esc(name)}" data-binding="{_flag(check.get("binding"))}">'
                f"<td>{_esc(label)} <code>{_esc(name)}</code>{extra}</td>"
                + _num_cell(value, shown_value)
                + f"<td>{sense}</td>"
                + _num_cell(bound, shown_bound)
                + f"<td>{tag}</td>"
                + ((_num_cell(gain) if known else '<td class="num">—</td>') if with_gain else "")
                + "</tr>"
            )
        return f'<table id="limits-table">{head}<tbody>{"".join(body)}</tbody></table>'

    def _limits_by_year(self, gains: Mapping[str, float | None]) -> str:
        names: list[str] = []
        for year in self.years:
            for key, value in year.items():
                if isinstance(value, Mapping) and "limit" in value and key not in names:
                    names.append(key)
        head = "".join(f'<th class="num">{y}</th>' for y in self.calendar)
        body = []
        for name in names:
            sense = ""
            cells = []
            for year in self.years:
                check = year.get(name)
                if not isinstance(check, Mapping):
                    cells.append('<td class="num">—</td>')
                    continue
                sense = {"<=": "≤", ">=": "≥", "=": "="}.get(str(check.get("sense")), "")
                full = f"{name}@{year['year']}"
                gain = gains.get(full)
                cls = "num"
                tag = ""
                if not check.get("ok", True):
                    cls += " broken"
                    tag = " broken"
                elif full in gains and gain is not None and gain > 1e-9:
                    cls += " at-limit"
                    tag = f" · holds back (+{fmt_number(gain)})"
                elif check.get("binding"):
                    cls += " at-limit"
                    tag = " · at limit"
                value, bound = _float(check.get("value")), _float(check.get("limit"))
                if name.startswith("same_mode"):
                    text = _esc("shared" if check.get("ok") else "split")
                else:
                    text = (f"{_esc(self.limit_value(name, value))}<span class=\"bound\">"
                            f"{sense} {_esc(self.limit_value(name, bound))}{_esc(tag)}</span>")
                cells.append(
                    f'<td class="{cls}" data-binding="{_flag(check.get("binding"))}"'
                    f' data-value="{value!r}">{text}</td>'
                )
            body.append(
                f'<tr data-limit="{_esc(name)}"><td>{_esc(self.limit_label(name))} '
                f"<code>{_esc(name)}</code></td>{''.join(cells)}</tr>"
            )
        return (f'<table id="limits-table"><thead><tr><th>Limit (plan value, bound)</th>{head}'
                f"</tr></thead><tbody>{''.join(body)}</tbody></table>")

    # ------------------------------------------------------------ charts
    def sector_spend(self) -> tuple[list[str], list[str], list[list[float]]]:
        """Categories (years), series (sectors, or modes without the instance), values."""
        if self.multi_year:
            options = self.result.get("schedule_options") or {}
            schedule = self.result.get("schedule") or {}
            if self.instance is None or not options:
                return ([str(y) for y in self.calendar], ["annual cost"],
                        [[float(y.get("annual_cost") or 0.0) for y in self.years]])
            sectors = self._series_order()
            values = [[0.0] * len(self.calendar) for _ in sectors]
            where: dict[str, int] = {}
            for index, sector in enumerate(sectors):
                where.setdefault(sector, index)
            # Each service's options read from the columns, a year at a time; the sums are
            # added up service by service, in the result's order.
            chosen = [
                [self._option(sid, position) for position in positions]
                for sid, positions in options.items()
            ]
            mode_ids = self._columns.mode_ids
            for t in range(max(map(len, chosen), default=0)):
                running = [(sid, row[t]) for sid, row in zip(options, chosen, strict=True)
                           if t < len(row)]
                picked = np.array([option for _, option in running], dtype=np.int64)
                costs = self._columns.annual_cost_in_year(picked, t).tolist()
                modes = self._columns.mode[picked].tolist()
                for (sid, _), cost, mode in zip(running, costs, modes, strict=True):
                    sector = self.sector_of(str(schedule[sid][t])) or mode_ids[mode]
                    index = where[sector] if sector in where else sectors.index(sector)
                    values[index][t] += cost
            keep = [i for i, row in enumerate(values) if any(v > 0 for v in row)]
            return ([str(y) for y in self.calendar], [sectors[i] for i in keep],
                    [values[i] for i in keep])
        series: list[str] = self._series_order()
        totals = dict.fromkeys(series, 0.0)
        for s in self.services:
            key = self.sector_of(str(s["mode"])) or str(s["mode"])
            if key not in totals:
                totals[key] = 0.0
                series.append(key)
            totals[key] += float(s.get("annual_cost") or 0.0)
        kept = [k for k in series if totals[k] > 0]
        return ["plan"], kept, [[totals[k]] for k in kept]

    def _series_order(self) -> list[str]:
        if self.instance is None:
            return []
        order = [s for s in SECTOR_COLORS]
        for mode in self.instance.modes:
            if str(mode.sector) not in order:
                order.append(str(mode.sector))
        return order

    def spend_chart(self) -> str:
        categories, series, values = self.sector_spend()
        colors = [SECTOR_COLORS.get(name, PALETTE[i % len(PALETTE)])
                  for i, name in enumerate(series)]
        svg = bar_chart(
            "spend-chart", categories,
            [(name, vals, color) for name, vals, color in zip(series, values, colors, strict=True)],
            y_label=f"annual cost{self.unit()}",
        )
        what = "each year" if self.multi_year else "in the plan"
        by = "sector" if self.instance is not None else "mode"
        return (f'<section id="spend"><h2>Annual spend by {by} {what}</h2>'
                f'<figure class="chart">{svg}</figure>{legend(series, colors)}</section>')

    def changes_chart(self) -> str:
        if self.multi_year:
            categories = [str(y) for y in self.calendar]
            counts = [float(len(y.get("changes") or [])) for y in self.years]
            title = "Services changing mode, per year"
        else:
            categories = ["plan"]
            counts = [float(len(self.result.get("changes") or []))]
            title = "Services changing mode"
        svg = bar_chart("changes-chart", categories, [("changes", counts, "#7a5aa6")],
                        y_label="services", whole=True, labels=True)
        return (f'<section id="changes"><h2>{title}</h2>'
                f'<figure class="chart">{svg}</figure></section>')

    def budget_chart(self) -> str:
        spend = [float(y.get("annual_cost") or 0.0) for y in self.years]
        lines: list[tuple[str, list[float | None], str, bool]] = []
        budget = [
            _float(y["budget"].get("limit")) if isinstance(y.get("budget"), Mapping) else None
            for y in self.years
        ]
        if any(b is not None for b in budget):
            lines.append(("budget", budget, "#b3261e", False))
        base_years = (self.base or {}).get("years") or []
        if base_years:
            lines.append(("today's arrangements continued",
                          [_float(y.get("annual_cost")) for y in base_years], "#5c6670", True))
        svg = bar_chart("budget-chart", [str(y) for y in self.calendar],
                        [("plan spend", spend, "#2b6a99")], y_label=f"annual cost{self.unit()}",
                        lines=lines, zero=False)
        names = ["plan spend"] + [name for name, _, _, _ in lines]
        colors = ["#2b6a99"] + [color for _, _, color, _ in lines]
        return (f'<section id="budget-path"><h2>The budget path against spend</h2>'
                f'<figure class="chart">{svg}</figure>{legend(names, colors)}</section>')

    # ------------------------------------------------------------ extras
    def no_plan(self) -> str:
        r = self.result
        parts = [
            f'<section id="no-plan" class="headline status-bad"><p><strong>No plan: the '
            f"result's status is “{_esc(self.status)}”.</strong> "
            + _esc(_status_words(self.status)) + "</p>"
        ]
        if r.get("detail"):
            parts.append(f'<p class="small">Solver: {_esc(r["detail"])}</p>')
        parts.append("</section>")
        explanation = r.get("explanation")
        if isinstance(explanation, Mapping):
            parts.append('<section id="explanation"><h2>What would have to give</h2>')
            if explanation.get("summary"):
                parts.append(f"<p>{_esc(explanation['summary'])}</p>")
            for key, heading in (("relaxations", ""),
                                 ("single_fixes", "Any one of these alone would also do:")):
                items = explanation.get(key) or []
                if items:
                    if heading:
                        parts.append(f"<p>{heading}</p>")
                    parts.append("<ul>" + "".join(
                        f"<li>{_esc(item.get('text') or item.get('constraint'))}</li>"
                        for item in items if isinstance(item, Mapping)) + "</ul>")
            structural = explanation.get("structural") or []
            if structural:
                parts.append("<ul>" + "".join(f"<li>{_esc(s)}</li>" for s in structural)
                             + "</ul>")
            parts.append(_ways_out_html(explanation.get("ways_out") or []))
            parts.append("</section>")
        violations = r.get("violations") or []
        if violations:
            parts.append('<section id="violations"><h2>What failed verification</h2><ul>'
                         + "".join(f"<li>{_esc(v)}</li>" for v in violations) + "</ul></section>")
        if self.base is not None:
            base = self.base
            state = ("meets every limit" if base["feasible"]
                     else "breaks " + self._broken_summary(base["violations"]))
            parts.append(
                '<section id="baseline"><h2>Today\'s arrangement</h2>'
                f"<p>Annual cost {_esc(self.money(base['annual_cost']))}, weighted outcome "
                f"{_esc(fmt_number(base['outcome']))}, objective "
                f"{_esc(fmt_number(base['objective']))}; it {state}.</p></section>"
            )
        return "".join(parts)

    # ------------------------------------------------------------ funding scenarios
    def _committing(self) -> tuple[list[Mapping[str, Any]], int]:
        """The decisions of the first year that commit to something (a change, a break, a
        contract procured ahead), and how many keep the current arrangement."""
        decisions = [d for d in self.result.get("here_and_now") or [] if isinstance(d, Mapping)]
        first = self.calendar[0] if self.calendar else None
        now = [
            d for d in decisions
            if d.get("changes_mode") or d.get("action") == "break"
            or (first is not None and int(d.get("start_year") or first) > first)
        ]
        return now, len(decisions) - len(now)

    def scenario_headline(self) -> str:
        r = self.result
        count = len(r.get("scenarios") or [])
        split = r.get("first_split")
        when = (f"they are first told apart in {split}" if split is not None
                else "they are never told apart")
        now, _ = self._committing()
        first = self.calendar[0] if self.calendar else ""
        commit = (f"{len(now)} decision{'s' if len(now) != 1 else ''} to take in {first}, "
                  "whichever scenario comes" if now else f"nothing to change in {first}")
        sentences = [
            f"A plan for {count} funding scenarios: {when}. It holds in every scenario and "
            f"decides each year only on what is known by then: {commit}.",
        ]
        objective = _float(r.get("objective"))
        if objective is not None:
            sentences.append(
                f"Objective: {_esc(fmt_number(objective))}, the {_esc(self.risk_words())} over "
                "the scenarios."
            )
        return self._headline_box(sentences)

    def commit_now(self) -> str:
        now, kept = self._committing()
        first = self.calendar[0] if self.calendar else ""
        items = []
        for d in now:
            detail = (f"{self.service_name(str(d.get('service')))}: decided {d.get('decided_year')}"
                      f", starts {d.get('start_year')}")
            items.append(
                f'<li data-service="{_esc(d.get("service"))}" data-action="{_esc(d.get("action"))}"'
                f'>{_esc(d.get("words"))} <span class="small">({_esc(detail)})</span></li>'
            )
        listed = (f"<ul id=\"commit-list\">{''.join(items)}</ul>" if items
                  else "<p>No change: every service keeps its current arrangement.</p>")
        note = (f'<p class="note">{kept} other decision{"s" if kept != 1 else ""} of {first} '
                f"keep{'s' if kept == 1 else ''} the current arrangement. Later decisions wait "
                "until the year they are "
                "taken, when more is known: each scenario's plan follows.</p>" if kept else
                '<p class="note">Later decisions wait until the year they are taken, when more '
                "is known: each scenario's plan follows.</p>")
        return (f'<section id="commit-now"><h2>Commit now ({_esc(first)}), whichever scenario '
                f"comes</h2>{listed}{note}</section>")

    def scenario_plans(self, rows: Sequence[Mapping[str, Any]]) -> str:
        """Each scenario's year-by-year schedule and yearly figures."""
        parts = []
        for index, row in enumerate(rows):
            name = str(row.get("name"))
            table, others = self._schedule_table(row.get("schedule") or {},
                                                 f"scenario-schedule-{index}")
            years = [y for y in row.get("years") or [] if isinstance(y, Mapping)]
            figures = ""
            if years:
                head = "".join(f'<th class="num">{_esc(y.get("year"))}</th>' for y in years)
                lines: list[tuple[str, list[float | None]]] = [
                    ("Annual cost" + self.unit(), [_float(y.get("annual_cost")) for y in years]),
                    ("Budget" + self.unit(), [
                        _float(y["budget"].get("limit")) if isinstance(y.get("budget"), Mapping)
                        else None for y in years]),
                    ("One-off" + self.unit(), [
                        math.fsum(float(y.get(k) or 0.0) for k in
                                  ("transition_cost", "setup_cost", "termination_cost"))
                        for y in years]),
                    ("Weighted outcome", [_float(y.get("weighted_outcome")) for y in years]),
                ]
                body = "".join(
                    f"<tr><td>{_esc(label)}</td>{''.join(_num_cell(v) for v in values)}</tr>"
                    for label, values in lines if any(v is not None for v in values)
                )
                figures = (f'<table class="scenario-years"><thead><tr><th>Year</th>{head}</tr>'
                           f"</thead><tbody>{body}</tbody></table>")
            parts.append(
                f'<div class="scenario-plan" data-scenario="{_esc(name)}">'
                f"<h3>Scenario {_esc(name)}: probability "
                f"{_esc(fmt_share(_float(row.get('probability'))))}, objective "
                f"{_esc(fmt_number(_float(row.get('objective'))))}</h3>{table}"
                f'<p class="note">Highlighted: the year a service moves.{_others(others)}</p>'
                f"{figures}</div>"
            )
        return "".join(parts)

    def scenarios(self, scenarios: Sequence[Any]) -> str:
        rows = [dict(s) for s in scenarios if isinstance(s, Mapping)]
        if self.under_scenarios:
            rows = [{k: v for k, v in row.items()
                     if k in ("name", "probability", "objective")} | {"_plan": row}
                    for row in rows]
        keys = ["name", "probability", "objective"]
        for row in rows:
            for key, value in row.items():
                if key.startswith("_"):
                    continue
                if key not in keys and (isinstance(value, (int, float, str)) or value is None):
                    keys.append(key)
        head = "".join(
            f"<th{NUM_CLASS if k not in ('name', 'status') else ''}>"
            f"{_esc(k.replace('_', ' '))}</th>" for k in keys
        )
        body = []
        for row in rows:
            cells = []
            for key in keys:
                value = row.get(key)
                if key == "probability":
                    cells.append(_num_cell(_float(value), fmt_share(_float(value))))
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    cells.append(_num_cell(float(value)))
                else:
                    cells.append(f"<td>{_esc('' if value is None else value)}</td>")
            body.append(f'<tr data-scenario="{_esc(row.get("name"))}">{"".join(cells)}</tr>')
        objectives = [_float(row.get("objective")) for row in rows]
        chart = ""
        if any(v is not None for v in objectives):
            chart = '<figure class="chart">' + bar_chart(
                "scenario-chart", [str(row.get("name")) for row in rows],
                [("objective", [v or 0.0 for v in objectives], "#3a9aa3")],
                y_label="objective", labels=True, zero=False) + "</figure>"
        expected = self.result.get("expected_objective")
        note = (f'<p>Expected objective: {_esc(fmt_number(_float(expected)))}.</p>'
                if _float(expected) is not None else "")
        plans = ""
        if self.under_scenarios:
            combined = _float(self.result.get("objective"))
            note = (f'<p id="risk">The scenarios\' objectives combine by the '
                    f"<strong>{_esc(self.risk_words())}</strong>: "
                    f"{_esc(fmt_number(combined))}, the plan's objective.</p>")
            plans = self.scenario_plans([row["_plan"] for row in rows])
        return (f'<section id="scenarios"><h2>Outcomes by scenario</h2>{note}'
                f'<table id="scenario-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>{chart}{plans}</section>")

    def sweep(self, sweep: Mapping[str, Any]) -> str:
        rows = [dict(r) for r in sweep.get("rows") or sweep.get("curve") or []
                if isinstance(r, Mapping)]
        axes = [str(a) for a in sweep.get("axes") or []]
        if not axes and rows:
            axes = [k for k in rows[0] if k not in CURVE_FIELDS]
        if not rows or not axes:
            return ('<section id="sweep"><h2>Sweep</h2><p>The sweep has no curve to show.</p>'
                    "</section>")
        axis = axes[0]
        groups: dict[str, list[tuple[float, float, str]]] = {}
        for row in rows:
            x, y = _float(row.get(axis)), _float(row.get("objective"))
            if x is None or y is None:
                continue
            key = ", ".join(f"{a}={row.get(a)}" for a in axes[1:]) or "objective"
            changes = row.get("changes")
            groups.setdefault(key, []).append(
                (x, y, "" if changes is None else f"{int(float(changes))}"))
        series = [(name, sorted(points)) for name, points in groups.items()]
        svg = xy_chart("sweep-chart", series, x_label=axis, y_label=self.objective_label(),
                       connect=True)
        columns = [*axes, "status", "objective", "changes", "annual_cost"]
        head = "".join(f"<th{NUM_CLASS if c != 'status' else ''}>"
                       f"{_esc(c.replace('_', ' '))}</th>" for c in columns)
        body = []
        for row in rows:
            cells = []
            for c in columns:
                value = row.get(c)
                number = _float(value)
                if c == "status" or number is None:
                    cells.append(f"<td>{_esc('' if value is None else value)}</td>")
                else:
                    cells.append(_num_cell(number))
            body.append(f"<tr>{''.join(cells)}</tr>")
        infeasible = sum(1 for row in rows if row.get("status") not in PLAN_STATUSES)
        note = (f'<p class="note">Each point is labelled with the number of services that change '
                f"mode. {infeasible} variant(s) had no plan and are not drawn.</p>")
        return (f'<section id="sweep"><h2>Sweep of {_esc(", ".join(axes))}</h2>'
                f'<figure class="chart">{svg}</figure>'
                + (legend([n for n, _ in series], list(PALETTE[: len(series)]))
                   if len(series) > 1 else "")
                + note + f'<table id="sweep-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table></section>")

    def frontier(self, frontier: Mapping[str, Any]) -> str:
        points = [dict(p) for p in frontier.get("points") or [] if isinstance(p, Mapping)]
        criteria = [k for k in (points[0] if points else {})
                    if k not in ("changes", "options", "assignment", "status")
                    and _float(points[0].get(k)) is not None]
        if len(criteria) < 2:
            return ('<section id="frontier"><h2>Trade-off frontier</h2><p>The frontier has no '
                    "two criteria to draw.</p></section>")
        cx, cy = criteria[0], criteria[1]
        drawn = [(float(p[cx]), float(p[cy]), str(p.get("changes", ""))) for p in points
                 if _float(p.get(cx)) is not None and _float(p.get(cy)) is not None]
        marks: list[tuple[str, float, float, str]] = []
        for label, figures in (("today", self._criteria_of_baseline()),
                               ("plan", self._criteria_of_plan())):
            if figures and cx in figures and cy in figures:
                color = "#5c6670" if label == "today" else "#b3261e"
                marks.append((label, figures[cx], figures[cy], color))
        svg = xy_chart("frontier-chart", [("frontier", drawn)], x_label=cx, y_label=cy,
                       connect=True, marks=marks)
        head = "".join(f'<th class="num">{_esc(c.replace("_", " "))}</th>'
                       for c in [*criteria, "changes"])
        body = "".join(
            "<tr>" + "".join(_num_cell(_float(p.get(c))) for c in [*criteria, "changes"])
            + "</tr>" for p in points
        )
        note = ""
        if frontier.get("complete") is False:
            note = ('<p class="note">Not every non-dominated plan is shown: the points are '
                    "spread along the curve.</p>")
        return (f'<section id="frontier"><h2>Trade-off: {_esc(cx)} against {_esc(cy)}</h2>'
                f'<figure class="chart">{svg}</figure>{note}'
                f'<table id="frontier-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
                "</table></section>")

    def _criteria_of_plan(self) -> dict[str, float]:
        if not self.has_plan or self.multi_year:
            return {}
        totals = self.plan_totals()
        return {"outcome": totals["outcome"], "annual_cost": totals["annual_cost"],
                "cost": totals["annual_cost"] + totals["one_off"]}

    def _criteria_of_baseline(self) -> dict[str, float]:
        if self.base is None or self.multi_year:
            return {}
        base = self.base
        return {"outcome": float(base["outcome"]), "annual_cost": float(base["annual_cost"]),
                "cost": float(base["annual_cost"]) + float(base["one_off_cost"])}


def _others(count: int) -> str:
    """' The other 3 services stay as they are today in every year.' (empty for none)."""
    if count == 0:
        return ""
    if count == 1:
        return " The other service stays as it is today in every year."
    return f" The other {count} services stay as they are today in every year."


def _status_words(status: str) -> str:
    return {
        "infeasible": "No delivery plan meets every limit at once.",
        "unbounded": "The objective can improve without limit: a figure or limit is missing.",
        "time_limit_no_solution": "The time limit ran out before any plan was found.",
        "error": "The solver failed, or its answer did not pass the independent check.",
    }.get(status, "There is no plan to show.")
