"""The shared sidebar: date range, channel and segment filters (mirrored in the URL) and the annotations."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from engagement.filters import Filters
from engagement.ui import session
from engagement.ui.auth import can_write, current_actor, require_access
from engagement.ui.links import from_query, known_parts
from engagement.ui.session import get_store, view_data
from engagement.ui import warehouse as ui_warehouse
from engagement.ui.text import plain
from engagement.warehouse.access import WriteRefused
from engagement.warehouse.store import Store


def sidebar_filters(store: Store) -> Filters:
    """Shared sidebar: date range, acquisition channel and customer segment, mirrored in the URL."""
    from engagement.value.kpis import data_range, default_filters

    range_ = view_data(data_range)
    defaults = default_filters(range_)
    low = range_.first_order_date or defaults.start
    high = range_.last_order_date or defaults.end
    if st.session_state.get("_filters_database") not in (None, store.path):
        # Another database is shown now (the sidebar's switch, a first upload): the other one's dates and
        # channels mean nothing here, in the session or in the URL.
        for key in ("date_range", "channels", "segments"):
            st.session_state.pop(key, None)
        for key in ("start", "end", "channel", "segment"):
            st.query_params.pop(key, None)
    st.session_state["_filters_database"] = store.path

    if "date_range" not in st.session_state:
        start = from_query("start", date.fromisoformat, defaults.start)
        end = from_query("end", date.fromisoformat, defaults.end)
        start, end = max(min(start, high), low), min(max(end, low), high)
        st.session_state["date_range"] = (start, max(start, end))
    for key, state_key, known in (("channel", "channels", range_.channels), ("segment", "segments", range_.segments)):
        if state_key not in st.session_state:
            st.session_state[state_key] = from_query(key, lambda raw, known=known: known_parts(raw, known), [])

    with st.sidebar:
        st.subheader("Filters")
        picked = st.date_input("Date range", key="date_range", min_value=low, max_value=high,
                               help="Orders and answers in these days (end included). KPIs compare with "
                                    "the same number of days just before.")
        channels = st.multiselect("Acquisition channel", range_.channels, key="channels",
                                  placeholder="All channels")
        segments = st.multiselect("Customer segment (lifecycle stage)", range_.segments, key="segments",
                                  placeholder="All segments")
    # While a range is being picked the widget briefly holds one date.
    start = picked[0] if len(picked) > 0 else defaults.start
    end = picked[1] if len(picked) > 1 else start
    filters = Filters(start=start, end=end, channels=tuple(channels), segments=tuple(segments))
    st.session_state["filters"] = filters
    write_filters_to_url(filters)
    return filters


def start_range_button(day: date, key: str) -> None:
    """A button that starts the sidebar's date range on ``day`` (its end kept): for a page whose view is empty
    because everything it groups by (first purchases) came before the range."""
    def start_on() -> None:
        end = st.session_state["filters"].end
        st.session_state["date_range"] = (day, max(day, end))  # the sidebar's widget, set before it is drawn

    st.button(f"Start the date range on {day:%d %b %Y}", on_click=start_on, key=key)


def write_filters_to_url(filters: Filters) -> None:
    st.query_params["start"] = filters.start.isoformat()
    st.query_params["end"] = filters.end.isoformat()
    for key, values in (("channel", filters.channels), ("segment", filters.segments)):
        if values:
            st.query_params[key] = ",".join(values)
        elif key in st.query_params:
            del st.query_params[key]


def current_filters() -> Filters:
    """The sidebar selection of this run (set by app.py before the page runs)."""
    session.require_app_shell()  # through the module: tests replace it there
    require_access()
    return st.session_state["filters"]


def annotations() -> pd.DataFrame:
    """The annotations dated in the sidebar's date range, for the time-series charts (read on every run:
    a note just added shows at once; the table is a handful of rows)."""
    from engagement.leadership.annotations import list_annotations

    filters = st.session_state.get("filters")
    return list_annotations(ui_warehouse.settings_store(get_store()), filters.start if filters else None,
                            filters.end if filters else None)


def sidebar_annotations(store: Store) -> None:
    """A sidebar expander listing the annotations of the date range; analysts add and remove them here."""
    from engagement.leadership.annotations import AnnotationError, add_annotation, remove_annotation

    notes, store = annotations(), ui_warehouse.settings_store(store)  # warehouse mode: the DuckDB settings file
    with st.sidebar.expander(f"Annotations ({len(notes):,} in range)", icon=":material/bookmark:"):
        st.caption("Dated notes (a campaign launch, a price change, Black Friday) drawn on every time-series "
                   "chart. Also `python -m engagement annotations`.")
        for row in notes.itertuples():
            left, right = st.columns([5, 1])
            left.text(f"{row.noted_on:%d %b %Y}: {row.note}")  # st.text: a note is data, never markdown
            if can_write(store) and right.button("", icon=":material/delete:", help="Remove this annotation",
                                                 key=f"annotation-remove-{row.annotation_id}"):
                try:
                    remove_annotation(store, row.annotation_id, actor=current_actor())
                except (AnnotationError, WriteRefused) as exc:
                    st.error(plain(exc))
                else:
                    st.rerun()
        if not can_write(store):
            st.caption("Only analysts can add annotations (this session cannot write).")
            return
        with st.form("annotation-add", clear_on_submit=True, border=False):
            day = st.date_input("Date", value=None, format="YYYY-MM-DD")
            note = st.text_input("Note", max_chars=200, placeholder="Black Friday sale starts")
            added = st.form_submit_button("Add annotation", icon=":material/add:")
        if added:
            try:
                add_annotation(store, day, note, actor=current_actor())
            except (AnnotationError, WriteRefused) as exc:
                st.error(plain(exc))
            else:
                st.rerun()  # every chart of the page draws it
