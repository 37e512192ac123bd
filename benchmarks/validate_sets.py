"""Run every benchmark suite on every backend and write the results as JSON and Markdown.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/validate_sets.py      # all suites, all backends, 60 s
    PYTHONPATH=src python benchmarks/validate_sets.py --backend highs --time-limit 60 \
        --suite gap-abcd --suite mmkp --out out/bench

Writes ``<out>/validation.json`` (the records, rewritten atomically after every solve, so a long
run can be watched or interrupted) and ``<out>/validation.md`` (summary per suite and backend, then
every record, with the machine and date). Exit 0 when every record is ok (see
:mod:`portfolio.benchsets.runner`), 1 otherwise. The same runs are available one suite at a time as
``portfolio bench SUITE... --output OUT --markdown OUT``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from portfolio.backends import available_backends
from portfolio.benchsets.runner import (
    DEFAULT_TIME_LIMIT,
    BenchRecord,
    markdown_report,
    run_suites,
    summary_lines,
    table_header,
    table_line,
)
from portfolio.benchsets.suites import SUITES
from portfolio.io import write_atomic, write_json
from portfolio.params import DEFAULT_REL_GAP, SolveParams


def main(argv: list[str] | None = None) -> int:
    """Run the validation; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite",
        action="append",
        choices=[*SUITES, "all"],
        default=None,
        help="suite to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        default=None,
        help="backend (repeatable; default: every installed backend)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds per solve"
    )
    parser.add_argument(
        "--gap", type=float, default=DEFAULT_REL_GAP, help="relative gap (default 1e-7)"
    )
    parser.add_argument("--threads", type=int, default=None, help="solver threads")
    parser.add_argument("--instances", action="append", default=None, metavar="PATTERN")
    parser.add_argument("--data", default=None, help="data folder (default: benchmarks/data)")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="output folder")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        metavar="JSON",
        help="solve nothing: merge these record files (later ones win for the same suite, "
        "instance and backend) into <out>/validation.json and .md",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return _merge(args.merge, args.out)

    suites = args.suite or ["all"]
    backends = args.backend or list(available_backends())
    params = SolveParams(time_limit=args.time_limit, rel_gap=args.gap, threads=args.threads)
    json_path, md_path = args.out / "validation.json", args.out / "validation.md"
    records: list[BenchRecord] = []

    def on_record(record: BenchRecord) -> None:
        records.append(record)
        print(table_line(record), flush=True)
        write_json(json_path, [r.to_dict() for r in records])

    print(f"backends: {', '.join(backends)}; time limit {args.time_limit:g} s; gap {args.gap:g}")
    print(table_header(), flush=True)
    try:
        run_suites(
            suites, backends, params, data=args.data, patterns=args.instances, on_record=on_record
        )
    except KeyboardInterrupt:
        print("interrupted: writing what was run", file=sys.stderr)
    print("\n" + "\n".join(summary_lines(records)))
    write_json(json_path, [r.to_dict() for r in records])
    command = "python benchmarks/validate_sets.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    write_atomic(md_path, markdown_report(records, command=command.strip()))
    print(f"wrote {json_path} and {md_path}", flush=True)
    code = 0 if records and all(r.ok for r in records) else 1
    if any(t.name.startswith("portfolio-") and t.is_alive() for t in threading.enumerate()):
        os._exit(code)  # a solver that ignored its limit still runs: do not wait for it
    return code


def _merge(files: list[Path], out: Path) -> int:
    """Merge record files into one report without solving."""
    merged: dict[tuple[str, str, str], BenchRecord] = {}
    for path in files:
        for data in json.loads(path.read_text(encoding="utf-8")):
            record = BenchRecord.from_dict(data)
            merged[(record.suite, record.instance, record.backend)] = record
    order = {suite: i for i, suite in enumerate(SUITES)}
    records = sorted(merged.values(), key=lambda r: order[r.suite])  # stable: file order kept
    write_json(out / "validation.json", [r.to_dict() for r in records])
    command = "python benchmarks/validate_sets.py --merge " + " ".join(str(f) for f in files)
    write_atomic(out / "validation.md", markdown_report(records, command=command))
    print("\n".join(summary_lines(records)))
    print(f"wrote {out / 'validation.json'} and {out / 'validation.md'}")
    return 0 if records and all(r.ok for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
