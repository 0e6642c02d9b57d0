"""Headline metrics for people: a label, a unit and a formatted value from a metric's key and value.

Briefings record metrics under self-explaining keys (``ndpr_capacity_today_tpa``, ``china_magnet_share``,
``public_money_musd``); the key's ending says the unit. The index and the comparison page show them through
these functions, so ``4940.0`` under ``..._tpa`` reads "4,940 t/yr" and ``0.9`` under ``..._share`` "90%".
"""

from __future__ import annotations

import math
from typing import Any

from rare_earth_lib.domain import percent
from rare_earth_lib.report.labels import display_name

# (key ending, unit shown, kind) — the first match wins, so longer endings come first.
UNITS: tuple[tuple[str, str, str], ...] = (
    ("_musd_per_year", "US$ m/yr", "money"),
    ("_musd", "US$ m", "money"),
    ("_tpa", "t/yr", "tonnes"),
    ("_share", "%", "share"),
    ("_probability", "%", "share"),
    ("_index", "of 100", "score"),
    ("_score", "of 100", "score"),
    ("_years", "years", "years"),
    ("_year", "year", "year"),
)
_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("licence_exposure_", "%", "share"),
    ("pillar_score_", "of 100", "score"),
    ("probability_", "%", "share"),
)
_WORDS = {"ndpr": "NdPr", "dytb": "Dy+Tb", "musd": "", "tpa": "", "p10": "P10", "p50": "median", "p90": "P90", "us": "US"}


def unit_of(key: str) -> tuple[str, str]:
    """(unit, kind) of a metric from its key; ``("", "")`` when the key does not say."""
    for prefix, unit, kind in _PREFIXES:
        if key.startswith(prefix):
            return unit, kind
    for ending, unit, kind in UNITS:
        if key.endswith(ending) or f"{ending}_" in key:
            return unit, kind
    return "", ""


def label_of(key: str) -> str:
    """A readable label: ``ndpr_coverage_year_p50`` -> "NdPr coverage year median"."""
    words = [_WORDS.get(w, w) for w in key.split("_")]
    text = " ".join(w for w in words if w).replace("per year", "").strip()
    return text[:1].upper() + text[1:]


def format_value(key: str, value: Any) -> str:
    """A metric's value as text in its unit (no unit appended); ``—`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):  # ids by their names ("Suspension extended"); a ";"-joined list of ids item by item
        return ", ".join(str(display_name(part)) for part in value.split(";"))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    _, kind = unit_of(key)
    if kind == "share":
        return percent(value, 0 if abs(value) >= 0.1 or value == 0 else 1)
    if kind == "year":
        return f"{value:.0f}"
    if kind in ("money", "tonnes"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    if kind == "score":
        return f"{value:.0f}"
    if kind == "years":
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def format_difference(key: str, old: Any, new: Any) -> str:
    """``new - old`` in the metric's unit (percentage points for shares); "changed"/"same" for text; "" when not comparable."""
    if old is None or new is None:
        return "" if old == new else "changed"
    if isinstance(old, bool) or isinstance(new, bool) or not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return "same" if old == new else "changed"
    diff = new - old
    if diff == 0:
        return "0"
    _, kind = unit_of(key)
    sign = "+" if diff > 0 else "−"
    if kind == "share":
        return f"{sign}{abs(diff) * 100:.1f} pp"
    return sign + format_value(key, abs(diff)).lstrip("-")


def with_unit(key: str, value: Any) -> str:
    """The formatted value followed by its unit (``90%``, ``4,940 t/yr``, ``2031``)."""
    text = format_value(key, value)
    unit, kind = unit_of(key)
    if text == "—" or not unit or kind in ("share", "year") or not isinstance(value, (int, float)) or isinstance(value, bool):
        return text
    return f"{text} {unit}"
