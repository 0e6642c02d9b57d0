"""MyST inline expressions: found in markdown, evaluated in the kernel's namespace, substituted into the page."""

from __future__ import annotations

import nbformat as nbf
import pytest

from rare_earth_lib.report import inline


def test_find_expressions_single_and_double_backticks():
    text = "China holds {eval}`pct(share)` of separation and {eval}``F['x']`` of magnets; `code` is not an expression."
    assert inline.find_expressions(text) == ["pct(share)", "F['x']"]


def test_markdown_expressions_numbers_cells_from_one_and_skips_code():
    cells = [
        nbf.v4.new_code_cell("x = 1  # {eval}`ignored`"),
        nbf.v4.new_markdown_cell("a {eval}`x`"),
        nbf.v4.new_markdown_cell("b {eval}`y + 1` and {eval}`x`"),
    ]
    assert inline.markdown_expressions(cells) == [(2, "x"), (3, "y + 1"), (3, "x")]


def test_evaluate_uses_str_and_names_every_failure():
    assert inline.evaluate([(2, "a"), (3, "f'{b:.1%}'")], {"a": 2.5, "b": 0.25}, "notebooks/n.ipynb") == {"a": "2.5", "f'{b:.1%}'": "25.0%"}
    with pytest.raises(inline.InlineExpressionError) as caught:
        inline.evaluate([(2, "a"), (4, "missing_value"), (5, "a / 0")], {"a": 1}, "notebooks/n.ipynb")
    message = str(caught.value)
    assert "notebooks/n.ipynb, markdown cell 4: {eval}`missing_value` failed: NameError" in message
    assert "markdown cell 5: {eval}`a / 0` failed: ZeroDivisionError" in message


def test_substitute_escapes_html_and_markdown():
    values = {"name": "<b>A & B</b>", "x": "snake_case *bold*"}
    out = inline.substitute("Say {eval}`name` then {eval}` x `.", values)
    assert out == "Say &lt;b&gt;A &amp; B&lt;/b&gt; then snake\\_case \\*bold\\*."
    with pytest.raises(KeyError):
        inline.substitute("{eval}`other`", values)


def _executed(values: dict[str, str] | None) -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_code_cell("share = 0.5"), nbf.v4.new_markdown_cell("The share is {eval}`share`.")]
    nb = inline.with_evaluation_cell(nb, "notebooks/n.ipynb")
    if values is not None:
        nb.cells[-1].outputs = [nbf.v4.new_output("display_data", data={inline.EVAL_MIMETYPE: values, "text/plain": ""})]
    return nb


def test_with_evaluation_cell_appends_a_tagged_cell_only_when_needed():
    plain = nbf.v4.new_notebook()
    plain.cells = [nbf.v4.new_markdown_cell("No expressions here.")]
    assert inline.with_evaluation_cell(plain, "n") is plain
    nb = _executed(None)
    assert len(nb.cells) == 3 and inline.EVAL_TAG in nb.cells[-1].metadata["tags"]
    assert "[(2, 'share')]" in nb.cells[-1].source


def test_evaluation_cell_runs_and_records_values():
    nb = _executed(None)
    namespace: dict = {"share": 0.5}
    shown = []
    import IPython.display

    original = IPython.display.display
    IPython.display.display = lambda data, raw=False: shown.append(data)
    try:
        exec(nb.cells[-1].source, namespace)
    finally:
        IPython.display.display = original
    assert shown[0][inline.EVAL_MIMETYPE] == {"share": "0.5"}


def test_substituted_drops_the_hidden_cell_and_fills_the_prose():
    out = inline.substituted(_executed({"share": "50%"}))
    assert [c.cell_type for c in out.cells] == ["code", "markdown"]
    assert out.cells[1].source == "The share is 50%."
    with pytest.raises(inline.InlineExpressionError, match=r"markdown cell 2: no value recorded for \{eval\}`share`"):
        inline.substituted(_executed({}))


def test_typed_numbers_found_outside_expressions_and_allowlist():
    assert inline.typed_numbers("Plants slipped by about 2.5 years; 12 of them are in Australia.") != []
    assert len(inline.typed_numbers("Plants slipped by about 2.5 years; 12 of them are in Australia.")) == 2
    clean = (
        "Slips of {eval}`slip_text` years; MOFCOM Nos. 55–58, 61 and 62 and Announcement No. 61 [see](https://x.org/2025/1)."
        "<!-- 2026 comment -->"
    )
    assert inline.typed_numbers(clean) == []
    # percentile labels are names, the years beside them are numbers
    assert inline.typed_numbers("the P10-P90 window and its P50") == []
    assert len(inline.typed_numbers("P50 2032")) == 1


def test_undefined_names_static_check():
    defined = inline.defined_names(["import pandas as pd\nfrom m import f as g\nF, x = {}, 1\nfor product in []:\n    pass"])
    assert {"pd", "g", "F", "x", "product"} <= defined
    assert inline.undefined_names("g(F['a']) + len([p for p in x])", defined) == []
    assert inline.undefined_names("slip_years + x", defined) == ["slip_years"]
    assert inline.undefined_names("x +", defined)[0].startswith("(not a Python expression")


def test_prose_problems_names_notebook_cell_and_text():
    cells = [
        nbf.v4.new_code_cell("share = 0.5"),
        nbf.v4.new_markdown_cell("The share is {eval}`share`, about 50 percent, and {eval}`shares_typo`."),
    ]
    problems = inline.prose_problems(cells, "notebooks/n.ipynb")
    assert len(problems) == 2
    assert problems[0].startswith("notebooks/n.ipynb, markdown cell 2: number typed into prose") and "about 50 percent" in problems[0]
    assert "markdown cell 2: {eval}`shares_typo` names 'shares_typo', which no code cell defines" in problems[1]
