"""Lifecycle: which customers are new, loyal, slipping away or gone, and how they move between stages."""

import pandas as pd
import streamlit as st

from engagement import ui
from engagement.notebook.export import LibraryCall
from engagement.charts import lifecycle as lifecycle_charts
from engagement.retention.lifecycle import (
    STAGE_LABELS, STAGES, StageThresholds, current_stages, default_thresholds, month_end_moments,
    purchase_funnel, stage_customers, stage_definitions, stage_sizes, stage_transitions, time_to_second_purchase,
    transition_days,
)
from engagement.retention.cohorts import before_every_window_note, first_purchase_span

filters = ui.current_filters()
defaults = ui.view_data(default_thresholds)
store = ui.get_store()

st.title("Customer lifecycle")
as_of_text = f"{defaults.as_of:%d %b %Y %H:%M}" if defaults.as_of else "–"
st.caption(f"Stages as of the data's latest activity ({ui.plain(as_of_text)}). The sidebar's channel and segment filters "
           "pick the customers; its date range sets the months shown over time and who enters the funnel.")

with st.expander("Stage thresholds", expanded=False):
    st.caption(ui.plain(defaults.explanation))
    a, b, c = st.columns(3)
    with a:
        at_risk_days = ui.synced_number("At risk after (days without a purchase)", key="lifecycle_at_risk_days",
                                        default=defaults.thresholds.at_risk_days, min_value=1, max_value=3650)
    with b:
        lapsed_days = ui.synced_number("Lapsed after (days without a purchase)", key="lifecycle_lapsed_days",
                                       default=defaults.thresholds.lapsed_days, min_value=2, max_value=3650)
    with c:
        vip_percent = ui.synced_number("VIP: top % of buyers by lifetime revenue", key="lifecycle_vip_percent",
                                       default=10, min_value=1, max_value=50)
try:
    thresholds = StageThresholds(at_risk_days=int(at_risk_days), lapsed_days=int(lapsed_days),
                                 vip_top_share=vip_percent / 100)
except ValueError as problem:
    st.warning(f"{ui.plain(problem)} Using the defaults instead.")
    thresholds = defaults.thresholds

# ---------------------------------------------------------------- today's stages
current = ui.view_data(current_stages, filters, thresholds)
definitions = stage_definitions(thresholds)
st.subheader("Stages today")
total = int(current["customers"].sum()) if not current.empty else 0
ui.table(
    pd.DataFrame({
        "Stage": current["stage_label"], "Customers": current["customers"], "Share": current["share"] * 100,
        "95 % CI": [f"{low:.1%} – {high:.1%}" for low, high in zip(current["ci_low"], current["ci_high"])],
        "Definition": [definitions[s] for s in current["lifecycle_stage"]],
    }),
    column_config={"Customers": st.column_config.NumberColumn(format="localized"),
                   "Share": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
                   "Definition": st.column_config.TextColumn(width="large")},
)
st.caption(f"n = {total:,} known customers. Rules apply in this order, first match wins: lapsed, at risk, won "
           "back, VIP, new, repeat. The loyalty tier is today's tier (exports carry no tier history). \"At risk\" "
           "here is a rule on days without a purchase; the churn model's \"likely to churn\" (RFM and CLV page) is "
           "a predicted probability, and the two count different customers.")

# ---------------------------------------------------------------- over time
moments = month_end_moments(filters, defaults.as_of)
sizes = ui.view_data(stage_sizes, filters, thresholds, moments)
if sizes["customers"].sum():
    ui.chart(lifecycle_charts.stage_sizes_chart(sizes, ui.annotations()), key="lifecycle-sizes",
             n=f"n = {int(sizes.groupby('moment_at')['customers'].sum().iloc[-1]):,} customers at the end")

# ---------------------------------------------------------------- transitions
st.subheader("Stage to stage")
month_ends = [day.isoformat() for day in transition_days(defaults)] or [filters.end.isoformat()]
if len(month_ends) < 2:  # one moment (Hillstrom: one week of data): there is no "From" before a "To"
    st.info(ui.plain(f"The data has one moment to compare ({month_ends[0]}): stage to stage needs two, so it shows "
                     "once the data spans a month end."))
else:
    left, right = st.columns(2)
    with left:
        from_text = ui.synced_choice("From (end of day)", month_ends[:-1] or month_ends, key="lifecycle_from",
                                     default=month_ends[max(0, len(month_ends) - 7)])
    with right:
        to_text = ui.synced_choice("To (end of day)", month_ends, key="lifecycle_to", default=month_ends[-1])
    from_day, to_day = pd.Timestamp(from_text).date(), pd.Timestamp(to_text).date()
    if to_day <= from_day:
        st.warning("Pick a 'To' date after the 'From' date.")
    else:
        transitions = ui.view_data(stage_transitions, filters, thresholds, from_day, to_day)
        ui.chart(lifecycle_charts.transition_heatmap(transitions), key="lifecycle-transitions",
                 n=f"n = {int(transitions.frame['customers'].sum()):,} customers")
        st.caption("Each row sums to 100 %: where the customers of that stage on the first date were on the second. "
                   "'Not yet known' are customers who signed up or first bought in between. Hover for counts and CIs.")

# ---------------------------------------------------------------- funnel and time to second purchase
st.subheader("Coming back: the purchase funnel")
min_tenure = ui.synced_number("Only customers whose first purchase was at least this many days ago",
                              key="lifecycle_min_tenure_days", default=90, min_value=0, max_value=3650, step=30)
funnel = ui.view_data(purchase_funnel, filters, int(min_tenure))
if funnel.steps[0].customers:
    ui.chart(lifecycle_charts.funnel_chart(funnel), n=f"n = {funnel.steps[0].customers:,} first-time buyers",
             key="lifecycle-funnel", settings=f"first purchase at least {min_tenure:,} days before the data's end")
    st.caption(f"First purchases from {filters.start:%d %b %Y} to {filters.end:%d %b %Y}, at least {min_tenure:,} "
               "days before the data's end, so recent buyers who had no time to return do not drag the rates "
               "down. Conversion: share of the previous step who made one more purchase (95 % Wilson CI).")
else:
    first_buyer, last_buyer = ui.view_data(first_purchase_span)
    before_window = before_every_window_note((first_buyer, last_buyer), filters)
    if before_window:  # CDNOW's default range: every customer first bought before it
        st.info(ui.plain(f"{before_window} The funnel and the time to a second purchase follow first-time buyers, so "
                         f"start the sidebar's date range on or before {last_buyer:%d %b %Y} to see them."))
        ui.start_range_button(first_buyer, key="lifecycle_widen")
    else:
        st.info("No first purchases in this window old enough for the funnel. Lower the minimum age or widen the "
                "dates.")

km = ui.view_data(time_to_second_purchase, filters)
if km.subjects:
    if km.events:
        ui.chart(lifecycle_charts.time_to_second_purchase_chart(km), n=f"n = {km.subjects:,} first-time buyers",
                 key="lifecycle-km")
    else:
        st.info(f"None of the {km.subjects:,} first-time buyers has bought a second time yet (watched for up to "
                f"{km.follow_up:,.0f} days after their first purchase), so there is no curve to draw.")
    cells = st.columns(5)
    for column, days in zip(cells, (30, 90, 180, 365)):
        share, low, high = km.event_probability_by(days)
        known = km.followed(days)
        column.metric(f"Within {days:,} days", f"{share:.1%}" if known else "–", border=True,
                      help=f"Share of first-time buyers who bought a second time within {days:,} days (Kaplan-Meier).")
        column.caption(f"95 % CI {low:.1%}–{high:.1%}" if known else
                       f"not known yet: no first-time buyer was watched {days:,} days")
    median = f"{km.median:.0f} days" if km.median == km.median else "–"
    cells[4].metric("Median wait", median, border=True,
                    help="Days by which half the first-time buyers have bought a second time (Kaplan-Meier); "
                         "'–' when fewer than half ever come back within the data.")
    cells[4].caption(f"n = {km.subjects:,} first-time buyers, {km.events:,} came back, {km.censored:,} censored")

# ---------------------------------------------------------------- activation
st.subheader("Customer lists for activation")
stage = ui.synced_choice("Stage", list(STAGES), key="lifecycle_list_stage", default="at_risk",
                         format_func=STAGE_LABELS.get)
count = int(current.loc[current["lifecycle_stage"] == stage, "customers"].sum()) if total else 0
st.caption(f"{count:,} customers are {STAGE_LABELS[stage].lower()} today: {ui.plain(definitions[stage])} The file has the "
           "e-mail address and marketing consent where a customers export gave them; import only consenting "
           "customers into your e-mail tool.")
ui.download_csv_on_click(lambda: stage_customers(store, filters, thresholds, stage), f"customers_{stage}.csv",
                         label=f"Download the {count:,} {STAGE_LABELS[stage].lower()} customers (CSV)",
                         key="lifecycle_download_stage")

ui.view_exports(ui.view_recipe(
    "Customer lifecycle",
    LibraryCall.of(current_stages, filters, thresholds, result_name="stages", note="Stages today"),
    LibraryCall.of(stage_sizes, filters, thresholds, moments, result_name="sizes", note="Stage sizes over time"),
    filters=filters), key="lifecycle_export")
