"""What a solve returns: status, plan, checks, timings."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from portfolio.errors import NoPlanError
from portfolio.linear import FloatArray

if TYPE_CHECKING:
    from portfolio.multiyear.schedule import MultiYearPlan
    from portfolio.scenarios.plan import ScenarioPlan


@enum.unique
class Status(enum.StrEnum):
    """Outcome of a solve; the values are the strings of the result file.

    A member is also its string (``Status.OPTIMAL == "optimal"``), so rows read back from result
    files and rows made in this process compare alike.
    """

    OPTIMAL = "optimal"
    """A verified plan proven optimal within the relative gap."""
    FEASIBLE = "feasible"
    """A verified plan, not proven optimal (a limit stopped the search)."""
    INFEASIBLE = "infeasible"
    """Proven: no plan satisfies every constraint."""
    UNBOUNDED = "unbounded"
    """The objective can improve without limit."""
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    """A limit stopped the search before any plan was found."""
    ERROR = "error"
    """The solver failed, or its answer did not pass verification."""

    @property
    def has_plan(self) -> bool:
        """True for optimal and feasible."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 with a plan, 1 otherwise."""
        return 0 if self.has_plan else 1


@enum.unique
class StopReason(enum.StrEnum):
    """Why a solve stopped; the values are the strings of the result file's ``stop_reason``."""

    GAP_REACHED = "gap_reached"
    """A plan within the relative gap of the proven bound was found (status optimal)."""
    COMPLETED = "completed"
    """The search ran to its end: no plan exists, the objective is unbounded, or the backend
    found nothing better to do."""
    TIME_LIMIT = "time_limit"
    """The time limit (or another limit of the solver) ended the search."""
    INTERRUPTED = "interrupted"
    """A stop request (Ctrl-C, or the ``cancel`` event) ended the search."""
    ABANDONED = "abandoned"
    """The solver did not stop when asked to; its run was abandoned and may still be running."""
    FAILED = "failed"
    """The solver failed, or its answer did not pass verification."""


@dataclass(frozen=True)
class BackendResult:
    """What a backend hands back: the raw answer in model space, before decoding and checks.

    Attributes:
        status: the status in portfolio's terms (the backend maps its own codes).
        x: column values of the best plan found, or None.
        objective: model objective at ``x`` as the solver reported it.
        bound: best proven bound on the model objective, or None.
        raw_status: the solver's own status text, kept for ``detail``.
        detail: free text (scaling applied, limits hit, ...).
        seconds: wall-clock seconds inside the backend.
        hit_limit: True when a time or node limit ended the search.
        reduced_costs: for an optimal LP relaxation, the reduced cost of every column (backends
            that can give them); used for reduced-cost fixing.
        stop: why the run stopped, when the caller's deadline guard settled it (abandoned, not
            started, no time left); None lets the solve derive it from the status.
        row_duals: for an optimal LP relaxation, every row's dual value (backends that can give
            them: HiGHS, CBC): the rate at which the optimal objective changes per unit increase of
            the row's active bound (the bound the optimum sits on), in the model's own units and
            sense (a maximised objective that gains when an upper bound is raised has a positive
            dual there); 0 for a row at neither bound. Degenerate LPs have several valid duals;
            this is the solver's.
    """

    status: Status
    x: FloatArray | None = None
    objective: float | None = None
    bound: float | None = None
    raw_status: str = ""
    detail: str = ""
    seconds: float = 0.0
    hit_limit: bool = False
    reduced_costs: FloatArray | None = None
    stop: StopReason | None = None
    row_duals: FloatArray | None = None


@dataclass(frozen=True)
class Check:
    """One constraint of the instance evaluated on a plan.

    Attributes:
        name: the constraint as the user knows it, e.g. ``budget`` or ``sector_share[private].max``.
        value: the plan's left-hand side on the real data.
        sense: ``"<="``, ``">="`` or ``"="``.
        limit: the right-hand side.
        slack: how far inside the limit the plan is (negative when violated).
        binding: the plan sits on the limit (slack within tolerance).
        ok: the constraint holds within tolerance.
        detail: optional words, e.g. which services break a bundle.
    """

    name: str
    value: float
    sense: str
    limit: float
    slack: float
    binding: bool
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "name": self.name,
            "value": _clean(self.value),
            "sense": self.sense,
            "limit": _clean(self.limit),
            "slack": _clean(self.slack),
            "binding": self.binding,
            "ok": self.ok,
            **({"detail": self.detail} if self.detail else {}),
        }


@dataclass(frozen=True)
class ServiceChoice:
    """The option chosen for one service, with its figures."""

    service: str
    current_mode: str
    mode: str
    option: int
    annual_cost: float
    transition_cost: float
    outcome: float
    weighted_outcome: float
    flexibility: float | None
    label: str | None

    @property
    def changes(self) -> bool:
        """The service changes mode."""
        return self.mode != self.current_mode

    @classmethod
    def many(cls, *columns: Iterable[Any]) -> tuple[ServiceChoice, ...]:
        """One choice per row of ``columns`` (one iterable per field, in field order), each
        equal to ``ServiceChoice(*row)``: built by filling its fields at once rather than one
        frozen assignment at a time (a plan of 100,000 services builds in half the time)."""
        names = _CHOICE_FIELDS
        new = object.__new__
        choices: list[ServiceChoice] = []
        append = choices.append
        for row in zip(*columns, strict=True):
            choice = new(cls)
            choice.__dict__.update(zip(names, row, strict=True))
            append(choice)
        return tuple(choices)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "service": self.service,
            "current_mode": self.current_mode,
            "mode": self.mode,
            "option": self.option,
            "changes": self.changes,
            "annual_cost": self.annual_cost,
            "transition_cost": self.transition_cost,
            "outcome": self.outcome,
            "weighted_outcome": self.weighted_outcome,
            "flexibility": self.flexibility,
            "label": self.label,
        }


_CHOICE_FIELDS = tuple(f.name for f in fields(ServiceChoice))


@dataclass(frozen=True)
class Plan:
    """A plan: one option per service, with its evaluation on the real data.

    Attributes:
        choices: one entry per service, in the instance's order.
        objective: the objective as the user stated it, computed from the plan.
        checks: every constraint evaluated on the plan.
        modes_used: ids of modes at least one service uses.
        investments: ids of the investments the plan makes (multi-year: in its first year).
        investment_cost: their cost.
        savings: spend saved by prevention effects (the budget counts annual cost less this).
        outcome_gain: weighted outcome gained from effects (included in the outcome).
        effects: the effects that landed, as plain data.
        modes_counted: the modes ``max_modes_used`` counts (None without the cap).
    """

    choices: tuple[ServiceChoice, ...]
    objective: float
    checks: tuple[Check, ...]
    modes_used: tuple[str, ...]
    investments: tuple[str, ...] = ()
    investment_cost: float = 0.0
    savings: float = 0.0
    outcome_gain: float = 0.0
    effects: tuple[dict[str, Any], ...] = ()
    modes_counted: tuple[str, ...] | None = None

    @property
    def assignment(self) -> dict[str, str]:
        """Service id -> chosen mode id."""
        return {choice.service: choice.mode for choice in self.choices}

    @property
    def options(self) -> dict[str, int]:
        """Service id -> 0-based index of the chosen option in the service's list."""
        return {choice.service: choice.option for choice in self.choices}

    @property
    def binding(self) -> tuple[str, ...]:
        """Names of the constraints the plan sits on."""
        return tuple(check.name for check in self.checks if check.binding)

    @property
    def changes(self) -> tuple[str, ...]:
        """Ids of the services that change mode."""
        return tuple(choice.service for choice in self.choices if choice.changes)

    @property
    def annual_cost(self) -> float:
        """Total annual cost."""
        return math.fsum(choice.annual_cost for choice in self.choices)

    def rows(self) -> list[dict[str, Any]]:
        """The plan as a list of flat records, one per service (e.g. for ``pandas.DataFrame``)."""
        return [choice.to_dict() for choice in self.choices]


@dataclass(frozen=True)
class Relaxation:
    """One way to restore feasibility: move a limit by an amount."""

    constraint: str
    current: float
    needed: float

    @property
    def change(self) -> float:
        """Signed amount the limit must move."""
        return self.needed - self.current

    def __str__(self) -> str:
        def fmt(v: float) -> str:
            return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.4g}"

        verb = "rise" if self.change > 0 else "fall"
        return (
            f"{self.constraint} must {verb} by {fmt(abs(self.change))} "
            f"(from {fmt(self.current)} to {fmt(self.needed)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "constraint": self.constraint,
            "current": _clean(self.current),
            "needed": _clean(self.needed),
            "change": _clean(self.change),
            "text": str(self),
        }


@dataclass(frozen=True)
class WayOut:
    """One set of limits whose relaxation alone restores a plan, with the amounts.

    Attributes:
        limits: the limits that move, as named in the file (over a horizon, a limit's family
            across its years: ``budget`` for ``budget@2028`` and ``budget@2029``).
        relaxations: how far each moves (over a horizon, one per year that moves); the other
            limits stay where they are.
    """

    limits: tuple[str, ...]
    relaxations: tuple[Relaxation, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: ``{limits, relaxations: [{limit, from, to, change}]}``."""
        return {
            "limits": list(self.limits),
            "relaxations": [
                {
                    "limit": r.constraint,
                    "from": _clean(r.current),
                    "to": _clean(r.needed),
                    "change": _clean(r.change),
                }
                for r in self.relaxations
            ],
        }


@dataclass(frozen=True)
class Explanation:
    """Why no plan exists: the limits in conflict and the smallest moves that would fix it.

    Attributes:
        summary: one sentence.
        relaxations: limits to move, each with the amount (the elastic re-solve's answer).
        single_fixes: limits that alone, moved by the amount shown, restore feasibility.
        structural: conflicts no amount of money fixes (bundles sharing no mode, ...).
        ways_out: up to three distinct sets of limits, each of which alone, moved by the amounts
            shown, restores a plan and none of whose limits can stay put at those amounts
            (:mod:`portfolio.infeasibility` says how they are found).
    """

    summary: str
    relaxations: tuple[Relaxation, ...] = ()
    single_fixes: tuple[Relaxation, ...] = ()
    structural: tuple[str, ...] = ()
    ways_out: tuple[WayOut, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "summary": self.summary,
            "relaxations": [r.to_dict() for r in self.relaxations],
            "single_fixes": [r.to_dict() for r in self.single_fixes],
            "structural": list(self.structural),
            "ways_out": [way.to_dict() for way in self.ways_out],
        }


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds of each stage."""

    read: float = 0.0
    compile: float = 0.0
    solve: float = 0.0
    verify: float = 0.0
    explain: float = 0.0
    total: float = 0.0
    prefer: float = 0.0
    baseline: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """Plain-data form."""
        return {k: round(v, 6) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SolveResult:
    """The outcome of solving one instance.

    Attributes:
        status: see :class:`Status`.
        objective: the plan's objective in the user's sense (None without a plan).
        bound: best proven bound on the objective, in the same sense (None if unknown).
        plan: the verified plan, or None.
        verified: the independent checker accepted the plan.
        backend: name of the backend used.
        timings: seconds per stage.
        notes: solver status and notes (scaling, limits, heuristics), one per entry; the result
            file's ``detail`` is them joined (see :attr:`detail`).
        explanation: for infeasible instances, what would have to give.
        instance_name: the instance's name.
        violations: when a solver's answer failed verification, what failed.
        stats: model size and reductions (columns, rows, nonzeros, options removed).
        multi_year: for instances with a ``horizon``, the year-by-year plan (merged into the
            result file: ``schedule``, ``contracts``, ``years``).
        interrupted: the caller asked the solve to stop (Ctrl-C, or ``cancel`` set) before it
            ended; the plan, if any, is the best verified one found by then. The result file
            then has ``"interrupted": true``.
        stop_reason: why the solve stopped (the result file's ``stop_reason``), or None when
            unknown.
        baseline: today's arrangement evaluated on the instance
            (:func:`portfolio.baseline.baseline`: ``objective``, ``annual_cost``,
            ``one_off_cost``, ``outcome``, ``feasible``, ``violations``, ...), or None when the
            instance was not read.
        versus_baseline: the plan against today (:func:`portfolio.baseline.versus_baseline`),
            or None without a plan.
        scenarios: for instances with funding scenarios, each scenario's plan and the decisions
            taken now (merged into the result file: ``risk``, ``here_and_now``, ``scenarios``).
    """

    status: Status
    objective: float | None
    bound: float | None
    plan: Plan | None
    verified: bool
    backend: str
    timings: Timings
    notes: tuple[str, ...] = ()
    explanation: Explanation | None = None
    instance_name: str = ""
    violations: tuple[str, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    multi_year: MultiYearPlan | None = None
    interrupted: bool = False
    stop_reason: StopReason | None = None
    baseline: Mapping[str, Any] | None = None
    versus_baseline: Mapping[str, Any] | None = None
    scenarios: ScenarioPlan | None = None

    @property
    def detail(self) -> str:
        """The notes as one line (the result file's ``detail``)."""
        return join_notes(self.notes)

    @property
    def gap(self) -> float | None:
        """Relative gap |objective - bound| / max(1, |objective|), or None."""
        if self.objective is None or self.bound is None:
            return None
        return relative_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        """A verified plan is available."""
        return self.plan is not None

    def require_plan(self) -> Plan:
        """The plan, or :class:`~portfolio.errors.NoPlanError` saying why there is none."""
        if self.plan is None:
            raise NoPlanError(f"no plan: status {self.status.value}. {self.detail}".strip())
        return self.plan

    def to_dict(self) -> dict[str, Any]:
        """The result file's content (DESIGN.md), JSON-ready."""
        plan = self.plan
        out: dict[str, Any] = {
            "instance": self.instance_name,
            "status": self.status.value,
            "objective": _clean(self.objective),
            "bound": _clean(self.bound),
            "gap": _clean(self.gap),
            "assignment": plan.assignment if plan else None,
            "options": plan.options if plan else None,
            "backend": self.backend,
            "solve_seconds": round(self.timings.solve, 6),
            "verified": self.verified,
            "timings": self.timings.to_dict(),
            "detail": self.detail,
        }
        if self.stop_reason is not None:
            out["stop_reason"] = self.stop_reason.value
        if plan is not None:
            out["changes"] = list(plan.changes)
            out["modes_used"] = list(plan.modes_used)
            out["binding"] = list(plan.binding)
            out["checks"] = [check.to_dict() for check in plan.checks]
            out["services"] = plan.rows()
            out.update(_mix(plan))
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        if self.violations:
            out["violations"] = list(self.violations)
        if self.stats:
            out["stats"] = dict(self.stats)
        if self.multi_year is not None:
            out.update(self.multi_year.to_dict())
        if self.scenarios is not None:
            out.update(self.scenarios.to_dict())
        if self.interrupted:
            out["interrupted"] = True
        if "prefer" in self.stats:
            out["prefer"] = dict(self.stats["prefer"])
        if self.baseline is not None:
            out["baseline"] = _plain_data(self.baseline)
        if self.versus_baseline is not None:
            out["versus_baseline"] = _plain_data(self.versus_baseline)
        return out


def join_notes(notes: tuple[str, ...] | list[str]) -> str:
    """Notes as one line, ``"; "`` between them (empty notes left out)."""
    return "; ".join(note for note in notes if note)


def relative_gap(objective: float, bound: float) -> float:
    """|objective - bound| / max(1, |objective|): the gap convention used throughout."""
    return abs(objective - bound) / max(1.0, abs(objective))


#: Values :func:`_plain_data` keeps as they are.
_KEPT = frozenset({str, int, bool, type(None)})


def _plain_data(value: Any) -> Any:
    """Nested mappings and sequences as JSON-ready data (numbers as floats, inf and NaN as
    None)."""
    if type(value) is dict and set(map(type, value)) == {str} and (
        set(map(type, value.values())) <= _KEPT
    ):  # e.g. today's option of each service: copied at once
        return dict(value)
    if type(value) is list and set(map(type, value)) <= _KEPT:
        return list(value)
    if isinstance(value, Mapping):
        return {str(key): _plain_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(item) for item in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _clean(float(value))
    return value


def _clean(value: float | None) -> float | None:
    """JSON has no inf or NaN: map them to None."""
    if value is None:
        return None
    value = float(value)
    if not np.isfinite(value):
        return None
    return value


def _mix(plan: Plan) -> dict[str, Any]:
    """The result file's keys for investments, effects and the vehicle cap, when the plan has
    them (a multi-year plan lists its investments by year in ``investments``, from the
    year-by-year plan)."""
    out: dict[str, Any] = {}
    if plan.investments:
        out["investments"] = list(plan.investments)
        out["investment_cost"] = plan.investment_cost
    if plan.effects:
        out["effects"] = {
            "savings": plan.savings,
            "outcome_gain": plan.outcome_gain,
            "landed": [dict(effect) for effect in plan.effects],
        }
    if plan.modes_counted is not None:
        out["modes_counted"] = list(plan.modes_counted)
    return out
