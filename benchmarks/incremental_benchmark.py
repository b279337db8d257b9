"""Loads in proportion to what changed (issue 20): a full load, a weekly file and its undo, each against the full
load or DuckDB's bare load of the same file, printed in the same run.

    python -m benchmarks.incremental_benchmark [--rows 5000000] [--customers 500000] [--weekly 10000]

Generates (fixed seed, in a temporary folder) a customers CSV, an orders CSV and a weekly orders CSV (``--weekly``
orders in the 7 days after the data's end, 95 % by known customers), then prints:

- bare: ``CREATE TABLE t AS SELECT * FROM read_csv(orders)`` into a fresh database file;
- full load: ``ingest orders`` of the orders into a database holding the customers, derived tables included (an
  initial load touches every customer: rebuilt whole), then, after the commit and printed apart, the stored views
  of the pages' default queries and the default CLV and churn fits (in the background, as the app runs them;
  the CLI builds them before it exits);
- weekly file through the CLI: ``python -m engagement ingest orders weekly.csv`` in a new process (imports,
  validation, load, the derived update, and the stored views and model refit the CLI builds after the commit
  before it exits; and the same with ``--defer-fits``, which leaves those to ``refit``), against the full load;
- warm weekly file, as the Data page runs it: ``ingest_file`` in a process that has the database open, returning
  when the data and derived tables are in (the fits refit in the background), against the full load;
- undo of that weekly load, warm and through the CLI;
- the read-only snapshot published after the full load (the CLI waits for it; the app publishes in the background);
- peak memory (maximum resident set) of this process and of the CLI processes.

``--files DIR`` writes the generated files into DIR once and reuses them. ``--full-load-only`` stops after the full load and its snapshot; ``--profile`` prints each derived entry's time in
the full load (wall and CPU; the whole derived build too) and in the warm weekly load's and its undo's update;
``--phases`` loads and undoes the weekly file once more through the CLI and prints where each process's CPU went
(imports, opening, validation, the derived update, the snapshot's checkpoint and copy, closing:
``benchmarks.cli_phases``), and times the weekly command once more with the SQL checks alone validating the file
(``ENGAGEMENT_VALIDATION_ENGINE=duckdb``: no Great Expectations).

Each figure is wall time, and CPU time (user + system, of this process or of the CLI's) in brackets: on a machine
shared with other jobs the CPU ratios move less than the wall ones.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
from pathlib import Path

import duckdb

from benchmarks.synthetic import write_customers_and_orders
from benchmarks.timing import Took, cli
from engagement.intake.ingest import ingest_file
from engagement.derived import DEFERRED, FITTED_AFTER_COMMIT
from engagement.derived.refits import wait_for_refits
from engagement.warehouse import snapshots
from engagement.workbench import open_workbench

ROOT = Path(__file__).resolve().parents[1]
AFTER_COMMIT = (*DEFERRED, *FITTED_AFTER_COMMIT)  # built after the full load commits, not in it


def write_files(folder: Path, rows: int, customers: int, weekly: int) -> tuple[Path, Path, Path, Path]:
    con = duckdb.connect()
    paths = [folder / name for name in ("customers.csv", "orders.csv", "weekly.csv", "weekly2.csv")]
    write_customers_and_orders(con, paths[0], paths[1], rows, customers)
    for week, path in enumerate(paths[2:], start=1):
        # The week after the data's end (5.0e7 s after 2024-01-01), 95 % known customers, 5 % new ones.
        con.execute(f"""
            COPY (SELECT 'w{week}-' || i AS order_id,
                         CASE WHEN random() < 0.95 THEN 'c' || CAST(floor(random() * {customers}) AS BIGINT)
                              ELSE 'new{week}-' || i END AS customer_id,
                         TIMESTAMP '2024-01-01' + to_seconds(CAST(5.0e7 + (week - 1 + random()) * 7 * 86400 AS BIGINT))
                           AS ordered_at,
                         round(5 + random() * 200, 2) AS net_revenue, 0.0 AS discount, 'USD' AS currency,
                         'web' AS channel, 'paid' AS status
                  FROM range({weekly}) t(i), (SELECT {week} AS week)) TO '{path}' (HEADER)""").fetchall()
    con.close()
    return tuple(paths)  # type: ignore[return-value]


def generated_files(args: argparse.Namespace, scratch: Path) -> tuple[Path, Path, Path, Path]:
    """The four CSV files: written into ``scratch``, or into ``--files`` unless a run with the same sizes (named
    in the folder's ``sizes.txt``) wrote them there already."""
    if args.files is None:
        return write_files(scratch, args.rows, args.customers, args.weekly)
    args.files.mkdir(parents=True, exist_ok=True)
    sizes, stamp = args.files / "sizes.txt", f"{args.rows} {args.customers} {args.weekly}"
    names = ("customers.csv", "orders.csv", "weekly.csv", "weekly2.csv")
    if not sizes.exists() or sizes.read_text() != stamp or not all((args.files / n).exists() for n in names):
        sizes.unlink(missing_ok=True)
        write_files(args.files, args.rows, args.customers, args.weekly)
        sizes.write_text(stamp)
    return tuple(args.files.resolve() / name for name in names)  # type: ignore[return-value]


def bare_load(folder: Path, csv: Path) -> Took:
    (folder / "bare.duckdb").unlink(missing_ok=True)
    con = duckdb.connect(str(folder / "bare.duckdb"))
    with Took() as took:
        con.execute(f"CREATE OR REPLACE TABLE orders_raw AS SELECT * FROM read_csv('{csv}')").fetchall()
    con.close()
    (folder / "bare.duckdb").unlink()
    return took


def _time_entries() -> dict[str, Took]:
    """Time each derived entry as the load builds it (``--profile``): its name -> :class:`Took`; the whole derived
    build (the update's decision to rebuild included) as "(derived build in all)"."""
    import engagement.derived as derived
    from engagement.warehouse.store import Store

    entries: dict[str, Took] = {}
    build_entry, refresh = derived.build_entry, Store._refresh_derived

    def timed_entry(store, cur, name):
        with Took() as took:
            build_entry(store, cur, name)
        entries[name] = took

    def timed_refresh(self, cur, change=None):
        with Took() as took:
            refresh(self, cur, change)
        entries["(derived build in all)"] = took

    derived.build_entry, Store._refresh_derived = timed_entry, timed_refresh
    return entries


def _time_update_entries() -> dict[str, Took]:
    """Time each derived entry as an incremental write updates it (``--profile``): its name -> :class:`Took`,
    and the update's look at what the write touched as "(touched)"; cleared by the caller between writes."""
    from engagement.derived import update

    entries: dict[str, Took] = {}
    entry, touched = update._Update._entry, update._Update._touched

    def timed_entry(self, store, name):
        with Took() as took:
            entry(self, store, name)
        entries[name] = took

    def timed_touched(self):
        with Took() as took:
            answer = touched(self)
        entries["(touched)"] = took
        return answer

    update._Update._entry, update._Update._touched = timed_entry, timed_touched
    return entries


def _print_entries(entries: dict[str, Took]) -> None:
    for name, took in sorted(entries.items(), key=lambda item: -item[1].cpu):
        if took.cpu >= 0.005:
            print(f"    {name:34s} {took}")


def peak_gib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--weekly", type=int, default=10_000)
    parser.add_argument("--full-load-only", action="store_true",
                        help="stop after the full load and its snapshot (no weekly files, no undo)")
    parser.add_argument("--profile", action="store_true",
                        help="print the time of each derived entry the full load builds")
    parser.add_argument("--files", type=Path,
                        help="folder for the generated CSV files: written there once, reused by later runs with the "
                             "same --rows, --customers and --weekly (default: a temporary folder, removed after)")
    parser.add_argument("--phases", action="store_true",
                        help="load and undo the weekly file once more through the CLI (--defer-fits), printing where "
                             "each process's CPU went (benchmarks.cli_phases)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incr-bench-", dir=ROOT / "data") as tmp:
        folder = Path(tmp)
        customers_csv, orders_csv, weekly_csv, weekly2_csv = generated_files(args, folder)
        print(f"orders CSV: {args.rows:,} rows of {args.customers:,} customers, "
              f"{orders_csv.stat().st_size / 1024 ** 2:,.0f} MB; weekly files: {args.weekly:,} orders each")
        db = folder / "bench.duckdb"
        store = open_workbench(db, read_only=False, readable=(folder, *([args.files] if args.files else [])))
        assert ingest_file(store, "customers", customers_csv, refresh_derived=False).status == "loaded"
        store.refit_in_background = True  # the commit is timed apart from the fits that follow it

        bare = bare_load(folder, orders_csv)
        entries = _time_entries() if args.profile else {}
        with Took() as full:
            result = ingest_file(store, "orders", orders_csv)
        assert result.status == "loaded", result.message
        with Took() as fits:
            wait_for_refits(store)
        print(f"bare DuckDB load of the orders file: {bare}")
        print(f"full load (validation, load, derived tables but the stored views, commit): {full} = "
              f"{full.against(bare)} bare (goal <= 3x)")
        print(f"after its commit, in the background: the stored views and the default CLV and churn fits: {fits}; "
              f"load + those = {(full.wall + fits.wall) / bare.wall:.2f}x bare (CPU {(full.cpu + fits.cpu) / bare.cpu:.2f}x)")
        for name, took in sorted(entries.items(), key=lambda item: -item[1].cpu):
            after = " (after the commit: not in the full load)" if name in AFTER_COMMIT else ""
            print(f"    {name:34s} {took}{after}")
        with Took() as published:  # the CLI publishes before it exits (the app on a background thread)
            snapshots.publish(store)
        print(f"read-only snapshot published after it (a CLI load waits for it): {published}; "
              f"load + snapshot = {(full.wall + published.wall) / bare.wall:.2f}x bare "
              f"(CPU {(full.cpu + published.cpu) / bare.cpu:.2f}x)")
        store.close()
        if args.full_load_only:
            print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
            print(f"peak memory: this process {peak_gib(resource.RUSAGE_SELF):.2f} GiB")
            return

        weekly_cli, out = cli("ingest", "orders", str(weekly_csv), db=db)
        print(f"weekly file via the CLI (new process, fits refitted before it exits): {weekly_cli} "
              f"= {weekly_cli.against(full, percent=True)} of the full load (goal <= 15 %)")
        undo_cli, _ = cli("undo", str(out["load_id"]), db=db)
        print(f"undo of it via the CLI (fits refitted): {undo_cli} = {undo_cli.against(full, percent=True)}")
        deferred, out = cli("ingest", "orders", str(weekly_csv), "--defer-fits", db=db)
        print(f"weekly file via the CLI with --defer-fits: {deferred} = {deferred.against(full, percent=True)}")
        undo_deferred, _ = cli("undo", str(out["load_id"]), "--defer-fits", db=db)
        print(f"undo of it via the CLI with --defer-fits: {undo_deferred} = "
              f"{undo_deferred.against(full, percent=True)}")
        if args.phases:
            print("the same two commands again, phase by phase (benchmarks.cli_phases):")
            phased, out = cli("ingest", "orders", str(weekly_csv), "--defer-fits", db=db, phases=True)
            print(f"  weekly file: {phased} = {phased.against(full, percent=True)}")
            phased, _ = cli("undo", str(out["load_id"]), "--defer-fits", db=db, phases=True)
            print(f"  undo: {phased} = {phased.against(full, percent=True)}")
            # Not a policy: what the weekly command costs when the SQL evaluator alone validates the file.
            sql_only = {"ENGAGEMENT_VALIDATION_ENGINE": "duckdb"}
            weekly_sql, out = cli("ingest", "orders", str(weekly_csv), "--defer-fits", db=db, env=sql_only)
            print(f"weekly file via the CLI with --defer-fits, validated by the SQL checks alone (no Great "
                  f"Expectations: ENGAGEMENT_VALIDATION_ENGINE=duckdb): {weekly_sql} = "
                  f"{weekly_sql.against(full, percent=True)}")
            cli("undo", str(out["load_id"]), "--defer-fits", db=db)
        with Took(children=True) as restored:
            cli("refit", db=db)
        print(f"then `refit` (the stored views both writes dropped, and the fits): {restored}")

        store = open_workbench(db, read_only=False, readable=(folder, *([args.files] if args.files else [])))
        store.refit_in_background = True  # as the app runs it
        ingest_file(store, "orders", weekly2_csv)  # warms the process (imports, validation suite)
        wait_for_refits(store)
        store.undo(int(store.loads()["load_id"].max()))
        wait_for_refits(store)
        updated = _time_update_entries() if args.profile else {}
        with Took() as warm:
            result = ingest_file(store, "orders", weekly2_csv)
        assert result.status == "loaded", result.message
        with Took() as fits:
            wait_for_refits(store)
        print(f"warm weekly file (in process, as the Data page runs it): {warm} = {warm.against(full, percent=True)} "
              f"of the full load (goal <= 5 %); the fits refreshed in the background {fits.wall:.2f} s later")
        _print_entries(updated)
        updated.clear()
        with Took() as undo:
            store.undo(result.summary.load_id)
        wait_for_refits(store)
        print(f"warm undo of it: {undo} = {undo.against(full, percent=True)} of the full load")
        _print_entries(updated)
        store.close()
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        print(f"peak memory: this process {peak_gib(resource.RUSAGE_SELF):.2f} GiB, "
              f"largest CLI process {peak_gib(resource.RUSAGE_CHILDREN):.2f} GiB")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
