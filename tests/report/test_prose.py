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
