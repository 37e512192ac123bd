"""The printed plan (issue 10): today's column and totals, the one-off column, limits by name.

The instance is small enough to solve by hand:

* ``s1`` (a long name), today ``in_house`` (cost 100, outcome 5); ``latc`` costs 80, outcome 6,
  transition 10, and ``latc`` has a setup cost of 40;
* ``s2``, today ``private`` (cost 50, outcome 3, carbon 7); ``in_house`` costs 60, outcome 4,
  transition 5.

Maximising outcome, the plan moves both (outcome 6 + 4 = 10, the only plan reaching 10): annual
cost 80 + 60 = 140, one-off 10 + 5 + 40 (setup) = 55. Today: cost 150, outcome 8, one-off 0.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

import portfolio
from portfolio.report import format_result

LONG_NAME = "A very long service name that goes well beyond thirty four characters, in full"


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Tiny",
        "currency": "£k",
        "modes": [
            {"id": "in_house", "sector": "public"},
            {"id": "latc", "sector": "public", "setup_cost": 40},
            {"id": "private", "sector": "private"},
        ],
        "services": [
            {
                "id": "s1",
                "name": LONG_NAME,
                "current_mode": "in_house",
                "options": [
                    {"mode": "in_house", "annual_cost": 100, "outcome": 5},
                    {"mode": "latc", "annual_cost": 80, "outcome": 6, "transition_cost": 10},
                ],
            },
            {
                "id": "s2",
                "current_mode": "private",
                "options": [
                    {
                        "mode": "private",
                        "annual_cost": 50,
                        "outcome": 3,
                        "metrics": {"carbon_t": 7},
                    },
                    {"mode": "in_house", "annual_cost": 60, "outcome": 4, "transition_cost": 5},
                ],
            },
        ],
        "constraints": {
            "budget": 200,
            "transition_budget": 100,
            "limits": [{"metric": "carbon_t", "sector": "private", "max": 10}],
        },
        "objective": "maximise_outcome",
    }
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def solved() -> tuple[portfolio.Instance, portfolio.SolveResult, str]:
    instance = portfolio.instance_from_data(_data())
    result = portfolio.solve(instance, "highs")
    assert result.plan is not None
    return instance, result, format_result(instance, result)


def _row(text: str, start: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(start))
    return line[len(start) :].split()


def test_today_column_and_totals_are_the_hand_derived_baseline(
    solved: tuple[portfolio.Instance, portfolio.SolveResult, str],
) -> None:
    _, result, text = solved
    assert result.plan is not None
    assert result.plan.assignment == {"s1": "latc", "s2": "in_house"}
    assert _row(text, "s2 ") == ["private", "in_house", "60", "5", "4"]
    assert _row(text, "plan ") == ["140", "55", "10"]
    assert _row(text, "today (every service as now) ") == ["150", "0", "8"]
    assert (
        "Against today: 2 of 2 services change mode; outcome +2, annual cost -10, "
        "one-off +55 (£k)." in text
    )


def test_one_off_column_adds_up_to_the_transition_budget(
    solved: tuple[portfolio.Instance, portfolio.SolveResult, str],
) -> None:
    _, result, text = solved
    assert result.plan is not None
    counted = next(c for c in result.plan.checks if c.name == "transition_budget").value
    assert counted == pytest.approx(55)
    setup = _row(text, "setup of mode latc ")
    assert setup == ["40"]
    services = [float(_row(text, start)[-2]) for start in ("A very long ", "s2 ")]
    assert sum(services) + float(setup[0]) == pytest.approx(counted)
    assert float(_row(text, "plan ")[1]) == pytest.approx(counted)


def test_limits_row_is_named_by_metric_and_filter(
    solved: tuple[portfolio.Instance, portfolio.SolveResult, str],
) -> None:
    _, _, text = solved
    assert re.search(r"^   carbon_t \(private\) +total +0 <= 10$", text, re.MULTILINE)
    assert "limits[0]" not in text
    assert "* at its bound (run `portfolio explain`" in text


def test_output_ends_with_a_newline_and_long_names_are_not_cut(
    solved: tuple[portfolio.Instance, portfolio.SolveResult, str],
) -> None:
    _, _, text = solved
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "…" not in text
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("A very long "))
    # The name wraps over the first column of the following lines, which hold nothing else.
    words: list[str] = []
    for line in lines[first:]:
        if line.startswith("s2 "):
            break
        words += line[:34].split()
        assert line == lines[first] or line[34:].strip() == ""
    assert " ".join(words) == LONG_NAME


def test_detail_is_printed_only_when_it_says_something(
    solved: tuple[portfolio.Instance, portfolio.SolveResult, str],
) -> None:
    instance, result, _ = solved
    for said in ((), ("HiGHS: Optimal",), ("optimal",)):
        quiet = dataclasses.replace(result, notes=said)
        assert "detail:" not in format_result(instance, quiet)
    loud = dataclasses.replace(result, notes=("HiGHS: Optimal", "LP-guided start"))
    assert "detail: HiGHS: Optimal; LP-guided start" in format_result(instance, loud)


def test_minimise_cost_states_its_definition() -> None:
    instance = portfolio.instance_from_data(_data(objective="minimise_cost"))
    text = format_result(instance, portfolio.solve(instance, "highs"))
    assert "minimise_cost = annual cost + one-off money (transition, setup and termination)" in (
        text
    )


def test_multi_year_table_by_name_with_continuing_arrangements() -> None:
    data = _data(horizon={"start_year": 2027, "years": 2, "discount_rate": 0})
    instance = portfolio.instance_from_data(data)
    result = portfolio.solve(instance, "highs")
    assert result.multi_year is not None
    text = format_result(instance, result)
    assert text.endswith("\n")
    assert "A very long service name that" in text
    assert "characters, in full" in text
    # Each year's one-off total is what the transition budget counts that year.
    one_off = _row(text, "one-off total ")
    for shown, year in zip(one_off, result.multi_year.years, strict=True):
        counted = next(c for c in year.checks if c.name == "transition_budget").value
        assert float(shown.replace(",", "")) == pytest.approx(counted)
    # A service whose option stays the same in 2028 is shown as continuing there.
    schedule = result.multi_year.options
    same = [sid for sid, options in schedule.items() if options[0] == options[1]]
    assert same, schedule
    assert '"' in text
    assert "carbon_t (private), total" in text
    assert "limits[0]" not in text


def test_totals_stay_in_their_columns_when_every_name_is_short() -> None:
    """With only short service ids (no names), the service column is narrow; the totals' long
    label ("today (every service as now)") must not push today's figures right of the plan's."""
    data = _data()
    del data["services"][0]["name"]
    instance = portfolio.instance_from_data(data)
    result = portfolio.solve(instance, "highs")
    text = format_result(instance, result)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("service "))
    plan = next(line for line in lines if line.startswith("plan "))
    today = next(line for line in lines if line.startswith("today (every service as now) "))
    s2 = next(line for line in lines if line.startswith("s2 "))
    # Each figure ends where its column ends, in the service rows and in both totals.
    ends = [match.end() for match in re.finditer(r"\S+", s2)][-3:]
    assert [match.end() for match in re.finditer(r"\S+", plan)][-3:] == ends
    assert [match.end() for match in re.finditer(r"\S+", today)][-3:] == ends
    assert len(header) >= ends[-1]
