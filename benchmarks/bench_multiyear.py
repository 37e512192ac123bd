"""Benchmark: multi-year planning at the size a council needs, and how it grows.

Random council-like instances (:func:`portfolio.multiyear.generate.random_multi_year_data`: 6-8
contract options per service, a budget falling each year, existing contracts locking 40% of the
services, lead times and indexation on procured options) are solved by a backend (default
``highs``) to a relative gap (default 0.1%) under a time limit (default 60 s). For each size the
script reports the model size, the time to the gap (or the gap reached at the limit), the status
and the objective.

Usage::

    PYTHONPATH=src python benchmarks/bench_multiyear.py                 # the full grid
    PYTHONPATH=src python benchmarks/bench_multiyear.py --services 300 --years 5
    PYTHONPATH=src python benchmarks/bench_multiyear.py --json bench-multiyear.json
    PYTHONPATH=src python benchmarks/bench_multiyear.py --instance \
        instances/example_borough_multiyear.yaml --gap 1e-7

The grid: 300 services x 5 years (the target), services 100/300/1000 at 5 years, years 3/5/7 at
300 services, each for ``--seeds`` seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from portfolio.backends import get_backend
from portfolio.io import load_instance
from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.generate import random_multi_year_instance
from portfolio.multiyear.lagrange import describe, lagrangian_start
from portfolio.params import SolveParams
from portfolio.result import relative_gap
from portfolio.solve import solve

GRID: tuple[tuple[int, int], ...] = ((100, 5), (300, 5), (1000, 5), (300, 3), (300, 7))


def run_one(services: int, years: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Build, compile and solve one instance; the figures of the run."""
    began = time.perf_counter()
    if args.instance:
        instance = load_instance(args.instance)
        services = len(instance.services)
        years = instance.horizon.years if instance.horizon else 1
    else:
        instance = random_multi_year_instance(services, years=years, seed=seed)
    built = time.perf_counter() - began
    t0 = time.perf_counter()
    compiled = compile_multi_year(instance)
    compile_seconds = time.perf_counter() - t0
    params = SolveParams(
        time_limit=args.time_limit,
        rel_gap=args.gap,
        threads=args.threads,
        heuristic=not args.no_heuristic,
        explain_infeasible=False,
        prefer=args.prefer,
    )
    result = solve(instance, backend=args.backend, params=params)
    extra = relaxations(compiled, args) if args.relaxations else {}
    return {
        **extra,
        "services": services,
        "years": years,
        "seed": seed,
        "columns": compiled.model.num_cols,
        "rows": compiled.model.num_rows,
        "nonzeros": compiled.model.num_nonzeros,
        "arcs": compiled.layout.num_arcs,
        "build_seconds": round(built, 3),
        "compile_seconds": round(compile_seconds, 3),
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "seconds": round(result.timings.total, 2),
        "verified": result.verified,
        "detail": result.detail,
    }


def relaxations(compiled: MultiYearModel, args: argparse.Namespace) -> dict[str, Any]:
    """The LP relaxation (HiGHS, by simplex) against the Lagrangian start run to convergence:
    seconds and values of each, and the Lagrangian plan's gap to its bound."""
    t0 = time.perf_counter()
    lp = get_backend("highs").solve(
        compiled.model,
        SolveParams(threads=args.threads, backend_options={"solver": "simplex"}),
        time_limit=args.time_limit,
        relax=True,
    )
    lp_seconds = time.perf_counter() - t0
    found = lagrangian_start(compiled, None, rel_gap=args.gap / 2, threads=args.threads)
    plan = None if found.x is None else compiled.model.objective_value(found.x)
    return {
        "lp_status": lp.status.value,
        "lp_bound": lp.objective,
        "lp_seconds": round(lp_seconds, 2),
        "lagrangian": describe(found),
        "lagrangian_plan": plan,
        "lagrangian_gap": None
        if plan is None or found.bound is None
        else relative_gap(plan, found.bound),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per run (and a JSON file when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, nargs="*", help="services (default: the grid)")
    parser.add_argument("--years", type=int, nargs="*", help="years (default: the grid)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per size (default 3)")
    parser.add_argument("--backend", default="highs")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--prefer",
        choices=("changes", "none"),
        default="changes",
        help="the tie-break phase (default changes, as solve; none measures the solve alone)",
    )
    parser.add_argument("--no-heuristic", action="store_true", help="skip the LP-guided start")
    parser.add_argument(
        "--instance", help="solve this file (e.g. the example borough) instead of the grid"
    )
    parser.add_argument("--json", help="write every run to this JSON file")
    parser.add_argument(
        "--relaxations",
        action="store_true",
        help="also time the LP relaxation and the Lagrangian start alone (in the JSON file)",
    )
    args = parser.parse_args(argv)

    if args.instance:
        grid = [(0, 0)]
        args.seeds = 1
    elif args.services or args.years:
        grid = [(s, y) for s in (args.services or [300]) for y in (args.years or [5])]
    else:
        grid = list(GRID)
    runs = []
    print(
        f"{'services':>8} {'years':>5} {'seed':>4} {'columns':>8} {'rows':>7} {'nnz':>8} "
        f"{'status':>9} {'seconds':>8} {'gap':>9}"
    )
    for services, years in grid:
        for seed in range(args.seeds):
            run = run_one(services, years, seed, args)
            runs.append(run)
            gap = "-" if run["gap"] is None else f"{run['gap']:.2e}"
            print(
                f"{run['services']:>8} {run['years']:>5} {seed:>4} {run['columns']:>8} "
                f"{run['rows']:>7} {run['nonzeros']:>8} {run['status']:>9} "
                f"{run['seconds']:>8.2f} {gap:>9}",
                flush=True,
            )
    if args.instance:
        grid = [(runs[0]["services"], runs[0]["years"])]
    print()
    print(f"{'services':>8} {'years':>5} {'median s':>9} {'max s':>7} {'worst gap':>10}")
    for services, years in grid:
        group = [r for r in runs if r["services"] == services and r["years"] == years]
        gaps = [r["gap"] for r in group if r["gap"] is not None]
        worst = f"{max(gaps):.2e}" if gaps else "-"
        seconds = [r["seconds"] for r in group]
        print(
            f"{services:>8} {years:>5} {statistics.median(seconds):>9.2f} "
            f"{max(seconds):>7.2f} {worst:>10}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(runs, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
