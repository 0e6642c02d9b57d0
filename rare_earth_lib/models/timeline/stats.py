"""Statistics of the timeline: slips of past builds, the censored log-normal fit, conditional slip draws.

Where the numerics come from (and why):

* The standard normal's log survival function and quantile function are :func:`scipy.special.log_ndtr`
  (of ``-z``) and :func:`scipy.special.ndtri`, the functions behind :data:`scipy.stats.norm`'s ``logsf`` and
  ``ppf`` (bit-identical results): accurate far into both tails (the censored likelihood and the conditional
  draws of projects that have already slipped live in the upper tail), vectorised, and well tested; no
  hand-written approximation is kept. They are called directly because importing :mod:`scipy.stats` costs
  about a second in every kernel and Dask worker that runs the timeline, and its per-call checks add more.
* Empirical percentiles use :func:`numpy.quantile` with ``method="inverted_cdf"``: the smallest sample
  value ``v`` with ``P(X <= v) >= q``, always an actual year of the sample, and ``inf`` ("never within
  the horizon") is a valid sample value that the quantile may return.
* The maximum-likelihood fit keeps a deterministic grid search (refined four times) rather than
  :func:`scipy.optimize.minimize`: with two parameters it costs milliseconds, needs no start value or
  tolerance, and gives bit-identical fits on every machine, which keeps scenario comparisons exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtri

from rare_earth_lib.models import buildout

ANALOG_SCOPES: dict[str, tuple[str, ...] | None] = {
    "refining": ("mining", "cracking", "separation", "heavy_separation"),
    "all": None,
}
"""Analog scope -> stages of the historical builds used to fit the slip distribution (None = all)."""


def empirical_quantile(values: np.ndarray, q: float) -> float:
    """Smallest value v with P(X <= v) >= q ("inverted CDF"), ``inf`` allowed in ``values``.

    A thin check around :func:`numpy.quantile` with ``method="inverted_cdf"``.

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
    return float(np.quantile(values, q, method="inverted_cdf"))


def decimal_as_of(as_of: Any) -> float:
    """The as-of date as a decimal year.

    Raises:
        ValueError: not a date.
    """
    value = float(buildout.decimal_year([as_of])[0])
    if math.isnan(value):
        raise ValueError(f"as_of must be a date; got {as_of!r}")
    return value


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

    def widened(self, spread_factor: float) -> SlipFit:
        """The same fit with its log-sd multiplied by ``spread_factor`` (the calibrated spread).

        Raises:
            ValueError: ``spread_factor`` <= 0.
        """
        if not spread_factor > 0:
            raise ValueError(f"spread_factor must be > 0; got {spread_factor!r}")
        return SlipFit(self.mu, self.sigma * spread_factor, self.offset_years, self.n_observed, self.n_censored, self.analog_ids)


def _select_scope(analogs: pd.DataFrame, scope: str, greenfield_only: bool) -> pd.DataFrame:
    frame = analogs
    stages = ANALOG_SCOPES[scope]
    if stages is not None:
        listed = frame["stage"].astype("string").fillna("").str.split(";")
        frame = frame.loc[listed.map(lambda items: any(s.strip() in stages for s in items)).astype(bool)]
    if greenfield_only and "greenfield" in frame:
        frame = frame.loc[frame["greenfield"].fillna(False).astype(bool)]
    return frame


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
    as_of_year = decimal_as_of(as_of)
    frame = _select_scope(analogs, scope, greenfield_only)
    planned = buildout.decimal_year(frame["planned_first_output_date"])
    actual = buildout.decimal_year(frame["actual_first_output_date"])
    reached = ~np.isnan(actual)
    if "reached_first_output" in frame:
        reached &= frame["reached_first_output"].fillna(False).astype(bool).to_numpy()
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
        ll = ll + np.sum(log_ndtr(-zc), axis=-1)
    return ll


def _grid_search(observed: np.ndarray, censored: np.ndarray) -> tuple[float, float]:
    """Maximise the censored log-likelihood over (mu, log sigma) by a grid refined four times."""
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
    return best_mu, math.exp(best_ls)


def fit_slip_distribution(slips: pd.DataFrame, *, offset_years: float = 1.0, exclude: Sequence[str] = ()) -> SlipFit:
    """Fit a log-normal to ``slip + offset`` by maximum likelihood, with censored builds as lower bounds.

    Observed slips contribute the log-normal density; censored builds (not yet producing) contribute the
    probability of a slip at least as long as the time already elapsed. Censored builds whose elapsed time
    is shorter than ``-offset_years`` carry no information and are ignored; observed slips earlier than
    ``-offset_years`` are clipped to just above it.

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
    mu, sigma = _grid_search(observed, censored)
    ids = tuple(str(a) for a in use["analog_id"].tolist())
    return SlipFit(mu, sigma, float(offset_years), int(observed.size), int(censored.size), ids)


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
    log_tail = log_ndtr(-z_c)  # log P(S >= lower_s)
    z = -ndtri(np.clip((1.0 - q) * np.exp(log_tail), 1e-300, 1.0))
    slip = np.exp(fit.mu + fit.sigma * z) - fit.offset_years
    slip = np.maximum(slip, lower_s)
    return np.where(slip > 0, slip * slip_multiplier, slip)
