"""Output files: checked before any work, written atomically.

:func:`check_output_file` and :func:`check_output_dir` fail fast, before any solving, when a
result cannot be written where asked; :func:`write_atomic`, :func:`write_bytes_atomic` and
:func:`write_json` write through a temporary file and a rename, so a reader (or an interrupted
run) never sees a half-written file. Instance readers and writers (:mod:`portfolio.io`,
:mod:`portfolio.spreadsheet`) both use these; this module imports neither.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from portfolio.errors import OutputPathError


def _ends_with_separator(text: str) -> bool:
    return text.endswith("/") or text.endswith(os.sep) or bool(
        os.altsep and text.endswith(os.altsep)
    )


def _writable_folder(path: Path, shown: str) -> None:
    """Raise unless ``path`` (a folder to create or use) can be created and written to."""
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(shown, f"cannot be created: '{ancestor}' is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(shown, f"cannot write there: permission denied on '{ancestor}'")


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that a result file can be written at ``path``.

    Raises:
        OutputPathError: ``path`` names a folder (or ends with a separator), lies under a
            file, or in a folder without permission to write.
    """
    text = os.fspath(path)
    target = Path(text)
    if _ends_with_separator(text) or target.is_dir():
        raise OutputPathError(
            text, f"names a folder; give a file name, e.g. {target / 'result.json'}"
        )
    _writable_folder(target.parent if str(target.parent) else Path("."), text)
    return target


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that ``path`` is (or can be made) a folder to write results in.

    Raises:
        OutputPathError: ``path`` is an existing file, or lies where no folder can be created
            or written to.
    """
    text = os.fspath(path)
    target = Path(text)
    if target.exists() and not target.is_dir():
        raise OutputPathError(text, "is a file; --out names a folder for the results")
    _writable_folder(target, text)
    return target


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to ``path`` atomically: a temporary file in the same folder, then a rename.

    A reader (or an interrupted run) never sees a half-written file. See
    :func:`write_bytes_atomic` for the file's mode and for symbolic links.

    Raises:
        OutputPathError: ``path`` names a folder (or ends with a separator), or the file
            cannot be written (an ``OSError`` too).
    """
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write bytes to ``path`` atomically: a temporary file in the same folder, then a rename.

    The file gets the mode an ordinary write would give it: an existing file keeps its
    permissions, a new one gets ``0o666`` less the process umask (not the ``0o600`` of a bare
    temporary file). When ``path`` is a symbolic link, the file it points to is replaced and
    the link is kept (the write goes through the link, as ``open(path, "w")`` would).

    Raises:
        OutputPathError: ``path`` names a folder (or ends with a separator), or the file
            cannot be written (an ``OSError`` too).
    """
    if _ends_with_separator(os.fspath(path)) or Path(path).is_dir():
        raise OutputPathError(os.fspath(path), "is a folder; give a file name")
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputPathError):
            raise OutputPathError(str(target), f"cannot write: {exc.strerror or exc}") from exc
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
    """Write JSON atomically (2-space indent, no NaN: :func:`json_text`)."""
    write_atomic(path, json_text(data) + "\n")


def json_text(data: Any) -> str:
    """``json.dumps(data, indent=2, allow_nan=False)``: the same text, made several times faster.

    The standard library writes indented JSON with its pure-Python encoder (its C encoder only
    writes without indentation). A container whose items are all plain numbers, strings, booleans
    or None (``assignment``, ``options``, ``changes``, each check, each service's row) is instead
    written by the C encoder in one call, with the indentation of its depth as its item
    separator; a list of such mappings (the services' rows) likewise in one call, then
    re-indented at each boundary between rows (the text ``},`` + newline + the rows' indent +
    ``{`` occurs nowhere else: an encoded string holds no raw newline). Anything else (another
    type, a key that is not a string, NaN or infinity, a cycle) is left to ``json.dumps``, which
    writes it or raises exactly as it would have.
    """
    try:
        parts: list[str] = []
        _indented(data, 0, parts)
        return "".join(parts)
    except Exception:  # not a plain tree: the standard library's text (or its error)
        return json.dumps(data, indent=2, allow_nan=False)


#: The exact types the C encoder writes as a JSON scalar, as ``json.dumps`` does.
_SCALARS = frozenset({str, int, float, bool, type(None)})
#: Deepest nesting written here (results are shallow); deeper data goes to ``json.dumps``.
_MAX_DEPTH = 64
_ENCODERS: dict[int, json.JSONEncoder] = {}


class _NotPlain(Exception):
    """The data holds something :func:`json_text` leaves to ``json.dumps``."""


def _encoder(depth: int) -> json.JSONEncoder:
    """The C encoder whose item separator is a newline and the indent of items at ``depth``."""
    encoder = _ENCODERS.get(depth)
    if encoder is None:
        encoder = json.JSONEncoder(separators=(",\n" + "  " * depth, ": "), allow_nan=False)
        _ENCODERS[depth] = encoder
    return encoder


def _plain(values: Any) -> bool:
    return set(map(type, values)) <= _SCALARS


def _indented(value: Any, depth: int, out: list[str]) -> None:
    """Append ``value`` written at ``depth`` (its closing bracket's indent) to ``out``."""
    if depth > _MAX_DEPTH:
        raise _NotPlain
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        if not value:
            out.append("{}" if kind is dict else "[]")
            return
        inner = "\n" + "  " * (depth + 1)
        close = "\n" + "  " * depth
        if kind is dict:
            if set(map(type, value)) != {str}:
                raise _NotPlain
            if _plain(value.values()):
                text = _encoder(depth + 1).encode(value)
                out.append("{" + inner + text[1:-1] + close + "}")
                return
            out.append("{")
            separator = inner
            for key, item in value.items():
                out.append(separator)
                out.append(json.encoder.encode_basestring_ascii(key))
                out.append(": ")
                _indented(item, depth + 1, out)
                separator = "," + inner
            out.append(close + "}")
            return
        if _plain(value):
            text = _encoder(depth + 1).encode(value)
            out.append("[" + inner + text[1:-1] + close + "]")
            return
        if set(map(type, value)) == {dict} and all(value) and _plain_rows(value):
            rows = "\n" + "  " * (depth + 2)
            text = _encoder(depth + 2).encode(value)
            text = text[2:-2].replace("}," + rows + "{", inner + "}," + inner + "{" + rows)
            out.append("[" + inner + "{" + rows + text + inner + "}" + close + "]")
            return
        out.append("[")
        separator = inner
        for item in value:
            out.append(separator)
            _indented(item, depth + 1, out)
            separator = "," + inner
        out.append(close + "]")
        return
    if kind not in _SCALARS:
        raise _NotPlain
    out.append(_encoder(depth).encode(value))


def _plain_rows(rows: list[dict[str, Any]]) -> bool:
    """Every row has string keys and plain values only."""
    keys = set(map(type, itertools.chain.from_iterable(rows)))
    values = set(map(type, itertools.chain.from_iterable(map(dict.values, rows))))
    return keys == {str} and values <= _SCALARS
