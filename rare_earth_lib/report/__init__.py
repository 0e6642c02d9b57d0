"""The report layer: what a briefing shows (numbering, sources, metrics), its charts and templates.

The names below are loaded on first use, so that importing a light module of the package (the build's workers
read :mod:`~rare_earth_lib.report.records`, :mod:`~rare_earth_lib.report.svg` and
:mod:`~rare_earth_lib.report.inline`) does not import the briefing's pandas and Altair.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each name of the package and the module that defines it.
_HOMES = {
    "BUILD_DATE_ENV": "briefing",
    "Briefing": "briefing",
    "build_date": "briefing",
    "source_ids": "briefing",
    "display_name": "labels",
    "METRICS_MIMETYPE": "records",
    "PARAMETERS_MIMETYPE": "records",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
