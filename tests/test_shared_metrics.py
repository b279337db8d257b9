"""A number shown on two pages (or a page and the CLI) has one definition and one value on the demo."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest
from scipy import stats as scipy_stats

from engagement import cli
from engagement.experiments.analysis import ExperimentQuery, experiment_analysis
from engagement.value.roi import experiments as roi_experiments


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
