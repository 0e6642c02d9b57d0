"""Sources hygiene: best-graded default for heavy separation, conflicts kept as pairs, reader-facing names."""

from __future__ import annotations

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp


@pytest.fixture(scope="module")
def t():
    return dp.validate_package()


def test_heavy_separation_default_rests_on_csis_not_a_social_post(t):
    ss = t["stage_shares"]
    heavy = ss[(ss["stage"] == "heavy_separation") & (ss["region"] == "China") & ss["is_default"] & (ss["kind"] == "observed")]
    grades = t["sources"].set_index("source_id")["grade"]
    for ids in heavy["source_ids"]:
        assert "D24" not in dp.split_ids(ids)
        assert all(grades[i] != "low" for i in dp.split_ids(ids)), ids
    assert set(heavy.loc[heavy["year"] <= 2024, "source_ids"]) == {"E39", "S13;S14"}  # both CSIS
    post = ss[(ss["source_ids"] == "D24") & (ss["kind"] == "observed")]
    assert not post["is_default"].any()


def test_japan_magnet_share_conflict_kept_as_two_figures(t):
    ss = t["stage_shares"]
    group = ss[ss["conflict_group"] == "japan_magnet_share"].set_index("source_ids")
    assert group.loc["D31", "share"] == 0.15 and group.loc["D25", "share"] == 0.09
    assert group.loc["D25", "share_qualifier"] == "lt" and group.loc["D31", "year"] == group.loc["D25", "year"] == 2022
    assert "CONFLICT" in group.loc["D25", "note"]


def test_reader_facing_names_never_internal_ids(t):
    for table, column, idcol in (
        ("export_controls", "display_name", "measure_id"),
        ("framework_money", "display_name", "item"),
        ("price_floors", "display_name", "floor_id"),
    ):
        frame = t[table]
        assert frame[column].notna().all(), table
        assert not frame[column].str.fullmatch(r"[a-z0-9_]+").any(), table
        assert not (frame[column] == frame[idcol]).any(), table


def test_every_target_says_when_it_was_stated(t):
    p = t["projects"].set_index("project_id")
    targets = p[p["first_output_target_date"].notna()]
    assert targets["first_output_target_stated_on"].notna().all()
    # a target already past at the data date is visible as such: stated before it fell due, never after the as-of date
    as_of = pd.Timestamp(dp.as_of())
    assert (targets["first_output_target_stated_on"] <= as_of).all()
    past = targets[targets["first_output_target_date"] < as_of]
    assert {"hastings_yangibana", "lynas_seadrift", "mp_independence", "usar_stillwater"} <= set(past.index)
    # Arafura has no first-output target: its only live date is an FID target, labelled as such
    nolans = p.loc["arafura_nolans"]
    assert pd.isna(nolans["first_output_target_date"]) and nolans["fid_target_date"] == pd.Timestamp("2026-04-01")
