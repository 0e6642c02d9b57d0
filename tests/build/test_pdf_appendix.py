"""The appendices read whole in the PDF: a parameter's name is never split across lines, every source keeps its grade."""

from __future__ import annotations

import re
import subprocess

import nbformat
import pytest
from conftest import ROOT
from conftest import require_tool as require

pytestmark = pytest.mark.slow

BRIEFINGS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def appendix_text(pdf, title: str) -> str:
    """The text (pdftotext -layout) from the appendix called ``title`` to the next appendix heading."""
    text = subprocess.run([require("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60).stdout
    start = re.search(rf"^\s*Appendix [A-Z]\. {title}\s*$", text, re.M)
    assert start, f"no appendix '{title}'"
    end = re.search(r"^\s*Appendix [A-Z]\. ", text[start.end() :], re.M)
    return text[start.end() : start.end() + end.start()] if end else text[start.end() :]


@pytest.mark.parametrize("briefing", BRIEFINGS)
def test_every_parameter_name_reads_whole_on_one_line(base_pdfs, briefing):
    from rare_earth_lib.build import render

    nb = nbformat.read(base_pdfs / f"{briefing}.ipynb", as_version=4)
    names = {name for recorded in render.notebook_parameters(nb) for name in recorded}
    assert len(names) > 20, names
    words = set(re.findall(r"\S+", appendix_text(base_pdfs / f"{briefing}.pdf", "Parameters")))
    broken = sorted(name for name in names if name not in words)
    assert not broken, f"parameter names split across lines: {broken}"


@pytest.mark.parametrize("briefing", BRIEFINGS)
def test_every_source_keeps_its_id_and_grade(base_pdfs, briefing):
    text = " ".join(appendix_text(base_pdfs / f"{briefing}.pdf", "Sources").split())
    entries = re.split(r"(?=\b\d+\. \[[A-Z]+\d+[a-z]?\] )", text)[1:]
    assert len(entries) >= 10, text[:500]
    no_grade = [entry[:60] for entry in entries if not re.search(r"\((primary|secondary|low)\)", entry)]
    assert not no_grade, f"entries without a grade: {no_grade[:5]}"
