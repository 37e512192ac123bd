"""The canonical instance, as strict pydantic models, and its validation.

Structure (types, ranges, finiteness) is checked by pydantic; references between items (modes named
by options, ``fixed``, ``same_mode``, ...) by :func:`check_references`. :meth:`Instance.from_data`
runs both and raises one :class:`~portfolio.errors.ValidationError` listing every issue, each naming
the file, the item (service or mode id) and the field.

This module imports no solver and knows nothing of matrices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from portfolio.errors import InputIssue, ValidationError

Sector = Literal["public", "private", "voluntary", "community"]
"""The sector a delivery mode belongs to."""

SECTORS: tuple[str, ...] = ("public", "private", "voluntary", "community")

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Identifier = Annotated[str, Field(min_length=1)]

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
)

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
    max_services: Annotated[int, Field(ge=0)] | None = None
    """Market capacity: at most this many services may use the mode."""
    max_spend: NonNegative | None = None
    """Market capacity: at most this much annual spend may go to the mode."""
    min_services: Annotated[int, Field(ge=0)] | None = None
    """If the mode is used at all, at least this many services use it."""
    ceases_service: bool = False
    """The mode stops the service; statutory services may never use it."""

    @model_validator(mode="after")
    def _min_below_max(self) -> Mode:
        if (
            self.min_services is not None
            and self.max_services is not None
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
    annual_cost: NonNegative
    """Cost per year."""
    outcome: Finite
    """Outcome score for residents (multiplied by the service weight in the objective)."""
    transition_cost: NonNegative = 0.0
    """One-off cost (procurement, TUPE, pension bond), paid only if the mode changes."""
    flexibility: Fraction | None = None
    """0 (locked in) to 1 (can change at will); required when ``min_flexibility`` is set."""
    contract_years: Annotated[int, Field(ge=1)] | None = None
    """Contract length in years."""
    lead_time_years: Annotated[int, Field(ge=0)] | None = None
    """Years needed to procure or set up before the option can start."""
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
        clash = sorted(set(metrics) & set(OPTION_FIGURES))
        if clash:
            raise ValueError(
                f"metrics may not redefine the option field(s) {', '.join(clash)}; set the field"
            )
        return metrics

    def figure(self, name: str) -> float:
        """Value of a named figure: the option's own field, else its ``metrics`` entry, else 0."""
        if name in OPTION_FIGURES:
            value = getattr(self, name)
            return 0.0 if value is None else float(value)
        return float(self.metrics.get(name, 0.0))


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


class Limit(BaseModel):
    """A generic row over an option figure, optionally restricted to one mode or sector."""

    model_config = _STRICT

    metric: Identifier
    """Figure name: an option field (annual_cost, outcome, ...) or a ``metrics`` key."""
    max: Finite | None = None
    """Upper limit on the sum of the figure over the chosen options."""
    min: Finite | None = None
    """Lower limit on the sum of the figure over the chosen options."""
    mode: Identifier | None = None
    """Count only options in this mode."""
    sector: Sector | None = None
    """Count only options whose mode is in this sector."""

    @model_validator(mode="after")
    def _has_bound(self) -> Limit:
        if self.max is None and self.min is None:
            raise ValueError("a limits row needs 'max', 'min' or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


class ShareBound(BaseModel):
    """Bounds on one sector's share of total annual spend."""

    model_config = _STRICT

    min: Fraction | None = None
    """Lowest share, 0 to 1."""
    max: Fraction | None = None
    """Highest share, 0 to 1."""

    @model_validator(mode="after")
    def _has_bound(self) -> ShareBound:
        if self.max is None and self.min is None:
            raise ValueError("a sector share needs 'min', 'max' or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


class Constraints(BaseModel):
    """The council's limits. Every key is optional."""

    model_config = _STRICT

    budget: NonNegative | None = None
    """Sum of annual_cost of the chosen options may not exceed this."""
    transition_budget: NonNegative | None = None
    """Transition costs of services changing mode plus setup costs of modes used."""
    min_flexibility: Fraction | None = None
    """Spend-weighted mean flexibility must reach this."""
    min_outcome: Finite | None = None
    """Sum of weight * outcome must reach this."""
    max_changes: Annotated[int, Field(ge=0)] | None = None
    """At most this many services may change mode."""
    sector_share: dict[Sector, ShareBound] = Field(default_factory=dict)
    """Bounds on each sector's share of total annual spend."""
    same_mode: list[list[Identifier]] = Field(default_factory=list)
    """Bundles: the services of each list must use one mode."""
    fixed: dict[Identifier, Identifier] = Field(default_factory=dict)
    """Red lines: service id -> the mode it must use."""
    limits: list[Limit] = Field(default_factory=list)
    """Generic rows over option figures."""


class WeightedObjective(BaseModel):
    """A weighted sum of figures to maximise or minimise (outcome is multiplied by service weight)."""

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


ObjectiveName = Literal["maximise_outcome", "minimise_cost"]
_OBJECTIVE_ALIASES = {"maximize_outcome": "maximise_outcome", "minimize_cost": "minimise_cost"}


class Instance(BaseModel):
    """A whole single-period instance: modes, services, constraints and the objective."""

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
    objective: ObjectiveName | WeightedObjective = "maximise_outcome"
    """maximise_outcome (default), minimise_cost, or a weighted sum of figures."""

    @field_validator("objective", mode="before")
    @classmethod
    def _objective_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _OBJECTIVE_ALIASES.get(value, value)
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
            raise ValidationError(_pydantic_issues(exc, data, source)) from None
        issues = check_references(instance, source)
        if issues:
            raise ValidationError(issues)
        return instance

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
    """Index of today's arrangement: the option marked ``current``, else the first in current_mode."""
    for index, option in enumerate(service.options):
        if option.current:
            return index
    for index, option in enumerate(service.options):
        if option.mode == service.current_mode:
            return index
    return None


# ---------------------------------------------------------------------- reference checks
def check_references(instance: Instance, source: str = "<data>") -> list[InputIssue]:
    """Check what pydantic cannot: references between items and impossible combinations.

    Returns every issue found (an empty list when the instance is valid).
    """
    issues: list[InputIssue] = []

    def add(item: str, field: str, message: str) -> None:
        issues.append(InputIssue(source, item, field, message))

    _check_duplicates((m.id for m in instance.modes), "mode", "id", add)
    _check_duplicates((s.id for s in instance.services), "service", "id", add)
    modes = instance._mode_index()
    service_ids = {service.id for service in instance.services}
    constraints = instance.constraints
    known_metrics = set(OPTION_FIGURES)

    for service in instance.services:
        item = f"service '{service.id}'"
        for index, option in enumerate(service.options):
            known_metrics.update(option.metrics)
            if option.mode not in modes:
                add(item, f"options[{index}].mode", f"unknown mode '{option.mode}'")
            if constraints.min_flexibility is not None and option.flexibility is None:
                add(
                    item,
                    f"options[{index}].flexibility",
                    "required because constraints.min_flexibility is set",
                )
        option_modes = {option.mode for option in service.options}
        if service.current_mode not in modes:
            add(item, "current_mode", f"unknown mode '{service.current_mode}'")
        elif service.current_mode not in option_modes:
            add(item, "current_mode", f"'{service.current_mode}' has no option in this service")
        marked = [i for i, option in enumerate(service.options) if option.current]
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

    for service_id, mode_id in constraints.fixed.items():
        field = f"fixed.{service_id}"
        if service_id not in service_ids:
            add("constraints", field, f"unknown service '{service_id}'")
            continue
        if mode_id not in modes:
            add("constraints", field, f"unknown mode '{mode_id}'")
            continue
        service = instance.service(service_id)
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
                add("constraints", field, f"unknown service '{service_id}'")
            seen_in_bundle.setdefault(service_id, index)

    for index, limit in enumerate(constraints.limits):
        field = f"limits[{index}]"
        if limit.mode is not None and limit.mode not in modes:
            add("constraints", f"{field}.mode", f"unknown mode '{limit.mode}'")
        if limit.metric not in known_metrics:
            add("constraints", f"{field}.metric", _unknown_metric(limit.metric))

    if isinstance(instance.objective, WeightedObjective):
        for name in instance.objective.terms:
            if name not in known_metrics and name != "setup_cost":
                add("objective", f"{instance.objective.sense}.{name}", _unknown_metric(name))
    return issues


def _unknown_metric(name: str) -> str:
    return f"unknown figure '{name}': it is neither an option field nor a metric of any option"


def _check_duplicates(ids: Iterable[str], kind: str, field: str, add: Any) -> None:
    seen: set[str] = set()
    reported: set[str] = set()
    for item_id in ids:
        if item_id in seen and item_id not in reported:
            add(f"{kind} '{item_id}'", field, f"duplicate {kind} id")
            reported.add(item_id)
        seen.add(item_id)


# ---------------------------------------------------------------------- pydantic error mapping
def _pydantic_issues(
    exc: pydantic.ValidationError, data: Mapping[str, Any], source: str
) -> list[InputIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        item, field = _locate(error["loc"], data)
        issues.append(InputIssue(source, item, field, _message(error)))
    return issues


def _locate(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> tuple[str, str]:
    """Turn a pydantic location into (item, field), naming services and modes by their id."""
    parts = [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function")))]
    # Drop union-branch tags pydantic inserts (e.g. 'literal[...]', 'WeightedObjective').
    parts = [p for p in parts if p not in ("WeightedObjective",)]
    if len(parts) >= 2 and parts[0] in ("services", "modes") and isinstance(parts[1], int):
        kind = "service" if parts[0] == "services" else "mode"
        raw = data.get(parts[0])
        item_id = None
        if isinstance(raw, list) and parts[1] < len(raw) and isinstance(raw[parts[1]], Mapping):
            item_id = raw[parts[1]].get("id")
        item = f"{kind} '{item_id}'" if isinstance(item_id, str) else f"{kind} #{parts[1] + 1}"
        return item, _join(parts[2:])
    if parts and parts[0] in ("constraints", "objective"):
        return str(parts[0]), _join(parts[1:])
    return "instance", _join(parts)


def _join(parts: list[int | str]) -> str:
    text = ""
    for part in parts:
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
        return f"{message} (got {value!r})"
    return message
