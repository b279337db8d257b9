"""One app run reads one state of the data (``ui.app_run``, engagement/ui/session.py).

On the writing instance a run's views read one transaction, begun at the run's first view: a load another session
commits in the middle of a run shows from the next run on, never in the lower half of a page whose top half showed
the data before it. A write of the run's own session (an upload on the Data page) shows at once. (The read-only
instance's snapshots: tests/test_snapshots.py.)
"""

from __future__ import annotations

import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engagement import ui
from engagement.intake.ingest import ingest_bytes
from engagement.warehouse.access import ANALYST, Actor
from tests.test_snapshots import _first_customer_and_last_day, _orders_csv

ROOT = Path(__file__).resolve().parents[1]
ANA = Actor("ana@example.com", ANALYST, "oidc")


def _cards() -> tuple:
    """The Overview's cards (label, value) after one run of the app."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    return tuple((m.label, m.value) for m in at.metric)


def _load_orders(store, prefix: str) -> None:
    """40 orders of $500+ on the data's last day: they move the order count and the average order value."""
    customer, day = _first_customer_and_last_day(store)
    result = ingest_bytes(store, "orders", _orders_csv(customer, day, 40, prefix), f"{prefix}.csv", actor=ANA)
    assert result.status == "loaded", result.message


def test_a_load_another_session_commits_during_a_run_shows_from_the_next_run(writable_app, monkeypatch):
    before = _cards()
    banner = ui.demo_banner

    def banner_then_a_load_elsewhere(store):
        # After the sidebar's first view (the orders' currencies), before the filters and the page.
        banner(store)
        elsewhere = threading.Thread(target=_load_orders, args=(store, "ELSE"))
        elsewhere.start()
        elsewhere.join()

    monkeypatch.setattr(ui, "demo_banner", banner_then_a_load_elsewhere)
    during = _cards()
    monkeypatch.setattr(ui, "demo_banner", banner)
    after = _cards()
    assert during == before  # the run that began before the load shows the data before it, all of it
    assert after != before


def test_a_write_of_the_runs_own_session_shows_in_the_same_run(writable_app, monkeypatch):
    before = _cards()
    banner = ui.demo_banner

    def banner_then_an_upload(store):
        banner(store)
        _load_orders(store, "OWN")

    monkeypatch.setattr(ui, "demo_banner", banner_then_an_upload)
    during = _cards()
    monkeypatch.setattr(ui, "demo_banner", banner)
    assert during != before
    assert during == _cards()


def _failing_view(store):
    store.cursor().execute("SELECT * FROM no_such_table").fetchall()


def _load_count(store):
    return store.cursor().execute("SELECT count(*) FROM loads").fetchall()[0][0]


def _views_after_a_failing_one():
    import duckdb
    import streamlit as st

    from engagement import ui
    from tests.test_app_run import _failing_view, _load_count

    with ui.app_run():
        try:
            ui.view_data(_failing_view)
        except duckdb.Error as exc:
            st.write(f"failed: {type(exc).__name__}")
        st.write(f"loads: {ui.view_data(_load_count)}")


def test_a_view_that_fails_in_the_database_leaves_the_runs_other_views_working(writable_app):
    """A database error aborts the transaction it ran in: the run's next views read another one."""
    at = AppTest.from_function(_views_after_a_failing_one, default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    texts = [m.value for m in at.markdown]
    assert texts[0].startswith("failed: CatalogException") and texts[1].startswith("loads: "), texts
