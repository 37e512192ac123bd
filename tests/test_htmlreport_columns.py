"""The HTML report looks each service up once and reads the options from the instance's option
columns: its page must be, byte for byte, the page the previous lookups and option objects gave
(``htmlreport_reference.py``).

Real results of the bundled instances (single-period, mixed, multi-year, funding scenarios, a
no-plan one) and of generated ones (every row family, labels, yearly cost lists) are rendered
both ways, with the instance read through the full validation path and through the fast reader
(which must build no option object for the page), and with results edited to name options by
negative positions or by positions that do not exist.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio
from htmlreport_reference import ReferencePage
from portfolio.columnar import read_json
from portfolio.domain import Instance
from portfolio.generate import random_instance_data
from portfolio.htmlreport import render_report
from portfolio.io import instance_from_data
from portfolio.multiyear.generate import random_multi_year_data

ROOT = Path(__file__).resolve().parent.parent
QUICK = portfolio.SolveParams(rel_gap=2e-2, time_limit=20)

BUNDLED = [
    "example_borough.yaml",
    "example_borough_mixed.yaml",
    "example_borough_multiyear.yaml",
    "budget_path_multiyear.yaml",
    "example_borough_scenarios.yaml",
    "scenarios_flexible_contract.yaml",
    "small/limit_max_by_sector.yaml",
    "small/infeasible_budget.yaml",
]


def _built(instance: Instance) -> int:
    """Option objects an instance holds built (the fast reader leaves them as columns)."""
    return sum(
        len(service.__dict__["options"])
        for service in instance.services
        if type(service.__dict__.get("options")) is list
    )


def _fast(instance: Instance) -> Instance | None:
    """The instance written as JSON and read by the fast reader (None where it declines)."""
    return read_json(instance.model_dump_json(exclude_unset=True).encode())


def _pages(result: dict[str, Any], instance: Instance | None) -> tuple[str, str]:
    """The page now, and the page the reference gives."""
    return render_report(result, instance), ReferencePage(result, instance, None).render(None, None)


def _check(result: dict[str, Any], instance: Instance) -> str:
    """The page is the reference's, from the instance read either way; the fast instance builds
    no option object for it."""
    new, old = _pages(result, instance)
    assert new == old
    fast = _fast(instance)
    if fast is not None:
        read = _built(fast)
        assert render_report(result, fast) == old
        assert _built(fast) == read
    return new


def _solved(instance: Instance) -> dict[str, Any]:
    return portfolio.solve(instance, params=QUICK).to_dict()


@pytest.mark.parametrize("name", BUNDLED)
def test_the_bundled_instances_pages_are_the_loops(name: str) -> None:
    instance = portfolio.load_instance(ROOT / "instances" / name)
    result = _solved(instance)
    result["file"] = name
    page = _check(result, instance)
    assert ("<table id=\"plan-table\">" in page) is (
        bool(result.get("services")) and not result.get("scenarios")
        and result["status"] in ("optimal", "feasible")
    )
    _check(result, instance)  # again, on the columns already made
    new, old = _pages(result, None)  # the result alone
    assert new == old


def _labelled(data: dict[str, Any], seed: int) -> dict[str, Any]:
    """Labels on about a third of the options, and (multi-year) yearly cost lists on some."""
    rng = np.random.default_rng(seed)
    years = data.get("horizon", {}).get("years")
    for service in data["services"]:
        for k, option in enumerate(service["options"]):
            if rng.random() < 0.3:
                option["label"] = f"{service['id']} contract {k}"
            if years and "indexation" not in option and rng.random() < 0.2:
                base = option["annual_cost"]
                option["annual_cost"] = [round(base * (1 - 0.01 * t), 1) for t in range(years)]
    return data


@pytest.fixture(scope="module")
def generated() -> list[tuple[Instance, dict[str, Any]]]:
    single = _labelled(random_instance_data(400, seed=3, setup_costs=True, sector_shares=True,
                                            bundles=True), 3)
    multi = _labelled(random_multi_year_data(80, years=5, seed=1), 1)
    cases = []
    for data in (single, multi):
        instance = instance_from_data(data)
        result = _solved(instance)
        assert result["status"] in ("optimal", "feasible"), result.get("detail")
        cases.append((instance, result))
    return cases


def test_generated_pages_are_the_loops(generated: list[tuple[Instance, dict[str, Any]]]) -> None:
    for instance, result in generated:
        page = _check(result, instance)
        assert page.count("<tr data-service=") >= len(instance.services)
        assert 'class="option"' in page  # a label is shown


def test_results_naming_options_by_other_positions(
    generated: list[tuple[Instance, dict[str, Any]]],
) -> None:
    """A result edited by hand: negative positions read as the list reads them (from the end);
    a position past the end, or a service the instance does not have, fails as before."""
    instance, result = generated[1]
    assert result.get("schedule_options")
    edited = copy.deepcopy(result)
    options = edited["schedule_options"]
    first, second = list(options)[:2]
    options[first] = [-1] * len(options[first])
    options[second] = [p - len(instance.service(second).options) for p in options[second]]
    _check(edited, instance)
    for bad in (len(instance.service(first).options), -len(instance.service(first).options) - 1):
        broken = copy.deepcopy(result)
        broken["schedule_options"][first] = [bad] * len(options[first])
        with pytest.raises(IndexError):
            render_report(broken, instance)
        with pytest.raises(IndexError):
            ReferencePage(broken, instance, None).render(None, None)
    unknown = json.loads(json.dumps(result))
    unknown["schedule_options"]["nobody"] = unknown["schedule_options"].pop(first)
    with pytest.raises(KeyError):
        render_report(unknown, instance)
    with pytest.raises(KeyError):
        ReferencePage(unknown, instance, None).render(None, None)
