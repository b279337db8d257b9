"""Methodology: every shared metric's definition, interval and source, rendered from the registry in the app."""

import streamlit as st

from engagement import metrics, ui
from engagement.leadership.summary import CHANGE_METHODS

ui.current_filters()  # inside the app shell, like every page

st.title("Methodology")
st.markdown("How each number on these pages is defined and how its uncertainty is computed. The same "
            "definitions are printed by the command line and kept in `docs/metrics.md`; they all come from one "
            "registry (`engagement/metrics.py`), so they cannot drift apart.")

UNITS = {"share": "a share (%)", "money": "money (in the orders' currency)", "days": "days", "score": "a score from -100 to +100",
         "p": "a p-value"}
# One block per metric, not a table: a table cuts long definitions off at the column's width.
for m in metrics.METRICS.values():
    st.markdown(f"**{ui.plain(m.label)}**: {ui.plain(m.formula)}.")
    st.caption(ui.plain(f"Unit: {UNITS.get(m.unit, m.unit)} · 95 % interval: {m.interval_method} · "
                        f"{CHANGE_METHODS.get(m.key, 'Not compared between periods.')} · "
                        f"Computed by {m.computed_by} (key {m.key})"))

st.subheader("How metrics relate")
for m in metrics.METRICS.values():
    if m.relates_to:
        st.markdown(f"**{ui.plain(m.label)}**: {ui.plain(m.relates_to)}")

st.subheader("How headlines are worded")
st.markdown(
    "- A number **rose** or **fell** only when the 95 % interval of its change lies entirely above or below zero.\n"
    "- Otherwise the headline says it is **about the same, within what chance explains**, and quotes the interval.\n"
    "- A figure without an interval (revenue from returning customers) is given with its change, and the "
    "headline says the change cannot be judged against chance.\n"
    "- The Summary compares with the **same period last year** when the data covers it (seasonality makes "
    "December against November meaningless), else with the period just before, and says which.\n"
    "- A comparison period is used only when the data covers it from its first day: a period the data starts "
    "inside holds a few days of buying, not a period's worth, so it is not compared and the page says why.")
