"""The page at ``/`` in a real browser: Debian's headless Chromium driven by Selenium uploads the
example borough, solves it, and the report appears with its plan table and drawn charts."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving import LiveServer, missing_service_packages

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "instances" / "example_borough.yaml"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SOLVE_SECONDS = 150.0

# The example borough's documented optimum (see the comments of the instance file).
KNOWN_PLAN = {
    "museums_arts": "cease",
    "it_services": "private",
    "childrens_residential": "in_house",
    "adult_assessment": "in_house",
}


def _browser_binaries() -> tuple[str, str] | None:
    binary = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    driver = shutil.which("chromedriver") or (
        CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else None
    )
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module (skipped with the reason when it cannot be had)."""
    reason = missing_service_packages()
    if reason:
        pytest.skip(reason)
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install 'portfolio[dev]')"
    )
    binaries = _browser_binaries()
    if binaries is None:
        pytest.skip(
            "Chromium and chromedriver are not installed "
            "(Debian: apt-get install -y chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = binaries[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(binaries[1]), options=options)
    downloads = tmp_path_factory.mktemp("downloads")
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait_until(condition: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def submit(browser: Any, server: LiveServer, path: Path, objective: str = "") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(path))
    Select(browser.find_element(By.ID, "objective")).select_by_value(objective)
    limit = browser.find_element(By.ID, "time_limit")
    limit.clear()
    limit.send_keys("30")
    browser.find_element(By.ID, "solve").click()


def page_state(browser: Any) -> str:
    state: str = browser.execute_script("return document.body.dataset.state || ''")
    return state


def test_page_solves_the_example_and_shows_the_report(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    submit(browser, live_server, EXAMPLE, "maximise_outcome")
    wait_until(lambda: page_state(browser) in ("reported", "problem"), SOLVE_SECONDS, "a report")
    assert page_state(browser) == "reported", browser.find_element(By.ID, "problem").text
    headline = browser.find_element(By.ID, "headline").text
    assert headline.startswith("Example Borough 2027/28: optimal, objective 2,506")

    frame = browser.find_element(By.ID, "report")
    assert frame.size["height"] > 600  # fitted to the report
    browser.switch_to.frame(frame)
    try:
        rows = browser.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr[data-service]")
        services = [row.get_attribute("data-service") for row in rows]
        assert services == [s["id"] for s in yaml.safe_load(EXAMPLE.read_text())["services"]]
        for service, mode in KNOWN_PLAN.items():
            cell = browser.find_element(
                By.CSS_SELECTOR, f'#plan-table tr[data-service="{service}"] td[data-plan]'
            )
            assert cell.get_attribute("data-plan") == mode, service
            assert cell.size["height"] > 0
        charts = browser.find_elements(By.CSS_SELECTOR, "svg[id$='-chart']")
        assert charts, "no chart in the report"
        for svg in charts:
            assert svg.size["width"] > 100, svg.get_attribute("id")
            assert svg.size["height"] > 50, svg.get_attribute("id")
        bars = browser.find_elements(By.CSS_SELECTOR, "svg[id$='-chart'] g.bar rect")
        assert any(bar.size["height"] > 0 and bar.size["width"] > 0 for bar in bars)
    finally:
        browser.switch_to.default_content()

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 40, 6000))
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("PORTFOLIO_SCREENSHOT_DIR")  # e.g. docs/, for the README
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / "page.png")
    browser.set_window_size(1280, 1000)

    # The downloads: the result JSON is the solve's answer; the workbook is a real XLSX.
    browser.find_element(By.ID, "download-json").click()
    saved = wait_until(
        lambda: list(browser.downloads.glob("*.json")), 30, "the JSON download"
    )
    result = json.loads(saved[0].read_text())
    assert result["objective"] == pytest.approx(2506.0)
    for service, mode in KNOWN_PLAN.items():
        assert result["assignment"][service] == mode
    browser.find_element(By.ID, "download-xlsx").click()
    workbook = wait_until(
        lambda: [p for p in browser.downloads.glob("*.xlsx") if p.stat().st_size > 0],
        60,
        "the XLSX download",
    )
    assert workbook[0].read_bytes()[:2] == b"PK"  # a zip container, as XLSX files are


def test_page_lists_every_input_error(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    data = yaml.safe_load((ROOT / "instances" / "small" / "budget_binds.yaml").read_text())
    data["services"][0]["options"][1]["annual_cost"] = -90
    data["modes"][2]["sector"] = "galactic"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    submit(browser, live_server, bad)
    wait_until(lambda: page_state(browser) == "problem", 60, "the error list")
    items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#problem-errors li")]
    assert any(
        text.startswith("bad.yaml: service 'waste', field 'options[1].annual_cost': ")
        for text in items
    ), items
    assert any(text.startswith("bad.yaml: mode 'voluntary', field 'sector': ") for text in items)
    assert not browser.find_element(By.ID, "result").is_displayed()


def test_page_solves_a_workbook_with_funding_scenarios(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """A workbook with a scenarios sheet, uploaded and solved: the headline counts the decisions
    to commit now, and the report shows them before each scenario's schedule."""
    pytest.importorskip(
        "openpyxl", reason="openpyxl is not installed: pip install 'portfolio[xlsx]'"
    )
    from selenium.webdriver.common.by import By

    from portfolio import instance_from_data
    from portfolio.spreadsheet import write_instance_workbook
    from test_htmlreport import two_services_two_scenarios

    book = tmp_path / "two_services.xlsx"
    write_instance_workbook(instance_from_data(two_services_two_scenarios()), book)
    submit(browser, live_server, book)
    wait_until(lambda: page_state(browser) in ("reported", "problem"), SOLVE_SECONDS, "a report")
    assert page_state(browser) == "reported", browser.find_element(By.ID, "problem").text
    headline = browser.find_element(By.ID, "headline").text
    # By hand (tests/test_htmlreport.py): 15 + 15 d1 + 13.5 d2 = 42.095 at 3.5%.
    assert headline.startswith(
        "two services: optimal, objective 42.1, 2 funding scenarios, 1 decision to commit now"
    ), headline
    frame = browser.find_element(By.ID, "report")
    browser.switch_to.frame(frame)
    try:
        item = browser.find_element(By.CSS_SELECTOR, "#commit-list li")
        assert item.text.startswith("let a to private for 2 years from 2029: procure now")
        assert item.size["height"] > 0
        plans = browser.find_elements(By.CSS_SELECTOR, ".scenario-plan")
        assert [p.get_attribute("data-scenario") for p in plans] == ["holds", "cuts"]
        assert all(p.location["y"] > item.location["y"] for p in plans)
        moved = browser.find_elements(By.CSS_SELECTOR, "#scenario-schedule-1 td.moved")
        assert [cell.text for cell in moved] == ["private", "private"]
    finally:
        browser.switch_to.default_content()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 40, 6000))
    shot = tmp_path / "scenarios_page.png"
    assert browser.save_screenshot(str(shot))
    keep = os.environ.get("PORTFOLIO_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / "scenarios_page.png")
    browser.set_window_size(1280, 1000)
