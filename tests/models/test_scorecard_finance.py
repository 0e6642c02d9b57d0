"""Money in the assessment: floors on the volume each covers, ex-China prices, greenfield capex, a finance pillar that can fail."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp
from rare_earth_lib.domain import FUNDING_COLUMNS
from rare_earth_lib.models import capacity
from rare_earth_lib.models import scorecard as s
from rare_earth_lib.models.scorecard import finance
from rare_earth_lib.parameters.alliance_feasibility import Params

# One xdist worker runs the whole module (--dist loadgroup), since its tests share the module's assessment:
# on several workers each would compute them again.
pytestmark = pytest.mark.xdist_group("scorecard_finance")

FLOOR_PRICES = pd.DataFrame(
    {
        "product": ["ndpr_oxide", "ndpr_oxide"],
        "price_type": ["price_floor", "price_floor"],
        "year": [2025, 2026],
        "usd_per_kg": [110.0, 110.0],
        "basis": ["DoD price floor for MP Materials NdPr", "Lynas-JARE revised offtake: firm 5,000 t/y NdPr with floor"],
        "is_default": [True, True],
        "source_ids": ["S29", "D46"],
    }
)


def _floor_params(scope: str = "us_producer", support: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(price_floor_scope=scope, us_support_factor=lambda: support)


def test_each_floor_is_costed_on_the_volume_it_covers_and_charged_to_its_government():
    volumes = {"us_floor_t": 3668.0, "japan_floor_t": 5000.0, "alliance_need_t": 10_000.0}
    floors = finance.floor_costs(FLOOR_PRICES, 110.0, 84.0, "S90c", volumes, _floor_params()).set_index("government")
    assert list(floors.index) == ["United States", "Japan"]  # no extended floor unless the scenario says so
    assert floors.at["United States", "volume_t"] == 3668.0  # MP only, not MP + Energy Fuels
    assert floors.at["United States", "cost_musd_per_year"] == pytest.approx((110 - 84) * 3668 / 1000)
    assert floors.at["Japan", "cost_musd_per_year"] == pytest.approx((110 - 84) * 5000 / 1000)
    assert "S29" in floors.at["United States", "source_ids"] and "D46" in floors.at["Japan", "source_ids"]
    withdrawn = finance.floor_costs(FLOOR_PRICES, 110.0, 84.0, "", volumes, _floor_params(support=0.5)).set_index("government")
    assert withdrawn.at["United States", "cost_musd_per_year"] == pytest.approx((110 - 84) * 3668 / 1000 * 0.5)
    assert withdrawn.at["Japan", "cost_musd_per_year"] == pytest.approx((110 - 84) * 5000 / 1000)  # Japan's floor unaffected
    extended = finance.floor_costs(FLOOR_PRICES, 110.0, 84.0, "", volumes, _floor_params("alliance_demand"))
    assert extended["volume_t"].iloc[-1] == 10_000.0 and extended["government"].iloc[-1] == "not stated"


@pytest.fixture(scope="module")
def tables():
    return {name: dp.load(name) for name in s.ASSESSMENT_TABLES}


@pytest.fixture(scope="module")
def base(tables):
    """The default scenario's assessment on the package, once for the tests that only read it."""
    return _assess(tables)


def _assess(tables, **overrides):
    return s.assess(tables, Params(**overrides), dp.as_of(), {"ndpr_oxide": 2030, "dytb_oxide": 2033})


def test_us_floor_covers_mp_materials_today_output_on_the_package(tables, base):
    result = base
    mp = capacity.today_plants(tables["projects"], Params(), dp.as_of(), stages=("separation",))
    mp_today = float(mp.loc[mp["project_id"] == "mp_mountain_pass", "today_tpa"].sum())
    floors = result.floors.set_index("government")
    assert floors.at["United States", "volume_t"] == pytest.approx(mp_today)
    assert floors.at["Japan", "volume_t"] == Params().japan_floor_volume_t
    # the market price is the ex-China benchmark by default, shown beside China-linked prices
    prices = result.prices[result.prices["product"] == "ndpr_oxide"].set_index("basis")["usd_per_kg"]
    assert result.figures["market_usd_per_kg"] == pytest.approx(prices["europe"])
    assert "annual_average" in prices.index
    china = _assess(tables, market_price_basis="china")
    assert china.figures["market_usd_per_kg"] == pytest.approx(prices["annual_average"])


def test_capex_comes_from_greenfield_plants_and_money_only_counts_for_alliance_separation(tables, base):
    result = base
    assert not result.capex_intensity["status"].isin(["operating", "ramping"]).any()  # no old brownfield figures
    gap = result.capex_gap.set_index("product")
    assert (gap["usd_per_tpa_low"] <= gap["usd_per_tpa_central"]).all() and (gap["usd_per_tpa_central"] <= gap["usd_per_tpa_high"]).all()
    money = result.public_money
    counted = money[money["separation_in_alliance"]]
    assert set(counted["funder"]) <= {"United States", "Japan", "Australia"}  # never EU/Canadian money
    assert result.figures["public_money_musd"] == pytest.approx(counted["counted_musd"].sum())
    assert not counted["project_id"].isin(["mp_10x", "usar_stillwater", "neo_narva"]).any()  # magnet money shown apart


def test_finance_pillar_scores_low_when_the_gap_is_unfunded(tables):
    """An unfunded gap at a low market price and no US floor support must score low, not 91 in every scenario."""
    unfunded = dict(tables)
    projects = tables["projects"].copy()
    for column in FUNDING_COLUMNS.values():
        projects[column] = float("nan")
    unfunded["projects"] = projects
    result = _assess(
        unfunded,
        market_price_basis="china",
        market_price_year=2024,
        us_funding_withdrawn=True,
        us_backed_stop_share=1.0,
        demand_scale=3.0,
    )
    card = result.scorecard.set_index("indicator")
    assert result.figures["public_money_musd"] == 0.0 and result.figures["capex_needed_musd"] > 0
    assert card.at["public_money_to_capex", "score"] == 0.0
    finance_score = result.pillars.set_index("pillar").at["market_finance", "score"]
    assert finance_score < 100 / 3, finance_score
    assert result.pillars.set_index("pillar").at["market_finance", "band"] == "weak"


def test_self_sufficiency_is_like_for_like_on_the_package(base):
    """Magnets: Japanese capacity is not divided by US-only demand; plants in China are shown apart."""
    suff = base.self_sufficiency.set_index("stage")
    magnet = suff.loc["magnet"]
    assert magnet["countries"] == "United States"
    assert "Japan" in magnet["left_out"]
    assert magnet["alliance_owned_in_china_tpa"] > 0
    assert magnet["ratio_central"] == pytest.approx(magnet["capacity_tpa"] / magnet["demand_central_t"])
    sep = suff.loc["separation"]
    assert sep["ratio_low"] > sep["ratio_central"] > sep["ratio_high"]


def test_framework_money_counts_only_where_the_data_class_it_as_alliance_separation(tables):
    items = finance.framework_project_money(tables["framework_money"], Params()).set_index("project_id")
    assert bool(items.at["arafura_nolans", "separation_in_alliance"])  # EXIM letter of interest for Nolans
    assert items.at["arafura_nolans", "counted_musd"] == pytest.approx(items.at["arafura_nolans", "committed_musd"] * 0.5)  # conditional
    assert not bool(items.at["vhm_goschen", "separation_in_alliance"])  # a mine: shown apart
    assert "lynas_lamp" not in items.index  # JARE money is already in the project's funding: never counted twice
