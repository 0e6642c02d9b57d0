"""The alliance-feasibility briefing runs under every scenario and says what the library computes.

Each scenario's notebook is executed once with papermill (as the build does: parameters validated
from ``params/<scenario>.yaml``); the same computation is then repeated in this process with the
library, and the executed outputs are checked against it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from rare_earth_lib.build import render
from rare_earth_lib.data import package as dp
from rare_earth_lib.models import scorecard, timeline
from rare_earth_lib.parameters import validate_scenario
from rare_earth_lib.parameters.alliance_feasibility import Params

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "alliance_feasibility.ipynb"
SCENARIOS = sorted(p.stem for p in (ROOT / "params").glob("*.yaml"))

pytestmark = pytest.mark.slow


def scenario_params(scenario: str, **overrides) -> Params:
    validated = validate_scenario(ROOT / "params" / f"{scenario}.yaml", ["alliance_feasibility"])["alliance_feasibility"]
    return validated.model_copy(update=overrides) if overrides else validated


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Lazily executed notebooks, keyed by a label; each is run at most once per test session."""
    import papermill as pm

    cache: dict[str, nbformat.NotebookNode] = {}
    folder = tmp_path_factory.mktemp("alliance_briefing")

    def run(label: str, params: Params) -> nbformat.NotebookNode:
        if label not in cache:
            out = folder / f"{label}.ipynb"
            pm.execute_notebook(
                str(NOTEBOOK),
                str(out),
                parameters=params.model_dump(),
                kernel_name="python3",
                cwd=str(NOTEBOOK.parent),
                progress_bar=False,
            )
            cache[label] = nbformat.read(out, as_version=4)
        return cache[label]

    return run


@pytest.fixture(scope="module")
def tables():
    return {name: dp.load(name) for name in scorecard.ASSESSMENT_TABLES}


def expected(params: Params, tables) -> tuple[scorecard.Assessment, dict]:
    """The library's own answer for ``params`` (the computation the notebook makes)."""
    run = timeline.run_timeline(
        params, projects=tables["projects"], analogs=dp.load("build_analogs"), demand=tables["demand"], as_of=dp.as_of()
    )
    coverage = {p: timeline.coverage_summary(run.result, p, params.probability_by_year) for p in timeline.PRODUCTS}
    return scorecard.assess(tables, params, dp.as_of(), {p: c["p50"] for p, c in coverage.items()}), coverage


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
def test_key_judgments_carry_the_numbers_the_library_computes(scenario, executed, tables):
    params = scenario_params(scenario)
    nb = executed(scenario, params)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    result, coverage = expected(params, tables)
    F = result.figures
    items = key_judgments(nb)
    assert 3 <= len(items) <= 6
    assert all(re.search(r"\((Figure|Table) \d+\)", item) for item in items), "every judgment points to a figure or table"
    text = " ".join(items)
    numbers = [
        f"{F['china_separation_share']:.0%} of rare-earth separation",
        f"{F['china_heavy_separation_share']:.0%} of heavy rare-earth separation",
        f"{F['alliance_separation_share']:.0%}",
        f"index is {F['overall_index']:.0f} out of 100",
        f"{F['bottleneck_label'].lower()} pillar at {F['bottleneck_score']:.0f}",
        f"{F['ndpr_self_sufficiency']:.0%} of the alliance's estimated NdPr oxide demand",
        f"{F['licence_share_heavy_separation']:.0%} of the alliance's heavy rare-earth supply",
        f"{F['licence_share_magnet']:.0%} of its magnet supply",
        f"US${F['subsidy_musd_per_year']:,.0f} million a year",
        f"US${F['floor_cost_musd_per_year']:,.0f} million a year",
    ]
    for product in ("ndpr_oxide", "dytb_oxide"):
        p50 = coverage[product]["p50"]
        numbers.append(str(p50) if p50 is not None else f"not before {params.horizon_year}")
    missing = [n for n in numbers if n not in text]
    assert not missing, f"key judgments lack {missing}: {text}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_metrics_match_the_library(scenario, executed, tables):
    params = scenario_params(scenario)
    metrics = render.notebook_metrics(executed(scenario, params))
    result, coverage = expected(params, tables)
    assert metrics["overall_feasibility_index"] == pytest.approx(round(result.overall_index, 2))
    assert metrics["bottleneck_pillar"] == result.bottleneck
    assert metrics["china_separation_share"] == pytest.approx(result.figures["china_separation_share"])
    assert metrics["cost_gap_musd_per_year"] == pytest.approx(round(result.figures["subsidy_musd_per_year"], 1))
    for row in result.exposure.itertuples():
        assert metrics[f"licence_exposure_{row.stage}"] == pytest.approx(round(row.licence_share, 4))
    assert metrics["ndpr_coverage_year_p50"] == coverage["ndpr_oxide"]["p50"]
    assert metrics["controls_regime"] == params.controls_regime


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sources_appendix_lists_every_source_of_the_rows_shown(scenario, executed, tables):
    params = scenario_params(scenario)
    nb = executed(scenario, params)
    result, _ = expected(params, tables)
    shown = scorecard.briefing_tables(result, tables)
    used = ids_of(result.chain, result.scorecard, result.exposure, result.cost_gap, *shown.values())
    listed = appendix_ids(nb)
    assert used, "the briefing shows sourced rows"
    assert not used - listed, f"sources shown but not in the appendix: {sorted(used - listed)}"
    known = set(dp.load("sources")["source_id"])
    assert listed <= known, f"appendix ids not in the sources table: {sorted(listed - known)}"


def test_changing_a_scenario_parameter_moves_the_scorecard(executed):
    base = render.notebook_metrics(executed("base", scenario_params("base")))
    reimposed = render.notebook_metrics(executed("controls_reimposed", scenario_params("controls_reimposed")))
    assert reimposed["licence_exposure_mean"] > base["licence_exposure_mean"]
    assert reimposed["overall_feasibility_index"] < base["overall_feasibility_index"]
    reversal = render.notebook_metrics(executed("us_policy_reversal", scenario_params("us_policy_reversal")))
    assert reversal["pillar_score_policy_risk"] < base["pillar_score_policy_risk"]
    assert reversal["public_money_musd"] < base["public_money_musd"]
    # one parameter changed by hand: more reliance on Chinese technology lowers the technology pillar
    tech = render.notebook_metrics(executed("base_more_chinese_tech", scenario_params("base", technology_derived_share=0.5)))
    assert tech["pillar_score_technology"] < base["pillar_score_technology"]
    assert tech["overall_feasibility_index"] < base["overall_feasibility_index"]
