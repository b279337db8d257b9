"""The Engagement page equals a direct computation on the raw rows: pandas on the raw customers, orders, events
and messages (benchmarks/engagement_benchmark.py, the benchmark's reference). Channel engagement reads small
precomputed tables (message_send_days, click_facts, click_purchases, email_open_days), the scores read order_facts
and events; both are checked for windows that start and end inside months, windows inside one month, non-default
weights and the shared filters."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from benchmarks.engagement_benchmark import (
    pandas_channel_engagement, pandas_customer_scores, pandas_engagement_summary,
)
from engagement.value.engagement_score import (
    MAX_CONVERSION_DAYS, EngagementWeights, channel_engagement, customer_scores, engagement_view,
)
from engagement.filters import Filters

WEIGHTS = EngagementWeights(orders=2.0, email_clicks=0.5, sms_clicks=1.5, site_visits=0.3, reviews=4.0,
                            referrals=1.0, community_posts=2.5)
WINDOWS = [
    Filters(start=date(2025, 2, 17), end=date(2026, 1, 9)),  # partial first and last months
    Filters(start=date(2025, 11, 1), end=date(2026, 10, 31)),  # whole months only
    Filters(start=date(2025, 6, 5), end=date(2025, 6, 20), channels=("paid_social", "referral")),  # one month
    Filters(start=date(2025, 3, 20), end=date(2025, 4, 10), segments=("vip", "repeat", "lapsed")),  # no whole month
    # Near the stored default window (the 12 months to 31 Oct 2026): its stored counts, moved by the days in between.
    Filters(start=date(2025, 11, 15), end=date(2026, 10, 14)),
    Filters(start=date(2025, 10, 20), end=date(2026, 9, 30), channels=("paid_social", "email")),
]
COUNTS = ["orders", "email_clicks", "sms_clicks", "site_visits", "reviews", "referrals", "community_posts",
          "email_opens", "sms_delivered", "social_follows"]


@pytest.fixture(scope="module")
def raw(demo_store):
    cur = demo_store.cursor()
    return {
        "customers": cur.execute("SELECT customer_id, created_at, acquisition_channel, lifecycle_stage "
                                 "FROM customer_summary").df(),
        "orders": cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue, status "
                              "FROM orders").df(),
        "events": cur.execute("SELECT customer_id, occurred_at, event_type FROM events").df(),
        "messages": cur.execute("SELECT customer_id, channel, sent_at FROM messages").df(),
    }


def _weights() -> dict[str, float]:
    return {name.removeprefix("w_"): value for name, value in WEIGHTS.params().items()}


@pytest.mark.parametrize("filters", WINDOWS, ids=lambda f: f"{f.start}..{f.end}")
def test_scores_equal_pandas_on_raw_rows(demo_store, raw, filters):
    p = filters.params()
    expected = pandas_customer_scores(raw["customers"], raw["orders"], raw["events"], p["start"],
                                      p["end_exclusive"], _weights(), 6.0, filters.channels, filters.segments)
    got = customer_scores(demo_store, filters, WEIGHTS, 6.0).set_index("customer_id").loc[expected.index]
    assert len(got) == len(expected) > 100
    for column in COUNTS:
        assert (got[column].to_numpy() == expected[column].to_numpy()).all(), column
    for column in ("revenue", "revenue_to_date", "score"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, atol=1e-9, err_msg=column)
    assert (got["is_engaged"].to_numpy() == expected["is_engaged"].to_numpy()).all()
    assert got["is_engaged"].any() and not got["is_engaged"].all()
    assert (got["lifecycle_stage"] == expected["lifecycle_stage"]).all()


@pytest.mark.parametrize("filters", WINDOWS[:2], ids=lambda f: f"{f.start}..{f.end}")
def test_view_aggregates_equal_pandas_on_raw_rows(demo_store, raw, filters):
    p = filters.params()
    scores = pandas_customer_scores(raw["customers"], raw["orders"], raw["events"], p["start"], p["end_exclusive"],
                                    _weights(), 6.0)
    expected = pandas_engagement_summary(scores, _weights(), top=50)
    view = engagement_view(demo_store, filters, WEIGHTS, 6.0, top=50)
    assert view.customers == len(scores) and view.engaged_customers == int(scores["is_engaged"].sum())
    repeat, revenue, ltv = view.comparisons
    engaged = expected["segments"].loc[True]
    assert (repeat.engaged.n, revenue.engaged.n) == (engaged["buyers"], engaged["customers"])
    assert revenue.engaged.value == pytest.approx(engaged["revenue"] / engaged["customers"], rel=1e-9)
    assert ltv.engaged.value == pytest.approx(engaged["revenue_to_date"] / engaged["customers"], rel=1e-9)
    components = view.components.set_index("behaviour")
    for behaviour in COUNTS:
        assert components.loc[behaviour, "occurrences"] == expected["components"].loc[behaviour, "occurrences"]
        assert components.loc[behaviour, "customers"] == expected["components"].loc[behaviour, "customers"]
    distribution = view.distribution.set_index(["bucket_start", "is_engaged"])["customers"]
    assert distribution.sum() == expected["distribution"].sum() == len(scores)
    np.testing.assert_allclose(sorted(distribution.index.get_level_values(0)),
                               sorted(expected["distribution"].index.get_level_values(0)), rtol=1e-9)
    assert list(view.top_customers["customer_id"]) == list(expected["top"]["customer_id"])


@pytest.mark.parametrize("filters", WINDOWS, ids=lambda f: f"{f.start}..{f.end}")
@pytest.mark.parametrize("conversion_days", [1, 11, MAX_CONVERSION_DAYS])
def test_channel_engagement_equals_pandas_on_raw_rows(demo_store, raw, filters, conversion_days):
    p = filters.params()
    expected = pandas_channel_engagement(raw["customers"], raw["orders"], raw["events"], raw["messages"],
                                         p["start"], p["end_exclusive"], conversion_days, filters.channels,
                                         filters.segments)
    got = channel_engagement(demo_store, filters, conversion_days).set_index("channel")
    assert list(got.index) == list(expected.index) and got["clicks"].sum() > 0
    for column in ("sends", "recipients", "clicks", "clickers", "converted_clicks", "orders_after_click"):
        assert (got[column].to_numpy() == expected[column].to_numpy()).all(), column
    np.testing.assert_allclose(got["revenue_after_click"], expected["revenue_after_click"], rtol=1e-9)
    pd.testing.assert_series_equal(got["opens_activity"].astype("float64"), expected["opens_activity"],
                                   check_names=False)


def test_conversion_window_is_bounded_by_the_derived_pairs(demo_store):
    with pytest.raises(ValueError, match="1 to 90 days"):
        channel_engagement(demo_store, WINDOWS[0], MAX_CONVERSION_DAYS + 1)
