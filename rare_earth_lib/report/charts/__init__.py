"""The one chart theme of the briefings, and the conversion of an Altair chart to a figure body.

A figure body is a ``<div>`` holding the chart's static SVG (what the PDF and a notebook without
JavaScript show) followed by a script that, when the page has loaded the Vega bundle (the HTML
briefing does, once, in its ``<head>``), replaces the SVG with the interactive chart (tooltips).
No chart ever loads anything from the network.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache

import altair as alt
import vl_convert as vlc

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

#: Colours ordered so that neighbours differ in lightness as well as hue (readable in greyscale print).
PALETTE = ["#1b2a49", "#d1495b", "#8d99ae", "#edae49", "#00798c", "#30343f", "#b5c99a", "#6d597a"]

#: Fixed colours for the actors of the story, used by every briefing.
REGION_COLORS = {
    "China": "#b22222",
    "Alliance": "#1b2a49",
    "United States": "#1b2a49",
    "Japan": "#00798c",
    "Australia": "#edae49",
    "Malaysia": "#8d99ae",
    "Other": "#c8c8c8",
}

#: Project status, in the order a plant moves through them, with greyscale-distinct colours.
STATUS_ORDER = ["operating", "ramping", "construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled"]
STATUS_COLORS = ["#1b2a49", "#3d5a80", "#00798c", "#6aa6a0", "#edae49", "#f3d08a", "#d1495b", "#9e9e9e"]


def region_scale(domain: list[str]) -> alt.Scale:
    """A colour scale for region names that keeps each actor's fixed colour."""
    range_ = [REGION_COLORS.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(domain)]
    return alt.Scale(domain=domain, range=range_)


def status_scale() -> alt.Scale:
    """The colour scale for project status."""
    return alt.Scale(domain=STATUS_ORDER, range=STATUS_COLORS)


@alt.theme.register("rare_earth", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(
        config={
            "font": FONT,
            "background": "white",
            "view": {"continuousWidth": 560, "continuousHeight": 280, "stroke": None},
            "range": {"category": PALETTE},
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 11,
                "titleFontWeight": "normal",
                "gridColor": "#e6e6e6",
                "domainColor": "#666666",
                "tickColor": "#666666",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal", "orient": "bottom"},
            "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
            "mark": {"color": PALETTE[0]},
            "bar": {"color": PALETTE[0]},
            "area": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2, "color": PALETTE[0]},
            "point": {"size": 60, "filled": True, "color": PALETTE[0]},
            "rule": {"color": "#30343f"},
        }
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite specification with the theme applied and the data inlined."""
    if not isinstance(chart, alt.TopLevelMixin):
        raise ValueError(f"chart must be an Altair chart, not {type(chart).__name__}")
    return chart.to_dict()


def chart_svg(spec: dict) -> str:
    """Render a Vega-Lite specification to a static SVG string (vector; no JavaScript needed)."""
    svg = vlc.vegalite_to_svg(spec)
    # vl-convert emits a fixed-size SVG; let it shrink to the column width in HTML and PDF.
    return svg.replace("<svg ", '<svg preserveAspectRatio="xMinYMin meet" ', 1)


def figure_body(chart: alt.TopLevelMixin, element_id: str, alt_text: str) -> str:
    """HTML for a chart: static SVG fallback plus a script that makes it interactive offline.

    Args:
        chart: the Altair chart.
        element_id: a page-unique id such as ``"fig-3"``.
        alt_text: a one-sentence description of what the chart shows, for screen readers.
    """
    spec = chart_spec(chart)
    svg = chart_svg(spec)
    spec_json = json.dumps(spec, separators=(",", ":"), default=str).replace("</", "<\\/")
    return (
        f'<div class="chart" role="img" aria-label="{html.escape(alt_text)}">'
        f'<div id="{html.escape(element_id)}">{svg}</div></div>'
        "<script>(function(){if(!window.vegaEmbed){return;}"
        f'var el=document.getElementById("{html.escape(element_id)}");'
        f"window.vegaEmbed(el,{spec_json},"
        '{actions:false,renderer:"svg"}).catch(function(e){console.error(e);});})();</script>'
    )


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript as one offline bundle (about 0.9 MB)."""
    return vlc.javascript_bundle()
