"""Cohort charts: the retention heatmap, LTV curves and the split comparison. ``result -> alt.Chart``."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement.retention.cohorts import METRICS, CohortMatrix

_PERIOD_TITLE = {"month": "Months since first purchase", "week": "Weeks since first purchase",
                 "quarter": "Quarters since first purchase"}


def _select(frame: pd.DataFrame, split_value: str | None) -> pd.DataFrame:
    return frame if split_value is None else frame[frame["split_value"] == split_value]


def _value_format(unit: str) -> str:
    return ".0%" if unit == "share" else "$,.0f"


def retention_heatmap(matrix: CohortMatrix, metric: str = "customers", split_value: str | None = None) -> alt.Chart:
    """Cohorts (rows, weighted average on top) by period (columns), coloured by the metric.

    Cells a cohort has not lived through are not drawn (blank), never shown as 0. Tooltips give the counts.
    """
    column, label, unit, _ = METRICS[metric]
    frame = pd.concat([_select(matrix.averages, split_value), _select(matrix.cells, split_value)],
                      ignore_index=True)
    frame = frame[frame["is_mature"] & frame[column].notna()].copy()
    frame["value"] = frame[column]
    frame["cell_text"] = [
        (f"{v:.0%}" if unit == "share" else f"${v:,.0f}") for v in frame["value"]
    ]
    cohort_order = ["All cohorts (weighted)"] + sorted(
        frame.loc[frame["cohort_label"] != "All cohorts (weighted)", "cohort_label"].unique().tolist())
    many = frame["period_number"].nunique() > 30 or len(cohort_order) > 40
    base = alt.Chart(frame).encode(
        x=alt.X("period_number:O", title=_PERIOD_TITLE[matrix.grain], axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort_label:O", title="Cohort (first purchase)", sort=cohort_order,
                axis=alt.Axis(labelLimit=220)),
    )
    color_scale = alt.Scale(scheme="blues") if unit == "share" else alt.Scale(scheme="greens")
    if unit == "share":
        # Period 0 is 100 % by construction: keep the colour range for the periods that carry information.
        later = frame.loc[frame["period_number"] > 0, "value"]
        if len(later):
            color_scale = alt.Scale(scheme="blues", domain=[0, float(later.quantile(0.99)) or 1.0], clamp=True)
    tooltip = [
        alt.Tooltip("cohort_label:N", title="Cohort"),
        alt.Tooltip("period_number:O", title="Period"),
        alt.Tooltip("value:Q", title=label, format=".1%" if unit == "share" else "$,.2f"),
        alt.Tooltip("active_customers:Q", title="Customers who bought", format=","),
        alt.Tooltip("cohort_customers:Q", title="Cohort size", format=","),
        alt.Tooltip("ci_low:Q", title="95% CI low (retention)", format=".1%"),
        alt.Tooltip("ci_high:Q", title="95% CI high (retention)", format=".1%"),
        alt.Tooltip("revenue:Q", title="Revenue in period", format="$,.0f"),
        alt.Tooltip("cohorts:Q", title="Cohorts averaged"),
    ]
    rect = base.mark_rect().encode(
        color=alt.Color("value:Q", title=label, scale=color_scale, legend=alt.Legend(format=_value_format(unit))),
        tooltip=tooltip,
    )
    chart = rect
    if not many:
        text = base.mark_text(fontSize=10).encode(
            text="cell_text:N",
            color=alt.condition(alt.datum.period_number == 0, alt.value("white"), alt.value("black"))
            if unit == "share" else alt.value("black"),
            tooltip=tooltip,
        )
        chart = rect + text
    title = f"{label} by {matrix.grain}ly acquisition cohort (blank: period not over yet)"
    return chart.properties(height=alt.Step(24 if not many else 9), title=title)


def ltv_curves(matrix: CohortMatrix, split_value: str | None = None) -> alt.Chart:
    """Cumulative revenue per customer by period, one line per cohort; the weighted average in black."""
    cells = _select(matrix.cells, split_value)
    cells = cells[cells["is_mature"]]
    average = _select(matrix.averages, split_value)
    tooltip = [
        alt.Tooltip("cohort_label:N", title="Cohort"),
        alt.Tooltip("period_number:Q", title="Period"),
        alt.Tooltip("ltv:Q", title="Cumulative revenue per customer", format="$,.2f"),
        alt.Tooltip("cohort_customers:Q", title="Customers", format=","),
        alt.Tooltip("cumulative_revenue:Q", title="Cumulative revenue", format="$,.0f"),
    ]
    x = alt.X("period_number:Q", title=_PERIOD_TITLE[matrix.grain], axis=alt.Axis(tickMinStep=1))
    lines = alt.Chart(cells).mark_line(strokeWidth=1.2, opacity=0.75).encode(
        x=x,
        y=alt.Y("ltv:Q", title="Cumulative net revenue per customer ($)"),
        color=alt.Color("cohort_start:T", title="Cohort start", scale=alt.Scale(scheme="viridis"),
                        legend=alt.Legend(format="%b %Y" if matrix.grain != "week" else "%d %b %Y")),
        detail="cohort_label:N",
        tooltip=tooltip,
    )
    mean = alt.Chart(average).mark_line(color="black", strokeWidth=3, point=True).encode(
        x=x, y="ltv:Q", tooltip=tooltip,
    )
    return (lines + mean).properties(
        height=360, title="Cumulative revenue per customer (LTV curves; black: all cohorts, size-weighted)")


def split_comparison(matrix: CohortMatrix, metric: str = "customers") -> alt.Chart:
    """The size-weighted average curve of each split value, with the 95 % band for customer retention."""
    column, label, unit, _ = METRICS[metric]
    frame = matrix.averages[matrix.averages["period_number"] > (0 if metric != "ltv" else -1)].copy()
    frame["value"] = frame[column]
    x = alt.X("period_number:Q", title=_PERIOD_TITLE[matrix.grain], axis=alt.Axis(tickMinStep=1))
    color = alt.Color("split_value:N", title=None, scale=alt.Scale(scheme="tableau10"))
    tooltip = [
        alt.Tooltip("split_value:N", title="Group"),
        alt.Tooltip("period_number:Q", title="Period"),
        alt.Tooltip("value:Q", title=label, format=".1%" if unit == "share" else "$,.2f"),
        alt.Tooltip("active_customers:Q", title="Customers who bought", format=","),
        alt.Tooltip("cohort_customers:Q", title="Customers in mature cohorts", format=","),
        alt.Tooltip("cohorts:Q", title="Cohorts averaged"),
    ]
    line = alt.Chart(frame).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title=label, axis=alt.Axis(format=_value_format(unit))), color=color, tooltip=tooltip,
    )
    chart = line
    if metric == "customers":
        band = alt.Chart(frame).mark_area(opacity=0.15).encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color)
        chart = band + line
    return chart.properties(height=320, title=f"{label}: all cohorts of each group, size-weighted (mature cells)")
