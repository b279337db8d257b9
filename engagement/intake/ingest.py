"""The one load path every export takes into the store, the demo brand included: its entry points.

A file on disk (:func:`ingest_file`), an upload held in memory (:func:`ingest_bytes`), several files in one
transaction (:func:`ingest_files`, :func:`ingest_batch_bytes`), a frame of canonical columns
(:func:`ingest_frame`) and the demo brand (:func:`ingest_demo`); and what the Data page reads back of past
loads (:func:`load_history`, :func:`quarantined_rows`, :func:`activity_counts`, :func:`detect_kind`).

This module opens the file (size limit, DuckDB's sandbox, the reader, the checksum in a second thread) and
owns the cursor and its temporary tables; ``one_file`` runs one opened file (plan, typing, validation, one
pass or two, the result), ``archive`` keeps the raw file.

Row accounting: ``rows_read`` counts the rows of the kind after mapping (a Shopify orders export is
counted in orders, not line items). A loaded file always has ``rows_read = rows_loaded +
rows_updated + rows_quarantined``; a rejected file loads nothing and ``rows_rejected = rows_read``.

Example (a file on disk)::

    result = ingest_file(Store.open("data/engagement.duckdb"), "orders", "orders.csv", on_invalid="quarantine")
    result.status, result.rows_read, result.summary.rows_quarantined   # ('loaded', 120, 3)
"""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from engagement import config
from engagement.warehouse.access import Actor
from engagement.intake import archive, folding, readers
from engagement.warehouse import sandbox
from engagement.intake import sources
from engagement.intake import staging
from engagement.intake import sql_checks, validation
from engagement.intake.one_file import IngestResult, Progress, run_one_file
from engagement.intake.readers import FileRejected
from engagement.warehouse.schema import KINDS, TABLES
from engagement.warehouse.loading import LoadSummary
from engagement.warehouse.store import Store

ON_INVALID = ("reject", "quarantine")
TEMP_TABLES = (readers.RAW_TABLE, readers.TYPED_TABLE, staging.MAPPED_TABLE, staging.STRICT_ROWS,
               staging.CHECKED_TABLE, staging.NUMBERED_ROWS, staging.CHECKED_ROWS, staging.HEAD_TABLE,
               sql_checks.FAILURES_TABLE, validation.QUOTED_TABLE, folding.FOLDED_TABLE, folding.UNREADABLE_TABLE)


class IngestRejected(ValueError):
    """A frame handed to :func:`ingest_frame` failed validation (files return a rejected result instead)."""

    def __init__(self, result: "IngestResult"):
        super().__init__(result.message)
        self.result = result


def _no_progress(stage: str, fraction: float) -> None:
    return None


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:  # file_digest reads into one reused buffer (a quarter less CPU on 49 MB)
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _drop_temp_tables(cur: duckdb.DuckDBPyConnection) -> None:
    readers.drop_temp(cur, *TEMP_TABLES, "raw_unnumbered")


def _check_arguments(kind: str, source: str, on_invalid: str) -> None:
    if kind not in TABLES:
        raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if source not in sources.SOURCES:
        raise ValueError(f"Unknown source {source!r}; expected one of {', '.join(sources.SOURCES)}.")
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be one of {', '.join(ON_INVALID)}.")


def _release(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Free a load's temporary tables and views: the cursor is closed, and they go with it (dropped one by one
    first, they cost 0.005 s of CPU per load), unless it is the store's open batch, which outlives the load."""
    if cur is store.batch_cursor():
        _drop_temp_tables(cur)
    _close(store, cur)


def _close(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Close a cursor this module opened, unless it is the store's open batch (Store.batch), which outlives it."""
    if cur is not store.batch_cursor():
        cur.close()


def ingest_file(store: Store, kind: str, path: str | Path, *, source: str = "auto", on_invalid: str = "reject",
                mapping: dict[str, str] | None = None, file_name: str | None = None,
                dry_run: bool = False, progress: Progress | None = None, engine: str | None = None,
                refresh_derived: bool = True, strict_customers: bool = False,
                actor: Actor | None = None) -> IngestResult:
    """Validate an export file and (unless ``dry_run``) load it in one transaction.

    Parameters
    ----------
    kind : one of ``schema.KINDS``.
    source : ``auto`` (detect from the header), ``canonical``, ``shopify`` or ``klaviyo``.
    on_invalid : ``reject`` (any failing row rejects the file) or ``quarantine`` (load the valid rows,
        keep the failing ones in the ``quarantine`` table with their reason and row number).
    mapping : {canonical column: header in the file} for files of an unknown layout.
    dry_run : validate and report only; the database is not written (``python -m engagement validate``).
    engine : force ``great_expectations`` or ``duckdb`` validation (default: by file size, see validation).
    refresh_derived : rebuild derived tables in the load's transaction (False for a batch ending with
        ``store.refresh_derived()``).
    strict_customers : refuse rows naming a customer no customers export has loaded (by default such an id
        is an implied customer: a customer exists when any activity names it).
    actor : who loads (the signed-in user in the app; None: the command line, an analyst). A viewer is
        refused with ``access.WriteRefused`` before the file is read.

    Returns
    -------
    IngestResult
        ``status`` is ``loaded`` or ``rejected`` (``valid``/``invalid`` when ``dry_run``). A rejected file
        leaves the database exactly as it was.
    """
    _check_arguments(kind, source, on_invalid)
    if not dry_run:
        store.authorize(actor, f"loading {kind}")
    progress = progress or _no_progress
    path = Path(path)
    file_name = file_name or path.name
    size = path.stat().st_size
    if size > config.max_upload_bytes():
        return IngestResult(
            "rejected" if not dry_run else "invalid", kind, file_name,
            f"{file_name} is {size / 1024 ** 2:,.1f} MB, over the {config.max_upload_bytes() / 1024 ** 2:,.0f} MB "
            "limit. Split the export by date range, or raise ENGAGEMENT_MAX_UPLOAD_MB.",
        )
    if not sandbox.can_read(store, path):
        # DuckDB reads only inside its sandbox (sandbox.py): a file from elsewhere (a notebook user's folder)
        # is loaded from a copy in the upload spool, removed afterwards.
        with sandbox.spool_folder() as folder:
            shutil.copyfile(path, folder / path.name)
            return ingest_file(store, kind, folder / path.name, source=source, on_invalid=on_invalid,
                               mapping=mapping, file_name=file_name, dry_run=dry_run, progress=progress,
                               engine=engine, refresh_derived=refresh_derived,
                               strict_customers=strict_customers)
    if not dry_run:
        archive.settle_partial_archives(store)
    cur = store.cursor()
    # The checksum, then the archive copy (named by it), are made in a second thread while DuckDB reads, types
    # and validates the file (hashlib, the kernel's copy and DuckDB all release the GIL); they are first needed
    # for the result and the load's record, after validation. The copy waits under a temporary name until the
    # load commits (archive.py); one that is not published is removed below.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as hasher, ExitStack() as scratch:
        digest = hasher.submit(file_sha256, path)
        copy = None if dry_run else hasher.submit(lambda: archive.archive_copy(store, path, file_name, digest.result()))
        result = None
        try:
            # In parallel first; a file with line breaks in quoted cells is read again in one thread, and one
            # mixing CR LF and LF line endings through a copy with LF alone (every statement before that failed, so
            # nothing was written).
            read_path, read_notes, parallel = path, (), True
            while True:
                progress("opening the file", 0.05)
                try:
                    info = readers.read_into(cur, read_path, file_name, defer_text=True, parallel=parallel,
                                             scratch=lambda: scratch.enter_context(sandbox.spool_folder()),
                                             notes=read_notes)
                    result = run_one_file(store, kind, cur, info, file_name=file_name, sha256_of=digest.result,
                                          source=source, on_invalid=on_invalid, mapping=mapping, dry_run=dry_run,
                                          progress=progress, engine=engine, archive_of=copy and copy.result,
                                          refresh_derived=refresh_derived, strict_customers=strict_customers,
                                          actor=actor)
                    return result
                except readers.QuotedLineBreaks:
                    if not parallel:
                        raise
                    parallel = False
                    _drop_temp_tables(cur)
                except readers.MixedLineEndings as exc:
                    if read_notes:  # the copy has LF alone: not the cause
                        return IngestResult("rejected" if not dry_run else "invalid", kind, file_name, str(exc),
                                            sha256=digest.result())
                    read_path = readers.uniform_copy(path, file_name,
                                                     lambda: scratch.enter_context(sandbox.spool_folder()))
                    read_notes = (readers.UNIFORM_LINE_ENDINGS_NOTE,)
                    _drop_temp_tables(cur)
                except FileRejected as exc:
                    return IngestResult("rejected" if not dry_run else "invalid", kind, file_name, str(exc),
                                        sha256=digest.result())
        finally:
            # A load inside a batch is published or discarded with the batch (ingest_files); any other copy that
            # was not published belongs to a load that did not happen.
            batched = result is not None and result.status == "loaded" and store.batch_cursor() is not None
            _release(store, cur)
            if copy is not None and copy.exception() is None and not batched:
                archive.discard_archive(copy.result())


class _BatchRejected(Exception):
    """A file of a batch was rejected: the batch's transaction is rolled back (Store.batch)."""


def ingest_files(store: Store, files: list[tuple[str, str | Path]], **kwargs: Any) -> list[IngestResult]:
    """Several exports (kind, path) loaded in one transaction with one derived update at its end (a week's
    files): all of them, or, when any is rejected, none (the rejected file's result says why, the others
    that they were not loaded). ``kwargs`` as :func:`ingest_file` (``dry_run`` excepted)."""
    results: list[IngestResult] = []
    try:
        with store.batch():
            for kind, path in files:
                results.append(ingest_file(store, kind, path, **kwargs))
                if results[-1].status != "loaded":
                    raise _BatchRejected
    except BaseException as exc:
        for result in results:  # rolled back: none of the batch's loads happened, so none keeps its archive copy
            archive.discard_archive(result.archive_path)
        if not isinstance(exc, _BatchRejected):
            raise
        rejected = results[-1]
        results = [
            replace(result, status="rejected", summary=None, archive_path=None,
                    message=f"Not loaded: {rejected.file_name} in the same batch was rejected, so none of its "
                            "files was loaded.")
            for result in results[:-1]
        ] + [rejected]
        return results
    for result in results:  # committed: the archive copies get their names
        archive.publish_archive(result.archive_path)
    return results


def ingest_batch_bytes(store: Store, uploads: list[tuple[str, bytes, str]], **kwargs: Any) -> list[IngestResult]:
    """:func:`ingest_files` for uploads held in memory (the Data page's several files): (kind, bytes, file name)."""
    with sandbox.spool_folder() as folder:
        files = []
        for number, (kind, data, file_name) in enumerate(uploads):
            path = folder / f"upload-{number}{''.join(Path(file_name).suffixes[-2:]) or '.csv'}"
            path.write_bytes(data)
            files.append((kind, path))
        results = ingest_files(store, files, **kwargs)
    # The results name the files as uploaded, not the spooled copies.
    return [replace(result, file_name=name) for result, (_, _, name) in zip(results, uploads)]


def ingest_bytes(store: Store, kind: str, data: bytes, file_name: str, **kwargs: Any) -> IngestResult:
    """:func:`ingest_file` for an upload held in memory (the Data page)."""
    suffix = "".join(Path(file_name).suffixes[-2:]) or ".csv"
    with sandbox.spool_folder() as folder:  # inside the folders DuckDB may read, refused to notebook queries
        path = folder / f"upload{suffix}"
        path.write_bytes(data)
        return ingest_file(store, kind, path, file_name=file_name, **kwargs)


def ingest_frame(
    store: Store,
    kind: str,
    frame: pd.DataFrame,
    *,
    source_format: str = "canonical",
    file_name: str | None = None,
    sha256: str | None = None,
    refresh_derived: bool = True,
    on_invalid: str = "reject",
    strict_customers: bool = False,
    actor: Actor | None = None,
) -> LoadSummary:
    """Validate and load a frame of canonical columns for ``kind`` (the same checks as a file).

    Raises
    ------
    IngestRejected
        When the frame fails validation (``on_invalid="reject"``); nothing is loaded.
    """
    _check_arguments(kind, "canonical", on_invalid)
    store.authorize(actor, f"loading {kind}")
    cur = store.cursor()
    try:
        info = readers.register_frame(cur, frame)
        result = run_one_file(store, kind, cur, info, file_name=file_name or f"{kind}-frame", sha256_of=lambda: sha256,
                      source="canonical", on_invalid=on_invalid, mapping=None, dry_run=False,
                      progress=_no_progress, engine=None, archive_of=None, refresh_derived=refresh_derived,
                      source_label=source_format, strict_customers=strict_customers, actor=actor)
    finally:
        _release(store, cur)
    if result.status != "loaded":
        raise IngestRejected(result)
    return result.summary


def ingest_demo(store: Store, customers: int = 20_000, seed: int = 42,
                actor: Actor | None = None) -> list[LoadSummary]:
    """Generate the demo brand and load every kind through the validated path (customers first)."""
    from engagement.intake.demo import generate_demo

    frames = generate_demo(customers=customers, seed=seed)
    summaries = [
        ingest_frame(
            store, kind, frames[kind], source_format="demo",
            file_name=f"demo-{kind}-seed{seed}-n{customers}", refresh_derived=False, actor=actor,
        )
        for kind in KINDS
    ]
    store.refresh_derived(actor=actor)
    return summaries


# ----------------------------------------------------------- load history
def load_history(store: Store, limit: int = 200) -> pd.DataFrame:
    """Every load (newest first) with its counts, validation engine and whether it was undone."""
    return store.query("intake/load_history", {"limit": limit})


def quarantined_rows(store: Store, load_id: int) -> pd.DataFrame:
    """The rows a load kept in quarantine: original row number, reason and the row as JSON text."""
    return store.query("intake/quarantined_rows", {"load_id": load_id})


def activity_counts(store: Store) -> dict[str, int]:
    """Implied customers (named by activity, in no customers export) and guest orders, for the Data page."""
    try:
        row = store.cursor().execute(
            "SELECT (SELECT count(*) FROM customer_summary WHERE is_implied), "
            "(SELECT count(*) FROM orders WHERE customer_id IS NULL)").fetchall()[0]
    except duckdb.CatalogException:  # derived tables of another version, not rebuilt on a read-only open
        return {"implied_customers": 0, "guest_orders": 0}
    return {"implied_customers": int(row[0]), "guest_orders": int(row[1])}


def detect_kind(data: bytes, file_name: str) -> tuple[str | None, str, tuple[str, ...]]:
    """(kind or None, source, header) of an upload, from its header alone."""
    columns = readers.peek_columns(data, file_name)
    source = sources.detect_source(columns)
    return sources.detect_kind(columns, source), source, columns
