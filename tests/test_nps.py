"""NPS, its interval and the NPS views, against hand calculations, a bootstrap, a coverage simulation,
statsmodels/scipy on raw rows, and the demo brand's planted truth.

Reference numbers sit next to their source: "by hand" numbers are worked out in the docstring or
comment beside them; "regression value" marks a number copied from our own output.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement.charts import nps as nps_charts
from engagement.cli import main as cli_main
from engagement.filters import Filters
from engagement.value.kpis import data_range, default_filters
from engagement.voice.nps import (
    NPS_SCALE, SMALL_GROUP_MIN, behaviour_after_answer, behaviour_verdict, bottom_box_answers, breakdown_records,
    compare_groups, compare_with_previous_period, format_p, mean_difference, nps_difference, nps_summary,
    proportion_difference, survey_breakdown, survey_trend,
)
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
Q1_2025 = Filters(start=date(2025, 1, 1), end=date(2025, 3, 31))


# ------------------------------------------------------------ the interval
def test_nps_summary_by_hand():
    """3 promoters, 1 passive, 1 detractor. NPS = (3 - 1) / 5 = +40.
    Adjusted Wald (Rocks 2016): n' = 5 + 3 = 8; p' = (3 + 0.75) / 8 = 0.46875; d' = (1 + 0.75) / 8 = 0.21875;
    centre = 0.25; var = (0.46875 + 0.21875 - 0.25^2) / 8 = 0.078125; se = 0.2795085;
    half width = 1.959964 * 0.2795085 = 0.5478266 -> [-29.78266, 79.78266]."""
    r = nps_summary(promoters=3, passives=1, detractors=1)
    assert (r.responses, r.nps) == (5, pytest.approx(40.0))
    assert r.ci_low == pytest.approx(-29.78266, abs=1e-4)
    assert r.ci_high == pytest.approx(79.78266, abs=1e-4)


def test_nps_interval_is_clipped_and_empty_is_nan():
    """All 3 answers promoters: centre (3.75 - 0.75) / 6 = 0.5, var = (0.625 + 0.125 - 0.25) / 6 = 0.083333,
    upper = 0.5 + 1.959964 * 0.288675 = 1.0658 -> clipped to 1 (+100)."""
    r = nps_summary(3, 0, 0)
    assert r.nps == 100.0 and r.ci_high == 100.0
    assert r.ci_low == pytest.approx(100 * (0.5 - Z95 * math.sqrt(0.5 / 6)), abs=1e-9)
    assert math.isnan(nps_summary(0, 0, 0).nps)


def _bootstrap_nps(counts: tuple[int, int, int], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Nonparametric bootstrap of NPS: resampling n answers with replacement = a multinomial draw with the
    observed shares (Efron & Tibshirani 1993, ch. 6)."""
    n = sum(counts)
    draws = rng.multinomial(n, np.array(counts) / n, size=resamples)
    return 100 * (draws[:, 0] - draws[:, 2]) / n


@pytest.mark.parametrize("counts", [(180, 140, 80), (40, 30, 30), (12, 10, 8)])
def test_adjusted_wald_agrees_with_bootstrap_percentile_interval(counts):
    """On fixture answers (400, 100 and 30 answers), the bootstrap percentile interval (10,000 resamples,
    seed 42) and the adjusted Wald agree within 2 points at n = 400 and 100, 6 points at n = 30 (the adjusted
    interval is shrunk towards 0, so the two differ most for small n)."""
    rng = np.random.default_rng(42)
    boot = _bootstrap_nps(counts, 10_000, rng)
    low, high = np.percentile(boot, [2.5, 97.5])
    r = nps_summary(*counts)
    tolerance = 2.0 if sum(counts) >= 100 else 6.0
    assert r.ci_low == pytest.approx(low, abs=tolerance)
    assert r.ci_high == pytest.approx(high, abs=tolerance)


@pytest.mark.parametrize("n, promoter_p, detractor_p", [(30, 0.5, 0.2), (100, 0.3, 0.4), (400, 0.6, 0.1)])
def test_adjusted_wald_coverage_is_close_to_95_percent(n, promoter_p, detractor_p):
    """Coverage simulation (seed 42, 4,000 samples per setting): the share of intervals that contain the true
    NPS is within 93-97 % (Monte Carlo standard error at 95 % coverage: sqrt(.95 * .05 / 4000) = 0.34 pt)."""
    rng = np.random.default_rng(42)
    true_nps = 100 * (promoter_p - detractor_p)
    draws = rng.multinomial(n, [promoter_p, 1 - promoter_p - detractor_p, detractor_p], size=4_000)
    covered = [r.ci_low <= true_nps <= r.ci_high for r in (nps_summary(*map(int, d)) for d in draws)]
    assert 0.93 <= np.mean(covered) <= 0.97


# ------------------------------------------------------ two-sample tests
def test_nps_difference_by_hand():
    """A = (60, 25, 15), B = (40, 30, 30), adjusted as in Lewis & Sauro (2021), each n' = 103:
    A: p' = 60.75/103 = 0.5898058, d' = 15.75/103 = 0.1529126, centre 0.4368932,
       var = (0.5898058 + 0.1529126 - 0.4368932^2) / 103 = 0.005357697.
    B: p' = 40.75/103 = 0.3956311, d' = 30.75/103 = 0.2985437, centre 0.0970874,
       var = (0.3956311 + 0.2985437 - 0.0970874^2) / 103 = 0.006648047.
    se = sqrt(0.005357697 + 0.006648047) = 0.1095707; z = 0.3398058 / 0.1095707 = 3.101247;
    p = 2 * (1 - Phi(3.101247)) = 0.0019271; CI = 33.98058 -+ 1.959964 * 10.95707 = [12.50525, 55.45591].
    The raw difference is 45 - 10 = 35 points."""
    d = nps_difference((60, 25, 15), (40, 30, 30), "A", "B")
    assert d.difference == pytest.approx(35.0)
    assert d.p_value == pytest.approx(0.0019271, abs=2e-6)
    assert d.ci_low == pytest.approx(12.50525, abs=1e-3)
    assert d.ci_high == pytest.approx(55.45591, abs=1e-3)
    assert d.is_significant


def test_nps_difference_agrees_with_bootstrap():
    """Two fixture samples (400 and 300 answers): the percentile interval of the difference of independent
    bootstrap NPS (10,000 resamples each, seed 42) matches the adjusted-Wald interval within 2 points."""
    rng = np.random.default_rng(42)
    a, b = (180, 140, 80), (105, 120, 75)
    diff = _bootstrap_nps(a, 10_000, rng) - _bootstrap_nps(b, 10_000, rng)
    low, high = np.percentile(diff, [2.5, 97.5])
    d = nps_difference(a, b)
    assert d.ci_low == pytest.approx(low, abs=2.0) and d.ci_high == pytest.approx(high, abs=2.0)


def test_nps_difference_coverage_and_false_positive_rate():
    """Simulation, seed 42, 3,000 pairs: with a true difference of 20 points the interval covers it 93-97 % of
    the time; with no difference the test rejects at p < 0.05 in 3-7 % of pairs."""
    rng = np.random.default_rng(42)
    a = rng.multinomial(80, [0.5, 0.3, 0.2], size=3_000)
    b = rng.multinomial(120, [0.4, 0.3, 0.3], size=3_000)
    same = rng.multinomial(120, [0.5, 0.3, 0.2], size=3_000)
    covered = [nps_difference(tuple(map(int, x)), tuple(map(int, y))) for x, y in zip(a, b)]
    assert 0.93 <= np.mean([d.ci_low <= 20 <= d.ci_high for d in covered]) <= 0.97
    nulls = [nps_difference(tuple(map(int, x)), tuple(map(int, y))).p_value for x, y in zip(a, same)]
    assert 0.03 <= np.mean(np.array(nulls) < 0.05) <= 0.07


def test_proportion_difference_matches_statsmodels():
    from statsmodels.stats.proportion import confint_proportions_2indep

    d = proportion_difference(30, 50, 20, 50)
    low, high = confint_proportions_2indep(30, 50, 20, 50, method="agresti-caffo")
    assert (d.ci_low, d.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert d.difference == pytest.approx(20.0)


def test_mean_difference_matches_scipy_welch_on_raw_rows():
    rng = np.random.default_rng(42)
    a, b = rng.gamma(2.0, 60.0, size=80), rng.gamma(2.0, 40.0, size=50)
    d = mean_difference(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))
    reference = stats.ttest_ind(a, b, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert d.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-9)


# --------------------------------------------------------- views on SQL
def test_breakdowns_on_the_hand_fixture(hand_store):
    """Q1 2025 answers (tests/conftest.py): A 10 (12 Jan), A 9 (12 Feb), B 7 (25 Jan), C 3 (5 Feb), C 0 (5 Mar).
    By channel: paid_social (A, C) 2 promoters, 2 detractors -> NPS 0; organic_search (B) 1 passive -> 0.
    By month: Jan 10, 7 -> +50; Feb 9, 3 -> 0; Mar 0 -> -100. Every group is small (n < 30)."""
    by_channel = survey_breakdown(hand_store, Q1_2025, NPS_SCALE, "channel").set_index("group_value")
    assert by_channel.loc["paid_social", ["responses", "top_box", "middle", "bottom_box"]].tolist() == [4, 2, 0, 2]
    assert by_channel.loc["organic_search", ["responses", "middle"]].tolist() == [1, 1]
    assert by_channel["score"].tolist() == [0.0, 0.0]
    by_month = survey_breakdown(hand_store, Q1_2025, NPS_SCALE, "month").set_index("group_value")
    assert by_month["score"].to_dict() == {"2025-01": 50.0, "2025-02": 0.0, "2025-03": -100.0}
    assert by_month["is_small"].all()
    # Each group's interval is nps_summary's on its counts: Jan = (1, 1, 0).
    assert by_month.loc["2025-01", "ci_low"] == pytest.approx(nps_summary(1, 1, 0).ci_low)
    by_stage = survey_breakdown(hand_store, Q1_2025, NPS_SCALE, "stage")
    assert by_stage["responses"].sum() == 5


def test_filters_are_honoured(hand_store):
    """Only referral + organic_search customers (B, D): B's 7 in January -> 1 passive."""
    only_b = Filters(Q1_2025.start, Q1_2025.end, channels=("organic_search", "referral"))
    overall = survey_breakdown(hand_store, only_b, NPS_SCALE)
    assert overall[["responses", "middle"]].iloc[0].tolist() == [1, 1]
    february = Filters(date(2025, 2, 1), date(2025, 2, 28))
    assert survey_breakdown(hand_store, february, NPS_SCALE)["responses"].tolist() == [2]
    stage = survey_breakdown(hand_store, Q1_2025, NPS_SCALE, "stage")["group_value"].iloc[0]
    one_stage = Filters(Q1_2025.start, Q1_2025.end, segments=(stage,))
    assert 0 < survey_breakdown(hand_store, one_stage, NPS_SCALE)["responses"].iloc[0] < 5


def test_weekly_trend_on_the_hand_fixture(hand_store):
    """ISO weeks (Monday) of the Q1 answers: 6 Jan, 20 Jan, 3 Feb, 10 Feb, 3 Mar; one answer each."""
    trend = survey_trend(hand_store, Q1_2025, NPS_SCALE, "week")
    assert [p.isoformat() for p in pd.to_datetime(trend["period"]).dt.date] == [
        "2025-01-06", "2025-01-20", "2025-02-03", "2025-02-10", "2025-03-03"]
    assert trend["responses"].tolist() == [1] * 5


def test_previous_period_and_group_comparison(hand_store):
    """Q1 2025 vs Q4 2024 (B's 10 on 15 Dec): counts (2, 1, 2) vs (1, 0, 0); channels paid_social vs organic."""
    d = compare_with_previous_period(hand_store, Q1_2025, NPS_SCALE)
    reference = nps_difference((2, 1, 2), (1, 0, 0))
    assert (d.n_a, d.n_b, d.p_value) == (5, 1, pytest.approx(reference.p_value))
    g = compare_groups(hand_store, Q1_2025, NPS_SCALE, "channel", "paid_social", "organic_search")
    assert (g.n_a, g.n_b) == (4, 1) and g.ci_low == pytest.approx(nps_difference((2, 0, 2), (0, 1, 0)).ci_low)


@pytest.fixture()
def outcome_store() -> Store:
    """Four customers for the behaviour link, worked out in test_behaviour_after_answer_by_hand."""
    ts = pd.to_datetime
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("customers", pd.DataFrame({
        "customer_id": ["X", "Y", "Z", "W"], "created_at": ts(["2024-12-01"] * 4),
        "acquisition_channel": ["paid_social"] * 4}))
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["x1", "x2", "x3", "y1", "z1", "z2", "w1"],
        "customer_id": ["X", "X", "X", "Y", "Z", "Z", "W"],
        "ordered_at": ts(["2025-01-01", "2025-01-20", "2025-03-01", "2025-01-05", "2025-01-10", "2025-02-25",
                          "2025-06-30"]),
        "net_revenue": [100.0, 50.0, 40.0, 80.0, 60.0, 30.0, 10.0], "status": ["paid"] * 7}))
    store.load_frame("surveys", pd.DataFrame({
        "response_id": ["rx1", "rx2", "ry", "rz", "rw"], "customer_id": ["X", "X", "Y", "Z", "W"],
        "responded_at": ts(["2025-01-02", "2025-02-01", "2025-01-06", "2025-01-11", "2025-06-15"]),
        "kind": ["nps"] * 5, "score": [10, 3, 2, 8, 9], "comment": [None, "late", "too slow", None, None]}))
    yield store
    store.close()


def test_behaviour_after_answer_by_hand(outcome_store):
    """Last purchase in the data: 30 Jun 2025. Unit: each customer's first answer (X's 3 on 1 Feb is ignored).
    30 days: X (promoter, 2 Jan) buys x2 on 20 Jan -> repurchase, $50. Z (passive, 11 Jan): z2 is on 25 Feb,
    outside -> no purchase. Y (detractor, 6 Jan): nothing. W (promoter, 15 Jun): window ends 15 Jul, after
    30 Jun -> censored, left out. 60 days: X buys x2 + x3 ($90), Z buys z2 ($30, by 12 Mar)."""
    window = Filters(date(2025, 1, 1), date(2025, 6, 30))
    link = behaviour_after_answer(outcome_store, window, NPS_SCALE, 30)
    promoters, passives, detractors = link.outcomes
    assert (promoters.answers, promoters.censored, promoters.followed_up, promoters.repurchasers) == (2, 1, 1, 1)
    assert promoters.revenue_per_customer == pytest.approx(50.0)
    assert (passives.followed_up, passives.repurchasers, passives.churn_rate) == (1, 0, 1.0)
    assert (detractors.followed_up, detractors.repurchase_rate) == (1, 0.0)
    assert link.censored == 1
    # statsmodels: proportion_confint(1, 1, alpha=0.05, method="wilson") = (0.2065493143772374, 1.0)
    assert promoters.repurchase_ci == pytest.approx((0.2065493143772374, 1.0), abs=1e-12)
    longer = behaviour_after_answer(outcome_store, window, NPS_SCALE, 60)
    assert longer.outcomes[0].revenue_per_customer == pytest.approx(90.0)
    assert (longer.outcomes[1].repurchasers, longer.outcomes[1].revenue_per_customer) == (1, pytest.approx(30.0))
    # From 15 Jan, X's first answer in the window is the 3 of 1 Feb (their earlier one is before it); Y and Z
    # answered before the window: one detractor (X), one promoter (W), no passive.
    later = behaviour_after_answer(outcome_store, Filters(date(2025, 1, 15), date(2025, 6, 30)), NPS_SCALE, 30)
    assert [o.answers for o in later.outcomes] == [1, 0, 1]


def test_bottom_box_list(outcome_store):
    """Detractors in 2025: X's 3 (1 Feb, 'late') and Y's 2 (6 Jan, 'too slow'), newest first, with value."""
    window = Filters(date(2025, 1, 1), date(2025, 6, 30))
    frame = bottom_box_answers(outcome_store, window, NPS_SCALE)
    assert frame["customer_id"].tolist() == ["X", "Y"]
    assert frame["comment"].tolist() == ["late", "too slow"]
    assert frame["lifetime_revenue"].tolist() == [190.0, 80.0]
    assert frame["has_purchased_since"].tolist() == [True, False]  # X bought on 1 Mar, after answering


# ----------------------------------------------------- the demo's truth
@pytest.fixture(scope="module")
def demo_filters(demo_store) -> Filters:
    return default_filters(data_range(demo_store))


def test_demo_promoters_repurchase_more_than_detractors(demo_store, demo_filters):
    """Planted in engagement/intake/demo.py: satisfaction lowers dropout, so promoters repurchase more."""
    link = behaviour_after_answer(demo_store, demo_filters, NPS_SCALE, 90)
    promoters, _, detractors = link.outcomes
    assert promoters.repurchase_rate > detractors.repurchase_rate
    assert link.repurchase_difference.ci_low > 0 and link.repurchase_difference.is_significant
    assert link.revenue_difference.ci_low > 0
    assert link.censored > 0  # the last 90 days of answers cannot be followed up yet
    assert "Yes: in this data the score predicts repurchase." in behaviour_verdict(link)


def test_later_purchases_are_the_raw_purchases_after_each_answer(demo_store):
    """Derived survey_answers.later_purchases against the raw tables: each answer's customer's orders (not
    refunded or cancelled) strictly after the answer, in time order; an empty list when there are none."""
    cur = demo_store.cursor()
    surveys = cur.execute("SELECT response_id, customer_id, responded_at FROM surveys").df()
    orders = cur.execute("SELECT order_id, customer_id, ordered_at, net_revenue::double AS net_revenue FROM orders "
                         "WHERE status NOT IN ('refunded', 'cancelled')").df()
    joined = surveys.merge(orders, on="customer_id")
    joined = joined[joined.ordered_at > joined.responded_at].sort_values(["response_id", "ordered_at", "order_id"])
    expected = {response_id: list(zip(rows.ordered_at, rows.net_revenue))
                for response_id, rows in joined.groupby("response_id")}
    stored = cur.execute("SELECT response_id, later_purchases FROM survey_answers").fetchall()
    assert len(stored) == len(surveys) and sum(bool(p) for _, p in stored) == len(expected) > 0
    for response_id, purchases in stored:
        assert [(p["ordered_at"], float(p["net_revenue"])) for p in purchases] == expected.get(response_id, [])


@pytest.mark.parametrize("horizon_days", [30, 90, 180])
def test_behaviour_after_answer_matches_pandas_on_raw_rows(demo_store, demo_filters, horizon_days):
    """The behaviour link's counts and revenue against pandas on the raw surveys and orders: each respondent's
    first NPS answer in the window, censored when answer + horizon is after the last purchase, and the
    purchases in (answer, answer + horizon]."""
    cur = demo_store.cursor()
    params = demo_filters.params()
    surveys = cur.execute("SELECT response_id, customer_id, responded_at, score FROM surveys WHERE kind = 'nps'").df()
    orders = cur.execute("SELECT customer_id, ordered_at, net_revenue::double AS net_revenue FROM orders "
                         "WHERE status NOT IN ('refunded', 'cancelled')").df()
    in_window = surveys[(surveys.responded_at >= params["start"]) & (surveys.responded_at < params["end_exclusive"])]
    first = in_window.sort_values(["responded_at", "response_id"]).drop_duplicates("customer_id")
    horizon = pd.Timedelta(days=horizon_days)
    first = first.assign(is_censored=first.responded_at + horizon > orders.ordered_at.max(),
                         category=pd.cut(first.score, [-1, 6, 8, 10], labels=["bottom", "middle", "top"]))
    followed = first[~first.is_censored]
    joined = followed.merge(orders, on="customer_id")
    joined = joined[(joined.ordered_at > joined.responded_at) & (joined.ordered_at <= joined.responded_at + horizon)]
    revenue = joined.groupby("response_id").net_revenue.sum().reindex(followed.response_id, fill_value=0.0)
    followed = followed.assign(revenue=revenue.to_numpy(), bought=followed.response_id.isin(joined.response_id))

    link = behaviour_after_answer(demo_store, demo_filters, NPS_SCALE, horizon_days)
    for outcome in link.outcomes:
        rows = followed[followed.category == outcome.category]
        assert outcome.answers == int((first.category == outcome.category).sum())
        assert (outcome.followed_up, outcome.repurchasers) == (len(rows), int(rows.bought.sum()))
        assert outcome.revenue_per_customer == pytest.approx(rows.revenue.mean(), rel=1e-9)
        assert outcome.revenue_sd == pytest.approx(rows.revenue.std(), rel=1e-9)


def test_demo_report_cli_shows_the_truth(demo_db_path):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(["report", "nps-outcomes", "--db", str(demo_db_path), "--days", "90"]) == 0
    report = json.loads(out.getvalue())
    rates = {g["answer"]: g["repurchase_rate"] for g in report["groups"]}
    assert rates["promoters"] > rates["passives"] > rates["detractors"]
    assert report["repurchase_difference"]["ci_low"] > 0


def test_report_nps_cli_matches_pandas_on_raw_rows(demo_store, demo_db_path, demo_filters):
    """`report nps --by touchpoint` against a pandas count of the raw survey rows of the same window."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(["report", "nps", "--db", str(demo_db_path), "--by", "touchpoint", "--format", "json"]) == 0
    groups = {g["group"]: g for g in json.loads(out.getvalue())["groups"]}
    raw = demo_store.cursor().execute("SELECT * FROM surveys WHERE kind = 'nps'").df()
    params = demo_filters.params()
    raw = raw[(raw["responded_at"] >= params["start"]) & (raw["responded_at"] < params["end_exclusive"])]
    for touchpoint, rows in raw.groupby("touchpoint"):
        promoters, detractors = int((rows["score"] >= 9).sum()), int((rows["score"] <= 6).sum())
        group = groups[touchpoint]
        assert (group["responses"], group["promoters"], group["detractors"]) == (len(rows), promoters, detractors)
        assert group["nps"] == pytest.approx(100 * (promoters - detractors) / len(rows))
        assert set(group) >= {"responses", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high"}


@pytest.mark.parametrize("dimension", ["touchpoint", "week"])
def test_breakdown_mean_and_sd_match_pandas_on_raw_rows(demo_store, demo_filters, dimension):
    """answer_counts.sql derives the mean and the sample standard deviation from counts per score; pandas
    computes them from the raw answers of the window (ddof=1; NaN for a group of one answer)."""
    params = demo_filters.params()
    raw = demo_store.cursor().execute("SELECT responded_at, touchpoint, score FROM surveys WHERE kind = 'nps'").df()
    raw = raw[(raw.responded_at >= params["start"]) & (raw.responded_at < params["end_exclusive"])]
    keys = (raw.responded_at.dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d") if dimension == "week"
            else raw.touchpoint)
    expected = raw.groupby(keys).score.agg(["size", "mean", "std"])
    frame = survey_breakdown(demo_store, demo_filters, NPS_SCALE, dimension).set_index("group_value")
    assert frame.index.tolist() == expected.index.tolist()
    assert frame.responses.tolist() == expected["size"].tolist()
    assert frame.mean_score.tolist() == pytest.approx(expected["mean"].tolist(), rel=1e-12)
    assert frame.score_sd.tolist() == pytest.approx(expected["std"].tolist(), rel=1e-9, nan_ok=True)


def test_report_nps_csv_by_month(demo_db_path):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(["report", "nps", "--db", str(demo_db_path), "--by", "month", "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(out.getvalue()))
    assert list(frame.columns[:8]) == ["group", "responses", "promoters", "passives", "detractors", "nps", "ci_low",
                                       "ci_high"]
    assert len(frame) == 12 and (frame["ci_low"] <= frame["nps"]).all() and (frame["nps"] <= frame["ci_high"]).all()


def test_breakdown_records_flag_small_groups():
    frame = pd.DataFrame({"group_value": ["a", "b"], "responses": [40, 10], "top_box": [20, 5], "middle": [10, 3],
                          "bottom_box": [10, 2], "score": [25.0, 30.0], "ci_low": [1.0, -10.0],
                          "ci_high": [45.0, 60.0], "is_small": [False, True]})
    records = breakdown_records(frame)
    assert [r["is_small_group"] for r in records] == [False, True] and SMALL_GROUP_MIN == 30


# ---------------------------------------------------------------- charts
def test_charts_draw_the_interval_and_n(hand_store):
    trend = survey_trend(hand_store, Q1_2025, NPS_SCALE, "month")
    spec = nps_charts.score_trend_chart(trend, NPS_SCALE).to_dict()
    band = spec["layer"][0]
    assert band["mark"]["type"] == "area"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("ci_low", "ci_high")
    tooltip_fields = {t["field"] for t in spec["layer"][2]["encoding"]["tooltip"]}
    assert {"responses", "ci_low", "ci_high"} <= tooltip_fields
    breakdown = survey_breakdown(hand_store, Q1_2025, NPS_SCALE, "channel")
    spec = nps_charts.breakdown_chart(breakdown, NPS_SCALE, "Channel").to_dict()
    assert spec["layer"][0]["encoding"]["x2"]["field"] == "ci_high"
    assert spec["layer"][1]["encoding"]["opacity"]["field"] == "sample"  # small groups are faded


# ------------------------------------------------------------------ page
VIEW_MARKERS = {
    "Breakdowns": lambda at: any(s.label == "Break down by" for s in at.selectbox),
    "Compare two groups": lambda at: any("significant at the 5 %" in x.value.lower() for x in [*at.success, *at.info]),
    "Behaviour after the answer": lambda at: any("predictive here" in m.value for m in at.markdown),
    "Comment themes": lambda at: {"Detractors", "Promoters"} <= {s.value for s in at.subheader},
    "Close the loop": lambda at: len(at.dataframe) == 1,
}


@pytest.mark.parametrize("view", list(VIEW_MARKERS))
def test_page_views_render(view, app_env):
    """Each view of the page, opened from a shared link (?nps_view=...), renders its content."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params["nps_view"] = view
    at.run()
    at.switch_page("pages/nps.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(m.label == "NPS" for m in at.metric)
    # The interval's method is in "How this is computed" (issue 19 moves methodology out of the captions).
    assert any("adjusted Wald (Rocks 2016)" in m.value for e in at.expander if e.label == "How this is computed"
               for m in e.markdown)
    assert VIEW_MARKERS[view](at), (view, [s.value for s in at.subheader], [i.value for i in at.info])


def test_tiny_p_values_survive_and_read_plainly():
    """z = 9: scipy.stats.norm.sf(9) * 2 = 2.2571768e-19 (1 - cdf would round it to 0)."""
    d = nps_difference((900, 50, 50), (300, 300, 400))
    assert 0 < d.p_value < 1e-10
    assert nps_difference((60, 25, 15), (40, 30, 30)).p_value == pytest.approx(
        2 * stats.norm.sf(0.3398058 / 0.1095707), rel=1e-5)
    assert format_p(2.2571768e-19) == "p < 0.0001" and format_p(0.0019271) == "p = 0.0019"
    assert format_p(0.133) == "p = 0.133"


def test_readable_outcome_table_puts_the_interval_beside_the_rate(outcome_store):
    """X's repurchase 1 of 1 with Wilson (0.2065, 1.0) from statsmodels, laid out as text."""
    link = behaviour_after_answer(outcome_store, Filters(date(2025, 1, 1), date(2025, 6, 30)), NPS_SCALE, 30)
    table = link.readable_table()
    # statsmodels: proportion_confint(1, 1, alpha=0.05, method="wilson") = (0.2065493143772374, 1.0)
    assert table.iloc[0]["repurchased within 30 days (95 % CI)"] == "100.0% (20.7% – 100.0%)"
    assert table.iloc[0]["revenue per customer in 30 days (95 % CI)"] == "$50.00"  # n = 1: no interval


def test_an_empty_window_gives_empty_results_not_errors(hand_store):
    """No answers in 2020: every view returns an empty or NaN result the page can explain."""
    empty = Filters(date(2020, 1, 1), date(2020, 1, 31))
    assert survey_breakdown(hand_store, empty, NPS_SCALE).empty
    assert survey_trend(hand_store, empty, NPS_SCALE, "week").empty
    d = compare_with_previous_period(hand_store, empty, NPS_SCALE)
    assert (d.n_a, d.n_b) == (0, 0) and math.isnan(d.ci_low)
    link = behaviour_after_answer(hand_store, empty, NPS_SCALE, 30)
    assert link.followed_up == 0 and "Not enough answers" in behaviour_verdict(link)
    assert bottom_box_answers(hand_store, empty, NPS_SCALE).empty


def test_behaviour_and_theme_charts_carry_their_intervals(outcome_store):
    from engagement.voice.themes import extract_themes

    link = behaviour_after_answer(outcome_store, Filters(date(2025, 1, 1), date(2025, 6, 30)), NPS_SCALE, 30)
    spec = nps_charts.behaviour_chart(link, "revenue").to_dict()
    rule = spec["layer"][1]["encoding"]
    assert (rule["x"]["field"], rule["x2"]["field"]) == ("revenue_ci_low", "revenue_ci_high")
    assert {"customers"} <= {t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]}
    themes = extract_themes(pd.Series(["late parcel", "parcel was late", "stale beans", "beans were stale"] * 6), 2)
    spec = nps_charts.theme_share_chart(themes).to_dict()
    assert spec["layer"][1]["encoding"]["x2"]["field"] == "ci_high"
    assert "n = 24 comments" in spec["title"]


def test_report_help_lists_the_survey_commands(capsys):
    """argparse formats help with %: a bare "95 % interval" in a help text used to crash --help."""
    assert cli_main(["report", "--help"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("nps", "csat", "nps-outcomes", "csat-outcomes", "95 % interval"))


def test_an_empty_survey_page_says_whether_answers_exist_at_all(tmp_path, monkeypatch, demo_store):
    """An orders-only brand (Online Retail) has no survey answers: the page said "Widen the date range or clear the
    filters", which cannot help. It now says none is loaded; a window without answers names where they are."""
    import pandas as pd

    from conftest import open_app_page
    from engagement.voice.nps import answer_span
    from engagement.workbench import open_workbench

    span = answer_span(demo_store)
    answers = demo_store.cursor().execute("SELECT count(*), min(responded_at)::DATE, max(responded_at)::DATE "
                                          "FROM survey_answers WHERE kind = 'nps'").fetchall()[0]
    assert (span.answers, span.first_day, span.last_day) == answers and span.answers > 0

    db = tmp_path / "orders_only.duckdb"
    store = open_workbench(db, read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": ["o1", "o2"], "customer_id": ["A", "B"], "ordered_at": pd.to_datetime(["2025-01-10", "2025-02-10"]),
        "net_revenue": [10.0, 20.0], "status": ["paid", "paid"]}))
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    at = open_app_page("pages/nps.py")
    assert any("No NPS answers are loaded. Load a surveys export" in i.value for i in at.info)
    assert not any("Widen the date range" in w.value for w in at.warning)
