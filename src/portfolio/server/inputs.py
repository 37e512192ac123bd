"""Reading what a request sends: solve parameters and instances (no web framework here).

Parameters (``objective``, ``backend``, ``time_limit``, ``gap``, ``threads``, ``seed``,
``prefer``) may come
from the query string, from form fields or from a JSON body; all three are validated by the same
model, so they are named the same way in errors. Instances may come as JSON data or as the bytes
of a file (YAML, TOML, JSON or an XLSX workbook).
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from portfolio.backends import backend_names
from portfolio.backends.base import DEFAULT_BACKEND
from portfolio.domain import Instance
from portfolio.errors import InstanceFileError
from portfolio.io import parse_text
from portfolio.params import DEFAULT_REL_GAP, SolveParams
from portfolio.server.problems import Problem, invalid_parameters, missing_extra, parameter_error
from portfolio.server.settings import ServerSettings

PARAMETER_NAMES = ("objective", "backend", "time_limit", "gap", "threads", "seed", "prefer")
"""The solve parameters a request may give."""

MAX_SEED = 2**31 - 1
MAX_THREADS = 256

XLSX = "xlsx"
XLSX_EXTRA = "xlsx"
"""The extra that installs workbook support."""

FILE_SUFFIXES = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".xlsx": XLSX,
}
"""File suffix -> format of an uploaded instance."""

MEDIA_TYPES = {
    "application/json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/toml": "toml",
    "text/x-toml": "toml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
}
"""Media type -> format, for uploads without a telling file name and for raw bodies."""


class SolveParameters(BaseModel):
    """Parameters of a solve, as a request gives them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    objective: str | dict[str, Any] | None = None
    """Override the instance's objective: ``maximise_outcome``, ``minimise_cost`` or a weighted
    objective such as ``{"maximise": {"outcome": 1, "social_value": 0.2}}`` (JSON text in a
    query string or form field)."""
    backend: str = DEFAULT_BACKEND
    """Solver backend (see ``GET /v1/backends``)."""
    time_limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Seconds; capped by the server's ``--max-time-limit``, which is also the default."""
    gap: float | None = Field(default=None, ge=0, lt=1, allow_inf_nan=False)
    """Relative optimality gap (default 1e-7)."""
    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    """Solver threads (at most the server's cores are used)."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Solver random seed."""
    prefer: Literal["changes", "none"] = "changes"
    """Among plans as good as the one found, report one with the fewest changes, then the least
    one-off money (``changes``), or the plan as found (``none``)."""

    @field_validator("objective", mode="before")
    @classmethod
    def _objective_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc.msg}") from None
        return value

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        names = backend_names()
        if value not in names:
            raise ValueError(f"unknown backend '{value}': use one of {', '.join(names)}")
        return value

    def solve_params(self, settings: ServerSettings) -> SolveParams:
        """The :class:`SolveParams` to solve with: the time limit capped by the server's, the
        threads by its cores."""
        cap = settings.max_time_limit
        limit = cap if self.time_limit is None else min(self.time_limit, cap)
        cores = os.cpu_count() or 1
        return SolveParams(
            time_limit=limit,
            rel_gap=self.gap if self.gap is not None else DEFAULT_REL_GAP,
            threads=None if self.threads is None else min(self.threads, cores),
            seed=self.seed,
            prefer=self.prefer,
        )


def parameters_from(*sources: Mapping[str, Any]) -> SolveParameters:
    """Validate parameters gathered from several places; later sources win.

    Raises:
        Problem: 422 naming every bad parameter.
    """
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update({k: v for k, v in source.items() if v is not None})
    try:
        return SolveParameters.model_validate(merged)
    except pydantic.ValidationError as exc:
        raise invalid_parameters(pydantic_errors(exc)) from None


def pydantic_errors(
    exc: pydantic.ValidationError, item: str = "parameters"
) -> list[dict[str, str]]:
    """``errors`` entries from a pydantic error about request parameters."""
    entries = []
    for error in exc.errors(include_url=False):
        loc = [str(p) for p in error["loc"] if not str(p).startswith(("function", "literal"))]
        field = ".".join(loc)
        message = str(error.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error.get("type") == "extra_forbidden":
            message = f"unknown parameter (expected one of: {', '.join(PARAMETER_NAMES)})"
        entries.append(parameter_error(field, message, item))
    return entries


def file_format(filename: str | None, media_type: str | None) -> str:
    """The format of an upload, from its file name or else its media type.

    Raises:
        InstanceFileError: neither says which format it is.
    """
    name = filename or "<upload>"
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in FILE_SUFFIXES:
        return FILE_SUFFIXES[suffix]
    base = (media_type or "").split(";")[0].strip().lower()
    if base in MEDIA_TYPES:
        return MEDIA_TYPES[base]
    raise InstanceFileError(
        name,
        f"unknown file type '{suffix or base or '?'}': use .json, .yaml, .yml, .toml or .xlsx",
    )


def instance_from_bytes(
    content: bytes, fmt: str, source: str, objective: str | dict[str, Any] | None = None
) -> Instance:
    """Parse and validate an instance sent as a file.

    Raises:
        InstanceFileError, ValidationError: the file is unreadable or invalid (every issue named).
        Problem: 501 when a workbook is sent and workbook support is not installed.
    """
    if fmt == XLSX:
        instance = _read_workbook(content, source)
        if objective is None:
            return instance
        data = instance.model_dump(mode="json", exclude_none=True)
        return instance_from_data(data, source, objective)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceFileError(source, f"not UTF-8 text: {exc.reason}") from None
    return instance_from_data(parse_text(text, fmt, source), source, objective)


def instance_from_data(
    data: Any, source: str, objective: str | dict[str, Any] | None = None
) -> Instance:
    """Validate instance data, with the objective overridden when one is given."""
    if objective is not None and isinstance(data, Mapping):
        data = {**data, "objective": objective}
    return Instance.from_data(data, source=source)


def workbooks_available() -> bool:
    """Workbook support (``portfolio[xlsx]``: openpyxl) is installed."""
    return importlib.util.find_spec("openpyxl") is not None


def _read_workbook(content: bytes, source: str) -> Instance:
    if not workbooks_available():
        raise missing_extra("Reading an XLSX workbook", XLSX_EXTRA)
    from portfolio.spreadsheet import read_workbook

    return read_workbook(io.BytesIO(content), name=source)


def validation_summary(instance: Instance, source: str) -> dict[str, Any]:
    """What ``POST /v1/validate`` answers for a valid instance (the CLI's counts)."""
    options = sum(len(s.options) for s in instance.services)
    services, modes = len(instance.services), len(instance.modes)
    return {
        "valid": True,
        "file": source,
        "name": instance.name,
        "services": services,
        "modes": modes,
        "options": options,
        "message": f"{source}: valid ({services} services, {modes} modes, {options} options)",
    }


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its name, media type and bytes."""

    filename: str
    media_type: str | None
    content: bytes


def finite_json(data: Any) -> bool:
    """True when data holds no NaN or infinite float (JSON cannot carry them)."""
    if isinstance(data, float):
        return math.isfinite(data)
    if isinstance(data, Mapping):
        return all(finite_json(v) for v in data.values())
    if isinstance(data, list | tuple):
        return all(finite_json(v) for v in data)
    return True


__all__ = [
    "PARAMETER_NAMES",
    "Problem",
    "SolveParameters",
    "Upload",
    "file_format",
    "finite_json",
    "instance_from_bytes",
    "instance_from_data",
    "parameters_from",
    "validation_summary",
]
