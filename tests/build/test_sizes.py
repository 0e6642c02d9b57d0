"""No function in the library over 80 lines and no module over 600: long pieces are split along their seams.

A function's length runs from its ``def`` line (decorators excluded) to its last line, docstring included,
as the AST reports it; nested functions count inside their parent and on their own.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "rare_earth_lib"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def oversized(source: str, name: str) -> list[str]:
    """One line per function over :data:`MAX_FUNCTION_LINES` and for the module if over :data:`MAX_MODULE_LINES`."""
    problems = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        problems.append(f"{name}: module of {lines} lines (limit {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{name}:{node.lineno}: function {node.name} of {length} lines (limit {MAX_FUNCTION_LINES})")
    return problems


def test_no_library_function_or_module_is_too_long():
    modules = sorted(LIBRARY.rglob("*.py"))
    assert len(modules) > 20, f"found only {len(modules)} modules under {LIBRARY}"
    problems = [p for path in modules for p in oversized(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not problems, "split these along their seams:\n" + "\n".join(problems)


def test_the_size_check_names_the_offender():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    source = f"def short():\n    return 1\n\n\ndef too_long():\n{body}    return x0\n"
    assert oversized(source, "pkg/mod.py") == [f"pkg/mod.py:5: function too_long of {MAX_FUNCTION_LINES + 2} lines (limit 80)"]
    module = "x = 1\n" * (MAX_MODULE_LINES + 1)
    assert oversized(module, "pkg/big.py") == [f"pkg/big.py: module of {MAX_MODULE_LINES + 1} lines (limit 600)"]
    assert oversized("x = 1\n" * MAX_MODULE_LINES, "pkg/ok.py") == []
