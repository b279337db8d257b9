"""A line-item Parquet file with typed columns is folded and typed in one statement (intake/folding.stage_typed),
and reports exactly what the text path reports for the same lines written as CSV: orders, quarantine with the
quoted text, failing rows, notes (issue 16's benchmark: the typed path is what brings Online Retail's Parquet
intake near DuckDB's bare aggregation of the same orders, benchmarks/online_retail_benchmark.py).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engagement.intake import folding, staging
from engagement.intake.ingest import ingest_file

from intake_fixtures import intake_store  # noqa: F401 (a fixture)

HEADER = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
# Online Retail's layout, each line chosen for a rule of the fold (engagement/intake/line_items.py) or of the typing.
LINES = [
    ("536365", "A", 6, "2010-12-01 08:26:00", 2.55, 17850.0, "UK"),
    ("536365", "B", 6, "2010-12-01 08:26:00", 3.39, 17850.0, "UK"),
    ("536366", "A", 6, None, 1.85, None, "UK"),                        # the order's time and customer: next line's
    ("536366", "A", 2, "2010-12-01 08:28:00", 1.00, 13047.0, "UK"),
    ("C536366", "A", -1, "2010-12-02 09:00:00", 1.85, 13047.0, "UK"),  # refunds 536366 in part
    ("536367", "A", 1, "2010-12-03 09:00:00", 5.0, -0.0, "UK"),          # -0.0 is read as the id -0
    ("C536367", "A", -1, "2010-12-04 09:00:00", 5.0, 0.0, "UK"),         # refunds 536367 whole
    ("C999", "A", -3, "2010-12-05 09:00:00", 2.0, 12000.0, "UK"),        # names no order: a refund of its own
    ("777", "A", -3, "2010-12-05 09:00:00", 2.0, 12001.0, "UK"),         # every quantity negative: the same
    ("A563186", "B", 1, "2011-08-12 14:50:00", -11062.06, None, "UK"),   # negative revenue: quarantined
    ("536368", "A", None, "2010-12-06 09:00:00", 2.0, 12002.0, "UK"),    # unreadable line: quarantined, quoted
    ("536368", "A", 1, "2010-12-06 09:00:00", 2.0, 12002.0, "UK"),
    (None, "A", 6, "2010-12-06 09:00:00", 1.0, 12003.0, "UK"),           # no key: quarantined
    ("536372", "A", 3, "2010-12-07 10:00:00", 0.1, 12007.0, "UK"),       # 0.30000000000000004
    ("536373", "A", 1, "2030-12-07 10:00:00", 0.1, 12007.0, "UK"),       # in the future: quarantined
    ("536374", "A", 1.5, "2010-12-07 10:00:00", 0.33, 12008.0, "UK"),
    ("536375", "A", 1, "2010-12-07 10:00:00", 2e14 + 0.07, 12009.0, "UK"),  # cents past 1e13: read as text is
]


def _reported(store, result) -> dict:
    """Everything a load reports and stores, the Parquet-only note aside."""
    cur = store.cursor()
    return {
        "status": result.status, "message": result.message,
        "notes": [n for n in result.notes if not n.startswith("Parquet has no header line")],
        "validation": {k: v for k, v in result.report.as_dict().items() if k != "seconds"},
        "failing_rows": json.loads(result.failing_rows.to_json(orient="records")),
        "orders": cur.execute("SELECT * EXCLUDE (load_id) FROM orders ORDER BY order_id").fetchall(),
        "quarantine": cur.execute("SELECT row_number, reason, row_json FROM quarantine ORDER BY 1").fetchall(),
    }


@pytest.mark.parametrize("customer_ids", ["float", "float_and_huge", "integer", "text"])
def test_typed_parquet_lines_are_folded_in_one_statement_and_report_what_the_csv_reports(
        intake_store, tmp_path, monkeypatch, customer_ids):
    lines = pd.DataFrame(LINES, columns=HEADER).assign(InvoiceDate=lambda f: pd.to_datetime(f.InvoiceDate))
    if customer_ids == "float_and_huge":  # 1e17 is written 1e+17: not every id is a whole number written as a float
        lines.loc[lines.InvoiceNo == "C999", "CustomerID"] = 1e17
    elif customer_ids == "integer":  # stored as BIGINT: the id is its text
        lines = lines.assign(CustomerID=lambda f: f.CustomerID.astype("Int64"))
    elif customer_ids == "text":  # stored as text, some with spaces: trimmed and read as integers like the CSV's
        lines = lines.assign(CustomerID=[None if pd.isna(c) else f" {c}" if i % 2 else str(c)
                                         for i, c in enumerate(lines.CustomerID)])
    parquet, csv = tmp_path / "lines.parquet", tmp_path / "lines.csv"
    lines.to_parquet(parquet)
    lines.to_csv(csv, index=False)

    calls = []
    for module, name in ((folding, "write_folded"), (staging, "stage"), (folding, "stage_typed")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    from_parquet = ingest_file(intake_store, "orders", parquet, on_invalid="quarantine", file_name="lines")
    assert calls == ["stage_typed"]  # no folded text table, no second typing pass
    got = _reported(intake_store, from_parquet)
    intake_store.undo(from_parquet.summary.load_id)
    intake_store.cursor().execute("DELETE FROM quarantine").fetchall()

    calls.clear()
    with monkeypatch.context() as text_only:  # the CSV through the text path (its typed fold: the test below)
        text_only.setattr(folding, "stage_typed_csv", lambda *a, **k: None)
        from_csv = ingest_file(intake_store, "orders", csv, on_invalid="quarantine", file_name="lines")
    assert calls == ["write_folded", "stage"]
    assert got == _reported(intake_store, from_csv)
    # What both say, by hand from LINES: 17 lines, 12 orders (two C lines refund orders of the file); 4 refused (A563186 negative, 536368 unreadable,
    # the keyless line, 536373 in the future).
    assert from_csv.summary.rows_quarantined == 4 and from_csv.rows_read == 12
    assert "17 line(s) made 12 order(s)." in got["notes"]
    orders = {row[0]: row for row in got["orders"]}
    assert float(orders["536366"][3]) == pytest.approx(6 * 1.85 + 2 * 1.00 - 1.85)  # partially refunded
    assert orders["536367"][-1] == "refunded"
    # -0.0 read as an integer id is -0 (its text without ".0"), as the CSV's "-0.0" is read
    assert orders["536367"][1] == {"float": "-0", "float_and_huge": "-0.0", "integer": "0", "text": "-0"}[customer_ids]
    float_note = any(n.startswith("customer_id: every value is a whole number") for n in got["notes"])
    assert float_note == (customer_ids in ("float", "text"))
    assert any("unreadable line item: ? x 2.0" in row[2] for row in got["quarantine"])


def _csv_both_ways(store, csv, monkeypatch) -> tuple[dict, dict, list[str]]:
    """What loading ``csv`` reports through the text path, and by default (with the path calls it made)."""
    with monkeypatch.context() as text_only:
        text_only.setattr(folding, "stage_typed_csv", lambda *a, **k: None)
        by_text = ingest_file(store, "orders", csv, on_invalid="quarantine", file_name="lines", refresh_derived=False)
    text = _reported(store, by_text)
    store.undo(by_text.summary.load_id)
    store.cursor().execute("DELETE FROM quarantine").fetchall()
    calls = []
    with monkeypatch.context() as watched:
        for module, name in ((folding, "write_folded"), (staging, "stage"), (folding, "stage_typed")):
            real = getattr(module, name)
            watched.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
        by_default = ingest_file(store, "orders", csv, on_invalid="quarantine", file_name="lines",
                                 refresh_derived=False)
    return text, _reported(store, by_default), calls


@pytest.mark.parametrize("customer_ids", ["float", "integer", "float_then_not"])
def test_a_csv_of_lines_is_folded_and_typed_in_one_statement_and_reports_what_the_text_path_reports(
        intake_store, tmp_path, monkeypatch, customer_ids):
    lines = pd.DataFrame(LINES, columns=HEADER)
    if customer_ids == "integer":  # ids as integer text, some with spaces
        lines = lines.assign(CustomerID=[None if pd.isna(c) else f" {c:.0f}" if i % 2 else f"{c:.0f}"
                                         for i, c in enumerate(lines.CustomerID)])
    elif customer_ids == "float_then_not":  # 17850.0 first, later 1e+17: not every id a float
        lines = lines.astype({"CustomerID": "object"})
        lines.loc[lines.InvoiceNo == "C999", "CustomerID"] = "1e+17"
    csv = tmp_path / "lines.csv"
    lines.to_csv(csv, index=False)
    text, typed, calls = _csv_both_ways(intake_store, csv, monkeypatch)
    # no folded text table, no second typing pass; ids fixed as floats in that statement only when every one is one
    # (the first row's says so, the rest are checked): else the text path checks and keeps them
    assert calls == (["stage_typed"] if customer_ids != "float_then_not" else ["stage_typed", "write_folded", "stage"])
    assert typed == text
    float_note = any(n.startswith("customer_id: every value is a whole number") for n in typed["notes"])
    assert float_note == (customer_ids == "float")
    assert "17 line(s) made 12 order(s)." in typed["notes"]
    assert any("unreadable line item: ? x 2.0" in row[2] for row in typed["quarantine"])


# Cells the CSV reader's DOUBLE reads as the text path's cast does (each checked against it in a load), then late
# in the file the cases that make the typed read give way to the text path: a cell that DOUBLE cannot read, and
# an order time staging's plain cast cannot read (a slash date, read the forgiving way, with a note).
NUMBERS = [" 6", "+6", "1e3", ".5", "5.", "00012", "1_000", "-0", "6.0000000000000001"]


@pytest.mark.parametrize("late", ["none", "currency symbol", "words", "slash date", "utc offset"])
def test_a_csv_value_the_typed_read_cannot_take_late_in_the_file_is_read_by_the_text_path(
        intake_store, tmp_path, monkeypatch, late):
    rows = [(f"5{i:05d}", "A", NUMBERS[i % len(NUMBERS)], f"2010-12-0{1 + i % 9} 08:{i % 60:02d}:00", "2.5",
             f"{12000 + i % 50}.0", "UK") for i in range(2_000)]
    rows[10] = rows[10][:4] + ("-11062.06",) + rows[10][5:]  # negative revenue: quarantined in every case
    if late == "currency symbol":
        rows[1_500] = rows[1_500][:4] + ("$2.50",) + rows[1_500][5:]
    elif late == "words":
        rows[1_500] = rows[1_500][:2] + ("six",) + rows[1_500][3:]
    elif late == "slash date":
        rows[1_500] = rows[1_500][:3] + ("12/25/2010 08:00",) + rows[1_500][4:]
    elif late == "utc offset":
        rows[1_500] = rows[1_500][:3] + ("2010-12-06 09:00:00+02:00",) + rows[1_500][4:]
    csv = tmp_path / "lines.csv"
    csv.write_text(",".join(HEADER) + "\n" + "".join(",".join(row) + "\n" for row in rows))
    text, typed, calls = _csv_both_ways(intake_store, csv, monkeypatch)
    assert typed == text
    if late == "none":
        assert calls == ["stage_typed"] and [row[0] for row in typed["quarantine"]] == [12]
        # the numbers as written, read by hand: 2,000 orders of one line each, quantity x 2.5 (but line 12's; the
        # store's own orders have other ids)
        values = [6, 6, 1000, 0.5, 5, 12, 1000, 0, 6]
        assert sum(float(row[3]) for row in typed["orders"] if len(row[0]) == 6) == pytest.approx(
            sum(values[i % len(values)] * 2.5 for i in range(2_000) if i != 10))
    else:  # tried typed, then the text path
        assert calls == ["stage_typed", "write_folded", "stage"]
    if late == "words":  # kept in quarantine, its line quoted (line 1,502: the header is line 1)
        assert [(row[0], json.loads(row[2])["net_revenue"]) for row in typed["quarantine"]] == [
            (12, "-66372.36"), (1_502, "unreadable line item: ? x 2.5")]
    if late == "slash date":
        assert any(n.startswith("ordered_at: slash dates read month first") for n in typed["notes"])
        assert ("501500", "2010-12-25 08:00:00") in {(row[0], str(row[2])) for row in typed["orders"]}
    if late == "utc offset":  # converted to UTC, as the text path converts it
        assert ("501500", "2010-12-06 07:00:00") in {(row[0], str(row[2])) for row in typed["orders"]}


def test_a_batch_reads_a_csv_of_lines_by_the_text_path(intake_store, tmp_path):
    """Inside a batch (one transaction for a week's files) a typed read that fails would end the transaction: a
    late cell the typed reader refuses must still load, quarantined and quoted, with the batch's other file."""
    from engagement.intake.ingest import ingest_files

    rows = [f"5{i:05d},A,{'six' if i == 1_500 else 2},2010-12-01 08:00:00,2.5,12000.0,UK" for i in range(2_000)]
    csv = tmp_path / "lines.csv"
    csv.write_text(",".join(HEADER) + "\n" + "\n".join(rows) + "\n")
    second = tmp_path / "more.csv"
    second.write_text(",".join(HEADER) + "\n600000,A,1,2010-12-02 08:00:00,3.0,12001.0,UK\n")
    results = ingest_files(intake_store, [("orders", csv), ("orders", second)], on_invalid="quarantine",
                           refresh_derived=False)
    assert [r.status for r in results] == ["loaded", "loaded"], [r.message for r in results]
    assert results[0].summary.rows_quarantined == 1 and results[0].summary.rows_loaded == 1_999
    quarantined = intake_store.cursor().execute("SELECT row_number, row_json FROM quarantine").fetchall()
    assert [(n, json.loads(text)["net_revenue"]) for n, text in quarantined] == [
        (1_502, "unreadable line item: ? x 2.5")]
