"""Altair charts: functions ``result -> alt.Chart`` with no Streamlit calls, one module per view area.

This module holds the Overview charts; other areas live beside it (``charts/cohorts.py``, ...).

Tests inspect ``chart.to_dict()``; the app renders them with ``ui.chart`` (which adds the PNG/SVG export).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement import metrics
from engagement.charts.bounds import bound_tooltips
from engagement.charts.time_axis import DATE_FORMAT, annotated, annotation_layers, span, time_x


def aov_trend_chart(frame: pd.DataFrame, annotations: pd.DataFrame | None = None) -> alt.LayerChart:
    """Average order value per month (line) with its 95 % interval (band); tooltips give n; ``annotations``
    (``engagement.leadership.annotations.list_annotations``) drawn as dated rules."""
    x = time_x("month", frame["month"], "Month")
    base = alt.Chart(frame).encode(x=x)
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("ci_low:Q", title=metrics.with_currency("Average order value"), scale=alt.Scale(zero=False),
                axis=alt.Axis(format="$,.0f")),
        y2="ci_high:Q",
        tooltip=[alt.Tooltip("month:T", title="Month", format=DATE_FORMAT),
                 *bound_tooltips("ci_low", "ci_high", "$,.2f"),
                 alt.Tooltip("orders:Q", title="Orders (n)", format=",")],
    )
    line = base.mark_line(point=True).encode(
        y="average_order_value:Q",
        tooltip=[
            alt.Tooltip("month:T", title="Month", format=DATE_FORMAT),
            alt.Tooltip("average_order_value:Q", title="Average order value", format="$,.2f"),
            *bound_tooltips("ci_low", "ci_high", "$,.2f"),
            alt.Tooltip("orders:Q", title="Orders (n)", format=","),
        ],
    )
    notes = annotation_layers(annotations, *span(frame["month"], "month"), "Month", x["axis"])
    return annotated([band, line], notes, height=300, title="Average order value by month (band: 95 % CI)")


def monthly_revenue_chart(frame: pd.DataFrame, annotations: pd.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Monthly revenue as bars, each spanning its month; tooltips give orders and revenue."""
    x = time_x("month", frame["month"], "Month", time_unit="yearmonth")
    bars = alt.Chart(frame).mark_bar().encode(
        x=x,
        y=alt.Y("revenue:Q", title=metrics.with_currency("Net revenue"), axis=alt.Axis(format="$,.0f")),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format=DATE_FORMAT),
            alt.Tooltip("revenue:Q", title="Net revenue", format="$,.0f"),
            alt.Tooltip("orders:Q", title="Orders", format=","),
        ],
    )
    notes = annotation_layers(annotations, *span(frame["month"], "month"), "Month", x["axis"])
    return annotated([bars], notes, height=300, title="Net revenue by month")
