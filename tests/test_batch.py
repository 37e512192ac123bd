"""Batch solving with real components: process pools, a real Dask cluster, signals, files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from portfolio.batch import (
    assign_names,
    exit_code,
    expand_inputs,
    missing_input_rows,
    read_inputs,
    run_batch,
)
from portfolio.cli import main
from portfolio.executors import (
    INPUT,
    TIMEOUT,
    WORKER_LOST,
    BatchItem,
    ItemResult,
    input_hash,
    solve_many,
    solve_task,
)
from portfolio.generate import random_instance_data
from portfolio.params import SolveParams

SRC = Path(__file__).resolve().parents[1] / "src"
GOOD = 8  # good instances in the shared set


def _instance(seed: int, services: int = 20) -> dict[str, Any]:
    return random_instance_data(services, seed=seed)


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        import yaml

        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _items(count: int = GOOD, services: int = 20) -> list[BatchItem]:
    return [
        BatchItem(f"i{k:02d}", json.dumps(_instance(k, services)), "json") for k in range(count)
    ]


def _same_answer(row: ItemResult, reference: ItemResult) -> None:
    assert row.status == reference.status, row.name
    assert row.objective == reference.objective, row.name
    assert row.result is not None
    assert reference.result is not None
    assert row.result["assignment"] == reference.result["assignment"], row.name
    assert row.result["options"] == reference.result["options"], row.name


@pytest.fixture(scope="module")
def serial_results() -> dict[str, ItemResult]:
    """The reference: every shared item solved in this process, one after another."""
    rows = {row.name: row for row in solve_many(_items(), executor="serial")}
    assert all(row.status == "optimal" for row in rows.values())
    return rows


# ---------------------------------------------------------------------- library pieces
def test_input_hash_changes_with_content_backend_and_parameters() -> None:
    base = input_hash("abc", "highs", SolveParams())
    assert base == input_hash(b"abc", "highs", SolveParams(verbose=True))  # log only
    assert base != input_hash("abd", "highs", SolveParams())
    assert base != input_hash("abc", "cbc", SolveParams())
    assert base != input_hash("abc", "highs", SolveParams(time_limit=5))
    assert base != input_hash("abc", "highs", SolveParams(backend_options={"a": 1}))


def test_colliding_stems_get_distinct_deterministic_names(tmp_path: Path) -> None:
    data = _instance(0, 5)
    paths = [
        _write(tmp_path / "a" / "x.json", data),
        _write(tmp_path / "b" / "x.json", data),
        _write(tmp_path / "b" / "x.yaml", data),
        _write(tmp_path / "a__x.json", data),
        _write(tmp_path / "solo.yaml", data),
    ]
    named = assign_names(paths)
    assert {entry.path.name: entry.name for entry in named if entry.path.parent == tmp_path} == {
        "a__x.json": "a__x-2",
        "solo.yaml": "solo",
    }
    by_path = {entry.path: entry.name for entry in named}
    assert by_path[paths[0]] == "a__x"
    assert by_path[paths[1]] == "b__x_json"
    assert by_path[paths[2]] == "b__x_yaml"
    assert assign_names(list(reversed(paths))) == named  # independent of the order given


def test_expand_inputs_reads_folders_globs_and_skips_results(tmp_path: Path) -> None:
    data = _instance(0, 5)
    _write(tmp_path / "in" / "a.json", data)
    _write(tmp_path / "in" / "deep" / "b.yaml", data)
    (tmp_path / "in" / "notes.txt").write_text("not an instance")
    (tmp_path / "in" / "old.result.json").write_text("{}")
    _write(tmp_path / "in" / "out" / "c.json", data)  # inside the output folder
    files, missing = expand_inputs(
        [str(tmp_path / "in"), str(tmp_path / "in" / "**" / "*.yaml"), str(tmp_path / "nope.json")],
        exclude=tmp_path / "in" / "out",
    )
    assert [p.name for p in files] == ["a.json", "b.yaml"]
    assert missing == [str(tmp_path / "nope.json")]


def test_exit_code_precedence() -> None:
    def row(status: str, kind: str | None = None) -> ItemResult:
        return ItemResult(0, "x", "h", status, error_kind=kind)

    assert exit_code([row("optimal"), row("feasible")]) == 0
    assert exit_code([row("optimal"), row("infeasible")]) == 1
    assert exit_code([row("optimal"), row("error", "timeout")]) == 1
    assert exit_code([row("infeasible"), row("error", INPUT)]) == 2


def test_inputs_that_match_nothing_become_bad_input_rows() -> None:
    taken = {"gone"}
    rows = missing_input_rows(["gone.yaml", "nowhere/*.json"], taken)
    assert [row.name for row in rows] == ["gone-2", "_"]  # unique; glob characters replaced
    assert [row.error for row in rows] == ["gone.yaml: no such file", "nowhere/*.json: no match"]
    assert [row.source for row in rows] == ["gone.yaml", "nowhere/*.json"]
    assert all(row.status == "error" and row.error_kind == INPUT for row in rows)
    assert taken == {"gone", "gone-2", "_"}
    assert exit_code(rows) == 2


# ---------------------------------------------------------------------- the command, serially
def test_corrupted_file_among_good_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "in"
    for k in range(3):
        _write(inputs / f"good{k}.json", _instance(k, 12))
    (inputs / "corrupt.yaml").write_text("services: [\n  - id: x\n", encoding="utf-8")
    invalid = _instance(5, 12)
    invalid["services"][1]["options"][0]["annual_cost"] = -5
    _write(inputs / "invalid.json", invalid)
    infeasible = _instance(6, 12)
    infeasible["constraints"]["budget"] = 1
    _write(inputs / "tight.yaml", infeasible)
    out = tmp_path / "out"

    code = main(["batch", str(inputs), "--out", str(out), "--executor", "serial"])
    assert code == 2  # bad input wins over the infeasible one
    summary = json.loads((out / "summary.json").read_text())
    rows = {row["instance"]: row for row in summary["rows"]}
    assert [row["instance"] for row in summary["rows"]] == sorted(rows)
    assert {name: row["status"] for name, row in rows.items()} == {
        "corrupt": "error",
        "good0": "optimal",
        "good1": "optimal",
        "good2": "optimal",
        "invalid": "error",
        "tight": "infeasible",
    }
    assert "corrupt.yaml" in rows["corrupt"]["error"]
    assert "invalid YAML" in rows["corrupt"]["error"]
    assert "invalid.json" in rows["invalid"]["error"]
    assert "annual_cost" in rows["invalid"]["error"]
    assert rows["tight"]["error"] is None
    assert summary["exit_code"] == 2
    assert summary["counts"]["optimal"] == 3

    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0] == "instance,status,objective,bound,gap,seconds,backend,error,file"
    assert len(csv_lines) == 7  # errors are one line each in the CSV
    for name in rows:
        data = json.loads((out / f"{name}.result.json").read_text())
        assert data["status"] == rows[name]["status"]
        assert len(data["input_hash"]) == 64
    good = json.loads((out / "good0.result.json").read_text())
    assert good["assignment"]
    assert good["verified"] is True
    assert good["file"].endswith("good0.json")
    bad = json.loads((out / "corrupt.result.json").read_text())
    assert bad["error_kind"] == INPUT
    assert bad["assignment"] is None

    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 6  # one plain line per instance when stderr is not a terminal
    assert any("corrupt: error" in line and "invalid YAML" in line for line in progress)


def test_missing_input_is_reported_and_the_rest_solved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "in" / "good.json", _instance(0, 12))
    gone = tmp_path / "in" / "gone.yaml"
    out = tmp_path / "out"
    code = main(["batch", str(good), str(gone), "--out", str(out), "--executor", "serial"])
    assert code == 2
    summary = json.loads((out / "summary.json").read_text())
    assert {row["instance"]: row["status"] for row in summary["rows"]} == {
        "gone": "error",
        "good": "optimal",
    }
    assert json.loads((out / "gone.result.json").read_text())["error_kind"] == INPUT
    assert f"portfolio: gone: {gone}: no such file" in capsys.readouterr().err.splitlines()


def test_resume_solves_only_what_is_missing(tmp_path: Path) -> None:
    items = _items(5, services=8)
    out = tmp_path / "out"
    seen: list[ItemResult] = []

    def stop_after_two(row: ItemResult) -> None:
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C arrived here

    first = run_batch(items, out, executor="serial", on_result=stop_after_two)
    assert first.interrupted
    assert first.exit_code == 130
    assert sorted(p.name for p in out.iterdir()) == ["i00.result.json", "i01.result.json"]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    second = run_batch(items, out, executor="serial", resume=True)
    assert second.solved == 3
    assert not second.interrupted
    assert sorted(r.name for r in second.rows if r.resumed) == ["i00", "i01"]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("i0[01].result.json")} == stamps
    assert len(json.loads((out / "summary.json").read_text())["rows"]) == 5

    # Other parameters make another problem: nothing is reused.
    third = run_batch(items, out, executor="serial", resume=True, params=SolveParams(rel_gap=1e-4))
    assert third.solved == 5


# ---------------------------------------------------------------------- local processes
def test_processes_match_serial(serial_results: dict[str, ItemResult]) -> None:
    rows = list(solve_many(_items(), executor="processes", workers=2))
    assert sorted(row.name for row in rows) == sorted(serial_results)
    assert len({row.worker for row in rows}) >= 2  # really ran in two processes
    for row in rows:
        _same_answer(row, serial_results[row.name])


def crashing_task(
    name: str, content: str, fmt: str, backend: str, params: SolveParams, source: str
) -> dict[str, Any]:
    """A task whose process dies on one item (as a segfault in a solver would)."""
    if name == "boom":
        os._exit(3)
    return solve_task(name, content, fmt, backend, params, source)


def hanging_task(
    name: str, content: str, fmt: str, backend: str, params: SolveParams, source: str
) -> dict[str, Any]:
    """A task that never returns on one item (as a solver ignoring its limit would)."""
    if name == "hang":
        time.sleep(600)
    return solve_task(name, content, fmt, backend, params, source)


def test_worker_that_dies_is_retried_then_reported() -> None:
    items = _items(4, services=8)
    items.insert(2, BatchItem("boom", items[0].content, "json"))
    rows = {row.name: row for row in solve_many(
        items, executor="processes", workers=2, retries=1, task=crashing_task
    )}
    assert len(rows) == 5
    assert rows["boom"].status == "error"
    assert rows["boom"].error_kind == WORKER_LOST
    # Charged only when it died alone: 1 + retries deaths, plus any run shared with another.
    assert 2 <= rows["boom"].attempts <= 3
    assert "worker process died while solving it, 2 times" in (rows["boom"].error or "")
    assert all(rows[f"i{k:02d}"].status == "optimal" for k in range(4))


def test_task_that_never_returns_is_abandoned() -> None:
    items = _items(3, services=8)
    items.insert(1, BatchItem("hang", items[0].content, "json"))
    began = time.perf_counter()
    rows = {row.name: row for row in solve_many(
        # The guard must leave room for a real solve on a loaded machine (process start included).
        items, executor="processes", workers=2, task_timeout=15, task=hanging_task
    )}
    assert time.perf_counter() - began < 90
    assert rows["hang"].status == "error"
    assert rows["hang"].error_kind == TIMEOUT
    assert "15 s wall-clock guard" in (rows["hang"].error or "")
    assert all(rows[f"i{k:02d}"].status == "optimal" for k in range(3))


def test_sigint_leaves_no_partial_files_and_resume_finishes(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    total = 16
    for k in range(total):
        _write(inputs / f"c{k:02d}.json", _instance(k, 30))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "portfolio.cli", "batch", str(inputs), "--out", str(out),
         "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell may have started us with SIGINT ignored; the command must see Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 90
        while len(list(out.glob("*.result.json"))) < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no result appeared"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "--resume" in err
    names = os.listdir(out)
    assert not [n for n in names if n.endswith(".tmp")]
    assert "summary.json" not in names  # no summary of an unfinished batch
    done = sorted(n for n in names if n.endswith(".result.json"))
    assert 2 <= len(done) < total
    for name in done:
        assert json.loads((out / name).read_text())["status"] == "optimal"

    files, _ = expand_inputs([str(inputs)])
    items, failed = read_inputs(assign_names(files))
    report = run_batch(items, out, executor="processes", workers=2, resume=True)
    assert not failed
    assert report.exit_code == 0
    assert report.solved == total - len(done)
    assert sorted(f"{r.name}.result.json" for r in report.rows if r.resumed) == done


# ---------------------------------------------------------------------- a real Dask cluster
@pytest.fixture(scope="module")
def dask_cluster() -> Any:
    """A scheduler and two single-threaded worker processes on 127.0.0.1."""
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install 'portfolio[dask]')"
    )
    import logging

    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        yield cluster.scheduler_address, client
    finally:
        client.close()
        cluster.close()


def test_dask_batch_matches_serial(
    dask_cluster: Any, serial_results: dict[str, ItemResult], tmp_path: Path
) -> None:
    address, client = dask_cluster
    client.wait_for_workers(2, timeout=60)
    inputs = tmp_path / "in"
    for k in range(GOOD):
        _write(inputs / f"i{k:02d}.json", _instance(k))
    out = tmp_path / "out"
    assert main(["batch", str(inputs), "--out", str(out), "--scheduler", address]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [row["instance"] for row in summary["rows"]] == sorted(serial_results)
    hashes = set()
    for name, reference in serial_results.items():
        data = json.loads((out / f"{name}.result.json").read_text())
        assert data["objective"] == reference.objective
        assert data["assignment"] == reference.result["assignment"]  # type: ignore[index]
        assert data["options"] == reference.result["options"]  # type: ignore[index]
        hashes.add(data["input_hash"])
    assert len(hashes) == GOOD


def test_dask_worker_killed_mid_batch(
    dask_cluster: Any, serial_results: dict[str, ItemResult]
) -> None:
    address, client = dask_cluster
    client.wait_for_workers(2, timeout=60)
    before = client.run(os.getpid)
    items = _items()
    rows: dict[str, ItemResult] = {}
    victim = None
    with contextlib.closing(solve_many(items, executor="dask", scheduler=address)) as stream:
        for row in stream:
            rows[row.name] = row
            if victim is None:
                busy = [w for w, keys in client.processing().items() if keys]
                assert busy, "nothing running to interrupt"
                victim = busy[0]
                os.kill(before[victim], signal.SIGKILL)  # the worker dies mid-task
    assert len(rows) == len(items)
    for name, reference in serial_results.items():
        _same_answer(rows[name], reference)
    assert all(row.error is None for row in rows.values())
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert before[victim] not in client.run(os.getpid).values()
