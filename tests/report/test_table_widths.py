"""The print layout's column widths: estimated from the cells' text as the automatic table layout would share the width.

The print stylesheet lays a data table out fixed with the shares ``report.briefing.column_widths`` gives (WeasyPrint then
measures no cell); these tests hold the estimate to WeasyPrint's own automatic layout and to the longest words.
"""

from __future__ import annotations

import re

import pytest

from rare_earth_lib.build import render
from rare_earth_lib.report import briefing
from rare_earth_lib.report.briefing import _block, column_widths

COLUMNS = ["Stage", "Countries compared", "Alliance capacity today (t/yr)", "Demand: low / central / high (t/yr)", "Note"]
ROWS = [
    [
        ("Separation (heavy, Dy/Tb)", False),
        ("United States, Japan, Australia", False),
        ("11,148", True),
        ("8,489 / 9,571 / 17,006", False),
        ("producing plants: latest observed output rate, else nameplate after ramp-up; 484 t/yr if assumed", False),
    ],
    [("Mining", False), ("Japan", False), ("51,000", True), ("45,835", False), ("—", False)],
    [("Metal and alloy", False), ("United States", False), ("70", True), ("2024-10", False), ("n/a (no tonnage)", False)],
]


def test_shares_fill_the_table_and_hold_each_longest_word():
    widths = column_widths(COLUMNS, ROWS)
    assert len(widths) == len(COLUMNS) and abs(sum(widths) - 100) < 0.5
    for index, width in enumerate(widths):
        words = re.split(r"\s+", COLUMNS[index]) + [w for row in ROWS for w in re.split(r"\s+", row[index][0])]
        longest = max(briefing._text_em(word, bold=True) for word in words)
        assert width / 100 * briefing._TABLE_EM >= longest, f"column {COLUMNS[index]!r} narrower than its longest word"
    assert widths[-1] == max(widths), "the long text column takes the most room"


def test_too_many_long_words_keep_the_automatic_layout():
    columns = [f"Column{i}withalongheader" for i in range(14)]
    assert column_widths(columns, [[("x", False)] * 14]) is None
    page = _block("table", 1, "c", columns, [[("x", False)] * 14], {"head": "h", "top": ["S1"], "more": False}, None, None)
    assert '<table class="data">' in page and "<colgroup>" not in page


def test_shares_match_weasyprints_automatic_layout():
    """The same table laid out automatically by WeasyPrint, in the print stylesheet: each share within 0.75 points (counting characters misses by more)."""
    weasyprint = pytest.importorskip("weasyprint")
    from weasyprint.formatting_structure import boxes

    table = _block("data_table", COLUMNS, ROWS)
    page = f"<html lang='en'><head><title>t</title><style>{render._css()}</style></head><body><main class='briefing'>{table}</main></body></html>"
    document = weasyprint.HTML(string=page).render()

    def tables(box):
        if isinstance(box, boxes.TableBox):
            yield box
        for child in getattr(box, "children", []):
            yield from tables(child)

    laid_out = next(tables(document.pages[0]._page_box))
    auto = [100 * width / sum(laid_out.column_widths) for width in laid_out.column_widths]
    estimate = column_widths(COLUMNS, ROWS)
    assert all(abs(a - e) <= 0.75 for a, e in zip(auto, estimate, strict=True)), list(zip(auto, estimate, strict=True))
