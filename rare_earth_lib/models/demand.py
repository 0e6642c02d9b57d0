"""Alliance demand for separated NdPr oxide and Dy+Tb oxide: an estimate, built where the data is thin.

No source gives the alliance's demand by element. The estimate is built per region (United States,
Japan, Australia) from the demand table and grown at a scenario growth rate:

1. **Anchor.** For each region and product, the rows of the demand table for that product (default rows,
   all segments) are candidates; Dy+Tb uses ``dytb_oxide`` rows, or ``dy_oxide`` + ``tb_oxide`` of the same
   year where a region has no combined figure. Demand is a range: the **low** case is anchored on
   observation-based figures, the **high** case on company claims, the **central** case (the default; no
   single company's claim is the default anchor) in between (:func:`case_anchors`; rows marked in the
   table's ``demand_case`` column where it has them). For the data package as built: US NdPr 2,200 t (2024,
   from magnet imports) low vs ~13,300 t in 2030 (Energy Fuels' claim) high; Japan Nd+didymium 5,230-5,500 t
   (JSNM); Australia 0 (assumption). The older rules ``"highest"``, ``"lowest"`` and ``"latest"`` pick one
   figure among all candidates.
2. **Growth.** Demand grows at ``growth_rate`` per year up to ``break_year`` and at
   ``long_run_growth_rate`` after it, extrapolated backwards as well as forwards from the anchor year:
   ``tonnes(year) = anchor_tonnes x index(year) / index(anchor_year) x scale`` with
   ``index(y) = (1 + growth_rate) ** min(y, break_year) x (1 + long_run_growth_rate) ** max(y - break_year, 0)``.
   Default rates: 5%/yr to 2030 (IEA GCMO 2024 APS: magnet REE 93 kt in 2023 -> 131 kt in 2030) and
   1.6%/yr after (131 kt in 2030 -> 181 kt in 2050).
3. A region with no figure counts 0 and says so in ``method``.

Every output row carries ``is_estimate = True`` and a ``method`` text, so a briefing can label it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import ALLIANCE_REGIONS

DEMAND_PRODUCTS: tuple[str, ...] = ("ndpr_oxide", "dytb_oxide")
"""Products the estimate covers."""

ANCHOR_RULES: tuple[str, ...] = ("central", "low", "high", "highest", "lowest", "latest")
"""How a region's anchor is chosen: a demand case (:data:`DEMAND_CASES`, see :func:`case_anchors`) or a rule over
all its figures (highest, lowest, latest)."""

_REQUIRED = ("region", "product", "year", "tonnes")


def _check(demand: pd.DataFrame, product: str, regions: Sequence[str], anchor_rule: str) -> None:
    missing = [c for c in _REQUIRED if c not in demand.columns]
    if missing:
        raise ValueError(f"demand lacks column(s) {', '.join(missing)}")
    if product not in DEMAND_PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(DEMAND_PRODUCTS)}; got {product!r}")
    if anchor_rule not in ANCHOR_RULES:
        raise ValueError(f"anchor_rule must be one of {', '.join(ANCHOR_RULES)}; got {anchor_rule!r}")
    if not len(regions):
        raise ValueError("regions must name at least one region")


def _candidates(demand: pd.DataFrame, region: str, product: str) -> pd.DataFrame:
    """Candidate anchor rows (year, tonnes, kind, source_ids, method) for one region and product."""
    rows = demand.loc[demand["region"].astype("string") == region]
    rows = default_rows(rows)
    if "segment" in rows:
        rows = rows.loc[rows["segment"].astype("string").fillna("all") == "all"]
    rows = rows.loc[rows["tonnes"].notna()]

    def pick(name: str) -> pd.DataFrame:
        sub = rows.loc[rows["product"].astype("string") == name]
        return pd.DataFrame(
            {
                "year": sub["year"].astype("int64").to_numpy(),
                "tonnes": sub["tonnes"].astype("float64").to_numpy(),
                "kind": sub["kind"].astype("string").to_numpy() if "kind" in sub else pd.NA,
                "source_ids": sub["source_ids"].astype("string").to_numpy() if "source_ids" in sub else pd.NA,
                "row_method": (
                    sub["method"].astype("string").fillna(sub["outlook"].astype("string")).to_numpy()
                    if "method" in sub and "outlook" in sub
                    else pd.NA
                ),
            }
        )

    if product == "ndpr_oxide":
        return pick("ndpr_oxide")
    combined = pick("dytb_oxide")
    dy, tb = pick("dy_oxide"), pick("tb_oxide")
    if not dy.empty and not tb.empty:
        both = dy.merge(tb, on="year", suffixes=("_dy", "_tb"))
        both = both.loc[~both["year"].isin(combined["year"])]
        if not both.empty:
            summed = pd.DataFrame(
                {
                    "year": both["year"],
                    "tonnes": both["tonnes_dy"] + both["tonnes_tb"],
                    "kind": both["kind_dy"],
                    "source_ids": both["source_ids_dy"].astype("string") + ";" + both["source_ids_tb"].astype("string"),
                    "row_method": pd.array(["Dy oxide + Tb oxide of the same year"] * len(both), dtype="string"),
                }
            )
            combined = pd.concat([combined, summed], ignore_index=True)
    return combined


def _memo_on_table(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Remember ``fn(demand, product, ...)`` by the demand table's content, not its identity.

    Anchors depend only on the table and the choice of product, regions and rule, but a timeline run asks for
    them some 200 times (each sensitivity and Sobol variant rebuilds its demand); a content hash (about 2 ms)
    replaces a recomputation (about 17 ms). Callers get a copy, so no one can change a remembered result.
    """
    cache: dict[tuple, pd.DataFrame] = {}

    @functools.wraps(fn)
    def wrapper(demand: pd.DataFrame, product: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        content = int(pd.util.hash_pandas_object(demand, index=True).sum()) if len(demand) else 0
        options = tuple(sorted((k, tuple(v) if isinstance(v, list | tuple | pd.Index) else v) for k, v in kwargs.items()))
        key = (content, tuple(demand.columns), tuple(map(str, demand.dtypes)), product, args, options)
        if key not in cache:
            if len(cache) >= 1024:
                cache.clear()
            cache[key] = fn(demand, product, *args, **kwargs)
        return cache[key].copy()

    return wrapper


@_memo_on_table
def demand_anchors(
    demand: pd.DataFrame,
    product: str,
    *,
    regions: Sequence[str] = ALLIANCE_REGIONS,
    anchor_rule: str = "central",
) -> pd.DataFrame:
    """The figure each region's demand estimate is anchored on.

    Args:
        demand: the data package's demand table.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        regions: region codes (default the alliance).
        anchor_rule: which candidate row to use (see the module docstring).

    Returns:
        One row per region: ``region``, ``product``, ``anchor_year``, ``anchor_tonnes`` (t oxide/yr; 0 when
        the region has no figure), ``anchor_kind``, ``n_candidates``, ``method`` (text) and ``source_ids``.

    Raises:
        ValueError: unknown product or anchor rule, no regions, or a missing column.
    """
    _check(demand, product, regions, anchor_rule)
    if anchor_rule in DEMAND_CASES:
        return case_anchors(demand, product, anchor_rule, regions=regions)
    rows = []
    for region in regions:
        cand = _candidates(demand, region, product)
        if cand.empty:
            rows.append(
                {
                    "region": region,
                    "product": product,
                    "anchor_year": pd.NA,
                    "anchor_tonnes": 0.0,
                    "anchor_kind": pd.NA,
                    "n_candidates": 0,
                    "method": "No figure in the demand table; counted as 0",
                    "source_ids": pd.NA,
                }
            )
            continue
        if anchor_rule == "highest":
            chosen = cand.sort_values(["tonnes", "year"], ascending=[False, False]).iloc[0]
        elif anchor_rule == "lowest":
            chosen = cand.sort_values(["tonnes", "year"], ascending=[True, False]).iloc[0]
        else:
            chosen = cand.sort_values(["year", "tonnes"], ascending=[False, False]).iloc[0]
        rows.append(
            {
                "region": region,
                "product": product,
                "anchor_year": int(chosen["year"]),
                "anchor_tonnes": float(chosen["tonnes"]),
                "anchor_kind": chosen["kind"],
                "n_candidates": int(len(cand)),
                "method": f"Anchor ({anchor_rule} of {len(cand)} figure(s)): {chosen['row_method']}"
                if pd.notna(chosen["row_method"])
                else f"Anchor ({anchor_rule} of {len(cand)} figure(s))",
                "source_ids": chosen["source_ids"],
            }
        )
    out = pd.DataFrame(rows)
    out["anchor_year"] = out["anchor_year"].astype("Int64")
    for column in ("region", "product", "anchor_kind", "method", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def growth_index(years: np.ndarray | Sequence[int], growth_rate: float, long_run_growth_rate: float, break_year: int) -> np.ndarray:
    """Demand index (arbitrary base) growing at ``growth_rate`` to ``break_year``, ``long_run_growth_rate`` after.

    Args:
        years: calendar years.
        growth_rate: annual growth up to ``break_year`` (> -1).
        long_run_growth_rate: annual growth after ``break_year`` (> -1).
        break_year: the year the growth rate changes.

    Returns:
        float array; ratios between years are the growth factors.
    """
    y = np.asarray(years, dtype="float64")
    log_index = np.log1p(growth_rate) * (np.minimum(y, break_year) - break_year) + np.log1p(long_run_growth_rate) * np.maximum(
        y - break_year, 0.0
    )
    return np.exp(log_index)


def _grown_frame(anchor: Any, years: np.ndarray, product: str, tonnes: np.ndarray, method: str) -> pd.DataFrame:
    """The rows of :func:`alliance_demand` for one region's anchor grown over ``years``."""
    return pd.DataFrame(
        {
            "year": years,
            "region": anchor.region,
            "product": product,
            "tonnes": tonnes,
            "anchor_year": anchor.anchor_year,
            "anchor_tonnes": anchor.anchor_tonnes,
            "is_estimate": True,
            "method": method,
            "source_ids": anchor.source_ids,
        }
    )


def alliance_demand(
    demand: pd.DataFrame,
    years: Sequence[int],
    product: str,
    *,
    growth_rate: float,
    long_run_growth_rate: float | None = None,
    break_year: int = 2030,
    scale: float = 1.0,
    regions: Sequence[str] = ALLIANCE_REGIONS,
    anchor_rule: str = "central",
) -> pd.DataFrame:
    """Estimated demand per alliance region and year (t oxide/yr), labelled as an estimate.

    Args:
        demand: the data package's demand table.
        years: calendar years to estimate.
        product: ``"ndpr_oxide"`` or ``"dytb_oxide"``.
        growth_rate: annual growth rate (0.05 = 5%/yr) up to ``break_year``, > -1.
        long_run_growth_rate: annual growth after ``break_year`` (default: ``growth_rate``), > -1.
        break_year: year the growth rate changes.
        scale: multiplier on the whole estimate (> 0), for sensitivity analysis.
        regions: region codes (default the alliance).
        anchor_rule: ``"highest"``, ``"lowest"`` or ``"latest"`` (see the module docstring).

    Returns:
        Long DataFrame: ``year``, ``region``, ``product``, ``tonnes``, ``anchor_year``, ``anchor_tonnes``,
        ``is_estimate`` (always True), ``method`` and ``source_ids``.

    Raises:
        ValueError: unknown product or anchor rule, growth rate <= -1, scale <= 0, no years.
    """
    if long_run_growth_rate is None:
        long_run_growth_rate = growth_rate
    for name, value in (("growth_rate", growth_rate), ("long_run_growth_rate", long_run_growth_rate)):
        if not value > -1.0:
            raise ValueError(f"{name} must be > -1; got {value!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0; got {scale!r}")
    years_arr = np.asarray(list(years), dtype="int64")
    if years_arr.size == 0:
        raise ValueError("years must hold at least one year")
    if anchor_rule in DEMAND_CASES:
        _check(demand, product, regions, anchor_rule)
        anchors = case_anchors(demand, product, anchor_rule, regions=regions, growth_rate=growth_rate)
    else:
        anchors = demand_anchors(demand, product, regions=regions, anchor_rule=anchor_rule)
    growth_text = (
        f"{growth_rate:.1%}/yr"
        if long_run_growth_rate == growth_rate
        else f"{growth_rate:.1%}/yr to {break_year}, {long_run_growth_rate:.1%}/yr after"
    )
    frames = []
    for anchor in anchors.itertuples(index=False):
        base_year = years_arr[0] if pd.isna(anchor.anchor_year) else int(anchor.anchor_year)
        index = growth_index(np.append(years_arr, base_year), growth_rate, long_run_growth_rate, break_year)
        method = f"{anchor.method}; grown at {growth_text} from {base_year}" + (f"; x{scale:g} (sensitivity scale)" if scale != 1.0 else "")
        frames.append(_grown_frame(anchor, years_arr, product, anchor.anchor_tonnes * index[:-1] / index[-1] * scale, method))
    out = pd.concat(frames, ignore_index=True)
    out["anchor_year"] = out["anchor_year"].astype("Int64")
    for column in ("region", "product", "method", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def scenario_demand(demand: pd.DataFrame, years: Sequence[int], params, *, regions: Sequence[str] = ALLIANCE_REGIONS) -> pd.DataFrame:
    """Per-region estimate for both products with a scenario's demand parameters (the one place that reads them).

    Args:
        demand: the data package's demand table.
        years: calendar years.
        params: a parameter model with ``ndpr_demand_growth_rate``, ``dytb_demand_growth_rate``,
            ``long_run_demand_growth_rate``, ``demand_growth_break_year``, ``demand_scale`` and
            ``demand_anchor_rule`` (both briefings' models have them).
        regions: region codes (default the alliance).

    Returns:
        The rows of :func:`alliance_demand` for NdPr oxide then Dy+Tb oxide; :func:`sum_regions` totals them.
    """
    frames = [
        alliance_demand(
            demand,
            years,
            product,
            growth_rate=rate,
            long_run_growth_rate=params.long_run_demand_growth_rate,
            break_year=params.demand_growth_break_year,
            scale=params.demand_scale,
            regions=regions,
            anchor_rule=params.demand_anchor_rule,
        )
        for product, rate in (("ndpr_oxide", params.ndpr_demand_growth_rate), ("dytb_oxide", params.dytb_demand_growth_rate))
    ]
    return pd.concat(frames, ignore_index=True)


def sum_regions(by_region: pd.DataFrame) -> pd.DataFrame:
    """Alliance totals from per-region estimates (:func:`alliance_demand` for one or more products).

    Returns:
        DataFrame with ``year``, ``product``, ``tonnes`` (summed over regions), ``is_estimate`` (True)
        and ``source_ids`` (union over the regions, per product).
    """
    frames = []
    for product, per_region in by_region.groupby("product", sort=False):
        ids = ";".join(sorted({i for v in per_region["source_ids"].dropna() for i in str(v).split(";") if i}))
        total = per_region.groupby("year", as_index=False)["tonnes"].sum()
        total["product"] = product
        total["is_estimate"] = True
        total["source_ids"] = ids
        frames.append(total[["year", "product", "tonnes", "is_estimate", "source_ids"]])
    out = pd.concat(frames, ignore_index=True)
    out["product"] = out["product"].astype("string")
    out["source_ids"] = out["source_ids"].astype("string")
    return out


def demand_cross_check(demand: pd.DataFrame, estimate: pd.DataFrame) -> pd.DataFrame:
    """Set the alliance estimate against the world figures and US apparent consumption, as a sanity bound.

    For each product and each year in which the demand table has a world figure for it, the alliance
    estimate's share of the world; and, for the United States, its estimate against the US apparent
    consumption of all rare earths (t REO) in years where both exist.

    Args:
        demand: the data package's demand table.
        estimate: output of :func:`alliance_demand` for one or both products (per region).

    Returns:
        DataFrame with ``check``, ``product``, ``year``, ``estimate_tonnes``, ``reference_tonnes``,
        ``ratio`` and ``reference`` (text), ``source_ids``.
    """
    rows = []
    default = default_rows(demand)
    if "segment" in default:
        default = default.loc[default["segment"].astype("string").fillna("all") == "all"]
    for product in estimate["product"].dropna().unique():
        est = estimate.loc[estimate["product"] == product].groupby("year")["tonnes"].sum()
        world = default.loc[(default["region"] == "world") & (default["product"] == product)]
        for row in world.itertuples(index=False):
            if int(row.year) in est.index:
                rows.append(
                    {
                        "check": "alliance share of world",
                        "product": product,
                        "year": int(row.year),
                        "estimate_tonnes": float(est[int(row.year)]),
                        "reference_tonnes": float(row.tonnes),
                        "reference": f"world {product} ({getattr(row, 'outlook', '')})",
                        "source_ids": getattr(row, "source_ids", pd.NA),
                    }
                )
        us_est = estimate.loc[(estimate["product"] == product) & (estimate["region"] == "united_states")]
        us_est = us_est.groupby("year")["tonnes"].sum()
        us_total = default.loc[(default["region"] == "united_states") & (default["product"] == "ree_total")]
        for row in us_total.itertuples(index=False):
            if int(row.year) in us_est.index:
                rows.append(
                    {
                        "check": "US estimate vs US apparent consumption of all rare earths",
                        "product": product,
                        "year": int(row.year),
                        "estimate_tonnes": float(us_est[int(row.year)]),
                        "reference_tonnes": float(row.tonnes),
                        "reference": "US apparent consumption, t REO (USGS)",
                        "source_ids": getattr(row, "source_ids", pd.NA),
                    }
                )
    out = pd.DataFrame(
        rows,
        columns=["check", "product", "year", "estimate_tonnes", "reference_tonnes", "reference", "source_ids"],
    )
    out["ratio"] = out["estimate_tonnes"] / out["reference_tonnes"]
    for column in ("check", "product", "reference", "source_ids"):
        out[column] = out[column].astype("string")
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["product", "check", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Demand as a range, and like-for-like ratios
# --------------------------------------------------------------------------------------------------
DEMAND_CASES: tuple[str, ...] = ("low", "central", "high")
"""The three demand cases every capacity/demand headline is given for."""

CASE_LABELS: dict[str, str] = {
    "low": "low (observation-based)",
    "central": "central",
    "high": "high (company claims)",
}

CASE_COLUMN = "demand_case"
"""Demand-table column that marks a row as the sourced anchor of a case (low / central / high), where present."""

_CASE_RULE: dict[str, str] = {"low": "lowest", "high": "highest"}


@_memo_on_table
def case_anchors(
    demand: pd.DataFrame, product: str, case: str, *, regions: Sequence[str] = ALLIANCE_REGIONS, growth_rate: float = 0.05
) -> pd.DataFrame:
    """The anchor of each region's demand in one case (``"low"``, ``"central"`` or ``"high"``).

    Where the demand table marks rows with :data:`CASE_COLUMN`, a region's anchor in a case is its row marked
    with that case. Otherwise (and for a region with no marked row) the low case takes the region's lowest
    figure and the high case its highest; the central case is the geometric midpoint of the two, both grown to
    the later anchor's year at ``growth_rate`` (stated in ``method``: the data package has no sourced central
    figure there).

    Returns:
        Rows as :func:`demand_anchors` returns, one per region.
    """
    if case not in DEMAND_CASES:
        raise ValueError(f"case: must be one of {', '.join(DEMAND_CASES)}; got {case!r}")
    marked = demand[demand[CASE_COLUMN].astype("string") == case] if CASE_COLUMN in demand.columns else demand.iloc[0:0]
    rows = []
    for region in regions:
        own = marked[marked["region"].astype("string") == region]
        if "is_default" in own.columns:
            own = own.assign(is_default=True)  # a row marked for a case anchors it even when it repeats another row's figure
        if not own.empty:
            anchor = demand_anchors(own, product, regions=[region], anchor_rule="latest")
            if int(anchor.at[0, "n_candidates"]) > 0:
                rows.append(anchor.assign(method=f"{CASE_LABELS[case]} anchor: " + anchor["method"].astype(str)))
                continue
        if case in _CASE_RULE:
            rows.append(demand_anchors(demand, product, regions=[region], anchor_rule=_CASE_RULE[case]))
            continue
        low = demand_anchors(demand, product, regions=[region], anchor_rule="lowest").iloc[0]
        high = demand_anchors(demand, product, regions=[region], anchor_rule="highest").iloc[0]
        if pd.isna(low["anchor_year"]) or pd.isna(high["anchor_year"]) or low["anchor_tonnes"] <= 0 or high["anchor_tonnes"] <= 0:
            rows.append(demand_anchors(demand, product, regions=[region], anchor_rule="lowest"))
            continue
        year = max(int(low["anchor_year"]), int(high["anchor_year"]))
        index = growth_index(np.array([int(low["anchor_year"]), int(high["anchor_year"]), year]), growth_rate, growth_rate, year)
        tonnes = float(np.sqrt(low["anchor_tonnes"] * index[2] / index[0] * high["anchor_tonnes"] * index[2] / index[1]))
        frame = pd.DataFrame([high]).assign(
            anchor_year=year,
            anchor_tonnes=tonnes,
            method=(
                f"central: geometric midpoint of the lowest ({low['anchor_tonnes']:,.0f} t, {low['anchor_year']}) and highest "
                f"({high['anchor_tonnes']:,.0f} t, {high['anchor_year']}) figures grown at {growth_rate:.0%}/yr to {year}; no sourced central figure"
            ),
            source_ids=";".join(str(v) for v in (low["source_ids"], high["source_ids"]) if pd.notna(v)),
        )
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out["anchor_year"] = out["anchor_year"].astype("Int64")
    return out


def case_demand(
    demand: pd.DataFrame, years: Sequence[int], params, case: str, *, regions: Sequence[str] = ALLIANCE_REGIONS
) -> pd.DataFrame:
    """Per-region NdPr and Dy+Tb demand in one case, grown at the scenario's rates (as :func:`scenario_demand`).

    Returns:
        Rows of :func:`alliance_demand` for both products, with ``case``.
    """
    frames = []
    years_arr = np.asarray(list(years), dtype="int64")
    for product, rate in (("ndpr_oxide", params.ndpr_demand_growth_rate), ("dytb_oxide", params.dytb_demand_growth_rate)):
        for anchor in case_anchors(demand, product, case, regions=regions, growth_rate=rate).itertuples(index=False):
            base_year = int(years_arr[0]) if pd.isna(anchor.anchor_year) else int(anchor.anchor_year)
            index = growth_index(np.append(years_arr, base_year), rate, params.long_run_demand_growth_rate, params.demand_growth_break_year)
            frames.append(
                pd.DataFrame(
                    {
                        "year": years_arr,
                        "region": anchor.region,
                        "product": product,
                        "case": case,
                        "tonnes": anchor.anchor_tonnes * index[:-1] / index[-1] * params.demand_scale,
                        "anchor_year": anchor.anchor_year,
                        "anchor_tonnes": anchor.anchor_tonnes,
                        "is_estimate": True,
                        "method": f"{anchor.method}; grown at the scenario's rates from {base_year}",
                        "source_ids": anchor.source_ids,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["anchor_year"] = out["anchor_year"].astype("Int64")
    return out


def demand_range(demand: pd.DataFrame, years: Sequence[int], params, *, regions: Sequence[str] = ALLIANCE_REGIONS) -> pd.DataFrame:
    """Per-region demand for both products in all three cases (low, central, high): :func:`case_demand` stacked."""
    return pd.concat([case_demand(demand, years, params, case, regions=regions) for case in DEMAND_CASES], ignore_index=True)


STAGE_DEMAND_PRODUCT: dict[str, str] = {
    "mining": "ree_total",
    "separation": "ndpr_oxide",
    "heavy_separation": "dytb_oxide",
    "metal_alloy": "ndfeb_magnet",
    "magnet": "ndfeb_magnet",
}
"""Per stage: the product whose demand that stage serves (alloy demand is taken as magnet mass, 1:1)."""


def stage_demand_by_region(
    demand: pd.DataFrame, stage: str, year: int, *, by_region: pd.DataFrame | None = None, regions: Sequence[str] = ALLIANCE_REGIONS
) -> pd.DataFrame:
    """Demand at one stage per alliance region in ``year``; regions with no figure are left out (not counted as 0).

    Separation and heavy separation take ``by_region`` (rows of :func:`case_demand` for one case) for ``year``;
    the other stages take the demand table's default all-segment row of the stage's product for the latest year
    not after ``year`` (the earliest later year when none is earlier).

    Returns:
        DataFrame with ``region``, ``country``, ``tonnes``, ``year`` (of the figure), ``source_ids``.
    """
    from rare_earth_lib.domain import REGION_NAMES

    product = STAGE_DEMAND_PRODUCT[stage]
    if stage in ("separation", "heavy_separation") and by_region is not None:
        sel = by_region[(by_region["product"] == product) & (by_region["year"] == year) & by_region["region"].isin(list(regions))]
        out = sel[["region", "tonnes", "year", "source_ids"]]
    else:
        rows = default_rows(demand)
        if "segment" in rows.columns:
            rows = rows[rows["segment"].fillna("all") == "all"]
        rows = rows[(rows["product"] == product) & rows["region"].isin(list(regions)) & rows["tonnes"].notna()]
        picked = []
        for _, grp in rows.groupby("region"):
            before = grp[grp["year"] <= year]
            use = before[before["year"] == before["year"].max()] if not before.empty else grp[grp["year"] == grp["year"].min()]
            picked.append(use.iloc[[0]])
        out = (
            pd.concat(picked)[["region", "tonnes", "year", "source_ids"]]
            if picked
            else pd.DataFrame(columns=["region", "tonnes", "year", "source_ids"])
        )
    out = out.assign(country=out["region"].map(REGION_NAMES)).reset_index(drop=True)
    return out[["region", "country", "tonnes", "year", "source_ids"]]


def like_for_like(capacity_by_country: pd.Series, demand_by_region: pd.DataFrame) -> dict:
    """Capacity over demand for the same countries: only countries with a demand figure enter either side.

    Args:
        capacity_by_country: alliance country name -> capacity (t/yr) counted for it.
        demand_by_region: rows of :func:`stage_demand_by_region` (one product, one year).

    Returns:
        dict with ``countries`` (those compared), ``capacity_tpa``, ``demand_t``, ``ratio`` (NaN when demand is
        zero or missing), ``left_out`` (countries with capacity but no demand figure) and ``left_out_tpa``.
    """
    countries = [c for c in demand_by_region["country"].dropna()]
    demand_t = float(demand_by_region["tonnes"].sum()) if countries else float("nan")
    cap = capacity_by_country.groupby(level=0).sum()
    compared = float(cap.reindex(countries).fillna(0.0).sum())
    left = cap[~cap.index.isin(countries) & (cap > 0)]
    return {
        "countries": countries,
        "capacity_tpa": compared,
        "demand_t": demand_t,
        "ratio": compared / demand_t if countries and demand_t > 0 else float("nan"),
        "left_out": list(left.index),
        "left_out_tpa": float(left.sum()),
    }
