"""The notebook's query worker: the child process that runs analysts' SQL (started by ``notebook/worker.py``).

It opens its own DuckDB instance, read-only, on the notebook's policy copy of the workbench database (only the
tables ``data_policy`` allows, masked; written by :func:`build_copy`, run as ``worker_main --build``), sandboxes
it more tightly than the app's own instance (no spool, no archive, no database files: only the folders and files
of ``data/`` a query may read, and a private temp folder), and caps its own memory with the operating system (``RLIMIT_DATA``): a query that allocates past it
fails or kills this process, never the app. Only the standard library, duckdb and pyarrow are imported here, so
that starting a worker costs little.

Frames on stdin/stdout: an 8-byte header length, a JSON header, an 8-byte body length, the body (Arrow IPC
stream bytes for rows). No pickle: the app never unpickles what a process running user SQL wrote.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import sys
import tempfile
from typing import Any, BinaryIO

_LENGTH = struct.Struct("!Q")


def write_frame(stream: BinaryIO, header: dict[str, Any], body: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    stream.write(_LENGTH.pack(len(raw)) + raw + _LENGTH.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """The next frame, or None at the end of the stream (the other side closed it or died)."""
    parts = []
    for _ in range(2):
        head = _read_exactly(stream, _LENGTH.size)
        if head is None:
            return None
        data = _read_exactly(stream, _LENGTH.unpack(head)[0])
        if data is None:
            return None
        parts.append(data)
    return json.loads(parts[0]), parts[1]


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _open(setup: dict[str, Any]):
    import duckdb

    limit = int(setup.get("os_limit_bytes") or 0)
    if limit:
        # RLIMIT_DATA covers the heap and private anonymous mappings (Linux >= 4.7), which is where DuckDB's
        # vectors live; RLIMIT_AS would also count the address space its allocator only reserves.
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    connection = duckdb.connect(setup["database"], read_only=True, config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "threads": int(setup.get("threads") or 2),
    })
    lock_down(connection, setup["allowed_directories"], setup.get("allowed_paths") or [],
              setup.get("memory_limit"), setup["temp_directory"])
    return connection


def lock_down(connection, folders: list[str], files: list[str], memory_limit: str | None = None,
              temp_directory: str | None = None) -> None:
    """Lock a notebook instance down (a worker's, or an in-memory policy copy's: ``policy_database``): no Python
    variable read as a table, reads only ``folders`` and ``files``, ``memory_limit``; then no statement may change
    any of it. Extension installs are switched off when the instance is opened (its connect config)."""
    cursor = connection.cursor()
    try:
        cursor.execute("SET python_enable_replacements = false").fetchall()
        if temp_directory:
            cursor.execute("SET temp_directory = $dir", {"dir": temp_directory}).fetchall()
        cursor.execute("SET allowed_directories = $dirs", {"dirs": folders}).fetchall()
        if files:
            cursor.execute("SET allowed_paths = $paths", {"paths": files}).fetchall()
        if memory_limit:
            cursor.execute("SET memory_limit = $limit", {"limit": memory_limit}).fetchall()
        cursor.execute("SET enable_external_access = false").fetchall()
        cursor.execute("SET lock_configuration = true").fetchall()
    finally:
        cursor.close()


def _run(connection, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    import duckdb
    import pyarrow as pa

    max_rows, max_bytes = int(request["max_rows"]), int(request["max_bytes"])
    cursor = connection.cursor()
    try:
        relation = cursor.sql(request["sql"])
        if relation is None:
            return {"status": "failed", "message": "The statement returned no rows to show."}, b""
        # Small batches: the bytes are counted before a batch of huge values is copied (DuckDB itself still
        # computes one vector of up to 2,048 rows first: that is what RLIMIT_DATA bounds).
        reader = relation.to_arrow_reader(int(request.get("batch_rows", 8)))
        batches, rows, size = [], 0, 0
        for batch in reader:
            size += batch.nbytes
            if size > max_bytes:
                return {"status": "too_big", "rows": rows + batch.num_rows}, b""
            batches.append(batch)
            rows += batch.num_rows
            if rows > max_rows:
                break
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, reader.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        return {"status": "ok"}, sink.getvalue().to_pybytes()
    except (duckdb.OutOfMemoryException, MemoryError) as exc:
        return {"status": "memory", "message": str(exc)}, b""
    except duckdb.PermissionException as exc:
        return {"status": "refused", "message": str(exc)}, b""
    except (duckdb.Error, OSError, ValueError) as exc:  # pyarrow passes DuckDB's errors on as its own
        text = str(exc)
        status = "memory" if "out of memory" in text.lower() or "bad_alloc" in text else "failed"
        return {"status": status, "message": text}, b""
    finally:
        cursor.close()


def build_copy(request: dict[str, Any]) -> None:
    """Write the notebook's policy copy (``policy_database.build_file``): the source database attached read-only,
    each planned table created from its masked SELECT (``$salt``: the hash key, not stored), then detached."""
    import duckdb

    target = request["target"]
    incoming = f"{target}.{os.getpid()}.incoming"  # another process may be making the same copy
    with duckdb.connect(incoming, config={"autoinstall_known_extensions": False,
                                          "autoload_known_extensions": False, "threads": 2}) as connection:
        connection.execute("ATTACH $source AS src (READ_ONLY)", {"source": request["source"]}).fetchall()
        connection.execute("BEGIN TRANSACTION").fetchall()  # every table as of one commit of the source
        for table, select in request["statements"]:
            quoted = '"' + table.replace('"', '""') + '"'
            connection.execute(f"CREATE TABLE main.{quoted} AS {select}",
                               {"salt": request["salt"]} if "$salt" in select else None).fetchall()
        connection.execute("COMMIT").fetchall()
        connection.execute("DETACH src").fetchall()
        connection.execute("CHECKPOINT").fetchall()
    os.replace(incoming, target)


def main() -> int:
    if sys.argv[1:] == ["--build"]:
        build_copy(json.loads(sys.stdin.buffer.read()))
        return 0
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the pipe
    first = read_frame(stdin)
    if first is None:
        return 0
    setup = first[0]
    setup["temp_directory"] = tempfile.mkdtemp(prefix="notebook-worker-")
    try:
        try:
            connection = _open(setup)
        except Exception as exc:  # noqa: BLE001 - told to the app, which says so to the user
            write_frame(stdout, {"status": "failed", "message": f"The query worker could not start: {exc}"})
            return 1
        write_frame(stdout, {"status": "ready", "pid": os.getpid()})
        while (frame := read_frame(stdin)) is not None:
            write_frame(stdout, *_run(connection, frame[0]))
        return 0
    finally:
        shutil.rmtree(setup["temp_directory"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
