"""Monte Carlo timeline to alliance refining capacity, with a hindcast on past builds and sensitivities.

Method (each step a function below):

1. **Slips from the analogs** (:func:`analog_slips`, :func:`fit_slip_distribution`). For every historical
   build, slip = actual first output - the first output planned at the decision, in years. Builds that have
   not reached first output are *right-censored*: their slip is only known to be at least the time elapsed
   since the planned date. ``slip + offset`` is fitted by maximum likelihood to a log-normal distribution,
   where the observed slips contribute their density and the censored ones their survival probability
   (the chance of a slip at least that long). The offset (default one year) puts on-time and slightly early
   builds inside the log-normal's support.
2. **Per-project draws** (:func:`simulate`). For each project and trial: go/no-go with the completion
   probability of its status; slip drawn from the fitted distribution *conditional on what is already
   known* (a plant still not producing has slipped at least until today, and at least until its latest
   public target), positive slips scaled by the slip multiplier; a project without an investment decision
   (feasibility, pre-FID, stalled) produces no sooner than a minimum build time from today; decision
   speed-up for projects before construction; optional US policy reversal (US-backed projects not yet producing at the withdrawal year
   stop with a given probability, or slip further); ramp-up length drawn from a triangular distribution.
3. **Capacity and coverage.** Alliance capacity per year and trial = sum of nameplate x ramp-up
   utilisation over the plants built; it covers demand in a year when capacity >= threshold x demand
   (demand optionally drawn per trial around the estimate). The coverage year of a trial is the first such
   year; a trial that never covers demand within the horizon is kept and counted as "never".
4. **Percentiles.** P10/P50/P90 are empirical quantiles ("inverted CDF": the first year by which at least
   that share of trials are covered); if the quantile falls among the never-reached trials it is ``None``.

All random numbers come from one seeded ``numpy.random.Generator`` and are drawn in a fixed order,
whatever the parameters: the same seed gives the same numbers, and two scenarios differ only through
their parameters (common random numbers), so a scenario that only delays or removes plants never
covers demand earlier in any trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import PRE_CONSTRUCTION_STATUSES, PRODUCING_STATUSES, UNDECIDED_STATUSES
from rare_earth_lib.models import buildout

if TYPE_CHECKING:  # pragma: no cover
    from rare_earth_lib.parameters.refining_timeline import Params

PRODUCTS: tuple[str, ...] = ("ndpr_oxide", "dytb_oxide")
"""Products the timeline covers: separated NdPr oxide and separated Dy+Tb oxide."""

PRODUCT_KEYS: dict[str, str] = {"ndpr_oxide": "ndpr", "dytb_oxide": "dytb"}
"""Product -> short prefix used in headline keys (``ndpr_coverage_year_p50``)."""

ANALOG_SCOPES: dict[str, tuple[str, ...] | None] = {
    "refining": ("mining", "cracking", "separation", "heavy_separation"),
    "all": None,
}
"""Analog scope -> stages of the historical builds used to fit the slip distribution (None = all)."""


_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------------
# Normal distribution helpers (numpy only; accurate to ~1e-7, plenty for Monte Carlo)
# --------------------------------------------------------------------------------------------------
def _log_erfc_pos(x: np.ndarray) -> np.ndarray:
    """log(erfc(x)) for x >= 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7)."""
    x = np.minimum(x, 1e150)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (
        1.00002368
        + t
        * (
            0.37409196
            + t
            * (
                0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))
            )
        )
    )
    return np.log(t) - x * x + poly


def norm_logsf(z: np.ndarray | float) -> np.ndarray:
    """log P(Z > z) for a standard normal Z, stable far into both tails."""
    z = np.asarray(z, dtype="float64")
    x = z / _SQRT2
    pos = np.log(0.5) + _log_erfc_pos(np.abs(x))
    # For z < 0: P(Z > z) = 1 - P(Z > |z|).
    neg = np.log1p(-np.exp(np.minimum(pos, -1e-300)))
    return np.where(z >= 0, pos, neg)


def norm_sf(z: np.ndarray | float) -> np.ndarray:
    """P(Z > z) for a standard normal Z."""
    return np.exp(norm_logsf(z))


def norm_ppf(p: np.ndarray | float) -> np.ndarray:
    """Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9).

    Args:
        p: probabilities in (0, 1); 0 and 1 map to -inf and +inf.
    """
    p = np.asarray(p, dtype="float64")
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01, -1.328068155288572e01)
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p_low = 0.02425
    with np.errstate(divide="ignore", invalid="ignore"):
        q = p - 0.5
        r = q * q
        central = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
        ql = np.sqrt(-2.0 * np.log(np.clip(p, 1e-300, None)))
        lower = (((((c[0] * ql + c[1]) * ql + c[2]) * ql + c[3]) * ql + c[4]) * ql + c[5]) / (
            (((d[0] * ql + d[1]) * ql + d[2]) * ql + d[3]) * ql + 1.0
        )
        qu = np.sqrt(-2.0 * np.log(np.clip(1.0 - p, 1e-300, None)))
        upper = -(((((c[0] * qu + c[1]) * qu + c[2]) * qu + c[3]) * qu + c[4]) * qu + c[5]) / (
            (((d[0] * qu + d[1]) * qu + d[2]) * qu + d[3]) * qu + 1.0
        )
    out = np.where(p < p_low, lower, np.where(p > 1.0 - p_low, upper, central))
    out = np.where(p <= 0.0, -np.inf, out)
    return np.where(p >= 1.0, np.inf, out)


# --------------------------------------------------------------------------------------------------
# Slip distribution
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlipFit:
    """A log-normal fitted to ``slip_years + offset_years``.

    Attributes:
        mu: mean of log(slip + offset), log-years.
        sigma: standard deviation of log(slip + offset).
        offset_years: shift added to slips before taking logs (years).
        n_observed: builds with an observed first output used in the fit.
        n_censored: builds not yet producing, used as "slip at least this long".
        analog_ids: ids of the analogs used.
    """

    mu: float
    sigma: float
    offset_years: float
    n_observed: int
    n_censored: int
    analog_ids: tuple[str, ...] = field(default=())

    def quantile(self, q: float | np.ndarray, min_slip_years: float | np.ndarray = -np.inf) -> np.ndarray:
        """Slip (years) at probability ``q``, conditional on the slip being at least ``min_slip_years``."""
        return truncated_slip_quantile(self, q, min_slip_years)

    def median_years(self) -> float:
        """Unconditional median slip in years."""
        return float(math.exp(self.mu) - self.offset_years)


def analog_slips(analogs: pd.DataFrame, *, as_of: Any, scope: str = "refining", greenfield_only: bool = False) -> pd.DataFrame:
    """Planned-vs-actual slip to first output of each historical build, censored where not yet built.

    Args:
        analogs: the data package's build_analogs table.
        as_of: the data's as-of date (date-like); builds without first output are censored here.
        scope: ``"refining"`` (mining, cracking and separation builds) or ``"all"`` (also magnet and
            metal plants).
        greenfield_only: keep only greenfield builds.

    Returns:
        One row per usable analog: ``analog_id``, ``project``, ``country``, ``stage``, ``greenfield``,
        ``decision_year``, ``planned_year``, ``actual_year`` (NaN if not reached), ``reached`` (bool),
        ``slip_years`` (actual - planned; for censored builds the elapsed time, a lower bound),
        ``censored`` (bool), ``source_ids``. Analogs without a planned date are dropped.

    Raises:
        ValueError: unknown scope or a missing column.
    """
    if scope not in ANALOG_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(ANALOG_SCOPES)}; got {scope!r}")
    required = ["analog_id", "project", "stage", "decision_date", "planned_first_output_date", "actual_first_output_date"]
    missing = [c for c in required if c not in analogs.columns]
    if missing:
        raise ValueError(f"analogs lacks column(s) {', '.join(missing)}")
    as_of_year = float(buildout.decimal_year([as_of])[0])
    if math.isnan(as_of_year):
        raise ValueError(f"as_of must be a date; got {as_of!r}")
    frame = analogs
    stages = ANALOG_SCOPES[scope]
    if stages is not None:
        listed = frame["stage"].astype("string").fillna("").str.split(";")
        frame = frame.loc[listed.map(lambda items: any(s.strip() in stages for s in items)).astype(bool)]
    if greenfield_only and "greenfield" in frame:
        frame = frame.loc[frame["greenfield"].fillna(False).astype(bool)]
    planned = buildout.decimal_year(frame["planned_first_output_date"])
    actual = buildout.decimal_year(frame["actual_first_output_date"])
    if "reached_first_output" in frame:
        reached = frame["reached_first_output"].fillna(False).astype(bool).to_numpy() & ~np.isnan(actual)
    else:
        reached = ~np.isnan(actual)
    out = pd.DataFrame(
        {
            "analog_id": frame["analog_id"].astype("string").to_numpy(),
            "project": frame["project"].astype("string").to_numpy(),
            "country": frame["country"].astype("string").to_numpy() if "country" in frame else pd.NA,
            "stage": frame["stage"].astype("string").to_numpy(),
            "greenfield": frame["greenfield"].astype("boolean").to_numpy() if "greenfield" in frame else pd.NA,
            "decision_year": buildout.decimal_year(frame["decision_date"]),
            "planned_year": planned,
            "actual_year": np.where(reached, actual, np.nan),
            "reached": reached,
        }
    )
    out["slip_years"] = np.where(reached, out["actual_year"] - planned, as_of_year - planned)
    out["censored"] = ~reached
    out["source_ids"] = frame["source_ids"].astype("string").to_numpy() if "source_ids" in frame else pd.NA
    out = out.loc[~np.isnan(planned)].reset_index(drop=True)
    for column in ("analog_id", "project", "country", "stage", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def _censored_lognormal_loglik(mu: np.ndarray, sigma: np.ndarray, observed: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Log-likelihood on a grid of (mu, sigma) for log-normal data with right-censoring."""
    ll = np.zeros(np.broadcast(mu, sigma).shape)
    if observed.size:
        z = (np.log(observed)[None, :] - mu[..., None]) / sigma[..., None]
        ll = ll + np.sum(-0.5 * z * z - np.log(sigma[..., None]) - np.log(observed)[None, :], axis=-1)
    if censored.size:
        zc = (np.log(censored)[None, :] - mu[..., None]) / sigma[..., None]
        ll = ll + np.sum(norm_logsf(zc), axis=-1)
    return ll


def fit_slip_distribution(slips: pd.DataFrame, *, offset_years: float = 1.0, exclude: Sequence[str] = ()) -> SlipFit:
    """Fit a log-normal to ``slip + offset`` by maximum likelihood, with censored builds as lower bounds.

    Observed slips contribute the log-normal density; censored builds (not yet producing) contribute the
    probability of a slip at least as long as the time already elapsed. Censored builds whose elapsed time
    is shorter than ``-offset_years`` carry no information and are ignored; observed slips earlier than
    ``-offset_years`` are clipped to just above it. The maximum is found by a grid search refined three
    times (deterministic; no optimiser tolerances to tune).

    Args:
        slips: output of :func:`analog_slips` (``analog_id``, ``slip_years``, ``censored``).
        offset_years: shift added before taking logs (years, > 0).
        exclude: analog ids to leave out (leave-one-out hindcasts).

    Returns:
        The fitted :class:`SlipFit`.

    Raises:
        ValueError: ``offset_years`` <= 0, or fewer than two observed slips left to fit.
    """
    if not offset_years > 0:
        raise ValueError(f"offset_years must be > 0; got {offset_years!r}")
    for column in ("analog_id", "slip_years", "censored"):
        if column not in slips.columns:
            raise ValueError(f"slips lacks column {column}")
    use = slips.loc[~slips["analog_id"].isin(list(exclude))]
    floor = 0.05 * offset_years
    obs_mask = ~use["censored"].astype(bool).to_numpy()
    values = use["slip_years"].to_numpy(dtype="float64") + offset_years
    observed = np.maximum(values[obs_mask], floor)
    censored = values[~obs_mask]
    censored = censored[censored > floor]
    if observed.size < 2:
        raise ValueError(f"slips must hold at least two observed slips to fit; got {observed.size}")
    logs = np.log(observed)
    mu_c, s_c = float(np.mean(logs)), max(float(np.std(logs)), 0.1)
    mu_lo, mu_hi = mu_c - 3.0, mu_c + 4.0
    ls_lo, ls_hi = math.log(0.03), math.log(4.0)
    best_mu, best_ls = mu_c, math.log(s_c)
    for _ in range(4):
        mus = np.linspace(mu_lo, mu_hi, 81)
        lss = np.linspace(ls_lo, ls_hi, 81)
        grid_mu, grid_ls = np.meshgrid(mus, lss, indexing="ij")
        ll = _censored_lognormal_loglik(grid_mu, np.exp(grid_ls), observed, censored)
        i, j = np.unravel_index(int(np.nanargmax(ll)), ll.shape)
        best_mu, best_ls = float(mus[i]), float(lss[j])
        dmu, dls = (mu_hi - mu_lo) / 80 * 4, (ls_hi - ls_lo) / 80 * 4
        mu_lo, mu_hi, ls_lo, ls_hi = best_mu - dmu, best_mu + dmu, best_ls - dls, best_ls + dls
    ids = tuple(str(a) for a in use["analog_id"].tolist())
    return SlipFit(best_mu, math.exp(best_ls), float(offset_years), int(observed.size), int(censored.size), ids)


def truncated_slip_quantile(
    fit: SlipFit,
    q: float | np.ndarray,
    min_slip_years: float | np.ndarray = -np.inf,
    slip_multiplier: float = 1.0,
) -> np.ndarray:
    """Quantile of the slip (years) given that it is at least ``min_slip_years``.

    The slip multiplier scales positive slips only (an on-time build stays on time): the effective slip is
    ``S`` if ``S <= 0`` else ``multiplier x S``. The condition applies to the effective slip. A larger
    multiplier or a larger minimum never gives a smaller quantile.

    Args:
        fit: the fitted slip distribution.
        q: probabilities in [0, 1) (array-like; broadcast against ``min_slip_years``).
        min_slip_years: known lower bound of the slip (years), e.g. time already elapsed past the plan.
        slip_multiplier: factor on positive slips (> 0).

    Returns:
        Effective slips in years.

    Raises:
        ValueError: ``slip_multiplier`` <= 0.
    """
    if not slip_multiplier > 0:
        raise ValueError(f"slip_multiplier must be > 0; got {slip_multiplier!r}")
    q = np.asarray(q, dtype="float64")
    lower = np.asarray(min_slip_years, dtype="float64")
    # Bound on the unscaled slip S implied by the bound on the effective slip.
    lower_s = np.where(lower > 0, lower / slip_multiplier, lower)
    shifted = np.maximum(lower_s + fit.offset_years, 1e-12)
    z_c = np.where(np.isfinite(lower_s), (np.log(shifted) - fit.mu) / fit.sigma, -np.inf)
    log_tail = norm_logsf(z_c)  # log P(S >= lower_s)
    z = -norm_ppf(np.clip((1.0 - q) * np.exp(log_tail), 1e-300, 1.0))
    slip = np.exp(fit.mu + fit.sigma * z) - fit.offset_years
    slip = np.maximum(slip, lower_s)
    return np.where(slip > 0, slip * slip_multiplier, slip)


# --------------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationSettings:
    """Everything :func:`simulate` needs besides the pipeline, the slip fit and the demand.

    Attributes mirror the fields of :class:`rare_earth_lib.parameters.refining_timeline.Params`; see there
    for units, bounds and defaults. ``completion_probabilities`` maps status -> probability.
    """

    start_year: int = 2026
    horizon_year: int = 2045
    as_of_year: float = 2026.0
    n_trials: int = 10_000
    seed: int = 20261110
    coverage_threshold: float = 1.0
    first_year_utilisation: float = 0.27
    years_to_nameplate: float = 4.0
    ramp_years_spread: float = 0.5
    mature_utilisation: float = 0.85
    slip_multiplier: float = 1.0
    undated_lead_years: float = 5.0
    decision_speedup_years: float = 0.0
    min_build_years_undecided: float = 0.0
    demand_uncertainty_sigma: float = 0.0
    us_funding_withdrawn: bool = False
    us_withdrawal_year: int = 2028
    us_backed_stop_share: float = 0.5
    us_backed_extra_slip_years: float = 1.0
    completion_probabilities: Mapping[str, float] = field(default_factory=lambda: dict(buildout.DEFAULT_COMPLETION_PROBABILITIES))

    def __post_init__(self) -> None:
        if not isinstance(self.n_trials, (int, np.integer)) or self.n_trials < 1:
            raise ValueError(f"n_trials must be a positive integer; got {self.n_trials!r}")
        if not 0.0 < self.coverage_threshold <= 1.0:
            raise ValueError(f"coverage_threshold must lie in (0, 1]; got {self.coverage_threshold!r}")
        if self.horizon_year < self.start_year:
            raise ValueError(f"horizon_year must not be before start_year; got {self.horizon_year!r}")
        if not self.slip_multiplier > 0:
            raise ValueError(f"slip_multiplier must be > 0; got {self.slip_multiplier!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0; got {self.seed!r}")
        if self.years_to_nameplate < 1:
            raise ValueError(f"years_to_nameplate must be >= 1; got {self.years_to_nameplate!r}")
        if not 0 <= self.ramp_years_spread < 1:
            raise ValueError(f"ramp_years_spread must lie in [0, 1); got {self.ramp_years_spread!r}")
        if not 0 < self.first_year_utilisation <= self.mature_utilisation <= 1:
            raise ValueError(
                "first_year_utilisation and mature_utilisation must satisfy 0 < first <= mature <= 1; got "
                f"{self.first_year_utilisation!r}, {self.mature_utilisation!r}"
            )
        for name in (
            "decision_speedup_years",
            "min_build_years_undecided",
            "demand_uncertainty_sigma",
            "us_backed_extra_slip_years",
            "undated_lead_years",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}")
        if not 0 <= self.us_backed_stop_share <= 1:
            raise ValueError(f"us_backed_stop_share must lie in [0, 1]; got {self.us_backed_stop_share!r}")

    @property
    def years(self) -> np.ndarray:
        """Calendar years simulated, start to horizon inclusive."""
        return np.arange(self.start_year, self.horizon_year + 1, dtype="int64")


@dataclass(frozen=True)
class SimulationResult:
    """Output of :func:`simulate`.

    Attributes:
        years: calendar years simulated.
        pipeline: the projects simulated (rows of :func:`rare_earth_lib.models.buildout.refining_pipeline`), with
            ``completion_probability`` and ``min_slip_years`` added.
        first_output_year: (trials, projects) decimal year of first output, NaN where the project is not
            built in that trial.
        capacity_tpa: product -> (trials, years) alliance capacity, t oxide/yr.
        demand_tpa: product -> (years,) alliance demand estimate, t oxide/yr (before the per-trial factor).
        demand_factor: (trials,) multiplier on demand drawn per trial (all ones when uncertainty is 0).
        coverage_year: product -> (trials,) first year capacity >= threshold x demand; ``inf`` = never
            within the horizon.
        settings: the settings used.
    """

    years: np.ndarray
    pipeline: pd.DataFrame
    first_output_year: np.ndarray
    capacity_tpa: dict[str, np.ndarray]
    demand_tpa: dict[str, np.ndarray]
    demand_factor: np.ndarray
    coverage_year: dict[str, np.ndarray]
    settings: SimulationSettings


def _demand_vector(demand: pd.DataFrame, product: str, years: np.ndarray) -> np.ndarray:
    for column in ("year", "product", "tonnes"):
        if column not in demand.columns:
            raise ValueError(f"demand lacks column {column}")
    rows = demand.loc[demand["product"].astype("string") == product]
    series = rows.groupby("year")["tonnes"].sum()
    missing = sorted(set(years.tolist()) - set(int(y) for y in series.index))
    if missing:
        raise ValueError(f"demand has no {product} tonnes for year(s) {missing[:5]}")
    return series.reindex(years).to_numpy(dtype="float64")


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


def simulate(
    pipeline: pd.DataFrame,
    slip_fit: SlipFit,
    demand: pd.DataFrame,
    settings: SimulationSettings,
) -> SimulationResult:
    """Run the Monte Carlo: per-project first output, ramp-up and go/no-go; alliance capacity vs demand.

    Args:
        pipeline: alliance refining projects (:func:`rare_earth_lib.models.buildout.refining_pipeline`).
        slip_fit: fitted slip distribution (:func:`fit_slip_distribution`).
        demand: alliance demand estimate, long format with ``year``, ``product`` and ``tonnes`` (t oxide/yr)
            for every simulated year and both products (:func:`rare_earth_lib.models.demand.alliance_demand_total`).
        settings: scenario settings (:func:`settings_from_params` builds them from the parameter model).

    Returns:
        A :class:`SimulationResult`.

    Raises:
        ValueError: invalid settings, an unknown status, or demand missing a year.
    """
    years = settings.years
    n = int(settings.n_trials)
    p = len(pipeline)
    rng = np.random.default_rng(settings.seed)
    # Fixed draw order, independent of the parameters (common random numbers across scenarios).
    u_go = rng.random((n, p))
    u_slip = rng.random((n, p))
    u_ramp = rng.random((n, p))
    u_stop = rng.random((n, p))
    z_demand = rng.standard_normal(n)

    prob = buildout.completion_probability(pipeline["status"], settings.completion_probabilities).to_numpy()
    built = u_go < prob[None, :]
    del u_go

    planned, known = min_slip_years(pipeline, settings.as_of_year, settings.undated_lead_years)
    actual = pipeline["actual_first_output_year"].to_numpy(dtype="float64")
    producing = np.isnan(planned)
    long_ago = settings.as_of_year - 50.0
    first = np.empty((n, p))
    future = ~producing
    if future.any():
        slip = truncated_slip_quantile(slip_fit, u_slip[:, future], known[future][None, :], settings.slip_multiplier)
        t0 = planned[future][None, :] + slip
        status = pipeline["status"].to_numpy()[future]
        undecided = np.isin(status, UNDECIDED_STATUSES)
        if settings.min_build_years_undecided > 0 and undecided.any():
            t0[:, undecided] = np.maximum(t0[:, undecided], settings.as_of_year + settings.min_build_years_undecided)
        speed = np.isin(status, PRE_CONSTRUCTION_STATUSES)
        if settings.decision_speedup_years > 0 and speed.any():
            shifted = np.maximum(t0[:, speed] - settings.decision_speedup_years, settings.as_of_year)
            t0[:, speed] = np.minimum(t0[:, speed], shifted)
        if settings.us_funding_withdrawn:
            us = pipeline["us_backed"].to_numpy(dtype=bool)[future]
            hit = us[None, :] & (t0 > settings.us_withdrawal_year)
            stop = hit & (u_stop[:, future] < settings.us_backed_stop_share)
            t0 = np.where(hit & ~stop, t0 + settings.us_backed_extra_slip_years, t0)
            built[:, future] &= ~stop
        first[:, future] = t0
    first[:, producing] = np.where(np.isnan(actual[producing]), long_ago, actual[producing])[None, :]
    del u_slip, u_stop

    # Ramp-up length: triangular(min, mode, max) around years_to_nameplate, by inverse CDF.
    mode = settings.years_to_nameplate
    lo = max(1.0, mode * (1.0 - settings.ramp_years_spread))
    hi = mode * (1.0 + settings.ramp_years_spread)
    if hi - lo < 1e-9:
        ramp = np.full((n, p), mode)
    else:
        c = (mode - lo) / (hi - lo)
        ramp = np.where(
            u_ramp < c,
            lo + np.sqrt(u_ramp * (hi - lo) * (mode - lo)),
            hi - np.sqrt((1.0 - u_ramp) * (hi - lo) * (hi - mode)),
        )
    del u_ramp

    u1 = settings.first_year_utilisation
    mature = settings.mature_utilisation
    span = np.maximum(ramp - 1.0, 1e-9)
    slope = (mature - u1) / span  # utilisation gained per year after the first year
    first_masked = np.where(built, first, np.inf)  # never-built plants never start
    capacities = {prod: np.zeros((n, years.size)) for prod in PRODUCTS}
    nameplates = {prod: pipeline[buildout.PRODUCT_COLUMNS[prod]].to_numpy(dtype="float64") for prod in PRODUCTS}
    for k, year in enumerate(years):
        t = (year + 0.5) - first_masked
        util = np.where(t < 0, 0.0, np.minimum(u1 + slope * np.maximum(t - 1.0, 0.0), mature))
        for prod in PRODUCTS:
            capacities[prod][:, k] = util @ nameplates[prod]

    demand_factor = np.exp(settings.demand_uncertainty_sigma * z_demand - 0.5 * settings.demand_uncertainty_sigma**2)
    demand_tpa = {prod: _demand_vector(demand, prod, years) for prod in PRODUCTS}
    coverage = {
        prod: coverage_years(capacities[prod], demand_tpa[prod], demand_factor, settings.coverage_threshold, years) for prod in PRODUCTS
    }

    pipe = pipeline.copy()
    pipe["completion_probability"] = prob
    pipe["min_slip_years"] = known
    return SimulationResult(
        years=years,
        pipeline=pipe,
        first_output_year=np.where(built, first, np.nan),
        capacity_tpa=capacities,
        demand_tpa=demand_tpa,
        demand_factor=demand_factor,
        coverage_year=coverage,
        settings=settings,
    )


# --------------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------------
def empirical_quantile(values: np.ndarray, q: float) -> float:
    """Smallest value v with P(X <= v) >= q ("inverted CDF"), ``inf`` allowed in ``values``.

    Args:
        values: sample (``inf`` = never).
        q: probability in (0, 1].

    Raises:
        ValueError: empty sample or q outside (0, 1].
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must lie in (0, 1]; got {q!r}")
    values = np.asarray(values, dtype="float64")
    if values.size == 0:
        raise ValueError("values must not be empty")
    k = max(int(math.ceil(q * values.size - 1e-9)) - 1, 0)
    return float(np.partition(values, k)[k])


def _year_or_none(value: float) -> int | None:
    return None if not math.isfinite(value) else int(round(value))


def coverage_summary(result: SimulationResult, product: str, by_year: int = 2030) -> dict[str, Any]:
    """P10/P50/P90 coverage year, probability of coverage by ``by_year`` and the share never reached.

    Args:
        result: output of :func:`simulate`.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        by_year: calendar year for the "probability by" figure.

    Returns:
        Dict with ``p10``, ``p50``, ``p90`` (int year or ``None`` when the percentile falls among trials
        that never reach coverage within the horizon), ``prob_by_year`` (0..1), ``by_year``,
        ``share_never`` (0..1), ``horizon_year``, ``threshold``, ``already_covered`` (share of trials
        covered in the first simulated year).

    Raises:
        ValueError: unknown product.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}; got {product!r}")
    years = result.coverage_year[product]
    return {
        "p10": _year_or_none(empirical_quantile(years, 0.1)),
        "p50": _year_or_none(empirical_quantile(years, 0.5)),
        "p90": _year_or_none(empirical_quantile(years, 0.9)),
        "prob_by_year": float(np.mean(years <= by_year)),
        "by_year": int(by_year),
        "share_never": float(np.mean(~np.isfinite(years))),
        "horizon_year": int(result.settings.horizon_year),
        "threshold": float(result.settings.coverage_threshold),
        "already_covered": float(np.mean(years <= result.settings.start_year)),
    }


def capacity_percentiles(result: SimulationResult, product: str) -> pd.DataFrame:
    """Capacity distribution per year: P10, P50, P90 and mean, with the demand estimate alongside.

    Args:
        result: output of :func:`simulate`.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.

    Returns:
        DataFrame with ``year``, ``product``, ``capacity_p10_tpa``, ``capacity_p50_tpa``,
        ``capacity_p90_tpa``, ``capacity_mean_tpa``, ``demand_tpa`` (estimate), ``threshold_demand_tpa``
        (threshold x demand) and ``share_of_trials_reached`` (trials that have first covered demand by that year).

    Raises:
        ValueError: unknown product.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}; got {product!r}")
    cap = result.capacity_tpa[product]
    p10, p50, p90 = np.quantile(cap, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf")
    demand = result.demand_tpa[product]
    cov = result.coverage_year[product]
    return pd.DataFrame(
        {
            "year": result.years,
            "product": pd.array([product] * result.years.size, dtype="string"),
            "capacity_p10_tpa": p10,
            "capacity_p50_tpa": p50,
            "capacity_p90_tpa": p90,
            "capacity_mean_tpa": cap.mean(axis=0),
            "demand_tpa": demand,
            "threshold_demand_tpa": demand * result.settings.coverage_threshold,
            "share_of_trials_reached": [float((cov <= y).mean()) for y in result.years],
        }
    )


def coverage_distribution(result: SimulationResult, product: str) -> pd.DataFrame:
    """Share of trials first reaching coverage in each year, cumulative share, and a "never" row.

    Args:
        result: output of :func:`simulate`.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.

    Returns:
        DataFrame with ``year`` (nullable Int64; ``<NA>`` on the "never within the horizon" row),
        ``label`` (the year as text, or "never by <horizon>"), ``share_of_trials`` and
        ``cumulative_share`` (0..1).
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}; got {product!r}")
    cov = result.coverage_year[product]
    n = cov.size
    shares = [(cov == y).sum() / n for y in result.years]
    never = float(np.mean(~np.isfinite(cov)))
    out = pd.DataFrame(
        {
            "year": pd.array(list(result.years) + [pd.NA], dtype="Int64"),
            "label": pd.array([str(y) for y in result.years] + [f"never by {result.settings.horizon_year}"], dtype="string"),
            "share_of_trials": shares + [never],
        }
    )
    out["cumulative_share"] = out["share_of_trials"].cumsum()
    return out


def project_windows(result: SimulationResult, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
    """Simulated first-output window of each project (among trials where it is built).

    Args:
        result: output of :func:`simulate`.
        quantiles: probabilities for the window (default P10, P50, P90).

    Returns:
        The simulated pipeline with ``first_output_p10_year``, ``first_output_p50_year``,
        ``first_output_p90_year`` (decimal years; the actual date for producing plants, NaN if never built)
        and ``completion_probability``.
    """
    out = result.pipeline.copy()
    first = result.first_output_year
    for q in quantiles:
        name = f"first_output_p{int(round(q * 100))}_year"
        values = np.full(first.shape[1], np.nan)
        for j in range(first.shape[1]):
            col = first[:, j]
            col = col[~np.isnan(col)]
            if col.size:
                values[j] = empirical_quantile(col, q)
        out[name] = values
    producing = out["status"].isin(PRODUCING_STATUSES)
    for q in quantiles:
        name = f"first_output_p{int(round(q * 100))}_year"
        out.loc[producing, name] = out.loc[producing, "actual_first_output_year"]
    return out


# --------------------------------------------------------------------------------------------------
# From the parameter model to a full run
# --------------------------------------------------------------------------------------------------
def settings_from_params(params: Params, as_of: Any) -> SimulationSettings:
    """Build :class:`SimulationSettings` from the briefing's validated parameter model.

    Args:
        params: :class:`rare_earth_lib.parameters.refining_timeline.Params`.
        as_of: the data's as-of date (date-like).

    Raises:
        ValueError: ``as_of`` is not a date.
    """
    as_of_year = float(buildout.decimal_year([as_of])[0])
    if math.isnan(as_of_year):
        raise ValueError(f"as_of must be a date; got {as_of!r}")
    return SimulationSettings(
        start_year=params.start_year,
        horizon_year=params.horizon_year,
        as_of_year=as_of_year,
        n_trials=params.n_trials,
        seed=params.seed,
        coverage_threshold=params.coverage_threshold,
        first_year_utilisation=params.first_year_utilisation,
        years_to_nameplate=params.years_to_nameplate,
        ramp_years_spread=params.ramp_years_spread,
        mature_utilisation=params.mature_utilisation,
        slip_multiplier=params.slip_multiplier,
        undated_lead_years=params.undated_lead_years,
        decision_speedup_years=params.decision_speedup_years,
        min_build_years_undecided=params.min_build_years_undecided,
        demand_uncertainty_sigma=params.demand_uncertainty_sigma,
        us_funding_withdrawn=params.us_funding_withdrawn,
        us_withdrawal_year=params.us_withdrawal_year,
        us_backed_stop_share=params.us_backed_stop_share,
        us_backed_extra_slip_years=params.us_backed_extra_slip_years,
        completion_probabilities=params.completion_probabilities(),
    )


@dataclass(frozen=True)
class TimelineRun:
    """Everything one scenario's timeline produced (inputs prepared from the tables, and the simulation).

    Attributes:
        params: the parameter model used.
        pipeline: alliance refining projects, capacities filled where estimated.
        slips: analog slips (observed and censored) used for the fit.
        slip_fit: the fitted slip distribution.
        demand: alliance demand estimate per year and product (totals, t oxide/yr).
        demand_by_region: the same per region, with method text.
        result: the :class:`SimulationResult`.
    """

    params: Any
    pipeline: pd.DataFrame
    slips: pd.DataFrame
    slip_fit: SlipFit
    demand: pd.DataFrame
    demand_by_region: pd.DataFrame
    result: SimulationResult


def prepare_pipeline(projects: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Alliance refining pipeline for a scenario: capacities filled (if enabled) and attributed.

    Args:
        projects: the data package's projects table.
        params: the briefing's parameter model.
    """
    return buildout.refining_pipeline(filled_projects(projects, params), attribution=params.attribution)


def filled_projects(projects: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The projects table with NdPr/DyTb capacity estimated where missing, if the scenario asks for it."""
    if not params.fill_missing_capacity:
        return projects
    return buildout.estimate_missing_capacity(
        projects,
        ndpr_share_of_reo=params.ndpr_share_of_reo_capacity,
        dytb_share_of_reo=params.dytb_share_of_reo_capacity,
        mature_utilisation=params.mature_utilisation,
    )


def run_timeline(
    params: Params,
    *,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    reuse: dict | None = None,
) -> TimelineRun:
    """Run one scenario end to end: pipeline, slip fit, demand estimate, Monte Carlo.

    Args:
        params: the briefing's validated parameter model.
        projects: the data package's projects table.
        analogs: the data package's build_analogs table.
        demand: the data package's demand table.
        as_of: the data's as-of date.
        reuse: optional dict shared between runs on the same tables (as :func:`sensitivity` does): the
            pipeline, slip fit and demand estimate are kept in it, keyed on the parameters each depends
            on, so a run that changes only other parameters does not rebuild them. Callers must not
            modify the returned frames.

    Returns:
        A :class:`TimelineRun`.
    """
    from rare_earth_lib.models import demand as demand_mod

    def once(key: tuple, make: Any) -> Any:
        if reuse is None:
            return make()
        if key not in reuse:
            reuse[key] = make()
        return reuse[key]

    settings = settings_from_params(params, as_of)
    pipeline = once(
        (
            "pipeline",
            params.fill_missing_capacity,
            params.ndpr_share_of_reo_capacity,
            params.dytb_share_of_reo_capacity,
            params.mature_utilisation,
            params.attribution,
        ),
        lambda: prepare_pipeline(projects, params),
    )

    def fit_slips() -> tuple[pd.DataFrame, SlipFit]:
        slips = analog_slips(analogs, as_of=as_of, scope=params.analog_scope)
        return slips, fit_slip_distribution(slips, offset_years=params.slip_offset_years)

    slips, fit = once(("slips", params.analog_scope, params.slip_offset_years), fit_slips)
    years = settings.years

    def estimate_demand() -> tuple[pd.DataFrame, pd.DataFrame]:
        by_region = demand_mod.scenario_demand(demand, years, params)
        return demand_mod.sum_regions(by_region), by_region

    totals, by_region = once(
        (
            "demand",
            tuple(int(y) for y in years),
            params.ndpr_demand_growth_rate,
            params.dytb_demand_growth_rate,
            params.long_run_demand_growth_rate,
            params.demand_growth_break_year,
            params.demand_scale,
            params.demand_anchor_rule,
        ),
        estimate_demand,
    )
    result = simulate(pipeline, fit, totals, settings)
    return TimelineRun(params, pipeline, slips, fit, totals, by_region, result)


# --------------------------------------------------------------------------------------------------
# Hindcast
# --------------------------------------------------------------------------------------------------
def hindcast(
    analogs: pd.DataFrame,
    *,
    as_of: Any,
    scope: str = "refining",
    offset_years: float = 1.0,
    interval: tuple[float, float] = (0.1, 0.9),
) -> pd.DataFrame:
    """Leave-one-out hindcast: would the model, run at each analog's decision, have bracketed the outcome?

    For each analog with a planned first-output date: fit the slip distribution on the *other* analogs
    (censored as of ``as_of``), then predict its first output as planned + slip, with the slip conditional
    on what was known at its decision date (no output before the decision). The prediction is the
    P10-P90 window of first-output dates. Outcomes:

    * ``inside`` / ``earlier than P10`` / ``later than P90`` for builds that reached first output;
    * for builds not yet producing (censored), ``still open, inside so far`` if today is before P90 (the
      outcome can still land inside), ``later than P90`` if today is already past P90 (a certain miss).

    An analog with no recorded decision date (Lynas Malaysia) is taken as decided three years before its
    planned first output; this only bounds the slip from below, so it hardly matters.

    The coverage rate is the share ``inside`` among the *decided* cases (observed builds plus censored
    builds already past P90); open cases are reported separately, not counted as hits. With an honest 80%
    interval, about 80% should be inside; a small sample makes this rate itself uncertain.

    Args:
        analogs: the data package's build_analogs table.
        as_of: the data's as-of date.
        scope: analog scope (``"refining"`` or ``"all"``), the same scope the timeline fits on.
        offset_years: the slip fit's offset.
        interval: lower and upper probability of the window.

    Returns:
        One row per analog: ``analog_id``, ``project``, ``stage``, ``decision_year``, ``planned_year``,
        ``actual_year`` (NaN if not reached), ``censored``, ``predicted_p10_year``, ``predicted_p50_year``,
        ``predicted_p90_year``, ``outcome`` (text above), ``decided`` (bool), ``inside`` (bool),
        ``fit_mu``, ``fit_sigma``, ``fit_n`` (analogs in the leave-one-out fit), ``source_ids``.

    Raises:
        ValueError: bad interval, scope or offset.
    """
    lo_q, hi_q = interval
    if not 0.0 < lo_q < hi_q < 1.0:
        raise ValueError(f"interval must satisfy 0 < low < high < 1; got {interval!r}")
    slips = analog_slips(analogs, as_of=as_of, scope=scope)
    as_of_year = float(buildout.decimal_year([as_of])[0])
    rows = []
    for row in slips.itertuples(index=False):
        fit = fit_slip_distribution(slips, offset_years=offset_years, exclude=[row.analog_id])
        decision = row.decision_year if not np.isnan(row.decision_year) else row.planned_year - 3.0
        known = decision - row.planned_year  # at its decision date, the build had not produced
        q = np.array([lo_q, 0.5, hi_q])
        slip_q = truncated_slip_quantile(fit, q, known)
        pred = row.planned_year + slip_q
        if not row.censored:
            if row.actual_year < pred[0]:
                outcome = "earlier than P10"
            elif row.actual_year > pred[2]:
                outcome = "later than P90"
            else:
                outcome = "inside"
            decided = True
        elif as_of_year > pred[2]:
            outcome, decided = "later than P90", True
        else:
            outcome, decided = "still open, inside so far", False
        rows.append(
            {
                "analog_id": row.analog_id,
                "project": row.project,
                "stage": row.stage,
                "decision_year": row.decision_year,
                "planned_year": row.planned_year,
                "actual_year": row.actual_year,
                "censored": bool(row.censored),
                "predicted_p10_year": pred[0],
                "predicted_p50_year": pred[1],
                "predicted_p90_year": pred[2],
                "outcome": outcome,
                "decided": decided,
                "inside": outcome == "inside",
                "fit_mu": fit.mu,
                "fit_sigma": fit.sigma,
                "fit_n": fit.n_observed + fit.n_censored,
                "source_ids": row.source_ids,
            }
        )
    out = pd.DataFrame(rows)
    for column in ("analog_id", "project", "stage", "outcome", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def hindcast_coverage(table: pd.DataFrame) -> dict[str, Any]:
    """Coverage rate of a :func:`hindcast` table, with its counts.

    Returns:
        Dict with ``coverage_rate`` (inside / decided, ``None`` if nothing is decided), ``n_inside``,
        ``n_decided``, ``n_open`` (censored, still possible), ``n_total``, ``n_early``, ``n_late``.
    """
    decided = table.loc[table["decided"]]
    n_decided = int(len(decided))
    n_inside = int(decided["inside"].sum())
    return {
        "coverage_rate": (n_inside / n_decided) if n_decided else None,
        "n_inside": n_inside,
        "n_decided": n_decided,
        "n_open": int((~table["decided"]).sum()),
        "n_total": int(len(table)),
        "n_early": int((table["outcome"] == "earlier than P10").sum()),
        "n_late": int((table["outcome"] == "later than P90").sum()),
    }


# --------------------------------------------------------------------------------------------------
# Sensitivity (one at a time)
# --------------------------------------------------------------------------------------------------
SENSITIVITY_FACTORS: tuple[str, ...] = (
    "slip_multiplier",
    "completion_probabilities",
    "demand_growth",
    "ramp_up_speed",
    "first_year_utilisation",
    "mature_utilisation",
    "coverage_threshold",
    "alliance_demand_estimate",
    "demand_anchor_rule",
    "attribution",
)

_FACTOR_LABELS = {
    "slip_multiplier": "Slip to first output",
    "completion_probabilities": "Completion probabilities",
    "demand_growth": "Demand growth",
    "ramp_up_speed": "Ramp-up length",
    "first_year_utilisation": "First-year utilisation",
    "mature_utilisation": "Mature utilisation",
    "coverage_threshold": "Coverage threshold",
    "alliance_demand_estimate": "Size of the alliance demand estimate",
    "demand_anchor_rule": "Demand anchor (lowest figures)",
    "attribution": "Attribution (location vs owner)",
}


def sensitivity_variants(params: Params) -> list[dict[str, Any]]:
    """Low/high settings of each factor of the one-at-a-time sensitivity, as parameter updates.

    "Low" and "high" are settings of the input (e.g. less and more slip), not of the result. Ranges:
    slip multiplier x0.5 / x1.5; completion probabilities: failure odds doubled / halved (each
    non-certain probability p -> p/2 and p + (1-p)/2); demand growth -3 / +3 points (both phases); years to nameplate
    x0.5 (at least 1) / x1.5; first-year utilisation x0.6 / x1.4; mature utilisation -0.15 / 1.0; coverage
    threshold -0.25 / +0.25 (within (0, 1]); alliance-demand estimate scale /1.5 / x1.5; demand anchor
    lowest figures (one-sided); attribution location vs owner (one-sided).

    Returns:
        List of dicts ``{"factor", "label", "side", "setting", "update"}`` (update = parameter values).
    """
    out: list[dict[str, Any]] = []

    def add(factor: str, side: str, setting: str, update: dict[str, Any]) -> None:
        out.append({"factor": factor, "label": _FACTOR_LABELS[factor], "side": side, "setting": setting, "update": update})

    m = params.slip_multiplier
    add("slip_multiplier", "low", f"slips x{m * 0.5:g}", {"slip_multiplier": m * 0.5})
    add("slip_multiplier", "high", f"slips x{min(m * 1.5, 5.0):g}", {"slip_multiplier": min(m * 1.5, 5.0)})
    probs = params.completion_probabilities()
    low = {f"completion_prob_{k}": (v / 2 if v < 1 else v) for k, v in probs.items()}
    high = {f"completion_prob_{k}": v + (1 - v) / 2 for k, v in probs.items() if k != "cancelled"}
    add("completion_probabilities", "low", "failure odds doubled", low)
    add("completion_probabilities", "high", "failure odds halved", high)
    g1, g2 = params.ndpr_demand_growth_rate, params.dytb_demand_growth_rate
    g3 = params.long_run_demand_growth_rate
    add(
        "demand_growth",
        "low",
        "growth -3 points/yr",
        {
            "ndpr_demand_growth_rate": max(g1 - 0.03, -0.1),
            "dytb_demand_growth_rate": max(g2 - 0.03, -0.1),
            "long_run_demand_growth_rate": max(g3 - 0.03, -0.1),
        },
    )
    add(
        "demand_growth",
        "high",
        "growth +3 points/yr",
        {
            "ndpr_demand_growth_rate": min(g1 + 0.03, 0.3),
            "dytb_demand_growth_rate": min(g2 + 0.03, 0.3),
            "long_run_demand_growth_rate": min(g3 + 0.03, 0.3),
        },
    )
    ytn = params.years_to_nameplate
    add("ramp_up_speed", "low", f"{max(1.0, ytn * 0.5):g} years to nameplate", {"years_to_nameplate": max(1.0, ytn * 0.5)})
    add("ramp_up_speed", "high", f"{min(15.0, ytn * 1.5):g} years to nameplate", {"years_to_nameplate": min(15.0, ytn * 1.5)})
    u1, mat = params.first_year_utilisation, params.mature_utilisation
    add("first_year_utilisation", "low", f"{u1 * 0.6:.0%} in year one", {"first_year_utilisation": u1 * 0.6})
    add("first_year_utilisation", "high", f"{min(u1 * 1.4, mat):.0%} in year one", {"first_year_utilisation": min(u1 * 1.4, mat)})
    mat_low = max(mat - 0.15, u1, 0.05)
    add("mature_utilisation", "low", f"{mat_low:.0%} of nameplate", {"mature_utilisation": mat_low})
    add("mature_utilisation", "high", "100% of nameplate", {"mature_utilisation": 1.0})
    th = params.coverage_threshold
    add("coverage_threshold", "low", f"{max(th - 0.25, 0.05):.0%} of demand", {"coverage_threshold": max(th - 0.25, 0.05)})
    add("coverage_threshold", "high", f"{min(th + 0.25, 1.0):.0%} of demand", {"coverage_threshold": min(th + 0.25, 1.0)})
    s = params.demand_scale
    add("alliance_demand_estimate", "low", f"demand x{s / 1.5:.2g}", {"demand_scale": max(s / 1.5, 0.1)})
    add("alliance_demand_estimate", "high", f"demand x{s * 1.5:.2g}", {"demand_scale": min(s * 1.5, 10.0)})
    if params.demand_anchor_rule != "lowest":
        add("demand_anchor_rule", "low", "lowest demand figures", {"demand_anchor_rule": "lowest"})
    other = "location" if params.attribution == "owner" else "owner"
    add("attribution", "low" if other == "owner" else "high", f"by {other}", {"attribution": other})
    return out


def _year_for_swing(value: int | None, horizon: int) -> int:
    return horizon + 1 if value is None else value


def sensitivity(
    params: Params,
    *,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    base: TimelineRun | None = None,
    n_trials: int | None = None,
) -> pd.DataFrame:
    """One-at-a-time sensitivity (tornado) of the P50 coverage year, for NdPr and Dy+Tb.

    Each variant re-runs the timeline with one factor moved (same seed: common random numbers). A P50
    that is never reached within the horizon is shown as ``None`` and counted as ``horizon + 1`` when
    swings are compared.

    Args:
        params: the scenario's parameter model.
        projects, analogs, demand: the data package's tables.
        as_of: the data's as-of date.
        base: the scenario's own run (re-run if omitted).
        n_trials: trials per variant (default: the scenario's ``n_trials``).

    Returns:
        Long DataFrame: ``factor``, ``label``, ``side`` (low/high), ``setting``, ``product``,
        ``p50_year`` (Int64, <NA> = never), ``base_p50_year``, ``delta_years`` (vs base, never = horizon+1)
        and ``swing_years`` (|high - low| of the factor for that product; one-sided factors: |variant - base|).

    Raises:
        ValueError: ``n_trials`` < 1.
    """
    cls = type(params)
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials!r}")
    run_params = params if n_trials is None else cls.model_validate({**params.model_dump(), "n_trials": n_trials})
    if base is None or n_trials is not None:
        base = run_timeline(run_params, projects=projects, analogs=analogs, demand=demand, as_of=as_of)
    horizon = params.horizon_year
    base_p50 = {prod: coverage_summary(base.result, prod, params.probability_by_year)["p50"] for prod in PRODUCTS}
    rows = []
    reuse: dict = {}
    for variant in sensitivity_variants(params):
        varied = cls.model_validate({**run_params.model_dump(), **variant["update"]})
        run = run_timeline(varied, projects=projects, analogs=analogs, demand=demand, as_of=as_of, reuse=reuse)
        for prod in PRODUCTS:
            p50 = coverage_summary(run.result, prod, params.probability_by_year)["p50"]
            rows.append(
                {
                    "factor": variant["factor"],
                    "label": variant["label"],
                    "side": variant["side"],
                    "setting": variant["setting"],
                    "product": prod,
                    "p50_year": p50,
                    "base_p50_year": base_p50[prod],
                    "delta_years": _year_for_swing(p50, horizon) - _year_for_swing(base_p50[prod], horizon),
                }
            )
    out = pd.DataFrame(rows)
    out["p50_year"] = out["p50_year"].astype("Int64")
    out["base_p50_year"] = out["base_p50_year"].astype("Int64")
    swing = (
        out.groupby(["factor", "product"])["delta_years"]
        .agg(lambda d: (d.max() - d.min()) if len(d) > 1 else abs(d.iloc[0]))
        .rename("swing_years")
        .reset_index()
    )
    out = out.merge(swing, on=["factor", "product"], how="left")
    for column in ("factor", "label", "side", "setting", "product"):
        out[column] = out[column].astype("string")
    return out


DEFINITIONAL_FACTORS: tuple[str, ...] = ("coverage_threshold", "attribution")
"""Factors that change what is asked (the threshold, how plants are attributed), not what will happen."""


def largest_driver(table: pd.DataFrame, product: str | None = None, exclude: Sequence[str] = DEFINITIONAL_FACTORS) -> str | None:
    """The factor with the largest swing of the P50 year (summed over products unless one is given).

    Args:
        table: output of :func:`sensitivity`.
        product: restrict to one product.
        exclude: factors left out (default: the definitional ones, threshold and attribution, which
            change the question rather than the forecast). Ties go to the first label alphabetically.

    Returns:
        The factor's label, or ``None`` if no factor moves the date.
    """
    sub = table if product is None else table.loc[table["product"] == product]
    sub = sub.loc[~sub["factor"].isin(list(exclude))]
    swings = sub.drop_duplicates(["factor", "product"]).groupby("label")["swing_years"].sum()
    if swings.empty or swings.max() <= 0:
        return None
    return str(swings.sort_values(ascending=False, kind="stable").index[0])


# --------------------------------------------------------------------------------------------------
# Headline figures
# --------------------------------------------------------------------------------------------------
def headline(run: TimelineRun, hindcast_table: pd.DataFrame | None = None, sensitivity_table: pd.DataFrame | None = None) -> dict[str, Any]:
    """The briefing's headline figures as a flat dict of JSON scalars with self-explaining keys.

    Keys (``None`` where a percentile is not reached within the horizon, or an input was not given):
    ``ndpr_coverage_year_p10/p50/p90``, ``dytb_coverage_year_p10/p50/p90``, ``ndpr_prob_by_<year>``,
    ``dytb_prob_by_<year>``, ``ndpr_share_never_reached``, ``dytb_share_never_reached``,
    ``coverage_threshold``, ``horizon_year``, ``attribution``, ``n_trials``, ``seed``,
    ``hindcast_coverage_rate``, ``hindcast_n_inside``, ``hindcast_n_decided``, ``hindcast_n_open``,
    ``largest_driver``, ``largest_driver_ndpr``, ``largest_driver_dytb``, ``slip_median_years``.
    """
    params = run.params
    out: dict[str, Any] = {}
    by = params.probability_by_year
    for prod, key in PRODUCT_KEYS.items():
        summary = coverage_summary(run.result, prod, by)
        out[f"{key}_coverage_year_p10"] = summary["p10"]
        out[f"{key}_coverage_year_p50"] = summary["p50"]
        out[f"{key}_coverage_year_p90"] = summary["p90"]
        out[f"{key}_prob_by_{by}"] = round(summary["prob_by_year"], 4)
        out[f"{key}_share_never_reached"] = round(summary["share_never"], 4)
    out["coverage_threshold"] = float(params.coverage_threshold)
    out["horizon_year"] = int(params.horizon_year)
    out["attribution"] = str(params.attribution)
    out["n_trials"] = int(params.n_trials)
    out["seed"] = int(params.seed)
    out["slip_median_years"] = round(run.slip_fit.median_years(), 2)
    if hindcast_table is not None:
        cov = hindcast_coverage(hindcast_table)
        out["hindcast_coverage_rate"] = None if cov["coverage_rate"] is None else round(cov["coverage_rate"], 4)
        out["hindcast_n_inside"] = cov["n_inside"]
        out["hindcast_n_decided"] = cov["n_decided"]
        out["hindcast_n_open"] = cov["n_open"]
    else:
        out["hindcast_coverage_rate"] = None
    if sensitivity_table is not None:
        out["largest_driver"] = largest_driver(sensitivity_table)
        out["largest_driver_ndpr"] = largest_driver(sensitivity_table, "ndpr_oxide")
        out["largest_driver_dytb"] = largest_driver(sensitivity_table, "dytb_oxide")
    else:
        out["largest_driver"] = None
    return out


def coverage_by_threshold(
    result: SimulationResult, product: str, thresholds: Sequence[float] = (0.25, 0.5, 0.75, 1.0), by_year: int = 2030
) -> pd.DataFrame:
    """P10/P50/P90 coverage year and probability by ``by_year`` for several thresholds, from one simulation.

    Args:
        result: output of :func:`simulate`.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        thresholds: shares of demand, each in (0, 1].
        by_year: year for the probability column.

    Returns:
        DataFrame with ``threshold``, ``p10``, ``p50``, ``p90`` (Int64, <NA> = not within the horizon),
        ``prob_by_year`` and ``share_never``.

    Raises:
        ValueError: unknown product or a threshold outside (0, 1].
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}; got {product!r}")
    rows = []
    for threshold in thresholds:
        cov = coverage_years(result.capacity_tpa[product], result.demand_tpa[product], result.demand_factor, float(threshold), result.years)
        rows.append(
            {
                "threshold": float(threshold),
                "p10": _year_or_none(empirical_quantile(cov, 0.1)),
                "p50": _year_or_none(empirical_quantile(cov, 0.5)),
                "p90": _year_or_none(empirical_quantile(cov, 0.9)),
                "prob_by_year": float(np.mean(cov <= by_year)),
                "share_never": float(np.mean(~np.isfinite(cov))),
            }
        )
    out = pd.DataFrame(rows)
    for column in ("p10", "p50", "p90"):
        out[column] = out[column].astype("Int64")
    return out


# --------------------------------------------------------------------------------------------------
# Tidy frames and sentences for the briefing
# --------------------------------------------------------------------------------------------------
def year_text(value: int | None, horizon: int) -> str:
    """A coverage year as text: the year, or "not by <horizon>" when not reached (``None``)."""
    return f"not by {horizon}" if value is None else str(value)


_year_text = year_text


def format_decimal_year(values: pd.Series | np.ndarray | Sequence[float]) -> pd.Series:
    """Decimal years as ``"YYYY-MM"`` text (``2027.5`` -> ``"2027-07"``); missing values stay missing.

    Args:
        values: decimal years.

    Returns:
        String Series (``<NA>`` where the input is NaN).
    """
    arr = np.asarray(values, dtype="float64")
    out = []
    for v in arr:
        if np.isnan(v):
            out.append(pd.NA)
            continue
        year = int(np.floor(v))
        month = min(int((v - year) * 12) + 1, 12)
        out.append(f"{year}-{month:02d}")
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(out, index=index, dtype="string")


def decimal_as_of(as_of: Any) -> float:
    """The as-of date as a decimal year.

    Raises:
        ValueError: not a date.
    """
    value = float(buildout.decimal_year([as_of])[0])
    if math.isnan(value):
        raise ValueError(f"as_of must be a date; got {as_of!r}")
    return value


_COMPANY_SUFFIXES = (" Rare Earths", " Resources", " Materials", " Performance", " Limited", " Ltd", " Inc.")


def short_project_label(company: str, site: str) -> str:
    """A short label for charts: company without its legal/sector suffix, site before its first comma plus
    any parenthesised qualifier (``"Energy Fuels", "White Mesa Mill, UT (Phase 2)"`` ->
    ``"Energy Fuels - White Mesa Mill (Phase 2)"``)."""
    import re

    name = str(company or "").strip()
    for suffix in _COMPANY_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    text = str(site or "").strip()
    head = text.split(",")[0].strip()
    extras = [m for m in re.findall(r"\([^)]*\)", text[len(head) :])]
    place = " ".join([head, *extras]).strip()
    return f"{name} - {place}" if name and place else name or place


def pipeline_table(run: TimelineRun) -> pd.DataFrame:
    """One row per simulated project, for the briefing's pipeline table and Gantt chart.

    Returns:
        DataFrame with ``project`` (company - site), ``label`` (short, for charts), ``project_id``, ``counts_for`` (alliance country under the
        run's attribution), ``located_in``, ``status``, ``ndpr_oxide_tpa``, ``dytb_oxide_tpa``,
        ``capacity_basis_note`` ("stated", or the estimation rule), ``planned_first_output_year`` (earliest
        public plan), ``target_first_output_year`` (latest public target), ``actual_first_output_year``,
        ``sim_first_output_p10_year`` / ``p50`` / ``p90`` (decimal years, among trials where built),
        ``completion_probability``, ``capex`` (text with currency), ``public_funding_musd`` (US + Japan +
        Australia + other, US$ million), ``funding_us_musd``, ``source_ids``.
    """
    w = project_windows(run.result)
    funding_cols = ["funding_us_musd", "funding_japan_musd", "funding_australia_musd", "funding_other_musd"]
    capex = [
        "" if pd.isna(v) else f"{v:,.0f} m {c}" if pd.notna(c) else f"{v:,.0f} m"
        for v, c in zip(w["capex_value"], w["capex_currency"], strict=False)
    ]
    basis = [
        rule if rule else ("stated (estimate in source)" if est else "stated")
        for rule, est in zip(w["capacity_estimate_rule"].fillna(""), w["capacity_is_estimate"], strict=False)
    ]
    out = pd.DataFrame(
        {
            "project": (w["company"].fillna("") + " - " + w["site"].fillna("")).astype("string"),
            "label": pd.array([short_project_label(c, s) for c, s in zip(w["company"], w["site"], strict=False)], dtype="string"),
            "project_id": w["project_id"],
            "counts_for": w["alliance_country"],
            "located_in": w["country"],
            "status": w["status"],
            "ndpr_oxide_tpa": w["ndpr_oxide_tpa"],
            "dytb_oxide_tpa": w["dytb_oxide_tpa"],
            "capacity_basis_note": pd.array(basis, dtype="string"),
            "planned_first_output_year": w["planned_first_output_year"],
            "target_first_output_year": w["target_first_output_year"],
            "actual_first_output_year": w["actual_first_output_year"],
            "sim_first_output_p10_year": w["first_output_p10_year"],
            "sim_first_output_p50_year": w["first_output_p50_year"],
            "sim_first_output_p90_year": w["first_output_p90_year"],
            "completion_probability": w["completion_probability"],
            "capex": pd.array(capex, dtype="string"),
            "public_funding_musd": w[funding_cols].sum(axis=1, min_count=1),
            "funding_us_musd": w["funding_us_musd"],
            "source_ids": w["source_ids"],
        }
    )
    return out.reset_index(drop=True)


def analog_table(slips: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Planned vs actual first output of the analogs, for a dumbbell chart.

    Args:
        slips: output of :func:`analog_slips`.
        as_of: the data's as-of date (where censored builds' bars end).

    Returns:
        DataFrame with ``project``, ``analog_id``, ``planned_year``, ``outcome_year`` (actual first output,
        or the as-of date for builds not yet producing), ``outcome`` ("first output" / "not yet producing"),
        ``slip_years`` (a lower bound when not yet producing), ``censored`` and ``source_ids``.
    """
    as_of_year = float(buildout.decimal_year([as_of])[0])
    out = pd.DataFrame(
        {
            "project": slips["project"],
            "analog_id": slips["analog_id"],
            "planned_year": slips["planned_year"],
            "outcome_year": np.where(slips["censored"], as_of_year, slips["actual_year"]),
            "outcome": pd.array(np.where(slips["censored"], "not yet producing (as of data date)", "first output"), dtype="string"),
            "slip_years": slips["slip_years"],
            "censored": slips["censored"],
            "source_ids": slips["source_ids"],
        }
    )
    return out.sort_values("planned_year").reset_index(drop=True)


def key_judgment_sentences(
    head: Mapping[str, Any],
    refs: Mapping[str, str],
    *,
    probability_by_year: int,
    sensitivity_table: pd.DataFrame | None = None,
) -> list[str]:
    """Key-judgment sentences built from the headline figures (no number typed by hand).

    Args:
        head: output of :func:`headline` (with hindcast and sensitivity).
        refs: labels -> "Figure N"/"Table N" for ``fan`` (or ``fan_ndpr`` and ``fan_dytb``), ``coverage``,
            ``tornado`` and ``hindcast``.
        probability_by_year: the year of the probability figure.
        sensitivity_table: output of :func:`sensitivity`; when given, the driver sentence says how far the
            largest driver moves the P50 year.

    Returns:
        Sentences, each naming the figure or table behind it.
    """
    horizon = int(head["horizon_year"])
    threshold = float(head["coverage_threshold"])
    sentences = []
    for key, label in (("ndpr", "NdPr oxide"), ("dytb", "Dy+Tb oxide")):
        p10, p50, p90 = (head[f"{key}_coverage_year_p{q}"] for q in (10, 50, 90))
        never = head[f"{key}_share_never_reached"]
        if p50 is None:
            middle = f"in most trials alliance separation capacity does not cover {threshold:.0%} of estimated alliance {label} demand by {horizon}"
        else:
            middle = (
                f"alliance separation capacity first covers {threshold:.0%} of estimated alliance {label} demand in {p50} at the median"
            )
        sentences.append(
            f"{label}: {middle} (P10 {_year_text(p10, horizon)}, P50 {_year_text(p50, horizon)}, "
            f"P90 {_year_text(p90, horizon)}); {never:.0%} of trials never reach it by {horizon} "
            f"({refs.get(f'fan_{key}', refs.get('fan'))}, {refs['coverage']})."
        )
    sentences.append(
        f"The probability of reaching that share by {probability_by_year} is "
        f"{head[f'ndpr_prob_by_{probability_by_year}']:.0%} for NdPr and {head[f'dytb_prob_by_{probability_by_year}']:.0%} "
        f"for Dy+Tb ({refs['coverage']})."
    )
    if head.get("largest_driver"):
        detail = ""
        if sensitivity_table is not None:
            rows = sensitivity_table.loc[sensitivity_table["label"] == head["largest_driver"]]
            names = {"ndpr_oxide": "NdPr", "dytb_oxide": "Dy+Tb"}
            parts = [
                f"with {row.setting} the {names.get(row.product, row.product)} P50 is "
                + (f"not reached by {horizon}" if pd.isna(row.p50_year) else str(int(row.p50_year)))
                for row in rows.itertuples()
            ]
            detail = (": " + "; ".join(parts)) if parts else ""
        sentences.append(
            f"The single largest driver of the date, among the factors that describe the world rather than the question, "
            f"is the {head['largest_driver'][0].lower() + head['largest_driver'][1:]} ({refs['tornado']}){detail}."
        )
    rate = head.get("hindcast_coverage_rate")
    if rate is not None:
        sentences.append(
            f"Run as of each historical build's decision date, the model's P10-P90 window held "
            f"{head['hindcast_n_inside']} of {head['hindcast_n_decided']} decided outcomes ({rate:.0%}, against 80% "
            f"for a well-calibrated window); {head['hindcast_n_open']} builds are still open ({refs['hindcast']})."
        )
    return sentences


def announced_capacity(params: Params, projects: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Alliance capacity per year if every plant were built and produced on its latest public target.

    The press-release path, for comparison with the simulated distribution: no slips, no failures, the
    same ramp-up (first-year and mature utilisation, ``years_to_nameplate``) and the same capacity rules
    and attribution as the scenario.

    Args:
        params: the briefing's parameter model.
        projects: the data package's projects table.
        as_of: the data's as-of date.

    Returns:
        DataFrame with ``year``, ``product`` and ``capacity_tpa`` (t oxide/yr).
    """
    table = filled_projects(projects, params)
    years = range(params.start_year, params.horizon_year + 1)
    frames = []
    for product in PRODUCTS:
        cap = buildout.capacity_by_year(
            table,
            years,
            product=product,
            attribution=params.attribution,
            as_of_year=decimal_as_of(as_of),
            first_year_utilisation=params.first_year_utilisation,
            years_to_nameplate=params.years_to_nameplate,
            mature_utilisation=params.mature_utilisation,
            completion_probabilities={status: 1.0 for status in buildout.STATUSES},
            undated_lead_years=params.undated_lead_years,
        )
        total = buildout.total_capacity_by_year(cap)[["year", "capacity_tpa"]]
        total["product"] = product
        frames.append(total)
    out = pd.concat(frames, ignore_index=True)[["year", "product", "capacity_tpa"]]
    out["product"] = out["product"].astype("string")
    return out


def check_run(run: TimelineRun) -> None:
    """Sanity checks on a timeline run; a briefing that would show nonsense must fail here, loudly.

    Checks: the pipeline is not empty and has non-negative capacities; demand is positive and finite in
    every year; simulated capacity is finite and non-negative; its percentiles are ordered
    (P10 <= P50 <= P90 every year); coverage years lie within
    the simulated years or are "never"; the slip fit used at least two observed builds.

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
        inside = np.isin(cov, result.years) | ~np.isfinite(cov)
        if not inside.all():
            raise ValueError(f"check_run: {product} coverage years outside the simulated years")
    if run.slip_fit.n_observed < 2:
        raise ValueError("check_run: the slip fit needs at least two observed builds")
