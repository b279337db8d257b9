"""Public exports nobody here wrote, loaded through the user's path and checked against pandas on the raw file
(issue 16): Online Retail (line items, cancellations, guests, float ids), Hillstrom (assignments plus
outcomes), a Shopify orders-only export, and a line-item CSV mapped on the command line.

Validation is the one a user gets: Great Expectations for files under its row limit (the environment of
these tests does not force the SQL evaluator).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from engagement.intake.ingest import ingest_file
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from intake_fixtures import ORDERS_HEADER, write

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RETAIL = DATA / "online_retail" / "online_retail.parquet"
HILLSTROM = DATA / "hillstrom" / "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv.gz"


@pytest.fixture()
def store(tmp_path, monkeypatch) -> Store:
    monkeypatch.delenv("ENGAGEMENT_VALIDATION_ENGINE", raising=False)
    opened = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    yield opened
    opened.close()


def _expected_retail(lines: pd.DataFrame) -> pd.DataFrame:
    """The orders the folding should make, computed with pandas from the raw lines (engagement/intake/line_items.py
    states the rule): C invoices and invoices of only negative quantities are refunds of their own here (no
    cancelled invoice of Online Retail names an invoice of the file); others are purchases of sum(qty x price)."""
    lines = lines.assign(amount=lines.Quantity * lines.UnitPrice)
    orders = lines.groupby("InvoiceNo").agg(amount=("amount", "sum"), all_negative=("Quantity", lambda q: (q < 0).all()),
                                            customer=("CustomerID", "first"))
    cancelled = orders.index.str.match(r"^[Cc][0-9]+$") | orders.all_negative
    orders["status"] = ["refunded" if c else "paid" for c in cancelled]
    orders["net_revenue"] = orders.amount.where(~cancelled, orders.amount.abs()).round(2)
    return orders


@pytest.mark.skipif(not RETAIL.exists(), reason="shared Online Retail data not present")
def test_online_retail_subset_folds_lines_with_great_expectations(store, tmp_path):
    raw = pd.read_parquet(RETAIL).head(40_000)  # 40,000 lines: under the GX row limit, a few seconds
    path = tmp_path / "online_retail_head.parquet"
    raw.to_parquet(path)
    result = ingest_file(store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded", result.message
    assert result.report.engine == "great_expectations"
    expected = _expected_retail(raw)
    refused = expected[expected.net_revenue < 0]  # none in the first 40,000 lines (the bad-debt rows come later)
    assert result.rows_read == len(expected) and result.summary.rows_quarantined == len(refused)
    assert f"40,000 line(s) made {len(expected):,} order(s)." in result.notes
    assert any("customer_id: every value is a whole number written as a float" in n for n in result.notes)
    got = store.cursor().execute(
        "SELECT status, count(*), sum(net_revenue)::double, count(*) FILTER (WHERE customer_id IS NULL) "
        "FROM orders GROUP BY 1 ORDER BY 1").fetchall()
    want = expected.groupby("status").agg(n=("amount", "size"), revenue=("net_revenue", "sum"),
                                          guests=("customer", lambda c: c.isna().sum()))
    assert [(s, n, g) for s, n, _, g in got] == [(s, r.n, r.guests) for s, r in want.iterrows()]
    for (status, _, revenue, _), (_, row) in zip(got, want.iterrows()):
        assert revenue == pytest.approx(row.revenue, abs=0.01), status
    customers = store.cursor().execute("SELECT count(*) FROM customer_summary WHERE is_implied").fetchall()[0][0]
    assert customers == raw.CustomerID.dropna().nunique()
    assert store.cursor().execute("SELECT count(*) FROM orders WHERE customer_id LIKE '%.0'").fetchall()[0][0] == 0


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENGAGEMENT_DB": str(db)}
    env.pop("ENGAGEMENT_VALIDATION_ENGINE", None)
    return subprocess.run([sys.executable, "-m", "engagement", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(not RETAIL.exists(), reason="shared Online Retail data not present")
def test_the_whole_online_retail_file_through_the_cli(tmp_path):
    db = tmp_path / "retail.duckdb"
    done = _cli("ingest", "orders", str(RETAIL), "--on-invalid", "quarantine", "--map", "currency=GBP", db=db)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    raw = pd.read_parquet(RETAIL)
    expected = _expected_retail(raw)
    negative = expected[expected.net_revenue < 0]
    assert len(raw) == 541_909 and len(negative) == 2  # the README of shared/data; A563186/7 "Adjust bad debt"
    assert out["rows_read"] == len(expected) == 25_900
    assert out["rows_loaded"] == len(expected) - 2 and out["rows_quarantined"] == 2
    assert "541,909 line(s) made 25,900 order(s)." in out["notes"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        paid = con.execute("SELECT sum(net_revenue)::double FROM orders WHERE status = 'paid'").fetchall()[0][0]
        currencies = con.execute("SELECT list(DISTINCT currency) FROM orders").fetchall()[0][0]
        window_revenue = con.execute("SELECT sum(revenue)::double FROM purchase_days").fetchall()[0][0]
    finally:
        con.close()
    want_paid = expected[(expected.status == "paid") & (expected.net_revenue >= 0)].net_revenue.sum()
    assert paid == pytest.approx(want_paid, abs=0.01) and currencies == ["GBP"]
    assert window_revenue == pytest.approx(want_paid, abs=0.01)  # guests' purchases included in the totals


def test_a_line_item_csv_mapped_on_the_command_line_refunds_the_order_it_cancels(tmp_path):
    # A WooCommerce-like export: order key repeated per line, an order total column, a cancellation C1002.
    text = ("Order Number,Billing Email,Order Date,Qty,Item Cost,Order Total\n"
            "1001,a@x.com,2025-01-05 10:00,2,5.00,12.00\n"
            "1001,a@x.com,2025-01-05 10:00,1,2.00,12.00\n"
            "1002,b@x.com,2025-01-06 11:00,3,10.00,\n"
            "C1002,b@x.com,2025-01-07 09:00,-1,10.00,\n"
            "C2000,c@x.com,2025-01-08 09:00,-2,4.00,\n")
    path = write(tmp_path, "woo.csv", text)
    db = tmp_path / "woo.duckdb"
    done = _cli("ingest", "orders", str(path), "--map", "Order Number=order_id,Billing Email=customer_id,"
                "Order Date=ordered_at,Qty=line_quantity,Item Cost=line_price,Order Total=order_total,currency=EUR",
                db=db)
    assert done.returncode == 0, done.stderr
    assert "5 line(s) made 3 order(s)." in json.loads(done.stdout)["notes"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT order_id, net_revenue::double, status FROM orders ORDER BY 1").fetchall()
    finally:
        con.close()
    # 1001: its order total 12.00 (not 2x5 + 1x2 = 12 by chance: same here); 1002: 3 x 10 = 30 less the
    # cancelled 10 = 20, partially refunded; C2000 names no order of the file: a refund of its own, 8.00.
    assert rows == [("1001", 12.0, "paid"), ("1002", 20.0, "partially_refunded"), ("C2000", 8.0, "refunded")]


def test_float_written_ids_are_read_as_integers(store, tmp_path):
    text = ORDERS_HEADER + "\n" + "\n".join([
        "1.0,17850.0,2025-03-01 10:00:00,10.00,0,USD,web,paid",
        "2.0,13047.0,2025-03-02 10:00:00,12.00,0,USD,web,paid",
    ]) + "\n"
    result = ingest_file(store, "orders", write(tmp_path, "pandas_export.csv", text))
    assert result.status == "loaded", result.message
    assert any(n.startswith("order_id, customer_id: every value is a whole number") for n in result.notes)
    assert store.cursor().execute("SELECT list(customer_id ORDER BY customer_id), list(order_id ORDER BY order_id) "
                                  "FROM orders").fetchall()[0] == (["13047", "17850"], ["1", "2"])


def test_a_shopify_orders_only_export_loads(store, tmp_path):
    text = ("Name,Email,Financial Status,Fulfillment Status,Currency,Discount Amount,Created at,Lineitem quantity,"
            "Lineitem name,Lineitem price,Refunded Amount,Cancelled at,Source\n"
            "#1001,ann@example.com,paid,fulfilled,USD,0,2025-02-01 10:00:00 +0000,2,Mug,8.00,0,,web\n"
            "#1001,,,,,,,1,Tea,4.50,,,\n"
            "#1002,bob@example.com,paid,,USD,5,2025-02-03 12:00:00 +0000,1,Pot,30.00,0,,pos\n"
            "#1003,ann@example.com,paid,fulfilled,USD,0,2025-03-01 09:00:00 +0000,1,Mug,8.00,0,,web\n")
    result = ingest_file(store, "orders", write(tmp_path, "orders_export.csv", text))
    assert result.status == "loaded", result.message
    assert result.summary.rows_loaded == 3 and result.read_info.rows == 4
    summary = store.cursor().execute("SELECT customer_id, order_count, revenue::double, is_implied FROM customer_summary "
                                     "ORDER BY 1").fetchall()
    # ann: 2 x 8 + 4.50 = 20.50, then 8.00; bob: 30 - 5 discount = 25.00.
    assert summary == [("ann@example.com", 2, 28.5, True), ("bob@example.com", 1, 25.0, True)]


@pytest.mark.skipif(not HILLSTROM.exists(), reason="shared Hillstrom data not present")
def test_hillstrom_as_assignments_plus_outcomes(store, tmp_path):
    raw = pd.read_csv(HILLSTROM)
    ids = [f"h{i}" for i in range(len(raw))]
    assignments = pd.DataFrame({"experiment_id": "hillstrom_2008", "customer_id": ids,
                                "variant": raw.segment, "assigned_at": "2008-03-01 00:00:00"})
    bought = raw.spend > 0
    outcomes = pd.DataFrame({"order_id": [f"o{i}" for i in range(int(bought.sum()))],
                             "customer_id": pd.Series(ids)[bought.to_numpy()].to_numpy(),
                             "ordered_at": "2008-03-08 12:00:00", "net_revenue": raw.spend[bought].map("{:.2f}".format),
                             "status": "paid"})
    a_path, o_path = tmp_path / "assignments.csv", tmp_path / "outcomes.csv"
    assignments.to_csv(a_path, index=False)
    outcomes.to_csv(o_path, index=False)
    loaded = ingest_file(store, "experiment_assignments", a_path)
    assert loaded.status == "loaded" and loaded.report.engine == "great_expectations", loaded.message
    assert loaded.summary.rows_loaded == 64_000  # shared/data README: 64,000 customers
    orders = ingest_file(store, "orders", o_path)
    assert orders.status == "loaded", orders.message
    got = store.cursor().execute(
        "SELECT a.variant, count(*), count(o.order_id), coalesce(sum(o.net_revenue), 0)::double "
        "FROM experiment_assignments a LEFT JOIN orders o USING (customer_id) GROUP BY 1 ORDER BY 1").fetchall()
    want = raw.groupby("segment").agg(n=("spend", "size"), buyers=("spend", lambda s: (s > 0).sum()),
                                      spend=("spend", "sum"))
    assert [(v, n, b) for v, n, b, _ in got] == [(s, r.n, r.buyers) for s, r in want.iterrows()]
    for (_, _, _, spend), (_, row) in zip(got, want.iterrows()):
        assert spend == pytest.approx(row.spend, abs=0.01)
    # Every assigned customer exists (implied by the assignment), buyers or not.
    assert store.cursor().execute("SELECT count(*) FROM customer_summary WHERE is_implied").fetchall()[0][0] == 64_000

    # The ROI page's holdout names the Experiments page's control ("No E-Mail"); it found none, since it knew only
    # arms named control or holdout, and said "No experiment with a control arm is loaded". Both e-mails pooled
    # against no e-mail over two weeks: scipy's Welch test on the raw spend column gives the same difference and CI.
    from scipy import stats as scipy_stats

    from engagement.experiments.analysis import ExperimentQuery, experiment_analysis
    from engagement.value.roi import experiments as roi_experiments, holdout_estimate

    assert experiment_analysis(store, ExperimentQuery("hillstrom_2008")).control == "No E-Mail"
    (known,) = roi_experiments(store).itertuples()
    assert (known.control_variant, known.control_customers, known.has_control) == ("No E-Mail", 21_306, True)
    holdout = holdout_estimate(store, "hillstrom_2008", outcome_days=14)
    treated, control = raw.spend[raw.segment != "No E-Mail"], raw.spend[raw.segment == "No E-Mail"]
    welch = scipy_stats.ttest_ind(treated, control, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    d = holdout.difference
    assert (d.treated_n, d.control_n) == (42_694, 21_306)
    assert d.difference == pytest.approx(treated.mean() - control.mean(), rel=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((low, high), rel=1e-6)


def test_data_page_maps_a_line_item_file_and_marks_implied_customers(tmp_path, monkeypatch):
    """The user's path on the Data page: an unknown line-item layout, the column-mapping form (line columns and a
    constant), the load, the lines-to-orders note and the implied customers; validated by GX (small file)."""
    from test_ingest import _data_page

    from engagement import ui
    from engagement.notebook import schema_browser

    monkeypatch.delenv("ENGAGEMENT_VALIDATION_ENGINE", raising=False)
    db = tmp_path / "page.duckdb"
    open_workbench(db, read_only=False).close()  # empty: the app loads the demo brand (USD) on first open
    at = _data_page(db, monkeypatch, read_only=False)
    try:
        text = "Invoice,Client,When,Qty,Price\nI1,K1,2025-01-02 10:00,2,3.50\nI1,K1,2025-01-02 10:00,1,1.00\n" \
               "I2,K2,2025-01-03 11:00,4,2.25\n"
        at.get("file_uploader")[0].set_value(("till.csv", text.encode(), "text/csv"))
        at.run()
        at.selectbox(key="data_kind").set_value("orders").run()
        next(b for b in at.button if b.label.startswith("Validate and load")).click().run()
        assert not at.exception, at.exception
        for field, theirs in (("order_id", "Invoice"), ("customer_id", "Client"), ("ordered_at", "When"),
                              ("line_quantity", "Qty"), ("line_price", "Price")):
            at.selectbox(key=f"data_map_orders_{field}").set_value(theirs)
        at.text_input(key="data_mapping_constants").set_value("status=paid, currency=USD")
        at.button(key="FormSubmitter:data_mapping_form-Save mapping and load").click().run()
        assert not at.exception, at.exception
        assert any("Loaded 2 of 2 rows" in s.value for s in at.success), at.session_state["data_result"].message
        captions = [c.value for c in at.caption]
        assert "3 line(s) made 2 order(s)." in captions
        assert any(c.startswith("2 implied customers") for c in captions), captions
        store = ui.session._process_store()
        # I1: 2 x 3.50 + 1 x 1.00 = 8.00; I2: 4 x 2.25 = 9.00.
        assert store.cursor().execute("SELECT list(net_revenue::double ORDER BY order_id), list(DISTINCT currency) "
                                      "FROM orders WHERE order_id IN ('I1', 'I2')").fetchall()[0] == ([8.0, 9.0], ["USD"])
        customers = next(t for t in schema_browser.schema_tables(store) if t.name == "customers")
        assert "2 more customers are implied by activity" in customers.grain
    finally:
        ui.session._process_store.clear()
