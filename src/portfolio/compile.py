"""Compile an instance into a solver-neutral :class:`~portfolio.linear.LinearModel`.

The instance is first turned into columnar arrays (:class:`OptionTable`, one entry per option), then
each constraint family is one vectorised function ``_add_<family>`` returning a block of rows in
coordinate form; the blocks are stacked into one CSR matrix. The same maths, family by family, is
written in ``models/single_period.md``.

Columns: ``x_o`` (binary) for every option that can be chosen, then ``y_m`` (binary) for every mode
with a setup cost or a ``min_services``. Options that can never be chosen are not given a column:
ceasing options of statutory services, options outside a ``fixed`` mode, and options that alone
break a nonnegative knapsack row (budget, transition budget, max changes, ``max`` limits) whatever
the other services choose.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

import numpy as np
import scipy.sparse as sp

from portfolio.domain import SECTORS, Instance, WeightedObjective
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, RowBlock, Sense

INF = np.inf


# ---------------------------------------------------------------------- columnar data
@dataclass(frozen=True)
class OptionTable:
    """The instance as arrays over all options (in file order, services then options).

    Attributes:
        service_ids: service ids in file order.
        mode_ids: mode ids in file order.
        service: service index of each option.
        position: index of each option within its service's list.
        mode: mode index of each option.
        annual_cost, transition_cost, outcome, flexibility: option figures (NaN: no flexibility).
        changes: 1.0 where the option's mode differs from the service's current mode.
        weight: weight of each service.
        statutory: statutory flag of each service.
        current_mode: current mode index of each service.
        first_option: index of each service's first option (length services + 1).
        mode_sector: sector index (into SECTORS) of each mode.
    """

    instance: Instance
    service_ids: tuple[str, ...]
    mode_ids: tuple[str, ...]
    service: IntArray
    position: IntArray
    mode: IntArray
    annual_cost: FloatArray
    transition_cost: FloatArray
    outcome: FloatArray
    flexibility: FloatArray
    changes: FloatArray
    weight: FloatArray
    statutory: BoolArray
    current_mode: IntArray
    first_option: IntArray
    mode_sector: IntArray
    _figures: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_instance(cls, instance: Instance) -> OptionTable:
        """Extract the arrays: one pass over the options."""
        mode_ids = tuple(mode.id for mode in instance.modes)
        mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
        services = instance.services
        counts = np.fromiter(
            (len(s.options) for s in services), dtype=np.int64, count=len(services)
        )
        first_option = np.concatenate(([0], np.cumsum(counts)))
        options = [option for service in services for option in service.options]
        n = len(options)
        service_of = np.repeat(np.arange(len(services), dtype=np.int64), counts)
        position = np.arange(n, dtype=np.int64) - first_option[service_of]
        mode = np.fromiter((mode_index[o.mode] for o in options), dtype=np.int64, count=n)
        current = np.fromiter(
            (mode_index[s.current_mode] for s in services), dtype=np.int64, count=len(services)
        )

        def column(name: str) -> FloatArray:
            return np.fromiter((getattr(o, name) for o in options), dtype=np.float64, count=n)

        flexibility = np.fromiter(
            (np.nan if o.flexibility is None else o.flexibility for o in options),
            dtype=np.float64,
            count=n,
        )
        changes = (mode != current[service_of]).astype(np.float64)
        sector_index = {sector: i for i, sector in enumerate(SECTORS)}
        return cls(
            instance=instance,
            service_ids=tuple(s.id for s in services),
            mode_ids=mode_ids,
            service=service_of,
            position=position,
            mode=mode,
            annual_cost=column("annual_cost"),
            transition_cost=column("transition_cost") * changes,
            outcome=column("outcome"),
            flexibility=flexibility,
            changes=changes,
            weight=np.fromiter((s.weight for s in services), np.float64, len(services)),
            statutory=np.fromiter((s.statutory for s in services), np.bool_, len(services)),
            current_mode=current,
            first_option=first_option,
            mode_sector=np.array([sector_index[m.sector] for m in instance.modes], np.int64),
        )

    @property
    def num_options(self) -> int:
        """Number of options in the instance."""
        return int(self.service.shape[0])

    @property
    def num_services(self) -> int:
        """Number of services."""
        return len(self.service_ids)

    def figure(self, name: str) -> FloatArray:
        """A named figure over all options (DESIGN.md: own field, else metrics entry, else 0).

        ``transition_cost`` is the cost actually paid: zero where the mode does not change.
        """
        if name == "annual_cost":
            return self.annual_cost
        if name == "transition_cost":
            return self.transition_cost
        if name == "outcome":
            return self.outcome
        cached = self._figures.get(name)
        if cached is None:
            cached = np.fromiter(
                (o.figure(name) for s in self.instance.services for o in s.options),
                dtype=np.float64,
                count=self.num_options,
            )
            self._figures[name] = cached
        return cached

    def mode_mask(self, mode_id: str | None = None, sector: str | None = None) -> BoolArray:
        """Options in the given mode and/or sector (all options when both are None)."""
        mask = np.ones(self.num_options, dtype=np.bool_)
        if mode_id is not None:
            mask &= self.mode == self.mode_ids.index(mode_id)
        if sector is not None:
            mask &= self.mode_sector[self.mode] == SECTORS.index(sector)
        return mask


# ---------------------------------------------------------------------- compiled model
class LazyLabels(Sequence[str]):
    """Row labels built on demand: ``service_ids[service[i]]/position[i]`` for option rows."""

    def __init__(self, table: OptionTable, options: IntArray) -> None:
        self._table = table
        self._options = options

    def __len__(self) -> int:
        return int(self._options.shape[0])

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        option = int(self._options[index])
        table = self._table
        service = table.service_ids[int(table.service[option])]
        return f"{service}/option {int(table.position[option])}"

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class CompiledModel:
    """A LinearModel and the maps back to the instance.

    Attributes:
        model: the linear model.
        table: the columnar instance.
        option_of_column: for each x column, the option (index into ``table``) it stands for.
        mode_of_y: for each y column (after the x columns), the mode index it stands for.
        removed: number of options given no column, by reason.
    """

    model: LinearModel
    table: OptionTable
    option_of_column: IntArray
    mode_of_y: IntArray
    removed: dict[str, int]

    @property
    def num_x(self) -> int:
        """Number of option columns."""
        return int(self.option_of_column.shape[0])

    def decode(self, x: FloatArray) -> list[int]:
        """Chosen option position (within each service's list) from column values.

        For each service the option column with the largest value is taken; the verifier then
        checks the plan, so a fractional or inconsistent vector cannot pass unnoticed.
        """
        table = self.table
        values = np.asarray(x[: self.num_x], dtype=np.float64)
        services = table.service[self.option_of_column]
        # Sort columns by (service, -value): the first of each service is its choice.
        order = np.lexsort((-values, services))
        firsts = order[np.r_[True, services[order][1:] != services[order][:-1]]]
        chosen = np.full(table.num_services, -1, dtype=np.int64)
        chosen[services[firsts]] = table.position[self.option_of_column[firsts]]
        return [int(v) for v in chosen]

    def encode(self, positions: Sequence[int]) -> FloatArray:
        """Column values for a plan given as option positions (raises if one has no column)."""
        table = self.table
        wanted = table.first_option[:-1] + np.asarray(positions, dtype=np.int64)
        x = np.zeros(self.model.num_cols, dtype=np.float64)
        column_of_option = np.full(table.num_options, -1, dtype=np.int64)
        column_of_option[self.option_of_column] = np.arange(self.num_x)
        columns = column_of_option[wanted]
        if (columns < 0).any():
            raise ValueError("the plan uses an option that has no column")
        x[columns] = 1.0
        if self.mode_of_y.size:
            used = np.zeros(len(table.mode_ids), dtype=np.bool_)
            used[table.mode[wanted]] = True
            x[self.num_x :] = used[self.mode_of_y].astype(np.float64)
        return x


# ---------------------------------------------------------------------- row blocks
@dataclass
class _Rows:
    """Rows of one family in coordinate form (row numbers local to the block)."""

    family: str
    rows: IntArray
    cols: IntArray
    vals: FloatArray
    lower: FloatArray
    upper: FloatArray
    items: Sequence[str] | None = None


def _single_row(family: str, cols: IntArray, vals: FloatArray, lo: float, hi: float) -> _Rows:
    return _Rows(
        family,
        np.zeros(cols.shape[0], dtype=np.int64),
        cols,
        vals,
        np.array([lo]),
        np.array([hi]),
    )


@dataclass(frozen=True)
class _Columns:
    """Column layout shared by the family builders."""

    table: OptionTable
    options: IntArray  # option index of each x column
    y_modes: IntArray  # mode index of each y column
    y_column: dict[int, int]  # mode index -> column index

    @property
    def num_x(self) -> int:
        return int(self.options.shape[0])

    def over_x(
        self, coef: FloatArray, mask: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """(columns, values) of a figure over the x columns, zeros dropped."""
        values = coef[self.options]
        keep = values != 0
        if mask is not None:
            keep &= mask[self.options]
        cols = np.flatnonzero(keep)
        return cols, values[cols]


def _add_choice(c: _Columns) -> _Rows:
    """choice: sum_{o in O(s)} x_o = 1 for every service s."""
    services = c.table.service[c.options]
    n = c.table.num_services
    return _Rows(
        "choice",
        services,
        np.arange(c.num_x, dtype=np.int64),
        np.ones(c.num_x),
        np.ones(n),
        np.ones(n),
        c.table.service_ids,
    )


def _add_budget(c: _Columns, budget: float) -> _Rows:
    """budget: sum_o annual_cost_o x_o <= budget."""
    cols, vals = c.over_x(c.table.annual_cost)
    return _single_row("budget", cols, vals, -INF, budget)


def _add_transition_budget(c: _Columns, limit: float) -> _Rows:
    """transition_budget: sum_o t_o [mode(o) != current] x_o + sum_m setup_m y_m <= limit."""
    cols, vals = c.over_x(c.table.transition_cost)
    setup = np.array([c.table.instance.modes[m].setup_cost for m in c.y_modes], dtype=np.float64)
    y_cols = c.num_x + np.flatnonzero(setup)
    return _single_row(
        "transition_budget",
        np.concatenate((cols, y_cols)),
        np.concatenate((vals, setup[setup != 0])),
        -INF,
        limit,
    )


def _add_min_outcome(c: _Columns, floor: float) -> _Rows:
    """min_outcome: sum_o w_s(o) outcome_o x_o >= floor."""
    cols, vals = c.over_x(c.table.weight[c.table.service] * c.table.outcome)
    return _single_row("min_outcome", cols, vals, floor, INF)


def _add_min_flexibility(c: _Columns, floor: float) -> _Rows:
    """min_flexibility: sum_o annual_cost_o (f_o - f_min) x_o >= 0 (spend-weighted mean)."""
    table = c.table
    cols, vals = c.over_x(table.annual_cost * (table.flexibility - floor))
    return _single_row("min_flexibility", cols, vals, 0.0, INF)


def _add_max_changes(c: _Columns, limit: int) -> _Rows:
    """max_changes: sum_o [mode(o) != current_mode(s(o))] x_o <= max_changes."""
    cols, vals = c.over_x(c.table.changes)
    return _single_row("max_changes", cols, vals, -INF, float(limit))


def _add_capacity(c: _Columns) -> list[_Rows]:
    """capacity_count[m]: sum_{o in m} x_o <= max_services_m;
    capacity_spend[m]: sum_{o in m} annual_cost_o x_o <= max_spend_m."""
    table = c.table
    blocks = []
    for attribute, family, coef in (
        ("max_services", "capacity_count", np.ones(table.num_options)),
        ("max_spend", "capacity_spend", table.annual_cost),
    ):
        modes = [i for i, m in enumerate(table.instance.modes) if getattr(m, attribute) is not None]
        if not modes:
            continue
        limits = np.array([getattr(table.instance.modes[m], attribute) for m in modes], float)
        row_of_mode = np.full(len(table.mode_ids), -1, dtype=np.int64)
        row_of_mode[modes] = np.arange(len(modes))
        rows_all = row_of_mode[table.mode[c.options]]
        keep = (rows_all >= 0) & (coef[c.options] != 0)
        cols = np.flatnonzero(keep)
        blocks.append(
            _Rows(
                family,
                rows_all[cols],
                cols,
                coef[c.options][cols],
                np.full(len(modes), -INF),
                limits,
                tuple(table.mode_ids[m] for m in modes),
            )
        )
    return blocks


def _add_min_services(c: _Columns) -> _Rows | None:
    """min_services[m]: sum_{o in m} x_o - min_services_m y_m >= 0."""
    table = c.table
    modes = [m for m in c.y_modes.tolist() if (table.instance.modes[m].min_services or 0) > 0]
    if not modes:
        return None
    row_of_mode = np.full(len(table.mode_ids), -1, dtype=np.int64)
    row_of_mode[modes] = np.arange(len(modes))
    rows_x = row_of_mode[table.mode[c.options]]
    cols_x = np.flatnonzero(rows_x >= 0)
    y_cols = np.array([c.y_column[m] for m in modes], dtype=np.int64)
    minimum = np.array([table.instance.modes[m].min_services for m in modes], dtype=np.float64)
    return _Rows(
        "min_services",
        np.concatenate((rows_x[cols_x], np.arange(len(modes)))),
        np.concatenate((cols_x, y_cols)),
        np.concatenate((np.ones(cols_x.shape[0]), -minimum)),
        np.zeros(len(modes)),
        np.full(len(modes), INF),
        tuple(table.mode_ids[m] for m in modes),
    )


def _add_linking(c: _Columns) -> _Rows | None:
    """linking[o]: x_o - y_m(o) <= 0 for every option whose mode has a y column (disaggregated)."""
    if not c.y_column:
        return None
    y_of_mode = np.full(len(c.table.mode_ids), -1, dtype=np.int64)
    for mode, column in c.y_column.items():
        y_of_mode[mode] = column
    y_cols = y_of_mode[c.table.mode[c.options]]
    linked = np.flatnonzero(y_cols >= 0)
    count = linked.shape[0]
    rows = np.arange(count, dtype=np.int64)
    return _Rows(
        "linking",
        np.concatenate((rows, rows)),
        np.concatenate((linked, y_cols[linked])),
        np.concatenate((np.ones(count), -np.ones(count))),
        np.full(count, -INF),
        np.zeros(count),
        LazyLabels(c.table, c.options[linked]),
    )


def _add_sector_share(c: _Columns) -> list[_Rows]:
    """sector_share[k].max: sum_o c_o ([sector(o) = k] - u_k) x_o <= 0;
    sector_share[k].min: sum_o c_o ([sector(o) = k] - l_k) x_o >= 0."""
    table = c.table
    blocks = []
    in_sector_all = table.mode_sector[table.mode]
    for sector, bound in table.instance.constraints.sector_share.items():
        member = (in_sector_all == SECTORS.index(sector)).astype(np.float64)
        for side, share in (("max", bound.max), ("min", bound.min)):
            if share is None:
                continue
            cols, vals = c.over_x(table.annual_cost * (member - share))
            lo, hi = (-INF, 0.0) if side == "max" else (0.0, INF)
            blocks.append(_single_row(f"sector_share[{sector}].{side}", cols, vals, lo, hi))
    return blocks


def _add_same_mode(c: _Columns) -> _Rows | None:
    """same_mode[b]: for consecutive services (a, s) of bundle b and every mode m offered to either,
    sum_{o in O(a), mode m} x_o - sum_{o in O(s), mode m} x_o = 0."""
    table = c.table
    bundles = table.instance.constraints.same_mode
    if not bundles:
        return None
    index = {sid: i for i, sid in enumerate(table.service_ids)}
    x_service = table.service[c.options]
    x_mode = table.mode[c.options]
    rows, cols, vals, items = [], [], [], []
    row = 0
    for b, bundle in enumerate(bundles):
        members = [index[sid] for sid in bundle]
        for first, second in zip(members, members[1:], strict=False):
            cols_a = np.flatnonzero(x_service == first)
            cols_b = np.flatnonzero(x_service == second)
            modes = np.union1d(x_mode[cols_a], x_mode[cols_b])
            row_of_mode = np.full(len(table.mode_ids), -1, dtype=np.int64)
            row_of_mode[modes] = row + np.arange(modes.shape[0])
            rows += [row_of_mode[x_mode[cols_a]], row_of_mode[x_mode[cols_b]]]
            cols += [cols_a, cols_b]
            vals += [np.ones(cols_a.shape[0]), -np.ones(cols_b.shape[0])]
            pair = f"{b}:{table.service_ids[first]}={table.service_ids[second]}"
            items += [f"{pair}@{table.mode_ids[m]}" for m in modes.tolist()]
            row += modes.shape[0]
    return _Rows(
        "same_mode",
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        np.zeros(row),
        np.zeros(row),
        tuple(items),
    )


def _add_limits(c: _Columns) -> list[_Rows]:
    """limits[i]: min_i <= sum_{o matching mode/sector filter} figure_i(o) x_o <= max_i."""
    table = c.table
    blocks = []
    for i, limit in enumerate(table.instance.constraints.limits):
        mask = table.mode_mask(limit.mode, limit.sector)
        cols, vals = c.over_x(table.figure(limit.metric), mask)
        lo = -INF if limit.min is None else limit.min
        hi = INF if limit.max is None else limit.max
        blocks.append(_single_row(f"limits[{i}]", cols, vals, lo, hi))
    return blocks


# ---------------------------------------------------------------------- objective
def objective_coefficients(table: OptionTable) -> tuple[Sense, FloatArray, FloatArray]:
    """(sense, coefficient per option, coefficient per mode for its setup indicator)."""
    instance = table.instance
    setup = np.array([m.setup_cost for m in instance.modes], dtype=np.float64)
    zero_modes = np.zeros(len(instance.modes))
    objective = instance.objective
    if objective == "maximise_outcome":
        return Sense.MAXIMISE, table.weight[table.service] * table.outcome, zero_modes
    if objective == "minimise_cost":
        return Sense.MINIMISE, table.annual_cost + table.transition_cost, setup
    assert isinstance(objective, WeightedObjective)
    coef = np.zeros(table.num_options)
    per_mode = zero_modes.copy()
    for name, w in objective.terms.items():
        if name == "outcome":
            coef += w * table.weight[table.service] * table.outcome
        elif name == "setup_cost":
            per_mode += w * setup
        else:
            coef += w * table.figure(name)
    sense = Sense.MAXIMISE if objective.sense == "maximise" else Sense.MINIMISE
    return sense, coef, per_mode


# ---------------------------------------------------------------------- reductions
def _allowed_options(table: OptionTable) -> tuple[BoolArray, dict[str, int]]:
    """Options that can be chosen at all, and how many were removed by each reduction."""
    instance = table.instance
    allowed = np.ones(table.num_options, dtype=np.bool_)
    removed: dict[str, int] = {}

    ceases = np.array([m.ceases_service for m in instance.modes], dtype=np.bool_)
    statutory_cease = table.statutory[table.service] & ceases[table.mode]
    removed["statutory"] = int(statutory_cease.sum())
    allowed &= ~statutory_cease

    fixed = instance.constraints.fixed
    if fixed:
        service_index = {sid: i for i, sid in enumerate(table.service_ids)}
        fixed_mode = np.full(table.num_services, -1, dtype=np.int64)
        for sid, mode_id in fixed.items():
            fixed_mode[service_index[sid]] = table.mode_ids.index(mode_id)
        target = fixed_mode[table.service]
        off = (target >= 0) & (table.mode != target)
        removed["fixed"] = int((off & allowed).sum())
        allowed &= ~off

    constraints = instance.constraints
    knapsacks: list[tuple[FloatArray, float]] = []
    if constraints.budget is not None:
        knapsacks.append((table.annual_cost, constraints.budget))
    if constraints.max_changes is not None:
        knapsacks.append((table.changes, float(constraints.max_changes)))
    if constraints.transition_budget is not None:
        knapsacks.append((table.transition_cost, constraints.transition_budget))
    for limit in constraints.limits:
        if limit.max is None:
            continue
        coef = np.where(table.mode_mask(limit.mode, limit.sector), table.figure(limit.metric), 0.0)
        if (coef >= 0).all():
            knapsacks.append((coef, limit.max))
    before = int(allowed.sum())
    for coef, capacity in knapsacks:
        allowed = _knapsack_reduce(table, allowed, coef, capacity)
    removed["knapsack"] = before - int(allowed.sum())
    return allowed, {k: v for k, v in removed.items() if v}


def _knapsack_reduce(
    table: OptionTable, allowed: BoolArray, coef: FloatArray, capacity: float
) -> BoolArray:
    """Drop options o with coef_o - min_{s(o)} + sum_s min_s > capacity (nonnegative coef).

    A service whose every option would go keeps them all: the solver then proves infeasibility.
    """
    masked = np.where(allowed, coef, INF)
    min_per_service = np.minimum.reduceat(masked, table.first_option[:-1])
    if not np.isfinite(min_per_service).all():
        return allowed
    total_min = float(min_per_service.sum())
    slack = capacity - total_min
    tolerance = 1e-9 * max(1.0, abs(capacity))
    excess = coef - min_per_service[table.service]
    keep = allowed & (excess <= slack + tolerance)
    alive = np.add.reduceat(keep.astype(np.int64), table.first_option[:-1])
    dead_services = alive == 0
    if dead_services.any():
        keep |= allowed & dead_services[table.service]
    return keep


# ---------------------------------------------------------------------- compile
def compile_instance(instance: Instance, *, reduce: bool = True) -> CompiledModel:
    """Compile an instance into a LinearModel and the maps back to the instance.

    Args:
        instance: a validated instance.
        reduce: drop options that can never be chosen (statutory ceasing and ``fixed`` options are
            always dropped: they are constraints; the knapsack reduction only when True).
    """
    table = OptionTable.from_instance(instance)
    if reduce:
        allowed, removed = _allowed_options(table)
    else:
        allowed, removed = _structural_only(table)
    options = np.flatnonzero(allowed)

    sense, x_coef, mode_coef = objective_coefficients(table)
    used_modes = np.unique(table.mode[options])
    y_modes = np.array(
        [
            m
            for m in used_modes.tolist()
            if instance.modes[m].setup_cost > 0 or (instance.modes[m].min_services or 0) > 0
        ],
        dtype=np.int64,
    )
    num_x = int(options.shape[0])
    columns = _Columns(
        table, options, y_modes, {int(m): num_x + i for i, m in enumerate(y_modes.tolist())}
    )

    constraints = instance.constraints
    blocks: list[_Rows | None] = [_add_choice(columns)]
    if constraints.budget is not None:
        blocks.append(_add_budget(columns, constraints.budget))
    if constraints.transition_budget is not None:
        blocks.append(_add_transition_budget(columns, constraints.transition_budget))
    if constraints.min_outcome is not None:
        blocks.append(_add_min_outcome(columns, constraints.min_outcome))
    if constraints.min_flexibility is not None:
        blocks.append(_add_min_flexibility(columns, constraints.min_flexibility))
    if constraints.max_changes is not None:
        blocks.append(_add_max_changes(columns, constraints.max_changes))
    blocks += _add_capacity(columns)
    blocks.append(_add_min_services(columns))
    blocks += _add_sector_share(columns)
    blocks.append(_add_same_mode(columns))
    blocks += _add_limits(columns)
    blocks.append(_add_linking(columns))

    model = _assemble(
        [b for b in blocks if b is not None],
        num_cols=num_x + int(y_modes.shape[0]),
        sense=sense,
        objective=np.concatenate((x_coef[options], mode_coef[y_modes])),
    )
    if reduce:
        dominated = _dominated_columns(model, table, options)
        if dominated.any():
            removed["dominated"] = int(dominated.sum())
            model = _drop_columns(model, dominated)
            options = options[~dominated[:num_x]]
    return CompiledModel(model, table, options, y_modes, removed)


#: Row families that may differ between two options of one service in one mode. Every other
#: family (choice, capacity_count, min_services, same_mode, linking) treats such options alike.
AGGREGATE_FAMILIES = (
    "budget",
    "transition_budget",
    "min_outcome",
    "min_flexibility",
    "max_changes",
    "capacity_spend",
    "sector_share",
    "limits",
)


def _dominated_columns(model: LinearModel, table: OptionTable, options: IntArray) -> BoolArray:
    """Option columns dominated by another option of the same service in the same mode.

    Column j dominates column k when both serve the same service in the same mode (so every
    structural row treats them alike) and j is at least as good in every aggregate row (no more
    on a ``<=`` row, no less on a ``>=`` row, equal on a two-sided row) and in the objective.
    Any plan using k stays feasible and no worse with j instead, so k can go. Among identical
    columns the first is kept, which makes the relation a strict order: a best option of every
    (service, mode) always remains.
    """
    num_x = int(options.shape[0])
    dominated = np.zeros(model.num_cols, dtype=np.bool_)
    rows = np.concatenate(
        [
            np.arange(block.start, block.stop)
            for block in model.blocks
            if block.family.split("[")[0] in AGGREGATE_FAMILIES
        ]
        or [np.zeros(0, dtype=np.int64)]
    )
    # Scores oriented so that larger is better; two-sided rows appear twice (equality needed).
    sub = model.matrix[rows][:, :num_x].toarray() if rows.size else np.zeros((0, num_x))
    lower_finite = np.isfinite(model.row_lower[rows])
    upper_finite = np.isfinite(model.row_upper[rows])
    sign = 1.0 if model.sense is Sense.MAXIMISE else -1.0
    scores = np.vstack(
        (
            sign * model.objective[:num_x],
            sub[lower_finite],
            -sub[upper_finite],
        )
    )
    key = table.service[options] * len(table.mode_ids) + table.mode[options]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sizes = np.diff(np.r_[starts, num_x])
    for size in np.unique(sizes[sizes > 1]).tolist():
        groups = order[starts[sizes == size][:, None] + np.arange(size)]  # (groups, size), by index
        values = scores[:, groups]  # (scores, groups, size)
        at_least = (values[:, :, :, None] >= values[:, :, None, :]).all(axis=0)  # [g, j, k]
        strictly = (values[:, :, :, None] > values[:, :, None, :]).any(axis=0)
        earlier = np.arange(size)[:, None] < np.arange(size)[None, :]  # j before k
        beats = at_least & (strictly | earlier)
        beats &= ~np.eye(size, dtype=np.bool_)
        dominated[groups[beats.any(axis=1)]] = True
    return dominated


def _drop_columns(model: LinearModel, drop: BoolArray) -> LinearModel:
    """The model without the given columns (rows are kept)."""
    keep = np.flatnonzero(~drop)
    return replace(
        model,
        objective=model.objective[keep],
        matrix=model.matrix[:, keep].tocsr(),
        col_lower=model.col_lower[keep],
        col_upper=model.col_upper[keep],
        integrality=model.integrality[keep],
    )


def _structural_only(table: OptionTable) -> tuple[BoolArray, dict[str, int]]:
    instance = table.instance
    ceases = np.array([m.ceases_service for m in instance.modes], dtype=np.bool_)
    allowed = ~(table.statutory[table.service] & ceases[table.mode])
    for sid, mode_id in instance.constraints.fixed.items():
        service = table.service_ids.index(sid)
        allowed &= ~((table.service == service) & (table.mode != table.mode_ids.index(mode_id)))
    return allowed, {}


def _assemble(
    blocks: list[_Rows], num_cols: int, sense: Sense, objective: FloatArray
) -> LinearModel:
    """Stack the family blocks into one CSR matrix with row bounds and named row blocks."""
    offsets = np.cumsum([0] + [b.lower.shape[0] for b in blocks])
    rows = np.concatenate([b.rows + off for b, off in zip(blocks, offsets, strict=False)])
    cols = np.concatenate([b.cols for b in blocks])
    vals = np.concatenate([b.vals for b in blocks])
    keep = vals != 0
    num_rows = int(offsets[-1])
    matrix = sp.csr_matrix(
        (vals[keep], (rows[keep], cols[keep])), shape=(num_rows, num_cols), dtype=np.float64
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    row_blocks = tuple(
        RowBlock(
            b.family,
            int(off),
            int(off) + b.lower.shape[0],
            b.items,
        )
        for b, off in zip(blocks, offsets, strict=False)
    )
    model = LinearModel(
        sense=sense,
        objective=np.asarray(objective, dtype=np.float64),
        objective_offset=0.0,
        matrix=matrix,
        row_lower=np.concatenate([b.lower for b in blocks]).astype(np.float64),
        row_upper=np.concatenate([b.upper for b in blocks]).astype(np.float64),
        col_lower=np.zeros(num_cols),
        col_upper=np.ones(num_cols),
        integrality=np.ones(num_cols, dtype=np.bool_),
        blocks=row_blocks,
    )
    model.validate_shapes()
    return model
