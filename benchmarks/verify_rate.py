"""Seconds the independent verifier takes per model column: the figure behind the time a solve
keeps back from its search for verifying its last plan
(``portfolio.solve.VERIFY_SECONDS_PER_COLUMN``).

    PYTHONPATH=src python benchmarks/verify_rate.py /tmp/scale/full_10000.json [--repeat 3]

Prints one JSON line: the model's columns, each run's seconds to verify today's arrangement
(what a solve times with ``Reserve.verify``, less decoding the column values), the seconds per
column (the least run's), and the constant in use. When the verifier changes, re-measure on a
quiet machine with 10,000 and 100,000 services and set the constant to about the larger figure
under load (the estimate only matters until a solve has timed its first verification).
"""

from __future__ import annotations

import argparse
import json
import time

from portfolio.baseline import current_options
from portfolio.formulation import SinglePeriod
from portfolio.io import load_instance
from portfolio.params import SolveParams
from portfolio.solve import VERIFY_SECONDS_PER_COLUMN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a single-period instance file")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    args = parser.parse_args()
    instance = load_instance(args.file)
    formulation = SinglePeriod.compile(instance, SolveParams())
    today = current_options(instance)
    runs = []
    for _ in range(max(1, args.repeat)):
        began = time.perf_counter()
        formulation.verify(today)
        runs.append(time.perf_counter() - began)
    columns = formulation.model.num_cols
    print(
        json.dumps(
            {
                "file": args.file,
                "columns": columns,
                "seconds": [round(r, 4) for r in runs],
                "seconds_per_column": min(runs) / columns,
                "constant": VERIFY_SECONDS_PER_COLUMN,
            }
        )
    )


if __name__ == "__main__":
    main()
