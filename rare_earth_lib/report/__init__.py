"""The report layer: what a briefing shows (numbering, sources, metrics), its charts and templates."""

from rare_earth_lib.report.briefing import (
    BUILD_DATE_ENV,
    METRICS_MIMETYPE,
    PARAMETERS_MIMETYPE,
    Briefing,
    build_date,
    source_ids,
)

__all__ = ["BUILD_DATE_ENV", "METRICS_MIMETYPE", "PARAMETERS_MIMETYPE", "Briefing", "build_date", "source_ids"]
