"""Cross-checks of package figures against the fact base (derived figures recomputed from the rows)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp


def _one(frame: pd.DataFrame, **key) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in key.items():
        mask &= frame[k] == v
    sub = frame[mask]
    assert len(sub) == 1, (key, len(sub))
    return sub.iloc[0]


@pytest.fixture(scope="module")
def t():
    return dp.validate_package(dp.DEFAULT_DATA_DIR)


def test_china_2025_mine_share_is_69_percent(t):
    mp = t["mine_production"]
    default = mp[mp["is_default"]]
    china = _one(default, country="China", year=2025)["tonnes_reo"]
    world = _one(default, country="World", year=2025)["tonnes_reo"]
    assert (china, world) == (270_000, 390_000)
    assert round(china / world, 2) == 0.69
    derived = _one(t["stage_shares"], stage="mining", region="China", year=2025, is_default=True)
    assert derived["share"] == pytest.approx(china / world, abs=1e-4)
    # ResearchAndMarkets quotes 69.2% / 13.1% / 7.4% [S96]
    quoted = t["stage_shares"][t["stage_shares"]["source_ids"] == "S96"].set_index("region")["share"]
    for region, share in quoted.items():
        tonnes = _one(default, country=region, year=2025)["tonnes_reo"]
        assert tonnes / world == pytest.approx(share, abs=0.0006)


def test_us_net_import_reliance_2025_and_revision(t):
    us = t["us_salient"]
    nir = us[us["metric"] == "net_import_reliance_compounds_metals"]
    assert _one(nir, year=2025, is_default=True)["value"] == 67
    assert _one(nir, year=2024, is_default=True)["value"] == 53
    old = _one(nir, year=2024, usgs_edition=2025)
    assert old["value"] == 80 and not old["is_default"]
    # net import reliance is consistent with apparent consumption and production of compounds and metals
    cons = _one(us, metric="apparent_consumption_compounds_metals", year=2025)["value"]
    prod = _one(us, metric="production_compounds_metals", year=2025, usgs_edition=2026)["value"]
    assert round(100 * (cons - prod) / cons) == 67


def test_world_2024_revision_between_editions(t):
    mp = t["mine_production"]
    w = mp[(mp["country"] == "World") & (mp["year"] == 2024)].set_index("usgs_edition")
    assert w.loc[2025, "tonnes_reo"] == 390_000 and w.loc[2026, "tonnes_reo"] == 380_000
    assert w.loc[2026, "is_default"] and not w.loc[2025, "is_default"]
    aus = mp[(mp["country"] == "Australia") & (mp["year"] == 2024)].set_index("usgs_edition")["tonnes_reo"]
    assert (aus[2025], aus[2026]) == (13_000, 29_000)


def test_every_country_year_has_one_default_from_the_newest_edition(t):
    mp = t["mine_production"]
    newest = mp.groupby(["country", "year"])["usgs_edition"].transform("max")
    pd.testing.assert_series_equal(mp["is_default"], mp["usgs_edition"] == newest, check_names=False)


def test_eneabba_capex_range_and_funding(t):
    p = _one(t["projects"], project_id="iluka_eneabba")
    assert (p["capex_value"], p["capex_high_value"], p["capex_currency"]) == (1700, 1800, "AUD")
    a = _one(t["build_analogs"], analog_id="iluka_eneabba")
    assert (a["capex_planned"], a["capex_planned_high"], a["capex_actual"], a["capex_actual_high"]) == (1000, 1200, 1700, 1800)
    # A$1.25bn + A$0.4bn = A$1.65bn at the stated rate
    fx = dp.descriptor()["fx_usd_per_unit"]["AUD"]
    assert p["funding_australia_musd"] == pytest.approx(1650 * fx)
    # capex intensity A$97-103k per tpa REO on 17.5 kt (fact base 7c)
    assert round(p["capex_value"] * 1e3 / p["capacity_tpa"]) == 97
    assert round(p["capex_high_value"] * 1e3 / p["capacity_tpa"]) == 103


def test_no61_suspended_until_2026_11_10(t):
    ec = _one(t["export_controls"], measure_id="mofcom_61_2025")
    assert ec["status"] == "suspended"
    assert ec["suspended_until"] == pd.Timestamp("2026-11-10")
    assert ec["suspended_from"] == pd.Timestamp("2025-11-07")
    assert ec["effective_date"] == pd.Timestamp("2025-12-01")
    assert ec["de_minimis_value_share"] == 0.001 and ec["technology_rule"]
    n18 = _one(t["export_controls"], measure_id="mofcom_18_2025")
    n57 = _one(t["export_controls"], measure_id="mofcom_57_2025")
    controlled = set(n18["elements"].split(";")) | set(n57["elements"].split(";"))
    assert len(controlled) == 12  # "12 of 17 REEs are controlled"
    assert n18["status"] == "in_force"


def test_lynas_heavy_ree_derivations(t):
    p = t["projects"].set_index("project_id")
    new = p.loc["lynas_malaysia_hre_new"]
    assert new["dytb_oxide_tpa"] == pytest.approx(new["capacity_tpa"] * (0.05 + 0.01)) == 300
    assert new["capacity_is_estimate"] and "5% Dy" in new["capacity_method"]
    circuit = p.loc["lynas_lamp_hre_circuit"]
    assert circuit["dytb_oxide_tpa"] == pytest.approx(1500 * 0.06)


def test_planned_ex_china_dytb_about_800_tpa(t):
    p = t["projects"].set_index("project_id")
    total = p.loc[["lynas_malaysia_hre_new", "mp_hre_circuit", "ef_phase2"], "dytb_oxide_tpa"].sum()
    assert total == pytest.approx(800, abs=10)  # fact base D6: "~800 t/y Dy+Tb"


def test_build_analog_ramp_up_utilisation(t):
    a = t["build_analogs"].set_index("analog_id")
    moly = a.loc["molycorp_phoenix"]
    assert moly["peak_output_tpa"] / moly["nameplate_tpa"] == pytest.approx(0.25, abs=0.005)
    assert moly["capex_planned"] == 781 and moly["capex_actual"] == 1700
    lamp = a.loc["lynas_lamp"]
    assert lamp["first_year_utilisation"] == pytest.approx(0.27, abs=0.005)
    # LAMP first feed slipped ~14 months against the Q3 2011 target
    slip_months = (lamp["actual_first_output_date"] - lamp["planned_first_output_date"]).days / 30.44
    assert 14 <= slip_months <= 16


def test_kalgoorlie_announcement_to_first_feed_4_6_years(t):
    a = _one(t["build_analogs"], analog_id="lynas_kalgoorlie")
    years = (a["actual_first_output_date"] - a["decision_date"]).days / 365.25
    assert years == pytest.approx(4.6, abs=0.1)


def test_us_share_of_china_magnet_exports(t):
    f = t["trade_flows"]
    us = _one(f, exporter="China", importer="United States", period="2024")["tonnes"]
    world = _one(f, exporter="China", importer="World", period="2024")["tonnes"]
    assert round(100 * us / world, 1) == 12.8
    us20 = _one(f, exporter="China", importer="United States", period="2020")["tonnes"]
    world20 = _one(f, exporter="China", importer="World", period="2020")["tonnes"]
    assert round(100 * us20 / world20, 1) == 13.7


def test_us_import_sources_2021_2024(t):
    te = t["trade_exposure"]
    rows = te[(te["importer"] == "united_states") & (te["product"] == "ree_compounds_metals") & (te["period"] == "2021-2024")]
    assert rows.set_index("partner")["share"]["China"] == 0.71
    assert rows["share"].sum() == pytest.approx(1.0)


def test_japan_demand_derivations(t):
    d = t["demand"]
    jp = d[d["region"] == "japan"]
    assert _one(jp, product="ree_total", year=2024)["tonnes"] == 18_835
    assert _one(jp, product="ree_total", year=2023)["tonnes"] == pytest.approx(18_835 / 1.146, abs=50)
    assert _one(jp, product="ndpr_oxide", year=2023)["tonnes"] == pytest.approx(5_500 / 1.052, abs=10)
    assert _one(jp, product="dytb_oxide", year=2024)["tonnes"] == pytest.approx(0.65 * 90 / 0.30)


def test_us_dy_tb_demand_energy_fuels_basis(t):
    d = t["demand"]
    us = d[(d["region"] == "united_states") & (d["year"] == 2025)]
    dy = _one(us, product="dy_oxide")["tonnes"]
    tb = _one(us, product="tb_oxide")["tonnes"]
    assert dy == pytest.approx(92 / 0.34, abs=5) and tb == pytest.approx(16 / 0.23, abs=1)
    assert _one(us, product="dytb_oxide")["tonnes"] == pytest.approx(dy + tb, abs=1)
    ndpr30 = _one(d, region="united_states", product="ndpr_oxide", year=2030)["tonnes"]
    assert ndpr30 == pytest.approx(6000 / 0.45, abs=50)


def test_magnet_ree_demand_iea(t):
    d = t["demand"]
    w = d[(d["region"] == "world") & (d["product"] == "magnet_ree")].set_index("year")["tonnes"]
    assert (w[2023], w[2030], w[2050]) == (93_000, 131_000, 181_000)
    assert w[2030] / w[2023] - 1 == pytest.approx(0.41, abs=0.01)


def test_prices_and_floor(t):
    pr = t["prices"]
    ndpr = pr[(pr["product"] == "ndpr_oxide") & (pr["price_type"] == "annual_average")].set_index("year")["usd_per_kg"]
    assert (ndpr[2024], ndpr[2025]) == (55, 69)
    floor = _one(pr, product="ndpr_oxide", price_type="price_floor", year=2025)
    assert floor["usd_per_kg"] == 110 and floor["price_date"] == pd.Timestamp("2025-10-01")
    china = _one(pr, price_id="ndpr_oxide_china_domestic_2025_1")["usd_per_kg"]  # the July 2025 benchmark
    assert 1.75 <= floor["usd_per_kg"] / china <= 2.0  # "nearly double"


def test_frameworks_money_and_deadlines(t):
    fw = t["frameworks"].set_index("framework_id")
    assert fw.loc["us_australia_2025", "signed_date"] == pd.Timestamp("2025-10-20")
    assert fw.loc["us_japan_2025", "signed_date"] == pd.Timestamp("2025-10-28")
    assert fw.loc["quad_cmi_2025", "signed_date"] == pd.Timestamp("2025-07-01")
    assert fw.loc["us_australia_2025", "deadline_date"] == fw.loc["us_australia_2025", "signed_date"] + pd.DateOffset(months=6)
    money = t["framework_money"]
    au = money[(money["framework_id"] == "us_australia_2025") & money["is_default"]].set_index("item")["amount_musd"]
    assert au["within_6_months_total"] == 2 * 1000 and au["project_pipeline"] == 8500
    wh = _one(money, framework_id="us_australia_2025", item="within_6_months_total", is_default=False)
    assert wh["amount_musd"] == 3000 and wh["source_ids"] == "S91d"


def test_reserves_world_lower_bound_and_brazil_cut(t):
    r = t["reserves"]
    cur = r[(r["usgs_edition"] == 2026) & ~r["is_world_total"]]
    assert cur["tonnes_reo"].sum() == pytest.approx(75_290_000)
    assert _one(r, country="World", usgs_edition=2026)["tonnes_reo"] == 75_000_000
    br = r[r["country"] == "Brazil"].set_index("usgs_edition")["tonnes_reo"]
    assert (br[2025], br[2026]) == (21_000_000, 11_000_000)


def test_japan_china_import_share_conflict_kept(t):
    te = t["trade_exposure"]
    jp = te[(te["importer"] == "japan") & (te["partner"] == "China")]
    r2024 = jp[jp["year_end"] == 2024]
    assert set(r2024["share"]) == {0.70, 0.796}
    assert _one(r2024, is_default=True)["source_ids"] == "S25"
    assert _one(jp, year_end=2025)["share_qualifier"] == "lt"


def test_projects_cover_the_pipeline_tables(t):
    p = t["projects"]
    assert len(p) >= 25
    expected = {
        "lynas_mt_weld",
        "lynas_kalgoorlie",
        "lynas_lamp",
        "lynas_malaysia_hre_new",
        "lynas_jslink_magnet",
        "iluka_eneabba",
        "arafura_nolans",
        "asm_dubbo",
        "asm_korean_metals_plant",
        "hastings_yangibana",
        "vhm_goschen",
        "mp_mountain_pass",
        "mp_hre_circuit",
        "mp_independence",
        "mp_10x",
        "mp_apple_recycling",
        "ef_white_mesa_phase1",
        "ef_phase2",
        "usar_stillwater",
        "usar_round_top",
        "ucore_louisiana",
        "noveon_san_marcos",
        "vulcan_reelement",
        "lynas_seadrift",
        "shin_etsu_takefu",
        "shin_etsu_vietnam",
        "tdk_guangdong_jv",
        "minamitorishima_mud",
        "alcoa_sojitz_gallium",
        "solvay_la_rochelle",
        "neo_silmet",
        "neo_narva",
        "serra_verde",
        "lynas_lamp_hre_circuit",
        "ef_white_mesa_hre_pilot",
    }
    assert expected <= set(p["project_id"])
    analogs = set(t["build_analogs"]["analog_id"])
    assert {
        "lynas_lamp",
        "lynas_kalgoorlie",
        "molycorp_phoenix",
        "mp_stage2",
        "iluka_eneabba",
        "arafura_nolans",
        "solvay_la_rochelle",
        "neo_narva",
        "ef_phase1",
        "shin_etsu_vietnam",
        "usar_stillwater",
        "lynas_texas",
    } <= analogs


def test_estimates_carry_a_method(t):
    p = t["projects"]
    assert p.loc[p["capacity_is_estimate"], "capacity_method"].notna().all()
    d = t["demand"]
    assert d.loc[d["is_estimate"], "method"].notna().all()
    assert (d.loc[d["kind"] == "derived", "is_estimate"]).all()
    unverified = d[d["outlook"].str.contains("UNVERIFIED")]
    assert len(unverified) == 1 and unverified["is_estimate"].all()


def test_funding_conversions_use_stated_rates(t):
    fx = dp.descriptor()["fx_usd_per_unit"]
    p = t["projects"].set_index("project_id")
    assert p.loc["hastings_yangibana", "funding_australia_musd"] == pytest.approx(140 * fx["AUD"])
    assert p.loc["neo_narva", "funding_other_musd"] == pytest.approx(18.75 * fx["EUR"])
    assert p.loc["minamitorishima_mud", "funding_japan_musd"] == pytest.approx(40_000 * fx["JPY"])
    assert math.isclose(p.loc["lynas_lamp", "funding_japan_musd"], 250 + 9 + 200 * fx["AUD"])


def test_chain_output_derivations(t):
    co = t["chain_output"]
    japan_2010 = _one(co, region="Japan", product="ndfeb_sintered", period="2010")["tonnes"]
    world_2010 = _one(co, region="World", product="ndfeb_sintered", period="2010")["tonnes"]
    assert japan_2010 == pytest.approx(0.193 * world_2010, abs=100)
    assert _one(co, entity="MP Materials", product="ndpr_oxide", period="Q3 2025 (annualised)")["tonnes"] == 721 * 4
    # China's 2024 mining quota equals the USGS China 2024 figure (USGS reports the quota)
    quota = _one(co, product="mining_quota", year=2024)["tonnes"]
    mp = t["mine_production"]
    assert quota == _one(mp, country="China", year=2024, is_default=True)["tonnes_reo"]
    # Lynas LAMP FY25 NdPr output against its 10,500 t nameplate
    lynas = _one(co, entity="Lynas", product="ndpr_oxide", period="FY25")["tonnes"]
    nameplate = _one(t["projects"], project_id="lynas_lamp")["ndpr_oxide_tpa"]
    assert round(lynas / nameplate, 2) == 0.62
    # China monthly Dy oxide run rate x 12 is the world Dy proxy in demand
    dy = _one(co, region="China", product="dy_oxide", period="Jun 2024")["tonnes"]
    proxy = _one(t["demand"], region="world", product="dy_oxide", year=2024)["tonnes"]
    assert proxy == dy * 12


def test_lynas_heavy_ree_capacities_are_labelled_low_confidence_estimates(t):
    # fact base D6 / D8.10 / E2: Lynas discloses no Dy/Tb volumes; 90 t and 300 t are feed x assumed grade
    p = t["projects"].set_index("project_id")
    for project in ("lynas_lamp_hre_circuit", "lynas_malaysia_hre_new"):
        row = p.loc[project]
        assert row["capacity_is_estimate"]
        assert row["capacity_estimate_label"].startswith("estimate: ")
        assert "feed" in row["capacity_estimate_label"] and "low confidence" in row["capacity_estimate_label"]
    assert p.loc[p["capacity_is_estimate"], "capacity_estimate_label"].str.startswith("estimate: ").all()


def test_plants_counted_without_observed_output_say_so(t):
    # Part E E1c: Energy Fuels' 2025 NdPr output not found; Shin-Etsu's Vietnam refinery: a 2012 plan, no output figure
    p = t["projects"].set_index("project_id")
    assert "no 2025-26 NdPr output found" in p.loc["ef_white_mesa_phase1", "capacity_note"]
    assert p.loc["ef_white_mesa_phase1", "observed_output_kind"] == "campaign"
    assert "no observed output found" in p.loc["shin_etsu_vietnam_refining", "capacity_note"]
    assert pd.isna(p.loc["shin_etsu_vietnam_refining", "observed_output_tpa"])


def test_funding_dates_are_when_the_money_was_committed(t):
    # fact base: DoD US$9.6M Dec 2020; Commerce LOI 26 Jan 2026; DoD US$258M Jul 2023; Arafura Mar 2024 - Oct 2025
    p = t["projects"].set_index("project_id")
    assert p.loc["mp_mountain_pass", "funding_date"] == pd.Timestamp("2020-12-15")
    assert p.loc["mp_mountain_pass", "funding_date"] != p.loc["mp_mountain_pass", "announced_date"]
    assert p.loc["usar_stillwater", "funding_date"] == pd.Timestamp("2026-01-26")
    assert p.loc["lynas_seadrift", "funding_date"] == pd.Timestamp("2023-07-15")
    assert "Jul 2023" in p.loc["lynas_seadrift", "funding_dates_as_stated"]
    arafura = p.loc["arafura_nolans", "funding_dates_as_stated"]
    assert "Mar 2024" in arafura and "Oct 2025" in arafura
    funded = (p[["funding_us_musd", "funding_japan_musd", "funding_australia_musd", "funding_other_musd"]].fillna(0) > 0).any(axis=1)
    assert p.loc[funded, "funding_dates_as_stated"].notna().all()


def test_strategic_reserve_deadline_keeps_its_stated_precision(t):
    # fact base 8b: announced Apr 2025, "operational H2 2026": met by 2026-12-31, not on an invented 2026-10-01
    fw = t["frameworks"].set_index("framework_id")
    reserve = fw.loc["au_strategic_reserve"]
    assert reserve["date_kind"] == "announced"
    assert reserve["deadline_date"] == pd.Timestamp("2026-12-31") and reserve["deadline_precision"] == "end_of_half"
    assert "H2 2026" in reserve["deadline_text"]
    assert fw.loc["us_australia_2025", "date_kind"] == "signed"


def test_heavy_separation_shares_carry_their_years_and_the_derived_check(t):
    # Part E E6: 99.9% (CSIS Jan 2024, citing Benchmark) describes 2023; the derived check gives ~98% for 2025
    s = t["stage_shares"]
    csis = _one(s, stage="heavy_separation", region="China", year=2023)
    assert csis["share"] == pytest.approx(0.999) and csis["source_ids"] == "E39"
    derived = _one(s, stage="heavy_separation", region="China", year=2025)
    assert derived["share"] == pytest.approx(0.98) and derived["share_qualifier"] == "approx"
    assert derived["method"].startswith("Derived") and derived["is_default"]
    assert derived["share"] == pytest.approx(1 - 70 / (2570 + 490 + 70), abs=0.005)
