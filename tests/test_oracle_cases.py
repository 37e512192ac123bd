"""The brute-force oracle agrees with the hand-derived answers for every small instance.

The expected table (with the arithmetic behind each answer) is ``CASES`` in
``tests/conformance_cases.py``; the solver conformance suite reuses it.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import sys
from typing import Any

import pytest
import yaml

try:  # tests/ as a package (tests/__init__.py) or as a plain directory on sys.path
    from tests.conformance_cases import CASES, SMALL_DIR, Case
    from tests.oracle import all_optima, brute_force
except ImportError:  # pragma: no cover - depends on how pytest was configured
    from conformance_cases import CASES, SMALL_DIR, Case  # type: ignore[no-redef]
    from oracle import all_optima, brute_force  # type: ignore[no-redef]


def _load(case: Case) -> dict[str, Any]:
    with case.path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _relaxed(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``data`` without the key at ``path`` (list items addressed by their id)."""
    relaxed = copy.deepcopy(data)
    node: Any = relaxed
    for key in path[:-1]:
        node = (
            next(item for item in node if item["id"] == key)
            if isinstance(node, list)
            else node[key]
        )
    del node[path[-1]]
    return relaxed


def test_every_small_instance_has_a_case() -> None:
    files = sorted(path.name for path in SMALL_DIR.glob("*.yaml"))
    assert files == sorted(case.file for case in CASES)
    assert len({case.file for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_oracle_matches_hand_derived_answer(case: Case) -> None:
    status, objective, options = brute_force(_load(case))
    assert status == case.status
    if case.status == "infeasible":
        assert objective is None
        assert options is None
        return
    assert objective is not None
    assert case.objective is not None
    assert math.isclose(objective, case.objective, rel_tol=1e-9, abs_tol=1e-9)
    assert options == case.options


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_claimed_optimum_is_unique(case: Case) -> None:
    status, _, optima = all_optima(_load(case))
    assert status == case.status
    if case.options is not None:
        assert optima == [case.options]


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_assignment_names_the_modes_of_the_options(case: Case) -> None:
    if case.options is None:
        assert case.assignment is None
        return
    data = _load(case)
    services = {service["id"]: service for service in data["services"]}
    assert case.assignment is not None
    assert set(case.options) == set(services) == set(case.assignment)
    for service_id, index in case.options.items():
        assert services[service_id]["options"][index]["mode"] == case.assignment[service_id]


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case.relax is not None],
    ids=[case.file for case in CASES if case.relax is not None],
)
def test_the_family_binds(case: Case) -> None:
    """Without the constraint the instance exercises, the answer is different."""
    assert case.relax is not None
    data = _load(case)
    relaxed = brute_force(_relaxed(data, case.relax))
    assert relaxed != brute_force(data)
    if case.status == "infeasible":
        assert relaxed[0] == "optimal"


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_instance_validates(case: Case) -> None:
    """The file passes the package's own validation (skipped if portfolio is not importable)."""
    src = str(SMALL_DIR.parent.parent / "src")
    if importlib.util.find_spec("portfolio") is None and src not in sys.path:
        sys.path.insert(0, src)
    domain = pytest.importorskip("portfolio.domain")
    domain.Instance.from_data(_load(case), str(case.path))


def test_zero_total_spend_satisfies_sector_shares() -> None:
    data = {
        "modes": [{"id": "in_house", "sector": "public"}, {"id": "vol", "sector": "voluntary"}],
        "services": [
            {
                "id": "s",
                "current_mode": "in_house",
                "options": [{"mode": "in_house", "annual_cost": 0, "outcome": 1}],
            }
        ],
        "constraints": {"sector_share": {"voluntary": {"min": 0.5}, "public": {"max": 0.1}}},
    }
    assert brute_force(data) == ("optimal", 1.0, {"s": 0})
