"""The database a notebook cell really runs against: only the tables :mod:`data_policy` allows, already masked.

DuckDB has no per-table permissions: whatever database a query's instance has open (or attached) can be named,
listed (``duckdb_tables()``, ``information_schema``) and read, whatever the parser was told. So the policy is
enforced by what exists: a cell's instance holds a copy of the queryable tables with personal columns masked,
and nothing else; the workbench database is not open or attached in it, and its file is not readable
(``allowed_directories`` names ``data/`` minus database files, then ``lock_configuration``).

- A store of a database file (the app, the CLI): the worker processes open a *policy copy*, a DuckDB file built
  once per snapshot by a child process (:func:`build_file`: ATTACH the snapshot read-only, ``CREATE TABLE ... AS``
  the masked SELECT of each queryable table, DETACH) in the snapshot folder (``<db>.snapshots/``, which no cell
  may read), where later processes (the next ``sql`` command, the app after a restart) find it
  (:func:`ensure_file`). The first cell after a load waits for it: 1.3 s of CPU on the 37 MB demo; 27 s (15 s of
  CPU in the child) on the 5M-order / 500k-customer database (663 MB, copy 632 MB), on 2 shared cores (load
  average 5).
- An in-memory store or a bare connection (tests, scripts): a fresh in-memory DuckDB instance is filled through
  Arrow for each query (:func:`in_memory_copy`) and sandboxed like a worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from engagement import config
from engagement.notebook import data_policy, worker_main

_ROOT = Path(__file__).resolve().parents[2]


def queryable_columns(cursor: Any) -> dict[str, list[str]]:
    """Each queryable table of the database behind ``cursor`` (main schema), with its columns in order."""
    rows = cursor.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal ORDER BY table_name, column_index"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        if data_policy.is_queryable(table):
            tables.setdefault(table, []).append(column)
    return tables


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ids_are_personal(cursor: Any) -> bool:
    """Whether any customer id of the database behind ``cursor`` is an e-mail address. customer_keys names every
    id any table holds (about 20 ms for 500,000 ids); before the first derived build, customers does."""
    tables = {r[0] for r in cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name IN ('customer_keys', 'customers')").fetchall()}
    source = "customer_keys" if "customer_keys" in tables else "customers" if "customers" in tables else None
    if source is None:
        return False
    return bool(cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {source} WHERE regexp_matches(customer_id, $pattern))",
        {"pattern": data_policy.EMAIL_PATTERN}).fetchall()[0][0])


# Whether a database file's customer ids are e-mail addresses, by (file, size, mtime): the identity the policy
# copy's own key trusts. A published snapshot never changes, so the scan runs once per snapshot, not per cell.
_PERSONAL_IDS: dict[tuple[str, int, int], bool] = {}


def _file_ids_are_personal(cursor: Any, source: Path, stat: os.stat_result) -> bool:
    identity = (str(source.resolve()), stat.st_size, stat.st_mtime_ns)
    if identity not in _PERSONAL_IDS:
        if len(_PERSONAL_IDS) >= 64:  # one entry per snapshot a process has read: keep it small
            _PERSONAL_IDS.clear()
        _PERSONAL_IDS[identity] = ids_are_personal(cursor)
    return _PERSONAL_IDS[identity]


def copy_plan(cursor: Any, source_prefix: str, hash_ids: bool | None = None) -> list[tuple[str, str]]:
    """(table, masked SELECT) for every queryable table; ``source_prefix`` qualifies the source (``src.main.``).
    ``hash_ids``: whether the ids are e-mail addresses, when the caller already knows (else looked up)."""
    if hash_ids is None:
        hash_ids = ids_are_personal(cursor)
    return [(table, data_policy.masked_select(table, columns, source_prefix + _quote(table), hash_ids))
            for table, columns in queryable_columns(cursor).items()]


COPY_PREFIX = "notebook-"


def ensure_file(cursor: Any, source: str | Path, fallback: Path) -> Path:
    """The policy copy of the database file ``source``, built when missing; ``cursor`` reads the same database.

    It is kept in the snapshot folder (``source``'s own when it is a snapshot, else ``<source>.snapshots/``), or
    in ``fallback`` when that cannot be written, in a folder named after the source and a key of its size, mtime
    and the copy plan (tables, columns, masks: a new policy makes a new copy), holding ``<catalog>.duckdb``:
    a cell's catalog name (``workbench.main.orders``) is the one the parser check saw. Copies there of an older
    state of the same source, or of a source that is gone (a pruned snapshot), are removed (a worker still reading
    one keeps its open file); a copy of another snapshot that still exists stays, for the process reading it."""
    source = Path(source)
    stat = source.stat()
    plan = copy_plan(cursor, "src.main.", _file_ids_are_personal(cursor, source, stat))
    catalog = str(cursor.execute("SELECT current_database()").fetchall()[0][0])
    key = hashlib.sha256(json.dumps([source.name, stat.st_size, stat.st_mtime_ns, plan]).encode()).hexdigest()[:16]
    home = source.parent if source.parent.name.endswith(".snapshots") else source.with_name(source.name + ".snapshots")
    for folder in (home, fallback):
        target = folder / f"{COPY_PREFIX}{source.name}-{key}" / f"{catalog}.duckdb"
        if target.exists():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        build_file(cursor, source, target, plan)
        for old in folder.glob(f"{COPY_PREFIX}*-*"):
            made_from = old.name[len(COPY_PREFIX):].rsplit("-", 1)[0]
            gone = not (folder / made_from).exists() and not (folder.parent / made_from).exists()
            if old != target.parent and (made_from == source.name or gone):
                shutil.rmtree(old, ignore_errors=True)
        return target
    raise RuntimeError(f"No folder to write the notebook's copy of the data in ({home}, {fallback}).")


def private_folder() -> Path:
    """A temporary folder for policy copies when the snapshot folder cannot be written (never under data/)."""
    return Path(tempfile.mkdtemp(prefix="engagement-notebook-"))


def build_file(cursor: Any, source: str | Path, target: Path, plan: list[tuple[str, str]] | None = None) -> None:
    """Write the policy copy of the database file ``source`` to ``target`` (which must not exist), in a child
    process: a DuckDB instance of this process closing its handle on ``source`` would drop the read lock the
    app's own instance holds on it (POSIX locks belong to the process). ``cursor``: the app's view of the same
    database, whose catalog says which tables and columns to copy."""
    plan = plan if plan is not None else copy_plan(cursor, "src.main.")
    request = {"source": str(source), "target": str(target), "salt": secrets.token_hex(16),
               "statements": [[table, select] for table, select in plan]}
    done = subprocess.run([sys.executable, "-m", "engagement.notebook.worker_main", "--build"], cwd=_ROOT,
                          input=json.dumps(request).encode(), capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(_ROOT)})
    if done.returncode != 0:
        Path(target).unlink(missing_ok=True)
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError("The notebook's copy of the data could not be made: "
                           + (lines[-1] if lines else f"exit {done.returncode}"))


def in_memory_copy(connection: Any, folders: list[str], files: list[str]) -> duckdb.DuckDBPyConnection:
    """A new, sandboxed in-memory DuckDB instance holding the policy copy of ``connection``'s tables.

    ``folders`` and ``files``: what it may read (``worker.readable_files``). The caller closes it."""
    salt = secrets.token_hex(16)
    source = connection.cursor()
    target = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": 2})
    try:
        for table, select in copy_plan(source, ""):
            rows = source.sql(select, params={"salt": salt} if "$salt" in select else None).to_arrow_table()
            target.register("policy_incoming", rows)
            target.execute(f"CREATE TABLE {_quote(table)} AS SELECT * FROM policy_incoming").fetchall()
            target.unregister("policy_incoming")
        worker_main.lock_down(target, folders, files, config.memory_limit())
    except BaseException:
        target.close()
        raise
    finally:
        source.close()
    return target
