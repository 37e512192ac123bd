"""Multi-year planning: contracts, lock-in, lead times, indexation and falling budgets.

An instance with a ``horizon`` is solved by the one pipeline of :mod:`portfolio.solve`, through
the multi-year formulation (:mod:`.formulation`): per service a path through the years in a
network whose arcs are contracts (:mod:`.compile`), coupled by yearly rows; the plan is verified
independently from the domain (:mod:`.verify`) and reported year by year (:mod:`.report`). The
formulation is written out in ``models/multi_year.md``.
"""

from portfolio.multiyear.compile import MultiYearModel, compile_multi_year
from portfolio.multiyear.schedule import Contract, MultiYearPlan, ServicePath, YearTotals
from portfolio.multiyear.verify import MultiYearVerification, verify_schedule

__all__ = [
    "Contract",
    "MultiYearModel",
    "MultiYearPlan",
    "MultiYearVerification",
    "ServicePath",
    "YearTotals",
    "compile_multi_year",
    "verify_schedule",
]
