"""The shape of the library in a checkout: its modules with line counts, the largest functions, the import cycles.

Usage::

    python benchmarks/structure.py [CHECKOUT ...] [--top 10] [--min-lines 0]

For each checkout (default: this one) it prints the modules of ``src/cisflow`` with their line counts, the
``--top`` largest functions (lines from ``def`` to the end of the body, methods and nested functions included,
found with :mod:`ast`), and every import cycle: the strongly connected components of the import graph that
``tests/unit/test_imports.py`` checks (imports inside functions count; importing a submodule runs its
package's ``__init__``), each shown as one cycle through it. The graph code is that test's, loaded from this
checkout and run on the other checkout's sources, so old and new are measured the same way.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LONG = 50  # code lines: the library's "small functions" guideline


def _graph_code():
    """The import-graph functions of ``tests/unit/test_imports.py`` (``import_graph``, ``find_cycle``)."""
    spec = importlib.util.spec_from_file_location("_test_imports", HERE / "tests" / "unit" / "test_imports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def module_lines(src: Path) -> dict[str, int]:
    """``{dotted module name: line count}`` of every module under ``src/cisflow`` (packages by their ``__init__``)."""
    out = {}
    for path in sorted((src / "cisflow").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = len(path.read_text(encoding="utf-8").splitlines())
    return out


def largest_functions(src: Path, top: int | None = None) -> list[tuple[int, int, str]]:
    """The ``top`` largest functions (None: all) ``(code lines, lines, module:qualified name)``, largest first;
    code lines leave out the docstring."""
    found = []
    for path in sorted((src / "cisflow").rglob("*.py")):
        module = ".".join(path.relative_to(src).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += _functions(tree, module + ":")
    return sorted(found, key=lambda item: (-item[0], -item[1], item[2]))[:top]


def _functions(node: ast.AST, prefix: str) -> list[tuple[int, int, str]]:
    """``(code lines, lines, name)`` of the functions under ``node`` (decorators not counted), qualified by their
    parents."""
    out = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = child.end_lineno - child.lineno + 1
            first = child.body[0]
            doc = (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            )
            code = lines - (first.end_lineno - first.lineno + 1 if doc else 0)
            out.append((code, lines, prefix + child.name))
            out += _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            out += _functions(child, f"{prefix}{child.name}.")
    return out


def import_cycles(src: Path) -> list[tuple[list[str], list[str]]]:
    """Each strongly connected component of the import graph (its modules, sorted) with one cycle
    ``[a, b, ..., a]`` through it."""
    code = _graph_code()
    graph = code.import_graph(src)
    cycles = []
    for component in _components(graph):
        sub = {name: graph[name] & component for name in component}
        cycles.append((sorted(component), code.find_cycle(sub)))
    return sorted(cycles)


def _components(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Kosaraju: two depth-first passes)."""
    order, seen = [], set()
    for root in sorted(graph):
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(graph[root])))]
        while stack:
            node, children = stack[-1]
            nxt = next((c for c in children if c not in seen), None)
            if nxt is None:
                order.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(graph[nxt]))))
    reverse: dict[str, set[str]] = {name: set() for name in graph}
    for name, targets in graph.items():
        for target in targets:
            reverse[target].add(name)
    out, assigned = [], set()
    for root in reversed(order):
        if root in assigned:
            continue
        component, todo = set(), [root]
        while todo:
            node = todo.pop()
            if node not in assigned:
                assigned.add(node)
                component.add(node)
                todo += [n for n in reverse[node] if n not in assigned]
        if len(component) > 1:
            out.append(component)
    return out


def report(checkout: Path, top: int, min_lines: int) -> str:
    """The three tables of one checkout as Markdown."""
    src = checkout / "src"
    lines = module_lines(src)
    shown = {name: n for name, n in lines.items() if n >= min_lines}
    functions = largest_functions(src)
    long = sum(code > LONG for code, _, _ in functions)
    out = [f"## {checkout}", "", f"{len(lines)} modules, {sum(lines.values())} lines, {len(functions)} functions"]
    out += [f"({long} of more than {LONG} code lines)", ""]
    out += ["| module | lines |", "|---|---:|"] + [f"| `{name}` | {n} |" for name, n in shown.items()]
    out += ["", f"Largest {top} functions (code lines: without the docstring):", ""]
    out += ["| code lines | lines | function |", "|---:|---:|---|"]
    out += [f"| {code} | {n} | `{name}` |" for code, n, name in functions[:top]]
    cycles = import_cycles(src)
    out += ["", f"Import cycles: {len(cycles)}", ""]
    out += [f"- {' → '.join(cycle)} (strongly connected: {', '.join(members)})" for members, cycle in cycles]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Print :func:`report` for each checkout given (default: this one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[HERE], help="checkout folders (default: this one)")
    parser.add_argument("--top", type=int, default=10, help="how many of the largest functions (default 10)")
    parser.add_argument("--min-lines", type=int, default=0, help="list only modules of at least this many lines")
    args = parser.parse_args(argv)
    print("\n".join(report(Path(c).resolve(), args.top, args.min_lines) for c in args.checkouts))


if __name__ == "__main__":
    main()
