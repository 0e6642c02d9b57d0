"""Monte Carlo timeline to alliance refining capacity, with a hindcast on past builds and sensitivities.

Entry point: :func:`simulate` ``(params, tables) -> TimelineRun`` (see :mod:`.run`).

Method (each step in its module):

1. **Slips from the analogs** (:mod:`.stats`: :func:`analog_slips`, :func:`fit_slip_distribution`). For
   every historical build, slip = actual first output - the first output planned at the decision, in
   years. Builds that have not reached first output are *right-censored*: their slip is only known to be
   at least the time elapsed since the planned date. ``slip + offset`` is fitted by maximum likelihood to
   a log-normal distribution, where the observed slips contribute their density and the censored ones
   their survival probability. The offset (default one year) puts on-time and slightly early builds
   inside the log-normal's support.
2. **Per-project draws** (:mod:`.simulate`: :func:`simulate_trials`). For each project and trial: go/no-go
   with the completion probability of its status; slip drawn from the fitted distribution *conditional on
   what is already known* (a plant still not producing has slipped at least until today, and at least
   until its latest public target), positive slips scaled by the slip multiplier; a project without an
   investment decision produces no sooner than a minimum build time from today; decision speed-up for
   projects before construction; optional US policy reversal; ramp-up length drawn from a triangular
   distribution.
3. **Capacity and coverage.** Alliance capacity per year and trial = sum of nameplate x ramp-up
   utilisation over the plants built; it covers demand in a year when capacity >= threshold x demand
   (demand optionally drawn per trial around the estimate). The coverage year of a trial is the first such
   year; a trial that never covers demand within the horizon is kept and counted as "never".
4. **Percentiles** (:mod:`.summaries`). P10/P50/P90 are empirical quantiles ("inverted CDF"); if the
   quantile falls among the never-reached trials it is ``None``.
5. **Checks** (:mod:`.hindcast` leave-one-out on the analogs, :mod:`.sensitivity` one at a time) and the
   headline figures (:mod:`.headline`); tidy frames for the briefing in :mod:`.tables`.

All random numbers come from one seeded ``numpy.random.Generator`` and are drawn in a fixed order,
whatever the parameters: the same seed gives the same numbers, and two scenarios differ only through
their parameters (common random numbers), so a scenario that only delays or removes plants never
covers demand earlier in any trial.
"""

from rare_earth_lib.models.timeline.calibration import Calibration, binomial_interval, calibrate_spread
from rare_earth_lib.models.timeline.headline import headline
from rare_earth_lib.models.timeline.hindcast import hindcast, hindcast_coverage, hindcast_slips, loo_fits
from rare_earth_lib.models.timeline.results import BRIEFING_TABLES, TimelineResults, WorldShares, briefing_results, world_shares
from rare_earth_lib.models.timeline.run import (
    TABLES,
    DeclaredParams,
    TimelineRun,
    UndeclaredParameter,
    announced_capacity,
    check_run,
    prepare_pipeline,
    prepared,
    run_timeline,
    simulate,
    slip_model,
)
from rare_earth_lib.models.timeline.sensitivity import (
    DEFINITIONAL_FACTORS,
    largest_driver,
    sensitivity,
    sensitivity_variants,
)
from rare_earth_lib.models.timeline.simulate import (
    PRODUCT_KEYS,
    PRODUCTS,
    SimulationResult,
    coverage_years,
    min_slip_years,
    ramp_years,
    simulate_trials,
    simulated_years,
)
from rare_earth_lib.models.timeline.sobol import OUTPUTS as SOBOL_OUTPUTS
from rare_earth_lib.models.timeline.sobol import SobolResult, sobol_indices, sobol_metrics, top_input, uncertain_inputs
from rare_earth_lib.models.timeline.stats import (
    ANALOG_SCOPES,
    SlipFit,
    analog_slips,
    decimal_as_of,
    empirical_quantile,
    fit_slip_distribution,
    truncated_slip_quantile,
)
from rare_earth_lib.models.timeline.summaries import (
    capacity_percentiles,
    coverage_by_threshold,
    coverage_distribution,
    coverage_range,
    coverage_summary,
    project_windows,
    year_or_none,
    year_status,
)
from rare_earth_lib.models.timeline.tables import (
    analog_table,
    format_decimal_year,
    mature_evidence,
    pipeline_table,
    short_project_label,
    target_after_data,
    target_passed,
    year_text,
)

__all__ = [
    "SOBOL_OUTPUTS",
    "SobolResult",
    "sobol_indices",
    "sobol_metrics",
    "top_input",
    "uncertain_inputs",
    "BRIEFING_TABLES",
    "TimelineResults",
    "WorldShares",
    "world_shares",
    "briefing_results",
    "Calibration",
    "binomial_interval",
    "calibrate_spread",
    "hindcast_slips",
    "loo_fits",
    "ANALOG_SCOPES",
    "DEFINITIONAL_FACTORS",
    "PRODUCTS",
    "PRODUCT_KEYS",
    "TABLES",
    "SimulationResult",
    "SlipFit",
    "TimelineRun",
    "analog_slips",
    "analog_table",
    "announced_capacity",
    "capacity_percentiles",
    "check_run",
    "coverage_by_threshold",
    "coverage_distribution",
    "coverage_range",
    "coverage_summary",
    "coverage_years",
    "decimal_as_of",
    "empirical_quantile",
    "fit_slip_distribution",
    "format_decimal_year",
    "headline",
    "hindcast",
    "hindcast_coverage",
    "largest_driver",
    "min_slip_years",
    "pipeline_table",
    "prepare_pipeline",
    "prepared",
    "DeclaredParams",
    "UndeclaredParameter",
    "project_windows",
    "ramp_years",
    "run_timeline",
    "sensitivity",
    "sensitivity_variants",
    "short_project_label",
    "mature_evidence",
    "simulate",
    "simulate_trials",
    "slip_model",
    "simulated_years",
    "target_after_data",
    "target_passed",
    "truncated_slip_quantile",
    "year_or_none",
    "year_status",
    "year_text",
]
