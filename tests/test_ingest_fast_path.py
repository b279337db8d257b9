"""The fast path for delimited files: typed straight from the file, rows numbered by position.

A canonical CSV is typed in the pass that reads it; its text table is read only when rows fail (to
quote them) or a column needs the forgiving parsers. These tests pin that the shortcut changes
nothing a user can see: values, row numbers, quarantine text, rejections; and that a clean file is
typed in one pass without its text table.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

import pytest

from engagement.intake import readers
from engagement.intake import staging
from engagement.intake.ingest import ingest_file

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table, write  # noqa: F401


def _clean_rows(count: int, prefix: str = "f") -> list[str]:
    return [f"{prefix}{i},A,2025-03-01 10:00:00,10.00,0,USD,web,paid" for i in range(count)]


@pytest.fixture()
def text_reads(monkeypatch):
    """Counts the times the text table of a file is actually read."""
    calls = []
    original = readers.read_text

    def counting(cur, info, display_name):
        if info.deferred_select is not None:
            calls.append(display_name)
        return original(cur, info, display_name)

    monkeypatch.setattr(readers, "read_text", counting)
    return calls


def test_a_clean_file_is_read_once_and_never_as_a_text_table(intake_store, tmp_path, text_reads):
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(_clean_rows(30)) + "\n")
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded" and result.summary.rows_loaded == 30
    assert text_reads == []
    assert result.read_info.rows == 30 and result.read_info.deferred_select is None
    # The checksum computed in the second thread is the file's (hashlib on the bytes here).
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_failing_rows_keep_their_row_numbers_and_their_text(intake_store, tmp_path, text_reads):
    rows = _clean_rows(6)
    rows[1] = 'f1,A,2025-03-01 10:00:00,10.00,0,USD,web,"paid, and noted"'  # row 3 (the header is row 1)
    rows[4] = "f4,A,2025-03-01 10:00:00,-3.00,0,USD,web,paid"               # row 6
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded" and text_reads == ["orders.csv"]
    quarantined = table(intake_store, "SELECT row_number, reason, row_json FROM quarantine ORDER BY row_number")
    assert quarantined.row_number.tolist() == [3, 6]  # row 3: unknown status; row 6: negative revenue
    assert "net_revenue is negative" in quarantined.reason.iloc[1]
    assert '"net_revenue":"-3.00"' in quarantined.row_json.iloc[1]
    assert '"status":"paid, and noted"' in quarantined.row_json.iloc[0]
    assert result.failing_rows.row_number.tolist() == [3, 6]
    s = result.summary
    assert (result.rows_read, s.rows_loaded, s.rows_quarantined) == (6, 4, 2)


def test_messy_cells_after_the_head_take_the_forgiving_parse(intake_store, tmp_path, text_reads, monkeypatch):
    monkeypatch.setattr(staging, "HEAD_ROWS", 5)  # the first look sees clean rows only
    rows = _clean_rows(40)
    rows[30] = 'm1,A,2025-03-01 10:00:00,"$1,234.50",0,USD,web,paid'
    rows[33] = "m2,B,2025-03-01 10:00:00 -0500,12.00,0,USD,web,paid"
    rows[36] = "m3,C,2025-03-01 10:00:00,twelve,0,USD,web,paid"  # row 38: unreadable either way
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded" and text_reads == ["orders.csv"]
    loaded = table(intake_store, "SELECT order_id, ordered_at, net_revenue FROM orders WHERE order_id LIKE 'm%' "
                                 "ORDER BY order_id")
    assert loaded.order_id.tolist() == ["m1", "m2"]
    assert loaded.net_revenue.tolist() == [Decimal("1234.50"), Decimal("12.00")]
    assert loaded.ordered_at.iloc[1] == datetime(2025, 3, 1, 15, 0)  # 10:00 at -05:00 is 15:00 UTC
    quarantined = table(intake_store, "SELECT row_number, reason FROM quarantine")
    assert quarantined.row_number.tolist() == [38] and "net_revenue is not a number" in quarantined.reason.iloc[0]


def test_a_broken_row_deep_in_the_file_rejects_it_whole(intake_store, tmp_path):
    rows = _clean_rows(3000)
    rows.insert(2500, "x1,A,2025-03-01 10:00:00,10.00,0,USD,web,paid,EXTRA,CELLS")
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected"
    assert "could not be read as ','-separated text" in result.message and "same number of columns" in result.message
    assert snapshot(intake_store) == before


def test_a_file_folded_by_its_source_is_folded_where_it_is_without_a_text_table(intake_store, tmp_path, text_reads):
    # Issue 16's speed goal: the fold reads the file once, numbering its rows as it reads them (no text copy),
    # and the file's rows are the lines it folded.
    header = "Name,Email,Created at,Financial Status,Fulfillment Status,Currency,Lineitem quantity,Lineitem price"
    lines = ["#1,a@example.com,2025-03-01 10:00:00,paid,fulfilled,USD,1,10.00", "#1,,,,,,2,5.00"]
    path = write(tmp_path, "shopify.csv", header + "\n" + "\n".join(lines) + "\n")
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert result.source_format == "shopify" and text_reads == []
    assert result.rows_read == 1 and result.read_info.rows == 2  # two line items, one order


def test_row_numbers_hold_in_a_file_read_in_parallel_chunks(intake_store, tmp_path):
    # 300,000 rows span several row groups and CSV buffers, read by more than one thread: numbering by
    # position must follow the file, whatever order the lookups (the customer join) return rows in.
    rows = [f"#{i},{'ABCD'[i % 4]},2025-03-01 10:00:00,10.00,0,USD,web,paid" for i in range(300_000)]
    for position in (7, 123_456, 299_998):
        rows[position] = f"#{position},A,2025-03-01 10:00:00,-{position},0,USD,web,paid"
    rows[200_001] = "#200001,NOBODY,2025-03-01 10:00:00,10.00,0,USD,web,paid"
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    # Strict customers: the unknown id is a failing row here (by default it would be an implied customer).
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine", strict_customers=True)
    assert result.status == "loaded", result.message
    quarantined = table(intake_store, "SELECT row_number, reason, row_json FROM quarantine ORDER BY row_number")
    assert quarantined.row_number.tolist() == [9, 123_458, 200_003, 300_000]  # data row i is row i + 2
    for row_number, row_json in zip(quarantined.row_number, quarantined.row_json):
        assert f'"order_id":"#{row_number - 2}"' in row_json
    assert quarantined.reason.iloc[2] == "customer_id is not a known customer"
    assert table(intake_store, "SELECT count(*) AS n FROM orders WHERE order_id LIKE '#%'").n.iloc[0] == 299_996
