"""Sign-in end to end: the real app in headless Chromium against a real OpenID Connect provider on localhost.

The test starts `oidc-provider-mock` (discovery, keys, a login form with one button per predefined user, whose
``--user-claims`` give the e-mail claims) and `streamlit run app.py` with an ``[auth]`` secrets file and a roles
file pointing at it, then signs in as an analyst (``ana``), a viewer (``vic``) and someone unlisted. Screenshots
of the sign-in page, a viewer's Data page and the audit trail go to tests/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from conftest import free_port, wait_for_url, wait_rendered

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
PAGES = re.findall(r'st\.Page\("pages/([^"]+)\.py"', (ROOT / "app.py").read_text(encoding="utf-8"))
USERS = {
    "ana": {"sub": "ana", "email": "ana@example.com", "email_verified": True},    # analyst by address
    "vic": {"sub": "vic", "email": "vic@example.com", "email_verified": True},    # viewer by *@example.com
    "mallory": {"sub": "mallory", "email": "mallory@example.com", "email_verified": False},  # unverified
}
ROLES = 'analyst = ["ana@example.com"]\nviewer = ["*@example.com"]\n'

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider():
    port = free_port()
    claims = [arg for user in USERS.values() for arg in ("--user-claims", json.dumps(user))]
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    wait_for_url(f"{url}/.well-known/openid-configuration", proc, "oidc-provider-mock")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def signed_app(provider, demo_db_path, tmp_path_factory, streamlit_app):
    folder = tmp_path_factory.mktemp("auth")
    db = folder / "engagement.duckdb"
    shutil.copy(demo_db_path, db)
    port = free_port()  # the redirect URI names it
    url = f"http://127.0.0.1:{port}"
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        'cookie_secret = "test-only-cookie-secret-0123456789abcdef0123456789abcdef"\n'
        'client_id = "engagement-workbench"\n'
        'client_secret = "test-only-client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n', encoding="utf-8")
    roles = folder / "roles.toml"
    roles.write_text(ROLES, encoding="utf-8")
    env = {"ENGAGEMENT_DB": str(db), "ENGAGEMENT_READ_ONLY": "", "ENGAGEMENT_ROLES_FILE": str(roles)}
    with streamlit_app(env, args=("--secrets.files", str(secrets)), port=port):
        yield url, db


DATA_SELECTORS = ('[data-testid="stMetric"]', ".vega-embed", '[data-testid="stDataFrame"]',
                  '[data-testid="stTable"]', '[data-testid="stFileUploader"]')


def _shows_no_data(page) -> None:
    for selector in DATA_SELECTORS:
        assert page.locator(selector).count() == 0, f"{page.url} shows {selector} before sign-in"
    assert page.locator("h1").first.inner_text() == "Engagement Workbench"
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0


def _sign_in(page, url: str, user: str) -> None:
    """Open ``url`` signed out, press Sign in, pick ``user`` on the provider's form, come back."""
    page.goto(url)
    wait_rendered(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=user, exact=True).click()  # the provider's predefined-user button
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/(?!oauth2callback)"), timeout=60_000)
    page.get_by_text(f"Signed in as {USERS[user]['email']}").wait_for(timeout=120_000)
    # The app then returns to the deep link (a script in the sidebar): wait for that navigation, not past it.
    path = urllib.parse.urlsplit(url).path
    page.wait_for_url(lambda now: urllib.parse.urlsplit(now).path == path, timeout=60_000)
    wait_rendered(page)


@pytest.mark.parametrize("path", [f"/{p}" if p != "overview" else "/" for p in PAGES]
                         + ["/cohorts?cohorts_grain=week&start=2026-01-01", "/sql_notebook?notebook=weekly"])
def test_signed_out_visitor_sees_no_data(signed_app, browser, path):
    url, _ = signed_app
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(url + path)
    wait_rendered(page)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    _shows_no_data(page)
    if path == "/":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "auth_sign_in.png"), full_page=True)
    page.close()


def test_analyst_returns_to_deep_link_uploads_and_the_audit_trail_names_them(signed_app, browser, tmp_path,
                                                                              demo_db_path):
    import duckdb

    url, db = signed_app
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    _sign_in(page, f"{url}/data?data_on_invalid=quarantine", "ana")
    # Streamlit's callback lands on the base URL; the remembered deep link brings the analyst back.
    assert "/data" in page.url and "data_on_invalid=quarantine" in page.url
    assert page.locator('[data-testid="stFileUploader"]').count() == 2  # one file, and several at once

    with duckdb.connect(str(demo_db_path), read_only=True) as con:  # the demo this app's copy came from
        customer_id = con.execute("SELECT min(customer_id) FROM customers").fetchall()[0][0]
    export = tmp_path / "orders_by_ana.csv"
    export.write_text(
        "order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n"
        f"#AUTH-1,{customer_id},2026-10-01 10:00:00,51.00,0,USD,web,paid\n", encoding="utf-8")
    page.locator('input[type="file"]:not([multiple])').set_input_files(str(export))
    page.get_by_role("button", name="Validate and load into orders").click()
    page.locator('[data-testid="stAlertContentSuccess"]').wait_for(timeout=120_000)
    wait_rendered(page)
    page.get_by_role("heading", name="Audit trail").scroll_into_view_if_needed()
    latest = page.get_by_text("Latest: ana@example.com (analyst) · load · orders from orders_by_ana.csv")
    latest.wait_for(timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "auth_audit_trail.png"), full_page=True)
    context.close()


def test_viewer_has_no_write_controls_and_a_crafted_write_is_refused(signed_app, browser):
    url, _ = signed_app
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    _sign_in(page, f"{url}/data", "vic")
    assert "/data" in page.url
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_role("button", name="Undo").count() == 0
    page.get_by_text("You have the viewer role").wait_for(timeout=30_000)
    page.get_by_text("Signed in as vic@example.com (viewer)").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "auth_viewer_data.png"), full_page=True)

    # The notebook's cells are a viewer's tool; a write typed into one is refused and changes nothing.
    page.goto(f"{url}/sql_notebook")
    wait_rendered(page)
    assert page.get_by_role("button", name="Save").count() == 0
    cell = page.get_by_label("Cell 1")
    cell.fill("DELETE FROM loads")
    cell.press("Control+Enter")
    wait_rendered(page)
    page.get_by_role("button", name="Run", exact=True).first.click()
    wait_rendered(page)
    page.get_by_text("Refused:").first.wait_for(timeout=60_000)
    context.close()


def test_unlisted_or_unverified_address_sees_no_data(signed_app, browser):
    url, _ = signed_app
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(f"{url}/cohorts")
    wait_rendered(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="mallory", exact=True).click()
    page.get_by_text("You are signed in as mallory@example.com, but this workbench has no role").wait_for(
        timeout=120_000)
    wait_rendered(page)
    for selector in DATA_SELECTORS:
        assert page.locator(selector).count() == 0, selector
    context.close()
