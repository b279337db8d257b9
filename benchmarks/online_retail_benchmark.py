"""The UCI Online Retail line-item file (541,909 lines) through the intake, against DuckDB bare.

    python -m benchmarks.online_retail_benchmark [--file ../shared/data/online_retail/online_retail.parquet] [--runs 3]
        [--csv]

In one warm process (imports done, Great Expectations imported by a small warm-up load), the three measured
back to back in each run so that they see the same load on a shared machine, every figure printed; the ratios
of each run and their medians over ``--runs``, besides the best of each side:

- bare, the same orders (the goal's baseline: "DuckDB reading the file and running the same aggregation
  bare"): the intake's aggregation written as plain DuckDB SQL over the file (``SAME_ORDERS_SQL``), with no
  validation and no bookkeeping, into a table of a fresh database file: one order per invoice, its customer
  and time from its first line that has them, revenue = sum of quantity x price, cancellations (``C`` +
  digits, or every quantity negative) refunded from the order they name or kept as refunds of their own,
  status paid / partially_refunded / refunded, float-written customer ids as integers. The benchmark checks
  that this table holds the intake's orders: every loaded order equal in customer, time, revenue and
  status, and the rest exactly the orders the intake kept in quarantine;
- bare, plain aggregates (the baseline of earlier tables, printed as a harsher second reference): one row per
  invoice of first customer, first time and sum of quantity x price (``PLAIN_AGGREGATES_SQL``), no
  cancellations, no first-line rule, no typing of ids;
- intake: ``ingest_file`` (read, fold the lines into orders, float ids, type, validate with the suite, load
  in one transaction with its quarantine, load record and audit row) into a fresh database file, with the
  derived rebuild left out (``refresh_derived=False``), then ``store.refresh_derived()`` timed apart.

All read the same file in the same format: the Parquet file as ``shared/data`` holds it (typed columns), or with
``--csv`` that file written out as CSV first (untimed), the form most exports arrive in, where DuckDB's bare read
parses text too (``read_csv`` with its type detection).

The intake opens the database as ``python -m engagement ingest FILE`` does, with the file readable by DuckDB's
sandbox (so it is read where it is, not copied into the upload spool first). Each side's CPU time (user + system of
every thread, ``time.process_time``) is printed beside its wall time: on a shared machine it moves less with the
load than wall time does.

Goal: intake at most 2x bare. Validation is the one a user gets: the GX row limit (``ENGAGEMENT_GX_MAX_ROWS``)
counts the file's lines (541,909 here, over it), so the suite's SQL translation validates the file; set
``ENGAGEMENT_VALIDATION_ENGINE=gx`` to time it with Great Expectations as well.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from engagement.intake import archive
from engagement.intake import ingest as ingest_module
from engagement.intake.ingest import ingest_file
from engagement.workbench import open_workbench

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / "online_retail.parquet"

# {lines}: the file's lines with ``line``, their position in the file.
LINES = {
    "parquet": "(SELECT *, file_row_number AS line FROM read_parquet($file, file_row_number = true))",
    "csv": "(SELECT *, ordinality AS line FROM read_csv($file) WITH ORDINALITY)",
}

# Grain: one row per order (invoice), as the intake makes them (engagement/intake/line_items.py states the rule).
SAME_ORDERS_SQL = """
CREATE TABLE orders AS
WITH invoices AS (
    SELECT
        InvoiceNo AS invoice,
        regexp_full_match(InvoiceNo, '[Cc][0-9]+') OR bool_and(Quantity < 0) AS is_cancellation,
        CASE WHEN regexp_full_match(InvoiceNo, '[Cc][0-9]+') THEN substr(InvoiceNo, 2) ELSE InvoiceNo END AS cancels,
        -- arg_min skips lines whose first argument is NULL: the first line that has one (no FILTER needed, and
        -- the intake's fold has none either: about 8 % of this statement's CPU)
        arg_min(CustomerID, line) AS customer_id,
        arg_min(InvoiceDate, line) AS ordered_at,
        sum(Quantity * UnitPrice) AS amount
    FROM {lines}
    GROUP BY InvoiceNo
),

refunds AS (
    SELECT cancels, sum(abs(amount)) AS refunded
    FROM invoices
    WHERE is_cancellation AND cancels IN (SELECT invoice FROM invoices WHERE NOT is_cancellation)
    GROUP BY cancels
),

final AS (
    SELECT
        o.invoice AS order_id,
        CAST(CAST(o.customer_id AS BIGINT) AS VARCHAR) AS customer_id,
        o.ordered_at,
        CAST(round(CASE WHEN r.refunded IS NULL THEN o.amount ELSE greatest(o.amount - r.refunded, 0) END, 2)
             AS DECIMAL(18, 2)) AS net_revenue,
        CASE WHEN r.refunded IS NULL THEN 'paid' WHEN r.refunded >= o.amount THEN 'refunded'
             ELSE 'partially_refunded' END AS status
    FROM invoices AS o
    LEFT JOIN refunds AS r ON r.cancels = o.invoice
    WHERE NOT o.is_cancellation
    UNION ALL
    SELECT c.invoice, CAST(CAST(c.customer_id AS BIGINT) AS VARCHAR), c.ordered_at,
           CAST(round(abs(c.amount), 2) AS DECIMAL(18, 2)), 'refunded'
    FROM invoices AS c
    WHERE c.is_cancellation AND c.cancels NOT IN (SELECT cancels FROM refunds)
)

SELECT * FROM final
"""

# Grain: one row per invoice; the baseline of earlier tables (no cancellations, no first-line rule, no typed ids).
PLAIN_AGGREGATES_SQL = """
CREATE TABLE orders AS
SELECT
    InvoiceNo AS order_id,
    arg_min(CustomerID, InvoiceDate) AS customer_id,
    min(InvoiceDate) AS ordered_at,
    round(sum(Quantity * UnitPrice), 2) AS net_revenue
FROM {reader}
GROUP BY InvoiceNo
"""

# The intake's orders against the same orders made bare: (orders bare only, orders intake only, loaded, quarantined)
COMPARE_SQL = """
WITH quarantined AS (
    SELECT json_extract_string(row_json, '$.order_id') AS order_id FROM intake.quarantine
),
loaded AS (SELECT order_id, customer_id, ordered_at, net_revenue, status FROM intake.orders),
bare AS (
    SELECT order_id, customer_id, ordered_at, net_revenue, status FROM bare.orders
    WHERE order_id NOT IN (SELECT order_id FROM quarantined)
)
SELECT
    (SELECT count(*) FROM (SELECT * FROM bare EXCEPT SELECT * FROM loaded)),
    (SELECT count(*) FROM (SELECT * FROM loaded EXCEPT SELECT * FROM bare)),
    (SELECT count(*) FROM loaded),
    (SELECT count(*) FROM quarantined WHERE order_id IN (SELECT order_id FROM bare.orders)),
    (SELECT count(*) FROM bare.orders)
"""


def bare(file: Path, database: Path, sql: str) -> tuple[float, float]:
    """(wall, CPU) seconds of DuckDB reading the file and writing ``sql``'s table into a fresh database file."""
    con = duckdb.connect(str(database))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        reader = "read_csv($file)" if file.suffix == ".csv" else "read_parquet($file)"
        lines = LINES["csv" if file.suffix == ".csv" else "parquet"]
        con.execute(sql.format(reader=reader, lines=lines), {"file": str(file)}).fetchall()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        con.close()


def same_orders(bare_database: Path, intake_database: Path) -> str:
    """Check that the bare table holds the intake's orders (AssertionError if not); what was compared, in words."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{bare_database}' AS bare (READ_ONLY)")
        con.execute(f"ATTACH '{intake_database}' AS intake (READ_ONLY)")
        bare_only, intake_only, loaded, quarantined, made = con.execute(COMPARE_SQL).fetchall()[0]
    finally:
        con.close()
    assert bare_only == intake_only == 0 and loaded + quarantined == made, (
        f"the bare orders differ from the intake's: {bare_only} bare only, {intake_only} intake only, "
        f"{loaded} loaded + {quarantined} quarantined of {made} bare")
    return (f"checked: the bare same-orders table = the intake's {loaded:,} loaded orders (customer, time, revenue, "
            f"status equal) + its {quarantined:,} quarantined ({made:,} orders)")


def _beside(function, spent: list[float]):
    """``function`` adding the CPU time of its own thread to ``spent`` (the checksum and the archive copy run on a
    thread of their own beside the read, ``ingest_file``)."""
    def timed(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.thread_time() - started)
    return timed


def intake(file: Path, folder: Path) -> tuple[float, float, float, float, str]:
    """(wall, CPU, CPU of the checksum and archive copy's thread, derived rebuild wall) seconds of the intake of the
    file, and what it said."""
    store = open_workbench(folder / "intake.duckdb", read_only=False, readable=(file,))
    beside: list[float] = []
    sha256, copy = ingest_module.file_sha256, archive.archive_copy
    ingest_module.file_sha256, archive.archive_copy = _beside(sha256, beside), _beside(copy, beside)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        result = ingest_file(store, "orders", file, on_invalid="quarantine", refresh_derived=False)
        loaded, loaded_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.status == "loaded", result.message
        started = time.perf_counter()
        store.refresh_derived()
        rebuilt = time.perf_counter() - started
        said = f"{result.message} Engine: {result.report.engine}. " + " ".join(
            n for n in result.notes if "line(s) made" in n)
        return loaded, loaded_cpu, sum(beside), rebuilt, said
    finally:
        ingest_module.file_sha256, archive.archive_copy = sha256, copy
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="time both sides on the file written out as CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retail-bench-") as tmp:
        if args.csv:
            as_csv = Path(tmp) / "online_retail.csv"
            duckdb.execute(f"COPY (SELECT * FROM read_parquet('{args.file}')) TO '{as_csv}' (HEADER)")
            args.file = as_csv
        print(f"all sides read {args.file} ({args.file.stat().st_size / 1e6:.1f} MB)")
        warm = Path(tmp) / "warm"
        warm.mkdir()
        small = warm / f"head{args.file.suffix}"
        duckdb.execute(f"COPY (SELECT * FROM '{args.file}' LIMIT 2000) TO '{small}' "
                       f"({'HEADER' if args.csv else 'FORMAT parquet'})")
        intake(small, warm)  # imports, GX and the SQL files read once
        bare(small, warm / "same.duckdb", SAME_ORDERS_SQL)
        figures: dict[str, list[float]] = {k: [] for k in (
            "same", "same_cpu", "plain", "plain_cpu", "intake", "intake_cpu", "rebuild", "beside_cpu")}
        for run in range(args.runs):
            folder = Path(tmp) / f"run{run}"
            folder.mkdir()
            plain_s, plain_cpu = bare(args.file, folder / "plain.duckdb", PLAIN_AGGREGATES_SQL)
            same_s, same_cpu = bare(args.file, folder / "same.duckdb", SAME_ORDERS_SQL)
            loaded, loaded_cpu, beside_cpu, rebuilt, message = intake(args.file, folder)
            checked = same_orders(folder / "same.duckdb", folder / "intake.duckdb")
            for key, value in zip(figures, (same_s, same_cpu, plain_s, plain_cpu, loaded, loaded_cpu, rebuilt,
                                            beside_cpu)):
                figures[key].append(value)
            print(f"run {run + 1}: intake {loaded:.3f} s (CPU {loaded_cpu:.3f} s, of which {beside_cpu:.3f} s the "
                  f"checksum and archive copy's thread) · bare same orders {same_s:.3f} s "
                  f"(CPU {same_cpu:.3f} s) = {loaded / same_s:.1f}x (CPU {loaded_cpu / same_cpu:.1f}x) · bare plain "
                  f"aggregates {plain_s:.3f} s (CPU {plain_cpu:.3f} s) = {loaded / plain_s:.1f}x (CPU "
                  f"{loaded_cpu / plain_cpu:.1f}x) · derived rebuild {rebuilt:.2f} s")
        print(message)
        print(checked)
        median = {key: statistics.median(values) for key, values in figures.items()}
        for name, base in (("bare same orders (the goal's baseline)", "same"),
                           ("bare plain aggregates (harsher)", "plain")):
            ratios = [a / b for a, b in zip(figures["intake"], figures[base])]
            cpu_ratios = [a / b for a, b in zip(figures["intake_cpu"], figures[f"{base}_cpu"])]
            print(f"intake / {name}: ratio per run {' '.join(f'{r:.1f}x' for r in ratios)}; median "
                  f"{statistics.median(ratios):.2f}x (range {min(ratios):.1f}-{max(ratios):.1f}x); CPU ratio per run "
                  f"{' '.join(f'{r:.1f}x' for r in cpu_ratios)}; median {statistics.median(cpu_ratios):.2f}x (range "
                  f"{min(cpu_ratios):.1f}-{max(cpu_ratios):.1f}x)")
        beside = [(a - c) / b for a, b, c in zip(figures["intake_cpu"], figures["same_cpu"], figures["beside_cpu"])]
        print(f"intake CPU without the checksum and archive copy's thread (read + validation + aggregation + load) / "
              f"bare same orders: median {statistics.median(beside):.2f}x (range {min(beside):.1f}-"
              f"{max(beside):.1f}x); that thread: median {median['beside_cpu'] * 1000:.1f} ms of CPU")
        print(f"median: intake read + validation + aggregation + load {median['intake']:.3f} s (CPU "
              f"{median['intake_cpu']:.3f} s); bare same orders {median['same']:.3f} s (CPU {median['same_cpu']:.3f} s); "
              f"bare plain aggregates {median['plain']:.3f} s (CPU {median['plain_cpu']:.3f} s); derived rebuild "
              f"apart {median['rebuild']:.2f} s (goal: intake <= 2x bare same orders)")
        print(f"best: intake {min(figures['intake']):.3f} s; bare same orders {min(figures['same']):.3f} s; bare plain "
              f"{min(figures['plain']):.3f} s; derived rebuild {min(figures['rebuild']):.2f} s")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
