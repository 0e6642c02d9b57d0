"""The as-announced build-out: alliance capacity by year if every plant kept its latest public date.

The press-release path (no slips, the same ramp-up, capacity rules and attribution as the rest of the model),
for comparison with the timeline's simulated distribution, which adds the historical slips on top of the same
pipeline (:func:`rare_earth_lib.models.buildout.refining_pipeline`) and ramp-up
(:func:`rare_earth_lib.models.buildout.ramp_utilisation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from rare_earth_lib.domain import PRODUCT_COLUMNS, REFINING_STAGES
from rare_earth_lib.models.buildout import (
    DEFAULT_COMPLETION_PROBABILITIES,
    _check_choice,
    completion_probability,
    ramp_utilisation,
    refining_pipeline,
)


def first_output_year_as_announced(pipeline: pd.DataFrame, *, as_of_year: float, undated_lead_years: float = 5.0) -> np.ndarray:
    """First-output year of each pipeline project if it were delivered on its latest public target.

    Producing plants keep their actual first-output date (or a date long past if it is unknown); a plant
    that is not producing and whose target has passed gets ``as_of_year``; a plant with no public date gets
    ``as_of_year + undated_lead_years``.

    Args:
        pipeline: output of :func:`refining_pipeline`.
        as_of_year: the data's as-of date as a decimal year.
        undated_lead_years: years from the as-of date to first output for a project with no public date.

    Returns:
        float array of decimal years, aligned with ``pipeline``.

    Raises:
        ValueError: negative ``undated_lead_years``.
    """
    if undated_lead_years < 0:
        raise ValueError("undated_lead_years must be >= 0")
    actual = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    target = pipeline["target_first_output_year"].to_numpy(dtype="float64")
    producing = pipeline["status"].isin(["operating", "ramping"]).to_numpy()
    future = np.where(np.isnan(target), as_of_year + undated_lead_years, np.maximum(target, as_of_year))
    long_ago = as_of_year - 50.0
    return np.where(~np.isnan(actual), actual, np.where(producing, long_ago, future))


def capacity_by_year(
    projects: pd.DataFrame,
    years: Sequence[int],
    *,
    product: str = "ndpr_oxide",
    stages: str | Sequence[str] = REFINING_STAGES,
    attribution: Literal["location", "owner"] = "owner",
    as_of_year: float,
    first_year_utilisation: float,
    years_to_nameplate: float,
    mature_utilisation: float,
    completion_probabilities: Mapping[str, float] = DEFAULT_COMPLETION_PROBABILITIES,
    undated_lead_years: float = 5.0,
) -> pd.DataFrame:
    """Alliance capacity by year, project and product if every plant kept its latest public date.

    This is the "as announced" build-out (no slips); the Monte Carlo in :mod:`rare_earth_lib.models.timeline`
    adds the historical slips. Each plant ramps up along :func:`ramp_utilisation`; a plant already producing starts from today's capacity (:func:`_from_today`).

    Args:
        projects: the data package's projects table.
        years: calendar years to report.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        stages: stage(s) a project must list to count (default separation and heavy separation).
        attribution: ``"location"`` or ``"owner"``.
        as_of_year: the data's as-of date as a decimal year.
        first_year_utilisation: share of nameplate in the first year of output (0..1).
        years_to_nameplate: years from first output to mature utilisation (>= 1).
        mature_utilisation: long-run share of nameplate (0..1).
        completion_probabilities: status -> probability of ever reaching first output.
        undated_lead_years: years to first output for projects with no public date.

    Returns:
        Long DataFrame with one row per year and project: ``year``, ``project_id``, ``company``,
        ``alliance_country``, ``status``, ``nameplate_tpa``, ``utilisation`` (0..1),
        ``capacity_tpa`` (t oxide/yr if built, = nameplate x utilisation) and ``expected_capacity_tpa``
        (x completion probability).

    Raises:
        ValueError: unknown product, stage, attribution or status; bad utilisation arguments.
    """
    _check_choice(product, PRODUCT_COLUMNS, "product")
    years_arr = np.asarray(list(years), dtype="int64")
    if years_arr.size == 0:
        raise ValueError("years must hold at least one year")
    pipeline = refining_pipeline(projects, attribution=attribution, stages=stages)
    column = PRODUCT_COLUMNS[product]
    pipeline = pipeline.loc[pipeline[column] > 0].reset_index(drop=True)
    t0 = first_output_year_as_announced(pipeline, as_of_year=as_of_year, undated_lead_years=undated_lead_years)
    prob = completion_probability(pipeline["status"], completion_probabilities).to_numpy()
    t = (years_arr[:, None] + 0.5) - t0[None, :]
    util = ramp_utilisation(t, first_year_utilisation, years_to_nameplate, mature_utilisation)
    nameplate = pipeline[column].to_numpy()
    ramp = {"first_year_utilisation": first_year_utilisation, "years_to_nameplate": years_to_nameplate}
    util = _from_today(projects, pipeline, product, attribution, years_arr, util, as_of_year, ramp, mature_utilisation)
    n_years, n_projects = util.shape
    out = pd.DataFrame(
        {
            "year": np.repeat(years_arr, n_projects),
            "project_id": np.tile(pipeline["project_id"].to_numpy(), n_years),
            "company": np.tile(pipeline["company"].to_numpy(), n_years),
            "alliance_country": np.tile(pipeline["alliance_country"].to_numpy(), n_years),
            "status": np.tile(pipeline["status"].to_numpy(), n_years),
            "nameplate_tpa": np.tile(nameplate, n_years),
            "utilisation": util.ravel(),
        }
    )
    out["capacity_tpa"] = out["nameplate_tpa"] * out["utilisation"]
    out["expected_capacity_tpa"] = out["capacity_tpa"] * np.tile(prob, n_years)
    for column_name in ("project_id", "company", "alliance_country", "status"):
        out[column_name] = out[column_name].astype("string")
    return out


def _from_today(
    projects: pd.DataFrame,
    pipeline: pd.DataFrame,
    product: str,
    attribution: str,
    years: np.ndarray,
    util: np.ndarray,
    as_of_year: float,
    ramp: Mapping[str, float],
    mature_utilisation: float,
) -> np.ndarray:
    """Utilisation (years x plants) with producing plants on the capacity model's path from today's capacity
    (:func:`rare_earth_lib.models.capacity.path_from_today`) from the year of the as-of date on, so the
    as-announced line starts where the briefings' "today" does; earlier years keep the ramp-up curve."""
    from rare_earth_lib.models import capacity

    producing = pipeline["status"].isin(list(capacity.PRODUCING_STATUSES)).to_numpy()
    if not producing.any():
        return util
    rates = capacity.observed_rates(projects, attribution)
    rates = rates[rates["product"] == product].groupby("project_id")["observed_tpa"].sum()
    nameplate = pipeline[PRODUCT_COLUMNS[product]].to_numpy(dtype="float64")
    observed = pipeline["project_id"].astype(str).map(rates).to_numpy(dtype="float64")
    first = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    _, today = capacity.today_rate(nameplate, observed, first, as_of_year=as_of_year, mature_utilisation=mature_utilisation, **ramp)
    slope = (mature_utilisation - ramp["first_year_utilisation"]) / max(ramp["years_to_nameplate"] - 1.0, 1e-9)
    elapsed = np.maximum(years - np.floor(as_of_year), 0.0)[:, None]
    path = capacity.path_from_today(today[None, :], nameplate[None, :], nameplate[None, :] * slope, elapsed, mature_utilisation)
    use = producing[None, :] & (years[:, None] >= np.floor(as_of_year)) & ~np.isnan(today)[None, :]
    return np.where(use, path / nameplate[None, :], util)


def total_capacity_by_year(capacity: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Sum :func:`capacity_by_year` output per year (and optionally per ``alliance_country`` or ``status``).

    Args:
        capacity: output of :func:`capacity_by_year`.
        by: optional extra grouping column.

    Returns:
        DataFrame with ``year`` (and ``by``), ``capacity_tpa`` and ``expected_capacity_tpa``.

    Raises:
        ValueError: ``by`` is not a column of ``capacity``.
    """
    keys = ["year"]
    if by is not None:
        if by not in capacity.columns:
            raise ValueError(f"by must be a column of capacity; got {by!r}")
        keys.append(by)
    return capacity.groupby(keys, as_index=False, observed=True)[["capacity_tpa", "expected_capacity_tpa"]].sum()
