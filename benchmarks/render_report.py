"""Seconds to render the HTML report of a result, and the option objects it makes the instance
build.

    PYTHONPATH=src python benchmarks/render_report.py INSTANCE RESULT [--repeat 3]

``RESULT`` is what ``portfolio solve INSTANCE --output RESULT`` wrote, e.g. for 10,000 services
with every row family::

    portfolio solve /tmp/scale/full_10000.json --prefer none --output /tmp/full_10000.result.json

The instance is read as ``portfolio report`` and ``portfolio solve --report`` read it (a JSON
file by the fast reader, which keeps the options as columns until something asks for the
objects). Prints one JSON line: each render's seconds (the first on a freshly read instance, the
others on the same one), the option objects built, and the SHA-256 of the page (the same inputs
give the same bytes, so two versions of the package can be compared by it).

It runs on any version of the package (``PYTHONPATH=/work/main/src`` for the code before a
change), to compare the two in the same minute.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

from portfolio.htmlreport import render_report
from portfolio.io import load_instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", help="the instance file")
    parser.add_argument("result", help="the result file of a solve of it")
    parser.add_argument("--repeat", type=int, default=3, help="renders (default 3)")
    args = parser.parse_args()
    with open(args.result, encoding="utf-8") as handle:
        result = json.load(handle)
    instance = load_instance(args.instance)
    runs = []
    digests = set()
    for _ in range(max(1, args.repeat)):
        began = time.perf_counter()
        page = render_report(result, instance)
        runs.append(round(time.perf_counter() - began, 4))
        digests.add(hashlib.sha256(page.encode()).hexdigest())
    built = sum(
        len(service.__dict__["options"])
        for service in instance.services
        if type(service.__dict__.get("options")) is list
    )
    print(
        json.dumps(
            {
                "instance": args.instance,
                "services": len(instance.services),
                "seconds": runs,
                "options_built": built,
                "sha256": sorted(digests),
                "bytes": len(page.encode()),
            }
        )
    )


if __name__ == "__main__":
    main()
