"""Tests of rare_earth_lib.models.exposure on a literal export-control table."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import exposure as x

T = pd.Timestamp
NAT = pd.NaT
HEAVY7 = "Sm;Gd;Tb;Dy;Lu;Sc;Y"
CONTROLS = pd.DataFrame(
    {
        "measure_id": ["tech_ban_2023", "mofcom_18", "mofcom_57", "mofcom_61", "mofcom_62", "japan_2026", "embargo_2010"],
        "measure": ["Technology catalogue", "No. 18", "No. 57", "No. 61", "No. 62", "Japan notice", "2010 embargo"],
        "authority": ["MOFCOM;MOST", "MOFCOM;GAC", "MOFCOM;GAC", "MOFCOM", "MOFCOM", "MOFCOM", "informal"],
        "announced_date": [
            T("2023-12-21"),
            T("2025-04-04"),
            T("2025-10-09"),
            T("2025-10-09"),
            T("2025-10-09"),
            T("2026-01-06"),
            T("2010-09-01"),
        ],
        "effective_date": [
            T("2023-12-21"),
            T("2025-04-04"),
            T("2025-11-08"),
            T("2025-12-01"),
            T("2025-10-09"),
            T("2026-01-06"),
            T("2010-09-01"),
        ],
        "suspended_from": [NAT, NAT, T("2025-11-07"), T("2025-11-07"), T("2025-11-07"), NAT, NAT],
        "suspended_until": [NAT, NAT, T("2026-11-10"), T("2026-11-10"), T("2026-11-10"), NAT, NAT],
        "status": ["in_force", "in_force", "suspended", "suspended", "suspended", "in_force", "ended"],
        "elements": ["", HEAVY7, "Ho;Er;Tm;Eu;Yb", HEAVY7 + ";Ho;Er;Tm;Eu;Yb", "", HEAVY7, ""],
        "scope": ["technology", "materials", "materials", "extraterritorial", "technology", "country_specific", "country_specific"],
        "stages": [
            "separation;metal_alloy;magnet",
            "separation;heavy_separation;metal_alloy;magnet",
            "heavy_separation",
            "separation;heavy_separation;metal_alloy;magnet",
            "mining;separation;metal_alloy;magnet",
            "heavy_separation;metal_alloy;magnet",
            "",
        ],
        "de_minimis_value_share": [None, None, None, 0.001, None, None, None],
        "technology_rule": [False, False, False, True, False, False, False],
        "source_ids": ["S89a", "S89c", "S89g", "S89f", "S89f", "S89l", "S25"],
    }
)

DIRECT = {"separation": 0.7, "heavy_separation": 0.9, "metal_alloy": 0.6, "magnet": 0.8}
INPUTS = {"separation": 0.0, "heavy_separation": 0.0, "metal_alloy": 0.99, "magnet": 0.99}
KW = dict(magnet_dytb_share=0.5, technology_derived_share=0.2, chinese_content_value_share=0.3)


def states(day, regime="suspension_extended"):
    return x.control_states_on(CONTROLS, day, regime).set_index("measure_id")["state"]


def test_states_on_key_dates():
    assert states("2025-04-03")["mofcom_18"] == "not_announced"
    assert states("2025-04-04")["mofcom_18"] == "in_force"
    assert states("2025-10-20")["mofcom_61"] == "announced"
    assert states("2025-10-20")["mofcom_62"] == "in_force"  # effective immediately, before the suspension
    on = states("2026-03-01")
    assert on[["mofcom_57", "mofcom_61", "mofcom_62"]].tolist() == ["suspended"] * 3
    assert on[["tech_ban_2023", "mofcom_18", "japan_2026"]].tolist() == ["in_force"] * 3
    assert on["embargo_2010"] == "ended"


@pytest.mark.parametrize("regime, expected", [("suspension_extended", "suspended"), ("reimposed", "in_force")])
def test_after_suspension_the_regime_decides_and_is_flagged(regime, expected):
    out = x.control_states_on(CONTROLS, dt.date(2027, 1, 1), regime).set_index("measure_id")
    assert out.loc[["mofcom_57", "mofcom_61", "mofcom_62"], "state"].tolist() == [expected] * 3
    assert out.loc["mofcom_61", "assumed"]
    assert not out.loc["mofcom_18", "assumed"]
    # the day the suspension ends is already "after"
    assert x.control_states_on(CONTROLS, "2026-11-10", regime).set_index("measure_id").loc["mofcom_61", "state"] == expected
    assert x.control_states_on(CONTROLS, "2026-11-09", regime).set_index("measure_id").loc["mofcom_61", "state"] == "suspended"


def test_bad_regime_and_date_raise_naming_argument():
    with pytest.raises(ValueError, match="controls_regime"):
        x.control_states_on(CONTROLS, "2027-01-01", "lifted")
    with pytest.raises(ValueError, match="on_date"):
        x.control_states_on(CONTROLS, "not a date")


def test_stage_coverage():
    assert x.stage_coverage({"Dy", "Tb"}, "heavy_separation", 0.5) == 1.0
    assert x.stage_coverage({"Dy", "Tb"}, "magnet", 0.5) == 0.5
    assert x.stage_coverage({"Dy", "Tb"}, "separation", 0.5) == 0.0  # Nd, Pr, La, Ce are not listed
    assert x.stage_coverage({"Nd"}, "magnet", 0.5) == 1.0
    # No. 57 lists Ho, Er, Tm, Eu and Yb: not the Dy+Tb oxide the alliance buys from heavy separation, nor its magnets
    no_57 = {"Ho", "Er", "Tm", "Eu", "Yb"}
    assert x.stage_coverage(no_57, "heavy_separation", 0.5) == 0.0 and x.stage_coverage(no_57, "magnet", 0.5) == 0.0
    assert x.stage_coverage(no_57 | {"Tb"}, "heavy_separation", 0.5) == 1.0
    with pytest.raises(ValueError, match="stage"):
        x.stage_coverage({"Dy"}, "refining", 0.5)
    with pytest.raises(ValueError, match="magnet_dytb_share"):
        x.stage_coverage({"Dy"}, "magnet", 1.5)


def test_exposure_with_suspension_extended_is_no_18_only():
    st_ = x.control_states_on(CONTROLS, "2027-01-01", "suspension_extended")
    out = x.licence_exposure(st_, DIRECT, INPUTS, **KW).set_index("stage")
    assert out.loc["separation", "licence_share"] == 0.0
    assert out.loc["heavy_separation", "licence_share"] == pytest.approx(0.9)
    assert out.loc["magnet", "licence_share"] == pytest.approx(0.8 * 0.5)
    assert out.loc["magnet", "licence_share_extraterritorial"] == 0.0
    assert out.loc["separation", "technology_barred"]  # the 2023 catalogue ban stays in force
    assert "mofcom_18" in out.loc["magnet", "measures"] and "mofcom_61" not in out.loc["magnet", "measures"]


def test_exposure_with_controls_reimposed_adds_extraterritorial_part():
    st_ = x.control_states_on(CONTROLS, "2027-01-01", "reimposed")
    out = x.licence_exposure(st_, DIRECT, INPUTS, **KW).set_index("stage")
    caught = 0.5 * (1 - (1 - 0.99) * (1 - 0.2))
    assert out.loc["magnet", "licence_share_extraterritorial"] == pytest.approx(0.2 * caught)
    assert out.loc["magnet", "licence_share"] == pytest.approx(0.8 * 0.5 + 0.2 * caught)
    # heavy separation outside China uses non-Chinese feed here: only the technology rule catches it
    assert out.loc["heavy_separation", "licence_share"] == pytest.approx(0.9 + 0.1 * 0.2)
    assert out.loc["separation", "licence_share"] == 0.0


def test_content_below_de_minimis_escapes_the_content_rule():
    st_ = x.control_states_on(CONTROLS, "2027-01-01", "reimposed")
    kw = {**KW, "chinese_content_value_share": 0.0005, "technology_derived_share": 0.0}
    out = x.licence_exposure(st_, DIRECT, INPUTS, **kw).set_index("stage")
    assert out.loc["magnet", "licence_share_extraterritorial"] == 0.0


def test_japan_denied_share():
    st_ = x.control_states_on(CONTROLS, "2026-03-01")
    out = x.licence_exposure(st_, DIRECT, INPUTS, japan_demand_share={"magnet": 0.6}, japan_denial_share=0.5, **KW).set_index("stage")
    assert out.loc["magnet", "denied_share_japan"] == pytest.approx(0.6 * 0.8 * 0.5 * 0.5)
    assert out.loc["separation", "denied_share_japan"] == 0.0


@pytest.mark.parametrize(
    "direct, inputs, name",
    [
        ({"separation": 1.5}, {}, "direct_china_share"),
        ({"refining": 0.5}, {}, "direct_china_share"),
        ({"magnet": 0.5}, {"magnet": -0.1}, "chinese_input_share"),
    ],
)
def test_bad_shares_raise_naming_argument(direct, inputs, name):
    st_ = x.control_states_on(CONTROLS, "2027-01-01")
    with pytest.raises(ValueError, match=name):
        x.licence_exposure(st_, direct, inputs, **KW)


def test_mean_licence_share_and_timeline_frame():
    st_ = x.control_states_on(CONTROLS, "2027-01-01", "reimposed")
    out = x.licence_exposure(st_, DIRECT, INPUTS, **KW)
    assert x.mean_licence_share(out) == pytest.approx(out["licence_share"].mean())
    events = x.timeline_frame(st_, "2026-03-01")
    assert events["date"].is_monotonic_increasing
    ends = events[events["event"] == "suspension ends"]
    assert ends["scheduled"].all() and len(ends) == 3
    assert not (events["date"] > T("2026-03-01")).any() or events.loc[events["date"] > T("2026-03-01"), "scheduled"].all()


share = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(share, share, share, share, share, st.sampled_from(["suspension_extended", "reimposed"]))
@settings(max_examples=60, deadline=None)
def test_licence_shares_are_shares_and_reimposing_never_lowers_them(d_mag, d_heavy, inp, tech, dytb, regime):
    direct = {"separation": 0.5, "heavy_separation": d_heavy, "metal_alloy": 0.5, "magnet": d_mag}
    inputs = {"magnet": inp, "metal_alloy": inp}
    kw = dict(magnet_dytb_share=dytb, technology_derived_share=tech, chinese_content_value_share=0.3)
    out = x.licence_exposure(x.control_states_on(CONTROLS, "2027-01-01", regime), direct, inputs, **kw)
    assert out["licence_share"].between(0, 1).all()
    assert (out["licence_share"] >= out["licence_share_direct"] - 1e-12).all()
    extended = x.licence_exposure(x.control_states_on(CONTROLS, "2027-01-01", "suspension_extended"), direct, inputs, **kw)
    reimposed = x.licence_exposure(x.control_states_on(CONTROLS, "2027-01-01", "reimposed"), direct, inputs, **kw)
    assert (reimposed["licence_share"].to_numpy() >= extended["licence_share"].to_numpy() - 1e-12).all()


TRADE = pd.DataFrame(
    {
        "importer": ["united_states", "united_states", "united_states", "japan", "japan", "united_states"],
        "product": ["ree_compounds_metals", "terbium", "ndfeb_magnet", "ree_total", "ree_total", "ree_compounds_metals"],
        "year_end": [2024, 2024, 2025, 2024, 2025, 2024],
        "partner": ["China", "China", "China", "China", "China", "Malaysia"],
        "share": [0.71, 1.0, 0.85, 0.7, 0.6, 0.13],
        "is_default": [True] * 6,
        "source_ids": ["S1", "S2", "S100", "S25", "S26", "S1"],
    }
)
WEIGHTS = pd.DataFrame(
    {
        "region": ["united_states", "japan", "united_states", "japan", "united_states", "japan"],
        "stage": ["separation", "separation", "heavy_separation", "heavy_separation", "magnet", "magnet"],
        "weight": [2000.0, 6000.0, 300.0, 100.0, 7000.0, float("nan")],
    }
)


def test_direct_china_share_by_stage_weights_importers_by_demand():
    out = x.direct_china_share_by_stage(TRADE, WEIGHTS).set_index("stage")
    assert out.loc["separation", "direct_china_share"] == pytest.approx((2000 * 0.71 + 6000 * 0.6) / 8000)
    assert out.loc["heavy_separation", "direct_china_share"] == pytest.approx((300 * 1.0 + 100 * 0.6) / 400)  # terbium is more specific
    assert out.loc["magnet", "direct_china_share"] == pytest.approx(0.85)  # Japan has no magnet demand figure
    assert "japan:ree_total:2025" in out.loc["separation", "basis"]
    # the rows used, by their labels in the table: the US compound row and Japan's 2025 row; terbium for heavy separation
    assert out.loc["separation", "trade_rows"] == (0, 4) and out.loc["heavy_separation", "trade_rows"] == (1, 4)
    assert out.loc["magnet", "trade_rows"] == (2,)
    earlier = x.direct_china_share_by_stage(TRADE, WEIGHTS, year=2024).set_index("stage")
    assert earlier.loc["separation", "direct_china_share"] == pytest.approx((2000 * 0.71 + 6000 * 0.7) / 8000)
    assert earlier.loc["separation", "trade_rows"] == (0, 3)
    with pytest.raises(ValueError, match="region_weights"):
        x.direct_china_share_by_stage(TRADE, WEIGHTS.assign(weight=-1.0))


def test_easing_rows_never_count_as_restrictions():
    easing = CONTROLS.iloc[[1]].assign(measure_id="general_licences", measure="General export licences for magnet makers")
    table = pd.concat([CONTROLS[CONTROLS["measure_id"] != "mofcom_18"], easing], ignore_index=True)
    out = x.licence_exposure(x.control_states_on(table, "2026-03-01"), DIRECT, INPUTS, **KW).set_index("stage")
    assert out.loc["magnet", "licence_share"] == 0.0
    assert x.is_easing(easing.iloc[0]) and not x.is_easing(CONTROLS.iloc[1])


def test_extraterritorial_scope_all_rare_earths_reaches_light_separation():
    wide = CONTROLS.assign(elements=CONTROLS["elements"].where(CONTROLS["measure_id"] != "mofcom_61", "La;Ce;Pr;Nd;" + HEAVY7))
    st_ = x.control_states_on(wide, "2027-01-01", "reimposed")
    listed = x.licence_exposure(st_, DIRECT, INPUTS, **KW).set_index("stage")
    everything = x.licence_exposure(st_, DIRECT, INPUTS, extraterritorial_scope="all_rare_earths", **KW).set_index("stage")
    assert listed.loc["separation", "licence_share"] == 0.0
    assert everything.loc["separation", "licence_share"] == pytest.approx(0.7 + 0.3 * 0.2)
    with pytest.raises(ValueError, match="extraterritorial_scope"):
        x.licence_exposure(st_, DIRECT, INPUTS, extraterritorial_scope="some", **KW)
