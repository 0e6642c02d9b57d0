"""The whole alliance-feasibility assessment for one scenario: one call from parameters and tables to results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rare_earth_lib.data.views import default_rows, join_ids
from rare_earth_lib.domain import ATTRIBUTIONS, REFINING_STAGES
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.models import concentration as conc
from rare_earth_lib.models import demand as demand_model
from rare_earth_lib.models import exposure as expo
from rare_earth_lib.models.scorecard import controls, finance, supply
from rare_earth_lib.models.scorecard.indicators import feasibility_values
from rare_earth_lib.models.scorecard.scoring import (
    PILLAR_LABELS,
    bottleneck,
    build_scorecard,
    overall_index,
    pillar_scores,
    weakest_indicator,
)

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
    "framework_money",
    "price_floors",
)
"""The data-package tables :func:`assess` reads."""


@dataclass(frozen=True)
class Assessment:
    """Everything the alliance-feasibility briefing computes for one scenario.

    Attributes:
        params, as_of: the validated parameters and the data package's as-of date.
        shares_by_stage, chain: world shares by stage and the China / alliance summary (scenario attribution);
        chain_by_attribution: the summary by location and by owner, side by side.
        capacity: today's alliance capacity per plant, stage and country counted for (capacity model).
        capacity_groups: today's capacity per stage and group (alliance, alliance-owned in China, ...).
        self_sufficiency: like-for-like capacity / demand per stage, three demand cases.
        demand: the scenario's demand estimate per region and year; demand_cases: all three cases.
        exposure: licence exposure per stage under the scenario's regime (``by_regime`` holds both);
        branches: both regimes side by side; control_coding: how each measure is coded; control_states.
        direct_china: direct China supply share per stage.
        prices: price table (China-linked and ex-China); floors: floor costs per government;
        heavy_gap: Dy/Tb premium; subsidy: subsidy to the incentive price.
        capex_intensity: capex per t/yr of plants and expansions not yet producing; capex_gap: per product need, gap, capex range.
        public_money: pipeline money by project and funder, flagged when it counts against the gap.
        scorecard, pillars, overall_index, bottleneck: the scored result.
        figures: scalar inputs and results for text and metrics.
    """

    params: Any
    as_of: dt.date
    shares_by_stage: dict[str, pd.DataFrame]
    chain: pd.DataFrame
    chain_by_attribution: dict[str, pd.DataFrame]
    capacity: pd.DataFrame
    capacity_groups: pd.DataFrame
    self_sufficiency: pd.DataFrame
    demand: pd.DataFrame
    demand_cases: pd.DataFrame
    control_states: pd.DataFrame
    exposure: pd.DataFrame
    by_regime: dict[str, controls.Exposure]
    branches: pd.DataFrame
    control_coding: pd.DataFrame
    direct_china: pd.DataFrame
    prices: pd.DataFrame
    floors: pd.DataFrame
    heavy_gap: pd.DataFrame
    subsidy: pd.DataFrame
    capex_intensity: pd.DataFrame
    capex_gap: pd.DataFrame
    public_money: pd.DataFrame
    scorecard: pd.DataFrame
    pillars: pd.DataFrame
    overall_index: float
    bottleneck: str
    figures: dict[str, Any] = field(default_factory=dict)


def _ids(*values: Any) -> str:
    """One sorted source-id cell from any mix of cells, lists of cells and frames with a ``source_ids`` column."""
    cells: list[Any] = []
    for value in values:
        if isinstance(value, pd.DataFrame):
            cells += value["source_ids"].dropna().astype(str).tolist() if "source_ids" in value.columns else []
        elif isinstance(value, (list, tuple, pd.Series)):
            cells += [v for v in value if isinstance(v, str)]
        elif isinstance(value, str):
            cells.append(value)
    return join_ids(cells)


def _check(tables: Mapping[str, pd.DataFrame], coverage_years: Mapping[str, int | None]) -> None:
    for name in ("projects", "stage_shares", "mine_production", "demand", "export_controls", "prices", "trade_exposure"):
        if name not in tables:
            raise ValueError(f"tables: missing table {name!r}")
    for key in ("ndpr_oxide", "dytb_oxide"):
        if key not in coverage_years:
            raise ValueError(f"coverage_years: missing {key!r}")


def _total(per_region: pd.DataFrame, product: str, year: int) -> float:
    return float(per_region.loc[(per_region["product"] == product) & (per_region["year"] == year), "tonnes"].sum())


def _exposure(tables: Mapping[str, pd.DataFrame], p: Any, as_of: dt.date, per_region: pd.DataFrame, chain: pd.DataFrame) -> dict:
    on_date = dt.date(int(p.exposure_year), 1, 1)
    weights = controls.demand_weights(tables["demand"], per_region, int(p.start_year))
    direct = controls.direct_supply(tables["trade_exposure"], weights, chain, as_of.year)
    by_regime = {
        regime: controls.exposure_under(regime, tables["export_controls"], on_date, direct, weights, chain, p) for regime in expo.REGIMES
    }
    chosen = by_regime[p.controls_regime]
    states_as_of = expo.control_states_on(tables["export_controls"], as_of, p.controls_regime)
    return {
        "on_date": on_date,
        "by_regime": by_regime,
        "chosen": chosen,
        "branches": controls.branches(by_regime),
        "coding": controls.coding_table(tables["export_controls"], chosen.states, as_of, on_date),
        "counts": controls.restriction_counts(chosen.states),
        "counts_as_of": controls.restriction_counts(states_as_of),
    }


def _money(
    tables: Mapping[str, pd.DataFrame], p: Any, as_of: dt.date, per_region: pd.DataFrame, plants: pd.DataFrame, projects: pd.DataFrame
) -> dict:
    gap_year = int(p.gap_year)
    prices = finance.price_table(tables["prices"], as_of.year, int(p.market_price_year))
    market, market_ids, market_label = finance.market_price(prices, "ndpr_oxide", p.market_price_basis)
    basis_key = "europe" if p.market_price_basis == "ex_china" else "annual_average"
    chosen = prices[(prices["product"] == "ndpr_oxide") & (prices["basis"] == basis_key)]
    market_date = str(chosen["price_date"].iloc[0]) if not chosen.empty else ""
    incentive_rows = default_rows(
        tables["prices"][
            (tables["prices"]["product"] == "ndpr_oxide") & tables["prices"]["price_type"].isin(["incentive_low", "incentive_high"])
        ]
    )
    low = float(incentive_rows.loc[incentive_rows["price_type"] == "incentive_low", "usd_per_kg"].min())
    high = float(incentive_rows.loc[incentive_rows["price_type"] == "incentive_high", "usd_per_kg"].max())
    incentive = {"low": low, "mid": (low + high) / 2, "high": high}[p.incentive_price_basis]
    floor_rows = default_rows(
        tables["prices"][(tables["prices"]["product"] == "ndpr_oxide") & (tables["prices"]["price_type"] == "price_floor")]
    )
    floor = float(floor_rows["usd_per_kg"].max())
    need = {product: p.coverage_threshold * _total(per_region, product, gap_year) for product in ("ndpr_oxide", "dytb_oxide")}
    us_floor = plants[(plants["project_id"] == p.us_floor_project_id) & (plants["stage"] == "separation")]["today_tpa"].sum()
    floors = finance.floor_costs(
        tables["prices"],
        floor,
        market,
        market_ids,
        {"us_floor_t": us_floor, "japan_floor_t": p.japan_floor_volume_t, "alliance_need_t": need["ndpr_oxide"]},
        p,
        market_label,
        tables.get("price_floors"),
    )
    subsidy = pd.DataFrame(
        [
            {
                "instrument": "Subsidy to the incentive price",
                "covers": f"the alliance's NdPr need in {gap_year}",
                "volume_t": need["ndpr_oxide"],
                "target_usd_per_kg": incentive,
                "market_usd_per_kg": market,
                "cost_musd_per_year": finance.econ.price_gap_subsidy_musd(incentive, market, need["ndpr_oxide"]),
                "source_ids": _ids(market_ids, incentive_rows),
            }
        ]
    )
    heavy_gap = finance.heavy_cost_gap(prices, _total(per_region, "dytb_oxide", gap_year), p.dy_share_of_dytb_demand)
    return {
        "prices": prices,
        "market": market,
        "market_label": market_label,
        "market_date": market_date,
        "market_ids": market_ids,
        "incentive": incentive,
        "floor": floor,
        "floors": floors,
        "subsidy": subsidy,
        "heavy_gap": heavy_gap,
        "need": need,
        "incentive_ids": join_ids(incentive_rows),
    }


def _capex(projects: pd.DataFrame, p: Any, need: Mapping[str, float], plants: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    intensity = finance.greenfield_capex(capacity_model.fill_missing(projects, p), p.fx_to_usd())
    rows = []
    for product, stage in zip(("ndpr_oxide", "dytb_oxide"), REFINING_STAGES, strict=True):
        have = float(plants[(plants["stage"] == stage) & (plants["group"] == capacity_model.GROUP_ALLIANCE)]["today_tpa"].sum())
        gap = max(0.0, need[product] - have)
        per_t = finance.capex_range(intensity, product)
        plants_behind = per_t.pop("plants")
        row = {"product": product, "needed_tpa": need[product], "operating_tpa": have, "gap_tpa": gap, "plants": plants_behind}
        row.update({f"usd_per_tpa_{k}": v for k, v in per_t.items()})
        row.update({f"capex_musd_{k}": gap * v / 1e6 if pd.notna(v) else float("nan") for k, v in per_t.items()})
        row["source_ids"] = join_ids(intensity[intensity["product"] == product])
        rows.append(row)
    return intensity, pd.DataFrame(rows)


def assess(
    tables: Mapping[str, pd.DataFrame],
    params: Any,
    as_of: dt.date,
    coverage_years: Mapping[str, int | None],
    coverage_by_case: Mapping[str, Mapping[str, int | None]] | None = None,
) -> Assessment:
    """Run the whole alliance-feasibility assessment for one scenario.

    Args:
        tables: the data package's tables by name (see :data:`ASSESSMENT_TABLES`; frameworks optional).
        params: the alliance_feasibility ``Params``.
        as_of: the data package's as-of date.
        coverage_years: ``{"ndpr_oxide": year or None, "dytb_oxide": year or None}``: the median year the
            timeline model gives for covering ``coverage_threshold`` of demand in the scenario (None = never).
        coverage_by_case: the same per demand case (low, central, high), for the figures.

    Raises:
        ValueError: a missing table or coverage year key (naming it).
    """
    _check(tables, coverage_years)
    p, projects, today = params, tables["projects"], int(params.start_year)
    years = sorted({today, int(p.gap_year), int(as_of.year)})
    per_region = demand_model.scenario_demand(tables["demand"], years, p)
    cases = demand_model.demand_range(tables["demand"], years, p)
    shares = supply.stage_shares(tables, today, p.magnet_re_content_share)
    # each attribution's summary once: the scenario's own one is also the chain the briefing shows
    by_attribution = {a: conc.concentration_summary(shares, projects, a) for a in ATTRIBUTIONS}
    chain = supply.chain_summary(tables, shares, by_attribution[p.attribution], today)
    plants = capacity_model.today_plants(projects, p, as_of)
    groups = capacity_model.groups_of(plants)
    suff = supply.self_sufficiency(tables, plants, groups, cases, today)
    ex = _exposure(tables, p, as_of, per_region, chain)
    money = _money(tables, p, as_of, per_region, plants, projects)
    intensity, capex_gap = _capex(projects, p, money["need"], plants)
    funds = finance.public_money(projects, p)
    extra = finance.framework_project_money(tables.get("framework_money"), p)
    funds = pd.concat([funds, extra], ignore_index=True) if not extra.empty else funds
    fw_counted, fw_committed, fw_us, fw_ids = finance.framework_money(tables.get("frameworks"), p)
    parts = {"tables": tables, "p": p, "as_of": as_of, "today": today, "per_region": per_region, "chain": chain, "ex": ex}
    parts.update({"money": money, "capex_gap": capex_gap, "funds": funds, "framework": (fw_counted, fw_committed, fw_us, fw_ids)})
    card, figures = _score(parts, coverage_years)
    figures.update(_figures(parts, suff, plants, coverage_years, coverage_by_case))
    figures.update(capacity_model.metrics_of(plants))
    figures.update(summarise_scorecard(card))
    pillars = pillar_scores(card)
    capacity = plants[(plants["group"] == capacity_model.GROUP_ALLIANCE) & (plants["today_tpa"] > 0)]
    return Assessment(
        params=p,
        as_of=as_of,
        shares_by_stage=shares,
        chain=chain,
        chain_by_attribution=by_attribution,
        capacity=capacity.assign(capacity_tpa=capacity["today_tpa"]).reset_index(drop=True),
        capacity_groups=groups,
        self_sufficiency=suff,
        demand=per_region,
        demand_cases=cases,
        control_states=ex["chosen"].states,
        exposure=ex["chosen"].exposure,
        by_regime=ex["by_regime"],
        branches=ex["branches"],
        control_coding=ex["coding"],
        direct_china=ex["chosen"].direct,
        prices=money["prices"],
        floors=money["floors"],
        heavy_gap=money["heavy_gap"],
        subsidy=money["subsidy"],
        capex_intensity=intensity,
        capex_gap=capex_gap,
        public_money=funds,
        scorecard=card,
        pillars=pillars,
        overall_index=overall_index(card),
        bottleneck=bottleneck(card),
        figures=figures,
    )


def _score(parts: dict, coverage_years: Mapping[str, int | None]) -> tuple[pd.DataFrame, dict]:
    """Indicator values, the scored card, and the figures the card rests on."""
    p, tables, chain, ex, money = parts["p"], parts["tables"], parts["chain"], parts["ex"], parts["money"]
    china = chain.set_index("stage")["china_share"]
    mine = default_rows(tables["mine_production"])
    aus = supply.latest(mine[mine["country"] == "Australia"], parts["today"])
    funds = parts["funds"]
    fw_counted, fw_committed, fw_us, fw_ids = parts["framework"]
    public = float(funds["counts"].sum())
    capex_needed = float(parts["capex_gap"]["capex_musd_central"].fillna(0).sum())
    us_share = finance.us_share_of_money(funds, fw_committed, fw_us)
    effective_floor = money["market"] + max(0.0, money["floor"] - money["market"]) * p.us_support_factor()
    licence_mean = expo.mean_licence_share(ex["chosen"].exposure)
    as_of_year = parts["as_of"].year
    inputs = {
        "australia_mine_t_reo": float(aus["tonnes_reo"].iloc[0]),
        "ore_ndpr_share_of_reo": p.ndpr_share_of_reo_capacity,
        "ore_dytb_share_of_reo": p.dytb_share_of_reo_capacity,
        "alliance_ndpr_demand_t": _total(parts["per_region"], "ndpr_oxide", parts["today"]),
        "alliance_dytb_demand_t": _total(parts["per_region"], "dytb_oxide", parts["today"]),
        "china_separation_share": float(china["separation"]),
        "china_heavy_separation_share": float(china["heavy_separation"]),
        "technology_measures_in_force": ex["counts"]["technology_in_force"],
        "technology_measures_total": ex["counts"]["technology_total"],
        "market_usd_per_kg": money["market"],
        "incentive_usd_per_kg": money["incentive"],
        "effective_floor_usd_per_kg": effective_floor,
        "public_money_musd": public,
        "capex_needed_musd": capex_needed,
        "years_to_ndpr_coverage": None if coverage_years["ndpr_oxide"] is None else max(0.0, coverage_years["ndpr_oxide"] - as_of_year),
        "years_to_dytb_coverage": None if coverage_years["dytb_oxide"] is None else max(0.0, coverage_years["dytb_oxide"] - as_of_year),
        "licence_exposure_share": licence_mean,
        "us_share_of_public_money": us_share,
        "us_reversal_probability": p.us_reversal_chance(),
    }
    ids = {
        "mine": join_ids(aus),
        "demand": _ids(parts["per_region"]),
        "separation": chain.set_index("stage").at["separation", "source_ids"],
        "heavy_separation": chain.set_index("stage").at["heavy_separation", "source_ids"],
        "controls": join_ids(ex["chosen"].states),
        "price": money["market_ids"],
        "incentive": money["incentive_ids"],
        "floor": join_ids(money["floors"]),
        "funding": join_ids(funds[funds["separation_in_alliance"]]),
    }
    values, texts = feasibility_values(source_ids=ids, **inputs)
    for product, key in (("ndpr_oxide", "years_to_ndpr_coverage"), ("dytb_oxide", "years_to_dytb_coverage")):
        texts[key] += f" Median year {coverage_years[product] or 'not reached'}; threshold {p.coverage_threshold:.0%} of demand."
    card = build_scorecard(values, p, texts)
    card["source_ids"] = card["indicator"].map(_card_ids(ids, parts))
    figures = {
        "public_money_musd": public,
        "public_money_apart_musd": float(funds["counted_musd"].sum()) - public,
        "framework_money_musd": fw_counted,
        "framework_ids": fw_ids,
        "capex_needed_musd": capex_needed,
        "us_share_of_public_money": us_share,
        "effective_floor_usd_per_kg": effective_floor,
        "licence_exposure_mean": licence_mean,
        "australia_mine_t_reo": inputs["australia_mine_t_reo"],
        "technology_controls_in_force": ex["counts"]["technology_in_force"],
        "technology_controls_total": ex["counts"]["technology_total"],
    }
    return card, figures


def _card_ids(ids: Mapping[str, str], parts: dict) -> dict[str, str]:
    demand = ids["demand"]
    return {
        "light_ore_coverage": join_ids([ids["mine"], demand]),
        "heavy_ore_coverage": join_ids([ids["mine"], demand]),
        "nonchina_separation_share": ids["separation"],
        "nonchina_heavy_separation_share": ids["heavy_separation"],
        "technology_controls_in_force": ids["controls"],
        "market_to_incentive_price": join_ids([ids["price"], ids["incentive"]]),
        "floor_to_incentive_price": join_ids([ids["floor"], ids["incentive"]]),
        "public_money_to_capex": _ids(ids["funding"], parts["capex_gap"]),
        "years_to_ndpr_coverage": demand,
        "years_to_dytb_coverage": demand,
        "licence_exposure_share": _ids(ids["controls"], parts["ex"]["chosen"].direct),
        "us_funding_at_risk": _ids(parts["funds"], parts["framework"][3]),
    }


def _figures(parts: dict, suff: pd.DataFrame, plants: pd.DataFrame, coverage_years: Mapping, coverage_by_case: Mapping | None) -> dict:
    p, chain, ex, money = parts["p"], parts["chain"], parts["ex"], parts["money"]
    by_stage = chain.set_index("stage")
    s = suff.set_index("stage")
    states = ex["chosen"].states
    suspension_end = states["suspended_until"].dropna().max() if states["suspended_until"].notna().any() else None
    out: dict[str, Any] = {
        "as_of_year": parts["as_of"].year,
        "today_year": parts["today"],
        "gap_year": int(p.gap_year),
        "exposure_date": ex["on_date"].isoformat(),
        "controls_regime": p.controls_regime,
        "suspension_end": pd.Timestamp(suspension_end).date().isoformat() if suspension_end is not None else None,
        "controls_in_force": ex["counts"]["in_force"],
        "controls_suspended": ex["counts"]["suspended"],
        "controls_in_force_as_of": ex["counts_as_of"]["in_force"],
        "controls_suspended_as_of": ex["counts_as_of"]["suspended"],
        "market_usd_per_kg": money["market"],
        "market_label": money["market_label"],
        "incentive_usd_per_kg": money["incentive"],
        "floor_usd_per_kg": money["floor"],
        "subsidy_musd_per_year": float(money["subsidy"]["cost_musd_per_year"].sum()),
        "floor_cost_musd_per_year": float(money["floors"]["cost_musd_per_year"].sum()),
        "heavy_premium_musd_per_year": float(money["heavy_gap"]["cost_musd_per_year"].sum()),
        "coverage_ndpr_year": coverage_years["ndpr_oxide"],
        "coverage_dytb_year": coverage_years["dytb_oxide"],
    }
    for row in money["floors"].itertuples():
        key = row.government.lower().replace(" ", "_")
        out[f"floor_cost_{key}_musd"] = float(row.cost_musd_per_year)
        if row.observed_period:
            out[f"floor_observed_{key}_musd"] = float(row.observed_musd)
            out[f"floor_observed_{key}_period"] = row.observed_period
            out[f"floor_observed_{key}_musd_per_year"] = float(row.observed_musd_per_year)
    out["market_price_date"] = money["market_date"]
    for stage in ("mining", "separation", "heavy_separation", "metal_alloy", "magnet"):
        out[f"china_{stage}_share"] = float(by_stage.at[stage, "china_share"])
        out[f"china_{stage}_share_year"] = int(by_stage.at[stage, "year"])
        derived_year = by_stage.at[stage, "china_share_derived_year"]
        if pd.notna(derived_year):
            out[f"china_{stage}_share_derived"] = float(by_stage.at[stage, "china_share_derived"])
            out[f"china_{stage}_share_derived_year"] = int(derived_year)
        out[f"alliance_{stage}_share"] = float(by_stage.at[stage, "alliance_share"])
    for product, stage in (("ndpr", "separation"), ("dytb", "heavy_separation")):
        for case in demand_model.DEMAND_CASES:
            out[f"{product}_self_sufficiency_{case}"] = float(s.at[stage, f"ratio_{case}"])
            out[f"{product}_demand_today_{case}_t"] = float(s.at[stage, f"demand_{case}_t"])
        out[f"{product}_demand_gap_year_t"] = _total(parts["per_region"], f"{product}_oxide", int(p.gap_year))
    for row in ex["chosen"].exposure.itertuples(index=False):
        out[f"licence_share_{row.stage}"] = float(row.licence_share)
    for case, years in (coverage_by_case or {}).items():
        for product, year in years.items():
            out[f"coverage_{product.split('_')[0]}_year_{case}"] = year
    return out


def summarise_scorecard(card: pd.DataFrame) -> dict[str, Any]:
    """Overall index, bottleneck pillar and its weakest indicator, as plain values for text."""
    pillars = pillar_scores(card)
    weakest = bottleneck(card)
    return {
        "overall_index": overall_index(card),
        "bottleneck": weakest,
        "bottleneck_label": PILLAR_LABELS[weakest],
        "bottleneck_score": float(pillars.set_index("pillar").at[weakest, "score"]),
        "weakest_indicator": str(weakest_indicator(card, weakest)["indicator"]),
    }
