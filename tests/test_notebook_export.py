"""Views exported as notebooks: the source they contain rebuilds the same arguments, and an exported
Overview notebook, executed with nbclient against the demo database, gives the page's numbers."""

from __future__ import annotations

import datetime
import enum
import json
import math
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engagement import ui
from engagement.filters import Filters
from engagement.value.kpis import aov_by_month, overview_kpis
from engagement.notebook.export import (
    LibraryCall, ViewRecipe, as_frame, build_notebook, file_name, open_store, sql_literal, sql_text, to_source,
)
from engagement.sql import read_sql
from engagement.notebook.sql_safety import run_query
from engagement.warehouse.query_records import QueryRecord, record_queries

ROOT = Path(__file__).resolve().parents[1]
FILTERS = Filters(datetime.date(2025, 6, 1), datetime.date(2026, 5, 31), channels=("paid_social", "referral"))


class Colour(enum.Enum):
    RED = 1


@pytest.mark.parametrize("value", [
    FILTERS, datetime.date(2025, 1, 2), datetime.datetime(2025, 1, 2, 3, 4), Decimal("12.30"), None, True, 3,
    -0.5, "it's \"quoted\"", (1,), (), [1, (2, 3)], {"a": [datetime.date(2025, 1, 1)], "b": None},
    Colour.RED, datetime.timedelta(days=3),
])
def test_to_source_rebuilds_the_value(value):
    imports: set[str] = set()
    source = to_source(value, imports)
    namespace: dict = {"Colour": Colour}
    exec("\n".join(i for i in imports if "Colour" not in i), namespace)
    assert eval(source, namespace) == value


def test_to_source_handles_nan_numpy_and_refuses_the_rest():
    assert math.isnan(eval(to_source(float("nan"))))
    assert to_source(np.int64(7)) == "7"
    with pytest.raises(TypeError, match="Cannot write a object"):
        to_source(object())


@pytest.mark.parametrize("sql", ["SELECT 1", 'SELECT """x"""', "SELECT '\\n'", 'SELECT "a"', "SELECT 1\n-- end\n"])
def test_sql_literal_round_trips(sql):
    assert eval(sql_literal(sql)).strip("\n") == sql.strip("\n")


def test_nested_recordings_each_get_their_queries(hand_store):
    with record_queries() as outer:
        with record_queries() as inner:
            hand_store.query("kpis/data_range")
        hand_store.query("kpis/data_range")
    assert [q.name for q in inner] == ["kpis/data_range"]
    assert len(outer) == 2
    assert hand_store.last_query() == QueryRecord("kpis/data_range", {})


def test_library_calls_must_be_importable():
    def local_helper(store):
        return store

    with pytest.raises(ValueError, match="module-level"):
        LibraryCall.of(local_helper)


def test_recipe_notebook_holds_the_calls_and_the_exact_sql(demo_store):
    # The demo's last 12 months: the data covers the period before them, so both windows run (value.kpis).
    filters = Filters(datetime.date(2025, 11, 1), datetime.date(2026, 10, 31), channels=("paid_social", "referral"))
    with record_queries() as queries:
        overview_kpis(demo_store, filters)
    recipe = ViewRecipe("Overview KPIs", (LibraryCall.of(overview_kpis, filters, result_name="kpis").with_queries(queries),),
                        filters=filters)
    notebook = build_notebook(recipe, "/data/engagement.duckdb")
    nbformat.validate(notebook)
    sources = "\n".join(c.source for c in notebook.cells)
    assert "kpis = overview_kpis(store, filters)" in sources
    assert "channels=('paid_social', 'referral')" in sources
    assert read_sql("kpis/window_totals").strip() in sources  # the SQL text, in full
    # Two windows ran (the period and the one before), each shown with its own parameters.
    windows = [q for q in recipe.queries() if q.name == "kpis/window_totals"]
    assert [q.params["start"] for q in windows] == [datetime.datetime(2025, 11, 1), datetime.datetime(2024, 11, 1)]
    assert all(f"engagement/sql/{q.name}.sql" in sources for q in recipe.queries())
    assert "datetime.datetime(2025, 11, 1, 0, 0)" in sources and "datetime.datetime(2024, 11, 1, 0, 0)" in sources
    assert file_name(recipe) == "overview-kpis.ipynb"
    assert "-- engagement/sql/kpis/window_totals.sql" in sql_text(QueryRecord("kpis/window_totals", {"start": 1}))


def test_show_sql_text_runs_in_a_sql_cell_and_gives_the_same_rows(demo_store):
    """What "Show SQL" shows, pasted into the SQL notebook, returns exactly what the view's query returned."""
    for name in ("kpis/window_totals", "kpis/aov_by_month"):  # both read the window's days, chained in as a CTE
        days = QueryRecord("kpis/selected_days", FILTERS.params())
        query = QueryRecord(name, FILTERS.params(), inputs=(("selected_days", days),))
        shown = sql_text(query)
        code_lines = [line for line in shown.splitlines() if not line.lstrip().startswith("--")]
        assert not any("$" in line for line in code_lines)  # every parameter filled in
        pasted = run_query(demo_store, shown)
        expected = demo_store.query(name, FILTERS.params(), inputs=query.inputs)
        # Same rows and values; floating-point aggregates (stddev over DOUBLE) may differ in the last bits
        # between two runs of the same query, because DuckDB sums in parallel.
        pd.testing.assert_frame_equal(pasted.frame.reset_index(drop=True), expected.reset_index(drop=True),
                                      check_dtype=False, rtol=1e-9, obj=name)


def test_open_store_reads_a_snapshot_while_another_process_writes(demo_db_path, tmp_path):
    path = tmp_path / "busy.duckdb"
    shutil.copyfile(demo_db_path, path)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
                               "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        notices: list[str] = []
        store = open_store(path, notice=notices.append)
        assert store.path != str(path) and "snapshot" in notices[0]
        assert store.table_counts()["customers"] == 5000  # the session demo's 5,000 customers (conftest)
        store.close()
    finally:
        holder.kill()
        holder.wait()


def test_as_frame_shows_dataclasses_and_frames(demo_store):
    kpis = overview_kpis(demo_store, FILTERS)
    frame = as_frame(kpis)
    assert frame["key"].tolist()[0] == "repeat_purchase_rate" and len(frame) == len(kpis)
    assert as_frame(FILTERS)["field"].tolist() == ["start", "end", "channels", "segments"]


@pytest.fixture()
def kernel_name(tmp_path, monkeypatch):
    """A kernelspec that starts this interpreter (the project venv), whatever `python` is on PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "engagement-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "engagement test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return "engagement-test"


def test_exported_overview_notebook_reproduces_the_page(app_env, demo_db_path, demo_store, kernel_name):
    from nbclient import NotebookClient

    # The page, with the filters coming from a shared link.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"start": "2025-06-01", "end": "2026-05-31", "channel": "paid_social,referral"})
    at.run()
    assert not at.exception
    assert at.session_state["filters"] == FILTERS
    show_sql = next(e for e in at.expander if e.label == "Show SQL")
    code = "\n".join(c.value for c in show_sql.code)
    assert "engagement/sql/kpis/window_totals.sql" in code and "$channels = ['paid_social', 'referral']" in code
    assert any(b.label == "Open as notebook" for b in at.get("download_button"))
    page_values = {m.label: m.value for m in at.metric}

    # The same recipe the page builds, executed in a fresh kernel against the demo database.
    calls = []
    for function, name in ((overview_kpis, "kpis"), (aov_by_month, "monthly")):
        with record_queries() as queries:
            function(demo_store, FILTERS)
        calls.append(LibraryCall.of(function, FILTERS, result_name=name).with_queries(queries))
    notebook = build_notebook(ViewRecipe("Overview KPIs", tuple(calls), filters=FILTERS), str(demo_db_path))
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json\nprint(json.dumps({'kpis': as_frame(kpis).to_dict('records'), "
        "'monthly_revenue': monthly['revenue'].tolist()}, default=str))"
    ))
    NotebookClient(notebook, timeout=120, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.output_type == "stream")
    from_notebook = json.loads(printed)

    kpis = overview_kpis(demo_store, FILTERS)
    for kpi, row in zip(kpis, from_notebook["kpis"]):
        assert row["key"] == kpi.key and row["n"] == kpi.n
        assert (row["value"] is None and math.isnan(kpi.value)) or row["value"] == pytest.approx(kpi.value, rel=1e-12)
        # The page shows the same number, formatted.
        assert page_values[kpi.label] == ui.format_value(row["value"] if row["value"] is not None else math.nan,
                                                         kpi.unit)
    assert from_notebook["monthly_revenue"] == pytest.approx(aov_by_month(demo_store, FILTERS)["revenue"].tolist())
    # The notebook's own SQL cells ran too (they print the sufficient statistics).
    sql_outputs = [c for c in notebook.cells if c.cell_type == "code" and c.source.lstrip().startswith(("import datetime", "store.query"))]
    assert sql_outputs and all(c.outputs for c in sql_outputs)
