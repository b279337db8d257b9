"""Cohorts: do customers come back after their first purchase, and what are they worth over time?"""

import pandas as pd
import streamlit as st

from engagement import metrics, ui
from engagement.notebook.export import LibraryCall
from engagement.charts import cohorts as cohort_charts
from engagement.retention.cohorts import (
    GRAINS, METRICS, SPLITS, before_every_window_note, cohort_records, first_purchase_span, matrix_table,
    retention_matrix,
)

filters = ui.current_filters()

st.title("Acquisition cohorts")
st.caption(
    f"Customers grouped by when they first bought, for first purchases from {filters.start:%d %b %Y} to "
    f"{filters.end:%d %b %Y} (widen the sidebar's date range to see older cohorts). Refunded and cancelled "
    "orders are not purchases."
)

left, middle, right = st.columns(3)
with left:
    grain = ui.synced_choice("Cohort by first purchase's", GRAINS, key="cohorts_grain", default="month",
                             widget=st.radio, horizontal=True)
with middle:
    metric = ui.synced_choice("Show", list(METRICS), key="cohorts_metric", default="customers",
                              widget=st.radio, horizontal=True, format_func=lambda m: METRICS[m][1])
with right:
    split = ui.synced_choice("Split cohorts by", list(SPLITS), key="cohorts_split", default="none",
                             format_func=SPLITS.get)

matrix = ui.view_data(retention_matrix, filters, grain, split)
column, label, unit, definition = METRICS[metric]
st.caption(f"**{ui.plain(label)}.** {ui.plain(definition)} Cells a cohort has not lived through yet are blank, not 0 %. "
           "The top row averages all cohorts, weighted by cohort size, over the cells they have completed.")

first_cohort, last_cohort = ui.view_data(first_purchase_span) if matrix.cells.empty else (None, None)
before_window = before_every_window_note((first_cohort, last_cohort), filters)
if before_window:
    # Cohorts are grouped by first purchase: a range after the last one holds none, whatever it holds otherwise.
    st.warning(ui.plain(f"{before_window} Cohorts are grouped by first purchase, so start the sidebar's date range "
                        f"on or before {last_cohort:%d %b %Y} to see them."))
    ui.start_range_button(first_cohort, key="cohorts_widen")
elif matrix.cells.empty:
    st.warning("No cohort in this selection has completed its first period yet. Widen the date range in the "
               "sidebar or clear the channel and segment filters.")
else:
    split_value = None
    if split != "none":
        split_value = ui.synced_choice("Heatmap for", matrix.split_values, key="cohorts_split_value")

    shown = matrix.averages if split_value is None else matrix.averages[matrix.averages["split_value"] == split_value]
    first_return = shown[shown["period_number"] == 1]
    customers = int(shown.loc[shown["period_number"] == 0, "cohort_customers"].sum())
    cohorts_n = int(shown.loc[shown["period_number"] == 0, "cohorts"].sum())
    a, b, c = st.columns(3)
    a.metric("Customers in these cohorts", f"{customers:,}", help="First-time buyers in the cohorts shown.",
             border=True)
    a.caption(f"{cohorts_n:,} cohorts, as of {pd.Timestamp(matrix.as_of):%d %b %Y %H:%M}")
    if not first_return.empty:
        row = first_return.iloc[0]
        b.metric(f"Bought again in {ui.plain(grain)} 1", ui.format_value(row["customer_retention"], "share"), border=True,
                 help="Size-weighted over the cohorts that have completed period 1. " + METRICS["customers"][3])
        b.caption(f"95 % CI {row['ci_low']:.1%} to {row['ci_high']:.1%} · n = {int(row['cohort_customers']):,} "
                  f"customers in {int(row['cohorts'])} cohorts")
        # The latest period that at least half of the customers' cohorts have completed (not one lone cohort).
        broad = shown[shown["cohort_customers"] >= 0.5 * customers]
        last = broad[broad["period_number"] == broad["period_number"].max()].iloc[0]
        c.metric(f"Revenue per customer by {ui.plain(grain)} {int(last['period_number'])}", ui.format_value(last["ltv"], "money"),
                 border=True, help="Cumulative net revenue per customer (size-weighted over mature cohorts).")
        c.caption(f"n = {int(last['cohort_customers']):,} customers in {int(last['cohorts'])} cohorts "
                  "old enough to have completed it")

    table = matrix_table(matrix, metric, split_value)
    fmt = "%.1f%%" if unit == "share" else "%s%%.2f%s" % metrics.printf_currency()
    shown_table = table.copy()
    if unit == "share":
        period_columns = [col for col in shown_table.columns if col.startswith(grain)]
        shown_table[period_columns] = shown_table[period_columns] * 100
    table_config = {col: st.column_config.NumberColumn(ui.plain(col.replace("_", " ").capitalize()), format=fmt)
                    for col in shown_table.columns if col.startswith(grain)} | {
                        "cohort_customers": st.column_config.NumberColumn("Cohort size", format="%,d")}
    n, settings = f"n = {customers:,} customers in their cohorts", f"{grain}ly cohorts, split: {split}"
    with ui.wide_only("cohorts_heatmap"):
        ui.chart(cohort_charts.retention_heatmap(matrix, metric, split_value), n=n, key="cohorts-heatmap",
                 settings=settings)
    with ui.phone_only("cohorts_table"):  # a phone cannot fit the heatmap's labels: the same cells as a table
        st.caption("On a narrow screen the heatmap is this table: scroll sideways for later periods. Blank cells: "
                   "the cohort has not completed that period yet.")
        ui.table(shown_table, column_config=table_config | {"cohort": st.column_config.TextColumn("Cohort", pinned=True)})
    if split != "none":
        ui.chart(cohort_charts.split_comparison(matrix, metric), n=n, key="cohorts-split", settings=settings)
    ui.chart(cohort_charts.ltv_curves(matrix, split_value), n=n, key="cohorts-ltv", settings=settings)

    with st.expander("Table view and CSV download"):
        ui.table(shown_table, column_config=table_config)
        st.caption("Blank cells: the cohort has not completed that period yet. Shares as percentages.")
        left, right = st.columns(2)
        with left:
            ui.download_csv(table, f"cohorts_{grain}_{metric}_matrix.csv", label="Download this matrix (CSV)",
                            key="cohorts_download_matrix")
        with right:
            ui.download_csv(pd.DataFrame(cohort_records(matrix, metric)), f"cohorts_{grain}_{metric}_long.csv",
                            label="Download every cell with counts (CSV)", key="cohorts_download_long")

ui.view_exports(ui.view_recipe(
    "Acquisition cohorts", LibraryCall.of(retention_matrix, filters, grain, split, result_name="matrix",
                                          note="Cohort retention matrix"),
    filters=filters), key="cohorts_export")
