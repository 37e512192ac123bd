"""Throughput of batch solving: serial, local processes and a Dask cluster on this machine.

Solves the same instances (default: 200 random instances of 50 services) serially, on a local
pool of 2 processes and on a local Dask cluster of 2 single-threaded worker processes, and
reports throughput (instances per second), speedup over serial, and Dask's per-task overhead
measured two ways:

* ``no-op``: the same machinery (:func:`portfolio.executors.solve_many`) running a task that does
  nothing, so the wall time per task per worker slot is all overhead;
* ``per instance``: ``wall x workers / instances`` minus the mean time each task spent on its
  worker.

Not part of ``pytest tests``. Run::

    PYTHONPATH=src python benchmarks/bench_batch.py [--instances 200] [--services 50]
        [--workers 2] [--repeats 3] [--json out.json]

Other processes on the machine change the figures: repeat, and read the spread.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from portfolio.executors import BatchItem, ItemResult, solve_many
from portfolio.generate import random_instance_data
from portfolio.params import SolveParams


def noop_task(
    name: str, content: str, fmt: str, backend: str, params: SolveParams, source: str
) -> dict[str, Any]:
    """A task that does nothing: what is left of its wall time is the executor's overhead."""
    return {"status": "optimal", "result": None, "seconds": 0.0, "worker": str(os.getpid())}


def make_items(count: int, services: int) -> list[BatchItem]:
    """Random instances as JSON text (what a client sends to its workers)."""
    return [
        BatchItem(f"r{k:04d}", json.dumps(random_instance_data(services, seed=k)), "json")
        for k in range(count)
    ]


def timed(run: Callable[[], list[ItemResult]]) -> tuple[float, list[ItemResult]]:
    """Wall seconds and results of one run."""
    began = time.perf_counter()
    rows = run()
    return time.perf_counter() - began, rows


def check(rows: list[ItemResult], reference: dict[str, float | None] | None) -> None:
    """Every instance solved, and to the same objective as the reference run."""
    bad = [row.name for row in rows if row.error]
    if bad:
        raise SystemExit(f"errors in {len(bad)} instances, e.g. {bad[:3]}")
    if reference is not None:
        wrong = [row.name for row in rows if row.objective != reference[row.name]]
        if wrong:
            raise SystemExit(f"objectives differ from the serial run: {wrong[:5]}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="runs per executor (median used)")
    parser.add_argument("--noop-tasks", type=int, default=400)
    parser.add_argument("--skip-serial", action="store_true")
    parser.add_argument("--skip-single", action="store_true", help="skip the 1-process run")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    items = make_items(args.instances, args.services)
    n, w = args.instances, args.workers
    out: dict[str, Any] = {
        "instances": n,
        "services": args.services,
        "workers": w,
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "runs": {},
    }
    say = print

    # Warm-up in this process (imports, HiGHS start-up) so that serial is not charged for them.
    list(solve_many(items[:2], executor="serial"))

    reference: dict[str, float | None] | None = None
    names = ("serial", "1 process", "processes", "dask")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}

    def record(name: str, seconds: float, rows: list[ItemResult]) -> None:
        slots = 1 if name in ("serial", "1 process") else w
        busy = math.fsum(r.seconds or 0.0 for r in rows)
        cpu = math.fsum(r.cpu_seconds or 0.0 for r in rows)
        runs[name].append(
            {
                "wall": seconds,
                "task_seconds": busy / n,
                "cpu_per_instance": cpu / n,
                "cores_obtained": cpu / seconds,
                "slot_utilisation": busy / (seconds * slots),
                "load_average": os.getloadavg()[0],
            }
        )
        say(
            f"  {name:<9} {seconds:7.2f} s  {n / seconds:6.2f} instances/s  "
            f"cpu {cpu / n:.3f} s/instance  cores obtained {cpu / seconds:.2f}  "
            f"slots busy {busy / (seconds * slots):.1%}"
        )

    for repeat in range(args.repeats):
        say(f"run {repeat + 1}/{args.repeats} (load average {os.getloadavg()[0]:.2f})")
        if not args.skip_serial:
            seconds, rows = timed(lambda: list(solve_many(items, executor="serial")))
            reference = reference or {row.name: row.objective for row in rows}
            check(rows, None)
            record("serial", seconds, rows)
        if not args.skip_single:
            # The single-core baseline with the pooled executors' settings (one solver thread).
            seconds, rows = timed(lambda: list(solve_many(items, executor="processes", workers=1)))
            check(rows, reference)
            record("1 process", seconds, rows)
        seconds, rows = timed(lambda: list(solve_many(items, executor="processes", workers=w)))
        check(rows, reference)
        record("processes", seconds, rows)

    import distributed

    began = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=w,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    client.wait_for_workers(w)
    out["dask_cluster_start_seconds"] = time.perf_counter() - began
    address = cluster.scheduler_address
    try:
        client.run(lambda: __import__("portfolio.solve"))  # warm the workers' imports
        for repeat in range(args.repeats):
            seconds, rows = timed(
                lambda: list(solve_many(items, executor="dask", scheduler=address))
            )
            check(rows, reference)
            say(f"dask run {repeat + 1}/{args.repeats}")
            record("dask", seconds, rows)

        noop = make_noop(args.noop_tasks)

        def run_noop() -> list[ItemResult]:
            return list(solve_many(noop, executor="dask", scheduler=address, task=noop_task))

        noop_dask = [timed(run_noop)[0] for _ in range(3)]
        noop_direct = timed(
            lambda: [noop_task(i.name, "", "json", "", SolveParams(), "") for i in noop]  # type: ignore[misc]
        )[0]
        latencies = []
        for _ in range(50):
            t0 = time.perf_counter()
            client.submit(noop_task, "x", "", "json", "", SolveParams(), "", pure=False).result()
            latencies.append(time.perf_counter() - t0)
    finally:
        client.close()
        cluster.close()

    summary: dict[str, Any] = {}

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    serial = median("serial", "wall") if runs["serial"] else None
    single = median("1 process", "wall") if runs["1 process"] else None
    for name, values in runs.items():
        if not values:
            continue
        wall = median(name, "wall")
        slots = 1 if name in ("serial", "1 process") else w
        per_task = median(name, "task_seconds")
        entry: dict[str, Any] = {
            "runs": values,
            "wall_seconds": wall,
            "throughput": n / wall,
            "speedup": (serial / wall) if serial else None,
            "speedup_over_1_process": (single / wall) if single else None,
            "mean_task_seconds": per_task,
            "overhead_per_task_ms": 1000 * (wall * slots / n - per_task),
            "cpu_per_instance": median(name, "cpu_per_instance"),
            "cores_obtained": median(name, "cores_obtained"),
            "slot_utilisation": median(name, "slot_utilisation"),
        }
        if single and slots > 1:
            # On idle cores a single-threaded task's wall time is its CPU time, so the speedup
            # over one process would be: slots x utilisation x (CPU per instance, 1 process /
            # CPU per instance, here).
            entry["estimated_speedup_on_idle_cores"] = (
                slots
                * entry["slot_utilisation"]
                * median("1 process", "cpu_per_instance")
                / entry["cpu_per_instance"]
            )
        summary[name] = entry
    noop_wall = statistics.median(noop_dask)
    summary["dask_noop"] = {
        "tasks": args.noop_tasks,
        "wall_seconds": noop_dask,
        "overhead_per_task_ms": 1000 * noop_wall * w / args.noop_tasks,
        "direct_call_ms": 1000 * noop_direct / args.noop_tasks,
        "round_trip_latency_ms": 1000 * statistics.median(latencies),
    }
    out["runs"] = summary
    out["load_average_after"] = os.getloadavg()

    say("")
    say(f"{n} instances of {args.services} services, {w} workers, {os.cpu_count()} cores")
    say(
        f"{'executor':<10} {'wall s':>7} {'inst/s':>7} {'vs serial':>9} {'vs 1 proc':>9} "
        f"{'task s':>7} {'ovh ms':>7} {'cpu s':>7} {'cores':>6} {'busy':>6} {'idle-core est':>13}"
    )
    for name in names:
        if name in summary:
            row = summary[name]
            speedup = f"{row['speedup']:.2f}x" if row["speedup"] else "-"
            scaling = f"{row['speedup_over_1_process']:.2f}x" if single else "-"
            estimate = row.get("estimated_speedup_on_idle_cores")
            say(
                f"{name:<10} {row['wall_seconds']:7.2f} {row['throughput']:7.2f} {speedup:>9} "
                f"{scaling:>9} {row['mean_task_seconds']:7.3f} {row['overhead_per_task_ms']:7.1f} "
                f"{row['cpu_per_instance']:7.3f} {row['cores_obtained']:6.2f} "
                f"{row['slot_utilisation']:6.1%} {f'{estimate:.2f}x' if estimate else '-':>13}"
            )
    no = summary["dask_noop"]
    say(
        f"dask no-op tasks: {no['overhead_per_task_ms']:.1f} ms per task per worker slot "
        f"(pipelined, {args.noop_tasks} tasks), round trip of one task "
        f"{no['round_trip_latency_ms']:.1f} ms, direct call {no['direct_call_ms']:.4f} ms"
    )
    say(f"dask cluster start: {out['dask_cluster_start_seconds']:.1f} s (not in the timings)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
    return 0


def make_noop(count: int) -> list[BatchItem]:
    """Items for the no-op task (the content is not read)."""
    return [BatchItem(f"n{k:05d}", "{}", "json") for k in range(count)]


if __name__ == "__main__":
    sys.exit(main())
