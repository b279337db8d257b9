"""Retention views: query time on the derived tables vs the same computation in pandas on the raw orders.

Usage: python benchmarks/views_benchmark.py --db PATH [--runs 5] [--pandas-runs 3]

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
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOT_PURCHASES = ("refunded", "cancelled")
_PERIOD_CODE = {"month": "M", "quarter": "Q", "week": "W-SUN"}  # W-SUN: weeks ending Sunday, starting Monday


# ------------------------------------------------------------- pandas references
def raw_purchases(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchases (not refunded or cancelled), sorted per customer in time order."""
    purchases = orders[~orders["status"].isin(NOT_PURCHASES)]
    sort = ["customer_id", "ordered_at"] + (["order_id"] if "order_id" in purchases else [])
    return purchases.sort_values(sort, kind="stable")


def _truncate(moments: pd.Series, grain: str) -> pd.Series:
    return moments.dt.to_period(_PERIOD_CODE[grain]).dt.start_time


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
    as_of_period = _truncate(pd.Series([pd.Timestamp(as_of)]), grain).iloc[0]
    complete = _periods_between(pd.Series(sizes.index), pd.Series([as_of_period] * len(sizes)), grain)
    grid = pd.MultiIndex.from_tuples(
        [(c, p) for c, n in zip(sizes.index, complete) for p in range(int(n))],
        names=["cohort_start", "period_number"])
    out = cells.reindex(grid, fill_value=0).reset_index()
    out["cohort_customers"] = out["cohort_start"].map(sizes)
    return out


def pandas_stages_at(orders: pd.DataFrame, customers: pd.DataFrame, moment: datetime, at_risk_days: float,
                     lapsed_days: float, vip_top_share: float = 0.10, vip_tiers=("gold",)) -> pd.Series:
    """Lifecycle stage of every customer known at ``moment`` (index customer_id), by the documented rules."""
    purchases = raw_purchases(orders)
    lifetime = purchases.groupby("customer_id")["net_revenue"].sum().astype("float64")
    vip_revenue = float(np.quantile(lifetime.to_numpy(), 1 - vip_top_share))  # linear, as quantile_cont
    upto = purchases[purchases["ordered_at"] <= moment]
    previous = upto.groupby("customer_id")["ordered_at"].shift()
    last = upto.assign(previous_at=previous).groupby("customer_id").tail(1).set_index("customer_id")
    state = pd.DataFrame({
        "orders": upto.groupby("customer_id").size(),
        "revenue": upto.groupby("customer_id")["net_revenue"].sum().astype("float64"),
        "recency": (pd.Timestamp(moment) - last["ordered_at"]).dt.total_seconds() / 86400,
        "gap": (last["ordered_at"] - last["previous_at"]).dt.total_seconds() / 86400,
    })
    tiers = customers.set_index("customer_id")["loyalty_tier"]
    state["tier"] = tiers.reindex(state.index)
    stage = pd.Series(np.select(
        [state["recency"] > lapsed_days, state["recency"] > at_risk_days, state["gap"] > lapsed_days,
         (state["revenue"] >= vip_revenue) | state["tier"].isin(vip_tiers), state["orders"] == 1],
        ["lapsed", "at_risk", "won_back", "vip", "new"], "repeat"), index=state.index)
    first_order = purchases.groupby("customer_id")["ordered_at"].min()
    created = customers.set_index("customer_id")["created_at"]
    known_at = pd.concat([created, first_order], axis=1).min(axis=1)
    prospects = known_at[(known_at <= moment) & ~known_at.index.isin(stage.index)].index
    return pd.concat([stage, pd.Series("prospect", index=prospects)])


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


# ------------------------------------------------------------------ timing
def _median_seconds(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    from engagement.cohorts import retention_matrix
    from engagement.filters import Filters
    from engagement.lifecycle import (
        current_stages, default_thresholds, end_of_day, month_end_moments, purchase_funnel, stage_sizes,
        stage_transitions, time_to_second_purchase,
    )
    from engagement.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5, help="runs per SQL view (median)")
    parser.add_argument("--pandas-runs", type=int, default=3, help="runs per pandas computation (median)")
    args = parser.parse_args(argv)

    store = Store.open(args.db, read_only=True)
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
         lambda: pandas_stages_at(orders, customers, as_of, t.at_risk_days, t.lapsed_days).value_counts()),
        (f"lifecycle: stage sizes at {len(moments)} month ends",
         lambda: stage_sizes(store, last_year, t, moments),
         lambda: [pandas_stages_at(orders, customers, m, t.at_risk_days, t.lapsed_days).value_counts()
                  for m in moments]),
        ("lifecycle: transition matrix (6 months)",
         lambda: stage_transitions(store, everything, t, from_day, as_of.date()),
         lambda: pd.crosstab(*pd.concat([
             pandas_stages_at(orders, customers, end_of_day(from_day), t.at_risk_days, t.lapsed_days),
             pandas_stages_at(orders, customers, as_of, t.at_risk_days, t.lapsed_days)],
             axis=1).fillna("not_yet_known").T.to_numpy())),
        ("lifecycle: purchase funnel",
         lambda: purchase_funnel(store, last_year, 90),
         lambda: pandas_funnel(orders, params["start"], params["end_exclusive"], as_of, 90)),
        ("lifecycle: time to second purchase (KM input)",
         lambda: time_to_second_purchase(store, last_year),
         lambda: pandas_second_purchase_durations(orders, params["start"], params["end_exclusive"], as_of)
         .groupby("day")["is_second_purchase"].agg(["sum", "size"])),
    ]

    print(f"database: {args.db}: {n_customers:,} customers, {n_orders:,} orders; "
          f"SQL median of {args.runs} runs, pandas median of {args.pandas_runs} runs")
    print(f"{'view':48} {'SQL s':>8} {'pandas s':>9} {'ratio':>7}  target")
    for name, sql_call, pandas_call in views:
        sql_call()  # warm the buffer manager once, as a running app would be
        sql_seconds = _median_seconds(sql_call, args.runs)
        pandas_seconds = _median_seconds(pandas_call, args.pandas_runs)
        ratio = pandas_seconds / sql_seconds
        verdict = "ok" if ratio >= 20 and sql_seconds < 1 else "MISSED"
        print(f"{name:48} {sql_seconds:8.3f} {pandas_seconds:9.2f} {ratio:6.0f}x  {verdict}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
