"""Undo and what later loads name, and the Data page asks before any undo (issues 14 and 16).

Undoing a customers load that orders still named deleted all 2,000 customers under 8,573 orders (issue 14), and was
then refused. Since customers are implied by activity (issue 16), those customers stay, as implied customers without
the attributes the load gave them, and the undo says so. The hand fixture (tests/conftest.py) is loaded as load 1
customers (A-D), load 2 orders (A, B, C), load 3 surveys (A, B, C).
"""

from __future__ import annotations

import pandas as pd
import pytest

from intake_fixtures import intake_store, snapshot, table  # noqa: F401
from test_ingest import _data_page
from test_incremental_derived import _equals_a_rebuild


def test_undoing_customers_that_later_loads_name_leaves_them_implied_and_says_so(intake_store):
    """Before: customers A-D with their channels; orders and surveys of A, B and C. After undoing the customers load,
    A, B and C exist as implied customers (named by activity, no channel), D (named by nothing) is gone, and every
    order and survey is still there; the derived tables equal a full rebuild."""
    orders_before = table(intake_store, "SELECT * FROM orders ORDER BY order_id")
    note = intake_store.undo(1)
    # All 6 surveys (load 3) and 6 orders (load 2) name A, B or C; newest load first.
    assert note == ("3 customers of load 1 are named by 6 surveys of load 3, 6 orders of load 2: they stay as implied "
                    "customers, without the attributes this load gave them (acquisition channel, sign-up date, ...).")
    assert intake_store.table_counts()["customers"] == 0
    pd.testing.assert_frame_equal(table(intake_store, "SELECT * FROM orders ORDER BY order_id"), orders_before)
    summary = table(intake_store, "SELECT customer_id, is_implied FROM customer_summary ORDER BY customer_id")
    assert summary.values.tolist() == [["A", True], ["B", True], ["C", True]]
    _equals_a_rebuild(intake_store)
    assert intake_store.undo(2) is None and intake_store.undo(3) is None  # the rest undo as before


def test_a_customers_load_that_replaced_customers_brings_them_back(intake_store):
    # Load 4 updates A and adds E; load 5 is an order of E. A comes back on undo; E stays, implied by its order.
    intake_store.load_frame("customers", pd.DataFrame({
        "customer_id": ["A", "E"], "created_at": pd.to_datetime(["2024-11-01", "2025-03-01"]),
        "acquisition_channel": ["email", "referral"],
    }))
    intake_store.load_frame("orders", pd.DataFrame({
        "order_id": ["e1"], "customer_id": ["E"], "ordered_at": pd.to_datetime(["2025-03-02"]),
        "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"],
    }))
    assert intake_store.undo_preview(4).note.startswith("1 customers of load 4 are named by 1 orders of load 5:")
    intake_store.undo(4)
    assert table(intake_store, "SELECT acquisition_channel FROM customers WHERE customer_id = 'A'").iloc[0, 0] \
        == "paid_social"  # the fixture's row, restored
    assert table(intake_store, "SELECT is_implied FROM customer_summary WHERE customer_id = 'E'").iloc[0, 0]


def test_cli_undo_says_which_customers_stay_implied(intake_store, capsys):
    import json

    from engagement.cli import main

    db = intake_store.path
    intake_store.close()
    assert main(["undo", "1", "--db", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "undone" and out["note"].startswith("3 customers of load 1 are named by")


def test_data_page_asks_for_confirmation_before_an_undo(intake_store, monkeypatch):
    from engagement import ui
    from engagement.warehouse import access

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

        # The question names the customers that later loads name: they stay implied.
        button("data_undo_1").click().run()
        assert not at.exception, at.exception
        assert any("3 customers of load 1 are named by 6 surveys of load 3, 6 orders of load 2" in w.value
                   for w in at.warning)
        button("data_undo_confirm_1").click().run()
        assert not at.exception, at.exception
        assert ui.session._process_store().table_counts()["customers"] == 0
        assert ui.session._process_store().table_counts()["orders"] == 6

        # A load a later load replaced rows of: the page says why before asking, and offers no confirmation.
        store = ui.session._process_store()
        store.load_frame("orders", pd.DataFrame({
            "order_id": ["o1"], "customer_id": ["A"], "ordered_at": pd.to_datetime(["2025-03-02"]),
            "net_revenue": [99.0], "status": ["paid"], "currency": ["USD"],
        }), actor=access.CLI_ACTOR)
        at.run()
        button("data_undo_2").click().run()
        assert not at.exception, at.exception
        assert any("overwrote rows of load 2; undo load 4 first" in e.value for e in at.error)
        assert not [b for b in at.button if b.key == "data_undo_confirm_2"]
        button("data_undo_cancel_2").click().run()
        assert not any("overwrote rows" in e.value for e in at.error)
    finally:
        ui.session._process_store.clear()


def test_undo_refusal_says_what_undo_would_refuse(intake_store):
    """The Data page's question before an undo reads the same checks as the undo: nothing for a load that can go,
    the undo's own message for one that cannot."""
    assert intake_store.undo_preview(3).refusal is None and intake_store.undo_preview(1).refusal is None
    assert intake_store.undo_preview(99).refusal == "There is no load 99."
    intake_store.undo(3)
    assert intake_store.undo_preview(3).refusal.startswith("Load 3 was already undone at ")
    assert intake_store.undo_preview(3).note is None  # a refused undo leaves nothing behind to describe
    with pytest.raises(ValueError, match="already undone"):
        intake_store.undo(3)


def test_undoing_new_customers_of_the_demo_updates_the_derived_tables_in_place(monkeypatch):
    """The same undo on the demo (300 customers), where it touches few customers: the update takes the in-place
    path, not a rebuild, and still equals a full rebuild row for row."""
    from engagement.derived import refits as model_refits, update as derived_update
    from engagement.intake.ingest import ingest_demo
    from engagement.workbench import open_workbench

    monkeypatch.setattr(model_refits, "refit_due", lambda cur: False)
    touched = []
    update = derived_update.update_derived
    monkeypatch.setattr(derived_update, "update_derived", lambda *a: touched.append(update(*a)) or touched[-1])
    store = open_workbench(":memory:", read_only=False)
    try:
        ingest_demo(store, customers=300, seed=7)
        new = store.load_frame("customers", pd.DataFrame({
            "customer_id": ["N1", "N2", "N3"], "created_at": pd.to_datetime(["2025-03-01"] * 3),
            "acquisition_channel": ["email", "referral", "email"]})).load_id
        store.load_frame("orders", pd.DataFrame({
            "order_id": ["n1", "n2"], "customer_id": ["N1", "N2"], "ordered_at": pd.to_datetime(["2025-03-02"] * 2),
            "net_revenue": [10.0, 20.0], "status": ["paid", "paid"], "currency": ["USD", "USD"]}))
        assert store.undo(new).startswith("2 customers of load")
        assert touched[-1] is not None, "the undo rebuilt the derived tables whole"
        _equals_a_rebuild(store)
        implied = table(store, "SELECT customer_id, is_implied, acquisition_channel FROM customer_summary "
                               "WHERE customer_id LIKE 'N%' ORDER BY 1")
        assert implied.customer_id.tolist() == ["N1", "N2"] and implied.is_implied.all()
    finally:
        store.close()


def _naming(kind: str, customer_id: str) -> pd.DataFrame:
    """One row of ``kind`` naming ``customer_id`` (the hand fixture's survey kind and event types)."""
    at = pd.to_datetime(["2025-03-05 10:00"])
    rows = {
        "orders": {"order_id": ["x1"], "ordered_at": at, "net_revenue": [5.0], "status": ["paid"], "currency": ["USD"]},
        "events": {"event_id": ["x1"], "occurred_at": at, "event_type": ["email_open"]},
        "messages": {"campaign_id": ["EM-x"], "channel": ["email"], "sent_at": at},
        "surveys": {"response_id": ["x1"], "responded_at": at, "kind": ["nps"], "score": [9]},
        "experiment_assignments": {"experiment_id": ["EXP-x"], "variant": ["control"], "assigned_at": at},
    }[kind]
    return pd.DataFrame({"customer_id": [customer_id], **rows})


def test_the_kinds_that_make_a_customer_are_those_customer_facts_reads(intake_store):
    """IMPLYING_KINDS (the undo's note, the intake's note) against the derived tables: an id named by one row of
    each kind is a customer exactly when the kind is in it; a message alone makes none."""
    from engagement.warehouse.load_dependencies import IMPLYING_KINDS, NEEDS_CUSTOMERS

    for kind in NEEDS_CUSTOMERS:
        intake_store.load_frame(kind, _naming(kind, f"only-{kind}"))
    customers = set(table(intake_store, "SELECT customer_id FROM customer_summary WHERE customer_id LIKE 'only-%'")
                    .customer_id)
    assert customers == {f"only-{kind}" for kind in IMPLYING_KINDS}
    assert set(NEEDS_CUSTOMERS) - set(IMPLYING_KINDS) == {"messages"}


def test_a_message_alone_makes_no_customer_and_the_notes_say_so(intake_store, tmp_path):
    """The intake's note said a messages file's unknown ids were "kept as implied customers", and none was: a message
    is the brand's send. The undo of a customers load counted customers named only by messages as staying."""
    from engagement.intake.ingest import ingest_file

    path = tmp_path / "sends.csv"
    path.write_text("campaign_id,customer_id,channel,sent_at\nEM-1,NOBODY,email,2025-03-05 10:00\n"
                    "EM-1,A,email,2025-03-05 10:00\n")
    result = ingest_file(intake_store, "messages", path)
    assert result.status == "loaded", result.message
    assert result.notes == (
        "1 customer id(s) are in no customers export and named by no order, event, survey or experiment assignment: "
        "their messages load, but a message alone does not make a customer, so customer-level views leave them out "
        "until an export or activity names them.",)
    assert table(intake_store, "SELECT count(*) FROM customer_summary WHERE customer_id = 'NOBODY'").iloc[0, 0] == 0

    # D (customers load 1) is named by nothing else: messaged now, it is named only by a message.
    intake_store.load_frame("messages", _naming("messages", "D"))
    note = intake_store.undo_preview(1).note
    assert note.startswith("3 customers of load 1 are named by 6 surveys of load 3, 6 orders of load 2: they stay")
    assert note.endswith("1 more customers of load 1 are named only by 1 messages of load 5: a message alone does not "
                         "make a customer, so they leave the customer-level views (their messages stay loaded).")
    intake_store.undo(1)
    assert set(table(intake_store, "SELECT customer_id FROM customer_summary").customer_id) == {"A", "B", "C"}
