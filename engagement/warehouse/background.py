"""After-commit work that runs in the background, one run at a time per store and purpose.

Two kinds of work follow a committed write in the app: the default model refit (``engagement.derived.refits``)
and the alert evaluation (``engagement.leadership.alerts``). Both must not make a load wait, must not run twice at
once on one store, and must not miss a write: a write committed while a run is under way asks for one more run
after it, which reads the data as it then is. Several writes during one run coalesce into that single next run.
This module is that mechanism, once; the callers say what a run does.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Callable

_LOG = logging.getLogger(__name__)


class CoalescingWorker:
    """Runs a task on a daemon thread, at most one run at a time; requests during a run coalesce into one more.

    ``error`` is for the task to record its last failure as text (the caller decides what a failure means); a
    task that raises anyway is logged and the worker stays usable: the next request runs again.
    """

    def __init__(self, name: str):
        self.name = name
        self.error: str | None = None
        self.running = False
        self.thread: threading.Thread | None = None
        self._again = False
        self._lock = threading.Lock()

    def request(self, task: Callable[[], object]) -> None:
        """Run ``task`` in the background now, or once more after the run under way."""
        with self._lock:
            if self.running:
                self._again = True
                return
            self.running = True
            # Set under the lock with ``running``: a wait() between the two must find the thread to join.
            self.thread = threading.Thread(target=self._loop, args=(task,), name=self.name, daemon=True)
        self.thread.start()

    def _loop(self, task: Callable[[], object]) -> None:
        while True:
            try:
                task()
            except Exception:  # noqa: BLE001 (the write it follows is committed; the next request runs again)
                _LOG.exception("background %s failed", self.name)
            with self._lock:
                if not self._again:
                    self.running = False
                    return
                self._again = False

    def wait(self, timeout: float | None = None) -> None:
        """Block until the runs under way and asked for have finished (or ``timeout`` seconds passed); at once
        when called from the worker's own thread."""
        while self.running and self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
            if timeout is not None:
                return


_REGISTRY: "dict[str, weakref.WeakKeyDictionary[object, CoalescingWorker]]" = {}
_REGISTRY_LOCK = threading.Lock()
EXIT_WAIT_SECONDS = 120.0  # a refit at 1M customers takes about 15 s; past this the process exits anyway


def _finish_at_exit(timeout: float = EXIT_WAIT_SECONDS) -> None:
    """Let the runs under way finish before the interpreter ends (the app stopped, a test session ending). The
    workers' threads are daemons, and Python stopped them mid-statement: DuckDB's threads then aborted the whole
    process ("terminate called after throwing an instance of ''", exit status 134) after every test had passed.
    A run's write is one transaction, so the data was safe either way; the exit status and the refit were not."""
    deadline = time.monotonic() + timeout
    with _REGISTRY_LOCK:
        workers = [worker for by_store in _REGISTRY.values() for worker in list(by_store.values())]
    for worker in workers:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        worker.wait(remaining)


atexit.register(_finish_at_exit)


def worker_for(store: object, purpose: str) -> CoalescingWorker:
    """The store's worker for ``purpose`` (made on first use; it goes with the store)."""
    with _REGISTRY_LOCK:
        workers = _REGISTRY.setdefault(purpose, weakref.WeakKeyDictionary())
        worker = workers.get(store)
        if worker is None:
            worker = workers[store] = CoalescingWorker(purpose)
        return worker


def existing_worker(store: object, purpose: str) -> CoalescingWorker | None:
    """The store's worker for ``purpose`` if one was ever made, else None (reading status makes none)."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(purpose, {}).get(store)


def wait_for_all(store: object) -> None:
    """Block until every background worker of ``store`` is idle (``Store.close``: a run must not find its
    connection closed under it)."""
    with _REGISTRY_LOCK:
        workers = [w for by_store in _REGISTRY.values() if (w := by_store.get(store)) is not None]
    for worker in workers:
        worker.wait()
