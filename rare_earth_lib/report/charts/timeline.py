"""Charts of the refining-timeline briefing: pipeline Gantt, capacity fans, coverage-year bars, analogs, tornado.

Every time axis draws "today" (the build date) as a labelled dashed rule, so a reader sees which dates are
past. The functions take the tidy frames of :mod:`rare_earth_lib.models.timeline` and return Altair charts.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

from rare_earth_lib.models import timeline as tl
from rare_earth_lib.report.charts import PALETTE, TALL, status_scale, wrapped_labels
from rare_earth_lib.report.labels import display_name

TODAY_COLOUR = "#b22222"
PRODUCT_LABEL = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide"}
_COUNTRY_SHORT = {"United States": "US", "Japan": "JP", "Australia": "AU"}


def decimal_date(day: dt.date) -> float:
    """A date as a decimal year (2026-07-02 -> about 2026.5)."""
    return tl.decimal_as_of(day)


def _status_names_scale() -> alt.Scale:
    """The status colour scale over the reader's status names (``Before investment decision``, not ``pre_fid``)."""
    scale = status_scale()
    return alt.Scale(domain=[display_name(s) for s in scale.domain], range=scale.range)


def today_rule(today: dt.date, scale: alt.Scale | None = None, field: str = "year") -> alt.LayerChart:
    """A dashed vertical rule at the build date, labelled "today (YYYY-MM-DD)"."""
    frame = pd.DataFrame({field: [decimal_date(today)], "label": [f"today ({today.isoformat()})"]})
    x = alt.X(f"{field}:Q", scale=scale) if scale is not None else alt.X(f"{field}:Q")
    base = alt.Chart(frame).encode(x=x)
    rule = base.mark_rule(strokeDash=[5, 3], color=TODAY_COLOUR, strokeWidth=1.5)
    text = base.mark_text(align="left", baseline="top", dx=3, dy=2, color=TODAY_COLOUR, fontSize=10).encode(text="label:N", y=alt.value(0))
    return alt.layer(rule, text)


#: Fields every mark of the pipeline Gantt carries for its tooltip.
_GANTT_FIELDS = ["label", "project", "counts_for", "located_in", "status", "capacity", "planned", "target", "actual", "window", "p_built"]
_GANTT_MARKERS = {
    "planned_first_output_year": "earliest public plan",
    "target_first_output_year": "latest public target",
    "actual_first_output_year": "actual first output",
}
#: Row height of the Gantt (px): a project name fits on one or two lines (wrapped at GANTT_WRAP characters), so that
#: the chart stays short enough in print to share a page with the text before it; declared tall (charts.TALL), it
#: may take the column's full width in print.
GANTT_STEP = 24
GANTT_WRAP = 58


def pipeline_gantt(pipeline: pd.DataFrame, *, today: dt.date, horizon: int) -> alt.LayerChart:
    """Projects' public dates against the simulated first-output window over all trials.

    Args:
        pipeline: :func:`rare_earth_lib.models.timeline.pipeline_table` output.
        today: the build date.
        horizon: last simulated year (a window whose P90 is "not built" runs to the horizon).
    """
    gantt = _gantt_frame(pipeline, horizon)
    order = gantt.sort_values("bar_start", kind="stable")["label"].tolist()
    tips = [
        alt.Tooltip("project:N", title="Project"),
        alt.Tooltip("counts_for:N", title="Counts for"),
        alt.Tooltip("located_in:N", title="Located in"),
        alt.Tooltip("status:N", title="Status"),
        alt.Tooltip("capacity:N", title="Capacity"),
        alt.Tooltip("planned:N", title="Earliest public plan"),
        alt.Tooltip("target:N", title="Latest public target"),
        alt.Tooltip("actual:N", title="Actual first output"),
        alt.Tooltip("window:N", title="Simulated P10-P90 (all trials)"),
        alt.Tooltip("p_built:Q", title="P(built)", format=".0%"),
    ]
    starts = pd.concat([pipeline["planned_first_output_year"], pipeline["actual_first_output_year"], gantt["bar_start"]])
    x_scale = alt.Scale(domain=[float(int(starts.min())) - 1, horizon + 1], nice=False)
    y_axis = alt.Axis(labelLimit=0, labelExpr=wrapped_labels(gantt["label"], GANTT_WRAP), labelLineHeight=11, labelFontSize=10)
    y = alt.Y("label:N", sort=order, title=None, axis=y_axis)
    base = alt.Chart(gantt).encode(y=y)
    window = base.mark_bar(height=9, opacity=0.85).encode(
        x=alt.X("bar_start:Q", scale=x_scale, title="First output (year)", axis=alt.Axis(format="d")),
        x2="bar_end:Q",
        color=alt.Color("status:N", scale=_status_names_scale(), legend=alt.Legend(title="Status", columns=4)),
        tooltip=tips,
    )
    median = (
        base.transform_filter("isValid(datum.sim_first_output_p50_year)")
        .mark_tick(color="black", thickness=2, size=14)
        .encode(x=alt.X("sim_first_output_p50_year:Q", scale=x_scale), tooltip=tips)
    )
    points = (
        alt.Chart(_gantt_markers(gantt))
        .mark_point(size=60, color="black", strokeWidth=1.5)
        .encode(
            x=alt.X("year:Q", scale=x_scale),
            y=y,
            shape=alt.Shape(
                "marker:N",
                scale=alt.Scale(domain=list(_GANTT_MARKERS.values()), range=["diamond", "triangle-right", "circle"]),
                legend=alt.Legend(title="Date", columns=1),
            ),
            tooltip=tips,
        )
    )
    chart = alt.layer(window, median, points, today_rule(today, x_scale))
    chart = chart.properties(width=380, height=alt.Step(GANTT_STEP), usermeta=TALL)
    return chart.resolve_scale(color="independent", shape="independent")


def _gantt_frame(pipeline: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """One row per project: its label with the member it counts for, the tooltip texts and the simulated window."""
    return pipeline.assign(
        label=pipeline["label"] + " [" + pipeline["counts_for"].map(_COUNTRY_SHORT) + "]",
        capacity=(
            "NdPr "
            + pipeline["ndpr_oxide_tpa"].map("{:,.0f}".format)
            + " t/yr, Dy+Tb "
            + pipeline["dytb_oxide_tpa"].map("{:,.0f}".format)
            + " t/yr ("
            + pipeline["capacity_basis_note"]
            + ")"
        ),
        planned=tl.format_decimal_year(pipeline["planned_first_output_year"]),
        target=tl.format_decimal_year(pipeline["target_first_output_year"]),
        actual=tl.format_decimal_year(pipeline["actual_first_output_year"]),
        window=tl.format_decimal_year(pipeline["sim_first_output_p10_year"]).fillna("not built")
        + " to "
        + tl.format_decimal_year(pipeline["sim_first_output_p90_year"]).fillna("not built"),
        p_built=pipeline["completion_probability"],
        status=pipeline["status"].map(display_name),
        bar_start=pipeline["sim_first_output_p10_year"].fillna(horizon + 1),
        bar_end=pipeline["sim_first_output_p90_year"].fillna(horizon + 1),
    )


def _gantt_markers(gantt: pd.DataFrame) -> pd.DataFrame:
    """One row per public date of a project (earliest plan, latest target, actual first output) that the data hold."""
    markers = gantt.melt(id_vars=_GANTT_FIELDS, value_vars=list(_GANTT_MARKERS), var_name="marker", value_name="year")
    markers = markers.dropna(subset=["year"])
    markers["marker"] = markers["marker"].map(_GANTT_MARKERS)
    return markers


def capacity_fan(cap: pd.DataFrame, *, threshold_text: str, today: dt.date) -> alt.LayerChart:
    """Capacity band (P10-P90), P50, the as-announced path and demand, with today marked.

    Args:
        cap: :func:`rare_earth_lib.models.timeline.capacity_percentiles` output with an ``announced_tpa`` column.
        threshold_text: the threshold as text (e.g. "75%").
        today: the build date.
    """
    series = {
        "capacity_p50_tpa": "capacity, median (P50)",
        "announced_tpa": "capacity as announced (no slip, all built)",
        "demand_tpa": "demand (estimate)",
        "threshold_demand_tpa": f"{threshold_text} of demand (estimate)",
    }
    lines = cap.melt(id_vars=["year"], value_vars=list(series), var_name="series", value_name="tpa")
    lines["series"] = lines["series"].map(series)
    domain = list(series.values())
    legend = alt.Legend(title=None, columns=2, labelLimit=260)
    band = (
        alt.Chart(cap)
        .mark_area(opacity=0.25, color=PALETTE[0])
        .encode(
            x=alt.X("year:Q", axis=alt.Axis(format="d"), title="Year"),
            y=alt.Y("capacity_p10_tpa:Q", title="Capacity (t oxide per year)"),
            y2="capacity_p90_tpa:Q",
            tooltip=[
                alt.Tooltip("year:Q", format="d"),
                alt.Tooltip("capacity_p10_tpa:Q", title="capacity P10", format=",.0f"),
                alt.Tooltip("capacity_p50_tpa:Q", title="capacity P50", format=",.0f"),
                alt.Tooltip("capacity_p90_tpa:Q", title="capacity P90", format=",.0f"),
                alt.Tooltip("announced_tpa:Q", title="as announced", format=",.0f"),
                alt.Tooltip("demand_tpa:Q", title="demand (estimate)", format=",.0f"),
                alt.Tooltip("share_of_trials_reached:Q", title="trials covered by then", format=".0%"),
            ],
        )
    )
    line = (
        alt.Chart(lines)
        .mark_line()
        .encode(
            x="year:Q",
            y="tpa:Q",
            color=alt.Color(
                "series:N", scale=alt.Scale(domain=domain, range=[PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[1]]), legend=legend
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=domain, range=[[1, 0], [8, 2, 2, 2], [6, 3], [2, 2]]), legend=legend
            ),
            tooltip=[alt.Tooltip("series:N"), alt.Tooltip("year:Q", format="d"), alt.Tooltip("tpa:Q", format=",.0f", title="t/yr")],
        )
    )
    return alt.layer(band, line, today_rule(today)).properties(height=240)


def coverage_bars(dist: pd.DataFrame, *, threshold_text: str) -> alt.Chart:
    """Share of trials first covering the threshold in each year (and never), by product.

    Years already past or under way at the build date are drawn faded and labelled so in the tooltip.

    Args:
        dist: :func:`rare_earth_lib.models.timeline.coverage_distribution` rows with ``product`` (label) and
            ``when`` ("past", "under way", "forecast", or "never").
        threshold_text: the threshold as text.
    """
    order = dist["label"].drop_duplicates().tolist()
    return (
        alt.Chart(dist)
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N",
                sort=order,
                title=f"First year alliance capacity covers {threshold_text} of demand",
                axis=alt.Axis(labelAngle=-45),
            ),
            xOffset=alt.XOffset("product:N"),
            y=alt.Y("share_of_trials:Q", axis=alt.Axis(format="%"), title="Share of trials (%)"),
            color=alt.Color("product:N", scale=alt.Scale(range=[PALETTE[0], PALETTE[3]]), legend=alt.Legend(title=None)),
            opacity=alt.condition("datum.when == 'forecast' || datum.when == 'never'", alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip("product:N"),
                alt.Tooltip("label:N", title="Year"),
                alt.Tooltip("when:N", title="At the build date"),
                alt.Tooltip("share_of_trials:Q", format=".1%", title="Share of trials"),
                alt.Tooltip("cumulative_share:Q", format=".1%", title="Reached by then"),
            ],
        )
        .properties(width=540, height=220)
    )


def analog_dumbbell(analog_view: pd.DataFrame, *, today: dt.date) -> alt.LayerChart:
    """Planned vs actual first output of past builds, with the hindcast P10-P90 window and today.

    Args:
        analog_view: :func:`rare_earth_lib.models.timeline.analog_table` merged with the hindcast's
            ``predicted_p10_year``/``predicted_p90_year`` and ``hindcast`` (outcome), plus text columns
            ``planned``, ``result``, ``slip`` and ``window``.
        today: the build date.
    """
    order = analog_view.sort_values("planned_year")["project"].tolist()
    outcomes = ["first output", "not yet producing (as of data date)"]
    tips = [
        alt.Tooltip("project:N", title="Build"),
        alt.Tooltip("planned:N", title="Planned first output"),
        alt.Tooltip("result:N", title="Actual (or data date)"),
        alt.Tooltip("outcome:N", title="Outcome"),
        alt.Tooltip("slip:N", title="Slip"),
        alt.Tooltip("window:N", title="Hindcast P10-P90"),
        alt.Tooltip("hindcast:N", title="Hindcast result"),
    ]
    base = alt.Chart(analog_view).encode(y=alt.Y("project:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)))
    window = base.mark_bar(height=14, color="#d9d9d9").encode(
        x=alt.X("predicted_p10_year:Q", title="Year", axis=alt.Axis(format="d"), scale=alt.Scale(zero=False)),
        x2="predicted_p90_year:Q",
        tooltip=tips,
    )
    rule = base.mark_rule(strokeWidth=2, color=PALETTE[0]).encode(
        x="planned_year:Q",
        x2="outcome_year:Q",
        strokeDash=alt.StrokeDash(
            "outcome:N", scale=alt.Scale(domain=outcomes, range=[[1, 0], [4, 3]]), legend=alt.Legend(title=None, labelLimit=300)
        ),
        tooltip=tips,
    )
    planned = base.mark_point(shape="diamond", size=70, filled=False, color="black").encode(x="planned_year:Q", tooltip=tips)
    actual = base.mark_point(size=70, filled=True).encode(
        x="outcome_year:Q",
        shape=alt.Shape(
            "outcome:N", scale=alt.Scale(domain=outcomes, range=["circle", "cross"]), legend=alt.Legend(title=None, labelLimit=300)
        ),
        color=alt.value(PALETTE[1]),
        tooltip=tips,
    )
    return alt.layer(window, rule, planned, actual, today_rule(today)).properties(width=440, height=alt.Step(28))


def tornado_still_products(sensitivity: pd.DataFrame) -> list[str]:
    """Products whose P50 coverage year no factor moves (their panel would hold no bar)."""
    moved = sensitivity.assign(same=sensitivity["p50_year"].fillna(-1) == sensitivity["base_p50_year"].fillna(-1))
    still = moved.groupby("product")["same"].all()
    if still.all():
        return []  # nothing moves at all: keep every panel rather than draw an empty chart
    return [str(p) for p in still.index[still]]


TICK_MIN_PX = 34
"""Least distance between two year labels on an axis, in pixels (a four-digit year at the theme's label size is ~26 px)."""


def _tornado_axis(frame: pd.DataFrame, horizon: int, width: int) -> tuple[list[float], list[int]]:
    """The tornado's x domain (years, with room for the bar labels beyond the bars' ends) and its ticks: every 5 years,
    or every 10 or 20 where the panel is too narrow for 5-year labels to stand apart (:data:`TICK_MIN_PX` apart at least)."""
    first = int(min(frame["p50_plot"].min(), frame["base_plot"].min()))
    longest = int(frame["setting"].astype(str).str.len().max() or 0)
    label_px = longest * 4.6 + 6  # 8-px text
    span = horizon + 1 - first
    pad = min(max(2.0, span * label_px / max(width - 2 * label_px, 60)), 0.6 * span)  # in years; bars keep most of the width
    earlier_bars = bool((frame["p50_plot"] < frame["base_plot"]).any())
    low = first - (pad if earlier_bars else 1.0)
    high = horizon + 1 + pad
    px_per_year = width / max(high - low, 1e-9)
    step = next((s for s in (5, 10, 20) if s * px_per_year >= TICK_MIN_PX), 50)
    return [low, high], list(range(first + (step - first % step) % step, horizon + 2, step))


def tornado(sensitivity: pd.DataFrame, *, horizon: int) -> alt.FacetChart:
    """One-at-a-time sensitivity of the P50 coverage year; each bar labelled with its input setting.

    A product whose P50 no factor moves gets no panel (see :func:`tornado_still_products`; the caption says
    so); the x axis leaves room to the right of "not by the horizon" for the bar labels.

    Args:
        sensitivity: :func:`rare_earth_lib.models.timeline.sensitivity` output.
        horizon: last simulated year (``horizon + 1`` stands for "not by the horizon").
    """
    shown = sensitivity.loc[~sensitivity["product"].isin(tornado_still_products(sensitivity))]
    frame = shown.assign(
        product_label=shown["product"].map(PRODUCT_LABEL),
        p50_plot=shown["p50_year"].fillna(horizon + 1).astype(float),
        base_plot=shown["base_p50_year"].fillna(horizon + 1).astype(float),
        p50_text=shown["p50_year"].map(lambda v: tl.year_text(None if pd.isna(v) else int(v), horizon)),
        input_side=shown["side"].map({"low": "input lower", "high": "input higher"}),
    )
    panels = frame["product"].nunique()
    width = 440 if panels == 1 else 250
    domain, ticks = _tornado_axis(frame, horizon, width)
    order = frame.drop_duplicates(["label", "product"]).groupby("label")["swing_years"].sum().sort_values(ascending=False).index.tolist()
    tips = [
        alt.Tooltip("label:N", title="Factor"),
        alt.Tooltip("setting:N", title="Setting"),
        alt.Tooltip("p50_text:N", title="P50 coverage year"),
        alt.Tooltip("product_label:N", title="Product"),
    ]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=230))
    bars = (
        alt.Chart()
        .mark_bar(height=10)
        .encode(
            y=y,
            x=alt.X(
                "base_plot:Q",
                title=f"P50 coverage (year; {horizon + 1} = not by {horizon})",
                scale=alt.Scale(domain=domain, nice=False, zero=False),
                axis=alt.Axis(format="d", values=ticks, labelOverlap=True),
            ),
            x2="p50_plot:Q",
            color=alt.Color(
                "input_side:N",
                scale=alt.Scale(domain=["input lower", "input higher"], range=[PALETTE[0], PALETTE[3]]),
                legend=alt.Legend(title=None),
            ),
            yOffset=alt.YOffset("input_side:N"),
            tooltip=tips,
        )
    )
    # each label sits beyond the end of its bar: to the right of a bar that runs later, to the left of one that runs earlier
    later = (
        alt.Chart()
        .transform_filter("datum.p50_plot >= datum.base_plot")
        .mark_text(align="left", dx=3, fontSize=8, color="#333333")
        .encode(y=y, x="p50_plot:Q", yOffset=alt.YOffset("input_side:N"), text="setting:N")
    )
    earlier = (
        alt.Chart()
        .transform_filter("datum.p50_plot < datum.base_plot")
        .mark_text(align="right", dx=-3, fontSize=8, color="#333333")
        .encode(y=y, x="p50_plot:Q", yOffset=alt.YOffset("input_side:N"), text="setting:N")
    )
    base = alt.Chart().mark_rule(color="black").encode(x="base_plot:Q")
    return (
        alt.layer(bars, later, earlier, base, data=frame)
        .properties(width=width, height=alt.Step(22))
        .facet(column=alt.Column("product_label:N", title=None, sort=["NdPr oxide", "Dy+Tb oxide"]))
    )


def sobol_chart(indices: pd.DataFrame) -> alt.FacetChart:
    """Sobol indices per input: first-order effect (alone) and interaction share (total minus first order),
    stacked to the total index, one panel per output; the input ranges are in the tooltip.

    A share of variance lies between 0 and 1, but at a small base sample the estimates can fall outside it
    (sampling noise): the bars draw them at the bound, so no bar reads more than all of the variance, and the
    tooltip (like the table) gives the estimates as computed, with their intervals.

    Args:
        indices: :attr:`rare_earth_lib.models.timeline.sobol.SobolResult.indices`.
    """
    alone = indices["S1"].clip(lower=0.0, upper=1.0)
    frame = indices.assign(
        alone=alone,
        interaction=(indices["ST"].clip(lower=0.0, upper=1.0) - alone).clip(lower=0.0),
        range_text=indices["low"].map("{:g}".format) + " to " + indices["high"].map("{:g}".format) + " (" + indices["distribution"] + ")",
    )
    long = frame.melt(
        id_vars=["output_label", "label", "range_text", "S1", "S1_conf", "ST", "ST_conf"],
        value_vars=["alone", "interaction"],
        var_name="effect",
        value_name="index",
    )
    long["effect"] = long["effect"].map({"alone": "first order (alone)", "interaction": "in interaction (total - first order)"})
    order = frame.groupby("label")["ST"].max().sort_values(ascending=False).index.tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("index:Q", stack="zero", title="Share of output variance (%)", axis=alt.Axis(format="%")),
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(domain=["first order (alone)", "in interaction (total - first order)"], range=[PALETTE[0], PALETTE[3]]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Input"),
                alt.Tooltip("range_text:N", title="Range explored"),
                alt.Tooltip("S1:Q", title="First order", format=".2f"),
                alt.Tooltip("S1_conf:Q", title="+/-", format=".2f"),
                alt.Tooltip("ST:Q", title="Total", format=".2f"),
                alt.Tooltip("ST_conf:Q", title="+/-", format=".2f"),
            ],
        )
        .properties(width=200, height=alt.Step(16))
        .facet(facet=alt.Facet("output_label:N", title=None), columns=2)
    )
