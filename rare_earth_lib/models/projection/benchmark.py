"""The projection beside published projections: the benchmark table, the manifest metrics and the sources."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rare_earth_lib.domain import CHINA
from rare_earth_lib.models.capacity import PRODUCT_STAGE  # the stage of the projections table each product is compared with
from rare_earth_lib.models.projection.china import _text
from rare_earth_lib.models.projection.model import BENCHMARK_YEARS, QUANTILES, WorldProjection

IEA_CHINA_2030 = "iea_gcmo2024_sep_china_2030"
IEA_CHINA_2035 = "iea_gcmo2025_sep_china_2035"
"""``projections`` rows of IEA's China share of separation (looked up by id, shown by forecaster and edition)."""

WITHIN_POINTS = 0.05
"""The key judgment's tolerance: the model "agrees" with IEA when its P50 lies within 5 points."""


_METRIC_TEXT = {
    "share_of_output": "share of refined output",
    "share_of_capacity": "share of refining capacity",
    "reliance": "the West's reliance on China (not a world share)",
    "supply_outside_top_share": "supply outside the largest supplier, share of demand",
    "unmet_demand_share": "share of NdPr demand unmet",
}


def _model_share(proj: WorldProjection, product: str, region: str, year: int) -> np.ndarray | None:
    """Per-trial model share of ``region`` (a country, "A+B+C", "Others" = all but the named top three)."""
    if year not in set(proj.years.tolist()):
        return None
    names, share = proj.shares("country", product)
    k = list(proj.years).index(year)
    if region in names:
        return share[:, names.index(region), k]
    parts = region.split("+")
    if len(parts) > 1:
        return sum((share[:, names.index(p), k] for p in parts if p in names), np.zeros(share.shape[0]))
    return None


def benchmark_table(proj: WorldProjection, projections: pd.DataFrame) -> pd.DataFrame:
    """The model's P10/P50/P90 beside every published separation projection in ``projections``.

    One row per published figure on separation (light or heavy) by China, Malaysia, Australia, their sum or
    "Others" (= everyone but those three). The model column is empty where the model has no comparable
    figure (a year beyond :data:`END_YEAR`, or a metric that is not a share of world output).

    Returns:
        ``forecaster``, ``edition``, ``metric``, ``stage``, ``region``, ``year``, ``published`` (share),
        ``published_text`` (with qualifier), ``comparable``, ``model_p10``, ``model_p50``, ``model_p90``,
        ``basis_note`` (secondary outlet / derived), ``source_ids``. No internal row ids.
    """
    stage_product = {v: k for k, v in PRODUCT_STAGE.items()}
    rows = []
    for r in projections[projections["stage"].isin(list(stage_product))].itertuples(index=False):
        product = stage_product[r.stage]
        region = str(r.region)
        comparable = r.metric in ("share_of_output", "share_of_capacity")
        if region == "Others":
            names, share = proj.shares("country", product)
            vals = None
            if int(r.year) in set(proj.years.tolist()):
                k = list(proj.years).index(int(r.year))
                top = [names.index(c) for c in (CHINA, "Malaysia", "Australia") if c in names]
                vals = 1.0 - share[:, top, k].sum(axis=1)
        else:
            vals = _model_share(proj, product, region, int(r.year))
        q = np.quantile(vals, QUANTILES) if (vals is not None and comparable) else (np.nan,) * 3
        notes = []
        if bool(r.via_secondary):
            notes.append("reported through a secondary outlet; primary text not available")
        if bool(r.is_estimate):
            how = _text(r.method).removeprefix("Derived:").strip()
            notes.append(f"derived ({how})" if how else "derived")
        if not comparable:
            notes.append(f"not comparable: {_METRIC_TEXT.get(r.metric, r.metric)}")
        qual = {"approx": "about ", "gt": "over ", "lt": "under "}.get(str(r.share_qualifier), "")
        rows.append(
            {
                "forecaster": r.forecaster,
                "edition": r.edition,
                "metric": _METRIC_TEXT.get(r.metric, r.metric),
                "stage": r.stage,
                "region": region,
                "year": int(r.year),
                "published": float(r.share),
                "published_text": f"{qual}{float(r.share):.0%}",
                "comparable": bool(comparable and vals is not None),
                "model_p10": float(q[0]),
                "model_p50": float(q[1]),
                "model_p90": float(q[2]),
                "basis_note": "; ".join(notes),
                "source_ids": str(r.source_ids),
            }
        )
    return pd.DataFrame(rows)


def _iea_row(projections: pd.DataFrame, projection_id: str) -> pd.Series:
    rows = projections[projections["projection_id"] == projection_id]
    if rows.empty:
        raise ValueError(f"projections: row {projection_id} (IEA China share) is missing")
    return rows.iloc[0]


def projection_metrics(proj: WorldProjection, projections: pd.DataFrame) -> dict[str, float]:
    """Manifest metrics: the model's China share of NdPr separation in 2030/2035 (P10/P50/P90) and IEA's.

    Keys: ``china_refining_share_{2030,2035}_{p10,p50,p90}``, ``iea_china_refining_share_{2030,2035}``, and for
    2030 ``{malaysia,australia}_refining_share_2030_p50`` with ``iea_{malaysia,australia}_refining_share_2030``.
    Shares are fractions (0-1).
    """
    names, share = proj.shares("country", "ndpr_oxide")
    j = names.index(CHINA)
    out: dict[str, float] = {}
    for year in BENCHMARK_YEARS:
        k = list(proj.years).index(year)
        q = np.quantile(share[:, j, k], QUANTILES)
        for lbl, v in zip(("p10", "p50", "p90"), q, strict=True):
            out[f"china_refining_share_{year}_{lbl}"] = round(float(v), 4)
    out["iea_china_refining_share_2030"] = float(_iea_row(projections, IEA_CHINA_2030)["share"])
    out["iea_china_refining_share_2035"] = float(_iea_row(projections, IEA_CHINA_2035)["share"])
    k = list(proj.years).index(2030)
    for country, projection_id in (("Malaysia", "iea_gcmo2024_sep_malaysia_2030"), ("Australia", "iea_gcmo2024_sep_australia_2030")):
        key = country.lower()
        if country in names:
            out[f"{key}_refining_share_2030_p50"] = round(float(np.quantile(share[:, names.index(country), k], 0.5)), 4)
        if (projections["projection_id"] == projection_id).any():
            out[f"iea_{key}_refining_share_2030"] = float(_iea_row(projections, projection_id)["share"])
    return out


def source_ids(proj: WorldProjection, bench: pd.DataFrame | None = None) -> list[str]:
    """Every source behind the projection (base year, China's growth row) and, if given, the benchmark's rows."""
    texts = [*proj.base.get("source_ids", pd.Series(dtype=str)).astype(str), proj.china.rate_source_ids]
    if bench is not None:
        texts += list(bench["source_ids"].astype(str))
    return list(dict.fromkeys(i.strip() for t in texts for i in t.split(";") if i.strip()))
