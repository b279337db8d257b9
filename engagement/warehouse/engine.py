"""The engines the views' SQL runs on: DuckDB (embedded, the default) and Spark (warehouse mode).

An engine runs a SQL file's text (DuckDB SQL, ``$name`` parameters) with bound values and returns pandas or
Arrow. :class:`DuckDBEngine` runs it as written. :class:`SparkEngine` translates it once per text
(``spark_sql.to_spark``) and binds the values natively (``spark.sql(text, args=...)``: ``:name`` markers,
never values formatted into the SQL).

The library's views talk to a *cursor* (``store.cursor()``): on DuckDB a DuckDB cursor, on Spark a
:class:`SparkCursor`, which offers the part of DuckDB's cursor API the views use (``execute``, ``sql``,
``fetchall``, ``df``, ``register``, ``from_arrow``, a relation's ``query``), so each view keeps one code path.
Tables a view or the derived build creates (``CREATE [OR REPLACE] [TEMP] TABLE x AS ...``) become materialised
temporary views in the Spark session (checkpointed: see ``create_view``): warehouse mode never writes to the
brand's catalog.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import threading
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import pyarrow

ENGINES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[*]"


def engine_name(given: str | None = None) -> str:
    """The engine to use: ``given`` (``--engine``), else ``$ENGAGEMENT_ENGINE``, else duckdb."""
    name = (given or os.environ.get("ENGAGEMENT_ENGINE", "") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise ValueError(f"Unknown engine {name!r}; expected one of {', '.join(ENGINES)} (ENGAGEMENT_ENGINE).")
    return name


def spark_master(given: str | None = None) -> str:
    """The Spark master: ``given``, else ``$ENGAGEMENT_SPARK_MASTER``, else ``local[*]``. A Spark Connect URL
    (``sc://host:15002``) connects to a remote cluster instead of starting a local one."""
    return (given or os.environ.get("ENGAGEMENT_SPARK_MASTER", "") or DEFAULT_SPARK_MASTER).strip()


class DuckDBEngine:
    """The embedded engine: runs DuckDB SQL on a DuckDB cursor as written."""

    name = "duckdb"

    def statement(self, sql: str) -> str:
        """The SQL that runs for ``sql`` (what "Show SQL" shows): the text itself."""
        return sql

    def frame(self, cursor, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return cursor.execute(sql, params or {}).df()

    def arrow(self, cursor, sql: str, params: dict[str, Any] | None = None) -> "pyarrow.Table":
        return cursor.sql(sql, params=params or {}).to_arrow_table()


def _spark_value(value: Any) -> Any:
    """A parameter value as spark.sql(args=...) takes it (numpy scalars and pandas Timestamps unwrapped)."""
    if isinstance(value, (list, tuple)):
        return [_spark_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes, Decimal, dt.date)):
        return value.item()
    return value


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> frozenset[str]:
    import sqlglot  # imported when Spark runs only: DuckDB (the default) needs no translation
    from sqlglot import exp

    return frozenset(p.name for p in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Placeholder) if p.name)


class SparkEngine:
    """Spark SQL through one SparkSession; temporary views hold the mapped and derived tables.

    Start one with :meth:`start` (a local session or a Spark Connect client), or hand it a session.
    """

    name = "spark"

    def __init__(self, session):
        self.session = session
        self._translated: dict[str, str] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._materialised: dict[str, Any] = {}  # view name -> its checkpointed DataFrame (create_view)
        # While a build persists into the workbench's schema (spark_schema.PersistedBuild), the tables it creates.
        self.persist = None

    @classmethod
    def start(cls, master: str | None = None, shuffle_partitions: int | None = None) -> "SparkEngine":
        """A session on ``spark_master(master)``, set up so that Spark computes what DuckDB does: UTC session
        time, ANSI mode off (division by zero and out-of-range indexes give NULL, which the rules rely on)."""
        from pyspark.sql import SparkSession

        master = spark_master(master)
        # Python workers (churn scoring's mapInPandas) run PYSPARK_PYTHON, else `python3` from the PATH, which
        # need not have pandas and scikit-learn: a local session's workers run this interpreter. A cluster's
        # executors need their own Python with them (set PYSPARK_PYTHON or spark.pyspark.python there).
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.appName("engagement-workbench")
        builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
        settings = {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.ansi.enabled": "false",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.ui.enabled": "false",
            # The planner needs more than the default 1 GB for the cohort matrix's plan, and 2 GB was too little
            # to broadcast the Experiments page's join on the 5,000-customer demo (a local driver only).
            "spark.driver.memory": os.environ.get("ENGAGEMENT_SPARK_DRIVER_MEMORY", "4g"),
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(shuffle_partitions or os.environ.get(
                "ENGAGEMENT_SPARK_SHUFFLE_PARTITIONS", "8")),
        }
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        for key, value in settings.items():  # a session that already existed keeps its own settings otherwise
            if not key.startswith(("spark.ui.", "spark.driver.")):
                session.conf.set(key, value)
        return cls(session)

    # ------------------------------------------------------------------ SQL
    def statement(self, sql: str) -> str:
        """The Spark SQL that runs for DuckDB ``sql`` (cached per text; what "Show SQL" shows on Spark)."""
        from engagement.warehouse.spark_sql import to_spark

        translated = self._translated.get(sql)
        if translated is None:
            translated = to_spark(sql, columns_of=self._columns_of)
            self._translated[sql] = translated
        return translated

    def translated(self, sql: str) -> str | None:
        """The Spark SQL that ran for DuckDB ``sql``, if it ran (Show SQL shows what ran, not a new translation)."""
        return self._translated.get(sql)

    def _columns_of(self, duckdb_probe: str) -> list[str]:
        from engagement.warehouse.spark_sql import to_spark

        names = _placeholders(duckdb_probe)
        return list(self.session.sql(to_spark(duckdb_probe, self._columns_of),
                                     args={n: None for n in names} or None).columns)

    def dataframe(self, sql: str, params: dict[str, Any] | None = None):
        """A Spark DataFrame of DuckDB ``sql`` with ``params`` bound (only those it names)."""
        names = _placeholders(sql)
        missing = sorted(names - set(params or {}))
        if missing:
            raise KeyError(f"parameters {missing} are not given")
        args = {name: _spark_value(value) for name, value in (params or {}).items() if name in names}
        return self.session.sql(self.statement(sql), args=args or None)

    def frame(self, cursor, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return _to_pandas(self.dataframe(sql, params))

    def arrow(self, cursor, sql: str, params: dict[str, Any] | None = None) -> "pyarrow.Table":
        return self.dataframe(sql, params).toArrow()

    # ------------------------------------------------------------------ views
    def create_view(self, name: str, sql: str, params: dict[str, Any] | None = None, cache: bool = True) -> None:
        """A temporary view ``name`` holding the rows of ``sql`` (computed once, now, when ``cache``).

        Materialised with its lineage cut (``localCheckpoint``), not ``cache()``: a temporary view keeps the whole
        plan that made it, so with ``cache()`` every query over a derived table analysed again the plans of every
        table upstream of it, each inlined once per reference (the derived tables read each other: customer_summary
        alone holds customer_facts' plan, which holds order_facts' and customer_keys'...). Analysis, not the data,
        then took minutes per statement; a checkpointed view is a leaf of a few bytes of plan."""
        from pyspark import StorageLevel

        frame = self.dataframe(sql, params)
        if self.persist is not None:
            frame = self.persist.save(name, frame)
        if cache:
            # Computed before the view it replaces is released: the statement may read it (customer_keys does).
            frame = frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
        self.drop_view(name)
        if cache:
            self._materialised[name] = frame
        frame.createOrReplaceTempView(name)

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` (computed in Python: model predictions) as temporary view ``name``, through Arrow."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        self.drop_view(name)
        self.session.createDataFrame(table).createOrReplaceTempView(name)

    def drop_view(self, name: str) -> None:
        if self.session.catalog.tableExists(name):
            try:
                self.session.catalog.uncacheTable(name)
            except Exception:  # not cached
                pass
        self.session.catalog.dropTempView(name)
        frame = self._materialised.pop(name, None)
        jdf = getattr(frame, "_jdf", None)  # Spark Connect frees a checkpoint when its DataFrame is collected
        if jdf is not None:  # free its checkpointed blocks (an app re-creates its temporary tables per run)
            jdf.queryExecution().analyzed().rdd().unpersist(False)

    def has_view(self, name: str) -> bool:
        return bool(self.session.catalog.tableExists(name))

    def fresh_name(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}_{self._counter}"

    def cursor(self) -> "SparkCursor":
        return SparkCursor(self)

    def stop(self) -> None:
        self.session.stop()


def _to_pandas(frame) -> pd.DataFrame:
    """A Spark DataFrame as pandas the way DuckDB's ``.df()`` gives it: through Arrow, timestamps kept in
    microseconds (``toPandas`` converts them to nanoseconds, which cannot hold the year 1 that stands for
    DuckDB's '-infinity'), dates as datetime64."""
    table = frame.toArrow()
    result = table.to_pandas(date_as_object=False)
    for position, column in enumerate(table.columns):
        # DuckDB gives an integer column with NULLs as a nullable integer (NULL stays missing, not NaN).
        if column.null_count and str(column.type) in ("int8", "int16", "int32", "int64"):
            result.isetitem(position, pd.array(column.to_pylist(), dtype=f"Int{column.type.bit_width}"))
    return result


# DuckDB statements the views and the derived build run that are not queries.
_CREATE = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?table\s+(?:if\s+not\s+exists\s+)?"
                     r"\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s+as\s+(.*)$", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^\s*drop\s+table\s+(?:if\s+exists\s+)?\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s*$", re.IGNORECASE)
_TRANSACTION = re.compile(r"^\s*(begin|commit|rollback|begin\s+transaction)\s*;?\s*$", re.IGNORECASE)


class SparkRelation:
    """A query result on Spark with the parts of DuckDB's relation API the views use."""

    def __init__(self, engine: SparkEngine, frame):
        self._engine = engine
        self._frame = frame
        self._rows: list[tuple] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self._frame.columns)

    def fetchall(self) -> list[tuple]:
        if self._rows is None:
            self._rows = [tuple(row) for row in self._frame.collect()]
        return self._rows

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self) -> pd.DataFrame:
        return _to_pandas(self._frame)

    def to_arrow_table(self) -> "pyarrow.Table":
        return self._frame.toArrow()

    def order(self, expression: str) -> "SparkRelation":
        """The rows sorted by DuckDB ORDER BY text (``"predicted_revenue desc, customer_id"``)."""
        name = self._engine.fresh_name("relation")
        self._frame.createOrReplaceTempView(name)
        return SparkRelation(self._engine, self._engine.dataframe(f"select * from {name} order by {expression}"))

    def limit(self, n: int) -> "SparkRelation":
        return SparkRelation(self._engine, self._frame.limit(int(n)))

    def query(self, view_name: str, sql: str) -> "SparkRelation":
        """Run DuckDB ``sql`` reading this relation as ``view_name``."""
        self._frame.createOrReplaceTempView(view_name)
        return SparkRelation(self._engine, self._engine.dataframe(sql, {}))


class SparkCursor:
    """What ``store.cursor()`` gives in warehouse mode: DuckDB's cursor API, run on Spark."""

    def __init__(self, engine: SparkEngine):
        self.engine = engine
        self._result: SparkRelation | None = None

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> "SparkCursor":
        created = _CREATE.match(sql)
        if created:
            self.engine.create_view(created.group(1), created.group(2), params)
            self._result = None
        elif _DROP.match(sql):
            self.engine.drop_view(_DROP.match(sql).group(1))
            self._result = None
        elif _TRANSACTION.match(sql):
            self._result = None  # reads of cached views: nothing to isolate
        else:
            self._result = SparkRelation(self.engine, self.engine.dataframe(sql, params))
        return self

    def sql(self, sql: str, params: dict[str, Any] | None = None) -> SparkRelation:
        return SparkRelation(self.engine, self.engine.dataframe(sql, params))

    def fetchall(self) -> list[tuple]:
        return self._result.fetchall() if self._result is not None else []

    def fetchone(self):
        return self._result.fetchone() if self._result is not None else None

    def df(self) -> pd.DataFrame:
        return self._result.df() if self._result is not None else pd.DataFrame()

    @property
    def description(self):
        return [(name,) for name in self._result.columns] if self._result is not None else None

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.engine.register_frame(name, frame)

    def unregister(self, name: str) -> None:
        self.engine.drop_view(name)

    def from_arrow(self, table: "pyarrow.Table") -> SparkRelation:
        return SparkRelation(self.engine, self.engine.session.createDataFrame(table))

    def close(self) -> None:
        self._result = None
