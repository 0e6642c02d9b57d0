"""The briefing's headline figures: a flat dict of JSON scalars recorded in the build manifest."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rare_earth_lib.models.timeline.calibration import binomial_interval
from rare_earth_lib.models.timeline.hindcast import hindcast_coverage
from rare_earth_lib.models.timeline.run import TimelineRun
from rare_earth_lib.models.timeline.sensitivity import largest_driver
from rare_earth_lib.models.timeline.simulate import PRODUCT_KEYS
from rare_earth_lib.models.timeline.summaries import coverage_summary


def headline(run: TimelineRun, hindcast_table: pd.DataFrame | None = None, sensitivity_table: pd.DataFrame | None = None) -> dict[str, Any]:
    """The briefing's headline figures as a flat dict of JSON scalars with self-explaining keys.

    Keys (``None`` where a percentile is not reached within the horizon, or an input was not given):
    ``ndpr_coverage_year_p10/p50/p90``, ``dytb_coverage_year_p10/p50/p90``, ``ndpr_prob_by_<year>``,
    ``dytb_prob_by_<year>``, ``ndpr_share_never_reached``, ``dytb_share_never_reached``,
    ``coverage_threshold``, ``horizon_year``, ``attribution``, ``n_trials``, ``seed``,
    ``hindcast_coverage_rate``, ``hindcast_n_inside``, ``hindcast_n_decided``, ``hindcast_n_open``,
    ``hindcast_coverage_ci_low``/``_high`` (90% Clopper-Pearson), ``hindcast_coverage_rate_uncalibrated``,
    ``slip_spread_factor``, ``slip_spread_calibrated``, ``largest_driver``, ``largest_driver_ndpr``,
    ``largest_driver_dytb``, ``slip_median_years``.
    """
    params = run.params
    out: dict[str, Any] = {}
    by = params.probability_by_year
    for prod, key in PRODUCT_KEYS.items():
        summary = coverage_summary(run.result, prod, by)
        out[f"{key}_coverage_year_p10"] = summary["p10"]
        out[f"{key}_coverage_year_p50"] = summary["p50"]
        out[f"{key}_coverage_year_p90"] = summary["p90"]
        out[f"{key}_prob_by_{by}"] = round(summary["prob_by_year"], 4)
        out[f"{key}_share_never_reached"] = round(summary["share_never"], 4)
    out["coverage_threshold"] = float(params.coverage_threshold)
    out["horizon_year"] = int(params.horizon_year)
    out["attribution"] = str(params.attribution)
    out["n_trials"] = int(params.n_trials)
    out["seed"] = int(params.seed)
    out["slip_median_years"] = round(run.slip_fit.median_years(), 2)
    if hindcast_table is not None:
        cov = hindcast_coverage(hindcast_table)
        out["hindcast_coverage_rate"] = None if cov["coverage_rate"] is None else round(cov["coverage_rate"], 4)
        out["hindcast_n_inside"] = cov["n_inside"]
        out["hindcast_n_decided"] = cov["n_decided"]
        out["hindcast_n_open"] = cov["n_open"]
        out["hindcast_n_stalled"] = cov.get("n_stalled", 0)
        low, high = binomial_interval(cov["n_inside"], cov["n_decided"])
        out["hindcast_coverage_ci_low"] = None if low is None else round(low, 4)
        out["hindcast_coverage_ci_high"] = None if high is None else round(high, 4)
    else:
        out["hindcast_coverage_rate"] = None
    out["slip_spread_factor"] = round(float(run.spread_factor), 4)
    out["slip_spread_calibrated"] = run.calibration is not None
    if run.calibration is not None:
        plain = run.calibration.uncalibrated["coverage_rate"]
        out["hindcast_coverage_rate_uncalibrated"] = None if plain is None else round(plain, 4)
    if sensitivity_table is not None:
        out["largest_driver"] = largest_driver(sensitivity_table)
        out["largest_driver_ndpr"] = largest_driver(sensitivity_table, "ndpr_oxide")
        out["largest_driver_dytb"] = largest_driver(sensitivity_table, "dytb_oxide")
    else:
        out["largest_driver"] = None
    return out
