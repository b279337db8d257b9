"""Warehouse mode's configuration in the app and the CLI, without Spark (default CI, seconds): one reader of the
settings for both, the engine named in the sidebar, a wrong setting stopping the pages with the reason."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = '[tables.customers]\nparquet = "c"\n[tables.orders]\nparquet = "o"\n'


def _lake(folder: Path) -> Path:
    for kind in ("customers", "orders"):
        (folder / kind).mkdir(parents=True)
    return folder


def test_the_app_and_the_cli_read_the_same_settings(tmp_path, monkeypatch):
    from engagement.warehouse.lake import MappingError, configured_mapping

    lake = _lake(tmp_path / "lake")
    (tmp_path / "brand.toml").write_text(MAPPING, encoding="utf-8")
    monkeypatch.delenv("ENGAGEMENT_TABLE_MAPPING", raising=False)
    monkeypatch.setenv("ENGAGEMENT_LAKE", str(lake))
    assert set(configured_mapping().sources) == {"customers", "orders"}
    assert configured_mapping().origin == f"the lake {lake}"
    # Given on the command line, a mapping wins over the environment's lake.
    assert configured_mapping(mapping=tmp_path / "brand.toml").origin.endswith("brand.toml")
    monkeypatch.delenv("ENGAGEMENT_LAKE")
    monkeypatch.setenv("ENGAGEMENT_TABLE_MAPPING", str(tmp_path / "brand.toml"))
    assert configured_mapping().sources["orders"].location == str(tmp_path / "o")
    monkeypatch.delenv("ENGAGEMENT_TABLE_MAPPING")
    with pytest.raises(MappingError, match="ENGAGEMENT_LAKE"):
        configured_mapping()


def test_the_cli_reads_engagement_lake(tmp_path, monkeypatch):
    from engagement.cli import main

    monkeypatch.setenv("ENGAGEMENT_LAKE", str(tmp_path / "missing"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["report", "kpis", "--engine", "spark"])
    assert code == 1 and "No lake folder" in err.getvalue(), err.getvalue()


@pytest.fixture()
def clean_caches():
    from engagement import ui
    from engagement.ui import warehouse as ui_warehouse

    for cached in (ui.session.get_store, ui_warehouse._warehouse_store, ui_warehouse._settings_store):
        cached.clear()
    yield
    for cached in (ui.session.get_store, ui_warehouse._warehouse_store, ui_warehouse._settings_store):
        cached.clear()


@pytest.mark.parametrize("engine, env, message", [
    ("spark", {}, "needs the brand's tables"),
    ("spark", {"ENGAGEMENT_LAKE": "/nonexistent/lake"}, "No lake folder at /nonexistent/lake"),
    ("sparkk", {}, "Unknown engine 'sparkk'"),
])
def test_a_warehouse_mode_without_its_tables_stops_every_page_with_the_reason(engine, env, message, tmp_path,
                                                                              monkeypatch, clean_caches):
    """Before Spark starts: nothing falls back to DuckDB silently, and no traceback."""
    monkeypatch.setenv("ENGAGEMENT_ENGINE", engine)
    monkeypatch.delenv("ENGAGEMENT_TABLE_MAPPING", raising=False)
    monkeypatch.delenv("ENGAGEMENT_LAKE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ENGAGEMENT_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(message in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    assert not at.metric


def test_the_sidebar_names_duckdb_in_the_embedded_default(app_env, monkeypatch, clean_caches):
    monkeypatch.delenv("ENGAGEMENT_ENGINE", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert any("Engine: DuckDB (embedded)" in c.value for c in at.sidebar.caption)
    show = [e for e in at.expander if e.label == "Show SQL"]
    assert show and any("Ran on DuckDB" in c.value for e in show for c in e.caption)


def test_a_notebook_from_warehouse_mode_opens_the_same_tables_on_spark(tmp_path, monkeypatch):
    import nbformat

    from engagement.ui import warehouse as ui_warehouse
    from engagement.filters import Filters
    from engagement.notebook.export import LibraryCall, ViewRecipe, build_notebook
    from engagement.value.kpis import overview_kpis

    class Warehouse:  # what notebook_opener reads of a SparkStore
        engine_name = "spark"

    monkeypatch.setenv("ENGAGEMENT_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("ENGAGEMENT_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("ENGAGEMENT_SPARK_SCHEMA", "workbench")
    filters = Filters(start=date(2025, 1, 1), end=date(2025, 3, 31))
    recipe = ViewRecipe("Overview", (LibraryCall.of(overview_kpis, filters, result_name="kpis"),), filters=filters)
    assert ui_warehouse.notebook_opener(object()) is None  # DuckDB: the database file, as before
    notebook = build_notebook(recipe, "ignored", ui_warehouse.notebook_opener(Warehouse()))
    setup = notebook.cells[1].source
    assert f"configured_mapping(lake={str(tmp_path / 'lake')!r})" in setup and "master='local[2]'" in setup
    assert "ENGAGEMENT_SPARK_SCHEMA', 'workbench'" in setup and "DB_PATH" not in setup
    compile(setup, "setup", "exec")
    nbformat.validate(notebook)


def test_the_schema_fingerprint_follows_the_inputs(tmp_path):
    """What decides whether ENGAGEMENT_SPARK_SCHEMA's tables are reused (no Spark needed)."""
    import os

    from engagement.warehouse.spark_schema import input_fingerprint, schema_name

    part = tmp_path / "part-0.parquet"
    part.write_bytes(b"x" * 10)
    files = {"orders": (part.as_uri(),), "customers": ("s3://bucket/customers/part-0.parquet",)}
    base = input_fingerprint(files, "[tables.orders]", "derived-v1")
    assert base == input_fingerprint(dict(reversed(files.items())), "[tables.orders]", "derived-v1")
    assert base != input_fingerprint(files, "[tables.orders]", "derived-v2")  # another version's SQL
    assert base != input_fingerprint(files, "[tables.orders.columns]", "derived-v1")  # another mapping
    os.utime(part, (part.stat().st_atime, part.stat().st_mtime + 5))
    assert base != input_fingerprint(files, "[tables.orders]", "derived-v1")  # a rewritten file
    assert input_fingerprint({**files, "surveys": ()}, "", "derived-v1") is None  # nothing to fingerprint
    assert schema_name("workbench") == "workbench"
    with pytest.raises(ValueError, match="not a plain schema name"):
        schema_name("x; drop")
