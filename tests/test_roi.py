"""ROI: the OLS adjustment against statsmodels on raw rows, the holdout against scipy, ROI by hand."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from engagement import cli
from engagement.value.engagement_score import EngagementWeights
from engagement.value.kpis import data_range, default_filters
from engagement.value.roi import (
    METHOD_HOLDOUT, METHOD_OBSERVATIONAL, SRM_ALPHA, RoiInputError, experiments, holdout_estimate,
    materialise_outcomes, observational_estimate, programme_cost, roi_from_incremental,
    roi_report,
)
from engagement.stats.ols import ols_from_moments
from engagement.workbench import open_workbench

from conftest import SHARED_DATA

HILLSTROM = Path(str(SHARED_DATA) + "/hillstrom/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv.gz")
FORMULA = "post_revenue ~ engaged + pre_spend + tenure_years + C(acquisition_channel)"


@pytest.fixture(scope="module")
def demo_filters(demo_store):
    return default_filters(data_range(demo_store))


@pytest.fixture(scope="module")
def raw_outcomes(demo_store, demo_filters) -> pd.DataFrame:
    """The per-customer rows the regression is about (pulled out of DuckDB only for the test)."""
    cur, _, _ = materialise_outcomes(demo_store, demo_filters, 90, EngagementWeights(), 10.0)
    return cur.execute("SELECT * FROM customer_outcomes").df()


def _in_our_order(names: tuple[str, ...], reference: pd.Series) -> np.ndarray:
    """statsmodels' values reordered to our term names (it names dummies ``C(column)[T.level]``)."""
    def theirs(name: str) -> str:
        if name == "intercept":
            return "Intercept"
        if "[" in name:
            column, level = name[:-1].split("[")
            return next(k for k in reference.index if k.startswith(f"C({column})") and k.endswith(f"[T.{level}]"))
        return name

    return reference.loc[[theirs(n) for n in names]].to_numpy()


def test_ols_from_sql_moments_matches_statsmodels_on_raw_rows(demo_store, demo_filters, raw_outcomes):
    """Coefficients, classical and HC1 standard errors from DuckDB sums equal statsmodels fitted on the rows."""
    estimate = observational_estimate(demo_store, demo_filters, post_days=90, threshold=10.0)
    classical = smf.ols(FORMULA, data=raw_outcomes).fit()
    robust = smf.ols(FORMULA, data=raw_outcomes).fit(cov_type="HC1")
    fit = estimate.fit
    assert fit.n == int(classical.nobs)
    # Same reference level as statsmodels: the first channel in sorted order.
    assert np.allclose(fit.coefficients, _in_our_order(fit.names, classical.params), rtol=1e-6, atol=1e-8)
    assert np.allclose(fit.se_classical, _in_our_order(fit.names, classical.bse), rtol=1e-6)
    assert np.allclose(fit.se_hc1, _in_our_order(fit.names, robust.bse), rtol=1e-6)
    assert fit.r_squared == pytest.approx(classical.rsquared, rel=1e-6)
    low, high = robust.conf_int().loc["engaged"]
    assert (estimate.adjusted_ci_low, estimate.adjusted_ci_high) == pytest.approx((low, high), rel=1e-6)


def test_naive_difference_matches_scipy_welch(demo_store, demo_filters, raw_outcomes):
    estimate = observational_estimate(demo_store, demo_filters, post_days=90, threshold=10.0)
    engaged = raw_outcomes.loc[raw_outcomes["engaged"] == 1, "post_revenue"]
    others = raw_outcomes.loc[raw_outcomes["engaged"] == 0, "post_revenue"]
    welch = stats.ttest_ind(engaged, others, equal_var=False).confidence_interval(0.95)
    assert estimate.naive.difference == pytest.approx(engaged.mean() - others.mean(), rel=1e-9)
    assert (estimate.naive.ci_low, estimate.naive.ci_high) == pytest.approx((welch.low, welch.high), rel=1e-9)


def test_moment_assembly_on_hillstrom_matches_statsmodels():
    """Real data (Hillstrom 2008 e-mail test, 64,000 customers): spend ~ emailed + history + recency +
    C(channel) fitted from per-channel sums (pandas here, DuckDB in the app) equals statsmodels."""
    data = pd.read_csv(HILLSTROM)
    data["emailed"] = (data["segment"] != "No E-Mail").astype(float)
    variables = ("emailed", "history", "recency", "spend")
    grouped = data.groupby("channel")
    moments = pd.DataFrame({"channel": sorted(data["channel"].unique())}).set_index("channel")
    moments["n"] = grouped.size()
    for i, a in enumerate(variables):
        moments[f"s_{a}"] = grouped[a].sum()
        for b in variables[i:]:
            moments[f"s_{a}__{b}"] = (data[a] * data[b]).groupby(data["channel"]).sum()
    moments = moments.reset_index()
    beta, _ = ols_from_moments(moments, ("emailed", "history", "recency"), "spend", "channel")
    levels = dict(zip(moments["channel"], [beta[0]] + [beta[0] + b for b in beta[4:]]))
    residual = data["spend"] - (data["channel"].map(levels) + beta[1] * data["emailed"]
                                + beta[2] * data["history"] + beta[3] * data["recency"])
    meat = pd.DataFrame({"channel": moments["channel"]}).set_index("channel")
    weights = residual ** 2
    meat["n"] = weights.groupby(data["channel"]).sum()
    for i, a in enumerate(variables[:3]):
        meat[f"s_{a}"] = (weights * data[a]).groupby(data["channel"]).sum()
        for b in variables[i:3]:
            meat[f"s_{a}__{b}"] = (weights * data[a] * data[b]).groupby(data["channel"]).sum()
    _, fit = ols_from_moments(moments, ("emailed", "history", "recency"), "spend", "channel", meat=meat.reset_index())
    reference = smf.ols("spend ~ emailed + history + recency + C(channel)", data=data).fit(cov_type="HC1")
    assert np.allclose(fit.coefficients, _in_our_order(fit.names, reference.params), rtol=1e-8)
    assert np.allclose(fit.se_hc1, _in_our_order(fit.names, reference.bse), rtol=1e-8)


def test_holdout_matches_scipy_on_raw_rows(demo_store):
    """Revenue in the 30 days from assignment, per customer, recomputed in pandas from the raw tables."""
    cur = demo_store.cursor()
    assignments = cur.execute("SELECT * FROM experiment_assignments WHERE experiment_id = 'EXP-recs-email'").df()
    orders = cur.execute("SELECT customer_id, ordered_at, net_revenue, status FROM orders").df()
    orders = orders[~orders["status"].isin(["refunded", "cancelled"])]
    joined = assignments.merge(orders, on="customer_id", how="left")
    inside = (joined["ordered_at"] >= joined["assigned_at"]) & (
        joined["ordered_at"] < joined["assigned_at"] + pd.Timedelta(days=30))
    joined["revenue"] = np.where(inside, joined["net_revenue"].astype(float), 0.0)
    per_customer = joined.groupby(["customer_id", "variant"], as_index=False)["revenue"].sum()
    treated = per_customer.loc[per_customer["variant"] == "treatment", "revenue"]
    control = per_customer.loc[per_customer["variant"] == "control", "revenue"]
    welch = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(0.95)

    estimate = holdout_estimate(demo_store, "EXP-recs-email", outcome_days=30)
    d = estimate.difference
    assert (d.treated_n, d.control_n) == (len(treated), len(control))
    assert d.difference == pytest.approx(treated.mean() - control.mean(), rel=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((welch.low, welch.high), rel=1e-9)


def test_roi_arithmetic_by_hand():
    """Incremental revenue 10,000 (95 % CI 5,000 to 15,000), margin 40 %, cost 2,000 over 3 months.
    Gross profit 4,000: ROI = (4,000 - 2,000) / 2,000 = 1.0; CI (2,000 - 2,000) / 2,000 = 0 to
    (6,000 - 2,000) / 2,000 = 2.0. Monthly profit 4,000 / 3 = 1,333.33: payback 2,000 / 1,333.33 = 1.5 months;
    CI 2,000 / (6,000 / 3) = 1.0 to 2,000 / (2,000 / 3) = 3.0."""
    (roi, low, high), (payback, p_low, p_high) = roi_from_incremental(10_000, (5_000, 15_000), 2_000, 0.4, 3)
    assert (roi, low, high) == pytest.approx((1.0, 0.0, 2.0))
    assert (payback, p_low, p_high) == pytest.approx((1.5, 1.0, 3.0))
    # A lower bound at or below zero profit never pays back: no upper bound on payback.
    _, (_, _, unbounded) = roi_from_incremental(10_000, (-1_000, 15_000), 2_000, 0.4, 3)
    assert math.isinf(unbounded)
    with pytest.raises(RoiInputError):
        roi_from_incremental(10_000, (5_000, 15_000), 0, 0.4, 3)


def test_programme_cost_is_prorated_by_day():
    """Email 310 in January 2025 (31 days), 280 in February (28 days); 17 Jan - 14 Feb:
    15 / 31 * 310 = 150 plus 14 / 28 * 280 = 140, total 290. SMS (100 in January) only if asked."""
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("program_costs", pd.DataFrame({
        "period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01"]),
        "program": ["email", "email", "sms"], "channel": ["email", "email", "sms"], "cost": [310.0, 280.0, 100.0],
    }))
    assert programme_cost(store, date(2025, 1, 17), date(2025, 2, 14), "email") == pytest.approx(290.0)
    assert programme_cost(store, date(2025, 1, 17), date(2025, 2, 14)) == pytest.approx(290.0 + 15 / 31 * 100)
    store.close()


def test_demo_engaged_customers_spend_more_even_after_adjustment(demo_store, demo_filters):
    """Planted truth: latent engagement raises the purchase rate. The naive gap is positive, and
    adjusting for prior spend, tenure and channel shrinks it without removing it."""
    estimate = observational_estimate(demo_store, demo_filters, post_days=90, threshold=10.0)
    assert estimate.naive.ci_low > 0
    assert estimate.adjusted_ci_low > 0
    assert 0 < estimate.shrinkage < 1


def test_auto_prefers_a_clean_holdout(demo_store, demo_filters):
    """Auto takes the most recent experiment with a control arm whose sample-ratio test passes.
    The SMS win-back test has a planted mismatch (8 % of control lost): the smallest p of the three
    (at 5,000 customers it is about 0.007; at the 20,000-customer default demo about 1e-5, so skipped)."""
    known = experiments(demo_store)
    assert known.set_index("experiment_id")["srm_p_value"].idxmin() == "EXP-sms-winback"
    clean = known[known["has_control"] & (known["srm_p_value"] >= SRM_ALPHA)]
    report = roi_report(demo_store, demo_filters, margin=0.4, programme="email")
    assert report.result.method == METHOD_HOLDOUT
    assert report.holdout.experiment_id == clean["experiment_id"].iloc[0]
    observational = roi_report(demo_store, demo_filters, margin=0.4, method=METHOD_OBSERVATIONAL, typed_cost=1_000)
    r = observational.result
    assert r.cost == 1_000 and r.cost_source == "typed in"
    assert r.roi == pytest.approx((0.4 * r.incremental_revenue - 1_000) / 1_000)
    assert r.incremental_revenue == pytest.approx(observational.observational.adjusted * r.units)


def test_cli_report_roi_json(demo_db_path):
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["report", "roi", "--db", str(demo_db_path), "--margin", "0.4", "--format", "json",
                         "--method", "observational"])
    assert code == 0
    record = json.loads(out.getvalue())
    assert record["method"] == "observational" and record["is_observational"] is True
    assert record["roi_ci_low"] <= record["roi"] <= record["roi_ci_high"]
    assert record["adjusted_difference"] < record["naive_difference"]


def test_cli_report_engagement_csv(demo_db_path):
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["report", "engagement", "--db", str(demo_db_path), "--format", "csv", "--threshold", "10"])
    assert code == 0
    frame = pd.read_csv(io.StringIO(out.getvalue()))
    assert "revenue_per_customer" in set(frame["metric"])


def test_cli_rejects_bad_margin(demo_db_path, capsys):
    assert cli.main(["report", "roi", "--db", str(demo_db_path), "--margin", "40"]) == 1
    assert "margin" in capsys.readouterr().err


def test_roi_page_labels_the_observational_method(app_env):
    """Chosen through the link, the observational method is labelled as such, with the shrinkage shown."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params["roi_method"] = "observational"
    at.query_params["roi_margin"] = "50.0"
    at.run()
    at.switch_page("pages/roi.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("not causal" in w.value for w in at.warning)
    assert any("shrinks the naive gap" in m.value for m in at.markdown)
    assert any(m.label == "ROI" for m in at.metric)


def test_charts_show_break_even_and_both_estimates(demo_store, demo_filters):
    from engagement.charts import roi as charts

    report = roi_report(demo_store, demo_filters, method=METHOD_OBSERVATIONAL)
    spec = charts.roi_interval_chart(report.result).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert rows[0]["zero"] == 0 and rows[0]["ci_low"] == pytest.approx(report.result.roi_ci_low)
    spec = charts.adjustment_chart(report.observational).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["estimate"] for r in rows] == ["Naive difference", "Adjusted (OLS)"]
    assert rows[1]["value"] == pytest.approx(report.observational.adjusted)


def test_holdout_flags_outcome_windows_past_the_data(demo_store):
    """The data end on 31 Oct 2026; the SMS win-back test assigned customers until late summer, so a
    90-day window from its last assignment runs past the data, a 30-day one from the subject-line test does not."""
    late = holdout_estimate(demo_store, "EXP-sms-winback", outcome_days=90)
    early = holdout_estimate(demo_store, "EXP-subject-line", outcome_days=30)
    assert late.data_as_of == date(2026, 10, 31)
    assert late.last_assigned + timedelta(days=90) > late.data_as_of
    assert not late.windows_complete and early.windows_complete


def test_a_holdout_is_not_charged_every_programmes_cost(demo_db_path, demo_filters, tmp_path):
    """Before, the default charged e-mail + SMS + loyalty + community + personalization to one subject-line
    test (ROI -90 % on the demo). Without experiment metadata it asks for the programme, and charges only the
    one named."""
    import shutil

    from engagement.value.roi import ProgrammeNeeded, programmes

    path = tmp_path / "no_metadata.duckdb"
    shutil.copy(demo_db_path, path)
    import duckdb

    with duckdb.connect(str(path)) as con:  # a database whose experiments nobody described
        con.execute("DELETE FROM experiments")
    store = open_workbench(path, read_only=True)
    try:
        with pytest.raises(ProgrammeNeeded, match="charge only the programme that paid for"):
            roi_report(store, demo_filters, margin=0.4)
        report = roi_report(store, demo_filters, margin=0.4, programme="email")
        r = report.result
        assert r.cost == pytest.approx(programme_cost(store, r.period_start, r.period_end, "email"))
        assert r.cost < programme_cost(store, r.period_start, r.period_end)
        assert len(programmes(store)) > 1
    finally:
        store.close()


def test_a_holdout_is_charged_the_programme_its_metadata_names(demo_store, demo_filters):
    """Issue 17: ROI uses the experiment's programme from the `experiments` metadata. The demo's metadata
    (engagement/demo.py) names one programme per test (sms for the win-back, personalization for the others)."""
    from engagement.experiments.catalog import metadata_for

    report = roi_report(demo_store, demo_filters, margin=0.4)
    r = report.result
    programme = metadata_for(demo_store, report.holdout.experiment_id).programme
    assert programme in ("sms", "personalization")
    assert r.cost == pytest.approx(programme_cost(demo_store, r.period_start, r.period_end, programme))
    assert f"program_costs: {programme}," in r.cost_source


def test_holdout_banner_says_caused_only_when_the_interval_excludes_zero():
    import dataclasses

    from engagement.value.roi import RoiResult, holdout_banner

    names = [f.name for f in dataclasses.fields(RoiResult)]
    base = dict.fromkeys(names, 0.0)
    spanning = RoiResult(**{**base, "incremental_revenue_ci_low": -50.0, "incremental_revenue_ci_high": 80.0})
    kind, text = holdout_banner(spanning)
    assert kind == "info" and "caused" not in text and "includes zero" in text
    kind, text = holdout_banner(RoiResult(**{**base, "incremental_revenue_ci_low": 5.0,
                                             "incremental_revenue_ci_high": 80.0}))
    assert kind == "success" and "caused" in text


def test_an_engagement_score_of_purchases_alone_is_flagged(demo_store, demo_filters):
    """An orders-only brand scores engagement on purchases alone: "engaged" then means "bought most often before",
    and the observational ROI says so (the demo with every other weight 0 is that situation)."""
    orders_only = EngagementWeights(email_clicks=0.0, sms_clicks=0.0, site_visits=0.0, reviews=0.0, referrals=0.0,
                                    community_posts=0.0)
    assert observational_estimate(demo_store, demo_filters, post_days=90, weights=orders_only).purchases_only
    assert not observational_estimate(demo_store, demo_filters, post_days=90).purchases_only


def test_no_loaded_cost_names_its_period_as_the_pages_do(demo_store, demo_filters, monkeypatch):
    """The refusal wrote its dates as 1998-04-02 beside pages that write 02 Apr 1998 (CDNOW, which loads no
    programme costs)."""
    from engagement.value import roi

    monkeypatch.setattr(roi, "programme_cost", lambda *args, **kwargs: 0.0)
    with pytest.raises(RoiInputError, match=r"between \d\d [A-Z][a-z]{2} \d{4} and \d\d [A-Z][a-z]{2} \d{4} "
                                            r"\(the outcome period\); type a cost in instead"):
        roi.roi_report(demo_store, demo_filters, method=METHOD_OBSERVATIONAL)
