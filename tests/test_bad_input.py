"""Every bad input of issue 3: a clear message naming the problem and the fix, and the database unchanged.

Each rejection test takes a snapshot of every table a load can touch (canonical tables, replaced_*,
loads, quarantine) before the attempt and compares it after. Accepted oddities (Latin-1, BOM,
decimal commas, mixed dates, extra columns, formula-looking cells) are checked for correct values.
"""

from __future__ import annotations

import gzip
import os
from decimal import Decimal
from pathlib import Path

import pytest

from engagement.exports import to_safe_csv
from engagement.intake.ingest import ingest_file

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table, write  # noqa: F401

CUSTOMERS_HEADER = "customer_id,email,created_at,acquisition_channel,country"


def _rejected(store, tmp_path, kind, name, text, *, encoding="utf-8", **kwargs):
    before = snapshot(store)
    result = ingest_file(store, kind, write(tmp_path, name, text, encoding), **kwargs)
    assert result.status == "rejected", result.message
    assert snapshot(store) == before, "a rejected file changed the database"
    assert not (tmp_path / "db" / "archive").exists() or not any((tmp_path / "db" / "archive").iterdir())
    return result


def test_empty_file(intake_store, tmp_path):
    result = _rejected(intake_store, tmp_path, "orders", "orders.csv", "")
    assert "orders.csv is empty (0 bytes)" in result.message and "Export the data again" in result.message


def test_whitespace_only_file(intake_store, tmp_path):
    result = _rejected(intake_store, tmp_path, "orders", "orders.csv", "\n\n  \n")
    assert "is empty" in result.message


def test_header_only(intake_store, tmp_path):
    result = _rejected(intake_store, tmp_path, "orders", "orders.csv", ORDERS_HEADER + "\n")
    assert "has a header but no data rows" in result.message and "date range" in result.message


def test_binary_data_named_csv(intake_store, tmp_path):
    before = snapshot(intake_store)
    path = tmp_path / "orders.csv"
    path.write_bytes(bytes(range(256)) * 64)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected"
    assert "is not a text file" in result.message and "Export the table as CSV (UTF-8)" in result.message
    assert snapshot(intake_store) == before


def test_corrupt_gzip(intake_store, tmp_path):
    before = snapshot(intake_store)
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress((ORDERS_HEADER + "\no9,A,2025-01-01,1,0,USD,web,paid\n").encode())[:30])
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected" and "could not be decompressed" in result.message
    assert snapshot(intake_store) == before


def test_latin1_is_read_without_garbling(intake_store, tmp_path):
    text = CUSTOMERS_HEADER + "\nE,josé@example.com,2025-01-01,referral,FR\nF,zoë@example.com,2025-01-02,referral,DE\n"
    result = ingest_file(intake_store, "customers", write(tmp_path, "c.csv", text, "latin-1"))
    assert result.status == "loaded", result.message
    assert result.read_info.encoding == "latin-1" and any("Latin-1" in n for n in result.notes)
    emails = table(intake_store, "SELECT email FROM customers WHERE customer_id IN ('E', 'F') ORDER BY 1").email
    assert list(emails) == ["josé@example.com", "zoë@example.com"]


def test_utf8_with_bom_keeps_the_first_column_name(intake_store, tmp_path):
    text = "\ufeff" + CUSTOMERS_HEADER + "\nE,żaneta@example.com,2025-01-01,referral,PL\n"
    result = ingest_file(intake_store, "customers", write(tmp_path, "c.csv", text))
    assert result.status == "loaded", result.message
    assert table(intake_store, "SELECT email FROM customers WHERE customer_id = 'E'").email[0] == "żaneta@example.com"


@pytest.mark.parametrize("compressed", [False, True])
def test_mixed_line_endings_are_read_with_one_kind(intake_store, tmp_path, compressed):
    """A header written by one tool (LF) over rows exported on Windows (CR LF), as CDNOW_master.txt with a header
    line added: DuckDB reads one kind of line ending per file and refused it ("Error when sniffing file"). The
    file is read through a copy with LF alone; the archive keeps the bytes the user gave."""
    import hashlib

    raw = (ORDERS_HEADER + "\n" + "m1,A,2025-01-01,10.00,0,USD,web,paid\r\n"
           + 'm2,B,2025-01-02,20.50,0,USD,"web\r\nshop",paid\r\n' + "m3,C,2025-01-03,30.25,0,USD,pos,paid\n").encode()
    path = tmp_path / ("o.csv.gz" if compressed else "o.csv")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded", result.message
    assert any("CR LF" in note for note in result.notes), result.notes
    rows = table(intake_store, "SELECT order_id, net_revenue, channel FROM orders WHERE order_id LIKE 'm%' ORDER BY 1")
    assert list(rows.order_id) == ["m1", "m2", "m3"]
    assert list(rows.net_revenue) == [Decimal("10.00"), Decimal("20.50"), Decimal("30.25")]
    assert list(rows.channel) == ["web", "web\nshop", "pos"]  # the quoted cell's CR LF read as LF
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert Path(result.archive_path).read_bytes() == path.read_bytes()  # a byte-for-byte copy of the user's file


def test_a_windows_1252_gzip_file_that_does_not_parse_gets_the_parse_error(intake_store, tmp_path):
    """Such a file is read through an uncompressed UTF-8 copy: looking at that copy as gzip (for mixed line endings,
    after the parse failed) said "utf8.csv could not be decompressed" instead of the parse error."""
    text = ORDERS_HEADER + "\nx1,A,2025-01-01,10.00,0,EUR,web \x80,paid\nx2,B,2025-01-02,\"5.00,0,EUR,web,paid\n"
    path = tmp_path / "o.csv.gz"
    path.write_bytes(gzip.compress(text.encode("latin-1")))
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected" and "could not be read as ','-separated text" in result.message, result.message
    assert "decompressed" not in result.message and snapshot(intake_store) == before
    # The server's own paths (the spool, the converted copy) are not shown; the file is named as the user named it.
    assert "spool" not in result.message and "utf8.csv" not in result.message and '"o.csv.gz"' in result.message


def test_windows_line_endings_with_line_breaks_in_cells_are_read_as_they_are(intake_store, tmp_path):
    """Excel's CSV: CR LF between rows, LF alone inside a multi-line cell. DuckDB reads it (in one thread): no
    copy and no note."""
    raw = ORDERS_HEADER + "\r\n" + 'w1,A,2025-01-01,10.00,0,USD,"web\nshop",paid\r\nw2,B,2025-01-02,5.00,0,USD,pos,paid\r\n'
    result = ingest_file(intake_store, "orders", write(tmp_path, "w.csv", raw))
    assert result.status == "loaded", result.message
    assert not any("CR LF" in note for note in result.notes)
    assert list(table(intake_store, "SELECT channel FROM orders WHERE order_id LIKE 'w%' ORDER BY order_id").channel) == [
        "web\nshop", "pos"]


def test_semicolons_and_decimal_commas(intake_store, tmp_path):
    text = ("order_id;customer_id;ordered_at;net_revenue;discount;currency;status\n"
            "o7;A;31.03.2025;1.234,50;0,99;USD;paid\n"
            "o8;B;01.04.2025;12,5;;USD;paid\n")
    result = ingest_file(intake_store, "orders", write(tmp_path, "o.csv", text))
    assert result.status == "loaded", result.message
    rows = table(intake_store, "SELECT order_id, net_revenue, discount, ordered_at FROM orders "
                               "WHERE order_id IN ('o7', 'o8') ORDER BY 1")
    assert list(rows.net_revenue) == [Decimal("1234.50"), Decimal("12.50")]
    assert float(rows.discount[0]) == 0.99
    assert list(rows.ordered_at.dt.date.astype(str)) == ["2025-03-31", "2025-04-01"]


def test_mixed_date_formats_in_one_column(intake_store, tmp_path):
    # 2025-03-31 written four ways, plus a UTC offset: 14:00 at -05:00 is 19:00 UTC.
    text = ORDERS_HEADER + "\n" + "\n".join([
        "m1,A,2025-03-31,10,0,USD,web,paid",
        "m2,A,31/03/2025,10,0,USD,web,paid",
        "m3,A,2025-03-31T08:30:00Z,10,0,USD,web,paid",
        "m4,A,2025-03-31 14:00:00 -0500,10,0,USD,web,paid",
        "m5,A,05/04/2025 10:15,10,0,USD,web,paid",
    ]) + "\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "o.csv", text))
    assert result.status == "loaded", result.message
    got = table(intake_store, "SELECT order_id, CAST(ordered_at AS VARCHAR) AS at_text FROM orders "
                              "WHERE order_id LIKE 'm%' ORDER BY 1").at_text.tolist()
    # 31/03 has a first part > 12, so the column is read day first: 05/04/2025 is 5 April.
    assert got == ["2025-03-31 00:00:00", "2025-03-31 00:00:00", "2025-03-31 08:30:00", "2025-03-31 19:00:00",
                   "2025-04-05 10:15:00"]
    assert any("day first" in n for n in result.notes)


def test_unreadable_date_is_named_with_its_row(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nd1,A,2025-03-31,10,0,USD,web,paid\nd2,A,next tuesday,10,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "ordered_at is not a date/time: 1 row(s)" in result.message
    assert result.failing_rows.row_number.tolist() == [3]  # header is row 1, d2 is row 3


def test_duplicate_keys_inside_the_file(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nk1,A,2025-03-01,10,0,USD,web,paid\nk1,B,2025-03-02,20,0,USD,web,paid\n" \
                           "k2,B,2025-03-02,20,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "order_id appears more than once in the file: 2 row(s)" in result.message
    assert result.failing_rows.row_number.tolist() == [2, 3]


def test_duplicate_keys_quarantined_keep_the_row_identity(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nk1,A,2025-03-01,10,0,USD,web,paid\nk1,B,2025-03-02,20,0,USD,web,paid\n" \
                           "k2,B,2025-03-02,20,0,USD,web,paid\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "o.csv", text), on_invalid="quarantine")
    s = result.summary
    assert (result.rows_read, s.rows_loaded, s.rows_updated, s.rows_quarantined) == (3, 1, 0, 2)
    assert result.rows_read == s.rows_loaded + s.rows_updated + s.rows_quarantined
    q = table(intake_store, f"SELECT row_number, reason FROM quarantine WHERE load_id = {s.load_id} ORDER BY 1")
    assert q.row_number.tolist() == [2, 3] and q.reason.str.contains("appears more than once").all()


def test_negative_totals(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nn1,A,2025-03-01,-12.50,0,USD,web,paid\nn2,A,2025-03-01,12.50,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "net_revenue is negative: 1 row(s)" in result.message
    assert "on-invalid = quarantine" in result.message  # the way out is named


def test_nps_11_and_minus_1(intake_store, tmp_path):
    text = ("response_id,customer_id,responded_at,kind,score\n"
            "s1,A,2025-03-01,nps,11\ns2,B,2025-03-01,nps,-1\ns3,C,2025-03-01,nps,10\ns4,C,2025-03-01,csat,5\n")
    result = _rejected(intake_store, tmp_path, "surveys", "s.csv", text)
    assert "NPS score outside 0-10: 2 row(s)" in result.message
    nps = next(r for r in result.report.results if r.description == "NPS score outside 0-10")
    # Hand count: 3 NPS answers, 2 outside 0-10 -> 66.7 % of the rows the check applies to.
    assert nps.unexpected_count == 2 and nps.unexpected_percent == pytest.approx(200 / 3)


def test_csat_outside_1_to_5(intake_store, tmp_path):
    text = "response_id,customer_id,responded_at,kind,score\nc1,A,2025-03-01,csat,0\nc2,A,2025-03-01,csat,3\n"
    result = _rejected(intake_store, tmp_path, "surveys", "s.csv", text)
    assert "CSAT score outside 1-5: 1 row(s)" in result.message


def test_currency_mix_within_one_file(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nu1,A,2025-03-01,10,0,USD,web,paid\nu2,A,2025-03-01,10,0,EUR,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "currency differs from the reporting currency: 1 row(s)" in result.message


def test_missing_required_column(intake_store, tmp_path):
    text = "order_id,customer_id,ordered_at,status\nx1,A,2025-03-01,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "Missing required column for orders: net_revenue" in result.message
    assert "the Data page's column mapping" in result.message and "--map" in result.message


def test_a_file_separated_by_spaces_is_called_one_column(intake_store, tmp_path):
    """CDNOW_master.txt's layout: spaces between the values, read as one column that no mapping can fix."""
    text = " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n"
    result = _rejected(intake_store, tmp_path, "orders", "cdnow.txt", text)
    assert "It was read as one column" in result.message and "Save it as CSV" in result.message
    assert "--map" not in result.message


def test_extra_unknown_columns_are_ignored_and_said_so(intake_store, tmp_path):
    text = ORDERS_HEADER + ",gift_wrap,utm_source\ne1,A,2025-03-01,10,0,USD,web,paid,yes,newsletter\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "o.csv", text))
    assert result.status == "loaded"
    assert any("Ignored 2 column(s) we do not use: gift_wrap, utm_source" in n for n in result.notes)
    assert "gift_wrap" not in table(intake_store, "SELECT * FROM orders LIMIT 1").columns


def test_file_over_the_size_limit(intake_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_MAX_UPLOAD_MB", "0.0001")  # about 105 bytes
    text = ORDERS_HEADER + "\n" + "\n".join(f"z{i},A,2025-03-01,10,0,USD,web,paid" for i in range(10)) + "\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "over the 0 MB limit" in result.message and "ENGAGEMENT_MAX_UPLOAD_MB" in result.message


def test_unknown_customer_is_a_failed_foreign_key(intake_store, tmp_path):
    # Strict mode (--strict-customers) keeps the refusal; by default the id is an implied customer (issue 16).
    text = ORDERS_HEADER + "\nf1,NOBODY,2025-03-01,10,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text, strict_customers=True)
    assert "customer_id is not a known customer: 1 row(s)" in result.message


def test_future_timestamp(intake_store, tmp_path):
    text = ORDERS_HEADER + "\nt1,A,2099-01-01,10,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert "ordered_at is in the future or before 1900-01-01: 1 row(s)" in result.message


def test_formula_cells_are_text_and_neutralised_in_downloads(intake_store, tmp_path):
    text = (CUSTOMERS_HEADER + ",loyalty_tier\n"
            'E,=HYPERLINK("http://x.example"),2025-01-01,+paid,@risk,\n'
            "F,-f@example.com,2025-01-01,referral,US,=1+1\n")
    result = ingest_file(intake_store, "customers", write(tmp_path, "c.csv", text), on_invalid="quarantine")
    assert result.summary.rows_loaded == 1 and result.summary.rows_quarantined == 1  # F: tier "=1+1"
    stored = table(intake_store, "SELECT email, acquisition_channel, country FROM customers WHERE customer_id = 'E'")
    assert stored.iloc[0].tolist() == ['=HYPERLINK("http://x.example")', "+paid", "@risk"]  # text, verbatim
    download = to_safe_csv(result.failing_rows)
    assert "'=1+1" in download and "'-f@example.com" in download
    assert ",=1+1" not in download
    assert "'=HYPERLINK" in to_safe_csv(stored)


def test_reject_mode_never_loads_a_partial_file(intake_store, tmp_path):
    """One bad row among many valid ones: with reject, not one row of the file is loaded."""
    good = "\n".join(f"g{i},A,2025-03-01,{i},0,USD,web,paid" for i in range(500))
    text = ORDERS_HEADER + "\n" + good + "\nbad,A,2025-03-01,-1,0,USD,web,paid\n"
    result = _rejected(intake_store, tmp_path, "orders", "o.csv", text)
    assert result.rows_read == 501 and result.rows_rejected == 501
    assert table(intake_store, "SELECT count(*) AS n FROM orders WHERE order_id LIKE 'g%'").n[0] == 0


def test_wrong_kind_for_a_shopify_export(intake_store, tmp_path):
    text = "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem price\n#1,a@x.com,paid,2025-01-01,1,5\n"
    result = _rejected(intake_store, tmp_path, "customers", "s.csv", text)
    assert "Shopify orders export; load it as kind 'orders'" in result.message


def test_cli_reports_rejection_on_stderr_with_exit_1(intake_store, tmp_path, capsys):
    from engagement.cli import main

    path = write(tmp_path, "o.csv", ORDERS_HEADER + "\nn1,A,2025-03-01,-1,0,USD,web,paid\n")
    db = intake_store.path
    before = snapshot(intake_store)
    intake_store.close()
    assert main(["ingest", "orders", str(path), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "net_revenue is negative" in err and "Nothing was loaded" in err
    from engagement.workbench import open_workbench

    reopened = open_workbench(db, read_only=True)
    assert snapshot(reopened) == before
    reopened.close()
    assert os.path.exists(db)


def test_line_breaks_inside_quoted_comments(intake_store, tmp_path):
    """A survey export whose free-text comment spans lines (common in NPS exports) loads whole, the line break
    kept, in every mode: DuckDB's parallel reader refuses quoted line breaks with short-row padding, so such a
    file is read again in one thread. A failing row keeps its row number as a spreadsheet shows it (row 3: the
    header is row 1, the two-line comment is one cell of row 2)."""
    text = ("response_id,customer_id,responded_at,kind,score,comment\n"
            's1,A,2025-03-01,nps,9,"Great service.\nWould buy again."\n'
            's2,B,2025-03-02,nps,12,"Score typed wrong"\n'
            "s3,C,2025-03-03,nps,3,slow\n")
    path = tmp_path / "nps.csv"
    path.write_text(text)
    before = snapshot(intake_store)
    rejected = ingest_file(intake_store, "surveys", path)
    assert rejected.status == "rejected" and "NPS score outside 0-10: 1 row(s)" in rejected.message
    assert snapshot(intake_store) == before
    loaded = ingest_file(intake_store, "surveys", path, on_invalid="quarantine")
    assert loaded.status == "loaded", loaded.message
    assert (loaded.summary.rows_loaded, loaded.summary.rows_quarantined) == (2, 1)
    assert table(intake_store, "SELECT row_number FROM quarantine").row_number.tolist() == [3]
    comment = intake_store.cursor().execute("SELECT comment FROM surveys WHERE response_id = 's1'").fetchall()
    assert comment == [("Great service.\nWould buy again.",)]
    path.write_text(text.replace("nps,12", "nps,10"))
    clean = ingest_file(intake_store, "surveys", path)
    assert clean.status == "loaded" and clean.summary.rows_updated == 2 and clean.summary.rows_loaded == 1
