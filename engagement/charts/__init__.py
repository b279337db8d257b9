"""Altair charts: functions ``result -> alt.Chart`` with no Streamlit calls, one module per view area.

This module holds the Overview charts; other areas live beside it (``charts/cohorts.py``, ...).

Tests inspect ``chart.to_dict()``; the app renders them with ``st.altair_chart``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd


def aov_trend_chart(frame: pd.DataFrame) -> alt.Chart:
    """Average order value per month (line) with its 95 % interval (band); tooltips give n."""
    base = alt.Chart(frame).encode(x=alt.X("month:T", title="Month"))
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("ci_low:Q", title="Average order value ($)", scale=alt.Scale(zero=False)),
        y2="ci_high:Q",
    )
    line = base.mark_line(point=True).encode(
        y="average_order_value:Q",
        tooltip=[
            alt.Tooltip("month:T", title="Month", format="%b %Y"),
            alt.Tooltip("average_order_value:Q", title="AOV", format="$,.2f"),
            alt.Tooltip("ci_low:Q", title="95% CI low", format="$,.2f"),
            alt.Tooltip("ci_high:Q", title="95% CI high", format="$,.2f"),
            alt.Tooltip("orders:Q", title="Orders", format=","),
        ],
    )
    return (band + line).properties(height=300, title="Average order value by month (band: 95 % CI)")


def monthly_revenue_chart(frame: pd.DataFrame) -> alt.Chart:
    """Monthly revenue as bars; tooltips give orders and revenue."""
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("yearmonth(month):O", title="Month", axis=alt.Axis(format="%b %Y", labelAngle=-45)),
        y=alt.Y("revenue:Q", title="Net revenue ($)"),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format="%b %Y"),
            alt.Tooltip("revenue:Q", title="Revenue", format="$,.0f"),
            alt.Tooltip("orders:Q", title="Orders", format=","),
        ],
    ).properties(height=300, title="Net revenue by month")
