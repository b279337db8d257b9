"""Undo respects dependencies, and the Data page asks before any undo (issue 14).

Undoing a customers load that orders still needed deleted all 2,000 customers under 8,573 orders. The hand
fixture (tests/conftest.py) is loaded as load 1 customers (A-D), load 2 orders (A, B, C), load 3 surveys (A, B, C).
"""

from __future__ import annotations

import pandas as pd
import pytest

from engagement.warehouse.load_dependencies import UndoBlocked

from intake_fixtures import intake_store, snapshot, table  # noqa: F401
from test_ingest import _data_page


def test_undoing_customers_that_orders_still_need_is_refused_naming_the_loads(intake_store):
    before = snapshot(intake_store)
    with pytest.raises(UndoBlocked) as refused:
        intake_store.undo(1)
    message = str(refused.value)
    # All 6 surveys (load 3) and 6 orders (load 2) name A, B or C (tests/conftest.py); newest load first.
    assert "6 surveys of load 3" in message and "6 orders of load 2" in message
    assert "Undo load 3, then 2 first" in message
    assert snapshot(intake_store) == before  # nothing changed
    intake_store.undo(3)
    intake_store.undo(2)
    intake_store.undo(1)  # nothing names them any more
    assert intake_store.table_counts()["customers"] == 0


def test_a_customers_load_that_replaced_customers_can_leave_them_behind(intake_store):
    # Load 4 updates A and adds E; load 5 is an order of E. A comes back on undo, E does not.
    intake_store.load_frame("customers", pd.DataFrame({
        "customer_id": ["A", "E"], "created_at": pd.to_datetime(["2024-11-01", "2025-03-01"]),
        "acquisition_channel": ["email", "referral"],
    }))
    intake_store.load_frame("orders", pd.DataFrame({
        "order_id": ["e1"], "customer_id": ["E"], "ordered_at": pd.to_datetime(["2025-03-02"]),
        "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"],
    }))
    with pytest.raises(UndoBlocked, match=r"1 orders of load 5 name customers only this load holds"):
        intake_store.undo(4)
    intake_store.undo(5)
    intake_store.undo(4)
    assert table(intake_store, "SELECT acquisition_channel FROM customers WHERE customer_id = 'A'").iloc[0, 0] \
        == "paid_social"  # the fixture's row, restored


def test_cli_undo_refusal_names_the_loads(intake_store, capsys):
    from engagement.cli import main

    db = intake_store.path
    intake_store.close()
    assert main(["undo", "1", "--db", db]) == 1
    assert "Undo load 3, then 2 first" in capsys.readouterr().err


def test_data_page_asks_for_confirmation_before_an_undo(intake_store, monkeypatch):
    from engagement import ui

    db = intake_store.path
    intake_store.close()
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        def button(key):
            return next(b for b in at.button if b.key == key)

        button("data_undo_3").click().run()
        assert not at.exception, at.exception
        assert ui.session._process_store().table_counts()["surveys"] == 6  # one click undoes nothing
        assert any("Undo load #3 (surveys)?" in w.value for w in at.warning)
        button("data_undo_cancel_3").click().run()
        assert not [b for b in at.button if b.key == "data_undo_confirm_3"]
        assert ui.session._process_store().table_counts()["surveys"] == 6

        # Customers still named by loads 2 and 3: the page says why before asking, and offers no confirmation
        # (it asked first, and only the confirmed undo was refused).
        button("data_undo_1").click().run()
        assert not at.exception, at.exception
        assert any("Undo load 3, then 2 first" in e.value for e in at.error)
        assert not [b for b in at.button if b.key == "data_undo_confirm_1"]
        assert not any("Undo load #1" in w.value for w in at.warning)
        button("data_undo_cancel_1").click().run()
        assert not any("Undo load 3, then 2 first" in e.value for e in at.error)
        assert ui.session._process_store().table_counts()["customers"] == 4

        button("data_undo_3").click().run()
        button("data_undo_confirm_3").click().run()
        assert not at.exception, at.exception
        assert ui.session._process_store().table_counts()["surveys"] == 0
    finally:
        ui.session._process_store.clear()


def test_undo_refusal_says_what_undo_would_refuse(intake_store):
    """The Data page's question before an undo reads the same checks as the undo: nothing for a load that can go,
    the undo's own message for one that cannot."""
    assert intake_store.undo_refusal(3) is None
    assert "Undo load 3, then 2 first" in intake_store.undo_refusal(1)
    assert intake_store.undo_refusal(99) == "There is no load 99."
    intake_store.undo(3)
    assert intake_store.undo_refusal(3).startswith("Load 3 was already undone at ")
