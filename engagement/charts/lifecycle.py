"""Lifecycle charts: stage sizes over time, transitions, the purchase funnel and the Kaplan-Meier curve."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement.charts.bounds import bound_tooltips
from engagement.charts.time_axis import DAY_FORMAT, annotated, annotation_layers, span, time_x
from engagement.retention.lifecycle import STAGE_LABELS, STAGES, PurchaseFunnel, TransitionMatrix
from engagement.stats.survival import KaplanMeierResult

STAGE_COLOURS = {
    "prospect": "#c7c7c7", "new": "#9ecae1", "repeat": "#3182bd", "vip": "#31a354",
    "won_back": "#8c6bb1", "at_risk": "#fd8d3c", "lapsed": "#d62728", "not_yet_known": "#eeeeee",
}
_STAGE_ORDER = [STAGE_LABELS[s] for s in STAGES]


def _stage_scale(stages=STAGES) -> alt.Scale:
    return alt.Scale(domain=[STAGE_LABELS[s] for s in stages], range=[STAGE_COLOURS[s] for s in stages])


def stage_sizes_chart(sizes: pd.DataFrame, annotations: pd.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Stacked bars: customers per stage at the end of each month (the last bar: as of the window's end), each
    bar spanning its month; tooltips give counts and shares; ``annotations`` drawn as dated rules."""
    frame = sizes.copy()
    frame["stage_rank"] = frame["lifecycle_stage"].map({s: i for i, s in enumerate(STAGES)})
    title = "End of month (last bar: end of the window)"
    x = time_x("moment_at", frame["moment_at"], title, time_unit="yearmonth")
    bars = alt.Chart(frame).mark_bar().encode(
        x=x,
        y=alt.Y("customers:Q", title="Customers", stack="zero", axis=alt.Axis(format=",d")),
        color=alt.Color("stage_label:N", title="Stage", scale=_stage_scale(), sort=_STAGE_ORDER),
        order=alt.Order("stage_rank:Q"),
        tooltip=[
            alt.Tooltip("moment_at:T", title="As of (end of day)", format=DAY_FORMAT),
            alt.Tooltip("stage_label:N", title="Stage"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("share:Q", title="Share of known customers", format=".1%"),
            alt.Tooltip("lifetime_revenue:Q", title="Their revenue to date", format="$,.0f"),
        ],
    )
    notes = annotation_layers(annotations, *span(frame["moment_at"], "month"), title, x["axis"])
    return annotated([bars], notes, height=340, title="Customers by lifecycle stage over time")


LEGEND_LENGTH = 140  # px: the colour legend of the transition heatmap, shorter than its eight rows


def transition_heatmap(matrix: TransitionMatrix) -> alt.Chart:
    """Rows: stage on the first date; columns: stage on the second; colour and text: row share."""
    frame = matrix.frame.copy()
    frame["from_label"] = frame["from_stage"].map(STAGE_LABELS)
    frame["to_label"] = frame["to_stage"].map(STAGE_LABELS)
    frame["cell_text"] = [f"{s:.0%}" for s in frame["share_of_from"]]
    rows = [STAGE_LABELS[s] for s in ("not_yet_known", *STAGES)]
    base = alt.Chart(frame).encode(
        x=alt.X("to_label:N", title=f"Stage on {matrix.to_at:%d %b %Y}", sort=_STAGE_ORDER,
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("from_label:N", title=f"Stage on {matrix.from_at:%d %b %Y}", sort=rows),
    )
    tooltip = [
        alt.Tooltip("from_label:N", title="From"),
        alt.Tooltip("to_label:N", title="To"),
        alt.Tooltip("customers:Q", title="Customers", format=","),
        alt.Tooltip("from_customers:Q", title="Customers in the 'from' stage", format=","),
        alt.Tooltip("share_of_from:Q", title="Share of the 'from' stage", format=".1%"),
        alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".1%"),
        alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".1%"),
    ]
    rect = base.mark_rect().encode(
        # The legend hangs from the top of the rows and Streamlit fits the whole chart into its height: at
        # Vega's default length (200 px) its "0%" fell below the chart's last row and was cut off.
        color=alt.Color("share_of_from:Q", title="Share of row", scale=alt.Scale(scheme="oranges", domain=[0, 1]),
                        legend=alt.Legend(format=".0%", gradientLength=LEGEND_LENGTH)),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11).encode(
        text="cell_text:N",
        color=alt.condition(alt.datum.share_of_from > 0.6, alt.value("white"), alt.value("black")),
        tooltip=tooltip,
    )
    return (rect + text).properties(height=320, title="Where each stage's customers went (row shares)")


def funnel_chart(funnel: PurchaseFunnel) -> alt.Chart:
    """Bars: customers reaching each purchase; labels: conversion from the previous step with its 95 % CI."""
    frame = funnel.as_frame()
    frame["label"] = [
        f"{c:,} customers" if i == 0 else f"{c:,} · {conv:.1%} of previous (95% CI {lo:.1%}–{hi:.1%})"
        for i, (c, conv, lo, hi) in enumerate(zip(frame["customers"], frame["conversion"], frame["ci_low"],
                                                   frame["ci_high"]))
    ]
    base = alt.Chart(frame).encode(
        y=alt.Y("step:N", title=None, sort=list(frame["step"])),
        # The axis ends at the largest bar: the labels start inside the bars (dark text on a light bar reads
        # inside and past its end), instead of an axis stretched to twice the largest bar to make room for them.
        x=alt.X("customers:Q", title="Customers", axis=alt.Axis(format=",d"),
                scale=alt.Scale(domain=[0, max(1, int(frame["customers"].max()))], nice=False)),
        tooltip=[
            alt.Tooltip("step:N", title="Step"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("previous_customers:Q", title="n (previous step)", format=","),
            alt.Tooltip("conversion:Q", title="Conversion from previous", format=".1%"),
            alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".1%"),
            alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".1%"),
            alt.Tooltip("share_of_first:Q", title="Share of first-time buyers", format=".1%"),
        ],
    )
    bars = base.mark_bar(color="#9ecae1")
    text = base.mark_text(align="left", dx=4, fontSize=11, color="#08306b").encode(x=alt.datum(0), text="label:N")
    return (bars + text).properties(height=200, title="Purchase funnel: 1st → 2nd → 3rd → 4th+ order")


def time_to_second_purchase_chart(km: KaplanMeierResult, max_days: int | None = None) -> alt.Chart:
    """Share who made a second purchase by day t (1 - Kaplan-Meier survival) with its 95 % band."""
    table = km.table.copy()
    start = pd.DataFrame({"time": [0.0], "at_risk": [km.subjects], "events": [0], "censored": [0],
                          "survival": [1.0], "se": [0.0], "ci_low": [1.0], "ci_high": [1.0]})
    if table.empty or table["time"].iloc[0] > 0:
        table = pd.concat([start, table], ignore_index=True)
    if max_days is not None:
        table = table[table["time"] <= max_days]
    table["bought_again"] = 1 - table["survival"]
    table["band_low"] = 1 - table["ci_high"]
    table["band_high"] = 1 - table["ci_low"]
    x = alt.X("time:Q", title="Days since first purchase")
    band = alt.Chart(table).mark_area(opacity=0.25, interpolate="step-after", color="#3182bd").encode(
        x=x, y="band_low:Q", y2="band_high:Q",
        tooltip=[alt.Tooltip("time:Q", title="Day", format=","), *bound_tooltips("band_low", "band_high", ".1%")])
    line = alt.Chart(table).mark_line(interpolate="step-after", color="#3182bd").encode(
        x=x,
        y=alt.Y("bought_again:Q", title="Share who bought a second time", axis=alt.Axis(format=".0%")),
        tooltip=[
            alt.Tooltip("time:Q", title="Day"),
            alt.Tooltip("bought_again:Q", title="Bought again by then", format=".1%"),
            alt.Tooltip("band_low:Q", title="Lower 95 % bound", format=".1%"),
            alt.Tooltip("band_high:Q", title="Upper 95 % bound", format=".1%"),
            alt.Tooltip("at_risk:Q", title="Still watched without 2nd purchase", format=","),
            alt.Tooltip("events:Q", title="Second purchases that day", format=","),
        ],
    )
    return (band + line).properties(
        height=320, title="Time to second purchase (Kaplan-Meier; customers without one are censored)")
