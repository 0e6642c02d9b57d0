"""Why the model's 2030 China share differs from IEA's: the gap split into its assumptions (Shapley values)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import CHINA
from rare_earth_lib.models.projection.benchmark import IEA_CHINA_2030, _iea_row
from rare_earth_lib.models.projection.model import WorldProjection

IEA_GROUPS: tuple[str, ...] = ("Malaysia", "Australia", "Others")
"""IEA's 2030 split outside China (GCMO 2024): Malaysia, Australia and everyone else."""


@dataclass(frozen=True)
class Decomposition:
    """The gap between the model's P50 China share and IEA's, split into the assumptions that cause it.

    Attributes:
        year, product: what is compared.
        model_share: the model's P50 China share; iea_share: IEA's published share.
        gap: ``model_share - iea_share`` (share points as a fraction).
        parts: one row per factor: ``factor``, ``label``, ``model_value``, ``iea_value``, ``unit``,
            ``contribution`` (fraction; what the model's assumption adds to the gap, a Shapley value: the parts
            add up to ``gap``), ``note``.
        iea_china_growth: IEA-implied annual growth of China's output, with ``world_growth`` the world-market
            growth it rests on (IEA APS magnet-REE demand, derived), ``demand_source_ids``, and ``iea_base_year``
            (IEA's base year of that growth).
    """

    year: int
    product: str
    model_share: float
    iea_share: float
    gap: float
    parts: pd.DataFrame
    iea_china_growth: float
    world_growth: float
    demand_source_ids: str
    iea_base_year: int


def _world_growth(demand: pd.DataFrame, base_year: int, year: int) -> tuple[float, str, str]:
    """IEA's world magnet-REE demand ratio ``year`` / ``base_year`` (rows of the demand table), text and sources."""
    world = demand[
        (demand["region"] == "world") & (demand["product"] == "magnet_ree") & demand["outlook"].astype(str).str.startswith("IEA")
    ]
    world = world[world["is_default"].astype("boolean").fillna(False).astype(bool)]
    a, b = world[world["year"] == base_year], world[world["year"] == year]
    if a.empty or b.empty:
        raise ValueError(f"demand: IEA world magnet-REE rows for {base_year} and {year} are needed for the IEA-implied growth")
    ra, rb = a.iloc[0], b.iloc[0]
    ids = ";".join(dict.fromkeys(f"{ra['source_ids']};{rb['source_ids']}".split(";")))
    text = f"{float(ra['tonnes']):,.0f} t ({base_year}) to {float(rb['tonnes']):,.0f} t ({year})"
    return float(rb["tonnes"]) / float(ra["tonnes"]), text, ids


def _shapley(value: Any, factors: Sequence[str]) -> dict[str, float]:
    """Shapley value of each factor for ``value(frozenset of swapped factors)``; they add up to all - none."""
    n = len(factors)
    cache: dict[frozenset, float] = {}

    def v(s: frozenset) -> float:
        if s not in cache:
            cache[s] = float(value(s))
        return cache[s]

    out = {}
    for f in factors:
        others = [g for g in factors if g != f]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for combo in itertools.combinations(others, size):
                s = frozenset(combo)
                total += weight * (v(s | {f}) - v(s))
        out[f] = total
    return out


def decompose_gap(
    proj: WorldProjection,
    projections: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    year: int = 2030,
    product: str = "ndpr_oxide",
) -> Decomposition:
    """Split the gap between the model's P50 China share in ``year`` and IEA's (GCMO 2024) into its causes.

    The share is China / (China + Malaysia + Australia + others). Each of the four is one factor, swapped
    from the model's value to the IEA-implied one:

    * **China's growth**: IEA's 92% (2023) to 77% (2030) with the world market growing as IEA's own APS
      magnet-REE demand (93 kt to 131 kt, the demand table) implies China's output grows
      ``(0.77 x 131) / (0.92 x 93)`` per 7 years (derived; assumes IEA's refined output tracks its demand);
      applied to the model's China base.
    * **Malaysia, Australia, others**: IEA's share of each over IEA's China share, times China's IEA-implied
      output (derived), in place of the model's per-trial capacity.

    With all four swapped the share is IEA's exactly; the contribution of each is its Shapley value over
    the 16 combinations (P50 over trials of each), so the parts add up to the gap whatever the order.
    World market size enters only through China's IEA-implied growth: shares of capacity do not depend on demand.

    Returns:
        A :class:`Decomposition`.
    """
    iea, china_row, (world, world_text, world_ids) = _iea_figures(projections, demand, year)
    base_year = int(china_row["base_year"])
    iea_china_growth = (iea[CHINA] * world / float(china_row["base_share"])) ** (1.0 / (year - base_year)) - 1.0
    china_model, groups = _model_figures(proj, product, year)
    china_iea = float(proj.china.tonnes([year], product, growth=iea_china_growth)[0])
    trials = next(iter(groups.values())).shape[0]

    def share(swapped: frozenset) -> float:
        c = china_iea if "china_growth" in swapped else china_model
        c_ref = china_iea  # IEA's groups are set relative to China's IEA-implied output
        outside = sum((np.full(trials, iea[g] / iea[CHINA] * c_ref) if g in swapped else groups[g]) for g in IEA_GROUPS)
        return float(np.quantile(c / (c + outside), 0.5))

    factors = ("china_growth", *IEA_GROUPS)
    # Shapley values of the move to IEA's figures, negated: each part is what the model's assumption adds to the gap.
    contrib = {f: -v for f, v in _shapley(share, factors).items()}
    model_share = share(frozenset())
    growth_note = (
        f"model: {proj.china.rate_id} ({proj.china.rate_method or 'growth_rates'}); IEA-implied (derived): China "
        f"{float(china_row['base_share']):.0%} ({base_year}) to {iea[CHINA]:.0%} ({year}) of a world market growing as IEA's "
        f"magnet-REE demand, {world_text}"
    )
    rows = _part_rows(proj.china.growth, iea_china_growth, growth_note, groups, iea, china_iea, contrib)
    return Decomposition(
        year=year,
        product=product,
        model_share=model_share,
        iea_share=iea[CHINA],
        gap=model_share - iea[CHINA],
        parts=pd.DataFrame(rows),
        iea_china_growth=float(iea_china_growth),
        world_growth=float(world),
        demand_source_ids=world_ids,
        iea_base_year=base_year,
    )


def _iea_figures(projections: pd.DataFrame, demand: pd.DataFrame, year: int) -> tuple[dict[str, float], pd.Series, tuple[float, str, str]]:
    """IEA's ``year`` separation shares by region (edition of its China row), that row, and the world-market growth.

    Raises:
        ValueError: the China row is for another year, a region's share is missing, or the demand rows are.
    """
    china_row = _iea_row(projections, IEA_CHINA_2030)
    if int(china_row["year"]) != year:
        raise ValueError(f"decompose_gap: IEA's China row is for {china_row['year']}, not {year}")
    sep = projections[(projections["stage"] == "separation") & (projections["year"] == year) & (projections["forecaster"] == "IEA")]
    sep = sep[sep["edition"] == china_row["edition"]]
    iea = {str(r.region): float(r.share) for r in sep.itertuples(index=False)}
    missing = [g for g in (CHINA, *IEA_GROUPS) if g not in iea]
    if missing:
        raise ValueError(f"projections: IEA {year} separation shares lack {', '.join(missing)}")
    return iea, china_row, _world_growth(demand, int(china_row["base_year"]), year)


def _model_figures(proj: WorldProjection, product: str, year: int) -> tuple[float, dict[str, np.ndarray]]:
    """The model's China output in ``year`` (the same in every trial) and per-trial capacity of each IEA group."""
    names, cap = proj.by("country", product)
    k = list(proj.years).index(year)
    groups = {
        "Malaysia": cap[:, names.index("Malaysia"), k] if "Malaysia" in names else np.zeros(cap.shape[0]),
        "Australia": cap[:, names.index("Australia"), k] if "Australia" in names else np.zeros(cap.shape[0]),
    }
    named = [names.index(c) for c in (CHINA, "Malaysia", "Australia") if c in names]
    groups["Others"] = cap[:, :, k].sum(axis=1) - cap[:, named, k].sum(axis=1)
    return float(cap[0, names.index(CHINA), k]), groups


def _part_rows(
    model_growth: float,
    iea_growth: float,
    growth_note: str,
    groups: dict[str, np.ndarray],
    iea: dict[str, float],
    china_iea: float,
    contrib: dict[str, float],
) -> list[dict[str, Any]]:
    """One row per factor of the decomposition: China's growth, then each IEA group's capacity."""
    rows = [
        {
            "factor": "china_growth",
            "label": "China's output growth",
            "model_value": model_growth,
            "iea_value": iea_growth,
            "unit": "per year",
            "contribution": contrib["china_growth"],
            "note": growth_note,
        }
    ]
    for g in IEA_GROUPS:
        label = {"Others": "Capacity elsewhere outside China"}.get(g, f"{g}'s capacity")
        rows.append(
            {
                "factor": g,
                "label": label,
                "model_value": float(np.quantile(groups[g], 0.5)),
                "iea_value": iea[g] / iea[CHINA] * china_iea,
                "unit": "t/yr",
                "contribution": contrib[g],
                "note": f"IEA-implied (derived): {iea[g]:.0%} / {iea[CHINA]:.0%} x China's IEA-implied output",
            }
        )
    return rows
