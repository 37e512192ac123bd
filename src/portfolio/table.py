"""The instance as arrays over its options: the table every horizon compiles from.

:class:`OptionTable` is one pass over the options (services in file order, then each service's
options): the per-option figures, the per-service and per-mode data, with the annual cost as an
``options x years`` matrix. A single-period instance is the one-year case (one cost column); the
multi-year table (:class:`portfolio.multiyear.table.YearTable`) adds the horizon's own fields
(contract lengths, lead times, existing contracts, discount factors) and one cost column per year.
The table reads the options' columns (:func:`portfolio.columnar.option_columns`: those the fast
reader kept, else built once from the objects), never the option objects, and knows nothing of
matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from portfolio.columnar import OptionColumns, option_columns
from portfolio.domain import SECTORS, Instance
from portfolio.linear import BoolArray, FloatArray, IntArray


def option_arrays(instance: Instance, years: int | None = None) -> dict[str, Any]:
    """The fields of an :class:`OptionTable`.

    Args:
        instance: a validated instance.
        years: ``None`` for one cost column, the option's ``annual_cost``; else one column per
            horizon year (:meth:`~portfolio.domain.Option.annual_cost_in_year`).
    """
    mode_ids = tuple(mode.id for mode in instance.modes)
    mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
    services = instance.services
    num_services = len(services)
    current = np.fromiter(
        (mode_index[s.current_mode] for s in services), dtype=np.int64, count=num_services
    )
    stored = option_columns(instance)
    first_option = stored.first_option
    counts = np.diff(first_option)
    n = stored.num_options
    mode = stored.mode
    cost, transition_cost, outcome, flexibility = _stored_figures(stored, years)
    service_of = np.repeat(np.arange(num_services, dtype=np.int64), counts)
    sector_index = {sector: i for i, sector in enumerate(SECTORS)}
    return {
        "instance": instance,
        "service_ids": tuple(s.id for s in services),
        "mode_ids": mode_ids,
        "service": service_of,
        "position": np.arange(n, dtype=np.int64) - first_option[service_of],
        "mode": mode,
        "first_option": first_option,
        "cost": cost,
        "transition_cost": transition_cost,
        "outcome": outcome,
        "flexibility": flexibility,
        "changes": (mode != current[service_of]).astype(np.float64),
        "weight": np.fromiter((s.weight for s in services), np.float64, num_services),
        "statutory": np.fromiter((s.statutory for s in services), np.bool_, num_services),
        "current_mode": current,
        "mode_sector": np.array([sector_index[m.sector] for m in instance.modes], np.int64),
        "setup": np.array([m.setup_cost for m in instance.modes], np.float64),
        "min_services": np.array([m.min_services or 0 for m in instance.modes], np.int64),
    }


def _stored_figures(
    stored: OptionColumns, years: int | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(cost, transition cost, outcome, flexibility) from an instance's option columns.

    A list of yearly costs gives its values; any other year-t cost is
    ``annual_cost * (1 + indexation)**t`` with the factor taken in Python, as
    :meth:`~portfolio.domain.Option.annual_cost_in_year` takes it (the same floats).
    """
    annual = stored.annual_cost
    if years is None:
        cost = annual[:, None].copy()
    else:
        rates, which = np.unique(stored.indexation, return_inverse=True)
        factors = np.array(
            [[(1.0 + float(rate)) ** t for t in range(years)] for rate in rates], np.float64
        ).reshape(len(rates), years)
        cost = annual[:, None] * factors[which.reshape(-1)]
        listed = stored.annual_cost_years
        if listed is not None:  # the options that give a list of yearly costs
            rows = ~np.isnan(listed[:, 0])
            cost[rows] = listed[rows, :years]
    return cost, stored.transition_cost, stored.outcome, stored.flexibility


@dataclass(frozen=True, kw_only=True)
class OptionTable:
    """The instance as arrays over all options (in file order, services then options).

    Attributes:
        instance: the validated instance.
        service_ids: service ids in file order.
        mode_ids: mode ids in file order.
        service: service index of each option.
        position: index of each option within its service's list.
        mode: mode index of each option.
        first_option: index of each service's first option (length services + 1).
        cost: annual cost of each option in each year (options x years; one column for a single
            period).
        transition_cost: the option's own transition cost (paid only when the mode changes).
        outcome: option outcome.
        flexibility: option flexibility (NaN if unset).
        changes: 1.0 where the option's mode differs from the service's current mode.
        weight: weight of each service.
        statutory: statutory flag of each service.
        current_mode: current mode index of each service.
        mode_sector: sector index (into SECTORS) of each mode.
        setup: setup cost of each mode.
        min_services: ``min_services`` of each mode (0 when unset).
    """

    instance: Instance
    service_ids: tuple[str, ...]
    mode_ids: tuple[str, ...]
    service: IntArray
    position: IntArray
    mode: IntArray
    first_option: IntArray
    cost: FloatArray
    transition_cost: FloatArray
    outcome: FloatArray
    flexibility: FloatArray
    changes: FloatArray
    weight: FloatArray
    statutory: BoolArray
    current_mode: IntArray
    mode_sector: IntArray
    setup: FloatArray
    min_services: IntArray
    _figures: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_instance(cls, instance: Instance) -> OptionTable:
        """Extract the arrays: one pass over the options."""
        return cls(**option_arrays(instance))

    @property
    def years(self) -> int:
        """Number of years (columns of :attr:`cost`)."""
        return int(self.cost.shape[1])

    @property
    def num_options(self) -> int:
        """Number of options in the instance."""
        return int(self.service.shape[0])

    @property
    def num_services(self) -> int:
        """Number of services."""
        return len(self.service_ids)

    @property
    def num_modes(self) -> int:
        """Number of modes."""
        return len(self.mode_ids)

    @property
    def annual_cost(self) -> FloatArray:
        """Annual cost of each option in the first year (the single-period figure)."""
        return np.asarray(self.cost[:, 0], dtype=np.float64)

    def figure(self, name: str) -> FloatArray:
        """A named figure over all options and years (options x years).

        ``annual_cost`` is each year's cost; every other figure (the option's own field, else its
        ``metrics`` entry, else 0; DESIGN.md) is the same each year. ``transition_cost`` is the
        option's own figure: whether it is paid depends on the plan (the kernels handle it).
        """
        if name == "annual_cost":
            return self.cost
        cached = self._figures.get(name)
        if cached is None:
            if name == "outcome":
                values = self.outcome
            elif name == "transition_cost":
                values = self.transition_cost
            else:
                values = option_columns(self.instance).figure(name)
            cached = np.broadcast_to(values[:, None], (self.num_options, self.years))
            self._figures[name] = cached
        return cached

    def mode_mask(self, mode_id: str | None = None, sector: str | None = None) -> BoolArray:
        """Options in the given mode and/or sector (all options when both are None)."""
        mask = np.ones(self.num_options, dtype=np.bool_)
        if mode_id is not None:
            mask &= self.mode == self.mode_ids.index(mode_id)
        if sector is not None:
            mask &= self.mode_sector[self.mode] == SECTORS.index(sector)
        return mask

    def red_lines(self) -> tuple[BoolArray, BoolArray]:
        """Options no plan may use: (ceasing options of statutory services, options outside the
        ``fixed`` mode of a service that has one)."""
        instance = self.instance
        ceases = np.array([m.ceases_service for m in instance.modes], dtype=np.bool_)
        statutory_cease = self.statutory[self.service] & ceases[self.mode]
        off_fixed = np.zeros(self.num_options, dtype=np.bool_)
        fixed = instance.constraints.fixed
        if fixed:
            service_index = {sid: i for i, sid in enumerate(self.service_ids)}
            target = np.full(self.num_services, -1, dtype=np.int64)
            for sid, mode_id in fixed.items():
                target[service_index[sid]] = self.mode_ids.index(mode_id)
            wanted = target[self.service]
            off_fixed = (wanted >= 0) & (self.mode != wanted)
        return np.asarray(statutory_cease, dtype=np.bool_), np.asarray(off_fixed, dtype=np.bool_)

    def allowed_options(self) -> BoolArray:
        """Options a plan may use: not a ceasing mode of a statutory service, and in the
        ``fixed`` mode of a service that has one."""
        statutory_cease, off_fixed = self.red_lines()
        return np.asarray(~(statutory_cease | off_fixed), dtype=np.bool_)

    def option_label(self, option: int) -> str:
        """Readable name of an option: ``service/option position``."""
        service = self.service_ids[int(self.service[option])]
        return f"{service}/option {int(self.position[option])}"
