"""The databases a session shows and the view data cached per data version.

The process holds one store per database file (``st.cache_resource``); view data is cached per data version
and arguments and shared by sessions (``st.cache_data``).
"""

from __future__ import annotations

import importlib
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engagement import config, metrics
from engagement.derived import DERIVED_BUILD
from engagement.ui.auth import require_access
from engagement.ui.links import from_query
from engagement.ui import warehouse as ui_warehouse
from engagement.ui.text import plain
from engagement.warehouse import access, snapshots
from engagement.warehouse.access import Actor
from engagement.warehouse.errors import StoreLockedError, StoreOutdatedError
from engagement.warehouse.query_records import QueryRecord, record_queries
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

DEMO_ACTOR = Actor("app: demo data on first start", access.ANALYST, "app")
DEMO_NOTICE = (
    "You are looking at **demo data**: a generated brand of {customers:,} customers over 24 months, "
    "with planted patterns. Load your own exports on the Data page: they start your brand's own database, and "
    "the demo stays available to explore (sidebar, *Database*)."
)

# Two databases (engagement.config): the brand's (ENGAGEMENT_DB, created by the first upload) and the demo's
# (generated on first use). A session shows the brand's once it holds data, unless the analyst picked the demo;
# uploads always go to the brand's, so demo rows (orders #100001..., USD) never mix with a real shop's.
BRAND, DEMO = "brand", "demo"
DATABASE_LABELS = {BRAND: "Your brand", DEMO: "Demo brand"}
_DATABASE_CHOICE = "_engagement_database"  # None (automatic), BRAND or DEMO for this session
_SIDEBAR_SHOWED = "_engagement_sidebar_database"  # what this run's sidebar said was shown


def get_store() -> Store:
    """The store this session shows (:func:`shown_database`), one DuckDB connection per file for the process.

    The demo's database is generated and loaded when it is first opened empty. A database that cannot be
    opened (held by another process, or read-only and built by another version) stops the page with the reason
    and the fix instead of a traceback.
    """
    require_app_shell()
    require_access()
    if _guarded(ui_warehouse.active):  # ENGAGEMENT_ENGINE=spark: the pages on Spark (engagement/ui/warehouse.py)
        return _guarded(ui_warehouse.store)
    return _guarded(lambda: _open_store(shown_database()))


def _guarded(open_store: Callable[[], Store]) -> Store:
    try:
        return open_store()
    except (StoreLockedError, StoreOutdatedError, LookupError) as exc:
        # No page can run: replace the navigation (else Streamlit lists the files in pages/) and say why.
        st.navigation([st.Page(_nothing_to_show, title="Engagement Workbench", default=True)], position="hidden")
        st.error(plain(exc))
        st.stop()


def _database_path(which: str) -> str:
    return str(config.demo_db_path() if which == DEMO else config.db_path())


_RUN_STORES = "_engagement_run_stores"  # the stores this session's current run reads, by database (app_run)
_RUN_READS = "_engagement_run_reads"  # their read transactions, by database file (writable stores)


@contextmanager
def app_run() -> Iterator[None]:
    """One run of the app (app.py runs its whole body in it): every part of the run reads the same data.

    - A read-only instance reads the writer's snapshots and moves to a newer one when it is published; a snapshot
      published during a run is read from the next run on (else the sidebar's "as of load #N" and the first cards
      showed one load and the rest of the page the next).
    - On the writing instance the run's views read one transaction, begun at its first view: a load another session
      commits meanwhile shows from the next run on. A write of this session's own (an upload on the Data page) ends
      it, so what follows in the same run shows the write.
    A fragment's rerun (no app.py) keeps the stores of the run that drew the page around it; its views read one
    transaction each."""
    _end_run_reads()
    st.session_state[_RUN_STORES], st.session_state[_RUN_READS] = {}, {}
    try:
        yield
    finally:
        _end_run_reads()
        st.session_state.pop(_RUN_READS, None)


def _run_state(key: str) -> dict | None:
    """This run's entry of ``key`` (None outside a script run or outside :func:`app_run`)."""
    return st.session_state.get(key) if get_script_run_ctx(suppress_warning=True) else None


def _run_reads(store: Store) -> Any:
    """The run's read transaction on ``store`` (begun here at its first view), or None: outside :func:`app_run`,
    and for a store whose data cannot change under the run (read-only: a snapshot, or a file no one can write)
    or that is not DuckDB's."""
    reads = _run_state(_RUN_READS)
    if reads is None or store.read_only or getattr(store, "engine_name", "duckdb") != "duckdb":
        return None
    if store.path not in reads:
        reads[store.path] = store.begin_reads()
    return reads[store.path]


def _end_run_reads(path: str | None = None) -> None:
    """Roll back and close this run's read transactions (``path``: that database's only)."""
    reads = _run_state(_RUN_READS) or {}
    for key in [k for k in reads if path is None or k == path]:
        cursor = reads.pop(key)
        try:
            cursor.execute("ROLLBACK")
        except Exception:  # noqa: BLE001  # an aborted or closed transaction: nothing to keep either way
            pass
        cursor.close()


def _own_write_committed(store: Store) -> None:
    """After a commit: a write by this session's run (its script thread) ends the run's read transaction on that
    store, so the rest of the run shows the write. Other threads (another session's run, a background refit) have
    no run of this session: nothing to do."""
    _end_run_reads(store.path)


def _open_store(which: str) -> Store:
    pinned = _run_state(_RUN_STORES)
    # A weak reference: the session does not keep a store open that the process dropped (the run's own variables
    # hold it while the run lasts).
    run_store = pinned[which]() if pinned is not None and which in pinned else None
    if run_store is not None:
        return run_store
    path = _database_path(which)
    store = _database_store(path, which == DEMO)
    if store.snapshot_of is not None:
        # A read-only instance reads the writer's snapshots: move to a newer one when it is published.
        newest = snapshots.latest(path)
        if newest is not None and newest.path != store.snapshot_of.path and newest.path.exists():
            _database_store.clear(path, which == DEMO)
            store = _database_store(path, which == DEMO)
    if pinned is not None:
        pinned[which] = weakref.ref(store)
    return store


def _readable(path: Path) -> bool:
    """Whether this instance can show the database at ``path`` (a read-only one cannot create it)."""
    return path.exists() or (config.read_only() and snapshots.latest(path) is not None)


def _brand_has_data() -> bool:
    """Whether the brand's database exists (or has read-only snapshots) and holds an active load."""
    return _readable(config.db_path()) and not _open_store(BRAND).is_empty()


def shown_database() -> str:
    """``BRAND`` or ``DEMO``: the analyst's pick (sidebar, or a link's ``?db=``), else the brand's database once
    it holds data, else the demo."""
    if _DATABASE_CHOICE not in st.session_state:
        st.session_state[_DATABASE_CHOICE] = from_query("db", lambda raw: {BRAND: BRAND, DEMO: DEMO}[raw], None)
    if st.session_state[_DATABASE_CHOICE] == DEMO:
        return DEMO
    if _brand_has_data() or (config.read_only() and not _readable(config.demo_db_path())):
        return BRAND  # a read-only instance cannot generate the demo: it shows the brand's, even empty
    return DEMO


def sidebar_database() -> None:
    """Which database the pages show, and the switch between the brand's and the demo (once the brand has data)."""
    if _guarded(ui_warehouse.active):  # warehouse mode: the brand's tables on Spark, no database to pick
        return
    shown = _guarded(shown_database)
    st.session_state[_SIDEBAR_SHOWED] = shown
    with st.sidebar:
        if not _guarded(_brand_has_data):
            st.caption(f":material/database: Showing the demo brand ({plain(_database_path(DEMO))}). The first export "
                       f"you load on the Data page starts your brand's own database ({plain(_database_path(BRAND))}).")
            return
        if config.read_only() and not _readable(config.demo_db_path()):  # nothing to switch to
            st.caption(f":material/database: {plain(_database_path(shown))}")
            return
        # Keyed by what is shown: when the Data page switches to the brand's data, the radio follows.
        picked = st.radio("Database", [BRAND, DEMO], index=[BRAND, DEMO].index(shown), horizontal=True,
                          format_func=DATABASE_LABELS.get, key=f"_database_picker_{shown}",
                          help="Your brand's data, or the generated demo brand to explore. They never mix: "
                               "uploads always go to your brand's database.")
        st.caption(f":material/database: {plain(_database_path(shown))}")
    st.query_params["db"] = shown  # a shared link opens the same database
    if picked != shown:
        st.session_state[_DATABASE_CHOICE] = picked
        st.rerun()


def upload_store() -> Store:
    """The Data page's store: the brand's database, where every upload, mapping and undo goes (created here on
    first use), whatever the other pages show. A read-only instance shows what the pages show."""
    require_app_shell()
    require_access()
    if config.read_only() or shown_database() == BRAND:
        return get_store()
    st.caption(f":material/database: The other pages show the demo brand. Exports you load here go to your brand's "
               f"own database ({plain(_database_path(BRAND))}), never into the demo; the pages then show it.")
    return _guarded(lambda: _open_store(BRAND))


def after_load(result: Any) -> None:
    """After the Data page loaded a file into the brand's database: show it on every page (rerun when the
    session was showing the demo, so the sidebar says so too)."""
    if getattr(result, "status", None) != "loaded":
        return
    st.session_state[_DATABASE_CHOICE] = None  # automatic: the brand's database, now that it holds data
    if st.session_state.get(_SIDEBAR_SHOWED) != BRAND:  # the sidebar, drawn before the load, says otherwise
        st.rerun()


def _nothing_to_show() -> None:
    return None


@st.cache_resource(show_spinner="Opening the database…")
def _database_store(path: str, demo: bool) -> Store:
    if config.read_only() and snapshots.latest(path) is not None:
        # Never hold the database file itself: the writing app (or a CLI load) must be able to open it.
        store = snapshots.open_latest(path, derived=DERIVED_BUILD)
    elif config.read_only() and not Path(path).exists():
        raise LookupError(f"No database at {path}: a read-only instance cannot create it. Load an export (or run "
                          f"`python -m engagement demo`) from an instance that may write.")
    else:
        store = open_workbench(path, read_only=config.read_only())
    if store.read_only:
        try:
            store.require_current_derived()
        except StoreOutdatedError:
            store.close()
            raise
    elif demo and store.is_empty():
        from engagement.intake.ingest import ingest_demo

        ingest_demo(store, actor=DEMO_ACTOR)
    if not store.read_only:
        store.actor_required = True  # every write from a session names its signed-in user (current_actor)
        store.refit_in_background = True  # a load returns when its data is in; the model fits follow (issue 20)
        DERIVED_BUILD.after_commit(store)  # fits a CLI load left lagging (ingest --defer-fits) start refitting now
        snapshots.enable(store, keep=config.snapshots_kept(), background=True)
        store.after_commit.append(_own_write_committed)
    return store


def _process_store() -> Store:
    """The brand's store (what tests inspect after driving the Data page)."""
    return _open_store(BRAND)


# Tests reopen the databases after replacing a file (every cached store is dropped).
get_store.clear = _process_store.clear = _database_store.clear  # type: ignore[attr-defined]


def data_version(store: Store) -> str:
    """Changes whenever a load or an undo commits, so cached view data is never stale.

    The database file is part of it: a read-only instance moving to a newer snapshot, or two databases
    served by one process, never share cached results that happen to have the same load count.
    """
    if getattr(store, "engine_name", "duckdb") == "spark":
        return ui_warehouse.data_version(store)
    row = (_run_reads(store) or store.cursor()).execute(
        "SELECT coalesce(max(load_id), 0), count(undone_at) FROM loads"
    ).fetchall()[0]
    return f"{store.path}:{row[0]}-{row[1]}"


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(module: str, name: str, version: str, args: tuple, kwargs: tuple) -> tuple[Any, tuple]:
    """The result and the SQL files (with parameters) the call ran, for "Show SQL" and notebooks."""
    function = getattr(importlib.import_module(module), name)
    store = get_store()
    # One read transaction per view (the run's, app_run): its queries all see the same committed data even while
    # a load commits, the data its version names.
    reads = _run_reads(store)
    try:
        with record_queries() as queries, store.snapshot(reads):
            result = function(store, *args, **dict(kwargs))
    except duckdb.Error:
        # The error aborted the run's transaction: the run's next views begin another instead of failing too.
        if reads is not None:
            _end_run_reads(store.path)
        raise
    return result, tuple(queries)


def _cached_run(function: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, tuple]:
    store = get_store()
    return _cached_call(function.__module__, function.__qualname__, data_version(store), args,
                        tuple(sorted(kwargs.items())))


def view_data(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function(store, *args, **kwargs)`` once per data version and arguments, shared by sessions."""
    return _cached_run(function, args, kwargs)[0]


def view_queries(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[QueryRecord, ...]:
    """The SQL files and parameters ``view_data(function, *args, **kwargs)`` ran (from the same cache)."""
    return _cached_run(function, args, kwargs)[1]


def require_app_shell() -> None:
    """Make sure this page runs inside app.py's navigation, even from a deep link.

    A link such as ``/cohorts?grain=week`` opened before anyone has loaded ``/`` on a freshly started
    server reaches Streamlit's legacy ``pages/`` mode (its class-wide ``uses_pages_directory`` flag is
    only cleared by the first ``st.navigation`` call), which runs the page alone: no sidebar filters,
    no banner. Clearing the flag and rerunning runs app.py, which routes to the same page and keeps the
    query parameters. Every page reaches it first, through :func:`get_store` or :func:`current_filters`.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest resets the flag before every run and drives pages itself; a rerun there would only
    # swallow the simulated clicks. Its runtime is a mock, which real servers never have.
    under_app_test = type(getattr(Runtime, "_instance", None)).__name__ == "MagicMock"
    if PagesManager.uses_pages_directory and not under_app_test:
        PagesManager.uses_pages_directory = False
        st.rerun()


def money_in_orders_currency(store: Store) -> None:
    """Every amount this run shows is in the loaded orders' currency (``metrics.money``, the charts' locale); when
    the orders hold several (a warehouse table, read as it is), the sidebar says the sums add them unconverted."""
    from engagement.value.currency import NO_CURRENCY_NOTE, order_currencies, orders_without_currency

    codes = view_data(order_currencies)
    metrics.set_currency(codes)
    if not codes and view_data(orders_without_currency):
        st.sidebar.caption(NO_CURRENCY_NOTE)
    if len(codes) > 1:
        st.sidebar.warning(plain(f"The orders are in {len(codes)} currencies ({', '.join(codes)}): amounts add "
                                 f"them as they are, unconverted, and show the codes ({metrics.money(1234.5)})."),
                           icon=":material/currency_exchange:")


def demo_banner(store: Store) -> None:
    if store.is_demo():
        customers = store.cursor().execute("SELECT count(*) FROM customers").fetchall()[0][0]
        st.info(DEMO_NOTICE.format(customers=int(customers)))
