"""Solve parameters common to every backend."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from portfolio.errors import ParameterError

DEFAULT_REL_GAP = 1e-7
"""Relative gap under which a plan counts as optimal, the same for every backend."""

PREFER_RULES = ("changes", "none")
"""Values of :attr:`SolveParams.prefer`."""

ISOLATION_MODES = ("auto", "process", "thread")
"""Values of :attr:`SolveParams.isolation`."""


@dataclass(frozen=True)
class SolveParams:
    """Parameters of one solve.

    Attributes:
        time_limit: wall-clock seconds for the whole solve (read to result), or None for no limit.
            portfolio keeps it even when a solver overruns its own limit. It covers every
            stage: reading (a file still being read when it runs out stops there), compiling,
            the start heuristics and the Lagrangian, the solver, the verification of every plan,
            the tie-break (``prefer``) and today's baseline. The search phases end early by a
            reserve for verifying the last plan and building the result (estimated from the
            model's size, then from the verification timed in the solve:
            :class:`portfolio.solve.Reserve`); today's baseline is left out, with a note, when
            the time left would not cover it. Only compiling cannot be stopped, and a solver
            that does not stop when asked is killed or abandoned a moment after the limit (see
            the README, "What a time limit covers").
        rel_gap: relative optimality gap at which the search stops (default 1e-7, so that every
            backend's "optimal" means the same).
        threads: solver threads (None: the backend's default).
        seed: random seed passed to the solver.
        verbose: let the solver print its log.
        backend_options: solver-specific options, passed through verbatim; they win over the
            common parameters above.
        presolve: drop options that can never be chosen before solving.
        heuristic: run the LP-guided primal heuristic and pass its plan as a MIP start where the
            backend takes one.
        explain_infeasible: when no plan exists, re-solve an elastic model to say what must give.
        prefer: what to do once a plan is found: ``"changes"`` (default) reports, among plans
            whose objective is within 1e-9 (relative) of it, one with the fewest changes of mode,
            then the least one-off money (:func:`portfolio.prefer.fewest_changes`); ``"none"``
            reports the plan as found.
        ways_out: with ``explain_infeasible``, also look for several ways out (up to three sets of
            limits, each with its amounts: more solves).
        isolation: where solver runs go. ``"auto"`` (default): with a ``time_limit``, each
            solver run of a backend that runs in this process (HiGHS, CP-SAT, SCIP; not CBC,
            which runs its own process) goes to a child process that is killed if it does not
            stop at the deadline, so no run is ever abandoned and its threads, memory and CPU are
            always reclaimed; without a limit runs stay in this process (nothing is abandoned
            then). ``"process"``: always a child process. ``"thread"``: always this process (a
            run that does not stop at the deadline is abandoned and keeps running). A child
            process costs some milliseconds per run (see the README); where none can be
            started, runs stay in this process.
        start: a plan to start from (a MIP start): service id -> the position (0-based) of its
            option in the service's ``options``, for every service of a single-period instance.
            The solve verifies it on the instance; a plan that meets every limit replaces the
            LP-guided start heuristic, is passed to every backend that takes a start, and is
            the plan returned when the solver finds none before its limit. A plan that breaks a
            limit, names a missing service or option, or leaves a service out is ignored (not
            repaired); ``stats["start"]`` says which happened and why. Multi-year and scenario
            instances ignore it.
    """

    time_limit: float | None = None
    rel_gap: float = DEFAULT_REL_GAP
    threads: int | None = None
    seed: int = 0
    verbose: bool = False
    backend_options: dict[str, Any] = field(default_factory=dict)
    presolve: bool = True
    heuristic: bool = True
    explain_infeasible: bool = True
    prefer: str = "changes"
    ways_out: bool = True
    isolation: str = "auto"
    start: dict[str, int] | None = None

    def __post_init__(self) -> None:
        """Check the common parameters.

        Raises:
            ParameterError: a parameter is out of range (also a ``ValueError``).
        """
        if self.time_limit is not None and not (
            math.isfinite(self.time_limit) and self.time_limit > 0
        ):
            raise ParameterError(
                f"time_limit must be a positive number of seconds, got {self.time_limit}"
            )
        if not (math.isfinite(self.rel_gap) and 0 <= self.rel_gap < 1):
            raise ParameterError(f"rel_gap must be in [0, 1), got {self.rel_gap}")
        if self.threads is not None and self.threads < 1:
            raise ParameterError(f"threads must be at least 1, got {self.threads}")
        if self.isolation not in ISOLATION_MODES:
            raise ParameterError(
                f"isolation must be one of {', '.join(ISOLATION_MODES)}, got {self.isolation!r}"
            )
        if self.start is not None:
            for service, position in self.start.items():
                if isinstance(position, bool) or not isinstance(position, int) or position < 0:
                    raise ParameterError(
                        f"start: service '{service}' must map to an option position (a whole "
                        f"number from 0), got {position!r}"
                    )
        if self.prefer not in PREFER_RULES:
            raise ParameterError(
                f"prefer must be one of {', '.join(PREFER_RULES)}, got {self.prefer!r}"
            )

    def with_(self, **changes: Any) -> SolveParams:
        """A copy with some fields changed."""
        return replace(self, **changes)
