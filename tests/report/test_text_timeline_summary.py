"""The timeline briefing's one-minute summary: plain sentences from the numbers, the same capacity as feasibility's."""

from __future__ import annotations

import pytest

from rare_earth_lib.data import package as dp
from rare_earth_lib.models import capacity
from rare_earth_lib.report.text import timeline as text


@pytest.fixture
def results(timeline_package_results):
    """The timeline results on the data package (shared with the model tests, tests/conftest.py)."""
    return timeline_package_results


def test_summary_is_four_to_six_plain_sentences_from_the_numbers(results):
    params, res = results
    sentences = text.summary(res, params, dp.as_of(), params.horizon_year)
    assert 4 <= len(sentences) <= 6
    joined = " ".join(sentences)
    assert f"{res.headline['ndpr_capacity_today_tpa']:,.0f} tonnes of NdPr oxide" in joined
    assert f"{res.headline['dytb_today_coverage_central']:.0%} of its Dy+Tb need" in joined
    cov = res.hindcast_cov
    held = (
        f"all {cov['n_finished']}"
        if cov["n_finished_inside"] == cov["n_finished"]
        else f"{cov['n_finished_inside']} of the {cov['n_finished']}"
    )
    assert f"held {held} finished plants" in joined
    for project in cov["unbuilt_missed"]:  # a plant never built is not called finished
        assert project in joined
    if res.headline["slip_spread_calibrated"]:
        assert "not an independent test" in joined
    # the summary's coverage year is the same statistic as the key judgments': the median over all trials
    head = res.headline
    if head["dytb_coverage_year_p50"] is not None:
        assert f"of Dy+Tb need by {head['dytb_coverage_year_p50']}" in joined
    else:  # the share that never gets there leads, on the demand estimate used, with the other two estimates' shares beside it
        shares = {case: head[f"dytb_share_never_reached_{case}"] for case in ("low", "central", "high")}
        assert (
            f"On the {params.demand_anchor_rule} demand estimate, in most simulated futures ({text.share_text(shares['central'])})"
            in joined
        )
        assert text.never_across_cases(shares, params.demand_anchor_rule) in joined
        assert f"({text.share_text(shares['low'])} on the low demand estimate, {text.share_text(shares['high'])} on the high)" in joined
    assert "most likely" not in joined
    for jargon in ("P50", "P10", "Monte Carlo", "trials", "pillar"):
        assert jargon not in joined, jargon


def test_summary_capacity_is_the_one_capacity_model(results):
    params, res = results
    expected = capacity.today_metrics(dp.load("projects"), params, dp.as_of())
    assert res.headline["ndpr_capacity_today_tpa"] == expected["ndpr_capacity_today_tpa"]
    assert res.headline["dytb_capacity_today_tpa"] == expected["dytb_capacity_today_tpa"]


def test_summary_says_todays_plants_exceed_the_threshold_with_their_share(results):
    """Where today's plants already cover more than the threshold, the summary gives their actual share of central
    need and calls the threshold a threshold, not their coverage."""
    params, res = results
    joined = " ".join(text.summary(res, params, dp.as_of(), params.horizon_year))
    share = res.headline["ndpr_today_coverage_central"]
    assert share >= params.coverage_threshold and res.ranges["ndpr"]["high"] <= res.today.year
    assert (
        f"Plants already producing exceed the {params.coverage_threshold:.0%} threshold for NdPr: they cover {share:.0%}"
        " of central need" in joined
    )
    assert f"Plants already producing cover {params.coverage_threshold:.0%} of NdPr need" not in joined
    high = res.demand_cases.set_index(["product", "case"]).loc[("ndpr_oxide", "high")]
    assert text.highest_case_text(high["p50"], high["share_never"], params.coverage_threshold, "NdPr", params.horizon_year) in joined


def test_the_highest_demand_case_names_its_product_and_reads_whole_when_never_reached():
    """The highest estimate's clause names the product it is about (it follows NdPr's sentence and precedes Dy+Tb's),
    writes a median year as a year and a share that is not total as one, and when the median is never reached says
    so in a sentence, not "the middle year would be not by 2045"."""
    assert (
        text.highest_case_text(2036.0, 0.47, 0.75, "NdPr", 2045)
        == "on the highest demand estimate, half the simulated futures cover 75% of NdPr need by 2036, and in 47% they do not by 2045"
    )
    assert text.highest_case_text(2031, 0.0, 0.75, "NdPr", 2045).endswith("need by 2031")
    never = text.highest_case_text(float("nan"), 0.998, 0.75, "Dy+Tb", 2045)
    assert never == (
        "on the highest demand estimate, in most simulated futures (more than 99%) plants built and planned do not cover"
        " 75% of Dy+Tb need by 2045"
    )
    assert text.highest_case_text(None, 1.0, 0.75, "NdPr", 2045).endswith(
        "(100%) plants built and planned do not cover 75% of NdPr need by 2045"
    )


def test_summary_tells_the_fitted_slip_median_from_the_observed_one(results):
    """1.6 years is the median of the fitted, widened slip distribution, not of the builds seen: the summary names it as
    the fit's and gives the observed builds' own median slip beside it, both computed."""
    params, res = results
    joined = " ".join(text.summary(res, params, dp.as_of(), params.horizon_year))
    slips = res.run.slips
    observed = slips.loc[~slips["censored"].astype(bool), "slip_years"]
    assert len(observed) == res.run.slip_fit.n_observed
    assert (
        f"the slip distribution fitted to past plants outside China has a median of {res.headline['slip_median_years']:.1f} years" in joined
    )
    assert f"the {len(observed)} past builds that reached first output slipped a median of {observed.median():.1f} years" in joined
    assert "started a median of" not in joined
