"""engagement.warehouse.background: after-commit work runs one at a time per store and purpose, and requests
made during a run coalesce into exactly one more run (which sees what they wrote)."""

from __future__ import annotations

import threading
import time

from engagement.warehouse.background import CoalescingWorker, existing_worker, worker_for


def test_requests_during_a_run_coalesce_into_one_more_run():
    worker = CoalescingWorker("test")
    started, release = threading.Event(), threading.Event()
    runs, seen = [], []
    state = {"writes": 1}

    def task():
        runs.append(state["writes"])
        started.set()
        release.wait(5)

    worker.request(task)
    assert started.wait(5)
    for _ in range(3):  # three commits while the first run is under way
        state["writes"] += 1
        worker.request(task)
    release.set()
    worker.wait()
    seen.extend(runs)
    assert seen == [1, 4]  # one run for the first commit, one more for the three later ones, seeing all of them
    assert not worker.running


def test_a_task_that_raises_leaves_the_worker_usable():
    worker = CoalescingWorker("test")
    calls = []

    def failing():
        calls.append("failed")
        raise RuntimeError("boom")

    worker.request(failing)
    worker.wait()
    assert not worker.running
    worker.request(lambda: calls.append("ran"))
    worker.wait()
    assert calls == ["failed", "ran"]


def test_one_worker_per_store_and_purpose_gone_with_the_store():
    class Store:  # any weak-referenceable object
        pass

    store = Store()
    assert existing_worker(store, "refit") is None
    refit = worker_for(store, "refit")
    assert worker_for(store, "refit") is refit
    assert worker_for(store, "alerts") is not refit
    assert existing_worker(store, "refit") is refit
    assert existing_worker(Store(), "refit") is None


def test_closing_a_store_waits_for_its_background_work():
    """Store.close waits for the refit / alert runs that use its connection (closing under a run made the alert
    evaluation fail with "No open result set")."""
    from engagement.workbench import open_workbench

    store = open_workbench(":memory:", read_only=False)
    worker = worker_for(store, "test-close")
    started, finished = threading.Event(), []

    def task():
        started.set()
        time.sleep(0.5)  # the close below is called meanwhile
        finished.append(store.cursor().execute("SELECT 42").fetchall())

    worker.request(task)
    assert started.wait(5)
    store.close()
    assert finished == [[(42,)]] and not worker.running


def test_the_process_exits_after_the_run_under_way_not_through_it(tmp_path):
    """The workers' threads are daemons: Python stopped them mid-run at exit, and a run inside DuckDB then aborted
    the whole process (exit status 134, "FATAL: exception not rethrown") after a test session had passed. The run
    under way now finishes first: here a run that is still sleeping when the main thread ends writes its file."""
    import subprocess
    import sys

    marker = tmp_path / "finished"
    script = (
        "import time\n"
        "from engagement.warehouse.background import worker_for\n"
        "class Store: pass\n"
        "store = Store()\n"
        f"worker_for(store, 'test').request(lambda: (time.sleep(1.0), open({str(marker)!r}, 'w').write('ok')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "ok"
