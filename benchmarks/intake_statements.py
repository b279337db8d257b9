"""The intake's share of a full load, statement by statement (issue 20): CPU and wall time of every statement run on
the store's cursors while one orders file is validated and loaded, against DuckDB's bare load of the same file.

    python -m benchmarks.intake_statements --folder data/h5 [--orders orders.csv] [--derived] [--on-invalid quarantine]

``--folder`` holds ``customers.csv`` and the orders file (written there, fixed seed, 5M orders of 500,000 customers
as ``benchmarks.incremental_benchmark`` writes them, when absent); a fresh database is made in its subfolder
``intake-run`` on every run (removed at the end, with the raw files the loads archived beside it). Without ``--derived`` the load leaves the derived tables alone (the intake only); with it, their build
is timed as one entry. CPU is this process's (user + system, every DuckDB thread): a statement's figure includes
whatever else ran meanwhile (the checksum thread), so the sum is printed beside the total.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

from benchmarks.synthetic import write_customers_and_orders
from benchmarks.timing import Took
from engagement.intake.ingest import ingest_file
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

TIMED = ("execute", "executemany", "sql", "fetchall", "fetchone", "df")


def write_files(folder: Path, rows: int = 5_000_000, customers: int = 500_000) -> None:
    """The customers and orders of ``benchmarks.incremental_benchmark`` (``benchmarks.synthetic``)."""
    con = duckdb.connect()
    write_customers_and_orders(con, folder / "customers.csv", folder / "orders.csv", rows, customers)
    con.close()


class _Timed:
    """A cursor whose statements are timed into ``records`` (label, statement, Took)."""

    def __init__(self, cursor, records: list, state: dict):
        self._cursor, self._records, self._state = cursor, records, state

    def __getattr__(self, name):
        attr = getattr(self._cursor, name)
        if name not in TIMED:
            return attr

        def timed(*args, **kwargs):
            with Took() as took:
                out = attr(*args, **kwargs)
            text = " ".join(str(args[0]).split()) if args and name in ("execute", "executemany", "sql") else f".. {name}"
            self._records.append(("derived" if self._state["derived"] else "intake", text, took))
            return self if out is self._cursor else out

        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--orders", default="orders.csv")
    parser.add_argument("--derived", action="store_true", help="build the derived tables in the load (one entry)")
    parser.add_argument("--on-invalid", default="quarantine", choices=("reject", "quarantine"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    folder = args.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "customers.csv").exists() or not (folder / args.orders).exists():
        write_files(folder)
    run = folder / "intake-run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    db = run / "intake.duckdb"
    store = open_workbench(db, read_only=False, readable=(folder,))
    assert ingest_file(store, "customers", folder / "customers.csv", refresh_derived=False).status == "loaded"
    store.refit_in_background = True

    bare_db = folder / "bare.duckdb"
    bare_db.unlink(missing_ok=True)
    con = duckdb.connect(str(bare_db))
    with Took() as bare:
        con.execute(f"CREATE TABLE orders_raw AS SELECT * FROM read_csv('{folder / args.orders}')").fetchall()
    con.close()
    bare_db.unlink()

    records: list = []
    state = {"derived": False}
    cursor, refresh = Store.cursor, Store._refresh_derived

    def timed_cursor(self):
        real = cursor(self)
        return real if isinstance(real, _Timed) else _Timed(real, records, state)

    def timed_refresh(self, cur, change=None):
        state["derived"] = True
        try:
            with Took() as took:
                refresh(self, cur, change)
        finally:
            state["derived"] = False
        records.append(("derived", "(the derived build in all)", took))

    Store.cursor, Store._refresh_derived = timed_cursor, timed_refresh
    try:
        with Took() as total:
            result = ingest_file(store, "orders", folder / args.orders, refresh_derived=args.derived,
                                 on_invalid=args.on_invalid)
    finally:
        Store.cursor, Store._refresh_derived = cursor, refresh
    store.close()
    shutil.rmtree(run, ignore_errors=True)  # the database and its archive of the raw files (GBs at this size)
    assert result.status == "loaded", result.message
    intake = [r for r in records if r[0] == "intake"]
    derived = [r for r in records if r[1].startswith("(the derived")]
    intake_cpu = sum(r[2].cpu for r in intake)
    derived_cpu = sum(r[2].cpu for r in derived)
    print(f"orders file {args.orders}: {result.rows_read:,} rows, {result.summary.rows_quarantined:,} quarantined")
    print(f"bare DuckDB load: {bare}")
    print(f"ingest (derived tables {'built' if args.derived else 'left alone'}): {total} = {total.against(bare)} bare")
    print(f"  intake statements CPU {intake_cpu:.2f} s ({intake_cpu / bare.cpu:.2f}x bare); derived build CPU "
          f"{derived_cpu:.2f} s; the rest (Python, the checksum thread) CPU {total.cpu - intake_cpu - derived_cpu:.2f} s")
    for label, text, took in sorted(records, key=lambda r: -r[2].cpu)[:args.top]:
        print(f"  {took.cpu:6.2f} CPU s {took.wall:6.2f} s  {label:7s} {text[:110]}")


if __name__ == "__main__":
    main()
