"""Acquisition cohorts against a hand calculation and against pandas on the raw orders."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from engagement.charts import cohorts as cohort_charts
from engagement.retention.cohorts import cohort_records, first_purchase_span, matrix_table, retention_matrix
from engagement.filters import Filters
from engagement.workbench import open_workbench

ALL_TIME = Filters(start=date(2024, 1, 1), end=date(2025, 12, 31))


def cohort_fixture_frames() -> dict[str, pd.DataFrame]:
    """Seven customers, three monthly cohorts; the latest activity (30 Apr 2025) is inside April.

    Jan cohort: J1 (Jan 100, Feb 50, Apr 20), J2 (Jan 80, Feb 40 + Feb 10), J3 (Jan 60), J4 (Jan 30 with a
    discount, Mar 30). Feb cohort: F1 (Feb 200, Mar 100), F2 (Feb 50, Mar 25; a cancelled Mar order of 999).
    Mar cohort: M1 (Mar 70). Apr: A1 (Apr 5 and Apr 30), whose cohort has not completed a month.
    """
    ts = pd.to_datetime
    customers = pd.DataFrame({
        "customer_id": ["J1", "J2", "J3", "J4", "F1", "F2", "M1", "A1"],
        "created_at": ts(["2025-01-05", "2025-01-20", "2025-01-31", "2025-01-15", "2025-02-03", "2025-02-28",
                          "2025-03-10", "2025-04-05"]),
        "acquisition_channel": ["email", "paid_social", "email", "paid_social", "email", "email", "email", "email"],
    })
    rows = [
        ("o1", "J1", "2025-01-05 10:00", 100, 0, "paid"), ("o2", "J1", "2025-02-10", 50, 0, "paid"),
        ("o3", "J1", "2025-04-02", 20, 0, "paid"),
        ("o4", "J2", "2025-01-20", 80, 0, "paid"), ("o5", "J2", "2025-02-01", 40, 0, "paid"),
        ("o6", "J2", "2025-02-20", 10, 0, "fulfilled"),
        ("o7", "J3", "2025-01-31 23:00", 60, 0, "paid"),
        ("o8", "J4", "2025-01-15", 30, 5, "paid"), ("o9", "J4", "2025-03-03", 30, 0, "paid"),
        ("o10", "F1", "2025-02-03", 200, 0, "paid"), ("o11", "F1", "2025-03-15", 100, 0, "paid"),
        ("o12", "F2", "2025-02-28", 50, 0, "paid"), ("o13", "F2", "2025-03-01", 25, 0, "paid"),
        ("o14", "F2", "2025-03-02", 999, 0, "cancelled"),
        ("o15", "M1", "2025-03-10", 70, 0, "paid"),
        ("o16", "A1", "2025-04-05", 40, 0, "paid"), ("o17", "A1", "2025-04-30 12:00", 10, 0, "paid"),
    ]
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "net_revenue", "discount", "status"])
    orders["ordered_at"] = ts(orders["ordered_at"], format="ISO8601")
    orders["net_revenue"] = orders["net_revenue"].astype(float)
    orders["discount"] = orders["discount"].astype(float)
    return {"customers": customers, "orders": orders}


@pytest.fixture(scope="module")
def cohort_store():
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in cohort_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


@pytest.fixture(scope="module")
def monthly(cohort_store):
    return retention_matrix(cohort_store, ALL_TIME, "month")


def _cell(frame, cohort, period, column):
    if cohort is None:
        row = frame[frame["period_number"] == period]
    else:
        row = frame[(frame["cohort_label"] == cohort) & (frame["period_number"] == period)]
    assert len(row) == 1, (cohort, period)
    return row.iloc[0][column]


def test_cohort_sizes_and_active_customers_by_hand(monthly):
    """Jan: 4 customers; Feb: J1, J2 (J2 twice, counted once). Mar: J4. Feb cohort: 2, Mar: F1 and F2
    (F2's cancelled order is not a purchase). Mar cohort: M1. April's cohort has no complete month."""
    cells = monthly.cells
    assert sorted(cells["cohort_label"].unique()) == ["2025-01", "2025-02", "2025-03"]
    assert [_cell(cells, "2025-01", p, "active_customers") for p in (0, 1, 2)] == [4, 2, 1]
    assert [_cell(cells, "2025-02", p, "active_customers") for p in (0, 1)] == [2, 2]
    assert _cell(cells, "2025-01", 0, "cohort_customers") == 4
    assert _cell(cells, "2025-03", 0, "cohort_customers") == 1


def test_cells_not_lived_through_are_blank_not_zero(monthly):
    """As of 30 Apr 12:00 April is not over: Jan's period 3 (J1 bought on 2 Apr!) and Feb's period 2 are
    immature, so they are missing rather than 25 % or 0 %."""
    cells = monthly.cells
    jan_3 = cells[(cells["cohort_label"] == "2025-01") & (cells["period_number"] == 3)]
    assert jan_3.empty or jan_3["customer_retention"].isna().all()
    for cohort, period in (("2025-02", 2), ("2025-03", 1), ("2025-03", 2)):
        row = cells[(cells["cohort_label"] == cohort) & (cells["period_number"] == period)].iloc[0]
        assert not row["is_mature"]
        assert math.isnan(row["customer_retention"]) and math.isnan(row["revenue_retention"])
        assert math.isnan(row["ltv"])
    table = matrix_table(monthly, "customers")
    assert table.loc[table["cohort"] == "2025-02", "month 2"].isna().all()


def test_retention_revenue_and_ltv_by_hand(monthly):
    """Jan revenue: p0 100+80+60+30 = 270, p1 50+40+10 = 100, p2 30. Feb: p0 250, p1 100+25 = 125.
    Retention Jan 2/4, 1/4; Feb 2/2. Revenue retention Jan 100/270, 30/270; Feb 125/250.
    LTV Jan 270/4, 370/4, 400/4; Feb 250/2, 375/2; Mar 70/1."""
    cells = monthly.cells
    assert _cell(cells, "2025-01", 1, "customer_retention") == pytest.approx(0.5)
    assert _cell(cells, "2025-01", 2, "customer_retention") == pytest.approx(0.25)
    assert _cell(cells, "2025-02", 1, "customer_retention") == pytest.approx(1.0)
    assert _cell(cells, "2025-01", 1, "revenue_retention") == pytest.approx(100 / 270)
    assert _cell(cells, "2025-01", 2, "revenue_retention") == pytest.approx(30 / 270)
    assert _cell(cells, "2025-02", 1, "revenue_retention") == pytest.approx(0.5)
    assert [_cell(cells, "2025-01", p, "ltv") for p in (0, 1, 2)] == pytest.approx([67.5, 92.5, 100.0])
    assert [_cell(cells, "2025-02", p, "ltv") for p in (0, 1)] == pytest.approx([125.0, 187.5])
    assert _cell(cells, "2025-03", 0, "ltv") == pytest.approx(70.0)


def test_cross_cohort_average_is_size_weighted_over_mature_cells(monthly):
    """Period 1: Jan (n=4, 50 %) and Feb (n=2, 100 %) are mature, Mar is not:
    (4 * 0.5 + 2 * 1.0) / 6 = 0.6667 (an unweighted mean would give 0.75).
    Period 2: only Jan is mature: 0.25 (counting Feb's unfinished period as 0 would give 1/6).
    Revenue retention p1: (4 * 100/270 + 2 * 0.5) / 6 = 0.413580. LTV p1: (370 + 375) / 6 = 124.1667;
    p0: (270 + 250 + 70) / 7 = 84.2857."""
    averages = monthly.averages
    assert _cell(averages, None, 1, "customer_retention") == pytest.approx(4 / 6)
    assert _cell(averages, None, 1, "cohort_customers") == 6
    assert _cell(averages, None, 1, "cohorts") == 2
    assert _cell(averages, None, 2, "customer_retention") == pytest.approx(0.25)
    assert _cell(averages, None, 2, "cohort_customers") == 4
    assert _cell(averages, None, 1, "revenue_retention") == pytest.approx((4 * 100 / 270 + 2 * 0.5) / 6)
    assert _cell(averages, None, 1, "ltv") == pytest.approx(745 / 6)
    assert _cell(averages, None, 0, "ltv") == pytest.approx(590 / 7)
    # Wilson interval from statsmodels (outside implementation) on the pooled counts 4 of 6.
    low, high = proportion_confint(4, 6, alpha=0.05, method="wilson")
    assert (_cell(averages, None, 1, "ci_low"), _cell(averages, None, 1, "ci_high")) == pytest.approx((low, high))


def test_quarter_grain_censors_the_unfinished_quarter(cohort_store):
    """Q1 2025 holds the seven Jan-Mar customers; Q2 is not over, so only period 0 is mature.
    Q1 revenue of the Q1 cohort: J1 150 + J2 130 + J3 60 + J4 60 + F1 300 + F2 75 + M1 70 = 845; LTV 845 / 7."""
    matrix = retention_matrix(cohort_store, ALL_TIME, "quarter")
    mature = matrix.cells[matrix.cells["is_mature"]]
    assert mature["cohort_label"].tolist() == ["2025-Q1"] and mature["period_number"].tolist() == [0]
    assert mature.iloc[0]["cohort_customers"] == 7
    assert mature.iloc[0]["ltv"] == pytest.approx(845 / 7)


def test_weekly_cohorts_keep_every_customer(cohort_store):
    """Every buyer falls in exactly one weekly cohort; weeks run Monday to Sunday (ISO). A1's first order
    (Sat 5 Apr) is in the week of Mon 31 Mar, which is over by 30 Apr: all 8 buyers are counted."""
    matrix = retention_matrix(cohort_store, ALL_TIME, "week")
    sizes = matrix.cells[matrix.cells["period_number"] == 0]
    assert sizes["cohort_customers"].sum() == 8
    j1_week = sizes[sizes["cohort_label"] == "2024-12-30 wk"]  # 5 Jan 2025 is a Sunday: week of 30 Dec
    assert j1_week["cohort_customers"].tolist() == [1]


def test_split_by_first_order_discount(cohort_store):
    """Only J4's first order had a discount: a Jan cohort of one who came back in period 2, not period 1."""
    matrix = retention_matrix(cohort_store, ALL_TIME, "month", split="discount")
    discounted = matrix.cells[matrix.cells["split_value"] == "discounted first order"]
    assert discounted["cohort_label"].unique().tolist() == ["2025-01"]
    assert [_cell(discounted, "2025-01", p, "active_customers") for p in (0, 1, 2)] == [1, 0, 1]
    full_price = matrix.averages[matrix.averages["split_value"] == "full-price first order"]
    assert _cell(full_price, None, 0, "cohort_customers") == 6


def test_channel_filter_and_window_select_cohorts(cohort_store):
    """paid_social: J2 and J4 only. A window starting in February drops the January cohort."""
    paid = retention_matrix(cohort_store, Filters(ALL_TIME.start, ALL_TIME.end, channels=("paid_social",)))
    assert _cell(paid.cells, "2025-01", 0, "cohort_customers") == 2
    assert _cell(paid.cells, "2025-01", 1, "customer_retention") == pytest.approx(0.5)  # J2 in Feb
    later = retention_matrix(cohort_store, Filters(date(2025, 2, 10), date(2025, 12, 31)))
    assert sorted(later.cells["cohort_label"].unique()) == ["2025-02", "2025-03"]


def test_records_and_chart_carry_counts(monthly):
    records = cohort_records(monthly, "customers")
    first = records[0]
    assert first["cohort"] == "all" and first["period"] == 0 and first["cohort_size"] == 7
    feb_2 = [r for r in records if r["cohort"] == "2025-02-01" and r["period"] == 2]
    assert feb_2 and feb_2[0]["value"] is None and feb_2[0]["is_mature"] is False
    assert feb_2[0]["cohort_size"] == 2
    spec = cohort_charts.retention_heatmap(monthly, "customers").to_dict()
    layer = spec["layer"][0]
    titles = [t["title"] for t in layer["encoding"]["tooltip"]]
    assert "Customers who bought" in titles and "Cohort size" in titles
    data = spec["datasets"][spec["data"]["name"]] if "data" in spec else next(iter(spec["datasets"].values()))
    assert all(row["is_mature"] for row in data)  # immature cells are not drawn at all


def test_unknown_grain_is_refused(cohort_store):
    with pytest.raises(ValueError, match="grain"):
        retention_matrix(cohort_store, ALL_TIME, "day")


@pytest.mark.parametrize("grain", ["month", "week", "quarter"])
def test_demo_matrix_matches_pandas_on_raw_orders(demo_store, grain):
    """The SQL matrix equals an independent pandas computation from the raw orders (benchmarks module)."""
    from benchmarks.views_benchmark import pandas_retention_matrix

    filters = Filters(date(2024, 10, 1), date(2026, 10, 31))  # from before the first order: every cohort
    cur = demo_store.cursor()
    orders = cur.execute("SELECT customer_id, ordered_at, net_revenue::double AS net_revenue, status FROM orders").df()
    as_of = cur.execute("SELECT as_of FROM dataset_facts").fetchall()[0][0]
    expected = pandas_retention_matrix(orders, as_of, grain)
    got = retention_matrix(demo_store, filters, grain).cells
    got = got[got["is_mature"]].assign(cohort_start=lambda f: pd.to_datetime(f["cohort_start"]))
    got = got.set_index(["cohort_start", "period_number"])
    expected = expected.set_index(["cohort_start", "period_number"])
    assert len(got) == len(expected) and set(got.index) == set(expected.index)
    expected = expected.reindex(got.index)
    assert (got["active_customers"].to_numpy() == expected["active_customers"].to_numpy()).all()
    assert got["revenue"].to_numpy() == pytest.approx(expected["revenue"].to_numpy())
    assert got["cohort_customers"].to_numpy() == pytest.approx(expected["cohort_customers"].to_numpy())


def test_demo_seasonality_shows_in_cohort_sizes(demo_store):
    """Planted truth: sign-ups peak in November and December, so those cohorts are the biggest."""
    matrix = retention_matrix(demo_store, Filters(date(2024, 11, 1), date(2026, 10, 31)), "month")
    sizes = matrix.cells[matrix.cells["period_number"] == 0].set_index("cohort_label")["cohort_customers"]
    peak = sizes[[label for label in sizes.index if label.endswith(("-11", "-12"))]]
    others = sizes[[label for label in sizes.index if not label.endswith(("-11", "-12"))]]
    assert peak.mean() > 1.3 * others.median()


def test_cohort_page_takes_its_controls_from_the_url(app_env):
    """A shared link reopens the same cohort view: grain, metric and split come from the query string."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params.update({"cohorts_grain": "quarter", "cohorts_metric": "ltv", "cohorts_split": "discount"})
    at.run()
    at.switch_page("pages/cohorts.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.radio(key="cohorts_grain").value == "quarter"
    assert at.radio(key="cohorts_metric").value == "ltv"
    assert at.selectbox(key="cohorts_split").value == "discount"
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) >= 3  # heatmap, split, LTV


def test_cli_report_cohorts(demo_db_path, capsys):
    """`report cohorts` prints cohort, period, value and cohort size; immature cells are null."""
    import json

    from engagement.cli import main

    assert main(["report", "cohorts", "--db", str(demo_db_path), "--grain", "quarter", "--metric", "ltv",
                 "--start", "2024-11-01", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["grain"] == "quarter" and payload["metric"] == "ltv"
    cell = payload["cells"][0]
    assert {"cohort", "period", "value", "cohort_size"} <= set(cell) and cell["cohort"] == "all"
    assert any(c["value"] is None and not c["is_mature"] for c in payload["cells"])
    assert main(["report", "cohorts", "--db", str(demo_db_path), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("cohort,period,value,cohort_size")


def test_ltv_and_split_charts_show_only_mature_cells(cohort_store):
    matrix = retention_matrix(cohort_store, ALL_TIME, "month", split="discount")
    ltv = cohort_charts.ltv_curves(matrix, "full-price first order").to_dict()
    rows = ltv["datasets"][ltv["layer"][0]["data"]["name"]]
    assert rows and all(r["is_mature"] and r["split_value"] == "full-price first order" for r in rows)
    split = cohort_charts.split_comparison(matrix, "customers").to_dict()
    assert {layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            for layer in split["layer"]} == {"area", "line"}  # 95 % band and the curve


def test_a_month_whose_data_ends_at_23_57_on_its_last_day_is_complete():
    """Orders up to 31 Mar 2025 23:57: March is over, so its cohort (M1, M2) is shown with period 0 mature and
    every first-time buyer of the window is counted (before: March vanished, 2 of 4 buyers counted)."""
    ts = pd.to_datetime
    orders = pd.DataFrame({
        "order_id": ["a", "b", "c", "d"], "customer_id": ["J1", "J2", "M1", "M2"],
        "ordered_at": ts(["2025-01-10 09:00", "2025-01-20 10:00", "2025-03-05 12:00", "2025-03-31 23:57"]),
        "net_revenue": [10.0, 20.0, 30.0, 40.0], "discount": 0.0, "status": "paid"})
    store = open_workbench(":memory:", read_only=False)
    try:
        store.load_frame("orders", orders)
        matrix = retention_matrix(store, Filters(date(2025, 1, 1), date(2025, 3, 31)), "month")
    finally:
        store.close()
    assert sorted(matrix.cells["cohort_label"].unique()) == ["2025-01", "2025-03"]
    march = matrix.cells[(matrix.cells["cohort_label"] == "2025-03") & (matrix.cells["period_number"] == 0)].iloc[0]
    assert march["is_mature"] and march["cohort_customers"] == 2
    assert matrix.averages.loc[matrix.averages["period_number"] == 0, "cohort_customers"].sum() == 4



def early_cohorts_database(path):
    """Two customers who first buy in January 2025 and keep buying to December (CDNOW's shape)."""
    store = open_workbench(path, read_only=False)
    days = ["2025-01-05", "2025-01-20", "2025-03-01", "2025-07-01", "2025-09-01", "2025-12-01"]
    store.load_frame("orders", pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(days))], "customer_id": ["A", "B", "A", "B", "A", "B"],
        "ordered_at": pd.to_datetime(days), "net_revenue": [10.0] * len(days), "status": ["paid"] * len(days)}))
    store.close()
    return path


def test_a_date_range_after_every_first_purchase_says_so(tmp_path, monkeypatch):
    """CDNOW's customers all first bought in Q1 1997 and its default range is the last 12 months (from July 1997):
    the page said "No cohort in this selection has completed its first period yet", which was not the cause. The
    button it offers is clicked in tests/test_browser_cohorts.py (a real browser)."""
    from conftest import open_app_page

    db = early_cohorts_database(tmp_path / "early.duckdb")
    store = open_workbench(db, read_only=True)
    assert first_purchase_span(store) == (date(2025, 1, 5), date(2025, 1, 20))
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    at = open_app_page("pages/cohorts.py", {"start": "2025-06-01", "end": "2025-12-01"})
    (warning,) = [w.value for w in at.warning]
    assert ("No customer made a first purchase between 01 Jun 2025 and 01 Dec 2025: the first purchases in this "
            "data run from 05 Jan 2025 to 20 Jan 2025") in warning
    assert at.button(key="cohorts_widen").label == "Start the date range on 05 Jan 2025"


def test_report_cohorts_says_why_a_window_after_every_first_purchase_is_empty(tmp_path, capsys):
    import json

    from engagement.cli import main

    db = early_cohorts_database(tmp_path / "early.duckdb")
    assert main(["report", "cohorts", "--db", str(db), "--start", "2025-06-01", "--end", "2025-12-01"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["cells"] == [] and "Pass --start 2025-01-05 (or earlier)" in report["empty_reason"]
    assert "the first purchases in this data run from 05 Jan 2025 to 20 Jan 2025" in err
    assert main(["report", "cohorts", "--db", str(db), "--start", "2025-01-01", "--end", "2025-12-01"]) == 0
    assert "empty_reason" not in json.loads(capsys.readouterr().out)


def test_report_lifecycle_gives_no_share_without_first_time_buyers(tmp_path, capsys):
    """With every first purchase before the window, the time to a second purchase has no subject: its shares are
    null with the reason (they were 0 % with an interval of 0 % to 0 %), and the funnel says why it is empty."""
    import json

    from engagement.cli import main

    db = early_cohorts_database(tmp_path / "early.duckdb")
    assert main(["report", "lifecycle", "--db", str(db), "--start", "2025-06-01", "--end", "2025-12-01"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["time_to_second_purchase"]["within_30_days"] == {
        "share": None, "ci_low": None, "ci_high": None, "share_null_reason": "no first-time buyer in the window",
        "ci_low_null_reason": "no first-time buyer in the window", "ci_high_null_reason": "no first-time buyer in the window"}
    assert report["funnel"]["empty_reason"].startswith("No customer made a first purchase between 01 Jun 2025")


def test_time_to_second_purchase_is_unknown_past_the_longest_watch(tmp_path, capsys, monkeypatch):
    """Hillstrom loaded as outcomes: every first purchase on the data's last day, so no buyer was watched a single
    day. The page drew an empty curve and read "Within 30 days 0.0 %, 95 % CI 0.0 %-0.0 %"; `report lifecycle`
    gave 0. Now the shares past the longest watch are unknown, with the reason, and the page says why no curve."""
    import json

    from conftest import open_app_page
    from engagement.cli import main

    db = tmp_path / "last_day.duckdb"
    store = open_workbench(db, read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["A", "B", "C"],
        "ordered_at": pd.to_datetime(["2025-03-08 12:00"] * 3), "net_revenue": [10.0] * 3, "status": ["paid"] * 3}))
    store.close()
    assert main(["report", "lifecycle", "--db", str(db), "--start", "2025-01-01", "--end", "2025-03-08"]) == 0
    km = json.loads(capsys.readouterr().out)["time_to_second_purchase"]
    assert km["first_time_buyers"] == 3 and km["within_30_days"]["share"] is None
    assert km["within_30_days"]["share_null_reason"] == (
        "no first-time buyer was watched 30 days yet (the longest watch: 0 days)")
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    at = open_app_page("pages/lifecycle.py", {"start": "2025-01-01", "end": "2025-03-08"})
    assert not at.exception, at.exception
    assert any(i.value.startswith("None of the 3 first-time buyers has bought a second time yet") for i in at.info)
    within = {m.label: m.value for m in at.metric if m.label.startswith("Within")}
    assert within == {f"Within {d} days": "–" for d in (30, 90, 180, 365)}
    assert "not known yet: no first-time buyer was watched 30 days" in [c.value for c in at.caption]
    # One moment of data: stage to stage says why it has nothing to compare ("Pick a 'To' date after the 'From'
    # date" offered a choice of one date).
    assert any(i.value.startswith("The data has one moment to compare (2025-03-08)") for i in at.info)
    assert not at.warning
