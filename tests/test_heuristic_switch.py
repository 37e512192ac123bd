"""Switch costs of the LP-guided heuristic: independent of the degenerate basis the LP returns."""

from __future__ import annotations

import numpy as np

from portfolio.heuristic import _switch_costs


def test_switch_cost_counts_the_chosen_option_too() -> None:
    """Service 0 has option 0 at 1 (nonbasic at its upper bound, d = 2): switching to option 1
    (d = -3) loses 3 + 2 = 5 and to option 2 (d = 0, the degenerate basic column) loses 2.
    Service 1 is fractional (no option at 1): |d| as is. Column 5 is no option: |d|."""
    groups = np.array([0, 0, 0, 1, 1, -1], dtype=np.int64)
    x_lp = np.array([1.0, 0.0, 0.0, 0.5, 0.5, 0.0])
    d = np.array([2.0, -3.0, 0.0, 0.25, -1.5, -4.0])
    costs = _switch_costs(d, x_lp, groups)
    np.testing.assert_array_equal(costs, [0.0, 5.0, 2.0, 0.25, 1.5, 4.0])


def test_switch_cost_does_not_depend_on_the_choice_row_dual() -> None:
    """Another dual of the same LP (the choice row's dual of service 0 moved by 2, as when the
    option at 1 is basic instead): the same switch costs, where plain |d| would differ."""
    groups = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    x_lp = np.array([1.0, 0.0, 0.0, 0.0, 1.0])
    d = np.array([2.0, -3.0, 0.0, -7.0, 0.0])
    shifted = d - np.array([2.0, 2.0, 2.0, 0.0, 0.0])
    assert not np.array_equal(np.abs(d), np.abs(shifted))
    np.testing.assert_array_equal(
        _switch_costs(d, x_lp, groups), _switch_costs(shifted, x_lp, groups)
    )
    np.testing.assert_array_equal(_switch_costs(shifted, x_lp, groups), [0.0, 5.0, 2.0, 7.0, 0.0])
