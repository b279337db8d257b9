"""Stored views (derived tables holding a view query's result for a page's default settings) return exactly
what the query computes on demand, and the pages' defaults are the settings they were stored for."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from engagement.clv import STORED_SUMMARIES, _summary_params, _summary_rows, fit_clv, observation_window
from engagement.filters import Filters
from engagement.kpis import data_range, default_filters
from engagement.query_records import QueryRecord, record_queries
from engagement.rfm import STORED_WINDOW, customer_scores, rfm_segments
from engagement.sql import read_sql
from engagement.store import STORED_VIEWS, Store

PAGE_HOLDOUT_DAYS = 182  # pages/rfm_clv.py's default "Holdout period (days)"


def _on_demand(store: Store, query: str, params: dict) -> pd.DataFrame:
    return store.cursor().sql(read_sql(query), params=params).df()


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id", ignore_index=True)


def test_every_stored_view_equals_its_query_run_on_demand(demo_store):
    for table, query in STORED_VIEWS.items():
        params = demo_store.stored_view_params(table)
        assert params is not None, table
        stored = demo_store.cursor().table(table).df()
        assert len(stored) > 1000, table  # the 5,000-customer demo: not an empty shell
        pd.testing.assert_frame_equal(_sorted(stored), _sorted(_on_demand(demo_store, query, params)),
                                      check_exact=True, obj=table)


def test_rfm_default_window_reads_the_stored_sums_for_any_selection_and_gets_the_on_demand_scores(demo_store):
    """The default window's per-customer sums are stored for every customer; scoring them for a selection
    (quintiles among the selected customers) gives exactly the scores computed from the purchases."""
    filters = default_filters(data_range(demo_store))
    every = filters.params()
    assert demo_store.stored_view_params(STORED_WINDOW) == every
    channels = sorted(demo_store.cursor().execute(
        "SELECT DISTINCT acquisition_channel FROM customer_summary").df()["acquisition_channel"])
    selections = [filters, Filters(filters.start, filters.end, channels=tuple(channels[:2])),
                  Filters(filters.start, filters.end, segments=("repeat", "vip", "at_risk"))]
    for chosen in selections:
        params = chosen.params()
        computed = QueryRecord("rfm/customer_scores", {"channels": params["channels"], "segments": params["segments"]},
                               (("window_customers", QueryRecord("rfm/window_customers", params)),))
        on_demand = demo_store.cursor().execute(computed.statement(), computed.all_params()).df()
        assert len(on_demand) > 100
        pd.testing.assert_frame_equal(_sorted(customer_scores(demo_store, chosen)), _sorted(on_demand), check_exact=True)

        with record_queries() as queries:
            result = rfm_segments(demo_store, chosen)
        assert [q.name for q in queries] == ["rfm/score_grid"]
        window_run = queries[0].inputs[0][1].inputs[0][1]
        assert window_run.name == "rfm/stored_default_window_customers"  # what "Show SQL" prints ran
        assert result.customers == len(on_demand)
        assert result.revenue == pytest.approx(on_demand["revenue"].sum(), rel=1e-12)
    # Another window is not stored: it is computed on demand.
    other = Filters(start=filters.start + timedelta(days=1), end=filters.end)
    with record_queries() as queries:
        assert rfm_segments(demo_store, other).customers <= len(customer_scores(demo_store, filters))
    assert queries[0].inputs[0][1].inputs[0][1].name == "rfm/window_customers"


@pytest.mark.parametrize("unit", ["week", "day"])
def test_clv_page_default_reads_the_stored_summaries_and_gets_the_on_demand_rows(demo_store, unit):
    first_day, observation_end = observation_window(demo_store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    stored_params = {table: demo_store.stored_view_params(table) for table in STORED_SUMMARIES}
    for calibration in (calibration_end, observation_end):
        params = _summary_params(calibration, observation_end, unit, (), ())
        assert {**params, "unit_days": 1} in stored_params.values()
        cur = demo_store.cursor()
        relation, summary = _summary_rows(demo_store, params, cur)
        assert summary.name in STORED_SUMMARIES.values()
        rows = relation.df()
        pd.testing.assert_frame_equal(_sorted(rows), _sorted(_on_demand(demo_store, "clv/customer_summary", params)),
                                      check_exact=True)


def test_clv_fit_is_the_same_from_stored_and_on_demand_inputs(demo_store):
    first_day, observation_end = observation_window(demo_store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    stored = fit_clv(demo_store, calibration_end, "week", 90)
    # A channel list naming every channel selects the same customers but is not the stored setting.
    channels = tuple(data_range(demo_store).channels)
    on_demand = fit_clv(demo_store, calibration_end, "week", 90, channels=channels)
    assert stored.bgnbd.params.tolist() == on_demand.bgnbd.params.tolist()
    assert stored.forward_gamma_gamma.params.tolist() == on_demand.forward_gamma_gamma.params.tolist()
    pd.testing.assert_frame_equal(stored.forecast_bands, on_demand.forecast_bands)
    pd.testing.assert_frame_equal(stored.top_customers, on_demand.top_customers)


def test_churn_default_horizon_reads_the_stored_features(demo_store):
    from datetime import datetime, time

    from engagement.churn import STORED_FEATURES, _features

    _, observation_end = observation_window(demo_store)
    end_of_data = datetime.combine(observation_end + timedelta(days=1), time.min)
    for table, cutoff in zip(STORED_FEATURES, (end_of_data - timedelta(days=90), end_of_data)):
        params = {"cutoff": cutoff, "label_end": cutoff + timedelta(days=90), "channels": [], "segments": []}
        assert demo_store.stored_view_params(table) == params
        pd.testing.assert_frame_equal(_sorted(_features(demo_store, cutoff, 90, (), (), None)),
                                      _sorted(_on_demand(demo_store, "clv/churn_features", params)), check_exact=True)


PAGE_HORIZON_DAYS = 90  # pages/rfm_clv.py's default "Forecast horizon (days)" (checked against the page below)


def _assert_same_churn_result(stored, on_demand) -> None:
    """Field by field: scalars equal, frames equal to the last bit, with the same dtypes and row order."""
    from dataclasses import fields

    for field in fields(stored):
        mine, theirs = getattr(stored, field.name), getattr(on_demand, field.name)
        if isinstance(mine, pd.DataFrame):
            assert len(mine) > 0, field.name
            pd.testing.assert_frame_equal(mine, theirs, check_exact=True, obj=field.name)
        else:
            assert (mine, type(mine)) == (theirs, type(theirs)), field.name


def test_churn_page_default_is_the_horizon_fitted_at_load():
    from pathlib import Path
    import re

    page = (Path(__file__).resolve().parents[1] / "pages" / "rfm_clv.py").read_text(encoding="utf-8")
    assert re.search(r'"rfm_clv_horizon", (\d+),', page).group(1) == str(PAGE_HORIZON_DAYS)
    assert "fit_churn_model, int(horizon), filters.channels, filters.segments" in page


def test_churn_default_reads_the_model_fitted_at_load_and_equals_fitting_on_demand(demo_store):
    """The default request reads the stored result; fitting on demand (features computed by
    clv/churn_features.sql, not read from the stored features) gives the same result, field by field."""
    from engagement.churn import fit_churn_model

    with record_queries() as queries:
        stored = fit_churn_model(demo_store, PAGE_HORIZON_DAYS)
    assert "clv/stored_churn_default_model" in [q.name for q in queries]
    assert "clv/churn_features" not in [q.name for q in queries]
    # Naming every channel selects the same customers but is not the stored setting: fitted on demand.
    every_channel = tuple(data_range(demo_store).channels)
    with record_queries() as queries:
        on_demand = fit_churn_model(demo_store, PAGE_HORIZON_DAYS, channels=every_channel)
    assert [q.name for q in queries].count("clv/churn_features") == 2
    assert not any(q.name.startswith("clv/stored_churn") for q in queries)
    _assert_same_churn_result(stored, on_demand)
    assert stored.horizon_days == PAGE_HORIZON_DAYS and stored.auc > 0.6


def test_churn_other_horizon_is_fitted_on_demand(demo_store):
    from engagement.churn import fit_churn_model

    with record_queries() as queries:
        result = fit_churn_model(demo_store, 60)
    assert [q.name for q in queries].count("clv/churn_features") == 2
    assert "clv/stored_churn_default_model" not in [q.name for q in queries]
    assert result.horizon_days == 60
    _, observation_end = observation_window(demo_store)
    assert result.cutoff == observation_end + timedelta(days=1) - timedelta(days=60)


def test_churn_model_with_other_settings_does_not_read_the_stored_result(demo_store, monkeypatch):
    """A stored result fitted with other model settings is not used (and the fingerprint changes, so a
    writable open refits it)."""
    import engagement.churn as churn
    from engagement.store import derived_fingerprint

    fingerprint = derived_fingerprint()
    monkeypatch.setattr(churn, "IMPORTANCE_REPEATS", churn.IMPORTANCE_REPEATS + 1)
    assert derived_fingerprint() != fingerprint
    with record_queries() as queries:
        churn.fit_churn_model(demo_store, PAGE_HORIZON_DAYS)
    assert "clv/stored_churn_default_model" not in [q.name for q in queries]


def test_churn_model_that_cannot_be_fitted_at_load_stores_why(hand_store):
    """Four customers: too little history. The stored row keeps the on-demand error, raised for the default."""
    from engagement.churn import STORED_MODEL, _end_of_data, _fit, fit_churn_model

    cur = hand_store.cursor()
    with pytest.raises(ValueError, match="Too little history") as on_demand:
        _fit(hand_store, PAGE_HORIZON_DAYS, _end_of_data(hand_store, cur), (), (), cur)
    row = cur.execute(f"SELECT problem, auc FROM {STORED_MODEL}").fetchall()
    assert row == [(str(on_demand.value), None)]
    with record_queries() as queries, pytest.raises(ValueError) as stored:
        fit_churn_model(hand_store, PAGE_HORIZON_DAYS)
    assert str(stored.value) == str(on_demand.value)
    assert "clv/stored_churn_default_model" in [q.name for q in queries]


def test_engagement_default_window_reads_the_stored_counts_for_any_selection_and_weights(demo_store):
    """The stored counts cover every customer of the default window; a selection, other weights and another
    threshold are applied when scoring, and give what scoring on demand gives."""
    from engagement.engagement_score import STORED_COUNTS, EngagementWeights, counts_run
    from engagement.engagement_score import customer_scores as engagement_scores

    default = default_filters(data_range(demo_store))
    selection = Filters(default.start, default.end, channels=("paid_social", "referral"), segments=("repeat", "vip"))
    weights = EngagementWeights(orders=2.0, site_visits=0.5, referrals=7.0)
    assert counts_run(demo_store, selection).name == "engagement/stored_default_counts"
    other = Filters(default.start + timedelta(days=1), default.end)
    assert counts_run(demo_store, other).name == "engagement/customer_counts"

    stored = engagement_scores(demo_store, selection, weights, threshold=4.0)
    # On demand: customer_counts.sql for the window and selection, scored here by hand with the same weights.
    counts = _on_demand(demo_store, "engagement/customer_counts", selection.params())
    score = (counts["orders"] * 2.0 + counts["email_clicks"] + counts["sms_clicks"] + counts["site_visits"] * 0.5
             + counts["reviews"] * 3.0 + counts["referrals"] * 7.0 + counts["community_posts"] * 2.0)
    expected = counts.assign(score=score.astype(float), is_engaged=score >= 4.0)
    assert len(stored) == len(expected) > 100
    pd.testing.assert_frame_equal(_sorted(stored)[list(expected.columns)], _sorted(expected),
                                  check_exact=False, rtol=1e-12, check_dtype=False)
    assert demo_store.stored_view_params(STORED_COUNTS)["channels"] == []
