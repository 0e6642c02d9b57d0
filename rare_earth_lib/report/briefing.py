"""Report helpers the notebooks call: title block, numbered figures and tables, sources, metrics.

Every piece of text that comes from parameters or data is HTML-escaped here, so a notebook never
builds HTML itself. Figures and tables are numbered in the order the notebook declares them, so a
key judgment at the top can point to a figure shown further down.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd
from IPython.display import HTML, display

from rare_earth_lib import __version__
from rare_earth_lib.data import views
from rare_earth_lib.parameters import BriefingParams
from rare_earth_lib.report import charts

#: The MIME type under which a briefing records its headline figures in the executed notebook.
METRICS_MIMETYPE = "application/vnd.rare-earth.metrics+json"

#: The MIME type under which a briefing records the validated parameters it was built with (checked by the build).
PARAMETERS_MIMETYPE = "application/vnd.rare-earth.parameters+json"

#: Set by the build so that every briefing of one build shows the same build date.
BUILD_DATE_ENV = "RARE_EARTH_BUILD_DATE"


def build_date() -> _dt.date:
    """The build date: ``$RARE_EARTH_BUILD_DATE`` (ISO) when the build sets it, else today."""
    value = os.environ.get(BUILD_DATE_ENV)
    return _dt.date.fromisoformat(value) if value else _dt.date.today()


def source_ids(sources: Any) -> list[str]:
    """Normalise ``sources`` to a sorted list of unique source ids.

    Args:
        sources: a DataFrame with a ``source_ids`` column (semicolon-separated ids per row),
            a string such as ``"S1;S4"``, or an iterable of such strings.
    """
    return sorted(views.ids_of(sources), key=views.id_sort_key)


class Briefing:
    """One briefing being written: numbering, the sources it used and its headline metrics.

    Args:
        params: the validated parameter model (its scenario is shown in the title block).
        title: the briefing's title; by default the one its parameter model declares.
        figures: labels of the figures in the order they will appear.
        tables: labels of the tables in the order they will appear.
    """

    def __init__(self, params: BriefingParams, figures: Iterable[str] = (), tables: Iterable[str] = (), title: str | None = None):
        if not isinstance(params, BriefingParams):
            raise ValueError("params must be a validated BriefingParams model")
        self.title = title or type(params).briefing_title
        if not self.title:
            raise ValueError(f"{type(params).__module__}: the parameter model declares no briefing_title")
        self.params = params
        self._figures = {label: i + 1 for i, label in enumerate(figures)}
        self._tables = {label: i + 1 for i, label in enumerate(tables)}
        overlap = set(self._figures) & set(self._tables)
        if overlap:
            raise ValueError(f"figures and tables share labels: {sorted(overlap)}")
        self._shown: set[str] = set()
        self.sources_used: list[str] = []
        self._record_parameters()

    def _record_parameters(self) -> None:
        """Record the validated parameters this briefing is written with, so the build can prove they are the scenario's."""
        values = self.params.model_dump(mode="json")
        payload = json.dumps(values, sort_keys=True).replace("</", "<\\/")
        display(
            {PARAMETERS_MIMETYPE: values, "text/html": f'<script type="application/json" class="briefing-parameters">{payload}</script>'},
            raw=True,
        )

    # --- numbering -------------------------------------------------------------------------
    def ref(self, label: str) -> str:
        """``"Figure N"`` or ``"Table N"`` for a declared label."""
        if label in self._figures:
            return f"Figure {self._figures[label]}"
        if label in self._tables:
            return f"Table {self._tables[label]}"
        raise KeyError(f"'{label}' is not a declared figure or table (declared: {sorted({**self._figures, **self._tables})})")

    def _take(self, label: str, kind: dict[str, int]) -> int:
        if label not in kind:
            raise KeyError(f"'{label}' was not declared in Briefing(figures=..., tables=...)")
        if label in self._shown:
            raise ValueError(f"'{label}' is shown twice")
        self._shown.add(label)
        return kind[label]

    def _use_sources(self, sources: Any) -> list[str]:
        ids = source_ids(sources)
        if not ids:
            raise ValueError("every figure and table must name at least one source")
        for source_id in ids:
            if source_id not in self.sources_used:
                self.sources_used.append(source_id)
        return ids

    # --- blocks ----------------------------------------------------------------------------
    def title_block(self) -> None:
        """Show the title, scenario, data as-of date, build date and package version."""
        from rare_earth_lib.data import package as data_package

        rows = [
            ("Scenario", f"{self.params.scenario_title} ({self.params.scenario})"),
            ("Data as of", data_package.as_of().isoformat()),
            ("Built", build_date().isoformat()),
            ("Package", f"rare-earth-briefings {__version__}"),
        ]
        items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
        _show(f'<header class="title-block"><h1>{html.escape(self.title)}</h1><dl>{items}</dl></header>')

    def heading(self, text: str, level: int = 2) -> None:
        """Show a section heading."""
        if level not in (2, 3):
            raise ValueError("level must be 2 or 3")
        _show(f"<h{level}>{html.escape(text)}</h{level}>")

    def text(self, text: str) -> None:
        """Show a paragraph of generated text."""
        _show(f"<p>{html.escape(text)}</p>")

    def key_judgments(self, sentences: Iterable[str]) -> None:
        """Show the key judgments: generated sentences, each naming the figure or table behind it."""
        sentences = list(sentences)
        if not sentences:
            raise ValueError("key_judgments needs at least one sentence")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
        _show(f'<section class="key-judgments"><h2>Key judgments</h2><ol>{items}</ol></section>')

    def figure(
        self, label: str, chart: alt.TopLevelMixin, caption: str, sources: Any, alt: str | None = None, note: str | None = None
    ) -> None:
        """Show a numbered chart with its caption and source line.

        In the HTML briefing the chart is interactive (tooltips); in the PDF it is a vector SVG.
        """
        number = self._take(label, self._figures)
        ids = self._use_sources(sources)
        body = charts.figure_body(chart, f"fig-{number}", alt or caption)
        _show(
            f'<figure class="figure" id="figure-{number}">'
            f"<figcaption><strong>Figure {number}.</strong> {html.escape(caption)}</figcaption>"
            f"{body}{_source_line(ids, note)}</figure>"
        )

    def table(
        self, label: str, frame: pd.DataFrame, caption: str, sources: Any, note: str | None = None, float_format: str | None = None
    ) -> None:
        """Show a numbered table with its caption and source line (index hidden, text escaped).

        Floats are shown with ``float_format`` (e.g. ``"{:.0%}"``) or, by default, with precision by magnitude.
        """
        number = self._take(label, self._tables)
        ids = self._use_sources(sources)
        body = _frame_html(frame, float_format)
        _show(
            f'<figure class="table" id="table-{number}">'
            f"<figcaption><strong>Table {number}.</strong> {html.escape(caption)}</figcaption>"
            f"{body}{_source_line(ids, note)}</figure>"
        )

    def parameters_table(self) -> pd.DataFrame:
        """The validated parameters with their descriptions, for a methods section."""
        rows = []
        for name, field in type(self.params).model_fields.items():
            rows.append(
                {"parameter": name, "value": getattr(self.params, name), "default": field.default, "meaning": field.description or ""}
            )
        return pd.DataFrame(rows)

    def sources_appendix(self) -> None:
        """Show every source used by the figures and tables so far, with grade and date."""
        from rare_earth_lib.data import package as data_package

        missing = [label for label in [*self._figures, *self._tables] if label not in self._shown]
        if missing:
            raise ValueError(f"declared but never shown: {missing}")
        frame = data_package.sources_for(self.sources_used)
        frame = frame.set_index("source_id").loc[sorted(self.sources_used, key=views.id_sort_key)].reset_index()
        items = []
        for row in frame.itertuples(index=False):
            items.append(
                f'<li id="source-{html.escape(row.source_id)}"><span class="source-id">[{html.escape(row.source_id)}]</span> '
                f"{html.escape(str(row.publisher))}. <em>{html.escape(str(row.title))}</em>. {html.escape(str(row.published))}. "
                f'<span class="url">{html.escape(str(row.url))}</span> '
                f'<span class="grade grade-{html.escape(str(row.grade))}">{html.escape(str(row.grade))}</span></li>'
            )
        _show(
            '<section class="sources"><h2>Sources</h2>'
            "<p>Grades: primary = government document or the company's own release; secondary = trade press or "
            "analyst summarising a primary source; low = aggregator or unattributed, check before quoting.</p>"
            f'<ol class="source-list">{"".join(items)}</ol></section>'
        )

    def record_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Record the briefing's headline figures in the executed notebook (read by the build).

        Args:
            metrics: flat mapping of self-explaining keys to JSON scalars; ``None`` means
                "not reached within the horizon" or "not applicable".
        """
        clean = {}
        for key, value in metrics.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise ValueError(f"metric '{key}' must be a JSON scalar, not {type(value).__name__}")
            clean[str(key)] = value
        payload = json.dumps(clean, sort_keys=True).replace("</", "<\\/")
        display(
            {METRICS_MIMETYPE: clean, "text/html": f'<script type="application/json" id="briefing-metrics">{payload}</script>'},
            raw=True,
        )


def _show(markup: str) -> None:
    display(HTML(markup))


def _source_line(ids: list[str], note: str | None) -> str:
    links = ", ".join(f'<a href="#source-{html.escape(i)}">{html.escape(i)}</a>' for i in ids)
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f'{note_html}<p class="source">Source: {links}.</p>'


def _frame_html(frame: pd.DataFrame, float_format: str | None) -> str:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")

    def cell(value: Any) -> str:
        if (
            value is None
            or (isinstance(value, float) and math.isnan(value))
            or value is pd.NaT
            or (not isinstance(value, str) and pd.isna(value) is True)
        ):
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            if float_format:
                return float_format.format(value)
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
        if isinstance(value, int):
            return f"{value:,}" if abs(value) >= 10000 else str(value)
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
        return str(value)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
                value = value.item()
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(cell(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
