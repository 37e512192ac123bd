"""The layering of ARCHITECTURE.md, checked on the source: what each layer may import.

Imports are read with ``ast`` from every module of ``src/portfolio``, including imports inside
functions; imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "portfolio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every ``portfolio`` import of one module: (imported module, names taken, line)."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.found: list[tuple[str, tuple[str, ...], int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "portfolio" or alias.name.startswith("portfolio."):
                self.found.append((alias.name, (), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module if self.is_package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        if base != "portfolio" and not base.startswith("portfolio."):
            return
        names = tuple(alias.name for alias in node.names)
        self.found.append((base, names, node.lineno))


def _graph() -> dict[str, list[tuple[str, tuple[str, ...], int]]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, list[tuple[str, tuple[str, ...], int]]] = {}
    for name, path in sorted(modules.items()):
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        edges = []
        for target, names, line in visitor.found:
            # ``from portfolio.x import y`` imports the module portfolio.x.y when there is one.
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for module in submodules or [target]:
                if module in modules:
                    edges.append((module, names, line))
        graph[name] = edges
    return graph


GRAPH = _graph()


def _edges(module: str) -> set[str]:
    return {target for target, _, _ in GRAPH[module] if target != module}


def test_the_package_has_its_modules() -> None:
    assert {"portfolio.solve", "portfolio.cli", "portfolio.backends.base"} <= set(GRAPH)


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components over every import (function-level ones too)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(_edges(node)):
            # A package's __init__ importing its own submodules is how packages work; a
            # submodule importing its package back is a cycle and is counted.
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_module_takes_a_private_name_from_another() -> None:
    taken = [
        f"{module}:{line} takes {target}.{name}"
        for module, edges in GRAPH.items()
        for target, names, line in edges
        for name in names
        if name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert taken == []


def test_only_the_command_line_imports_the_command_line() -> None:
    library = [
        f"{module} imports {target}"
        for module, edges in GRAPH.items()
        if not (module == "portfolio.cli" or module.startswith("portfolio.cli."))
        and module != "portfolio.__main__"
        for target, _, _ in edges
        if target == "portfolio.cli" or target.startswith("portfolio.cli.")
    ]
    assert library == []


def _reaches(module: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        target
        for target in _edges(module)
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("portfolio.backends")))
def test_backends_see_only_the_linear_model(module: str) -> None:
    """A backend translates ``LinearModel``; it never reads the domain, a file or a command."""
    forbidden = ("portfolio.domain", "portfolio.io", "portfolio.compile", "portfolio.kernels",
                 "portfolio.multiyear", "portfolio.solve", "portfolio.cli", "portfolio.server")
    assert _reaches(module, forbidden) == []


def test_linear_model_depends_on_nothing_of_the_package() -> None:
    assert _edges("portfolio.linear") == set()


@pytest.mark.parametrize("module", ["portfolio.verify", "portfolio.multiyear.verify"])
def test_the_verifier_is_independent_of_the_compiled_model(module: str) -> None:
    """The verifier works from the domain; a compile error must not be able to hide in it."""
    forbidden = ("portfolio.compile", "portfolio.kernels", "portfolio.table", "portfolio.linear",
                 "portfolio.multiyear.compile", "portfolio.multiyear.network",
                 "portfolio.backends", "portfolio.solve")
    assert _reaches(module, forbidden) == []
