"""Tests for rare_earth_lib.models.projection: the world separation projection and its IEA benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rare_earth_lib.data import package
from rare_earth_lib.models import projection as pj
from rare_earth_lib.models import timeline
from rare_earth_lib.models.timeline.simulate import PRODUCTS
from rare_earth_lib.parameters.refining_timeline import Params

TRIALS = 400


@pytest.fixture(scope="module")
def tables():
    return {name: package.load(name) for name in pj.TABLES}


@pytest.fixture(scope="module")
def run(tables):
    return timeline.simulate(Params(n_trials=TRIALS), tables)


@pytest.fixture(scope="module")
def proj(run, tables):
    return pj.project(run, tables, as_of=package.as_of())


# --- accounting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["country", "group"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_shares_sum_to_one_in_every_year_and_trial(proj, product, key):
    names, share = proj.shares(key, product)
    assert share.shape == (TRIALS, len(names), proj.years.size)
    np.testing.assert_allclose(share.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (share >= 0).all() and (share <= 1).all()


def test_projection_covers_the_start_year_to_2035(proj):
    assert proj.years[0] == Params().start_year and proj.years[-1] == pj.END_YEAR


@pytest.mark.parametrize("product", PRODUCTS)
def test_alliance_is_the_timeline_run_capacity_split_by_location(proj, run, product):
    cap = proj.capacity[product]
    alliance = cap[:, (proj.segments["group"] == pj.GROUP_ALLIANCE).to_numpy(), :].sum(axis=1)
    np.testing.assert_allclose(alliance, run.result.capacity_tpa[product][:, : proj.years.size], rtol=1e-9)
    # Lynas's Malaysian plant counts for Australia (its owner) in the alliance, and stands in Malaysia
    assert ((proj.segments["country"] == "Malaysia") & (proj.segments["group"] == pj.GROUP_ALLIANCE)).any()


def test_others_are_the_non_alliance_plants_outside_china(proj):
    others = proj.others_pipeline
    assert not others.empty and (others["country"] != "China").all()
    assert set(others["project_id"]) >= {"neo_silmet", "solvay_la_rochelle", "ucore_louisiana"}
    assert not set(others["project_id"]) & {"lynas_lamp", "mp_mountain_pass"}


def test_others_use_the_timeline_completion_model(tables):
    """A stricter completion probability for plants under construction lowers the others' capacity in no trial-year."""
    base = timeline.simulate(Params(n_trials=200), tables)
    strict = timeline.simulate(Params(n_trials=200, completion_prob_construction=0.0), tables)
    a, b = (pj.project(r, tables, as_of=package.as_of()) for r in (base, strict))
    others = (a.segments["group"] == pj.GROUP_OTHERS).to_numpy()
    assert (b.capacity["ndpr_oxide"][:, others, :] <= a.capacity["ndpr_oxide"][:, others, :] + 1e-9).all()
    ucore = (a.segments["group"] == pj.GROUP_OTHERS).to_numpy() & (a.segments["country"] == "United States").to_numpy()
    assert b.capacity["ndpr_oxide"][:, ucore, :].sum() == 0.0 < a.capacity["ndpr_oxide"][:, ucore, :].sum()


# --- China --------------------------------------------------------------------------------------


def test_default_growth_parameter_names_the_default_separation_quota_row(tables):
    rates = tables["growth_rates"]
    row = rates[rates["rate_id"] == Params().china_refining_growth_rate_id].iloc[0]
    assert row["region"] == "China" and row["measure"] == "separation_quota" and bool(row["is_default"])


def test_china_follows_the_growth_parameter(tables, run):
    rates = tables["growth_rates"]
    for rate_id in ("china_separation_quota_2024", "china_mining_quota_2023_2024", "china_mining_quota_2024_2025"):
        growth = float(rates.loc[rates["rate_id"] == rate_id, "annual_growth"].iloc[0])
        params = Params(n_trials=TRIALS, china_refining_growth_rate_id=rate_id)
        p = pj.project(run.__class__(**{**run.__dict__, "params": params}), tables, as_of=package.as_of())
        china = p.capacity["ndpr_oxide"][0, 0, :]
        assert p.segments.iloc[0]["country"] == "China"
        np.testing.assert_allclose(china[1:] / china[:-1], 1.0 + growth, rtol=1e-12)
        np.testing.assert_allclose(china[0], 7325 * 12 * (1 + growth) ** (p.years[0] - 2024), rtol=1e-12)


def test_unknown_growth_row_is_a_clear_error(tables):
    with pytest.raises(ValueError, match=r"china_refining_growth_rate_id: 'nope' is not a China row"):
        pj.china_growth(tables["growth_rates"], "nope")


# --- base year ----------------------------------------------------------------------------------


def test_base_year_shares_match_the_data(proj, tables):
    base = proj.base.set_index(["product", "country"])
    assert set(proj.base["year"]) == {2025}
    # NdPr: China's June-2024 run-rate grown a year, against Lynas (calendar 2025) and MP (2025)
    china = 7325 * 12 * (1 + proj.china.growth)
    assert base.loc[("ndpr_oxide", "China"), "share"] == pytest.approx(china / (china + 6996 + 2599))
    assert base.loc[("ndpr_oxide", "Malaysia"), "tonnes"] == 6996 and base.loc[("ndpr_oxide", "United States"), "tonnes"] == 2599
    # the fact base's cross-checks: about 90% of NdPr, about 98% of Dy+Tb (stage_shares rows)
    shares = tables["stage_shares"]
    iea_2024 = shares[(shares["stage"] == "separation") & (shares["region"] == "China") & (shares["year"] == 2024)]["share"].iloc[0]
    heavy_2025 = shares[(shares["stage"] == "heavy_separation") & (shares["region"] == "China") & (shares["year"] == 2025)]["share"].iloc[0]
    assert abs(base.loc[("ndpr_oxide", "China"), "share"] - iea_2024) < 0.01
    assert abs(base.loc[("dytb_oxide", "China"), "share"] - heavy_2025) < 0.005
    for product in PRODUCTS:
        assert proj.base.loc[proj.base["product"] == product, "share"].sum() == pytest.approx(1.0)
    assert proj.base["source_ids"].str.len().gt(0).all()
    assert proj.base["method"].str.contains("Derived").any()


def test_projection_table_quantiles_are_ordered_and_include_the_base_year(proj):
    table = pj.projection_table(proj)
    assert (table["share_p10"] <= table["share_p50"] + 1e-12).all() and (table["share_p50"] <= table["share_p90"] + 1e-12).all()
    assert set(table.loc[table["observed"], "year"]) == {2025}
    assert set(table.loc[~table["observed"], "year"]) == set(range(2026, 2036))
    modelled = table[~table["observed"]]
    assert {"China", "Malaysia", "Australia", "United States", "Estonia"} <= set(modelled.loc[modelled["year"] == 2030, "country"])


# --- benchmark ----------------------------------------------------------------------------------


def test_benchmark_table_carries_the_iea_rows_with_their_sources(proj, tables):
    bench = pj.benchmark_table(proj, tables["projections"])
    assert "projection_id" not in bench.columns
    iea = bench[bench["forecaster"] == "IEA"].set_index(["region", "year"])
    assert iea.loc[("China", 2030), "published"] == 0.77 and iea.loc[("Malaysia", 2030), "published"] == 0.12
    assert iea.loc[("Australia", 2030), "published"] == 0.03 and iea.loc[("China", 2035), "published"] == 0.76
    assert iea["source_ids"].str.contains("S6").sum() >= 4 and "S8" in iea.loc[("China", 2035), "source_ids"]
    assert iea["basis_note"].str.contains("secondary outlet").all()
    assert "derived" in iea.loc[("Others", 2030), "basis_note"]
    assert iea.loc[("China", 2030), "comparable"] and iea.loc[("China", 2030), "model_p10"] <= iea.loc[("China", 2030), "model_p90"]
    metrics = pj.projection_metrics(proj, tables["projections"])
    assert iea.loc[("China", 2030), "model_p50"] == pytest.approx(metrics["china_refining_share_2030_p50"], abs=1e-4)
    # a 2040 figure and a reliance measure have no model counterpart
    assert not bench.loc[bench["year"] == 2040, "comparable"].any()
    assert not bench.loc[bench["forecaster"].str.startswith("Benchmark"), "comparable"].any()


def test_metrics_keys(proj, tables):
    metrics = pj.projection_metrics(proj, tables["projections"])
    assert metrics["iea_china_refining_share_2030"] == 0.77 and metrics["iea_china_refining_share_2035"] == 0.76
    assert metrics["iea_malaysia_refining_share_2030"] == 0.12 and metrics["iea_australia_refining_share_2030"] == 0.03
    names, share = proj.shares("country", "ndpr_oxide")
    k = list(proj.years).index(2030)
    assert metrics["malaysia_refining_share_2030_p50"] == pytest.approx(np.median(share[:, names.index("Malaysia"), k]), abs=1e-4)
    for year in (2030, 2035):
        assert (
            metrics[f"china_refining_share_{year}_p10"]
            <= metrics[f"china_refining_share_{year}_p50"]
            <= metrics[f"china_refining_share_{year}_p90"]
        )


# --- decomposition on constructed inputs ---------------------------------------------------------


def constructed(
    china_2030: float, malaysia: float, australia: float, elsewhere: float, growth: float = 0.03, trials: int = 5
) -> pj.WorldProjection:
    """A projection with fixed capacities in 2026-2035 (China's grows at ``growth`` to ``china_2030``)."""
    years = np.arange(2026, 2036)
    base = china_2030 / (1 + growth) ** (2030 - 2024)
    china = pj.ChinaPath(
        rate_id="test_rate",
        growth=growth,
        rate_method="",
        rate_note="",
        rate_source_ids="T1",
        rate_is_estimate=False,
        base_year=2024,
        base_tpa={"ndpr_oxide": base, "dytb_oxide": 1.0},
        base_method={"ndpr_oxide": "", "dytb_oxide": ""},
        base_source_ids={"ndpr_oxide": "T1", "dytb_oxide": "T1"},
    )
    segments = pd.DataFrame(
        {"country": ["China", "Malaysia", "Australia", "United States"], "group": ["China", "Alliance", "Alliance", "Alliance"]}
    )
    cap = np.empty((trials, 4, years.size))
    cap[:, 0, :] = china.tonnes(years, "ndpr_oxide")
    spread = np.linspace(0.9, 1.1, trials)[:, None] if trials > 1 else np.ones((1, 1))
    cap[:, 1, :], cap[:, 2, :], cap[:, 3, :] = malaysia * spread, australia * spread, elsewhere * spread
    return pj.WorldProjection(
        years=years,
        segments=segments,
        capacity={"ndpr_oxide": cap, "dytb_oxide": cap.copy()},
        china=china,
        base=pd.DataFrame(),
        others_pipeline=pd.DataFrame(),
        attribution="owner",
    )


@pytest.mark.parametrize("inputs", [(86.0, 8.0, 1.0, 5.0), (78.0, 12.0, 3.0, 7.0), (60.0, 25.0, 5.0, 10.0)])
def test_decomposition_parts_add_up_to_the_gap(tables, inputs):
    d = pj.decompose_gap(constructed(*inputs), tables["projections"], tables["demand"])
    assert d.parts["contribution"].sum() == pytest.approx(d.gap, abs=1e-12)
    assert d.gap == pytest.approx(d.model_share - 0.77)
    assert set(d.parts["factor"]) == {"china_growth", "Malaysia", "Australia", "Others"}


def test_decomposition_names_the_cause(tables):
    """Only Malaysia short of IEA's implied level: Malaysia carries nearly all of the gap."""
    growth = pj.decompose_gap(constructed(100.0, 1.0, 1.0, 1.0), tables["projections"], tables["demand"]).iea_china_growth
    probe = pj.decompose_gap(constructed(100.0, 0.0, 0.0, 0.0, growth=growth), tables["projections"], tables["demand"])
    implied = probe.parts.set_index("factor")["iea_value"]
    d = pj.decompose_gap(
        constructed(100.0, implied["Malaysia"] / 2, implied["Australia"], implied["Others"], growth=probe.iea_china_growth, trials=1),
        tables["projections"],
        tables["demand"],
    )
    parts = d.parts.set_index("factor")["contribution"]
    assert d.gap > 0.02
    assert parts["Malaysia"] == pytest.approx(d.gap, abs=1e-9)
    assert abs(parts["china_growth"]) < 1e-9 and abs(parts["Australia"]) < 1e-9


def test_iea_implied_china_growth_comes_from_iea_shares_and_demand(tables):
    d = pj.decompose_gap(constructed(86.0, 8.0, 1.0, 5.0), tables["projections"], tables["demand"])
    assert d.world_growth == pytest.approx(131000 / 93000)
    assert d.iea_china_growth == pytest.approx((0.77 * 131000 / (0.92 * 93000)) ** (1 / 7) - 1)


def test_a_horizon_before_2035_is_a_clear_error(tables):
    short = timeline.simulate(Params(n_trials=100, horizon_year=2033), tables)
    with pytest.raises(ValueError, match=r"horizon_year \(2033\) must reach 2035"):
        pj.project(short, tables, as_of=package.as_of())


def test_source_ids_cover_the_base_year_and_the_growth_row(proj, tables):
    ids = pj.source_ids(proj, pj.benchmark_table(proj, tables["projections"]))
    assert {"D64c", "E4", "E8", "D91", "S6", "S8"} <= set(ids)
    known = set(tables["projections"]["source_ids"].str.split(";").explode()) | set(package.load("sources")["source_id"])
    assert set(ids) <= known
