"""Numbers in prose: MyST inline expressions ``{eval}`expr``` in markdown cells.

An analyst writes prose in markdown cells and lets numbers in only through named values::

    China holds {eval}`pct(F['china_separation_share'])` of rare-earth separation.

In JupyterLab, jupyterlab-myst evaluates each expression in the live kernel and shows its value. The build
does the same without a browser:

1. before execution, :func:`with_evaluation_cell` appends one hidden code cell (tagged ``myst-eval``) that
   evaluates every expression of the markdown cells in the kernel's namespace (:func:`evaluate`) and
   displays their ``str()`` under :data:`EVAL_MIMETYPE` (:func:`show`); an expression that fails stops the
   job with a message naming notebook, markdown cell and expression;
2. when rendering, :func:`substituted` replaces each expression by its value (HTML-escaped) and drops the
   hidden cell.

The expressions are evaluated once, after the last cell, so a name should hold one value for the whole
notebook (give each figure its own name rather than reusing a loop variable).

This module also holds the static prose checks the tests run on every notebook: :func:`typed_numbers` (a
number typed into markdown outside an expression) and :func:`undefined_names` (an expression naming a value
no code cell defines).
"""

from __future__ import annotations

import ast
import builtins
import copy
import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: MyST's inline role: ``{eval}`expr``` (or with doubled backticks, as MyST allows).
EVAL_ROLE = re.compile(r"\{eval\}(?P<ticks>`+)(?P<expr>.+?)(?P=ticks)", re.S)

#: The MIME type under which the hidden cell records the expressions' values in the executed notebook.
EVAL_MIMETYPE = "application/vnd.rare-earth.inline-expressions+json"

#: The tag of the hidden cell the build appends.
EVAL_TAG = "myst-eval"

#: Fixed names that contain digits and may be typed into prose (legal instruments, not figures).
ALLOWED_NUMBERS = (
    # MOFCOM Announcement No. 61; MOFCOM Nos. 55–58, 61 and 62
    re.compile(r"\bNos?\.\s*\d+(?:\s*[–-]\s*\d+)?(?:\s*(?:,|and|&)\s*\d+(?:\s*[–-]\s*\d+)?)*"),
    # percentile labels: P10, P50, P90, "the P10-P90 window"
    re.compile(r"\bP(?:10|50|90)(?:\s*[–-]\s*P(?:10|50|90))?\b"),
)

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class InlineExpressionError(Exception):
    """An inline expression could not be evaluated; the message names notebook, cell and expression."""


def _source(cell: Mapping[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def find_expressions(text: str) -> list[str]:
    """The expressions of the ``{eval}`...``` roles in ``text``, in order, stripped of surrounding spaces."""
    return [m.group("expr").strip() for m in EVAL_ROLE.finditer(text)]


def markdown_expressions(cells: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Every (1-based cell number, expression) of the markdown cells, in notebook order."""
    found = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") == "markdown":
            found += [(number, expr) for expr in find_expressions(_source(cell))]
    return found


def evaluate(found: Iterable[tuple[int, str]], namespace: Mapping[str, Any], notebook: str) -> dict[str, str]:
    """Evaluate each expression in ``namespace`` (the kernel's ``globals()``); return expression -> ``str(value)``.

    Raises:
        InlineExpressionError: naming the notebook, the markdown cell and the expression of every failure.
    """
    values: dict[str, str] = {}
    problems = []
    for number, expr in found:
        if expr in values:
            continue
        try:
            values[expr] = str(eval(expr, dict(namespace)))  # noqa: S307 - the notebook's own expression, in its own kernel
        except Exception as exc:
            problems.append(f"{notebook}, markdown cell {number}: {{eval}}`{expr}` failed: {type(exc).__name__}: {exc}")
    if problems:
        raise InlineExpressionError("; ".join(problems))
    return values


def show(values: Mapping[str, str]) -> None:
    """Display the values under :data:`EVAL_MIMETYPE` (nothing visible in JupyterLab)."""
    from IPython.display import display

    display({EVAL_MIMETYPE: dict(values), "text/plain": f"{len(values)} inline expressions evaluated"}, raw=True)


def evaluation_cell_source(found: list[tuple[int, str]], notebook: str) -> str:
    """The code of the hidden cell that evaluates ``found`` and records the values."""
    return (
        "# Added by the build: evaluates the markdown cells' {eval} expressions for the HTML and PDF.\n"
        "from rare_earth_lib.report import inline as _inline\n\n"
        f"_inline.show(_inline.evaluate({found!r}, globals(), notebook={notebook!r}))"
    )


def with_evaluation_cell(nb: Any, notebook: str) -> Any:
    """A copy of the notebook with the hidden evaluation cell appended (the notebook itself when it has no expressions).

    Args:
        nb: the source notebook (an ``nbformat`` node).
        notebook: how error messages name it, e.g. ``notebooks/refining_timeline.ipynb``.
    """
    import nbformat

    found = markdown_expressions(nb.cells)
    if not found:
        return nb
    out = copy.deepcopy(nb)
    out.cells.append(nbformat.v4.new_code_cell(evaluation_cell_source(found, notebook), metadata={"tags": [EVAL_TAG]}))
    return out


def escape_value(value: str) -> str:
    """A value as literal markdown text: HTML-escaped, markdown's emphasis and link characters escaped."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", html.escape(value, quote=False))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace every ``{eval}`expr``` in ``text`` by its value.

    Raises:
        KeyError: an expression that has no value (the hidden cell did not run it).
    """
    return EVAL_ROLE.sub(lambda m: escape_value(values[m.group("expr").strip()]), text)


def recorded_values(nb: Any) -> dict[str, str] | None:
    """The values the hidden cell recorded in an executed notebook (None without such a cell)."""
    for cell in nb.cells:
        if EVAL_TAG in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if EVAL_MIMETYPE in data:
                    return dict(data[EVAL_MIMETYPE])
    return None


def substituted(nb: Any, values: Mapping[str, str] | None = None) -> Any:
    """A copy of an executed notebook with values in its prose and without the hidden cell.

    Args:
        nb: the executed notebook.
        values: expression -> value; by default the ones the hidden cell recorded.

    Raises:
        InlineExpressionError: a markdown cell holds an expression that has no recorded value.
    """
    values = recorded_values(nb) if values is None else values
    out = copy.copy(nb)  # shallow: only the markdown cells that change are copied (outputs can be megabytes)
    out["cells"] = [c for c in nb.cells if EVAL_TAG not in c.get("metadata", {}).get("tags", [])]
    for number, cell in enumerate(out["cells"], start=1):
        if cell.get("cell_type") != "markdown" or not EVAL_ROLE.search(_source(cell)):
            continue
        missing = [e for e in find_expressions(_source(cell)) if e not in (values or {})]
        if missing:
            raise InlineExpressionError(
                f"markdown cell {number}: no value recorded for {{eval}}`{missing[0]}` (was the notebook executed by the build?)"
            )
        out["cells"][number - 1] = changed = copy.copy(cell)
        changed["source"] = substitute(_source(cell), values or {})
    return out


# --- static checks (the tests run these on every notebook) -------------------------------------


def typed_numbers(text: str) -> list[str]:
    """Numbers typed into markdown outside an inline expression, each with a little context.

    HTML comments, link targets, ``{eval}`` roles and the fixed names of :data:`ALLOWED_NUMBERS` are ignored.
    """
    text = EVAL_ROLE.sub(" ", _COMMENT.sub(" ", text))
    text = _LINK_TARGET.sub("]", text)
    for pattern in ALLOWED_NUMBERS:
        text = pattern.sub(lambda m: "·" * len(m.group()), text)
    out = []
    for m in _NUMBER.finditer(text):
        start, end = max(0, m.start() - 25), min(len(text), m.end() + 25)
        out.append(" ".join(text[start:end].split()))
    return out


def defined_names(code: Iterable[str]) -> set[str]:
    """Names the code cells bind at the top level: assignments, loop and ``with`` targets, imports, defs."""
    names: set[str] = set()
    for source in code:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


def undefined_names(expr: str, defined: set[str]) -> list[str]:
    """The names ``expr`` reads that neither ``defined`` nor Python's builtins provide (an unparsable expression is its own problem)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        return [f"(not a Python expression: {exc.msg})"]
    local: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            local |= {a.arg for a in node.args.args + node.args.kwonlyargs}
        elif isinstance(node, ast.NamedExpr):
            local.add(node.target.id)
    read = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return sorted({n for n in read if n not in defined and n not in local and not hasattr(builtins, n)})


def prose_problems(cells: list[Mapping[str, Any]], notebook: str) -> list[str]:
    """Every typed number and every expression naming an undefined value, one line each naming notebook and cell."""
    defined = defined_names(_source(c) for c in cells if c.get("cell_type") == "code")
    problems = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "markdown":
            continue
        text = _source(cell)
        for snippet in typed_numbers(text):
            problems.append(f"{notebook}, markdown cell {number}: number typed into prose (use {{eval}}`name`): …{snippet}…")
        for expr in find_expressions(text):
            for name in undefined_names(expr, defined):
                problems.append(f"{notebook}, markdown cell {number}: {{eval}}`{expr}` names {name!r}, which no code cell defines")
    return problems
