"""Which loads rebuild the derived tables: every kind a derived table reads does; the kinds none reads
(derived.KINDS_NOT_DERIVED_FROM) do not, and the SQL is checked so the list cannot go stale silently."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from engagement.retention import churn
from engagement.retention import clv_default
from engagement.sql import read_sql
from engagement.derived import DERIVED_TABLES, KINDS_NOT_DERIVED_FROM, STORED_VIEWS
from engagement.warehouse.schema import KINDS


def _derived_sql() -> dict[str, str]:
    """The SQL each derived table is built from (a stored view's query, not its settings file, too)."""
    texts = {name: read_sql(f"derived/{name}") for name in DERIVED_TABLES}
    texts.update({f"{name} ({query})": read_sql(query) for name, query in STORED_VIEWS.items()})
    return texts


def test_no_derived_table_reads_the_kinds_that_skip_the_rebuild():
    for kind in KINDS_NOT_DERIVED_FROM:
        readers = [name for name, sql in _derived_sql().items() if re.search(rf"\b{kind}\b", sql)]
        assert not readers, f"{kind} is read by {readers}: remove it from KINDS_NOT_DERIVED_FROM"


def test_every_other_kind_is_read_by_some_derived_table():
    for kind in set(KINDS) - KINDS_NOT_DERIVED_FROM:
        assert any(re.search(rf"\b{kind}\b", sql) for sql in _derived_sql().values()), kind


# The SQL derived tables and the models fitted after them (CLV and churn: every table of their results).
FITTED = (*DERIVED_TABLES, *clv_default.STORED_MODEL_TABLES, *churn.STORED_MODEL_TABLES)


def _derived_table_oids(store) -> dict[str, int]:
    """Each derived table's catalog id (the SQL ones and the models fitted after them): CREATE OR REPLACE
    gives a rebuilt table a new one."""
    rows = store.cursor().execute("SELECT table_name, table_oid FROM duckdb_tables()").fetchall()
    return {name: oid for name, oid in rows if name in FITTED}


def test_a_programme_cost_load_and_its_undo_do_not_rebuild_but_an_order_load_does(hand_store):
    before = _derived_table_oids(hand_store)
    # The CLV and churn models are not refitted either (too little history here: only their rows, with the
    # problem the page shows).
    assert set(before) == {*DERIVED_TABLES, clv_default.STORED_MODEL, churn.STORED_MODEL}
    summary = hand_store.load_frame("program_costs", pd.DataFrame({
        "period": ["2025-01-01"], "program": ["email"], "channel": ["email"], "cost": [120.0]}))
    hand_store.undo(summary.load_id)
    assert _derived_table_oids(hand_store) == before

    hand_store.load_frame("orders", pd.DataFrame({
        "order_id": ["rebuild-1", "rebuild-2"], "customer_id": ["A", "B"],
        "ordered_at": [pd.Timestamp("2025-02-01")] * 2, "net_revenue": [10.0] * 2, "status": ["paid"] * 2,
        "currency": ["USD"] * 2}))
    after_orders = _derived_table_oids(hand_store)
    # Orders of two of four customers are half of them, past FULL_REBUILD_SHARE: rebuilt whole (issue 20's small
    # loads update in place: tests/test_incremental_derived.py); customer_keys is appended to, never rebuilt.
    assert all(after_orders[name] != before[name] for name in before if name != "customer_keys")


def test_a_database_built_by_other_derived_sql_is_rebuilt_once_when_opened(tmp_path):
    """A database whose derived tables came from an older version (another fingerprint) gets them rebuilt on the
    next writable open, so views never read an older shape; an up-to-date one is not rebuilt."""
    from engagement.derived import derived_fingerprint
    from engagement.warehouse.store import Store
    from engagement.workbench import open_workbench

    path = tmp_path / "upgrade.duckdb"
    store = open_workbench(path, read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["o1"], "customer_id": ["A"], "ordered_at": [pd.Timestamp("2025-02-01")],
        "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"]}))
    cursor = store.cursor()
    cursor.execute("UPDATE derived_build SET fingerprint = 'an older version'")
    cursor.execute("DROP TABLE survey_answers")  # tables the older version did not have
    cursor.execute(f"DROP TABLE {churn.STORED_MODEL}")
    cursor.execute(f"DROP TABLE {clv_default.STORED_MODEL}")
    store.close()

    store = open_workbench(path, read_only=False)
    # One order: neither model can be fitted, so each keeps only its row (saying why).
    assert _derived_table_oids(store).keys() == {*DERIVED_TABLES, churn.STORED_MODEL, clv_default.STORED_MODEL}
    assert store.cursor().execute("SELECT fingerprint FROM derived_build").fetchall() == [(derived_fingerprint(),)]
    store.cursor().execute("UPDATE dataset_facts SET at_risk_days = -1")  # a mark a rebuild would erase
    store.close()
    store = open_workbench(path, read_only=False)
    assert store.cursor().execute("SELECT at_risk_days FROM dataset_facts").fetchall() == [(-1,)]  # not rebuilt
    store.close()


def _stale_database(path) -> None:
    """A database file whose derived tables an older version built (another fingerprint, a table missing)."""
    from engagement.warehouse.store import Store
    from engagement.workbench import open_workbench

    store = open_workbench(path, read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["o1"], "customer_id": ["A"], "ordered_at": [pd.Timestamp("2025-02-01")],
        "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"]}))
    store.cursor().execute("UPDATE derived_build SET fingerprint = 'an older version'")
    store.cursor().execute("DROP TABLE survey_answers")
    store.close()


def test_a_read_only_instance_on_a_stale_database_says_how_to_upgrade_it(tmp_path, capsys):
    """A read-only instance cannot rebuild: reports stop with the fix (`upgrade`), which rebuilds once; a
    command that reads no view (validate) still runs."""
    from engagement.cli import main
    from engagement.warehouse.errors import StoreOutdatedError
    from engagement.warehouse.store import Store
    from engagement.workbench import open_workbench

    path = tmp_path / "stale.duckdb"
    _stale_database(path)
    store = open_workbench(path, read_only=True)
    assert not store.derived_are_current()
    with pytest.raises(StoreOutdatedError, match="python -m engagement upgrade"):
        store.require_current_derived()
    store.close()

    assert main(["report", "kpis", "--db", str(path), "--format", "json"]) == 1
    assert "python -m engagement upgrade --db" in capsys.readouterr().err
    export = tmp_path / "customers.csv"
    export.write_text("customer_id,email,created_at\nZ,z@example.com,2025-01-01\n")
    assert main(["validate", "customers", str(export), "--db", str(path)]) == 0
    capsys.readouterr()

    assert main(["upgrade", "--db", str(path)]) == 0
    assert '"rebuilt"' in capsys.readouterr().out
    assert main(["upgrade", "--db", str(path)]) == 0
    assert '"already current"' in capsys.readouterr().out
    assert main(["report", "kpis", "--db", str(path), "--format", "json"]) == 0


def test_every_command_closes_its_store_when_it_returns(demo_db_path, monkeypatch):
    """Closed when the command returns, not when collected: a writable open in the same process (a notebook
    calling main, then loading) would meet a connection still held somewhere (a traceback, a cache) and fail."""
    from engagement.cli import main
    from engagement.warehouse.store import Store
    from engagement.workbench import open_workbench

    closed = []
    original_close = Store.close
    monkeypatch.setattr(Store, "close", lambda store: (closed.append(store.path), original_close(store)))
    for command in (["report", "kpis"], ["report", "lifecycle", "--format", "json"], ["report", "nps"]):
        closed.clear()
        assert main([*command, "--db", str(demo_db_path)]) == 0
        assert closed == [str(demo_db_path)], command


def test_the_app_read_only_on_a_stale_database_shows_the_fix_not_a_traceback(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from engagement import ui

    path = tmp_path / "stale.duckdb"
    _stale_database(path)
    monkeypatch.setenv("ENGAGEMENT_DB", str(path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    ui.get_store.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("python -m engagement upgrade" in e.value for e in at.error)
    finally:
        ui.get_store.clear()
