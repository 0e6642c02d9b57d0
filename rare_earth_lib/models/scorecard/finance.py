"""Money in the assessment: prices, price floors per government, the Dy/Tb cost gap, capex and public money.

* **Prices.** The briefing answers an ex-China question, so the market price is an ex-China benchmark by
  default (``market_price_basis``), shown beside China-linked prices with the choice stated.
* **Floors.** Each floor is costed on the volume it covers and charged to the government that pays it:
  the US Department of Defense floor on MP Materials' NdPr, Japan's (JARE) floor on Lynas's firm
  5,000 t/yr. An extended floor on the alliance's whole need is a scenario assumption, shown as such.
* **Capex.** Capex per tonne comes from recent separation plants and expansions not yet producing (estimates of
  2024-26, new sites and, for heavy separation, an expansion at an operating plant), as a range; old figures for
  restarts of long-running plants are not mixed in.
* **Public money.** Only money from alliance governments to plants that separate rare earths for the
  alliance counts against the separation gap; everything else is shown apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import default_rows, join_ids, latest_not_after
from rare_earth_lib.domain import ALLIANCE, FUNDING_COLUMNS, PIPELINE_STATUSES, PRODUCING_STATUSES
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.models import economics as econ

PRICE_LABELS: dict[str, str] = {
    "annual_average": "China-linked: FOB China, annual average (Argus)",
    "china_domestic": "China domestic, ex-VAT",
    "fob_china": "FOB China",
    "europe": "Ex-China: Europe",
}


def _price_rows(prices: pd.DataFrame, product: str, price_type: str, year: int) -> pd.DataFrame:
    rows = default_rows(prices[(prices["product"] == product) & (prices["price_type"] == price_type)])
    return latest_not_after(rows, year)


def _mid(rows: pd.DataFrame) -> float:
    low = rows["usd_per_kg"].astype(float)
    high = rows["usd_per_kg_high"].astype(float).fillna(low) if "usd_per_kg_high" in rows else low
    return float(((low + high) / 2).mean())


def price_table(prices: pd.DataFrame, year: int, market_price_year: int) -> pd.DataFrame:
    """NdPr, Dy and Tb oxide prices by basis (China-linked and ex-China), latest not after ``year``.

    Returns:
        DataFrame: product, basis (key), label, year, price_date (the latest quote date, ISO, or "" when the
        source gives only a year), usd_per_kg (midpoint of a range), source_ids.
    """
    out = []
    for product in ("ndpr_oxide", "dy_oxide", "tb_oxide"):
        for basis in ("annual_average", "china_domestic", "fob_china", "europe"):
            rows = _price_rows(prices, product, basis, market_price_year if basis == "annual_average" else year)
            if rows.empty:
                continue
            dates = pd.to_datetime(rows["price_date"], errors="coerce").dropna() if "price_date" in rows else pd.Series(dtype=object)
            out.append(
                {
                    "product": product,
                    "basis": basis,
                    "label": PRICE_LABELS[basis],
                    "year": int(rows["year"].max()),
                    "price_date": dates.max().date().isoformat() if not dates.empty else "",
                    "usd_per_kg": _mid(rows),
                    "source_ids": join_ids(rows),
                }
            )
    return pd.DataFrame(out, columns=["product", "basis", "label", "year", "price_date", "usd_per_kg", "source_ids"])


def market_price(table: pd.DataFrame, product: str, basis: str) -> tuple[float, str, str]:
    """(US$/kg, source ids, label) of ``product`` on the chosen basis: ``"ex_china"`` (Europe) or ``"china"`` (FOB annual average).

    The label names the quote's date when the source gives one (a single-day quote), else its year.

    Raises:
        ValueError: the price table has no such price (naming ``prices``).
    """
    key = "europe" if basis == "ex_china" else "annual_average"
    rows = table[(table["product"] == product) & (table["basis"] == key)]
    if rows.empty:
        raise ValueError(f"prices: no {key} price for {product}")
    row = rows.iloc[0]
    when = f"quote of {row['price_date']}" if row.get("price_date") else str(row["year"])
    return float(row["usd_per_kg"]), str(row["source_ids"]), f"{row['label']}, {when}"


def _floor_ids(prices: pd.DataFrame, words: tuple[str, ...]) -> str:
    rows = default_rows(prices[(prices["product"] == "ndpr_oxide") & (prices["price_type"] == "price_floor")])
    hit = rows[rows["basis"].astype(str).str.contains("|".join(words), case=False)]
    return join_ids(hit if not hit.empty else rows)


QUARTER = re.compile(r"\bQ[1-4] \d{4}\b")


def observed_floor_cost(price_floors: pd.DataFrame | None, floor_words: tuple[str, ...]) -> dict[str, Any]:
    """The observed cost of a price floor as the data record it (payments reported for named quarters).

    Returns:
        ``musd`` (the recorded total), ``period`` (as recorded), ``quarters`` (how many quarters the period names),
        ``musd_per_year`` (the total at that rate over four quarters; NaN when the period names no quarter),
        ``source_ids``; every value NaN or "" when the data hold no observed cost for this floor.
    """
    empty = {"musd": float("nan"), "period": "", "quarters": 0, "musd_per_year": float("nan"), "source_ids": ""}
    if price_floors is None or price_floors.empty or "observed_cost_musd" not in price_floors:
        return empty
    hit = price_floors[price_floors["display_name"].astype(str).str.contains("|".join(floor_words), case=False)]
    hit = hit[pd.to_numeric(hit["observed_cost_musd"], errors="coerce").notna()]
    if hit.empty:
        return empty
    row = hit.iloc[0]
    period = str(row.get("observed_cost_period") or "")
    quarters = len(QUARTER.findall(period))
    total = float(row["observed_cost_musd"])
    return {
        "musd": total,
        "period": period,
        "quarters": quarters,
        "musd_per_year": total * 4 / quarters if quarters else float("nan"),
        "source_ids": str(row["source_ids"]),
    }


def _floor_instruments(prices: pd.DataFrame, volumes: Mapping[str, float], p: Any) -> list[tuple[str, str, str, str, float, float, str]]:
    """The price floors costed by :func:`floor_costs`: the two in force and, by scenario, one on the alliance's need.

    Each is ``(instrument, government, payer note, what it covers, volume t, share of the top-up that still
    flows, source ids)``; the US share is ``p.us_support_factor()`` (less when US money is withdrawn).
    """
    us_ids = _floor_ids(prices, ("DoD", "MP"))
    japan_ids = _floor_ids(prices, ("JARE", "Lynas"))
    rows = [
        (
            "US price floor (DoD–MP Materials)",
            "United States",
            "US Department of Defense",
            "MP Materials' NdPr output (latest run-rate)",
            volumes["us_floor_t"],
            p.us_support_factor(),
            us_ids,
        ),
        (
            "Japan price floor (JARE–Lynas)",
            "Japan",
            "JARE (Sojitz and JOGMEC): the split between public and private money is not public",
            "Lynas's firm NdPr offtake to Japan",
            volumes["japan_floor_t"],
            1.0,
            japan_ids,
        ),
    ]
    if p.price_floor_scope == "alliance_demand":
        rows.append(
            (
                "Floor extended to the alliance's need (scenario assumption)",
                "not stated",
                "not stated",
                "the alliance's NdPr need",
                volumes["alliance_need_t"],
                1.0,
                join_ids([us_ids, japan_ids]),
            )
        )
    return rows


def floor_costs(
    prices: pd.DataFrame,
    floor: float,
    market: float,
    market_ids: str,
    volumes: Mapping[str, float],
    p: Any,
    market_label: str = "",
    price_floors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Yearly cost of each NdPr price floor on the volume it covers, per paying government.

    The modelled cost tops the floor up from the scenario's market price (``market_label`` names it and its date).
    Beside it, the cost observed where the data record one (the US Department of Defense's price-protection
    payments to MP Materials, paid against MP's own realised, China-linked price), annualised from the quarters
    it covers. Japan's floor is run by JARE (Sojitz and JOGMEC); how its cost splits between public and private
    money is not public, which the ``payer_note`` says.

    Args:
        prices: the prices table (for the floors' sources).
        floor: the floor (US$/kg NdPr oxide).
        market: the market price the floor is topped up from (US$/kg).
        market_ids: sources of the market price.
        volumes: ``us_floor_t`` (MP Materials' NdPr today), ``japan_floor_t`` (firm Lynas offtake) and
            ``alliance_need_t`` (the whole alliance need, for an extended floor).
        p: parameters (``price_floor_scope``, ``us_support_factor()``).
        market_label: the market price's label (basis and date).
        price_floors: the ``price_floors`` table (observed costs), optional.

    Returns:
        DataFrame: instrument, government, payer_note, covers, volume_t, target_usd_per_kg, market_usd_per_kg,
        price_basis, cost_musd_per_year, observed_musd, observed_period, observed_musd_per_year,
        observed_basis, source_ids.
    """
    observed = {
        "United States": observed_floor_cost(price_floors, ("DoD", "Department of Defense")),
        "Japan": observed_floor_cost(price_floors, ("JARE",)),
    }
    rows = _floor_instruments(prices, volumes, p)
    none = observed_floor_cost(None, ())
    out = []
    for name, government, payer, covers, volume, factor, ids in rows:
        seen = observed.get(government, none)
        out.append(
            {
                "instrument": name,
                "government": government,
                "payer_note": payer,
                "covers": covers,
                "volume_t": float(volume),
                "target_usd_per_kg": float(floor),
                "market_usd_per_kg": float(market),
                "price_basis": market_label,
                "cost_musd_per_year": econ.price_floor_cost_musd(floor, market, volume) * factor,
                "observed_musd": seen["musd"],
                "observed_period": seen["period"],
                "observed_musd_per_year": seen["musd_per_year"],
                "observed_basis": "paid against MP Materials' realised (China-linked) price" if seen["period"] else "",
                "source_ids": join_ids([ids, market_ids, seen["source_ids"]]),
            }
        )
    return pd.DataFrame(out)


def heavy_cost_gap(table: pd.DataFrame, dytb_demand_t: float, dy_share: float) -> pd.DataFrame:
    """Yearly premium of buying the alliance's Dy and Tb at ex-China (Europe) rather than China-linked prices.

    Europe quotes rest on thin spot trade (most Dy traded near China-linked levels in 2025), so this is an upper
    bound of the premium, not a market average.

    Returns:
        DataFrame: product, volume_t, ex_china_usd_per_kg, china_usd_per_kg, premium_usd_per_kg,
        cost_musd_per_year, source_ids.
    """
    out = []
    for product, share in (("dy_oxide", dy_share), ("tb_oxide", 1.0 - dy_share)):
        ex_china, ex_ids, _ = market_price(table, product, "ex_china")
        china, china_ids, _ = market_price(table, product, "china")
        volume = dytb_demand_t * share
        out.append(
            {
                "product": product,
                "volume_t": volume,
                "ex_china_usd_per_kg": ex_china,
                "china_usd_per_kg": china,
                "premium_usd_per_kg": ex_china - china,
                "cost_musd_per_year": max(0.0, ex_china - china) * volume / 1000.0,
                "source_ids": join_ids([ex_ids, china_ids]),
            }
        )
    return pd.DataFrame(out)


def greenfield_capex(projects: pd.DataFrame, fx: Mapping[str, float]) -> pd.DataFrame:
    """Capex per t/yr of recent separation plants and expansions not yet producing, per product, as a range.

    Light: plants listing separation with an NdPr capacity (all capex against NdPr, a plant's heavy circuit
    included). Heavy: plants with a Dy+Tb capacity and no NdPr capacity. The estimates are of 2024-26, in the
    dollars of their own year (no inflation adjustment). A plant whose capacity of the product is not published
    (estimated by the capacity model from its REO capacity) is listed without a per-tonne figure: its capex
    covers products in a split the sources do not give, so capex per tonne of the product is not computable.

    Returns:
        DataFrame: product, project_id, company, status, capacity_tpa, capacity_estimated, usd_per_tpa_low,
        usd_per_tpa_high, source_ids.
    """
    rows = projects[
        projects["status"].isin([s for s in PIPELINE_STATUSES if s not in PRODUCING_STATUSES]) & projects["capex_value"].notna()
    ]
    low = econ.to_usd(rows["capex_value"], rows["capex_currency"], fx)
    high = econ.to_usd(rows["capex_high_value"].fillna(rows["capex_value"]), rows["capex_currency"], fx)
    ndpr = pd.to_numeric(rows["ndpr_oxide_tpa"], errors="coerce")
    dytb = pd.to_numeric(rows["dytb_oxide_tpa"], errors="coerce")
    separates = rows["stages"].astype(str).str.contains("separation")
    estimated = rows.get("capacity_estimated_by_model", pd.Series(False, index=rows.index)).fillna(False).astype(bool)
    out = []
    for product, capacity, keep in (("ndpr_oxide", ndpr, separates & (ndpr > 0)), ("dytb_oxide", dytb, (dytb > 0) & ndpr.isna())):
        sel = rows[keep]
        out.append(
            pd.DataFrame(
                {
                    "product": product,
                    "project_id": sel["project_id"],
                    "company": sel["company"],
                    "status": sel["status"],
                    "capacity_tpa": capacity[keep],
                    "capacity_estimated": estimated[keep],
                    "usd_per_tpa_low": (low[keep] * 1e6 / capacity[keep]).where(~estimated[keep]),
                    "usd_per_tpa_high": (high[keep] * 1e6 / capacity[keep]).where(~estimated[keep]),
                    "source_ids": sel["source_ids"].astype(str),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def capex_range(intensity: pd.DataFrame, product: str) -> dict[str, float]:
    """Low / central / high capex per t/yr of ``product``: lowest low end, median midpoint, highest high end (NaN if none).

    Only plants with a computable figure count; ``plants`` says how many (one plant is a low-confidence range).
    """
    sel = intensity[(intensity["product"] == product) & intensity["usd_per_tpa_low"].notna()]
    if sel.empty:
        return {"low": float("nan"), "central": float("nan"), "high": float("nan"), "plants": 0}
    mid = (sel["usd_per_tpa_low"] + sel["usd_per_tpa_high"]) / 2
    return {
        "low": float(sel["usd_per_tpa_low"].min()),
        "central": float(np.median(mid)),
        "high": float(sel["usd_per_tpa_high"].max()),
        "plants": len(sel),
    }


def public_money(projects: pd.DataFrame, p: Any) -> pd.DataFrame:
    """Public money committed to pipeline projects, each row saying whether it counts against the separation gap.

    A row counts when an alliance government funds a plant that separates rare earths (light or heavy) and
    counts for the alliance (:func:`capacity.alliance_share` > 0; never a plant in China). Money from other
    governments, and money for mines, magnets or alloy, is shown apart.

    Returns:
        :func:`economics.pipeline_public_money` rows for every rare-earth stage, plus ``separation_in_alliance``
        (bool) and ``counts`` (``counted_musd`` where it counts, else 0).
    """
    money = econ.pipeline_public_money(
        projects,
        stages=("mining", "cracking", "separation", "heavy_separation", "metal_alloy", "magnet", "recycling"),
        us_support_factor=p.us_support_factor(),
        conditional_share=p.conditional_funding_share,
    )
    share = capacity_model.alliance_share(projects, p.attribution).set_axis(projects["project_id"])
    stages = projects.set_index("project_id")["stages"].astype(str)
    separates = money["project_id"].map(stages).str.contains("separation").fillna(False)
    in_alliance = money["project_id"].map(share).fillna(0.0) > 0
    money["separation_in_alliance"] = separates & in_alliance & money["funder"].isin(ALLIANCE)
    money["counts"] = money["counted_musd"].where(money["separation_in_alliance"], 0.0)
    return money


def framework_project_money(framework_money: pd.DataFrame | None, p: Any) -> pd.DataFrame:
    """Framework money the data assign to a named project and not already in its project funding, as :func:`public_money` rows.

    It counts against the separation gap when the data class it as funding separation in the alliance
    (``funds`` ``separation_alliance_*``) and an alliance government pays; letters of interest and other
    upper bounds (``export_credit`` or ``lte``) count as conditional.
    """
    columns = ["project_id", "company", "status", "funder", "committed_musd", "counted_musd", "conditional", "source_ids"]
    if framework_money is None or framework_money.empty:
        return pd.DataFrame(columns=[*columns, "separation_in_alliance", "counts"])
    rows = default_rows(framework_money)
    rows = rows[rows["project_id"].notna() & ~rows["in_project_funding"].astype(bool)]
    conditional = (rows["instrument"] == "export_credit") | (rows["amount_qualifier"] == "lte")
    funder = rows["funder_country"].astype(str)
    factor = conditional.map({True: p.conditional_funding_share, False: 1.0}) * funder.map(
        lambda f: p.us_support_factor() if f == "United States" else 1.0
    )
    out = pd.DataFrame(
        {
            "project_id": rows["project_id"],
            "company": rows.get("display_name", rows["item"]),
            "status": "",
            "funder": funder,
            "committed_musd": rows["amount_musd"].astype(float),
            "counted_musd": rows["amount_musd"].astype(float) * factor,
            "conditional": conditional,
            "source_ids": rows["source_ids"],
        }
    )
    out["separation_in_alliance"] = rows["funds"].astype(str).str.startswith("separation_alliance") & funder.isin(ALLIANCE)
    out["counts"] = out["counted_musd"].where(out["separation_in_alliance"], 0.0)
    return out.reset_index(drop=True)


def framework_money(frameworks: pd.DataFrame | None, p: Any) -> tuple[float, float, float, str]:
    """(counted, committed, US part committed, source ids) of the new US frameworks' money judged to reach rare earths.

    Not assigned to any project in the data, so it never counts against the separation gap; the briefing shows
    it apart. Counted = commitment x ``framework_ree_share`` x ``framework_landed_share``, the US part scaled by
    the US support factor.
    """
    if frameworks is None or frameworks.empty:
        return 0.0, 0.0, 0.0, ""
    counted = committed = us_committed = 0.0
    ids = []
    for _, f in frameworks.iterrows():
        parties = [x.strip() for x in str(f["parties"]).split(";") if x.strip()]
        if pd.isna(f.get("commitment_musd")) or "United States" not in parties:
            continue
        base = float(f["commitment_musd"]) * p.framework_ree_share * p.framework_landed_share
        us_part = base / len(parties)
        committed += base
        us_committed += us_part
        counted += base - us_part + us_part * p.us_support_factor()
        ids.append(f["source_ids"])
    return counted, committed, us_committed, join_ids(ids)


def us_share_of_money(money: pd.DataFrame, framework_committed: float, framework_us: float) -> float:
    """US share of all public money committed (projects and frameworks), 0..1."""
    us = float(money.loc[money["funder"] == "United States", "committed_musd"].sum()) + framework_us
    total = float(money["committed_musd"].sum()) + framework_committed
    return us / total if total > 0 else 0.0


__all__ = [
    "FUNDING_COLUMNS",
    "capex_range",
    "floor_costs",
    "framework_money",
    "greenfield_capex",
    "heavy_cost_gap",
    "market_price",
    "observed_floor_cost",
    "price_table",
    "public_money",
    "us_share_of_money",
]
