"""How the SDK's definition modules (``codeloc/*.py``) import each other.

Every import counts, the ones inside functions and under ``TYPE_CHECKING`` too: they are read
from the source with ``ast``. The modules form no cycle but one, ``_selection`` and its parser,
and that one closes only through a lazy import; and no module takes another's private names.
"""

import ast
from pathlib import Path

import codeloc

PACKAGE = Path(codeloc.__file__).parent
MODULES = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}


def imports_of(path: Path) -> list[tuple[str, str, bool]]:
    """``(module, name, lazy)`` for each name ``path`` imports from another SDK module.

    ``name`` is ``""`` for ``import codeloc._x``; ``lazy`` is whether the import sits in a
    function body.
    """
    found: list[tuple[str, str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module:
                for alias in child.names:
                    if child.module == "codeloc" and alias.name in MODULES:
                        found.append((alias.name, "", inner))  # from codeloc import _x
                    elif child.module.startswith("codeloc."):
                        stem = child.module.removeprefix("codeloc.").split(".")[0]
                        found.append((stem, alias.name, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("codeloc."):
                        found.append((alias.name.split(".")[1], "", inner))
            visit(child, inner)

    visit(ast.parse(path.read_text()), lazy=False)
    return [(module, name, lazy) for module, name, lazy in found if module in MODULES]


EDGES = {
    (source, target): lazy
    for source, path in MODULES.items()
    for target, _, lazy in imports_of(path)
    if target != source
}


def cycles() -> list[set[str]]:
    """The strongly connected components of more than one module."""
    reach = {module: {t for s, t in EDGES if s == module} for module in MODULES}
    changed = True
    while changed:  # transitive closure; a few dozen modules
        changed = False
        for targets in reach.values():
            more = set().union(*(reach[t] for t in targets)) - targets
            if more:
                targets |= more
                changed = True
    components = {frozenset(m for m in MODULES if m in reach[s] and s in reach[m]) for s in MODULES}
    return [set(c) for c in components if len(c) > 1]


def test_the_only_cycle_is_the_selection_parser_and_it_closes_lazily() -> None:
    assert cycles() == [{"_selection", "_selection_parser"}]
    assert EDGES[("_selection", "_selection_parser")] is True  # inside parse_selection
    assert EDGES[("_selection_parser", "_selection")] is False


def test_assets_ops_and_the_function_inspection_import_one_way() -> None:
    assert ("_ops", "_assets") in EDGES
    assert ("_assets", "_signature") in EDGES
    for source, target in [("_assets", "_ops"), ("_signature", "_assets"), ("_signature", "_ops")]:
        assert (source, target) not in EDGES


def test_no_module_imports_private_names_of_another() -> None:
    private = sorted(
        f"{source} imports {name} from {target}"
        for source, path in MODULES.items()
        for target, name, _ in imports_of(path)
        if target != source and name.startswith("_") and name not in MODULES
    )
    assert private == []
