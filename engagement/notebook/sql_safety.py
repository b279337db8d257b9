"""The safety layer for analysts' own SQL: read-only, bounded in rows and time, no files outside ``data/``.

The workbench process holds the database open for writing, and DuckDB refuses a second, read-only
connection to a file the same process holds read-write. So user SQL runs on a fresh cursor of the
process's connection, and is made read-only by three layers:

1. **Parser check** (:func:`check_query`), with DuckDB's own parser: exactly one statement, of type
   SELECT (``WITH``, ``FROM``-first, ``VALUES``, ``DESCRIBE``, ``SUMMARIZE``, ``SHOW`` and ``PIVOT ... IN (...)``
   parse as SELECT). Then the statement's syntax tree (``json_serialize_sql``) is walked:

   - every table reference must be a table or view of the catalog or a CTE in scope: this refuses
     ``FROM '/etc/passwd'``, ``FROM 'https://...'`` (replacement scans) and Python variables;
   - every table function must be on an allow-list; the file readers on it (``read_csv``,
     ``read_parquet``, ``read_json``, ``glob``, ...) only with constant paths inside ``data/``;
     ``query()``, ``read_text``, ``read_blob``, ``duckdb_secrets`` ... are refused;
   - every function must already be loaded: a function of a known but not loaded extension would
     make DuckDB install and load that extension; a few loaded ones with side effects are refused.

2. **Transaction rolled back**: the statement runs inside ``BEGIN`` ... ``ROLLBACK`` on its own cursor,
   so even a write that slipped through could not commit.

3. **Limits**: rows are streamed in small Arrow batches and counted as they come: at most ``max_rows``
   rows (the result says when there were more) and at most ``max_bytes`` bytes (over it, the query is
   refused: one query cannot fill the server's memory); a timer thread calls ``cursor.interrupt()``
   after ``timeout_seconds`` (clamped to ``MAX_TIMEOUT_SECONDS``; it cancels that cursor's query only,
   other sessions' queries go on).

Underneath all three, the engine itself is sandboxed when the store opens (``engagement/warehouse/sandbox.py``):
DuckDB reads files only in ``data/``, the upload spool and its temp directory, installs no extension and
its configuration is locked. The parser refuses the spool and the upload archive too (raw uploads hold
personal data), which the engine must keep readable for loads. For a store of a database file the statement
then runs in a worker process (``notebook/worker.py``) whose own read-only instance cannot read the spool or the
archive either, under an operating-system memory cap; the parser check still runs here, on the app's catalog.

Whatever the engine, the statement never meets the workbench database itself: it runs on a copy holding only the
tables ``data_policy`` opens to the notebook (canonical and derived), personal columns masked
(``notebook/policy_database.py``); the parser refuses the other tables by name too, saying why.

Example
-------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE orders AS SELECT 1 AS n").fetchall()
>>> run_query(con, "SELECT n + 1 AS m FROM orders").frame["m"].tolist()
[2]
>>> run_query(con, "DROP TABLE orders")
Traceback (most recent call last):
...
engagement.notebook.sql_safety.QueryRefused: DROP changes the database; the notebook is read-only. Only SELECT queries run here.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from engagement import config
from engagement.notebook import data_policy, policy_database, worker
from engagement.warehouse import sandbox

DEFAULT_MAX_ROWS = 10_000
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 3600.0  # any larger limit is this one (threading.Timer overflows near 1e10 s)
# What one query may hand to Python: 10,000 rows of 50 columns of 100-byte text is 50 MB.
DEFAULT_MAX_BYTES = 64 * 1024 ** 2
# Rows per Arrow batch: small, so that the bytes are counted before a batch of huge values is copied
# (DuckDB itself still computes one vector of up to 2,048 rows at a time); 8 rows cost about 1.5 us a row.
_ROWS_PER_BATCH = 8

# Table functions a notebook query may call. File readers are further limited to paths in data/.
FILE_TABLE_FUNCTIONS = frozenset({
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_ndjson", "read_ndjson_auto", "glob", "parquet_metadata", "parquet_schema", "sniff_csv",
})
SAFE_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "repeat", "json_each", "json_tree",
    "duckdb_tables", "duckdb_columns", "duckdb_views", "duckdb_types", "duckdb_functions",
    "duckdb_constraints", "duckdb_schemas", "duckdb_indexes", "duckdb_keywords", "pragma_table_info",
    "summary",
})
# Loaded scalar functions that act outside the query: writing to DuckDB's log, running serialized SQL.
REFUSED_FUNCTIONS = frozenset({"write_log", "json_execute_serialized_sql"})
REFUSED_VIEWS = frozenset({"duckdb_logs"})  # may hold other sessions' queries

_STATEMENT_REASONS = {
    "INSERT": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "UPDATE": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "DELETE": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "CREATE": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "DROP": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "ALTER": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "VACUUM": "{kind} changes the database; the notebook is read-only. Only SELECT queries run here.",
    "COPY": "COPY reads or writes files; it is refused here. Select the rows and use the CSV download.",
    "EXPORT": "EXPORT DATABASE writes files; it is refused here.",
    "ATTACH": "ATTACH opens another database; only the workbench database can be queried.",
    "DETACH": "DETACH changes the open databases; it is refused here.",
    "LOAD": "INSTALL and LOAD add extensions to the server; they are refused here.",
    "SET": "SET, RESET and USE change the server's configuration; they are refused here.",
    "PRAGMA": "PRAGMA can change the server's configuration; it is refused here "
              "(use SELECT * FROM pragma_table_info('orders') to inspect a table).",
    "CALL": "CALL runs procedures (CHECKPOINT, pragmas) that can change the server; it is refused here.",
    "TRANSACTION": "Each query runs in its own read-only transaction; BEGIN/COMMIT/ROLLBACK are refused.",
    "EXPLAIN": "EXPLAIN (ANALYZE) is refused here; run the SELECT itself.",
    "MULTI": "This statement expands to several (PIVOT without an explicit IN list creates types); "
             "write PIVOT ... ON column IN ('a', 'b') ... instead.",
}


class QueryRefused(ValueError):
    """The query was not run: the safety layer refused it (the message says why)."""


class QueryCancelled(RuntimeError):
    """The query ran longer than its time limit and was cancelled."""


class QueryFailed(RuntimeError):
    """DuckDB could not run the query (syntax error, unknown column, ...); the message is DuckDB's."""


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query, with how many there were and how long it took.

    ``truncated`` is True when the query returned more than ``max_rows`` rows; ``frame`` then holds
    the first ``max_rows`` of them.
    """

    sql: str
    frame: pd.DataFrame
    duration_seconds: float
    truncated: bool
    max_rows: int
    # Timestamp columns holding DuckDB's 'infinity' / '-infinity' (purchases.next_ordered_at on a customer's
    # latest purchase, say): pandas can neither print nor write those, so they are blank (NaT) in ``frame``.
    infinite_timestamp_columns: tuple[str, ...] = ()

    @property
    def row_count(self) -> int:
        return len(self.frame)

    def summary(self) -> str:
        """"3 rows in 0.02 s" / "first 10,000 rows (more not shown) in 1.20 s"."""
        rows = (f"first {self.row_count:,} rows (more not shown)" if self.truncated
                else f"{self.row_count:,} row{'s' if self.row_count != 1 else ''}")
        blank = (f"; blank in {', '.join(self.infinite_timestamp_columns)}: ±infinity (no such event)"
                 if self.infinite_timestamp_columns else "")
        return f"{rows} in {self.duration_seconds:.2f} s{blank}"


# ------------------------------------------------------------------ checking
def check_query(cursor: duckdb.DuckDBPyConnection, sql: str, data_dir: Path | None = None,
                refused_dirs: tuple[Path, ...] = ()) -> str:
    """Refuse anything but one read-only SELECT over the workbench's tables; return the statement.

    File readers may read inside ``data_dir`` (default ``data/``) but never inside the upload spool, the
    archive beside ``data_dir`` or ``refused_dirs`` (the archive beside the database file).

    Raises :class:`QueryRefused` with a message for the user, or :class:`QueryFailed` on a syntax error.
    """
    if not sql or not sql.strip() or not _strip_comments(sql).strip(" ;\n\t"):
        raise QueryRefused("The query is empty.")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(str(exc)) from None
    if len(statements) != 1:
        raise QueryRefused(f"Run one statement at a time; this text holds {len(statements)}.")
    statement = statements[0]
    kind = statement.type.name
    if kind == "SET" and statement.query.lstrip().lower().startswith("pragma"):
        kind = "PRAGMA"
    if kind != "SELECT":
        reason = _STATEMENT_REASONS.get(kind, "Only SELECT queries run here; this is a {kind} statement.")
        raise QueryRefused(reason.format(kind=kind))
    if statement.named_parameters:
        raise QueryRefused("Parameters ($name, ?) cannot be bound here; write the values into the query.")
    tree = _syntax_tree(cursor, statement.query)
    _TreeCheck(cursor, Path(data_dir or config.DATA_DIR), refused_dirs).check(tree)
    return statement.query


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _syntax_tree(cursor: duckdb.DuckDBPyConnection, statement: str) -> dict[str, Any]:
    raw = cursor.execute("SELECT json_serialize_sql($statement)", {"statement": statement}).fetchall()[0][0]
    tree = json.loads(raw)
    if tree.get("error"):
        raise QueryFailed(tree.get("error_message", "DuckDB could not parse the query."))
    return tree


def _walk(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


class _TreeCheck:
    """Walks a serialized SELECT and refuses references outside the workbench's tables and data/."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, data_dir: Path,
                 refused_dirs: tuple[Path, ...] = ()):
        self.cursor = cursor
        self.data_dir = Path(os.path.realpath(data_dir))
        # Raw uploads: the spool they are read from and the archive they are kept in.
        self.refused_dirs = {Path(os.path.realpath(d)) for d in (
            config.SPOOL_DIR, self.data_dir / "spool", self.data_dir / "archive", *refused_dirs)}
        rows = cursor.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views()"
        ).fetchall()
        # Only what data_policy allows: in the worker's case this check reads the app's own catalog.
        rows = [(s, n) for s, n in rows if n.lower() not in REFUSED_VIEWS
                and (s.lower() != "main" or data_policy.is_queryable(n))]
        self.tables = {name.lower() for _, name in rows} | {f"{s}.{n}".lower() for s, n in rows}
        self.functions = {
            name.lower() for (name,) in cursor.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
        }

    def check(self, node: Any, ctes: frozenset[str] = frozenset()) -> None:
        if isinstance(node, list):
            for item in node:
                self.check(item, ctes)
            return
        if not isinstance(node, dict):
            return
        node_type = node.get("type")
        if isinstance(node_type, str) and node_type.endswith("_QUERY_NODE"):  # WITH x AS (UPDATE ...) SELECT
            kind = node_type.removesuffix("_QUERY_NODE").replace("_", " ")
            raise QueryRefused(f"{kind} inside a query changes the database; the notebook is read-only. "
                               "Only SELECT queries run here.")
        if node_type == "RECURSIVE_CTE_NODE" and node.get("cte_name"):
            ctes = ctes | {node["cte_name"].lower()}  # a recursive CTE's body may read itself
        entries = (node.get("cte_map") or {}).get("map", [])
        for entry in entries:
            # A CTE is in scope in the CTEs after it and in the query body, not in its own (non-recursive)
            # body nor in the ones before it: there DuckDB reads a name like "/x.csv" as a file.
            name = entry["key"]
            if any(ch in name for ch in "/\\:.*?[{"):
                raise QueryRefused(f"A CTE cannot be named {name!r}: DuckDB reads a name like a path as a file. "
                                   "Give the CTE a plain name.")
            self.check(entry["value"], ctes)
            ctes = ctes | {name.lower()}
        node = {key: value for key, value in node.items() if key != "cte_map"}
        if node_type == "BASE_TABLE":
            self._check_table(node, ctes)
        elif node_type == "SHOW_REF" and node.get("table_name") and node.get("show_type") != "SHOW_SPECIAL":
            self._check_table({"table_name": node["table_name"].strip('"'), "schema_name": ""}, ctes)
        elif node_type == "TABLE_FUNCTION":
            self._check_table_function(node["function"])
            for argument in node["function"].get("arguments", []):
                self.check(argument, ctes)
            return
        if node.get("class") in ("FUNCTION", "WINDOW", "AGGREGATE") and "function_name" in node:
            self._check_function(node["function_name"])
        for value in node.values():
            if isinstance(value, (dict, list)):
                self.check(value, ctes)

    def _check_table(self, ref: dict[str, Any], ctes: frozenset[str]) -> None:
        name = ref["table_name"].lower()
        schema = (ref.get("schema_name") or "").lower()
        catalog = (ref.get("catalog_name") or "").lower()
        qualified = f"{schema}.{name}" if schema else name
        if not schema and name in ctes:
            return
        if catalog and catalog not in ("memory", "system", "temp", self._database_name()):
            raise QueryRefused(f"Only the workbench database can be queried, not {catalog!r}.")
        if qualified in self.tables or (schema and f"{schema}.{name}" in self.tables):
            return
        hidden = data_policy.hidden_reason(name) if schema in ("", "main") else None
        if hidden:
            raise QueryRefused(
                f"The table {ref['table_name']!r} is not open to the notebook: it holds {hidden}. Cells query "
                "the loaded and derived tables, with personal data masked; the schema browser lists them."
            )
        if "/" in name or "." in name or ":" in name or "\\" in name:
            raise QueryRefused(
                f"Reading {ref['table_name']!r} as a file is refused. Query the workbench's tables, or "
                "read a file inside data/ with read_csv('data/<file>')."
            )
        raise QueryRefused(f"There is no table {ref['table_name']!r}. The schema browser lists the tables.")

    def _database_name(self) -> str:
        return str(self.cursor.execute("SELECT current_database()").fetchall()[0][0]).lower()

    def _check_table_function(self, function: dict[str, Any]) -> None:
        name = function["function_name"].lower()
        if name in SAFE_TABLE_FUNCTIONS:
            return
        if name not in FILE_TABLE_FUNCTIONS:
            raise QueryRefused(
                f"The table function {name}() is refused here. Allowed: "
                + ", ".join(sorted(SAFE_TABLE_FUNCTIONS | FILE_TABLE_FUNCTIONS)) + "."
            )
        arguments = function.get("arguments", [])
        positional = [a["expression"] for a in arguments if not a.get("name")]
        if not positional:
            raise QueryRefused(f"{name}() needs a file path inside data/.")
        for path in _constant_paths(positional[0], name):
            self._check_path(path, name)

    def _check_path(self, path: str, function: str) -> None:
        text = path.strip()
        if "://" in text or text.startswith("~") or (":" in text and not os.path.isabs(text)):
            raise QueryRefused(f"{function}() may only read files inside data/, not {path!r}.")
        candidate = Path(text)
        if ".." in candidate.parts:
            raise QueryRefused(f"{function}() may only read files inside data/; '..' is refused in {path!r}.")
        # Glob patterns only in the file name: a wildcard folder (data/*/x.csv) could reach the archive.
        wild = [i for i, part in enumerate(candidate.parts) if any(ch in part for ch in "*?[{")]
        if wild and wild[0] != len(candidate.parts) - 1:
            raise QueryRefused(f"{function}() takes wildcards in the file name only, not in folders: {path!r}.")
        base = candidate.parent if wild else candidate
        resolved = Path(os.path.realpath(base if base.is_absolute() else Path.cwd() / base))
        if resolved != self.data_dir and self.data_dir not in resolved.parents:
            raise QueryRefused(
                f"{function}() may only read files inside {self.data_dir} (the workbench's data folder), "
                f"not {path!r}."
            )
        if any(resolved == refused or refused in resolved.parents for refused in self.refused_dirs):
            raise QueryRefused(
                f"{function}() cannot read {path!r}: the upload spool and archive hold raw uploads (personal "
                "data). Query the loaded tables instead."
            )

    def _check_function(self, name: str) -> None:
        lowered = name.lower()
        if lowered in REFUSED_FUNCTIONS or lowered.startswith("__internal"):
            raise QueryRefused(f"The function {name}() is refused here: it acts outside the query.")
        if lowered not in self.functions:
            raise QueryRefused(
                f"There is no function {name}() loaded. Functions of extensions that are not loaded are "
                "refused (running them would install and load the extension)."
            )


def _constant_paths(expression: dict[str, Any], function: str) -> list[str]:
    """The literal path(s) of a file reader's first argument; anything computed is refused."""
    if expression.get("class") == "CONSTANT" and expression["literal"].get("kind") in ("STRING", "VARCHAR"):
        return [expression["literal"]["text"]]
    if expression.get("class") == "FUNCTION" and expression.get("function_name") == "list_value":
        return [p for a in expression.get("arguments", []) for p in _constant_paths(a["expression"], function)]
    raise QueryRefused(f"{function}() needs its path written as a text constant (or a list of them) inside data/.")


# ------------------------------------------------------------------- running
def run_query(
    connection: Any,
    sql: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    data_dir: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> QueryResult:
    """Check ``sql`` and run it read-only on a fresh cursor, within ``max_rows``, ``max_bytes`` and
    ``timeout_seconds`` (clamped to ``MAX_TIMEOUT_SECONDS``).

    ``connection`` is a :class:`~engagement.warehouse.store.Store` or a DuckDB connection. Raises
    :class:`QueryRefused` (also when the result passes ``max_bytes``), :class:`QueryCancelled` or
    :class:`QueryFailed` with a message for the user.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1.")
    if max_bytes < 1:
        raise ValueError("max_bytes must be at least 1.")
    if not timeout_seconds > 0:  # also NaN
        raise ValueError("timeout_seconds must be positive.")
    timeout_seconds = min(float(timeout_seconds), MAX_TIMEOUT_SECONDS)
    cursor: Any = None  # the policy copy's, below: cancel() interrupts it
    fired, finished = threading.Event(), threading.Event()

    def cancel() -> None:
        fired.set()
        # An interrupt sent in the instant before DuckDB starts the query is lost: repeat it until the run ends.
        while not finished.is_set():
            try:
                cursor.interrupt()
            except duckdb.Error:
                return
            finished.wait(0.05)

    cancelled = (f"The query ran longer than {timeout_seconds:g} s and was cancelled. Narrow it (WHERE, LIMIT) "
                 "or aggregate more.")
    if isolated(connection):
        return _run_in_worker(connection, sql, max_rows, max_bytes, timeout_seconds, data_dir, cancelled)
    refused = _archive_beside(connection)
    checker = connection.cursor()
    try:  # first, so that a refused statement costs no copy
        statement = check_query(checker, sql, data_dir, refused)
    finally:
        checker.close()
    # Here too the statement runs on a copy holding only what data_policy allows, never on the store itself.
    try:
        policy = policy_database.in_memory_copy(
            connection, *worker.readable_files(Path(data_dir or config.DATA_DIR), ":memory:", refused, True))
    except (duckdb.Error, OSError) as exc:
        raise QueryFailed(f"The notebook's copy of the data could not be made: {exc}") from None
    cursor = policy.cursor()
    try:
        timer = threading.Timer(timeout_seconds, cancel)
        timer.daemon = True
        started = time.perf_counter()
        cursor.execute("BEGIN TRANSACTION")
        timer.start()
        try:
            table = _fetch_bounded(cursor, statement, max_rows, max_bytes)
            duration = time.perf_counter() - started
        except duckdb.InterruptException:
            raise QueryCancelled(cancelled) from None
        except (duckdb.Error, OSError, ValueError) as exc:  # pyarrow passes DuckDB's errors on as its own
            if isinstance(exc, QueryRefused):
                raise
            if fired.is_set():
                raise QueryCancelled(cancelled) from None
            raise QueryFailed(str(exc)) from None
        finally:
            finished.set()
            timer.cancel()
            if timer.is_alive():
                timer.join()
        if fired.is_set():
            raise QueryCancelled(cancelled)
    finally:
        cursor.close()  # drops the undrained rest of the result and rolls the transaction back
        policy.close()
    truncated = table.num_rows > max_rows
    frame = _to_frame(connection, table.slice(0, max_rows))
    frame, infinite = infinite_timestamps_as_missing(frame)
    return QueryResult(sql=sql, frame=frame, duration_seconds=duration, truncated=truncated, max_rows=max_rows,
                       infinite_timestamp_columns=infinite)


def isolated(connection: Any) -> bool:
    """Whether ``connection`` is a store of a database file: its cells run in a worker process (``worker.py``).
    An in-memory store or a bare connection has no file another process could open: its cells run here."""
    return getattr(connection, "read_only", None) is not None and getattr(connection, "path", ":memory:") != ":memory:"


def _run_in_worker(store: Any, sql: str, max_rows: int, max_bytes: int, timeout_seconds: float,
                   data_dir: Path | None, cancelled: str) -> QueryResult:
    """The parser check here, on the app's catalog; the statement itself in a worker (``notebook/worker.py``), on
    the policy copy of the store's latest snapshot (or of its own file when read-only)."""
    cursor = store.cursor()
    try:
        statement = check_query(cursor, sql, data_dir, _archive_beside(store))
    finally:
        cursor.close()
    started = time.perf_counter()
    try:
        copy = worker.POOL.policy_copy(store, worker.POOL.source(store))
    except (RuntimeError, OSError, duckdb.Error) as exc:
        raise QueryFailed(str(exc)) from None
    reply = worker.POOL.run(copy, Path(data_dir or config.DATA_DIR), statement,
                            max_rows=max_rows, max_bytes=max_bytes, timeout_seconds=timeout_seconds)
    duration = time.perf_counter() - started
    if reply.status == "timeout":
        raise QueryCancelled(cancelled)
    if reply.status == "too_big":
        raise QueryRefused(_too_big(max_bytes, reply.rows))
    if reply.status == "memory":
        raise QueryRefused(
            f"The query needed more than the {worker.os_limit_bytes() / 1024 ** 2:,.0f} MB of memory a notebook "
            "query may use and was stopped (the workbench itself is unaffected). Select fewer or shorter columns, "
            "fewer rows, or aggregate."
        )
    if reply.status == "refused":
        raise QueryRefused(f"DuckDB refused the query: {reply.message}")
    if reply.status != "ok":
        raise QueryFailed(reply.message)
    table = reply.table
    frame, infinite = infinite_timestamps_as_missing(_to_frame(store, table.slice(0, max_rows)))
    return QueryResult(sql=sql, frame=frame, duration_seconds=duration, truncated=table.num_rows > max_rows,
                       max_rows=max_rows, infinite_timestamp_columns=infinite)


def _too_big(max_bytes: int, rows: int) -> str:
    return (f"The result passed {max_bytes / 1024 ** 2:,.0f} MB after {rows:,} rows, the most a query may return "
            "here; it was stopped. Select fewer or shorter columns, fewer rows, or aggregate.")


def _archive_beside(connection: Any) -> tuple[Path, ...]:
    """The upload archive beside a store's database file (``intake.archive.archive_dir_for``), to refuse it."""
    path = getattr(connection, "path", None)
    return (Path(path).resolve().parent / "archive",) if path and path != ":memory:" else ()


def _fetch_bounded(cursor: duckdb.DuckDBPyConnection, statement: str, max_rows: int, max_bytes: int):
    """The first ``max_rows + 1`` rows as an Arrow table, streamed in small batches; ``QueryRefused`` as
    soon as they pass ``max_bytes`` (the rest is never fetched)."""
    import pyarrow as pa

    relation = cursor.sql(statement)
    if relation is None:
        raise QueryFailed("The statement returned no rows to show.")
    reader = relation.to_arrow_reader(_ROWS_PER_BATCH)
    batches, rows, size = [], 0, 0
    for batch in reader:
        size += batch.nbytes
        if size > max_bytes:
            raise QueryRefused(_too_big(max_bytes, rows + batch.num_rows))
        batches.append(batch)
        rows += batch.num_rows
        if rows > max_rows:
            break
    return pa.Table.from_batches(batches, schema=reader.schema)


def _to_frame(connection: Any, table) -> pd.DataFrame:
    """The rows as DuckDB itself turns them into pandas (DECIMAL and HUGEINT as float, ...), as before."""
    converter = connection.cursor()
    try:
        return converter.from_arrow(table).df()
    finally:
        converter.close()


def infinite_timestamps_as_missing(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``frame`` with DuckDB's ±infinity timestamps made NaT, and the names of the columns that had any.

    DuckDB hands them to pandas as the int64 extremes (years -290308 and 294247), which pandas cannot format:
    printing the frame or writing it as CSV raises.

    >>> import duckdb
    >>> raw = duckdb.sql("SELECT 'infinity'::timestamp AS t UNION ALL SELECT '2025-01-02'::timestamp").df()
    >>> frame, columns = infinite_timestamps_as_missing(raw)
    >>> columns, frame["t"].isna().tolist()
    (('t',), [True, False])
    """
    import numpy as np

    infinite = {}
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            ticks = frame[column].to_numpy().view("int64") if frame[column].dt.tz is None else \
                frame[column].dt.tz_localize(None).to_numpy().view("int64")
            is_infinite = (ticks == np.iinfo(np.int64).max) | (ticks == np.iinfo(np.int64).min + 1)
            if is_infinite.any():
                infinite[column] = is_infinite
    if not infinite:
        return frame, ()
    frame = frame.copy()
    for column, is_infinite in infinite.items():
        frame[column] = frame[column].mask(is_infinite)
    return frame, tuple(str(column) for column in infinite)


def harden_process(connection: Any, data_dir: Path | None = None) -> None:
    """Turn off file and network access outside ``data_dir`` for the whole DuckDB instance, for good.

    A store is hardened when it opens (``Store.open``); this is for a bare DuckDB connection.
    """
    sandbox.harden(connection, data_dir=data_dir)
