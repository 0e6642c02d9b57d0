"""The one call behind the alliance-feasibility briefing: parameters (and tables) in, every result out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rare_earth_lib.data import package as data_package
from rare_earth_lib.models import demand as demand_model
from rare_earth_lib.models import exposure as expo
from rare_earth_lib.models import timeline
from rare_earth_lib.models.scorecard.assess import ASSESSMENT_TABLES, Assessment, assess


@dataclass(frozen=True)
class FeasibilityRun:
    """Everything the briefing shows for one scenario.

    Attributes:
        params: the validated parameters; as_of: the data's as-of date; tables: the tables read.
        coverage: product -> the timeline's coverage summary (median year etc.) under the scenario's demand.
        coverage_by_case: demand case -> product -> coverage summary (the headline for all three cases).
        coverage_without_channels: with the control channels on, the scenario's coverage with them off (their
            effect); None otherwise.
        assessment: the scored :class:`Assessment`.
        control_events: dated events of China's rare-earth controls, for the timeline chart.
    """

    params: Any
    as_of: dt.date
    tables: Mapping[str, pd.DataFrame]
    coverage: dict[str, dict[str, Any]]
    coverage_by_case: dict[str, dict[str, dict[str, Any]]]
    assessment: Assessment
    control_events: pd.DataFrame
    coverage_without_channels: dict[str, dict[str, Any]] | None = None


def _coverage(params: Any, tables: Mapping[str, pd.DataFrame], as_of: dt.date, reuse: dict[str, Any]) -> dict[str, dict[str, Any]]:
    run = timeline.run_timeline(
        params, projects=tables["projects"], analogs=tables["build_analogs"], demand=tables["demand"], as_of=as_of, shared=True, reuse=reuse
    )  # the timeline briefing runs the same scenario: once per build
    return {product: timeline.coverage_summary(run.result, product, params.probability_by_year) for product in timeline.PRODUCTS}


def run_feasibility(params: Any, tables: Mapping[str, pd.DataFrame] | None = None, as_of: dt.date | None = None) -> FeasibilityRun:
    """Load the tables (unless given), run the timeline for the three demand cases and assess the scenario.

    The scenario's own demand anchor (``demand_anchor_rule``) drives the scorecard; the timeline is also run
    with the low, central and high demand cases so the headline can be given for all three.
    """
    names = (*ASSESSMENT_TABLES, "build_analogs")
    tables = dict(tables) if tables is not None else {name: data_package.load(name) for name in names}
    as_of = as_of or data_package.as_of()
    by_case = {}
    reuse: dict[str, Any] = {}  # the runs below differ in demand or the control channels: one pipeline and slip model
    for case in demand_model.DEMAND_CASES:
        case_params = params if params.demand_anchor_rule == case else params.model_copy(update={"demand_anchor_rule": case})
        by_case[case] = _coverage(case_params, tables, as_of, reuse)
    coverage = by_case.get(params.demand_anchor_rule) or _coverage(params, tables, as_of, reuse)
    result = assess(
        tables,
        params,
        as_of,
        {product: summary["p50"] for product, summary in coverage.items()},
        {case: {product: s["p50"] for product, s in summaries.items()} for case, summaries in by_case.items()},
    )
    ree_controls = result.control_states[result.control_states["elements"].fillna("") != ""]
    without = (
        _coverage(params.model_copy(update={"control_channels_active": False}), tables, as_of, reuse)
        if params.control_channels_active
        else None
    )
    return FeasibilityRun(params, as_of, tables, coverage, by_case, result, expo.timeline_frame(ree_controls, as_of), without)
