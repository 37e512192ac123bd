"""Explain infeasibility: which limits conflict, by how much they must move, and in which year.

One elastic model serves every horizon. Every limit row (budget, transition budget, outcome
floor, flexibility, max changes, capacity, min_services, sector shares, ``limits`` rows and, in a
single period, bundles) gets a slack column, while the structure (one option per service, or one
path per service through the years, linking, lock-ins, lead times, red lines) stays hard. The
objective minimises the total slack, each slack divided by the size of its limit so that moving a
budget of 90,000 by 900 weighs the same as moving max_changes from 4 by 0.04. The slacks of the
optimum are the smallest joint relaxation; each is translated back into the user's terms
("budget must rise by 1,240", "budget@2029 must rise by ..."). A row is told apart by its
:class:`~portfolio.linear.RowBlock` (``kind``, ``key``, ``side``) and, for rows per mode or per
year, by its label.

:func:`explain_infeasibility` (one period) then tries every conflicting limit alone: if relaxing
only that limit restores feasibility, the amount is reported as a single fix.
:func:`explain_multi_year` solves the elastic model to a 0.1% gap, for at most
:data:`MAX_SECONDS` (it may be hard: many near-equal relaxations).

Both then look for several ways out (:func:`_ways_out`): up to :data:`MAX_WAYS_OUT` distinct sets
of limits, each of which alone, moved by the amounts given, restores a plan, with none of its
limits able to stay at its bound at those amounts. The smallest sets come first, found by a
binary per limit (a slack may be positive only if its limit's binary is 1), fewest binaries
first, with every superset of a set found cut off: each is minimal (no proper subset restores a
plan by any amount), and its amounts are the smallest relaxation of those limits alone. Then, if
there is room, trade-offs: a set found plus one more limit whose moving lets the set move less
(budget to 11,170 instead of 12,180 when more changes are allowed). A limit is a limit as written
in the file; over a horizon, a limit's family across its years (``budget`` for ``budget@2028``
and ``budget@2029``) is one limit, whose way out moves it in each year that must move. The search
makes at most :data:`WAYS_OUT_SOLVES` solves, so that what it finds is the same on any machine,
and stops sooner when :data:`WAYS_OUT_SECONDS` or the caller's time limit is up, or on an
interrupt; what it found by then is reported.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portfolio.backends import Backend, lp_backend
from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance, value_in_year
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, RowBlock, Sense
from portfolio.multiyear.compile import MultiYearModel
from portfolio.params import SolveParams
from portfolio.result import Explanation, Relaxation, Status, WayOut

#: Kinds of rows that may be relaxed; everything else is structure.
SOFT_KINDS = (
    "budget",
    "transition_budget",
    "min_outcome",
    "min_flexibility",
    "max_changes",
    "capacity_count",
    "capacity_spend",
    "min_services",
    "sector_share",
    "same_mode",
    "limits",
    "max_modes_used",
)
#: Kinds that stay hard over a horizon: a bundle that cannot be met is structure there.
HARD_OVER_A_HORIZON = ("same_mode",)
#: Kinds counted in whole services: their slacks are integers.
COUNT_KINDS = ("max_changes", "capacity_count", "min_services", "max_modes_used")
SLACK_TOL = 1e-6
#: The multi-year elastic MIP may be hard (many near-equal relaxations): it gets at most this long.
MAX_SECONDS = 15.0
#: At most this many ways out (:func:`ways_out`) are reported.
MAX_WAYS_OUT = 3
#: The search for ways out makes at most this many solves (so that what it finds does not depend
#: on the machine's speed) ...
WAYS_OUT_SOLVES = 24
#: ... and gets at most this long, within the caller's time limit, whichever comes first.
WAYS_OUT_SECONDS = 30.0
#: A trade-off must let the set move at least this much less (relative, in the weighted total),
#: well beyond the solver's gap, so that no trade-off is solver noise.
TRADE_OFF_GAIN = 1e-4


@dataclass(frozen=True)
class _Slack:
    """One side of one soft row that may move."""

    row: int
    side: str  # "upper" (the row may exceed its upper bound) or "lower"
    block: RowBlock
    key: str | int | None  # the block's key (a sector, the position of a limits row)
    bound_side: str | None  # the block's side: "upper" or "lower" for sector shares


@dataclass(frozen=True)
class _Rows:
    """What the translation needs to know about a compiled model, whatever its horizon.

    Attributes:
        instance: the instance.
        model: its linear model.
        start_year: calendar year of horizon year 0; None for a single period (names carry no
            year).
        spend: the annual spend of a 0-based year at a solution of the model.
        bundle_of_row: the position in ``same_mode`` of the bundle a row belongs to.
    """

    instance: Instance
    model: LinearModel
    start_year: int | None
    spend: Callable[[FloatArray, int], float]
    bundle_of_row: Callable[[int], int | None]


def explain_infeasibility(
    instance: Instance,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
    ways_out: bool = True,
) -> Explanation:
    """Say what must give for an infeasible single-period instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solves (the explanation is then partial);
    ``ways_out=False`` skips the search for several ways out.
    """
    began = time.perf_counter()
    compiled = compile_instance(instance, reduce=False)
    model = compiled.model
    slacks = _slack_columns(model, instance, SOFT_KINDS)
    if not slacks:
        return Explanation(
            summary="No plan exists, and no limit can be relaxed to fix it: "
            "the services' options, red lines and bundles leave no choice.",
            structural=tuple(_structural_hints(instance)),
        )
    backend = lp_backend()
    if backend is None:
        return Explanation("No plan meets every limit (install highspy for details).")
    params = SolveParams(rel_gap=1e-6)

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return max(0.5, time_limit - (time.perf_counter() - began))

    rows = _single_period_rows(compiled)
    answer = _solve_elastic(backend, model, slacks, None, params, remaining(), interrupt)
    if answer is None:
        return Explanation(
            summary="No plan exists even with every limit relaxed: the conflict is structural.",
            structural=tuple(_structural_hints(instance)),
        )
    x, amounts = answer
    relaxations, structural = _translate(rows, slacks, amounts, x)

    single: list[Relaxation] = []
    blocks_hit = {slacks[i].block for i in np.flatnonzero(amounts > SLACK_TOL)}
    if len(blocks_hit) > 1:
        for block in sorted(blocks_hit, key=lambda b: b.start):
            if time_limit is not None and time.perf_counter() - began > time_limit:
                break
            if interrupt is not None and interrupt.is_set():
                break
            allowed = np.array([s.block == block for s in slacks])
            trial = _solve_elastic(backend, model, slacks, allowed, params, remaining(), interrupt)
            if trial is not None:
                single += _translate(rows, slacks, trial[1], trial[0])[0]

    if relaxations:
        summary = "No plan meets every limit. The smallest joint relaxation found:"
    else:
        summary = "No plan meets every limit."
    if structural and not relaxations:
        summary = "No plan meets every limit; the conflict is structural:"
    ways: tuple[WayOut, ...] = ()
    if relaxations and ways_out:
        joint = np.concatenate((x, amounts))
        search = _search(backend, rows, slacks, began, time_limit, interrupt, params, joint)
        ways = _ways_out(search)
    return Explanation(summary, tuple(relaxations), tuple(single), tuple(structural), ways)


def explain_multi_year(
    compiled: MultiYearModel,
    time_limit: float | None = None,
    *,
    interrupt: threading.Event | None = None,
    ways_out: bool = True,
) -> Explanation:
    """Say what must give for an infeasible multi-year instance (see the module docstring).

    ``interrupt``, when set, stops the elastic re-solve; ``ways_out=False`` skips the search for
    several ways out.
    """
    began = time.perf_counter()
    model = compiled.model
    instance = compiled.table.instance
    soft = tuple(kind for kind in SOFT_KINDS if kind not in HARD_OVER_A_HORIZON)
    slacks = _slack_columns(model, instance, soft)
    stranded = _stranded_services(compiled)
    if stranded:
        return Explanation(
            "No plan exists: some services have no arrangement for every year.",
            structural=tuple(stranded),
        )
    structural = "the lock-ins, lead times, red lines and bundles leave no plan whatever the limits"
    if not slacks:
        return Explanation("No plan exists; no yearly limit is set.", structural=(structural,))
    backend = lp_backend()
    if backend is None:
        return Explanation("No plan meets every yearly limit (install highspy for details).")
    remaining = MAX_SECONDS
    if time_limit is not None:
        remaining = min(remaining, max(0.5, time_limit - (time.perf_counter() - began)))
    params = SolveParams(rel_gap=1e-3)
    answer = _solve_elastic(backend, model, slacks, None, params, remaining, interrupt)
    if answer is None:
        return Explanation(
            "No plan exists even with every yearly limit relaxed.", structural=(structural,)
        )
    x, amounts = answer
    rows = _multi_year_rows(compiled)
    relaxations, _ = _translate(rows, slacks, amounts, x)
    if not relaxations:
        return Explanation("No plan meets every yearly limit.")
    ways: tuple[WayOut, ...] = ()
    if ways_out:
        joint = np.concatenate((x, amounts))
        search = _search(backend, rows, slacks, began, time_limit, interrupt, params, joint)
        ways = _ways_out(search)
    return Explanation(
        "No plan meets every yearly limit. The smallest joint relaxation found:",
        tuple(relaxations),
        ways_out=ways,
    )


# ---------------------------------------------------------------------- the elastic model
def _slack_columns(model: LinearModel, instance: Instance, soft: Sequence[str]) -> list[_Slack]:
    """A slack for every finite bound of every row of a soft kind."""
    slacks = []
    for block in model.blocks:
        if block.kind not in soft:
            continue
        key, side = block.key, block.side
        for row in range(block.start, block.stop):
            if np.isfinite(model.row_upper[row]):
                slacks.append(_Slack(row, "upper", block, key, side))
            if np.isfinite(model.row_lower[row]):
                slacks.append(_Slack(row, "lower", block, key, side))
    return slacks


def _elastic_model(
    model: LinearModel, slacks: list[_Slack], allowed: np.ndarray | None
) -> LinearModel:
    """The model with a slack column per soft row side; objective: weighted total slack."""
    count = len(slacks)
    rows = np.array([s.row for s in slacks], dtype=np.int64)
    signs = np.array([-1.0 if s.side == "upper" else 1.0 for s in slacks])
    extra = sp.csr_matrix((signs, (rows, np.arange(count))), shape=(model.num_rows, count))
    rhs = np.array(
        [model.row_upper[s.row] if s.side == "upper" else model.row_lower[s.row] for s in slacks]
    )
    # Scale: the limit's size, or the typical coefficient of the row when the limit is 0.
    row_scale = np.asarray(abs(model.matrix).max(axis=1).todense()).ravel()
    scale = np.maximum(1.0, np.maximum(np.abs(rhs), row_scale[rows]))
    upper = np.full(count, np.inf)
    if allowed is not None:
        upper[~allowed] = 0.0
    integer = np.array([s.block.kind in COUNT_KINDS for s in slacks])
    return LinearModel(
        sense=Sense.MINIMISE,
        objective=np.concatenate((np.zeros(model.num_cols), 1.0 / scale)),
        objective_offset=0.0,
        matrix=sp.hstack((model.matrix, extra), format="csr"),
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_lower=np.concatenate((model.col_lower, np.zeros(count))),
        col_upper=np.concatenate((model.col_upper, upper)),
        integrality=np.concatenate((model.integrality, integer)),
        blocks=model.blocks,
    )


def _solve_elastic(
    backend: Backend,
    model: LinearModel,
    slacks: list[_Slack],
    allowed: np.ndarray | None,
    params: SolveParams,
    time_limit: float | None,
    interrupt: threading.Event | None,
) -> tuple[FloatArray, FloatArray] | None:
    """The elastic model's solution: (the model's columns, the slacks), or None without one."""
    answer = backend.solve(
        _elastic_model(model, slacks, allowed), params, time_limit=time_limit, interrupt=interrupt
    )
    if answer.x is None or not answer.status.has_plan:
        return None
    return answer.x[: model.num_cols], answer.x[model.num_cols :]


# ---------------------------------------------------------------------- the user's terms
def _single_period_rows(compiled: CompiledModel) -> _Rows:
    """The rows of a single-period model: one year, rows per mode labelled by the mode."""
    table = compiled.table
    option_cost = table.annual_cost[compiled.option_of_column]
    model = compiled.model
    bundles = table.instance.constraints.same_mode

    def spend(x: FloatArray, year: int) -> float:
        return float(option_cost @ x[: compiled.num_x])

    def bundle_of_row(row: int) -> int | None:
        cols = model.matrix.indices[model.matrix.indptr[row] : model.matrix.indptr[row + 1]]
        options = compiled.option_of_column[cols[cols < compiled.num_x]]
        services = {table.service_ids[s] for s in table.service[options].tolist()}
        return next((b for b, bundle in enumerate(bundles) if services <= set(bundle)), None)

    return _Rows(table.instance, model, None, spend, bundle_of_row)


def _multi_year_rows(compiled: MultiYearModel) -> _Rows:
    """The rows of a multi-year model: rows per year labelled ``year`` or ``mode@year``."""
    layout = compiled.layout
    cost = layout.act_figure("annual_cost")
    instance = compiled.table.instance
    assert instance.horizon is not None

    def spend(x: FloatArray, year: int) -> float:
        in_year = np.flatnonzero(layout.act_year == year)
        return float(cost[in_year] @ x[layout.act_offset + in_year])

    return _Rows(instance, compiled.model, instance.horizon.start_year, spend, lambda row: None)


def _translate(
    rows: _Rows, slacks: list[_Slack], amounts: FloatArray, x: FloatArray
) -> tuple[list[Relaxation], list[str]]:
    """Turn positive slacks into relaxations in the user's units (and bundles into words)."""
    model = rows.model
    relaxations: list[Relaxation] = []
    structural: list[str] = []
    for slack, amount in zip(slacks, amounts, strict=True):
        bound = float(
            model.row_upper[slack.row] if slack.side == "upper" else model.row_lower[slack.row]
        )
        if amount <= SLACK_TOL * max(1.0, abs(bound)):
            continue
        if slack.block.kind == "same_mode":
            index = rows.bundle_of_row(slack.row)
            if index is None:
                continue
            bundle = rows.instance.constraints.same_mode[index]
            message = f"same_mode[{index}] ({', '.join(bundle)}) cannot be met"
            message += ": the services share no usable mode"
            if message not in structural:
                structural.append(message)
            continue
        relaxations.append(_relaxation(rows, slack, float(amount), bound, x))
    merged: dict[str, Relaxation] = {}
    for relaxation in relaxations:  # one per limit: rows of one limit may appear twice
        merged.setdefault(relaxation.constraint, relaxation)
    return list(merged.values()), structural


def _relaxation(
    rows: _Rows, slack: _Slack, amount: float, bound: float, x: FloatArray
) -> Relaxation:
    """One positive slack in the user's terms: the limit as written, its year, the move.

    Single-period names are the file's (``budget``, ``modes.voluntary.max_spend``,
    ``sector_share.private.max``, ``limits[0] (carbon_t).max``); multi-year names add the year
    (``budget@2029``, ``capacity_spend[voluntary]@2029``, ``sector_share[private].max@2029``).
    """
    block = slack.block
    kind = block.kind
    label = str(block.items[slack.row - block.start]) if block.items is not None else ""
    mode, year, where = label, 0, ""
    if rows.start_year is not None:  # rows per year: "2029", or "voluntary@2029" per mode
        mode, _, calendar = label.rpartition("@")
        year, where = int(calendar) - rows.start_year, f"@{calendar}"
    constraints = rows.instance.constraints
    if kind in COUNT_KINDS:
        amount = float(math.ceil(amount - 1e-6))
    if kind in ("min_flexibility", "sector_share"):
        # Rows of the form sum c (f - floor) >= 0: move the share or floor by amount / spend.
        spend = rows.spend(x, year)
        delta = amount / spend if spend > 0 else 1.0
        if kind == "min_flexibility":
            name = f"min_flexibility{where}"
            limit = value_in_year(constraints.min_flexibility, year) or 0.0
            needed = limit - delta
        else:
            sector = str(slack.key)
            word = "max" if slack.bound_side == "upper" else "min"
            share = constraints.sector_share[sector]  # type: ignore[index]
            limit = value_in_year(share.max if word == "max" else share.min, year) or 0.0
            needed = limit + delta if word == "max" else limit - delta
            name = (
                f"sector_share.{sector}.{word}"
                if rows.start_year is None
                else f"sector_share[{sector}].{word}{where}"
            )
        needed = min(1.0, max(0.0, needed))
        return Relaxation(name, limit, 0.0 if needed < 1e-12 else needed)
    if kind == "min_services":
        limit = float(rows.instance.mode(mode).min_services or 0)
        name = f"modes.{mode}.min_services" if not where else f"min_services[{mode}]{where}"
        return Relaxation(name, limit, max(0.0, limit - amount))
    if kind in ("capacity_count", "capacity_spend"):
        field = "max_services" if kind == "capacity_count" else "max_spend"
        name = f"modes.{mode}.{field}" if not where else f"{kind}[{mode}]{where}"
    elif kind == "limits":
        name = f"limits[{slack.key}]{where}"
        if not where:
            row = constraints.limits[int(slack.key or 0)]
            name += f" ({row.metric}"
            name += f", mode {row.mode}" if row.mode else ""
            name += f", sector {row.sector}" if row.sector else ""
            name += ").max" if slack.side == "upper" else ").min"
    else:  # budget, transition_budget, min_outcome, max_changes, max_modes_used
        name = f"{kind}{where}"
    if slack.side == "upper":
        return Relaxation(name, bound, bound + amount)
    return Relaxation(name, bound, bound - amount)


# ---------------------------------------------------------------------- structure
def _structural_hints(instance: Instance) -> list[str]:
    """Plain-language structural conflicts found by inspection."""
    hints = []
    options_of = {s.id: {o.mode for o in s.options} for s in instance.services}
    for index, bundle in enumerate(instance.constraints.same_mode):
        fixed = {instance.constraints.fixed.get(sid) for sid in bundle} - {None}
        shared = set.intersection(*(options_of[sid] for sid in bundle))
        if fixed:
            shared &= {str(mode) for mode in fixed}
        if not shared:
            hints.append(f"same_mode[{index}] ({', '.join(bundle)}): the services share no mode")
    return hints


def _stranded_services(compiled: MultiYearModel) -> list[str]:
    """Services with no path through the horizon at all (every arc pruned), in words."""
    table = compiled.table
    arcs_per_service = np.bincount(compiled.layout.arcs.service, minlength=table.num_services)
    return [
        f"service '{table.service_ids[s]}': no sequence of contracts covers every year "
        "(lead times, the existing contract or red lines leave a year with no option)"
        for s in np.flatnonzero(arcs_per_service == 0).tolist()
    ]


# ---------------------------------------------------------------------- several ways out
@dataclass
class _Search:
    """What the search for ways out shares: the model, its slacks grouped by limit, the clock."""

    backend: Backend
    rows: _Rows
    slacks: list[_Slack]
    group: IntArray  # the limit (index into ``names``) of each slack; -1: never relaxed
    names: list[str]  # one per limit, for debugging: its kind, key, side and mode
    deadline: float | None  # time.perf_counter() value
    interrupt: threading.Event | None
    params: SolveParams
    joint: FloatArray  # the joint relaxation's solution: the model's columns, then the slacks
    solves: int = 0

    def seconds(self) -> float | None:
        """Time left for one solve, or None for no limit; <= 0 when the time is up."""
        if self.interrupt is not None and self.interrupt.is_set():
            return 0.0
        if self.deadline is None:
            return None
        return self.deadline - time.perf_counter()

    def out_of_time(self) -> bool:
        """Whether the search must stop: its solves or its time used up."""
        if self.solves >= WAYS_OUT_SOLVES:
            return True
        left = self.seconds()
        return left is not None and left < 0.05

    def mask(self, limits: frozenset[int]) -> BoolArray:
        """The slacks of these limits."""
        return np.isin(self.group, np.array(sorted(limits), dtype=np.int64))


def _search(
    backend: Backend,
    rows: _Rows,
    slacks: list[_Slack],
    began: float,
    time_limit: float | None,
    interrupt: threading.Event | None,
    params: SolveParams,
    joint: FloatArray,
) -> _Search:
    """The search for ways out, with the time that is left (at most :data:`WAYS_OUT_SECONDS`).

    ``params`` are the joint relaxation's (its gap: the amounts are the smallest to that gap);
    ``joint`` its solution.
    """
    now = time.perf_counter()
    deadline = now + WAYS_OUT_SECONDS
    if time_limit is not None:
        deadline = min(deadline, began + time_limit)
    group, names = _limit_groups(rows, slacks)
    return _Search(backend, rows, slacks, group, names, deadline, interrupt, params, joint)


def _limit_groups(rows: _Rows, slacks: list[_Slack]) -> tuple[IntArray, list[str]]:
    """Which limit each slack belongs to (a limit as written; over a horizon, across its years).

    ``same_mode`` slacks belong to none: a bundle is structure, never a way out.
    """
    keys: dict[tuple[object, ...], int] = {}
    names: list[str] = []
    group = np.full(len(slacks), -1, dtype=np.int64)
    for index, slack in enumerate(slacks):
        block = slack.block
        if block.kind == "same_mode":
            continue
        label = str(block.items[slack.row - block.start]) if block.items is not None else ""
        if rows.start_year is not None:
            label = label.rpartition("@")[0]
        key = (block.kind, block.key, slack.bound_side, slack.side, label)
        if key not in keys:
            keys[key] = len(names)
            names.append(":".join(str(part) for part in key if part not in (None, "")))
        group[index] = keys[key]
    return group, names


def _family(name: str) -> str:
    """A relaxation's limit without its year: ``budget@2029`` -> ``budget``."""
    return name.rpartition("@")[0] if "@" in name else name


def _slack_caps(model: LinearModel, slacks: list[_Slack]) -> FloatArray:
    """An upper bound on each slack: how far the row's activity can go past its bound at all."""
    matrix = sp.csr_matrix(model.matrix)
    low, high = model.col_lower, model.col_upper
    positive, negative = matrix.maximum(0), matrix.minimum(0)
    high_f = np.where(np.isfinite(high), high, 0.0)
    low_f = np.where(np.isfinite(low), low, 0.0)
    most = positive @ high_f + negative @ low_f
    least = positive @ low_f + negative @ high_f
    unbounded_up = (positive @ ~np.isfinite(high)) + (-negative @ ~np.isfinite(low)) > 0
    unbounded_down = (positive @ ~np.isfinite(low)) + (-negative @ ~np.isfinite(high)) > 0
    caps = np.empty(len(slacks))
    for index, slack in enumerate(slacks):
        row = slack.row
        if slack.side == "upper":
            bound, reach, open_ended = model.row_upper[row], most[row], unbounded_up[row]
            cap = reach - bound
        else:
            bound, reach, open_ended = model.row_lower[row], least[row], unbounded_down[row]
            cap = bound - reach
        if open_ended:
            cap = 1e6 * max(1.0, abs(bound))
        caps[index] = math.floor(max(0.0, cap) * (1.0 + 1e-9)) + 1.0  # whole: an exact row
    return caps


def _with_slacks(
    model: LinearModel, slacks: list[_Slack], upper: FloatArray, weight: FloatArray
) -> LinearModel:
    """The elastic model with these bounds on the slacks and these weights on them."""
    base = _elastic_model(model, slacks, None)
    return LinearModel(
        sense=Sense.MINIMISE,
        objective=np.concatenate((np.zeros(model.num_cols), weight)),
        objective_offset=0.0,
        matrix=base.matrix,
        row_lower=base.row_lower,
        row_upper=base.row_upper,
        col_lower=base.col_lower,
        col_upper=np.concatenate((model.col_upper, upper)),
        integrality=base.integrality,
        blocks=base.blocks,
    )


def _weights(model: LinearModel, slacks: list[_Slack]) -> FloatArray:
    """The elastic model's weight of each slack (one over the size of its limit)."""
    return np.asarray(_elastic_model(model, slacks, None).objective[model.num_cols :])


def _run(search: _Search, model: LinearModel, *, proven: bool = True) -> FloatArray | None:
    """Solve one model of the search; its vector, or None (no answer, or out of time).

    ``proven``: only a proven optimum counts (else any verified plan).
    """
    if search.out_of_time():
        return None
    seconds = search.seconds()
    search.solves += 1
    answer = search.backend.solve(
        model, search.params, time_limit=seconds, interrupt=search.interrupt
    )
    if answer.x is None or not answer.status.has_plan:
        return None
    if proven and answer.status is not Status.OPTIMAL:
        return None
    return np.asarray(answer.x)


def _smallest_set(
    search: _Search, model: LinearModel, cuts: list[frozenset[int]]
) -> set[int] | None:
    """The fewest limits whose relaxation restores a plan, containing none of ``cuts``.

    A binary ``z`` per limit, each slack at most its cap times its limit's ``z``; minimise the
    number of limits that move. None when no other set exists (or the time is up).
    """
    slacks, group = search.slacks, search.group
    count, limits = len(slacks), len(search.names)
    allowed = group >= 0
    caps = _slack_caps(model, slacks)
    # Bounded slacks keep every row exact (whole coefficients times finite bounds).
    base = _with_slacks(model, slacks, np.where(allowed, caps, 0.0), np.zeros(count))
    slack_cols = model.num_cols + np.arange(count)
    z_cols = base.num_cols + group[allowed]
    link = sp.csr_matrix(
        (
            np.concatenate((np.ones(int(allowed.sum())), -caps[allowed])),
            (
                np.tile(np.arange(int(allowed.sum())), 2),
                np.concatenate((slack_cols[allowed], z_cols)),
            ),
        ),
        shape=(int(allowed.sum()), base.num_cols + limits),
    )
    cut_rows = sp.csr_matrix(
        (
            np.ones(sum(len(cut) for cut in cuts)),
            (
                np.repeat(np.arange(len(cuts)), [len(cut) for cut in cuts]),
                base.num_cols + np.array([g for cut in cuts for g in sorted(cut)], dtype=np.int64),
            ),
        ),
        shape=(len(cuts), base.num_cols + limits),
    )
    matrix = sp.vstack(
        (sp.hstack((base.matrix, sp.csr_matrix((base.num_rows, limits)))), link, cut_rows),
        format="csr",
    )
    mip = LinearModel(
        sense=Sense.MINIMISE,
        objective=np.concatenate((np.zeros(base.num_cols), np.ones(limits))),
        objective_offset=0.0,
        matrix=matrix,
        row_lower=np.concatenate(
            (base.row_lower, np.full(link.shape[0], -np.inf), np.full(len(cuts), -np.inf))
        ),
        row_upper=np.concatenate(
            (base.row_upper, np.zeros(link.shape[0]), [len(cut) - 1.0 for cut in cuts])
        ),
        col_lower=np.concatenate((base.col_lower, np.zeros(limits))),
        col_upper=np.concatenate((base.col_upper, np.ones(limits))),
        integrality=np.concatenate((base.integrality, np.ones(limits, dtype=bool))),
        blocks=(
            *base.blocks,
            RowBlock(
                "moves_only_if_chosen",
                base.num_rows,
                base.num_rows + link.shape[0],
                kind="moves_only_if_chosen",
            ),
            RowBlock(
                "not_a_superset",
                base.num_rows + link.shape[0],
                matrix.shape[0],
                tuple(str(index) for index in range(len(cuts))),
                kind="not_a_superset",
            ),
        ),
    )
    x = _run(search, mip)
    if x is None:
        return None
    return {int(g) for g in np.flatnonzero(x[base.num_cols :] > 0.5)}


def _smallest_amounts(
    search: _Search, model: LinearModel, limits: frozenset[int], free: frozenset[int] = frozenset()
) -> FloatArray | None:
    """The slacks of the smallest relaxation of ``limits`` alone (weighted as the joint one).

    The limits in ``free`` may move too, at no cost. Returns all columns (model, then slacks).
    When the joint relaxation moves exactly these limits, it is their smallest relaxation too.
    """
    if not free and _used(search, model, search.joint[model.num_cols :]) == limits:
        return search.joint
    weight = _weights(model, search.slacks)
    moving = search.mask(limits | free)
    weight = np.where(search.mask(free), 0.0, weight)
    return _run(search, _with_slacks(model, search.slacks, np.where(moving, np.inf, 0.0), weight))


def _restores(search: _Search, model: LinearModel, upper: FloatArray) -> bool:
    """Whether some plan needs no slack beyond ``upper``."""
    elastic = _with_slacks(model, search.slacks, upper, np.zeros(len(upper)))
    return _run(search, elastic, proven=False) is not None


def _used(search: _Search, model: LinearModel, amounts: FloatArray) -> frozenset[int]:
    """The limits whose slacks are positive."""
    bounds = np.array(
        [
            model.row_upper[s.row] if s.side == "upper" else model.row_lower[s.row]
            for s in search.slacks
        ]
    )
    positive = amounts > SLACK_TOL * np.maximum(1.0, np.abs(bounds))
    return frozenset(int(g) for g in search.group[positive & (search.group >= 0)])


def _irreducible(
    search: _Search, model: LinearModel, limits: frozenset[int], amounts: FloatArray
) -> bool:
    """Whether no limit of the set can stay at its bound while the others move as shown."""
    upper = np.where(search.mask(limits), amounts * (1 + 1e-9) + 1e-9, 0.0)
    for limit in sorted(limits):
        if search.out_of_time():
            return False
        if _restores(search, model, np.where(search.mask(frozenset({limit})), 0.0, upper)):
            return False
    return not search.out_of_time()  # a solve cut short proves nothing


def _likely_first(search: _Search, model: LinearModel, x: FloatArray) -> list[int]:
    """The limits in the order to try them as a trade-off: those at their bound in ``x`` first.

    A limit the relaxed plan sits on is the one whose moving may let the others move less.
    """
    activity = model.matrix @ x[: model.num_cols]
    tight = set()
    for slack, limit in zip(search.slacks, search.group.tolist(), strict=True):
        bound = model.row_upper[slack.row] if slack.side == "upper" else model.row_lower[slack.row]
        if limit >= 0 and abs(activity[slack.row] - bound) <= 1e-6 * max(1.0, abs(bound)):
            tight.add(limit)
    others = range(len(search.names))
    return sorted(others, key=lambda limit: (limit not in tight, limit))


def _way_out(search: _Search, model: LinearModel, x: FloatArray) -> WayOut | None:
    """A solution of the elastic model in the user's terms; None if nothing moves."""
    amounts = x[model.num_cols :]
    amounts = np.where(search.group >= 0, amounts, 0.0)
    relaxations, _ = _translate(search.rows, search.slacks, amounts, x[: model.num_cols])
    if not relaxations:
        return None
    limits = tuple(dict.fromkeys(_family(r.constraint) for r in relaxations))
    return WayOut(limits, tuple(_snapped(r) for r in relaxations))


def _snapped(relaxation: Relaxation) -> Relaxation:
    """The amount without the solver's last digits: 11,170.0000002 is 11,170."""
    needed = relaxation.needed
    whole = round(needed)
    if abs(needed - whole) <= 1e-7 * max(1.0, abs(needed)):
        needed = float(whole)
    return Relaxation(relaxation.constraint, relaxation.current, needed)


def _ways_out(search: _Search) -> tuple[WayOut, ...]:
    """Up to :data:`MAX_WAYS_OUT` distinct sets of limits, with the amounts that restore a plan.

    First the smallest sets (by number of limits): a binary per limit, minimise how many move,
    then exclude every superset of each set found (``sum z <= |S| - 1``), so each set is minimal:
    no proper subset restores a plan, by any amount. Each set's amounts are the smallest
    relaxation of those limits alone, weighted as the joint one. Then, while there is room, the
    trade-offs: a set found plus one more limit, when moving that limit too lets the set move
    less (the budget needs 11,170 instead of 12,180 when two more changes are allowed); the amounts
    are lexicographic (the set's first, then the extra limit's), and the way out is kept only if
    none of its limits can stay at its bound at those amounts (the extra limits are tried in the
    order of the model's rows, those the set's plan sits on first). Deterministic: one backend,
    every solve to optimality, at most :data:`WAYS_OUT_SOLVES` solves; each solve runs under the
    time that is left, and the search stops when it is up.
    """
    model = search.rows.model
    found: list[tuple[frozenset[int], FloatArray, WayOut]] = []
    cuts: list[frozenset[int]] = []
    while len(found) < MAX_WAYS_OUT and not search.out_of_time():
        chosen = _smallest_set(search, model, cuts)
        if not chosen:
            break
        x = _smallest_amounts(search, model, frozenset(chosen))
        if x is None:
            break
        used = _used(search, model, x[model.num_cols :])
        cuts.append(used or frozenset(chosen))
        way = _way_out(search, model, x)
        if way is None or any(used == f[0] for f in found):
            continue
        found.append((used, x, way))
    weight = _weights(model, search.slacks)
    for limits, x, _ in list(found):
        alone = float(weight @ np.where(search.mask(limits), x[model.num_cols :], 0.0))
        for extra in _likely_first(search, model, x):
            if len(found) >= MAX_WAYS_OUT or search.out_of_time():
                return tuple(way for _, _, way in found)
            if extra in limits:
                continue
            first = _smallest_amounts(search, model, limits, frozenset({extra}))
            if first is None:
                continue
            amounts = first[model.num_cols :]
            cheaper = float(weight @ np.where(search.mask(limits), amounts, 0.0))
            if cheaper >= alone * (1 - TRADE_OFF_GAIN):
                continue  # moving the extra limit does not let the set move (much) less
            held = np.where(search.mask(limits), amounts * (1 + 1e-9) + 1e-9, np.inf)
            held = np.where(search.mask(limits | {extra}), held, 0.0)
            second = _run(search, _with_slacks(model, search.slacks, held, weight))
            if second is None:
                continue
            used = _used(search, model, second[model.num_cols :])
            if any(used == f[0] for f in found):
                continue
            if not _irreducible(search, model, used, second[model.num_cols :]):
                continue
            way = _way_out(search, model, second)
            if way is not None:
                found.append((used, second, way))
    return tuple(way for _, _, way in found)
