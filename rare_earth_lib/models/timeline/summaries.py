"""Summaries of one simulation: coverage-year percentiles, capacity bands, distributions, project windows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import PRODUCING_STATUSES
from rare_earth_lib.models.timeline.simulate import PRODUCTS, SimulationResult, coverage_years
from rare_earth_lib.models.timeline.stats import empirical_quantile


def _check_product(product: str) -> None:
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}; got {product!r}")


def year_or_none(value: float) -> int | None:
    """A finite year as int; ``inf``/NaN ("never within the horizon") as ``None``."""
    return None if not math.isfinite(value) else int(round(value))


def coverage_summary(result: SimulationResult, product: str, by_year: int = 2030) -> dict[str, Any]:
    """P10/P50/P90 coverage year, probability of coverage by ``by_year`` and the share never reached.

    Args:
        result: output of :func:`rare_earth_lib.models.timeline.simulate.simulate_trials`.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        by_year: calendar year for the "probability by" figure.

    Returns:
        Dict with ``p10``, ``p50``, ``p90`` (int year or ``None`` when the percentile falls among trials
        that never reach coverage within the horizon), ``prob_by_year`` (0..1), ``by_year``,
        ``share_never`` (0..1), ``horizon_year``, ``threshold``, ``already_covered`` (share of trials
        covered in the first simulated year).

    Raises:
        ValueError: unknown product.
    """
    _check_product(product)
    years = result.coverage_year[product]
    params = result.params
    return {
        "p10": year_or_none(empirical_quantile(years, 0.1)),
        "p50": year_or_none(empirical_quantile(years, 0.5)),
        "p90": year_or_none(empirical_quantile(years, 0.9)),
        "prob_by_year": float(np.mean(years <= by_year)),
        "by_year": int(by_year),
        "share_never": float(np.mean(~np.isfinite(years))),
        "horizon_year": int(params.horizon_year),
        "threshold": float(params.coverage_threshold),
        "already_covered": float(np.mean(years <= params.start_year)),
    }


def capacity_percentiles(result: SimulationResult, product: str) -> pd.DataFrame:
    """Capacity distribution per year: P10, P50, P90 and mean, with the demand estimate alongside.

    Returns:
        DataFrame with ``year``, ``product``, ``capacity_p10_tpa``, ``capacity_p50_tpa``,
        ``capacity_p90_tpa``, ``capacity_mean_tpa``, ``demand_tpa`` (estimate), ``threshold_demand_tpa``
        (threshold x demand) and ``share_of_trials_reached`` (trials that have first covered demand by that year).

    Raises:
        ValueError: unknown product.
    """
    _check_product(product)
    cap = result.capacity_tpa[product]
    p10, p50, p90 = np.quantile(cap, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf")
    demand = result.demand_tpa[product]
    cov = result.coverage_year[product]
    return pd.DataFrame(
        {
            "year": result.years,
            "product": pd.array([product] * result.years.size, dtype="string"),
            "capacity_p10_tpa": p10,
            "capacity_p50_tpa": p50,
            "capacity_p90_tpa": p90,
            "capacity_mean_tpa": cap.mean(axis=0),
            "demand_tpa": demand,
            "threshold_demand_tpa": demand * result.params.coverage_threshold,
            "share_of_trials_reached": [float((cov <= y).mean()) for y in result.years],
        }
    )


def coverage_distribution(result: SimulationResult, product: str, today: dt.date | None = None) -> pd.DataFrame:
    """Share of trials first reaching coverage in each year, cumulative share, and a "never" row.

    Args:
        result: a simulation result.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        today: the build date; years before it are "past", its own year "under way" (a modelled share
            for those years is not a forecast).

    Returns:
        DataFrame with ``year`` (nullable Int64; ``<NA>`` on the "never within the horizon" row),
        ``label`` (the year as text, or "never by <horizon>"), ``share_of_trials``,
        ``cumulative_share`` (0..1) and ``when`` ("past", "under way", "forecast" or "never").

    Raises:
        ValueError: unknown product.
    """
    _check_product(product)
    cov = result.coverage_year[product]
    n = cov.size
    shares = [(cov == y).sum() / n for y in result.years]
    never = float(np.mean(~np.isfinite(cov)))
    out = pd.DataFrame(
        {
            "year": pd.array(list(result.years) + [pd.NA], dtype="Int64"),
            "label": pd.array([str(y) for y in result.years] + [f"never by {result.params.horizon_year}"], dtype="string"),
            "share_of_trials": shares + [never],
        }
    )
    out["cumulative_share"] = out["share_of_trials"].cumsum()
    out["when"] = pd.array([year_status(int(y), today) for y in result.years] + ["never"], dtype="string")
    return out


def year_status(year: int, today: dt.date | None) -> str:
    """ "past", "under way" or "forecast" for a calendar year seen from ``today`` (``None``: all forecast)."""
    if today is None or year > today.year:
        return "forecast"
    return "under way" if year == today.year else "past"


def project_windows(result: SimulationResult, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
    """Simulated first-output window of each project over *all* trials (no survivor bias).

    A trial in which the plant is never built counts as "not built by the horizon" (``inf``), so the
    percentiles are those of the plant's first output among every trial, not only the trials where it
    survives; a percentile that falls among the not-built trials is NaN ("not built"). A scenario that
    stops plants therefore never shows an *earlier* median date than one that does not.

    Args:
        result: output of :func:`rare_earth_lib.models.timeline.simulate.simulate_trials`.
        quantiles: probabilities for the window (default P10, P50, P90).

    Returns:
        The simulated pipeline with ``first_output_p10_year``, ``first_output_p50_year``,
        ``first_output_p90_year`` (decimal years over all trials; the actual date for producing plants;
        NaN = not built at that percentile), ``share_built`` (share of trials in which the plant is built
        by the horizon) beside ``completion_probability``.
    """
    out = result.pipeline.copy()
    first = result.first_output_year
    horizon_end = result.params.horizon_year + 1.0
    all_trials = np.where(np.isnan(first) | (first >= horizon_end), np.inf, first)
    producing = out["status"].isin(PRODUCING_STATUSES)
    for q in quantiles:
        name = f"first_output_p{int(round(q * 100))}_year"
        values = np.quantile(all_trials, q, axis=0, method="inverted_cdf") if first.size else np.full(first.shape[1], np.inf)
        out[name] = np.where(np.isfinite(values), values, np.nan)
        out.loc[producing, name] = out.loc[producing, "actual_first_output_year"]
    out["share_built"] = np.isfinite(all_trials).mean(axis=0) if first.shape[0] else np.nan
    out.loc[producing, "share_built"] = 1.0
    return out


def coverage_range(result: SimulationResult, product: str, central: float = 0.8) -> dict[str, Any]:
    """The coverage year as a range first: the central ``central`` share of the trials that reach it, the
    most likely year, and the share of trials that never reach it within the horizon.

    Returns:
        Dict with ``low`` and ``high`` (years bounding the central share of reaching trials; ``None`` if
        no trial reaches it), ``most_likely`` (the modal year), ``share_never``, ``share_reached``,
        ``horizon_year``, ``first_year`` (the first simulated year) and ``share_first_year`` (share of trials
        covered already in it).
    """
    _check_product(product)
    cov = result.coverage_year[product]
    reached = cov[np.isfinite(cov)]
    tail = (1.0 - central) / 2.0
    out: dict[str, Any] = {"share_never": float(np.mean(~np.isfinite(cov))), "horizon_year": int(result.params.horizon_year)}
    out["share_reached"] = 1.0 - out["share_never"]
    out["first_year"] = int(result.params.start_year)
    out["share_first_year"] = float(np.mean(cov <= result.params.start_year))
    if reached.size == 0:
        return {**out, "low": None, "high": None, "most_likely": None}
    years, counts = np.unique(reached, return_counts=True)
    low, high = np.quantile(reached, [tail, 1.0 - tail], method="inverted_cdf")
    return {**out, "low": int(low), "high": int(high), "most_likely": int(years[np.argmax(counts)])}


def coverage_by_threshold(
    result: SimulationResult, product: str, thresholds: Sequence[float] = (0.25, 0.5, 0.75, 1.0), by_year: int = 2030
) -> pd.DataFrame:
    """P10/P50/P90 coverage year and probability by ``by_year`` for several thresholds, from one simulation.

    Returns:
        DataFrame with ``threshold``, ``p10``, ``p50``, ``p90`` (Int64, <NA> = not within the horizon),
        ``prob_by_year`` and ``share_never``.

    Raises:
        ValueError: unknown product or a threshold outside (0, 1].
    """
    _check_product(product)
    rows = []
    for threshold in thresholds:
        cov = coverage_years(result.capacity_tpa[product], result.demand_tpa[product], result.demand_factor, float(threshold), result.years)
        rows.append(
            {
                "threshold": float(threshold),
                "p10": year_or_none(empirical_quantile(cov, 0.1)),
                "p50": year_or_none(empirical_quantile(cov, 0.5)),
                "p90": year_or_none(empirical_quantile(cov, 0.9)),
                "prob_by_year": float(np.mean(cov <= by_year)),
                "share_never": float(np.mean(~np.isfinite(cov))),
            }
        )
    out = pd.DataFrame(rows)
    for column in ("p10", "p50", "p90"):
        out[column] = out[column].astype("Int64")
    return out
