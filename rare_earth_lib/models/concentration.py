"""Concentration of the rare-earth chain: who holds each stage, and how far the alliance covers itself.

Shares are fractions in [0, 1] of world output (or capacity) at a stage. The Herfindahl-Hirschman
index (HHI) is reported on the 0-10,000 scale (shares in percent, squared and summed), the scale
competition authorities use; 10,000 is a monopoly.

Attribution: a plant counts either for the country where it stands (``"location"``) or for the
nationality of its owner (``"owner"``). By owner, Lynas's Malaysian separation plant counts for
Australia; by location it counts for Malaysia.

The alliance is the United States, Japan and Australia. "Alliance + partners" adds the countries
(other than China) where a company of an alliance country runs a plant at that stage, read from the
project table (for example Malaysia, where Lynas separates Australian ore).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import ALLIANCE, CHAIN_STAGES, CHINA, PRODUCING_STATUSES
from rare_earth_lib.models.capacity import STAGE_MEASURE, check_attribution

REST_OF_WORLD = "Rest of world"


_BLOC_MARKERS = ("+", "top", "world", "rest of", "other", "ex-china", "alliance", "total")


def check_stage(stage: str, argument: str = "stage") -> str:
    """Return ``stage`` if it is a known stage.

    Raises:
        ValueError: naming ``argument`` when the stage is unknown.
    """
    if stage not in CHAIN_STAGES:
        raise ValueError(f"{argument}: unknown stage {stage!r}; expected one of {', '.join(CHAIN_STAGES)}")
    return stage


def _check_shares(shares: pd.Series, argument: str = "shares") -> pd.Series:
    values = pd.to_numeric(shares, errors="coerce").astype(float)
    if values.isna().any():
        raise ValueError(f"{argument}: shares must be numbers, found missing or non-numeric values")
    if ((values < 0) | (values > 1)).any():
        raise ValueError(f"{argument}: every share must lie in [0, 1]")
    if values.sum() > 1 + 1e-6:
        raise ValueError(f"{argument}: shares sum to {values.sum():.4f} > 1")
    return values


def is_country(region: str) -> bool:
    """True when a stage_shares ``region`` names a single country rather than a bloc or a total."""
    low = str(region).lower()
    return not any(marker in low for marker in _BLOC_MARKERS)


def stage_country_shares(stage_shares: pd.DataFrame, stage: str, year: int | None = None, max_age_years: int = 3) -> pd.DataFrame:
    """Observed world shares by country at one stage, completed with a "Rest of world" residual.

    Uses the default observed country rows of ``stage`` (``kind == "observed"``, ``is_default``,
    ``region_type == "country"`` when that column exists; bloc and top-3 rows are dropped). Exact
    figures (``share_qualifier == "eq"``) are preferred over "about"/"more than" figures when the
    stage has any. Each country's latest year not after ``year`` is taken; a country whose latest
    figure is more than ``max_age_years`` older than China's (or the stage's latest) is dropped, so
    old figures do not mix with new ones. The residual 1 - sum(countries) becomes "Rest of world",
    so the result sums to exactly 1.

    Args:
        stage_shares: the data package's ``stage_shares`` table.
        stage: one of :data:`CHAIN_STAGES`.
        year: latest year to use; None for the latest available.
        max_age_years: how much older than the reference year a country's figure may be.

    Returns:
        DataFrame with columns region, share (fraction of world output), year, source_ids; sorted by
        share descending with "Rest of world" last (its year is the reference year).

    Raises:
        ValueError: unknown ``stage``; no observed rows for it (naming ``stage_shares``); country
            shares summing above 1; negative ``max_age_years``.
    """
    check_stage(stage)
    if max_age_years < 0:
        raise ValueError(f"max_age_years: must be >= 0, got {max_age_years!r}")
    rows = stage_shares[(stage_shares["stage"] == stage) & (stage_shares["kind"] == "observed")]
    rows = default_rows(rows)
    rows = rows[rows["region_type"] == "country"] if "region_type" in rows.columns else rows[rows["region"].map(is_country)]
    if year is not None:
        rows = rows[rows["year"] <= year]
    if "share_qualifier" in rows.columns and (rows["share_qualifier"] == "eq").any():
        rows = rows[rows["share_qualifier"] == "eq"]
    if rows.empty:
        raise ValueError(f"stage_shares: no observed default row for stage {stage!r} (year <= {year})")
    rows = rows.sort_values("year", ascending=False, kind="stable").drop_duplicates("region", keep="first")
    reference = int(rows.loc[rows["region"] == CHINA, "year"].max()) if (rows["region"] == CHINA).any() else int(rows["year"].max())
    rows = rows[rows["year"] >= reference - max_age_years]
    shares = _check_shares(rows["share"], "stage_shares")
    out = pd.DataFrame(
        {
            "region": rows["region"].astype(str).to_numpy(),
            "share": shares.to_numpy(),
            "year": rows["year"].astype(int).to_numpy(),
            "source_ids": rows["source_ids"].astype(str).to_numpy(),
        }
    ).sort_values("share", ascending=False, kind="stable")
    residual = max(0.0, 1.0 - float(out["share"].sum()))
    rest = pd.DataFrame({"region": [REST_OF_WORLD], "share": [residual], "year": [reference], "source_ids": [""]})
    return pd.concat([out, rest], ignore_index=True)


def mine_country_shares(mine_production: pd.DataFrame, year: int) -> pd.DataFrame:
    """World mine-production shares by country (t REO) for one year, from the default USGS edition.

    The "World" row is the denominator; the gap between the world total and the listed countries
    (USGS "Other countries" and rounding) becomes "Rest of world", so the shares sum to 1.

    Args:
        mine_production: the data package's ``mine_production`` table.
        year: production year.

    Returns:
        DataFrame with columns region, share, year, source_ids (as :func:`stage_country_shares`).

    Raises:
        ValueError: when ``year`` has no default World row.
    """
    rows = mine_production[(mine_production["year"] == year)]
    rows = default_rows(rows)
    is_world = rows["is_world_total"].astype(bool) if "is_world_total" in rows.columns else rows["country"] == "World"
    world = rows[is_world | (rows["country"] == "World")]
    if world.empty or pd.isna(world["tonnes_reo"].iloc[0]):
        raise ValueError(f"year: no default World mine-production row for {year}")
    world_t = float(world["tonnes_reo"].iloc[0])
    countries = rows[~(is_world | (rows["country"] == "World")) & rows["country"].map(is_country)]
    countries = countries[countries["tonnes_reo"].notna() & (countries["tonnes_reo"] > 0)]
    shares = countries["tonnes_reo"].astype(float) / world_t
    scale = 1.0 / shares.sum() if shares.sum() > 1 else 1.0  # listed countries exceed a rounded world total
    out = pd.DataFrame(
        {
            "region": countries["country"].astype(str).to_numpy(),
            "share": (shares * scale).to_numpy(),
            "year": int(year),
            "source_ids": countries["source_ids"].astype(str).to_numpy(),
        }
    ).sort_values("share", ascending=False, kind="stable")
    residual = max(0.0, 1.0 - float(out["share"].sum()))
    rest = pd.DataFrame(
        {"region": [REST_OF_WORLD], "share": [residual], "year": [int(year)], "source_ids": [str(world["source_ids"].iloc[0])]}
    )
    return pd.concat([out, rest], ignore_index=True)


def explode_stages(projects: pd.DataFrame) -> pd.DataFrame:
    """One row per rare-earth project and stage (``stages`` holds ``"separation;magnet"``-style lists).

    Rows with ``is_rare_earth`` False (e.g. a gallium plant in the table for context) are dropped.
    """
    if "is_rare_earth" in projects.columns:
        projects = projects[projects["is_rare_earth"].fillna(True).astype(bool)]
    out = projects.assign(stage=projects["stages"].astype(str).str.split(";")).explode("stage")
    out["stage"] = out["stage"].str.strip()
    return out.reset_index(drop=True)


CAPACITY_COLUMNS: tuple[str, ...] = ("capacity_tpa", "ndpr_oxide_tpa", "dytb_oxide_tpa", "observed_output_tpa")


def explode_owners(projects: pd.DataFrame) -> pd.DataFrame:
    """One row per project and owner country, capacity split equally among the listed owners.

    ``owner_country`` may list several countries (``"Japan;China"`` for a joint venture); without
    ownership percentages in the data, each listed owner gets an equal part of the capacity
    columns (:data:`CAPACITY_COLUMNS`). A missing owner becomes "Unknown".
    """
    owners = projects["owner_country"].astype("string").fillna("Unknown").str.split(";")
    out = projects.assign(owner_country=owners, n_owners=owners.map(len)).explode("owner_country")
    out["owner_country"] = out["owner_country"].str.strip()
    for column in CAPACITY_COLUMNS:
        if column in out.columns:
            out[column] = pd.to_numeric(out[column], errors="coerce") / out["n_owners"]
    return out.drop(columns="n_owners").reset_index(drop=True)


def owner_reattribution(projects: pd.DataFrame, stage: str, statuses: Sequence[str] = PRODUCING_STATUSES) -> pd.DataFrame:
    """How each location country's capacity at a stage splits by owner nationality.

    Args:
        projects: the data package's ``projects`` table.
        stage: one of :data:`CHAIN_STAGES` (projects whose ``stages`` list contains it are used).
        statuses: project statuses that count (default operating and ramping).

    Returns:
        DataFrame with columns country (location), owner_country, owner_fraction (of the location's
        capacity in the project table; fractions sum to 1 per location).
    """
    check_stage(stage)
    rows = explode_owners(explode_stages(projects))
    rows = rows[(rows["stage"] == stage) & rows["status"].isin(list(statuses))]
    rows = rows[rows["capacity_tpa"].notna() & (rows["capacity_tpa"] > 0)]
    if rows.empty:
        return pd.DataFrame(
            {"country": pd.Series(dtype="str"), "owner_country": pd.Series(dtype="str"), "owner_fraction": pd.Series(dtype=float)}
        )
    grouped = rows.groupby(["country", "owner_country"], as_index=False)["capacity_tpa"].sum()
    grouped["owner_fraction"] = grouped["capacity_tpa"] / grouped.groupby("country")["capacity_tpa"].transform("sum")
    return grouped[["country", "owner_country", "owner_fraction"]].reset_index(drop=True)


def attribute_shares(
    shares: pd.DataFrame,
    projects: pd.DataFrame,
    stage: str,
    attribution: str,
    statuses: Sequence[str] = PRODUCING_STATUSES,
) -> pd.DataFrame:
    """Re-attribute a stage's country shares by plant location or by owner nationality.

    With ``attribution="location"`` the shares are returned unchanged (the statistics are by
    location). With ``"owner"``, each location country's share is split among owner countries in
    proportion to the capacity of the operating projects located there (:func:`owner_reattribution`);
    a country with no such project keeps its share. China and "Rest of world" are never split.
    Shares still sum to 1.

    Args:
        shares: region/share frame such as :func:`stage_country_shares` returns.
        projects: the ``projects`` table.
        stage: the stage the shares describe.
        attribution: ``"location"`` or ``"owner"``.
        statuses: project statuses that count as operating.

    Returns:
        DataFrame with columns region, share (summed per region), sorted by share descending with
        "Rest of world" last.

    Raises:
        ValueError: bad ``attribution`` or ``stage``; shares outside [0, 1].
    """
    check_attribution(attribution)
    check_stage(stage)
    _check_shares(shares["share"])
    base = shares[["region", "share"]].copy()
    if attribution == "owner":
        split = owner_reattribution(projects, stage, statuses)
        split = split[~split["country"].isin([CHINA, REST_OF_WORLD])]
        merged = base.merge(split, left_on="region", right_on="country", how="left")
        has_owner = merged["owner_country"].notna()
        merged.loc[has_owner, "share"] = merged.loc[has_owner, "share"] * merged.loc[has_owner, "owner_fraction"]
        merged.loc[has_owner, "region"] = merged.loc[has_owner, "owner_country"]
        base = merged[["region", "share"]]
    out = base.groupby("region", as_index=False, sort=False)["share"].sum()
    rest = out[out["region"] == REST_OF_WORLD]
    out = out[out["region"] != REST_OF_WORLD].sort_values("share", ascending=False, kind="stable")
    return pd.concat([out, rest], ignore_index=True)


def _producing_by(projects: pd.DataFrame, year: int) -> pd.DataFrame:
    """Projects that had produced by the end of ``year``: a plant whose first output came later cannot hold a share
    of that year (a share observed for 2023 is not completed with a plant commissioned in 2025). A plant with no
    first-output date is kept (its status says it produces)."""
    if "first_output_actual_date" not in projects.columns:
        return projects
    first = pd.to_datetime(projects["first_output_actual_date"], errors="coerce")
    return projects[first.isna() | (first.dt.year <= int(year))]


def _host_volumes(projects: pd.DataFrame, stage: str, statuses: Sequence[str], hosts: list[str]) -> pd.DataFrame:
    """Per plant at ``stage`` in ``hosts`` (by location): its volume in ``capacity_tpa``.

    The volume is the capacity measure of :func:`alliance_capacity_detail`; at separation a plant's observed
    output replaces it where the projects table has one.
    """
    detail = alliance_capacity_detail(projects, "location", statuses, alliance=hosts)
    detail = detail[detail["stage"] == stage]
    if stage != "separation":
        return detail
    observed = (
        projects.set_index("project_id")["observed_output_tpa"] if "observed_output_tpa" in projects.columns else pd.Series(dtype=float)
    )
    return detail.assign(
        capacity_tpa=[
            float(observed.get(pid)) if pd.notna(observed.get(pid)) else cap
            for pid, cap in zip(detail["project_id"], detail["capacity_tpa"], strict=False)
        ]
    )


def estimate_missing_shares(
    shares: pd.DataFrame,
    projects: pd.DataFrame,
    stage: str,
    world_volume_t: float,
    statuses: Sequence[str] = PRODUCING_STATUSES,
) -> pd.DataFrame:
    """Add capacity-based share estimates for countries with plants at a stage but no statistic.

    For each country (not China) that hosts an operating project at ``stage`` in the project table
    but has no row in ``shares``, the estimate is its plants' volume / ``world_volume_t`` (volume =
    observed output where known, else the stage's capacity measure, see
    :func:`alliance_capacity_detail`). The estimates are taken out of "Rest of world"; if they
    exceed it they are scaled down to fit, so the shares still sum to 1. Estimated rows carry
    ``estimated = True``. Only plants that had produced by the end of the shares' year count (a plant commissioned
    after the year the statistic describes is left out).

    Args:
        shares: region/share frame by location (e.g. from :func:`stage_country_shares`).
        projects: the ``projects`` table.
        stage: one of ``separation``, ``heavy_separation``, ``metal_alloy``, ``magnet``.
        world_volume_t: world output at the stage in the same unit as the capacity measure (t/yr).
        statuses: project statuses that count.

    Returns:
        The shares frame with added rows (region, share, year, source_ids, estimated).

    Raises:
        ValueError: a stage without a capacity measure (e.g. mining); non-positive ``world_volume_t``.
    """
    check_stage(stage)
    if stage not in STAGE_MEASURE:
        raise ValueError(f"stage: {stage!r} has no capacity measure in the project table")
    if not float(world_volume_t) > 0:
        raise ValueError(f"world_volume_t: must be > 0, got {world_volume_t!r}")
    _check_shares(shares["share"])
    out = shares.copy()
    if "estimated" not in out.columns:
        out["estimated"] = False
    known = set(out["region"]) | {CHINA, REST_OF_WORLD}
    year = (
        int(out.loc[out["region"] == REST_OF_WORLD, "year"].iloc[0]) if (out["region"] == REST_OF_WORLD).any() else int(out["year"].max())
    )
    projects = _producing_by(projects, year)
    rows = explode_stages(projects)
    hosts = sorted(set(rows.loc[(rows["stage"] == stage) & rows["status"].isin(list(statuses)), "country"].dropna().astype(str)) - known)
    if not hosts:
        return out
    detail = _host_volumes(projects, stage, statuses, hosts)
    if detail.empty:
        return out
    volume = detail.groupby("country")["capacity_tpa"].sum()
    ids = detail.groupby("country")["source_ids"].agg(lambda v: ";".join(sorted({i for x in v for i in x.split(";") if i})))
    estimates = volume / float(world_volume_t)
    residual = float(out.loc[out["region"] == REST_OF_WORLD, "share"].sum())
    if estimates.sum() > residual:
        estimates = estimates * (residual / estimates.sum()) if estimates.sum() > 0 else estimates
    added = pd.DataFrame(
        {
            "region": estimates.index,
            "share": estimates.to_numpy(),
            "year": year,
            "source_ids": ids.reindex(estimates.index).to_numpy(),
            "estimated": True,
        }
    )
    out.loc[out["region"] == REST_OF_WORLD, "share"] = max(0.0, residual - float(estimates.sum()))
    rest = out[out["region"] == REST_OF_WORLD]
    body = pd.concat([out[out["region"] != REST_OF_WORLD], added], ignore_index=True).sort_values("share", ascending=False, kind="stable")
    return pd.concat([body, rest], ignore_index=True)


def partner_countries(projects: pd.DataFrame, stage: str, alliance: Iterable[str] = ALLIANCE) -> list[str]:
    """Countries outside the alliance (and not China) where an alliance-owned plant works at ``stage``.

    Args:
        projects: the ``projects`` table.
        stage: one of :data:`CHAIN_STAGES`.
        alliance: the alliance's member countries.

    Returns:
        Sorted list of country names (e.g. ``["Malaysia"]`` for separation).
    """
    check_stage(stage)
    members = set(alliance)
    rows = explode_owners(explode_stages(projects))
    rows = rows[
        (rows["stage"] == stage)
        & rows["status"].isin(list(PRODUCING_STATUSES))
        & rows["owner_country"].isin(members)
        & ~rows["country"].isin(members | {CHINA})
    ]
    return sorted(set(rows["country"].astype(str)))


def hhi(shares: pd.Series | Sequence[float]) -> float:
    """Herfindahl-Hirschman index on the 0-10,000 scale.

    HHI = sum over holders of (share x 100)^2. A residual such as "Rest of world" is treated as one
    holder, so the figure is an upper bound when the residual lumps many small ones together.

    Args:
        shares: fractions in [0, 1] summing to at most 1.

    Returns:
        The index, between 0 and 10,000.

    Raises:
        ValueError: a share outside [0, 1] or shares summing above 1 (naming ``shares``).
    """
    values = _check_shares(pd.Series(shares, dtype=float))
    return float(((values * 100.0) ** 2).sum())


def top_n_share(shares: pd.Series | Sequence[float], n: int = 3) -> float:
    """Combined share (fraction) of the ``n`` largest holders.

    Raises:
        ValueError: ``n`` below 1, or bad shares.
    """
    if n < 1:
        raise ValueError(f"n: must be at least 1, got {n}")
    values = _check_shares(pd.Series(shares, dtype=float))
    return float(values.sort_values(ascending=False).head(n).sum())


def bloc_share(shares: pd.DataFrame, members: Iterable[str]) -> float:
    """Summed share (fraction) of the regions in ``members``."""
    _check_shares(shares["share"])
    return float(shares.loc[shares["region"].isin(list(members)), "share"].sum())


def concentration_summary(
    shares_by_stage: dict[str, pd.DataFrame],
    projects: pd.DataFrame,
    attribution: str = "owner",
    alliance: Iterable[str] = ALLIANCE,
) -> pd.DataFrame:
    """China / alliance / partners / others shares, HHI and top-3 share at each stage.

    Args:
        shares_by_stage: stage -> region/share frame by plant location (as
            :func:`stage_country_shares` or :func:`mine_country_shares` return).
        projects: the ``projects`` table (for owner attribution and partners).
        attribution: ``"location"`` or ``"owner"``.
        alliance: the alliance's members.

    Returns:
        One row per stage (in :data:`CHAIN_STAGES` order) with columns stage, year, china_share,
        alliance_share, partners_share (countries hosting alliance-owned plants, outside the
        alliance, as attributed), others_share (1 - china - alliance - partners),
        alliance_in_partner_hosts_share (part of the hosts' output counted for the alliance by
        owner; 0 by location), hhi (0-10,000, computed on the
        location shares with the residual as one holder), top3_share, partners (semicolon list),
        attribution, source_ids (semicolon list). Share columns are fractions that sum to 1.

    Raises:
        ValueError: unknown stage key or bad ``attribution``.
    """
    check_attribution(attribution)
    members = list(alliance)
    rows = []
    for stage in CHAIN_STAGES:
        if stage not in shares_by_stage:
            continue
        location = shares_by_stage[stage]
        year = int(location["year"].iloc[0]) if "year" in location else None
        producing = projects if year is None else _producing_by(projects, year)
        attributed = attribute_shares(location, producing, stage, attribution)
        partners = partner_countries(producing, stage, members)
        china = bloc_share(attributed, [CHINA])
        ally = bloc_share(attributed, members)
        partner = bloc_share(attributed, partners)
        ids = sorted({i for s in location.get("source_ids", pd.Series(dtype=str)).astype(str) for i in s.split(";") if i})
        rows.append(
            {
                "stage": stage,
                "year": int(location["year"].iloc[0]) if "year" in location else np.nan,
                "china_share": china,
                "alliance_share": ally,
                "partners_share": partner,
                "others_share": max(0.0, 1.0 - china - ally - partner),
                "alliance_in_partner_hosts_share": max(0.0, bloc_share(location, partners) - partner),
                "hhi": hhi(location["share"]),
                "top3_share": top_n_share(location.loc[location["region"] != REST_OF_WORLD, "share"], 3),
                "partners": ";".join(partners),
                "attribution": attribution,
                "source_ids": ";".join(ids),
            }
        )
    unknown = set(shares_by_stage) - set(CHAIN_STAGES)
    if unknown:
        raise ValueError(f"shares_by_stage: unknown stage {sorted(unknown)[0]!r}")
    return pd.DataFrame(rows)


def alliance_capacity_detail(
    projects: pd.DataFrame,
    attribution: str = "owner",
    statuses: Sequence[str] = PRODUCING_STATUSES,
    alliance: Iterable[str] = ALLIANCE,
) -> pd.DataFrame:
    """Per project and stage, the capacity (t/yr) that counts for the alliance.

    Separation is measured in separated NdPr oxide (``ndpr_oxide_tpa``; when that is unknown, the
    observed NdPr output ``observed_output_tpa`` is used instead and flagged), heavy separation in
    Dy+Tb oxide (``dytb_oxide_tpa``), metal/alloy and magnets in ``capacity_tpa`` of projects whose
    ``capacity_basis`` is ``t_alloy`` / ``t_magnet`` (see :data:`rare_earth_lib.models.capacity.STAGE_MEASURE`). Mining is
    not measured here (use mine production). By owner, a joint venture's capacity is split equally
    among its listed owners (:func:`explode_owners`).

    Args:
        projects: the ``projects`` table.
        attribution: count a plant by ``"location"`` (``country``) or ``"owner"`` (``owner_country``).
        statuses: project statuses that count (default operating and ramping).
        alliance: the alliance's members.

    Returns:
        DataFrame: project_id, company, stage, country, owner_country, status, capacity_tpa (the
        alliance's part), measure (column used), source_ids.

    Raises:
        ValueError: bad ``attribution``.
    """
    check_attribution(attribution)
    rows = explode_stages(projects)
    if attribution == "owner":
        rows = explode_owners(rows)
        column = "owner_country"
    else:
        column = "country"
    rows = rows[rows["status"].isin(list(statuses)) & rows[column].isin(list(alliance))]
    parts = []
    for stage, (cap_col, basis, _unit) in STAGE_MEASURE.items():
        sel = rows[rows["stage"] == stage]
        if basis is not None:
            sel = sel[sel["capacity_basis"] == basis]
        value = pd.to_numeric(sel[cap_col], errors="coerce")
        measure = pd.Series(cap_col, index=sel.index, dtype="string")
        if stage == "separation" and "observed_output_tpa" in sel.columns:
            observed = pd.to_numeric(sel["observed_output_tpa"], errors="coerce")
            use_observed = value.isna() & observed.notna()
            value = value.where(~use_observed, observed)
            measure = measure.where(~use_observed, "observed_output_tpa")
        keep = value.notna() & (value > 0)
        if keep.any():
            parts.append(
                pd.DataFrame(
                    {
                        "project_id": sel.loc[keep, "project_id"].astype(str),
                        "company": sel.loc[keep, "company"].astype(str),
                        "stage": stage,
                        "country": sel.loc[keep, "country"].astype(str),
                        "owner_country": sel.loc[keep, "owner_country"].astype(str),
                        "status": sel.loc[keep, "status"].astype(str),
                        "capacity_tpa": value[keep].astype(float),
                        "measure": measure[keep],
                        "source_ids": sel.loc[keep, "source_ids"].astype(str),
                    }
                )
            )
    columns = ["project_id", "company", "stage", "country", "owner_country", "status", "capacity_tpa", "measure", "source_ids"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


# --------------------------------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------------------------------
CHAIN_GROUPS: tuple[str, ...] = ("China", "Alliance", "Partners", "Others")
CHAIN_GROUP_COLUMNS: dict[str, str] = {
    "China": "china_share",
    "Alliance": "alliance_share",
    "Partners": "partners_share",
    "Others": "others_share",
}


def chain_long(summary: pd.DataFrame) -> pd.DataFrame:
    """Long form of :func:`concentration_summary` (+ ``label``): stage, label, group, share."""
    label = summary["label"] if "label" in summary.columns else summary["stage"]
    frames = [
        pd.DataFrame({"stage": summary["stage"], "label": label, "group": group, "share": summary[column].astype(float)})
        for group, column in CHAIN_GROUP_COLUMNS.items()
    ]
    return pd.concat(frames, ignore_index=True)
