"""No import cycle anywhere in backend/, imports inside functions included (issue #18): a deferred import that
closes a cycle only hides it from the interpreter, not from the design. Imports under `if TYPE_CHECKING:` never
run and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(source: str, name: str, modules: set[str], *, package: bool = False) -> set[str]:
    """The backend modules the module `name` imports, wherever in its source (top level, functions, methods)."""
    package_name = name if package else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> None:
        while target and target not in modules:  # `from backend.x import name`: the module backend.x
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package_name.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                resolve(f"{base}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def import_graph(top: str = "backend") -> dict[str, set[str]]:
    paths = {module_name(p): p for p in (ROOT / top).rglob("*.py")}
    modules = set(paths)
    return {name: imports(path.read_text(encoding="utf-8"), name, modules, package=path.name == "__init__.py")
            for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself): Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_finder_sees_a_cycle_closed_inside_a_function():
    modules = {"backend.x", "backend.x.a", "backend.x.b", "backend.x.c"}
    graph = {
        "backend.x.a": imports("import backend.x.b\n", "backend.x.a", modules),
        "backend.x.b": imports("from backend.x import c\n", "backend.x.b", modules),
        "backend.x.c": imports("def later():\n    from . import a\n", "backend.x.c", modules),
        "backend.x": imports("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from backend.x import a\n",
                             "backend.x", modules, package=True),
    }
    assert graph["backend.x.c"] == {"backend.x.a"} and graph["backend.x"] == set()
    assert cycles(graph) == [["backend.x.a", "backend.x.b", "backend.x.c"]]


def test_the_graph_counts_function_level_imports():
    graph = import_graph()
    # backend/service.py builds every section inside its properties: those imports must be in the graph
    assert "backend.branch.end_of_day" in graph["backend.service"]
    assert "backend.core.db_pg" in graph["backend.core.database"]  # inside open_database, for a URL only


def test_no_import_cycle_in_backend():
    found = cycles(import_graph())
    assert found == [], "import cycles in backend/ (function-level imports count):\n" + "\n".join(
        " → ".join(c) for c in found)
