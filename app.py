"""Engagement Workbench: the router. Shared sidebar filters, page groups, nothing else."""

import streamlit as st

from engagement import ui

st.set_page_config(page_title="Engagement Workbench", page_icon="📈", layout="wide")

store = ui.get_store()
ui.demo_banner(store)
ui.sidebar_filters(store)

pages = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
    ],
    "Experiments": [
        st.Page("pages/experiments.py", title="Experiments", icon="🧪"),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data", icon="📥"),
        st.Page("pages/sql_notebook.py", title="SQL notebook", icon="🧮"),
    ],
}
st.navigation(pages).run()
