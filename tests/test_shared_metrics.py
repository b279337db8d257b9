"""A number shown on two pages (or a page and the CLI) has one definition and one value on the demo."""

from __future__ import annotations

import importlib
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from scipy import stats as scipy_stats
from conftest import open_app_page
from streamlit.testing.v1 import AppTest

from engagement import cli, metrics, ui
from engagement.experiments.analysis import ExperimentQuery, experiment_analysis
from engagement.voice.nps import NPS_INTERVAL_METHOD
from engagement.value.roi import experiments as roi_experiments
from engagement.value.roi import holdout_estimate


def _cli_json(argv: list[str]) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(argv) == 0
    return json.loads(out.getvalue())


def test_sample_ratio_p_is_the_same_on_roi_and_experiments(demo_store, demo_db_path):
    """Before: ROI ran a binomial test (0.94 on the demo's subject-line test), Experiments a chi-square
    (0.932). Both now quote scipy's chi-square goodness of fit against an equal split."""
    known = roi_experiments(demo_store)
    clean = known[known["has_control"]]
    assert not clean.empty
    for row in clean.itertuples():
        analysis = experiment_analysis(demo_store, ExperimentQuery(row.experiment_id))
        assert row.srm_p_value == pytest.approx(analysis.srm.p_value, rel=1e-12)
        treated = row.customers - row.control_customers
        reference = scipy_stats.chisquare([row.control_customers, treated]).pvalue
        assert row.srm_p_value == pytest.approx(reference, rel=1e-9)
    experiment = str(clean["experiment_id"].iloc[0])
    roi = _cli_json(["report", "roi", "--db", str(demo_db_path), "--method", "holdout", "--experiment", experiment,
                     "--programme", "email", "--format", "json"])
    report = _cli_json(["report", "experiment", experiment, "--db", str(demo_db_path), "--format", "json"])
    assert roi["sample_ratio_p_value"] == pytest.approx(report["srm_p_value"], rel=1e-12)


# ------------------------------------------------- the registry, and the numbers it formats on every page


def _texts(at: AppTest) -> str:
    """The page's text as a reader sees it: markdown escapes (ui.plain's backslashes) and bold marks removed."""
    text = "\n".join(str(e.value) for kind in ("caption", "markdown", "info") for e in at.get(kind))
    return text.replace("\\", "").replace("**", "").replace(ui.WORD_JOINER, "")


def test_every_overview_kpi_and_its_computing_function_are_in_the_registry():
    from engagement.value.kpis import KPI_DEFINITIONS

    for key in KPI_DEFINITIONS:
        assert metrics.metric(key).label  # KeyError before the registry existed
    for m in metrics.METRICS.values():
        module, _, name = m.computed_by.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), m.computed_by
    assert metrics.metric("nps").interval_method == NPS_INTERVAL_METHOD


def test_registry_rounding_never_shows_minus_zero():
    # By hand: -0.0004 of a share is -0.04 pts, which rounds to 0.0 at one decimal.
    assert metrics.format_change("repeat_purchase_rate", -0.0004) == "+0.0 pts"
    assert metrics.format_change("average_order_value", -0.001) == "+$0.00"
    assert metrics.format_value("nps", -0.4) == "+0"
    assert metrics.format_change("nps", 12.66) == "+12.7 pts"


def test_nps_change_reads_the_same_on_overview_nps_page_and_cli(app_env, demo_db_path):
    """Before: the demo's NPS change read "+13" on the Overview and "+12.7 pts" on the NPS page (issue 17)."""
    overview = {m.label: m for m in open_app_page("pages/overview.py").metric}
    nps_page = {m.label: m for m in open_app_page("pages/nps.py").metric}
    assert overview["NPS"].value == nps_page["NPS"].value
    assert nps_page["NPS"].delta == f"{overview['NPS'].delta} vs before"
    kpis = _cli_json(["report", "kpis", "--db", str(demo_db_path), "--format", "json"])
    record = next(r for r in kpis["metrics"] if r["metric"] == "nps")
    assert record["shown_change"] == overview["NPS"].delta
    assert record["shown_value"] == overview["NPS"].value
    for r in kpis["metrics"]:  # every KPI: the CLI's shown value is the Overview's card
        assert overview[r["label"]].value == r["shown_value"]
        assert overview[r["label"]].delta == r["shown_change"]


def test_roi_and_experiments_name_their_revenue_differences_apart_and_relate_them(app_env, demo_store):
    """Before: $4.95 (ROI) and $3.23 (Experiments) for one test, both called a difference per customer, with
    nothing saying that one is a plain difference of means and the other CUPED-adjusted."""
    experiment = "EXP-recs-email"  # the demo's holdout (engagement/demo.py)
    holdout = holdout_estimate(demo_store, experiment)
    roi = _texts(open_app_page("pages/roi.py", {"roi_method": "holdout", "roi_experiment": experiment}))
    unadjusted = metrics.metric("incremental_revenue_per_customer")
    assert f"{unadjusted.label}: {metrics.format_value(unadjusted.key, holdout.difference.difference)}" in roi
    assert "CUPED" in roi
    analysis = experiment_analysis(demo_store, ExperimentQuery(experiment))
    revenue = next(r for r in analysis.results if r.metric == "revenue_per_customer")
    # The Experiments page's unadjusted difference is ROI's difference (same arms, same 30-day window).
    assert revenue.estimate.mean_variant - revenue.estimate.mean_control == pytest.approx(
        holdout.difference.difference, rel=1e-9)
    page = _texts(open_app_page("pages/experiments.py", {"experiments_id": experiment}))
    adjusted = metrics.metric("revenue_per_customer_lift_cuped")
    assert adjusted.label in page
    assert metrics.format_change(adjusted.key, revenue.estimate.absolute_lift) in page
    assert metrics.format_change(adjusted.key, holdout.difference.difference) in page


def test_average_p_alive_is_explained_against_the_lapsed_share(app_env):
    """Before: "Average P(alive) 88.9 %" with no word on why half the customers are lapsed."""
    at = open_app_page("pages/rfm_clv.py", {"rfm_clv_section": "CLV forecast"})
    assert "Average P(alive)" in [m.label for m in at.metric]
    assert "lapsed" in _texts(at)


def test_overview_segment_filter_does_not_compare_today_s_stage_with_the_past(app_env):
    """Before: at_risk + repeat showed "repeat rate -42 pts": today's at-risk customers were repeat buyers in
    the period before. The page now says the filter is today's stage and shows no change."""
    at = open_app_page("pages/overview.py", {"segment": "at_risk,repeat"})
    assert at.session_state["filters"].segments == ("at_risk", "repeat")
    assert all(m.delta in (None, "") for m in at.metric), [m.delta for m in at.metric]
    assert any("stage today" in i.value for i in at.info)


def test_docs_metrics_carries_the_registry_as_generated():
    """docs/metrics.md's registry block is metrics.registry_table() verbatim: a metric added to (or relabelled
    in) the registry without regenerating the docs fails here, naming the metrics the docs lack."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    start, end = "<!-- registry:start -->\n", "\n<!-- registry:end -->"
    assert start in text and end in text, "docs/metrics.md lost its registry markers"
    block = text.split(start, 1)[1].split(end, 1)[0]
    missing = [key for key in metrics.METRICS if f"| `{key}` |" not in block]
    assert missing == [], f"registry metrics missing from docs/metrics.md: {missing}"
    assert block == metrics.registry_table(), "regenerate: print(engagement.metrics.registry_table())"


def test_roi_checks_the_sample_ratio_over_every_arm(demo_db_path, tmp_path):
    """A three-arm test at an equal split puts a third of the units in control. ROI used to test control against
    the other arms at 50/50 (chi-square of 300 vs 610: p < 1e-20) and so dropped a clean holdout as broken; it now
    quotes the Experiments page's check over every arm. Reference: scipy's chi-square on the raw counts."""
    import shutil

    from engagement.experiments.analysis import ExperimentQuery as Query
    from engagement.intake.ingest import ingest_file
    from engagement.workbench import open_workbench

    import duckdb

    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    with duckdb.connect(str(path), read_only=True) as con:
        ids = [r[0] for r in con.execute("select customer_id from customers order by customer_id limit 910").fetchall()]
    store = open_workbench(path, read_only=False)
    try:
        arms = ["control"] * 300 + ["offer_a"] * 305 + ["offer_b"] * 305
        csv = tmp_path / "assignments.csv"
        csv.write_text("experiment_id,customer_id,variant,assigned_at\n" + "".join(
            f"EXP-three-arms,{c},{v},2026-03-02 10:00:00\n" for c, v in zip(ids, arms)))
        assert ingest_file(store, "experiment_assignments", csv).status == "loaded"
        row = roi_experiments(store).set_index("experiment_id").loc["EXP-three-arms"]
        reference = scipy_stats.chisquare([300, 305, 305]).pvalue  # about 0.97
        assert row["srm_p_value"] == pytest.approx(reference, rel=1e-9)
        assert row["srm_p_value"] == pytest.approx(
            experiment_analysis(store, Query("EXP-three-arms")).srm.p_value, rel=1e-12)
    finally:
        store.close()
