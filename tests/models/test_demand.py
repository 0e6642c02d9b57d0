"""Tests for rare_earth_lib.models.demand: the alliance demand estimate built where the data is thin."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import demand as dm

# A miniature demand table with the contract's column names.
DEMAND = pd.DataFrame(
    {
        "region": [
            "united_states",  # US NdPr: two candidate figures (lowest 2,200 in 2024; highest 13,300 in 2030)
            "united_states",
            "japan",
            "japan",
            "united_states",  # US Dy and Tb separately (no combined row): summed for the same year
            "united_states",
            "japan",
            "world",
            "united_states",  # a defence segment row: never an anchor
            "japan",  # a non-default row: never an anchor
            "united_states",  # total REE consumption, for the cross-check
        ],
        "product": [
            "ndpr_oxide",
            "ndpr_oxide",
            "ndpr_oxide",
            "ndpr_oxide",
            "dy_oxide",
            "tb_oxide",
            "dytb_oxide",
            "ndpr_oxide",
            "ndpr_oxide",
            "ndpr_oxide",
            "ree_total",
        ],
        "segment": ["all", "all", "all", "all", "all", "all", "all", "all", "defense", "all", "all"],
        "year": [2024, 2030, 2024, 2023, 2025, 2025, 2024, 2024, 2024, 2024, 2024],
        "tonnes": [2200.0, 13300.0, 5500.0, 5230.0, 270.0, 70.0, 195.0, 87900.0, 99999.0, 88888.0, 9010.0],
        "kind": [
            "derived",
            "projection",
            "observed",
            "derived",
            "derived",
            "derived",
            "derived",
            "derived",
            "observed",
            "observed",
            "observed",
        ],
        "outlook": ["FB", "EF", "JSNM", "JSNM", "EF", "EF", "FB", "SMM", "DoD", "X", "USGS"],
        "is_estimate": [True, True, False, True, True, True, True, True, False, False, False],
        "is_default": [True, True, True, True, True, True, True, True, True, False, True],
        "method": ["imports x 30%", "6000/0.45", None, "5500/1.052", "92/0.34", "16/0.23", "illustrative", "run rate", None, None, None],
        "source_ids": ["D5", "D21", "D29a", "D29a", "D20", "D20", "D44", "D64c", "D15", "X1", "S1"],
        "as_of": ["2024"] * 11,
    }
)


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("highest", {"united_states": (2030, 13300.0), "japan": (2024, 5500.0)}),
        ("lowest", {"united_states": (2024, 2200.0), "japan": (2023, 5230.0)}),
        ("latest", {"united_states": (2030, 13300.0), "japan": (2024, 5500.0)}),
    ],
)
def test_ndpr_anchor_rules(rule, expected):
    got = dm.demand_anchors(DEMAND, "ndpr_oxide", anchor_rule=rule).set_index("region")
    for region, (year, tonnes) in expected.items():
        assert got.loc[region, "anchor_year"] == year
        assert got.loc[region, "anchor_tonnes"] == tonnes
    # Australia has no figure: counted as 0 and said so
    assert got.loc["australia", "anchor_tonnes"] == 0.0
    assert "counted as 0" in got.loc["australia", "method"]


def test_dytb_anchor_sums_dy_and_tb_of_the_same_year():
    got = dm.demand_anchors(DEMAND, "dytb_oxide", anchor_rule="highest").set_index("region")
    assert got.loc["united_states", "anchor_tonnes"] == 340.0
    assert got.loc["united_states", "anchor_year"] == 2025
    assert got.loc["japan", "anchor_tonnes"] == 195.0


def test_alliance_demand_grows_from_the_anchor_in_two_phases():
    got = dm.alliance_demand(
        DEMAND, [2024, 2030, 2032], "ndpr_oxide", growth_rate=0.05, long_run_growth_rate=0.02, break_year=2030, anchor_rule="high"
    )
    us = got.loc[got["region"] == "united_states"].set_index("year")["tonnes"]
    assert us[2030] == pytest.approx(13300.0)
    assert us[2024] == pytest.approx(13300.0 / 1.05**6)  # backwards at the near-term rate
    assert us[2032] == pytest.approx(13300.0 * 1.02**2)  # forwards at the long-run rate after 2030
    jp = got.loc[got["region"] == "japan"].set_index("year")["tonnes"]
    assert jp[2032] == pytest.approx(5500.0 * 1.05**6 * 1.02**2)
    assert got["is_estimate"].all()
    assert got["method"].str.contains("grown at").all()


def _alliance_total(demand, years, *, ndpr_growth_rate, dytb_growth_rate, scale=1.0, anchor_rule="central"):
    """The alliance's total demand per year and product, as the briefings compute it from their parameters."""
    rates = SimpleNamespace(
        ndpr_demand_growth_rate=ndpr_growth_rate,
        dytb_demand_growth_rate=dytb_growth_rate,
        long_run_demand_growth_rate=None,
        demand_growth_break_year=2030,
        demand_scale=scale,
        demand_anchor_rule=anchor_rule,
    )
    return dm.sum_regions(dm.scenario_demand(demand, years, rates))


def test_alliance_demand_scale_and_total():
    base = _alliance_total(DEMAND, [2026, 2027], ndpr_growth_rate=0.0, dytb_growth_rate=0.0, anchor_rule="high")
    doubled = _alliance_total(DEMAND, [2026, 2027], ndpr_growth_rate=0.0, dytb_growth_rate=0.0, scale=2.0, anchor_rule="high")
    ndpr = base.loc[base["product"] == "ndpr_oxide", "tonnes"].to_numpy()
    np.testing.assert_allclose(ndpr, [13300.0 + 5500.0] * 2)
    np.testing.assert_allclose(doubled["tonnes"].to_numpy(), 2 * base["tonnes"].to_numpy())
    dytb = base.loc[base["product"] == "dytb_oxide", "tonnes"].to_numpy()
    np.testing.assert_allclose(dytb, [340.0 + 195.0] * 2)
    assert base["is_estimate"].all()
    assert set(base.loc[base["product"] == "ndpr_oxide", "source_ids"].iloc[0].split(";")) == {"D21", "D29a"}


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"product": "la_oxide"}, "product"),
        ({"anchor_rule": "median"}, "anchor_rule"),
        ({"growth_rate": -1.0}, "growth_rate"),
        ({"long_run_growth_rate": -2.0}, "long_run_growth_rate"),
        ({"scale": 0.0}, "scale"),
        ({"years": []}, "years"),
    ],
)
def test_alliance_demand_bad_arguments(kwargs, argument):
    args = {"years": [2026], "product": "ndpr_oxide", "growth_rate": 0.05} | kwargs
    with pytest.raises(ValueError, match=argument):
        dm.alliance_demand(DEMAND, args.pop("years"), args.pop("product"), **args)


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="tonnes"):
        dm.demand_anchors(DEMAND.drop(columns=["tonnes"]), "ndpr_oxide")


def test_cross_check_against_world_and_us_consumption():
    est = dm.alliance_demand(DEMAND, [2024], "ndpr_oxide", growth_rate=0.0, anchor_rule="high")
    got = dm.demand_cross_check(DEMAND, est)
    world = got.loc[got["check"] == "alliance share of world"].iloc[0]
    assert world["ratio"] == pytest.approx((13300.0 + 5500.0) / 87900.0)
    us = got.loc[got["check"].str.startswith("US")].iloc[0]
    assert us["ratio"] == pytest.approx(13300.0 / 9010.0)


@settings(max_examples=10, deadline=None)
@given(
    g_low=st.floats(-0.09, 0.25),
    extra=st.floats(0.001, 0.05),
)
def test_more_growth_never_gives_less_demand_after_the_anchor(g_low, extra):
    years = list(range(2031, 2061))  # every year after the anchor in one call per growth rate
    low = _alliance_total(DEMAND, years, ndpr_growth_rate=g_low, dytb_growth_rate=g_low)
    high = _alliance_total(DEMAND, years, ndpr_growth_rate=g_low + extra, dytb_growth_rate=g_low + extra)
    assert list(high["year"]) == list(low["year"]) and list(high["product"]) == list(low["product"])
    assert np.all(high["tonnes"].to_numpy() >= low["tonnes"].to_numpy() - 1e-9)
    assert np.all(low["tonnes"].to_numpy() > 0)


# --------------------------------------------------------------------------------------------------
# Demand as a range; like-for-like ratios
# --------------------------------------------------------------------------------------------------
def _rates():
    from types import SimpleNamespace

    return SimpleNamespace(
        ndpr_demand_growth_rate=0.05,
        dytb_demand_growth_rate=0.05,
        long_run_demand_growth_rate=0.016,
        demand_growth_break_year=2030,
        demand_scale=1.0,
    )


def test_demand_cases_are_ordered_low_central_high():
    by_case = dm.demand_range(DEMAND, [2026, 2030], _rates()).groupby(["case", "product", "year"])["tonnes"].sum()
    for product in ("ndpr_oxide", "dytb_oxide"):
        for year in (2026, 2030):
            assert by_case[("low", product, year)] <= by_case[("central", product, year)] <= by_case[("high", product, year)]
    # the US NdPr low case rests on the observation-based 2,200 t, the high case on the 13,300 t company claim
    low = dm.case_anchors(DEMAND, "ndpr_oxide", "low").set_index("region")
    high = dm.case_anchors(DEMAND, "ndpr_oxide", "high").set_index("region")
    assert low.at["united_states", "anchor_tonnes"] == 2200.0 and high.at["united_states", "anchor_tonnes"] == 13300.0


def test_marked_case_rows_are_the_anchor_of_their_case():
    marked = DEMAND.assign(demand_case=[None, None, "central", None, None, None, None, None, None, None, None])
    central = dm.case_anchors(marked, "ndpr_oxide", "central").set_index("region")
    assert central.at["japan", "anchor_tonnes"] == 5500.0
    assert "central anchor" in central.at["japan", "method"]
    with pytest.raises(ValueError, match="case"):
        dm.case_anchors(DEMAND, "ndpr_oxide", "median")


def test_like_for_like_ratio_divides_the_same_countries():
    """US + Japan magnet capacity is never divided by US-only demand: Japan's capacity is left out and named."""
    capacity = pd.Series({"United States": 1000.0, "Japan": 6000.0})
    us_only = pd.DataFrame(
        {"region": ["united_states"], "country": ["United States"], "tonnes": [8000.0], "year": [2024], "source_ids": ["S1"]}
    )
    ratio = dm.like_for_like(capacity, us_only)
    assert ratio["countries"] == ["United States"]
    assert ratio["capacity_tpa"] == 1000.0 and ratio["ratio"] == pytest.approx(1000 / 8000)
    assert ratio["left_out"] == ["Japan"] and ratio["left_out_tpa"] == 6000.0
    both = pd.concat([us_only, us_only.assign(region="japan", country="Japan", tonnes=2000.0)])
    assert dm.like_for_like(capacity, both)["ratio"] == pytest.approx(7000 / 10000)
    none = dm.like_for_like(capacity, us_only.iloc[0:0])
    assert np.isnan(none["ratio"]) and none["left_out_tpa"] == 7000.0


def test_stage_demand_leaves_regions_without_a_figure_out():
    magnets = pd.DataFrame(
        {
            "region": ["united_states"],
            "product": ["ndfeb_magnet"],
            "segment": ["all"],
            "year": [2024],
            "tonnes": [7446.0],
            "is_default": [True],
            "source_ids": ["D5"],
        }
    )
    rows = dm.stage_demand_by_region(magnets, "magnet", 2026)
    assert list(rows["country"]) == ["United States"]


def test_remembered_anchors_follow_the_tables_content_and_cannot_be_changed_by_callers():
    """Anchors are remembered by the demand table's content: a copy gives the same answer, a changed figure (even
    changed in place) a new one, and changing a returned frame never reaches the next caller."""
    table = DEMAND.copy()
    first = dm.demand_anchors(table, "ndpr_oxide", anchor_rule="highest")
    pd.testing.assert_frame_equal(first, dm.demand_anchors.__wrapped__(table, "ndpr_oxide", anchor_rule="highest"))
    first.loc[:, "anchor_tonnes"] = -1.0
    again = dm.demand_anchors(table.copy(), "ndpr_oxide", anchor_rule="highest").set_index("region")
    assert again.loc["united_states", "anchor_tonnes"] == 13300.0
    table.loc[(table["tonnes"] == 13300.0), "tonnes"] = 14000.0  # in place
    changed = dm.demand_anchors(table, "ndpr_oxide", anchor_rule="highest").set_index("region")
    assert changed.loc["united_states", "anchor_tonnes"] == 14000.0
    for case in dm.DEMAND_CASES:
        pd.testing.assert_frame_equal(dm.case_anchors(DEMAND, "dytb_oxide", case), dm.case_anchors.__wrapped__(DEMAND, "dytb_oxide", case))
