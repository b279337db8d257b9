"""Readers never see half a load: 20 concurrent sessions read while a load and an undo commit,
and a load killed mid-way leaves the previous data intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from engagement.warehouse.errors import ReadOnlyStoreError
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from conftest import hand_fixture_frames

ROOT = Path(__file__).resolve().parents[1]
# One query, one snapshot: raw table totals and derived-table totals must agree with each other.
TOTALS_SQL = """
SELECT
    (SELECT count(*) FROM orders) AS orders,
    (SELECT sum(net_revenue) FROM orders WHERE status NOT IN ('refunded', 'cancelled')) AS purchase_revenue,
    (SELECT sum(revenue) FROM customer_summary) AS summary_revenue,
    (SELECT count(*) FROM order_facts) AS purchases
"""


def _orders(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "order_id": [f"{prefix}{i}" for i in range(n)],
        "customer_id": rng.choice(["A", "B", "C", "D"], size=n),
        "ordered_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 300, n), unit="s"),
        "net_revenue": np.round(rng.gamma(2.0, 30.0, n), 2),
        "status": "paid",
        "currency": "USD",
    })


@pytest.fixture()
def file_store(tmp_path) -> Store:
    store = open_workbench(tmp_path / "concurrency.duckdb", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    store.load_frame("orders", _orders(50_000, seed=1, prefix="base-"))
    yield store
    store.close()


def test_twenty_readers_see_old_or_new_never_a_mix(file_store):
    before = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
    observed: list[tuple] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        cursor = file_store.cursor()
        try:
            while not stop.is_set():
                observed.append(tuple(cursor.execute(TOTALS_SQL).fetchall()[0]))
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    summary = file_store.load_frame("orders", _orders(100_000, seed=2, prefix="new-"))
    after_load = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
    time.sleep(0.2)
    file_store.undo(summary.load_id)
    after_undo = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()

    assert errors == []
    assert after_undo == before
    assert after_load[0] == before[0] + 100_000
    assert len(observed) > 20
    assert set(observed) <= {before, after_load}, f"a reader saw a state between two commits: {before} {after_load}"
    for orders, purchase_revenue, summary_revenue, purchases in observed:
        assert purchase_revenue == summary_revenue  # raw and derived tables from the same commit


KILLED_LOADER = """
import sys, numpy as np, pandas as pd
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench
store = open_workbench(sys.argv[1], read_only=False)
n = 3_000_000
rng = np.random.default_rng(3)
frame = pd.DataFrame({
    "order_id": np.char.add("killed-", np.arange(n).astype(str)),
    "customer_id": rng.choice(["A", "B", "C"], size=n),
    "ordered_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 300, n), unit="s"),
    "net_revenue": np.round(rng.gamma(2.0, 30.0, n), 2),
    "status": "paid",
})
rebuild = store._refresh_derived


def written_then_wait(cur, *change):
    # The load's last step before COMMIT: its rows are written and the derived tables rebuilt. Say so, with
    # what the transaction holds, and wait to be killed.
    rebuild(cur, *change)
    rows = cur.execute("SELECT count(*) FROM orders WHERE order_id LIKE 'killed-%'").fetchall()[0][0]
    print("written", rows, flush=True)
    sys.stdin.readline()


store._refresh_derived = written_then_wait
print("loading", flush=True)
store.load_frame("orders", frame)
print("done", flush=True)
"""


def test_load_killed_midway_leaves_previous_data(file_store, tmp_path):
    path = file_store.path
    before = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
    file_store.close()  # the loader process needs the write lock

    proc = subprocess.Popen([sys.executable, "-c", KILLED_LOADER, path], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "loading"
    # Killed only once the load has written all 3,000,000 rows in its transaction, right before COMMIT.
    assert proc.stdout.readline().split() == ["written", "3000000"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    reopened = open_workbench(path, read_only=False)
    try:
        assert tuple(reopened.cursor().execute(TOTALS_SQL).fetchall()[0]) == before
        assert reopened.cursor().execute(
            "SELECT count(*) FROM orders WHERE order_id LIKE 'killed-%'").fetchall()[0][0] == 0
        assert reopened.cursor().execute(
            "SELECT count(*) FROM loads WHERE kind = 'orders'").fetchall()[0][0] == 2
    finally:
        reopened.close()


def test_read_only_store_refuses_writes_underneath(file_store):
    path = file_store.path
    file_store.close()
    store = open_workbench(path, read_only=True)
    try:
        with pytest.raises(ReadOnlyStoreError):
            store.load_frame("orders", _orders(1, seed=4, prefix="ro-"))
        with pytest.raises(ReadOnlyStoreError):
            store.undo(1)
        # Even SQL that bypasses the store's checks is refused by DuckDB itself.
        with pytest.raises(duckdb.Error):
            store.cursor().execute("DELETE FROM orders")
    finally:
        store.close()


def test_second_process_gets_a_clear_message_when_the_database_is_held(file_store):
    """The app holds the write lock; a CLI command in another process says what to do instead."""
    code = (
        "import sys\nfrom engagement.cli import main\n"
        f"sys.exit(main(['report', 'kpis', '--db', {file_store.path!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1
    assert "in use by another process" in out.stderr and "Data page" in out.stderr


def test_snapshot_keeps_one_state_across_queries_while_a_load_commits(file_store):
    """A view made of several queries runs them in one snapshot (Store.snapshot, used by ui.view_data):
    a load committed by another session between two of its queries is not seen by the second."""
    before = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
    with file_store.snapshot():
        first = tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0])
        writer = threading.Thread(
            target=lambda: file_store.load_frame("orders", _orders(1_000, seed=5, prefix="during-")))
        writer.start()
        writer.join()
        assert tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0]) == first == before
    assert tuple(file_store.cursor().execute(TOTALS_SQL).fetchall()[0]) != before


def test_writes_are_refused_inside_a_read_snapshot(file_store):
    with file_store.snapshot(), pytest.raises(RuntimeError, match="read snapshot"):
        file_store.load_frame("orders", _orders(1, seed=6, prefix="inside-"))
