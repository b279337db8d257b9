"""Start clean in Chromium (issue 19): a fresh data folder shows the demo; the first upload (a EUR export)
starts the brand's database and the pages show it; the sidebar's switch goes back to the demo and its dates.

Own server on a fresh folder holding only the demo's file (the test session's 5,000-customer demo, copied: the
20,000-customer generation on first open takes half a minute and is not what this checks).
"""

from __future__ import annotations

import shutil

import pytest

from conftest import wait_rendered
from tests.test_browser import SCREENSHOTS, _assert_no_error, load_orders_on_data_page
from tests.test_start_clean import EUR_ORDERS


@pytest.fixture(scope="module")
def fresh_app(demo_db_path, tmp_path_factory, streamlit_app):
    folder = tmp_path_factory.mktemp("fresh") / "data"
    folder.mkdir()
    shutil.copy(demo_db_path, folder / "demo.duckdb")
    env = {"ENGAGEMENT_DB": str(folder / "workbench.duckdb"), "ENGAGEMENT_READ_ONLY": "", "ENGAGEMENT_DEMO_DB": None}
    with streamlit_app(env) as url:
        yield url, folder


def _banner(page) -> bool:
    return page.get_by_text("You are looking at").count() > 0


def _range_end(sidebar) -> str:
    # (the sidebar also holds the annotation form's date input: pick the filter's by its label)
    return sidebar.locator('[data-testid="stDateInput"]').filter(has_text="Date range").locator("input").last \
        .input_value()


def test_first_upload_starts_the_brands_database_and_the_sidebar_switches_back_to_the_demo(fresh_app, browser):
    url, folder = fresh_app
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.goto(url)
    wait_rendered(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert _banner(page) and sidebar.get_by_text("Showing the demo brand").count() == 1
    assert not (folder / "workbench.duckdb").exists()

    export = folder / "shop_orders.csv"
    export.write_text(EUR_ORDERS, encoding="utf-8")
    load_orders_on_data_page(page, url, export)
    database = sidebar.locator('[data-testid="stRadio"]').filter(has_text="Database")
    database.get_by_role("radio", name="Your brand").wait_for(state="attached", timeout=60_000)
    assert database.get_by_role("radio", name="Your brand").is_checked()
    assert "workbench.duckdb" in sidebar.inner_text()
    assert (folder / "workbench.duckdb").exists()

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_url("**db=brand**", timeout=60_000)
    wait_rendered(page)
    assert not _banner(page)  # the brand's own numbers, no demo notice
    assert _range_end(sidebar) == "2026-04-12"  # the brand's last order, not the demo's
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overview_brand_database.png"), full_page=True)

    database.get_by_text("Demo brand", exact=True).click()
    page.wait_for_url("**db=demo**", timeout=60_000)
    wait_rendered(page)
    assert _banner(page)
    assert database.get_by_role("radio", name="Demo brand").is_checked()
    assert _range_end(sidebar) == "2026-10-31"  # the demo's own range again
    _assert_no_error(page, "overview")
    context.close()
