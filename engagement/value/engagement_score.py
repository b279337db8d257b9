"""Engagement score: what customers do, weighted, kept apart from what is merely done to them.

A customer's score over a window is ``sum(weight[b] * count[b])`` over the behaviours ``b`` in
:data:`BEHAVIOURS` (purchases, e-mail and SMS clicks, site visits, reviews, referrals, community
posts). Opens, SMS deliveries and social follows are *activity*: they are counted and shown, never
scored, because they cost the customer nothing. A customer is *engaged* when the score reaches a
threshold. Both weights and threshold are the user's to change.

SQL (``sql/engagement/customer_scores.sql``) scores every selected customer into a temporary table
on the caller's cursor; the other ``sql/engagement`` files aggregate it into sufficient statistics,
and this module turns those into rates, ratios and 95 % intervals.

Example
-------
>>> EngagementWeights().params()["w_orders"]
3.0
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import duckdb
import pandas as pd

from engagement.filters import Filters
from engagement.stats.intervals import mean_interval, normal_quantile, welch_interval, wilson_interval
from engagement.warehouse.query_records import QueryRecord
from engagement.warehouse.store import Store

# Behaviour -> label. Order is the order shown on the page and in the CLI.
BEHAVIOURS: dict[str, str] = {
    "orders": "Purchases",
    "email_clicks": "E-mail clicks",
    "sms_clicks": "SMS clicks",
    "site_visits": "Site visits",
    "reviews": "Reviews written",
    "referrals": "Referrals",
    "community_posts": "Community posts",
}
ACTIVITIES: dict[str, str] = {
    "email_opens": "E-mail opens",
    "sms_delivered": "SMS delivered",
    "social_follows": "Social follows",
}
DEFAULT_THRESHOLD = 10.0
# Longest click-to-purchase window: derived click_purchases keeps the purchases this many days after each click.
MAX_CONVERSION_DAYS = 90

SCORE_DEFINITION = (
    "Engagement score = sum over behaviours of weight x number of times the customer did it in the "
    "period (purchases, e-mail/SMS clicks, site visits, reviews, referrals, community posts). "
    "Opens, SMS deliveries and social follows are activity: shown, never scored."
)
COMPARISON_DEFINITIONS: dict[str, str] = {
    "repeat_rate": "Of the segment's customers who bought in the period, the share who bought at least "
                   "twice. 95 % Wilson interval per segment; the difference has a 95 % Wald interval.",
    "revenue_per_customer": "Net revenue in the period per customer of the segment (buyers or not). "
                            "95 % t interval per segment; the difference has a Welch interval.",
    "ltv": "Net revenue to date (all purchases up to the end of the period) per customer. 95 % t interval per "
           "segment; engaged / unengaged ratio with a delta-method interval on the log scale.",
}
COMPARISON_LABELS = {
    "repeat_rate": "Repeat purchase rate", "revenue_per_customer": "Revenue per customer",
    "ltv": "Revenue to date (LTV) per customer",
}
REVENUE_SHARE_DEFINITION = (
    "Share of the period's net revenue that came from engaged customers. 95 % interval: delta method "
    "for a ratio of totals, customers as the sampling unit."
)
PURCHASES_ONLY_NOTE = (
    "Every score point in this period comes from purchases: no e-mail or SMS click, site visit, review, referral "
    "or community post is loaded for it (or their weights are 0). Engaged customers are then simply those who "
    "bought most often, so they differ from the others by construction: the comparisons below describe frequent "
    "buyers, not engagement. Load e-mail and SMS events (Data page) to measure engagement."
)
CIRCULARITY_NOTE = (
    "Purchases count towards the score, so part of the gap between engaged and unengaged customers is "
    "there by construction (set the purchase weight to 0 to compare on the other behaviours only). The ROI "
    "page measures revenue after the scoring period and adjusts for prior spend."
)

_Z95 = normal_quantile(0.975)


@dataclass(frozen=True)
class EngagementWeights:
    """Points per occurrence of each behaviour (the defaults favour rarer, costlier acts)."""

    orders: float = 3.0
    email_clicks: float = 1.0
    sms_clicks: float = 1.0
    site_visits: float = 0.25
    reviews: float = 3.0
    referrals: float = 5.0
    community_posts: float = 2.0

    def __post_init__(self) -> None:
        negative = [f.name for f in fields(self) if getattr(self, f.name) < 0]
        if negative:
            raise ValueError(f"Weights must be zero or positive: {', '.join(negative)}.")

    def params(self) -> dict[str, float]:
        """Bound SQL parameters ``$w_<behaviour>``."""
        return {f"w_{name}": float(value) for name, value in asdict(self).items()}


@dataclass(frozen=True)
class SegmentValue:
    """One metric for one segment, with its interval and sample size."""

    value: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class SegmentComparison:
    """Engaged against unengaged customers on one metric, with the contrast and its interval."""

    metric: str
    unit: str  # "share" or "money"
    engaged: SegmentValue
    unengaged: SegmentValue
    contrast_kind: str  # "difference" or "ratio"
    contrast: float
    contrast_low: float
    contrast_high: float

    @property
    def label(self) -> str:
        return COMPARISON_LABELS[self.metric]

    @property
    def definition(self) -> str:
        return COMPARISON_DEFINITIONS[self.metric]


@dataclass(frozen=True)
class EngagementView:
    """Everything the Engagement page shows for one selection, weights and threshold."""

    customers: int
    engaged_customers: int
    threshold: float
    comparisons: tuple[SegmentComparison, ...]
    engaged_revenue_share: SegmentValue
    components: pd.DataFrame  # one row per behaviour or activity
    distribution: pd.DataFrame  # one row per score bucket and engaged flag
    top_customers: pd.DataFrame  # the highest scores, one row per customer (``top`` rows at most)

    @property
    def purchases_only(self) -> bool:
        """Every score point of the period comes from purchases: no other scored behaviour happened in it (an
        orders-only brand: Online Retail) or its weights are 0. "Engaged" then means "bought at least so many
        times", so engaged customers' higher repeat rate and revenue hold by construction, not as a finding."""
        points = self.components.set_index("behaviour")["points"].fillna(0.0)
        return bool(points.get("orders", 0.0) > 0 and points.drop("orders", errors="ignore").sum() == 0)


def score_params(filters: Filters, weights: EngagementWeights, threshold: float) -> dict:
    """Bound parameters of ``sql/engagement/customer_scores.sql``."""
    return {"channels": list(filters.channels), "segments": list(filters.segments), **weights.params(),
            "threshold": float(threshold)}


STORED_COUNTS = "engagement_default_counts"  # derived table: engagement/customer_counts.sql, default window


def counts_run(store: Store, filters: Filters, cursor=None) -> QueryRecord:
    """The run giving the per-customer counts of ``filters``' window.

    A read of the stored counts when they were computed for this window (every customer; the selection is
    applied when scoring); when the window overlaps the stored one, ends no later and differs from it by fewer
    days than it lasts, engagement/moved_window_counts.sql, which moves the stored counts to it by the events
    and purchases of those days; else engagement/customer_counts.sql for the window and selection.
    """
    params = filters.params()
    stored = store.stored_view_params(STORED_COUNTS, cursor)
    if stored == {**params, "channels": [], "segments": []}:
        return QueryRecord("engagement/stored_default_counts")
    if stored is not None and _cheaper_to_move(stored["start"], stored["end_exclusive"], params["start"],
                                               params["end_exclusive"]):
        changes = QueryRecord("engagement/window_changes", {
            "start": params["start"], "end_exclusive": params["end_exclusive"], "stored_start": stored["start"],
            "stored_end_exclusive": stored["end_exclusive"]})
        return QueryRecord("engagement/moved_window_counts", {
            "end_exclusive": params["end_exclusive"], "channels": params["channels"], "segments": params["segments"]},
            (("window_changes", changes),))
    return QueryRecord("engagement/customer_counts", params)


def _cheaper_to_move(stored_start, stored_end, start, end) -> bool:
    """Whether the window [start, end) is read faster as the stored window [stored_start, stored_end) moved by the
    days in one window only than counted over its own days: the windows overlap, it ends no later (every customer
    it counts is stored), and they differ by fewer days than it lasts."""
    if not (max(start, stored_start) < min(end, stored_end) and end <= stored_end):
        return False
    return abs(start - stored_start) + (stored_end - end) < end - start


def scores_run(store: Store, filters: Filters, weights: EngagementWeights, threshold: float,
               cursor=None) -> QueryRecord:
    """The run scoring every selected customer: engagement/customer_scores.sql over the window's counts."""
    return QueryRecord("engagement/customer_scores", score_params(filters, weights, threshold),
                       (("customer_counts", counts_run(store, filters, cursor)),))


def materialise_scores(store: Store, filters: Filters, weights: EngagementWeights, threshold: float,
                       cursor=None) -> tuple[duckdb.DuckDBPyConnection, QueryRecord]:
    """Score every selected customer into the temporary table ``customer_scores`` of ``cursor``.

    Returns the cursor (a new one when none is given; the table lives as long as it) and the scoring run,
    which queries reading the table name as their input for "Show SQL" (:meth:`Store.query_materialised`).
    """
    cur = cursor or store.cursor()
    scores = scores_run(store, filters, weights, threshold, cur)
    store.remember_query(scores)
    cur.execute("CREATE OR REPLACE TEMP TABLE customer_scores AS " + scores.statement(),
                scores.all_params()).fetchall()
    return cur, scores


@contextmanager
def _scored_customers(store: Store, filters: Filters, weights: EngagementWeights, threshold: float):
    """``(cursor, scoring run)`` with ``customer_scores`` materialised for the block, dropped after it."""
    cur, scores = materialise_scores(store, filters, weights, threshold)
    try:
        yield cur, scores
    finally:
        cur.execute("DROP TABLE IF EXISTS customer_scores").fetchall()


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def _variance(total: float, squares: float, n: int) -> float:
    """Sample variance from a sum and a sum of squares."""
    if n < 2:
        return math.nan
    return max(0.0, (squares - total * total / n) / (n - 1))


def _mean_value(total: float, squares: float, n: int) -> SegmentValue:
    mean = _ratio(total, n)
    return SegmentValue(mean, *mean_interval(mean, math.sqrt(_variance(total, squares, n)) if n > 1 else math.nan, n), n)


def _comparisons(rows: pd.DataFrame) -> tuple[tuple[SegmentComparison, ...], SegmentValue]:
    e, u = (rows[rows["is_engaged"] == flag].iloc[0] for flag in (True, False))
    ne, nu = int(e["customers"]), int(u["customers"])

    # Repeat rate among buyers, Wilson per segment, Wald difference.
    be, bu = int(e["buyers"]), int(u["buyers"])
    re, ru = int(e["repeat_buyers"]), int(u["repeat_buyers"])
    pe, pu = _ratio(re, be), _ratio(ru, bu)
    se_diff = math.sqrt(pe * (1 - pe) / be + pu * (1 - pu) / bu) if be and bu else math.nan
    repeat = SegmentComparison(
        "repeat_rate", "share",
        SegmentValue(pe, *wilson_interval(re, be), be), SegmentValue(pu, *wilson_interval(ru, bu), bu),
        "difference", pe - pu, pe - pu - _Z95 * se_diff, pe - pu + _Z95 * se_diff,
    )

    # Revenue per customer in the period: t per segment, Welch difference.
    rev_e = _mean_value(float(e["revenue"]), float(e["revenue_squares"]), ne)
    rev_u = _mean_value(float(u["revenue"]), float(u["revenue_squares"]), nu)
    diff, _, low, high = welch_interval(
        rev_e.value, _variance(float(e["revenue"]), float(e["revenue_squares"]), ne), ne,
        rev_u.value, _variance(float(u["revenue"]), float(u["revenue_squares"]), nu), nu,
    )
    revenue = SegmentComparison("revenue_per_customer", "money", rev_e, rev_u, "difference", diff, low, high)

    # LTV ratio: delta method on log(mean_e / mean_u) for two independent means.
    ltv_e = _mean_value(float(e["revenue_to_date"]), float(e["revenue_to_date_squares"]), ne)
    ltv_u = _mean_value(float(u["revenue_to_date"]), float(u["revenue_to_date_squares"]), nu)
    ratio = _ratio(ltv_e.value, ltv_u.value)
    if ratio > 0 and ne > 1 and nu > 1:
        var_e = _variance(float(e["revenue_to_date"]), float(e["revenue_to_date_squares"]), ne)
        var_u = _variance(float(u["revenue_to_date"]), float(u["revenue_to_date_squares"]), nu)
        se_log = math.sqrt(var_e / (ne * ltv_e.value ** 2) + var_u / (nu * ltv_u.value ** 2))
        ratio_low, ratio_high = ratio * math.exp(-_Z95 * se_log), ratio * math.exp(_Z95 * se_log)
    else:
        ratio_low = ratio_high = math.nan
    ltv = SegmentComparison("ltv", "money", ltv_e, ltv_u, "ratio", ratio, ratio_low, ratio_high)

    # Engaged share of revenue: ratio of totals x/y over all customers, x_i = revenue_i * engaged_i.
    n = ne + nu
    x_total, y_total = float(e["revenue"]), float(e["revenue"]) + float(u["revenue"])
    share = _ratio(x_total, y_total)
    if n > 1 and y_total > 0:
        x2 = float(e["revenue_squares"])  # x_i^2 = x_i * y_i = engaged revenue squared
        y2 = x2 + float(u["revenue_squares"])
        x_bar, y_bar = x_total / n, y_total / n
        var_x = (x2 - n * x_bar ** 2) / (n - 1)
        var_y = (y2 - n * y_bar ** 2) / (n - 1)
        cov_xy = (x2 - n * x_bar * y_bar) / (n - 1)
        se = math.sqrt(max(0.0, var_x - 2 * share * cov_xy + share ** 2 * var_y) / n) / y_bar
        share_value = SegmentValue(share, max(0.0, share - _Z95 * se), min(1.0, share + _Z95 * se), n)
    else:
        share_value = SegmentValue(share, math.nan, math.nan, n)
    return (repeat, revenue, ltv), share_value


def engagement_view(store: Store, filters: Filters, weights: EngagementWeights = EngagementWeights(),
                    threshold: float = DEFAULT_THRESHOLD, top: int = 5_000) -> EngagementView:
    """Scores, engaged-vs-unengaged comparisons and score make-up for one selection.

    Parameters
    ----------
    store : Store
    filters : Filters
        The window scores are counted in, and the customer selection.
    weights : EngagementWeights
        Points per behaviour.
    threshold : float
        A customer with ``score >= threshold`` is engaged.
    top : int
        How many of the highest-scoring customers to return (one scoring pass serves everything).
    """
    with _scored_customers(store, filters, weights, threshold) as (cur, scores):
        reads = (("customer_scores", scores),)
        rows = store.query_materialised("engagement/segment_comparison", {}, cur, reads)
        components = store.query_materialised("engagement/score_components", weights.params(), cur, reads)
        distribution = store.query_materialised("engagement/score_distribution", {}, cur, reads)
        top_customers = store.query_materialised("engagement/top_scores", _top_params(top), cur, reads)
    comparisons, share = _comparisons(rows)
    components["label"] = components["behaviour"].map({**BEHAVIOURS, **ACTIVITIES})
    components["points"] = components["occurrences"] * components["weight"]
    scored_points = components["points"].sum()
    components["share_of_points"] = components["points"] / scored_points if scored_points else math.nan
    components["customer_share"] = components["customers"] / components["population"].where(components["population"] > 0)
    customers = int(rows["customers"].sum())
    engaged = int(rows.loc[rows["is_engaged"], "customers"].sum())
    return EngagementView(customers, engaged, float(threshold), comparisons, share, components, distribution,
                          top_customers)


def _top_params(limit: int | None) -> dict:
    return {"limit": limit if limit is not None else 2**62}


def customer_scores(store: Store, filters: Filters, weights: EngagementWeights = EngagementWeights(),
                    threshold: float = DEFAULT_THRESHOLD, limit: int | None = None) -> pd.DataFrame:
    """Per-customer counts, score and engaged flag, highest score first (``limit`` rows if given)."""
    with _scored_customers(store, filters, weights, threshold) as (cur, scores):
        return store.query_materialised("engagement/top_scores", _top_params(limit), cur,
                                        (("customer_scores", scores),))


def channel_engagement(store: Store, filters: Filters, conversion_days: int = 7) -> pd.DataFrame:
    """Click rate and click-to-purchase conversion per messaging channel, with 95 % Wilson intervals.

    ``click_rate`` = customers who clicked / customers who received a message in the period;
    ``conversion_rate`` = clicks followed by a purchase within ``conversion_days`` days / clicks.
    Opens are returned as ``opens_activity`` only to show them apart: they are not engagement.
    ``conversion_days`` runs from 1 to :data:`MAX_CONVERSION_DAYS`.
    """
    if not 1 <= int(conversion_days) <= MAX_CONVERSION_DAYS:
        raise ValueError(f"The conversion window must be 1 to {MAX_CONVERSION_DAYS} days, not {conversion_days}.")
    frame = store.query("engagement/channel_engagement", {**filters.params(), "conversion_days": int(conversion_days)})
    for rate, hits, n in (("click_rate", "clickers", "recipients"), ("conversion_rate", "converted_clicks", "clicks")):
        bounds = [wilson_interval(int(h), int(k)) for h, k in zip(frame[hits], frame[n])]
        frame[rate] = [_ratio(int(h), int(k)) for h, k in zip(frame[hits], frame[n])]
        frame[f"{rate}_ci_low"] = [b[0] for b in bounds]
        frame[f"{rate}_ci_high"] = [b[1] for b in bounds]
    frame["clicks_per_1000_sends"] = [1000 * _ratio(c, s) for c, s in zip(frame["clicks"], frame["sends"])]
    frame["conversion_days"] = int(conversion_days)
    return frame


def comparisons_as_records(view: EngagementView) -> list[dict]:
    """Plain records (one per metric) for JSON/CSV output and downloads."""
    records = []
    for c in view.comparisons:
        records.append({
            "metric": c.metric, "label": c.label, "unit": c.unit,
            "engaged": c.engaged.value, "engaged_ci_low": c.engaged.ci_low, "engaged_ci_high": c.engaged.ci_high,
            "engaged_n": c.engaged.n,
            "unengaged": c.unengaged.value, "unengaged_ci_low": c.unengaged.ci_low,
            "unengaged_ci_high": c.unengaged.ci_high, "unengaged_n": c.unengaged.n,
            "contrast_kind": c.contrast_kind, "contrast": c.contrast,
            "contrast_ci_low": c.contrast_low, "contrast_ci_high": c.contrast_high, "definition": c.definition,
        })
    s = view.engaged_revenue_share
    records.append({
        "metric": "engaged_revenue_share", "label": "Share of revenue from engaged customers", "unit": "share",
        "engaged": s.value, "engaged_ci_low": s.ci_low, "engaged_ci_high": s.ci_high, "engaged_n": s.n,
        "definition": REVENUE_SHARE_DEFINITION,
    })
    return records
