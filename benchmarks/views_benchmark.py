"""Retention views: query time on the derived tables vs the same computation in pandas on the raw orders.

Usage: python -m benchmarks.views_benchmark --db PATH [--runs 5] [--pandas-runs 3]

Build the database first, e.g. ``python -m engagement demo --customers 1000000 --db /tmp/bench.duckdb``.
For each view it prints the median seconds of the library call (SQL on the derived tables plus the Python
that shapes the result, i.e. what a page waits for), the median seconds of pandas doing the same from the
raw ``orders`` and ``customers`` frames already in memory (loading them is not counted against pandas),
and the ratio. Targets: at least 20x faster than pandas and under 1 s.

The pandas functions below are also the independent reference the tests compare the SQL with
(tests/test_cohorts.py, tests/test_lifecycle.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.timing import median_seconds as _median_seconds

ROOT = Path(__file__).resolve().parents[1]

NOT_PURCHASES = ("refunded", "cancelled")


# ------------------------------------------------------------- pandas references
def raw_purchases(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchases (not refunded or cancelled), sorted per customer in time order."""
    purchases = orders[~orders["status"].isin(NOT_PURCHASES)]
    sort = ["customer_id", "ordered_at"] + (["order_id"] if "order_id" in purchases else [])
    return purchases.sort_values(sort, kind="stable")


def _truncate(moments: pd.Series, grain: str) -> pd.Series:
    """Start of the week (Monday), month or quarter, vectorised with numpy (``dt.to_period`` is far slower)."""
    if grain == "week":
        days = moments.dt.normalize()
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    months = moments.to_numpy().astype("datetime64[M]")
    if grain == "quarter":
        month_numbers = months.astype("int64")
        months = (month_numbers - month_numbers % 3).astype("datetime64[M]")
    return pd.Series(months.astype("datetime64[us]"), index=moments.index)


def _periods_between(start: pd.Series, end: pd.Series, grain: str) -> pd.Series:
    if grain == "week":
        return (end - start).dt.days // 7
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)
    return months // 3 if grain == "quarter" else months


def pandas_retention_matrix(orders: pd.DataFrame, as_of: datetime, grain: str = "month") -> pd.DataFrame:
    """Mature cohort cells from raw orders: cohort_start, period_number, cohort_customers, active_customers,
    revenue. Cells a cohort has lived through without any purchase are 0; unfinished periods are left out."""
    purchases = raw_purchases(orders)
    first = purchases.groupby("customer_id")["ordered_at"].transform("min")
    frame = pd.DataFrame({
        "customer_id": purchases["customer_id"],
        "cohort_start": _truncate(first, grain),
        "period_start": _truncate(purchases["ordered_at"], grain),
        "net_revenue": purchases["net_revenue"].astype("float64"),
    })
    frame["period_number"] = _periods_between(frame["cohort_start"], frame["period_start"], grain)
    cells = frame.groupby(["cohort_start", "period_number"]).agg(
        active_customers=("customer_id", "nunique"), revenue=("net_revenue", "sum"))
    sizes = cells.xs(0, level="period_number")["active_customers"]
    # Data reaching a period's last hour has lived through it (as sql/cohorts/retention_matrix.sql says).
    as_of_period = _truncate(pd.Series([pd.Timestamp(as_of) + pd.Timedelta(hours=1)]), grain).iloc[0]
    complete = _periods_between(pd.Series(sizes.index), pd.Series([as_of_period] * len(sizes)), grain)
    grid = pd.MultiIndex.from_tuples(
        [(c, p) for c, n in zip(sizes.index, complete) for p in range(int(n))],
        names=["cohort_start", "period_number"])
    out = cells.reindex(grid, fill_value=0).reset_index()
    out["cohort_customers"] = out["cohort_start"].map(sizes)
    return out


def pandas_stages_at(orders: pd.DataFrame, customers: pd.DataFrame, moments, at_risk_days: float,
                     lapsed_days: float, vip_top_share: float = 0.10, vip_tiers=("gold",)) -> pd.DataFrame:
    """Lifecycle stage of every customer known at each moment, by the documented rules.

    Returns one row per moment per customer: ``moment_at, customer_id, lifecycle_stage``. The per-purchase
    state (purchases and revenue so far, gap before, until when it holds) is computed once from the raw
    orders, then each moment picks the purchase in force, as the SQL does.
    """
    moments = [moments] if isinstance(moments, (datetime, pd.Timestamp)) else list(moments)
    purchases = raw_purchases(orders)
    by_customer = purchases.groupby("customer_id", sort=False)
    ordered_at = purchases["ordered_at"]
    state = pd.DataFrame({
        "customer_id": purchases["customer_id"].to_numpy(),
        "ordered_at": ordered_at.to_numpy(),
        "ends_at": by_customer["ordered_at"].shift(-1).astype("datetime64[us]")
        .fillna(pd.Timestamp("9999-12-31").as_unit("us")).to_numpy(),
        "orders": (by_customer.cumcount() + 1).to_numpy(),
        "revenue": by_customer["net_revenue"].cumsum().astype("float64").to_numpy(),
        "gap": ((ordered_at - by_customer["ordered_at"].shift()).dt.total_seconds() / 86400).to_numpy(),
    })
    lifetime = by_customer["net_revenue"].sum().astype("float64")
    vip_revenue = float(np.quantile(lifetime.to_numpy(), 1 - vip_top_share))  # linear, as quantile_cont
    tiers = customers.set_index("customer_id")["loyalty_tier"]
    state["is_vip_tier"] = tiers.reindex(state["customer_id"]).isin(vip_tiers).to_numpy()
    first_order = by_customer["ordered_at"].min()
    created = customers.set_index("customer_id")["created_at"]
    known_at = pd.concat([created, first_order], axis=1).min(axis=1)
    first_order = first_order.reindex(known_at.index)
    frames = []
    for moment in moments:
        moment = pd.Timestamp(moment)
        now = state[(state["ordered_at"] <= moment) & (moment < state["ends_at"])]
        recency = (moment - now["ordered_at"]).dt.total_seconds() / 86400
        stage = np.select(
            [recency > lapsed_days, recency > at_risk_days, now["gap"] > lapsed_days,
             (now["revenue"] >= vip_revenue) | now["is_vip_tier"], now["orders"] == 1],
            ["lapsed", "at_risk", "won_back", "vip", "new"], "repeat")
        prospects = known_at[(known_at <= moment) & ~(first_order <= moment)].index
        frames.append(pd.DataFrame({"moment_at": moment, "customer_id": now["customer_id"], "lifecycle_stage": stage}))
        frames.append(pd.DataFrame({"moment_at": moment, "customer_id": prospects, "lifecycle_stage": "prospect"}))
    return pd.concat(frames, ignore_index=True)


def pandas_funnel(orders: pd.DataFrame, start: datetime, end_exclusive: datetime, as_of: datetime,
                  min_tenure_days: int) -> list[int]:
    """Customers with first purchase in the window (and old enough) reaching 1, 2, 3 and 4+ purchases."""
    counts = raw_purchases(orders).groupby("customer_id")["ordered_at"].agg(["min", "size"])
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=min_tenure_days)
    chosen = counts[(counts["min"] >= start) & (counts["min"] < end_exclusive) & (counts["min"] <= cutoff)]
    return [int((chosen["size"] >= k).sum()) for k in range(1, 5)]


def pandas_second_purchase_durations(orders: pd.DataFrame, start: datetime, end_exclusive: datetime,
                                     as_of: datetime) -> pd.DataFrame:
    """Per first-time buyer in the window: whole days to the second purchase (or to as_of) and the event flag."""
    purchases = raw_purchases(orders)
    number = purchases.groupby("customer_id").cumcount() + 1
    first = purchases[number == 1].set_index("customer_id")["ordered_at"]
    second = purchases[number == 2].set_index("customer_id")["ordered_at"]
    first = first[(first >= start) & (first < end_exclusive)]
    second = second.reindex(first.index)
    end = second.fillna(pd.Timestamp(as_of))
    return pd.DataFrame({"day": np.floor((end - first).dt.total_seconds() / 86400).astype("int64"),
                         "is_second_purchase": second.notna()})


def pandas_transitions(orders, customers, from_at, to_at, thresholds) -> pd.DataFrame:
    """Customers by stage at ``from_at`` (rows) and ``to_at`` (columns); 'not_yet_known' when unknown at first."""
    stages = pandas_stages_at(orders, customers, (from_at, to_at), thresholds.at_risk_days, thresholds.lapsed_days)
    wide = stages.pivot(index="customer_id", columns="moment_at", values="lifecycle_stage")
    wide = wide.dropna(subset=[pd.Timestamp(to_at)]).fillna("not_yet_known")
    return pd.crosstab(wide[pd.Timestamp(from_at)], wide[pd.Timestamp(to_at)])


def main(argv: list[str] | None = None) -> int:
    from engagement.retention.cohorts import retention_matrix
    from engagement.filters import Filters
    from engagement.retention.lifecycle import (
        current_stages, default_thresholds, end_of_day, month_end_moments, purchase_funnel, stage_sizes,
        stage_transitions, time_to_second_purchase,
    )
    from engagement.workbench import open_workbench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5, help="runs per SQL view (median)")
    parser.add_argument("--pandas-runs", type=int, default=3, help="runs per pandas computation (median)")
    args = parser.parse_args(argv)

    store = open_workbench(args.db, read_only=True)
    store.require_current_derived()  # a stale database would time the on-demand paths instead of the stored ones
    cur = store.cursor()
    n_customers = cur.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    n_orders = cur.execute("SELECT count(*) FROM orders").fetchall()[0][0]
    orders = cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue, status "
                         "FROM orders").df()
    customers = cur.execute("SELECT customer_id, created_at, loyalty_tier FROM customers").df()
    defaults = default_thresholds(store)
    t = defaults.thresholds
    as_of = defaults.as_of
    everything = Filters(start=defaults.first_order_at.date(), end=as_of.date())
    last_year = Filters(start=date(as_of.year - 1, as_of.month, 1), end=as_of.date())
    moments = month_end_moments(last_year, as_of)
    from_day = moments[-7].date()
    params = last_year.params()

    views = [
        ("cohorts: monthly matrix, all history",
         lambda: retention_matrix(store, everything, "month"),
         lambda: pandas_retention_matrix(orders, as_of, "month")),
        ("cohorts: weekly matrix, all history",
         lambda: retention_matrix(store, everything, "week"),
         lambda: pandas_retention_matrix(orders, as_of, "week")),
        ("lifecycle: stages today",
         lambda: current_stages(store, everything, t),
         lambda: pandas_stages_at(orders, customers, as_of, t.at_risk_days, t.lapsed_days)
         ["lifecycle_stage"].value_counts()),
        (f"lifecycle: stage sizes at {len(moments)} month ends",
         lambda: stage_sizes(store, last_year, t, moments),
         lambda: pandas_stages_at(orders, customers, moments, t.at_risk_days, t.lapsed_days)
         .groupby(["moment_at", "lifecycle_stage"]).size()),
        ("lifecycle: transition matrix (6 months)",
         lambda: stage_transitions(store, everything, t, from_day, as_of.date()),
         lambda: pandas_transitions(orders, customers, end_of_day(from_day), as_of, t)),
        ("lifecycle: purchase funnel",
         lambda: purchase_funnel(store, last_year, 90),
         lambda: pandas_funnel(orders, params["start"], params["end_exclusive"], as_of, 90)),
        ("lifecycle: time to second purchase (KM input)",
         lambda: time_to_second_purchase(store, last_year),
         lambda: pandas_second_purchase_durations(orders, params["start"], params["end_exclusive"], as_of)
         .groupby("day")["is_second_purchase"].agg(["sum", "size"])),
    ]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"database: {args.db}: {n_customers:,} customers, {n_orders:,} orders; SQL median of {args.runs} "
          f"runs, pandas median of {args.pandas_runs}; {os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'view':48} {'SQL s':>7} {'SQL cpu':>8} {'pandas s':>9} {'pd cpu':>7} {'ratio':>6} {'cpu ratio':>9}"
          "  target (wall ratio >= 20x, SQL < 1 s)")
    for name, sql_call, pandas_call in views:
        sql_call()  # warm the buffer manager once, as a running app would be
        sql_seconds, sql_cpu = _median_seconds(sql_call, args.runs)
        pandas_seconds, pandas_cpu = _median_seconds(pandas_call, args.pandas_runs)
        ratio = pandas_seconds / sql_seconds
        verdict = "ok" if ratio >= 20 and sql_seconds < 1 else "MISSED"
        print(f"{name:48} {sql_seconds:7.3f} {sql_cpu:8.3f} {pandas_seconds:9.2f} {pandas_cpu:7.2f} "
              f"{ratio:5.0f}x {pandas_cpu / sql_cpu:8.0f}x  {verdict}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
