"""Ctrl-C during ``portfolio solve``: a real subprocess, signalled the way a terminal does it.

A terminal sends SIGINT to its whole foreground process group, so each test starts the command
in a group of its own (``start_new_session``) and signals the group with ``os.killpg``. The
command must stop the solver, write its result file (valid JSON; a plan only if verified) and
exit 130, on every backend, with and without a time limit, for single-period and multi-year
instances. The instances are generated hard enough that no backend finishes before the signal.
The library's side: ``solve(..., cancel=event)`` and a ``KeyboardInterrupt`` in the caller.
"""

from __future__ import annotations

import _thread
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from portfolio import load_instance, solve
from portfolio.backends import backend_class
from portfolio.generate import random_instance_data
from portfolio.multiyear.generate import random_multi_year_data

pytestmark = pytest.mark.skipif(
    not hasattr(os, "killpg"), reason="process groups and SIGINT are POSIX only"
)

SRC = Path(__file__).resolve().parents[1] / "src"
#: What "within a couple of seconds" may stretch to on a loaded 2-core CI machine.
STOP_BOUND = 15.0
#: The line ``solve --verbose`` writes to stderr once the instance is read.
SOLVING = "solving with"


@pytest.fixture(scope="module")
def hard_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 services with setup costs, sector shares and bundles: every backend runs 20 s and
    more without proving optimality (HiGHS, CBC, CP-SAT and SCIP measured)."""
    data = random_instance_data(
        2000, seed=0, options=(6, 8), setup_costs=True, sector_shares=True, bundles=True
    )
    path = tmp_path_factory.mktemp("interrupt") / "hard.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hard_multi_year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 services over 5 years: HiGHS finds no plan within 20 s."""
    path = tmp_path_factory.mktemp("interrupt") / "hard_multiyear.json"
    path.write_text(json.dumps(random_multi_year_data(200, years=5, seed=0)), encoding="utf-8")
    return path


def _installed(name: str) -> None:
    if not backend_class(name).is_available():
        pytest.skip(f"backend '{name}' is not installed (pip install 'portfolio[{name}]')")


def _interrupt(
    instance: Path, out: Path, args: list[str], *, delay: float, presses: int = 1
) -> tuple[int, float, str]:
    """Run ``portfolio solve``, press Ctrl-C ``presses`` times ``delay`` s after it starts
    solving, and return the exit code, the seconds from the first press to the exit, and stderr.
    """
    work = out.parent
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TMPDIR": str(work),  # CBC's folders land here, so the test can look for leftovers
    }
    err_path = work / "stderr.txt"
    with open(err_path, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "portfolio.cli", "solve", str(instance), "-o", str(out),
             "--json", "--verbose", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            # A shell may have started us with SIGINT ignored; a terminal's command sees Ctrl-C.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 60
        while SOLVING not in err_path.read_text(errors="replace"):
            assert process.poll() is None, err_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the command never started solving"
            time.sleep(0.05)
        time.sleep(delay)
        assert process.poll() is None, "the solve ended before the signal: make it harder"
        pressed = time.monotonic()
        for press in range(presses):
            if press:
                time.sleep(0.2)
            os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=60)
        seconds = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return code, seconds, err_path.read_text(errors="replace")


def _check_result(out: Path) -> dict[str, object]:
    """The result file is complete JSON; a plan in it is verified; it says it was interrupted."""
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    assert data["interrupted"] is True
    assert str(data["detail"]).startswith("interrupted")
    if data["status"] in ("optimal", "feasible"):
        assert data["verified"] is True
        assert data["assignment"]
    else:
        assert data["status"] == "time_limit_no_solution"
        assert data["assignment"] is None
    return data


def _no_leftovers(work: Path) -> None:
    """No temporary result file and no CBC folder (or live CBC process) is left behind."""
    names = os.listdir(work)
    assert not [n for n in names if n.endswith(".tmp")], names
    assert not [n for n in names if n.startswith("portfolio-cbc-")], names


@pytest.mark.parametrize("limit", [None, 120.0], ids=["no-limit", "time-limit"])
@pytest.mark.parametrize("backend", ["highs", "cbc", "cpsat", "scip"])
def test_ctrl_c_stops_the_solve_and_writes_the_result(
    hard_instance: Path, tmp_path: Path, backend: str, limit: float | None
) -> None:
    _installed(backend)
    out = tmp_path / "result.json"
    args = ["-b", backend] + ([] if limit is None else ["--time-limit", str(limit)])
    # Without a limit the signal lands early (heuristic or model building); with one, later.
    code, seconds, err = _interrupt(hard_instance, out, args, delay=0.5 if limit is None else 4)
    assert code == 130, err
    assert seconds < STOP_BOUND, err
    assert "terminate called" not in err
    assert "Traceback" not in err
    data = _check_result(out)
    assert data["backend"] == backend
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("limit", [None, 120.0], ids=["no-limit", "time-limit"])
def test_ctrl_c_multi_year(hard_multi_year: Path, tmp_path: Path, limit: float | None) -> None:
    out = tmp_path / "result.json"
    args = [] if limit is None else ["--time-limit", str(limit)]
    code, seconds, err = _interrupt(hard_multi_year, out, args, delay=3)
    assert code == 130, err
    assert seconds < STOP_BOUND, err
    assert "terminate called" not in err
    data = _check_result(out)
    assert data["instance"]
    if data["status"] == "feasible":
        assert data["schedule"]


@pytest.mark.parametrize(
    ("backend", "extra"),
    [("cbc", []), ("highs", ["--no-heuristic"])],
    ids=["cbc-child-process", "highs-native-thread"],
)
def test_second_ctrl_c_exits_at_once_without_partial_files(
    hard_instance: Path, tmp_path: Path, backend: str, extra: list[str]
) -> None:
    _installed(backend)
    out = tmp_path / "result.json"
    args = ["-b", backend, *extra]
    code, seconds, err = _interrupt(hard_instance, out, args, delay=1.5, presses=2)
    assert code == 130, err
    assert seconds < STOP_BOUND, err
    assert "terminate called" not in err
    if out.exists():  # the second press may come after the result was written
        _check_result(out)
    _no_leftovers(tmp_path)
    if Path("/proc").is_dir():  # Linux: no solver still running in a folder of this test
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cwd = os.readlink(f"/proc/{pid}/cwd")
                except OSError:
                    continue
                assert not cwd.startswith(str(tmp_path)), f"process {pid} still runs in {cwd}"


# ---------------------------------------------------------------------- the library
def test_cancel_before_the_solve_returns_no_plan_and_says_so(examples: Path, backend: str) -> None:
    cancel = threading.Event()
    cancel.set()
    result = solve(examples / "example_borough.yaml", backend=backend, cancel=cancel)
    assert result.interrupted
    assert result.status.value == "time_limit_no_solution"
    assert result.plan is None
    assert not result.verified
    assert result.detail.startswith("interrupted")
    assert f"{backend} not started" in result.detail
    assert result.to_dict()["interrupted"] is True


def test_uninterrupted_result_file_has_no_interrupted_key(examples: Path) -> None:
    result = solve(examples / "example_borough.yaml", backend="highs")
    assert not result.interrupted
    assert result.status.value == "optimal"
    assert "interrupted" not in result.to_dict()


def test_cancel_from_another_thread_keeps_the_best_verified_plan(hard_instance: Path) -> None:
    instance = load_instance(hard_instance)
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)  # during the LP-guided heuristic's HiGHS solves
    timer.start()
    try:
        # The limit only bounds a run that could not stop and was abandoned.
        result = solve(instance, backend="highs", time_limit=60, cancel=cancel)
    finally:
        timer.cancel()
    assert result.interrupted
    assert result.status.value in ("feasible", "time_limit_no_solution")
    if result.plan is not None:
        assert result.verified
        assert result.objective == pytest.approx(result.plan.objective)
    # A solver that could not stop within the grace period is left behind only in that case.
    if "abandoned" not in result.detail:
        assert not [t for t in threading.enumerate() if t.name.startswith("portfolio-")]


def test_keyboard_interrupt_stops_the_solver_before_it_propagates(hard_instance: Path) -> None:
    instance = load_instance(hard_instance)
    # What a Ctrl-C does to a script: KeyboardInterrupt in the main thread, here while the
    # LP-guided heuristic's HiGHS solves run in their thread.
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        solve(instance, backend="highs", time_limit=120)
    timer.cancel()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("portfolio-")]


def test_no_backend_takes_over_sigint(examples: Path) -> None:
    # CP-SAT used to install its own SIGINT handler for each solve and reset it to SIG_DFL
    # afterwards: the next Ctrl-C killed the process instead of reaching portfolio's handler.
    script = f"""
import os, signal, time
from portfolio import solve
from portfolio.backends import available_backends
caught = []
signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
for name in available_backends():
    before = len(caught)
    assert solve({str(examples / "example_borough.yaml")!r}, backend=name).status.value == "optimal"
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.1)
    assert len(caught) == before + 1, name
print("ok", len(caught))
"""
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ")
