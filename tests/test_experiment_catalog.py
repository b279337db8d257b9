"""Experiment metadata (the `experiments` export kind) and the experiments list (issue 17)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout

import duckdb
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from engagement import cli
from engagement.experiments.catalog import ExperimentMetadata, experiments_list, metadata_for
from engagement.experiments.options import ExperimentInputError
from engagement.intake.experiment_metadata import save_metadata
from engagement.intake.ingest import ingest_file
from engagement.workbench import open_workbench

HEADER = ("experiment_id,name,hypothesis,programme,primary_metric,guardrail_metrics,intended_split,planned_units,"
          "start_date,end_date\n")


@pytest.fixture()
def writable_demo(demo_db_path, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    store = open_workbench(path, read_only=False)
    yield store
    store.close()


def test_metadata_loads_through_the_normal_path_and_replaces_the_row(writable_demo, tmp_path):
    csv = tmp_path / "experiments.csv"
    csv.write_text(HEADER + 'EXP-subject-line,Subject line v2,Names lift opens,email,revenue_per_customer,'
                            '"conversion,orders_per_customer","control=40,treatment=60",700,2026-04-01,2026-04-30\n')
    result = ingest_file(writable_demo, "experiments", csv)
    assert result.status == "loaded", result.message
    meta = metadata_for(writable_demo, "EXP-subject-line")
    assert (meta.name, meta.programme, meta.primary_metric, meta.planned_units) == (
        "Subject line v2", "email", "revenue_per_customer", 700)
    assert meta.guardrail_metrics == "conversion,orders_per_customer"
    assert str(meta.start_date) == "2026-04-01" and str(meta.end_date) == "2026-04-30"


def test_the_suite_refuses_bad_metadata_with_the_reason(writable_demo, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER + "EXP-x,,h,email,clicks,,,-5,2026-13-01,\n")
    result = ingest_file(writable_demo, "experiments", csv)
    assert result.status == "rejected"
    failed = {r.description for r in result.report.results if not r.success}
    assert {"name is empty or unreadable", "planned_units is not positive", "start_date is not a date",
            "primary_metric is not conversion, revenue_per_customer or orders_per_customer"} <= failed


def test_an_analyst_edit_is_saved_and_read_back(writable_demo):
    before = metadata_for(writable_demo, "EXP-recs-email")
    edited = ExperimentMetadata(**{**before.__dict__, "name": "Recs e-mail (edited)", "planned_units": 900})
    save_metadata(writable_demo, edited)
    assert metadata_for(writable_demo, "EXP-recs-email") == edited
    with pytest.raises(ExperimentInputError, match="not a metric"):
        save_metadata(writable_demo, ExperimentMetadata("EXP-recs-email", "x", primary_metric="clicks"))
    with pytest.raises(ExperimentInputError, match="variant=share"):
        save_metadata(writable_demo, ExperimentMetadata("EXP-recs-email", "x", intended_split="half"))
    assert metadata_for(writable_demo, "EXP-recs-email") == edited  # nothing lost on a refusal


def test_report_experiments_lists_each_experiment_with_independent_counts(demo_db_path, demo_store):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["report", "experiments", "--db", str(demo_db_path), "--format", "json"]) == 0
    listed = {r["experiment_id"]: r for r in json.loads(out.getvalue())["experiments"]}
    with duckdb.connect(str(demo_db_path), read_only=True) as con:  # counted apart from the package's SQL
        counts = con.execute("select experiment_id, variant, count(*) from experiment_assignments "
                             "group by all order by all").fetchall()
    assert set(listed) == {c[0] for c in counts} == {"EXP-recs-email", "EXP-subject-line", "EXP-sms-winback"}
    for experiment_id, row in listed.items():
        arms = [(v, n) for e, v, n in counts if e == experiment_id]
        assert row["arms"] == ", ".join(v for v, _ in arms)
        assert row["units"] == sum(n for _, n in arms)
        # The demo's metadata says 50/50 (engagement/demo.py): scipy's chi-square against an equal split.
        assert row["srm_p_value"] == pytest.approx(scipy_stats.chisquare([n for _, n in arms]).pvalue, rel=1e-9)
        assert row["primary_metric"] == "conversion" and row["primary_status"] in (
            "positive", "negative", "inconclusive", "untrustworthy", "early")
        assert row["name"] and row["programme"] and row["start"] <= row["end"]
    assert listed["EXP-recs-email"]["primary_status"] == "positive"  # the demo plants a real lift there
    frame = experiments_list(demo_store)
    assert list(frame["experiment_id"]) == list(listed)


def _experiments_page(store, monkeypatch, experiment_id: str):
    """The app's Experiments page on ``store``'s database (closed here: the app opens it for writing itself),
    showing ``experiment_id``."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from engagement import ui

    path = store.path
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(path))
    monkeypatch.delenv("ENGAGEMENT_READ_ONLY", raising=False)
    ui.get_store.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.query_params["experiments_id"] = experiment_id
    at.run()
    at.switch_page("pages/experiments.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_experiments_page_lists_experiments_and_saves_an_analyst_edit(writable_demo, monkeypatch):
    from engagement import ui

    at = _experiments_page(writable_demo, monkeypatch, "EXP-subject-line")
    listing = at.dataframe[0].value
    assert set(listing["experiment_id"]) == {"EXP-recs-email", "EXP-subject-line", "EXP-sms-winback"}
    name = next(t for t in at.text_input if t.label == "Name")
    name.set_value("Subject line, second look")
    next(b for b in at.button if b.label == "Save metadata").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Saved as load" in s.value for s in at.success)
    at.run()  # read back from the database (the load changed the data version, so no cached value)
    assert next(t for t in at.text_input if t.label == "Name").value == "Subject line, second look"
    listing = at.dataframe[0].value
    assert listing.loc[listing["experiment_id"] == "EXP-subject-line", "name"].item() == "Subject line, second look"
    ui.get_store.clear()


def test_the_metadata_forms_split_example_names_the_experiments_arms(writable_demo, monkeypatch):
    """The intended split's example read "control=50,treatment=50" whatever the arms: Hillstrom's three arms (and
    their names) were not in it."""
    from engagement import ui

    arms = ["Mens E-Mail", "No E-Mail", "Womens E-Mail"]
    writable_demo.load_frame("experiment_assignments", pd.DataFrame({
        "experiment_id": "EXP-three", "customer_id": [f"C{i:06d}" for i in range(1, 31)],
        "variant": [arms[i % 3] for i in range(30)], "assigned_at": pd.Timestamp("2026-06-01")}))
    at = _experiments_page(writable_demo, monkeypatch, "EXP-three")
    split = next(t for t in at.text_input if t.label == "Intended split" and t.key != "experiments_split")
    assert split.placeholder == "Mens E-Mail=33.3,No E-Mail=33.3,Womens E-Mail=33.3"
    ui.get_store.clear()
