"""Warehouse mode's derived build on Spark, statement by statement: where the build's time goes.

Usage: python -m benchmarks.spark_build_steps --lake DIR [--master local[2]] [--reports kpis cohorts ...]

Starts a session on ``--master`` (timed), opens the warehouse over the lake's ``mapping.toml`` (``lake export``)
and prints, for each statement of the derived build (``CREATE TABLE x AS ...`` becomes a materialised view), its
wall seconds and the CPU seconds of this process's tree (Python driver, JVMs, Python workers: read from /proc),
then the build's total with the time spent translating DuckDB SQL (sqlglot), then each ``--reports`` command.
On a shared machine the wall clock mostly measures waiting for a core; the CPU figures compare runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from pathlib import Path

from benchmarks.timing import tree_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--reports", nargs="*", default=[])
    args = parser.parse_args()
    lake = Path(args.lake)

    from engagement.cli import main as cli
    from engagement.warehouse import engine as spark_engine
    from engagement.warehouse.lake import read_mapping
    from engagement.workbench import open_warehouse

    def since(start: float, start_cpu: float) -> str:
        return f"{time.perf_counter() - start:8.1f} s (CPU {tree_cpu(os.getpid()) - start_cpu:6.1f})"

    start, start_cpu = time.perf_counter(), tree_cpu(os.getpid())
    engine = spark_engine.SparkEngine.start(args.master)
    engine.session.sparkContext.setLogLevel("ERROR")
    print(f"{'start-up':40} {since(start, start_cpu)}", flush=True)

    translating = [0.0]
    statement, execute = spark_engine.SparkEngine.statement, spark_engine.SparkCursor.execute

    def timed_statement(self, sql):  # translation time: the first call per text only (it is cached)
        began, fresh = time.perf_counter(), sql not in self._translated
        result = statement(self, sql)
        translating[0] += (time.perf_counter() - began) if fresh else 0.0
        return result

    def timed_execute(self, sql, params=None):
        began, began_cpu = time.perf_counter(), tree_cpu(os.getpid())
        result = execute(self, sql, params)
        created = spark_engine._CREATE.match(sql)
        print(f"  {created.group(1) if created else sql.split()[0]:38} {since(began, began_cpu)}", flush=True)
        return result

    spark_engine.SparkEngine.statement = timed_statement
    spark_engine.SparkCursor.execute = timed_execute
    start, start_cpu = time.perf_counter(), tree_cpu(os.getpid())
    open_warehouse(read_mapping(lake / "mapping.toml"), engine=engine)
    print(f"{'derived build':40} {since(start, start_cpu)}; translating SQL {translating[0]:.1f} s", flush=True)
    spark_engine.SparkCursor.execute = execute
    for report in args.reports:
        start, start_cpu = time.perf_counter(), tree_cpu(os.getpid())
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli(["report", report, "--engine", "spark", "--lake", str(lake), "--format", "json"])
        print(f"{'report ' + report + ('' if code == 0 else f' (exit {code})'):40} {since(start, start_cpu)}",
              flush=True)
    engine.stop()


if __name__ == "__main__":
    main()
