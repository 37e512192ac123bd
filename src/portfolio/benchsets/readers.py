"""Readers for the public GAP and MMKP benchmark files, and their canonical instance dicts.

Formats (``benchmarks/data/README.md`` and ``shared/benchmarks/SOURCES.md`` give the details):

* **OR-Library GAP** (gap1-12, gapa-d): whitespace-separated integers, line breaks meaningless.
  ``P``, then P times: ``m n``, the cost matrix c (m rows of n), the resource matrix a (m rows of
  n), the capacities b (m). **Yagiura type E** files hold one instance and no leading ``P``.
* **Khan MMKP** (I01-I13): ``n l m``, the capacities R (m), then per group g = 1..n the index g and
  l items ``v r_1 .. r_m``. The data end at the first line containing ``Solutions``; the trailer
  (reference solutions and the LP upper bound) is read by :func:`read_mmkp_reference`.

A GAP instance becomes a canonical instance with one mode per agent (``agent1`` ...), one service
per job (``job1`` ...), one option per (job, agent) whose ``metrics`` hold the cost ``c_ij`` and the
resource ``a_ij``, and a ``limits`` row per agent. An MMKP instance becomes one service per group
whose options are its items, all in one mode ``item``, with a ``limits`` row per resource. Option
``k`` of a service is agent ``k + 1`` (GAP) or item ``k`` (MMKP, 0-based as in the file's trailer).

The readers are strict: a malformed file raises :class:`BenchmarkDataError` naming the file, the
line and column and what was expected there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from portfolio.errors import InstanceFileError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Sense = Literal["maximise", "minimise"]

#: Environment variable naming the folder that holds ``gap/`` and ``mmkp/``.
DATA_ENV = "PORTFOLIO_BENCH_DATA"

#: The folder in a clone of the repository (src/portfolio/benchsets -> repository root).
_REPO_DATA = Path(__file__).resolve().parents[3] / "benchmarks" / "data"

_WORD = re.compile(r"\S+")


class BenchmarkDataError(InstanceFileError):
    """A benchmark data file is missing or malformed; the message names file and position."""


# ---------------------------------------------------------------------- locating the data
def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the benchmark data (``gap/`` and ``mmkp/``).

    Looked for, in order: ``override``; the environment variable ``PORTFOLIO_BENCH_DATA``;
    ``benchmarks/data`` of the repository this package was loaded from (an editable install or
    ``PYTHONPATH=src``); ``benchmarks/data`` under the current directory.

    Raises:
        BenchmarkDataError: none of these exists; the message names the environment variable.
    """
    if override is not None:
        return _existing(Path(override), "the folder given")
    env = os.environ.get(DATA_ENV)
    if env:
        return _existing(Path(env), f"${DATA_ENV}")
    candidates = [_REPO_DATA, Path.cwd() / "benchmarks" / "data"]
    for candidate in candidates:
        if (candidate / "gap").is_dir() or (candidate / "mmkp").is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise BenchmarkDataError(
        str(candidates[0]),
        f"benchmark data not found (looked in {looked}). The data ship in benchmarks/data of the "
        f"repository, not in an installed package: set {DATA_ENV} to that folder (the one that "
        "holds gap/ and mmkp/)",
    )


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise BenchmarkDataError(
            str(path),
            f"{what} is not a folder; {DATA_ENV} (or --data) must name the folder holding gap/ and "
            "mmkp/",
        )
    return path


# ---------------------------------------------------------------------- tokens with positions
class _Tokens:
    """The whitespace-separated words of a text, with their positions for error messages."""

    def __init__(self, text: str, source: str, line_offset: int = 0) -> None:
        self.text = text
        self.source = source
        self.words = text.split()
        self.line_offset = line_offset

    def __len__(self) -> int:
        return len(self.words)

    def where(self, index: int) -> str:
        """'line L, column C' of word ``index`` (or 'the end of the file')."""
        if not self.words:
            return "the end of the data"
        last = index >= len(self.words)
        target = len(self.words) - 1 if last else index
        for count, match in enumerate(_WORD.finditer(self.text)):
            if count == target:
                start = match.end() if last else match.start()
                line = self.text.count("\n", 0, start) + 1 + self.line_offset
                column = start - (self.text.rfind("\n", 0, start) + 1) + 1
                where = f"line {line}, column {column}"
                return f"the end of the data ({where})" if last else where
        return "the end of the data"  # pragma: no cover - target < len(words) always matches

    def fail(self, index: int, message: str) -> BenchmarkDataError:
        """An error at word ``index``."""
        return BenchmarkDataError(self.source, f"at {self.where(index)}: {message}")

    def need(self, start: int, count: int, what: str) -> None:
        """Raise unless ``count`` words are left from ``start``."""
        if start + count > len(self.words):
            raise BenchmarkDataError(
                self.source,
                f"the data end early: {what} needs {count} more number(s) from word {start + 1}, "
                f"but the data hold {len(self.words)} word(s) in all "
                f"({self.where(len(self.words))})",
            )

    def ints(self, start: int, count: int, what: str, *, minimum: int | None = None) -> IntArray:
        """``count`` integers from word ``start``, checked."""
        self.need(start, count, what)
        chunk = self.words[start : start + count]
        try:
            values = np.array([int(word) for word in chunk], dtype=np.int64)
        except ValueError:
            bad = next(i for i, word in enumerate(chunk) if not _is_int(word))
            raise self.fail(
                start + bad, f"expected an integer ({what}), found {chunk[bad]!r}"
            ) from None
        if minimum is not None and values.size and values.min() < minimum:
            bad = int(np.argmax(values < minimum))
            raise self.fail(start + bad, f"{what} must be at least {minimum}, found {chunk[bad]!r}")
        return values

    def floats(self, start: int, count: int, what: str, *, nonnegative: bool = False) -> FloatArray:
        """``count`` finite numbers from word ``start``, checked."""
        self.need(start, count, what)
        chunk = self.words[start : start + count]
        try:
            values = np.array([float(word) for word in chunk], dtype=np.float64)
        except ValueError:
            bad = next(i for i, word in enumerate(chunk) if not _is_float(word))
            raise self.fail(
                start + bad, f"expected a number ({what}), found {chunk[bad]!r}"
            ) from None
        bad_mask = ~np.isfinite(values) | ((values < 0) if nonnegative else False)
        if bad_mask.any():
            bad = int(np.argmax(bad_mask))
            kind = "a finite non-negative number" if nonnegative else "a finite number"
            raise self.fail(start + bad, f"{what} must be {kind}, found {chunk[bad]!r}")
        return values


def _is_int(word: str) -> bool:
    try:
        int(word)
    except ValueError:
        return False
    return True


def _is_float(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise BenchmarkDataError(str(path), "file not found") from None
    except IsADirectoryError:
        raise BenchmarkDataError(str(path), "is a folder, not a data file") from None
    except UnicodeDecodeError as exc:
        raise BenchmarkDataError(str(path), f"not plain ASCII text: {exc.reason}") from None
    except OSError as exc:
        raise BenchmarkDataError(str(path), exc.strerror or str(exc)) from None


# ---------------------------------------------------------------------- GAP
@dataclass(frozen=True, eq=False)
class GapProblem:
    """One generalized assignment instance as in the file.

    Attributes:
        name: instance name: ``gap1-1`` (gap1-12), ``a05100`` (gapa-d), ``e05100`` (type E).
        alias: the literature's name where it differs (``c515-1`` for gap1-1), else None.
        source: the file it was read from.
        position: 1-based position of the instance in its file.
        cost: c[i, j], the cost (or profit) of giving job j to agent i, shape (m, n).
        resource: a[i, j], the resource job j uses at agent i, shape (m, n).
        capacity: b[i], the capacity of agent i, shape (m,).
    """

    name: str
    alias: str | None
    source: str
    position: int
    cost: IntArray
    resource: IntArray
    capacity: IntArray

    @property
    def agents(self) -> int:
        """m, the number of agents (modes)."""
        return int(self.cost.shape[0])

    @property
    def jobs(self) -> int:
        """n, the number of jobs (services)."""
        return int(self.cost.shape[1])

    def instance_data(self, sense: Sense) -> dict[str, Any]:
        """The canonical instance dict (DESIGN.md), to maximise or minimise total cost.

        Agents are modes ``agent1..agentm`` (sector public), jobs are services ``job1..jobn``;
        option k of a job is agent k+1, with ``metrics`` {cost: c, resource: a}. Each agent has a
        ``limits`` row {metric: resource, mode: agentI, max: b_i}. ``current_mode`` is agent1 for
        every job (there are no transition costs, so it plays no part).
        """
        return gap_instance_data(
            self.cost,
            self.resource,
            self.capacity,
            sense,
            name=self.name,
            description=self._about(),
        )

    def _about(self) -> str:
        alias = f" ({self.alias})" if self.alias else ""
        return (
            f"GAP instance {self.name}{alias}: {self.agents} agents x {self.jobs} jobs, "
            f"#{self.position} of {Path(self.source).name}"
        )


def gap_instance_data(
    cost: npt.ArrayLike,
    resource: npt.ArrayLike,
    capacity: npt.ArrayLike,
    sense: Sense,
    *,
    name: str = "GAP instance",
    description: str | None = None,
) -> dict[str, Any]:
    """A canonical instance dict for a GAP given as arrays (see :meth:`GapProblem.instance_data`).

    Args:
        cost: (m, n) costs or profits.
        resource: (m, n) resource use.
        capacity: (m,) capacities.
        sense: ``maximise`` or ``minimise`` the total cost.
        name: the instance name.
        description: free text.
    """
    if sense not in ("maximise", "minimise"):
        raise ValueError(f"sense must be 'maximise' or 'minimise', got {sense!r}")
    c = np.asarray(cost)
    a = np.asarray(resource)
    b = np.asarray(capacity)
    m, n = c.shape
    if a.shape != (m, n) or b.shape != (m,):
        raise ValueError(f"shapes differ: cost {c.shape}, resource {a.shape}, capacity {b.shape}")
    agents = [f"agent{i + 1}" for i in range(m)]
    cost_rows = c.T.tolist()  # per job, per agent (Python numbers)
    resource_rows = a.T.tolist()
    services = [
        {
            "id": f"job{j + 1}",
            "current_mode": agents[0],
            "options": [
                {
                    "mode": agent,
                    "annual_cost": 0,
                    "outcome": 0,
                    "metrics": {"cost": cost_j[i], "resource": resource_j[i]},
                }
                for i, agent in enumerate(agents)
            ],
        }
        for j, (cost_j, resource_j) in enumerate(zip(cost_rows, resource_rows, strict=True))
    ]
    data: dict[str, Any] = {
        "name": name,
        "modes": [{"id": agent, "sector": "public"} for agent in agents],
        "services": services,
        "constraints": {
            "limits": [
                {"metric": "resource", "mode": agent, "max": limit}
                for agent, limit in zip(agents, b.tolist(), strict=True)
            ]
        },
        "objective": {sense: {"cost": 1}},
    }
    if description:
        data["description"] = description
    return data


def read_gap(
    path: str | os.PathLike[str],
    *,
    multi: bool | None = None,
    names: Sequence[str] | None = None,
) -> list[GapProblem]:
    """Read an OR-Library GAP file (several instances) or a Yagiura file (one, no leading P).

    Args:
        path: the file.
        multi: True for the OR-Library layout (leading P), False for one instance without P,
            None to tell from the number of words in the file.
        names: instance names in file order; by default derived from the file name: ``gapK-i``
            (alias ``cMN-i``) for gap1-12, ``xMMNNN`` by size for gapa-d, the file name otherwise.

    Returns:
        The instances in file order.

    Raises:
        BenchmarkDataError: the file is missing or malformed (the message names the position).
    """
    source = Path(path)
    words = _Tokens(_read_text(source), str(source))
    if not len(words):
        raise BenchmarkDataError(str(source), "the file is empty")
    if multi is None:
        multi = not _looks_single(words)
    at = 0
    if multi:
        count = int(words.ints(0, 1, "the number of instances P", minimum=1)[0])
        at = 1
    else:
        count = 1
    problems: list[GapProblem] = []
    for k in range(count):
        what = f"instance {k + 1}" if multi else "the instance"
        m, n = (int(v) for v in words.ints(at, 2, f"{what}: agents m and jobs n", minimum=1))
        at += 2
        cost = words.ints(at, m * n, f"{what}: costs c").reshape(m, n)
        at += m * n
        resource = words.ints(at, m * n, f"{what}: resources a", minimum=0).reshape(m, n)
        at += m * n
        capacity = words.ints(at, m, f"{what}: capacities b", minimum=0)
        at += m
        name, alias = _gap_name(source, k + 1, m, n, names)
        problems.append(GapProblem(name, alias, str(source), k + 1, cost, resource, capacity))
    if at != len(words):
        expected = f"{count} instance(s)" + (" as P says" if multi else "")
        raise words.fail(at, f"unexpected data after {expected} ({len(words) - at} extra word(s))")
    return problems


def _looks_single(words: _Tokens) -> bool:
    """True when the word count is exactly that of one instance without a leading P."""
    if len(words) < 2:
        return False
    try:
        m, n = int(words.words[0]), int(words.words[1])
    except ValueError:
        return False
    return m > 0 and n > 0 and len(words) == 2 + 2 * m * n + m


def _gap_name(
    source: Path, position: int, m: int, n: int, names: Sequence[str] | None
) -> tuple[str, str | None]:
    if names is not None:
        if position > len(names):
            raise BenchmarkDataError(
                str(source), f"{len(names)} name(s) given for a file with more instances"
            )
        return names[position - 1], None
    stem = source.stem.lower()
    if re.fullmatch(r"gap\d+", stem):
        return f"{stem}-{position}", f"c{m}{n}-{position}"
    if re.fullmatch(r"gap[a-z]", stem):
        return f"{stem[-1]}{m:02d}{n}", None
    return source.name if position == 1 else f"{source.name}-{position}", None


# ---------------------------------------------------------------------- MMKP
@dataclass(frozen=True, eq=False)
class MmkpProblem:
    """One multiple-choice multidimensional knapsack instance as in the file.

    Attributes:
        name: instance name (the file name, e.g. ``I07``).
        source: the file it was read from.
        capacity: R[k], shape (m,).
        value: v[g, j], value of item j of group g, shape (n, l).
        weight: r[g, j, k], resource k used by item j of group g, shape (n, l, m).
    """

    name: str
    source: str
    capacity: FloatArray
    value: FloatArray
    weight: FloatArray

    @property
    def groups(self) -> int:
        """n, the number of groups (services)."""
        return int(self.value.shape[0])

    @property
    def items(self) -> int:
        """l, the number of items per group (options per service)."""
        return int(self.value.shape[1])

    @property
    def resources(self) -> int:
        """m, the number of resources (limits rows)."""
        return int(self.capacity.shape[0])

    def instance_data(self) -> dict[str, Any]:
        """The canonical instance dict (DESIGN.md), maximising total value.

        Groups are services ``group1..groupn`` whose options are the items (option k is item k,
        0-based as in the file's reference solutions), all in one mode ``item`` (sector public),
        with ``metrics`` {value: v, r1: .., rm: ..}; one ``limits`` row per resource.
        """
        return mmkp_instance_data(
            self.value,
            self.weight,
            self.capacity,
            name=self.name,
            description=(
                f"MMKP instance {self.name} (Khan et al. 2002): {self.groups} groups x "
                f"{self.items} items, {self.resources} resources"
            ),
        )


def mmkp_instance_data(
    value: npt.ArrayLike,
    weight: npt.ArrayLike,
    capacity: npt.ArrayLike,
    *,
    name: str = "MMKP instance",
    description: str | None = None,
) -> dict[str, Any]:
    """A canonical instance dict for an MMKP given as arrays.

    See :meth:`MmkpProblem.instance_data`.

    Args:
        value: (n, l) item values.
        weight: (n, l, m) resource use.
        capacity: (m,) capacities.
        name: the instance name.
        description: free text.
    """
    v = np.asarray(value, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    n, items = v.shape
    m = cap.shape[0]
    if w.shape != (n, items, m):
        raise ValueError(f"shapes differ: value {v.shape}, weight {w.shape}, capacity {cap.shape}")
    keys = [f"r{k + 1}" for k in range(m)]
    values = v.tolist()
    weights = w.tolist()
    services = [
        {
            "id": f"group{g + 1}",
            "current_mode": "item",
            "options": [
                {
                    "mode": "item",
                    "annual_cost": 0.0,
                    "outcome": 0.0,
                    "metrics": {
                        "value": values[g][j],
                        **dict(zip(keys, weights[g][j], strict=True)),
                    },
                }
                for j in range(items)
            ],
        }
        for g in range(n)
    ]
    data: dict[str, Any] = {
        "name": name,
        "modes": [{"id": "item", "sector": "public"}],
        "services": services,
        "constraints": {
            "limits": [
                {"metric": key, "max": limit} for key, limit in zip(keys, cap.tolist(), strict=True)
            ]
        },
        "objective": {"maximise": {"value": 1}},
    }
    if description:
        data["description"] = description
    return data


def _split_trailer(text: str) -> tuple[str, str, int]:
    """Split at the first line containing 'Solutions': (data, trailer, lines before the trailer)."""
    found = text.find("Solutions")
    if found < 0:
        return text, "", 0
    line_start = text.rfind("\n", 0, found) + 1
    return text[:line_start], text[line_start:], text.count("\n", 0, line_start)


def read_mmkp(path: str | os.PathLike[str], *, name: str | None = None) -> MmkpProblem:
    """Read a Khan MMKP file, stopping at the first line that contains ``Solutions``.

    Args:
        path: the file.
        name: instance name (default: the file name).

    Raises:
        BenchmarkDataError: the file is missing or malformed (the message names the position).
    """
    source = Path(path)
    data, _, _ = _split_trailer(_read_text(source))
    words = _Tokens(data, str(source))
    if not len(words):
        raise BenchmarkDataError(str(source), "the file holds no data before 'Solutions'")
    n, items, m = (int(x) for x in words.ints(0, 3, "groups n, items l, resources m", minimum=1))
    capacity = words.floats(3, m, "capacities R", nonnegative=True)
    block = 1 + items * (1 + m)
    words.need(3 + m, n * block, f"{n} groups of {items} items")
    at = 3 + m
    value = np.empty((n, items))
    weight = np.empty((n, items, m))
    for g in range(n):
        index = int(words.ints(at, 1, f"the index of group {g + 1}")[0])
        if index != g + 1:
            raise words.fail(at, f"expected group index {g + 1}, found {index}")
        rows = words.floats(at + 1, items * (1 + m), f"items of group {g + 1}").reshape(
            items, 1 + m
        )
        if (rows[:, 1:] < 0).any():
            j, k = (int(v) for v in np.argwhere(rows[:, 1:] < 0)[0])
            raise words.fail(
                at + 1 + j * (1 + m) + 1 + k,
                f"resource use must be non-negative (group {g + 1}, item {j}, resource {k + 1})",
            )
        value[g] = rows[:, 0]
        weight[g] = rows[:, 1:]
        at += block
    if at != len(words):
        raise words.fail(
            at,
            f"unexpected data after group {n} ({len(words) - at} extra word(s) before 'Solutions')",
        )
    return MmkpProblem(name or source.name, str(source), capacity, value, weight)


@dataclass(frozen=True)
class MmkpReference:
    """The trailer of a Khan MMKP file: reference solutions and the LP upper bound.

    Attributes:
        solutions: heading (``Mosers Solution``, ``HEU``, ``Exact Solution``) -> (item index per
            group, 0-based, and the value the file states).
        upper_bound: the file's upper bound, or None.
    """

    solutions: dict[str, tuple[tuple[int, ...], float]] = field(default_factory=dict)
    upper_bound: float | None = None


def read_mmkp_reference(path: str | os.PathLike[str]) -> MmkpReference:
    """Read the reference solutions and upper bound after the data of a Khan MMKP file.

    Raises:
        BenchmarkDataError: a section is malformed (the message names the position).
    """
    source = Path(path)
    data, trailer, first_line = _split_trailer(_read_text(source))
    head = data.split()[:1]
    if not head or not _is_int(head[0]):
        raise BenchmarkDataError(str(source), "the file does not start with the number of groups")
    n = int(head[0])
    solutions: dict[str, tuple[tuple[int, ...], float]] = {}
    upper: list[float] = []

    sections: list[tuple[str, int, list[str]]] = []  # (heading, line before the body, body lines)
    for offset, line in enumerate(trailer.splitlines()):
        stripped = line.strip()
        if stripped.startswith("Solutions by"):
            sections.append(
                (stripped[len("Solutions by") :].strip(" :"), first_line + offset + 1, [])
            )
        elif stripped.startswith("Upper bound"):
            sections.append(("Upper bound", first_line + offset + 1, []))
        elif sections:
            sections[-1][2].append(line)
        elif stripped:  # pragma: no cover - the trailer starts at a 'Solutions' line
            raise BenchmarkDataError(
                str(source), f"at line {first_line + offset + 1}: unexpected text {stripped!r}"
            )
    for heading, line_before, body in sections:
        words = _Tokens("\n".join(body), str(source), line_before)
        if heading == "Upper bound":
            if len(words) != 1:
                raise words.fail(min(1, len(words)), "the 'Upper bound' section holds one number")
            upper.append(float(words.floats(0, 1, "upper bound")[0]))
            continue
        if len(words) != n + 1:
            raise words.fail(
                min(len(words), n + 1), f"'{heading}' needs {n} item indices and a value"
            )
        chosen = tuple(int(i) for i in words.ints(0, n, f"'{heading}' item indices", minimum=0))
        solutions[heading] = (chosen, float(words.floats(n, 1, f"'{heading}' value")[0]))
    return MmkpReference(solutions, upper[0] if upper else None)
