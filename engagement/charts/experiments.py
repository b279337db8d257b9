"""Experiment charts: a forest plot of lifts with their intervals, one row per metric and variant."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

STATUS_COLOURS = {
    "positive": "#1a7f37", "negative": "#cf222e", "inconclusive": "#57606a",
    "early": "#bf8700", "untrustworthy": "#8250df", "no_data": "#afb8c1",
}
STATUS_LABELS = {
    "positive": "Raised", "negative": "Lowered", "inconclusive": "No clear difference",
    "early": "Too early", "untrustworthy": "Untrustworthy (SRM)", "no_data": "No data",
}


def forest_frame(results) -> pd.DataFrame:
    """Rows for the forest plot: relative lift in % with the interval the verdict uses."""
    rows = []
    for r in results:
        _, _, rel_low, rel_high = r.interval
        relative = r.estimate.relative_lift
        if math.isnan(relative):
            continue
        rows.append({
            "row": f"{r.label} · {r.variant}" + (f" · {r.segment}" if r.segment != "all" else ""),
            "metric": r.label, "variant": r.variant, "segment": r.segment,
            "lift_pct": relative * 100, "low_pct": rel_low * 100, "high_pct": rel_high * 100,
            "n_variant": r.estimate.n_variant, "n_control": r.estimate.n_control,
            "p_value_adjusted": r.p_value_adjusted, "status": STATUS_LABELS[r.status],
            "ci_level_pct": (1 - r.interval_alpha) * 100, "scale": r.scale,
        })
    return pd.DataFrame(rows)


def forest_plot(results, title: str = "Relative lift vs control") -> alt.Chart:
    """Relative lift per metric and variant with its interval; a rule at zero marks 'no change'."""
    results = list(results)
    level = f"{(1 - results[0].estimate.alpha) * 100:.0f} %" if results else "95 %"
    kind = "always-valid CI" if any(r.sequential is not None for r in results) else "CI"
    adjusted = any(r.interval_alpha < r.estimate.alpha for r in results)
    # The bars are the intervals the verdicts quote: adjusted like the p-values when a correction applies.
    title = f"{title} (bars: {level} {kind}{', adjusted for multiple testing' if adjusted else ''})"
    frame = forest_frame(results)
    if frame.empty:
        frame = pd.DataFrame(columns=["row", "lift_pct", "low_pct", "high_pct", "status", "n_variant", "n_control",
                                      "p_value_adjusted", "metric", "variant", "segment", "ci_level_pct",
                                      "scale"])
    order = list(frame["row"])
    # One tiny segment can have an interval of thousands of %: clip the axis so the others stay readable
    # (the tooltip keeps the real bounds).
    domain = None
    if not frame.empty:
        bounds = pd.concat([frame["low_pct"].abs(), frame["high_pct"].abs()])
        limit = max(100.0, 4 * float(bounds.median()))
        low, high = float(frame["low_pct"].min()), float(frame["high_pct"].max())
        if low < -limit or high > limit:
            domain = [max(low, -limit), min(high, limit)]
            title += f"; bars clipped at {domain[0]:+.0f} % and {domain[1]:+.0f} %"
    x_scale = alt.Scale(domain=domain, clamp=True) if domain else alt.Undefined
    y = alt.Y("row:N", title=None, sort=order, axis=alt.Axis(labelLimit=320))
    colour = alt.Color("status:N", title="Verdict",
                       scale=alt.Scale(domain=list(STATUS_LABELS.values()), range=list(STATUS_COLOURS.values())),
                       legend=alt.Legend(orient="top", columns=3))
    tooltip = [
        alt.Tooltip("metric:N", title="Metric"), alt.Tooltip("variant:N", title="Variant"),
        alt.Tooltip("segment:N", title="Segment"),
        alt.Tooltip("lift_pct:Q", title="Lift %", format="+.1f"),
        alt.Tooltip("low_pct:Q", title="Lower bound (%)", format="+.1f"),
        alt.Tooltip("high_pct:Q", title="Upper bound (%)", format="+.1f"),
        alt.Tooltip("n_variant:Q", title="n variant", format=","),
        alt.Tooltip("n_control:Q", title="n control", format=","),
        alt.Tooltip("ci_level_pct:Q", title="CI level % (per comparison)", format=".4g"),
        alt.Tooltip("scale:N", title="Tested on"),
        alt.Tooltip("p_value_adjusted:Q", title="Adjusted p", format=".4f"),
        alt.Tooltip("status:N", title="Verdict"),
    ]
    base = alt.Chart(frame)
    bars = base.mark_rule(strokeWidth=3).encode(
        y=y, x=alt.X("low_pct:Q", title="Relative lift (%)", scale=x_scale), x2="high_pct:Q", color=colour,
        tooltip=tooltip)
    points = base.mark_point(filled=True, size=90).encode(y=y, x="lift_pct:Q", color=colour, tooltip=tooltip)
    # The zero line shares the rows' data: a layer with its own data breaks the row axis in Streamlit.
    zero = base.mark_rule(strokeDash=[4, 4], color="#444").encode(x=alt.datum(0))
    # Streamlit fits the whole chart (legend and axis included) into this height: leave room for both.
    height = 200 + 40 * max(1, len(frame))
    return (zero + bars + points).properties(height=height, title=title)
