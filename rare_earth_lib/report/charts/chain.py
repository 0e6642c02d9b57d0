"""Stage-concentration chart: China, alliance, partners and others at each chain stage."""

from __future__ import annotations

import altair as alt
import pandas as pd

from rare_earth_lib.models.concentration import CHAIN_GROUPS, chain_long

_GROUP_SHAPES = ["square", "circle", "triangle-up", "diamond"]
_GROUP_COLOURS = ["#b22222", "#1b2a49", "#00798c", "#9e9e9e"]


def chain_chart(summary: pd.DataFrame):
    """Dot chart of China / alliance / partners / others shares at each stage (greyscale-safe shapes).

    Args:
        summary: :func:`concentration_summary` output with a ``label`` column (stage label).

    Returns:
        An Altair chart with tooltips; each group has its own colour and point shape.
    """
    data = chain_long(summary)
    order = list(dict.fromkeys(data["label"]))
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=order, title=None),
        x=alt.X("share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="Share of world output (%)"),
    )
    rules = alt.Chart(data).mark_rule(color="#cccccc").encode(y=alt.Y("label:N", sort=order), x=alt.value(0), x2=alt.value(560))
    points = base.mark_point(size=140, filled=True, opacity=0.9).encode(
        shape=alt.Shape("group:N", scale=alt.Scale(domain=list(CHAIN_GROUPS), range=_GROUP_SHAPES), title=None),
        color=alt.Color("group:N", scale=alt.Scale(domain=list(CHAIN_GROUPS), range=_GROUP_COLOURS), title=None),
        tooltip=[
            alt.Tooltip("label:N", title="Stage"),
            alt.Tooltip("group:N", title="Holder"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
        ],
    )
    return (rules + points).properties(width=520, height=40 * len(order))
