"""Peak memory and time of reading and compiling one instance file, in a fresh process.

    PYTHONPATH=src python benchmarks/rss_read_compile.py /tmp/scale/full_100000.json [--read-only]

Prints one JSON line: the seconds to read (``load_instance``; wall and CPU) and to compile
(``compile_instance``), the resident set after each, and the peak resident set of the process
(``ru_maxrss``) after reading and at the end, in MB, and how many services' option objects
exist (``services_built``: an instance read fast keeps its options as columns until asked).
``--read-only`` stops after reading. Issue 13's target for 100k services with every row family
is well under 1 GB for reading and compiling (the whole solve: at most 1 GB).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _rss_mb() -> float:
    """The current resident set in MB (Linux: /proc/self/statm), else the peak."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        pages = int(statm.read_text().split()[1])
        return pages * resource.getpagesize() / 1024**2
    return _peak_mb()


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def services_built(instance: object) -> int | None:
    """Services whose option objects exist (the rest are still columns); None on code without
    the lazy option store."""
    try:
        from portfolio.domain import UnbuiltOptions
    except ImportError:
        return None
    services = instance.services  # type: ignore[attr-defined]
    return sum(type(s.__dict__["options"]) is not UnbuiltOptions for s in services)


def main(argv: list[str]) -> int:
    """Read and compile the file named in ``argv``; print the figures."""
    from portfolio.columnar import option_columns
    from portfolio.compile import compile_instance
    from portfolio.io import load_instance

    path = argv[1]
    start_rss = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    instance = load_instance(path)
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    read_rss = _rss_mb()
    read_peak = _peak_mb()
    compiled = None
    start = time.perf_counter()
    if "--read-only" not in argv:
        compiled = compile_instance(instance)
    compile_seconds = time.perf_counter() - start
    figures = {
        "file": path,
        "services": len(instance.services),
        "options": option_columns(instance).num_options,
        "services_built": services_built(instance),
        "columns": getattr(compiled.model, "num_cols", None) if compiled else None,
        "read_s": round(read, 3),
        "read_cpu_s": round(read_cpu, 3),
        "compile_s": round(compile_seconds, 3),
        "rss_start_mb": round(start_rss, 1),
        "rss_after_read_mb": round(read_rss, 1),
        "peak_rss_read_mb": round(read_peak, 1),
        "rss_after_compile_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(_peak_mb(), 1),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
