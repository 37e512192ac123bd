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
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from portfolio.backends.base import Backend, Feature, exact_rows
from portfolio.linear import FloatArray, LinearModel, Sense
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

#: Relative tolerance when re-checking a returned vector against the model.
CHECK_TOL = 1e-6

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

    name: ClassVar[str] = "highs"
    description: ClassVar[str] = "HiGHS via highspy: MIP and LP, MIP start, interruptible (default)"
    modules: ClassVar[tuple[str, ...]] = ("highspy",)
    extra: ClassVar[str] = "highs"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.MIP_START, Feature.LP, Feature.INTERRUPT, Feature.THREADS, Feature.DETERMINISTIC}
    )

    @classmethod
    def version(cls) -> str | None:
        """Version of HiGHS itself."""
        try:
            h = new_highs()
            return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
        except Exception:  # pragma: no cover - only when highspy is broken
            return super().version()

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Check options against HiGHS's own table: ``getOptionType`` says whether a name
        exists, ``setOptionValue`` on a scratch ``Highs`` whether the value is of its type and
        in its range. See :meth:`Backend.check_options`."""
        if not options:
            return
        import highspy

        from portfolio.backends.base import close_matches
        from portfolio.errors import BackendOptionError

        scratch = new_highs()
        kinds = {
            highspy.HighsOptionType.kBool: "true or false",
            highspy.HighsOptionType.kInt: "a whole number",
            highspy.HighsOptionType.kDouble: "a number",
            highspy.HighsOptionType.kString: "a string",
        }
        for key, value in options.items():
            name = str(key)
            scratch.setOptionValue("output_flag", False)  # no "unknown option" line on stdout
            status, kind = scratch.getOptionType(name)
            if status != highspy.HighsStatus.kOk:
                known = [n for n in dir(highspy.HighsOptions()) if not n.startswith("_")]
                raise BackendOptionError(
                    self.name, name, "HiGHS has no such option", close_matches(name, known)
                )
            if scratch.setOptionValue(name, value) != highspy.HighsStatus.kOk:
                raise BackendOptionError(
                    self.name,
                    name,
                    f"HiGHS does not accept {value!r}: it takes "
                    f"{kinds.get(kind, 'another type')} (within the option's range)",
                )

    @exact_rows
    def solve(
        self,
        model: LinearModel,
        params: SolveParams,
        *,
        time_limit: float | None,
        start: FloatArray | None = None,
        interrupt: threading.Event | None = None,
        relax: bool = False,
    ) -> BackendResult:
        """Solve with HiGHS. See :meth:`Backend.solve`."""
        import highspy

        began = time.perf_counter()
        h = new_highs()
        h.setOptionValue("output_flag", bool(params.verbose))
        h.setOptionValue("mip_rel_gap", float(params.rel_gap))
        h.setOptionValue("random_seed", int(params.seed))
        _use_threads(params.threads)
        if params.threads is not None:
            h.setOptionValue("threads", int(params.threads))
        if time_limit is not None:
            h.setOptionValue("time_limit", max(0.01, float(time_limit)))
        for key, value in params.backend_options.items():
            h.setOptionValue(str(key), value)

        matrix = model.matrix
        inf = highspy.kHighsInf
        integrality = (
            np.zeros(model.num_cols, dtype=np.int32)
            if relax
            else model.integrality.astype(np.int32)
        )
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
            integrality,
        )
        if status == highspy.HighsStatus.kError:
            return BackendResult(
                Status.ERROR, raw_status="passModel error", detail="HiGHS rejected the model"
            )

        if start is not None and not relax:
            h.setSolution(
                model.num_cols,
                np.arange(model.num_cols, dtype=np.int32),
                np.asarray(start, dtype=np.float64),
            )

        deadline = None if time_limit is None else time.monotonic() + time_limit
        best: dict[str, Any] = {}

        def stop_requested(event: Any) -> None:
            if (interrupt is not None and interrupt.is_set()) or (
                deadline is not None and time.monotonic() > deadline
            ):
                event.interrupt()

        def improving(event: Any) -> None:
            solution = np.array(event.data_out.mip_solution, dtype=np.float64, copy=True)
            if solution.shape == (model.num_cols,):
                best["x"] = solution
                best["bound"] = float(event.data_out.mip_dual_bound)

        h.cbSimplexInterrupt.subscribe(stop_requested)
        h.cbIpmInterrupt.subscribe(stop_requested)
        h.cbMipInterrupt.subscribe(stop_requested)
        if not relax:
            h.cbMipImprovingSolution.subscribe(improving)

        try:
            h.run()
        except Exception as exc:  # the solver's own failure: report, don't raise
            return BackendResult(
                Status.ERROR,
                raw_status=type(exc).__name__,
                detail=f"HiGHS failed: {exc}",
                seconds=time.perf_counter() - began,
            )
        finally:
            h.clearCallbacks()
        return self._result(h, model, relax, best, began)

    def _result(
        self, h: Any, model: LinearModel, relax: bool, best: dict[str, Any], began: float
    ) -> BackendResult:
        import highspy

        ms = highspy.HighsModelStatus
        model_status = h.getModelStatus()
        raw = h.modelStatusToString(model_status)
        info = h.getInfo()
        has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        x: FloatArray | None = None
        reduced: FloatArray | None = None
        if has_solution:
            solution = h.getSolution()
            x = np.asarray(solution.col_value, dtype=np.float64)
            if relax and solution.dual_valid:
                reduced = np.asarray(solution.col_dual, dtype=np.float64)
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
        detail = f"HiGHS: {raw}"
        if model_status == ms.kOptimal:
            status = Status.OPTIMAL
            hit_limit = False
        elif model_status in limit_codes:
            status = Status.FEASIBLE if x is not None else Status.TIME_LIMIT_NO_SOLUTION
            hit_limit = True
        elif model_status == ms.kInfeasible:
            return BackendResult(
                Status.INFEASIBLE,
                raw_status=raw,
                detail=detail,
                seconds=time.perf_counter() - began,
            )
        elif model_status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            bounded = bool(
                np.isfinite(model.col_lower).all() and np.isfinite(model.col_upper).all()
            )
            status = Status.INFEASIBLE if bounded else Status.UNBOUNDED
            return BackendResult(
                status, raw_status=raw, detail=detail, seconds=time.perf_counter() - began
            )
        else:
            status = Status.ERROR
            hit_limit = False

        if x is not None:
            violation = _relative_violation(model, x, relax)
            if violation > CHECK_TOL:
                detail += f"; the returned vector breaks the model by {violation:.3g}, discarded"
                x = None
                status = Status.TIME_LIMIT_NO_SOLUTION if hit_limit else Status.ERROR
        if status is Status.OPTIMAL and x is None:
            status = Status.ERROR
            detail += "; optimal status without a solution"
        objective = model.objective_value(x) if x is not None else None
        if status is Status.OPTIMAL and bound is None:
            bound = objective
        return BackendResult(
            status=status,
            x=x,
            objective=objective,
            bound=bound,
            raw_status=raw,
            detail=detail,
            seconds=time.perf_counter() - began,
            hit_limit=hit_limit,
            reduced_costs=reduced if status is Status.OPTIMAL else None,
        )


def _relative_violation(model: LinearModel, x: FloatArray, relax: bool) -> float:
    """Largest row/bound violation, relative to 1 + |bound|, and integrality unless relaxed."""
    activity = model.matrix @ x
    lo, hi = model.row_lower, model.row_upper
    with np.errstate(invalid="ignore"):
        below = np.where(np.isfinite(lo), (lo - activity) / (1.0 + np.abs(lo)), 0.0)
        above = np.where(np.isfinite(hi), (activity - hi) / (1.0 + np.abs(hi)), 0.0)
    worst = max(float(np.max(below, initial=0.0)), float(np.max(above, initial=0.0)))
    worst = max(worst, float(np.max(model.col_lower - x, initial=0.0)))
    worst = max(worst, float(np.max(x - model.col_upper, initial=0.0)))
    if not relax and model.integrality.any():
        ints = x[model.integrality]
        worst = max(worst, float(np.max(np.abs(ints - np.round(ints)), initial=0.0)))
    return worst


BACKEND = HighsBackend
