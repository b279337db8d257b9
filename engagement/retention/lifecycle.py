"""Lifecycle stages, their movement over time, the purchase funnel and time to a second purchase.

Every customer is in exactly one stage at any moment; the rules (``sql/lifecycle/customer_stages.sql``)
are applied in this order, first match wins:

prospect -> lapsed -> at_risk -> won_back -> vip -> new -> repeat

The thresholds are user settings (:class:`StageThresholds`). The default at-risk cut is the brand's own
80th percentile of days between consecutive purchases (``dataset_facts``), so a coffee brand and a
furniture brand get different cuts. Stages at past moments are computed from the purchases up to that
moment, so stage sizes over time and the transition matrix use the same rules as today's stages.

Example
-------
>>> StageThresholds(at_risk_days=60, lapsed_days=180).vip_top_share
0.1
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pandas as pd

from engagement.filters import Filters
from engagement.stats.intervals import wilson_interval
from engagement.warehouse.query_records import QueryRecord
from engagement.warehouse.store import Store
from engagement.stats.survival import KaplanMeierResult, kaplan_meier

STAGES = ("prospect", "new", "repeat", "vip", "won_back", "at_risk", "lapsed")
STAGE_LABELS = {
    "prospect": "Prospect", "new": "New", "repeat": "Repeat", "vip": "VIP / loyal", "won_back": "Won back",
    "at_risk": "At risk", "lapsed": "Lapsed", "not_yet_known": "Not yet known",
}


@dataclass(frozen=True)
class StageThresholds:
    """The cuts that decide the stages. Days are days since the last purchase."""

    at_risk_days: int
    lapsed_days: int
    vip_top_share: float = 0.10
    vip_tiers: tuple[str, ...] = ("gold",)

    def __post_init__(self) -> None:
        if self.at_risk_days <= 0:
            raise ValueError("The at-risk cut must be at least 1 day.")
        if self.lapsed_days <= self.at_risk_days:
            raise ValueError(f"The lapsed cut ({self.lapsed_days} days) must be longer than the at-risk cut "
                             f"({self.at_risk_days} days).")
        if not 0 < self.vip_top_share < 1:
            raise ValueError("The VIP share must be between 0 and 1 (e.g. 0.1 for the top 10 %).")

    def params(self) -> dict[str, Any]:
        return {"at_risk_days": self.at_risk_days, "lapsed_days": self.lapsed_days,
                "vip_top_share": self.vip_top_share, "vip_tiers": list(self.vip_tiers)}


def stage_definitions(t: StageThresholds) -> dict[str, str]:
    """One sentence per stage, with the thresholds in force (shown on the page and in the CLI)."""
    tiers = " or ".join(t.vip_tiers) if t.vip_tiers else "none"
    return {
        "prospect": "Known (signed up) but has never bought.",
        "new": f"Exactly one purchase, made within the last {t.at_risk_days} days.",
        "repeat": f"Two or more purchases, the last within {t.at_risk_days} days; not VIP.",
        "vip": (f"Bought within {t.at_risk_days} days and either lifetime revenue in the top "
                f"{t.vip_top_share:.0%} of buyers or loyalty tier {tiers}."),
        "won_back": (f"Came back after more than {t.lapsed_days} days without buying, and bought within the "
                     f"last {t.at_risk_days} days."),
        "at_risk": (f"Last purchase {t.at_risk_days + 1}-{t.lapsed_days} days ago: past the brand's usual "
                    "time between purchases."),
        "lapsed": f"No purchase for more than {t.lapsed_days} days.",
    }


@dataclass(frozen=True)
class ThresholdDefaults:
    """The default thresholds and the data they come from."""

    thresholds: StageThresholds
    as_of: datetime | None
    first_order_at: datetime | None
    purchase_gaps: int
    p80_gap_days: float
    median_gap_days: float

    @property
    def explanation(self) -> str:
        if not self.purchase_gaps:
            return "No repeat purchases yet: the default at-risk cut falls back to 90 days."
        floor = ", raised to the 30-day minimum" if self.p80_gap_days < 29.5 else ""
        return (f"Default at-risk cut: {self.thresholds.at_risk_days} days: the 80th percentile of this brand's "
                f"{self.purchase_gaps:,} gaps between consecutive purchases is {self.p80_gap_days:.0f} days"
                f"{floor} (median gap {self.median_gap_days:.0f} days). Default lapsed cut: twice that, at "
                f"least 180 days ({self.thresholds.lapsed_days} days).")


def default_thresholds(store: Store, cursor=None) -> ThresholdDefaults:
    """The brand-adapted default thresholds (see ``sql/derived/dataset_facts.sql``)."""
    row = store.query("lifecycle/default_thresholds", cursor=cursor).iloc[0]

    def number(value, fallback):
        return fallback if value is None or pd.isna(value) else float(value)

    at_risk = int(number(row["at_risk_days"], 90))
    lapsed = max(int(number(row["lapsed_days"], 180)), at_risk + 1)

    def moment(value):
        return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    return ThresholdDefaults(
        thresholds=StageThresholds(at_risk_days=at_risk, lapsed_days=lapsed),
        as_of=moment(row["as_of"]), first_order_at=moment(row["first_order_at"]),
        purchase_gaps=int(row["purchase_gaps"]), p80_gap_days=number(row["p80_gap_days"], math.nan),
        median_gap_days=number(row["median_gap_days"], math.nan),
    )


def _as_of(cur) -> datetime | None:
    """The data's latest activity (``dataset_facts.as_of``): the moment "today" means."""
    rows = cur.execute("SELECT as_of FROM dataset_facts").fetchall()
    return rows[0][0] if rows and rows[0][0] is not None else None


def _staged(store: Store, cur, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run ``sql/lifecycle/<name>.sql`` with the stage rules (``lifecycle/customer_stages.sql``) as the CTE
    ``customer_stages``, recorded for "Show SQL" as one statement that runs on its own."""
    stages = QueryRecord("lifecycle/customer_stages", params)
    return store.query(f"lifecycle/{name}", params, cursor=cur, inputs=(("customer_stages", stages),))


def _stage_params(filters: Filters, thresholds: StageThresholds, moments: tuple[datetime, ...]) -> dict[str, Any]:
    return {"moments": list(moments), "channels": list(filters.channels), "segments": list(filters.segments),
            **thresholds.params()}


def end_of_day(day: date) -> datetime:
    """The last moment of ``day``: a stage "on 31 March" includes that day's purchases."""
    return datetime.combine(day, time.max)


def month_end_moments(filters: Filters, as_of: datetime | None) -> tuple[datetime, ...]:
    """End of every month in the window, plus the window's end (capped at the data's latest activity)."""
    moments = []
    year, month = filters.start.year, filters.start.month
    while date(year, month, 1) <= filters.end:
        last = date(year, month, calendar.monthrange(year, month)[1])
        if last <= filters.end:
            moments.append(end_of_day(last))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    final = end_of_day(filters.end)
    if as_of is not None:
        final = min(final, as_of)
        moments = [m for m in moments if m <= as_of]
    if not moments or moments[-1] < final:
        moments.append(final)
    return tuple(moments)


def transition_days(defaults: ThresholdDefaults) -> list[date]:
    """Days a transition can start or end on: every month end of the data, then its latest activity's day."""
    if defaults.as_of is None or defaults.first_order_at is None:
        return []
    window = Filters(start=defaults.first_order_at.date(), end=defaults.as_of.date())
    return [m.date() for m in month_end_moments(window, defaults.as_of)]


def stage_sizes(store: Store, filters: Filters, thresholds: StageThresholds, moments: tuple[datetime, ...],
                cursor=None) -> pd.DataFrame:
    """Customers per stage at each moment: ``moment_at, lifecycle_stage, customers, share, lifetime_revenue``.

    Every stage appears at every moment (0 when empty); ``share`` is of the customers known at the moment.
    """
    cur = cursor or store.cursor()
    frame = _staged(store, cur, "stage_sizes", _stage_params(filters, thresholds, moments))
    grid = pd.MultiIndex.from_product([pd.to_datetime(list(moments)), list(STAGES)],
                                      names=["moment_at", "lifecycle_stage"])
    frame["moment_at"] = pd.to_datetime(frame["moment_at"])
    frame = frame.set_index(["moment_at", "lifecycle_stage"]).reindex(grid).reset_index()
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["lifetime_revenue"] = frame["lifetime_revenue"].fillna(0.0)
    totals = frame.groupby("moment_at")["customers"].transform("sum")
    frame["share"] = (frame["customers"] / totals.where(totals > 0)).astype("float64")
    frame["stage_label"] = frame["lifecycle_stage"].map(STAGE_LABELS)
    return frame


def current_stages(store: Store, filters: Filters, thresholds: StageThresholds, cursor=None) -> pd.DataFrame:
    """Stage sizes at the data's latest activity, with a 95 % Wilson interval on each share."""
    cur = cursor or store.cursor()
    as_of = _as_of(cur)
    if as_of is None:
        return pd.DataFrame(columns=["lifecycle_stage", "stage_label", "customers", "share", "ci_low", "ci_high"])
    frame = stage_sizes(store, filters, thresholds, (as_of,), cursor=cur)
    total = int(frame["customers"].sum())
    bounds = [wilson_interval(int(c), total) for c in frame["customers"]]
    frame["ci_low"] = [b[0] for b in bounds]
    frame["ci_high"] = [b[1] for b in bounds]
    return frame.drop(columns=["moment_at"])


@dataclass(frozen=True)
class TransitionMatrix:
    """Customers by stage at ``from_at`` (rows) and at ``to_at`` (columns).

    ``frame``: ``from_stage, to_stage, customers, from_customers, share_of_from`` (row share, with a
    95 % Wilson interval ``ci_low, ci_high``).
    """

    from_at: datetime
    to_at: datetime
    frame: pd.DataFrame


def stage_transitions(store: Store, filters: Filters, thresholds: StageThresholds, from_day: date, to_day: date,
                      cursor=None) -> TransitionMatrix:
    """Where the customers of each stage on ``from_day`` are on ``to_day`` (both end of day)."""
    if to_day <= from_day:
        raise ValueError(f"The second date ({to_day}) must be after the first ({from_day}).")
    cur = cursor or store.cursor()
    from_at, to_at = end_of_day(from_day), end_of_day(to_day)
    as_of = _as_of(cur)
    if as_of is not None:
        to_at = min(to_at, as_of)
    params = {**_stage_params(filters, thresholds, (from_at, to_at)), "from_at": from_at, "to_at": to_at}
    frame = _staged(store, cur, "stage_transitions", params)
    frame["customers"] = frame["customers"].astype("int64")
    frame["from_customers"] = frame.groupby("from_stage")["customers"].transform("sum")
    frame["share_of_from"] = frame["customers"] / frame["from_customers"]
    bounds = [wilson_interval(int(c), int(n)) for c, n in zip(frame["customers"], frame["from_customers"])]
    frame["ci_low"] = [b[0] for b in bounds]
    frame["ci_high"] = [b[1] for b in bounds]
    return TransitionMatrix(from_at=from_at, to_at=to_at, frame=frame)


def stage_customers(store: Store, filters: Filters, thresholds: StageThresholds, stage: str,
                    cursor=None) -> pd.DataFrame:
    """The customers in ``stage`` at the data's latest activity, for activation in an e-mail tool."""
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r}; expected one of {', '.join(STAGES)}.")
    cur = cursor or store.cursor()
    as_of = _as_of(cur) or end_of_day(date.today())
    return _staged(store, cur, "stage_customers", {**_stage_params(filters, thresholds, (as_of,)), "stage": stage})


@dataclass(frozen=True)
class FunnelStep:
    """Customers who reached the k-th purchase, and the conversion from the step before."""

    step: str
    customers: int
    previous_customers: int
    conversion: float
    ci_low: float
    ci_high: float
    share_of_first: float


@dataclass(frozen=True)
class PurchaseFunnel:
    steps: tuple[FunnelStep, ...]
    min_tenure_days: int

    def as_frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.steps])


FUNNEL_STEPS = ("1st order", "2nd order", "3rd order", "4th+ order")


def purchase_funnel(store: Store, filters: Filters, min_tenure_days: int = 0, cursor=None) -> PurchaseFunnel:
    """1st -> 2nd -> 3rd -> 4th+ purchase for customers acquired in the window.

    Parameters
    ----------
    min_tenure_days : int
        Keep only customers whose first purchase is at least this many days before the data's latest
        activity, so that recent customers who had no time to come back do not drag the rates down.
    """
    params = {**filters.params(), "min_tenure_days": int(min_tenure_days)}
    row = store.query("lifecycle/purchase_funnel", params, cursor=cursor).iloc[0]
    reached = [int(row[f"reached_{k}"]) for k in range(1, 5)]
    steps = []
    for k, (label, count) in enumerate(zip(FUNNEL_STEPS, reached)):
        previous = reached[k - 1] if k else count
        conversion = count / previous if previous else math.nan
        low, high = wilson_interval(count, previous) if k else (math.nan, math.nan)
        steps.append(FunnelStep(label, count, previous, conversion if k else 1.0 if count else math.nan,
                                low, high, count / reached[0] if reached[0] else math.nan))
    return PurchaseFunnel(steps=tuple(steps), min_tenure_days=int(min_tenure_days))


def time_to_second_purchase(store: Store, filters: Filters, cursor=None) -> KaplanMeierResult:
    """Kaplan-Meier curve of days from the first to the second purchase (customers acquired in the window).

    Customers without a second purchase are censored at the data's latest activity.
    """
    frame = store.query("lifecycle/second_purchase_times", filters.params(), cursor=cursor)
    return kaplan_meier(frame["day"], frame["events"], frame["censored"])
