"""The one-pass load: a clean file is typed straight into its table and validated there.

The two-pass path (typed into a temporary table, validated, then inserted) stays for files with a
failing row or a cell that needs the forgiving parsers. These tests pin that the shortcut changes
nothing stored: every kind of the demo brand, written as CSV, loads to the same rows, load records,
replaced rows and undo either way; and a file the one pass cannot take falls back with nothing left
behind from the attempt.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from engagement.intake import one_file
from engagement.intake import staging
from engagement.intake.demo import generate_demo
from engagement.intake.ingest import ingest_file
from engagement.warehouse.schema import KINDS
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table, write  # noqa: F401


@pytest.fixture()
def one_pass_results(monkeypatch):
    """Every result the one-pass path returned (None: it fell back to two passes)."""
    results = []
    original = one_file._load_in_one_pass

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(one_file, "_load_in_one_pass", recording)
    return results


def _comparable(store: Store) -> dict[str, list]:
    """Every stored row; load records without their clock readings (times of load and undo, validation seconds)."""
    rows = snapshot(store)
    loads = store.cursor().execute("SELECT * EXCLUDE (loaded_at, undone_at), undone_at IS NULL AS active FROM loads ORDER BY load_id").fetchall()
    comparable_loads = []
    for row in loads:
        row = list(row)
        summary = json.loads(row[9])
        summary.pop("seconds", None)
        summary.pop("archive_path", None)
        row[9] = summary
        comparable_loads.append(row)
    rows["loads"] = comparable_loads
    return rows


def _demo_files(folder):
    frames = generate_demo(customers=600, seed=7)
    paths = {}
    for kind in KINDS:
        paths[kind] = folder / f"{kind}.csv"
        frames[kind].to_csv(paths[kind], index=False)
    # An overlapping second export of orders: every other order again, some with a new status.
    again = frames["orders"].iloc[::2].copy()
    again.loc[again.index[:50], "status"] = "refunded"
    paths["orders_again"] = folder / "orders_again.csv"
    again.to_csv(paths["orders_again"], index=False)
    return paths


def _load_all(store: Store, paths) -> list:
    results = [ingest_file(store, kind, paths[kind], refresh_derived=False) for kind in KINDS]
    results.append(ingest_file(store, "orders", paths["orders_again"]))
    return results


def test_every_demo_kind_stores_the_same_rows_in_one_pass_as_in_two(tmp_path, monkeypatch, one_pass_results):
    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    paths = _demo_files(tmp_path)
    one = open_workbench(tmp_path / "one" / "engagement.duckdb", read_only=False)
    one_results = _load_all(one, paths)
    assert all(r.status == "loaded" for r in one_results), [r.message for r in one_results]
    assert len(one_pass_results) == len(one_results) and all(r is not None for r in one_pass_results)
    assert one_results[-1].summary.rows_updated == one_results[-1].rows_read > 0

    monkeypatch.setattr(one_file, "_load_in_one_pass", lambda *args, **kwargs: None)
    two = open_workbench(tmp_path / "two" / "engagement.duckdb", read_only=False)
    two_results = _load_all(two, paths)
    assert [r.as_dict()["rows_loaded"] for r in one_results] == [r.as_dict()["rows_loaded"] for r in two_results]
    assert [r.as_dict()["rows_updated"] for r in one_results] == [r.as_dict()["rows_updated"] for r in two_results]
    assert [r.report.as_dict()["expectations"] for r in one_results] == [r.report.as_dict()["expectations"] for r in two_results]
    assert _comparable(one) == _comparable(two)

    # Undoing the overlapping load brings back the replaced orders, the same way on both.
    for store in (one, two):
        store.undo(one_results[-1].summary.load_id)
    assert _comparable(one) == _comparable(two)
    one.close()
    two.close()


def test_an_offset_deep_in_a_file_falls_back_and_is_read_as_utc(intake_store, tmp_path, one_pass_results,
                                                                monkeypatch):
    monkeypatch.setattr(staging, "HEAD_ROWS", 5)  # the first look sees clean rows only
    rows = [f"o{i},A,2025-03-01 10:00:00,10.00,0,USD,web,paid" for i in range(40)]
    rows[30] = "o30,B,2025-03-01 10:00:00+02:00,12.00,0,USD,web,paid"
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    before_loads = table(intake_store, "SELECT count(*) AS n FROM loads").n.iloc[0]
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded" and one_pass_results == [None]
    stored = table(intake_store, "SELECT ordered_at FROM orders WHERE order_id = 'o30'")
    assert stored.ordered_at.iloc[0] == datetime(2025, 3, 1, 8, 0)  # 10:00 at +02:00 is 08:00 UTC
    # The rolled-back attempt left no load record, no rows and no archived copy behind.
    assert table(intake_store, "SELECT count(*) AS n FROM loads").n.iloc[0] == before_loads + 1
    assert table(intake_store, "SELECT count(*) AS n FROM orders WHERE order_id LIKE 'o%'").n.iloc[0] == 40
    assert len(list((tmp_path / "db" / "archive").iterdir())) == 1


def test_a_failing_row_takes_two_passes_and_is_quoted_with_its_row_number(intake_store, tmp_path, one_pass_results):
    rows = [f"q{i},A,2025-03-01 10:00:00,10.00,0,USD,web,paid" for i in range(20)]
    rows[12] = "q12,A,2025-03-01 10:00:00,10.00,0,USD,web,lost"  # row 14: unknown status
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    before = snapshot(intake_store)
    rejected = ingest_file(intake_store, "orders", path)
    assert rejected.status == "rejected" and one_pass_results == [None]
    assert snapshot(intake_store) == before
    assert rejected.failing_rows.row_number.tolist() == [14]
    loaded = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert loaded.status == "loaded" and loaded.summary.rows_quarantined == 1
    assert table(intake_store, "SELECT row_number FROM quarantine").row_number.tolist() == [14]


def test_the_reporting_currency_is_that_of_the_orders_stored_before_the_file(intake_store, tmp_path, one_pass_results):
    # The store's orders are in USD; a file of 30 EUR orders must fail the currency check even though,
    # once written in the one pass, its rows outnumber the stored ones.
    rows = [f"e{i},A,2025-03-01 10:00:00,10.00,0,EUR,web,paid" for i in range(30)]
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected" and one_pass_results == [None]
    assert "currency" in result.message
    assert snapshot(intake_store) == before


def test_a_row_failing_a_check_stops_the_one_pass_while_writing(intake_store, tmp_path, monkeypatch):
    """The row checks that read only the row (here: negative revenue) raise while the rows are written, so the
    attempt stops at that row instead of writing and validating the whole file first; uniqueness, which
    needs every row, is still checked after writing."""
    validated_after_writing = []
    original = staging.stage_loaded
    monkeypatch.setattr(staging, "stage_loaded",
                        lambda *args, **kwargs: validated_after_writing.append(args[1]) or original(*args, **kwargs))
    rows = [f"n{i},A,2025-03-01 10:00:00,10.00,0,USD,web,paid" for i in range(50)]
    rows[40] = "n40,A,2025-03-01 10:00:00,-10.00,0,USD,web,paid"  # row 42
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded" and result.summary.rows_quarantined == 1
    assert validated_after_writing == []  # the write itself was refused
    assert table(intake_store, "SELECT row_number FROM quarantine").row_number.tolist() == [42]

    rows[40] = "n39,A,2025-03-01 10:00:00,10.00,0,USD,web,paid"  # a duplicate key instead: found after writing
    path = write(tmp_path, "orders2.csv", ORDERS_HEADER + "\n" + "\n".join(rows) + "\n")
    duplicated = ingest_file(intake_store, "orders", path)
    assert duplicated.status == "rejected" and validated_after_writing == ["orders"]
    assert duplicated.failing_rows.row_number.tolist() == [41, 42]
