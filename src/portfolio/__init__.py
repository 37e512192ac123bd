"""portfolio: choose how each council service is delivered, with verified plans.

Typical use::

    import portfolio

    instance = portfolio.load_instance("instances/example_borough.yaml")
    result = portfolio.solve(instance, backend="highs", time_limit=60)
    if result.has_plan:
        print(result.objective, result.plan.assignment)
    elif result.explanation:
        print(result.explanation.summary)
"""

from portfolio.backends import available_backends, backend_names, get_backend
from portfolio.compile import CompiledModel, compile_instance
from portfolio.domain import Constraints, Instance, Limit, Mode, Option, Service
from portfolio.errors import (
    BackendUnavailableError,
    IncompatibleModelError,
    InputIssue,
    InstanceFileError,
    NoPlanError,
    PortfolioError,
    UnknownBackendError,
    ValidationError,
)
from portfolio.executors import BatchItem, ItemResult, solve_many
from portfolio.io import instance_from_data, load_instance, write_json
from portfolio.linear import LinearModel, Sense
from portfolio.multiyear import (
    Contract,
    MultiYearPlan,
    ServicePath,
    YearTotals,
    compile_multi_year,
    verify_schedule,
)
from portfolio.params import SolveParams
from portfolio.result import Check, Explanation, Plan, Relaxation, SolveResult, Status
from portfolio.solve import solve
from portfolio.verify import Verification, verify_plan

__version__ = "0.1.0"

__all__ = [
    "BatchItem",
    "ItemResult",
    "BackendUnavailableError",
    "Check",
    "CompiledModel",
    "Constraints",
    "Contract",
    "Explanation",
    "IncompatibleModelError",
    "InputIssue",
    "Instance",
    "InstanceFileError",
    "Limit",
    "LinearModel",
    "Mode",
    "MultiYearPlan",
    "NoPlanError",
    "Option",
    "Plan",
    "PortfolioError",
    "Relaxation",
    "Sense",
    "Service",
    "ServicePath",
    "SolveParams",
    "SolveResult",
    "Status",
    "UnknownBackendError",
    "ValidationError",
    "Verification",
    "YearTotals",
    "__version__",
    "available_backends",
    "backend_names",
    "compile_instance",
    "compile_multi_year",
    "get_backend",
    "instance_from_data",
    "load_instance",
    "solve",
    "solve_many",
    "verify_plan",
    "verify_schedule",
    "write_json",
]
