"""The report layer: what a briefing shows (numbering, sources, metrics), its charts and templates."""

from rare_earth_lib.report.briefing import (
    BUILD_DATE_ENV,
    METRICS_MIMETYPE,
    PARAMETERS_MIMETYPE,
    Briefing,
    build_date,
    source_ids,
)
from rare_earth_lib.report.labels import display_name

__all__ = ["BUILD_DATE_ENV", "METRICS_MIMETYPE", "PARAMETERS_MIMETYPE", "Briefing", "build_date", "display_name", "source_ids"]
