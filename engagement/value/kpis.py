"""Overview KPIs: the headline engagement numbers, each with its sample size and uncertainty.

SQL (``sql/kpis/window_totals.sql``) produces sufficient statistics for a window; this module turns
them into rates and intervals, and compares with the period of the same length just before.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from engagement.filters import Filters, as_date
from engagement import metrics
from engagement.stats.intervals import mean_interval, median_rank_bounds, wilson_interval
from engagement.voice.nps import NPS_INTERVAL_METHOD, nps_summary
from engagement.warehouse.query_records import QueryRecord
from engagement.warehouse.store import Store

# Definitions shown on hover in the app, in the README table and in the CLI's JSON.
KPI_DEFINITIONS: dict[str, str] = {
    "repeat_purchase_rate": (
        "Of the customers who bought in the period, the share who bought at least twice in it. "
        "Refunded and cancelled orders are not purchases. 95 % Wilson interval."
    ),
    "median_days_between_orders": (
        "Median number of days between a customer's purchase and their previous one, over repeat "
        "purchases made in the period. 95 % distribution-free interval (order statistics)."
    ),
    "average_order_value": (
        "Net revenue per purchase in the period (after discounts and refunds). 95 % t interval."
    ),
    "returning_revenue_share": (
        "Share of the period's net revenue that came from repeat purchases (a customer's 2nd or "
        "later order)."
    ),
    "active_loyalty_members_90d": (
        "Share of loyalty members who made a purchase in the 90 days up to the end of the period. "
        "95 % Wilson interval."
    ),
    "nps": (
        "Net Promoter Score of answers given in the period: % promoters (9-10) minus % detractors "
        f"(0-6). 95 % interval: {NPS_INTERVAL_METHOD}."
    ),
}

# Labels, units and rounding come from the metric registry (engagement/metrics.py).
KPI_LABELS: dict[str, str] = {key: metrics.metric(key).label for key in KPI_DEFINITIONS}


@dataclass(frozen=True)
class Kpi:
    """One headline number for a window, with what is needed to judge it."""

    key: str
    value: float
    n: int
    ci_low: float
    ci_high: float
    previous_value: float
    previous_n: int
    unit: str  # "share", "days", "money" or "score"
    # Why the period before is not compared (its value NaN, n 0): the data starts inside it; "" when compared.
    previous_note: str = ""

    @property
    def label(self) -> str:
        return KPI_LABELS[self.key]

    @property
    def definition(self) -> str:
        return KPI_DEFINITIONS[self.key]

    @property
    def change(self) -> float:
        return self.value - self.previous_value


def _selected_days(filters: Filters) -> tuple[tuple[str, QueryRecord], ...]:
    """The order sums of the window and selection, as the Overview's SQL files read them (``selected_days``)."""
    return (("selected_days", QueryRecord("kpis/selected_days", filters.params())),)


def window_totals(store: Store, filters: Filters, cursor=None) -> dict[str, Any]:
    """Sufficient statistics for one window (``kpis/window_totals.sql``), plus the median gap between
    purchases and the order statistics bounding its interval (:func:`gap_order_statistics`)."""
    totals = store.query("kpis/window_totals", filters.params(), cursor=cursor,
                         inputs=_selected_days(filters)).iloc[0].to_dict()
    n_gaps = int(totals["gaps"] or 0)
    totals["median_gap_days"] = totals["gap_ci_low"] = totals["gap_ci_high"] = math.nan
    if n_gaps:
        lower, upper = median_rank_bounds(n_gaps)
        middle_low, middle_high = (n_gaps + 1) // 2, n_gaps // 2 + 1  # the same rank when n is odd
        low, middle_low_days, middle_high_days, high = gap_order_statistics(
            store, filters, (lower, middle_low, middle_high, upper), cursor)
        totals["median_gap_days"] = (middle_low_days + middle_high_days) / 2
        totals["gap_ci_low"], totals["gap_ci_high"] = low, high
    return totals


def gap_order_statistics(store: Store, filters: Filters, ranks: tuple[int, ...], cursor=None) -> list[float]:
    """The ``ranks``-th smallest gaps (1-based, ascending) before the repeat purchases of a window.

    Exact selection in two cheap passes instead of one over every gap: a histogram of whole-day gap
    lengths (``kpis/gap_histogram.sql``) says which days hold the wanted ranks and how many gaps lie
    below them; the values are then selected among the gaps of those days only
    (``kpis/gap_order_statistics.sql``).
    """
    histogram = store.query("kpis/gap_histogram", filters.params(), cursor=cursor)
    days = histogram["gap_day"].to_numpy()
    below = np.concatenate(([0], np.cumsum(histogram["gaps"].to_numpy())))  # gaps under days[i]: below[i]
    first = int(np.searchsorted(below, min(ranks), side="left")) - 1  # the day holding the lowest rank
    last = int(np.searchsorted(below, max(ranks), side="left")) - 1
    in_range = below[last + 1] - below[first]
    fractions = [float((rank - below[first] - 0.5) / in_range) for rank in ranks]
    # quantile_disc(x, (r - 0.5) / n) is the r-th smallest value (checked in tests/test_kpis.py).
    values = store.query("kpis/gap_order_statistics", {
        **filters.params(), "fractions": fractions,
        "from_days": float(days[first]), "to_days": float(days[last] + 1),
    }, cursor=cursor).iloc[0]["order_statistics"]
    return [float(v) for v in values]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def kpis_from_totals(t: dict[str, Any]) -> dict[str, tuple[float, int, float, float]]:
    """key -> (value, n, ci_low, ci_high) for one window's totals."""
    out: dict[str, tuple[float, int, float, float]] = {}
    buyers, repeaters = int(t["customers_with_orders"]), int(t["repeat_customers"])
    out["repeat_purchase_rate"] = (_ratio(repeaters, buyers), buyers, *wilson_interval(repeaters, buyers))

    n_gaps = int(t["gaps"] or 0)
    median = float(t["median_gap_days"]) if n_gaps else math.nan
    out["median_days_between_orders"] = (median, n_gaps, t["gap_ci_low"], t["gap_ci_high"])

    orders = int(t["orders"])
    aov = _ratio(t["revenue"], orders)
    sd = t["order_value_sd"]
    out["average_order_value"] = (aov, orders, *mean_interval(aov, float(sd) if sd is not None else math.nan, orders))

    out["returning_revenue_share"] = (_ratio(t["returning_revenue"], t["revenue"]), orders, math.nan, math.nan)

    members, active = int(t["loyalty_members"]), int(t["loyalty_members_active_90d"])
    out["active_loyalty_members_90d"] = (_ratio(active, members), members, *wilson_interval(active, members))

    nps = nps_summary(int(t["promoters"]), int(t["passives"]), int(t["detractors"]))
    out["nps"] = (nps.nps, nps.responses, nps.ci_low, nps.ci_high)
    return out


_UNITS = {key: metrics.metric(key).unit for key in KPI_DEFINITIONS}


def overview_kpis(store: Store, filters: Filters, cursor=None) -> list[Kpi]:
    """The Overview KPIs for ``filters`` and the same-length period just before it, when the data covers that
    period (:func:`uncovered_note`); else no previous value, and the note says why."""
    current = kpis_from_totals(window_totals(store, filters, cursor))
    note = uncovered_note(data_range(store, cursor), filters.previous_period(), "the period before")
    if note:
        return [Kpi(key, *current[key][:4], previous_value=math.nan, previous_n=0, unit=_UNITS[key],
                    previous_note=note) for key in KPI_DEFINITIONS]
    previous = kpis_from_totals(window_totals(store, filters.previous_period(), cursor))
    return [
        Kpi(key, *current[key][:4], previous_value=previous[key][0], previous_n=previous[key][1], unit=_UNITS[key])
        for key in KPI_DEFINITIONS
    ]


def uncovered_note(span: DataRange, window: Filters, name: str) -> str:
    """Why ``window`` (a comparison period, called ``name``) is not compared, or "" when the data covers it.

    A window the data starts inside holds only its last days (Online Retail's default year against the 9 days of
    data before it: a repeat rate of 18.8 % over 9 days "rose" to 64.8 % over 365), so it is compared only when
    the first activity is on or before its first day, as for the same period last year."""
    if span.first_order_date is not None and span.first_order_date <= window.start:
        return ""
    if span.first_order_date is None or span.first_order_date > window.end:
        return f"the data does not reach back to {name} ({window.start:%d %b %Y} – {window.end:%d %b %Y})"
    covered = (window.end - span.first_order_date).days + 1
    return (f"the data starts on {span.first_order_date:%d %b %Y}, so {name} ({window.start:%d %b %Y} – "
            f"{window.end:%d %b %Y}) has data for only {covered:,} of its {window.days:,} days")


def aov_by_month(store: Store, filters: Filters, cursor=None) -> pd.DataFrame:
    """Average order value per month with a 95 % t interval (one row per month)."""
    frame = store.query("kpis/aov_by_month", filters.params(), cursor=cursor, inputs=_selected_days(filters))
    frame = frame.sort_values("month", ignore_index=True)  # the file orders its rows, a chained run need not keep it
    bounds = [
        mean_interval(m, sd if sd == sd else math.nan, int(n))
        for m, sd, n in zip(frame["average_order_value"], frame["order_value_sd"], frame["orders"])
    ]
    frame["ci_low"] = [b[0] for b in bounds]
    frame["ci_high"] = [b[1] for b in bounds]
    return frame


@dataclass(frozen=True)
class DataRange:
    first_order_date: date | None
    last_order_date: date | None
    channels: tuple[str, ...]
    segments: tuple[str, ...]


def data_range(store: Store, cursor=None) -> DataRange:
    """Span of purchase dates and the channel/segment choices for the shared filters."""
    row = store.query("kpis/data_range", cursor=cursor).iloc[0]

    def as_tuple(value):
        return () if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else tuple(value)

    return DataRange(
        first_order_date=as_date(row["first_order_date"]),
        last_order_date=as_date(row["last_order_date"]),
        channels=as_tuple(row["channels"]),
        segments=as_tuple(row["segments"]),
    )


def default_filters(range_: DataRange) -> Filters:
    """The last 12 months of data (or all of it when there is less), every channel and segment."""
    if range_.last_order_date is None:
        today = date.today()
        return Filters(start=today.replace(year=today.year - 1), end=today)
    end = range_.last_order_date
    start = max(range_.first_order_date, (pd.Timestamp(end) - pd.DateOffset(years=1) + pd.Timedelta(days=1)).date())
    return Filters(start=start, end=end)


def kpis_as_records(kpis: list[Kpi]) -> list[dict[str, Any]]:
    """Plain records for JSON/CSV output, one per KPI, with label and definition."""
    records = []
    for k in kpis:
        record = asdict(k)
        record = {"metric": record.pop("key"), **record, "label": k.label, "definition": k.definition,
                  # As the Overview shows them (the registry's rounding), so a reader can match the two.
                  "shown_value": metrics.format_value(k.key, k.value),
                  "shown_change": metrics.format_change(k.key, k.change) if k.previous_n else None}
        records.append({key: (None if isinstance(v, float) and math.isnan(v) else v) for key, v in record.items()})
    return records
