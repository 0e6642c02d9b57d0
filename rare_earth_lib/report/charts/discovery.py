"""Scenario-discovery charts: PRIM peeling trajectory, PRIM boxes, feature scores, two-input scatter, outcome spread."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE
from rare_earth_lib.report.charts import PALETTE

GOAL_DOMAIN = ["goal met", "goal not met"]
GOAL_RANGE = [PALETTE[4], PALETTE[1]]


def trajectory_chart(trajectory: pd.DataFrame) -> alt.LayerChart:
    """PRIM's peeling trajectory: coverage against density per step, coloured by inputs restricted; ring = box chosen."""
    data = trajectory.assign(restricted=trajectory["n_restricted"].astype(int))
    tips = [
        alt.Tooltip("step:Q", title="Peeling step"),
        alt.Tooltip("coverage:Q", format=".0%", title="Coverage"),
        alt.Tooltip("density:Q", format=".0%", title="Density"),
        alt.Tooltip("mass:Q", format=".0%", title="Share of futures in box"),
        alt.Tooltip("restricted:Q", title="Inputs restricted"),
    ]
    points = (
        alt.Chart(data)
        .mark_circle(size=55, opacity=0.9)
        .encode(
            x=alt.X(
                "coverage:Q",
                axis=alt.Axis(format="%"),
                title="Coverage (share of all successes inside the box)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y(
                "density:Q",
                axis=alt.Axis(format="%"),
                title="Density (share of the box's futures that succeed)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("restricted:O", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(title="Inputs restricted")),
            tooltip=tips,
        )
    )
    chosen = (
        alt.Chart(data.loc[data["chosen"]])
        .mark_point(size=260, color="black", strokeWidth=2)
        .encode(x="coverage:Q", y="density:Q", tooltip=tips)
    )
    return alt.layer(points, chosen).properties(width=420, height=260)


def boxes_chart(boxes: pd.DataFrame, labels: Mapping[str, str]) -> alt.FacetChart:
    """Each PRIM box's limits on the inputs it restricts, as a share of the explored range (0 = low end, 1 = high end)."""
    span = (boxes["space_high"] - boxes["space_low"]).where(lambda s: s > 0, 1.0)
    data = boxes.assign(
        label=boxes["input"].astype(str).map(lambda n: labels.get(n, n)),
        low_share=(boxes["low"] - boxes["space_low"]) / span,
        high_share=(boxes["high"] - boxes["space_low"]) / span,
        box_label=boxes["box"].map(lambda b: f"Box {b}" if b else "No box: whole space"),
        range_text=boxes["low"].map("{:.3g}".format) + " to " + boxes["high"].map("{:.3g}".format),
        space_text=boxes["space_low"].map("{:.3g}".format) + " to " + boxes["space_high"].map("{:.3g}".format),
    )
    tips = [
        alt.Tooltip("box_label:N", title="Box"),
        alt.Tooltip("label:N", title="Input"),
        alt.Tooltip("range_text:N", title="Box range"),
        alt.Tooltip("space_text:N", title="Explored range"),
        alt.Tooltip("density:Q", format=".0%", title="Density"),
        alt.Tooltip("coverage:Q", format=".0%", title="Coverage"),
    ]
    full = (
        alt.Chart(data)
        .mark_bar(height=12, color="#e6e6e6")
        .encode(y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=220)), x=alt.datum(0), x2=alt.datum(1))
    )
    bars = (
        alt.Chart(data)
        .mark_bar(height=12, color=PALETTE[4])
        .encode(
            y=alt.Y("label:N", title=None),
            x=alt.X("low_share:Q", title="Position in the explored range (0 = low end, 1 = high end)", scale=alt.Scale(domain=[0, 1])),
            x2="high_share:Q",
            tooltip=tips,
        )
    )
    return alt.layer(full, bars, data=data).properties(width=380, height=alt.Step(22)).facet(row=alt.Row("box_label:N", title=None))


def scores_chart(scores: pd.DataFrame, labels: Mapping[str, str], outcome_labels: Mapping[str, str]) -> alt.Chart:
    """Horizontal bars of feature scores per outcome (extra trees), inputs sorted by their score for the goal."""
    data = scores.assign(
        label=scores["input"].astype(str).map(lambda n: labels.get(n, n)),
        outcome_label=scores["outcome"].astype(str).map(lambda n: outcome_labels.get(n, n)),
    )
    order = data.loc[data["outcome"] == data["outcome"].iloc[0]].sort_values("rank")["label"].tolist()
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("score:Q", title="Feature score (share of the trees' explanatory power)"),
            color=alt.Color("outcome_label:N", scale=alt.Scale(range=[PALETTE[0], PALETTE[3], PALETTE[4]]), legend=alt.Legend(title=None)),
            yOffset=alt.YOffset("outcome_label:N"),
            tooltip=[
                alt.Tooltip("label:N", title="Input"),
                alt.Tooltip("outcome_label:N", title="Outcome"),
                alt.Tooltip("score:Q", format=".3f", title="Score"),
                alt.Tooltip("rank:Q", title="Rank"),
            ],
        )
        .properties(width=380, height=alt.Step(10))
    )


def scatter_chart(
    results: pd.DataFrame, x: str, y: str, labels: Mapping[str, str], box: pd.DataFrame | None = None, point: pd.DataFrame | None = None
) -> alt.LayerChart:
    """The sampled futures on the two strongest inputs, coloured by whether the goal is met; the first PRIM box's
    limits on them as a rectangle, and the scenario's own point as a cross."""
    data = results.assign(outcome=results["goal_met"].map({True: GOAL_DOMAIN[0], False: GOAL_DOMAIN[1]}))

    def axis_title(name: str) -> str:
        explored = EXPLORATION_SPACE.get(name)
        return f"{labels.get(name, name)} ({explored.unit})" if explored and explored.unit else labels.get(name, name)

    tips = [
        alt.Tooltip(f"{x}:Q", title=labels.get(x, x), format=".3g"),
        alt.Tooltip(f"{y}:Q", title=labels.get(y, y), format=".3g"),
        alt.Tooltip("ndpr_prob_by_year:Q", title="P(NdPr covered by the year)", format=".0%"),
        alt.Tooltip("dytb_prob_by_year:Q", title="P(Dy+Tb covered by the year)", format=".0%"),
        alt.Tooltip("outcome:N", title="Goal"),
    ]
    layers = [
        alt.Chart(data)
        .mark_circle(size=14, opacity=0.6)
        .encode(
            x=alt.X(f"{x}:Q", title=axis_title(x), scale=alt.Scale(zero=False)),
            y=alt.Y(f"{y}:Q", title=axis_title(y), scale=alt.Scale(zero=False)),
            color=alt.Color("outcome:N", scale=alt.Scale(domain=GOAL_DOMAIN, range=GOAL_RANGE), legend=alt.Legend(title=None)),
            tooltip=tips,
        )
    ]
    if box is not None and len(box):
        layers.append(
            alt.Chart(box)
            .mark_rect(fill=None, stroke="black", strokeWidth=1.5, strokeDash=[5, 3])
            .encode(x="x_low:Q", x2="x_high:Q", y="y_low:Q", y2="y_high:Q")
        )
    if point is not None and len(point):
        layers.append(
            alt.Chart(point)
            .mark_point(shape="cross", size=220, color="black", filled=True)
            .encode(x=f"{x}:Q", y=f"{y}:Q", tooltip=[alt.Tooltip("label:N", title="")])
        )
    return alt.layer(*layers).properties(width=420, height=300)


def outcome_chart(results: pd.DataFrame, by_year: int, goal_probability: float) -> alt.LayerChart:
    """Histogram of P(covered by the year) over the sampled futures, NdPr and Dy+Tb, with the goal line."""
    long = results.melt(value_vars=["ndpr_prob_by_year", "dytb_prob_by_year"], var_name="product", value_name="prob")
    long["product"] = long["product"].map({"ndpr_prob_by_year": "NdPr oxide", "dytb_prob_by_year": "Dy+Tb oxide"})
    bars = (
        alt.Chart(long)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X(
                "prob:Q",
                bin=alt.Bin(step=0.05, extent=[0, 1]),
                title=f"P(covered by {by_year}) in a sampled future (probability)",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("count():Q", title="Sampled futures (count)"),
            color=alt.Color("product:N", scale=alt.Scale(range=[PALETTE[0], PALETTE[3]]), legend=alt.Legend(title=None)),
            xOffset=alt.XOffset("product:N"),
            tooltip=[alt.Tooltip("product:N"), alt.Tooltip("count():Q", title="Futures")],
        )
    )
    rule = alt.Chart(pd.DataFrame({"goal": [goal_probability]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x="goal:Q")
    return alt.layer(bars, rule).properties(width=460, height=220)
