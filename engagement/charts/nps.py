"""NPS and CSAT charts: functions ``result -> alt.Chart`` with no Streamlit calls.

Every score is drawn with its 95 % interval and every tooltip gives n; groups with fewer than
``SMALL_GROUP_MIN`` answers are drawn faded and labelled as small.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement import metrics
from engagement.charts.bounds import LOWER, UPPER, bound_tooltips
from engagement.charts.time_axis import DATE_FORMAT, DAY_FORMAT, annotated, annotation_layers, span, time_x
from engagement.voice.themes import ThemeResult
from engagement.voice.nps import SMALL_GROUP_MIN, BehaviourLink, SurveyScale

CATEGORY_COLOURS = ["#2e7d32", "#9e9e9e", "#c62828"]  # top box, middle, bottom box


def _size_note(frame: pd.DataFrame) -> pd.Series:
    return frame["is_small"].map({True: f"small (n < {SMALL_GROUP_MIN})", False: "ok"})


def score_trend_chart(trend: pd.DataFrame, scale: SurveyScale, grain: str = "month",
                      annotations: pd.DataFrame | None = None) -> alt.LayerChart:
    """Score per period (line) with its 95 % interval (band); small periods drawn as hollow points;
    ``annotations`` drawn as dated rules."""
    data = trend.assign(sample=_size_note(trend))
    period_title = grain.capitalize() + (" (starting)" if grain == "week" else "")
    x = time_x("period", data["period"], period_title)
    period_format = DAY_FORMAT if grain == "week" else DATE_FORMAT
    score_format = "+.1f" if scale.kind == "nps" else ".1f"
    base = alt.Chart(data).encode(x=x)
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("ci_low:Q", title=f"{scale.score_label} (band: 95 % CI)", scale=alt.Scale(zero=False)),
        y2="ci_high:Q",
        tooltip=[alt.Tooltip("period:T", title=period_title, format=period_format),
                 *bound_tooltips("ci_low", "ci_high", score_format),
                 alt.Tooltip("responses:Q", title="Answers (n)", format=",")],
    )
    line = base.mark_line().encode(y="score:Q", tooltip=alt.value(None))  # the points carry the tooltips
    points = base.mark_point(size=50, filled=True).encode(
        y="score:Q",
        opacity=alt.Opacity("sample:N", scale=alt.Scale(domain=["ok", f"small (n < {SMALL_GROUP_MIN})"],
                                                         range=[1.0, 0.35]), title="Sample"),
        tooltip=[
            alt.Tooltip("period:T", title=period_title, format=period_format),
            alt.Tooltip("score:Q", title=scale.score_label, format=score_format),
            *bound_tooltips("ci_low", "ci_high", score_format),
            alt.Tooltip("responses:Q", title="Answers (n)", format=","),
            alt.Tooltip("sample:N", title="Sample"),
        ],
    )
    notes = annotation_layers(annotations, *span(data["period"], grain),
                              period_title, x["axis"])
    return annotated([band, line, points], notes, height=300, title=f"{scale.score_label} by {grain} (band: 95 % CI)")


def category_split_chart(trend: pd.DataFrame, scale: SurveyScale, grain: str = "month",
                         annotations: pd.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Share of top box, middle and bottom box answers per period (stacked to 100 %), each bar spanning its
    period; ``annotations`` drawn as dated rules."""
    order = [scale.top_label, scale.middle_label, scale.bottom_label]
    long = trend.melt(id_vars=["period", "responses"], value_vars=["top_share", "middle_share", "bottom_share"],
                      var_name="category", value_name="share")
    long["category"] = long["category"].map(dict(zip(["top_share", "middle_share", "bottom_share"], order)))
    long["order"] = long["category"].map({c: i for i, c in enumerate(order)})
    period_title = grain.capitalize() + (" (starting)" if grain == "week" else "")
    x = time_x("period", long["period"], period_title, time_unit="yearmonth" if grain == "month" else "yearweek")
    bars = alt.Chart(long).mark_bar().encode(
        x=x,
        y=alt.Y("share:Q", title="Share of answers", axis=alt.Axis(format="%"), stack="normalize"),
        color=alt.Color("category:N", title="Answer", scale=alt.Scale(domain=order, range=CATEGORY_COLOURS)),
        order=alt.Order("order:Q"),
        tooltip=[
            alt.Tooltip("period:T", title=period_title, format=DAY_FORMAT if grain == "week" else DATE_FORMAT),
            alt.Tooltip("category:N", title="Answer"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
            alt.Tooltip("responses:Q", title="Answers (n)", format=","),
        ],
    )
    notes = annotation_layers(annotations, *span(long["period"], grain),
                              period_title, x["axis"])
    return annotated([bars], notes, height=300,
                     title=f"{scale.top_label.capitalize()}, {scale.middle_label} and {scale.bottom_label} by {grain}")


def breakdown_chart(frame: pd.DataFrame, scale: SurveyScale, dimension_label: str) -> alt.Chart:
    """Score per group (point) with its 95 % interval (rule), sorted by score; small groups faded."""
    data = frame.assign(sample=_size_note(frame))
    opacity = alt.Opacity("sample:N", scale=alt.Scale(domain=["ok", f"small (n < {SMALL_GROUP_MIN})"],
                                                      range=[1.0, 0.35]), title="Sample")
    # An explicit order: a field sort is dropped when Vega-Lite unions the layers' domains.
    order = list(data.sort_values("score", ascending=False)["group_value"])
    y = alt.Y("group_value:N", title=dimension_label, sort=order)
    base = alt.Chart(data).encode(y=y, opacity=opacity)
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=f"{scale.score_label} (line: 95 % CI)"),
        x2="ci_high:Q",
        tooltip=[alt.Tooltip("group_value:N", title=dimension_label),
                 *bound_tooltips("ci_low", "ci_high", ".1f"),
                 alt.Tooltip("responses:Q", title="Answers (n)", format=",")],
    )
    point = base.mark_point(filled=True, size=80).encode(
        x=alt.X("score:Q", title=f"{scale.score_label} (line: 95 % CI)"),
        tooltip=[
            alt.Tooltip("group_value:N", title=dimension_label),
            alt.Tooltip("score:Q", title=scale.score_label, format=".1f"),
            alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".1f"),
            alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".1f"),
            alt.Tooltip("responses:Q", title="Answers (n)", format=","),
            alt.Tooltip("sample:N", title="Sample"),
        ],
    )
    return (rule + point).properties(height=alt.Step(32), title=f"{scale.score_label} by {dimension_label.lower()}")


def behaviour_chart(link: BehaviourLink, measure: str = "repurchase") -> alt.Chart:
    """Repurchase rate (``measure="repurchase"``) or revenue per customer by answer category, with 95 % CI."""
    frame = link.frame()
    if measure == "repurchase":
        value, low, high, title, fmt = "repurchase_rate", "repurchase_ci_low", "repurchase_ci_high", \
            f"Repurchased within {link.horizon_days} days", ".1%"
        axis = alt.Axis(format="%")
    else:
        value, low, high, title, fmt = "revenue_per_customer", "revenue_ci_low", "revenue_ci_high", \
            metrics.with_currency(f"Revenue per customer in {link.horizon_days} days"), "$,.2f"
        axis = alt.Axis(format="$,.0f")
    order = list(frame["answer"])
    base = alt.Chart(frame).encode(y=alt.Y("answer:N", title=None, sort=order))
    bars = base.mark_bar(opacity=0.8).encode(
        x=alt.X(f"{value}:Q", title=title, axis=axis),
        color=alt.Color("answer:N", scale=alt.Scale(domain=order, range=CATEGORY_COLOURS), legend=None),
        tooltip=[
            alt.Tooltip("answer:N", title="Answer"),
            alt.Tooltip(f"{value}:Q", title=title, format=fmt),
            alt.Tooltip(f"{low}:Q", title="Lower 95 % bound", format=fmt),
            alt.Tooltip(f"{high}:Q", title="Upper 95 % bound", format=fmt),
            alt.Tooltip("customers:Q", title="Customers (n)", format=","),
        ],
    )
    errors = base.mark_rule(color="black", strokeWidth=2).encode(
        x=alt.X(f"{low}:Q", title=title), x2=f"{high}:Q",
        tooltip=[alt.Tooltip("answer:N", title="Answer"), *bound_tooltips(low, high, fmt)])
    # Heights as a step per row: Streamlit drops a fixed height on layered charts with a discrete axis.
    return (bars + errors).properties(height=alt.Step(40), title=f"{title} (black line: 95 % CI)")


def theme_share_chart(result: ThemeResult, colour: str = CATEGORY_COLOURS[2]) -> alt.Chart:
    """Share of one group's comments per theme (bars, largest first) with 95 % Wilson intervals."""
    data = result.frame()
    share_title = "Share of the group's comments"
    base = alt.Chart(data).encode(y=alt.Y("theme:N", title=None, sort=list(data["theme"]),
                                          axis=alt.Axis(labelLimit=260)))
    bars = base.mark_bar(color=colour, opacity=0.85).encode(
        x=alt.X("share:Q", title=share_title, axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
            alt.Tooltip("ci_low:Q", title="Lower 95 % bound", format=".1%"),
            alt.Tooltip("ci_high:Q", title="Upper 95 % bound", format=".1%"),
            alt.Tooltip("comments:Q", title="Comments", format=","),
            alt.Tooltip("top_words:N", title="Top words"),
        ],
    )
    errors = base.mark_rule(color="black", strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=share_title), x2="ci_high:Q",
        tooltip=[alt.Tooltip("theme:N", title="Theme"), *bound_tooltips("ci_low", "ci_high", ".1%")])
    return (bars + errors).properties(
        height=alt.Step(30),
        title=f"n = {result.comments_used:,} comments ({result.unclear:,} unclear)")
