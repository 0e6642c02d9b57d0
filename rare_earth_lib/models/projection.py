"""World separation/refining projection by country to 2035, and its benchmark against published projections.

Where the numbers come from (each a data-package row with its sources, or a parameter):

* **China.** Its output in the observation year is the latest monthly run-rate in ``chain_output`` (China, all
  producers: PrNd oxide, Dy oxide and Tb oxide, t in the month, SMM via low-grade copies [D64a-c]) times 12
  (derived: a monthly rate annualised). It then grows at the annual rate of the ``growth_rates`` row named by
  the parameter ``china_refining_growth_rate_id`` (default ``china_separation_quota_2024``: the 2024
  separation quota taken to grow with the 2023-25 mining-quota trend, 2.9%/yr, itself derived [D91, S1, S4]).
  The quota covers all rare earths; the projection assumes NdPr and Dy+Tb keep their share of it. China's
  path is the same in every trial (the data give one trend, not a distribution); the alternatives in
  ``growth_rates`` are shown beside it by :func:`china_growth_alternatives`.
* **The alliance** (the timeline's definition and attribution): the timeline Monte Carlo's own per-trial
  capacity, ``run.result.capacity_tpa``. It is split by the country where each plant stands by re-running the
  timeline's :func:`~rare_earth_lib.models.timeline.simulate_trials` on the *same* pipeline, slip fit, parameters
  and seed with the nameplates of plants elsewhere set to zero: the random draws depend only on the seed and the
  pipeline's size, so every trial is the same trial and the parts add up to the run's capacity exactly
  (:func:`project` checks this).
* **Others** (every refining plant outside China whose capacity does not count for the alliance under the
  scenario's attribution: Estonia, France, a Canadian-owned plant in the US, ...): the projects table, capacities
  filled by the capacity model's one rule, simulated by the same :func:`simulate_trials` (same slip distribution,
  completion probabilities, ramp-up, control channels), on an independent random stream (seed + 1).
* **Base year** (the latest year with whole-year or annualised separated-oxide output outside China in
  ``chain_output``: 2025): China's run-rate grown one year against Lynas's and MP's observed output; producers
  without a published output (Energy Fuels, Neo, Solvay, Shin-Etsu Vietnam) are not counted, as in the fact
  base's own cross-check (China about 90% of NdPr and about 98% of Dy+Tb separation).

Shares are each country's capacity over the world's in the same trial and year, so they sum to 1 in every
trial and year. Capacity outside China is nameplate x ramp-up utilisation (the timeline's capacity), China's is
output; the published projections are shares of output.

:func:`benchmark_table` sets the model's P10/P50/P90 beside each published share in the ``projections`` table;
:func:`decompose_gap` splits the gap to IEA's 2030 China share into its causes (Shapley values over swapping
each assumption to the IEA-implied one, so the parts add up to the gap); :func:`projection_metrics` gives the
manifest metrics.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import CHINA
from rare_earth_lib.models import buildout
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.models.timeline.run import TimelineRun
from rare_earth_lib.models.timeline.simulate import PRODUCTS, simulate_trials

END_YEAR = 2035
"""Last year projected (the latest year with a published China share of refining, IEA GCMO 2025)."""

BENCHMARK_YEARS: tuple[int, ...] = (2030, 2035)
"""Years the shares are reported with P10/P50/P90."""

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)

GROUP_CHINA = "China"
GROUP_ALLIANCE = "Alliance"
GROUP_OTHERS = "Others"

#: The China rows of chain_output that give China's separated output per product (product -> chain_output products).
CHINA_PRODUCTS: dict[str, tuple[str, ...]] = {"ndpr_oxide": ("ndpr_oxide",), "dytb_oxide": ("dy_oxide", "tb_oxide")}

#: Stage of the projections/stage_shares tables each product is compared with.
PRODUCT_STAGE: dict[str, str] = {"ndpr_oxide": "separation", "dytb_oxide": "heavy_separation"}

TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand", "chain_output", "growth_rates", "projections", "stage_shares")
"""Data-package tables the projection and its benchmark read."""

IEA_CHINA_2030 = "iea_gcmo2024_sep_china_2030"
IEA_CHINA_2035 = "iea_gcmo2025_sep_china_2035"
"""``projections`` rows of IEA's China share of separation (looked up by id, shown by forecaster and edition)."""

WITHIN_POINTS = 0.05
"""The key judgment's tolerance: the model "agrees" with IEA when its P50 lies within 5 points."""


# --------------------------------------------------------------------------------------------------
# China
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChinaPath:
    """China's separated output path: base-year run-rate per product grown at one annual rate.

    Attributes:
        rate_id, growth: the ``growth_rates`` row and its ``annual_growth``.
        rate_method, rate_note, rate_source_ids, rate_is_estimate: that row's method, note, sources, estimate flag.
        base_year: the year of China's observed run-rate.
        base_tpa: product -> t oxide/yr in ``base_year``.
        base_method: product -> how the base was derived (text); base_source_ids: product -> source ids.
    """

    rate_id: str
    growth: float
    rate_method: str
    rate_note: str
    rate_source_ids: str
    rate_is_estimate: bool
    base_year: int
    base_tpa: dict[str, float]
    base_method: dict[str, str]
    base_source_ids: dict[str, str]

    def tonnes(self, years: Sequence[int] | np.ndarray, product: str, growth: float | None = None) -> np.ndarray:
        """China's output (t/yr) in ``years`` at ``growth`` (default: the path's own rate)."""
        g = self.growth if growth is None else growth
        return self.base_tpa[product] * (1.0 + g) ** (np.asarray(years, dtype="float64") - self.base_year)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value) else str(value)


def china_growth(growth_rates: pd.DataFrame, rate_id: str) -> pd.Series:
    """The ``growth_rates`` row ``rate_id`` (China's growth), or a ValueError naming the parameter."""
    rows = growth_rates[(growth_rates["rate_id"] == rate_id) & (growth_rates["region"] == CHINA)]
    if rows.empty:
        known = ", ".join(growth_rates.loc[growth_rates["region"] == CHINA, "rate_id"].astype(str))
        raise ValueError(f"china_refining_growth_rate_id: {rate_id!r} is not a China row of growth_rates (known: {known})")
    row = rows.iloc[0]
    if pd.isna(row["annual_growth"]):
        raise ValueError(f"growth_rates row {rate_id}: annual_growth is empty")
    return row


def _annual_tonnes(rows: pd.DataFrame, label: str) -> tuple[float, str]:
    """Mean annualised tonnes of ``rows`` (monthly rows x 12, quarterly x 4, yearly as stated) and the method."""
    basis = rows["basis"].astype(str).str.lower()
    factor = np.where(basis.str.contains("in the month"), 12.0, np.where(basis.str.contains("in the quarter"), 4.0, 1.0))
    if (factor == 1.0).all() and not basis.str.contains("per year|per calendar year").all():
        raise ValueError(f"chain_output: cannot annualise {label} (basis {sorted(set(basis))})")
    values = rows["tonnes"].astype(float).to_numpy() * factor
    periods = ", ".join(f"{p} {t:,.1f} t" for p, t in zip(rows["period"].astype(str), rows["tonnes"].astype(float), strict=True))
    how = "x 12 (monthly)" if (factor == 12.0).all() else "annualised"
    return float(values.mean()), f"{label}: mean of {periods} {how} = {values.mean():,.0f} t/yr"


def china_path(chain_output: pd.DataFrame, growth_rates: pd.DataFrame, rate_id: str) -> ChinaPath:
    """China's path from its latest observed run-rates (``chain_output``) and the growth row ``rate_id``.

    Raises:
        ValueError: the rate is unknown, or China's output of a product is missing.
    """
    row = china_growth(growth_rates, rate_id)
    china = chain_output[(chain_output["region"] == CHINA) & (chain_output["entity"] == "all")]
    china = china[china["is_default"].astype("boolean").fillna(False).astype(bool)]
    base_tpa, methods, sources, years = {}, {}, {}, []
    for product, parts in CHINA_PRODUCTS.items():
        total, texts, ids = 0.0, [], []
        for part in parts:
            rows = china[china["product"] == part]
            if rows.empty:
                raise ValueError(f"chain_output: no China ({part}) output row; the projection needs one")
            latest = rows[rows["year"] == rows["year"].max()]
            tonnes, text = _annual_tonnes(latest, part)
            total += tonnes
            texts.append(text)
            ids += [i for s in latest["source_ids"].astype(str) for i in s.split(";")]
            years.append(int(latest["year"].iloc[0]))
        base_tpa[product] = total
        methods[product] = "Derived: " + "; ".join(texts)
        sources[product] = ";".join(dict.fromkeys(ids))
    if len(set(years)) != 1:
        raise ValueError(f"chain_output: China's run-rates come from different years {sorted(set(years))}")
    return ChinaPath(
        rate_id=str(rate_id),
        growth=float(row["annual_growth"]),
        rate_method=_text(row.get("method")),
        rate_note=_text(row.get("note")),
        rate_source_ids=_text(row.get("source_ids")),
        rate_is_estimate=bool(row.get("is_estimate", False)),
        base_year=years[0],
        base_tpa=base_tpa,
        base_method=methods,
        base_source_ids=sources,
    )


# --------------------------------------------------------------------------------------------------
# Base year: observed output outside China
# --------------------------------------------------------------------------------------------------
def observed_outside_china(chain_output: pd.DataFrame) -> pd.DataFrame:
    """Separated-oxide output outside China in the base year: one row per producer and product.

    The base year is the latest year with a whole-calendar-year NdPr figure outside China. Per producer and
    product the calendar-year row is taken, else an annualised one of that year (Lynas Dy+Tb: H2 2025 x 2).

    Returns:
        ``year``, ``country``, ``entity``, ``product``, ``tonnes``, ``period``, ``method``, ``is_estimate``, ``source_ids``.
    """
    rows = chain_output[(chain_output["region"] != CHINA) & chain_output["product"].isin(PRODUCTS)]
    rows = rows[rows["is_default"].astype("boolean").fillna(False).astype(bool)]
    basis = rows["basis"].astype(str).str.lower()
    yearly = rows[basis.str.contains("per year|per calendar year") & ~basis.str.contains("fiscal")]
    whole = yearly[yearly["period"].astype(str) == yearly["year"].astype(str)]
    if whole[whole["product"] == "ndpr_oxide"].empty:
        raise ValueError("chain_output: no whole-year NdPr output outside China; the projection's base year needs one")
    base_year = int(whole.loc[whole["product"] == "ndpr_oxide", "year"].max())
    out = []
    for (entity, product), group in yearly[yearly["year"] == base_year].groupby(["entity", "product"], sort=True):
        calendar = group[group["period"].astype(str) == str(base_year)]
        pick = calendar if not calendar.empty else group[group["period"].astype(str).str.contains("annualised")]
        if pick.empty:
            continue
        r = pick.iloc[0]
        out.append(
            {
                "year": base_year,
                "country": str(r["region"]),
                "entity": str(entity),
                "product": str(product),
                "tonnes": float(r["tonnes"]),
                "period": str(r["period"]),
                "method": _text(r.get("method")),
                "is_estimate": bool(r.get("is_estimate", False)),
                "source_ids": str(r["source_ids"]),
            }
        )
    return pd.DataFrame(out, columns=["year", "country", "entity", "product", "tonnes", "period", "method", "is_estimate", "source_ids"])


def base_year_shares(china: ChinaPath, observed: pd.DataFrame) -> pd.DataFrame:
    """Each country's share of separated output in the base year (China's run-rate grown to that year).

    Returns:
        ``year``, ``product``, ``country``, ``tonnes``, ``share``, ``method``, ``source_ids``.
    """
    rows = []
    for product in PRODUCTS:
        obs = observed[observed["product"] == product]
        year = int(observed["year"].iloc[0])
        c = float(china.tonnes([year], product)[0])
        by_country = obs.groupby("country")["tonnes"].sum()
        total = c + float(by_country.sum())
        growth = f"{china.growth:.1%}/yr ({china.rate_id})"
        rows.append(
            {
                "year": year,
                "product": product,
                "country": CHINA,
                "tonnes": c,
                "share": c / total,
                "method": f"{china.base_method[product]}; grown {year - china.base_year} yr at {growth}",
                "source_ids": ";".join(dict.fromkeys((china.base_source_ids[product] + ";" + china.rate_source_ids).split(";"))),
            }
        )
        for country, tonnes in by_country.items():
            sub = obs[obs["country"] == country]
            rows.append(
                {
                    "year": year,
                    "product": product,
                    "country": str(country),
                    "tonnes": float(tonnes),
                    "share": float(tonnes) / total,
                    "method": "; ".join(
                        f"{e} {p}: {t:,.0f} t" + (f" ({m})" if m else "")
                        for e, p, t, m in zip(sub["entity"], sub["period"], sub["tonnes"], sub["method"], strict=True)
                    ),
                    "source_ids": ";".join(dict.fromkeys(i for s in sub["source_ids"] for i in s.split(";"))),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# The projection
# --------------------------------------------------------------------------------------------------
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
    for column in buildout.PRODUCT_COLUMNS.values():
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
    for column in buildout.PRODUCT_COLUMNS.values():
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


def share_summary(proj: WorldProjection, years: Sequence[int] = BENCHMARK_YEARS, key: str = "country") -> pd.DataFrame:
    """Each country's (or group's) share in ``years`` with P10/P50/P90: rows of :func:`projection_table`."""
    table = projection_table(proj, key)
    return table[table["year"].isin(list(years)) & ~table["observed"]].reset_index(drop=True)


def china_growth_alternatives(proj: WorldProjection, growth_rates: pd.DataFrame, product: str = "ndpr_oxide") -> pd.DataFrame:
    """China's P50 share in the benchmark years under each China row of ``growth_rates`` (same trials otherwise)."""
    names, cap = proj.by("country", product)
    j = names.index(CHINA)
    outside = cap.sum(axis=1) - cap[:, j, :]
    rows = []
    for r in growth_rates[growth_rates["region"] == CHINA].itertuples(index=False):
        china = proj.china.tonnes(proj.years, product, growth=float(r.annual_growth))
        share = china[None, :] / (china[None, :] + outside)
        p50 = np.quantile(share, 0.5, axis=0)
        rows.append(
            {
                "rate_id": r.rate_id,
                "measure": r.measure,
                "annual_growth": float(r.annual_growth),
                "is_default": bool(r.is_default),
                "used": r.rate_id == proj.china.rate_id,
                **{f"china_share_{y}_p50": float(p50[list(proj.years).index(y)]) for y in BENCHMARK_YEARS},
                "note": r.note,
                "source_ids": r.source_ids,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Benchmark against published projections
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# Decomposition of the gap to IEA's 2030 China share
# --------------------------------------------------------------------------------------------------
IEA_GROUPS: tuple[str, ...] = ("Malaysia", "Australia", "Others")
"""IEA's 2030 split outside China (GCMO 2024): Malaysia, Australia and everyone else."""


@dataclass(frozen=True)
class Decomposition:
    """The gap between the model's P50 China share and IEA's, split into the assumptions that cause it.

    Attributes:
        year, product: what is compared.
        model_share: the model's P50 China share; iea_share: IEA's published share.
        gap: ``model_share - iea_share`` (share points as a fraction).
        parts: one row per factor: ``factor``, ``label``, ``model_value``, ``iea_value``, ``unit``,
            ``contribution`` (fraction; what the model's assumption adds to the gap, a Shapley value: the parts
            add up to ``gap``), ``note``.
        iea_china_growth: IEA-implied annual growth of China's output, with ``world_growth`` the world-market
            growth it rests on (IEA APS magnet-REE demand, derived), ``demand_source_ids``, and ``iea_base_year``
            (IEA's base year of that growth).
    """

    year: int
    product: str
    model_share: float
    iea_share: float
    gap: float
    parts: pd.DataFrame
    iea_china_growth: float
    world_growth: float
    demand_source_ids: str
    iea_base_year: int


def _world_growth(demand: pd.DataFrame, base_year: int, year: int) -> tuple[float, str, str]:
    """IEA's world magnet-REE demand ratio ``year`` / ``base_year`` (rows of the demand table), text and sources."""
    world = demand[
        (demand["region"] == "world") & (demand["product"] == "magnet_ree") & demand["outlook"].astype(str).str.startswith("IEA")
    ]
    world = world[world["is_default"].astype("boolean").fillna(False).astype(bool)]
    a, b = world[world["year"] == base_year], world[world["year"] == year]
    if a.empty or b.empty:
        raise ValueError(f"demand: IEA world magnet-REE rows for {base_year} and {year} are needed for the IEA-implied growth")
    ra, rb = a.iloc[0], b.iloc[0]
    ids = ";".join(dict.fromkeys(f"{ra['source_ids']};{rb['source_ids']}".split(";")))
    text = f"{float(ra['tonnes']):,.0f} t ({base_year}) to {float(rb['tonnes']):,.0f} t ({year})"
    return float(rb["tonnes"]) / float(ra["tonnes"]), text, ids


def _shapley(value: Any, factors: Sequence[str]) -> dict[str, float]:
    """Shapley value of each factor for ``value(frozenset of swapped factors)``; they add up to all - none."""
    n = len(factors)
    cache: dict[frozenset, float] = {}

    def v(s: frozenset) -> float:
        if s not in cache:
            cache[s] = float(value(s))
        return cache[s]

    out = {}
    for f in factors:
        others = [g for g in factors if g != f]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for combo in itertools.combinations(others, size):
                s = frozenset(combo)
                total += weight * (v(s | {f}) - v(s))
        out[f] = total
    return out


def decompose_gap(
    proj: WorldProjection,
    projections: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    year: int = 2030,
    product: str = "ndpr_oxide",
) -> Decomposition:
    """Split the gap between the model's P50 China share in ``year`` and IEA's (GCMO 2024) into its causes.

    The share is China / (China + Malaysia + Australia + others). Each of the four is one factor, swapped
    from the model's value to the IEA-implied one:

    * **China's growth**: IEA's 92% (2023) to 77% (2030) with the world market growing as IEA's own APS
      magnet-REE demand (93 kt to 131 kt, the demand table) implies China's output grows
      ``(0.77 x 131) / (0.92 x 93)`` per 7 years (derived; assumes IEA's refined output tracks its demand);
      applied to the model's China base.
    * **Malaysia, Australia, others**: IEA's share of each over IEA's China share, times China's IEA-implied
      output (derived), in place of the model's per-trial capacity.

    With all four swapped the share is IEA's exactly; the contribution of each is its Shapley value over
    the 16 combinations (P50 over trials of each), so the parts add up to the gap whatever the order.
    World market size enters only through China's IEA-implied growth: shares of capacity do not depend on demand.

    Returns:
        A :class:`Decomposition`.
    """
    china_row = _iea_row(projections, IEA_CHINA_2030)
    if int(china_row["year"]) != year:
        raise ValueError(f"decompose_gap: IEA's China row is for {china_row['year']}, not {year}")
    sep = projections[(projections["stage"] == "separation") & (projections["year"] == year) & (projections["forecaster"] == "IEA")]
    sep = sep[sep["edition"] == china_row["edition"]]
    iea = {str(r.region): float(r.share) for r in sep.itertuples(index=False)}
    missing = [g for g in (CHINA, *IEA_GROUPS) if g not in iea]
    if missing:
        raise ValueError(f"projections: IEA {year} separation shares lack {', '.join(missing)}")
    base_year = int(china_row["base_year"])
    world, world_text, world_ids = _world_growth(demand, base_year, year)
    iea_china_growth = (iea[CHINA] * world / float(china_row["base_share"])) ** (1.0 / (year - base_year)) - 1.0

    names, cap = proj.by("country", product)
    k = list(proj.years).index(year)
    china_model = float(cap[0, names.index(CHINA), k])
    china_iea = float(proj.china.tonnes([year], product, growth=iea_china_growth)[0])
    groups = {
        "Malaysia": cap[:, names.index("Malaysia"), k] if "Malaysia" in names else np.zeros(cap.shape[0]),
        "Australia": cap[:, names.index("Australia"), k] if "Australia" in names else np.zeros(cap.shape[0]),
    }
    named = [names.index(c) for c in (CHINA, "Malaysia", "Australia") if c in names]
    groups["Others"] = cap[:, :, k].sum(axis=1) - cap[:, named, k].sum(axis=1)

    def share(swapped: frozenset) -> float:
        c = china_iea if "china_growth" in swapped else china_model
        c_ref = china_iea  # IEA's groups are set relative to China's IEA-implied output
        outside = sum((np.full(cap.shape[0], iea[g] / iea[CHINA] * c_ref) if g in swapped else groups[g]) for g in IEA_GROUPS)
        return float(np.quantile(c / (c + outside), 0.5))

    factors = ("china_growth", *IEA_GROUPS)
    # Shapley values of the move to IEA's figures, negated: each part is what the model's assumption adds to the gap.
    contrib = {f: -v for f, v in _shapley(share, factors).items()}
    model_share = share(frozenset())
    rows = [
        {
            "factor": "china_growth",
            "label": "China's output growth",
            "model_value": proj.china.growth,
            "iea_value": iea_china_growth,
            "unit": "per year",
            "contribution": contrib["china_growth"],
            "note": (
                f"model: {proj.china.rate_id} ({proj.china.rate_method or 'growth_rates'}); IEA-implied (derived): China "
                f"{float(china_row['base_share']):.0%} ({base_year}) to {iea[CHINA]:.0%} ({year}) of a world market growing as IEA's "
                f"magnet-REE demand, {world_text}"
            ),
        }
    ]
    for g in IEA_GROUPS:
        label = {"Others": "Capacity elsewhere outside China"}.get(g, f"{g}'s capacity")
        rows.append(
            {
                "factor": g,
                "label": label,
                "model_value": float(np.quantile(groups[g], 0.5)),
                "iea_value": iea[g] / iea[CHINA] * china_iea,
                "unit": "t/yr",
                "contribution": contrib[g],
                "note": f"IEA-implied (derived): {iea[g]:.0%} / {iea[CHINA]:.0%} x China's IEA-implied output",
            }
        )
    return Decomposition(
        year=year,
        product=product,
        model_share=model_share,
        iea_share=iea[CHINA],
        gap=model_share - iea[CHINA],
        parts=pd.DataFrame(rows),
        iea_china_growth=float(iea_china_growth),
        world_growth=float(world),
        demand_source_ids=world_ids,
        iea_base_year=base_year,
    )


__all__ = [
    "BENCHMARK_YEARS",
    "ChinaPath",
    "Decomposition",
    "END_YEAR",
    "TABLES",
    "WITHIN_POINTS",
    "WorldProjection",
    "base_year_shares",
    "benchmark_table",
    "china_growth",
    "china_growth_alternatives",
    "china_path",
    "decompose_gap",
    "observed_outside_china",
    "others_pipeline",
    "project",
    "projection_metrics",
    "projection_table",
    "share_summary",
    "source_ids",
]
