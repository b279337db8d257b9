"""Issue 16's benchmark: work the intake of a line-item file did twice, now done once, with the same outcome.

- A typed (Parquet) fold looks at its folded orders once (``folding.stage_typed``); that one aggregate also measures
  the 1st percentile the suite's long-before bound needs and the implied-customer counts of the load's note, which
  validation and ingest each queried again.
- A fold's float-id check reads all of its orders in one query (``float_written_ids.integer_ids``), as the typed fold does: the
  head of the folded table no longer decides alone (its first 1,000 orders are in no particular order).
- A load reads its kind's suite (``expectations/<kind>.json``) once and passes it on: the plan, the one-pass attempt,
  the typed fold and validation each read and parsed it.

Expected figures come from the rows the tests write (pandas / plain Python), not from the intake.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from engagement.intake import float_written_ids
from engagement.intake.source_plan import SourcePlan
from engagement.intake.ingest import ingest_file

from intake_fixtures import recording


@pytest.fixture()
def store(tmp_path, monkeypatch):
    from engagement.workbench import open_workbench

    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")  # the SQL evaluator, as for a file over the GX limit
    opened = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    yield opened
    opened.close()


def _line_items(tmp_path) -> tuple[pd.DataFrame, object]:
    """300 invoices of 2010 (two lines each; customers 1-50 written as floats, every 10th invoice a guest) and one
    invoice of 1990, as a typed Parquet file in the Online Retail layout."""
    rows = []
    for n in range(300):
        customer = None if n % 10 == 0 else float(n % 50 + 1)
        at = datetime(2010, 12, 1, 8, 0) + timedelta(hours=n)
        rows += [(f"{536000 + n}", "A", "X", 2, at, 1.5, customer, "United Kingdom"),
                 (f"{536000 + n}", "B", "Y", 1, at, 4.0, customer, "United Kingdom")]
    rows.append(("999999", "A", "X", 1, datetime(1990, 1, 2), 3.0, 7.0, "United Kingdom"))
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                                        "UnitPrice", "CustomerID", "Country"])
    path = tmp_path / "retail.parquet"
    frame.to_parquet(path, index=False)
    return frame, path



def test_a_typed_fold_measures_the_percentile_and_the_implied_customers_in_its_one_look(store, tmp_path,
                                                                                        monkeypatch):
    frame, path = _line_items(tmp_path)
    seen = recording(monkeypatch)
    result = ingest_file(store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded", result.message
    # One statement measures both (before: one query for the percentile, one for the implied-customer counts).
    measuring = [s for s in seen if "quantile_disc" in s or "count(DISTINCT customer_id)" in s]
    assert len(measuring) == 1, measuring
    assert "quantile_disc" in measuring[0] and "count(DISTINCT customer_id)" in measuring[0]

    # The same outcome, counted from the frame: 301 invoices; 45 customers (n % 50 + 1 off every 10th invoice; the
    # 1990 invoice's 7 among them), none in a customers export; 30 guest invoices.
    invoices = frame.groupby("InvoiceNo").agg(customer=("CustomerID", "first"))
    customers = invoices["customer"].dropna().astype(int).astype(str).nunique()
    guests = int(invoices["customer"].isna().sum())
    assert (len(invoices), customers, guests) == (301, 45, 30)
    assert f"{customers:,} customer id(s) are in no customers export" in " ".join(result.notes), result.notes
    assert f"{guests:,} guest order(s) have no customer id" in " ".join(result.notes), result.notes
    # The 1990 invoice is more than 10 years before the file's 1st percentile (a 2010 date): warned, loaded.
    long_before = [r for r in result.report.results if "years before the rest of the file" in r.description]
    assert [r.unexpected_count for r in long_before] == [1], [(r.description, r.unexpected_count)
                                                              for r in result.report.results]
    assert result.summary.rows_loaded == 301
    stored = store.cursor().execute(
        "SELECT count(*), count(DISTINCT customer_id), count(*) FILTER (WHERE customer_id IS NULL) FROM orders"
    ).fetchall()[0]
    assert stored == (301, customers, guests)


def test_a_folds_float_ids_are_checked_on_all_its_orders_not_its_head(store):
    # 1,000 guest orders first (no customer id), then five customers written as floats: every id there is is a
    # float, so the column is read as integers. The head alone (the first 1,000 orders) saw no id and said no.
    cur = store.cursor()
    cur.execute("CREATE TEMP TABLE folded_input AS SELECT 'o' || range AS order_id, "
                "CASE WHEN range >= 1000 THEN CAST(17850 + range AS VARCHAR) || '.0' END AS customer_id "
                "FROM range(1005) ORDER BY range")
    plan = SourcePlan("line_items", "SELECT * FROM folded_input", counts_lines=True)
    fixed = float_written_ids.integer_ids(cur, "orders", plan)
    assert any("customer_id: every value is a whole number written as a float" in n for n in fixed.notes)
    got = cur.execute(f"SELECT customer_id FROM ({fixed.select_sql}) WHERE customer_id IS NOT NULL "
                      "ORDER BY 1").fetchall()
    assert got == [(str(17850 + n),) for n in range(1000, 1005)]
    # A file read row by row keeps the head's look (a large file of ordinary ids costs one small query).
    assert float_written_ids.integer_ids(cur, "orders", SourcePlan("canonical", "SELECT * FROM folded_input")) \
        .notes == ()


def test_a_load_reads_its_suite_once(store, tmp_path, monkeypatch):
    # The plan, the one-pass attempt, the typed fold and validation each read and parsed expectations/orders.json
    # (three reads on a Parquet line-item file); the load reads it once and passes it on, with the same outcome.
    from engagement.intake import suites

    reads = []
    read = suites.load_suite
    monkeypatch.setattr(suites, "load_suite", lambda kind, path=None: reads.append(kind) or read(kind, path))
    frame, path = _line_items(tmp_path)
    frame.to_csv(tmp_path / "retail.csv", index=False)
    for name in ("retail.parquet", "retail.csv"):  # the typed fold, then the CSV's (the same orders again)
        reads.clear()
        result = ingest_file(store, "orders", tmp_path / name, on_invalid="quarantine")
        assert result.status == "loaded", result.message
        assert reads == ["orders"], (name, reads)
        # one order per invoice, as pandas counts them
        assert result.summary.rows_loaded + result.summary.rows_updated == frame["InvoiceNo"].nunique() == 301
