"""The options of an instance as numpy columns, and the fast JSON reader that builds them.

:func:`read_json` validates a JSON instance file without pydantic's per-option validators: it
parses with pydantic-core's JSON parser (``from_json``), checks the services and options a column
at a time (types, ranges, finiteness, ids, references, the current option, statutory services,
required flexibility, duplicate keys), lets pydantic validate everything else (modes, constraints,
objective, horizon, scenarios, ...), and builds the domain objects without validating them again.
It returns None at the first thing it does not accept, and the caller then takes the full pydantic
path, so every error message (file, service id, ``options[i].field``) is exactly the one that path
gives; accepted files give an instance equal to the one the full path gives (tested).

The instance read this way keeps its options as :class:`OptionColumns` too (:func:`columns_of`),
which :class:`portfolio.table.OptionTable` reads instead of walking the option objects.

Decisions: per-year ``annual_cost`` lists, non-ASCII or unusual ids are left to the full path
(correct, only slower); a duplicate key is ruled out by counting the key tokens of the text
(every key ends with ``"`` and ``:``; a ``":`` inside a string is escaped) against the keys parsed:
equal counts prove there is no duplicate, unequal ones send the file to the full path, which names
the duplicate key and its line.
"""

from __future__ import annotations

import gc
import math
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
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
    check_references,
)
from portfolio.linear import BoolArray, FloatArray, IntArray


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
    labels: tuple[str | None, ...] | None = None

    @property
    def num_options(self) -> int:
        """Number of options."""
        return int(self.mode.shape[0])

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
        labels=labels if any(label is not None for label in labels) else None,
    )
    remember_columns(instance, columns)
    return columns


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles
    (reading an instance): its passes over the growing heap cost more than the building."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------------- the fast reader
class _Refused(Exception):
    """The fast reader does not accept the file: the full path decides."""


_REQUIRED = -math.inf  # the default of a required field (no default)
_KEY_GAP = re.compile(rb'"[ \t\r\n]+:')
_NUMBER = (int, float)
_OPTION_FIELDS = tuple(Option.model_fields)
_SERVICE_FIELDS = tuple(Service.model_fields)
_OPTION_KEYS = frozenset(_OPTION_FIELDS)
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


def read_json(raw: bytes, source: str = "<data>") -> Instance | None:
    """Validate a JSON instance file's bytes the fast way; None when the full path must decide.

    Raises:
        ValidationError: only from the reference checks of the parts pydantic validated here
            (``constraints``, ``objective``, scenarios, ...), exactly as the full path raises it.
    """
    with gc_paused():
        try:
            data = pydantic_core.from_json(raw)
        except ValueError:
            return None
        return _validated(data, raw, source)


def read_parsed(data: Any, source: str = "<data>") -> Instance | None:
    """As :func:`read_json`, for a file already parsed (YAML, TOML) by a parser that rejects
    duplicate keys. The data are consumed when the instance is built (the options' mappings
    are taken out of their lists): give only data no one else holds.

    Raises:
        ValidationError: as :func:`read_json`.
    """
    with gc_paused():
        return _validated(data, None, source)


def _validated(data: Any, raw: bytes | None, source: str) -> Instance | None:
    if not isinstance(data, dict):
        return None
    try:
        built = _build(data, raw)
    except (_Refused, TypeError, ValueError, KeyError, OverflowError, AttributeError):
        return None
    instance, columns, metric_names = built
    issues = check_references(instance, source, option_metrics=metric_names)
    if issues:
        from portfolio.errors import ValidationError

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
    _require(_types(values) <= {str})
    for value in set(values):
        _require(value and value.isascii() and value.isprintable())


def _floats(values: list[Any], optional: bool, low: float, high: float,
            low_open: bool = False) -> FloatArray:
    """A column of numbers (None as NaN where ``optional``), each finite and in range."""
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


def _ints(values: list[Any], low: int, missing: int) -> IntArray:
    """A column of optional whole numbers at least ``low`` (``missing`` where None)."""
    kinds = _types(values)
    _require(kinds <= {int, type(None)})
    present = [v for v in values if v is not None] if type(None) in kinds else values
    _require(not present or min(present) >= low)
    return np.array([missing if v is None else v for v in values] if present is not values
                    else values, dtype=np.int64)


def _optional_texts(values: list[Any]) -> None:
    _require(_types(values) <= {str, type(None)})


def _build(data: dict[str, Any], raw: bytes | None) -> tuple[Instance, OptionColumns, set[str]]:
    given_services = data.get("services")
    if type(given_services) is not list or not given_services:
        raise _Refused
    services: list[dict[str, Any]] = given_services
    _require(_types(services) == {dict} and set().union(*services) <= _SERVICE_KEYS)
    option_lists = [s["options"] for s in services]
    _require(_types(option_lists) == {list} and all(option_lists))
    options = [o for group in option_lists for o in group]
    _require(_types(options) == {dict})
    option_keys = set().union(*options)
    _require(option_keys <= _OPTION_KEYS)
    metric_dicts = [o["metrics"] for o in options if "metrics" in o]
    _require(_types(metric_dicts) <= {dict})
    rest = {key: value for key, value in data.items() if key != "services"}
    if raw is not None:  # duplicate keys: the key tokens of the text against the keys parsed
        parsed = (1 + sum(map(len, services)) + sum(map(len, options))
                  + sum(map(len, metric_dicts)) + _count_keys(rest))
        _require(raw.count(b'":') + len(_KEY_GAP.findall(raw)) == parsed)
    else:  # YAML aliases can repeat one mapping: pydantic would build two
        _require(len(set(map(id, options))) == len(options))
        _require(len(set(map(id, metric_dicts))) == len(metric_dicts))

    # Everything but the services: pydantic, with one placeholder service.
    skeleton = Instance.model_validate({**rest, "services": [_PLACEHOLDER]})
    mode_ids = tuple(mode.id for mode in skeleton.modes)
    mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
    _require(len(mode_index) == len(mode_ids))
    horizon = skeleton.horizon
    big = MAX_MAGNITUDE

    # Services, a column at a time.
    ids = [s["id"] for s in services]
    _ids(ids)
    _require(len(set(ids)) == len(ids))
    current_modes = [s["current_mode"] for s in services]
    _ids(current_modes)
    _require(set(current_modes) <= mode_index.keys())
    for name in ("name", "group"):
        _optional_texts([s.get(name) for s in services])
    weights = [s.get("weight", 1.0) for s in services]
    _floats(weights, False, 0.0, big)
    statutory_flags = [s.get("statutory", False) for s in services]
    _require(_types(statutory_flags) <= {bool})
    ends = [s.get("current_contract_end") for s in services]
    fees = [s.get("termination_cost") for s in services]
    _require(_types(ends) <= {int, type(None)})
    fee_column = _floats(fees, True, 0.0, big)
    if horizon is None:
        _require(all(end is None for end in ends) and np.isnan(fee_column).all())
    else:
        _require(all(end is None or end >= horizon.start_year for end in ends))
        _require(all(fee is None or end is not None for end, fee in zip(ends, fees, strict=True)))

    # Options, a column at a time; a field no option gives is its default throughout.
    n = len(options)
    whole: set[str] = set()

    def given(name: str, default: Any) -> list[Any] | None:
        return [o.get(name, default) for o in options] if name in option_keys else None

    def numbers(name: str, default: float | None, low: float, high: float,
                low_open: bool = False) -> FloatArray:
        required = default is _REQUIRED
        values = given(name, None if required else default)
        _require(values is not None or not required)
        if values is None:
            return np.full(n, np.nan if default is None else default)
        if int in _types(values):
            whole.add(name)
        return _floats(values, default is None, low, high, low_open)

    def counts_of(name: str, low: int, missing: int) -> IntArray:
        values = given(name, None)
        return np.full(n, missing, np.int64) if values is None else _ints(values, low, missing)

    modes = [o["mode"] for o in options]
    _ids(modes)
    _require(set(modes) <= mode_index.keys())
    mode = np.array([mode_index[m] for m in modes], dtype=np.int64)
    annual_cost = numbers("annual_cost", _REQUIRED, 0.0, big)
    outcome = numbers("outcome", _REQUIRED, -big, big)
    transition = numbers("transition_cost", 0.0, 0.0, big)
    flexibility = numbers("flexibility", None, 0.0, 1.0)
    indexation = numbers("indexation", 0.0, -1.0, big, low_open=True)
    social = numbers("social_value", None, -big, big)
    risk = numbers("risk", None, -big, big)
    staff = numbers("staff_transferred", None, 0.0, big)
    years = counts_of("contract_years", 1, 0)
    lead = counts_of("lead_time_years", 0, -1)
    if horizon is not None:
        _require(lead.max() < horizon.years)
    labels = given("label", None)
    if labels is not None:
        _optional_texts(labels)
    current_flags = given("current", False)
    if current_flags is not None:
        _require(_types(current_flags) <= {bool})
    current = np.zeros(n, np.bool_) if current_flags is None else np.array(current_flags, np.bool_)
    metrics, metric_names, metrics_whole = _metric_columns(options, metric_dicts)

    # References and the current option, service by service, as arrays.
    counts = np.array([len(group) for group in option_lists], dtype=np.int64)
    first_option = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    starts = first_option[:-1]
    service_of = np.repeat(np.arange(len(services), dtype=np.int64), counts)
    current_mode = np.array([mode_index[m] for m in current_modes], dtype=np.int64)
    in_current = mode == current_mode[service_of]
    _require(np.logical_or.reduceat(in_current, starts).all())
    _require(np.add.reduceat(current.astype(np.int64), starts).max() <= 1)
    _require(not (current & ~in_current).any())
    ceases = np.array([m.ceases_service for m in skeleton.modes], dtype=np.bool_)
    statutory = np.array(statutory_flags, dtype=np.bool_)
    _require(not (np.logical_and.reduceat(ceases[mode], starts) & statutory).any())
    if skeleton.constraints.min_flexibility is not None:
        _require(not np.isnan(flexibility).any())

    columns = OptionColumns(
        mode_ids=mode_ids, first_option=first_option, mode=mode, annual_cost=annual_cost,
        transition_cost=transition, outcome=outcome, indexation=indexation,
        flexibility=flexibility, social_value=social, risk=risk, staff_transferred=staff,
        contract_years=years, lead_time_years=lead, current=current, metrics=metrics,
        labels=None if labels is None else tuple(labels),
    )
    built = _services(services, options, option_lists, whole, metrics_whole)
    instance = skeleton.model_copy(update={"services": built})
    return instance, columns, metric_names


def _metric_columns(
    options: list[dict[str, Any]], metric_dicts: list[dict[str, Any]]
) -> tuple[dict[str, FloatArray], set[str], bool]:
    """Each metric's column (NaN where absent), after checking names and values; the names;
    whether any value was given as a whole number (pydantic makes it a float)."""
    n = len(options)
    names = sorted(set().union(*metric_dicts))
    _ids(names)
    _require(_FIGURE_KEYS.isdisjoint(names))
    where = np.array([i for i, o in enumerate(options) if "metrics" in o], dtype=np.int64)
    big = MAX_MAGNITUDE
    columns = {}
    whole = False
    found = 0
    for name in names:
        values = [m.get(name) for m in metric_dicts]
        kinds = _types(values)
        whole = whole or int in kinds
        column = _floats(values, True, -big, big)
        found += int(np.count_nonzero(~np.isnan(column)))
        full = np.full(n, np.nan)
        full[where] = column
        columns[name] = full
    _require(found == sum(map(len, metric_dicts)))  # an explicit null is not a metric
    return columns, set(names), whole


_FLOAT_OPTION_FIELDS = ("annual_cost", "outcome", "transition_cost", "flexibility", "indexation",
                        "social_value", "risk", "staff_transferred")


def _services(
    services: list[dict[str, Any]], options: list[dict[str, Any]],
    option_lists: list[list[dict[str, Any]]], whole: set[str], whole_metrics: bool,
) -> list[Service]:
    """The domain objects, as pydantic's validation builds them (field order, floats for the
    float fields, a fresh ``metrics`` mapping each), without validating them again.

    The parsed option mappings are consumed as they are built (``options`` and the services'
    lists are emptied), so that the parsed file and the objects are not both held in full.
    """
    new = object.__new__
    setattr_ = object.__setattr__
    option_template = _template(Option)
    counts = [len(group) for group in option_lists]
    for group in option_lists:
        group.clear()
    built_options: list[Option] = []
    append = built_options.append
    for index in range(len(options)):
        values = options[index]
        options[index] = None  # type: ignore[call-overload]
        state = option_template.copy()
        state.update(values)
        if "metrics" not in values:
            state["metrics"] = {}
        option = new(Option)
        setattr_(option, "__dict__", state)
        setattr_(option, "__pydantic_fields_set__", set(values))
        setattr_(option, "__pydantic_extra__", None)
        setattr_(option, "__pydantic_private__", None)
        append(option)
    # Whole numbers given for float fields become floats, as pydantic makes them.
    for name in sorted(whole):
        for option in built_options:
            if type(option.__dict__[name]) is int:
                option.__dict__[name] = float(option.__dict__[name])
    for option in built_options if whole_metrics else ():
        metrics = option.__dict__["metrics"]
        if metrics and any(type(value) is int for value in metrics.values()):
            option.__dict__["metrics"] = {k: float(v) for k, v in metrics.items()}
    service_template = _template(Service)
    result = []
    position = 0
    for values, count in zip(services, counts, strict=True):
        state = service_template.copy()
        state.update(values)
        for name in ("weight", "termination_cost"):
            if type(state[name]) is int:
                state[name] = float(state[name])
        state["options"] = built_options[position : position + count]
        position += count
        service = new(Service)
        setattr_(service, "__dict__", state)
        setattr_(service, "__pydantic_fields_set__", set(values))
        setattr_(service, "__pydantic_extra__", None)
        setattr_(service, "__pydantic_private__", None)
        result.append(service)
    return result
