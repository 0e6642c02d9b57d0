"""Render an executed notebook to the HTML briefing (interactive, offline) and to the PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import html
import logging
import os
import re
from functools import lru_cache
from pathlib import Path

import nbformat

from rare_earth_lib import env
from rare_earth_lib.report import inline, svg
from rare_earth_lib.report.records import METRICS_MIMETYPE, PARAMETERS_MIMETYPE

TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"


def notebook_title(nb: nbformat.NotebookNode) -> str | None:
    """The briefing's title: the first ``<h1>`` the notebook displayed, else its first markdown heading."""
    import re

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            match = re.search(r"<h1>(.*?)</h1>", markup if isinstance(markup, str) else "".join(markup), re.S)
            if match:
                import html

                return html.unescape(match.group(1))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("# ").strip()
    return None


def notebook_metrics(nb: nbformat.NotebookNode) -> dict:
    """The headline figures the notebook recorded with ``Briefing.record_metrics`` (merged, last wins)."""
    metrics: dict = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if METRICS_MIMETYPE in data:
                metrics.update(dict(data[METRICS_MIMETYPE]))
    return metrics


def notebook_parameters(nb: nbformat.NotebookNode) -> list[dict]:
    """Every parameter set the executed notebook recorded (``report.Briefing`` records the validated parameters)."""
    return [
        dict(output["data"][PARAMETERS_MIMETYPE])
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if PARAMETERS_MIMETYPE in output.get("data", {})
    ]


@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / "briefing" / "briefing.css").read_text(encoding="utf-8")


def to_html(nb: nbformat.NotebookNode, title: str, interactive: bool = True) -> str:
    """The briefing page: code hidden, our stylesheet, no network references.

    Args:
        nb: the executed notebook.
        title: the page title.
        interactive: include the offline Vega bundle so charts become interactive (HTML);
            ``False`` leaves each chart's static SVG, titled with its text alternative (PDF).

    The markdown cells' ``{eval}`` expressions are replaced by the values the executed kernel recorded.
    """
    html, static = pages(nb, title, html=interactive, pdf=not interactive)
    return html if interactive else static


#: Stands in the exported page where the Vega bundle's ``<script>`` goes, so one export serves HTML and PDF.
_BUNDLE_SLOT = "<!-- rare-earth-briefings: vega bundle -->"


def pages(nb: nbformat.NotebookNode, title: str, html: bool = True, pdf: bool = True) -> tuple[str | None, str | None]:
    """The interactive page (HTML) and the static page (for the PDF) from one nbconvert export.

    The two differ only in the Vega bundle's ``<script>`` (HTML) and in each chart's SVG title
    (:func:`svg.print_figures`, PDF), so the notebook is exported once and each page is made from that.
    Returns ``(html page or None, static page or None)``, as asked.
    """
    from nbconvert import HTMLExporter

    nb = inline.substituted(nb)
    exporter = HTMLExporter(
        template_name="briefing",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    resources = {"briefing_title": title, "briefing_css": _css(), "vega_bundle": _BUNDLE_SLOT if html else ""}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    interactive = static = None
    if html:
        interactive = body.replace(_BUNDLE_SLOT, _vega_bundle(), 1)
    if pdf:
        slot = f"\n<script>\n{_BUNDLE_SLOT}\n</script>"
        static = svg.print_figures(body.replace(slot, "", 1) if html else body)
    return interactive, static


#: Set by the build to the cached bundle's path, so workers read it instead of building it.
VEGA_BUNDLE_ENV = env.VEGA_BUNDLE


def cache_dir() -> Path:
    """Where build artefacts that depend only on package versions are kept (:func:`rare_earth_lib.env.cache_root`)."""
    return env.cache_root()


def cached_vega_bundle() -> Path:
    """The offline Vega bundle, made ready for a ``<script>`` element, as a file built once per vl-convert version."""
    from importlib import metadata

    version = metadata.version("vl-convert-python")
    path = cache_dir() / f"vega-bundle-vl-convert-{version}.js"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(svg.vega_bundle().replace("</script", "<\\/script"), encoding="utf-8")
        os.replace(tmp, path)
    return path


@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    cached = os.environ.get(VEGA_BUNDLE_ENV)
    if cached:
        try:
            return Path(cached).read_text(encoding="utf-8")
        except OSError:
            pass
    return svg.vega_bundle().replace("</script", "<\\/script")


def warm_up(formats: tuple[str, ...]) -> None:
    """Load what rendering ``formats`` needs (nbconvert and the page template, the chart bundle, WeasyPrint) ahead of the first job."""
    if "html" in formats or "pdf" in formats:
        pages(nbformat.v4.new_notebook(), "", html="html" in formats, pdf="pdf" in formats)
    if "pdf" in formats:
        import weasyprint  # noqa: F401


#: A chart's static SVG in the page, its ``<title>`` (the text alternative) and the attributes whose case the HTML
#: export lowered (an SVG document is XML: ``viewbox`` would not be read as ``viewBox``).
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_SVG_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_SVG_WIDTH, _SVG_HEIGHT = re.compile(r'\swidth="([\d.]+)"'), re.compile(r'\sheight="([\d.]+)"')
_SVG_CASE = {"viewbox": "viewBox", "preserveaspectratio": "preserveAspectRatio"}
_SVG_LOWERED = re.compile(r"(?<=\s)(viewbox|preserveaspectratio)(?==)")


def charts_as_images(page: str) -> str:
    """The page with each chart's inline SVG as an ``<img>`` of the same SVG, its title as the ``alt`` text.

    WeasyPrint draws both alike and tags both as a Figure whose /Alt is that text, but inline SVG costs the render
    twice over: the HTML parser reads every path's data, and every SVG node gets a computed style from the page's
    cascade (a fifth of a chart-heavy briefing's PDF time). An image is parsed as XML and styled by itself.
    """

    def image(match: re.Match) -> str:
        svg = _SVG_LOWERED.sub(lambda m: _SVG_CASE[m[1]], match[0])
        tag = _SVG_TAG.match(svg)[0]
        title, width, height = _SVG_TITLE.search(svg), _SVG_WIDTH.search(tag), _SVG_HEIGHT.search(tag)
        if title is None or width is None or height is None:
            return match[0]
        alt = html.escape(html.unescape(title[1]), quote=True)
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img alt="{alt}" width="{width[1]}" height="{height[1]}" src="data:image/svg+xml;base64,{data}">'

    return _SVG.sub(image, page)


def to_pdf(page: str, path: Path) -> None:
    """Print the (static) briefing page to a tagged (PDF/UA-1) A4 PDF with WeasyPrint (charts as SVG images)."""
    import weasyprint

    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # PDF/UA-1: a tagged PDF (structure tree, reading order) with the page's language and title as metadata;
    # headings become the outline (bookmarks).
    weasyprint.HTML(string=charts_as_images(page), base_url=str(TEMPLATES)).write_pdf(str(path), pdf_variant="pdf/ua-1")
