"""The load path: formats, sources (Shopify, Klaviyo, mappings), idempotent upserts, undo, archive, CLI."""

from __future__ import annotations

import gzip
import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from engagement.intake.ingest import ingest_file, load_history, quarantined_rows
from engagement.intake.saved_mappings import save_mapping, saved_mappings
from engagement.intake.sources import detect_source
from engagement.workbench import open_workbench

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table, write  # noqa: F401

ORDERS_CSV = ORDERS_HEADER + "\n" + "\n".join([
    "p1,A,2025-04-01 09:00:00,40.00,5.00,USD,web,paid",
    "p2,B,2025-04-02 10:00:00,25.50,0,USD,mobile_app,fulfilled",
    "p3,C,2025-04-03 11:00:00,12.25,,USD,pos,refunded",
]) + "\n"


def _identity(result) -> None:
    s = result.summary
    assert result.rows_read == s.rows_loaded + s.rows_updated + s.rows_quarantined


def test_canonical_csv_loads_and_is_recorded(intake_store, tmp_path):
    path = write(tmp_path, "orders-april.csv", ORDERS_CSV)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded" and result.source_format == "canonical"
    assert (result.rows_read, result.summary.rows_loaded, result.summary.rows_updated) == (3, 3, 0)
    _identity(result)
    load = table(intake_store, f"SELECT * FROM loads WHERE load_id = {result.summary.load_id}").iloc[0]
    assert load.file_name == "orders-april.csv" and load.kind == "orders"
    assert load.sha256 == result.sha256 and len(load.sha256) == 64
    summary = json.loads(load.validation_summary)
    assert summary["success"] is True and len(summary["expectations"]) >= 10
    # The raw file is archived byte for byte next to the database.
    archived = Path(result.archive_path)
    assert archived.parent == Path(intake_store.path).parent / "archive"
    assert archived.read_bytes() == path.read_bytes()


def test_reloading_the_same_or_overlapping_export_never_double_counts(intake_store, tmp_path):
    first = ingest_file(intake_store, "orders", write(tmp_path, "a.csv", ORDERS_CSV))
    total = table(intake_store, "SELECT count(*) AS n, sum(net_revenue) AS r FROM orders").iloc[0]
    again = ingest_file(intake_store, "orders", write(tmp_path, "b.csv", ORDERS_CSV))
    assert (again.summary.rows_loaded, again.summary.rows_updated) == (0, 3)
    _identity(again)
    assert table(intake_store, "SELECT count(*) AS n, sum(net_revenue) AS r FROM orders").iloc[0].tolist() == \
        total.tolist()
    overlap = ORDERS_HEADER + "\np3,C,2025-04-03 11:00:00,99.00,,USD,pos,paid\np4,D,2025-04-04,10,,USD,web,paid\n"
    third = ingest_file(intake_store, "orders", write(tmp_path, "c.csv", overlap))
    assert (third.summary.rows_loaded, third.summary.rows_updated) == (1, 1)
    assert table(intake_store, "SELECT net_revenue FROM orders WHERE order_id = 'p3'").net_revenue[0] == Decimal("99.00")
    assert first.summary.load_id < again.summary.load_id < third.summary.load_id


def test_undo_restores_the_previous_state_exactly(intake_store, tmp_path):
    ingest_file(intake_store, "orders", write(tmp_path, "a.csv", ORDERS_CSV))
    before = snapshot(intake_store)
    derived_before = table(intake_store, "SELECT * FROM customer_summary ORDER BY customer_id")
    changed = ORDERS_HEADER + "\np1,A,2025-04-01 09:00:00,400.00,5.00,USD,web,paid\np9,D,2025-04-09,7,,USD,web,paid\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "b.csv", changed))
    assert table(intake_store, "SELECT revenue FROM customer_summary WHERE customer_id = 'A'").revenue[0] != \
        derived_before.set_index("customer_id").loc["A", "revenue"]
    intake_store.undo(result.summary.load_id)
    after = snapshot(intake_store)
    loads_after = after.pop("loads")
    loads_before = before.pop("loads")
    assert after == before  # every canonical, replaced and quarantine row as before
    assert len(loads_after) == len(loads_before) + 1  # the undone load stays in the history, marked undone
    pd.testing.assert_frame_equal(table(intake_store, "SELECT * FROM customer_summary ORDER BY customer_id"),
                                  derived_before)
    history = load_history(intake_store)
    assert history.loc[history.load_id == result.summary.load_id, "undone_at"].notna().all()


def test_quarantine_keeps_reason_row_number_and_original_text(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nq1,A,2025-04-01,10,0,USD,web,paid\nq2,A,2025-04-01,-3,0,USD,web,paid\n" \
                           "q3,A,2025-04-01,5,0,USD,web,lost_in_post\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "q.csv", text), on_invalid="quarantine")
    assert (result.summary.rows_loaded, result.summary.rows_quarantined) == (1, 2)
    _identity(result)
    rows = quarantined_rows(intake_store, result.summary.load_id)
    assert rows.row_number.tolist() == [3, 4]
    assert rows.reason.tolist() == ["net_revenue is negative", "status is not a known order status"]
    assert json.loads(rows.row_json[0])["net_revenue"] == "-3"  # the cell as written in the file


@pytest.mark.parametrize("fmt", ["tsv", "csv.gz", "parquet", "xlsx"])
def test_other_formats_give_the_same_rows(intake_store, tmp_path, fmt):
    frame = pd.read_csv(pd.io.common.StringIO(ORDERS_CSV), dtype=str, keep_default_na=False)
    path = tmp_path / f"orders.{fmt}"
    if fmt == "tsv":
        path.write_text(frame.to_csv(sep="\t", index=False), encoding="utf-8")
    elif fmt == "csv.gz":
        path.write_bytes(gzip.compress(ORDERS_CSV.encode()))
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_excel(path, index=False)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded", result.message
    assert result.read_info.file_format == fmt
    got = table(intake_store, "SELECT order_id, customer_id, net_revenue, discount, status FROM orders "
                              "WHERE order_id LIKE 'p%' ORDER BY 1")
    assert got.order_id.tolist() == ["p1", "p2", "p3"]
    assert [float(x) for x in got.net_revenue] == [40.0, 25.5, 12.25]


SHOPIFY_ORDERS = """Name,Email,Financial Status,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Refunded Amount,Cancelled at,Source
#1001,Ann@Example.com,paid,fulfilled,USD,45.00,5.00,3.00,53.00,WELCOME,5.00,2025-03-01 10:00:00 -0500,2,Beans 250g,15.00,0.00,,web
#1001,,,,,,,,,,,,1,Grinder,20.00,,,
#1002,bob@example.com,partially_refunded,fulfilled,USD,30.00,0.00,0.00,30.00,,0.00,2025-03-02 09:30:00 +0100,3,Beans 1kg,10.00,8.00,,iphone
#1003,ann@example.com,voided,,USD,12.00,0.00,0.00,12.00,,0.00,2025-03-03 12:00:00 -0500,1,Mug,12.00,0.00,2025-03-03 13:00:00 -0500,pos
"""

SHOPIFY_CUSTOMERS = """First Name,Last Name,Email,Accepts Email Marketing,Default Address Country Code,Total Spent,Total Orders,Created At
Ann,Lee,ann@example.com,yes,US,53.00,2,2025-02-20 08:00:00 -0500
Bob,Ray,BOB@example.com,no,GB,30.00,1,2025-02-21 08:00:00 +0000
"""


def test_shopify_exports_fold_line_items_into_orders(intake_store, tmp_path):
    assert detect_source(tuple(SHOPIFY_ORDERS.splitlines()[0].split(","))) == "shopify"
    customers = ingest_file(intake_store, "customers", write(tmp_path, "customers_export.csv", SHOPIFY_CUSTOMERS))
    assert customers.status == "loaded" and customers.source_format == "shopify", customers.message
    result = ingest_file(intake_store, "orders", write(tmp_path, "orders_export.csv", SHOPIFY_ORDERS))
    assert result.status == "loaded", result.message
    assert result.rows_read == 3  # four line-item rows, three orders
    got = table(intake_store, "SELECT order_id, customer_id, CAST(ordered_at AS VARCHAR) AS at_utc, net_revenue, "
                              "discount, channel, status FROM orders WHERE order_id LIKE '#%' ORDER BY 1")
    # Hand calculation: #1001 = 2 x 15.00 + 1 x 20.00 - 5.00 discount - 0 refunded = 45.00;
    # #1002 = 3 x 10.00 - 0 - 8.00 refunded = 22.00; #1003 = 12.00, cancelled (voided and Cancelled at set).
    assert got.net_revenue.tolist() == [Decimal("45.00"), Decimal("22.00"), Decimal("12.00")]
    assert got.customer_id.tolist() == ["ann@example.com", "bob@example.com", "ann@example.com"]
    assert got.status.tolist() == ["fulfilled", "partially_refunded", "cancelled"]
    assert got.channel.tolist() == ["web", "mobile_app", "pos"]
    # 10:00 at -05:00 is 15:00 UTC; 09:30 at +01:00 is 08:30 UTC.
    assert got.at_utc.tolist()[:2] == ["2025-03-01 15:00:00", "2025-03-02 08:30:00"]
    assert table(intake_store, "SELECT count(*) AS n FROM customers WHERE customer_id = 'bob@example.com'").n[0] == 1


KLAVIYO_PROFILES = """Email,First Name,Klaviyo ID,Country,Created,Email Marketing Consent
cleo@example.com,Cleo,01HZX1,FR,2025-01-05 10:00:00,SUBSCRIBED
dan@example.com,Dan,01HZX2,DE,2025-01-06 10:00:00,UNSUBSCRIBED
"""
KLAVIYO_EVENTS = """Metric Name,Email,Timestamp,Campaign Name,Flow Name
Received Email,cleo@example.com,2025-02-01 08:00:00,Spring launch,
Opened Email,cleo@example.com,2025-02-01 09:00:00,Spring launch,
Clicked Email,cleo@example.com,2025-02-01 09:01:00,Spring launch,
Received SMS,dan@example.com,2025-02-02 08:00:00,,Winback
Clicked SMS,dan@example.com,2025-02-02 08:05:00,,Winback
"""


def test_klaviyo_profiles_events_and_messages(intake_store, tmp_path):
    profiles = ingest_file(intake_store, "customers", write(tmp_path, "profiles.csv", KLAVIYO_PROFILES))
    assert profiles.status == "loaded" and profiles.source_format == "klaviyo", profiles.message
    consent = table(intake_store, "SELECT customer_id, accepts_marketing FROM customers "
                                  "WHERE customer_id LIKE '%@example.com' ORDER BY 1")
    assert consent.accepts_marketing.tolist() == [True, False]
    events = ingest_file(intake_store, "events", write(tmp_path, "metrics.csv", KLAVIYO_EVENTS))
    assert events.status == "loaded", events.message
    got = table(intake_store, "SELECT event_type, channel, campaign_id FROM events ORDER BY occurred_at")
    assert got.event_type.tolist() == ["email_open", "email_click", "sms_delivered", "sms_click"]
    assert got.campaign_id.tolist() == ["Spring launch", "Spring launch", "Winback", "Winback"]
    messages = ingest_file(intake_store, "messages", write(tmp_path, "metrics2.csv", KLAVIYO_EVENTS))
    assert messages.status == "loaded", messages.message
    sends = table(intake_store, "SELECT campaign_id, customer_id, channel FROM messages ORDER BY sent_at")
    assert sends.values.tolist() == [["Spring launch", "cleo@example.com", "email"],
                                     ["Winback", "dan@example.com", "sms"]]
    # Reloading the same event export is idempotent (event ids derived from the row's content).
    again = ingest_file(intake_store, "events", write(tmp_path, "metrics3.csv", KLAVIYO_EVENTS))
    assert (again.summary.rows_loaded, again.summary.rows_updated) == (0, 4)


def test_unknown_layout_is_mapped_and_the_mapping_reused(intake_store, tmp_path):
    text = "Order #,Client,Placed,Amount,State\nx1,A,2025-04-01,10.00,paid\nx2,B,2025-04-02,12.00,paid\n"
    path = write(tmp_path, "erp.csv", text)
    refused = ingest_file(intake_store, "orders", path)
    assert refused.status == "rejected" and "Missing required columns" in refused.message
    mapping = {"order_id": "Order #", "customer_id": "Client", "ordered_at": "Placed", "net_revenue": "Amount",
               "status": "State"}
    cur = intake_store.cursor()
    save_mapping(cur, "erp orders", "orders", tuple(text.splitlines()[0].split(",")), mapping)
    assert saved_mappings(cur, "orders")[0]["mapping"] == mapping  # stored in the database
    result = ingest_file(intake_store, "orders", write(tmp_path, "erp-may.csv", text))
    assert result.status == "loaded", result.message
    assert any("saved column mapping 'erp orders'" in n for n in result.notes)
    assert table(intake_store, "SELECT count(*) AS n FROM orders WHERE order_id IN ('x1', 'x2')").n[0] == 2


def test_a_mapping_names_only_what_differs(intake_store, tmp_path):
    """``--map "amount=net_revenue"`` on a file whose other columns have our names: the other fields read their
    own columns (they were all missing: "Missing required columns for orders: order_id, customer_id, ..."). A
    field mapped to None (the Data page's "—") is not read, even from a column of its name."""
    text = "order_id,customer_id,ordered_at,amount,discount,status\ny1,A,2025-04-01,10.00,1.50,paid\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "partial.csv", text),
                         mapping={"net_revenue": "amount"})
    assert result.status == "loaded", result.message
    row = table(intake_store, "SELECT customer_id, net_revenue, discount, status FROM orders WHERE order_id = 'y1'")
    assert row.values.tolist() == [["A", Decimal("10.00"), Decimal("1.50"), "paid"]]
    again = ingest_file(intake_store, "orders", write(tmp_path, "partial2.csv", text.replace("y1", "y2")),
                        mapping={"net_revenue": "amount", "discount": None})
    assert again.status == "loaded", again.message
    assert table(intake_store, "SELECT discount FROM orders WHERE order_id = 'y2'").discount.isna().all()
    # A column the mapping reads for another field is not read again under its own name.
    swapped = "order_id,customer_id,ordered_at,net_revenue,status\nz1,A,2025-04-01,3.00,paid\n"
    both = ingest_file(intake_store, "orders", write(tmp_path, "swapped.csv", swapped),
                       mapping={"customer_id": "order_id", "order_id": "customer_id"})
    assert both.status == "loaded", both.message
    assert table(intake_store, "SELECT order_id FROM orders WHERE customer_id = 'z1'").order_id.tolist() == ["A"]


def test_the_demo_went_through_validation(demo_store):
    loads = demo_store.loads()
    assert set(loads.kind) == {"customers", "orders", "events", "messages", "surveys",
                               "experiment_assignments", "program_costs", "experiments"}
    for row in loads.itertuples():
        summary = json.loads(row.validation_summary)
        assert summary["success"] is True and summary["expectations"], row.kind
        assert row.rows_read == row.rows_loaded + row.rows_updated + row.rows_quarantined


def test_cli_validate_ingest_undo_exit_codes(intake_store, tmp_path, capsys):
    from engagement.cli import main

    db = intake_store.path
    intake_store.close()
    good = write(tmp_path, "good.csv", ORDERS_CSV)
    assert main(["validate", "orders", str(good), "--db", db]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "valid" and report["load_id"] is None
    assert main(["ingest", "orders", str(good), "--db", db]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_updated")} == \
        {"rows_read": 3, "rows_loaded": 3, "rows_quarantined": 0, "rows_updated": 0}
    assert main(["undo", str(summary["load_id"]), "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "undone"
    assert main(["undo", str(summary["load_id"]), "--db", db]) == 1
    assert "already undone" in capsys.readouterr().err
    assert main(["ingest", "invoices", str(good), "--db", db]) == 2  # usage error: unknown kind
    assert main(["ingest", "orders", str(tmp_path / "missing.csv"), "--db", db]) == 1


# ------------------------------------------------------------------ Data page
def _data_page(db_path, monkeypatch, read_only: bool):
    from streamlit.testing.v1 import AppTest

    from engagement import ui

    monkeypatch.setenv("ENGAGEMENT_DB", str(db_path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1" if read_only else "0")
    # Under AppTest, Streamlit's legacy pages flag is set again on every run, so require_app_shell()
    # would st.rerun() each run and swallow button clicks; a real server clears it once for good.
    monkeypatch.setattr(ui.session, "require_app_shell", lambda: None)
    ui.session._process_store.clear()  # the store is a process-wide resource; point it at this database
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    return at


def _upload(at, name: str, text: str) -> None:
    """Drop ``text`` on the Data page's uploader as the file ``name``."""
    at.get("file_uploader")[0].set_value((name, text.encode(), "text/csv"))
    at.run()


def _validate_and_load(at) -> None:
    next(b for b in at.button if b.label.startswith("Validate and load")).click().run()


def test_data_page_read_only_shows_history_without_controls(demo_db_path, monkeypatch):
    from engagement import ui

    at = _data_page(demo_db_path, monkeypatch, read_only=True)
    try:
        assert not at.exception
        assert any("read-only" in i.value for i in at.info)
        assert not at.get("file_uploader")
        assert not [b for b in at.button if b.label == "Undo"]
        assert at.dataframe  # the load history
    finally:
        ui.session._process_store.clear()


def test_data_page_uploads_validates_loads_and_undoes(intake_store, monkeypatch):
    from engagement import ui

    db = intake_store.path
    intake_store.close()
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        assert not at.exception, at.exception
        text = ORDERS_HEADER + "\nw1,A,2025-04-01,10,0,USD,web,paid\nw2,A,2025-04-01,-1,0,USD,web,paid\n"
        _upload(at, "weekly.csv", text)
        at.radio(key="data_on_invalid").set_value("quarantine").run()
        _validate_and_load(at)
        assert not at.exception, at.exception
        assert any("Loaded 1 of 2 rows" in s.value for s in at.success)
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Rows quarantined"] == "1" and metrics["Rows read"] == "2"
        undo = [b for b in at.button if b.label == "Undo"]
        assert undo, "each active load has an Undo button"
        undo[0].click().run()
        next(b for b in at.button if b.label == "Confirm undo").click().run()  # the page asks first (issue 14)
        assert not at.exception
        store = ui.session._process_store()
        assert store.table_counts()["orders"] == 6  # back to the hand fixture's six orders
    finally:
        ui.session._process_store.clear()


def test_data_page_shows_failing_and_quarantined_rows_as_the_file_had_them(intake_store, monkeypatch):
    """A failing guest order (no customer id) showed Streamlit's grey "None" in its customer_id cell, as if the file
    said None: the failing rows and the quarantined rows now show the file's empty cell as empty."""
    from engagement import ui

    db = intake_store.path
    intake_store.close()
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        text = ORDERS_HEADER + "\ng1,,2025-04-01,-1,0,USD,web,paid\ng2,A,2025-04-01,10,0,USD,web,paid\n"
        _upload(at, "guests.csv", text)
        at.radio(key="data_on_invalid").set_value("quarantine").run()
        _validate_and_load(at)
        assert not at.exception, at.exception
        failing = next(d.value for d in at.dataframe if "reason" in d.value.columns and "row_json" not in d.value)
        assert failing[["row_number", "order_id", "customer_id"]].values.tolist() == [[2, "g1", ""]]
        at.run()
        quarantined = at.dataframe[-2].value  # above the audit trail
        assert quarantined.loc[quarantined["order_id"] == "g1", "customer_id"].tolist() == [""], quarantined
        # The audit trail writes its moments as the load history does (it wrote 2026-12-07 09:02:16), with seconds.
        latest = next(t.value for t in at.text if t.value.startswith("Latest:"))
        assert re.search(r"· \d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC$", latest), latest
        trail = json.loads(at.dataframe[-1].proto.columns)
        assert trail["acted_at"]["type_config"]["format"] == "D MMM YYYY, HH:mm:ss", trail["acted_at"]
    finally:
        ui.session._process_store.clear()


def test_the_load_notes_count_what_loads(intake_store, tmp_path):
    """The notes' counts of implied customers and guest orders are those of the rows that load: Online Retail's two
    quarantined orders have no customer id, and the note said 3,710 guest orders where 3,708 loaded (the Data page's
    number). A file of guest orders counted the missing id as one more implied customer when no customers export
    was loaded (NULL NOT IN an empty set is true)."""
    header = "order_id,customer_id,ordered_at,net_revenue,status\n"
    text = header + "q1,,2025-05-01,10.00,paid\nq2,,2025-05-02,-5.00,paid\nq3,NEWCUST,2025-05-03,7.00,paid\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "q.csv", text), on_invalid="quarantine")
    assert result.status == "loaded" and result.summary.rows_quarantined == 1, result.message
    said = " ".join(result.notes)
    assert "1 guest order(s) have no customer id" in said and "1 customer id(s) are in no customers" in said, said

    empty = open_workbench(tmp_path / "empty.duckdb", read_only=False)  # no customers table rows at all
    try:
        clean = header + "g1,,2025-05-01,10.00,paid\ng2,,2025-05-02,5.00,paid\nz1,ZED,2025-05-03,7.00,paid\n"
        loaded = ingest_file(empty, "orders", write(tmp_path, "g.csv", clean))
        assert loaded.status == "loaded", loaded.message
        said = " ".join(loaded.notes)
        assert "2 guest order(s)" in said and "1 customer id(s) are in no customers export" in said, said
    finally:
        empty.close()


def test_data_page_report_marks_checks_of_absent_columns_not_applicable(intake_store, monkeypatch):
    """A check on a column the file lacks checked nothing: the report listed it as "pass" with "None" for its
    counts (as it did for the file-level checks, which have no row count). It is now "n/a", last, with its reason,
    and a count that does not exist is a blank cell."""
    from engagement import ui

    db = intake_store.path
    intake_store.close()
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        text = "order_id,customer_id,ordered_at,net_revenue,status\nv1,A,2025-04-01,10,paid\nv2,A,2025-04-02,-1,paid\n"
        _upload(at, "no_discount.csv", text)
        next(b for b in at.button if b.label == "Validate only").click().run()
        assert not at.exception, at.exception
        report = at.dataframe[0].value
        by_check = report.set_index("description")
        assert by_check.loc["discount is not a number", "result"] == "n/a"
        assert by_check.loc["discount is not a number", "note"] == "not applicable: the file has no such column"
        assert by_check.loc["net_revenue is negative", ["result", "Unexpected rows", "Unexpected %"]].tolist() == [
            "FAIL", "1", "50.0%"]
        assert by_check.loc["has an order_id column", ["result", "Unexpected rows"]].tolist() == ["pass", ""]
        assert report.result.tolist()[0] == "FAIL" and set(report.result.tolist()[-3:]) == {"n/a"}
        cells = report[["Unexpected rows", "Unexpected %", "Rows checked"]].to_numpy().ravel().tolist()
        assert None not in cells and not any(pd.isna(c) for c in cells)
        assert any("3 not applicable (the file has no such column)" in c.value for c in at.caption)
        from engagement.ui.uploads import _share

        assert [_share(p) for p in (None, 0.0, 2 / 25_900 * 100, 0.05, 14.27)] == ["", "0.0%", "<0.1%", "0.1%", "14.3%"]
    finally:
        ui.session._process_store.clear()


def test_the_data_pages_activity_line_names_only_what_there_is():
    """CDNOW (orders of customers no customers export names, no guest orders) read "23,570 implied customers ...
    0 guest orders without a customer id ..."."""
    from engagement.ui.uploads import activity_caption

    only_implied = activity_caption({"implied_customers": 23_570, "guest_orders": 0})
    assert only_implied.startswith("23,570 implied customers:") and "guest" not in only_implied
    only_guests = activity_caption({"implied_customers": 0, "guest_orders": 3_708})
    assert only_guests.startswith("3,708 guest orders without a customer id") and "implied" not in only_guests
    assert activity_caption({"implied_customers": 0, "guest_orders": 0}) is None


def test_data_page_fixed_values_name_what_the_file_lacks(intake_store, monkeypatch):
    """A file without a currency column (Online Retail's) could be given one on the CLI (--map currency=GBP) but not
    on the Data page unless a required column was missing. A typed value that names no field refuses the run."""
    from engagement import ui

    db = intake_store.path
    intake_store.close()
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        text = "order_id,customer_id,ordered_at,net_revenue,status\nf1,A,2025-04-01,10,paid\n"
        _upload(at, "pounds.csv", text)
        at.text_input(key="data_fixed_values").set_value("colour=blue").run()
        _validate_and_load(at)
        assert any("names no orders field" in e.value for e in at.error), [e.value for e in at.error]
        assert not at.success  # nothing ran
        at.text_input(key="data_fixed_values").set_value("currency=USD").run()  # the stored orders' currency
        _validate_and_load(at)
        assert not at.exception, at.exception
        said = [e.value for e in [*at.error, *at.warning, *at.info]]
        assert any("Loaded 1 of 1 rows" in s.value for s in at.success), said
        store = ui.session._process_store()
        assert store.cursor().execute("SELECT currency FROM orders WHERE order_id = 'f1'").fetchall() == [("USD",)]
    finally:
        ui.session._process_store.clear()
