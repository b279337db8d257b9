"""ROI page charts: functions ``result -> alt.Chart``, no Streamlit calls."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement import metrics
from engagement.charts.bounds import bound_tooltips

from engagement.value.roi import HoldoutEstimate, ObservationalEstimate, RoiResult


def _per_customer_title() -> str:
    """"$ per customer", or "Revenue per customer" when the orders name no currency."""
    return f"{metrics.currency_label() or 'Revenue'} per customer"


def adjustment_chart(estimate: ObservationalEstimate) -> alt.LayerChart:
    """Naive and regression-adjusted revenue gap per customer, each with its 95 % interval."""
    frame = pd.DataFrame([
        {"estimate": "Naive difference", "value": estimate.naive.difference,
         "ci_low": estimate.naive.ci_low, "ci_high": estimate.naive.ci_high, "interval": "Welch t"},
        {"estimate": "Adjusted (OLS)", "value": estimate.adjusted,
         "ci_low": estimate.adjusted_ci_low, "ci_high": estimate.adjusted_ci_high, "interval": "HC1 robust, normal"},
    ])
    title = _per_customer_title()
    base = alt.Chart(frame).encode(x=alt.X("estimate:N", title=None, sort=list(frame["estimate"]),
                                           axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(size=70).encode(
        y=alt.Y("value:Q", title=title),
        color=alt.Color("estimate:N", legend=None, sort=list(frame["estimate"]),
                        scale=alt.Scale(range=["#bbbbbb", "#1f77b4"])),
        tooltip=["estimate:N", alt.Tooltip("value:Q", title="Difference", format="$,.2f"),
                 alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format="$,.2f"),
                 alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format="$,.2f"), "interval:N"],
    )
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(
        y=alt.Y("ci_low:Q", title=title), y2="ci_high:Q",
        tooltip=[alt.Tooltip("estimate:N", title="Estimate"), *bound_tooltips("ci_low", "ci_high", "$,.2f")])
    return (bars + whiskers).properties(height=280, title=alt.TitleParams(
        "How much of the gap survives adjustment", subtitle="engaged minus unengaged, post-period revenue; lines: 95 % CI"))


def roi_interval_chart(result: RoiResult) -> alt.LayerChart:
    """ROI point estimate with its 95 % interval against break-even (ROI = 0, red)."""
    frame = pd.DataFrame([{"label": "ROI", "roi": result.roi, "ci_low": result.roi_ci_low,
                           "ci_high": result.roi_ci_high, "zero": 0.0}])
    finite = [v for v in (result.roi_ci_low, result.roi_ci_high, result.roi) if v == v]
    scale = alt.Scale(domain=[min([0.0, *finite]) - 0.1, max([0.0, *finite]) + 0.1])
    base = alt.Chart(frame).encode(x=alt.X("label:N", title=None, axis=alt.Axis(labelAngle=0)))
    whiskers = base.mark_rule(strokeWidth=3).encode(
        y=alt.Y("ci_low:Q", title="Return on cost (0 = break-even)", axis=alt.Axis(format="%"), scale=scale),
        y2="ci_high:Q", tooltip=bound_tooltips("ci_low", "ci_high", ".0%"))
    point = base.mark_point(filled=True, size=150).encode(
        y="roi:Q", tooltip=[alt.Tooltip("roi:Q", title="ROI", format=".0%"),
                            alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".0%"),
                            alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".0%")])
    even = alt.Chart(frame).mark_rule(color="red", strokeDash=[4, 3], strokeWidth=2).encode(y="zero:Q")
    return (whiskers + point + even).properties(height=280, title=alt.TitleParams(
        "ROI with its 95 % interval", subtitle="red: break-even"))


def holdout_difference_chart(holdout: HoldoutEstimate) -> alt.LayerChart:
    """Revenue per customer, treatment minus control, with its 95 % Welch interval against zero (no change),
    for when no cost has been chosen yet and ROI cannot be computed."""
    d = holdout.difference
    frame = pd.DataFrame([{"label": f"{holdout.outcome_days} days", "difference": d.difference,
                           "ci_low": d.ci_low, "ci_high": d.ci_high, "zero": 0.0}])
    base = alt.Chart(frame).encode(x=alt.X("label:N", title=None, axis=alt.Axis(labelAngle=0)))
    whiskers = base.mark_rule(strokeWidth=3).encode(
        y=alt.Y("ci_low:Q", title=_per_customer_title(), axis=alt.Axis(format="$,.2f")),
        y2="ci_high:Q", tooltip=bound_tooltips("ci_low", "ci_high", "$,.2f"))
    point = base.mark_point(filled=True, size=150).encode(
        y="difference:Q", tooltip=[alt.Tooltip("difference:Q", title="Difference", format="$,.2f"),
                                   alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format="$,.2f"),
                                   alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format="$,.2f")])
    zero = alt.Chart(frame).mark_rule(color="#444", strokeDash=[4, 3], strokeWidth=2).encode(y="zero:Q")
    return (whiskers + point + zero).properties(height=280, title=alt.TitleParams(
        "Treatment − control", subtitle="95 % interval; dashed: no change"))
