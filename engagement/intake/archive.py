"""The upload archive: every loaded file's raw bytes kept under ``data/archive`` beside the database.

Its own module because the copy lives on the file system, beside the load's transaction rather than in it:
a copy is written under a temporary name before the load (:func:`archive_copy`), given its final name once
the load commits (:func:`publish_archive`) and removed when it fails (:func:`discard_archive`); the next load
settles what a killed writer left (:func:`settle_partial_archives`). The one-file run (``one_file``) and the
entry points (``ingest``) call these; this module imports neither.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from engagement import config
from engagement.warehouse.store import Store


def archive_dir_for(store: Store) -> Path | None:
    """``data/archive`` beside the database file; None for an in-memory store (nothing to keep it with)."""
    if store.path == ":memory:":
        return None
    return Path(store.path).resolve().parent / "archive"


PARTIAL_PREFIX = ".partial-"  # a hidden name in the archive folder, followed by the writer's pid


def archive_copy(store: Store, path: Path, file_name: str, sha256: str | None) -> str | None:
    """Copy the raw file to the archive under a temporary name; the path it will have once the load commits.

    A copy, not a hard link, of a file of the user's: a link shares the bytes, so appending to the original
    later changed the archived file and broke its recorded sha256 (a spooled upload is linked: :func:`_spooled`).
    The copy is published by :func:`publish_archive` after the load commits and removed by
    :func:`discard_archive` when it fails, so no archive file outlives a load that did not happen (a process
    killed in between leaves only a partial copy, which the next load settles: :func:`settle_partial_archives`).
    """
    directory = archive_dir_for(store)
    if directory is None:
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(file_name).name)
    target = directory / f"{stamp}-{(sha256 or 'nohash')[:12]}-{safe_name}"
    directory.mkdir(parents=True, exist_ok=True)
    if _spooled(path):
        # An upload spooled by this process (the Data page's, or a file copied into the sandbox) is nobody else's
        # and is removed after the load: its bytes cannot change, so the archive links it instead of copying it
        # (a 328 MB upload's copy is 0.15-0.3 s). Another file system: copied.
        try:
            os.link(path, _partial_path(target))
            return str(target)
        except OSError:
            pass
    shutil.copyfile(path, _partial_path(target))
    return str(target)


def _spooled(path: Path) -> bool:
    """Whether ``path`` is in the upload spool (``sandbox.spool_folder``)."""
    return Path(os.path.realpath(config.SPOOL_DIR)) in Path(os.path.realpath(path)).parents


def _partial_path(target: Path) -> Path:
    """Where an archive copy waits for its load to commit (named by the writing process)."""
    return target.parent / f"{PARTIAL_PREFIX}{os.getpid()}-{target.name}"


def publish_archive(archive_path: str | None) -> None:
    if archive_path is not None:
        os.replace(_partial_path(Path(archive_path)), archive_path)


def discard_archive(archive_path: str | None) -> None:
    if archive_path is not None:
        _partial_path(Path(archive_path)).unlink(missing_ok=True)


def settle_partial_archives(store: Store) -> None:
    """Finish what a killed writer left: a partial copy whose load committed is published, any other removed.

    Only partial copies of other processes: DuckDB lets one process write a database file, so theirs died.
    """
    directory = archive_dir_for(store)
    if directory is None or not directory.is_dir():
        return
    cur = store.cursor()
    try:
        for partial in directory.glob(f"{PARTIAL_PREFIX}*"):
            pid, _, name = partial.name[len(PARTIAL_PREFIX):].partition("-")
            if pid == str(os.getpid()) or not name:
                continue
            target = directory / name
            committed = cur.execute(
                "SELECT count(*) FROM loads WHERE json_extract_string(validation_summary, '$.archive_path') = $path",
                {"path": str(target)},
            ).fetchall()[0][0]
            if committed:
                os.replace(partial, target)
            else:
                partial.unlink(missing_ok=True)
    finally:
        if cur is not store.batch_cursor():  # a batch's cursor outlives this (Store.batch)
            cur.close()
