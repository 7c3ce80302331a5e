"""benchmarks/structure.py on a made-up checkout: line counts, largest functions, every import cycle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "structure.py"


def _structure():
    spec = importlib.util.spec_from_file_location("_structure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkout(root: Path) -> Path:
    """A package with two cycles: a ↔ b (through a function-level import) and p → p.x → q → p (q imports p.y,
    which runs p's ``__init__``); p.y and c are outside them."""
    files = {
        "__init__.py": "",
        "a.py": 'from cisflow import b\n\n\ndef f():\n    """Doc\n    string."""\n    x = 1\n    return x\n',
        "b.py": "def g():\n    from cisflow.a import f\n\n    return f()\n",
        "c.py": "import cisflow.a\n\n\nclass K:\n    def m(self):\n        return 1\n",
        "p/__init__.py": "from cisflow.p.x import X\n",
        "p/x.py": "from cisflow.q import Q\n\nX = 1\n",
        "p/y.py": "Y = 2\n",
        "q.py": "from cisflow.p.y import Y\n\nQ = Y\n",
    }
    for name, text in files.items():
        path = root / "src" / "cisflow" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_lines_functions_and_cycles(tmp_path: Path) -> None:
    structure = _structure()
    src = _checkout(tmp_path) / "src"
    lines = structure.module_lines(src)
    assert lines["cisflow.a"] == 8 and lines["cisflow"] == 0 and lines["cisflow.p"] == 1 and len(lines) == 8
    functions = structure.largest_functions(src, 3)
    assert functions == [(4, 4, "cisflow.b:g"), (3, 5, "cisflow.a:f"), (2, 2, "cisflow.c:K.m")]
    cycles = structure.import_cycles(src)
    assert [members for members, _ in cycles] == [["cisflow.a", "cisflow.b"], ["cisflow.p", "cisflow.p.x", "cisflow.q"]]
    for members, cycle in cycles:
        assert cycle[0] == cycle[-1] and set(cycle) == set(members)
    text = structure.report(tmp_path, 3, 2)
    assert (
        "8 modules, 26 lines, 3 functions\n(0 of more than 50 code lines)" in text
        and "| `cisflow.a` | 8 |" in text
        and "`cisflow.p` |" not in text
    )
    assert "Import cycles: 2" in text
