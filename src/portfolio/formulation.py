"""A formulation: what the one solve pipeline (:mod:`portfolio.solve`) drives.

A formulation is an instance compiled for one horizon, with everything the pipeline needs to go
from the instance to a verified result without knowing which horizon it is: the model, the start
heuristic's hooks, decoding column values into the plan's decisions, the independent verifier,
the explanation of an infeasible instance, and the model's statistics. It knows its axes: the
single-period model is the one-year case (axis ``services``), the multi-year model adds
``years`` (:mod:`portfolio.multiyear.formulation`); a scenarios axis is one more formulation.

The pipeline calls, in order: :meth:`Formulation.compile`, then (when a heuristic may run)
:meth:`Formulation.start_hooks` for :func:`portfolio.heuristic.lp_then_fix` and
:meth:`Formulation.decode`, :meth:`Formulation.verify` and :meth:`Formulation.start_vector` on
its plan, then :meth:`Formulation.check` on the backend's answer, :meth:`Formulation.explain`
when there is no plan, and :meth:`Formulation.plans` and :meth:`Formulation.stats` for the
result.
"""

from __future__ import annotations

import abc
import enum
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Instance
from portfolio.heuristic import HeuristicPlan, SinglePeriodStart, StartHooks
from portfolio.infeasibility import explain_infeasibility
from portfolio.linear import FloatArray, LinearModel
from portfolio.params import SolveParams
from portfolio.result import Explanation, Plan, SolveResult
from portfolio.verify import Verification, verify_plan

if TYPE_CHECKING:
    from portfolio.backends.base import Backend
    from portfolio.clock import Clock
    from portfolio.multiyear.schedule import MultiYearPlan


@enum.unique
class Axis(enum.StrEnum):
    """A dimension of a formulation's tables."""

    SERVICES = "services"
    """Every service chooses an option (every formulation has it)."""
    YEARS = "years"
    """A plan per horizon year: contracts, lock-in, lead times, yearly limits."""
    SCENARIOS = "scenarios"
    """A plan per funding scenario, the same decisions where scenarios cannot be told apart."""


class Verdict(Protocol):
    """What a verifier returns (single-period or multi-year)."""

    @property
    def ok(self) -> bool:
        """Every constraint holds within tolerance."""

    @property
    def violations(self) -> tuple[str, ...]:
        """One line per broken constraint."""

    @property
    def plan(self) -> Any:
        """The evaluated plan (its ``objective`` is the one reported)."""


D = TypeVar("D")
"""A plan's decisions, as the verifier takes them."""
V = TypeVar("V", bound=Verdict)
"""The verifier's verdict."""


class Formulation(abc.ABC, Generic[D, V]):
    """An instance compiled for one horizon, as the solve pipeline drives it.

    Attributes:
        axes: the dimensions of the formulation's tables (class attribute).
        instance: the instance.
    """

    axes: ClassVar[tuple[Axis, ...]]
    instance: Instance

    @classmethod
    @abc.abstractmethod
    def compile(cls, instance: Instance, params: SolveParams) -> Self:
        """Compile ``instance`` (``params.presolve`` may reduce it)."""

    @property
    @abc.abstractmethod
    def model(self) -> LinearModel:
        """The linear model the backend solves."""

    @abc.abstractmethod
    def start_hooks(self) -> StartHooks:
        """What the LP-guided start heuristic needs to know about this formulation."""

    @abc.abstractmethod
    def decode(self, x: FloatArray) -> D:
        """The plan's decisions from column values."""

    @abc.abstractmethod
    def verify(self, decision: D) -> V:
        """The independent verifier's verdict on a plan (from the instance, not the model)."""

    def check(self, x: FloatArray) -> V:
        """The verdict on the plan given by column values."""
        return self.verify(self.decode(x))

    def start_vector(self, x: FloatArray, decision: D) -> FloatArray:
        """The MIP start for a verified heuristic plan (``x``, decoded as ``decision``)."""
        return x

    def given_start(self, start: Mapping[str, int]) -> tuple[D, FloatArray | None] | str:
        """A plan given as option positions per service (:attr:`SolveParams.start`) as this
        formulation's decisions and its column values (None when the model has no column for
        one of its options: a presolve reduction removed it); a string says why the plan cannot
        be taken. Only the single-period formulation takes one."""
        return "a start is taken for single-period instances only"

    def start_without_lp(
        self,
        params: SolveParams,
        remaining: float | None,
        *,
        interrupt: threading.Event | None = None,
    ) -> HeuristicPlan | None:
        """A start and a bound found without the full LP relaxation, tried before the LP-guided
        start (which runs when this gives None); None by default (the multi-year Lagrangian
        start, :mod:`portfolio.multiyear.lagrange`, overrides it)."""
        return None

    @abc.abstractmethod
    def explain(
        self,
        time_limit: float | None,
        *,
        interrupt: threading.Event | None = None,
        ways_out: bool = True,
    ) -> Explanation:
        """Why the instance has no plan (the elastic re-solve; ``ways_out``: several ways out)."""

    @abc.abstractmethod
    def plans(self, verdict: V) -> tuple[Plan, MultiYearPlan | None]:
        """The result's ``plan`` (the first year's, with a horizon) and its year-by-year plan."""

    def refine(
        self,
        result: SolveResult,
        verdict: V | None,
        solver: Backend,
        params: SolveParams,
        clock: Clock,
    ) -> SolveResult:
        """A second phase of this formulation's own once a plan is found (the scenarios' best
        expected objective among plans of the best risk); as is by default."""
        return result

    def attach(self, result: SolveResult, verdict: V | None) -> SolveResult:
        """The result with what this formulation adds to it (the scenarios' plans); as is by
        default."""
        return result

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """The model's size and reductions, for the result's ``stats``."""


class SinglePeriod(Formulation[Sequence[int], Verification]):
    """The single-period formulation (``models/``): one option per service.

    Attributes:
        compiled: the compiled model and its maps back to the instance.
    """

    axes = (Axis.SERVICES,)

    def __init__(self, instance: Instance, compiled: CompiledModel) -> None:
        self.instance = instance
        self.compiled = compiled

    @classmethod
    def compile(cls, instance: Instance, params: SolveParams) -> Self:
        return cls(instance, compile_instance(instance, reduce=params.presolve))

    @property
    def model(self) -> LinearModel:
        return self.compiled.model

    def start_hooks(self) -> StartHooks:
        return SinglePeriodStart(self.compiled)

    def decode(self, x: FloatArray) -> Sequence[int]:
        return self.compiled.decode(x)

    def verify(self, decision: Sequence[int]) -> Verification:
        return verify_plan(self.instance, decision)

    def given_start(
        self, start: Mapping[str, int]
    ) -> tuple[Sequence[int], FloatArray | None] | str:
        services = self.instance.services
        known = {service.id for service in services}
        unknown = sorted(str(sid) for sid in start if sid not in known)
        if unknown:
            return f"it names service(s) the instance does not have: {', '.join(unknown[:5])}"
        missing = [service.id for service in services if service.id not in start]
        if missing:
            return f"it leaves out {len(missing)} service(s), e.g. {missing[0]}"
        positions: list[int] = []
        for service in services:
            position = int(start[service.id])
            if position >= len(service.options):
                return (
                    f"service {service.id} has {len(service.options)} option(s), "
                    f"not a position {position}"
                )
            positions.append(position)
        try:
            x: FloatArray | None = self.compiled.encode(positions)
        except ValueError:
            x = None  # an option the presolve removed: the plan can still be the fallback
        return positions, x

    def explain(
        self,
        time_limit: float | None,
        *,
        interrupt: threading.Event | None = None,
        ways_out: bool = True,
    ) -> Explanation:
        return explain_infeasibility(
            self.instance, time_limit, interrupt=interrupt, ways_out=ways_out
        )

    def plans(self, verdict: Verification) -> tuple[Plan, MultiYearPlan | None]:
        return verdict.plan, None

    def stats(self) -> dict[str, Any]:
        model = self.compiled.model
        return {
            "columns": model.num_cols,
            "rows": model.num_rows,
            "nonzeros": model.num_nonzeros,
            "options": self.compiled.table.num_options,
            "options_removed": dict(self.compiled.removed),
        }
