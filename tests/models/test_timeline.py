"""Tests for rare_earth_lib.models.timeline: slip fit with censoring, Monte Carlo, summaries, hindcast, sensitivity."""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.models import timeline as tl
from rare_earth_lib.parameters.refining_timeline import Params

# One xdist worker runs the whole module (--dist loadgroup), since its tests share one prepared run (``prepared``) and the model's imports:
# on several workers each would compute them again.
pytestmark = pytest.mark.xdist_group("timeline")

NaT = pd.NaT
AS_OF = "2026-11-28"

# Historical builds with the contract's column names: four reached first output, two are censored.
ANALOGS = pd.DataFrame(
    {
        "analog_id": ["lamp", "kalgoorlie", "stage2", "eneabba", "nolans", "narva"],
        "project": ["LAMP", "Kalgoorlie", "Stage II", "Eneabba", "Nolans", "Narva magnets"],
        "country": ["Malaysia", "Australia", "United States", "Australia", "Australia", "Estonia"],
        "stage": ["cracking;separation", "cracking", "separation", "cracking;separation", "mining;separation", "magnet"],
        "greenfield": [True, True, False, True, True, True],
        "decision_date": pd.to_datetime([NaT, "2019-05-15", "2019-07-01", "2022-04-15", "2019-02-07", "2023-07-15"]),
        "planned_first_output_date": pd.to_datetime(["2011-08-15", "2022-12-31", "2022-07-01", "2025-07-01", "2022-07-01", "2025-07-01"]),
        "actual_first_output_date": pd.to_datetime(["2012-11-30", "2023-12-07", "2023-08-15", NaT, NaT, "2025-09-15"]),
        "reached_first_output": [True, True, True, False, False, True],
        "source_ids": ["S55", "S43", "S36", "S68", "S72", "S88"],
    }
)

PROJECTS = pd.DataFrame(
    {
        "project_id": ["lamp", "eneabba", "nolans", "hre_new", "mp_hre", "ef2"],
        "company": ["Lynas", "Iluka", "Arafura", "Lynas", "MP", "Energy Fuels"],
        "site": ["Gebeng", "Eneabba", "Nolans", "Gebeng", "Mountain Pass", "White Mesa"],
        "country": ["Malaysia", "Australia", "Australia", "Malaysia", "United States", "United States"],
        "owner_country": ["Australia", "Australia", "Australia", "Australia", "United States", "United States"],
        "stages": [
            "cracking;separation",
            "cracking;separation;heavy_separation",
            "mining;separation",
            "heavy_separation",
            "heavy_separation",
            "separation;heavy_separation",
        ],
        "capacity_tpa": [10500.0, 17500.0, 4440.0, 5000.0, 3000.0, 6000.0],
        "capacity_basis": ["t_ndpr_oxide", "t_reo", "t_ndpr_oxide", "t_feed", "t_feed", "t_ndpr_oxide"],
        "ndpr_oxide_tpa": [10500.0, 4000.0, 4440.0, np.nan, np.nan, 6000.0],
        "dytb_oxide_tpa": [np.nan, 150.0, np.nan, 300.0, 200.0, 306.0],
        "capacity_is_estimate": [False, True, False, True, False, False],
        "status": ["operating", "construction", "pre_fid", "fid", "construction", "feasibility"],
        "announced_date": pd.to_datetime([NaT, NaT, NaT, "2025-10-29", NaT, "2026-01-15"]),
        "fid_date": pd.to_datetime([NaT, "2022-04-15", NaT, NaT, NaT, NaT]),
        "construction_start_date": pd.to_datetime([NaT, "2022-10-01", NaT, NaT, NaT, NaT]),
        "first_output_planned_date": pd.to_datetime([NaT, "2025-07-01", "2022-07-01", NaT, NaT, NaT]),
        "first_output_target_date": pd.to_datetime([NaT, "2027-07-01", NaT, "2026-04-15", "2026-07-01", "2029-02-15"]),
        "first_output_actual_date": pd.to_datetime(["2012-11-30", NaT, NaT, NaT, NaT, NaT]),
        "funding_us_musd": [np.nan, np.nan, 0.0, 0.0, 185.0, np.nan],
        "source_ids": ["S48", "S68", "S72", "D75", "S35", "D21"],
    }
)

DEMAND = pd.DataFrame(
    {
        "region": ["united_states", "japan", "united_states", "japan", "australia", "australia"],
        "product": ["ndpr_oxide", "ndpr_oxide", "dytb_oxide", "dytb_oxide", "ndpr_oxide", "dytb_oxide"],
        "segment": ["all"] * 6,
        "year": [2030, 2024, 2025, 2024, 2024, 2024],
        "tonnes": [13300.0, 5500.0, 340.0, 195.0, 0.0, 0.0],
        "kind": ["projection", "observed", "derived", "derived", "derived", "derived"],
        "outlook": ["EF", "JSNM", "EF", "FB", "assumption", "assumption"],
        "is_estimate": [True, False, True, True, True, True],
        "is_default": [True] * 6,
        "method": ["6000/0.45", None, "270+70", "illustrative", "assumed 0", "assumed 0"],
        "source_ids": ["D21", "D29a", "D20", "D44", "D49", "D49"],
        "as_of": ["2024"] * 6,
    }
)

SMALL = {"n_trials": 400, "horizon_year": 2040}


def small_params(**update) -> Params:
    return Params(**(SMALL | update))


def run(**update) -> tl.TimelineRun:
    return tl.run_timeline(small_params(**update), projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)


@functools.cache
def prepared() -> tl.TimelineRun:
    """The default small run, whose prepared inputs (pipeline, slip fit, demand) :func:`simulate` reuses."""
    return run()


SIMULATION_ONLY = {
    "seed",
    "n_trials",
    "coverage_threshold",
    "demand_uncertainty_sigma",
    "slip_multiplier",
    "years_to_nameplate",
    "first_year_utilisation",
    "mature_utilisation",
    *(f"completion_prob_{s}" for s in ("construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled")),
}
"""Parameters the property tests vary that enter only the Monte Carlo, not its prepared inputs (checked by
test_the_monte_carlo_alone_equals_the_full_run_for_simulation_parameters)."""


def simulate(**update) -> tl.SimulationResult:
    """The Monte Carlo alone (``simulate_trials``) on the default run's prepared inputs, for parameters in
    :data:`SIMULATION_ONLY`: the same result as :func:`run`, without preparing the same pipeline, slip fit and
    demand again for every example of a property test."""
    assert set(update) <= SIMULATION_ONLY, set(update) - SIMULATION_ONLY
    base = prepared()
    return tl.simulate_trials(base.pipeline, base.slip_fit, base.demand, small_params(**update), tl.decimal_as_of(AS_OF))


# ------------------------------------------------------------------ normal helpers (scipy)
@pytest.mark.parametrize("q, lower", [(0.1, -np.inf), (0.5, -np.inf), (0.9, 0.0), (0.5, 2.0), (0.99, 6.0)])
def test_conditional_slip_quantile_matches_an_independent_formula(q, lower):
    """The conditional quantile equals the textbook formula written with the standard library's NormalDist."""
    fit = tl.SlipFit(mu=0.6, sigma=0.7, offset_years=1.0, n_observed=5, n_censored=1)
    nd = NormalDist()
    tail = 1.0 if math.isinf(lower) else 1 - nd.cdf((math.log(lower + 1.0) - 0.6) / 0.7)
    expected = math.exp(0.6 + 0.7 * nd.inv_cdf(1 - (1 - q) * tail)) - 1.0
    assert float(tl.truncated_slip_quantile(fit, q, lower)) == pytest.approx(max(expected, lower), rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------ slips and the fit
def test_analog_slips_observed_and_censored():
    got = tl.analog_slips(ANALOGS, as_of=AS_OF, scope="refining").set_index("analog_id")
    assert "narva" not in got.index  # magnet plant: outside the refining scope
    assert got.loc["kalgoorlie", "slip_years"] == pytest.approx(0.93, abs=0.01)
    assert not got.loc["kalgoorlie", "censored"]
    # not yet producing: censored at the time elapsed since the plan (a lower bound)
    assert got.loc["nolans", "censored"]
    assert got.loc["nolans", "slip_years"] == pytest.approx(2026.91 - 2022.5, abs=0.01)
    all_scope = tl.analog_slips(ANALOGS, as_of=AS_OF, scope="all")
    assert "narva" in set(all_scope["analog_id"])


@pytest.mark.parametrize("kwargs, argument", [({"scope": "magnets"}, "scope"), ({"as_of": "not a date"}, "as_of")])
def test_analog_slips_bad_arguments(kwargs, argument):
    args = {"as_of": AS_OF, "scope": "refining"} | kwargs
    with pytest.raises(ValueError, match=argument):
        tl.analog_slips(ANALOGS, **args)


def test_fit_recovers_a_known_lognormal():
    rng = np.random.default_rng(1)
    sample = np.exp(rng.normal(0.5, 0.4, 400)) - 1.0
    slips = pd.DataFrame({"analog_id": [f"a{i}" for i in range(400)], "slip_years": sample, "censored": False})
    fit = tl.fit_slip_distribution(slips, offset_years=1.0)
    assert fit.mu == pytest.approx(0.5, abs=0.06)
    assert fit.sigma == pytest.approx(0.4, abs=0.05)


def test_censored_builds_lengthen_the_fitted_slip():
    slips = tl.analog_slips(ANALOGS, as_of=AS_OF)
    with_censored = tl.fit_slip_distribution(slips)
    observed_only = tl.fit_slip_distribution(slips.loc[~slips["censored"]])
    assert with_censored.n_censored == 2 and observed_only.n_censored == 0
    assert with_censored.median_years() > observed_only.median_years()
    # treating the censored builds as if they had produced today would understate the slip
    as_if_done = tl.fit_slip_distribution(slips.assign(censored=False))
    assert with_censored.quantile(0.9) > as_if_done.quantile(0.9)


def test_fit_bad_arguments():
    slips = tl.analog_slips(ANALOGS, as_of=AS_OF)
    with pytest.raises(ValueError, match="offset_years"):
        tl.fit_slip_distribution(slips, offset_years=0.0)
    with pytest.raises(ValueError, match="slips"):
        tl.fit_slip_distribution(slips, exclude=["lamp", "kalgoorlie", "stage2"])


FIT = tl.SlipFit(mu=0.9, sigma=0.6, offset_years=1.0, n_observed=4, n_censored=2)


@given(
    q=st.floats(0.001, 0.999),
    lower=st.floats(-0.9, 8.0),
    extra=st.floats(0.0, 3.0),
    m=st.floats(0.2, 3.0),
    dm=st.floats(0.0, 2.0),
)
def test_slip_quantile_is_monotone_in_minimum_and_multiplier(q, lower, extra, m, dm):
    base = float(tl.truncated_slip_quantile(FIT, q, lower, m))
    assert base >= lower - 1e-9  # never below what is already known
    assert float(tl.truncated_slip_quantile(FIT, q, lower + extra, m)) >= base - 1e-9
    assert float(tl.truncated_slip_quantile(FIT, q, lower, m + dm)) >= base - 1e-9


def test_slip_quantile_bad_multiplier():
    with pytest.raises(ValueError, match="slip_multiplier"):
        tl.truncated_slip_quantile(FIT, 0.5, 0.0, 0.0)


# ------------------------------------------------------------------ the Monte Carlo
def test_same_seed_same_result_and_another_seed_differs():
    a, b, c = run(seed=7), run(seed=7), run(seed=8)
    for prod in tl.PRODUCTS:
        np.testing.assert_array_equal(a.result.capacity_tpa[prod], b.result.capacity_tpa[prod])
        np.testing.assert_array_equal(a.result.coverage_year[prod], b.result.coverage_year[prod])
    assert not np.array_equal(a.result.capacity_tpa["ndpr_oxide"], c.result.capacity_tpa["ndpr_oxide"])


def test_simulation_shapes_and_producing_plants():
    r = run().result
    assert r.capacity_tpa["ndpr_oxide"].shape == (400, 2040 - 2026 + 1)
    lamp = r.pipeline.index[r.pipeline["project_id"] == "lamp"][0]
    assert np.all(r.first_output_year[:, lamp] == pytest.approx(2012.91, abs=0.01))
    # a plant that is not producing never starts before the as-of date, nor before its latest target
    eneabba = r.pipeline.index[r.pipeline["project_id"] == "eneabba"][0]
    built = r.first_output_year[:, eneabba]
    assert np.nanmin(built) >= 2027.49
    # pre-FID Nolans is built in roughly its completion probability of trials
    nolans = r.pipeline.index[r.pipeline["project_id"] == "nolans"][0]
    assert np.mean(~np.isnan(r.first_output_year[:, nolans])) == pytest.approx(0.35, abs=0.08)


@pytest.mark.parametrize(
    "update, argument",
    [
        ({"n_trials": -5}, "n_trials"),
        ({"n_trials": 0}, "n_trials"),
        ({"coverage_threshold": 0.0}, "coverage_threshold"),
        ({"coverage_threshold": 1.5}, "coverage_threshold"),
        ({"slip_multiplier": -1.0}, "slip_multiplier"),
        ({"horizon_year": 2020}, "horizon_year"),
    ],
)
def test_the_parameter_model_is_the_only_validation(update, argument):
    """The simulation takes the parameter model itself: its bounds are the simulation's bounds."""
    with pytest.raises(ValueError, match=argument):
        small_params(**update)
    assert not hasattr(tl, "SimulationSettings")


def test_params_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="coverage_threshold"):
        Params(coverage_threshold=1.2)
    with pytest.raises(ValueError, match="n_trials"):
        Params(n_trials=-1)
    with pytest.raises(ValueError, match="first_year_utilisation"):
        Params(first_year_utilisation=0.9, mature_utilisation=0.8)


def test_summary_bad_product():
    r = run().result
    for fn in (tl.coverage_summary, tl.capacity_percentiles, tl.coverage_distribution):
        with pytest.raises(ValueError, match="product"):
            fn(r, "la_oxide")


def test_empirical_quantile_and_never_reached():
    values = np.array([2030.0, 2031.0, np.inf, np.inf])
    assert tl.empirical_quantile(values, 0.5) == 2031.0
    assert tl.empirical_quantile(values, 0.75) == math.inf
    with pytest.raises(ValueError, match="q"):
        tl.empirical_quantile(values, 0.0)
    # a threshold nobody reaches: every percentile is None and the never share is reported
    r = run(coverage_threshold=1.0, ndpr_demand_growth_rate=0.3, long_run_demand_growth_rate=0.3, demand_scale=10.0).result
    s = tl.coverage_summary(r, "ndpr_oxide")
    assert (s["p10"], s["p50"], s["p90"]) == (None, None, None)
    assert s["share_never"] == 1.0 and s["prob_by_year"] == 0.0
    dist = tl.coverage_distribution(r, "ndpr_oxide")
    assert dist["share_of_trials"].iloc[-1] == 1.0 and dist["label"].iloc[-1] == "never by 2040"
    assert dist["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_the_monte_carlo_alone_equals_the_full_run_for_simulation_parameters():
    """The property tests below run the Monte Carlo alone on prepared inputs: for every parameter they vary (each
    set away from its default here), that is the full run's result, trial by trial."""
    certain = {f"completion_prob_{s}": 0.97 for s in ("construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled")}
    varied = {
        "seed": 11,
        "n_trials": 150,
        "coverage_threshold": 0.6,
        "demand_uncertainty_sigma": 0.5,
        "slip_multiplier": 1.7,
        "years_to_nameplate": 5.0,
        "first_year_utilisation": 0.3,
        "mature_utilisation": 0.9,
        **certain,
    }
    assert set(varied) == SIMULATION_ONLY
    assert all(getattr(small_params(), k) != v for k, v in varied.items())
    full, alone = run(**varied).result, simulate(**varied)
    np.testing.assert_array_equal(full.first_output_year, alone.first_output_year)
    for prod in tl.PRODUCTS:
        np.testing.assert_array_equal(full.coverage_year[prod], alone.coverage_year[prod])
        np.testing.assert_array_equal(full.capacity_tpa[prod], alone.capacity_tpa[prod])
        np.testing.assert_array_equal(full.demand_tpa[prod], alone.demand_tpa[prod])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), threshold=st.floats(0.05, 1.0), sigma=st.floats(0.0, 0.8))
def test_percentiles_are_ordered(seed, threshold, sigma):
    r = simulate(seed=seed, coverage_threshold=threshold, demand_uncertainty_sigma=sigma)
    for prod in tl.PRODUCTS:
        s = tl.coverage_summary(r, prod)
        years = [2041 if v is None else v for v in (s["p10"], s["p50"], s["p90"])]
        assert years == sorted(years)
        cap = tl.capacity_percentiles(r, prod)
        assert np.all(cap["capacity_p10_tpa"] <= cap["capacity_p50_tpa"])
        assert np.all(cap["capacity_p50_tpa"] <= cap["capacity_p90_tpa"])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), ytn=st.floats(1.0, 8.0), u1=st.floats(0.05, 0.8))
def test_capacity_never_decreases_when_no_project_fails(seed, ytn, u1):
    certain = {f"completion_prob_{s}": 1.0 for s in ("construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled")}
    r = simulate(seed=seed, years_to_nameplate=ytn, first_year_utilisation=u1, mature_utilisation=max(u1, 0.85), **certain)
    for prod in tl.PRODUCTS:
        assert np.all(np.diff(r.capacity_tpa[prod], axis=1) >= -1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.floats(0.2, 2.5), dm=st.floats(0.01, 2.0))
def test_more_slip_never_gives_an_earlier_p50(seed, m, dm):
    low, high = simulate(seed=seed, slip_multiplier=m), simulate(seed=seed, slip_multiplier=m + dm)
    for prod in tl.PRODUCTS:
        p_low = tl.coverage_summary(low, prod)["p50"] or 2041
        p_high = tl.coverage_summary(high, prod)["p50"] or 2041
        assert p_high >= p_low
        # trial by trial, too (common random numbers)
        assert np.all(high.coverage_year[prod] >= low.coverage_year[prod])


def test_scenario_levers_move_the_date_the_right_way():
    base = run()
    fast = run(slip_multiplier=0.75, decision_speedup_years=1.0, completion_prob_fid=0.9, completion_prob_pre_fid=0.5)
    reversal = run(us_funding_withdrawn=True, us_withdrawal_year=2026, us_backed_stop_share=1.0)
    for prod in tl.PRODUCTS:
        assert np.all(fast.result.coverage_year[prod] <= base.result.coverage_year[prod])
        assert np.all(reversal.result.coverage_year[prod] >= base.result.coverage_year[prod])
    # the US-funded heavy-REE circuit is never built when every US-backed project stops
    mp = reversal.result.pipeline.index[reversal.result.pipeline["project_id"] == "mp_hre"][0]
    assert np.all(np.isnan(reversal.result.first_output_year[:, mp]))


def test_coverage_by_threshold_is_monotone():
    r = run(n_trials=1000).result
    table = tl.coverage_by_threshold(r, "dytb_oxide", (0.25, 0.5, 0.75, 1.0))
    assert table["prob_by_year"].is_monotonic_decreasing
    assert table["share_never"].is_monotonic_increasing
    with pytest.raises(ValueError, match="threshold"):
        tl.coverage_by_threshold(r, "dytb_oxide", (0.0,))


def test_project_windows():
    r = run().result
    w = tl.project_windows(r).set_index("project_id")
    assert w.loc["lamp", "first_output_p50_year"] == pytest.approx(2012.91, abs=0.01)
    # eneabba (construction, 90%) is not built in about 10% of trials: P90 over all trials is "not built" (NaN)
    assert w.loc["eneabba", "first_output_p10_year"] <= w.loc["eneabba", "first_output_p50_year"]
    assert w.loc["eneabba", "first_output_p10_year"] >= 2027.49


# ------------------------------------------------------------------ hindcast
def test_hindcast_leave_one_out_and_coverage():
    table = tl.hindcast(ANALOGS, as_of=AS_OF, scope="refining")
    assert list(table["analog_id"]) == ["lamp", "kalgoorlie", "stage2", "eneabba", "nolans"]
    assert (table["fit_n"] == 4).all()  # each prediction is fitted on the other four
    assert (table["predicted_p10_year"] <= table["predicted_p50_year"]).all()
    assert (table["predicted_p50_year"] <= table["predicted_p90_year"]).all()
    cov = tl.hindcast_coverage(table)
    assert cov["n_total"] == 5
    assert cov["n_decided"] + cov["n_open"] == 5
    assert cov["coverage_rate"] == pytest.approx(cov["n_inside"] / cov["n_decided"])
    # censored builds are never counted as hits
    assert not table.loc[table["censored"], "inside"].any()


def test_hindcast_coverage_counts_by_hand():
    table = pd.DataFrame(
        {
            "outcome": ["inside", "later than P90", "earlier than P10", "still open, inside so far", "inside"],
            "decided": [True, True, True, False, True],
            "inside": [True, False, False, False, True],
        }
    )
    got = tl.hindcast_coverage(table)
    assert got == {
        "coverage_rate": 0.5,
        "n_inside": 2,
        "n_decided": 4,
        "n_open": 1,
        "n_stalled": 0,
        "n_total": 5,
        "n_early": 1,
        "n_late": 1,
        "n_finished": 4,
        "n_finished_inside": 2,
        "unbuilt_missed": [],
    }
    assert tl.hindcast_coverage(table.iloc[[3]])["coverage_rate"] is None


def test_hindcast_bad_interval():
    with pytest.raises(ValueError, match="interval"):
        tl.hindcast(ANALOGS, as_of=AS_OF, interval=(0.9, 0.1))


# ------------------------------------------------------------------ sensitivity and headline
def test_sensitivity_and_headline():
    params = small_params(n_trials=200)
    table = tl.sensitivity(params, projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)
    assert set(table["product"]) == set(tl.PRODUCTS)
    assert {
        "slip_multiplier",
        "completion_probabilities",
        "demand_growth",
        "ramp_up_speed",
        "coverage_threshold",
        "alliance_demand_estimate",
    } <= set(table["factor"])
    slip = table.loc[(table["factor"] == "slip_multiplier") & (table["product"] == "ndpr_oxide")].set_index("side")
    low = slip.loc["low", "p50_year"] if not pd.isna(slip.loc["low", "p50_year"]) else 2041
    high = slip.loc["high", "p50_year"] if not pd.isna(slip.loc["high", "p50_year"]) else 2041
    assert low <= high
    base_run = tl.run_timeline(params, projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)
    hc = tl.hindcast(ANALOGS, as_of=AS_OF)
    head = tl.headline(base_run, hc, table)
    for key in (
        "ndpr_coverage_year_p10",
        "ndpr_coverage_year_p50",
        "ndpr_coverage_year_p90",
        "dytb_coverage_year_p50",
        "ndpr_prob_by_2030",
        "dytb_prob_by_2030",
        "hindcast_coverage_rate",
        "largest_driver",
    ):
        assert key in head
    assert head["largest_driver"] not in ("Coverage threshold", "Attribution (location vs owner)")
    assert all(v is None or isinstance(v, (int, float, str)) for v in head.values())
    with pytest.raises(ValueError, match="n_trials"):
        tl.sensitivity(params, projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF, n_trials=0)


def test_reuse_cache_is_keyed_on_the_full_parameter_dump():
    """A cached run is returned only for exactly the same validated parameters; any changed field misses."""
    reuse: dict = {}
    updates = [{}, {"demand_scale": 1.5}, {"attribution": "location"}, {"slip_offset_years": 1.5}, {"ndpr_demand_growth_rate": 0.0}]
    for update in updates:
        shared = tl.run_timeline(small_params(**update), projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF, reuse=reuse)
        fresh = run(**update)
        for prod in tl.PRODUCTS:
            np.testing.assert_array_equal(shared.result.coverage_year[prod], fresh.result.coverage_year[prod])
        pd.testing.assert_frame_equal(shared.demand, fresh.demand)
    runs = {k: v for k, v in reuse.items() if not k.startswith("stage:")}
    assert len(runs) == len(updates)
    assert all(small_params(**u).model_dump_json() in "".join(runs) for u in updates)
    again = tl.run_timeline(small_params(), projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF, reuse=reuse)
    assert again is next(iter(runs.values()))
    assert len([k for k in reuse if not k.startswith("stage:")]) == len(updates)


def test_runs_sharing_stages_equal_fresh_runs_for_every_sensitivity_variant():
    """The pipeline, slip model and demand stages are reused between runs whose declared fields are equal; every
    sensitivity variant and the uncalibrated run then equal a run computed from scratch, and stages were reused."""
    params = small_params(n_trials=150)
    updates = [v["update"] for v in tl.sensitivity_variants(params)] + [{"calibrate_slip_spread": False, "slip_spread_factor": 1.0}]
    reuse: dict = {}
    for update in updates:
        varied = small_params(n_trials=150, **update)
        shared = tl.run_timeline(varied, projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF, reuse=reuse)
        fresh = tl.run_timeline(varied, projects=PROJECTS, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)
        for prod in tl.PRODUCTS:
            np.testing.assert_array_equal(shared.result.coverage_year[prod], fresh.result.coverage_year[prod])
            np.testing.assert_array_equal(shared.result.capacity_tpa[prod], fresh.result.capacity_tpa[prod])
        pd.testing.assert_frame_equal(shared.pipeline, fresh.pipeline)
        pd.testing.assert_frame_equal(shared.demand_by_region, fresh.demand_by_region)
        assert shared.slip_fit == fresh.slip_fit and shared.spread_factor == fresh.spread_factor
    stages = [k.split(":")[1] for k in reuse if k.startswith("stage:")]
    assert stages.count("slip_model") == 2  # calibrated and plain
    assert stages.count("pipeline") < len(updates) and stages.count("demand") < len(updates)


def test_a_stage_may_read_only_the_fields_it_declares():
    """Reading an undeclared field raises (getattr's default does not hide it); a declared field the model lacks
    is an AttributeError; the view is read-only; its key is the declared values."""
    view = tl.DeclaredParams(small_params(), ("attribution", "no_such_field"), "pipeline")
    assert view.attribution == small_params().attribution
    with pytest.raises(tl.UndeclaredParameter, match="pipeline stage read parameter 'demand_scale'"):
        getattr(view, "demand_scale", None)
    assert getattr(view, "no_such_field", "absent") == "absent"
    with pytest.raises(TypeError):
        view.attribution = "location"
    assert view.key() == tl.DeclaredParams(small_params(demand_scale=2.0), ("attribution",), "pipeline").key()


def test_a_run_fails_when_a_stage_reads_an_undeclared_field(monkeypatch):
    """The declarations are checked in real runs: drop a field the pipeline reads and the run stops."""
    from rare_earth_lib.models.timeline import run as run_module

    monkeypatch.setattr(run_module, "PIPELINE_FIELDS", tuple(f for f in run_module.PIPELINE_FIELDS if f != "attribution"))
    with pytest.raises(tl.UndeclaredParameter, match="attribution"):
        run()


def test_simulate_entry_point_takes_params_and_tables():
    tables = {"projects": PROJECTS, "build_analogs": ANALOGS, "demand": DEMAND}
    got = tl.simulate(small_params(), tables, as_of=AS_OF)
    fresh = run()
    np.testing.assert_array_equal(got.result.coverage_year["ndpr_oxide"], fresh.result.coverage_year["ndpr_oxide"])
    with pytest.raises(ValueError, match="build_analogs"):
        tl.simulate(small_params(), {"projects": PROJECTS, "demand": DEMAND}, as_of=AS_OF)


def test_largest_driver_ignores_definitional_factors():
    table = pd.DataFrame(
        {
            "factor": ["coverage_threshold", "slip_multiplier", "demand_growth"],
            "label": ["Coverage threshold", "Slip to first output", "Demand growth"],
            "product": ["ndpr_oxide"] * 3,
            "swing_years": [9, 2, 3],
        }
    )
    assert tl.largest_driver(table) == "Demand growth"
    assert tl.largest_driver(table, exclude=()) == "Coverage threshold"
    assert tl.largest_driver(table.assign(swing_years=0)) is None


def test_undecided_projects_need_a_minimum_build_time():
    r = run(min_build_years_undecided=3.0).result
    for pid in ("nolans", "ef2"):  # pre-FID and feasibility
        j = r.pipeline.index[r.pipeline["project_id"] == pid][0]
        assert np.nanmin(r.first_output_year[:, j]) == pytest.approx(2026.907 + 3.0, abs=1e-3)
    # a project under construction is not held back by it
    j = r.pipeline.index[r.pipeline["project_id"] == "mp_hre"][0]
    assert np.nanmin(r.first_output_year[:, j]) < 2026.91 + 3.0


def test_briefing_frames_and_sentences():
    base = run()
    table = tl.pipeline_table(base)
    assert len(table) == len(base.pipeline)
    row = table.set_index("project_id").loc["eneabba"]
    assert row["capex"] == "" and row["counts_for"] == "Australia" and row["status"] == "construction"
    assert row["sim_first_output_p10_year"] <= row["sim_first_output_p50_year"]
    analog = tl.analog_table(base.slips, AS_OF)
    nolans = analog.set_index("analog_id").loc["nolans"]
    assert nolans["censored"] and nolans["outcome_year"] == pytest.approx(2026.91, abs=0.01)


def test_runs_on_the_data_package():
    """The real tables load and run end to end (a small run; catches column mismatches with the data)."""
    from rare_earth_lib.data import package as dp

    projects, analogs, demand = dp.load("projects"), dp.load("build_analogs"), dp.load("demand")
    params = Params(n_trials=300)
    result = tl.run_timeline(params, projects=projects, analogs=analogs, demand=demand, as_of=dp.as_of())
    assert len(result.pipeline) >= 3
    assert result.slip_fit.n_observed >= 2
    assert set(result.pipeline["alliance_country"]) <= {"United States", "Japan", "Australia"}
    head = tl.headline(result, tl.hindcast(analogs, as_of=dp.as_of()))
    assert 0.0 <= head["ndpr_prob_by_2030"] <= 1.0
    assert head["hindcast_coverage_rate"] is None or 0.0 <= head["hindcast_coverage_rate"] <= 1.0


def test_year_formatting_helpers():
    got = tl.format_decimal_year(pd.Series([2027.5, np.nan, 2012.99, 2026.0]))
    assert got.tolist()[0] == "2027-07" and got.isna().tolist()[1] and got.tolist()[2:] == ["2012-12", "2026-01"]
    assert tl.year_text(None, 2045) == "not by 2045" and tl.year_text(2031, 2045) == "2031"
    assert tl.decimal_as_of("2026-07-02") == pytest.approx(2026.5, abs=0.003)
    with pytest.raises(ValueError, match="as_of"):
        tl.decimal_as_of("soon")


@pytest.mark.parametrize(
    "company, site, expected",
    [
        ("Energy Fuels", "White Mesa Mill, UT (Phase 2)", "Energy Fuels - White Mesa Mill (Phase 2)"),
        ("Iluka Resources", "Eneabba refinery, WA", "Iluka - Eneabba refinery"),
        ("MP Materials", "Mountain Pass, CA", "MP - Mountain Pass"),
    ],
)
def test_short_project_label(company, site, expected):
    assert tl.short_project_label(company, site) == expected


def test_announced_capacity_is_at_least_the_simulated_median():
    params = small_params()
    announced = tl.announced_capacity(params, PROJECTS, AS_OF)
    r = run().result
    for product in tl.PRODUCTS:
        path = announced.loc[announced["product"] == product].set_index("year")["capacity_tpa"]
        median = tl.capacity_percentiles(r, product).set_index("year")["capacity_p50_tpa"]
        assert np.all(np.diff(path.to_numpy()) >= -1e-9)
        # the press-release path: no slips, no failures -> never below the simulated median
        assert np.all(path.to_numpy() >= median.to_numpy() - 1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_same_seed_same_result_property(seed):
    a, b = simulate(seed=seed, n_trials=150), simulate(seed=seed, n_trials=150)
    for prod in tl.PRODUCTS:
        np.testing.assert_array_equal(a.coverage_year[prod], b.coverage_year[prod])
        np.testing.assert_array_equal(a.first_output_year, b.first_output_year)


def test_check_run_passes_and_fails_loudly():
    good = run()
    tl.check_run(good)
    bad_pipeline = good.pipeline.assign(ndpr_oxide_tpa=-good.pipeline["ndpr_oxide_tpa"])
    with pytest.raises(ValueError, match="ndpr_oxide_tpa"):
        tl.check_run(tl.TimelineRun(good.params, bad_pipeline, good.slips, good.slip_fit, good.demand, good.demand_by_region, good.result))
    zero_demand = {**good.result.demand_tpa, "dytb_oxide": np.zeros_like(good.result.demand_tpa["dytb_oxide"])}
    import dataclasses

    bad_result = dataclasses.replace(good.result, demand_tpa=zero_demand)
    with pytest.raises(ValueError, match="dytb_oxide demand"):
        tl.check_run(dataclasses.replace(good, result=bad_result))


# ------------------------------------------------------------------ calibration of the spread
CALIBRATION_TOLERANCE = 0.10
"""Calibrated leave-one-out coverage must lie within 10 points of the nominal 80% (with n decided builds,
coverage moves in steps of 1/n; the data package's sample allows 80% exactly or within one step)."""


def test_calibrated_hindcast_covers_about_80_percent_of_the_data_package_analogs():
    from rare_earth_lib.data import package as dp

    analogs, as_of = dp.load("build_analogs"), dp.as_of()
    cal = tl.calibrate_spread(analogs, as_of=as_of)
    assert cal.n_decided >= 5
    assert abs(cal.coverage - 0.8) <= max(CALIBRATION_TOLERANCE, 1.0 / cal.n_decided)
    assert cal.ci_low <= cal.coverage <= cal.ci_high and cal.ci_high - cal.ci_low > 0.2  # small n: a wide interval
    # the calibrated table is what the hindcast reports with that spread, and the plain fit is reported beside it
    table = tl.hindcast(analogs, as_of=as_of, spread_factor=cal.spread_factor)
    assert tl.hindcast_coverage(table)["coverage_rate"] == cal.coverage
    plain = tl.hindcast_coverage(tl.hindcast(analogs, as_of=as_of))
    assert cal.uncalibrated["coverage_rate"] == plain["coverage_rate"]
    # nothing closer to 80% exists on the grid, and no factor nearer 1 is as close
    gaps = (cal.grid["coverage"] - 0.8).abs()
    assert abs(cal.coverage - 0.8) == pytest.approx(gaps.min())
    closest = cal.grid.loc[gaps.round(9) == round(gaps.min(), 9), "spread_factor"]
    assert abs(cal.spread_factor - 1) == pytest.approx((closest - 1).abs().min())


def test_calibrated_run_is_the_default_and_a_set_spread_is_used_as_given():
    calibrated, plain = run(), run(calibrate_slip_spread=False)
    assert calibrated.calibration is not None and plain.calibration is None
    assert calibrated.spread_factor == calibrated.calibration.spread_factor and plain.spread_factor == 1.0
    assert calibrated.slip_fit.sigma == pytest.approx(plain.slip_fit.sigma * calibrated.spread_factor)
    assert calibrated.slip_fit.mu == plain.slip_fit.mu
    head = tl.headline(calibrated, tl.hindcast(ANALOGS, as_of=AS_OF, spread_factor=calibrated.spread_factor))
    assert head["slip_spread_calibrated"] is True and head["hindcast_coverage_rate_uncalibrated"] is not None
    assert head["hindcast_coverage_ci_low"] <= head["hindcast_coverage_rate"] <= head["hindcast_coverage_ci_high"]
    with pytest.raises(ValueError, match="slip_spread_factor"):
        small_params(slip_spread_factor=0.0)


def test_binomial_interval_is_clopper_pearson():
    low, high = tl.binomial_interval(4, 5)
    assert low == pytest.approx(0.3426, abs=1e-4) and high == pytest.approx(0.9898, abs=1e-4)
    assert tl.binomial_interval(0, 0) == (None, None)


# ------------------------------------------------------------------ no survivor bias; dates relative to the build date
def test_project_windows_count_every_trial_not_only_survivors():
    r = run(n_trials=2000).result
    w = tl.project_windows(r).set_index("project_id")
    # pre-FID Nolans is built in about 35% of trials: its median over all trials is "not built"
    assert np.isnan(w.loc["nolans", "first_output_p50_year"])
    assert w.loc["nolans", "share_built"] == pytest.approx(0.35, abs=0.04)
    assert not np.isnan(w.loc["nolans", "first_output_p10_year"])
    # the percentiles equal those of first output with never-built trials counted as never
    j = r.pipeline.index[r.pipeline["project_id"] == "eneabba"][0]
    col = np.where(np.isnan(r.first_output_year[:, j]), np.inf, r.first_output_year[:, j])
    expected = np.quantile(col, 0.5, method="inverted_cdf")
    assert w.loc["eneabba", "first_output_p50_year"] == (expected if np.isfinite(expected) else pytest.approx(np.nan, nan_ok=True))


def test_stopping_plants_never_gives_an_earlier_per_plant_date():
    """Under the US policy reversal US-backed plants stop or slip: no percentile of any plant may move earlier."""
    projects = PROJECTS.assign(funding_us_musd=[np.nan, np.nan, 0.0, 0.0, 185.0, 50.0])
    base = tl.run_timeline(small_params(n_trials=2000), projects=projects, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)
    cut = tl.run_timeline(
        small_params(n_trials=2000, us_funding_withdrawn=True, us_withdrawal_year=2026, us_backed_stop_share=0.7),
        projects=projects,
        analogs=ANALOGS,
        demand=DEMAND,
        as_of=AS_OF,
    )
    wb, wc = tl.project_windows(base.result).set_index("project_id"), tl.project_windows(cut.result).set_index("project_id")
    for q in (10, 50, 90):
        b = wb[f"first_output_p{q}_year"].fillna(np.inf)
        c = wc[f"first_output_p{q}_year"].fillna(np.inf)
        assert (c >= b - 1e-9).all(), q
    assert (wc["share_built"] <= wb["share_built"] + 1e-12).all()
    assert wc.loc["mp_hre", "share_built"] < wb.loc["mp_hre", "share_built"]


def test_dates_relative_to_a_fixed_build_date(monkeypatch):
    import datetime as dt

    from rare_earth_lib import report

    monkeypatch.setenv(report.BUILD_DATE_ENV, "2026-11-30")
    today = report.build_date()
    assert today == dt.date(2026, 11, 30)
    r = run()
    dist = tl.coverage_distribution(r.result, "ndpr_oxide", today).set_index("label")
    assert dist.loc["2026", "when"] == "under way" and dist.loc["2027", "when"] == "forecast"
    assert dist.iloc[-1]["when"] == "never"
    table = tl.pipeline_table(r, today, as_of=AS_OF).set_index("project_id")
    # Lynas's heavy-REE target (2026-04-15) and MP's (2026-07-01) had passed without output by the data date; White Mesa's 2029 target had not
    assert table.loc["hre_new", "target_passed"] and table.loc["mp_hre", "target_passed"]
    assert not table.loc["ef2", "target_passed"] and not table.loc["lamp", "target_passed"]
    assert not tl.pipeline_table(r, dt.date(2025, 1, 1), as_of="2025-01-01").set_index("project_id").loc["hre_new", "target_passed"]


def test_build_date_is_today_when_no_build_sets_it(monkeypatch):
    """A notebook run by hand (papermill, JupyterLab) without RARE_EARTH_BUILD_DATE dates itself today."""
    import datetime as dt

    from rare_earth_lib import report

    monkeypatch.delenv(report.BUILD_DATE_ENV, raising=False)
    before = dt.date.today()
    assert report.build_date() in {before, dt.date.today()}


def test_briefing_results_carry_todays_capacity_and_all_three_demand_cases(timeline_package_results):
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import capacity
    from rare_earth_lib.models import demand as demand_model

    tables = {name: dp.load(name) for name in tl.TABLES}
    params, res = timeline_package_results
    # today's capacity is the one capacity model's figure, under the shared manifest keys
    assert {k: res.headline[k] for k in capacity.METRIC_KEYS.values()} == capacity.today_metrics(tables["projects"], params, dp.as_of())
    cases = res.demand_cases
    assert list(cases["case"].unique()) == list(demand_model.DEMAND_CASES) and len(cases) == 6
    for product, key in tl.PRODUCT_KEYS.items():
        rows = cases[cases["product"] == product].set_index("case")
        # more demand never covers sooner, with the same plants and random numbers
        assert (
            rows.loc["low", "demand_first_year_t"] <= rows.loc["central", "demand_first_year_t"] <= rows.loc["high", "demand_first_year_t"]
        )
        assert rows.loc["low", "prob_by_year"] >= rows.loc["central", "prob_by_year"] >= rows.loc["high", "prob_by_year"]
        for case in demand_model.DEMAND_CASES:
            p50 = res.headline[f"{key}_coverage_year_p50_{case}"]
            assert p50 is None or isinstance(p50, int)
            assert res.headline[f"{key}_today_coverage_{case}"] == pytest.approx(
                res.headline[capacity.METRIC_KEYS[product]] / rows.loc[case, "demand_first_year_t"], abs=1e-4
            )


# ------------------------------------------------------------------ global sensitivity (Sobol, SALib)
def test_sobol_indices_over_the_declared_uncertain_inputs():
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE

    tables = {"projects": PROJECTS, "build_analogs": ANALOGS, "demand": DEMAND}
    res = tl.sobol_indices(small_params(), tables, as_of=AS_OF, n_base=8, n_trials=100)
    space = tl.uncertain_inputs()
    assert set(space) == {k for k, v in EXPLORATION_SPACE.items() if v.kind == "uncertainty"}  # one declaration of ranges
    assert res.n_evaluations == 8 * (len(space) + 2) and res.second_order.empty  # first order and total only by default
    assert set(res.output_range) == set(tl.SOBOL_OUTPUTS)
    assert all(low <= high for low, high in res.output_range.values())
    pairs = tl.sobol_indices(small_params(), tables, as_of=AS_OF, n_base=8, n_trials=100, second_order=True)
    assert pairs.n_evaluations == 8 * (2 * len(space) + 2) and len(pairs.second_order) == 4 * len(space) * (len(space) - 1) // 2
    metrics = tl.sobol_metrics(res)
    assert metrics["sobol_n_evaluations"] == res.n_evaluations and metrics["sobol_n_base"] == 8
    for output in tl.SOBOL_OUTPUTS:
        top = tl.top_input(res.indices, output)
        assert metrics[f"sobol_top_input_{output}"] == (None if top is None else top["label"])
    idx = res.indices
    assert set(idx["input"]) == set(space) and len(idx) == 4 * len(space)
    assert (idx["interaction"] >= 0).all()
    # Dy+Tb demand growth cannot move the NdPr outputs: its total index is zero
    ndpr = idx[(idx["output"] == "ndpr_prob_by_year") & (idx["input"] == "dytb_demand_growth_rate")]
    assert float(ndpr["ST"].iloc[0]) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="power of two"):
        tl.sobol_indices(small_params(), tables, as_of=AS_OF, n_base=6)


def test_top_input_is_none_when_nothing_moves_the_output():
    frame = pd.DataFrame(
        {
            "output": ["a", "a"],
            "input": ["x", "y"],
            "label": ["X", "Y"],
            "S1": [0.0, np.nan],
            "ST": [0.0, np.nan],
            "interaction": [0.0, 0.0],
        }
    )
    assert tl.top_input(frame, "a") is None
    assert tl.top_input(frame.assign(ST=[0.3, 0.1]), "a")["label"] == "X"


def test_briefing_results_carry_the_world_projection_when_its_tables_are_given(timeline_package_results):
    import datetime as dt

    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import projection as pj

    assert set(pj.TABLES) <= set(tl.BRIEFING_TABLES)  # the briefing loads every table the projection needs
    params, without = timeline_package_results  # the same parameters on the timeline's own tables only
    tables = {name: dp.load(name) for name in tl.BRIEFING_TABLES}
    res = tl.briefing_results(params, tables, as_of=dp.as_of(), today=dt.date(2026, 11, 30))
    assert res.world is not None
    expected = pj.projection_metrics(pj.project(res.run, tables, as_of=dp.as_of()), tables["projections"])
    assert {k: res.headline[k] for k in expected} == expected  # the manifest carries the projection's own metrics
    assert 0 < res.headline["china_refining_share_2030_p50"] < 1 and res.headline["iea_china_refining_share_2030"] is not None
    assert without.world is None and "china_refining_share_2030_p50" not in without.headline
    assert {k: v for k, v in res.headline.items() if k not in expected} == without.headline  # the rest is unchanged


def test_monte_carlo_demand_sums_rows_per_year_and_names_a_missing_year():
    """Demand rows of one year and product are added up (e.g. per region); a simulated year with no row is an error."""
    base = prepared()
    halves = pd.concat([base.demand.assign(tonnes=base.demand["tonnes"] / 2)] * 2, ignore_index=True)
    split = tl.simulate_trials(base.pipeline, base.slip_fit, halves, small_params(), tl.decimal_as_of(AS_OF))
    for prod in tl.PRODUCTS:
        np.testing.assert_allclose(split.demand_tpa[prod], base.result.demand_tpa[prod], rtol=1e-12)
    gap = base.demand[~((base.demand["year"] == 2031) & (base.demand["product"] == "dytb_oxide"))]
    with pytest.raises(ValueError, match=r"no dytb_oxide tonnes for year\(s\) \[2031\]"):
        tl.simulate_trials(base.pipeline, base.slip_fit, gap, small_params(), tl.decimal_as_of(AS_OF))
