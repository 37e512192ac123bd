"""Exit codes of the ``portfolio`` command, shared by the library parts that report one (a batch
writes its exit code in ``summary.json``).

:attr:`portfolio.result.Status.exit_code` gives a solve's: :data:`EXIT_OK` with a plan,
:data:`EXIT_NO_PLAN` without.
"""

from __future__ import annotations

EXIT_OK = 0
"""A plan (optimal, or feasible within the limits); for a batch, every instance has one."""

EXIT_NO_PLAN = 1
"""No plan: infeasible, or none found within the limits (a crash or lost worker in a batch)."""

EXIT_BAD_INPUT = 2
"""Bad input or usage: the message names the file, item and field."""

EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C), as a shell reports a death by SIGINT."""
