"""The shared row kernels: one function per family builds both horizons' rows.

The single-period model is the one-year case of the multi-year one. On a one-year horizon (no
lead times, no existing contracts) every family the two compilers share must give the same rows:
the multi-year coefficient of option o, summed over its activity a[o, 0] and its arc (the start
of o in year 0), equals the single-period coefficient of x_o, and the setup z[m, 0] that of y_m.
Both compilers call the same kernels, so this checks what each horizon supplies: its column table
(:func:`portfolio.compile.single_period_columns`, :func:`portfolio.multiyear.compile.year_columns`).
The kernels' coefficients themselves are checked against hand-derived ones in test_compile.py and
against brute force in test_multiyear_bruteforce.py. Every row block says which limit it is in
``kind``, ``key`` and ``side``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance
from portfolio.linear import FloatArray, LinearModel, RowBlock
from portfolio.multiyear import compile_multi_year
from portfolio.multiyear.compile import MultiYearModel

ROOT = Path(__file__).resolve().parent.parent
SMALL = sorted((ROOT / "instances" / "small").glob("*.yaml"))
CASES = [ROOT / "instances" / "example_borough.yaml", *SMALL]
SHARED = {
    "budget",
    "transition_budget",
    "min_outcome",
    "min_flexibility",
    "max_changes",
    "capacity_count",
    "capacity_spend",
    "sector_share",
    "same_mode",
    "limits",
}


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _one_year(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["horizon"] = {"start_year": 2027, "years": 1}
    return out


def _rows(model: LinearModel, block: RowBlock) -> FloatArray:
    return np.asarray(model.matrix[block.start : block.stop].toarray(), dtype=np.float64)


def _single_by_option(compiled: CompiledModel, dense: FloatArray) -> FloatArray:
    """Rows over (options, then modes) from rows over the single-period columns."""
    table = compiled.table
    out = np.zeros((dense.shape[0], table.num_options + table.num_modes))
    out[:, compiled.option_of_column] = dense[:, : compiled.num_x]
    out[:, table.num_options + compiled.mode_of_y] = dense[:, compiled.num_x :]
    return out


def _multi_by_option(compiled: MultiYearModel, dense: FloatArray) -> FloatArray:
    """Rows over (options, then modes) from rows over the one-year multi-year columns."""
    lay = compiled.layout
    table = compiled.table
    assert not dense[:, lay.u_offset :].any()  # in-use indicators appear in no shared family
    out = np.zeros((dense.shape[0], table.num_options + table.num_modes))
    fold = out.T  # add columns into options
    np.add.at(fold, lay.arcs.option, dense[:, : lay.num_arcs].T)
    np.add.at(fold, lay.act_option, dense[:, lay.act_offset : lay.z_offset].T)
    np.add.at(fold, table.num_options + lay.z_mode, dense[:, lay.z_offset : lay.u_offset].T)
    return out


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_shared_families_give_the_same_rows_on_a_one_year_horizon(path: Path) -> None:
    data = _load(path)
    single = compile_instance(Instance.from_data(copy.deepcopy(data)), reduce=False)
    multi = compile_multi_year(Instance.from_data(_one_year(data)), reduce=False)
    multi_blocks = {block.family: block for block in multi.model.blocks}
    shared = [block for block in single.model.blocks if block.kind in SHARED]
    assert {b.family for b in shared} == {b.family for b in multi.model.blocks if b.kind in SHARED}
    for block in shared:
        other = multi_blocks[block.family]
        ours = _single_by_option(single, _rows(single.model, block))
        theirs = _multi_by_option(multi, _rows(multi.model, other))
        lower = single.model.row_lower[block.start : block.stop]
        upper = single.model.row_upper[block.start : block.stop]
        other_lower = multi.model.row_lower[other.start : other.stop]
        other_upper = multi.model.row_upper[other.start : other.stop]
        if block.kind == "same_mode":
            # Bundles: the multi-year model also has a row for a mode only a red-lined option
            # offers (an empty row, 0 = 0); the rows with entries agree, label by label.
            assert block.items is not None
            assert other.items is not None
            mine = {block.items[i]: ours[i] for i in range(len(block.items)) if ours[i].any()}
            yours = {
                other.items[i].removesuffix("@2027"): theirs[i]
                for i in range(len(other.items))
                if theirs[i].any()
            }
            assert mine.keys() == yours.keys(), block.family
            for item, row in mine.items():
                np.testing.assert_array_equal(row, yours[item], err_msg=item)
            continue
        np.testing.assert_array_equal(ours, theirs, err_msg=block.family)
        np.testing.assert_array_equal(lower, other_lower, err_msg=block.family)
        np.testing.assert_array_equal(upper, other_upper, err_msg=block.family)
        # One period has no year label; a horizon labels each row with its calendar year.
        if block.items is None:
            assert list(other.items or []) == ["2027"]
        else:
            assert [f"{item}@2027" for item in block.items] == list(other.items or [])


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_one_year_objective_is_the_single_period_objective(path: Path) -> None:
    data = _load(path)
    single = compile_instance(Instance.from_data(copy.deepcopy(data)), reduce=False)
    multi = compile_multi_year(Instance.from_data(_one_year(data)), reduce=False)
    assert single.model.sense is multi.model.sense
    ours = _single_by_option(single, single.model.objective[None, :])
    theirs = _multi_by_option(multi, multi.model.objective[None, :])
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)


def _check_kinds(model: LinearModel) -> None:
    for block in model.blocks:
        head = re.fullmatch(r"(\w+)(?:\[(\w+)\])?(?:\.(max|min))?", block.family)
        assert head is not None, block.family
        name, index, bound = head.groups()
        assert block.kind == name
        if name == "sector_share":
            assert block.key == index
            assert block.side == {"max": "upper", "min": "lower"}[bound]
        elif name == "limits":
            assert block.key == int(index)
            assert block.side is None
        else:
            assert index is None
            assert block.key is None
            assert block.side is None


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_block_says_which_limit_it_is(path: Path) -> None:
    data = _load(path)
    _check_kinds(compile_instance(Instance.from_data(copy.deepcopy(data))).model)
    _check_kinds(compile_multi_year(Instance.from_data(_one_year(data))).model)


def test_kinds_on_the_multi_year_example() -> None:
    path = ROOT / "instances" / "example_borough_multiyear.yaml"
    model = compile_multi_year(Instance.from_data(_load(path))).model
    _check_kinds(model)
    kinds = {block.kind for block in model.blocks}
    assert {"flow", "activity", "sector_share", "limits", "setup_once"} <= kinds


def _block(family: str, rows: list[int], cols: list[int], vals: list[float], count: int) -> Any:
    from portfolio.kernels import Rows

    return Rows(
        family,
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.float64),
        np.zeros(count),
        np.ones(count),
    )


@pytest.mark.parametrize("repeat", [False, True])
def test_assemble_gives_the_canonical_matrix(repeat: bool) -> None:
    """Entries listed out of order within a block, zeros, and (with ``repeat``) a pair given
    twice, once cancelling to zero: the matrix is the hand-summed one, in canonical CSR form
    (sorted columns, no stored zeros), whichever way it was built."""
    from portfolio.kernels import assemble
    from portfolio.linear import Sense

    first = _block("a", [1, 0, 0, 1], [2, 3, 0, 0], [5.0, 1.0, 2.0, 0.0], 2)
    extra = ([0, 0], [1, 1], [4.0, -4.0]) if repeat else ([], [], [])
    second = _block("b", [0, *extra[0]], [3, *extra[1]], [7.0, *extra[2]], 1)
    model = assemble([first, second], 4, Sense.MAXIMISE, np.zeros(4))
    expected = np.array(
        [
            [2.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, 5.0, 0.0],
            [0.0, 0.0, 0.0, 7.0],
        ]
    )
    matrix = model.matrix
    np.testing.assert_array_equal(matrix.toarray(), expected)
    assert matrix.nnz == 4
    np.testing.assert_array_equal(matrix.indptr, [0, 2, 3, 4])
    np.testing.assert_array_equal(matrix.indices, [0, 3, 2, 3])
    np.testing.assert_array_equal(matrix.data, [2.0, 1.0, 5.0, 7.0])
    assert [(b.start, b.stop) for b in model.blocks] == [(0, 2), (2, 3)]
