"""Sentences of the scenario-discovery briefing whose wording turns on the results, tested directly (no notebook run)."""

from __future__ import annotations

import pandas as pd

from rare_earth_lib.models.discovery import Evaluation, PrimResult
from rare_earth_lib.parameters.scenario_discovery import Params
from rare_earth_lib.report.text import discovery as dtext

REFS = {"boxes": "Figure 3", "trajectory": "Figure 2", "box_table": "Table 2", "scores": "Figure 4", "scatter": "Figure 5"}
NO_BOX = pd.DataFrame(columns=["box", "coverage", "density", "mass", "n_restricted"])
ONE_BOX = pd.DataFrame([{"box": 1, "coverage": 0.6, "density": 0.85, "mass": 0.2, "n_restricted": 2}])


def _prim(summary: pd.DataFrame, base_rate: float) -> PrimResult:
    return PrimResult(pd.DataFrame(), summary, pd.DataFrame(), base_rate)


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
    assert text.startswith("PRIM finds no box for the goal as set: it holds in 2% of the futures.")
    assert "show the goal for NdPr oxide alone (met in 45% of the futures); Table 2 lists" in text


def test_prim_outcome_names_the_box_kept_or_says_there_is_none():
    kept = dtext.prim_outcome_text(_prim(ONE_BOX, 0.3), 0.8, REFS)
    assert "The ring marks the box kept" in kept and "in Figure 3 and Table 2" in kept
    none = dtext.prim_outcome_text(_prim(NO_BOX, 0.0), 0.8, REFS)
    assert none.startswith("PRIM finds no box: no goal analysed separates success from failure with a density of 80%")
    assert "Table 2 is empty" in none


def test_strongest_inputs_sentence():
    labels = {"slip_multiplier": "Slip multiplier", "demand_scale": "Demand scale"}
    text = dtext.strongest_text(["slip_multiplier", "demand_scale"], labels, "the goal", "Figure 5")
    assert (
        text
        == "The two strongest for the goal are slip multiplier and demand scale; Figure 5 shows every sampled future on those two inputs."
    )
    assert "only the probabilities are scored" in dtext.strongest_text([], labels, "the goal", "Figure 5")


def test_evaluation_text_says_computed_or_read_from_the_cache():
    results = pd.DataFrame()
    computed = Evaluation(results, "abcdef0123456789", False, 1234.56, 2, "local cluster")
    assert dtext.evaluation_text(computed) == "computed in 1,234.6 s on 2 Dask worker(s) (local cluster) and cached under key abcdef012345"
    cached = Evaluation(results, "abcdef0123456789", True, 0.0, 0, "cache")
    assert dtext.evaluation_text(cached) == "read from the cache of an earlier identical evaluation (key abcdef012345)"
