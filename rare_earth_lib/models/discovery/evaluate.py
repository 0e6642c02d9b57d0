"""Evaluation of a chunk of sampled futures with the timeline Monte Carlo (runs on a Dask worker)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models import demand as demand_mod
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.parameters import refining_timeline

TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand")
"""Data tables the evaluation reads."""


OUTCOME_COLUMNS: tuple[str, ...] = tuple(
    f"{key}_{name}"
    for key in ("ndpr", "dytb")
    for name in ("coverage_year_p10", "coverage_year_p50", "coverage_year_p90", "prob_by_year", "share_never")
)
"""Outcome columns of an evaluation, besides ``scenario_id`` and the inputs."""


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash of a table (values, index and column names)."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.astype("string"), index=True).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Tables:
    """The data package tables the evaluation reads, and the data's as-of date."""

    projects: pd.DataFrame
    build_analogs: pd.DataFrame
    demand: pd.DataFrame
    as_of: Any

    @classmethod
    def load(cls) -> Tables:
        from rare_earth_lib.data import package as data_package

        return cls(*(data_package.load(name) for name in TABLES), data_package.as_of())

    def content_hash(self) -> str:
        digest = hashlib.sha256(str(self.as_of).encode())
        for frame in (self.projects, self.build_analogs, self.demand):
            digest.update(frame_hash(frame).encode())
        return digest.hexdigest()


class _DemandEstimate:
    """The alliance demand model's estimate, with its anchors read once (they depend only on the anchor rule).

    :func:`rare_earth_lib.models.demand.alliance_demand` grows each region's anchor with
    :func:`~rare_earth_lib.models.demand.growth_index` and multiplies it by the scale; this applies the same
    formula to anchors found once, instead of re-reading the demand table for every sampled scenario
    (a test checks that the two agree).
    """

    def __init__(self, demand: pd.DataFrame):
        self.demand = demand
        self._anchors: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def totals(self, params: Any, years: np.ndarray) -> pd.DataFrame:
        frames = []
        for product in demand_mod.DEMAND_PRODUCTS:
            key = (product, params.demand_anchor_rule)
            if key not in self._anchors:
                anchors = demand_mod.demand_anchors(self.demand, product, anchor_rule=params.demand_anchor_rule)
                self._anchors[key] = [
                    (float(years[0]) if pd.isna(year) else float(int(year)), float(tonnes))
                    for year, tonnes in zip(anchors["anchor_year"], anchors["anchor_tonnes"], strict=True)
                ]
            rate = params.ndpr_demand_growth_rate if product == "ndpr_oxide" else params.dytb_demand_growth_rate
            tonnes = np.zeros(years.size)
            for base_year, anchor_tonnes in self._anchors[key]:
                index = demand_mod.growth_index(
                    np.append(years, base_year), rate, params.long_run_demand_growth_rate, params.demand_growth_break_year
                )
                tonnes = tonnes + anchor_tonnes * index[:-1] / index[-1] * params.demand_scale
            frames.append(pd.DataFrame({"year": years, "product": product, "tonnes": tonnes}))
        return pd.concat(frames, ignore_index=True)


def evaluate_chunk(
    rows: pd.DataFrame,
    fixed: Mapping[str, Any],
    tables: Tables,
    n_trials: int,
    probability_by_year: int,
    reuse: MutableMapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run the timeline Monte Carlo for each sampled scenario in ``rows`` (a pure function: same rows, same result).

    Args:
        rows: ``scenario_id`` and one column per explored input (a slice of :func:`sample_space`).
        fixed: the inputs all scenarios share (:func:`fixed_inputs`), including ``seed``.
        tables: the data tables and as-of date.
        n_trials: Monte Carlo trials per scenario.
        probability_by_year: year of the "covered by" probability.
        reuse: the timeline runs' reuse cache, shared by the chunks evaluated in one process (by default, one per chunk).

    Returns:
        ``rows`` with the columns of :data:`OUTCOME_COLUMNS` added (coverage years as floats, NaN = not by the
        horizon).
    """
    inputs = [c for c in rows.columns if c != "scenario_id"]
    reuse = {} if reuse is None else reuse
    demand = _DemandEstimate(tables.demand)
    as_of_year = tl.decimal_as_of(tables.as_of)
    out = {c: np.full(len(rows), np.nan) for c in OUTCOME_COLUMNS}
    for i, values in enumerate(rows[inputs].itertuples(index=False, name=None)):
        params = refining_timeline.Params.model_validate(
            {**fixed, **{k: float(v) for k, v in zip(inputs, values, strict=True)}, "n_trials": int(n_trials)}
        )
        # As a timeline run prepares them (control channels included); the pipeline and slip fit are built once for
        # all scenarios whose declared fields agree (every explored input leaves them alone).
        pipeline, (_, fit, _, _), sim_params = tl.prepared(params, tables.projects, tables.build_analogs, tables.as_of, reuse)
        result = tl.simulate_trials(pipeline, fit, demand.totals(params, tl.simulated_years(params)), sim_params, as_of_year)
        for product, key in tl.PRODUCT_KEYS.items():
            summary = tl.coverage_summary(result, product, probability_by_year)
            for q in (10, 50, 90):
                value = summary[f"p{q}"]
                out[f"{key}_coverage_year_p{q}"][i] = np.nan if value is None else float(value)
            out[f"{key}_prob_by_year"][i] = summary["prob_by_year"]
            out[f"{key}_share_never"][i] = summary["share_never"]
    result_frame = rows.reset_index(drop=True).copy()
    for column in OUTCOME_COLUMNS:
        result_frame[column] = out[column]
    return result_frame


def chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """Split ``frame`` into consecutive slices of at most ``size`` rows."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1; got {size!r}")
    return [frame.iloc[start : start + size] for start in range(0, len(frame), size)]


def scenario_run_outcomes(params: Any, tables: Tables) -> pd.DataFrame:
    """The scenario's own outcomes from its full timeline run (``n_trials`` trials, the scenario's seed).

    The same run as the refining-timeline briefing's (:func:`rare_earth_lib.models.timeline.run_timeline` with
    ``shared=True``: in a build it is computed once for both), so the two briefings report one figure for the
    scenario. One row with the outcome columns of :func:`evaluate_chunk` (coverage year P10/P50/P90,
    ``prob_by_year``, ``share_never`` per product) and ``n_trials``.
    """
    run = tl.run_timeline(
        params, projects=tables.projects, analogs=tables.build_analogs, demand=tables.demand, as_of=tables.as_of, shared=True
    )
    row: dict[str, Any] = {"n_trials": int(params.n_trials)}
    for product in tl.PRODUCTS:
        summary = tl.coverage_summary(run.result, product, params.probability_by_year)
        key = tl.PRODUCT_KEYS[product]
        for name in ("p10", "p50", "p90"):
            row[f"{key}_coverage_year_{name}"] = float("nan") if summary[name] is None else float(summary[name])
        row[f"{key}_prob_by_year"] = summary["prob_by_year"]
        row[f"{key}_share_never"] = summary["share_never"]
    return pd.DataFrame([row])
