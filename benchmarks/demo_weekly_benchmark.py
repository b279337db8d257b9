"""A week of every kind on the demo brand (issue 20): orders, events and surveys, each loaded as a weekly
file, and undone, against the full load of the rest, warm (as the Data page runs it) and through the CLI.

    python -m benchmarks.demo_weekly_benchmark [--customers 1000000] [--days 7] [--seed 42] [--skip-cli]

Generates the demo (``generate_demo``, the frames ``python -m engagement demo`` loads) and splits its activity at
``DEMO_END - days``: every file of the brand's history before the cut (customers, orders, events, messages,
surveys, experiment assignments, experiments, programme costs) as CSV, and the cut's last ``--days`` days of
orders, events and surveys as one weekly CSV each. Then prints, in one run:

- bare: DuckDB's ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` of every history file into a fresh database;
- full load: ``ingest_files`` of every history file as one batch (validation, load, derived tables), the default
  fits after the commit timed apart;
- per weekly kind, through the CLI (``python -m engagement ingest KIND FILE --defer-fits`` in a new process, and
  ``undo LOAD --defer-fits``), then the same kind warm, in this process, as the Data page runs it (the stored views
  and fits rebuilt in the background, timed apart), and its undo; each against the full load (goals: CLI at most
  15 %, warm at most 5 %);
- the three weekly files as one batch, warm.

Wall time and CPU time (user + system, of this process or of the CLI process) in brackets; on a machine shared with
other jobs the CPU ratios move less than the wall ones.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import duckdb

from benchmarks.timing import Took, cli
from engagement.derived.refits import wait_for_refits
from engagement.intake.demo import DEMO_END, generate_demo
from engagement.intake.ingest import ingest_file, ingest_files
from engagement.warehouse.schema import KINDS
from engagement.workbench import open_workbench

ROOT = Path(__file__).resolve().parents[1]
WEEKLY = {"orders": "ordered_at", "events": "occurred_at", "surveys": "responded_at"}  # the demo sends no messages
# in its last days (its campaigns are monthly), so the messages stay whole in the history


def write_files(folder: Path, customers: int, seed: int, days: int) -> tuple[dict[str, Path], dict[str, Path]]:
    """The history files (kind -> CSV) and the weekly files (kind -> CSV), and their row counts printed."""
    frames = generate_demo(customers=customers, seed=seed)
    cut = DEMO_END - timedelta(days=days)
    con = duckdb.connect()
    history, weekly = {}, {}
    for kind in KINDS:
        con.register("frame", frames[kind])
        history[kind] = folder / f"{kind}.csv"
        where = f"WHERE {WEEKLY[kind]} < $cut" if kind in WEEKLY else ""
        con.execute(f"COPY (SELECT * FROM frame {where}) TO '{history[kind]}' (HEADER)",
                    {"cut": cut} if where else {}).fetchall()
        if kind in WEEKLY:
            weekly[kind] = folder / f"weekly_{kind}.csv"
            con.execute(f"COPY (SELECT * FROM frame WHERE {WEEKLY[kind]} >= $cut) TO '{weekly[kind]}' (HEADER)",
                        {"cut": cut}).fetchall()
        con.unregister("frame")
    for kind, path in history.items():
        rows = con.execute("SELECT count(*) FROM read_csv($p)", {"p": str(path)}).fetchall()[0][0]
        extra = ""
        if kind in weekly:
            week = con.execute("SELECT count(*) FROM read_csv($p)", {"p": str(weekly[kind])}).fetchall()[0][0]
            extra = f"; weekly file {week:,} rows"
        print(f"{kind}: history {rows:,} rows{extra}")
    con.close()
    return history, weekly


def bare_load(folder: Path, files: dict[str, Path]) -> Took:
    target = folder / "bare.duckdb"
    con = duckdb.connect(str(target))
    with Took() as took:
        for kind, path in files.items():
            con.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_csv('{path}')").fetchall()
    con.close()
    target.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-cli", action="store_true", help="time the warm loads only")
    args = parser.parse_args()
    (ROOT / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="demo-weekly-", dir=ROOT / "data") as tmp:
        folder = Path(tmp)
        with Took() as generated:
            history, weekly = write_files(folder, args.customers, args.seed, args.days)
        print(f"demo of {args.customers:,} customers generated and written as CSV: {generated}")
        bare = bare_load(folder, history)
        print(f"bare DuckDB load of every history file: {bare}")

        db = folder / "demo.duckdb"
        store = open_workbench(db, read_only=False, readable=(folder,))
        store.refit_in_background = True  # the commit is timed apart from the fits that follow it
        with Took() as full:
            results = ingest_files(store, list(history.items()))
        assert all(r.status == "loaded" for r in results), [r.message for r in results if r.status != "loaded"]
        with Took() as fits:
            wait_for_refits(store)
        print(f"full load of the history (one batch: validation, load, derived tables): {full} = "
              f"{full.wall / bare.wall:.2f}x bare (CPU {full.cpu / bare.cpu:.2f}x); the stored views and default "
              f"fits after it: {fits.wall:.2f} s more")
        store.close()

        rows = []
        if not args.skip_cli:
            for kind, path in weekly.items():
                loaded, out = cli("ingest", kind, str(path), "--defer-fits", db=db)
                undone, _ = cli("undo", str(out["load_id"]), "--defer-fits", db=db)
                restored, _ = cli("refit", db=db)
                rows.append((f"{kind}, CLI --defer-fits", loaded, undone, restored))
                print(f"{kind} via the CLI: load {loaded} = {loaded.against(full, percent=True)}; undo {undone} = "
                      f"{undone.against(full, percent=True)} (goal <= 15 %); then `refit` {restored}")

        store = open_workbench(db, read_only=False, readable=(folder,))
        store.refit_in_background = True  # as the app runs it
        warmup = ingest_file(store, "surveys", weekly["surveys"])  # imports, validation suite, caches
        wait_for_refits(store)
        store.undo(warmup.summary.load_id)
        wait_for_refits(store)
        for kind, path in weekly.items():
            with Took() as loaded:
                result = ingest_file(store, kind, path)
            assert result.status == "loaded", result.message
            with Took() as refitted:
                wait_for_refits(store)
            with Took() as undone:
                store.undo(result.summary.load_id)
            wait_for_refits(store)
            rows.append((f"{kind}, warm", loaded, undone, refitted))
            print(f"{kind} warm: load {loaded} = {loaded.against(full, percent=True)}; undo {undone} = {undone.against(full, percent=True)} "
                  f"(goal <= 5 %); stored views and fits in the background {refitted.wall:.2f} s after the load")
        with Took() as batch:
            results = ingest_files(store, list(weekly.items()))
        assert all(r.status == "loaded" for r in results), [r.message for r in results]
        wait_for_refits(store)
        print(f"the {len(weekly)} weekly files as one batch, warm: {batch} = {batch.against(full, percent=True)}")
        store.close()

        print("\n| weekly file | load | share of the full load | undo | share | after the commit |")
        print("|---|---|---|---|---|---|")
        for name, loaded, undone, after in rows:
            print(f"| {name} | {loaded} | {loaded.against(full, percent=True)} | {undone} | {undone.against(full, percent=True)} | {after} |")
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        print(f"peak memory: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.2f} GiB, "
              f"largest CLI process {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20:.2f} GiB")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
