"""Charts of the world separation projection: China's share to 2035 and the model beside published projections.

The functions take the tidy frames of :mod:`rare_earth_lib.models.projection` and return Altair charts in the
one theme (:mod:`rare_earth_lib.report.charts`); the briefing adds caption, sources and text alternative
(``Briefing.figure``), for which :func:`share_alt` and :func:`benchmark_alt` give the one-sentence summary.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rare_earth_lib.domain import PRODUCT_LABELS, percent
from rare_earth_lib.report.charts import PALETTE, REGION_COLORS

PUBLISHED_COLOUR = PALETTE[1]
_MORE_COLOURS = ["#6d597a", "#b5c99a", "#30343f", "#00798c", "#c8c8c8", "#e07a5f", "#3d405b"]


def country_scale(domain: list[str]) -> alt.Scale:
    """Each country's fixed colour (the theme's actors); the rest get distinct colours no actor uses."""
    fixed = {*REGION_COLORS.values(), PUBLISHED_COLOUR}
    spare = iter([c for c in dict.fromkeys([*PALETTE, *_MORE_COLOURS]) if c not in fixed] + _MORE_COLOURS)
    return alt.Scale(domain=domain, range=[REGION_COLORS.get(name) or next(spare) for name in domain])


def _label(bench: pd.DataFrame) -> pd.Series:
    return bench["forecaster"].astype(str) + " " + bench["edition"].astype(str).str.replace("Global Critical Minerals Outlook", "GCMO")


def share_chart(table: pd.DataFrame, bench: pd.DataFrame, *, product: str = "ndpr_oxide") -> alt.LayerChart:
    """Each country's share of world separation capacity by year: P50 lines, China's P10-P90 band, published points.

    Args:
        table: :func:`rare_earth_lib.models.projection.projection_table` (by country), base year included.
        bench: :func:`rare_earth_lib.models.projection.benchmark_table`; its comparable rows for the same stage
            are drawn as points.
        product: ``"ndpr_oxide"`` (light separation) or ``"dytb_oxide"`` (heavy).
    """
    rows = table[table["product"] == product].copy()
    rows["kind"] = rows["observed"].map({True: "observed (base year)", False: "model"})
    domain = ["China", *sorted(c for c in rows["country"].unique() if c != "China")]
    china = rows[rows["country"] == "China"]
    x = alt.X("year:Q", axis=alt.Axis(format="d", tickMinStep=1), title="Year")
    y_axis = alt.Axis(format="%")
    band = (
        alt.Chart(china)
        .mark_area(opacity=0.2, color=REGION_COLORS["China"])
        .encode(x=x, y=alt.Y("share_p10:Q", axis=y_axis, title="Share of world separation capacity (%)"), y2="share_p90:Q")
    )
    tips = [
        alt.Tooltip("country:N", title="Country"),
        alt.Tooltip("year:Q", format="d", title="Year"),
        alt.Tooltip("kind:N", title="Figure"),
        alt.Tooltip("share_p50:Q", format=".1%", title="Share, P50"),
        alt.Tooltip("share_p10:Q", format=".1%", title="P10"),
        alt.Tooltip("share_p90:Q", format=".1%", title="P90"),
        alt.Tooltip("capacity_p50_tpa:Q", format=",.0f", title="t oxide/yr, P50"),
    ]
    lines = (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("share_p50:Q", axis=y_axis, title="Share of world separation capacity (%)"),
            color=alt.Color("country:N", scale=country_scale(domain), legend=alt.Legend(title=None, columns=4)),
            tooltip=tips,
        )
    )
    stage = "separation" if product == "ndpr_oxide" else "heavy_separation"
    pub = bench[(bench["stage"] == stage) & bench["comparable"] & bench["region"].isin(domain)].copy()
    pub["source"] = _label(pub)
    points = (
        alt.Chart(pub)
        .mark_point(shape="diamond", size=110, filled=True, color=PUBLISHED_COLOUR)
        .encode(
            x="year:Q",
            y=alt.Y("published:Q", axis=y_axis, title="Share of world separation capacity (%)"),
            tooltip=[
                alt.Tooltip("source:N", title="Published"),
                alt.Tooltip("region:N", title="Country"),
                alt.Tooltip("year:Q", format="d", title="Year"),
                alt.Tooltip("published:Q", format=".0%", title="Published share"),
                alt.Tooltip("model_p50:Q", format=".1%", title="Model P50"),
            ],
        )
    )
    pub["label"] = [f"{a}: {r} {percent(v)}" for a, r, v in zip(pub["source"], pub["region"], pub["published"], strict=True)]
    labels = (
        alt.Chart(pub[pub["published"] >= 0.1])  # small shares sit among the lines: their figures are in the tooltip
        .mark_text(align="right", dx=-9, fontSize=10, color=PUBLISHED_COLOUR)
        .encode(x="year:Q", y=alt.Y("published:Q", axis=y_axis, title="Share of world separation capacity (%)"), text="label:N")
    )
    return alt.layer(band, lines, points, labels).properties(height=260, title=f"{PRODUCT_LABELS[product]} separation")


def benchmark_chart(bench: pd.DataFrame) -> alt.LayerChart:
    """Published shares (diamonds) beside the model's P50 (dot) and P10-P90 range (bar), one row per figure.

    Args:
        bench: :func:`rare_earth_lib.models.projection.benchmark_table`; only comparable rows are drawn.
    """
    rows = bench[bench["comparable"]].copy()
    rows["figure"] = _label(rows) + ": " + rows["region"].str.replace("+", " + ", regex=False) + ", " + rows["year"].astype(str)
    order = rows["figure"].tolist()
    y = alt.Y("figure:N", sort=order, title=None)
    x_title = "Share of world separation (%)"
    tips = [
        alt.Tooltip("figure:N", title="Figure"),
        alt.Tooltip("published:Q", format=".0%", title="Published"),
        alt.Tooltip("model_p50:Q", format=".1%", title="Model P50"),
        alt.Tooltip("model_p10:Q", format=".1%", title="Model P10"),
        alt.Tooltip("model_p90:Q", format=".1%", title="Model P90"),
        alt.Tooltip("basis_note:N", title="Basis"),
    ]
    rng = (
        alt.Chart(rows)
        .mark_rule(strokeWidth=6, opacity=0.35, color=PALETTE[0])
        .encode(
            y=y,
            x=alt.X("model_p10:Q", axis=alt.Axis(format="%"), title=x_title, scale=alt.Scale(domain=[0, 1])),
            x2="model_p90:Q",
            tooltip=tips,
        )
    )
    series = {"model_p50": "model median (bar: P10-P90)", "published": "published"}
    keep = ["figure", "basis_note", "model_p10", "model_p90"]
    points = rows.melt(id_vars=keep, value_vars=list(series), var_name="series", value_name="share")
    points["series"] = points["series"].map(series)
    domain = list(series.values())
    marks = (
        alt.Chart(points)
        .mark_point(filled=True, size=90)
        .encode(
            y=y,
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title=x_title),
            color=alt.Color(
                "series:N", scale=alt.Scale(domain=domain, range=[PALETTE[0], PUBLISHED_COLOUR]), legend=alt.Legend(title=None)
            ),
            shape=alt.Shape("series:N", scale=alt.Scale(domain=domain, range=["circle", "diamond"]), legend=alt.Legend(title=None)),
            tooltip=[
                alt.Tooltip("figure:N", title="Figure"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("share:Q", format=".1%", title="Share"),
                alt.Tooltip("model_p10:Q", format=".1%", title="Model P10"),
                alt.Tooltip("model_p90:Q", format=".1%", title="Model P90"),
                alt.Tooltip("basis_note:N", title="Basis"),
            ],
        )
    )
    return alt.layer(rng, marks).properties(width=520)


def share_alt(table: pd.DataFrame, product: str = "ndpr_oxide") -> str:
    """One sentence on what :func:`share_chart` shows (the briefing appends the chart's key numbers)."""
    rows = table[(table["product"] == product) & (table["country"] == "China")].sort_values("year")
    first, last = rows.iloc[0], rows.iloc[-1]
    return (
        f"China's share of world {PRODUCT_LABELS[product]} separation falls from {percent(first['share_p50'])} in {int(first['year'])} "
        f"to a median {percent(last['share_p50'])} in {int(last['year'])} (P10-P90 {percent(last['share_p10'])}-{percent(last['share_p90'])}); "
        "diamonds mark published projections."
    )


def benchmark_alt(bench: pd.DataFrame) -> str:
    """One sentence on what :func:`benchmark_chart` shows."""
    rows = bench[bench["comparable"]]
    parts = [
        f"{r.region} {r.year}: published {percent(r.published)}, model {percent(r.model_p50)} (P10-P90 {percent(r.model_p10)}-{percent(r.model_p90)})"
        for r in rows.itertuples(index=False)
    ]
    return "Published shares beside the model's: " + "; ".join(parts) + "."


__all__ = ["benchmark_alt", "benchmark_chart", "share_alt", "share_chart"]
