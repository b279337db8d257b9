"""End-to-end: on a brand whose customers all first bought before the sidebar's date range (CDNOW's shape), the
Cohorts page and the Lifecycle funnel say so, and their buttons start the range on the first cohort, in a real
browser (AppTest keeps the date widget's old value across a callback, so it cannot show this)."""

from __future__ import annotations

import pytest

from conftest import wait_rendered
from test_cohorts import early_cohorts_database


@pytest.fixture(scope="module")
def early_url(streamlit_app, tmp_path_factory):
    db = early_cohorts_database(tmp_path_factory.mktemp("early") / "early.duckdb")
    with streamlit_app({"ENGAGEMENT_DB": str(db), "ENGAGEMENT_READ_ONLY": "1"}) as url:
        yield url


@pytest.mark.parametrize("path, said, shown_after", [
    ("cohorts", "No customer made a first purchase between 01 Jun 2025 and 01 Dec 2025", "Customers in these cohorts"),
    ("lifecycle", "The funnel and the time to a second purchase follow first-time buyers", "first-time buyers, "),
])
def test_the_button_starts_the_range_on_the_first_cohort(early_url, browser, path, said, shown_after):
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(f"{early_url}/{path}?start=2025-06-01&end=2025-12-01")
    wait_rendered(page)
    assert page.get_by_text(said).count() == 1
    page.get_by_role("button", name="Start the date range on 05 Jan 2025").click()
    page.get_by_text(shown_after).first.wait_for(timeout=90_000)
    wait_rendered(page)
    assert "start=2025-01-05" in page.url and "end=2025-12-01" in page.url
    assert page.get_by_text(said).count() == 0
    page.close()
