"""The package's shape (issue 11): no import circles, small modules and functions, no hidden
contracts.  Read from the sources with ``ast``; nothing here imports lazyhook."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lazyhook"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.glob("*.py")):
        name = "lazyhook" if path.stem == "__init__" else f"lazyhook.{path.stem}"
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(tree: ast.AST) -> set[str]:
    """Every lazyhook module *tree* imports at run time, at module level or inside functions
    (imports for type checking only are not run)."""
    skip = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lazyhook"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lazyhook":
                found.update(f"lazyhook.{a.name}" for a in node.names)
            elif node.module.startswith("lazyhook."):
                found.add(node.module)
    return found


def test_no_import_cycle() -> None:
    graph = {name: _imports(tree) - {name} for name, tree in _modules().items()}
    # Every module imports its package first; that edge is not a circle of concepts.
    for deps in graph.values():
        deps.discard("lazyhook")
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_package_imports_only_what_start_up_allows() -> None:
    # lazyhook/__init__.py at module level: _config and _finder, nothing else of lazyhook.
    tree = _modules()["lazyhook"]
    top = _imports(ast.Module(body=[n for n in tree.body if not isinstance(
        n, (ast.FunctionDef, ast.ClassDef))], type_ignores=[]))  # fmt: skip
    assert top == {"lazyhook._config", "lazyhook._finder"}


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_and_functions_are_small(name: str) -> None:
    tree = _modules()[name]
    path = PACKAGE / ("__init__.py" if name == "lazyhook" else name.split(".")[1] + ".py")
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name}: {length} lines"


def test_no_sys_modules_peeks() -> None:
    # Cross-module contracts are imports or documented hooks, not sys.modules lookups of
    # lazyhook's own modules (``sys.modules.get("lazyhook._x")``, ``sys.modules["..."]``).
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Call, ast.Subscript)):
                text = ast.unparse(node)
                if "sys.modules" in text:
                    assert "'lazyhook" not in text and '"lazyhook' not in text, f"{name}: {text}"


def _module_level_imports(tree: ast.Module) -> set[str]:
    top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    return _imports(ast.Module(body=top, type_ignores=[]))


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges.get(name, ()))
    return seen


def test_before_a_fork_lazyhook_loads_every_module_it_may_import_later() -> None:
    # _process._load_own_code is a hand-kept list: after a fork, a module another thread was
    # importing would stay locked forever in the child; after an import blocker's audit hook,
    # no import is possible.  Every lazyhook module the lazy-module machinery can import
    # later (inside functions, transitively) must be loaded by then.
    modules = _modules()
    anywhere = {name: _imports(tree) - {name} for name, tree in modules.items()}
    top = {name: _module_level_imports(tree) - {name} for name, tree in modules.items()}
    later = _closure({"lazyhook._module", "lazyhook._process"}, anywhere)
    load = next(
        n for n in ast.walk(modules["lazyhook._process"])
        if isinstance(n, ast.FunctionDef) and n.name == "_load_own_code"
    )  # fmt: skip
    loaded = _closure({"lazyhook", "lazyhook._module", "lazyhook._process"} | _imports(load), top)
    assert later - loaded == set()
