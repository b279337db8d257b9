"""Overview KPIs against a hand calculation on tests/conftest.py's four-customer fixture."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from engagement.filters import Filters
from engagement.value.kpis import data_range, default_filters, overview_kpis

WINDOW = Filters(start=date(2025, 1, 1), end=date(2025, 3, 31))


@pytest.fixture()
def kpis(hand_store):
    return {k.key: k for k in overview_kpis(hand_store, WINDOW)}


def test_repeat_purchase_rate_by_hand(kpis):
    """Buyers in Q1 2025: A (o1, o2; o3 is cancelled), B (o4), C (o6; o5 is in December).
    Only A bought twice in the window: 1 / 3."""
    k = kpis["repeat_purchase_rate"]
    assert k.n == 3
    assert k.value == pytest.approx(1 / 3)
    # Wilson interval as computed by statsmodels (an outside implementation).
    low, high = proportion_confint(1, 3, alpha=0.05, method="wilson")
    assert (k.ci_low, k.ci_high) == pytest.approx((low, high), abs=1e-9)


def test_median_days_between_orders_by_hand(kpis):
    """Repeat purchases in the window: A's o2 (30 days after o1) and C's o6 (61 days after o5).
    Median of (30, 61) = 45.5."""
    k = kpis["median_days_between_orders"]
    assert k.n == 2
    assert k.value == pytest.approx(45.5)


def test_aov_and_returning_share_by_hand(kpis):
    """Purchases in the window: 100 + 50 + 80 + 60 = 290 over 4 orders, AOV 72.5.
    Returning (2nd or later order): o2 50 + o6 60 = 110; 110 / 290 = 0.37931."""
    assert kpis["average_order_value"].value == pytest.approx(72.5)
    assert kpis["average_order_value"].n == 4
    assert kpis["returning_revenue_share"].value == pytest.approx(110 / 290)


def test_active_loyalty_members_by_hand(kpis):
    """Members A, B, D; purchases in the 90 days before 1 Apr 2025: A and B. 2 / 3."""
    k = kpis["active_loyalty_members_90d"]
    assert k.n == 3
    assert k.value == pytest.approx(2 / 3)


def test_nps_by_hand(kpis):
    """Answers in the window: 10, 9 (promoters), 7 (passive), 3, 0 (detractors); r6 is in December.
    NPS = (2 - 2) / 5 = 0. Adjusted Wald (Rocks 2016): n' = 8, p' = d' = 2.75 / 8 = 0.34375,
    se = sqrt((0.34375 + 0.34375 - 0) / 8) = 0.293151, half width = 1.959964 * 0.293151 = 0.574566."""
    k = kpis["nps"]
    assert k.n == 5
    assert k.value == pytest.approx(0.0)
    assert k.ci_low == pytest.approx(-57.4566, abs=1e-3)
    assert k.ci_high == pytest.approx(57.4566, abs=1e-3)


def test_previous_period_by_hand(hand_store):
    """January 2025 against December 2024, the data's first month (its first activity is o5 on 1 Dec): only C's
    o5, so one buyer, no repeat; one answer (r6, 10)."""
    january = {k.key: k for k in overview_kpis(hand_store, Filters(start=date(2025, 1, 1), end=date(2025, 1, 31)))}
    assert january["repeat_purchase_rate"].previous_note == ""
    assert january["repeat_purchase_rate"].previous_n == 1
    assert january["repeat_purchase_rate"].previous_value == 0.0
    assert january["nps"].previous_value == pytest.approx(100.0)
    assert january["nps"].previous_n == 1


def test_a_period_before_the_data_starts_inside_is_not_compared(kpis):
    """Q1 2025's 90 days before (3 Oct - 31 Dec 2024) hold data on 1-31 Dec only: not compared (the same one
    buyer and one answer would have been set against a quarter)."""
    for k in kpis.values():
        assert k.previous_n == 0 and math.isnan(k.previous_value)
        assert k.previous_note == ("the data starts on 01 Dec 2024, so the period before (03 Oct 2024 – 31 Dec "
                                   "2024) has data for only 31 of its 90 days")


def test_filters_select_customers(hand_store):
    """Only paid_social (A and C): buyers A, C; repeat A -> 1 / 2."""
    filters = Filters(start=WINDOW.start, end=WINDOW.end, channels=("paid_social",))
    k = {k.key: k for k in overview_kpis(hand_store, filters)}["repeat_purchase_rate"]
    assert (k.n, k.value) == (2, 0.5)


def test_empty_window_gives_nan_not_error(hand_store):
    filters = Filters(start=date(2020, 1, 1), end=date(2020, 1, 31))
    k = {k.key: k for k in overview_kpis(hand_store, filters)}
    assert k["repeat_purchase_rate"].n == 0 and math.isnan(k["repeat_purchase_rate"].value)
    assert k["nps"].n == 0


def test_default_filters_cover_last_twelve_months(hand_store):
    range_ = data_range(hand_store)
    assert range_.first_order_date == date(2024, 12, 1)
    # The window spans all activity (issue: a database of surveys alone has a window): the last purchase is
    # 9 Feb (o3 on 1 March is cancelled, not a purchase), the last survey answer 5 March.
    assert range_.last_order_date == date(2025, 3, 5)
    filters = default_filters(range_)
    assert filters.end == date(2025, 3, 5) and filters.start == date(2024, 12, 1)


def exact_median_ranks(n: int) -> tuple[int, int]:
    """The ranks of scipy's distribution-free median interval (``quantile_test`` on the values 1..n, whose
    order statistics are their own ranks): an oracle from outside the project."""
    import numpy as np
    from scipy.stats import quantile_test

    values = np.arange(1, n + 1, dtype=float)
    interval = quantile_test(values, q=float(np.median(values)), p=0.5).confidence_interval(0.95)
    return int(interval.low), int(interval.high)


@pytest.mark.parametrize("n", [6, 10, 11, 20, 25, 50, 51, 100, 101, 1_000, 1_001, 5_000, 12_345])
def test_median_rank_bounds_equal_exact_binomial_order_statistics(n):
    """Against scipy; the former normal approximation was a rank wider at n = 10, 20, 25, 51, 101, 1,001, ..."""
    from engagement.stats.intervals import median_rank_bounds

    assert median_rank_bounds(n) == exact_median_ranks(n)


def test_median_gap_interval_matches_order_statistics_on_raw_rows(demo_store):
    """The interval's bounds are the order statistics at the exact binomial ranks (scipy's quantile_test),
    taken here with numpy from the raw gaps of the window."""
    import numpy as np

    from engagement.value.kpis import window_totals

    filters = default_filters(data_range(demo_store))
    params = filters.params()
    gaps = np.sort(demo_store.cursor().execute(
        "SELECT days_since_previous_order FROM order_facts WHERE order_number > 1 "
        "AND ordered_at >= $start AND ordered_at < $end_exclusive",
        {"start": params["start"], "end_exclusive": params["end_exclusive"]},
    ).df()["days_since_previous_order"].to_numpy())
    totals = window_totals(demo_store, filters)
    lower, upper = exact_median_ranks(len(gaps))
    assert totals["gaps"] == len(gaps)
    assert totals["median_gap_days"] == pytest.approx(np.median(gaps))
    assert (totals["gap_ci_low"], totals["gap_ci_high"]) == (gaps[lower - 1], gaps[upper - 1])


def _pandas_window_totals(store, filters: Filters) -> dict:
    """The same sufficient statistics from the raw ``orders`` and ``surveys`` rows, in pandas: buyers by
    grouping per customer, gaps from a per-customer sort (independent of the SQL's neighbour columns)."""
    import numpy as np

    cur = store.cursor()
    orders = cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue, status "
                         "FROM orders").df()
    customers = cur.execute("SELECT customer_id, acquisition_channel, lifecycle_stage, is_loyalty_member "
                            "FROM customer_summary").df()
    surveys = cur.execute("SELECT customer_id, responded_at, kind, score FROM surveys").df()
    selected = customers
    if filters.channels:
        selected = selected[selected.acquisition_channel.isin(filters.channels)]
    if filters.segments:
        selected = selected[selected.lifecycle_stage.isin(filters.segments)]
    purchases = orders[~orders.status.isin(["refunded", "cancelled"])].sort_values(
        ["customer_id", "ordered_at", "order_id"])
    purchases["rank"] = purchases.groupby("customer_id").cumcount() + 1
    purchases["gap"] = purchases.groupby("customer_id").ordered_at.diff().dt.total_seconds() / 86400
    purchases = purchases[purchases.customer_id.isin(selected.customer_id)]
    p = filters.params()
    start, end = p["start"], p["end_exclusive"]
    window = purchases[(purchases.ordered_at >= start) & (purchases.ordered_at < end)]
    per_customer = window.groupby("customer_id").size()
    gaps = np.sort(window.loc[window["rank"] > 1, "gap"].to_numpy())
    members = selected[selected.is_loyalty_member.fillna(False).astype(bool)]
    recent = purchases[(purchases.ordered_at >= end - pd.Timedelta(days=90)) & (purchases.ordered_at < end)]
    answers = surveys[(surveys.kind == "nps") & (surveys.responded_at >= start) & (surveys.responded_at < end)
                      & surveys.customer_id.isin(selected.customer_id)]
    lower, upper = exact_median_ranks(len(gaps)) if len(gaps) else (None, None)
    return {
        "customers_with_orders": len(per_customer), "repeat_customers": int((per_customer >= 2).sum()),
        "orders": len(window), "revenue": window.net_revenue.sum(),
        "order_value_sd": window.net_revenue.std(ddof=1),
        "returning_revenue": window.loc[window["rank"] > 1, "net_revenue"].sum(),
        "gaps": len(gaps), "median_gap_days": np.median(gaps) if len(gaps) else math.nan,
        "gap_ci_low": gaps[lower - 1] if len(gaps) else math.nan,
        "gap_ci_high": gaps[upper - 1] if len(gaps) else math.nan,
        "loyalty_members": len(members),
        "loyalty_members_active_90d": int(members.customer_id.isin(recent.customer_id).sum()),
        "promoters": int((answers.score >= 9).sum()), "passives": int(answers.score.between(7, 8).sum()),
        "detractors": int((answers.score <= 6).sum()),
    }


@pytest.mark.parametrize("days, channels, segments", [
    (365, (), ()),                                   # the default window
    (30, (), ()),                                    # shorter than the 90 days of the loyalty KPI
    (120, ("paid_social", "referral"), ()),
    (200, (), ("repeat", "vip", "at_risk")),
    (61, ("organic_search",), ("won_back", "repeat")),
])
def test_window_totals_match_pandas_on_raw_rows(demo_store, days, channels, segments):
    """window_totals counts buyers from neighbouring purchase times, sums orders from daily totals and
    selects the gap order statistics through a histogram; pandas does it the plain way on raw rows."""
    from engagement.value.kpis import window_totals

    end = data_range(demo_store).last_order_date
    filters = Filters(start=end - timedelta(days=days - 1), end=end, channels=channels, segments=segments)
    for window in (filters, filters.previous_period()):
        got = window_totals(demo_store, window)
        want = _pandas_window_totals(demo_store, window)
        assert want["gaps"] > 1 and want["customers_with_orders"] > 10  # a case worth comparing
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key


def test_cli_report_kpis_refuses_a_start_after_the_end(demo_db_path, capsys):
    """A plain message and exit 1, not a traceback (as the other reports do)."""
    from engagement.cli import main

    assert main(["report", "kpis", "--db", str(demo_db_path), "--start", "2026-01-01", "--end", "2025-01-01"]) == 1
    assert "before the start date" in capsys.readouterr().err


def test_a_change_that_rounds_to_zero_has_no_arrow(tmp_path, monkeypatch):
    """Two identical two-week periods (one $10 purchase by each of two customers; C's order on 2 January only
    makes the data cover the period before): the AOV's change is "+$0.00", which Streamlit drew with an up arrow,
    as a rise; it is grey and arrowless (direction NONE)."""
    from streamlit.proto.Metric_pb2 import Metric

    from conftest import open_app_page
    from engagement.workbench import open_workbench

    db = tmp_path / "flat.duckdb"
    store = open_workbench(db, read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["c0", "a1", "b1", "a2", "b2"], "customer_id": ["C", "A", "B", "A", "B"],
        "ordered_at": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-01-22", "2025-02-03", "2025-02-14"]),
        "net_revenue": [10.0] * 5, "status": ["paid"] * 5, "currency": ["USD"] * 5}))
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    at = open_app_page("pages/overview.py", {"start": "2025-02-01", "end": "2025-02-14"})
    aov = next(m for m in at.metric if m.label == "Average order value")
    assert aov.delta == "+$0.00" and aov.proto.direction == Metric.MetricDirection.NONE
    assert aov.proto.color == Metric.MetricColor.GRAY
