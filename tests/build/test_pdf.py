"""The PDF is tagged (PDF/UA-1), titled, in English, outlined, with page headers and charts that carry their text alternative.

Checked with poppler's tools, as a reader's software sees the file.
"""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import require_tool as require

pytestmark = pytest.mark.slow


def poppler(tool: str, *args: str) -> str:
    return subprocess.run([require(tool), *args], capture_output=True, text=True, check=True, timeout=60).stdout


def pdf_objects(path: Path) -> bytes:
    """The PDF's bytes with every Flate stream (object streams included) decompressed and appended."""
    data = path.read_bytes()
    parts = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            parts.append(zlib.decompress(data[match.end() : end]))
        except zlib.error:
            continue
    return b"\n".join(parts)


@pytest.fixture(scope="module")
def pdf(base_pdfs) -> Path:
    return base_pdfs / "tiny.pdf"


def test_pdf_is_tagged_with_title_and_language(pdf):
    info = poppler("pdfinfo", str(pdf))
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^Title:\s+Tiny briefing tiny$", info, re.M), info
    objects = pdf_objects(pdf)
    assert re.search(rb"/Type /Catalog[^>]*/Lang \(en\)", objects), "the catalog declares the language"
    assert b'pdfuaid:part="1"' in objects, "PDF/UA-1 identification in the XMP metadata"


def test_structure_tree_has_headings_lists_tables_and_figures_with_alt(pdf):
    tree = poppler("pdfinfo", "-struct", str(pdf))
    assert tree.startswith("Document"), tree[:200]
    for role in ("H1", "H2", "Table", "TH", "TD", "Figure", "L", "LI"):
        assert re.search(rf"^\s+{role}\b", tree, re.M), f"no {role} in the structure tree"
    alts = re.findall(rb"/S /Figure[^\n]*?/Alt \(((?:[^()\\]|\\.)*)\)", pdf_objects(pdf))
    assert alts, "every chart is a Figure with /Alt"
    alt = alts[0].decode("latin-1")
    assert alt.startswith("Figure 1: Scaled shares by stage. "), alt
    assert re.search(r"Scaled share \\\(fraction\\\): \d+ values from [\d.]+ \\\(.+\\\) to [\d.]+", alt), alt


def test_outline_lists_every_section_and_pages_carry_title_and_scenario(pdf):
    xml = poppler("pdftohtml", "-xml", "-i", "-stdout", str(pdf))
    outline = re.findall(r'<item page="\d+">([^<]+)</item>', xml)
    assert outline[0] == "Tiny briefing tiny"
    assert "Appendix A. Parameters" in outline and "Appendix B. Sources" in outline, outline
    pages = int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.M).group(1))
    assert pages >= 2, "the appendices start on a new page"
    header = poppler("pdftotext", "-f", "2", "-l", "2", "-layout", str(pdf), "-").splitlines()[0]
    assert "Tiny briefing tiny" in header and "Scenario: Base case (base)" in header, header
    first = poppler("pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-").splitlines()[0]
    assert "Scenario:" not in first, "the title page has no running header"
