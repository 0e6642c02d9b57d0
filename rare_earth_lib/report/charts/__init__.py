"""The one chart theme of the briefings, and the conversion of an Altair chart to a figure body.

A figure body is a ``<div>`` holding the chart's static SVG (what the PDF and a notebook without
JavaScript show) followed by a script that, when the page has loaded the Vega bundle (the HTML
briefing does, once, in its ``<head>``), replaces the SVG with the interactive chart (tooltips).
No chart ever loads anything from the network.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

import altair as alt

from rare_earth_lib.domain import percent
from rare_earth_lib.report.svg import chart_svg, print_figures, vega_bundle  # noqa: F401 - re-exported: the charts API

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
                "labelLimit": 0,
                "titleFontSize": 11,
                "titleFontWeight": "normal",
                "gridColor": "#e6e6e6",
                "domainColor": "#666666",
                "tickColor": "#666666",
            },
            "legend": {"labelFontSize": 11, "labelLimit": 0, "titleFontSize": 11, "titleFontWeight": "normal", "orient": "bottom"},
            "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
            "mark": {"color": PALETTE[0]},
            "bar": {"color": PALETTE[0]},
            "area": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2, "color": PALETTE[0]},
            "point": {"size": 60, "filled": True, "color": PALETTE[0]},
            "rule": {"color": "#30343f"},
        }
    )


def chart_spec(chart: alt.TopLevelMixin | dict) -> dict:
    """The chart's Vega-Lite specification with the theme applied, the data inlined and no label cut short.

    Axis and legend labels are never truncated: any ``labelLimit`` a chart sets is lifted (0 = no limit), so
    a long label widens the chart, which then scales to the column, instead of losing its end ("[AU]").
    """
    if isinstance(chart, dict):
        return chart
    if not isinstance(chart, alt.TopLevelMixin):
        raise ValueError(f"chart must be an Altair chart, not {type(chart).__name__}")
    spec = chart.to_dict()
    _lift_label_limits(spec)
    _wrap_category_labels(spec)
    return spec


#: A chart taller than this (px, as drawn) is "tall": in print it may take up to 90 mm instead of 68 mm (about 1/3 of
#: the page), so that it still fits below some text; one taller than VERY_TALL_PX may take 150 mm, or its labels
#: would shrink below legibility.
TALL_PX = 420
VERY_TALL_PX = 600

#: A chart declares itself tall (a row per item whose labels must stay legible) with ``.properties(usermeta=TALL)``.
TALL = {"print": "tall"}

#: Category labels longer than this many characters are wrapped onto several lines of LINE_PX pixels.
WRAP_CHARS = 40
LINE_PX = 12


def _wrap(text: str, width: int = WRAP_CHARS) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [text]


def wrapped_labels(values: Iterable[object], width: int = WRAP_CHARS) -> str:
    """A Vega ``labelExpr`` that shows each label longer than ``width`` characters on several lines."""
    long = {str(v): _wrap(str(v), width) for v in sorted({str(v) for v in values}) if len(str(v)) > width}
    return f"({json.dumps(long)})[datum.label] || datum.label"


def _wrap_category_labels(spec: dict) -> None:
    """Wrap long category labels of the y axis (the chart's own values) instead of cutting them.

    Where the chart's height is set per category (a step), the step grows so that wrapped labels do not overlap.
    """
    lines = 1
    for group in _views(spec):
        for view, data in group:
            enc = view.get("encoding", {}).get("y")
            if not isinstance(enc, dict) or enc.get("type") not in ("nominal", "ordinal") or "field" not in enc:
                continue
            axis = enc.get("axis", {})
            if axis is None or (isinstance(axis, dict) and "labelExpr" in axis):
                continue
            values = {str(r.get(enc["field"])) for r in _rows(spec, data) if r.get(enc["field"]) is not None}
            long = {v: _wrap(v) for v in sorted(values) if len(v) > WRAP_CHARS}
            if not long:
                continue
            axis = dict(axis) if isinstance(axis, dict) else {}
            axis["labelExpr"] = wrapped_labels(long)
            axis.setdefault("labelLineHeight", LINE_PX)
            enc["axis"] = axis
            lines = max(lines, *(len(v) for v in long.values()))
    if lines > 1:
        node = spec.get("spec", spec)  # a facet's cell, else the chart
        height = node.get("height")
        needed = LINE_PX * lines + 6
        if height is None or (isinstance(height, dict) and height.get("step", 0) < needed):
            node["height"] = {"step": needed}


def _lift_label_limits(node: object) -> None:
    if isinstance(node, dict):
        for key in list(node):
            if key in ("labelLimit", "titleLimit") and isinstance(node[key], (int, float)):
                node[key] = 0
            else:
                _lift_label_limits(node[key])
    elif isinstance(node, list):
        for item in node:
            _lift_label_limits(item)


def figure_body(chart: alt.TopLevelMixin | dict, element_id: str, name: str, description: str) -> str:
    """HTML for a chart: static SVG fallback plus a script that makes it interactive offline.

    The chart's container carries the text alternative (``role="img"``, ``aria-label`` = ``name``,
    ``aria-describedby`` = a paragraph holding ``description``), which stays when vega-embed replaces
    the static SVG; the static SVG carries the same text as ``<title>``/``<desc>``.

    Args:
        chart: the Altair chart or its Vega-Lite specification.
        element_id: a page-unique id such as ``"fig-3"``.
        name: the chart's accessible name ("Figure 3: caption").
        description: what the chart shows, with its key numbers, for screen readers.
    """
    if not name or not description:
        raise ValueError(f"{element_id}: a chart needs an accessible name and description")
    spec = dict(chart_spec(chart))
    spec["description"] = description
    svg = chart_svg(spec, name, description)
    spec_json = json.dumps(spec, separators=(",", ":"), default=str).replace("</", "<\\/")
    eid = html.escape(element_id)
    size = re.search(r'<svg [^>]*?width="([\d.]+)" height="([\d.]+)"', svg)
    # A tall chart (a row per item) may take more of the page, so that its labels stay legible in print.
    declared = isinstance(spec.get("usermeta"), dict) and spec["usermeta"].get("print") == TALL["print"]
    height = float(size[2]) if size else 0.0
    tall = ' data-tall="very"' if height > VERY_TALL_PX else " data-tall" if declared or height > TALL_PX else ""
    return (
        f'<div class="chart" role="img" aria-label="{html.escape(name)}" aria-describedby="{eid}-desc"{tall}>'
        f'<div id="{eid}">{svg}</div></div>'
        f'<p class="chart-desc" id="{eid}-desc">{html.escape(description)}</p>'
        "<script>(function(){if(!window.vegaEmbed){return;}"
        f'var el=document.getElementById("{eid}");'
        f"window.vegaEmbed(el,{spec_json},"
        '{actions:false,renderer:"svg"}).catch(function(e){console.error(e);});})();</script>'
    )


# --- reading a specification: axis titles and key numbers --------------------------------------------
_POSITION = ("x", "y")
_RAW_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def _views(node: dict, data: object = None) -> list[list[tuple[dict, object]]]:
    """Groups of (unit view, its data) that share axes: one group per layer stack, facet or single view."""
    data = node.get("data", data)
    if "layer" in node:
        group: list[tuple[dict, object]] = []
        for child in node["layer"]:
            for sub in _views(child, data):
                group.extend(sub)
        return [group]
    if "spec" in node:  # facet / repeat
        return _views(node["spec"], data)
    for key in ("hconcat", "vconcat", "concat"):
        if key in node:
            return [g for child in node[key] for g in _views(child, data)]
    if "mark" in node:
        return [[(node, data)]]
    return []


def _own_title(enc: object) -> str | None:
    """The title an encoding gives its axis, if it gives one a reader can read (not a raw column name)."""
    if not isinstance(enc, dict):
        return None
    title = _title(enc)
    return title if isinstance(title, str) and title and not _RAW_NAME.match(title) else None


def _title(enc: dict) -> object:
    axis = enc.get("axis")
    if isinstance(axis, dict) and "title" in axis:
        return axis["title"]
    if "title" in enc:
        return enc["title"]
    return enc.get("field")


#: The units an axis title may name, in brackets after the quantity: "Capacity (t oxide per year)", "Share of trials
#: (%)", "First output (year)", "Demand scale (× the central estimate)", "Score (0 = worst threshold, 100 = best)".
AXIS_UNITS = (
    "%",
    "×",
    "t",
    "kg",
    "tonnes",
    "US$",
    "year",
    "years",
    "month",
    "count",
    "fraction",
    "share",
    "probability",
    "per year",
    "0 =",
)
_UNIT = re.compile(
    r"\((?:[^()]*?[\s(;,])?(?:" + "|".join(re.escape(u) for u in AXIS_UNITS) + r")(?=[\s);,/]|$)[^()]*\)",
)

#: Axis titles that are themselves the unit: a time axis of calendar years or dates.
UNIT_TITLES = frozenset({"Year", "Date"})


def has_unit(title: object) -> bool:
    """True when an axis title names its unit: a bracket holding one of AXIS_UNITS, or a title in UNIT_TITLES."""
    text = " ".join(title) if isinstance(title, list) else str(title or "")
    return text.strip() in UNIT_TITLES or bool(_UNIT.search(text))


def axis_title_problems(spec: dict) -> list[str]:
    """Quantitative and time axes that show no title, a raw column name, or a title without its unit."""
    problems = []
    for group in _views(spec):
        for channel in _POSITION:
            entries = [v["encoding"][channel] for v, _ in group if isinstance(v.get("encoding", {}).get(channel), dict)]
            scaled = [e for e in entries if e.get("type") in ("quantitative", "temporal") and "value" not in e and "datum" not in e]
            if not scaled or any(e.get("axis", {}) is None for e in entries):
                continue
            titles = [_title(e) for e in scaled]
            good = [t for t in titles if isinstance(t, (str, list)) and str(t).strip() and not _RAW_NAME.match(str(t))]
            if not good:
                shown = next((t for t in titles if t), None)
                why = f"shows the column name '{shown}'" if shown else "has no title"
                problems.append(f"the {channel} axis ({scaled[0].get('field', '?')}) {why}: give it a title with units")
            elif not any(has_unit(t) for t in good):
                problems.append(
                    f"the {channel} axis title '{good[0]}' names no unit: add one in brackets, e.g. '(t oxide per year)', '(%)', '(year)'"
                )
    return problems


def _rows(spec: dict, data: object) -> list[dict]:
    if isinstance(data, dict):
        if "values" in data and isinstance(data["values"], list):
            return data["values"]
        name = data.get("name")
        if name and name in spec.get("datasets", {}):
            return spec["datasets"][name]
    return []


def _fmt(value: float, fmt: str | None, year: bool = False) -> str:
    if fmt and "%" in fmt:
        return percent(value, 0 if abs(value) >= 0.1 else 1)
    if year:
        return f"{value:.0f}"  # a (decimal) year: 2013, not 2,013
    if fmt == "d":
        return f"{value:.0f}"  # as the axis shows it (Vega's "d" has no thousands separator)
    if float(value).is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"


def describe(spec: dict, limit: int = 3) -> str:
    """Key numbers of a chart, read from its own data: the axes and, per measure, its highest and lowest point.

    Used for the chart's text alternative, so a screen reader hears what a sighted reader sees first. Layers share
    their axes: a layer's measure with no title of its own (the labels or the rule drawn on a bar chart's axis) sits
    on an axis a titled layer already described, so it adds no sentence of its own under a made-up name.
    """
    sentences = []
    seen: set[str] = set()
    for group in _views(spec):
        titled_axes = {c for view, _ in group for c in _POSITION if _own_title(view.get("encoding", {}).get(c))}
        for view, data in group:
            enc = view.get("encoding", {})
            rows = _rows(spec, data)
            for channel in _POSITION:
                e = enc.get(channel)
                if not isinstance(e, dict) or e.get("type") != "quantitative" or e.get("aggregate") or "field" not in e:
                    continue
                field, title = e["field"], _own_title(e)
                if field in seen or (not title and channel in titled_axes):
                    continue
                values = [(r, r.get(field)) for r in rows if isinstance(r.get(field), (int, float)) and not isinstance(r.get(field), bool)]
                values = [(r, v) for r, v in values if v == v]  # drop NaN
                if not values:
                    continue
                seen.add(field)
                label_fields = [
                    o["field"]
                    for k, o in enc.items()
                    if k not in (channel, channel + "2")
                    and isinstance(o, dict)
                    and o.get("type") in ("nominal", "ordinal")
                    and "field" in o
                ]
                axis = e.get("axis") if isinstance(e.get("axis"), dict) else {}
                fmt = axis.get("format")
                title = title or "value"

                def label(row: dict, fields: list[str] = label_fields) -> str:
                    return " / ".join(str(row[f]) for f in dict.fromkeys(fields) if row.get(f) not in (None, ""))

                high = max(values, key=lambda rv: rv[1])
                low = min(values, key=lambda rv: rv[1])
                year = "year" in field.lower().split("_")  # year, first_output_year; not a title's "per year"
                text = f"{title}: {len(values)} values from {_fmt(low[1], fmt, year)}"
                text += f" ({label(low[0])})" if label(low[0]) else ""
                text += f" to {_fmt(high[1], fmt, year)}"
                text += f" ({label(high[0])})" if label(high[0]) else ""
                sentences.append(text + ".")
                if len(sentences) >= limit:
                    return " ".join(sentences)
    return " ".join(sentences)
