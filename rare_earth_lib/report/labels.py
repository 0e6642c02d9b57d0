"""Display names for the internal ids readers may otherwise see (``pre_fid``), for every briefing.

Briefing tables refuse cells that look like internal ids (see ``Briefing.table``); map a column of ids
through :func:`display_name` (or the model's own names) before showing it. The names themselves are
defined once, in :mod:`rare_earth_lib.domain`.
"""

from __future__ import annotations

import functools
from typing import Any

from rare_earth_lib import domain

DISPLAY_NAMES: dict[str, str] = {
    **domain.STAGE_LABELS,
    **domain.STATUS_LABELS,
    **domain.PRODUCT_LABELS,
    **domain.PILLAR_LABELS,
    **domain.REGIME_LABELS,
}


def display_name(value: Any) -> Any:
    """The reader's name for an internal id (stage, status, product, scorecard pillar, controls branch, an input the
    scenario discovery explores); anything else is returned unchanged."""
    if not isinstance(value, str):
        return value
    return DISPLAY_NAMES.get(value) or _explored_inputs().get(value, value)


@functools.cache
def _explored_inputs() -> dict[str, str]:
    """The explored inputs' labels, from their one definition (``EXPLORATION_SPACE``); read when first asked for, so
    that showing a stage's name does not load the parameter models."""
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE

    return {name: spec.label for name, spec in EXPLORATION_SPACE.items()}


def in_sentence(label: str) -> str:
    """A label inside a sentence: first letter lower case ("Demand scale" -> "demand scale"), unless its first word is
    a symbol or an abbreviation, which keeps its capitals ("Dy+Tb demand growth", "NdPr", "P(built) at FID", "US")."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and (not first.isalpha() or any(c.isupper() for c in first[1:])):
        return label
    return label[:1].lower() + label[1:]
