"""Hostile text in the data never reaches the browser as markup: headless Chromium on every page.

The app runs on the database of tests/hostile_fixture.py, whose survey comments, channels, experiment
ids, variant names, programme names, file names, notebook title and column names hold markdown and HTML
that would fetch from or link to ``evil.example``. Every request the pages make is watched (and any to
another host refused); the rendered DOM must hold no link to that host and no image from it, and the
hostile text must show literally. Screenshots go to tests/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

import pytest
from engagement.ui import WORD_JOINER
from hostile_fixture import HOST, NOTEBOOK_NAME, build_hostile_db
from conftest import wait_rendered
from test_browser import PAGES, ROOT, SCREENSHOTS, _assert_no_error

pytestmark = pytest.mark.browser

# Branches of pages that show more data than their default view does.
EXTRA_VIEWS = [
    "nps?nps_view=Comment+themes", "nps?nps_view=Compare+two+groups&nps_compare_by=touchpoint",
    "nps?nps_view=Close+the+loop", "nps?nps_view=Breakdowns&nps_by=touchpoint",
    "cohorts?cohorts_split=channel", "roi?roi_cost_source=loaded+program_costs",
    "rfm_clv?rfm_clv_section=Churn+risk", f"sql_notebook?notebook={quote(NOTEBOOK_NAME)}",
]
# A link that crashed the page before query parameters were validated.
CRASHED_BEFORE = "cohorts?cohorts_grain=x"


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory, streamlit_app):
    db = build_hostile_db(tmp_path_factory.mktemp("hostile") / "engagement.duckdb")
    with streamlit_app({"ENGAGEMENT_DB": str(db), "ENGAGEMENT_READ_ONLY": ""}) as url:
        yield url


def _visit(browser, base: str, path: str, screenshot: str | None = None):
    """Open ``path``; return the page and every URL it asked for on another host (each refused)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    foreign: list[str] = []
    app_host = urlsplit(base).netloc

    def guard(route):
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == app_host:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("request", lambda request: None if urlsplit(request.url).netloc in (app_host, "")
            else foreign.append(request.url))
    page.goto(f"{base}/{path}")
    wait_rendered(page)
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    return context, page, foreign


def _assert_inert(page, foreign: list[str], where: str) -> None:
    assert not foreign, f"{where}: requests to other hosts: {sorted(set(foreign))}"
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")  # resolved URLs
    assert not [h for h in links if HOST in urlsplit(h).netloc], f"{where}: links to {HOST}: {links}"
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.src])")
    assert not [s for s in images if HOST in urlsplit(s[1]).netloc or s[0] == "x"], f"{where}: images: {images}"
    assert not page.locator('[data-testid="stMarkdownContainer"] .katex').count(), f"{where}: $x$ became math"


@pytest.mark.parametrize("path", [("" if p == "overview" else p) for p in PAGES] + EXTRA_VIEWS)
def test_hostile_text_stays_text(hostile_url, browser, path):
    context, page, foreign = _visit(browser, hostile_url, path)
    try:
        if path.startswith("sql_notebook?notebook="):  # one saved cell fails on purpose: its error is shown
            assert not page.locator('[data-testid="stException"]').count(), path
            assert HOST in page.inner_text("body").replace(WORD_JOINER, "")
        else:
            _assert_no_error(page, path)
        _assert_inert(page, foreign, path)
        assert not page.locator('[data-testid="stAppDeployButton"]').count(), "the Deploy button is shown"
    finally:
        context.close()


def test_comments_and_file_names_show_literally(hostile_url, browser):
    """What the viewer reads is the text as written: brackets, stars and tags included."""
    context, page, foreign = _visit(browser, hostile_url, "nps?nps_view=Comment+themes", "hostile_nps_comments.png")
    try:
        # the first theme's expander (the page also has "How this is computed" and others before it)
        page.locator('[data-testid="stExpander"] summary').filter(has_text="comments (").first.click()
        page.wait_for_timeout(500)
        body = page.inner_text("body").replace(WORD_JOINER, "")
        assert f"[Claim your refund](http://{HOST}/phish)" in body
        assert "<img src=x onerror=alert(1)>" in body and "**bold** $x$ :red[hi]" in body
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "hostile_nps_comments.png"), full_page=True)
        _assert_inert(page, foreign, "nps comments")
    finally:
        context.close()
    context, page, foreign = _visit(browser, hostile_url, "data", "hostile_data.png")
    try:
        assert f"orders ![u](https:{HOST}) [refund](https:{HOST}) <b>b **bold** $x$ :red[hi].csv" \
            in page.inner_text("body").replace(WORD_JOINER, "")
        _assert_inert(page, foreign, "data")
    finally:
        context.close()


def test_a_link_that_crashed_shows_the_page_with_a_notice(hostile_url, browser):
    context, page, foreign = _visit(browser, hostile_url, CRASHED_BEFORE, "hostile_crashed_link.png")
    try:
        _assert_no_error(page, CRASHED_BEFORE)
        body = page.inner_text("body")
        assert "This link's value for cohorts_grain ('x') is not one this page knows; showing 'month' instead." in body
        assert "Traceback" not in body and str(ROOT) not in body
    finally:
        context.close()
