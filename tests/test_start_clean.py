"""Start clean: the demo and the brand's data live in two database files (issue 19).

On a fresh data folder the app shows the demo (from its own file); the first real upload starts the brand's
database with the brand's rows only (a EUR export is accepted: the demo's USD orders are elsewhere), the pages
then show it, the sidebar says which database is shown and switches back to the demo. The CLI reads the brand's
database unless told ``--demo``.

The demo file is the test session's pre-built 5,000-customer demo copied into the fresh folder (generating the
20,000-customer demo on first open takes half a minute; ``ingest_demo`` is tested on its own).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from engagement import cli, ui

ROOT = Path(__file__).resolve().parents[1]
# A real shop's orders export in euros, with an order id the demo also uses (#100001): nothing may collide.
EUR_ORDERS = ("order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n"
              "#100001,shop-1,2026-03-02 10:00:00,40.00,0,EUR,web,paid\n"
              "#100002,shop-1,2026-04-11 09:30:00,55.50,0,EUR,web,paid\n"
              "#100003,shop-2,2026-04-12 16:45:00,19.90,0,EUR,web,paid\n")


@pytest.fixture()
def fresh(tmp_path, demo_db_path, monkeypatch):
    """A data folder with the demo's file and no brand database yet; the app may write."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(demo_db_path, folder / "demo.duckdb")
    monkeypatch.setenv("ENGAGEMENT_DB", str(folder / "workbench.duckdb"))
    monkeypatch.delenv("ENGAGEMENT_DEMO_DB", raising=False)
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "")
    ui.get_store.clear()
    yield folder
    ui.get_store.clear()


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _sidebar_text(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.sidebar.caption)


def test_a_fresh_folder_shows_the_demo_and_creates_no_brand_database(fresh):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("demo data" in i.value for i in at.info)
    assert "Showing the demo brand" in _sidebar_text(at) and "demo.duckdb" in _sidebar_text(at)
    assert not (fresh / "workbench.duckdb").exists()
    assert not at.sidebar.radio  # nothing to switch to until the brand has data


def test_the_first_upload_starts_the_brands_database_and_the_demo_stays_one_click_away(fresh):
    demo_orders_before = _rows(fresh / "demo.duckdb", "SELECT count(*) FROM orders")[0][0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/data.py").run()
    assert any("never into the demo" in c.value for c in at.caption)
    at.get("file_uploader")[0].set_value(("orders.csv", EUR_ORDERS.encode(), "text/csv"))
    at.run()
    next(b for b in at.button if b.label.startswith("Validate and load")).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Loaded 3 of 3 rows" in s.value for s in at.success), [e.value for e in at.error]

    # The brand's database holds the brand's rows only; the demo's file is untouched. (Read through the app's
    # own connections: DuckDB refuses a second, differently configured one to the same file in a process.)
    brand = ui.session._process_store().cursor()
    assert ui.session._process_store().path == str(fresh / "workbench.duckdb")
    assert brand.execute("SELECT order_id, currency FROM orders ORDER BY order_id").fetchall() == [
        ("#100001", "EUR"), ("#100002", "EUR"), ("#100003", "EUR")]
    assert brand.execute("SELECT count(*) FROM loads WHERE source_format = 'demo'").fetchall() == [(0,)]
    demo = ui.session._database_store(str(fresh / "demo.duckdb"), True).cursor()
    assert demo.execute("SELECT count(*) FROM orders").fetchall()[0][0] == demo_orders_before

    # The pages now show the brand's data, and say so; the sidebar switches back to the demo.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("demo data" in i.value for i in at.info)
    assert at.sidebar.radio[0].value == ui.BRAND and "workbench.duckdb" in _sidebar_text(at)
    assert at.query_params["db"] == [ui.BRAND] or at.query_params["db"] == ui.BRAND
    # Back to the demo: the sidebar's radio writes ?db=demo (AppTest reruns only the page after its first run,
    # so the switch is driven here through the link it writes; Chromium clicks it in test_browser_phone.py).
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["db"] = ui.DEMO
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("demo data" in i.value for i in at.info)
    assert at.sidebar.radio[0].value == ui.DEMO and "demo.duckdb" in _sidebar_text(at)
    assert at.session_state["filters"].end > date(2026, 4, 12)  # the demo's own date range, not the brand's


def test_a_link_naming_an_unknown_database_falls_back_with_a_notice(fresh):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["db"] = "../../etc/passwd"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("db" in w.value and "passwd" in w.value for w in at.warning)
    assert any("demo data" in i.value for i in at.info)


def test_the_cli_reads_the_brands_database_by_default_and_the_demo_with_a_flag(fresh, tmp_path, capsys):
    assert cli.main(["report", "kpis", "--format", "json"]) == 1
    assert "your brand's database is created by its first load" in capsys.readouterr().err
    assert cli.main(["report", "kpis", "--demo", "--format", "json"]) == 0
    demo_kpis = json.loads(capsys.readouterr().out)
    assert demo_kpis

    export = fresh / "orders.csv"
    export.write_text(EUR_ORDERS, encoding="utf-8")
    assert cli.main(["ingest", "orders", str(export)]) == 0
    assert json.loads(capsys.readouterr().out)["rows_loaded"] == 3
    assert _rows(fresh / "workbench.duckdb", "SELECT count(*), min(currency) FROM orders") == [(3, "EUR")]
    assert cli.main(["report", "kpis", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) != demo_kpis

    # `demo` writes the demo's database by default, never the brand's.
    assert cli.main(["demo", "--customers", "300"]) == 1  # the copied demo is there already
    assert "already holds data" in capsys.readouterr().err
    other = tmp_path / "elsewhere"
    assert cli.main(["demo", "--customers", "300", "--db", str(other / "demo.duckdb")]) == 0
    capsys.readouterr()
    assert _rows(fresh / "workbench.duckdb", "SELECT count(*) FROM orders") == [(3,)]
