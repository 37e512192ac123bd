"""The canonical instance, as strict pydantic models, and its validation.

Structure (types, ranges, finiteness) is checked by pydantic; references between items (modes named
by options, ``fixed``, ``same_mode``, ...) by :func:`check_references`. :meth:`Instance.from_data`
runs both and raises one :class:`~portfolio.errors.ValidationError` listing every issue, each naming
the file, the item (service or mode id) and the field.

Multi-year planning (DESIGN.md, "Multi-year planning"; issue 3) adds :class:`Horizon` and lets
the yearly limits (budget, transition budget, max changes, min flexibility, min outcome, sector
shares, mode capacity, ``limits`` rows) and an option's ``annual_cost`` be either one number (every
year) or a list with one value per horizon year. A list is accepted only when the instance has a
``horizon``, and must then have exactly ``horizon.years`` values; :func:`value_in_year` reads
either form.

This module imports no solver and knows nothing of matrices.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import typing
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pydantic
import pydantic_core
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from portfolio.errors import InputIssue, ValidationError

Sector = Literal["public", "private", "voluntary", "community"]
"""The sector a delivery mode belongs to."""

SECTORS: tuple[str, ...] = ("public", "private", "voluntary", "community")

MAX_MAGNITUDE = 1e15
"""Largest magnitude of any number in an instance (README, "Numeric range and precision"):
doubles hold every whole number up to 2**53 (about 9e15) exactly, and totals of up to a few
thousand such numbers stay far inside the range where a penny is still distinguishable."""


def _within_range(value: float) -> float:
    """Reject numbers beyond :data:`MAX_MAGNITUDE` (a field validator shared by every number)."""
    if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return value
    if math.isfinite(value) and abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"must be at most {MAX_MAGNITUDE:.0e} in magnitude, the range the engine supports "
            "(see the README, 'Numeric range and precision')"
        )
    return value


Finite = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_within_range)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_within_range)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Identifier = Annotated[str, Field(min_length=1), AfterValidator(lambda v: plain_id(v))]
#: The Python types of a per-year list (a tuple when built in code).
_SEQUENCES = (list, tuple)
Count = Annotated[int, Field(ge=0)]

_NUMBER_TAG = "yearly:number"
_LIST_TAG = "yearly:list"


def _yearly_kind(value: Any) -> str:
    return _LIST_TAG if isinstance(value, list | tuple) else _NUMBER_TAG


def _yearly(scalar: Any) -> Any:
    """One value for every year, or a list with one value per horizon year (checked later).

    A discriminated union, so that a bad value is reported once, against the form it was given in.
    """
    return Annotated[
        Annotated[scalar, Tag(_NUMBER_TAG)]
        | Annotated[list[scalar], Field(min_length=1), Tag(_LIST_TAG)],
        Discriminator(_yearly_kind),
    ]


if TYPE_CHECKING:
    # The single-period code (compile, verify, explain, reports) reads these fields as numbers, and
    # may: a list is rejected unless the instance has a horizon, and instances with a horizon are
    # handed to ``portfolio.multiyear``, which reads every yearly field through value_in_year().
    YearlyNonNegative = float
    YearlyFraction = float
    YearlyFinite = float
    YearlyCount = int
else:
    YearlyNonNegative = _yearly(NonNegative)
    YearlyFraction = _yearly(Fraction)
    YearlyFinite = _yearly(Finite)
    YearlyCount = _yearly(Count)


def value_in_year(value: float | list[float] | list[int] | None, year: int) -> float | None:
    """The value of a yearly field in 0-based horizon year ``year``: the number, or the list entry.

    Args:
        value: a yearly field as validated (None, one number, or one value per year).
        year: 0-based horizon year index.
    """
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return float(value[year])
    return float(value)


def is_per_year(value: Any) -> bool:
    """True when a yearly field was given as a list (one value per year)."""
    return isinstance(value, _SEQUENCES)


#: Unicode categories an id may not contain: control (newline, NUL, ...), format (right-to-left
#: marks, bidi embeddings and isolates, zero-width characters), surrogates, line and paragraph
#: separators. They are invisible or move text around, so tables and messages would lie.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_CONTROL_NAMES = {"\0": "NUL", "\t": "TAB", "\n": "LINE FEED, a newline", "\r": "CARRIAGE RETURN"}


def plain_id(value: str) -> str:
    """Check that an id holds no control or formatting character (see HIDDEN_CATEGORIES).

    Raises:
        ValueError: naming the first such character and its position.
    """
    if value.isascii() and value.isprintable():
        return value
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in HIDDEN_CATEGORIES:
            name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "a control character")
            raise ValueError(
                f"an id may not contain control or formatting characters: U+{ord(char):04X} "
                f"({name}) at position {position}"
            )
    return value


def shown(text: str) -> str:
    """Text safe to print on one line: control and formatting characters as escapes."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest of ``choices`` to ``word``, or ''."""
    if not isinstance(word, str):
        return ""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""

#: Option fields that are figures: a ``limits`` row or a weighted objective may name them.
OPTION_FIGURES: tuple[str, ...] = (
    "annual_cost",
    "transition_cost",
    "outcome",
    "flexibility",
    "social_value",
    "risk",
    "staff_transferred",
    "contract_years",
    "lead_time_years",
    "indexation",
)

_FIGURE_SET = frozenset(OPTION_FIGURES)

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class Mode(BaseModel):
    """A delivery vehicle: in-house, a private contractor, a trading company, ..."""

    model_config = _STRICT

    id: Identifier
    """Unique id, referenced by options, ``fixed`` and ``limits``."""
    sector: Sector
    """public, private, voluntary or community: the key of ``sector_share``."""
    name: str | None = None
    """Human-readable name for reports."""
    setup_cost: NonNegative = 0.0
    """One-off cost paid once if any service uses the mode (0 for vehicles that exist today)."""
    max_services: YearlyCount | None = None
    """Market capacity: at most this many services may use the mode (multi-year: per year, one
    number or a list with one value per year)."""
    max_spend: YearlyNonNegative | None = None
    """Market capacity: at most this much annual spend may go to the mode (multi-year: per year)."""
    min_services: Annotated[int, Field(ge=0)] | None = None
    """If the mode is used at all, at least this many services use it."""
    ceases_service: bool = False
    """The mode stops the service; statutory services may never use it."""

    @model_validator(mode="after")
    def _min_below_max(self) -> Mode:
        if (
            self.min_services is not None
            and self.max_services is not None
            and not is_per_year(self.max_services)
            and self.min_services > self.max_services
        ):
            raise ValueError(
                f"min_services ({self.min_services}) exceeds max_services ({self.max_services})"
            )
        return self


class Option(BaseModel):
    """One way to run one service in one mode, with its figures."""

    model_config = _STRICT

    mode: Identifier
    """The mode this option delivers the service in."""
    annual_cost: YearlyNonNegative
    """Cost per year; with a horizon, optionally a list with the cost of each horizon year."""
    outcome: Finite
    """Outcome score for residents (multiplied by the service weight in the objective)."""
    transition_cost: NonNegative = 0.0
    """One-off cost (procurement, TUPE, pension bond), paid only if the mode changes."""
    flexibility: Fraction | None = None
    """0 (locked in) to 1 (can change at will); required when ``min_flexibility`` is set."""
    contract_years: Annotated[int, Field(ge=1)] | None = None
    """Contract length in years."""
    lead_time_years: Annotated[int, Field(ge=0)] | None = None
    """Years needed to procure or set up before the option can start (multi-year: it can start in
    horizon year index ``lead_time_years`` or later)."""
    indexation: Annotated[
        float, Field(gt=-1, allow_inf_nan=False), AfterValidator(_within_range)
    ] = 0.0
    """Yearly cost growth (multi-year): the year-t cost is ``annual_cost * (1 + indexation)**t``,
    t the 0-based horizon year, whenever the contract began. Not combined with a list of costs."""
    social_value: Finite | None = None
    """Social value score (PPN 06/20)."""
    risk: Finite | None = None
    """Risk score."""
    staff_transferred: NonNegative | None = None
    """Staff transferred (TUPE) if this option is chosen."""
    label: str | None = None
    """Human-readable name of the option, e.g. "8-year contract"."""
    current: bool = False
    """Marks the option that is today's arrangement (else: the first option in the current mode)."""
    metrics: dict[Identifier, Finite] = Field(default_factory=dict)
    """Any further named figures, usable in ``limits`` and weighted objectives."""

    @field_validator("metrics")
    @classmethod
    def _no_shadowing(cls, metrics: dict[str, float]) -> dict[str, float]:
        if not metrics or _FIGURE_SET.isdisjoint(metrics):
            return metrics
        clash = sorted(set(metrics) & _FIGURE_SET)
        if clash:
            raise ValueError(
                f"metrics may not redefine the option field(s) {', '.join(clash)}; set the field"
            )
        return metrics

    @model_validator(mode="after")
    def _costs_one_way(self) -> Option:
        if self.indexation != 0 and is_per_year(self.annual_cost):
            raise ValueError(
                "give either indexation or annual_cost as a list of yearly costs, not both"
            )
        return self

    def figure(self, name: str) -> float:
        """Value of a named figure: the option's own field, else its ``metrics`` entry, else 0.

        A per-year ``annual_cost`` gives its first year's value; see :meth:`figure_in_year`.
        """
        if name in OPTION_FIGURES:
            value = getattr(self, name)
            if is_per_year(value):
                return float(value[0])
            return 0.0 if value is None else float(value)
        return float(self.metrics.get(name, 0.0))

    def annual_cost_in_year(self, year: int) -> float:
        """Annual cost in 0-based horizon year ``year``: the list's entry, else indexed."""
        if is_per_year(self.annual_cost):
            return float(self.annual_cost[year])  # type: ignore[index]
        return float(self.annual_cost) * (1.0 + self.indexation) ** year

    def figure_in_year(self, name: str, year: int) -> float:
        """A named figure in horizon year ``year``: ``annual_cost`` indexed, the others constant.

        ``transition_cost`` is the option's own figure here; whether it is paid depends on the plan.
        """
        if name == "annual_cost":
            return self.annual_cost_in_year(year)
        return self.figure(name)


class Service(BaseModel):
    """A line of council business and the options for delivering it."""

    model_config = _STRICT

    id: Identifier
    """Unique id."""
    current_mode: Identifier
    """How the service is delivered today; changing away from it costs ``transition_cost``."""
    options: list[Option] = Field(min_length=1)
    """The ways this service could be delivered."""
    name: str | None = None
    """Human-readable name."""
    group: str | None = None
    """Service group for reports (e.g. "Highways and transport")."""
    weight: NonNegative = 1.0
    """Importance in the outcome objective."""
    statutory: bool = False
    """The council must provide it: a mode that ceases the service is never allowed."""
    current_contract_end: int | None = None
    """Multi-year: the last calendar year the current arrangement is fixed (locked), at least the
    horizon's start year. While locked the service runs its current option (the one marked
    ``current``, else the first in ``current_mode``)."""
    termination_cost: NonNegative | None = None
    """Multi-year: fee for breaking the current contract, paid in the year it is broken (the new
    arrangement starts that year). Absent: the contract cannot be broken."""

    # A service read by the fast reader holds its options as columns until something asks for
    # them (:class:`UnbuiltOptions` in ``__dict__``; ``Service.options`` builds them). The
    # methods below read ``__dict__`` directly (pydantic's own code and its C serializer do), so
    # each builds the options first; any other reader of the stand-in fails loudly.
    def __eq__(self, other: object) -> bool:
        build_options(self)
        if isinstance(other, Service):
            build_options(other)
        return super().__eq__(other)

    def __copy__(self) -> Service:
        build_options(self)
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Service:
        build_options(self)
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        build_options(self)
        return super().__getstate__()

    def __iter__(self) -> Any:
        build_options(self)
        return super().__iter__()

    def __repr_args__(self) -> Any:
        build_options(self)
        return super().__repr_args__()

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        build_options(self)
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        build_options(self)
        return super().model_dump_json(**kwargs)


class OptionSource(typing.Protocol):
    """Where a service's options wait to be built (``portfolio.columnar``'s store)."""

    def build_options(self, service: int) -> list[Option]:
        """The ``Option`` objects of service number ``service``, exactly as validation builds
        them."""


def _unbuilt_serialized(value: Any) -> Any:
    raise RuntimeError(
        "a service's options were serialized before they were built: serialize the instance "
        "or service with its own model_dump/model_dump_json, or read service.options first"
    )


class UnbuiltOptions:
    """Stand-in for a service's options held as columns, in the service's ``__dict__`` until
    ``Service.options`` is first read. Every other way of reading it (pydantic's serializer,
    ``==``, copying, pickling, iterating) raises: never a silently empty list.

    Attributes:
        source: the store the options are built from.
        index: the service's position in the instance.
    """

    __slots__ = ("index", "source")
    __hash__ = None  # type: ignore[assignment]
    __pydantic_serializer__ = pydantic_core.SchemaSerializer(
        pydantic_core.core_schema.any_schema(
            serialization=pydantic_core.core_schema.plain_serializer_function_ser_schema(
                _unbuilt_serialized
            )
        )
    )

    def __init__(self, source: OptionSource, index: int) -> None:
        self.source = source
        self.index = index

    def _refuse(self, *args: Any) -> Any:
        raise RuntimeError(
            f"the options of service number {self.index} were read before they were built"
        )

    __eq__ = __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = _refuse
    __iter__ = __len__ = __getitem__ = __bool__ = _refuse

    def __repr__(self) -> str:
        return f"<options of service number {self.index}, not built yet>"


_BUILDING = threading.Lock()


def build_options(service: Service) -> list[Option] | None:
    """The service's options, built from their columns first if the reader left them there
    (once: two threads asking at once get the same list); None for a service made by
    ``model_construct`` without options."""
    state = service.__dict__
    if type(state.get("options")) is UnbuiltOptions:
        with _BUILDING:
            options = state["options"]
            if type(options) is UnbuiltOptions:
                state["options"] = options.source.build_options(options.index)
    built: list[Option] | None = state.get("options")
    return built


def build_all_options(instance: Instance) -> None:
    """Build every service's options that the fast reader left as columns."""
    for service in instance.services:
        if type(service.__dict__.get("options")) is UnbuiltOptions:
            build_options(service)


_MISSING = object()


class _OptionsField:
    """``Service.options``: the list, built first when the service holds it as columns."""

    def __get__(self, service: Service | None, owner: type | None = None) -> list[Option]:
        if service is None:
            raise AttributeError("options")
        options = service.__dict__.get("options", _MISSING)
        if type(options) is list:
            return options
        built = build_options(service) if options is not _MISSING else None
        if built is None:  # model_construct() without options: as pydantic would say
            raise AttributeError(f"'{type(service).__name__}' object has no attribute 'options'")
        return built

    def __set__(self, service: Service, value: Any) -> None:
        service.__dict__["options"] = value  # only object.__setattr__ gets here (frozen model)


type.__setattr__(Service, "options", _OptionsField())


class Limit(BaseModel):
    """A generic row over an option figure, optionally restricted to one mode or sector."""

    model_config = _STRICT

    metric: Identifier
    """Figure name: an option field (annual_cost, outcome, ...) or a ``metrics`` key."""
    max: YearlyFinite | None = None
    """Upper limit on the sum of the figure over the chosen options (multi-year: per year)."""
    min: YearlyFinite | None = None
    """Lower limit on the sum of the figure over the chosen options (multi-year: per year)."""
    mode: Identifier | None = None
    """Count only options in this mode."""
    sector: Sector | None = None
    """Count only options whose mode is in this sector."""

    @model_validator(mode="after")
    def _has_bound(self) -> Limit:
        if self.max is None and self.min is None:
            raise ValueError("a limits row needs 'max', 'min' or both")
        _check_min_below_max(self.min, self.max)
        return self


class ShareBound(BaseModel):
    """Bounds on one sector's share of total annual spend."""

    model_config = _STRICT

    min: YearlyFraction | None = None
    """Lowest share, 0 to 1 (multi-year: per year)."""
    max: YearlyFraction | None = None
    """Highest share, 0 to 1 (multi-year: per year)."""

    @model_validator(mode="after")
    def _has_bound(self) -> ShareBound:
        if self.max is None and self.min is None:
            raise ValueError("a sector share needs 'min', 'max' or both")
        _check_min_below_max(self.min, self.max)
        return self


def _check_min_below_max(low: Any, high: Any) -> None:
    """Raise ValueError when a min exceeds its max (year by year when either is a list)."""
    if low is None or high is None:
        return
    if not is_per_year(low) and not is_per_year(high):
        if low > high:
            raise ValueError(f"min ({low}) exceeds max ({high})")
        return
    lows = list(low) if is_per_year(low) else None
    highs = list(high) if is_per_year(high) else None
    years = len(lows if lows is not None else highs or [])
    if lows is not None and highs is not None and len(lows) != len(highs):
        return  # reported against the horizon by check_references
    for year in range(years):
        lo = lows[year] if lows is not None else low
        hi = highs[year] if highs is not None else high
        if lo > hi:
            raise ValueError(f"min ({lo}) exceeds max ({hi}) in year index {year}")


class Constraints(BaseModel):
    """The council's limits. Every key is optional."""

    model_config = _STRICT

    budget: YearlyNonNegative | None = None
    """Sum of annual_cost of the chosen options may not exceed this (multi-year: each year; one
    number or a list with one value per year, as every limit below except bundles and fixed)."""
    transition_budget: YearlyNonNegative | None = None
    """Transition costs of services changing mode plus setup costs of modes used (multi-year: the
    transition, setup and termination costs paid each year)."""
    min_flexibility: YearlyFraction | None = None
    """Spend-weighted mean flexibility must reach this (multi-year: each year)."""
    min_outcome: YearlyFinite | None = None
    """Sum of weight * outcome must reach this (multi-year: each year)."""
    max_changes: YearlyCount | None = None
    """At most this many services may change mode (multi-year: from the year before, each year)."""
    sector_share: dict[Sector, ShareBound] = Field(default_factory=dict)
    """Bounds on each sector's share of total annual spend."""
    same_mode: list[list[Identifier]] = Field(default_factory=list)
    """Bundles: the services of each list must use one mode."""
    fixed: dict[Identifier, Identifier] = Field(default_factory=dict)
    """Red lines: service id -> the mode it must use."""
    limits: list[Limit] = Field(default_factory=list)
    """Generic rows over option figures."""
    max_modes_used: YearlyCount | None = None
    """At most this many distinct modes may be in use, modes that cease a service not counted
    (multi-year: each year; one number or a list with one value per year)."""


class WeightedObjective(BaseModel):
    """A weighted sum of figures to maximise or minimise (outcome times the service weight)."""

    model_config = _STRICT

    maximise: dict[Identifier, Finite] | None = None
    """Figure name -> weight, to maximise."""
    minimise: dict[Identifier, Finite] | None = None
    """Figure name -> weight, to minimise."""

    @model_validator(mode="before")
    @classmethod
    def _us_spelling(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            renamed = {"maximize": "maximise", "minimize": "minimise"}
            return {renamed.get(key, key): value for key, value in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> WeightedObjective:
        if (self.maximise is None) == (self.minimise is None):
            raise ValueError("give exactly one of 'maximise' or 'minimise'")
        terms = self.terms
        if not terms:
            raise ValueError("the weighted objective names no figure")
        return self

    @property
    def sense(self) -> Literal["maximise", "minimise"]:
        """Direction of optimisation."""
        return "maximise" if self.maximise is not None else "minimise"

    @property
    def terms(self) -> dict[str, float]:
        """Figure name -> weight."""
        return dict(self.maximise if self.maximise is not None else self.minimise or {})


class Horizon(BaseModel):
    """The planning horizon of a multi-year instance (DESIGN.md, "Multi-year planning")."""

    model_config = _STRICT

    start_year: Annotated[int, Field(ge=1900, le=3000)]
    """Calendar year of horizon year index 0."""
    years: Annotated[int, Field(ge=1, le=50)]
    """Number of years planned."""
    discount_rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.035
    """Yearly discount rate of the objective: year t weighs (1 + rate)**-t (Green Book: 3.5%)."""

    @property
    def calendar_years(self) -> list[int]:
        """The calendar year of each horizon year."""
        return [self.start_year + t for t in range(self.years)]

    def discount_factor(self, year: int) -> float:
        """(1 + discount_rate)**-year for 0-based horizon year ``year``."""
        return float((1.0 + self.discount_rate) ** -year)


# ---------------------------------------------------------------------- funding scenarios
Factor = Annotated[float, Field(gt=0, allow_inf_nan=False), AfterValidator(_within_range)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class LimitOverride(BaseModel):
    """A scenario's bounds for one ``limits`` row (given by its position)."""

    model_config = _STRICT

    max: YearlyFinite | None = None
    """Upper limit in this scenario (one number, or one per year)."""
    min: YearlyFinite | None = None
    """Lower limit in this scenario (one number, or one per year)."""

    @model_validator(mode="after")
    def _has_bound(self) -> LimitOverride:
        if self.max is None and self.min is None:
            raise ValueError("a limits override needs 'max', 'min' or both")
        return self


class ScenarioConstraints(BaseModel):
    """The yearly limits a funding scenario overrides; every key is optional and replaces the
    instance's value of that key (a sector share or a ``limits`` row: the bounds given)."""

    model_config = _STRICT

    budget: YearlyNonNegative | None = None
    """The budget in this scenario (one number, or one per year)."""
    transition_budget: YearlyNonNegative | None = None
    """The transition budget in this scenario."""
    min_flexibility: YearlyFraction | None = None
    """The flexibility floor in this scenario."""
    min_outcome: YearlyFinite | None = None
    """The outcome floor in this scenario."""
    max_changes: YearlyCount | None = None
    """The changes allowed per year in this scenario."""
    sector_share: dict[Sector, ShareBound] = Field(default_factory=dict)
    """Sector share bounds in this scenario (the bounds given replace the instance's)."""
    limits: dict[str, LimitOverride] = Field(default_factory=dict)
    """``limits`` rows by position (0 is the first row): the bounds given replace the row's."""

    @field_validator("limits", mode="before")
    @classmethod
    def _positions(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(key): item for key, item in value.items()}
        return value


def _factor_kind(value: Any) -> str:
    return "by_sector" if isinstance(value, Mapping) else "all"


if TYPE_CHECKING:
    CostFactor = list[float] | dict[str, list[float]]
else:
    CostFactor = Annotated[
        Annotated[list[Factor], Field(min_length=1), Tag("all")]
        | Annotated[dict[Sector, Annotated[list[Factor], Field(min_length=1)]], Tag("by_sector")],
        Discriminator(_factor_kind),
    ]


class Scenario(BaseModel):
    """One funding future of a multi-year instance (issue 9; models/scenarios.md)."""

    model_config = _STRICT

    name: Identifier
    """Unique name, used in reports and results."""
    probability: Probability
    """Its probability; the scenarios' probabilities sum to 1."""
    constraints: ScenarioConstraints = Field(default_factory=ScenarioConstraints)
    """The yearly limits that differ from the instance's in this scenario."""
    cost_factor: CostFactor | None = None
    """Year-t factor on every option's annual cost (one list), or per sector (a mapping); 1 where
    none is given. Transition, setup and termination costs are not factored."""

    def factor(self, sector: str, year: int) -> float:
        """The factor on annual costs of ``sector`` in horizon year ``year``."""
        if self.cost_factor is None:
            return 1.0
        if isinstance(self.cost_factor, Mapping):
            factors = self.cost_factor.get(sector)
            return 1.0 if factors is None else float(factors[year])
        return float(self.cost_factor[year])


class CVaR(BaseModel):
    """Conditional value at risk: the mean objective over the worst ``cvar`` of probability."""

    model_config = _STRICT

    cvar: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    """The tail's probability mass (0.2: the mean of the worst 20%)."""


def _risk_kind(value: Any) -> str:
    return "cvar" if isinstance(value, Mapping | CVaR) else "name"


if TYPE_CHECKING:
    RiskField = Literal["expected", "worst_case"] | CVaR
else:
    RiskField = Annotated[
        Annotated[Literal["expected", "worst_case"], Tag("name")] | Annotated[CVaR, Tag("cvar")],
        Discriminator(_risk_kind),
    ]
class Investment(BaseModel):
    """A one-off investment that raises a mode's capacity (models/, "investments")."""

    model_config = _STRICT

    id: Identifier
    """Unique id, shown in results."""
    mode: Identifier
    """The mode whose ``max_services`` and/or ``max_spend`` it raises."""
    cost: NonNegative
    """One-off money, counted in ``transition_budget`` in the year it is made and in cost
    objectives (discounted)."""
    max_services: Count = 0
    """Services added to the mode's ``max_services`` once the investment takes effect."""
    max_spend: NonNegative = 0.0
    """Spend added to the mode's ``max_spend`` once the investment takes effect."""
    years_to_effect: Count = 0
    """Years from making the investment to its effect (single period: 0)."""
    name: str | None = None
    """Human-readable name for reports."""

    @model_validator(mode="after")
    def _raises_something(self) -> Investment:
        if self.max_services == 0 and self.max_spend == 0:
            raise ValueError("an investment needs 'max_services', 'max_spend' or both above 0")
        return self


class EffectWhen(BaseModel):
    """The arrangement that produces an effect: a service running in a mode."""

    model_config = _STRICT

    service: Identifier
    """The service whose arrangement has the effect."""
    mode: Identifier
    """The mode it must run in."""


class Effect(BaseModel):
    """A prevention effect: a service in a mode lowers the spend on, or improves the outcome of,
    another service (models/, "effects")."""

    model_config = _STRICT

    when: EffectWhen
    """The arrangement that produces the effect."""
    on: Identifier
    """The service the effect lands on."""
    saving: NonNegative = 0.0
    """Spend the council saves in the year the effect lands (counted against the budget and in
    cost objectives)."""
    outcome: Finite = 0.0
    """Outcome gained by service ``on`` (times its weight) in the year the effect lands."""
    lag_years: Count = 0
    """Years from the arrangement to its effect (single period: 0)."""

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        """YAML 1.1 reads an unquoted key ``on`` as the boolean true: take it as ``on``."""
        if isinstance(data, Mapping) and True in data and "on" not in data:
            return {("on" if key is True else key): value for key, value in data.items()}
        return data

    @model_validator(mode="after")
    def _does_something(self) -> Effect:
        if self.saving == 0 and self.outcome == 0:
            raise ValueError("an effect needs a 'saving', an 'outcome' or both")
        return self


ObjectiveName = Literal["maximise_outcome", "minimise_cost"]
_OBJECTIVE_ALIASES = {"maximize_outcome": "maximise_outcome", "minimize_cost": "minimise_cost"}
OBJECTIVE_NAMES: tuple[str, ...] = ("maximise_outcome", "minimise_cost")


def _objective_kind(value: Any) -> str:
    """Which form of objective a value is: a name, or a weighted sum (a mapping)."""
    return "weighted" if isinstance(value, Mapping | WeightedObjective) else "name"


if TYPE_CHECKING:
    ObjectiveField = ObjectiveName | WeightedObjective
else:
    ObjectiveField = Annotated[
        Annotated[ObjectiveName, Tag("name")] | Annotated[WeightedObjective, Tag("weighted")],
        Discriminator(_objective_kind),
    ]


class Instance(BaseModel):
    """A whole instance: modes, services, constraints, the objective and, for multi-year
    planning, the horizon."""

    model_config = _STRICT

    name: str = "unnamed instance"
    """Name shown in reports."""
    description: str | None = None
    """Free text."""
    currency: str | None = None
    """Unit of every money figure in the file (e.g. "£k")."""
    modes: list[Mode] = Field(min_length=1)
    """The delivery vehicles."""
    services: list[Service] = Field(min_length=1)
    """The council's services."""
    constraints: Constraints = Field(default_factory=Constraints)
    """The limits."""
    objective: ObjectiveField = "maximise_outcome"
    """maximise_outcome (default), minimise_cost, or a weighted sum of figures."""
    horizon: Horizon | None = None
    """Multi-year planning horizon; absent for the single-period model."""
    scenarios: Annotated[list[Scenario], Field(min_length=1)] | None = None
    """Funding scenarios (multi-year only): the plan must hold in each, deciding each year only
    on what is known by then (models/scenarios.md)."""
    risk: RiskField | None = None
    """How the scenarios' objectives combine: ``expected`` (the default), ``worst_case`` or
    ``{cvar: alpha}``."""
    investments: list[Investment] = Field(default_factory=list)
    """Capacity-building investments the plan may make (each at most once)."""
    effects: list[Effect] = Field(default_factory=list)
    """Prevention effects: how one service's mode changes another's cost and outcome."""

    @field_validator("objective", mode="before")
    @classmethod
    def _objective_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _OBJECTIVE_ALIASES.get(value, value)
            if value not in OBJECTIVE_NAMES:
                raise ValueError(
                    f"unknown objective '{shown(value)}': use maximise_outcome, minimise_cost, "
                    "or a weighted sum such as {maximise: {outcome: 1, social_value: 0.2}}"
                    + did_you_mean(value, [*OBJECTIVE_NAMES, *_OBJECTIVE_ALIASES])
                )
        return value

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(cls, data: Any, source: str = "<data>") -> Instance:
        """Validate parsed file contents (dicts and lists) into an instance.

        Args:
            data: the parsed contents of an instance file.
            source: the file name used in error messages.

        Raises:
            ValidationError: listing every issue found, each naming file, item and field.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                [InputIssue(source, "instance", "", "the top level must be a mapping of keys")]
            )
        try:
            instance = cls.model_validate(data)
        except pydantic.ValidationError as exc:
            issues = _pydantic_issues(exc, data, source)
            # Reference errors too, from whatever parsed: every error at once.
            issues += [i for i in raw_reference_issues(data, source) if i not in issues]
            raise ValidationError(issues) from None
        issues = check_references(instance, source)
        if issues:
            raise ValidationError(issues)
        return instance

    # The serializer reads each service's ``__dict__`` from C: options the fast reader left as
    # columns are built first (``Service`` covers ``==``, copies, pickling and ``repr``).
    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        build_all_options(self)
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        build_all_options(self)
        return super().model_dump_json(**kwargs)

    # ------------------------------------------------------------------ conveniences
    def mode(self, mode_id: str) -> Mode:
        """The mode with this id."""
        return self._mode_index()[mode_id]

    def service(self, service_id: str) -> Service:
        """The service with this id."""
        for service in self.services:
            if service.id == service_id:
                return service
        raise KeyError(service_id)

    def _mode_index(self) -> dict[str, Mode]:
        return {mode.id: mode for mode in self.modes}

    @property
    def objective_sense(self) -> Literal["maximise", "minimise"]:
        """maximise or minimise."""
        if isinstance(self.objective, WeightedObjective):
            return self.objective.sense
        return "maximise" if self.objective == "maximise_outcome" else "minimise"

    @property
    def objective_label(self) -> str:
        """The objective as the user stated it, for reports."""
        if isinstance(self.objective, WeightedObjective):
            terms = " + ".join(f"{w:g}*{name}" for name, w in self.objective.terms.items())
            return f"{self.objective.sense} {terms}"
        return self.objective


def current_option_index(service: Service) -> int | None:
    """Index of today's option: the one marked ``current``, else the first in ``current_mode``."""
    for index, option in enumerate(service.options):
        if option.current:
            return index
    for index, option in enumerate(service.options):
        if option.mode == service.current_mode:
            return index
    return None


# ---------------------------------------------------------------------- reference checks
def check_references(
    instance: Instance, source: str = "<data>", *, option_metrics: set[str] | None = None
) -> list[InputIssue]:
    """Check what pydantic cannot: references between items and impossible combinations.

    Args:
        instance: the instance, as pydantic validated it.
        source: the file name used in messages.
        option_metrics: the metric names of the options, from a reader that has already checked
            every service's options (their modes, the current option, statutory services,
            required flexibility, yearly costs, lead times) and that the service ids are
            distinct, a column at a time: those checks are then not repeated.

    Returns every issue found (an empty list when the instance is valid).
    """
    issues: list[InputIssue] = []

    def add(item: str, field: str, message: str) -> None:
        issues.append(InputIssue(source, item, field, message))

    _check_duplicates((m.id for m in instance.modes), "mode", "id", add)
    if option_metrics is None:  # else the reader found the service ids distinct
        _check_duplicates((s.id for s in instance.services), "service", "id", add)
    modes = instance._mode_index()
    service_ids = {service.id for service in instance.services}
    constraints = instance.constraints
    known_metrics = set(OPTION_FIGURES)

    need_flexibility = constraints.min_flexibility is not None
    if option_metrics is not None:
        known_metrics |= option_metrics
    for service in instance.services if option_metrics is None else ():
        item = f"service '{service.id}'"
        options = service.options
        option_modes = {option.mode for option in options}
        for option in options:
            if option.metrics:
                known_metrics.update(option.metrics)
        if need_flexibility or not option_modes <= modes.keys():
            for index, option in enumerate(options):
                if option.mode not in modes:
                    add(item, f"options[{index}].mode", unknown("mode", option.mode, modes))
                if need_flexibility and option.flexibility is None:
                    add(
                        item,
                        f"options[{index}].flexibility",
                        "required because constraints.min_flexibility is set",
                    )
        if service.current_mode not in modes:
            add(item, "current_mode", unknown("mode", service.current_mode, modes))
        elif service.current_mode not in option_modes:
            add(item, "current_mode", f"'{service.current_mode}' has no option in this service")
        marked = [i for i, option in enumerate(options) if option.current]
        if len(marked) > 1:
            add(item, "options", f"options {marked} are all marked current; mark at most one")
        elif marked and service.options[marked[0]].mode != service.current_mode:
            add(
                item,
                f"options[{marked[0]}].current",
                f"the current option must be in current_mode '{service.current_mode}'",
            )
        if service.statutory and option_modes <= set(modes):
            if all(modes[m].ceases_service for m in option_modes):
                add(item, "options", "statutory service whose only options cease it")

    by_id: dict[str, Service] = {}
    for service in instance.services if constraints.fixed else ():
        by_id.setdefault(service.id, service)
    for service_id, mode_id in constraints.fixed.items():
        field = f"fixed.{service_id}"
        if service_id not in service_ids:
            add("constraints", field, unknown("service", service_id, service_ids))
            continue
        if mode_id not in modes:
            add("constraints", field, unknown("mode", mode_id, modes))
            continue
        service = by_id[service_id]
        if all(option.mode != mode_id for option in service.options):
            add(
                f"service '{service_id}'",
                f"constraints.fixed.{service_id}",
                f"fixed to '{mode_id}' but the service has no option in that mode",
            )
        elif service.statutory and modes[mode_id].ceases_service:
            add(
                f"service '{service_id}'",
                f"constraints.fixed.{service_id}",
                f"statutory service fixed to '{mode_id}', which ceases it",
            )

    seen_in_bundle: dict[str, int] = {}
    for index, bundle in enumerate(constraints.same_mode):
        field = f"same_mode[{index}]"
        if len(bundle) < 2:
            add("constraints", field, "a bundle needs at least two services")
        if len(set(bundle)) != len(bundle):
            add("constraints", field, "a service appears twice in the bundle")
        for service_id in bundle:
            if service_id not in service_ids:
                add("constraints", field, unknown("service", service_id, service_ids))
            seen_in_bundle.setdefault(service_id, index)

    for index, limit in enumerate(constraints.limits):
        field = f"limits[{index}]"
        if limit.mode is not None and limit.mode not in modes:
            add("constraints", f"{field}.mode", unknown("mode", limit.mode, modes))
        if limit.metric not in known_metrics:
            add("constraints", f"{field}.metric", _unknown_metric(limit.metric, known_metrics))

    if isinstance(instance.objective, WeightedObjective):
        special = {"setup_cost"} | ({"termination_cost"} if instance.horizon else set())
        special |= {"investment_cost"} if instance.investments else set()
        for name in instance.objective.terms:
            if name not in known_metrics and name not in special:
                add(
                    "objective",
                    f"{instance.objective.sense}.{name}",
                    _unknown_metric(name, known_metrics | special),
                )
    _check_multi_year(instance, add, options_checked=option_metrics is not None)
    _check_scenarios(instance, add)
    _check_mix(instance, add)
    return issues


def _yearly_fields(instance: Instance, options: bool = True) -> Iterable[tuple[str, str, Any]]:
    """Every field that may hold one value per year: (item, field, value); the options' annual
    costs only with ``options``."""
    constraints = instance.constraints
    for name in ("budget", "transition_budget", "min_flexibility", "min_outcome", "max_changes"):
        yield "constraints", name, getattr(constraints, name)
    yield "constraints", "max_modes_used", constraints.max_modes_used
    for sector, bound in constraints.sector_share.items():
        yield "constraints", f"sector_share.{sector}.min", bound.min
        yield "constraints", f"sector_share.{sector}.max", bound.max
    for index, limit in enumerate(constraints.limits):
        yield "constraints", f"limits[{index}].max", limit.max
        yield "constraints", f"limits[{index}].min", limit.min
    for mode in instance.modes:
        yield f"mode '{mode.id}'", "max_services", mode.max_services
        yield f"mode '{mode.id}'", "max_spend", mode.max_spend
    if not options:
        return
    for service in instance.services:
        if not any(isinstance(option.annual_cost, _SEQUENCES) for option in service.options):
            continue  # one number each (almost every service): nothing to yield that matters
        for index, option in enumerate(service.options):
            yield f"service '{service.id}'", f"options[{index}].annual_cost", option.annual_cost


def _check_multi_year(instance: Instance, add: Any, options_checked: bool = False) -> None:
    """Multi-year fields: lists only with a horizon and of its length; contracts and lead times.

    Decisions (models/multi_year.md): ``current_contract_end`` before the horizon's start year is
    an error (omit it when the service is not locked); ``termination_cost`` needs a
    ``current_contract_end``; an option whose ``lead_time_years`` is at least the horizon's length
    could never start and is an error. Without a horizon, per-year lists, ``current_contract_end``
    and ``termination_cost`` are errors (the single-period model would silently ignore them).
    With ``options_checked`` (a reader checked the options' yearly costs and lead times, and the
    services' contract ends and termination fees, a column at a time) neither the options nor
    those service fields are read again.
    """
    horizon = instance.horizon
    options = not options_checked
    if horizon is None:
        for item, field, value in _yearly_fields(instance, options):
            if is_per_year(value):
                add(item, field, "a list of yearly values needs a horizon "
                    "(horizon: {start_year, years}); give one number for a single-period plan")
        for service in instance.services if options else ():
            for field in ("current_contract_end", "termination_cost"):
                if getattr(service, field) is not None:
                    add(f"service '{service.id}'", field,
                        "only meaningful in multi-year planning: add a horizon or remove it")
        return
    years = horizon.years
    span = f"{horizon.start_year}-{horizon.start_year + years - 1}"
    for item, field, value in _yearly_fields(instance, options):
        if is_per_year(value) and len(value) != years:
            add(item, field, f"has {len(value)} yearly values; the horizon ({span}) has {years}")
    for service in instance.services if options else ():
        item = f"service '{service.id}'"
        end = service.current_contract_end
        if end is not None and end < horizon.start_year:
            add(item, "current_contract_end",
                f"{end} is before the horizon starts ({horizon.start_year}); omit it if the "
                "service is not locked into its current contract")
        if service.termination_cost is not None and end is None:
            add(item, "termination_cost",
                "needs current_contract_end: only the existing contract can be broken")
        if not options:
            continue
        leads = [option.lead_time_years for option in service.options]
        if not any(lead is not None and lead >= years for lead in leads):
            continue
        for index, lead in enumerate(leads):
            if lead is not None and lead >= years:
                add(item, f"options[{index}].lead_time_years",
                    f"a lead time of {lead} years is beyond the {years}-year horizon ({span}): "
                    "the option could never start")


def _check_scenarios(instance: Instance, add: Any) -> None:
    """Funding scenarios: only with a horizon; names unique; probabilities summing to 1 (within
    :data:`PROBABILITY_TOL`); every list of the horizon's length; ``limits`` positions that
    exist; a min not above its max once the scenario's values replace the instance's."""
    scenarios = instance.scenarios
    if scenarios is None:
        if instance.risk is not None:
            add("risk", "risk", "a risk measure needs funding scenarios (scenarios: [...])")
        return
    horizon = instance.horizon
    if horizon is None:
        add("scenarios", "scenarios", "funding scenarios need a multi-year horizon "
            "(horizon: {start_year, years})")
        return
    years = horizon.years
    span = f"{horizon.start_year}-{horizon.start_year + years - 1}"
    _check_duplicates((s.name for s in scenarios), "scenario", "name", add)
    total = math.fsum(s.probability for s in scenarios)
    if abs(total - 1.0) > PROBABILITY_TOL:
        add("scenarios", "probability",
            f"the scenarios' probabilities sum to {total:.10g}; they must sum to 1")
    base = instance.constraints
    for scenario in scenarios:
        item = f"scenario '{scenario.name}'"
        own = scenario.constraints
        lists: list[tuple[str, Any]] = [
            (f"constraints.{name}", getattr(own, name))
            for name in ("budget", "transition_budget", "min_flexibility", "min_outcome",
                         "max_changes")
        ]
        for sector, bound in own.sector_share.items():
            lists += [(f"constraints.sector_share.{sector}.min", bound.min),
                      (f"constraints.sector_share.{sector}.max", bound.max)]
            old = base.sector_share.get(sector)
            low = bound.min if bound.min is not None or old is None else old.min
            high = bound.max if bound.max is not None or old is None else old.max
            try:
                _check_min_below_max(low, high)
            except ValueError as exc:
                add(item, f"constraints.sector_share.{sector}", str(exc))
        for key, override in own.limits.items():
            field = f"constraints.limits.{key}"
            if not key.isdigit() or int(key) >= len(base.limits):
                rows = (f"positions 0 to {len(base.limits) - 1}" if base.limits
                        else "the instance has no limits rows")
                add(item, field, f"there is no limits row at position '{shown(key)}' ({rows})")
                continue
            lists += [(f"{field}.max", override.max), (f"{field}.min", override.min)]
            row = base.limits[int(key)]
            try:
                _check_min_below_max(override.min if override.min is not None else row.min,
                                     override.max if override.max is not None else row.max)
            except ValueError as exc:
                add(item, field, str(exc))
        factor = scenario.cost_factor
        if isinstance(factor, Mapping):
            lists += [(f"cost_factor.{sector}", values) for sector, values in factor.items()]
        elif factor is not None:
            lists.append(("cost_factor", factor))
        for field, value in lists:
            if is_per_year(value) and len(value) != years:
                add(item, field, f"has {len(value)} yearly values; the horizon ({span}) has "
                    f"{years}")


PROBABILITY_TOL = 1e-6
"""How far the scenarios' probabilities may sum from 1."""


def limit_values(instance: Instance, year: int) -> tuple[float | None, ...]:
    """Each yearly limit's value in horizon year ``year`` (None where a limit is not set)."""
    return tuple(value_in_year(value, year) for _, _, value in _yearly_fields(instance, False))


def _check_mix(instance: Instance, add: Any) -> None:
    """Investments and effects: references, timing and amounts (models/, "investments",
    "effects").

    Decisions: raising a cap the mode does not have is an error; without a horizon an
    investment's ``years_to_effect`` and an effect's ``lag_years`` must be 0; an effect's saving
    may not exceed the cheapest option of the service it lands on (in any year), and an effect
    may not land on the service that produces it.
    """
    modes = instance._mode_index()
    services = {service.id: service for service in instance.services}
    horizon = instance.horizon
    seen: set[str] = set()
    for investment in instance.investments:
        item = f"investment '{investment.id}'"
        if investment.id in seen:
            add(item, "id", "duplicate investment id")
        seen.add(investment.id)
        mode = modes.get(investment.mode)
        if mode is None:
            add(item, "mode", unknown("mode", investment.mode, modes))
        else:
            for field in ("max_services", "max_spend"):
                if getattr(investment, field) and getattr(mode, field) is None:
                    add(item, field, f"raises the {field} of mode '{investment.mode}', which has "
                        f"no {field}: give the mode a {field} or remove it here")
        if horizon is None and investment.years_to_effect:
            add(item, "years_to_effect",
                "must be 0 or absent in a single-period plan (investments take effect at once)")
        elif horizon is not None and investment.years_to_effect >= horizon.years:
            add(item, "years_to_effect",
                f"{investment.years_to_effect} years is beyond the {horizon.years}-year "
                "horizon: the investment could never take effect")
    for index, effect in enumerate(instance.effects):
        item = f"effects[{index}]"
        source = services.get(effect.when.service)
        if source is None:
            add(item, "when.service", unknown("service", effect.when.service, services))
        elif effect.when.mode not in modes:
            add(item, "when.mode", unknown("mode", effect.when.mode, modes))
        elif all(option.mode != effect.when.mode for option in source.options):
            add(item, "when.mode",
                f"service '{source.id}' has no option in mode '{effect.when.mode}'")
        target = services.get(effect.on)
        if target is None:
            add(item, "on", unknown("service", effect.on, services))
        elif effect.on == effect.when.service:
            add(item, "on", "an effect lands on another service than the one producing it")
        else:
            years = range(horizon.years if horizon is not None else 1)
            cheapest = min(o.annual_cost_in_year(t) for o in target.options for t in years)
            if effect.saving > cheapest:
                add(item, "saving",
                    f"{effect.saving:,.10g} is more than the cheapest option of service "
                    f"'{effect.on}' ({cheapest:,.10g})")
        if horizon is None and effect.lag_years:
            add(item, "lag_years",
                "must be 0 or absent in a single-period plan (effects land in the same year)")


def _unknown_metric(name: str, known: Iterable[str] = ()) -> str:
    return (
        f"unknown figure '{shown(name)}': it is neither an option field nor a metric of any "
        f"option{did_you_mean(name, known)}"
    )


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """'unknown mode 'x'' with a suggestion of the closest known id."""
    return f"unknown {kind} '{shown(name)}'{did_you_mean(name, known)}"


def raw_reference_issues(data: Mapping[str, Any], source: str = "<data>") -> list[InputIssue]:
    """Reference checks on parsed data that did not validate, so that a file's unknown modes and
    services are reported together with its type errors (each item is checked as far as its
    own fields allow; ids that failed validation still count as defined).
    """
    issues: list[InputIssue] = []

    def add(item: str, field: str, message: str) -> None:
        issues.append(InputIssue(source, item, field, message))

    def ids(key: str) -> list[str] | None:
        items = data.get(key)
        if not isinstance(items, list):
            return None
        found = [item.get("id") for item in items if isinstance(item, Mapping)]
        return [item_id for item_id in found if isinstance(item_id, str)]

    mode_ids, service_ids = ids("modes"), ids("services")
    if mode_ids is not None:
        _check_duplicates(map(shown, mode_ids), "mode", "id", add)
    if service_ids is not None:
        _check_duplicates(map(shown, service_ids), "service", "id", add)
    modes = set(mode_ids or ())
    services = set(service_ids or ())

    def check_mode(item: str, field: str, value: Any) -> None:
        if mode_ids is not None and isinstance(value, str) and value and value not in modes:
            add(item, field, unknown("mode", value, modes))

    def check_service(item: str, field: str, value: Any) -> None:
        if service_ids is not None and isinstance(value, str) and value and value not in services:
            add(item, field, unknown("service", value, services))

    raw_services = data.get("services")
    for number, service in enumerate(raw_services if isinstance(raw_services, list) else []):
        if not isinstance(service, Mapping):
            continue
        sid = service.get("id")
        item = f"service '{shown(sid)}'" if isinstance(sid, str) else f"service #{number + 1}"
        check_mode(item, "current_mode", service.get("current_mode"))
        options = service.get("options")
        for index, option in enumerate(options if isinstance(options, list) else []):
            if isinstance(option, Mapping):
                check_mode(item, f"options[{index}].mode", option.get("mode"))
    constraints = data.get("constraints")
    if not isinstance(constraints, Mapping):
        return issues
    fixed = constraints.get("fixed")
    for service_id, mode_id in (fixed.items() if isinstance(fixed, Mapping) else ()):
        field = f"fixed.{shown(str(service_id))}"
        if service_ids is not None and isinstance(service_id, str) and service_id not in services:
            check_service("constraints", field, service_id)
        else:
            check_mode("constraints", field, mode_id)
    bundles = constraints.get("same_mode")
    for index, bundle in enumerate(bundles if isinstance(bundles, list) else []):
        for service_id in bundle if isinstance(bundle, list) else []:
            check_service("constraints", f"same_mode[{index}]", service_id)
    limits = constraints.get("limits")
    for index, limit in enumerate(limits if isinstance(limits, list) else []):
        if isinstance(limit, Mapping):
            check_mode("constraints", f"limits[{index}].mode", limit.get("mode"))
    return issues


def _check_duplicates(ids: Iterable[str], kind: str, field: str, add: Any) -> None:
    seen: set[str] = set()
    reported: set[str] = set()
    for item_id in ids:
        if item_id in seen and item_id not in reported:
            add(f"{kind} '{item_id}'", field, f"duplicate {kind} {field}")
            reported.add(item_id)
        seen.add(item_id)


# ---------------------------------------------------------------------- pydantic error mapping
def _pydantic_issues(
    exc: pydantic.ValidationError, data: Mapping[str, Any], source: str
) -> list[InputIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        item, field = _locate(error["loc"], data)
        issues.append(InputIssue(source, item, field, _message(error) + _hint(error)))
    return issues


def _hint(error: Any) -> str:
    """'; did you mean ...?' for a misspelt field name or choice (a sector, say)."""
    kind = error.get("type", "")
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", ""))
        return did_you_mean(error.get("input"), re.findall(r"'([^']*)'", expected))
    if kind == "extra_forbidden" and error["loc"]:
        return did_you_mean(error["loc"][-1], _fields_at(error["loc"][:-1]))
    return ""


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model at a pydantic location (for suggestions)."""
    model: type[BaseModel] = Instance
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            inner = _model_in(model.model_fields[part].annotation)
            if inner is None:
                return []
            model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field's type (``list[Option]`` -> Option), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _locate(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> tuple[str, str]:
    """Turn a pydantic location into (item, field), naming services and modes by their id."""
    parts = [
        p
        for p in loc
        if not (isinstance(p, str) and ("[" in p or p.startswith(("function", "yearly:"))))
    ]
    # Drop union-branch tags pydantic inserts (e.g. 'literal[...]', 'WeightedObjective').
    parts = [p for p in parts if p not in ("WeightedObjective",)]
    if len(parts) >= 2 and parts[0] == "objective" and parts[1] in ("name", "weighted"):
        del parts[1]  # the tag of the objective's form
    if len(parts) >= 2 and parts[0] == "risk" and parts[1] in ("name", "cvar"):
        del parts[1]  # the tag of the risk measure's form
    if len(parts) >= 3 and parts[0] == "scenarios" and parts[2] == "cost_factor":
        parts = [p for i, p in enumerate(parts) if not (i == 3 and p in ("all", "by_sector"))]
    if len(parts) >= 2 and parts[0] == "scenarios" and isinstance(parts[1], int):
        raw = data.get("scenarios")
        name = None
        if isinstance(raw, list) and parts[1] < len(raw) and isinstance(raw[parts[1]], Mapping):
            name = raw[parts[1]].get("name")
        item = f"scenario '{shown(name)}'" if isinstance(name, str) else f"scenario #{parts[1] + 1}"
        return item, _join(parts[2:])
    if len(parts) >= 2 and parts[0] in ("services", "modes") and isinstance(parts[1], int):
        kind = "service" if parts[0] == "services" else "mode"
        raw = data.get(parts[0])
        item_id = None
        if isinstance(raw, list) and parts[1] < len(raw) and isinstance(raw[parts[1]], Mapping):
            item_id = raw[parts[1]].get("id")
        item = (
            f"{kind} '{shown(item_id)}'" if isinstance(item_id, str) else f"{kind} #{parts[1] + 1}"
        )
        return item, _join(parts[2:])
    if len(parts) >= 2 and parts[0] in ("investments", "effects") and isinstance(parts[1], int):
        raw = data.get(parts[0])
        entry = raw[parts[1]] if isinstance(raw, list) and parts[1] < len(raw) else None
        entry_id = entry.get("id") if isinstance(entry, Mapping) else None
        if parts[0] == "investments" and isinstance(entry_id, str):
            return f"investment '{shown(entry_id)}'", _join(parts[2:])
        return f"{parts[0]}[{parts[1]}]", _join(parts[2:])
    if parts and parts[0] in ("constraints", "objective"):
        return str(parts[0]), _join(parts[1:])
    return "instance", _join(parts)


def _join(parts: list[int | str]) -> str:
    text = ""
    for part in parts:
        part = part if isinstance(part, int) else shown(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Any) -> str:
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid value"))
    value = error.get("input")
    if kind == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        return f"must be a finite number, got {value!r}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling against `portfolio schema`)"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in ("missing",) and value is not None and not isinstance(value, Mapping | list):
        if isinstance(value, str) and f"'{shown(value)}'" in message:
            return message  # the message already names the value
        return f"{message} (got {value!r})"
    return message
