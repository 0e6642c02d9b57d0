"""What a briefing records in its executed notebook for the build to read: the MIME types of its outputs.

Kept apart from :mod:`rare_earth_lib.report.briefing` (pandas, Altair) so that the build's workers read the
records without importing what a briefing draws with.
"""

#: The MIME type under which a briefing records its headline figures in the executed notebook.
METRICS_MIMETYPE = "application/vnd.rare-earth.metrics+json"

#: The MIME type under which a briefing records the validated parameters it was built with (checked by the build).
PARAMETERS_MIMETYPE = "application/vnd.rare-earth.parameters+json"
