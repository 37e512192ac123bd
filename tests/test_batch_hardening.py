"""Batch, sweep and file hardening (issue 12, items 9-13): sweep size cap and lazy variants,
workers that end with their caller, resume that re-checks result files, the output-folder
lock, backend options checked on every backend, and result files' mode and symbolic links."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from portfolio.batch import LOCK_NAME, OutputDirLockedError, lock_output_dir, run_batch
from portfolio.cli import main
from portfolio.errors import BackendOptionError
from portfolio.executors import INPUT, BatchItem
from portfolio.generate import random_instance_data
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.sweep import (
    Axis,
    Grid,
    TooManyVariantsError,
    check_variant_count,
    count_variants,
    expand,
    linear_grid,
    parse_set,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}

#: A near-miss of a real option for each backend, and the name "did you mean" must offer.
NEAR_MISS = {
    "highs": ("mip_rel_gp", "mip_rel_gap"),
    "cbc": ("secnds", "seconds"),
    "cpsat": ("num_worker", "num_workers"),
    "scip": ("limits/gp", "limits/gap"),
}
#: A real option of each backend that leaves the answer unchanged.
VALID_OPTION = {
    "highs": "presolve=off",
    "cbc": "cuts=off",
    "cpsat": "interleave_search=true",
    "scip": "presolving/maxrounds=0",
}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run_cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        env=ENV, capture_output=True, text=True, timeout=600, check=False, **kwargs,
    )


# ====================================================================== 9: sweep size
def test_grid_values_are_computed_on_demand() -> None:
    grid = Grid(80000, 100000, 1_000_000_000_000)  # listing it would need terabytes
    assert len(grid) == 1_000_000_000_000
    assert grid[0] == 80000
    assert grid[-1] == 100000
    assert grid[1] == pytest.approx(80000 + 20000 / (1_000_000_000_000 - 1))
    assert Grid(80000, 100000, 11) == tuple(range(80000, 100001, 2000))
    assert all(isinstance(v, int) for v in Grid(80000, 100000, 11))
    assert Grid(0, 1, 4) == linear_grid(0, 1, 4) == (0.0, 0.333333333333, 0.666666666667, 1.0)
    assert Grid(0, 1, 4)[1:3] == (0.333333333333, 0.666666666667)
    with pytest.raises(IndexError):
        Grid(0, 1, 4)[4]


def test_variants_are_counted_without_building_them() -> None:
    axes = [parse_set("constraints.budget=80000:100000:1000000"), Axis("a", (1, 2, 3))]
    assert count_variants(axes) == 3_000_000
    with pytest.raises(TooManyVariantsError, match=r"3,000,000 variants.*limit of 10,000"):
        check_variant_count(axes)
    assert check_variant_count(axes, max_variants=None) == 3_000_000
    assert check_variant_count(axes, max_variants=3_000_000) == 3_000_000
    # expand() is a generator that only indexes the axes: the first variants of a
    # billion-point grid come at once, and listing an axis would fail the test.
    huge = [Axis("constraints.budget", _NotListable(1, 10**9, 10**9)), Axis("w", (1, 2))]
    first = list(itertools.islice(expand({"constraints": {}}, huge, "x"), 3))
    assert [(v.data["constraints"]["budget"], v.data["w"]) for v in first] == [
        (1, 1), (1, 2), (2, 1)
    ]
    assert [v.name for v in first] == ["x-0000000000", "x-0000000001", "x-0000000002"]


class _NotListable(Grid):
    """A grid that may be indexed but not iterated (iterating would list it)."""

    def __iter__(self) -> Any:
        raise AssertionError("the grid was listed")


def test_run_sweep_refuses_before_reading_the_file(tmp_path: Path) -> None:
    axes = [parse_set("constraints.budget=1:2:20001")]
    with pytest.raises(TooManyVariantsError, match="20,001 variants"):
        run_sweep(tmp_path / "does-not-exist.json", axes, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sweep_cli_caps_variants_with_exit_2_before_any_work(tmp_path: Path) -> None:
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    out = tmp_path / "out"
    done = _run_cli(
        "sweep", str(file), "--set", "constraints.budget=80000:100000:1000000", "--out", str(out)
    )
    assert done.returncode == 2, done.stderr
    assert "1,000,000 variants" in done.stderr
    assert "--max-variants" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    # The cap is an option: 3 variants refused under --max-variants 2.
    code = main([
        "sweep", str(file), "--set", "constraints.budget=80000:100000:3",
        "--max-variants", "2", "--out", str(out), "--executor", "serial",
    ])
    assert code == 2
    assert not out.exists()


# ====================================================================== 10: orphaned workers
def test_workers_end_when_the_batch_is_killed(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil", reason="psutil lists the batch's descendants")
    inputs = tmp_path / "in"
    for k in range(40):
        _write(inputs / f"c{k:02d}.json", random_instance_data(60, seed=k))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "portfolio.cli", "batch", str(inputs), "--out", str(out),
         "--workers", "2"],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    descendants: list[Any] = []
    try:
        parent = psutil.Process(process.pid)
        deadline = time.monotonic() + 240
        # Wait until both workers are solving: the forkserver's children exist and a result
        # file has been written.
        while time.monotonic() < deadline and process.poll() is None:
            descendants = parent.children(recursive=True)
            workers = [p for p in descendants if p.ppid() != process.pid]
            if len(workers) >= 2 and any(out.glob("*.result.json")):
                break
            time.sleep(0.2)
        assert process.poll() is None, "the batch finished before it could be killed"
        assert len(workers) >= 2, f"workers not found among {descendants}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        _gone, alive = psutil.wait_procs(descendants, timeout=30)
        assert not alive, f"still running 30 s after the batch was killed: {alive}"
    finally:
        if process.poll() is None:
            process.kill()
        for child in descendants:  # orphans are no longer our descendants: kill them by pid
            with contextlib.suppress(psutil.Error):
                child.kill()


# ====================================================================== 11: resume checks
def _result(out: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / f"{name}.result.json").read_text())
    return data


def _save(out: Path, name: str, data: dict[str, Any]) -> None:
    (out / f"{name}.result.json").write_text(json.dumps(data, indent=2))


def _worse_plan(item: BatchItem, data: dict[str, Any]) -> dict[str, Any]:
    """The result with one service moved to another feasible option of lower objective,
    the assignment kept consistent, the objective left as it was."""
    from portfolio.io import instance_from_data
    from portfolio.verify import verify_plan

    instance = instance_from_data(item.content, item.fmt)
    ids = [s.id for s in instance.services]
    best = data["objective"]
    for position, service in enumerate(instance.services):
        for index, option in enumerate(service.options):
            if index == data["options"][service.id]:
                continue
            positions = [data["options"][sid] for sid in ids]
            positions[position] = index
            verdict = verify_plan(instance, positions)
            if verdict.ok and verdict.plan.objective < best - 1e-6:
                tampered = copy.deepcopy(data)
                tampered["options"][service.id] = index
                tampered["assignment"][service.id] = option.mode
                return tampered
    raise AssertionError("no feasible worse plan one change away")


def test_resume_re_solves_tampered_result_files_and_says_why(tmp_path: Path) -> None:
    items = [
        BatchItem(f"i{k:02d}", json.dumps(random_instance_data(10, seed=k)), "json")
        for k in range(5)
    ]
    out = tmp_path / "out"
    first = run_batch(items, out, executor="serial")
    assert first.exit_code == 0
    original = {item.name: _result(out, item.name) for item in items}
    assert all(data["status"] == "optimal" for data in original.values())

    deleted = copy.deepcopy(original["i00"])
    del deleted["objective"]
    _save(out, "i00", deleted)
    edited = copy.deepcopy(original["i01"])
    edited["objective"] = original["i01"]["objective"] + 1.0
    _save(out, "i01", edited)
    _save(out, "i02", _worse_plan(items[2], original["i02"]))
    unverified = copy.deepcopy(original["i03"])
    unverified["verified"] = "yes"
    _save(out, "i03", unverified)

    second = run_batch(items, out, executor="serial", resume=True)
    assert second.exit_code == 0
    assert sorted(second.rejected) == ["i00", "i01", "i02", "i03"]
    assert "missing 'objective'" in second.rejected["i00"]
    assert "'objective' is" in second.rejected["i01"]
    assert "the plan's objective is" in second.rejected["i01"]
    assert "the plan's objective is" in second.rejected["i02"]
    assert "'verified'" in second.rejected["i03"]
    rows = {row.name: row for row in second.rows}
    assert [name for name, row in sorted(rows.items()) if row.resumed] == ["i04"]
    assert second.solved == 4
    for name in ("i00", "i01", "i02", "i03"):
        again = _result(out, name)
        assert again["objective"] == original[name]["objective"]
        assert again["options"] == original[name]["options"]
        assert again["resume_rejected"] == second.rejected[name]


def test_resume_rejects_an_optimal_claim_outside_its_bound(tmp_path: Path) -> None:
    items = [BatchItem("a", json.dumps(random_instance_data(10, seed=7)), "json")]
    out = tmp_path / "out"
    run_batch(items, out, executor="serial")
    data = _result(out, "a")
    worse = _worse_plan(items[0], data)
    # A consistent forgery: the worse plan with its own objective, still claimed optimal.
    from portfolio.io import instance_from_data
    from portfolio.verify import verify_plan

    instance = instance_from_data(items[0].content, "json")
    worse["objective"] = verify_plan(
        instance, [worse["options"][s.id] for s in instance.services]
    ).plan.objective
    _save(out, "a", worse)
    report = run_batch(items, out, executor="serial", resume=True)
    assert "status optimal but the objective" in report.rejected["a"]
    assert _result(out, "a")["objective"] == data["objective"]


def test_resume_checks_multi_year_results_through_their_contracts(tmp_path: Path) -> None:
    # A small multi-year council (it is solved three times): contracts, lock-in, lead times.
    file = _write(tmp_path / "in" / "council_4y.json", random_multi_year_data(12, years=4, seed=3))
    out = tmp_path / "out"
    assert main(["batch", str(file), "--out", str(out), "--executor", "serial"]) == 0
    name = "council_4y"
    data = _result(out, name)
    stamp = (out / f"{name}.result.json").stat().st_mtime_ns
    assert main(["batch", str(file), "--out", str(out), "--executor", "serial", "--resume"]) == 0
    assert (out / f"{name}.result.json").stat().st_mtime_ns == stamp  # reused as it was

    data["objective"] = data["objective"] * 1.01
    _save(out, name, data)
    items = [BatchItem(name, file.read_text(), "json", str(file))]
    report = run_batch(items, out, executor="serial", resume=True)
    assert "the plan's objective is" in report.rejected[name]
    contracts = copy.deepcopy(_result(out, name))
    contracts["contracts"] = "gone"
    _save(out, name, contracts)
    report = run_batch(items, out, executor="serial", resume=True)
    assert "contracts" in report.rejected[name]


def test_resume_reason_is_printed_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path / "in" / "council.json", random_instance_data(8, seed=2))
    out = tmp_path / "out"
    assert main(["batch", str(file), "--out", str(out), "--executor", "serial"]) == 0
    data = _result(out, "council")
    del data["objective"]
    _save(out, "council", data)
    capsys.readouterr()
    assert main(["batch", str(file), "--out", str(out), "--executor", "serial", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "council: result file not reused (missing 'objective'); solved again" in err
    assert isinstance(_result(out, "council")["objective"], float)


def test_a_second_batch_on_the_same_folder_stops_with_the_holders_pid(tmp_path: Path) -> None:
    file = _write(tmp_path / "in" / "council.json", random_instance_data(8, seed=2))
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from portfolio.batch import lock_output_dir\n"
         f"with lock_output_dir({str(out)!r}):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(600)\n"],
        env=ENV, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        done = _run_cli("batch", str(file), "--out", str(out), "--executor", "serial")
        assert done.returncode == 2, done.stderr
        assert str(out) in done.stderr
        assert f"pid {holder.pid}" in done.stderr
        assert "Traceback" not in done.stderr
        assert not list(out.glob("*.result.json"))
    finally:
        holder.kill()
        holder.wait()
    # The lock goes with its holder, even killed: the next batch runs.
    assert main(["batch", str(file), "--out", str(out), "--executor", "serial"]) == 0
    assert not (out / LOCK_NAME).exists()


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    with lock_output_dir(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(OutputDirLockedError, match=f"pid {os.getpid()}"), lock_output_dir(
            tmp_path
        ):
            pass
    assert not (tmp_path / LOCK_NAME).exists()
    with lock_output_dir(tmp_path):
        pass


# ====================================================================== 12: backend options
def test_unknown_backend_option_exits_2_on_every_backend(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    output = tmp_path / "result.json"
    code = main(["solve", str(file), "-b", backend, "-O", "no_such_option=1", "-o", str(output)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no_such_option" in err
    assert backend in err
    assert not output.exists()  # refused before solving

    wrong, meant = NEAR_MISS[backend]
    assert main(["solve", str(file), "-b", backend, "-O", f"{wrong}=1"]) == 2
    assert f"did you mean '{meant}'" in capsys.readouterr().err


def test_valid_backend_option_still_solves_on_every_backend(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    assert main(["solve", str(file), "-b", backend, "--json", "--no-heuristic"]) == 0
    plain = json.loads(capsys.readouterr().out)
    code = main([
        "solve", str(file), "-b", backend, "--json", "--no-heuristic", "-O", VALID_OPTION[backend]
    ])
    assert code == 0
    optioned = json.loads(capsys.readouterr().out)
    assert optioned["status"] == plain["status"] == "optimal"
    assert optioned["objective"] == pytest.approx(plain["objective"], rel=1e-9)


@pytest.mark.parametrize(
    ("backend_name", "option", "words"),
    [
        ("highs", "threads=many", "whole number"),
        ("cbc", "maxNodes=2.5", "whole number"),
        ("cbc", "solve=1", "command, not an option"),
        ("cpsat", "search_branching=NOPE", "FIXED_SEARCH"),
        ("scip", "branching/preferbinary=1", "true or false"),
    ],
)
def test_backend_option_of_the_wrong_type_exits_2(
    backend_name: str, option: str, words: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portfolio.backends import backend_class

    if not backend_class(backend_name).is_available():
        pytest.skip(f"backend '{backend_name}' is not installed")
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    assert main(["solve", str(file), "-b", backend_name, "-O", option]) == 2
    err = capsys.readouterr().err
    assert option.split("=")[0] in err
    assert words in err


def test_bad_backend_option_in_batch_and_sweep(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path / "in" / "council.json", random_instance_data(6, seed=1))
    out = tmp_path / "out"
    # The command line refuses it before any work.
    assert main(["batch", str(file), "--out", str(out), "-b", backend, "-O", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert not list(out.glob("*.result.json")) if out.exists() else True
    code = main([
        "sweep", str(file), "--set", "constraints.budget=1:2:2", "--out", str(out),
        "-b", backend, "-O", "bogus=1",
    ])
    assert code == 2
    assert "bogus" in capsys.readouterr().err
    # The library reports it per item, as bad input.
    from portfolio.params import SolveParams

    items = [BatchItem(f"v{k}", file.read_text(), "json") for k in range(2)]
    report = run_batch(
        items, out, backend=backend, params=SolveParams(backend_options={"bogus": 1}),
        executor="serial",
    )
    assert report.exit_code == 2
    assert all(row.error_kind == INPUT and "bogus" in (row.error or "") for row in report.rows)


def test_check_options_is_the_library_entry_point(backend: str) -> None:
    from portfolio.backends import get_backend

    solver = get_backend(backend)
    solver.check_options({})
    with pytest.raises(BackendOptionError) as caught:
        solver.check_options({"no_such_option": 1})
    assert caught.value.option == "no_such_option"
    assert caught.value.backend == backend


# ====================================================================== 13: file mode, links
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_result_file_mode_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    output = tmp_path / "result.json"
    out = tmp_path / "out"
    previous = os.umask(umask)
    try:
        assert main(["solve", str(file), "-o", str(output), "--json"]) == 0
        assert main(["batch", str(file), "--out", str(out), "--executor", "serial"]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(output.stat().st_mode) == mode
    for written in ("council.result.json", "summary.json", "summary.csv"):
        assert stat.S_IMODE((out / written).stat().st_mode) == mode, written


def test_output_through_a_symlink_writes_the_target(tmp_path: Path) -> None:
    file = _write(tmp_path / "council.json", random_instance_data(6, seed=1))
    target = tmp_path / "results" / "latest.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "result.json"
    link.symlink_to(target)
    assert main(["solve", str(file), "-o", str(link), "--json"]) == 0
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert json.loads(target.read_text())["status"] == "optimal"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.json"]  # no temp left
    # A dangling link: the file it names is created.
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "results" / "new.json")
    assert main(["solve", str(file), "-o", str(dangling), "--json"]) == 0
    assert dangling.is_symlink()
    assert json.loads((tmp_path / "results" / "new.json").read_text())["status"] == "optimal"
