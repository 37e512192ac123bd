"""SCIP through OR-Tools MathOpt (gSCIP), fed a proto built straight from the model's arrays.

Why MathOpt and not ``pywraplp`` or ``model_builder`` (all three reach the SCIP bundled in the
``ortools`` wheel: SCIP 10 with SoPlex in 9.15, SCIP 9 with Glop in 9.10):

* **Status.** gSCIP reports the termination reason with its limit (time, node, interrupted, ...),
  keeps ``INF_OR_UNBD`` apart from ``INFEASIBLE`` and gives the dual bound. ``pywraplp`` and the
  MPModelProto path of ``model_builder`` map ``SCIP_STATUS_INFORUNBD`` to INFEASIBLE, and an
  interrupt with no solution to ABNORMAL (``ortools/linear_solver/scip_interface.cc``,
  ``ortools/linear_solver/proto_solver/scip_proto_solver.cc``).
* **Build speed** (60k binaries, 12k rows, 250k nonzeros): filling the ``ModelProto`` from the
  arrays takes 0.06 s and MathOpt needs ~0.15 s more to validate it and build SCIP's problem
  (100k columns, 414k nonzeros: 0.09 s + ~0.3 s). ``pywraplp`` spends 0.5 s in its Python loop
  alone (0.7 s at 100k), or 0.2-0.4 s through ``LoadModelFromProto``, plus ~0.3 s to read 60k
  solution values back.
* **Features.** Time limit, ``limits/gap``, seed, solution hint and a ``SolveInterrupter``;
  ``model_builder``'s SCIP path ignores interrupts ("TODO(user): Enable interrupt_solve",
  ``ortools/linear_solver/wrappers/model_builder_helper.cc``).

Known limits of this route, handled or documented here:

* Interrupts are slow to land. gSCIP calls ``SCIPinterruptSolve()`` only from an event handler
  that fires on presolve rounds and node events (``GScip::InterruptEventHandler`` in
  ``ortools/math_opt/solvers/gscip/gscip.cc``), so a stop requested while SCIP works on the root
  node waits until the root is done: measured 0.4-1.2 s on 60k/100k-column models, 3.5 s on a
  dense 3000x20 knapsack, and once the root solved the model before noticing (``pywraplp``'s
  direct ``InterruptSolve()`` lands in <0.1 s). Time limits are passed to SCIP itself, which
  keeps them to within ~0.05-0.4 s, so the interrupt is only the caller's backstop.
* With SCIP 10 (OR-Tools 9.15) that event handler also asks for row events SCIP 10 refuses, and
  SCIP prints two ``ERROR`` lines to stderr on every solve given an ``interrupt``
  ("SCIPcatchEvent does not support variable or row change events"); the solve is unaffected.
  So the interrupter is attached only when no time limit is given: with a limit, SCIP's own
  limit stops it, and the caller's watchdog abandons a run that overruns.
* On an unbounded model gSCIP returns a solution with an infinite objective, which MathOpt's own
  validator rejects ("invalid PrimalSolutionProto.objective_value") instead of reporting
  UNBOUNDED; such answers are confirmed by a zero-objective re-solve and reported UNBOUNDED.
* gSCIP takes SCIP parameters in typed maps, so ``backend_options`` values are typed here (an
  ``int`` may be SCIP ``int``, ``Longint`` or ``real``): ambiguous names are probed once per
  process on an empty model.

SCIP is single-threaded here: ``SolveParams.threads`` is ignored (MathOpt would switch to SCIP's
concurrent mode for ``threads > 1``). ``rel_gap`` is always passed as SCIP's ``limits/gap``; SCIP's
gap ``|primal - dual| / min(|primal|, |dual|)`` is never smaller than portfolio's
``|objective - bound| / max(1, |objective|)``, so SCIP's "optimal" is optimal in portfolio's sense.
MathOpt's solver binding (``ortools.math_opt.core.python.solver.solve``) is called with protos
directly: the ``mathopt.Model`` round trip costs ~0.2 s more at 60k columns, and ``mathopt.solve``
takes no interrupter in OR-Tools 9.10. Tested with OR-Tools 9.10 and 9.15.
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from portfolio.backends.base import (
    WORK_NODES,
    Backend,
    Feature,
    OptionCheck,
    OptionRejected,
    SolveRequest,
)
from portfolio.linear import FloatArray, LinearModel, Sense
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status, relative_gap

_OPTIMAL_GAP_SLACK = 1e-6
"""Slack on the gap check of an "optimal" answer (SCIP's objective vs the one recomputed here)."""

_LOAD_SECONDS_PER_ENTRY = 0.6e-6
"""Seconds MathOpt takes to validate the proto and build SCIP's problem, per column, row and
nonzero (measured: ~0.15 s at 320k entries, ~0.3 s at 530k). SCIP's clock only starts after
that, so it is taken off SCIP's time limit (at most half of what is left)."""

_WATCH_SECONDS = 0.05
"""How often the interrupt watcher looks at the caller's event."""

_LONGINT_HINTS = ("nodes", "nodesofs", "nodelimit", "iterlim", "iterofs")
"""Name endings of SCIP parameters that are usually ``Longint`` (tried first when probing)."""

_KIND_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "long": "a whole number",
    "real": "a number",
    "char": "a single character",
    "string": "a string",
}
"""What each gSCIP parameter kind takes, in words."""

_OPTION_KIND_CACHE: dict[tuple[str, str], str | None] = {}
"""(parameter name, candidate kinds) -> the gSCIP map SCIP accepted, or None when none did."""
_OPTION_KIND_LOCK = threading.Lock()


class ScipBackend(Backend):
    """SCIP (bundled with OR-Tools) solving MIPs and LP relaxations through MathOpt."""

    name = extra = "scip"
    modules = ("ortools",)
    description = (
        "SCIP, bundled with OR-Tools, through MathOpt (gSCIP): MIP and LP, single-threaded, "
        "MIP start as a solution hint, interruptible"
    )
    features = frozenset({Feature.MIP_START, Feature.LP, Feature.INTERRUPT, Feature.DETERMINISTIC})

    def work_limit_options(self) -> dict[str, Any]:
        """``limits/nodes``: SCIP is deterministic, so a node limit ends it at the same plan on
        any machine. See :meth:`Backend.work_limit_options`."""
        return {"limits/nodes": WORK_NODES}

    def option_checker(self) -> OptionCheck:
        """Options are checked against SCIP's own parameter list and types.

        The list (name and type of SCIP's ~3,000 parameters) is read once per process from the
        SCIP library bundled with OR-Tools (``SCIPgetParams`` through ctypes, ~40 ms). Where
        that library cannot be loaded, each name is tried on an empty model instead (gSCIP
        rejects unknown names and wrong types), without suggestions. See
        :meth:`Backend.check_options`.
        """
        return functools.partial(_check_option, ScipBackend._parameter_kinds())

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def _parameter_kinds() -> dict[str, str] | None:
        """SCIP parameter name -> gSCIP map kind (bool, int, long, real, char, string), read
        from the bundled SCIP library; None when it cannot be read."""
        import ctypes

        import ortools

        kinds = ("bool", "int", "long", "real", "char", "string")  # SCIP_PARAMTYPE order
        folder = Path(ortools.__file__).parent / ".libs"
        libraries = sorted(folder.glob("libscip.so*")) + sorted(folder.glob("libortools.so*"))
        for path in libraries:
            try:
                lib = ctypes.CDLL(str(path))
                lib.SCIPcreate.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
                lib.SCIPcreate.restype = ctypes.c_int
                lib.SCIPfree.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
                lib.SCIPfree.restype = ctypes.c_int
                lib.SCIPincludeDefaultPlugins.argtypes = [ctypes.c_void_p]
                lib.SCIPincludeDefaultPlugins.restype = ctypes.c_int
                lib.SCIPgetNParams.argtypes = [ctypes.c_void_p]
                lib.SCIPgetNParams.restype = ctypes.c_int
                lib.SCIPgetParams.argtypes = [ctypes.c_void_p]
                lib.SCIPgetParams.restype = ctypes.POINTER(ctypes.c_void_p)
                lib.SCIPparamGetName.argtypes = [ctypes.c_void_p]
                lib.SCIPparamGetName.restype = ctypes.c_char_p
                lib.SCIPparamGetType.argtypes = [ctypes.c_void_p]
                lib.SCIPparamGetType.restype = ctypes.c_int
            except (OSError, AttributeError):
                continue
            scip = ctypes.c_void_p()
            if lib.SCIPcreate(ctypes.byref(scip)) != 1:  # SCIP_OKAY
                continue
            try:
                if lib.SCIPincludeDefaultPlugins(scip) != 1:
                    continue
                count = lib.SCIPgetNParams(scip)
                params = lib.SCIPgetParams(scip)
                table: dict[str, str] = {}
                for i in range(count):
                    kind = lib.SCIPparamGetType(params[i])
                    if 0 <= kind < len(kinds):
                        table[lib.SCIPparamGetName(params[i]).decode()] = kinds[kind]
            finally:
                lib.SCIPfree(ctypes.byref(scip))
            if table:
                return table
        return None

    def translate(self, request: SolveRequest) -> Any:
        """The MathOpt ``ModelProto`` (filled from the model's arrays), SCIP's parameters typed
        for gSCIP's maps, and the start as a complete solution hint. See
        :meth:`Backend.translate`.

        ``params``: ``rel_gap`` (always set as ``limits/gap``), ``seed``
        (``randomization/randomseedshift``), ``verbose`` and ``backend_options`` (SCIP parameters
        by name, e.g. ``{"limits/nodes": 1000, "presolving/maxrounds": 0}``; they win over the
        common parameters). ``threads`` is ignored: SCIP is single-threaded. The start is passed
        as a hint: SCIP checks it and drops it when infeasible.
        """
        model, params = request.model, request.params
        model.validate_shapes()
        notes: list[str] = []
        if params.threads is not None and params.threads > 1:
            notes.append(f"threads={params.threads} ignored: SCIP runs single-threaded")
        try:
            options = _scip_options(params.backend_options)
        except ValueError as exc:
            return BackendResult(
                status=Status.ERROR,
                raw_status="invalid backend_options",
                detail=_join(str(exc), *notes),
            )
        hint = None if request.start is None else _hint_proto(model, request.start)
        if hint is not None:
            notes.append("MIP start passed as a SCIP solution hint")
        load = _LOAD_SECONDS_PER_ENTRY * (model.num_nonzeros + model.num_cols + model.num_rows)
        return _Prepared(_model_proto(model), options, hint, load, tuple(notes))

    def run(self, request: SolveRequest, translated: Any) -> Any:
        """Solve the proto with gSCIP, settling ``INF_OR_UNBD`` and MathOpt's refusal of an
        infinite objective by a zero-objective re-solve. See :meth:`Backend.run`.

        ``interrupt``: when set (from any thread) SCIP stops at its next presolve round or node
        event and the best plan so far is returned (slow to land during the root node, see the
        module notes). It is watched only when there is no time limit.
        """
        prepared: _Prepared = translated
        interrupt = request.interrupt
        # SCIP keeps its own time limit closely; the interrupter is used only when there is none,
        # since with SCIP 10 it makes SCIP print two ERROR lines on every solve (see above).
        use_interrupter = interrupt is not None and request.time_limit is None
        interrupter, handle = _new_interrupter() if use_interrupter else (None, None)
        done = threading.Event()
        watcher: threading.Thread | None = None
        if interrupter is not None and interrupt is not None:
            watcher = threading.Thread(
                target=_watch,
                args=(interrupt, done, interrupter),
                name="portfolio-scip-interrupt",
                daemon=True,
            )
            watcher.start()
        runs = _Runs(
            prepared.proto,
            request.params,
            prepared.options,
            prepared.load,
            request.deadline,
            handle,
        )
        try:
            answer = runs.solve(prepared.hint)
            if answer.ok and answer.reason == "INFEASIBLE_OR_UNBOUNDED":
                answer = _settle_infeasible_or_unbounded(request.model, runs, answer)
            elif not answer.ok and _is_infinite_objective_error(answer.error):
                answer = _settle_infinite_objective(runs, answer)
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
        return answer, prepared

    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:
        """Map MathOpt's answer to portfolio's status: an "optimal" answer whose bound is further
        from its objective than both the relative and the absolute gap SCIP was told to stop at
        is reported as FEASIBLE. The vector is clipped to its bounds and integers rounded when
        that passes the check (SCIP's own tolerances leave them a hair off), else returned as
        SCIP gave it. See :meth:`Backend.map_back`."""
        answer, prepared = raw
        model, notes = request.model, prepared.notes
        if not answer.ok:
            return BackendResult(
                status=Status.ERROR,
                raw_status=answer.raw_status,
                detail=_join(f"SCIP (MathOpt) failed: {answer.error}", *notes),
            )

        stats = f"nodes={answer.nodes}, scip_seconds={answer.scip_seconds:.3f}"
        detail = _join(f"SCIP: {answer.raw_status}", answer.detail, stats, *notes)
        reason = answer.reason
        hit_limit = reason in ("FEASIBLE", "NO_SOLUTION_FOUND")

        if reason == "INFEASIBLE":
            return BackendResult(Status.INFEASIBLE, raw_status=answer.raw_status, detail=detail)
        if reason == "UNBOUNDED":
            return BackendResult(Status.UNBOUNDED, raw_status=answer.raw_status, detail=detail)
        if reason == "NO_SOLUTION_FOUND":
            return BackendResult(
                Status.TIME_LIMIT_NO_SOLUTION,
                bound=answer.dual_bound,
                raw_status=answer.raw_status,
                detail=detail,
                hit_limit=True,
            )
        if reason not in ("OPTIMAL", "FEASIBLE"):
            return BackendResult(Status.ERROR, raw_status=answer.raw_status, detail=detail)

        status = Status.OPTIMAL if reason == "OPTIMAL" else Status.FEASIBLE
        x = None if answer.x is None else _cleaned(model, answer.x)
        objective = None if x is None else model.objective_value(x)
        bound = answer.dual_bound
        if status is Status.OPTIMAL and objective is not None:
            rel_gap, abs_gap = _gap_tolerances(request.params, prepared.options)
            if bound is None:
                bound = objective
            gap = relative_gap(objective, bound)
            if gap > rel_gap + _OPTIMAL_GAP_SLACK and abs(objective - bound) > abs_gap:
                status = Status.FEASIBLE
                detail = _join(detail, f"reported optimal, but gap {gap:.3g} > {rel_gap:g}")
        return BackendResult(
            status, x, objective, bound, answer.raw_status, detail, hit_limit=hit_limit
        )


@dataclass(frozen=True)
class _Prepared:
    """What :meth:`ScipBackend.translate` builds for a run.

    Attributes:
        proto: the MathOpt ``ModelProto``.
        options: SCIP parameter name -> (gSCIP map kind, value).
        hint: the start as a ``SolutionHintProto``, or None.
        load: estimated seconds MathOpt takes to build SCIP's problem.
        notes: words for ``detail``.
    """

    proto: Any
    options: dict[str, tuple[str, Any]]
    hint: Any
    load: float
    notes: tuple[str, ...]


@dataclass
class _Answer:
    """What one MathOpt solve gave back, in plain Python.

    Attributes:
        ok: MathOpt returned a result (False: it raised; ``error`` says why).
        reason: termination reason without its prefix, e.g. ``"OPTIMAL"``, ``"FEASIBLE"``.
        limit: limit without its prefix, e.g. ``"TIME"``, or ``""``.
        scip_status: gSCIP's status, e.g. ``"GAP_LIMIT"``, or ``""``.
        detail: MathOpt's termination detail.
        x: values of the best primal solution, or None.
        dual_bound: best dual bound, or None when not finite.
        nodes: branch-and-bound nodes.
        scip_seconds: solve time MathOpt measured.
        error: the exception text when ``ok`` is False.
    """

    ok: bool = True
    reason: str = ""
    limit: str = ""
    scip_status: str = ""
    detail: str = ""
    x: FloatArray | None = None
    dual_bound: float | None = None
    nodes: int = 0
    scip_seconds: float = 0.0
    error: str = ""

    @property
    def raw_status(self) -> str:
        """Compact status text, e.g. ``FEASIBLE/TIME (scip TIME_LIMIT)``."""
        if not self.ok:
            return "mathopt error"
        text = self.reason + (f"/{self.limit}" if self.limit else "")
        return text + (f" (scip {self.scip_status})" if self.scip_status else "")


def _model_proto(model: LinearModel) -> Any:
    """The MathOpt ``ModelProto`` of ``model``, filled from its arrays (ids are 0..n-1)."""
    from ortools.math_opt import model_pb2

    proto = model_pb2.ModelProto()
    cols, rows = model.num_cols, model.num_rows

    variables = proto.variables
    variables.ids.extend(range(cols))
    variables.lower_bounds.extend(model.col_lower.astype(np.float64).tolist())
    variables.upper_bounds.extend(model.col_upper.astype(np.float64).tolist())
    variables.integers.extend(model.integrality.astype(bool).tolist())

    objective = proto.objective
    objective.maximize = model.sense is Sense.MAXIMISE
    objective.offset = float(model.objective_offset)
    nonzero = np.flatnonzero(model.objective)
    objective.linear_coefficients.ids.extend(nonzero.tolist())
    objective.linear_coefficients.values.extend(model.objective[nonzero].tolist())

    constraints = proto.linear_constraints
    constraints.ids.extend(range(rows))
    constraints.lower_bounds.extend(model.row_lower.astype(np.float64).tolist())
    constraints.upper_bounds.extend(model.row_upper.astype(np.float64).tolist())

    # MathOpt wants the entries in row-major order, sorted and unique within a row, no zeros.
    matrix = sp.csr_matrix(model.matrix)
    if not matrix.has_canonical_format or np.any(matrix.data == 0):
        matrix = matrix.copy()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
    entries = proto.linear_constraint_matrix
    entries.row_ids.extend(np.repeat(np.arange(rows), np.diff(matrix.indptr)).tolist())
    entries.column_ids.extend(matrix.indices.tolist())
    entries.coefficients.extend(matrix.data.astype(np.float64).tolist())
    return proto


def _hint_proto(model: LinearModel, start: FloatArray) -> Any:
    """A complete solution hint from ``start`` (clipped to bounds, integer columns rounded)."""
    from ortools.math_opt import model_parameters_pb2

    values = np.clip(np.asarray(start, dtype=np.float64), model.col_lower, model.col_upper)
    values[model.integrality] = np.round(values[model.integrality])
    hint = model_parameters_pb2.SolutionHintProto()
    hint.variable_values.ids.extend(range(model.num_cols))
    hint.variable_values.values.extend(values.tolist())
    return hint


@dataclass(frozen=True)
class _Runs:
    """What every gSCIP run of one call shares: the model proto, the parameters, the deadline and
    the interrupter's handle.

    Attributes:
        proto: the MathOpt ``ModelProto``.
        params: the common parameters.
        options: SCIP parameter name -> (gSCIP map kind, value).
        load: estimated seconds MathOpt takes to build SCIP's problem (SCIP's clock does not
            count them).
        deadline: ``time.perf_counter()`` reading to stop by, or None.
        handle: the interrupter's handle for the solver binding, or None.
    """

    proto: Any
    params: SolveParams
    options: dict[str, tuple[str, Any]]
    load: float
    deadline: float | None
    handle: Any

    def parameters(self) -> Any:
        """The MathOpt ``SolveParametersProto``: common parameters, then SCIP's own (which win),
        with what is left of the time limit after loading."""
        from ortools.math_opt import parameters_pb2

        params = self.params
        proto = parameters_pb2.SolveParametersProto()
        proto.enable_output = bool(params.verbose)
        proto.relative_gap_tolerance = float(params.rel_gap)
        proto.random_seed = int(params.seed) % 2_147_483_647
        if self.deadline is not None:
            remaining = self.deadline - time.perf_counter()
            remaining = max(remaining - min(self.load, 0.5 * remaining), 1e-3)
            proto.time_limit.FromTimedelta(timedelta(seconds=remaining))
        gscip = proto.gscip
        gscip.int_params["timing/clocktype"] = 2  # wall clock, whatever SCIP's default
        for name, (kind, value) in self.options.items():
            getattr(gscip, f"{kind}_params")[name] = value
        return proto

    def solve(self, hint: Any = None) -> _Answer:
        """Run gSCIP on the model (with ``hint``, a ``SolutionHintProto``) and read its answer."""
        return _solve_proto(self.proto, self, hint)

    def feasibility(self) -> _Answer:
        """Run gSCIP on the model with a zero objective: is there any feasible point?"""
        feasibility = type(self.proto)()
        feasibility.CopyFrom(self.proto)
        feasibility.objective.ClearField("linear_coefficients")
        feasibility.objective.offset = 0.0
        return _solve_proto(feasibility, self, None)


def _gscip(proto: Any, parameters: Any, model_params: Any = None, handle: Any = None) -> Any:
    """Run gSCIP through MathOpt's solver binding on protos: the ``SolveResultProto``.

    Raises:
        StatusNotOk: MathOpt's own error (a model or parameter it refuses, ...).
    """
    from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
    from ortools.math_opt.core.python import solver as mathopt_solver

    return mathopt_solver.solve(
        proto,
        parameters_pb2.SOLVER_TYPE_GSCIP,
        parameters_pb2.SolverInitializerProto(),
        parameters,
        model_params or model_parameters_pb2.ModelSolveParametersProto(),
        None,  # message callback: SCIP prints itself when verbose
        callback_pb2.CallbackRegistrationProto(),
        None,  # user callback
        handle,
    )


def _solve_proto(proto: Any, runs: _Runs, hint: Any) -> _Answer:
    """Run gSCIP on ``proto`` as ``runs`` says and read its answer."""
    from ortools.math_opt import (
        model_parameters_pb2,
        result_pb2,
        solution_pb2,
    )

    answer = _Answer()
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None:
        model_params.solution_hints.append(hint)
    try:
        result = _gscip(proto, runs.parameters(), model_params, runs.handle)
    except Exception as exc:  # the binding raises StatusNotOk: report it, never crash
        answer.ok = False
        answer.error = f"{type(exc).__name__}: {exc}"
        return answer

    termination = result.termination
    answer.reason = _enum_name(
        result_pb2.TerminationReasonProto, termination.reason, "TERMINATION_REASON_"
    )
    if termination.limit:
        answer.limit = _enum_name(result_pb2.LimitProto, termination.limit, "LIMIT_")
    answer.detail = termination.detail
    if _has_field(result, "gscip_output"):  # absent in OR-Tools 9.10
        status_enum = result.gscip_output.DESCRIPTOR.fields_by_name["status"].enum_type
        value = status_enum.values_by_number.get(result.gscip_output.status)
        answer.scip_status = value.name if value else f"code {result.gscip_output.status}"

    bound = (
        termination.objective_bounds.dual_bound
        if _has_field(termination, "objective_bounds")
        else result.solve_stats.best_dual_bound
    )
    answer.dual_bound = float(bound) if math.isfinite(bound) else None
    answer.nodes = int(result.solve_stats.node_count)
    answer.scip_seconds = result.solve_stats.solve_time.ToTimedelta().total_seconds()

    for solution in result.solutions:
        if not solution.HasField("primal_solution"):
            continue
        primal = solution.primal_solution
        if primal.feasibility_status != solution_pb2.SOLUTION_STATUS_FEASIBLE:
            continue
        values = primal.variable_values
        x = np.zeros(len(proto.variables.ids))
        x[np.asarray(values.ids, dtype=np.int64)] = np.asarray(values.values, dtype=np.float64)
        answer.x = x
        break
    return answer


def _settle_infeasible_or_unbounded(model: LinearModel, runs: _Runs, answer: _Answer) -> _Answer:
    """Tell INFEASIBLE from UNBOUNDED after SCIP's ``INF_OR_UNBD``.

    With every column bounded the problem cannot be unbounded, so it is infeasible. Otherwise the
    model is solved again with a zero objective: a feasible point then means unbounded.
    """
    answer.x = None
    answer.dual_bound = None
    if np.all(np.isfinite(model.col_lower)) and np.all(np.isfinite(model.col_upper)):
        answer.reason = "INFEASIBLE"
        answer.detail = _join(answer.detail, "every column is bounded, so: infeasible")
        return answer
    check = runs.feasibility()
    if check.ok and check.reason == "INFEASIBLE":
        answer.reason = "INFEASIBLE"
        answer.detail = _join(answer.detail, "zero-objective re-solve: infeasible")
    elif check.ok and check.x is not None:
        answer.reason = "UNBOUNDED"
        answer.detail = _join(answer.detail, "zero-objective re-solve found a point: unbounded")
    else:
        answer.detail = _join(
            answer.detail, f"zero-objective re-solve could not settle it ({check.raw_status})"
        )
    return answer


def _is_infinite_objective_error(error: str) -> bool:
    """MathOpt rejected gSCIP's own answer because a solution's objective is infinite.

    With SCIP 10 (OR-Tools 9.15) an unbounded model makes gSCIP return a "solution" whose
    objective is -inf (min) or +inf (max); MathOpt's result validator then raises
    ``Expected no NaN or inf ...; invalid PrimalSolutionProto.objective_value`` instead of
    reporting UNBOUNDED.
    """
    return "PrimalSolutionProto.objective_value" in error and "inf" in error


def _settle_infinite_objective(runs: _Runs, answer: _Answer) -> _Answer:
    """Confirm unboundedness after MathOpt refused an infinite-objective solution."""
    check = runs.feasibility()
    settled = _Answer(detail=f"MathOpt refused SCIP's answer: {answer.error}")
    settled.scip_status = "infinite objective"
    if check.ok and check.x is not None:
        settled.reason = "UNBOUNDED"
        settled.detail = _join(settled.detail, "a feasible point exists: unbounded")
        return settled
    if check.ok and check.reason == "INFEASIBLE":
        settled.reason = "INFEASIBLE"
        settled.detail = _join(settled.detail, "zero-objective re-solve: infeasible")
        return settled
    return answer


def _gap_tolerances(
    params: SolveParams, options: dict[str, tuple[str, Any]]
) -> tuple[float, float]:
    """Relative and absolute gaps SCIP stops at: ``rel_gap`` unless backend_options override."""
    rel_gap = float(options["limits/gap"][1]) if "limits/gap" in options else params.rel_gap
    abs_gap = float(options["limits/absgap"][1]) if "limits/absgap" in options else 0.0
    return rel_gap, abs_gap


def _cleaned(model: LinearModel, x: FloatArray) -> FloatArray:
    """``x`` clipped to the column bounds with integer columns rounded, when that satisfies the
    model (:meth:`~portfolio.linear.LinearModel.violation`); else ``x`` as it is."""
    cleaned = np.clip(x, model.col_lower, model.col_upper)
    cleaned[model.integrality] = np.round(cleaned[model.integrality])
    return cleaned if model.accepts(cleaned) else x


def _check_option(table: dict[str, str] | None, name: str, value: Any) -> None:
    """Check one option against SCIP's parameter table (name -> kind), or, without a table, on
    an empty model (:meth:`ScipBackend.option_checker`)."""
    candidates = [kind for kind, _ in _candidate_kinds(name, value)]
    if table is None:
        if not candidates or _probe_kind(name, _candidate_kinds(name, value)) is None:
            raise OptionRejected(
                f"SCIP rejected it (unknown parameter, or {value!r} is not of its type)"
            )
        return
    kind = table.get(name)
    if kind is None:
        raise OptionRejected("SCIP has no such parameter", table)
    if kind not in candidates:
        raise OptionRejected(f"SCIP's '{name}' takes {_KIND_WORDS[kind]}, got {value!r}")


def _scip_options(options: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """SCIP parameter name -> (gSCIP map kind, value), each name and type checked against SCIP.

    gSCIP keeps SCIP parameters in typed maps (bool, int, long, real, char, string) and SCIP
    rejects a value of the wrong type, so an ``int`` may belong in ``int`` or ``long`` (SCIP's
    ``Longint``, e.g. ``limits/nodes``) or ``real``. Ambiguous names are probed once per process
    on an empty model (~3 ms each; SCIP prints its complaints about the kinds it rejects).

    Raises:
        ValueError: a name SCIP does not know, or a value of a type it cannot take.
    """
    resolved: dict[str, tuple[str, Any]] = {}
    for name, value in options.items():
        candidates = _candidate_kinds(str(name), value)
        if not candidates:
            raise ValueError(
                f"backend_options['{name}']: SCIP parameters take bool, int, float or str, "
                f"got {type(value).__name__}"
            )
        kind = candidates[0][0] if len(candidates) == 1 else _probe_kind(str(name), candidates)
        if kind is None:
            raise ValueError(
                f"backend_options['{name}']: SCIP rejected it (unknown parameter, or "
                f"{value!r} is not of its type)"
            )
        resolved[str(name)] = next(pair for pair in candidates if pair[0] == kind)
    return resolved


def _candidate_kinds(name: str, value: Any) -> list[tuple[str, Any]]:
    """The gSCIP maps ``value`` could go in, most likely first, with the value converted."""
    if isinstance(value, bool | np.bool_):
        return [("bool", bool(value))]
    if isinstance(value, numbers.Integral):
        number = int(value)
        kinds = ["long", "int"] if name.endswith(_LONGINT_HINTS) else ["int", "long"]
        out: list[tuple[str, Any]] = [(kind, number) for kind in kinds]
        return [*out, ("real", float(number))]
    if isinstance(value, numbers.Real):
        real = float(value)
        out = [("real", real)]
        if real.is_integer():
            out += [("long", int(real)), ("int", int(real))]
        return out
    if isinstance(value, str):
        return [("char", value), ("string", value)] if len(value) == 1 else [("string", value)]
    return []


def _probe_kind(name: str, candidates: list[tuple[str, Any]]) -> str | None:
    """The first candidate kind SCIP accepts for ``name`` (cached), or None."""
    key = (name, ",".join(kind for kind, _ in candidates))
    with _OPTION_KIND_LOCK:
        if key in _OPTION_KIND_CACHE:
            return _OPTION_KIND_CACHE[key]
    from ortools.math_opt import (
        model_pb2,
        parameters_pb2,
    )

    found: str | None = None
    for kind, value in candidates:
        probe = parameters_pb2.SolveParametersProto()
        probe.gscip.silence_output = True
        getattr(probe.gscip, f"{kind}_params")[name] = value
        try:
            _gscip(model_pb2.ModelProto(), probe)
        except Exception as exc:  # StatusNotOk: wrong type (-13) or unknown (-12)
            if "error code -12" in str(exc):  # SCIP_PARAMETERUNKNOWN: no kind will do
                break
            continue
        found = kind
        break
    with _OPTION_KIND_LOCK:
        _OPTION_KIND_CACHE[key] = found
    return found


def _new_interrupter() -> tuple[Any, Any]:
    """A MathOpt solve interrupter and the handle its solver binding takes.

    Recent OR-Tools (9.15) has ``ortools.util.python.solve_interrupter``; 9.10 has
    ``SolveInterrupter`` in MathOpt's solver binding itself.
    """
    try:
        from ortools.util.python.solve_interrupter import SolveInterrupter
    except ImportError:
        from ortools.math_opt.core.python import solver as mathopt_solver

        legacy = mathopt_solver.SolveInterrupter()
        return legacy, legacy
    interrupter = SolveInterrupter()
    return interrupter, interrupter.pybind_interrupter


def _watch(event: threading.Event, done: threading.Event, interrupter: Any) -> None:
    """Trigger ``interrupter`` when the caller sets ``event``; stop once the solve is done."""
    while not done.is_set():
        if event.wait(_WATCH_SECONDS):
            interrupter.interrupt()
            return


def _enum_name(enum_type: Any, value: int, prefix: str) -> str:
    """Name of a proto enum value without its prefix; ``code N`` for values this build lacks."""
    try:
        name = str(enum_type.Name(value))
    except ValueError:
        return f"code {value}"
    return name.removeprefix(prefix)


def _has_field(message: Any, name: str) -> bool:
    """``message`` has field ``name`` set (False when this OR-Tools version lacks the field)."""
    return name in message.DESCRIPTOR.fields_by_name and bool(message.HasField(name))


def _join(*parts: str) -> str:
    """Non-empty parts joined with ``; ``."""
    return "; ".join(part for part in parts if part)


