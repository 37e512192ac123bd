"""What uncertainty and flexibility are worth (models/scenarios.md, "Appraisal").

For an instance with funding scenarios, :func:`appraise` solves:

* the **recourse problem** (the stochastic plan, as ``solve`` gives it);
* **wait and see**: each scenario on its own, as if its funding were known now; the objectives
  combined by the same risk measure. **EVPI** is how much better that is than the recourse
  problem: what perfect foresight of funding would be worth;
* the **expected-value problem** (every figure at its probability-weighted mean) and **EEV**: its
  first-year decisions held fixed and every later decision taken as the recourse problem takes
  them (knowing what it knows when it decides). **VSS** is how much better the recourse problem
  is: what planning for uncertainty gains over planning for the average (``None``, with the
  reason, when the mean-data plan's first year leaves some scenario with no plan);
* **value of flexibility**: the recourse problem against the same problem with only each
  (service, mode)'s longest contract offered, in total and per service (the loss when that
  service alone is limited to its longest contracts).

Every figure is "how much better" in the objective's own units (>= 0 up to the solver's gap), and
is given per scenario too. The independent solves (wait and see, the expected-value problem, the
long-contracts problems) go through :func:`portfolio.executors.solve_many`, so ``workers`` and
``scheduler`` spread them over local processes or a Dask cluster.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from portfolio.backends.registry import get_backend
from portfolio.clock import Clock
from portfolio.domain import Instance, Option
from portfolio.errors import PortfolioError
from portfolio.executors import BatchItem, ItemResult, solve_many
from portfolio.io import dump_instance, instance_from_data, load_instance
from portfolio.multiyear.schedule import ServicePath
from portfolio.params import SolveParams
from portfolio.result import SolveResult
from portfolio.scenarios.data import mean_instance, scenario_instance
from portfolio.scenarios.formulation import Scenarios
from portfolio.scenarios.risk import as_data, combine
from portfolio.solve import solve_formulation, solve_instance


@dataclass(frozen=True)
class Solve:
    """One solve of the appraisal: what it was, its status, objective and wall time."""

    name: str
    status: str
    objective: float | None
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "name": self.name,
            "status": self.status,
            "objective": self.objective,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Appraisal:
    """What uncertainty and flexibility are worth for one instance.

    Attributes:
        instance: the instance's name.
        risk: the risk measure (as the result file gives it).
        sense: ``maximise`` or ``minimise``.
        scenarios: the scenarios' names, in file order.
        recourse_problem: the stochastic plan's objective (None without a plan).
        wait_and_see: each scenario solved on its own, combined by the risk measure.
        evpi: the expected value of perfect information (how much better wait-and-see is).
        expected_value_problem: the objective of the plan for the mean data (on the mean data).
        eev: the expected result of the expected-value solution: its first-year decisions
            fixed, the rest re-optimised, combined by the risk measure (None when infeasible).
        vss: the value of the stochastic solution (how much better the recourse problem is than
            EEV), or None with ``vss_reason``.
        long_contracts_only: the recourse problem with only each (service, mode)'s longest
            contract offered.
        value_of_flexibility: how much better the recourse problem is than that.
        flexibility_by_service: service id -> the loss when that service alone is limited to
            its longest contracts (0 where its plan already uses only those, or where it has no
            shorter contract).
        by_scenario: scenario name -> each figure in that scenario (``recourse_problem``,
            ``wait_and_see``, ``evpi``, ``eev``, ``vss``, ``long_contracts_only``,
            ``value_of_flexibility``).
        solves: every solve, with its status, objective and wall time.
        notes: caveats (a solve that stopped short of optimal, ...).
    """

    instance: str
    risk: Any
    sense: str
    scenarios: tuple[str, ...]
    recourse_problem: float | None
    wait_and_see: float | None
    evpi: float | None
    expected_value_problem: float | None
    eev: float | None
    vss: float | None
    vss_reason: str | None
    long_contracts_only: float | None
    value_of_flexibility: float | None
    flexibility_by_service: Mapping[str, float | None]
    by_scenario: Mapping[str, Mapping[str, float | None]]
    solves: tuple[Solve, ...]
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``appraise`` command's JSON."""
        return {
            "instance": self.instance,
            "risk": self.risk,
            "sense": self.sense,
            "scenarios": list(self.scenarios),
            "recourse_problem": self.recourse_problem,
            "wait_and_see": self.wait_and_see,
            "evpi": self.evpi,
            "expected_value_problem": self.expected_value_problem,
            "eev": self.eev,
            "vss": self.vss,
            "vss_reason": self.vss_reason,
            "long_contracts_only": self.long_contracts_only,
            "value_of_flexibility": self.value_of_flexibility,
            "flexibility_by_service": dict(self.flexibility_by_service),
            "by_scenario": {name: dict(v) for name, v in self.by_scenario.items()},
            "solves": [solve.to_dict() for solve in self.solves],
            "notes": list(self.notes),
        }


def longest_contracts(instance: Instance, services: Sequence[str] | None = None) -> Instance:
    """The instance with only each (service, mode)'s longest contracts offered (for the
    services named, or every service). Today's option stays on offer (it is how the service
    runs now, and a locked service's existing contract runs it), marked ``current``."""
    chosen = None if services is None else set(services)
    out = []
    for service in instance.services:
        if chosen is not None and service.id not in chosen:
            out.append(service)
            continue
        longest: dict[str, int] = {}
        for option in service.options:
            length = option.contract_years or 1
            longest[option.mode] = max(longest.get(option.mode, 0), length)
        current = _current_position(service.options, service.current_mode)
        keep: list[Option] = []
        for position, option in enumerate(service.options):
            if position == current:
                keep.append(option.model_copy(update={"current": True}))
            elif (option.contract_years or 1) == longest[option.mode]:
                keep.append(option)
        out.append(service.model_copy(update={"options": keep}))
    return instance.model_copy(update={"services": out})


def _current_position(options: Sequence[Option], current_mode: str) -> int:
    for position, option in enumerate(options):
        if option.current:
            return position
    for position, option in enumerate(options):
        if option.mode == current_mode:
            return position
    return -1


def has_shorter(instance: Instance, service_id: str) -> bool:
    """True when the service offers a contract shorter than the longest of its mode (other than
    today's option)."""
    service = instance.service(service_id)
    restricted = longest_contracts(instance, [service_id]).service(service_id)
    return len(restricted.options) < len(service.options)


def appraise(
    instance: Instance | str | os.PathLike[str] | Mapping[str, Any],
    params: SolveParams | None = None,
    *,
    backend: str = "highs",
    executor: str = "serial",
    workers: int | None = None,
    scheduler: Any = None,
    per_service: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Appraisal:
    """Appraise an instance with funding scenarios (see the module docstring).

    Args:
        instance: an instance with a horizon and scenarios (an :class:`Instance`, a path to an
            instance file, or the parsed data).
        params: solve parameters for every solve (its gap bounds how exact the figures are).
        backend: the solver backend.
        executor, workers, scheduler: how the independent solves are spread
            (:func:`portfolio.executors.solve_many`).
        per_service: also appraise each service's flexibility (one solve per service whose plan
            uses a contract shorter than its mode's longest).
        progress: called with a line of text as each solve ends.

    Raises:
        InstanceFileError, ValidationError: bad input.
        PortfolioError: the instance has no scenarios, or the recourse problem has no plan.
    """
    if isinstance(instance, Mapping):
        instance = instance_from_data(instance)
    elif not isinstance(instance, Instance):
        instance = load_instance(instance)
    if not instance.scenarios or instance.horizon is None:
        raise PortfolioError(
            "appraise needs an instance with a horizon and funding scenarios (scenarios: [...])"
        )
    params = params or SolveParams()
    say = progress or (lambda _line: None)
    maximise = instance.objective_sense == "maximise"
    names = tuple(s.name for s in instance.scenarios)
    probs = [s.probability for s in instance.scenarios]
    risk = instance.risk
    solver = get_backend(backend)
    solves: list[Solve] = []
    notes: list[str] = []

    def better(a: float | None, b: float | None) -> float | None:
        """How much better a is than b in the objective's sense."""
        if a is None or b is None:
            return None
        return a - b if maximise else b - a

    def record(name: str, result: SolveResult, seconds: float) -> None:
        solves.append(Solve(name, result.status.value, result.objective, seconds, result.detail))
        if result.has_plan and result.status.value != "optimal":
            notes.append(f"{name}: {result.status.value} (gap {result.gap}); figures that use "
                         "it are approximate")
        say(f"{name}: {result.status.value}, objective {result.objective}, {seconds:.2f}s")

    # Phase 1: the recourse problem here; wait-and-see, expected value and long contracts only
    # through solve_many.
    items = [BatchItem(f"wait_and_see:{s.name}", dump_instance(scenario_instance(instance, s),
                                                                "json"))
             for s in instance.scenarios]
    items.append(BatchItem("expected_value_problem", dump_instance(mean_instance(instance),
                                                                   "json")))
    items.append(BatchItem("long_contracts_only", dump_instance(longest_contracts(instance),
                                                                "json")))
    pool = _solve_all(items, backend, params, executor, workers, scheduler, solves, notes, say)
    t0 = time.perf_counter()
    recourse = solve_instance(instance, solver, params)
    record("recourse_problem", recourse, time.perf_counter() - t0)
    if not recourse.has_plan or recourse.scenarios is None:
        raise PortfolioError(
            f"the recourse problem has no plan ({recourse.status.value}): {recourse.detail}"
            + (f" {recourse.explanation.summary}" if recourse.explanation else "")
        )
    outcomes = pool()
    rp_by: dict[str, float | None] = {o.name: o.objective for o in recourse.scenarios.outcomes}

    ws_by: dict[str, float | None] = {}
    for s in instance.scenarios:
        found = outcomes[f"wait_and_see:{s.name}"]
        ws_by[s.name] = found.objective if found.has_plan else None
    ws = None
    if all(v is not None for v in ws_by.values()):
        ws = combine(risk, probs, [float(ws_by[n] or 0.0) for n in names], maximise)
    else:
        notes.append("wait-and-see: some scenario has no plan on its own")

    ev = outcomes["expected_value_problem"]
    ev_objective = ev.objective if ev.has_plan else None
    eev = None
    eev_by: dict[str, float | None] = {n: None for n in names}
    vss_reason = None
    if ev.has_plan and ev.result is not None:
        ev_paths = _paths(ev.result)
        t0 = time.perf_counter()
        fixed = Scenarios.with_first_year(instance, ev_paths)
        eev_result = solve_formulation(fixed, solver, params, Clock(time.perf_counter(),
                                                                     params.time_limit))
        record("eev", eev_result, time.perf_counter() - t0)
        if eev_result.has_plan and eev_result.scenarios is not None:
            eev = eev_result.objective
            eev_by = {o.name: o.objective for o in eev_result.scenarios.outcomes}
        else:
            why = eev_result.explanation.summary if eev_result.explanation else \
                eev_result.detail
            vss_reason = (
                "the expected-value plan's first-year decisions leave no plan "
                f"({eev_result.status.value}): {why}"
            )
    else:
        vss_reason = f"the expected-value problem has no plan ({ev.status.value})"

    long_only = outcomes["long_contracts_only"]
    long_objective = long_only.objective if long_only.has_plan else None
    long_by: dict[str, float | None] = {n: None for n in names}
    if long_only.has_plan and long_only.result is not None:
        long_by = {s["name"]: s["objective"] for s in long_only.result.get("scenarios", [])}
    else:
        notes.append(f"long contracts only: no plan ({long_only.status.value})")

    by_service: dict[str, float | None] = {}
    if per_service:
        uses_short = _services_using_short(instance, recourse)
        candidates = [s.id for s in instance.services if has_shorter(instance, s.id)]
        todo = [sid for sid in candidates if sid in uses_short]
        for sid in (s.id for s in instance.services):
            by_service[sid] = 0.0
        if todo:
            items = [BatchItem(f"long_contracts_only:{sid}",
                               dump_instance(longest_contracts(instance, [sid]), "json"))
                     for sid in todo]
            second = _solve_all(items, backend, params, executor, workers, scheduler, solves,
                                notes, say)()
            for sid in todo:
                found = second[f"long_contracts_only:{sid}"]
                loss = better(recourse.objective, found.objective) if found.has_plan else None
                if loss is not None and loss < 0:
                    notes.append(f"long contracts only for {sid}: a better plan than the "
                                 "recourse solve's (which stopped short); its loss counts as 0")
                by_service[sid] = None if loss is None else max(0.0, loss)

    # The long-contracts plan and the EEV plan are plans of the recourse problem too (fewer
    # options; fixed first-year decisions): when a solve stopped short of optimal and one of
    # them is better, it is the best recourse plan known, and the figures use it.
    rp_value = recourse.objective
    for name, value, by in (("long_contracts_only", long_objective, long_by),
                            ("eev", eev, eev_by)):
        gain = better(value, rp_value)
        if gain is not None and gain > 0:
            notes.append(
                f"recourse problem: the {name} plan is better ({value:,.6g} against "
                f"{rp_value:,.6g}) and is a recourse plan too; the figures use it"
            )
            rp_value = value
            rp_by = dict(by)
    by_scenario: dict[str, dict[str, float | None]] = {}
    for n in names:
        by_scenario[n] = {
            "recourse_problem": rp_by.get(n),
            "wait_and_see": ws_by.get(n),
            "evpi": better(ws_by.get(n), rp_by.get(n)),
            "eev": eev_by.get(n),
            "vss": better(rp_by.get(n), eev_by.get(n)),
            "long_contracts_only": long_by.get(n),
            "value_of_flexibility": better(rp_by.get(n), long_by.get(n)),
        }
    return Appraisal(
        instance=instance.name,
        risk=as_data(risk),
        sense="maximise" if maximise else "minimise",
        scenarios=names,
        recourse_problem=rp_value,
        wait_and_see=ws,
        evpi=better(ws, rp_value),
        expected_value_problem=ev_objective,
        eev=eev,
        vss=better(rp_value, eev),
        vss_reason=vss_reason,
        long_contracts_only=long_objective,
        value_of_flexibility=(
            better(rp_value, long_objective)
            if long_objective is not None
            else None
        ),
        flexibility_by_service=by_service,
        by_scenario=by_scenario,
        solves=tuple(solves),
        notes=tuple(dict.fromkeys(notes)),
    )


def _solve_all(
    items: list[BatchItem],
    backend: str,
    params: SolveParams,
    executor: str,
    workers: int | None,
    scheduler: Any,
    solves: list[Solve],
    notes: list[str],
    say: Callable[[str], None],
) -> Callable[[], dict[str, ItemResult]]:
    """Start solving ``items`` in a background thread (so that the caller's own solve runs
    meanwhile); the returned function waits and returns every item's result by name."""
    iterator = solve_many(items, backend, params, executor=executor, workers=workers,
                          scheduler=scheduler)
    found: dict[str, ItemResult] = {}
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run()
        except BaseException as exc:  # re-raised by the caller's thread
            failure.append(exc)

    def run() -> None:
        with closing(iterator) as results:
            for item in results:
                found[item.name] = item
                seconds = float(item.seconds or 0.0)
                solves.append(Solve(item.name, item.status.value, item.objective, seconds,
                                    item.error or ""))
                if item.error:
                    notes.append(f"{item.name}: {item.error}")
                say(f"{item.name}: {item.status.value}, objective {item.objective}, "
                    f"{seconds:.2f}s")

    thread = threading.Thread(target=work, name="portfolio-appraise", daemon=True)
    thread.start()

    def collect() -> dict[str, ItemResult]:
        thread.join()
        if failure:
            raise failure[0]
        return found

    return collect


def _paths(result: Mapping[str, Any]) -> list[ServicePath]:
    """A multi-year result file's decisions (from its contracts)."""
    starts: dict[str, list[tuple[int, int]]] = {}
    broken: dict[str, int] = {}
    first = int(result["horizon"]["start_year"])
    for contract in result["contracts"]:
        service = contract["service"]
        starts.setdefault(service, [])
        if contract["existing"]:
            if contract["broken_year"] is not None:
                broken[service] = int(contract["broken_year"]) - first
            continue
        starts[service].append((int(contract["option"]), int(contract["start_year"]) - first))
    return [
        ServicePath(service, broken.get(service), tuple(sorted(own, key=lambda p: p[1])))
        for service, own in ((s, starts.get(s, [])) for s in result["schedule"])
    ]


def _services_using_short(instance: Instance, result: SolveResult) -> set[str]:
    """The services whose plan, in some scenario, starts a contract shorter than the longest
    of its mode."""
    assert result.scenarios is not None
    found: set[str] = set()
    for outcome in result.scenarios.outcomes:
        for path in outcome.plan.paths:
            service = instance.service(path.service)
            longest: dict[str, int] = {}
            for option in service.options:
                longest[option.mode] = max(longest.get(option.mode, 0), option.contract_years or 1)
            for position, _start in path.starts:
                option = service.options[position]
                if (option.contract_years or 1) < longest[option.mode]:
                    found.add(path.service)
    return found


def format_appraisal(appraisal: Appraisal, currency: str | None = None) -> str:
    """A short table of the appraisal's figures, overall and per scenario."""
    unit = f" ({currency})" if currency else ""

    def fig(value: float | None) -> str:
        if value is None:
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}" if value != 0 else "0"

    lines = [
        f"{appraisal.instance}: appraisal under {len(appraisal.scenarios)} funding scenarios "
        f"(risk measure {label_of(appraisal.risk)}; objective {appraisal.sense}d{unit})",
        "EVPI, VSS and the value of flexibility are gains in the objective's units (>= 0).",
        "",
    ]
    rows = [
        ("recourse problem (the plan solve gives)", appraisal.recourse_problem),
        ("wait and see (funding known now)", appraisal.wait_and_see),
        ("EVPI: perfect foresight is worth", appraisal.evpi),
        ("expected-value problem (mean data)", appraisal.expected_value_problem),
        ("EEV: the mean-data plan's first year", appraisal.eev),
        ("VSS: planning for uncertainty gains", appraisal.vss),
        ("long contracts only", appraisal.long_contracts_only),
        ("value of flexibility (shorter contracts)", appraisal.value_of_flexibility),
    ]
    width = max(len(r[0]) for r in rows)
    lines += [f"  {name:<{width}}  {fig(value):>12}" for name, value in rows]
    if appraisal.vss is None and appraisal.vss_reason:
        lines.append(f"  VSS not available: {appraisal.vss_reason}")
    header = ["scenario", "recourse", "wait&see", "EVPI", "EEV", "VSS", "long only", "flex."]
    keys = ["recourse_problem", "wait_and_see", "evpi", "eev", "vss", "long_contracts_only",
            "value_of_flexibility"]
    table = [header] + [
        [name, *(fig(appraisal.by_scenario[name][k]) for k in keys)]
        for name in appraisal.scenarios
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["", "Per scenario:"]
    for row in table:
        lines.append(
            "  " + "  ".join(
                [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:],
                                                                       strict=True)]
            )
        )
    worth = sorted(
        ((sid, v) for sid, v in appraisal.flexibility_by_service.items() if v),
        key=lambda item: -(item[1] or 0.0),
    )
    if worth:
        lines += ["", "Flexibility worth most (loss if limited to the longest contracts):"]
        lines += [f"  {sid:<32} {fig(value):>12}" for sid, value in worth[:10]]
    elif appraisal.flexibility_by_service:
        lines += ["", "No single service loses anything when limited to its longest contracts."]
    lines += ["", "Solves:"]
    for solve in appraisal.solves:
        lines.append(f"  {solve.name:<40} {solve.status:<10} {fig(solve.objective):>12}  "
                     f"{solve.seconds:6.2f}s")
    lines += [f"note: {note}" for note in appraisal.notes]
    return "\n".join(lines) + "\n"


def label_of(risk: Any) -> str:
    """The risk measure (as the JSON gives it) in words."""
    if isinstance(risk, Mapping):
        return f"cvar {risk['cvar']:g}"
    return str(risk)


def appraisal_json(appraisal: Appraisal) -> str:
    """The appraisal as JSON text."""
    return json.dumps(appraisal.to_dict(), indent=2, allow_nan=False) + "\n"
