"""Compile an instance with funding scenarios into one model: the extensive form on the scenario
tree (models/scenarios.md).

Every scenario's instance (:func:`portfolio.scenarios.data.scenario_instance`) is compiled as a
plain multi-year model; the models share their column layout (the network depends on contracts,
lead times and lock-ins, which no scenario changes). Each column belongs to one year (an arc to
the year it starts, a broken existing contract to the year it is broken, the kept existing
contract to its last year of possible break, an activity, first-use or in-use indicator to its
year): :func:`column_years`. Scenarios in the same node of the tree at that year share the
column, so their decisions up to that year are one decision, and a scenario's rows are its own
model's rows over its columns. Rows that come out identical for several scenarios (every row of a
year in which they cannot be told apart) are kept once.

What sharing does not cover is a decision taken before the year it acts in: a contract with a
lead time is decided ``lead_time_years`` before it starts. For those, non-anticipativity rows
make the scenarios that were one node at the decision year start the same option in the same
year: ``sum_p x[s, o, t, p]`` is equal across the nodes of year t that descend from one node of
year ``t - lead(o)``.

The objective is the scenarios' objectives combined by the risk measure: by probability
(``expected``), or through an epigraph column ``eta`` (``worst_case``) and shortfall columns
(``cvar``), continuous columns in an otherwise binary model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from portfolio.domain import SECTORS, CVaR, Instance
from portfolio.linear import FloatArray, IntArray, LinearModel, RowBlock, Sense
from portfolio.multiyear.compile import Layout, MultiYearModel, compile_multi_year
from portfolio.multiyear.network import ARC_BROKEN, ARC_KEPT, ARC_NEW
from portfolio.multiyear.schedule import ServicePath
from portfolio.multiyear.table import NO_LOCK, YearTable
from portfolio.scenarios.data import ScenarioTree, build_tree, cost_factors, limits_instance


def column_years(layout: Layout) -> IntArray:
    """The year each column of a multi-year model belongs to: the year its value is known.

    A new contract: its start year; a broken existing contract: the year it is broken; the kept
    existing contract: its last year of possible break (before then, keeping is not yet
    decided); activities, first-use and in-use indicators: their year.
    """
    table = layout.table
    arcs = layout.arcs
    years = np.zeros(layout.num_cols, dtype=np.int64)
    last = table.years - 1
    kept_year = np.minimum(np.where(table.lock_end == NO_LOCK, last, table.lock_end), last)
    arc_year = np.where(
        arcs.kind == ARC_NEW,
        arcs.start,
        np.where(arcs.kind == ARC_BROKEN, arcs.fee_year, kept_year[arcs.service]),
    )
    years[: layout.num_arcs] = arc_year
    years[layout.act_offset : layout.z_offset] = layout.act_year
    years[layout.z_offset : layout.u_offset] = layout.z_year
    years[layout.u_offset : layout.w_offset] = layout.u_year
    years[layout.w_offset : layout.i_offset] = layout.w_year
    years[layout.i_offset :] = layout.i_year
    if np.any((arcs.kind == ARC_KEPT) & (arc_year < 0)):
        raise AssertionError("a kept contract without a year")
    return years


@dataclass(frozen=True)
class ScenarioModel:
    """The compiled extensive form and the maps back to each scenario.

    Attributes:
        model: the linear model.
        compiled: each scenario's own multi-year model (the same layout for all).
        tree: the scenario tree.
        colmap: ``colmap[s][j]``, the column of the extensive form that is column j of scenario
            s's model.
        num_shared: the number of columns of the scenario networks (before any risk columns).
        eta: the epigraph column (``worst_case``, ``cvar``), else -1.
        shortfall: the shortfall column of each scenario (``cvar``), else empty.
        risk: the risk measure (None or ``"expected"``, ``"worst_case"``, a CVaR).
        scenario_objective: each scenario's objective in its own model's columns, with offsets.
    """

    model: LinearModel
    compiled: tuple[MultiYearModel, ...]
    tree: ScenarioTree
    colmap: tuple[IntArray, ...]
    num_shared: int
    eta: int
    shortfall: IntArray
    risk: object
    scenario_objective: tuple[tuple[FloatArray, float], ...]

    def scenario_values(self, x: FloatArray, scenario: int) -> FloatArray:
        """Column values of one scenario's own model."""
        return np.asarray(x[self.colmap[scenario]], dtype=np.float64)

    def decode(self, x: FloatArray) -> list[list[ServicePath]]:
        """Each scenario's decisions from the extensive form's column values."""
        return [
            compiled.decode(self.scenario_values(x, s)) for s, compiled in enumerate(self.compiled)
        ]

    def encode(self, paths: Sequence[Sequence[ServicePath]]) -> FloatArray:
        """Column values of a plan given as each scenario's decisions (a MIP start).

        Raises:
            ValueError: a scenario's plan uses an arc its model does not have.
        """
        x = np.zeros(self.model.num_cols)
        values = []
        for s, compiled in enumerate(self.compiled):
            own = compiled.encode(paths[s])
            x[self.colmap[s]] = own
            objective, offset = self.scenario_objective[s]
            values.append(float(objective @ own + offset))
        if self.eta >= 0:
            maximise = self.model.sense is Sense.MAXIMISE
            x[self.eta], shortfall = _epigraph(self.risk, self.tree.probability, values, maximise)
            if self.shortfall.size:
                x[self.shortfall] = shortfall
        return x


def _epigraph(
    risk: object, probability: Sequence[float], values: Sequence[float], maximise: bool
) -> tuple[float, FloatArray]:
    """The best ``eta`` (and shortfalls) for given scenario objectives."""
    vals = np.asarray(values, dtype=np.float64)
    if not isinstance(risk, CVaR):
        return float(vals.min() if maximise else vals.max()), np.zeros(0)
    probs = np.asarray(probability, dtype=np.float64)
    best: tuple[float, float, FloatArray] | None = None
    for eta in vals:
        short = np.maximum(0.0, eta - vals) if maximise else np.maximum(0.0, vals - eta)
        if maximise:
            score = eta - float(probs @ short) / risk.cvar
        else:
            score = -(eta + float(probs @ short) / risk.cvar)
        if best is None or score > best[0]:
            best = (score, float(eta), short)
    assert best is not None
    return best[1], best[2]


def compile_scenarios(
    instance: Instance, *, fixed_first: Sequence[ServicePath] | None = None
) -> ScenarioModel:
    """Compile an instance with ``scenarios`` into its extensive form.

    Args:
        instance: a validated instance with a horizon and scenarios.
        fixed_first: a plan whose first-year decisions (every contract decided in year 0, and a
            break in year 0) every scenario must take (the expected-value plan, for
            :func:`portfolio.scenarios.appraise.appraise`'s EEV).

    Raises:
        ValueError: the instance has no scenarios.
    """
    if not instance.scenarios or instance.horizon is None:
        raise ValueError("compile_scenarios needs an instance with a horizon and scenarios")
    scenarios = instance.scenarios
    base_table = YearTable.from_instance(instance)
    sector_of_option = base_table.mode_sector[base_table.mode]
    sector_cost = np.zeros((len(SECTORS), base_table.years), dtype=np.bool_)
    np.logical_or.at(sector_cost, sector_of_option, base_table.cost != 0)
    tree = build_tree(instance, sector_cost)
    compiled_list = []
    for scenario in scenarios:
        own = limits_instance(instance, scenario)
        factors = cost_factors(instance, scenario, sector_of_option)
        table = dataclasses.replace(base_table, instance=own, cost=base_table.cost * factors)
        # No dominance: an option dominated in one scenario need not be in another.
        compiled_list.append(compile_multi_year(own, reduce=False, table=table))
    compiled = tuple(compiled_list)
    base = compiled[0]
    layout = base.layout
    for other in compiled[1:]:
        if other.model.num_cols != base.model.num_cols or not np.array_equal(
            other.layout.arcs.option, layout.arcs.option
        ):
            raise AssertionError("the scenarios' networks differ")
    col_year = column_years(layout)
    colmap, num_shared = _column_map(tree, col_year)
    num_scen = len(scenarios)

    # Each scenario's rows over its column copies; a row identical to an earlier one (same
    # entries, same bounds: a row of a year in which the scenarios are one node) is kept once.
    weights = _hash_weights(num_shared)
    mapped_all: list[sp.csr_matrix] = []
    key_parts: list[npt.NDArray[np.uint64]] = []
    row_scenario: list[IntArray] = []
    row_block: list[IntArray] = []
    row_local: list[IntArray] = []
    for s, comp in enumerate(compiled):
        model = comp.model
        matrix = model.matrix
        mapped = sp.csr_matrix(
            (matrix.data, colmap[s][matrix.indices], matrix.indptr),
            shape=(model.num_rows, num_shared),
        )
        mapped_all.append(mapped)
        key_parts.append(_row_keys(mapped, model.row_lower, model.row_upper, weights))
        row_scenario.append(np.full(model.num_rows, s, dtype=np.int64))
        row_block.append(
            np.repeat(np.arange(len(model.blocks)), [b.stop - b.start for b in model.blocks])
        )
        row_local.append(np.arange(model.num_rows, dtype=np.int64))
    keys = np.concatenate(key_parts)
    scen_of = np.concatenate(row_scenario)
    block_of = np.concatenate(row_block)
    local_of = np.concatenate(row_local)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse, dtype=np.int64).ravel()
    owner_mask = np.zeros(first.shape[0], dtype=np.int64)
    np.bitwise_or.at(owner_mask, inverse, np.left_shift(1, scen_of))
    kept = np.zeros(keys.shape[0], dtype=np.bool_)
    kept[first] = True
    matrices: list[sp.csr_matrix] = []
    lowers: list[FloatArray] = []
    uppers: list[FloatArray] = []
    offset = 0
    for s, comp in enumerate(compiled):
        rows = np.flatnonzero(kept[offset : offset + comp.model.num_rows])
        matrices.append(mapped_all[s][rows])
        lowers.append(comp.model.row_lower[rows])
        uppers.append(comp.model.row_upper[rows])
        offset += comp.model.num_rows
    kept_index = np.flatnonzero(kept)
    masks = owner_mask[inverse[kept_index]]
    run_key = np.stack([scen_of[kept_index], block_of[kept_index], masks], axis=1)
    change = np.flatnonzero(np.any(np.diff(run_key, axis=0) != 0, axis=1)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    stops = np.concatenate((change, [kept_index.shape[0]])).astype(np.int64)
    blocks: list[RowBlock] = [
        _block(compiled, tree, (int(run_key[a, 0]), int(run_key[a, 1]), int(run_key[a, 2])),
               int(a), int(z), local_of[kept_index[a:z]].tolist(), num_scen)
        for a, z in zip(starts.tolist(), stops.tolist(), strict=True)
    ]
    row_count = int(kept_index.shape[0])

    extra = [_nonanticipativity(base, tree, colmap, num_shared)]
    if fixed_first is not None:
        extra.append(_fix_first(base, tree, colmap, num_shared, fixed_first))
    for block_rows in extra:
        if block_rows is None:
            continue
        matrix, lower, upper, items, family = block_rows
        matrices.append(matrix)
        lowers.append(lower)
        uppers.append(upper)
        blocks.append(
            RowBlock(family, row_count, row_count + lower.shape[0], tuple(items), kind=family)
        )
        row_count += lower.shape[0]

    matrix = sp.vstack(matrices, format="csr")
    lower = np.concatenate(lowers)
    upper = np.concatenate(uppers)
    sense = base.model.sense
    risk = instance.risk
    probs = np.asarray(tree.probability, dtype=np.float64)
    objectives = tuple(
        (comp.model.objective, float(comp.model.objective_offset)) for comp in compiled
    )
    objective = np.zeros(num_shared)
    objective_offset = 0.0
    eta = -1
    shortfall = np.zeros(0, dtype=np.int64)
    num_cols = num_shared
    if risk is None or risk == "expected":
        for s in range(num_scen):
            np.add.at(objective, colmap[s], probs[s] * objectives[s][0])
            objective_offset += float(probs[s]) * objectives[s][1]
    else:
        maximise = sense is Sense.MAXIMISE
        eta = num_shared
        num_cols = num_shared + 1
        cvar = isinstance(risk, CVaR)
        if cvar:
            shortfall = np.arange(num_shared + 1, num_shared + 1 + num_scen, dtype=np.int64)
            num_cols += num_scen
        # One row per scenario: eta against the scenario's objective (and its shortfall).
        rows_r, cols_r, vals_r = [], [], []
        r_lower = np.full(num_scen, -np.inf)
        r_upper = np.full(num_scen, np.inf)
        for s in range(num_scen):
            c, off = objectives[s]
            nz = np.flatnonzero(c)
            # maximise: eta - R_s - xi_s <= 0 ; minimise: eta - C_s + xi_s >= 0
            rows_r += [np.full(nz.size + 1, s)]
            cols_r += [np.concatenate([colmap[s][nz], [eta]])]
            vals_r += [np.concatenate([-c[nz], [1.0]])]
            if cvar:
                rows_r += [np.array([s])]
                cols_r += [np.array([shortfall[s]])]
                vals_r += [np.array([-1.0 if maximise else 1.0])]
            if maximise:
                r_upper[s] = off
            else:
                r_lower[s] = off
        risk_matrix = sp.csr_matrix(
            (np.concatenate(vals_r), (np.concatenate(rows_r), np.concatenate(cols_r))),
            shape=(num_scen, num_cols),
        )
        risk_matrix.sum_duplicates()
        matrix = sp.vstack(
            [sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr),
                           shape=(matrix.shape[0], num_cols)), risk_matrix],
            format="csr",
        )
        blocks.append(
            RowBlock("risk", row_count, row_count + num_scen, tuple(tree.names), kind="risk")
        )
        lower = np.concatenate([lower, r_lower])
        upper = np.concatenate([upper, r_upper])
        objective = np.zeros(num_cols)
        objective[eta] = 1.0
        if cvar:
            sign = -1.0 if maximise else 1.0
            objective[shortfall] = sign * probs / risk.cvar  # type: ignore[union-attr]

    col_lower = np.zeros(num_cols)
    col_upper = np.ones(num_cols)
    integrality = np.ones(num_cols, dtype=np.bool_)
    if eta >= 0:
        col_lower[eta], col_upper[eta] = -np.inf, np.inf
        integrality[eta] = False
        if shortfall.size:
            col_upper[shortfall] = np.inf
            integrality[shortfall] = False
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    model = LinearModel(
        sense=sense,
        objective=objective,
        objective_offset=objective_offset,
        matrix=matrix,
        row_lower=lower,
        row_upper=upper,
        col_lower=col_lower,
        col_upper=col_upper,
        integrality=integrality,
        blocks=tuple(blocks),
    )
    model.validate_shapes()
    return ScenarioModel(
        model=model,
        compiled=compiled,
        tree=tree,
        colmap=tuple(colmap),
        num_shared=num_shared,
        eta=eta,
        shortfall=shortfall,
        risk=risk,
        scenario_objective=objectives,
    )


def _column_map(tree: ScenarioTree, col_year: IntArray) -> tuple[list[IntArray], int]:
    """Each scenario's columns in the extensive form: column j of year t is shared by the
    scenarios of one node of year t."""
    years = int(col_year.max()) + 1 if col_year.size else 0
    count = np.bincount(col_year, minlength=years)
    order = np.argsort(col_year, kind="stable")
    position = np.empty_like(col_year)
    position[order] = np.arange(col_year.size) - np.repeat(np.cumsum(count) - count, count)
    nodes_per_year = np.array([len(tree.nodes_in(t)) for t in range(years)], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(nodes_per_year * count)])
    rank = {}
    for t in range(years):
        for k, n in enumerate(tree.nodes_in(t)):
            rank[n] = k
    colmap = []
    for s in range(len(tree.names)):
        node_rank = np.array([rank[tree.node[s][t]] for t in range(years)], dtype=np.int64)
        colmap.append(
            (offset[col_year] + node_rank[col_year] * count[col_year] + position).astype(np.int64)
        )
    return colmap, int(offset[-1])


def _block(
    compiled: Sequence[MultiYearModel],
    tree: ScenarioTree,
    run: tuple[int, int, int],
    start: int,
    stop: int,
    rows: list[int],
    num_scen: int,
) -> RowBlock:
    s, b, mask = run
    block = compiled[s].model.blocks[b]
    family = block.family
    owners = [o for o in range(num_scen) if mask >> o & 1]
    if len(owners) < num_scen:
        family = f"{family} in {', '.join(tree.names[o] for o in owners)}"
    items = None
    if block.items is not None:
        items = _Picked(block.items, [r - block.start for r in rows])
    return RowBlock(family, start, stop, items, kind=block.kind, key=block.key, side=block.side)


class _Picked(Sequence[str]):
    """Some of a block's row labels, read when asked for (labels are built lazily)."""

    def __init__(self, items: Sequence[str], picked: list[int]) -> None:
        self._items = items
        self._picked = picked

    def __len__(self) -> int:
        return len(self._picked)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self._items[i] for i in self._picked[index]]
        return self._items[self._picked[index]]


def _hash_weights(num_cols: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Two fixed random 64-bit weights per column, for row keys (:func:`_row_keys`)."""
    rng = np.random.default_rng(20261202)
    return (
        rng.integers(1, 2**63, size=num_cols, dtype=np.uint64) | np.uint64(1),
        rng.integers(1, 2**63, size=num_cols, dtype=np.uint64) | np.uint64(1),
    )


def _row_keys(
    matrix: sp.csr_matrix,
    lower: FloatArray,
    upper: FloatArray,
    weights: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]],
) -> npt.NDArray[np.uint64]:
    """A 128-bit key per row (rows x 2) from its entries and bounds: equal rows have equal keys, and
    different rows equal keys with probability about 2**-100 (each entry's column weight times
    its value's bits, summed modulo 2**64, twice with independent weights)."""
    bits = np.ascontiguousarray(matrix.data, dtype=np.float64).view(np.uint64)
    keys = []
    for weight, salt in zip(weights, (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F), strict=True):
        with np.errstate(over="ignore"):
            term = weight[matrix.indices] * (bits ^ np.uint64(salt))
            term ^= term >> np.uint64(29)
            running = np.concatenate(([np.uint64(0)], np.cumsum(term, dtype=np.uint64)))
            per_row = running[matrix.indptr[1:]] - running[matrix.indptr[:-1]]
            bounds = (
                np.ascontiguousarray(lower, dtype=np.float64).view(np.uint64) * np.uint64(salt)
                + np.ascontiguousarray(upper, dtype=np.float64).view(np.uint64)
                * np.uint64(0xFF51AFD7ED558CCD)
            )
            keys.append(per_row + bounds)
    return np.stack(keys, axis=1)


def _decision_groups(base: MultiYearModel) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The new-contract arcs grouped by decision (service, option, start year): the arcs, their
    group, and per group its start year and decision year (start less the lead time)."""
    arcs = base.layout.arcs
    table = base.table
    new = np.flatnonzero(arcs.kind == ARC_NEW)
    key = (arcs.service[new] * table.num_options + arcs.option[new]) * table.years + arcs.start[
        new
    ]
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    group = np.asarray(group, dtype=np.int64).ravel()
    start = arcs.start[new][first]
    decided = start - table.lead[arcs.option[new][first]]
    return new, group, start, decided


def _nonanticipativity(
    base: MultiYearModel, tree: ScenarioTree, colmap: Sequence[IntArray], num_cols: int
) -> tuple[sp.csr_matrix, FloatArray, FloatArray, list[str], str] | None:
    """nonanticipativity: sum_p x[o, t, p](n) - sum_p x[o, t, p](n') = 0 for consecutive nodes
    n, n' of year t that descend from one node of the decision year t - lead(o)."""
    arcs_new, group, start, decided = _decision_groups(base)
    lagged = np.flatnonzero(decided < start)
    if lagged.size == 0 or tree.num_nodes == len(set(tree.node_year)):
        return None
    rep = {}  # a representative scenario of each node
    for n, members in enumerate(tree.members):
        rep[n] = members[0]
    rows_l, cols_l, vals_l, items = [], [], [], []
    row = 0
    table = base.table
    arcs = base.layout.arcs
    for t, d in sorted({(int(start[g]), int(decided[g])) for g in lagged}):
        groups = np.flatnonzero((start == t) & (decided == d))
        in_groups = np.isin(group, groups)
        arc_cols = arcs_new[in_groups]
        local = np.searchsorted(groups, group[in_groups])
        for parent in tree.nodes_in(d):
            children = [n for n in tree.nodes_in(t) if set(tree.members[n]) <= set(
                tree.members[parent])]
            for a, b in zip(children, children[1:], strict=False):
                sa, sb = rep[a], rep[b]
                rows_l += [row + local, row + local]
                cols_l += [colmap[sa][arc_cols], colmap[sb][arc_cols]]
                vals_l += [np.ones(arc_cols.size), -np.ones(arc_cols.size)]
                for g in groups:
                    first_arc = arcs_new[np.flatnonzero(group == g)[0]]
                    items.append(
                        f"{table.service_ids[arcs.service[first_arc]]} option "
                        f"{int(table.position[arcs.option[first_arc]])} from "
                        f"{table.horizon.start_year + t} (decided {table.horizon.start_year + d}; "
                        f"{tree.names[sa]} = {tree.names[sb]})"
                    )
                row += groups.size
    if row == 0:
        return None
    matrix = sp.csr_matrix(
        (np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
        shape=(row, num_cols),
    )
    return matrix, np.zeros(row), np.zeros(row), items, "nonanticipativity"


def _fix_first(
    base: MultiYearModel,
    tree: ScenarioTree,
    colmap: Sequence[IntArray],
    num_cols: int,
    plan: Sequence[ServicePath],
) -> tuple[sp.csr_matrix, FloatArray, FloatArray, list[str], str] | None:
    """first_year_fixed: every decision of year 0 (each contract decided in year 0, the break
    of an existing contract in year 0) as ``plan`` takes it, in every scenario."""
    arcs_new, group, start, decided = _decision_groups(base)
    table = base.table
    arcs = base.layout.arcs
    index = {sid: s for s, sid in enumerate(table.service_ids)}
    taken: set[tuple[int, int, int]] = set()
    broken0: set[int] = set()
    for path in plan:
        s = index[path.service]
        first = int(table.first_option[s])
        for position, year in path.starts:
            taken.add((s, first + position, year))
        if path.broken_in == 0:
            broken0.add(s)
    rows_l, cols_l, vals_l, values, items = [], [], [], [], []
    row = 0
    for g in np.flatnonzero(decided == 0):
        members = arcs_new[group == g]
        arc = members[0]
        key = (int(arcs.service[arc]), int(arcs.option[arc]), int(start[g]))
        for s in {tree.members[n][0] for n in tree.nodes_in(int(start[g]))}:
            rows_l.append(np.full(members.size, row))
            cols_l.append(colmap[s][members])
            vals_l.append(np.ones(members.size))
            values.append(1.0 if key in taken else 0.0)
            items.append(f"{table.service_ids[key[0]]} option {int(table.position[key[1]])} "
                         f"from {table.horizon.start_year + key[2]}")
            row += 1
    broken = np.flatnonzero((arcs.kind == ARC_BROKEN) & (arcs.fee_year == 0))
    for arc in broken:
        service = int(arcs.service[arc])
        for s in {tree.members[n][0] for n in tree.nodes_in(0)}:
            rows_l.append(np.array([row]))
            cols_l.append(np.array([colmap[s][arc]]))
            vals_l.append(np.ones(1))
            values.append(1.0 if service in broken0 else 0.0)
            items.append(f"{table.service_ids[service]} break in {table.horizon.start_year}")
            row += 1
    if row == 0:
        return None
    matrix = sp.csr_matrix(
        (np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
        shape=(row, num_cols),
    )
    fixed = np.asarray(values, dtype=np.float64)
    return matrix, fixed, fixed.copy(), items, "first_year_fixed"

