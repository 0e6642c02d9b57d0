"""The scenario-discovery briefing runs on a local Dask cluster and says what the library computes.

Reads the cold hand run of notebooks/scenario_discovery.ipynb (tests/conftest.py ``hand_run``, shared with
tests/report/test_notebooks.py): papermill with the notebook's defaults (params/base.yaml's values) and an empty
results store, so that the kernel starts a local Dask cluster and computes the futures. Checks: no errors; the
recorded metrics equal the library's analysis of the stored results; the key judgments carry the PRIM box's figures;
the prose says the results were computed for this build.

What a second build with the same inputs does is checked without a second notebook run: the results are read from
the store under the same content hash and equal the computed ones (tests/models/test_discovery.py
``test_results_are_cached_by_content_hash``); read results give the same headline figures (the manifest metrics) and
the prose says they were read from the stored results (tests/report/test_text_discovery.py
``test_a_cache_hit_gives_the_same_headline_and_says_the_results_were_read`` and
``test_evaluation_text_says_computed_or_read_without_run_details``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import briefing_text, hand_run

from rare_earth_lib import parameters
from rare_earth_lib.build import render
from rare_earth_lib.models import discovery as d
from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE
from rare_earth_lib.report.text.discovery import pct

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BASE = parameters.validate_scenario(ROOT / "params" / "base.yaml", ["scenario_discovery"])["scenario_discovery"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The hand run's parameters (the notebook's defaults, which are base's), executed notebook and store folder."""
    nb, cache = hand_run(tmp_path_factory, "scenario_discovery")
    return BASE, nb, cache


def test_runs_without_errors_and_records_metrics(run):
    params, nb, cache = run
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    metrics = render.notebook_metrics(nb)
    assert metrics["discovery_n_scenarios"] == params.n_scenarios
    assert metrics["discovery_trials_per_scenario"] == params.discovery_trials
    # the metrics are the library's analysis of the stored results (the only ones in the run's own store)
    [parquet] = list((cache / "discovery").glob("*.parquet"))
    results = __import__("pandas").read_parquet(parquet)
    goal = d.goal_met(results, params.goal_probability, params.goal_products)
    assert metrics["discovery_goal_share"] == round(float(goal.mean()), 4)
    analyses = d.analyse_goals(results, params.goal_probability, params.goal_products, params.prim_threshold, params.prim_lower_threshold)
    assert metrics["prim_goal"] == d.primary_goal(analyses)
    prim = analyses[metrics["prim_goal"]]
    if len(prim.summary):
        assert metrics["prim_box1_density"] == round(float(prim.summary.loc[0, "density"]), 4)
        assert metrics["prim_box1_coverage"] == round(float(prim.summary.loc[0, "coverage"]), 4)


def test_key_judgments_come_from_the_boxes_and_the_prose_says_the_results_were_computed(run):
    params, nb, _ = run
    metrics = render.notebook_metrics(nb)
    text = briefing_text(nb)
    assert f"holds in {pct(metrics['discovery_goal_share'])}" in text
    if metrics["prim_box1_density"] is not None:
        assert f"holds in {pct(metrics['prim_box1_density'])} of futures" in text
    assert "computed for this build" in text and "read from the stored results" not in text
    # no run details for readers: no store key, worker count or environment-variable name (the parameters
    # appendix lists the settable names, as in every briefing, but not the environment variable)
    body = text.split("Appendix")[0]
    assert metrics["discovery_results_key"] not in text
    assert "worker" not in body and "DASK_SCHEDULER_ADDRESS" not in text and "Model field names" not in text
    # the PRIM sentence matches what PRIM did: "everywhere" only when the goal holds in every future
    if metrics["discovery_goal_share"] < 1:
        assert "holds everywhere" not in text and "every one of" not in text.split("Appendix")[0]
    if metrics["prim_outcome"] == "lower":
        assert f"The best box at a lower threshold of {params.prim_lower_threshold:.0%}" in text
    # this scenario's own figure comes from its full run (the refining-timeline briefing's)
    assert metrics["scenario_point_trials"] == params.n_trials
    assert f"run with the {params.n_trials:,} trials of the refining-timeline briefing" in text
    # the prose's numbers are the run's own
    assert f"{params.n_scenarios:,} futures were sampled" in text
    assert f"It holds in {pct(metrics['discovery_goal_share'])} of the sampled futures" in text
    assert "{eval}" not in text
    for spec in EXPLORATION_SPACE.values():
        assert spec.label in text, spec.label
