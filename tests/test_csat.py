"""CSAT (% satisfied = answers of 4-5 on 1-5) against statsmodels, hand calculations and the demo's truth."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from engagement.voice.csat import CSAT_DIFFERENCE_METHOD, CSAT_SCALE, csat_difference, csat_summary
from engagement.filters import Filters
from engagement.value.kpis import data_range, default_filters
from engagement.voice.nps import behaviour_after_answer, bottom_box_answers, survey_breakdown, survey_trend
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench


def test_csat_summary_by_hand_and_statsmodels():
    """7 satisfied of 10 (2 neutral, 1 dissatisfied): 70 %. Wilson by hand, z = 1.959964, z^2 = 3.841459:
    centre = (0.7 + 3.841459 / 20) / (1 + 3.841459 / 10) = 0.8920730 / 1.3841459 = 0.6444913;
    half = 1.959964 * sqrt(0.21 / 10 + 3.841459 / 400) / 1.3841459 = 1.959964 * 0.1749390 / 1.3841459 = 0.2477163
    -> [39.6775, 89.2208] %."""
    r = csat_summary(7, 2, 1)
    assert (r.responses, r.satisfied_pct) == (10, pytest.approx(70.0))
    assert (r.ci_low, r.ci_high) == pytest.approx((39.6775, 89.2208), abs=1e-3)
    low, high = proportion_confint(7, 10, alpha=0.05, method="wilson")
    assert (r.ci_low, r.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert math.isnan(csat_summary(0, 0, 0).satisfied_pct)


def test_csat_difference_matches_statsmodels_agresti_caffo():
    d = csat_difference((80, 15, 5), (60, 25, 15), "this month", "last month")
    low, high = confint_proportions_2indep(80, 100, 60, 100, method="agresti-caffo")
    assert (d.ci_low, d.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert d.difference == pytest.approx(20.0) and d.method == CSAT_DIFFERENCE_METHOD
    assert d.is_significant


def test_wilson_coverage_is_close_to_95_percent():
    """Simulation, seed 42, 4,000 samples of 40 answers with 80 % satisfied: coverage within 92-98 %.
    Wilson's coverage oscillates around the nominal level with n and p and dips to about 93 % in places
    (Brown, Cai & DasGupta 2001, Statistical Science 16(2), fig. 4), hence the wider band than for NPS."""
    rng = np.random.default_rng(42)
    draws = rng.binomial(40, 0.8, size=4_000)
    covered = [(r.ci_low <= 80 <= r.ci_high) for r in (csat_summary(int(k), 40 - int(k), 0) for k in draws)]
    assert 0.92 <= np.mean(covered) <= 0.98


@pytest.fixture()
def csat_store() -> Store:
    """Three customers, six CSAT answers and one NPS answer (which CSAT views must ignore)."""
    ts = pd.to_datetime
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("customers", pd.DataFrame({
        "customer_id": ["A", "B", "C"], "created_at": ts(["2025-01-01"] * 3),
        "acquisition_channel": ["email_signup", "referral", "referral"]}))
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["a1", "b1", "c1", "a2"], "customer_id": ["A", "B", "C", "A"],
        "ordered_at": ts(["2025-01-02", "2025-01-03", "2025-01-04", "2025-06-30"]),
        "net_revenue": [10.0, 20.0, 30.0, 40.0], "status": ["paid"] * 4}))
    store.load_frame("surveys", pd.DataFrame({
        "response_id": [f"s{i}" for i in range(7)],
        "customer_id": ["A", "A", "B", "B", "C", "C", "C"],
        "responded_at": ts(["2025-01-05", "2025-02-05", "2025-01-06", "2025-02-06", "2025-01-07", "2025-02-07",
                            "2025-02-08"]),
        "kind": ["csat"] * 6 + ["nps"],
        "score": [5, 4, 3, 1, 2, 5, 0],
        "touchpoint": ["delivery", "support", "delivery", "support", "delivery", "delivery", "post_purchase"],
        "comment": [None, None, None, "never again", "slow", None, "awful"]}))
    yield store
    store.close()


def test_csat_breakdowns_by_hand(csat_store):
    """CSAT answers 2025: delivery 5, 3, 2, 5 -> 2 satisfied of 4 = 50 %; support 4, 1 -> 1 of 2 = 50 %.
    By channel: email_signup (A) 5, 4 -> 100 %; referral (B, C) 3, 1, 2, 5 -> 1 of 4 = 25 %. The NPS 0 is ignored."""
    window = Filters(date(2025, 1, 1), date(2025, 12, 31))
    by_touchpoint = survey_breakdown(csat_store, window, CSAT_SCALE, "touchpoint").set_index("group_value")
    assert by_touchpoint.loc["delivery", ["responses", "top_box", "middle", "bottom_box"]].tolist() == [4, 2, 1, 1]
    assert by_touchpoint["score"].to_dict() == {"delivery": 50.0, "support": 50.0}
    by_channel = survey_breakdown(csat_store, window, CSAT_SCALE, "channel").set_index("group_value")
    assert by_channel["score"].to_dict() == {"email_signup": 100.0, "referral": 25.0}
    low, high = proportion_confint(1, 4, method="wilson")
    assert by_channel.loc["referral", ["ci_low", "ci_high"]].tolist() == pytest.approx([100 * low, 100 * high])
    monthly = survey_trend(csat_store, window, CSAT_SCALE, "month")
    assert monthly["responses"].tolist() == [3, 3]  # Jan: 5, 3, 2; Feb: 4, 1, 5
    assert monthly["mean_score"].tolist() == pytest.approx([10 / 3, 10 / 3])


def test_csat_dissatisfied_list_and_behaviour_by_hand(csat_store):
    """Dissatisfied (1-2): B's 1 (6 Feb, 'never again') and C's 2 (7 Jan, 'slow'); the NPS 0 is not CSAT.
    30 days after each first CSAT answer (last purchase 30 Jun): nobody buys -> every rate 0."""
    window = Filters(date(2025, 1, 1), date(2025, 12, 31))
    frame = bottom_box_answers(csat_store, window, CSAT_SCALE, with_comment_only=True)
    assert frame["comment"].tolist() == ["never again", "slow"]
    link = behaviour_after_answer(csat_store, window, CSAT_SCALE, 30)
    assert [o.label for o in link.outcomes] == ["satisfied", "neutral", "dissatisfied"]
    assert [o.followed_up for o in link.outcomes] == [1, 1, 1]
    assert [o.repurchase_rate for o in link.outcomes] == [0.0, 0.0, 0.0]


def test_demo_satisfied_customers_repurchase_more(demo_store):
    link = behaviour_after_answer(demo_store, default_filters(data_range(demo_store)), CSAT_SCALE, 90)
    satisfied, _, dissatisfied = link.outcomes
    assert satisfied.repurchase_rate > dissatisfied.repurchase_rate
    assert link.repurchase_difference.ci_low > 0


def test_csat_page_renders(app_env):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params["nps_survey"] = "CSAT"
    at.query_params["nps_view"] = "Behaviour after the answer"
    at.run()
    at.switch_page("pages/nps.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(m.label == "% satisfied" for m in at.metric)
    assert any("Wilson" in c.value for c in at.caption)
