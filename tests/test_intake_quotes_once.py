"""Issue 20, the intake's share of a full load: the text of a file's failing rows is read once.

The report's sample, the result's failing rows and the quarantine's JSON all quote the failing rows as the file had
them; each used to join the failures to the whole text table (three scans of every row of the file). Now
``validation.quote_failures`` keeps those rows' text once and the three read that. The outcome is unchanged: the
failing rows with their file line numbers, reasons and original text, in the result and in quarantine; expected
values come from the lines the test writes.
"""

from __future__ import annotations

import json

from engagement.intake.ingest import ingest_file
from engagement.warehouse.store import Store

from intake_fixtures import ORDERS_HEADER, intake_store, table, write  # noqa: F401

FAILING = range(3, 90, 3)  # 29 failing orders, more than the report's sample of 20


def _recording(monkeypatch) -> list[str]:
    """Every statement run on a cursor the store hands out, as text."""
    seen: list[str] = []
    real = Store.cursor

    class Recording:
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, sql, *args, **kwargs):
            seen.append(" ".join(str(sql).split()))
            return self._cursor.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    monkeypatch.setattr(Store, "cursor", lambda self: (lambda c: c if isinstance(c, Recording) else Recording(c))(
        real(self)))
    return seen


def test_failing_rows_are_quoted_from_one_read_of_the_text(intake_store, tmp_path, monkeypatch):
    lines = [f"q{n},A,2025-03-01 10:00:00,{'-' if n in FAILING else ''}{n}.50 ,0,USD,web,paid" for n in range(100)]
    path = write(tmp_path, "orders.csv", "\n".join([ORDERS_HEADER] + lines) + "\n")
    seen = _recording(monkeypatch)
    result = ingest_file(intake_store, "orders", path, on_invalid="quarantine")
    assert result.status == "loaded", result.message
    # Statements reading the text rows of the failures: one (the old code joined them three times).
    quoting = [sql for sql in seen if "row_failures" in sql and "mapped_input" in sql]
    assert len(quoting) == 1, quoting

    expected_rows = [n + 2 for n in FAILING]  # the header is line 1, order q0 line 2
    assert len(result.report.sample_failures) == 20
    assert result.report.sample_failures.row_number.tolist() == expected_rows[:20]
    assert result.failing_rows.row_number.tolist() == expected_rows
    assert result.failing_rows.net_revenue.tolist() == [f"-{n}.50 " for n in FAILING]  # as written, space kept
    assert set(result.failing_rows.reason) == {"net_revenue is negative"}

    s = result.summary
    assert (s.rows_loaded, s.rows_quarantined) == (100 - len(FAILING), len(FAILING))
    kept = table(intake_store, f"SELECT row_number, reason, row_json FROM quarantine WHERE load_id = {s.load_id} "
                               "ORDER BY row_number")
    assert kept.row_number.tolist() == expected_rows
    quoted = [json.loads(text) for text in kept.row_json]
    assert [row["order_id"] for row in quoted] == [f"q{n}" for n in FAILING]
    assert [row["net_revenue"] for row in quoted] == [f"-{n}.50 " for n in FAILING]
    assert [row["file_row"] for row in quoted] == expected_rows
    loaded = table(intake_store, f"SELECT order_id FROM orders WHERE load_id = {s.load_id} ORDER BY order_id")
    assert sorted(loaded.order_id) == sorted(f"q{n}" for n in range(100) if n not in FAILING)
