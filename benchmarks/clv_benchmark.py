"""RFM and CLV at scale: DuckDB view queries vs the same computation in pandas, and model fit times.

Usage: python -m benchmarks.clv_benchmark [--db PATH] [--customers 1000000] [--orders 10000000] [--runs 3]
       [--time-stored-views] [--skip-churn]

Builds (once, then reuses) a synthetic database with the requested numbers of customers and orders,
inserted with SQL and followed by the normal derived-table rebuild, plus engagement events and
messages for the churn features; or give ``--db`` an existing database (e.g. the 1M-customer demo).
Every figure is for the RFM and CLV page's default settings (the 12 months up to the last purchase,
a 182-day holdout, 90-day horizon, weeks, every channel and segment), which read derived tables
stored at load time, for a two-channel selection (served from the stored per-customer rows, narrowed), and
for a setting computed from the purchases (RFM: the window one day later; BG/NBD: the split one day earlier).
Prints, per view, the median time in DuckDB, the median time
of the same computation in pandas on frames already in memory (loading them is not counted, which
favours pandas), and the ratio; then the CLV pipeline and churn model times (median of ``--runs``,
first call included in the list): at the default settings each is the result fitted at load time, read from
derived tables. The CLV pipeline at other settings reads the parts of that result the setting does not change
and computes the rest: another horizon (the forecast), another calibration end (its inputs, from the stored
summary of the nearest later calibration end, the calibration fits and holdout check), both, another unit
(everything, its inputs read from the stored summaries); and all of it fitted again on the stored summaries, as
before the result was stored. The churn model (skipped with ``--skip-churn``) is fitted again for every channel
named, for a 60-day horizon, and for 60 days and two channels. Each with the ratio to the stored read.
``--time-stored-views`` (a writable database) also times building the stored-view tables and fitting the
default CLV and churn models, i.e. what they add to every load, and rolls that back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from engagement.retention.clv import bgnbd_groups, fit_clv_on_demand, observation_window

from engagement.retention.clv_default import fit_clv
from engagement.filters import Filters
from engagement.retention.rfm import rfm_segments
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

SYNTHETIC_SQL = """
select setseed(0.42);
insert into customers (customer_id, created_at, acquisition_channel, is_loyalty_member, accepts_marketing, load_id)
select
    'C' || lpad(i::varchar, 8, '0'),
    timestamp '2024-01-01' + to_seconds((random() * 86400 * 600)::bigint),
    ['paid_social', 'organic_search', 'referral', 'email'][1 + (i % 4)],
    random() < 0.2,
    random() < 0.7,
    0
from range($customers) t(i);

create temp table customer_index as
select row_number() over (order by customer_id) - 1 as idx, customer_id, created_at from customers;

-- Skewed order counts: a few customers buy very often, most once or twice.
insert into orders (order_id, customer_id, ordered_at, net_revenue, discount, currency, channel, status, load_id)
select
    'O' || i::varchar,
    c.customer_id,
    c.created_at + to_seconds((random() * greatest(1, epoch(timestamp '2025-12-31' - c.created_at)))::bigint),
    round(10 + random() * 190, 2)::decimal(18, 2),
    0,
    'USD',
    'web',
    case when random() < 0.03 then 'refunded' else 'paid' end,
    0
from (select i, floor($customers * pow(random(), 2.5))::bigint as idx from range($orders) t(i)) as o
join customer_index as c using (idx);

insert into events (event_id, customer_id, occurred_at, event_type, channel, load_id)
select
    'E' || i::varchar, c.customer_id,
    timestamp '2025-01-01' + to_seconds((random() * 86400 * 364)::bigint),
    ['site_visit', 'email_click', 'sms_click', 'product_view', 'email_open'][1 + (i % 5)], 'web', 0
from (select i, floor($customers * random())::bigint as idx from range($customers * 3) t(i)) as e
join customer_index as c using (idx);

insert into messages (campaign_id, customer_id, channel, sent_at, load_id)
select 'K' || (i % 1000)::varchar || '-' || i::varchar, c.customer_id, 'email',
       timestamp '2025-01-01' + to_seconds((random() * 86400 * 364)::bigint), 0
from (select i, floor($customers * random())::bigint as idx from range($customers * 2) t(i)) as m
join customer_index as c using (idx);

insert into loads values
    (1, 'orders', 'synthetic benchmark', null, 'benchmark', 0, 0, 0, 0, '{}', now()::timestamp, null);
"""


def build(path: Path, customers: int, orders: int) -> Store:
    if path.exists():
        return open_workbench(path, read_only=True)
    print(f"building {customers:,} customers / {orders:,} orders at {path} ...", flush=True)
    started = time.perf_counter()
    store = open_workbench(path, read_only=False)
    cur = store.cursor()
    for statement in SYNTHETIC_SQL.split(";\n"):
        if statement.strip():
            params = {k: v for k, v in (("customers", customers), ("orders", orders)) if f"${k}" in statement}
            cur.execute(statement, params).fetchall()
    store.refresh_derived()
    store.close()
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return open_workbench(path, read_only=True)


def median_seconds(function, runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (CPU of every thread of this process) over ``runs`` calls.

    On a shared machine the wall clock depends on other processes; CPU seconds do not.
    """
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def timed(function) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def pandas_rfm(orders: pd.DataFrame, start: pd.Timestamp, end_exclusive: pd.Timestamp,
               channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """RFM segment sizes and revenue in pandas (same definitions as sql/rfm/*.sql), for the customers of
    ``channels`` (empty: every customer)."""
    window = orders[(orders["ordered_at"] >= start) & (orders["ordered_at"] < end_exclusive)]
    if channels:
        window = window[window["acquisition_channel"].isin(channels)]
    per = window.groupby("customer_id").agg(last=("ordered_at", "max"), orders=("ordered_at", "size"),
                                            revenue=("net_revenue", "sum"))
    per["recency_days"] = (end_exclusive - per["last"]).dt.total_seconds() / 86400
    n = len(per)
    for column, values in (("r", -per["recency_days"]), ("f", per["orders"]), ("m", per["revenue"])):
        per[column] = np.minimum(5, 1 + np.floor(5 * (values.rank(method="min") - 1) / (n - 1))).astype(int)
    r, f = per["r"], per["f"]
    per["segment"] = np.select(
        [(r == 5) & (f >= 4), r.between(3, 4) & (f >= 4), (r >= 4) & f.between(2, 3), (r == 5) & (f == 1),
         (r == 4) & (f == 1), (r == 3) & (f == 3), (r == 3) & (f <= 2), (r <= 2) & (f == 5),
         (r <= 2) & f.between(3, 4)],
        ["champions", "loyal", "potential_loyalists", "new_customers", "promising", "need_attention",
         "about_to_sleep", "cant_lose", "at_risk"], "hibernating")
    return per.groupby("segment").agg(customers=("orders", "size"), revenue=("revenue", "sum"))


def pandas_bgnbd_groups(orders: pd.DataFrame, calibration_end: pd.Timestamp, unit_days: int,
                        channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """lifetimes-style summary (distinct purchase days) then (x, t_x, T) counts, in pandas, for the customers of
    ``channels`` (empty: every customer)."""
    if channels:
        orders = orders[orders["acquisition_channel"].isin(channels)]
    days = orders.assign(day=orders["ordered_at"].dt.floor("D"))
    days = days[days["day"] <= calibration_end].groupby(["customer_id", "day"], as_index=False)["net_revenue"].sum()
    per = days.groupby("customer_id")["day"].agg(["min", "max", "size"])
    summary = pd.DataFrame({
        "frequency": per["size"] - 1,
        "recency": (per["max"] - per["min"]).dt.days / unit_days,
        "T": (calibration_end - per["min"]).dt.days / unit_days,
    })
    return summary.groupby(["frequency", "recency", "T"]).size().reset_index(name="customers")


def time_stored_views(path: Path) -> None:
    """Seconds to build each stored-view derived table and to fit the default CLV and churn models, as a load
    does (inside a transaction, rolled back)."""
    from engagement.retention.churn import store_default_churn_model
    from engagement.retention.clv_default import store_default_clv_model
    from engagement.sql import read_sql
    from engagement.derived import STORED_VIEWS, stored_view_settings
    from engagement.sql import quote_identifier

    store = open_workbench(path, read_only=False)
    cur = store.cursor()
    cur.execute("BEGIN")
    total = 0.0
    for name, query in STORED_VIEWS.items():
        started = time.perf_counter()
        cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(query), stored_view_settings(cur, name))
        seconds = time.perf_counter() - started
        total += seconds
        print(f"  build {name:28s} {seconds:6.2f} s")
    for name, fit_and_store in (("CLV", store_default_clv_model), ("churn", store_default_churn_model)):
        started = time.perf_counter()
        fit_and_store(store, cur)
        seconds = time.perf_counter() - started
        total += seconds
        print(f"  fit and store the default {name} model {seconds:6.2f} s")
    cur.execute("ROLLBACK")
    store.close()
    print(f"  stored views and the default CLV and churn models add {total:.1f} s to every load "
          f"(load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    from datetime import timedelta

    from engagement.retention.churn import fit_churn_model
    from engagement.value.kpis import data_range, default_filters

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "output" / "clv_benchmark.duckdb"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-stored-views", action="store_true")
    parser.add_argument("--skip-churn", action="store_true", help="leave out the churn model's timings")
    args = parser.parse_args()
    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    build(path, args.customers, args.orders).close()
    if args.time_stored_views:
        time_stored_views(path)
    store = open_workbench(path, read_only=True)
    store.require_current_derived()  # a stale database would time the on-demand paths instead of the stored ones

    filters = default_filters(data_range(store))
    first_day, observation_end = observation_window(store)
    calibration_end = max(first_day, observation_end - timedelta(days=182))  # the page's default holdout
    channels = tuple(data_range(store).channels)
    orders = store.cursor().execute(
        "SELECT customer_id, ordered_at, net_revenue::double AS net_revenue, acquisition_channel FROM purchases").df()
    params = filters.params()
    start, end_exclusive = pd.Timestamp(params["start"]), pd.Timestamp(params["end_exclusive"])
    print(f"{len(orders):,} purchases of {orders['customer_id'].nunique():,} customers; RFM window {filters.start} "
          f"to {filters.end}; calibration end {calibration_end}; data end {observation_end}")

    rows = []
    # The default window is stored for every customer (any selection is scored from it); another window
    # (one day later) is computed from the purchases.
    two_channels = channels[:2]
    other = Filters(filters.start + timedelta(days=1), filters.end)
    other_start = pd.Timestamp(other.params()["start"])
    for label, chosen, reference in (
        ("stored", filters, lambda: pandas_rfm(orders, start, end_exclusive)),
        ("stored, 2 channels", Filters(filters.start, filters.end, channels=two_channels),
         lambda: pandas_rfm(orders, start, end_exclusive, two_channels)),
        ("other window", other, lambda: pandas_rfm(orders, other_start, end_exclusive)),
    ):
        panda = median_seconds(reference, args.runs)
        rfm_segments(store, chosen)  # warm the buffer manager once, as a running app would be
        rows.append((f"RFM segments, {label}", median_seconds(lambda: rfm_segments(store, chosen), args.runs), panda))
    # The default split is stored for every customer (any selection is narrowed from it); a split one day
    # earlier is computed from the purchases.
    earlier = calibration_end - timedelta(days=1)
    for label, split, chosen in (("stored", calibration_end, ()), ("stored, 2 channels", calibration_end, two_channels),
                                 ("other split", earlier, ())):
        panda = median_seconds(lambda: pandas_bgnbd_groups(orders, pd.Timestamp(split), 7, chosen), args.runs)
        call = (lambda: bgnbd_groups(store, split, observation_end, "week", channels=chosen))
        call()
        rows.append((f"BG/NBD statistics, {label}", median_seconds(call, args.runs), panda))

    print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"\n{'view':34s} {'duckdb wall':>11s} {'cpu':>6s} {'pandas wall':>11s} {'cpu':>6s} "
          f"{'ratio wall':>10s} {'ratio cpu':>9s}")
    for name, (duck, duck_cpu), (panda, panda_cpu) in rows:
        print(f"{name:34s} {duck:10.3f}s {duck_cpu:5.2f}s {panda:10.2f}s {panda_cpu:5.1f}s "
              f"{panda / duck:9.1f}x {panda_cpu / max(duck_cpu, 1e-9):8.1f}x")

    fitted_at_load = store.cursor().execute("SELECT fit_seconds FROM clv_default_model").fetchall()[0][0]
    print(f"\ndefault CLV pipeline fitted at the last load in {fitted_at_load:.2f} s")
    clv_requests = (
        ("stored (fitted at load)", lambda: fit_clv(store, calibration_end, "week", 90)),
        ("another horizon (180 days)", lambda: fit_clv(store, calibration_end, "week", 180)),
        ("split one day earlier", lambda: fit_clv(store, earlier, "week", 90)),
        ("split 120 days earlier, horizon 180 days",
         lambda: fit_clv(store, calibration_end - timedelta(days=120), "week", 180)),
        ("days as the unit", lambda: fit_clv(store, calibration_end, "day", 90)),
        ("all of it fitted again on the stored summaries", lambda: fit_clv_on_demand(
            store, calibration_end, observation_end, "week", 90, (), (), store.cursor())),
    )
    stored_median = None
    for label, request in clv_requests:
        walls = []
        for _ in range(args.runs):
            result, wall, cpu = timed(request)
            walls.append(wall)
        median = statistics.median(walls)
        stored_median = stored_median or median
        read = f"; read from the result fitted at load: {', '.join(result.read_from_load)}" if result.read_from_load else ""
        print(f"CLV pipeline, {label} (2 x BG/NBD + 2 x Gamma-Gamma fits on {result.groups:,} groups, holdout "
              f"check, forecast for {result.customers:,} customers{read}): median {median:.3f} s "
              f"of {', '.join(f'{w:.3f}' for w in walls)}, {median / stored_median:.0f}x the stored read "
              f"(load average {os.getloadavg()[0]:.1f})")
    if args.skip_churn:
        store.close()
        return
    fitted_at_load = store.cursor().execute("SELECT fit_seconds FROM churn_default_model").fetchall()[0][0]
    print(f"\ndefault churn model fitted at the last load in {fitted_at_load:.2f} s")
    # On demand: the training sample's features computed, the current customers' read from the stored table
    # (narrowed to a selection), the model fitted and every customer scored.
    stored_median = None
    for label, horizon, chosen in (("stored (fitted at load)", 90, ()),
                                   ("on demand, every channel named", 90, channels),
                                   ("on demand, other horizon", 60, ()),
                                   ("on demand, other horizon, 2 channels", 60, two_channels)):
        walls, cpus = [], []
        for _ in range(args.runs):
            churn, wall, cpu = timed(lambda: fit_churn_model(store, horizon_days=horizon, channels=chosen))
            walls.append(wall)
            cpus.append(cpu)
        median = statistics.median(walls)
        stored_median = stored_median or median
        print(f"churn model, {label} ({horizon} d; {churn.training_customers:,} training rows, holdout AUC "
              f"{churn.auc:.4f} [{churn.auc_ci_low:.4f}, {churn.auc_ci_high:.4f}] on {churn.holdout_customers:,}, "
              f"scoring {int(churn.risk_bands['customers'].sum()):,} customers): median {median:.2f} s "
              f"of {', '.join(f'{w:.2f}' for w in walls)}, cpu {statistics.median(cpus):.2f} s, "
              f"{median / stored_median:.0f}x the stored read (load average {os.getloadavg()[0]:.1f})")
    store.close()


if __name__ == "__main__":
    main()
