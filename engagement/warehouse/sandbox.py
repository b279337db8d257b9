"""The sandbox DuckDB runs in: which files the engine may read, how much memory it may use, no extensions.

Every connection to one database file in one process shares one database instance and its settings, so
the store hardens the instance once, when it opens it (:func:`harden`), before any user SQL can run:

- ``enable_external_access = false`` with ``allowed_directories`` naming only what the workbench itself
  reads: the notebook's data folder (``data/``), the upload spool (``data/spool/``) and DuckDB's temp
  directory, plus ``allowed_paths`` for files a command-line load was given (that process only), and for a
  writable database its snapshot folder (:func:`snapshot_dir`), where ``warehouse/snapshots.py`` ATTACHes
  each new read-only copy: a ``--db`` outside ``data/`` publishes too, without opening its whole folder;
- ``autoinstall_known_extensions`` and ``autoload_known_extensions`` off: a query naming a function or
  URL of an extension that is not loaded fails instead of downloading it;
- one ``memory_limit`` for the instance (:func:`engagement.config.memory_limit`);
- ``lock_configuration = true``: no statement can undo the above while the process runs.

The SQL notebook's parser check (``sql_safety``) stays as a second wall: it also refuses the spool and the
upload archive, which the engine must be able to read for loads; and notebook cells on a database file run in
a worker process with a narrower sandbox of its own (``engagement/notebook/worker.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from engagement import config


def escape_wildcards(path: str | Path) -> str:
    """``path`` with each of DuckDB's glob characters (``*``, ``?``, ``[``) written as a one-character class
    (``[*]``), which matches only itself: DuckDB expands them in any path it reads, and ``[ab].csv`` would read
    ``a.csv``. Readers name files this way, so the sandbox allows the same spelling."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in str(path))


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def snapshot_dir(db_path: str | os.PathLike[str]) -> Path:
    """``data/engagement.duckdb`` -> ``data/engagement.duckdb.snapshots/`` (the read-only snapshots' folder)."""
    path = Path(db_path)
    return path.with_name(path.name + ".snapshots")


def harden(connection: Any, readable: Iterable[str | Path] = (), *, data_dir: str | Path | None = None,
           folders: Iterable[str | Path] = ()) -> None:
    """Sandbox the database instance behind ``connection`` for the rest of the process (see module doc).

    ``readable``: extra files (or folders) this process may read, e.g. the file given to ``ingest``.
    ``folders``: extra folders, existing or not yet (the snapshot folder of a writable database).
    ``data_dir``: the notebook's data folder (default ``config.DATA_DIR``). An instance that is already
    locked (another store of the same file in this process hardened it) is left as it is.
    """
    cursor = connection.cursor()
    try:
        if cursor.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
            return
        folders = [_real(data_dir or config.DATA_DIR), _real(config.SPOOL_DIR), *map(_real, folders)]
        files = []
        for path in readable:
            (folders if Path(path).is_dir() else files).append(_real(path))
            if not Path(path).is_dir() and any(ch in str(path) for ch in "*?["):
                # DuckDB checks the path it is given, and readers name such a file with each wildcard
                # written as a one-character class (readers.file_literal): allow that spelling too.
                files.append(Path(escape_wildcards(_real(path))))
        # DuckDB spills large sorts and joins to its temp directory: keep that usable.
        temp = cursor.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
        if temp:
            folders.append(_real(temp))
        cursor.execute("SET allowed_directories = $dirs", {"dirs": [str(f) for f in folders]}).fetchall()
        if files:
            cursor.execute("SET allowed_paths = $paths", {"paths": [str(f) for f in files]}).fetchall()
        cursor.execute("SET autoinstall_known_extensions = false").fetchall()
        cursor.execute("SET autoload_known_extensions = false").fetchall()
        limit = config.memory_limit()
        if limit:
            cursor.execute("SET memory_limit = $limit", {"limit": limit}).fetchall()
        cursor.execute("SET enable_external_access = false").fetchall()
        cursor.execute("SET lock_configuration = true").fetchall()
    finally:
        cursor.close()


_SETTINGS = "_sandbox_read_settings"  # the locked settings can_read reads, kept on the store


def can_read(connection: Any, path: str | Path) -> bool:
    """Whether the (hardened) instance behind ``connection`` may read the file at ``path``."""
    # Once the configuration is locked no statement can change these settings, so they are read once per store
    # (each read cost about 0.5 ms of CPU on every load).
    settings = getattr(connection, _SETTINGS, None)
    if settings is None:
        cursor = connection.cursor()
        try:
            *settings, locked = cursor.execute(
                "SELECT current_setting('enable_external_access'), current_setting('allowed_directories'), "
                "current_setting('allowed_paths'), current_setting('lock_configuration')"
            ).fetchall()[0]
        finally:
            if cursor is not getattr(connection, "batch_cursor", lambda: None)():  # a store's batch outlives this
                cursor.close()
        if locked:
            try:
                setattr(connection, _SETTINGS, tuple(settings))
            except AttributeError:  # a DuckDB connection itself takes no attributes: read each time
                pass
    external, folders, files = settings
    if external:
        return True
    target = _real(path)
    if any(target == _real(f) for f in files or ()):
        return True
    return any(target != _real(f) and _real(f) in target.parents for f in folders or ())


@contextmanager
def spool_folder() -> Iterator[Path]:
    """A private folder in the upload spool, removed afterwards (with what was written into it)."""
    config.SPOOL_DIR.mkdir(parents=True, exist_ok=True)
    remove_stale_spool()
    with tempfile.TemporaryDirectory(prefix=f"upload-{os.getpid()}-", dir=config.SPOOL_DIR) as folder:
        yield Path(folder)



def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def remove_stale_spool() -> list[Path]:
    """Remove spool folders whose process no longer runs (killed mid-load): raw uploads hold personal data.

    Folders are named ``upload-<pid>-<random>``; a folder of a running process is left alone.
    """
    removed = []
    for folder in config.SPOOL_DIR.glob("upload-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
