"""Notebook SQL runs in a worker process (engagement/notebook/worker.py): the two residuals of issue 14.

1. ``SELECT repeat('x', 100000000) FROM range(15)`` made DuckDB build a 1.5 GB vector in the app's own process
   before the byte bound could count it: the caller's peak memory must now stay small.
2. The app's engine must read the upload spool and archive (loads), so only the parser kept notebook SQL out of
   them: the worker's engine must refuse them itself, parser bypassed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from conftest import hand_fixture_frames
from engagement.notebook import worker
from engagement.notebook.notebooks import run_cell
from engagement.warehouse.store import Store

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hunter2-raw-upload"
HUGE = "SELECT repeat('x', 100000000) FROM range(15)"  # the query: 15 values of 100 MB


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """A data folder with a database, a readable note, and a raw upload in the spool and in the archive."""
    folder = tmp_path / "data"
    plain = duckdb.connect()  # not sandboxed: only to write the planted files
    for where in ("spool/upload-1-abc", "archive/2026-01", "notes"):
        (folder / where).mkdir(parents=True)
        target = folder / where
        (target / "secret.csv").write_text(f"password\n{SECRET}\n")
        (target / "secret.json").write_text(f'{{"password": "{SECRET}"}}\n')
        plain.execute(f"COPY (SELECT '{SECRET}' AS password) TO '{target / 'secret.parquet'}' (FORMAT parquet)")
    plain.close()
    store = Store.open(folder / "engagement.duckdb", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    store.close()
    return folder


def _reads(path: Path) -> list[str]:
    """Every way DuckDB reads a file, aimed at ``path`` (a folder holding secret.csv/json/parquet)."""
    csv, js, pq = path / "secret.csv", path / "secret.json", path / "secret.parquet"
    return [
        f"SELECT * FROM read_csv('{csv}')", f"SELECT * FROM read_csv_auto('{csv}')", f"SELECT * FROM '{csv}'",
        f"SELECT * FROM read_csv('{path}/*.csv')", f"SELECT * FROM sniff_csv('{csv}')",
        f"SELECT * FROM read_parquet('{pq}')", f"SELECT * FROM parquet_scan('{pq}')",
        f"SELECT * FROM parquet_metadata('{pq}')", f"SELECT * FROM parquet_schema('{pq}')",
        f"SELECT * FROM read_json('{js}')", f"SELECT * FROM read_json_auto('{js}')",
        f"SELECT * FROM read_ndjson('{js}')", f"SELECT * FROM read_text('{csv}')",
        f"SELECT * FROM read_blob('{csv}')", f"SELECT * FROM glob('{path}/*')",
    ]


def test_the_worker_engine_refuses_the_spool_and_archive_with_no_parser(data_dir):
    """Statements go straight to the worker (no check_query): only its engine stands between them and the files."""
    database = str(data_dir / "engagement.duckdb")
    app = Store.open(database, read_only=True, readable=(data_dir,))
    try:  # the residual: the app's own engine reads raw uploads (it must, for loads)
        assert SECRET in str(app.cursor().execute(_reads(data_dir / "spool/upload-1-abc")[0]).fetchall())
    finally:
        app.close()
    engine = worker.Worker(database, data_dir)
    try:
        for folder in ("spool/upload-1-abc", "archive/2026-01"):
            for sql in _reads(data_dir / folder):
                reply = engine.run(sql, 100, 2 ** 20, 30)
                assert reply.status == "refused", (sql, reply)
                assert "Permission Error" in reply.message and SECRET not in reply.message
        # Nor the data folder's listing, another database in it, nor a second database instance. (DuckDB allows an
        # instance to read its own database file: the bytes of what a query may select anyway.)
        (data_dir / "other.duckdb").write_bytes(SECRET.encode())
        for sql in (f"SELECT * FROM glob('{data_dir}/*')", f"SELECT * FROM read_blob('{data_dir}/other.duckdb')",
                    f"ATTACH '{data_dir}/other.duckdb' AS again"):
            assert engine.run(sql, 100, 2 ** 20, 30).status in ("refused", "failed"), sql
        # What a notebook may read still reads: a file in another folder of data/.
        readable = engine.run(_reads(data_dir / "notes")[0], 100, 2 ** 20, 30)
        assert readable.status == "ok" and readable.table.to_pylist() == [{"password": SECRET}]
    finally:
        engine.kill()


GROWTH_PROBE = """
import sys
from engagement.warehouse.store import Store
from engagement.notebook.notebooks import run_cell

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

store = Store.open(sys.argv[1], read_only=False)
warm = run_cell(store, "SELECT 1 AS one")  # the first cell starts things; the attack is measured after it
before = peak_mb()
run = run_cell(store, sys.argv[2])
after = run_cell(store, "SELECT 2 AS two")
print(warm.status, run.status, after.status, round(peak_mb() - before))
"""


def test_the_huge_query_leaves_the_callers_peak_memory_alone(tmp_path):
    """Peak resident memory (VmHWM) of the process calling run_cell: it grew by about 1.7 GB when DuckDB ran in it."""
    out = subprocess.run([sys.executable, "-c", GROWTH_PROBE, str(tmp_path / "probe.duckdb"), HUGE], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    warm, status, after, grown_mb = out.stdout.split()
    assert (warm, status, after) == ("ok", "refused", "ok")
    assert int(grown_mb) < 100


@pytest.fixture()
def file_store(tmp_path):
    store = Store.open(tmp_path / "workbench.duckdb", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


def test_the_huge_query_gets_a_clear_message_and_the_next_cell_runs(file_store):
    run = run_cell(file_store, HUGE)
    assert run.status == "refused"
    assert "MB" in run.message and ("memory" in run.message or "return" in run.message), run.message
    assert run_cell(file_store, "SELECT count(*) AS n FROM orders").result.frame["n"].tolist() == [6]


def _busy_workers() -> set[int]:
    mine = {w.process.pid for w in worker.POOL._idle}
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "engagement.notebook.worker_main"],
                         capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in out} - mine


def test_a_worker_killed_mid_query_is_a_clear_message_and_the_app_goes_on(file_store):
    """What the kernel does to a worker past its memory cap (SIGKILL), done by hand mid-query."""
    run_cell(file_store, "SELECT 1")  # a warm worker
    killed: list[int] = []
    finished = threading.Event()

    def kill_when_busy() -> None:
        while not killed and not finished.is_set():
            for pid in _busy_workers():
                os.kill(pid, 9)
                killed.append(pid)
            threading.Event().wait(0.05)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    run = run_cell(file_store, "SELECT sum(hash(range)) FROM range(1000000000000)", timeout_seconds=120)
    finished.set()
    killer.join(5)
    assert killed
    assert run.status == "refused" and "memory a notebook query may use" in run.message, run.message
    assert run_cell(file_store, "SELECT count(*) AS n FROM customers").result.frame["n"].tolist() == [4]
    assert file_store.table_counts()["orders"] == 6  # the app's own instance is untouched


def test_a_timeout_kills_the_worker(file_store):
    run_cell(file_store, "SELECT 1")
    before = {w.process.pid for w in worker.POOL._idle}
    run = run_cell(file_store, "SELECT sum(hash(range)) FROM range(1000000000000)", timeout_seconds=0.5)
    assert run.status == "cancelled"
    after = {w.process.pid for w in worker.POOL._idle}
    assert before and not (before & after)  # the worker that ran it is gone; the next cell gets a new one
    for pid in before:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_writable_store_shows_the_rows_of_its_latest_load(file_store, tmp_path):
    """The worker cannot open a file the app writes: it reads a snapshot, published first when behind."""
    assert run_cell(file_store, "SELECT count(*) AS n FROM customers").result.frame["n"].tolist() == [4]
    frame = hand_fixture_frames()["customers"].copy()
    frame["customer_id"] = frame["customer_id"] + "-new"
    file_store.load_frame("customers", frame)
    assert run_cell(file_store, "SELECT count(*) AS n FROM customers").result.frame["n"].tolist() == [8]
