"""Stored views (derived tables holding a view query's result for a page's default settings) return exactly
what the query computes on demand, and the pages' defaults are the settings they were stored for."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from engagement.retention import clv
from engagement.retention.clv import STORED_SUMMARIES, _summary_params, _summary_rows, observation_window
from engagement.retention.clv_default import fit_clv
from engagement.filters import Filters
from engagement.value.kpis import data_range, default_filters
from engagement.warehouse.query_records import QueryRecord, record_queries
from engagement.retention.rfm import STORED_WINDOW, customer_scores, rfm_segments
from engagement.sql import read_sql
from engagement.derived import STORED_VIEWS
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

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
    """The default window's per-customer sums are stored for every customer, and their scores with every
    customer selected; scoring the sums for a selection (quintiles among the selected customers) and the
    stored scores give exactly the scores computed from the purchases."""
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
        scores_run = queries[0].inputs[0][1]  # what "Show SQL" prints ran
        if chosen is filters:  # every customer: the scores themselves are stored
            assert scores_run.name == "rfm/stored_default_scores" and not scores_run.inputs
        else:
            assert scores_run.inputs[0][1].name == "rfm/stored_default_window_customers"
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
    channels = sorted(data_range(demo_store).channels)
    for calibration in (calibration_end, observation_end):
        assert {**_summary_params(calibration, observation_end, unit, (), ()), "unit_days": 1} in stored_params.values()
        # Every customer, two channels, three stages: the stored summaries narrowed to the selection.
        for chosen_channels, chosen_segments in (((), ()), (tuple(channels[:2]), ()), ((), ("repeat", "vip", "new"))):
            params = _summary_params(calibration, observation_end, unit, chosen_channels, chosen_segments)
            cur = demo_store.cursor()
            relation, summary = _summary_rows(demo_store, params, cur)
            read = summary.inputs[0][1] if chosen_channels or chosen_segments else summary
            assert read.name in STORED_SUMMARIES.values()
            assert summary.runnable  # "Show SQL" chains the narrowing after the stored read
            rows = relation.df()
            computed = _on_demand(demo_store, "clv/customer_summary", params)
            assert len(computed) > 100
            pd.testing.assert_frame_equal(_sorted(rows), _sorted(computed), check_exact=True)


@pytest.mark.parametrize("unit", ["week", "day"])
def test_clv_other_splits_move_the_purchases_between_out_of_the_nearest_stored_summary(demo_store, unit):
    """Another calibration end: the stored summary with the nearest later calibration end (the default split's, or
    the whole history's), the purchase days in between moved to the holdout, gives clv/customer_summary.sql's rows
    for it exactly, for every customer and for a selection."""
    first_day, observation_end = observation_window(demo_store)
    default_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    channels = tuple(sorted(data_range(demo_store).channels)[:2])
    for calibration_end, later in ((default_end - timedelta(days=1), "clv/stored_calibration_summary"),
                                   (default_end - timedelta(days=300), "clv/stored_calibration_summary"),
                                   (first_day + timedelta(days=20), "clv/stored_calibration_summary"),
                                   (default_end + timedelta(days=1), "clv/stored_history_summary"),
                                   (observation_end - timedelta(days=1), "clv/stored_history_summary")):
        for chosen_channels, chosen_segments in (((), ()), (channels, ()), ((), ("repeat", "vip", "at_risk"))):
            params = _summary_params(calibration_end, observation_end, unit, chosen_channels, chosen_segments)
            relation, summary = _summary_rows(demo_store, params, demo_store.cursor())
            assert summary.name == "clv/earlier_summary"
            assert later in [record.name for _, record in summary.chain()]
            assert summary.runnable
            computed = _on_demand(demo_store, "clv/customer_summary", params)
            assert len(computed) > 20 and (computed["holdout_frequency"] > 0).any()
            pd.testing.assert_frame_equal(_sorted(relation.df()), _sorted(computed), check_exact=True,
                                          obj=f"{calibration_end} {chosen_channels} {chosen_segments}")


def test_clv_fit_is_the_same_from_stored_and_on_demand_inputs(demo_store, monkeypatch):
    from engagement.retention.clv import fit_clv_on_demand

    first_day, observation_end = observation_window(demo_store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    # Fitted now on the stored summaries (fit_clv would return the result stored at load).
    stored = fit_clv_on_demand(demo_store, calibration_end, observation_end, "week", 90, (), (), demo_store.cursor())
    assert not stored.fitted_at_load
    # With the stored summaries out of the way, a channel list naming every channel (the same customers, not the
    # stored model's setting) is fitted on inputs computed from the purchases.
    channels = tuple(data_range(demo_store).channels)
    monkeypatch.setattr(clv, "STORED_SUMMARIES", {})
    on_demand = fit_clv(demo_store, calibration_end, "week", 90, channels=channels)
    assert stored.bgnbd.params.tolist() == on_demand.bgnbd.params.tolist()
    assert stored.forward_gamma_gamma.params.tolist() == on_demand.forward_gamma_gamma.params.tolist()
    pd.testing.assert_frame_equal(stored.forecast_bands, on_demand.forecast_bands)
    pd.testing.assert_frame_equal(stored.top_customers, on_demand.top_customers)


def test_clv_page_default_is_the_request_fitted_at_load():
    from pathlib import Path
    import re

    from engagement.retention.clv_default import DEFAULT_HORIZON_DAYS, DEFAULT_UNIT

    page = (Path(__file__).resolve().parents[1] / "pages" / "rfm_clv.py").read_text(encoding="utf-8")
    assert re.search(r'"rfm_clv_horizon", (\d+),', page).group(1) == str(DEFAULT_HORIZON_DAYS)
    assert re.search(r'"rfm_clv_holdout", (\d+),', page).group(1) == str(PAGE_HOLDOUT_DAYS)
    assert re.search(r'"rfm_clv_unit", "(\w+)",', page).group(1) == DEFAULT_UNIT
    assert "max(first_day, observation_end - timedelta(days=int(holdout_days)))" in page
    assert "fit_clv, calibration_end, unit, int(horizon), filters.channels,\n" in page


def _assert_same_clv_result(stored, on_demand) -> None:
    """Field by field, into the fits and the holdout check: scalars equal with the same types, frames equal to the
    last bit with the same dtypes and row order. Not compared: ``fit_seconds`` (the stored result keeps its load's)
    and ``fitted_at_load`` / ``read_from_load`` (which path gave the result)."""
    from dataclasses import fields, is_dataclass

    assert (stored.fitted_at_load or stored.read_from_load) and not on_demand.fitted_at_load
    assert not on_demand.read_from_load
    for field in fields(stored):
        if field.name in ("fit_seconds", "fitted_at_load", "read_from_load"):
            continue
        mine, theirs = getattr(stored, field.name), getattr(on_demand, field.name)
        if is_dataclass(mine):
            assert type(mine) is type(theirs), field.name
            for inner in fields(mine):
                a, b = getattr(mine, inner.name), getattr(theirs, inner.name)
                if isinstance(a, pd.DataFrame):
                    assert len(a) > 0, f"{field.name}.{inner.name}"
                    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{field.name}.{inner.name}")
                else:
                    assert (a, type(a)) == (b, type(b)), f"{field.name}.{inner.name}"
                    if isinstance(a, tuple):
                        assert [type(v) for v in a] == [type(v) for v in b], f"{field.name}.{inner.name}"
        elif isinstance(mine, pd.DataFrame):
            assert len(mine) > 0, field.name
            pd.testing.assert_frame_equal(mine, theirs, check_exact=True, obj=field.name)
        else:
            assert (mine, type(mine)) == (theirs, type(theirs)), field.name


def test_clv_default_reads_the_result_fitted_at_load_and_equals_fitting_on_demand(demo_store, monkeypatch):
    """The page's default request reads the stored result; fitting on demand (inputs computed by
    clv/customer_summary.sql, not read from the stored summaries) gives the same result, field by field."""
    from engagement.retention.clv_default import DEFAULT_HORIZON_DAYS, DEFAULT_UNIT

    first_day, observation_end = observation_window(demo_store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    with record_queries() as queries:
        stored = fit_clv(demo_store, calibration_end, DEFAULT_UNIT, DEFAULT_HORIZON_DAYS)
    names = [q.name for q in queries]
    assert "clv/stored_clv_default_model" in names and "clv/stored_clv_default_top_customers" in names
    assert not any(name in ("clv/customer_summary", "clv/customer_forecast") or name in STORED_SUMMARIES.values()
                   for name in names)
    assert all(q.runnable for q in queries)  # "Show SQL" prints statements that run on their own
    # Naming every channel selects the same customers but is not the stored setting: fitted on demand, here with
    # the stored summaries out of the way, so the inputs are computed from the purchases.
    every_channel = tuple(data_range(demo_store).channels)
    monkeypatch.setattr(clv, "STORED_SUMMARIES", {})
    with record_queries() as queries:
        on_demand = fit_clv(demo_store, calibration_end, DEFAULT_UNIT, DEFAULT_HORIZON_DAYS, channels=every_channel)
    assert [q.name for q in queries].count("clv/customer_summary") == 2
    assert not any(q.name.startswith("clv/stored_") for q in queries)
    _assert_same_clv_result(stored, on_demand)
    assert stored.gamma_gamma is not None and stored.customers > 1000 and stored.top_customers.shape[0] == 100


@pytest.mark.parametrize("request_change, read", [
    ({"horizon_days": 60}, ("calibration fits and holdout check", "forecast fits")),
    ({"holdout_days": 120}, ("forecast fits", "forecast")),
    ({"holdout_days": 300, "horizon_days": 30}, ("forecast fits",)),
])
def test_clv_other_settings_read_the_parts_fitted_at_load_and_equal_fitting_on_demand(demo_store, request_change,
                                                                                       read):
    """Another horizon or calibration end with the default unit and selection: the parts of the result that do not
    depend on the setting changed (the calibration fits and holdout check on the horizon, the forecast's fits on
    either, the forecast on the calibration end) are read from the result stored at load, the rest is computed;
    the result equals fitting everything on demand, field by field."""
    from engagement.retention.clv import fit_clv_on_demand
    from engagement.retention.clv_default import DEFAULT_HORIZON_DAYS, DEFAULT_UNIT

    first_day, observation_end = observation_window(demo_store)
    holdout_days = request_change.get("holdout_days", PAGE_HOLDOUT_DAYS)
    calibration_end = max(first_day, observation_end - timedelta(days=holdout_days))
    horizon = request_change.get("horizon_days", DEFAULT_HORIZON_DAYS)
    with record_queries() as queries:
        result = fit_clv(demo_store, calibration_end, DEFAULT_UNIT, horizon)
    names = [q.name for q in queries]
    assert result.read_from_load == read and not result.fitted_at_load
    assert {"clv/stored_clv_default_model", "clv/stored_clv_default_fits"} <= set(names)
    assert ("clv/stored_clv_default_holdout_bins" in names) == ("calibration fits and holdout check" in read)
    assert ("clv/stored_clv_default_forecast_bands" in names) == ("forecast" in read)
    assert ("clv/customer_forecast" in names) == ("forecast" not in read)
    if "calibration fits and holdout check" not in read:
        assert "clv/gamma_gamma_groups" in names  # the calibration's Gamma-Gamma fit
    assert (result.calibration_end, result.horizon_days) == (calibration_end, horizon)
    on_demand = fit_clv_on_demand(demo_store, calibration_end, observation_end, DEFAULT_UNIT, horizon, (), (),
                                  demo_store.cursor())
    _assert_same_clv_result(result, on_demand)


@pytest.mark.parametrize("request_change", [{"unit": "day"}, {"unit": "day", "horizon_days": 60}])
def test_clv_other_settings_are_fitted_on_demand(demo_store, request_change):
    from engagement.retention.clv_default import DEFAULT_HORIZON_DAYS, DEFAULT_UNIT

    first_day, observation_end = observation_window(demo_store)
    holdout_days = request_change.get("holdout_days", PAGE_HOLDOUT_DAYS)
    calibration_end = max(first_day, observation_end - timedelta(days=holdout_days))
    with record_queries() as queries:
        result = fit_clv(demo_store, calibration_end, request_change.get("unit", DEFAULT_UNIT),
                         request_change.get("horizon_days", DEFAULT_HORIZON_DAYS))
    assert "clv/stored_clv_default_model" not in [q.name for q in queries]
    assert not result.fitted_at_load and not result.read_from_load
    assert (result.calibration_end, result.horizon_days, result.unit) == (
        calibration_end, request_change.get("horizon_days", DEFAULT_HORIZON_DAYS),
        request_change.get("unit", DEFAULT_UNIT))


def test_clv_model_with_other_settings_does_not_read_the_stored_result(demo_store, monkeypatch):
    """A result stored with other model settings (here a longer top list; likewise other code or libraries) is
    not used, and the fingerprint changes, so a writable open refits it."""
    from engagement.retention import clv
    from engagement.retention.clv_default import DEFAULT_HORIZON_DAYS, DEFAULT_UNIT
    from engagement.derived import derived_fingerprint

    first_day, observation_end = observation_window(demo_store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    fingerprint = derived_fingerprint()
    monkeypatch.setattr(clv, "TOP_CUSTOMERS", clv.TOP_CUSTOMERS + 1)
    assert derived_fingerprint() != fingerprint
    with record_queries() as queries:
        result = fit_clv(demo_store, calibration_end, DEFAULT_UNIT, DEFAULT_HORIZON_DAYS)
    assert "clv/stored_clv_default_model" not in [q.name for q in queries]
    assert len(result.top_customers) == clv.TOP_CUSTOMERS


def test_clv_model_that_cannot_be_fitted_at_load_stores_why(tmp_path):
    """No purchases yet: the load succeeds and the stored row keeps the on-demand error."""
    from engagement.retention.clv_default import STORED_MODEL

    store = open_workbench(":memory:", read_only=False)
    store.load_frame("customers", pd.DataFrame({
        "customer_id": ["A"], "created_at": [pd.Timestamp("2025-01-01")], "acquisition_channel": ["referral"]}))
    with pytest.raises(ValueError, match="no purchases") as on_demand:
        fit_clv(store)
    assert store.cursor().execute(f"SELECT problem, groups FROM {STORED_MODEL}").fetchall() == [
        (str(on_demand.value), None)]
    store.close()


def _store_with_orders(tmp_path, name: str) -> Store:
    from engagement.intake.ingest import ingest_demo

    store = open_workbench(tmp_path / f"{name}.duckdb", read_only=False)
    ingest_demo(store, customers=300, seed=3)
    return store


def test_a_failing_default_clv_fit_does_not_block_a_load(monkeypatch, tmp_path):
    """A modelling failure at load time is stored as the default request's problem; the data still loads."""
    from engagement.retention import clv

    def broken(*args, **kwargs):
        raise RuntimeError("solver diverged")

    monkeypatch.setattr(clv, "fit_clv_on_demand", broken)
    store = _store_with_orders(tmp_path, "broken")
    assert store.table_counts()["orders"] > 0
    first_day, observation_end = observation_window(store)
    calibration_end = max(first_day, observation_end - timedelta(days=PAGE_HOLDOUT_DAYS))
    with pytest.raises(ValueError, match="CLV model could not be fitted.*RuntimeError: solver diverged"):
        fit_clv(store, calibration_end, "week", 90)
    store.close()


def test_a_database_error_fitting_the_default_clv_model_keeps_the_load_and_the_previous_fit(monkeypatch, tmp_path):
    """A DuckDB error is not a modelling problem. Issue 20: the fits are refitted after the load commits, so the
    load stays; the refit is rolled back, the previous fit kept, and the error reported (fit_status, a warning)."""
    import duckdb

    from engagement.derived.refits import fit_status
    from engagement.retention import clv

    store = _store_with_orders(tmp_path, "aborted")
    orders_before = store.table_counts()["orders"]
    fit_before = store.cursor().execute("SELECT * FROM clv_default_model").fetchall()

    def broken(*args, **kwargs):
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(clv, "fit_clv_on_demand", broken)
    with pytest.warns(RuntimeWarning, match="disk full"):
        store.load_frame("orders", pd.DataFrame({
            "order_id": ["late-1"], "customer_id": ["late"], "ordered_at": [pd.Timestamp("2030-01-01")],
            "net_revenue": [10.0], "status": ["paid"], "currency": ["USD"]}))
    assert store.table_counts()["orders"] == orders_before + 1
    assert store.cursor().execute("SELECT * FROM clv_default_model").fetchall() == fit_before
    status = fit_status(store)
    assert status.refreshing and "disk full" in status.label()
    store.close()


def _end_of_data(store: Store):
    from datetime import datetime, time

    _, observation_end = observation_window(store)
    return datetime.combine(observation_end + timedelta(days=1), time.min)


def test_churn_default_horizon_reads_the_stored_features(demo_store):
    from engagement.retention.churn import STORED_FEATURES, TRAINING_SAMPLE_CUSTOMERS, _current_features, _training_features

    end_of_data = _end_of_data(demo_store)
    cutoff = end_of_data - timedelta(days=90)
    training = {"cutoff": cutoff, "label_end": end_of_data, "channels": [], "segments": [],
                "sample_customers": TRAINING_SAMPLE_CUSTOMERS}
    assert demo_store.stored_view_params(STORED_FEATURES[0]) == training
    with record_queries() as queries:
        stored = _training_features(demo_store, cutoff, 90, (), (), demo_store.cursor())
    assert [q.name for q in queries] == ["churn/stored_churn_training_features"]
    pd.testing.assert_frame_equal(_sorted(stored), _sorted(_on_demand(demo_store, "churn/churn_features", training)),
                                  check_exact=True)
    current = {"cutoff": end_of_data, "label_end": end_of_data + timedelta(days=90), "channels": [], "segments": [],
               "sample_customers": None}
    assert demo_store.stored_view_params(STORED_FEATURES[1]) == current
    with record_queries() as queries:
        stored = _current_features(demo_store, end_of_data, 90, (), (), demo_store.cursor())
    assert [q.name for q in queries] == ["churn/stored_churn_current_features"]
    assert stored.equals(_on_demand_arrow(demo_store, "churn/churn_features", current))


def _on_demand_arrow(store: Store, query: str, params: dict):
    return store.cursor().sql(read_sql(query), params=params).to_arrow_table()


@pytest.mark.parametrize("horizon_days", [30, 60, 90, 365])
def test_stored_current_churn_features_serve_any_horizon_and_selection(demo_store, horizon_days):
    """Scoring reads the stored current features for every horizon (no purchase lies after the end of the data,
    so the label is the same whatever its window), narrowed to a selection: the rows churn/churn_features.sql
    computes for that horizon and selection, in the same order."""
    from engagement.retention.churn import _current_features

    end_of_data = _end_of_data(demo_store)
    channels = tuple(data_range(demo_store).channels)
    for chosen_channels, chosen_segments in (((), ()), (channels[:2], ()), ((), ("repeat", "vip", "at_risk")),
                                             (channels[1:3], ("new", "repeat"))):
        with record_queries() as queries:
            stored = _current_features(demo_store, end_of_data, horizon_days, chosen_channels, chosen_segments,
                                       demo_store.cursor())
        assert "churn/churn_features" not in [q.name for q in queries]
        computed = _on_demand_arrow(demo_store, "churn/churn_features", {
            "cutoff": end_of_data, "label_end": end_of_data + timedelta(days=horizon_days),
            "channels": list(chosen_channels), "segments": list(chosen_segments), "sample_customers": None})
        assert computed.num_rows > 100
        assert stored.equals(computed)  # every column, its type and the row order


def test_churn_training_sample_is_the_eligible_customers_with_the_smallest_hashes(demo_store):
    """With $sample_customers, churn/churn_features.sql keeps the customers who bought before the cutoff with the
    smallest md5(customer_id) (portable: Spark draws the same sample), and each kept row is that customer's row in the full run (a customer's features
    and label depend on their own history only)."""
    end_of_data = _end_of_data(demo_store)
    params = {"cutoff": end_of_data - timedelta(days=60), "label_end": end_of_data, "channels": [], "segments": []}
    every = _on_demand(demo_store, "churn/churn_features", {**params, "sample_customers": None})
    sample = _on_demand(demo_store, "churn/churn_features", {**params, "sample_customers": 700})
    expected_ids = demo_store.cursor().execute(
        "SELECT customer_id FROM customer_summary WHERE first_order_at < $cutoff "
        "ORDER BY md5(customer_id), customer_id LIMIT 700", {"cutoff": params["cutoff"]}).df()["customer_id"]
    assert len(every) > 2000 and list(sample["customer_id"]) == sorted(expected_ids)
    pd.testing.assert_frame_equal(sample, every[every["customer_id"].isin(expected_ids)].reset_index(drop=True),
                                  check_exact=True)
    # Drawn by id, not by behaviour: the sample's churn share is the whole's, within sampling error
    # (binomial standard error sqrt(p (1 - p) / 700) ~ 0.016 at p = 0.6; 4 of them).
    assert abs(sample["is_churned"].mean() - every["is_churned"].mean()) < 4 * 0.5 / 700 ** 0.5


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
    churn/churn_features.sql, not read from the stored features) gives the same result, field by field."""
    from engagement.retention.churn import fit_churn_model

    with record_queries() as queries:
        stored = fit_churn_model(demo_store, PAGE_HORIZON_DAYS)
    assert "churn/stored_churn_default_model" in [q.name for q in queries]
    assert "churn/churn_features" not in [q.name for q in queries]
    # Naming every channel selects the same customers but is not the stored setting: fitted on demand, the
    # training features computed by churn/churn_features.sql, the current ones narrowed from the stored table
    # (test_stored_current_churn_features_serve_any_horizon_and_selection shows those equal computing them).
    every_channel = tuple(data_range(demo_store).channels)
    with record_queries() as queries:
        on_demand = fit_churn_model(demo_store, PAGE_HORIZON_DAYS, channels=every_channel)
    assert [q.name for q in queries].count("churn/churn_features") == 1
    assert "churn/selected_churn_feature_rows" in [q.name for q in queries]
    assert not any(q.name.startswith("churn/stored_churn_default") for q in queries)
    _assert_same_churn_result(stored, on_demand)
    assert stored.horizon_days == PAGE_HORIZON_DAYS and stored.auc > 0.6


def test_churn_other_horizon_is_fitted_on_demand(demo_store):
    from engagement.retention.churn import fit_churn_model

    with record_queries() as queries:
        result = fit_churn_model(demo_store, 60)
    assert [q.name for q in queries].count("churn/churn_features") == 1  # the training features
    assert "churn/stored_churn_current_features" in [q.name for q in queries]  # scored for any horizon
    assert "churn/stored_churn_default_model" not in [q.name for q in queries]
    assert result.horizon_days == 60
    _, observation_end = observation_window(demo_store)
    assert result.cutoff == observation_end + timedelta(days=1) - timedelta(days=60)


def test_churn_other_horizon_scoring_the_stored_features_equals_computing_them(demo_store, monkeypatch):
    """A database without the stored current features (an older version's, read-only) computes them with
    churn/churn_features.sql for the horizon asked: the same result, field by field."""
    from engagement.retention.churn import STORED_FEATURES, fit_churn_model

    channels = tuple(data_range(demo_store).channels)[:3]
    stored = fit_churn_model(demo_store, 60, channels=channels)
    params = demo_store.stored_view_params
    monkeypatch.setattr(demo_store, "stored_view_params",
                        lambda name, cursor=None: None if name == STORED_FEATURES[1] else params(name, cursor))
    with record_queries() as queries:
        computed = fit_churn_model(demo_store, 60, channels=channels)
    assert [q.name for q in queries].count("churn/churn_features") == 2
    _assert_same_churn_result(stored, computed)


def test_churn_training_sample_size_is_the_stored_one():
    """derived/churn_training_features.sql stores the sample churn.py trains on (else the default fit at load
    would compute its features on demand instead of reading them)."""
    import re

    from engagement.retention.churn import TRAINING_SAMPLE_CUSTOMERS

    stored = re.search(r"(\d+)::bigint as sample_customers", read_sql("derived/churn_training_features")).group(1)
    assert int(stored) == TRAINING_SAMPLE_CUSTOMERS


def test_churn_model_with_other_settings_does_not_read_the_stored_result(demo_store, monkeypatch):
    """A stored result fitted with other model settings is not used (and the fingerprint changes, so a
    writable open refits it)."""
    import engagement.retention.churn as churn
    from engagement.derived import derived_fingerprint

    fingerprint = derived_fingerprint()
    monkeypatch.setattr(churn, "IMPORTANCE_REPEATS", churn.IMPORTANCE_REPEATS + 1)
    assert derived_fingerprint() != fingerprint
    with record_queries() as queries:
        churn.fit_churn_model(demo_store, PAGE_HORIZON_DAYS)
    assert "churn/stored_churn_default_model" not in [q.name for q in queries]


def test_churn_model_that_cannot_be_fitted_at_load_stores_why(hand_store):
    """Four customers: too little history. The stored row keeps the on-demand error, raised for the default."""
    from engagement.retention.churn import STORED_MODEL, _end_of_data, _fit, fit_churn_model

    cur = hand_store.cursor()
    with pytest.raises(ValueError, match="Too little history") as on_demand:
        _fit(hand_store, PAGE_HORIZON_DAYS, _end_of_data(hand_store, cur), (), (), cur)
    row = cur.execute(f"SELECT problem, auc FROM {STORED_MODEL}").fetchall()
    assert row == [(str(on_demand.value), None)]
    with record_queries() as queries, pytest.raises(ValueError) as stored:
        fit_churn_model(hand_store, PAGE_HORIZON_DAYS)
    assert str(stored.value) == str(on_demand.value)
    assert "churn/stored_churn_default_model" in [q.name for q in queries]


def test_engagement_default_window_reads_the_stored_counts_for_any_selection_and_weights(demo_store):
    """The stored counts cover every customer of the default window; a selection, other weights and another
    threshold are applied when scoring, and give what scoring on demand gives."""
    from engagement.value.engagement_score import STORED_COUNTS, EngagementWeights, counts_run
    from engagement.value.engagement_score import customer_scores as engagement_scores

    default = default_filters(data_range(demo_store))
    selection = Filters(default.start, default.end, channels=("paid_social", "referral"), segments=("repeat", "vip"))
    weights = EngagementWeights(orders=2.0, site_visits=0.5, referrals=7.0)
    assert counts_run(demo_store, selection).name == "engagement/stored_default_counts"
    other = Filters(default.start + timedelta(days=1), default.end)  # moved from the stored counts (test below)
    assert counts_run(demo_store, other).name == "engagement/moved_window_counts"

    stored = engagement_scores(demo_store, selection, weights, threshold=4.0)
    # On demand: customer_counts.sql for the window and selection, scored here by hand with the same weights.
    counts = _on_demand(demo_store, "engagement/customer_counts", selection.params())
    score = (counts["orders"] * 2.0 + counts["email_clicks"] + counts["sms_clicks"] + counts["site_visits"] * 0.5
             + counts["reviews"] * 3.0 + counts["referrals"] * 7.0 + counts["community_posts"] * 2.0)
    # Scored rows leave out known_since (kept for moving the counts to another window) and carry revenue as doubles.
    expected = counts.drop(columns="known_since").assign(score=score.astype(float), is_engaged=score >= 4.0)
    assert len(stored) == len(expected) > 100
    pd.testing.assert_frame_equal(_sorted(stored)[list(expected.columns)], _sorted(expected),
                                  check_exact=False, rtol=1e-12, check_dtype=False)
    assert demo_store.stored_view_params(STORED_COUNTS)["channels"] == []


def test_engagement_window_near_the_default_moves_the_stored_counts_and_gets_the_on_demand_rows(demo_store):
    """A window that overlaps the stored default window, ends no later and differs from it by fewer days than it
    lasts: the stored counts moved by the events and purchases of the days in between
    (engagement/moved_window_counts.sql) equal engagement/customer_counts.sql's rows for it, exactly; other
    windows count their own days."""
    from engagement.value.engagement_score import STORED_COUNTS, counts_run
    from engagement.warehouse.query_records import QueryRecord

    stored = demo_store.stored_view_params(STORED_COUNTS)
    default = default_filters(data_range(demo_store))
    assert stored["start"].date() == default.start and stored["end_exclusive"].date() == default.end + timedelta(days=1)
    day = timedelta(days=1)
    near = [Filters(default.start + 14 * day, default.end - 17 * day),  # later start, earlier end
            Filters(default.start - 40 * day, default.end - 3 * day, channels=("paid_social", "referral")),
            Filters(default.start + 1 * day, default.end, segments=("repeat", "vip", "at_risk")),
            Filters(default.start - 100 * day, default.end)]  # earlier start only
    for filters in near:
        run = counts_run(demo_store, filters)
        assert run.name == "engagement/moved_window_counts", filters
        moved = demo_store.cursor().sql(run.statement(), params=run.all_params()).df()
        computed = _on_demand(demo_store, "engagement/customer_counts", filters.params())
        assert len(computed) > 100 and (computed["orders"] > 0).any()
        pd.testing.assert_frame_equal(_sorted(moved), _sorted(computed), check_exact=True, obj=str(filters))
    far = [Filters(default.start - 400 * day, default.start - 35 * day),  # no overlap
           Filters(default.start + 100 * day, default.end + 5 * day),  # ends after the stored window
           Filters(default.start + 150 * day, default.start + 180 * day)]  # short: its own days are fewer
    for filters in far:
        assert counts_run(demo_store, filters) == QueryRecord("engagement/customer_counts", filters.params())
