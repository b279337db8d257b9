"""The leadership summary: the few numbers that matter for a period, what changed, and whether chance explains it.

Each number comes from the Overview's sufficient statistics (``value/kpis.window_totals``) for three windows:
the period, the period of the same length just before it, and the same dates one year earlier. The change's
95 % interval uses the test the project already has for that kind of number:

- shares of customers (repeat purchase rate, active loyalty share): Agresti-Caffo difference of two proportions
  (``voice/survey_scale.proportion_difference``). The loyalty share's two windows largely share their members,
  so they are not independent samples and the interval is wider than a paired one would be (conservative);
- NPS: the difference of two adjusted-Wald estimates (``voice/nps.nps_difference``);
- revenue from returning customers: no interval (the registry says none), so its change is never called
  significant;
- average order value (computed for alert rules, not shown): Welch's t interval of the difference of means;
- the CLV of the base: the model fitted at load on the whole history (``retention/clv_default.fit_clv``), one
  number with no earlier period to compare.

The default comparison is the same period last year when the data reaches back that far (seasonal businesses:
December against November says little), else the period just before; :attr:`LeadershipSummary.comparison`
says which.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from engagement import metrics
from engagement.filters import Filters
from engagement.leadership.targets import Target, targets
from engagement.value.kpis import data_range, kpis_from_totals, uncovered_note, window_totals
from engagement.stats.intervals import two_sided_p, welch_interval
from engagement.voice.nps import nps_difference
from engagement.voice.survey_scale import proportion_difference
from engagement.warehouse.store import Store

# The leadership numbers, in the order the Summary and the digest show them (registry keys).
SUMMARY_METRICS = ("repeat_purchase_rate", "returning_revenue_share", "nps", "active_loyalty_members_90d",
                   "predicted_revenue_90d")
COMPARISONS = {"year": "the same period last year", "previous": "the period before"}
# Every number the summary computes (alert rules may name any of them); the page and the digest show SUMMARY_METRICS.
COMPUTED_METRICS = SUMMARY_METRICS + ("average_order_value", "median_days_between_orders")
LATEST_EXPERIMENTS = 3


@dataclass(frozen=True)
class Change:
    """The number against one comparison window: its value there and the change with its 95 % interval."""

    name: str  # "year" or "previous"
    start: date
    end: date
    value: float
    n: int
    change: float  # value now - value then, in the metric's unit (a share as a fraction)
    ci_low: float
    ci_high: float
    p_value: float
    method: str

    @property
    def label(self) -> str:
        return COMPARISONS[self.name]

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    @property
    def significant(self) -> bool:
        """True when the interval excludes no change (a change without an interval is never significant)."""
        return self.has_interval and (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class SummaryNumber:
    key: str
    value: float
    n: int
    ci_low: float
    ci_high: float
    changes: dict[str, Change] = field(default_factory=dict)  # by comparison name
    target: Target | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return metrics.metric(self.key).label

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.target.is_met(self.value)

    def change(self, name: str) -> Change | None:
        return self.changes.get(name)


@dataclass(frozen=True)
class LeadershipSummary:
    filters: Filters
    comparison: str  # the default comparison: "year" when the data covers last year, else "previous"
    comparison_note: str
    numbers: tuple[SummaryNumber, ...]
    experiments: tuple[dict[str, Any], ...]  # the latest experiments: id, name, end, primary metric, verdict
    data_start: date | None
    data_end: date | None

    def number(self, key: str) -> SummaryNumber:
        return next(n for n in self.numbers if n.key == key)

    @property
    def shown(self) -> tuple[SummaryNumber, ...]:
        """The leadership numbers, in the order the Summary and the digest show them."""
        return tuple(n for n in self.numbers if n.key in SUMMARY_METRICS)

    @property
    def comparison_label(self) -> str:
        return COMPARISONS[self.comparison]


def same_period_last_year(filters: Filters) -> Filters:
    """The same calendar dates one year earlier (29 February becomes the 28th), same customer selection."""
    def back(day: date) -> date:
        return day.replace(year=day.year - 1, day=min(day.day, 28)) if (day.month, day.day) == (2, 29) \
            else day.replace(year=day.year - 1)

    return Filters(start=back(filters.start), end=back(filters.end), channels=filters.channels,
                   segments=filters.segments)


def parse_period(text: str) -> int:
    """A period such as ``30d``, ``6w``, ``3m`` (30 days each) or ``1y`` (365 days) as a number of days.

    >>> parse_period("30d"), parse_period("6w"), parse_period("1y")
    (30, 42, 365)
    """
    match = re.fullmatch(r"\s*(\d+)\s*([dwmy]?)\s*", str(text).lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a period; use e.g. 30d, 6w, 3m or 1y.")
    return int(match.group(1)) * {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}[match.group(2)]


def period_filters(store: Store, days: int, channels: tuple[str, ...] = (), segments: tuple[str, ...] = (),
                   cursor=None) -> Filters:
    """The last ``days`` days of data, ending on the last order date (recency is measured from the data, not
    from today, so a digest of last month's export reads the same next month)."""
    end = data_range(store, cursor).last_order_date or date.today()
    return Filters(start=end - timedelta(days=days - 1), end=end, channels=tuple(channels), segments=tuple(segments))


def _change(key: str, name: str, window: Filters, now: dict, then: dict, now_values, then_values) -> Change:
    value, n = then_values[key][0], then_values[key][1]
    change = now_values[key][0] - value
    low = high = p = math.nan
    method = "none"
    if key in ("repeat_purchase_rate", "active_loyalty_members_90d"):
        success, total = {"repeat_purchase_rate": ("repeat_customers", "customers_with_orders"),
                          "active_loyalty_members_90d": ("loyalty_members_active_90d", "loyalty_members")}[key]
        d = proportion_difference(int(now[success]), int(now[total]), int(then[success]), int(then[total]))
        low, high, p, method = d.ci_low / 100, d.ci_high / 100, d.p_value, "Agresti-Caffo difference of proportions"
    elif key == "nps":
        counts = [tuple(int(t[c]) for c in ("promoters", "passives", "detractors")) for t in (now, then)]
        d = nps_difference(counts[0], counts[1])
        low, high, p, method = d.ci_low, d.ci_high, d.p_value, d.method
    elif key == "average_order_value":
        def variance(t):
            return float(t["order_value_sd"]) ** 2 if t["order_value_sd"] is not None and t["order_value_sd"] == \
                t["order_value_sd"] else math.nan
        _, se, low, high = welch_interval(now_values[key][0], variance(now), int(now["orders"]), value,
                                          variance(then), int(then["orders"]))
        p = two_sided_p(change / se) if se and se == se else math.nan
        method = "Welch t interval of the difference of means"
    return Change(name, window.start, window.end, value, n, change, low, high, p, method)


def leadership_summary(store: Store, filters: Filters, comparison: str = "auto", cursor=None,
                       models: bool = True) -> LeadershipSummary:
    """The leadership numbers for ``filters``' window against the period before and the same period last year.

    ``comparison``: ``auto`` (last year when the data covers it), ``year`` or ``previous``: which change the
    headline and the significance flags lead with. Both changes are always computed when there is data.
    A segment filter selects customers by their stage today, so no change is computed then (see Overview).
    ``models=False`` leaves out the CLV of the base and the experiments (a page that shows neither).
    """
    if comparison not in ("auto", *COMPARISONS):
        raise ValueError(f"comparison must be auto, year or previous, not {comparison!r}.")
    span = data_range(store, cursor)
    windows = {"previous": filters.previous_period(), "year": same_period_last_year(filters)}
    # A window the data starts inside is not compared (value.kpis.uncovered_note): its few days are not like
    # the period's.
    uncovered = {name: uncovered_note(span, window, COMPARISONS[name]) for name, window in windows.items()}
    windows = {name: window for name, window in windows.items() if not uncovered[name]}
    if comparison == "auto":
        comparison = "year" if "year" in windows else "previous"
        note = ("Compared with the same period last year." if "year" in windows else
                "Compared with the period before: the data does not reach back to the same period last year."
                if "previous" in windows else f"Not compared: {uncovered['previous']}.")
    else:
        note = (f"Compared with {COMPARISONS[comparison]}." if comparison in windows
                else f"Not compared: {uncovered[comparison]}.")
    now_totals = window_totals(store, filters, cursor)
    now = kpis_from_totals(now_totals)
    compared = {} if filters.segments else {
        name: (window, window_totals(store, window, cursor)) for name, window in windows.items()}
    if filters.segments:
        note = ("No change is shown: the segment filter selects customers by their stage today, so earlier "
                "periods would describe what they did before they reached it.")
    set_targets = targets(store, cursor)
    numbers = []
    for key in COMPUTED_METRICS:
        if key == "predicted_revenue_90d":
            if models:
                numbers.append(_clv_number(store, filters, set_targets.get(key), cursor))
            continue
        changes = {name: _change(key, name, window, now_totals, totals, now, kpis_from_totals(totals))
                   for name, (window, totals) in compared.items()}
        numbers.append(SummaryNumber(key, *now[key][:4], changes=changes, target=set_targets.get(key)))
    return LeadershipSummary(filters, comparison, note, tuple(numbers), latest_experiments(store, cursor) if models else (),
                             span.first_order_date, span.last_order_date)


def _clv_number(store: Store, filters: Filters, target: Target | None, cursor) -> SummaryNumber:
    from engagement.retention.clv_default import fit_clv

    try:
        result = fit_clv(store, channels=filters.channels, segments=filters.segments, cursor=cursor)
    except (ValueError, RuntimeError) as exc:  # too little history to fit: say so instead of failing the summary
        return SummaryNumber("predicted_revenue_90d", math.nan, 0, math.nan, math.nan, target=target,
                             note=f"Not fitted: {exc}")
    return SummaryNumber("predicted_revenue_90d", result.predicted_revenue, result.customers, math.nan, math.nan,
                         target=target, note=f"BG/NBD and Gamma-Gamma on the whole history to {result.observation_end}.")


def latest_experiments(store: Store, cursor=None, limit: int = LATEST_EXPERIMENTS) -> tuple[dict[str, Any], ...]:
    """The latest experiments (by end date) with their primary metric's verdict (``experiments/catalog``)."""
    from engagement.experiments.catalog import experiments_list

    if not store.has_table("experiment_assignments", cursor):
        return ()
    listing = experiments_list(store, cursor)
    if listing.empty:
        return ()
    listing = listing.sort_values(["end", "experiment_id"], ascending=[False, True]).head(limit)
    return tuple({"experiment_id": r["experiment_id"], "name": r["name"] or r["experiment_id"], "end": r["end"],
                  "primary_metric": r["primary_metric"], "status": r["primary_status"],
                  "srm_status": r["srm_status"], "verdict": r["primary_verdict"]} for _, r in listing.iterrows())


def with_targets(summary: LeadershipSummary, set_targets: dict[str, Target]) -> LeadershipSummary:
    """``summary`` with these targets (the app caches summaries per data version; targets change in between)."""
    return replace(summary, numbers=tuple(replace(n, target=set_targets.get(n.key)) for n in summary.numbers))


# How each change is judged, for the "How this is computed" expanders and the Methodology page.
CHANGE_METHODS = {
    "repeat_purchase_rate": "Change: Agresti-Caffo interval of the difference of two proportions (Agresti & Caffo "
                            "2000).",
    "returning_revenue_share": "Change: no interval (the share of revenue has none), so it is never called "
                               "more than chance.",
    "nps": "Change: adjusted-Wald interval of the difference of two NPS (Lewis & Sauro 2021).",
    "active_loyalty_members_90d": "Change: Agresti-Caffo interval; the two windows largely share their members, so "
                                  "the samples are not independent and the interval is conservative.",
    "predicted_revenue_90d": "No change: one BG/NBD and Gamma-Gamma fit on the whole history (RFM and CLV page).",
    "average_order_value": "Change: Welch t interval of the difference of two means.",
    "median_days_between_orders": "Change: no interval.",
}

