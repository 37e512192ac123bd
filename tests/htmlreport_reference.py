"""The HTML report's page as it was written before it read option columns: services looked up
by id in loops (``Instance.service``) and options read as objects. The tests hold the page
(:mod:`portfolio.htmlreport`) to exactly the bytes this gives (``test_htmlreport_columns.py``).

A reference copy of the methods that changed, kept for that comparison only; every other
method is the page's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portfolio import htmlreport

_float = htmlreport._float
_esc = htmlreport._esc


class ReferencePage(htmlreport._Page):
    """The page with the previous service lookups and option reads."""

    def service_name(self, service_id: str) -> str:
        if self.instance is not None:
            try:
                service = self.instance.service(service_id)
            except KeyError:
                return service_id
            return service.name or service.id
        return service_id

    def sector_of(self, mode_id: str) -> str | None:
        if self.instance is None:
            return None
        try:
            return str(self.instance.mode(mode_id).sector)
        except KeyError:
            return None

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
                if self.instance is not None and sid in options and last >= 0:
                    service = self.instance.service(sid)
                    final = service.options[int(options[sid][last])]
                    row["plan_cost"] = final.annual_cost_in_year(last)
                    row["outcome"] = service.weight * final.outcome
                    row["label"] = final.label
                    current = service.options[int(base_options.get(sid, 0))]
                    row["today_cost"] = current.annual_cost_in_year(last)
                else:
                    row["plan_cost"] = None
                    row["outcome"] = None
                    row["today_cost"] = None
            else:
                row["plan"] = str(s.get("mode"))
                row["label"] = s.get("label")
                row["changed"] = bool(s.get("changes"))
                row["plan_cost"] = _float(s.get("annual_cost"))
                row["one_off"] = _float(s.get("transition_cost")) or 0.0
                row["outcome"] = _float(s.get("weighted_outcome"))
                row["today_cost"] = None
                if self.instance is not None:
                    service = self.instance.service(sid)
                    current = service.options[int(base_options.get(sid, 0))]
                    row["today_cost"] = current.annual_cost_in_year(0)
            rows.append(row)
        return rows

    def _changed_in_order(self, changed: set[str]) -> list[str]:
        return sorted(changed, key=[str(s["service"]) for s in self.services].index)

    def _schedule_table(self, schedule: Mapping[str, Any], table_id: str) -> tuple[str, int]:
        """The services that change in ``schedule``, years as columns (the year each moves
        highlighted), and how many do not change."""
        moving = [
            str(s["service"]) for s in self.services
            if any(m != s.get("current_mode") for m in schedule.get(str(s["service"]), []))
        ]
        head = "".join(f'<th class="num">{y}</th>' for y in self.calendar)
        body = []
        for sid in moving:
            modes = schedule[sid]
            today = next(str(s["current_mode"]) for s in self.services if s["service"] == sid)
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
            for sid, positions in options.items():
                service = self.instance.service(sid)
                for t, position in enumerate(positions):
                    option = service.options[int(position)]
                    sector = self.sector_of(str(schedule[sid][t])) or option.mode
                    values[sectors.index(sector)][t] += option.annual_cost_in_year(t)
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

