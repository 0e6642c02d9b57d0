"""Feasibility scorecard chart: indicator scores grouped by pillar."""

from __future__ import annotations

import altair as alt
import pandas as pd

from rare_earth_lib.models.scorecard import INDICATOR_LABELS, PILLAR_LABELS, PILLARS


def scorecard_chart(card: pd.DataFrame):
    """Horizontal bars of indicator scores (0-100), grouped by pillar, with the pillar score as a tick.

    Pillars differ in colour and in bar outline dash, so the chart reads in greyscale; tooltips give
    value, thresholds and inputs.
    """
    data = card.assign(
        pillar_label=card["pillar"].map(PILLAR_LABELS),
        indicator_label=card["indicator"].map(INDICATOR_LABELS),
        value_text=card["value"].map(lambda v: "n/a" if v is None or pd.isna(v) else f"{v:,.3g}"),
    )
    pillars = [PILLAR_LABELS[p] for p in PILLARS if p in set(card["pillar"])]
    dashes = [[1, 0], [4, 2], [1, 2], [6, 2, 1, 2], [2, 2]][: len(pillars)]
    colours = ["#1b2a49", "#00798c", "#edae49", "#d1495b", "#8d99ae"][: len(pillars)]
    order = list(data["indicator_label"])
    bars = (
        alt.Chart(data)
        .mark_bar(stroke="#30343f", strokeWidth=1.2)
        .encode(
            y=alt.Y("indicator_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("score:Q", scale=alt.Scale(domain=[0, 100]), title="Score (0 = worst threshold, 100 = best)"),
            color=alt.Color("pillar_label:N", scale=alt.Scale(domain=pillars, range=colours), title="Pillar"),
            strokeDash=alt.StrokeDash("pillar_label:N", scale=alt.Scale(domain=pillars, range=dashes), title="Pillar"),
            tooltip=[
                alt.Tooltip("pillar_label:N", title="Pillar"),
                alt.Tooltip("description:N", title="Indicator"),
                alt.Tooltip("value_text:N", title="Value"),
                alt.Tooltip("unit:N", title="Unit"),
                alt.Tooltip("thresholds:N", title="Scale"),
                alt.Tooltip("score:Q", format=".0f", title="Score"),
            ],
        )
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=10)
        .encode(y=alt.Y("indicator_label:N", sort=order), x="score:Q", text=alt.Text("score:Q", format=".0f"))
    )
    return (bars + text).properties(width=420, height=22 * len(order))
