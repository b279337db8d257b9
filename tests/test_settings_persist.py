"""Every page keeps its settings when the reader leaves it and comes back (issue 19).

Streamlit forgets a widget's value when a run does not draw it, and a page switch in the browser clears the
URL's query parameters (tests/test_browser_settings.py sees both in Chromium). Here, for one widget per page:
change it, go to another page (the URL cleared, as the browser's navigation does), come back: the widget and
the URL show the changed value.
"""

from __future__ import annotations

import pytest

from conftest import open_app_page
from tests.test_link_roundtrip import PAGE_CHANGES, _url, _widget

CHANGED = {page: change for page, change in PAGE_CHANGES.items() if change[0]}
CHANGED["pages/engagement.py"] = ("engagement_threshold", 12.0)  # the round trip's 10.0 is the default


@pytest.mark.parametrize("page", sorted(CHANGED))
def test_a_changed_setting_is_still_there_after_visiting_another_page(page, app_env):
    key, value = CHANGED[page]
    at = open_app_page(page)
    _widget(at, key).set_value(value)
    at.run()
    assert _url(at).get(key) == str(value)

    away = "pages/data.py" if page == "pages/overview.py" else "pages/overview.py"
    at.switch_page(away)
    at.query_params.clear()  # what the browser's page switch does to the address bar
    at.run()
    assert key not in _url(at)
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _widget(at, key).value == value, f"{key} went back to its default"
    assert _url(at).get(key) == str(value)


def test_a_shared_link_still_wins_over_what_the_session_remembers(app_env):
    """The session remembers weekly cohorts; a link that says quarterly, opened in the same session, shows
    quarterly (the link is what its sender saw)."""
    at = open_app_page("pages/cohorts.py")
    _widget(at, "cohorts_grain").set_value("week")
    at.run()
    for _ in range(2):  # away and back: weekly is remembered
        at.switch_page("pages/overview.py")
        at.query_params.clear()
        at.run()
        at.switch_page("pages/cohorts.py")
        at.run()
        assert _widget(at, "cohorts_grain").value == "week"
    at.switch_page("pages/overview.py")
    at.query_params.clear()
    at.run()
    at.query_params["cohorts_grain"] = "quarter"
    at.switch_page("pages/cohorts.py")
    at.run()
    assert _widget(at, "cohorts_grain").value == "quarter"
