"""Summary for leadership: the few numbers that matter, what changed and whether chance explains it."""

import streamlit as st

from engagement import ui
from engagement.charts.summary import change_chart, change_frame
from engagement.leadership import alerts, headlines, targets
from engagement.leadership.digest import digest_content
from engagement.leadership.summary import CHANGE_METHODS, leadership_summary, period_filters, with_targets
from engagement.notebook.export import LibraryCall

store = ui.warehouse.settings_store(ui.get_store())  # targets and rules (warehouse mode: the workbench's DuckDB)
sidebar = ui.current_filters()

st.title("Summary")
left, right = st.columns(2)
period = ui.synced_choice("Period", ["30", "90", "365", "sidebar"], key="summary_period", default="30",
                          widget=st.segmented_control,
                          format_func=lambda p: "Sidebar dates" if p == "sidebar" else f"Last {p} days")
comparison = ui.synced_choice("Compare with", ["auto", "year", "previous"], key="summary_compare", default="auto",
                              widget=st.segmented_control, format_func={
                                  "auto": "Last year when covered", "year": "Same period last year",
                                  "previous": "Period before"}.get)
filters = sidebar if period == "sidebar" else ui.view_data(period_filters, int(period or 30), sidebar.channels,
                                                           sidebar.segments)
set_targets = targets.targets(store)  # read every run: a target saved now shows at once
summary = with_targets(ui.view_data(leadership_summary, filters, comparison or "auto"), set_targets)

ui.headline(headlines.headline(summary))
st.caption(ui.plain(f"{headlines.period_phrase(summary)}. {summary.comparison_note} Colour marks a change beyond "
                    "chance; grey, one within what chance explains."))
# The chart before the cards: on a phone the cards stack, and the picture should come first.
if not change_frame(summary).empty:
    st.altair_chart(change_chart(summary), width="stretch")
ui.summary_cards(summary)


def summary_for(days: int):
    return with_targets(ui.view_data(leadership_summary, ui.view_data(period_filters, days)), set_targets)


st.subheader("Alerts")
results = alerts.evaluate_all(store, summary_for=summary_for)
ui.triggered_alerts(results)

content = digest_content(summary, results)
st.subheader("The numbers against both comparisons")
st.dataframe([dict(zip(content.columns, row)) for row in content.rows], hide_index=True, width="stretch")

st.subheader("Latest experiments")
if not summary.experiments:
    st.caption("No experiments loaded.")
for experiment in summary.experiments:
    st.markdown(f"**{ui.plain(experiment['name'])}**: {ui.plain(headlines.experiment_phrase(experiment))}.")
    st.caption(ui.plain(experiment["verdict"]))

st.subheader("Go deeper")
links = st.columns(5)
for column, (page, label) in zip(links, [("pages/overview.py", "Overview"), ("pages/cohorts.py", "Cohorts"),
                                         ("pages/nps.py", "NPS and CSAT"), ("pages/rfm_clv.py", "RFM and CLV"),
                                         ("pages/experiments.py", "Experiments")]):
    column.page_link(page, label=ui.plain(label))

ui.leadership_settings(store, summary)
ui.how_computed([
    "The period ends on the last order date in the data (not today), so a digest of an export reads the same later.",
    "The same period last year is the default comparison when the data reaches back that far: for a seasonal "
    "business December against November says little.",
    *[f"{number.label}: {CHANGE_METHODS[number.key]}" for number in summary.shown],
    "A change is 'beyond chance' when its 95 % interval excludes zero; the headline never says 'rose' or 'fell' "
    "otherwise.",
    "The same summary as a file: `python -m engagement digest --period 30d --format pdf --out digest.pdf`.",
])
ui.view_exports(ui.view_recipe(
    "Leadership summary", LibraryCall.of(leadership_summary, filters, comparison or "auto", result_name="summary",
                                         note="The leadership numbers and their changes"),
    filters=filters, description="The Summary page's numbers, their changes and intervals.",
))
