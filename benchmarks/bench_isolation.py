"""What running solver work in a solver process costs (``SolveParams.isolation``).

For each instance: the round trip of the compiled model to a solver process and back (the
transfer alone), and the same solve run in this process and in a solver process, alternately,
``--repeat`` times each (medians). Usage::

    PYTHONPATH=src python benchmarks/bench_isolation.py [--repeat 5] [--services 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portfolio import solve
from portfolio.backends import get_backend
from portfolio.backends.isolated import call_in_child, echo, isolated, portable
from portfolio.formulation import SinglePeriod
from portfolio.generate import random_instance
from portfolio.io import load_instance
from portfolio.params import SolveParams

EXAMPLE = Path(__file__).resolve().parents[1] / "instances" / "example_borough.yaml"


def _median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _pair(here: Callable[[], Any], there: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Medians of two callables run alternately (so that machine load hits both alike)."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, out in ((here, a), (there, b)):
            began = time.perf_counter()
            fn()
            out.append(time.perf_counter() - began)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    """Print one line per measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args()

    call_in_child(echo, (0,), {}, interrupt=None, kill_at=None)  # start the pool
    empty = _median(lambda: call_in_child(echo, (0,), {}, interrupt=None, kill_at=None), 20)
    print(f"empty call round trip: {empty * 1e3:.2f} ms")

    highs = get_backend("highs")
    for label, instance in (
        ("example borough", load_instance(EXAMPLE)),
        (f"{args.services} services, plain", random_instance(args.services, seed=1)),
    ):
        model = SinglePeriod.compile(instance, SolveParams()).model
        sent = portable(model)
        size = sum(
            array.nbytes
            for array in (
                model.matrix.data, model.matrix.indices, model.matrix.indptr, model.objective,
                model.row_lower, model.row_upper, model.col_lower, model.col_upper,
                model.integrality,
            )
        )
        trip = _median(
            lambda sent=sent: call_in_child(echo, (sent,), {}, interrupt=None, kill_at=None),
            args.repeat,
        )
        print(
            f"{label}: {model.num_cols} columns, {model.matrix.nnz} nonzeros, arrays "
            f"{size / 1e6:.1f} MB; model there and back {trip * 1e3:.1f} ms"
        )
        params = SolveParams(rel_gap=1e-4)
        here, there = _pair(
            lambda model=model, params=params: highs.solve(
                model, params, time_limit=600, relax=True
            ),
            lambda model=model, params=params: isolated(highs).solve(
                model, params, time_limit=600, relax=True
            ),
            args.repeat,
        )
        print(f"  LP relaxation: here {here:.3f} s, solver process {there:.3f} s, "
              f"cost {(there - here) * 1e3:+.0f} ms")
        here, there = _pair(
            lambda instance=instance: solve(instance, time_limit=600, rel_gap=1e-4,
                                            isolation="thread"),
            lambda instance=instance: solve(instance, time_limit=600, rel_gap=1e-4,
                                            isolation="process"),
            args.repeat,
        )
        print(f"  solve, gap 1e-4: here {here:.3f} s, solver processes {there:.3f} s, "
              f"cost {(there - here) * 1e3:+.0f} ms")


if __name__ == "__main__":
    main()
