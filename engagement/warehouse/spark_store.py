"""Warehouse mode's store: the views' reads, on Spark, over the brand's tables named by a table mapping.

:class:`SparkStore` offers the read side of :class:`engagement.warehouse.store.Store` (``query``,
``query_arrow``, ``cursor``, ``snapshot``, ``stored_view_params`` ...), so every view runs unchanged. Opening it
reads each mapped table through the mapping (renamed and cast to the canonical types) into a temporary view
named as the canonical table, then builds the derived tables with the same SQL as on DuckDB, as materialised
temporary views (the derived build it is handed, as ``Store.open`` is). It never writes: loads, undo and
saved notebooks stay on DuckDB, and the brand's tables are only read.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import pandas as pd

from engagement.sql import read_sql
from engagement.warehouse.engine import SparkCursor, SparkEngine
from engagement.warehouse.lake import MappingError, TableMapping
from engagement.warehouse.query_records import QueryRecord, note_query
from engagement.warehouse.schema import KINDS, TABLES
from engagement.warehouse.spark_sql import to_spark

if TYPE_CHECKING:
    import pyarrow


def spark_type(duckdb_type: str) -> str:
    """A canonical column's DuckDB type as Spark SQL (``VARCHAR`` -> ``STRING``, ``TIMESTAMP`` -> ``TIMESTAMP_NTZ``:
    both naive, UTC by the canonical model's convention)."""
    return to_spark(f"select cast(null as {duckdb_type})").split(" AS ", 1)[1].rsplit(")", 1)[0]


class WarehouseReadOnly(RuntimeError):
    """A write asked of warehouse mode (loads and undo stay on DuckDB)."""


class SparkStore:
    """The canonical and derived tables as temporary views of one Spark session (see the module docstring)."""

    read_only = True
    snapshot_of = None
    actor_required = False

    def __init__(self, engine: SparkEngine, mapping: TableMapping, cache_sources: bool = True):
        self.engine = engine
        # Cached: the derived build reads each source several times. A lake too large for the cluster's memory
        # opens with cache_sources=False (ENGAGEMENT_SPARK_CACHE_SOURCES=0) and reads the files each time.
        self.cache_sources = cache_sources
        self.mapping = mapping
        self.path = mapping.origin
        self.after_commit: list = []
        self.derived = None
        self.reused = None  # the PersistedBuild read back instead of building, if any
        self.input_files: dict[str, tuple[str, ...]] = {}
        self._last_query: QueryRecord | None = None

    @classmethod
    def open(cls, engine: SparkEngine, mapping: TableMapping, derived=None,
             cache_sources: bool | None = None) -> "SparkStore":
        """Map the brand's tables and build the derived tables with ``derived`` (``engagement.derived``'s
        build, handed over by ``engagement.workbench.open_warehouse``)."""
        if cache_sources is None:
            cache_sources = os.environ.get("ENGAGEMENT_SPARK_CACHE_SOURCES", "1").strip() not in ("0", "false", "no")
        store = cls(engine, mapping, cache_sources)
        store.map_tables()
        if derived is not None:
            store.derived = derived
            persisted = store.persisted_build(derived)
            tables = persisted.stored_tables() if persisted is not None else None
            if tables is not None:  # built by an earlier process from the same inputs: read back, not rebuilt
                persisted.restore(tables)
                store.reused = persisted
                return store
            engine.persist = persisted
            try:  # every entry whole, the fits included, with none of a writable store's load and fit bookkeeping
                derived.build_everything(store, store.cursor())
            finally:
                engine.persist = None
            if persisted is not None:
                persisted.finish()
        return store

    def persisted_build(self, derived):
        """The workbench's schema for this mapping's derived tables (``ENGAGEMENT_SPARK_SCHEMA``,
        ``spark_schema.py``), or None: not configured, or a source without input files to fingerprint."""
        from engagement.warehouse import spark_schema
        from engagement.warehouse.lake import mapping_toml

        schema = spark_schema.schema_name()
        if schema is None:
            return None
        fingerprint = spark_schema.input_fingerprint(self.input_files, mapping_toml(self.mapping),
                                                     derived.fingerprint())
        return None if fingerprint is None else spark_schema.PersistedBuild(self.engine.session, schema, fingerprint)

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def describe(self) -> str:
        where = f"Spark ({self.engine.session.conf.get('spark.master', 'Spark Connect')}) over {self.mapping.origin}"
        if self.reused is not None:
            where += f"; derived tables reused from schema {self.reused.schema}"
        return where

    # ------------------------------------------------------------------ the mapped tables
    def map_tables(self) -> None:
        """One temporary view per canonical table: the mapped source renamed and cast to the canonical types;
        an empty one (the canonical columns, no rows) for a table the mapping does not name."""
        from pyspark.sql import functions as F

        session = self.engine.session
        for kind in KINDS:
            spec = TABLES[kind]
            source = self.mapping.sources.get(kind)
            if source is None:
                empty = ", ".join(f"cast(null as {spark_type(c.sql_type)}) as `{c.name}`" for c in spec.columns)
                session.sql(f"select {empty} where false").createOrReplaceTempView(kind)
                continue
            try:
                if source.kind == "parquet":
                    frame = session.read.parquet(source.location)
                elif source.kind == "table":
                    frame = session.table(source.location)
                else:
                    frame = session.sql(source.location)
            except Exception as exc:  # AnalysisException: a missing path or table, a query that does not parse
                raise MappingError(f"{self.mapping.origin}: cannot read {kind} from its {source.kind} "
                                   f"{source.location!r}: {str(exc).splitlines()[0]}") from None
            present = {name.lower(): name for name in frame.columns}
            columns = []
            for column in spec.columns:
                wanted = source.columns.get(column.name, column.name)
                if wanted.lower() in present:
                    value = F.col(f"`{present[wanted.lower()]}`")
                elif column.required:
                    raise MappingError(
                        f"{self.mapping.origin}: {kind} has no column {wanted!r} for {column.name} (required); "
                        f"its columns are {', '.join(frame.columns)}. Map it under [tables.{kind}.columns].")
                else:
                    value = F.lit(None)
                columns.append(value.cast(spark_type(column.sql_type)).alias(column.name))
            mapped = frame.select(*columns)
            self.input_files[kind] = tuple(frame.inputFiles())  # before caching hides them (spark_schema.py)
            if self.cache_sources:
                mapped = mapped.cache()
            mapped.createOrReplaceTempView(kind)

    # ------------------------------------------------------------------ the Store's read API
    def cursor(self) -> SparkCursor:
        return self.engine.cursor()

    @contextmanager
    def snapshot(self, reads: SparkCursor | None = None) -> Iterator[SparkCursor]:
        """The views' one-read-transaction block: the mapped tables are read as they are (a lakehouse table
        being written meanwhile is the brand's pipeline's concern), the derived views are fixed. ``reads`` is the
        DuckDB store's (a run's read transaction, ``Store.begin_reads``): Spark has none, so it is never given."""
        yield self.cursor()

    def query(self, name: str, params: dict[str, Any] | None = None, cursor=None,
              inputs: tuple[tuple[str, QueryRecord], ...] = ()) -> pd.DataFrame:
        record = QueryRecord(name, dict(params or {}), tuple(inputs))
        self.remember_query(record)
        return self.engine.frame(cursor, record.statement(), record.all_params())

    def query_arrow(self, name: str, params: dict[str, Any] | None = None, cursor=None,
                    inputs: tuple[tuple[str, QueryRecord], ...] = ()) -> "pyarrow.Table":
        record = QueryRecord(name, dict(params or {}), tuple(inputs))
        self.remember_query(record)
        return self.engine.arrow(cursor, record.statement(), record.all_params())

    def query_materialised(self, name: str, params: dict[str, Any], cursor,
                           inputs: tuple[tuple[str, QueryRecord], ...]) -> pd.DataFrame:
        self.remember_query(QueryRecord(name, dict(params), tuple(inputs)))
        return self.engine.frame(cursor, read_sql(name), params)

    def remember_query(self, record: QueryRecord) -> None:
        self._last_query = record
        note_query(record)

    def last_query(self) -> QueryRecord | None:
        return self._last_query

    def stored_view_params(self, name: str, cursor=None) -> dict | None:
        if not self.engine.has_view(name):
            return None
        relation = (cursor or self.cursor()).sql(read_sql(f"derived/{name}"))
        return dict(zip(relation.columns, relation.fetchall()[0]))

    def has_table(self, name: str, cursor=None) -> bool:
        return self.engine.has_view(name)

    def derived_are_current(self) -> bool:
        return True  # built when opened, from this version's SQL

    def require_current_derived(self) -> None:
        return None

    def is_empty(self) -> bool:
        return not self.cursor().execute("SELECT count(*) FROM customers").fetchall()[0][0]

    def table_counts(self) -> dict[str, int]:
        cur = self.cursor()
        return {kind: cur.execute(f"SELECT count(*) FROM {kind}").fetchall()[0][0] for kind in KINDS}

    def is_demo(self) -> bool:
        return False

    def loads(self) -> pd.DataFrame:
        raise WarehouseReadOnly("Warehouse mode has no load history: the brand's own pipelines feed its tables.")

    def close(self) -> None:
        """Nothing to close: the Spark session outlives the store (one per process)."""
