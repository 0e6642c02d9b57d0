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
import re
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd
from IPython.display import HTML, display

from rare_earth_lib import __version__, env
from rare_earth_lib.data import views
from rare_earth_lib.parameters import BriefingParams
from rare_earth_lib.report import charts

#: The MIME type under which a briefing records its headline figures in the executed notebook.
METRICS_MIMETYPE = "application/vnd.rare-earth.metrics+json"

#: The MIME type under which a briefing records the validated parameters it was built with (checked by the build).
PARAMETERS_MIMETYPE = "application/vnd.rare-earth.parameters+json"

#: Set by the build so that every briefing of one build shows the same build date.
BUILD_DATE_ENV = env.BUILD_DATE


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
        self._appendices: list[str] = []
        self._parameters_shown = False
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
        # The scenario feeds the PDF's running page header (CSS string-set on dd.scenario).
        items = "".join(
            f"<dt>{html.escape(k)}</dt><dd{' class=scenario' if k == 'Scenario' else ''}>{html.escape(v)}</dd>" for k, v in rows
        )
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
        """Show a numbered chart with its caption, a text alternative and a short source line.

        In the HTML briefing the chart is interactive (tooltips); in the PDF it is a vector SVG. Its accessible
        name is "Figure N: caption"; its description is ``alt`` (one sentence on what the chart shows) followed
        by the key numbers read from the chart's own data (see :func:`charts.describe`). Quantitative axes must
        carry a reader-facing title (with units): an untitled axis or a raw column name is refused.
        """
        spec = charts.chart_spec(chart)
        problems = charts.axis_title_problems(spec)
        if problems:
            raise ValueError(f"figure '{label}': {'; '.join(problems)}")
        number = self._take(label, self._figures)
        ids = self._use_sources(sources)
        name = f"Figure {number}: {caption}"
        description = " ".join(part for part in (alt, charts.describe(spec)) if part)
        body = charts.figure_body(spec, f"fig-{number}", name, description)
        _show(
            f'<figure class="figure" id="figure-{number}">'
            f"<figcaption><strong>Figure {number}.</strong> {html.escape(caption)}</figcaption>"
            f"{body}{_source_line(sources, ids, note)}</figure>"
        )

    def table(
        self, label: str, frame: pd.DataFrame, caption: str, sources: Any, note: str | None = None, float_format: str | None = None
    ) -> None:
        """Show a numbered table with its caption and a short source line (index hidden, text escaped).

        Floats are shown with ``float_format`` (e.g. ``"{:.0%}"``) or, by default, with precision by magnitude.
        Reader tables never show internal ids: a column name or cell that looks like one (``mofcom_18_2025``,
        ``source_ids``) is refused with the column and row named; map ids to display names first.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
        problems = internal_ids(frame)
        if problems:
            raise ValueError(f"table '{label}' shows internal ids, map them to display names first: {'; '.join(problems[:5])}")
        number = self._take(label, self._tables)
        ids = self._use_sources(sources)
        body = _frame_html(frame, float_format)
        _show(
            f'<figure class="table" id="table-{number}">'
            f"<figcaption><strong>Table {number}.</strong> {html.escape(caption)}</figcaption>"
            f"{body}{_source_line(sources, ids, note)}</figure>"
        )

    # --- appendices ------------------------------------------------------------------------
    def appendix(self, title: str) -> None:
        """Start an appendix (lettered A, B, ... in order): the body of the briefing ends at the first one.

        Appendices come in this order: methods (the notebook's own, through this call), parameters and
        sources (both shown by :meth:`sources_appendix`). In the PDF the first appendix starts a new page.
        """
        letter = chr(ord("A") + len(self._appendices))
        first = " appendix-first" if not self._appendices else ""
        self._appendices.append(title)
        _show(f'<h2 class="appendix{first}" id="appendix-{letter.lower()}">Appendix {letter}. {html.escape(title)}</h2>')

    def parameters_appendix(self) -> None:
        """Show every parameter of this scenario as a compact table grouped by model (an appendix).

        Called by :meth:`sources_appendix` when the notebook has not called it.
        """
        if self._parameters_shown:
            raise ValueError("the parameters appendix is shown twice")
        self._parameters_shown = True
        frame = self.parameters_table()
        self.appendix("Parameters")
        rows = []
        for group, part in frame.groupby("group", sort=False):
            rows.append(f'<tr class="group"><th colspan="3" scope="colgroup">{html.escape(str(group))}</th></tr>')
            for row in part.itertuples(index=False):
                value = _param_text(row.value)
                default = _param_text(row.default)
                changed = "" if default == value else f' <span class="changed">(default {html.escape(default)})</span>'
                rows.append(
                    f'<tr><th scope="row">{html.escape(row.meaning or row.parameter)}</th>'
                    f'<td><code>{html.escape(row.parameter)}</code></td><td class="value">{html.escape(value)}{changed}</td></tr>'
                )
        _show(
            '<section class="parameters">'
            "<p>The values this scenario used, grouped by the model they belong to; the name is the key to set in a "
            "scenario file. A value that differs from the default shows the default in brackets.</p>"
            '<table class="params"><thead><tr><th scope="col">Meaning</th><th scope="col">Name</th>'
            f'<th scope="col">Value</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
        )

    def parameters_table(self) -> pd.DataFrame:
        """The validated parameters with their group, value, default and description."""
        model = type(self.params)
        groups = parameter_groups(model)
        rows = []
        for name, field in model.model_fields.items():
            rows.append(
                {
                    "group": groups.get(name, "Scenario"),
                    "parameter": name,
                    "value": getattr(self.params, name),
                    "default": field.default,
                    "meaning": field.description or "",
                }
            )
        return pd.DataFrame(rows)

    def sources_appendix(self) -> None:
        """End the briefing: the parameters appendix (unless already shown), then every source used so far."""
        from rare_earth_lib.data import package as data_package

        missing = [label for label in [*self._figures, *self._tables] if label not in self._shown]
        if missing:
            raise ValueError(f"declared but never shown: {missing}")
        if not self._parameters_shown:
            self.parameters_appendix()
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
        letter = chr(ord("A") + len(self._appendices))
        self._appendices.append("Sources")
        _show(
            '<section class="sources">'
            f'<h2 class="appendix" id="sources">Appendix {letter}. Sources</h2>'
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


#: How many source ids a figure or table names under itself; the appendix lists them all.
SOURCE_LINE_IDS = 3

#: What an internal id looks like: lower-case words joined by underscores (``mofcom_18_2025``).
_INTERNAL_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def internal_ids(frame: pd.DataFrame) -> list[str]:
    """Column names and cells of ``frame`` that look like internal ids, each named by column and row."""
    found = [f"column '{c}'" for c in frame.columns if _INTERNAL_ID.match(str(c))]
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        for position, value in enumerate(values):
            if isinstance(value, str) and any(_INTERNAL_ID.match(part.strip()) for part in re.split(r"[,;]", value)):
                found.append(f"column '{column}', row {position + 1}: {value!r}")
    return found


def parameter_groups(model: type[BriefingParams]) -> dict[str, str]:
    """Each field's group for the parameters appendix: "<model> — <section>".

    The model is the class that declares the field (named after its module); the section is the
    ``# --- Section ---`` comment above the field in that class's source. A field's ``json_schema_extra``
    ``{"group": ...}`` overrides both.
    """
    groups: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BriefingParams)):
            continue
        own = [n for n in cls.__dict__.get("__annotations__", {}) if n in model.model_fields]
        if not own:
            continue
        title = "Scenario" if cls is BriefingParams else _model_title(cls)
        sections = _source_sections(cls)
        for name in own:
            section = sections.get(name)
            groups[name] = f"{title} — {section}" if section and section.lower() != title.lower() else title
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("group"):
            groups[name] = str(extra["group"])
    return groups


def _model_title(cls: type) -> str:
    module = cls.__module__.rsplit(".", 1)[-1]
    return module.replace("_", " ").capitalize() + " model"


def _source_sections(cls: type) -> dict[str, str]:
    import inspect

    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    sections: dict[str, str] = {}
    current = None
    for line in lines:
        heading = re.match(r"^\s+#\s*-{3,}\s*(.+?)\s*-*\s*$", line)
        if heading:
            current = heading.group(1).strip(" -")
            continue
        field = re.match(r"^    ([a-z_][a-z0-9_]*)\s*:", line)
        if field and current:
            sections[field.group(1)] = current[:1].upper() + current[1:]
    return sections


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _source_line(sources: Any, ids: list[str], note: str | None) -> str:
    """ "Sources: 12 rows from 5 sources — S4, S7, D46 …; full list in the appendix" (most-cited ids first)."""
    counts: dict[str, int] = {i: 0 for i in ids}
    rows = None
    if isinstance(sources, pd.DataFrame):
        cited = sources["source_ids"].dropna().astype(str)
        cited = cited[cited.str.strip() != ""]
        rows = len(cited)
        for value in cited:
            for part in {p.strip() for p in value.split(";") if p.strip()}:
                counts[part] += 1
    top = sorted(ids, key=lambda i: (-counts[i], views.id_sort_key(i)))[:SOURCE_LINE_IDS]
    links = ", ".join(f'<a href="#source-{html.escape(i)}">{html.escape(i)}</a>' for i in top)
    more = " …" if len(ids) > len(top) else ""
    noun = "source" if len(ids) == 1 else "sources"
    head = f"{rows} {'row' if rows == 1 else 'rows'} from {len(ids)} {noun}" if rows else f"{len(ids)} {noun}"
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f'{note_html}<p class="source">Sources: {head} — {links}{more}; <a href="#sources">full list in the appendix</a>.</p>'


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
