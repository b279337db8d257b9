"""The SQL notebook cannot read the server's files, whatever the query says (issue 14).

Two walls, each tested on its own: the DuckDB instance is sandboxed when the store opens (engagement/warehouse/sandbox.py),
and the notebook's parser check refuses what the engine would refuse and more (engagement/notebook/sql_safety.py). The
attack strings are the issue's, run through the app's notebook path (``run_cell``, what the page calls) on a
read-only and a writable store, against a real secret file in a temporary folder outside ``data/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import hand_fixture_frames
from engagement import config
from engagement.warehouse import sandbox
from engagement.intake.ingest import ingest_bytes
from engagement.notebook.notebooks import Notebook, add_cell, load_notebook, run_all, run_cell, save_notebook
from engagement.notebook.sql_safety import QueryRefused, run_query
from engagement.warehouse.store import Store

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hunter2-very-secret"


@pytest.fixture()
def secret(tmp_path) -> Path:
    folder = tmp_path / "server"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text(f"password\n{SECRET}\n")
    return path


def _attacks(secret: Path) -> list[str]:
    """The issue's attacks, aimed at ``secret``."""
    glob = f"{secret.parent}/*.csv"
    url = "https://example.com/x.csv"
    return [
        f'WITH "{secret}" AS (SELECT * FROM "{secret}") SELECT * FROM "{secret}"',
        f'WITH a AS (SELECT * FROM "{secret}"), "{secret}" AS (SELECT 1) SELECT * FROM a',
        f'WITH "{glob}" AS (SELECT * FROM "{glob}") SELECT * FROM "{glob}"',
        f'WITH a AS (SELECT * FROM "{glob}"), "{glob}" AS (SELECT 1) SELECT * FROM a',
        f'WITH "{url}" AS (SELECT * FROM "{url}") SELECT * FROM "{url}"',
        f'WITH a AS (SELECT * FROM "{url}"), "{url}" AS (SELECT 1) SELECT * FROM a',
        "WITH x AS (UPDATE orders SET net_revenue = 0 RETURNING *) SELECT * FROM x",
        "WITH x AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM x",
        "WITH x AS (INSERT INTO orders (order_id) VALUES ('x') RETURNING *) SELECT * FROM x",
    ]


@pytest.fixture(params=["writable", "read-only"])
def file_store(request, tmp_path) -> Store:
    """The hand fixture in a database file, opened as the app opens it (writable, or a read-only link)."""
    path = tmp_path / "workbench.duckdb"
    store = Store.open(path, read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    if request.param == "read-only":
        store.close()
        store = Store.open(path, read_only=True)
    yield store
    store.close()


@pytest.mark.parametrize("attack", range(9))
def test_the_issues_attacks_are_refused_through_the_notebook(file_store, secret, attack):
    before = file_store.table_counts()
    sql = _attacks(secret)[attack]
    run = run_cell(file_store, sql)
    assert run.status == "refused", (sql, run.status, run.message)
    assert SECRET not in run.message
    assert file_store.table_counts() == before


def test_the_engine_refuses_files_even_without_the_parser(file_store, secret):
    """SQL that skips the notebook's parser check (a cursor of the store) still cannot read outside the sandbox."""
    cursor = file_store.cursor()
    for sql in (f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM '{secret}'",
                f"SELECT * FROM read_csv('{secret.parent}/*.csv')", f"SELECT * FROM read_text('{secret}')",
                "SELECT * FROM 'https://example.com/x.csv'"):  # no download of httpfs either
        with pytest.raises(duckdb.PermissionException):
            cursor.execute(sql).fetchall()
    with pytest.raises(duckdb.Error, match="locked"):
        cursor.execute("SET enable_external_access = true")
    settings = cursor.execute(
        "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions'), "
        "current_setting('lock_configuration')"
    ).fetchall()[0]
    assert settings == (False, False, True)


def test_memory_limit_is_set_for_the_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_MEMORY_LIMIT", "1500MiB")
    store = Store.open(tmp_path / "limited.duckdb", read_only=False)
    try:
        # DuckDB prints 1500 MiB as "1.4 GiB" (1500 / 1024 = 1.46, shown with one decimal, truncated).
        assert store.cursor().execute("SELECT current_setting('memory_limit')").fetchall() == [("1.4 GiB",)]
    finally:
        store.close()


def test_loads_read_from_the_spool_and_leave_nothing_there(tmp_path):
    """The Data page's uploads are written under data/spool (inside the sandbox) and removed after the load."""
    store = Store.open(tmp_path / "spooled.duckdb", read_only=False)
    seen: list[list[Path]] = []
    before = set(config.SPOOL_DIR.glob("*")) if config.SPOOL_DIR.exists() else set()
    try:
        data = b"customer_id,email,created_at\nA,a@example.com,2025-01-01\n"
        result = ingest_bytes(store, "customers", data, "customers.csv",
                              progress=lambda stage, fraction: seen.append(sorted(config.SPOOL_DIR.glob("*/*"))))
        assert result.status == "loaded", result.message
    finally:
        store.close()
    assert any(files and files[0].name == "upload.csv" for files in seen)  # read from the spool
    assert set(config.SPOOL_DIR.glob("*")) <= before  # and removed (stale folders of dead processes too)


def test_a_file_outside_the_sandbox_still_loads(tmp_path):
    """A library caller (a Jupyter notebook) loading a file from its own folder: loaded from a spool copy."""
    store = Store.open(tmp_path / "lib.duckdb", read_only=False)
    outside = tmp_path / "exports" / "customers.csv"
    outside.parent.mkdir()
    outside.write_text("customer_id,email,created_at\nA,a@example.com,2025-01-01\nB,b@example.com,2025-01-02\n")
    try:
        assert not sandbox.can_read(store, outside)
        from engagement.intake.ingest import ingest_file

        result = ingest_file(store, "customers", outside)
        assert result.status == "loaded" and result.file_name == "customers.csv", result.message
        assert store.table_counts()["customers"] == 2  # the two rows written above
    finally:
        store.close()


def test_the_cli_ingests_a_file_from_anywhere(tmp_path):
    """``ingest FILE`` adds that one file to the sandbox of its own process (no copy), nothing else."""
    export = tmp_path / "exports" / "customers.csv"
    export.parent.mkdir()
    export.write_text("customer_id,email,created_at\nA,a@example.com,2025-01-01\n")
    db = tmp_path / "cli.duckdb"
    code = ("import sys\nfrom engagement.cli import main\n"
            f"sys.exit(main(['ingest', 'customers', {str(export)!r}, '--db', {str(db)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert '"status": "loaded"' in out.stdout


def test_the_spool_and_the_archive_are_refused_to_notebook_queries(tmp_path):
    data_dir = tmp_path / "data"
    for folder in ("spool", "archive", "notes"):
        (data_dir / folder).mkdir(parents=True)
        (data_dir / folder / "export.csv").write_text("email\nperson@example.com\n")
    store = Store.open(data_dir / "engagement.duckdb", read_only=False, readable=(data_dir,))
    try:
        for path in (f"{data_dir}/spool/export.csv", f"{data_dir}/archive/export.csv",
                     f"{data_dir}/archive/*.csv", f"{config.SPOOL_DIR}/x.csv"):
            with pytest.raises(QueryRefused, match="raw uploads|only read files inside"):
                run_query(store, f"SELECT * FROM read_csv('{path}')", data_dir=data_dir)
        with pytest.raises(QueryRefused, match="wildcards in the file name only"):
            run_query(store, f"SELECT * FROM read_csv('{data_dir}/*/export.csv')", data_dir=data_dir)
        # Other files in the data folder stay readable.
        allowed = run_query(store, f"SELECT count(*) AS n FROM read_csv('{data_dir}/notes/*.csv')", data_dir=data_dir)
        assert allowed.frame["n"].tolist() == [1]
    finally:
        store.close()


# ----------------------------------------------------------------- bounds
HUGE = "SELECT repeat('x', 100000000) FROM range(15)"  # the issue's query: 15 values of 100 MB


def test_a_result_over_the_byte_bound_is_refused(file_store):
    # 100 rows of 1,000 bytes: 100,000 bytes of text, over a 50,000-byte bound and under a 1 MB one.
    sql = "SELECT repeat('x', 1000) AS s FROM range(100)"
    with pytest.raises(QueryRefused, match="the most a query may return"):
        run_query(file_store, sql, max_bytes=50_000)
    assert run_query(file_store, sql, max_bytes=1_000_000).row_count == 100


def test_the_issues_huge_query_is_refused_and_saved_notebooks_get_the_same_bound(tmp_path):
    store = Store.open(tmp_path / "nb.duckdb", read_only=False)
    try:
        run = run_cell(store, HUGE)
        assert run.status == "refused" and "MB" in run.message, run.message
        saved = save_notebook(store, add_cell(add_cell(Notebook(name="big"), HUGE), "SELECT 42 AS answer"))
        runs = run_all(store, load_notebook(store, saved.name))
        assert [r.status for r in runs] == ["refused", "ok"]
    finally:
        store.close()


GROWTH_PROBE = """
import resource, sys
from engagement.warehouse.store import Store
from engagement.notebook.notebooks import run_cell
store = Store.open(sys.argv[1], read_only=False)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run = run_cell(store, sys.argv[2])
grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(run.status, round(grown_mb))
"""


def test_the_huge_query_does_not_grow_the_process_by_gigabytes(tmp_path):
    """Peak memory of a fresh process running the issue's query through the notebook.

    Before the byte bound it grew by 4.6 GB (measured: fetch of the whole first chunk, then pandas); now by
    DuckDB's own vector of 15 x 100 MB plus at most one 8-row batch (about 1.7 GB measured). 3 GB separates them.
    """
    out = subprocess.run([sys.executable, "-c", GROWTH_PROBE, str(tmp_path / "probe.duckdb"), HUGE], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    status, grown_mb = out.stdout.split()
    assert status == "refused"
    assert int(grown_mb) < 3 * 1024


def test_any_timeout_is_clamped(monkeypatch, hand_store):
    """1e10 s (or infinity) used to overflow threading.Timer in its thread, which turned the limit off."""
    import engagement.notebook.sql_safety as sql_safety

    intervals = []

    class RecordingTimer(sql_safety.threading.Timer):
        def __init__(self, interval, function):
            intervals.append(interval)
            super().__init__(interval, function)

    monkeypatch.setattr(sql_safety.threading, "Timer", RecordingTimer)
    for timeout in (1e10, float("inf")):
        assert run_query(hand_store, "SELECT 1 AS one", timeout_seconds=timeout).frame["one"].tolist() == [1]
    assert intervals == [sql_safety.MAX_TIMEOUT_SECONDS] * 2
    with pytest.raises(ValueError):
        run_query(hand_store, "SELECT 1", timeout_seconds=float("nan"))


def test_spool_folders_of_killed_processes_are_removed(tmp_path, monkeypatch):
    """A load killed mid-way leaves its spooled upload behind; the next spool use removes it, and only it."""
    monkeypatch.setattr(config, "SPOOL_DIR", tmp_path / "spool")
    finished = subprocess.Popen(["true"])
    finished.wait()
    stale = tmp_path / "spool" / f"upload-{finished.pid}-abc"
    live = tmp_path / "spool" / f"upload-{os.getpid()}-def"
    for folder in (stale, live):
        folder.mkdir(parents=True)
        (folder / "orders.csv").write_text("order_id\n1\n")
    with sandbox.spool_folder() as folder:
        assert folder.name.startswith(f"upload-{os.getpid()}-")
    assert not stale.exists() and (live / "orders.csv").exists()
