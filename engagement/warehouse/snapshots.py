"""Read-only snapshots: a consistent copy of the database beside it, for everything outside the writing process.

DuckDB lets one process hold a database file for writing, and then no other process may open it, not even
read-only. So after every committed load, undo or rebuild, the writing process (the app, or a CLI command)
copies the database into ``<db>.snapshots/``: a CHECKPOINT writes every commit into the file, which is then
copied byte for byte while the store's write lock keeps writes out, and the copy is opened and checked against
its source (:func:`_copy_file`); when that cannot be done, with ``COPY FROM DATABASE`` inside one read
transaction (every table as of one commit, :func:`_copy_tables`). Either lands under a temporary name, is
renamed into place, and then the ``latest.json`` pointer is atomically replaced. The newest :data:`DEFAULT_KEEP`
copies are kept: a reader that opened an older one keeps reading it (a removed file stays readable while open).

Readers (a read-only app instance, ``report`` commands, scheduled jobs) open the latest snapshot read-only
and say which load it reflects (:meth:`SnapshotInfo.describe`). The snapshot folder sits beside the
database file; the store's sandbox allows that folder (and only it besides ``data/``) for a writable database
wherever it is (``sandbox.harden``), since DuckDB writes the table-by-table copy itself (ATTACH + COPY FROM
DATABASE).

Cost, measured on 2 shared, busy cores (load average 25): on the 5M-order / 500k-customer benchmark database
(670 MB), ``COPY FROM DATABASE`` took 55-66 s (22 s of CPU: every table compressed again), the file copy about
1-2 s. The app publishes on a background thread after the commit; the CLI publishes before it exits, so its
user waits for it (README, "Read-only snapshots").
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from engagement.sql import quote_identifier
from engagement.warehouse.background import CoalescingWorker, worker_for
from engagement.warehouse.sandbox import snapshot_dir  # noqa: F401 (re-exported: the CLI asks for it here)

if TYPE_CHECKING:
    from engagement.warehouse.store import DerivedBuilder, Store

DEFAULT_KEEP = 3
POINTER = "latest.json"
# How long a publish waits for a write in progress before copying table by table instead of the file.
LOCK_WAIT_SECONDS = 30.0
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotInfo:
    """One published snapshot: its file, the newest load in it, how many loads were undone, when."""

    path: Path
    load_id: int
    undone: int
    published_at: datetime
    seconds: float
    derived: str | None = None  # the fingerprint of the build that made its derived tables (None: not recorded)

    def describe(self) -> str:
        undone = f", {self.undone} undone" if self.undone else ""
        return (f"a read-only snapshot as of load #{self.load_id}{undone}, published "
                f"{self.published_at:%Y-%m-%d %H:%M:%S} UTC")

    def as_json(self) -> dict:
        return {"file": self.path.name, "load_id": self.load_id, "undone": self.undone,
                "published_at": self.published_at.isoformat(), "seconds": round(self.seconds, 3),
                "derived": self.derived}


def publish(store: "Store", keep: int = DEFAULT_KEEP) -> SnapshotInfo:
    """Copy ``store``'s database into a new snapshot file, point ``latest.json`` at it, prune old ones."""
    started = time.perf_counter()
    folder = snapshot_dir(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    incoming = folder / f".incoming-{token}.duckdb"
    try:
        copied = _copy_file(store, incoming)
        if copied is None:
            copied = _copy_tables(store, incoming, token)
    except Exception:
        incoming.unlink(missing_ok=True)
        raise
    load_id, undone, derived = copied
    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    final = folder / f"snapshot-{time.time_ns():020d}-load{int(load_id)}.duckdb"
    os.replace(incoming, final)
    info = SnapshotInfo(final, int(load_id), int(undone), published_at, time.perf_counter() - started, derived)
    pointer_tmp = folder / f".{POINTER}.{token}"
    pointer_tmp.write_text(json.dumps(info.as_json()), encoding="utf-8")
    os.replace(pointer_tmp, folder / POINTER)
    for old in sorted(folder.glob("snapshot-*.duckdb"))[:-max(keep, 1)]:
        old.unlink(missing_ok=True)
    return info


def _facts(cur: Any, prefix: str = "") -> tuple[int, int, str]:
    """The newest load, the number undone and the derived-build fingerprint of a database."""
    load_id, undone = cur.execute(
        f"SELECT coalesce(max(load_id), 0), count(undone_at) FROM {prefix}loads").fetchall()[0]
    return int(load_id), int(undone), _fingerprint(cur, prefix)


def _copy_file(store: "Store", incoming: Path) -> tuple[int, int, str] | None:
    """Copy the database file itself: a checkpoint writes every commit into it, then the bytes are copied while
    the store's write lock keeps its writes out. About 1 s for a 700 MB file where ``COPY FROM DATABASE``
    (:func:`_copy_tables`) took 55-66 s (22 s of CPU: it compresses every table again), measured on the
    5M-order benchmark database on 2 busy cores.

    The copy is opened and checked (the same newest load, undone loads and derived build as the source had after
    the checkpoint); None, and nothing left behind, when the lock is busy, a write-ahead log remains after the
    checkpoint, or the check fails: the caller then copies table by table.

    The checkpoint is not an extra cost: it is the one closing the store would run (a weekly orders file's CLI
    load on the 5M-order database, CPU: 0.40-0.76 s here and 0.05-0.11 s at close, against 0.48-0.54 s at close
    without a snapshot). Copying after the close instead would drop DuckDB's lock on the file, and another
    writer opening it mid-copy would tear the copy in blocks the check does not read. The copy is the kernel's
    (``sendfile``; ``cp`` and ``copy_file_range`` cost the same on ext4, 0.14-0.15 s of system CPU for 575 MB
    on an idle machine, 0.5-1.3 s when other jobs load the cores)."""
    source = Path(store.path)
    if not store._write_lock.acquire(timeout=LOCK_WAIT_SECONDS):
        return None
    try:
        cur = store._connection.cursor()
        try:
            cur.execute("CHECKPOINT")
            expected = _facts(cur)
        finally:
            cur.close()
        wal = source.with_name(source.name + ".wal")
        if wal.exists() and wal.stat().st_size:
            return None
        # In a child process: DuckDB holds the file with a POSIX (fcntl) lock, which the OS releases when this
        # process closes any descriptor of the file, ours included; another process could then open it.
        subprocess.run([sys.executable, "-I", "-S", "-c", "import shutil, sys; shutil.copyfile(*sys.argv[1:3])",
                        str(source), str(incoming)], check=True, capture_output=True)
    finally:
        store._write_lock.release()
    try:
        with duckdb.connect(str(incoming), read_only=True) as copy:
            found = _facts(copy)
    except duckdb.Error:
        found = None
    if found != expected:
        incoming.unlink(missing_ok=True)
        _LOG.warning("the copied database file did not match its source (%s, expected %s)", found, expected)
        return None
    return found


def _copy_tables(store: "Store", incoming: Path, token: str) -> tuple[int, int, str]:
    """Copy every table into a new database with ``COPY FROM DATABASE`` in one read transaction."""
    alias = f"engagement_snapshot_{token}"
    cur = store._connection.cursor()  # its own cursor: never a page's read snapshot
    try:
        cur.execute(f"ATTACH '{str(incoming).replace(chr(39), chr(39) * 2)}' AS {alias}")
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                source = cur.execute("SELECT current_database()").fetchall()[0][0]
                cur.execute(f"COPY FROM DATABASE {quote_identifier(source)} TO {alias}")
                facts = _facts(cur, f"{alias}.main.")
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
        finally:
            cur.execute(f"DETACH {alias}")
    finally:
        cur.close()
    return facts


def latest(db_path: str | os.PathLike[str]) -> SnapshotInfo | None:
    """The snapshot ``latest.json`` points at, or None when none has been published."""
    folder = snapshot_dir(db_path)
    try:
        raw = json.loads((folder / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return SnapshotInfo(folder / raw["file"], int(raw["load_id"]), int(raw.get("undone", 0)),
                        datetime.fromisoformat(raw["published_at"]), float(raw.get("seconds", 0.0)), raw.get("derived"))


def _fingerprint(cur: Any, prefix: str = "") -> str:
    """The derived-build fingerprint stored in a database (``prefix``: an attached one's ``alias.main.``)."""
    try:
        row = cur.execute(f"SELECT max(fingerprint) FROM {prefix}derived_build").fetchall()
    except Exception:  # a database made before the table existed
        return ""
    return row[0][0] or "" if row else ""


def open_latest(db_path: str | os.PathLike[str], attempts: int = 5,
                derived: "DerivedBuilder | None" = None) -> "Store":
    """The latest snapshot opened read-only, with ``store.snapshot_of`` set; ``LookupError`` when none exists.

    ``derived``: the derived build (``engagement.derived.DERIVED_BUILD``) when the reader checks that the
    snapshot's derived tables are current (``Store.require_current_derived``), as the app and the CLI do.

    Retried when the file was pruned between reading the pointer and opening it (a publish in between).
    """
    from engagement.warehouse.store import Store

    for _ in range(attempts):
        info = latest(db_path)
        if info is None:
            break
        try:
            store = Store.open(info.path, read_only=True, derived=derived)
        except duckdb.IOException:
            if info.path.exists():
                raise
            continue  # pruned meanwhile: read the pointer again
        store.snapshot_of = info
        return store
    raise LookupError(f"No read-only snapshot of {db_path} has been published yet: the writing process "
                      "publishes one after its next load or undo (or when it opens the database).")


PURPOSE = "snapshot"  # the background worker's name (engagement.warehouse.background)


class SnapshotPublisher:
    """Publishes after every commit of one store; in the background, one publish at a time.

    A commit while a publish runs marks the copy stale, and one more publish follows: the latest snapshot
    always catches up with the latest commit, and bursts of loads do not queue copies. The runs are the store's
    ``background`` worker for snapshots: closing the store, or the process ending, waits for a publish under way
    (a daemon thread stopped mid-copy aborted the whole process at exit).
    """

    def __init__(self, keep: int = DEFAULT_KEEP, background: bool = True):
        self.keep = keep
        self.background = background
        self.last: SnapshotInfo | None = None
        self.last_error: str | None = None
        self._worker: CoalescingWorker | None = None

    def __call__(self, store: "Store") -> None:
        if not self.background:
            self._publish(store)
            return
        self._worker = worker_for(store, PURPOSE)
        self._worker.request(lambda: self._publish(store))

    def _publish(self, store: "Store") -> None:
        try:
            self.last = publish(store, self.keep)
            self.last_error = None
            _LOG.info("published %s in %.1f s", self.last.path, self.last.seconds)
        except Exception as exc:  # the load is committed; a failed copy must not undo that or crash the app
            self.last_error = f"{type(exc).__name__}: {exc}"
            _LOG.warning("publishing a read-only snapshot failed: %s", self.last_error)

    def wait(self, timeout: float | None = None) -> None:
        """Block until no publish is running (tests; a CLI command before it exits)."""
        if self._worker is not None:
            self._worker.wait(timeout)


def enable(store: "Store", keep: int = DEFAULT_KEEP, background: bool = True,
           publish_if_stale: bool = True) -> SnapshotPublisher | None:
    """Publish a snapshot after every commit of ``store`` (and now, when the latest one is missing or stale, or
    this process rebuilt the derived tables, e.g. after an upgrade, and ``publish_if_stale``).

    Nothing for an in-memory or read-only store, or when ``keep`` is 0.
    """
    if store.read_only or store.path == ":memory:" or keep <= 0:
        return None
    publisher = SnapshotPublisher(keep, background)
    store.after_commit.append(publisher)
    if not publish_if_stale:
        return publisher
    current = store.cursor().execute("SELECT coalesce(max(load_id), 0), count(undone_at) FROM loads").fetchall()[0]
    info = latest(store.path)
    # Same loads but other derived tables (rebuilt after an upgrade, here or by an earlier run): publish too.
    if info is None or not info.path.exists() or (info.load_id, info.undone) != tuple(current) \
            or info.derived != _fingerprint(store.cursor()) or getattr(store, "derived_rebuilt", False):
        publisher(store)
    return publisher
