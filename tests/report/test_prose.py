"""The prose rule on every briefing notebook: numbers enter markdown only through {eval} expressions on defined names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rare_earth_lib.report import inline

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_numbers_typed_into_prose_and_every_expression_names_a_defined_value(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    problems = inline.prose_problems(cells, f"notebooks/{path.name}")
    assert not problems, "\n".join(problems)


#: Briefings whose prose lives wholly in markdown cells: their code cells show no paragraph or heading of their own.
PROSE_IN_MARKDOWN = ("scenario_discovery",)


@pytest.mark.parametrize("name", PROSE_IN_MARKDOWN)
def test_prose_lives_in_markdown_cells(name):
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    offenders = [f"code cell {i}: {call}" for i, src in enumerate(code, start=1) for call in ("doc.text(", "doc.heading(") if call in src]
    assert not offenders, f"notebooks/{name}.ipynb writes prose from code (move it into a markdown cell): " + "; ".join(offenders)
    assert inline.markdown_expressions(cells), f"notebooks/{name}.ipynb has no {{eval}} expression in its markdown"
