"""RFM: recency and monetary quintile scores, a frequency score on fixed order-count bands
(:data:`FREQUENCY_BANDS`), and the named segments built on them.

SQL sums every customer's purchases in the selected window (``sql/rfm/window_customers.sql``), scores
the selected customers (``sql/rfm/customer_scores.sql``) and ``sql/rfm/score_grid.sql`` aggregates
those rows inside DuckDB to sums per (R, F) cell, all in one statement; this module adds up the cells of
each segment and computes shares, means and intervals. For the page's default window the per-customer
sums of every customer are stored at load time (derived ``rfm_default_window_customers``, the same
query's result), so the default window with any selection reads no purchases; with every customer
selected (the page's default view) the scores themselves are stored too (``rfm_default_scores``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from engagement.filters import Filters
from engagement.stats.intervals import mean_interval
from engagement.warehouse.query_records import QueryRecord
from engagement.warehouse.store import Store

# What each segment means, shown on the page and in the README (R = recency score, F = frequency score).
SEGMENT_DEFINITIONS: dict[str, str] = {
    "champions": "R 5, F 4-5: bought very recently and often.",
    "loyal": "R 3-4, F 4-5: buy often, a little less recently than champions.",
    "potential_loyalists": "R 4-5, F 2-3: recent, with a few orders; can become loyal.",
    "new_customers": "R 5, F 1: first order very recently.",
    "promising": "R 4, F 1: one recent order.",
    "need_attention": "R 3, F 3: average on both; slipping.",
    "about_to_sleep": "R 3, F 1-2: few orders, not recent.",
    "cant_lose": "R 1-2, F 5: used to buy most often, gone quiet.",
    "at_risk": "R 1-2, F 3-4: bought often, long ago.",
    "hibernating": "R 1-2, F 1-2: few orders, long ago.",
}

FREQUENCY_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 5, 4), (6, None, 5),
)
"""(fewest orders, most orders or None for no upper bound, F score): the fixed order-count bands of the
frequency score (``sql/rfm/customer_scores.sql`` implements them). Fixed bands, not quintiles: most customers
of a typical shop have one order, so quintile ties left scores 2-3 empty and two segments unreachable."""


def frequency_band_text() -> str:
    """The bands in words, for the page: "F 1: 1 order; F 2: 2 orders; ...; F 5: 6+ orders"."""
    parts = []
    for low, high, score in FREQUENCY_BANDS:
        span = f"{low}+" if high is None else (str(low) if low == high else f"{low}-{high}")
        parts.append(f"F {score}: {span} order{'' if span == '1' else 's'}")
    return "; ".join(parts)


SEGMENT_LABELS: dict[str, str] = {
    "champions": "Champions", "loyal": "Loyal", "potential_loyalists": "Potential loyalists",
    "new_customers": "New customers", "promising": "Promising", "need_attention": "Need attention",
    "about_to_sleep": "About to sleep", "cant_lose": "Can't lose them", "at_risk": "At risk",
    "hibernating": "Hibernating",
}


@dataclass(frozen=True)
class RfmSegments:
    """Segment sizes and value for one window and customer selection."""

    segments: pd.DataFrame  # one row per segment (see segment_table columns)
    grid: pd.DataFrame  # one row per (r_score, f_score) pair
    customers: int
    revenue: float
    as_of: datetime  # recency is measured from here (the end of the window)


STORED_WINDOW = "rfm_default_window_customers"  # derived table: rfm/window_customers.sql, default window
STORED_SCORES = "rfm_default_scores"  # derived table: those customers scored, every customer selected


def _window_run(store: Store, params: dict, cur) -> QueryRecord:
    """The run giving the window's per-customer sums: a read of the stored sums when they were computed for
    this window (every customer; the selection is applied when scoring), else rfm/window_customers.sql."""
    if store.stored_view_params(STORED_WINDOW, cur) == {**params, "channels": [], "segments": []}:
        return QueryRecord("rfm/stored_default_window_customers")
    return QueryRecord("rfm/window_customers", params)


def default_scores_run() -> QueryRecord:
    """rfm/customer_scores.sql over the stored default window, every customer selected."""
    return QueryRecord("rfm/customer_scores", {"channels": [], "segments": []},
                       (("window_customers", QueryRecord("rfm/stored_default_window_customers")),))


def store_default_scores(cur) -> None:
    """Build ``rfm_default_scores`` (the page's default view scored at load: it then only aggregates them).
    ``Store._refresh_derived`` calls this after the SQL derived tables."""
    run = default_scores_run()
    cur.execute(f"CREATE OR REPLACE TABLE {STORED_SCORES} AS " + run.statement(), run.all_params())


def _scores_run(store: Store, params: dict, cur) -> QueryRecord:
    """The run that scores the selected customers: a read of the stored scores for the default window with
    every customer selected, else rfm/customer_scores.sql over the window's sums (stored or computed)."""
    window = _window_run(store, params, cur)
    if window.name == "rfm/stored_default_window_customers" and not params["channels"] and not params["segments"]:
        return QueryRecord("rfm/stored_default_scores")
    return QueryRecord("rfm/customer_scores", {"channels": params["channels"], "segments": params["segments"]},
                       (("window_customers", window),))


def customer_scores(store: Store, filters: Filters, cursor=None) -> pd.DataFrame:
    """One row per customer who bought in the window: recency (days), orders, revenue, scores, segment."""
    cur = cursor or store.cursor()
    scores = _scores_run(store, filters.params(), cur)
    return store.query(scores.name, scores.params, cursor=cur, inputs=scores.inputs)


def rfm_segments(store: Store, filters: Filters, cursor=None) -> RfmSegments:
    """Sizes, revenue and averages of each RFM segment, with shares and a 95 % CI on revenue per customer."""
    params = filters.params()
    cur = cursor or store.cursor()
    # Scored (or read from the stored scores) and aggregated in one statement: only the (R, F) sums come back.
    scores = _scores_run(store, params, cur)
    grid = store.query("rfm/score_grid", cursor=cur, inputs=(("customer_scores", scores),))
    sums = grid.groupby("segment", as_index=False)[
        ["customers", "revenue", "revenue_squared", "recency_days", "orders"]].sum()
    customers = int(sums["customers"].sum())
    revenue = float(sums["revenue"].sum())
    n = sums["customers"]
    segments = pd.DataFrame({
        "segment": sums["segment"],
        "label": sums["segment"].map(SEGMENT_LABELS),
        "definition": sums["segment"].map(SEGMENT_DEFINITIONS),
        "customers": n,
        "customer_share": n / customers if customers else math.nan,
        "revenue": sums["revenue"],
        "revenue_share": sums["revenue"] / revenue if revenue else math.nan,
        "revenue_per_customer": sums["revenue"] / n,
        "average_recency_days": sums["recency_days"] / n,
        "average_orders": sums["orders"] / n,
    })
    variance = (sums["revenue_squared"] - n * segments["revenue_per_customer"] ** 2) / (n - 1)
    bounds = [
        mean_interval(mean, math.sqrt(max(v, 0.0)) if k > 1 else math.nan, int(k))
        for mean, v, k in zip(segments["revenue_per_customer"], variance.fillna(0.0), n)
    ]
    segments["revenue_per_customer_ci_low"] = [b[0] for b in bounds]
    segments["revenue_per_customer_ci_high"] = [b[1] for b in bounds]
    grid["label"] = grid["segment"].map(SEGMENT_LABELS)
    grid["average_m_score"] = grid["m_score"] / grid["customers"]
    return RfmSegments(
        segments=segments.sort_values("revenue", ascending=False, ignore_index=True),
        grid=grid.drop(columns=["revenue_squared"]), customers=customers, revenue=revenue,
        as_of=params["end_exclusive"],
    )
