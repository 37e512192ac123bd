"""Benchmark: planning under funding scenarios (issue 9), and how the extensive form grows.

Cases (default backend ``highs``, 2 cores):

* ``borough``: instances/example_borough_scenarios.yaml (38 services, 5 years, 3 scenarios
  parting in year 2), to optimality (``--gap``, default 1e-4);
* ``random``: random councils (:func:`portfolio.scenarios.generate.random_scenario_data`) of
  ``--services`` services over 5 years with a ``--tree`` of scenarios (``3x3``: 9 scenarios
  parting in years 1 and 2), to 0.1%;
* ``appraise``: ``portfolio appraise`` on the borough with ``--workers`` processes.

For each it reports the model size (columns, rows, tree nodes), the time, the status and the gap
reached, one JSON line per case (``--json FILE`` writes them all).

Usage::

    PYTHONPATH=src python benchmarks/bench_scenarios.py                      # every case
    PYTHONPATH=src python benchmarks/bench_scenarios.py --case random --services 300 --tree 3x3
    PYTHONPATH=src python benchmarks/bench_scenarios.py --case appraise --workers 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from portfolio.domain import Instance
from portfolio.io import load_instance
from portfolio.params import SolveParams
from portfolio.scenarios.appraise import appraise
from portfolio.scenarios.generate import random_scenario_data
from portfolio.solve import solve

ROOT = Path(__file__).resolve().parents[1]
BOROUGH = ROOT / "instances" / "example_borough_scenarios.yaml"


def _solve_case(
    name: str, instance: Instance, gap: float, args: argparse.Namespace
) -> dict[str, Any]:
    params = SolveParams(
        time_limit=args.time_limit, rel_gap=gap, explain_infeasible=False, prefer="none"
    )
    began = time.perf_counter()
    result = solve(instance, backend=args.backend, params=params)
    seconds = time.perf_counter() - began
    return {
        "case": name,
        "columns": result.stats.get("columns"),
        "rows": result.stats.get("rows"),
        "tree_nodes": result.stats.get("tree_nodes"),
        "scenarios": result.stats.get("scenarios"),
        "target_gap": gap,
        "status": result.status.value,
        "gap": result.gap,
        "objective": result.objective,
        "seconds": round(seconds, 2),
        "compile": round(result.timings.compile, 2),
        "detail": result.detail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("borough", "random", "appraise", "all"),
                        default="all")
    parser.add_argument("--backend", default="highs")
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--tree", default="3x3", help="branching per split, e.g. 3x3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gap", type=float, default=None, help="target gap (default per case)")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows = []
    if args.case in ("borough", "all"):
        rows.append(_solve_case("borough", load_instance(BOROUGH), args.gap or 1e-4, args))
        print(json.dumps(rows[-1]), flush=True)
    if args.case in ("random", "all"):
        branching = tuple(int(k) for k in args.tree.split("x"))
        data = random_scenario_data(args.services, branching=branching, seed=args.seed)
        name = f"random {args.services} x 5 x {args.tree}"
        rows.append(_solve_case(name, Instance.from_data(data), args.gap or 1e-3, args))
        print(json.dumps(rows[-1]), flush=True)
    if args.case in ("appraise", "all"):
        began = time.perf_counter()
        result = appraise(
            load_instance(BOROUGH),
            SolveParams(time_limit=args.time_limit, rel_gap=args.gap or 1e-4, prefer="none"),
            backend=args.backend,
            executor="processes",
            workers=args.workers,
        )
        rows.append({
            "case": f"appraise borough, {args.workers} workers",
            "seconds": round(time.perf_counter() - began, 2),
            "evpi": result.evpi,
            "vss": result.vss,
            "value_of_flexibility": result.value_of_flexibility,
            "solves": len(result.solves),
            "slowest": max((s.seconds for s in result.solves), default=0.0),
            "notes": list(result.notes),
        })
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
