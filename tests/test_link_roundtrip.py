"""A shared link reproduces the numbers, both ways (issue 17).

Session one changes the sidebar filter and one of the page's own widgets, as a reader would; the URL it
writes is then opened in a fresh session, which must show the same metrics and tables. Before this test
only the Engagement page checked its numbers on a reopened link.
"""

from __future__ import annotations


import pytest
from conftest import open_app_page
from streamlit.testing.v1 import AppTest

WIDGET_KINDS = ("radio", "selectbox", "number_input", "segmented_control", "multiselect")

# One page widget per page and the value a reader picks (a non-default one, so the URL must carry it).
PAGE_CHANGES: dict[str, tuple[str, object]] = {
    "pages/overview.py": ("", None),  # the Overview has only the sidebar's filters
    "pages/nps.py": ("nps_view", "Breakdowns"),
    "pages/cohorts.py": ("cohorts_grain", "quarter"),
    "pages/engagement.py": ("engagement_threshold", 10.0),
    "pages/lifecycle.py": ("lifecycle_vip_percent", 20),
    "pages/rfm_clv.py": ("rfm_clv_section", "CLV forecast"),
    "pages/experiments.py": ("experiments_correction", "bh"),
    "pages/roi.py": ("roi_margin", 30.0),
    "pages/data.py": ("", None),  # its widgets only configure an upload; nothing it shows depends on them
    "pages/sql_notebook.py": ("sqlnb_rows", 50),
}
CHANNEL = "referral"  # a demo acquisition channel (engagement/demo.py)


def _widget(at: AppTest, key: str):
    for kind in WIDGET_KINDS:
        for widget in getattr(at, kind):
            if widget.key == key:
                return widget
    raise AssertionError(f"No widget with key {key!r} on the page.")


def _numbers(at: AppTest) -> dict[str, object]:
    """What a reader compares: every metric card and every table, in page order."""
    return {
        "metrics": [(m.label, m.value, m.delta) for m in at.metric],
        "tables": [frame.value.to_csv(index=False) for frame in at.dataframe],
    }


def _url(at: AppTest) -> dict[str, str]:
    return {key: (value[0] if isinstance(value, list) else value) for key, value in at.query_params.items()}


@pytest.mark.parametrize("page", sorted(PAGE_CHANGES))
def test_a_changed_page_reopened_from_its_url_shows_the_same_numbers(page, app_env):
    # AppTest runs app.py (and so the sidebar) only on a session's first run; later runs execute the page file
    # alone. The sidebar filter therefore enters through the first URL, as a shared link's does; the sidebar's own
    # URL writing is checked in Chromium (tests/test_browser.py).
    at = open_app_page(page, {"channel": CHANNEL})
    key, value = PAGE_CHANGES[page]
    if key:
        _widget(at, key).set_value(value)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    url = _url(at)
    assert url.get("channel") == CHANNEL
    assert at.session_state["filters"].channels == (CHANNEL,)
    if key:
        assert url.get(key) == str(value), f"changing {key} did not write the URL: {url}"
    reopened = open_app_page(page, url)
    assert reopened.session_state["filters"] == at.session_state["filters"]
    assert _widget(reopened, key).value == value if key else True
    assert _numbers(reopened) == _numbers(at)
