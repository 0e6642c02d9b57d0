"""Summaries of one simulation: coverage-year percentiles, capacity bands, distributions, project windows."""

from __future__ import annotations

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


def coverage_distribution(result: SimulationResult, product: str) -> pd.DataFrame:
    """Share of trials first reaching coverage in each year, cumulative share, and a "never" row.

    Returns:
        DataFrame with ``year`` (nullable Int64; ``<NA>`` on the "never within the horizon" row),
        ``label`` (the year as text, or "never by <horizon>"), ``share_of_trials`` and
        ``cumulative_share`` (0..1).

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
    return out


def project_windows(result: SimulationResult, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
    """Simulated first-output window of each project (among trials where it is built).

    Args:
        result: output of :func:`rare_earth_lib.models.timeline.simulate.simulate_trials`.
        quantiles: probabilities for the window (default P10, P50, P90).

    Returns:
        The simulated pipeline with ``first_output_p10_year``, ``first_output_p50_year``,
        ``first_output_p90_year`` (decimal years; the actual date for producing plants, NaN if never built)
        and ``completion_probability``.
    """
    out = result.pipeline.copy()
    first = result.first_output_year
    producing = out["status"].isin(PRODUCING_STATUSES)
    for q in quantiles:
        name = f"first_output_p{int(round(q * 100))}_year"
        values = np.full(first.shape[1], np.nan)
        for j in range(first.shape[1]):
            col = first[:, j]
            col = col[~np.isnan(col)]
            if col.size:
                values[j] = empirical_quantile(col, q)
        out[name] = values
        out.loc[producing, name] = out.loc[producing, "actual_first_output_year"]
    return out


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
