"""Acquisition cohorts: do customers come back, period after period, and what are they worth over time?

Customers are grouped by the week, month or quarter of their first purchase. For each cohort and each
period since acquisition, ``sql/cohorts/retention_matrix.sql`` (reading the ``cohort_cells`` derived
table) gives counts; this module turns them into rates with intervals.

Right-censoring: a period the cohort has not fully lived through (as of the data's latest activity) is
not mature; its values are missing (blank), never 0 %. Data whose latest activity falls in a period's last
hour (an export through 31 March whose last order came at 23:57) counts as having lived through it. The "all cohorts" row averages the mature cells
only, weighted by cohort size.

Example
-------
>>> from engagement.workbench import open_workbench
>>> from engagement.filters import Filters
>>> from datetime import date
>>> matrix = retention_matrix(open_workbench(":memory:"), Filters(date(2025, 1, 1), date(2025, 12, 31)))
>>> matrix.cells.empty
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from engagement.filters import Filters, as_date
from engagement.stats.intervals import normal_quantile
from engagement.warehouse.store import Store

GRAINS = ("month", "week", "quarter")
SPLITS = {"none": "No split", "channel": "Acquisition channel", "discount": "First-order discount"}

# metric key -> (column, label, unit, definition); the definitions are shown in the app and README.
METRICS: dict[str, tuple[str, str, str, str]] = {
    "customers": (
        "customer_retention", "Customers retained", "share",
        "Share of the cohort's customers who made at least one purchase in period N after their first "
        "purchase's period (period 0 is 100 % by construction). 95 % Wilson interval, n = cohort size.",
    ),
    "revenue": (
        "revenue_retention", "Revenue retention", "share",
        "Net revenue of the cohort in period N divided by its net revenue in period 0 (its acquisition period).",
    ),
    "ltv": (
        "ltv", "Cumulative revenue per customer", "money",
        "Net revenue of the cohort from period 0 up to and including period N, divided by the cohort size "
        "(an observed, not predicted, customer lifetime value curve).",
    ),
}

_PERIOD_WORD = {"month": "month", "week": "week", "quarter": "quarter"}


@dataclass(frozen=True)
class CohortMatrix:
    """A cohort view: one row per cohort and period in ``cells``, the weighted averages in ``averages``.

    Both frames have the columns ``split_value, cohort_start, cohort_label, period_number,
    cohort_customers, is_mature, active_customers, purchases, revenue, cumulative_revenue,
    customer_retention, ci_low, ci_high, revenue_retention, ltv, cohorts``. Immature cells hold NaN.
    """

    grain: str
    split: str
    as_of: datetime | None
    cells: pd.DataFrame
    averages: pd.DataFrame

    @property
    def split_values(self) -> list[str]:
        return sorted(self.cells["split_value"].unique().tolist())


def cohort_label(start: Any, grain: str) -> str:
    """Readable cohort name: ``2025-03`` (month), ``2025-Q1`` (quarter), ``2025-03-03 wk`` (week)."""
    if start is None or (isinstance(start, float) and math.isnan(start)) or pd.isna(start):
        return "All cohorts (weighted)"
    ts = pd.Timestamp(start)
    if grain == "quarter":
        return f"{ts.year}-Q{ts.quarter}"
    if grain == "week":
        return f"{ts:%Y-%m-%d} wk"
    return f"{ts:%Y-%m}"


def _wilson_bounds(successes: pd.Series, n: pd.Series, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson intervals for many cells at once (same formula as ``intervals.wilson_interval``)."""
    z = normal_quantile(0.5 + confidence / 2)
    k, n = successes.to_numpy(dtype="float64"), n.to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half_width = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return np.clip(centre - half_width, 0.0, None), np.clip(centre + half_width, None, 1.0)


def _check(grain: str, split: str) -> None:
    if grain not in GRAINS:
        raise ValueError(f"Unknown cohort grain {grain!r}; expected one of {', '.join(GRAINS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {', '.join(SPLITS)}.")


def retention_matrix(store: Store, filters: Filters, grain: str = "month", split: str = "none",
                     cursor=None) -> CohortMatrix:
    """Cohort retention, revenue retention and cumulative revenue per customer.

    Parameters
    ----------
    store : Store
    filters : Filters
        Cohorts whose first purchase falls in the window (the period containing ``filters.start`` on);
        the channel and segment selections pick the customers.
    grain : {"month", "week", "quarter"}
    split : {"none", "channel", "discount"}
        Split cohorts by acquisition channel or by whether the first order had a discount.

    Returns
    -------
    CohortMatrix
    """
    _check(grain, split)
    cur = cursor or store.cursor()
    frame = store.query("cohorts/retention_matrix", {**filters.params(), "grain": grain, "split": split}, cursor=cur)
    as_of_rows = cur.execute("SELECT as_of FROM dataset_facts").fetchall()
    as_of = as_of_rows[0][0] if as_of_rows else None

    for column in ("cohort_customers", "active_customers", "purchases", "revenue", "cumulative_revenue",
                   "cohort_first_period_revenue", "revenue_retention"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    labels = {start: cohort_label(start, grain) for start in frame["cohort_start"].unique()}
    frame["cohort_label"] = frame["cohort_start"].map(labels).fillna(cohort_label(None, grain))
    frame["customer_retention"] = frame["active_customers"] / frame["cohort_customers"]
    frame["ltv"] = frame["cumulative_revenue"] / frame["cohort_customers"]
    frame["ci_low"], frame["ci_high"] = _wilson_bounds(frame["active_customers"], frame["cohort_customers"])
    frame["cohorts"] = frame["cohorts"].astype("int64")
    columns = ["split_value", "cohort_start", "cohort_label", "period_number", "cohort_customers", "is_mature",
               "active_customers", "purchases", "revenue", "cumulative_revenue", "customer_retention", "ci_low",
               "ci_high", "revenue_retention", "ltv", "cohorts"]
    is_average = frame["cohort_start"].isna()
    return CohortMatrix(
        grain=grain, split=split, as_of=as_of,
        cells=frame.loc[~is_average, columns].reset_index(drop=True),
        averages=frame.loc[is_average, columns].reset_index(drop=True),
    )


def first_purchase_span(store: Store, cursor=None) -> tuple[date | None, date | None]:
    """The first and last day any customer made a first purchase: the span of the cohorts (None, None without
    purchases). A date range outside it holds no cohort (CDNOW's customers all first bought in Q1 1997, and its
    default range is the last 12 months, from July 1997)."""
    row = store.query("cohorts/first_purchase_span", cursor=cursor).iloc[0]
    return as_date(row["first_cohort_day"]), as_date(row["last_cohort_day"])


def before_every_window_note(span: tuple[date | None, date | None], filters: Filters) -> str | None:
    """Why a window holds no cohort when every first purchase came before it (cohorts group customers by their
    first purchase); None otherwise. The caller says how to move the window (the sidebar, or ``--start``)."""
    first, last = span
    if last is None or last >= filters.start:
        return None
    return (f"No customer made a first purchase between {filters.start:%d %b %Y} and {filters.end:%d %b %Y}: the "
            f"first purchases in this data run from {first:%d %b %Y} to {last:%d %b %Y}.")


def matrix_table(matrix: CohortMatrix, metric: str = "customers", split_value: str | None = None) -> pd.DataFrame:
    """The heatmap as a table: one row per cohort (weighted average first), one column per period.

    Immature cells stay empty (NaN). Shares are fractions (0.25 = 25 %).
    """
    column = METRICS[metric][0]
    frames = [matrix.averages, matrix.cells]
    if split_value is not None:
        frames = [f[f["split_value"] == split_value] for f in frames]
    both = pd.concat(frames, ignore_index=True)
    if both.empty:
        return pd.DataFrame(columns=["split_value", "cohort", "cohort_customers"])
    word = _PERIOD_WORD[matrix.grain]
    wide = both.pivot_table(index=["split_value", "cohort_label"], columns="period_number", values=column,
                            aggfunc="first", dropna=False, sort=False)
    wide.columns = [f"{word} {int(p)}" for p in wide.columns]
    sizes = both[both["period_number"] == 0].set_index(["split_value", "cohort_label"])["cohort_customers"]
    wide.insert(0, "cohort_customers", sizes.reindex(wide.index).to_numpy())
    wide = wide.reset_index().rename(columns={"cohort_label": "cohort"})
    return wide if matrix.split != "none" else wide.drop(columns=["split_value"])


def cohort_records(matrix: CohortMatrix, metric: str = "customers") -> list[dict[str, Any]]:
    """Long records for the CLI and CSV: cohort, period, value and the counts behind it.

    The weighted "all cohorts" rows come first, with ``cohort`` = ``"all"``.
    """
    column, _, _, _ = METRICS[metric]
    records = []
    for row in pd.concat([matrix.averages, matrix.cells], ignore_index=True).itertuples(index=False):
        value = getattr(row, column)
        record = {
            "cohort": "all" if pd.isna(row.cohort_start) else pd.Timestamp(row.cohort_start).date().isoformat(),
            "period": int(row.period_number),
            "value": None if value != value else float(value),
            "cohort_size": int(row.cohort_customers),
            "active_customers": None if row.active_customers != row.active_customers else int(row.active_customers),
            "revenue": None if row.revenue != row.revenue else round(float(row.revenue), 2),
            "is_mature": bool(row.is_mature),
            "cohorts_averaged": int(row.cohorts),
        }
        if matrix.split != "none":
            record = {"split": row.split_value, **record}
        if metric == "customers":
            record["ci_low"] = None if row.ci_low != row.ci_low else float(row.ci_low)
            record["ci_high"] = None if row.ci_high != row.ci_high else float(row.ci_high)
        records.append(record)
    return records
