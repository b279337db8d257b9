"""Cohort charts: the retention heatmap, LTV curves and the split comparison. ``result -> alt.Chart``."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement import metrics
from engagement.charts.bounds import bound_tooltips
from engagement.retention.cohorts import METRICS, CohortMatrix

_PERIOD_TITLE = {"month": "Months since first purchase", "week": "Weeks since first purchase",
                 "quarter": "Quarters since first purchase"}


def _select(frame: pd.DataFrame, split_value: str | None) -> pd.DataFrame:
    return frame if split_value is None else frame[frame["split_value"] == split_value]


def _value_format(unit: str) -> str:
    return ".0%" if unit == "share" else "$,.0f"


AVERAGE_ROW = "All cohorts (weighted)"
# Cell text turns white from this position along the colour scale on: both schemes are dark enough there.
_DARK_FROM = 0.5


def _row_label(row: pd.Series, grain: str) -> str:
    """Monthly cohorts read "Nov 2025", as on every time axis; weeks and quarters keep their labels."""
    if grain != "month" or row["cohort_label"] == AVERAGE_ROW or pd.isna(row["cohort_start"]):
        return row["cohort_label"]
    return f"{pd.Timestamp(row['cohort_start']):%b %Y}"


def retention_heatmap(matrix: CohortMatrix, metric: str = "customers", split_value: str | None = None) -> alt.LayerChart:
    """Cohorts (rows, weighted average on top) by period (columns), coloured by the metric.

    Cells a cohort has not lived through are not drawn (blank), never shown as 0. Tooltips give the counts.
    For retention (a share of period 0), the period-0 column is 100 % by construction: it is drawn apart in
    grey and left out of the colour scale, whose range then spans the periods that carry information. Cell
    text is white on the darker half of the scale and black on the lighter half.
    """
    column, label, unit, _ = METRICS[metric]
    frame = pd.concat([_select(matrix.averages, split_value), _select(matrix.cells, split_value)],
                      ignore_index=True)
    frame = frame[frame["is_mature"] & frame[column].notna()].copy()
    frame["value"] = frame[column]
    frame["cell_text"] = [
        (f"{v:.0%}" if unit == "share" else metrics.money(v, 0)) for v in frame["value"]
    ]
    frame["row_label"] = [_row_label(row, matrix.grain) for _, row in frame.iterrows()] if len(frame) else []
    starts = frame.loc[frame["cohort_label"] != AVERAGE_ROW].drop_duplicates("row_label")
    cohort_order = [AVERAGE_ROW] + starts.sort_values("cohort_start")["row_label"].tolist()
    many = frame["period_number"].nunique() > 30 or len(cohort_order) > 40
    apart = unit == "share"  # period 0 is 100 % by construction
    coloured = frame[frame["period_number"] > 0] if apart else frame
    high = float(coloured["value"].quantile(0.99)) if len(coloured) else 1.0
    high = high if high > 0 else 1.0
    # Outliers above the 99th percentile take the darkest colour (clamp) rather than washing out the rest.
    color_scale = alt.Scale(scheme="blues" if unit == "share" else "greens", domain=[0, high], clamp=True)
    frame["text_colour"] = (frame["value"] / high >= _DARK_FROM).map({True: "white", False: "black"})
    if apart:
        frame.loc[frame["period_number"] == 0, "text_colour"] = "#444444"  # on the grey period-0 cells
    base = alt.Chart(frame).encode(
        x=alt.X("period_number:O", title=_PERIOD_TITLE[matrix.grain], axis=alt.Axis(labelAngle=0)),
        y=alt.Y("row_label:O", title="Cohort (first purchase)", sort=cohort_order,
                axis=alt.Axis(labelLimit=220)),
    )
    tooltip = [
        alt.Tooltip("row_label:N", title="Cohort"),
        alt.Tooltip("period_number:O", title="Period"),
        alt.Tooltip("value:Q", title=label, format=".1%" if unit == "share" else "$,.2f"),
        alt.Tooltip("active_customers:Q", title="Customers who bought", format=","),
        alt.Tooltip("cohort_customers:Q", title="Cohort size", format=","),
        alt.Tooltip("ci_low:Q", title="Lower 95 % bound (retention)", format=".1%"),
        alt.Tooltip("ci_high:Q", title="Upper 95 % bound (retention)", format=".1%"),
        alt.Tooltip("revenue:Q", title="Revenue in period", format="$,.0f"),
        alt.Tooltip("cohorts:Q", title="Cohorts averaged", format=","),
    ]
    rect = (base.transform_filter(alt.datum.period_number > 0) if apart else base).mark_rect().encode(
        color=alt.Color("value:Q", title=label, scale=color_scale, legend=alt.Legend(format=_value_format(unit))),
        tooltip=tooltip,
    )
    layers = [rect]
    if apart:
        layers.append(base.transform_filter(alt.datum.period_number == 0).mark_rect(color="#e6e6e6").encode(
            tooltip=tooltip))
    if not many:
        layers.append(base.mark_text(fontSize=10).encode(
            text="cell_text:N", tooltip=tooltip,
            # Values, not a scale: a second colour scale beside the cells' would clash with it in one layer.
            color={"condition": [{"test": f"datum.text_colour === '{c}'", "value": c} for c in ("white", "#444444")],
                   "value": "black"}))
    title = f"{label} by {matrix.grain}ly acquisition cohort (blank: period not over yet"
    title += "; period 0 is 100 % by definition, in grey)" if apart else ")"
    return alt.layer(*layers).properties(height=alt.Step(24 if not many else 9), title=title)


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
        y=alt.Y("ltv:Q", title=metrics.with_currency("Cumulative net revenue per customer")),
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
        band = alt.Chart(frame).mark_area(opacity=0.15).encode(
            x=x, y="ci_low:Q", y2="ci_high:Q", color=color,
            tooltip=[alt.Tooltip("split_value:N", title="Group"),
                     alt.Tooltip("period_number:Q", title="Period", format=","),
                     *bound_tooltips("ci_low", "ci_high", ".1%")])
        chart = band + line
    return chart.properties(height=320, title=f"{label}: all cohorts of each group, size-weighted (mature cells)")
