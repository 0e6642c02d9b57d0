"""Sentences of the scenario-discovery briefing whose wording turns on the results, tested directly (no notebook run)."""

from __future__ import annotations

import pandas as pd
import pytest

from rare_earth_lib.models.discovery import Evaluation, PrimResult
from rare_earth_lib.parameters.scenario_discovery import Params
from rare_earth_lib.report.text import discovery as dtext

REFS = {"boxes": "Figure 3", "trajectory": "Figure 2", "box_table": "Table 2", "scores": "Figure 4", "scatter": "Figure 5"}
NO_BOX = pd.DataFrame(columns=["box", "coverage", "density", "mass", "n_restricted"])
ONE_BOX = pd.DataFrame([{"box": 1, "coverage": 0.6, "density": 0.85, "mass": 0.2, "n_restricted": 2}])


def _prim(summary: pd.DataFrame, base_rate: float, outcome: str | None = None) -> PrimResult:
    if outcome is None:
        outcome = "box" if len(summary) else ("nowhere" if base_rate == 0 else "none")
    return PrimResult(pd.DataFrame(), summary, pd.DataFrame(), base_rate, outcome, 0.8 if outcome in ("box", "everywhere") else 0.5)


def test_goal_text_and_us_funding_follow_the_parameters():
    params = Params(coverage_threshold=0.6, goal_products="ndpr", probability_by_year=2031, goal_probability=0.4)
    assert dtext.goal_text(params) == (
        "alliance separation capacity covers 60% of estimated alliance demand for NdPr oxide by 2031 with probability of at least 40%"
    )
    assert dtext.us_funding_text(Params(us_funding_withdrawn=False)) == "kept"
    assert dtext.us_funding_text(Params(us_funding_withdrawn=True, us_withdrawal_year=2029)) == "withdrawn from 2029"
    assert dtext.count(12000) == "12,000"


def test_fallback_sentence_only_when_the_charts_show_another_goal():
    found = {"both": _prim(ONE_BOX, 0.3), "ndpr": _prim(ONE_BOX, 0.5), "dytb": _prim(ONE_BOX, 0.4)}
    assert dtext.goal_fallback_text(found, "both", "the goal", "Table 2") == ""
    missed = {"both": _prim(NO_BOX, 0.02), "ndpr": _prim(ONE_BOX, 0.45), "dytb": _prim(NO_BOX, 0.01)}
    text = dtext.goal_fallback_text(missed, "both", "the goal for NdPr oxide alone", "Table 2")
    assert text.startswith("PRIM keeps no box for the goal as set: no part of the explored space is denser in successes than the whole")
    assert "show the goal for NdPr oxide alone (met in 45% of the futures); Table 2 lists" in text


def test_prim_outcome_names_the_box_kept_or_says_why_there_is_none():
    kept = dtext.prim_outcome_text(_prim(ONE_BOX, 0.3), 0.8, REFS)
    assert "The ring marks the box kept" in kept and "in Figure 3 and Table 2" in kept and "No step reaches" not in kept
    lower = dtext.prim_outcome_text(_prim(ONE_BOX.assign(density=0.45), 0.07, "lower"), 0.8, REFS, "the goal")
    assert (
        "No step reaches 80% density for the goal, so the ring marks the step with the highest coverage among those reaching a lower threshold of 50%"
        in lower
    )
    assert "(the box kept: 45%, against 7% over the whole space)" in lower
    # no box: one sentence, no reference to a figure or table that is not shown
    for outcome, base, words in (
        ("nowhere", 0.0, "the goal holds in none of the sampled futures, so there is no box to find."),
        ("everywhere", 1.0, "the goal holds in every one of the sampled futures, so there is no box to find."),
        ("everywhere", 0.9, "the goal holds in 90% of the sampled futures, already above the 80% density a box must reach"),
    ):
        text = dtext.prim_outcome_text(_prim(NO_BOX, base, outcome), 0.8, {}, "the goal")
        assert text.startswith("PRIM keeps no box for the goal: " + words), text
        assert "Figure" not in text and "Table" not in text


def test_strongest_inputs_sentence():
    labels = {"slip_multiplier": "Slip multiplier", "demand_scale": "Demand scale"}
    text = dtext.strongest_text(["slip_multiplier", "demand_scale"], labels, "the goal", "Figure 5")
    assert (
        text
        == "The two strongest for the goal are slip multiplier and demand scale; Figure 5 shows every sampled future on those two inputs."
    )
    assert "only the probabilities are scored" in dtext.strongest_text([], labels, "the goal", "Figure 5")


def test_evaluation_text_says_computed_or_read_without_run_details():
    results = pd.DataFrame()
    computed = Evaluation(results, "abcdef0123456789", False, 1234.56, 2, "local cluster")
    text = dtext.evaluation_text(computed)
    assert text == "computed for this build (in 1,235 seconds) and stored, so a rebuild with the same inputs reads them"
    cached = Evaluation(results, "abcdef0123456789", True, 0.0, 0, "cache")
    assert dtext.evaluation_text(cached) == "read from the stored results of an earlier run with the same inputs, model code and data"
    for words in (text, dtext.evaluation_text(cached)):
        assert "abcdef" not in words and "Dask" not in words and "worker" not in words


def test_labels_inside_sentences_keep_symbols_and_abbreviations():
    scores = pd.DataFrame({"input": ["a", "b"], "outcome": "goal", "score": [0.7, 0.3], "rank": [1, 2]})
    text = dtext.levers_text(scores, {"a": "lever", "b": "lever"}, {"a": "P(built) at feasibility", "b": "Decision speed-up"}, REFS)
    assert (
        text
        == "The policy levers rank P(built) at feasibility 1st and decision speed-up 2nd of the 2 inputs in separating success from failure (Figure 4)."
    )


def test_framework_deadline_in_the_space_table_reads_as_past():
    """The US-Australia framework's six-month deadline fell before the data date: Table 1 says the money was due by
    that month and that the data record none paid out to a rare-earth project, not that it is due."""
    import datetime as dt

    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import discovery as sd
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE

    frameworks = dp.load("frameworks").set_index("framework_id")
    deadline = dt.date.fromisoformat(str(frameworks.loc["us_australia_2025", "deadline_date"])[:10])
    assert deadline < dp.as_of()
    money = dp.load("framework_money")
    rare_earth = money[(money["framework_id"] == "us_australia_2025") & (money["funds"] != "non_rare_earth")]
    assert not rare_earth["note"].str.contains("paid|disbursed", case=False).any()  # the data record no payment
    space = sd.space_table(EXPLORATION_SPACE, Params()).set_index("input")
    reason = space.loc["decision_speedup_years", "reason"]
    assert f"by {deadline:%B %Y}, before the data date" in reason
    assert "no money paid out under it to a rare-earth project" in reason
    assert "Framework money due within six months" not in reason


@pytest.mark.slow  # evaluates 12 futures and runs PRIM twice (a few seconds, mostly imports): not for make test-fast
def test_a_cache_hit_gives_the_same_headline_and_says_the_results_were_read(tmp_path):
    """What a second build with the same inputs shows: the results read from the store give the briefing the same
    headline figures as the run that computed them, and the prose says they were read, not computed.

    (tests/report/test_briefing_scenario_discovery.py used to execute the notebook a second time on a warm cache to
    check this; the notebook shows ``evaluation_text(evaluation)`` and records ``headline(...)``, computed here as its
    cells compute them.)"""
    from rare_earth_lib.models import discovery as sd
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE

    params = Params.model_validate({"n_scenarios": 12, "discovery_trials": 100})
    tables = sd.Tables.load()
    inputs = list(EXPLORATION_SPACE)

    def headline(evaluation: Evaluation) -> dict:
        results = evaluation.results.copy()
        results["goal_met"] = sd.goal_met(results, params.goal_probability, params.goal_products)
        analyses = sd.analyse_goals(
            results, params.goal_probability, params.goal_products, params.prim_threshold, params.prim_lower_threshold
        )
        charted = sd.goal_met(results, params.goal_probability, sd.primary_goal(analyses))
        outcomes = {"goal": charted.to_numpy(), **{k: results[k].to_numpy() for k in ("ndpr_prob_by_year", "dytb_prob_by_year")}}
        scores = sd.feature_scores(results[inputs], outcomes, seed=params.sampling_seed)
        return dtext.headline(evaluation, params, results["goal_met"], analyses, scores)

    computed = sd.cached_evaluation(params, tables, directory=tmp_path, in_process=True)
    read = sd.cached_evaluation(params, tables, directory=tmp_path, in_process=True)
    assert not computed.cached and read.cached and read.key == computed.key
    assert headline(read) == headline(computed)
    assert dtext.evaluation_text(computed).startswith("computed for this build")
    assert dtext.evaluation_text(read).startswith("read from the stored results")
