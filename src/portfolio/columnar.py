"""The options of an instance as numpy columns, and the fast JSON reader that builds them.

:func:`read_json` validates a JSON instance file without pydantic's per-option validators: it
parses with msgspec's JSON decoder (the ``fast`` extra; else pydantic-core's ``from_json``),
checks the services and options a column at a time (types, ranges, finiteness, ids, references,
the current option, statutory services, required flexibility, duplicate keys), lets pydantic
validate everything else (modes, constraints, objective, horizon, scenarios, ...), and builds
the domain objects without validating them again.
It returns None at the first thing it does not accept, and the caller then takes the full pydantic
path, so every error message (file, service id, ``options[i].field``) is exactly the one that path
gives; accepted files give an instance equal to the one the full path gives (tested).

The instance read this way holds its options as :class:`OptionColumns` only
(:func:`columns_of`, :func:`option_columns`): a service's ``Option`` objects are built from the
:class:`OptionStore` the first time anything asks for them
(:class:`portfolio.domain.UnbuiltOptions`), exactly as validation builds them.
:class:`portfolio.table.OptionTable` reads the columns.

Memory: the parsed file is freed before the service objects are built, and what the services
keep is copied out of it (numpy arrays, then fresh objects), so that it is not scattered over the
memory the parse held and that memory goes back to the system; strings are parsed without
pydantic-core's value cache, which would keep up to 16k parsed strings alive for the same reason
(about 620 MB resident after reading 100k services, 260 MB without both).

Decisions: non-ASCII or unusual ids are left to the full path (correct, only slower); so are
texts with a NUL character (a numpy text array drops one at the end); a duplicate key is ruled
out by counting the colons of the text against the keys parsed (each colon outside a string
follows a key: equal counts prove there is no duplicate), and when they differ by counting the
key tokens (every key ends with ``"`` and ``:``; a ``":`` inside a string is escaped): unequal
counts send the file to the full path, which names the duplicate key and its line. Number
columns are type-checked by ``array.array`` in C (it refuses text, null, lists and mappings; it
takes ``true``/``false`` as 1 and 0, so the values equal to 0 or 1 are looked at one by one),
and value by value when that fails. The reader makes one pass over the options per field they
give, and looks at its deadline between passes.
"""

from __future__ import annotations

import array
import math
import operator
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydantic
import pydantic_core

from portfolio.domain import (
    MAX_MAGNITUDE,
    OPTION_FIGURES,
    Instance,
    Option,
    Service,
    UnbuiltOptions,
    check_references,
    is_per_year,
)
from portfolio.errors import ReadTimeLimitError, ValidationError
from portfolio.linear import BoolArray, FloatArray, IntArray, gc_paused


@dataclass(frozen=True, kw_only=True)
class OptionColumns:
    """The options of every service as columns (services in file order, then their options).

    Attributes:
        mode_ids: the instance's mode ids, in file order.
        first_option: index of each service's first option (length services + 1).
        mode: mode index (into ``mode_ids``) of each option.
        annual_cost, transition_cost, outcome, indexation: the option's figures.
        flexibility, social_value, risk, staff_transferred: the figure, NaN where not given.
        contract_years: contract length, 0 where not given.
        lead_time_years: lead time, -1 where not given.
        current: the option is marked ``current``.
        metrics: each metric name's values, NaN where an option does not have it.
        annual_cost_years: the yearly costs of the options that give ``annual_cost`` as a list
            (options x horizon years; NaN rows for the options that give one number), None when
            no option gives a list. ``annual_cost`` holds a list's first value.
        labels: each option's ``label`` (None where not given); None when no option has one.
    """

    mode_ids: tuple[str, ...]
    first_option: IntArray
    mode: IntArray
    annual_cost: FloatArray
    transition_cost: FloatArray
    outcome: FloatArray
    indexation: FloatArray
    flexibility: FloatArray
    social_value: FloatArray
    risk: FloatArray
    staff_transferred: FloatArray
    contract_years: IntArray
    lead_time_years: IntArray
    current: BoolArray
    metrics: dict[str, FloatArray] = field(default_factory=dict)
    annual_cost_years: FloatArray | None = None
    labels: tuple[str | None, ...] | None = None

    @property
    def num_options(self) -> int:
        """Number of options."""
        return int(self.mode.shape[0])

    def current_options(self, current_mode: IntArray) -> IntArray:
        """Global index of each service's current option, as
        :func:`~portfolio.domain.current_option_index` gives it: the option marked ``current``,
        else the first in the service's current mode, else the service's first option.

        Args:
            current_mode: each service's current mode (index into ``mode_ids``).
        """
        n = self.num_options
        starts = self.first_option[:-1]
        service = np.repeat(np.arange(len(starts), dtype=np.int64), np.diff(self.first_option))
        index = np.arange(n, dtype=np.int64)
        marked = np.minimum.reduceat(np.where(self.current, index, n), starts)
        in_mode = np.minimum.reduceat(np.where(self.mode == current_mode[service], index, n),
                                      starts)
        chosen = np.where(marked < n, marked, np.where(in_mode < n, in_mode, starts))
        return chosen.astype(np.int64)

    def figure(self, name: str) -> FloatArray:
        """A named figure of every option, as :meth:`portfolio.domain.Option.figure` gives it:
        the option's field (0 where not given), else its metric (0 where absent)."""
        if name in ("contract_years", "lead_time_years"):
            values = getattr(self, name).astype(np.float64)
            return np.where(values > 0 if name == "contract_years" else values >= 0, values, 0.0)
        if name in OPTION_FIGURES:
            column: FloatArray = getattr(self, name)
        else:
            column = self.metrics.get(name, np.zeros(self.num_options))
        return np.where(np.isnan(column), 0.0, column)

    def annual_cost_in_year(self, options: IntArray, year: int) -> FloatArray:
        """The annual cost of some options in 0-based horizon year ``year``, as
        :meth:`portfolio.domain.Option.annual_cost_in_year` gives it (the same floats): a list's
        entry, else ``annual_cost * (1 + indexation)**year`` with the factor taken in Python.

        Args:
            options: global option indices (any shape).
            year: 0-based horizon year (within the lists' length).
        """
        cost = self.annual_cost[options]
        if year:
            rates, which = np.unique(self.indexation[options], return_inverse=True)
            factors = np.array([(1.0 + rate) ** year for rate in rates.tolist()], np.float64)
            cost = cost * factors[which.reshape(cost.shape)]
        listed = self.annual_cost_years
        if listed is not None:  # the options that give a list of yearly costs
            given = listed[options, year]
            cost = np.where(np.isnan(given), cost, given)
        return cost


_COLUMNS: dict[int, tuple[weakref.ref[Instance], list[Service], OptionColumns]] = {}


def _forget(key: int) -> Any:
    def callback(_: Any) -> None:
        _COLUMNS.pop(key, None)

    return callback


def remember_columns(instance: Instance, columns: OptionColumns) -> None:
    """Keep ``columns`` as the option columns of ``instance`` (for as long as it lives)."""
    key = id(instance)
    _COLUMNS[key] = (weakref.ref(instance, _forget(key)), instance.services, columns)


def columns_of(instance: Instance) -> OptionColumns | None:
    """The option columns of an instance read by :func:`read_json`, else None.

    None too when the instance's services or modes are no longer those the columns were built
    from (a copy with other services, say).
    """
    entry = _COLUMNS.get(id(instance))
    if entry is None:
        return None
    ref, services, columns = entry
    if ref() is not instance or instance.services is not services:
        return None
    if tuple(mode.id for mode in instance.modes) != columns.mode_ids:
        return None
    return columns


def option_columns(instance: Instance) -> OptionColumns:
    """The option columns of any instance: those :func:`read_json` kept, else built from the
    option objects (and kept for as long as the instance lives).

    A per-year ``annual_cost`` list gives its first year's value in ``annual_cost`` (as
    :meth:`portfolio.domain.Option.figure` does); the other years are the option's
    (:meth:`portfolio.domain.Option.annual_cost_in_year`).
    """
    stored = columns_of(instance)
    if stored is not None:
        return stored
    mode_ids = tuple(mode.id for mode in instance.modes)
    mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
    services = instance.services
    counts = np.fromiter((len(s.options) for s in services), np.int64, len(services))
    options = [option for service in services for option in service.options]
    n = len(options)

    def floats(name: str) -> FloatArray:
        return np.fromiter((o.figure(name) if getattr(o, name) is not None else np.nan
                            for o in options), np.float64, n)

    def counts_of(name: str, missing: int) -> IntArray:
        return np.fromiter((missing if getattr(o, name) is None else getattr(o, name)
                            for o in options), np.int64, n)

    names = sorted({name for o in options for name in o.metrics})
    listed = [i for i, o in enumerate(options) if is_per_year(o.annual_cost)]
    years_matrix = None
    if listed:
        width = len(options[listed[0]].annual_cost)  # type: ignore[arg-type]
        years_matrix = np.full((n, width), np.nan)
        for i in listed:
            years_matrix[i] = options[i].annual_cost
    labels = tuple(o.label for o in options)
    columns = OptionColumns(
        mode_ids=mode_ids,
        first_option=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        mode=np.fromiter((mode_index[o.mode] for o in options), np.int64, n),
        annual_cost=floats("annual_cost"), transition_cost=floats("transition_cost"),
        outcome=floats("outcome"), indexation=floats("indexation"),
        flexibility=floats("flexibility"), social_value=floats("social_value"),
        risk=floats("risk"), staff_transferred=floats("staff_transferred"),
        contract_years=counts_of("contract_years", 0),
        lead_time_years=counts_of("lead_time_years", -1),
        current=np.fromiter((o.current for o in options), np.bool_, n),
        metrics={name: np.fromiter((o.metrics.get(name, np.nan) for o in options),
                                   np.float64, n) for name in names},
        annual_cost_years=years_matrix,
        labels=labels if any(label is not None for label in labels) else None,
    )
    remember_columns(instance, columns)
    return columns


# ---------------------------------------------------------------------- the fast reader
class _Refused(Exception):
    """The fast reader does not accept the file: the full path decides."""


_REQUIRED = -math.inf  # the default of a required field (no default)
_KEY_GAP = re.compile(rb'"[ \t\r\n]+:')
_NUMBER = (int, float)
_OPTION_FIELDS = tuple(Option.model_fields)
_SERVICE_FIELDS = tuple(Service.model_fields)
if _SERVICE_FIELDS != ("id", "current_mode", "options", "name", "group", "weight", "statutory",
                       "current_contract_end", "termination_cost"):  # pragma: no cover
    raise ImportError("columnar._services builds a Service's fields in their old order")
_OPTION_KEYS = frozenset(_OPTION_FIELDS)
if _OPTION_KEYS != {"mode", "annual_cost", "outcome", "transition_cost", "flexibility",
                    "indexation", "social_value", "risk", "staff_transferred", "contract_years",
                    "lead_time_years", "label", "current", "metrics"}:  # pragma: no cover
    raise ImportError("columnar._build reads every option field: a new one needs a pass")
_SERVICE_KEYS = frozenset(_SERVICE_FIELDS)
_FIGURE_KEYS = frozenset(OPTION_FIGURES)
_PLACEHOLDER = {"id": "_", "current_mode": "_", "options": [{"mode": "_", "annual_cost": 0.0,
                                                              "outcome": 0.0}]}


def _template(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` in order, at its default (None for required fields)."""
    return {
        name: None if info.is_required() else info.get_default(call_default_factory=False)
        for name, info in model.model_fields.items()
    }


def read_json(
    raw: bytes, source: str = "<data>", *, deadline: float | None = None
) -> Instance | None:
    """Validate a JSON instance file's bytes the fast way; None when the full path must decide.

    Args:
        raw: the file's bytes (no byte-order mark).
        source: the file name used in messages.
        deadline: a :func:`time.perf_counter` value; it is looked at between the reader's
            passes (parsing, then each column), and once it has passed the reader stops.

    Raises:
        ValidationError: only from the reference checks of the parts pydantic validated here
            (``constraints``, ``objective``, scenarios, ...), exactly as the full path raises it.
        ReadTimeLimitError: the deadline passed.
    """
    clock = _Clock(deadline, source)
    with gc_paused():
        try:
            data = _decode(raw)
        except (ValueError, RecursionError):
            return None
        clock.check("parsing")
        return _validated(data, raw, source, clock)


def read_parsed(
    data: Any, source: str = "<data>", *, deadline: float | None = None
) -> Instance | None:
    """As :func:`read_json`, for a file already parsed (YAML, TOML) by a parser that rejects
    duplicate keys. The data are consumed when the instance is built (the options' mappings
    are taken out of their lists): give only data no one else holds.

    Raises:
        ValidationError: as :func:`read_json`.
        ReadTimeLimitError: as :func:`read_json`.
    """
    with gc_paused():
        return _validated(data, None, source, _Clock(deadline, source))


def _pydantic_decode(raw: bytes) -> Any:
    """JSON bytes as plain data, by pydantic-core's parser (dict keys shared, other strings not
    cached: its cache would keep up to 16k parsed strings alive)."""
    return pydantic_core.from_json(raw, cache_strings="keys")


def _json_decoder() -> Callable[[bytes], Any]:
    """The fast reader's JSON parser: msgspec's when it is installed (the ``fast`` extra), else
    pydantic-core's.

    msgspec's gives the same plain data (dict keys shared too) about a fifth faster; it refuses
    NaN and Infinity, which the reader refuses anyway. Its errors are ``msgspec.DecodeError``
    (a ValueError) and RecursionError; the full path then decides, as for pydantic-core's.
    """
    try:
        import msgspec
    except ImportError:  # pragma: no cover - the `fast` extra is not installed
        return _pydantic_decode
    decode: Callable[[bytes], Any] = msgspec.json.decode
    return decode


_decode = _json_decoder()


class _Clock:
    """The reader's deadline, looked at between its passes."""

    def __init__(self, deadline: float | None, source: str) -> None:
        self.deadline = deadline
        self.source = source

    def check(self, stage: str = "validating") -> None:
        """Raise :class:`~portfolio.errors.ReadTimeLimitError` once the deadline has passed."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise ReadTimeLimitError(self.source, stage)


def _validated(data: Any, raw: bytes | None, source: str, clock: _Clock) -> Instance | None:
    if not isinstance(data, dict):
        return None
    try:
        try:
            built = _build(data, raw, clock, guess=True)
        except KeyError:  # perhaps a wrong guess (or a bad file): again without guessing
            built = _build(data, raw, clock, guess=False)
    except (_Refused, TypeError, ValueError, KeyError, OverflowError, AttributeError):
        return None
    instance, columns, metric_names = built
    issues = check_references(instance, source, option_metrics=metric_names)
    if issues:
        raise ValidationError(issues)
    remember_columns(instance, columns)
    return instance


def _count_keys(value: Any) -> int:
    """Keys of every mapping in ``value`` (small parts of a file only: recursive)."""
    if isinstance(value, dict):
        return len(value) + sum(_count_keys(child) for child in value.values())
    if isinstance(value, list):
        return sum(_count_keys(child) for child in value)
    return 0


def _types(values: list[Any]) -> set[type]:
    return set(map(type, values))


def _require(condition: Any) -> None:
    if not condition:
        raise _Refused


def _ids(values: list[Any]) -> None:
    """Every value a non-empty id without control or formatting characters."""
    _require(_types(values) <= {str} and all(values))
    joined = "".join(values)
    _require(joined.isascii() and joined.isprintable())


def _floats(values: list[Any], optional: bool, low: float, high: float,
            low_open: bool = False) -> FloatArray:
    """A column of numbers (None as NaN where ``optional``), each finite and in range.

    A C array of doubles checks the types first: it refuses text, null, lists and mappings, and
    takes true and false as 1 and 0, so the values equal to 0 or 1 are looked at one by one
    (:func:`_no_flags`). A column with a null or a value of another type is checked value by
    value.
    """
    try:
        column = np.frombuffer(array.array("d", values), np.float64)
    except TypeError:  # a null, or a value of the wrong type: checked one by one below
        pass
    else:
        _no_flags(values, column)
        return _in_range(column, low, high, low_open)
    kinds = _types(values)
    allowed = {int, float, type(None)} if optional else {int, float}
    _require(kinds <= allowed)
    column = np.array(values, dtype=np.float64)
    present = column if type(None) not in kinds else column[
        ~np.fromiter((v is None for v in values), np.bool_, len(values))]
    if present.size:
        _require(np.isfinite(present).all())
        _require(present.min() > low if low_open else present.min() >= low)
        _require(present.max() <= high)
    return column


def _no_flags(values: list[Any], column: FloatArray | IntArray) -> None:
    """Refuse a true or false among ``values``, which a C array of numbers read into
    ``column`` as 1 or 0: only the values equal to 0 or 1 are looked at."""
    suspects = np.flatnonzero((column == 0) | (column == 1)).tolist()
    if suspects:
        _require(bool not in set(map(type, map(values.__getitem__, suspects))))


def _in_range(column: FloatArray, low: float, high: float, low_open: bool = False) -> FloatArray:
    """``column``, after checking every value finite and in range."""
    if column.size:
        _require(np.isfinite(column).all())
        _require(column.min() > low if low_open else column.min() >= low)
        _require(column.max() <= high)
    return column


def _ints(values: list[Any], low: int, missing: int) -> IntArray:
    """A column of optional whole numbers at least ``low`` (``missing`` where None); a C array
    of 64-bit integers checks the types first, as for :func:`_floats`."""
    try:
        column = np.frombuffer(array.array("q", values), np.int64)
    except TypeError:
        pass
    else:
        _no_flags(values, column)
        _require(not column.size or column.min() >= low)
        return column
    kinds = _types(values)
    _require(kinds <= {int, type(None)})
    present = [v for v in values if v is not None] if type(None) in kinds else values
    _require(not present or min(present) >= low)
    return np.array([missing if v is None else v for v in values] if present is not values
                    else values, dtype=np.int64)


def _constant(n: int, value: float) -> Any:
    """A read-only column of ``n`` copies of ``value`` (a float, or an int for an int64
    column) that takes no memory: the column of a field no option gives."""
    dtype = np.int64 if type(value) is int else np.float64
    return np.broadcast_to(np.array(value, dtype), (n,))


_SPAN = 1 << 22
"""Bytes compared at a time when counting the colons of a file (a bounded temporary)."""


def _colons(raw: bytes) -> int:
    """How many ``:`` bytes ``raw`` holds."""
    view = np.frombuffer(raw, np.uint8)
    return sum(int(np.count_nonzero(view[i : i + _SPAN] == 58))
               for i in range(0, len(view), _SPAN))


def _no_duplicate_keys(raw: bytes, parsed: int) -> None:
    """Refuse the file unless its text gives exactly the ``parsed`` keys (none twice).

    Outside strings, each ``:`` of valid JSON follows a key, and each key parsed comes from at
    least one key in the text: so when the text holds as many colons as keys were parsed, no
    key was given twice. Otherwise (a colon inside a text, or a duplicate) the key tokens are
    counted (each ends with ``"`` and, after any spaces, ``:``; a ``":`` inside a string is
    escaped).
    """
    if _colons(raw) != parsed:
        _require(raw.count(b'":') + len(_KEY_GAP.findall(raw)) == parsed)


def _build(data: dict[str, Any], raw: bytes | None, clock: _Clock, guess: bool = False
           ) -> tuple[Instance, OptionColumns, set[str]]:
    """The instance, its option columns and its metric names, from the parsed file.

    ``guess``: when every option gives as many keys as the first, take them to be the first's
    (and likewise the names of the ``metrics`` mappings), without collecting every option's
    keys. The passes below look each of those fields up in every option, which proves the
    guess (with the key count: no option gives another key) or raises KeyError before anything
    is consumed; the caller then builds again without guessing.
    """
    given_services = data.get("services")
    if type(given_services) is not list or not given_services:
        raise _Refused
    services: list[dict[str, Any]] = given_services
    _require(_types(services) == {dict})
    service_keys = set().union(*services)
    _require(service_keys <= _SERVICE_KEYS)
    service_key_count = sum(map(len, services))
    option_lists = [s["options"] for s in services]
    _require(_types(option_lists) == {list} and all(option_lists))
    options = [o for group in option_lists for o in group]
    # Each option's mode: the look-up refuses anything but a mapping that gives a mode, so it
    # also proves every option a mapping.
    mode_names = list(map(operator.itemgetter("mode"), options))
    n = len(options)
    option_key_count = sum(map(len, options))
    uniform = guess and option_key_count == n * len(options[0])
    option_keys = set(options[0]) if uniform else set().union(*options)
    _require(option_keys <= _OPTION_KEYS)
    uniform = uniform or option_key_count == n * len(option_keys)
    # Which fields each option gave: one key set for all when every option gives every key.
    key_sets: tuple[tuple[str, ...], ...]
    if uniform:
        key_codes, key_sets = np.zeros(n, np.int64), (tuple(option_keys),)
    else:
        key_codes, key_sets = _codes(list(map(tuple, options)))
    in_all = set.intersection(*map(set, key_sets))
    metric_dicts = list(map(operator.itemgetter("metrics"), options)) if "metrics" in in_all \
        else [o["metrics"] for o in options if "metrics" in o]
    _require(_types(metric_dicts) <= {dict})
    metric_key_count = sum(map(len, metric_dicts))
    rest = {key: value for key, value in data.items() if key != "services"}
    if raw is not None:  # duplicate keys: the keys of the text against the keys parsed
        _no_duplicate_keys(raw, 1 + service_key_count + option_key_count + metric_key_count
                           + _count_keys(rest))
    else:  # YAML aliases can repeat one mapping: pydantic would build two
        _require(len(set(map(id, options))) == len(options))
        _require(len(set(map(id, metric_dicts))) == len(metric_dicts))
    clock.check()

    # Everything but the services: pydantic, with one placeholder service.
    skeleton = Instance.model_validate({**rest, "services": [_PLACEHOLDER]})
    mode_ids = tuple(mode.id for mode in skeleton.modes)
    mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
    _require(len(mode_index) == len(mode_ids))
    horizon = skeleton.horizon
    big = MAX_MAGNITUDE

    # Services, a column at a time (into arrays: the parsed file is freed before the objects
    # are built, so that what survives it is not scattered over the memory it held).
    rows = _service_rows(services, service_keys, service_key_count, mode_index, horizon, raw)
    clock.check()

    # Options, a column at a time; a field no option gives is its default throughout.
    def given(name: str, default: Any) -> list[Any] | None:
        if name in in_all:
            return list(map(operator.itemgetter(name), options))
        return [o.get(name, default) for o in options] if name in option_keys else None

    def numbers(name: str, default: float | None, low: float, high: float,
                low_open: bool = False) -> FloatArray:
        required = default is _REQUIRED
        values = given(name, None if required else default)
        _require(values is not None or not required)
        column = _constant(n, np.nan if default is None else default) if values is None else \
            _floats(values, default is None, low, high, low_open)
        clock.check()
        return column

    def counts_of(name: str, low: int, missing: int) -> IntArray:
        values = given(name, None)
        column = _constant(n, missing) if values is None else _ints(values, low, missing)
        clock.check()
        return column

    # A mode is one of the (checked) mode ids: a lookup refuses anything else.
    mode = np.fromiter(map(mode_index.__getitem__, mode_names), np.int64, n)
    del mode_names
    annual_cost, cost_years = _annual_costs(options, horizon.years if horizon else None)
    clock.check()
    outcome = numbers("outcome", _REQUIRED, -big, big)
    transition = numbers("transition_cost", 0.0, 0.0, big)
    flexibility = numbers("flexibility", None, 0.0, 1.0)
    indexation = numbers("indexation", 0.0, -1.0, big, low_open=True)
    if cost_years is not None:  # a list of yearly costs is not indexed as well
        _require(not indexation[~np.isnan(cost_years[:, 0])].any())
    social = numbers("social_value", None, -big, big)
    risk = numbers("risk", None, -big, big)
    staff = numbers("staff_transferred", None, 0.0, big)
    years = counts_of("contract_years", 1, 0)
    lead = counts_of("lead_time_years", 0, -1)
    if horizon is not None:
        _require(lead.max() < horizon.years)
    label_list = given("label", None)
    labels = None if label_list is None else _texts(label_list, raw)
    del label_list
    current_flags = given("current", False)
    current = np.zeros(n, np.bool_)
    if current_flags is not None:
        _require(_types(current_flags) <= {bool})
        current = np.array(current_flags, np.bool_)
    del current_flags
    metrics, metric_names = _metric_columns(options, metric_dicts, metric_key_count, guess)
    clock.check()

    # References and the current option, service by service, as arrays.
    counts = np.fromiter(map(len, option_lists), np.int64, len(option_lists))
    first_option = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    starts = first_option[:-1]
    service_of = np.repeat(np.arange(len(services), dtype=np.int64), counts)
    current_mode = rows.current_mode
    in_current = mode == current_mode[service_of]
    _require(np.logical_or.reduceat(in_current, starts).all())
    _require(np.add.reduceat(current.astype(np.int64), starts).max() <= 1)
    _require(not (current & ~in_current).any())
    ceases = np.array([m.ceases_service for m in skeleton.modes], dtype=np.bool_)
    statutory = rows.statutory
    _require(not (np.logical_and.reduceat(ceases[mode], starts) & statutory).any())
    if skeleton.constraints.min_flexibility is not None:
        _require(not np.isnan(flexibility).any())

    columns = OptionColumns(
        mode_ids=mode_ids, first_option=first_option, mode=mode, annual_cost=annual_cost,
        transition_cost=transition, outcome=outcome, indexation=indexation,
        flexibility=flexibility, social_value=social, risk=risk, staff_transferred=staff,
        contract_years=years, lead_time_years=lead, current=current, metrics=metrics,
        annual_cost_years=cost_years,
        labels=None if labels is None else tuple(_text_list(labels, n)),
    )
    store = OptionStore(columns, options, metric_dicts, labels, key_codes, key_sets,
                        metric_key_count)
    # The parsed file is no longer needed (the caller's data is consumed).
    options.clear()
    metric_dicts.clear()
    option_lists.clear()
    services.clear()
    data.clear()
    clock.check()
    instance = skeleton.model_copy(update={"services": _services(rows, store)})
    return instance, columns, metric_names


def _annual_costs(
    options: list[dict[str, Any]], horizon_years: int | None
) -> tuple[FloatArray, FloatArray | None]:
    """The ``annual_cost`` column (a list's first value) and the yearly costs of the options
    that give a list (None when none does): a list only with a horizon, of its length."""
    values = list(map(operator.itemgetter("annual_cost"), options))
    try:
        column = np.frombuffer(array.array("d", values), np.float64)
    except TypeError:  # lists of yearly costs (or bad values): below
        pass
    else:
        _no_flags(values, column)
        return _in_range(column, 0.0, MAX_MAGNITUDE), None
    kinds = _types(values)
    if list not in kinds:
        return _floats(values, False, 0.0, MAX_MAGNITUDE), None
    _require(horizon_years is not None)
    listed = [i for i, value in enumerate(values) if type(value) is list]
    _require(all(len(values[i]) == horizon_years for i in listed))
    flat = _floats([x for i in listed for x in values[i]], False, 0.0, MAX_MAGNITUDE)
    matrix = np.full((len(values), horizon_years or 0), np.nan)
    matrix[listed] = flat.reshape(len(listed), horizon_years or 0)
    for i in listed:
        values[i] = values[i][0]
    return _floats(values, False, 0.0, MAX_MAGNITUDE), matrix


def _metric_columns(
    options: list[dict[str, Any]], metric_dicts: list[dict[str, Any]], key_count: int,
    guess: bool = False,
) -> tuple[dict[str, FloatArray], set[str]]:
    """Each metric's column (NaN where absent), after checking names and values; the names.
    ``key_count``: the metric keys of all options; ``guess`` as for :func:`_build` (a wrong
    guess raises KeyError)."""
    n = len(options)
    if guess and metric_dicts and key_count == len(metric_dicts) * len(metric_dicts[0]):
        names = sorted(metric_dicts[0])
    else:
        names = sorted(set().union(*metric_dicts))
    _ids(names)
    _require(_FIGURE_KEYS.isdisjoint(names))
    every = len(metric_dicts) == n
    where = None if every else np.array(
        [i for i, o in enumerate(options) if "metrics" in o], dtype=np.int64)
    full_dicts = key_count == len(metric_dicts) * len(names)  # each has every name
    big = MAX_MAGNITUDE
    columns = {}
    found = 0
    for name in names:
        if full_dicts:
            values = list(map(operator.itemgetter(name), metric_dicts))
        else:
            values = [m.get(name) for m in metric_dicts]
        column = _floats(values, True, -big, big)
        found += int(np.count_nonzero(~np.isnan(column)))
        if every:
            columns[name] = column
        else:
            columns[name] = np.full(n, np.nan)
            columns[name][where] = column
    _require(found == key_count)  # an explicit null is not a metric
    return columns, set(names)


def _codes(keys: list[tuple[str, ...]]) -> tuple[IntArray, tuple[tuple[str, ...], ...]]:
    """Each key tuple's index among the distinct ones, and the distinct ones."""
    index: dict[tuple[str, ...], int] = {}
    codes = np.fromiter((index.setdefault(key, len(index)) for key in keys), np.int64, len(keys))
    return codes, tuple(index)


class OptionStore:
    """The options of an instance read by :func:`read_json`, held as columns until a service's
    options are first asked for (:class:`portfolio.domain.UnbuiltOptions`), then built exactly
    as pydantic's validation builds them: the same values (whole numbers given for float fields
    as floats), the same fields set, the same key order of each ``metrics`` mapping.

    Besides the columns it keeps what they cannot hold: the labels, the fields each option gave
    (as an index into the distinct key sets) and each ``metrics`` mapping's key order.
    """

    def __init__(self, columns: OptionColumns, options: list[dict[str, Any]],
                 metric_dicts: list[dict[str, Any]], labels: tuple[Any, BoolArray] | None,
                 key_codes: IntArray, key_sets: tuple[tuple[str, ...], ...],
                 metric_key_count: int) -> None:
        self.columns = columns
        self.keys = key_codes
        # One fields-set per distinct key set, shared by its options: the models are frozen, so
        # pydantic never changes it in place (copies copy it), and a set per option would be
        # 200 bytes and one more object for the collector to visit.
        self.key_sets = tuple(set(keys) for keys in key_sets)
        self.labels = labels
        self._waiting: dict[int, list[Option]] = {}
        self._built_blocks: set[int] = set()
        self.metric_order: IntArray | None = None
        self.metric_orders: tuple[tuple[str, ...], ...] = ()
        if not metric_dicts:
            return
        if metric_key_count == len(metric_dicts) * len(columns.metrics) <= len(metric_dicts):
            # Each mapping has every name, and there is at most one: one order for all.
            codes, self.metric_orders = np.zeros(len(metric_dicts), np.int64), (
                tuple(columns.metrics),)
        else:
            codes, self.metric_orders = _codes(list(map(tuple, metric_dicts)))
        if len(metric_dicts) == len(options):
            self.metric_order = codes
        else:
            self.metric_order = np.full(len(options), -1, np.int64)
            self.metric_order[[i for i, o in enumerate(options) if "metrics" in o]] = codes

    def build_options(self, service: int) -> list[Option]:
        """The ``Option`` objects of service number ``service``.

        They are built for a block of :data:`_BLOCK` services at a time (the columns are read
        once per block, with the collector paused); the block's other services' lists wait here
        until their services ask.
        """
        waiting = self._waiting.pop(service, None)
        if waiting is not None:
            return waiting
        services = len(self.columns.first_option) - 1
        block = service // _BLOCK
        blocks = [block]
        if len(self._built_blocks) >= max(4, services // _BLOCK // 8):
            # Most of the instance is being read: every block at once, so that the collector
            # meets the new objects in one pass rather than in a full pass every few blocks.
            blocks = [b for b in range(-(-services // _BLOCK)) if b not in self._built_blocks]
        with gc_paused():
            for b in blocks:
                self._built_blocks.add(b)
                first = b * _BLOCK
                built = self._build(first, min(first + _BLOCK, services))
                self._waiting.update(enumerate(built, start=first))
        return self._waiting.pop(service)

    def _build(self, first: int, last: int) -> list[list[Option]]:
        """The options of services ``first`` to ``last - 1``, one list per service."""
        c = self.columns
        bounds = c.first_option[first : last + 1].tolist()
        a, b = bounds[0], bounds[-1]
        k = b - a
        mode_ids = c.mode_ids
        cost = c.annual_cost[a:b].tolist()
        if c.annual_cost_years is not None:
            rows = c.annual_cost_years[a:b]
            for j in np.flatnonzero(~np.isnan(rows[:, 0])).tolist():
                cost[j] = rows[j].tolist()
        metrics: list[dict[str, float]] = [{} for _ in range(k)]
        if self.metric_order is not None:
            values_of = {name: column[a:b].tolist() for name, column in c.metrics.items()}
            orders = self.metric_orders
            for j, code in enumerate(self.metric_order[a:b].tolist()):
                if code >= 0:
                    metrics[j] = {name: values_of[name][j] for name in orders[code]}
        values = zip(
            [mode_ids[m] for m in c.mode[a:b].tolist()], cost, c.outcome[a:b].tolist(),
            c.transition_cost[a:b].tolist(), _optional(c.flexibility[a:b]),
            [None if v == 0 else v for v in c.contract_years[a:b].tolist()],
            [None if v < 0 else v for v in c.lead_time_years[a:b].tolist()],
            c.indexation[a:b].tolist(), _optional(c.social_value[a:b]),
            _optional(c.risk[a:b]), _optional(c.staff_transferred[a:b]),
            _text_list(None if self.labels is None else (
                self.labels[0][a:b], self.labels[1][a:b]), k),
            c.current[a:b].tolist(), metrics, strict=True,
        )
        key_sets = self.key_sets
        new, setattr_ = object.__new__, object.__setattr__
        built = []
        for state, code in zip(values, self.keys[a:b].tolist(), strict=True):
            option = new(Option)
            # A dict display, not dict(): it starts untracked by the collector (its values are
            # numbers, texts and an untracked metrics mapping).
            setattr_(option, "__dict__", {name: value for name, value in zip(
                _OPTION_FIELDS, state, strict=True)})
            setattr_(option, "__pydantic_fields_set__", key_sets[code])
            setattr_(option, "__pydantic_extra__", None)
            setattr_(option, "__pydantic_private__", None)
            built.append(option)
        pairs = zip(bounds[:-1], bounds[1:], strict=True)
        return [built[start - a : end - a] for start, end in pairs]


_BLOCK = 64
"""Services whose options are built together (:meth:`OptionStore.build_options`)."""


def _optional(column: FloatArray) -> list[float | None]:
    return [None if v != v else v for v in column.tolist()]


@dataclass(frozen=True)
class _ServiceRows:
    """The services' fields as arrays (no reference into the parsed file)."""

    ids: Any
    current_mode: IntArray
    name: tuple[Any, BoolArray] | None
    group: tuple[Any, BoolArray] | None
    weight: FloatArray
    statutory: BoolArray
    contract_end: IntArray | None
    termination_cost: FloatArray
    keys: IntArray
    key_sets: tuple[set[str], ...]


_NO_END = -(2**62)


def _service_rows(services: list[dict[str, Any]], keys: set[str], key_count: int,
                  mode_index: dict[str, int], horizon: Any, raw: bytes | None) -> _ServiceRows:
    """The services' fields, checked; ``keys``: every key any service gives, ``key_count``:
    the keys of all services."""
    n = len(services)
    big = MAX_MAGNITUDE
    uniform = key_count == n * len(keys)  # every service gives every key

    def given(name: str, default: Any) -> list[Any] | None:
        if name not in keys:
            return None
        if uniform:
            return list(map(operator.itemgetter(name), services))
        return [s.get(name, default) for s in services]
    ids = list(map(operator.itemgetter("id"), services))
    _ids(ids)
    _require(len(set(ids)) == len(ids))
    current_mode = np.fromiter(
        map(mode_index.__getitem__, map(operator.itemgetter("current_mode"), services)),
        np.int64, n)
    name, group = (_texts(given(key, None), raw) for key in ("name", "group"))
    weights = given("weight", 1.0)
    weight = np.ones(n) if weights is None else _floats(weights, False, 0.0, big)
    statutory_flags = given("statutory", False)
    statutory = np.zeros(n, np.bool_)
    if statutory_flags is not None:
        _require(_types(statutory_flags) <= {bool})
        statutory = np.array(statutory_flags, np.bool_)
    ends = given("current_contract_end", None)
    fees = given("termination_cost", None)
    _require(ends is None or _types(ends) <= {int, type(None)})
    fee_column = np.full(n, np.nan) if fees is None else _floats(fees, True, 0.0, big)
    contract_end = None
    if ends is None or horizon is None:  # a fee needs the end of a contract
        _require((ends is None or all(end is None for end in ends))
                 and np.isnan(fee_column).all())
    else:
        _require(all(end is None or end >= horizon.start_year for end in ends))
        _require(fees is None or all(
            fee is None or end is not None for end, fee in zip(ends, fees, strict=True)))
        if any(end is not None for end in ends):
            contract_end = np.array([_NO_END if end is None else end for end in ends], np.int64)
    canonical = {name: name for name in _SERVICE_FIELDS}
    key_sets: tuple[tuple[str, ...], ...]
    if uniform:
        codes, key_sets = np.zeros(n, np.int64), (tuple(keys),)
    else:
        codes, key_sets = _codes(list(map(tuple, services)))
    return _ServiceRows(
        ids=np.array(ids, dtype=np.str_), current_mode=current_mode, name=name, group=group,
        weight=weight, statutory=statutory, contract_end=contract_end,
        termination_cost=fee_column, keys=codes,
        key_sets=tuple({canonical[k] for k in keys} for keys in key_sets),
    )


def _texts(values: list[Any] | None, raw: bytes | None) -> tuple[Any, BoolArray] | None:
    """Optional texts as (a numpy text array, where None), or None when every value is None
    (or ``values`` is None). A text holding a NUL character (which a numpy text array would
    drop at its end) is left to the full path."""
    if values is None:
        return None
    kinds = _types(values)
    _require(kinds <= {str, type(None)})
    if str not in kinds:
        return None
    missing = np.fromiter((v is None for v in values), np.bool_, len(values))
    present = [v for v in values if v is not None] if missing.any() else values
    if raw is not None:
        _require(b"\\u0000" not in raw)
    else:
        _require(not any("\0" in v for v in present))
    return np.array(["" if v is None else v for v in values], dtype=np.str_), missing


def _text_list(column: tuple[Any, BoolArray] | None, n: int) -> list[str | None]:
    if column is None:
        return [None] * n
    texts, missing = column
    values: list[str | None] = texts.tolist()
    for i in np.flatnonzero(missing).tolist():
        values[i] = None
    return values


def _services(rows: _ServiceRows, store: OptionStore) -> list[Service]:
    """The services, as pydantic's validation builds them (field order, floats for the float
    fields), each with its options left in ``store`` until first asked for."""
    n = len(rows.current_mode)
    mode_ids = store.columns.mode_ids
    ends = [None] * n if rows.contract_end is None else [
        None if end == _NO_END else end for end in rows.contract_end.tolist()]
    values = zip(
        rows.ids.tolist(), [mode_ids[m] for m in rows.current_mode.tolist()],
        [UnbuiltOptions(store, index) for index in range(n)],
        _text_list(rows.name, n), _text_list(rows.group, n), rows.weight.tolist(),
        rows.statutory.tolist(), ends, _optional(rows.termination_cost), strict=True,
    )
    new = object.__new__
    setattr_ = object.__setattr__
    key_sets = rows.key_sets
    result = []
    # A dict display in _SERVICE_FIELDS' order (checked at import): faster than dict(zip(...)).
    for (id_, current_mode, options, name, group, weight, statutory, end, fee), code in zip(
            values, rows.keys.tolist(), strict=True):
        service = new(Service)
        setattr_(service, "__dict__", {
            "id": id_, "current_mode": current_mode, "options": options, "name": name,
            "group": group, "weight": weight, "statutory": statutory,
            "current_contract_end": end, "termination_cost": fee})
        setattr_(service, "__pydantic_fields_set__", key_sets[code])  # shared, as for options
        setattr_(service, "__pydantic_extra__", None)
        setattr_(service, "__pydantic_private__", None)
        result.append(service)
    return result
