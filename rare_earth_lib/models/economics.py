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

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import PIPELINE_STATUSES

CURRENCIES: tuple[str, ...] = ("USD", "AUD", "EUR", "JPY", "MYR")
CAPACITY_BASES: tuple[str, ...] = (
    "t_reo",
    "t_ndpr_oxide",
    "t_dytb_oxide",
    "t_magnet",
    "t_concentrate",
    "t_feed",
    "t_mrec",
    "t_alloy",
)


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


def capex_intensity(
    projects: pd.DataFrame,
    fx_to_usd: Mapping[str, float],
    capacity_column: str = "ndpr_oxide_tpa",
    stage: str | None = "separation",
    capex_value_unit: float = 1e6,
) -> pd.DataFrame:
    """Capex intensity (US$ per t/yr of capacity) of comparable projects.

    intensity = capex (converted to US$) / nameplate capacity. Projects lacking either are dropped.
    Scopes differ (some capex includes a mine or a cracking plant), so treat the spread, not one
    project, as the estimate.

    Args:
        projects: the ``projects`` table (capex_value, capex_currency, the capacity column, stages).
        fx_to_usd: US$ per unit of currency.
        capacity_column: ``ndpr_oxide_tpa``, ``dytb_oxide_tpa`` or ``capacity_tpa``.
        stage: keep projects whose ``stages`` include this stage (None keeps all).
        capex_value_unit: currency units per unit of ``capex_value`` (the data package states capex
            in millions, so 1e6).

    Returns:
        DataFrame with columns project_id, company, capex_usd_m, capacity_tpa, usd_per_tpa,
        source_ids; sorted by usd_per_tpa.

    Raises:
        ValueError: unknown ``capacity_column``; missing exchange rate.
    """
    if capacity_column not in ("ndpr_oxide_tpa", "dytb_oxide_tpa", "capacity_tpa"):
        raise ValueError(f"capacity_column: unknown column {capacity_column!r}")
    rows = projects
    if stage is not None:
        rows = rows[rows["stages"].astype(str).str.split(";").map(lambda s: stage in [x.strip() for x in s])]
    rows = rows[rows["capex_value"].notna() & rows[capacity_column].notna() & (rows[capacity_column] > 0)]
    if not capex_value_unit > 0:
        raise ValueError(f"capex_value_unit: must be > 0, got {capex_value_unit!r}")
    capex_usd = to_usd(rows["capex_value"], rows["capex_currency"], fx_to_usd) * float(capex_value_unit)
    out = pd.DataFrame(
        {
            "project_id": rows["project_id"].astype(str).to_numpy(),
            "company": rows["company"].astype(str).to_numpy(),
            "capex_usd_m": (capex_usd / 1e6).to_numpy(),
            "capacity_tpa": rows[capacity_column].astype(float).to_numpy(),
            "source_ids": rows["source_ids"].astype(str).to_numpy(),
        }
    )
    out["usd_per_tpa"] = out["capex_usd_m"] * 1e6 / out["capacity_tpa"]
    return out.sort_values("usd_per_tpa", kind="stable").reset_index(drop=True)


def capex_to_fill_gap_musd(gap_tpa: float, usd_per_tpa: float) -> float:
    """Capex (US$ million) to build ``gap_tpa`` of capacity at ``usd_per_tpa``.

    Args:
        gap_tpa: capacity to add, t/yr (a negative gap means none is needed: 0 is returned).
        usd_per_tpa: capex intensity, US$ per t/yr.

    Raises:
        ValueError: negative or non-finite intensity.
    """
    intensity = _nonneg(usd_per_tpa, "usd_per_tpa")
    gap = float(gap_tpa)
    if not np.isfinite(gap):
        raise ValueError(f"gap_tpa: must be finite, got {gap_tpa!r}")
    return max(0.0, gap) * intensity / 1e6


def public_funding_musd(projects: pd.DataFrame, us_support_factor: float = 1.0, statuses: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Public money committed to projects, by funder, in US$ million.

    Args:
        projects: the ``projects`` table with funding_us_musd, funding_japan_musd,
            funding_australia_musd, funding_other_musd (US$ million; NaN = none recorded).
        us_support_factor: fraction of US commitments that still flows (1 = all; 0 = withdrawn).
        statuses: keep projects with these statuses (None keeps all but cancelled).

    Returns:
        One-row-per-funder DataFrame: funder, funding_musd, n_projects.

    Raises:
        ValueError: ``us_support_factor`` outside [0, 1].
    """
    factor = float(us_support_factor)
    if not 0 <= factor <= 1:
        raise ValueError(f"us_support_factor: must be in [0, 1], got {us_support_factor!r}")
    rows = projects[projects["status"] != "cancelled"] if statuses is None else projects[projects["status"].isin(list(statuses))]
    out = []
    for funder, column, scale in (
        ("United States", "funding_us_musd", factor),
        ("Japan", "funding_japan_musd", 1.0),
        ("Australia", "funding_australia_musd", 1.0),
        ("Other", "funding_other_musd", 1.0),
    ):
        values = pd.to_numeric(rows[column], errors="coerce").astype(float)
        out.append(
            {"funder": funder, "funding_musd": float(values.fillna(0).sum()) * scale, "n_projects": int((values.fillna(0) > 0).sum())}
        )
    return pd.DataFrame(out)


def cost_gap_table(
    market_usd_per_kg: float,
    incentive_usd_per_kg: float,
    floor_usd_per_kg: float,
    volume_t: float,
) -> pd.DataFrame:
    """Yearly cost of closing the price gap two ways on the same volume.

    Args:
        market_usd_per_kg: market price (US$/kg).
        incentive_usd_per_kg: incentive price (US$/kg).
        floor_usd_per_kg: price floor (US$/kg).
        volume_t: volume covered (t/yr).

    Returns:
        Two-row DataFrame: instrument ("subsidy to incentive price", "price floor"), target_usd_per_kg,
        market_usd_per_kg, gap_usd_per_kg, volume_t, cost_musd_per_year.
    """
    subsidy = price_gap_subsidy_musd(incentive_usd_per_kg, market_usd_per_kg, volume_t)
    floor = price_floor_cost_musd(floor_usd_per_kg, market_usd_per_kg, volume_t)
    return pd.DataFrame(
        {
            "instrument": ["subsidy to incentive price", "price floor"],
            "target_usd_per_kg": [float(incentive_usd_per_kg), float(floor_usd_per_kg)],
            "market_usd_per_kg": [float(market_usd_per_kg)] * 2,
            "gap_usd_per_kg": [max(0.0, incentive_usd_per_kg - market_usd_per_kg), max(0.0, floor_usd_per_kg - market_usd_per_kg)],
            "volume_t": [float(volume_t)] * 2,
            "cost_musd_per_year": [subsidy, floor],
        }
    )


FUNDING_COLUMNS: dict[str, str] = {
    "United States": "funding_us_musd",
    "Japan": "funding_japan_musd",
    "Australia": "funding_australia_musd",
    "Other": "funding_other_musd",
}


def price_usd_per_kg(prices: pd.DataFrame, product: str, price_type: str, year: int | None = None, which: str = "low") -> tuple[float, str]:
    """One price from the ``prices`` table, with its source ids.

    Picks the default row(s) of ``product`` and ``price_type`` for ``year`` (the latest year when
    None, or when ``year`` has no row the latest earlier year). ``which`` chooses the low end
    (``usd_per_kg``), the high end (``usd_per_kg_high``, falling back to the low end) or their mean
    (``"mid"``).

    Returns:
        (US$/kg, semicolon-separated source ids).

    Raises:
        ValueError: no matching row (naming ``price_type``), bad ``which``.
    """
    if which not in ("low", "mid", "high"):
        raise ValueError(f"which: must be 'low', 'mid' or 'high', got {which!r}")
    rows = prices[(prices["product"] == product) & (prices["price_type"] == price_type)]
    rows = default_rows(rows)
    if year is not None:
        rows = rows[rows["year"].isna() | (rows["year"] <= year)]
    if rows.empty:
        raise ValueError(f"price_type: no default {price_type!r} price for {product!r} (year <= {year})")
    if rows["year"].notna().any():
        rows = rows[rows["year"] == rows["year"].max()]
    row = rows.iloc[-1]
    low = float(row["usd_per_kg"])
    high = float(row["usd_per_kg_high"]) if "usd_per_kg_high" in row and pd.notna(row["usd_per_kg_high"]) else low
    value = {"low": low, "high": high, "mid": (low + high) / 2}[which]
    return value, ";".join(sorted({i for s in rows["source_ids"].astype(str) for i in s.split(";") if i}))


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


def partner_commitments(frameworks: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """What the alliance partners have put on the table: frameworks and public project funding.

    Args:
        frameworks: the ``frameworks`` table (framework_id, name, parties, signed_date,
            commitment_musd, source_ids).
        projects: the ``projects`` table (public funding columns).

    Returns:
        DataFrame: partner (the framework's alliance parties joined with " + ", or the funding
        country), kind ("framework" | "project funding"), item, amount_musd (the framework's total
        as recorded, not split between parties; NaN when no figure), date, conditional, source_ids.
        Frameworks come first (by date), then project funding by partner (United States, Japan,
        Australia) and date. Only rare-earth projects; frameworks without an alliance party are left out.
    """
    alliance = ("United States", "Japan", "Australia")
    rows = []
    for _, f in frameworks.iterrows():
        parties = [p.strip() for p in str(f["parties"]).split(";") if p.strip()]
        members = [p for p in parties if p in alliance]
        if not members:
            continue
        others = [p for p in parties if p not in alliance]
        amount = f.get("commitment_musd")
        rows.append(
            {
                "partner": " + ".join(members + others),
                "kind": "framework",
                "item": str(f["name"]),
                "amount_musd": float(amount) if pd.notna(amount) else float("nan"),
                "date": pd.Timestamp(f["signed_date"]) if pd.notna(f.get("signed_date")) else pd.NaT,
                "conditional": False,
                "source_ids": str(f["source_ids"]),
                "_order": 0,
            }
        )
    table = projects
    if "is_rare_earth" in table.columns:
        table = table[table["is_rare_earth"].fillna(True).astype(bool)]
    for rank, funder in enumerate(alliance, start=1):
        amounts = pd.to_numeric(table[FUNDING_COLUMNS[funder]], errors="coerce")
        for idx in table.index[amounts.fillna(0) > 0]:
            p = table.loc[idx]
            date = next((p.get(c) for c in ("fid_date", "announced_date") if c in p and pd.notna(p.get(c))), pd.NaT)
            conditional = p.get("funding_is_conditional", False)
            rows.append(
                {
                    "partner": funder,
                    "kind": "project funding",
                    "item": f"{p['company']}: {p['site'] if 'site' in p and pd.notna(p.get('site')) else p['project_id']} ({p['status']})",
                    "amount_musd": float(amounts[idx]),
                    "date": pd.Timestamp(date) if pd.notna(date) else pd.NaT,
                    "conditional": bool(conditional) if pd.notna(conditional) else False,
                    "source_ids": str(p["source_ids"]),
                    "_order": rank,
                }
            )
    out = pd.DataFrame(rows, columns=["partner", "kind", "item", "amount_musd", "date", "conditional", "source_ids", "_order"])
    out = out.sort_values(["_order", "date"], kind="stable", na_position="last").drop(columns="_order")
    return out.reset_index(drop=True)
