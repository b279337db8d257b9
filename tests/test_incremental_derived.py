"""Loads in proportion to what changed (issue 20): stable customer keys, stages applied from the cuts, and derived
tables updated for the changed customers only, equal to a full rebuild after any sequence of loads and undos."""

from __future__ import annotations

import pandas as pd

from engagement.workbench import open_workbench

from conftest import hand_fixture_frames


def _keys(store) -> dict[str, int]:
    return dict(store.cursor().execute("SELECT customer_id, customer_key FROM customer_summary").fetchall())


def test_a_customer_keeps_its_key_when_earlier_ids_arrive_and_through_an_undo():
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    before = _keys(store)
    assert sorted(before.values()) == [1, 2, 3, 4]
    # "0-new" sorts before every stored id: numbered over all customers it would take key 1 and shift the rest.
    summary = store.load_frame("orders", pd.DataFrame({
        "order_id": ["k1"], "customer_id": ["0-new"], "ordered_at": [pd.Timestamp("2025-03-02")],
        "net_revenue": [5.0], "status": ["paid"], "currency": ["USD"]}))
    after = _keys(store)
    assert {c: after[c] for c in before} == before
    assert after["0-new"] == 5
    store.undo(summary.load_id)
    assert _keys(store) == before
    store.refresh_derived()  # a full rebuild keeps the keys too
    assert _keys(store) == before
    store.close()
