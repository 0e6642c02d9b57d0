"""Tests of rare_earth_lib.models.concentration on small literal tables."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import concentration as c

STAGE_SHARES = pd.DataFrame(
    {
        "stage": ["separation", "separation", "separation", "separation", "separation", "magnet", "magnet", "separation"],
        "region": ["China", "Malaysia", "Australia", "China + Malaysia + Australia", "China", "China", "Japan", "China"],
        "year": [2023, 2023, 2023, 2023, 2030, 2024, 2024, 2022],
        "share": [0.92, 0.05, 0.01, 0.98, 0.77, 0.94, 0.05, 0.90],
        "kind": ["observed", "observed", "observed", "observed", "projection", "observed", "observed", "observed"],
        "outlook": ["", "", "", "", "IEA GCMO 2024", "", "", ""],
        "is_default": [True, True, True, True, True, True, True, True],
        "source_ids": ["S6", "S6", "S6", "S6", "S6", "S9", "D31", "S7"],
        "as_of": ["2023"] * 7 + ["2022"],
    }
)
# Row 4 is a bloc (dropped); row 5 a projection (ignored); the last row an older year (ignored).

PROJECTS = pd.DataFrame(
    {
        "project_id": ["lynas_lamp", "mp_mtpass", "mp_fortworth", "iluka_eneabba", "shinetsu_vn", "tdk_cn", "neo_narva"],
        "company": ["Lynas", "MP", "MP", "Iluka", "Shin-Etsu", "TDK", "Neo"],
        "country": ["Malaysia", "United States", "United States", "Australia", "Vietnam", "China", "Estonia"],
        "owner_country": ["Australia", "United States", "United States", "Australia", "Japan", "Japan;China", "Canada"],
        "stages": ["separation;heavy_separation", "mining;separation", "metal_alloy;magnet", "separation", "magnet", "magnet", "magnet"],
        "capacity_tpa": [10500.0, 40000.0, 1000.0, 17500.0, 2200.0, 1500.0, 2000.0],
        "capacity_basis": ["t_ndpr_oxide", "t_reo", "t_magnet", "t_reo", "t_magnet", "t_magnet", "t_magnet"],
        "ndpr_oxide_tpa": [10500.0, None, None, 4000.0, None, None, None],
        "observed_output_tpa": [6558.0, 1294.0, None, None, None, None, None],  # MP: nameplate unknown, output known
        "dytb_oxide_tpa": [20.0, None, None, None, None, None, None],
        "status": ["operating", "operating", "ramping", "construction", "operating", "operating", "ramping"],
        "source_ids": ["S48", "S34", "S34", "S68", "S84", "S85", "S88"],
        "is_rare_earth": [True] * 7,
    }
)
# tdk_cn is a Japanese-Chinese joint venture in China: by owner, half its capacity is Japan's.

DEMAND = pd.DataFrame(
    {
        "region": ["united_states", "japan", "united_states", "japan", "united_states", "japan", "world"],
        "product": ["ndpr_oxide", "ndpr_oxide", "ndpr_oxide", "dytb_oxide", "dytb_oxide", "ndfeb_magnet", "ndpr_oxide"],
        "year": [2024, 2024, 2030, 2024, 2025, 2024, 2024],
        "tonnes": [2500.0, 5500.0, 13300.0, 195.0, 340.0, 18000.0, 90000.0],
        "kind": ["derived", "observed", "projection", "derived", "derived", "derived", "derived"],
        "is_estimate": [True, False, True, True, True, True, True],
        "source_ids": ["D5", "D29a", "D21", "D44", "D20", "D31", "D64"],
    }
)

MINE = pd.DataFrame(
    {
        "country": ["World", "China", "United States", "Australia", "World", "China"],
        "year": [2025, 2025, 2025, 2025, 2024, 2024],
        "tonnes_reo": [390000.0, 270000.0, 51000.0, 29000.0, 380000.0, 270000.0],
        "is_default": [True, True, True, True, True, True],
        "source_ids": ["S1"] * 6,
    }
)


def test_stage_country_shares_picks_latest_observed_countries_and_adds_residual():
    out = c.stage_country_shares(STAGE_SHARES, "separation")
    assert out["region"].tolist() == ["China", "Malaysia", "Australia", "Rest of world"]
    assert out["year"].unique().tolist() == [2023]
    assert out["share"].tolist() == pytest.approx([0.92, 0.05, 0.01, 0.02])
    assert out["share"].sum() == pytest.approx(1.0)


def test_stage_country_shares_respects_year_cap():
    out = c.stage_country_shares(STAGE_SHARES, "separation", year=2022)
    assert out.set_index("region")["share"].to_dict() == pytest.approx({"China": 0.90, "Rest of world": 0.10})


@pytest.mark.parametrize("stage", ["refining", "", "Magnet"])
def test_unknown_stage_raises_naming_stage(stage):
    with pytest.raises(ValueError, match="stage"):
        c.stage_country_shares(STAGE_SHARES, stage)


def test_missing_stage_rows_raise_naming_table():
    with pytest.raises(ValueError, match="stage_shares"):
        c.stage_country_shares(STAGE_SHARES, "heavy_separation")


def test_mine_country_shares_uses_world_row_as_denominator():
    out = c.mine_country_shares(MINE, 2025)
    shares = out.set_index("region")["share"]
    assert shares["China"] == pytest.approx(270000 / 390000)
    assert shares["Rest of world"] == pytest.approx(40000 / 390000)
    assert shares.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="year"):
        c.mine_country_shares(MINE, 1999)


def test_owner_attribution_moves_malaysia_to_australia_location_keeps_it():
    shares = c.stage_country_shares(STAGE_SHARES, "separation")
    by_location = c.attribute_shares(shares, PROJECTS, "separation", "location").set_index("region")["share"]
    by_owner = c.attribute_shares(shares, PROJECTS, "separation", "owner").set_index("region")["share"]
    assert by_location["Malaysia"] == pytest.approx(0.05)
    assert "Malaysia" not in by_owner.index
    assert by_owner["Australia"] == pytest.approx(0.06)
    assert by_owner.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("attribution", ["plant", "", "Owner"])
def test_bad_attribution_raises(attribution):
    shares = c.stage_country_shares(STAGE_SHARES, "separation")
    with pytest.raises(ValueError, match="attribution"):
        c.attribute_shares(shares, PROJECTS, "separation", attribution)


def test_partner_countries_are_hosts_of_alliance_owned_plants_but_not_china():
    assert c.partner_countries(PROJECTS, "separation") == ["Malaysia"]
    assert c.partner_countries(PROJECTS, "magnet") == ["Vietnam"]  # TDK's plant in China is excluded


def test_hhi_and_top3_known_values():
    assert c.hhi([0.5, 0.5]) == pytest.approx(5000.0)
    assert c.hhi([1.0]) == pytest.approx(10000.0)
    assert c.hhi([0.92, 0.05, 0.01, 0.02]) == pytest.approx(92**2 + 5**2 + 1 + 2**2)
    assert c.top_n_share([0.1, 0.6, 0.2, 0.1], 3) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="n"):
        c.top_n_share([0.5], 0)


@pytest.mark.parametrize("bad", [[1.2], [-0.1, 0.5], [0.7, 0.7], [float("nan")]])
def test_bad_shares_raise_naming_shares(bad):
    with pytest.raises(ValueError, match="shares"):
        c.hhi(bad)


def test_concentration_summary_separation_row():
    shares = {"separation": c.stage_country_shares(STAGE_SHARES, "separation"), "mining": c.mine_country_shares(MINE, 2025)}
    out = c.concentration_summary(shares, PROJECTS, attribution="owner")
    assert out["stage"].tolist() == ["mining", "separation"]
    sep = out.set_index("stage").loc["separation"]
    assert sep["china_share"] == pytest.approx(0.92)
    assert sep["alliance_share"] == pytest.approx(0.06)
    assert sep["partners_share"] == pytest.approx(0.0)  # by owner Malaysia's share is already Australia's
    assert sep["others_share"] == pytest.approx(0.02)
    loc = c.concentration_summary(shares, PROJECTS, attribution="location").set_index("stage").loc["separation"]
    assert loc["alliance_share"] == pytest.approx(0.01)
    assert loc["partners_share"] == pytest.approx(0.05)
    assert loc["hhi"] == pytest.approx(sep["hhi"])  # HHI is computed on location shares
    assert sep["top3_share"] == pytest.approx(0.98)
    with pytest.raises(ValueError, match="shares_by_stage"):
        c.concentration_summary({"refining": shares["separation"]}, PROJECTS)


def test_capacity_detail_flags_observed_output_and_drops_non_rare_earth_rows():
    detail = c.alliance_capacity_detail(PROJECTS.assign(is_rare_earth=[True] * 6 + [False]), "owner")
    mp = detail[(detail["project_id"] == "mp_mtpass") & (detail["stage"] == "separation")].iloc[0]
    assert mp["measure"] == "observed_output_tpa"
    assert "neo_narva" not in set(detail["project_id"])


def test_explode_owners_splits_joint_ventures_equally():
    out = c.explode_owners(PROJECTS[PROJECTS["project_id"] == "tdk_cn"])
    assert out["owner_country"].tolist() == ["Japan", "China"]
    assert out["capacity_tpa"].tolist() == [750.0, 750.0]


SHARES_WITH_TYPES = pd.DataFrame(
    {
        "stage": ["separation"] * 5,
        "region": ["China", "Malaysia", "China+Malaysia+Australia", "China", "China"],
        "region_type": ["country", "country", "top3", "country", "country"],
        "year": [2024, 2023, 2023, 2025, 2018],
        "share": [0.91, 0.05, 0.98, 0.80, 0.95],
        "share_qualifier": ["eq", "eq", "eq", "approx", "eq"],
        "kind": ["observed"] * 5,
        "is_default": [True] * 5,
        "source_ids": ["S9", "S6", "S6", "S23", "X"],
    }
)


def test_stage_country_shares_prefers_exact_latest_figures_and_mixes_recent_years():
    out = c.stage_country_shares(SHARES_WITH_TYPES, "separation")
    # 2025 "approx" loses to the 2024 exact figure; Malaysia's 2023 figure is recent enough; top3 dropped
    assert out.set_index("region")["share"].to_dict() == pytest.approx({"China": 0.91, "Malaysia": 0.05, "Rest of world": 0.04})
    assert out.set_index("region")["year"].to_dict() == {"China": 2024, "Malaysia": 2023, "Rest of world": 2024}
    only_new = c.stage_country_shares(SHARES_WITH_TYPES, "separation", max_age_years=0)
    assert "Malaysia" not in set(only_new["region"])
    with pytest.raises(ValueError, match="max_age_years"):
        c.stage_country_shares(SHARES_WITH_TYPES, "separation", max_age_years=-1)


share_lists = st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=1, max_size=8).filter(lambda xs: sum(xs) > 0)


@given(share_lists)
@settings(max_examples=60, deadline=None)
def test_hhi_bounded_and_top3_at_most_total(raw):
    total = sum(raw)
    shares = [x / total for x in raw]
    value = c.hhi(shares)
    assert 0 <= value <= 10000 + 1e-6
    assert value >= 10000 / len(shares) - 1e-6  # equal shares minimise HHI
    assert c.top_n_share(shares, 3) <= 1 + 1e-9


@given(
    st.floats(min_value=0.0, max_value=0.9),
    st.floats(min_value=0.0, max_value=0.09),
    st.sampled_from(["location", "owner"]),
)
@settings(max_examples=60, deadline=None)
def test_summary_shares_sum_to_one(china, malaysia, attribution):
    frame = STAGE_SHARES.iloc[[0, 1]].assign(share=[china, malaysia])
    shares = {"separation": c.stage_country_shares(frame, "separation")}
    row = c.concentration_summary(shares, PROJECTS, attribution=attribution).iloc[0]
    total = row["china_share"] + row["alliance_share"] + row["partners_share"] + row["others_share"]
    assert total == pytest.approx(1.0)
    assert c.attribute_shares(shares["separation"], PROJECTS, "separation", attribution)["share"].sum() == pytest.approx(1.0)


def test_estimate_missing_shares_takes_from_residual_and_flags_estimates():
    shares = c.stage_country_shares(STAGE_SHARES, "magnet")  # China 0.94, Japan 0.05, residual 0.01
    out = c.estimate_missing_shares(shares, PROJECTS, "magnet", world_volume_t=300_000.0)
    by = out.set_index("region")
    # US (MP Fort Worth 1,000 t) and Vietnam (2,200 t) and Estonia (2,000 t) = 5,200 t -> 1.73% > 1% residual: scaled to fit
    assert by["share"].sum() == pytest.approx(1.0)
    assert by.loc["Rest of world", "share"] == pytest.approx(0.0)
    assert by.loc["Vietnam", "share"] == pytest.approx(0.01 * 2200 / 5200)
    assert by.loc["Vietnam", "estimated"] and not by.loc["China", "estimated"]
    assert "Japan" in by.index and not by.loc["Japan", "estimated"]  # has a statistic: not re-estimated
    with pytest.raises(ValueError, match="stage"):
        c.estimate_missing_shares(shares, PROJECTS, "mining", 1.0)
    with pytest.raises(ValueError, match="world_volume_t"):
        c.estimate_missing_shares(shares, PROJECTS, "magnet", 0.0)


def test_estimate_missing_shares_small_estimate_is_unscaled():
    shares = c.stage_country_shares(STAGE_SHARES, "separation")
    out = c.estimate_missing_shares(shares, PROJECTS, "separation", world_volume_t=100_000.0).set_index("region")
    assert out.loc["United States", "share"] == pytest.approx(1294 / 100_000)  # observed output, not nameplate
    assert out.loc["Rest of world", "share"] == pytest.approx(0.02 - 0.01294)


@given(st.floats(min_value=0.5, max_value=0.99), st.floats(min_value=1.0, max_value=1e6), st.sampled_from(["separation", "magnet"]))
@settings(max_examples=60, deadline=None)
def test_estimates_never_break_the_sum(china, world_volume, stage):
    frame = pd.DataFrame(
        {
            "stage": [stage],
            "region": ["China"],
            "year": [2024],
            "share": [china],
            "kind": ["observed"],
            "is_default": [True],
            "source_ids": ["S9"],
        }
    )
    out = c.estimate_missing_shares(c.stage_country_shares(frame, stage), PROJECTS, stage, world_volume)
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["share"].between(0, 1).all()
    assert out.set_index("region").loc["China", "share"] == pytest.approx(china)  # estimates never take from China


def test_a_plant_commissioned_after_the_shares_year_gets_no_share_of_it():
    # a heavy-separation share observed for 2023 is not completed with a circuit first producing in 2025
    shares = pd.DataFrame({"region": ["China", "Rest of world"], "share": [0.999, 0.001], "year": [2023, 2023], "source_ids": ["E39", ""]})
    projects = PROJECTS.assign(first_output_actual_date=pd.to_datetime(["2025-05-15", None, None, None, None, None, None]))
    out = c.estimate_missing_shares(shares, projects, "heavy_separation", world_volume_t=3_000.0)
    assert "Malaysia" not in set(out["region"])
    assert c.partner_countries(projects, "heavy_separation") == ["Malaysia"]  # producing today...
    summary = c.concentration_summary({"heavy_separation": out}, projects, "owner").iloc[0]
    assert summary["partners"] == "" and summary["alliance_share"] == 0.0  # ...but not in 2023
    later = c.estimate_missing_shares(shares.assign(year=2025), projects, "heavy_separation", world_volume_t=3_000.0)
    assert "Malaysia" in set(later["region"])
