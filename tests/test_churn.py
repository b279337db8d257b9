"""Churn model: holdout AUC on the demo, calibration table bookkeeping, and the AUC interval."""

from __future__ import annotations

import numpy as np
import pytest

from engagement.retention.churn import calibration_table, fit_churn_model
from engagement.stats.auc import hanley_mcneil_interval


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
    from engagement.retention import churn
    from engagement.intake.ingest import ingest_demo
    from engagement.workbench import open_workbench

    def broken(*args, **kwargs):
        raise RuntimeError("solver diverged")

    monkeypatch.setattr(churn, "_fit", broken)
    store = open_workbench(tmp_path / "broken.duckdb", read_only=False)
    ingest_demo(store, customers=300, seed=3)
    assert store.table_counts()["orders"] > 0
    with pytest.raises(ValueError, match="RuntimeError: solver diverged"):
        churn.fit_churn_model(store)
    store.close()


def test_rank_auc_by_hand_and_against_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from engagement.stats.auc import rank_auc

    # Churners scored 0.9, 0.4 and 0.4; stayers 0.4 and 0.1. Of the 3 x 2 pairs: (0.9, .) right twice,
    # each 0.4 churner ties the 0.4 stayer (a half) and beats 0.1: (2 + 2 * 1.5) / 6 = 5 / 6.
    observed = np.array([1, 1, 1, 0, 0])
    predicted = np.array([0.9, 0.4, 0.4, 0.4, 0.1])
    assert rank_auc(observed, predicted) == pytest.approx(5 / 6, abs=1e-15)
    rng = np.random.default_rng(42)
    observed = rng.integers(0, 2, 2_000)
    predicted = np.round(observed * 0.2 + rng.random(2_000), 2)  # rounded: many ties
    assert rank_auc(observed, predicted) == pytest.approx(roc_auc_score(observed, predicted), abs=1e-14)


@pytest.fixture(scope="module")
def small_model():
    """A model with the churn model's settings on 30,000 synthetic rows of 4 features."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from engagement.retention.churn import MODEL_PARAMETERS

    rng = np.random.default_rng(42)
    features = rng.normal(size=(30_000, 4))
    observed = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(size=30_000) > 0).astype(int)
    model = HistGradientBoostingClassifier(**MODEL_PARAMETERS, random_state=42).fit(features, observed)
    return model, features, observed


def test_permutation_importance_is_scikit_learns(small_model):
    """The same shuffles and scores as sklearn.inspection.permutation_importance, only batched."""
    from sklearn.inspection import permutation_importance as scikit_learns

    from engagement.retention.churn import IMPORTANCE_REPEATS, RANDOM_STATE, permutation_importance

    model, features, observed = small_model
    rows, labels = features[:2_000], observed[:2_000]
    auc_drop, auc_drop_sd = permutation_importance(model, rows, labels)
    reference = scikit_learns(model, rows, labels, scoring="roc_auc", n_repeats=IMPORTANCE_REPEATS,
                              random_state=RANDOM_STATE)
    np.testing.assert_allclose(auc_drop, reference.importances_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(auc_drop_sd, reference.importances_std, rtol=0, atol=1e-12)
    assert auc_drop[0] > auc_drop[1] > max(auc_drop[2:]) + 0.01  # the simulated signal, strongest first


def test_risk_predicted_in_blocks_and_threads_is_one_calls_to_the_last_bit(small_model, monkeypatch):
    import pyarrow as pa

    from engagement.retention import churn

    model, features, _ = small_model
    monkeypatch.setattr(churn, "PREDICTION_BLOCK_ROWS", 7_000)  # 5 blocks, the last one short
    expected = model.predict_proba(features)[:, 1]
    assert np.array_equal(churn._predicted_risk(model, features), expected)
    monkeypatch.setattr(churn, "FEATURES", ("a", "b", "c", "d"))
    table = pa.table({name: features[:, number] for number, name in enumerate(churn.FEATURES)})
    assert np.array_equal(churn._predicted_risk(model, table), expected)


def test_at_risk_list_is_the_full_sort_head():
    """Sorting only the customers whose revenue reaches the list gives the list sorting all of them gives,
    ties on revenue broken by id."""
    import pyarrow as pa
    import pandas as pd

    from engagement.retention.churn import AT_RISK_LIST_SIZE, _at_risk_customers

    rng = np.random.default_rng(42)
    customers = 5_000
    current = pa.table({
        "customer_id": [f"C{number:05d}" for number in rng.permutation(customers)],
        "recency_days": rng.random(customers) * 300, "orders": rng.integers(1, 9, customers),
        "revenue": rng.integers(1, 60, customers).astype(float),  # about 80 customers per revenue: ties across the cut
        "email_clicks_90d": rng.integers(0, 5, customers), "messages_90d": rng.integers(0, 9, customers),
    })
    risk = rng.random(customers)
    listed = _at_risk_customers(current, risk, current["revenue"].to_numpy())
    everyone = current.to_pandas()
    everyone.insert(1, "churn_risk", risk)
    expected = everyone[everyone["churn_risk"] >= 0.5].sort_values(
        ["revenue", "customer_id"], ascending=[False, True]).head(AT_RISK_LIST_SIZE).reset_index(drop=True)
    pd.testing.assert_frame_equal(listed, expected, check_exact=True)


def test_a_holdout_of_one_class_is_refused_with_the_reason_not_reported_as_an_auc_of_nan():
    """A brand whose latest order is years after the rest (a gap in its history): every customer of the holdout
    has churned, so the holdout AUC is not defined (0 of 0 pairs); the model is refused as too little history,
    as a one-class training set is, instead of showing "Holdout AUC nan"."""
    import pandas as pd

    from engagement.intake.ingest import ingest_demo
    from engagement.workbench import open_workbench

    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    customer = store.cursor().execute("SELECT min(customer_id) FROM customers").fetchall()[0][0]
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["late"], "customer_id": [customer], "ordered_at": [pd.Timestamp("2031-01-01")],
        "net_revenue": [20.0], "status": ["paid"], "currency": ["USD"]}))
    with pytest.raises(ValueError, match=r"its holdout of \d+ customers .* are all churned; try a shorter horizon"):
        fit_churn_model(store, 90)
    store.close()
