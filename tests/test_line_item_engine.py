"""Which validator a line-item export gets: the GX row limit counts the file's lines, not the orders they fold
into (issue 16's benchmark: Online Retail's 541,909 lines make 25,900 orders; over the limit, the suite's SQL
translation validates it, as it does any file of that size). engagement/intake/one_file.py says why, with figures.
"""

from __future__ import annotations

import pytest

from engagement.intake.ingest import ingest_file

from intake_fixtures import write

# Six lines, three orders (in the Online Retail layout, detected from the header): 536365 twice, 536366 three
# times, and the cancellation C536366 (a refund of 536366 here).
LINES = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
         "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
         "536365,71053,LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
         "536366,22633,WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
         "536366,22632,WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
         "536366,22631,WARMER,2,2010-12-01 08:28:00,1.00,17850,United Kingdom\n"
         "C536366,22633,WARMER,-1,2010-12-02 09:00:00,1.85,17850,United Kingdom\n")


@pytest.fixture()
def store(tmp_path, monkeypatch):
    from engagement.workbench import open_workbench

    monkeypatch.delenv("ENGAGEMENT_VALIDATION_ENGINE", raising=False)  # the validator a user gets
    opened = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    yield opened
    opened.close()


@pytest.mark.parametrize("limit, engine", [("5", "duckdb"), ("6", "great_expectations")])
def test_the_gx_row_limit_counts_a_line_item_files_lines(store, tmp_path, monkeypatch, limit, engine):
    monkeypatch.setenv("ENGAGEMENT_GX_MAX_ROWS", limit)  # 6 lines and 2 orders: only the lines reach a limit of 5
    result = ingest_file(store, "orders", write(tmp_path, "retail.csv", LINES))
    assert result.status == "loaded", result.message
    assert "6 line(s) made 2 order(s)." in result.notes
    assert result.report.engine == engine
    assert all(r.success for r in result.report.results)
    # Either way the same rows: 536365 = 6 x 2.55 + 6 x 3.39 = 35.64; 536366 = 6 x 1.85 x 2 + 2 x 1.00 = 24.20,
    # refunded 1.85 by C536366 = 22.35, partially refunded.
    got = store.cursor().execute("SELECT order_id, net_revenue::double, status FROM orders ORDER BY 1").fetchall()
    assert got == [("536365", 35.64, "paid"), ("536366", 22.35, "partially_refunded")]


def test_lines_without_a_key_and_orders_of_unreadable_quantities_are_kept_in_quarantine(store, tmp_path):
    # Both vanished from the fold (a NULL cancellation flag kept them out of both of its branches): 4 lines made
    # 1 order and nothing was quarantined.
    text = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
            "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
            "536366,22633,WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
            ",22632,WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
            ",22632,WARMER,-6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n")
    result = ingest_file(store, "orders", write(tmp_path, "retail.csv", text), on_invalid="quarantine")
    assert result.status == "loaded", result.message
    assert "4 line(s) made 3 order(s)." in result.notes
    assert result.summary.rows_loaded == 1 and result.summary.rows_quarantined == 2
    quarantined = store.cursor().execute("SELECT row_number, reason FROM quarantine ORDER BY 1").fetchall()
    assert [row for row, _ in quarantined] == [3, 4]  # the order's first line; the keyless lines' first
    assert "net_revenue" in quarantined[0][1] and "order_id" in quarantined[1][1]
