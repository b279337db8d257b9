"""Scale benchmark: the demo brand at 100k and 1M customers.

Usage: python -m benchmarks.scale_benchmark [--sizes 100000 1000000] [--runs 5] [--workdir DIR]
       python -m benchmarks.scale_benchmark --db PATH   (the Overview figures only, on an existing database)

Prints, for each size: demo generation time and peak memory, load time, and the Overview page's data
time (its KPIs for two windows and the monthly AOV trend; median of --runs) against the same computation
in pandas on the same derived tables already in memory (ratio).
Other views' figures come from benchmarks/views_benchmark.py, benchmarks/clv_benchmark.py and
benchmarks/ingest_benchmark.py, which take a --db made by this script (kept in --workdir).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import median_time

ROOT = Path(__file__).resolve().parents[1]

GENERATE_AND_LOAD = """
import json, resource, sys, time
from engagement.intake.demo import generate_demo
from engagement.intake.ingest import ingest_demo
from engagement.workbench import open_workbench
n, db = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
frames = generate_demo(customers=n, seed=42)
generate_s = time.perf_counter() - t0
rows = {k: len(v) for k, v in frames.items()}
del frames
t0 = time.perf_counter()
store = open_workbench(db, read_only=False)
ingest_demo(store, customers=n, seed=42)
load_s = time.perf_counter() - t0
store.close()
print(json.dumps({"generate_s": generate_s, "load_s": load_s, "rows": rows,
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def pandas_overview(order_facts, customers, surveys, start, end_exclusive) -> dict:
    """The Overview page's data in pandas, from the same derived tables the SQL reads: the KPIs for the
    window and the one before it, and AOV by month in the window."""
    import pandas as pd

    out = {}
    for a, b in ((start - (end_exclusive - start), start), (start, end_exclusive)):
        w = order_facts[(order_facts.ordered_at >= a) & (order_facts.ordered_at < b)]
        per_customer = w.groupby("customer_id").size()
        gaps = w.loc[w.order_number > 1, "days_since_previous_order"]
        recent = order_facts[(order_facts.ordered_at >= b - pd.Timedelta(days=90))
                             & (order_facts.ordered_at < b)].customer_id.unique()
        members = customers[customers.is_loyalty_member]
        s = surveys[(surveys.kind == "nps") & (surveys.responded_at >= a) & (surveys.responded_at < b)]
        out[str(a)] = {
            "repeat_rate": (per_customer >= 2).mean(),
            "median_gap": gaps.median(),
            "aov": w.net_revenue.mean(),
            "returning_share": w.loc[w.order_number > 1, "net_revenue"].sum() / w.net_revenue.sum(),
            "loyalty_active": members.customer_id.isin(recent).mean(),
            "nps": (s.score >= 9).mean() - (s.score <= 6).mean(),
        }
    out["aov_by_month"] = w.groupby(w.ordered_at.dt.to_period("M")).net_revenue.agg(["size", "sum", "mean", "std"])
    return out


def overview_figures(db: Path, runs: int) -> None:
    """Print the Overview page's data time against pandas on the database at ``db``."""
    from engagement.value.kpis import aov_by_month, data_range, default_filters, overview_kpis
    from engagement.workbench import open_workbench

    store = open_workbench(db, read_only=True)
    store.require_current_derived()  # a stale database would time the on-demand paths instead of the stored ones
    filters = default_filters(data_range(store))

    def page_data():
        with store.snapshot():
            return overview_kpis(store, filters), aov_by_month(store, filters)

    page_data()  # warm the buffer manager once, as a running app would be
    duck = median_time(page_data, runs)
    cur = store.cursor()
    order_facts = cur.execute("SELECT customer_id, ordered_at, net_revenue::double AS net_revenue, "
                              "order_number, days_since_previous_order FROM order_facts").df()
    customers = cur.execute("SELECT customer_id, is_loyalty_member FROM customer_summary").df()
    surveys = cur.execute("SELECT kind, score, responded_at FROM surveys").df()
    params = filters.params()
    panda = median_time(lambda: pandas_overview(order_facts, customers, surveys, params["start"],
                                                params["end_exclusive"]), runs)
    load = os.getloadavg()[0]
    print(f"overview page data   duckdb {duck:6.3f} s   pandas {panda:6.3f} s   ratio {panda / duck:5.1f}x"
          f"   (load average {load:.1f} on {os.cpu_count()} cores)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--db", default=None, help="measure the Overview on this database; generate nothing")
    args = parser.parse_args()
    if args.db:
        overview_figures(Path(args.db), args.runs)
        return
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="engagement-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    for n in args.sizes:
        db = workdir / f"demo_{n}.duckdb"
        db.unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, "-c", GENERATE_AND_LOAD, str(n), str(db)], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        made = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\n== {n:,} customers  ({made['rows']['orders']:,} orders, {made['rows']['events']:,} events)")
        print(f"demo generation      {made['generate_s']:8.1f} s")
        print(f"load (validate+load) {made['load_s']:8.1f} s   peak memory {made['peak_rss_gib']:.2f} GiB")
        overview_figures(db, args.runs)
        print(f"database kept at {db}")
    print(f"\nbenchmark process peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
