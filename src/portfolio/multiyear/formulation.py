"""The multi-year formulation (``models/multi_year.md``): per service a path through the years in
a network whose arcs are contracts, coupled by yearly rows; driven by :mod:`portfolio.solve`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Self

from portfolio.domain import Instance
from portfolio.formulation import Axis, Formulation
from portfolio.heuristic import HeuristicPlan, StartHooks
from portfolio.infeasibility import explain_multi_year
from portfolio.linear import FloatArray, LinearModel
from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.heuristic import MultiYearStart
from portfolio.multiyear.lagrange import lagrangian_plan, start_record
from portfolio.multiyear.schedule import MultiYearPlan, ServicePath
from portfolio.multiyear.verify import MultiYearVerification, verify_schedule
from portfolio.params import SolveParams
from portfolio.result import Explanation, Plan


class MultiYear(Formulation[Sequence[ServicePath], MultiYearVerification]):
    """An instance with a ``horizon``: contracts, lock-in, lead times and yearly limits.

    The result's ``plan`` is the first year's arrangement; ``multi_year`` the year-by-year plan
    (``schedule``, ``contracts`` and ``years`` in the result file).

    Attributes:
        compiled: the compiled network model and its maps back to the instance.
    """

    axes = (Axis.SERVICES, Axis.YEARS)

    def __init__(self, instance: Instance, compiled: MultiYearModel) -> None:
        self.instance = instance
        self.compiled = compiled

    @classmethod
    def compile(cls, instance: Instance, params: SolveParams) -> Self:
        return cls(instance, compile_multi_year(instance, reduce=params.presolve))

    @property
    def model(self) -> LinearModel:
        return self.compiled.model

    def start_hooks(self) -> StartHooks:
        return MultiYearStart(self.compiled)

    def decode(self, x: FloatArray) -> Sequence[ServicePath]:
        return self.compiled.decode(x)

    def verify(self, decision: Sequence[ServicePath]) -> MultiYearVerification:
        return verify_schedule(self.instance, decision)

    def start_without_lp(
        self,
        params: SolveParams,
        remaining: float | None,
        *,
        interrupt: threading.Event | None = None,
    ) -> HeuristicPlan | None:
        return lagrangian_plan(self.compiled, params, remaining, interrupt=interrupt)

    def start_vector(self, x: FloatArray, decision: Sequence[ServicePath]) -> FloatArray:
        # Encoded from the verified decisions: the start is exactly the plan that was checked.
        return self.compiled.encode(decision)

    def explain(
        self,
        time_limit: float | None,
        *,
        interrupt: threading.Event | None = None,
        ways_out: bool = True,
    ) -> Explanation:
        compiled = self.compiled
        if compiled.forbidden:
            # The knapsack reduction holds only under every limit: relaxing one needs every arc.
            compiled = compile_multi_year(self.instance, reduce=False)
        return explain_multi_year(compiled, time_limit, interrupt=interrupt, ways_out=ways_out)

    def plans(self, verdict: MultiYearVerification) -> tuple[Plan, MultiYearPlan | None]:
        return verdict.first_year, verdict.plan

    def stats(self) -> dict[str, Any]:
        model = self.compiled.model
        layout = self.compiled.layout
        return {
            "columns": model.num_cols,
            "rows": model.num_rows,
            "nonzeros": model.num_nonzeros,
            "options": self.compiled.table.num_options,
            "arcs": layout.num_arcs,
            "activities": layout.num_act,
            "years": self.compiled.table.years,
            "lagrangian_start": start_record(self.compiled),
        }
