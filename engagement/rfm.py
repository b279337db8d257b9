"""RFM: recency, frequency and monetary quintile scores, and the named segments built on them.

SQL (``sql/rfm/customer_scores.sql``) scores every customer who bought in the selected window;
``sql/rfm/segments.sql`` and ``sql/rfm/score_grid.sql`` aggregate those rows inside DuckDB. This
module adds shares and intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from engagement.filters import Filters
from engagement.intervals import mean_interval
from engagement.sql import read_sql
from engagement.store import Store

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


def run_over(store: Store, base: str, params: dict, name: str, alias: str, cursor=None) -> pd.DataFrame:
    """Run ``sql/<name>.sql`` over the (lazy) result of ``sql/<base>.sql``, visible to it as ``alias``.

    Both queries run inside DuckDB in one plan; only the aggregate comes back to Python.
    """
    cur = cursor or store.cursor()
    return cur.sql(read_sql(base), params=params).query(alias, read_sql(name)).df()


def customer_scores(store: Store, filters: Filters, cursor=None) -> pd.DataFrame:
    """One row per customer who bought in the window: recency (days), orders, revenue, scores, segment."""
    return store.query("rfm/customer_scores", filters.params(), cursor=cursor)


def rfm_segments(store: Store, filters: Filters, cursor=None) -> RfmSegments:
    """Sizes, revenue and averages of each RFM segment, with shares and a 95 % CI on revenue per customer."""
    params = filters.params()
    segments = run_over(store, "rfm/customer_scores", params, "rfm/segments", "customer_scores", cursor)
    grid = run_over(store, "rfm/customer_scores", params, "rfm/score_grid", "customer_scores", cursor)
    customers = int(segments["customers"].sum()) if len(segments) else 0
    revenue = float(segments["revenue"].sum()) if len(segments) else 0.0
    segments["label"] = segments["segment"].map(SEGMENT_LABELS)
    segments["definition"] = segments["segment"].map(SEGMENT_DEFINITIONS)
    segments["customer_share"] = segments["customers"] / customers if customers else math.nan
    segments["revenue_share"] = segments["revenue"] / revenue if revenue else math.nan
    segments["revenue_per_customer"] = segments["revenue"] / segments["customers"]
    bounds = [
        mean_interval(mean, sd if sd == sd else math.nan, int(n))
        for mean, sd, n in zip(segments["revenue_per_customer"], segments["revenue_sd"], segments["customers"])
    ]
    segments["revenue_per_customer_ci_low"] = [b[0] for b in bounds]
    segments["revenue_per_customer_ci_high"] = [b[1] for b in bounds]
    grid["label"] = grid["segment"].map(SEGMENT_LABELS)
    return RfmSegments(
        segments=segments.drop(columns=["revenue_sd"]), grid=grid, customers=customers, revenue=revenue,
        as_of=params["end_exclusive"],
    )
