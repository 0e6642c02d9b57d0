"""Tests for the projection's words, reader tables and charts (report/text/projection.py, report/charts/projection.py)."""

from __future__ import annotations

import re

import pytest

from rare_earth_lib.data import package
from rare_earth_lib.models import projection as pj
from rare_earth_lib.report import charts
from rare_earth_lib.report.briefing import internal_ids
from rare_earth_lib.report.charts import projection as chart
from rare_earth_lib.report.text import projection as text
from tests.models.test_projection import constructed


@pytest.fixture(scope="module")
def tables():
    return {name: package.load(name) for name in ("projections", "demand")}


def judge(tables, *inputs):
    proj = constructed(*inputs)
    decomp = pj.decompose_gap(proj, tables["projections"], tables["demand"])
    return decomp, text.key_judgment(decomp, pj.projection_metrics(proj, tables["projections"]))


def test_key_judgment_within_five_points_says_so_and_decomposes_nothing(tables):
    decomp, sentence = judge(tables, 80.0, 12.0, 3.0, 8.0)
    assert abs(decomp.gap) <= 0.05
    assert "within 5 points of IEA" in sentence
    assert "Swapping" not in sentence and "Malaysia" not in sentence
    assert f"{decomp.model_share:.0%}" in sentence and "77%" in sentence


def test_key_judgment_outside_the_band_decomposes_the_gap(tables):
    decomp, sentence = judge(tables, 90.0, 4.0, 1.0, 3.0)
    assert decomp.gap > 0.05
    assert "outside the 5-point band" in sentence
    for label in ("Malaysia's capacity", "Australia's capacity", "capacity elsewhere outside China", "China's output growth"):
        assert label in sentence
    # the points quoted for each part are the decomposition's own, and they add up to the gap
    quoted = [float(x) for x in re.findall(r"share by ([\d.]+) point", sentence)]
    assert sum(quoted) == pytest.approx(decomp.gap * 100, abs=0.25)
    assert f"{decomp.gap * 100:.1f} points above IEA" in sentence
    assert "secondary outlets" in sentence and "derived" in sentence.lower()


def test_key_judgment_below_iea_says_below(tables):
    decomp, sentence = judge(tables, 60.0, 25.0, 5.0, 10.0)
    assert decomp.gap < -0.05 and "below IEA" in sentence and "lowers the model's share" in sentence


def test_decomposition_frame_totals_the_gap(tables):
    decomp, _ = judge(tables, 90.0, 4.0, 1.0, 3.0)
    frame = text.decomposition_frame(decomp)
    assert frame["Points of the gap"].iloc[:-1].sum() == pytest.approx(frame["Points of the gap"].iloc[-1], abs=0.2)
    assert not internal_ids(frame)


def test_comparison_frame_shows_no_internal_ids_and_cites_sources(tables):
    proj = constructed(86.0, 8.0, 1.0, 5.0)
    bench = pj.benchmark_table(proj, tables["projections"])
    frame, ids = text.comparison_frame(bench)
    assert not internal_ids(frame)
    assert {"S6", "S7", "S8"} <= set(ids)
    row = frame[(frame["Country"] == "China") & (frame["Year"] == "2030")].iloc[0]
    assert row["Published"] == "77%" and row["Model P50"] != "n/a" and "secondary outlet" in row["Basis"]


def test_charts_have_titled_axes_and_render(tables):
    proj = constructed(86.0, 8.0, 1.0, 5.0)
    bench = pj.benchmark_table(proj, tables["projections"])
    table = pj.projection_table(proj)
    for c in (chart.share_chart(table, bench), chart.benchmark_chart(bench)):
        spec = charts.chart_spec(c)
        assert charts.axis_title_problems(spec) == []
        assert "<svg" in charts.chart_svg(spec)
    assert "diamonds mark published projections" in chart.share_alt(table)
    assert "China 2030: published 77%" in chart.benchmark_alt(bench)


def test_country_colours_are_distinct_and_keep_the_actors_colours():
    domain = ["China", "Malaysia", "Australia", "United States", "Estonia", "France", "Vietnam", "Brazil"]
    scale = chart.country_scale(domain)
    assert len(set(scale.range)) == len(domain)
    assert scale.range[0] == charts.REGION_COLORS["China"] and scale.range[2] == charts.REGION_COLORS["Australia"]
    assert chart.PUBLISHED_COLOUR not in scale.range


def test_briefing_accepts_the_projection_figures_and_tables(tables, monkeypatch):
    from rare_earth_lib.parameters.refining_timeline import Params
    from rare_earth_lib.report import briefing as briefing_module
    from rare_earth_lib.report.briefing import Briefing

    shown: list[str] = []
    monkeypatch.setattr(briefing_module, "_show", shown.append)
    proj = constructed(86.0, 8.0, 1.0, 5.0)
    bench = pj.benchmark_table(proj, tables["projections"])
    decomp = pj.decompose_gap(proj, tables["projections"], tables["demand"])
    frame, ids = text.comparison_frame(bench)
    doc = Briefing(Params(), figures=["share", "bench"], tables=["comparison", "gap"])
    table = pj.projection_table(proj)
    doc.figure("share", chart.share_chart(table, bench), caption="China's share", sources=ids, alt=chart.share_alt(table))
    doc.figure("bench", chart.benchmark_chart(bench), caption="Published beside the model", sources=ids, alt=chart.benchmark_alt(bench))
    doc.table("comparison", frame, caption="Published projections", sources=ids)
    doc.table("gap", text.decomposition_frame(decomp), caption="The gap", sources=ids)
    assert len(shown) == 4 and "IEA, Global Critical Minerals Outlook 2024" in shown[2]
