"""Instance files (JSON, YAML, TOML, XLSX workbooks) to domain objects and back, and result files
written atomically.

No solver is imported here.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from portfolio.domain import Instance, check_references
from portfolio.errors import InstanceFileError, ValidationError

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".xlsx": "xlsx"}


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
            str(path), f"unknown file type '{suffix}': use .json, .yaml, .yml, .toml or .xlsx"
        ) from None


def read_data(path: str | os.PathLike[str]) -> Any:
    """Read and parse an instance file into plain data (dicts and lists).

    A workbook is validated as it is read (its issues name sheets and cells) and given as the
    instance's data.
    """
    source = str(path)
    fmt = file_format(path)
    if fmt == "xlsx":
        return instance_data(load_instance(path))
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
    if file_format(path) == "xlsx":
        from portfolio.spreadsheet import read_workbook

        return read_workbook(path)
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

    A reader (or an interrupted run) never sees a half-written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
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


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (2-space indent, no NaN)."""
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


# ---------------------------------------------------------------------- instance files out
def instance_data(instance: Instance) -> dict[str, Any]:
    """The instance as plain data (JSON types), fields at their default left out.

    :meth:`Instance.from_data` of the result gives back an equal instance.
    """
    data: dict[str, Any] = instance.model_dump(mode="json", exclude_defaults=True)
    return data


def workbook_json(path: str | os.PathLike[str]) -> str:
    """A workbook's instance as JSON text (for handing to a worker process that reads text).

    Raises:
        InstanceFileError, ValidationError: as :func:`load_instance`.
    """
    return dump_instance(load_instance(path), "json")


def dump_instance(instance: Instance, fmt: str) -> str:
    """The instance as the text of an instance file in ``fmt`` (json, yaml or toml)."""
    data = instance_data(instance)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "yaml":
        import yaml

        text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        return text
    if fmt == "toml":
        return toml_dumps(data)
    raise InstanceFileError("<output>", f"unknown format '{fmt}' (use json, yaml, toml or xlsx)")


def write_instance(instance: Instance, path: str | os.PathLike[str]) -> None:
    """Write the instance atomically in the format of ``path``'s suffix (.json, .yaml, .yml,
    .toml or .xlsx)."""
    fmt = file_format(path)
    if fmt == "xlsx":
        from portfolio.spreadsheet import write_instance_workbook

        write_instance_workbook(instance, path)
        return
    write_atomic(path, dump_instance(instance, fmt))


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML text of plain data (no None values): tables for mappings, arrays of tables for lists
    of mappings, inline values for everything else."""
    lines: list[str] = []
    _toml_table(data, [], lines, array=False)
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_table(table: Mapping[str, Any], path: list[str], lines: list[str], array: bool) -> None:
    def is_table(value: Any) -> bool:
        return isinstance(value, Mapping)

    def is_table_array(value: Any) -> bool:
        return (
            isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
        )

    if path:
        dotted = ".".join(_toml_key(part) for part in path)
        lines.append("")
        lines.append(f"[[{dotted}]]" if array else f"[{dotted}]")
    for key, value in table.items():
        if value is None or is_table(value) or is_table_array(value):
            continue
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if is_table(value):
            _toml_table(value, [*path, key], lines, array=False)
    for key, value in table.items():
        if is_table_array(value):
            for item in value:
                _toml_table(item, [*path, key], lines, array=True)


def _toml_key(key: str) -> str:
    if key and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in key):
        return key
    return _toml_string(key)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
