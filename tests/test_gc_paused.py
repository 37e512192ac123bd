"""``portfolio.linear.gc_paused``: the one helper that pauses the cyclic garbage collector, used by
the instance readers (``io``, ``columnar``) and by the CBC backend's model writer."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import portfolio
from portfolio.generate import random_instance_data
from portfolio.linear import gc_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("boom")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_readers_and_the_cbc_backend_share_it() -> None:
    import portfolio.backends.cbc as cbc
    import portfolio.columnar as columnar
    import portfolio.io as io

    assert columnar.gc_paused is gc_paused
    assert io.gc_paused is gc_paused
    assert cbc.gc_paused is gc_paused
    assert not hasattr(cbc, "_gc_paused")


def _passes_during(call: Callable[[], Any]) -> tuple[int, Any]:
    """Collector passes that start while ``call`` runs, with a threshold low enough that an
    enabled collector runs hundreds of them."""
    passes = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    threshold = gc.get_threshold()
    gc.set_threshold(10, 10, 10)
    gc.callbacks.append(count)
    try:
        answer = call()
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*threshold)
    return len(passes), answer


def test_the_library_pauses_the_collector_while_it_reads_and_solves(tmp_path: Path) -> None:
    """``portfolio.solve(path)`` reads the instance itself and pauses the collector for the
    call (a handful of passes before the pause starts); given an Instance it leaves the collector
    alone. Both restore it and give the same plan."""
    data = random_instance_data(400, seed=2, setup_costs=True, sector_shares=True, bundles=True)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    assert gc.isenabled()
    read, from_file = _passes_during(lambda: portfolio.solve(path, prefer="none"))
    assert gc.isenabled()
    instance = portfolio.load_instance(path)
    given, from_instance = _passes_during(lambda: portfolio.solve(instance, prefer="none"))
    assert gc.isenabled()
    assert read < 10
    assert given > 100
    assert from_file.status is from_instance.status is portfolio.Status.OPTIMAL
    assert from_file.require_plan().options == from_instance.require_plan().options
