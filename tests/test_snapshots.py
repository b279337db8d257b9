"""Read-only snapshots (engagement/warehouse/snapshots.py): consistent copies for everything outside the writer.

The concurrency test runs the writer in another process, as the app holds the database (one store, snapshots
published on a background thread, a load by a signed-in analyst), and meanwhile asks a read-only app instance
(AppTest, in this process) and ``report kpis`` (a CLI process) for numbers: each answer is the data before the
load or after it, never an error or a mix.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from engagement.warehouse.access import ANALYST, Actor
from engagement.derived import DERIVED_BUILD
from engagement.intake.ingest import ingest_bytes
from engagement.warehouse import snapshots
from engagement.warehouse.errors import StoreLockedError
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

ROOT = Path(__file__).resolve().parents[1]
ANA = Actor("ana@example.com", ANALYST, "oidc")


def _orders_csv(customer_id: str, day: str, count: int, prefix: str) -> bytes:
    return ("order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n" + "".join(
        f"#{prefix}-{i},{customer_id},{day} 10:00:00,{500 + i}.00,0,USD,web,paid\n" for i in range(count)
    )).encode()


@pytest.fixture()
def writable_copy(demo_db_path, tmp_path) -> Path:
    path = tmp_path / "engagement.duckdb"
    shutil.copy(demo_db_path, path)
    return path


def _first_customer_and_last_day(store: Store) -> tuple[str, str]:
    return tuple(str(v) for v in store.cursor().execute(
        "SELECT min(customer_id), (SELECT max(ordered_at)::date FROM orders) FROM customers").fetchall()[0])


def test_publish_copies_every_table_and_keeps_the_last_few(writable_copy):
    store = open_workbench(writable_copy, read_only=False)
    publisher = snapshots.enable(store, keep=2, background=False)
    first = snapshots.latest(writable_copy)
    assert first is not None and first.path == publisher.last.path
    customer, day = _first_customer_and_last_day(store)
    for n in range(2):
        result = ingest_bytes(store, "orders", _orders_csv(customer, day, 2, f"SNAP{n}"), f"o{n}.csv", actor=ANA)
        assert result.status == "loaded", result.message
    store.undo(result.summary.load_id, actor=ANA)
    info = snapshots.latest(writable_copy)
    assert (info.load_id, info.undone) == (result.summary.load_id, 1)
    # The initial publish, two loads and an undo made four snapshots; keep=2 leaves the newest two.
    kept = sorted(snapshots.snapshot_dir(writable_copy).glob("snapshot-*.duckdb"))
    assert len(kept) == 2 and kept[-1] == info.path
    expected = {name: store.cursor().execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
                for (name,) in store.cursor().execute(
                    "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    store.close()
    reader = snapshots.open_latest(writable_copy, derived=DERIVED_BUILD)
    copied = {name: reader.cursor().execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] for name in expected}
    assert copied == expected
    assert reader.derived_are_current()
    assert "as of load #" in reader.snapshot_of.describe()
    reader.close()


def test_no_snapshot_means_a_plain_lock_error_for_readers(writable_copy):
    holder = Store.open(writable_copy, read_only=False)
    try:
        with pytest.raises(LookupError, match="No read-only snapshot"):
            snapshots.open_latest(writable_copy)
    finally:
        holder.close()


WRITER = r"""
import sys, time
from pathlib import Path
from engagement.warehouse.access import Actor
from engagement.intake.ingest import ingest_file
from engagement.warehouse import snapshots
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

db, export, go, done = sys.argv[1:5]
store = open_workbench(db, read_only=False, readable=(export,))  # the sandbox reads only what it is given
store.actor_required = True  # as in the app
publisher = snapshots.enable(store, background=True)
publisher.wait()
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.05)
result = ingest_file(store, "orders", export, actor=Actor("ana@example.com", "analyst", "oidc"))
print("loaded", result.status, result.summary.load_id if result.summary else result.message, flush=True)
publisher.wait()
print("published", publisher.last_error or "ok", flush=True)
while not Path(done).exists():
    time.sleep(0.05)
store.close()
"""


def _report_kpis(db: Path) -> tuple[dict, str]:
    run = subprocess.run([sys.executable, "-m", "engagement", "report", "kpis", "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    values = json.loads(run.stdout)
    return {m["metric"]: (m["value"], m["n"]) for m in values["metrics"]}, run.stderr


def _app_reading(db: Path) -> tuple[tuple, str]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.sidebar.caption)
    return tuple((m.label, m.value) for m in at.metric), captions


def test_read_only_instance_and_report_answer_old_or_new_while_the_writer_loads(writable_copy, tmp_path,
                                                                                 monkeypatch):
    from engagement import ui

    store = open_workbench(writable_copy, read_only=False)
    customer, day = _first_customer_and_last_day(store)
    store.close()
    export = tmp_path / "orders.csv"
    export.write_bytes(_orders_csv(customer, day, 40, "CONC"))
    old_report, _ = _report_kpis(writable_copy)  # the file is free: read directly
    demo_loads = _last_load_id(writable_copy)  # one load per kind the demo generates

    monkeypatch.setenv("ENGAGEMENT_DB", str(writable_copy))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    ui.get_store.clear()
    go, done = tmp_path / "go", tmp_path / "done"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(writable_copy), str(export), str(go), str(done)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in writer.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        assert lines.get(timeout=300) == "ready"
        with pytest.raises(StoreLockedError):  # the writer holds the file: only the snapshot can be read
            Store.open(writable_copy, read_only=True)
        old_app, old_caption = _app_reading(writable_copy)
        assert f"as of load #{demo_loads}" in old_caption
        reports, apps = [_report_kpis(writable_copy)], [(old_app, old_caption)]
        go.touch()
        while not any(s.startswith("published") for s in seen) and (writer.poll() is None or not lines.empty()):
            reports.append(_report_kpis(writable_copy))
            apps.append(_app_reading(writable_copy))
            while not lines.empty():
                seen.append(lines.get())
        assert any(s.startswith(f"loaded loaded {demo_loads + 1}") for s in seen), seen
        assert "published ok" in seen, seen
        # After the publish both read the new snapshot.
        reports.append(_report_kpis(writable_copy))
        apps.append(_app_reading(writable_copy))
    finally:
        done.touch()
        writer.wait(timeout=120)
        ui.get_store.clear()
    assert writer.returncode == 0, writer.stderr.read()
    new_report, _ = _report_kpis(writable_copy)  # the writer has exited: read the file directly
    assert new_report != old_report  # 40 orders of $500+ move the order count and the average order value
    assert all(r in (old_report, new_report) for r, _ in reports)
    assert all("reading a read-only snapshot as of load #" in note for _, note in reports)
    assert reports[-1][0] == new_report
    new_app, new_caption = apps[-1]
    assert f"as of load #{demo_loads + 1}" in new_caption and new_app != old_app
    # Two snapshots can follow the load (the load's commit, then the model refit's, issue 20): the same load and
    # numbers, captions that differ only in the publish time. Every reading is the old state or the new one.
    def state(reading):
        value, caption = reading
        return value, re.search(r"as of load #(\d+)", caption).group(1)

    assert all(state(reading) in (state((old_app, old_caption)), state((new_app, new_caption))) for reading in apps)


def test_a_snapshot_published_during_a_run_is_read_by_the_next_run(writable_copy, monkeypatch):
    """One app run reads one snapshot: the sidebar's "as of load #N" and every number under it. A snapshot the
    writer publishes mid-run (here: right after the demo banner, before the filters and the page) is read from the
    next run on; before, the page's numbers came from it under the caption of the one before."""
    from engagement import ui

    store = open_workbench(writable_copy, read_only=False)
    snapshots.enable(store, keep=5, background=False)
    old = snapshots.latest(writable_copy)
    customer, day = _first_customer_and_last_day(store)
    result = ingest_bytes(store, "orders", _orders_csv(customer, day, 40, "MID"), "mid.csv", actor=ANA)
    assert result.status == "loaded", result.message
    new = snapshots.latest(writable_copy)
    store.close()
    assert new.load_id == old.load_id + 1
    pointer = snapshots.snapshot_dir(writable_copy) / snapshots.POINTER
    monkeypatch.setenv("ENGAGEMENT_DB", str(writable_copy))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")

    def reading_at(info):
        pointer.write_text(json.dumps(info.as_json()), encoding="utf-8")
        ui.get_store.clear()
        return _app_reading(writable_copy)

    old_alone, new_alone = reading_at(old), reading_at(new)
    assert old_alone[0] != new_alone[0]  # 40 orders of $500+ move the cards
    pointer.write_text(json.dumps(old.as_json()), encoding="utf-8")
    ui.get_store.clear()
    banner = ui.demo_banner

    def banner_then_a_publish(store):
        banner(store)
        pointer.write_text(json.dumps(new.as_json()), encoding="utf-8")

    monkeypatch.setattr(ui, "demo_banner", banner_then_a_publish)
    during = _app_reading(writable_copy)
    monkeypatch.setattr(ui, "demo_banner", banner)
    after = _app_reading(writable_copy)
    ui.get_store.clear()
    assert f"as of load #{old.load_id}," in during[1] and during[0] == old_alone[0]
    assert f"as of load #{new.load_id}," in after[1] and after[0] == new_alone[0]


def _last_load_id(path) -> int:
    """The newest load of the database at ``path`` (the file must be free)."""
    store = Store.open(path, read_only=True)
    try:
        return int(store.cursor().execute("SELECT max(load_id) FROM loads").fetchall()[0][0])
    finally:
        store.close()


def test_a_notebook_opens_the_published_snapshot_while_the_app_holds_the_file(writable_copy):
    """A notebook is another process than the app: DuckDB refuses it the file, so it reads the snapshot."""
    demo_loads = _last_load_id(writable_copy)
    holder = Store.open(writable_copy, read_only=False)
    snapshots.enable(holder, background=False)
    code = ("import sys; from engagement.notebook.export import open_store; "
            "s = open_store(sys.argv[1]); print(s.snapshot_of.load_id if s.snapshot_of else 'copy')")
    try:
        run = subprocess.run([sys.executable, "-c", code, str(writable_copy)], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    finally:
        holder.close()
    assert run.returncode == 0, run.stderr
    assert f"reading a read-only snapshot as of load #{demo_loads}" in run.stdout  # the notice
    assert run.stdout.strip().splitlines()[-1] == str(demo_loads)


def test_a_database_outside_data_publishes_under_the_sandbox_without_opening_its_folder(tmp_path):
    """``--db /elsewhere/x.duckdb``: the sandbox (external access off, settings locked) lets DuckDB write the
    snapshot folder beside the database and nothing else there (before the merge fix, ATTACH was refused)."""
    db = tmp_path / "elsewhere" / "engagement.duckdb"
    neighbour = db.parent / "neighbour.csv"
    db.parent.mkdir()
    neighbour.write_text("secret\n1\n", encoding="utf-8")
    store = open_workbench(db, read_only=False)
    try:
        locked, external = store.cursor().execute(
            "SELECT current_setting('lock_configuration'), current_setting('enable_external_access')").fetchall()[0]
        assert (locked, external) == (True, False)
        info = snapshots.publish(store)
        assert info.path.parent == snapshots.snapshot_dir(db) and info.path.exists()
        with pytest.raises(duckdb.Error, match="(?i)permission|disabled"):
            store.cursor().execute(f"SELECT * FROM read_csv('{neighbour}')").fetchall()
    finally:
        store.close()
    reader = snapshots.open_latest(db, derived=DERIVED_BUILD)
    assert reader.derived_are_current() and reader.snapshot_of.load_id == 0
    reader.close()


def test_a_rebuild_at_open_publishes_a_fresh_snapshot_at_the_same_load(writable_copy):
    """After an upgrade the app rebuilds the derived tables when it opens the file: the loads are the same, so the
    latest snapshot looked current, and readers (the CLI, read-only instances) got the old version's tables and an
    error telling them to upgrade the snapshot file. The rebuild now publishes a fresh snapshot."""
    first = Store.open(writable_copy, read_only=False, derived=DERIVED_BUILD)
    snapshots.enable(first, background=False)
    before = snapshots.latest(writable_copy)
    first.close()
    assert before is not None
    with duckdb.connect(str(writable_copy)) as con:  # as another version would have left it
        con.execute("UPDATE derived_build SET fingerprint = 'built by an older version'")
    store = open_workbench(writable_copy, read_only=False)  # rebuilds the derived tables
    try:
        assert store.derived_rebuilt
        snapshots.enable(store, background=False)
        after = snapshots.latest(writable_copy)
        assert after.load_id == before.load_id and after.path != before.path
    finally:
        store.close()
    # The next process to open it (the app restarted) finds the snapshot current: the fingerprint it records
    # is the database's, so nothing is copied again.
    again = open_workbench(writable_copy, read_only=False)
    try:
        assert not again.derived_rebuilt
        snapshots.enable(again, background=False)
        assert snapshots.latest(writable_copy).path == after.path
    finally:
        again.close()


def _table_counts(cur) -> dict[str, int]:
    return {name: cur.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            for (name,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def test_publish_copies_the_checkpointed_file_not_table_by_table(writable_copy, monkeypatch):
    """The snapshot is the database file copied after a checkpoint (about 1 s at 5M orders, where COPY FROM
    DATABASE took a minute): the table-by-table copy is not used, and the copy holds the load just committed."""
    store = open_workbench(writable_copy, read_only=False)
    customer, day = _first_customer_and_last_day(store)
    result = ingest_bytes(store, "orders", _orders_csv(customer, day, 3, "FILE"), "file.csv", actor=ANA)
    assert result.status == "loaded", result.message

    def refused(*args):
        raise AssertionError("copied table by table")

    monkeypatch.setattr(snapshots, "_copy_tables", refused)
    info = snapshots.publish(store)
    expected = _table_counts(store.cursor())
    # The writer still holds the file: the copy must not release DuckDB's lock (a POSIX lock is released when
    # the process closes any descriptor of the file).
    other = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True)",
                            str(writable_copy)], capture_output=True, text=True)
    store.close()
    assert other.returncode != 0 and "lock" in other.stderr.lower(), other.stderr[-500:]
    assert info.load_id == result.summary.load_id
    with duckdb.connect(str(info.path), read_only=True) as copy:
        assert _table_counts(copy) == expected
        assert copy.execute("SELECT count(*) FROM orders WHERE order_id LIKE '#FILE-%'").fetchall() == [(3,)]


def test_publish_copies_table_by_table_while_a_write_holds_the_lock(writable_copy, monkeypatch):
    """A write in progress (the store's write lock held) is waited for only so long: then the file copy gives
    up, leaves nothing behind, and the snapshot is copied table by table, as of the last commit."""
    monkeypatch.setattr(snapshots, "LOCK_WAIT_SECONDS", 0.1)
    store = open_workbench(writable_copy, read_only=False)
    try:
        expected = _table_counts(store.cursor())
        with store._write_lock:
            info = snapshots.publish(store)
        assert sorted(p.name for p in info.path.parent.iterdir() if p.name.startswith(".incoming")) == []
    finally:
        store.close()
    with duckdb.connect(str(info.path), read_only=True) as copy:
        assert _table_counts(copy) == expected
