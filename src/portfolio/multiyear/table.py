"""A multi-year instance as arrays over options and horizon years.

:class:`YearTable` is the shared :class:`portfolio.table.OptionTable` with one cost column per
horizon year (indexed, or the option's list of yearly costs) and the horizon's own fields. It
reads the options' columns (:func:`portfolio.columnar.option_columns`), never the option objects,
and knows nothing of matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portfolio.columnar import option_columns
from portfolio.domain import Horizon, Instance
from portfolio.linear import FloatArray, IntArray
from portfolio.table import OptionTable, option_arrays

NO_LOCK = -1
"""``lock_end`` of a service with no current contract end."""


@dataclass(frozen=True, kw_only=True)
class YearTable(OptionTable):
    """The instance as arrays (options in file order, services then options), with a horizon.

    Attributes (besides :class:`~portfolio.table.OptionTable`'s, whose ``cost`` here has one
    column per horizon year):
        horizon: the instance's horizon.
        length: contract length in years (``contract_years``, default 1).
        lead: first horizon year index the option may start (``lead_time_years``, default 0).
        current_option: global index of each service's current option.
        lock_end: last locked horizon year index of each service (``current_contract_end -
            start_year``, possibly beyond the horizon), or :data:`NO_LOCK`.
        termination: termination fee of each service, NaN where the contract cannot be broken.
        discount: discount factor of each horizon year, (1 + rate)**-t.
    """

    horizon: Horizon
    length: IntArray
    lead: IntArray
    current_option: IntArray
    lock_end: IntArray
    termination: FloatArray
    discount: FloatArray

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
        arrays = option_arrays(instance, years)
        services = instance.services
        num_services = len(services)
        stored = option_columns(instance)
        length = np.where(stored.contract_years > 0, stored.contract_years, 1)
        lead = np.where(stored.lead_time_years >= 0, stored.lead_time_years, 0)
        current_option = stored.current_options(arrays["current_mode"])
        return cls(
            **arrays,
            horizon=horizon,
            length=length.astype(np.int64),
            lead=lead.astype(np.int64),
            current_option=current_option,
            lock_end=np.fromiter(
                (
                    NO_LOCK
                    if s.current_contract_end is None
                    else s.current_contract_end - horizon.start_year
                    for s in services
                ),
                np.int64,
                num_services,
            ),
            termination=np.fromiter(
                (np.nan if s.termination_cost is None else s.termination_cost for s in services),
                np.float64,
                num_services,
            ),
            discount=np.array([horizon.discount_factor(t) for t in range(years)], np.float64),
        )

