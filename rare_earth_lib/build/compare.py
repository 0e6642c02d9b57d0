"""Compare two built scenarios: ``reports/compare/A--B.html``.

For each briefing built under both scenarios: the parameters that differ, every headline metric side by
side with the difference, and the two scenarios' charts overlaid where they share axes (same marks and
the same x and y fields), read from the executed notebooks; charts that cannot be overlaid are named.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rare_earth_lib.build import formatting

TEMPLATES = Path(__file__).resolve().parent / "templates"
COMPARE_DIR = "compare"
_FIGURE = re.compile(r'<figure class="figure" id="figure-(\d+)">\s*<figcaption><strong>Figure \d+\.</strong>\s*(.*?)</figcaption>', re.S)
_POINT_MARKS = {"point", "circle", "square", "tick"}
_LINE_MARKS = {"line", "rule", "trail"}


class CompareError(Exception):
    """Nothing to compare (a scenario not built, no briefing in common): bad input, exit 2."""


@lru_cache(maxsize=1)
def environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_name(a: str, b: str) -> str:
    return f"{a}--{b}.html"


# --- charts from executed notebooks ------------------------------------------------------------------


def notebook_figures(path: Path) -> dict[int, dict[str, Any]]:
    """Figure number -> {caption, spec} of every chart a briefing showed (its Vega-Lite spec from the page script)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[int, dict[str, Any]] = {}
    decoder = json.JSONDecoder()
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            markup = "".join(markup) if isinstance(markup, list) else markup
            match = _FIGURE.search(markup)
            at = markup.find("vegaEmbed(el,")
            if not match or at < 0:
                continue
            try:
                spec, _ = decoder.raw_decode(markup, at + len("vegaEmbed(el,"))
            except ValueError:
                continue
            caption = html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).strip()
            out[int(match.group(1))] = {"caption": caption, "spec": spec}
    return out


def _views(spec: dict) -> list[dict] | None:
    """The single views of a spec: itself, or its layers; None for facets, concatenations and repeats."""
    if any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat", "spec")):
        return None
    if "layer" in spec:
        views = spec["layer"]
        return views if all(isinstance(v, dict) and "mark" in v and "layer" not in v for v in views) else None
    return [spec] if "mark" in spec else None


def _mark(view: dict) -> str:
    mark = view.get("mark")
    return mark.get("type", "") if isinstance(mark, dict) else str(mark)


def _axes(view: dict, parent: dict) -> tuple:
    enc = {**parent.get("encoding", {}), **view.get("encoding", {})}
    return tuple((ch, (enc.get(ch) or {}).get("field"), (enc.get(ch) or {}).get("type")) for ch in ("x", "y"))


def _rows(spec: dict, node: dict) -> list[dict] | None:
    data = node.get("data") or spec.get("data")
    if not isinstance(data, dict):
        return None
    if "values" in data and isinstance(data["values"], list):
        return data["values"]
    if "name" in data:
        rows = spec.get("datasets", {}).get(data["name"])
        return rows if isinstance(rows, list) else None
    return None


def overlay(spec_a: dict, spec_b: dict, name_a: str, name_b: str) -> dict | None:
    """One chart with both scenarios' data on the shared axes, told apart by a ``scenario`` channel.

    Returns None when the charts do not share axes (different marks, fields or structure) or their data
    are not inline.
    """
    views_a, views_b = _views(spec_a), _views(spec_b)
    if not views_a or not views_b or len(views_a) != len(views_b):
        return None
    for va, vb in zip(views_a, views_b, strict=True):
        if _mark(va) != _mark(vb) or _axes(va, spec_a) != _axes(vb, spec_b):
            return None
    out = copy.deepcopy(spec_a)
    out["datasets"] = {}
    out.pop("data", None)
    views_out = _views(out) or []
    for i, (va, vb, vo) in enumerate(zip(views_a, views_b, views_out, strict=True)):
        rows_a, rows_b = _rows(spec_a, va), _rows(spec_b, vb)
        if rows_a is None or rows_b is None:
            return None
        name = f"compare-{i}"
        out["datasets"][name] = [{**r, "scenario": name_a} for r in rows_a] + [{**r, "scenario": name_b} for r in rows_b]
        vo["data"] = {"name": name}
        enc = vo.setdefault("encoding", {})
        inherited = {**spec_a.get("encoding", {}), **enc}
        scenario = {"field": "scenario", "type": "nominal", "title": "Scenario", "sort": [name_a, name_b]}
        mark = _mark(vo)
        if mark == "bar" or mark == "rect":
            x_quant = (inherited.get("x") or {}).get("type") == "quantitative"
            enc["yOffset" if x_quant else "xOffset"] = scenario
        if "color" not in inherited:
            enc["color"] = scenario
        elif mark in _LINE_MARKS:
            enc["strokeDash"] = scenario
        elif mark in _POINT_MARKS:
            enc["shape"] = scenario
        else:
            enc["opacity"] = {**scenario, "scale": {"range": [1.0, 0.45]}}
    out.pop("title", None)
    return out


# --- the page ---------------------------------------------------------------------------------------


def _parameters_that_differ(pa: dict, pb: dict) -> list[dict[str, str]]:
    rows = []
    for key in sorted(set(pa) | set(pb)):
        if key == "scenario" or pa.get(key) == pb.get(key):
            continue
        rows.append({"name": key, "a": json.dumps(pa.get(key)), "b": json.dumps(pb.get(key))})
    return rows


def _metrics(ma: dict, mb: dict) -> list[dict[str, str]]:
    rows = []
    for key in list(dict.fromkeys([*ma, *mb])):
        unit, _ = formatting.unit_of(key)
        rows.append(
            {
                "key": key,
                "label": formatting.label_of(key),
                "unit": unit,
                "a": formatting.format_value(key, ma.get(key)),
                "b": formatting.format_value(key, mb.get(key)),
                "difference": formatting.format_difference(key, ma.get(key), mb.get(key)),
                "changed": ma.get(key) != mb.get(key),
            }
        )
    return rows


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def briefing_section(reports: Path, briefing: str, a: str, b: str, charts: bool = True) -> dict[str, Any]:
    """Everything the page shows for one briefing built under both scenarios."""
    ma = _read(reports / a / f"{briefing}.manifest.json") or {}
    mb = _read(reports / b / f"{briefing}.manifest.json") or {}
    section: dict[str, Any] = {
        "briefing": briefing,
        "title": _briefing_title(briefing),
        "title_a": (ma.get("parameters") or {}).get("scenario_title", a),
        "title_b": (mb.get("parameters") or {}).get("scenario_title", b),
        "built_a": ma.get("built_at"),
        "built_b": mb.get("built_at"),
        "parameters": _parameters_that_differ(ma.get("parameters") or {}, mb.get("parameters") or {}),
        "metrics": _metrics(ma.get("metrics") or {}, mb.get("metrics") or {}),
        "charts": [],
        "not_overlaid": [],
        "link_a": f"../{a}/{briefing}.html",
        "link_b": f"../{b}/{briefing}.html",
    }
    if not charts:
        return section
    from rare_earth_lib.report import charts as chart_lib

    figs_a, figs_b = notebook_figures(reports / a / f"{briefing}.ipynb"), notebook_figures(reports / b / f"{briefing}.ipynb")
    for number in sorted(set(figs_a) & set(figs_b)):
        combined = overlay(figs_a[number]["spec"], figs_b[number]["spec"], a, b)
        caption = figs_a[number]["caption"]
        if combined is None:
            section["not_overlaid"].append(f"Figure {number}. {caption}")
            continue
        name = f"Figure {number} ({a} and {b}): {caption}"
        description = chart_description(combined, a, b)
        try:
            svg = chart_lib.chart_svg(combined, name, description)
        except Exception as exc:  # vl-convert refuses the combined spec: name it rather than fail the page
            section["not_overlaid"].append(f"Figure {number}. {caption} (could not be drawn: {type(exc).__name__})")
            continue
        section["charts"].append(
            {"number": number, "caption": caption, "svg": svg, "name": name, "description": description, "id": f"{briefing}-fig-{number}"}
        )
    return section


def chart_description(spec: dict, a: str, b: str) -> str:
    """The overlaid chart's text alternative: what it overlays, then its key numbers read from its data."""
    from rare_earth_lib.report import charts as chart_lib

    numbers = chart_lib.describe(spec)
    return f"The two scenarios, {a} and {b}, drawn on shared axes and told apart by a scenario key. {numbers}".strip()


def _briefing_title(briefing: str) -> str:
    from rare_earth_lib import parameters

    try:
        return parameters.briefing_model(briefing).briefing_title
    except Exception:
        return briefing


def built_briefings(reports: Path, scenario: str) -> list[str]:
    return sorted(p.name.removesuffix(".manifest.json") for p in (reports / scenario).glob("*.manifest.json"))


def write_comparison(reports: Path, a: str, b: str, briefings: list[str] | None = None, charts: bool = True) -> Path:
    """Write ``reports/compare/A--B.html`` and return its path.

    Raises:
        CompareError: a scenario has no built briefing, or they share none (or not the one asked for).
    """
    if a == b:
        raise CompareError(f"compare: the two scenarios are the same ({a})")
    for name in (a, b):
        if not built_briefings(reports, name):
            raise CompareError(f"compare: nothing built under reports/{name}/ (build it first: rare-earth-report build --scenario {name})")
    common = sorted(set(built_briefings(reports, a)) & set(built_briefings(reports, b)))
    for name in briefings or []:
        if name not in common:
            raise CompareError(
                f"compare: briefing '{name}' is not built under both reports/{a}/ and reports/{b}/ (built under both: {', '.join(common) or 'none'})"
            )
    selected = briefings or common
    if not selected:
        raise CompareError(f"compare: no briefing is built under both reports/{a}/ and reports/{b}/")
    sections = [briefing_section(reports, name, a, b, charts) for name in selected]
    page = (
        environment()
        .get_template("compare.html.j2")
        .render(a=a, b=b, sections=sections, generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    )
    from rare_earth_lib.build.state import write_atomic

    path = reports / COMPARE_DIR / page_name(a, b)
    write_atomic(path, page, reports / ".tmp")
    return path


def is_stale(reports: Path, a: str, b: str) -> bool:
    """True when the comparison page is missing or older than a manifest of either scenario."""
    page = reports / COMPARE_DIR / page_name(a, b)
    if not page.is_file():
        return True
    newest = max((p.stat().st_mtime for s in (a, b) for p in (reports / s).glob("*.manifest.json")), default=0.0)
    return page.stat().st_mtime < newest
