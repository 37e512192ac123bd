"""HiGHS through highspy (the default backend).

The CSR matrix is passed to HiGHS in one call (no per-variable Python objects). Known traps handled
here:

* HiGHS's default ``mip_rel_gap`` is 1e-4; portfolio always sets it (default 1e-7).
* HiGHS does not always keep ``time_limit`` (presolve, long LP phases). Besides passing the limit,
  this backend subscribes to HiGHS's interrupt callbacks (simplex, IPM and MIP) and stops the
  solve itself once the limit has passed or the caller sets ``interrupt``; the caller's watchdog
  covers phases with no callback.
* Improving MIP solutions are captured as they are found, so a plan found before an interrupt is
  returned even when HiGHS reports no solution after stopping.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import numpy as np

from portfolio.backends.base import (
    WORK_NODES,
    Backend,
    Feature,
    OptionCheck,
    OptionRejected,
    SolveRequest,
)
from portfolio.linear import FloatArray, Sense
from portfolio.result import BackendResult, Status

_banner_lock = threading.Lock()
_banner_done = False
_threads_lock = threading.Lock()
_threads_in_use: list[int | None] = [None]


def _use_threads(threads: int | None) -> None:
    """Reset HiGHS's process-wide thread scheduler when the requested thread count changes.

    HiGHS builds one global scheduler on first use; a later solve asking for a different number
    of threads then fails ("Not Set") unless the scheduler is reset first.
    """
    import highspy

    with _threads_lock:
        if threads != _threads_in_use[0]:
            if _threads_in_use[0] is not None or threads is not None:
                highspy.Highs.resetGlobalScheduler(True)
            _threads_in_use[0] = threads


def new_highs() -> Any:
    """A ``highspy.Highs`` object, without the banner HiGHS prints to stdout once per process.

    Library code must not print (the banner would corrupt ``--json`` output), so the first
    construction runs with file descriptor 1 pointed at /dev/null.
    """
    global _banner_done
    import highspy

    with _banner_lock:
        if _banner_done:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True
        return h


class HighsBackend(Backend):
    """HiGHS MIP and LP solver (highspy)."""

    name = extra = "highs"
    modules = ("highspy",)
    features = frozenset(
        {Feature.MIP_START, Feature.LP, Feature.INTERRUPT, Feature.THREADS, Feature.DETERMINISTIC}
    )
    description = "HiGHS via highspy: MIP and LP, MIP start, interruptible (default)"

    @classmethod
    def version(cls) -> str | None:
        """Version of HiGHS itself."""
        try:
            h = new_highs()
            return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
        except Exception:  # pragma: no cover - only when highspy is broken
            return super().version()

    def work_limit_options(self) -> dict[str, Any]:
        """``mip_max_nodes``: HiGHS's branch and bound is deterministic for a given thread
        count, so a node limit ends it at the same plan on any machine. See
        :meth:`Backend.work_limit_options`."""
        return {"mip_max_nodes": WORK_NODES}

    def option_checker(self) -> OptionCheck:
        """Options are checked against HiGHS's own table: ``getOptionType`` says whether a name
        exists, ``setOptionValue`` on a scratch ``Highs`` whether the value is of its type and
        in its range. See :meth:`Backend.check_options`."""
        import highspy

        scratch = new_highs()
        kinds = {
            highspy.HighsOptionType.kBool: "true or false",
            highspy.HighsOptionType.kInt: "a whole number",
            highspy.HighsOptionType.kDouble: "a number",
            highspy.HighsOptionType.kString: "a string",
        }

        def check(name: str, value: Any) -> None:
            scratch.setOptionValue("output_flag", False)  # no "unknown option" line on stdout
            status, kind = scratch.getOptionType(name)
            if status != highspy.HighsStatus.kOk:
                known = [n for n in dir(highspy.HighsOptions()) if not n.startswith("_")]
                raise OptionRejected("HiGHS has no such option", known)
            if scratch.setOptionValue(name, value) != highspy.HighsStatus.kOk:
                raise OptionRejected(
                    f"HiGHS does not accept {value!r}: it takes "
                    f"{kinds.get(kind, 'another type')} (within the option's range)"
                )

        return check

    def translate(self, request: SolveRequest) -> Any:
        """A ``Highs`` object holding the model (the CSR arrays in one ``passModel``), the
        parameters and the start. See :meth:`Backend.translate`."""
        import highspy

        model, params = request.model, request.params
        h = new_highs()
        h.setOptionValue("output_flag", bool(params.verbose))
        h.setOptionValue("mip_rel_gap", float(params.rel_gap))
        h.setOptionValue("random_seed", int(params.seed))
        _use_threads(params.threads)
        if params.threads is not None:
            h.setOptionValue("threads", int(params.threads))
        if request.time_limit is not None:
            h.setOptionValue("time_limit", max(0.01, float(request.time_limit)))
        for key, value in params.backend_options.items():
            h.setOptionValue(str(key), value)

        matrix = model.matrix
        inf = highspy.kHighsInf
        sense = (
            highspy.ObjSense.kMaximize
            if model.sense is Sense.MAXIMISE
            else highspy.ObjSense.kMinimize
        )
        status = h.passModel(
            model.num_cols,
            model.num_rows,
            int(matrix.nnz),
            int(highspy.MatrixFormat.kRowwise),
            int(sense),
            float(model.objective_offset),
            model.objective,
            model.col_lower,
            model.col_upper,
            np.clip(model.row_lower, -inf, inf),
            np.clip(model.row_upper, -inf, inf),
            matrix.indptr.astype(np.int32),
            matrix.indices.astype(np.int32),
            matrix.data,
            model.integrality.astype(np.int32),
        )
        if status == highspy.HighsStatus.kError:
            return BackendResult(
                Status.ERROR, raw_status="passModel error", detail="HiGHS rejected the model"
            )
        if request.start is not None:
            h.setSolution(
                model.num_cols,
                np.arange(model.num_cols, dtype=np.int32),
                np.asarray(request.start, dtype=np.float64),
            )
        return h

    def run(self, request: SolveRequest, translated: Any) -> Any:
        """Run HiGHS, stopping it from its interrupt callbacks at the deadline or on the
        caller's interrupt, and keeping the improving MIP solutions. See :meth:`Backend.run`.

        Returns:
            ``(highs, best)``: the solved ``Highs`` and the last improving solution (``x``,
            ``bound``), if any.
        """
        h = translated
        model, limit = request.model, request.time_limit
        deadline = None if limit is None else time.perf_counter() + limit  # from HiGHS's start
        best: dict[str, Any] = {}

        def stop_requested(event: Any) -> None:
            if request.stop_requested:
                best.setdefault("stopped", "on request")
                event.interrupt()
            elif deadline is not None and time.perf_counter() > deadline:
                best.setdefault("stopped", "at the time limit")
                event.interrupt()

        def improving(event: Any) -> None:
            solution = np.array(event.data_out.mip_solution, dtype=np.float64, copy=True)
            if solution.shape == (model.num_cols,):
                best["x"] = solution
                best["bound"] = float(event.data_out.mip_dual_bound)

        h.cbSimplexInterrupt.subscribe(stop_requested)
        h.cbIpmInterrupt.subscribe(stop_requested)
        h.cbMipInterrupt.subscribe(stop_requested)
        if not request.relax:
            h.cbMipImprovingSolution.subscribe(improving)

        try:
            h.run()
        except Exception as exc:  # the solver's own failure: report, don't raise
            return BackendResult(
                Status.ERROR, raw_status=type(exc).__name__, detail=f"HiGHS failed: {exc}"
            )
        finally:
            h.clearCallbacks()
        return h, best

    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:
        """HiGHS's model status, solution, dual bound and (for an optimal relaxation) column
        and row duals as a :class:`BackendResult`. See :meth:`Backend.map_back`."""
        import highspy

        h, best = raw
        model, relax = request.model, request.relax
        ms = highspy.HighsModelStatus
        model_status = h.getModelStatus()
        raw_status = h.modelStatusToString(model_status)
        info = h.getInfo()
        has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        x: FloatArray | None = None
        reduced: FloatArray | None = None
        duals: FloatArray | None = None
        if has_solution:
            solution = h.getSolution()
            x = np.asarray(solution.col_value, dtype=np.float64)
            if relax and solution.dual_valid:
                reduced = np.asarray(solution.col_dual, dtype=np.float64)
                # HiGHS's row dual is d(objective)/d(active row bound) in the objective's own
                # sense (it flips signs for a maximisation), which is BackendResult's convention.
                duals = np.asarray(solution.row_dual, dtype=np.float64)
        elif "x" in best:
            x = best["x"]
        bound: float | None
        if relax:
            bound = float(info.objective_function_value) if has_solution else None
        else:
            bound = float(info.mip_dual_bound)
            if not np.isfinite(bound):
                bound = (
                    best.get("bound")
                    if best.get("bound") is not None and np.isfinite(best["bound"])
                    else None
                )

        limit_codes = {
            ms.kTimeLimit,
            ms.kIterationLimit,
            ms.kInterrupt,
            ms.kSolutionLimit,
            ms.kObjectiveBound,
            ms.kObjectiveTarget,
            getattr(ms, "kMemoryLimit", ms.kTimeLimit),
        }
        detail = f"HiGHS: {raw_status}"
        if model_status == ms.kInterrupt and "stopped" in best:
            # Its interrupt callback is how this backend keeps the limit: say which stop it was.
            detail = f"HiGHS: stopped {best['stopped']}"
        hit_limit = False
        if model_status == ms.kOptimal:
            status = Status.OPTIMAL
        elif model_status in limit_codes:
            status = Status.FEASIBLE if x is not None else Status.TIME_LIMIT_NO_SOLUTION
            hit_limit = True
        elif model_status == ms.kInfeasible:
            return BackendResult(Status.INFEASIBLE, raw_status=raw_status, detail=detail)
        elif model_status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            bounded = bool(
                np.isfinite(model.col_lower).all() and np.isfinite(model.col_upper).all()
            )
            status = Status.INFEASIBLE if bounded else Status.UNBOUNDED
            return BackendResult(status, raw_status=raw_status, detail=detail)
        else:
            status = Status.ERROR

        objective = model.objective_value(x) if x is not None else None
        if status is Status.OPTIMAL and bound is None:
            bound = objective
        return BackendResult(
            status=status,
            x=x,
            objective=objective,
            bound=bound,
            raw_status=raw_status,
            detail=detail,
            hit_limit=hit_limit,
            reduced_costs=reduced if status is Status.OPTIMAL else None,
            row_duals=duals if status is Status.OPTIMAL else None,
        )


BACKEND = HighsBackend
