"""Engagement Workbench: the router. Sign-in gate, shared sidebar filters, page groups, nothing else."""

import streamlit as st

from engagement import ui

st.set_page_config(page_title="Engagement Workbench", page_icon="📈", layout="wide")

pages = {
    "Overview": [
        # Leadership's page first; analysts' Overview stays the default (a read-only leadership link can name
        # /summary, and the Overview is where an analyst checks a load).
        st.Page("pages/summary.py", title="Summary", icon=":material/summarize:"),
        # The default page is served at "/" (url_path "" here frees "overview" for the alias): /overview, which a
        # person types by analogy with /cohorts, opens it too instead of "Page not found".
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True, url_path=""),
        ui.page_alias("pages/overview.py", "overview"),
    ],
    "Retention": [
        st.Page("pages/cohorts.py", title="Cohorts", icon=":material/grid_on:"),
        st.Page("pages/lifecycle.py", title="Lifecycle", icon=":material/sync_alt:"),
        st.Page("pages/rfm_clv.py", title="RFM and CLV", icon=":material/diamond:"),
    ],
    "Voice & value": [
        st.Page("pages/nps.py", title="NPS and CSAT", icon=":material/reviews:"),
        st.Page("pages/engagement.py", title="Engagement", icon=":material/handshake:"),
        st.Page("pages/roi.py", title="ROI", icon=":material/payments:"),
    ],
    "Experiments": [
        st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
        st.Page("pages/sql_notebook.py", title="SQL notebook", icon=":material/terminal:"),
        st.Page("pages/methodology.py", title="Methodology", icon=":material/menu_book:"),
    ],
}
# One run, one state of the data: a load committed or a snapshot published meanwhile shows from the next run.
with ui.app_run():
    if not ui.has_access():
        # Signed out (or no role): no page runs, but the requested page stays in the address bar for after sign-in.
        st.navigation(pages, position="hidden")
        ui.require_access()

    store = ui.get_store()
    ui.sidebar_identity(store)
    ui.sidebar_database()
    ui.phone_layout()
    ui.money_in_orders_currency(store)
    ui.demo_banner(store)
    ui.sidebar_filters(store)
    ui.sidebar_annotations(store)
    ui.run_page(st.navigation(pages))  # a Spark error shows as a message, not a Java traceback
