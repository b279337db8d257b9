"""Charts of the RFM and CLV page: functions ``result -> alt.Chart``, no Streamlit calls."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement.charts.bounds import bound_tooltips

from engagement.retention.churn import ChurnModelResult
from engagement.retention.clv import ClvResult, HoldoutCheck
from engagement.retention.rfm import RfmSegments


def rfm_segment_chart(result: RfmSegments) -> alt.Chart:
    """Share of customers and share of revenue per segment, side by side."""
    frame = result.segments.melt(
        id_vars=["label", "customers", "revenue", "revenue_per_customer", "definition"],
        value_vars=["customer_share", "revenue_share"], var_name="measure", value_name="share",
    )
    frame["measure"] = frame["measure"].map({"customer_share": "Customers", "revenue_share": "Revenue"})
    order = result.segments.sort_values("revenue", ascending=False)["label"].tolist()
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("label:N", sort=order, title=None),
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of the selection"),
        yOffset=alt.YOffset("measure:N"),
        color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[
            alt.Tooltip("label:N", title="Segment"), alt.Tooltip("measure:N", title="Share of"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("customers:Q", format=",", title="Customers"),
            alt.Tooltip("revenue:Q", format="$,.0f", title="Revenue"),
            alt.Tooltip("revenue_per_customer:Q", format="$,.2f", title="Revenue per customer"),
            alt.Tooltip("definition:N", title="Definition"),
        ],
    ).properties(height=380, title="RFM segments: share of customers vs share of revenue")


def rfm_grid_chart(result: RfmSegments) -> alt.Chart:
    """Recency score x frequency score heatmap of customer counts, labelled with the segment."""
    base = alt.Chart(result.grid).encode(
        x=alt.X("f_score:O", title="Frequency score (5 = most orders)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("r_score:O", sort="descending", title="Recency score (5 = most recent)"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(scheme="blues")),
        tooltip=[
            alt.Tooltip("label:N", title="Segment"), alt.Tooltip("r_score:O", title="R"),
            alt.Tooltip("f_score:O", title="F"), alt.Tooltip("customers:Q", format=",", title="Customers"),
            alt.Tooltip("revenue:Q", format="$,.0f", title="Revenue"),
            alt.Tooltip("average_m_score:Q", format=".2f", title="Average M score"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("customers:Q", format=","))
    return (cells + text).properties(height=300, title="Customers by recency and frequency score")


def holdout_chart(holdout: HoldoutCheck) -> alt.Chart:
    """Mean repeat purchases in the holdout, predicted vs actual, by calibration-period frequency.

    The same check as lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``; the actual
    mean carries its 95 % interval.
    """
    bins = holdout.bins
    order = bins["frequency_label"].tolist()
    long = bins.melt(id_vars=["frequency_label", "customers"], value_vars=["predicted_mean", "actual_mean"],
                     var_name="series", value_name="purchases")
    long["series"] = long["series"].map({"predicted_mean": "Predicted (BG/NBD)", "actual_mean": "Actual"})
    x = alt.X("frequency_label:O", sort=order, title="Repeat purchases in the calibration period",
              axis=alt.Axis(labelAngle=0))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("purchases:Q", title="Mean repeat purchases in the holdout"),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("series:N", legend=None),
        tooltip=[
            alt.Tooltip("frequency_label:O", title="Calibration purchases"), alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("purchases:Q", format=".2f", title="Mean holdout purchases"),
            alt.Tooltip("customers:Q", format=",", title="Customers"),
        ],
    )
    bars = alt.Chart(bins).mark_rule(color="#888").encode(
        x=x, y="actual_ci_low:Q", y2="actual_ci_high:Q",
        tooltip=[alt.Tooltip("frequency_label:O", title="Calibration purchases"),
                 *bound_tooltips("actual_ci_low", "actual_ci_high", ".2f")],
    )
    return (bars + lines).properties(
        height=320, title=f"Calibration vs holdout ({holdout.holdout_days} days): predicted vs actual")


def forecast_bands_chart(result: ClvResult) -> alt.Chart:
    """Customers per probability-alive band, stacked by kind (one purchase day vs repeat customers)."""
    frame = result.forecast_bands.assign(
        band=lambda f: [f"{a:.0%}–{b:.0%}" for a, b in zip(f["probability_alive_from"], f["probability_alive_to"])]
    )
    bands = sorted(frame["band"].unique(), key=lambda b: int(b.split("%")[0]))
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("band:O", sort=bands, title="Probability still active", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("customers:Q", title="Customers"),
        color=alt.Color("customer_kind:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[
            alt.Tooltip("band:O", title="P(alive)"), alt.Tooltip("customer_kind:N", title="Customers"),
            alt.Tooltip("customers:Q", format=",", title="Count"),
            alt.Tooltip("expected_purchases:Q", format=",.1f", title=f"Expected purchases ({result.horizon_days} d)"),
            alt.Tooltip("predicted_revenue:Q", format="$,.0f", title=f"Predicted revenue ({result.horizon_days} d)"),
        ],
    ).properties(height=300, title="Customers by probability of still being active")


def churn_calibration_chart(result: ChurnModelResult) -> alt.Chart:
    """Observed churn vs mean predicted risk per decile (holdout), with the diagonal of perfect calibration."""
    frame = result.calibration
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(
        color="#999", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q", tooltip=alt.value(None))  # a guide, no data
    scale = alt.Scale(domain=[0, 1])
    points = alt.Chart(frame).mark_point(filled=True, size=60).encode(
        x=alt.X("mean_predicted:Q", scale=scale, axis=alt.Axis(format="%"), title="Mean predicted churn risk"),
        y=alt.Y("observed_rate:Q", scale=scale, axis=alt.Axis(format="%"), title="Observed churn (holdout)"),
        tooltip=[
            alt.Tooltip("bin:O", title="Decile"), alt.Tooltip("customers:Q", format=",", title="Customers"),
            alt.Tooltip("mean_predicted:Q", format=".1%", title="Predicted"),
            alt.Tooltip("observed_rate:Q", format=".1%", title="Observed"),
            alt.Tooltip("observed_ci_low:Q", format=".1%", title="Lower 95 % bound"),
            alt.Tooltip("observed_ci_high:Q", format=".1%", title="Upper 95 % bound"),
        ],
    )
    rules = alt.Chart(frame).mark_rule().encode(
        x="mean_predicted:Q", y="observed_ci_low:Q", y2="observed_ci_high:Q",
        tooltip=[alt.Tooltip("bin:O", title="Decile"),
                 *bound_tooltips("observed_ci_low", "observed_ci_high", ".1%")])
    return (diagonal + rules + points).properties(height=320, title="Churn model calibration (holdout deciles)")


def feature_importance_chart(result: ChurnModelResult) -> alt.Chart:
    """Permutation importance: how much holdout AUC drops when a feature is shuffled."""
    return alt.Chart(result.feature_importance).mark_bar().encode(
        y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False)),
        x=alt.X("auc_drop:Q", title="Drop in holdout AUC when shuffled"),
        tooltip=[alt.Tooltip("feature:N"), alt.Tooltip("auc_drop:Q", format=".4f"),
                 alt.Tooltip("auc_drop_sd:Q", format=".4f", title="SD over 3 shuffles")],
    ).properties(height=22 * len(result.feature_importance), title="What drives the churn score")
