"""The UCI Online Retail line-item file (541,909 lines) through the intake, against DuckDB bare.

    python -m benchmarks.online_retail_benchmark [--file ../shared/data/online_retail/online_retail.parquet] [--runs 3]
        [--csv]

In one warm process (imports done, Great Expectations imported by a small warm-up load), alternating the two
so that both see the same load on a shared machine, every figure printed; the ratio of each run (both sides
measured back to back) and the median of those ratios over ``--runs``, besides the best of each side:

- bare: DuckDB reads the file and runs the same aggregation (one row per invoice: first customer, first
  time, sum of quantity x price) into a table of a fresh database file;
- intake: ``ingest_file`` (read, fold the lines into orders, float ids, type, validate with the suite, load
  in one transaction) into a fresh database file, with the derived rebuild left out
  (``refresh_derived=False``), then ``store.refresh_derived()`` timed apart.

Both sides read the same file in the same format: the Parquet file as ``shared/data`` holds it (typed columns:
the bare read parses nothing, while the intake reads every cell as text, as it does any export, and types it
again). ``--csv`` writes that file out as CSV first (untimed) and times both sides on the CSV, the form most
exports arrive in, where the bare read parses text too (``read_csv`` with its type detection).

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

from engagement.intake.ingest import ingest_file
from engagement.workbench import open_workbench

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / "online_retail.parquet"

BARE_SQL = """
CREATE TABLE orders AS
SELECT
    InvoiceNo AS order_id,
    arg_min(CustomerID, InvoiceDate) AS customer_id,
    min(InvoiceDate) AS ordered_at,
    round(sum(Quantity * UnitPrice), 2) AS net_revenue
FROM {reader}
GROUP BY InvoiceNo
"""


def bare(file: Path, folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of DuckDB reading the file and writing the aggregation into a fresh database file."""
    con = duckdb.connect(str(folder / "bare.duckdb"))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        reader = "read_csv($file)" if file.suffix == ".csv" else "read_parquet($file)"
        con.execute(BARE_SQL.format(reader=reader), {"file": str(file)}).fetchall()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        con.close()


def intake(file: Path, folder: Path) -> tuple[float, float, float, str]:
    """(wall, CPU, derived rebuild wall) seconds of the intake of the file, and what it said."""
    store = open_workbench(folder / "intake.duckdb", read_only=False, readable=(file,))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        result = ingest_file(store, "orders", file, on_invalid="quarantine", refresh_derived=False)
        loaded, loaded_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.status == "loaded", result.message
        started = time.perf_counter()
        store.refresh_derived()
        rebuilt = time.perf_counter() - started
        return loaded, loaded_cpu, rebuilt, f"{result.message} Engine: {result.report.engine}. " + " ".join(
            n for n in result.notes if "line(s) made" in n)
    finally:
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
        print(f"both sides read {args.file} ({args.file.stat().st_size / 1e6:.1f} MB)")
        warm = Path(tmp) / "warm"
        warm.mkdir()
        small = warm / f"head{args.file.suffix}"
        duckdb.execute(f"COPY (SELECT * FROM '{args.file}' LIMIT 2000) TO '{small}' "
                       f"({'HEADER' if args.csv else 'FORMAT parquet'})")
        intake(small, warm)  # imports, GX and the SQL files read once
        bares, loads, rebuilds, bare_cpus, load_cpus = [], [], [], [], []
        for run in range(args.runs):
            folder = Path(tmp) / f"run{run}"
            folder.mkdir()
            bare_s, bare_cpu = bare(args.file, folder)
            loaded, loaded_cpu, rebuilt, message = intake(args.file, folder)
            bares.append(bare_s)
            bare_cpus.append(bare_cpu)
            loads.append(loaded)
            load_cpus.append(loaded_cpu)
            rebuilds.append(rebuilt)
            print(f"run {run + 1}: bare {bare_s:.3f} s (CPU {bare_cpu:.3f} s) · intake {loaded:.3f} s (CPU "
                  f"{loaded_cpu:.3f} s) = {loaded / bare_s:.1f}x (CPU {loaded_cpu / bare_cpu:.1f}x) · derived rebuild "
                  f"{rebuilt:.2f} s")
        print(message)
        ratios = [load / bare_s for load, bare_s in zip(loads, bares)]
        cpu_ratios = [load / bare_s for load, bare_s in zip(load_cpus, bare_cpus)]
        print(f"ratio per run: {' '.join(f'{r:.1f}x' for r in ratios)}; median {statistics.median(ratios):.1f}x "
              "(goal <= 2x)")
        print(f"CPU ratio per run: {' '.join(f'{r:.1f}x' for r in cpu_ratios)}; median "
              f"{statistics.median(cpu_ratios):.1f}x")
        print(f"median: bare DuckDB read + aggregation {statistics.median(bares):.3f} s (CPU "
              f"{statistics.median(bare_cpus):.3f} s); intake read + validation + aggregation + load "
              f"{statistics.median(loads):.3f} s (CPU {statistics.median(load_cpus):.3f} s); derived rebuild apart "
              f"{statistics.median(rebuilds):.2f} s")
        print(f"best: bare {min(bares):.3f} s; intake {min(loads):.3f} s = {min(loads) / min(bares):.1f}x; "
              f"derived rebuild {min(rebuilds):.2f} s")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
