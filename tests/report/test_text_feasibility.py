"""The feasibility briefing's words and tables, tested directly (no notebook run): dates relative to a fixed build date."""

from __future__ import annotations

import datetime as dt

import pytest

from rare_earth_lib.data import package as dp
from rare_earth_lib.models import scorecard
from rare_earth_lib.parameters.alliance_feasibility import Params
from rare_earth_lib.report.text import feasibility as text
from rare_earth_lib.report.text import feasibility_tables as tables

AFTER_SUSPENSION = dt.date(2026, 11, 30)
BEFORE_SUSPENSION = dt.date(2026, 6, 15)


def _coverage(ndpr: int | None, dytb: int | None) -> dict:
    return {"ndpr_oxide": {"p50": ndpr}, "dytb_oxide": {"p50": dytb}}


@pytest.fixture(scope="module")
def run():
    """A feasibility run with the assessment on the package and fixed coverage years (no Monte Carlo)."""
    data = {name: dp.load(name) for name in scorecard.ASSESSMENT_TABLES}
    params = Params()
    by_case = {"low": _coverage(2026, 2030), "central": _coverage(2026, 2031), "high": _coverage(2028, 2033)}
    result = scorecard.assess(data, params, dp.as_of(), {"ndpr_oxide": 2026, "dytb_oxide": 2031}, by_case)
    return scorecard.FeasibilityRun(params, dp.as_of(), data, by_case["central"], by_case, result, None)


def test_dates_read_relative_to_the_build_date(run):
    figures = run.assessment.figures
    after = text.controls_context(figures, run.as_of, AFTER_SUSPENSION)
    assert "both branches" in after and "not known" in after
    assert "this scenario assumes the suspension was extended" in after
    before = text.controls_context(figures, run.as_of, BEFORE_SUSPENSION)
    assert "both branches" not in before and "stay suspended after that date" in before
    # a year already under way is not a forecast; a later one is
    assert "not a forecast" in text.coverage_text(2026, AFTER_SUSPENSION, 2045)
    assert text.coverage_text(2024, AFTER_SUSPENSION, 2045) == "already in 2024 (a past year)"
    assert text.coverage_text(2031, AFTER_SUSPENSION, 2045) == "by about 2031"
    assert text.coverage_text(None, AFTER_SUSPENSION, 2045) == "not before 2045"
    # the summary says the data end before the suspension ran out only when the build date is past it
    assert any("both outcomes are shown" in s for s in text.summary(run, AFTER_SUSPENSION))
    assert not any("both outcomes" in s for s in text.summary(run, BEFORE_SUSPENSION))


def test_one_minute_summary_is_short_plain_and_from_the_numbers(run):
    sentences = text.summary(run, AFTER_SUSPENSION)
    assert 4 <= len(sentences) <= 6
    joined = " ".join(sentences)
    for jargon in ("P50", "pillar", "HHI", "attribution"):
        assert jargon not in joined
    figures = run.assessment.figures
    assert text.tonnes(figures["ndpr_capacity_today_tpa"]) in joined
    assert text.pct(figures["china_separation_share"]) in joined


def test_key_judgments_point_to_figures_and_give_all_three_demand_cases(run):
    judgments = text.key_judgments(run, AFTER_SUSPENSION, lambda label: f"<{label}>")
    assert all("<" in j for j in judgments)
    heavy = next(j for j in judgments if "Dy+Tb" in j)
    assert "low demand" in heavy and "central" in heavy and "high" in heavy
    assert not any("P50" in j for j in judgments)


def test_reader_tables_never_show_internal_ids_and_count_money_once(run):
    result = run.assessment
    for frame in (
        tables.coding_table(result),
        tables.branches_table(result),
        tables.capacity_table(result),
        tables.claims_table(result, run.tables),
    ):
        shown = frame.drop(columns="source_ids").astype(str)
        assert not shown.apply(lambda col: col.str.contains(r"\b[a-z]+_[a-z0-9_]+\b", regex=True)).any().any(), frame.columns
    commitments = tables.commitments_table(run.tables, run.as_of)
    jare = commitments[commitments["Commitment"].str.contains("JARE")]
    lynas = commitments[commitments["Commitment"].str.contains("Lynas Malaysia")]["US$ million"].iloc[0]
    assert not (jare["US$ million"] == lynas).any()  # the JARE money is shown once, on the project row
    assert commitments["Deadline"].str.contains("passed").any()


def test_scenario_notes_explain_unchanged_results(run):
    reimposed = scorecard.FeasibilityRun(
        Params(controls_regime="reimposed"), run.as_of, run.tables, run.coverage, run.coverage_by_case, run.assessment, None
    )
    notes = text.scenario_notes(reimposed, Params())
    assert notes and "timeline" in notes[0]
    assert text.scenario_notes(run, Params()) == []


def test_percentages_never_round_a_partial_share_to_all_or_nothing():
    assert text.pct(0.999) == "99.9%" and text.pct(1.0) == "100%"
    assert text.pct(0.001) == "0.1%" and text.pct(0.0) == "0%"
    assert text.pct(0.913) == "91%"
