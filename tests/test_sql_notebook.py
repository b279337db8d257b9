"""SQL notebooks: editing cells, running them, saved versions, the schema browser, quick charts and the page.

Counts come from the hand fixture in tests/conftest.py (4 customers, 6 orders of which 1 cancelled, 6 NPS
answers), counted by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engagement.charts.quick_chart import MAX_CHART_ROWS, QuickChartSpec, quick_chart, suggest_chart
from engagement.warehouse.schema import TABLES
from engagement.notebook.schema_browser import derived_definition, schema_tables
from engagement.notebook.notebooks import (
    Cell, Notebook, add_cell, delete_cell, list_notebooks, load_notebook, move_cell, notebook_versions,
    run_all, run_cell, save_notebook, share_query, update_cell,
)
from engagement.derived import DERIVED_TABLES
from engagement.warehouse.errors import ReadOnlyStoreError
from engagement.warehouse.store import Store

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ cells
def test_editing_returns_new_notebooks():
    nb = add_cell(add_cell(add_cell(Notebook(name="n"), "SELECT 1"), "SELECT 2"), "SELECT 0", at=0)
    assert [c.sql for c in nb.cells] == ["SELECT 0", "SELECT 1", "SELECT 2"]
    moved = move_cell(nb, 0, 1)
    assert [c.sql for c in moved.cells] == ["SELECT 1", "SELECT 0", "SELECT 2"]
    assert [c.sql for c in move_cell(nb, 2, 5).cells] == ["SELECT 0", "SELECT 1", "SELECT 2"]  # clamped
    assert [c.sql for c in delete_cell(nb, 1).cells] == ["SELECT 0", "SELECT 2"]
    assert update_cell(nb, 2, sql="SELECT 3").cells[2].sql == "SELECT 3"
    assert [c.sql for c in nb.cells] == ["SELECT 0", "SELECT 1", "SELECT 2"]  # the original is unchanged
    assert len({c.cell_id for c in nb.cells}) == 3


def test_run_cell_reports_each_outcome(hand_store):
    ok = run_cell(hand_store, "SELECT count(*) AS n FROM orders WHERE status <> 'cancelled'")
    assert ok.status == "ok" and ok.result.frame["n"].tolist() == [5]  # o1, o2, o4, o5, o6
    assert ok.result.summary().startswith("1 row in")
    assert run_cell(hand_store, "DELETE FROM orders").status == "refused"
    assert run_cell(hand_store, "SELECT nope FROM orders").status == "failed"
    slow = "SELECT count(*) FROM range(3000) a, range(3000) b, range(3000) c WHERE a.range + b.range + c.range = -1"
    cancelled = run_cell(hand_store, slow, timeout_seconds=0.5)
    assert cancelled.status == "cancelled" and "cancelled" in cancelled.message


def test_purchases_first_and_latest_sentinels_show_blank_and_download(hand_store):
    """purchases keeps '-infinity' / 'infinity' for no previous / next purchase (its range joins are plain
    comparisons); pandas can neither print nor write those, so a cell shows them blank and says so."""
    from engagement.exports import to_safe_csv

    run = run_cell(hand_store, "SELECT customer_id, ordered_at, previous_ordered_at, next_ordered_at FROM purchases "
                               "ORDER BY customer_id, ordered_at")
    assert run.ok and run.result.infinite_timestamp_columns == ("previous_ordered_at", "next_ordered_at")
    frame = run.result.frame
    first = frame.groupby("customer_id").head(1)
    assert first["previous_ordered_at"].isna().all() and frame["ordered_at"].notna().all()
    assert frame["next_ordered_at"].isna().sum() == frame["customer_id"].nunique()  # each one's latest
    assert "±infinity" in run.result.summary()
    assert "294247" not in to_safe_csv(frame) and str(frame)  # printable and downloadable


def test_run_all_runs_every_cell_even_after_a_failure(hand_store):
    nb = Notebook(cells=(Cell("DROP TABLE orders"), Cell("SELECT count(*) AS n FROM customers")))
    runs = run_all(hand_store, nb)
    assert [r.status for r in runs] == ["refused", "ok"]
    assert runs[1].result.frame["n"].tolist() == [4]


# ---------------------------------------------------------------- storage
def test_saves_versions_and_reopens_each(hand_store):
    chart = QuickChartSpec(x="status", y="n", mark="bar")
    first = save_notebook(hand_store, Notebook(name="  Weekly   check ", cells=(Cell("SELECT 1", chart=chart),)))
    assert (first.name, first.version) == ("Weekly check", 1)
    second = save_notebook(hand_store, add_cell(first, "SELECT 2"))
    assert second.version == 2

    latest = load_notebook(hand_store, "Weekly check")
    assert latest.version == 2 and [c.sql for c in latest.cells] == ["SELECT 1", "SELECT 2"]
    assert latest.cells[0].chart == chart
    assert [c.sql for c in load_notebook(hand_store, "Weekly check", 1).cells] == ["SELECT 1"]
    assert notebook_versions(hand_store, "Weekly check")["version"].tolist() == [2, 1]
    listed = list_notebooks(hand_store)
    assert listed[["name", "latest_version", "cells"]].values.tolist() == [["Weekly check", 2, 2]]
    assert share_query(second) == "notebook=Weekly+check&notebook_version=2"


def test_storage_refuses_clearly(hand_store, demo_store):
    with pytest.raises(LookupError, match="no saved notebook 'missing'"):
        load_notebook(hand_store, "missing")
    with pytest.raises(ValueError, match="name"):
        save_notebook(hand_store, Notebook(name="   ", cells=(Cell("SELECT 1"),)))
    with pytest.raises(ReadOnlyStoreError):
        save_notebook(demo_store, Notebook(name="x", cells=(Cell("SELECT 1"),)))
    assert list_notebooks(demo_store).empty
    with pytest.raises(ValueError, match="Save the notebook first"):
        share_query(Notebook(name="x"))


def test_saved_notebooks_are_not_writable_from_a_cell(hand_store):
    save_notebook(hand_store, Notebook(name="keep", cells=(Cell("SELECT 1"),)))
    assert run_cell(hand_store, "DELETE FROM saved_notebooks").status == "refused"
    # Nor readable: saved notebooks are the workbench's own table (data_policy); the Notebook picker opens them.
    hidden = run_cell(hand_store, "SELECT count(*) AS n FROM saved_notebooks")
    assert hidden.status == "refused" and "not open to the notebook" in hidden.message
    assert list_notebooks(hand_store)["name"].tolist() == ["keep"]


# ---------------------------------------------------------- schema browser
def test_schema_browser_lists_tables_columns_rows_and_definitions(hand_store):
    tables = {t.name: t for t in schema_tables(hand_store)}
    assert [t.kind for t in schema_tables(hand_store)][:12] == ["canonical"] * 8 + ["derived"] * 4
    assert (tables["customers"].rows, tables["orders"].rows, tables["surveys"].rows) == (4, 6, 6)
    assert tables["order_facts"].rows == 5  # six orders minus the cancelled o3
    orders = tables["orders"]
    assert orders.key == ("order_id",) and orders.grain == TABLES["orders"].grain
    types = {c.name: c.sql_type for c in orders.columns}
    assert types["net_revenue"] == "DECIMAL(18,2)" and types["ordered_at"] == "TIMESTAMP"
    assert "Revenue after discounts" in {c.name: c.description for c in orders.columns}["net_revenue"]
    for name in DERIVED_TABLES:
        assert tables[name].kind == "derived"
        assert tables[name].definition == derived_definition(name)
        assert tables[name].grain and tables[name].grain.startswith("one row")
    assert "loads" not in tables and "audit_log" not in tables  # the workbench's own (data_policy)


def test_schema_browser_lists_the_churn_model_fitted_at_load_as_derived(demo_store):
    from engagement.retention.churn import STORED_MODEL, STORED_MODEL_TABLES

    tables = {t.name: t for t in schema_tables(demo_store)}
    for name in STORED_MODEL_TABLES:
        assert tables[name].kind == "derived" and tables[name].grain.startswith("one row"), name
    assert tables[STORED_MODEL].rows == 1 and tables[STORED_MODEL].definition == derived_definition(STORED_MODEL)
    assert tables["churn_default_at_risk"].rows == 200


# ------------------------------------------------------------ quick charts
def test_quick_chart_encodes_the_chosen_columns():
    frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "sum(revenue)": [3.5, 4.0],
                          "a.b": ["x", "y"]})
    spec = QuickChartSpec(x="month", y="sum(revenue)", color="a.b", mark="area")
    chart = quick_chart(frame, spec).to_dict()
    assert chart["mark"]["type"] == "area"
    enc = chart["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("month", "temporal")
    assert (enc["y"]["field"], enc["y"]["type"], "aggregate" in enc["y"]) == ("sum(revenue)", "quantitative", False)
    assert (enc["color"]["field"], enc["color"]["type"]) == ("a\\.b", "nominal")


def test_quick_chart_caps_rows_and_checks_columns():
    big = pd.DataFrame({"x": range(MAX_CHART_ROWS + 10), "y": range(MAX_CHART_ROWS + 10)})
    chart = quick_chart(big, QuickChartSpec("x", "y", mark="point"))
    assert "first 5,000 rows" in chart.to_dict()["title"]
    with pytest.raises(ValueError, match="no column 'z'"):
        quick_chart(big, QuickChartSpec("x", "z"))
    with pytest.raises(ValueError, match="mark"):
        QuickChartSpec("x", "y", mark="pie")


def test_suggest_chart_picks_a_sensible_start():
    assert suggest_chart(pd.DataFrame({"channel": ["a"], "n": [1]})) == QuickChartSpec("channel", "n", mark="bar")
    assert suggest_chart(pd.DataFrame({"x": [1.0], "y": [2.0]})) == QuickChartSpec("x", "y", mark="point")
    assert suggest_chart(pd.DataFrame({"name": ["a"]})) is None
    by_month = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01"]),
                             "channel": ["web", "pos", "web"], "revenue": [1.0, 2.0, 3.0]})
    assert suggest_chart(by_month) == QuickChartSpec("month", "revenue", color="channel", mark="line")


# ------------------------------------------------------------------- page
def test_page_refuses_a_write_and_runs_a_read(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/sql_notebook.py").run()
    assert not at.exception
    assert any("rows in" in c.value or "row in" in c.value for c in at.caption)  # the starter cell ran
    assert any(e.label.startswith("orders ·") for e in at.expander)  # the schema browser
    labels = [e.label.replace("\\", "").replace("\u2060", "") for e in at.expander]  # as ui.plain wrote them
    assert "dataset_facts · 1 row" in labels, labels  # one row, not "1 rows"
    at.text_area[0].set_value("DROP TABLE orders")
    at.button(key=f"run_{at.session_state['sqlnb'].cells[0].cell_id}").click().run()
    assert any("read-only" in w.value for w in at.warning)
    at.text_area[0].set_value("SELECT count(*) AS customers FROM customers")
    at.button(key=f"run_{at.session_state['sqlnb'].cells[0].cell_id}").click().run()
    assert at.dataframe[0].value["customers"].tolist() == [5000]  # the session demo has 5,000 customers


@pytest.fixture()
def writable_app(demo_db_path, tmp_path, monkeypatch):
    """The app on a writable copy of the demo database, with the process-wide store reopened for it."""
    from engagement import ui

    path = tmp_path / "writable.duckdb"
    shutil.copyfile(demo_db_path, path)
    monkeypatch.setenv("ENGAGEMENT_DB", str(path))
    monkeypatch.delenv("ENGAGEMENT_READ_ONLY", raising=False)
    ui.get_store.clear()
    yield path
    ui.get_store().close()
    ui.get_store.clear()


def test_page_saves_and_a_link_reopens_the_version(writable_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/sql_notebook.py").run()
    at.text_area[0].set_value("SELECT 41 + 1 AS answer")
    at.text_input[0].set_value("Shared answer")
    save = next(b for b in at.button if b.label == "Save")
    save.click().run()
    assert not at.exception
    assert any("version 1" in s.value for s in at.success), [s.value for s in at.success]

    link = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    link.query_params["notebook"] = "Shared answer"
    link.query_params["notebook_version"] = "1"
    link.run()
    link.switch_page("pages/sql_notebook.py").run()
    assert not link.exception
    assert link.text_area[0].value == "SELECT 41 + 1 AS answer"
    assert link.dataframe[0].value["answer"].tolist() == [42]


def test_page_refuses_file_reads_and_writes_on_a_writable_database(writable_app, tmp_path):
    """The issue's attacks typed into the page of a writable workbench (the app's own path, not only read-only)."""
    secret = tmp_path / "server" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("password\nhunter2-very-secret\n")
    copy = Store.open(writable_app, read_only=True)
    orders = copy.table_counts()["orders"]
    copy.close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/sql_notebook.py").run()
    for sql in (f'WITH "{secret}" AS (SELECT * FROM "{secret}") SELECT * FROM "{secret}"',
                f'WITH a AS (SELECT * FROM "{secret}"), "{secret}" AS (SELECT 1) SELECT * FROM a',
                "WITH x AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM x"):
        at.text_area[0].set_value(sql)
        at.button(key=f"run_{at.session_state['sqlnb'].cells[0].cell_id}").click().run()
        assert not at.exception
        assert any(w.value.startswith("**Refused:**") for w in at.warning), [w.value for w in at.warning]
        assert not at.dataframe or all("hunter2" not in str(d.value.to_dict()) for d in at.dataframe)
    at.text_area[0].set_value("SELECT count(*) AS orders FROM orders")
    at.button(key=f"run_{at.session_state['sqlnb'].cells[0].cell_id}").click().run()
    assert at.dataframe[0].value["orders"].tolist() == [orders]  # nothing was deleted
