"""The build substitutes markdown {eval} expressions from the executed kernel; a bad expression fails the job by name."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat as nbf
import pytest
from conftest import require_tool, run_cli

pytestmark = pytest.mark.slow


def add_prose(project: Path, text: str) -> None:
    path = project / "notebooks" / "tiny.ipynb"
    nb = nbf.read(path, as_version=4)
    nb.cells.append(nbf.v4.new_markdown_cell(text))
    nbf.write(nb, path)


def test_expressions_are_substituted_in_html_and_pdf(project):
    add_prose(
        project,
        "Scaled by {eval}`params.multiplier` for {eval}`params.scenario_title + ' <x>'`, top share {eval}`f'{shares.share_scaled.max():.1%}'`.",
    )
    result = run_cli(project, "build", "--scenario", "controls_reimposed")
    assert result.returncode == 0, result.stderr + result.stdout
    page = (project / "reports" / "controls_reimposed" / "tiny.html").read_text(encoding="utf-8")
    assert "Scaled by 1.0 for " in page and "&lt;x&gt;" in page
    assert "{eval}" not in page and "inline expressions evaluated" not in page
    executed = nbf.read(project / "reports" / "controls_reimposed" / "tiny.ipynb", as_version=4)
    pdf = subprocess.run(
        [require_tool("pdftotext"), str(project / "reports" / "controls_reimposed" / "tiny.pdf"), "-"], capture_output=True, text=True
    )
    assert "Scaled by 1.0" in pdf.stdout
    assert any("myst-eval" in c.metadata.get("tags", []) for c in executed.cells)


def test_expression_naming_a_missing_value_fails_naming_notebook_cell_and_expression(project):
    add_prose(project, "The value is {eval}`no_such_value`.")
    result = run_cli(project, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 1
    error = json.loads((project / "reports" / "build-summary.json").read_text())["jobs"][0]["error"]
    assert "notebooks/tiny.ipynb, markdown cell 6: {eval}`no_such_value` failed: NameError" in error
    assert not (project / "reports" / "base" / "tiny.html").exists()
