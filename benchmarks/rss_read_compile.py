"""Peak memory and time of reading and compiling one instance file, in a fresh process.

    PYTHONPATH=src python benchmarks/rss_read_compile.py /tmp/scale/full_100000.json

Prints one JSON line: the seconds to read (``load_instance``; wall and CPU) and to compile
(``compile_instance``), the resident set after each, and the peak resident set of the process
(``ru_maxrss``), in MB. Issue 13's target for 100k services with every row family is well under
1 GB for reading and compiling (the whole solve: at most 1 GB).
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


def main(argv: list[str]) -> int:
    """Read and compile the file named in ``argv``; print the figures."""
    from portfolio.compile import compile_instance
    from portfolio.io import load_instance

    path = argv[1]
    start_rss = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    instance = load_instance(path)
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    read_rss = _rss_mb()
    start = time.perf_counter()
    compiled = compile_instance(instance)
    compile_seconds = time.perf_counter() - start
    figures = {
        "file": path,
        "services": len(instance.services),
        "options": sum(len(service.options) for service in instance.services),
        "columns": compiled.model.num_cols if hasattr(compiled.model, "num_cols") else None,
        "read_s": round(read, 3),
        "read_cpu_s": round(read_cpu, 3),
        "compile_s": round(compile_seconds, 3),
        "rss_start_mb": round(start_rss, 1),
        "rss_after_read_mb": round(read_rss, 1),
        "rss_after_compile_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(_peak_mb(), 1),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
