"""Scoring: the 0-100 scale, indicators, pillars, the overall index and the bottleneck.

Scale. Every indicator is scored from 0 (worst) to 100 (best) by linear interpolation between two
thresholds taken from the parameters: the value at which the score is 0 (``worst``) and the value at
which it is 100 (``best``); values beyond either threshold are clipped. When ``worst > best`` a
lower value is better (e.g. years to coverage). A pillar's score is the equal-weighted mean of its
indicators' scores; the overall index is the mean of the pillar scores weighted by the pillar
weights (normalised to sum to 1). The bottleneck is the pillar with the lowest score (the first in
:data:`PILLARS` order on a tie). Bands: below 33.3 "weak", below 66.7 "partial", else "strong".
The indicators and their inputs are listed in :data:`INDICATORS`; :mod:`.indicators` computes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from rare_earth_lib.domain import PILLAR_LABELS

PILLARS: tuple[str, ...] = ("resources", "technology", "market_finance", "time", "policy_risk")
INDICATOR_LABELS: dict[str, str] = {
    "light_ore_coverage": "Australian ore vs NdPr demand",
    "heavy_ore_coverage": "Australian ore vs Dy+Tb demand",
    "nonchina_separation_share": "Separation outside China",
    "nonchina_heavy_separation_share": "Heavy separation outside China",
    "technology_controls_in_force": "China's technology export bans in force",
    "market_to_incentive_price": "Market vs incentive price",
    "floor_to_incentive_price": "Price floor vs incentive price",
    "public_money_to_capex": "Public money vs capex needed",
    "years_to_ndpr_coverage": "Years to NdPr coverage (P50)",
    "years_to_dytb_coverage": "Years to Dy+Tb coverage (P50)",
    "licence_exposure_share": "Demand needing Chinese licences",
    "us_funding_at_risk": "US funding at risk",
}
BANDS: tuple[tuple[float, str], ...] = ((100.0 / 3.0, "weak"), (200.0 / 3.0, "partial"), (math.inf, "strong"))

#: indicator -> (pillar, unit, threshold parameter prefix, description).
INDICATORS: dict[str, tuple[str, str, str, str]] = {
    "light_ore_coverage": ("resources", "ratio", "resources_coverage", "Australian ore's NdPr content / alliance NdPr oxide demand"),
    "heavy_ore_coverage": ("resources", "ratio", "resources_coverage", "Australian ore's Dy+Tb content / alliance Dy+Tb oxide demand"),
    "nonchina_separation_share": ("technology", "fraction", "technology_share", "share of world rare-earth separation outside China"),
    "nonchina_heavy_separation_share": (
        "technology",
        "fraction",
        "technology_share",
        "share of world heavy rare-earth separation outside China",
    ),
    "technology_controls_in_force": (
        "technology",
        "fraction",
        "technology_controls",
        "share of China's export controls on rare-earth technology and equipment in force (not a measure of reliance)",
    ),
    "market_to_incentive_price": ("market_finance", "ratio", "price_ratio", "market NdPr oxide price / incentive price for new projects"),
    "floor_to_incentive_price": ("market_finance", "ratio", "price_ratio", "effective NdPr price floor / incentive price"),
    "public_money_to_capex": (
        "market_finance",
        "ratio",
        "funding_ratio",
        "public money committed to the pipeline / capex to fill the NdPr separation gap",
    ),
    "years_to_ndpr_coverage": ("time", "years", "time_years", "P50 years until alliance NdPr separation covers the target share of demand"),
    "years_to_dytb_coverage": (
        "time",
        "years",
        "time_years",
        "P50 years until alliance Dy+Tb separation covers the target share of demand",
    ),
    "licence_exposure_share": (
        "policy_risk",
        "fraction",
        "licence_share",
        "mean share of alliance demand needing Chinese licences (separation, heavy separation, alloy, magnets)",
    ),
    "us_funding_at_risk": ("policy_risk", "fraction", "us_funding_risk", "US share of public money x chance of a US policy reversal"),
}


def score_linear(value: float, worst: float, best: float) -> float:
    """Score ``value`` on 0-100: 0 at ``worst``, 100 at ``best``, linear between, clipped outside.

    ``value`` may be ``inf`` (e.g. coverage never reached): it scores 0 or 100 by direction.

    Raises:
        ValueError: ``worst == best`` or a non-finite threshold (naming it); NaN ``value``.
    """
    worst, best = float(worst), float(best)
    if not (math.isfinite(worst) and math.isfinite(best)):
        raise ValueError(f"worst/best: thresholds must be finite, got {worst!r}, {best!r}")
    if worst == best:
        raise ValueError(f"worst: must differ from best (both {worst!r})")
    value = float(value)
    if math.isnan(value):
        raise ValueError("value: is NaN; an indicator needs a value to be scored")
    fraction = (value - worst) / (best - worst)
    return float(min(1.0, max(0.0, fraction)) * 100.0)


def band(score: float) -> str:
    """Verbal band of a 0-100 score: "weak", "partial" or "strong"."""
    if not 0 <= score <= 100:
        raise ValueError(f"score: must lie in [0, 100], got {score!r}")
    return next(label for limit, label in BANDS if score < limit)


def indicator_frame(values: Mapping[str, float], params, inputs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Turn indicator values into a scored, tidy frame using thresholds and weights from ``params``.

    Args:
        values: indicator name (a key of :data:`INDICATORS`) -> value. ``None`` for a
            ``years_to_*`` indicator means "not reached within the horizon" and scores 0.
        params: object with attributes ``<prefix>_worst``, ``<prefix>_best`` for each indicator's
            threshold prefix and ``weight_<pillar>`` for each pillar (the alliance_feasibility Params).
        inputs: indicator name -> explanation of the inputs (text with numbers and source ids).

    Returns:
        DataFrame, one row per indicator: pillar, indicator, description, value, unit, worst, best,
        thresholds (text), score (0-100), weight (within pillar, equal), pillar_weight, inputs.

    Raises:
        ValueError: unknown indicator name (naming ``values``); bad thresholds.
    """
    inputs = dict(inputs or {})
    rows = []
    for name, value in values.items():
        if name not in INDICATORS:
            raise ValueError(f"values: unknown indicator {name!r}")
        pillar, unit, prefix, description = INDICATORS[name]
        worst = float(getattr(params, f"{prefix}_worst"))
        best = float(getattr(params, f"{prefix}_best"))
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if missing and not name.startswith("years_to_"):
            raise ValueError(f"values: indicator {name!r} has no value")
        scored_value = (math.inf if best < worst else -math.inf) if missing else float(value)
        rows.append(
            {
                "pillar": pillar,
                "indicator": name,
                "description": description,
                "value": None if missing else float(value),
                "unit": unit,
                "worst": worst,
                "best": best,
                "thresholds": f"0 at {worst:g}, 100 at {best:g}",
                "score": score_linear(scored_value, worst, best),
                "pillar_weight": float(getattr(params, f"weight_{pillar}")),
                "inputs": inputs.get(name, "") + (" Not reached within the horizon: scored 0." if missing else ""),
            }
        )
    frame = pd.DataFrame(rows)
    frame["weight"] = 1.0 / frame.groupby("pillar")["indicator"].transform("count")
    order = {p: i for i, p in enumerate(PILLARS)}
    frame = frame.sort_values("pillar", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return frame[
        ["pillar", "indicator", "description", "value", "unit", "worst", "best", "thresholds", "score", "weight", "pillar_weight", "inputs"]
    ]


def pillar_scores(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Pillar scores: indicator scores averaged with their within-pillar weights.

    Returns:
        DataFrame: pillar, label, score (0-100), weight (pillar weight, normalised to sum to 1),
        band, n_indicators; in :data:`PILLARS` order (pillars without indicators are left out).

    Raises:
        ValueError: a pillar weight is negative or all are zero (naming ``weight``).
    """
    grouped = scorecard.assign(ws=scorecard["score"] * scorecard["weight"]).groupby("pillar", sort=False)
    out = pd.DataFrame(
        {
            "score": grouped["ws"].sum() / grouped["weight"].sum(),
            "raw_weight": grouped["pillar_weight"].first(),
            "n_indicators": grouped["indicator"].count(),
        }
    )
    out = out.reindex([p for p in PILLARS if p in out.index])
    if (out["raw_weight"] < 0).any() or out["raw_weight"].sum() <= 0:
        raise ValueError("weight: pillar weights must be >= 0 and not all zero")
    out["weight"] = out["raw_weight"] / out["raw_weight"].sum()
    out["label"] = [PILLAR_LABELS[p] for p in out.index]
    out["band"] = out["score"].map(band)
    out = out.reset_index(names="pillar")
    return out[["pillar", "label", "score", "weight", "band", "n_indicators"]]


def overall_index(scorecard: pd.DataFrame) -> float:
    """Overall feasibility index (0-100): pillar scores weighted by the normalised pillar weights."""
    pillars = pillar_scores(scorecard)
    return float((pillars["score"] * pillars["weight"]).sum())


def bottleneck(scorecard: pd.DataFrame) -> str:
    """The pillar with the lowest score (first in :data:`PILLARS` order on a tie)."""
    pillars = pillar_scores(scorecard)
    return str(pillars.loc[pillars["score"].idxmin(), "pillar"])


def weakest_indicator(scorecard: pd.DataFrame, pillar: str) -> pd.Series:
    """The lowest-scoring indicator row of ``pillar`` (to explain a bottleneck)."""
    if pillar not in PILLARS:
        raise ValueError(f"pillar: unknown pillar {pillar!r}; expected one of {', '.join(PILLARS)}")
    rows = scorecard[scorecard["pillar"] == pillar]
    if rows.empty:
        raise ValueError(f"pillar: no indicator for {pillar!r} in the scorecard")
    return rows.loc[rows["score"].idxmin()]


def build_scorecard(values: Mapping[str, float | None], params, inputs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Scored indicator frame (alias of :func:`indicator_frame` for readability in notebooks)."""
    return indicator_frame(values, params, inputs)
