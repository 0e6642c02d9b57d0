"""Tests of rare_earth_lib.models.economics on literal numbers and tables."""

from __future__ import annotations

import math

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import economics as e

FX = {"AUD": 0.65, "EUR": 1.1, "JPY": 0.007, "MYR": 0.22}

PROJECTS = pd.DataFrame(
    {
        "project_id": ["eneabba", "ef_phase2", "nolans", "no_capex", "magnets"],
        "company": ["Iluka", "Energy Fuels", "Arafura", "X", "Neo"],
        "stages": ["cracking;separation", "separation;heavy_separation", "mining;separation", "separation", "magnet"],
        "status": ["construction", "feasibility", "pre_fid", "operating", "ramping"],
        "capacity_tpa": [17500.0, 6000.0, 4440.0, 1000.0, 2000.0],
        "ndpr_oxide_tpa": [4000.0, 6000.0, 4440.0, 1000.0, None],
        "dytb_oxide_tpa": [None, 306.0, None, None, None],
        "capex_value": [1750.0, 410.0, 1600.0, None, 75.0],  # millions of capex_currency, as in the data package
        "capex_currency": ["AUD", "USD", "AUD", None, "EUR"],
        "funding_us_musd": [None, None, None, 100.0, None],
        "funding_japan_musd": [None, None, None, None, None],
        "funding_australia_musd": [1072.5, None, 546.0, None, None],
        "funding_other_musd": [None, None, 600.0, None, 20.0],
        "source_ids": ["S68", "S79b", "S72", "S1", "S88"],
    }
)


def test_price_gap_subsidy_known_value():
    # (80 - 69) US$/kg x 10,000 t = US$110 million
    assert e.price_gap_subsidy_musd(80, 69, 10_000) == pytest.approx(110.0)
    assert e.price_gap_subsidy_musd(60, 69, 10_000) == 0.0  # market above incentive: no subsidy


def test_price_floor_cost_known_value():
    # (110 - 69) x 2,900 t = US$118.9 million
    assert e.price_floor_cost_musd(110, 69, 2_900) == pytest.approx(118.9)
    assert e.price_floor_cost_musd(110, 120, 2_900) == 0.0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"incentive_usd_per_kg": -1, "market_usd_per_kg": 50, "volume_t": 1}, "incentive_usd_per_kg"),
        ({"incentive_usd_per_kg": 80, "market_usd_per_kg": float("nan"), "volume_t": 1}, "market_usd_per_kg"),
        ({"incentive_usd_per_kg": 80, "market_usd_per_kg": 50, "volume_t": -5}, "volume_t"),
    ],
)
def test_bad_price_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        e.price_gap_subsidy_musd(**kwargs)


def test_to_usd_converts_and_rejects_missing_rates():
    out = e.to_usd(pd.Series([100.0, 100.0, None]), pd.Series(["AUD", "USD", "EUR"]), FX)
    pdt.assert_series_equal(out, pd.Series([65.0, 100.0, float("nan")]))
    with pytest.raises(ValueError, match="fx_to_usd"):
        e.to_usd(pd.Series([1.0]), pd.Series(["GBP"]), FX)
    with pytest.raises(ValueError, match="fx_to_usd"):
        e.to_usd(pd.Series([1.0]), pd.Series(["AUD"]), {"AUD": 0.0})


prices = st.floats(min_value=0, max_value=5000, allow_nan=False)
volumes = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(prices, prices, volumes, volumes)
@settings(max_examples=80, deadline=None)
def test_costs_non_negative_and_monotone_in_volume(target, market, v1, v2):
    low, high = sorted([v1, v2])
    assert e.price_floor_cost_musd(target, market, low) >= 0
    assert e.price_floor_cost_musd(target, market, low) <= e.price_floor_cost_musd(target, market, high) + 1e-9
    assert math.isclose(e.price_gap_subsidy_musd(target, market, low), e.price_floor_cost_musd(target, market, low))


PRICES = pd.DataFrame(
    {
        "product": ["ndpr_oxide", "ndpr_oxide", "ndpr_oxide", "ndpr_oxide", "ndpr_oxide", "ndpr_oxide"],
        "year": [2024, 2025, 2024, 2025, 2026, 2024],
        "price_type": ["annual_average", "annual_average", "incentive_low", "price_floor", "price_floor", "annual_average"],
        "usd_per_kg": [55.0, 69.0, 75.0, 110.0, 120.0, 1.0],
        "usd_per_kg_high": [None, None, 85.0, None, None, None],
        "is_default": [True, True, True, True, True, False],  # the last row is a non-default duplicate
        "source_ids": ["S1", "S1", "S90e", "S29", "D46", "X"],
    }
)


MONEY_PROJECTS = PROJECTS.assign(
    status=["construction", "feasibility", "pre_fid", "operating", "ramping"],
    funding_us_musd=[200.0, None, 100.0, 50.0, None],
    funding_is_conditional=[False, False, True, False, False],
)


def test_pipeline_public_money_factors():
    out = e.pipeline_public_money(MONEY_PROJECTS, us_support_factor=0.5, conditional_share=0.5)
    by = out.set_index(["project_id", "funder"])["counted_musd"]
    assert by[("eneabba", "United States")] == pytest.approx(100.0)  # US factor only
    assert by[("nolans", "United States")] == pytest.approx(25.0)  # US factor x conditional share
    assert by[("nolans", "Australia")] == pytest.approx(273.0)  # conditional share only
    assert "no_capex" not in set(out["project_id"])  # operating plants are not pipeline
    assert "magnets" not in set(out["project_id"])  # not a separation project
    with pytest.raises(ValueError, match="conditional_share"):
        e.pipeline_public_money(MONEY_PROJECTS, conditional_share=2)


FRAMEWORKS = pd.DataFrame(
    {
        "framework_id": ["us_au", "us_jp"],
        "name": ["US-Australia framework", "US-Japan framework"],
        "parties": ["United States;Australia", "United States;Japan"],
        "signed_date": [pd.Timestamp("2025-10-20"), pd.Timestamp("2025-10-28")],
        "commitment_musd": [2000.0, None],
        "source_ids": ["S91b", "S91g"],
    }
)
