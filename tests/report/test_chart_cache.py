"""The SVG cache behind chart_svg (report/svg.py, used by the charts): a specification drawn once is read back, not drawn again."""

from __future__ import annotations

import os

import pytest

from rare_earth_lib.report import svg


def _spec(value: float) -> dict:
    return {
        "mark": "bar",
        "data": {"values": [{"a": "x", "b": value}]},
        "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative", "title": "b (t)"}},
    }


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Counts vl-convert's drawings; the cache lives in a fresh folder."""
    monkeypatch.setenv("RARE_EARTH_CACHE_DIR", str(tmp_path))
    calls = []
    real = svg.vlc.vegalite_to_svg

    def counting(spec, *args, **kwargs):
        calls.append(spec)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(svg.vlc, "vegalite_to_svg", counting)
    return calls


def test_the_same_spec_is_drawn_once_and_reads_back_the_same(drawn, tmp_path):
    first = svg.chart_svg(_spec(1.0), "Figure 1: a", "one bar")
    again = svg.chart_svg(_spec(1.0), "Figure 1: a", "one bar")
    assert first == again and len(drawn) == 1
    assert "<title>Figure 1: a</title>" in again  # the text alternative is added after the cache
    assert svg.chart_svg(_spec(1.0), "Figure 2: b", "other") != first and len(drawn) == 1
    svg.chart_svg(_spec(2.0))
    assert len(drawn) == 2  # other data, another drawing
    assert len(list((tmp_path / "svg").glob("*.svg"))) == 2


def test_the_cache_keeps_the_most_recently_used(monkeypatch, drawn, tmp_path):
    monkeypatch.setattr(svg, "SVG_CACHE_ENTRIES", 4)
    for value in range(4):
        svg.chart_svg(_spec(float(value)))
    folder = tmp_path / "svg"
    for i, path in enumerate(sorted(folder.glob("*.svg"))):
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    svg.chart_svg(_spec(0.0))  # a hit refreshes its entry
    svg.chart_svg(_spec(9.0))  # the fifth entry: prune to three
    kept = list(folder.glob("*.svg"))
    assert len(kept) == 3
    assert len(drawn) == 5
    svg.chart_svg(_spec(0.0))
    assert len(drawn) == 5  # the one just used survived the pruning


def test_an_unusable_cache_folder_still_draws(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RARE_EARTH_CACHE_DIR", str(blocker))
    assert svg.chart_svg(_spec(3.0)).lstrip().startswith("<svg")


def test_rendering_a_briefing_imports_neither_pandas_nor_altair():
    """A build's worker renders pages with report/svg, report/inline and report/records only: its start-up does not pay
    for what a briefing draws with (pandas and Altair, about 0.45 CPU s per worker)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import rare_earth_lib.build.jobs, rare_earth_lib.build.render\n"
        "from rare_earth_lib import report\n"
        "assert report.METRICS_MIMETYPE\n"
        "print(sorted(m for m in ('pandas', 'altair') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
