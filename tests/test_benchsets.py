"""Public benchmark sets: readers, known values, and optima reproduced with verified plans.

The default run reads every file, cross-checks the known-value table against the files shipped
with the data, reproduces the gap1-12 optima (both senses) on the default backend except the
slowest files, gap1-3 on every backend and MMKP I01, I02, I05 and I06. ``-m slow`` adds the rest
of gap1-12 and MMKP I03.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from functools import cache
from pathlib import Path

import pytest

from portfolio.backends import available_backends, backend_names
from portfolio.benchsets import (
    DATA_ENV,
    KNOWN,
    SUITES,
    BenchInstance,
    BenchmarkDataError,
    data_dir,
    known_value,
    read_gap,
    read_mmkp,
    read_mmkp_reference,
    suite_instances,
)
from portfolio.benchsets import runner as bench_runner
from portfolio.benchsets.known import GAP_MAX, MMKP_FILE_UPPER_BOUND, KnownValue
from portfolio.benchsets.runner import BenchRecord, run_suite
from portfolio.cli import main
from portfolio.domain import Instance
from portfolio.params import SolveParams
from portfolio.solve import solve
from portfolio.verify import verify_plan

DEFAULT = "highs"
#: gap1-12 files kept out of the default run (none: the issue asks make test to run all 12).
SLOW_GAP_FILES: frozenset[int] = frozenset()
# The known optima are the subject here, not which of the optimal plans is reported: the tie-break
# (prefer="changes", two more exact solves with the objective held) is off. It is tested in
# test_prefer.py and test_results_decision.py.
PARAMS = SolveParams(time_limit=120, prefer="none")
MMKP_SHAPES = {  # name: (groups n, items l, resources m, capacity)
    "I01": (5, 5, 5, 25), "I02": (10, 5, 5, 50), "I03": (15, 10, 10, 75),
    "I04": (20, 10, 10, 100), "I05": (25, 10, 10, 125), "I06": (30, 10, 10, 150),
    "I07": (100, 10, 10, 500), "I08": (150, 10, 10, 750), "I09": (200, 10, 10, 1000),
    "I10": (250, 10, 10, 1250), "I11": (300, 10, 10, 1500), "I12": (350, 10, 10, 1750),
    "I13": (400, 10, 10, 2000),
}  # fmt: skip
ABCD_SHAPES = [(5, 100), (5, 200), (10, 100), (10, 200), (20, 100), (20, 200)]


@cache
def _suite(suite: str) -> dict[str, BenchInstance]:
    return {item.name: item for item in suite_instances(suite)}


def _backend_or_skip(name: str) -> str:
    if name not in available_backends():
        pytest.skip(f"backend '{name}' is not installed")
    return name


def _assert_reproduces(item: BenchInstance, backend: str) -> None:
    known = item.known
    assert known is not None
    assert known.kind == "optimal"
    result = solve(
        Instance.from_data(item.data(), source=item.name), backend=backend, params=PARAMS
    )
    assert result.verified, (item.name, backend, result.status, result.detail)
    assert result.status.value == "optimal", (item.name, backend, result.detail)
    assert result.objective == pytest.approx(known.value, rel=1e-9, abs=1e-6), (item.name, backend)
    assert result.plan is not None
    assert verify_plan(Instance.from_data(item.data()), list(result.plan.options.values())).ok


# ---------------------------------------------------------------------- data folder
def test_data_folder_found_and_checksums_match_readme() -> None:
    root = data_dir()
    table = (root / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{32})` \|$", table, flags=re.MULTILINE)
    files = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "README.md"
    )
    assert sorted(name for name, _ in rows) == files
    for name, digest in rows:
        assert hashlib.md5((root / name).read_bytes()).hexdigest() == digest, name


def test_data_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "missing"))
    with pytest.raises(BenchmarkDataError, match=DATA_ENV):
        data_dir()


def test_missing_data_names_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from portfolio.benchsets import readers

    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(readers, "_REPO_DATA", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BenchmarkDataError, match=DATA_ENV):
        data_dir()


def test_missing_file_in_data_folder(tmp_path: Path) -> None:
    (tmp_path / "gap").mkdir()
    with pytest.raises(BenchmarkDataError, match="gap1.txt"):
        suite_instances("gap-max", data=tmp_path)


# ---------------------------------------------------------------------- readers: dimensions
def test_gap1_12_dimensions() -> None:
    for suite in ("gap-max", "gap-min"):
        items = list(_suite(suite).values())
        assert len(items) == 60
        for k, ((m, n), _) in GAP_MAX.items():
            for i in range(1, 6):
                item = _suite(suite)[f"gap{k}-{i}"]
                assert item.alias == f"c{m}{n}-{i}"
                assert item.size == (n, m)
                assert item.problem.position == i


def test_gap_abcd_dimensions_follow_file_order() -> None:
    items = list(_suite("gap-abcd").values())
    assert [item.name for item in items] == [
        f"{x}{m:02d}{n}" for x in "abcd" for m, n in ABCD_SHAPES
    ]
    for item in items:
        m, n = int(item.name[1:3]), int(item.name[3:])
        assert item.size == (n, m)


def test_gap_e_dimensions_and_single_instance_detection() -> None:
    items = list(_suite("gap-e").values())
    assert [item.name for item in items] == [
        "e05100",
        "e05200",
        "e10100",
        "e10200",
        "e20100",
        "e20200",
    ]
    for item in items:
        m, n = int(item.name[1:3]), int(item.name[3:])
        assert item.size == (n, m)
    root = data_dir()
    assert len(read_gap(root / "gap/yagiura_e/e10200")) == 1  # told apart by its word count
    assert len(read_gap(root / "gap/gap4.txt")) == 5


def test_mmkp_dimensions() -> None:
    items = _suite("mmkp")
    assert sorted(items) == sorted(MMKP_SHAPES)
    for name, (n, items_per_group, m, capacity) in MMKP_SHAPES.items():
        problem = read_mmkp(data_dir() / "mmkp" / name)
        assert (problem.groups, problem.items, problem.resources) == (n, items_per_group, m)
        assert (problem.capacity == capacity).all()
        assert problem.weight.shape == (n, items_per_group, m)


def test_mmkp_values_with_decimals_are_kept() -> None:
    problem = read_mmkp(data_dir() / "mmkp" / "I05")
    assert problem.value * 10 == pytest.approx((problem.value * 10).round(0))
    assert (problem.value != problem.value.round(0)).any()


@pytest.mark.parametrize("suite", SUITES)
def test_every_instance_is_a_valid_canonical_instance(suite: str) -> None:
    for item in _suite(suite).values():
        instance = Instance.from_data(item.data(), source=item.name)
        services, options = item.size
        assert len(instance.services) == services
        assert all(len(service.options) == options for service in instance.services)
        assert instance.objective_sense == item.sense


def test_gap_canonical_dict_layout() -> None:
    item = _suite("gap-min")["gap1-1"]
    problem = item.problem
    data = item.data()
    assert [mode["id"] for mode in data["modes"]] == [f"agent{i}" for i in range(1, 6)]
    assert {mode["sector"] for mode in data["modes"]} == {"public"}
    assert data["objective"] == {"minimise": {"cost": 1}}
    assert _suite("gap-max")["gap1-1"].data()["objective"] == {"maximise": {"cost": 1}}
    job3 = data["services"][2]
    assert job3["id"] == "job3"
    assert job3["current_mode"] == "agent1"
    for i, option in enumerate(job3["options"]):
        assert option["mode"] == f"agent{i + 1}"
        assert option["annual_cost"] == 0
        assert option["outcome"] == 0
        assert option["metrics"] == {
            "cost": int(problem.cost[i, 2]),
            "resource": int(problem.resource[i, 2]),
        }
    assert data["constraints"]["limits"] == [
        {"metric": "resource", "mode": f"agent{i + 1}", "max": int(problem.capacity[i])}
        for i in range(5)
    ]
    json.dumps(data)  # plain data, ready to be written as an instance file


def test_mmkp_canonical_dict_layout() -> None:
    data = _suite("mmkp")["I01"].data()
    assert data["modes"] == [{"id": "item", "sector": "public"}]
    assert data["objective"] == {"maximise": {"value": 1}}
    first = data["services"][0]["options"][0]
    assert first["metrics"] == {"value": 7.0, "r1": 1.0, "r2": 3.0, "r3": 1.0, "r4": 1.0, "r5": 6.0}
    assert data["constraints"]["limits"][0] == {"metric": "r1", "max": 25.0}


# ---------------------------------------------------------------------- readers: strictness
def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


GOOD_GAP = "1\n2 3\n1 2 3\n4 5 6\n1 1 1\n2 2 2\n5 5\n"


def test_gap_reader_accepts_a_small_file(tmp_path: Path) -> None:
    (problem,) = read_gap(_write(tmp_path, "gap99.txt", GOOD_GAP))
    assert problem.name == "gap99-1"
    assert problem.alias == "c23-1"
    assert problem.cost.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert problem.capacity.tolist() == [5, 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("1\n2 3\n1 2 x3\n4 5 6\n1 1 1\n2 2 2\n5 5\n", r"line 3, column 5: expected an integer"),
        ("1\n2 3\n1 2 3.5\n4 5 6\n1 1 1\n2 2 2\n5 5\n", r"line 3, column 5: .*'3.5'"),
        ("1\n2 3\n1 2 3\n4 5 6\n1 1 1\n2 2 2\n5\n", "the data end early"),
        ("1\n2 3\n1 2 3\n4 5 6\n1 1 1\n2 2 2\n5 5 7\n", r"line 7, column 5: unexpected data"),
        ("2\n2 3\n1 2 3\n4 5 6\n1 1 1\n2 2 2\n5 5\n", "the data end early"),
        ("0\n", "at least 1"),
        ("1\n2 0\n", "at least 1"),
        ("1\n2 3\n1 2 3\n4 5 6\n1 -1 1\n2 2 2\n5 5\n", r"line 5, column 3: .*at least 0"),
    ],
)
def test_gap_reader_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "gap99.txt", text)
    with pytest.raises(BenchmarkDataError, match=message) as caught:
        read_gap(path, multi=True)
    assert str(path) in str(caught.value)


def test_gap_reader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="file not found"):
        read_gap(tmp_path / "gap1.txt")


MMKP_DATA = "\n 2  2 2 \n 10  10 \n 1\n 5.00  1  2 \n 7.50  3  4 \n 2\n 1.00  0  0 \n 9.00  5  5 \n"
GOOD_MMKP = MMKP_DATA + " Solutions by  HEU\n 1  0  8.50\n Upper bound\n 16.5\n"


def test_mmkp_reader_stops_at_solutions(tmp_path: Path) -> None:
    path = _write(tmp_path, "T01", GOOD_MMKP)
    problem = read_mmkp(path)
    assert problem.name == "T01"
    assert problem.value.tolist() == [[5.0, 7.5], [1.0, 9.0]]
    assert problem.weight[1, 1].tolist() == [5.0, 5.0]
    reference = read_mmkp_reference(path)
    assert reference.solutions == {"HEU": ((1, 0), 8.5)}
    assert reference.upper_bound == 16.5
    # Without any trailer (some copies strip it) the data still read.
    assert read_mmkp(_write(tmp_path, "T02", GOOD_MMKP.split(" Solutions")[0])).groups == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MMKP_DATA.replace(" 2\n 1.00", " 3\n 1.00"), r"line 7, column 2: expected group index 2"),
        (MMKP_DATA.replace("3  4", "3  x"), r"line 6, column 11: expected a number"),
        ("\n 2  2 2 \n 10  10 \n 1\n 5.00  1  2 \n", "the data end early"),
        (
            "\n 1  1 1 \n 10 \n 1\n 5.00  1 \n 7 \n Solutions by HEU\n 0 5\n",
            r"line 6, column 2: unexpected data",
        ),
        (
            "\n 1  1 1 \n 10 \n 1\n 5.00  -1 \n",
            r"line 5, column 8: resource use must be non-negative",
        ),
        ("\n 1  1 1 \n nan \n 1\n 5.00  1 \n", r"line 3, column 2: capacities R must be a finite"),
        ("Solutions by HEU\n", "no data"),
    ],
)
def test_mmkp_reader_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "T03", text)
    with pytest.raises(BenchmarkDataError, match=message) as caught:
        read_mmkp(path)
    assert str(path) in str(caught.value)


def test_mmkp_reference_rejects_a_short_solution(tmp_path: Path) -> None:
    path = _write(tmp_path, "T04", GOOD_MMKP.replace(" 1  0  8.50", " 1  8.50"))
    with pytest.raises(BenchmarkDataError, match=r"line 11.*'HEU' needs 2 item indices"):
        read_mmkp_reference(path)


# ---------------------------------------------------------------------- known values
def test_known_table_covers_every_instance_once() -> None:
    expected = {(item.name, item.sense) for suite in SUITES for item in _suite(suite).values()}
    assert set(KNOWN) == expected
    assert len(KNOWN) == 60 + 60 + 24 + 6 + 13
    kinds = [entry.kind for entry in KNOWN.values()]
    assert kinds.count("optimal") == 120 + 18 + 6 + 6
    assert kinds.count("best_known") == 6
    assert kinds.count("upper_bound") == 7
    assert known_value("d20200", "minimise").value == 12241
    assert known_value("I07", "maximise").lower == 24584


def test_known_maximisation_optima_match_gapinfo() -> None:
    text = (data_dir() / "gap" / "gapinfo.txt").read_text(encoding="ascii")
    table = {alias: int(value) for alias, value in re.findall(r"(c\d+-\d)\s+(\d+)", text)}
    assert len(table) == 60
    for item in _suite("gap-max").values():
        assert item.known is not None
        assert item.known.value == table[item.alias]


def test_known_minimisation_values_match_fontan_csv() -> None:
    path = data_dir() / "gap" / "fontanf_generalizedassignmentsolver_data.csv"
    with path.open(encoding="utf-8") as handle:
        rows = {row["Path"]: row for row in csv.DictReader(handle)}
    for item in _suite("gap-min").values():
        k, i = item.name[3:].split("-")
        row = rows[f"cattrysse1994/gap{k}-{int(i) - 1}"]
        assert item.known is not None
        assert item.known.value == int(row["Optimum"])
    for item in [*_suite("gap-abcd").values(), *_suite("gap-e").values()]:
        folder = "yagiura2004" if item.name.startswith("e") else "chu1997"
        row = rows[f"{folder}/{item.name}"]
        known = item.known
        assert known is not None
        if known.kind == "optimal":
            assert known.value == int(row["Optimum"])
        elif item.name == "d20200":  # open: data.csv has bound 12235 and a 12244 plan
            assert (
                int(row["Best known bound"]) <= known.value <= int(row["Best known solution value"])
            )
        else:  # d05100..d20100: data.csv calls them optimal; kept as best known (not re-proven)
            assert known.value == int(row["Best known solution value"])


def test_known_mmkp_values_match_dip_table_and_file_trailers() -> None:
    text = (data_dir() / "mmkp" / "mmkp.opt").read_text(encoding="ascii")
    for name, value, flag in re.findall(r"(I\d\d)\s+(-[\d.]+)\s+(\d)", text):
        known = known_value(name, "maximise")
        assert known is not None
        assert known.value == pytest.approx(-float(value), abs=1e-9)
        assert (known.kind == "optimal") == (flag == "1")
    for name, upper in MMKP_FILE_UPPER_BOUND.items():
        assert read_mmkp_reference(data_dir() / "mmkp" / name).upper_bound == upper


def test_mmkp_reference_solutions_verify_without_a_solver() -> None:
    """Every solution printed in the files is a feasible plan worth its stated value."""
    for name, item in _suite("mmkp").items():
        instance = Instance.from_data(item.data(), source=name)
        reference = read_mmkp_reference(data_dir() / "mmkp" / name)
        assert set(reference.solutions) >= {"Mosers Solution", "HEU"}
        for heading, (chosen, value) in reference.solutions.items():
            verdict = verify_plan(instance, list(chosen))
            assert verdict.ok, (name, heading, verdict.violations)
            assert verdict.plan.objective == pytest.approx(value, abs=1e-6), (name, heading)
        known = item.known
        assert known is not None
        if known.kind == "optimal":
            assert reference.solutions["Exact Solution"][1] == pytest.approx(known.value)


# ---------------------------------------------------------------------- optima reproduced
def _gap_cases() -> list[object]:
    cases: list[object] = []
    for suite in ("gap-max", "gap-min"):
        for k in GAP_MAX:
            marks = [pytest.mark.slow] if k in SLOW_GAP_FILES else []
            for i in range(1, 6):
                cases.append(
                    pytest.param(suite, f"gap{k}-{i}", marks=marks, id=f"{suite}-gap{k}-{i}")
                )
    return cases


@pytest.mark.parametrize(("suite", "name"), _gap_cases())
def test_gap1_12_optima_on_default_backend(suite: str, name: str) -> None:
    _assert_reproduces(_suite(suite)[name], DEFAULT)


@pytest.mark.parametrize("backend", [b for b in backend_names() if b != DEFAULT])
@pytest.mark.parametrize("suite", ["gap-max", "gap-min"])
def test_gap1_3_optima_on_every_backend(backend: str, suite: str) -> None:
    _backend_or_skip(backend)
    for k in (1, 2, 3):
        for i in range(1, 6):
            _assert_reproduces(_suite(suite)[f"gap{k}-{i}"], backend)


@pytest.mark.parametrize(
    "name",
    ["I01", "I02", pytest.param("I03", marks=pytest.mark.slow), "I05", "I06"],
)
def test_mmkp_optima_on_default_backend(name: str) -> None:
    """I03 takes 6-15 s on HiGHS (2 shared cores): slow. I04 needs minutes: ``portfolio bench``."""
    _assert_reproduces(_suite("mmkp")[name], DEFAULT)


# ---------------------------------------------------------------------- runner and CLI
def test_run_suite_records() -> None:
    seen: list[BenchRecord] = []
    records = run_suite(
        "gap-min",
        [DEFAULT],
        SolveParams(time_limit=60),
        patterns=["c515-[12]"],
        on_record=seen.append,
    )
    assert records == seen
    assert [r.instance for r in records] == ["gap1-1", "gap1-2"]
    for record in records:
        data = record.to_dict()
        for key in (
            "suite", "instance", "backend", "status", "objective", "bound", "known", "known_kind",
            "gap_to_known", "seconds", "verified",
        ):  # fmt: skip
            assert key in data
        assert record.ok
        assert record.matched
        assert record.consistent
        assert record.status == "optimal"
        assert record.gap_to_known == 0.0


def _known(kind: str, value: float, sense: str) -> KnownValue:
    return KnownValue("x", sense, value, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "sense", "objective", "bound", "ok", "fragment"),
    [
        ("optimal", "maximise", 100.0, 100.0, True, ""),
        ("optimal", "maximise", 99.0, 100.0, False, "misses the optimum"),
        ("optimal", "maximise", 101.0, 101.0, False, "beats the known optimal"),
        ("optimal", "minimise", 100.0, 99.0, True, ""),
        ("optimal", "minimise", 101.0, 100.5, False, "cuts off the known plan value"),
        ("optimal", "minimise", 100.0, 100.00000001, True, ""),
        ("best_known", "minimise", 105.0, 95.0, True, ""),
        ("best_known", "minimise", 99.0, 95.0, True, ""),
        ("best_known", "maximise", 95.0, 99.0, False, "cuts off"),
        ("upper_bound", "maximise", 95.0, 99.0, True, ""),
        ("upper_bound", "maximise", 101.0, 101.0, False, "beats the known upper_bound"),
    ],
)
def test_judging_against_known_values(
    kind: str, sense: str, objective: float, bound: float, ok: bool, fragment: str
) -> None:
    known = _known(kind, 100.0, sense)
    _, _, problems = bench_runner._judge(known, objective, bound, sense, True, "feasible")
    assert (not problems) == ok, problems
    assert fragment in "; ".join(problems)
    gap = bench_runner.gap_to_known(objective, 100.0, sense)
    assert gap is not None
    assert (gap > 0) == (objective < 100.0 if sense == "maximise" else objective > 100.0)


def test_cli_bench_writes_json_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "bench.json", tmp_path / "bench.md"
    code = main(
        ["bench", "gap-max", "mmkp", "--instances", "gap1-1", "--instances", "I01",
         "--time-limit", "30", "--output", str(out), "--markdown", str(report)]
    )  # fmt: skip
    assert code == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["suite"], r["instance"], r["backend"]) for r in records] == [
        ("gap-max", "gap1-1", DEFAULT),
        ("mmkp", "I01", DEFAULT),
    ]
    assert all(r["verified"] and r["ok"] for r in records)
    text = capsys.readouterr().out
    assert "gap1-1" in text
    assert "2 of 2 ok" in text
    assert "| gap-max | highs | 1 |" in report.read_text(encoding="utf-8")


def test_cli_bench_exit_1_when_an_optimum_is_missed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from portfolio.benchsets import suites

    monkeypatch.setattr(
        suites, "known_value", lambda name, sense: KnownValue(name, sense, 999.0, "optimal")
    )
    code = main(["bench", "gap-max", "--instances", "gap1-1", "--json", str(tmp_path / "o.json")])
    assert code == 1
    (record,) = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert not record["ok"]
    assert "misses the optimum" in "; ".join(record["problems"])


def test_cli_bench_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", "gap-nope"])
    assert caught.value.code == 2
    assert main(["bench", "gap-max", "--backend", "nope", "--instances", "gap1-1"]) == 2
    assert "unknown backend" in capsys.readouterr().err
