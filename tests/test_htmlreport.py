"""Today's baseline and the HTML report: hand-derived figures, real solves, a real browser."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import portfolio
from portfolio.baseline import baseline, current_options
from portfolio.cli import main
from portfolio.domain import Instance
from portfolio.htmlreport import fmt_number, load_sweep, render_report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "instances" / "example_borough.yaml"
EXAMPLE_MULTI = ROOT / "instances" / "example_borough_multiyear.yaml"
SMALL = ROOT / "instances" / "small"
QUIET = portfolio.SolveParams()


# ---------------------------------------------------------------------- an HTML reader
class Node:
    """An element of the parsed page: tag, attributes, children, text."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> list[str]:
        out = list(self.parts)
        for child in self.children:
            out += child._texts()
        return out

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if child.tag == tag and all(
                value in child.attrs.get(key.rstrip("_"), "").split() or
                child.attrs.get(key.rstrip("_")) == value
                for key, value in attrs.items()
            ):
                found.append(child)
            found += child.find_all(tag, **attrs)
        return found

    def by_id(self, ident: str) -> Node:
        for node in self.walk():
            if node.attrs.get("id") == ident:
                return node
        raise AssertionError(f"no element with id {ident}")

    def walk(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out += child.walk()
        return out


VOID = {"meta", "br", "img", "link", "input", "hr", "circle", "rect", "line", "polyline"}


class Reader(HTMLParser):
    """html.parser into a small tree (SVG self-closing tags included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.node = self.root
        self.style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.node.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.node))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.node = node.parent

    def handle_data(self, data: str) -> None:
        if self.node.tag == "style":
            self.style += data
        self.node.parts.append(data)


def parse(document: str) -> Reader:
    reader = Reader()
    reader.feed(document)
    reader.close()
    return reader


def cells(row: Node) -> list[Node]:
    return [c for c in row.children if c.tag in ("td", "th")]


def number(cell: Node) -> float:
    return float(cell.attrs["data-value"])


def assert_self_contained(document: str, reader: Reader) -> None:
    """No external URL (src, href, @import, url()), no script, no stylesheet link."""
    for node in reader.root.walk():
        for key in ("src", "href", "xlink:href", "action"):
            value = node.attrs.get(key, "")
            assert not value.lower().startswith(("http:", "https:", "//")), (node.tag, value)
        assert node.tag not in ("script", "link", "iframe", "img"), node.tag
    assert "@import" not in reader.style
    assert "url(" not in reader.style
    assert "http://" not in document
    assert "https://" not in document


def bars(reader: Reader, chart: str) -> list[Node]:
    return reader.root.by_id(chart).find_all("g", class_="bar")


# ---------------------------------------------------------------------- baseline
HAND = {
    "name": "hand baseline",
    "modes": [
        {"id": "in_house", "sector": "public"},
        {"id": "private", "sector": "private"},
        {"id": "latc", "sector": "public", "setup_cost": 50},
    ],
    "services": [
        {"id": "a", "current_mode": "in_house", "weight": 2, "options": [
            {"mode": "in_house", "annual_cost": 100, "outcome": 10},
            {"mode": "private", "annual_cost": 80, "transition_cost": 30, "outcome": 8},
        ]},
        {"id": "b", "current_mode": "latc", "options": [
            {"mode": "in_house", "annual_cost": 60, "transition_cost": 5, "outcome": 5},
            {"mode": "latc", "annual_cost": 50, "outcome": 6},
        ]},
        {"id": "c", "current_mode": "private", "options": [
            {"mode": "private", "annual_cost": 40, "outcome": 3},
            {"mode": "private", "annual_cost": 35, "outcome": 2, "current": True},
            {"mode": "in_house", "annual_cost": 45, "transition_cost": 9, "outcome": 4},
        ]},
    ],
    "constraints": {
        "budget": 180,
        "max_changes": 1,
        "sector_share": {"private": {"max": 0.1}},
        "fixed": {"a": "private"},
    },
}


def test_baseline_equals_hand_derived_totals() -> None:
    instance = portfolio.instance_from_data(copy.deepcopy(HAND))
    assert current_options(instance) == [0, 1, 1]  # c's current option is marked, not the first
    base = baseline(instance)
    # annual 100 + 50 + 35; outcome 2*10 + 6 + 2; one-off: latc's setup (no mode changes)
    assert base["annual_cost"] == pytest.approx(185)
    assert base["outcome"] == pytest.approx(28)
    assert base["one_off_cost"] == pytest.approx(50)
    assert base["objective"] == pytest.approx(28)
    assert base["options"] == {"a": 0, "b": 1, "c": 1}
    assert base["feasible"] is False
    broken = {v["name"]: v for v in base["violations"]}
    assert broken["budget"]["by"] == pytest.approx(5)  # 185 against 180
    assert broken["sector_share[private].max"]["value"] == pytest.approx(35 / 185)
    assert broken["sector_share[private].max"]["by"] == pytest.approx(35 / 185 - 0.1)
    assert "max_changes" not in broken  # no service changes today
    rules = [v["text"] for v in base["violations"] if v["name"] == "rule"]
    assert rules == ["service 'a' is fixed to 'private' but uses 'in_house'"]

    data = copy.deepcopy(HAND)
    data["objective"] = "minimise_cost"
    data["constraints"] = {"budget": 200}
    cost = baseline(portfolio.instance_from_data(data))
    assert cost["objective"] == pytest.approx(185 + 50)  # annual + setup: minimise_cost's sum
    assert cost["feasible"] is True
    assert cost["violations"] == []


def test_multi_year_baseline_continues_today_every_year() -> None:
    data = copy.deepcopy(HAND)
    data["horizon"] = {"start_year": 2027, "years": 3, "discount_rate": 0.1}
    data["services"][0]["options"][0]["indexation"] = 0.1  # a costs 100, 110, 121
    data["services"][1]["current_contract_end"] = 2027  # b's contract ends, then is renewed
    data["services"][1]["options"][1]["contract_years"] = 2
    data["constraints"] = {"budget": [190, 190, 190]}
    instance = portfolio.instance_from_data(data)
    base = baseline(instance)
    years = [185, 195, 206]
    assert [y["annual_cost"] for y in base["years"]] == pytest.approx(years)
    assert base["annual_cost"] == pytest.approx(sum(years))
    assert [y["one_off_cost"] for y in base["years"]] == pytest.approx([50, 0, 0])
    assert base["outcome"] == pytest.approx(3 * 28)
    assert base["objective"] == pytest.approx(28 * (1 + 1 / 1.1 + 1 / 1.21))
    assert base["feasible"] is False
    assert [(v["name"], v["year"]) for v in base["violations"]] == [
        ("budget", 2028), ("budget", 2029)
    ]
    assert [v["by"] for v in base["violations"]] == pytest.approx([5, 16])


def test_baseline_of_the_example_borough_is_todays_options() -> None:
    instance = portfolio.load_instance(EXAMPLE)
    base = baseline(instance)
    positions = current_options(instance)
    chosen = [s.options[p] for s, p in zip(instance.services, positions, strict=True)]
    annual = math.fsum(o.annual_cost for o in chosen)  # type: ignore[misc]
    outcome = math.fsum(s.weight * o.outcome for s, o in zip(instance.services, chosen,
                                                                   strict=True))
    assert annual == 331750  # the file's own statement: "today's plan costs 331750"
    assert outcome == pytest.approx(2566.4)  # "today's plan scores 2566.4"
    assert base["annual_cost"] == pytest.approx(annual)
    assert base["outcome"] == pytest.approx(outcome)
    assert base["objective"] == pytest.approx(outcome)
    assert base["one_off_cost"] == 0
    # "breaks the share and carbon rows" (and the budget: today costs more than 312,000)
    assert {v["name"] for v in base["violations"]} == {
        "budget", "sector_share[private].max", "sector_share[voluntary].min", "limits[1]"
    }


# ---------------------------------------------------------------------- real solves
@pytest.fixture(scope="module")
def single() -> tuple[Instance, dict[str, Any]]:
    instance = portfolio.load_instance(EXAMPLE)
    result = portfolio.solve(instance, params=QUIET)
    assert result.status.has_plan, result.detail
    data = result.to_dict()
    data["file"] = str(EXAMPLE)
    return instance, data


@pytest.fixture(scope="module")
def multi() -> tuple[Instance, dict[str, Any]]:
    instance = portfolio.load_instance(EXAMPLE_MULTI)
    result = portfolio.solve(instance, params=QUIET.with_(time_limit=60, rel_gap=1e-2))
    assert result.status.has_plan, result.detail
    data = result.to_dict()
    data["file"] = str(EXAMPLE_MULTI)
    return instance, data


def test_single_period_report_shows_the_result(single: tuple[Instance, dict[str, Any]]) -> None:
    instance, result = single
    document = render_report(result, instance)
    assert render_report(result, instance) == document  # deterministic
    page = parse(document)
    assert_self_contained(document, page)

    table = page.root.by_id("plan-table")
    rows = table.find_all("tbody")[0].find_all("tr")
    services = result["services"]
    assert [r.attrs["data-service"] for r in rows] == [s["service"] for s in services]
    positions = current_options(instance)
    for row, service, spec, position in zip(rows, services, instance.services, positions,
                                            strict=True):
        name, today, plan, cost_today, cost_plan, one_off, outcome, changed = cells(row)
        assert name.text == (spec.name or spec.id)
        assert today.text == service["current_mode"]
        assert plan.attrs["data-plan"] == service["mode"]
        assert number(cost_today) == spec.options[position].annual_cost
        assert number(cost_plan) == service["annual_cost"]
        assert cost_plan.text == fmt_number(service["annual_cost"])
        assert number(one_off) == service["transition_cost"]
        assert number(outcome) == service["weighted_outcome"]
        assert outcome.text == fmt_number(service["weighted_outcome"])
        assert (changed.text == "yes") == service["changes"]
        assert ("changed" in row.attrs.get("class", "")) == service["changes"]
    total = table.find_all("tr", class_="total")[0]
    _, cost_today, cost_plan, one_off, outcome, changed = cells(total)
    assert number(cost_today) == pytest.approx(331750)
    assert number(cost_plan) == pytest.approx(sum(s["annual_cost"] for s in services))
    # thousands separators; the objective is unique but its plan's cost is not (311,970 and
    # 312,000 both reach 2,506), so the figure is the one this backend's plan has
    plan_cost = sum(s["annual_cost"] for s in services)
    assert plan_cost in (311970, 312000)
    assert cost_plan.text == f"{plan_cost:,.0f}"
    # one-off = transition + setup of new vehicles, what transition_budget counts
    check = {c["name"]: c for c in result["checks"]}
    assert number(one_off) == pytest.approx(check["transition_budget"]["value"])
    assert number(outcome) == pytest.approx(result["objective"])
    assert changed.text == f"{len(result['changes'])} of {len(services)}"

    # limits: every check, the at-limit ones marked, and no claim of holding back (no gains)
    limits = page.root.by_id("limits-table").find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-limit"] for r in limits] == [c["name"] for c in result["checks"]]
    for row, c in zip(limits, result["checks"], strict=True):
        status = cells(row)[4].text
        assert (status == "at limit") == (c["binding"] and c["ok"]), (c["name"], status)
    assert "holds the plan back" not in " ".join(r.text for r in limits)

    # the headline compares with today
    headline = page.root.by_id("headline").text
    assert "£331,750k" in headline
    assert f"£{plan_cost:,.0f}k" in headline
    assert f"{len(result['changes'])} of {len(services)} services" in headline
    assert "breaks" in headline  # today's arrangement breaks the budget and shares

    # charts: one stacked bar of spend by sector adding up to the annual cost; one changes bar
    spend = bars(page, "spend-chart")
    assert len(spend) == 1
    segments = spend[0].find_all("rect", class_="segment")
    by_sector: dict[str, float] = {}
    for s in services:
        sector = instance.mode(s["mode"]).sector
        by_sector[sector] = by_sector.get(sector, 0.0) + s["annual_cost"]
    assert {s.attrs["data-series"]: float(s.attrs["data-value"]) for s in segments} == (
        pytest.approx({k: v for k, v in by_sector.items() if v > 0})
    )
    changes = bars(page, "changes-chart")
    assert [float(b.attrs["data-total"]) for b in changes] == [len(result["changes"])]
    assert not page.root.find_all("section", id="budget-path")  # multi-year only


def test_multi_year_report_shows_the_schedule(multi: tuple[Instance, dict[str, Any]]) -> None:
    instance, result = multi
    document = render_report(result, instance)
    page = parse(document)
    assert_self_contained(document, page)
    years = result["years"]
    calendar = [y["year"] for y in years]

    rows = page.root.by_id("plan-table").find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-service"] for r in rows] == [s["service"] for s in result["services"]]
    one_off: dict[str, float] = {}
    for c in result["contracts"]:
        one_off[c["service"]] = (
            one_off.get(c["service"], 0.0) + c["transition_cost"] + c["termination_cost"]
        )
    for row in rows:
        sid = row.attrs["data-service"]
        modes = result["schedule"][sid]
        plan = cells(row)[2].attrs["data-plan"]
        assert plan.split(";")[0] == modes[0]
        moves = sum(1 for a, b in zip(modes, modes[1:], strict=False) if a != b)
        assert plan.count(" from ") == moves
        assert number(cells(row)[5]) == pytest.approx(one_off.get(sid, 0.0))
        assert (cells(row)[7].text == "yes") == any(m != cells(row)[1].text for m in modes)
    # the per-service costs of the last year add up to that year's total in the result
    last = [number(cells(r)[4]) for r in rows]
    assert math.fsum(last) == pytest.approx(years[-1]["annual_cost"])
    outcome = [number(cells(r)[6]) for r in rows]
    assert math.fsum(outcome) == pytest.approx(years[-1]["weighted_outcome"])

    # charts: one stacked bar per year, adding up to each year's annual cost
    spend = bars(page, "spend-chart")
    assert [b.attrs["data-category"] for b in spend] == [str(y) for y in calendar]
    for bar, year in zip(spend, years, strict=True):
        total = math.fsum(float(s.attrs["data-value"]) for s in bar.find_all("rect"))
        assert total == pytest.approx(year["annual_cost"])
    changes = bars(page, "changes-chart")
    assert [float(b.attrs["data-total"]) for b in changes] == [len(y["changes"]) for y in years]
    budget = page.root.by_id("budget-chart")
    assert [float(b.attrs["data-total"]) for b in budget.find_all("g", class_="bar")] == (
        pytest.approx([y["annual_cost"] for y in years])
    )
    lines = {g.attrs["data-series"]: g for g in budget.find_all("g", class_="line")}
    assert len(lines["budget"].find_all("circle")) == len(years)
    assert "today's arrangements continued" in lines

    limits = page.root.by_id("limits-table").find_all("tbody")[0].find_all("tr")
    names = [r.attrs["data-limit"] for r in limits]
    assert "budget" in names
    assert "max_changes" in names
    budget_row = limits[names.index("budget")]
    values = [float(c.attrs["data-value"]) for c in cells(budget_row)[1:]]
    assert values == pytest.approx([y["budget"]["value"] for y in years])

    schedule = page.root.by_id("schedule-table").find_all("tbody")[0].find_all("tr")
    moving = {s for s, modes in result["schedule"].items()
              if any(m != instance.service(s).current_mode for m in modes)}
    assert {r.attrs["data-service"] for r in schedule} == moving


def test_measured_gains_are_shown_and_only_they_hold_the_plan_back(
    single: tuple[Instance, dict[str, Any]],
) -> None:
    instance, result = single
    data = copy.deepcopy(result)
    for check in data["checks"]:
        if check["name"] == "budget":
            check["gain"] = 6.4  # not at its bound, yet relaxing it gains: it holds the plan back
        if check["name"] == "max_changes":
            check["gain"] = 0.0  # at its bound, but relaxing it gains nothing
    page = parse(render_report(data, instance))
    rows = {r.attrs["data-limit"]: cells(r) for r in
            page.root.by_id("limits-table").find_all("tbody")[0].find_all("tr")}
    assert rows["budget"][4].text == "holds the plan back"
    assert number(rows["budget"][5]) == 6.4
    assert rows["max_changes"][4].text == "at limit"
    assert rows["min_outcome"][5].text == "—"  # not measured


def test_no_plan_page_says_so_with_the_explanation() -> None:
    instance = portfolio.load_instance(SMALL / "infeasible_budget.yaml")
    result = portfolio.solve(instance, params=QUIET).to_dict()
    assert result["status"] == "infeasible"
    document = render_report(result, instance)
    page = parse(document)
    assert_self_contained(document, page)
    assert not [n for n in page.root.walk() if n.attrs.get("id") == "plan-table"]
    assert "infeasible" in page.root.by_id("no-plan").text
    explanation = page.root.by_id("explanation").text
    assert result["explanation"]["summary"] in explanation
    for relaxation in result["explanation"]["relaxations"]:
        assert relaxation["text"] in explanation


def test_without_the_instance_the_report_shows_the_result_alone(
    single: tuple[Instance, dict[str, Any]],
) -> None:
    _, result = single
    page = parse(render_report(result))
    assert "--instance" in page.root.by_id("headline").text
    rows = page.root.by_id("plan-table").find_all("tbody")[0].find_all("tr")
    assert [number(cells(r)[4]) for r in rows] == [s["annual_cost"] for s in result["services"]]
    assert all(cells(r)[3].text == "—" for r in rows)  # today's cost needs the instance


def test_sweep_frontier_and_scenarios(
    tmp_path: Path, single: tuple[Instance, dict[str, Any]]
) -> None:
    out = tmp_path / "sweep"
    code = main(["sweep", str(SMALL / "budget_binds.yaml"), "--set",
                 "constraints.budget=120:160:5", "--out", str(out), "--executor", "serial"])
    assert code == 1  # 120 is below the cheapest plan (130)
    sweep = load_sweep(out)
    assert sweep["axes"] == ["constraints.budget"]
    assert load_sweep(out / "curve.csv") == sweep
    (tmp_path / "curve.json").write_text(json.dumps(sweep))
    assert load_sweep(tmp_path / "curve.json") == sweep

    instance, result = single
    frontier = {"points": [
        {"outcome": 2400.0, "annual_cost": 300000.0, "changes": 20},
        {"outcome": 2506.0, "annual_cost": 311970.0, "changes": 16},
        {"outcome": 2560.0, "annual_cost": 330000.0, "changes": 4},
    ], "complete": True}
    data = copy.deepcopy(result)
    data["scenarios"] = [
        {"name": "central", "probability": 0.5, "objective": 2506.0},
        {"name": "deeper cuts", "probability": 0.5, "objective": 2450.5, "status": "optimal"},
    ]
    document = render_report(data, instance, sweep=sweep, frontier=frontier)
    page = parse(document)
    assert_self_contained(document, page)
    points = page.root.by_id("sweep-chart").find_all("circle", class_="point")
    planned = [r for r in sweep["rows"] if r["status"] == "optimal"]
    assert len(planned) == 4
    assert len(points) == 4
    labels = [t.text for t in page.root.by_id("sweep-chart").find_all("text")]
    for row in planned:
        assert str(row["changes"]) in labels
    assert len(page.root.by_id("sweep-table").find_all("tbody")[0].find_all("tr")) == 5
    chart = page.root.by_id("frontier-chart")
    assert len(chart.find_all("circle", class_="point")) == 3
    assert {g.attrs["data-mark"] for g in chart.find_all("g", class_="mark")} == {"today", "plan"}
    scenario_rows = page.root.by_id("scenario-table").find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-scenario"] for r in scenario_rows] == ["central", "deeper cuts"]
    assert cells(scenario_rows[1])[1].text == "50.0%"
    assert number(cells(scenario_rows[1])[2]) == 2450.5
    assert len(bars(page, "scenario-chart")) == 2


# ---------------------------------------------------------------------- command line
def test_cli_report_and_solve_report(tmp_path: Path) -> None:
    file = tmp_path / "budget_binds.yaml"
    shutil.copy(SMALL / "budget_binds.yaml", file)
    result_file, html_file = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["solve", str(file), "--output", str(result_file),
                 "--report", str(tmp_path / "solve.html")]) == 0
    recorded = json.loads(result_file.read_text())
    assert recorded["file"] == str(file.resolve())  # the result names its instance
    # the instance is found through the result; the baseline is shown
    assert main(["report", str(result_file), "--html", str(html_file)]) == 0
    page = parse(html_file.read_text())
    assert "£150k today" in page.root.by_id("headline").text  # 100 + 50 in house
    assert html_file.read_text() == (tmp_path / "solve.html").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic

    os.remove(file)  # the recorded instance is gone: a clear error, unless --instance is given
    assert main(["report", str(result_file), "--html", str(html_file)]) == 2
    assert main(["report", str(result_file), "--html", str(html_file),
                 "--instance", str(SMALL / "budget_binds.yaml")]) == 0
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["report", str(tmp_path / "bad.json"), "--html", str(html_file)]) == 2
    assert main(["report", str(result_file), "--html", str(html_file),
                 "--sweep", str(tmp_path / "nowhere")]) == 2


# ---------------------------------------------------------------------- a real browser
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Any:
    """One headless Chromium session for the module (skipped when it cannot be had)."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install 'portfolio[dev]')"
    )
    binary = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    driver_path = shutil.which("chromedriver") or (
        CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else None
    )
    if binary is None or driver_path is None:
        pytest.skip("Chromium and chromedriver are not installed "
                    "(Debian: apt-get install -y chromium chromium-driver)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def test_browser_renders_the_report(
    browser: Any, tmp_path: Path, multi: tuple[Instance, dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    instance, result = multi
    page = tmp_path / "report.html"
    page.write_text(render_report(result, instance), encoding="utf-8")
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr")
    assert len(rows) == len(result["services"])
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[0].text == (instance.services[0].name or instance.services[0].id)
    assert first[0].size["height"] > 0
    for chart in ("spend-chart", "changes-chart", "budget-chart"):
        svg = browser.find_element(By.ID, chart)
        assert svg.size["width"] > 100, chart
        assert svg.size["height"] > 50, chart
        bar = svg.find_elements(By.CSS_SELECTOR, "g.bar rect")[0]
        assert bar.size["height"] > 0, chart
        assert bar.size["width"] > 0, chart
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 40, 8000))
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_difference_is_rounded_like_the_figures_it_compares() -> None:
    from portfolio.svgchart import fmt_signed

    # The example borough's headline: 2,506 against 2,566.4 today, shown as "2,566": the
    # difference reads -60, as a reader subtracting the shown figures gets, not -60.4.
    assert fmt_signed(2506 - 2566.4, 2506, 2566.4) == "−60"
    assert fmt_signed(12.5 - 10.25, 12.5, 10.25) == "+2.2"  # 2.25 to one decimal, as 12.5 is
    assert fmt_signed(1.52 - 1.5, 1.52, 1.5) == "±0"
    assert fmt_signed(0.75 - 0.5, 0.75, 0.5) == "+0.25"  # small figures keep two decimals
    assert fmt_signed(-60.4) == "−60.4"  # without the figures: as before


def test_header_names_the_objective_once(single: tuple[Instance, dict[str, Any]]) -> None:
    instance, result = single
    header = parse(render_report(result, instance)).root.find_all("header")[0].text
    # "weighted outcome (maximised): 2,506", not "objective 2,506 (weighted outcome (maximised))"
    assert f"weighted outcome (maximised): {fmt_number(result['objective'])}" in header
    assert "))" not in header


# ---------------------------------------------------------------------- funding scenarios
D1, D2 = 1 / 1.035, 1 / 1.035**2


def two_services_two_scenarios() -> dict[str, Any]:
    """Two services over 2027-2029. a: in house (100, outcome 10) or a two-year private
    contract (80, outcome 9) procured two years ahead; b: in house (50, outcome 5) or a
    one-year private contract (40, outcome 4) with no lead time. The budget is 150, and 125 in
    2029 in 'cuts' (probability 0.5). By hand: in 'cuts' 2029 needs both private (120; a
    private and b in house is 130). a's 2029 contract is decided in 2027, before the scenarios
    part, so both scenarios take it; b's is decided in 2029: only 'cuts' lets b. Objectives:
    holds 15 + 15 d1 + 14 d2, cuts 15 + 15 d1 + 13 d2, expected 15 + 15 d1 + 13.5 d2."""
    return {
        "name": "two services",
        "horizon": {"start_year": 2027, "years": 3},
        "modes": [{"id": "in_house", "sector": "public"}, {"id": "private", "sector": "private"}],
        "services": [
            {"id": "a", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100, "outcome": 10},
                {"mode": "private", "annual_cost": 80, "outcome": 9, "contract_years": 2,
                 "lead_time_years": 2}]},
            {"id": "b", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 50, "outcome": 5},
                {"mode": "private", "annual_cost": 40, "outcome": 4, "contract_years": 1}]},
        ],
        "constraints": {"budget": 150},
        "scenarios": [
            {"name": "holds", "probability": 0.5},
            {"name": "cuts", "probability": 0.5, "constraints": {"budget": [150, 150, 125]}},
        ],
    }


@pytest.fixture(scope="module")
def under_scenarios() -> tuple[Instance, dict[str, Any]]:
    instance = portfolio.instance_from_data(two_services_two_scenarios())
    result = portfolio.solve(instance, params=portfolio.SolveParams(rel_gap=1e-9))
    assert result.status is portfolio.Status.OPTIMAL
    return instance, result.to_dict()


def test_a_plan_under_scenarios_commits_now_then_shows_each_scenario(
    under_scenarios: tuple[Instance, dict[str, Any]],
) -> None:
    instance, result = under_scenarios
    assert result["objective"] == pytest.approx(15 + 15 * D1 + 13.5 * D2, rel=1e-9)
    document = render_report(result, instance)
    page = parse(document)
    assert_self_contained(document, page)
    root = page.root
    assert "expected value over 2 funding scenarios" in root.find_all("header")[0].text
    commit = root.by_id("commit-now")
    assert "Commit now (2027), whichever scenario comes" in commit.text
    decisions = root.by_id("commit-list").find_all("li")
    assert [d.attrs["data-service"] for d in decisions] == ["a"]
    assert decisions[0].text.startswith("let a to private for 2 years from 2029: procure now")
    assert "2 other decisions of 2027 keep the current arrangement" in commit.text
    assert document.index('id="commit-now"') < document.index('id="scenarios"')
    # The single-year plan table and the limits of one scenario would mislead: not shown.
    assert 'id="plan-table"' not in document
    assert 'id="limits"' not in document
    risk = root.by_id("risk").text
    assert "expected value" in risk
    assert fmt_number(result["objective"]) in risk
    rows = root.by_id("scenario-table").find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-scenario"] for r in rows] == ["holds", "cuts"]
    assert [cells(r)[1].text for r in rows] == ["50.0%", "50.0%"]
    assert number(cells(rows[0])[2]) == pytest.approx(15 + 15 * D1 + 14 * D2, rel=1e-9)
    assert number(cells(rows[1])[2]) == pytest.approx(15 + 15 * D1 + 13 * D2, rel=1e-9)
    holds, cuts = root.by_id("scenario-schedule-0"), root.by_id("scenario-schedule-1")
    head = [c.text for c in cells(holds.find_all("thead")[0].find_all("tr")[0])]
    assert head == ["Service", "Today", "2027", "2028", "2029"]
    holds_rows = holds.find_all("tbody")[0].find_all("tr")
    cuts_rows = cuts.find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-service"] for r in holds_rows] == ["a"]  # b never moves in holds
    assert [r.attrs["data-service"] for r in cuts_rows] == ["a", "b"]
    assert [c.text for c in cells(cuts_rows[1])] == ["b", "in_house", "in_house", "in_house",
                                                       "private"]
    assert cells(cuts_rows[1])[4].attrs.get("class") == "moved"
    budgets = [
        [c.text for c in cells(r)] for block in page.root.find_all("div", class_="scenario-plan")
        for r in block.find_all("tr") if cells(r)[0].text == "Budget"
    ]
    assert budgets == [["Budget", "150", "150", "150"], ["Budget", "150", "150", "125"]]


def test_browser_shows_commit_now_and_each_scenario(
    browser: Any, tmp_path: Path, under_scenarios: tuple[Instance, dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    instance, result = under_scenarios
    page = tmp_path / "scenarios.html"
    page.write_text(render_report(result, instance), encoding="utf-8")
    browser.get(page.as_uri())
    item = browser.find_element(By.CSS_SELECTOR, "#commit-list li")
    assert item.text.startswith("let a to private for 2 years from 2029: procure now")
    assert item.size["height"] > 0
    commit = browser.find_element(By.ID, "commit-now").location["y"]
    plans = browser.find_elements(By.CSS_SELECTOR, ".scenario-plan")
    assert len(plans) == 2
    assert all(plan.location["y"] > commit for plan in plans)
    cell = browser.find_element(
        By.CSS_SELECTOR, "#scenario-schedule-1 tbody tr:nth-child(2) td.moved"
    )
    assert cell.text == "private"
    assert cell.value_of_css_property("background-color") == "rgba(255, 241, 204, 1)"
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 40, 8000))
    shot = tmp_path / "scenarios.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PORTFOLIO_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["PORTFOLIO_KEEP_SCREENSHOT"])
