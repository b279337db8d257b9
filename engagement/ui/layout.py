"""The phone layout: CSS that reorders, hides and shows keyed containers below 640 px."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import streamlit as st


# The server never learns the screen's width, so the phone layout is CSS: below Streamlit's own 640 px column
# breakpoint (where st.columns stack), a "phone_first" container moves to the top of the container holding it
# (flex order), "wide_only" blocks hide and "phone_only" blocks show. The CSS is a literal: no data in it.
# Streamlit wraps a keyed container in a layout wrapper: the wrapper is the flex item that moves or hides.
_PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-phone_first_"]) { order: -1; }
  [data-testid="stVegaLiteChart"] { overflow-x: auto; }  /* a chart of fixed width scrolls, not the page */
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-wide_only_"]), [class*="st-key-wide_only_"] {
    display: none !important;
  }
}
@media (min-width: 641px) {
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-phone_only_"]), [class*="st-key-phone_only_"] {
    display: none !important;
  }
}
</style>"""


def phone_layout() -> None:
    """The phone rules above, for every page (app.py calls it on every run, before the page)."""
    st.html(_PHONE_CSS)  # style-only HTML takes no space on the page


@contextmanager
def phone_first(name: str) -> Iterator[None]:
    """A container that a phone shows first among its siblings (wrap both in one ``st.container()``):
    ``with st.container(): cards(); with ui.phone_first("charts"): charts()`` shows the charts above the cards
    on a phone, below them on a wide screen."""
    with st.container(key=f"phone_first_{name}"):
        yield


@contextmanager
def wide_only(name: str) -> Iterator[None]:
    """A container shown on screens wider than 640 px only (a heatmap whose labels a phone cannot fit)."""
    with st.container(key=f"wide_only_{name}"):
        yield


@contextmanager
def phone_only(name: str) -> Iterator[None]:
    """A container shown on screens up to 640 px wide only (the table that replaces a wide chart there)."""
    with st.container(key=f"phone_only_{name}"):
        yield
