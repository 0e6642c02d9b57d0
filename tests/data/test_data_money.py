"""Prices and money as the policy instruments work: ex-China benchmarks beside China's domestic price,
each price floor on the volume it covers, greenfield capex per tonne from comparable plants, and
public money marked by what it funds and counted once (fact base Part E, D46)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp


@pytest.fixture(scope="module")
def t():
    return dp.validate_package()


def _price(t, **key):
    pr = t["prices"]
    mask = pd.Series(True, index=pr.index)
    for k, v in key.items():
        mask &= pr[k] == v
    sub = pr[mask & pr["is_default"]]
    assert len(sub) == 1, (key, len(sub))
    return sub.iloc[0]


def test_ex_china_benchmarks_beside_china_domestic(t):
    eu_ndpr = _price(t, product="ndpr_oxide", price_type="europe", year=2025)
    assert (eu_ndpr["usd_per_kg"], eu_ndpr["usd_per_kg_high"]) == (82.5, 85) and eu_ndpr["market"] == "ex_china"
    assert eu_ndpr["price_date"] == pd.Timestamp("2025-09-25")
    dy, tb = _price(t, product="dy_oxide", price_type="europe", year=2025), _price(t, product="tb_oxide", price_type="europe", year=2025)
    assert (dy["usd_per_kg"], tb["usd_per_kg"]) == (800, 3625) and "CIF Europe" in dy["basis"]
    china = _price(t, product="ndpr_oxide", price_type="china_domestic", year=2026)
    assert china["price_date"] == pd.Timestamp("2026-01-29") and china["is_estimate"]
    # Part E: 740,000-748,000 yuan/t, VAT-inclusive, CNY 7.1 -> ~US$93/kg ex-VAT
    assert china["usd_per_kg_high"] == pytest.approx(748 / 1.13 / 7.1, abs=0.2) == pytest.approx(93, abs=0.5)
    assert 110 / china["usd_per_kg_high"] == pytest.approx(1.18, abs=0.01)  # the floor is ~18% above the China spot


def test_heavy_ree_europe_quotes_conflict_with_traded_prices(t):
    pr = t["prices"]
    group = pr[pr["conflict_group"] == "heavy_ree_europe_vs_traded"]
    weighted = group[group["price_type"] == "volume_weighted"].iloc[0]
    assert weighted["usd_per_kg"] == 224
    assert group[group["product"] == "dy_oxide"]["usd_per_kg"].max() / weighted["usd_per_kg"] > 3


def test_price_floors_cover_their_own_volumes(t):
    floors = t["price_floors"].set_index("floor_id")
    us = floors.loc["us_dod_mp_ndpr_floor"]
    assert us["payer_country"] == "United States" and us["beneficiary_project_id"] == "mp_mountain_pass"
    assert us["volume_kind"] == "company_output" and pd.isna(us["volume_tpa"])  # MP's NdPr only, not Energy Fuels
    assert us["usd_per_kg"] == 110 and us["start_date"] == pd.Timestamp("2025-10-01")
    assert us["observed_cost_musd"] == pytest.approx(51 + 42.3)
    jp = floors.loc["japan_jare_lynas_ndpr_floor"]
    assert jp["payer_country"] == "Japan" and (jp["usd_per_kg"], jp["volume_tpa"]) == (110, 5000)
    assert jp["start_date"] == pd.Timestamp("2026-03-10") and jp["end_date"].year == 2038
    # the floors and the price table agree
    pr = t["prices"][t["prices"]["price_type"] == "price_floor"]
    assert set(pr["usd_per_kg"]) == {110}


def test_greenfield_capex_per_tonne_from_comparable_plants(t):
    cx = t["capex_intensity"].set_index("capex_id")
    iluka = cx.loc["iluka_eneabba_reo"]
    fx = dp.descriptor()["fx_usd_per_unit"]["AUD"]
    assert iluka["usd_per_tpa"] == pytest.approx(1700e6 * fx / 17500, rel=1e-3)
    assert iluka["usd_per_tpa_high"] == pytest.approx(1800e6 * fx / 17500, rel=1e-3)
    assert 60_000 < iluka["usd_per_tpa"] < iluka["usd_per_tpa_high"] < 70_000 and iluka["dollar_year"] == 2024
    nolans = cx.loc["arafura_nolans_ndpr"]
    assert nolans["usd_per_tpa"] == pytest.approx(1600e6 * fx / 4440, rel=1e-3)
    greenfield = cx[cx["greenfield"] & cx["comparable"]]
    assert set(greenfield.index) == {"iluka_eneabba_reo", "arafura_nolans_ndpr"}
    # no brownfield retrofit dilutes the benchmark: Energy Fuels' US$16M Phase 1 is not a comparable plant
    assert "ef_white_mesa_phase1" not in set(cx["project_id"].dropna())
    assert greenfield["usd_per_tpa"].min() > 3 * 16e6 / 850
    assert (cx["dollar_year"] >= 2019).all()


def test_jare_money_counted_once_and_marked_as_separation_abroad(t):
    fw = t["frameworks"].set_index("framework_id")
    assert math.isnan(fw.loc["japan_lynas_jare", "commitment_musd"])
    money = t["framework_money"]
    jare = money[money["framework_id"] == "japan_lynas_jare"]
    assert jare["in_project_funding"].all() and set(jare["project_id"]) == {"lynas_lamp"}
    assert set(jare["funds"]) == {"separation_alliance_owned_abroad"}
    lamp = t["projects"].set_index("project_id").loc["lynas_lamp"]
    assert jare["amount_musd"].sum() == pytest.approx(lamp["funding_japan_musd"])


def test_money_marked_by_what_it_funds(t):
    p = t["projects"].set_index("project_id")
    assert p.loc["mp_10x", "funding_stage"] == "magnets"
    assert p.loc["arafura_nolans", "funding_other_instrument"] == "export_credit"  # Euler Hermes (Germany)
    assert p.loc["asm_dubbo", "funding_other_instrument"] == "export_credit"  # Export Development Canada
    money = t["framework_money"]
    assert set(money.loc[money["item"] == "alcoa_sojitz_gallium_equity", "funds"]) == {"non_rare_earth"}
    soil = money[money["funds"] == "separation_alliance_soil"]
    assert set(soil["project_id"]) <= set(p.index[p["country"].isin(["United States", "Japan", "Australia"])])
