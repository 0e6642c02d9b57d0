"""Calibration of the slip distribution's spread on the leave-one-out hindcast.

The plain maximum-likelihood fit is over-confident on the analogs: its P10-P90 window, made for each
historical build from the *other* builds as of its decision date, holds fewer than 80% of the outcomes.
:func:`calibrate_spread` widens (or narrows) the fitted log-sd by one factor, chosen on a grid so that the
leave-one-out P10-P90 windows hold as close to 80% of the decided builds as the sample allows; among
equally close factors it keeps the one nearest 1 (the smallest change to the fit). The sample is small,
so the calibrated coverage is reported with a Clopper-Pearson ("exact") binomial interval from
:func:`scipy.stats.binomtest`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models import shared
from rare_earth_lib.models.timeline.hindcast import hindcast_coverage, hindcast_slips, loo_fits
from rare_earth_lib.models.timeline.stats import analog_slips, decimal_as_of

SPREAD_GRID: tuple[float, ...] = tuple(float(round(k, 2)) for k in np.arange(0.5, 4.0001, 0.05))
"""Spread factors tried (0.5 to 4 in steps of 0.05)."""

TARGET_COVERAGE = 0.8
"""Nominal coverage of a P10-P90 window."""

CONFIDENCE = 0.9
"""Confidence level of the binomial interval reported with the coverage."""


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate_spread`.

    Attributes:
        spread_factor: factor on the fitted log-sd that brings coverage nearest the target.
        coverage: leave-one-out P10-P90 coverage with that factor (inside / decided).
        n_inside, n_decided, n_open: counts behind ``coverage`` (open = not yet producing, still possible).
        ci_low, ci_high: Clopper-Pearson interval of the coverage at :data:`CONFIDENCE`.
        uncalibrated: the same counts (``coverage``, ``n_inside``, ``n_decided``, ``n_open``) with factor 1.
        target: the nominal coverage aimed at.
        grid: one row per factor tried: ``spread_factor``, ``coverage``, ``n_inside``, ``n_decided``.
    """

    spread_factor: float
    coverage: float | None
    n_inside: int
    n_decided: int
    n_open: int
    ci_low: float | None
    ci_high: float | None
    uncalibrated: dict[str, Any]
    target: float
    grid: pd.DataFrame


def binomial_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """Clopper-Pearson interval for a proportion (``(None, None)`` when there are no trials)."""
    if trials <= 0:
        return None, None
    from scipy.stats import binomtest  # here, not at the top: scipy.stats takes about a second to import

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def _choose(grid: pd.DataFrame, target: float) -> float:
    scored = grid.dropna(subset=["coverage"]).assign(
        gap=lambda g: (g["coverage"] - target).abs().round(9), change=lambda g: (g["spread_factor"] - 1.0).abs()
    )
    if scored.empty:
        return 1.0
    return float(scored.sort_values(["gap", "change", "spread_factor"], kind="stable").iloc[0]["spread_factor"])


_CACHE: dict[str, Calibration] = {}


def _digest(analogs: pd.DataFrame, *args: Any) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(analogs.astype("string"), index=True).to_numpy().tobytes())
    h.update(repr(args).encode())
    return h.hexdigest()


def calibrate_spread(
    analogs: pd.DataFrame, *, as_of: Any, scope: str = "refining", offset_years: float = 1.0, target: float = TARGET_COVERAGE
) -> Calibration:
    """Spread factor of the slip distribution that makes the leave-one-out P10-P90 coverage nearest ``target``.

    A pure function of its arguments; results are memoised on a digest of the analogs table and all
    other arguments (the leave-one-out fits cost a fraction of a second each).

    Args:
        analogs: the data package's build_analogs table.
        as_of: the data's as-of date.
        scope: analog scope, as in the timeline's fit.
        offset_years: the slip fit's offset.
        target: nominal coverage (0-1).

    Returns:
        A :class:`Calibration`.
    """
    key = _digest(analogs, str(as_of), scope, float(offset_years), float(target))
    if key not in _CACHE:  # and once per build for all its kernels
        _CACHE[key] = shared.cached("slip_calibration", key, lambda: _calibrate(analogs, as_of, scope, offset_years, target))
    return _CACHE[key]


def _calibrate(analogs: pd.DataFrame, as_of: Any, scope: str, offset_years: float, target: float) -> Calibration:
    slips = analog_slips(analogs, as_of=as_of, scope=scope)
    fits = loo_fits(slips, offset_years)
    as_of_year = decimal_as_of(as_of)

    def coverage(k: float) -> dict[str, Any]:
        return hindcast_coverage(hindcast_slips(slips, fits, as_of_year=as_of_year, spread_factor=k))

    rows = []
    for k in SPREAD_GRID:
        cov = coverage(k)
        rows.append({"spread_factor": k, **{c: cov[c] for c in ("coverage_rate", "n_inside", "n_decided", "n_open")}})
    grid = pd.DataFrame(rows).rename(columns={"coverage_rate": "coverage"})
    factor = _choose(grid, target)
    chosen, plain = coverage(factor), coverage(1.0)
    low, high = binomial_interval(chosen["n_inside"], chosen["n_decided"])
    return Calibration(
        spread_factor=factor,
        coverage=chosen["coverage_rate"],
        n_inside=chosen["n_inside"],
        n_decided=chosen["n_decided"],
        n_open=chosen["n_open"],
        ci_low=low,
        ci_high=high,
        uncalibrated={c: plain[c] for c in ("coverage_rate", "n_inside", "n_decided", "n_open")},
        target=float(target),
        grid=grid,
    )
