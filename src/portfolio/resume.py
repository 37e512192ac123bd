"""Whether a result file on disk can be trusted instead of solving again (``--resume``).

A matching input hash says the file was written for the same contents, backend and parameters;
it does not say the file is intact. Before a result is reused, :func:`distrust` checks it:

* **schema**: the keys every result file has, of the right types (``status`` a known status,
  ``objective`` and ``bound`` finite numbers or null, ``options`` service id -> option index,
  ``assignment`` service id -> mode id, ``verified`` a boolean, ...);
* **the plan** (statuses with a plan): every service of the instance has a valid option index,
  the assignment names those options' modes, and the plan passes the independent verifier
  (:func:`portfolio.verify.verify_plan`; for an instance with a horizon, the contracts are
  replayed through :func:`portfolio.multiyear.verify.verify_schedule`);
* **the numbers**: the objective recomputed from the instance equals the one in the file, and an
  ``optimal`` claim lies within the gap of the file's bound.

A file that fails any check is solved again, and the reason is reported. Statuses without a plan
(``infeasible``, ``time_limit_no_solution``, ...) and input errors are checked for schema only:
there is no plan to re-check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from portfolio.domain import Instance
from portfolio.result import Status, relative_gap

OBJECTIVE_RTOL = 1e-9
"""Relative tolerance between the objective in a file and the one recomputed from its plan."""

_STATUSES = {status.value for status in Status}
_PLAN_STATUSES = {Status.OPTIMAL.value, Status.FEASIBLE.value}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def schema_problem(data: Mapping[str, Any]) -> str | None:
    """What is wrong with the shape of a result file's data, or None."""
    required = ("status", "objective", "bound", "assignment", "options", "backend", "verified")
    missing = [key for key in required if key not in data]
    if missing:
        return f"missing {', '.join(repr(k) for k in missing)}"
    status = data["status"]
    if not isinstance(status, str) or status not in _STATUSES:
        return f"'status' is {status!r}, not one of {', '.join(sorted(_STATUSES))}"
    if not isinstance(data["verified"], bool):
        return f"'verified' is {data['verified']!r}, not true or false"
    for key in ("bound", "gap"):
        if data.get(key) is not None and not _number(data[key]):
            return f"'{key}' is {data[key]!r}, not a number"
    if data.get("error") is not None:
        if not isinstance(data["error"], str):
            return "'error' is not text"
        return None
    if status not in _PLAN_STATUSES:
        if data["objective"] is not None and not _number(data["objective"]):
            return f"'objective' is {data['objective']!r}, not a number"
        return None
    if not _number(data["objective"]):
        return f"status {status} with 'objective' {data['objective']!r}, not a number"
    if data["verified"] is not True:
        return f"status {status} but 'verified' is false"
    options, assignment = data["options"], data["assignment"]
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in options.items()
    ):
        return "'options' is not a mapping of service id to option index"
    if not isinstance(assignment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in assignment.items()
    ):
        return "'assignment' is not a mapping of service id to mode id"
    return None


def plan_problem(data: Mapping[str, Any], instance: Instance, rel_gap: float) -> str | None:
    """What is wrong with the plan and numbers of a result file (with a plan), or None."""
    options: dict[str, int] = data["options"]
    services = instance.services
    ids = [service.id for service in services]
    unknown = sorted(set(options) - set(ids))
    if unknown:
        return f"'options' names services the instance lacks: {', '.join(unknown)}"
    absent = [sid for sid in ids if sid not in options]
    if absent:
        return f"'options' has no choice for {', '.join(absent)}"
    positions = [options[sid] for sid in ids]
    for service, position in zip(services, positions, strict=True):
        if not 0 <= position < len(service.options):
            return f"service '{service.id}': option index {position} does not exist"
        mode = service.options[position].mode
        if data["assignment"].get(service.id) != mode:
            return (
                f"service '{service.id}': 'assignment' says "
                f"{data['assignment'].get(service.id)!r} but option {position} is mode '{mode}'"
            )

    if instance.horizon is not None:
        verdict = _verify_multi_year(data, instance)
        if isinstance(verdict, str):
            return verdict
        ok, objective, violations = verdict
    else:
        from portfolio.verify import verify_plan

        made = data.get("investments") or []
        if not isinstance(made, list) or not all(isinstance(i, str) for i in made):
            return "'investments' is not a list of investment ids"
        single = verify_plan(instance, positions, dict.fromkeys(made, 0))
        ok, objective, violations = single.ok, single.plan.objective, single.violations
    if not ok:
        return "the plan fails verification: " + "; ".join(violations[:3])
    claimed = float(data["objective"])
    if abs(claimed - objective) > OBJECTIVE_RTOL * max(1.0, abs(objective)):
        return f"'objective' is {claimed!r} but the plan's objective is {objective!r}"
    bound = data.get("bound")
    if data["status"] == Status.OPTIMAL.value and bound is not None and _number(bound):
        gap = relative_gap(objective, float(bound))
        if gap > rel_gap * (1 + 1e-6) + 1e-12:
            return (
                f"status optimal but the objective {objective!r} is {gap:.3g} from the bound "
                f"{bound!r} (gap allowed: {rel_gap:g})"
            )
    return None


def _verify_multi_year(
    data: Mapping[str, Any], instance: Instance
) -> tuple[bool, float, tuple[str, ...]] | str:
    """Replay the file's contracts through the multi-year verifier."""
    from portfolio.multiyear.schedule import ServicePath
    from portfolio.multiyear.verify import verify_schedule

    horizon = instance.horizon
    assert horizon is not None
    contracts = data.get("contracts")
    if not isinstance(contracts, list) or not all(isinstance(c, dict) for c in contracts):
        return "multi-year result without a 'contracts' list"
    first = horizon.start_year
    broken: dict[str, int] = {}
    starts: dict[str, list[tuple[int, int]]] = {}
    try:
        for contract in contracts:
            service = str(contract["service"])
            if contract.get("existing"):
                if contract.get("broken_year") is not None:
                    broken[service] = int(contract["broken_year"]) - first
                continue
            starts.setdefault(service, []).append(
                (int(contract["option"]), int(contract["start_year"]) - first)
            )
    except (KeyError, TypeError, ValueError) as exc:
        return f"a contract in 'contracts' is malformed ({exc!r})"
    paths = [
        ServicePath(s.id, broken.get(s.id), tuple(sorted(starts.get(s.id, []), key=lambda p: p[1])))
        for s in instance.services
    ]
    made = data.get("investments") or {}
    if not isinstance(made, dict) or not all(isinstance(y, int) for y in made.values()):
        return "'investments' is not a mapping of investment id to year"
    try:
        verdict = verify_schedule(instance, paths, {i: y - first for i, y in made.items()})
    except (ValueError, IndexError) as exc:
        return f"the contracts cannot be replayed ({exc})"
    return verdict.ok, verdict.first_year.objective, verdict.violations


def distrust(
    data: Any, content: str, fmt: str, source: str, rel_gap: float
) -> str | None:
    """Why a previous result may not be reused for an instance, or None if it may.

    Args:
        data: the result file's parsed JSON.
        content, fmt, source: the instance file's text, format and name.
        rel_gap: the relative gap the batch solves with (an ``optimal`` claim must meet it).
    """
    from portfolio.errors import PortfolioError
    from portfolio.io import instance_from_data

    if not isinstance(data, dict):
        return "not a JSON object"
    problem = schema_problem(data)
    if problem is not None or data["status"] not in _PLAN_STATUSES or data.get("error"):
        return problem
    try:
        instance = instance_from_data(content, fmt, source=source)
    except PortfolioError as exc:
        return f"the instance no longer validates ({str(exc).splitlines()[0]})"
    return plan_problem(data, instance, rel_gap)
