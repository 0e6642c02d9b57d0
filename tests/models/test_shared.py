"""Model results shared by the kernels of one build: computed once, read back identical, keyed on every input."""

from __future__ import annotations

import numpy as np
import pytest

from rare_earth_lib import env
from rare_earth_lib.data import package as data_package
from rare_earth_lib.models import shared
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.models.scorecard import run as scorecard_run
from rare_earth_lib.models.timeline import calibration
from rare_earth_lib.parameters.alliance_feasibility import Params as AllianceParams
from rare_earth_lib.parameters.refining_timeline import Params as TimelineParams

# One xdist worker runs the whole module (--dist loadgroup), since its tests share the module's tables:
# on several workers each would compute them again.
pytestmark = pytest.mark.xdist_group("shared")

SMALL = {"scenario": "base", "n_trials": 300, "seed": 7}


@pytest.fixture(scope="module")
def tables():
    return {name: data_package.load(name) for name in ("projects", "build_analogs", "demand")}, data_package.as_of()


@pytest.fixture
def build_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(env.SHARED_RESULTS, str(tmp_path / "shared"))
    return tmp_path / "shared"


def test_outside_a_build_it_only_computes(monkeypatch):
    monkeypatch.delenv(env.SHARED_RESULTS, raising=False)
    calls = []
    assert shared.cached("thing", {"a": 1}, lambda: calls.append(1) or len(calls)) == 1
    assert shared.cached("thing", {"a": 1}, lambda: calls.append(1) or len(calls)) == 2


def test_a_result_is_computed_once_per_inputs_and_a_damaged_file_is_recomputed(build_folder):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert shared.cached("thing", {"a": 1}, compute) == {"n": 1}
    assert shared.cached("thing", {"a": 1}, compute) == {"n": 1}, "read back, not computed again"
    assert shared.cached("thing", {"a": 2}, compute) == {"n": 2}, "other inputs, other result"
    (path,) = [p for p in (build_folder / "thing").glob("*.pickle") if p.stem == shared.key("thing", {"a": 1})]
    path.write_bytes(b"not a pickle")
    assert shared.cached("thing", {"a": 1}, compute) == {"n": 3}
    assert shared.cached("thing", {"a": 1}, compute) == {"n": 3}


def _run(params, tables, **kw):
    frames, as_of = tables
    return tl.run_timeline(params, projects=frames["projects"], analogs=frames["build_analogs"], demand=frames["demand"], as_of=as_of, **kw)


def _same(a: tl.TimelineRun, b: tl.TimelineRun) -> None:
    for product in tl.PRODUCTS:
        np.testing.assert_array_equal(a.result.coverage_year[product], b.result.coverage_year[product])
        np.testing.assert_array_equal(a.result.capacity_tpa[product], b.result.capacity_tpa[product])
    assert a.spread_factor == b.spread_factor
    assert a.pipeline.equals(b.pipeline) and a.demand.equals(b.demand)


def test_the_alliance_and_timeline_briefings_share_one_run_equal_to_unshared_runs(tables, build_folder, monkeypatch):
    monkeypatch.delenv(env.SHARED_RESULTS)
    alliance, timeline_params = AllianceParams(**SMALL), TimelineParams(**SMALL)
    cold_alliance, cold_timeline = _run(alliance, tables), _run(timeline_params, tables)

    monkeypatch.setenv(env.SHARED_RESULTS, str(build_folder))
    first = _run(alliance, tables, shared=True)
    monkeypatch.setattr(tl.run, "_run", lambda *a, **k: pytest.fail("the second briefing recomputed the shared run"))
    second = _run(timeline_params, tables, shared=True)
    assert len(list((build_folder / "timeline_run").glob("*.pickle"))) == 1

    _same(first, cold_alliance)
    _same(second, cold_timeline)
    assert first.params is alliance and type(first.result.params) is AllianceParams
    assert second.params is timeline_params and type(second.result.params) is TimelineParams
    assert first.result.params == cold_alliance.result.params and second.result.params == cold_timeline.result.params
    # A parameter the run reads changes the key.
    monkeypatch.undo()
    monkeypatch.setenv(env.SHARED_RESULTS, str(build_folder))
    _run(TimelineParams(**(SMALL | {"seed": 8})), tables, shared=True)
    assert len(list((build_folder / "timeline_run").glob("*.pickle"))) == 2


def test_feasibility_headline_is_the_same_with_and_without_the_shared_folder(tables, build_folder, monkeypatch):
    frames, as_of = tables
    needed = {name: data_package.load(name) for name in (*scorecard_run.ASSESSMENT_TABLES, "build_analogs")}
    params = AllianceParams(**SMALL)
    shared_run = scorecard_run.run_feasibility(params, needed, as_of)
    assert list((build_folder / "timeline_run").glob("*.pickle"))
    again = scorecard_run.run_feasibility(params, needed, as_of)  # read back
    monkeypatch.delenv(env.SHARED_RESULTS)
    cold = scorecard_run.run_feasibility(params, needed, as_of)
    assert shared_run.coverage == cold.coverage == again.coverage
    assert shared_run.coverage_by_case == cold.coverage_by_case


def test_the_slip_calibration_is_computed_once_per_build(tables, build_folder, monkeypatch):
    frames, as_of = tables
    monkeypatch.setattr(calibration, "_CACHE", {})
    first = calibration.calibrate_spread(frames["build_analogs"], as_of=as_of)
    monkeypatch.setattr(calibration, "_CACHE", {})  # another kernel of the same build
    monkeypatch.setattr(calibration, "_calibrate", lambda *a: pytest.fail("calibrated again"))
    second = calibration.calibrate_spread(frames["build_analogs"], as_of=as_of)
    assert second.spread_factor == first.spread_factor and second.grid.equals(first.grid)
