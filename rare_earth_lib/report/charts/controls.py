"""Export-control charts: the measures' timeline and licence exposure by stage."""

from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pandas as pd

from rare_earth_lib.models.exposure import EVENT_ORDER, measure_short_name

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
    data = events.copy()
    data["date"] = pd.to_datetime(data["date"])
    data = data[data["date"] >= pd.Timestamp(start)]
    data["measure_short"] = data["measure"].map(measure_short_name)
    if states is not None:
        data = data.merge(states[["measure_id", "state", "state_note"]], on="measure_id", how="left")
    else:
        data["state"] = ""
        data["state_note"] = ""
    now = pd.Timestamp(today if today is not None else as_of)
    passed = data["scheduled"] & (data["date"] <= now)
    data["when"] = np.where(
        passed, "passed after the data's date: outcome not in the data", np.where(data["scheduled"], "scheduled", "happened")
    )
    order = list(dict.fromkeys(data.sort_values("date", kind="stable")["measure_short"]))
    end = max(pd.Timestamp(as_of), now, data["date"].max()) + pd.Timedelta(days=60)
    x = alt.X(
        "date:T",
        title="Date (month)",
        axis=alt.Axis(format="%b %Y", tickCount=8),
        scale=alt.Scale(domain=[pd.Timestamp(start).isoformat(), end.isoformat()]),
    )
    y = alt.Y("measure_short:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
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
    rule_data = pd.DataFrame(
        {
            "date": [pd.Timestamp(as_of), now],
            "label": [f"data as of {pd.Timestamp(as_of).date().isoformat()}", f"today {now.date().isoformat()}"],
            "dash": ["data", "today"],
        }
    )
    if now == pd.Timestamp(as_of):
        rule_data = rule_data.iloc[:1]
    dash = alt.StrokeDash("dash:N", scale=alt.Scale(domain=["data", "today"], range=[[6, 4], [1, 0]]), legend=None)
    rule = alt.Chart(rule_data).mark_rule(color="#30343f").encode(x=x, strokeDash=dash, tooltip=[alt.Tooltip("label:N", title="")])
    rule_text = (
        alt.Chart(rule_data).mark_text(align="left", dx=3, dy=-6, fontSize=10, color="#30343f").encode(x=x, y=alt.value(0), text="label:N")
    )
    return (lines + happened + scheduled + rule + rule_text).properties(width=470, height=30 * max(3, len(order)))


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
                title="Share of alliance demand needing a Chinese licence",
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
