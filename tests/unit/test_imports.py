"""The import graph of ``src/cisflow`` has no cycle: imports only go down (imports inside functions count too)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _module_names(src: Path) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module under ``src/cisflow`` (packages by their ``__init__``)."""
    out = {}
    for path in sorted((src / "cisflow").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """cisflow modules that ``name`` imports anywhere in its file (module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
    return {m for m in found if m in modules and m != name}


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Edges module → imported module, plus the packages whose ``__init__`` such an import runs.

    Importing ``cisflow.a.b`` runs ``cisflow.a``'s ``__init__`` first, so ``cisflow.a`` is a target
    too, except for modules inside ``cisflow.a`` itself (a package's own modules may use each other).
    """
    modules = _module_names(src)
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target in _imported(name, path, modules):
            edges.add(target)
            parts = target.split(".")
            for k in range(2, len(parts)):
                parent = ".".join(parts[:k])
                if parent in modules and not (name == parent or name.startswith(parent + ".")):
                    edges.add(parent)
        graph[name] = edges
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, …, a]`` of the directed graph, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_cycle_finder_finds_a_known_cycle_and_none_in_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_graph_sees_lazy_and_package_imports(tmp_path):
    pkg = tmp_path / "cisflow"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from cisflow.high import g\n")
    (pkg / "high.py").write_text("from cisflow.sub.leaf import h\n")
    (pkg / "sub" / "__init__.py").write_text("from cisflow.sub import leaf\n")
    (pkg / "sub" / "leaf.py").write_text("from . import other\nimport cisflow.low\n")
    (pkg / "sub" / "other.py").write_text("")
    graph = import_graph(tmp_path)
    assert graph["cisflow.low"] == {"cisflow.high"}  # the import inside a function counts
    assert graph["cisflow.high"] == {"cisflow.sub.leaf", "cisflow.sub"}  # the package __init__ runs too
    assert graph["cisflow.sub.leaf"] == {"cisflow.sub.other", "cisflow.low"}  # relative import resolved
    assert find_cycle(graph) is not None


def test_cisflow_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 40 and "cisflow.evaluate.pipeline" in graph
    cycle = find_cycle(graph)
    if cycle is not None:
        pytest.fail("import cycle: " + " → ".join(cycle))


def test_the_library_does_not_import_its_test_fixtures():
    """Only ``cisflow.cli.reads`` may import ``cisflow._testing``, and only inside a function (on demand)."""
    modules = _module_names(SRC)
    graph = import_graph()
    users = {m for m, edges in graph.items() if "cisflow._testing" in edges and not m.startswith("cisflow._testing")}
    assert users <= {"cisflow.cli.reads"}
    tree = ast.parse(modules["cisflow.cli.reads"].read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert not any("_testing" in ast.unparse(n) for n in top)
