"""Google OR-Tools CP-SAT (``ortools.sat``), an integer-only solver.

CP-SAT takes integer variables with finite domains and integer coefficients only, so this backend:

* accepts integer (or binary) columns with finite bounds, and continuous columns only when fixed
  at an integer value; anything else raises :class:`~portfolio.errors.IncompatibleModelError`
  (as does ``relax=True``: CP-SAT solves no continuous relaxations);
* scales every row and the objective to integers with :mod:`portfolio.backends.scaling`: exactly
  by the smallest power of ten where one exists (the usual case for money, scores and shares),
  otherwise by conservative rounding that keeps every plan CP-SAT returns feasible on the real
  data. A rounded row may exclude plans, so CP-SAT's optimum and bound (or its proof of
  infeasibility) on that *inner* model prove nothing about the real one. When CP-SAT finishes it
  (OPTIMAL or INFEASIBLE), the model is solved again with the rounded rows relaxed *outwards* (a
  relaxation, hinted with the first plan): its bound is valid, its infeasibility is a proof, and
  the better of the two plans that pass the check on the real data is returned, ``optimal`` when
  within the gap of that bound. Otherwise the answer is ``feasible`` without a bound (or ``error``
  for an infeasible inner model whose relaxation was not solved);
* reports the objective computed on the real coefficients, and a bound widened by the worst-case
  objective rounding error; ``optimal`` only when that widened gap is within ``rel_gap``
  (DESIGN.md, "Conventions").

The model is written straight into the ``CpModelProto`` (``CpModel.proto``) from the CSR arrays,
one ``extend`` per row and field: 60,000 binaries and 12,000 rows (360,000 nonzeros) take 0.2 s
this way against 0.6 s through ``new_bool_var`` and ``LinearExpr.weighted_sum``; the whole build,
scaling included, 0.3 s (0.6 s with 1.3 million nonzeros), on a loaded 2-core machine.

Parameters: ``time_limit`` -> ``max_time_in_seconds`` (less the build time; a watcher thread also
calls ``stop_search`` at the deadline, because CP-SAT's presolve can overrun its own limit),
``rel_gap`` -> ``relative_gap_limit`` with ``absolute_gap_limit = 0`` (CP-SAT's default is 1e-4,
which would stop early on a small objective); the objective carries ``scaling_factor = 1/S`` and
the offset, so CP-SAT measures the gap in the model's own units, with the same formula as
portfolio (``|O - B| / max(1, |O|)``, ``SharedResponseManager::TestGapLimitsIfNeeded`` in
``ortools/sat/synchronization.cc``). ``threads`` -> ``num_workers`` (None:
:data:`DEFAULT_WORKERS`), ``seed`` -> ``random_seed``, ``verbose`` -> ``log_search_progress``.
``presolve_inclusion_work_limit`` is set to 0 (see :data:`DEFAULT_OPTIONS`). ``backend_options``
are set on ``CpSolver.parameters`` by name last, so they win (enum values by member name or
number, repeated fields as lists); an unknown name is refused before solving (``check_options``).

Determinism (measured with ortools 9.15 and this backend's defaults on two small MMKP models solved
to optimality, seed fixed, four runs each): with 8 workers the optimal *value* repeats but the
*plan* need not (three distinct optimal plans in four runs on one model, one on the other);
``interleave_search=True`` (CP-SAT's deterministic batch loop; ``sat_parameters.proto``: "The
search is deterministic (independently of num_workers!)") gave the same plan on every run, but
was 10 to 40 times slower (0.15 s -> 6 s, 0.7 s -> 11 s), and its plan changed between 2 and 4
workers despite that comment; ``num_workers=1`` gave the same plan on every run (CP-SAT's
sequential loop; google/or-tools#3948 reports a model where even that varied). Whatever the
setting, a wall-clock time limit that ends the search makes the answer depend on machine speed.
Feature.DETERMINISTIC is therefore not declared; ask for ``threads=1`` (or
``backend_options={"interleave_search": True}`` with a fixed ``threads``) for repeatable plans on
models solved to optimality.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from portfolio.backends.base import (
    WORK_DETERMINISTIC_SECONDS,
    Backend,
    Feature,
    OptionCheck,
    OptionRejected,
    SolveRequest,
)
from portfolio.backends.scaling import (
    IntegerObjective,
    IntegerRows,
    is_integral,
    scale_objective,
    scale_rows,
)
from portfolio.errors import IncompatibleModelError
from portfolio.linear import FloatArray, IntArray, LinearModel, Sense
from portfolio.result import BackendResult, Status, relative_gap

DEFAULT_WORKERS = 8
"""``num_workers`` when ``params.threads`` is None (CP-SAT's own default is one per core).

CP-SAT's portfolio needs about 8 workers: with 8 its log lists 6 full-problem subsolvers (core,
default_lp, max_lp, no_lp, quick_restart, reduced_costs) and 2 first-solution ones (fj,
fs_random_no_lp); with 2, only default_lp and fj. On a 2-core machine (shared, loaded), MMKP
models of 6,400 to 10,000 binaries with 20 to 30 s limits ended, with 8 workers against 2, at
gaps of 0.02%, 0.003% and 0.005% against 1.1%, 0.55% and 0.68% (incumbent and bound both
better). The workers time-share the cores.
"""
DEFAULT_OPTIONS: dict[str, Any] = {"presolve_inclusion_work_limit": 0}
"""CP-SAT parameters this backend changes from CP-SAT's defaults (``backend_options`` win).

``presolve_inclusion_work_limit = 0`` disables the presolve rules that look for constraints
included in others (``ProcessSetPPC``, ``ProcessAtMostOneAndLinear``). Two reasons: (1) on this
project's structure (one exactly-one row per service plus dense budget-type rows over all
options) they dominate presolve: 6 to 10 s of a 10,000-binary model's presolve (0.5 s without),
with the same bound after 20 s; (2) in ortools 9.15 this family can produce a wrong optimality
proof on all-linear models (google/or-tools#5293, open; fix in PR #5294), and 0 is the workaround
given there.
"""
_BOUND_EPS = 1e-12
"""Slack on portfolio's own gap test, for float rounding of objective and bound."""
_INTEGER_LIMIT = 2**53
"""Largest column bound accepted (exact in doubles)."""


@dataclass(frozen=True)
class _Prepared:
    """The model as CP-SAT takes it (what :meth:`CpSatBackend.translate` builds)."""

    col_lower: IntArray
    col_upper: IntArray
    rows: IntegerRows
    objective: IntegerObjective
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Outcome:
    """What one CP-SAT run produced, before interpretation."""

    raw: str
    x: FloatArray | None
    bound: float | None
    info: str
    wall: float
    stopped: bool


@dataclass(frozen=True)
class _Solved:
    """What :meth:`CpSatBackend.run` gives :meth:`CpSatBackend.map_back`."""

    prepared: _Prepared
    outcome: _Outcome
    relaxed: bool
    notes: tuple[str, ...]


class CpSatBackend(Backend):
    """Google OR-Tools CP-SAT: integer programming by lazy clause generation and LNS."""

    name = extra = "cpsat"
    modules = ("ortools",)
    features = frozenset(
        {Feature.MIP_START, Feature.INTERRUPT, Feature.INTEGER_COEFFICIENTS, Feature.THREADS}
    )
    description = (
        "Google OR-Tools CP-SAT: integer models only (data scaled to integers, exactly where "
        "possible), MIP start as hints, interruptible, parallel workers"
    )

    def work_limit_options(self) -> dict[str, Any]:
        """One worker (CP-SAT's sequential search, which repeats its plan; see the module
        docstring) and ``max_deterministic_time``, CP-SAT's count of work done, which does not
        depend on the machine's speed. See :meth:`Backend.work_limit_options`."""
        return {"num_workers": 1, "max_deterministic_time": WORK_DETERMINISTIC_SECONDS}

    def option_checker(self) -> OptionCheck:
        """Options are checked against CP-SAT's ``SatParameters`` field descriptors (the name,
        and the value's type: bool, number, enum member or list), then set on a scratch
        parameter set as the solve will. See :meth:`Backend.check_options`."""
        from ortools.sat.python import cp_model

        return functools.partial(_check_option, cp_model.CpSolver().parameters)

    def translate(self, request: SolveRequest) -> Any:
        """Integer column bounds, and the rows and objective scaled to integers
        (:mod:`portfolio.backends.scaling`); the answer itself when a column has no integer
        value or a row no plan can meet. See :meth:`Backend.translate`.

        Raises:
            IncompatibleModelError: a column is continuous (and not fixed at an integer) or has
                an infinite or huge bound.
        """
        model = request.model
        col_lower, col_upper = _integer_bounds(model)
        empty_cols = np.flatnonzero(col_lower > col_upper)
        if empty_cols.size:
            names = ", ".join(model.column_name(int(j)) for j in empty_cols[:5])
            return BackendResult(
                Status.INFEASIBLE,
                raw_status="presolve",
                detail=f"no integer value lies within the bounds of column(s) {names}",
            )
        lower, upper = col_lower.astype(np.float64), col_upper.astype(np.float64)
        rows = scale_rows(model.matrix, model.row_lower, model.row_upper, lower, upper)
        if rows.infeasible.size:
            names = ", ".join(model.row_name(int(i)) for i in rows.infeasible[:5])
            return BackendResult(
                Status.INFEASIBLE,
                raw_status="presolve",
                detail=f"row(s) no plan can satisfy (empty, or lower bound above upper): {names}",
            )
        objective = scale_objective(model.objective, lower, upper)
        notes = (_describe_rows(model, rows), _describe_objective(objective))
        return _Prepared(col_lower, col_upper, rows, objective, notes)

    def run(self, request: SolveRequest, translated: Any) -> Any:
        """Run CP-SAT; when rounded rows make its answer prove nothing about the real model,
        run it again with those rows relaxed outwards (see the module notes).
        See :meth:`Backend.run`."""
        prepared: _Prepared = translated
        model, rows = request.model, prepared.rows
        notes = list(prepared.notes)
        outcome = self._solve_once(request, prepared, rows, request.start)
        relaxed = False
        resolve = rows.restricting.size and outcome.raw in ("INFEASIBLE", "OPTIMAL")
        if resolve and not request.stop_requested:
            # The rounded (inner) model proves nothing about the real one: solve the outer
            # model, a relaxation, for a proof of infeasibility or a valid bound.
            lower = prepared.col_lower.astype(np.float64)
            upper = prepared.col_upper.astype(np.float64)
            outer = scale_rows(
                model.matrix, model.row_lower, model.row_upper, lower, upper, mode="outer"
            )
            hint = request.start if outcome.x is None else outcome.x
            second = self._solve_once(request, prepared, outer, hint)
            merged = _merge(model, outcome, second)
            if merged is not None:
                notes.append(
                    "re-solved with the rounded rows relaxed outwards (a relaxation) for a valid "
                    f"bound or proof: CP-SAT {second.raw}"
                )
                outcome, relaxed = merged, True
            else:
                notes.append(f"the re-solve with the rounded rows relaxed outwards: {second.raw}")
        return _Solved(prepared, outcome, relaxed, tuple(notes))

    def _solve_once(
        self,
        request: SolveRequest,
        prepared: _Prepared,
        rows: IntegerRows,
        start: FloatArray | None,
    ) -> _Outcome:
        """Build the CP-SAT model, solve it, and collect the raw outcome."""
        from ortools.sat.python import cp_model

        model, params, interrupt = request.model, request.params, request.interrupt
        col_lower, col_upper = prepared.col_lower, prepared.col_upper

        cp = cp_model.CpModel()
        proto = cp.proto
        _add_variables(proto, col_lower, col_upper)
        _add_rows(proto, rows)
        _set_objective(proto, model, prepared.objective)
        if start is not None:
            hint = np.clip(np.rint(np.asarray(start, dtype=np.float64)), col_lower, col_upper)
            proto.solution_hint.vars.extend(range(model.num_cols))
            proto.solution_hint.values.extend(hint.astype(np.int64).tolist())

        solver = cp_model.CpSolver()
        solver_params = solver.parameters
        limit: float | None = None
        remaining = request.remaining()
        if remaining is not None:
            limit = max(0.01, remaining)
            solver_params.max_time_in_seconds = limit
        solver_params.relative_gap_limit = float(params.rel_gap)
        solver_params.absolute_gap_limit = 0.0
        solver_params.num_workers = int(params.threads or DEFAULT_WORKERS)
        solver_params.random_seed = int(params.seed) % (2**31)
        solver_params.log_search_progress = bool(params.verbose)
        # CP-SAT would install its own SIGINT handler for the solve: a thread-local one (a Ctrl-C
        # delivered to any other thread aborts the process with std::bad_function_call) that it
        # then resets to SIG_DFL, not to the handler it replaced. Stops come through
        # ``interrupt`` (stop_search) instead.
        with contextlib.suppress(AttributeError):  # absent in old OR-Tools, which do not catch
            solver_params.catch_sigint_signal = False
        for key, value in {**DEFAULT_OPTIONS, **params.backend_options}.items():
            _set_parameter(solver_params, str(key), value)

        done = threading.Event()
        watcher: threading.Thread | None = None
        if interrupt is not None or limit is not None:
            deadline = None if limit is None else time.monotonic() + limit
            watcher = threading.Thread(
                target=_watch,
                args=(solver, interrupt, deadline, done),
                name="cpsat-stop",
                daemon=True,
            )
            watcher.start()
        solve_began = time.monotonic()
        try:
            code = solver.solve(cp)
        except Exception as exc:  # the solver's own failure: report it, don't raise
            return _Outcome("EXCEPTION", None, None, f"{type(exc).__name__}: {exc}", 0.0, False)
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
        raw = _status_name(code)
        response = solver.response_proto
        x: FloatArray | None = None
        if raw in ("OPTIMAL", "FEASIBLE"):
            values = np.asarray(response.solution, dtype=np.float64)
            if values.shape == (model.num_cols,):
                x = values
        bound: float | None = None
        if raw in ("OPTIMAL", "FEASIBLE"):
            value = float(solver.best_objective_bound)
            bound = value if math.isfinite(value) else None
        # CP-SAT's own wall_time leaves out part of the call (0.5 s of 2 s measured), so the
        # limit test uses the time measured here.
        wall = time.monotonic() - solve_began
        stopped = bool(interrupt is not None and interrupt.is_set()) or (
            limit is not None and wall >= 0.9 * limit
        )
        return _Outcome(raw, x, bound, str(response.solution_info), wall, stopped)

    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:
        """Map CP-SAT's outcome to portfolio's status, objective and bound: ``optimal`` only
        when the widened gap is within ``rel_gap``. See :meth:`Backend.map_back`."""
        solved: _Solved = raw
        model, params = request.model, request.params
        rows, objective = solved.prepared.rows, solved.prepared.objective
        outcome, relaxed = solved.outcome, solved.relaxed
        code = outcome.raw
        detail_parts = [f"CP-SAT {code} in {outcome.wall:.3g} s", *filter(None, solved.notes)]

        def result(status: Status, **kwargs: Any) -> BackendResult:
            return BackendResult(
                status=status,
                raw_status=code,
                detail="; ".join(detail_parts),
                **kwargs,
            )

        if code == "INFEASIBLE":
            if relaxed:
                detail_parts.append("infeasible even with the rounded rows relaxed: proven")
            elif rows.restricting.size:
                detail_parts.append(
                    "infeasible only as rounded; whether the real model has a plan is undecided"
                )
                return result(Status.ERROR)
            return result(Status.INFEASIBLE)
        if code == "UNKNOWN":
            if outcome.stopped:
                return result(Status.TIME_LIMIT_NO_SOLUTION, hit_limit=True)
            detail_parts.append(f"no answer ({outcome.info})" if outcome.info else "no answer")
            return result(Status.ERROR)
        if code not in ("OPTIMAL", "FEASIBLE"):
            if outcome.info:
                detail_parts.append(outcome.info)
            return result(Status.ERROR)

        x = outcome.x
        if x is None:
            detail_parts.append(f"{code} status without a full solution vector")
            return result(Status.ERROR)
        value = model.objective_value(x)
        hit_limit = code == "FEASIBLE"
        if relaxed:
            # The outer model is a relaxation and x is a real plan: its bound is valid.
            restricted = False
        else:
            restricted = bool(rows.restricting.size)
        bound: float | None
        if restricted:
            bound = None
            status = Status.FEASIBLE
            detail_parts.append(
                "not proven optimal: conservatively rounded rows may exclude better plans, and "
                "CP-SAT's bound holds only for the rounded model"
            )
        else:
            bound = _widen(outcome.bound, objective, model.sense)
            if not np.any(model.objective):
                bound = value if code == "OPTIMAL" else None
            status = Status.FEASIBLE
            if code == "OPTIMAL":
                # After a relaxed re-solve the plan may come from the inner model: test the gap.
                if (objective.exact and not relaxed) or (
                    bound is not None and relative_gap(value, bound) <= params.rel_gap + _BOUND_EPS
                ):
                    status = Status.OPTIMAL
                elif relaxed:
                    gap = relative_gap(value, bound) if bound is not None else math.inf
                    detail_parts.append(
                        f"not proven optimal: the best plan that holds on the real data is "
                        f"{gap:.3g} (relative) from the bound of the relaxed model"
                    )
                else:
                    detail_parts.append(
                        f"optimal for the rounded objective, but its rounding error "
                        f"({objective.max_error:.3g} per plan) exceeds the gap {params.rel_gap:g}"
                    )
            if bound is not None:
                # Float noise between CP-SAT's scaled bound and the real objective.
                bound = _clamp_bound(value, bound, model.sense)
            elif status is Status.OPTIMAL:
                bound = value
        return result(status, x=x, objective=value, bound=bound, hit_limit=hit_limit)


def _merge(model: LinearModel, inner: _Outcome, outer: _Outcome) -> _Outcome | None:
    """Combine a run on the inner (rounded) model with one on the outer (relaxed) model.

    The outer run's status and bound are valid for the real model (it is a relaxation); the plan
    is the better of the two runs' plans that pass the check on the real model. None when the
    outer run proved nothing (no bound) and found no usable plan.
    """
    wall = inner.wall + outer.wall
    if outer.raw == "INFEASIBLE":
        return replace(outer, wall=wall)
    if outer.raw not in ("OPTIMAL", "FEASIBLE"):
        return None
    plans = [
        x
        for x in (outer.x, inner.x)
        if x is not None and model.accepts(x)
    ]
    if not plans:
        return None
    sign = -1.0 if model.sense is Sense.MAXIMISE else 1.0
    best = min(plans, key=lambda x: sign * model.objective_value(x))
    return replace(outer, x=best, wall=wall)


def _check_option(scratch: Any, name: str, value: Any) -> None:
    """Check one option against CP-SAT's ``SatParameters`` (:meth:`CpSatBackend.option_checker`),
    setting it on ``scratch``, a parameter set of no solve."""
    from ortools.sat import sat_parameters_pb2

    fields = sat_parameters_pb2.SatParameters.DESCRIPTOR.fields_by_name
    field = fields.get(name)
    if field is None:
        raise OptionRejected("CP-SAT has no such parameter", fields)
    if field.type == field.TYPE_BOOL:
        wanted = "true or false"
    elif field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
        wanted = "a number"
    elif field.type == field.TYPE_ENUM:
        wanted = "one of " + ", ".join(v.name for v in field.enum_type.values)
    elif field.type == field.TYPE_STRING:
        wanted = "a string"
    elif field.type == field.TYPE_MESSAGE:
        wanted = "a structured value, which cannot be given here"
    else:
        wanted = "a whole number"
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:  # protobuf before 6.31
        repeated = field.label == field.LABEL_REPEATED
    if repeated:
        wanted = f"a list, each item {wanted}"
    if field.type == field.TYPE_MESSAGE:
        raise OptionRejected(f"CP-SAT's '{name}' takes {wanted}")
    try:
        if not repeated and isinstance(value, bool) != (field.type == field.TYPE_BOOL):
            raise TypeError(name)
        _set_parameter(scratch, name, value)
    except (_ParameterError, AttributeError, TypeError, ValueError):
        raise OptionRejected(f"CP-SAT's '{name}' takes {wanted}, got {value!r}") from None

class _ParameterError(Exception):
    """A backend option CP-SAT does not take."""


def _integer_bounds(model: LinearModel) -> tuple[IntArray, IntArray]:
    """Integer column bounds; raise when a column cannot be a CP-SAT variable."""
    lower = np.asarray(model.col_lower, dtype=np.float64)
    upper = np.asarray(model.col_upper, dtype=np.float64)
    continuous = ~np.asarray(model.integrality, dtype=np.bool_)
    if continuous.any():
        fixed = continuous & (lower == upper) & np.isfinite(lower) & is_integral(lower)
        bad = np.flatnonzero(continuous & ~fixed)
        if bad.size:
            names = ", ".join(model.column_name(int(j)) for j in bad[:5])
            raise IncompatibleModelError(
                f"the cpsat backend handles integer columns only; {bad.size} continuous "
                f"column(s), e.g. {names}. Use a MIP backend (highs, cbc, scip)."
            )
    infinite = np.flatnonzero(~np.isfinite(lower) | ~np.isfinite(upper))
    if infinite.size:
        names = ", ".join(model.column_name(int(j)) for j in infinite[:5])
        raise IncompatibleModelError(
            f"the cpsat backend needs finite column bounds; {infinite.size} column(s) without, "
            f"e.g. {names}"
        )
    huge = np.flatnonzero((np.abs(lower) > _INTEGER_LIMIT) | (np.abs(upper) > _INTEGER_LIMIT))
    if huge.size:
        names = ", ".join(model.column_name(int(j)) for j in huge[:5])
        raise IncompatibleModelError(f"column bounds beyond 2**53 in column(s) {names}")
    tol = 1e-9 * np.maximum(1.0, np.abs(lower))
    int_lower = np.ceil(lower - tol).astype(np.int64)
    int_upper = np.floor(upper + 1e-9 * np.maximum(1.0, np.abs(upper))).astype(np.int64)
    return int_lower, int_upper


def _add_variables(proto: Any, lower: IntArray, upper: IntArray) -> None:
    """One integer variable per column, domain ``[lower, upper]``, in column order."""
    add = proto.variables.add
    for lo, hi in zip(lower.tolist(), upper.tolist(), strict=True):
        add().domain.extend((lo, hi))


def _add_rows(proto: Any, rows: IntegerRows) -> None:
    """One linear constraint per emitted row, straight from the integer CSR arrays."""
    add = proto.constraints.add
    ptr = rows.indptr.tolist()
    cols = rows.indices.tolist()
    coefs = rows.coeffs.tolist()
    for i, (lo, hi) in enumerate(zip(rows.lower.tolist(), rows.upper.tolist(), strict=True)):
        a, b = ptr[i], ptr[i + 1]
        linear = add().linear
        linear.vars.extend(cols[a:b])
        linear.coeffs.extend(coefs[a:b])
        linear.domain.extend((lo, hi))


def _set_objective(proto: Any, model: LinearModel, objective: IntegerObjective) -> None:
    """The integer objective, scaled back to model units by CP-SAT (``scaling_factor``, offset).

    CP-SAT minimises ``inner = sum coeffs x`` and reports ``scaling_factor * (inner + offset)``.
    Minimise: ``inner = c' x``, factor ``1/S``, offset ``offset * S``. Maximise: ``inner = -c' x``,
    factor ``-1/S``, offset ``-offset * S``.
    """
    nonzero = np.flatnonzero(objective.coeffs)
    if nonzero.size == 0:
        return
    sign = -1 if model.sense is Sense.MAXIMISE else 1
    obj = proto.objective
    obj.vars.extend(nonzero.tolist())
    obj.coeffs.extend((sign * objective.coeffs[nonzero]).tolist())
    obj.scaling_factor = sign / objective.factor
    obj.offset = sign * float(model.objective_offset) * objective.factor


def _set_parameter(parameters: Any, key: str, value: Any) -> None:
    """Set one CP-SAT parameter by name (enums by member name or number, repeated as lists)."""
    try:
        current = getattr(parameters, key)
    except AttributeError:
        raise _ParameterError(f"CP-SAT has no parameter '{key}'") from None
    try:
        members = getattr(type(current), "__members__", None)
        if members is not None and not isinstance(current, (bool, int, float, str)):
            if isinstance(value, str):
                value = members[value]
            elif isinstance(value, int):
                value = type(current)(value)
        if hasattr(current, "extend") and not isinstance(current, (str, bytes)):
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            current.clear()
            current.extend(items)
            return
        setattr(parameters, key, value)
    except (KeyError, TypeError, ValueError) as exc:
        raise _ParameterError(f"CP-SAT parameter '{key}' cannot take {value!r}: {exc}") from None


def _watch(
    solver: Any,
    interrupt: threading.Event | None,
    deadline: float | None,
    done: threading.Event,
) -> None:
    """Stop the search once ``interrupt`` is set or the deadline passes; exit when ``done``.

    The deadline backs up CP-SAT's own ``max_time_in_seconds``, which its presolve can overrun
    by a fraction of a second on large models. ``stop_search`` does nothing before ``solve``
    has begun, so it is repeated every 50 ms until the solve is over.
    """
    while not done.wait(0.05):
        if (interrupt is not None and interrupt.is_set()) or (
            deadline is not None and time.monotonic() >= deadline
        ):
            solver.stop_search()


def _status_name(code: Any) -> str:
    """CP-SAT's status as text; never raises on a code this module does not know."""
    name = getattr(code, "name", None)
    return str(name) if name else f"STATUS_{code}"


def _widen(bound: float | None, objective: IntegerObjective, sense: Sense) -> float | None:
    """CP-SAT's bound on the scaled objective, widened into a valid bound on the real one."""
    if bound is None or objective.exact:
        return bound
    return bound + objective.max_error if sense is Sense.MAXIMISE else bound - objective.max_error


def _clamp_bound(value: float, bound: float, sense: Sense) -> float:
    """A bound on the right side of the objective (float noise can put it a hair across)."""
    return max(bound, value) if sense is Sense.MAXIMISE else min(bound, value)


def _describe_rows(model: LinearModel, rows: IntegerRows) -> str:
    """How the rows were scaled, for ``detail``."""
    powers = rows.powers[rows.powers >= 0]
    counts = Counter(powers.tolist())
    exact = ", ".join(f"10^{k}: {n} row{'s' if n != 1 else ''}" for k, n in sorted(counts.items()))
    text = f"rows scaled exactly ({exact})" if exact else "no row scaled exactly"
    rounded = rows.rounded
    if rounded.size:
        harmless = rounded.size - rows.restricting.size
        families = _families(model, rows.restricting)
        text += f"; {rounded.size} row(s) rounded conservatively"
        if rows.restricting.size:
            text += f" ({families})"
        if harmless:
            text += f", {harmless} of them redundant after rounding (dropped)"
    return text


def _describe_objective(objective: IntegerObjective) -> str:
    """How the objective was scaled, for ``detail``."""
    if not np.any(objective.coeffs):
        return "no objective"
    if objective.exact:
        return f"objective scaled exactly by 10^{objective.power}"
    return (
        f"objective rounded at scale 2^{int(math.log2(objective.factor))} "
        f"(error at most {objective.max_error:.3g} on any plan)"
    )


def _families(model: LinearModel, rows: IntArray) -> str:
    """``family xN`` for the constraint families of ``rows``, from the model's blocks."""
    if rows.size == 0:
        return ""
    starts = np.array([block.start for block in model.blocks], dtype=np.int64)
    which = np.searchsorted(starts, rows, side="right") - 1
    counts = Counter(model.blocks[int(b)].family for b in which.tolist())
    return ", ".join(f"{family} x{n}" for family, n in counts.items())

