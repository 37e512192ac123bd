"""LP-guided primal heuristic (relaxation-induced fixing): one driver for every formulation.

The LP relaxation of these models is very tight: only a handful of services take fractional
values (at 1k-10k single-period services; a few of hundreds over a multi-year horizon, whose
per-service polytopes are integral). :func:`lp_then_fix` solves the relaxation, fixes every
service whose LP choice is integral, and solves the small remaining MIP; when that leaves no plan
it frees more services, round by round. Its plan is a MIP start for backends that take one, and
its LP value is a proven bound: when plan and bound are within the requested gap, no further
search is needed.

What differs between formulations is a :class:`StartHooks` object: which columns belong to which
service, when a service's LP choice is settled, what to free in each further round, the sub-MIP's
gap, and whether reduced-cost rounds may tighten the result. :class:`SinglePeriodStart` is the
single-period one; the multi-year one is in :mod:`portfolio.multiyear.heuristic`. The relaxation
and the sub-MIPs are solved by the backend :func:`portfolio.backends.lp_backend` picks.
"""

from __future__ import annotations

import abc
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from portfolio.backends import lp_backend
from portfolio.backends.base import Backend
from portfolio.compile import CompiledModel
from portfolio.linear import BoolArray, FloatArray, IntArray, LinearModel, Sense, fix_columns
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status, relative_gap

#: Below this many columns the full single-period MIP is quick and the heuristic is skipped.
MIN_COLUMNS = 2000
#: Share of the remaining time the heuristic may use.
TIME_SHARE = 0.5
INTEGRAL_TOL = 1e-6
#: Largest neighbourhood (free columns, or 2% of all) the reduced-cost rounds solve.
MAX_FREE_COLUMNS = 5_000
#: A reduced-cost round freeing more than this share of the columns is left to the full search.
MAX_FREE_SHARE = 0.5
#: Below this many seconds of its budget left, the heuristic starts no further sub-MIP.
MIN_ROUND_SECONDS = 0.1
#: A round's sub-MIP is first solved to this relative gap (or the hooks' gap, if looser): a
#: start needs no proof, and the full search closes the gap from it.
START_GAP = 1e-4
#: A round's first solve gets at most this many times the LP's seconds (at least
#: :data:`START_MIN_SECONDS`) of the round's time.
START_LP_FACTOR = 10.0
#: The least time a round's first solve is given (when the round has that much).
START_MIN_SECONDS = 1.0


@dataclass(frozen=True)
class HeuristicPlan:
    """A plan found by the heuristic (full column vector), with the LP bound (in the model's
    objective) and a note for the result's ``detail``."""

    x: FloatArray
    bound: float | None
    note: str


class StartHooks(abc.ABC):
    """What the LP-guided start needs to know about one formulation.

    Attributes:
        model: the compiled model.
        num_services: the number of services.
        service_of_column: for each column, the service it belongs to (-1 for columns shared by
            services: setup and in-use indicators, which are fixed when integral in the LP).
        min_columns: below this many columns the heuristic is skipped.
        rounds: how many sub-MIPs may be tried, the first over the unsettled services and
            each further one freeing more (see :meth:`free_more`); the heuristic's budget is
            shared among the rounds still to come.
        interior_point: the relaxation solves faster with an interior point method (asked of
            HiGHS only).
        reduced_cost_rounds: the first plan may be improved, and the bound tightened, by
            reduced-cost fixing (valid when each service has one chosen column).
        max_unsettled_share: when more than this share of the services is unsettled by the LP,
            the sub-MIP would be nearly the whole model, as hard to solve as the full search
            and no help to it: the heuristic gives up at once (1.0: never).
    """

    model: LinearModel
    num_services: int
    service_of_column: IntArray
    min_columns: int
    rounds: int
    interior_point: bool = False
    reduced_cost_rounds: bool = False
    max_unsettled_share: float = 1.0

    @abc.abstractmethod
    def settled(self, x_lp: FloatArray) -> BoolArray:
        """Per service: its LP choice is integral (it keeps it in the sub-MIP)."""

    @abc.abstractmethod
    def free_more(self, number: int, lp: BackendResult) -> BoolArray | None:
        """Columns freed in round ``number`` (1 up) besides the unsettled services', or None to
        give up."""

    @abc.abstractmethod
    def sub_gap(self, params: SolveParams) -> float:
        """The relative gap the sub-MIPs are solved to."""


def lp_then_fix(
    hooks: StartHooks,
    params: SolveParams,
    remaining: float | None,
    *,
    interrupt: threading.Event | None = None,
    solver: Backend | None = None,
) -> HeuristicPlan | None:
    """Solve the LP, fix the settled services, solve the rest as a MIP; None when it finds
    nothing (a small model, no LP-capable backend, more than ``hooks.max_unsettled_share`` of
    the services unsettled, no plan in any round).

    When ``interrupt`` is set, every solve stops and no further round is tried; the best plan so
    far (if any) is returned. ``solver`` solves the LP and the sub-MIPs (by default
    :func:`~portfolio.backends.lp_backend`'s; the pipeline passes it run in child processes
    when runs must be reclaimable, see :func:`portfolio.guard.reclaimable`).
    """
    model = hooks.model
    if model.num_cols < hooks.min_columns:
        return None
    solver = solver or lp_backend()
    if solver is None:
        return None
    began = time.perf_counter()
    budget = None if remaining is None else remaining * TIME_SHARE
    lp_params = params.with_(backend_options={}, verbose=False)
    lp = solver.solve(
        model,
        lp_params.with_(backend_options=_lp_options(solver, hooks)),
        time_limit=budget,
        relax=True,
        interrupt=interrupt,
    )
    if lp.status is not Status.OPTIMAL or lp.x is None:
        return None
    lp_seconds = time.perf_counter() - began
    x_lp = lp.x
    groups = hooks.service_of_column
    owned = groups >= 0
    settled = hooks.settled(x_lp)
    if np.count_nonzero(~settled) > hooks.max_unsettled_share * hooks.num_services:
        return None  # the sub-MIP would be the full search again
    # Settled services keep their LP choice; the rest form a small MIP over their columns (and
    # the shared indicators the LP does not settle).
    base = np.empty(model.num_cols, dtype=np.bool_)
    base[owned] = settled[groups[owned]]
    base[~owned] = _integral(x_lp[~owned]) & model.integrality[~owned]  # never a continuous one
    rounded = np.round(x_lp)
    tried: BoolArray | None = None
    for number in range(hooks.rounds):
        fixed = base
        if number:
            extra = hooks.free_more(number, lp)
            if extra is None:
                return None
            fixed = base & ~extra
        if tried is not None and np.array_equal(fixed, tried):
            continue  # this round frees nothing more
        tried = fixed
        left = None
        if budget is not None:
            left = budget - (time.perf_counter() - began)
            if left <= MIN_ROUND_SECONDS:
                return None
            left = max(MIN_ROUND_SECONDS, left / (hooks.rounds - number))
        restricted, free = fix_columns(model, fixed, rounded)
        sub = _solve_round(
            solver, restricted, hooks, params, lp.objective, left, lp_seconds, interrupt
        )
        if sub.x is None or not sub.status.has_plan:
            if interrupt is not None and interrupt.is_set():
                return None
            continue
        full = rounded.copy()
        full[free] = np.where(model.integrality[free], np.round(sub.x), sub.x)
        freed = np.zeros(hooks.num_services, dtype=np.bool_)
        freed[groups[owned & ~fixed]] = True
        note = (
            f"LP-guided start: {int(hooks.num_services - settled.sum())} of "
            f"{hooks.num_services} services fractional in the LP, {int(freed.sum())} free in "
            f"the sub-MIP, {sub.status.value} in {time.perf_counter() - began:.2f}s"
        )
        plan = HeuristicPlan(x=full, bound=lp.objective, note=note)
        if not hooks.reduced_cost_rounds or lp.reduced_costs is None or lp.objective is None:
            return plan
        if relative_gap(model.objective_value(full), lp.objective) <= params.rel_gap:
            return plan
        left = None if budget is None else budget - (time.perf_counter() - began)
        if (left is not None and left <= MIN_ROUND_SECONDS) or (
            interrupt is not None and interrupt.is_set()
        ):
            return plan
        return _reduced_cost_round(
            solver, model, plan, x_lp, lp.reduced_costs, lp.objective, params, left, groups,
            interrupt,
        )
    return None


def _solve_round(
    solver: Backend,
    restricted: LinearModel,
    hooks: StartHooks,
    params: SolveParams,
    lp_bound: float | None,
    time_limit: float | None,
    lp_seconds: float,
    interrupt: threading.Event | None,
) -> BackendResult:
    """One round's sub-MIP, sized to its job.

    A start needs no proof: the sub-MIP is first solved to :data:`START_GAP` (or the hooks' gap,
    if looser) for at most :data:`START_LP_FACTOR` times the LP's seconds (at least
    :data:`START_MIN_SECONDS`) of the round's time. It is solved on, to the hooks' gap and with
    the round's remaining time, only when its plan could close the requested gap: when the
    sub-MIP's own bound is within the requested gap of the LP bound (else no plan of this round
    is, and only the full search can close it) and its plan is not already.
    """
    began = time.perf_counter()
    quiet = params.with_(backend_options={}, verbose=False)
    tight = hooks.sub_gap(params)
    loose = max(tight, START_GAP)
    first_limit = max(START_MIN_SECONDS, START_LP_FACTOR * lp_seconds)
    if time_limit is not None:
        first_limit = min(first_limit, time_limit)
    sub = solver.solve(
        restricted, quiet.with_(rel_gap=loose), time_limit=first_limit, interrupt=interrupt
    )
    if sub.x is None and sub.status is Status.TIME_LIMIT_NO_SOLUTION and not _stopped(interrupt):
        # No plan yet: the round's remaining time goes on finding one.
        left = None if time_limit is None else time_limit - (time.perf_counter() - began)
        if left is None or left > MIN_ROUND_SECONDS:
            sub = solver.solve(
                restricted, quiet.with_(rel_gap=loose), time_limit=left, interrupt=interrupt
            )
    if (
        loose <= tight
        or sub.x is None
        or not sub.status.has_plan
        or sub.objective is None
        or sub.bound is None
        or lp_bound is None
        or _stopped(interrupt)
    ):
        return sub
    if relative_gap(sub.bound, lp_bound) > params.rel_gap:
        return sub  # no plan of this round closes the requested gap
    if sub.status is Status.OPTIMAL and relative_gap(sub.objective, sub.bound) <= tight:
        return sub
    if relative_gap(sub.objective, lp_bound) <= params.rel_gap:
        return sub
    left = None if time_limit is None else time_limit - (time.perf_counter() - began)
    if left is not None and left <= MIN_ROUND_SECONDS:
        return sub
    tighter = solver.solve(
        restricted, quiet.with_(rel_gap=tight), time_limit=left, start=sub.x, interrupt=interrupt
    )
    if tighter.x is None or not tighter.status.has_plan or tighter.objective is None:
        return sub
    better = (
        tighter.objective >= sub.objective
        if restricted.sense is Sense.MAXIMISE
        else tighter.objective <= sub.objective
    )
    return tighter if better else sub


def lp_guided_start(
    compiled: CompiledModel,
    params: SolveParams,
    remaining: float | None,
    *,
    interrupt: threading.Event | None = None,
) -> HeuristicPlan | None:
    """The LP-guided start of a single-period model (see :func:`lp_then_fix`)."""
    return lp_then_fix(SinglePeriodStart(compiled), params, remaining, interrupt=interrupt)


class SinglePeriodStart(StartHooks):
    """The single-period hooks: a service is settled when one of its options is 1 in the LP;
    a second round frees the services cheapest to switch (by reduced cost) when fixing every
    settled one leaves no plan; reduced-cost rounds then close the gap."""

    interior_point = True
    reduced_cost_rounds = True
    rounds = 2

    def __init__(self, compiled: CompiledModel) -> None:
        self.model = compiled.model
        self.num_services = compiled.table.num_services
        self.min_columns = MIN_COLUMNS
        groups = np.full(self.model.num_cols, -1, dtype=np.int64)
        groups[: compiled.num_x] = compiled.table.service[compiled.option_of_column]
        self.service_of_column = groups

    def settled(self, x_lp: FloatArray) -> BoolArray:
        owned = self.service_of_column >= 0
        settled = np.zeros(self.num_services, dtype=np.bool_)
        settled[self.service_of_column[owned & (x_lp >= 1.0 - INTEGRAL_TOL)]] = True
        return settled

    def free_more(self, number: int, lp: BackendResult) -> BoolArray | None:
        # Fixing every integral service left no plan: free the services that are cheapest to
        # switch as well (and every setup indicator).
        if lp.reduced_costs is None or lp.x is None:
            return None
        x_lp, groups = lp.x, self.service_of_column
        magnitude = np.where(_integral(x_lp), _switch_costs(lp.reduced_costs, x_lp, groups), -1.0)
        return _cheapest_services(groups, magnitude, x_lp, _neighbourhood(self.model))

    def sub_gap(self, params: SolveParams) -> float:
        return min(params.rel_gap, 1e-6)


def _lp_options(solver: Backend, hooks: StartHooks) -> dict[str, Any]:
    """Backend options of the relaxation: HiGHS's interior point where the hooks ask for it.

    Interior point with crossover is about twice as fast as dual simplex on the single-period
    relaxations (10k services: 1.8 s against 4.0 s), and still a vertex, so few fractional
    services.
    """
    return {"solver": "ipm"} if hooks.interior_point and solver.name == "highs" else {}


def _stopped(interrupt: threading.Event | None) -> bool:
    """The caller asked the heuristic to stop."""
    return interrupt is not None and interrupt.is_set()


def _integral(values: FloatArray) -> BoolArray:
    """Values at 0 or 1 within :data:`INTEGRAL_TOL`."""
    return (values <= INTEGRAL_TOL) | (values >= 1.0 - INTEGRAL_TOL)


def _neighbourhood(model: LinearModel) -> int:
    """Most columns a neighbourhood frees: :data:`MAX_FREE_COLUMNS`, or 2% of the columns."""
    return max(MAX_FREE_COLUMNS, int(0.02 * model.num_cols))


def _switch_costs(reduced_costs: FloatArray, x_lp: FloatArray, groups: IntArray) -> FloatArray:
    """What moving each column off its LP value costs at least: ``|d_j - d_k|`` for an option
    ``j`` of a service whose option ``k`` is 1 in the LP, else ``|d_j|``.

    The LP is primal degenerate: each choice row ``sum_s x = 1`` has one basic column, and the
    solver may make it an option at 0 rather than the option at 1, which then sits nonbasic at
    its upper bound with ``d_k != 0``. The choice row's dual, and so every ``d_j`` of the
    service, shifts by that ``d_k``: ``|d_j|`` understates what switching costs, by an amount
    that depends on the basis the solver happened to pick (row scaling changes it: 356 against
    1781 of 10,000 services on one instance). ``d_j - d_k`` does not depend on the choice row's
    dual, and is still a valid loss for reduced-cost fixing: a plan taking ``j`` drops ``k``, and
    both terms ``d_j (1 - 0)`` and ``d_k (0 - 1)`` count against the LP bound with the same sign.
    """
    costs = np.abs(reduced_costs)
    is_option = groups >= 0
    chosen = is_option & (x_lp >= 1.0 - INTEGRAL_TOL)
    if not chosen.any():
        return costs
    count = int(groups.max()) + 1
    chosen_cost = np.zeros(count, dtype=np.float64)
    has_chosen = np.zeros(count, dtype=np.bool_)
    chosen_cost[groups[chosen]] = reduced_costs[chosen]
    has_chosen[groups[chosen]] = True
    options = np.flatnonzero(is_option)
    service = groups[options]
    settled = has_chosen[service]
    costs[options[settled]] = np.abs(
        reduced_costs[options[settled]] - chosen_cost[service[settled]]
    )
    return costs


def _cheapest_services(
    groups: IntArray, magnitude: FloatArray, x_lp: FloatArray, limit: int
) -> BoolArray:
    """Free whole services, those whose cheapest switch (smallest |reduced cost| of an option
    not chosen in the LP) is smallest, up to ``limit`` columns; setup indicators stay free."""
    free = groups < 0
    is_option = groups >= 0
    switch = np.where(is_option & (x_lp < 0.5), magnitude, np.inf)
    count = int(groups.max()) + 1 if is_option.any() else 0
    score = np.full(count, np.inf)
    np.minimum.at(score, groups[is_option], switch[is_option])
    sizes = np.bincount(groups[is_option], minlength=count)
    order = np.argsort(score, kind="stable")
    chosen = order[np.cumsum(sizes[order]) <= limit]
    picked = np.zeros(count, dtype=np.bool_)
    picked[chosen] = True
    free[is_option] = picked[groups[is_option]]
    return free


def _reduced_cost_round(
    solver: Backend,
    model: LinearModel,
    plan: HeuristicPlan,
    x_lp: FloatArray,
    reduced_costs: FloatArray,
    lp_bound: float,
    params: SolveParams,
    time_limit: float | None,
    groups: IntArray,
    interrupt: threading.Event | None = None,
) -> HeuristicPlan:
    """Close the gap left by the first round: neighbourhoods chosen by reduced cost.

    For a column at a bound in the optimal LP basis with reduced cost d_j, any plan that moves it
    loses at least |d_j| against the LP bound. A plan better than the incumbent is within
    G = |bound - incumbent| of the bound, so it keeps every column with |d_j| > G at its LP value
    (reduced-cost fixing). When the columns with |d_j| <= G are few enough, the MIP over them
    contains every plan better than the incumbent: its optimum is the global optimum and its bound
    is a proven global bound. Otherwise the services whose cheapest switch has the smallest |d_j|
    are freed whole, which gives
    a better incumbent (and so a smaller G) without a proof; up to three rounds are tried.
    """
    maximise = model.sense is Sense.MAXIMISE
    began = time.perf_counter()
    values = np.round(x_lp)
    # Basic columns always free.
    magnitude = np.where(_integral(x_lp), _switch_costs(reduced_costs, x_lp, groups), -1.0)
    limit = _neighbourhood(model)
    margin = 1e-7 * max(1.0, abs(lp_bound))  # dual tolerance of the LP solve
    best_x, incumbent, bound = plan.x, model.objective_value(plan.x), lp_bound
    notes = []
    for _ in range(3):
        gap = abs(bound - incumbent)
        if relative_gap(incumbent, bound) <= params.rel_gap:
            break
        exact_free = magnitude <= gap + margin
        exact = int(exact_free.sum()) <= limit
        if exact:
            free_mask = exact_free
        else:
            free_mask = _cheapest_services(groups, magnitude, x_lp, limit)
        if int(free_mask.sum()) > MAX_FREE_SHARE * model.num_cols:
            # Most of the model: this round would be the full search under the heuristic's
            # budget; the full search does it with its own time and bound.
            notes.append(f"neighbourhood of {int(free_mask.sum())} columns left to the full search")
            break
        left = None if time_limit is None else time_limit - (time.perf_counter() - began)
        if (left is not None and left <= MIN_ROUND_SECONDS) or (
            interrupt is not None and interrupt.is_set()
        ):
            break
        start = (
            best_x[free_mask] if np.array_equal(best_x[~free_mask], values[~free_mask]) else None
        )
        restricted, free = fix_columns(model, ~free_mask, values)
        sub = solver.solve(
            restricted,
            params.with_(backend_options={}, verbose=False),
            time_limit=left,
            start=start,
            interrupt=interrupt,
        )
        improved = False
        if sub.x is not None and sub.status.has_plan:
            candidate = values.copy()
            candidate[free] = np.round(sub.x)
            value = model.objective_value(candidate)
            if (value > incumbent) if maximise else (value < incumbent):
                best_x, incumbent, improved = candidate, value, True
        notes.append(
            f"{'exact' if exact else 'heuristic'} neighbourhood of {int(free_mask.sum())} "
            f"columns: {sub.status.value}"
        )
        if exact:
            if sub.status is Status.INFEASIBLE:
                bound = incumbent  # no plan better than the incumbent exists
            elif sub.status is Status.OPTIMAL and sub.bound is not None:
                tighter = max(incumbent, sub.bound) if maximise else min(incumbent, sub.bound)
                bound = min(bound, tighter) if maximise else max(bound, tighter)
            break
        if not improved:
            break
    note = f"{plan.note}; reduced-cost rounds in {time.perf_counter() - began:.2f}s: " + (
        ", ".join(notes) if notes else "none"
    )
    return HeuristicPlan(x=best_x, bound=bound, note=note)
