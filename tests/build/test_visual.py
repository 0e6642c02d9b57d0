"""Layout regressions fail: every real briefing's PDF pages (base scenario) are rendered to PNG and looked at.

Page 1 and every page of the body that shows a figure are rendered with pdftoppm; a page whose bottom third (or more)
is blank while the body goes on on the next page fails (a figure that did not fit should have been scaled,
not pushed over). pdftotext's word boxes show text beyond the right edge of the text column (a chart's
label drawn outside its box, which the page clips) and labels cut short with an ellipsis.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import require_tool as require

# The PDFs come from the session's shared build of the base scenario (conftest.base_pdfs), shared with test_pdf.py.
pytestmark = pytest.mark.slow

BRIEFINGS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
DPI = 40
#: Page box of the stylesheet's @page rule (A4, margins 16 mm top/bottom, 15 mm left/right), in points.
PAGE_W, PAGE_H = 595.276, 841.89
MARGIN_X, MARGIN_BOTTOM, MARGIN_TOP = 15 / 25.4 * 72, 16 / 25.4 * 72, 16 / 25.4 * 72
MAX_EMPTY = 1 / 3


def run(tool: str, *args: str) -> str:
    return subprocess.run([require(tool), *args], capture_output=True, text=True, check=True, timeout=120).stdout


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and rows (one byte per pixel: the darkest channel) of an 8-bit grey or RGB PNG (pdftoppm's)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 1
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (0, 2), f"8-bit grey or RGB expected, got depth {depth} colour type {colour}"
            bpp = 1 if colour == 0 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, up_left = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 255
        rows.append(bytes(min(line[i : i + bpp]) for i in range(0, stride, bpp)))
        prev = line
    return width, height, rows


def empty_bottom_share(png: Path) -> float:
    """Share of the page's text area, from the bottom up, with no ink."""
    width, height, rows = read_png(png)
    top, bottom = round(MARGIN_TOP / PAGE_H * height), round((PAGE_H - MARGIN_BOTTOM) / PAGE_H * height)
    inked = [y for y in range(top, bottom) if min(rows[y]) < 200]
    last = inked[-1] if inked else top
    return (bottom - 1 - last) / (bottom - top)


def page_texts(pdf: Path) -> list[str]:
    pages = int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(pdf)), re.M).group(1))
    return [run("pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-") for p in range(1, pages + 1)]


@pytest.fixture(params=BRIEFINGS)
def pdf(request, base_pdfs) -> Path:
    require("pdftoppm")
    return base_pdfs / f"{request.param}.pdf"


def appendix_start(texts: list[str]) -> int:
    """Index of the page where the first appendix (the end of the body) starts."""
    return next(i for i, text in enumerate(texts) if re.search(r"^\s*Appendix A\.", text, re.M))


def test_page_one_and_figure_pages_leave_no_large_blank_at_the_bottom(pdf, tmp_path):
    texts = page_texts(pdf)
    appendix = appendix_start(texts)
    figure_pages = [i for i, text in enumerate(texts[:appendix]) if re.search(r"^\s*Figure \d+\.", text, re.M)]
    assert figure_pages, "the briefing has figures before its appendices"
    checked = sorted({0, *figure_pages})
    blank = {}
    for index in checked:
        run(
            "pdftoppm",
            "-png",
            "-gray",
            "-r",
            str(DPI),
            "-f",
            str(index + 1),
            "-l",
            str(index + 1),
            "-singlefile",
            str(pdf),
            str(tmp_path / f"p{index + 1}"),
        )
        share = empty_bottom_share(tmp_path / f"p{index + 1}.png")
        # The last page of the body may end early: the appendices start on a new page.
        if index + 1 < appendix and share > MAX_EMPTY:
            blank[index + 1] = round(share, 2)
    assert not blank, f"pages left more than a third empty at the bottom (page: share): {blank}"


def test_appendices_follow_the_body_in_order(pdf):
    """Methods first, parameters and sources last (any other appendix between), the first on a new page."""
    texts = page_texts(pdf)
    found = [(i, m[0], m[1]) for i, text in enumerate(texts) for m in re.findall(r"^\s*Appendix ([A-Z])\. ([^\n]+?)\s*$", text, re.M)]
    titles = [title for _, _, title in found]
    assert titles[0] == "Methods and assumptions" and titles[-2:] == ["Parameters", "Sources"], titles
    assert [letter for _, letter, _ in found] == [chr(ord("A") + n) for n in range(len(found))], found
    assert [i for i, _, _ in found] == sorted(i for i, _, _ in found), found
    start = found[0][0]
    body = texts[:start]
    assert not any("Appendix" in text.split("\n", 1)[1] for text in body), "no appendix inside the body"
    first_lines = [line.strip() for line in texts[start].splitlines() if line.strip()][:3]
    assert any(line.startswith("Appendix A.") for line in first_lines), f"appendix A starts a page: {first_lines}"


def test_feasibility_body_fits_in_about_half_its_former_length(base_pdfs):
    """The body of the feasibility briefing (before the appendices) was about 9 pages; detailed tables are an appendix."""
    texts = page_texts(base_pdfs / "alliance_feasibility.pdf")
    body = appendix_start(texts)
    assert body <= 5, f"the body runs to {body} pages"
    assert any(re.search(r"^\s*Appendix [B-Z]\. Detailed tables", text, re.M) for text in texts[body:])


def test_every_axis_of_every_figure_is_titled_with_its_unit(base_pdfs):
    """Every chart module's charts, as the briefings draw them: quantitative and time axes carry a title with a unit."""
    from rare_earth_lib.build import compare
    from rare_earth_lib.report import charts

    problems, count = [], 0
    for briefing in BRIEFINGS:
        for number, figure in compare.notebook_figures(base_pdfs / f"{briefing}.ipynb").items():
            count += 1
            problems += [f"{briefing} Figure {number}: {p}" for p in charts.axis_title_problems(figure["spec"])]
    assert count >= 10, f"only {count} figures found"
    assert not problems, "\n".join(problems)


def clipped_words(pdf: Path) -> tuple[list, list]:
    """Words past the right edge of the text column, and words cut short with an ellipsis: (page, word)."""
    xml = run("pdftotext", "-bbox", str(pdf), "-")
    right = PAGE_W - MARGIN_X + 1.0
    beyond, cut = [], []
    for number, page in enumerate(re.findall(r"<page .*?</page>", xml, re.S), start=1):
        for x_max, word in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', page):
            if float(x_max) > right:
                beyond.append((number, word, x_max))
            if word.endswith("…") and len(word) > 1:
                cut.append((number, word))
    return beyond, cut


def test_no_text_beyond_the_right_edge_and_no_label_cut_short(pdf):
    beyond, cut = clipped_words(pdf)
    body = appendix_start(page_texts(pdf))
    assert not beyond, f"text beyond the right edge of the text column: {beyond[:10]}"
    # Source titles in the appendix may quote an ellipsis; in the body an ellipsis is a label cut short.
    cut = [(page, word) for page, word in cut if page <= body]
    assert not cut, f"labels cut short: {cut[:10]}"


def test_the_checks_can_fail(tmp_path):
    """A page with only a heading at the top is found mostly blank; a word past the edge is found."""
    require("pdftoppm")
    import weasyprint

    html = (
        "<html lang='en'><head><title>t</title><style>@page { size: A4; margin: 16mm 15mm; }</style></head>"
        "<body><h1>Only a heading</h1><p>Catalogue of Techn…</p><p style='margin-left: 178mm; white-space: nowrap'>Clipped</p></body></html>"
    )
    pdf = tmp_path / "t.pdf"
    weasyprint.HTML(string=html).write_pdf(str(pdf))
    run("pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(pdf), str(tmp_path / "t"))
    assert empty_bottom_share(tmp_path / "t.png") > 0.8
    beyond, cut = clipped_words(pdf)
    assert [word for _, word, _ in beyond] == ["Clipped"] and cut == [(1, "Techn…")]
