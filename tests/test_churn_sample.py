"""The churn model's sample size is a setting (ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS; issue 21: "its size is a
parameter"): the fit trains and holds out on that many customers, the md5-smallest ids, and a bad value is refused
with a message naming the setting."""

from __future__ import annotations

import hashlib

import pytest

from engagement.config import churn_sample_customers
from engagement.retention import churn


def test_the_fit_draws_the_configured_number_of_customers_by_md5(demo_store, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS", "700")
    end_of_data = churn._end_of_data(demo_store, demo_store.cursor())
    cutoff = end_of_data - churn.timedelta(days=60)
    frame = churn._training_features(demo_store, cutoff, 60, (), (), demo_store.cursor())
    result = churn.fit_churn_model(demo_store, 60)
    assert len(frame) == 700
    assert result.training_customers + result.holdout_customers == 700  # below the 50,000-row training cap
    buyers = demo_store.cursor().execute(
        "SELECT customer_id FROM customer_summary WHERE first_order_at < $c", {"c": cutoff}).fetchall()
    smallest = sorted((hashlib.md5(c.encode()).hexdigest(), c) for (c,) in buyers)[:700]
    assert len(buyers) > 700 and sorted(frame["customer_id"]) == sorted(c for _, c in smallest)
    assert '"training_sample_customers": 700' in churn.model_settings()


@pytest.mark.parametrize("value", ["many", "0", "-5", "49"])
def test_a_bad_sample_size_is_refused_with_the_settings_name(value, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS", value)
    with pytest.raises(ValueError, match="ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS"):
        churn_sample_customers()


def test_the_default_is_the_stored_sample(monkeypatch):
    monkeypatch.delenv("ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS", raising=False)
    assert churn_sample_customers() == churn.TRAINING_SAMPLE_CUSTOMERS == 100_000
