"""Engagement page charts: functions ``result -> alt.Chart``, no Streamlit calls."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement.charts.bounds import bound_tooltips

from engagement.value.engagement_score import EngagementView, SegmentComparison

_SEGMENT_COLOURS = alt.Scale(domain=["Engaged", "Unengaged"], range=["#1f77b4", "#bbbbbb"])


def segment_comparison_chart(comparison: SegmentComparison) -> alt.Chart:
    """Engaged vs unengaged on one metric: bars with a 95 % interval line; tooltips give n."""
    fmt = ".1%" if comparison.unit == "share" else "$,.2f"
    frame = pd.DataFrame([
        {"segment": name, "value": v.value, "ci_low": v.ci_low, "ci_high": v.ci_high, "n": v.n}
        for name, v in (("Engaged", comparison.engaged), ("Unengaged", comparison.unengaged))
    ])
    base = alt.Chart(frame).encode(
        x=alt.X("segment:N", title=None, sort=["Engaged", "Unengaged"], axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(width=60).encode(
        y=alt.Y("value:Q", title=None, axis=alt.Axis(format=".0%" if comparison.unit == "share" else "$,.0f")),
        color=alt.Color("segment:N", scale=_SEGMENT_COLOURS, legend=None),
        tooltip=[alt.Tooltip("segment:N", title="Segment"), alt.Tooltip("value:Q", title=comparison.label, format=fmt),
                 alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=fmt),
                 alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=fmt), alt.Tooltip("n:Q", title="n", format=",")],
    )
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(
        y=alt.Y("ci_low:Q", title=None), y2="ci_high:Q",
        tooltip=[alt.Tooltip("segment:N", title="Segment"), *bound_tooltips("ci_low", "ci_high", fmt)])
    return (bars + whiskers).properties(height=240, title=alt.TitleParams(comparison.label, subtitle="black line: 95 % CI"))


def score_distribution_chart(view: EngagementView) -> alt.Chart:
    """Share of customers at or above each score, with the engaged threshold as a rule.

    Read it as "if the threshold were here, this share would be engaged".
    """
    by_bucket = view.distribution.groupby("bucket_start", as_index=False)["customers"].sum().sort_values("bucket_start")
    total = by_bucket["customers"].sum()
    by_bucket["at_or_above"] = by_bucket["customers"][::-1].cumsum()[::-1] / total if total else 0.0
    by_bucket["customers_at_or_above"] = by_bucket["customers"][::-1].cumsum()[::-1]
    line = alt.Chart(by_bucket).mark_line(interpolate="step-after").encode(
        x=alt.X("bucket_start:Q", title="Engagement score"),
        y=alt.Y("at_or_above:Q", title="Share at or above", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1.05])),
        tooltip=[alt.Tooltip("bucket_start:Q", title="Score", format=",.1f"),
                 alt.Tooltip("at_or_above:Q", title="Share at or above", format=".1%"),
                 alt.Tooltip("customers_at_or_above:Q", title="Customers", format=",")],
    )
    rule = alt.Chart(pd.DataFrame({"threshold": [view.threshold]})).mark_rule(color="red", strokeDash=[4, 3]).encode(
        x="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title="Engaged from score")])
    return (line + rule).properties(height=280, title="Who would count as engaged (red: threshold)")


def score_components_chart(view: EngagementView) -> alt.Chart:
    """Where the points come from: each scored behaviour's share of all points."""
    frame = view.components[view.components["kind"] == "engagement"]
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelOverlap=False)),
        x=alt.X("share_of_points:Q", title="Share of all score points", axis=alt.Axis(format=".0%")),
        tooltip=[alt.Tooltip("label:N", title="Behaviour"), alt.Tooltip("weight:Q", title="Weight"),
                 alt.Tooltip("occurrences:Q", title="Times", format=","),
                 alt.Tooltip("customers:Q", title="Customers", format=","),
                 alt.Tooltip("share_of_points:Q", title="Share of points", format=".1%")],
    ).properties(height=280, title="What the score is made of")


def channel_engagement_chart(frame: pd.DataFrame) -> alt.HConcatChart:
    """Click rate and click-to-purchase conversion per channel, side by side, each with its 95 % Wilson interval."""
    panels = []
    for rate, title, n in (("click_rate", "Recipients who clicked", "recipients"),
                           ("conversion_rate", "Clicks followed by a purchase", "clicks")):
        data = frame[["channel", rate, f"{rate}_ci_low", f"{rate}_ci_high", n]].rename(columns={
            rate: "rate", f"{rate}_ci_low": "ci_low", f"{rate}_ci_high": "ci_high", n: "n"})
        base = alt.Chart(data).encode(y=alt.Y("channel:N", title=None))
        bars = base.mark_bar(height=22, color="#1f77b4").encode(
            x=alt.X("rate:Q", title=title, axis=alt.Axis(format=".0%")),
            tooltip=["channel:N", alt.Tooltip("rate:Q", title=title, format=".1%"),
                     alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".1%"),
                     alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".1%"),
                     alt.Tooltip("n:Q", title="n", format=",")],
        )
        whiskers = base.mark_errorbar(ticks=True, color="black").encode(
            x=alt.X("ci_low:Q", title=title), x2="ci_high:Q",
            tooltip=[alt.Tooltip("channel:N", title="Channel"), *bound_tooltips("ci_low", "ci_high", ".1%")])
        panels.append((bars + whiskers).properties(width=420, height=36 * max(1, len(data)) + 20, title=title))
    return alt.hconcat(*panels).properties(
        title=alt.TitleParams("Channel engagement: clicks and conversion, not opens", subtitle="whiskers: 95 % Wilson CI"))
