"""Public benchmark sets (OR-Library GAP, Yagiura type E, Khan MMKP) as canonical instances.

Readers turn each file into canonical instance dicts (:mod:`~portfolio.benchsets.readers`),
:mod:`~portfolio.benchsets.known` holds the published optima and bounds, and
:mod:`~portfolio.benchsets.runner` solves whole suites and compares (``portfolio bench``).
The data live in ``benchmarks/data`` of the repository (or where ``PORTFOLIO_BENCH_DATA`` says).
"""

from portfolio.benchsets.known import KNOWN, KnownValue, known_value
from portfolio.benchsets.readers import (
    DATA_ENV,
    BenchmarkDataError,
    GapProblem,
    MmkpProblem,
    MmkpReference,
    data_dir,
    gap_instance_data,
    mmkp_instance_data,
    read_gap,
    read_mmkp,
    read_mmkp_reference,
)
from portfolio.benchsets.suites import SUITES, BenchInstance, suite_instances, suite_names

__all__ = [
    "DATA_ENV",
    "KNOWN",
    "SUITES",
    "BenchInstance",
    "BenchmarkDataError",
    "GapProblem",
    "KnownValue",
    "MmkpProblem",
    "MmkpReference",
    "data_dir",
    "gap_instance_data",
    "known_value",
    "mmkp_instance_data",
    "read_gap",
    "read_mmkp",
    "read_mmkp_reference",
    "suite_instances",
    "suite_names",
]
