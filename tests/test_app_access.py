"""The app's access rules without a browser (AppTest): the no-sign-in warning, and a viewer's write refused by the
store even when the page shows the control (a page bug, or a crafted request reaching the write path).

AppTest cannot sign in through a provider, so the signed-in user is set by replacing ``ui.current_actor`` (the
one place the app reads identity from); the browser test (test_browser_auth.py) signs in for real.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from engagement import ui
from engagement.warehouse.access import VIEWER, Actor

ROOT = Path(__file__).resolve().parents[1]
VIC = Actor("vic@example.com", VIEWER, "oidc")


def test_without_sign_in_the_sidebar_says_anyone_may_write(writable_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("anyone who can open this URL can load, undo and save" in c.value for c in at.sidebar.caption)


def test_viewer_undo_is_refused_by_the_store_even_when_the_page_shows_the_button(writable_app, monkeypatch):
    monkeypatch.setattr(ui, "current_actor", lambda: VIC)
    monkeypatch.setattr(ui, "can_write", lambda store: True)  # as if the page forgot to hide the controls
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    undo = next(b for b in at.button if b.key and b.key.startswith("data_undo_"))
    undo.click().run()
    # The Data page asks to confirm an undo (main's issue 14); the store refuses at the confirmation.
    confirm = next(b for b in at.button if b.key and b.key.startswith("data_undo_confirm_"))
    confirm.click().run()
    # The refusal is shown through ui.plain, which puts a word joiner after "@" (no e-mail autolink).
    assert any("needs the analyst role, and vic@example.com has the viewer role" in e.value.replace(ui.WORD_JOINER, "")
               for e in at.error)
    ui.get_store.clear()  # close the app's connection before reading the file
    import gc

    gc.collect()
    with duckdb.connect(str(writable_app), read_only=True) as con:
        assert con.execute("SELECT count(undone_at) FROM loads").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'undo'").fetchall() == [(0,)]
