"""Engagement: who engages through what they do (not what they open), and what engaged customers are worth."""

import pandas as pd
import streamlit as st

from engagement import ui
from engagement.leadership.headlines import segment_sentence
from engagement.notebook.export import LibraryCall
from engagement.charts import engagement as charts
from engagement.value.engagement_score import (
    BEHAVIOURS, CIRCULARITY_NOTE, DEFAULT_THRESHOLD, PURCHASES_ONLY_NOTE, REVENUE_SHARE_DEFINITION, SCORE_DEFINITION,
    EngagementWeights,
    channel_engagement, comparisons_as_records, engagement_view,
)

filters = ui.current_filters()
st.title("Engagement")
headline_slot = st.container()  # filled once the weights below are read: the headline comes first on the page
st.caption(f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days:,} days). {SCORE_DEFINITION}")

defaults = EngagementWeights()
with st.expander("Score weights and the engaged threshold (editable; kept in the link)", expanded=False):
    columns = st.columns(4)
    values = {}
    for i, (name, label) in enumerate(BEHAVIOURS.items()):
        with columns[i % 4]:
            values[name] = ui.synced_number(f"{ui.plain(label)}: points each", key=f"engagement_w_{name}",
                                            default=float(getattr(defaults, name)), min_value=0.0, step=0.25)
    with columns[3]:
        threshold = ui.synced_number("Engaged from score", key="engagement_threshold", default=DEFAULT_THRESHOLD,
                                     min_value=0.0, step=1.0, help="A customer is engaged when the score reaches this.")
weights = EngagementWeights(**values)

with st.spinner("Scoring every customer…"):
    view = ui.view_data(engagement_view, filters, weights, threshold)
if view.customers == 0:
    st.warning("No customers in this selection. Widen the date range or clear the filters.")
    st.stop()

repeat, revenue, ltv = view.comparisons
with headline_slot:
    if view.purchases_only:  # no finding to state: engaged means frequent buyer here
        st.warning(PURCHASES_ONLY_NOTE, icon=":material/warning:")
    else:
        ui.headline([segment_sentence(repeat), segment_sentence(revenue)])
share = view.engaged_revenue_share
c1, c2, c3, c4 = st.columns(4)
c1.metric("Engaged customers", f"{view.engaged_customers:,}", border=True,
          help=f"Customers with a score of at least {threshold:g} in the period.")
c1.caption(f"{view.engaged_customers / view.customers:.1%} of n = {view.customers:,} customers")
c2.metric("Engaged share of revenue", ui.format_value(share.value, "share"), border=True,
          help=REVENUE_SHARE_DEFINITION)
c2.caption(f"95 % CI {ui.format_value(share.ci_low, 'share')} to {ui.format_value(share.ci_high, 'share')} · n = {share.n:,}")
c3.metric("LTV ratio, engaged ÷ not", f"{ltv.contrast:,.1f}×" if ltv.contrast == ltv.contrast else "–",
          border=True, help=ui.plain(ltv.definition))
c3.caption(f"95 % CI {ltv.contrast_low:,.1f}× to {ltv.contrast_high:,.1f}× · n = {ltv.engaged.n:,} / {ltv.unengaged.n:,}")
c4.metric("Revenue per customer gap", ui.format_value(revenue.contrast, "money"), border=True, help=ui.plain(revenue.definition))
c4.caption(f"95 % CI {ui.format_value(revenue.contrast_low, 'money')} to "
           f"{ui.format_value(revenue.contrast_high, 'money')} (Welch)")
st.caption(CIRCULARITY_NOTE)

st.subheader("Engaged vs unengaged")
left, middle, right = st.columns(3)
for column, comparison in zip((left, middle, right), view.comparisons):
    ui.chart(charts.segment_comparison_chart(comparison), n=f"n = {view.customers:,} customers",
             key=f"engagement-{comparison.label}", container=column)


def with_interval(value, low, high, unit: str) -> str:
    return f"{ui.format_value(value, unit)} ({ui.format_value(low, unit)} to {ui.format_value(high, unit)})"


def contrast(c) -> str:
    if c.contrast_kind == "ratio":
        return f"{c.contrast:,.2f}× ({c.contrast_low:,.2f}× to {c.contrast_high:,.2f}×)"
    if c.unit == "share":
        return f"{c.contrast * 100:+.1f} pts ({c.contrast_low * 100:+.1f} to {c.contrast_high * 100:+.1f})"
    return with_interval(c.contrast, c.contrast_low, c.contrast_high, "money")


table = pd.DataFrame([{
    "Metric": c.label,
    "Engaged (95 % CI)": with_interval(c.engaged.value, c.engaged.ci_low, c.engaged.ci_high, c.unit),
    "n engaged": c.engaged.n,
    "Unengaged (95 % CI)": with_interval(c.unengaged.value, c.unengaged.ci_low, c.unengaged.ci_high, c.unit),
    "n unengaged": c.unengaged.n,
    "Engaged vs unengaged (95 % CI)": contrast(c),
    "Definition": c.definition,
} for c in view.comparisons])
ui.table(table)
ui.download_csv(pd.DataFrame(comparisons_as_records(view)), "engaged_vs_unengaged.csv")

st.subheader("How the score is made")
left, right = st.columns(2)
ui.chart(charts.score_components_chart(view), n=f"n = {view.customers:,} customers", key="engagement-parts",
         container=left)
ui.chart(charts.score_distribution_chart(view), n=f"n = {view.customers:,} customers", key="engagement-scores",
         container=right)
components = view.components
table_columns = ["label", "weight", "occurrences", "customers", "customer_share", "points", "share_of_points"]
labels = {"label": "Behaviour", "customer_share": "Share of customers", "share_of_points": "Share of points",
          "occurrences": "Times"}  # formats from the registry: shares to one decimal, counts with separators
left, right = st.columns([3, 2])
left.markdown("**Engagement** (scored)")
ui.table(components[components["kind"] == "engagement"][table_columns], labels=labels, container=left)
right.markdown("**Activity** (recorded, never scored: an open or a follow costs the customer nothing)")
ui.table(components[components["kind"] == "activity"][["label", "occurrences", "customers", "customer_share"]],
         labels=labels, container=right)

st.subheader("Channel engagement: clicks and purchases, not opens")
conversion_days = ui.synced_number("A click converts when a purchase follows within (days)", key="engagement_conversion_days",
                                   default=7, min_value=1, max_value=90, step=1)
with st.spinner("Matching clicks to purchases…"):
    channels = ui.view_data(channel_engagement, filters, conversion_days)
if channels.empty:
    st.info("No messages or clicks in this period and selection.")
else:
    ui.chart(charts.channel_engagement_chart(channels), n=f"n = {int(channels['recipients'].sum()):,} recipients",
             key="engagement-channels")
    ui.table(channels[["channel", "sends", "recipients", "clickers", "click_rate", "clicks", "converted_clicks",
                           "conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high",
                           "orders_after_click", "revenue_after_click", "opens_activity"]],
                 hide_index=True, width="stretch",
                 labels={"opens_activity": "Opens (activity only)"})  # rates to one decimal, as everywhere
    st.caption("Click rate = recipients who clicked / recipients (Wilson 95 % CI). Conversion = clicks followed by "
               f"a purchase within {conversion_days:,} days / clicks. Opens are shown for reference and never rank a channel.")
    ui.download_csv(channels, "channel_engagement.csv")

with st.expander("Most engaged customers (top 5,000)"):
    top = view.top_customers
    ui.table(top.head(200))
    ui.download_csv(top, "engagement_scores_top5000.csv")

ui.view_exports(ui.view_recipe(
    "Engagement", LibraryCall.of(engagement_view, filters, weights, threshold, result_name="view",
                                 note="Engaged vs unengaged"),
    filters=filters), key="engagement_export")
