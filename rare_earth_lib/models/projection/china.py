"""China's separated-output path and the observed base year (output outside China) of the world projection."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import CHINA
from rare_earth_lib.models.timeline.simulate import PRODUCTS

#: The China rows of chain_output that give China's separated output per product (product -> chain_output products).
CHINA_PRODUCTS: dict[str, tuple[str, ...]] = {"ndpr_oxide": ("ndpr_oxide",), "dytb_oxide": ("dy_oxide", "tb_oxide")}


@dataclass(frozen=True)
class ChinaPath:
    """China's separated output path: base-year run-rate per product grown at one annual rate.

    Attributes:
        rate_id, growth: the ``growth_rates`` row and its ``annual_growth``.
        rate_method, rate_note, rate_source_ids, rate_is_estimate: that row's method, note, sources, estimate flag.
        base_year: the year of China's observed run-rate.
        base_tpa: product -> t oxide/yr in ``base_year``.
        base_method: product -> how the base was derived (text); base_source_ids: product -> source ids.
    """

    rate_id: str
    growth: float
    rate_method: str
    rate_note: str
    rate_source_ids: str
    rate_is_estimate: bool
    base_year: int
    base_tpa: dict[str, float]
    base_method: dict[str, str]
    base_source_ids: dict[str, str]

    def tonnes(self, years: Sequence[int] | np.ndarray, product: str, growth: float | None = None) -> np.ndarray:
        """China's output (t/yr) in ``years`` at ``growth`` (default: the path's own rate)."""
        g = self.growth if growth is None else growth
        return self.base_tpa[product] * (1.0 + g) ** (np.asarray(years, dtype="float64") - self.base_year)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value) else str(value)


def china_growth(growth_rates: pd.DataFrame, rate_id: str) -> pd.Series:
    """The ``growth_rates`` row ``rate_id`` (China's growth), or a ValueError naming the parameter."""
    rows = growth_rates[(growth_rates["rate_id"] == rate_id) & (growth_rates["region"] == CHINA)]
    if rows.empty:
        known = ", ".join(growth_rates.loc[growth_rates["region"] == CHINA, "rate_id"].astype(str))
        raise ValueError(f"china_refining_growth_rate_id: {rate_id!r} is not a China row of growth_rates (known: {known})")
    row = rows.iloc[0]
    if pd.isna(row["annual_growth"]):
        raise ValueError(f"growth_rates row {rate_id}: annual_growth is empty")
    return row


def _annual_tonnes(rows: pd.DataFrame, label: str) -> tuple[float, str]:
    """Mean annualised tonnes of ``rows`` (monthly rows x 12, quarterly x 4, yearly as stated) and the method."""
    basis = rows["basis"].astype(str).str.lower()
    factor = np.where(basis.str.contains("in the month"), 12.0, np.where(basis.str.contains("in the quarter"), 4.0, 1.0))
    if (factor == 1.0).all() and not basis.str.contains("per year|per calendar year").all():
        raise ValueError(f"chain_output: cannot annualise {label} (basis {sorted(set(basis))})")
    values = rows["tonnes"].astype(float).to_numpy() * factor
    periods = ", ".join(f"{p} {t:,.1f} t" for p, t in zip(rows["period"].astype(str), rows["tonnes"].astype(float), strict=True))
    how = "x 12 (monthly)" if (factor == 12.0).all() else "annualised"
    return float(values.mean()), f"{label}: mean of {periods} {how} = {values.mean():,.0f} t/yr"


def china_path(chain_output: pd.DataFrame, growth_rates: pd.DataFrame, rate_id: str) -> ChinaPath:
    """China's path from its latest observed run-rates (``chain_output``) and the growth row ``rate_id``.

    Raises:
        ValueError: the rate is unknown, or China's output of a product is missing.
    """
    row = china_growth(growth_rates, rate_id)
    china = chain_output[(chain_output["region"] == CHINA) & (chain_output["entity"] == "all")]
    china = china[china["is_default"].astype("boolean").fillna(False).astype(bool)]
    base_tpa, methods, sources, years = {}, {}, {}, []
    for product, parts in CHINA_PRODUCTS.items():
        total, texts, ids = 0.0, [], []
        for part in parts:
            rows = china[china["product"] == part]
            if rows.empty:
                raise ValueError(f"chain_output: no China ({part}) output row; the projection needs one")
            latest = rows[rows["year"] == rows["year"].max()]
            tonnes, text = _annual_tonnes(latest, part)
            total += tonnes
            texts.append(text)
            ids += [i for s in latest["source_ids"].astype(str) for i in s.split(";")]
            years.append(int(latest["year"].iloc[0]))
        base_tpa[product] = total
        methods[product] = "Derived: " + "; ".join(texts)
        sources[product] = ";".join(dict.fromkeys(ids))
    if len(set(years)) != 1:
        raise ValueError(f"chain_output: China's run-rates come from different years {sorted(set(years))}")
    return ChinaPath(
        rate_id=str(rate_id),
        growth=float(row["annual_growth"]),
        rate_method=_text(row.get("method")),
        rate_note=_text(row.get("note")),
        rate_source_ids=_text(row.get("source_ids")),
        rate_is_estimate=bool(row.get("is_estimate", False)),
        base_year=years[0],
        base_tpa=base_tpa,
        base_method=methods,
        base_source_ids=sources,
    )


# --------------------------------------------------------------------------------------------------
# Base year: observed output outside China
# --------------------------------------------------------------------------------------------------
def observed_outside_china(chain_output: pd.DataFrame) -> pd.DataFrame:
    """Separated-oxide output outside China in the base year: one row per producer and product.

    The base year is the latest year with a whole-calendar-year NdPr figure outside China. Per producer and
    product the calendar-year row is taken, else an annualised one of that year (Lynas Dy+Tb: H2 2025 x 2).

    Returns:
        ``year``, ``country``, ``entity``, ``product``, ``tonnes``, ``period``, ``method``, ``is_estimate``, ``source_ids``.
    """
    rows = chain_output[(chain_output["region"] != CHINA) & chain_output["product"].isin(PRODUCTS)]
    rows = rows[rows["is_default"].astype("boolean").fillna(False).astype(bool)]
    basis = rows["basis"].astype(str).str.lower()
    yearly = rows[basis.str.contains("per year|per calendar year") & ~basis.str.contains("fiscal")]
    whole = yearly[yearly["period"].astype(str) == yearly["year"].astype(str)]
    if whole[whole["product"] == "ndpr_oxide"].empty:
        raise ValueError("chain_output: no whole-year NdPr output outside China; the projection's base year needs one")
    base_year = int(whole.loc[whole["product"] == "ndpr_oxide", "year"].max())
    out = []
    for (entity, product), group in yearly[yearly["year"] == base_year].groupby(["entity", "product"], sort=True):
        calendar = group[group["period"].astype(str) == str(base_year)]
        pick = calendar if not calendar.empty else group[group["period"].astype(str).str.contains("annualised")]
        if pick.empty:
            continue
        r = pick.iloc[0]
        out.append(
            {
                "year": base_year,
                "country": str(r["region"]),
                "entity": str(entity),
                "product": str(product),
                "tonnes": float(r["tonnes"]),
                "period": str(r["period"]),
                "method": _text(r.get("method")),
                "is_estimate": bool(r.get("is_estimate", False)),
                "source_ids": str(r["source_ids"]),
            }
        )
    return pd.DataFrame(out, columns=["year", "country", "entity", "product", "tonnes", "period", "method", "is_estimate", "source_ids"])


def base_year_shares(china: ChinaPath, observed: pd.DataFrame) -> pd.DataFrame:
    """Each country's share of separated output in the base year (China's run-rate grown to that year).

    Returns:
        ``year``, ``product``, ``country``, ``tonnes``, ``share``, ``method``, ``source_ids``.
    """
    rows = []
    for product in PRODUCTS:
        obs = observed[observed["product"] == product]
        year = int(observed["year"].iloc[0])
        c = float(china.tonnes([year], product)[0])
        by_country = obs.groupby("country")["tonnes"].sum()
        total = c + float(by_country.sum())
        growth = f"{china.growth:.1%}/yr ({china.rate_id})"
        rows.append(
            {
                "year": year,
                "product": product,
                "country": CHINA,
                "tonnes": c,
                "share": c / total,
                "method": f"{china.base_method[product]}; grown {year - china.base_year} yr at {growth}",
                "source_ids": ";".join(dict.fromkeys((china.base_source_ids[product] + ";" + china.rate_source_ids).split(";"))),
            }
        )
        for country, tonnes in by_country.items():
            sub = obs[obs["country"] == country]
            rows.append(
                {
                    "year": year,
                    "product": product,
                    "country": str(country),
                    "tonnes": float(tonnes),
                    "share": float(tonnes) / total,
                    "method": "; ".join(
                        f"{e} {p}: {t:,.0f} t" + (f" ({m})" if m else "")
                        for e, p, t, m in zip(sub["entity"], sub["period"], sub["tonnes"], sub["method"], strict=True)
                    ),
                    "source_ids": ";".join(dict.fromkeys(i for s in sub["source_ids"] for i in s.split(";"))),
                }
            )
    return pd.DataFrame(rows)
