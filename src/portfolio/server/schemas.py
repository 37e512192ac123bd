"""Schemas of the OpenAPI document, and checks of results sent back for rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from portfolio.domain import Instance
from portfolio.server.inputs import MAX_SEED, MAX_THREADS, PARAMETER_NAMES
from portfolio.server.jobs import state_schema
from portfolio.server.problems import MEDIA_TYPE, PROBLEM_SCHEMA, Problem, invalid_parameters
from portfolio.server.problems import parameter_error as _field_error

STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "time_limit_no_solution", "error")

ERROR_DESCRIPTIONS = {
    404: "No such job",
    413: "The request body is over the server's limit",
    415: "The body's media type is not one the operation reads",
    422: "Invalid input: `errors` names the file, the item and the field of each issue",
    501: "An optional component (a solver backend, workbooks, the report) is not installed",
}


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def responses(
    status: int,
    schema: Mapping[str, Any] | None,
    *errors: int,
    media_type: str = "application/json",
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation: its answer and the problems it may give."""
    body: dict[str, Any] = {"schema": dict(schema)} if schema is not None else {}
    out: dict[int | str, dict[str, Any]] = {
        status: {"description": "Successful answer", "content": {media_type: body}}
    }
    for code in errors:
        out[code] = {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {MEDIA_TYPE: {"schema": ref("Problem")}},
        }
    return out


def _parameter_properties() -> dict[str, Any]:
    return {
        "objective": {
            "anyOf": [{"type": "string"}, {"type": "object"}],
            "description": "maximise_outcome, minimise_cost or a weighted objective",
        },
        "backend": {"type": "string"},
        "time_limit": {"type": "number", "exclusiveMinimum": 0},
        "gap": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "threads": {"type": "integer", "minimum": 1, "maximum": MAX_THREADS},
        "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
        "prefer": {"type": "string", "enum": ["changes", "none"]},
    }


def solve_body() -> dict[str, Any]:
    """The request body of ``/v1/solve`` and ``/v1/validate``."""
    form_fields = {k: v for k, v in _parameter_properties().items() if k != "objective"}
    form_fields["objective"] = {"type": "string"}
    return {
        "required": True,
        "description": "The instance as JSON (alone, or as `instance` beside the parameters), "
        "or an uploaded file in the form field `file` (.yaml, .yml, .toml, .json or .xlsx). "
        "A raw YAML (application/yaml) or TOML (application/toml) body is read too.",
        "content": {
            "application/json": {
                "schema": {"anyOf": [ref("Instance"), ref("SolveRequest")]},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}, **form_fields},
                },
            },
        },
    }


def render_body() -> dict[str, Any]:
    """The request body of ``/v1/report`` and ``/v1/workbook``."""
    return {
        "required": True,
        "description": "A result (the JSON of /v1/solve) and, optionally, its instance: as "
        "JSON, or as a form with the result JSON in `result` and the instance file in `file`.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["result"],
                    "additionalProperties": False,
                    "properties": {"result": ref("SolveResult"), "instance": ref("Instance")},
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["result"],
                    "properties": {
                        "result": {"type": "string", "description": "the result JSON"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }


def _nullable(kind: str | list[str]) -> dict[str, Any]:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    return {"type": [*kinds, "null"]}


RESULT_SCHEMA: dict[str, Any] = {
    "title": "SolveResult",
    "description": "The result JSON of `portfolio solve --output` (more keys may be present).",
    "type": "object",
    "required": [
        "instance", "status", "objective", "bound", "gap", "assignment", "options", "backend",
        "solve_seconds", "verified",
    ],
    "properties": {
        "instance": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "objective": _nullable("number"),
        "bound": _nullable("number"),
        "gap": _nullable("number"),
        "assignment": {
            "type": ["object", "null"],
            "additionalProperties": {"type": "string"},
        },
        "options": {
            "type": ["object", "null"],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "backend": {"type": "string"},
        "solve_seconds": {"type": "number", "minimum": 0},
        "verified": {"type": "boolean"},
        "timings": {"type": "object", "additionalProperties": {"type": "number"}},
        "detail": {"type": "string"},
        "changes": {"type": "array", "items": {"type": "string"}},
        "modes_used": {"type": "array", "items": {"type": "string"}},
        "binding": {"type": "array", "items": {"type": "string"}},
        "checks": {"type": "array", "items": {"type": "object"}},
        "services": {"type": "array", "items": {"type": "object"}},
        "explanation": {"type": "object"},
        "violations": {"type": "array", "items": {"type": "string"}},
        "stats": {"type": "object"},
        "file": {"type": "string"},
        "prefer": {"type": "object"},
        "baseline": {"type": "object"},
        "versus_baseline": _nullable("object"),
    },
}

VALIDATION_SCHEMA: dict[str, Any] = {
    "title": "ValidationSummary",
    "type": "object",
    "required": ["valid", "file", "name", "services", "modes", "options", "message"],
    "properties": {
        "valid": {"type": "boolean", "const": True},
        "file": {"type": "string"},
        "name": {"type": "string"},
        "services": {"type": "integer"},
        "modes": {"type": "integer"},
        "options": {"type": "integer"},
        "message": {"type": "string"},
    },
}

BACKEND_SCHEMA: dict[str, Any] = {
    "title": "Backend",
    "type": "object",
    "required": ["name", "installed", "default", "version", "features", "install", "description"],
    "properties": {
        "name": {"type": "string"},
        "installed": {"type": "boolean"},
        "default": {"type": "boolean"},
        "version": _nullable("string"),
        "features": {"type": "array", "items": {"type": "string"}},
        "install": {"type": "string"},
        "description": {"type": "string"},
    },
}


def components() -> dict[str, Any]:
    """Component schemas added to the OpenAPI document (the instance with its parts, ...)."""
    instance = Instance.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = instance.pop("$defs", {})
    request = {
        "title": "SolveRequest",
        "type": "object",
        "required": ["instance"],
        "additionalProperties": False,
        "properties": {"instance": ref("Instance"), **_parameter_properties()},
    }
    return {
        **defs,
        "Instance": instance,
        "SolveRequest": request,
        "SolveResult": RESULT_SCHEMA,
        "ValidationSummary": VALIDATION_SCHEMA,
        "Backend": BACKEND_SCHEMA,
        "JobState": dict(state_schema()),
        "Problem": PROBLEM_SCHEMA,
    }


def backend_rows() -> list[dict[str, Any]]:
    """The backends as ``portfolio backends --json`` lists them."""
    from portfolio.backends import backend_rows as rows

    return rows()


def check_result(result: Any, instance: Instance | None) -> dict[str, Any]:
    """Check that ``result`` looks like a solve result (and fits ``instance``) before rendering.

    Raises:
        Problem: 422 naming the fields that are wrong.
    """
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append(_field_error(field, message, "result"))

    if not isinstance(result, dict):
        raise invalid_parameters([_field_error("result", "expected a result object", "result")])
    if result.get("status") not in STATUSES:
        bad("status", f"expected one of {', '.join(STATUSES)}")
    for key in ("objective", "bound", "gap"):
        value = result.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            bad(key, "expected a number or null")
    assignment = result.get("assignment")
    if assignment is not None and not (
        isinstance(assignment, dict) and all(isinstance(v, str) for v in assignment.values())
    ):
        bad("assignment", "expected an object of service id -> mode id")
    options = result.get("options")
    if options is not None and not (
        isinstance(options, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in options.values())
    ):
        bad("options", "expected an object of service id -> option index")
    for key in ("services", "checks", "changes", "binding", "modes_used", "violations"):
        value = result.get(key)
        if value is not None and not isinstance(value, list):
            bad(key, "expected a list")
    for key in ("services", "checks"):
        value = result.get(key)
        if isinstance(value, list) and not all(isinstance(v, dict) for v in value):
            bad(key, "expected a list of objects")
    if result.get("status") in ("optimal", "feasible") and not errors:
        if not isinstance(assignment, dict) or not isinstance(options, dict):
            bad("assignment", "a result with a plan needs 'assignment' and 'options'")
    if instance is not None and isinstance(assignment, dict) and isinstance(options, dict):
        services = {s.id: s for s in instance.services}
        modes = {m.id for m in instance.modes}
        if set(assignment) != set(services) or set(options) != set(services):
            bad("assignment", "the result's services are not the instance's")
        else:
            for sid, mode in assignment.items():
                index = options[sid]
                if mode not in modes or index >= len(services[sid].options):
                    bad(f"options.{sid}", "not an option of this service in the instance")
                elif services[sid].options[index].mode != mode:
                    bad(f"assignment.{sid}", "does not match the chosen option's mode")
    if errors:
        raise invalid_parameters(errors)
    return result


def download_name(result: Mapping[str, Any], suffix: str) -> str:
    """A file name for a download, from the instance's name."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", str(result.get("instance") or "result")).strip("-")
    return f"{(stem or 'result').lower()}.{suffix}"


__all__ = [
    "PARAMETER_NAMES",
    "Problem",
    "backend_rows",
    "check_result",
    "components",
    "download_name",
    "ref",
    "responses",
    "render_body",
    "solve_body",
]
