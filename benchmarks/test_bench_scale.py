"""Scale benchmarks (pytest-benchmark): read, compile, solve, verify and end to end.

Seeded random council-like instances (:func:`portfolio.generate.random_instance_data`) with 1k,
10k and 100k services and 6-8 options each, in two variants: ``plain`` (budget, transition budget,
flexibility and capacity rows) and ``full`` (plus setup costs with linking rows, sector shares and
bundles). Not part of ``pytest tests``; run them with::

    PYTHONPATH=src pytest benchmarks --benchmark-only                  # everything (minutes)
    PYTHONPATH=src pytest benchmarks --benchmark-only -m "not slow"    # without 100k

Each solve must return a verified plan; its figures (status, gap, whether the requested gap was
reached, stage timings) are stored in the benchmark's ``extra_info`` (``--benchmark-json``), and a
missed gap is reported as a warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import portfolio.io
from portfolio.columnar import columns_of, option_columns
from portfolio.compile import compile_instance
from portfolio.domain import Instance, UnbuiltOptions, current_option_index
from portfolio.generate import random_instance_data
from portfolio.io import load_instance
from portfolio.params import SolveParams
from portfolio.result import SolveResult
from portfolio.solve import solve
from portfolio.verify import verify_plan

BACKEND = "highs"
#: Seconds any one solve may take (twice the largest target, 60 s at 100k). A solver that overruns
#: is abandoned by portfolio's deadline but keeps a core busy: a higher limit would slow the rest.
SOLVE_LIMIT = 120.0
#: Timed rounds per stage, by size: large instances are timed once.
ROUNDS = {1_000: 5, 10_000: 3, 100_000: 1}
VARIANTS: dict[str, dict[str, bool]] = {
    "plain": {},
    "full": {"setup_costs": True, "sector_shares": True, "bundles": True},
}


@dataclass
class Case:
    """One generated instance, its file, and a plan once solved."""

    size: int
    variant: str
    path: Path
    instance: Instance
    plans: dict[float, list[int]] = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        """Timed rounds for quick stages."""
        return ROUNDS[self.size]


def _cases() -> list[Any]:
    params = []
    for size, label in ((1_000, "1k"), (10_000, "10k"), (100_000, "100k")):
        for variant in VARIANTS:
            marks = [pytest.mark.slow] if size >= 100_000 else []
            params.append(pytest.param((size, variant), id=f"{label}-{variant}", marks=marks))
    return params


@pytest.fixture(scope="module", params=_cases())
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """The instance for one (size, variant), written to a JSON file once."""
    size, variant = request.param
    data = random_instance_data(size, seed=0, options=(6, 8), **VARIANTS[variant])
    path = tmp_path_factory.mktemp("scale") / f"random_{size}_{variant}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return Case(size, variant, path, load_instance(path))


def _info(benchmark: Any, case: Case, result: SolveResult | None = None) -> None:
    benchmark.extra_info.update(
        {
            "services": case.size,
            "variant": case.variant,
            "options": option_columns(case.instance).num_options,
            "peak_rss_mb": _peak_rss_mb(),
        }
    )
    if result is not None:
        benchmark.extra_info.update(
            {
                "status": result.status.value,
                "objective": result.objective,
                "bound": result.bound,
                "gap": result.gap,
                "timings": result.timings.to_dict(),
                "detail": result.detail,
            }
        )


def _current(service: Any) -> int:
    index = current_option_index(service)
    return 0 if index is None else index


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where not measurable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _check(benchmark: Any, result: SolveResult, rel_gap: float) -> None:
    """A verified plan is required; missing the gap is recorded (and warned), not a failure.

    The gap is a performance target, not a correctness check: failing on it would stop
    ``make bench`` before the validation suites run.
    """
    assert result.verified, (result.status, result.detail)
    within = result.gap is not None and result.gap <= rel_gap * 1.0001 + 1e-12
    benchmark.extra_info["within_gap"] = within
    if not within:
        warnings.warn(
            f"gap {result.gap} above the requested {rel_gap:g} ({result.status.value}, "
            f"{result.timings.total:.1f} s): {result.detail}",
            stacklevel=2,
        )


def _run_once(benchmark: Any, rounds: int, fn: Callable[[], Any]) -> Any:
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


def test_read(benchmark: Any, case: Case) -> None:
    """JSON file -> validated Instance (the fast reader, portfolio.columnar)."""
    instance = _run_once(benchmark, case.rounds, lambda: load_instance(case.path))
    _info(benchmark, case)
    assert len(instance.services) == case.size
    assert columns_of(instance) is not None, "the fast reader refused a generated file"
    assert all(type(s.__dict__["options"]) is UnbuiltOptions for s in instance.services), (
        "reading built option objects")


def test_read_full_path(benchmark: Any, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON file -> validated Instance by the full pydantic path (the fast reader off): the
    route every file the fast reader does not accept takes."""
    monkeypatch.setattr(portfolio.io, "read_json", lambda raw, source: None)
    instance = _run_once(benchmark, case.rounds, lambda: load_instance(case.path))
    _info(benchmark, case)
    assert instance == case.instance


@pytest.mark.parametrize("stages", ["read", "read_and_compile"])
def test_read_and_compile_memory(benchmark: Any, case: Case, stages: str) -> None:
    """Peak resident memory of reading (and compiling) the file in a fresh process
    (``benchmarks/rss_read_compile.py``; issue 13: 100k services well under 1 GB)."""
    script = Path(__file__).with_name("rss_read_compile.py")
    flags = ["--read-only"] if stages == "read" else []

    def run() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, str(script), str(case.path), *flags],
            capture_output=True, text=True, check=True, timeout=600,
        )
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return figures

    figures = _run_once(benchmark, 1, run)
    _info(benchmark, case)
    benchmark.extra_info.update(figures)
    assert figures["services"] == case.size


def test_compile(benchmark: Any, case: Case) -> None:
    """Instance -> LinearModel (with portfolio's reductions)."""
    compiled = _run_once(benchmark, case.rounds, lambda: compile_instance(case.instance))
    _info(benchmark, case)
    benchmark.extra_info["columns"] = compiled.model.num_cols
    benchmark.extra_info["rows"] = compiled.model.num_rows


@pytest.mark.parametrize("rel_gap", [1e-5, 1e-4], ids=["gap1e-5", "gap1e-4"])
def test_solve(benchmark: Any, case: Case, rel_gap: float) -> None:
    """Compile, heuristic, solve and verify on HiGHS (instance already in memory)."""
    params = SolveParams(rel_gap=rel_gap, time_limit=SOLVE_LIMIT)
    rounds = 1 if case.size >= 10_000 else 3
    result: SolveResult = _run_once(
        benchmark, rounds, lambda: solve(case.instance, backend=BACKEND, params=params)
    )
    _info(benchmark, case, result)
    _check(benchmark, result, rel_gap)
    assert result.plan is not None
    case.plans[rel_gap] = list(result.plan.options.values())


def test_verify(benchmark: Any, case: Case) -> None:
    """The independent checker on a solved plan (today's arrangement if no solve gave one).

    The checker does the same work whether or not the plan breaks a limit, so when
    ``test_solve`` found no plan the current option of every service is timed instead.
    """
    positions = next(iter(case.plans.values()), None)
    if positions is None:
        positions = [_current(service) for service in case.instance.services]
    verdict = _run_once(benchmark, case.rounds, lambda: verify_plan(case.instance, positions))
    _info(benchmark, case)
    benchmark.extra_info["plan_ok"] = verdict.ok
    assert len(verdict.plan.choices) == case.size


@pytest.mark.parametrize("rel_gap", [1e-4], ids=["gap1e-4"])
def test_end_to_end(benchmark: Any, case: Case, rel_gap: float) -> None:
    """File to verified plan: read, validate, compile, solve, verify."""
    params = SolveParams(rel_gap=rel_gap, time_limit=SOLVE_LIMIT)
    rounds = 1 if case.size >= 10_000 else 3
    result: SolveResult = _run_once(
        benchmark, rounds, lambda: solve(case.path, backend=BACKEND, params=params)
    )
    _info(benchmark, case, result)
    _check(benchmark, result, rel_gap)


@pytest.mark.parametrize("rel_gap", [1e-4, 1e-6], ids=["gap1e-4", "gap1e-6"])
def test_lagrangian(benchmark: Any, case: Case, rel_gap: float) -> None:
    """The Lagrangian bound and start alone (:func:`portfolio.lagrange.lagrangian`, with HiGHS
    for its fixed MIP), on the compiled model, in at most 30 s: its bound, its plan's gap to it,
    and its steps are recorded."""
    from portfolio.backends import get_backend
    from portfolio.formulation import SinglePeriod
    from portfolio.lagrange import lagrangian

    formulation = SinglePeriod.compile(case.instance, SolveParams())
    params = SolveParams(rel_gap=rel_gap)
    found = _run_once(
        benchmark,
        1,
        lambda: lagrangian(
            formulation.compiled, 30.0, rel_gap=rel_gap, solver=get_backend(BACKEND),
            params=params,
        ),
    )
    _info(benchmark, case)
    assert found.bound is not None
    assert found.x is not None
    verdict = formulation.check(found.x)
    assert verdict.ok, verdict.violations
    value = float(verdict.plan.objective)
    gap = abs(found.bound - value) / max(1.0, abs(value))
    benchmark.extra_info.update(
        {"bound": found.bound, "objective": value, "gap": gap, "steps": found.steps,
         "seconds": found.seconds, "within_gap": gap <= rel_gap, "detail": found.note}
    )


@pytest.mark.parametrize("limit", [3.0], ids=["limit3s"])
def test_short_limit(benchmark: Any, case: Case, limit: float) -> None:
    """A time limit too short for the LP phase (instance in memory): a verified plan is still
    returned (by the Lagrangian or greedy start) when the instance is large enough for them."""
    params = SolveParams(rel_gap=1e-6, time_limit=limit, prefer="none")
    result: SolveResult = _run_once(
        benchmark, 1, lambda: solve(case.instance, backend=BACKEND, params=params)
    )
    _info(benchmark, case, result)
    benchmark.extra_info["has_plan"] = result.has_plan
    if not result.has_plan:
        warnings.warn(f"no plan within {limit:g} s: {result.detail}", stacklevel=2)
