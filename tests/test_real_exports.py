"""Real exports on the first try (issue 16): orders-only exports, implied customers, history before 2000,
placeholder dates, the largest order, the CLI column mapping, and CDNOW through the user's path.

Expected numbers come from the files themselves (counted by the test with pandas) or are written here
by hand, as noted beside each.
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

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table, write  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture()
def empty_store(tmp_path, monkeypatch) -> Store:
    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    store = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    yield store
    store.close()


ORDERS_ONLY = ORDERS_HEADER + "\n" + "\n".join([
    "o1,X1,2025-03-01 10:00:00,10.00,0,USD,web,paid",
    "o2,X1,2025-03-05 10:00:00,20.00,0,USD,web,paid",
    "o3,X2,2025-03-07 10:00:00,5.50,0,USD,web,paid",
]) + "\n"


def test_an_orders_only_export_loads_and_names_implied_customers(empty_store, tmp_path):
    result = ingest_file(empty_store, "orders", write(tmp_path, "orders.csv", ORDERS_ONLY))
    assert result.status == "loaded", result.message
    assert any("2 customer id(s) are in no customers export" in n for n in result.notes), result.notes
    assert table(empty_store, "SELECT count(*) AS n FROM customers").n[0] == 0  # nothing inserted
    summary = table(empty_store, "SELECT customer_id, is_implied, order_count, revenue::double AS revenue, created_at "
                                 "FROM customer_summary ORDER BY customer_id")
    assert summary.customer_id.tolist() == ["X1", "X2"] and summary.is_implied.all()
    assert summary.order_count.tolist() == [2, 1] and summary.revenue.tolist() == [30.0, 5.5]  # rows above
    assert str(summary.created_at[0]) == "2025-03-01 10:00:00"  # first activity seen


def test_strict_customers_keeps_the_refusal(empty_store, tmp_path):
    before = snapshot(empty_store)
    result = ingest_file(empty_store, "orders", write(tmp_path, "orders.csv", ORDERS_ONLY), strict_customers=True)
    assert result.status == "rejected" and "customer_id is not a known customer: 3 row(s)" in result.message
    assert snapshot(empty_store) == before


def test_events_imply_customers_and_undo_removes_exactly_the_load(intake_store, tmp_path):
    events = ("event_id,customer_id,occurred_at,event_type,channel,campaign_id\n"
              "e1,NEW1,2025-02-01 09:00:00,site_visit,web,\n")
    loaded = ingest_file(intake_store, "events", write(tmp_path, "events.csv", events))
    assert loaded.status == "loaded", loaded.message
    row = table(intake_store, "SELECT is_implied, lifecycle_stage, created_at FROM customer_summary "
                              "WHERE customer_id = 'NEW1'")
    assert row.is_implied.tolist() == [True] and row.lifecycle_stage.tolist() == ["prospect"]
    assert str(row.created_at[0]) == "2025-02-01 09:00:00"
    # The fixture's customers A-D came from a customers export: not implied.
    assert not table(intake_store, "SELECT bool_or(is_implied) AS b FROM customer_summary "
                                   "WHERE customer_id IN ('A', 'B', 'C', 'D')").b[0]
    intake_store.undo(loaded.summary.load_id)
    assert table(intake_store, "SELECT count(*) AS n FROM customer_summary WHERE customer_id = 'NEW1'").n[0] == 0


def test_history_before_2000_and_placeholder_dates_load_with_warnings(empty_store, tmp_path):
    rows = [f"h{i},C{i % 7},1997-0{1 + i % 9}-1{i % 10} 12:00:00,{10 + i}.00,0,USD,web,paid" for i in range(200)]
    rows.append("h_sentinel,C1,1970-01-01 00:00:00,12.00,0,USD,web,paid")
    result = ingest_file(empty_store, "orders", write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows)))
    assert result.status == "loaded", result.message
    assert result.summary.rows_loaded == 201  # 200 orders of 1997 and the placeholder one: nothing refused
    warned = {r.description: r.unexpected_count for r in result.report.warnings}
    # 1970-01-01 is a placeholder, and 27 years before the file's first percentile (1997): both warnings.
    assert warned == {"ordered_at is a placeholder date (1900-01-01 or 1970-01-01)": 1,
                      "ordered_at is more than 10 years before the rest of the file": 1}


def test_warnings_agree_between_great_expectations_and_the_sql_checks(empty_store, tmp_path):
    rows = [f"g{i},C{i % 3},2024-05-{1 + i % 28:02d} 08:00:00,9.00,0,USD,web,paid" for i in range(300)]
    rows += ["g_old,C1,1900-01-01 00:00:00,9.00,0,USD,web,paid", "g_mid,C1,2001-06-01 00:00:00,9.00,0,USD,web,paid"]
    result = ingest_file(empty_store, "orders", write(tmp_path, "o.csv", ORDERS_HEADER + "\n" + "\n".join(rows)),
                         engine="great_expectations")
    assert result.status == "loaded", result.message
    assert result.report.engine == "great_expectations"
    warned = {r.description: r.unexpected_count for r in result.report.warnings}
    # 1900-01-01 is a placeholder; it and 2001-06-01 are over 10 years before 2024, the file's 1st percentile
    # (quantile_disc(0.01) of 302 values is the 4th smallest: a 2024 date).
    assert warned == {"ordered_at is a placeholder date (1900-01-01 or 1970-01-01)": 1,
                      "ordered_at is more than 10 years before the rest of the file": 2}


def test_the_largest_order_decimal_18_2_holds_loads(intake_store, tmp_path):
    largest = "9999999999999999.99"  # DECIMAL(18,2): 16 digits before the point, 2 after
    text = ORDERS_HEADER + f"\nbig1,A,2025-03-02 10:00:00,{largest},0,USD,web,paid\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "big.csv", text))
    assert result.status == "loaded", result.message
    stored = intake_store.cursor().execute("SELECT net_revenue FROM orders WHERE order_id = 'big1'").fetchall()[0][0]
    assert str(stored) == largest
    squared = intake_store.cursor().execute(
        "SELECT max(revenue_squared) FROM purchase_days").fetchall()[0][0]
    assert float(squared) == pytest.approx(float(largest) ** 2)  # exact DECIMAL(38,4) since issue 20


def test_map_option_reads_theirs_equals_ours_and_constants():
    from engagement.intake.sources import parse_map_option

    assert parse_map_option("InvoiceNo=order_id, CustomerID=customer_id,currency=GBP,status=paid", "orders") == {
        "order_id": "InvoiceNo", "customer_id": "CustomerID",
        "currency": {"constant": "GBP"}, "status": {"constant": "paid"}}
    with pytest.raises(ValueError, match="names no orders field"):
        parse_map_option("Foo=bar", "orders")


def _cli(*args: str, env_db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENGAGEMENT_DB": str(env_db)}
    env.pop("ENGAGEMENT_VALIDATION_ENGINE", None)  # the validator a user gets (GX under its row limit)
    return subprocess.run([sys.executable, "-m", "engagement", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _read_cdnow(name: str) -> pd.DataFrame:
    """shared/data's README: the master file has a header; the 1/10 sample has none and carries the master id
    first, then its own sample id (1..2357), date, CDs and dollars."""
    if name == "CDNOW_master.txt":
        return pd.read_csv(DATA / "cdnow" / name, sep=r"\s+", dtype={"customer_id": str})
    return pd.read_csv(DATA / "cdnow" / name, sep=r"\s+", header=None, dtype={0: str, 1: str},
                       names=["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"])


# Row and customer counts from shared/data's README (master: 69,659 transactions of 23,570 customers;
# sample: 6,919 rows of 2,357 customers), not from the file the test reads.
@pytest.mark.parametrize("name, rows, customers_expected", [("CDNOW_master.txt", 69_659, 23_570),
                                                   ("CDNOW_sample.txt", 6_919, 2_357)])
@pytest.mark.skipif(not (DATA / "cdnow" / "CDNOW_master.txt").exists(), reason="shared CDNOW data not present")
def test_cdnow_loads_through_the_cli_with_a_column_mapping(tmp_path, name, rows, customers_expected):
    raw = _read_cdnow(name)
    export = pd.DataFrame({
        "Transaction": [f"t{i}" for i in range(len(raw))],
        "Customer": raw.customer_id,
        "Date": pd.to_datetime(raw.date.astype(str), format="%Y%m%d").dt.strftime("%Y-%m-%d"),
        "CDs": raw.number_of_cds,
        "Dollars": raw.dollar_value.map(lambda v: f"{v:.2f}"),
    })
    path = tmp_path / (name.removesuffix(".txt").lower() + ".csv")
    export.to_csv(path, index=False)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"order_id": "Transaction", "status": {"constant": "paid"}}))
    db = tmp_path / "cdnow.duckdb"
    done = _cli("ingest", "orders", str(path), "--mapping", str(mapping),
                "--map", "Customer=customer_id,Date=ordered_at,Dollars=net_revenue,currency=USD", env_db=db)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["rows_loaded"] == len(raw) == rows
    assert out["validation"]["engine"] == "great_expectations"
    con = duckdb.connect(str(db), read_only=True)
    try:
        customers, implied, revenue = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_implied), sum(revenue) FROM customer_summary").fetchall()[0]
        first, last = con.execute("SELECT min(ordered_at)::date, max(ordered_at)::date FROM orders").fetchall()[0]
    finally:
        con.close()
    assert customers == implied == raw.customer_id.nunique() == customers_expected
    assert float(revenue) == pytest.approx(float(raw.dollar_value.sum()), abs=0.01)
    assert (str(first), str(last)) == ("1997-01-01", "1998-06-30")


def test_guest_orders_count_in_revenue_and_stay_out_of_customer_views(intake_store, tmp_path):
    from engagement.intake.ingest import activity_counts

    text = ORDERS_HEADER + "\n" + "\n".join([
        "g1,,2025-03-02 10:00:00,40.00,0,USD,web,paid",   # guest checkout
        "g2,,2025-03-03 10:00:00,60.00,0,USD,web,paid",   # guest checkout
        "g3,A,2025-03-04 10:00:00,15.00,0,USD,web,paid",
    ]) + "\n"
    before = table(intake_store, "SELECT sum(revenue)::double AS r, sum(orders) AS n FROM purchase_days")
    customers_before = table(intake_store, "SELECT count(*) AS n FROM customer_summary").n[0]
    result = ingest_file(intake_store, "orders", write(tmp_path, "guests.csv", text))
    assert result.status == "loaded" and result.summary.rows_loaded == 3, result.message
    assert any("2 guest order(s) have no customer id" in n for n in result.notes), result.notes
    warned = {r.description.split(":")[0]: r.unexpected_count for r in result.report.warnings}
    assert warned == {"customer_id is empty": 2}
    after = table(intake_store, "SELECT sum(revenue)::double AS r, sum(orders) AS n FROM purchase_days")
    assert after.r[0] - before.r[0] == pytest.approx(115.0) and after.n[0] - before.n[0] == 3  # 40 + 60 + 15
    assert table(intake_store, "SELECT count(*) AS n FROM customer_summary").n[0] == customers_before
    assert table(intake_store, "SELECT count(*) AS n FROM purchases WHERE customer_id IS NULL").n[0] == 0
    assert activity_counts(intake_store) == {"implied_customers": 0, "guest_orders": 2}


def test_a_database_of_surveys_alone_has_a_default_window_and_shows_nps(tmp_path):
    """Default window from all activity (orders, events, surveys), for the app's pages (kpis.default_filters)
    and every report command (commands.common.filters_from_args): surveys of 2021 alone, no orders."""
    from engagement.value.kpis import data_range, default_filters

    answers = "response_id,customer_id,responded_at,kind,score,touchpoint,comment\n" + "\n".join(
        f"r{i},S{i},2021-06-{1 + i % 28:02d} 10:00:00,nps,{[10, 9, 3][i % 3]},support," for i in range(30))
    db = tmp_path / "surveys.duckdb"
    store = open_workbench(db, read_only=False)
    try:
        loaded = ingest_file(store, "surveys", write(tmp_path, "surveys.csv", answers), engine="duckdb")
        assert loaded.status == "loaded", loaded.message
        window = default_filters(data_range(store))
        assert (str(window.start), str(window.end)) == ("2021-06-01", "2021-06-28")  # the answers' own span
    finally:
        store.close()
    done = _cli("report", "nps", "--db", str(db), env_db=db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["start"], report["end"]) == ("2021-06-01", "2021-06-28")
    # 30 answers: 10 each of 10, 9 and 3 -> 20 promoters, 10 detractors, NPS = (20 - 10) / 30 = +33.3.
    group = report["groups"][0]
    assert (group["responses"], group["promoters"], group["detractors"]) == (30, 20, 10)
    assert group["nps"] == pytest.approx(100 / 3)


def test_duplicate_header_names_are_refused_with_names_and_positions(intake_store, tmp_path):
    before = snapshot(intake_store)
    text = ("order_id,customer_id,ordered_at,net_revenue,Net Revenue,discount,currency,channel,status\n"
            "d1,A,2025-03-01 10:00:00,10.00,12.00,0,USD,web,paid\n")
    result = ingest_file(intake_store, "orders", write(tmp_path, "dup.csv", text))
    assert result.status == "rejected"
    assert "more than one column of the same name: 'net_revenue' in columns 4, 5" in result.message
    assert snapshot(intake_store) == before


def test_a_line_item_file_is_folded_once_for_every_later_read(intake_store, tmp_path, monkeypatch):
    """The folded orders are written once (``folded_input``) and every later step reads that table: a view
    folded the whole file again for the float-id check, the typing pass, the failing rows and the
    quarantine (8 folds of Online Retail's 541,909 lines, ~0.3 s each, benchmarks/online_retail_benchmark.py)."""
    from engagement.intake import float_written_ids, folding

    # The text path's folded table (a CSV's typed fold, tried first, writes its orders once too: test_typed_fold.py).
    monkeypatch.setattr(folding, "stage_typed_csv", lambda *a, **k: None)
    seen = []
    real = float_written_ids.integer_ids
    monkeypatch.setattr(float_written_ids, "integer_ids", lambda cur, kind, plan: seen.append(plan.select_sql) or
                        real(cur, kind, plan))
    text = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" + "\n".join([
        "536365,85123A,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
        "536365,71053,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",
        "536366,22633,6,2010-12-01 08:28:00,1.85,13047.0,United Kingdom",
        "536367,22632,6,2999-12-01 08:28:00,2.10,13047.0,United Kingdom",  # in the future: quarantined
    ]) + "\n"
    result = ingest_file(intake_store, "orders", write(tmp_path, "retail.csv", text), on_invalid="quarantine")
    assert result.status == "loaded", result.message
    assert seen == ["SELECT * FROM folded_input"]
    assert any("4 line(s) made 3 order(s)" in n for n in result.notes), result.notes
    assert result.summary.rows_quarantined == 1
    got = table(intake_store, "SELECT order_id, customer_id, net_revenue::double AS r FROM orders "
                              "WHERE order_id LIKE '5363%' ORDER BY 1")
    # 6 x 2.55 + 6 x 3.39 = 35.64; 6 x 1.85 = 11.10
    assert got.values.tolist() == [["536365", "17850", 35.64], ["536366", "13047", 11.1]]
