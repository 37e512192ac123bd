"""Where a multi-year model's proof spends its work: the measurements behind issue 13's account of
the example borough (optimal to 1e-7), for any multi-year instance.

HiGHS alone (one thread, the compiled model, no start heuristics) is run:

* ``cold``: from scratch, once per HiGHS ``random_seed``: CPU seconds, wall seconds, nodes and
  simplex iterations. CPU seconds are reported because this machine is shared: a loaded
  machine stretches the wall clock, not the work.
* ``proof``: the same seeds given the optimum found by the cold runs as a start: what proving
  optimality costs once the best plan is known (``cold - proof`` is what finding it costs).
* ``race``: the expected CPU seconds of the faster of two different seeds run side by side (the
  mean, over every pair of the measured seeds, of the pair's minimum), against one seed's mean.
* ``coarseness``: for each yearly row over activity columns only (budget, limits, capacity...),
  the room the row leaves over every service's least-using choice that year (each service is in
  exactly one option a year), and that room over the largest single move (an option's excess
  over its service's least-using one). A room of one to three moves with three options a service
  is a coarse knapsack: the LP fills it with fractions of moves no plan can make, and its bound
  sits far above the optimum (the example borough: budget 1.4-3.6 moves, carbon 1.0-3.4;
  random instances of its size 3.8-6.2, of 300 services 11-17).
* ``year_hull`` (``--year-hull SECONDS``): the bound of the LP in which each year's rows over
  activities (budget, limits, shares, capacity, bundles...) are replaced by the convex hull of
  that year's feasible choices (one option per service meeting every such row of the year),
  found by column generation (Dantzig-Wolfe, one pricing MIP per year) from the optimum's
  choices; ``master`` is the restricted master's value (at most the hull bound) and ``bound`` the
  best Lagrangian bound (at least it). On the example borough (optimum 11961.18, LP 12023.06)
  it lies in [11974.1, 11977.4] after 260 rounds (14 minutes at load 5-8): the years' own rows
  taken together hold 74-79% of the LP's gap, more than the row-by-row cuts of the solvers reach
  (HiGHS's root bound is 11988-11996); the rest (0.11-0.14%) is in the rows across years.
* ``families`` (``--families``): each yearly row family relaxed in turn: the LP bound, the
  optimum and the LP's distance from it without that family, and the nodes HiGHS needs (seed 0,
  under ``--family-limit``). A family whose removal closes the model at the root is what makes
  it hard.

Usage::

    PYTHONPATH=src python benchmarks/anatomy_multiyear.py \
        instances/example_borough_multiyear.yaml --seeds 6 --families
    PYTHONPATH=src python benchmarks/anatomy_multiyear.py --services 38 --years 5 --seeds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import time
from typing import Any

import numpy as np

from portfolio.backends.base import SolveRequest
from portfolio.backends.highs import HighsBackend, new_highs
from portfolio.io import load_instance
from portfolio.linear import FloatArray, IntArray, LinearModel, Sense
from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.generate import random_multi_year_instance
from portfolio.params import SolveParams
from portfolio.result import BackendResult

#: Row families of the network itself (not yearly limits): never relaxed by ``--families``.
NETWORK = frozenset(
    {"flow", "activity", "arrangement", "used_link", "setup_link", "setup_first", "setup_once"}
)


def highs_for(
    model: LinearModel,
    *,
    seed: int = 0,
    gap: float = 1e-7,
    time_limit: float = 120.0,
    relax: bool = False,
    start: FloatArray | None = None,
) -> Any:
    """A one-thread ``Highs`` holding ``model`` and ``start``, quiet, built by the HiGHS
    backend's own :meth:`~portfolio.backends.highs.HighsBackend.translate` (the same model and
    options a solve passes), not yet run."""
    options: dict[str, Any] = {"solve_relaxation": True} if relax else {}
    params = SolveParams(rel_gap=gap, seed=seed, threads=1, backend_options=options)
    request = SolveRequest(
        model=model,
        params=params,
        time_limit=time_limit,
        start=start,
        interrupt=None,
        relax=relax,
        began=time.perf_counter(),
    )
    h = HighsBackend().translate(request)
    if isinstance(h, BackendResult):
        raise RuntimeError(f"HiGHS rejected the model: {h.detail}")
    return h


def measured(h: Any) -> dict[str, Any]:
    """Run ``h``; its CPU and wall seconds, status, objective, bound, nodes and iterations."""
    wall, cpu = time.perf_counter(), time.process_time()
    h.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    info = h.getInfo()
    return {
        "cpu": round(cpu, 2),
        "wall": round(wall, 2),
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": info.objective_function_value,
        "bound": info.mip_dual_bound,
        "nodes": int(info.mip_node_count),
        "iterations": int(info.simplex_iteration_count),
    }


def lp_bound(model: LinearModel) -> float:
    """The LP relaxation's optimal value."""
    h = highs_for(model, relax=True)
    h.run()
    return float(h.getInfo().objective_function_value)


def race(cpu: list[float]) -> float | None:
    """The mean, over every pair of measured seeds, of the pair's smaller CPU time."""
    pairs = [min(a, b) for a, b in itertools.combinations(cpu, 2)]
    return round(statistics.mean(pairs), 2) if pairs else None


def without(model: LinearModel, family: str) -> LinearModel:
    """``model`` with every row of ``family`` (a block's ``family``, e.g. ``limits[1]``) free."""
    lower, upper = model.row_lower.copy(), model.row_upper.copy()
    for block in model.blocks:
        if block.family == family:
            lower[block.start : block.stop] = -np.inf
            upper[block.start : block.stop] = np.inf
    return dataclasses.replace(model, row_lower=lower, row_upper=upper)


def coarseness(compiled: MultiYearModel) -> list[dict[str, Any]]:
    """Per yearly row over activity columns only, and per finite side: the room left over each
    service's least-using choice of its year and the largest single move (see the module
    docstring). A ``>=`` side is read as ``-row <= -lower``."""
    model, layout = compiled.model, compiled.layout
    first, stop = layout.act_offset, layout.z_offset
    group = np.asarray(layout.act_service) * compiled.table.years + np.asarray(layout.act_year)
    matrix = model.matrix.tocsr()
    out = []
    for block in model.blocks:
        if block.kind in NETWORK:
            continue
        for row in range(block.start, block.stop):
            cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
            if cols.size < 2 or bool(((cols < first) | (cols >= stop)).any()):
                continue
            # Every activity column of each (service, year) the row reads: absent ones count 0.
            groups = np.unique(group[cols - first])
            members = np.flatnonzero(np.isin(group, groups))
            coef = np.zeros(members.size)
            coef[np.searchsorted(members, cols - first)] = matrix.data[
                matrix.indptr[row] : matrix.indptr[row + 1]
            ]
            _, where = np.unique(group[members], return_inverse=True)
            usable = model.col_upper[members + first] > 0  # a column fixed at 0 is no choice
            for side, bound in ((1.0, model.row_upper[row]), (-1.0, -model.row_lower[row])):
                if not np.isfinite(bound):
                    continue
                use = side * coef
                least = np.full(groups.size, np.inf)
                np.minimum.at(least, where, np.where(usable, use, np.inf))
                excess = np.where(usable, use - least[where], 0.0)
                room = float(bound - least.sum())
                largest = float(excess.max())
                if largest <= 0:
                    continue
                out.append(
                    {
                        "row": model.row_name(row),
                        "side": "upper" if side > 0 else "lower",
                        "room": round(room, 3),
                        "largest_move": round(largest, 3),
                        "moves": round(room / largest, 2),
                    }
                )
    return out


def year_hull(
    compiled: MultiYearModel, start: FloatArray, seconds: float, rounds: int = 100_000
) -> dict[str, Any]:
    """The per-year hull bound of the module docstring, by column generation from ``start`` (a
    feasible plan, whose yearly choices are the first columns), for ``seconds`` or ``rounds``."""
    import highspy

    model, layout = compiled.model, compiled.layout
    first, stop = layout.act_offset, layout.z_offset
    act_year = np.asarray(layout.act_year)
    act_service = np.asarray(layout.act_service)
    years = compiled.table.years
    matrix = model.matrix.tocsr()
    year_of_row = np.full(model.num_rows, -1)
    for row in range(model.num_rows):
        cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        if cols.size and not bool(((cols < first) | (cols >= stop)).any()):
            found = np.unique(act_year[cols - first])
            if found.size == 1:
                year_of_row[row] = found[0]
    inf = highspy.kHighsInf
    # The master minimises sign * objective: each activity is the sum of its year's columns.
    sign = -1.0 if model.sense is Sense.MAXIMISE else 1.0
    keep = np.flatnonzero(year_of_row < 0)
    kept = matrix[keep]
    master = new_highs()
    master.setOptionValue("output_flag", False)
    master.passModel(
        model.num_cols, keep.size, int(kept.nnz), int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize), sign * float(model.objective_offset),
        sign * model.objective, model.col_lower, model.col_upper,
        np.clip(model.row_lower[keep], -inf, inf), np.clip(model.row_upper[keep], -inf, inf),
        kept.indptr.astype(np.int32), kept.indices.astype(np.int32), kept.data,
        np.zeros(model.num_cols, dtype=np.int32),
    )
    num_act = stop - first
    for j in range(num_act):
        master.addRow(0.0, 0.0, 1, np.array([first + j], dtype=np.int32), np.array([1.0]))
    for _ in range(years):
        master.addRow(1.0, 1.0, 0, np.zeros(0, dtype=np.int32), np.zeros(0))

    def add_column(year: int, chosen: IntArray) -> None:
        rows = np.concatenate([keep.size + chosen, [keep.size + num_act + year]])
        values = np.concatenate([-np.ones(chosen.size), [1.0]])
        master.addCol(0.0, 0.0, inf, rows.size, rows.astype(np.int32), values)

    def price(year: int, cost: FloatArray) -> tuple[float, IntArray] | None:
        acts = np.flatnonzero(act_year == year)
        rows = np.flatnonzero(year_of_row == year)
        sub = matrix[rows][:, first + acts].tocsr()
        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.passModel(
            acts.size, rows.size, int(sub.nnz), int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMinimize), 0.0, cost[acts],
            model.col_lower[first + acts], model.col_upper[first + acts],
            np.clip(model.row_lower[rows], -inf, inf), np.clip(model.row_upper[rows], -inf, inf),
            sub.indptr.astype(np.int32), sub.indices.astype(np.int32), sub.data,
            np.ones(acts.size, dtype=np.int32),
        )
        for service in np.unique(act_service[acts]):  # one option per service
            own = np.flatnonzero(act_service[acts] == service).astype(np.int32)
            h.addRow(1.0, 1.0, own.size, own, np.ones(own.size))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        chosen = acts[np.asarray(h.getSolution().col_value)[: acts.size] > 0.5]
        return float(h.getInfo().objective_function_value), chosen

    for year in range(years):
        add_column(year, np.flatnonzero((act_year == year) & (start[first:stop] > 0.5)))
    began = time.perf_counter()
    best, value, done = -np.inf, np.nan, 0
    converged = False
    while done < rounds and time.perf_counter() - began < seconds:
        master.run()
        if master.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        value = float(master.getInfo().objective_function_value)
        duals = np.asarray(master.getSolution().row_dual)
        link = duals[keep.size : keep.size + num_act]
        convexity = duals[keep.size + num_act :]
        lagrangian, added = value, 0
        for year in range(years):
            priced = price(year, link)
            if priced is None:
                return {"rounds": done, "error": f"year {year}'s pricing did not solve"}
            reduced = priced[0] - convexity[year]
            lagrangian += min(0.0, reduced)
            if reduced < -1e-7 * max(1.0, abs(value)):
                add_column(year, priced[1])
                added += 1
        best = max(best, lagrangian)
        done += 1
        if not added:
            converged = True
            break
    return {
        "rounds": done,
        "seconds": round(time.perf_counter() - began, 2),
        "converged": converged,
        "master": sign * value,
        "bound": sign * best,
    }


def anatomy(compiled: MultiYearModel, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of the module docstring for one compiled model."""
    model = compiled.model
    lp = lp_bound(model)
    cold = []
    best: tuple[float, FloatArray] | None = None
    for seed in range(args.seeds):
        h = highs_for(model, seed=seed, gap=args.gap, time_limit=args.time_limit)
        run = measured(h)
        cold.append({"seed": seed, **run})
        value = np.asarray(h.getSolution().col_value, dtype=np.float64)
        if h.getInfo().primal_solution_status == 2 and model.accepts(value):
            better = best is None or (
                run["objective"] > best[0]
                if model.sense is Sense.MAXIMISE
                else run["objective"] < best[0]
            )
            if better:
                best = (float(run["objective"]), value)
        print("cold ", json.dumps(cold[-1]), flush=True)
    proof = []
    if best is not None:
        for seed in range(args.seeds):
            h = highs_for(model, seed=seed, gap=args.gap, time_limit=args.time_limit, start=best[1])
            proof.append({"seed": seed, **measured(h)})
            print("proof", json.dumps(proof[-1]), flush=True)
    optimum = None if best is None else best[0]
    out: dict[str, Any] = {
        "columns": model.num_cols,
        "rows": model.num_rows,
        "lp": lp,
        "optimum": optimum,
        "lp_gap": None if optimum is None else abs(lp - optimum) / max(1.0, abs(optimum)),
        "cold": cold,
        "proof": proof,
        "cold_cpu_mean": round(statistics.mean(r["cpu"] for r in cold), 2) if cold else None,
        "proof_cpu_mean": round(statistics.mean(r["cpu"] for r in proof), 2) if proof else None,
        "race_cpu_mean": race([r["cpu"] for r in cold]),
        "options_per_service_year": round(
            compiled.layout.num_act / (compiled.table.num_services * compiled.table.years), 2
        ),
        "coarseness": coarseness(compiled),
    }
    if args.year_hull and best is not None:
        out["year_hull"] = year_hull(compiled, best[1], args.year_hull)
        print("year_hull", json.dumps(out["year_hull"]), flush=True)
    if args.families:
        kinds = sorted({b.family for b in model.blocks if b.kind not in NETWORK})
        out["families"] = []
        for kind in kinds:
            relaxed = without(model, kind)
            run = measured(highs_for(relaxed, gap=args.gap, time_limit=args.family_limit))
            bound = lp_bound(relaxed)
            entry = {
                "relaxed": kind,
                "lp": bound,
                "lp_gap": abs(bound - run["objective"]) / max(1.0, abs(run["objective"])),
                **run,
            }
            out["families"].append(entry)
            print("family", json.dumps(entry), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print; write everything to ``--json`` when asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instance", nargs="?", help="a multi-year instance file")
    parser.add_argument("--services", type=int, default=38, help="random instance (no file)")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--instance-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=4, help="HiGHS random seeds (default 4)")
    parser.add_argument("--gap", type=float, default=1e-7)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--families", action="store_true", help="relax each row family in turn")
    parser.add_argument("--family-limit", type=float, default=60.0)
    parser.add_argument(
        "--year-hull", type=float, default=0.0, metavar="SECONDS",
        help="also the per-year hull bound, by column generation for SECONDS",
    )
    parser.add_argument("--json", help="write the measurements to this JSON file")
    args = parser.parse_args(argv)
    if args.instance:
        instance = load_instance(args.instance)
    else:
        instance = random_multi_year_instance(
            args.services, years=args.years, seed=args.instance_seed
        )
    out = anatomy(compile_multi_year(instance), args)
    summary = {k: v for k, v in out.items() if k not in ("cold", "proof", "families")}
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
