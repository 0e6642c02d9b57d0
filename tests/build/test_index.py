"""The build summary: what changed between two manifests and how it is printed for a cron mail."""

from rare_earth_lib.build import index


def _manifest(params=None, metrics=None, tables=None):
    return {
        "inputs": {
            "notebook": "n1",
            "library": "l1",
            "parameters": "p1",
            "tables": tables or {"plants": "t1"},
            "versions": {"pandas": "2.2"},
        },
        "parameters": params or {"seed": 1},
        "metrics": metrics or {"p50": 2032},
    }


def test_changes_names_the_table_parameter_and_metric_that_moved():
    old = _manifest()
    new = _manifest(params={"seed": 2}, metrics={"p50": 2033}, tables={"plants": "t2"})
    new["inputs"]["parameters"] = "p2"
    ch = index.changes(old, new)
    assert "parameters" in ch["inputs"]
    assert "data table plants" in ch["inputs"]
    assert "parameter seed: 1 -> 2" in ch["inputs"]
    assert ch["metrics"] == {"p50": [2032, 2033]}


def test_unchanged_manifest_reports_nothing():
    assert index.changes(_manifest(), _manifest()) == {"inputs": [], "metrics": {}}


def _summary(changes):
    class Job:
        briefing, scenario = "timeline", "base"

    class Result:
        job, status, seconds, error = Job(), "built", 1.0, None

    r = Result()
    r.changes = changes
    return index.summary([r], 1.0)


def test_first_build_is_one_line_not_a_list_of_none_to_value():
    text = index.format_summary(_summary(index.changes(None, _manifest(metrics={"a": 1, "b": 2}))))
    assert "first build, 2 headline metrics" in text
    assert "none ->" not in text


def test_rebuild_prints_each_moved_metric():
    ch = index.changes(_manifest(metrics={"p50": 2032}), _manifest(metrics={"p50": 2034}))
    text = index.format_summary(_summary(ch))
    assert "p50: 2032 -> 2034" in text


def test_index_page_lists_a_first_build_without_metric_noise():
    manifest = _manifest(metrics={"a": 1})
    manifest.update(
        briefing="timeline", scenario="base", built_at="2026-11-29", data_as_of="2026-05-27", outputs={"html": {"file": "timeline.html"}}
    )
    page = index.index_html([manifest], _summary(index.changes(None, manifest)))
    assert "<strong>timeline × base</strong>: first build</li>" in page
    assert "none →" not in page
    assert page.index('href="base/timeline.html"') < page.index("What changed since the last build")
