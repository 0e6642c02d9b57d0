"""The refining-timeline briefing runs under every scenario and says what the library computes.

Reads the executed notebooks/refining_timeline.ipynb of the session's real build of each scenario in params/
(tests/conftest.py ``real_build``, shared with the other modules that need built briefings), and the notebook run
by hand with papermill on its defaults, which are the base scenario's values (``hand_run``); then checks the executed notebooks: no errors, the recorded
headline metrics equal the library's numbers for that scenario, the key judgments contain those numbers, the
scenarios are ordered as they are built to be, and the same seed gives the same numbers in the build and in a
hand run.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from pathlib import Path

import nbformat
import pytest
from conftest import BUILD_DATE, computed_once, hand_run

from rare_earth_lib import parameters
from rare_earth_lib.build import render
from rare_earth_lib.data import package as dp
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.report.text.timeline import share_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BRIEFING = "refining_timeline"
NOTEBOOK = ROOT / "notebooks" / f"{BRIEFING}.ipynb"
SCENARIOS = sorted(p.stem for p in (ROOT / "params").glob("*.yaml"))
RUNS = [*SCENARIOS, "base#2"]


def scenario_params(scenario: str):
    return parameters.validate_scenario(ROOT / "params" / f"{scenario}.yaml", ["refining_timeline"])["refining_timeline"]


@pytest.fixture(scope="module")
def executed(real_build, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """Every scenario's executed notebook from the shared real build, and base run a second time by hand ("base#2",
    conftest ``hand_run``, shared with tests/report/test_notebooks.py)."""
    reports = real_build(tuple(SCENARIOS), (BRIEFING,))
    out = {scenario: nbformat.read(reports / scenario / f"{BRIEFING}.ipynb", as_version=4) for scenario in SCENARIOS}
    out["base#2"] = hand_run(tmp_path_factory, BRIEFING)  # no parameters: the defaults, which are base's values
    return out


@pytest.fixture(scope="module")
def library_headlines(tmp_path_factory) -> dict[str, dict]:
    """The headline figures computed in the test process, straight from the library (once per test run)."""

    def compute() -> dict[str, dict]:
        tables = {name: dp.load(name) for name in tl.BRIEFING_TABLES}
        today = dt.date.fromisoformat(BUILD_DATE)
        return {s: tl.briefing_results(scenario_params(s), tables, as_of=dp.as_of(), today=today).headline for s in SCENARIOS}

    return computed_once(tmp_path_factory, "refining_timeline_library_headlines", compute)


def key_judgments_text(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            markup = markup if isinstance(markup, str) else "".join(markup)
            if 'class="key-judgments"' in markup:
                return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    raise AssertionError("no key judgments in the executed notebook")


@pytest.mark.parametrize("run", RUNS)
def test_runs_without_errors_and_records_metrics(executed, run):
    nb = executed[run]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    metrics = render.notebook_metrics(nb)
    for key in (
        "ndpr_coverage_year_p50",
        "dytb_coverage_year_p50",
        "ndpr_prob_by_2030",
        "dytb_prob_by_2030",
        "hindcast_coverage_rate",
        "largest_driver",
        "sobol_n_evaluations",
        "sobol_top_input_dytb_coverage_year_p50",
        "sobol_top_total_dytb_coverage_year_p50",
        "sobol_top_input_ndpr_coverage_year_p50",
        "china_refining_share_2030_p50",
        "china_refining_share_2035_p50",
        "iea_china_refining_share_2030",
    ):
        assert key in metrics


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_metrics_equal_the_library_numbers(executed, library_headlines, scenario):
    assert render.notebook_metrics(executed[scenario]) == library_headlines[scenario]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_key_judgments_state_the_library_numbers(executed, library_headlines, scenario):
    text = " ".join(key_judgments_text(executed[scenario]).split())
    head = library_headlines[scenario]
    horizon = head["horizon_year"]
    for key, label in (("ndpr", "NdPr oxide"), ("dytb", "Dy+Tb oxide")):
        years = ", ".join(f"P{q} {tl.year_text(head[f'{key}_coverage_year_p{q}'], horizon)}" for q in (10, 50, 90))
        assert f"({years})" in text, (label, years)
        never = f"{share_text(head[f'{key}_share_never_reached'])} of trials never reach it by {horizon}"
        assert never in text
        # one headline statistic: the median over all trials with its percentiles leads, unless most trials never
        # get there, when the never share leads
        sentence = text[text.index(f"{label}:") :]
        if sentence.startswith(f"{label}: plants already producing"):
            pass  # a year under way: a reading of today's plants, its own wording
        elif head[f"{key}_share_never_reached"] >= 0.5:
            assert sentence.index(never) < sentence.index(f"({years})")
        else:
            assert sentence.index(f"({years})") < sentence.index(never)
        assert "most likely" not in sentence.split("(Figure")[0]
    assert f"{share_text(head['ndpr_prob_by_2030'])} for NdPr and {share_text(head['dytb_prob_by_2030'])} for Dy+Tb" in text
    assert f"{head['coverage_threshold']:.0%} of estimated alliance" in text
    if head["largest_driver"]:
        assert head["largest_driver"][1:] in text
    if head["hindcast_coverage_rate"] is not None:
        assert f"{head['hindcast_n_inside']} of {head['hindcast_n_decided']} decided outcomes ({head['hindcast_coverage_rate']:.0%}" in text


def _p50(metrics: dict, product: str) -> float:
    value = metrics[f"{product}_coverage_year_p50"]
    return math.inf if value is None else value  # never within the horizon counts as latest


@pytest.mark.parametrize("product", ["ndpr", "dytb"])
def test_scenarios_are_ordered_as_built(executed, product):
    metrics = {s: render.notebook_metrics(executed[s]) for s in SCENARIOS}
    assert _p50(metrics["accelerated_alliance"], product) <= _p50(metrics["base"], product)
    assert _p50(metrics["base"], product) <= _p50(metrics["us_policy_reversal"], product)


def test_same_seed_same_numbers(executed):
    first, second = executed["base"], executed["base#2"]
    assert render.notebook_metrics(first) == render.notebook_metrics(second)
    assert key_judgments_text(first) == key_judgments_text(second)
