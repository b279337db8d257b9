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

from intake_fixtures import ORDERS_HEADER, intake_store, recording, table, write  # noqa: F401

FAILING = range(3, 90, 3)  # 29 failing orders, more than the report's sample of 20



def test_failing_rows_are_quoted_from_one_read_of_the_text(intake_store, tmp_path, monkeypatch):
    lines = [f"q{n},A,2025-03-01 10:00:00,{'-' if n in FAILING else ''}{n}.50 ,0,USD,web,paid" for n in range(100)]
    path = write(tmp_path, "orders.csv", "\n".join([ORDERS_HEADER] + lines) + "\n")
    seen = recording(monkeypatch)
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


def _file_reads(seen: list[str]) -> list[str]:
    """The statements that type the rows and that copy the file's text, in the order they ran."""
    return [("text" if "TABLE raw_unnumbered AS" in sql else "typed") for sql in seen
            if "TABLE raw_unnumbered AS" in sql or "TEMP TABLE checked_rows AS" in sql]


def test_after_failing_rows_the_text_is_read_first_and_typed_from(intake_store, tmp_path, monkeypatch):
    """The one-pass attempt met a failing row: the text table, which quoting needs, is read before the typing pass,
    which then reads it instead of the file (the file read once more, not twice)."""
    lines = [f"t{n},A,2025-03-01 10:00:00,{'-' if n == 40 else ''}{n}.25,0,USD,web,paid" for n in range(60)]
    seen = recording(monkeypatch)
    result = ingest_file(intake_store, "orders", write(tmp_path, "orders.csv", "\n".join([ORDERS_HEADER] + lines)),
                         on_invalid="quarantine")
    assert result.status == "loaded", result.message
    assert _file_reads(seen) == ["text", "typed"]
    assert result.failing_rows.row_number.tolist() == [42] and result.summary.rows_quarantined == 1
    assert table(intake_store, f"SELECT sum(net_revenue)::DOUBLE AS s FROM orders WHERE load_id = "
                               f"{result.summary.load_id}").s[0] == sum(n + 0.25 for n in range(60) if n != 40)


def test_a_cell_past_the_head_needing_the_forgiving_parse_reads_the_file_twice_not_three_times(
        intake_store, tmp_path, monkeypatch):
    """Row 10,021 (past the 10,000-row head the one pass looks at first) writes its money with a currency sign: the
    text is read once, then typed from twice (plain cast, then the forgiving parsers)."""
    lines = [f"h{n},A,2025-03-01 10:00:00,{'$' if n == 10_019 else ''}{n % 50}.75,0,USD,web,paid"
             for n in range(10_030)]
    seen = recording(monkeypatch)
    result = ingest_file(intake_store, "orders", write(tmp_path, "orders.csv", "\n".join([ORDERS_HEADER] + lines)))
    assert result.status == "loaded", result.message
    assert _file_reads(seen) == ["text", "typed", "typed"]
    got = table(intake_store, "SELECT net_revenue::DOUBLE AS r FROM orders WHERE order_id = 'h10019'").r[0]
    assert got == 10_019 % 50 + 0.75  # "$19.75" as written
