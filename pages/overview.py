"""Overview: the headline engagement KPIs for the selected period, against the period before."""

import streamlit as st

from engagement import charts, metrics, ui
from engagement.leadership.headlines import headline
from engagement.leadership.summary import CHANGE_METHODS, leadership_summary
from engagement.value.kpis import aov_by_month, overview_kpis
from engagement.notebook.export import LibraryCall

filters = ui.current_filters()
previous = filters.previous_period()

st.title("Overview")
# The headline reads this page's own numbers: the window and the period just before it, as the cards compare.
ui.headline(headline(ui.view_data(leadership_summary, filters, "previous", models=False),
                     keys=("repeat_purchase_rate", "nps", "active_loyalty_members_90d", "average_order_value")))
kpis = ui.view_data(overview_kpis, filters)
previous_dates = f"{previous.start:%d %b %Y} – {previous.end:%d %b %Y}"
compared = f"not compared with the period before ({previous_dates})" if kpis[0].previous_note else \
    f"compared with {previous_dates}"
st.caption(ui.plain(f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days:,} days), {compared}. "
                    "Hover a number for its definition."))

# The segment filter selects customers by their lifecycle stage today (customer_summary), not the stage they had
# in each window: comparing windows would compare different kinds of customers (today's at-risk customers were
# repeat buyers before they lapsed: "repeat rate -42 pts" on the demo), so no change is shown then.
compare = not filters.segments
if filters.segments:
    st.info("The segment filter uses each customer's lifecycle stage today, not the stage they had in the period, "
            "so changes against the period before are not shown: they would compare what today's "
            f"{ui.plain(', '.join(filters.segments))} customers did before they reached that stage.")

if compare and kpis[0].previous_note:
    compare = False
    st.info(ui.plain(f"Not compared with the period before: {kpis[0].previous_note}. Pick a later start date in "
                     "the sidebar to compare like with like."), icon=":material/info:")
body = st.container()  # the cards, then the charts; a phone shows the charts first (six cards fill its screen)
for row in (kpis[:3], kpis[3:]):
    for column, kpi in zip(body.columns(3), row):
        delta = None
        if compare and kpi.previous_n and kpi.value == kpi.value and kpi.previous_value == kpi.previous_value:
            delta = metrics.format_change(kpi.key, kpi.change)  # the registry's rounding, as on every page
        color = "inverse" if kpi.key == "median_days_between_orders" else "normal"
        unchanged = delta is not None and metrics.change_rounds_to_zero(kpi.key, kpi.change)
        if unchanged:
            color = "off"  # an unchanged figure is neither good nor bad news, and points neither up nor down
        column.metric(
            ui.plain(kpi.label), metrics.format_value(kpi.key, kpi.value), delta=delta, help=ui.plain(kpi.definition),
            delta_color=color, delta_arrow="off" if unchanged else "auto",
            border=True,
        )
        interval = (
            f"95 % CI {ui.format_value(kpi.ci_low, kpi.unit)} to {ui.format_value(kpi.ci_high, kpi.unit)} · "
            if kpi.ci_low == kpi.ci_low else ""
        )
        before = (f" · before: {metrics.format_value(kpi.key, kpi.previous_value)} (n = {kpi.previous_n:,})"
                  if compare else "")
        column.caption(f"{ui.plain(interval)}n = {kpi.n:,}{ui.plain(before)}")

monthly = ui.view_data(aov_by_month, filters)
if monthly.empty:
    body.warning("No purchases in this period and selection. Widen the date range or clear the filters.")
else:
    notes, n = ui.annotations(), f"n = {int(monthly['orders'].sum()):,} orders"
    with body, ui.phone_first("overview_charts"):
        left, right = st.columns(2)
    ui.chart(charts.aov_trend_chart(monthly, notes), n=n, key="overview-aov", container=left)
    ui.chart(charts.monthly_revenue_chart(monthly, notes), n=n, key="overview-revenue", container=right)
    with st.expander("Monthly figures"):
        ui.table(monthly.drop(columns=["order_value_sd"]), units={"ci_low": "money", "ci_high": "money"})
        ui.download_csv(monthly, "aov_by_month.csv")

ui.how_computed([
    *[f"{metrics.metric(k.key).label}: {metrics.metric(k.key).interval_method} for the period's value. "
      f"{CHANGE_METHODS[k.key]}" for k in kpis],
    "Each card compares with the period of the same length just before; the Summary page also compares with "
    "the same period last year.",
])
ui.view_exports(ui.view_recipe(
    "Overview KPIs", LibraryCall.of(overview_kpis, filters, result_name="kpis", note="Headline KPIs"),
    LibraryCall.of(aov_by_month, filters, result_name="monthly", note="Average order value by month"),
    filters=filters, description="The headline engagement KPIs against the period before, and monthly AOV.",
))
