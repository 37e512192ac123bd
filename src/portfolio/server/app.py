"""The HTTP service: a FastAPI application over the library.

Routes (``/openapi.json`` documents them all):

* ``POST /v1/solve``: solve an instance sent as a JSON body, as a raw YAML/TOML body, or as an
  uploaded file (multipart field ``file``: YAML, TOML, JSON or an XLSX workbook). Parameters in
  the query string, in form fields or, with a JSON body ``{"instance": {...}, "backend": ...}``,
  beside the instance. Answers the solve command's result JSON (``portfolio solve --output``).
* ``POST /v1/appraise``: for an instance with funding scenarios, what perfect foresight,
  planning for uncertainty and flexible contracts are worth (``portfolio appraise``'s JSON); the
  same bodies and parameters as /v1/solve, the server's time limit shared by all its solves.
* ``POST /v1/validate``, ``GET /v1/schema``, ``GET /v1/backends``: as the commands of those names.
* ``POST /v1/jobs``, ``GET /v1/jobs``, ``GET /v1/jobs/{id}``, ``DELETE /v1/jobs/{id}``: long work
  on the batch executors (:mod:`portfolio.server.jobs`).
* ``POST /v1/report`` and ``POST /v1/workbook``: a result (and its instance) as the HTML report or
  the XLSX workbook.
* ``GET /``: the page for analysts (:mod:`portfolio.server.page`).

Every error is problem JSON (:mod:`portfolio.server.problems`). Solves run in worker threads, never
on the event loop; at most ``settings.worker_count`` at a time.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import portfolio.server.schemas as schemas
from portfolio.domain import Instance
from portfolio.errors import InstanceFileError, PortfolioError
from portfolio.io import parse_text
from portfolio.server.gate import ThreadsGate
from portfolio.server.inputs import (
    MAX_SEED,
    MAX_THREADS,
    MEDIA_TYPES,
    PARAMETER_NAMES,
    XLSX,
    SolveParameters,
    file_format,
    instance_from_bytes,
    instance_from_data,
    parameters_from,
    validation_summary,
    workbooks_available,
)
from portfolio.server.jobs import FINISHED, JobManager, JobRequest
from portfolio.server.problems import (
    MEDIA_TYPE,
    Problem,
    invalid_parameters,
    missing_extra,
    parameter_error,
    problem_from_error,
)
from portfolio.server.settings import ServerSettings

BODY = "<request body>"
"""What errors call an instance sent as the request body."""

FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
"""Form bodies (a form without a file is read, and told what is missing)."""

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------------- responses
def problem_response(problem: Problem) -> JSONResponse:
    """The HTTP response for a problem."""
    return JSONResponse(problem.to_dict(), status_code=problem.status, media_type=MEDIA_TYPE)


class BodyTooLarge(Problem):
    """413: the request body is over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, "body-too-large", f"the request body is larger than {limit} bytes (the limit)"
        )


class BodySizeLimit:
    """ASGI middleware: requests with a body over ``max_bytes`` get 413 problem JSON.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body sent
    in chunks is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problem_response(BodyTooLarge(self.max_bytes))(scope, receive, send)
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge as exc:
            if started:
                raise
            await problem_response(exc)(scope, receive, send)


# ---------------------------------------------------------------------- reading requests
def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _query_parameters(request: Request) -> dict[str, Any]:
    _unknown_fields(list(request.query_params.keys()), PARAMETER_NAMES)
    return {k: request.query_params[k] for k in PARAMETER_NAMES if k in request.query_params}


async def _form(request: Request, settings: ServerSettings) -> FormData:
    try:
        return await request.form(
            max_files=4, max_fields=32, max_part_size=settings.max_body_bytes
        )
    except MultiPartException as exc:
        raise invalid_parameters([parameter_error("body", f"malformed form data: {exc}")]) from None
    except (ValueError, KeyError, UnicodeError) as exc:  # malformed headers inside the body
        raise invalid_parameters([parameter_error("body", f"malformed form data: {exc}")]) from None


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceFileError(BODY, f"not UTF-8 text: {exc.reason}") from None
    return parse_text(text, "json", BODY)


def _unknown_fields(names: list[str], allowed: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise invalid_parameters(
            [
                parameter_error(name, f"unknown field (expected: {', '.join(allowed)})")
                for name in unknown
            ]
        )


async def _upload(form: FormData, name: str) -> tuple[bytes, str, str] | None:
    """(content, format, source) of the uploaded file in form field ``name``, if any."""
    value = form.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        raise invalid_parameters([parameter_error(name, "expected a file upload, got text")])
    upload: UploadFile = value
    source = upload.filename or "<upload>"
    content = await upload.read()
    return content, file_format(upload.filename, upload.content_type), source


async def read_solve_request(
    request: Request, settings: ServerSettings
) -> tuple[Instance, SolveParameters, str]:
    """The instance, parameters and source name of a solve or validate request.

    Raises:
        Problem, InstanceFileError, ValidationError: the request is unusable (422, 415, 501).
    """
    media = _media_type(request)
    query = _query_parameters(request)
    if media in FORM_MEDIA_TYPES:
        form = await _form(request, settings)
        try:
            keys = list(form.keys())
            _unknown_fields(keys, ("file", *PARAMETER_NAMES))
            files = [k for k in PARAMETER_NAMES if k in form and not isinstance(form[k], str)]
            if files:
                raise invalid_parameters(
                    [parameter_error(k, "expected a text field, got a file") for k in files]
                )
            fields = {k: form[k] for k in PARAMETER_NAMES if isinstance(form.get(k), str)}
            params = parameters_from(query, fields)
            upload = await _upload(form, "file")
        finally:
            await form.close()
        if upload is None:
            raise invalid_parameters(
                [parameter_error("file", "upload the instance file in this form field")]
            )
        content, fmt, source = upload
        instance = await anyio.to_thread.run_sync(
            instance_from_bytes, content, fmt, source, params.objective
        )
        return instance, params, source
    if media == "application/json" or media.endswith("+json"):
        data = await _json_body(request)
        if isinstance(data, dict) and "instance" in data and "services" not in data:
            fields = {k: v for k, v in data.items() if k != "instance"}
            _unknown_fields(list(fields), PARAMETER_NAMES)
            params = parameters_from(query, fields)
            data = data["instance"]
        else:
            params = parameters_from(query)
        instance = await anyio.to_thread.run_sync(instance_from_data, data, BODY, params.objective)
        return instance, params, BODY
    if media in MEDIA_TYPES:
        params = parameters_from(query)
        content = await request.body()
        instance = await anyio.to_thread.run_sync(
            instance_from_bytes, content, MEDIA_TYPES[media], BODY, params.objective
        )
        return instance, params, BODY
    raise Problem(
        415,
        "unsupported-media-type",
        f"cannot read a request body of type '{media or 'none'}': send JSON "
        "(application/json), a file upload (multipart/form-data, field 'file'), YAML "
        "(application/yaml) or TOML (application/toml)",
    )


async def read_render_request(
    request: Request, settings: ServerSettings
) -> tuple[dict[str, Any], Instance | None]:
    """The result (and instance, if sent) of a report or workbook request."""
    media = _media_type(request)
    instance: Instance | None = None
    if media in FORM_MEDIA_TYPES:
        form = await _form(request, settings)
        try:
            _unknown_fields(list(form.keys()), ("result", "file"))
            raw = form.get("result")
            if raw is None:
                raise invalid_parameters(
                    [parameter_error("result", "send the result JSON in this form field")]
                )
            text = raw if isinstance(raw, str) else (await raw.read()).decode("utf-8", "replace")
            upload = await _upload(form, "file")
        finally:
            await form.close()
        try:
            result = json.loads(text)
        except json.JSONDecodeError as exc:
            raise invalid_parameters(
                [parameter_error("result", f"not valid JSON: {exc.msg}")]
            ) from None
        if upload is not None:
            content, fmt, source = upload
            instance = await anyio.to_thread.run_sync(instance_from_bytes, content, fmt, source)
    elif media == "application/json" or media.endswith("+json"):
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise invalid_parameters(
                [parameter_error("body", "expected an object with 'result' and 'instance'")]
            )
        _unknown_fields(list(data), ("result", "instance"))
        result = data.get("result")
        if data.get("instance") is not None:
            instance = await anyio.to_thread.run_sync(
                instance_from_data, data["instance"], "instance"
            )
    else:
        raise Problem(
            415,
            "unsupported-media-type",
            f"cannot read a request body of type '{media or 'none'}': send JSON or a form",
        )
    return schemas.check_result(result, instance), instance


def appraisal_solves(instance: Instance) -> int:
    """How many solves an appraisal takes at most: the recourse problem, each scenario alone,
    the expected-value problem, EEV, the long-contracts problem, and one per service that has a
    contract shorter than its mode's longest."""
    from portfolio.scenarios.appraise import has_shorter

    flexible = sum(1 for service in instance.services if has_shorter(instance, service.id))
    return 4 + len(instance.scenarios or []) + flexible


@contextlib.contextmanager
def rendering(what: str) -> Iterator[None]:
    """Turn a renderer's failure on a result sent by a client into 422, not 500.

    The result has passed :func:`portfolio.server.schemas.check_result`; a renderer that still
    trips over it (a figure of the wrong type deep inside) was given a result that portfolio did
    not write, which is a problem with the input.
    """
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
        raise invalid_parameters(
            [
                parameter_error(
                    "", f"cannot make {what} of this result: {type(exc).__name__}: {exc}", "result"
                )
            ]
        ) from None


# ---------------------------------------------------------------------- the application
def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI application of ``portfolio serve``."""
    from portfolio import __version__
    from portfolio.server.page import render_page

    settings = settings or ServerSettings()
    jobs = JobManager(settings)
    gate = ThreadsGate()
    limiter_box: dict[str, anyio.CapacityLimiter] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter_box["solves"] = anyio.CapacityLimiter(settings.worker_count)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(jobs.close)

    def limiter() -> anyio.CapacityLimiter:
        if "solves" not in limiter_box:  # without a lifespan (some test clients)
            limiter_box["solves"] = anyio.CapacityLimiter(settings.worker_count)
        return limiter_box["solves"]

    app = FastAPI(
        title="portfolio",
        version=__version__,
        summary="Choose how each council service is delivered: solve, validate, batch jobs.",
        description="Errors are RFC 9457 problem details (application/problem+json); problems "
        "about the input list `errors`, each naming the file, the item and the field.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.jobs = jobs
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.mount(
        "/static", StaticFiles(packages=[("portfolio.server", "static")]), name="static"
    )

    # ------------------------------------------------------------------ errors
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_portfolio_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PortfolioError)
        return problem_response(problem_from_error(exc))

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            where = {"query": "parameters", "body": "body", "path": "path"}.get(
                loc[0] if loc else "", "request"
            )
            field = ".".join(loc[1:]) if len(loc) > 1 else ""
            message = str(error.get("msg", "invalid value"))
            errors.append(parameter_error(field, message, where))
        return problem_response(invalid_parameters(errors))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, Problem):  # e.g. the body passed its limit while parsed
            return problem_response(exc.__cause__)
        if exc.status_code == 400:  # FastAPI could not parse the body: invalid input, 422
            return problem_response(
                invalid_parameters([parameter_error("", str(exc.detail), "body")])
            )
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        problem = Problem(exc.status_code, slug, str(exc.detail))
        response = problem_response(problem)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        return problem_response(
            Problem(500, "internal-error", f"an unexpected {type(exc).__name__}; see the log")
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(PortfolioError, on_portfolio_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)

    # ------------------------------------------------------------------ routes
    async def solve_in_thread(
        instance: Instance, params: SolveParameters, source: str
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            from portfolio.solve import solve

            with gate.hold(params.backend, params.threads):
                result = solve(instance, params.backend, params.solve_params(settings))
            data = result.to_dict()
            data["file"] = source
            return data

        return await anyio.to_thread.run_sync(run, limiter=limiter())

    async def appraise_in_thread(
        instance: Instance, params: SolveParameters, source: str
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            from dataclasses import replace

            from portfolio.scenarios.appraise import appraise

            solve_params = params.solve_params(settings)
            count = appraisal_solves(instance)
            assert solve_params.time_limit is not None  # capped by the server's limit
            each = replace(solve_params, time_limit=solve_params.time_limit / count)
            with gate.hold(params.backend, params.threads):
                try:
                    appraisal = appraise(instance, each, backend=params.backend)
                except PortfolioError as exc:
                    raise Problem(422, "no-plan", f"{source}: {exc}") from None
            data = appraisal.to_dict()
            data["file"] = source
            data["time_limit_per_solve"] = each.time_limit
            return data

        return await anyio.to_thread.run_sync(run, limiter=limiter())

    query_doc = {
        "objective": Query(
            None,
            description="override the objective: maximise_outcome, minimise_cost or a weighted "
            'objective as JSON, e.g. {"maximise": {"outcome": 1}}',
        ),
        "backend": Query(None, description="solver backend (default highs)"),
        "time_limit": Query(
            None,
            gt=0,
            description=f"seconds, capped by the server's limit ({settings.max_time_limit:g})",
        ),
        "gap": Query(None, ge=0, lt=1, description="relative optimality gap"),
        "threads": Query(None, ge=1, le=MAX_THREADS, description="solver threads"),
        "seed": Query(None, ge=0, le=MAX_SEED, description="solver random seed"),
        "prefer": Query(
            None,
            description="changes (default): among plans as good, the fewest changes, then the "
            "least one-off money; none: the plan as found",
        ),
    }

    @app.post(
        "/v1/solve",
        summary="Solve an instance",
        description="The answer is the result JSON of `portfolio solve --output`: an infeasible "
        "instance is an ordinary 200 answer with status `infeasible` and an explanation.",
        responses=schemas.responses(200, schemas.ref("SolveResult"), 413, 415, 422, 501),
        openapi_extra={"requestBody": schemas.solve_body()},
    )
    async def solve_route(
        request: Request,
        objective: str | None = query_doc["objective"],
        backend: str | None = query_doc["backend"],
        time_limit: float | None = query_doc["time_limit"],
        gap: float | None = query_doc["gap"],
        threads: int | None = query_doc["threads"],
        seed: int | None = query_doc["seed"],
        prefer: str | None = query_doc["prefer"],
    ) -> JSONResponse:
        instance, params, source = await read_solve_request(request, settings)
        return JSONResponse(await solve_in_thread(instance, params, source))

    @app.post(
        "/v1/appraise",
        summary="Appraise an instance with funding scenarios",
        description="What uncertainty and flexibility are worth: the recourse problem, wait and "
        "see and EVPI, the expected-value problem, EEV and VSS, and the value of flexibility in "
        "total and per service (the JSON of `portfolio appraise --output`). Takes the same "
        "bodies and parameters as /v1/solve; the time limit (capped by the server's) is shared "
        "by all the appraisal's solves, each getting an equal part. An instance without "
        "scenarios is 422.",
        responses=schemas.responses(200, {"type": "object"}, 413, 415, 422, 501),
        openapi_extra={"requestBody": schemas.solve_body()},
    )
    async def appraise_route(
        request: Request,
        objective: str | None = query_doc["objective"],
        backend: str | None = query_doc["backend"],
        time_limit: float | None = query_doc["time_limit"],
        gap: float | None = query_doc["gap"],
        threads: int | None = query_doc["threads"],
        seed: int | None = query_doc["seed"],
        prefer: str | None = query_doc["prefer"],
    ) -> JSONResponse:
        instance, params, source = await read_solve_request(request, settings)
        if not instance.scenarios:
            raise invalid_parameters([parameter_error(
                "scenarios", "the instance has no funding scenarios (add scenarios: [...] to a "
                "multi-year instance)", source)])
        return JSONResponse(await appraise_in_thread(instance, params, source))

    @app.post(
        "/v1/validate",
        summary="Validate an instance",
        description="Takes the same bodies and parameters as /v1/solve (the parameters are "
        "checked, the objective applied). A valid instance gets its counts; an invalid one 422 "
        "with every issue in `errors`.",
        responses=schemas.responses(200, schemas.ref("ValidationSummary"), 413, 415, 422, 501),
        openapi_extra={"requestBody": schemas.solve_body()},
    )
    async def validate_route(
        request: Request,
        objective: str | None = query_doc["objective"],
        backend: str | None = query_doc["backend"],
        time_limit: float | None = query_doc["time_limit"],
        gap: float | None = query_doc["gap"],
        threads: int | None = query_doc["threads"],
        seed: int | None = query_doc["seed"],
        prefer: str | None = query_doc["prefer"],
    ) -> JSONResponse:
        instance, _params, source = await read_solve_request(request, settings)
        return JSONResponse(validation_summary(instance, source))

    @app.get(
        "/v1/schema",
        summary="JSON Schema of instance files",
        responses=schemas.responses(200, {"type": "object"}),
    )
    async def schema_route() -> JSONResponse:
        return JSONResponse(Instance.model_json_schema())

    @app.get(
        "/v1/backends",
        summary="Solver backends and whether installed",
        responses=schemas.responses(200, {"type": "array", "items": schemas.ref("Backend")}),
    )
    async def backends_route() -> JSONResponse:
        return JSONResponse(schemas.backend_rows())

    @app.post(
        "/v1/jobs",
        status_code=202,
        summary="Start a job (solve, batch or sweep)",
        description="The job runs on the batch executors (a local process pool, or Dask with "
        "the server's --scheduler). Poll GET /v1/jobs/{id}; the result appears when the status "
        "is `succeeded`, whole.",
        responses=schemas.responses(202, schemas.ref("JobState"), 413, 415, 422, 501),
    )
    async def submit_job(job: JobRequest, request: Request) -> JSONResponse:
        state = await anyio.to_thread.run_sync(jobs.submit, job)
        return JSONResponse(
            state, status_code=202, headers={"Location": f"/v1/jobs/{state['id']}"}
        )

    @app.get(
        "/v1/jobs",
        summary="List the jobs (without results)",
        responses=schemas.responses(200, {"type": "array", "items": schemas.ref("JobState")}),
    )
    async def list_jobs() -> JSONResponse:
        return JSONResponse(jobs.list())

    @app.get(
        "/v1/jobs/{job_id}",
        summary="A job's status, progress and result",
        responses=schemas.responses(200, schemas.ref("JobState"), 404),
    )
    async def get_job(job_id: str) -> JSONResponse:
        return JSONResponse(jobs.snapshot(job_id))

    @app.delete(
        "/v1/jobs/{job_id}",
        summary="Cancel a job (a finished job is forgotten)",
        description="A queued or running job is cancelled: its workers are stopped and it "
        "ends with status `cancelled` and no result. A finished job is forgotten.",
        responses=schemas.responses(200, schemas.ref("JobState"), 404),
    )
    async def cancel_job(job_id: str) -> JSONResponse:
        state = jobs.cancel(job_id)
        if state["status"] not in FINISHED:
            await anyio.to_thread.run_sync(jobs.wait_cancelled, job_id, 10.0)
            with contextlib.suppress(Problem):
                state = jobs.snapshot(job_id)
        return JSONResponse(state)

    @app.post(
        "/v1/report",
        summary="A result as the HTML report",
        response_class=HTMLResponse,
        responses=schemas.responses(
            200, None, 413, 415, 422, 501, media_type="text/html"
        ),
        openapi_extra={"requestBody": schemas.render_body()},
    )
    async def report_route(request: Request) -> Response:
        result, instance = await read_render_request(request, settings)
        from portfolio.htmlreport import render_report
        def render() -> str:
            with rendering("the HTML report"):
                html: str = render_report(result, instance)
            return html

        return HTMLResponse(await anyio.to_thread.run_sync(render, limiter=limiter()))

    @app.post(
        "/v1/workbook",
        summary="A result as an XLSX workbook",
        responses=schemas.responses(200, None, 413, 415, 422, 501, media_type=XLSX_MEDIA_TYPE),
        openapi_extra={"requestBody": schemas.render_body()},
    )
    async def workbook_route(request: Request) -> Response:
        result, instance = await read_render_request(request, settings)
        if not workbooks_available():
            raise missing_extra("Writing an XLSX workbook", XLSX)
        from openpyxl.utils.exceptions import IllegalCharacterError

        from portfolio.spreadsheet import write_result_workbook

        def write() -> bytes:
            buffer = io.BytesIO()
            with rendering("the workbook"):
                try:
                    write_result_workbook(result, buffer, instance)
                except IllegalCharacterError:
                    raise ValueError(
                        "it holds text a workbook cannot (a control character)"
                    ) from None
            return buffer.getvalue()

        payload = await anyio.to_thread.run_sync(write, limiter=limiter())
        name = schemas.download_name(result, "xlsx")
        return Response(
            payload,
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(render_page(settings))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(schemas.components())
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return app

