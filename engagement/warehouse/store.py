"""The DuckDB store: opening (sandboxed, locked per file), transactions, read snapshots, the schema, the
derived build it is handed, and query access. Its write path (loads and their undo) is in
:mod:`engagement.warehouse.loading`, its errors in :mod:`engagement.warehouse.errors`.

One ``Store`` (one DuckDB connection) per process; every thread or Streamlit session works on its
own ``store.cursor()``. Every write is one transaction (:meth:`Store.write`): a reader sees the data before a
load or after it, never half of it. The store knows SQL, not the domain: the derived tables are rebuilt inside
the transaction of the load that changes their inputs by a :class:`DerivedBuilder` it is handed when opened
(``engagement.derived``, through ``engagement.workbench.open_workbench``), never one it imports.

Example
-------
>>> store = Store.open(":memory:")
>>> store.is_empty()
True
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

import duckdb
import pandas as pd

from engagement import config
from engagement.warehouse.access import CLI_ACTOR, Actor, WriteRefused, require_analyst
from engagement.warehouse.engine import DuckDBEngine
from engagement.warehouse import audit, background, sandbox
from engagement.warehouse.errors import ReadOnlyStoreError, StoreLockedError, StoreOutdatedError
from engagement.warehouse.loading import QUARANTINE_DDL, Change, LoadingMixin, change_of_loads, replaced_table
from engagement.warehouse.lock_messages import lock_message
from engagement.warehouse.query_records import QueryRecord, note_query
from engagement.warehouse.schema import KINDS, TABLES
from engagement.sql import quote_identifier as _quote
from engagement.sql import read_sql

if TYPE_CHECKING:
    import pyarrow

LOADS_DDL = """
CREATE TABLE IF NOT EXISTS loads (
    load_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    file_name VARCHAR,
    sha256 VARCHAR,
    source_format VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_updated BIGINT,
    rows_quarantined BIGINT,
    validation_summary JSON,
    loaded_at TIMESTAMP NOT NULL,
    undone_at TIMESTAMP
)
"""


# What built the derived tables: a fingerprint of their SQL (DerivedBuilder.fingerprint). A database opened for
# writing by a version whose derived SQL differs (new tables or columns) rebuilds them once, so views never read
# an older shape; a write by a store opened without a builder empties it, so that the next open rebuilds them.
DERIVED_BUILD_DDL = "CREATE TABLE IF NOT EXISTS derived_build (fingerprint VARCHAR NOT NULL)"

# The workbench's own tables that analysts write through the store (targets and alert rules, and the log of alert
# evaluations): created with the schema, so a read-only snapshot of any database this version opened has them.
APP_TABLE_SQL = ("annotations/create_annotations", "leadership/create_metric_targets", "leadership/create_alert_rules", "leadership/create_alert_events")


class DerivedBuilder(Protocol):
    """What rebuilds the derived tables after a write (``engagement.derived.DERIVED_BUILD``)."""

    def reads(self, kind: str) -> bool:
        """Whether any derived table reads canonical table ``kind`` (a load of it then rebuilds them)."""

    def fingerprint(self) -> str:
        """A digest of everything that decides the derived tables besides the data (their SQL, model settings)."""

    def rebuild(self, store: "Store", cursor: duckdb.DuckDBPyConnection) -> None:
        """Build every derived table with ``cursor``, inside the caller's transaction."""

    def update(self, store: "Store", cursor: duckdb.DuckDBPyConnection, change: Change) -> None:
        """Bring every derived table up to date with ``change`` (a write's rows), inside the caller's transaction."""

    def after_commit(self, store: "Store") -> None:
        """Work after a write committed (refitting models that may lag the data)."""


def stored_view_settings(cur: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    """The one row of ``derived/<name>.sql`` (a stored view's settings) as the parameters of its view query."""
    relation = cur.sql(read_sql(f"derived/{name}"))
    return dict(zip(relation.columns, relation.fetchall()[0]))


# A write's commit checkpoints (folds the write-ahead log into the file) only past this much log. DuckDB's default,
# 16 MB, made a weekly file's commit (about 100 MB of log on the 5M-order benchmark database) pay a checkpoint of
# about 1.3 s of CPU before the Data page could answer. The log is as durable as the file; the checkpoint now
# happens after the commit: when a read-only snapshot is published (in the background in the app, which publishes
# after every write), when the database is closed, or once this much log has built up.
CHECKPOINT_THRESHOLD = "1GiB"


def _checkpoint_later(connection: duckdb.DuckDBPyConnection) -> None:
    """Raise the instance's auto-checkpoint threshold, unless its settings are already locked (another store of
    the same file in this process opened it first and set it)."""
    if not connection.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
        connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'").fetchall()


class Store(LoadingMixin):
    """A DuckDB database holding the canonical and derived tables."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str, read_only: bool,
                 derived: DerivedBuilder | None = None):
        self._connection = connection
        self.path = path
        self.read_only = read_only
        self.derived = derived
        self._write_lock = threading.Lock()
        # The engine the views' SQL runs on (warehouse mode's SparkStore runs it on Spark instead).
        self.engine = DuckDBEngine()
        self._last_query = threading.local()
        self._snapshot = threading.local()
        self._batch = threading.local()  # a batch of loads in one transaction (Store.batch), per thread
        # The app sets this: a write that names no acting user is refused there (library and CLI act as analyst).
        self.actor_required = False
        # Called with the store after every committed load, undo or rebuild (read-only snapshots publish here).
        self.after_commit: list[Callable[["Store"], None]] = []
        self.derived_rebuilt = False  # refresh_derived ran in this process (see snapshots.enable)
        # The app sets this: model fits the derived build refits after a commit run in a background thread.
        self.refit_in_background = False
        # Set by `ingest --defer-fits`: leave the model refit to the next commit or `python -m engagement refit`.
        self.defer_refits = False
        # Set when this store is a published read-only snapshot (warehouse/snapshots.py): which load it reflects.
        self.snapshot_of: Any = None

    @classmethod
    def open(cls, path: str | Path | None = None, read_only: bool | None = None,
             readable: tuple[str | Path, ...] = (), derived: DerivedBuilder | None = None) -> "Store":
        """Open (and if needed create) the database at ``path`` (default: ``config.db_path()``).

        The database instance is sandboxed before anything runs on it (:func:`engagement.warehouse.sandbox.harden`):
        DuckDB reads files only in ``data/``, the upload spool, its temp directory, ``readable`` (files
        this process was given, e.g. by ``ingest FILE``) and, opened for writing, the database's snapshot folder;
        it installs no extension and its settings are locked.
        ``derived`` rebuilds the derived tables after each write; the app, the CLI and notebooks open through
        ``engagement.workbench.open_workbench``, which hands it over and rebuilds stale derived tables.
        """
        path = str(path if path is not None else config.db_path())
        if path != ":memory:":
            # Absolute: the notebook's copy and its query workers run in child processes from the project folder,
            # where a relative --db named another file (or none).
            path = os.path.abspath(path)
        read_only = config.read_only() if read_only is None else read_only
        if path != ":memory:" and not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise StoreLockedError(lock_message(path, str(exc), read_only)) from exc
        # A writable database publishes read-only snapshots beside itself (warehouse/snapshots.py), wherever it is.
        publishing = (sandbox.snapshot_dir(path),) if path != ":memory:" and not read_only else ()
        if not read_only:
            _checkpoint_later(connection)
        sandbox.harden(connection, readable, folders=publishing)
        store = cls(connection, path, read_only, derived)
        if not read_only:
            store.ensure_schema()
        return store

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def close(self) -> None:
        """Close the database once the after-commit work running in the background (refit, alert evaluation)
        has finished: it reads and writes through this connection."""
        background.wait_for_all(self)
        self._connection.close()

    def derived_are_current(self) -> bool:
        """Whether the derived tables were built by this version's derived SQL (see ``derived_build``)."""
        builder = self._builder()
        cur = self.cursor()
        if not self._has_table(cur, "derived_build"):
            return False
        return cur.execute("SELECT fingerprint FROM derived_build").fetchall() == [(builder.fingerprint(),)]

    def _builder(self) -> DerivedBuilder:
        if self.derived is None:
            raise RuntimeError("This store was opened without the derived build: open it with "
                               "engagement.workbench.open_workbench() to rebuild or check the derived tables.")
        return self.derived

    def require_current_derived(self) -> None:
        """Raise :class:`StoreOutdatedError` with the fix when a read-only store's derived tables are stale.

        A writable store rebuilds them when opened; a read-only one (a shared leadership link, a report
        beside a running app) cannot, and its views would read tables without the columns they expect.
        """
        if self.derived_are_current():
            return
        raise StoreOutdatedError(
            f"The database {self.path} was built by another version of Engagement Workbench (or is empty), and "
            "a read-only instance cannot rebuild its derived tables. Run `python -m engagement upgrade --db "
            f"{self.path}` once (or open the workbench on it once without read-only mode), then reload this page."
        )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread or session (DuckDB connections are not shared across threads).

        Inside :meth:`snapshot` it is that block's cursor, so every read there sees the same data.
        """
        active = getattr(self._snapshot, "cursor", None) or self.batch_cursor()
        return active if active is not None else self._connection.cursor()

    def batch_cursor(self) -> duckdb.DuckDBPyConnection | None:
        """The cursor of this thread's open :meth:`batch` (its callers must not close it), or None."""
        return getattr(self._batch, "cursor", None)

    @contextmanager
    def batch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Several loads in one transaction with one derived update (a week's exports): every load inside the
        block joins its transaction and leaves the derived tables to its end, where they are updated once for
        all of them; the block's exception rolls every load back. Nests into itself only."""
        if self.batch_cursor() is not None:
            yield self.batch_cursor()
            return
        self._require_writable()
        with self._write_lock:
            cur = self._connection.cursor()
            cur.execute("BEGIN")
            self._batch.cursor, self._batch.loads = cur, {}
            try:
                yield cur
                loads = self._batch.loads
                read = {kind: ids for kind, ids in loads.items() if self._derived_read(kind)}
                if read:  # the change names only what the derived tables read (experiments have no customer)
                    self._refresh_derived(cur, change_of_loads(cur, read))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                self._batch.cursor = None
                cur.close()
        if loads:
            self._committed()

    @contextmanager
    def write(self, cursor: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: what the block runs on the cursor it gets commits together at its end, or is
        rolled back when the block raises (the exception propagates). One writer at a time per process.

        ``cursor``: a cursor holding temporary tables the block reads (ingest's staged rows); default a new one.
        """
        self._require_writable()
        batch = self.batch_cursor()
        if batch is not None:  # inside a batch: its transaction, committed (or rolled back) at its end
            if cursor is not None and cursor is not batch:
                raise RuntimeError("Inside Store.batch, writes run on the batch's cursor (Store.cursor()).")
            yield batch
            return
        with self._write_lock:
            cur = cursor or self.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _derived_read(self, kind: str) -> bool:
        """Whether a write of ``kind`` changes what the derived tables are built from (unknown without a
        builder: then yes)."""
        return self.derived is None or self.derived.reads(kind)

    def _refresh_derived(self, cur: duckdb.DuckDBPyConnection, change: Change | None = None) -> None:
        """Rebuild the derived tables in the write's transaction, or update them for ``change`` when they are
        current, and record what built them. Without a builder, mark them stale for the next ``open_workbench``."""
        cur.execute(DERIVED_BUILD_DDL)
        if self.derived is None:
            cur.execute("DELETE FROM derived_build")
            return
        fingerprint = self.derived.fingerprint()
        built_by = cur.execute("SELECT fingerprint FROM derived_build").fetchall()
        if change is not None and built_by == [(fingerprint,)]:
            self.derived.update(self, cur, change)
        else:
            self.derived.rebuild(self, cur)
        cur.execute("DELETE FROM derived_build")
        cur.execute("INSERT INTO derived_build VALUES ($fingerprint)", {"fingerprint": self.derived.fingerprint()})

    @contextmanager
    def snapshot(self, reads: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block's reads in one transaction: a view made of several queries sees one committed state,
        never the data before a load in one query and after it in the next. Per thread; nests.

        ``reads``: a cursor whose read transaction (:meth:`begin_reads`) spans several blocks (an app run's
        views): the block reads through it and leaves it open.
        """
        if getattr(self._snapshot, "cursor", None) is not None:
            yield self._snapshot.cursor
            return
        cur = reads if reads is not None else self.begin_reads()
        self._snapshot.cursor = cur
        try:
            yield cur
        finally:
            self._snapshot.cursor = None
            if reads is None:  # the block's own transaction: reads only, nothing to keep
                cur.execute("ROLLBACK")
                cur.close()

    def begin_reads(self) -> duckdb.DuckDBPyConnection:
        """A cursor in a read transaction of its own (for :meth:`snapshot`'s ``reads``): it sees the data committed
        when it began until its holder rolls it back and closes it. Writes never go through it."""
        cur = self._connection.cursor()
        cur.execute("BEGIN TRANSACTION")
        return cur

    # ----------------------------------------------------------------- schema
    def ensure_schema(self) -> None:
        """Create the canonical tables, their undo copies and the workbench's own tables where missing."""
        with self.write() as cur:
            for kind in KINDS:
                spec = TABLES[kind]
                cur.execute(spec.create_sql())
                cur.execute(spec.create_sql(replaced_table(kind)))
                cur.execute(
                    f"ALTER TABLE {_quote(replaced_table(kind))} "
                    "ADD COLUMN IF NOT EXISTS replaced_by_load_id BIGINT"
                )
            cur.execute(LOADS_DDL)
            cur.execute(QUARANTINE_DDL)
            cur.execute(DERIVED_BUILD_DDL)
            cur.execute(audit.AUDIT_DDL)
            for name in APP_TABLE_SQL:
                cur.execute(read_sql(name))

    @staticmethod
    def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
        return bool(cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = $name", {"name": name}
        ).fetchall()[0][0])

    def has_table(self, name: str, cursor: duckdb.DuckDBPyConnection | None = None) -> bool:
        """Whether this database has table ``name`` (a derived table an older version did not build may not)."""
        return self._has_table(cursor or self.cursor(), name)

    def _require_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError("This workbench is opened read-only; loading and undoing are disabled.")
        if getattr(self._snapshot, "cursor", None) is not None:
            raise RuntimeError("Loads and undos cannot run inside a read snapshot (Store.snapshot).")

    def authorize(self, actor: Actor | None, action: str) -> Actor:
        """The user a write acts as, or :class:`WriteRefused`: every write path calls this before writing.

        ``actor=None`` is the command line or a library call (an analyst, see ``access.CLI_ACTOR``), except
        in the app (``actor_required``), where a write must name the signed-in user.
        """
        self._require_writable()
        if actor is None:
            if self.actor_required:
                raise WriteRefused(f"Refused: {action} needs a signed-in analyst, and no user was given.")
            return CLI_ACTOR
        return require_analyst(actor, action)

    def _committed(self) -> None:
        self.run_commit_hooks()
        after_commit = getattr(self.derived, "after_commit", None)
        if after_commit is not None:  # the derived build's work after the commit (model refits)
            after_commit(self)

    def run_commit_hooks(self) -> None:
        """Run the hooks registered for after a commit (publishing read-only snapshots)."""
        for hook in self.after_commit:
            hook(self)

    def committed(self) -> None:
        """Run the after-commit hooks for a write made with :meth:`write` outside a load (a target or an alert
        rule an analyst saved): readers of snapshots then see it too."""
        self._committed()

    # ---------------------------------------------------------- derived tables
    def refresh_derived(self, actor: Actor | None = None) -> None:
        """Rebuild every derived table in one transaction."""
        self.authorize(actor, "rebuilding the derived tables")
        self._builder()
        with self.write() as cur:
            self._refresh_derived(cur)
        # Snapshots published before this rebuild hold the old derived tables at the same load: a publisher added
        # after it (snapshots.enable, when the app or the CLI opens the file) publishes a fresh one.
        self.derived_rebuilt = True
        self._committed()

    def stored_view_params(self, name: str, cursor: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """The bound parameters stored view ``name`` (a key of ``engagement.derived.STORED_VIEWS``) was built with, or None when
        this database has not built it (created by an older version and not reloaded since)."""
        cur = cursor or self.cursor()
        if not self._has_table(cur, name):
            return None
        return stored_view_settings(cur, name)

    # ---------------------------------------------------------------- reading
    def query(self, name: str, params: dict[str, Any] | None = None,
              cursor: duckdb.DuckDBPyConnection | None = None,
              inputs: tuple[tuple[str, QueryRecord], ...] = ()) -> pd.DataFrame:
        """Run ``engagement/sql/<name>.sql`` with bound parameters and return a DataFrame.

        ``inputs`` are the relations the file reads that other SQL files produce, as (name it reads,
        their run); they run in the same statement, as CTEs (see :meth:`QueryRecord.statement`).
        The run is remembered for "Show SQL": :meth:`last_query` (per thread) and any active
        :func:`record_queries` block.
        """
        cur = cursor or self.cursor()
        record = QueryRecord(name, dict(params or {}), tuple(inputs))
        self.remember_query(record)
        if not inputs:
            return self.engine.frame(cur, read_sql(name), params)
        return self.engine.frame(cur, record.statement(), record.all_params())

    def query_arrow(self, name: str, params: dict[str, Any] | None = None,
                    cursor: duckdb.DuckDBPyConnection | None = None,
                    inputs: tuple[tuple[str, QueryRecord], ...] = ()) -> "pyarrow.Table":
        """:meth:`query`'s rows as an Arrow table, for a caller that needs a few columns of many rows as arrays:
        no column is converted to pandas (a text column of 862,826 ids costs about 0.1 s to convert)."""
        cur = cursor or self.cursor()
        record = QueryRecord(name, dict(params or {}), tuple(inputs))
        self.remember_query(record)
        return self.engine.arrow(cur, record.statement(), record.all_params())

    def query_materialised(self, name: str, params: dict[str, Any], cursor: duckdb.DuckDBPyConnection,
                           inputs: tuple[tuple[str, QueryRecord], ...]) -> pd.DataFrame:
        """Run ``engagement/sql/<name>.sql`` on ``cursor``, where each input is already a temporary table named
        as the file reads it. "Show SQL" gets the run with its inputs chained as CTEs: the same rows, and a
        statement that runs on its own.
        """
        self.remember_query(QueryRecord(name, dict(params), tuple(inputs)))
        return cursor.execute(read_sql(name), params).df()

    def remember_query(self, record: QueryRecord) -> None:
        """Note a run of a SQL file for "Show SQL" when the library ran it through DuckDB's relation API."""
        self._last_query.record = record
        note_query(record)

    def last_query(self) -> QueryRecord | None:
        """The SQL file and parameters this thread last ran through :meth:`query`, if any."""
        return getattr(self._last_query, "record", None)

    def is_empty(self) -> bool:
        cur = self.cursor()
        return not cur.execute("SELECT count(*) FROM loads WHERE undone_at IS NULL").fetchall()[0][0]

    def table_counts(self) -> dict[str, int]:
        cur = self.cursor()
        return {kind: cur.execute(f"SELECT count(*) FROM {_quote(kind)}").fetchall()[0][0] for kind in KINDS}

    def loads(self) -> pd.DataFrame:
        return self.cursor().execute("SELECT * FROM loads ORDER BY load_id DESC").df()

    def is_demo(self) -> bool:
        """True while any active load came from the demo generator."""
        cur = self.cursor()
        return bool(cur.execute(
            "SELECT count(*) FROM loads WHERE source_format = 'demo' AND undone_at IS NULL"
        ).fetchall()[0][0])
