"""Seconds the independent verifier takes per model column, the first time and after, and the
seconds building and writing the result take: the figures behind the time a solve keeps back
from its search (``portfolio.solve.Reserve``: ``VERIFY_FIRST_SECONDS``,
``FIRST_TOUCH_SECONDS_PER_COLUMN``, ``VERIFY_SECONDS_PER_COLUMN``, ``OUTPUT_SECONDS_PER_COLUMN``).

    PYTHONPATH=src python benchmarks/verify_rate.py /tmp/scale/full_10000.json [--repeat 3]
        [--output]

Prints one JSON line: the model's columns; each run's seconds to verify today's arrangement
(what a solve times with ``Reserve.verify``, less decoding the column values), the first run
being the process's first verification (its first touch of the option columns); the seconds
per column of the first run and of the least later one; the first run's excess over the later
one (what ``VERIFY_FIRST_SECONDS`` covers); the reserve's first estimate of one verification
(``Reserve(...).verify_seconds``) and the constants in use. With ``--output``, also the
seconds to build the result of a solve of the file (``--prefer none``, gap 1e-4) as data, as
JSON text and to write it to a file, and those per column. The garbage collector is paused as
the ``portfolio solve`` command pauses it. When the verifier or the result changes, re-measure
on a quiet machine with 10,000 and 100,000 services, and under load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from portfolio.baseline import current_options
from portfolio.clock import Clock
from portfolio.formulation import SinglePeriod
from portfolio.io import load_instance
from portfolio.linear import gc_paused
from portfolio.output import json_text
from portfolio.params import SolveParams
from portfolio.solve import (
    FIRST_TOUCH_SECONDS_PER_COLUMN,
    OUTPUT_SECONDS_PER_COLUMN,
    VERIFY_FIRST_SECONDS,
    VERIFY_SECONDS_PER_COLUMN,
    Reserve,
    solve,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a single-period instance file")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--output", action="store_true", help="also time the result's output")
    args = parser.parse_args()
    with gc_paused():
        instance = load_instance(args.file)
        formulation = SinglePeriod.compile(instance, SolveParams())
        today = current_options(instance)
        runs = []
        for _ in range(max(2, args.repeat)):
            began = time.perf_counter()
            formulation.verify(today)
            runs.append(time.perf_counter() - began)
        columns = formulation.model.num_cols
        figures = {
            "file": args.file,
            "columns": columns,
            "seconds": [round(r, 4) for r in runs],
            "first_per_column": runs[0] / columns,
            "seconds_per_column": min(runs[1:]) / columns,
            "first_excess": round(runs[0] - min(runs[1:]), 4),
            "first_estimate": round(
                Reserve(formulation, Clock(time.perf_counter(), None)).verify_seconds, 4),
            "reserve_with_a_limit": round(
                Reserve(formulation, Clock(time.perf_counter(), 60.0)).seconds, 4),
            "constants": {
                "VERIFY_FIRST_SECONDS": VERIFY_FIRST_SECONDS,
                "FIRST_TOUCH_SECONDS_PER_COLUMN": FIRST_TOUCH_SECONDS_PER_COLUMN,
                "VERIFY_SECONDS_PER_COLUMN": VERIFY_SECONDS_PER_COLUMN,
                "OUTPUT_SECONDS_PER_COLUMN": OUTPUT_SECONDS_PER_COLUMN,
            },
        }
        if args.output:
            result = solve(instance, rel_gap=1e-4, prefer="none")
            began = time.perf_counter()
            data = result.to_dict()
            built = time.perf_counter()
            text = json_text(data)
            dumped = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                with open(os.path.join(folder, "result.json"), "w", encoding="utf-8") as out:
                    out.write(text + "\n")
                written = time.perf_counter()
            figures["output"] = {
                "status": result.status.value,
                "result_data": round(built - began, 4),
                "json_text": round(dumped - built, 4),
                "write": round(written - dumped, 4),
                "megabytes": round(len(text) / 1e6, 1),
                "seconds_per_column": (written - began) / columns,
            }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
