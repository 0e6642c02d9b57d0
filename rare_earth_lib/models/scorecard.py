"""Feasibility scorecard: can the US-Japan-Australia alliance cut its dependence on Chinese refining?

Scale. Every indicator is scored from 0 (worst) to 100 (best) by linear interpolation between two
thresholds taken from the parameters: the value at which the score is 0 (``worst``) and the value at
which it is 100 (``best``); values beyond either threshold are clipped. When ``worst > best`` a
lower value is better (e.g. years to coverage). A pillar's score is the equal-weighted mean of its
indicators' scores; the overall index is the mean of the pillar scores weighted by the pillar
weights (normalised to sum to 1). The bottleneck is the pillar with the lowest score (the first in
:data:`PILLARS` order on a tie). Bands: below 33.3 "weak", below 66.7 "partial", else "strong".

Indicators (value, unit; the thresholds are parameters):

===============  ===================================  ==========================================
pillar           indicator                            value
===============  ===================================  ==========================================
resources        light_ore_coverage                   Australian mine output x NdPr share of REO
                                                      / alliance NdPr oxide demand (ratio)
resources        heavy_ore_coverage                   Australian mine output x Dy+Tb share of REO
                                                      / alliance Dy+Tb oxide demand (ratio)
technology       nonchina_separation_share            1 - China's share of separation (fraction)
technology       nonchina_heavy_separation_share      1 - China's share of heavy separation
technology       chinese_technology_reliance          share of non-China supply built on Chinese
                                                      technology x share of China's technology
                                                      measures in force (fraction; lower better)
market_finance   market_to_incentive_price            market NdPr price / incentive price (ratio)
market_finance   floor_to_incentive_price             effective floor / incentive price (ratio)
market_finance   public_money_to_capex                public money committed / capex to fill the
                                                      separation gap (ratio)
time             years_to_ndpr_coverage               P50 years from the data's as-of year until
                                                      alliance NdPr separation covers the target
                                                      share of demand (years; lower better; never
                                                      reached within the horizon scores 0)
time             years_to_dytb_coverage               the same for Dy+Tb oxide
policy_risk      licence_exposure_share               mean share of alliance demand needing Chinese
                                                      licences, midstream stages (lower better)
policy_risk      us_funding_at_risk                   US share of public money x chance of a US
                                                      policy reversal (fraction; lower better)
===============  ===================================  ==========================================
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import CHAIN_STAGES, STAGE_LABELS
from rare_earth_lib.models import capacity as _cap
from rare_earth_lib.models import concentration as _conc
from rare_earth_lib.models import economics as _econ
from rare_earth_lib.models import exposure as _expo

PILLARS: tuple[str, ...] = ("resources", "technology", "market_finance", "time", "policy_risk")
PILLAR_LABELS: dict[str, str] = {
    "resources": "Resources",
    "technology": "Technology",
    "market_finance": "Market and finance",
    "time": "Time",
    "policy_risk": "Policy risk",
}
INDICATOR_LABELS: dict[str, str] = {
    "light_ore_coverage": "Australian ore vs NdPr demand",
    "heavy_ore_coverage": "Australian ore vs Dy+Tb demand",
    "nonchina_separation_share": "Separation outside China",
    "nonchina_heavy_separation_share": "Heavy separation outside China",
    "chinese_technology_reliance": "Reliance on Chinese technology",
    "market_to_incentive_price": "Market vs incentive price",
    "floor_to_incentive_price": "Price floor vs incentive price",
    "public_money_to_capex": "Public money vs capex needed",
    "years_to_ndpr_coverage": "Years to NdPr coverage (P50)",
    "years_to_dytb_coverage": "Years to Dy+Tb coverage (P50)",
    "licence_exposure_share": "Demand needing Chinese licences",
    "us_funding_at_risk": "US funding at risk",
}
BANDS: tuple[tuple[float, str], ...] = ((100.0 / 3.0, "weak"), (200.0 / 3.0, "partial"), (math.inf, "strong"))

#: indicator -> (pillar, unit, threshold parameter prefix, description).
INDICATORS: dict[str, tuple[str, str, str, str]] = {
    "light_ore_coverage": ("resources", "ratio", "resources_coverage", "Australian ore's NdPr content / alliance NdPr oxide demand"),
    "heavy_ore_coverage": ("resources", "ratio", "resources_coverage", "Australian ore's Dy+Tb content / alliance Dy+Tb oxide demand"),
    "nonchina_separation_share": ("technology", "fraction", "technology_share", "share of world rare-earth separation outside China"),
    "nonchina_heavy_separation_share": (
        "technology",
        "fraction",
        "technology_share",
        "share of world heavy rare-earth separation outside China",
    ),
    "chinese_technology_reliance": (
        "technology",
        "fraction",
        "technology_reliance",
        "non-China supply built on Chinese technology x share of China's technology controls in force",
    ),
    "market_to_incentive_price": ("market_finance", "ratio", "price_ratio", "market NdPr oxide price / incentive price for new projects"),
    "floor_to_incentive_price": ("market_finance", "ratio", "price_ratio", "effective NdPr price floor / incentive price"),
    "public_money_to_capex": (
        "market_finance",
        "ratio",
        "funding_ratio",
        "public money committed to the pipeline / capex to fill the NdPr separation gap",
    ),
    "years_to_ndpr_coverage": ("time", "years", "time_years", "P50 years until alliance NdPr separation covers the target share of demand"),
    "years_to_dytb_coverage": (
        "time",
        "years",
        "time_years",
        "P50 years until alliance Dy+Tb separation covers the target share of demand",
    ),
    "licence_exposure_share": (
        "policy_risk",
        "fraction",
        "licence_share",
        "mean share of alliance demand needing Chinese licences (separation, heavy separation, alloy, magnets)",
    ),
    "us_funding_at_risk": ("policy_risk", "fraction", "us_funding_risk", "US share of public money x chance of a US policy reversal"),
}


def score_linear(value: float, worst: float, best: float) -> float:
    """Score ``value`` on 0-100: 0 at ``worst``, 100 at ``best``, linear between, clipped outside.

    ``value`` may be ``inf`` (e.g. coverage never reached): it scores 0 or 100 by direction.

    Raises:
        ValueError: ``worst == best`` or a non-finite threshold (naming it); NaN ``value``.
    """
    worst, best = float(worst), float(best)
    if not (math.isfinite(worst) and math.isfinite(best)):
        raise ValueError(f"worst/best: thresholds must be finite, got {worst!r}, {best!r}")
    if worst == best:
        raise ValueError(f"worst: must differ from best (both {worst!r})")
    value = float(value)
    if math.isnan(value):
        raise ValueError("value: is NaN; an indicator needs a value to be scored")
    fraction = (value - worst) / (best - worst)
    return float(min(1.0, max(0.0, fraction)) * 100.0)


def band(score: float) -> str:
    """Verbal band of a 0-100 score: "weak", "partial" or "strong"."""
    if not 0 <= score <= 100:
        raise ValueError(f"score: must lie in [0, 100], got {score!r}")
    return next(label for limit, label in BANDS if score < limit)


def indicator_frame(values: Mapping[str, float], params, inputs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Turn indicator values into a scored, tidy frame using thresholds and weights from ``params``.

    Args:
        values: indicator name (a key of :data:`INDICATORS`) -> value. ``None`` for a
            ``years_to_*`` indicator means "not reached within the horizon" and scores 0.
        params: object with attributes ``<prefix>_worst``, ``<prefix>_best`` for each indicator's
            threshold prefix and ``weight_<pillar>`` for each pillar (the alliance_feasibility Params).
        inputs: indicator name -> explanation of the inputs (text with numbers and source ids).

    Returns:
        DataFrame, one row per indicator: pillar, indicator, description, value, unit, worst, best,
        thresholds (text), score (0-100), weight (within pillar, equal), pillar_weight, inputs.

    Raises:
        ValueError: unknown indicator name (naming ``values``); bad thresholds.
    """
    inputs = dict(inputs or {})
    rows = []
    for name, value in values.items():
        if name not in INDICATORS:
            raise ValueError(f"values: unknown indicator {name!r}")
        pillar, unit, prefix, description = INDICATORS[name]
        worst = float(getattr(params, f"{prefix}_worst"))
        best = float(getattr(params, f"{prefix}_best"))
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if missing and not name.startswith("years_to_"):
            raise ValueError(f"values: indicator {name!r} has no value")
        scored_value = (math.inf if best < worst else -math.inf) if missing else float(value)
        rows.append(
            {
                "pillar": pillar,
                "indicator": name,
                "description": description,
                "value": None if missing else float(value),
                "unit": unit,
                "worst": worst,
                "best": best,
                "thresholds": f"0 at {worst:g}, 100 at {best:g}",
                "score": score_linear(scored_value, worst, best),
                "pillar_weight": float(getattr(params, f"weight_{pillar}")),
                "inputs": inputs.get(name, "") + (" Not reached within the horizon: scored 0." if missing else ""),
            }
        )
    frame = pd.DataFrame(rows)
    frame["weight"] = 1.0 / frame.groupby("pillar")["indicator"].transform("count")
    order = {p: i for i, p in enumerate(PILLARS)}
    frame = frame.sort_values("pillar", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return frame[
        ["pillar", "indicator", "description", "value", "unit", "worst", "best", "thresholds", "score", "weight", "pillar_weight", "inputs"]
    ]


def pillar_scores(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Pillar scores: indicator scores averaged with their within-pillar weights.

    Returns:
        DataFrame: pillar, label, score (0-100), weight (pillar weight, normalised to sum to 1),
        band, n_indicators; in :data:`PILLARS` order (pillars without indicators are left out).

    Raises:
        ValueError: a pillar weight is negative or all are zero (naming ``weight``).
    """
    grouped = scorecard.assign(ws=scorecard["score"] * scorecard["weight"]).groupby("pillar", sort=False)
    out = pd.DataFrame(
        {
            "score": grouped["ws"].sum() / grouped["weight"].sum(),
            "raw_weight": grouped["pillar_weight"].first(),
            "n_indicators": grouped["indicator"].count(),
        }
    )
    out = out.reindex([p for p in PILLARS if p in out.index])
    if (out["raw_weight"] < 0).any() or out["raw_weight"].sum() <= 0:
        raise ValueError("weight: pillar weights must be >= 0 and not all zero")
    out["weight"] = out["raw_weight"] / out["raw_weight"].sum()
    out["label"] = [PILLAR_LABELS[p] for p in out.index]
    out["band"] = out["score"].map(band)
    out = out.reset_index(names="pillar")
    return out[["pillar", "label", "score", "weight", "band", "n_indicators"]]


def overall_index(scorecard: pd.DataFrame) -> float:
    """Overall feasibility index (0-100): pillar scores weighted by the normalised pillar weights."""
    pillars = pillar_scores(scorecard)
    return float((pillars["score"] * pillars["weight"]).sum())


def bottleneck(scorecard: pd.DataFrame) -> str:
    """The pillar with the lowest score (first in :data:`PILLARS` order on a tie)."""
    pillars = pillar_scores(scorecard)
    return str(pillars.loc[pillars["score"].idxmin(), "pillar"])


def weakest_indicator(scorecard: pd.DataFrame, pillar: str) -> pd.Series:
    """The lowest-scoring indicator row of ``pillar`` (to explain a bottleneck)."""
    if pillar not in PILLARS:
        raise ValueError(f"pillar: unknown pillar {pillar!r}; expected one of {', '.join(PILLARS)}")
    rows = scorecard[scorecard["pillar"] == pillar]
    if rows.empty:
        raise ValueError(f"pillar: no indicator for {pillar!r} in the scorecard")
    return rows.loc[rows["score"].idxmin()]


def _fmt(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if unit == "%":
        return f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _years(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if float(value) < 0:
        raise ValueError(f"years_to_*_coverage: must be >= 0 or None, got {value!r}")
    return float(value)


def feasibility_values(
    *,
    australia_mine_t_reo: float,
    ore_ndpr_share_of_reo: float,
    ore_dytb_share_of_reo: float,
    alliance_ndpr_demand_t: float,
    alliance_dytb_demand_t: float,
    china_separation_share: float,
    china_heavy_separation_share: float,
    technology_derived_share: float,
    technology_measures_in_force: int,
    technology_measures_total: int,
    market_usd_per_kg: float,
    incentive_usd_per_kg: float,
    effective_floor_usd_per_kg: float,
    public_money_musd: float,
    capex_needed_musd: float,
    years_to_ndpr_coverage: float | None,
    years_to_dytb_coverage: float | None,
    licence_exposure_share: float,
    us_share_of_public_money: float,
    us_reversal_probability: float,
    source_ids: Mapping[str, str] | None = None,
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Compute every indicator value from its inputs, with a text saying how.

    All keyword arguments are plain numbers (units in their names; shares are fractions 0..1;
    money in US$ million; prices in US$/kg; tonnes per year).

    Returns:
        (values, inputs): indicator -> value (see :data:`INDICATORS`), indicator -> explanation.

    Raises:
        ValueError: a share outside [0, 1], a negative tonnage/price/money, or zero demand, incentive
            price or total technology measures (naming the argument).
    """
    for name, value in (
        ("ore_ndpr_share_of_reo", ore_ndpr_share_of_reo),
        ("ore_dytb_share_of_reo", ore_dytb_share_of_reo),
        ("china_separation_share", china_separation_share),
        ("china_heavy_separation_share", china_heavy_separation_share),
        ("technology_derived_share", technology_derived_share),
        ("licence_exposure_share", licence_exposure_share),
        ("us_share_of_public_money", us_share_of_public_money),
        ("us_reversal_probability", us_reversal_probability),
    ):
        if not 0 <= float(value) <= 1:
            raise ValueError(f"{name}: must be a share in [0, 1], got {value!r}")
    for name, value in (
        ("australia_mine_t_reo", australia_mine_t_reo),
        ("market_usd_per_kg", market_usd_per_kg),
        ("effective_floor_usd_per_kg", effective_floor_usd_per_kg),
        ("public_money_musd", public_money_musd),
        ("capex_needed_musd", capex_needed_musd),
    ):
        if not float(value) >= 0:
            raise ValueError(f"{name}: must be >= 0, got {value!r}")
    for name, value in (
        ("alliance_ndpr_demand_t", alliance_ndpr_demand_t),
        ("alliance_dytb_demand_t", alliance_dytb_demand_t),
        ("incentive_usd_per_kg", incentive_usd_per_kg),
        ("technology_measures_total", technology_measures_total),
    ):
        if not float(value) > 0:
            raise ValueError(f"{name}: must be > 0, got {value!r}")
    if not 0 <= technology_measures_in_force <= technology_measures_total:
        raise ValueError("technology_measures_in_force: must lie between 0 and technology_measures_total")
    ids = dict(source_ids or {})

    def cite(key: str) -> str:
        return " [" + ", ".join(i for i in str(ids[key]).split(";") if i) + "]" if ids.get(key) else ""

    light_t = australia_mine_t_reo * ore_ndpr_share_of_reo
    heavy_t = australia_mine_t_reo * ore_dytb_share_of_reo
    tech_in_force = technology_measures_in_force / technology_measures_total
    capex_ratio = public_money_musd / capex_needed_musd if capex_needed_musd > 0 else float("inf")
    values: dict[str, float | None] = {
        "light_ore_coverage": light_t / alliance_ndpr_demand_t,
        "heavy_ore_coverage": heavy_t / alliance_dytb_demand_t,
        "nonchina_separation_share": 1.0 - china_separation_share,
        "nonchina_heavy_separation_share": 1.0 - china_heavy_separation_share,
        "chinese_technology_reliance": technology_derived_share * tech_in_force,
        "market_to_incentive_price": market_usd_per_kg / incentive_usd_per_kg,
        "floor_to_incentive_price": effective_floor_usd_per_kg / incentive_usd_per_kg,
        "public_money_to_capex": min(capex_ratio, 10.0),
        "years_to_ndpr_coverage": _years(years_to_ndpr_coverage),
        "years_to_dytb_coverage": _years(years_to_dytb_coverage),
        "licence_exposure_share": float(licence_exposure_share),
        "us_funding_at_risk": us_share_of_public_money * us_reversal_probability,
    }
    inputs = {
        "light_ore_coverage": (
            f"Australian mine output {_fmt(australia_mine_t_reo)} t REO{cite('mine')} x NdPr share {ore_ndpr_share_of_reo:.1%} (assumption)"
            f" = {_fmt(light_t)} t NdPr vs alliance NdPr oxide demand {_fmt(alliance_ndpr_demand_t)} t (estimate){cite('demand')}."
        ),
        "heavy_ore_coverage": (
            f"Australian mine output {_fmt(australia_mine_t_reo)} t REO x Dy+Tb share {ore_dytb_share_of_reo:.2%} (assumption)"
            f" = {_fmt(heavy_t)} t Dy+Tb vs alliance Dy+Tb oxide demand {_fmt(alliance_dytb_demand_t)} t (estimate){cite('demand')}."
        ),
        "nonchina_separation_share": f"China's separation share {china_separation_share:.0%}{cite('separation')}.",
        "nonchina_heavy_separation_share": f"China's heavy-separation share {china_heavy_separation_share:.0%}{cite('heavy_separation')}.",
        "chinese_technology_reliance": (
            f"Share of non-China supply on Chinese technology {technology_derived_share:.0%} (assumption) x"
            f" {technology_measures_in_force} of {technology_measures_total} technology controls in force{cite('controls')}."
        ),
        "market_to_incentive_price": f"NdPr oxide US${market_usd_per_kg:,.0f}/kg{cite('price')} vs incentive US${incentive_usd_per_kg:,.0f}/kg{cite('incentive')}.",
        "floor_to_incentive_price": f"Effective floor US${effective_floor_usd_per_kg:,.0f}/kg{cite('floor')} vs incentive US${incentive_usd_per_kg:,.0f}/kg.",
        "public_money_to_capex": (
            f"Public money US${_fmt(public_money_musd)}M{cite('funding')} vs capex to fill the gap US${_fmt(capex_needed_musd)}M"
            " (capex intensity of comparable projects x capacity gap; ratio capped at 10)."
        ),
        "years_to_ndpr_coverage": f"P50 of the Monte Carlo timeline for NdPr oxide{cite('timeline')}.",
        "years_to_dytb_coverage": f"P50 of the Monte Carlo timeline for Dy+Tb oxide{cite('timeline')}.",
        "licence_exposure_share": f"Mean licence share over the midstream stages under the controls in force{cite('controls')}.",
        "us_funding_at_risk": f"US share of public money {us_share_of_public_money:.0%} x reversal probability {us_reversal_probability:.0%} (parameter).",
    }
    return values, inputs


def build_scorecard(values: Mapping[str, float | None], params, inputs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Scored indicator frame (alias of :func:`indicator_frame` for readability in notebooks)."""
    return indicator_frame(values, params, inputs)


# --------------------------------------------------------------------------------------------------
# The whole assessment for one scenario, from the data package's tables
# --------------------------------------------------------------------------------------------------

ASSESSMENT_TABLES: tuple[str, ...] = (
    "projects",
    "stage_shares",
    "mine_production",
    "reserves",
    "demand",
    "export_controls",
    "prices",
    "trade_exposure",
    "frameworks",
)
"""The data-package tables :func:`assess` and :func:`briefing_tables` read."""


@dataclass(frozen=True)
class Assessment:
    """Everything the alliance-feasibility briefing computes for one scenario.

    Attributes:
        params: the validated parameters.
        as_of: the data package's as-of date.
        shares_by_stage: stage -> world shares by plant location (statistics plus capacity-based
            estimates, flagged ``estimated``).
        chain: one row per stage: China / alliance / partners / others shares (by the attribution
            parameter), HHI, top-3 share.
        capacity: alliance capacity per project and stage (:func:`concentration.alliance_capacity_detail`).
        self_sufficiency: stage, capacity_tpa, demand_t, self_sufficiency_ratio, basis texts.
        demand: alliance NdPr / Dy+Tb demand estimate by year and region (the timeline model's estimate).
        control_states: export controls with their state on the exposure date.
        exposure: licence exposure per stage.
        direct_china: direct China supply share per stage with its basis.
        cost_gap: yearly subsidy vs price-floor cost.
        capex_intensity: comparable projects' capex per t/yr (NdPr and heavy-only plants).
        capex_gap: per product: needed, operating, gap (t/yr), intensity, capex (US$ M).
        public_money: pipeline public money by project and funder.
        scorecard: the scored indicators; pillars: pillar scores.
        overall_index: 0-100; bottleneck: the weakest pillar.
        figures: scalar inputs and results, for key judgments and metrics.
    """

    params: Any
    as_of: _dt.date
    shares_by_stage: dict[str, pd.DataFrame]
    chain: pd.DataFrame
    capacity: pd.DataFrame
    self_sufficiency: pd.DataFrame
    demand: pd.DataFrame
    control_states: pd.DataFrame
    exposure: pd.DataFrame
    direct_china: pd.DataFrame
    cost_gap: pd.DataFrame
    capex_intensity: pd.DataFrame
    capex_gap: pd.DataFrame
    public_money: pd.DataFrame
    scorecard: pd.DataFrame
    pillars: pd.DataFrame
    overall_index: float
    bottleneck: str
    figures: dict[str, Any]


def _ids(*values: Any) -> str:
    out: set[str] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, pd.DataFrame):
            value = value["source_ids"].dropna().astype(str).tolist() if "source_ids" in value.columns else []
        if isinstance(value, str):
            value = [value]
        for item in value:
            if item is None or (not isinstance(item, str) and pd.isna(item)):
                continue
            out.update(i.strip() for i in str(item).split(";") if i.strip())
    return ";".join(sorted(out))


def _latest(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    before = frame[frame["year"] <= year]
    use = before if not before.empty else frame
    return use[use["year"] == use["year"].max()]


def _world_volumes(demand: pd.DataFrame, year: int, magnet_re_content_share: float) -> dict[str, float]:
    rows = demand[demand["region"] == "world"]
    rows = default_rows(rows)
    out: dict[str, float] = {}
    for stage, product in (("separation", "ndpr_oxide"), ("heavy_separation", "dytb_oxide")):
        sel = rows[rows["product"] == product]
        if not sel.empty:
            out[stage] = float(_latest(sel, year)["tonnes"].iloc[0])
    magnet = rows[rows["product"] == "magnet_ree"]
    magnet = magnet[magnet["kind"] == "observed"] if "kind" in magnet.columns else magnet
    if not magnet.empty:
        out["magnet"] = float(_latest(magnet, year)["tonnes"].iloc[0]) / magnet_re_content_share
        out["metal_alloy"] = out["magnet"]
    return out


def chain_shares(
    tables: Mapping[str, pd.DataFrame], attribution: str, year: int, magnet_re_content_share: float
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """World shares by stage (location, with capacity-based estimates) and the China/alliance summary.

    Mining comes from USGS mine production (``year`` or the latest earlier year); the other stages
    from ``stage_shares``, with capacity-based estimates for countries with plants but no statistic
    (:func:`concentration.estimate_missing_shares`; world volumes from the demand table's world rows,
    magnets as world magnet-REE demand / ``magnet_re_content_share``).

    Returns:
        (shares_by_stage, summary) where summary is :func:`concentration.concentration_summary`
        plus a ``label`` column, in :data:`CHAIN_STAGES` order.
    """
    mine = tables["mine_production"]
    mine_year = int(_latest(mine[mine["country"] != "World"], year)["year"].max())
    shares = {"mining": _conc.mine_country_shares(mine, mine_year)}
    volumes = _world_volumes(tables["demand"], year, magnet_re_content_share)
    for stage in CHAIN_STAGES[1:]:
        frame = _conc.stage_country_shares(tables["stage_shares"], stage, year)
        if stage in volumes:
            frame = _conc.estimate_missing_shares(frame, tables["projects"], stage, volumes[stage])
        shares[stage] = frame
    summary = _conc.concentration_summary(shares, tables["projects"], attribution)
    order = {s: i for i, s in enumerate(CHAIN_STAGES)}
    summary = summary.sort_values("stage", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    summary.insert(1, "label", summary["stage"].map(STAGE_LABELS))
    estimated = {s: bool(f.get("estimated", pd.Series(False)).fillna(False).astype(bool).any()) for s, f in shares.items()}
    summary["includes_estimates"] = summary["stage"].map(estimated)
    summary["source_ids"] = [_ids(summary.at[i, "source_ids"], shares[s]["source_ids"].tolist()) for i, s in enumerate(summary["stage"])]
    return shares, summary


def assess(
    tables: Mapping[str, pd.DataFrame],
    params: Any,
    as_of: _dt.date,
    coverage_years: Mapping[str, int | None],
) -> Assessment:
    """Run the whole alliance-feasibility assessment for one scenario.

    Args:
        tables: the data package's tables by name: projects, stage_shares, mine_production, demand,
            export_controls, prices, trade_exposure (frameworks optional).
        params: the alliance_feasibility ``Params``.
        as_of: the data package's as-of date.
        coverage_years: ``{"ndpr_oxide": year or None, "dytb_oxide": year or None}``: the P50 year
            the timeline model gives for alliance capacity covering ``coverage_threshold`` of demand
            (None = not within the horizon).

    Returns:
        An :class:`Assessment`.

    Raises:
        ValueError: a missing table or coverage year key (naming it).
    """
    from rare_earth_lib.models import demand as demand_model  # the timeline helper's demand estimate

    for name in ("projects", "stage_shares", "mine_production", "demand", "export_controls", "prices", "trade_exposure"):
        if name not in tables:
            raise ValueError(f"tables: missing table {name!r}")
    for key in ("ndpr_oxide", "dytb_oxide"):
        if key not in coverage_years:
            raise ValueError(f"coverage_years: missing {key!r}")
    p = params
    projects = tables["projects"]
    today = int(p.start_year)
    years = sorted({today, int(p.gap_year), int(as_of.year)})

    # --- demand: the timeline model's estimate (per region), so both briefings agree ----------
    per_region = demand_model.scenario_demand(tables["demand"], years, p)
    totals = per_region.groupby(["year", "product"], as_index=False)["tonnes"].sum()

    def total(product: str, year: int) -> float:
        return float(totals.loc[(totals["product"] == product) & (totals["year"] == year), "tonnes"].sum())

    demand_ids = _ids(per_region["source_ids"].dropna().tolist())

    # --- chain today ------------------------------------------------------------------------
    shares, chain = chain_shares(tables, p.attribution, today, p.magnet_re_content_share)
    china = chain.set_index("stage")["china_share"]

    # --- self-sufficiency --------------------------------------------------------------------
    plants_today = _cap.today_plants(projects, p, as_of)
    capacity = plants_today[(plants_today["group"] == _cap.GROUP_ALLIANCE) & (plants_today["today_tpa"] > 0)]
    capacity = capacity.assign(capacity_tpa=capacity["today_tpa"]).reset_index(drop=True)
    groups_today = _cap.stage_groups_today(projects, p, as_of)
    cap_by_stage = groups_today[groups_today["group"] == _cap.GROUP_ALLIANCE].set_index("stage")["capacity_tpa"]
    other_demand = _conc.alliance_demand_by_stage(tables["demand"], today).set_index("stage")
    mine = tables["mine_production"]
    mine = default_rows(mine)
    alliance_mine = _latest(mine[mine["country"].isin(_conc.ALLIANCE)], today)
    rows = [
        (
            "mining",
            float(alliance_mine["tonnes_reo"].sum()),
            float(other_demand.at["mining", "demand_t"]),
            f"alliance mine output {int(alliance_mine['year'].max())} (t REO)",
            "apparent consumption / domestic demand, all rare earths (t)",
            _ids(alliance_mine, other_demand.at["mining", "source_ids"]),
        ),
        (
            "separation",
            float(cap_by_stage["separation"]),
            total("ndpr_oxide", today),
            "producing plants: latest observed output rate, else nameplate after ramp-up",
            f"NdPr oxide demand estimate {today}",
            _ids(capacity[capacity["stage"] == "separation"], demand_ids),
        ),
        (
            "heavy_separation",
            float(cap_by_stage["heavy_separation"]),
            total("dytb_oxide", today),
            "producing plants: latest observed output rate, else nameplate after ramp-up",
            f"Dy+Tb oxide demand estimate {today}",
            _ids(capacity[capacity["stage"] == "heavy_separation"], demand_ids),
        ),
        (
            "metal_alloy",
            float(cap_by_stage["metal_alloy"]),
            float(other_demand.at["metal_alloy", "demand_t"]),
            "operating NdFeB alloy capacity",
            "NdFeB magnet demand (United States only: no Japanese figure)",
            _ids(capacity[capacity["stage"] == "metal_alloy"], other_demand.at["metal_alloy", "source_ids"]),
        ),
        (
            "magnet",
            float(cap_by_stage["magnet"]),
            float(other_demand.at["magnet", "demand_t"]),
            "operating NdFeB magnet capacity",
            "NdFeB magnet demand (United States only: no Japanese figure)",
            _ids(capacity[capacity["stage"] == "magnet"], other_demand.at["magnet", "source_ids"]),
        ),
    ]
    suff = pd.DataFrame(rows, columns=["stage", "capacity_tpa", "demand_t", "capacity_basis", "demand_basis", "source_ids"])
    suff["self_sufficiency_ratio"] = suff["capacity_tpa"] / suff["demand_t"].where(suff["demand_t"] > 0)
    in_china = groups_today[groups_today["group"] == _cap.GROUP_ALLIANCE_IN_CHINA].set_index("stage")["capacity_tpa"]
    suff["alliance_owned_in_china_tpa"] = suff["stage"].map(in_china)  # shown apart, never in the ratio
    suff.insert(1, "label", suff["stage"].map(STAGE_LABELS))

    # --- export-control exposure -------------------------------------------------------------
    on_date = _dt.date(int(p.exposure_year), 1, 1)
    states = _expo.control_states_on(tables["export_controls"], on_date, p.controls_regime)
    states_as_of = _expo.control_states_on(tables["export_controls"], as_of, p.controls_regime)
    weights = []
    for stage, product in (("separation", "ndpr_oxide"), ("heavy_separation", "dytb_oxide")):
        sel = per_region[(per_region["product"] == product) & (per_region["year"] == today)]
        weights += [{"region": r, "stage": stage, "weight": float(t)} for r, t in zip(sel["region"], sel["tonnes"], strict=False)]
    magnets = tables["demand"]
    magnets = magnets[(magnets["product"] == "ndfeb_magnet") & magnets["region"].isin(list(_conc.REGION_NAMES))]
    magnets = default_rows(magnets)
    if "segment" in magnets.columns:
        magnets = magnets[magnets["segment"].fillna("all") == "all"]
    for region, grp in magnets.groupby("region"):
        t = float(_latest(grp, today)["tonnes"].iloc[0])
        weights += [{"region": region, "stage": s, "weight": t} for s in ("metal_alloy", "magnet")]
    weights = pd.DataFrame(weights, columns=["region", "stage", "weight"])
    direct = _expo.direct_china_share_by_stage(tables["trade_exposure"], weights, year=as_of.year)
    for stage in ("separation", "heavy_separation", "metal_alloy", "magnet"):
        if stage not in set(direct["stage"]):
            direct = pd.concat(
                [
                    direct,
                    pd.DataFrame(
                        [
                            {
                                "stage": stage,
                                "direct_china_share": float(china[stage]),
                                "basis": "China's world share (no trade figure)",
                                "source_ids": chain.set_index("stage").at[stage, "source_ids"],
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )
    direct_share = direct.set_index("stage")["direct_china_share"]
    heavy_china = float(china["heavy_separation"])
    inputs_share = {"separation": 0.0, "heavy_separation": 0.0, "metal_alloy": heavy_china, "magnet": heavy_china}
    wsum = weights.groupby("stage")["weight"].sum()
    japan = weights[weights["region"] == "japan"].groupby("stage")["weight"].sum()
    japan_share = {s: float(japan.get(s, 0.0) / wsum[s]) if wsum.get(s, 0) > 0 else 0.0 for s in direct_share.index}
    exposure = _expo.licence_exposure(
        states,
        direct_share,
        inputs_share,
        magnet_dytb_share=p.magnet_dytb_share,
        technology_derived_share=p.technology_derived_share,
        chinese_content_value_share=p.chinese_content_value_share,
        japan_demand_share=japan_share,
        japan_denial_share=p.japan_denial_share,
        extraterritorial_scope=p.extraterritorial_scope,
    )
    exposure.insert(1, "label", exposure["stage"].map(STAGE_LABELS))
    measure_ids = states.set_index("measure_id")["source_ids"]
    direct_ids = direct.set_index("stage")["source_ids"]
    exposure["source_ids"] = [
        _ids([measure_ids.get(m) for m in str(ms).split(";") if m], direct_ids.get(stage))
        for stage, ms in zip(exposure["stage"], exposure["measures"], strict=False)
    ]
    tech_rows = states[states["scope"].isin(["technology", "equipment"]) & ~states.apply(_expo.is_easing, axis=1)]
    tech_in_force = int((tech_rows["state"] == "in_force").sum())
    ree_restriction = states["elements"].fillna("").astype(str).str.len().gt(0) & ~states.apply(_expo.is_easing, axis=1)

    # --- prices, cost gap ----------------------------------------------------------------------
    prices = tables["prices"]
    market, market_ids = _econ.price_usd_per_kg(prices, "ndpr_oxide", "annual_average", p.market_price_year)
    low, low_ids = _econ.price_usd_per_kg(prices, "ndpr_oxide", "incentive_low", None, "low")
    high_row = prices[(prices["product"] == "ndpr_oxide") & (prices["price_type"] == "incentive_high")]
    high, high_ids = (
        _econ.price_usd_per_kg(prices, "ndpr_oxide", "incentive_high", None, "low")
        if not high_row.empty
        else _econ.price_usd_per_kg(prices, "ndpr_oxide", "incentive_low", None, "high")
    )
    incentive = {"low": low, "mid": (low + high) / 2, "high": high}[p.incentive_price_basis]
    floor, _ = _econ.price_usd_per_kg(prices, "ndpr_oxide", "price_floor", as_of.year)
    floor_rows = prices[(prices["product"] == "ndpr_oxide") & (prices["price_type"] == "price_floor") & (prices["usd_per_kg"] == floor)]
    floor_ids = _ids(floor_rows)  # the DoD floor for MP and the Lynas-JARE floor are both at this level
    support = float(p.us_support_factor())
    effective_floor = market + max(0.0, floor - market) * support
    need_ndpr = p.coverage_threshold * total("ndpr_oxide", int(p.gap_year))
    need_dytb = p.coverage_threshold * total("dytb_oxide", int(p.gap_year))
    us_sep = capacity[(capacity["stage"] == "separation") & (capacity["counted_for"] == "United States")]
    floor_volume = float(us_sep["capacity_tpa"].sum()) if p.price_floor_scope == "us_producer" else need_ndpr
    cost_gap = pd.DataFrame(
        {
            "instrument": ["subsidy to incentive price", "price floor"],
            "covers": [
                f"alliance NdPr need in {p.gap_year}",
                "US producers' NdPr volume" if p.price_floor_scope == "us_producer" else f"alliance NdPr need in {p.gap_year}",
            ],
            "target_usd_per_kg": [incentive, floor],
            "market_usd_per_kg": [market, market],
            "volume_t": [need_ndpr, floor_volume],
            "cost_musd_per_year": [
                _econ.price_gap_subsidy_musd(incentive, market, need_ndpr),
                _econ.price_floor_cost_musd(floor, market, floor_volume) * support,
            ],
            "source_ids": [_ids(market_ids, low_ids, high_ids, demand_ids), _ids(market_ids, floor_ids)],
        }
    )

    # --- capex to fill the separation gap ------------------------------------------------------
    fx = p.fx_to_usd()
    light = _econ.capex_intensity(projects, fx, "ndpr_oxide_tpa", "separation").assign(product="ndpr_oxide")
    heavy_only = projects[projects["dytb_oxide_tpa"].notna() & projects["ndpr_oxide_tpa"].isna()]
    heavy = _econ.capex_intensity(heavy_only, fx, "dytb_oxide_tpa", "heavy_separation").assign(product="dytb_oxide")
    intensity = pd.concat([light, heavy], ignore_index=True)
    gap_rows = []
    for product, need, stage, table in (
        ("ndpr_oxide", need_ndpr, "separation", light),
        ("dytb_oxide", need_dytb, "heavy_separation", heavy),
    ):
        have = float(cap_by_stage[stage])
        per_t = float(table["usd_per_tpa"].median()) if not table.empty else float("nan")
        gap = max(0.0, need - have)
        gap_rows.append(
            {
                "product": product,
                "needed_tpa": need,
                "operating_tpa": have,
                "gap_tpa": gap,
                "usd_per_tpa": per_t,
                "capex_musd": _econ.capex_to_fill_gap_musd(gap, per_t) if np.isfinite(per_t) else float("nan"),
                "source_ids": _ids(table, demand_ids),
            }
        )
    capex_gap = pd.DataFrame(gap_rows)
    capex_needed = float(capex_gap["capex_musd"].fillna(0).sum())

    # --- public money ------------------------------------------------------------------------
    money = _econ.pipeline_public_money(projects, us_support_factor=support, conditional_share=p.conditional_funding_share)
    framework_money = 0.0
    framework_us = 0.0
    framework_committed = 0.0
    framework_ids = ""
    frameworks = tables.get("frameworks")
    if frameworks is not None and not frameworks.empty:
        for _, f in frameworks.iterrows():
            amount = f.get("commitment_musd")
            parties = [x.strip() for x in str(f["parties"]).split(";") if x.strip()]
            if pd.isna(amount) or "United States" not in parties:
                continue  # only the new US frameworks; national programmes are counted in project funding
            base = float(amount) * p.framework_ree_share * p.framework_landed_share
            us_part = base / len(parties)
            framework_us += us_part
            framework_committed += base
            framework_money += base - us_part + us_part * support
            framework_ids = _ids(framework_ids, f["source_ids"])
    public_total = float(money["counted_musd"].sum()) + framework_money
    us_committed = float(money.loc[money["funder"] == "United States", "committed_musd"].sum()) + framework_us
    committed_total = float(money["committed_musd"].sum()) + framework_committed
    us_share = us_committed / committed_total if committed_total > 0 else 0.0

    # --- Australian ore -------------------------------------------------------------------
    aus = _latest(mine[mine["country"] == "Australia"], today)
    aus_t = float(aus["tonnes_reo"].iloc[0])
    licence_mean = _expo.mean_licence_share(exposure)

    def years_from(year: int | None) -> float | None:
        return None if year is None else max(0.0, float(year) - float(as_of.year))

    values, texts = feasibility_values(
        australia_mine_t_reo=aus_t,
        ore_ndpr_share_of_reo=p.ndpr_share_of_reo_capacity,
        ore_dytb_share_of_reo=p.dytb_share_of_reo_capacity,
        alliance_ndpr_demand_t=total("ndpr_oxide", today),
        alliance_dytb_demand_t=total("dytb_oxide", today),
        china_separation_share=float(china["separation"]),
        china_heavy_separation_share=heavy_china,
        technology_derived_share=p.technology_derived_share,
        technology_measures_in_force=tech_in_force,
        technology_measures_total=max(1, len(tech_rows)),
        market_usd_per_kg=market,
        incentive_usd_per_kg=incentive,
        effective_floor_usd_per_kg=effective_floor,
        public_money_musd=public_total,
        capex_needed_musd=capex_needed,
        years_to_ndpr_coverage=years_from(coverage_years["ndpr_oxide"]),
        years_to_dytb_coverage=years_from(coverage_years["dytb_oxide"]),
        licence_exposure_share=licence_mean,
        us_share_of_public_money=us_share,
        us_reversal_probability=p.us_reversal_chance(),
        source_ids={
            "mine": _ids(aus),
            "demand": demand_ids,
            "separation": chain.set_index("stage").at["separation", "source_ids"],
            "heavy_separation": chain.set_index("stage").at["heavy_separation", "source_ids"],
            "controls": _ids(states),
            "price": market_ids,
            "incentive": _ids(low_ids, high_ids),
            "floor": floor_ids,
            "funding": _ids(money, framework_ids),
        },
    )
    texts["years_to_ndpr_coverage"] += (
        f" P50 year {coverage_years['ndpr_oxide'] or 'not reached'}; threshold {p.coverage_threshold:.0%} of demand."
    )
    texts["years_to_dytb_coverage"] += (
        f" P50 year {coverage_years['dytb_oxide'] or 'not reached'}; threshold {p.coverage_threshold:.0%} of demand."
    )
    card = build_scorecard(values, p, texts)
    card["source_ids"] = card["indicator"].map(
        {
            "light_ore_coverage": _ids(aus, demand_ids),
            "heavy_ore_coverage": _ids(aus, demand_ids),
            "nonchina_separation_share": chain.set_index("stage").at["separation", "source_ids"],
            "nonchina_heavy_separation_share": chain.set_index("stage").at["heavy_separation", "source_ids"],
            "chinese_technology_reliance": _ids(tech_rows),
            "market_to_incentive_price": _ids(market_ids, low_ids, high_ids),
            "floor_to_incentive_price": _ids(floor_ids, low_ids, high_ids),
            "public_money_to_capex": _ids(money, framework_ids, intensity),
            "years_to_ndpr_coverage": demand_ids,
            "years_to_dytb_coverage": demand_ids,
            "licence_exposure_share": _ids(states, direct),
            "us_funding_at_risk": _ids(money, framework_ids),
        }
    )
    pillars = pillar_scores(card)
    index = overall_index(card)
    weakest = bottleneck(card)
    figures = {
        "as_of_year": as_of.year,
        "today_year": today,
        "gap_year": int(p.gap_year),
        "china_mining_share": float(china["mining"]),
        "china_separation_share": float(china["separation"]),
        "china_heavy_separation_share": heavy_china,
        "china_metal_alloy_share": float(china["metal_alloy"]),
        "china_magnet_share": float(china["magnet"]),
        "alliance_separation_share": float(chain.set_index("stage").at["separation", "alliance_share"]),
        "alliance_mining_share": float(chain.set_index("stage").at["mining", "alliance_share"]),
        "alliance_magnet_share": float(chain.set_index("stage").at["magnet", "alliance_share"]),
        "ndpr_demand_today_t": total("ndpr_oxide", today),
        "dytb_demand_today_t": total("dytb_oxide", today),
        "ndpr_demand_gap_year_t": total("ndpr_oxide", int(p.gap_year)),
        "dytb_demand_gap_year_t": total("dytb_oxide", int(p.gap_year)),
        "ndpr_self_sufficiency": float(suff.set_index("stage").at["separation", "self_sufficiency_ratio"]),
        "dytb_self_sufficiency": float(suff.set_index("stage").at["heavy_separation", "self_sufficiency_ratio"]),
        "australia_mine_t_reo": aus_t,
        "market_usd_per_kg": market,
        "incentive_usd_per_kg": incentive,
        "floor_usd_per_kg": floor,
        "effective_floor_usd_per_kg": effective_floor,
        "subsidy_musd_per_year": float(cost_gap.at[0, "cost_musd_per_year"]),
        "floor_cost_musd_per_year": float(cost_gap.at[1, "cost_musd_per_year"]),
        "capex_needed_musd": capex_needed,
        "public_money_musd": public_total,
        "us_share_of_public_money": us_share,
        "us_support_factor": support,
        "licence_exposure_mean": licence_mean,
        "controls_in_force": int(((states["state"] == "in_force") & ree_restriction).sum()),
        "controls_suspended": int(((states["state"] == "suspended") & ree_restriction).sum()),
        "controls_in_force_as_of": int(((states_as_of["state"] == "in_force") & ree_restriction).sum()),
        "controls_suspended_as_of": int(((states_as_of["state"] == "suspended") & ree_restriction).sum()),
        "technology_controls_in_force": tech_in_force,
        "exposure_date": on_date.isoformat(),
        "controls_regime": p.controls_regime,
        "suspension_end": (
            states["suspended_until"].dropna().max().date().isoformat() if states["suspended_until"].notna().any() else None
        ),
        "overall_index": index,
        "bottleneck": weakest,
        "bottleneck_label": PILLAR_LABELS[weakest],
        "bottleneck_score": float(pillars.set_index("pillar").at[weakest, "score"]),
        "weakest_indicator": str(weakest_indicator(card, weakest)["indicator"]),
    }
    for row in exposure.itertuples(index=False):
        figures[f"licence_share_{row.stage}"] = float(row.licence_share)
    figures.update(_cap.today_metrics(projects, p, as_of))
    return Assessment(
        params=p,
        as_of=as_of,
        shares_by_stage=shares,
        chain=chain,
        capacity=capacity,
        self_sufficiency=suff,
        demand=per_region,
        control_states=states,
        exposure=exposure,
        direct_china=direct,
        cost_gap=cost_gap,
        capex_intensity=intensity,
        capex_gap=capex_gap,
        public_money=money,
        scorecard=card,
        pillars=pillars,
        overall_index=index,
        bottleneck=weakest,
        figures=figures,
    )


def _pct(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}%}"


def briefing_tables(result: Assessment, tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Display-ready tables for the briefing (shares as percent text), each with a ``source_ids`` column.

    Keys: ``chain``, ``self_sufficiency``, ``commitments``, ``scorecard``, ``exposure``,
    ``japan_trade``, ``cost_gap``. Drop ``source_ids`` before showing a table and pass the frame
    itself as its sources.
    """
    chain = pd.DataFrame(
        {
            "Stage": result.chain["label"],
            "Year": result.chain["year"].astype(int),
            "China": result.chain["china_share"].map(_pct),
            "Alliance": result.chain["alliance_share"].map(_pct),
            "Partner hosts": result.chain["partners_share"].map(_pct),
            "Alliance-owned in partner hosts": result.chain["alliance_in_partner_hosts_share"].map(_pct),
            "Others": result.chain["others_share"].map(_pct),
            "HHI (0-10,000)": result.chain["hhi"].round(0).astype(int),
            "Top-3 share": result.chain["top3_share"].map(_pct),
            "Partner hosts listed": result.chain["partners"].str.replace(";", ", ").replace("", "—"),
            "Includes estimates": result.chain["includes_estimates"],
            "source_ids": result.chain["source_ids"],
        }
    )
    suff = result.self_sufficiency
    self_sufficiency = pd.DataFrame(
        {
            "Stage": suff["label"],
            "Alliance capacity (t/yr)": suff["capacity_tpa"].round(0),
            "Capacity basis": suff["capacity_basis"],
            "Alliance demand (t/yr)": suff["demand_t"].round(0),
            "Demand basis (estimate)": suff["demand_basis"],
            "Capacity / demand": suff["self_sufficiency_ratio"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}"),
            "Alliance-owned, located in China (t/yr; not counted)": suff["alliance_owned_in_china_tpa"].map(
                lambda v: "—" if pd.isna(v) else f"{v:,.0f}"
            ),
            "source_ids": suff["source_ids"],
        }
    )
    commitments = _econ.partner_commitments(tables["frameworks"], tables["projects"]) if "frameworks" in tables else pd.DataFrame()
    if not commitments.empty:
        commitments = pd.DataFrame(
            {
                "Partner(s)": commitments["partner"],
                "Kind": commitments["kind"],
                "Commitment": commitments["item"],
                "US$ million": commitments["amount_musd"].round(0),
                "Date": commitments["date"].dt.date.astype("string").fillna("—"),
                "Conditional": commitments["conditional"],
                "source_ids": commitments["source_ids"],
            }
        )
    card = result.scorecard
    scorecard = pd.DataFrame(
        {
            "Pillar": card["pillar"].map(PILLAR_LABELS),
            "Indicator": card["indicator"].map(INDICATOR_LABELS),
            "Value": card["value"].map(lambda v: "not reached" if v is None or pd.isna(v) else f"{v:,.2f}"),
            "Unit": card["unit"],
            "Scale": card["thresholds"],
            "Score": card["score"].round(0).astype(int),
            "Inputs": card["inputs"],
            "source_ids": card["source_ids"],
        }
    )
    exp = result.exposure
    exposure_table = pd.DataFrame(
        {
            "Stage": exp["label"],
            "Bought from China": exp["direct_china_share"].map(_pct),
            "Licence: bought from China": exp["licence_share_direct"].map(_pct),
            "Licence: No. 61 rule": exp["licence_share_extraterritorial"].map(_pct),
            "Licence: total": exp["licence_share"].map(_pct),
            "Japan: denied (est.)": exp["denied_share_japan"].map(_pct),
            "Chinese technology barred": exp["technology_barred"],
            "Measures biting": exp["measures"].str.replace(";", ", ").replace("", "—"),
            "source_ids": exp["source_ids"],
        }
    )
    trade = tables["trade_exposure"]
    japan = trade[(trade["importer"] == "japan") & (trade["partner"] == "China")]
    japan = default_rows(japan)
    japan = japan.sort_values("year_end", kind="stable")
    qualifier = {"eq": "", "approx": "about ", "gt": "more than ", "lt": "less than ", "gte": "at least ", "lte": "at most "}
    japan_trade = pd.DataFrame(
        {
            "Period": japan["period"],
            "China's share of Japan's rare-earth imports": [
                f"{qualifier.get(str(q), '')}{v:.0%}"
                for q, v in zip(japan.get("share_qualifier", pd.Series("eq", index=japan.index)), japan["share"], strict=False)
            ],
            "Basis": japan["basis"] if "basis" in japan.columns else "",
            "source_ids": japan["source_ids"],
        }
    )
    cost = result.cost_gap
    cost_gap = pd.DataFrame(
        {
            "Instrument": cost["instrument"],
            "Volume covered": cost["covers"],
            "t/yr": cost["volume_t"].round(0),
            "Target US$/kg": cost["target_usd_per_kg"],
            "Market US$/kg": cost["market_usd_per_kg"],
            "US$ million per year": cost["cost_musd_per_year"].round(0),
            "source_ids": cost["source_ids"],
        }
    )
    return {
        "chain": chain,
        "self_sufficiency": self_sufficiency,
        "commitments": commitments,
        "scorecard": scorecard,
        "exposure": exposure_table,
        "japan_trade": japan_trade.reset_index(drop=True),
        "cost_gap": cost_gap,
    }
