"""CBC, the binary bundled with PuLP, run as a subprocess this backend controls.

How a solve goes:

1. The :class:`~portfolio.linear.LinearModel` becomes a PuLP ``LpProblem``: one variable per
   column (``x0``, ``x1``, ...), one ``LpAffineExpression`` per row built from its CSR slice, an
   equality when ``lower == upper`` and a ``>=`` and a ``<=`` constraint for a ranged row. The
   problem is always a *minimisation*: a maximisation is sent negated, because CBC 2.10 reads a
   MIP start of a maximisation model with the wrong sign (coin-or/Cbc#296, coin-or/pulp#475; with
   the bundled 2.10.3 the start shows up as an incumbent of cost ``+v`` among ``-v`` ones), which
   wastes it at best and can make CBC report the start as optimal.
2. PuLP writes the MPS file (``LpProblem.writeMPS(rename=1)``) and the MIP start
   (``COIN_CMD.writesol``) into a temporary directory of this call only, so parallel solves never
   share a file.
3. The CBC binary is started with the command line PuLP's ``COIN_CMD.solve_CBC`` builds, but by
   this module, which keeps the process handle. PuLP itself only ever calls ``Popen.wait()``, which
   cannot be interrupted. With the handle:

   * ``interrupt`` (or the time limit passing by more than a grace period, when CBC overruns its
     own ``-sec``) sends CBC ``SIGINT``: CBC stops its search and still writes its best plan. On
     Windows the process is terminated instead, and no plan survives. A CBC that does not exit
     within a few seconds of ``SIGINT`` is killed.
   * When this process handles SIGINT itself (a Python handler: ``portfolio solve``, or
     Python's own ``KeyboardInterrupt``), CBC runs in a process group of its own, so a Ctrl-C
     at the terminal (SIGINT to the foreground group) reaches portfolio only, which stops CBC
     as above and still reads its plan. Where SIGINT is ignored (batch workers) or left to
     kill the process, CBC stays in the caller's group and takes the terminal's Ctrl-C itself,
     so it never outlives a Ctrl-C. The process (and the temporary folder) is registered with
     :func:`~portfolio.backends.base.track_child` while it runs, so a process that exits
     without waiting for its threads kills it (and removes the folder) first.
   * CBC's log is read as it is written (and echoed when ``verbose``), which gives the best bound
     of its summary (``Lower bound:``), something PuLP never reads.
   * arguments are passed as a list with ``cwd`` set to the temporary directory, so paths with
     spaces work (PuLP splits its command string on whitespace).

   The binary is ``PULP_CBC_CMD.pulp_cbc_path`` (instantiating ``PULP_CBC_CMD`` itself warns that
   it goes away in PuLP 4.0), else a ``cbc`` on PATH.

4. PuLP's ``COIN_CMD.readsol_MPS`` reads the solution and returns PuLP's ``(status, sol_status)``,
   the values ``LpProblem.status`` and ``LpProblem.sol_status`` would get. Both are needed:
   ``COIN_CMD.get_status`` maps ``"Stopped on time - objective value ..."`` to
   ``LpStatusOptimal`` with ``LpSolutionIntegerFeasible``. Only a solution status of
   ``LpSolutionOptimal`` counts as optimal here; a stop *without* a plan
   (``"Stopped on time (no integer solution - continuous used)"``) comes back as not solved with
   the LP relaxation's values filled in, which are never returned.

Parameters: ``-sec`` gets what is left of ``time_limit`` after building (less a little to read
the answer back), with ``-timeMode elapsed``; ``-ratio`` is always ``rel_gap``; ``threads`` n > 1
becomes ``-threads 100+n`` (CBC's repeatable parallel search); a non-zero ``seed`` sets
``-randomSeed`` and ``-randomCbcSeed`` (0 keeps CBC's fixed defaults: CBC reads 0 as "seed from
the clock"); ``backend_options`` follow and win.

Every returned vector is checked against the model (rows relative to ``1 + |bound|``); the
objective is recomputed from it. CBC prints values with 8 significant digits (``%15.8g``), so
continuous columns of large magnitude come back rounded; integer columns are snapped. PuLP writes
MPS numbers with 13 significant digits.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from portfolio.backends.base import (
    Backend,
    Feature,
    temporary_folder,
    track_child,
    untrack_child,
)
from portfolio.linear import BoolArray, FloatArray, LinearModel, Sense
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

#: Relative tolerance when re-checking a returned vector against the model.
CHECK_TOL = 1e-6
#: Integer columns within this distance of an integer are snapped to it.
SNAP_TOL = 1e-6
#: Seconds past the caller's time limit before CBC is asked to stop (CBC keeps ``-sec`` loosely).
STOP_GRACE = 1.0
#: Seconds CBC gets to exit after ``SIGINT`` before it is killed.
KILL_AFTER = 3.0
#: How often the process is polled for the interrupt and the deadline (seconds).
POLL = 0.05
#: Seconds per column and row kept back from CBC's ``-sec`` to read its solution file.
READ_SECONDS = 5e-6
#: Lines of CBC's log kept for the summary and for error messages.
LOG_LINES = 300

_FILE = "model"
_BOUND_LINE = re.compile(r"^\s*Lower bound:\s*(\S+)")
_LIMIT_WORDS = ("time", "iterations", "nodes", "solutions", "ctrl-c")


@dataclass(frozen=True)
class _Run:
    """What running the CBC process gave.

    Attributes:
        returncode: the process exit code (None when it could not be started).
        log: the last lines of CBC's output.
        stopped: ``"interrupt"`` or ``"time limit"`` when this module stopped CBC, else ``""``.
        killed: CBC had to be killed (or terminated on Windows): no solution file to trust.
    """

    returncode: int | None
    log: tuple[str, ...]
    stopped: str
    killed: bool


class CbcBackend(Backend):
    """COIN-OR CBC through PuLP (the binary PuLP bundles), run as a controlled subprocess."""

    name: ClassVar[str] = "cbc"
    description: ClassVar[str] = (
        "COIN-OR CBC bundled with PuLP: MIP and LP, MIP start, interruptible subprocess"
    )
    modules: ClassVar[tuple[str, ...]] = ("pulp",)
    extra: ClassVar[str] = "cbc"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.MIP_START, Feature.LP, Feature.INTERRUPT, Feature.THREADS, Feature.DETERMINISTIC}
    )

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
        """Solve with CBC. See :meth:`Backend.solve`.

        ``params.backend_options`` become CBC command-line options placed after the common ones,
        so they win: ``{"cuts": "off", "maxNodes": 1000}`` gives ``-cuts off -maxNodes 1000``
        (``True``/``False`` become ``on``/``off``; ``None`` passes the bare ``-key``).
        """
        began = time.perf_counter()
        deadline = None if time_limit is None else began + time_limit
        integer = (
            np.zeros(model.num_cols, dtype=np.bool_)
            if relax
            else np.asarray(model.integrality, dtype=np.bool_)
        )
        trivial = _trivial_result(model, integer)
        if trivial is not None:
            return _with_seconds(trivial, began)
        start_x, start_note = _prepare_start(model, start, integer)

        import pulp

        cbc_path = _cbc_path(pulp)
        if cbc_path is None:
            return _with_seconds(
                BackendResult(
                    Status.ERROR,
                    raw_status="no cbc binary",
                    detail="CBC: neither PuLP's bundled binary nor a 'cbc' on PATH was found",
                ),
                began,
            )
        try:
            with _gc_paused():
                problem, variables = _build_problem(pulp, model, integer)
        except pulp.PulpError as exc:
            return _with_seconds(
                BackendResult(Status.ERROR, raw_status="PulpError", detail=f"PuLP: {exc}"), began
            )
        reader = pulp.COIN_CMD(path=cbc_path, msg=False)
        sign = -1.0 if model.sense is Sense.MAXIMISE else 1.0

        with temporary_folder("portfolio-cbc-") as work:
            mps = os.path.join(work, f"{_FILE}.mps")
            with _gc_paused():
                vs, var_names, con_names, _ = problem.writeMPS(mps, rename=1)
            start_file: str | None = None
            if start_x is not None and bool(integer.any()):
                for variable, value in zip(variables, start_x.tolist(), strict=True):
                    variable.setInitialValue(value, check=False)
                start_file = f"{_FILE}.mst"
                reader.writesol(os.path.join(work, start_file), problem, vs, var_names, con_names)
            seconds = None
            if deadline is not None:
                seconds = deadline - time.perf_counter()
                if seconds <= 0:
                    return self._no_run(
                        model, start_x, "the time limit passed before CBC started", began
                    )
            if interrupt is not None and interrupt.is_set():
                return self._no_run(model, start_x, "interrupted before CBC started", began)
            if seconds is not None:  # leave time to read the solution back
                seconds -= min(0.25 * seconds, READ_SECONDS * (model.num_cols + model.num_rows))
            args = _command(
                cbc_path, params, seconds=seconds, start_file=start_file, mip=bool(integer.any())
            )
            run = _run(args, work, deadline=deadline, interrupt=interrupt, verbose=params.verbose)
            solution = os.path.join(work, f"{_FILE}.sol")
            header = _first_line(solution)
            if not header or run.killed or (run.returncode != 0 and not run.stopped):
                return self._no_solution(model, run, header, start_x, began)
            try:
                status, values, _, _, _, sol_status = reader.readsol_MPS(
                    solution, problem, vs, var_names, con_names
                )
            except (IndexError, ValueError, OSError) as exc:
                return _with_seconds(
                    BackendResult(
                        Status.ERROR,
                        raw_status=header,
                        detail=f"CBC: unreadable solution file ({type(exc).__name__}: {exc})",
                    ),
                    began,
                )

        x = np.fromiter(
            (values.get(v.name, math.nan) for v in variables), np.float64, len(variables)
        )
        return self._result(
            pulp,
            model,
            integer,
            x=x,
            codes=(int(status), int(sol_status)),
            header=header,
            run=run,
            bound=_log_bound(run.log, sign, model.objective_offset),
            start_x=start_x,
            notes=[start_note] if start_note else [],
            began=began,
        )

    def _result(
        self,
        pulp: Any,
        model: LinearModel,
        integer: BoolArray,
        *,
        x: FloatArray,
        codes: tuple[int, int],
        header: str,
        run: _Run,
        bound: float | None,
        start_x: FloatArray | None,
        notes: list[str],
        began: float,
    ) -> BackendResult:
        """Map PuLP's codes and CBC's header to a verified :class:`BackendResult`."""
        status_code, sol_code = codes
        words = header.split(" - objective value")[0].strip()
        lowered = words.lower()
        limit = bool(run.stopped) or (
            lowered.startswith("stopped") and any(w in lowered for w in _LIMIT_WORDS)
        )
        pulp_words = (
            f"{pulp.LpStatus.get(status_code, status_code)}/"
            f"{pulp.LpSolution.get(sol_code, sol_code)}"
        )
        detail = [f"CBC: {words} (PuLP {pulp_words})", *notes]
        if run.stopped:
            detail.append(f"stopped by portfolio ({run.stopped})")

        plan: FloatArray | None = None
        if status_code == pulp.LpStatusInfeasible:
            status = Status.INFEASIBLE
            if start_x is not None:
                status = Status.ERROR
                detail.append("CBC reported infeasible, but the start plan satisfies the model")
        elif status_code == pulp.LpStatusUnbounded:
            status = Status.UNBOUNDED
        elif status_code == pulp.LpStatusOptimal and sol_code == pulp.LpSolutionOptimal:
            status, plan = Status.OPTIMAL, x
        elif status_code == pulp.LpStatusOptimal and sol_code == pulp.LpSolutionIntegerFeasible:
            status, plan = Status.FEASIBLE, x
        elif limit:
            status = Status.TIME_LIMIT_NO_SOLUTION
        else:
            status = Status.ERROR
            detail.append("no plan")

        if plan is not None:
            plan = _snap(plan, integer)
            violation = _relative_violation(model, plan, integer)
            if not violation <= CHECK_TOL:
                detail.append(
                    f"the returned vector breaks the model by {violation:.3g} "
                    f"(absolute {model.max_violation(plan):.3g}), discarded"
                )
                plan = None
                status = Status.TIME_LIMIT_NO_SOLUTION if limit else Status.ERROR

        if status in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION) and start_x is not None:
            if plan is None or _better(model, start_x, plan):
                plan, status = start_x, Status.FEASIBLE
                detail.append("returning the start plan, CBC found nothing better")

        objective = model.objective_value(plan) if plan is not None else None
        if status is Status.OPTIMAL:
            bound = objective
        elif bound is not None and objective is not None:
            # CBC prints the bound with 3 decimals: never let it pass the plan it bounds.
            bound = (
                min(bound, objective) if model.sense is Sense.MINIMISE else max(bound, objective)
            )
        if status in (Status.INFEASIBLE, Status.UNBOUNDED, Status.ERROR):
            bound = None
        return BackendResult(
            status=status,
            x=plan,
            objective=objective,
            bound=bound,
            raw_status=header,
            detail="; ".join(detail),
            seconds=time.perf_counter() - began,
            hit_limit=limit and status in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION),
        )

    def _no_solution(
        self,
        model: LinearModel,
        run: _Run,
        header: str,
        start_x: FloatArray | None,
        began: float,
    ) -> BackendResult:
        """CBC left no usable solution: a stop (or kill) this module enforced, or a failure."""
        if run.stopped:
            reason = f"CBC stopped by portfolio ({run.stopped}) without a solution file"
            return self._no_run(model, start_x, reason, began)
        tail = " | ".join(line.strip() for line in list(run.log)[-5:] if line.strip())
        return _with_seconds(
            BackendResult(
                Status.ERROR,
                raw_status=header or f"exit code {run.returncode}",
                detail=f"CBC wrote no solution (exit code {run.returncode}): {tail}",
            ),
            began,
        )

    def _no_run(
        self, model: LinearModel, start_x: FloatArray | None, reason: str, began: float
    ) -> BackendResult:
        """A limit ended the solve before CBC produced anything: the start plan, if any."""
        if start_x is not None:
            return _with_seconds(
                BackendResult(
                    Status.FEASIBLE,
                    x=start_x,
                    objective=model.objective_value(start_x),
                    raw_status="no CBC result",
                    detail=f"{reason}; returning the start plan",
                    hit_limit=True,
                ),
                began,
            )
        return _with_seconds(
            BackendResult(
                Status.TIME_LIMIT_NO_SOLUTION,
                raw_status="no CBC result",
                detail=reason,
                hit_limit=True,
            ),
            began,
        )


def _with_seconds(result: BackendResult, began: float) -> BackendResult:
    """``result`` with the wall time since ``began``."""
    return BackendResult(
        status=result.status,
        x=result.x,
        objective=result.objective,
        bound=result.bound,
        raw_status=result.raw_status,
        detail=result.detail,
        seconds=time.perf_counter() - began,
        hit_limit=result.hit_limit,
    )


def _trivial_result(model: LinearModel, integer: BoolArray) -> BackendResult | None:
    """The answer when no solver is needed: contradictory bounds, an unsatisfiable empty row, or
    no columns at all. None otherwise.
    """
    tol = 1e-9
    lo, up = model.col_lower, model.col_upper
    if integer.any():
        lo = np.where(integer, np.ceil(lo - SNAP_TOL), lo)
        up = np.where(integer, np.floor(up + SNAP_TOL), up)
    bad_cols = np.flatnonzero(lo > up + tol)
    if bad_cols.size:
        j = int(bad_cols[0])
        return BackendResult(
            Status.INFEASIBLE,
            raw_status="empty column domain",
            detail=f"column {model.column_name(j)} has no value within its bounds"
            + (" (integer)" if integer[j] else ""),
        )
    row_nnz = np.diff(model.matrix.indptr)
    empty = row_nnz == 0
    broken = (model.row_lower > model.row_upper + tol) | (
        empty & ((model.row_lower > tol) | (model.row_upper < -tol))
    )
    bad_rows = np.flatnonzero(broken)
    if bad_rows.size:
        i = int(bad_rows[0])
        return BackendResult(
            Status.INFEASIBLE,
            raw_status="unsatisfiable row",
            detail=f"row {model.row_name(i)} cannot hold: bounds "
            f"[{model.row_lower[i]:g}, {model.row_upper[i]:g}]"
            + (" on an empty row" if empty[i] else ""),
        )
    if model.num_cols == 0:
        x = np.zeros(0, dtype=np.float64)
        objective = model.objective_value(x)
        return BackendResult(
            Status.OPTIMAL,
            x=x,
            objective=objective,
            bound=objective,
            raw_status="no columns",
            detail="model without columns: nothing to solve",
        )
    return None


def _prepare_start(
    model: LinearModel,
    start: FloatArray | None,
    integer: BoolArray,
) -> tuple[FloatArray | None, str]:
    """The start plan clipped to the bounds and snapped, when it satisfies the model.

    Returns:
        The plan (or None) and a note for ``detail`` when the start was given but not used.
    """
    if start is None or not integer.any():
        return None, ""
    x = np.asarray(start, dtype=np.float64)
    if x.shape != (model.num_cols,):
        raise ValueError(f"start has shape {x.shape}, the model has {model.num_cols} columns")
    x = _snap(np.clip(x, model.col_lower, model.col_upper), integer)
    violation = _relative_violation(model, x, integer)
    if not violation <= CHECK_TOL:
        return None, f"start plan ignored: it breaks the model by {violation:.3g}"
    return x, ""


def _cbc_path(pulp: Any) -> str | None:
    """Absolute path of the CBC binary bundled with PuLP, else of a ``cbc`` on PATH."""
    bundled = getattr(getattr(pulp, "PULP_CBC_CMD", None), "pulp_cbc_path", None)
    if isinstance(bundled, str) and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return os.path.abspath(bundled)
    found = shutil.which("cbc")
    return os.path.abspath(found) if found else None


def _build_problem(pulp: Any, model: LinearModel, integer: BoolArray) -> tuple[Any, list[Any]]:
    """The model as a PuLP minimisation problem.

    Every column appears in the objective (with a zero coefficient if need be), so PuLP writes
    every column to the MPS file even when no row uses it.

    Returns:
        The ``LpProblem`` and its variables in column order.
    """
    problem = pulp.LpProblem("portfolio", pulp.LpMinimize)
    make = getattr(problem, "add_variable", None)  # PuLP >= 3.3: no deprecation warning
    if make is None:
        make = pulp.LpVariable
    lowers = _finite_or_none(model.col_lower)
    uppers = _finite_or_none(model.col_upper)
    kinds = [pulp.LpInteger if flag else pulp.LpContinuous for flag in integer.tolist()]
    variables = [
        make(f"x{j}", lo, up, kind)
        for j, (lo, up, kind) in enumerate(zip(lowers, uppers, kinds, strict=True))
    ]
    costs = model.objective if model.sense is Sense.MINIMISE else -model.objective
    problem.setObjective(pulp.LpAffineExpression(list(zip(variables, costs.tolist(), strict=True))))

    matrix = model.matrix
    if not matrix.has_canonical_format:
        matrix = sp.csr_matrix(matrix, copy=True)
        matrix.sum_duplicates()
    indptr = matrix.indptr.tolist()
    terms = list(
        zip([variables[k] for k in matrix.indices.tolist()], matrix.data.tolist(), strict=True)
    )
    expression, constraint, add = pulp.LpAffineExpression, pulp.LpConstraint, problem.addConstraint
    eq, le, ge = pulp.LpConstraintEQ, pulp.LpConstraintLE, pulp.LpConstraintGE
    rows = zip(model.row_lower.tolist(), model.row_upper.tolist(), strict=True)
    for i, (lo, up) in enumerate(rows):
        a, b = indptr[i], indptr[i + 1]
        if a == b:
            continue  # empty rows were checked by _trivial_result
        has_lo, has_up = lo > -math.inf, up < math.inf
        if has_lo and has_up and lo == up:
            add(constraint(expression(terms[a:b]), eq, f"c{i}", lo))
            continue
        if has_lo:
            add(constraint(expression(terms[a:b]), ge, f"c{i}", lo))
        if has_up:
            add(constraint(expression(terms[a:b]), le, f"c{i}u" if has_lo else f"c{i}", up))
    return problem, variables


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while PuLP creates its objects.

    PuLP allocates several objects per column, row and nonzero; the collector's passes over them
    cost about a third of the build time on large models. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _finite_or_none(values: FloatArray) -> list[float | None]:
    """The values as a list, with infinite entries as None (PuLP's 'no bound')."""
    finite = np.isfinite(values).tolist()
    return [v if ok else None for v, ok in zip(values.tolist(), finite, strict=True)]


def _command(
    cbc_path: str,
    params: SolveParams,
    *,
    seconds: float | None,
    start_file: str | None,
    mip: bool,
) -> list[str]:
    """CBC's argument list, in the order PuLP's ``COIN_CMD.solve_CBC`` uses."""
    args = [cbc_path, f"{_FILE}.mps"]
    if start_file is not None:
        args += ["-mips", start_file]
    if seconds is not None:
        args += ["-sec", f"{max(seconds, 0.01):.3f}"]
    args += ["-timeMode", "elapsed", "-ratio", repr(float(params.rel_gap))]
    if params.threads is not None and params.threads > 1:
        args += ["-threads", str(100 + params.threads)]  # 100 + n: n threads, repeatable search
    seed = params.seed % 2147483647
    if seed:
        args += ["-randomSeed", str(seed), "-randomCbcSeed", str(seed)]
    args += _option_args(params.backend_options.items())
    args += ["-solve" if mip else "-initialSolve", "-printingOptions", "all"]
    args += ["-solution", f"{_FILE}.sol"]
    return args


def _option_args(options: Iterable[tuple[Any, Any]]) -> list[str]:
    """``backend_options`` as CBC arguments: ``-key value``."""
    args: list[str] = []
    for key, value in options:
        args.append("-" + str(key).lstrip("-"))
        if value is None:
            continue
        if isinstance(value, bool):
            args.append("on" if value else "off")
        else:
            args.append(str(value))
    return args


def _run(
    args: list[str],
    work: str,
    *,
    deadline: float | None,
    interrupt: threading.Event | None,
    verbose: bool,
) -> _Run:
    """Run CBC in ``work`` until it exits, stopping it on ``interrupt`` or past the deadline."""
    creationflags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
    group: dict[str, Any] = {"process_group": 0} if _handles_sigint() else {}
    try:
        process = subprocess.Popen(
            args,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            creationflags=creationflags,
            **group,
        )
    except OSError as exc:
        return _Run(None, (f"cannot start {args[0]}: {exc}",), "", False)
    track_child(process)
    log: deque[str] = deque(maxlen=LOG_LINES)
    assert process.stdout is not None  # stdout=PIPE
    pump = threading.Thread(target=_pump, args=(process.stdout, log, verbose), daemon=True)
    pump.start()
    stopped, killed = "", False
    kill_at: float | None = None
    try:
        while True:
            try:
                process.wait(timeout=POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.perf_counter()
            if not stopped:
                if interrupt is not None and interrupt.is_set():
                    stopped = "interrupt"
                elif deadline is not None and now > deadline + STOP_GRACE:
                    stopped = "time limit"
                if stopped:
                    killed = _ask_to_stop(process)
                    kill_at = now + KILL_AFTER
            elif kill_at is not None and now > kill_at:
                process.kill()
                killed, kill_at = True, None
    finally:
        if process.poll() is None:  # the caller was interrupted (KeyboardInterrupt, ...)
            process.kill()
            process.wait()
        untrack_child(process)
        pump.join(timeout=5.0)
    return _Run(process.returncode, tuple(log), stopped, killed)


def _handles_sigint() -> bool:
    """True on POSIX when this process has a Python handler for SIGINT (see the module notes)."""
    if os.name == "nt":
        return False
    try:
        return callable(signal.getsignal(signal.SIGINT))
    except (ValueError, OSError):  # pragma: no cover - no signal support
        return False


def _ask_to_stop(process: subprocess.Popen[str]) -> bool:
    """Ask CBC to stop and write its best plan (SIGINT). True when it was terminated instead."""
    if os.name == "nt":  # no SIGINT for a child on Windows: terminate, losing the plan
        process.terminate()
        return True
    try:
        process.send_signal(signal.SIGINT)
    except ProcessLookupError:  # already gone
        pass
    return False


def _pump(stream: IO[str], log: deque[str], echo: bool) -> None:
    """Keep the tail of CBC's output in ``log``, echoing it to stdout when ``echo``."""
    with stream:
        for line in stream:
            log.append(line)
            if echo:
                sys.stdout.write(line)
    if echo:
        sys.stdout.flush()


def _first_line(path: str) -> str:
    """First line of the solution file (CBC's status words), or ``""`` if absent or empty."""
    try:
        with open(path) as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def _log_bound(log: Iterable[str], sign: float, offset: float) -> float | None:
    """The best bound of CBC's summary (``Lower bound:``), in the model's sense."""
    for line in reversed(list(log)):
        match = _BOUND_LINE.match(line)
        if match is None:
            continue
        try:
            value = float(match.group(1))
        except ValueError:
            return None
        if not math.isfinite(value) or abs(value) >= 1e30:
            return None
        return sign * value + offset
    return None


def _snap(x: FloatArray, integer: BoolArray) -> FloatArray:
    """``x`` with integer columns within :data:`SNAP_TOL` of an integer set to it."""
    if not integer.any():
        return x
    x = x.copy()
    values = x[integer]
    rounded = np.round(values)
    close = np.abs(values - rounded) <= SNAP_TOL
    x[integer] = np.where(close, rounded, values)
    return x


def _relative_violation(model: LinearModel, x: FloatArray, integer: BoolArray) -> float:
    """Largest violation at ``x``: rows and bounds relative to ``1 + |bound|``, integrality
    absolute. NaN values count as an infinite violation.
    """
    if not np.isfinite(x).all():
        return math.inf
    activity = model.matrix @ x
    worst = 0.0
    for bounds, gap in (
        (model.row_lower, model.row_lower - activity),
        (model.row_upper, activity - model.row_upper),
        (model.col_lower, model.col_lower - x),
        (model.col_upper, x - model.col_upper),
    ):
        finite = np.isfinite(bounds)
        if finite.any():
            scaled = gap[finite] / (1.0 + np.abs(bounds[finite]))
            worst = max(worst, float(np.max(scaled, initial=0.0)))
    if integer.any():
        values = x[integer]
        worst = max(worst, float(np.max(np.abs(values - np.round(values)), initial=0.0)))
    return worst


def _better(model: LinearModel, candidate: FloatArray, incumbent: FloatArray) -> bool:
    """``candidate`` has a strictly better objective than ``incumbent``."""
    a, b = model.objective_value(candidate), model.objective_value(incumbent)
    margin = 1e-9 * max(1.0, abs(b))
    return a < b - margin if model.sense is Sense.MINIMISE else a > b + margin


BACKEND = CbcBackend
