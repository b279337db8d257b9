"""Churn model: holdout AUC on the demo, calibration table bookkeeping, and the AUC interval."""

from __future__ import annotations

import numpy as np
import pytest

from engagement.churn import calibration_table, fit_churn_model, hanley_mcneil_interval


@pytest.fixture(scope="module")
def churn_result(demo_store):
    return fit_churn_model(demo_store, horizon_days=90)


def test_demo_churn_model_discriminates_and_is_calibrated(churn_result):
    assert churn_result.auc > 0.6
    assert churn_result.auc_ci_low < churn_result.auc < churn_result.auc_ci_high
    # The calibration table covers the holdout exactly once.
    table = churn_result.calibration
    assert table["customers"].sum() == churn_result.holdout_customers
    assert table["churned"].sum() == churn_result.holdout_churned
    assert churn_result.holdout_churned / churn_result.holdout_customers == pytest.approx(churn_result.base_rate)
    # Calibrated enough to trust: per-decile observed rates within 0.15 of the predictions on average.
    assert np.average(np.abs(table["observed_rate"] - table["mean_predicted"]), weights=table["customers"]) < 0.15
    # Better than always predicting the base rate (its Brier score is p (1 - p)).
    assert churn_result.brier_score < churn_result.base_rate * (1 - churn_result.base_rate)
    assert churn_result.risk_bands["customers"].sum() >= churn_result.holdout_customers
    assert (churn_result.at_risk_customers["churn_risk"] >= 0.5).all()


def test_churn_result_pickles_for_the_app_cache(churn_result):
    import pickle

    restored = pickle.loads(pickle.dumps(churn_result))
    assert restored.auc == churn_result.auc
    assert restored.calibration.equals(churn_result.calibration)


def test_auc_agrees_with_a_rank_count_on_the_holdout():
    """roc_auc_score equals the Mann-Whitney share of (churner, stayer) pairs ranked correctly."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(42)
    observed = rng.integers(0, 2, 300)
    predicted = np.clip(observed * 0.3 + rng.normal(0.4, 0.2, 300), 0, 1)
    positives, negatives = predicted[observed == 1], predicted[observed == 0]
    pairs = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    assert roc_auc_score(observed, predicted) == pytest.approx(pairs / (len(positives) * len(negatives)))


def test_hanley_mcneil_interval_by_hand():
    # Hanley & McNeil (1982), eq. 2, written out for A = 0.8 with 50 positives and 50 negatives:
    # Q1 = 0.8 / 1.2 = 0.666667, Q2 = 2 * 0.64 / 1.8 = 0.711111
    # var = (0.8 * 0.2 + 49 * (0.666667 - 0.64) + 49 * (0.711111 - 0.64)) / 2500 = 0.00198044
    # SE = 0.044502; 95 % CI = 0.8 -/+ 1.959964 * 0.044502 = (0.712778, 0.887222)
    low, high = hanley_mcneil_interval(0.8, 50, 50)
    assert low == pytest.approx(0.712778, abs=1e-5)
    assert high == pytest.approx(0.887222, abs=1e-5)


def test_calibration_table_by_hand():
    predicted = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 0.8])
    observed = np.array([0, 0, 1, 0, 1, 1])
    table = calibration_table(predicted, observed, bins=3)
    # Sorted by prediction: (0.1, 0.2) -> 0 churned; (0.3, 0.4) -> 1; (0.8, 0.9) -> 2.
    assert table["customers"].tolist() == [2, 2, 2]
    assert table["churned"].tolist() == [0, 1, 2]
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.35, 0.85])
    assert table["observed_rate"].tolist() == [0.0, 0.5, 1.0]


def test_churn_charts(churn_result):
    from engagement.charts.clv import churn_calibration_chart, feature_importance_chart

    spec = churn_calibration_chart(churn_result).to_dict()
    assert len(spec["layer"]) == 3  # diagonal, intervals, points
    bars = feature_importance_chart(churn_result).to_dict()
    assert bars["encoding"]["x"]["field"] == "auc_drop"


def test_too_long_horizon_is_a_clear_error(hand_store):
    with pytest.raises(ValueError, match="Too little history"):
        fit_churn_model(hand_store, horizon_days=90)


def test_a_failing_default_fit_does_not_block_a_load(monkeypatch, tmp_path):
    """A modelling failure at load time is stored as the default model's problem; the data still loads."""
    from engagement import churn
    from engagement.ingest import ingest_demo
    from engagement.store import Store

    def broken(*args, **kwargs):
        raise RuntimeError("solver diverged")

    monkeypatch.setattr(churn, "_fit", broken)
    store = Store.open(tmp_path / "broken.duckdb", read_only=False)
    ingest_demo(store, customers=300, seed=3)
    assert store.table_counts()["orders"] > 0
    with pytest.raises(ValueError, match="RuntimeError: solver diverged"):
        churn.fit_churn_model(store)
    store.close()
