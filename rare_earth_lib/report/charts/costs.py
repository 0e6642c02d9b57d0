"""Cost charts: the yearly cost of each support instrument."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd


def label_room(values: pd.Series, share: float = 0.15) -> float:
    """The x-axis end for bars labelled at their ends: the longest bar plus ``share`` of it for the label, rounded up to
    a step of 10 (in the data's units) so the last tick sits past the label."""
    longest = float(pd.to_numeric(values, errors="coerce").max() or 0.0)
    return float(math.ceil(longest * (1 + share) / 10.0) * 10) if longest > 0 else 1.0


def cost_gap_chart(cost_gap: pd.DataFrame):
    """Bars of the yearly cost (US$ million) of each instrument, labelled, with tooltips.

    Args:
        cost_gap: frame with instrument, covers, target_usd_per_kg, market_usd_per_kg, volume_t,
            cost_musd_per_year.
    """
    instruments = list(cost_gap["instrument"])
    bars = (
        alt.Chart(cost_gap)
        .mark_bar(stroke="#30343f", strokeWidth=1)
        .encode(
            y=alt.Y("instrument:N", sort=instruments, title=None),
            # room past the longest bar for its value label, so the label never meets the axis's last tick label
            x=alt.X(
                "cost_musd_per_year:Q",
                title="Yearly cost (US$ million per year)",
                scale=alt.Scale(domain=[0, label_room(cost_gap["cost_musd_per_year"])], nice=False),
            ),
            color=alt.Color(
                "instrument:N", scale=alt.Scale(domain=instruments, range=["#1b2a49", "#edae49"][: len(instruments)]), legend=None
            ),
            strokeDash=alt.StrokeDash(
                "instrument:N", scale=alt.Scale(domain=instruments, range=[[1, 0], [4, 2]][: len(instruments)]), legend=None
            ),
            tooltip=[
                alt.Tooltip("instrument:N", title="Instrument"),
                alt.Tooltip("covers:N", title="Volume covered"),
                alt.Tooltip("volume_t:Q", format=",.0f", title="t/yr"),
                alt.Tooltip("target_usd_per_kg:Q", format=",.0f", title="Target US$/kg"),
                alt.Tooltip("market_usd_per_kg:Q", format=",.0f", title="Market US$/kg"),
                alt.Tooltip("cost_musd_per_year:Q", format=",.0f", title="US$ M/yr"),
            ],
        )
    )
    text = (
        alt.Chart(cost_gap)
        .mark_text(align="left", dx=4, fontSize=11, color="#30343f")
        .encode(y=alt.Y("instrument:N", sort=instruments), x="cost_musd_per_year:Q", text=alt.Text("cost_musd_per_year:Q", format=",.0f"))
    )
    return (bars + text).properties(width=460, height=45 * len(instruments))
