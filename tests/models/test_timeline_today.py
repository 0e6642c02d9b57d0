"""The timeline's first simulated year is today's capacity, the same figure the capacity model states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_timeline import ANALOGS, AS_OF, DEMAND, PROJECTS, small_params

from rare_earth_lib.models import capacity
from rare_earth_lib.models import timeline as tl


def _lamp_only(observed: float) -> pd.DataFrame:
    lamp = PROJECTS.iloc[[0]].copy()
    lamp["observed_output_tpa"] = observed
    lamp["observed_output_product"] = "t_ndpr_oxide"
    lamp["observed_output_kind"] = "annual_output"
    lamp["observed_output_period"] = "Calendar 2025 NdPr oxide"
    return lamp


def _ndpr_path(projects: pd.DataFrame, **update) -> np.ndarray:
    run = tl.run_timeline(small_params(**update), projects=projects, analogs=ANALOGS, demand=DEMAND, as_of=AS_OF)
    return run.result.capacity_tpa["ndpr_oxide"]


def test_a_producing_plant_starts_at_its_observed_rate_and_ramps_to_mature_output():
    path = _ndpr_path(_lamp_only(6996.0), mature_utilisation=0.85)
    assert np.all(path[:, 0] == pytest.approx(6996.0))  # the as-of year: what the plant makes today
    assert np.all(np.diff(path, axis=1) >= -1e-9)  # then never down
    assert np.all(path[:, -1] == pytest.approx(10500.0 * 0.85))  # and up to mature output
    assert np.any(path[:, 1] < 10500.0 * 0.85)  # at the ramp-up curve's pace, not in one jump in every trial


def test_a_plant_already_above_mature_output_stays_at_its_observed_rate():
    path = _ndpr_path(_lamp_only(6996.0), mature_utilisation=0.6)
    assert np.all(path == pytest.approx(6996.0))


def test_a_producing_plant_without_an_observed_rate_starts_at_the_capacity_models_ramp_up_figure():
    projects = _lamp_only(np.nan).assign(first_output_actual_date=pd.to_datetime(["2025-06-01"]))
    params = small_params()
    path = _ndpr_path(projects)
    today = capacity.today_metrics(projects, params, AS_OF)["ndpr_capacity_today_tpa"]
    assert 0 < today < 10500 * params.mature_utilisation
    assert np.all(path[:, 0] == pytest.approx(today, abs=0.05))


def test_the_simulated_first_year_equals_todays_capacity_in_the_data_package():
    """The briefings state today's capacity (ndpr/dytb_capacity_today_tpa); the simulation starts there, not from
    nameplate x the ramp-up curve. Plants not yet producing may add to the first year only from a simulated first
    output inside it, so no trial is below today's figure and, on the data package, the median is today's figure."""
    from rare_earth_lib.data import package as dp

    tables = {name: dp.load(name) for name in tl.TABLES}
    params = small_params(n_trials=300)
    run = tl.simulate(params, tables, as_of=dp.as_of())
    assert run.result.years[0] == dp.as_of().year
    today = capacity.today_metrics(tables["projects"], params, dp.as_of())
    for product, key in capacity.METRIC_KEYS.items():
        first_year = run.result.capacity_tpa[product][:, 0]
        assert first_year.min() >= today[key] - 0.05, product
        assert round(float(np.median(first_year)), 1) == today[key], product


def test_pilot_lines_without_a_nameplate_count_in_the_capacity_but_not_in_the_project_table():
    from rare_earth_lib.data import package as dp

    tables = {name: dp.load(name) for name in tl.TABLES}
    run = tl.simulate(small_params(n_trials=100), tables, as_of=dp.as_of())
    only = run.pipeline[run.pipeline["observed_only"]]
    assert (only[["ndpr_oxide_tpa", "dytb_oxide_tpa"]].to_numpy() == 0).all()
    assert not set(only["project_id"]) & set(tl.pipeline_table(run, as_of=dp.as_of())["project_id"])


def test_the_default_mature_utilisation_is_no_higher_than_any_mature_plant_in_the_data_makes():
    """The default is a parameter, but one the evidence must bear: no plant outside China past its ramp-up, with a
    stated nameplate and a whole year's output, runs below it (0.85 did not: LAMP runs at about two thirds)."""
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.parameters.refining_timeline import Params

    params = Params()
    evidence = tl.mature_evidence(dp.load("projects"), params, dp.as_of())
    assert not evidence.empty
    assert set(evidence["project_id"]) == {"lynas_lamp"}
    assert evidence["utilisation"].iloc[0] == pytest.approx(6996 / 10500)
    assert params.mature_utilisation <= evidence["utilisation"].min()


def test_the_as_announced_line_starts_at_todays_capacity_and_keeps_rising_to_mature_output():
    """The fan charts' as-announced line (no slips) starts producing plants where the briefings' "today" does, not
    on the ramp-up curve; the only difference in its first year is a pilot line without a nameplate (not in the
    refining pipeline) and plants whose announced first output falls in that year."""
    from rare_earth_lib.data import package as dp

    tables = {name: dp.load(name) for name in tl.TABLES}
    params = small_params()
    announced = tl.announced_capacity(params, tables["projects"], dp.as_of()).set_index(["product", "year"])["capacity_tpa"]
    today = capacity.today_metrics(tables["projects"], params, dp.as_of())
    first = dp.as_of().year
    assert announced[("ndpr_oxide", first)] >= today["ndpr_capacity_today_tpa"] - 0.05
    pilot = 0.1  # the Dy+Tb pilot line's observed rate is under a tenth of a tonne
    assert announced[("dytb_oxide", first)] >= today["dytb_capacity_today_tpa"] - pilot
    for product in ("ndpr_oxide", "dytb_oxide"):
        path = announced.loc[product].to_numpy()
        assert np.all(np.diff(path) >= -1e-9), product  # nothing producing shrinks when nothing slips


def test_as_announced_lamp_starts_at_its_observed_rate():
    lamp = _lamp_only(6996.0)
    params = small_params(mature_utilisation=0.85)
    got = tl.announced_capacity(params, lamp, AS_OF).set_index(["product", "year"])["capacity_tpa"]
    years = sorted(got.loc["ndpr_oxide"].index)
    assert got[("ndpr_oxide", years[0])] == pytest.approx(6996.0)
    assert got[("ndpr_oxide", years[-1])] == pytest.approx(10500.0 * 0.85)


def test_public_record_columns_read_the_same_in_every_scenario():
    """A scenario's licence delay shifts the dates the simulation starts from, not the public record: the project
    table's plan, target and actual dates and its missed-target flags are equal for the base case and for
    controls_reimposed; the simulated columns may move."""
    import datetime as dt

    from rare_earth_lib.data import package as dp

    tables = {name: dp.load(name) for name in tl.TABLES}
    today = dt.date(2026, 11, 30)
    frames = {}
    for active in (False, True):
        run = tl.simulate(small_params(n_trials=100, control_channels_active=active), tables, as_of=dp.as_of())
        frames[active] = tl.pipeline_table(run, today, as_of=dp.as_of(), projects=tables["projects"]).set_index("project_id")
    record = ["planned_first_output_year", "target_first_output_year", "actual_first_output_year", "target_passed", "target_after_data"]
    pd.testing.assert_frame_equal(frames[False][record], frames[True].loc[frames[False].index, record])
    # the channel does act on the simulation (else this test could not fail): some shifted plan differs
    shifted = tl.simulate(small_params(n_trials=100, control_channels_active=True), tables, as_of=dp.as_of())
    assert not np.allclose(
        tl.pipeline_table(shifted, today, as_of=dp.as_of()).set_index("project_id").loc[frames[False].index, "planned_first_output_year"],
        frames[False]["planned_first_output_year"],
        equal_nan=True,
    )
