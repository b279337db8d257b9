"""dataset_facts after a small write without its percentile over every gap between purchases (issue 20).

dataset_facts reads two things from order_facts: the first and last purchase time, and the 80th percentile of the
days between a customer's purchases, of which only its rounding is kept (the at-risk cut is
``greatest(30, round(p80))`` days, the lapsed cut ``greatest(180, 2 * round(p80))``). The percentile sorts 3.75M
gaps at 5M orders (about 0.1 of the entry's 0.15 CPU s); a weekly file seldom moves it across a half day. Counting
the gaps below the two half-day bounds of the stored cut (one pass, no sort) tells whether the percentile's two
order statistics, and so the interpolation between them, still fall inside them; when they do, the SQL reads, in
place of order_facts, two rows giving the real first and last purchase times and a gap of the stored cut, which
round and cut the same. Otherwise the entry is built as always.
"""

from __future__ import annotations

import math

import duckdb

QUANTILE = 0.8  # derived/dataset_facts.sql's quantile_cont(days_since_previous_order, 0.8)
FLOOR_DAYS = 30  # its greatest(30, ...): every percentile rounding to 30 or less gives the same cuts


def kept_gap_cut(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict] | None:
    """A SELECT standing in for order_facts in derived/dataset_facts.sql, with its parameters, when the at-risk
    cut the stored dataset_facts holds is still the one the current order_facts gives; None when it may have
    moved."""
    stored = cur.execute("SELECT at_risk_days FROM main.dataset_facts").fetchall()
    if len(stored) != 1 or stored[0][0] is None:
        return None
    cut = stored[0][0]
    # The percentile rounds to `cut` when it lies in [cut - 0.5, cut + 0.5) (to at most 30 below the floor).
    low = cut - 0.5 if cut > FLOOR_DAYS else None
    high = cut + 0.5 - 1e-6  # a margin: the interpolation may land an ulp above its upper order statistic
    n, below_low, below_high = cur.execute(
        "SELECT count(days_since_previous_order), count(*) FILTER (WHERE days_since_previous_order < $low), "
        "count(*) FILTER (WHERE days_since_previous_order < $high) FROM main.order_facts",
        {"low": low if low is not None else float("-inf"), "high": high}).fetchall()[0]
    if not n:
        return None  # no gap: the SQL's default applies
    rank = (n - 1) * QUANTILE  # 0-based: interpolated between the sorted gaps at floor(rank) and ceil(rank)
    lower, upper = math.floor(rank), math.ceil(rank)
    # Sorted, gaps [0, below) are under a bound and the rest at or over it.
    if lower < below_low or upper >= below_high:
        return None
    return ("SELECT ordered_at, $kept_cut::DOUBLE AS days_since_previous_order FROM ("
            "SELECT min(ordered_at) AS ordered_at FROM main.order_facts UNION ALL "
            "SELECT max(ordered_at) FROM main.order_facts) AS ends", {"kept_cut": cut})
