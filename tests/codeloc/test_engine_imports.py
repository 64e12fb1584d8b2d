"""The engine's modules import each other in one direction, and Celery only when used.

Every import statement counts, those inside functions too: a cycle hidden in a function
still makes two modules know each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import codeloc.engine

ENGINE = Path(codeloc.engine.__file__).parent
PACKAGE = "codeloc.engine"


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The names of the modules ``module`` imports, anywhere in its body."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            # ``from codeloc.engine import _celery`` imports the module ``_celery``.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def engine_import_graph() -> dict[str, set[str]]:
    """Each engine module, and the engine modules it imports (the package's own
    ``__init__`` runs first whenever one of them is imported, so it is left out)."""
    modules = {_module_name(p): p for p in ENGINE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        imported = _imported(tree, name, path.stem == "__init__")
        graph[name] = {m for m in imported if m in modules and m not in (name, PACKAGE)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (its modules in order, the first repeated last), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if child not in state and (cycle := visit(child)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_the_scan_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from codeloc.engine._plan import Step\n")
    assert "codeloc.engine._plan" in _imported(tree, "codeloc.engine._x", False)
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_engine_module_imports_back_what_imports_it() -> None:
    graph = engine_import_graph()

    assert "codeloc.engine._scheduler" in graph["codeloc.engine._celery"]
    assert find_cycle(graph) == []


def test_the_step_bookkeeping_has_one_home() -> None:
    graph = engine_import_graph()

    executors = ("_executor", "_multiprocess", "_celery")
    for name in executors:
        assert "codeloc.engine._scheduler" in graph[f"{PACKAGE}.{name}"]
    # No executor builds on another: each goes through the scheduler and the step.
    for name in executors[1:]:
        assert graph[f"{PACKAGE}.{name}"].isdisjoint(f"{PACKAGE}.{e}" for e in executors)


def test_importing_the_celery_executor_does_not_import_celery() -> None:
    code = (
        "import sys, codeloc.engine._celery, codeloc.engine\n"
        "print(sorted(m for m in sys.modules if m == 'celery' or m.startswith('celery.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
