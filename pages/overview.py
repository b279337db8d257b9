"""Overview: the headline engagement KPIs for the selected period, against the period before."""

import streamlit as st

from engagement import charts, ui
from engagement.value.kpis import aov_by_month, overview_kpis
from engagement.notebook.export import LibraryCall

filters = ui.current_filters()
previous = filters.previous_period()

st.title("Overview")
st.caption(
    f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days:,} days), compared with "
    f"{previous.start:%d %b %Y} – {previous.end:%d %b %Y}. Hover a number for its definition."
)

kpis = ui.view_data(overview_kpis, filters)
for row in (kpis[:3], kpis[3:]):
    for column, kpi in zip(st.columns(3), row):
        delta = None
        if kpi.previous_n and kpi.value == kpi.value and kpi.previous_value == kpi.previous_value:
            delta = ui.format_value(kpi.change, "score" if kpi.unit == "score" else kpi.unit)
            if kpi.unit == "share":
                delta = f"{kpi.change * 100:+.1f} pts"
        color = "inverse" if kpi.key == "median_days_between_orders" else "normal"
        if delta is not None and ui.rounds_to_zero(kpi.change, kpi.unit):
            color = "off"  # an unchanged figure is neither good nor bad news
        column.metric(
            ui.plain(kpi.label), ui.format_value(kpi.value, kpi.unit), delta=delta, help=ui.plain(kpi.definition),
            delta_color=color,
            border=True,
        )
        interval = (
            f"95 % CI {ui.format_value(kpi.ci_low, kpi.unit)} to {ui.format_value(kpi.ci_high, kpi.unit)} · "
            if kpi.ci_low == kpi.ci_low else ""
        )
        column.caption(f"{ui.plain(interval)}n = {kpi.n:,} · before: {ui.format_value(kpi.previous_value, kpi.unit)} "
                       f"(n = {kpi.previous_n:,})")

monthly = ui.view_data(aov_by_month, filters)
if monthly.empty:
    st.warning("No purchases in this period and selection. Widen the date range or clear the filters.")
else:
    left, right = st.columns(2)
    left.altair_chart(charts.aov_trend_chart(monthly), width="stretch")
    right.altair_chart(charts.monthly_revenue_chart(monthly), width="stretch")
    with st.expander("Monthly figures"):
        st.dataframe(monthly.drop(columns=["order_value_sd"]), hide_index=True, width="stretch")
        ui.download_csv(monthly, "aov_by_month.csv")

ui.view_exports(ui.view_recipe(
    "Overview KPIs", LibraryCall.of(overview_kpis, filters, result_name="kpis", note="Headline KPIs"),
    LibraryCall.of(aov_by_month, filters, result_name="monthly", note="Average order value by month"),
    filters=filters, description="The headline engagement KPIs against the period before, and monthly AOV.",
))
