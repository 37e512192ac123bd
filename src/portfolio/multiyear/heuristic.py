"""The LP-guided start of multi-year models: the hooks of :func:`portfolio.heuristic.lp_then_fix`.

The network formulation's LP relaxation is very tight: each service's polytope is integral, so
only services caught by a coupling yearly row take fractional paths (a handful out of hundreds).
A service is settled when every one of its arcs is integral in the LP; its arcs and activities
keep their LP values, and the small MIP over the rest is solved (at 300 services and 5 years,
HiGHS spends most of its time finding a first plan). Fixing every settled service often leaves
the fractional ones no room in the tight yearly rows: each further round also frees the services
that could give most money back (their LP spend above their cheapest option, summed over the
years).
"""

from __future__ import annotations

import threading

import numpy as np

from portfolio.heuristic import INTEGRAL_TOL, HeuristicPlan, StartHooks, lp_then_fix
from portfolio.linear import BoolArray, FloatArray, IntArray
from portfolio.multiyear.compile import MultiYearModel
from portfolio.params import SolveParams
from portfolio.result import BackendResult

#: Below this many columns the full MIP is quick and the heuristic is skipped.
MIN_COLUMNS = 1000
#: More than this share of the services fractional in the LP: no sub-MIP (see
#: :attr:`portfolio.heuristic.StartHooks.max_unsettled_share`). Random council-like instances
#: leave a handful of services fractional (about the number of tight yearly rows); a small,
#: tightly constrained one (the example borough over five years: about 50 tight yearly rows for
#: 38 services, 15 of them fractional) leaves a sub-MIP nearly as hard as the full search, which
#: it then only delays (17.9 s of a 56 s solve at load 4 on the borough).
MAX_UNSETTLED_SHARE = 1 / 3
#: Rounds of the sub-MIP: share of services freed besides the fractional ones.
WIDENING = (0.0, 0.1, 0.25)


def lp_guided_start(
    compiled: MultiYearModel,
    params: SolveParams,
    remaining: float | None,
    *,
    interrupt: threading.Event | None = None,
) -> HeuristicPlan | None:
    """The LP-guided start of a multi-year model (see :func:`portfolio.heuristic.lp_then_fix`).

    Returns None when the model is small, no backend solves LPs, or no plan is found.
    """
    return lp_then_fix(MultiYearStart(compiled), params, remaining, interrupt=interrupt)


class MultiYearStart(StartHooks):
    """The multi-year hooks: arcs and activities belong to their service, the first-use and
    in-use indicators are shared; rounds widen by :data:`WIDENING`."""

    rounds = len(WIDENING)

    def __init__(self, compiled: MultiYearModel) -> None:
        self.compiled = compiled
        layout = compiled.layout
        self.model = compiled.model
        self.num_services = compiled.table.num_services
        self.min_columns = MIN_COLUMNS
        self.max_unsettled_share = MAX_UNSETTLED_SHARE
        groups = np.full(self.model.num_cols, -1, dtype=np.int64)
        groups[: layout.num_arcs] = layout.arcs.service
        groups[layout.act_offset : layout.z_offset] = layout.act_service
        self.service_of_column = groups
        self._order: IntArray | None = None

    def settled(self, x_lp: FloatArray) -> BoolArray:
        layout = self.compiled.layout
        arc_values = x_lp[: layout.num_arcs]
        fractional_arc = np.minimum(arc_values, 1.0 - arc_values) > INTEGRAL_TOL
        fractional = np.zeros(self.num_services, dtype=np.bool_)
        fractional[layout.arcs.service[fractional_arc]] = True
        return ~fractional

    def free_more(self, number: int, lp: BackendResult) -> BoolArray | None:
        if lp.x is None:
            return None
        if self._order is None:
            self._order = np.argsort(-_give_back(self.compiled, lp.x), kind="stable")
        services = np.zeros(self.num_services, dtype=np.bool_)
        services[self._order[: int(WIDENING[number] * self.num_services)]] = True
        owned = self.service_of_column >= 0
        free = np.zeros(self.model.num_cols, dtype=np.bool_)
        free[owned] = services[self.service_of_column[owned]]
        return free

    def sub_gap(self, params: SolveParams) -> float:
        return params.rel_gap / 2


def _give_back(compiled: MultiYearModel, values: FloatArray) -> FloatArray:
    """Per service: its LP spend minus its cheapest allowed option's cost, summed over years."""
    layout = compiled.layout
    table = compiled.table
    cost = layout.act_figure("annual_cost")
    spend = np.zeros((table.num_services, table.years))
    np.add.at(
        spend,
        (layout.act_service, layout.act_year),
        cost * values[layout.act_offset : layout.z_offset],
    )
    cheapest = np.full((table.num_services, table.years), np.inf)
    allowed = table.allowed_options()
    np.minimum.at(cheapest, table.service[allowed], table.cost[allowed])
    gain = np.where(np.isfinite(cheapest), spend - cheapest, 0.0)
    return np.asarray(gain.sum(axis=1), dtype=np.float64)
