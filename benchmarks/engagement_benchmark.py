"""Engagement page: library time on the derived tables vs the same computation in pandas on the raw tables.

Usage: python -m benchmarks.engagement_benchmark --db PATH [--runs 5] [--pandas-runs 3]

Same conventions as views_benchmark.py: the median seconds of the library call (what the page waits for: SQL
plus the Python that shapes the result), the median seconds of pandas doing the same from the raw ``customers``,
``orders``, ``events`` and ``messages`` frames already in memory (loading them is not counted against pandas),
and the ratio. Targets: at least 20x faster than pandas and under 1 s. The customers frame carries each
customer's lifecycle stage (as customer_summary has it), the one derived attribute the segment filter needs.

The pandas functions below are also the independent reference tests/test_engagement_precomputed.py compares
the SQL with.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.timing import median_seconds as _median_seconds
from engagement.warehouse.schema import NON_PURCHASE_STATUSES as NOT_PURCHASES

# Event type -> count column, as engagement_score.BEHAVIOURS and ACTIVITIES.
EVENT_COLUMNS = {
    "email_click": "email_clicks", "sms_click": "sms_clicks", "site_visit": "site_visits", "review": "reviews",
    "referral": "referrals", "community_post": "community_posts", "email_open": "email_opens",
    "sms_delivered": "sms_delivered", "social_follow": "social_follows",
}
CLICK_CHANNELS = {"email_click": "email", "sms_click": "sms"}


# ------------------------------------------------------------- pandas references
def _selected(customers: pd.DataFrame, channels=(), segments=()) -> pd.DataFrame:
    chosen = customers
    if channels:
        chosen = chosen[chosen["acquisition_channel"].isin(channels)]
    if segments:
        chosen = chosen[chosen["lifecycle_stage"].isin(segments)]
    return chosen


def pandas_customer_scores(customers: pd.DataFrame, orders: pd.DataFrame, events: pd.DataFrame,
                           start: datetime, end_exclusive: datetime, weights: dict[str, float], threshold: float,
                           channels=(), segments=()) -> pd.DataFrame:
    """Per selected customer known before the window's end: counts in the window, revenue in it and to date,
    score and engaged flag (sql/engagement/customer_scores.sql), indexed by customer_id."""
    purchases = orders[~orders["status"].isin(NOT_PURCHASES)]
    first_order = purchases.groupby("customer_id", sort=False)["ordered_at"].min()
    known_since = customers["created_at"].fillna(customers["customer_id"].map(first_order))
    chosen = _selected(customers[known_since < end_exclusive], channels, segments).set_index("customer_id")

    before_end = purchases[purchases["ordered_at"] < end_exclusive]
    in_window = before_end["ordered_at"] >= start
    spend = pd.DataFrame({
        "customer_id": before_end["customer_id"], "orders": in_window.astype("int64"),
        "revenue": before_end["net_revenue"].where(in_window, 0.0), "revenue_to_date": before_end["net_revenue"],
    }).groupby("customer_id", sort=False).sum()
    window_events = events[(events["occurred_at"] >= start) & (events["occurred_at"] < end_exclusive)
                           & events["event_type"].isin(list(EVENT_COLUMNS))]
    counts = (window_events.groupby(["customer_id", "event_type"], sort=False, observed=True).size()
              .unstack(fill_value=0).rename(columns=EVENT_COLUMNS))

    frame = chosen[["acquisition_channel", "lifecycle_stage"]].join(spend).join(counts)
    for column in ["orders", "revenue", "revenue_to_date", *EVENT_COLUMNS.values()]:
        frame[column] = frame[column].fillna(0) if column in frame else 0
    frame["score"] = sum(frame[name] * float(weight) for name, weight in weights.items())
    frame["is_engaged"] = frame["score"] >= threshold
    return frame


def pandas_engagement_summary(scores: pd.DataFrame, weights: dict[str, float], top: int = 5_000) -> dict:
    """What engagement_view aggregates from the scores: per-segment sums, per-behaviour totals, the score
    histogram (30 buckets up to the 99th percentile) and the top customers."""
    segments = scores.assign(buyer=scores["orders"] > 0, repeat=scores["orders"] >= 2,
                             revenue_squares=scores["revenue"] ** 2,
                             revenue_to_date_squares=scores["revenue_to_date"] ** 2).groupby("is_engaged").agg(
        customers=("score", "size"), buyers=("buyer", "sum"), repeat_buyers=("repeat", "sum"),
        revenue=("revenue", "sum"), revenue_squares=("revenue_squares", "sum"),
        revenue_to_date=("revenue_to_date", "sum"), revenue_to_date_squares=("revenue_to_date_squares", "sum"))
    components = pd.DataFrame({
        "occurrences": scores[list(EVENT_COLUMNS.values()) + ["orders"]].sum(),
        "customers": (scores[list(EVENT_COLUMNS.values()) + ["orders"]] > 0).sum(),
    })
    components["weight"] = pd.Series(weights, dtype="float64")
    cut = max(float(np.quantile(scores["score"], 0.99)), 1.0) if len(scores) else 1.0
    width = cut / 30.0
    buckets = np.floor(np.minimum(scores["score"], cut) / width) * width
    distribution = scores.groupby([buckets.rename("bucket_start"), "is_engaged"]).size().rename("customers")
    top_customers = scores.reset_index().sort_values(["score", "customer_id"], ascending=[False, True]).head(top)
    return {"segments": segments, "components": components, "distribution": distribution, "top": top_customers}


def pandas_channel_engagement(customers: pd.DataFrame, orders: pd.DataFrame, events: pd.DataFrame,
                              messages: pd.DataFrame, start: datetime, end_exclusive: datetime,
                              conversion_days: int, channels=(), segments=()) -> pd.DataFrame:
    """Per messaging channel: sends, recipients, clicks, clickers, converted clicks, orders and revenue after a
    click, e-mail opens (sql/engagement/channel_engagement.sql), indexed by channel."""
    chosen = set(_selected(customers, channels, segments)["customer_id"])
    sent = messages[(messages["sent_at"] >= start) & (messages["sent_at"] < end_exclusive)
                    & messages["customer_id"].isin(chosen)]
    sends = sent.groupby("channel").agg(sends=("customer_id", "size"), recipients=("customer_id", "nunique"))
    window = events[(events["occurred_at"] >= start) & (events["occurred_at"] < end_exclusive)
                    & events["customer_id"].isin(chosen)]
    clicks = window[window["event_type"].isin(list(CLICK_CHANNELS))].copy()
    clicks["channel"] = clicks["event_type"].map(CLICK_CHANNELS)
    clicks["click_number"] = np.arange(len(clicks))
    purchases = orders[~orders["status"].isin(NOT_PURCHASES)]
    pairs = clicks.merge(purchases[["order_id", "customer_id", "ordered_at", "net_revenue"]], on="customer_id")
    pairs = pairs[(pairs["ordered_at"] > pairs["occurred_at"])
                  & (pairs["ordered_at"] <= pairs["occurred_at"] + pd.Timedelta(days=conversion_days))]
    converted = pairs.groupby("channel")["click_number"].nunique().rename("converted_clicks")
    after = (pairs.drop_duplicates(["channel", "order_id"]).groupby("channel")
             .agg(orders_after_click=("order_id", "size"), revenue_after_click=("net_revenue", "sum")))
    click_totals = clicks.groupby("channel").agg(clicks=("customer_id", "size"), clickers=("customer_id", "nunique"))
    frame = sends.join(click_totals, how="outer").join(converted).join(after).fillna(0)
    frame["opens_activity"] = np.nan
    if "email" in frame.index:
        frame.loc["email", "opens_activity"] = int((window["event_type"] == "email_open").sum())
    return frame.sort_index()


# ------------------------------------------------------------------ benchmark
def main(argv: list[str] | None = None) -> int:
    from engagement.value.engagement_score import EngagementWeights, channel_engagement, engagement_view
    from engagement.filters import Filters
    from engagement.value.kpis import data_range, default_filters
    from engagement.workbench import open_workbench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5, help="runs per library call (median)")
    parser.add_argument("--pandas-runs", type=int, default=3, help="runs per pandas computation (median)")
    args = parser.parse_args(argv)

    store = open_workbench(args.db, read_only=True)
    store.require_current_derived()  # a stale database would time the on-demand paths instead of the stored ones
    cur = store.cursor()
    n_customers = cur.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    customers = cur.execute("SELECT customer_id, created_at, acquisition_channel, lifecycle_stage "
                            "FROM customer_summary").df()
    orders = cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue, status "
                         "FROM orders").df()
    events = cur.execute("SELECT customer_id, occurred_at, event_type FROM events").df()
    messages = cur.execute("SELECT customer_id, channel, sent_at FROM messages").df()

    default = default_filters(data_range(store))  # the page's opening window: the last 12 months
    shifted = Filters(start=date(default.start.year, default.start.month, 15),
                      end=date(default.end.year, default.end.month, 14))  # partial first and last months
    weights = EngagementWeights()
    w = weights.params()
    w = {name.removeprefix("w_"): value for name, value in w.items()}

    def pandas_view(filters: Filters):
        p = filters.params()
        scores = pandas_customer_scores(customers, orders, events, p["start"], p["end_exclusive"], w, 10.0,
                                        filters.channels, filters.segments)
        return pandas_engagement_summary(scores, w)

    def pandas_channels(filters: Filters):
        p = filters.params()
        return pandas_channel_engagement(customers, orders, events, messages, p["start"], p["end_exclusive"], 7,
                                         filters.channels, filters.segments)

    views = []
    for label, filters in (("last 12 months", default), ("12 months from the 15th", shifted)):
        views.append((f"engagement score: {label}",
                      lambda f=filters: engagement_view(store, f, weights, 10.0), lambda f=filters: pandas_view(f)))
        views.append((f"channel engagement: {label}",
                      lambda f=filters: channel_engagement(store, f, 7), lambda f=filters: pandas_channels(f)))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"database: {args.db}: {n_customers:,} customers, {len(orders):,} orders, {len(events):,} events, "
          f"{len(messages):,} messages; library median of {args.runs} runs, pandas median of {args.pandas_runs}; "
          f"{os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'view':48} {'lib s':>7} {'lib cpu':>8} {'pandas s':>9} {'pd cpu':>7} {'ratio':>6} {'cpu ratio':>9}"
          "  target (wall ratio >= 20x, library < 1 s)")
    for name, library_call, pandas_call in views:
        first_seconds, _ = _median_seconds(library_call, 1)  # first call: cold caches, as a new data version
        library_seconds, library_cpu = _median_seconds(library_call, args.runs)
        pandas_seconds, pandas_cpu = _median_seconds(pandas_call, args.pandas_runs)
        ratio = pandas_seconds / library_seconds
        verdict = "ok" if ratio >= 20 and library_seconds < 1 else "MISSED"
        print(f"{name:48} {library_seconds:7.3f} {library_cpu:8.3f} {pandas_seconds:9.2f} {pandas_cpu:7.2f} "
              f"{ratio:5.0f}x {pandas_cpu / library_cpu:8.0f}x  {verdict} (first call {first_seconds:.3f} s)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
