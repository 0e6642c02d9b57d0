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
from rare_earth_lib.domain import ALLIANCE, CHAIN_STAGES, CHINA, STAGE_LABELS
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

    :func:`stage_shares` then :func:`chain_summary` on its :func:`concentration.concentration_summary`.

    Returns:
        (shares_by_stage, summary): as :func:`stage_shares` and :func:`chain_summary` return them.
    """
    shares = stage_shares(tables, year, magnet_re_content_share)
    return shares, chain_summary(tables, shares, conc.concentration_summary(shares, tables["projects"], attribution), year)


def stage_shares(tables: Mapping[str, pd.DataFrame], year: int, magnet_re_content_share: float) -> dict[str, pd.DataFrame]:
    """World shares by stage, by plant location, in :data:`CHAIN_STAGES` order.

    Mining comes from USGS mine production (``year`` or the latest earlier year); the other stages from
    ``stage_shares``, with capacity-based estimates for countries with plants but no statistic
    (:func:`concentration.estimate_missing_shares`).
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
    return shares


def chain_summary(tables: Mapping[str, pd.DataFrame], shares: Mapping[str, pd.DataFrame], summary: pd.DataFrame, year: int) -> pd.DataFrame:
    """The China/alliance summary the briefing shows, from ``summary`` (:func:`concentration.concentration_summary`
    of ``shares`` under one attribution; not modified).

    Returns:
        ``summary`` plus ``label``, ``includes_estimates`` and ``china_share_derived`` /
        ``china_share_derived_year`` (China's share from a newer derived check, NaN / NA where none), its source
        ids joined with those of the shares, in :data:`CHAIN_STAGES` order.
    """
    order = {s: i for i, s in enumerate(CHAIN_STAGES)}
    summary = summary.sort_values("stage", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    summary.insert(1, "label", summary["stage"].map(STAGE_LABELS))
    estimated = {s: bool(f.get("estimated", pd.Series(False)).fillna(False).astype(bool).any()) for s, f in shares.items()}
    summary["includes_estimates"] = summary["stage"].map(estimated)
    summary["source_ids"] = [
        join_ids([summary.at[i, "source_ids"], *shares[s]["source_ids"].tolist()]) for i, s in enumerate(summary["stage"])
    ]
    derived = [
        _newer_derived_china_share(tables["stage_shares"], s, int(y), year) for s, y in zip(summary["stage"], summary["year"], strict=True)
    ]
    summary["china_share_derived"] = [d[0] for d in derived]
    summary["china_share_derived_year"] = pd.array([d[1] for d in derived], dtype="Int64")
    summary["source_ids"] = [join_ids([ids, d[2]]) for ids, d in zip(summary["source_ids"], derived, strict=True)]
    return summary


def _newer_derived_china_share(stage_shares: pd.DataFrame, stage: str, shown_year: int, year: int) -> tuple[float, int | None, str]:
    """China's share at ``stage`` from a derived check newer than the figure shown (``method`` starting "Derived"),
    e.g. the fact base's 2025 check of the Jan-2024 heavy-separation figure; (NaN, None, "") when there is none."""
    rows = stage_shares[
        (stage_shares["stage"] == stage)
        & (stage_shares["region"] == CHINA)
        & (stage_shares["kind"] == "observed")
        & stage_shares["is_default"].astype(bool)
        & (stage_shares["year"] > shown_year)
        & (stage_shares["year"] <= year)
        & stage_shares["method"].astype("string").str.startswith("Derived").fillna(False).astype(bool)
    ]
    if rows.empty:
        return float("nan"), None, ""
    row = rows.sort_values("year").iloc[-1]
    return float(row["share"]), int(row["year"]), str(row["source_ids"])


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
            "demand_years": _demand_years(demand_by_case["central"]),
            "source_ids": join_ids([extra_ids, *demand_by_case["central"]["source_ids"].dropna().astype(str)]),
        }
    )
    return row


def _demand_years(rows: pd.DataFrame) -> str:
    """The year of the demand figures compared: one year, or each country's when the latest figures differ
    (e.g. "2025 (United States), 2024 (Japan)": a sum over countries may mix years, and the cell says so)."""
    years = rows.groupby("country", sort=False)["year"].max().dropna().astype(int)
    if years.nunique() <= 1:
        return ", ".join(str(y) for y in years.unique())
    return ", ".join(f"{y} ({country})" for country, y in years.sort_values(ascending=False, kind="stable").items())


def self_sufficiency(
    tables: Mapping[str, pd.DataFrame], plants_today: pd.DataFrame, groups_today: pd.DataFrame, cases: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Alliance capacity today against alliance demand, stage by stage, like for like.

    Args:
        tables: the data package's tables (``demand``, ``mine_production``).
        plants_today: :func:`capacity.today_plants` for every stage.
        groups_today: :func:`capacity.groups_of` (for the alliance-owned-in-China column).
        cases: :func:`demand.demand_range` rows (per region, both oxides, three cases) covering ``year``.
        year: the year compared ("today").

    Returns:
        One row per stage of :data:`CHAIN_STAGES`: ``stage``, ``label``, ``countries`` (compared on both sides),
        ``capacity_tpa`` (those countries' capacity), ``demand_{low,central,high}_t``, ``ratio_{low,central,high}``
        (capacity / demand; NaN without demand), ``left_out`` / ``left_out_tpa`` (alliance capacity of countries
        with no demand figure, not in the ratio), ``alliance_owned_in_china_tpa`` (shown apart, never counted),
        ``capacity_basis``, ``capacity_untallied`` (countries compared whose producing plants at the stage have no
        tonnage in the data, with the plants; then the ratios are NaN: capacity unknown, not zero), ``demand_basis``,
        ``demand_years`` and ``source_ids``.
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
        row["capacity_basis"] = _CAPACITY_BASIS[stage].format(year=mine_year) + _assumed_part(plants_today, stage, row["countries"])
        # metal and magnet capacity is nameplate only: a producing plant with no tonnage there is capacity unknown.
        # (Separation counts what plants make; Japan's separation plants without a figure are stated in the text.)
        untallied = _untallied_plants(tables.get("projects"), plants_today, stage) if stage in ("metal_alloy", "magnet") else {}
        untallied = {c: names for c, names in untallied.items() if c in row["countries"].split(", ")}
        row["capacity_untallied"] = "; ".join(f"{c}: {names}" for c, names in untallied.items())
        if untallied:  # a producing plant without a tonnage: the capacity is unknown, not zero, so no ratio
            for case in demand_model.DEMAND_CASES:
                row[f"ratio_{case}"] = float("nan")
        row["demand_basis"] = _demand_basis(stage)
        rows.append(row)
    out = pd.DataFrame(rows)
    in_china = groups_today[groups_today["group"] == capacity_model.GROUP_ALLIANCE_IN_CHINA].set_index("stage")["capacity_tpa"]
    out["alliance_owned_in_china_tpa"] = out["stage"].map(in_china)
    return out


def _assumed_part(plants_today: pd.DataFrame, stage: str, countries: str) -> str:
    """For the refining stages: how much of the compared capacity comes from producing plants with no observed
    output (counted at nameplate x ramp-up, an assumption), naming them; "" when none."""
    if stage not in capacity_model.PRODUCT_STAGE.values():
        return ""
    sel = plants_today[
        (plants_today["stage"] == stage)
        & (plants_today["group"] == capacity_model.GROUP_ALLIANCE)
        & plants_today["counted_for"].isin(countries.split(", "))
        & plants_today["observed_tpa"].isna()
        & (plants_today["today_tpa"] > 0)
    ]
    if sel.empty:
        return ""
    names = ", ".join(dict.fromkeys(sel["company"] + " (" + sel["site"].str.split(",").str[0] + ")"))
    return f"; {sel['today_tpa'].sum():,.0f} t/yr of it assumed (no observed output: {names})"


def _untallied_plants(projects: pd.DataFrame | None, plants_today: pd.DataFrame, stage: str) -> dict[str, str]:
    """Alliance countries with a producing plant at ``stage`` that the data give no tonnage for (e.g. MP Materials'
    NdPr metal at Independence since Q4 2024: its capacity is stated in magnets only), with the plants' names."""
    if projects is None or projects.empty:
        return {}
    rows = projects[projects["status"].isin(list(capacity_model.PRODUCING_STATUSES))]
    if "is_rare_earth" in rows.columns:
        rows = rows[rows["is_rare_earth"].astype("boolean").fillna(True).astype(bool)]
    lists = rows["stages"].fillna("").astype(str).str.split(";").map(lambda items: {x.strip() for x in items})
    rows = rows[lists.map(lambda items: stage in items)]
    tallied = set(plants_today.loc[(plants_today["stage"] == stage) & (plants_today["today_tpa"] > 0), "project_id"])
    rows = rows[~rows["project_id"].isin(tallied)]
    out: dict[str, list[str]] = {}
    for company, site, country in zip(rows["company"], rows["site"], rows["country"], strict=True):
        if country in ALLIANCE:
            out.setdefault(str(country), []).append(f"{company}, {site}")
    return {c: ", ".join(names) for c, names in out.items()}


def _demand_basis(stage: str) -> str:
    if stage in ("separation", "heavy_separation"):
        return "estimate, three cases: low (observation-based), central, high (company claims)"
    if stage == "mining":
        return "apparent consumption / domestic demand, all rare earths (t), where a country has a figure"
    if stage == "metal_alloy":
        return (
            "China-origin NdFeB magnet and magnet-alloy imports (t of magnet, China customs): a lower bound on demand,"
            " in magnet mass, standing in for metal and alloy demand"
        )
    return "China-origin NdFeB magnet and magnet-alloy imports (t, China customs): a lower bound on demand"
