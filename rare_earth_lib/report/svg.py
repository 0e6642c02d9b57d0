"""A chart's static SVG (vl-convert, cached by specification), the page's charts prepared for print, and the
offline Vega bundle: what rendering a built briefing needs of its charts, without Altair or pandas.

The build's workers import this module, not :mod:`rare_earth_lib.report.charts` (the theme and the Altair side),
so that a worker's start-up does not pay for Altair and pandas (about 0.45 CPU s).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import vl_convert as vlc

#: SVGs kept in the cache folder (oldest use dropped first): enough for every figure of several builds.
SVG_CACHE_ENTRIES = 3000


def _vegalite_svg(spec: dict) -> str:
    """vl-convert's SVG of ``spec``, kept in ``<cache>/svg`` under the hash of the spec and the vl-convert version.

    Drawing a chart costs 0.05-0.3 s; a briefing rebuilt after an edit that leaves a figure's data alone, and the
    comparison pages rebuilt after every build, draw the same specifications again. The cache holds vl-convert's
    output only (the text alternative is added after). A cache that cannot be read or written is skipped.
    """
    from rare_earth_lib import env

    payload = json.dumps([_vl_convert_version(), spec], sort_keys=True, default=str)
    folder = env.cache_root() / "svg"
    path = folder / f"{hashlib.sha256(payload.encode()).hexdigest()}.svg"
    try:
        svg = path.read_text(encoding="utf-8")
        os.utime(path)  # a use keeps it: pruning drops the least recently used
        return svg
    except OSError:
        pass
    svg = vlc.vegalite_to_svg(spec)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        tmp.write_text(svg, encoding="utf-8")
        os.replace(tmp, path)
        _prune(folder, SVG_CACHE_ENTRIES)
    except OSError:
        pass
    return svg


@lru_cache(maxsize=1)
def _vl_convert_version() -> str:
    from importlib import metadata

    return metadata.version("vl-convert-python")


def _prune(folder: Path, keep: int) -> None:
    """Delete the least recently used SVGs once the folder holds more than ``keep`` (down to three quarters of it)."""
    entries = list(folder.glob("*.svg"))
    if len(entries) <= keep:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - keep * 3 // 4]:
        old.unlink(missing_ok=True)


def chart_svg(spec: dict, title: str | None = None, description: str | None = None) -> str:
    """Render a Vega-Lite specification to a static SVG string (vector; no JavaScript needed).

    ``title`` and ``description`` become the SVG's ``<title>`` and ``<desc>`` (its text alternative).
    """
    svg = _vegalite_svg(spec)
    # vl-convert emits a fixed-size SVG; let it shrink to the column width in HTML and PDF.
    svg = svg.replace("<svg ", '<svg preserveAspectRatio="xMinYMin meet" ', 1)
    if title or description:
        close = svg.index(">", svg.index("<svg")) + 1
        alt_text = (f"<title>{html.escape(title)}</title>" if title else "") + (
            f"<desc>{html.escape(description)}</desc>" if description else ""
        )
        svg = svg[:close] + alt_text + svg[close:]
    return svg


_SVG_ALT = re.compile(r"<title>(?P<name>[^<]*)</title><desc>(?P<desc>[^<]*)</desc>")
_CHART_DESC = re.compile(r'<p [^>]*class="chart-desc"[^>]*>.*?</p>', re.S)


def print_figures(page: str) -> str:
    """The page prepared for the PDF: each chart's SVG ``<title>`` carries its name and description.

    WeasyPrint tags an SVG as a Figure whose /Alt is the SVG's title, so in the tagged PDF a chart's text
    alternative is the whole of it; the hidden description paragraph (for aria-describedby) is dropped there.
    """
    page = _SVG_ALT.sub(lambda m: f"<title>{m['name']}. {m['desc']}</title><desc>{m['desc']}</desc>", page)
    return _CHART_DESC.sub("", page)


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript as one offline bundle (about 0.9 MB)."""
    return vlc.javascript_bundle()
