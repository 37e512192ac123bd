"""Instance files (JSON, YAML, TOML, XLSX workbooks) to domain objects and back.

Reading is bounded: only regular files are read (a FIFO, a device or a folder is refused before
any byte is read), no file larger than :func:`max_file_size` (256 MB unless
``PORTFOLIO_MAX_FILE_SIZE`` or ``--max-file-size`` says otherwise), nothing nested deeper than
:data:`MAX_NESTING`, and, given a ``deadline``, reading, parsing and validating stop with
:class:`~portfolio.errors.ReadTimeLimitError` once it passes. Every format rejects duplicate keys
(naming the key and its line), accepts a UTF-8 byte-order mark, and YAML reads exponent numbers
such as ``1e6`` as numbers (YAML 1.2). YAML uses libyaml's C loader when it is installed.

Result files and other outputs are checked and written atomically by :mod:`portfolio.output`
(its functions are importable from here too). No solver is imported here.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import stat
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from portfolio.columnar import read_json, read_parsed
from portfolio.domain import Instance, check_references
from portfolio.errors import (
    InstanceFileError,
    PortfolioError,
    ReadTimeLimitError,
    ValidationError,
)
from portfolio.linear import gc_paused
from portfolio.output import check_output_dir as check_output_dir
from portfolio.output import check_output_file as check_output_file
from portfolio.output import current_umask as current_umask
from portfolio.output import write_atomic as write_atomic
from portfolio.output import write_bytes_atomic as write_bytes_atomic
from portfolio.output import write_json as write_json

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".xlsx": "xlsx"}

DEFAULT_MAX_FILE_SIZE = 256 * 1024 * 1024
"""Largest instance file read, in bytes, unless configured otherwise (256 MB)."""

MAX_FILE_SIZE_ENV = "PORTFOLIO_MAX_FILE_SIZE"
"""Environment variable that sets the largest instance file read (e.g. ``512MB``, ``1G``)."""

MAX_NESTING = 64
"""Deepest nesting of lists and mappings accepted; an instance needs fewer than ten levels."""

_CHUNK = 1 << 20
_ONE_READ = 64 << 20
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_BOM = "\ufeff"


# ---------------------------------------------------------------------- sizes
def parse_size(text: str) -> int:
    """A size in bytes from text such as ``1000000``, ``512K``, ``256MB`` or ``1.5G``.

    Units are powers of 1024 (K, M, G, T, with or without a trailing B or iB).

    Raises:
        ValueError: the text is not a positive size.
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if match is None:
        raise ValueError(f"expected a size such as 256MB or 1G, got '{text}'")
    size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size < 1:
        raise ValueError(f"the size must be positive, got '{text}'")
    return size


def max_file_size(explicit: int | None = None) -> int:
    """The largest instance file to read, in bytes: ``explicit`` if given, else the
    ``PORTFOLIO_MAX_FILE_SIZE`` environment variable, else :data:`DEFAULT_MAX_FILE_SIZE`.

    Raises:
        PortfolioError: the environment variable is not a size.
    """
    if explicit is not None:
        return explicit
    text = os.environ.get(MAX_FILE_SIZE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_FILE_SIZE
    try:
        return parse_size(text)
    except ValueError as exc:
        raise PortfolioError(f"{MAX_FILE_SIZE_ENV}: {exc}") from None


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:,.1f} MB" if size >= 1024**2 else f"{size:,} bytes"


# ---------------------------------------------------------------------- reading bytes
def read_bytes(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> bytes:
    """The bytes of an instance file, read within bounds.

    Args:
        path: the file.
        max_bytes: the largest size accepted (default: :func:`max_file_size`).
        deadline: a :func:`time.perf_counter` value after which reading stops.

    Raises:
        InstanceFileError: the file is missing, unreadable, not a regular file (a folder, a
            FIFO, a device) or larger than the limit.
        ReadTimeLimitError: the deadline passed while reading.
    """
    source = str(path)
    limit = max_file_size(max_bytes)
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InstanceFileError(source, "file not found") from None
    except IsADirectoryError:
        raise InstanceFileError(source, "is a directory, not an instance file") from None
    except OSError as exc:
        raise InstanceFileError(source, f"cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InstanceFileError(source, "is a directory, not an instance file")
        if not stat.S_ISREG(info.st_mode):
            raise InstanceFileError(
                source, f"is {_file_kind(info.st_mode)}, not a regular file: give an instance file"
            )
        if info.st_size > limit:
            raise InstanceFileError(source, _too_large(info.st_size, limit))
        chunks: list[bytes] = []
        total = 0
        # A file of up to _ONE_READ bytes comes in one read (and is not copied again by join).
        size = info.st_size + 1 if info.st_size < _ONE_READ else _CHUNK
        while True:
            if deadline is not None and time.perf_counter() > deadline:
                raise ReadTimeLimitError(source, "reading")
            chunk = os.read(fd, size)
            size = _CHUNK
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # the file grew while being read
                raise InstanceFileError(source, _too_large(total, limit))
        return b"".join(chunks)
    except OSError as exc:
        raise InstanceFileError(source, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is larger than the {_megabytes(limit)} limit (it has {_megabytes(size)} or "
        f"more); raise the limit with --max-file-size or {MAX_FILE_SIZE_ENV}"
    )


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark is accepted in every format
    except UnicodeDecodeError as exc:
        raise InstanceFileError(source, f"not UTF-8 text: {exc.reason}") from None


# ---------------------------------------------------------------------- parsing
def parse_text(
    text: str, fmt: str, source: str = "<data>", *, deadline: float | None = None
) -> Any:
    """Parse file contents in the given format (json, yaml or toml) into plain data.

    A leading byte-order mark is ignored; duplicate keys, nesting deeper than
    :data:`MAX_NESTING` and syntax errors are reported with their line.

    Args:
        text: the contents.
        fmt: json, yaml or toml.
        source: the file name used in messages.
        deadline: a :func:`time.perf_counter` value after which parsing stops (YAML only: the
            JSON and TOML parsers are fast enough to finish).

    Raises:
        InstanceFileError: the text is not valid in that format.
        ReadTimeLimitError: the deadline passed while parsing.
    """
    text = text.removeprefix(_BOM)
    try:
        if fmt == "json":
            data = _parse_json(text, source)
        elif fmt == "yaml":
            data = _parse_yaml(text, source, deadline)
        elif fmt == "toml":
            data = _parse_toml(text, source)
        else:
            raise InstanceFileError(source, f"unknown format '{fmt}' (use json, yaml or toml)")
    except RecursionError:
        raise InstanceFileError(source, _too_deep()) from None
    _check_nesting(data, source)
    return data


def _too_deep() -> str:
    return (
        f"lists or mappings are nested more than {MAX_NESTING} levels deep; an instance file "
        "needs fewer than ten"
    )


def _check_nesting(data: Any, source: str) -> None:
    """Raise when lists and mappings nest deeper than :data:`MAX_NESTING` (without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InstanceFileError(source, _too_deep())
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if _nests(child))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if _nests(child))


def _nests(value: Any) -> bool:
    return isinstance(value, dict | list)


def _snippet(text: str, line: int, column: int) -> str:
    """The offending line (1-based ``line``) with a caret under ``column``, on new lines."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    shown = lines[line - 1].replace("\t", " ")
    if len(shown) > 120:
        start = max(0, column - 60)
        shown = shown[start : start + 120]
        column -= start
    gutter = f"    {line} | "
    return f"\n{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * (column - 1)}^"


def _at(text: str, line: int, column: int, words: str) -> str:
    """'line L, column C: words' and the offending line."""
    return f"line {line}, column {column}: {words}{_snippet(text, line, column)}"


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _duplicate_message(text: str, key: str, position: int, first: int) -> str:
    line, column = _line_column(text, position)
    first_line, _ = _line_column(text, first)
    return f"duplicate key '{key}' at " + _at(
        text, line, column, _duplicate_words(first_line)
    )


def _duplicate_words(first_line: int | None) -> str:
    since = f"first given at line {first_line}; " if first_line is not None else ""
    return f"{since}remove one, otherwise the last would silently win"


# JSON -----------------------------------------------------------------
class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> int:
    """Like :func:`_unique_pairs` but builds nothing (a cheap pre-check of the fast path)."""
    if len({key for key, _ in pairs}) != len(pairs):
        _unique_pairs(pairs)
    return 0


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


def _json_duplicate(text: str) -> tuple[str, int, int] | None:
    """The first duplicate key of a JSON text: (key, its position, the first one's position)."""
    stack: list[dict[str, int] | None] = []
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == "{":
            stack.append({})
            expect_key = True
        elif token == "[":
            stack.append(None)
            expect_key = False
        elif token in "}]":
            if stack:
                stack.pop()
            expect_key = False
        elif token == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif token == ":":
            expect_key = False
        elif expect_key and stack and stack[-1] is not None:
            key = json.loads(token)
            seen = stack[-1]
            if key in seen:
                return key, match.start(), seen[key]
            seen[key] = match.start()
            expect_key = False
    return None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise InstanceFileError(
            source, f"invalid JSON at {_at(text, exc.lineno, exc.colno, exc.msg)}"
        ) from None
    except _DuplicateKey as exc:
        found = _json_duplicate(text)
        if found is None:
            raise InstanceFileError(source, f"duplicate key '{exc.key}'") from None
        raise InstanceFileError(source, _duplicate_message(text, *found)) from None


# TOML -----------------------------------------------------------------
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_NAME = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_TOML_KEY = re.compile(rf"^\s*\[*\s*({_TOML_NAME}(?:\s*\.\s*{_TOML_NAME})*)")


def _parse_toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_AT.search(message)
        if at is None:
            raise InstanceFileError(source, f"invalid TOML: {message}") from None
        line, column = int(at.group(1)), int(at.group(2))
        problem = message[: at.start()]
        if problem.startswith(("Cannot overwrite a value", "Cannot declare")):
            lines = text.splitlines()
            key = _TOML_KEY.match(lines[line - 1]) if 1 <= line <= len(lines) else None
            name = key.group(1).strip() if key else "?"
            column = key.start(1) + 1 if key else column
            words = _duplicate_words(None)
            raise InstanceFileError(
                source, f"duplicate key '{name}' at {_at(text, line, column, words)}"
            ) from None
        raise InstanceFileError(
            source, f"invalid TOML at {_at(text, line, column, problem)}"
        ) from None


# YAML -----------------------------------------------------------------
_YAML12_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$")
"""Numbers in exponent form YAML 1.1 reads as text (``1e6``, ``2.5E7``); YAML 1.2 floats."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _ParseTimeout(Exception):
    pass


@functools.cache
def yaml_loader(c_loader: bool = True) -> type[Any]:
    """The YAML loader class: safe loading, libyaml's C parser when available (and asked for),
    YAML 1.2 exponent floats, duplicate keys rejected, and a deadline checked as it goes."""
    import yaml

    c_base = getattr(yaml, "CSafeLoader", None) if c_loader else None
    base: type[Any] = c_base if c_base is not None else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc]
        deadline: float | None = None
        _resolved = 0

        def _tick(self) -> None:
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise _ParseTimeout

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            # Called for every node, by the C parser too (which composes the whole document
            # before anything is constructed): the place to watch the clock while composing.
            self._resolved += 1
            if not self._resolved & 1023:
                self._tick()
            return super().resolve(kind, value, implicit)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            self._tick()
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:
                    if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:
                        continue
                    if first is not key_node:
                        raise yaml.constructor.ConstructorError(
                            "first given", first.start_mark, f"duplicate key {key!r}",
                            key_node.start_mark,
                        )
            return super().construct_mapping(node, deep=deep)

    Loader.__name__ = Loader.__qualname__ = f"Portfolio{base.__name__}"
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_EXPONENT, list("-+0123456789."))
    return Loader


def _parse_yaml(text: str, source: str, deadline: float | None) -> Any:
    import yaml

    loader = yaml_loader()(text)
    loader.deadline = deadline
    try:
        return loader.get_single_data()
    except _ParseTimeout:
        raise ReadTimeLimitError(source, "parsing") from None
    except yaml.YAMLError as exc:
        raise InstanceFileError(source, _yaml_message(exc, text)) from None
    finally:
        loader.dispose()


#: Parser wording (PyYAML's and libyaml's) -> plain words.
_YAML_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("duplicate key",),
        "",
    ),
    (
        ("expected <block end>", "did not find expected key", "did not find expected '-'"),
        "this line is not indented like the lines around it (YAML nests by indentation: items "
        "of one list or mapping must start in the same column)",
    ),
    (
        ("mapping values are not allowed",),
        "a ':' where none can be: the line may be indented differently from the lines around "
        "it, or a value contains ': ' and needs quotes",
    ),
    (
        ("could not find expected ':'",),
        "a line without 'key: value' where a mapping entry is expected (a missing ':', or a "
        "line that belongs to the one above)",
    ),
    (
        ("expected ',' or ']'", "did not find expected ',' or ']'"),
        "a list in [...] is missing a ',' between items or its closing ']'",
    ),
    (
        ("expected ',' or '}'", "did not find expected ',' or '}'"),
        "a mapping in {...} is missing a ',' between entries or its closing '}'",
    ),
    (
        ("found unexpected end of stream",),
        "the file ends inside quoted text or brackets that are never closed",
    ),
    (("found undefined alias",), "an alias (*name) refers to no anchor (&name) defined before it"),
    (
        ("found unknown escape character",),
        "an unknown escape (backslash) in double-quoted text: use single quotes, or write \\\\",
    ),
    (("expected <document start>",), "text after the end of the document"),
    (("exceeded maximum nesting depth",), _too_deep()),
    (
        ("could not determine a constructor",),
        "a YAML tag that safe loading does not allow: an instance file holds plain data only",
    ),
)


def _yaml_message(exc: Exception, text: str) -> str:
    """A YAML error in plain words with the line, the column and the offending line."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_column(text, exc.position)
        char = exc.character
        code = f"U+{ord(char):04X}" if isinstance(char, str) else f"byte 0x{char:02x}"
        words = f"a character YAML does not allow ({code})"
        return f"invalid YAML at {_at(text, line, column, words)}"
    problem = str(getattr(exc, "problem", None) or "")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    words = problem or str(exc)
    for needles, plain in _YAML_WORDS:
        if any(needle in problem for needle in needles):
            words = plain or problem
            break
    if "cannot start any token" in problem:
        line_text = text.splitlines()[mark.line] if mark is not None else ""
        words = (
            "a tab character: YAML indentation must use spaces"
            if "\t" in line_text
            else "a character that cannot start a value here (put the value in quotes)"
        )
    if mark is None:
        return f"invalid YAML: {words}"
    if problem.startswith("duplicate key"):
        first = getattr(exc, "context_mark", None)
        words = _duplicate_words(first.line + 1 if first is not None else None)
        return f"{problem} at {_at(text, mark.line + 1, mark.column + 1, words)}"
    return f"invalid YAML at {_at(text, mark.line + 1, mark.column + 1, words)}"


# ---------------------------------------------------------------------- files
def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a file from its suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return SUFFIXES[suffix]
    except KeyError:
        raise InstanceFileError(
            str(path), f"unknown file type '{suffix}': use .json, .yaml, .yml, .toml or .xlsx"
        ) from None


def read_data(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> Any:
    """Read and parse an instance file into plain data (dicts and lists).

    A workbook is validated as it is read (its issues name sheets and cells) and given as the
    instance's data.

    Args:
        path: the file.
        max_bytes: the largest size accepted (default: :func:`max_file_size`).
        deadline: a :func:`time.perf_counter` value after which reading stops.

    Raises:
        InstanceFileError: the file cannot be read or parsed.
        ReadTimeLimitError: the deadline passed.
    """
    source = str(path)
    fmt = file_format(path)
    if fmt == "xlsx":
        return instance_data(load_instance(path, max_bytes=max_bytes, deadline=deadline))
    raw = read_bytes(path, max_bytes=max_bytes, deadline=deadline)
    return parse_text(_decode(raw, source), fmt, source, deadline=deadline)


def load_instance(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> Instance:
    """Read, parse and validate an instance file.

    JSON files take the fast reader first (:func:`portfolio.columnar.read_json`: the options
    checked a column at a time, the instance keeps them as columns too); a file it does not
    accept is validated straight from its bytes by pydantic's own parser, after a check for
    duplicate keys; should validation fail, the file is parsed again into plain data to report
    every issue with the item's id. The garbage collector is paused while the objects are built.

    Args:
        path: the file.
        max_bytes: the largest size accepted (default: :func:`max_file_size`).
        deadline: a :func:`time.perf_counter` value; past it, :class:`ReadTimeLimitError`.

    Raises:
        InstanceFileError: the file cannot be read or parsed.
        ValidationError: the contents are invalid; every issue names the file, item and field.
        ReadTimeLimitError: the deadline passed while reading, parsing or validating.
    """
    source = str(path)
    fmt = file_format(path)
    raw = read_bytes(path, max_bytes=max_bytes, deadline=deadline)
    if fmt == "xlsx":
        from portfolio.spreadsheet import read_workbook

        workbook = read_workbook(io.BytesIO(raw), name=source)
        _check_deadline(deadline, source, "validating")
        return workbook
    with gc_paused():
        if fmt == "json":
            raw = raw.removeprefix(codecs.BOM_UTF8)
            fast = read_json(raw, source, **_until(deadline))
            if fast is None:
                _check_deadline(deadline, source, "validating")
                fast = _validate_json_bytes(raw, source, deadline)
            if fast is not None:
                _check_deadline(deadline, source, "validating")
                return fast
        _check_deadline(deadline, source, "parsing")
        data = parse_text(_decode(raw, source), fmt, source, deadline=deadline)
        _check_deadline(deadline, source, "parsing")
        fast = read_parsed(data, source, **_until(deadline)) if fmt != "json" else None
        _check_deadline(deadline, source, "validating")
        instance = fast if fast is not None else Instance.from_data(data, source=source)
    _check_deadline(deadline, source, "validating")
    return instance


def _check_deadline(deadline: float | None, source: str, stage: str) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise ReadTimeLimitError(source, stage)


def _until(deadline: float | None) -> dict[str, float]:
    """The fast readers' ``deadline`` argument, when there is one (without one they are
    called with the file alone, as a caller that replaces them expects)."""
    return {} if deadline is None else {"deadline": deadline}


def _validate_json_bytes(
    raw: bytes, source: str, deadline: float | None = None
) -> Instance | None:
    """Validate JSON bytes with pydantic's parser; None when they are not a valid instance
    or hold a duplicate key (the caller then takes the slow path, which names every issue's
    item by its id, or the duplicate key and its line)."""
    try:
        json.loads(raw, object_pairs_hook=_no_duplicates)
    except (ValueError, _DuplicateKey, RecursionError):
        return None
    _check_deadline(deadline, source, "validating")
    try:
        instance = Instance.model_validate_json(raw)
    except pydantic.ValidationError:
        return None
    issues = check_references(instance, source)
    if issues:
        raise ValidationError(issues)
    return instance


def instance_from_data(
    data: Mapping[str, Any] | str,
    fmt: str | None = None,
    source: str = "<data>",
    *,
    deadline: float | None = None,
) -> Instance:
    """Validate an instance given as plain data, or as text in ``fmt`` (json, yaml or toml).

    Raises:
        InstanceFileError: the text cannot be parsed.
        ValidationError: the contents are invalid.
        ReadTimeLimitError: ``deadline`` (a :func:`time.perf_counter` value) passed.
    """
    with gc_paused():
        if isinstance(data, str):
            data = parse_text(data, fmt or "json", source, deadline=deadline)
            _check_deadline(deadline, source, "parsing")
        instance = Instance.from_data(data, source=source)
    _check_deadline(deadline, source, "validating")
    return instance


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
