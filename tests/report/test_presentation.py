"""How a briefing presents itself: short source lines, appendices in order, no internal ids, charts with text alternatives."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from rare_earth_lib.parameters.alliance_feasibility import Params as FeasibilityParams
from rare_earth_lib.parameters.refining_timeline import Params as TimelineParams
from rare_earth_lib.report import briefing as briefing_module
from rare_earth_lib.report import charts, display_name
from rare_earth_lib.report.briefing import Briefing, internal_ids, parameter_groups


@pytest.fixture
def shown(monkeypatch) -> list[str]:
    """Everything the briefing displays, as HTML strings in order."""
    out: list[str] = []
    monkeypatch.setattr(briefing_module, "_show", out.append)
    return out


def rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Stage": [f"stage {i}" for i in range(n)],
            "Share": [i / n for i in range(n)],
            "source_ids": ["S4;D46" if i % 2 else "S7;S4" for i in range(n)],
        }
    )


def bar_chart(frame: pd.DataFrame, title: str | None = "Share of world output (%)") -> alt.Chart:
    return alt.Chart(frame).mark_bar().encode(x=alt.X("Share:Q", title=title, axis=alt.Axis(format="%")), y="Stage:N")


def test_source_line_is_short_counts_rows_and_sources_and_points_to_the_appendix(shown):
    frame = rows(12).assign(source_ids=[f"S{i}" for i in range(1, 13)])
    doc = Briefing(TimelineParams(), tables=["t"])
    doc.table("t", frame.drop(columns="source_ids"), caption="c", sources=frame)
    line = re.search(r'<p class="source">(.*?)</p>', shown[-1]).group(1)
    text = re.sub(r"<[^>]+>", "", line)
    assert text.startswith("Sources: 12 rows from 12 sources — S1, S2, S3 …; full list in the appendix")
    assert len(re.findall(r'href="#source-', line)) == briefing_module.SOURCE_LINE_IDS
    assert 'href="#sources"' in line


def test_source_line_names_the_most_cited_sources_first(shown):
    doc = Briefing(TimelineParams(), tables=["t"])
    frame = rows(5)
    doc.table("t", frame.drop(columns="source_ids"), caption="c", sources=frame)
    text = re.sub(r"<[^>]+>", "", re.search(r'<p class="source">(.*?)</p>', shown[-1]).group(1))
    assert text.startswith("Sources: 5 rows from 3 sources — S4, S7, D46;"), text


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        (pd.DataFrame({"Measures biting": ["cn_2023_tech_catalogue, mofcom_18_2025"]}), "column 'Measures biting', row 1"),
        (pd.DataFrame({"Status": ["operating", "pre_fid"]}), "column 'Status', row 2"),
        (pd.DataFrame({"source_ids": ["S1"]}), "column 'source_ids'"),
    ],
)
def test_table_refuses_internal_ids_naming_column_and_row(shown, frame, where):
    doc = Briefing(TimelineParams(), tables=["t"])
    with pytest.raises(ValueError, match=re.escape(where)):
        doc.table("t", frame, caption="c", sources="S1")
    assert not shown


def test_reader_words_pass_and_display_names_map_ids(shown):
    frame = pd.DataFrame(
        {"Status": pd.Series(["pre_fid", "operating", "fid"]).map(display_name), "Note": ["one-off, see S1", "t/yr", "US$ m"]}
    )
    assert internal_ids(frame) == []
    assert list(frame["Status"]) == ["Before investment decision", "Operating", "Final investment decision"]


def test_figure_refuses_quantitative_axis_without_a_reader_title(shown):
    doc = Briefing(TimelineParams(), figures=["f"])
    with pytest.raises(ValueError, match="x axis .*has no title"):
        doc.figure("f", bar_chart(rows(3), title=None), caption="c", sources=rows(3))
    with pytest.raises(ValueError, match="column name 'share_scaled'"):
        chart = alt.Chart(rows(3).rename(columns={"Share": "share_scaled"})).mark_bar().encode(x="share_scaled:Q", y="Stage:N")
        doc.figure("f", chart, caption="c", sources=rows(3))


def test_figure_refuses_an_axis_title_without_its_unit(shown):
    doc = Briefing(TimelineParams(), figures=["f"])
    with pytest.raises(ValueError, match="x axis title 'Share of world output' names no unit"):
        doc.figure("f", bar_chart(rows(3), title="Share of world output"), caption="c", sources=rows(3))
    doc.figure("f", bar_chart(rows(3), title="Share of world output (%)"), caption="c", sources=rows(3))


@pytest.mark.parametrize(
    "title, named",
    [
        ("Capacity (t oxide per year)", True),
        ("Yearly cost (US$ million per year)", True),
        ("First output (year)", True),
        ("Score (0 = worst threshold, 100 = best)", True),
        ("Demand scale (× central estimate)", True),
        ("Year", True),
        ("t oxide per year", False),
        ("P(covered by 2030) in a sampled future", False),
        ("P50 coverage year (2046 = not by 2045)", False),
        ("Things (widgets)", False),
    ],
)
def test_an_axis_title_names_its_unit_in_brackets_or_is_a_time_axis(title, named):
    assert charts.has_unit(title) is named


def test_layered_axis_needs_one_title_among_its_layers():
    frame = rows(4)
    titled = alt.Chart(frame).mark_bar().encode(x=alt.X("Share:Q", title="Share (%)"), y="Stage:N")
    untitled = alt.Chart(frame).mark_tick().encode(x=alt.X("Share:Q", title=None), y="Stage:N")
    assert charts.axis_title_problems(charts.chart_spec(alt.layer(titled, untitled))) == []
    assert charts.axis_title_problems(charts.chart_spec(alt.layer(untitled, untitled)))


def test_figure_has_accessible_name_description_and_svg_title_desc(shown):
    frame = rows(4)
    doc = Briefing(TimelineParams(), figures=["f"])
    doc.figure("f", bar_chart(frame), caption="Shares by stage", sources=frame, alt="Bar chart of shares by stage.")
    page = shown[-1]
    container = re.search(r'<div class="chart" role="img" aria-label="([^"]+)" aria-describedby="([^"]+)">', page)
    assert container, page[:300]
    assert container.group(1) == "Figure 1: Shares by stage"
    desc = re.search(rf'<p class="chart-desc" id="{container.group(2)}">([^<]+)</p>', page).group(1)
    # The description carries the key numbers read from the chart's data, with the axis format.
    assert desc.startswith("Bar chart of shares by stage. Share of world output (%): 4 values from 0.0% (stage 0) to 75% (stage 3).")
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "<title>Figure 1: Shares by stage</title>" in svg
    assert re.search(r"<desc>Bar chart of shares by stage\. Share of world output", svg)


def test_long_labels_are_wrapped_never_cut():
    label = "Catalogue of Technologies Prohibited and Restricted from Export (revision) [AU]"
    frame = pd.DataFrame({"Measure": [label, "short"], "Count": [1, 2]})
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Count:Q", title="Measures (count)"), y=alt.Y("Measure:N", axis=alt.Axis(labelLimit=120)), color=alt.Color("Measure:N")
        )
    )
    svg = charts.chart_svg(charts.chart_spec(chart))
    texts = re.findall(r">([^<>]+)</(?:text|tspan)>", svg)
    assert not [t for t in texts if t.endswith("…")], "no label is truncated"
    axis_words = " ".join(t for t in texts if t != label)
    assert "[AU]" in axis_words and "Catalogue of Technologies" in axis_words
    assert label in texts, "the legend keeps the full label"


def test_print_figures_puts_the_description_in_the_svg_title():
    page = charts.figure_body(charts.chart_spec(bar_chart(rows(3))), "fig-1", "Figure 1: c", "What it shows.")
    printed = charts.print_figures(page)
    assert "<title>Figure 1: c. What it shows.</title>" in printed
    assert "chart-desc" not in printed


def test_appendices_methods_parameters_sources_in_order(shown, monkeypatch):
    from rare_earth_lib.data import package as data_package

    monkeypatch.setattr(
        data_package,
        "sources_for",
        lambda ids: pd.DataFrame(
            {"source_id": ids, "publisher": "P", "title": "T", "published": "2026", "url": "https://example.org", "grade": "primary"}
        ),
    )
    doc = Briefing(FeasibilityParams(controls_regime="reimposed"), tables=["t"])
    doc.table("t", rows(2).drop(columns="source_ids"), caption="c", sources=rows(2))
    doc.appendix("Methods and assumptions")
    doc.text("How it is computed.")
    doc.sources_appendix()
    page = "".join(shown)
    headings = re.findall(r'<h2 class="appendix[^"]*" id="[^"]+">(Appendix [A-Z]\. [^<]+)</h2>', page)
    assert headings == ["Appendix A. Methods and assumptions", "Appendix B. Parameters", "Appendix C. Sources"]
    assert page.index('class="appendix appendix-first"') < page.index("How it is computed.")
    params = re.search(r'<table class="params">(.*?)</table>', page, re.S).group(1)
    groups = re.findall(r'<tr class="group"><th colspan="3" scope="colgroup">([^<]+)</th>', params)
    assert groups[0] == "Scenario" and any(g.startswith("Refining timeline model") for g in groups)
    assert any(g.startswith("Alliance feasibility model") for g in groups)
    assert len(groups) == len(set(groups)), "each group appears once"
    assert "<code>controls_regime</code>" in params and 'reimposed <span class="changed">(default suspension_extended)</span>' in params
    with pytest.raises(ValueError, match="twice"):
        doc.parameters_appendix()


def test_every_parameter_has_a_group_named_after_its_model_and_section():
    groups = parameter_groups(FeasibilityParams)
    assert set(groups) == set(FeasibilityParams.model_fields)
    assert groups["scenario"] == "Scenario"
    assert groups["n_trials"] == "Refining timeline model — Monte Carlo"
    assert groups["controls_regime"].startswith("Alliance feasibility model — Export controls")


def test_blocks_are_rendered_from_the_template_with_text_escaped(shown):
    """Issue 10: the markup lives in report/templates/blocks.html.j2, not in f-strings; the template escapes the text."""
    source = Path(briefing_module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"""f["']\s*<[a-z]""", source), "briefing.py builds no HTML with f-strings"
    assert (briefing_module.TEMPLATES / "blocks.html.j2").is_file()
    doc = Briefing(TimelineParams(), tables=["t"])
    doc.heading("Heading <script>")
    doc.table("t", rows(2).drop(columns="source_ids"), caption="Caption & <b>", sources=rows(2), note="Note <i>")
    assert shown[-2] == "<h2>Heading &lt;script&gt;</h2>"
    assert "<strong>Table 1.</strong> Caption &amp; &lt;b&gt;</figcaption>" in shown[-1]
    assert '<p class="note">Note &lt;i&gt;</p><p class="source">Sources: ' in shown[-1]
