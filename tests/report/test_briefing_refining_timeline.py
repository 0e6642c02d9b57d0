"""The refining-timeline briefing runs under every scenario and says what the library computes.

Reads the executed notebooks/refining_timeline.ipynb of every scenario from the session's real build of every
scenario (tests/conftest.py ``real_build``, the build the alliance-feasibility and accessibility tests read), and the
notebook run by hand with papermill on its defaults, which are the base scenario's values (``hand_run``). Checks: no
errors and every headline metric recorded; for base and for controls_reimposed (whose parameters differ from the
defaults and move the control channels) the recorded metrics equal the library's numbers for that scenario
(``tl.briefing_results``, the notebook's one call) and the key judgments are word for word those report/text builds
from the library's results; in every scenario the key judgments state the recorded numbers and the methods state the
scenario's own switches; the scenarios are ordered as they are built to be (accelerated <= base <= US policy
reversal); and the same seed gives the same numbers in the build and in a hand run.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from pathlib import Path

import nbformat
import pytest
from conftest import BUILD_DATE, EVERY_BRIEFING, EVERY_SCENARIO, briefing_text, computed_once, hand_run

from rare_earth_lib import parameters
from rare_earth_lib.build import render
from rare_earth_lib.data import package as dp
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.report.text.timeline import share_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BRIEFING = "refining_timeline"
NOTEBOOK = ROOT / "notebooks" / f"{BRIEFING}.ipynb"
SCENARIOS = EVERY_SCENARIO
#: The scenarios whose executed notebook is compared with the library's own run in the test process.
LIBRARY = ("base", "controls_reimposed")
RUNS = [*SCENARIOS, "base#2"]
METRIC_KEYS = (
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
)


def scenario_params(scenario: str):
    return parameters.validate_scenario(ROOT / "params" / f"{scenario}.yaml", ["refining_timeline"])["refining_timeline"]


def test_the_library_scenarios_are_the_defaults_and_the_control_channels():
    """The two scenarios compared with the library are the notebook's defaults and a scenario that changes them and
    moves the control channels."""
    assert set(LIBRARY) < set(SCENARIOS)
    defaults = parameters.briefing_model(BRIEFING)()
    assert scenario_params("base").model_dump(exclude={"scenario", "scenario_title"}) == defaults.model_dump(
        exclude={"scenario", "scenario_title"}
    )
    assert scenario_params("controls_reimposed").control_channels_active and not defaults.control_channels_active


@pytest.fixture(scope="module")
def executed(real_build, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """Every scenario's executed notebook from the shared real build, and base run a second time by hand ("base#2",
    conftest ``hand_run``, shared with tests/report/test_notebooks.py)."""
    reports = real_build(EVERY_SCENARIO, EVERY_BRIEFING)
    out = {scenario: nbformat.read(reports / scenario / f"{BRIEFING}.ipynb", as_version=4) for scenario in SCENARIOS}
    out["base#2"], _ = hand_run(tmp_path_factory, BRIEFING)  # no parameters: the defaults, which are base's values
    return out


REFS = {
    **{label: f"Figure {n}" for n, label in enumerate(["coverage", "fan_ndpr", "fan_dytb", "world_share", "tornado", "sobol"], start=1)},
    **{label: f"Table {n}" for n, label in enumerate(["demand", "demand_cases", "world_decomposition", "hindcast"], start=1)},
}


class PerScenario(dict):
    """``{scenario: value}`` filled on first use, each scenario once per test run (:func:`computed_once`): a test of
    one scenario waits only for that scenario, and two xdist workers compute two scenarios side by side."""

    def __init__(self, tmp_path_factory, name: str, compute):
        super().__init__()
        self.tmp_path_factory, self.name, self.compute = tmp_path_factory, name, compute

    def __missing__(self, scenario: str):
        self[scenario] = computed_once(self.tmp_path_factory, f"{self.name}_{scenario}", lambda: self.compute(scenario))
        return self[scenario]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> PerScenario:
    """Per scenario, straight from the library in the test process (once per test run): the headline figures, and the
    key judgments and the methods' scenario sentence that report/text builds from the results, with the notebook's
    calls (figure numbers aside)."""

    def compute(scenario: str) -> dict:
        from rare_earth_lib.report.text import timeline as text

        tables = {name: dp.load(name) for name in tl.BRIEFING_TABLES}
        today, as_of = dt.date.fromisoformat(BUILD_DATE), dp.as_of()
        params = scenario_params(scenario)
        results = tl.briefing_results(params, tables, as_of=as_of, today=today)
        return {
            "headline": results.headline,
            "key_judgments": " ".join(text.key_judgments(results, params, REFS, today)),
        }

    return PerScenario(tmp_path_factory, "refining_timeline_library", compute)


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
    for key in METRIC_KEYS:
        assert key in metrics


@pytest.mark.parametrize("scenario", LIBRARY)
def test_metrics_equal_the_library_numbers(executed, library, scenario):
    assert render.notebook_metrics(executed[scenario]) == library[scenario]["headline"]


def without_references(text: str) -> str:
    """Prose without its figure and table references ("(Figure 3, Table 2)"), in single spaces."""
    return re.sub(r"\s*\((?:Figure|Table) \d+(?:, (?:Figure|Table) \d+)*\)", "", " ".join(text.split()))


@pytest.mark.parametrize("scenario", LIBRARY)
def test_the_library_key_judgments_are_the_executed_notebooks(executed, library, scenario):
    """The key judgments report/text builds here from the library's results are word for word the executed notebook's
    (figure and table numbers aside)."""
    shown = without_references(key_judgments_text(executed[scenario])).removeprefix("Key judgments").strip()
    assert shown == without_references(library[scenario]["key_judgments"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_key_judgments_state_the_recorded_numbers(executed, scenario):
    """Each scenario's key judgments state the headline numbers its notebook recorded (for base and controls_reimposed
    the library's: test_metrics_equal_the_library_numbers)."""
    text = " ".join(key_judgments_text(executed[scenario]).split())
    head = render.notebook_metrics(executed[scenario])
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


def test_each_scenarios_switches_are_stated_in_the_methods(executed):
    """A scenario's own switches change the methods' words (report/text ``scenario_method_sentences``, through the
    notebook's ``methods_values`` call); base and controls_reimposed have none of them."""
    stated = {}
    for scenario in SCENARIOS:
        params, words = scenario_params(scenario), briefing_text(executed[scenario])
        stated[scenario] = ("US policy reversal: from " in words, "Faster decisions bring first output" in words)
        assert stated[scenario] == (params.us_funding_withdrawn, bool(params.decision_speedup_years)), scenario
    assert any(stated["us_policy_reversal"]) and any(stated["accelerated_alliance"])
    assert not any(stated["base"]) and not any(stated["controls_reimposed"])


@pytest.mark.parametrize("product", ["ndpr", "dytb"])
def test_scenarios_are_ordered_as_built(executed, product):
    """On the headline numbers each scenario's notebook recorded."""
    metrics = {s: render.notebook_metrics(executed[s]) for s in SCENARIOS}
    assert _p50(metrics["accelerated_alliance"], product) <= _p50(metrics["base"], product)
    assert _p50(metrics["base"], product) <= _p50(metrics["us_policy_reversal"], product)


def test_same_seed_same_numbers(executed):
    first, second = executed["base"], executed["base#2"]
    assert render.notebook_metrics(first) == render.notebook_metrics(second)
    assert key_judgments_text(first) == key_judgments_text(second)
