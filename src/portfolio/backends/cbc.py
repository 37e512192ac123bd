"""CBC, the binary bundled with PuLP, run as a subprocess this backend controls.

How a solve goes:

1. The :class:`~portfolio.linear.LinearModel` is written as an MPS file (:func:`mps_lines`):
   one column per model column (``X0``, ``X1``, ...), one row per model row (``C0``, ...), an
   equality when ``lower == upper`` and a ``G`` and an ``L`` row for a ranged row, every number
   with ``repr`` (17 significant digits, read back by CBC exactly). PuLP's own writer prints
   13 significant digits (``% .12e``), which turned a budget of ``1000000.1234561234`` into
   ``1.000000123456e+06`` and cut plans off (issue 12). The problem is always a
   *minimisation*: a maximisation is sent negated, because CBC 2.10 reads a
   MIP start of a maximisation model with the wrong sign (coin-or/Cbc#296, coin-or/pulp#475; with
   the bundled 2.10.3 the start shows up as an incumbent of cost ``+v`` among ``-v`` ones), which
   wastes it at best and can make CBC report the start as optimal.
2. The MPS file and the MIP start (in the format of PuLP's ``COIN_CMD.writesol``) go into a
   temporary directory of this call only, so parallel solves never share a file.
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

4. The solution file's values are read here; PuLP's ``COIN_CMD.get_status`` reads its header and
   returns PuLP's ``(status, sol_status)``,
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

The objective is recomputed from the returned vector, which :meth:`Backend.solve` checks against
the model. CBC prints values with 8 significant digits (``%15.8g``), so continuous columns of
large magnitude come back rounded; integer columns are snapped. The model reaches CBC at full
precision (see 1.). For an optimal relaxation the reduced costs of CBC's solution file are
returned (for the heuristic's reduced-cost fixing).
"""

from __future__ import annotations

import functools
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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

from portfolio.backends.base import (
    WORK_NODES,
    Backend,
    Feature,
    OptionCheck,
    OptionRejected,
    SolveRequest,
    temporary_folder,
    track_child,
    untrack_child,
)
from portfolio.linear import BoolArray, FloatArray, LinearModel, Sense, gc_paused
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

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


@dataclass(frozen=True)
class _Job:
    """What :meth:`CbcBackend.translate` prepares for a run.

    Attributes:
        path: the CBC binary.
        mps: the lines of the MPS file.
        start: the start plan to pass (clipped, snapped and checked), or None.
        notes: words for ``detail`` (a start that was not used).
    """

    path: str
    mps: list[str]
    start: FloatArray | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Answer:
    """What :meth:`CbcBackend.run` read back: CBC's solution file, log and PuLP's codes."""

    job: _Job
    run: _Run
    header: str
    codes: tuple[int, int]
    x: FloatArray
    reduced_costs: FloatArray
    row_duals: FloatArray


class CbcBackend(Backend):
    """COIN-OR CBC through PuLP (the binary PuLP bundles), run as a controlled subprocess."""

    name = extra = "cbc"
    modules = ("pulp",)
    description = "COIN-OR CBC bundled with PuLP: MIP and LP, MIP start, interruptible subprocess"
    features = frozenset(
        {
            Feature.MIP_START,
            Feature.LP,
            Feature.INTERRUPT,
            Feature.THREADS,
            Feature.DETERMINISTIC,
            Feature.OWN_PROCESS,
        }
    )

    @classmethod
    def tolerance_options(cls, tolerance: float) -> dict[str, Any]:
        """``integerTolerance``: CBC's default 1e-7 let an LP value 3e-9 from 1 pass as
        integral, which on a row of 1e11 units hid an overrun of hundreds of units (issue 12).
        """
        return {"integerTolerance": tolerance}

    def work_limit_options(self) -> dict[str, Any]:
        """``maxNodes``: CBC's branch and bound (one thread here) stops after that many nodes,
        the same on any machine. See :meth:`Backend.work_limit_options`."""
        return {"maxNodes": WORK_NODES}

    def option_checker(self) -> OptionCheck:
        """Options are checked against the parameter list of the CBC binary that will run.

        CBC ignores a name it does not know ("No match for ...") and solves on, so names are
        checked here against what the binary itself lists (``cbc -allCommands all -? -quit``,
        read once per binary): a name may be abbreviated as CBC allows (``sec`` for
        ``seconds``), case-insensitively. Double and integer parameters need a number; CBC
        actions (``solve``, ``export``, ...) are refused, since this backend runs the solve.
        No binary (the solve reports it) or no list: nothing is checked.
        See :meth:`Backend.check_options`.
        """
        import pulp

        path = _cbc_path(pulp)
        table = CbcBackend._parameter_table(path) if path is not None else ()
        return functools.partial(_check_option, table)

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def _parameter_table(path: str) -> tuple[tuple[str, str, str], ...]:
        """(shortest abbreviation, full name, kind) of every CBC parameter the binary lists;
        kind is ``double``, ``integer``, ``keyword`` or ``action``. Empty if it cannot be read.
        """
        try:
            listing = subprocess.run(
                [path, "-allCommands", "all", "-?", "-quit"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                stdin=subprocess.DEVNULL,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ()
        table: list[tuple[str, str, str]] = []
        kind: str | None = None
        for line in listing.splitlines():
            if line.endswith(":") and not line.startswith(" "):
                heading = line.lower()
                kind = next(
                    (k for k in ("double", "integer", "keyword", "action") if k in heading), None
                )
                continue
            if kind is None or not line.startswith(" "):
                continue
            for token in line.split():
                found = re.fullmatch(r"([^()]+)(?:\((.*)\))?", token)
                if found is None or token == "-":
                    continue
                short = found.group(1)
                table.append((short, short + (found.group(2) or ""), kind))
        return tuple(table)

    def translate(self, request: SolveRequest) -> Any:
        """The MPS file's lines (:func:`mps_lines`) and the start plan; the answer itself for a
        model without columns, or when no CBC binary is found. See :meth:`Backend.translate`.

        ``params.backend_options`` become CBC command-line options placed after the common ones,
        so they win: ``{"cuts": "off", "maxNodes": 1000}`` gives ``-cuts off -maxNodes 1000``
        (``True``/``False`` become ``on``/``off``; ``None`` passes the bare ``-key``).
        """
        model = request.model
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
        start, note = _prepare_start(model, request.start)

        import pulp

        path = _cbc_path(pulp)
        if path is None:
            return BackendResult(
                Status.ERROR,
                raw_status="no cbc binary",
                detail="CBC: neither PuLP's bundled binary nor a 'cbc' on PATH was found",
            )
        with gc_paused():
            lines = mps_lines(model)
        return _Job(path, lines, start, (note,) if note else ())

    def run(self, request: SolveRequest, translated: Any) -> Any:
        """Write the files into a temporary folder of this call, run CBC there (stopping it on
        the interrupt or past the deadline) and read its solution file. See :meth:`Backend.run`.
        """
        import pulp

        job: _Job = translated
        model, params, deadline = request.model, request.params, request.deadline
        mip = bool(model.integrality.any())
        with temporary_folder("portfolio-cbc-") as work:
            with open(os.path.join(work, f"{_FILE}.mps"), "w") as handle:
                handle.writelines(job.mps)
            start_file: str | None = None
            if job.start is not None and mip:
                start_file = f"{_FILE}.mst"
                _write_start(os.path.join(work, start_file), job.start)
            seconds = request.remaining()
            if seconds is not None and seconds <= 0:
                return _no_run(model, job.start, "the time limit passed before CBC started")
            if request.stop_requested:
                return _no_run(model, job.start, "interrupted before CBC started")
            if seconds is not None:  # leave time to read the solution back
                seconds -= min(0.25 * seconds, READ_SECONDS * (model.num_cols + model.num_rows))
            args = _command(job.path, params, seconds=seconds, start_file=start_file, mip=mip)
            run = _run(
                args, work, deadline=deadline, interrupt=request.interrupt, verbose=params.verbose
            )
            solution = os.path.join(work, f"{_FILE}.sol")
            header = _first_line(solution)
            if not header or run.killed or (run.returncode != 0 and not run.stopped):
                return _no_solution(model, run, header, job.start)
            try:
                status, sol_status = pulp.COIN_CMD(path=job.path, msg=False).get_status(solution)
                x, reduced, duals = _read_solution(solution, model.num_cols, model.num_rows)
            except (IndexError, ValueError, OSError) as exc:
                return BackendResult(
                    Status.ERROR,
                    raw_status=header,
                    detail=f"CBC: unreadable solution file ({type(exc).__name__}: {exc})",
                )
        return _Answer(job, run, header, (int(status), int(sol_status)), x, reduced, duals)

    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:
        """Map PuLP's codes and CBC's header to a :class:`BackendResult`: only PuLP's
        ``LpSolutionOptimal`` is optimal, integer columns are snapped, the bound is the one of
        CBC's log and the reduced costs those of an optimal relaxation (the model was sent as a
        minimisation: both are turned back). See :meth:`Backend.map_back`."""
        import pulp

        answer: _Answer = raw
        model, run, start = request.model, answer.run, answer.job.start
        status_code, sol_code = answer.codes
        words = answer.header.split(" - objective value")[0].strip()
        lowered = words.lower()
        limit = bool(run.stopped) or (
            lowered.startswith("stopped") and any(w in lowered for w in _LIMIT_WORDS)
        )
        pulp_words = (
            f"{pulp.LpStatus.get(status_code, status_code)}/"
            f"{pulp.LpSolution.get(sol_code, sol_code)}"
        )
        detail = [f"CBC: {words} (PuLP {pulp_words})", *answer.job.notes]
        if run.stopped:
            detail.append(f"stopped by portfolio ({run.stopped})")

        plan: FloatArray | None = None
        if status_code == pulp.LpStatusInfeasible:
            status = Status.INFEASIBLE
            if start is not None:
                status = Status.ERROR
                detail.append("CBC reported infeasible, but the start plan satisfies the model")
        elif status_code == pulp.LpStatusUnbounded:
            status = Status.UNBOUNDED
        elif status_code == pulp.LpStatusOptimal and sol_code == pulp.LpSolutionOptimal:
            status, plan = Status.OPTIMAL, answer.x
        elif status_code == pulp.LpStatusOptimal and sol_code == pulp.LpSolutionIntegerFeasible:
            status, plan = Status.FEASIBLE, answer.x
        elif limit:
            status = Status.TIME_LIMIT_NO_SOLUTION
        else:
            status = Status.ERROR
            detail.append("no plan")

        sign = -1.0 if model.sense is Sense.MAXIMISE else 1.0
        if plan is not None:
            plan = _snap(plan, model.integrality)
        objective = model.objective_value(plan) if plan is not None else None
        bound = _log_bound(run.log, sign, model.objective_offset)
        if status is Status.OPTIMAL:
            bound = objective
        elif status in (Status.INFEASIBLE, Status.UNBOUNDED, Status.ERROR):
            bound = None
        hit_limit = limit and status in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION)
        optimal_lp = request.relax and status is Status.OPTIMAL
        reduced = sign * answer.reduced_costs if optimal_lp else None
        duals = sign * answer.row_duals if optimal_lp else None
        if duals is not None and not np.isfinite(duals).all():
            duals = None  # a row CBC did not report
        words = "; ".join(detail)
        return BackendResult(
            status, plan, objective, bound, answer.header, words, 0.0, hit_limit, reduced,
            row_duals=duals,
        )

    def settle(self, request: SolveRequest, answer: BackendResult) -> BackendResult:
        """The start plan instead of a worse plan, or of none, after a limit. See
        :meth:`Backend.settle`."""
        model = request.model
        start, _ = _prepare_start(model, request.start)
        if start is None or answer.status not in (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION):
            return answer
        if answer.x is not None and not _better(model, start, answer.x):
            return answer
        return replace(
            answer,
            status=Status.FEASIBLE,
            x=start,
            objective=model.objective_value(start),
            detail=f"{answer.detail}; returning the start plan, CBC found nothing better",
        )


def _check_option(table: tuple[tuple[str, str, str], ...], key: str, value: Any) -> None:
    """Check one option against CBC's parameter table (:meth:`CbcBackend.option_checker`)."""
    if not table:
        return
    name = key.lstrip("-")
    lower = name.lower()
    matches = [
        (full, kind)
        for short, full, kind in table
        if full.lower().startswith(lower) and len(lower) >= len(short)
    ]
    if not matches:
        options = [full for _, full, kind in table if kind != "action"]
        raise OptionRejected("CBC has no such option", options)
    full, kind = matches[0]
    if kind == "action":
        raise OptionRejected(f"'{full}' is a CBC command, not an option")
    if kind in ("double", "integer"):
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        whole = kind == "double" or (math.isfinite(number) and number.is_integer())
        if not (math.isfinite(number) and whole):
            wanted = "a number" if kind == "double" else "a whole number"
            raise OptionRejected(f"CBC's '{full}' takes {wanted}, got {value!r}")


def _no_solution(
    model: LinearModel, run: _Run, header: str, start: FloatArray | None
) -> BackendResult:
    """CBC left no usable solution: a stop (or kill) this module enforced, or a failure."""
    if run.stopped:
        reason = f"CBC stopped by portfolio ({run.stopped}) without a solution file"
        return _no_run(model, start, reason)
    tail = " | ".join(line.strip() for line in list(run.log)[-5:] if line.strip())
    return BackendResult(
        Status.ERROR,
        raw_status=header or f"exit code {run.returncode}",
        detail=f"CBC wrote no solution (exit code {run.returncode}): {tail}",
    )


def _no_run(model: LinearModel, start: FloatArray | None, reason: str) -> BackendResult:
    """A limit ended the solve before CBC produced anything: the start plan, if any."""
    if start is None:
        return BackendResult(
            Status.TIME_LIMIT_NO_SOLUTION, raw_status="no CBC result", detail=reason, hit_limit=True
        )
    return BackendResult(
        Status.FEASIBLE,
        x=start,
        objective=model.objective_value(start),
        raw_status="no CBC result",
        detail=f"{reason}; returning the start plan",
        hit_limit=True,
    )


def _prepare_start(model: LinearModel, start: FloatArray | None) -> tuple[FloatArray | None, str]:
    """The start plan clipped to the bounds and snapped, when it satisfies the model.

    Returns:
        The plan (or None) and a note for ``detail`` when the start was given but not used.
    """
    if start is None or not model.integrality.any():
        return None, ""
    x = np.clip(np.asarray(start, dtype=np.float64), model.col_lower, model.col_upper)
    x = _snap(x, model.integrality)
    if not model.accepts(x):
        return None, f"start plan ignored: {model.violation(x).describe()}"
    return x, ""


def _cbc_path(pulp: Any) -> str | None:
    """Absolute path of the CBC binary bundled with PuLP, else of a ``cbc`` on PATH."""
    bundled = getattr(getattr(pulp, "PULP_CBC_CMD", None), "pulp_cbc_path", None)
    if isinstance(bundled, str) and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return os.path.abspath(bundled)
    found = shutil.which("cbc")
    return os.path.abspath(found) if found else None


def _number(value: float) -> str:
    """A float as MPS text that reads back as the same double (``repr``: up to 17 digits)."""
    return repr(float(value))


def _col(j: int) -> str:
    """Name of column ``j`` in the MPS file (8 characters up to 10 million columns)."""
    return f"X{j:07d}"


def _row(i: int, upper_side: bool = False) -> str:
    """Name of row ``i`` (``U...`` for the upper side of a ranged row)."""
    return f"{'U' if upper_side else 'C'}{i:07d}"


def mps_lines(model: LinearModel) -> list[str]:
    """``model`` as the lines of a minimisation MPS file, every number at full precision.

    The layout is PuLP's (fixed-format names of 8 characters: columns ``X0000000``, rows
    ``C0000000``, ``U0000000`` for the upper side of a ranged row; empty rows, checked by
    :meth:`Backend.solve`, and rows with no finite bound are left out). Every column is listed
    with its objective coefficient, even 0, so that CBC knows it. A maximisation is written
    negated.
    """
    costs = model.objective if model.sense is Sense.MINIMISE else -model.objective
    integer = model.integrality
    matrix = sp.csr_matrix(model.matrix, dtype=np.float64)
    matrix.sum_duplicates()
    lower, upper = model.row_lower, model.row_upper
    nonempty = np.diff(matrix.indptr) > 0
    has_lo, has_up = np.isfinite(lower), np.isfinite(upper)
    equation = nonempty & has_lo & has_up & (lower == upper)
    greater = nonempty & has_lo & ~equation
    less = nonempty & has_up & ~equation
    ranged = greater & less  # G row C{i} and L row C{i}U

    lines: list[str] = ["NAME          PORTFOLIO\n", "ROWS\n", " N  OBJ\n"]
    for i in np.flatnonzero(nonempty).tolist():
        if equation[i]:
            lines.append(f" E  {_row(i)}\n")
        elif ranged[i]:
            lines.append(f" G  {_row(i)}\n L  {_row(i, True)}\n")
        elif greater[i]:
            lines.append(f" G  {_row(i)}\n")
        elif less[i]:
            lines.append(f" L  {_row(i)}\n")
    written = (equation | greater | less).tolist()  # rows without a finite bound are left out

    lines.append("COLUMNS\n")
    csc = matrix.tocsc()
    col_ptr = csc.indptr.tolist()
    rows_of = csc.indices.tolist()
    values = [_number(v) for v in csc.data.tolist()]
    both = ranged.tolist()
    in_integer = False
    for j, cost in enumerate(costs.tolist()):
        if bool(integer[j]) != in_integer:
            marker = "INTORG" if not in_integer else "INTEND"
            lines.append(f"    MARK      'MARKER'                 '{marker}'\n")
            in_integer = not in_integer
        column = _col(j)
        lines.append(f"    {column}  OBJ       {_number(cost)}\n")
        for k in range(col_ptr[j], col_ptr[j + 1]):
            i = rows_of[k]
            if not written[i]:
                continue
            lines.append(f"    {column}  {_row(i)}  {values[k]}\n")
            if both[i]:
                lines.append(f"    {column}  {_row(i, True)}  {values[k]}\n")
    if in_integer:
        lines.append("    MARK      'MARKER'                 'INTEND'\n")

    lines.append("RHS\n")
    for i in np.flatnonzero(equation | greater).tolist():
        lines.append(f"    RHS       {_row(i)}  {_number(lower[i])}\n")
    for i in np.flatnonzero(less).tolist():
        lines.append(f"    RHS       {_row(i, bool(ranged[i]))}  {_number(upper[i])}\n")

    lines.append("BOUNDS\n")
    col_lo, col_up = model.col_lower.tolist(), model.col_upper.tolist()
    for j, (lo, up) in enumerate(zip(col_lo, col_up, strict=True)):
        finite_lo, finite_up = math.isfinite(lo), math.isfinite(up)
        if finite_lo and lo == up:
            lines.append(f" FX BND       {_col(j)}  {_number(lo)}\n")
            continue
        if integer[j] and lo == 0 and up == 1:
            lines.append(f" BV BND       {_col(j)}\n")
            continue
        if not finite_lo:
            lines.append(
                f" MI BND       {_col(j)}\n" if finite_up else f" FR BND       {_col(j)}\n"
            )
        elif lo != 0 or (integer[j] and not finite_up):
            lines.append(f" LO BND       {_col(j)}  {_number(lo)}\n")
        if finite_up:
            lines.append(f" UP BND       {_col(j)}  {_number(up)}\n")
    lines.append("ENDATA\n")
    return lines


def _write_start(path: str, x: FloatArray) -> None:
    """A MIP start in CBC's solution format (that of PuLP's ``COIN_CMD.writesol``)."""
    lines = ["Stopped on time - objective value 0\n"]
    lines += [f"{j:>7} {_col(j)} {_number(v):>15} {0:>23}\n" for j, v in enumerate(x.tolist())]
    with open(path, "w") as handle:
        handle.writelines(lines)


def _read_solution(
    path: str, num_cols: int, num_rows: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Column values, reduced costs and row duals from CBC's solution file (``-printingOptions
    all``: index, name, value, reduced cost or dual); NaN where absent. A ranged row's two
    sides (``C``, ``U``) add up (at most one is active); a row not written (no finite bound)
    has dual 0."""
    x = np.full(num_cols, math.nan, dtype=np.float64)
    reduced = np.full(num_cols, math.nan, dtype=np.float64)
    duals = np.zeros(num_rows, dtype=np.float64)
    with open(path) as handle:
        handle.readline()  # the status line
        for line in handle:
            fields = line.split()
            if fields and fields[0] == "**":  # CBC marks infeasible entries
                fields = fields[1:]
            if len(fields) < 3:
                continue
            name = fields[1]
            if len(name) > 1 and name[0] == "X" and name[1:].isdigit():
                j = int(name[1:])
                if j < num_cols:
                    x[j] = float(fields[2])
                    if len(fields) > 3:
                        reduced[j] = float(fields[3])
            elif len(name) > 1 and name[0] in "CU" and name[1:].isdigit():
                i = int(name[1:])
                if i < num_rows:
                    duals[i] += float(fields[3]) if len(fields) > 3 else math.nan
    return x, reduced, duals


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


def _better(model: LinearModel, candidate: FloatArray, incumbent: FloatArray) -> bool:
    """``candidate`` has a strictly better objective than ``incumbent``."""
    a, b = model.objective_value(candidate), model.objective_value(incumbent)
    margin = 1e-9 * max(1.0, abs(b))
    return a < b - margin if model.sense is Sense.MINIMISE else a > b + margin


