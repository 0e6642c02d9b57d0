"""Tests for rare_earth_lib.models.buildout: attribution, stages, ramp-up, completion probabilities, capacity by year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import announced, buildout

NaT = pd.NaT

# A miniature projects table with the contract's column names.
PROJECTS = pd.DataFrame(
    {
        "project_id": ["lamp", "eneabba", "nolans", "mp", "ucore", "magnet_only", "seadrift", "jv"],
        "company": ["Lynas", "Iluka", "Arafura", "MP", "Ucore", "MagCo", "Lynas", "Lynas JS"],
        "site": ["Gebeng", "Eneabba", "Nolans", "Mountain Pass", "Alexandria", "Fort Worth", "Seadrift", "Malaysia"],
        # where the plant stands
        "country": ["Malaysia", "Australia", "Australia", "United States", "United States", "United States", "United States", "Malaysia"],
        # owner nationality; "jv" lists a non-alliance owner after an alliance one
        "owner_country": [
            "Australia",
            "Australia",
            "Australia",
            "United States",
            "Canada",
            "United States",
            "Australia",
            "South Korea;Australia",
        ],
        "stages": [
            "cracking;separation",
            "cracking;separation;heavy_separation",
            "mining;cracking;separation",
            "mining;cracking;separation",
            "separation;heavy_separation",
            "magnet",  # not a refining stage: never counted
            "cracking;separation",
            "separation",
        ],
        "capacity_tpa": [10500.0, 17500.0, 4440.0, 40000.0, 2000.0, 1000.0, 1250.0, 100.0],
        "capacity_basis": ["t_ndpr_oxide", "t_reo", "t_ndpr_oxide", "t_reo", "t_reo", "t_magnet", "t_ndpr_oxide", "t_ndpr_oxide"],
        "ndpr_oxide_tpa": [10500.0, np.nan, 4440.0, np.nan, np.nan, np.nan, 1250.0, 100.0],
        "dytb_oxide_tpa": [np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        "capacity_is_estimate": [False, False, False, False, False, False, False, True],
        "observed_output_tpa": [6558.0, np.nan, np.nan, 1294.0, np.nan, np.nan, np.nan, np.nan],
        "observed_output_period": ["FY25 NdPr", None, None, "2024 NdPr oxide", None, None, None, None],
        "status": ["operating", "construction", "pre_fid", "operating", "construction", "fid", "stalled", "pre_fid"],
        "announced_date": pd.to_datetime([NaT, NaT, NaT, "2019-07-01", NaT, NaT, "2019-05-15", NaT]),
        "fid_date": pd.to_datetime([NaT, "2022-04-15", NaT, NaT, NaT, NaT, NaT, NaT]),
        "construction_start_date": pd.to_datetime([NaT, "2022-10-01", NaT, NaT, "2025-05-29", NaT, NaT, NaT]),
        "first_output_planned_date": pd.to_datetime([NaT, "2025-07-01", "2022-07-01", "2022-07-01", NaT, NaT, "2025-01-01", NaT]),
        "first_output_target_date": pd.to_datetime([NaT, "2027-07-01", NaT, NaT, "2026-10-01", "2028-07-01", "2026-01-01", NaT]),
        "first_output_actual_date": pd.to_datetime(["2012-11-30", NaT, NaT, "2023-08-15", NaT, NaT, NaT, NaT]),
        "funding_us_musd": [np.nan, np.nan, 0.0, 9.6, 37.4, 400.0, 288.0, np.nan],
        "source_ids": ["S48", "S68", "S72", "S34", "S81", "S29", "S53", "S48"],
    }
)


# Stated inputs of the fill and ramp rules (the briefings take theirs from the parameter models).
FILL = {"ndpr_share_of_reo": 0.26, "dytb_share_of_reo": 0.009, "mature_utilisation": 0.85}
RAMP = {"first_year_utilisation": 0.27, "years_to_nameplate": 4.0, "mature_utilisation": 0.85}


@pytest.mark.parametrize(
    "attribution, expected",
    [
        # Lynas Malaysia counts for Australia only by owner; Ucore (Canadian-owned, in Louisiana) only by location.
        ("owner", ["Australia", "Australia", "Australia", "United States", None, "United States", "Australia", "Australia"]),
        ("location", [None, "Australia", "Australia", "United States", "United States", "United States", "United States", None]),
    ],
)
def test_alliance_member_by_location_or_owner(attribution, expected):
    got = buildout.alliance_member(PROJECTS, attribution)
    pdt.assert_series_equal(got, pd.Series(expected, dtype="string", name="alliance_country"))


def test_alliance_member_rejects_unknown_attribution():
    with pytest.raises(ValueError, match="attribution"):
        buildout.alliance_member(PROJECTS, "flag")


@pytest.mark.parametrize("spelling", ["US", "united_states", " United States ", "USA"])
def test_normalise_country_spellings(spelling):
    assert buildout.normalise_country(spelling) == "United States"


def test_has_stage_and_unknown_stage():
    got = buildout.has_stage(PROJECTS, "heavy_separation")
    assert got.tolist() == [False, True, False, False, True, False, False, False]
    with pytest.raises(ValueError, match="stage"):
        buildout.has_stage(PROJECTS, "smelting")


def test_decimal_year():
    got = buildout.decimal_year(pd.to_datetime(["2027-01-01", "2024-07-02", NaT]))
    assert got[0] == 2027.0
    assert got[1] == pytest.approx(2024.5, abs=0.002)  # 2024 is a leap year: 2 July is day 183 of 366
    assert np.isnan(got[2])


@pytest.mark.parametrize(
    "t, expected",
    [
        (-0.1, 0.0),  # before first output
        (0.0, 0.25),  # first year at first-year utilisation
        (0.9, 0.25),
        (1.0, 0.25),  # straight line from the end of year one ...
        (2.5, 0.25 + (0.85 - 0.25) * 0.5),  # ... halfway at 2.5 years when nameplate is reached at 4
        (4.0, 0.85),
        (30.0, 0.85),  # flat afterwards
    ],
)
def test_ramp_utilisation_curve(t, expected):
    got = buildout.ramp_utilisation(t, 0.25, 4.0, 0.85)
    assert float(got) == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"first_year_utilisation": 1.2}, "first_year_utilisation"),
        ({"mature_utilisation": -0.1}, "mature_utilisation"),
        ({"years_to_nameplate": 0.5}, "years_to_nameplate"),
        ({"first_year_utilisation": 0.9, "mature_utilisation": 0.8}, "first_year_utilisation"),
    ],
)
def test_ramp_utilisation_bad_arguments(kwargs, argument):
    args = {"first_year_utilisation": 0.25, "years_to_nameplate": 4.0, "mature_utilisation": 0.85} | kwargs
    with pytest.raises(ValueError, match=argument):
        buildout.ramp_utilisation(1.0, **args)


@given(
    t=st.lists(st.floats(-5, 30), min_size=2, max_size=20),
    u1=st.floats(0.01, 0.5),
    ytn=st.floats(1.0, 10.0),
)
def test_ramp_utilisation_never_decreases_over_time(t, u1, ytn):
    times = np.sort(np.asarray(t))
    util = buildout.ramp_utilisation(times, u1, ytn, 0.9)
    assert np.all(np.diff(util) >= -1e-12)
    assert np.all((util >= 0) & (util <= 0.9 + 1e-12))


def test_completion_probability_by_status():
    got = buildout.completion_probability(PROJECTS["status"])
    assert got.tolist() == [1.0, 0.9, 0.35, 1.0, 0.9, 0.8, 0.1, 0.35]


def test_completion_probability_rejects_unknown_status_and_bad_values():
    with pytest.raises(ValueError, match="statuses"):
        buildout.completion_probability(pd.Series(["operating", "dreaming"]))
    with pytest.raises(ValueError, match="probabilities"):
        buildout.completion_probability(pd.Series(["operating"]), {"operating": 1.5})
    with pytest.raises(ValueError, match="probabilities"):
        buildout.completion_probability(pd.Series(["fid"]), {"operating": 1.0})


def test_estimate_missing_capacity_rules():
    got = buildout.estimate_missing_capacity(PROJECTS, ndpr_share_of_reo=0.25, dytb_share_of_reo=0.01, mature_utilisation=0.8)
    by_id = got.set_index("project_id")
    # rule 1: producing separation plant with an observed NdPr output and no NdPr figure (MP)
    assert by_id.loc["mp", "ndpr_oxide_tpa"] == pytest.approx(1294.0 / 0.8)
    assert by_id.loc["mp", "dytb_oxide_tpa"] != by_id.loc["mp", "dytb_oxide_tpa"]  # NaN: rule 1 sets NdPr only
    # rule 2: REO-basis separation plants; Dy+Tb only where heavy separation is listed
    assert by_id.loc["eneabba", "ndpr_oxide_tpa"] == pytest.approx(17500 * 0.25)
    assert by_id.loc["eneabba", "dytb_oxide_tpa"] == pytest.approx(17500 * 0.01)
    assert by_id.loc["ucore", "ndpr_oxide_tpa"] == pytest.approx(2000 * 0.25)
    # stated figures and non-separation plants are untouched
    assert by_id.loc["lamp", "ndpr_oxide_tpa"] == 10500.0
    assert np.isnan(by_id.loc["magnet_only", "ndpr_oxide_tpa"])
    assert by_id["capacity_estimated_by_model"].tolist() == [False, True, False, True, True, False, False, False]
    assert "REO capacity x 0.25" in by_id.loc["eneabba", "capacity_estimate_rule"]
    with pytest.raises(ValueError, match="ndpr_share_of_reo"):
        buildout.estimate_missing_capacity(PROJECTS, **{**FILL, "ndpr_share_of_reo": 1.5})


def test_refining_pipeline_keeps_alliance_refining_projects_with_capacity():
    filled = buildout.estimate_missing_capacity(PROJECTS, **FILL)
    got = buildout.refining_pipeline(filled, attribution="owner")
    assert set(got["project_id"]) == {"lamp", "eneabba", "nolans", "mp", "seadrift", "jv"}
    row = got.set_index("project_id").loc["eneabba"]
    assert row["planned_first_output_year"] == pytest.approx(2025.5, abs=0.01)
    assert row["target_first_output_year"] == pytest.approx(2027.5, abs=0.01)
    assert row["decision_year"] == pytest.approx(2022.29, abs=0.01)  # FID wins over construction start
    assert got.set_index("project_id").loc["seadrift", "us_backed"]
    # unfilled: plants with no NdPr/DyTb figure drop out
    bare = buildout.refining_pipeline(PROJECTS, attribution="owner")
    assert set(bare["project_id"]) == {"lamp", "nolans", "seadrift", "jv"}


def test_refining_pipeline_rejects_unknown_status():
    bad = PROJECTS.assign(status=["operating", "construction", "pre_fid", "operating", "construction", "fid", "stalled", "wishful"])
    with pytest.raises(ValueError, match="status"):
        buildout.refining_pipeline(bad)


def test_capacity_by_year_literal_values():
    got = announced.capacity_by_year(
        PROJECTS,
        [2026, 2027, 2028],
        product="ndpr_oxide",
        attribution="owner",
        as_of_year=2026.9,
        first_year_utilisation=0.25,
        years_to_nameplate=2.0,
        mature_utilisation=1.0,
        undated_lead_years=3.0,
    )
    lamp = got.loc[got["project_id"] == "lamp", "capacity_tpa"].tolist()
    assert lamp == [6558.0, 10500.0, 10500.0]  # its observed rate in the as-of year, then up the ramp to mature output
    # Nolans: plan passed, not producing -> first output at the as-of date (2026.9); mid-2027 is its first year
    nolans = got.loc[got["project_id"] == "nolans"].set_index("year")
    assert nolans.loc[2026, "capacity_tpa"] == 0.0
    assert nolans.loc[2027, "capacity_tpa"] == pytest.approx(4440 * 0.25)
    assert nolans.loc[2028, "capacity_tpa"] == pytest.approx(4440 * (0.25 + 0.75 * 0.6))
    assert nolans.loc[2028, "expected_capacity_tpa"] == pytest.approx(nolans.loc[2028, "capacity_tpa"] * 0.35)
    total = announced.total_capacity_by_year(got)
    assert total["year"].tolist() == [2026, 2027, 2028]
    by_country = announced.total_capacity_by_year(got, by="alliance_country")
    assert set(by_country["alliance_country"]) == {"Australia"}


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"product": "la_oxide"}, "product"),
        ({"stages": ("smelting",)}, "stage"),
        ({"attribution": "flag"}, "attribution"),
        ({"undated_lead_years": -1.0}, "undated_lead_years"),
    ],
)
def test_capacity_by_year_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        announced.capacity_by_year(PROJECTS, [2026], as_of_year=2026.5, **RAMP, **kwargs)


@settings(max_examples=30, deadline=None)
@given(
    u1=st.floats(0.05, 0.6),
    ytn=st.floats(1.0, 8.0),
    as_of=st.floats(2024.0, 2030.0),
    product=st.sampled_from(["ndpr_oxide", "dytb_oxide"]),
)
def test_capacity_never_decreases_when_no_project_fails(u1, ytn, as_of, product):
    """From the year of the as-of date on (producing plants start there from today's capacity; earlier years are
    the ramp-up curve, a different basis), the as-announced build-out never falls."""
    filled = buildout.estimate_missing_capacity(PROJECTS, **FILL)
    got = announced.capacity_by_year(
        filled,
        range(int(as_of), 2046),
        product=product,
        as_of_year=as_of,
        first_year_utilisation=u1,
        years_to_nameplate=ytn,
        mature_utilisation=0.9,
        completion_probabilities={s: 1.0 for s in buildout.STATUSES},
    )
    total = announced.total_capacity_by_year(got)
    assert np.all(np.diff(total["capacity_tpa"].to_numpy()) >= -1e-9)
    assert np.all(np.diff(total["expected_capacity_tpa"].to_numpy()) >= -1e-9)


def test_analog_first_year_utilisation():
    analogs = pd.DataFrame(
        {
            "analog_id": ["lamp", "molycorp", "kalgoorlie"],
            "project": ["LAMP", "Molycorp", "Kalgoorlie"],
            "first_year_utilisation": [0.269, 0.182, np.nan],  # Kalgoorlie: not measured, left out
            "source_ids": ["S55", "S62", "S43"],
        }
    )
    got = buildout.analog_first_year_utilisation(analogs)
    assert got["analog_id"].tolist() == ["molycorp", "lamp"]
    assert got["first_year_utilisation"].mean() == pytest.approx(0.2255)
    with pytest.raises(ValueError, match="first_year_utilisation"):
        buildout.analog_first_year_utilisation(analogs.assign(first_year_utilisation=[1.5, 0.2, 0.1]))
