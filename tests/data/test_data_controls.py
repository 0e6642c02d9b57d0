"""Export-control coding pinned to the measures' texts as the fact base gives them (Part E section E4).

One test per measure: elements, stages, de minimis, licence or ban, suspension. Each expected value
is what the measure's text (or translation) lists; the comment quotes the fact base's wording.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp

ALL_17 = {"La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Sc", "Y"}
NO18_ELEMENTS = {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}
SUSPENDED_UNTIL = pd.Timestamp("2026-11-10")


@pytest.fixture(scope="module")
def controls():
    return dp.load("export_controls").set_index("measure_id")


def _set(cell) -> set[str]:
    return set(cell.split(";")) if isinstance(cell, str) else set()


def test_2023_technology_catalogue(controls):
    # "Prohibits export of RE extraction and separation technology, metal/alloy production technology,
    # SmCo/NdFeB/Ce magnet preparation technology" - separation without a light/heavy distinction
    m = controls.loc["cn_2023_tech_catalogue"]
    assert _set(m["stages"]) == {"separation", "heavy_separation", "metal_alloy", "magnet"}
    assert m["control_type"] == "ban" and m["status"] == "in_force" and m["technology_rule"]
    assert "E39" in m["source_ids"]  # CSIS


def test_no_18_seven_medium_heavy_elements_no_ndpr(controls):
    # "Sm, Gd, Tb, Dy, Lu, Sc, Y ... oxides; magnet materials containing Tb or Dy. Not covered: Nd, Pr,
    # NdPr oxide, NdFeB without Dy/Tb; technology; equipment" - in force, not suspended by No. 70
    m = controls.loc["mofcom_18_2025"]
    assert _set(m["elements"]) == NO18_ELEMENTS
    assert _set(m["stages"]) == {"heavy_separation", "metal_alloy", "magnet"}
    assert m["control_type"] == "licence" and m["status"] == "in_force" and pd.isna(m["suspended_until"])
    assert not m["technology_rule"] and m["text_source_ids"] == "E28"


def test_no_61_extraterritorial_reaches_heavy_separation(controls):
    # "Annex 1 Part 1: Sm, Dy, Gd, Tb, Lu, Sc, Y metals ... Dy oxide, Tb oxide"; "(i) ... >=0.1% of value;
    # (ii) Annex 1 items made abroad using Chinese-origin technology for ... smelting-separation ..."
    m = controls.loc["mofcom_61_2025"]
    assert _set(m["elements"]) == NO18_ELEMENTS
    assert "heavy_separation" in _set(m["stages"]) and "separation" not in _set(m["stages"])  # NdPr oxide is not an Annex 1 item
    assert m["de_minimis_value_share"] == 0.001 and m["technology_rule"] and m["control_type"] == "licence"
    assert (m["status"], m["suspended_until"], m["effective_date"]) == ("suspended", SUSPENDED_UNTIL, pd.Timestamp("2025-12-01"))
    assert "No. 70" in m["suspended_by"]


def test_no_62_technology_all_stages(controls):
    # "1E902.a technologies ... for RE mining, smelting-separation, metal smelting, magnet manufacturing
    # ... and recycling; 1E902.b production-line assembly, commissioning, maintenance, repair and upgrade"
    m = controls.loc["mofcom_62_2025"]
    assert _set(m["stages"]) == {"mining", "separation", "heavy_separation", "metal_alloy", "magnet", "recycling"}
    assert _set(m["elements"]) == ALL_17 and m["technology_rule"] and m["scope"] == "technology"
    assert (m["status"], m["suspended_until"]) == ("suspended", SUSPENDED_UNTIL)


def test_no_57_five_more_heavy_elements(controls):
    # "Ho, Er, Tm, Eu, Yb ... 12 of 17 REEs controlled"; "From 8 Nov 2025 -> suspended by No. 70 before it bit"
    m = controls.loc["mofcom_57_2025"]
    assert _set(m["elements"]) == {"Ho", "Er", "Tm", "Eu", "Yb"}
    assert len(_set(m["elements"]) | _set(controls.loc["mofcom_18_2025", "elements"])) == 12
    assert _set(m["stages"]) == {"heavy_separation", "metal_alloy", "magnet"}
    assert m["effective_date"] == pd.Timestamp("2025-11-08") > m["suspended_from"]


def test_no_56_separation_and_magnet_equipment(controls):
    # "centrifugal extraction (solvent-extraction) equipment, extraction tanks ... hydrogen-decrepitation
    # furnaces, jet mills -> covers separation and magnet-making hardware"
    m = controls.loc["mofcom_56_2025"]
    assert m["scope"] == "equipment" and _set(m["stages"]) == {"separation", "heavy_separation", "magnet"}
    assert (m["status"], m["suspended_until"]) == ("suspended", SUSPENDED_UNTIL)


def test_non_rare_earth_measures_code_no_element_or_stage(controls):
    for mid in ("mofcom_55_2025", "mofcom_58_2025"):
        m = controls.loc[mid]
        assert pd.isna(m["elements"]) and pd.isna(m["stages"]) and m["suspended_until"] == SUSPENDED_UNTIL


def test_easing_and_country_measures(controls):
    general = controls.loc["cn_2025_general_licences"]
    assert general["control_type"] == "general_licence" and _set(general["elements"]) == NO18_ELEMENTS
    japan = controls.loc["mofcom_2026_japan_dual_use"]
    assert japan["control_type"] == "end_user_ban" and japan["target_country"] == "Japan"
    assert "separation" not in _set(japan["stages"])
    assert controls.loc["cn_2010_japan_embargo", "control_type"] == "informal_halt"


def test_reader_tables_have_a_name_for_every_measure(controls):
    assert controls["display_name"].notna().all() and controls["display_name"].is_unique
    assert not controls["display_name"].str.contains(r"_\d{4}|mofcom_|cn_", regex=True).any()


def test_chinese_technology_is_recorded_only_where_the_sources_say(t=None):
    p = dp.load("projects").set_index("project_id")
    stated = p[p["chinese_technology"] != "not_stated"]
    assert set(stated.index) == {"ucore_louisiana", "usar_stillwater"}
    assert stated["chinese_technology_note"].notna().all()
    assert (p["chinese_technology"] == "yes").sum() == 0  # the fact base names no alliance plant on Chinese technology
