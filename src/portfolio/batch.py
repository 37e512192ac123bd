"""Batch solving on disk: :func:`run_batch`, the library under ``portfolio batch``.

Files, folders and globs in; one result file per instance (``OUT/<name>.result.json``, the solve
command's result JSON plus ``input_hash``), ``summary.csv`` and ``summary.json`` out, all written
atomically on the client as results arrive, whatever order they complete in. ``--resume`` skips
instances whose result file holds the same input hash and passes the checks of
:mod:`portfolio.resume` (schema, plan re-verified, objective recomputed); a file that fails
is solved again and the reason reported. A batch holds a lock on its output folder
(:func:`lock_output_dir`): a second batch on the same folder stops at once. The solving itself is
:func:`portfolio.executors.solve_many` (re-exported here), on a local process pool or a Dask
cluster.

Exit codes: 2 if any input was bad (unreadable, unparsable or invalid), else 1 if any instance
has no plan (infeasible, no plan within the limits, crash, lost worker, time-out), else 0; 130
when interrupted. Bad input takes precedence.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import hashlib
import io
import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portfolio.errors import InstanceFileError, PortfolioError, ValidationError
from portfolio.executors import (
    DEFAULT_RETRIES,
    ERROR_STATUS,
    INPUT,
    BatchItem,
    ItemResult,
    TaskFunction,
    effective_params,
    input_hash,
    solve_many,
)
from portfolio.exitcodes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK
from portfolio.io import SUFFIXES
from portfolio.output import write_atomic, write_json
from portfolio.params import SolveParams
from portfolio.result import Status

__all__ = [
    "BatchInput",
    "BatchItem",
    "BatchReport",
    "ItemResult",
    "assign_names",
    "exit_code",
    "expand_inputs",
    "input_hash",
    "missing_input_rows",
    "read_inputs",
    "run_batch",
    "solve_many",
    "write_summary",
]

RESULT_SUFFIX = ".result.json"
SUMMARY_FIELDS = (
    "instance",
    "status",
    "objective",
    "bound",
    "gap",
    "seconds",
    "backend",
    "error",
    "file",
)


# ====================================================================== files and folders
@dataclass(frozen=True)
class BatchInput:
    """An input file of a batch with the unique name its results get."""

    path: Path
    name: str


@dataclass
class BatchReport:
    """What a batch run produced.

    Attributes:
        rows: one result per instance, sorted by name.
        out_dir: the output folder.
        solved: how many instances were solved in this run (the rest were resumed).
        interrupted: the run was stopped (Ctrl-C) before every instance finished.
        counts: rows per status.
        rejected: with ``resume``, instance name -> why its result file was not reused (it was
            solved again).
    """

    rows: list[ItemResult]
    out_dir: Path
    solved: int = 0
    interrupted: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    rejected: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """130 if interrupted, else :func:`exit_code` of the rows."""
        return EXIT_INTERRUPTED if self.interrupted else exit_code(self.rows)


def exit_code(rows: Iterable[ItemResult]) -> int:
    """Exit code of a batch: 2 if any input was bad, else 1 if any row has no plan, else 0.

    Bad input takes precedence over a missing plan: a batch with one unreadable file and one
    infeasible instance exits 2. Crashes, lost workers and time-outs count as "no plan" (1).
    """
    rows = list(rows)
    if any(row.bad_input for row in rows):
        return EXIT_BAD_INPUT
    if any(not row.has_plan for row in rows):
        return EXIT_NO_PLAN
    return EXIT_OK


def expand_inputs(
    inputs: Sequence[str], exclude: str | os.PathLike[str] | None = None
) -> tuple[list[Path], list[str]]:
    """Files named by INPUTS: files, folders (their instance files, not recursive) and globs.

    Globs accept ``**`` for recursion. Files named ``*.result.json`` and anything under
    ``exclude`` (the output folder) are skipped when found through a folder or a glob.

    Returns:
        The files (deduplicated, sorted) and the inputs that matched nothing.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    found: dict[Path, Path] = {}
    missing: list[str] = []

    def wanted(path: Path) -> bool:
        if path.name.endswith(RESULT_SUFFIX) or path.name.startswith("."):
            return False
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            return False
        return skip is None or skip not in path.resolve().parents

    for text in inputs:
        path = Path(text)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if wanted(child):
                    found.setdefault(child.resolve(), child)
        elif path.exists():
            found.setdefault(path.resolve(), path)  # named explicitly: kept whatever it is
        elif glob.has_magic(text):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
            matches = [m for m in matches if wanted(m)]
            if not matches:
                missing.append(text)
            for match in matches:
                found.setdefault(match.resolve(), match)
        else:
            missing.append(text)
    files = [found[key] for key in sorted(found)]
    return files, missing


def assign_names(paths: Sequence[Path]) -> list[BatchInput]:
    """Give every file a unique, deterministic result name: its stem, disambiguated.

    Files whose stems collide (``a/x.yaml`` and ``b/x.yaml``) are named by their path below the
    folders they share (``a__x``, ``b__x``); files that still collide (``x.json`` and
    ``x.yaml`` in one folder) keep their suffix (``x_json``); anything left gets ``-2``, ``-3``.
    """
    ordered = sorted(paths, key=lambda p: str(p.resolve()))
    by_stem: dict[str, list[Path]] = {}
    for path in ordered:
        by_stem.setdefault(_stem(path), []).append(path)

    names: dict[Path, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            names[group[0]] = stem
            continue
        resolved = [p.resolve() for p in group]
        common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
        qualified = {
            p: "__".join([*r.parent.relative_to(common).parts, stem])
            for p, r in zip(group, resolved, strict=True)
        }
        counts = Counter(qualified.values())
        for path in group:
            name = qualified[path]
            if counts[name] > 1:
                name = f"{name}_{path.suffix.lstrip('.').lower()}"
            names[path] = name

    taken: set[str] = set()
    result = []
    for path in ordered:
        name, k = names[path], 1
        while name.lower() in taken:  # case-insensitive file systems
            k += 1
            name = f"{names[path]}-{k}"
        taken.add(name.lower())
        result.append(BatchInput(path, name))
    return result


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return path.stem or name


def read_inputs(inputs: Sequence[BatchInput]) -> tuple[list[BatchItem], list[ItemResult]]:
    """Read the files on the client.

    Returns:
        Items to solve, and ``error`` rows for files that cannot be read at all (unknown
        type, not UTF-8, unreadable).
    """
    from portfolio.io import file_format, read_bytes, workbook_json

    items: list[BatchItem] = []
    failed: list[ItemResult] = []
    for entry in inputs:
        source = str(entry.path)
        try:
            fmt = file_format(entry.path)
            if fmt == "xlsx":  # a binary workbook: read here, sent on as the instance's JSON
                items.append(BatchItem(entry.name, workbook_json(entry.path), "json", source))
                continue
            raw = read_bytes(entry.path)  # regular files only, within the size limit
            content = raw.decode("utf-8")
        except (InstanceFileError, ValidationError) as exc:
            failed.append(_input_error(entry.name, source, str(exc), b""))
            continue
        except UnicodeDecodeError as exc:
            failed.append(_input_error(entry.name, source, f"{source}: not UTF-8: {exc}", raw))
            continue
        except OSError as exc:
            message = f"{source}: {exc.strerror or exc}"
            failed.append(_input_error(entry.name, source, message, b""))
            continue
        items.append(BatchItem(entry.name, content, fmt, source))
    return items, failed


def _input_error(name: str, source: str, message: str, raw: bytes) -> ItemResult:
    return ItemResult(
        index=-1,
        name=name,
        input_hash=hashlib.sha256(raw).hexdigest(),
        status=ERROR_STATUS,
        error=message,
        error_kind=INPUT,
        source=source,
    )


def result_path(out_dir: str | os.PathLike[str], name: str) -> Path:
    """Where the result of the item ``name`` goes."""
    return Path(out_dir) / f"{name}{RESULT_SUFFIX}"


def check_previous(
    path: Path, expected_hash: str, item: BatchItem, rel_gap: float
) -> tuple[dict[str, Any] | None, str | None]:
    """A result file's data when it may be reused for ``item``, else why not.

    Returns:
        ``(data, None)`` when the file is for the same input hash and passes
        :func:`portfolio.resume.distrust`; ``(None, reason)`` when it is for the same input
        but fails a check (unreadable JSON, wrong schema, a plan that does not verify, an
        objective that is not the plan's); ``(None, None)`` when there is nothing to reuse (no
        file, another input, or a failure that should be retried).
    """
    from portfolio.resume import distrust

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None, None
    try:
        data = json.loads(text)
    except ValueError as exc:
        if expected_hash in text:
            return None, f"the result file is not valid JSON ({exc})"
        return None, None
    if not isinstance(data, dict) or data.get("input_hash") != expected_hash:
        return None, None
    if data.get("status") == ERROR_STATUS and data.get("error_kind") != INPUT:
        return None, None  # a crash, lost worker, time-out or solver failure: solve it again
    reason = distrust(data, item.content, item.fmt, item.source or item.name, rel_gap)
    if reason is not None:
        return None, reason
    return data, None


class OutputDirLockedError(PortfolioError):
    """Another batch holds the lock on the output folder."""


LOCK_NAME = ".portfolio-batch.lock"
"""The lock file a batch holds in its output folder."""


@contextlib.contextmanager
def lock_output_dir(out_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` for the block (``fcntl.flock``, non-blocking).

    The lock file (:data:`LOCK_NAME`) holds the holder's pid and is removed when the block ends.
    The lock is the operating system's: it goes when the holder exits, however it exits (even
    ``kill -9``), so a lock file left behind never blocks. Where ``fcntl`` is missing (Windows)
    no lock is taken.

    Raises:
        OutputDirLockedError: another process holds it; the message names the folder and pid.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(out_dir) / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputDirLockedError(
                f"{out_dir}: another batch is writing to this folder (pid {holder}); wait for "
                "it to finish or choose another --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file as we opened it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still locked: no one else can hold this file
        os.close(fd)  # closing the descriptor releases the lock


def _resumed(index: int, item: BatchItem, digest: str, data: dict[str, Any]) -> ItemResult:
    has_result = data.get("error") is None
    return ItemResult(
        index=index,
        name=item.name,
        input_hash=digest,
        status=Status(data.get("status", ERROR_STATUS)),
        result=data if has_result else None,
        error=data.get("error"),
        error_kind=data.get("error_kind"),
        seconds=(data.get("timings") or {}).get("total"),
        resumed=True,
        source=item.source,
    )


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends (only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def run_batch(
    items: Sequence[BatchItem],
    out_dir: str | os.PathLike[str],
    *,
    backend: str = "highs",
    params: SolveParams | None = None,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    task_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    failed: Sequence[ItemResult] = (),
    extra: Callable[[ItemResult], dict[str, Any]] | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
    task: TaskFunction | None = None,
) -> BatchReport:
    """Solve items and write ``OUT/<name>.result.json``, ``summary.csv`` and ``summary.json``.

    Every file is written atomically, on the client, as results arrive. With ``resume``, an item
    whose result file holds the same :func:`input_hash` and passes :func:`check_previous` is
    not solved again (it still appears in the summary); errors other than bad input, and files
    that fail the checks (``report.rejected`` says why), are solved again. The output folder is
    locked for the whole run (:func:`lock_output_dir`).

    Args:
        items: what to solve; names must be unique.
        out_dir: the output folder (created).
        failed: rows already known to be errors (files that could not be read); written too.
        extra: fields to add to an item's result file.
        on_result: called with each row as it is written (resumed rows included), for progress.
        backend, params, executor, workers, scheduler, task_timeout, retries, task: see
            :func:`solve_many`.

    Returns:
        The report; if Ctrl-C stopped the run, ``interrupted`` is set and the summaries are not
        written (every result file written so far is complete).

    Raises:
        OutputDirLockedError: another batch is writing to ``out_dir``.
    """
    params = effective_params(params, executor)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with lock_output_dir(out):
        return _run_batch_locked(
            items, out, backend, params, executor, workers, scheduler, resume, task_timeout,
            retries, failed, extra, on_result, task,
        )


def _run_batch_locked(
    items: Sequence[BatchItem],
    out: Path,
    backend: str,
    params: SolveParams,
    executor: str,
    workers: int | None,
    scheduler: Any,
    resume: bool,
    task_timeout: float | None,
    retries: int,
    failed: Sequence[ItemResult],
    extra: Callable[[ItemResult], dict[str, Any]] | None,
    on_result: Callable[[ItemResult], None] | None,
    task: TaskFunction | None,
) -> BatchReport:
    names = [item.name for item in items] + [row.name for row in failed]
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise PortfolioError(f"batch item names must be unique: {', '.join(duplicates)}")

    rejected: dict[str, str] = {}

    def write(row: ItemResult) -> None:
        data = row.to_file_dict(extra(row) if extra else None)
        if row.name in rejected:
            data["resume_rejected"] = rejected[row.name]
        with _sigint_deferred():
            write_json(result_path(out, row.name), data)

    rows: list[ItemResult] = []
    todo: list[BatchItem] = []
    for index, item in enumerate(items):
        digest = input_hash(item.content, backend, params)
        previous, reason = (
            check_previous(result_path(out, item.name), digest, item, params.rel_gap)
            if resume
            else (None, None)
        )
        if reason is not None:
            rejected[item.name] = reason
        if previous is None:
            todo.append(item)
            continue
        row = _resumed(index, item, digest, previous)
        rows.append(row)
        if on_result:
            on_result(row)
    for row in failed:
        write(row)
        rows.append(row)
        if on_result:
            on_result(row)

    report = BatchReport(rows, out, rejected=rejected)
    results = solve_many(
        todo,
        backend,
        params,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        task_timeout=task_timeout,
        retries=retries,
        task=task,
    )
    try:
        with contextlib.closing(results):
            for row in results:
                write(row)
                rows.append(row)
                report.solved += 1
                if on_result:
                    on_result(row)
    except KeyboardInterrupt:
        report.interrupted = True
    rows.sort(key=lambda r: r.name)
    report.counts = Counter(row.status.value for row in rows)
    if not report.interrupted:
        with _sigint_deferred():
            write_summary(out, rows, backend)
    return report


def one_line(text: str) -> str:
    """A multi-line message on one line (for CSV cells and log lines)."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _flat(value: Any) -> Any:
    return one_line(value) if isinstance(value, str) else value


def summary_row(row: ItemResult, backend: str) -> dict[str, Any]:
    """One line of the summary."""
    result = row.result or {}
    seconds = (result.get("timings") or {}).get("total", row.seconds)
    return {
        "instance": row.name,
        "status": row.status.value,
        "objective": result.get("objective"),
        "bound": result.get("bound"),
        "gap": result.get("gap"),
        "seconds": round(seconds, 6) if isinstance(seconds, float) else seconds,
        "backend": result.get("backend") or backend,
        "error": row.error,
        "file": row.source,
    }


def write_summary(
    out_dir: str | os.PathLike[str], rows: Sequence[ItemResult], backend: str
) -> None:
    """Write ``summary.csv`` and ``summary.json`` atomically, sorted by instance name.

    ``summary.json`` is ``{"counts": {status: n}, "exit_code": n, "rows": [...]}``, each row with
    the columns of ``summary.csv``: instance, status, objective, bound, gap, seconds, backend,
    error, file.
    """
    out = Path(out_dir)
    table = [summary_row(row, backend) for row in sorted(rows, key=lambda r: r.name)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for line in table:
        writer.writerow({k: "" if v is None else _flat(v) for k, v in line.items()})
    write_atomic(out / "summary.csv", buffer.getvalue())
    counts = Counter(line["status"] for line in table)
    write_json(
        out / "summary.json",
        {"counts": dict(sorted(counts.items())), "exit_code": exit_code(rows), "rows": table},
    )


def missing_input_rows(missing: Sequence[str], taken: set[str]) -> list[ItemResult]:
    """``error`` rows (bad input) for inputs of :func:`expand_inputs` that matched nothing.

    Each row is named after the input's stem (glob characters replaced by ``_``), made unique
    among ``taken``, which gains the names given.
    """
    rows = []
    for text in missing:
        name = _unique(_stem(Path(text)).replace("*", "_").replace("?", "_") or "input", taken)
        message = f"{text}: no such file" if not glob.has_magic(text) else f"{text}: no match"
        rows.append(_input_error(name, text, message, b""))
    return rows


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}-{k}"
    taken.add(candidate)
    return candidate
