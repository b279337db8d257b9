"""The default CLV and churn fits, refitted after a write commits instead of inside it (issue 20).

Derived tables are exact after every load; the two model fits may lag, visibly. A write records how many
customers it changed (``model_fit_state``); after it commits, the fits are refitted when their inputs changed
enough to matter: the "as of" moment moved (the page's default calibration end and churn cutoff move with it),
at least :data:`REFIT_SHARE` of the customers changed since the last fit, or the tables were rebuilt whole. The
command line and the library refit at once, in the same call (a report run after ``ingest`` reads the new fit);
the app refits in a background thread (``Store.refit_in_background``), so a load returns as soon as its data
is in, and :func:`fit_status` tells the pages which load the stored fit reflects while the new one is computed.

The stored views of the pages' default windows (``engagement.derived.DEFERRED``) are built here too, first, in a
transaction of their own: every write that changes the derived tables drops them (their rows move with "as of";
a full load does not wait for them either), and until they are back the pages run their queries on demand,
which give the same rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import duckdb

from engagement.warehouse.background import CoalescingWorker, existing_worker, worker_for

if TYPE_CHECKING:
    from engagement.warehouse.store import Store

REFIT_SHARE = 0.01  # of the customers changed since the last fit
STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS model_fit_state (fitted_through_load BIGINT, fitted_as_of TIMESTAMP, "
    "customers_changed BIGINT NOT NULL, changed_all BOOLEAN NOT NULL)"
)


def note_changed(cur: duckdb.DuckDBPyConnection, customers: int | None) -> None:
    """Record, in a write's transaction, that it changed ``customers`` customers (None: every derived table was
    rebuilt whole)."""
    cur.execute(STATE_DDL)
    if not cur.execute("SELECT count(*) FROM model_fit_state").fetchall()[0][0]:
        cur.execute("INSERT INTO model_fit_state VALUES (NULL, NULL, 0, true)")
    if customers is None:
        cur.execute("UPDATE model_fit_state SET changed_all = true")
    else:
        cur.execute("UPDATE model_fit_state SET customers_changed = customers_changed + $n", {"n": customers})


def _state(cur: duckdb.DuckDBPyConnection):
    tables = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if not {"model_fit_state", "dataset_facts", "customer_keys"} <= tables:
        return None
    row = cur.execute("SELECT * FROM model_fit_state").fetchall()
    return row[0] if row else None


def refit_due(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the stored fits' inputs changed enough since they were fitted (see the module's docstring)."""
    state = _state(cur)
    if state is None:
        return False
    _, fitted_as_of, changed, changed_all = state
    if changed_all:
        return True
    as_of = cur.execute("SELECT as_of FROM dataset_facts").fetchall()[0][0]
    if fitted_as_of != as_of:
        return True
    customers = cur.execute("SELECT count(*) FROM customer_keys").fetchall()[0][0]
    return changed > 0 and changed >= REFIT_SHARE * customers


def refit_now(store: Store, refit: Callable[[Store, duckdb.DuckDBPyConnection], None],
              restore: Callable[[Store, duckdb.DuckDBPyConnection], bool] | None = None) -> bool:
    """Refit in one write transaction when due; True when it refitted. Publishes (the store's commit hooks).

    ``restore``: the stored views the fits read (the churn features) are built first in the same transaction when
    missing: a write committed since they were restored (an undo right after a load, in the app) drops them again."""
    with store.write() as cur:
        if not refit_due(cur):
            return False
        if restore is not None:
            restore(store, cur)
        refit(store, cur)
        cur.execute(
            "UPDATE model_fit_state SET fitted_through_load = (SELECT max(load_id) FROM loads WHERE undone_at IS NULL), "
            "fitted_as_of = (SELECT as_of FROM dataset_facts), customers_changed = 0, changed_all = false"
        )
    store.run_commit_hooks()
    return True


PURPOSE = "model-refit"  # this module's background worker (engagement.warehouse.background)


def restore_now(store: Store, restore: Callable[[Store, duckdb.DuckDBPyConnection], bool],
                publish: bool = True) -> bool:
    """Build the stored views a write dropped again (``restore``: ``engagement.derived.restore_deferred``), in one
    write transaction of their own, published when it commits (unless ``publish`` is false: the caller publishes);
    True when there was anything to build."""
    with store.write() as cur:
        restored = restore(store, cur)
    if restored and publish:
        store.run_commit_hooks()
    return restored


def after_commit(store: Store, refit: Callable[[Store, duckdb.DuckDBPyConnection], None],
                 restore: Callable[[Store, duckdb.DuckDBPyConnection], bool] | None = None) -> None:
    """Called after every committed write: build the dropped stored views again (``restore``) and refit, now or
    in the background when ``store.refit_in_background`` (one at a time; a write committed during one asks for
    another after it)."""
    if store.read_only or store.defer_refits:
        return  # deferred: the next write's commit (or `python -m engagement refit`) refits
    worker = worker_for(store, PURPOSE)
    if not store.refit_in_background:
        _refit_keeping_the_previous_fit(store, refit, worker, restore)
        return
    worker.request(lambda: _refit_keeping_the_previous_fit(store, refit, worker, restore))


def _refit_keeping_the_previous_fit(store: Store, refit: Callable, worker: CoalescingWorker,
                                    restore: Callable | None = None) -> None:
    """Build the dropped stored views, then refit when due. A failure (a database error too) rolls back that step
    only: the write it follows is committed and stays (readers run a missing view's query on demand), the previous
    fit is kept, and :func:`fit_status` reports the error until a refit works."""
    try:
        # One publish for both steps (a refit publishes its own commit): a snapshot copies the whole database.
        restored = restore is not None and restore_now(store, restore, publish=False)
        if not refit_now(store, refit, restore) and restored:
            store.run_commit_hooks()
        worker.error = None
    except Exception as exc:
        worker.error = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"Refitting the default CLV and churn models failed; the previous fit is kept: {worker.error}",
                      RuntimeWarning, stacklevel=2)


def wait_for_refits(store: Store, timeout: float | None = None) -> None:
    """Block until a background refit of ``store`` has finished (benchmarks and tests)."""
    worker = existing_worker(store, PURPOSE)
    if worker is not None:
        worker.wait(timeout)


@dataclass(frozen=True)
class FitStatus:
    """Which load the stored default fits reflect, and whether newer data is being fitted."""

    fitted_through_load: int | None
    refreshing: bool
    error: str | None

    def label(self) -> str | None:
        """The caption a page shows beside a stored fit that lags the data; None when it is current."""
        if self.error:
            return (f"Model fitted with the data up to load {self.fitted_through_load}; refitting it on the newer "
                    f"data failed ({self.error}).")
        if self.refreshing:
            return f"Model fitted with the data up to load {self.fitted_through_load}; being refreshed."
        return None


def fit_status(store: Store, cursor: duckdb.DuckDBPyConnection | None = None) -> FitStatus:
    """The stored fits' state for the pages (a read: works on a read-only store too)."""
    if getattr(store, "engine_name", "duckdb") != "duckdb":  # warehouse mode fits when it opens: never lagging
        return FitStatus(None, False, None)
    cur = cursor or store.cursor()
    state = _state(cur)
    worker = existing_worker(store, PURPOSE)
    error = worker.error if worker is not None else None
    if state is None:
        return FitStatus(None, False, error)
    return FitStatus(state[0], refit_due(cur) or bool(worker and worker.running), error)


def refit_if_due(store: Store, refit: Callable[[Store, duckdb.DuckDBPyConnection], None],
                 restore: Callable[[Store, duckdb.DuckDBPyConnection], bool] | None = None) -> bool:
    """Build the dropped stored views again and refit now when due, whatever the store's mode (the `refit`
    command); True when it refitted."""
    if restore is not None:
        restore_now(store, restore)
    return refit_now(store, refit)
