"""Seconds the multi-year independent verifier takes on a large instance, and how many option
objects it makes the instance build.

    PYTHONPATH=src python benchmarks/verify_multiyear.py FILE [--repeat 3] [--plans 2]

``FILE`` is a multi-year JSON instance, e.g. from
``random_multi_year_data(1000, years=7, seed=0, setup_costs=True, sector_shares=True,
bundles=True)`` (what ``bench_multiyear.py`` generates), read by the fast reader, whose instance
keeps its options as columns until something asks for the objects. The plans verified are
today's arrangement continued and random schedules (contracts one after another, some existing
contracts broken), all taken from the file's own data, so that nothing but the verifier touches
the instance's options. Prints one JSON line: each verification's seconds (the first includes
whatever the verifier builds on first use), and the option objects built.

It runs on any version of the package (``PYTHONPATH=/work/main/src`` for the code before a
change), to compare the two in the same minute.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from portfolio.domain import Instance
from portfolio.io import load_instance
from portfolio.multiyear import ServicePath, verify_schedule


def _current(service: dict[str, Any]) -> int:
    """Today's option: the one marked ``current``, else the first in the current mode."""
    options = service["options"]
    for index, option in enumerate(options):
        if option.get("current"):
            return index
    return next(i for i, o in enumerate(options) if o["mode"] == service["current_mode"])


def plans_from_data(data: dict[str, Any], count: int) -> list[list[ServicePath]]:
    """Today's arrangement continued, then ``count - 1`` random schedules (seeded)."""
    horizon = data["horizon"]
    years, first = horizon["years"], horizon["start_year"]
    rng = random.Random(0)
    plans = []
    for number in range(count):
        paths = []
        for service in data["services"]:
            options = service["options"]
            free, broken = 0, None
            end = service.get("current_contract_end")
            if end is not None:
                free = end - first + 1
                if number and service.get("termination_cost") is not None and rng.random() < .3:
                    broken = rng.randrange(max(1, min(free, years)))
                    free = broken
            starts = []
            year = max(0, free)
            while year < years:
                position = _current(service) if number == 0 else rng.randrange(len(options))
                starts.append((position, year))
                year += options[position].get("contract_years") or 1
            paths.append(ServicePath(service["id"], broken, tuple(starts)))
        plans.append(paths)
    return plans


def built_options(instance: Instance) -> int:
    """Option objects the instance holds built (the fast reader leaves them as columns)."""
    return sum(
        len(service.__dict__["options"])
        for service in instance.services
        if type(service.__dict__.get("options")) is list
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a multi-year JSON instance file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per plan (default 3)")
    parser.add_argument("--plans", type=int, default=2, help="plans (default 2)")
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") as handle:
        plans = plans_from_data(json.load(handle), max(1, args.plans))
    began = time.perf_counter()
    instance = load_instance(args.file)
    read = time.perf_counter() - began
    before = built_options(instance)
    runs: list[list[float]] = []
    verdicts = []
    for paths in plans:
        times = []
        for _ in range(max(1, args.repeat)):
            began = time.perf_counter()
            verdict = verify_schedule(instance, paths)
            times.append(round(time.perf_counter() - began, 4))
        runs.append(times)
        verdicts.append({"ok": verdict.ok, "objective": verdict.plan.objective,
                         "violations": len(verdict.violations)})
    print(
        json.dumps(
            {
                "file": args.file,
                "services": len(instance.services),
                "read_seconds": round(read, 3),
                "options_built_after_reading": before,
                "seconds": runs,
                "options_built": built_options(instance),
                "verdicts": verdicts,
            }
        )
    )


if __name__ == "__main__":
    main()
