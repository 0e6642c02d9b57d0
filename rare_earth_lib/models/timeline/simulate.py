"""The Monte Carlo: per-project go/no-go, first output and ramp-up; alliance capacity against demand.

The simulation reads its settings straight from the briefing's validated parameter model
(:class:`rare_earth_lib.parameters.refining_timeline.Params`, or any model that extends it): there is no
second settings class and no second set of defaults or bounds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rare_earth_lib.domain import PRE_CONSTRUCTION_STATUSES, PRODUCING_STATUSES, PRODUCT_COLUMNS, UNDECIDED_STATUSES
from rare_earth_lib.models import buildout
from rare_earth_lib.models.timeline.stats import SlipFit, truncated_slip_quantile

if TYPE_CHECKING:  # pragma: no cover
    from rare_earth_lib.parameters.refining_timeline import Params

PRODUCTS: tuple[str, ...] = ("ndpr_oxide", "dytb_oxide")
"""Products the timeline covers: separated NdPr oxide and separated Dy+Tb oxide."""

PRODUCT_KEYS: dict[str, str] = {"ndpr_oxide": "ndpr", "dytb_oxide": "dytb"}
"""Product -> short prefix used in headline keys (``ndpr_coverage_year_p50``)."""


def simulated_years(params: Params) -> np.ndarray:
    """Calendar years simulated, ``start_year`` to ``horizon_year`` inclusive."""
    return np.arange(params.start_year, params.horizon_year + 1, dtype="int64")


@dataclass(frozen=True)
class SimulationResult:
    """Output of :func:`simulate_trials`.

    Attributes:
        years: calendar years simulated.
        projects: the projects simulated (rows of :func:`rare_earth_lib.models.buildout.refining_pipeline`);
            :attr:`pipeline` is the same with ``completion_probability`` and ``min_slip_years`` added.
        first_output_year: (trials, projects) decimal year of first output, NaN where the project is not
            built in that trial.
        capacity_tpa: product -> (trials, years) alliance capacity, t oxide/yr.
        demand_tpa: product -> (years,) alliance demand estimate, t oxide/yr (before the per-trial factor).
        demand_factor: (trials,) multiplier on demand drawn per trial (all ones when uncertainty is 0).
        coverage_year: product -> (trials,) first year capacity >= threshold x demand; ``inf`` = never
            within the horizon.
        params: the parameter model used.
        as_of_year: the data's as-of date as a decimal year.
        completion_probability, min_slip_years: per project, aligned with ``projects``.
    """

    years: np.ndarray
    projects: pd.DataFrame
    first_output_year: np.ndarray
    capacity_tpa: dict[str, np.ndarray]
    demand_tpa: dict[str, np.ndarray]
    demand_factor: np.ndarray
    coverage_year: dict[str, np.ndarray]
    params: Params
    as_of_year: float
    completion_probability: np.ndarray
    min_slip_years: np.ndarray

    @functools.cached_property
    def pipeline(self) -> pd.DataFrame:
        """The projects simulated with ``completion_probability`` and ``min_slip_years`` added (made when first asked
        for: most runs, the sensitivity's and the explored futures', only need their coverage years)."""
        pipe = self.projects.copy()
        pipe["completion_probability"] = self.completion_probability
        pipe["min_slip_years"] = self.min_slip_years
        return pipe


def _demand_vector(demand: pd.DataFrame, product: str, years: np.ndarray) -> np.ndarray:
    for column in ("year", "product", "tonnes"):
        if column not in demand.columns:
            raise ValueError(f"demand lacks column {column}")
    # Plain numpy: the Monte Carlo asks for this in every run (the sensitivity and Sobol runs make it hundreds of times).
    mask = demand["product"].to_numpy(dtype=object) == product
    row_years = demand["year"].to_numpy()[mask].astype("int64")
    tonnes = demand["tonnes"].to_numpy(dtype="float64")[mask]
    missing = sorted(set(years.tolist()) - set(row_years.tolist()))
    if missing:
        raise ValueError(f"demand has no {product} tonnes for year(s) {missing[:5]}")
    keep = np.isin(row_years, years)
    out = np.zeros(years.size)
    np.add.at(out, np.searchsorted(years, row_years[keep]), tonnes[keep])  # years ascending (simulated_years)
    return out


def min_slip_years(pipeline: pd.DataFrame, as_of_year: float, undated_lead_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Plan each project's slip is measured against, and the slip already known to have happened.

    For a project not yet producing, the slip from its earliest public plan is at least (a) the time past
    that plan (it has not produced by the as-of date) and (b) the gap to its latest public target (targets
    only move later in the analogs). A project with no public date gets a plan ``undated_lead_years`` after
    the as-of date and no known slip.

    Args:
        pipeline: output of :func:`rare_earth_lib.models.buildout.refining_pipeline`.
        as_of_year: the data's as-of date as a decimal year.
        undated_lead_years: years from the as-of date to the plan for projects with no date.

    Returns:
        ``(planned_year, min_slip_years)`` arrays aligned with ``pipeline`` (NaN for producing plants).
    """
    planned = pipeline["planned_first_output_year"].to_numpy(dtype="float64")
    target = pipeline["target_first_output_year"].to_numpy(dtype="float64")
    undated = np.isnan(planned)
    planned = np.where(undated, as_of_year + undated_lead_years, planned)
    target = np.where(np.isnan(target), planned, target)
    known = np.maximum(target - planned, as_of_year - planned)
    known = np.where(undated, 0.0, known)
    producing = (
        ~np.isnan(pipeline["actual_first_output_year"].to_numpy(dtype="float64")) | pipeline["status"].isin(PRODUCING_STATUSES).to_numpy()
    )
    return np.where(producing, np.nan, planned), np.where(producing, np.nan, known)


def coverage_years(
    capacity_tpa: np.ndarray,
    demand_tpa: np.ndarray,
    demand_factor: np.ndarray,
    threshold: float,
    years: np.ndarray,
) -> np.ndarray:
    """First year in each trial where capacity >= threshold x demand x the trial's demand factor.

    Args:
        capacity_tpa: (trials, years) capacity, t/yr.
        demand_tpa: (years,) demand estimate, t/yr.
        demand_factor: (trials,) per-trial demand multiplier.
        threshold: share of demand to cover, in (0, 1].
        years: (years,) calendar years.

    Returns:
        (trials,) float array of years; ``inf`` where never reached within ``years``.

    Raises:
        ValueError: threshold outside (0, 1].
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold!r}")
    need = threshold * np.asarray(demand_tpa)[None, :] * np.asarray(demand_factor)[:, None]
    covered = capacity_tpa >= need - 1e-9
    any_cov = covered.any(axis=1)
    idx = covered.argmax(axis=1)
    return np.where(any_cov, np.asarray(years)[idx].astype("float64"), np.inf)


def _future_first_output(
    pipeline: pd.DataFrame,
    fit: SlipFit,
    params: Params,
    as_of_year: float,
    u_slip: np.ndarray,
    u_stop: np.ndarray,
    built: np.ndarray,
    planned: np.ndarray,
    known: np.ndarray,
) -> np.ndarray:
    """First output (trials, future projects) for the projects not yet producing; updates ``built`` in place.

    Slip conditional on what is known, minimum build time for undecided projects, decision speed-up, and
    the US policy reversal (stop or extra slip) in that order. ``planned`` and ``known`` are :func:`min_slip_years`'s.
    """
    future = ~np.isnan(planned)
    slip = truncated_slip_quantile(fit, u_slip[:, future], known[future][None, :], params.slip_multiplier)
    t0 = planned[future][None, :] + slip
    status = pipeline["status"].to_numpy()[future]
    undecided = np.isin(status, UNDECIDED_STATUSES)
    if params.min_build_years_undecided > 0 and undecided.any():
        t0[:, undecided] = np.maximum(t0[:, undecided], as_of_year + params.min_build_years_undecided)
    speed = np.isin(status, PRE_CONSTRUCTION_STATUSES)
    if params.decision_speedup_years > 0 and speed.any():
        shifted = np.maximum(t0[:, speed] - params.decision_speedup_years, as_of_year)
        t0[:, speed] = np.minimum(t0[:, speed], shifted)
    if params.us_funding_withdrawn:
        us = pipeline["us_backed"].to_numpy(dtype=bool)[future]
        hit = us[None, :] & (t0 > params.us_withdrawal_year)
        stop = hit & (u_stop[:, future] < params.us_backed_stop_share)
        t0 = np.where(hit & ~stop, t0 + params.us_backed_extra_slip_years, t0)
        built[:, future] &= ~stop
    return t0


def ramp_years(u_ramp: np.ndarray, years_to_nameplate: float, spread: float) -> np.ndarray:
    """Ramp-up length per draw: triangular(min, mode, max) around ``years_to_nameplate``, by inverse CDF."""
    mode = years_to_nameplate
    lo = max(1.0, mode * (1.0 - spread))
    hi = mode * (1.0 + spread)
    if hi - lo < 1e-9:
        return np.full(u_ramp.shape, mode)
    c = (mode - lo) / (hi - lo)
    return np.where(
        u_ramp < c,
        lo + np.sqrt(u_ramp * (hi - lo) * (mode - lo)),
        hi - np.sqrt((1.0 - u_ramp) * (hi - lo) * (hi - mode)),
    )


OBSERVED_COLUMNS: dict[str, str] = {prod: f"{prod}_observed_tpa" for prod in PRODUCTS}
"""Product -> pipeline column with the alliance's part of a producing plant's latest observed output rate (t/yr;
NaN or absent = none observed). :func:`rare_earth_lib.models.timeline.run.prepare_pipeline` fills it from the capacity model."""

PLANT_COLUMNS: tuple[str, ...] = (*PRODUCT_COLUMNS.values(), *OBSERVED_COLUMNS.values())
"""Every per-plant tonnage the simulation reads: setting them all to zero removes a plant from the capacity."""


def _slope(ramp: np.ndarray, params: Params) -> np.ndarray:
    """Utilisation gained per year after the first year of output, per draw of the ramp-up length."""
    return (params.mature_utilisation - params.first_year_utilisation) / np.maximum(ramp - 1.0, 1e-9)


def _future_capacity(
    pipeline: pd.DataFrame, first_masked: np.ndarray, ramp: np.ndarray, params: Params, years: np.ndarray
) -> dict[str, np.ndarray]:
    """Capacity (trials, years) per product of plants not yet producing: nameplate x utilisation at mid-year."""
    u1 = params.first_year_utilisation
    mature = params.mature_utilisation
    slope = _slope(ramp, params)
    n = first_masked.shape[0]
    capacities = {prod: np.zeros((n, years.size)) for prod in PRODUCTS}
    nameplates = {prod: pipeline[PRODUCT_COLUMNS[prod]].to_numpy(dtype="float64") for prod in PRODUCTS}
    for k, year in enumerate(years):
        t = (year + 0.5) - first_masked
        util = np.where(t < 0, 0.0, np.minimum(u1 + slope * np.maximum(t - 1.0, 0.0), mature))
        for prod in PRODUCTS:
            capacities[prod][:, k] = util @ nameplates[prod]
    return capacities


def producing_today(pipeline: pd.DataFrame, params: Params, as_of_year: float, known: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Product -> today's capacity of each pipeline plant (t/yr, aligned with ``pipeline``), by the capacity model's rule.

    The latest observed output rate where the pipeline has one (:data:`OBSERVED_COLUMNS`), else nameplate x the
    ramp-up curve on the as-of date (:func:`rare_earth_lib.models.capacity.today_rate`); zero for plants not
    producing. The simulation starts every producing plant here in the year of the as-of date. ``known`` is
    :func:`min_slip_years`'s second array when the caller has it already.
    """
    from rare_earth_lib.models import capacity

    if known is None:
        _, known = min_slip_years(pipeline, as_of_year, params.undated_lead_years)
    producing = np.isnan(known)
    first = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    out = {}
    for prod in PRODUCTS:
        column = OBSERVED_COLUMNS[prod]
        observed = pipeline[column].to_numpy(dtype="float64") if column in pipeline else np.full(len(pipeline), np.nan)
        _, rate = capacity.today_rate(
            pipeline[PRODUCT_COLUMNS[prod]].to_numpy(dtype="float64"),
            observed,
            first,
            as_of_year=as_of_year,
            **capacity.ramp_args(params),
        )
        out[prod] = np.where(producing, np.nan_to_num(rate, nan=0.0), 0.0)
    return out


def _producing_capacity(
    pipeline: pd.DataFrame, built: np.ndarray, ramp: np.ndarray, params: Params, years: np.ndarray, as_of_year: float, known: np.ndarray
) -> dict[str, np.ndarray]:
    """Capacity (trials, years) per product of plants already producing.

    In the year of the as-of date each plant makes today's capacity (:func:`producing_today`); from the next year
    its output rises by the ramp-up curve's yearly gain (nameplate x the trial's slope) until it reaches mature
    output (nameplate x ``mature_utilisation``). A plant already above mature output stays at today's rate.
    """
    from rare_earth_lib.models import capacity

    today = producing_today(pipeline, params, as_of_year, known)
    slope = _slope(ramp, params)
    elapsed = np.maximum(years - np.floor(as_of_year), 0.0)
    n = built.shape[0]
    capacities = {}
    for prod in PRODUCTS:
        nameplate = pipeline[PRODUCT_COLUMNS[prod]].to_numpy(dtype="float64")
        rate = today[prod]
        cols = rate > 0
        if not cols.any():
            capacities[prod] = np.zeros((n, years.size))
            continue
        gain = nameplate[cols][None, :] * slope[:, cols]
        on = built[:, cols]
        start, plate = rate[cols][None, :], nameplate[cols][None, :]
        capacities[prod] = np.stack(
            [(capacity.path_from_today(start, plate, gain, e, params.mature_utilisation) * on).sum(axis=1) for e in elapsed], axis=1
        )
    return capacities


def simulate_trials(pipeline: pd.DataFrame, slip_fit: SlipFit, demand: pd.DataFrame, params: Params, as_of_year: float) -> SimulationResult:
    """Run the Monte Carlo on prepared inputs: go/no-go, first output, ramp-up; capacity vs demand.

    All random numbers come from one ``numpy.random.Generator`` seeded with ``params.seed`` and are drawn
    in a fixed order whatever the parameters (common random numbers across scenarios).

    Args:
        pipeline: alliance refining projects (:func:`rare_earth_lib.models.buildout.refining_pipeline`).
        slip_fit: fitted slip distribution.
        demand: alliance demand estimate, long format with ``year``, ``product`` and ``tonnes`` (t oxide/yr)
            for every simulated year and both products.
        params: the validated parameter model (its fields are the settings; see there for units and bounds).
        as_of_year: the data's as-of date as a decimal year.

    Returns:
        A :class:`SimulationResult`.

    Raises:
        ValueError: an unknown status, or demand missing a year.
    """
    years = simulated_years(params)
    n, p = int(params.n_trials), len(pipeline)
    rng = np.random.default_rng(params.seed)
    # Fixed draw order, independent of the parameters (common random numbers across scenarios).
    u_go, u_slip, u_ramp, u_stop = (rng.random((n, p)) for _ in range(4))
    z_demand = rng.standard_normal(n)

    prob = buildout.completion_probability(pipeline["status"], params.completion_probabilities()).to_numpy()
    built = u_go < prob[None, :]
    planned, known = min_slip_years(pipeline, as_of_year, params.undated_lead_years)
    producing = np.isnan(planned)
    actual = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    first = np.empty((n, p))
    if (~producing).any():
        first[:, ~producing] = _future_first_output(pipeline, slip_fit, params, as_of_year, u_slip, u_stop, built, planned, known)
    first[:, producing] = np.where(np.isnan(actual[producing]), as_of_year - 50.0, actual[producing])[None, :]

    ramp = ramp_years(u_ramp, params.years_to_nameplate, params.ramp_years_spread)
    future = _future_capacity(pipeline, np.where(built & ~producing[None, :], first, np.inf), ramp, params, years)
    now = _producing_capacity(pipeline, built & producing[None, :], ramp, params, years, as_of_year, known)
    capacities = {prod: future[prod] + now[prod] for prod in PRODUCTS}
    sigma = params.demand_uncertainty_sigma
    demand_factor = np.exp(sigma * z_demand - 0.5 * sigma**2)
    demand_tpa = {prod: _demand_vector(demand, prod, years) for prod in PRODUCTS}
    coverage = {
        prod: coverage_years(capacities[prod], demand_tpa[prod], demand_factor, params.coverage_threshold, years) for prod in PRODUCTS
    }

    return SimulationResult(
        years=years,
        projects=pipeline,
        first_output_year=np.where(built, first, np.nan),
        capacity_tpa=capacities,
        demand_tpa=demand_tpa,
        demand_factor=demand_factor,
        coverage_year=coverage,
        params=params,
        as_of_year=float(as_of_year),
        completion_probability=prob,
        min_slip_years=known,
    )
