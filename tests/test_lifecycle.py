"""Lifecycle stages, transitions, funnel and time to second purchase against hand calculations,
statsmodels, and pandas on the raw rows of the demo."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from engagement.charts import lifecycle as lifecycle_charts
from engagement.filters import Filters
from engagement.retention.lifecycle import (
    StageThresholds, current_stages, default_thresholds, end_of_day, month_end_moments, purchase_funnel,
    stage_customers, stage_sizes, stage_transitions, time_to_second_purchase,
)
from engagement.workbench import open_workbench

ALL_TIME = Filters(start=date(2024, 1, 1), end=date(2025, 12, 31))
THRESHOLDS = StageThresholds(at_risk_days=60, lapsed_days=180, vip_top_share=0.10)


def lifecycle_fixture_frames() -> dict[str, pd.DataFrame]:
    """One customer per stage; the latest activity is N's order on 30 Jun 2025 12:00 (the "as of").

    P: signed up, never bought. N: one order at as-of. R: 1 May + 15 Jun. V: 1 Jun, 1,000 (top spender).
    G: one small order on 25 Jun, loyalty tier gold. W: 1 Sep 2024, then 10 Jun 2025 (282 days later).
    K: one order 15 Apr 2025. L: one order 15 Sep 2024.
    """
    ts = pd.to_datetime
    customers = pd.DataFrame({
        "customer_id": ["P", "N", "R", "V", "G", "W", "K", "L"],
        "created_at": ts(["2025-01-01", "2025-06-29", "2025-05-01", "2025-06-01", "2025-06-25", "2024-09-01",
                          "2025-04-15", "2024-09-15"]),
        "acquisition_channel": ["email", "email", "email", "referral", "email", "email", "email", "email"],
        "email": [f"{c.lower()}@example.com" for c in "PNRVGWKL"],
        "loyalty_tier": [None, None, None, None, "gold", "silver", None, None],
        "accepts_marketing": [True] * 8,
    })
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(1, 11)],
        "customer_id": ["N", "R", "R", "V", "G", "W", "W", "K", "L", "K"],
        "ordered_at": ts(["2025-06-30 12:00", "2025-05-01 00:00", "2025-06-15 00:00", "2025-06-01 00:00",
                          "2025-06-25 00:00", "2024-09-01 00:00", "2025-06-10 00:00", "2025-04-15 00:00",
                          "2024-09-15 00:00", "2025-05-01 00:00"]),
        "net_revenue": [50.0, 40.0, 60.0, 1000.0, 10.0, 30.0, 70.0, 80.0, 20.0, 500.0],
        "status": ["paid"] * 9 + ["refunded"],  # K's second order was refunded: not a purchase
    })
    return {"customers": customers, "orders": orders}


@pytest.fixture(scope="module")
def life_store():
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in lifecycle_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


def _stages(frame: pd.DataFrame) -> dict[str, int]:
    return {row.lifecycle_stage: int(row.customers) for row in frame.itertuples() if row.customers}


def test_stages_today_by_hand(life_store):
    """As of 30 Jun 12:00. Buyers' lifetime revenue: 10, 20, 50, 80, 100, 100, 1000 (K's refund does not
    count). VIP cut = quantile_cont(0.9): position 6 * 0.9 = 5.4 -> 100 + 0.4 * (1000 - 100) = 460.
    Recency (days): N 0, R 15.5, V 29.5, G 5.5, W 20.5, K 76.5 (> 60: at risk), L 288.5 (> 180: lapsed).
    W's last gap, 282 days, is over 180: won back. G is VIP through the gold tier, V through revenue."""
    got = _stages(current_stages(life_store, ALL_TIME, THRESHOLDS))
    assert got == {"prospect": 1, "new": 1, "repeat": 1, "vip": 2, "won_back": 1, "at_risk": 1, "lapsed": 1}
    at_risk = stage_customers(life_store, ALL_TIME, THRESHOLDS, "at_risk")
    assert at_risk["customer_id"].tolist() == ["K"]
    assert at_risk["email"].tolist() == ["k@example.com"]
    assert at_risk["days_since_last_order"].tolist() == [76.5]
    vip = stage_customers(life_store, ALL_TIME, THRESHOLDS, "vip")
    assert vip["customer_id"].tolist() == ["V", "G"]  # by lifetime revenue, highest first



def test_stages_today_with_channel_and_segment_filters_by_hand(life_store):
    """The filters select customers by their own attributes (customer_summary), which purchase states do not
    carry. Same customers as above: V alone came by referral; the other seven by e-mail, G still VIP through the
    gold tier. The default stage (the segment filter) puts V (top decile of revenue) and G (gold) in "vip", and
    the page's thresholds keep both there."""
    referral = Filters(start=ALL_TIME.start, end=ALL_TIME.end, channels=("referral",))
    assert _stages(current_stages(life_store, referral, THRESHOLDS)) == {"vip": 1}
    email = Filters(start=ALL_TIME.start, end=ALL_TIME.end, channels=("email",))
    assert _stages(current_stages(life_store, email, THRESHOLDS)) == {
        "prospect": 1, "new": 1, "repeat": 1, "vip": 1, "won_back": 1, "at_risk": 1, "lapsed": 1}
    vip = Filters(start=ALL_TIME.start, end=ALL_TIME.end, segments=("vip",))
    assert _stages(current_stages(life_store, vip, THRESHOLDS)) == {"vip": 2}
    assert stage_customers(life_store, vip, THRESHOLDS, "vip")["customer_id"].tolist() == ["V", "G"]

def test_thresholds_change_the_stages(life_store):
    """At-risk after 90 days: K (76.5 days) is back to 'new'. VIP top 50 %: cut = position 3 -> 80, so K
    (80) is VIP too, R and W (100) as well, unless an earlier rule (won back) takes them first."""
    looser = StageThresholds(at_risk_days=90, lapsed_days=180, vip_top_share=0.10)
    assert _stages(current_stages(life_store, ALL_TIME, looser))["new"] == 2
    generous = StageThresholds(at_risk_days=90, lapsed_days=180, vip_top_share=0.50)
    got = _stages(current_stages(life_store, ALL_TIME, generous))
    assert got["vip"] == 4 and got["won_back"] == 1  # V, G, R, K; W stays won back


def test_stages_at_a_past_moment_use_only_purchases_until_then(life_store):
    """End of 31 Mar 2025: known are P (signed up 1 Jan), W (bought 1 Sep 2024: 211 days -> lapsed) and
    L (15 Sep 2024: 197 days -> lapsed). The others signed up later."""
    sizes = stage_sizes(life_store, ALL_TIME, THRESHOLDS, (end_of_day(date(2025, 3, 31)),))
    assert _stages(sizes) == {"prospect": 1, "lapsed": 2}
    assert sizes["share"].sum() == pytest.approx(1.0)


def test_transition_matrix_by_hand(life_store):
    """31 Mar -> 30 Jun: P stays prospect, W lapsed -> won back, L stays lapsed; the five others were not
    known yet and arrive as new (N), repeat (R), VIP (V, G) and at risk (K)."""
    matrix = stage_transitions(life_store, ALL_TIME, THRESHOLDS, date(2025, 3, 31), date(2025, 6, 30))
    cells = {(r.from_stage, r.to_stage): int(r.customers) for r in matrix.frame.itertuples()}
    assert cells == {
        ("prospect", "prospect"): 1, ("lapsed", "won_back"): 1, ("lapsed", "lapsed"): 1,
        ("not_yet_known", "new"): 1, ("not_yet_known", "repeat"): 1, ("not_yet_known", "vip"): 2,
        ("not_yet_known", "at_risk"): 1,
    }
    lapsed_rows = matrix.frame[matrix.frame["from_stage"] == "lapsed"]
    assert lapsed_rows["share_of_from"].tolist() == [0.5, 0.5]
    assert matrix.to_at == datetime(2025, 6, 30, 12, 0)  # capped at the latest activity
    spec = lifecycle_charts.transition_heatmap(matrix).to_dict()
    assert any(t["title"] == "Customers" for t in spec["layer"][0]["encoding"]["tooltip"])
    # The colour legend hangs from the top of the rows and Streamlit fits the whole chart into its height: the
    # rows get that height less the chart's title and top axis (about 95 px, measured in Chromium), and the legend
    # needs its gradient plus about 36 px for its title and last label. At Vega's default 200 px, "0%" was cut off.
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend.get("gradientLength", 200) + 36 <= spec["height"] - 95, legend


def test_funnel_by_hand_with_wilson_from_statsmodels(life_store):
    """Buyers: N R V G W K L = 7; with a 2nd purchase: R, W = 2; none has a 3rd. 2 / 7 with statsmodels'
    Wilson interval. With a 30-day minimum age N, G, V (first purchase in June) leave: 2 / 4."""
    funnel = purchase_funnel(life_store, ALL_TIME, 0)
    assert [s.customers for s in funnel.steps] == [7, 2, 0, 0]
    second = funnel.steps[1]
    assert second.conversion == pytest.approx(2 / 7)
    assert (second.ci_low, second.ci_high) == pytest.approx(proportion_confint(2, 7, method="wilson"))
    assert [s.customers for s in purchase_funnel(life_store, ALL_TIME, 30).steps] == [4, 2, 0, 0]


def test_time_to_second_purchase_by_hand(life_store):
    """Whole days: censored N 0, G 5, V 29, K 76, L 288; events R 45, W 282.
    At 45 days 4 are at risk: S = 3/4. At 282 days 2 are at risk (W, L): S = 3/4 * 1/2 = 3/8.
    Median: 282 (first time S <= 0.5). Greenwood at 45: se = 0.75 * sqrt(1 / (4 * 3)) = 0.216506."""
    km = time_to_second_purchase(life_store, ALL_TIME)
    assert (km.subjects, km.events, km.censored) == (7, 2, 5)
    assert km.table["time"].tolist() == [45.0, 282.0]
    assert km.table["at_risk"].tolist() == [4, 2]
    assert km.table["survival"].tolist() == pytest.approx([0.75, 0.375])
    assert km.table["se"].iloc[0] == pytest.approx(0.216506, abs=1e-6)
    assert km.median == 282.0


def test_invalid_thresholds_are_refused():
    with pytest.raises(ValueError, match="longer than the at-risk"):
        StageThresholds(at_risk_days=200, lapsed_days=100)


def test_month_end_moments():
    moments = month_end_moments(Filters(date(2025, 1, 15), date(2025, 3, 10)), None)
    assert moments == (end_of_day(date(2025, 1, 31)), end_of_day(date(2025, 2, 28)), end_of_day(date(2025, 3, 10)))


# ------------------------------------------------------------------ the demo and its planted truths
@pytest.fixture(scope="module")
def demo_raw(demo_store):
    cur = demo_store.cursor()
    orders = cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue, status "
                         "FROM orders").df()
    customers = cur.execute("SELECT customer_id, created_at, loyalty_tier FROM customers").df()
    return orders, customers


def test_default_at_risk_cut_is_the_brands_p80_gap(demo_store, demo_raw):
    """numpy's linear quantile of the gaps between consecutive purchases, from the raw orders."""
    from benchmarks.views_benchmark import raw_purchases

    purchases = raw_purchases(demo_raw[0])
    gaps = purchases.groupby("customer_id")["ordered_at"].diff().dropna().dt.total_seconds() / 86400
    defaults = default_thresholds(demo_store)
    assert defaults.purchase_gaps == len(gaps)
    assert defaults.p80_gap_days == pytest.approx(np.quantile(gaps, 0.8))
    assert defaults.thresholds.at_risk_days == max(30, round(np.quantile(gaps, 0.8)))


def test_demo_stages_match_pandas_and_the_summary_table(demo_store, demo_raw):
    """Stages today equal a pandas classification of the raw rows, and the default stage in
    customer_summary (what the sidebar's segment filter uses)."""
    from benchmarks.views_benchmark import pandas_stages_at

    defaults = default_thresholds(demo_store)
    t = defaults.thresholds
    everything = Filters(date(2024, 11, 1), date(2026, 10, 31))
    got = _stages(current_stages(demo_store, everything, t))
    expected = pandas_stages_at(*demo_raw, defaults.as_of, t.at_risk_days, t.lapsed_days)
    assert got == {k: int(v) for k, v in expected["lifecycle_stage"].value_counts().items()}
    summary = demo_store.cursor().execute(
        "SELECT lifecycle_stage, count(*) FROM customer_summary GROUP BY 1").fetchall()
    assert got == dict(summary)
    # Planted truth: every stage exists in the demo.
    assert set(got) == {"prospect", "new", "repeat", "vip", "won_back", "at_risk", "lapsed"}


def test_demo_stage_sizes_over_time_match_pandas(demo_store, demo_raw):
    from benchmarks.views_benchmark import pandas_stages_at

    t = default_thresholds(demo_store).thresholds
    moment = end_of_day(date(2026, 3, 31))
    got = _stages(stage_sizes(demo_store, Filters(date(2024, 11, 1), date(2026, 10, 31)), t, (moment,)))
    expected = pandas_stages_at(*demo_raw, moment, t.at_risk_days, t.lapsed_days)
    assert got == {k: int(v) for k, v in expected["lifecycle_stage"].value_counts().items()}


def test_demo_repeat_rate_planted_truth(demo_store):
    """Planted truth: about 28 % of first-time buyers buy again."""
    funnel = purchase_funnel(demo_store, Filters(date(2024, 11, 1), date(2026, 10, 31)), 180)
    assert 0.22 < funnel.steps[1].conversion < 0.34
    assert funnel.steps[1].ci_low < funnel.steps[1].conversion < funnel.steps[1].ci_high


def test_demo_kaplan_meier_matches_statsmodels_on_raw_rows(demo_store, demo_raw):
    """SurvfuncRight on one row per customer (durations from the raw orders) gives the same curve."""
    from benchmarks.views_benchmark import pandas_second_purchase_durations

    window = Filters(date(2025, 11, 1), date(2026, 10, 31))
    params = window.params()
    as_of = default_thresholds(demo_store).as_of
    rows = pandas_second_purchase_durations(demo_raw[0], params["start"], params["end_exclusive"], as_of)
    reference = SurvfuncRight(rows["day"].to_numpy(float), rows["is_second_purchase"].to_numpy(int))
    km = time_to_second_purchase(demo_store, window)
    assert km.subjects == len(rows)
    assert km.table["time"].to_numpy() == pytest.approx(reference.surv_times)
    assert km.table["survival"].to_numpy() == pytest.approx(reference.surv_prob)
    assert km.table["se"].to_numpy() == pytest.approx(reference.surv_prob_se)


def test_lifecycle_page_thresholds_come_from_the_url(app_env):
    """Changing the at-risk cut through the link changes the definitions shown on the page."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params.update({"lifecycle_at_risk_days": "45", "lifecycle_lapsed_days": "200"})
    at.run()
    at.switch_page("pages/lifecycle.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="lifecycle_at_risk_days").value == 45
    definitions = at.dataframe[0].value["Definition"].tolist()
    assert any("46-200 days ago" in text for text in definitions)
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) >= 4


def test_demo_transitions_match_pandas(demo_store, demo_raw):
    from benchmarks.views_benchmark import pandas_transitions

    defaults = default_thresholds(demo_store)
    matrix = stage_transitions(demo_store, Filters(date(2024, 11, 1), date(2026, 10, 31)), defaults.thresholds,
                               date(2026, 4, 30), date(2026, 10, 31))
    expected = pandas_transitions(*demo_raw, end_of_day(date(2026, 4, 30)), defaults.as_of, defaults.thresholds)
    expected = expected.stack()
    expected = {(f, t): int(n) for (f, t), n in expected.items() if n}
    assert {(r.from_stage, r.to_stage): int(r.customers) for r in matrix.frame.itertuples()} == expected


def test_an_empty_store_gives_empty_results_not_errors():
    """What the pages show before any load: no stages, an empty funnel and curve (no exceptions)."""
    store = open_workbench(":memory:", read_only=False)
    defaults = default_thresholds(store)
    assert defaults.as_of is None and defaults.thresholds.at_risk_days == 90  # the documented fallback
    assert current_stages(store, ALL_TIME, defaults.thresholds).empty
    assert purchase_funnel(store, ALL_TIME).steps[0].customers == 0
    assert time_to_second_purchase(store, ALL_TIME).subjects == 0
    assert stage_customers(store, ALL_TIME, defaults.thresholds, "new").empty
    store.close()


def test_cli_report_lifecycle(demo_db_path, capsys):
    """`report lifecycle` prints counts per stage (summing to all customers) and the funnel with n and CIs."""
    import json

    from engagement.cli import main

    assert main(["report", "lifecycle", "--db", str(demo_db_path), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert sum(s["customers"] for s in payload["stages"]) == payload["customers"] > 0
    steps = payload["funnel"]["steps"]
    assert [s["step"] for s in steps] == ["1st order", "2nd order", "3rd order", "4th+ order"]
    assert steps[1]["ci_low"] < steps[1]["conversion"] < steps[1]["ci_high"]
    assert payload["time_to_second_purchase"]["first_time_buyers"] > 0
    assert main(["report", "lifecycle", "--db", str(demo_db_path), "--at-risk-days", "400",
                 "--lapsed-days", "100"]) == 1  # refused with a message, not a traceback
    assert "longer than the at-risk" in capsys.readouterr().err


def test_lifecycle_charts_carry_counts(life_store):
    sizes = stage_sizes(life_store, ALL_TIME, THRESHOLDS, (end_of_day(date(2025, 3, 31)), datetime(2025, 6, 30, 12)))
    spec = lifecycle_charts.stage_sizes_chart(sizes).to_dict()
    assert "Customers" in [t["title"] for t in spec["encoding"]["tooltip"]]
    km_spec = lifecycle_charts.time_to_second_purchase_chart(time_to_second_purchase(life_store, ALL_TIME)).to_dict()
    line = km_spec["layer"][1]
    assert line["mark"]["interpolate"] == "step-after"  # a survival curve is a step function
    funnel = lifecycle_charts.funnel_chart(purchase_funnel(life_store, ALL_TIME, 0)).to_dict()
    labels = [r["label"] for r in next(iter(funnel["datasets"].values()))]
    assert labels[1].startswith("2 · 28.6% of previous (95% CI")
