"""Economics of closing the alliance's gap: price-gap subsidy, price-floor cost, capex to build capacity.

Units: prices in US$ per kg of oxide; volumes in tonnes per year; money in US$ million (per year for
recurring costs). 1 t = 1,000 kg, so US$/kg x t = US$ thousand, and US$/kg x t / 1,000 = US$ million.
Mixed currencies are converted to US$ at rates passed in explicitly (``fx_to_usd``: US$ per unit of
the currency), never at a rate hidden in the code.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rare_earth_lib.domain import FUNDING_COLUMNS, PIPELINE_STATUSES


def _nonneg(value: float, argument: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{argument}: must be a finite number >= 0, got {value!r}")
    return value


def _top_up_musd(target_usd_per_kg: float, market_usd_per_kg: float, volume_t: float, names: tuple[str, str]) -> float:
    """max(0, target - market) x volume, US$ million/yr (US$/kg x t = US$ thousand); ``names`` label errors."""
    gap = _nonneg(target_usd_per_kg, names[0]) - _nonneg(market_usd_per_kg, "market_usd_per_kg")
    return max(0.0, gap) * _nonneg(volume_t, names[1]) / 1_000.0


def price_gap_subsidy_musd(incentive_usd_per_kg: float, market_usd_per_kg: float, volume_t: float) -> float:
    """Yearly subsidy that lifts the market price to the incentive price on ``volume_t``.

    subsidy = max(0, incentive - market) x volume. No subsidy is needed when the market already pays
    the incentive price.

    Args:
        incentive_usd_per_kg: price a new producer needs (e.g. for a 15% return), US$/kg.
        market_usd_per_kg: market price, US$/kg.
        volume_t: volume covered, t/yr.

    Returns:
        US$ million per year.

    Raises:
        ValueError: negative or non-finite argument (naming it).
    """
    return _top_up_musd(incentive_usd_per_kg, market_usd_per_kg, volume_t, ("incentive_usd_per_kg", "volume_t"))


def price_floor_cost_musd(floor_usd_per_kg: float, market_usd_per_kg: float, covered_volume_t: float) -> float:
    """Yearly cost to the guarantor of a price floor at a given market price.

    cost = max(0, floor - market) x covered volume (the guarantor pays the difference, as in the
    US$110/kg NdPr floor in the DoD-MP agreement).

    Args:
        floor_usd_per_kg: guaranteed minimum price, US$/kg.
        market_usd_per_kg: market price, US$/kg.
        covered_volume_t: volume the floor covers, t/yr.

    Returns:
        US$ million per year.

    Raises:
        ValueError: negative or non-finite argument (naming it).
    """
    return _top_up_musd(floor_usd_per_kg, market_usd_per_kg, covered_volume_t, ("floor_usd_per_kg", "covered_volume_t"))


def to_usd(value: pd.Series, currency: pd.Series, fx_to_usd: Mapping[str, float]) -> pd.Series:
    """Convert amounts to US$ at stated rates.

    Args:
        value: amounts in their own currency.
        currency: ISO code per amount (USD, AUD, EUR, JPY, MYR).
        fx_to_usd: US$ per unit of each currency (USD is 1 when absent).

    Returns:
        Series of US$ amounts (NaN where the value is missing).

    Raises:
        ValueError: a currency without a rate, or a non-positive rate (naming ``fx_to_usd``).
    """
    rates = {"USD": 1.0, **{k: float(v) for k, v in fx_to_usd.items()}}
    for code, rate in rates.items():
        if not rate > 0:
            raise ValueError(f"fx_to_usd: rate for {code} must be > 0, got {rate!r}")
    codes = currency.astype("string").fillna("USD")
    missing = sorted(set(codes[value.notna()]) - set(rates))
    if missing:
        raise ValueError(f"fx_to_usd: no rate for currency {missing[0]!r}")
    return pd.to_numeric(value, errors="coerce").astype(float) * codes.map(rates).astype(float)


def pipeline_public_money(
    projects: pd.DataFrame,
    stages: tuple[str, ...] = ("separation", "heavy_separation"),
    us_support_factor: float = 1.0,
    conditional_share: float = 1.0,
    statuses: tuple[str, ...] = PIPELINE_STATUSES,
) -> pd.DataFrame:
    """Public money committed to rare-earth pipeline projects at given stages, per project and funder.

    Args:
        projects: the ``projects`` table.
        stages: keep projects whose ``stages`` include any of these.
        us_support_factor: share of US money that still flows (0..1).
        conditional_share: share of conditional commitments (``funding_is_conditional``) counted (0..1).
        statuses: project statuses counted (default :data:`PIPELINE_STATUSES`).

    Returns:
        Long DataFrame: project_id, company, status, funder, committed_musd (as recorded),
        counted_musd (after the two factors), conditional (bool), source_ids. Only non-zero rows.

    Raises:
        ValueError: a factor outside [0, 1] (naming it).
    """
    for value, name in ((us_support_factor, "us_support_factor"), (conditional_share, "conditional_share")):
        if not 0 <= float(value) <= 1:
            raise ValueError(f"{name}: must be in [0, 1], got {value!r}")
    rows = projects[projects["status"].isin(list(statuses))]
    if "is_rare_earth" in rows.columns:
        rows = rows[rows["is_rare_earth"].fillna(True).astype(bool)]
    wanted = set(stages)
    rows = rows[rows["stages"].astype(str).map(lambda s: bool(wanted & {x.strip() for x in s.split(";")}))]
    conditional = (
        rows["funding_is_conditional"].fillna(False).astype(bool)
        if "funding_is_conditional" in rows.columns
        else pd.Series(False, index=rows.index)
    )
    out = []
    for funder, column in FUNDING_COLUMNS.items():
        amounts = pd.to_numeric(rows[column], errors="coerce").fillna(0.0)
        for idx in rows.index[amounts > 0]:
            factor = (us_support_factor if funder == "United States" else 1.0) * (conditional_share if conditional[idx] else 1.0)
            out.append(
                {
                    "project_id": rows.at[idx, "project_id"],
                    "company": rows.at[idx, "company"],
                    "status": rows.at[idx, "status"],
                    "funder": funder,
                    "committed_musd": float(amounts[idx]),
                    "counted_musd": float(amounts[idx]) * factor,
                    "conditional": bool(conditional[idx]),
                    "source_ids": rows.at[idx, "source_ids"],
                }
            )
    return pd.DataFrame(
        out, columns=["project_id", "company", "status", "funder", "committed_musd", "counted_musd", "conditional", "source_ids"]
    )
