"""The house rules of docs/CONVENTIONS.md, read from the code so that a change cannot quietly break them.

- Dependencies run one way: no import circle among the application's modules, and the core (``portal/``
  outside ``create_app()``'s module and the feature subpackages) imports no feature package, not even
  inside a function. Imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count.
- Views parse input, call one operation and render: no view function is over 40 lines.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "auth", "alerts", "documents")
FEATURE_PACKAGES = ("alerts", "documents", "portal.exchange", "portal.directory", "portal.admin",
                    "portal.notices", "portal.reporting")
MAX_VIEW_LINES = 40


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The application modules ``name`` imports (a package import counts as its ``__init__``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                          for alias in node.names]
        else:
            continue
        for target in candidates:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


@pytest.fixture(scope="module")
def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, children_of_root in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(children_of_root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _is_feature(name: str) -> bool:
    return any(name == feature or name.startswith(feature + ".") for feature in FEATURE_PACKAGES)


def test_no_import_circles(import_graph):
    assert _circles(import_graph) == []


def test_the_core_imports_no_feature_package(import_graph):
    core = [name for name in import_graph
            if name.startswith("portal.") and not _is_feature(name)]  # ``portal`` itself is create_app()'s module
    assert {name: sorted(filter(_is_feature, import_graph[name])) for name in core
            if any(map(_is_feature, import_graph[name]))} == {}


def test_no_view_function_is_over_40_lines(app):
    long_views = {}
    for endpoint, view in app.view_functions.items():
        function = inspect.unwrap(view)
        try:
            lines = inspect.getsourcelines(function)[0]
        except (OSError, TypeError):  # Flask's own static view
            continue
        if ROOT not in Path(inspect.getsourcefile(function)).resolve().parents:
            continue
        body = [line for line in lines if line.strip() and not line.strip().startswith("#")]
        if len(body) > MAX_VIEW_LINES:
            long_views[endpoint] = len(body)
    assert long_views == {}
