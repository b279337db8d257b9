"""Streamlit glue of warehouse mode: the app's pages on Spark (``ENGAGEMENT_ENGINE=spark``), and the engine label.

With ``ENGAGEMENT_ENGINE=spark`` and ``ENGAGEMENT_LAKE=DIR`` or ``ENGAGEMENT_TABLE_MAPPING=FILE.toml`` (the same
settings the CLI reads: ``engagement.warehouse.lake.configured_mapping``; ``ENGAGEMENT_SPARK_MASTER``, default
``local[*]``), every view page reads a :class:`~engagement.warehouse.spark_store.SparkStore`: the Spark session
starts and the derived tables are built once per server process (``st.cache_resource``, a spinner saying so
while it runs), never per page view, and every session shares them.

Warehouse mode only reads the brand's tables. What the workbench itself writes (targets, annotations, alert
rules, each with its audit row) stays in its own DuckDB database (``ENGAGEMENT_DB``), the file the CLI's
``annotations``, ``targets`` and ``alerts`` commands and the digest use, so the app, the CLI and a brand that moved
from embedded to lake keep one set. It is opened without the derived build and without the after-load alert hook:
its canonical tables are not the data shown, and alert rules are evaluated on the Summary page against Spark's
numbers.

Kept apart from ``engagement.ui`` (which imports this module, never the other way round): ``ui`` stays the glue
of the embedded default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from engagement import config
from engagement.ui.text import plain
from engagement.warehouse import snapshots
from engagement.warehouse.engine import engine_name, spark_master
from engagement.warehouse.errors import StoreLockedError
from engagement.warehouse.store import Store

DATA_PAGE_NOTICE = (
    "Warehouse mode: the pages read the brand's own tables on Spark, read-only. Loads stay on the brand's "
    "pipelines (its tables are fed where they live), so there is no upload, mapping or undo here. Check the "
    "mapped tables with the same Great Expectations suites: `python -m engagement validate --engine spark`."
)
NOTEBOOK_NOTICE = (
    "The SQL notebook runs on DuckDB only: its sandbox (read-only, no file access outside data/, a worker "
    "process with a memory cap and a time limit) is DuckDB's, and nothing on the Spark side runs user SQL. "
    "In warehouse mode it is switched off. Query the brand's tables with the brand's own Spark tools, or export "
    "the canonical tables (`python -m engagement lake export` on a DuckDB workbench) and use the notebook there."
)


def active() -> bool:
    """Whether this server runs in warehouse mode (``ENGAGEMENT_ENGINE=spark``). A misspelt engine stops every
    page with the message (``LookupError`` for ``ui.session._guarded``) rather than silently showing DuckDB."""
    try:
        return engine_name() == "spark"
    except ValueError as exc:
        raise LookupError(str(exc)) from None


def store():
    """The process's warehouse store; ``LookupError`` with the reason when the mapping is missing or wrong, or
    Spark cannot start (``ui.session._guarded`` shows it and stops the page)."""
    from engagement.warehouse.lake import MappingError, configured_mapping

    try:
        mapping = configured_mapping()
    except MappingError as exc:
        raise LookupError(f"{exc} (ENGAGEMENT_ENGINE=spark)") from None
    return _warehouse_store(repr(sorted(mapping.sources.items())), mapping, spark_master())


@st.cache_resource(show_spinner="Warehouse mode: starting Spark and building the derived tables on it, once for "
                                "this server (minutes on a local session; later pages and sessions reuse them)…")
def _warehouse_store(key: str, _mapping: Any, master: str):
    from engagement.warehouse.lake import MappingError
    from engagement.workbench import open_warehouse

    try:
        return open_warehouse(_mapping, master=master)
    except MappingError as exc:
        raise LookupError(str(exc)) from None
    except Exception as exc:  # a JVM that does not start, a cluster that cannot be reached: say which
        raise LookupError(f"Warehouse mode could not open the tables on Spark ({master}): "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def engine_label(store) -> str:
    """Which engine the pages run on, for the sidebar (data-free words: the caller escapes it as text)."""
    if getattr(store, "engine_name", "duckdb") == "spark":
        return f"Engine: {store.describe()} (the brand's tables, read-only)"
    return "Engine: DuckDB (embedded)"


def data_version(store) -> str:
    """The cache key of view data in warehouse mode: one per opened store (the derived tables are fixed until the
    server restarts; a lakehouse table written meanwhile shows after a restart)."""
    return f"spark:{store.path}:{id(store)}"


def settings_store(store):
    """Where targets, annotations and alert rules are read and written: ``store`` itself on DuckDB; in warehouse
    mode the workbench's own DuckDB database (see the module docstring)."""
    if getattr(store, "engine_name", "duckdb") != "spark":
        return store
    return _settings_store(str(config.db_path()), config.read_only())


@st.cache_resource(show_spinner="Opening the workbench's own database (targets, annotations, alert rules)…")
def _settings_store(path: str, read_only: bool) -> Store:
    if read_only and snapshots.latest(path) is not None:
        return snapshots.open_latest(path)
    if read_only and not Path(path).exists():
        return _empty_read_only()
    try:
        side = Store.open(path, read_only=read_only)
    except StoreLockedError:  # held by an embedded app or a CLI load: read its latest snapshot, if any
        try:
            return snapshots.open_latest(path)
        except LookupError:
            return _empty_read_only()
    side.actor_required = not read_only  # every write names its signed-in user, as on DuckDB
    return side


def _empty_read_only() -> Store:
    """No targets, annotations or rules, and nothing to write them to (a read-only server with no database)."""
    side = Store.open(":memory:", read_only=False)
    side.read_only = True
    return side


def stop_data_page() -> None:
    """The Data page in warehouse mode: the notice, then nothing else (no upload, no load history)."""
    if active():
        st.info(DATA_PAGE_NOTICE, icon=":material/warehouse:")
        st.stop()


def stop_notebook() -> None:
    """The SQL notebook in warehouse mode: the notice, then nothing else (see NOTEBOOK_NOTICE)."""
    if active():
        st.info(NOTEBOOK_NOTICE, icon=":material/block:")
        st.stop()


def notebook_opener(store) -> str | None:
    """The first cell of a view's "Open as notebook" in warehouse mode: open the same tables on Spark with this
    server's settings (None on DuckDB: the notebook opens the database file)."""
    import os

    if getattr(store, "engine_name", "duckdb") != "spark":
        return None
    lake = os.environ.get("ENGAGEMENT_LAKE", "").strip()
    mapping = os.environ.get("ENGAGEMENT_TABLE_MAPPING", "").strip()
    given = f"lake={os.path.abspath(lake)!r}" if lake else f"mapping={os.path.abspath(mapping)!r}"
    schema = os.environ.get("ENGAGEMENT_SPARK_SCHEMA", "").strip()
    return ("import os\n\nfrom engagement.warehouse.lake import configured_mapping\n"
            "from engagement.workbench import open_warehouse\n\n"
            "# Warehouse mode, as the workbench app ran it: the brand's tables on Spark, read-only. Opening builds\n"
            "# the derived tables (minutes on a local session) unless the workbench's schema holds a current build.\n"
            + (f"os.environ.setdefault('ENGAGEMENT_SPARK_SCHEMA', {schema!r})\n" if schema else "")
            + f"store = open_warehouse(configured_mapping({given}), master={spark_master()!r})\n")


def spark_sql(store, query) -> str:
    """The Spark SQL that ran for ``query`` (a ``QueryRecord``), for Show SQL: its whole statement when it ran as
    one (inputs as CTEs), else the file's own text, which ran over its inputs materialised as views
    (``Store.query_materialised``). Translating the CTE form afresh is not what ran, and can fail."""
    for text in (query.statement(), query.sql):
        ran = store.engine.translated(text)
        if ran is not None:
            return ran
    try:
        return store.engine.statement(query.statement())
    except Exception as exc:  # noqa: BLE001 (a parse error, or a probe Spark refused: the text is not shown)
        return f"-- {query.name}: no Spark translation of this chain on its own ({type(exc).__name__})"


def _is_spark_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from Spark (the JVM or pyspark), judged by its class's module: this module must not
    import pyspark, which the embedded default never loads."""
    return any(kind.__module__.split(".")[0] in ("pyspark", "py4j") for kind in type(exc).__mro__)


def run_page(page) -> None:
    """Run the navigation's page; on Spark, an error of the engine (memory, a lost executor, a query Spark
    refuses) is shown as a message with its first line and the setting that usually helps, not as a Java
    traceback. Streamlit's own control flow (stop, rerun) and the app's own errors pass."""
    try:
        page.run()
    except Exception as exc:  # noqa: BLE001 (re-raised unless it is Spark's)
        if not _is_spark_error(exc):
            raise
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        st.error(f"Spark could not compute this page ({plain(type(exc).__name__)}): {plain(first[:400])}",
                 icon=":material/error:")
        st.caption("The engine's own message is above, as text. Memory errors on a local master usually go with "
                   "more driver memory (ENGAGEMENT_SPARK_DRIVER_MEMORY, default 4g); a cluster's limits are its "
                   "administrator's. The other pages are not affected: open them from the menu.")
