"""Scenario discovery: the declared space, sampling, evaluation (chunking, Dask, a killed worker), cache, PRIM."""

from __future__ import annotations

import csv
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rare_earth_lib.models import demand as demand_mod
from rare_earth_lib.models import discovery as d
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.parameters import refining_timeline
from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE, Explore, Params, check_space
from rare_earth_lib.report.text import discovery as dtext

# One xdist worker runs the whole module (--dist loadgroup), since its tests share the package tables and the imports of
# Dask's cluster and ema_workbench: on several workers each would pay them again.
pytestmark = pytest.mark.xdist_group("discovery")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tables() -> d.Tables:
    return d.Tables.load()


def small(**changes) -> Params:
    return Params.model_validate({"n_scenarios": 12, "discovery_trials": 100, **changes})


# --- the declared space --------------------------------------------------------------------


def test_space_is_declared_with_reasons_and_known_sources():
    check_space()
    with open(ROOT / "rare_earth_lib" / "data" / "sources.csv", encoding="utf-8") as handle:
        known = {row["source_id"] for row in csv.DictReader(handle)}
    assert len(EXPLORATION_SPACE) >= 6
    assert {spec.kind for spec in EXPLORATION_SPACE.values()} == {"uncertainty", "lever"}
    for name, spec in EXPLORATION_SPACE.items():
        assert spec.reason and spec.label, name
        assert spec.source_ids and set(spec.source_ids) <= known, name


def test_space_ranges_outside_the_field_bounds_are_refused():
    with pytest.raises(ValueError, match="slip_multiplier"):
        check_space({"slip_multiplier": Explore(low=0.5, high=9.0, kind="uncertainty", label="x", reason="x")})
    with pytest.raises(ValueError, match="not an input"):
        check_space({"no_such_field": Explore(low=0, high=1, kind="lever", label="x", reason="x")})
    with pytest.raises(ValueError):
        Explore(low=1.0, high=1.0, kind="lever", label="x", reason="x")


def test_latin_hypercube_is_seeded_within_ranges_and_stratified():
    n = 40
    a, b = d.sample_space(n, 7), d.sample_space(n, 7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(d.sample_space(n, 8))
    for name, spec in EXPLORATION_SPACE.items():
        values = a[name].to_numpy()
        assert values.min() >= spec.low and values.max() <= spec.high
        if spec.distribution == "uniform":
            unit = (values - spec.low) / (spec.high - spec.low)
        else:
            unit = np.log(values / spec.low) / np.log(spec.high / spec.low)
        # one point in each of the n equal strata: the defining property of a Latin hypercube
        assert sorted(np.minimum((unit * n).astype(int), n - 1)) == list(range(n))


def test_fixed_inputs_carry_the_scenario_and_leave_out_the_explored():
    fixed = d.fixed_inputs(small(us_funding_withdrawn=True))
    assert fixed["us_funding_withdrawn"] is True
    assert not set(fixed) & set(EXPLORATION_SPACE)
    assert "n_scenarios" not in fixed and "scenario_title" not in fixed
    assert set(fixed) | set(EXPLORATION_SPACE) == set(refining_timeline.Params.model_fields) - {"scenario", "scenario_title"}


# --- evaluation ------------------------------------------------------------------------------


def test_demand_shortcut_equals_the_demand_model(tables):
    years = np.arange(2026, 2046)
    estimate = d._DemandEstimate(tables.demand)
    for values in (
        {},
        {"ndpr_demand_growth_rate": 0.071, "dytb_demand_growth_rate": 0.023, "demand_scale": 1.37},
        {"demand_anchor_rule": "lowest"},
    ):
        params = refining_timeline.Params.model_validate(values)
        ours = estimate.totals(params, years)
        model = demand_mod.sum_regions(demand_mod.scenario_demand(tables.demand, years, params))
        merged = ours.merge(model, on=["year", "product"], suffixes=("", "_model"))
        assert len(merged) == 2 * years.size
        np.testing.assert_allclose(merged["tonnes"], merged["tonnes_model"], rtol=1e-12)


def test_evaluation_equals_the_timeline_and_does_not_depend_on_chunking(tables):
    params = small()
    sample = d.sample_space(params.n_scenarios, params.sampling_seed)
    fixed = d.fixed_inputs(params)
    whole = d.evaluate_scenarios(sample, fixed, tables, n_trials=200, probability_by_year=2030, chunk_size=100)
    assert list(whole["scenario_id"]) == list(range(params.n_scenarios))
    for size in (1, 5):
        pd.testing.assert_frame_equal(
            d.evaluate_scenarios(sample, fixed, tables, n_trials=200, probability_by_year=2030, chunk_size=size), whole
        )
    # one scenario through the timeline's own entry point gives the same numbers
    row = sample.iloc[3]
    values = {**fixed, **{k: float(row[k]) for k in EXPLORATION_SPACE}, "n_trials": 200}
    run = tl.simulate(
        refining_timeline.Params.model_validate(values),
        {"projects": tables.projects, "build_analogs": tables.build_analogs, "demand": tables.demand},
        as_of=tables.as_of,
    )
    summary = tl.coverage_summary(run.result, "ndpr_oxide", 2030)
    assert whole.loc[3, "ndpr_prob_by_year"] == pytest.approx(summary["prob_by_year"], abs=1e-12)
    p50 = whole.loc[3, "ndpr_coverage_year_p50"]
    assert (summary["p50"] is None and np.isnan(p50)) or p50 == summary["p50"]
    assert whole[[c for c in d.OUTCOME_COLUMNS if c.endswith("prob_by_year")]].stack().between(0, 1).all()


def test_evaluation_applies_the_control_channels_as_the_timeline_does(tables):
    """With China's control channels on, every future is simulated as the timeline's own run simulates it: the
    licence delay moves the pipeline and the price pull-forward the decision speed-up (they were once left out)."""
    params = small(control_channels_active=True, licence_delay_years=1.5, chinese_equipment_share=0.8, price_pullforward_years=1.0)
    sample = d.sample_space(params.n_scenarios, params.sampling_seed).iloc[:4]
    fixed = d.fixed_inputs(params)
    assert fixed["control_channels_active"] is True
    got = d.evaluate_scenarios(sample, fixed, tables, n_trials=200, probability_by_year=2030)
    moved = False
    for i, row in sample.reset_index(drop=True).iterrows():
        values = {**fixed, **{k: float(row[k]) for k in EXPLORATION_SPACE}, "n_trials": 200}
        tabs = {"projects": tables.projects, "build_analogs": tables.build_analogs, "demand": tables.demand}
        for product, key in tl.PRODUCT_KEYS.items():
            on = tl.coverage_summary(
                tl.simulate(refining_timeline.Params.model_validate(values), tabs, as_of=tables.as_of).result, product, 2030
            )
            off = tl.coverage_summary(
                tl.simulate(
                    refining_timeline.Params.model_validate({**values, "control_channels_active": False}), tabs, as_of=tables.as_of
                ).result,
                product,
                2030,
            )
            assert got.loc[i, f"{key}_prob_by_year"] == pytest.approx(on["prob_by_year"], abs=1e-12)
            moved |= on["prob_by_year"] != off["prob_by_year"] or on["p50"] != off["p50"]
    assert moved  # the channels matter for these futures, so the comparison can tell them apart


def test_goal_met():
    frame = pd.DataFrame({"ndpr_prob_by_year": [0.6, 0.4, 0.5], "dytb_prob_by_year": [0.5, 0.9, 0.2]})
    assert d.goal_met(frame, 0.5).tolist() == [True, False, False]
    assert d.goal_met(frame, 0.5, "ndpr").tolist() == [True, False, True]
    assert d.goal_met(frame, 0.5, "dytb").tolist() == [True, True, False]
    with pytest.raises(ValueError):
        d.goal_met(frame, 0.5, "all")


# --- cache and cluster checks ----------------------------------------------------------------


def test_results_are_cached_by_content_hash(tables, tmp_path):
    params = small()
    first = d.cached_evaluation(params, tables, directory=tmp_path, in_process=True)
    assert not first.cached and (tmp_path / f"{first.key}.parquet").is_file()
    again = d.cached_evaluation(params.model_copy(update={"scenario_title": "Other title", "dask_workers": 5}), tables, directory=tmp_path)
    assert again.cached and again.key == first.key
    pd.testing.assert_frame_equal(again.results, first.results)
    for change in (
        {"n_scenarios": 25},
        {"discovery_trials": 300},
        {"seed": 1},
        {"coverage_threshold": 0.5},
        {"us_funding_withdrawn": True},
    ):
        assert d.evaluation_key(small(**change), tables) != first.key, change


def test_build_that_fills_the_cores_evaluates_in_the_kernel_unless_a_scheduler_is_named(tables, tmp_path, monkeypatch):
    """With RARE_EARTH_EVALUATE_IN_KERNEL=1 (a local build whose workers use every core) no local cluster starts and the
    results equal an in-process run; a scheduler address still sends the work to that scheduler."""
    import contextlib

    from rare_earth_lib import env
    from rare_earth_lib.models.discovery import cache

    connected: list[object] = []

    @contextlib.contextmanager
    def no_cluster(address, n_workers):
        connected.append(address)
        raise RuntimeError("a cluster was asked for")
        yield

    monkeypatch.setattr(cache, "connect", no_cluster)
    monkeypatch.delenv(d.DASK_SCHEDULER_ENV, raising=False)
    monkeypatch.setenv(env.EVALUATE_IN_KERNEL, "1")
    params = small()
    here = d.cached_evaluation(params, tables, directory=tmp_path / "a")
    assert not connected and here.scheduler == "this process" and here.n_workers == 1
    reference = d.cached_evaluation(params, tables, directory=tmp_path / "b", in_process=True)
    pd.testing.assert_frame_equal(here.results, reference.results)
    with pytest.raises(RuntimeError, match="cluster was asked for"):
        d.cached_evaluation(small(dask_scheduler="tcp://h:1"), tables, directory=tmp_path / "c")
    assert connected == ["tcp://h:1"]
    monkeypatch.setenv(env.EVALUATE_IN_KERNEL, "0")
    with pytest.raises(RuntimeError, match="cluster was asked for"):
        d.cached_evaluation(params, tables, directory=tmp_path / "d")
    assert connected == ["tcp://h:1", None]


def test_scheduler_address_from_parameter_or_environment(monkeypatch):
    monkeypatch.delenv(d.DASK_SCHEDULER_ENV, raising=False)
    assert d.scheduler_address("") is None
    monkeypatch.setenv(d.DASK_SCHEDULER_ENV, "tcp://10.0.0.1:8786")
    assert d.scheduler_address("") == "tcp://10.0.0.1:8786"
    assert d.scheduler_address("tcp://h:1") == "tcp://h:1"


class _FakeClient:
    def __init__(self, hashes):
        self.hashes = hashes

    def wait_for_workers(self, n, timeout=None):
        return None

    def run(self, function):
        return self.hashes


def test_workers_with_another_library_are_refused():
    mine = d.library_hash()
    assert d.check_workers(_FakeClient({"tcp://a:1": mine}), mine) == {"tcp://a:1": mine}
    with pytest.raises(d.LibraryMismatchError, match=r"1 of 2 Dask worker\(s\).*tcp://b:2"):
        d.check_workers(_FakeClient({"tcp://a:1": mine, "tcp://b:2": "0" * 64}), mine)
    with pytest.raises(RuntimeError, match="no workers"):
        d.check_workers(_FakeClient({}), mine)


def test_library_hash_changes_with_the_code(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    before = d.library_hash(root=tmp_path / "pkg")
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert d.library_hash(root=tmp_path / "pkg") != before


# --- analysis --------------------------------------------------------------------------------


def test_prim_finds_a_planted_box_and_feature_scores_rank_its_inputs():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((800, 4)), columns=["a", "b", "c", "e"])
    y = ((x["a"] < 0.4) & (x["b"] > 0.5)).to_numpy()
    result = d.prim_boxes(x, y, threshold=0.8)
    first = result.boxes.loc[result.boxes["box"] == 1].set_index("input")
    assert set(first.index) == {"a", "b"}
    assert first.loc["a", "high"] == pytest.approx(0.4, abs=0.1)
    assert first.loc["b", "low"] == pytest.approx(0.5, abs=0.1)
    assert result.summary.loc[0, "density"] >= 0.8
    assert result.trajectory["chosen"].sum() == 1
    assert result.base_rate == pytest.approx(y.mean())
    scores = d.feature_scores(x, {"goal": y}, seed=1)
    assert set(d.strongest_inputs(scores, "goal")) == {"a", "b"}
    pd.testing.assert_frame_equal(scores, d.feature_scores(x, {"goal": y}, seed=1))
    results = pd.DataFrame({"ndpr_prob_by_year": y.astype(float), "dytb_prob_by_year": np.where(y, 0.9, 0.1)})
    sentences = dtext.key_judgments(
        {"ndpr": result},
        scores,
        results,
        goal_probability=0.5,
        labels={"a": "Input A", "b": "Input B"},
        goal_text="the goal",
        refs=REFS,
    )
    assert sentences[0] == f"Of 800 sampled futures, the goal (the goal) holds in {y.mean():.0%} (Figure 0)."
    assert "input A ≤" in sentences[1] and "input B ≥" in sentences[1]
    assert f"holds in {result.summary.loc[0, 'density']:.0%} of futures" in sentences[1]


def test_joint_goal_that_never_holds_falls_back_to_the_product_that_does():
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.random((600, 3)), columns=list(EXPLORATION_SPACE)[:3])
    first = x.columns[0]
    results = x.assign(ndpr_prob_by_year=np.where(x[first] < 0.5, 0.9, 0.1), dytb_prob_by_year=0.05)
    analyses = {name: d.prim_boxes(x, d.goal_met(results, 0.5, name).to_numpy()) for name in ("both", "ndpr", "dytb")}
    assert analyses["both"].summary.empty and not analyses["ndpr"].summary.empty
    assert d.primary_goal(analyses) == "ndpr"
    scores = d.feature_scores(x, {"goal": d.goal_met(results, 0.5, "ndpr").to_numpy()}, seed=2)
    sentences = dtext.key_judgments(
        analyses,
        scores,
        results,
        goal_probability=0.5,
        labels={first: "First"},
        goal_text="both",
        refs=REFS,
    )
    text = " ".join(sentences)
    assert "holds in 0%" in sentences[0]
    assert "Dy+Tb oxide meets its part in 0% (highest probability in any future 5%)" in text
    assert "PRIM keeps no box for this goal: the goal holds in none of the 600 sampled futures, so there is no box to find." in text
    assert "the goal for NdPr oxide alone holds in" in text and "first ≤" in text
    table = d.box_table_all(analyses, {first: "First"})
    assert set(table["Goal"]) == {"NdPr oxide"} and "First" in set(table["Input"])


REFS = {"outcomes": "Figure 0", "boxes": "Table 1", "trajectory": "Figure 1", "scores": "Figure 2", "scatter": "Figure 3"}


def _judgments(result, x, y, **kwargs):
    results = pd.DataFrame({"ndpr_prob_by_year": np.where(y, 0.9, 0.1), "dytb_prob_by_year": np.where(y, 0.9, 0.1)})
    scores = d.feature_scores(x, {"goal": y}, seed=1)
    return dtext.key_judgments({"ndpr": result}, scores, results, goal_probability=0.5, labels={}, goal_text="g", refs=REFS, **kwargs)


def test_prim_keeps_the_peeled_box_when_the_smallest_box_misses_the_threshold():
    """The case that broke the briefing: a box far denser than the whole space exists, but no step of the peeling
    reaches 80%. PRIM must still peel (not return the unpeeled whole space) and the box found at the lower
    threshold must sit near the true region, labelled as such."""
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.random((1200, 5)), columns=["a", "b", "c", "e", "f"])
    inside = ((x["a"] < 0.3) & (x["b"] < 0.4)).to_numpy()
    y = np.where(inside, rng.random(len(x)) < 0.6, rng.random(len(x)) < 0.01)  # ~60% in the region, ~1% outside
    result = d.prim_boxes(x, y, threshold=0.8, lower_threshold=0.5)
    assert result.outcome == "lower" and result.threshold == 0.5
    assert len(result.trajectory) > 5, "PRIM must peel, not stop at the whole space"
    first = result.boxes.loc[result.boxes["box"] == 1].set_index("input")
    assert set(first.index) == {"a", "b"}
    assert first.loc["a", "high"] == pytest.approx(0.3, abs=0.05)
    assert first.loc["b", "high"] == pytest.approx(0.4, abs=0.1)
    row = result.summary.iloc[0]
    assert row["density"] > 5 * result.base_rate and row["coverage"] > 0.6
    assert len(result.summary) == 1  # no further boxes below the full threshold
    text = " ".join(_judgments(result, x, y, threshold=0.8))
    assert "No box reaches PRIM's 80% density threshold for the goal. The best box at a lower threshold of 50%" in text
    assert f"the goal holds in {row['density']:.0%} of futures (against {result.base_rate:.0%} overall)" in text
    assert "everywhere" not in text and "every one of" not in text
    body = dtext.prim_outcome_text(result, 0.8, {"trajectory": "Figure 1", "boxes": "Figure 2", "box_table": "Table 1"})
    assert "No step reaches 80% density for the goal" in body and "lower threshold of 50%" in body


def test_prim_says_when_not_even_the_lower_threshold_is_reached():
    rng = np.random.default_rng(12)
    x = pd.DataFrame(rng.random((1000, 3)), columns=["a", "b", "c"])
    y = np.where((x["a"] < 0.4).to_numpy(), rng.random(len(x)) < 0.25, rng.random(len(x)) < 0.02)
    result = d.prim_boxes(x, y, threshold=0.8, lower_threshold=0.6)
    assert result.outcome == "densest" and result.has_box
    first = result.boxes.loc[result.boxes["box"] == 1].set_index("input")
    assert "a" in first.index and first.loc["a", "high"] < 0.6
    text = " ".join(_judgments(result, x, y, threshold=0.8))
    assert "No box reaches PRIM's 80% density threshold for the goal, nor 60%. The densest box PRIM finds" in text


def test_prim_finds_a_clean_box_at_the_full_threshold_near_the_truth():
    rng = np.random.default_rng(13)
    x = pd.DataFrame(rng.random((1000, 4)), columns=["a", "b", "c", "e"])
    y = ((x["a"] > 0.6) & (x["c"] < 0.5)).to_numpy()
    result = d.prim_boxes(x, y, threshold=0.8)
    assert result.outcome == "box" and result.threshold == 0.8
    first = result.boxes.loc[result.boxes["box"] == 1].set_index("input")
    assert set(first.index) == {"a", "c"}
    assert first.loc["a", "low"] == pytest.approx(0.6, abs=0.1) and first.loc["c", "high"] == pytest.approx(0.5, abs=0.1)
    assert result.summary.loc[0, "density"] >= 0.8 and result.summary.loc[0, "coverage"] >= 0.8
    text = " ".join(_judgments(result, x, y))
    assert "In the box where" in text and "No box reaches" not in text


def test_prim_with_no_success_finds_no_box():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    y = np.zeros(50, dtype=bool)
    result = d.prim_boxes(x, y)
    assert result.summary.empty and result.base_rate == 0.0 and result.outcome == "nowhere"
    text = " ".join(_judgments(result, x, y))
    assert "PRIM keeps no box for this goal: the goal holds in none of the 50 sampled futures, so there is no box to find." in text


def test_prim_says_everywhere_only_when_the_goal_holds_in_every_future():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 0, 50)})
    y = np.ones(50, dtype=bool)
    result = d.prim_boxes(x, y)
    assert result.outcome == "everywhere" and not result.has_box
    text = " ".join(_judgments(result, x, y))
    assert "the goal holds in every one of the 50 sampled futures, so there is no box to find." in text
    # Most but not all futures: the whole space is already above the threshold, and the text says how many.
    y = (x["a"] > 0.1).to_numpy()
    result = d.prim_boxes(x, y, threshold=0.8)
    assert result.outcome == "everywhere"
    text = " ".join(_judgments(result, x, y))
    assert f"the goal holds in {y.mean():.0%} of the 50 sampled futures, already above the 80% density" in text
    assert "every one of" not in text
    # A rare success is never "everywhere".
    y = np.zeros(50, dtype=bool)
    y[:3] = True
    assert d.prim_boxes(x, y).outcome != "everywhere"


def test_levers_rank_among_the_inputs():
    scores = pd.DataFrame({"input": ["a", "b", "c"], "outcome": "goal", "score": [0.6, 0.3, 0.1], "rank": [1, 2, 3]})
    text = dtext.levers_text(scores, {"a": "uncertainty", "b": "lever", "c": "lever"}, {"b": "Speed", "c": "Odds"}, REFS)
    assert text == "The policy levers rank speed 2nd and odds 3rd of the 3 inputs in separating success from failure (Figure 2)."


def test_demand_cases_the_explored_scale_leaves_out(tables):
    params = Params()
    cases = d.demand_cases_outside(tables.demand, params)
    central = cases.loc[cases["case"] == "central"]
    assert central["ratio"].tolist() == pytest.approx([1.0, 1.0]) and not central["outside"].any()
    spec = EXPLORATION_SPACE["demand_scale"]
    assert (cases["outside"] == ((cases["ratio"] < spec.low) | (cases["ratio"] > spec.high))).all()
    text = dtext.demand_cases_text(cases, spec.low, spec.high)
    for row in cases.loc[cases["outside"]].itertuples(index=False):
        assert f"{row.ratio:.2g} times" in text
    covered = cases.assign(outside=False)
    assert "covers all three demand cases" in dtext.demand_cases_text(covered, spec.low, spec.high)


def test_scenario_run_outcomes_are_the_timeline_run(tables):
    from rare_earth_lib.models import timeline as tl

    params = Params(n_trials=300)
    row = d.scenario_run_outcomes(params, tables).iloc[0]
    run = tl.run_timeline(params, projects=tables.projects, analogs=tables.build_analogs, demand=tables.demand, as_of=tables.as_of)
    for product in tl.PRODUCTS:
        key = tl.PRODUCT_KEYS[product]
        assert row[f"{key}_prob_by_year"] == tl.coverage_summary(run.result, product, params.probability_by_year)["prob_by_year"]
    assert row["n_trials"] == 300


def test_trial_precision():
    assert dtext.trial_pct(0.998, 400) == "more than 99%"
    assert dtext.trial_pct(0.0332, 10000) == "3%"
    assert dtext.trial_pct(0.004, 10000) == "less than 1%"
    assert dtext.trial_pct(1.0, 400) == "100% of 400 trials"
    assert dtext.monte_carlo_error(0.5, 400) == pytest.approx(0.025)


# --- Dask (slow: starts local clusters) ------------------------------------------------------


def _run(sample, tables, client, chunk_size, n_trials=200):
    fixed = d.fixed_inputs(small())
    return d.evaluate_scenarios(sample, fixed, tables, n_trials=n_trials, probability_by_year=2030, client=client, chunk_size=chunk_size)


def _workers_that_ran(stream) -> set[str]:
    return {task["worker"] for task in stream.data if task["key"].startswith("evaluate_chunk")}


@pytest.mark.slow
def test_results_do_not_depend_on_the_workers_even_when_one_is_killed_mid_run(tables):
    """Two claims on one ``LocalCluster`` of two worker processes, started by ``discovery.connect`` as a notebook would
    (one cluster for both: starting one, with each worker's imports, costs more than the two checks):
    two workers give the same results as one, and a worker killed mid-run is survived with identical results."""
    with d.connect(None, n_workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        _two_workers_give_the_same_results_as_one(tables, client)
        _a_worker_killed_mid_run_is_survived_with_identical_results(tables, client)


def _two_workers_give_the_same_results_as_one(tables, client) -> None:
    """Inline, on one worker (the whole sample is one task) and spread over two worker processes (chunks of 4): equal."""
    from distributed import get_task_stream

    sample = d.sample_space(30, 11)
    inline = _run(sample, tables, None, 30)
    with get_task_stream(client) as whole:
        one = _run(sample, tables, client, 30)
    with get_task_stream(client) as spread:
        two = _run(sample, tables, client, 4)
    assert len(_workers_that_ran(whole)) == 1 and len(_workers_that_ran(spread)) == 2
    pd.testing.assert_frame_equal(one, inline)
    pd.testing.assert_frame_equal(two, inline)


def _a_worker_killed_mid_run_is_survived_with_identical_results(tables, client) -> None:
    """A worker process killed (SIGKILL) while it runs a chunk: Dask re-runs its chunks elsewhere, the results equal the
    inline ones, and the killed process is gone."""
    sample = d.sample_space(40, 12)
    expected = _run(sample, tables, None, 40, n_trials=400)
    pids = client.run(os.getpid)
    outcome: dict = {}

    def evaluate():
        try:
            outcome["result"] = _run(sample, tables, client, 2, n_trials=400)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=evaluate)
    thread.start()
    deadline = time.monotonic() + 120
    victim = None
    while time.monotonic() < deadline and thread.is_alive():
        busy = {w: keys for w, keys in client.processing().items() if keys}
        if busy and any(k.startswith("evaluate_chunk") for keys in busy.values() for k in keys):
            victim = sorted(busy)[0]
            break
        time.sleep(0.05)
    assert victim is not None, "no chunk was running to interrupt"
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    after = client.run(os.getpid)
    assert pids[victim] not in after.values(), "the killed worker process is gone"
    pd.testing.assert_frame_equal(outcome["result"], expected)
