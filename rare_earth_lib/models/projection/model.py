"""The world projection: every country's capacity per trial and year, and its P10/P50/P90 table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import CHINA, PRODUCT_COLUMNS
from rare_earth_lib.models import buildout
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.models.projection.china import ChinaPath, base_year_shares, china_path, observed_outside_china
from rare_earth_lib.models.timeline.run import TimelineRun
from rare_earth_lib.models.timeline.simulate import PLANT_COLUMNS, PRODUCTS, simulate_trials

END_YEAR = 2035
"""Last year projected (the latest year with a published China share of refining, IEA GCMO 2025)."""

BENCHMARK_YEARS: tuple[int, ...] = (2030, 2035)
"""Years the shares are reported with P10/P50/P90."""

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)

GROUP_CHINA, GROUP_ALLIANCE, GROUP_OTHERS = capacity_model.GROUP_CHINA, capacity_model.GROUP_ALLIANCE, capacity_model.GROUP_OTHER
"""For whom a segment counts: the capacity model's groups."""

TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand", "chain_output", "growth_rates", "projections", "stage_shares")
"""Data-package tables the projection and its benchmark read."""


@dataclass(frozen=True)
class WorldProjection:
    """Capacity of every country and trial, 2026 to :data:`END_YEAR`.

    Attributes:
        years: (years,) calendar years projected.
        segments: one row per (country, group) column of ``capacity``: ``country`` (where the plants stand),
            ``group`` (China / Alliance / Others: for whom they count under the scenario's attribution).
        capacity: product -> (trials, segments, years) t oxide/yr; China's column is the same in every trial.
        china: China's path.
        base: :func:`base_year_shares` (observed base year).
        others_pipeline: the non-alliance plants outside China that were simulated.
        attribution: the scenario's attribution.
    """

    years: np.ndarray
    segments: pd.DataFrame
    capacity: dict[str, np.ndarray]
    china: ChinaPath
    base: pd.DataFrame
    others_pipeline: pd.DataFrame
    attribution: str

    def by(self, key: str, product: str) -> tuple[list[str], np.ndarray]:
        """Capacity summed by ``key`` ("country" or "group"): names and (trials, names, years) array."""
        names = list(dict.fromkeys(self.segments[key]))
        idx = self.segments[key].to_numpy()
        cap = self.capacity[product]
        return names, np.stack([cap[:, idx == name, :].sum(axis=1) for name in names], axis=1)

    def shares(self, key: str, product: str) -> tuple[list[str], np.ndarray]:
        """Shares of world capacity by ``key``: names and (trials, names, years); sum to 1 over names."""
        names, cap = self.by(key, product)
        return names, cap / cap.sum(axis=1, keepdims=True)


def _masked_capacity(run: TimelineRun, pipeline: pd.DataFrame, keep: np.ndarray, params: Any) -> dict[str, np.ndarray]:
    """The timeline's Monte Carlo on ``pipeline`` with the nameplates of rows outside ``keep`` set to zero."""
    masked = pipeline.copy()
    for column in (c for c in PLANT_COLUMNS if c in masked):
        masked[column] = np.where(keep, masked[column].to_numpy(dtype="float64"), 0.0)
    return simulate_trials(masked, run.slip_fit, run.demand, params, run.result.as_of_year).capacity_tpa


def others_pipeline(run: TimelineRun, projects: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Refining plants outside China, the part of each that does not count for the alliance (same rules as the run)."""
    params = run.params
    table, sim_params = capacity_model.with_control_channels(projects, params, as_of)
    filled = capacity_model.fill_missing(table, sim_params)
    full = buildout.refining_pipeline(filled, attribution=params.attribution, alliance_only=False)
    share = capacity_model.alliance_share(filled, params.attribution)
    part = 1.0 - full["project_id"].map(dict(zip(filled["project_id"].astype(str), share, strict=True))).fillna(0.0).to_numpy()
    out = full.copy()
    for column in PRODUCT_COLUMNS.values():
        out[column] = out[column].to_numpy(dtype="float64") * part
    located = out["country"].map(lambda c: str(c))
    keep = (located != CHINA) & ((out["ndpr_oxide_tpa"] > 0) | (out["dytb_oxide_tpa"] > 0))
    return out.loc[keep].reset_index(drop=True)


def project(run: TimelineRun, tables: Mapping[str, pd.DataFrame], *, as_of: Any) -> WorldProjection:
    """The world projection of one scenario from its timeline run.

    Args:
        run: the scenario's :class:`~rare_earth_lib.models.timeline.TimelineRun` (the alliance's trials).
        tables: at least ``projects``, ``chain_output`` and ``growth_rates``.
        as_of: the data's as-of date (as given to the run).

    Returns:
        A :class:`WorldProjection` over ``run.params.start_year`` to :data:`END_YEAR`.

    Raises:
        ValueError: the run does not reach :data:`END_YEAR`, a table lacks a needed row, or the alliance's
            split by location does not add up to the run's capacity.
    """
    params = run.params
    sim_params = run.result.params
    years_all = run.result.years
    if years_all[-1] < END_YEAR:
        raise ValueError(f"horizon_year ({years_all[-1]}) must reach {END_YEAR} for the world projection")
    cols = years_all <= END_YEAR
    years = years_all[cols]
    china = china_path(tables["chain_output"], tables["growth_rates"], params.china_refining_growth_rate_id)
    base = base_year_shares(china, observed_outside_china(tables["chain_output"]))
    n = run.result.capacity_tpa[PRODUCTS[0]].shape[0]

    segments: list[dict[str, str]] = [{"country": CHINA, "group": GROUP_CHINA}]
    blocks: dict[str, list[np.ndarray]] = {p: [np.broadcast_to(china.tonnes(years, p), (n, years.size))] for p in PRODUCTS}

    pipe = run.result.pipeline
    located = pipe["country"].astype(str).to_numpy()
    alliance_sum = {p: np.zeros((n, years.size)) for p in PRODUCTS}
    for country in dict.fromkeys(located):
        cap = _masked_capacity(run, pipe, located == country, sim_params)
        segments.append({"country": country, "group": GROUP_ALLIANCE})
        for p in PRODUCTS:
            blocks[p].append(cap[p][:, cols])
            alliance_sum[p] += cap[p][:, cols]
    for p in PRODUCTS:
        if not np.allclose(alliance_sum[p], run.result.capacity_tpa[p][:, cols], rtol=1e-9, atol=1e-6):
            raise ValueError(f"project: the alliance's {p} capacity split by location does not add up to the run's")

    others = others_pipeline(run, tables["projects"], as_of)
    if not others.empty:
        other_params = sim_params.model_copy(update={"seed": int(sim_params.seed) + 1})
        where = others["country"].astype(str).to_numpy()
        for country in dict.fromkeys(where):
            cap = _masked_capacity(run, others, where == country, other_params)
            segments.append({"country": country, "group": GROUP_OTHERS})
            for p in PRODUCTS:
                blocks[p].append(cap[p][:, cols])
    capacity = {p: np.stack(blocks[p], axis=1) for p in PRODUCTS}
    return WorldProjection(
        years=years,
        segments=pd.DataFrame(segments),
        capacity=capacity,
        china=china,
        base=base,
        others_pipeline=others,
        attribution=str(params.attribution),
    )


def _quantiles(values: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.quantile(values, QUANTILES, axis=axis)


def projection_table(proj: WorldProjection, key: str = "country") -> pd.DataFrame:
    """Per product, year and country (or group): P10/P50/P90 over trials of capacity and share.

    Returns:
        Long DataFrame: ``product``, ``year``, ``<key>``, ``capacity_p10_tpa``..``capacity_p90_tpa``,
        ``share_p10``..``share_p90``. The base year (observed) is included with equal quantiles.
    """
    rows = []
    for product in PRODUCTS:
        names, cap = proj.by(key, product)
        share = cap / cap.sum(axis=1, keepdims=True)
        qc, qs = _quantiles(cap), _quantiles(share)  # (3, names, years)
        for j, name in enumerate(names):
            for k, year in enumerate(proj.years):
                rows.append(
                    {
                        "product": product,
                        "year": int(year),
                        key: name,
                        "observed": False,
                        **{f"capacity_{lbl}_tpa": float(qc[i, j, k]) for i, lbl in enumerate(("p10", "p50", "p90"))},
                        **{f"share_{lbl}": float(qs[i, j, k]) for i, lbl in enumerate(("p10", "p50", "p90"))},
                    }
                )
    base = proj.base.copy()
    if key == "group" and not base.empty:
        base[key] = np.where(base["country"] == CHINA, GROUP_CHINA, "Outside China (observed)")
    for r in base.itertuples(index=False):
        rows.append(
            {
                "product": r.product,
                "year": int(r.year),
                key: getattr(r, key),
                "observed": True,
                **{f"capacity_{lbl}_tpa": float(r.tonnes) for lbl in ("p10", "p50", "p90")},
                **{f"share_{lbl}": float(r.share) for lbl in ("p10", "p50", "p90")},
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(["product", "year", key], kind="stable").reset_index(drop=True)
