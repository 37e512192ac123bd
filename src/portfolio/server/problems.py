"""Errors as RFC 9457 problem details (``application/problem+json``), framework-free.

Every problem has ``type``, ``title``, ``status`` and ``detail``. Problems about the input add
``errors``: one entry per issue with ``file``, ``item``, ``field`` and ``message``, named exactly
as the command line names them (``service 'waste'``, ``options[2].flexibility``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from portfolio.errors import (
    BackendUnavailableError,
    InputIssue,
    InstanceFileError,
    PortfolioError,
    UnknownBackendError,
    ValidationError,
)

MEDIA_TYPE = "application/problem+json"

TYPE_BASE = "urn:portfolio:problem:"
"""Problem types are URNs: ``urn:portfolio:problem:invalid-instance`` and so on."""

REQUEST = "<request>"
"""What ``errors[].file`` says for a parameter of the request itself."""

PROBLEM_TITLES = {
    "invalid-instance": "The instance is invalid",
    "unreadable-file": "The instance file cannot be read",
    "invalid-parameters": "Invalid request parameters",
    "unknown-backend": "Unknown backend",
    "backend-unavailable": "Backend not installed on this server",
    "missing-extra": "A component is not installed on this server",
    "body-too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "job-not-found": "No such job",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "job-not-finished": "The job has not finished",
    "internal-error": "Internal server error",
}


class Problem(Exception):
    """An error answer: raise it from a handler, the app turns it into problem JSON.

    Attributes:
        status: the HTTP status code.
        slug: the problem type's last part (``invalid-instance``, ...).
        detail: a sentence about this occurrence.
        errors: issues naming file, item and field (may be empty).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = [dict(e) for e in errors]

    def to_dict(self) -> dict[str, Any]:
        """The problem JSON."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": PROBLEM_TITLES.get(self.slug, self.slug.replace("-", " ").capitalize()),
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def issue_dict(issue: InputIssue) -> dict[str, str]:
    """One ``errors`` entry from a validation issue."""
    return {
        "file": issue.file,
        "item": issue.item,
        "field": issue.field,
        "message": issue.message,
    }


def parameter_error(field: str, message: str, item: str = "parameters") -> dict[str, str]:
    """One ``errors`` entry about a request parameter."""
    return {"file": REQUEST, "item": item, "field": field, "message": message}


def invalid_parameters(errors: Iterable[Mapping[str, Any]]) -> Problem:
    """422 for bad request parameters."""
    listed = list(errors)
    count = len(listed)
    head = f"{count} invalid parameter{'s' if count != 1 else ''}"
    detail = head + ": " + "; ".join(f"{e['field'] or e['item']}: {e['message']}" for e in listed)
    return Problem(422, "invalid-parameters", detail, listed)


def missing_extra(what: str, extra: str) -> Problem:
    """501 for a feature whose optional component is not installed."""
    return Problem(
        501,
        "missing-extra",
        f"{what} needs an optional component that is not installed on this server: "
        f"pip install 'portfolio[{extra}]'",
    )


def problem_from_error(exc: PortfolioError) -> Problem:
    """The problem for one of portfolio's own errors."""
    if isinstance(exc, ValidationError):
        return Problem(422, "invalid-instance", str(exc), [issue_dict(i) for i in exc.issues])
    if isinstance(exc, InstanceFileError):
        message = str(exc)
        prefix = f"{exc.file}: "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        entry = {"file": exc.file, "item": "file", "field": "", "message": message}
        return Problem(422, "unreadable-file", str(exc), [entry])
    if isinstance(exc, UnknownBackendError):
        return Problem(
            422, "unknown-backend", str(exc), [parameter_error("backend", str(exc))]
        )
    if isinstance(exc, BackendUnavailableError):
        return Problem(501, "backend-unavailable", str(exc))
    return Problem(422, "invalid-parameters", str(exc), [parameter_error("", str(exc))])


#: The JSON Schema of a problem, for the OpenAPI document.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["file", "item", "field", "message"],
                "properties": {
                    "file": {"type": "string"},
                    "item": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
