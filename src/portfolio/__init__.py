"""portfolio: choose how each council service is delivered, with verified plans.

Typical use::

    import portfolio

    instance = portfolio.load_instance("instances/example_borough.yaml")
    result = portfolio.solve(instance, backend="highs", time_limit=60)
    if result.has_plan:
        print(result.objective, result.plan.assignment)
    elif result.explanation:
        print(result.explanation.summary)

A new solver joins through :func:`register_backend` (a :class:`Backend` subclass).
"""

from portfolio.backends import (
    Backend,
    Feature,
    available_backends,
    backend_names,
    get_backend,
    register_backend,
)
from portfolio.domain import Constraints, Instance, Limit, Mode, Option, Service
from portfolio.errors import (
    BackendOptionError,
    BackendUnavailableError,
    IncompatibleModelError,
    InputIssue,
    InstanceFileError,
    NoPlanError,
    OutputPathError,
    ParameterError,
    PortfolioError,
    ReadTimeLimitError,
    UnknownBackendError,
    ValidationError,
)
from portfolio.executors import BatchItem, ErrorKind, ItemResult, solve_many
from portfolio.io import instance_from_data, load_instance, write_json
from portfolio.multiyear import Contract, MultiYearPlan, ServicePath, YearTotals, verify_schedule
from portfolio.params import SolveParams
from portfolio.result import (
    Check,
    Explanation,
    Plan,
    Relaxation,
    ServiceChoice,
    SolveResult,
    Status,
    StopReason,
    Timings,
)
from portfolio.scenarios.appraise import Appraisal, appraise
from portfolio.solve import solve
from portfolio.tradeoff import Frontier, frontier
from portfolio.verify import Verification, verify_plan
from portfolio.whynot import PlanExplanation
from portfolio.whynot import explain_plan as explain

__version__ = "0.1.0"

# The user's API. The compiled model (``portfolio.compile.CompiledModel``,
# ``portfolio.linear.LinearModel``, ...) is internal: import it from its module.
__all__ = [
    "Appraisal",
    "appraise",
    "Backend",
    "BackendOptionError",
    "BackendUnavailableError",
    "BatchItem",
    "Check",
    "Constraints",
    "Contract",
    "ErrorKind",
    "Explanation",
    "Feature",
    "Frontier",
    "IncompatibleModelError",
    "InputIssue",
    "Instance",
    "InstanceFileError",
    "ItemResult",
    "Limit",
    "Mode",
    "MultiYearPlan",
    "NoPlanError",
    "Option",
    "OutputPathError",
    "ParameterError",
    "Plan",
    "PlanExplanation",
    "PortfolioError",
    "ReadTimeLimitError",
    "Relaxation",
    "Service",
    "ServiceChoice",
    "ServicePath",
    "SolveParams",
    "SolveResult",
    "Status",
    "StopReason",
    "Timings",
    "UnknownBackendError",
    "ValidationError",
    "Verification",
    "YearTotals",
    "__version__",
    "available_backends",
    "backend_names",
    "explain",
    "frontier",
    "get_backend",
    "instance_from_data",
    "load_instance",
    "register_backend",
    "solve",
    "solve_many",
    "verify_plan",
    "verify_schedule",
    "write_json",
]
