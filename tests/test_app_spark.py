"""The app's pages in warehouse mode (ENGAGEMENT_ENGINE=spark): every view page runs on Spark over the demo written
by ``lake export`` (the parity suite's session-wide warehouse, conftest.py: Spark starts and builds once), says so
in the sidebar, shows the Spark SQL that ran, and shows DuckDB's numbers for the same data. The Data page and the
SQL notebook say what stays on DuckDB and offer no writes; targets and annotations live in the workbench's own
DuckDB database.

The app's server reuses the session's warehouse (``open_warehouse`` keeps one store per mapping per process), and
view data is cached across tests as across a server's sessions, so each page's queries run on Spark once.
"""

from __future__ import annotations

import io
import math
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="warehouse mode needs Java (pyspark starts a JVM)"),
]

ROOT = Path(__file__).resolve().parents[1]
PAGES = re.findall(r'st\.Page\("(pages/[^"]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
VIEW_PAGES = [p for p in PAGES if p not in ("pages/data.py", "pages/sql_notebook.py")]
REL = 1e-9  # the parity suite's tolerance


@pytest.fixture()
def spark_app(warehouse, lake, tmp_path, monkeypatch):
    """The app in warehouse mode over the session's lake; the workbench's own database is a new file in tmp_path
    (read-only unless a test says otherwise), and there is no DuckDB data to fall back on."""
    from engagement.ui import warehouse as ui_warehouse
    from engagement.warehouse.lake import configured_mapping
    from engagement.workbench import open_warehouse

    monkeypatch.setenv("ENGAGEMENT_ENGINE", "spark")
    monkeypatch.setenv("ENGAGEMENT_TABLE_MAPPING", str(lake / "mapping.toml"))
    monkeypatch.setenv("ENGAGEMENT_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("ENGAGEMENT_DB", str(tmp_path / "workbench.duckdb"))
    monkeypatch.setenv("ENGAGEMENT_DEMO_DB", str(tmp_path / "no-demo.duckdb"))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    for name in ("ENGAGEMENT_LAKE", "ENGAGEMENT_SPARK_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    for cached in (ui_warehouse._warehouse_store, ui_warehouse._settings_store):
        cached.clear()
    # The app's store is the session's warehouse (one store per mapping per process): no second build.
    assert open_warehouse(configured_mapping()) is warehouse
    yield tmp_path
    for cached in (ui_warehouse._warehouse_store, ui_warehouse._settings_store):
        cached.clear()


def _open(page: str) -> tuple[AppTest, str]:
    """The app's first run (the router, its sidebar, the default page), then ``page``: AppTest runs a switched-to
    page's file alone, so the sidebar is read from the first run."""
    # The timeout guards against a hang, it is no speed check: a page runs a few dozen Spark jobs, slow on a
    # loaded 2-core machine.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    sidebar = _engine_caption(at)
    if page != "pages/overview.py":  # the default page
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at, sidebar


def _shown(markdown: str) -> str:
    """What a caption reads on screen: ``ui.plain`` escapes markdown (``local\\[2\\]``) and joins words."""
    from engagement.ui.text import WORD_JOINER

    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def _engine_caption(at: AppTest) -> str:
    return " ".join(_shown(c.value) for c in at.sidebar.caption if "Engine:" in c.value)


@pytest.mark.parametrize("page", VIEW_PAGES)
def test_every_view_page_runs_on_spark_and_says_so(page, spark_app, warehouse, lake):
    at, sidebar = _open(page)
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} has no title"
    assert f"Engine: Spark (local[2]) over the table mapping {lake / 'mapping.toml'}" in sidebar, sidebar
    shows = [e for e in at.expander if e.label == "Show SQL"]
    if page == "pages/methodology.py":  # the registry's text: no view, no SQL
        return
    assert shows, f"{page} has no Show SQL"
    assert any("Ran on Spark" in c.value for e in shows for c in e.caption)
    # Show SQL shows the Spark SQL that ran: the engine's own translations of the page's SQL files.
    ran = set(warehouse.engine._translated.values())
    shown = [c.value for e in shows for c in e.code]
    assert any(text in ran for text in shown), f"{page}: no Spark SQL among {len(shown)} code blocks"


def test_the_data_page_says_loads_stay_on_the_brands_pipelines(spark_app):
    at, _ = _open("pages/data.py")
    assert any("Loads stay on the brand's pipelines" in i.value and "validate --engine spark" in i.value
               for i in at.info), [i.value for i in at.info]
    assert not at.get("file_uploader") and not at.dataframe and not at.button  # no upload, no undo, no history


def test_the_sql_notebook_is_off_and_says_it_runs_on_duckdb_only(spark_app):
    at, _ = _open("pages/sql_notebook.py")
    assert any("runs on DuckDB only" in i.value and "nothing on the Spark side runs user SQL" in i.value
               for i in at.info), [i.value for i in at.info]
    assert not at.text_area and not at.button and not at.get("download_button")


# ------------------------------------------------------------------ the numbers equal DuckDB's
def _numbers(at: AppTest) -> tuple[list[tuple[str, str]], list[list[dict]]]:
    """The page's cards (label, value as shown) and each chart's data (rows of every dataset it carries)."""
    import pyarrow as pa

    cards = [(m.label, m.value) for m in at.metric]
    charts = []
    for chart in at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart"):
        rows = []
        for dataset in chart.proto.datasets:
            rows += pa.ipc.open_stream(io.BytesIO(dataset.data.data)).read_all().to_pylist()
        charts.append(rows)
    return cards, charts


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)
    return a == b


def _same_rows(spark: list[dict], duckdb: list[dict]) -> bool:
    """Equal rows in any order (a chart's data carries no order of its own), numbers at the parity tolerance."""
    key = lambda row: sorted((k, str(v) if not isinstance(v, float) else round(v, 6)) for k, v in row.items())
    spark, duckdb = sorted(spark, key=key), sorted(duckdb, key=key)
    return len(spark) == len(duckdb) and all(
        a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a) for a, b in zip(spark, duckdb))


def test_the_overview_on_spark_shows_duckdbs_numbers(spark_app, demo_db_path, monkeypatch):
    """The same data on both engines: the Overview's KPI cards read the same, and its charts (AOV trend, monthly
    revenue) carry the same data."""
    at, _ = _open("pages/overview.py")
    spark_cards, spark_charts = _numbers(at)

    monkeypatch.delenv("ENGAGEMENT_ENGINE")  # the embedded default, on the database the lake was exported from
    monkeypatch.setenv("ENGAGEMENT_DB", str(demo_db_path))
    at, _ = _open("pages/overview.py")
    assert not at.error, [e.value for e in at.error]
    duckdb_cards, duckdb_charts = _numbers(at)

    assert len(duckdb_cards) == 6 and spark_cards == duckdb_cards
    assert len(duckdb_charts) == 2 and all(len(rows) >= 12 for rows in duckdb_charts)  # 24 months of demo
    assert len(spark_charts) == len(duckdb_charts)
    for spark, duckdb in zip(spark_charts, duckdb_charts):
        assert _same_rows(spark, duckdb), (spark[:3], duckdb[:3])


# ------------------------------------------------------------------ what warehouse mode writes: DuckDB only
def test_targets_and_annotations_are_kept_in_the_workbenchs_duckdb(spark_app, monkeypatch, warehouse):
    """Warehouse mode writes nothing on Spark: a target set on the Summary page and an annotation go to the
    workbench's own DuckDB database (ENGAGEMENT_DB), which the CLI and the digest read too."""
    from engagement.leadership import targets
    from engagement.leadership.annotations import add_annotation, list_annotations
    from engagement.ui import warehouse as ui_warehouse
    from engagement.value.kpis import data_range
    from engagement.warehouse.store import Store

    monkeypatch.delenv("ENGAGEMENT_READ_ONLY")
    side = Store.open(spark_app / "workbench.duckdb", read_only=False)
    last = data_range(warehouse).last_order_date
    add_annotation(side, last - timedelta(days=3), "Spring sale")
    side.close()

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()  # the router draws the sidebar
    assert [e for e in at.sidebar.expander if e.label.startswith("Annotations (1 in range)")]
    at.switch_page("pages/summary.py").run()
    assert not at.exception, [e.message for e in at.exception]
    target = next(t for t in at.text_input if t.label == "Target")
    target.input("40%")
    next(b for b in at.button if b.label == "Set target").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Target set" in s.value for s in at.success)

    side = ui_warehouse.settings_store(warehouse)  # the app's own handle on the file (one connection per process)
    assert side.path == str(spark_app / "workbench.duckdb") and not side.read_only
    assert len(targets.targets(side)) == 1
    assert list(list_annotations(side)["note"]) == ["Spring sale"]


class _TwoTables:
    """A derived build of two tables (the real one takes minutes): counts how often it runs."""

    builds = 0

    def fingerprint(self) -> str:
        return "two-tables-v1"

    def build_everything(self, store, cur) -> None:
        type(self).builds += 1
        cur.execute("CREATE OR REPLACE TABLE buyers_by_channel AS SELECT c.acquisition_channel, count(*) AS buyers "
                    "FROM customers c JOIN orders o USING (customer_id) GROUP BY ALL")
        cur.execute("CREATE OR REPLACE TABLE nothing_known AS SELECT NULL AS unknown, 1 AS one")


def test_a_second_open_reuses_the_derived_tables_persisted_in_the_workbenchs_schema(
        warehouse, spark_engine, lake, tmp_path, monkeypatch):
    """ENGAGEMENT_SPARK_SCHEMA: the first open builds and writes the tables (and a manifest) into the schema; a
    second open with the same inputs reads them back without building; a changed input file builds again."""
    import os
    import uuid

    from engagement.warehouse.lake import lake_mapping
    from engagement.warehouse.spark_store import SparkStore

    schema = f"test_workbench_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ENGAGEMENT_SPARK_SCHEMA", schema)
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)  # its files' times change below; the session's lake stays as it is
    mapping = lake_mapping(copy)
    try:
        first = SparkStore.open(spark_engine, mapping, derived=_TwoTables())
        assert _TwoTables.builds == 1 and first.reused is None
        expected = first.cursor().execute("SELECT * FROM buyers_by_channel").df()
        assert spark_engine.session.catalog.tableExists(f"{schema}.buyers_by_channel")

        second = SparkStore.open(spark_engine, mapping, derived=_TwoTables())
        assert _TwoTables.builds == 1, "the second open built again"
        assert second.reused is not None and f"reused from schema {schema}" in second.describe()
        again = second.cursor().execute("SELECT * FROM buyers_by_channel").df()
        assert sorted(map(tuple, again.values.tolist())) == sorted(map(tuple, expected.values.tolist()))
        assert second.cursor().execute("SELECT unknown, one FROM nothing_known").fetchall() == [(None, 1)]

        orders = next(p for p in sorted((copy / "orders").rglob("*.parquet")))
        os.utime(orders, (orders.stat().st_atime, orders.stat().st_mtime + 60))
        third = SparkStore.open(spark_engine, mapping, derived=_TwoTables())
        assert _TwoTables.builds == 2 and third.reused is None
    finally:
        spark_engine.session.sql(f"DROP DATABASE IF EXISTS {schema} CASCADE")
        warehouse.map_tables()  # the canonical views back on the session's lake


def test_two_builds_into_one_schema_at_once_never_mix_their_tables(spark_engine):
    """Two processes building into one ENGAGEMENT_SPARK_SCHEMA at once (spark_schema.py): each writes its own
    directory, so the manifest, whichever build wrote it last, names that build's rows, never the other's; the
    losing fingerprint finds no build to reuse; a finished build removes the other's old directory, not its own."""
    import uuid

    from engagement.warehouse.spark_schema import PersistedBuild

    session = spark_engine.session
    schema = f"test_two_builds_{uuid.uuid4().hex[:8]}"
    try:
        first = PersistedBuild(session, schema, "a" * 64)
        second = PersistedBuild(session, schema, "b" * 64)
        first.save("two_builds_probe", session.sql("SELECT 'first' AS built_by"))
        second.save("two_builds_probe", session.sql("SELECT 'second' AS built_by"))  # same table, meanwhile
        assert second.finish() and first.finish()  # the first build finishes last: its manifest stands

        reader = PersistedBuild(session, schema, "a" * 64)
        assert reader.stored_tables() == ["two_builds_probe"]
        reader.restore(["two_builds_probe"])
        assert [r[0] for r in session.sql("SELECT built_by FROM two_builds_probe").collect()] == ["first"]
        assert [r[0] for r in session.sql(f"SELECT built_by FROM {schema}.two_builds_probe").collect()] == ["first"]
        assert PersistedBuild(session, schema, "b" * 64).stored_tables() is None

        removed = first.remove_old_builds(older_than_seconds=-1)
        assert removed == [second.build_dir.rsplit("/", 1)[-1]]
        assert [r[0] for r in session.read.parquet(f"{first.build_dir}/two_builds_probe").collect()] == ["first"]
    finally:
        session.catalog.dropTempView("two_builds_probe")
        session.sql(f"DROP DATABASE IF EXISTS {schema} CASCADE")
