"""The one capacity model: scoping (plants in China), owner vs location attribution, today's capacity."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from rare_earth_lib.models import capacity

RAMP = {"first_year_utilisation": 0.25, "years_to_nameplate": 4.0, "mature_utilisation": 0.8}


def _projects() -> pd.DataFrame:
    rows = [
        # id, country, owner, stages, status, capacity, basis, ndpr, dytb, observed, period, first output
        (
            "aus_sep",
            "Australia",
            "Australia",
            "separation",
            "operating",
            1000,
            "t_ndpr_oxide",
            1000,
            None,
            600,
            "2025 NdPr oxide",
            "2015-01-01",
        ),
        ("mal_sep", "Malaysia", "Australia", "separation", "operating", 2000, "t_ndpr_oxide", 2000, None, None, None, "2012-01-01"),
        ("us_sep_new", "United States", "United States", "separation", "construction", 500, "t_ndpr_oxide", 500, None, None, None, None),
        ("cn_jv_sep", "China", "Japan;China", "separation", "operating", 4000, "t_ndpr_oxide", 4000, None, None, None, "2010-01-01"),
        ("cn_jp_magnet", "China", "Japan", "magnet", "operating", 1000, "t_magnet", None, None, None, None, "2010-01-01"),
        ("jp_magnet", "Japan", "Japan", "magnet", "operating", 500, "t_magnet", None, None, None, None, "2010-01-01"),
        (
            "us_kr_magnet",
            "United States",
            "United States;South Korea",
            "magnet",
            "operating",
            800,
            "t_magnet",
            None,
            None,
            None,
            None,
            "2010-01-01",
        ),
        (
            "us_heavy",
            "United States",
            "Canada",
            "heavy_separation",
            "operating",
            100,
            "t_feed",
            None,
            10,
            4,
            "H2 2025 Dy+Tb oxide",
            "2020-01-01",
        ),
    ]
    columns = [
        "project_id",
        "country",
        "owner_country",
        "stages",
        "status",
        "capacity_tpa",
        "capacity_basis",
        "ndpr_oxide_tpa",
        "dytb_oxide_tpa",
        "observed_output_tpa",
        "observed_output_period",
        "first_output_actual_date",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["company"] = frame["project_id"]
    frame["site"] = "site"
    frame["is_rare_earth"] = True
    frame["source_ids"] = "S1"
    for column in ("first_output_target_date", "first_output_planned_date"):
        frame[column] = None
    frame.loc[frame["project_id"] == "us_sep_new", "first_output_target_date"] = "2028-01-01"
    return frame


def _params(attribution: str) -> SimpleNamespace:
    return SimpleNamespace(attribution=attribution, fill_missing_capacity=False, **RAMP)


def test_plant_in_china_never_counts_for_the_alliance_under_either_attribution():
    projects = _projects()
    for attribution in ("owner", "location"):
        table = capacity.attribution_table(projects, attribution)
        china_rows = table[table["country"] == "China"]
        assert not (china_rows["group"] == capacity.GROUP_ALLIANCE).any()
        shares = capacity.alliance_share(projects, attribution).set_axis(projects["project_id"])
        assert shares["cn_jv_sep"] == 0.0 and shares["cn_jp_magnet"] == 0.0
    owner = capacity.attribution_table(projects, "owner").set_index(["project_id", "counted_for"])
    # the JV is split equally: Japan's half is shown apart, China's half counts for China
    assert owner.loc[("cn_jv_sep", "Japan"), "group"] == capacity.GROUP_ALLIANCE_IN_CHINA
    assert owner.loc[("cn_jv_sep", "Japan"), "share"] == pytest.approx(0.5)
    assert owner.loc[("cn_jv_sep", "China"), "group"] == capacity.GROUP_CHINA


def test_china_located_jv_is_excluded_from_today_capacity_and_shown_on_its_own_row():
    projects = _projects()
    metrics = capacity.today_metrics(projects, _params("owner"), dt.date(2026, 5, 27))
    # alliance separation today: aus_sep's observed 600 + mal_sep's mature 2000 x 0.8; never the 4,000 t JV in China
    assert metrics["ndpr_capacity_today_tpa"] == pytest.approx(600 + 2000 * 0.8)
    groups = capacity.groups_of(capacity.today_plants(projects, _params("owner"), dt.date(2026, 5, 27))).set_index(["stage", "group"])
    assert groups.loc[("separation", capacity.GROUP_ALLIANCE_IN_CHINA), "capacity_tpa"] == pytest.approx(0.5 * 4000 * 0.8)
    assert groups.loc[("magnet", capacity.GROUP_ALLIANCE_IN_CHINA), "capacity_tpa"] == pytest.approx(1000 * 0.8)
    # alliance magnets: Japan's plant in Japan, and half of the US-Korean JV in the US
    assert groups.loc[("magnet", capacity.GROUP_ALLIANCE), "capacity_tpa"] == pytest.approx((500 + 0.5 * 800) * 0.8)


def test_owner_and_location_attribution_differ_as_the_rule_says():
    projects = _projects()
    as_of = dt.date(2026, 5, 27)
    owner = capacity.today_metrics(projects, _params("owner"), as_of)
    location = capacity.today_metrics(projects, _params("location"), as_of)
    # by location the Malaysian plant counts for Malaysia; by owner for Australia
    assert owner["ndpr_capacity_today_tpa"] - location["ndpr_capacity_today_tpa"] == pytest.approx(2000 * 0.8)
    # the Canadian-owned heavy plant in the US counts by location only, at its observed rate
    assert location["dytb_capacity_today_tpa"] == pytest.approx(4)
    assert owner["dytb_capacity_today_tpa"] == 0


def test_latest_observed_rate_is_used_today():
    projects = _projects()
    plants = capacity.plant_capacity(projects, "separation", as_of_year=2026.4, **RAMP).set_index("project_id")
    assert plants.at["aus_sep", "today_tpa"] == 600  # observed, below the ramped 800
    assert plants.at["aus_sep", "ramp_today_tpa"] == pytest.approx(800)
    assert "latest observed output" in plants.at["aus_sep", "today_basis"]
    assert plants.at["us_sep_new", "today_tpa"] == 0  # not producing yet


def test_bad_attribution_is_named():
    with pytest.raises(ValueError, match="attribution"):
        capacity.attribution_table(_projects(), "equity")


def test_control_channels_delay_waiting_plants_and_pull_decisions_forward():
    from rare_earth_lib.parameters.refining_timeline import Params

    projects = _projects()
    off = Params()
    same, params = capacity.with_control_channels(projects, off, dt.date(2026, 5, 27))
    assert same is projects and params is off
    on = Params(control_channels_active=True, licence_delay_years=1.0, chinese_equipment_share=0.5, price_pullforward_years=0.5)
    moved, params = capacity.with_control_channels(projects, on, dt.date(2026, 5, 27))
    target = moved.set_index("project_id")["first_output_target_date"]
    shift = pd.Timestamp(target["us_sep_new"]) - pd.Timestamp("2028-01-01")
    assert abs(shift - pd.Timedelta(days=0.5 * 365.25)) < pd.Timedelta(days=1)  # expected delay: share x delay
    assert params.decision_speedup_years == pytest.approx(on.decision_speedup_years + 0.5)
    # producing plants keep their dates
    assert moved.loc[moved["project_id"] == "aus_sep", "first_output_actual_date"].iloc[0] == "2015-01-01"
