"""Hostile and mistaken input (issue 12, items 5-8, 13-15): bounded reading, nesting, output
paths, duplicate keys, YAML 1.2 numbers and byte-order marks, control characters in ids, money
precision in tables, every error at once with suggestions, and the command line's help.

Where the issue speaks of exit codes and messages the real command runs as a subprocess; the
rest goes through the library. Every example of the issue is a real file in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

import portfolio
from portfolio.backends import backend_class
from portfolio.errors import (
    InstanceFileError,
    OutputPathError,
    ParameterError,
    PortfolioError,
    ReadTimeLimitError,
    ValidationError,
)
from portfolio.generate import random_instance_data
from portfolio.io import (
    DEFAULT_MAX_FILE_SIZE,
    MAX_FILE_SIZE_ENV,
    load_instance,
    parse_size,
    parse_text,
    write_json,
    yaml_loader,
)
from portfolio.money import money_decimals
from portfolio.params import SolveParams
from portfolio.report import format_result

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "instances" / "small"
DEFAULT = "highs"

VALID = (
    "modes: [{id: a, sector: public}, {id: b, sector: private}]\n"
    "services:\n"
    "  - {id: s1, current_mode: a, options: [{mode: a, annual_cost: 10, outcome: 1}, "
    "{mode: b, annual_cost: 8, outcome: 2}]}\n"
    "constraints: {budget: 9}\n"
)

# The issue's example 1, verbatim.
PENCE = (
    "modes: [{id: a, sector: public}, {id: b, sector: private}]\n"
    "services:\n"
    "  - {id: s1, current_mode: a, options: [{mode: a, annual_cost: 99999999.99, outcome: 1}, "
    "{mode: b, annual_cost: 99999999.98, outcome: 2}]}\n"
    "  - {id: s2, current_mode: a, options: [{mode: a, annual_cost: 0.01, outcome: 1}, "
    "{mode: b, annual_cost: 0.02, outcome: 3}]}\n"
    "constraints: {budget: 100000000}\n"
)


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def err_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return proc.stderr.splitlines()


# ====================================================================== 5: bounded reading
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_by_solve_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    proc = run("solve", "pipe.yaml", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: pipe.yaml: is a FIFO (named pipe), not a regular file: give an instance file"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_by_batch_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "good.yaml").write_text(VALID)
    proc = run(
        "batch", "pipe.yaml", "good.yaml", "--out", "out", "--executor", "serial",
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = {row["instance"]: row for row in summary["rows"]}
    assert rows["good"]["status"] == "optimal"
    assert rows["pipe"]["status"] == "error"
    assert rows["pipe"]["error"] == (
        "pipe.yaml: is a FIFO (named pipe), not a regular file: give an instance file"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    proc = run("solve", "zero.yaml", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: zero.yaml: is a character device, not a regular file: give an instance file"
    ]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    proc = run("solve", "folder.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == ["portfolio: folder.yaml: is a directory, not an instance file"]


def test_size_cap_by_option_and_environment(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    size = len(VALID.encode())
    expected = (
        f"portfolio: x.yaml: the file is larger than the 100 bytes limit (it has {size} bytes "
        "or more); raise the limit with --max-file-size or PORTFOLIO_MAX_FILE_SIZE"
    )
    by_option = run("solve", "x.yaml", "--max-file-size", "100", cwd=tmp_path)
    assert by_option.returncode == 2
    assert err_lines(by_option) == [expected]
    by_env = run("validate", "x.yaml", cwd=tmp_path, env={MAX_FILE_SIZE_ENV: "100"})
    assert by_env.returncode == 2
    assert err_lines(by_env) == [expected]
    # A larger cap lets it through: the cap, not the file, was the reason.
    assert run("validate", "x.yaml", "--max-file-size", "1K", cwd=tmp_path).returncode == 0
    bad = run("validate", "x.yaml", cwd=tmp_path, env={MAX_FILE_SIZE_ENV: "lots"})
    assert bad.returncode == 2
    assert err_lines(bad) == [
        "portfolio: PORTFOLIO_MAX_FILE_SIZE: expected a size such as 256MB or 1G, got 'lots'"
    ]


def test_size_cap_in_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(yaml.safe_load(VALID)))
    with pytest.raises(InstanceFileError, match="larger than the 10 bytes limit"):
        load_instance(path, max_bytes=10)
    monkeypatch.setenv(MAX_FILE_SIZE_ENV, "10")
    with pytest.raises(InstanceFileError, match="larger than the 10 bytes limit"):
        load_instance(path)
    assert load_instance(path, max_bytes=10_000).constraints.budget == 9


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("512K", 512 * 1024), ("256MB", DEFAULT_MAX_FILE_SIZE), ("1.5G", 3 << 29)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_yaml_uses_the_c_loader_when_libyaml_is_present() -> None:
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml")
    assert issubclass(yaml_loader(), yaml.CSafeLoader)
    assert not issubclass(yaml_loader(c_loader=False), yaml.CSafeLoader)


def test_read_time_counts_against_the_time_limit(tmp_path: Path) -> None:
    # The limit is spent before the file is read: the command says so, writes the result file
    # and exits 1 (no plan within the limits), as for any time limit.
    (tmp_path / "x.yaml").write_text(VALID)
    proc = run("solve", "x.yaml", "--time-limit", "0.001", "--output", "r.json", cwd=tmp_path)
    assert proc.returncode == 1
    (line,) = err_lines(proc)
    assert line.startswith("portfolio: the time limit (0.001 s) ran out while reading x.yaml after")
    assert line.endswith(
        "s: nothing was solved (raise --time-limit, or use a smaller file or JSON, which reads "
        "fastest)"
    )
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] == "time_limit_no_solution"
    assert result["assignment"] is None
    assert result["detail"] == line.removeprefix("portfolio: ")


@pytest.mark.parametrize("c_loader", [True, False])
def test_yaml_parsing_stops_at_the_deadline(
    c_loader: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portfolio.io as io_module

    if c_loader and not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml")
    monkeypatch.setattr(io_module, "yaml_loader", lambda: yaml_loader(c_loader))
    text = yaml.safe_dump(random_instance_data(200))
    assert parse_text(text, "yaml", "big.yaml", deadline=time.perf_counter() + 3600)
    with pytest.raises(ReadTimeLimitError) as stopped:
        parse_text(text, "yaml", "big.yaml", deadline=time.perf_counter())
    assert str(stopped.value) == (
        "big.yaml: the time limit ran out while parsing the file; nothing was solved"
    )


def test_library_solve_reports_a_read_that_spent_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(random_instance_data(300)))
    result = portfolio.solve(path, DEFAULT, time_limit=1e-6)
    assert result.status is portfolio.Status.TIME_LIMIT_NO_SOLUTION
    assert result.plan is None
    assert "ran out while reading" in result.detail or "ran out while parsing" in result.detail



def test_batch_item_whose_read_spent_the_limit_is_reported_without_a_plan() -> None:
    from portfolio.executors import BatchItem, solve_many

    text = yaml.safe_dump(random_instance_data(300))
    rows = list(solve_many([BatchItem("big", text, "yaml")], DEFAULT, SolveParams(time_limit=1e-6)))
    (row,) = rows
    assert row.status == "time_limit_no_solution"
    assert row.error is None
    assert row.result is not None
    assert row.result["assignment"] is None
    assert "nothing was solved" in row.result["detail"]

# ====================================================================== 6: nesting and paths
@pytest.mark.parametrize("depth", [500, 1000])
@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_deep_nesting_is_a_clear_error(tmp_path: Path, depth: int, suffix: str) -> None:
    nested = "[" * depth + "]" * depth
    text = {
        ".yaml": f"name: {nested}\n",
        ".json": f'{{"name": {nested}}}',
        ".toml": f"name = {nested}\n",
    }[suffix]
    (tmp_path / f"deep{suffix}").write_text(text)
    proc = run("solve", f"deep{suffix}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    message = (
        "lists or mappings are nested more than 64 levels deep; an instance file needs fewer "
        "than ten"
    )
    assert err_lines(proc)[0].startswith(f"portfolio: deep{suffix}: ")
    assert message in proc.stderr


def test_output_naming_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    (tmp_path / "results").mkdir()
    proc = run("solve", "x.yaml", "--output", "results", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: results: names a folder; give a file name, e.g. results/result.json"
    ]


def test_output_with_a_trailing_slash_writes_no_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    proc = run("solve", "x.yaml", "--output", "dir/", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: dir/: names a folder; give a file name, e.g. dir/result.json"
    ]
    assert not (tmp_path / "dir").exists()
    with pytest.raises(OutputPathError):
        write_json(f"{tmp_path}/dir/", {})
    assert not (tmp_path / "dir").exists()


def test_output_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    proc = run("solve", "x.yaml", "--output", "x.yaml/r.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: x.yaml/r.json: cannot be created: 'x.yaml' is a file, not a folder"
    ]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux)")
def test_output_where_nothing_can_be_written(tmp_path: Path) -> None:
    # /proc refuses new files even to root, so the write itself fails: one line, exit 2.
    (tmp_path / "x.yaml").write_text(VALID)
    proc = run("solve", "x.yaml", "--output", "/proc/portfolio-result.json", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = err_lines(proc)
    assert line.startswith("portfolio: /proc/portfolio-result.json: ")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_output_in_a_read_only_folder(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = run("solve", "x.yaml", "--output", "locked/r.json", cwd=tmp_path)
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: locked/r.json: cannot write there: permission denied on 'locked'"
    ]


@pytest.mark.parametrize("command", ["batch", "sweep"])
def test_out_naming_an_existing_file(tmp_path: Path, command: str) -> None:
    (tmp_path / "x.yaml").write_text(VALID)
    (tmp_path / "taken").write_text("")
    extra = ["--set", "constraints.budget=9,10"] if command == "sweep" else []
    proc = run(command, "x.yaml", *extra, "--out", "taken", "--executor", "serial", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: taken: is a file; --out names a folder for the results"
    ]
    assert (tmp_path / "taken").read_text() == ""


def test_bench_output_naming_a_folder(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    proc = run("bench", "gap-max", "--instances", "gap1-1", "--output", "results", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: results: names a folder; give a file name, e.g. results/result.json"
    ]


# ====================================================================== 7: duplicate keys
def test_duplicate_key_in_yaml(tmp_path: Path) -> None:
    text = VALID.replace("{budget: 9}", "\n  budget: 1000\n  budget: 60")
    (tmp_path / "dup.yaml").write_text(text)
    proc = run("validate", "dup.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: dup.yaml: duplicate key 'budget' at line 6, column 3: first given at line "
        "5; remove one, otherwise the last would silently win",
        "    6 |   budget: 60",
        "      |   ^",
    ]


def test_duplicate_key_in_json(tmp_path: Path) -> None:
    text = (
        '{"modes": [{"id": "a", "sector": "public"}],\n'
        ' "services": [{"id": "s1", "current_mode": "a",\n'
        '   "options": [{"mode": "a", "annual_cost": 1, "outcome": 1}]}],\n'
        ' "constraints": {"budget": 1000,\n'
        '                 "budget": 60}}\n'
    )
    (tmp_path / "dup.json").write_text(text)
    proc = run("validate", "dup.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: dup.json: duplicate key 'budget' at line 5, column 18: first given at line "
        "4; remove one, otherwise the last would silently win",
        '    5 |                  "budget": 60}}',
        "      |                  ^",
    ]


def test_duplicate_key_in_toml(tmp_path: Path) -> None:
    text = (
        '[[modes]]\nid = "a"\nsector = "public"\n\n'
        '[[services]]\nid = "s1"\ncurrent_mode = "a"\n'
        '[[services.options]]\nmode = "a"\nannual_cost = 1\noutcome = 1\n\n'
        "[constraints]\nbudget = 1000\nbudget = 60\n"
    )
    (tmp_path / "dup.toml").write_text(text)
    proc = run("validate", "dup.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: dup.toml: duplicate key 'budget' at line 15, column 1: remove one, "
        "otherwise the last would silently win",
        "    15 | budget = 60",
        "       | ^",
    ]


def test_duplicate_keys_in_nested_json_objects_and_yaml_merge_keys() -> None:
    # The same key in two different objects is no duplicate; a YAML merge key may be overridden.
    data = parse_text('{"a": {"x": 1}, "b": {"x": 2}}', "json")
    assert data == {"a": {"x": 1}, "b": {"x": 2}}
    merged = parse_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n", "yaml")
    assert merged["other"] == {"x": 3, "y": 2}
    with pytest.raises(InstanceFileError, match="duplicate key 'x' at line 1, column 16"):
        parse_text('{"a": {"x": 1, "x": 2}}', "json")


# ====================================================================== 8: numbers and BOMs
def test_yaml_exponent_numbers_are_numbers(tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(VALID.replace("{budget: 9}", "{budget: 1e6}"))
    instance = load_instance(tmp_path / "exp.yaml")
    assert instance.constraints.budget == 1_000_000.0
    values = parse_text("[1e6, 2.5E7, -1e-3, +3e+2, .5e1, 1_0e1, '1e6', 1.5, 7]", "yaml")
    assert values == [1e6, 2.5e7, -1e-3, 3e2, 5.0, 100.0, "1e6", 1.5, 7]
    proc = run("solve", "exp.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["assignment"] == {"s1": "b"}


@pytest.mark.parametrize("suffix", [".json", ".toml", ".yaml"])
def test_byte_order_mark_accepted_in_every_format(tmp_path: Path, suffix: str) -> None:
    data = yaml.safe_load(VALID)
    text = {
        ".json": json.dumps(data),
        ".yaml": VALID,
        ".toml": (
            '[[modes]]\nid = "a"\nsector = "public"\n[[modes]]\nid = "b"\nsector = "private"\n'
            '[[services]]\nid = "s1"\ncurrent_mode = "a"\n'
            '[[services.options]]\nmode = "a"\nannual_cost = 10\noutcome = 1\n'
            '[[services.options]]\nmode = "b"\nannual_cost = 8\noutcome = 2\n'
            "[constraints]\nbudget = 9\n"
        ),
    }[suffix]
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_instance(path).constraints.budget == 9
    proc = run("validate", path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{path.name}: valid (1 services, 2 modes, 2 options)\n"


# ====================================================================== 13: ids and money
@pytest.mark.parametrize(
    ("raw", "shown", "name"),
    [
        ('"waste\\nrecycling"', "waste\\u000arecycling", "U+000A (LINE FEED, a newline)"),
        ('"waste\\0"', "waste\\u0000", "U+0000 (NUL)"),
        ('"waste\\u200f"', "waste\\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
        ('"waste\\u202e"', "waste\\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ],
)
def test_control_characters_in_ids_are_rejected(
    tmp_path: Path, raw: str, shown: str, name: str
) -> None:
    text = (
        "modes: [{id: a, sector: public}]\n"
        f"services:\n  - {{id: {raw}, current_mode: a, options: [{{mode: a, annual_cost: 1, "
        "outcome: 1}]}\n"
    )
    (tmp_path / "ids.yaml").write_text(text)
    proc = run("validate", "ids.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    position = len("waste") + 1
    got = repr(yaml.safe_load(text)["services"][0]["id"])
    assert err_lines(proc) == [
        "portfolio: 1 error in the instance:",
        f"  - ids.yaml: service '{shown}', field 'id': an id may not contain control or "
        f"formatting characters: {name} at position {position} (got {got})",
    ]


def test_control_characters_rejected_in_every_kind_of_id() -> None:
    data = yaml.safe_load(VALID)
    data["modes"][1]["id"] = "b\u2066"  # LEFT-TO-RIGHT ISOLATE
    data["services"][0]["options"][0]["metrics"] = {"carbon\tt": 1}
    with pytest.raises(ValidationError) as caught:
        portfolio.instance_from_data(data, source="x.yaml")
    fields = [(issue.item, issue.field) for issue in caught.value.issues]
    assert ("mode 'b\\u2066'", "id") in fields
    assert ("service 's1'", "options[0].metrics.carbon\\u0009t") in fields
    # Printable non-ASCII ids are fine.
    data = yaml.safe_load(VALID)
    data["services"][0]["id"] = "bibliothèques"
    assert portfolio.instance_from_data(data).services[0].id == "bibliothèques"


def test_table_shows_money_at_the_precision_of_the_data(tmp_path: Path) -> None:
    (tmp_path / "pence.yaml").write_text(PENCE)
    instance = load_instance(tmp_path / "pence.yaml")
    assert money_decimals(instance) == 2
    result = portfolio.solve(instance, "cpsat" if _has("cpsat") else DEFAULT)
    text = format_result(instance, result)
    assert "100,000,000.0 " not in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    if result.plan is not None and result.plan.assignment == {"s1": "b", "s2": "b"}:
        assert rows["s1"][3] == "99,999,999.98"
        assert rows["s2"][3] == "0.02"
        assert rows["plan"][1] == "100,000,000.00"
    assert re.search(r"budget +money +100,000,000.00 <= 100,000,000.00\n", text)


def test_table_money_precision_one_option(tmp_path: Path) -> None:
    # One service, one option: the plan is certain on every backend.
    text = PENCE.replace("{budget: 100000000}", "{}").split("  - {id: s2")[0]
    text = text.replace(", {mode: b, annual_cost: 99999999.98, outcome: 2}", "")
    (tmp_path / "one.yaml").write_text(text + "constraints: {budget: 100000000}\n")
    proc = run("solve", "one.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("s1 "))
    assert row.split()[2:] == ["=", "99,999,999.99", "0.00", "1"]
    assert re.search(r"budget +money +99,999,999.99 <= 100,000,000.00\n", proc.stdout)


def test_whole_money_shows_no_decimals() -> None:
    instance = load_instance(SMALL / "budget_binds.yaml")
    assert money_decimals(instance) == 0
    text = format_result(instance, portfolio.solve(instance, DEFAULT))
    assert ".0 " not in text


def test_multi_year_table_shows_money_at_the_precision_of_the_data() -> None:
    data = yaml.safe_load(PENCE)
    data["horizon"] = {"start_year": 2027, "years": 2, "discount_rate": 0}
    instance = portfolio.instance_from_data(data)
    assert money_decimals(instance) == 2
    result = portfolio.solve(instance, "cpsat" if _has("cpsat") else DEFAULT)
    text = format_result(instance, result)
    annual = next(line for line in text.splitlines() if line.startswith("annual cost"))
    assert annual.split()[2:] == ["100,000,000.00", "100,000,000.00"] or (
        result.plan is None and result.multi_year is None
    )


def _has(backend: str) -> bool:
    return backend_class(backend).is_available()


# ====================================================================== 14: messages
THREE_MISTAKES = """\
modes:
  - {id: in_house, sector: publik}
  - {id: private, sector: private}
services:
  - id: waste
    current_mode: in_house
    options:
      - {mode: inhouse, annual_cost: 100, outcome: 70}
      - {mode: private, annual_cost: 90}
"""


def test_every_error_at_once_with_suggestions(tmp_path: Path) -> None:
    (tmp_path / "three.yaml").write_text(THREE_MISTAKES)
    proc = run("validate", "three.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "portfolio: 3 errors in the instance:",
        "  - three.yaml: mode 'in_house', field 'sector': Input should be 'public', 'private', "
        "'voluntary' or 'community' (got 'publik'); did you mean 'public'?",
        "  - three.yaml: service 'waste', field 'options[1].outcome': required field is missing",
        "  - three.yaml: service 'waste', field 'options[0].mode': unknown mode 'inhouse'; did "
        "you mean 'in_house'?",
    ]


@pytest.mark.parametrize(
    ("change", "item", "field", "message"),
    [
        (
            {"constraints": {"budjet": 9}},
            "constraints", "budjet",
            "unknown field (check the spelling against `portfolio schema`); did you mean "
            "'budget'?",
        ),
        (
            {"constraints": {"fixed": {"s1x": "a"}}},
            "constraints", "fixed.s1x", "unknown service 's1x'; did you mean 's1'?",
        ),
        (
            {"constraints": {"same_mode": [["s1", "s11"]]}},
            "constraints", "same_mode[0]", "unknown service 's11'; did you mean 's1'?",
        ),
        (
            {"constraints": {"limits": [{"metric": "anual_cost", "max": 5}]}},
            "constraints", "limits[0].metric",
            "unknown figure 'anual_cost': it is neither an option field nor a metric of any "
            "option; did you mean 'annual_cost'?",
        ),
        (
            {"objective": {"maximise": {"outcom": 1}}},
            "objective", "maximise.outcom",
            "unknown figure 'outcom': it is neither an option field nor a metric of any option; "
            "did you mean 'outcome'?",
        ),
        (
            {"objective": {"maximse": {"outcome": 1}}},
            "objective", "maximse",
            "unknown field (check the spelling against `portfolio schema`); did you mean "
            "'maximise'?",
        ),
    ],
)  # fmt: skip
def test_suggestions_for_near_misses(
    change: dict[str, object], item: str, field: str, message: str
) -> None:
    data = {**yaml.safe_load(VALID), **change}
    with pytest.raises(ValidationError) as caught:
        portfolio.instance_from_data(data, source="x.yaml")
    issues = [(i.item, i.field, i.message) for i in caught.value.issues]
    assert issues == [(item, field, message)]


def test_unknown_field_of_an_option_is_suggested() -> None:
    data = yaml.safe_load(VALID)
    data["services"][0]["options"][0]["outcom"] = 1
    with pytest.raises(ValidationError) as caught:
        portfolio.instance_from_data(data, source="x.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "x.yaml: service 's1', field 'options[0].outcom': unknown field (check the spelling "
        "against `portfolio schema`); did you mean 'outcome'?"
    ]


def test_unknown_objective_names_the_allowed_ones(tmp_path: Path) -> None:
    (tmp_path / "obj.yaml").write_text(VALID + "objective: maximse_outcome\n")
    proc = run("validate", "obj.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "WeightedObjective" not in proc.stderr
    assert err_lines(proc) == [
        "portfolio: 1 error in the instance:",
        "  - obj.yaml: objective: unknown objective 'maximse_outcome': use maximise_outcome, "
        "minimise_cost, or a weighted sum such as {maximise: {outcome: 1, social_value: 0.2}}; "
        "did you mean 'maximise_outcome'?",
    ]
    for good in ("minimise_cost", "minimize_cost", "{maximize: {outcome: 1}}"):
        (tmp_path / "ok.yaml").write_text(VALID + f"objective: {good}\n")
        assert run("validate", "ok.yaml", cwd=tmp_path).returncode == 0


def test_yaml_indentation_error_in_plain_words(tmp_path: Path) -> None:
    text = (
        "modes:\n"
        "  - {id: in_house, sector: public}\n"
        "services:\n"
        "  - id: waste\n"
        "    current_mode: in_house\n"
        "   options:\n"
        "      - {mode: in_house, annual_cost: 100, outcome: 70}\n"
    )
    (tmp_path / "indent.yaml").write_text(text)
    proc = run("validate", "indent.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "block end" not in proc.stderr
    assert "block mapping start" not in proc.stderr
    assert err_lines(proc) == [
        "portfolio: indent.yaml: invalid YAML at line 6, column 4: this line is not indented "
        "like the lines around it (YAML nests by indentation: items of one list or mapping "
        "must start in the same column)",
        "    6 |    options:",
        "      |    ^",
    ]


@pytest.mark.parametrize("c_loader", [True, False])
@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("a: 1\n b: 2\n", 2, 3, "a ':' where none can be"),
        ("a:\n\t- 1\n", 2, 1, "a tab character: YAML indentation must use spaces"),
        ("a: [1, 2\n", 2, 1, "a list in [...] is missing a ',' between items or its closing ']'"),
        ("a: {b: 1\n", 2, 1, "a mapping in {...} is missing a ',' between entries or its"),
        ("a: *x\n", 1, 4, "an alias (*name) refers to no anchor (&name) defined before it"),
        ("a: 1\n- 2\n", 2, 1, "this line is not indented like the lines around it"),
    ],
)
def test_yaml_syntax_errors_in_plain_words(
    c_loader: bool, text: str, line: int, column: int, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portfolio.io as io_module

    if c_loader and not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml")
    monkeypatch.setattr(io_module, "yaml_loader", lambda: yaml_loader(c_loader))
    with pytest.raises(InstanceFileError) as caught:
        parse_text(text, "yaml", "x.yaml")
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"x.yaml: invalid YAML at line {line}, column {column}: {words}")


def test_solve_params_raise_a_portfolio_error() -> None:
    for bad in ({"time_limit": -1}, {"rel_gap": 2}, {"threads": 0}):
        with pytest.raises(ParameterError) as caught:
            SolveParams(**bad)  # type: ignore[arg-type]
        assert isinstance(caught.value, PortfolioError)
        assert isinstance(caught.value, ValueError)  # older callers catch ValueError
    with pytest.raises(ParameterError, match=r"rel_gap must be in \[0, 1\), got 2"):
        SolveParams(rel_gap=2)


# ====================================================================== 15: the command line
@pytest.mark.parametrize("command", ["solve", "validate", "schema"])
def test_help_has_a_description_and_exit_codes(command: str) -> None:
    proc = run(command, "--help")
    assert proc.returncode == 0
    text = proc.stdout
    assert "exit codes:" in text
    assert "  0    " in text
    if command == "solve":
        assert "  1    no plan: infeasible, or none found within the limits" in text
        assert "  2    bad input or usage" in text
        assert "reading included" in text
    if command == "validate":
        assert "every error is reported at once" in text
    if command == "schema":
        assert "JSON Schema of instance files" in text


def test_bench_output_and_deprecated_json(tmp_path: Path) -> None:
    args = ["bench", "gap-max", "--instances", "gap1-1", "--time-limit", "30"]
    new = run(*args, "--output", "new.json", cwd=tmp_path)
    if new.returncode == 2 and "benchmark data" in new.stderr.lower():
        pytest.skip("the benchmark data are not installed")
    assert new.returncode == 0, new.stderr
    assert "deprecated" not in new.stderr
    old = run(*args, "--json", "old.json", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert err_lines(old)[0] == (
        "portfolio: bench --json FILE is deprecated; use --output FILE (in solve, --json prints "
        "the result as JSON)"
    )
    for name in ("new.json", "old.json"):
        (record,) = json.loads((tmp_path / name).read_text())
        assert (record["instance"], record["ok"]) == ("gap1-1", True)


def test_pyproject_license_is_an_spdx_string() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    assert "setuptools>=77" in data["build-system"]["requires"]


def test_table_outcomes_never_in_scientific_notation() -> None:
    # One service with one option: outcome 123456 (weight 1), the plan is certain. The row and the
    # total read as figures with thousands separators, as the headline does, never 1.235e+05.
    data = {
        "modes": [{"id": "a", "sector": "public"}],
        "services": [
            {
                "id": "s1",
                "current_mode": "a",
                "options": [{"mode": "a", "annual_cost": 10, "outcome": 123456}],
            }
        ],
    }
    instance = portfolio.instance_from_data(data)
    text = format_result(instance, portfolio.solve(instance, DEFAULT))
    row = next(line for line in text.splitlines() if line.startswith("s1 "))
    assert row.split()[-1] == "123,456"
    total = next(line for line in text.splitlines() if line.startswith("plan "))
    assert total.split()[-1] == "123,456"
