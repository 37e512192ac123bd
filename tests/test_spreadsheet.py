"""Spreadsheets: instance workbooks in and out, ``portfolio convert``, result workbooks.

Every workbook here is written and read with the real openpyxl, and every solve is real.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import portfolio
from portfolio.errors import ValidationError
from portfolio.io import instance_data, load_instance, read_data, write_instance

openpyxl = pytest.importorskip(
    "openpyxl", reason="openpyxl is not installed: pip install 'portfolio[xlsx]'"
)

from portfolio.spreadsheet import (  # noqa: E402
    read_workbook,
    write_instance_workbook,
    write_result_workbook,
    write_template,
)

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
FORMATS = ("yaml", "json", "toml", "xlsx")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command in this process: (exit code, stdout, stderr)."""
    from portfolio.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def issues_of(path: Path) -> dict[str, str]:
    """Item -> message of every issue reading the workbook raises."""
    with pytest.raises(ValidationError) as caught:
        read_workbook(path)
    return {issue.item: issue.message for issue in caught.value.issues}


TINY: dict[str, Any] = {
    "name": "tiny",
    "modes": [{"id": "a", "sector": "public"}, {"id": "b", "sector": "private"}],
    "services": [
        {
            "id": "s1",
            "current_mode": "a",
            "options": [
                {"mode": "a", "annual_cost": 10, "outcome": 1},
                {"mode": "b", "annual_cost": 8, "transition_cost": 1, "outcome": 2},
            ],
        },
        {
            "id": "s2",
            "current_mode": "b",
            "options": [
                {"mode": "b", "annual_cost": 5, "outcome": 1},
                {"mode": "a", "annual_cost": 6, "transition_cost": 2, "outcome": 3},
            ],
        },
    ],
    "constraints": {"budget": 15},
}

TINY_MULTI_YEAR: dict[str, Any] = {
    **TINY,
    "name": "tiny multi-year",
    "horizon": {"start_year": 2030, "years": 3},
    "constraints": {"budget": [16, 15, 14], "max_changes": 1},
}


# ---------------------------------------------------------------------- the template
def test_packaged_examples_are_the_instances_folder_copies() -> None:
    data = ROOT / "src" / "portfolio" / "data"
    for name in ("example_borough.yaml", "example_borough_multiyear.yaml"):
        assert (data / name).read_bytes() == (INSTANCES / name).read_bytes(), name


@pytest.mark.parametrize("multi_year", [False, True], ids=["single", "multi_year"])
def test_template_round_trips_exactly(tmp_path: Path, multi_year: bool) -> None:
    name = "example_borough_multiyear.yaml" if multi_year else "example_borough.yaml"
    original = load_instance(INSTANCES / name)
    first = tmp_path / "first.xlsx"
    write_template(first, original if multi_year else None)
    read_once = read_workbook(first)
    assert read_once == original
    second = tmp_path / "second.xlsx"
    write_instance_workbook(read_once, second)
    assert read_workbook(second) == original
    if multi_year:  # yearly lists really went through year columns
        constraints = read_once.constraints
        assert constraints.budget == [330000, 325000, 320000, 316000, 313000]
        assert constraints.limits[1].max == [31000, 30500, 29500, 28500, 28000]
        assert constraints.min_flexibility == 0.45


def test_template_sheets_headers_and_drop_down_lists(tmp_path: Path) -> None:
    path = tmp_path / "council.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "README", "instance", "modes", "services", "options", "constraints", "limits", "scenarios"
    ]
    assert [c.value for c in book["scenarios"][1]] == ["scenario", "probability", "what", "value"]
    assert book["scenarios"].max_row == 1
    assert [c.value for c in book["constraints"][1]] == ["constraint", "sector", "value"]
    assert book["modes"]["A2"].value == "in_house"
    assert book["options"]["D2"].value == 14500  # adult_assessment's first annual_cost
    readme = " ".join(str(c.value) for row in book["README"].iter_rows() for c in row if c.value)
    for column in ("annual_cost", "fixed_mode", "sector_share_max", "horizon.start_year"):
        assert column in readme

    def lists(sheet: str) -> dict[str, str]:
        ws = book[sheet]
        rules = ws.data_validations.dataValidation
        return {str(rule.sqref).split(":")[0][0]: rule.formula1 for rule in rules}

    assert lists("options")["B"] == "=mode_ids"  # mode column offers the modes sheet's ids
    assert lists("services")["D"] == "=mode_ids"
    assert lists("modes")["B"] == '"public,private,voluntary,community"'
    assert book.defined_names["mode_ids"].attr_text.startswith("modes!$A$2:$A$")
    objective = lists("instance")
    assert objective["B"] == '"maximise_outcome,minimise_cost,maximise,minimise"'


def test_template_command_writes_the_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "council.xlsx"
    code, _, err = cli(capsys, "template", str(out))
    assert code == 0, err
    assert read_workbook(out) == load_instance(INSTANCES / "example_borough.yaml")
    code, _, err = cli(capsys, "template", str(tmp_path / "council.yaml"))
    assert code == 2
    assert "name it *.xlsx" in err


def test_example_borough_solves_to_the_same_objective_from_yaml_and_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "borough.xlsx"
    write_template(path)
    from_yaml = portfolio.solve(INSTANCES / "example_borough.yaml")
    from_xlsx = portfolio.solve(path)
    assert from_yaml.status.value == from_xlsx.status.value == "optimal"
    assert from_xlsx.objective == pytest.approx(2506.0, abs=1e-9)  # the published optimum
    assert from_xlsx.objective == from_yaml.objective
    assert from_xlsx.plan is not None
    assert from_yaml.plan is not None
    # Without a time limit the tie-break among equally good plans is limited by work (a node
    # limit), not time, so both solves end on the same plan on any machine.
    assert from_xlsx.stats["prefer"] == from_yaml.stats["prefer"]
    assert from_xlsx.stats["prefer"]["limited"].startswith("by work")
    assert from_xlsx.plan.options == from_yaml.plan.options


# ---------------------------------------------------------------------- convert
@pytest.mark.parametrize(("source", "target"), list(itertools.permutations(FORMATS, 2)))
def test_convert_between_every_pair_is_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, target: str
) -> None:
    for stem in ("example_borough", "example_borough_multiyear"):
        original = load_instance(INSTANCES / f"{stem}.yaml")
        start = tmp_path / f"{stem}.{source}"
        write_instance(original, start)
        out = tmp_path / f"{stem}-converted.{target}"
        code, _, err = cli(capsys, "convert", str(start), str(out))
        assert code == 0, err
        assert load_instance(out) == original, (stem, source, target)


def test_convert_keeps_a_weighted_objective_and_awkward_text(tmp_path: Path) -> None:
    data = yaml.safe_load((INSTANCES / "small" / "weighted_objective.yaml").read_text())
    data["name"] = 'Quotes " and \\ back\nslash, £ and ü'
    data["description"] = "yes"  # a YAML 1.1 boolean word, kept as text
    original = portfolio.instance_from_data(data)
    path = tmp_path / "start.yaml"
    write_instance(original, path)
    for fmt in FORMATS:
        out = tmp_path / f"w.{fmt}"
        write_instance(load_instance(path), out)
        assert load_instance(out) == original, fmt
        path = out


def test_convert_rejects_an_unknown_output_type_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "convert", str(tmp_path / "missing.yaml"), str(tmp_path / "x.csv"))
    assert code == 2
    assert "unknown file type '.csv'" in err


def test_read_data_of_a_workbook_is_the_instance_data(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    write_template(path)
    instance = load_instance(INSTANCES / "example_borough.yaml")
    assert read_data(path) == instance_data(instance)


def test_workbook_from_a_stream(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    instance = portfolio.instance_from_data(TINY_MULTI_YEAR)
    write_instance_workbook(instance, buffer)
    buffer.seek(0)
    assert read_workbook(buffer, name="upload.xlsx") == instance


# ---------------------------------------------------------------------- bad workbooks
def _corrupt(tmp_path: Path) -> Path:
    good = tmp_path / "good.xlsx"
    write_template(good)
    book = openpyxl.load_workbook(good)
    del book["limits"]  # missing sheet
    options = book["options"]
    options["D14"] = "twelve"  # text in a number cell (annual_cost)
    options.merge_cells("F20:G20")  # merged cell (outcome, flexibility)
    options.insert_rows(30)  # an empty row in the middle
    options["B40"] = "inhouse"  # an unknown mode in a data cell
    book["modes"]["D3"] = -5  # negative setup_cost
    book["services"]["F4"] = "maybe"  # not a boolean
    book["constraints"]["C2"] = "lots"  # budget as text
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    return bad


def test_corrupted_workbook_names_every_cell_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _corrupt(tmp_path)
    issues = issues_of(bad)
    assert issues == {
        "modes!D3 (setup_cost)": "Input should be greater than or equal to 0 (got -5)",
        "services!F4 (statutory)": "expected TRUE or FALSE, got 'maybe'",
        "options!D14 (annual_cost)": "expected a number, got text 'twelve'",
        "options!F20:G20 (outcome)": "merged cells: unmerge them and give each cell its own value",
        "options!A30 (empty row)": "an empty row in the middle of the table: delete it (a table "
        "ends at its last filled row)",
        "options!B40 (mode)": "unknown mode 'inhouse' (not on sheet modes); did you mean "
        "'in_house'?",
        "constraints!C2 (value)": "expected a number, got text 'lots'",
        "limits": "missing sheet 'limits' (sheets found: README, instance, modes, services, "
        "options, constraints, scenarios); every sheet of the template must be present, with "
        "only its header row when it has no data",
    }
    code, _, err = cli(capsys, "validate", str(bad))
    assert code == 2
    assert f"{bad}: options!D14 (annual_cost): expected a number" in err
    proc = run("solve", str(bad))  # as a user runs it: exit 2, the list, no traceback
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{bad}: options!D14 (annual_cost): expected a number" in proc.stderr
    assert "8 errors" in proc.stderr


def test_instance_errors_are_placed_on_their_cells(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    services = book["services"]
    duplicate = services.max_row + 1
    services.append(["waste_collection", None, None, "in_house"])  # an id already taken
    services["I4"] = "latc"  # residential_care has no latc option: a red line it cannot meet
    constraints = book["constraints"]
    row = constraints.max_row + 1
    constraints.cell(row=row, column=1, value="same_mode")
    constraints.cell(row=row, column=3, value="waste_collection, no_such_service")
    book["limits"]["A2"] = "no_such_metric"
    book.save(path)
    issues = issues_of(path)
    assert issues[f"services!A{duplicate} (id)"] == "duplicate service id (also on row 21)"
    assert issues["services!I4 (fixed_mode)"] == (
        "fixed to 'latc' but the service has no option in that mode"
    )
    assert issues[f"constraints!C{row} (value)"] == (
        "same_mode[2]: unknown service 'no_such_service'; did you mean 'youth_services'?"
    )
    assert issues["limits!A2 (metric)"].startswith("unknown figure 'no_such_metric'")
    assert len(issues) == 4


def test_yearly_values_are_checked_against_the_horizon(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    write_instance_workbook(portfolio.instance_from_data(TINY_MULTI_YEAR), path)
    book = openpyxl.load_workbook(path)
    constraints = book["constraints"]
    header = [c.value for c in constraints[1]]
    assert header == ["constraint", "sector", "value", "2030", "2031", "2032"]
    assert [c.value for c in constraints[2]] == ["budget", None, None, 16, 15, 14]
    constraints["C2"] = 20  # a value for every year and per-year values
    constraints["E3"] = 2  # max_changes: one value and one year filled
    instance = book["instance"]
    for row in instance.iter_rows(min_row=2):
        if row[0].value == "horizon.years":
            row[1].value = 4  # the year columns no longer match the horizon
    book.save(path)
    issues = issues_of(path)
    assert issues["constraints!C2 (value)"].startswith("give one value for every year here")
    assert issues["constraints!C3 (value)"].startswith("give one value for every year here")


def test_year_columns_must_match_the_horizon(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    write_instance_workbook(portfolio.instance_from_data(TINY_MULTI_YEAR), path)
    book = openpyxl.load_workbook(path)
    for row in book["instance"].iter_rows(min_row=2):
        if row[0].value == "horizon.start_year":
            row[1].value = 2029
    book["constraints"]["E2"] = None  # 2031 missing for the budget
    book.save(path)
    issues = issues_of(path)
    assert issues == {
        "constraints!E2 (2031)": "empty: give a value for every year in the year columns, or one "
        "value in 'value'"
    }
    book["constraints"]["E2"] = 15
    book.save(path)
    assert issues_of(path) == {
        "constraints!D2 (2030)": "the year columns (2030-2032) do not match the horizon "
        "(2029-2031) set on the instance sheet"
    }


def test_unknown_columns_formulas_and_scenarios_without_a_horizon_are_reported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.xlsx"
    write_instance_workbook(portfolio.instance_from_data(TINY), path)
    book = openpyxl.load_workbook(path)
    options = book["options"]
    options.cell(row=1, column=options.max_column + 1, value="flexibilty")
    options["D3"] = "=D2*0.8"  # a formula never calculated: no saved value
    book["scenarios"].append(["low", 1, "budget", 12])
    book.save(path)
    issues = issues_of(path)
    assert issues["options!O1 (flexibilty)"].startswith("unknown column: expected one of service")
    assert issues["options!D3 (annual_cost)"].startswith("a formula with no saved result")
    assert len(issues) == 2
    write_instance_workbook(portfolio.instance_from_data(TINY), path)
    book = openpyxl.load_workbook(path)
    book["scenarios"].append(["low", 1, "budget", 12])
    book.save(path)
    assert issues_of(path) == {
        "scenarios!A2 (scenario)": "funding scenarios need a multi-year horizon (horizon: "
        "{start_year, years})"
    }


def test_not_a_workbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.xlsx"
    path.write_text("name: not a workbook\n")
    code, _, err = cli(capsys, "validate", str(path))
    assert code == 2
    assert f"{path}: not a readable .xlsx workbook" in err


def test_openpyxl_is_imported_only_when_needed() -> None:
    code = (
        "import sys, portfolio, portfolio.spreadsheet, portfolio.cli\n"
        "assert 'openpyxl' not in sys.modules, 'imported too early'\n"
        "sys.modules['openpyxl'] = None  # as if not installed\n"
        "from portfolio.errors import PortfolioError\n"
        "try:\n"
        "    portfolio.spreadsheet.read_workbook('x.xlsx')\n"
        "except PortfolioError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'portfolio[xlsx]'" in proc.stdout


# ---------------------------------------------------------------------- result workbooks
def _cells(book: Any, sheet: str) -> list[dict[str, Any]]:
    rows = list(book[sheet].iter_rows())
    header = [c.value for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _number(cell: Any, fmt: str | None = None) -> float:
    assert isinstance(cell.value, int | float), cell
    assert not isinstance(cell.value, bool), cell
    if fmt is not None:
        assert cell.number_format == fmt, (cell.coordinate, cell.number_format)
    return float(cell.value)


def test_solve_output_xlsx_equals_the_result_json(tmp_path: Path) -> None:
    instance_path = tmp_path / "borough.xlsx"
    write_template(instance_path)
    out = tmp_path / "plan.xlsx"
    proc = run("solve", str(instance_path), "--output", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["objective"] == pytest.approx(2506.0, abs=1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["borough.xlsx", "plan.xlsx"]  # no temp
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["summary", "plan", "limits"]
    summary = {row["field"].value: row["value"] for row in _cells(book, "summary")}
    assert summary["status"].value == "optimal"
    assert _number(summary["objective"]) == result["objective"]
    plan = _cells(book, "plan")
    instance = load_instance(INSTANCES / "example_borough.yaml")
    assert [row["service"].value for row in plan[:-1]] == [s["service"] for s in result["services"]]
    for row, expected, service in zip(plan, result["services"], instance.services, strict=False):
        assert row["plan mode"].value == expected["mode"]
        assert _number(row["plan option"], "0") == expected["option"]
        assert _number(row["annual cost"], "#,##0.00") == expected["annual_cost"]
        assert _number(row["one-off cost"], "#,##0.00") == expected["transition_cost"]
        assert _number(row["outcome"], "0.00") == expected["outcome"]
        assert row["today mode"].value == service.current_mode
        changed = expected["mode"] != service.current_mode
        assert (row["change"].value or "") == (
            f"{service.current_mode} → {expected['mode']}" if changed else ""
        )
    total = plan[-1]
    assert total["service"].value == "total"
    assert _number(total["annual cost"]) == pytest.approx(
        sum(s["annual_cost"] for s in result["services"]), abs=1e-6
    )
    assert total["change"].value == f"{len(result['changes'])} changes"
    limits = _cells(book, "limits")
    assert [row["limit"].value for row in limits] == [c["name"] for c in result["checks"]]
    for row, check in zip(limits, result["checks"], strict=True):
        assert _number(row["value"]) == check["value"]
        assert _number(row["bound"]) == check["limit"]
        assert row["at limit"].value is check["binding"]
    budget = limits[0]
    assert budget["value"].number_format == "#,##0.00"
    share = next(row for row in limits if str(row["limit"].value).startswith("sector_share"))
    assert share["value"].number_format == "0.0%"


def test_multi_year_result_workbook_has_years_and_schedule(tmp_path: Path) -> None:
    instance = portfolio.instance_from_data(TINY_MULTI_YEAR)
    result = portfolio.solve(instance)
    assert result.status.value == "optimal"
    data = json.loads(json.dumps(result.to_dict()))
    buffer = io.BytesIO()
    write_result_workbook(data, buffer, instance)
    buffer.seek(0)
    book = openpyxl.load_workbook(buffer)
    assert book.sheetnames == ["summary", "plan", "years", "schedule", "limits"]
    years = _cells(book, "years")
    assert [_number(row["year"], "0") for row in years] == [2030, 2031, 2032]
    for row, year in zip(years, data["years"], strict=True):
        for key in ("annual_cost", "transition_cost", "weighted_outcome", "objective"):
            assert _number(row[key]) == year[key]
        assert _number(row["changes"], "0") == len(year["changes"])
    schedule = _cells(book, "schedule")
    for row in schedule:
        service = row["service"].value
        assert [row[f"mode {y}"].value for y in (2030, 2031, 2032)] == data["schedule"][service]
        assert [_number(row[f"option {y}"], "0") for y in (2030, 2031, 2032)] == (
            data["schedule_options"][service]
        )
    limits = _cells(book, "limits")
    assert [(row["limit"].value, row["year"].value) for row in limits[:2]] == [
        ("budget", 2030),
        ("max_changes", 2030),
    ]


def test_result_workbook_without_a_plan_shows_the_explanation(tmp_path: Path) -> None:
    data = {**TINY, "constraints": {"budget": 1}}
    instance = portfolio.instance_from_data(data)
    result = portfolio.solve(instance)
    assert result.status.value == "infeasible"
    out = tmp_path / "none.xlsx"
    write_result_workbook(result.to_dict(), out, instance)
    book = openpyxl.load_workbook(out)
    summary = {row["field"].value: row["value"].value for row in _cells(book, "summary")}
    assert summary["status"] == "infeasible"
    assert "budget" in str(summary["relax"])
    plan = _cells(book, "plan")
    assert [row["today mode"].value for row in plan[:-1]] == ["a", "b"]
    assert [row["plan mode"].value for row in plan[:-1]] == [None, None]


def test_batch_accepts_workbooks(tmp_path: Path) -> None:
    write_instance_workbook(portfolio.instance_from_data(TINY), tmp_path / "tiny.xlsx")
    out = tmp_path / "out"
    proc = run("batch", str(tmp_path / "tiny.xlsx"), "--out", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "tiny.result.json").read_text())
    # Hand-derived: within the budget of 15, (b, a) costs 8 + 6 and scores 2 + 3, the best.
    assert result["status"] == "optimal"
    assert result["objective"] == 5.0
    assert result["assignment"] == {"s1": "b", "s2": "a"}


def test_result_workbook_shows_gains_and_baseline_when_the_result_has_them() -> None:
    instance = portfolio.instance_from_data(TINY)
    data = portfolio.solve(instance).to_dict()
    assert [c["name"] for c in data["checks"]] == ["budget"]
    data["limits"] = [{"name": "budget", "at_limit": True, "gain": 1.0}]
    data["baseline"] = {"objective": 2.0, "annual_cost": 15.0, "one_off_cost": 0.0}
    buffer = io.BytesIO()
    write_result_workbook(data, buffer, instance)
    buffer.seek(0)
    book = openpyxl.load_workbook(buffer)
    (budget,) = _cells(book, "limits")
    assert _number(budget["gain"], "#,##0.00") == 1.0
    assert budget["at limit"].value is True
    summary = {row["field"].value: row["value"] for row in _cells(book, "summary")}
    assert _number(summary["today: objective"], "0.00") == 2.0
    assert _number(summary["today: annual cost"], "#,##0.00") == 15.0


def test_a_workbook_with_an_xml_entity_bomb_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("defusedxml", reason="defusedxml is not installed (portfolio[xlsx])")
    import zipfile

    good = tmp_path / "good.xlsx"
    write_instance_workbook(portfolio.instance_from_data(TINY), good)
    bomb = tmp_path / "bomb.xlsx"
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">' for k in range(8)
    )
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as target:
        for entry in source.infolist():
            payload = source.read(entry.filename)
            if entry.filename == "xl/worksheets/sheet3.xml":
                text = payload.decode("utf-8")
                assert text.startswith("<worksheet")  # no XML declaration to keep first
                payload = f"<!DOCTYPE worksheet [{entities}]>{text}".encode()
                payload = payload.replace(b"<v>", b"<v>&i;", 1)
            target.writestr(entry, payload)
    code, _, err = cli(capsys, "validate", str(bomb))
    assert code == 2
    assert f"{bomb}: not a readable .xlsx workbook (EntitiesForbidden" in err


def test_a_near_miss_of_a_service_on_the_options_sheet_gets_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "council.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    assert book["options"]["A2"].value == "adult_assessment"
    book["options"]["A2"] = "adult_asessment"
    book.save(path)
    assert issues_of(path)["options!A2 (service)"] == (
        "unknown service 'adult_asessment' (not on sheet services); did you mean "
        "'adult_assessment'?"
    )


def test_numbers_that_need_17_digits_survive_a_workbook(tmp_path: Path) -> None:
    # openpyxl on its own writes 16 significant digits: this budget would come back as
    # 1000000.123456123 (and the plan it admits would no longer fit).
    source = INSTANCES / "numerics" / "many_digits.yaml"
    instance = load_instance(source)
    assert instance.constraints.budget == 1000000.1234561234
    workbook = tmp_path / "many_digits.xlsx"
    write_instance(instance, workbook)
    back = load_instance(workbook)
    assert back.constraints.budget == 1000000.1234561234
    assert instance_data(back) == instance_data(instance)
    share = 0.051923076923076926  # the example borough's voluntary share: 17 digits
    assert float(f"{share:.16g}") != share
    book = openpyxl.Workbook()
    book.active["A1"] = share
    stream = io.BytesIO()
    from portfolio.spreadsheet import _save

    _save(book, stream)
    stream.seek(0)
    assert openpyxl.load_workbook(stream).active["A1"].value == share


# ---------------------------------------------------------------------- funding scenarios
def _scenario_data() -> dict[str, Any]:
    """TINY_MULTI_YEAR with a limits row and four scenarios using every kind of override."""
    data = json.loads(json.dumps(TINY_MULTI_YEAR))
    data["constraints"]["sector_share"] = {"private": {"max": 0.9}}
    data["constraints"]["limits"] = [{"metric": "annual_cost", "mode": "b", "max": 12}]
    data["risk"] = {"cvar": 0.3}
    data["scenarios"] = [
        {"name": "holds", "probability": 0.4},
        {"name": "cuts", "probability": 0.3, "constraints": {"budget": [16, 14, 13]}},
        {
            "name": "mixed",
            "probability": 0.2,
            "cost_factor": {"private": [1, 1.05, 1.1]},
            "constraints": {
                "transition_budget": [5, 5, 6],
                "max_changes": 2,
                "min_outcome": 2,
                "min_flexibility": 0,
                "sector_share": {"private": {"max": [0.9, 0.8, 0.7], "min": 0}},
                "limits": {0: {"min": 1, "max": [12, 11, 10]}},
            },
        },
        {"name": "dearer", "probability": 0.1, "cost_factor": [1, 1, 1.2]},
    ]
    return data


def test_scenarios_and_risk_round_trip_through_the_workbook(tmp_path: Path) -> None:
    original = portfolio.instance_from_data(_scenario_data())
    path = tmp_path / "scenarios.xlsx"
    write_instance_workbook(original, path)
    back = read_workbook(path)
    assert back == original
    book = openpyxl.load_workbook(path)
    rows = [list(row) for row in book["scenarios"].iter_rows(values_only=True)]
    assert rows[0] == ["scenario", "probability", "what", "value", "2030", "2031", "2032"]
    assert rows[1] == ["holds", 0.4, None, None, None, None, None]  # no override: one row
    assert rows[2] == ["cuts", 0.3, "budget", None, 16, 14, 13]
    mixed = {row[2]: row for row in rows if row[0] == "mixed"}
    assert mixed["max_changes"][3] == 2
    assert mixed["max_changes"][1] is None
    assert mixed["limits[0].max"][4:] == [12, 11, 10]
    assert mixed["cost_factor.private"][4:] == [1, 1.05, 1.1]
    assert rows[-1][:3] == ["dearer", 0.1, "cost_factor"]
    settings = {row[0]: row[1] for row in book["instance"].iter_rows(values_only=True)}
    assert settings["risk"] == "cvar 0.3"
    for text, risk in (("worst_case", "worst_case"), ("CVaR: 0.25", {"cvar": 0.25}),
                       ("expected", "expected")):
        for row in book["instance"].iter_rows(min_row=2):
            if row[0].value == "risk":
                row[1].value = text
        book.save(path)
        data = _scenario_data()
        data["risk"] = risk
        assert read_workbook(path) == portfolio.instance_from_data(data)
    # The bundled example too (yaml -> workbook -> instance).
    example = load_instance(INSTANCES / "example_borough_scenarios.yaml")
    write_instance_workbook(example, path)
    assert read_workbook(path) == example


def test_scenario_sheet_single_values_and_probability_on_every_row(tmp_path: Path) -> None:
    path = tmp_path / "typed.xlsx"
    write_instance_workbook(portfolio.instance_from_data(TINY_MULTI_YEAR), path)
    book = openpyxl.load_workbook(path)
    sheet = book["scenarios"]
    sheet.append(["low", 0.5, "budget", 12])
    sheet.append(["low", 0.5, "cost_factor.private", 1.1])  # the same probability again: fine
    sheet.append(["base", 0.5])
    book.save(path)
    instance = read_workbook(path)
    assert instance.scenarios is not None
    low, base = instance.scenarios
    assert (low.name, low.probability, low.constraints.budget) == ("low", 0.5, 12)
    assert low.cost_factor == {"private": [1.1, 1.1, 1.1]}  # one value: every year
    assert (base.name, base.constraints.budget, base.cost_factor) == ("base", None, None)
    assert instance.risk is None


def test_scenario_sheet_errors_name_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    write_instance_workbook(portfolio.instance_from_data(_scenario_data()), path)
    book = openpyxl.load_workbook(path)
    sheet = book["scenarios"]
    sheet.append(["cuts", 0.25, "budget", 9])  # row 14: probability differs, budget twice
    sheet.append(["cuts", None, "bugdet", 9])
    sheet.append(["cuts", None, "sector_share.privat.max", 0.5])
    sheet.append(["cuts", None, None, 5])
    sheet.append([None, None, "max_changes", 1])
    sheet.append(["later", None, "min_outcome", None, 1, None, 2])
    sheet.append(["later", None, "max_changes", "two"])
    book.save(path)
    assert issues_of(path) == {
        "scenarios!B14 (probability)": "scenario 'cuts' has probability 0.3 on row 3: give it "
        "once, on the scenario's first row",
        "scenarios!C14 (what)": "scenario 'cuts' changes budget twice (also on row 3)",
        "scenarios!C15 (what)": "unknown 'bugdet': expected one of budget, transition_budget, "
        "max_changes, min_outcome, min_flexibility, sector_share.<sector>.min, "
        "sector_share.<sector>.max, limits[<i>].min, limits[<i>].max, cost_factor, "
        "cost_factor.<sector>",
        "scenarios!C16 (what)": "unknown sector 'privat': expected one of public, private, "
        "voluntary, community",
        "scenarios!C17 (what)": "required with a value: what the value changes (one of budget, "
        "transition_budget, max_changes, min_outcome, min_flexibility, "
        "sector_share.<sector>.min, sector_share.<sector>.max, limits[<i>].min, "
        "limits[<i>].max, cost_factor, cost_factor.<sector>)",
        "scenarios!A18 (scenario)": "required: the name of the scenario this row is for",
        "scenarios!B19 (probability)": "required field is missing",
        "scenarios!F19 (2031)": "empty: give a value for every year in the year columns, or one "
        "value in 'value'",
        "scenarios!D20 (value)": "expected a whole number, got text 'two'",
    }


def test_scenario_errors_found_by_the_instance_name_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    write_instance_workbook(portfolio.instance_from_data(_scenario_data()), path)
    book = openpyxl.load_workbook(path)
    sheet = book["scenarios"]
    sheet["B2"] = 0.5  # the probabilities now sum to 1.1
    sheet.append(["extra", 0.0, "limits[3].max", 5])
    book.save(path)
    assert issues_of(path) == {
        "scenarios!B2 (probability)": "the scenarios' probabilities sum to 1.1; they must sum "
        "to 1",
        "scenarios!C14 (what)": "constraints.limits.3: there is no limits row at position '3' "
        "(positions 0 to 0)",
    }
    write_instance_workbook(portfolio.instance_from_data(_scenario_data()), path)
    book = openpyxl.load_workbook(path)
    for row in book["scenarios"].iter_rows(min_row=2):
        if row[2].value == "cost_factor.private":
            row[5].value = -1  # 2031
        if row[2].value == "transition_budget":
            row[1].value = None
    for row in book["instance"].iter_rows(min_row=2):
        if row[0].value == "risk":
            row[1].value = "median"
    book.save(path)
    issues = issues_of(path)
    assert issues.pop("instance!B9 (value)").startswith("risk: Input should be 'expected' or")
    assert issues == {
        "scenarios!B4 (probability)": "required field is missing",  # mixed's first row
        "scenarios!F12 (2031)": "cost_factor.private[1]: Input should be greater than 0 (got -1)"
    }


def test_result_workbook_of_a_plan_under_scenarios(tmp_path: Path) -> None:
    # One service, three years: in house (100, outcome 10) or a two-year private contract (80,
    # outcome 9) procured two years ahead; in 'cuts' the 2029 budget is 85, so the contract for
    # 2029 must be committed in 2027, before the scenarios part: both take it.
    data = json.loads(json.dumps(TINY_MULTI_YEAR))
    data.update(
        modes=[{"id": "in_house", "sector": "public"}, {"id": "private", "sector": "private"}],
        services=[{"id": "a", "current_mode": "in_house", "options": [
            {"mode": "in_house", "annual_cost": 100, "outcome": 10},
            {"mode": "private", "annual_cost": 80, "outcome": 9, "contract_years": 2,
             "lead_time_years": 2}]}],
        constraints={"budget": 100},
        scenarios=[{"name": "holds", "probability": 0.5},
                   {"name": "cuts", "probability": 0.5,
                    "constraints": {"budget": [100, 100, 85]}}],
    )
    instance = portfolio.instance_from_data(data)
    result = portfolio.solve(instance).to_dict()
    out = tmp_path / "result.xlsx"
    write_result_workbook(result, out, instance)
    book = openpyxl.load_workbook(out)
    commit = list(book["commit now"].iter_rows(values_only=True))
    assert commit[1][:5] == ("let a to private for 2 years from 2032: procure now", "a",
                             "start", "private", 1)
    assert commit[1][6:9] == (2032, 2, 2030)
    scenarios = list(book["scenarios"].iter_rows(values_only=True))
    d1, d2 = 1 / 1.035, 1 / 1.035**2
    assert [row[:2] for row in scenarios[1:3]] == [("holds", 0.5), ("cuts", 0.5)]
    assert scenarios[1][2] == pytest.approx(10 + 10 * d1 + 9 * d2, rel=1e-9)
    assert scenarios[-1][:2] == ("combined by", "expected")
    schedules = list(book["scenario schedules"].iter_rows(values_only=True))
    assert schedules[0][:5] == ("scenario", "service", "mode 2030", "mode 2031", "mode 2032")
    assert schedules[1:] == [
        ("holds", "a", "in_house", "in_house", "private", 0, 0, 1),
        ("cuts", "a", "in_house", "in_house", "private", 0, 0, 1),
    ]
    years = list(book["scenario years"].iter_rows(values_only=True))
    assert [(row[0], row[1], row[2]) for row in years[1:]] == [
        ("holds", 2030, 100), ("holds", 2031, 100), ("holds", 2032, 80),
        ("cuts", 2030, 100), ("cuts", 2031, 100), ("cuts", 2032, 80),
    ]
