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
    return {"ndpr_oxide": {"p50": ndpr}, "dytb_oxide": {"p50": dytb, "p10": None if dytb is None else dytb - 4, "share_never": 0.43}}


@pytest.fixture(scope="module")
def run(feasibility_on_the_package):
    """A feasibility run with the assessment on the package and fixed coverage years (no Monte Carlo; conftest)."""
    return feasibility_on_the_package


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
    assert text.coverage_text(None, AFTER_SUSPENSION, 2045) == "not by 2045"
    # the summary says the data end before the suspension ran out only when the build date is past it
    assert any("both outcomes are shown" in s for s in text.summary(run, AFTER_SUSPENSION))
    assert not any("both outcomes" in s for s in text.summary(run, BEFORE_SUSPENSION))


def test_suspension_end_is_a_due_date_not_an_outcome(run):
    """After the suspension's end date the data (which end before it) cannot say what China did: the summary gives the
    date as when the suspension was due to end, never as when it ran out, and shows both branches."""
    end = text.date_text(run.assessment.figures["suspension_end"])
    joined = " ".join(text.summary(run, AFTER_SUSPENSION))
    assert f"was due to end on {end}" in joined
    assert "do not say whether it was extended" in joined and "both outcomes are shown" in joined
    for asserted in ("ran out", "expired", "lapsed", "ended on"):
        assert asserted not in joined


def test_one_minute_summary_is_short_plain_and_from_the_numbers(run):
    sentences = text.summary(run, AFTER_SUSPENSION)
    assert 4 <= len(sentences) <= 6
    joined = " ".join(sentences)
    for jargon in ("P50", "pillar", "HHI", "attribution"):
        assert jargon not in joined
    figures = run.assessment.figures
    assert text.tonnes(figures["ndpr_capacity_today_tpa"]) in joined
    assert text.pct(figures["china_separation_share"]) in joined
    # the heavy coverage year is the timeline briefing's statistic: median over all futures, P10 and the never share
    assert (
        "of it by about 2031 in half of the simulated futures on the central demand estimate (in one in ten by 2027); in 43% of them not by"
        in joined
    )


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


def test_summary_names_each_export_control_branch_and_measures_demand(run):
    heavy = run.assessment.branches.set_index("stage").loc["heavy_separation"]
    for build_date in (AFTER_SUSPENSION, BEFORE_SUSPENSION):
        joined = " ".join(text.summary(run, build_date))
        extended = f"{text.pct(heavy['suspension_extended'])} of the alliance's heavy rare-earth demand would need a Chinese licence even if the suspension is extended"
        assert extended in joined
        assert f"and {text.pct(heavy['reimposed'])} if the suspended measures come back into force" in joined
        assert "heavy rare-earth supply" not in joined
    # the two coverage years are two sentences, not one garbled one
    sentences = text.summary(run, AFTER_SUSPENSION)
    assert sum("plants built and planned would cover" in s or "Plants already producing exceed" in s for s in sentences) == 2
    assert 4 <= len(sentences) <= 6


def test_key_judgments_give_dytb_demand_as_a_range_and_both_branches(run):
    f = run.assessment.figures
    judgments = text.key_judgments(run, AFTER_SUSPENSION, lambda label: f"<{label}>")
    heavy = next(j for j in judgments if "Dy+Tb" in j)
    low, high = text.tonnes(f["dytb_demand_today_low_t"]), text.tonnes(f["dytb_demand_today_high_t"])
    assert f"{low}–{high} t of demand" in heavy and "midpoint of conflicting sources" in heavy
    assert "median year across simulations" in heavy and "median simulation" not in heavy
    exposure = next(j for j in judgments if "licensing" in j)
    assert "if the suspension is extended" in exposure and "if the suspended measures return" in exposure


def test_price_floors_are_dated_and_the_observed_us_cost_is_shown_beside_the_modelled(run):
    f = run.assessment.figures
    assert f["market_price_date"] and text.date_text(f["market_price_date"]) in text.floors_text(f)
    assert f["floor_observed_united_states_musd_per_year"] == pytest.approx(f["floor_observed_united_states_musd"] * 2)  # two quarters
    words = text.floors_text(f)
    assert "observed cost" in words and "China-linked" in words and "split not public" in words
    floors = tables.floors_table(run.assessment).set_index("Instrument")
    us = floors.loc["US price floor (DoD–MP Materials)"]
    assert "a year" in us["Observed cost"] and "China-linked" in us["Observed cost"]
    assert "quote of" in us["Market US$/kg (price basis)"]
    assert "not public" in floors.loc["Japan price floor (JARE–Lynas)", "Paid by"]


def test_capex_shows_no_degenerate_range_and_no_per_tonne_figure_where_not_computable(run):
    shown = tables.capex_table(run.assessment)
    ranges = shown["US$ per t/yr"].str.extractall(r"([\d,]+)–([\d,]+)")
    assert (ranges[0] != ranges[1]).all()
    assert "0–0" not in " ".join(shown["US$ per t/yr"])
    estimated = shown["Capacity (t/yr)"].str.contains("estimate")
    assert estimated.any() and shown.loc[estimated, "US$ per t/yr"].str.startswith("not computable").all()
    gap = shown[shown["Item"].str.startswith("Gap")]
    assert gap["US$ per t/yr"].str.contains("low confidence|no gap").all()
    judgment = text.key_judgments(run, AFTER_SUSPENSION, lambda label: f"<{label}>")[-1]
    assert "low confidence" in judgment and "appear" in judgment


def test_public_money_has_one_basis_in_every_table(run):
    result = run.assessment
    money = tables.money_table(result).set_index("Funder")
    us = money.loc["United States"]
    counted = sum(float(v.replace(",", "")) for k, v in us.items() if k.startswith(("Counts", "Shown apart")))
    claim = tables.claims_table(result, run.tables).iloc[3]["What the data show"]
    us_rows = result.public_money[result.public_money["funder"] == "United States"]
    assert f"US${text.tonnes(us_rows['counted_musd'].sum())} million" in claim and "as recorded" in claim
    assert counted == pytest.approx(us_rows["counted_musd"].sum(), rel=0.1)
    assert "conditional" in tables.money_basis(run.params)


def test_control_states_after_the_data_date_are_all_assumed(run):
    states = tables.coding_table(run.assessment).filter(like="State on").iloc[:, 0]
    assert states.str.startswith("assumed ").all()
    assert states.str.contains(f"last known status on {run.as_of.isoformat()}").any()


def test_japan_import_table_keeps_every_source_including_customs_h1_2024(run):
    shown = tables.japan_trade_table(run.tables)
    h1 = shown[shown["Period"] == "H1 2024"]
    assert len(h1) == 1 and h1["China's share of Japan's rare-earth imports"].iloc[0] == "80%"
    assert not shown["Note"].str.contains(r"\[D\d+\]").any()


def test_prose_rounds_estimates_to_two_significant_figures():
    assert text.tonnes(11_249) == "11,000" and text.tonnes(685) == "690" and text.tonnes(70) == "70"
    assert text.musd(96.3) == "US$96 million" and text.musd(809) == "US$810 million" and text.musd(2_558) == "US$2.6 billion"
    assert text.usd_per_kg(83.75) == "US$84/kg"
    assert text.round_sig(-0.01234) == -0.012


def test_tables_use_the_same_rounding_as_the_text(run):
    result = run.assessment
    card = tables.scorecard_table(result)
    values = card.loc[card["Indicator"] != "pillar score", "Value"]
    numbers = values[~values.str.endswith("%") & (values != "not reached")]
    digits = numbers.str.replace(",", "").str.lstrip("0.").str.replace(".", "").str.rstrip("0")
    assert (digits.str.len() <= 2).all(), list(numbers)  # two significant figures at most: no "0.00 years", no "11.73"
    heavy = card[card["Indicator"].str.contains("Heavy separation outside China")]["Value"].iloc[0]
    assert heavy == text.pct(1 - result.figures["china_heavy_separation_share"])  # as the text gives China's share
    prices = tables.prices_table(result)
    assert not prices["US$/kg"].str.contains(r"\d\d\.\d").any()  # 83.75 reads 84, as in the text


def test_summary_leads_with_the_never_share_when_the_heavy_median_is_beyond_the_horizon():
    """With the Dy+Tb median beyond the horizon the summary does not say 'not by 2045 in half of the futures' beside
    'in 73% not by 2045': it gives the share that never gets there, how much that share rests on the demand estimate
    (the share on the low and the high estimate) and the year one in ten does."""
    params = Params()
    data = {name: dp.load(name) for name in scorecard.ASSESSMENT_TABLES}
    by_case = {"low": _coverage(2026, 2030), "central": _coverage(2026, None), "high": _coverage(2036, None)}
    by_case["central"]["dytb_oxide"].update(p10=2033, share_never=0.73)
    by_case["low"]["dytb_oxide"].update(share_never=0.04)
    by_case["high"]["dytb_oxide"].update(share_never=1.0)
    result = scorecard.assess(data, params, dp.as_of(), {"ndpr_oxide": 2026, "dytb_oxide": None}, by_case)
    run = scorecard.FeasibilityRun(params, dp.as_of(), data, by_case["central"], by_case, result, None)
    joined = " ".join(text.summary(run, AFTER_SUSPENSION))
    assert "in half of the simulated futures" not in joined
    assert (
        "in 73% of the simulated futures on the central demand estimate (4% on the low demand estimate, 100% on the high),"
        " plants built and planned do not cover 75% of it by 2045 (one in ten by 2033 do)" in joined
    )


@pytest.mark.parametrize(
    ("shares", "rule", "expected"),
    [
        ({"low": 0.04, "central": 0.76, "high": 1.0}, "central", "(4% on the low demand estimate, 100% on the high)"),
        ({"low": 0.04, "central": 0.76, "high": 0.996}, "low", "(76% on the central demand estimate, more than 99% on the high)"),
        ({"low": 0.5, "central": 0.5, "high": 0.5}, "central", ""),
        ({"low": None, "central": 0.76, "high": 1.0}, "central", ""),
    ],
)
def test_the_never_share_on_the_other_demand_estimates(shares, rule, expected):
    from rare_earth_lib.report.text.timeline import never_across_cases

    assert never_across_cases(shares, rule) == expected


def test_summary_says_todays_plants_exceed_the_ndpr_threshold(run):
    """The coverage threshold is not the plants' share: when today's plants are above it, the summary says they exceed
    it and gives their share of central need."""
    f, p = run.assessment.figures, run.params
    assert f["ndpr_self_sufficiency_central"] >= p.coverage_threshold
    joined = " ".join(text.summary(run, AFTER_SUSPENSION))
    assert (
        f"Plants already producing exceed the {text.pct(p.coverage_threshold)} coverage threshold for NdPr: they make"
        f" {text.pct(f['ndpr_self_sufficiency_central'])} of the central estimate of need" in joined
    )
    assert f"would cover {text.pct(p.coverage_threshold)} of NdPr need already in" not in joined


def test_china_separation_share_is_of_all_rare_earth_separation(run):
    """The separation share in the data is of all rare-earth separation (not of light rare earths only): the summary
    says so."""
    f = run.assessment.figures
    shares = dp.load("stage_shares")
    rows = shares[(shares["stage"] == "separation") & (shares["region"] == "China") & (shares["share"] == f["china_separation_share"])]
    assert rows["basis"].str.contains("rare-earth separation").any()
    first = text.summary(run, AFTER_SUSPENSION)[0]
    assert f"China does {text.pct(f['china_separation_share'])} of the world's rare-earth separation (all elements" in first
    assert "light rare earths" not in first


def test_a_phrase_inside_a_sentence_keeps_the_capital_of_a_name(run):
    """Japan's claim row opens with "Japanese": inside the alliance paragraph it keeps its capital; other phrases
    are lowered."""
    claims = tables.claims_table(run.assessment, {name: dp.load(name) for name in scorecard.ASSESSMENT_TABLES})
    japan = claims.iloc[2]["What the data show"]
    assert japan.startswith("Japanese separation capacity")
    assert text.mid_sentence(japan).startswith("Japanese separation capacity")
    assert text.mid_sentence("Listed plants but no tonnage") == "listed plants but no tonnage"


def test_source_grades_read_as_the_appendix_names_them():
    """Table notes carry the data's coded grade ("L-grade"); the table shows the appendix's word for it."""
    japan = tables.japan_trade_table({"trade_exposure": dp.load("trade_exposure")})
    notes = " ".join(japan["Note"])
    assert "L-grade" not in notes and "low-grade" in notes
    assert tables.grade_words("which is L-grade") == "which is low-grade"


def test_measure_short_names_open_with_a_capital():
    """A measure's short name labels a chart row: it opens with a capital even when the ministry's name is dropped."""
    from rare_earth_lib.models.exposure import measure_short_name

    assert measure_short_name("MOFCOM notice banning dual-use exports: text") == "Notice banning dual-use exports"
    controls = dp.load("export_controls")
    assert all(measure_short_name(m)[:1].isupper() for m in controls["measure"])


def test_todays_capacity_basis_separates_observed_output_from_assumption(run):
    """Today's capacity is not all observed: the sentence says which part is an assumption (nameplate after ramp-up
    for producing plants without an observed rate) and how many tonnes that is, computed from the capacity rows."""
    rows = run.assessment.capacity
    ndpr = rows[(rows["group"] == "Alliance") & (rows["product"] == "ndpr_oxide") & (rows["today_tpa"] > 0)]
    assumed = ndpr.loc[ndpr["observed_tpa"].isna(), "today_tpa"].sum()
    assert 0 < assumed < ndpr["today_tpa"].sum()
    sentence = text.today_basis_text(run.assessment)
    assert "observed output where the data have it" in sentence and "an assumption for the rest" in sentence
    assert f"about {text.tonnes(assumed)} t of NdPr oxide a year of the {text.tonnes(ndpr['today_tpa'].sum())} t" in sentence
    assert "demonstrably" not in sentence


def test_an_import_share_known_only_as_a_bound_is_named_where_the_exposure_rests_on_it(run):
    """Japan's latest figure for China's share of its rare-earth imports is "below 60%" (2025) and conflicts with about
    70% (2024): where a stage's share bought from China counts such a bound as a value, the text says so, with the
    figure before it; a stage resting on no bound gets no such clause."""
    trade = run.tables["trade_exposure"]
    direct = run.assessment.direct_china.set_index("stage")
    for stage in direct.index:
        used = trade.loc[list(direct.at[stage, "trade_rows"])]
        bounds = used[used["share_qualifier"].isin(text.BOUNDS)]
        said = text.bound_trade_text(run, stage)
        if bounds.empty:
            assert said == "", stage
            continue
        for _, row in bounds.iterrows():
            year, share = int(row["year_end"]), text.pct(row["share"])
            assert f"counting Japan's imports from China at {share}, a {year} figure" in said
            assert f"known only as {text.QUALIFIER_WORDS[row['share_qualifier']]}{share}" in said
            before = trade[
                (trade["importer"] == row["importer"])
                & (trade["product"] == row["product"])
                & (trade["partner"] == "China")
                & trade["is_default"]
                & (trade["year_end"] < year)
            ].sort_values("year_end")
            if len(before):
                last = before.iloc[-1]
                qualifier = text.QUALIFIER_WORDS[last["share_qualifier"]]
                assert f"the {int(last['year_end'])} figure was {qualifier}{text.pct(last['share'])}" in said
    heavy = text.bound_trade_text(run, "heavy_separation")
    assert heavy, "the package's Japanese figure for 2025 is a bound (below 60%)"
    assert heavy in text.exposure_branches_text(run)
