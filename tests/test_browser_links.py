"""A shared link reproduces the numbers on a freshly started server, in Chromium (issue 17).

This module starts its own server (the fixtures are module-scoped), so the first request it gets is the
shared link's: what a colleague sees when the app was just restarted.
"""

from __future__ import annotations

from conftest import wait_rendered
from tests.test_browser import SCREENSHOTS, _assert_no_error, app_url  # noqa: F401 - the fixture is shared


def _cards(page) -> list[str]:
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.nth(5).wait_for(timeout=90_000)
    return [metrics.nth(i).inner_text() for i in range(metrics.count())]


def test_a_filter_changed_in_the_sidebar_writes_the_url_and_a_fresh_context_shows_the_same_cards(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.goto(f"{app_url}/?start=2026-01-01&end=2026-06-30")
    wait_rendered(page)
    before = _cards(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="referral").click()
    page.keyboard.press("Escape")
    page.wait_for_url("**channel=referral**", timeout=60_000)
    wait_rendered(page)
    shared = page.url
    changed = _cards(page)
    assert changed != before  # the filter changed the numbers, so matching below means something
    _assert_no_error(page, "overview")
    context.close()

    other = browser.new_context(viewport={"width": 1400, "height": 1400})  # someone else opens the link
    reopened = other.new_page()
    reopened.goto(shared)
    wait_rendered(reopened)
    assert _cards(reopened) == changed
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reopened.screenshot(path=str(SCREENSHOTS / "overview_shared_link.png"), full_page=True)
    other.close()
