"""Everything the refining-timeline briefing shows, computed in one call from parameters and tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rare_earth_lib.models import capacity
from rare_earth_lib.models import demand as demand_model
from rare_earth_lib.models.timeline.headline import headline
from rare_earth_lib.models.timeline.hindcast import hindcast, hindcast_coverage, mark_stalled
from rare_earth_lib.models.timeline.run import TimelineRun, announced_capacity, check_run, run_timeline
from rare_earth_lib.models.timeline.sensitivity import sensitivity
from rare_earth_lib.models.timeline.simulate import PRODUCT_KEYS, PRODUCTS, simulate_trials, simulated_years
from rare_earth_lib.models.timeline.sobol import SobolResult, sobol_indices, sobol_metrics
from rare_earth_lib.models.timeline.stats import decimal_as_of
from rare_earth_lib.models.timeline.summaries import coverage_range, coverage_summary
from rare_earth_lib.models.timeline.tables import pipeline_table


@dataclass(frozen=True)
class WorldShares:
    """The world separation projection to 2035 and its benchmark against published projections.

    Attributes:
        projection: :class:`rare_earth_lib.models.projection.WorldProjection` built on the scenario's run.
        table: :func:`~rare_earth_lib.models.projection.projection_table` by country.
        benchmark: :func:`~rare_earth_lib.models.projection.benchmark_table`.
        decomposition: :func:`~rare_earth_lib.models.projection.decompose_gap` (NdPr, 2030).
        metrics: :func:`~rare_earth_lib.models.projection.projection_metrics` (manifest keys).
    """

    projection: Any
    table: pd.DataFrame
    benchmark: pd.DataFrame
    decomposition: Any
    metrics: dict[str, Any]


def world_shares(run: TimelineRun, tables: Mapping[str, pd.DataFrame], as_of: Any) -> WorldShares:
    """The world projection by country on the scenario's own run, with the IEA comparison."""
    from rare_earth_lib.models import projection as pj  # imports this package's run module: imported when needed

    proj = pj.project(run, tables, as_of=as_of)
    return WorldShares(
        projection=proj,
        table=pj.projection_table(proj),
        benchmark=pj.benchmark_table(proj, tables["projections"]),
        decomposition=pj.decompose_gap(proj, tables["projections"], tables["demand"]),
        metrics=pj.projection_metrics(proj, tables["projections"]),
    )


BRIEFING_TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand", "chain_output", "growth_rates", "projections", "stage_shares")
"""Tables the briefing loads: the timeline's and the world projection's (``models.projection.TABLES``)."""


@dataclass(frozen=True)
class TimelineResults:
    """The briefing's results.

    Attributes:
        run: the scenario's run (calibrated spread unless the scenario sets one).
        plain_run: the same scenario with the plain (uncalibrated) slip fit, or ``None`` when the scenario
            sets the spread itself; reported once beside the calibrated run.
        hindcast: leave-one-out hindcast with the run's spread; ``hindcast_cov`` its coverage counts.
        sensitivity: one-at-a-time sensitivity table.
        headline: the manifest's headline metrics.
        summary, plain_summary: product -> :func:`coverage_summary`.
        ranges: short key ("ndpr", "dytb") -> :func:`coverage_range`.
        pipeline: :func:`pipeline_table` (windows over all trials; past targets flagged against ``today``).
        announced: the as-announced capacity path.
        today: the build date.
        demand_cases: one row per demand case (low, central, high) and product: demand in the first simulated
            year and the probability year, today's capacity over first-year demand, and the coverage-year
            summary of the same simulation run against that case's demand (the one alliance demand model's range).
        sobol: Sobol indices of the coverage outputs over the uncertain inputs (default sample size).
        world: the world projection to 2035 and its IEA comparison (``None`` when ``tables`` lacks the
            projection's tables).
    """

    run: TimelineRun
    plain_run: TimelineRun | None
    hindcast: pd.DataFrame
    hindcast_cov: dict[str, Any]
    sensitivity: pd.DataFrame
    headline: dict[str, Any]
    summary: dict[str, dict[str, Any]]
    plain_summary: dict[str, dict[str, Any]] | None
    ranges: dict[str, dict[str, Any]]
    pipeline: pd.DataFrame
    announced: pd.DataFrame
    today: dt.date
    demand_cases: pd.DataFrame
    sobol: SobolResult
    world: WorldShares | None = None


def briefing_results(params: Any, tables: Mapping[str, pd.DataFrame], *, as_of: Any, today: dt.date) -> TimelineResults:
    """Run the scenario, its hindcast, both sensitivities (one at a time, Sobol), the uncalibrated comparison and the briefing's frames.

    Args:
        params: the validated parameter model.
        tables: ``projects``, ``build_analogs`` and ``demand``; with all of :data:`BRIEFING_TABLES`, also the world
            projection (its metrics join the headline).
        as_of: the data's as-of date.
        today: the build date.
    """
    projects, analogs, demand = tables["projects"], tables["build_analogs"], tables["demand"]
    reuse: dict[str, Any] = {}  # the stages that the scenario's, sensitivity, uncalibrated and Sobol runs share
    run = run_timeline(params, projects=projects, analogs=analogs, demand=demand, as_of=as_of, shared=True, reuse=reuse)  # once per build
    check_run(run)
    table = hindcast(
        analogs, as_of=as_of, scope=params.analog_scope, offset_years=params.slip_offset_years, spread_factor=run.spread_factor
    )
    table = mark_stalled(table, analogs, projects)
    sens = sensitivity(params, projects=projects, analogs=analogs, demand=demand, as_of=as_of, base=run, reuse=reuse)
    by_year = params.probability_by_year
    plain_run = None
    if run.calibration is not None:
        plain_params = type(params).model_validate({**params.model_dump(), "calibrate_slip_spread": False, "slip_spread_factor": 1.0})
        plain_run = run_timeline(plain_params, projects=projects, analogs=analogs, demand=demand, as_of=as_of, reuse=reuse)
    today_exact = capacity.today_metrics(projects, params, as_of, digits=None)
    today_capacity = {key: round(value, capacity.METRIC_DIGITS) for key, value in today_exact.items()}
    cases = demand_case_table(run, demand, params, as_of, today_exact)
    sobol = sobol_indices(params, dict(tables), as_of=as_of, reuse=reuse)
    world = world_shares(run, tables, as_of) if all(name in tables for name in BRIEFING_TABLES) else None
    head = {
        **headline(run, table, sens),
        **today_capacity,
        **demand_case_metrics(cases, by_year),
        **sobol_metrics(sobol),
        **({} if world is None else world.metrics),
    }
    return TimelineResults(
        run=run,
        plain_run=plain_run,
        hindcast=table,
        hindcast_cov=hindcast_coverage(table),
        sensitivity=sens,
        headline=head,
        summary={p: coverage_summary(run.result, p, by_year) for p in PRODUCTS},
        plain_summary=None if plain_run is None else {p: coverage_summary(plain_run.result, p, by_year) for p in PRODUCTS},
        ranges={PRODUCT_KEYS[p]: coverage_range(run.result, p) for p in PRODUCTS},
        pipeline=pipeline_table(run, today, as_of=as_of, projects=projects),
        announced=announced_capacity(params, projects, as_of),
        today=today,
        demand_cases=cases,
        sobol=sobol,
        world=world,
    )


def demand_case_table(run: TimelineRun, demand: pd.DataFrame, params: Any, as_of: Any, today_capacity: Mapping[str, float]) -> pd.DataFrame:
    """The headline answers under each demand case of the one demand model (low, central, high).

    The same pipeline, slip fit and random numbers as the scenario's run; only the demand differs, so the
    differences between rows come from demand alone.
    """
    years = simulated_years(params)
    as_of_year = decimal_as_of(as_of)
    by_year = params.probability_by_year
    rows = []
    for case in demand_model.DEMAND_CASES:
        totals = demand_model.sum_regions(demand_model.case_demand(demand, years, params, case))
        result = simulate_trials(run.pipeline, run.slip_fit, totals, run.result.params, as_of_year)
        for product in PRODUCTS:
            tonnes = totals[totals["product"] == product].set_index("year")["tonnes"]
            s = coverage_summary(result, product, by_year)
            rows.append(
                {
                    "case": case,
                    "case_label": demand_model.CASE_LABELS[case],
                    "product": product,
                    "demand_first_year_t": float(tonnes.loc[params.start_year]),
                    "demand_by_year_t": float(tonnes.loc[by_year]),
                    "today_coverage": today_capacity[capacity.METRIC_KEYS[product]] / float(tonnes.loc[params.start_year]),
                    **{k: s[k] for k in ("prob_by_year", "share_never")},
                    **{k: pd.NA if s[k] is None else s[k] for k in ("p10", "p50", "p90")},
                }
            )
    out = pd.DataFrame(rows)
    for column in ("p10", "p50", "p90"):
        out[column] = out[column].astype("Int64")
    return out


def demand_case_metrics(cases: pd.DataFrame, by_year: int) -> dict[str, Any]:
    """Manifest metrics of :func:`demand_case_table`: ``<product>_coverage_year_p50_<case>``,
    ``<product>_prob_by_<year>_<case>``, ``<product>_share_never_reached_<case>``, ``<product>_today_coverage_<case>``."""
    out: dict[str, Any] = {}
    for row in cases.itertuples(index=False):
        key = PRODUCT_KEYS[row.product]
        out[f"{key}_coverage_year_p50_{row.case}"] = None if pd.isna(row.p50) else int(row.p50)
        out[f"{key}_prob_by_{by_year}_{row.case}"] = round(float(row.prob_by_year), 4)
        out[f"{key}_share_never_reached_{row.case}"] = round(float(row.share_never), 4)
        out[f"{key}_today_coverage_{row.case}"] = round(float(row.today_coverage), 4)
    return out
