"""Export-control charts: the measures' timeline and licence exposure by stage."""

from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pandas as pd

from rare_earth_lib.models.exposure import EVENT_ORDER, measure_short_name
from rare_earth_lib.report.charts import wrapped_labels

_EVENT_SHAPES = ["circle", "square", "triangle-down", "diamond"]
_EVENT_COLOURS = ["#8d99ae", "#b22222", "#edae49", "#1b2a49"]


def controls_timeline_chart(
    events: pd.DataFrame,
    as_of: dt.date | str,
    states: pd.DataFrame | None = None,
    start: str = "2023-07-01",
    today: dt.date | str | None = None,
):
    """Timeline of China's rare-earth export controls: announced / effective / suspended / suspension-end.

    Each measure is a row; events are points whose shape and colour give the event type (readable
    in greyscale), joined by a thin line; scheduled events after ``as_of`` are drawn hollow; a dashed
    rule marks the data's as-of date and a solid one "today" (the build date). An event dated after the data
    but before today is labelled "passed after the data's date: outcome not in the data", never scheduled.
    Events before ``start`` are left out (say so in the caption).

    Args:
        events: :func:`timeline_frame` output.
        as_of: the data's as-of date.
        states: optional :func:`control_states_on` output (adds each measure's state to the tooltip).
        start: first date shown (ISO).
        today: the build date (default: the as-of date, i.e. no separate marker).
    """
    now = pd.Timestamp(today if today is not None else as_of)
    data = _events_shown(events, states, start, now)
    order = list(dict.fromkeys(data.sort_values("date", kind="stable")["measure_short"]))
    end = max(pd.Timestamp(as_of), now, data["date"].max()) + pd.Timedelta(days=60)
    x = alt.X(
        "date:T",
        title="Date (month)",
        axis=alt.Axis(format="%b %Y", tickCount=8),
        scale=alt.Scale(domain=[pd.Timestamp(start).isoformat(), end.isoformat()]),
    )
    # Long measure names on at most two lines, so that the chart stays short enough to follow its text in print.
    names = alt.Axis(labelLimit=0, labelExpr=wrapped_labels(order, 60), labelFontSize=10, labelLineHeight=11)
    y = alt.Y("measure_short:N", sort=order, title=None, axis=names)
    shape = alt.Shape("event:N", scale=alt.Scale(domain=list(EVENT_ORDER), range=_EVENT_SHAPES), title="Event")
    colour = alt.Color("event:N", scale=alt.Scale(domain=list(EVENT_ORDER), range=_EVENT_COLOURS), title="Event")
    tooltip = [
        alt.Tooltip("measure:N", title="Measure"),
        alt.Tooltip("event:N", title="Event"),
        alt.Tooltip("date:T", format="%Y-%m-%d", title="Date"),
        alt.Tooltip("when:N", title="Status"),
        alt.Tooltip("state:N", title="State on exposure date"),
        alt.Tooltip("source_ids:N", title="Sources"),
    ]
    lines = alt.Chart(data).mark_line(color="#aaaaaa", strokeWidth=1).encode(x=x, y=y, detail="measure_id:N")
    happened = (
        alt.Chart(data[~data["scheduled"]])
        .mark_point(size=120, filled=True, opacity=1)
        .encode(x=x, y=y, shape=shape, color=colour, tooltip=tooltip)
    )
    scheduled = (
        alt.Chart(data[data["scheduled"]])
        .mark_point(size=120, filled=False, strokeWidth=2)
        .encode(x=x, y=y, shape=shape, color=colour, tooltip=tooltip)
    )
    return (lines + happened + scheduled + _date_rules(x, pd.Timestamp(as_of), now)).properties(width=470, height=alt.Step(26))


def _events_shown(events: pd.DataFrame, states: pd.DataFrame | None, start: str, now: pd.Timestamp) -> pd.DataFrame:
    """The events from ``start`` on, with the measure's short name, its state and whether each event happened."""
    data = events.copy()
    data["date"] = pd.to_datetime(data["date"])
    data = data[data["date"] >= pd.Timestamp(start)]
    data["measure_short"] = data["measure"].map(measure_short_name)
    if states is not None:
        data = data.merge(states[["measure_id", "state", "state_note"]], on="measure_id", how="left")
    else:
        data["state"] = ""
        data["state_note"] = ""
    passed = data["scheduled"] & (data["date"] <= now)
    data["when"] = np.where(
        passed, "passed after the data's date: outcome not in the data", np.where(data["scheduled"], "scheduled", "happened")
    )
    return data


def _date_rules(x: alt.X, as_of: pd.Timestamp, now: pd.Timestamp) -> alt.LayerChart:
    """A dashed rule at the data's date and a solid one at today, labelled on either side so the labels never overlap."""
    rule_data = pd.DataFrame(
        {
            "date": [as_of, now],
            "label": [f"data as of {as_of.date().isoformat()}", f"today {now.date().isoformat()}"],
            "dash": ["data", "today"],
            "align": ["right", "left"],
        }
    )
    if now == as_of:
        rule_data = rule_data.iloc[:1].assign(align="left")
    dash = alt.StrokeDash("dash:N", scale=alt.Scale(domain=["data", "today"], range=[[6, 4], [1, 0]]), legend=None)
    rule = alt.Chart(rule_data).mark_rule(color="#30343f").encode(x=x, strokeDash=dash, tooltip=[alt.Tooltip("label:N", title="")])
    texts = [
        alt.Chart(rule_data[rule_data["align"] == side])
        .mark_text(align=side, dx=3 if side == "left" else -3, dy=-6, fontSize=10, color="#30343f")
        .encode(x=x, y=alt.value(0), text="label:N")
        for side in ("right", "left")
        if (rule_data["align"] == side).any()
    ]
    return alt.layer(rule, *texts)


def exposure_chart(exposure: pd.DataFrame):
    """Stacked bars of the share of alliance demand needing Chinese licences per stage.

    Parts: bought from China (direct) and made outside China but caught by the extraterritorial
    rule; each part has its own colour and a text label, and the extraterritorial part a dashed
    outline, so the chart reads in greyscale.
    """
    label = exposure["label"] if "label" in exposure.columns else exposure["stage"]
    data = pd.concat(
        [
            pd.DataFrame(
                {"label": label, "part": "bought from China", "share": exposure["licence_share_direct"], "measures": exposure["measures"]}
            ),
            pd.DataFrame(
                {
                    "label": label,
                    "part": "made outside China (No. 61 rule)",
                    "share": exposure["licence_share_extraterritorial"],
                    "measures": exposure["measures"],
                }
            ),
        ],
        ignore_index=True,
    )
    parts = ["bought from China", "made outside China (No. 61 rule)"]
    bars = (
        alt.Chart(data)
        .mark_bar(stroke="#30343f", strokeWidth=1)
        .encode(
            y=alt.Y("label:N", sort=list(dict.fromkeys(label)), title=None),
            x=alt.X(
                "share:Q",
                stack="zero",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
                title="Share of alliance demand needing a Chinese licence (%)",
            ),
            color=alt.Color(
                "part:N", scale=alt.Scale(domain=parts, range=["#1b2a49", "#edae49"]), title=None, legend=alt.Legend(labelLimit=400)
            ),
            strokeDash=alt.StrokeDash("part:N", scale=alt.Scale(domain=parts, range=[[1, 0], [4, 2]]), title=None),
            order=alt.Order("part:N"),
            tooltip=[
                alt.Tooltip("label:N", title="Stage"),
                alt.Tooltip("part:N", title="Part"),
                alt.Tooltip("share:Q", format=".1%", title="Share"),
                alt.Tooltip("measures:N", title="Measures biting"),
            ],
        )
    )
    totals = pd.DataFrame({"label": label, "total": exposure["licence_share"]})
    text = (
        alt.Chart(totals)
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(y=alt.Y("label:N", sort=list(dict.fromkeys(label))), x="total:Q", text=alt.Text("total:Q", format=".0%"))
    )
    return (bars + text).properties(width=480, height=40 * len(totals))
