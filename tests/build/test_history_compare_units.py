"""Formatting of metrics, the build history's memory, scenario comparisons (pure parts; no kernels)."""

from __future__ import annotations

import json

import pytest

from rare_earth_lib.build import cli, compare, formatting, history, index
from rare_earth_lib.build import pipeline as build


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("public_money_musd", 4940.0, "4,940 US$ m"),
        ("ndpr_capacity_today_tpa", 12345.6, "12,346 t/yr"),
        ("china_magnet_share", 0.9, "90%"),
        ("licence_exposure_mean", 0.0123, "1.2%"),
        ("ndpr_coverage_year_p50", 2031, "2031"),
        ("ndpr_coverage_year_p50", None, "—"),
        ("overall_feasibility_index", 47.26, "47 of 100"),
        ("bottleneck_pillar", "time", "Time"),  # ids by their reader's names
        ("bottleneck_pillar", "policy_risk", "Policy risk"),
        ("controls_regime", "suspension_extended", "Suspension extended"),
        ("scenario_seen", "base", "base"),  # other text as it is
        ("cost_gap_musd_per_year", 88.44, "88.4 US$ m/yr"),
    ],
)
def test_metrics_read_with_units(key, value, text):
    assert formatting.with_unit(key, value) == text


def test_labels_and_differences():
    assert formatting.label_of("ndpr_coverage_year_p50") == "NdPr coverage year median"
    assert formatting.format_difference("china_magnet_share", 0.9, 0.85) == "−5.0 pp"
    assert formatting.format_difference("public_money_musd", 100.0, 350.0) == ["+250", "US$", "m"][0]
    assert formatting.format_difference("controls_regime", "a", "b") == "changed"
    assert formatting.format_difference("ndpr_coverage_year_p50", None, 2031) == "changed"


def _summary(jobs, when):
    return {"finished_at": when, "seconds": 1.0, "counts": {}, "jobs": jobs}


def test_history_keeps_a_failure_until_it_builds_again(tmp_path):
    fail = {"briefing": "x", "scenario": "base", "status": "failed", "error": "x × base: cell 3 raised"}
    history.append(tmp_path, history.entry(_summary([fail, {"briefing": "y", "scenario": "base", "status": "built"}], "t1")))
    history.append(tmp_path, history.entry(_summary([{"briefing": "y", "scenario": "base", "status": "cached"}], "t2")))
    (tmp_path / history.HISTORY_FILE).open("a").write("{torn line\n")
    history.append(tmp_path, history.entry(_summary([fail], "t3")))
    failing = history.still_failing(history.read(tmp_path))
    assert failing == [{"briefing": "x", "scenario": "base", "error": fail["error"], "since": "t1", "last_tried": "t3"}]
    history.append(tmp_path, history.entry(_summary([{"briefing": "x", "scenario": "base", "status": "built"}], "t4")))
    assert history.still_failing(history.read(tmp_path)) == []
    assert len(history.read(tmp_path)) == 4


def test_rebuild_reason_is_truthful():
    prev = {"inputs": {"notebook": "a"}, "formats": ["html"], "parameters": {}, "metrics": {}}
    cur = {"inputs": {"notebook": "a"}, "formats": ["html", "pdf"], "parameters": {}, "metrics": {}}
    assert index.changes(prev, cur)["inputs"] == ["format pdf not in the last build"]
    summary = {
        "seconds": 1.0,
        "counts": {"built": 1, "cached": 0, "failed": 0},
        "jobs": [{"briefing": "b", "scenario": "s", "status": "built", "changes": {"inputs": [], "metrics": {}}}],
    }
    assert "inputs changed: none" not in index.format_summary(summary)
    assert index.NO_INPUT_CHANGED in index.format_summary(summary)


def _bar(rows, color=False):
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"name": "d1"},
        "datasets": {"d1": rows},
        "mark": {"type": "bar"},
        "encoding": {"x": {"field": "v", "type": "quantitative"}, "y": {"field": "k", "type": "nominal"}},
    }
    if color:
        spec["encoding"]["color"] = {"field": "k", "type": "nominal"}
    return spec


def test_overlay_shares_axes_or_refuses():
    a, b = _bar([{"k": "x", "v": 1}]), _bar([{"k": "x", "v": 2}, {"k": "y", "v": 3}])
    combined = compare.overlay(a, b, "base", "other")
    assert combined["datasets"]["compare-0"] == [
        {"k": "x", "v": 1, "scenario": "base"},
        {"k": "x", "v": 2, "scenario": "other"},
        {"k": "y", "v": 3, "scenario": "other"},
    ]
    assert combined["encoding"]["yOffset"]["field"] == "scenario" and combined["encoding"]["color"]["field"] == "scenario"
    assert compare.overlay(_bar([], color=True), _bar([], color=True), "a", "b")["encoding"]["opacity"]["field"] == "scenario"
    other_axis = _bar([{"k": "x", "v": 1}])
    other_axis["encoding"]["x"]["field"] = "w"
    assert compare.overlay(a, other_axis, "a", "b") is None
    assert compare.overlay(a, {"hconcat": [a]}, "a", "b") is None
    line = {**_bar([{"k": "x", "v": 1}], color=True), "mark": "line"}
    assert compare.overlay(line, line, "a", "b")["encoding"]["strokeDash"]["field"] == "scenario"


def test_compare_of_unbuilt_scenarios_is_bad_input(tmp_path, capsys):
    for d in ("notebooks", "params", "reports/base"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "reports" / "base" / "b.manifest.json").write_text(json.dumps({"schema": 1}))
    assert cli.main(["--root", str(tmp_path), "compare", "base", "other"]) == build.EXIT_BAD_INPUT
    assert "nothing built under reports/other/" in capsys.readouterr().err
    assert cli.main(["--root", str(tmp_path), "compare", "base", "base"]) == build.EXIT_BAD_INPUT
    assert not (tmp_path / "reports" / "compare").exists()


def test_a_damaged_history_is_repaired_once_with_a_warning_naming_the_file(tmp_path):
    good = {"finished_at": "2026-11-30T06:15:00", "jobs": [{"briefing": "tiny", "scenario": "base", "status": "built"}]}
    path = tmp_path / history.HISTORY_FILE
    path.write_text(json.dumps(good) + "\n" + '{"torn": tru\n' + '["not", "ours"]\n', encoding="utf-8")
    warnings: list[str] = []
    assert history.heal(tmp_path, warnings.append) == 2
    assert len(warnings) == 1 and "history.jsonl" in warnings[0] and "2 unreadable" in warnings[0]
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [good]
    assert history.heal(tmp_path, warnings.append) == 0 and len(warnings) == 1
    assert history.read(tmp_path) == [good]


def test_a_comparison_is_drawn_as_soon_as_both_scenarios_are_built(tmp_path, monkeypatch):
    """While the last jobs run, a scenario's page against base is drawn once every job of both was built in this build;
    a failed job leaves its scenario's page to the index's update at the end."""
    from types import SimpleNamespace

    drawn = []
    monkeypatch.setattr(build, "_update_comparison", lambda reports, scenario: drawn.append(scenario))
    (tmp_path / "base").mkdir()

    def result(scenario, status="built"):
        return SimpleNamespace(job=SimpleNamespace(scenario=scenario, reports=tmp_path), status=status)

    todo = [r.job for r in (result(s) for s in ("base", "base", "high", "high", "low", "broken"))]
    early = build.EarlyComparisons(tmp_path, todo)
    early.done(result("high"))
    early.done(result("base"))
    early.done(result("high"))
    early.pool.shutdown(wait=True)
    assert drawn == [], "base is not built yet"
    early = build.EarlyComparisons(tmp_path, todo)
    for scenario, status in [("high", "built"), ("base", "built"), ("broken", "failed"), ("base", "built")]:
        early.done(result(scenario, status))
    early.close()
    assert drawn == [], "high still has a job to run, broken failed"
    early = build.EarlyComparisons(tmp_path, todo)
    for scenario in ("base", "base", "high", "low", "high"):
        early.done(result(scenario))
    early.close()
    assert sorted(drawn) == ["high", "low"] and len(drawn) == 2, "each page once, when both scenarios are complete"
