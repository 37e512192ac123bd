"""``json_text`` writes exactly the text of ``json.dumps(data, indent=2, allow_nan=False)``.

It takes fast paths for plain containers and lists of plain rows, and leaves anything else to
the standard library; these tests compare the two texts character for character on generated
trees (every scalar kind, escapes, empty containers at every depth, rows, non-string keys,
numpy scalars, tuples) and on real result files, and check that the errors are the standard
library's.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from portfolio.output import json_text, write_json
from portfolio.solve import solve

INSTANCES = Path(__file__).resolve().parents[1] / "instances"

#: Strings that are hard to escape, or that look like the boundaries the fast path rewrites.
AWKWARD = ["", "plain", "é ü ß", "line\nbreak", 'quote " and \\ backslash', "tab\there",
           "},\n    {", "},\n  {", "\u2028\u2029", "\x00\x1f\x7f", "emoji \U0001f600", "{}", "[]"]
FLOATS = [0.0, -0.0, 1.0, -2.5, 0.1, 1e-05, 2.5e-07, 1e16, 1e22, 5e-324, 1.7976931348623157e308,
          7901446.32, 123456789012345680.0, 4.3425494126026295e-05]
INTS = [0, 1, -1, 10**30, -(10**20), 2**63]


class Colour(enum.StrEnum):
    """A string subclass: json writes its value."""

    RED = "red"


def _scalar(rng: np.random.Generator) -> Any:
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return AWKWARD[int(rng.integers(0, len(AWKWARD)))]
    if kind == 1:
        return FLOATS[int(rng.integers(0, len(FLOATS)))] * float(rng.choice([1.0, -1.0]))
    if kind == 2:
        return INTS[int(rng.integers(0, len(INTS)))]
    if kind == 3:
        return bool(rng.integers(0, 2))
    if kind == 4:
        return None
    return float(rng.normal() * 10 ** int(rng.integers(-8, 9)))


def _tree(rng: np.random.Generator, depth: int) -> Any:
    """A random tree: plain containers, rows (lists of plain mappings), mixed containers."""
    kind = int(rng.integers(0, 7 if depth < 4 else 1))
    size = int(rng.integers(0, 6))
    if kind == 0:
        return _scalar(rng)
    if kind == 1:  # plain mapping
        return {AWKWARD[i % len(AWKWARD)] + str(i): _scalar(rng) for i in range(size)}
    if kind == 2:  # plain list or tuple
        items = [_scalar(rng) for _ in range(size)]
        return tuple(items) if rng.random() < 0.3 else items
    if kind == 3:  # rows
        keys = ["service", "mode", "option", "cost", "label"]
        return [{k: _scalar(rng) for k in keys[: int(rng.integers(1, 6))]} for _ in range(size)]
    if kind == 4:  # rows with an empty or nested one among them
        rows: list[Any] = [{"a": _scalar(rng)} for _ in range(size)]
        rows.insert(int(rng.integers(0, size + 1)), {} if rng.random() < 0.5 else {"n": [1, {}]})
        return rows
    if kind == 5:
        return {f"k{i}": _tree(rng, depth + 1) for i in range(size)}
    return [_tree(rng, depth + 1) for _ in range(size)]


@pytest.mark.parametrize("seed", range(200))
def test_generated_trees_give_the_standard_librarys_text(seed: int) -> None:
    data = _tree(np.random.default_rng(seed), 0)
    assert json_text(data) == json.dumps(data, indent=2, allow_nan=False)


@pytest.mark.parametrize(
    "data",
    [
        {}, [], (), "x", 1.5, None, True, 10**40,
        {"a": {}, "b": [], "c": [{}], "d": [[]], "e": [{}, {}]},
        [{"a": 1}, {"b": "},\n    {"}, {"c": None}],
        {"rows": [{"x": 1.0}, {"x": 2.0}], "nested": {"rows": [{"y": "z"}]}},
        {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
        {"outer": {1: "int key inside"}},
        [{1: "int key in a row"}],
        {"numpy": np.float64(1.5), "also": [np.float64(-0.0)]},
        [Colour.RED, {"c": Colour.RED}, {Colour.RED: 1}],
        {"deep": [[[[[[[[[[{"x": [1, [2, [3]]]}]]]]]]]]]]},
    ],
)
def test_edge_cases_give_the_standard_librarys_text(data: Any) -> None:
    assert json_text(data) == json.dumps(data, indent=2, allow_nan=False)


@pytest.mark.parametrize(
    "data", [math.nan, {"a": math.inf}, [{"a": 1.0}, {"a": -math.inf}], {"x": [float("nan")]}]
)
def test_nan_and_infinity_are_refused_as_json_refuses_them(data: Any) -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        json.dumps(data, indent=2, allow_nan=False)
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        json_text(data)


def test_an_object_json_cannot_write_raises_its_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json_text({"a": [{"b": object()}]})
    with pytest.raises(TypeError, match="Object of type int64 is not JSON serializable"):
        json_text({"a": [np.int64(3)]})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_text(cycle)


def test_result_files_are_the_standard_librarys_text(tmp_path: Path) -> None:
    for name in ("example_borough.yaml", "example_borough_mixed.yaml"):
        data = solve(INSTANCES / name, time_limit=30).to_dict()
        expected = json.dumps(data, indent=2, allow_nan=False)
        assert json_text(data) == expected
        write_json(tmp_path / "result.json", data)
        assert (tmp_path / "result.json").read_text(encoding="utf-8") == expected + "\n"
