"""Supply side of the assessment: world shares by stage, and alliance capacity against alliance demand.

Every ratio here divides like by like (:func:`rare_earth_lib.models.demand.like_for_like`): the same
countries, the same product and the same year on both sides. Capacity is the capacity model's "today"
(:mod:`rare_earth_lib.models.capacity`); plants located in China never count, and an alliance owner's part of
such a plant is shown apart. Demand for separated oxides is given for the three demand cases.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from rare_earth_lib.data.views import default_rows, join_ids, latest_not_after
from rare_earth_lib.domain import ALLIANCE, CHAIN_STAGES, STAGE_LABELS
from rare_earth_lib.models import capacity as capacity_model
from rare_earth_lib.models import concentration as conc
from rare_earth_lib.models import demand as demand_model


def latest(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows of the latest year not after ``year`` (the earliest year when every row is later)."""
    rows = latest_not_after(frame, year)
    return rows if not rows.empty else frame[frame["year"] == frame["year"].min()]


def world_volumes(demand: pd.DataFrame, year: int, magnet_re_content_share: float) -> dict[str, float]:
    """World output per stage (t/yr) from the demand table's world rows, to size capacity-based share estimates."""
    rows = default_rows(demand[demand["region"] == "world"])
    out: dict[str, float] = {}
    for stage, product in (("separation", "ndpr_oxide"), ("heavy_separation", "dytb_oxide")):
        sel = rows[rows["product"] == product]
        if not sel.empty:
            out[stage] = float(latest(sel, year)["tonnes"].iloc[0])
    magnet = rows[rows["product"] == "magnet_ree"]
    magnet = magnet[magnet["kind"] == "observed"] if "kind" in magnet.columns else magnet
    if not magnet.empty:
        out["magnet"] = float(latest(magnet, year)["tonnes"].iloc[0]) / magnet_re_content_share
        out["metal_alloy"] = out["magnet"]
    return out


def chain_shares(
    tables: Mapping[str, pd.DataFrame], attribution: str, year: int, magnet_re_content_share: float
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """World shares by stage (location, with capacity-based estimates) and the China/alliance summary.

    Mining comes from USGS mine production (``year`` or the latest earlier year); the other stages from
    ``stage_shares``, with capacity-based estimates for countries with plants but no statistic
    (:func:`concentration.estimate_missing_shares`).

    Returns:
        (shares_by_stage, summary): summary is :func:`concentration.concentration_summary` plus ``label``
        and ``includes_estimates``, in :data:`CHAIN_STAGES` order.
    """
    mine = tables["mine_production"]
    mine_year = int(latest(mine[mine["country"] != "World"], year)["year"].max())
    shares = {"mining": conc.mine_country_shares(mine, mine_year)}
    volumes = world_volumes(tables["demand"], year, magnet_re_content_share)
    for stage in CHAIN_STAGES[1:]:
        frame = conc.stage_country_shares(tables["stage_shares"], stage, year)
        if stage in volumes:
            frame = conc.estimate_missing_shares(frame, tables["projects"], stage, volumes[stage])
        shares[stage] = frame
    summary = conc.concentration_summary(shares, tables["projects"], attribution)
    order = {s: i for i, s in enumerate(CHAIN_STAGES)}
    summary = summary.sort_values("stage", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    summary.insert(1, "label", summary["stage"].map(STAGE_LABELS))
    estimated = {s: bool(f.get("estimated", pd.Series(False)).fillna(False).astype(bool).any()) for s, f in shares.items()}
    summary["includes_estimates"] = summary["stage"].map(estimated)
    summary["source_ids"] = [
        join_ids([summary.at[i, "source_ids"], *shares[s]["source_ids"].tolist()]) for i, s in enumerate(summary["stage"])
    ]
    return shares, summary


def _capacity_by_country(plants_today: pd.DataFrame, stage: str) -> pd.Series:
    sel = plants_today[(plants_today["stage"] == stage) & (plants_today["group"] == capacity_model.GROUP_ALLIANCE)]
    return sel.groupby("counted_for")["today_tpa"].sum()


def _mine_by_country(mine_production: pd.DataFrame, year: int) -> tuple[pd.Series, int, str]:
    mine = default_rows(mine_production)
    rows = latest(mine[mine["country"].isin(ALLIANCE)], year)
    return rows.groupby("country")["tonnes_reo"].sum(), int(rows["year"].max()), join_ids(rows)


_CAPACITY_BASIS = {
    "mining": "alliance mine output {year} (t REO)",
    "separation": "producing plants: latest observed output rate, else nameplate after ramp-up",
    "heavy_separation": "producing plants: latest observed output rate, else nameplate after ramp-up",
    "metal_alloy": "producing plants: nameplate after ramp-up (no observed output)",
    "magnet": "producing plants: nameplate after ramp-up (no observed output)",
}


def _stage_row(stage: str, capacity: pd.Series, demand_by_case: Mapping[str, pd.DataFrame], extra_ids: str) -> dict:
    row: dict = {"stage": stage, "label": STAGE_LABELS[stage]}
    for case, rows in demand_by_case.items():
        ratio = demand_model.like_for_like(capacity, rows)
        row[f"demand_{case}_t"] = ratio["demand_t"]
        row[f"ratio_{case}"] = ratio["ratio"]
    central = demand_model.like_for_like(capacity, demand_by_case["central"])
    row.update(
        {
            "countries": ", ".join(central["countries"]) or "none",
            "capacity_tpa": central["capacity_tpa"],
            "left_out": ", ".join(central["left_out"]),
            "left_out_tpa": central["left_out_tpa"],
            "demand_years": ", ".join(sorted({str(int(y)) for y in demand_by_case["central"]["year"]})),
            "source_ids": join_ids([extra_ids, *demand_by_case["central"]["source_ids"].dropna().astype(str)]),
        }
    )
    return row


def self_sufficiency(
    tables: Mapping[str, pd.DataFrame], plants_today: pd.DataFrame, groups_today: pd.DataFrame, cases: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Alliance capacity today against alliance demand, stage by stage, like for like.

    Args:
        tables: the data package's tables (``demand``, ``mine_production``).
        plants_today: :func:`capacity.today_plants` for every stage.
        groups_today: :func:`capacity.stage_groups_today` (for the alliance-owned-in-China column).
        cases: :func:`demand.demand_range` rows (per region, both oxides, three cases) covering ``year``.
        year: the year compared ("today").

    Returns:
        One row per stage of :data:`CHAIN_STAGES`: ``stage``, ``label``, ``countries`` (compared on both sides),
        ``capacity_tpa`` (those countries' capacity), ``demand_{low,central,high}_t``, ``ratio_{low,central,high}``
        (capacity / demand; NaN without demand), ``left_out`` / ``left_out_tpa`` (alliance capacity of countries
        with no demand figure, not in the ratio), ``alliance_owned_in_china_tpa`` (shown apart, never counted),
        ``capacity_basis``, ``demand_basis``, ``demand_years`` and ``source_ids``.
    """
    rows = []
    mine, mine_year, mine_ids = _mine_by_country(tables["mine_production"], year)
    for stage in CHAIN_STAGES:
        if stage == "mining":
            capacity, ids = mine, mine_ids
        else:
            capacity = _capacity_by_country(plants_today, stage)
            sel = plants_today[(plants_today["stage"] == stage) & (plants_today["group"] == capacity_model.GROUP_ALLIANCE)]
            ids = join_ids(sel[sel["today_tpa"] > 0])
        by_case = {
            case: demand_model.stage_demand_by_region(tables["demand"], stage, year, by_region=cases[cases["case"] == case])
            for case in demand_model.DEMAND_CASES
        }
        row = _stage_row(stage, capacity, by_case, ids)
        row["capacity_basis"] = _CAPACITY_BASIS[stage].format(year=mine_year)
        row["demand_basis"] = _demand_basis(stage)
        rows.append(row)
    out = pd.DataFrame(rows)
    in_china = groups_today[groups_today["group"] == capacity_model.GROUP_ALLIANCE_IN_CHINA].set_index("stage")["capacity_tpa"]
    out["alliance_owned_in_china_tpa"] = out["stage"].map(in_china)
    return out


def _demand_basis(stage: str) -> str:
    if stage in ("separation", "heavy_separation"):
        return "estimate, three cases: low (observation-based), central, high (company claims)"
    if stage == "mining":
        return "apparent consumption / domestic demand, all rare earths (t), where a country has a figure"
    return "NdFeB magnet demand (t), where a country has a figure"
