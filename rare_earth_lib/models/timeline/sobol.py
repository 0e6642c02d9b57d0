"""Global sensitivity (Sobol indices, first order and total) of the coverage year and P(covered by the year).

Uses SALib (Saltelli's sampling scheme, ``SALib.sample.sobol``, and ``SALib.analyze.sobol``) over the
uncertain inputs of the timeline whose ranges the parameter layer declares once for every exploration
(:data:`rare_earth_lib.parameters.scenario_discovery.EXPLORATION_SPACE`, inputs of kind "uncertainty"; the
same declaration scenario discovery samples). A loguniform input is sampled uniformly in its logarithm.

Each sampled point is one Monte Carlo run (the scenario's seed, so common random numbers across points)
on the scenario's pipeline and calibrated slip fit, which no explored input moves; only the demand estimate
and the simulation are redone per point. Outputs per product: the P50 coverage year (a trial that never
reaches the threshold counts as ``horizon + 1``) and the probability of coverage by the probability year.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models.timeline.run import prepared
from rare_earth_lib.models.timeline.simulate import PRODUCT_KEYS, simulate_trials, simulated_years
from rare_earth_lib.models.timeline.stats import decimal_as_of
from rare_earth_lib.models.timeline.summaries import coverage_summary

DEFAULT_BASE = 16
"""SALib's base sample size N in the briefing: with the 8 uncertain inputs and first-order and total indices
only, N x (D + 2) = 160 model runs, a few seconds on one core."""

DEFAULT_TRIALS = 200
"""Monte Carlo trials per model run in the briefing's Sobol analysis."""

OUTPUTS: dict[str, str] = {
    "ndpr_coverage_year_p50": "NdPr: P50 coverage year",
    "ndpr_prob_by_year": "NdPr: P(covered by the year)",
    "dytb_coverage_year_p50": "Dy+Tb: P50 coverage year",
    "dytb_prob_by_year": "Dy+Tb: P(covered by the year)",
}


@dataclass(frozen=True)
class SobolResult:
    """Sobol indices with their bootstrap confidence half-widths, and the run's cost.

    Attributes:
        indices: one row per output and input: ``output``, ``output_label``, ``input``, ``label``, ``low``,
            ``high``, ``distribution``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, ``interaction`` (ST - S1).
        second_order: ``output``, ``input_a``, ``input_b``, ``S2``, ``S2_conf`` (empty unless asked for).
        n_base: SALib's base sample size N; ``n_evaluations`` = N x (D + 2) model runs, N x (2D + 2) with
            second-order indices.
        n_trials: Monte Carlo trials per evaluation.
        seconds: wall time of the evaluations.
        output_range: output -> (lowest, highest) value over the sampled points: a narrow range means the
            indices share out a small variance.
    """

    indices: pd.DataFrame
    second_order: pd.DataFrame
    n_base: int
    n_evaluations: int
    n_trials: int
    seconds: float
    output_range: dict[str, tuple[float, float]] = field(default_factory=dict)


def uncertain_inputs() -> dict[str, Any]:
    """The explored inputs of kind "uncertainty" (name -> Explore declaration)."""
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE

    return {name: spec for name, spec in EXPLORATION_SPACE.items() if spec.kind == "uncertainty"}


def _problem(space: dict[str, Any]) -> dict[str, Any]:
    bounds = [[float(np.log(s.low)), float(np.log(s.high))] if s.distribution == "loguniform" else [s.low, s.high] for s in space.values()]
    return {"num_vars": len(space), "names": list(space), "bounds": bounds}


def _evaluate(
    params: Any,
    tables: dict[str, pd.DataFrame],
    as_of: Any,
    space: dict[str, Any],
    x: np.ndarray,
    n_trials: int,
    reuse: MutableMapping[str, Any] | None = None,
) -> np.ndarray:
    """Model outputs (rows of x, columns of :data:`OUTPUTS`) for the sampled points ``x``."""
    from rare_earth_lib.models.discovery import _DemandEstimate

    pipeline, (_, fit, _, _), params = prepared(params, tables["projects"], tables["build_analogs"], as_of, reuse)  # as a run does
    demand = _DemandEstimate(tables["demand"])
    as_of_year = decimal_as_of(as_of)
    base = params.model_dump()
    names = list(space)
    logs = [space[n].distribution == "loguniform" for n in names]
    horizon = params.horizon_year
    out = np.empty((x.shape[0], len(OUTPUTS)))
    for i, row in enumerate(x):
        values = {n: float(np.exp(v) if lg else v) for n, v, lg in zip(names, row, logs, strict=True)}
        point = type(params).model_validate({**base, **values, "n_trials": int(n_trials)})
        result = simulate_trials(pipeline, fit, demand.totals(point, simulated_years(point)), point, as_of_year)
        row_out = []
        for product in PRODUCT_KEYS:
            s = coverage_summary(result, product, params.probability_by_year)
            row_out += [horizon + 1 if s["p50"] is None else s["p50"], s["prob_by_year"]]
        out[i] = row_out
    return out


def _index_rows(res: Any, space: dict[str, Any], output: str, output_label: str, second_order: bool) -> tuple[list[dict], list[dict]]:
    """SALib's indices of one output as rows: one per input (S1, ST with confidence half-widths), one per pair (S2)."""
    names = list(space)
    rows, pairs = [], []
    for j, name in enumerate(names):
        spec = space[name]
        rows.append(
            {
                "output": output,
                "output_label": output_label,
                "input": name,
                "label": spec.label,
                "low": spec.low,
                "high": spec.high,
                "distribution": spec.distribution,
                "S1": float(res["S1"][j]),
                "S1_conf": float(res["S1_conf"][j]),
                "ST": float(res["ST"][j]),
                "ST_conf": float(res["ST_conf"][j]),
            }
        )
        for m in range(j + 1, len(names) if second_order else 0):
            pairs.append(
                {
                    "output": output,
                    "input_a": name,
                    "input_b": names[m],
                    "S2": float(res["S2"][j, m]),
                    "S2_conf": float(res["S2_conf"][j, m]),
                }
            )
    return rows, pairs


def sobol_indices(
    params: Any,
    tables: dict[str, pd.DataFrame],
    *,
    as_of: Any,
    n_base: int = DEFAULT_BASE,
    n_trials: int = DEFAULT_TRIALS,
    seed: int = 20261130,
    second_order: bool = False,
    reuse: MutableMapping[str, Any] | None = None,
) -> SobolResult:
    """First-order and total Sobol indices of the coverage outputs over the uncertain inputs.

    Args:
        params: the scenario's validated parameter model (inputs not explored keep its values).
        tables: ``projects``, ``build_analogs``, ``demand``.
        as_of: the data's as-of date.
        n_base: SALib's base sample size (a power of 2); the model runs N x (D + 2) times (N x (2D + 2) with
            ``second_order``).
        n_trials: Monte Carlo trials per evaluation (the outputs of a small run are noisy; SALib's bootstrap
            confidence half-widths, reported beside each index, include that noise).
        seed: seed of the Sobol sequence's scrambling.
        second_order: also estimate the pairwise (second-order) indices; almost doubles the cost, and at
            small N their bootstrap intervals straddle zero, so the briefing shows each input's interaction
            share (total minus first order) instead.
        reuse: the timeline runs' reuse cache (:func:`~rare_earth_lib.models.timeline.run.run_timeline`): the
            pipeline and slip model prepared by other runs on the same tables with equal fields are taken from it.

    Raises:
        ValueError: ``n_base`` not a power of two.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if n_base < 2 or n_base & (n_base - 1):
        raise ValueError(f"n_base must be a power of two; got {n_base}")
    space = uncertain_inputs()
    problem = _problem(space)
    x = sobol_sample.sample(problem, n_base, calc_second_order=second_order, seed=seed)
    start = time.perf_counter()
    y = _evaluate(params, tables, as_of, space, x, n_trials, reuse)
    seconds = time.perf_counter() - start
    rows, pairs = [], []
    for k, (output, label) in enumerate(OUTPUTS.items()):
        with warnings.catch_warnings():  # an output no input moves has zero variance: NaN indices, said in the briefing
            warnings.simplefilter("ignore")
            res = sobol_analyze.analyze(problem, y[:, k], calc_second_order=second_order, print_to_console=False, seed=seed)
        first, second = _index_rows(res, space, output, label.replace("the year", str(params.probability_by_year)), second_order)
        rows += first
        pairs += second
    indices = pd.DataFrame(rows)
    indices["interaction"] = (indices["ST"] - indices["S1"]).clip(lower=0.0)
    pairs_frame = pd.DataFrame(pairs, columns=["output", "input_a", "input_b", "S2", "S2_conf"])
    ranges = {output: (float(y[:, k].min()), float(y[:, k].max())) for k, output in enumerate(OUTPUTS)}
    return SobolResult(indices, pairs_frame, int(n_base), int(x.shape[0]), int(n_trials), float(seconds), ranges)


def top_input(indices: pd.DataFrame, output: str) -> dict[str, Any] | None:
    """The input with the largest total index for ``output``: ``label``, ``ST``, ``S1``, ``interaction``."""
    rows = indices[(indices["output"] == output) & np.isfinite(indices["ST"])]
    if rows.empty or not rows["ST"].max() > 0:
        return None  # the output does not vary within the ranges explored
    row = rows.loc[rows["ST"].idxmax()]
    return {
        "input": row["input"],
        "label": row["label"],
        "ST": float(row["ST"]),
        "S1": float(row["S1"]),
        "interaction": float(row["interaction"]),
    }


def sobol_metrics(result: SobolResult) -> dict[str, Any]:
    """Manifest metrics of a Sobol run: per output of :data:`OUTPUTS`, the input with the largest total index
    (``sobol_top_input_<output>``, its label or ``None`` when no input moves the output), its total and
    first-order indices (``sobol_top_total_<output>``, ``sobol_top_first_order_<output>``); and the run's size
    (``sobol_n_base``, ``sobol_n_evaluations``, ``sobol_trials_per_evaluation``)."""
    out: dict[str, Any] = {}
    for output in OUTPUTS:
        top = top_input(result.indices, output)
        out[f"sobol_top_input_{output}"] = None if top is None else top["label"]
        out[f"sobol_top_total_{output}"] = None if top is None else round(top["ST"], 3)
        out[f"sobol_top_first_order_{output}"] = None if top is None else round(top["S1"], 3)
    out["sobol_n_base"] = result.n_base
    out["sobol_n_evaluations"] = result.n_evaluations
    out["sobol_trials_per_evaluation"] = result.n_trials
    return out
