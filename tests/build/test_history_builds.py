"""Index and summary remember across builds; an HTML-only build leaves no stale PDF; a --set variant, compare and the
index's links."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli, snapshot

pytestmark = pytest.mark.slow


def _summary(project: Path) -> dict:
    return json.loads((project / "reports" / "build-summary.json").read_text())


def _history(project: Path) -> list[dict]:
    return [json.loads(line) for line in (project / "reports" / "history.jsonl").read_text().splitlines()]


def _set(project: Path, scenario: str, line: str) -> None:
    path = project / "params" / f"{scenario}.yaml"
    path.write_text(path.read_text() + f"\n{line}\n")


def test_failure_stays_marked_through_a_partial_build_until_it_builds_again(built_copy):
    project = built_copy  # its first build (base and controls_reimposed) is in its history
    original = (project / "params" / "base.yaml").read_text()
    _set(project, "base", "fail_in_cell: true")
    assert run_cli(project, "build", "--scenario", "base", "--format", "html").returncode == 1
    # a partial build of another scenario, then a run where everything selected is up to date
    result = run_cli(project, "build", "--scenario", "controls_reimposed", "--format", "html")
    assert result.returncode == 0
    assert "STILL FAILING tiny × base" in result.stdout
    summary = _summary(project)
    assert summary["counts"] == {"built": 0, "cached": 1, "failed": 0}
    assert [(f["briefing"], f["scenario"]) for f in summary["still_failing"]] == [("tiny", "base")]
    page = (project / "reports" / "index.html").read_text()
    assert "tiny × base: FAILED since" in page and "asked to fail" in page
    assert "last build FAILED" in page
    assert [len(h["jobs"]) for h in _history(project)] == [2, 1, 1]
    assert "Recent builds" in page and page.count("<tr><td>20") == 3
    (project / "params" / "base.yaml").write_text(original)
    assert run_cli(project, "build", "--scenario", "base", "--format", "html").returncode == 0
    assert _summary(project)["still_failing"] == []
    assert "FAILED" not in (project / "reports" / "index.html").read_text()


def test_html_only_build_removes_the_older_pdf_and_the_next_build_says_why(project):
    assert run_cli(project, "build", "--scenario", "base").returncode == 0
    pdf = project / "reports" / "base" / "tiny.pdf"
    assert pdf.is_file()
    _set(project, "base", "multiplier: 2")
    result = run_cli(project, "build", "--scenario", "base", "--format", "html")
    assert result.returncode == 0
    assert not pdf.exists(), "a PDF older than its HTML stays behind"
    assert "removed reports/base/tiny.pdf" in result.stdout
    result = run_cli(project, "build", "--scenario", "base")
    assert result.returncode == 0 and pdf.is_file()
    assert "format pdf not in the last build" in result.stdout
    assert "inputs changed: none" not in result.stdout
    assert "format pdf not in the last build" in (project / "reports" / "index.html").read_text()


def test_set_publishes_a_named_variant_and_compare_writes_a_page_the_index_links(built_copy):
    """``build --set`` publishes a variant of base under its own name, with its overrides in the manifest and base's
    briefings untouched; ``compare`` then writes the page of the two, which the index links."""
    project = built_copy  # base already built
    base = snapshot(project / "reports" / "base")
    result = run_cli(project, "build", "--set", "multiplier=2", "--format", "html")
    assert result.returncode == 0, result.stderr + result.stdout
    folder = project / "reports" / "base+multiplier=2"
    manifest = json.loads((folder / "tiny.manifest.json").read_text())
    assert manifest["scenario"] == "base+multiplier=2"
    assert manifest["overrides"] == {"multiplier": 2}
    assert manifest["parameters"]["multiplier"] == 2 and manifest["parameters"]["scenario"] == "base"
    assert manifest["metrics"]["scenario_seen"] == "base"
    assert (folder / "tiny.html").is_file()
    assert snapshot(project / "reports" / "base") == base, "the plain base scenario is not touched"
    page = (project / "reports" / "compare" / "base--base+multiplier=2.html").read_text()
    index_page = (project / "reports" / "index.html").read_text()
    assert 'href="compare/base--base+multiplier=2.html"' in index_page
    assert "Base case with multiplier=2" in index_page, "a --set variant says what it changed in its title"
    result = run_cli(project, "compare", "base", "base+multiplier=2", "--briefing", "tiny")
    assert result.returncode == 0, result.stderr
    page = (project / "reports" / "compare" / "base--base+multiplier=2.html").read_text()
    params = page.split("Parameters that differ")[1].split("Headline metrics")[0]
    assert re.search(r"<th>multiplier</th><td>1.0</td><td>2.0</td>", params)
    metrics = page.split("Headline metrics")[1]
    assert re.search(
        r"Max scaled share</th><td>%</td><td class=\"num\">\d+%</td><td class=\"num\">\d+%</td><td class=\"num\">\+[\d.]+ pp</td>", metrics
    )
    assert "(both scenarios). Scaled shares by stage" in page and "<svg" in page
    assert "Not overlaid" not in page
    bad = run_cli(project, "compare", "base", "us_policy_reversal")
    assert bad.returncode == 2 and "nothing built under reports/us_policy_reversal/" in bad.stderr
