"""benchmarks/anatomy_multiyear.py: its measurements on a hand-solved three-service case.

Each service runs in house in one of two variants a year (no contracts, no changes of mode); the
budget leaves room for 6 over the cheapest variants, and the upgrades cost 4 (+2 outcome), 3 (+2)
and 4 (+3). The best plan takes the +3 upgrade each year (outcome 12 + 3 = 15 a year, 30 over
two years); the LP takes it and two thirds of the 3-cost one (15 + 4/3 a year, 32 2/3).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from portfolio.domain import Instance
from portfolio.multiyear.compile import compile_multi_year

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "anatomy_multiyear.py"

pytest.importorskip("highspy", reason="the anatomy runs HiGHS directly")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("anatomy_multiyear", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _service(sid: str, low: tuple[int, int], high: tuple[int, int]) -> dict[str, object]:
    return {
        "id": sid,
        "current_mode": "in_house",
        "options": [
            {"mode": "in_house", "label": "today", "annual_cost": low[0], "outcome": low[1]},
            {"mode": "in_house", "label": "better", "annual_cost": high[0], "outcome": high[1]},
        ],
    }


def _instance() -> Instance:
    return Instance.from_data(
        {
            "horizon": {"start_year": 2027, "years": 2, "discount_rate": 0.0},
            "modes": [{"id": "in_house", "sector": "public"}],
            "services": [
                _service("a", (10, 5), (14, 7)),
                _service("b", (8, 4), (11, 6)),
                _service("c", (5, 3), (9, 6)),
            ],
            "constraints": {"budget": 29},
            "objective": "maximise_outcome",
        }
    )


def test_coarseness_is_the_room_over_the_cheapest_variants_in_largest_moves() -> None:
    rows = _script().coarseness(compile_multi_year(_instance()))
    budget = [r for r in rows if r["row"].startswith("budget")]
    assert [r["row"] for r in budget] == ["budget[2027]", "budget[2028]"]
    for row in budget:
        assert row["side"] == "upper"
        assert row["room"] == pytest.approx(29 - (10 + 8 + 5))
        assert row["largest_move"] == pytest.approx(4)
        assert row["moves"] == pytest.approx(1.5)


def test_anatomy_finds_the_optimum_proves_it_from_a_start_and_relaxes_each_family() -> None:
    args = argparse.Namespace(
        seeds=2, gap=1e-9, time_limit=30.0, families=True, family_limit=30.0, year_hull=30.0
    )
    out = _script().anatomy(compile_multi_year(_instance()), args)
    assert out["optimum"] == pytest.approx(30)
    assert out["lp"] == pytest.approx(30 + 2 * 4 / 3)
    assert out["lp_gap"] == pytest.approx((2 * 4 / 3) / 30)
    assert [r["objective"] for r in out["cold"]] == pytest.approx([30, 30])
    assert [r["objective"] for r in out["proof"]] == pytest.approx([30, 30])
    assert out["race_cpu_mean"] == min(r["cpu"] for r in out["cold"])
    (budget,) = [f for f in out["families"] if f["relaxed"] == "budget"]
    # Without the budget every service takes its better variant: 7 + 6 + 6 a year.
    assert budget["objective"] == pytest.approx(2 * 19)
    assert budget["lp_gap"] == pytest.approx(0)
    # The budget is the only row across services and it is yearly: each year's hull of choices
    # within it is the whole problem, so the hull bound is the optimum, not the LP's 32 2/3.
    hull = out["year_hull"]
    assert hull["converged"]
    assert hull["bound"] == pytest.approx(30)
    assert hull["master"] == pytest.approx(30)
