"""Why this plan: what every other mode would cost, and what every limit is worth.

:func:`explain_plan` answers two questions a council officer is asked about a plan, each by exact
re-solves of modified copies of the instance (never by reading a matrix):

* **Why not another mode?** For each service and each other mode it is offered, the best plan
  with the service forced into that mode (the instance's own ``fixed`` red line, added for that
  service), and the loss against the plan in the objective's units (>= 0 whether the objective
  is maximised or minimised). When no plan exists with the service in that mode, the
  alternative is ``infeasible`` and names the limits that stop it: those of the infeasibility
  explanation the re-solve returns (the single limits whose relaxation alone restores a plan
  when there are any, else the smallest joint relaxation). A service's own red line (``fixed``)
  and, for a statutory service, a mode that ceases it are not re-solved: they are reported as
  ``not_allowed`` with that rule.
* **What is each limit worth?** For each numeric limit (budget, transition_budget, min_outcome,
  min_flexibility, max_changes, each mode's max_services / max_spend / min_services, each sector
  share bound, each bound of each ``limits`` row): its value in the plan, its bound, whether the
  plan sits on it (``at_limit``), and its ``gain``: the exact change of the objective (>= 0, in
  the objective's units) when only that limit is relaxed by one step and the instance is solved
  again. A limit with ``gain > 0`` holds the plan back (``holds_back``); one at its limit with
  gain 0 does not. Bundles (``same_mode``) and red lines are structure, not amounts: they are not
  listed.

Steps (``step``): 1% of the bound for money and other amounts (1 when the bound is 0), 1 for
counts (max_changes, max_services, min_services; a step given for a count is rounded up to a whole
number), 0.01 for shares and for min_flexibility. A relaxation never leaves the field's range (a
share stays within 0..1, a floor of flexibility or of services at least 0); a limit already at
its loosest is reported with status ``loosest`` and gain 0 without a re-solve.

Multi-year instances (with a ``horizon``): an alternative is the service forced into the mode in
every year of the horizon (``fixed`` means every year there), so a service that the plan moves
between modes has every mode it is offered as an alternative, and ``chosen`` is its first-year
mode, with ``chosen_by_year`` giving every year's. Each yearly limit is one limit per year
(``budget@2028``): its bound is relaxed in that year only (a single number is turned into the
list of every year's values first); ``min_services``, which has no yearly form, is relaxed in
every year at once. Objectives are the discounted totals the solve reports.

Every re-solve goes through :func:`portfolio.executors.solve_many`, so ``workers`` (local
processes) and ``scheduler`` (a Dask cluster) spread them. Single-period re-solves are
warm-started from the plan (``warm_start``, on by default; :attr:`BatchItem.start`): a limit's
re-solve starts from the plan itself (it meets the relaxed limit), and a why-not re-solve from
the plan with that service moved to the forced mode's option that gives the best objective
among those that keep every limit; when no such move keeps every limit, the re-solve finds its
own start (the LP-guided start heuristic). The solve verifies a start before using it
(``stats["start"]`` of the re-solve). Multi-year re-solves find their own start.
``params.time_limit`` bounds the whole call: the base solve (when no ``result`` is given) and
every re-solve; re-solves the limit leaves no time for are reported as
``time_limit_no_solution``.

Loss and gain are differences of two objectives each proven within the relative gap
(``params.rel_gap``); a difference smaller than that tolerance is reported as 0. A negative loss
(an alternative better than the plan) can only come from a plan that was not proven optimal; it
is reported as found, not hidden.

This module never prints; ``portfolio explain`` (:mod:`portfolio.cli.explain`) shows the answer.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from portfolio.domain import Instance, did_you_mean, shown, value_in_year
from portfolio.errors import ParameterError, PortfolioError
from portfolio.executors import BatchItem, Cancelled, ItemResult, solve_many
from portfolio.io import instance_data, instance_from_data, load_instance
from portfolio.linear import FloatArray, LinearModel
from portfolio.money import MONEY_FIGURES
from portfolio.params import SolveParams
from portfolio.result import Check, SolveResult

MONEY, COUNT, SHARE, AMOUNT = "money", "count", "share", "amount"
KINDS: tuple[str, ...] = (MONEY, COUNT, SHARE, AMOUNT)
"""What a limit counts: its default step depends on it (see :func:`default_step`)."""

RELATIVE_STEP = 0.01
"""Default step of a money or other amount limit, as a fraction of its bound."""
SHARE_STEP = 0.01
"""Default step of a share (sector share, min_flexibility)."""
COUNT_STEP = 1
"""Default step of a count (max_changes, max_services, min_services)."""
AT_LIMIT_TOL = 1e-9
"""Relative tolerance of ``at_limit`` (of max(1, |bound|, |value|)); counts use 0.5."""

NOT_ALLOWED = "not_allowed"
"""Status of an alternative a rule of the instance forbids outright (a red line, statute)."""
LOOSEST = "loosest"
"""Status of a limit that cannot be relaxed further (a share max of 1, a floor of 0)."""
NOT_SOLVED = "time_limit_no_solution"
"""Status of a re-solve the time limit left no time for."""
LP_DUAL_BASIS = "lp_relaxation"
"""What :attr:`LimitWorth.lp_dual` is measured on: the LP relaxation of the whole model."""


class UnknownServiceError(PortfolioError, ValueError):
    """A service asked for (``services=``, ``--service``) is not in the instance."""


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Alternative:
    """The best plan with one service forced into another mode.

    Attributes:
        mode: the mode the service was forced into.
        status: the re-solve's status (``optimal``, ``feasible``, ``infeasible``,
            ``time_limit_no_solution``, ``error``), or ``not_allowed`` when a rule of the instance
            forbids the mode outright.
        objective: the best objective in that mode (None without a plan).
        loss: how much worse than the plan, in the objective's units (None without a plan).
        blocked_by: for ``infeasible`` and ``not_allowed``: the limits or rules that stop it.
        why: the explanation in words (the amounts by which those limits would have to move).
        jointly: the limits of ``blocked_by`` must all move together (the smallest joint
            relaxation); False when relaxing any one of them alone restores a plan.
    """

    mode: str
    status: str
    objective: float | None
    loss: float | None
    blocked_by: tuple[str, ...] = ()
    why: str = ""
    jointly: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: ``{mode, status, objective, loss}`` plus ``blocked_by``/``why``."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "status": self.status,
            "objective": _finite(self.objective),
            "loss": _finite(self.loss),
        }
        if self.blocked_by:
            out["blocked_by"] = list(self.blocked_by)
        if self.why:
            out["why"] = self.why
        if self.jointly:
            out["jointly"] = True
        return out


@dataclass(frozen=True)
class ServiceWhy:
    """One service: the mode the plan chose and every other mode it is offered.

    Attributes:
        service: service id.
        chosen: the mode the plan uses (multi-year: in the first year).
        alternatives: each other mode, in the order of the instance's modes.
        chosen_by_year: multi-year only: calendar year -> mode.
    """

    service: str
    chosen: str
    alternatives: tuple[Alternative, ...]
    chosen_by_year: Mapping[int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: ``{chosen, alternatives: [...]}``."""
        out: dict[str, Any] = {"chosen": self.chosen}
        if self.chosen_by_year is not None:
            out["chosen_by_year"] = {str(year): mode for year, mode in self.chosen_by_year.items()}
        out["alternatives"] = [alternative.to_dict() for alternative in self.alternatives]
        return out


@dataclass(frozen=True)
class LimitWorth:
    """One limit: where the plan stands against it and what relaxing it by a step gains.

    Attributes:
        name: the limit as the plan's checks name it (``budget``, ``capacity_count[voluntary]``,
            ``sector_share[private].max``, ``limits[1]``; multi-year ``budget@2028``).
        label: words for a person (``limits`` rows: the metric and its filter).
        kind: ``money``, ``count``, ``share`` or ``amount`` (what the step is measured in).
        sense: ``<=`` (a maximum) or ``>=`` (a minimum).
        value: the plan's value (None when the plan has no such check, e.g. the min_services of
            a mode it does not use).
        bound: the limit.
        at_limit: the plan sits on the limit (within :data:`AT_LIMIT_TOL`, 0.5 for counts).
        step: how far the limit was relaxed (in its own units, > 0).
        relaxed_bound: the bound of the re-solve.
        status: the re-solve's status, or ``loosest`` when the limit cannot be relaxed.
        objective: the re-solve's objective (None without a plan).
        gain: how much better the objective gets, in its units (None without a plan).
        year: multi-year: the calendar year of a yearly limit (None otherwise, or for a limit
            relaxed in every year).
        lp_dual: a hint, not a proof: the LP relaxation's shadow price of the limit, as the
            rate at which the optimum of the LP relaxation (every column continuous) improves
            per unit the limit is relaxed (objective units per unit of the limit: per pound,
            per service, per 1.0 of share), at the step's direction. It is the row's dual (or,
            for a limit that sits in the row's coefficients such as a share, the dual times
            the row's change) from the LP solver (:data:`LP_DUAL_BASIS`). None without an
            LP-capable backend, or when the LP was not optimal. Every portfolio model is
            all-integer, so the LP with the integers fixed at the plan is a single point whose
            duals say nothing; the relaxation's is the number that does.
    """

    name: str
    label: str
    kind: str
    sense: str
    value: float | None
    bound: float
    at_limit: bool
    step: float
    relaxed_bound: float
    status: str
    objective: float | None
    gain: float | None
    year: int | None = None
    lp_dual: float | None = None

    @property
    def holds_back(self) -> bool:
        """Relaxing the limit improves the objective (gain > 0)."""
        return self.gain is not None and self.gain > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"name": self.name, "label": self.label}
        if self.year is not None:
            out["year"] = self.year
        out.update(
            {
                "kind": self.kind,
                "sense": self.sense,
                "value": _finite(self.value),
                "bound": _finite(self.bound),
                "at_limit": self.at_limit,
                "step": _finite(self.step),
                "relaxed_bound": _finite(self.relaxed_bound),
                "status": self.status,
                "objective": _finite(self.objective),
                "gain": _finite(self.gain),
                "holds_back": self.holds_back,
                "lp_dual": _finite(self.lp_dual),
            }
        )
        return out


@dataclass(frozen=True)
class PlanExplanation:
    """Why this plan: per-service alternatives and per-limit worth (see the module docstring).

    Attributes:
        instance: the instance's name.
        objective_label: the objective as the user stated it.
        sense: ``maximise`` or ``minimise``.
        status: the plan's status (without a plan, nothing else is filled in).
        objective: the plan's objective.
        backend: the backend that solved.
        services: service id -> its alternatives, in the instance's order.
        limits: every numeric limit, in the order of the plan's checks.
        solves: re-solves run.
        warm_starts: re-solves that started from a plan given to them (verified and used).
        seconds: wall-clock seconds of the whole explanation.
        detail: without a plan, why there is none (the solve's explanation).
    """

    instance: str
    objective_label: str
    sense: str
    status: str
    objective: float | None
    backend: str
    services: Mapping[str, ServiceWhy] = field(default_factory=dict)
    limits: tuple[LimitWorth, ...] = ()
    solves: int = 0
    seconds: float = 0.0
    detail: str = ""
    warm_starts: int = 0

    @property
    def has_plan(self) -> bool:
        """The instance has a plan to explain."""
        return self.objective is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``portfolio explain`` JSON: ``services: {S: {chosen, alternatives}}``, ``limits``."""
        return {
            "instance": self.instance,
            "objective_label": self.objective_label,
            "sense": self.sense,
            "status": self.status,
            "objective": _finite(self.objective),
            "backend": self.backend,
            "services": {sid: why.to_dict() for sid, why in self.services.items()},
            "limits": [limit.to_dict() for limit in self.limits],
            "solves": self.solves,
            "warm_starts": self.warm_starts,
            "seconds": round(self.seconds, 6),
            **({"detail": self.detail} if self.detail else {}),
        }


# ---------------------------------------------------------------------- limits of an instance
@dataclass(frozen=True)
class LimitSpec:
    """A numeric limit of an instance and where its bound lives in the instance data.

    Attributes:
        name: the check name (without ``@year``).
        label: words for a person.
        kind: ``money``, ``count``, ``share`` or ``amount``.
        sense: ``<=`` or ``>=``.
        path: keys from the top of the instance data to the bound's field.
        year: 0-based horizon year of a yearly limit relaxed in that year only, or None.
    """

    name: str
    label: str
    kind: str
    sense: str
    path: tuple[str | int, ...]
    year: int | None = None


def instance_limits(instance: Instance) -> list[LimitSpec]:
    """Every numeric limit of the instance (multi-year: one per yearly limit and year)."""
    constraints = instance.constraints
    found: list[LimitSpec] = []
    top: tuple[tuple[str, str, str], ...] = (
        ("budget", MONEY, "<="),
        ("transition_budget", MONEY, "<="),
        ("min_outcome", AMOUNT, ">="),
        ("min_flexibility", SHARE, ">="),
        ("max_changes", COUNT, "<="),
        ("max_modes_used", COUNT, "<="),
    )
    for name, kind, sense in top:
        if getattr(constraints, name) is not None:
            found.append(LimitSpec(name, name, kind, sense, ("constraints", name)))
    for index, mode in enumerate(instance.modes):
        if mode.max_services is not None:
            found.append(
                LimitSpec(f"capacity_count[{mode.id}]", f"services in {mode.id}", COUNT, "<=",
                          ("modes", index, "max_services"))
            )
        if mode.max_spend is not None:
            found.append(
                LimitSpec(f"capacity_spend[{mode.id}]", f"spend in {mode.id}", MONEY, "<=",
                          ("modes", index, "max_spend"))
            )
    for sector, bound in constraints.sector_share.items():
        for side, sense in (("max", "<="), ("min", ">=")):
            if getattr(bound, side) is not None:
                found.append(
                    LimitSpec(f"sector_share[{sector}].{side}", f"{sector} share {side}", SHARE,
                              sense, ("constraints", "sector_share", sector, side))
                )
    for index, row in enumerate(constraints.limits):
        where = row.mode or row.sector
        label = f"{row.metric} ({where})" if where else row.metric
        kind = MONEY if row.metric in MONEY_FIGURES else AMOUNT
        both = row.max is not None and row.min is not None
        for side, sense in (("max", "<="), ("min", ">=")):
            if getattr(row, side) is not None:
                name = f"limits[{index}].{side}" if both else f"limits[{index}]"
                found.append(
                    LimitSpec(name, f"{label} {side}", kind, sense,
                              ("constraints", "limits", index, side))
                )
    for index, mode in enumerate(instance.modes):
        if mode.min_services:
            found.append(
                LimitSpec(f"min_services[{mode.id}]", f"services in {mode.id} if used", COUNT,
                          ">=", ("modes", index, "min_services"))
            )
    if instance.horizon is None:
        return found
    yearly: list[LimitSpec] = []
    for spec in found:
        if spec.path[-1] == "min_services":  # no yearly form: relaxed in every year at once
            yearly.append(spec)
            continue
        yearly.extend(
            LimitSpec(spec.name, spec.label, spec.kind, spec.sense, spec.path, year)
            for year in range(instance.horizon.years)
        )
    return yearly


def default_step(kind: str, bound: float) -> float:
    """The default relaxation step of a limit (see the module docstring)."""
    if kind == COUNT:
        return COUNT_STEP
    if kind == SHARE:
        return SHARE_STEP
    return RELATIVE_STEP * abs(bound) if bound != 0 else 1.0


def _field(data: Mapping[str, Any], path: Sequence[str | int]) -> Any:
    node: Any = data
    for key in path:
        node = node[key]
    return node


def _bound(data: Mapping[str, Any], spec: LimitSpec) -> float:
    """The bound of ``spec`` in the instance data (its year's value; min_services as it is)."""
    value = value_in_year(_field(data, spec.path), spec.year if spec.year is not None else 0)
    if value is None:  # pragma: no cover - only limits that are set are listed
        raise ValueError(f"{spec.name} has no bound")
    return value


def _relaxed(spec: LimitSpec, bound: float, step: float) -> float | int:
    """The bound moved by ``step`` in the direction that loosens it, kept in the field's range
    (counts whole and at least 0, shares within 0..1)."""
    if spec.kind == COUNT:
        whole = math.ceil(step - 1e-9)
        return max(0, int(round(bound)) + (whole if spec.sense == "<=" else -whole))
    moved = float(f"{(bound + step if spec.sense == '<=' else bound - step):.12g}")
    if spec.kind == SHARE:
        return min(1.0, max(0.0, moved))
    return moved


def _set_bound(
    data: dict[str, Any], spec: LimitSpec, value: float | int, years: int | None
) -> None:
    """Set the bound of ``spec`` in ``data`` (in place; a yearly limit in its year only)."""
    node: Any = data
    for key in spec.path[:-1]:
        node = node[key]
    last = spec.path[-1]
    if spec.year is None or years is None:
        node[last] = value
        return
    current = node[last]
    values = list(current) if isinstance(current, list) else [current] * years
    values[spec.year] = value
    node[last] = values


# ---------------------------------------------------------------------- the explanation
@dataclass(frozen=True)
class _Job:
    """One re-solve: a modified copy of the instance as JSON text."""

    kind: str  # "service" or "limit"
    key: tuple[Any, ...]
    label: str
    content: str
    start: dict[str, int] | None = None


def explain_plan(
    instance: Instance | str | os.PathLike[str] | Mapping[str, Any],
    result: SolveResult | None = None,
    *,
    services: Iterable[str] | None = None,
    backend: str = "highs",
    params: SolveParams | None = None,
    step: float | Mapping[str, float] | None = None,
    workers: int = 1,
    scheduler: Any = None,
    warm_start: bool = True,
) -> PlanExplanation:
    """Explain a plan: the loss of every other mode of each service, the worth of each limit.

    Args:
        instance: an :class:`Instance`, a path to an instance file, or the parsed data.
        result: the plan to explain, as :func:`portfolio.solve` returned it for this instance;
            None solves the instance first (with ``backend`` and ``params``).
        services: the services whose alternatives are explained (default: all).
        backend: the backend of every solve.
        params: solve parameters of every solve; ``time_limit`` bounds the whole call.
        step: the relaxation step of the limits: one number for every limit (in each limit's
            own units), or a mapping from a limit name (``budget``, ``limits[1]``; multi-year
            also ``budget@2028``) or a kind (``money``, ``count``, ``share``, ``amount``) to its
            step; names win over kinds, and limits not named keep the default.
        workers: local worker processes for the re-solves (1: in this process).
        scheduler: a Dask scheduler address or client: run the re-solves there.
        warm_start: start single-period re-solves from the plan (see the module docstring).

    Returns:
        The explanation. Without a plan to explain (infeasible, no plan within the time limit)
        it carries the status and the reason, and no alternatives or limits.

    Raises:
        InstanceFileError, ValidationError: bad input.
        UnknownServiceError: ``services`` names a service the instance does not have.
        ParameterError: a bad ``step`` or ``workers``.
        UnknownBackendError, BackendUnavailableError: the backend cannot be used.
    """
    began = time.perf_counter()
    params = params or SolveParams()
    deadline = None if params.time_limit is None else began + params.time_limit
    inst = _as_instance(instance, deadline)
    if inst.scenarios is not None:
        raise ParameterError(
            "explain answers for one future; this instance has funding scenarios: explain one "
            "scenario's instance, or use `portfolio appraise` for what the uncertainty is worth"
        )
    wanted = _wanted_services(inst, services)
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}")
    data = instance_data(inst)
    specs = instance_limits(inst)
    steps = _steps(inst, data, specs, step)
    if result is None:
        from portfolio.solve import solve

        result = solve(inst, backend, params)
    sense = inst.objective_sense
    head = PlanExplanation(
        instance=inst.name,
        objective_label=inst.objective_label,
        sense=sense,
        status=result.status.value,
        objective=result.objective,
        backend=result.backend,
    )
    if result.plan is None or result.objective is None:
        return replace(
            head, seconds=time.perf_counter() - began, detail=_no_plan_detail(result)
        )
    base = float(result.objective)
    tolerance = max(params.rel_gap, 1e-9) * max(1.0, abs(base)) * 1.0001

    def better_by(objective: float, than: float) -> float:
        change = objective - than if sense == "maximise" else than - objective
        return 0.0 if abs(change) <= tolerance else change

    years = inst.horizon.years if inst.horizon is not None else None
    calendar = inst.horizon.calendar_years if inst.horizon is not None else []
    schedule = _schedule(inst, result)

    starts = _Starts(inst, result) if warm_start and years is None else None
    jobs: list[_Job] = []
    fixed_outright: dict[tuple[str, str], Alternative] = {}
    for service_id in wanted:
        for mode in _alternative_modes(inst, service_id, schedule[service_id]):
            rule = _forbidden(inst, service_id, mode)
            if rule is not None:
                fixed_outright[(service_id, mode)] = Alternative(
                    mode, NOT_ALLOWED, None, None, (rule[0],), rule[1]
                )
                continue
            variant = json.loads(json.dumps(data))
            variant.setdefault("constraints", {}).setdefault("fixed", {})[service_id] = mode
            jobs.append(_Job("service", (service_id, mode), f"{service_id} in {mode}",
                             json.dumps(variant),
                             None if starts is None else starts.moved(service_id, mode)))
    relaxations: dict[int, tuple[float, float | int]] = {}
    for index, spec in enumerate(specs):
        bound = _bound(data, spec)
        relaxed = _relaxed(spec, bound, steps[index])
        relaxations[index] = (bound, relaxed)
        if relaxed == bound:
            continue
        variant = json.loads(json.dumps(data))
        _set_bound(variant, spec, relaxed, years)
        name = _full_name(spec, calendar)
        jobs.append(_Job("limit", (index,), f"{name} relaxed to {relaxed:g}",
                         json.dumps(variant), None if starts is None else starts.plan))

    answers = _run(jobs, backend, params, workers, scheduler, deadline, inst.name)
    rates = lp_rates(inst, data, specs, relaxations, deadline)

    service_whys: dict[str, ServiceWhy] = {}
    for service_id in wanted:
        alternatives = []
        for mode in _alternative_modes(inst, service_id, schedule[service_id]):
            outright = fixed_outright.get((service_id, mode))
            if outright is not None:
                alternatives.append(outright)
                continue
            row = answers.get(("service", (service_id, mode)))
            alternatives.append(_alternative(mode, row, base, better_by))
        modes = schedule[service_id]
        by_year = dict(zip(calendar, modes, strict=True)) if years is not None else None
        service_whys[service_id] = ServiceWhy(service_id, modes[0], tuple(alternatives), by_year)

    checks = {check.name: check for check in result.plan.checks}
    limits = []
    for index, spec in enumerate(specs):
        bound, relaxed = relaxations[index]
        value, at_limit = _standing(spec, checks, calendar, bound)
        row = answers.get(("limit", (index,)))
        if relaxed == bound:
            status, objective, gain = LOOSEST, base, 0.0
        elif row is None:
            status, objective, gain = NOT_SOLVED, None, None
        else:
            objective = row.objective if row.has_plan else None
            status = row.status
            gain = better_by(float(objective), base) if objective is not None else None
        limits.append(
            LimitWorth(
                name=_full_name(spec, calendar),
                label=spec.label,
                kind=spec.kind,
                sense=spec.sense,
                value=value,
                bound=bound,
                at_limit=at_limit,
                step=_step_taken(bound, relaxed, steps[index]),
                relaxed_bound=float(relaxed),
                status=status,
                objective=objective,
                gain=gain,
                year=calendar[spec.year] if spec.year is not None else None,
                lp_dual=rates[index],
            )
        )
    return replace(
        head,
        services=service_whys,
        limits=tuple(limits),
        solves=sum(1 for key in answers if answers[key] is not None),
        warm_starts=sum(1 for row in answers.values() if _warm_started(row)),
        seconds=time.perf_counter() - began,
    )


# ---------------------------------------------------------------------- LP duals
def lp_rates(
    instance: Instance,
    data: Mapping[str, Any],
    specs: Sequence[LimitSpec],
    relaxations: Mapping[int, tuple[float, float | int]],
    deadline: float | None = None,
) -> list[float | None]:
    """Each limit's :attr:`LimitWorth.lp_dual`: the LP relaxation's rate of improvement per unit
    the limit is relaxed (``relaxations``: limit index -> its bound and relaxed bound; limits
    not in it get None).

    The LP relaxation of the model (compiled without presolve reductions) is solved once by the
    LP-capable backend, with its row duals ``y`` (``d LP / d bound`` of each row's active bound)
    at its optimum ``x``. Relaxing a limit by ``step`` changes some rows of the compiled model:
    their bounds by ``db`` and, for a limit inside the coefficients (a share, a floor of
    flexibility or of services), their coefficients by ``dA``. To first order (the envelope
    theorem, exact while the LP's basis stays optimal and its dual is unique) the LP optimum
    moves by ``sum_i y_i (db_i - dA_i . x)`` over the changed rows at an active bound; divided by
    the step, and signed so that a gain is positive, that is the rate.

    Returns:
        One rate per limit (None when no LP-capable backend is installed, the LP is not solved
        optimally in time, the relaxed model has other columns, or the limit is at its loosest).
    """
    from portfolio.backends import lp_backend

    rates: list[float | None] = [None] * len(specs)
    solver = lp_backend()
    if solver is None or not specs:
        return rates
    model = _compile_full(instance)
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and left <= 0.05:
        return rates
    answer = solver.solve(model, SolveParams(), time_limit=left, relax=True)
    if answer.status.value != "optimal" or answer.x is None or answer.row_duals is None:
        return rates
    x, duals = answer.x, answer.row_duals
    activity = model.matrix @ x
    gain_sign = 1.0 if instance.objective_sense == "maximise" else -1.0
    years = instance.horizon.years if instance.horizon is not None else None
    for index, spec in enumerate(specs):
        if index not in relaxations:
            continue
        bound, relaxed = relaxations[index]
        if relaxed == bound:
            continue
        variant = json.loads(json.dumps(data))
        _set_bound(variant, spec, relaxed, years)
        try:
            changed = _compile_full(instance_from_data(variant))
        except PortfolioError:
            continue
        if changed.matrix.shape != model.matrix.shape:
            continue
        moved = _first_order(model, changed, x, activity, duals)
        rates[index] = gain_sign * moved / abs(float(relaxed) - bound) + 0.0  # no -0.0
    return rates


def _compile_full(instance: Instance) -> LinearModel:
    """The instance's model without presolve reductions (the same columns for every bound)."""
    if instance.horizon is not None:
        from portfolio.multiyear import compile_multi_year

        model: LinearModel = compile_multi_year(instance, reduce=False).model
        return model
    from portfolio.compile import compile_instance

    return compile_instance(instance, reduce=False).model


def _first_order(
    model: LinearModel, changed: LinearModel, x: FloatArray, activity: FloatArray,
    duals: FloatArray,
) -> float:
    """``sum_i y_i (db_i - dA_i . x)`` over the rows that changed, each at its active bound."""
    d_activity = (changed.matrix - model.matrix) @ x
    with np.errstate(invalid="ignore"):
        d_lower = np.nan_to_num(changed.row_lower - model.row_lower, nan=0.0)
        d_upper = np.nan_to_num(changed.row_upper - model.row_upper, nan=0.0)
    tol = 1e-7 * np.maximum(1.0, np.abs(activity))
    at_upper = np.isfinite(model.row_upper) & (activity >= model.row_upper - tol)
    at_lower = ~at_upper & np.isfinite(model.row_lower) & (activity <= model.row_lower + tol)
    d_bound = np.where(at_upper, d_upper, np.where(at_lower, d_lower, 0.0))
    active = at_upper | at_lower
    return float(np.sum(np.where(active, duals * (d_bound - d_activity), 0.0)))


# ---------------------------------------------------------------------- warm starts
class _Starts:
    """The starts of a single-period plan's re-solves: the plan itself, and the plan with one
    service moved to another mode's best option that keeps every limit."""

    def __init__(self, instance: Instance, result: SolveResult) -> None:
        assert result.plan is not None
        self.instance = instance
        chosen = result.plan.options
        self.plan: dict[str, int] | None = {
            service.id: int(chosen[service.id]) for service in instance.services
        }
        if result.plan.investments:
            # A start is option positions only; a plan that makes investments cannot be given.
            self.plan = None

    def moved(self, service_id: str, mode: str) -> dict[str, int] | None:
        """The plan with ``service_id`` on the option of ``mode`` whose plan keeps every limit
        and has the best objective (the verifier decides), or None when none does."""
        if self.plan is None:
            return None
        from portfolio.verify import verify_plan

        services = self.instance.services
        where = next(i for i, service in enumerate(services) if service.id == service_id)
        positions = [self.plan[service.id] for service in services]
        maximise = self.instance.objective_sense == "maximise"
        best: tuple[float, int] | None = None
        for position, option in enumerate(services[where].options):
            if option.mode != mode:
                continue
            positions[where] = position
            verdict = verify_plan(self.instance, positions)
            if not verdict.ok:
                continue
            value = float(verdict.plan.objective)
            score = value if maximise else -value
            if best is None or score > best[0]:
                best = (score, position)
        if best is None:
            return None
        return {**self.plan, service_id: best[1]}


# ---------------------------------------------------------------------- helpers
def _as_instance(
    instance: Instance | str | os.PathLike[str] | Mapping[str, Any], deadline: float | None
) -> Instance:
    if isinstance(instance, Instance):
        return instance
    if isinstance(instance, Mapping):
        return instance_from_data(instance)
    return load_instance(instance, deadline=deadline)


def _wanted_services(instance: Instance, services: Iterable[str] | None) -> list[str]:
    known = [service.id for service in instance.services]
    if services is None:
        return known
    asked = list(dict.fromkeys(services))
    missing = [sid for sid in asked if sid not in known]
    if missing:
        raise UnknownServiceError(
            "; ".join(
                f"unknown service '{shown(sid)}'{did_you_mean(sid, known)}" for sid in missing
            )
        )
    return [sid for sid in known if sid in asked]


def _steps(
    instance: Instance,
    data: Mapping[str, Any],
    specs: Sequence[LimitSpec],
    step: float | Mapping[str, float] | None,
) -> list[float]:
    """The step of every limit (defaults, overridden by ``step``)."""
    calendar = instance.horizon.calendar_years if instance.horizon is not None else []
    chosen: Mapping[str, float]
    if step is None:
        chosen = {}
    elif isinstance(step, Mapping):
        chosen = dict(step)
    else:
        chosen = dict.fromkeys(KINDS, float(step))
    names = {spec.name for spec in specs} | {_full_name(spec, calendar) for spec in specs}
    for key, value in chosen.items():
        if key not in names and key not in KINDS:
            known = sorted(names | set(KINDS))
            raise ParameterError(
                f"step: '{shown(key)}' is neither a limit of the instance nor a kind of limit "
                f"({', '.join(KINDS)}){did_you_mean(key, known)}"
            )
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ParameterError(f"step: {key} must be a positive number, got {value!r}")
    steps = []
    for spec in specs:
        for key in (_full_name(spec, calendar), spec.name, spec.kind):
            if key in chosen:
                steps.append(float(chosen[key]))
                break
        else:
            steps.append(default_step(spec.kind, _bound(data, spec)))
    return steps


def _no_plan_detail(result: SolveResult) -> str:
    """Why there is no plan: the solve's explanation (its moves in words), else its detail."""
    explanation = result.explanation
    if explanation is None:
        return result.detail
    moves = [str(move) for move in explanation.relaxations or explanation.single_fixes]
    return " ".join([explanation.summary, "; ".join(moves), *explanation.structural]).strip()


def _step_taken(bound: float, relaxed: float, step: float) -> float:
    """The step as asked, unless the field's range or whole counts changed it."""
    taken = abs(float(relaxed) - bound)
    if taken == 0 or math.isclose(taken, step, rel_tol=1e-9, abs_tol=1e-12):
        return step
    return taken


def _full_name(spec: LimitSpec, calendar: Sequence[int]) -> str:
    return f"{spec.name}@{calendar[spec.year]}" if spec.year is not None else spec.name


def _schedule(instance: Instance, result: SolveResult) -> dict[str, list[str]]:
    """Service id -> the plan's mode in each year (one entry for a single-period plan)."""
    if result.multi_year is not None:
        schedule: dict[str, list[str]] = {
            sid: list(modes) for sid, modes in result.multi_year.schedule.items()
        }
        return schedule
    assert result.plan is not None
    return {sid: [mode] for sid, mode in result.plan.assignment.items()}


def _alternative_modes(instance: Instance, service_id: str, chosen: Sequence[str]) -> list[str]:
    """Modes the service is offered, in the instance's mode order, but the one the plan uses
    throughout."""
    offered = {option.mode for option in instance.service(service_id).options}
    kept = chosen[0] if len(set(chosen)) == 1 else None
    return [mode.id for mode in instance.modes if mode.id in offered and mode.id != kept]


def _forbidden(instance: Instance, service_id: str, mode_id: str) -> tuple[str, str] | None:
    """(rule, words) when a rule of the instance forbids the mode outright, else None."""
    red_line = instance.constraints.fixed.get(service_id)
    if red_line is not None and red_line != mode_id:
        return (
            f"fixed[{service_id}]",
            f"red line: constraints.fixed keeps {service_id} in {red_line}",
        )
    if instance.service(service_id).statutory and instance.mode(mode_id).ceases_service:
        return "statutory", f"{service_id} is statutory and {mode_id} ceases it"
    return None


def _alternative(
    mode: str, row: ItemResult | None, base: float, better_by: Callable[[float, float], float]
) -> Alternative:
    if row is None:
        return Alternative(mode, NOT_SOLVED, None, None, why="not solved: no time left")
    if row.has_plan and row.objective is not None:
        objective = float(row.objective)
        return Alternative(mode, row.status, objective, better_by(base, objective))
    if row.error is not None:
        return Alternative(mode, row.status, None, None, why=row.error)
    blocked, why, jointly = _blockers(row.result or {})
    return Alternative(mode, row.status, None, None, blocked, why, jointly)


def _blockers(data: Mapping[str, Any]) -> tuple[tuple[str, ...], str, bool]:
    """The limits an infeasible re-solve's explanation names, its words, and whether they must
    move together."""
    explanation = data.get("explanation") or {}
    for key in ("single_fixes", "relaxations"):
        moves = explanation.get(key) or []
        if moves:
            names = tuple(dict.fromkeys(str(move.get("constraint")) for move in moves))
            words = "; ".join(str(move.get("text", "")) for move in moves if move.get("text"))
            if key == "single_fixes" and len(moves) > 1:
                words = "any one of: " + words
            return names, words, key == "relaxations" and len(names) > 1
    structural = tuple(str(item) for item in explanation.get("structural") or ())
    summary = str(explanation.get("summary") or data.get("detail") or "")
    return (), "; ".join([summary, *structural]).strip("; "), False


def _standing(
    spec: LimitSpec, checks: Mapping[str, Check], calendar: Sequence[int], bound: float
) -> tuple[float | None, bool]:
    """The plan's value against the limit and whether it sits on it."""
    if spec.year is not None:
        names = [f"{spec.name}@{calendar[spec.year]}"]
    elif calendar:
        names = [f"{spec.name}@{year}" for year in calendar]
    else:
        names = [spec.name]
    found = [checks[name] for name in names if name in checks]
    if not found:
        return None, False
    tightest = min(found, key=lambda check: check.slack)

    def sits(check: Check) -> bool:
        tol = 0.5 if spec.kind == COUNT else AT_LIMIT_TOL * max(
            1.0, abs(check.limit), abs(check.value)
        )
        return abs(check.slack) <= tol

    return float(tightest.value), any(sits(check) for check in found)


def _run(
    jobs: Sequence[_Job],
    backend: str,
    params: SolveParams,
    workers: int,
    scheduler: Any,
    deadline: float | None,
    source: str,
) -> dict[tuple[str, tuple[Any, ...]], ItemResult | None]:
    """Solve every job through :func:`solve_many`; jobs the deadline leaves no time for map to
    None."""
    # objectives only: no tie-break, no ways out
    params = params.with_(explain_infeasible=True, prefer="none", ways_out=False)
    items = [
        BatchItem(f"why-{index:05d}", job.content, "json", f"{source} [{job.label}]", job.start)
        for index, job in enumerate(jobs)
    ]
    answers: dict[tuple[str, tuple[Any, ...]], ItemResult | None] = {
        (job.kind, job.key): None for job in jobs
    }

    def record(row: ItemResult) -> None:
        job = jobs[int(row.name.rsplit("-", 1)[1])]
        answers[(job.kind, job.key)] = row

    def remaining() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    if scheduler is None and workers == 1:
        if deadline is None:
            for row in solve_many(items, backend, params, executor="serial"):
                record(row)
            return answers
        for item in items:  # each re-solve gets what is left of the limit
            left = remaining()
            if left is None or left <= 0.05:
                break
            for row in solve_many([item], backend, params.with_(time_limit=left)):
                record(row)
        return answers

    executor = "dask" if scheduler is not None else "processes"
    left = remaining()
    if left is not None and left <= 0.05:
        return answers
    cancel = threading.Event()
    timer = threading.Timer(left, cancel.set) if left is not None else None
    run_params = params if left is None else params.with_(time_limit=left)
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        with contextlib.closing(
            solve_many(items, backend, run_params, executor=executor, workers=workers,
                       scheduler=scheduler, cancel=cancel)
        ) as rows:
            for row in rows:
                record(row)
    except Cancelled:
        pass  # what is left stays unsolved: the time limit ran out
    finally:
        if timer is not None:
            timer.cancel()
    return answers


def _warm_started(row: ItemResult | None) -> bool:
    """The re-solve started from the plan it was given (its ``stats["start"]`` says so)."""
    if row is None or row.result is None:
        return False
    start = (row.result.get("stats") or {}).get("start") or {}
    return bool(start.get("used"))


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
