"""From the parameter model and the data tables to one full timeline run; the stable entry point.

:func:`simulate` is the entry point other code should call (the briefing, scenario discovery on Dask, the
benchmarks)::

    from rare_earth_lib.models import timeline
    run = timeline.simulate(params, {"projects": ..., "build_analogs": ..., "demand": ...}, as_of=as_of)
    run.result.coverage_year["ndpr_oxide"]  # (trials,) first covered year, inf = never

It depends only on its arguments (no global state; in a build, a run asked for with ``shared=True`` may be read
from the build's shared results instead of computed, see :mod:`rare_earth_lib.models.shared`), so it can be
shipped to worker processes; ``params`` is the validated parameter model, whose fields are the simulation's settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from rare_earth_lib.domain import normalise_country
from rare_earth_lib.models import announced, buildout, capacity
from rare_earth_lib.models import demand as demand_model
from rare_earth_lib.models.timeline.calibration import Calibration, calibrate_spread
from rare_earth_lib.models.timeline.simulate import OBSERVED_COLUMNS, PRODUCTS, SimulationResult, simulate_trials, simulated_years
from rare_earth_lib.models.timeline.stats import SlipFit, analog_slips, decimal_as_of, fit_slip_distribution
from rare_earth_lib.models.timeline.summaries import capacity_percentiles

if TYPE_CHECKING:  # pragma: no cover
    from rare_earth_lib.parameters.refining_timeline import Params

T = TypeVar("T")

TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand")
"""Data-package tables :func:`simulate` reads."""


@dataclass(frozen=True)
class TimelineRun:
    """Everything one scenario's timeline produced (inputs prepared from the tables, and the simulation).

    Attributes:
        params: the parameter model used.
        pipeline: alliance refining projects, capacities filled where estimated.
        slips: analog slips (observed and censored) used for the fit.
        slip_fit: the slip distribution the simulation drew from (the fit, its log-sd times ``spread_factor``).
        demand: alliance demand estimate per year and product (totals, t oxide/yr).
        demand_by_region: the same per region, with method text.
        result: the :class:`SimulationResult`.
        spread_factor: factor applied to the fitted log-sd (calibrated, or the scenario's ``slip_spread_factor``).
        calibration: the calibration on the analogs when the spread is calibrated (``None`` when the scenario sets it).
    """

    params: Any
    pipeline: pd.DataFrame
    slips: pd.DataFrame
    slip_fit: SlipFit
    demand: pd.DataFrame
    demand_by_region: pd.DataFrame
    result: SimulationResult
    spread_factor: float = 1.0
    calibration: Calibration | None = None


def prepare_pipeline(projects: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Alliance refining pipeline for a scenario: capacities filled (if enabled) and attributed, with each producing
    plant's latest observed output rate from the capacity model (:data:`OBSERVED_COLUMNS`).

    A producing plant with an observed rate but no nameplate (a pilot line) is not among the refining pipeline's
    projects; it is added as a row with zero nameplate and ``observed_only`` set, so the simulation counts what it
    makes today exactly as the capacity model does, and the briefing's project table can leave it out.
    """
    filled = capacity.fill_missing(projects, params)
    pipeline = buildout.refining_pipeline(filled, attribution=params.attribution)
    observed = capacity.observed_rates(filled, params.attribution)
    wide = observed.pivot_table(index="project_id", columns="product", values="observed_tpa", aggfunc="sum")
    missing = sorted(set(wide.index) - set(pipeline["project_id"].astype(str)))
    pipeline["observed_only"] = False
    if missing:
        extra = _observed_only_rows(filled, missing, params)
        pipeline = pd.concat([pipeline, extra.reindex(columns=pipeline.columns)], ignore_index=True)
        pipeline["observed_only"] = pipeline["observed_only"].astype(bool)
    for product, column in OBSERVED_COLUMNS.items():
        values = wide[product] if product in wide else pd.Series(dtype=float)
        pipeline[column] = pipeline["project_id"].astype(str).map(values).astype("float64")
    return pipeline


def _observed_only_rows(projects: pd.DataFrame, ids: list[str], params: Params) -> pd.DataFrame:
    """Pipeline rows for producing plants that have an observed output rate but no nameplate (see :func:`prepare_pipeline`)."""
    rows = projects[projects["project_id"].astype(str).isin(ids)]
    member = buildout.alliance_member(rows, params.attribution)
    return pd.DataFrame(
        {
            "project_id": rows["project_id"].astype("string").to_numpy(),
            "company": rows["company"].astype("string").to_numpy(),
            "site": rows["site"].astype("string").to_numpy(),
            "country": rows["country"].map(normalise_country).astype("string").to_numpy(),
            "owner_country": rows["owner_country"].map(normalise_country).astype("string").to_numpy(),
            "alliance_country": member.astype("string").to_numpy(),
            "status": rows["status"].astype("string").to_numpy(),
            "ndpr_oxide_tpa": 0.0,
            "dytb_oxide_tpa": 0.0,
            "actual_first_output_year": buildout.decimal_year(rows["first_output_actual_date"]),
            "us_backed": False,
            "capacity_is_estimate": False,
            "observed_only": True,
            "source_ids": rows["source_ids"].astype("string").to_numpy(),
        }
    )


def slip_model(params: Params, analogs: pd.DataFrame, as_of: Any) -> tuple[pd.DataFrame, SlipFit, float, Calibration | None]:
    """The slip distribution a scenario draws from: the analogs' slips, the fit with its spread, the spread
    factor and the calibration (``None`` when the scenario turns ``calibrate_slip_spread`` off and sets ``slip_spread_factor``).

    Every caller that simulates (the briefing, scenario discovery, Sobol) takes its fit from here, so all
    use the calibrated spread by default.
    """
    slips = analog_slips(analogs, as_of=as_of, scope=params.analog_scope)
    calibration = None
    spread = params.slip_spread_factor
    if params.calibrate_slip_spread:
        calibration = calibrate_spread(analogs, as_of=as_of, scope=params.analog_scope, offset_years=params.slip_offset_years)
        spread = calibration.spread_factor
    fit = fit_slip_distribution(slips, offset_years=params.slip_offset_years).widened(spread)
    return slips, fit, float(spread), calibration


def run_timeline(
    params: Params,
    *,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    reuse: MutableMapping[str, Any] | None = None,
    shared: bool = False,
) -> TimelineRun:
    """Run one scenario end to end: pipeline, slip fit, demand estimate, Monte Carlo.

    Args:
        params: the briefing's validated parameter model.
        projects: the data package's projects table.
        analogs: the data package's build_analogs table.
        demand: the data package's demand table.
        as_of: the data's as-of date.
        reuse: optional cache shared between calls on the *same* tables and as-of date. Whole runs are kept
            in it keyed on the full validated parameter dump (``params.model_dump_json()``), so a repeated
            parameter set is not simulated twice and no parameter can be left out of the key; the pipeline,
            slip-model and demand stages are kept keyed on the fields each declares, and a stage that reads an
            undeclared field fails (:class:`DeclaredParams`). Callers must not modify the returned frames.
        shared: in a build, a run other briefings of the build also make (the scenario's own run): computed
            once per build and shared between the kernels (:func:`shared_run`).

    Returns:
        A :class:`TimelineRun`.
    """
    key = f"{type(params).__module__}.{type(params).__qualname__}:{params.model_dump_json()}"
    if reuse is not None and key in reuse:
        return reuse[key]
    if shared:
        run = shared_run(params, projects=projects, analogs=analogs, demand=demand, as_of=as_of, reuse=reuse)
    else:
        run = _run(params, projects, analogs, demand, as_of, reuse)
    if reuse is not None:
        reuse[key] = run
        _remember_stages(run, reuse)
    return run


def _run(
    params: Params,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    reuse: MutableMapping[str, Any] | None = None,
) -> TimelineRun:
    pipeline, (slips, fit, spread, calibration), sim_params = prepared(params, projects, analogs, as_of, reuse)
    by_region, totals = stage("demand", DEMAND_FIELDS, params, lambda p: _demand(demand, p), reuse)
    result = simulate_trials(pipeline, fit, totals, sim_params, decimal_as_of(as_of))
    return TimelineRun(params, pipeline, slips, fit, totals, by_region, result, float(spread), calibration)


def prepared(
    params: Params, projects: pd.DataFrame, analogs: pd.DataFrame, as_of: Any, reuse: MutableMapping[str, Any] | None = None
) -> tuple[pd.DataFrame, tuple[pd.DataFrame, SlipFit, float, Calibration | None], Params]:
    """What the Monte Carlo needs besides demand, for every caller that simulates (a run, Sobol, scenario discovery):
    the pipeline (with China's control channels applied when the scenario turns them on), :func:`slip_model`'s
    result, and the simulation's parameters after the channels' change. The two stages come from ``reuse`` when an
    earlier call on the same tables had equal declared fields (:func:`stage`).
    """
    sim_params = capacity.pulled_forward(params)  # the channels as capacity.with_control_channels applies them
    pipeline = stage("pipeline", PIPELINE_FIELDS, params, lambda p: prepare_pipeline(capacity.licence_delayed(projects, p), p), reuse)
    slips = stage("slip_model", SLIP_FIELDS, params, lambda p: slip_model(p, analogs, as_of), reuse)
    return pipeline, slips, sim_params


def _remember_stages(run: TimelineRun, reuse: MutableMapping[str, Any]) -> None:
    """Put a finished run's stages in ``reuse`` (a shared run is read whole, not stage by stage)."""
    for name, fields, value in (
        ("pipeline", PIPELINE_FIELDS, run.pipeline),
        ("slip_model", SLIP_FIELDS, (run.slips, run.slip_fit, run.spread_factor, run.calibration)),
        ("demand", DEMAND_FIELDS, (run.demand_by_region, run.demand)),
    ):
        reuse.setdefault(_stage_key(name, DeclaredParams(run.params, fields, name)), value)


def _demand(demand: pd.DataFrame, params: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    by_region = demand_model.scenario_demand(demand, simulated_years(params), params)
    return by_region, demand_model.sum_regions(by_region)


PIPELINE_FIELDS: tuple[str, ...] = (
    "fill_missing_capacity",
    "ndpr_share_of_reo_capacity",
    "dytb_share_of_reo_capacity",
    "mature_utilisation",
    "attribution",
    "control_channels_active",
    "chinese_equipment_share",
    "licence_delay_years",
)
"""Parameters the pipeline stage reads (capacity filling, attribution, the licence-delay channel)."""

SLIP_FIELDS: tuple[str, ...] = ("analog_scope", "slip_offset_years", "calibrate_slip_spread", "slip_spread_factor")
"""Parameters the slip-model stage reads (:func:`slip_model`)."""

DEMAND_FIELDS: tuple[str, ...] = (
    "start_year",
    "horizon_year",
    "ndpr_demand_growth_rate",
    "dytb_demand_growth_rate",
    "long_run_demand_growth_rate",
    "demand_growth_break_year",
    "demand_scale",
    "demand_anchor_rule",
)
"""Parameters the demand stage reads (:func:`rare_earth_lib.models.demand.scenario_demand` over the simulated years)."""


class UndeclaredParameter(LookupError):
    """A stage of a timeline run read a parameter its field list does not declare."""


class DeclaredParams:
    """The fields of a parameter model that one stage of a run declares it reads, and no others.

    Runs that share tables reuse a stage's result when the stage's declared fields are equal (:func:`stage`),
    so a stage that read any other field could be handed a result computed for another value of it. Reading an
    undeclared field therefore raises :class:`UndeclaredParameter`, in every run, reused or not. It is not an
    ``AttributeError``, which ``getattr(params, name, default)`` would swallow; a declared field the model lacks
    raises ``AttributeError``, as the model itself would.
    """

    __slots__ = ("_declared", "_stage", "_values")

    def __init__(self, params: Any, fields: tuple[str, ...], stage_name: str):
        present = [f for f in fields if f in type(params).model_fields]
        object.__setattr__(self, "_declared", frozenset(fields))
        object.__setattr__(self, "_stage", stage_name)
        object.__setattr__(self, "_values", {f: getattr(params, f) for f in present})

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        if name in object.__getattribute__(self, "_declared"):
            raise AttributeError(name)
        stage_name = object.__getattribute__(self, "_stage")
        raise UndeclaredParameter(f"the timeline's {stage_name} stage read parameter {name!r}, which its field list does not declare")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("DeclaredParams is read-only")

    def key(self) -> str:
        """The declared fields' values as JSON: the stage's reuse key."""
        return json.dumps(object.__getattribute__(self, "_values"), sort_keys=True, default=str)


def _stage_key(name: str, view: DeclaredParams) -> str:
    return f"stage:{name}:{view.key()}"


def stage(name: str, fields: tuple[str, ...], params: Any, compute: Callable[[Any], T], reuse: MutableMapping[str, Any] | None) -> T:
    """``compute`` on the declared ``fields`` of ``params``, or the result an earlier run with ``reuse`` got for equal fields.

    The one-at-a-time sensitivity, the uncalibrated comparison and the Sobol runs move one or a few parameters
    each; their pipeline, slip model and demand are mostly the scenario's own, so they are prepared once.
    """
    view = DeclaredParams(params, fields, name)
    if reuse is None:
        return compute(view)
    key = _stage_key(name, view)
    if key not in reuse:
        reuse[key] = compute(view)
    return reuse[key]


def shared_run(
    params: Params,
    *,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    reuse: MutableMapping[str, Any] | None = None,
) -> TimelineRun:
    """:func:`run_timeline`, computed once per build for every briefing that runs the same scenario (:mod:`..shared`).

    The run reads only the timeline's parameters (the fields of ``parameters.refining_timeline.Params``), so it is
    keyed on those alone (with the tables' contents and the as-of date) and computed from them: the alliance
    briefing's run of a scenario and the timeline briefing's are one run. The result carries the caller's own
    parameter model, as an unshared run does. Outside a build this is :func:`run_timeline`. ``reuse`` is
    :func:`run_timeline`'s, for the stages of a run computed here.
    """
    from rare_earth_lib.models import shared as shared_results
    from rare_earth_lib.parameters.refining_timeline import Params as TimelineParams

    base = _timeline_params(params, TimelineParams)
    if shared_results.folder() is None or base is None:
        return _run(params, projects, analogs, demand, as_of, reuse)
    inputs = {
        "params": base.model_dump(mode="json"),
        "tables": [shared_results.frame_digest(t) for t in (projects, analogs, demand)],
        "as_of": str(as_of),
    }
    run = shared_results.cached("timeline_run", inputs, lambda: _run(base, projects, analogs, demand, as_of, reuse))
    if run.params is params:
        return run
    # The simulation's parameters are the run's after the control channels' changes (timeline fields only).
    sim_params = params.model_copy(update=run.result.params.model_dump())
    return dataclasses.replace(run, params=params, result=dataclasses.replace(run.result, params=sim_params))


def _timeline_params(params: Any, timeline_params: type) -> Any:
    """``params`` as the timeline's own parameter model (the same values), or None if it is not one or a subclass."""
    if type(params) is timeline_params:
        return params
    if not isinstance(params, timeline_params):
        return None
    try:
        return timeline_params.model_validate(params.model_dump(include=set(timeline_params.model_fields)))
    except ValueError:
        return None


def simulate(params: Params, tables: Mapping[str, pd.DataFrame], *, as_of: Any = None) -> TimelineRun:
    """The stable entry point: one scenario's Monte Carlo timeline from parameters and data tables.

    Args:
        params: a validated :class:`rare_earth_lib.parameters.refining_timeline.Params` (or a model that
            extends it).
        tables: the data package's ``projects``, ``build_analogs`` and ``demand`` tables by name (extra
            tables are ignored).
        as_of: the data's as-of date; default: the data package's (``data.package.as_of()``).

    Returns:
        A :class:`TimelineRun` (``run.result.coverage_year``, ``run.result.capacity_tpa``, ...).

    Raises:
        ValueError: a table is missing.
    """
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise ValueError(f"simulate: tables lacks {', '.join(missing)} (needs {', '.join(TABLES)})")
    if as_of is None:
        from rare_earth_lib.data import package as data_package

        as_of = data_package.as_of()
    return run_timeline(params, projects=tables["projects"], analogs=tables["build_analogs"], demand=tables["demand"], as_of=as_of)


def announced_capacity(params: Params, projects: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Alliance capacity per year if every plant were built and produced on its latest public target.

    The press-release path, for comparison with the simulated distribution: no slips, no failures, the
    same ramp-up and the same capacity rules and attribution as the scenario.

    Returns:
        DataFrame with ``year``, ``product`` and ``capacity_tpa`` (t oxide/yr).
    """
    table = capacity.fill_missing(projects, params)
    years = range(params.start_year, params.horizon_year + 1)
    frames = []
    for product in PRODUCTS:
        cap = announced.capacity_by_year(
            table,
            years,
            product=product,
            attribution=params.attribution,
            as_of_year=decimal_as_of(as_of),
            **capacity.ramp_args(params),
            completion_probabilities={status: 1.0 for status in buildout.STATUSES},
            undated_lead_years=params.undated_lead_years,
        )
        total = announced.total_capacity_by_year(cap)[["year", "capacity_tpa"]]
        total["product"] = product
        frames.append(total)
    out = pd.concat(frames, ignore_index=True)[["year", "product", "capacity_tpa"]]
    out["product"] = out["product"].astype("string")
    return out


def check_run(run: TimelineRun) -> None:
    """Sanity checks on a timeline run; a briefing that would show nonsense must fail here, loudly.

    Checks: the pipeline is not empty and has non-negative capacities; demand is positive and finite in
    every year; simulated capacity is finite and non-negative; its percentiles are ordered
    (P10 <= P50 <= P90 every year); coverage years lie within the simulated years or are "never"; the
    slip fit used at least two observed builds.

    Raises:
        ValueError: naming the first check that fails.
    """
    pipe = run.pipeline
    if pipe.empty:
        raise ValueError("check_run: no alliance refining projects with capacity in the pipeline")
    for column in ("ndpr_oxide_tpa", "dytb_oxide_tpa"):
        if (pipe[column] < 0).any() or pipe[column].isna().any():
            raise ValueError(f"check_run: pipeline.{column} has negative or missing capacities")
    result = run.result
    for product in PRODUCTS:
        demand = result.demand_tpa[product]
        if not np.all(np.isfinite(demand)) or np.any(demand <= 0):
            raise ValueError(f"check_run: {product} demand estimate must be positive and finite in every year")
        cap = result.capacity_tpa[product]
        if not np.all(np.isfinite(cap)) or np.any(cap < 0):
            raise ValueError(f"check_run: {product} capacity has negative or non-finite values")
        pct = capacity_percentiles(result, product)
        if not ((pct["capacity_p10_tpa"] <= pct["capacity_p50_tpa"]) & (pct["capacity_p50_tpa"] <= pct["capacity_p90_tpa"])).all():
            raise ValueError(f"check_run: {product} capacity percentiles are out of order")
        cov = result.coverage_year[product]
        if not (np.isin(cov, result.years) | ~np.isfinite(cov)).all():
            raise ValueError(f"check_run: {product} coverage years outside the simulated years")
    if run.slip_fit.n_observed < 2:
        raise ValueError("check_run: the slip fit needs at least two observed builds")
