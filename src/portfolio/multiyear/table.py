"""A multi-year instance as arrays over options and horizon years.

:class:`YearTable` is the multi-year counterpart of :class:`portfolio.compile.OptionTable`: one pass
over the options extracts every figure the compiler needs, with the annual cost as an
``options x years`` matrix (indexed, or the option's list of yearly costs). It reads the domain
through its own accessors (:meth:`~portfolio.domain.Option.annual_cost_in_year`,
:func:`~portfolio.domain.value_in_year`) and knows nothing of matrices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from portfolio.domain import SECTORS, Horizon, Instance, current_option_index
from portfolio.linear import BoolArray, FloatArray, IntArray

NO_LOCK = -1
"""``lock_end`` of a service with no current contract end."""


@dataclass(frozen=True)
class YearTable:
    """The instance as arrays (options in file order, services then options).

    Attributes:
        instance: the validated instance (it has a horizon).
        horizon: the instance's horizon.
        service_ids: service ids in file order.
        mode_ids: mode ids in file order.
        service: service index of each option.
        position: index of each option within its service's list.
        mode: mode index of each option.
        first_option: index of each service's first option (length services + 1).
        cost: annual cost of each option in each horizon year (options x years).
        transition_cost: the option's own transition cost (paid only when the mode changes).
        outcome: option outcome.
        flexibility: option flexibility (NaN if unset).
        length: contract length in years (``contract_years``, default 1).
        lead: first horizon year index the option may start (``lead_time_years``, default 0).
        weight: weight of each service.
        statutory: statutory flag of each service.
        current_mode: current mode index of each service.
        current_option: global index of each service's current option.
        lock_end: last locked horizon year index of each service (``current_contract_end -
            start_year``, possibly beyond the horizon), or :data:`NO_LOCK`.
        termination: termination fee of each service, NaN where the contract cannot be broken.
        mode_sector: sector index (into SECTORS) of each mode.
        setup: setup cost of each mode.
        min_services: ``min_services`` of each mode (0 when unset).
        discount: discount factor of each horizon year, (1 + rate)**-t.
    """

    instance: Instance
    horizon: Horizon
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
    length: IntArray
    lead: IntArray
    weight: FloatArray
    statutory: BoolArray
    current_mode: IntArray
    current_option: IntArray
    lock_end: IntArray
    termination: FloatArray
    mode_sector: IntArray
    setup: FloatArray
    min_services: IntArray
    discount: FloatArray
    _figures: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_instance(cls, instance: Instance) -> YearTable:
        """Extract the arrays: one pass over the options.

        Raises:
            ValueError: the instance has no horizon.
        """
        horizon = instance.horizon
        if horizon is None:
            raise ValueError("a YearTable needs an instance with a horizon")
        years = horizon.years
        mode_ids = tuple(mode.id for mode in instance.modes)
        mode_index = {mode_id: i for i, mode_id in enumerate(mode_ids)}
        services = instance.services
        num_services = len(services)
        counts = np.fromiter((len(s.options) for s in services), dtype=np.int64, count=num_services)
        first_option = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        options = [option for service in services for option in service.options]
        n = len(options)
        service_of = np.repeat(np.arange(num_services, dtype=np.int64), counts)
        position = np.arange(n, dtype=np.int64) - first_option[service_of]

        def floats(values: Iterable[float]) -> FloatArray:
            return np.fromiter(values, dtype=np.float64, count=n)

        def ints(values: Iterable[int], count: int = n) -> IntArray:
            return np.fromiter(values, dtype=np.int64, count=count)

        cost = np.array(
            [[o.annual_cost_in_year(t) for t in range(years)] for o in options], dtype=np.float64
        ).reshape(n, years)
        current_option = np.array(
            [
                first_option[s] + (current_option_index(service) or 0)
                for s, service in enumerate(services)
            ],
            dtype=np.int64,
        )
        lock_end = ints(
            (
                NO_LOCK
                if s.current_contract_end is None
                else s.current_contract_end - horizon.start_year
                for s in services
            ),
            num_services,
        )
        sector_index = {sector: i for i, sector in enumerate(SECTORS)}
        return cls(
            instance=instance,
            horizon=horizon,
            service_ids=tuple(s.id for s in services),
            mode_ids=mode_ids,
            service=service_of,
            position=position,
            mode=ints(mode_index[o.mode] for o in options),
            first_option=first_option,
            cost=cost,
            transition_cost=floats(o.transition_cost for o in options),
            outcome=floats(o.outcome for o in options),
            flexibility=floats(np.nan if o.flexibility is None else o.flexibility for o in options),
            length=ints(o.contract_years or 1 for o in options),
            lead=ints(o.lead_time_years or 0 for o in options),
            weight=np.fromiter((s.weight for s in services), np.float64, num_services),
            statutory=np.fromiter((s.statutory for s in services), np.bool_, num_services),
            current_mode=ints((mode_index[s.current_mode] for s in services), num_services),
            current_option=current_option,
            lock_end=lock_end,
            termination=np.fromiter(
                (np.nan if s.termination_cost is None else s.termination_cost for s in services),
                np.float64,
                num_services,
            ),
            mode_sector=np.array([sector_index[m.sector] for m in instance.modes], np.int64),
            setup=np.array([m.setup_cost for m in instance.modes], np.float64),
            min_services=np.array([m.min_services or 0 for m in instance.modes], np.int64),
            discount=np.array([horizon.discount_factor(t) for t in range(years)], np.float64),
        )

    @property
    def years(self) -> int:
        """Number of horizon years."""
        return int(self.cost.shape[1])

    @property
    def num_options(self) -> int:
        """Number of options."""
        return int(self.service.shape[0])

    @property
    def num_services(self) -> int:
        """Number of services."""
        return len(self.service_ids)

    @property
    def num_modes(self) -> int:
        """Number of modes."""
        return len(self.mode_ids)

    def figure(self, name: str) -> FloatArray:
        """A named figure over all options and years (options x years).

        ``annual_cost`` is the indexed cost of each year; every other figure (the option's own
        field, else its ``metrics`` entry, else 0) is the same each year. ``transition_cost`` is
        the option's own figure: whether it is paid depends on the plan (the compiler handles it).
        """
        if name == "annual_cost":
            return self.cost
        cached = self._figures.get(name)
        if cached is None:
            values = np.fromiter(
                (o.figure(name) for s in self.instance.services for o in s.options),
                dtype=np.float64,
                count=self.num_options,
            )
            cached = np.repeat(values[:, None], self.years, axis=1)
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

    def allowed_options(self) -> BoolArray:
        """Options a plan may run in some year: not a ceasing mode of a statutory service, and in
        the ``fixed`` mode of a service that has one."""
        instance = self.instance
        ceases = np.array([m.ceases_service for m in instance.modes], dtype=np.bool_)
        allowed = ~(self.statutory[self.service] & ceases[self.mode])
        fixed = instance.constraints.fixed
        if fixed:
            service_index = {sid: i for i, sid in enumerate(self.service_ids)}
            target = np.full(self.num_services, -1, dtype=np.int64)
            for sid, mode_id in fixed.items():
                target[service_index[sid]] = self.mode_ids.index(mode_id)
            wanted = target[self.service]
            allowed &= (wanted < 0) | (self.mode == wanted)
        return np.asarray(allowed, dtype=np.bool_)
