"""Long work as jobs: queued, run on the batch executors, polled, cancelled (no web framework).

A job is a list of instances solved by :func:`portfolio.executors.solve_many` (a local process
pool, or a Dask cluster when the server has a scheduler), the same machinery as
``portfolio batch``. Its kind says what the instances are and how their results are put together:

``solve``
    one instance; the result is the solve command's result JSON.
``batch``
    several named instances; the result lists one result file per item, in the order given.
``sweep``
    one instance expanded along ``sets`` (``PATH=START:STOP:COUNT``, ``PATH=V1,V2`` or
    ``PATH=[V1, V2]``, as ``portfolio sweep --set``) and ``scales`` (factors, as
    ``portfolio sweep --scale``); the result has the curve (one row per variant) and the items.

More kinds register themselves in :data:`JOB_KINDS`.

Jobs live in memory only: they survive nothing (a restart forgets them). A job's ``result``
appears whole, in one step, when the job succeeds, or not at all.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from portfolio.errors import InputIssue, PortfolioError, ValidationError
from portfolio.executors import BatchItem, Cancelled, ItemResult, solve_many
from portfolio.params import SolveParams
from portfolio.server.inputs import SolveParameters, instance_from_data
from portfolio.server.problems import Problem, invalid_parameters, parameter_error
from portfolio.server.settings import ServerSettings

MAX_ITEMS = 1000
"""Instances in one job (items of a batch, variants of a sweep)."""

T = TypeVar("T")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued", "running", "succeeded", "failed", "cancelled",
)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class JobInstance(BaseModel):
    """One instance of a batch job: instance data, or a file's text and its format."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$")
    """A unique name; it names the item's result."""
    instance: dict[str, Any] | None = None
    """The instance as JSON data."""
    content: str | None = None
    """Or the text of an instance file..."""
    format: Literal["json", "yaml", "toml"] | None = None
    """...in this format."""


class JobRequest(BaseModel):
    """``POST /v1/jobs``: what to run."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "solve"
    """``solve``, ``batch`` or ``sweep`` (the kinds in :data:`JOB_KINDS`)."""
    instance: dict[str, Any] | None = None
    """The instance (``solve`` and ``sweep``)."""
    instances: list[JobInstance] | None = Field(default=None, max_length=MAX_ITEMS)
    """The instances (``batch``)."""
    sets: list[str] | None = Field(default=None, max_length=8)
    """Swept parameters (``sweep``): ``constraints.budget=300000:320000:5``, or a JSON array of
    values, each of which may be a yearly list: ``constraints.budget=[[318000, 312000]]``."""
    scales: list[str] | None = Field(default=None, max_length=8)
    """Scaled parameters (``sweep``): ``constraints.budget=0.9:1.0:11`` multiplies the
    instance's value (every year of a yearly list) by each factor."""
    parameters: SolveParameters = Field(default_factory=SolveParameters)
    """Solve parameters for every instance (time limit per instance)."""


@dataclass(frozen=True)
class JobSpec:
    """What a job kind builds from a request: the items and how to assemble the result."""

    items: list[BatchItem]
    finish: Callable[[list[ItemResult]], dict[str, Any]]


JobBuilder = Callable[[JobRequest], JobSpec]
"""Validate a request of one kind (raising :class:`Problem` or ValidationError) into a spec."""


# ---------------------------------------------------------------------- job kinds
def _need(value: T | None, field_name: str, kind: str) -> T:
    if value is None:
        raise invalid_parameters(
            [parameter_error(field_name, f"a {kind} job needs '{field_name}'", "job")]
        )
    return value


def _solve_job(request: JobRequest) -> JobSpec:
    data = dict(_need(request.instance, "instance", "solve"))
    objective = request.parameters.objective
    instance_from_data(data, "instance", objective)  # bad input fails now, not in the job
    if objective is not None:
        data["objective"] = objective
    item = BatchItem("instance", json.dumps(data), "json", "instance")

    def finish(rows: list[ItemResult]) -> dict[str, Any]:
        row = rows[0]
        if row.result is None:
            raise PortfolioError(row.error or "the solve failed")
        return row.result

    return JobSpec([item], finish)


def _batch_job(request: JobRequest) -> JobSpec:
    entries = _need(request.instances, "instances", "batch")
    if not entries:
        raise invalid_parameters([parameter_error("instances", "no instances given", "job")])
    objective = request.parameters.objective
    issues: list[InputIssue] = []
    items: list[BatchItem] = []
    seen: set[str] = set()
    for k, entry in enumerate(entries):
        where = f"instances[{k}]"
        if entry.name in seen:
            raise invalid_parameters(
                [parameter_error(f"{where}.name", f"duplicate name '{entry.name}'", "job")]
            )
        seen.add(entry.name)
        if (entry.instance is None) == (entry.content is None):
            raise invalid_parameters(
                [parameter_error(where, "give 'instance', or 'content' with 'format'", "job")]
            )
        if entry.instance is not None:
            data: Any = dict(entry.instance)
        else:
            from portfolio.io import parse_text

            try:
                data = parse_text(entry.content or "", entry.format or "json", entry.name)
            except PortfolioError as exc:
                raise invalid_parameters(
                    [parameter_error(f"{where}.content", str(exc), "job")]
                ) from None
        try:
            instance_from_data(data, entry.name, objective)
        except ValidationError as exc:
            issues.extend(exc.issues)
            continue
        if objective is not None and isinstance(data, dict):
            data["objective"] = objective
        items.append(BatchItem(entry.name, json.dumps(data), "json", entry.name))
    if issues:
        raise ValidationError(issues)

    def finish(rows: list[ItemResult]) -> dict[str, Any]:
        ordered = sorted(rows, key=lambda row: row.index)
        counts = collections.Counter(row.status.value for row in ordered)
        return {
            "counts": dict(sorted(counts.items())),
            "items": [{"name": row.name, **row.to_file_dict()} for row in ordered],
        }

    return JobSpec(items, finish)


def _sweep_job(request: JobRequest) -> JobSpec:
    from portfolio.sweep import (
        check_axes,
        curve_rows,
        expand,
        parse_scale,
        parse_set,
        variant_items,
    )

    instance = _need(request.instance, "instance", "sweep")
    sets, scales = request.sets or [], request.scales or []
    if not sets and not scales:
        raise invalid_parameters(
            [parameter_error("sets", "a sweep needs at least one set (or scale)", "job")]
        )
    objective = request.parameters.objective
    data = dict(instance)
    instance_from_data(data, "instance", objective)
    if objective is not None:
        data["objective"] = objective
    axes = []
    for name, texts, parse in (("sets", sets, parse_set), ("scales", scales, parse_scale)):
        for k, text in enumerate(texts):
            try:
                axes.append(parse(text))
            except PortfolioError as exc:
                raise invalid_parameters(
                    [parameter_error(f"{name}[{k}]", str(exc), "job")]
                ) from None
    try:
        check_axes(data, axes)
    except PortfolioError as exc:
        raise invalid_parameters([parameter_error("sets", str(exc), "job")]) from None
    count = 1
    for axis in axes:
        count *= len(axis.values)
    if count > MAX_ITEMS:
        raise invalid_parameters(
            [parameter_error("sets", f"{count} variants; at most {MAX_ITEMS} per job", "job")]
        )
    try:
        variants = list(expand(data, axes, "variant"))  # at most MAX_ITEMS
    except PortfolioError as exc:
        raise invalid_parameters([parameter_error("sets", str(exc), "job")]) from None
    first = variants[0]
    instance_from_data(first.data, f"instance [{first.name}]")
    items = list(variant_items(variants, "instance"))

    def finish(rows: list[ItemResult]) -> dict[str, Any]:
        ordered = sorted(rows, key=lambda row: row.index)
        values = {variant.name: variant.point().parameters for variant in variants}
        return {
            "parameters": [axis.name for axis in axes],
            "curve": curve_rows(variants, ordered),
            "items": [
                {"name": row.name, **row.to_file_dict({"parameters": values.get(row.name, {})})}
                for row in ordered
            ],
        }

    return JobSpec(items, finish)


JOB_KINDS: dict[str, JobBuilder] = {
    "solve": _solve_job,
    "batch": _batch_job,
    "sweep": _sweep_job,
}
"""Job kind -> builder. Later kinds (appraise, frontier) add themselves here."""


# ---------------------------------------------------------------------- jobs
@dataclass
class Job:
    """One job and its state (read through :meth:`snapshot`)."""

    id: str
    kind: str
    total: int
    created: float = field(default_factory=time.time)
    status: str = QUEUED
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class JobManager:
    """Runs jobs on the batch executors, at most ``settings.max_jobs`` at a time."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.max_jobs, thread_name_prefix="portfolio-job"
        )

    def submit(self, request: JobRequest) -> dict[str, Any]:
        """Validate a request and queue its job; returns the job's state.

        Raises:
            Problem: 422 for an unknown kind or bad parameters.
            ValidationError: an instance is invalid.
        """
        builder = JOB_KINDS.get(request.kind)
        if builder is None:
            raise invalid_parameters(
                [
                    parameter_error(
                        "kind",
                        f"unknown job kind '{request.kind}': use one of {', '.join(JOB_KINDS)}",
                        "job",
                    )
                ]
            )
        spec = builder(request)
        params = request.parameters.solve_params(self.settings)
        job = Job(uuid.uuid4().hex, request.kind, len(spec.items))
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, spec, request.parameters.backend, params)
        return self.snapshot(job.id)

    def snapshot(self, job_id: str) -> dict[str, Any]:
        """The job's state as JSON data.

        Raises:
            Problem: 404 when there is no such job.
        """
        with self._lock:
            job = self._get(job_id)
            progress = job.done / job.total if job.total else 1.0
            state: dict[str, Any] = {
                "id": job.id,
                "kind": job.kind,
                "status": job.status,
                "progress": {"done": job.done, "total": job.total, "fraction": progress},
                "counts": dict(job.counts),
                "created": job.created,
                "started": job.started,
                "finished": job.finished,
                "error": job.error,
                "result": job.result,
            }
        return state

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job; forget a finished one. Returns its last state."""
        with self._lock:
            job = self._get(job_id)
            if job.status == QUEUED:
                job.status, job.finished = CANCELLED, time.time()
            job.cancel.set()
            forget = job.status in FINISHED and job.status != CANCELLED
        state = self.snapshot(job_id)
        if forget:
            with self._lock:
                self._jobs.pop(job_id, None)
        return state

    def wait_cancelled(self, job_id: str, timeout: float) -> None:
        """Wait (up to ``timeout`` seconds) until a cancelled job has stopped its workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.status in FINISHED:
                    return
            time.sleep(0.05)

    def close(self) -> None:
        """Cancel every job and stop the workers."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def list(self) -> list[dict[str, Any]]:
        """Every job known, without results (newest last)."""
        with self._lock:
            ids = list(self._jobs)
        states = []
        for job_id in ids:
            with contextlib.suppress(Problem):
                state = self.snapshot(job_id)
                state["result"] = None
                states.append(state)
        return states

    # ------------------------------------------------------------------ internals
    def _get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise Problem(404, "job-not-found", f"no job with id '{job_id}'")
        return job

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.status in FINISHED]
        excess = len(self._jobs) - self.settings.keep_jobs
        for job_id in finished[: max(0, excess)]:
            del self._jobs[job_id]

    def _run(self, job: Job, spec: JobSpec, backend: str, params: SolveParams) -> None:
        with self._lock:
            if job.cancel.is_set() or job.status != QUEUED:
                job.status, job.finished = CANCELLED, job.finished or time.time()
                return
            job.status, job.started = RUNNING, time.time()
        rows: list[ItemResult] = []
        settings = self.settings
        try:
            results = solve_many(
                spec.items,
                backend,
                params,
                executor=settings.executor,
                workers=min(len(spec.items), settings.worker_count),
                scheduler=settings.scheduler,
                cancel=job.cancel,
            )
            with contextlib.closing(results):
                for row in results:
                    rows.append(row)
                    with self._lock:
                        job.done = len(rows)
                        job.counts[row.status.value] = job.counts.get(row.status.value, 0) + 1
            result = spec.finish(rows)
        except Cancelled:
            self._end(job, CANCELLED, None, None)
        except Exception as exc:  # the job fails; the service goes on
            self._end(job, FAILED, None, f"{type(exc).__name__}: {exc}")
        else:
            self._end(job, SUCCEEDED, result, None)

    def _end(
        self, job: Job, status: str, result: dict[str, Any] | None, error: str | None
    ) -> None:
        with self._lock:  # status and result change together: a result is whole or absent
            job.status, job.result, job.error = status, result, error
            job.finished = time.time()


def job_kinds() -> Sequence[str]:
    """The job kinds this server runs."""
    return tuple(JOB_KINDS)


def state_schema() -> Mapping[str, Any]:
    """The JSON Schema of a job's state, for the OpenAPI document."""
    nullable_number = {"type": ["number", "null"]}
    return {
        "title": "JobState",
        "type": "object",
        "required": ["id", "kind", "status", "progress", "counts", "created"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string"},
            "status": {"type": "string", "enum": [QUEUED, RUNNING, *FINISHED]},
            "progress": {
                "type": "object",
                "required": ["done", "total", "fraction"],
                "properties": {
                    "done": {"type": "integer"},
                    "total": {"type": "integer"},
                    "fraction": {"type": "number"},
                },
            },
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "created": {"type": "number"},
            "started": nullable_number,
            "finished": nullable_number,
            "error": {"type": ["string", "null"]},
            "result": {"type": ["object", "null"]},
        },
    }
