"""The funding-scenarios formulation (models/scenarios.md): the multi-year formulation with a
scenarios axis, driven by the one solve pipeline (:mod:`portfolio.solve`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, Self

import numpy as np

from portfolio.backends.registry import lp_backend
from portfolio.domain import Instance
from portfolio.formulation import Axis, Formulation
from portfolio.heuristic import StartHooks
from portfolio.infeasibility import explain_multi_year
from portfolio.linear import BoolArray, FloatArray, LinearModel
from portfolio.multiyear.heuristic import MultiYearStart
from portfolio.multiyear.schedule import MultiYearPlan, ServicePath
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Explanation, Plan, SolveResult, Status
from portfolio.scenarios.compile import ScenarioModel, compile_scenarios
from portfolio.scenarios.data import scenario_instance
from portfolio.scenarios.verify import ScenarioVerification, verify_scenarios

ScenarioPaths = Sequence[Sequence[ServicePath]]
"""Each scenario's decisions."""


class Scenarios(Formulation[ScenarioPaths, ScenarioVerification]):
    """An instance with a horizon and funding scenarios: one multi-year plan per scenario, the
    same decisions where the scenarios cannot yet be told apart.

    The result's ``plan`` is the first year's arrangement (of the first scenario), ``scenarios``
    each scenario's year-by-year plan and ``here_and_now`` the decisions taken now.

    Attributes:
        compiled: the extensive form and the maps back to each scenario.
    """

    axes = (Axis.SERVICES, Axis.YEARS, Axis.SCENARIOS)

    def __init__(
        self,
        instance: Instance,
        compiled: ScenarioModel,
        fixed_first: Sequence[ServicePath] | None = None,
    ) -> None:
        self.instance = instance
        self.compiled = compiled
        self.fixed_first = fixed_first

    @classmethod
    def compile(cls, instance: Instance, params: SolveParams) -> Self:
        return cls(instance, compile_scenarios(instance))

    @classmethod
    def with_first_year(cls, instance: Instance, plan: Sequence[ServicePath]) -> Self:
        """The formulation with the first year's decisions held at ``plan``'s."""
        return cls(instance, compile_scenarios(instance, fixed_first=plan), plan)

    @property
    def model(self) -> LinearModel:
        return self.compiled.model

    def start_hooks(self) -> StartHooks:
        return ScenarioStart(self.compiled)

    def decode(self, x: FloatArray) -> ScenarioPaths:
        return self.compiled.decode(x)

    def verify(self, decision: ScenarioPaths) -> ScenarioVerification:
        return verify_scenarios(self.instance, decision, self.scenario_instances)

    @cached_property
    def scenario_instances(self) -> tuple[Instance, ...]:
        """Each scenario's instance, as the verifier reads it (built once)."""
        return tuple(scenario_instance(self.instance, s) for s in self.instance.scenarios or [])

    def start_vector(self, x: FloatArray, decision: ScenarioPaths) -> FloatArray:
        return self.compiled.encode(decision)

    def explain(
        self,
        time_limit: float | None,
        *,
        interrupt: threading.Event | None = None,
        ways_out: bool = True,
    ) -> Explanation:
        # A scenario with no plan of its own is the reason: name it, with its limits.
        solver = lp_backend()
        names = self.compiled.tree.names
        scenarios = self.instance.scenarios or []
        for s, compiled in enumerate(self.compiled.compiled):
            if solver is None:
                break
            model = compiled.model
            if self.fixed_first is not None:
                alone = scenarios[s].model_copy(update={"probability": 1.0})
                model = compile_scenarios(
                    self.instance.model_copy(update={"scenarios": [alone], "risk": None}),
                    fixed_first=self.fixed_first,
                ).model
            feasibility = replace(model, objective=np.zeros(model.num_cols), objective_offset=0.0)
            answer = solver.solve(
                feasibility, SolveParams(verbose=False), time_limit=time_limit,
                interrupt=interrupt,
            )
            if answer.status is not Status.INFEASIBLE:
                continue
            if self.fixed_first is not None:
                return Explanation(
                    summary=f"in scenario '{names[s]}', no plan keeps the first-year decisions "
                    "held fixed"
                )
            own = explain_multi_year(
                compiled, time_limit, interrupt=interrupt, ways_out=ways_out
            )
            return replace(own, summary=f"in scenario '{names[s]}': {own.summary}")
        return Explanation(
            summary=(
                "every scenario has a plan of its own, but no plan takes the same decisions "
                "where the scenarios cannot yet be told apart: a contract decided before the "
                "scenarios part (a lead time) must suit all of them"
            )
        )

    def plans(self, verdict: ScenarioVerification) -> tuple[Plan, MultiYearPlan | None]:
        return verdict.first_year, None

    def attach(self, result: SolveResult, verdict: ScenarioVerification | None) -> SolveResult:
        return replace(result, scenarios=None if verdict is None else verdict.plan)

    def stats(self) -> dict[str, Any]:
        model = self.compiled.model
        tree = self.compiled.tree
        return {
            "columns": model.num_cols,
            "rows": model.num_rows,
            "nonzeros": model.num_nonzeros,
            "scenarios": len(tree.names),
            "tree_nodes": tree.num_nodes,
            "years": self.compiled.compiled[0].table.years,
            "options": self.compiled.compiled[0].table.num_options,
        }


class ScenarioStart(StartHooks):
    """The LP-guided start on the extensive form: a service is settled when all its columns in
    every scenario are integral in the LP; further rounds free, in every scenario, the services
    the multi-year hooks would free."""

    def __init__(self, compiled: ScenarioModel) -> None:
        self.compiled = compiled
        self.model = compiled.model
        self.parts = [MultiYearStart(own) for own in compiled.compiled]
        first = self.parts[0]
        self.num_services = first.num_services
        self.min_columns = first.min_columns
        self.rounds = first.rounds
        groups = np.full(self.model.num_cols, -1, dtype=np.int64)
        for s, part in enumerate(self.parts):
            groups[compiled.colmap[s]] = part.service_of_column
        self.service_of_column = groups

    def settled(self, x_lp: FloatArray) -> BoolArray:
        settled = np.ones(self.num_services, dtype=np.bool_)
        for s, part in enumerate(self.parts):
            settled &= part.settled(self.compiled.scenario_values(x_lp, s))
        return settled

    def free_more(self, number: int, lp: BackendResult) -> BoolArray | None:
        if lp.x is None:
            return None
        free = np.zeros(self.model.num_cols, dtype=np.bool_)
        for s, part in enumerate(self.parts):
            own = part.free_more(number, replace(lp, x=self.compiled.scenario_values(lp.x, s)))
            if own is None:
                return None
            free[self.compiled.colmap[s]] |= own
        return free

    def sub_gap(self, params: SolveParams) -> float:
        return params.rel_gap / 2
