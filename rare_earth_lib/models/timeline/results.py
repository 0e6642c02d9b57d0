"""Everything the refining-timeline briefing shows, computed in one call from parameters and tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rare_earth_lib.models.timeline.headline import headline
from rare_earth_lib.models.timeline.hindcast import hindcast, hindcast_coverage
from rare_earth_lib.models.timeline.run import TimelineRun, announced_capacity, check_run, run_timeline
from rare_earth_lib.models.timeline.sensitivity import sensitivity
from rare_earth_lib.models.timeline.simulate import PRODUCT_KEYS, PRODUCTS
from rare_earth_lib.models.timeline.summaries import coverage_range, coverage_summary
from rare_earth_lib.models.timeline.tables import pipeline_table


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


def briefing_results(params: Any, tables: Mapping[str, pd.DataFrame], *, as_of: Any, today: dt.date) -> TimelineResults:
    """Run the scenario, its hindcast, sensitivity, the uncalibrated comparison and the briefing's frames.

    Args:
        params: the validated parameter model.
        tables: ``projects``, ``build_analogs`` and ``demand``.
        as_of: the data's as-of date.
        today: the build date.
    """
    projects, analogs, demand = tables["projects"], tables["build_analogs"], tables["demand"]
    run = run_timeline(params, projects=projects, analogs=analogs, demand=demand, as_of=as_of)
    check_run(run)
    table = hindcast(
        analogs, as_of=as_of, scope=params.analog_scope, offset_years=params.slip_offset_years, spread_factor=run.spread_factor
    )
    sens = sensitivity(params, projects=projects, analogs=analogs, demand=demand, as_of=as_of, base=run)
    by_year = params.probability_by_year
    plain_run = None
    if run.calibration is not None:
        plain_params = type(params).model_validate({**params.model_dump(), "calibrate_slip_spread": False, "slip_spread_factor": 1.0})
        plain_run = run_timeline(plain_params, projects=projects, analogs=analogs, demand=demand, as_of=as_of)
    return TimelineResults(
        run=run,
        plain_run=plain_run,
        hindcast=table,
        hindcast_cov=hindcast_coverage(table),
        sensitivity=sens,
        headline=headline(run, table, sens),
        summary={p: coverage_summary(run.result, p, by_year) for p in PRODUCTS},
        plain_summary=None if plain_run is None else {p: coverage_summary(plain_run.result, p, by_year) for p in PRODUCTS},
        ranges={PRODUCT_KEYS[p]: coverage_range(run.result, p) for p in PRODUCTS},
        pipeline=pipeline_table(run, today),
        announced=announced_capacity(params, projects, as_of),
        today=today,
    )
