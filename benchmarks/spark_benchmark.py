"""Warehouse mode's benchmark: every report on DuckDB and on Spark, side by side, on one demo database.

Usage: python -m benchmarks.spark_benchmark --db PATH --lake DIR [--masters local[2] local-cluster[2,1,2048]]
                                            [--runs 2] [--reports kpis cohorts ...]

``--lake DIR`` is written with ``python -m engagement lake export DIR --db PATH`` when it holds no mapping yet
(timed). For DuckDB, each report command runs ``--runs`` times in this process on the database (warm: the best
of the runs after the first is kept, opening the file included). For each Spark master a child process starts
the session (timed apart: "start-up"), opens the warehouse (maps the lake's Parquet tables and builds every
derived table and default fit there: timed apart, "derived build"), then runs each report command the same way.

Every figure is wall seconds with CPU seconds beside it: on DuckDB this process's (DuckDB's threads included);
on Spark the Python driver's plus the JVMs' and Python workers' it started (read from /proc, the process tree),
because on a shared machine the wall clock mostly measures waiting for a core.

``local-cluster[N,cores,MB]`` starts N worker JVMs (each its executor) beside the driver, as a standalone
cluster of N nodes would, but on this machine's cores: it measures what distribution costs (separate executor
JVMs, shuffles between them, tasks shipped), not what more machines would gain.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REPORTS = ("kpis", "cohorts", "lifecycle", "clv", "nps", "nps-outcomes", "csat", "csat-outcomes",
                   "engagement", "roi", "experiments", "experiment")


def _timed(function) -> tuple[float, float]:
    """Wall and CPU seconds of ``function()`` (CPU: this process's tree)."""
    start, start_cpu = time.perf_counter(), tree_cpu(os.getpid())
    function()
    return time.perf_counter() - start, tree_cpu(os.getpid()) - start_cpu


def _report(argv: list[str]) -> None:
    from engagement.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")


def _best(argv: list[str], runs: int) -> tuple[float, float]:
    """The fastest of ``runs`` runs after the first (which warms caches and, on Spark, translates the SQL);
    ``runs`` 0: the first run alone (cold)."""
    times = [_timed(lambda: _report(argv)) for _ in range(runs + 1)]
    return min(times[1:] or times)


def _report_args(report: str, experiment: str) -> list[str]:
    return [report, experiment] if report == "experiment" else [report]


def duckdb_figures(db: Path, reports, experiment: str, runs: int) -> dict:
    return {report: _best(["report", *_report_args(report, experiment), "--db", str(db), "--format", "json"], runs)
            for report in reports}


def spark_figures(lake: Path, master: str, reports, experiment: str, runs: int) -> dict:
    """Run in a child process (one Spark session per process): start-up, derived build, then each report."""
    from engagement.warehouse.engine import SparkEngine
    from engagement.warehouse.lake import read_mapping
    from engagement.workbench import open_warehouse

    figures: dict = {}

    def note(name: str, value) -> None:  # one JSON line per figure, so a run cut short keeps what it measured
        figures[name] = value
        print(json.dumps({name: value}), flush=True)

    box = {}
    note("start-up", _timed(lambda: box.setdefault("engine", SparkEngine.start(master))))
    engine = box["engine"]
    engine.session.sparkContext.setLogLevel("ERROR")
    note("executors", engine.session.sparkContext.defaultParallelism)
    note("derived build", _timed(lambda: open_warehouse(read_mapping(lake / "mapping.toml"), engine=engine)))
    for report in reports:
        note(report, _best(["report", *_report_args(report, experiment), "--engine", "spark", "--lake",
                            str(lake), "--format", "json"], runs))
    engine.stop()
    return figures


def _first_experiment(db: Path) -> str:
    from engagement.workbench import open_workbench

    store = open_workbench(db, read_only=True)
    try:
        return store.cursor().execute("SELECT min(experiment_id) FROM experiment_assignments").fetchall()[0][0]
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--masters", nargs="+", default=["local[2]", "local-cluster[2,1,2048]"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--reports", nargs="+", default=list(DEFAULT_REPORTS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # a Spark master: run it, print JSON
    args = parser.parse_args()
    db, lake = Path(args.db), Path(args.lake)
    experiment = _first_experiment(db)
    if args.child:
        spark_figures(lake, args.child, args.reports, experiment, args.runs)
        return

    counts = _counts(db)
    print(f"database {db}: " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items()), flush=True)
    if not (lake / "mapping.toml").exists():
        wall, cpu = _timed(lambda: _report(["lake", "export", str(lake), "--db", str(db)]))
        print(f"lake export: {wall:.1f} s (CPU {cpu:.1f} s)", flush=True)
    columns = {"duckdb": duckdb_figures(db, args.reports, experiment, args.runs)}
    print(f"duckdb: {json.dumps(columns['duckdb'])}", flush=True)
    for master in args.masters:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.spark_benchmark", "--db", str(db), "--lake",
                                  str(lake), "--runs", str(args.runs), "--reports", *args.reports, "--child", master],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        figures: dict = {}
        for line in child.stdout:
            if line.startswith("{"):
                figures.update(json.loads(line))
                print(f"{master}: {line.strip()}", flush=True)
        error = child.stderr.read()
        if child.wait() != 0:
            tail = [line for line in error.strip().splitlines() if "Error" in line or "Exception" in line]
            print(f"{master}: could not run ({(tail or ['no message'])[-1]})", flush=True)
            columns[master] = None if "start-up" not in figures or "derived build" not in figures else figures
            continue
        columns[master] = figures
    _print_table(columns, args.reports)


def _counts(db: Path) -> dict[str, int]:
    from engagement.workbench import open_workbench

    store = open_workbench(db, read_only=True)
    try:
        return {kind: n for kind, n in store.table_counts().items() if n}
    finally:
        store.close()


def _print_table(columns: dict, reports) -> None:
    masters = [m for m, figures in columns.items() if m != "duckdb" and figures is not None]
    cell = lambda pair: f"{pair[0]:7.2f} s (CPU {pair[1]:6.2f})"  # noqa: E731
    header = f"{'':16} {'duckdb':>24}" + "".join(f" {m:>24} {'ratio':>6}" for m in masters)
    print(header)
    for row in ("start-up", "derived build", *reports):
        line = f"{row:16} {cell(columns['duckdb'][row]) if row in columns['duckdb'] else '-':>24}"
        for master in masters:
            value = columns[master].get(row)
            if value is None:
                line += f" {'not measured':>24} {'':>6}"
                continue
            ratio = f"{value[0] / columns['duckdb'][row][0]:5.1f}x" if row in columns["duckdb"] else ""
            line += f" {cell(value):>24} {ratio:>6}"
        print(line)
    for master in masters:
        done = [r for r in reports if r in columns[master]]
        spark_total, duck_total = (sum(columns[m][r][0] for r in done) for m in (master, "duckdb"))
        print(f"{master}: the {len(done)} reports measured, {spark_total:.2f} s against DuckDB's {duck_total:.2f} s "
              f"({spark_total / duck_total:.1f}x)")
    for master in masters:
        print(f"{master}: {columns[master]['executors']} task slots")
    for master, figures in columns.items():
        if figures is None:
            print(f"{master}: not measured (see above)")


if __name__ == "__main__":
    main()
