"""Key-judgment text of the refining-timeline briefing, tested directly (no notebook run)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rare_earth_lib.report.text import timeline as timeline_text


def test_key_judgment_sentences():
    head = {
        "horizon_year": 2040,
        "coverage_threshold": 0.75,
        "ndpr_coverage_year_p10": 2029,
        "ndpr_coverage_year_p50": 2032,
        "ndpr_coverage_year_p90": None,
        "ndpr_share_never_reached": 0.25,
        "dytb_coverage_year_p10": None,
        "dytb_coverage_year_p50": None,
        "dytb_coverage_year_p90": None,
        "dytb_share_never_reached": 0.95,
        "ndpr_prob_by_2030": 0.2,
        "dytb_prob_by_2030": 0.0,
        "largest_driver": "Demand growth",
        "hindcast_coverage_rate": 0.6,
        "hindcast_n_inside": 3,
        "hindcast_n_decided": 5,
        "hindcast_n_open": 2,
    }
    refs = {"fan": "Figure 2", "coverage": "Figure 3", "tornado": "Figure 5", "hindcast": "Table 2"}
    text = timeline_text.key_judgment_sentences(head, refs, probability_by_year=2030)
    assert "first covers 75% of estimated alliance demand in 2032 at the median (P10 2029, P50 2032, P90 not by 2040)" in text[0]
    assert "does not cover 75%" in text[1] and "95% of trials never reach it by 2040" in text[1]
    assert "20% for NdPr and 0% for Dy+Tb" in text[2]
    assert "is the demand growth (Figure 5)" in text[3]
    assert "3 of 5 decided outcomes (60%" in text[4]


def test_hindcast_text_reports_calibration_with_its_uncertainty_and_the_plain_fit():
    head = {
        "hindcast_n_inside": 4,
        "hindcast_n_decided": 5,
        "hindcast_n_open": 2,
        "hindcast_coverage_rate": 0.8,
        "hindcast_coverage_ci_low": 0.3426,
        "hindcast_coverage_ci_high": 0.9898,
        "slip_spread_calibrated": True,
        "slip_spread_factor": 1.7,
        "hindcast_coverage_rate_uncalibrated": 0.6,
    }
    cov = {"coverage_rate": 0.8, "n_total": 7, "n_decided": 5, "n_inside": 4, "n_early": 0, "n_late": 1, "n_open": 2}
    plain = {"NdPr oxide": {"p10": 2027, "p50": 2031, "p90": None, "horizon_year": 2045, "share_never": 0.3}}
    text = timeline_text.hindcast_paragraph(cov, head, plain)
    assert "widened x1.7" in text and "4 of 5 decided outcomes (80%; 90% interval 34%-99%" in text
    assert "the plain fit held 60%" in text
    assert "NdPr oxide P10 2027, P50 2031, P90 not by 2045, never by 2045 in 30% of trials" in text
    assert timeline_text.hindcast_paragraph({**cov, "coverage_rate": None}, head).startswith("Hindcast: none of the 7")


def test_ranges_come_first_and_a_year_under_way_gets_no_forecast_probability():
    import datetime as dt

    head = {
        "horizon_year": 2045,
        "coverage_threshold": 0.75,
        "ndpr_coverage_year_p10": 2031,
        "ndpr_coverage_year_p50": 2032,
        "ndpr_coverage_year_p90": None,
        "ndpr_share_never_reached": 0.34,
        "dytb_coverage_year_p10": 2030,
        "dytb_coverage_year_p50": 2033,
        "dytb_coverage_year_p90": None,
        "dytb_share_never_reached": 0.0,
        "ndpr_prob_by_2026": 0.4,
        "dytb_prob_by_2026": 0.0,
        "ndpr_prob_by_2030": 0.2,
        "dytb_prob_by_2030": 0.1,
    }
    ranges = {
        "ndpr": {"low": 2031, "high": 2036, "most_likely": 2032, "share_never": 0.34, "horizon_year": 2045},
        "dytb": {"low": 2030, "high": 2038, "most_likely": 2026, "share_never": 0.0, "horizon_year": 2045},
    }
    refs = {"fan_ndpr": "Figure 3", "fan_dytb": "Figure 4", "coverage": "Figure 1", "tornado": "Figure 6", "hindcast": "Table 3"}
    today = dt.date(2026, 11, 30)
    text = timeline_text.key_judgment_sentences(head, refs, probability_by_year=2026, ranges=ranges, today=today)
    # one headline statistic: the median over all trials with its percentiles and the never share, then the
    # range of the trials that reach it; never the modal year
    assert text[0].startswith(
        "NdPr oxide: over all trials, alliance separation capacity first covers 75% of estimated alliance demand by 2032 at the median (P10"
    )
    assert "34% of trials never reach it by 2045 (1 trial in 3); the trials that reach it do so in 2031-2036 (80% of them)" in text[0]
    assert text[0].index("P50 2032") < text[0].index("never") < text[0].index("2031-2036")
    assert text[0].endswith("(Figure 1, Figure 3).")
    assert "by 2033 at the median (P10 2030, P50 2033, P90 not by 2045); 0% of trials never reach it by 2045" in text[1]
    assert not any("most likely" in t for t in text)
    assert "2026 is under way at the build date (2026-11-30), so no forecast probability is given" in text[2]
    assert "%" not in text[2].split("(")[0]
    later = timeline_text.key_judgment_sentences(head, refs, probability_by_year=2030, ranges=ranges, today=today)
    assert "by 2030 is 20% for NdPr and 10% for Dy+Tb" in later[2]
    # a range that lies in the year under way is a reading of today's plants, never a forecast
    now = {
        **ranges,
        "ndpr": {
            "low": 2026,
            "high": 2026,
            "most_likely": 2026,
            "share_never": 0.001,
            "horizon_year": 2045,
            "first_year": 2026,
            "share_first_year": 0.998,
        },
    }
    head_now = {
        **head,
        "ndpr_coverage_year_p10": 2026,
        "ndpr_coverage_year_p50": 2026,
        "ndpr_coverage_year_p90": 2026,
        "ndpr_share_never_reached": 0.001,
        "ndpr_today_coverage_central": 1.16,
    }
    current = timeline_text.key_judgment_sentences(head_now, refs, probability_by_year=2030, ranges=now, today=today)[0]
    assert (
        "plants already producing cover at least 75% of estimated alliance demand in 2026, the year under way at the build date"
        " (2026-11-30), with today's capacity at 116% of central demand:" in current
    )  # the threshold is what they reach; their share is said beside it
    assert "not a forecast" in current and "more than 99% of trials" in current and "fewer than 1% of trials never reach it" in current
    assert "most likely" not in current
    summary = {
        "p10": 2026,
        "p50": 2028,
        "p90": None,
        "horizon_year": 2045,
        "share_never": 0.2,
        "by_year": 2026,
        "prob_by_year": 0.4,
        "already_covered": 0.4,
    }
    detail = timeline_text.coverage_detail("NdPr oxide", summary, 2026, today)
    assert "probability by 2026" not in detail and "not a forecast" in detail
    assert detail.index("never by 2045 in 20%") < detail.index("P50 2028")
    none_yet = timeline_text.coverage_detail("Dy+Tb oxide", {**summary, "already_covered": 0.0}, 2026, today)
    assert "No trial covers it in 2026, under way at the build date." in none_yet


@pytest.mark.parametrize("share, words", [(0.0, "0%"), (0.003, "fewer than 1%"), (0.42, "42%"), (0.998, "more than 99%"), (1.0, "100%")])
def test_share_text_never_rounds_to_none_or_all(share, words):
    assert timeline_text.share_text(share) == words


@pytest.mark.parametrize(
    "share, words",
    [(0.34, "1 trial in 3"), (0.25, "1 trial in 4"), (0.0, "no trial"), (0.01, "fewer than 1 trial in 20"), (0.75, "3 trials in 4")],
)
def test_one_in(share, words):
    assert timeline_text.one_in(share) == words


def test_sobol_paragraph_and_chart_from_indices():
    import pandas as pd

    from rare_earth_lib.models.timeline import SobolResult
    from rare_earth_lib.report.charts import timeline as timeline_charts

    indices = pd.DataFrame(
        {
            "output": ["ndpr_coverage_year_p50"] * 2 + ["dytb_coverage_year_p50"] * 2,
            "output_label": ["NdPr: P50 coverage year"] * 2 + ["Dy+Tb: P50 coverage year"] * 2,
            "input": ["demand_scale", "slip_multiplier"] * 2,
            "label": ["Demand scale", "Slip multiplier"] * 2,
            "low": [0.5, 0.5] * 2,
            "high": [1.5, 2.0] * 2,
            "distribution": ["uniform", "loguniform"] * 2,
            "S1": [0.6, 0.1, 0.0, 0.0],
            "S1_conf": [0.1] * 4,
            "ST": [0.8, 0.15, 0.0, 0.0],
            "ST_conf": [0.1] * 4,
        }
    )
    indices["interaction"] = (indices["ST"] - indices["S1"]).clip(lower=0)
    res = SobolResult(indices, pd.DataFrame(), 16, 288, 200, 12.0)
    text = timeline_text.sobol_paragraph(res, 2045)
    assert "NdPr: P50 coverage year: demand scale (total index 0.80 +/- 0.10, 0.20 of it in interaction" in text
    assert "Dy+Tb: P50 coverage year: no input moves it" in text and "288 model runs of 200 trials" in text
    # the key judgment gives a ranking with the interval width, never two decimals
    kj = timeline_text.sobol_sentence(res)
    assert "demand scale ranks first for the NdPr P50 year (total index about 0.8, give or take 0.1), ahead of slip multiplier" in kj
    assert "base sample of 16" in kj and "0.80" not in kj and "no input moves the Dy+Tb P50 year" in kj
    spec = timeline_charts.sobol_chart(indices).to_dict()
    assert spec["facet"]["field"] == "output_label"
    # estimates beyond [0, 1] (noise at a small sample) are drawn at the bound: no bar stacks above all of the variance
    noisy = indices.assign(S1=[1.18, -0.05, 0.2, 0.1], ST=[1.35, 0.3, 0.9, 0.2])
    drawn = pd.DataFrame(timeline_charts.sobol_chart(noisy).to_dict()["datasets"].popitem()[1])
    stacked = drawn.groupby(["output_label", "label"])["index"].sum()
    assert stacked.max() <= 1.0 and drawn["index"].min() >= 0.0 and stacked.max() == pytest.approx(1.0)
    assert drawn["S1"].max() == pytest.approx(1.18), "the tooltip keeps the estimate as computed"
    # with the outputs' ranges over the sample, a reader sees how far each output moves at all
    ranged = SobolResult(
        indices, pd.DataFrame(), 16, 160, 200, 3.0, {"ndpr_coverage_year_p50": (2026.0, 2046.0), "dytb_coverage_year_p50": (2031.0, 2031.0)}
    )
    text = timeline_text.sobol_paragraph(ranged, 2045)
    assert "NdPr: P50 coverage year (from 2026 to not by 2045 over the sample): demand scale" in text
    assert "no input moves it within the ranges explored (from 2031 to 2031 over the sample)" in text


def test_a_range_that_most_trials_never_reach_leads_with_the_never_share():
    head = {
        "horizon_year": 2045,
        "coverage_threshold": 0.75,
        "dytb_coverage_year_p10": 2032,
        "dytb_coverage_year_p50": None,
        "dytb_coverage_year_p90": None,
        "dytb_share_never_reached": 0.52,
    }
    rng = {"low": 2031, "high": 2038, "most_likely": 2032, "share_never": 0.52, "horizon_year": 2045}
    sentence = timeline_text.coverage_sentence("Dy+Tb oxide", "dytb", head, rng, None)
    assert sentence.startswith("Dy+Tb oxide: in most trials alliance separation capacity does not cover 75%")
    assert sentence.index("52% of trials never reach it by 2045") < sentence.index("P10 2032") < sentence.index("2031-2038")
    assert "most likely" not in sentence


def test_calibration_sentence_separates_finished_plants_from_unbuilt_misses_and_says_in_sample():
    cov = {"n_inside": 5, "n_decided": 6, "n_finished": 5, "n_finished_inside": 5, "unbuilt_missed": ["Arafura - Nolans"]}
    text = timeline_text.calibration_sentence(cov, tuned=True)
    assert text.startswith("The model's ranges, made as of each past plant's decision date, held all 5 finished plants")
    assert "missed 1 plant still not built (Arafura - Nolans)" in text and "not an independent test" in text
    assert "5 of the 6 finished" not in text
    plain = timeline_text.calibration_sentence({**cov, "n_finished_inside": 4, "unbuilt_missed": []}, tuned=False)
    assert "held 4 of the 5 finished plants." in plain and "independent" not in plain


def test_driver_sentence_names_every_single_factor_that_pushes_dytb_past_the_horizon():
    head = {"horizon_year": 2045, "largest_driver": "Demand scale", "dytb_coverage_year_p50": 2038}
    table = pd.DataFrame(
        {
            "label": ["Demand scale", "Demand scale", "Mature utilisation", "Completion odds", "Slip multiplier"],
            "product": ["dytb_oxide", "ndpr_oxide", "dytb_oxide", "dytb_oxide", "dytb_oxide"],
            "setting": ["x1.5", "x1.5", "0.7", "failure odds doubled", "x2"],
            "p50_year": [np.nan, 2027.0, np.nan, np.nan, 2040.0],
        }
    )
    text = timeline_text.driver_sentence(head, table)
    assert "with x1.5 the Dy+Tb P50 is not reached by 2045" in text
    assert "not alone: mature utilisation (0.7), completion odds (failure odds doubled) each also push the Dy+Tb P50 beyond 2045" in text
    assert "slip multiplier" not in text


def test_tornado_drops_a_panel_no_factor_moves_and_leaves_room_for_labels():
    from rare_earth_lib.report.charts import timeline as timeline_charts

    sens = pd.DataFrame(
        {
            "label": ["Demand scale"] * 4,
            "product": ["ndpr_oxide", "ndpr_oxide", "dytb_oxide", "dytb_oxide"],
            "side": ["low", "high"] * 2,
            "setting": ["x0.5", "x1.5", "x0.5", "failure odds halved"],
            "p50_year": [2026.0, 2026.0, 2033.0, np.nan],
            "base_p50_year": [2026.0, 2026.0, 2037.0, 2037.0],
            "swing_years": [0.0, 0.0, 13.0, 13.0],
        }
    )
    assert timeline_charts.tornado_still_products(sens) == ["ndpr_oxide"]
    spec = timeline_charts.tornado(sens, horizon=2045).to_dict()
    assert {r["product_label"] for r in spec["datasets"][next(iter(spec["datasets"]))]} == {"Dy+Tb oxide"}
    x = spec["spec"]["layer"][0]["encoding"]["x"]
    assert x["scale"]["domain"][1] > 2046 and x["scale"]["domain"][0] < 2032  # labels beyond both bar ends fit
    assert max(x["axis"]["values"]) <= 2046
    aligns = {layer["mark"]["align"] for layer in spec["spec"]["layer"][1:3]}
    assert aligns == {"left", "right"}
    # nothing moves at all: every panel stays
    assert timeline_charts.tornado_still_products(sens.assign(p50_year=sens["base_p50_year"])) == []


def test_driver_sentence_with_a_base_dytb_p50_beyond_the_horizon_names_what_brings_it_inside():
    """When the base Dy+Tb P50 is already beyond the horizon, a factor that leaves it there changes nothing: the
    sentence names the factors that bring it inside, with the year, and never says they 'push it beyond'."""
    head = {"horizon_year": 2045, "largest_driver": "Demand anchor", "dytb_coverage_year_p50": None}
    table = pd.DataFrame(
        {
            "label": ["Demand anchor", "Mature utilisation", "Slip multiplier", "Completion odds"],
            "product": ["dytb_oxide", "dytb_oxide", "dytb_oxide", "dytb_oxide"],
            "setting": ["lowest figures", "0.85", "x0.5", "failure odds doubled"],
            "p50_year": [2029.0, 2041.0, np.nan, np.nan],
        }
    )
    text = timeline_text.driver_sentence(head, table)
    assert "push" not in text and "not alone" not in text
    assert "another single factor brings the Dy+Tb P50 within 2045: mature utilisation (0.85: 2041)" in text
    assert "slip multiplier" not in text and "completion odds" not in text
    none_inside = timeline_text.driver_sentence(head, table.assign(p50_year=[2029.0, np.nan, np.nan, np.nan]))
    assert "no other single factor brings the Dy+Tb P50 within 2045" in none_inside


def test_mature_sentence_sets_the_parameter_beside_the_datas_evidence():
    """The methods state mature utilisation as the parameter it is, and the plant evidence in the data package with
    its sources, to one decimal so a 66.6% plant is not read as above a 66% parameter."""
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.parameters.refining_timeline import Params
    from rare_earth_lib.report.text import timeline_tables

    params = Params()
    text = timeline_tables.mature_sentence(dp.load("projects"), params, dp.as_of())
    assert text.startswith(f"Mature output is {params.mature_utilisation:.0%} of nameplate, a parameter")
    assert "Lynas Malaysia (LAMP) made 6,996 t in its latest whole year against 10,500 t/yr of nameplate (66.6%; " in text
    assert "E8" in text and text.endswith(").")


def test_never_share_is_not_repeated_in_its_plain_reading():
    """A never share without a plain fraction ("72% of trials") is said once; one with ("2 trials in 5") keeps it."""
    head = {
        "horizon_year": 2045,
        "coverage_threshold": 0.75,
        "dytb_share_never_reached": 0.725,  # the controls_reimposed share: no plain fraction within 2.5 points
        "dytb_coverage_year_p10": 2033,
        "dytb_coverage_year_p50": None,
        "dytb_coverage_year_p90": None,
    }
    rng = {"low": 2031, "high": 2038, "share_never": 0.725}
    sentence = timeline_text.coverage_sentence("Dy+Tb oxide", "dytb", head, rng, dt.date(2026, 11, 30))
    assert "72% of trials never reach it by 2045;" in sentence
    assert sentence.count("72%") == 1 and "of trials)" not in sentence
    head["dytb_share_never_reached"] = 0.4
    sentence = timeline_text.coverage_sentence("Dy+Tb oxide", "dytb", head, None, dt.date(2026, 11, 30))
    assert "40% of trials never reach it by 2045 (2 trials in 5)" in sentence


def test_sobol_table_shows_a_dash_for_an_output_that_does_not_vary():
    """The table's note says a dash marks an output that does not vary over the ranges explored: such a column shows
    dashes, not "0.0 ± 0.0"; an output that varies keeps its indices."""
    from types import SimpleNamespace

    from rare_earth_lib.report.text.timeline_tables import sobol_frame

    rows = [
        {"output": out, "output_label": lab, "input": "demand_scale", "label": "Demand scale", "low": 0.5, "high": 1.5,
         "distribution": "uniform", "S1": s1, "S1_conf": 0.0 if s1 == 0 else 0.1, "ST": st, "ST_conf": 0.0 if st == 0 else 0.1}
        for out, lab, s1, st in (("ndpr_year", "NdPr year", 0.0, 0.0), ("dytb_year", "Dy+Tb year", 0.6, 0.8))
    ]  # fmt: skip
    sobol = SimpleNamespace(indices=pd.DataFrame(rows), output_range={"ndpr_year": (2026.0, 2026.0), "dytb_year": (2030.0, 2045.0)})
    table = sobol_frame(sobol)
    assert table.loc[0, "NdPr year: first order"] == "—" and table.loc[0, "NdPr year: total"] == "—"
    assert table.loc[0, "Dy+Tb year: first order"] == "0.6 ± 0.1" and table.loc[0, "Dy+Tb year: total"] == "0.8 ± 0.1"


def test_tornado_year_labels_stand_apart_in_a_narrow_panel():
    """Two panels of 250 px with long bar labels leave few pixels per year: the year ticks thin out (every 10 years)
    so that no two labels run together."""
    from rare_earth_lib.report.charts import timeline as tc

    frame = pd.DataFrame(
        {
            "p50_plot": [2026.0, 2030.0, 2046.0],
            "base_plot": [2046.0, 2046.0, 2046.0],
            "setting": ["lowest demand figures", "50% of demand", "6 years to nameplate"],
        }
    )
    (low, high), ticks = tc._tornado_axis(frame, 2045, 250)
    spacing = (ticks[1] - ticks[0]) * 250 / (high - low)
    assert spacing >= tc.TICK_MIN_PX
    assert ticks[0] >= low and ticks[-1] <= high and len(ticks) >= 2


def test_cost_chart_leaves_room_for_the_longest_bars_label():
    """The value label sits past the end of its bar: the x axis runs far enough beyond the longest bar that the label
    does not meet the last tick label."""
    from rare_earth_lib.report.charts import costs

    frame = pd.DataFrame(
        {
            "instrument": ["US price floor", "Japan price floor"],
            "covers": ["a", "b"],
            "target_usd_per_kg": [110.0, 110.0],
            "market_usd_per_kg": [60.0, 60.0],
            "volume_t": [1000.0, 2000.0],
            "cost_musd_per_year": [96.0, 131.0],
        }
    )
    spec = costs.cost_gap_chart(frame).to_dict()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["scale"]["domain"][1] >= 131.0 * 1.15
