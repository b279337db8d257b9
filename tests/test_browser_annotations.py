"""End-to-end (issue 19): an analyst adds an annotation in the sidebar, every time-series chart draws it as text,
a chart exports as an SVG with its stamp, and the annotation is removed again. Screenshots of the pages with the
annotation present go to tests/screenshots/annotations_<page>.png for people to look at."""

from __future__ import annotations

from datetime import timedelta

from engagement.value.kpis import data_range, default_filters
from conftest import wait_rendered
from tests.test_browser import SCREENSHOTS, _assert_no_error, app_url  # noqa: F401 - the fixture is shared

NOTE = "Loyalty relaunch & <i>new</i> tiers"  # markup in a note is text, on charts and in the sidebar
CHART_PAGES = {"overview": "", "lifecycle": "lifecycle", "nps": "nps"}  # pages whose first view has a time axis


def _sidebar_count(page, count: int) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Annotations ({count} in range)").wait_for(timeout=90_000)


def test_annotation_from_the_sidebar_on_every_time_series_chart_and_in_the_export(app_url, browser, demo_store):
    day = default_filters(data_range(demo_store)).start + timedelta(days=75)
    page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page.goto(app_url)
    wait_rendered(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Annotations (").click()
    form = sidebar.locator('[data-testid="stForm"]')
    form.locator('[role="spinbutton"]').first.click()
    page.keyboard.type(day.strftime("%Y%m%d"))
    form.get_by_label("Note").fill(NOTE)
    form.get_by_role("button", name="Add annotation").click()
    sidebar.get_by_text(f"{day:%d %b %Y}: {NOTE}").wait_for(timeout=90_000, state="attached")
    _sidebar_count(page, 1)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("overview", "cohorts", "lifecycle", "nps", "data"):
        page.goto(f"{app_url}/{CHART_PAGES.get(name, name)}")
        wait_rendered(page)
        _sidebar_count(page, 1)
        if name in CHART_PAGES:
            # Streamlit draws Vega charts as SVG: the note is a text node of the chart, drawn as typed.
            page.locator(".vega-embed svg text", has_text="Loyalty relaunch").first.wait_for(timeout=90_000)
        _assert_no_error(page, name)
        page.screenshot(path=str(SCREENSHOTS / f"annotations_{name}.png"), full_page=True)

    page.goto(app_url)
    wait_rendered(page)
    page.get_by_role("button", name="Export chart").first.click()
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="SVG image").first.click()
    assert download.value.suggested_filename == "average-order-value-by-month-band-95-ci.svg"
    svg = open(download.value.path(), encoding="utf-8").read()
    for stamp in ("Average order value by month", "all channels and segments", "orders", "Engagement Workbench"):
        assert stamp in svg, stamp
    assert "Loyalty relaunch &amp; &lt;i&gt;new&lt;/i&gt; tiers" in svg

    page.keyboard.press("Escape")
    sidebar.get_by_text("Annotations (").click()
    sidebar.locator("[class*='st-key-annotation-remove-'] button").first.click()
    _sidebar_count(page, 0)
    page.close()
