"""Seconds to read one instance file (``load_instance``), several times, in fresh processes.

    PYTHONPATH=src python benchmarks/read_speed.py /tmp/scale/full_10000.json [--repeat 7]
        [--rounds 3] [--parser default|pydantic_core|msgspec] [--compare OTHER_SRC]

Each round starts a fresh process that reads the file ``--repeat`` times and reports its first
read (what ``timings.read`` of ``portfolio solve`` measures: a fresh process pays for its first
touch of the memory), and the best and median wall and CPU seconds; the JSON parser the fast
reader used is named. ``--compare``
names another checkout's ``src`` folder (the code before a change, say): its rounds alternate
with this one's, so that both are measured in the same minutes on a shared machine. The load
average is printed with the figures. Issue 13's target: 10k services with every row family read
in at most 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _child(path: str, repeat: int, parser: str) -> dict[str, object]:
    """Read ``path`` ``repeat`` times in this process; the figures."""
    from portfolio.io import load_instance

    name = "pydantic_core"
    try:
        from portfolio import columnar
    except ImportError:  # a checkout without the fast reader
        columnar = None  # type: ignore[assignment]
    if columnar is not None and hasattr(columnar, "_decode"):
        if parser == "pydantic_core":
            columnar._decode = columnar._pydantic_decode
        elif parser == "msgspec":
            import msgspec

            columnar._decode = msgspec.json.decode
        name = getattr(columnar._decode, "__module__", "") or ""
        name = "msgspec" if name.startswith("msgspec") else "pydantic_core"
    walls, cpus = [], []
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        instance = load_instance(path)
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
        del instance
    return {
        "parser": name,
        "first_s": round(walls[0], 3),  # a fresh process's first read, as `portfolio solve`'s
        "first_cpu_s": round(cpus[0], 3),
        "best_s": round(min(walls), 3),
        "median_s": round(statistics.median(walls), 3),
        "best_cpu_s": round(min(cpus), 3),
        "median_cpu_s": round(statistics.median(cpus), 3),
    }


def _round(src: str, args: argparse.Namespace) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, __file__, args.file, "--child", "--repeat", str(args.repeat),
               "--parser", args.parser]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"src": src, **figures, "load": round(os.getloadavg()[0], 2)}


def main() -> int:
    """Measure and print one JSON line per round (and per code tree)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an instance file")
    parser.add_argument("--repeat", type=int, default=7, help="reads per process (default 7)")
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree (default 3)")
    parser.add_argument("--parser", default="default",
                        choices=["default", "pydantic_core", "msgspec"],
                        help="the fast reader's JSON parser (default: msgspec when installed)")
    parser.add_argument("--compare", help="another checkout's src folder, measured alternately")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.file, max(1, args.repeat), args.parser)))
        return 0
    trees = [SRC] if not args.compare else [args.compare, SRC]
    for _ in range(max(1, args.rounds)):
        for src in trees:
            print(json.dumps({"file": args.file, **_round(src, args)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
