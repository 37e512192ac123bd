"""The funding-scenarios formulation (models/scenarios.md): the multi-year formulation with a
scenarios axis, driven by the one solve pipeline (:mod:`portfolio.solve`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from portfolio.backends.base import Backend
from portfolio.backends.registry import lp_backend
from portfolio.clock import Clock
from portfolio.domain import Instance
from portfolio.formulation import Axis, Formulation
from portfolio.guard import run_with_deadline
from portfolio.heuristic import StartHooks
from portfolio.infeasibility import explain_multi_year
from portfolio.linear import BoolArray, FloatArray, LinearModel, RowBlock, Sense
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

    def refine(
        self,
        result: SolveResult,
        verdict: ScenarioVerification | None,
        solver: Backend,
        params: SolveParams,
        clock: Clock,
    ) -> SolveResult:
        """With ``worst_case`` or ``cvar``, the scenarios outside the worst do not count, so the
        plan found may leave them worse than they need be: among plans whose risk value is the
        one found, take the one with the best expected objective (an exact second solve, time
        capped like the tie-break, verified like every plan). ``stats["prefer"]`` says what
        applied."""
        risk = self.instance.risk
        if verdict is None or not verdict.ok or risk is None or risk == "expected":
            return result
        if params.prefer == "none" or clock.cancelled:
            return _record(result, "none", "turned off (prefer none)" if params.prefer == "none"
                           else "not tried: the solve was interrupted")
        compiled = self.compiled
        model = compiled.model
        found = verdict.plan.objective
        maximise = model.sense is Sense.MAXIMISE
        slack = SECOND_PHASE_SLACK * max(1.0, abs(found))
        expected = np.zeros(model.num_cols)
        offset = 0.0
        for s, (objective, own_offset) in enumerate(compiled.scenario_objective):
            np.add.at(expected, compiled.colmap[s], compiled.tree.probability[s] * objective)
            offset += compiled.tree.probability[s] * own_offset
        keep = sp.vstack([model.matrix, sp.csr_matrix(model.objective[None, :])], format="csr")
        bound = found - model.objective_offset
        lower = np.append(model.row_lower, bound - slack if maximise else -np.inf)
        upper = np.append(model.row_upper, np.inf if maximise else bound + slack)
        second = replace(
            model,
            objective=expected,
            objective_offset=offset,
            matrix=keep,
            row_lower=lower,
            row_upper=upper,
            blocks=(*model.blocks, RowBlock("risk_kept", model.num_rows, model.num_rows + 1,
                                            kind="risk_kept")),
        )
        try:
            start = compiled.encode([o.plan.paths for o in verdict.plan.outcomes])
        except ValueError:
            start = None
        remaining = clock.remaining()
        cap = max(SECOND_PHASE_MIN_SECONDS, SECOND_PHASE_SHARE * clock.elapsed())
        limit = cap if remaining is None else min(cap, remaining)
        if limit <= 0.05:
            return _record(result, "none", "not tried: no time left")
        sub = Clock(time.perf_counter(), limit, clock.cancel)
        answer = run_with_deadline(solver, second, params, sub, start)
        if answer.x is None or not answer.status.has_plan:
            return _record(result, "none", f"the second solve found no plan "
                           f"({answer.status.value})")
        better = self.check(answer.x)
        before = verdict.plan.expected
        tol = 1e-12 * max(1.0, abs(before))
        gain = better.plan.expected - before if maximise else before - better.plan.expected
        if not better.ok or gain <= tol:
            return _record(result, "none", "no plan of the same risk value has a better "
                           "expected objective" + ("" if answer.status is Status.OPTIMAL
                                                   else " (the second solve did not finish)"))
        worse_risk = better.plan.objective < found - slack if maximise else \
            better.plan.objective > found + slack
        if worse_risk:
            return _record(result, "none", "the second solve's plan has a worse risk value")
        first, _ = self.plans(better)
        note = (
            f"among plans of the same {verdict.plan.risk_label} value, preferred one with "
            f"expected objective {better.plan.expected:.6g} (was {before:.6g})"
        )
        refined = replace(
            result,
            objective=better.plan.objective,
            plan=first,
            scenarios=better.plan,
            notes=(*result.notes, note),
        )
        return _record(refined, "best_expected", note)

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


SECOND_PHASE_SLACK = 1e-9
"""How far (relative) the second phase may move the risk value: solver tolerance, no more."""
SECOND_PHASE_MIN_SECONDS = 5.0
"""The second phase gets at least this long (within the user's limit) ..."""
SECOND_PHASE_SHARE = 0.5
"""... and at most this share of the time the first took."""


def _record(result: SolveResult, applied: str, detail: str) -> SolveResult:
    stats = dict(result.stats)
    stats["prefer"] = {
        "rule": "among plans of the best risk value, the best expected objective",
        "applied": applied,
        "detail": detail,
    }
    return replace(result, stats=stats)


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
