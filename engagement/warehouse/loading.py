"""The write path of the store: loads (a frame or a staged table, upserted by natural key) and their undo.

A load inserts the incoming rows, keeps the stored rows they replace in ``replaced_<kind>`` (so that the load can
be undone), stores the rows validation refused in ``quarantine`` and records itself in ``loads`` and the audit log,
all in one transaction (:meth:`Store.write <engagement.warehouse.store.Store.write>`). What a write changed is
handed to the derived build as a :class:`Change`. :class:`LoadingMixin` holds these methods of ``Store``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb
import pandas as pd

from engagement.warehouse import audit
from engagement.warehouse.access import CLI_ACTOR, Actor
from engagement.warehouse.load_dependencies import customers_left_implied
from engagement.warehouse.schema import KINDS, TABLES, TableSpec
from engagement.sql import quote_identifier as _quote

QUARANTINE_DDL = (
    "CREATE TABLE IF NOT EXISTS quarantine (load_id BIGINT, kind VARCHAR, row_number BIGINT, "
    "reason VARCHAR, row_json JSON)"
)


@dataclass(frozen=True)
class LoadSummary:
    load_id: int
    kind: str
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_quarantined: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id, "kind": self.kind, "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded, "rows_updated": self.rows_updated,
            "rows_quarantined": self.rows_quarantined,
        }


LOAD_KEYS = "load_keys"  # the keys a load brings, while its stored rows with those keys are found (_load)


def replaced_table(kind: str) -> str:
    """Table keeping the rows a load overwrote, so that the load can be undone."""
    return f"replaced_{kind}"


def _quarantine_payload(rows: pd.DataFrame) -> pd.DataFrame:
    """Refused rows as (row_number, reason, row_json): the row kept as JSON text, never dropped."""
    return pd.DataFrame({
        "row_number": rows["row_number"] if "row_number" in rows else range(1, len(rows) + 1),
        "reason": rows["reason"] if "reason" in rows else "refused by validation",
        "row_json": [
            json.dumps(r, default=str)
            for r in rows.drop(columns=[c for c in ("row_number", "reason") if c in rows]).to_dict("records")
        ],
    })


@dataclass(frozen=True)
class Change:
    """What one write changed in the canonical tables, for the derived build: per kind, a SELECT of the rows it
    added and one of the rows it removed (the table's columns, then load_id), readable in the write's
    transaction on its cursor (they read temporary tables the store made there)."""

    kinds: dict[str, tuple[str, str]]


def change_of_loads(cur: duckdb.DuckDBPyConnection, loads: dict[str, list[int]]) -> Change:
    """The change made by ``loads`` (kind -> load ids) of this transaction: rows they wrote and rows of earlier
    loads they replaced (a row one of them wrote and a later one replaced is neither)."""
    cur.execute("CREATE OR REPLACE TEMP TABLE change_loads (load_id BIGINT)")
    for ids in loads.values():
        cur.executemany("INSERT INTO change_loads VALUES (?)", [[i] for i in ids])
    kinds = {}
    for kind in loads:
        columns = ", ".join(_quote(c) for c in TABLES[kind].column_names + ["load_id"])
        in_change = "load_id IN (SELECT load_id FROM change_loads)"
        kinds[kind] = (
            f"SELECT * FROM main.{_quote(kind)} WHERE {in_change}",
            f"SELECT {columns} FROM main.{_quote(replaced_table(kind))} "
            f"WHERE replaced_by_load_id IN (SELECT load_id FROM change_loads) AND NOT {in_change}",
        )
    return Change(kinds)


def _staging_select(spec: TableSpec, frame_columns: list[str], source: str = "incoming_frame") -> str:
    """SELECT that casts a registered frame to the table's types; absent optional columns are NULL.

    ``source``: a table or view name, or a parenthesized SELECT (written as it is)."""
    parts = []
    for column in spec.columns:
        if column.name in frame_columns:
            parts.append(f"CAST({_quote(column.name)} AS {column.sql_type}) AS {_quote(column.name)}")
        elif spec.name == "events" and column.name == "event_id":
            # Exports without an event id get a deterministic one, so reloading is idempotent.
            parts.append(
                "md5(concat_ws('|', customer_id, CAST(occurred_at AS VARCHAR), event_type, "
                "coalesce(campaign_id, ''))) AS event_id"
            )
        else:
            parts.append(f"CAST(NULL AS {column.sql_type}) AS {_quote(column.name)}")
    return "SELECT " + ", ".join(parts) + " FROM " + (source if source.startswith("(") else _quote(source))


@dataclass(frozen=True)
class UndoPreview:
    """:meth:`LoadingMixin.undo_preview`: ``refusal`` (why the undo would be refused) or ``note`` (what it leaves
    behind), each None when there is nothing to say."""

    refusal: str | None = None
    note: str | None = None


def refuse_undo_if_needed(cur: duckdb.DuckDBPyConnection, load_id: int) -> str:
    """The kind of load ``load_id``, or ValueError when it cannot be undone: no such load, undone already, a later
    active load replaced rows it wrote (undo that one first)."""
    row = cur.execute("SELECT kind, undone_at FROM loads WHERE load_id = $id", {"id": load_id}).fetchall()
    if not row:
        raise ValueError(f"There is no load {load_id}.")
    kind, undone_at = row[0]
    if undone_at is not None:
        raise ValueError(f"Load {load_id} was already undone at {undone_at}.")
    blocking = cur.execute(
        f"SELECT min(replaced_by_load_id) FROM {_quote(replaced_table(kind))} WHERE load_id = $id", {"id": load_id}
    ).fetchall()[0][0]
    if blocking is not None:
        raise ValueError(f"Load {blocking} overwrote rows of load {load_id}; undo load {blocking} first.")
    return kind


class LoadingMixin:
    """Loads and undo, mixed into :class:`~engagement.warehouse.store.Store`: they write through its
    transactions (``cursor``, ``write``; inside an open ``batch``, its cursor and the loads it collects),
    its check of the acting user (``authorize``), its derived build (``_derived_read``, ``_refresh_derived``)
    and its after-commit hooks (``_committed``).
    """

    def load_frame(
        self,
        kind: str,
        frame: pd.DataFrame,
        *,
        file_name: str | None = None,
        sha256: str | None = None,
        source_format: str = "canonical",
        rows_read: int | None = None,
        quarantined: pd.DataFrame | None = None,
        validation_summary: dict | None = None,
        refresh_derived: bool = True,
        actor: Actor | None = None,
    ) -> LoadSummary:
        """Upsert ``frame`` (canonical columns of ``kind``) by natural key in one transaction.

        Rows whose key already exists replace the stored row (the old row is kept in
        ``replaced_<kind>`` for undo); new keys are inserted. Derived tables are rebuilt before the
        transaction commits (``refresh_derived=False`` skips that for a batch of loads that ends with
        ``refresh_derived()``). ``quarantined`` rows (refused by validation) are stored in
        ``quarantine`` with their reason and counted, never dropped.
        """
        acting = self.authorize(actor, f"loading {kind}")
        if kind not in TABLES:
            raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
        cur = self.cursor()
        cur.register("incoming_frame", frame)
        if quarantined is not None and len(quarantined):
            cur.register("quarantine_frame", _quarantine_payload(quarantined))
        try:
            return self._load(
                cur, kind, "incoming_frame", list(frame.columns),
                quarantine_sql="SELECT * FROM quarantine_frame" if quarantined is not None and len(quarantined)
                else None,
                file_name=file_name, sha256=sha256, source_format=source_format, rows_read=rows_read,
                validation_summary=validation_summary, refresh_derived=refresh_derived, actor=acting,
            )
        finally:
            cur.unregister("incoming_frame")
            if quarantined is not None and len(quarantined):
                cur.unregister("quarantine_frame")

    def load_table(
        self,
        kind: str,
        cursor: duckdb.DuckDBPyConnection,
        source_table: str,
        columns: list[str],
        *,
        quarantine_sql: str | None = None,
        file_name: str | None = None,
        sha256: str | None = None,
        source_format: str = "canonical",
        rows_read: int | None = None,
        validation_summary: dict | None = None,
        refresh_derived: bool = True,
        check_loaded: Callable[[duckdb.DuckDBPyConnection, int, int], dict[str, Any]] | None = None,
        actor: Actor | None = None,
    ) -> LoadSummary:
        """Like :meth:`load_frame`, from a (temporary) table or view visible to ``cursor``, or a parenthesized SELECT
        of them (``source_table``).

        Used by ingest for large files: the rows never leave DuckDB. ``quarantine_sql`` selects
        ``(row_number, reason, row_json)`` for the refused rows.

        ``check_loaded(cursor, load_id, rows)`` is called inside the transaction right after the rows are
        inserted (``WHERE load_id = load_id`` selects them; no stored row has been replaced yet): raising
        refuses the load (rolled back, the exception propagates), and the dict it returns overrides the
        load's record (``sha256``, ``rows_read``, ``validation_summary``). Ingest validates a clean file
        this way after writing it once, instead of writing it to a temporary table first.
        """
        acting = self.authorize(actor, f"loading {kind}")
        return self._load(
            cursor, kind, source_table, columns, quarantine_sql=quarantine_sql, file_name=file_name,
            sha256=sha256, source_format=source_format, rows_read=rows_read,
            validation_summary=validation_summary, refresh_derived=refresh_derived, check_loaded=check_loaded,
            actor=acting,
        )

    def _load(self, cur: duckdb.DuckDBPyConnection, kind: str, source_table: str, columns: list[str], *,
              quarantine_sql: str | None, file_name: str | None, sha256: str | None, source_format: str,
              rows_read: int | None, validation_summary: dict | None, refresh_derived: bool,
              check_loaded: Callable[[duckdb.DuckDBPyConnection, int, int], dict[str, Any]] | None = None,
              actor: Actor = CLI_ACTOR) -> LoadSummary:
        if kind not in TABLES:
            raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
        spec = TABLES[kind]
        with self.write(cur):
            target = _quote(kind)
            load_id, had_rows = cur.execute(  # one query: each costs about 0.5 ms of CPU however small
                f"SELECT (SELECT coalesce(max(load_id), 0) + 1 FROM loads), "
                f"(SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)) > 0").fetchall()[0]
            incoming = f"({_staging_select(spec, columns, source_table)})"
            # New rows first, then the stored rows they replace: the incoming rows are read once (they
            # may be a view over the file) and checked where they are stored.
            n_incoming = cur.execute(
                f"INSERT INTO {target} SELECT *, $load_id FROM {incoming}", {"load_id": load_id}
            ).fetchall()[0][0]
            record = dict(check_loaded(cur, load_id, n_incoming)) if check_loaded is not None else {}
            sha256 = record.get("sha256", sha256)
            rows_read = record.get("rows_read", rows_read)
            validation_summary = record.get("validation_summary", validation_summary)
            rows_updated = 0
            if had_rows:
                # Stored rows (of earlier loads) with a key this load brings: kept for undo, then removed. The
                # load's keys are written to a table of their own first, so that the join builds its hash table on
                # them, as many as DuckDB knows there are: with both sides a filtered scan of the stored table, it
                # estimated them from the same statistics and, after an undo, built it on the 5M stored orders
                # (0.45-0.5 s of CPU for a 10,000-order weekly file; see benchmarks/README.md).
                keys = ", ".join(_quote(k) for k in spec.key)
                cur.execute(f"CREATE OR REPLACE TEMP TABLE {LOAD_KEYS} AS SELECT {keys} FROM {target} "
                            "WHERE load_id = $load_id", {"load_id": load_id}).fetchall()
                key_match = " AND ".join(f"s.{_quote(k)} = t.{_quote(k)}" for k in spec.key)
                replaced = (f"{target} t WHERE t.load_id < $load_id AND EXISTS "
                            f"(SELECT 1 FROM {LOAD_KEYS} s WHERE {key_match})")
                rows_updated = cur.execute(
                    f"INSERT INTO {_quote(replaced_table(kind))} SELECT t.*, $load_id FROM {replaced}",
                    {"load_id": load_id},
                ).fetchall()[0][0]
                if rows_updated:
                    cur.execute(f"DELETE FROM {replaced}", {"load_id": load_id}).fetchall()
                cur.execute(f"DROP TABLE {LOAD_KEYS}").fetchall()  # as many keys as the file has rows
            rows_loaded = n_incoming - rows_updated
            n_quarantined = 0
            if quarantine_sql is not None:  # the table is made by ensure_schema, which every writable open runs
                n_quarantined = cur.execute(  # an INSERT returns the rows it wrote
                    "INSERT INTO quarantine SELECT $load_id, $kind, row_number, reason, row_json "
                    f"FROM ({quarantine_sql})", {"load_id": load_id, "kind": kind},
                ).fetchall()[0][0]
            rows_read = rows_read if rows_read is not None else n_incoming + n_quarantined
            cur.execute(
                "INSERT INTO loads VALUES ($load_id, $kind, $file_name, $sha256, $source_format, $rows_read, "
                "$rows_loaded, $rows_updated, $rows_quarantined, $validation_summary, $loaded_at, NULL)",
                {
                    "load_id": load_id, "kind": kind, "file_name": file_name, "sha256": sha256,
                    "source_format": source_format, "rows_read": rows_read,
                    "rows_loaded": rows_loaded, "rows_updated": rows_updated,
                    "rows_quarantined": n_quarantined,
                    "validation_summary": json.dumps(validation_summary or {}, default=str),
                    "loaded_at": datetime.now(timezone.utc).replace(tzinfo=None),
                },
            ).fetchall()
            # The audit row commits (or rolls back) with the load it records.
            audit.record(cur, actor, "load", target=f"{kind} from {file_name or 'a frame'}", load_id=load_id,
                         detail=f"{rows_loaded:,} new, {rows_updated:,} updated, {n_quarantined:,} quarantined")
            batch = self.batch_cursor() is not None
            if batch:  # the batch updates the derived tables once, for all its loads, and publishes after it
                self._batch.loads.setdefault(kind, []).append(load_id)
            derived_current = (refresh_derived or not self._derived_read(kind)) and not batch
            if refresh_derived and self._derived_read(kind) and not batch:
                self._refresh_derived(cur, change_of_loads(cur, {kind: [load_id]}))
        if derived_current:  # after the commit; a batch load publishes once, after its closing refresh_derived()
            self._committed()
        return LoadSummary(
            load_id=load_id, kind=kind, rows_read=rows_read,
            rows_loaded=rows_loaded, rows_updated=rows_updated, rows_quarantined=n_quarantined,
        )

    def undo_preview(self, load_id: int) -> UndoPreview:
        """What :meth:`undo` of load ``load_id`` would do as the data stand now, from one read of its row: why it
        would be refused, or what it leaves behind beyond its own rows (customers that later loads name stay as
        implied customers). The Data page says it before asking to confirm; the undo checks again in its own
        transaction."""
        cur = self.cursor()
        try:
            kind = refuse_undo_if_needed(cur, load_id)
        except ValueError as exc:
            return UndoPreview(refusal=str(exc))
        return UndoPreview(note=customers_left_implied(cur, kind, load_id))

    def undo(self, load_id: int, actor: Actor | None = None) -> str | None:
        """Undo one load: remove its rows and bring back the rows it replaced, in one transaction.

        Refused when a later, still active load replaced rows this load wrote (undo that one first). Returns
        what it left behind (:meth:`undo_preview`'s note: customers of an undone customers load that later loads name stay
        implied), or None.
        """
        acting = self.authorize(actor, f"undoing load {load_id}")
        with self.write() as cur:
            kind = refuse_undo_if_needed(cur, load_id)
            note = customers_left_implied(cur, kind, load_id)
            replaced = _quote(replaced_table(kind))
            spec = TABLES[kind]
            columns = ", ".join(_quote(c) for c in spec.column_names + ["load_id"])
            # What the undo removes and brings back, kept for the derived update (temporary: this write only).
            cur.execute(f"CREATE OR REPLACE TEMP TABLE undo_removed AS SELECT * FROM {_quote(kind)} WHERE load_id = $id",
                        {"id": load_id})
            cur.execute(f"CREATE OR REPLACE TEMP TABLE undo_added AS SELECT {columns} FROM {replaced} "
                        "WHERE replaced_by_load_id = $id", {"id": load_id})
            cur.execute(f"DELETE FROM {_quote(kind)} WHERE load_id = $id", {"id": load_id})
            cur.execute(
                f"INSERT INTO {_quote(kind)} SELECT {columns} FROM {replaced} WHERE replaced_by_load_id = $id",
                {"id": load_id},
            )
            cur.execute(f"DELETE FROM {replaced} WHERE replaced_by_load_id = $id", {"id": load_id})
            cur.execute(QUARANTINE_DDL)
            cur.execute("DELETE FROM quarantine WHERE load_id = $id", {"id": load_id})
            cur.execute(
                "UPDATE loads SET undone_at = $at WHERE load_id = $id",
                {"id": load_id, "at": datetime.now(timezone.utc).replace(tzinfo=None)},
            )
            audit.record(cur, acting, "undo", target=kind, load_id=load_id)
            if self._derived_read(kind):
                self._refresh_derived(cur, Change({kind: ("SELECT * FROM undo_added", "SELECT * FROM undo_removed")}))
            cur.execute("DROP TABLE undo_removed")
            cur.execute("DROP TABLE undo_added")
        self._committed()
        return note
