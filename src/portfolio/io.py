"""Instance files (JSON, YAML, TOML) to domain objects, and result files written atomically.

No solver is imported here.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from portfolio.domain import Instance, check_references
from portfolio.errors import InstanceFileError, ValidationError

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


def parse_text(text: str, fmt: str, source: str = "<data>") -> Any:
    """Parse file contents in the given format (json, yaml or toml) into plain data.

    Raises:
        InstanceFileError: the text is not valid in that format.
    """
    try:
        if fmt == "json":
            return json.loads(text)
        if fmt == "yaml":
            import yaml

            return yaml.safe_load(text)
        if fmt == "toml":
            return tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceFileError(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InstanceFileError(source, f"invalid TOML: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and friends
        if type(exc).__module__.startswith("yaml"):
            raise InstanceFileError(source, f"invalid YAML: {exc}") from None
        raise
    raise InstanceFileError(source, f"unknown format '{fmt}' (use json, yaml or toml)")


def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a file from its suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return SUFFIXES[suffix]
    except KeyError:
        raise InstanceFileError(
            str(path), f"unknown file type '{suffix}': use .json, .yaml, .yml or .toml"
        ) from None


def read_data(path: str | os.PathLike[str]) -> Any:
    """Read and parse an instance file into plain data (dicts and lists)."""
    source = str(path)
    fmt = file_format(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstanceFileError(source, "file not found") from None
    except IsADirectoryError:
        raise InstanceFileError(source, "is a directory, not an instance file") from None
    except UnicodeDecodeError as exc:
        raise InstanceFileError(source, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise InstanceFileError(source, exc.strerror or str(exc)) from None
    return parse_text(text, fmt, source)


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Read, parse and validate an instance file.

    JSON files are validated straight from their bytes by pydantic's own parser (no intermediate
    dicts: about twice as fast and half the memory on large files); should that fail, the file is
    parsed again into plain data to report every issue with the item's id.

    Raises:
        InstanceFileError: the file cannot be read or parsed.
        ValidationError: the contents are invalid; every issue names the file, item and field.
    """
    source = str(path)
    if file_format(path) == "json":
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise InstanceFileError(source, "file not found") from None
        except IsADirectoryError:
            raise InstanceFileError(source, "is a directory, not an instance file") from None
        except OSError as exc:
            raise InstanceFileError(source, exc.strerror or str(exc)) from None
        fast = _validate_json_bytes(raw, source)
        if fast is not None:
            return fast
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InstanceFileError(source, f"not UTF-8 text: {exc.reason}") from None
        return Instance.from_data(parse_text(text, "json", source), source=source)
    return Instance.from_data(read_data(path), source=source)


def _validate_json_bytes(raw: bytes, source: str) -> Instance | None:
    """Validate JSON bytes with pydantic's parser; None when they are not a valid instance
    (the caller then takes the slow path, which names every issue's item by its id)."""
    try:
        instance = Instance.model_validate_json(raw)
    except pydantic.ValidationError:
        return None
    issues = check_references(instance, source)
    if issues:
        raise ValidationError(issues)
    return instance


def instance_from_data(
    data: Mapping[str, Any] | str, fmt: str | None = None, source: str = "<data>"
) -> Instance:
    """Validate an instance given as plain data, or as text in ``fmt`` (json, yaml or toml)."""
    if isinstance(data, str):
        data = parse_text(data, fmt or "json", source)
    return Instance.from_data(data, source=source)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to ``path`` atomically: a temporary file in the same folder, then a rename.

    A reader (or an interrupted run) never sees a half-written file. See
    :func:`write_bytes_atomic` for the file's mode and for symbolic links.
    """
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write bytes to ``path`` atomically: a temporary file in the same folder, then a rename.

    The file gets the mode an ordinary write would give it: an existing file keeps its
    permissions, a new one gets ``0o666`` less the process umask (not the ``0o600`` of a bare
    temporary file). When ``path`` is a symbolic link, the file it points to is replaced and
    the link is kept (the write goes through the link, as ``open(path, "w")`` would).
    """
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if tmp:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux 4.7+);
    elsewhere it is set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (2-space indent, no NaN)."""
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
