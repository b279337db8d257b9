"""Every view's "Open as notebook" recipe executes: its generated cells run against the demo database.

The Overview's notebook is executed end to end with nbclient in tests/test_notebook_export.py; here the
code cells of the other views' notebooks are run in-process (faster), which proves their arguments turn back
into valid Python and their library calls work. For RFM, CLV and churn the recipes carry the SQL the calls
ran (as the page's do), so their SQL cells run too, and the notebook's results are compared with the page's.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest

from engagement.retention.churn import fit_churn_model
from engagement.retention.clv import observation_window
from engagement.retention.clv_default import fit_clv
from engagement.retention.cohorts import retention_matrix
from engagement.experiments.analysis import ExperimentQuery, experiment_analysis
from engagement.value.roi import roi_report
from engagement.voice.csat import CSAT_SCALE
from engagement.value.engagement_score import DEFAULT_THRESHOLD, EngagementWeights, engagement_view
from engagement.filters import Filters
from engagement.retention.lifecycle import current_stages, default_thresholds, month_end_moments, stage_sizes
from engagement.voice.nps import NPS_SCALE, survey_breakdown
from engagement.notebook.export import LibraryCall, ViewRecipe, notebook_text, sql_text
from engagement.retention.rfm import rfm_segments
from engagement.notebook.sql_safety import run_query
from engagement.warehouse.query_records import record_queries

FILTERS = Filters(start=date(2025, 11, 1), end=date(2026, 10, 31), channels=("referral",))


def _clv_arguments(store, channels=FILTERS.channels):
    """What the page passes by default: a 182-day holdout, weeks, a 90-day horizon, the sidebar's selection
    (with none, the request fitted at load)."""
    first_day, observation_end = observation_window(store)
    return observation_end - timedelta(days=182), "week", 90, channels, FILTERS.segments


def _recipes(store):
    defaults = default_thresholds(store)
    moments = month_end_moments(FILTERS, defaults.as_of)
    return {
        # As pages/rfm_clv.py describes its sections.
        "rfm": [LibraryCall.of(rfm_segments, FILTERS, result_name="rfm", show=("segments", "grid"))],
        "clv": [LibraryCall.of(fit_clv, *_clv_arguments(store), result_name="clv",
                               show=("summary", "parameters", "forecast_bands", "top_customers", "holdout.bins",
                                     "calibration_parameters"))],
        # The page's default (no selection): the result fitted at load, read from derived tables.
        "clv_default": [LibraryCall.of(fit_clv, *_clv_arguments(store, ()), result_name="clv",
                                       show=("summary", "parameters", "forecast_bands", "top_customers",
                                             "holdout.bins", "calibration_parameters"))],
        "churn": [LibraryCall.of(fit_churn_model, 90, FILTERS.channels, FILTERS.segments, result_name="churn",
                                 show=("calibration", "feature_importance", "risk_bands", "at_risk_customers"))],
        # The page's default (no selection): the model fitted at load, read from derived tables.
        "churn_default": [LibraryCall.of(fit_churn_model, 90, (), (), result_name="churn",
                                         show=("calibration", "feature_importance", "risk_bands",
                                               "at_risk_customers"))],
        "cohorts": [LibraryCall.of(retention_matrix, FILTERS, "month", "none", result_name="matrix")],
        "lifecycle": [LibraryCall.of(current_stages, FILTERS, defaults.thresholds, result_name="stages"),
                      LibraryCall.of(stage_sizes, FILTERS, defaults.thresholds, moments, result_name="sizes")],
        "engagement": [LibraryCall.of(engagement_view, FILTERS, EngagementWeights(), DEFAULT_THRESHOLD,
                                      result_name="view")],
        "nps": [LibraryCall.of(survey_breakdown, FILTERS, NPS_SCALE, result_name="overall")],
        "csat": [LibraryCall.of(survey_breakdown, FILTERS, CSAT_SCALE, result_name="overall")],
        "roi": [LibraryCall.of(roi_report, FILTERS, 0.4, "observational", None, 30, 90, None, 1000.0,
                               EngagementWeights(), DEFAULT_THRESHOLD, result_name="report")],
        "experiments": [LibraryCall.of(experiment_analysis, ExperimentQuery("EXP-recs-email"), result_name="analysis")],
    }


def _with_their_sql(store, calls):
    """The calls with the SQL they ran, recorded the way the page's cache records it."""
    recorded = []
    for call in calls:
        with record_queries() as queries:
            call.callable(store, *call.args, **dict(call.kwargs))
        recorded.append(call.with_queries(queries))
    return recorded


def _run_code_cells(notebook: dict, view: str) -> dict:
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            exec(compile("\n".join(lines), f"<{view} notebook>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("view", ["cohorts", "lifecycle", "engagement", "nps", "csat", "roi", "experiments",
                                  "rfm", "clv", "clv_default", "churn", "churn_default"])
def test_view_notebook_cells_run(view, demo_store, demo_db_path):
    calls = _recipes(demo_store)[view]
    if view in ("rfm", "clv", "clv_default", "churn", "churn_default"):
        calls = _with_their_sql(demo_store, calls)
    recipe = ViewRecipe(title=view, calls=tuple(calls), filters=FILTERS)
    notebook = json.loads(notebook_text(recipe, demo_db_path))
    namespace = _run_code_cells(notebook, view)
    for call in calls:
        assert call.result_name in namespace, f"{view}: {call.result_name} was not computed"
    if view in ("rfm", "clv", "clv_default", "churn", "churn_default"):
        sources = ["".join(c["source"]) for c in notebook["cells"]]
        for call in calls:
            assert call.queries, f"{view}: the call recorded no SQL"
            for name in call.show:  # each table the page shows has its own cell
                assert f"{call.result_name}.{name}" in sources
            for query in call.queries:
                assert any(f"engagement/sql/{query.name}.sql" in s for s in sources)
        _same_as_the_page(view, namespace, demo_store)


def _same_as_the_page(view: str, namespace: dict, store) -> None:
    """The notebook's results equal what the page computes with the same arguments."""
    if view == "rfm":
        page = rfm_segments(store, FILTERS)
        notebook = namespace["rfm"]
        assert notebook.customers == page.customers > 0
        # Revenue sums over DOUBLE: the last bits may differ between two runs (DuckDB sums in parallel).
        pd.testing.assert_frame_equal(notebook.segments, page.segments, rtol=1e-9)
        pd.testing.assert_frame_equal(notebook.grid, page.grid, rtol=1e-9)
    elif view in ("clv", "clv_default"):
        page = fit_clv(store, *_clv_arguments(store, FILTERS.channels if view == "clv" else ()))
        notebook = namespace["clv"]
        assert notebook.fitted_at_load == page.fitted_at_load == (view == "clv_default")
        assert notebook.customers == page.customers > 0
        assert notebook.summary["figure"].tolist() == page.summary["figure"].tolist()
        # Maximum-likelihood fits: two runs of the same code on the same data agree to about 1e-6 (the
        # optimiser starts from DOUBLE sums whose last bits vary), so compare to 1e-4.
        for table in ("summary", "parameters", "calibration_parameters", "forecast_bands"):
            pd.testing.assert_frame_equal(getattr(notebook, table), getattr(page, table), rtol=1e-4, obj=table)
        pd.testing.assert_frame_equal(notebook.holdout.bins, page.holdout.bins, rtol=1e-4)
        assert notebook.parameters["parameter"].tolist() == ["r", "alpha", "a", "b", "p", "q", "gamma"]
        top = 10  # the top of the list, where predicted revenues are far apart
        assert notebook.top_customers["customer_id"][:top].tolist() == page.top_customers["customer_id"][:top].tolist()
    else:
        page = fit_churn_model(store, 90, FILTERS.channels if view == "churn" else (), FILTERS.segments)
        notebook = namespace["churn"]
        assert (notebook.auc, notebook.brier_score) == pytest.approx((page.auc, page.brier_score), rel=1e-9)
        pd.testing.assert_frame_equal(notebook.risk_bands, page.risk_bands, rtol=1e-9)


@pytest.mark.parametrize("view", ["rfm", "clv", "engagement", "roi", "lifecycle"])
def test_show_sql_of_chained_queries_runs_in_a_sql_cell(view, demo_store):
    """RFM, CLV, the engagement score, ROI's observational model and the lifecycle stage views chain SQL files
    inside DuckDB. What "Show SQL" prints for each step, pasted into the SQL notebook, runs on its own and gives
    that step's rows; a step that reads a frame computed in Python (the CLV forecast) says so instead."""
    queries = [q for call in _with_their_sql(demo_store, _recipes(demo_store)[view]) for q in call.queries]
    chained = [q for q in queries if q.inputs]
    assert chained, f"{view}: no chained step recorded"
    for query in queries:
        shown = sql_text(query)
        if not query.runnable:  # the top customers' forecast joins predictions computed in Python
            assert query.name == "clv/customer_forecast"
            assert "group_predictions" in shown and "does not run on its own" in shown
            continue
        pasted = run_query(demo_store, shown, max_rows=1_000_000).frame
        expected = demo_store.query(query.name, query.params, inputs=query.inputs)
        # Some steps (the groupings) have no ORDER BY: compare the rows in one order.
        pd.testing.assert_frame_equal(_sorted(pasted), _sorted(expected), check_dtype=False, rtol=1e-9,
                                      obj=query.name)
    if view == "clv":
        from engagement.retention.clv import bgnbd_groups

        # The recorded chain is what the library fitted on: the calibration period's BG/NBD groups.
        calibration_end, unit, _, channels, segments = _clv_arguments(demo_store)
        first = next(q for q in queries if q.name == "clv/bgnbd_groups")
        _, observation_end = observation_window(demo_store)
        library = bgnbd_groups(demo_store, calibration_end, observation_end, unit, channels, segments)
        pd.testing.assert_frame_equal(_sorted(demo_store.query(first.name, first.params, inputs=first.inputs)),
                                      _sorted(library), check_dtype=False, rtol=1e-9)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), ignore_index=True)


def test_show_sql_of_the_clv_default_reads_the_result_stored_at_load(demo_store):
    """The page's default CLV request reads the result fitted at load: "Show SQL" prints the statements that read
    it, each runs on its own in the SQL notebook, and gives the frames of the result the page shows."""
    [call] = _with_their_sql(demo_store, _recipes(demo_store)["clv_default"])
    result = fit_clv(demo_store, *call.args)
    assert result.fitted_at_load
    shown = {query.name: sql_text(query) for query in call.queries}
    assert {"clv/stored_clv_default_model", "clv/stored_clv_default_top_customers",
            "clv/stored_clv_default_forecast_bands", "clv/stored_clv_default_holdout_bins"} <= set(shown)
    frames = {name: run_query(demo_store, text, max_rows=1_000_000).frame for name, text in shown.items()}
    assert frames["clv/stored_clv_default_model"]["problem"].isna().all()
    pd.testing.assert_frame_equal(frames["clv/stored_clv_default_top_customers"], result.top_customers,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(frames["clv/stored_clv_default_forecast_bands"], result.forecast_bands,
                                  check_dtype=False)
