"""The Summary's charts (result -> alt.Chart) and their static PNG export for the digest (vl-convert)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement import metrics


def change_frame(summary) -> pd.DataFrame:
    """One row per leadership number with an interval: its change against the summary's comparison, in points
    (shares and NPS), with the 95 % interval."""
    rows = []
    for number in summary.shown:
        change = number.change(summary.comparison)
        if change is None or not change.has_interval or metrics.metric(number.key).change_unit != "pts":
            continue
        scale = 100 if metrics.metric(number.key).unit == "share" else 1
        rows.append({"metric": number.label, "change": change.change * scale, "ci_low": change.ci_low * scale,
                     "ci_high": change.ci_high * scale,
                     "verdict": "beyond chance" if change.significant else "within chance",
                     "shown_change": metrics.format_change(number.key, change.change)})
    return pd.DataFrame(rows, columns=["metric", "change", "ci_low", "ci_high", "verdict", "shown_change"])


def change_chart(summary) -> alt.Chart:
    """Each change with its 95 % interval against a zero line: a bar crossing zero is within chance."""
    return changes_chart(change_frame(summary), summary.comparison_label)


def changes_chart(frame: pd.DataFrame, comparison_label: str) -> alt.Chart:
    """:func:`change_chart` of the rows of :func:`change_frame`."""
    title = [f"Change against {comparison_label}", "in points, with 95 % intervals"]  # two short lines
    base = alt.Chart(frame).encode(y=alt.Y("metric:N", title=None, sort=None, axis=alt.Axis(labelLimit=260)))
    colour = alt.Color("verdict:N", title=None, scale=alt.Scale(domain=["beyond chance", "within chance"],
                                                                  range=["#1f5fa8", "#9aa5b1"]),
                       legend=alt.Legend(orient="bottom"))
    bars = base.mark_rule(strokeWidth=3).encode(
        # Few ticks: at Vega's default count a wide chart gets one every 0.2 points and hides every other label
        # (CDNOW's -0.7 to +4.5 read -1.0, -0.6, -0.2, 0.2: no 0 under the zero line). A tick count keeps
        # d3's round steps, whose multiples always include 0.
        x=alt.X("ci_low:Q", title="Change (points)", axis=alt.Axis(tickCount=6)), x2="ci_high:Q", color=colour,
        tooltip=[alt.Tooltip("metric:N", title="Metric"), alt.Tooltip("shown_change:N", title="Change"),
                 alt.Tooltip("ci_low:Q", title="95 % CI from (pts)", format="+.1f"),
                 alt.Tooltip("ci_high:Q", title="95 % CI to (pts)", format="+.1f")])
    points = base.mark_point(filled=True, size=80).encode(x="change:Q", color=colour)
    # The zero line shares the rows' data: a layer with its own data breaks the row axis in Streamlit
    # (charts/experiments.py found the same).
    zero = alt.Chart(frame).mark_rule(strokeDash=[4, 3], color="#444").encode(x=alt.datum(0))
    # Streamlit fits the whole chart (legend and axis included) into this height.
    return (zero + bars + points).properties(height=200 + 45 * max(1, len(frame)), title=title)


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (vl-convert renders Vega-Lite without a browser), amounts in the current currency
    (the digest's monthly revenue)."""
    import vl_convert

    from engagement.charts.currency import in_orders_currency

    return vl_convert.vegalite_to_png(in_orders_currency(chart.properties(width=520)).to_json(), scale=scale)
