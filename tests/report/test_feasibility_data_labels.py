"""Reader tables of the feasibility briefing say what each figure is: estimates, residuals, unknowns and dates."""

from __future__ import annotations

import math
import re

import pytest

from rare_earth_lib.data import package as dp
from rare_earth_lib.domain import STAGE_LABELS
from rare_earth_lib.models import buildout
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.parameters.alliance_feasibility import Params
from rare_earth_lib.report.text import feasibility_tables as tables
from rare_earth_lib.report.text import timeline_tables


@pytest.fixture(scope="module")
def run(feasibility_on_the_package):
    """The package's tables and the assessment on them (default parameters, fixed coverage years; conftest)."""
    return feasibility_on_the_package.tables, feasibility_on_the_package.assessment


def test_capacity_table_labels_estimated_nameplates_and_assumed_output(run):
    _, result = run
    table = tables.capacity_table(result).set_index("Plant")
    lynas_heavy = table.loc[table.index.str.contains("heavy-REE circuit")].iloc[0]
    assert lynas_heavy["Nameplate basis"].startswith("estimate: ") and "low confidence" in lynas_heavy["Nameplate basis"]
    mp = table.loc[table.index.str.startswith("MP Materials, Mountain Pass")].iloc[0]
    assert mp["Nameplate basis"].startswith("model estimate") and "circular" in mp["Nameplate basis"]
    for plant in ("Energy Fuels, White Mesa Mill, UT (Phase 1)", "Shin-Etsu Magnetic Materials Vietnam"):
        row = table.loc[table.index.str.contains(plant, regex=False)].iloc[0]
        assert row["Basis of today's figure"].startswith("assumed: no observed output")
    lamp = table.loc["Lynas Rare Earths, Lynas Malaysia (LAMP), Gebeng"]
    assert lamp["Nameplate basis"] == "stated"


def test_pipeline_tables_never_call_a_data_estimate_stated(run):
    data, _ = run
    projects = capacity_model.fill_missing(data["projects"], Params())
    pipeline = buildout.refining_pipeline(projects).set_index("project_id")
    for project in ("lynas_lamp_hre_circuit", "lynas_malaysia_hre_new"):
        assert pipeline.loc[project, "capacity_basis_label"].startswith("estimate: ")
    assert pipeline.loc["mp_mountain_pass", "capacity_basis_label"].startswith(buildout.MODEL_ESTIMATE)
    assert pipeline.loc["lynas_lamp", "capacity_basis_label"] == "stated"
    frame = pipeline.reset_index().assign(
        capacity_basis_note=lambda f: f["capacity_basis_label"],
        label=lambda f: f["project_id"],
        counts_for="",
        target_passed=False,
        sim_first_output_p50_year=float("nan"),
        share_built=1.0,
        completion_probability=1.0,
        capex="",
        public_funding_musd=0.0,
    )
    shown, note = timeline_tables.project_frame(frame, 2045)
    capacity = dict(zip(frame["project_id"], shown["Capacity"], strict=True))
    assert capacity["lynas_lamp_hre_circuit"] == capacity["lynas_malaysia_hre_new"] == "estimate"
    assert capacity["mp_mountain_pass"] == "model estimate" and capacity["lynas_lamp"] == "stated"
    assert "low confidence" in note
    assert timeline_tables.pipeline_counts(frame)["estimated"] == int(pipeline["capacity_estimated_by_model"].sum())


def test_chain_table_heavy_separation_2023_credits_no_2025_plant_and_shows_the_derived_check(run):
    _, result = run
    chain = tables.chain_table(result).set_index("Stage")
    heavy = chain.loc["Separation (heavy, Dy/Tb)"]
    assert heavy["Year"] == 2023
    assert heavy["China"] == "99.9% (about 98% in 2025, derived)"
    assert heavy["Alliance, by owner"] == "0%" and heavy["Partner hosts"] == "—"
    assert result.figures["china_heavy_separation_share_derived"] == pytest.approx(0.98)
    assert result.figures["china_heavy_separation_share_derived_year"] == 2025
    others = chain["Others (residual: 100% minus the rest)"]
    assert others.str.endswith("(residual)").all()
    assert heavy["Others (residual: 100% minus the rest)"] == "n/a (residual)"


def test_metal_capacity_without_tonnage_is_unknown_not_zero_and_demand_says_lower_bound(run):
    _, result = run
    s = result.self_sufficiency.set_index("stage")
    assert "MP Materials, Independence" in s.at["metal_alloy", "capacity_untallied"]
    assert all(math.isnan(s.at["metal_alloy", f"ratio_{case}"]) for case in ("low", "central", "high"))
    assert not math.isnan(s.at["separation", "ratio_central"])  # separation keeps its ratio
    table = tables.self_sufficiency_table(result).set_index("Stage")
    metal = table.loc["Metal and alloy"]
    assert metal["Alliance capacity today (t/yr)"].startswith("n/a (no tonnage")
    assert metal["Capacity / demand: low / central / high"] == "n/a / n/a / n/a"
    assert "China-origin" in metal["Demand basis"] and "lower bound" in metal["Demand basis"]


def test_commitments_table_dates_the_money_and_keeps_deadline_precision(run):
    data, _ = run
    table = tables.commitments_table(data, dp.as_of())
    mp = table[table["Commitment"].str.startswith("MP Materials: Mountain Pass, CA")].iloc[0]
    assert mp["Date committed"] == "Dec 2020 (DoD US$9.6M)"
    usar = table[table["Commitment"].str.startswith("USA Rare Earth")].iloc[0]
    assert "26 Jan 2026" in usar["Date committed"]
    reserve = table[table["Commitment"] == "Australia Critical Minerals Strategic Reserve"].iloc[0]
    assert reserve["Date committed"].endswith("(announced)")
    assert "H2 2026" in reserve["Deadline"] and "2026-12-31" in reserve["Deadline"] and "outcome not known" in reserve["Deadline"]
    assert "2026-10-01" not in " ".join(table["Deadline"])
    assert not table["Date committed"].str.contains(r"\(announced\)$|\(decision \(FID\)\)", regex=True)[table["Kind"] != "framework"].any()


def test_separation_capacity_basis_states_the_part_with_no_observed_output(run):
    _, result = run
    s = result.self_sufficiency.set_index("stage")
    basis = s.at["separation", "capacity_basis"]
    assert "assumed (no observed output: " in basis and "Energy Fuels" in basis and "Shin-Etsu" in basis
    assert "MP Materials" not in basis.split("assumed")[1]  # MP has an observed run-rate
    assert "assumed" not in s.at["heavy_separation", "capacity_basis"]  # Lynas's Dy+Tb is observed


def test_demand_year_names_each_countrys_year_when_a_sum_mixes_years(run):
    """The mining row sums the United States' and Japan's latest demand figures, which are of different years:
    the cell names each country's year rather than listing two bare years."""
    data, result = run
    table = tables.self_sufficiency_table(result).set_index("Stage")
    for stage, cell in table["Demand year"].items():
        years = [int(y) for y in re.findall(r"\b(20\d\d)\b", cell)]
        assert years, (stage, cell)
        if len(years) > 1:
            assert all(f"{y} (" in cell for y in years), (stage, cell)
            assert "United States" in cell and "Japan" in cell, (stage, cell)
    mining = table.loc[STAGE_LABELS["mining"], "Demand year"]
    assert re.fullmatch(r"20\d\d \(United States\), 20\d\d \(Japan\)|20\d\d \(Japan\), 20\d\d \(United States\)|20\d\d", mining)
