"""Option dominance in multi-year models: options no optimal plan needs (models/multi_year.md).

Option q of a service is *dominated* by option p of the same service when p has the same mode, the
same contract length and the same lead time (so every contract arc of q has a twin arc of p with
the same tail, head and covered years), q is not the service's current option (the existing
contract's arcs run the current option), and, read off the compiled model itself:

* every activity column a[p, t] is at least as good as a[q, t] in every row but the network's own
  (flow, activity): no larger in a row with only an upper bound, no smaller in a row with only a
  lower bound, equal in a row with both (an equality or a range), and at least as good in the
  objective;
* every contract arc of p is, in the same sense, at least as good as its twin arc of q (the
  transition cost is an arc coefficient).

Then any plan using q becomes, by running p in q's place in every contract (the same years, the
same changes of mode, the same setup and in-use indicators, since the mode is the same), a plan
that keeps every row and whose objective is no worse: every row's activity moves by
sum_t (A[:, p, t] - A[:, q, t]) a[q, t] and each term moves the row the safe way. Because the
comparison is made column by column on the matrix every family wrote (yearly lists, indexation,
limits, sector shares, flexibility, bundles, min_services, setup costs), it needs no knowledge of
any single family, and a family added later is covered without change.

Dominance is a preorder; an option is dropped when some option dominates it strictly (better in
some row or the objective), or equally with a smaller index. That relation has no cycles (a cycle
would make every step an equality with a smaller index), so every dropped option is dominated by
an option that is kept, and dropping all of them at once keeps an optimal plan. Dominance holds for
one instance's figures: a scenario with other figures must be compiled without it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from portfolio.linear import BoolArray, IntArray, LinearModel, Sense
from portfolio.multiyear.network import ARC_NEW, Arcs
from portfolio.multiyear.table import YearTable

#: Row families of the network itself, where the twin columns stand in for each other.
NETWORK_FAMILIES = frozenset({"flow", "activity"})


def dominated_options(
    model: LinearModel,
    table: YearTable,
    arcs: Arcs,
    act_option: IntArray,
    act_year: IntArray,
    act_offset: int,
) -> BoolArray:
    """Per option: dominated by an option that is kept (see the module docstring).

    Args:
        model: the unreduced model.
        table: its columnar instance.
        arcs: its arcs (column j < len(arcs) is arc j).
        act_option: option of each activity column.
        act_year: year of each activity column.
        act_offset: column of the first activity.
    """
    num_options = table.num_options
    dropped = np.zeros(num_options, dtype=np.bool_)
    better, worse = _candidate_pairs(table)
    if not better.shape[0]:
        return dropped
    years = table.years
    modes = table.num_modes

    # Twin arcs: every new-contract arc of q against p's arc with the same start and previous mode.
    new = np.flatnonzero(arcs.kind == ARC_NEW)
    slot = arcs.start[new] * modes + arcs.prev[new]
    code = arcs.option[new] * (years * modes) + slot
    order = np.argsort(code, kind="stable")
    sorted_code = code[order]
    per_option = np.bincount(arcs.option[new], minlength=num_options)
    first = np.concatenate(([0], np.cumsum(per_option)))
    arc_pair, q_arc, p_arc, arcs_ok = _twins(
        better, worse, first, per_option, sorted_code, new[order], slot[order], years * modes
    )
    # Activities: a[q, t] against a[p, t] for every year q runs.
    act_code = act_option * years + act_year
    act_order = np.argsort(act_code, kind="stable")
    act_sorted = act_code[act_order]
    per_option_act = np.bincount(act_option, minlength=num_options)
    first_act = np.concatenate(([0], np.cumsum(per_option_act)))
    act_pair, q_act, p_act, acts_ok = _twins(
        better,
        worse,
        first_act,
        per_option_act,
        act_sorted,
        act_offset + act_order,
        act_sorted % years,
        years,
    )
    ok = arcs_ok & acts_ok
    pair = np.concatenate((arc_pair, act_pair))
    q_col = np.concatenate((q_arc, q_act))
    p_col = np.concatenate((p_arc, p_act))
    keep_pair = ok[pair]
    pair, q_col, p_col = pair[keep_pair], q_col[keep_pair], p_col[keep_pair]

    no_worse, strict = _compare_columns(model, p_col, q_col)
    count = better.shape[0]
    fails = np.bincount(pair[~no_worse], minlength=count) > 0
    strictly = np.bincount(pair[strict], minlength=count) > 0
    valid = ok & ~fails
    drops = valid & (strictly | (better < worse))
    dropped[worse[drops]] = True
    return dropped


def _candidate_pairs(table: YearTable) -> tuple[IntArray, IntArray]:
    """Ordered pairs (p, q), p != q, of allowed options of one service with the same mode,
    contract length and lead time, q not the service's current option."""
    allowed = np.flatnonzero(table.allowed_options())
    key = np.stack(
        (table.service[allowed], table.mode[allowed], table.length[allowed], table.lead[allowed])
    )
    _, group = np.unique(key, axis=1, return_inverse=True)
    group = np.asarray(group, dtype=np.int64).ravel()
    order = np.argsort(group, kind="stable")
    options = allowed[order]
    groups = group[order]
    sizes = np.bincount(groups)
    starts = np.concatenate(([0], np.cumsum(sizes)))[:-1]
    big = np.flatnonzero(sizes > 1)
    if not big.shape[0]:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    # All ordered pairs within each group of two or more.
    repeat = sizes[big] ** 2
    pair_group = np.repeat(big, repeat)
    local = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    size = sizes[pair_group]
    i = starts[pair_group] + local // size
    j = starts[pair_group] + local % size
    better = options[i]
    worse = options[j]
    current = np.zeros(table.num_options, dtype=np.bool_)
    current[table.current_option] = True
    keep = (better != worse) & ~current[worse]
    return better[keep].astype(np.int64), worse[keep].astype(np.int64)


def _twins(
    better: IntArray,
    worse: IntArray,
    first: IntArray,
    count: IntArray,
    sorted_code: IntArray,
    column: IntArray,
    slot: IntArray,
    slots: int,
) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """For every pair and every column of the worse option (columns sorted by option, then slot),
    the better option's column in the same slot; per pair whether every twin exists and both
    have the same number of columns."""
    n = worse.shape[0]
    ok = count[better] == count[worse]
    repeat = count[worse]
    pair = np.repeat(np.arange(n, dtype=np.int64), repeat)
    offset = np.arange(int(repeat.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(repeat) - repeat, repeat
    )
    q_index = first[worse][pair] + offset
    target = better[pair] * slots + slot[q_index]
    found = np.minimum(np.searchsorted(sorted_code, target), max(sorted_code.shape[0] - 1, 0))
    hit = sorted_code[found] == target if sorted_code.shape[0] else np.zeros(0, dtype=np.bool_)
    missing = np.bincount(pair[~hit], minlength=n) > 0
    ok &= ~missing
    return pair, column[q_index], column[found], ok


def _compare_columns(
    model: LinearModel, p_col: IntArray, q_col: IntArray
) -> tuple[BoolArray, BoolArray]:
    """Per column pair: p's column is no worse than q's in every row outside the network's own
    families and in the objective; and it is strictly better somewhere."""
    compared = np.ones(model.num_rows, dtype=np.bool_)
    for block in model.blocks:
        if block.kind in NETWORK_FAMILIES:
            compared[block.start : block.stop] = False
    lower = np.isfinite(model.row_lower) & compared
    upper = np.isfinite(model.row_upper) & compared
    csc = sp.csc_matrix(model.matrix)
    diff = sp.csc_matrix(csc[:, p_col] - csc[:, q_col])
    diff.eliminate_zeros()
    rows = diff.indices
    cols = np.repeat(np.arange(p_col.shape[0], dtype=np.int64), np.diff(diff.indptr))
    values = diff.data
    # A row with an upper bound needs p <= q; with a lower bound p >= q; with both, equality.
    bad = (upper[rows] & (values > 0)) | (lower[rows] & (values < 0))
    good = (upper[rows] & (values < 0)) | (lower[rows] & (values > 0))
    worse_rows = np.bincount(cols[bad], minlength=p_col.shape[0]) > 0
    better_rows = np.bincount(cols[good], minlength=p_col.shape[0]) > 0
    gain = model.objective[p_col] - model.objective[q_col]
    if model.sense is Sense.MINIMISE:
        gain = -gain
    no_worse = ~worse_rows & (gain >= 0)
    strict = better_rows | (gain > 0)
    return np.asarray(no_worse, dtype=np.bool_), np.asarray(strict, dtype=np.bool_)
