"""Page settings survive navigation, in Chromium (issue 19).

A reader leaves Cohorts on weekly cohorts, looks at the Overview through the sidebar's navigation and comes
back: the radio still says weekly and the address bar still carries ``cohorts_grain=week`` (the link to share
is what the page shows). The same for a number input on another page. This module starts its own server.
"""

from __future__ import annotations

from conftest import wait_rendered
from tests.test_browser import SCREENSHOTS, _assert_no_error, app_url  # noqa: F401 - the fixture is shared


HEADINGS = {"Overview": "Overview", "Cohorts": "Acquisition cohorts", "Lifecycle": "Customer lifecycle"}


def _navigate(page, title: str) -> None:
    """Click the sidebar's navigation link (a client-side page switch, not a new page load)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    heading = HEADINGS[title]
    page.wait_for_function(f"() => [...document.querySelectorAll('h1')].some(h => h.innerText.startsWith({heading!r}))",
                           timeout=90_000)
    wait_rendered(page)


def _radio_checked(page, label: str) -> bool:
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Cohort by first purchase's")
    return radio.get_by_role("radio", name=label, exact=True).is_checked()


def test_cohorts_grain_and_a_lifecycle_number_survive_leaving_and_coming_back(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(f"{app_url}/cohorts")
    wait_rendered(page)
    page.locator('[data-testid="stRadio"]').filter(has_text="Cohort by first purchase's").get_by_text(
        "week", exact=True).click()
    page.wait_for_url("**cohorts_grain=week**", timeout=60_000)
    wait_rendered(page)
    assert _radio_checked(page, "week")

    _navigate(page, "Overview")
    assert "cohorts_grain" not in page.url  # the Overview's link carries only its own settings
    _navigate(page, "Cohorts")
    assert _radio_checked(page, "week"), "the grain went back to its default after navigating"
    assert "cohorts_grain=week" in page.url
    _assert_no_error(page, "cohorts")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cohorts_after_navigation.png"), full_page=True)

    # A number input on another page, changed by typing, as a reader would.
    _navigate(page, "Lifecycle")
    box = page.get_by_label("Only customers whose first purchase was at least this many days ago")
    box.fill("120")
    box.press("Enter")
    page.wait_for_url("**lifecycle_min_tenure_days=120**", timeout=60_000)
    wait_rendered(page)
    _navigate(page, "Cohorts")
    assert _radio_checked(page, "week") and "cohorts_grain=week" in page.url
    _navigate(page, "Lifecycle")
    assert page.get_by_label("Only customers whose first purchase was at least this many days ago").input_value() == "120"
    assert "lifecycle_min_tenure_days=120" in page.url
    _assert_no_error(page, "lifecycle")
    context.close()
