"""End-to-end: the real app in headless Chromium, as a person uses it.

Starts `streamlit run app.py` on a free local port against a fresh copy of the demo database, visits
every page, uploads an export, and opens a shared link in a new browser context. Screenshots of every
page are written to tests/screenshots/ for people to look at (never compared pixel by pixel).
"""

from __future__ import annotations

import re
from conftest import wait_rendered
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
PAGES = re.findall(r'st\.Page\("pages/([^"]+)\.py"', (ROOT / "app.py").read_text(encoding="utf-8"))

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(demo_db_path, tmp_path_factory, streamlit_app):
    db = tmp_path_factory.mktemp("browser") / "engagement.duckdb"
    shutil.copy(demo_db_path, db)
    with streamlit_app({"ENGAGEMENT_DB": str(db), "ENGAGEMENT_READ_ONLY": ""}) as url:
        yield url


def load_orders_on_data_page(page, app_url: str, export: Path) -> None:
    """Load an orders export through the Data page's single-file uploader, as a person does; no error shown."""
    page.goto(f"{app_url}/data")
    wait_rendered(page)
    page.locator('input[type="file"]:not([multiple])').set_input_files(str(export))
    page.get_by_role("button", name="Validate and load into orders").click()
    page.locator('[data-testid="stAlertContentSuccess"]').wait_for(timeout=120_000)
    wait_rendered(page)
    _assert_no_error(page, "data")


def _assert_no_error(page, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_its_chart(app_url, browser, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    path = "" if name == "overview" else name
    page.goto(f"{app_url}/{path}")
    wait_rendered(page)
    if name not in ("data", "sql_notebook", "methodology"):
        # Wait for what the page must show, not for a quiet spell: on a busy machine the status
        # widget can go quiet for two seconds between reruns before the chart arrives.
        page.wait_for_selector(".vega-embed", timeout=90_000)
    _assert_no_error(page, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if name not in ("data", "sql_notebook", "methodology"):
        assert page.locator(".vega-embed").count() > 0, f"{name} shows no chart"
    page.close()


def test_overview_opens_at_its_own_path_too(app_url, browser):
    """/overview (as /cohorts names Cohorts) opens the Overview with the link's settings, not "Page not found"."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{app_url}/overview?start=2025-01-01")
    wait_rendered(page)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("h1").first.inner_text() == "Overview"
    assert "start=2025-01-01" in page.url
    _assert_no_error(page, "overview")
    page.close()


def test_overview_kpis_rendered(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(app_url)
    wait_rendered(page)
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.nth(5).wait_for(timeout=90_000)  # what the page must show, not a quiet spell (see above)
    assert metrics.count() >= 6
    assert "Repeat purchase rate" in page.inner_text("body")
    assert "demo data" in page.inner_text("body")
    page.close()


def test_shared_link_reopens_same_filters(app_url, browser):
    """A copied URL opened in a fresh browser context (another person) applies the same filters."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(f"{app_url}/?start=2026-01-01&end=2026-03-31&channel=referral")
    wait_rendered(page)
    page.get_by_text("01 Jan 2026 – 31 Mar 2026", exact=False).wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').get_by_text("referral").wait_for(timeout=60_000)
    assert "start=2026-01-01" in page.url and "channel=referral" in page.url
    context.close()


def _aov_orders(page) -> int:
    """The order count behind the Overview's average order value (its caption: 'n = 15,256 · ...')."""
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Average order value")
    caption = metric.locator("xpath=ancestor::div[contains(@class, 'stVerticalBlock')][1]").inner_text()
    return int(re.search(r"n = ([\d,]+)", caption).group(1).replace(",", ""))


def test_upload_through_data_page_shows_in_overview(app_url, browser, demo_db_path, tmp_path):
    """An analyst uploads an orders export on the Data page; the Overview then counts the new orders."""
    import duckdb

    with duckdb.connect(str(demo_db_path), read_only=True) as con:
        customer_id, last_day = con.execute(
            "SELECT customer_id, (SELECT max(ordered_at)::date FROM orders) FROM customers ORDER BY customer_id LIMIT 1"
        ).fetchall()[0]
    export = tmp_path / "orders_export.csv"
    export.write_text(
        "order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n"
        + "".join(f"#E2E-{i},{customer_id},{last_day} 10:0{i}:00,{50 + i}.00,0,USD,web,paid\n" for i in range(3)),
        encoding="utf-8",
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.goto(app_url)
    wait_rendered(page)
    before = _aov_orders(page)

    load_orders_on_data_page(page, app_url, export)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "data_after_upload.png"), full_page=True)

    page.goto(app_url)
    wait_rendered(page)
    assert _aov_orders(page) == before + 3
    context.close()
