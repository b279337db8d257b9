"""RFM scores and segments: a hand calculation on the tiny store, and pandas on the demo data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engagement.filters import Filters
from engagement.value.kpis import data_range, default_filters, window_totals
from engagement.retention.rfm import SEGMENT_DEFINITIONS, SEGMENT_LABELS, customer_scores, rfm_segments


def test_hand_calculated_scores_and_segments(hand_store):
    # Window 2024-12-01 .. 2025-02-09 (end exclusive 2025-02-10) on tests/conftest.py's fixture:
    #   A: o1 2025-01-10 $100, o2 2025-02-09 $50 (o3 is cancelled) -> recency 1 day, 2 orders, $150
    #   B: o4 2025-01-20 $80                                      -> recency 21 days, 1 order, $80
    #   C: o5 2024-12-01 $40, o6 2025-01-31 $60                   -> recency 10 days, 2 orders, $100
    # score = 1 + floor(5 * percent_rank), percent_rank = (rank - 1) / (n - 1), ties share the lowest rank:
    #   recency (larger = worse): B 0 -> 1, C 0.5 -> 3, A 1 -> 5 (capped)
    #   monetary: B 0 -> 1, C 0.5 -> 3, A 1 -> 5
    # frequency on the fixed bands (1 order -> 1, 2 -> 2, 3 -> 3, 4-5 -> 4, 6+ -> 5): B 1, A and C 2
    # segments: A (R5 F2) potential_loyalists, B (R1 F1) hibernating, C (R3 F2) about_to_sleep.
    filters = Filters(start=date(2024, 12, 1), end=date(2025, 2, 9))
    scores = customer_scores(hand_store, filters).set_index("customer_id").sort_index()
    assert scores["recency_days"].tolist() == [1.0, 21.0, 10.0]
    assert scores["orders"].tolist() == [2, 1, 2]
    assert scores["revenue"].tolist() == [150.0, 80.0, 100.0]
    assert scores["r_score"].tolist() == [5, 1, 3]
    assert scores["f_score"].tolist() == [2, 1, 2]
    assert scores["m_score"].tolist() == [5, 1, 3]
    assert scores["segment"].tolist() == ["potential_loyalists", "hibernating", "about_to_sleep"]

    result = rfm_segments(hand_store, filters)
    assert result.customers == 3 and result.revenue == 330.0
    row = result.segments.set_index("segment").loc["potential_loyalists"]
    assert row["customers"] == 1 and row["revenue_share"] == pytest.approx(150 / 330)


def _pandas_scores(orders: pd.DataFrame, end_exclusive: pd.Timestamp) -> pd.DataFrame:
    """The same scoring written independently with pandas ranks."""
    per = orders.groupby("customer_id").agg(last=("ordered_at", "max"), orders=("order_id", "count"),
                                            revenue=("net_revenue", "sum"))
    per["recency_days"] = (end_exclusive - per["last"]).dt.total_seconds() / 86400
    n = len(per)

    def score(values: pd.Series) -> pd.Series:
        percent_rank = (values.rank(method="min") - 1) / (n - 1)
        return np.minimum(5, 1 + np.floor(5 * percent_rank)).astype(int)

    per["r_score"] = score(-per["recency_days"])
    # Frequency: the documented order-count bands, written independently with pd.cut.
    per["f_score"] = pd.cut(per["orders"], [0, 1, 2, 3, 5, np.inf], labels=[1, 2, 3, 4, 5]).astype(int)
    per["m_score"] = score(per["revenue"].astype(float))
    return per


def test_demo_scores_match_pandas_and_segments_add_up(demo_store):
    filters = default_filters(data_range(demo_store))
    params = filters.params()
    orders = demo_store.cursor().execute(
        "SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue FROM order_facts "
        "WHERE ordered_at >= $start AND ordered_at < $end_exclusive",
        {"start": params["start"], "end_exclusive": params["end_exclusive"]},
    ).df()
    expected = _pandas_scores(orders, pd.Timestamp(params["end_exclusive"])).sort_index()
    scores = customer_scores(demo_store, filters).set_index("customer_id").sort_index()
    for column in ("r_score", "f_score", "m_score"):
        np.testing.assert_array_equal(scores[column].to_numpy(), expected[column].to_numpy(), err_msg=column)

    result = rfm_segments(demo_store, filters)
    totals = window_totals(demo_store, filters)
    assert result.customers == totals["customers_with_orders"]
    assert result.revenue == pytest.approx(totals["revenue"])
    assert result.segments["customer_share"].sum() == pytest.approx(1.0)
    assert result.grid["customers"].sum() == result.customers
    assert set(result.segments["segment"]) <= set(SEGMENT_DEFINITIONS)
    assert (result.segments["revenue_per_customer_ci_low"].dropna()
            <= result.segments["revenue_per_customer"][result.segments["revenue_per_customer_ci_low"].notna()]).all()


def test_every_score_pair_has_exactly_one_segment():
    """The R x F map covers all 25 cells; each segment has a label and a definition."""
    import duckdb

    from engagement.sql import read_sql

    sql = read_sql("rfm/customer_scores")
    case = sql[sql.rindex("case", 0, sql.index("end as segment")):sql.index("end as segment") + 3]
    score_cells = pd.DataFrame([(r, f) for r in range(1, 6) for f in range(1, 6)], columns=["r_score", "f_score"])
    connection = duckdb.connect()
    connection.register("score_cells", score_cells)
    named = connection.execute(f"SELECT r_score, f_score, {case} AS segment FROM score_cells").df()
    connection.close()
    assert named["segment"].notna().all() and len(named) == 25
    assert set(named["segment"]) == set(SEGMENT_DEFINITIONS) == set(SEGMENT_LABELS)


def test_segment_chart_and_grid_chart_specs(demo_store):
    from engagement.charts.clv import rfm_grid_chart, rfm_segment_chart

    result = rfm_segments(demo_store, default_filters(data_range(demo_store)))
    spec = rfm_segment_chart(result).to_dict()
    assert spec["encoding"]["x"]["axis"]["format"] == "%"
    grid = rfm_grid_chart(result).to_dict()
    assert grid["layer"][0]["encoding"]["color"]["field"] == "customers"


def test_empty_window_gives_an_empty_result(hand_store):
    result = rfm_segments(hand_store, Filters(start=date(2020, 1, 1), end=date(2020, 1, 31)))
    assert result.customers == 0 and result.segments.empty


@pytest.mark.parametrize("section, horizon, expected, sql_files", [
    # The page's default window and holdout read the stored views (tests/test_stored_views.py); horizon 30 is
    # not the stored CLV and churn horizon, so CLV reads the models fitted at load and forecasts on demand, and
    # churn computes its features on demand.
    ("RFM segments", 30, ["Champions"], ["rfm/score_grid", "rfm/stored_default_scores"]),
    ("CLV forecast", 30, ["Expected purchases, 30 d", "Average P(alive)",
                          "calibration fits and holdout check and forecast fits read from the fit when the data"],
     ["clv/stored_clv_default_model", "clv/stored_history_summary", "clv/bgnbd_groups", "clv/customer_forecast"]),
    # The default horizon: the result fitted at load, read from derived tables.
    ("CLV forecast", 90, ["Expected purchases, 90 d", "Fitted when the data was loaded"],
     ["clv/stored_clv_default_model", "clv/stored_clv_default_forecast_bands", "clv/stored_clv_default_top_customers"]),
    ("Model check (holdout)", 30, ["Predicted holdout purchases", "Forecast error"], ["clv/bgnbd_groups"]),
    ("Model check (holdout)", 90, ["Predicted holdout purchases", "Forecast error"],
     ["clv/stored_clv_default_model", "clv/stored_clv_default_holdout_bins"]),
    # The model's risk is named apart from the Lifecycle stage and the RFM segment called "At risk".
    ("Churn risk", 30, ["Holdout AUC", "Hanley-McNeil", "Likely to churn now (model risk ≥ 50 %)",
                        "Not the same as the Lifecycle stage"], ["churn/churn_features"]),
])
def test_rfm_clv_page_sections_from_a_shared_link(app_env, section, horizon, expected, sql_files):
    """Each section renders with its numbers and sample sizes, "Open as notebook" and "Show SQL" with the SQL
    it ran; section and horizon come from the URL."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.query_params["rfm_clv_horizon"] = str(horizon)
    at.query_params["rfm_clv_section"] = section
    at.run()
    at.switch_page("pages/rfm_clv.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.warning, [w.value for w in at.warning]
    text = " ".join([m.label for m in at.metric] + [c.value for c in at.caption]
                    + [str(d.value.to_dict()) for d in at.dataframe])
    for fragment in expected:
        assert fragment in text, fragment
    assert "n = " in text
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert any(b.label == "Open as notebook" for b in at.get("download_button"))
    show_sql = next(e for e in at.expander if e.label == "Show SQL")
    code = "\n".join(c.value for c in show_sql.code)
    for name in sql_files:
        assert f"engagement/sql/{name}.sql" in code, name


def test_frequency_bands_make_every_segment_reachable_and_ties_equal():
    """Scores of a made-up window: 1,000 customers, most with one order (as in a typical shop), recency and
    revenue spread out. Before, frequency quintiles put every one-order customer on F 1 and two-order ones
    on F 4-5, so "Potential loyalists" and "Need attention" (F 2-3) never appeared."""
    import duckdb

    from engagement.retention.rfm import FREQUENCY_BANDS
    from engagement.sql import read_sql

    rng = np.random.default_rng(42)
    n = 1_000
    orders = np.where(rng.random(n) < 0.6, 1, rng.integers(2, 9, n))
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "recency_days": rng.integers(0, 365, n),
                          "orders": orders, "revenue": rng.gamma(2.0, 50.0, n).round(2),
                          "acquisition_channel": "email", "lifecycle_stage": "active"})
    twins = frame.iloc[:2].copy()  # two identical customers appended
    twins["customer_id"] = ["twin-a", "twin-b"]
    twins[["recency_days", "orders", "revenue"]] = [[30, 3, 120.0], [30, 3, 120.0]]
    frame = pd.concat([frame, twins], ignore_index=True)
    connection = duckdb.connect()
    connection.register("window_customers", frame)
    scores = connection.execute(read_sql("rfm/customer_scores"), {"channels": [], "segments": []}).df()
    connection.close()
    scores = scores.set_index("customer_id")
    assert set(scores["segment"]) == set(SEGMENT_DEFINITIONS)
    assert scores.loc["twin-a", ["r_score", "f_score", "m_score", "segment"]].tolist() == \
        scores.loc["twin-b", ["r_score", "f_score", "m_score", "segment"]].tolist()
    for low, high, score in FREQUENCY_BANDS:  # the SQL implements the documented bands
        in_band = (scores["orders"] >= low) & (scores["orders"] <= (high if high is not None else 10 ** 9))
        assert (scores.loc[in_band, "f_score"] == score).all()
