"""The alliance-feasibility notebook says what the library computes (two scenarios, executed by the session's
shared real build of every scenario, tests/conftest.py ``real_build``).

The words and tables themselves are unit-tested on ``report/text`` (tests/report/test_text_feasibility.py);
here the executed notebook is checked against the library's own run: metrics, key judgments pointing to
figures, and a sources appendix that lists every source of the rows shown.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from conftest import EVERY_BRIEFING, EVERY_SCENARIO, computed_once

from rare_earth_lib.build import render
from rare_earth_lib.data import package as dp
from rare_earth_lib.models import scorecard
from rare_earth_lib.parameters import validate_scenario
from rare_earth_lib.parameters.alliance_feasibility import Params
from rare_earth_lib.report.text import feasibility_tables as tables_text

ROOT = Path(__file__).resolve().parents[2]
BRIEFING = "alliance_feasibility"
SCENARIOS = ("base", "controls_reimposed")

pytestmark = pytest.mark.slow


def scenario_params(scenario: str, **overrides) -> Params:
    validated = validate_scenario(ROOT / "params" / f"{scenario}.yaml", ["alliance_feasibility"])["alliance_feasibility"]
    return validated.model_copy(update=overrides) if overrides else validated


@pytest.fixture(scope="module")
def executed(real_build):
    """The executed notebook of a scenario from the shared real build of every scenario (built once per test run, for
    this module, the refining timeline's and the accessibility test)."""

    def read(scenario: str) -> nbformat.NotebookNode:
        return nbformat.read(real_build(EVERY_SCENARIO, EVERY_BRIEFING) / scenario / f"{BRIEFING}.ipynb", as_version=4)

    return read


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The library's own run per scenario (the one call the notebook makes), once per test run."""

    def run(scenario: str) -> scorecard.FeasibilityRun:
        return computed_once(tmp_path_factory, f"feasibility_run_{scenario}", lambda: scorecard.run_feasibility(scenario_params(scenario)))

    return run


def html_outputs(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html")
            if markup:
                parts.append(markup if isinstance(markup, str) else "".join(markup))
    return "\n".join(parts)


def key_judgments(nb: nbformat.NotebookNode) -> list[str]:
    page = html_outputs(nb)
    section = re.search(r'<section class="key-judgments">(.*?)</section>', page, re.S)
    assert section, "the briefing shows a key-judgments section"
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in re.findall(r"<li>(.*?)</li>", section.group(1), re.S)]


def appendix_ids(nb: nbformat.NotebookNode) -> set[str]:
    page = html_outputs(nb)
    section = re.search(r'<section class="sources">(.*?)</section>', page, re.S)
    assert section, "the briefing ends with a sources appendix"
    return set(re.findall(r'<li id="source-([^"]+)"', section.group(1)))


def ids_of(*frames) -> set[str]:
    return {i for frame in frames for value in frame["source_ids"].dropna() for i in str(value).split(";") if i}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_executed_briefing_matches_the_library(scenario, executed, library):
    params = scenario_params(scenario)
    nb = executed(scenario)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    run = library(scenario)
    result, F = run.assessment, run.assessment.figures
    items = key_judgments(nb)
    assert 3 <= len(items) <= 6
    assert all(re.search(r"\((Figure|Table) \d+\)", item) for item in items), "every judgment points to a figure or table"
    assert "In one minute" in html_outputs(nb)
    metrics = render.notebook_metrics(nb)
    assert metrics["overall_feasibility_index"] == pytest.approx(round(result.overall_index, 2))
    assert metrics["bottleneck_pillar"] == result.bottleneck
    assert metrics["ndpr_capacity_today_tpa"] == pytest.approx(F["ndpr_capacity_today_tpa"])
    assert metrics["dytb_capacity_today_tpa"] == pytest.approx(F["dytb_capacity_today_tpa"])
    for row in result.exposure.itertuples():
        assert metrics[f"licence_exposure_{row.stage}"] == pytest.approx(round(row.licence_share, 4))
    assert metrics["ndpr_coverage_year_p50"] == run.coverage["ndpr_oxide"]["p50"]
    assert metrics["controls_regime"] == params.controls_regime
    shown = [
        getattr(tables_text, name)(result)
        for name in (
            "chain_table",
            "capacity_table",
            "self_sufficiency_table",
            "branches_table",
            "coding_table",
            "prices_table",
            "floors_table",
        )
    ]
    used = ids_of(result.chain, result.scorecard, result.exposure, *shown)
    listed = appendix_ids(nb)
    assert not used - listed, f"sources shown but not in the appendix: {sorted(used - listed)}"
    known = set(dp.load("sources")["source_id"])
    assert listed <= known, f"appendix ids not in the sources table: {sorted(listed - known)}"


def test_reimposed_controls_raise_exposure_in_the_executed_briefing(executed):
    base = render.notebook_metrics(executed("base"))
    reimposed = render.notebook_metrics(executed("controls_reimposed"))
    assert reimposed["licence_exposure_mean"] > base["licence_exposure_mean"]
    assert reimposed["overall_feasibility_index"] < base["overall_feasibility_index"]
