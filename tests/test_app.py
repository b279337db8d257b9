"""Every page listed in app.py renders on the demo data without an exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = re.findall(r'st\.Page\("(pages/[^"]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))


def test_app_lists_every_page_file():
    assert sorted(PAGES) == sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page, app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} has no title"


def test_overview_shows_kpis_and_demo_notice(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    labels = [m.label for m in at.metric]
    assert "Repeat purchase rate" in labels and "NPS" in labels
    assert any("demo data" in i.value for i in at.info)
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")


def test_filters_come_from_the_url(app_env):
    """A shared link's query parameters set the sidebar filters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["start"] = "2026-01-01"
    at.query_params["end"] = "2026-03-31"
    at.query_params["channel"] = "referral"
    at.run()
    assert not at.exception
    assert at.session_state["filters"].start.isoformat() == "2026-01-01"
    assert at.session_state["filters"].channels == ("referral",)


def test_empty_read_only_database_renders_with_a_message(tmp_path, monkeypatch):
    """A shared read-only link to a database nobody has loaded yet: no crash, a clear message."""
    from engagement import ui
    from engagement.workbench import open_workbench

    path = tmp_path / "empty.duckdb"
    open_workbench(path, read_only=False).close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    ui.get_store.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("No purchases" in w.value for w in at.warning)
    finally:
        ui.get_store.clear()


@pytest.mark.parametrize("page", ["pages/data.py", "pages/sql_notebook.py"])
def test_read_only_mode_shows_no_writing_controls(page, app_env):
    """Links shared with leadership (ENGAGEMENT_READ_ONLY=1): no upload, undo, mapping or save."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert not any(label in ("Undo", "Save", "Validate and load into orders") for label in labels), labels
    assert not at.get("file_uploader")


def test_a_change_that_shows_as_zero_is_neither_good_nor_bad():
    """The Overview greys out a delta that rounds to zero at the shown precision (it read "↑ 0.0 days" in red)."""
    from engagement.ui import rounds_to_zero

    assert rounds_to_zero(0.02, "days") and not rounds_to_zero(0.06, "days")
    assert rounds_to_zero(0.0004, "share") and not rounds_to_zero(0.0006, "share")  # 0.04 vs 0.06 points
    assert rounds_to_zero(0.4, "score") and not rounds_to_zero(-0.6, "score")
    assert rounds_to_zero(0.004, "money") and not rounds_to_zero(0.01, "money")
    assert not rounds_to_zero(float("nan"), "days")
