"""Parts of the HTTP service that need no web framework: parameters, the thread-count gate,
and cancelling a run of solve_many."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pydantic
import pytest

from portfolio.executors import BatchItem, Cancelled, solve_many
from portfolio.server.gate import ThreadsGate
from portfolio.server.inputs import SolveParameters, parameters_from
from portfolio.server.problems import Problem
from portfolio.server.settings import ServerSettings

SMALL = Path(__file__).resolve().parent.parent / "instances" / "small"


def test_time_limit_is_capped_by_the_server() -> None:
    settings = ServerSettings(max_time_limit=30)
    assert SolveParameters(time_limit=1000).solve_params(settings).time_limit == 30
    assert SolveParameters(time_limit=5).solve_params(settings).time_limit == 5
    assert SolveParameters().solve_params(settings).time_limit == 30  # the cap is the default
    cores = os.cpu_count() or 1
    assert SolveParameters(threads=256).solve_params(settings).threads == cores
    assert SolveParameters(threads=1).solve_params(settings).threads == 1


def test_parameters_from_query_strings_and_json_agree() -> None:
    from_text = parameters_from({"time_limit": "2.5", "threads": "2", "seed": "7"})
    from_json = parameters_from({"time_limit": 2.5, "threads": 2, "seed": 7})
    assert from_text == from_json
    weighted = parameters_from({"objective": '{"maximise": {"outcome": 1}}'})
    assert weighted.objective == {"maximise": {"outcome": 1}}
    with pytest.raises(Problem) as caught:
        parameters_from({"time_limit": "nan", "backend": "nope", "colour": "red"})
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"time_limit", "backend", "colour"}
    assert caught.value.status == 422
    with pytest.raises(pydantic.ValidationError):
        SolveParameters(seed=-1)


def test_gate_keeps_different_thread_counts_apart() -> None:
    gate = ThreadsGate()
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with gate.hold("highs", 1):
            order.append("first in")
            first_in.set()
            release_first.wait(5)
            order.append("first out")

    def same() -> None:
        with gate.hold("highs", 1):
            order.append("same in")

    def other() -> None:
        with gate.hold("highs", 2):
            order.append("other in")

    def other_backend() -> None:
        with gate.hold("cpsat", 8):
            order.append("cpsat in")

    runner = threading.Thread(target=first)
    runner.start()
    assert first_in.wait(5)
    waiting = threading.Thread(target=other)
    waiting.start()
    for target in (same, other_backend):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(5)
    time.sleep(0.2)
    assert "other in" not in order  # a different count waits for the running solve
    release_first.set()
    runner.join(5)
    waiting.join(5)
    assert order.index("first out") < order.index("other in")
    assert order.index("same in") < order.index("first out")  # the same count runs alongside
    assert order.index("cpsat in") < order.index("first out")


def test_solve_many_stops_when_cancelled() -> None:
    text = (SMALL / "budget_binds.yaml").read_text()
    items = [BatchItem(f"copy-{k}", text, "yaml") for k in range(5)]
    cancel = threading.Event()
    done = []

    def consume() -> None:
        for row in solve_many(items, executor="serial", cancel=cancel):
            done.append(row)
            if len(done) == 2:
                cancel.set()

    with pytest.raises(Cancelled):
        consume()
    assert [row.objective for row in done] == [128.0, 128.0]
