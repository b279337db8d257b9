"""NPS/CSAT and Experiments pages: each call's time against the same computation in pandas.

Usage: python -m benchmarks.pages_benchmark --db PATH [--runs 5] [--pandas-runs 3]

Build the database first, e.g. ``python -m engagement demo --customers 1000000 --db /tmp/bench.duckdb``.
For each call a page makes it prints the median wall seconds of the library call (SQL plus the Python
that shapes the result: what the page waits for, with a warm buffer cache, as in a running app) and of
pandas computing the same numbers from the tables already in memory (loading them is not counted against
pandas), and the ratio. Targets: at least 20x faster than pandas and under 1 s. Last, it checks once (outside
the timings) that the library and pandas computed the same numbers for the breakdown, trend, behaviour and
experiment calls.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.timing import median_time  # the same timing as the Overview's figures


# ------------------------------------------------------------- pandas references
def selected_answers(surveys: pd.DataFrame, customers: pd.DataFrame, kind: str, start, end_exclusive) -> pd.DataFrame:
    """Answers of ``kind`` in the window from known customers, with the customer's attributes."""
    window = surveys[(surveys.kind == kind) & (surveys.responded_at >= start) & (surveys.responded_at < end_exclusive)]
    return window.merge(customers, on="customer_id", how="inner")


def box_counts(frame: pd.DataFrame, by) -> pd.DataFrame:
    return frame.assign(
        top=frame.score >= 9, bottom=frame.score <= 6, middle=frame.score.between(7, 8),
    ).groupby(by).agg(responses=("score", "size"), top_box=("top", "sum"), middle=("middle", "sum"),
                      bottom_box=("bottom", "sum"), mean_score=("score", "mean"), score_sd=("score", "std"))


def pandas_breakdown(surveys, customers, start, end_exclusive, dimension: str) -> pd.DataFrame:
    answers = selected_answers(surveys, customers, "nps", start, end_exclusive)
    if dimension == "touchpoint":
        answers["touchpoint"] = answers.touchpoint.fillna("").str.strip().replace("", "unknown")
        return box_counts(answers, "touchpoint")
    return box_counts(answers.assign(group_value="all"), "group_value")


def pandas_trend(surveys, customers, start, end_exclusive) -> pd.DataFrame:
    answers = selected_answers(surveys, customers, "nps", start, end_exclusive)
    return box_counts(answers, answers.responded_at.dt.to_period("M"))


def pandas_versus_previous(surveys, customers, start, end_exclusive) -> tuple:
    before = start - (end_exclusive - start)
    return (box_counts(selected_answers(surveys, customers, "nps", start, end_exclusive).assign(g=1), "g"),
            box_counts(selected_answers(surveys, customers, "nps", before, start).assign(g=1), "g"))


def pandas_behaviour_after(surveys, customers, purchases, last_order_at, start, end_exclusive,
                           horizon_days: int = 90) -> pd.DataFrame:
    """Each respondent's first answer in the window; purchases in the horizon after it; censored answers."""
    answers = selected_answers(surveys, customers, "nps", start, end_exclusive)
    first = answers.sort_values(["responded_at", "response_id"]).drop_duplicates("customer_id")
    horizon = pd.Timedelta(days=horizon_days)
    first = first.assign(
        category=pd.cut(first.score, [-1, 6, 8, 10], labels=["bottom", "middle", "top"]),
        is_censored=first.responded_at + horizon > last_order_at,
    )
    followed = first[~first.is_censored]
    joined = followed[["response_id", "customer_id", "responded_at"]].merge(purchases, on="customer_id")
    joined = joined[(joined.ordered_at > joined.responded_at) & (joined.ordered_at <= joined.responded_at + horizon)]
    per_answer = joined.groupby("response_id").agg(purchases=("ordered_at", "size"), revenue=("net_revenue", "sum"))
    followed = followed.merge(per_answer, on="response_id", how="left").fillna({"purchases": 0, "revenue": 0.0})
    outcome = followed.groupby("category", observed=True).agg(
        followed_up=("response_id", "size"), repurchasers=("purchases", lambda p: int((p > 0).sum())),
        revenue_per_customer=("revenue", "mean"), revenue_sd=("revenue", "std"))
    counts = first.groupby("category", observed=True).agg(answers=("response_id", "size"),
                                                          censored=("is_censored", "sum"))
    return counts.join(outcome)


def pandas_experiment_stats(assignments, purchases, events, as_of, experiment_id: str, window_days: int,
                            event_type: str) -> pd.DataFrame:
    """Per unit: conversion, revenue, orders and event rate in the window after assignment, revenue in the
    window before it (the CUPED covariate), whether the window runs past the data; then n, sums, sums of
    squares and cross-products per variant and metric, the covariate's sums and the incomplete-window count."""
    units = assignments[assignments.experiment_id == experiment_id][["customer_id", "variant", "assigned_at"]]
    window = pd.Timedelta(days=window_days)
    joined = units.merge(purchases, on="customer_id")
    after = joined[(joined.ordered_at >= joined.assigned_at) & (joined.ordered_at < joined.assigned_at + window)]
    before = joined[(joined.ordered_at >= joined.assigned_at - window) & (joined.ordered_at < joined.assigned_at)]
    hit = units.merge(events[events.event_type == event_type], on="customer_id")
    hit = hit[(hit.occurred_at >= hit.assigned_at) & (hit.occurred_at < hit.assigned_at + window)]
    per_unit = units.set_index("customer_id")
    per_unit["orders_per_customer"] = after.groupby("customer_id").size()
    per_unit["revenue_per_customer"] = after.groupby("customer_id").net_revenue.sum()
    per_unit["pre_revenue"] = before.groupby("customer_id").net_revenue.sum()
    per_unit = per_unit.fillna({"orders_per_customer": 0, "revenue_per_customer": 0.0, "pre_revenue": 0.0})
    per_unit["conversion"] = (per_unit.orders_per_customer > 0).astype(float)
    per_unit["event_rate"] = per_unit.index.isin(hit.customer_id).astype(float)
    per_unit["is_window_incomplete"] = per_unit.assigned_at + window > as_of
    long = per_unit.melt(id_vars=["variant", "pre_revenue", "is_window_incomplete"],
                         value_vars=["conversion", "revenue_per_customer", "orders_per_customer", "event_rate"],
                         var_name="metric", value_name="value")
    long["value_squared"] = long.value ** 2
    long["pre_squared"] = long.pre_revenue ** 2
    long["cross"] = long.value * long.pre_revenue
    return long.groupby(["variant", "metric"]).agg(n=("value", "size"), total=("value", "sum"),
                                                   sum_squares=("value_squared", "sum"),
                                                   covariate_total=("pre_revenue", "sum"),
                                                   covariate_sum_squares=("pre_squared", "sum"),
                                                   cross_products=("cross", "sum"),
                                                   units_window_incomplete=("is_window_incomplete", "sum"))


def _close(library: pd.DataFrame, reference: pd.DataFrame) -> bool:
    """Every column of ``reference`` equal in ``library`` (same index), to 1e-9 relative."""
    library = library.loc[reference.index]
    return all(np.allclose(library[c].astype(float), reference[c].astype(float), rtol=1e-9, equal_nan=True)
               for c in reference.columns)


def same_numbers(store, filters, query, pandas_results: dict) -> list[tuple[str, bool]]:
    """Whether the library and pandas computed the same numbers (checked once, outside the timings)."""
    from engagement.experiments.analysis import experiment_stats
    from engagement.voice.nps import behaviour_after_answer, survey_breakdown, survey_trend

    counts = ["responses", "top_box", "middle", "bottom_box", "mean_score", "score_sd"]
    link = behaviour_after_answer(store, filters)
    outcomes = pd.DataFrame([vars(o) for o in link.outcomes]).set_index("category")
    return [
        ("NPS: by touchpoint", _close(survey_breakdown(store, filters, dimension="touchpoint")
                                      .set_index("group_value")[counts], pandas_results["touchpoint"][counts])),
        ("NPS: monthly trend", _close(survey_trend(store, filters)[counts].set_index(
            pandas_results["trend"].index), pandas_results["trend"][counts])),
        ("NPS: behaviour after the answer", _close(outcomes, pandas_results["behaviour"])),
        ("Experiments: variant stats", _close(experiment_stats(store, query).set_index(["variant", "metric"]),
                                              pandas_results["experiment"])),
    ]


def main(argv: list[str] | None = None) -> int:
    from engagement.experiments.analysis import ExperimentQuery, experiment_analysis, list_experiments
    from engagement.value.kpis import data_range, default_filters
    from engagement.voice.nps import (
        behaviour_after_answer, bottom_box_answers, compare_with_previous_period, survey_breakdown, survey_trend,
    )
    from engagement.warehouse.schema import ENGAGEMENT_EVENT_TYPES
    from engagement.workbench import open_workbench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5, help="runs per library call (median)")
    parser.add_argument("--pandas-runs", type=int, default=3, help="runs per pandas computation (median)")
    args = parser.parse_args(argv)

    store = open_workbench(args.db, read_only=True)
    store.require_current_derived()  # a stale database would time the on-demand paths instead of the stored ones
    cur = store.cursor()
    filters = default_filters(data_range(store))
    params = filters.params()
    start, end = pd.Timestamp(params["start"]), pd.Timestamp(params["end_exclusive"])
    surveys = cur.execute("SELECT response_id, customer_id, responded_at, kind, score, touchpoint FROM surveys").df()
    customers = cur.execute("SELECT customer_id, acquisition_channel, lifecycle_stage FROM customer_summary").df()
    purchases = cur.execute("SELECT customer_id, ordered_at, net_revenue::double AS net_revenue "
                            "FROM order_facts").df()
    last_order_at, as_of = map(pd.Timestamp,
                               cur.execute("SELECT last_order_at, as_of FROM dataset_facts").fetchall()[0])
    assignments = cur.execute("SELECT experiment_id, customer_id, variant, assigned_at "
                              "FROM experiment_assignments").df()
    experiment_id = sorted(list_experiments(store)["experiment_id"].unique())[0]
    # the page's heaviest setting: the extra event metric on (it reads the events table too)
    query = ExperimentQuery(experiment_id=experiment_id, event_type=ENGAGEMENT_EVENT_TYPES[0])
    events = cur.execute("SELECT customer_id, occurred_at, event_type FROM events").df()

    calls = [
        ("NPS: score, all answers", lambda: survey_breakdown(store, filters),
         lambda: pandas_breakdown(surveys, customers, start, end, "all")),
        ("NPS: by touchpoint", lambda: survey_breakdown(store, filters, dimension="touchpoint"),
         lambda: pandas_breakdown(surveys, customers, start, end, "touchpoint")),
        ("NPS: monthly trend", lambda: survey_trend(store, filters),
         lambda: pandas_trend(surveys, customers, start, end)),
        ("NPS: against the period before", lambda: compare_with_previous_period(store, filters),
         lambda: pandas_versus_previous(surveys, customers, start, end)),
        ("NPS: behaviour in the 90 days after the answer", lambda: behaviour_after_answer(store, filters),
         lambda: pandas_behaviour_after(surveys, customers, purchases, last_order_at, start, end)),
        ("NPS: newest detractors with their value", lambda: bottom_box_answers(store, filters),
         lambda: selected_answers(surveys, customers, "nps", start, end).query("score <= 6")
         .sort_values("responded_at", ascending=False).head(200)),
        (f"Experiments: {experiment_id} analysis", lambda: experiment_analysis(store, query),
         lambda: pandas_experiment_stats(assignments, purchases, events, as_of, experiment_id, query.window_days,
                                         query.event_type)),
    ]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n_customers = cur.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    print(f"database: {args.db}: {n_customers:,} customers, {len(surveys):,} survey answers, {len(purchases):,} "
          f"purchases; library median of {args.runs} runs, pandas median of {args.pandas_runs}; "
          f"{os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'call':50} {'library s':>9} {'pandas s':>9} {'ratio':>6}  target (>= 20x, < 1 s)")
    for name, library_call, pandas_call in calls:
        library_call()  # warm the buffer manager once, as a running app would be
        library_seconds = median_time(library_call, args.runs)
        pandas_seconds = median_time(pandas_call, args.pandas_runs)
        ratio = pandas_seconds / library_seconds
        verdict = "ok" if ratio >= 20 and library_seconds < 1 else "MISSED"
        print(f"{name:50} {library_seconds:9.3f} {pandas_seconds:9.2f} {ratio:5.0f}x  {verdict}")
    pandas_results = {
        "touchpoint": pandas_breakdown(surveys, customers, start, end, "touchpoint"),
        "trend": pandas_trend(surveys, customers, start, end),
        "behaviour": pandas_behaviour_after(surveys, customers, purchases, last_order_at, start, end),
        "experiment": pandas_experiment_stats(assignments, purchases, events, as_of, experiment_id,
                                              query.window_days, query.event_type),
    }
    for name, agrees in same_numbers(store, filters, query, pandas_results):
        print(f"same numbers as pandas, {name}: {'yes' if agrees else 'NO'}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
