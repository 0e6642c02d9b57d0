"""Current, labelled capacity: every capacity row says what it is and where it comes from (fact base Part E).

Figures are checked against the fact base's own arithmetic: MP Materials' quarters and its Q1 2026
run-rate, Lynas' calendar 2025 NdPr (all separated in Malaysia) and its H2 2025 Dy+Tb.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp


@pytest.fixture(scope="module")
def t():
    return dp.validate_package()


def _chain(t, entity, product, period):
    co = t["chain_output"]
    sub = co[(co["entity"] == entity) & (co["product"] == product) & (co["period"] == period)]
    assert len(sub) == 1, (entity, product, period, len(sub))
    return sub.iloc[0]


def test_every_capacity_row_states_its_kind_and_source(t):
    p = t["projects"]
    capacity_rows = p[p[["capacity_tpa", "ndpr_oxide_tpa", "dytb_oxide_tpa"]].notna().any(axis=1)]
    assert len(capacity_rows) >= 35
    assert capacity_rows["capacity_kind"].notna().all()
    assert capacity_rows["capacity_source_ids"].notna().all()
    # a plant not yet built never carries a "nameplate": its capacity is a design figure
    unbuilt = capacity_rows[capacity_rows["status"].isin(["construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled"])]
    assert (unbuilt["capacity_kind"] != "nameplate").all()


def test_mp_latest_run_rate_is_q1_2026(t):
    mp = t["projects"].set_index("project_id").loc["mp_mountain_pass"]
    q1 = _chain(t, "MP Materials", "ndpr_oxide", "Q1 2026")
    assert q1["tonnes"] == 917 and q1["source_ids"] == "E6"
    assert mp["observed_output_tpa"] == 917 * 4 == 3668
    assert mp["observed_output_kind"] == "run_rate" and mp["observed_output_product"] == "t_ndpr_oxide"
    assert (mp["observed_output_start"], mp["observed_output_end"]) == (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-31"))
    assert mp["observed_output_is_estimate"] and "917" in mp["observed_output_method"]
    quarters = [_chain(t, "MP Materials", "ndpr_oxide", f"Q{q} 2025")["tonnes"] for q in range(1, 5)]
    assert sum(quarters) == _chain(t, "MP Materials", "ndpr_oxide", "2025")["tonnes"] == mp["annual_output_tpa"] == 2599
    assert mp["annual_output_year"] == 2025
    # the run-rate rests on the company's own release (primary), not on the call summary
    src = t["sources"].set_index("source_id")
    assert src.loc["E6", "grade"] == "primary" and src.loc["E5", "grade"] == "secondary"


def test_lynas_2025_ndpr_all_separated_in_malaysia(t):
    p = t["projects"].set_index("project_id")
    lamp = p.loc["lynas_lamp"]
    quarters = [_chain(t, "Lynas", "ndpr_oxide", f"{q}-quarter 2025")["tonnes"] for q in ("Mar", "Jun", "Sep", "Dec")]
    assert sum(quarters) == 6996 == lamp["observed_output_tpa"] == lamp["annual_output_tpa"]
    assert lamp["observed_output_kind"] == "annual_output" and lamp["country"] == "Malaysia"
    # no other Lynas row separates NdPr: Kalgoorlie makes mixed carbonate only
    lynas = p[p["company"].str.startswith("Lynas")]
    separating = lynas[lynas["ndpr_oxide_tpa"].notna() & lynas["status"].isin(["operating", "ramping"])]
    assert list(separating.index) == ["lynas_lamp"]
    assert lynas.loc["lynas_kalgoorlie", "stages"] == "cracking"


def test_lynas_heavy_run_rate_and_mp_heavy_target(t):
    p = t["projects"].set_index("project_id")
    hre = p.loc["lynas_lamp_hre_circuit"]
    h2 = _chain(t, "Lynas", "dytb_oxide", "Sep-quarter 2025")["tonnes"] + _chain(t, "Lynas", "dytb_oxide", "Dec-quarter 2025")["tonnes"]
    assert hre["observed_output_tpa"] == h2 * 2 == 70
    assert hre["observed_output_product"] == "t_dytb_oxide" and hre["observed_output_kind"] == "run_rate"
    mp_hre = p.loc["mp_hre_circuit"]
    assert mp_hre["status"] == "construction" and pd.isna(mp_hre["observed_output_tpa"])  # no Dy/Tb output found
    assert mp_hre["first_output_target_date"] == pd.Timestamp("2026-11-15")  # "late in the year" (Feb 2026 call)


def test_energy_fuels_pilot_and_commercial_heavy_circuit_are_apart(t):
    p = t["projects"].set_index("project_id")
    pilot, commercial = p.loc["ef_white_mesa_hre_pilot"], p.loc["ef_white_mesa_hre_commercial"]
    assert pd.isna(pilot["dytb_oxide_tpa"]) and pilot["observed_output_tpa"] < 1  # kilograms a week, not tonnes
    assert commercial["dytb_oxide_tpa"] == 48 + 14 and commercial["capacity_kind"] == "design"
    assert pd.isna(commercial["first_output_actual_date"])


def test_observed_outputs_name_a_period_inside_the_package_date(t):
    p = t["projects"]
    obs = p[p["observed_output_kind"].notna()]
    assert obs["observed_output_end"].max() <= pd.Timestamp(dp.as_of())
    assert (obs.loc[obs["observed_output_is_estimate"], "observed_output_method"].notna()).all()
