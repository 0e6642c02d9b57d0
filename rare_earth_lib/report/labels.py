"""Display names for the internal ids readers may otherwise see (``pre_fid``): one mapping for every briefing.

Briefing tables refuse cells that look like internal ids (see ``Briefing.table``); map a column of ids
through :func:`display_name` (or the model's own names) before showing it.
"""

from __future__ import annotations

from typing import Any

#: Plant status ids (rare_earth_lib.domain) as a reader reads them.
STATUS_LABELS = {
    "operating": "operating",
    "ramping": "ramping up",
    "construction": "under construction",
    "fid": "FID taken",
    "feasibility": "feasibility study",
    "pre_fid": "pre-FID",
    "stalled": "stalled",
    "cancelled": "cancelled",
}

DISPLAY_NAMES: dict[str, str] = {**STATUS_LABELS}


def display_name(value: Any) -> Any:
    """The reader's name for an internal id; anything else is returned unchanged."""
    return DISPLAY_NAMES.get(value, value) if isinstance(value, str) else value
