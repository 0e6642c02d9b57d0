"""Leave-one-out hindcast of the slip model on the historical builds, and its coverage rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models.timeline.stats import SlipFit, analog_slips, decimal_as_of, fit_slip_distribution, truncated_slip_quantile


def _judge(row: Any, pred: np.ndarray, as_of_year: float) -> tuple[str, bool]:
    """Outcome text and whether the case is decided, for one analog and its predicted P10/P50/P90."""
    if not row.censored:
        if row.actual_year < pred[0]:
            return "earlier than P10", True
        if row.actual_year > pred[2]:
            return "later than P90", True
        return "inside", True
    if as_of_year > pred[2]:
        return "later than P90", True
    return "still open, inside so far", False


def _predict(row: Any, fit: SlipFit, interval: tuple[float, float]) -> np.ndarray:
    """P10/P50/P90 first output of one analog made as of its decision date."""
    decision = row.decision_year if not np.isnan(row.decision_year) else row.planned_year - 3.0
    known = decision - row.planned_year  # at its decision date, the build had not produced
    return row.planned_year + truncated_slip_quantile(fit, np.array([interval[0], 0.5, interval[1]]), known)


def loo_fits(slips: pd.DataFrame, offset_years: float) -> dict[str, SlipFit]:
    """Analog id -> slip fit on all the *other* analogs (the leave-one-out fits)."""
    return {str(a): fit_slip_distribution(slips, offset_years=offset_years, exclude=[a]) for a in slips["analog_id"]}


def hindcast(
    analogs: pd.DataFrame,
    *,
    as_of: Any,
    scope: str = "refining",
    offset_years: float = 1.0,
    interval: tuple[float, float] = (0.1, 0.9),
    spread_factor: float = 1.0,
    fits: dict[str, SlipFit] | None = None,
) -> pd.DataFrame:
    """Leave-one-out hindcast: would the model, run at each analog's decision, have bracketed the outcome?

    For each analog with a planned first-output date: fit the slip distribution on the *other* analogs
    (censored as of ``as_of``), widen its log-sd by ``spread_factor`` (1 = the plain fit), then predict its
    first output as planned + slip, with the slip conditional on what was known at its decision date (no
    output before the decision). The prediction is the P10-P90 window of first-output dates. Outcomes:

    * ``inside`` / ``earlier than P10`` / ``later than P90`` for builds that reached first output;
    * for builds not yet producing (censored), ``still open, inside so far`` if today is before P90 (the
      outcome can still land inside), ``later than P90`` if today is already past P90 (a certain miss).

    An analog with no recorded decision date is taken as decided three years before its planned first
    output; this only bounds the slip from below.

    The coverage rate is the share ``inside`` among the *decided* cases (observed builds plus censored
    builds already past P90); open cases are reported separately, not counted as hits.

    Args:
        analogs: the data package's build_analogs table.
        as_of: the data's as-of date.
        scope: analog scope (``"refining"`` or ``"all"``), the same scope the timeline fits on.
        offset_years: the slip fit's offset.
        interval: lower and upper probability of the window.
        spread_factor: factor on the fitted log-sd (the calibration parameter).
        fits: leave-one-out fits from :func:`loo_fits` on the same slips (computed when omitted).

    Returns:
        One row per analog: ``analog_id``, ``project``, ``stage``, ``decision_year``, ``planned_year``,
        ``actual_year`` (NaN if not reached), ``censored``, ``predicted_p10_year``, ``predicted_p50_year``,
        ``predicted_p90_year``, ``outcome`` (text above), ``decided`` (bool), ``inside`` (bool),
        ``fit_mu``, ``fit_sigma``, ``fit_n`` (analogs in the leave-one-out fit), ``source_ids``.

    Raises:
        ValueError: bad interval, scope, offset or spread factor.
    """
    if not 0.0 < interval[0] < interval[1] < 1.0:
        raise ValueError(f"interval must satisfy 0 < low < high < 1; got {interval!r}")
    slips = analog_slips(analogs, as_of=as_of, scope=scope)
    fits = loo_fits(slips, offset_years) if fits is None else fits
    return hindcast_slips(slips, fits, as_of_year=decimal_as_of(as_of), interval=interval, spread_factor=spread_factor)


def hindcast_slips(
    slips: pd.DataFrame,
    fits: dict[str, SlipFit],
    *,
    as_of_year: float,
    interval: tuple[float, float] = (0.1, 0.9),
    spread_factor: float = 1.0,
) -> pd.DataFrame:
    """:func:`hindcast` on prepared slips (:func:`analog_slips`) and leave-one-out fits (:func:`loo_fits`)."""
    rows = []
    for row in slips.itertuples(index=False):
        fit = fits[row.analog_id].widened(spread_factor)
        pred = _predict(row, fit, interval)
        outcome, decided = _judge(row, pred, as_of_year)
        rows.append(
            {
                "analog_id": row.analog_id,
                "project": row.project,
                "stage": row.stage,
                "decision_year": row.decision_year,
                "planned_year": row.planned_year,
                "actual_year": row.actual_year,
                "censored": bool(row.censored),
                "predicted_p10_year": pred[0],
                "predicted_p50_year": pred[1],
                "predicted_p90_year": pred[2],
                "outcome": outcome,
                "decided": decided,
                "inside": outcome == "inside",
                "fit_mu": fit.mu,
                "fit_sigma": fit.sigma,
                "fit_n": fit.n_observed + fit.n_censored,
                "source_ids": row.source_ids,
            }
        )
    out = pd.DataFrame(rows)
    for column in ("analog_id", "project", "stage", "outcome", "source_ids"):
        out[column] = out[column].astype("string")
    return out


STALLED_OUTCOME = "not built, stalled: not scored"


def mark_stalled(table: pd.DataFrame, analogs: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Open hindcast cases whose project the data package lists as stalled or cancelled are not "inside so far".

    A build its owner no longer expects to proceed (Lynas's Texas plant: "unlikely the proposed facility will
    proceed", Nov 2025) has no first-output date to score; it stays out of the coverage rate (undecided, like
    every censored build) but its outcome says it is stalled, so it cannot read as a build on its way.

    Args:
        table: :func:`hindcast` output.
        analogs: the build_analogs table (``analog_id`` -> ``project_id``).
        projects: the projects table (``project_id`` -> ``status``).
    """
    if "project_id" not in analogs or "status" not in projects:
        return table
    status = analogs.set_index("analog_id")["project_id"].map(projects.drop_duplicates("project_id").set_index("project_id")["status"])
    stalled = table["analog_id"].map(status).isin(["stalled", "cancelled"]).to_numpy() & ~table["decided"].to_numpy(dtype=bool)
    out = table.copy()
    out.loc[stalled, "outcome"] = STALLED_OUTCOME
    return out


def hindcast_coverage(table: pd.DataFrame) -> dict[str, Any]:
    """Coverage rate of a :func:`hindcast` table, with its counts.

    Returns:
        Dict with ``coverage_rate`` (inside / decided, ``None`` if nothing is decided), ``n_inside``,
        ``n_decided``, ``n_open`` (censored, still possible), ``n_stalled`` (censored, project stalled or
        cancelled: not scored), ``n_total``, ``n_early``, ``n_late``, ``n_finished``
        (decided builds that reached first output), ``n_finished_inside``, ``unbuilt_missed`` (projects not yet
        producing already past their window's P90: decided misses that were never built).
    """
    decided = table.loc[table["decided"]]
    n_decided = int(len(decided))
    n_inside = int(decided["inside"].sum())
    # decided builds without first output (a table without the censored flag: every decided build finished)
    unbuilt = decided["censored"].astype(bool) if "censored" in decided else pd.Series(False, index=decided.index)
    return {
        "coverage_rate": (n_inside / n_decided) if n_decided else None,
        "n_inside": n_inside,
        "n_decided": n_decided,
        "n_open": int((~table["decided"] & (table["outcome"] != STALLED_OUTCOME)).sum()),
        "n_stalled": int((table["outcome"] == STALLED_OUTCOME).sum()),
        "n_total": int(len(table)),
        "n_early": int((table["outcome"] == "earlier than P10").sum()),
        "n_late": int((table["outcome"] == "later than P90").sum()),
        # finished builds (first output observed) apart from builds not yet producing whose window has already passed
        "n_finished": int((~unbuilt).sum()),
        "n_finished_inside": int((decided["inside"] & ~unbuilt).sum()),
        "unbuilt_missed": [str(p) for p in decided.loc[unbuilt & ~decided["inside"], "project"]] if "project" in decided else [],
    }
