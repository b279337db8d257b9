"""Annotations: dated notes (a campaign launch, a price change, Black Friday) that every time-series chart draws.

They live in the workbench database (``annotations``, created with the store's schema) so that the app, the
CLI (``python -m engagement annotations add|list|remove``) and the digest see the same notes. Adding and
removing go through the store's write path as the acting user (:meth:`Store.authorize`: the signed-in analyst
in the app, ``cli:<user>`` on the command line; a viewer is refused), in one transaction with the audit row.

Example
-------
>>> from engagement.warehouse.store import Store
>>> store = Store.open(":memory:")
>>> added = add_annotation(store, date(2025, 11, 28), "Black Friday")
>>> list_annotations(store, date(2025, 11, 1), date(2025, 11, 30))["note"].tolist()
['Black Friday']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb
import pandas as pd

from engagement.sql import read_sql
from engagement.warehouse import audit
from engagement.warehouse.access import Actor
from engagement.warehouse.store import Store

MAX_NOTE_LENGTH = 200  # a note is a label on a chart, not a document
COLUMNS = ["annotation_id", "noted_on", "note", "created_by", "created_at"]


class AnnotationError(ValueError):
    """An annotation that cannot be stored or removed, with the reason in plain words."""


@dataclass(frozen=True)
class Annotation:
    """One stored annotation."""

    annotation_id: int
    noted_on: date
    note: str


def clean_note(note: str) -> str:
    """The note as stored: whitespace runs (newlines included) made single spaces; refused when empty or long."""
    cleaned = " ".join(str(note or "").split())
    if not cleaned:
        raise AnnotationError("Write a note: an annotation needs text (e.g. 'Black Friday sale').")
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise AnnotationError(f"Notes are at most {MAX_NOTE_LENGTH} characters (this one has {len(cleaned)}); "
                              "shorten it: it is drawn on the charts.")
    return cleaned


def _has_table(cur: duckdb.DuckDBPyConnection) -> bool:
    return bool(cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'annotations'").fetchall()[0][0])


def list_annotations(store_or_con: Store | duckdb.DuckDBPyConnection, start: date | None = None,
                     end: date | None = None) -> pd.DataFrame:
    """Annotations dated from ``start`` to ``end`` (both included; None: open), oldest first.

    Columns: annotation_id, noted_on (a ``datetime.date``), note, created_by, created_at (UTC). Empty for a
    database made before annotations existed (a read-only snapshot of an older version).
    """
    cur = store_or_con.cursor() if isinstance(store_or_con, Store) else store_or_con
    if not _has_table(cur):
        return pd.DataFrame(columns=COLUMNS)
    params = {"start": start, "end": end}
    if isinstance(store_or_con, Store):
        frame = store_or_con.query("annotations/list_annotations", params, cursor=cur)
    else:
        frame = cur.execute(read_sql("annotations/list_annotations"), params).df()
    frame["noted_on"] = pd.to_datetime(frame["noted_on"]).dt.date
    return frame[COLUMNS]


def add_annotation(store: Store, noted_on: date, note: str, actor: Actor | None = None) -> Annotation:
    """Store one annotation as ``actor`` (None: the command line or a library call, acting as an analyst).

    Raises :class:`AnnotationError` for an empty or too long note or a missing date, ``WriteRefused`` for a
    viewer (or nobody signed in, in the app) and ``ReadOnlyStoreError`` on a read-only workbench.
    """
    if not isinstance(noted_on, date):
        raise AnnotationError("Give the annotation a date (YYYY-MM-DD).")
    if isinstance(noted_on, datetime):
        noted_on = noted_on.date()
    text = clean_note(note)
    acting = store.authorize(actor, "adding an annotation")
    with store.write() as cur:
        annotation_id = cur.execute(read_sql("annotations/insert_annotation"), {
            "noted_on": noted_on, "note": text, "created_by": acting.name,
            "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }).fetchall()[0][0]
        audit.record(cur, acting, "add annotation", target=f"annotation {annotation_id}",
                     detail=f"{noted_on.isoformat()}: {text}")
    _published(store)
    return Annotation(int(annotation_id), noted_on, text)


def remove_annotation(store: Store, annotation_id: int, actor: Actor | None = None) -> Annotation:
    """Delete annotation ``annotation_id`` as ``actor``; :class:`AnnotationError` when there is none."""
    acting = store.authorize(actor, "removing an annotation")
    with store.write() as cur:
        removed = cur.execute(read_sql("annotations/delete_annotation"),
                              {"annotation_id": int(annotation_id)}).fetchall() if _has_table(cur) else []
        if not removed:
            raise AnnotationError(f"There is no annotation {annotation_id}; `annotations list` shows their numbers.")
        _, noted_on, text = removed[0]
        audit.record(cur, acting, "remove annotation", target=f"annotation {annotation_id}",
                     detail=f"{noted_on.isoformat()}: {text}")
    _published(store)
    return Annotation(int(annotation_id), noted_on, text)


def _published(store: Store) -> None:
    """Let readers outside this process (read-only snapshots, scheduled digests) see the change, as after a load."""
    for hook in store.after_commit:
        hook(store)
