"""Scenario discovery: sample the declared scenario space, evaluate every scenario on Dask, find where the goal holds.

Method (each step a function below):

1. **Sampling** (:func:`sample_space`). A scrambled Latin hypercube (``scipy.stats.qmc``) over the inputs
   declared in :data:`rare_earth_lib.parameters.scenario_discovery.EXPLORATION_SPACE`, mapped to each
   input's range and distribution; inputs not explored keep the scenario's value.
2. **Evaluation** (:func:`evaluate_scenarios`, :func:`evaluate_chunk`). Each sampled scenario runs the
   timeline Monte Carlo with ``discovery_trials`` trials and the scenario file's ``seed``. Every scenario uses
   the same seed (common random numbers): two scenarios differ only through their inputs, and a scenario's
   result depends on nothing but its inputs, so the results are the same bit for bit however the scenarios
   are split into chunks and whichever worker runs a chunk. Per scenario: coverage year P10/P50/P90,
   P(covered by the probability year) and the share never covered, for NdPr and Dy+Tb.
3. **Dask** (:func:`connect`, :func:`check_workers`). Chunks of scenarios are mapped over a Dask
   ``distributed`` cluster: the scheduler named by the ``dask_scheduler`` parameter or the
   ``DASK_SCHEDULER_ADDRESS`` environment variable, else a ``LocalCluster``. Workers whose installed
   ``rare_earth_lib`` differs from the client's (:func:`library_hash`) are refused before anything runs. A worker
   lost mid-run is replaced by Dask, which re-runs its chunks; the results do not change.
4. **Cache** (:func:`cached_evaluation`). Results are stored as Parquet under a name that is the content
   hash of everything they depend on (explored space, fixed inputs, sizes, seeds, data tables, model code),
   so re-running the briefing for its text does not recompute them.
5. **Analysis** (:func:`prim_boxes`, :func:`feature_scores`). PRIM from the EMA Workbench finds boxes of the
   input space where the goal holds; extra-trees feature scoring (EMA Workbench) ranks the inputs.
"""

from __future__ import annotations

from rare_earth_lib.models.dask_workers import LibraryMismatchError, check_workers, quiet_dask
from rare_earth_lib.models.discovery.analysis import (
    GOAL_PRODUCTS,
    PRIM_OUTCOMES,
    PrimResult,
    analyse_goals,
    box_conditions,
    box_rectangle,
    box_table,
    box_table_all,
    boxes_for_chart,
    feature_scores,
    goal_met,
    in_box,
    prim_boxes,
    primary_goal,
    strongest_inputs,
    trajectory_for_chart,
)
from rare_earth_lib.models.discovery.cache import CACHE_ENV, Evaluation, cache_dir, cached_evaluation, evaluation_code_hash, evaluation_key
from rare_earth_lib.models.discovery.cluster import DASK_SCHEDULER_ENV, connect, evaluate_scenarios, scheduler_address
from rare_earth_lib.models.discovery.evaluate import (
    OUTCOME_COLUMNS,
    TABLES,
    Tables,
    _DemandEstimate,
    chunks,
    evaluate_chunk,
    frame_hash,
    scenario_run_outcomes,
)
from rare_earth_lib.models.discovery.space import demand_cases_outside, fixed_inputs, sample_space, scenario_point, space_table
from rare_earth_lib.models.fingerprint import library_hash

__all__ = [
    "CACHE_ENV",
    "DASK_SCHEDULER_ENV",
    "Evaluation",
    "GOAL_PRODUCTS",
    "PRIM_OUTCOMES",
    "LibraryMismatchError",
    "OUTCOME_COLUMNS",
    "PrimResult",
    "TABLES",
    "Tables",
    "_DemandEstimate",
    "analyse_goals",
    "box_conditions",
    "box_rectangle",
    "box_table",
    "box_table_all",
    "boxes_for_chart",
    "cache_dir",
    "cached_evaluation",
    "demand_cases_outside",
    "check_workers",
    "chunks",
    "connect",
    "evaluate_chunk",
    "evaluate_scenarios",
    "evaluation_code_hash",
    "evaluation_key",
    "feature_scores",
    "fixed_inputs",
    "frame_hash",
    "goal_met",
    "in_box",
    "library_hash",
    "prim_boxes",
    "primary_goal",
    "quiet_dask",
    "sample_space",
    "scenario_point",
    "scenario_run_outcomes",
    "scheduler_address",
    "space_table",
    "strongest_inputs",
    "trajectory_for_chart",
]
