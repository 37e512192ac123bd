"""Time the library path, ``portfolio.solve(path)``, and the cyclic garbage collector's passes
during it: how many passes of each generation ran, the seconds they took and the objects they
freed.

    PYTHONPATH=src python benchmarks/library_gc.py /tmp/scale/full_100000.json [--gap 1e-4]
        [--prefer none] [--time-limit 60]

Prints one JSON line: the wall seconds of the call, the result's status and ``timings``, and
per generation the passes, their seconds and the objects they collected (``gc.callbacks``).
``portfolio solve`` pauses the collector for the whole command; the library pauses it for the
parts of a solve that build many objects that form no cycles.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from typing import Any

import portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an instance file")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--prefer", default="none")
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args()
    passes = {generation: {"passes": 0, "seconds": 0.0, "collected": 0} for generation in range(3)}
    began: list[float] = []

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
            return
        record = passes[int(info["generation"])]
        record["passes"] += 1
        record["seconds"] += time.perf_counter() - began.pop()
        record["collected"] += int(info["collected"])

    gc.callbacks.append(timed)
    start = time.perf_counter()
    result = portfolio.solve(
        args.file, rel_gap=args.gap, prefer=args.prefer, time_limit=args.time_limit
    )
    wall = time.perf_counter() - start
    gc.callbacks.remove(timed)
    print(
        json.dumps(
            {
                "file": args.file,
                "wall": round(wall, 2),
                "status": result.status.value,
                "timings": {k: round(v, 2) for k, v in result.timings.to_dict().items()},
                "gc": {
                    str(generation): {**record, "seconds": round(float(record["seconds"]), 3)}
                    for generation, record in passes.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
