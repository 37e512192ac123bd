"""The plans of an instance as one compiled model, searched with extra rows and other objectives.

The decision-support questions (the trade-off frontier, the tie-break towards fewer changes) ask
for the best plan under a *different* objective, with one or two extra rows that hold other
figures, such as the plan's own objective, within a bound. Each figure is the objective vector of
the instance compiled with that figure as its objective, taken from the one compiled model's
columns (no copy of the instance is compiled, no option object built; so ``cost`` is exactly what
``minimise_cost`` counts: annual cost, transition cost when the mode changes, setup cost of the
modes used, termination fees; in multi-year planning discounted as the objective is), and every
plan found is decoded and checked by the project's verifier on the instance as written.

The model is compiled with ``reduce=False``: the presolve reductions are made for one objective
and one set of rows, and the extra rows here could make a removed option matter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import scipy.sparse as sp

from portfolio.backends import Backend, Feature, get_backend
from portfolio.backends.isolated import IsolatedBackend
from portfolio.columnar import option_columns, remember_columns
from portfolio.decisions import Decisions
from portfolio.domain import OPTION_FIGURES, Instance, WeightedObjective
from portfolio.errors import ParameterError
from portfolio.guard import reclaimable, run_guarded
from portfolio.kernels import Columns
from portfolio.kernels import objective as kernel_objective
from portfolio.linear import FloatArray, LinearModel, RowBlock, Sense
from portfolio.money import money_decimals
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

__all__ = [
    "CRITERIA",
    "MAX_STEP_DECIMALS",
    "Bound",
    "Criterion",
    "Found",
    "PlanSpace",
    "at_least_as_good",
    "criterion",
    "known_figures",
]

#: The named criteria, each with the objective that defines it and its natural direction.
CRITERIA: dict[str, str] = {
    "outcome": "maximise",
    "cost": "minimise",
    "annual_cost": "minimise",
    "social_value": "maximise",
}

MAX_STEP_DECIMALS = 4
"""Finest step between two values of a criterion: 10**-4. Differences finer than this are within
the solvers' feasibility tolerances (about 1e-6), so they are not told apart."""


@dataclass(frozen=True)
class Criterion:
    """A figure of a plan that can be optimised or bounded.

    Attributes:
        name: ``outcome``, ``cost``, ``annual_cost``, ``social_value`` or a metric's name.
        sense: ``maximise`` or ``minimise`` (which way is better).
        objective: the instance objective whose value is this figure.
        step: the smallest difference between two values that counts (see :func:`criterion`).
    """

    name: str
    sense: str
    objective: str | WeightedObjective
    step: float

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is better than ``b`` by at least half a step."""
        half = self.step / 2
        return a > b + half if self.sense == "maximise" else a < b - half


def _decimals(value: float) -> int:
    """Decimals of a number as written (its shortest exact form): 0.25 -> 2."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _figure_decimals(instance: Instance, name: str) -> int:
    decimals = 0
    for service in instance.services:
        for option in service.options:
            value = option.figure(name)
            if name == "outcome":
                decimals = max(decimals, _decimals(value) + _decimals(service.weight))
            else:
                decimals = max(decimals, _decimals(value))
    return decimals


def known_figures(instance: Instance) -> set[str]:
    """Every figure name a criterion may use: the option fields and the metrics."""
    names = set(OPTION_FIGURES)
    for service in instance.services:
        for option in service.options:
            names.update(option.metrics)
    return names


def criterion(instance: Instance, name: str, sense: str | None = None) -> Criterion:
    """The criterion called ``name`` on ``instance``.

    The step rule: the values of a criterion are sums of the instance's figures, so they lie on a
    grid of 10**-d, d the most decimals any of its terms has: money (``cost``, ``annual_cost``)
    has the instance's money precision (whole pounds: 1; pennies: 0.01); ``outcome`` the decimals
    of weight times outcome; any other figure its own decimals. The grid is never finer than
    10**-:data:`MAX_STEP_DECIMALS`. In multi-year planning with a discount rate the totals are
    discounted sums, which lie on no grid (two plans' totals can differ by far less than a
    pound), so the step is the finest one, 10**-:data:`MAX_STEP_DECIMALS`: discounted totals
    closer than that count as equal.

    Args:
        instance: the instance.
        name: ``outcome``, ``cost`` (the ``minimise_cost`` total: annual cost plus one-off money),
            ``annual_cost``, ``social_value`` or any metric the instance's options define.
        sense: ``maximise`` or ``minimise``; None for the criterion's natural direction (metrics:
            maximise).

    Raises:
        ParameterError: an unknown criterion or direction.
    """
    if sense is not None and sense not in ("maximise", "minimise"):
        raise ParameterError(f"criterion '{name}': direction must be maximise or minimise")
    objective: str | WeightedObjective
    if name == "outcome":
        objective = "maximise_outcome"
        decimals = _figure_decimals(instance, "outcome")
    elif name == "cost":
        objective = "minimise_cost"
        decimals = money_decimals(instance)
    elif name in known_figures(instance):
        objective = WeightedObjective(maximise={name: 1.0})
        decimals = (
            money_decimals(instance)
            if name in ("annual_cost", "transition_cost")
            else _figure_decimals(instance, name)
        )
    else:
        choices = ", ".join(sorted(set(CRITERIA) | (known_figures(instance) - set(OPTION_FIGURES))))
        raise ParameterError(
            f"unknown criterion '{name}': use one of {choices} or a figure of the options"
        )
    step = 10.0 ** -min(decimals, MAX_STEP_DECIMALS)
    if instance.horizon is not None and instance.horizon.discount_rate > 0:
        step = 10.0**-MAX_STEP_DECIMALS
    return Criterion(name, sense or CRITERIA.get(name, "maximise"), objective, step)


@dataclass(frozen=True)
class Bound:
    """An extra row: the criterion's vector, at least ``lower`` and at most ``upper``."""

    coefficients: FloatArray
    offset: float
    lower: float = -math.inf
    upper: float = math.inf


@dataclass(frozen=True)
class Found:
    """The answer of one search.

    Attributes:
        status: the backend's status (``optimal``, ``feasible``, ``infeasible``, ...).
        decisions: the plan's decisions (option positions, or multi-year service paths), or None.
        verdict: the verifier's verdict on the instance as written, or None.
        x: the column values, or None.
        detail: the backend's detail, and why a plan was refused.
    """

    status: Status
    decisions: Any = None
    verdict: Any = None
    x: FloatArray | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """A verified plan, proven optimal for the search's objective."""
        return self.status is Status.OPTIMAL and self.verdict is not None


class PlanSpace:
    """Every plan of one instance, as a compiled model that extra rows and objectives reuse.

    Args:
        instance: a single-period or multi-year instance.
        backend: backend name or object.
        params: solve parameters (the gap, threads, seed and backend options are passed on).
    """

    def __init__(
        self,
        instance: Instance,
        backend: str | Backend = "highs",
        params: SolveParams | None = None,
    ) -> None:
        self.instance = instance
        self.solver = backend if isinstance(backend, Backend) else get_backend(backend)
        self.params = params or SolveParams()
        self.solver.check_options(self.params.backend_options)
        self.multi_year = instance.horizon is not None
        self._compiled = self._compile(instance)
        self.model: LinearModel = self._compiled.model
        self._vectors: dict[Any, tuple[FloatArray, float]] = {}
        self._column_table: Columns | None = None

    # ------------------------------------------------------------------ compiled vectors
    def _compile(self, instance: Instance) -> Any:
        if instance.horizon is not None:
            from portfolio.multiyear import compile_multi_year

            return compile_multi_year(instance, reduce=False)
        from portfolio.compile import compile_instance

        return compile_instance(instance, reduce=False)

    def vector(
        self,
        objective: str | WeightedObjective,
        *,
        discounted: bool = True,
        unit_transition: bool = False,
    ) -> tuple[FloatArray, float]:
        """The coefficients and offset of ``objective`` over this model's columns.

        The vector is what compiling the instance with ``objective`` (and the changes below)
        would give, taken from this model's own columns and the instance's option columns
        (:func:`~portfolio.kernels.objective` with another goal): no copy of the instance is
        compiled and no option object is built.

        Args:
            objective: an instance objective.
            discounted: False to count every horizon year at 1 (a discount rate of 0); no
                effect on a single period.
            unit_transition: True to take every option's transition cost as 1, so that the
                ``transition_cost`` term counts changes of mode.
        """
        key = (repr(objective), discounted, unit_transition)
        found = self._vectors.get(key)
        if found is None:
            columns = self._columns()
            table = columns.table
            if unit_transition:
                table = replace(table, transition_cost=np.ones(table.num_options), _figures={})
            discount = columns.discount if discounted else np.ones_like(columns.discount)
            _, coefficients = kernel_objective(
                replace(columns, table=table, discount=discount), objective
            )
            found = (np.asarray(coefficients, dtype=np.float64), float(self.model.objective_offset))
            self._vectors[key] = found
        return found

    def _columns(self) -> Columns:
        """The column table this model was compiled over (the kernels' view of its columns)."""
        if self._column_table is None:
            if self.multi_year:
                self._column_table = self._compiled.layout.columns
            else:
                from portfolio.compile import single_period_columns

                compiled = self._compiled
                self._column_table = single_period_columns(
                    compiled.table,
                    compiled.option_of_column,
                    compiled.mode_of_y,
                    compiled.mode_of_w,
                    compiled.num_investments,
                )
        return self._column_table

    def criterion_vector(self, item: Criterion) -> tuple[FloatArray, float]:
        """The coefficients and offset of a criterion."""
        return self.vector(item.objective)

    # ------------------------------------------------------------------ plans
    def verify(self, decisions: Any, instance: Instance | None = None) -> Any:
        """The verifier's verdict on ``decisions`` for ``instance`` (default: this one)."""
        target = instance or self.instance
        if self.multi_year:
            from portfolio.multiyear import verify_schedule

            return verify_schedule(target, decisions)
        from portfolio.verify import verify_plan

        return verify_plan(target, decisions)

    def value(self, item: Criterion, decisions: Any) -> float:
        """A criterion's value for a plan, computed by the verifier on the real data.

        The verifier runs on a copy of the instance with the criterion as its objective. The copy
        shares the instance's services and modes, so it is given the instance's option columns
        (the verifier reads only those): no option object is built for it.
        """
        changed = self.instance.model_copy(update={"objective": item.objective})
        if changed.services is self.instance.services and changed.modes is self.instance.modes:
            remember_columns(changed, option_columns(self.instance))
        return float(self.verify(decisions, changed).plan.objective)

    def changes(self, verdict: Any) -> int:
        """Changes of mode in a verified plan (multi-year: summed over the years)."""
        plan = verdict.plan
        if self.multi_year:
            return sum(len(year.changes) for year in plan.years)
        return len(plan.changes)

    def one_off(self, verdict: Any) -> float:
        """One-off money of a verified plan: transition, setup and termination costs (multi-year:
        summed over the years, not discounted)."""
        plan = verdict.plan
        if self.multi_year:
            return math.fsum(year.transition_money for year in plan.years)
        setup = math.fsum(self.instance.mode(mode).setup_cost for mode in plan.modes_used)
        paid = math.fsum(choice.transition_cost for choice in plan.choices) + setup
        return paid + plan.investment_cost if plan.investments else paid

    def options(self, verdict: Any) -> dict[str, Any]:
        """Service id -> index of its chosen option (multi-year: one per year)."""
        return dict(verdict.plan.options)

    def decisions_of(self, verdict: Any) -> Any:
        """The decisions of a verified plan, as :meth:`verify` takes them."""
        plan = verdict.plan
        if self.multi_year:
            made = {i: year - plan.start_year for i, year in plan.investments.items()}
            return Decisions(plan.paths, made)
        return Decisions(
            [plan.options[service.id] for service in self.instance.services],
            dict.fromkeys(plan.investments, 0),
        )

    def encode(self, decisions: Any) -> FloatArray | None:
        """Column values of a plan (None when it cannot be encoded)."""
        try:
            return np.asarray(self._compiled.encode(decisions), dtype=np.float64)
        except (ValueError, KeyError, IndexError):
            return None

    # ------------------------------------------------------------------ search
    def search(
        self,
        objective: tuple[FloatArray, float],
        sense: str,
        bounds: Sequence[Bound] = (),
        *,
        deadline: float | None = None,
        start: FloatArray | None = None,
    ) -> Found:
        """The best plan for ``objective`` among the instance's plans that meet ``bounds``.

        Args:
            objective: coefficients and offset (from :meth:`vector`).
            sense: ``maximise`` or ``minimise``.
            bounds: extra rows.
            deadline: ``time.perf_counter()`` value by which to stop, or None.
            start: column values of a plan meeting every row, as a start.

        Returns:
            The answer; a plan is returned only when the verifier accepts it.
        """
        model = self._with(objective, sense, bounds)
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return Found(Status.TIME_LIMIT_NO_SOLUTION, detail="no time left")
        if start is not None and not self.solver.supports(Feature.MIP_START):
            start = None
        answer = self._guarded(model, left, start)
        if answer is None:
            return Found(
                Status.TIME_LIMIT_NO_SOLUTION,
                detail=f"{self.solver.name} did not stop at its time limit; its run was abandoned",
            )
        if answer.x is None or not answer.status.has_plan:
            return Found(answer.status, detail=answer.detail)
        decisions = self._compiled.decode(answer.x)
        verdict = self.verify(decisions)
        if not verdict.ok:
            return Found(
                Status.ERROR,
                detail=f"the solver's plan failed verification: {'; '.join(verdict.violations)}",
            )
        x = np.asarray(answer.x, dtype=np.float64)
        for bound in bounds:
            level = float(bound.coefficients @ np.round(x)) + bound.offset
            slack = 1e-6 * max(1.0, abs(level))
            if level < bound.lower - slack or level > bound.upper + slack:
                return Found(Status.ERROR, detail="the solver's plan breaks an added row")
        return Found(answer.status, decisions, verdict, x, answer.detail)

    def _guarded(
        self, model: LinearModel, left: float | None, start: FloatArray | None
    ) -> BackendResult | None:
        """The backend's answer, run under the guard: with a time limit, in a solver process
        where the parameters' ``isolation`` says so (:func:`~portfolio.guard.reclaimable`), and
        abandoned (None) when it does not return within
        :data:`~portfolio.guard.ABANDON_GRACE` of the limit."""
        solver = self.solver
        if left is not None and not isinstance(solver, IsolatedBackend):
            solver = reclaimable(solver, self.params.with_(time_limit=max(left, 0.05)))
        answer, _ = run_guarded(
            lambda stop: solver.solve(
                model, self.params, time_limit=left, start=start, interrupt=stop
            ),
            name=f"{self.solver.name} (plan space)",
            timeout=left,
        )
        return answer

    def _with(
        self, objective: tuple[FloatArray, float], sense: str, bounds: Sequence[Bound]
    ) -> LinearModel:
        base = self.model
        coefficients, offset = objective
        rows = [sp.csr_matrix(bound.coefficients.reshape(1, -1)) for bound in bounds]
        matrix = sp.vstack([base.matrix, *rows], format="csr") if rows else base.matrix
        matrix.eliminate_zeros()
        lower = np.array([b.lower - b.offset for b in bounds], dtype=np.float64)
        upper = np.array([b.upper - b.offset for b in bounds], dtype=np.float64)
        blocks = base.blocks
        if bounds:
            blocks = (
                *blocks,
                RowBlock("held", base.num_rows, base.num_rows + len(bounds), kind="held"),
            )
        return LinearModel(
            sense=Sense.MAXIMISE if sense == "maximise" else Sense.MINIMISE,
            objective=np.asarray(coefficients, dtype=np.float64),
            objective_offset=offset,
            matrix=matrix,
            row_lower=np.concatenate((base.row_lower, lower)),
            row_upper=np.concatenate((base.row_upper, upper)),
            col_lower=base.col_lower,
            col_upper=base.col_upper,
            integrality=base.integrality,
            blocks=blocks,
            column_names=base.column_names,
        )


def at_least_as_good(
    space: PlanSpace, item: Criterion, value: float, *, by: float = 0.0
) -> Bound:
    """A row that keeps ``item`` at least as good as ``value`` (``by`` > 0: strictly better by
    that amount); the row's bound is moved half a step outwards when ``by`` is 0, so that every
    plan exactly at ``value`` meets it despite rounding."""
    coefficients, offset = space.criterion_vector(item)
    margin = by if by > 0 else -item.step / 2
    if item.sense == "maximise":
        return Bound(coefficients, offset, lower=value + margin)
    return Bound(coefficients, offset, upper=value - margin)

