"""The per-purchase derived tables keep only the columns something reads (issue 20: at 5M orders each text
column of a 4M-row table costs about a second of the load to compress; benchmarks/README.md), and a table an
older version built but this one does not is dropped by the rebuild a new build fingerprint causes."""

from __future__ import annotations

from engagement import derived
from engagement.workbench import open_workbench

from conftest import hand_fixture_frames


def _columns(cur, table: str) -> list[str]:
    return [r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position",
        {"t": table}).fetchall()]


def test_purchase_tables_do_not_repeat_what_is_read_elsewhere(hand_store):
    cur = hand_store.cursor()
    # A purchase's state between purchases (the lifecycle stages' range join) is a row of purchases: no third
    # per-purchase table.
    assert "purchase_states" not in derived.BY_NAME
    assert {"customer_key", "order_number", "next_ordered_at", "revenue_so_far", "days_since_previous_order"} <= set(
        _columns(cur, "purchases"))
    # No view reads the sales channel or currency of order_facts, nor the order id or discount of purchases.
    assert not {"channel", "currency"} & set(_columns(cur, "order_facts"))
    assert not {"order_id", "discount"} & set(_columns(cur, "purchases"))
    # The customer's first purchase time is customer_summary's first_order_at: purchases reads it there, and
    # order_facts' window does not compute it again for every purchase.
    assert "first_ordered_at" not in _columns(cur, "order_facts")
    assert "first_ordered_at" in _columns(cur, "purchases")
    # customer_months was read by cohort_cells alone: a CTE there now.
    assert "customer_months" not in derived.BY_NAME


def test_a_rebuild_drops_a_table_an_older_version_built(tmp_path):
    store = open_workbench(tmp_path / "w.duckdb", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    with store.write() as cur:  # as the previous version left it
        cur.execute("CREATE TABLE customer_months AS SELECT customer_id FROM order_facts")
        cur.execute("CREATE TABLE purchase_states AS SELECT customer_id FROM order_facts")
    with store.write() as cur:
        derived.rebuild_derived(store, cur)
    tables = {r[0] for r in store.cursor().execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    store.close()
    assert not {"customer_months", "purchase_states"} & tables
    assert {"cohort_cells", "purchases"} <= tables
