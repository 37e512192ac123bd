"""The benchmark suites: which files, which objective sense, which instance names.

=========  ==========================  ===========  =========
suite      files                       sense        instances
=========  ==========================  ===========  =========
gap-max    gap/gap1.txt .. gap12.txt   maximise     60
gap-min    gap/gap1.txt .. gap12.txt   minimise     60
gap-abcd   gap/gapa.txt .. gapd.txt    minimise     24
gap-e      gap/yagiura_e/e*            minimise     6
mmkp       mmkp/I01 .. I13             maximise     13
=========  ==========================  ===========  =========
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portfolio.benchsets.known import KnownValue, Sense, known_value
from portfolio.benchsets.readers import (
    BenchmarkDataError,
    GapProblem,
    MmkpProblem,
    data_dir,
    read_gap,
    read_mmkp,
)

SUITES: tuple[str, ...] = ("gap-max", "gap-min", "gap-abcd", "gap-e", "mmkp")
"""Every suite, in the order ``all`` runs them."""

_GAP_FILES = tuple(f"gap{k}.txt" for k in range(1, 13))
_ABCD_FILES = tuple(f"gap{x}.txt" for x in "abcd")
_E_FILES = ("e05100", "e05200", "e10100", "e10200", "e20100", "e20200")
_MMKP_FILES = tuple(f"I{k:02d}" for k in range(1, 14))


@dataclass(frozen=True, eq=False)
class BenchInstance:
    """One instance of a suite, read and ready to become a canonical instance.

    Attributes:
        suite: the suite name.
        name: the instance name (``gap1-1``, ``a05100``, ``e05100``, ``I07``).
        alias: the literature's other name (``c515-1``), or None.
        sense: objective sense of the suite.
        problem: the instance as read from its file.
    """

    suite: str
    name: str
    alias: str | None
    sense: Sense
    problem: GapProblem | MmkpProblem

    @property
    def known(self) -> KnownValue | None:
        """The known value in this suite's sense, if recorded."""
        return known_value(self.name, self.sense)

    @property
    def size(self) -> tuple[int, int]:
        """(services, options per service): (jobs, agents) for GAP, (groups, items) for MMKP."""
        if isinstance(self.problem, GapProblem):
            return self.problem.jobs, self.problem.agents
        return self.problem.groups, self.problem.items

    def data(self) -> dict[str, Any]:
        """The canonical instance dict (validate with ``Instance.from_data``)."""
        if isinstance(self.problem, GapProblem):
            return self.problem.instance_data(self.sense)
        return self.problem.instance_data()

    def matches(self, patterns: Iterable[str]) -> bool:
        """True when the name or alias matches one of the shell-style patterns."""
        names = [self.name] + ([self.alias] if self.alias else [])
        return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def suite_names(requested: Iterable[str]) -> list[str]:
    """Expand ``all`` and check the names; keeps the order given, without repeats.

    Raises:
        ValueError: an unknown suite name.
    """
    names: list[str] = []
    for name in requested:
        expanded = SUITES if name == "all" else (name,)
        for suite in expanded:
            if suite not in SUITES:
                raise ValueError(f"unknown suite '{suite}'; choose from {', '.join(SUITES)} or all")
            if suite not in names:
                names.append(suite)
    return names


def suite_instances(
    suite: str,
    *,
    data: str | os.PathLike[str] | None = None,
    patterns: Iterable[str] | None = None,
) -> list[BenchInstance]:
    """Read the instances of one suite.

    Args:
        suite: one of :data:`SUITES`.
        data: the data folder (default: :func:`~portfolio.benchsets.readers.data_dir`).
        patterns: keep only instances whose name or alias matches one of these shell patterns.

    Raises:
        ValueError: unknown suite.
        BenchmarkDataError: a file is missing or malformed.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite '{suite}'; choose from {', '.join(SUITES)}")
    root = data_dir(data)
    wanted = list(patterns) if patterns else None
    out: list[BenchInstance] = []
    if suite in ("gap-max", "gap-min", "gap-abcd"):
        files = _ABCD_FILES if suite == "gap-abcd" else _GAP_FILES
        sense: Sense = "maximise" if suite == "gap-max" else "minimise"
        for file in files:
            for problem in read_gap(_file(root, "gap", file), multi=True):
                out.append(BenchInstance(suite, problem.name, problem.alias, sense, problem))
    elif suite == "gap-e":
        for file in _E_FILES:
            (problem,) = read_gap(_file(root, "gap/yagiura_e", file), multi=False)
            out.append(BenchInstance(suite, problem.name, None, "minimise", problem))
    else:
        for file in _MMKP_FILES:
            if wanted is not None and not any(fnmatch.fnmatchcase(file, p) for p in wanted):
                continue  # skip reading the big files nobody asked for
            mmkp = read_mmkp(_file(root, "mmkp", file))
            out.append(BenchInstance(suite, mmkp.name, None, "maximise", mmkp))
    if wanted is not None:
        out = [item for item in out if item.matches(wanted)]
    return out


def _file(root: Path, folder: str, name: str) -> Path:
    path = root / folder / name
    if not path.is_file():
        raise BenchmarkDataError(str(path), f"benchmark file missing from the data folder {root}")
    return path
