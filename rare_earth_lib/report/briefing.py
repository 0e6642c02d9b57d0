"""Report helpers the notebooks call: title block, numbered figures and tables, sources, metrics.

The markup of every block lives in one Jinja2 template (``report/templates/blocks.html.j2``, one macro per
block) that escapes every piece of text from parameters or data, so neither a notebook nor this module
builds HTML itself. Figures and tables are numbered in the order the notebook declares them, so a
key judgment at the top can point to a figure shown further down.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import altair as alt
import jinja2
import pandas as pd
from IPython.display import HTML, display

from rare_earth_lib import __version__, env
from rare_earth_lib.data import views
from rare_earth_lib.parameters import BriefingParams
from rare_earth_lib.report import charts
from rare_earth_lib.report.records import METRICS_MIMETYPE, PARAMETERS_MIMETYPE

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
        display({PARAMETERS_MIMETYPE: values, "text/html": _block("json_script", payload, css_class="briefing-parameters")}, raw=True)

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
        _show(_block("title_block", self.title, rows))

    def heading(self, text: str, level: int = 2) -> None:
        """Show a section heading."""
        if level not in (2, 3):
            raise ValueError("level must be 2 or 3")
        _show(_block("heading", text, level))

    def text(self, text: str) -> None:
        """Show a paragraph of generated text."""
        _show(_block("paragraph", text))

    def key_judgments(self, sentences: Iterable[str]) -> None:
        """Show the key judgments: generated sentences, each naming the figure or table behind it."""
        sentences = list(sentences)
        if not sentences:
            raise ValueError("key_judgments needs at least one sentence")
        _show(_block("key_judgments", sentences))

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
        _show(_block("figure", number, caption, body, _source_line(sources, ids), note))

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
        columns, cells = [str(c) for c in frame.columns], _frame_cells(frame, float_format)
        _show(_block("table", number, caption, columns, cells, _source_line(sources, ids), note, column_widths(columns, cells)))

    # --- appendices ------------------------------------------------------------------------
    def appendix(self, title: str) -> None:
        """Start an appendix (lettered A, B, ... in order): the body of the briefing ends at the first one.

        Appendices come in this order: methods (the notebook's own, through this call), parameters and
        sources (both shown by :meth:`sources_appendix`). In the PDF the first appendix starts a new page.
        """
        letter = chr(ord("A") + len(self._appendices))
        first = not self._appendices
        self._appendices.append(title)
        _show(_block("appendix", letter, title, first))

    def parameters_appendix(self) -> None:
        """Show every parameter of this scenario as a compact table grouped by model (an appendix).

        Called by :meth:`sources_appendix` when the notebook has not called it.
        """
        if self._parameters_shown:
            raise ValueError("the parameters appendix is shown twice")
        self._parameters_shown = True
        frame = self.parameters_table()
        self.appendix("Parameters")
        groups = []
        for group, part in frame.groupby("group", sort=False):
            rows = []
            for row in part.itertuples(index=False):
                value, default = _param_text(row.value), _param_text(row.default)
                rows.append(
                    {
                        "meaning": row.meaning or row.parameter,
                        "name": row.parameter,
                        "value": value,
                        "default": None if default == value else default,
                    }
                )
            groups.append((str(group), rows))
        _show(_block("parameters", groups))

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
        rows = [{k: str(v) for k, v in row._asdict().items()} for row in frame.itertuples(index=False)]
        letter = chr(ord("A") + len(self._appendices))
        self._appendices.append("Sources")
        _show(_block("sources", letter, rows))

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
        display({METRICS_MIMETYPE: clean, "text/html": _block("json_script", payload, element_id="briefing-metrics")}, raw=True)


#: The templates of the blocks (one macro per block in blocks.html.j2).
TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _blocks() -> Any:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("blocks.html.j2").module


def _block(name: str, *args: Any, **kwargs: Any) -> str:
    """One block's markup: the macro ``name`` of blocks.html.j2 called with ``args`` (text escaped by the template)."""
    return str(getattr(_blocks(), name)(*args, **kwargs)).strip()


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


def _source_line(sources: Any, ids: list[str]) -> dict[str, Any]:
    """What the line "Sources: 12 rows from 5 sources — S4, S7, D46 …; full list in the appendix" says (most-cited ids first)."""
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
    noun = "source" if len(ids) == 1 else "sources"
    head = f"{rows} {'row' if rows == 1 else 'rows'} from {len(ids)} {noun}" if rows else f"{len(ids)} {noun}"
    return {"head": head, "top": top, "more": len(ids) > len(top)}


#: The print table's box, in em of its text (briefing.css, print: text column 180 mm, table text 0.8 x 9 pt, cell
#: padding 0.3 rem a side). Only the shares matter, and a column at least holds its longest word.
_TABLE_EM, _CELL_PADDING_EM = 180 / 25.4 * 72 / 7.2, 2 * 0.3 * 9 / 7.2
#: A column's narrowest width keeps this much room beyond its longest word, against rounding in the layout.
_MARGIN_EM = 0.25

#: Advance widths (1/1000 em) of DejaVu Sans, the briefing's font, Book and Bold, for ASCII 32-126 (from the fonts'
#: hmtx tables); any other character counts as wide as the widest symbol (838), a dash or an ellipsis as 1000.
_BOOK = "318 401 460 838 636 950 780 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 636 636 636 636 337 337 838 838 838 531 1000 684 686 698 770 632 575 775 752 295 295 656 557 863 748 787 603 787 695 635 611 732 684 989 685 611 685 390 337 390 838 500 500 613 635 550 635 615 352 635 634 278 278 579 278 974 634 612 635 635 411 521 392 634 592 818 592 592 525 636 337 636 838"
_BOLD = "348 456 521 838 696 1002 872 306 457 457 523 838 380 415 380 365 696 696 696 696 696 696 696 696 696 696 400 400 838 838 838 580 1000 774 762 734 830 683 683 821 837 372 372 775 637 995 837 850 733 850 770 720 682 812 774 1103 771 724 725 457 365 457 838 500 500 675 716 593 716 678 435 716 712 343 343 665 343 1042 712 687 716 716 493 595 478 712 652 924 645 652 582 712 365 712 838"
_ADVANCE = {
    bold: {**{chr(32 + i): int(w) / 1000 for i, w in enumerate(widths.split())}, "—": 1.0, "…": 1.0}
    for bold, widths in ((False, _BOOK), (True, _BOLD))
}

#: Where a line may break: at spaces, and after a hyphen or a slash that a number does not follow (Unicode line breaking).
_BREAKS = re.compile(r"\s+|(?<=[-/])(?=[^\d\s])")


def _text_em(text: str, bold: bool = False) -> float:
    """How wide ``text`` sets on one line, in em (kerning left out: it only narrows)."""
    advance = _ADVANCE[bold]
    return sum(advance.get(ch, 0.838) for ch in text)


def column_widths(columns: list[str], rows: list[list[tuple[str, bool]]]) -> list[float] | None:
    """Each column's share of a table's width (percent), as the automatic table layout would give it.

    The print stylesheet lays data tables out fixed with these widths, so WeasyPrint does not measure every
    cell's narrowest and widest width (a fifth of a table's render). Estimated from the text as CSS 2.1's
    automatic layout shares the width out: a column gets at least its longest word (a number never wraps);
    what is left goes to the columns in proportion to how much wider their longest line is. ``None`` when the
    longest words alone need more than the width: that table keeps the automatic layout.
    """
    narrowest, widest = [], []
    for index, header in enumerate(columns):
        cells = [row[index] for row in rows if index < len(row)]
        words = [_text_em(word, bold=True) for word in _BREAKS.split(header)] or [0.0]
        lines = [_text_em(header, bold=True)]
        for text, numeric in cells:
            lines.append(_text_em(text))
            words.extend([lines[-1]] if numeric else [_text_em(word) for word in _BREAKS.split(text)])
        narrowest.append(max(words) + _CELL_PADDING_EM + _MARGIN_EM)
        widest.append(max(max(lines) + _CELL_PADDING_EM, narrowest[-1]))
    if sum(narrowest) >= _TABLE_EM:
        return None
    if sum(widest) <= _TABLE_EM:
        widths = [w / sum(widest) * _TABLE_EM for w in widest]
    else:
        spare, stretch = _TABLE_EM - sum(narrowest), [w - n for n, w in zip(narrowest, widest, strict=True)]
        widths = [n + spare * s / sum(stretch) for n, s in zip(narrowest, stretch, strict=True)]
    return [round(100 * w / _TABLE_EM, 1) for w in widths]


def _frame_cells(frame: pd.DataFrame, float_format: str | None) -> list[list[tuple[str, bool]]]:
    """Each row of ``frame`` as (text, is it a number) per cell, for the table template."""

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

    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
                value = value.item()
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append((cell(value), numeric))
        rows.append(cells)
    return rows
