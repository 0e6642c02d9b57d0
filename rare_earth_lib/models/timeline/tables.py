"""Tidy frames for the briefing's tables and charts: the pipeline, the analogs, formatted years."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models.timeline.run import TimelineRun, prepare_pipeline
from rare_earth_lib.models.timeline.stats import decimal_as_of
from rare_earth_lib.models.timeline.summaries import project_windows


def year_text(value: int | None, horizon: int) -> str:
    """A coverage year as text: the year, or "not by <horizon>" when not reached (``None``)."""
    return f"not by {horizon}" if value is None else str(value)


def format_decimal_year(values: pd.Series | np.ndarray | Sequence[float]) -> pd.Series:
    """Decimal years as ``"YYYY-MM"`` text (``2027.5`` -> ``"2027-07"``); missing values stay missing.

    Args:
        values: decimal years.

    Returns:
        String Series (``<NA>`` where the input is NaN).
    """
    arr = np.asarray(values, dtype="float64")
    out = []
    for v in arr:
        if np.isnan(v):
            out.append(pd.NA)
            continue
        year = int(np.floor(v))
        month = min(int((v - year) * 12) + 1, 12)
        out.append(f"{year}-{month:02d}")
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(out, index=index, dtype="string")


_COMPANY_SUFFIXES = (" Rare Earths", " Resources", " Materials", " Performance", " Limited", " Ltd", " Inc.")


def short_project_label(company: str, site: str) -> str:
    """A short label for charts: company without its legal/sector suffix, site before its first comma plus
    any parenthesised qualifier (``"Energy Fuels", "White Mesa Mill, UT (Phase 2)"`` ->
    ``"Energy Fuels - White Mesa Mill (Phase 2)"``)."""
    name = str(company or "").strip()
    for suffix in _COMPANY_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    text = str(site or "").strip()
    head = text.split(",")[0].strip()
    extras = [m for m in re.findall(r"\([^)]*\)", text[len(head) :])]
    place = " ".join([head, *extras]).strip()
    return f"{name} - {place}" if name and place else name or place


RECORD_COLUMNS = ("planned_first_output_year", "target_first_output_year", "target_period_end_year", "actual_first_output_year")
"""The pipeline's public-record dates: what the sources say, the same in every scenario."""


def _record_dates(w: pd.DataFrame, run: TimelineRun, projects: pd.DataFrame | None) -> pd.DataFrame:
    """``w`` with its public-record dates read from the data's own projects table, not from the scenario's pipeline
    (a scenario's licence delay shifts the plan and target dates the simulation starts from; the record does not move)."""
    if projects is None or not getattr(run.params, "control_channels_active", False):
        return w
    record = prepare_pipeline(projects, run.params).drop_duplicates("project_id").set_index("project_id")
    out = w.copy()
    for column in RECORD_COLUMNS:
        if column in out.columns and column in record.columns:
            out[column] = out["project_id"].map(record[column]).astype("float64").to_numpy()
    return out


def pipeline_table(
    run: TimelineRun, today: dt.date | None = None, *, as_of: Any = None, projects: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per simulated project, for the briefing's pipeline table and Gantt chart.

    Returns:
        DataFrame with ``project`` (company - site), ``label`` (short, for charts), ``project_id``, ``counts_for`` (alliance country under the
        run's attribution), ``located_in``, ``status``, ``ndpr_oxide_tpa``, ``dytb_oxide_tpa``,
        ``capacity_basis_note`` ("stated", the data's "estimate: ..." label or the model's "model estimate: ..." rule), ``planned_first_output_year`` (earliest
        public plan), ``target_first_output_year`` (latest public target), ``actual_first_output_year``,
        ``sim_first_output_p10_year`` / ``p50`` / ``p90`` (decimal years over all trials; NaN = not built at that
        percentile), ``share_built`` (trials built by the horizon), ``completion_probability``, ``target_passed``
        (the latest public target's period ended before the data's ``as_of`` date without first output: a missed
        target), ``target_after_data`` (the target has come by ``today`` but its period ran past ``as_of``: outcome
        unknown), ``capex`` (text with currency), ``public_funding_musd`` (US + Japan +
        Australia + other, US$ million), ``funding_us_musd``, ``source_ids``. With ``projects`` (the data's projects
        table), the plan, target and actual dates and the two target flags are the public record's, equal in every
        scenario; only the simulated columns move with the scenario.
    """
    w = _record_dates(project_windows(run.result), run, projects)
    if "observed_only" in w:  # pilot lines with an observed rate but no nameplate: in the capacity, not in the table
        w = w[~w["observed_only"].astype(bool)]
    funding_cols = ["funding_us_musd", "funding_japan_musd", "funding_australia_musd", "funding_other_musd"]
    capex = [capex_text(v, c) for v, c in zip(w["capex_value"], w["capex_currency"], strict=False)]
    out = pd.DataFrame(
        {
            "project": (w["company"].fillna("") + " - " + w["site"].fillna("")).astype("string"),
            "label": pd.array([short_project_label(c, s) for c, s in zip(w["company"], w["site"], strict=False)], dtype="string"),
            "project_id": w["project_id"],
            "counts_for": w["alliance_country"],
            "located_in": w["country"],
            "status": w["status"],
            "ndpr_oxide_tpa": w["ndpr_oxide_tpa"],
            "dytb_oxide_tpa": w["dytb_oxide_tpa"],
            "capacity_basis_note": w["capacity_basis_label"].astype("string"),
            "planned_first_output_year": w["planned_first_output_year"],
            "target_first_output_year": w["target_first_output_year"],
            "actual_first_output_year": w["actual_first_output_year"],
            "sim_first_output_p10_year": w["first_output_p10_year"],
            "sim_first_output_p50_year": w["first_output_p50_year"],
            "sim_first_output_p90_year": w["first_output_p90_year"],
            "share_built": w["share_built"],
            "completion_probability": w["completion_probability"],
            "target_passed": pd.array(target_passed(w, as_of), dtype="boolean"),
            "target_after_data": pd.array(target_after_data(w, as_of, today), dtype="boolean"),
            "capex": pd.array(capex, dtype="string"),
            "public_funding_musd": w[funding_cols].sum(axis=1, min_count=1),
            "funding_us_musd": w["funding_us_musd"],
            "source_ids": w["source_ids"],
        }
    )
    return out.reset_index(drop=True)


_CURRENCY_PREFIX = {"USD": "US$", "AUD": "A$", "JPY": "¥", "EUR": "€", "CAD": "C$", "GBP": "£"}


def capex_text(value: float, currency: Any) -> str:
    """Capex in millions with its own currency in front (``1600, "AUD"`` -> ``"A$1,600m"``); empty when unknown."""
    if pd.isna(value):
        return ""
    if pd.isna(currency):
        return f"{value:,.0f}m (currency not stated)"
    prefix = _CURRENCY_PREFIX.get(str(currency))
    return f"{prefix}{value:,.0f}m" if prefix else f"{value:,.0f}m {currency}"


def analog_table(slips: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Planned vs actual first output of the analogs, for a dumbbell chart.

    Args:
        slips: output of :func:`analog_slips`.
        as_of: the data's as-of date (where censored builds' bars end).

    Returns:
        DataFrame with ``project``, ``analog_id``, ``planned_year``, ``outcome_year`` (actual first output,
        or the as-of date for builds not yet producing), ``outcome`` ("first output" / "not yet producing"),
        ``slip_years`` (a lower bound when not yet producing), ``censored`` and ``source_ids``.
    """
    as_of_year = decimal_as_of(as_of)
    out = pd.DataFrame(
        {
            "project": slips["project"],
            "analog_id": slips["analog_id"],
            "planned_year": slips["planned_year"],
            "outcome_year": np.where(slips["censored"], as_of_year, slips["actual_year"]),
            "outcome": pd.array(np.where(slips["censored"], "not yet producing (as of data date)", "first output"), dtype="string"),
            "slip_years": slips["slip_years"],
            "censored": slips["censored"],
            "source_ids": slips["source_ids"],
        }
    )
    return out.sort_values("planned_year").reset_index(drop=True)


def target_passed(pipeline: pd.DataFrame, as_of: Any) -> np.ndarray:
    """True where a plant's latest public first-output target was missed by the data's as-of date.

    Missed means the whole period the target was stated as ended before ``as_of`` and the plant had not
    produced ('Q2 2025' is missed by 2026-05-27; 'Q4 2026' is not, it runs to 2026-12-31). What happened after
    the as-of date is outside the data, whatever the build date: see :func:`target_after_data`.
    """
    if as_of is None:
        return np.zeros(len(pipeline), dtype=bool)
    end = _target_end(pipeline)
    actual = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    return (end < decimal_as_of(as_of)) & np.isnan(actual)


def target_after_data(pipeline: pd.DataFrame, as_of: Any, today: dt.date | None) -> np.ndarray:
    """True where a plant without first output in the data has a latest public target that the build date has
    reached (the stated date lies on or before ``today``) but whose period had not ended by the data's as-of
    date: whether it was met is not in the data (outcome unknown)."""
    if as_of is None or today is None:
        return np.zeros(len(pipeline), dtype=bool)
    target = pipeline["target_first_output_year"].to_numpy(dtype="float64")
    end = _target_end(pipeline)
    actual = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    return (end >= decimal_as_of(as_of)) & (target <= decimal_as_of(today)) & np.isnan(actual)


def _target_end(pipeline: pd.DataFrame) -> np.ndarray:
    """End of each target's stated period (decimal years; the target itself where the period is not known)."""
    target = pipeline["target_first_output_year"].to_numpy(dtype="float64")
    if "target_period_end_year" not in pipeline:
        return target
    end = pipeline["target_period_end_year"].to_numpy(dtype="float64")
    return np.where(np.isnan(end), target, end)


def mature_evidence(projects: pd.DataFrame, params: Any, as_of: Any) -> pd.DataFrame:
    """The data's evidence on mature utilisation: plants outside China past their ramp-up (first output at least
    ``years_to_nameplate`` before the data date) with a stated nameplate and a whole year's observed output.

    Returns:
        DataFrame with ``project_id``, ``project`` (company - site), ``observed_tpa``, ``nameplate_tpa``,
        ``utilisation`` (observed / nameplate) and ``source_ids``; one row per plant and refining stage.
    """
    from rare_earth_lib.domain import CHINA
    from rare_earth_lib.models import capacity

    as_of_year = decimal_as_of(as_of)
    kind = projects.set_index("project_id")["observed_output_kind"] if "observed_output_kind" in projects else pd.Series(dtype="string")
    frames = []
    for stage in capacity.PRODUCT_STAGE.values():
        plants = capacity.plant_capacity(
            projects,
            stage,
            as_of_year=as_of_year,
            **capacity.ramp_args(params),
        )
        keep = (
            (plants["nameplate_basis"] == "stated")
            & (plants["nameplate_tpa"] > 0)
            & plants["observed_tpa"].notna()
            & (plants["project_id"].map(kind).astype("string") == "annual_output").fillna(False).astype(bool)
            & (as_of_year - plants["first_output_year"] >= params.years_to_nameplate).fillna(False).astype(bool)
            & (plants["country"] != CHINA)
        )
        frames.append(plants[keep])
    rows = pd.concat(frames, ignore_index=True)
    return pd.DataFrame(
        {
            "project_id": rows["project_id"],
            "project": [short_project_label(c, s) for c, s in zip(rows["company"], rows["site"], strict=True)],
            "observed_tpa": rows["observed_tpa"].astype(float),
            "nameplate_tpa": rows["nameplate_tpa"].astype(float),
            "utilisation": (rows["observed_tpa"] / rows["nameplate_tpa"]).astype(float),
            "source_ids": rows["source_ids"],
        }
    )
