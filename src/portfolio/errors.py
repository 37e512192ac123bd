"""Exceptions raised by portfolio.

Outcomes of a finished solve (infeasible, time limit, ...) are *returned* in a
:class:`~portfolio.result.SolveResult`; failures of the machinery or of the input are *raised*.
"""

from __future__ import annotations

from dataclasses import dataclass


class PortfolioError(Exception):
    """Base class of every error portfolio raises."""


@dataclass(frozen=True)
class InputIssue:
    """One problem found in an instance: where it is and what is wrong.

    Attributes:
        file: the instance file (or ``"<data>"`` for in-memory data).
        item: the item at fault, e.g. ``"service 'waste'"``, ``"mode 'latc'"`` or ``"constraints"``.
        field: the field at fault, e.g. ``"options[2].flexibility"``.
        message: what is wrong, in words a user can act on.
    """

    file: str
    item: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.item}, field '{self.field}'" if self.field else self.item
        return f"{self.file}: {where}: {self.message}"


class ValidationError(PortfolioError):
    """The instance is invalid. Carries every issue found, each naming file, item and field."""

    def __init__(self, issues: list[InputIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        head = f"{count} error{'s' if count != 1 else ''} in the instance"
        super().__init__(head + ":\n" + "\n".join(f"  - {issue}" for issue in self.issues))


class InstanceFileError(PortfolioError):
    """The file cannot be read or parsed at all (missing, unknown format, syntax error)."""

    def __init__(self, file: str, message: str) -> None:
        self.file = file
        super().__init__(f"{file}: {message}")


class BackendUnavailableError(PortfolioError):
    """The requested backend's solver package is not installed."""


class UnknownBackendError(PortfolioError):
    """No backend is registered under the requested name."""


class IncompatibleModelError(PortfolioError):
    """The backend cannot express this model (a capability it lacks)."""


class NoPlanError(PortfolioError):
    """A plan was asked of a result that has none."""


class ParameterError(PortfolioError, ValueError):
    """A solve parameter is out of range (a ``ValueError`` too, for older callers)."""


class OutputPathError(PortfolioError, OSError):
    """An output path cannot be written: a folder where a file is wanted, a file where a folder
    is wanted, or a place without permission to write (an ``OSError`` too, for older callers)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class ReadTimeLimitError(PortfolioError):
    """The time limit ran out while an instance file was read, parsed or validated.

    Attributes:
        file: the instance file.
        stage: what was under way (``reading``, ``parsing`` or ``validating``).
    """

    def __init__(self, file: str, stage: str) -> None:
        self.file = file
        self.stage = stage
        super().__init__(
            f"{file}: the time limit ran out while {stage} the file; nothing was solved"
        )


class BackendOptionError(PortfolioError):
    """A backend option (``SolveParams.backend_options``, ``-O KEY=VALUE``) that the backend does
    not know, or a value it cannot take. Bad input: the command line exits with code 2.

    Attributes:
        backend: the backend's name.
        option: the option's name as given.
        suggestions: known option names close to it (for "did you mean").
    """

    def __init__(
        self, backend: str, option: str, message: str, suggestions: tuple[str, ...] = ()
    ) -> None:
        self.backend = backend
        self.option = option
        self.suggestions = tuple(suggestions)
        hint = ""
        if self.suggestions:
            hint = "; did you mean " + " or ".join(f"'{name}'" for name in self.suggestions) + "?"
        super().__init__(f"backend option '{option}' ({backend}): {message}{hint}")
