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
from engagement.rfm import STORED_SCORES, customer_scores, rfm_segments
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


def test_rfm_page_default_reads_the_stored_scores_and_gets_the_on_demand_result(demo_store):
    filters = default_filters(data_range(demo_store))
    assert demo_store.stored_view_params(STORED_SCORES) == filters.params()
    on_demand = _on_demand(demo_store, "rfm/customer_scores", filters.params())
    pd.testing.assert_frame_equal(_sorted(customer_scores(demo_store, filters)), _sorted(on_demand), check_exact=True)

    scores = QueryRecord("rfm/customer_scores", filters.params())
    grid = demo_store.query("rfm/score_grid", inputs=(("customer_scores", scores),))
    with record_queries() as queries:
        result = rfm_segments(demo_store, filters)
    assert [q.name for q in queries] == ["rfm/score_grid"]
    assert queries[0].inputs[0][1].name == "rfm/stored_default_scores"  # what "Show SQL" prints ran
    assert result.customers == grid["customers"].sum() == len(on_demand)
    assert result.revenue == pytest.approx(on_demand["revenue"].sum(), rel=1e-12)
    # Another window is not stored: it is computed on demand.
    other = Filters(start=filters.start + timedelta(days=1), end=filters.end)
    assert demo_store.stored_view_params(STORED_SCORES) != other.params()
    assert rfm_segments(demo_store, other).customers <= result.customers


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
