"""The derived build: declared inputs, a computed order, and a store that is handed the build, never imports it."""

from __future__ import annotations

import re
from dataclasses import replace
from graphlib import CycleError

import pandas as pd
import pytest

from engagement import derived
from engagement.sql import read_sql
from engagement.warehouse.schema import KINDS
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from conftest import hand_fixture_frames


def _tables_read(sql: str) -> set[str]:
    """Canonical and derived tables a SQL text reads: names after FROM/JOIN, less its own CTEs."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    ctes = set(re.findall(r"\b([A-Za-z_]\w*)\s+as\s*\(", code, flags=re.I))
    read = set(re.findall(r"\b(?:from|join)\s+([A-Za-z_]\w*)", code, flags=re.I))
    return (read - ctes) & (set(KINDS) | set(derived.BY_NAME))


@pytest.mark.parametrize("entry", [e for e in derived.BUILD if e.build is None], ids=lambda e: e.name)
def test_declared_inputs_are_the_tables_the_sql_reads(entry):
    """A SQL-built entry names exactly what its SQL (and its stored view's query) reads."""
    # An appended entry (stable keys) reads its own table to number only the new ids.
    assert set(entry.inputs) == _tables_read(entry.sql_texts()) - {entry.name}


def test_every_input_is_a_canonical_table_or_an_entry():
    unknown = {(e.name, i) for e in derived.BUILD for i in e.inputs if i not in KINDS and i not in derived.BY_NAME}
    assert unknown == set()


def _respects_inputs(order: tuple[str, ...], build) -> bool:
    position = {name: i for i, name in enumerate(order)}
    return all(position[i] < position[e.name] for e in build for i in e.inputs if i in position)


def test_the_build_order_puts_every_entry_after_its_inputs():
    assert sorted(derived.BUILD_ORDER) == sorted(derived.BY_NAME)
    assert _respects_inputs(derived.BUILD_ORDER, derived.BUILD)


def test_the_order_is_computed_from_the_inputs_not_the_listing(monkeypatch):
    """Listed backwards, the entries are still built inputs first."""
    backwards = tuple(reversed(derived.BUILD))
    monkeypatch.setattr(derived, "BUILD", backwards)
    monkeypatch.setattr(derived, "BY_NAME", {e.name: e for e in backwards})
    order = derived.build_order()
    assert order != tuple(e.name for e in backwards)
    assert _respects_inputs(order, backwards)


def test_a_cycle_in_the_inputs_is_refused(monkeypatch):
    first, *rest = derived.BUILD
    looped = (replace(first, inputs=(*first.inputs, "customer_summary")), *rest)
    monkeypatch.setattr(derived, "BUILD", looped)
    monkeypatch.setattr(derived, "BY_NAME", {e.name: e for e in looped})
    with pytest.raises(CycleError):
        derived.build_order()


def test_the_fitted_models_come_after_the_tables_they_read():
    order = derived.BUILD_ORDER
    assert order.index("clv_calibration_summary") < order.index("clv_default_model")
    assert order.index("churn_current_features") < order.index("churn_default_model")
    assert order.index("rfm_default_window_customers") < order.index("rfm_default_scores")
    assert read_sql("derived/clv_default_model")  # the one-row table of each model has its SQL


def test_a_store_opened_without_the_build_marks_derived_tables_stale_and_open_workbench_rebuilds(tmp_path):
    path = tmp_path / "engagement.duckdb"
    store = open_workbench(path, read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    assert store.derived_are_current()
    orders_before = store.cursor().execute("SELECT count(*) FROM order_facts").fetchall()[0][0]
    store.close()

    bare = Store.open(path, read_only=False)  # the warehouse alone: it cannot rebuild what it does not know
    bare.load_frame("orders", pd.DataFrame({
        "order_id": ["bare-1"], "customer_id": ["A"], "ordered_at": [pd.Timestamp("2025-02-01")],
        "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"]}))
    assert bare.cursor().execute("SELECT count(*) FROM derived_build").fetchall() == [(0,)]
    with pytest.raises(RuntimeError, match="open_workbench"):
        bare.derived_are_current()
    bare.close()

    reopened = open_workbench(path, read_only=False)
    assert reopened.derived_are_current()
    assert reopened.cursor().execute("SELECT count(*) FROM order_facts").fetchall()[0][0] == orders_before + 1
    reopened.close()


def test_write_commits_the_block_or_rolls_it_back(tmp_path):
    store = Store.open(":memory:", read_only=False)
    with store.write() as cur:
        cur.execute("CREATE TABLE notes (n INTEGER)")
        cur.execute("INSERT INTO notes VALUES (1)")
    with pytest.raises(ZeroDivisionError):
        with store.write() as cur:
            cur.execute("INSERT INTO notes VALUES (2)")
            raise ZeroDivisionError  # anything raised in the block undoes it
    assert store.cursor().execute("SELECT n FROM notes").fetchall() == [(1,)]
    with pytest.raises(RuntimeError, match="read snapshot"), store.snapshot():
        with store.write():
            pass


def _declared_uncompressed(cur, name: str) -> set[str]:
    """The columns of ``name`` declared ``USING COMPRESSION uncompressed``."""
    declared = cur.execute("SELECT sql FROM duckdb_tables() WHERE table_name = $name", {"name": name}).fetchall()
    return set(re.findall(r"(\w+) VARCHAR USING COMPRESSION uncompressed", declared[0][0], flags=re.I))


def test_the_id_columns_are_stored_uncompressed_with_the_rows_and_types_of_their_sql(hand_store):
    """The id columns of the purchase and customer tables are declared uncompressed (DuckDB's default text
    compression cost about a CPU second per id column at 3.75M purchases): each table holds what
    ``CREATE TABLE ... AS`` its SQL gives, column for column and row for row. Fails on the commit before this
    feature (no column declared)."""
    cur = hand_store.cursor()
    assert _declared_uncompressed(cur, "customer_keys") == {"customer_id"}
    for name, columns in (("order_facts", {"order_id", "customer_id"}), ("purchases", {"customer_id"}),
                          ("customer_facts", {"customer_id"}), ("customer_summary", {"customer_id"})):
        assert _declared_uncompressed(cur, name) == columns
        cur.execute(f"CREATE TEMP TABLE as_selected AS {read_sql(f'derived/{name}')}")
        assert (cur.execute(f"DESCRIBE main.{name}").fetchall()
                == cur.execute("DESCRIBE as_selected").fetchall())
        for one, other in ((f"main.{name}", "as_selected"), ("as_selected", f"main.{name}")):
            assert cur.execute(f"SELECT count(*) FROM (FROM {one} EXCEPT ALL FROM {other})").fetchall() == [(0,)]
        assert cur.execute(f"SELECT count(*) FROM main.{name}").fetchall()[0][0] > 0
        cur.execute("DROP TABLE as_selected")
