"""Tests of rare_earth_lib.models.scorecard: the scale, the index, the bottleneck and the indicator inputs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import scorecard as s
from rare_earth_lib.parameters.alliance_feasibility import Params

PARAMS = Params()

INPUTS = dict(
    australia_mine_t_reo=29_000.0,
    ore_ndpr_share_of_reo=0.2,
    ore_dytb_share_of_reo=0.003,
    alliance_ndpr_demand_t=8_000.0,
    alliance_dytb_demand_t=535.0,
    china_separation_share=0.91,
    china_heavy_separation_share=0.99,
    technology_measures_in_force=1,
    technology_measures_total=2,
    market_usd_per_kg=69.0,
    incentive_usd_per_kg=80.0,
    effective_floor_usd_per_kg=110.0,
    public_money_musd=2_000.0,
    capex_needed_musd=4_000.0,
    years_to_ndpr_coverage=8.0,
    years_to_dytb_coverage=12.0,
    licence_exposure_share=0.4,
    us_share_of_public_money=0.5,
    us_reversal_probability=0.25,
)


def scored(**overrides):
    values, inputs = s.feasibility_values(**{**INPUTS, **overrides})
    return s.build_scorecard(values, PARAMS, inputs)


@pytest.mark.parametrize(
    "value, worst, best, expected",
    [
        (0.5, 0.0, 1.0, 50.0),
        (2.0, 0.0, 1.0, 100.0),  # clipped above
        (-1.0, 0.0, 1.0, 0.0),  # clipped below
        (9.0, 15.0, 3.0, 50.0),  # lower is better
        (math.inf, 15.0, 3.0, 0.0),  # never reached
        (0.0, 0.8, 0.0, 100.0),
    ],
)
def test_score_linear(value, worst, best, expected):
    assert s.score_linear(value, worst, best) == pytest.approx(expected)


def test_score_linear_rejects_equal_thresholds_and_nan():
    with pytest.raises(ValueError, match="worst"):
        s.score_linear(1.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="value"):
        s.score_linear(float("nan"), 0.0, 1.0)


def test_feasibility_values_known_numbers():
    values, inputs = s.feasibility_values(**INPUTS)
    assert values["light_ore_coverage"] == pytest.approx(29_000 * 0.2 / 8_000)
    assert values["heavy_ore_coverage"] == pytest.approx(29_000 * 0.003 / 535)
    assert values["nonchina_separation_share"] == pytest.approx(0.09)
    assert values["technology_controls_in_force"] == pytest.approx(0.5)  # 1 of 2 measures in force, not a reliance figure
    assert values["market_to_incentive_price"] == pytest.approx(69 / 80)
    assert values["public_money_to_capex"] == pytest.approx(0.5)
    assert values["us_funding_at_risk"] == pytest.approx(0.125)
    assert set(inputs) == set(values)
    assert "29,000" in inputs["light_ore_coverage"]


@pytest.mark.parametrize(
    "override, name",
    [
        ({"china_separation_share": 1.2}, "china_separation_share"),
        ({"alliance_ndpr_demand_t": 0.0}, "alliance_ndpr_demand_t"),
        ({"market_usd_per_kg": -1.0}, "market_usd_per_kg"),
        ({"technology_measures_in_force": 3}, "technology_measures_in_force"),
        ({"us_reversal_probability": -0.1}, "us_reversal_probability"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(override, name):
    with pytest.raises(ValueError, match=name):
        s.feasibility_values(**{**INPUTS, **override})


def test_scorecard_frame_carries_inputs_and_thresholds():
    card = scored()
    assert list(card.columns) == [
        "pillar",
        "indicator",
        "description",
        "value",
        "unit",
        "worst",
        "best",
        "thresholds",
        "score",
        "weight",
        "pillar_weight",
        "inputs",
    ]
    assert card["pillar"].drop_duplicates().tolist() == list(s.PILLARS)
    assert card["score"].between(0, 100).all()
    row = card.set_index("indicator").loc["years_to_ndpr_coverage"]
    assert row["score"] == pytest.approx((15 - 8) / (15 - 3) * 100)
    assert row["thresholds"] == "0 at 15, 100 at 3"
    assert card.groupby("pillar")["weight"].sum().tolist() == pytest.approx([1.0] * 5)


def test_index_bottleneck_and_pillars():
    card = scored()
    pillars = s.pillar_scores(card).set_index("pillar")
    assert pillars["weight"].sum() == pytest.approx(1.0)
    assert s.overall_index(card) == pytest.approx(pillars["score"].mean())  # equal default weights
    assert s.bottleneck(card) == pillars["score"].idxmin()
    weakest = s.weakest_indicator(card, s.bottleneck(card))
    assert weakest["pillar"] == s.bottleneck(card)
    with pytest.raises(ValueError, match="pillar"):
        s.weakest_indicator(card, "luck")


def test_never_reached_scores_zero_and_says_so():
    card = scored(years_to_dytb_coverage=None).set_index("indicator")
    assert card.loc["years_to_dytb_coverage", "score"] == 0.0
    assert card.loc["years_to_dytb_coverage", "value"] is None or pd.isna(card.loc["years_to_dytb_coverage", "value"])
    assert "Not reached" in card.loc["years_to_dytb_coverage", "inputs"]
    with pytest.raises(ValueError, match="years_to"):
        scored(years_to_ndpr_coverage=-1.0)


def test_unknown_indicator_raises():
    with pytest.raises(ValueError, match="values"):
        s.build_scorecard({"luck": 1.0}, PARAMS)


def test_parameters_move_the_scorecard():
    base = s.overall_index(scored())
    assert s.overall_index(scored(licence_exposure_share=0.8)) < base
    assert s.overall_index(scored(years_to_ndpr_coverage=4.0)) > base
    # weights: putting all weight on the time pillar makes the index equal the time score
    only_time = PARAMS.model_copy(
        update={"weight_resources": 0, "weight_technology": 0, "weight_market_finance": 0, "weight_policy_risk": 0}
    )
    values, inputs = s.feasibility_values(**INPUTS)
    card = s.build_scorecard(values, only_time, inputs)
    assert s.overall_index(card) == pytest.approx(card.loc[card["pillar"] == "time", "score"].mean())


def test_params_reject_equal_thresholds_and_zero_weights():
    with pytest.raises(ValueError, match="time_years"):
        Params(time_years_worst=5, time_years_best=5)
    with pytest.raises(ValueError, match="weight"):
        Params(weight_resources=0, weight_technology=0, weight_market_finance=0, weight_time=0, weight_policy_risk=0)


@pytest.mark.parametrize("score, label", [(0, "weak"), (33.2, "weak"), (50, "partial"), (66.7, "strong"), (100, "strong")])
def test_band(score, label):
    assert s.band(score) == label


fraction = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(
    fraction,
    fraction,
    st.floats(min_value=0, max_value=500, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=0, max_value=60, allow_nan=False)),
    st.floats(min_value=0, max_value=1e5, allow_nan=False),
)
@settings(max_examples=60, deadline=None)
def test_scores_and_index_stay_on_scale(licence, us_share, market, years, money):
    card = scored(
        licence_exposure_share=licence,
        us_share_of_public_money=us_share,
        market_usd_per_kg=market,
        years_to_dytb_coverage=years,
        public_money_musd=money,
    )
    assert card["score"].between(0, 100).all()
    index = s.overall_index(card)
    assert 0 <= index <= 100
    assert s.pillar_scores(card)["score"].min() <= index <= s.pillar_scores(card)["score"].max() + 1e-9


@given(st.floats(min_value=0, max_value=40, allow_nan=False), st.floats(min_value=0, max_value=40, allow_nan=False))
@settings(max_examples=40, deadline=None)
def test_more_years_never_scores_higher(y1, y2):
    low, high = sorted([y1, y2])
    assert s.overall_index(scored(years_to_ndpr_coverage=high)) <= s.overall_index(scored(years_to_ndpr_coverage=low)) + 1e-9


# --- the whole assessment on the shipped data package (no Monte Carlo: coverage years are given) ---
from rare_earth_lib.data import package as dp  # noqa: E402
from rare_earth_lib.domain import CHAIN_STAGES  # noqa: E402

# One xdist worker runs the whole module (--dist loadgroup), since its tests share the module's tables and assessment:
# on several workers each would compute them again.
pytestmark = pytest.mark.xdist_group("scorecard")

TABLES = ("projects", "stage_shares", "mine_production", "demand", "export_controls", "prices", "trade_exposure", "frameworks")


@pytest.fixture(scope="module")
def tables():
    return {name: dp.load(name) for name in TABLES}


_ASSESSED: dict = {}


def assess(tables, years=(2032, 2034), **overrides):
    """The assessment for these parameters, computed once per module (several tests compare against the base case)."""
    key = (years, Params(**overrides).model_dump_json())
    if key not in _ASSESSED:
        _ASSESSED[key] = s.assess(tables, Params(**overrides), dp.as_of(), {"ndpr_oxide": years[0], "dytb_oxide": years[1]})
    return _ASSESSED[key]


def test_assess_on_data_package_is_consistent(tables):
    a = assess(tables)
    shares = a.chain[["china_share", "alliance_share", "partners_share", "others_share"]].sum(axis=1)
    assert shares.to_numpy() == pytest.approx([1.0] * len(a.chain))
    assert a.chain["stage"].tolist() == list(CHAIN_STAGES)
    assert a.figures["china_separation_share"] == pytest.approx(0.91)  # IEA, 2024/25 [S9]
    assert a.scorecard["score"].between(0, 100).all()
    assert 0 <= a.overall_index <= 100
    assert a.bottleneck in s.PILLARS
    assert a.exposure["licence_share"].between(0, 1).all()
    assert a.scorecard["source_ids"].str.len().gt(0).all()  # every indicator names its sources
    # years are counted from the data's as-of year
    row = a.scorecard.set_index("indicator").loc["years_to_ndpr_coverage"]
    assert row["value"] == pytest.approx(2032 - dp.as_of().year)


def test_scenario_parameters_move_the_scorecard(tables):
    base = assess(tables)
    reimposed = assess(tables, controls_regime="reimposed")
    assert reimposed.figures["licence_exposure_mean"] > base.figures["licence_exposure_mean"]
    assert reimposed.overall_index < base.overall_index
    withdrawn = assess(tables, us_funding_withdrawn=True)
    assert withdrawn.figures["public_money_musd"] < base.figures["public_money_musd"]
    assert withdrawn.pillars.set_index("pillar").at["policy_risk", "score"] < base.pillars.set_index("pillar").at["policy_risk", "score"]
    extended_floor = assess(tables, price_floor_scope="alliance_demand")
    assert extended_floor.figures["floor_cost_musd_per_year"] > base.figures["floor_cost_musd_per_year"]
    slower = assess(tables, years=(None, None))
    assert slower.pillars.set_index("pillar").at["time", "score"] == 0.0


def test_attribution_moves_malaysia_between_alliance_and_partners(tables):
    owner = assess(tables, attribution="owner").chain.set_index("stage")
    location = assess(tables, attribution="location").chain.set_index("stage")
    assert owner.at["separation", "alliance_share"] > location.at["separation", "alliance_share"]
    assert location.at["separation", "partners_share"] >= 0.05 - 1e-9  # Malaysia (Lynas) counts as a partner host
