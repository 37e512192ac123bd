"""Solve benchmark suites and compare with the known values: the library of ``portfolio bench``.

For each instance and backend the runner builds the canonical instance, solves it through
:func:`portfolio.solve.solve_instance` (so every plan is verified) and writes a
:class:`BenchRecord`: status, objective, bound, the known value and its kind, the signed relative
distance to it (positive = worse than known), seconds and the verdict.

A record is **ok** when its plan is verified, it matches a proven optimum (when the known value is
``optimal``) and it is *consistent* with what is known: the plan does not beat a proven optimum or
a known upper bound, and the solver's bound does not cut off a known plan value. ``portfolio bench``
exits 0 when every record is ok, 1 otherwise, 2 on bad usage or data.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from portfolio.backends import DEFAULT_BACKEND, Backend, available_backends, backend_class
from portfolio.benchsets.known import KnownValue
from portfolio.benchsets.suites import BenchInstance, suite_instances, suite_names
from portfolio.domain import Instance
from portfolio.params import SolveParams

#: Relative tolerance when comparing an objective with a known value (GAP values are integers,
#: MMKP I05/I06 have one decimal: float noise is far below this).
MATCH_TOL = 1e-6

#: Default time limit per instance and backend, in seconds.
DEFAULT_TIME_LIMIT = 60.0

RecordCallback = Callable[["BenchRecord"], None]


@dataclass(frozen=True)
class BenchRecord:
    """The outcome of one instance on one backend.

    Attributes:
        suite: suite name.
        instance: instance name (``gap1-1``, ``a05100``, ``e05100``, ``I07``).
        alias: the literature's other name (``c515-1``), or None.
        backend: backend name.
        sense: ``maximise`` or ``minimise``.
        status: the solve's status string (``optimal``, ``feasible``, ...).
        objective: the verified plan's objective, or None.
        bound: the proven bound, or None.
        known: the known value, or None.
        known_kind: ``optimal``, ``best_known`` or ``upper_bound`` (None without a known value).
        gap_to_known: (known - objective) / max(1, |known|) when maximising, (objective - known) /
            max(1, |known|) when minimising: positive means worse than known. None without a plan.
        matched: for optimal and best_known values, the plan is at least as good as the known
            value (within ``MATCH_TOL``); None for upper bounds or without a known value.
        consistent: the plan does not beat a proven optimum or upper bound, and the bound does
            not cut off a known plan value.
        verified: the independent checker accepted the plan.
        seconds: wall-clock seconds of the solve (compile, solve, verify).
        build_seconds: seconds to build and validate the canonical instance.
        services: number of services (jobs or groups).
        options: number of options (columns before reductions).
        time_limit: the limit given, in seconds, or None.
        rel_gap: the relative gap asked for.
        detail: solver notes, or the error message.
        problems: why the record is not ok (empty when it is).
    """

    suite: str
    instance: str
    alias: str | None
    backend: str
    sense: str
    status: str
    objective: float | None
    bound: float | None
    known: float | None
    known_kind: str | None
    gap_to_known: float | None
    matched: bool | None
    consistent: bool
    verified: bool
    seconds: float
    build_seconds: float
    services: int
    options: int
    time_limit: float | None
    rel_gap: float
    detail: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Verified, consistent, and equal to the optimum when one is proven."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (the JSON record)."""
        data = asdict(self)
        data["problems"] = list(self.problems)
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchRecord:
        """A record read back from its JSON form (extra keys such as ``ok`` are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["problems"] = tuple(values.get("problems", ()))
        return cls(**values)


# ---------------------------------------------------------------------- comparisons
def gap_to_known(objective: float | None, known: float | None, sense: str) -> float | None:
    """Signed relative distance to the known value: positive means worse than known."""
    if objective is None or known is None:
        return None
    worse = known - objective if sense == "maximise" else objective - known
    return worse / max(1.0, abs(known))


def _judge(
    known: KnownValue | None,
    objective: float | None,
    bound: float | None,
    sense: str,
    verified: bool,
    status: str,
) -> tuple[bool | None, bool, list[str]]:
    """(matched, consistent, problems) of one outcome."""
    problems: list[str] = []
    if not verified:
        problems.append(f"no verified plan (status {status})")
    if known is None:
        return None, True, problems
    tol = MATCH_TOL * max(1.0, abs(known.value))

    def better(a: float, b: float) -> bool:
        """a is better than b beyond the tolerance, in the objective's sense."""
        return a > b + tol if sense == "maximise" else a < b - tol

    consistent = True
    matched: bool | None = None
    if objective is not None:
        if known.kind in ("optimal", "upper_bound") and better(objective, known.value):
            consistent = False
            problems.append(
                f"objective {objective:.10g} beats the known {known.kind} {known.value:g}"
            )
        if known.is_plan_value:
            matched = not better(known.value, objective)
    elif known.is_plan_value:
        matched = False
    if bound is not None and known.is_plan_value and better(known.value, bound):
        consistent = False
        problems.append(f"bound {bound:.10g} cuts off the known plan value {known.value:g}")
    if known.kind == "optimal" and verified and not matched:
        problems.append(f"objective {objective:.10g} misses the optimum {known.value:g}")
    return matched, consistent, problems


# ---------------------------------------------------------------------- running
def run_instance(item: BenchInstance, backend: str | Backend, params: SolveParams) -> BenchRecord:
    """Solve one benchmark instance on one backend and judge the outcome.

    Failures of the machinery (a backend raising) are recorded as status ``error`` with the
    message in ``detail``, so one bad solve does not stop a suite.
    """
    from portfolio.backends import get_backend
    from portfolio.solve import solve_instance

    solver = backend if isinstance(backend, Backend) else get_backend(backend)
    known = item.known
    services, per_service = item.size
    t0 = time.perf_counter()
    instance = Instance.from_data(item.data(), source=f"{item.suite}/{item.name}")
    build = time.perf_counter() - t0
    status, objective, bound, verified, seconds, detail = "error", None, None, False, 0.0, ""
    t1 = time.perf_counter()
    try:
        result = solve_instance(instance, solver, params)
    except Exception as exc:  # recorded, the suite goes on
        seconds = time.perf_counter() - t1
        detail = f"{type(exc).__name__}: {exc}"
    else:
        status = result.status.value
        objective, bound, verified = result.objective, result.bound, result.verified
        seconds, detail = result.timings.total, result.detail
    matched, consistent, problems = _judge(known, objective, bound, item.sense, verified, status)
    return BenchRecord(
        suite=item.suite,
        instance=item.name,
        alias=item.alias,
        backend=solver.name,
        sense=item.sense,
        status=status,
        objective=objective,
        bound=bound,
        known=None if known is None else known.value,
        known_kind=None if known is None else known.kind,
        gap_to_known=gap_to_known(objective, None if known is None else known.value, item.sense),
        matched=matched,
        consistent=consistent,
        verified=verified,
        seconds=round(seconds, 4),
        build_seconds=round(build, 4),
        services=services,
        options=services * per_service,
        time_limit=params.time_limit,
        rel_gap=params.rel_gap,
        detail=detail,
        problems=tuple(problems),
    )


def run_suite(
    suite: str,
    backends: Sequence[str] = (DEFAULT_BACKEND,),
    params: SolveParams | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    patterns: Iterable[str] | None = None,
    on_record: RecordCallback | None = None,
) -> list[BenchRecord]:
    """Solve every instance of a suite on every backend.

    Args:
        suite: ``gap-max``, ``gap-min``, ``gap-abcd``, ``gap-e`` or ``mmkp``.
        backends: backend names; each instance is solved on each, in this order.
        params: solve parameters (default: :data:`DEFAULT_TIME_LIMIT` seconds per solve and the
            default relative gap 1e-7, so that "optimal" proves integer optima exactly).
        data: the data folder (default: ``benchmarks/data`` or ``$PORTFOLIO_BENCH_DATA``).
        patterns: shell patterns on instance names or aliases (``gap1-*``, ``c515-*``, ``I0[1-3]``).
        on_record: called with each record as soon as it is ready (e.g. to print a line).

    Returns:
        The records, instance by instance, backend by backend.

    Raises:
        ValueError: unknown suite.
        BenchmarkDataError: missing or malformed data.
        UnknownBackendError, BackendUnavailableError: a backend cannot be used.
    """
    from portfolio.backends import get_backend

    params = params or SolveParams(time_limit=DEFAULT_TIME_LIMIT)
    solvers = [get_backend(name) for name in backends]
    records: list[BenchRecord] = []
    for item in suite_instances(suite, data=data, patterns=patterns):
        for solver in solvers:
            record = run_instance(item, solver, params)
            records.append(record)
            if on_record is not None:
                on_record(record)
    return records


def run_suites(
    suites: Iterable[str],
    backends: Sequence[str] = (DEFAULT_BACKEND,),
    params: SolveParams | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    patterns: Iterable[str] | None = None,
    on_record: RecordCallback | None = None,
) -> list[BenchRecord]:
    """:func:`run_suite` over several suites (``all`` expands to every suite)."""
    records: list[BenchRecord] = []
    wanted = list(patterns) if patterns else None
    for suite in suite_names(suites):
        records += run_suite(
            suite, backends, params, data=data, patterns=wanted, on_record=on_record
        )
    return records


# ---------------------------------------------------------------------- reporting
_COLUMNS = (
    ("suite", 8), ("instance", 8), ("backend", 7), ("status", 22), ("objective", 12),
    ("bound", 12), ("known", 10), ("kind", 11), ("to known", 10), ("seconds", 8), ("check", 5),
)  # fmt: skip


def table_header() -> str:
    """The header line of the progress table."""
    return "  ".join(f"{name:<{width}}" for name, width in _COLUMNS).rstrip()


def table_line(record: BenchRecord) -> str:
    """One line of the progress table."""
    cells = (
        record.suite,
        record.instance,
        record.backend,
        record.status,
        _number(record.objective),
        _number(record.bound),
        _number(record.known),
        record.known_kind or "-",
        _percent(record.gap_to_known),
        f"{record.seconds:.2f}",
        "ok" if record.ok else "FAIL",
    )
    line = "  ".join(f"{cell:<{width}}" for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
    if record.problems:
        line += "  " + "; ".join(record.problems)
    return line.rstrip()


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.10g}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.4f}%"


def summarise(records: Iterable[BenchRecord]) -> list[dict[str, Any]]:
    """One row per (suite, backend): counts, optima matched, worst distance to known, seconds."""
    groups: dict[tuple[str, str], list[BenchRecord]] = {}
    for record in records:
        groups.setdefault((record.suite, record.backend), []).append(record)
    rows = []
    for (suite, backend), items in groups.items():
        optimal_known = [r for r in items if r.known_kind == "optimal"]
        gaps = [r.gap_to_known for r in items if r.gap_to_known is not None]
        seconds = [r.seconds for r in items]
        rows.append(
            {
                "suite": suite,
                "backend": backend,
                "instances": len(items),
                "verified": sum(r.verified for r in items),
                "proved_optimal": sum(r.status == "optimal" for r in items),
                "optima_known": len(optimal_known),
                "optima_matched": sum(bool(r.matched) for r in optimal_known),
                "worst_gap_to_known": max(gaps) if gaps else None,
                "mean_gap_to_known": sum(gaps) / len(gaps) if gaps else None,
                "total_seconds": round(sum(seconds), 2),
                "max_seconds": round(max(seconds), 2) if seconds else 0.0,
                "ok": sum(r.ok for r in items),
            }
        )
    return rows


def summary_lines(records: Sequence[BenchRecord]) -> list[str]:
    """The summary as plain text lines."""
    lines = [
        f"{'suite':<9} {'backend':<7} {'n':>3} {'verified':>8} {'proved':>6} {'optima':>9} "
        f"{'worst to known':>14} {'total s':>8} {'max s':>7} {'ok':>4}"
    ]
    for row in summarise(records):
        optima = f"{row['optima_matched']}/{row['optima_known']}"
        lines.append(
            f"{row['suite']:<9} {row['backend']:<7} {row['instances']:>3} {row['verified']:>8} "
            f"{row['proved_optimal']:>6} {optima:>9} {_percent(row['worst_gap_to_known']):>14} "
            f"{row['total_seconds']:>8.1f} {row['max_seconds']:>7.1f} {row['ok']:>4}"
        )
    return lines


def machine_info() -> dict[str, Any]:
    """Where and when the figures were measured (for reports)."""
    versions = {}
    for name in available_backends():
        try:
            versions[name] = backend_class(name).version()
        except Exception:  # pragma: no cover - a broken solver install
            versions[name] = None
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "processor": _cpu_name(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "solvers": versions,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown_report(
    records: Sequence[BenchRecord], *, title: str = "Benchmark validation", command: str = ""
) -> str:
    """A Markdown report: machine, summary per suite and backend, then every record."""
    info = machine_info()
    solvers = ", ".join(f"{k} {v}" for k, v in info["solvers"].items())
    out = [
        f"# {title}",
        "",
        f"Measured {info['date']} on {info['processor']} ({info['cpus']} CPUs), {info['system']}, "
        f"Python {info['python']}; solvers: {solvers}.",
    ]
    if command:
        out += ["", f"Command: `{command}`"]
    if records:
        limits = sorted({r.time_limit for r in records if r.time_limit is not None})
        gaps = sorted({r.rel_gap for r in records})
        out += [
            f"Time limit per solve: {', '.join(f'{t:g} s' for t in limits) or 'none'}; "
            f"relative gap: {', '.join(f'{g:g}' for g in gaps)}.",
        ]
    out += [
        "",
        "## Summary",
        "",
        "`to known`: signed relative distance to the known value, positive = worse than known. "
        "`optima`: proven optima reproduced / instances with a proven optimum.",
        "",
        "| suite | backend | instances | verified | proved optimal | optima | worst to known "
        "| mean to known | total s | max s | ok |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in summarise(records):
        out.append(
            f"| {row['suite']} | {row['backend']} | {row['instances']} | {row['verified']} "
            f"| {row['proved_optimal']} | {row['optima_matched']}/{row['optima_known']} "
            f"| {_percent(row['worst_gap_to_known'])} | {_percent(row['mean_gap_to_known'])} "
            f"| {row['total_seconds']:.1f} | {row['max_seconds']:.1f} | {row['ok']} |"
        )
    out += [
        "",
        "## Records",
        "",
        "| suite | instance | backend | status | objective | bound | known | kind | to known "
        "| seconds | verified | ok |",
        "|---|---|---|---|--:|--:|--:|---|--:|--:|---|---|",
    ]
    for r in records:
        name = f"{r.instance} ({r.alias})" if r.alias else r.instance
        out.append(
            f"| {r.suite} | {name} | {r.backend} | {r.status} | {_number(r.objective)} "
            f"| {_number(r.bound)} | {_number(r.known)} | {r.known_kind or '-'} "
            f"| {_percent(r.gap_to_known)} | {r.seconds:.2f} | {'yes' if r.verified else 'no'} "
            f"| {'yes' if r.ok else 'NO: ' + '; '.join(r.problems)} |"
        )
    return "\n".join(out) + "\n"
