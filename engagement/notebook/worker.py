"""Notebook SQL in a separate process: the app's side of ``worker_main`` (warm workers, limits, the reply).

Why a process: inside the app's own DuckDB instance a query like ``SELECT repeat('x', 1e8) FROM range(15)``
makes DuckDB build a 2,048-row vector (1.5 GB) before any byte can be counted, and that instance must be able
to read the upload spool and archive for loads. A worker opens its own instance read-only on the *policy copy* of the database
(``policy_database``: only the tables ``data_policy`` allows, personal columns masked), made from a read-only
store's file or, for a writable store, which no other process may open, from its latest read-only snapshot
(published first when it is behind the last load). It reads only ``data/`` minus the spool, the archive and the
database files, and runs under an operating-system memory cap: a runaway query kills the worker, not the app.

Workers are kept warm per database file (at most :data:`MAX_WORKERS` at once, one query each at a time); a
worker that was killed, timed out or whose snapshot was replaced is not reused.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engagement import config
from engagement.notebook import policy_database
from engagement.notebook.worker_main import read_frame, write_frame
from engagement.warehouse import snapshots

MAX_WORKERS = 4
_ROOT = Path(__file__).resolve().parents[2]


def os_limit_bytes() -> int:
    """The worker's ``RLIMIT_DATA`` (``ENGAGEMENT_NOTEBOOK_MEMORY_MB``, default 1,024 MB)."""
    return config.notebook_memory_bytes()


@dataclass(frozen=True)
class Reply:
    """What the worker answered: ``status`` ok (``table`` set), too_big, memory, refused, failed or timeout."""

    status: str
    message: str = ""
    table: Any = None
    rows: int = 0


def readable_files(data_dir: Path, database: str | Path, refused: tuple[Path, ...] = (),
                   whole_when_clean: bool = False) -> tuple[list[str], list[str]]:
    """(folders, files) of ``data_dir`` a notebook query may read: everything but the spool, the archive,
    snapshot folders and database files (DuckDB can allow folders and files, not forbid a subfolder).

    ``whole_when_clean``: ``data_dir`` itself when it holds none of those (so that ``glob('data/*.csv')`` works),
    for an instance that lives one query only: a spool made later must not become readable to a warm worker."""
    data_dir = Path(os.path.realpath(data_dir))
    database = Path(os.path.realpath(database))
    banned = {Path(os.path.realpath(p)) for p in (config.SPOOL_DIR, data_dir / "spool", data_dir / "archive",
                                                   database.parent / "archive", *refused)}
    folders, files, skipped = [], [], False
    if data_dir.is_dir():
        for entry in sorted(data_dir.iterdir()):
            real = Path(os.path.realpath(entry))
            if real in banned or any(b in real.parents for b in banned) or real == database or database in real.parents:
                skipped = True
                continue
            if entry.name.endswith((".snapshots", ".duckdb", ".duckdb.wal", ".wal")):
                skipped = True
                continue
            (folders if real.is_dir() else files).append(str(entry))
        if whole_when_clean and not skipped and not any(b in data_dir.parents or b == data_dir for b in banned):
            folders, files = [str(data_dir)], []
    # DuckDB matches the path as written; a folder given through a symbolic link is allowed by its real name too.
    folders += [os.path.realpath(f) for f in folders if os.path.realpath(f) != f]
    files += [os.path.realpath(f) for f in files if os.path.realpath(f) != f]
    return folders, files


class Worker:
    """One child process with its DuckDB instance open on ``database`` (a policy copy: ``Pool.policy_copy``)."""

    def __init__(self, database: str, data_dir: Path):
        self.database = database
        started = time.perf_counter()
        folders, files = readable_files(data_dir, database)
        limit = os_limit_bytes()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engagement.notebook.worker_main"], cwd=_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(_ROOT)},
        )
        write_frame(self.process.stdin, {
            "database": database, "allowed_directories": folders, "allowed_paths": files,
            "os_limit_bytes": limit, "memory_limit": f"{max(limit // 2, 64 * 2 ** 20) // 2 ** 20}MiB",
            "threads": min(os.cpu_count() or 1, 2),
        })
        frame = read_frame(self.process.stdout)
        if frame is None or frame[0].get("status") != "ready":
            self.kill()
            raise RuntimeError((frame or ({"message": "The query worker could not start."},))[0].get("message"))
        self.start_seconds = time.perf_counter() - started

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, sql: str, max_rows: int, max_bytes: int, timeout_seconds: float) -> Reply:
        import pyarrow as pa

        try:
            write_frame(self.process.stdin, {"sql": sql, "max_rows": max_rows, "max_bytes": max_bytes})
        except (BrokenPipeError, OSError):
            return self._died()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_seconds)
        if not ready:
            self.kill()
            return Reply("timeout")
        frame = read_frame(self.process.stdout)
        if frame is None:
            return self._died()
        header, body = frame
        if header["status"] != "ok":
            return Reply(header["status"], header.get("message", ""), rows=int(header.get("rows", 0)))
        return Reply("ok", table=pa.ipc.open_stream(body).read_all())

    def _died(self) -> Reply:
        code = self.process.wait()
        # Killed (SIGKILL from the kernel) or aborted (std::bad_alloc past the cap): the memory cap, as the app's
        # own instance is untouched; any other exit is reported as it is.
        if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
            return Reply("memory", f"the worker stopped (exit {code})")
        return Reply("failed", f"The query worker stopped unexpectedly (exit {code}).")

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class Pool:
    """Warm workers per database file; a semaphore keeps at most ``size`` alive and busy at once."""

    def __init__(self, size: int = MAX_WORKERS):
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Worker] = []
        self._publish_lock = threading.Lock()
        self._folder: Path | None = None  # for policy copies when the snapshot folder is read-only (not in data/)

    def run(self, database: str, data_dir: Path, sql: str, *, max_rows: int, max_bytes: int,
            timeout_seconds: float) -> Reply:
        with self._slots:
            worker = self._take(database)
            try:
                if worker is None:
                    worker = Worker(database, data_dir)
            except (RuntimeError, OSError) as exc:
                return Reply("failed", str(exc))
            try:
                reply = worker.run(sql, max_rows, max_bytes, timeout_seconds)
            except BaseException:
                # Streamlit stops a rerun by raising in the script thread: a worker left mid-query would run on.
                worker.kill()
                raise
            self._give_back(worker)
            return reply

    def _take(self, database: str) -> Worker | None:
        with self._lock:
            for worker in list(self._idle):
                if worker.database != database or not worker.alive:  # a newer snapshot replaced its file
                    self._idle.remove(worker)
                    worker.kill()
            for worker in self._idle:
                if worker.database == database:
                    self._idle.remove(worker)
                    return worker
        return None

    def _give_back(self, worker: Worker) -> None:
        if not worker.alive:
            worker.kill()
            return
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        with self._publish_lock:
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def policy_copy(self, store: Any, source: str) -> str:
        """The policy copy (``policy_database.ensure_file``) of ``source``, the file :meth:`source` chose for
        ``store``, made when missing."""
        with self._publish_lock:
            if self._folder is None or not self._folder.exists():
                self._folder = policy_database.private_folder()
            cursor = store.cursor()
            try:
                return str(policy_database.ensure_file(cursor, source, self._folder))
            finally:
                cursor.close()

    def source(self, store: Any) -> str:
        """The file ``store``'s policy copy is made from: its own when read-only, else its latest snapshot, published
        now when there is none or it is behind the last load or undo (the notebook shows committed data)."""
        if store.read_only:
            return str(store.path)
        for hook in store.after_commit:  # the app publishes after each commit already: wait for that copy
            if isinstance(hook, snapshots.SnapshotPublisher):
                hook.wait()
        with self._publish_lock:
            current = tuple(store.cursor().execute(
                "SELECT coalesce(max(load_id), 0), count(undone_at) FROM loads").fetchall()[0])
            info = snapshots.latest(store.path)
            if info is None or not info.path.exists() or (info.load_id, info.undone) != current:
                info = snapshots.publish(store)
            return str(info.path)


POOL = Pool()
atexit.register(POOL.close)  # the fallback folder of policy copies is temporary
