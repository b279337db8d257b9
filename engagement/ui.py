"""Streamlit glue: the only module of the library that imports streamlit.

It holds the process-wide store, the shared sidebar filters mirrored in the URL's query parameters
(so a copied link reopens the same view), cached view data, and small rendering helpers that every
page uses the same way.
"""

from __future__ import annotations

import importlib
import math
import re
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import pandas as pd
import streamlit as st

from engagement import config, ui_warehouse
from engagement.warehouse import access
from engagement.warehouse.access import Actor, WriteRefused
from engagement.exports import to_safe_csv
from engagement.filters import Filters
from engagement.warehouse.store import QueryRecord, Store, StoreLockedError, StoreOutdatedError, record_queries
from engagement.derived import DERIVED_BUILD
from engagement.warehouse import snapshots
from engagement.workbench import open_workbench

if TYPE_CHECKING:
    from engagement.notebook.export import LibraryCall, ViewRecipe

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
    if _guarded(ui_warehouse.active):  # ENGAGEMENT_ENGINE=spark: the pages on Spark (engagement/ui_warehouse.py)
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


def _open_store(which: str) -> Store:
    path = _database_path(which)
    store = _database_store(path, which == DEMO)
    if store.snapshot_of is not None:
        # A read-only instance reads the writer's snapshots: move to a newer one when it is published.
        newest = snapshots.latest(path)
        if newest is not None and newest.path != store.snapshot_of.path and newest.path.exists():
            _database_store.clear(path, which == DEMO)
            store = _database_store(path, which == DEMO)
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
        st.session_state[_DATABASE_CHOICE] = _from_query("db", lambda raw: {BRAND: BRAND, DEMO: DEMO}[raw], None)
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
    row = store.cursor().execute(
        "SELECT coalesce(max(load_id), 0), count(undone_at) FROM loads"
    ).fetchall()[0]
    return f"{store.path}:{row[0]}-{row[1]}"


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(module: str, name: str, version: str, args: tuple, kwargs: tuple) -> tuple[Any, tuple]:
    """The result and the SQL files (with parameters) the call ran, for "Show SQL" and notebooks."""
    function = getattr(importlib.import_module(module), name)
    store = get_store()
    # One snapshot per view: its queries all see the same committed data even while a load commits.
    with record_queries() as queries, store.snapshot():
        result = function(store, *args, **dict(kwargs))
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


# ------------------------------------------------------------ text from data
# CommonMark lets a backslash escape any ASCII punctuation, and Streamlit's renderer (markdown, widget
# labels, metric labels, expander titles, radio options) honours it. Escaping the characters that open
# inline markup leaves no link, image, HTML tag, emphasis, code, math or :colour[...] directive (``[``
# escaped, ``](`` means nothing); block markers (#, >, -, +, =, "1.") only act at the start of a
# line. Other punctuation stays as it is, so ordinary text reads and compares unchanged.
_INLINE_ESCAPES = {ord(ch): "\\" + ch for ch in "\\`*_[]<>~$&|"}
# ":red" alone is a text directive (an empty coloured span), ":material/x:" an icon: escape a colon before a letter.
_DIRECTIVE = re.compile(r":(?=[A-Za-z])")
_LINE_START = re.compile(r"^([ \t]*)([#+=-]|\d+(?=[.)]))", re.MULTILINE)
# GitHub-flavoured markdown also turns bare URLs and e-mail addresses into links, after escapes are
# resolved (it searches the text itself), so no escape stops it: an invisible WORD JOINER (U+2060)
# between "http:" and "//", "www" and ".", and after "@" breaks the patterns without changing what is read.
_AUTOLINK_SPOTS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(value: Any) -> str:
    r"""``value`` as text that every Streamlit call rendering markdown shows literally.

    Use it for every string that came from data (files, the database, the URL) before it reaches
    ``st.markdown``/``st.caption``/``st.error``/…, a widget or metric label, or an expander title:
    ``st.caption(f"Loaded from {ui.plain(file_name)}")``.

    >>> print(plain("[refund](http://x) **b**").replace(WORD_JOINER, ""))
    \[refund\](http://x) \*\*b\*\*
    >>> print(plain("# not a heading\n2. nor a list"))
    \# not a heading
    2\. nor a list
    """
    text = _AUTOLINK_SPOTS.sub(WORD_JOINER, str(value)).translate(_INLINE_ESCAPES)
    text = _DIRECTIVE.sub(r"\\:", text)
    # "# x" -> "\# x"; "1. x" -> "1\. x" (the digits stay, the dot after them is escaped)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit() else "\\" + m.group(2)),
                           text)


# -------------------------------------------------------- URL-mirrored state
LINK_NOTICE = "This link's value for {key} ({value}) is not one this page knows; showing {default} instead."
_LINK_VALUE_SHOWN = 60  # characters of a refused value quoted back in the notice


class _Refused(ValueError):
    """A query-parameter value that parsed but is not acceptable (out of range, not finite)."""


def link_notice(key: str, raw: str, default: Any) -> None:
    """The short notice a refused query-parameter value gets: the page goes on with the default."""
    shown = raw if len(raw) <= _LINK_VALUE_SHOWN else raw[:_LINK_VALUE_SHOWN] + "…"
    empty = default is None or (isinstance(default, (str, list, tuple)) and not default)
    default_text = "the default" if empty else f"'{default}'"
    st.warning(plain(LINK_NOTICE.format(key=key, value=repr(shown), default=default_text)), icon=":material/link_off:")


def _from_query(key: str, parse: Callable[[str], Any], default: Any) -> Any:
    """The URL's value for ``key`` parsed by ``parse``; on a missing value the default, on a value
    ``parse`` refuses (any exception: a shared link must never crash a page) the default with a notice."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        return parse(raw)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the link falls back to the default
        link_notice(key, raw, default)
        return default


# Streamlit forgets a widget's value when a run does not draw it (another page was shown) and clears the URL's
# query parameters on a page switch, so every synced widget also keeps its last value here, in the session:
# coming back to a page shows the settings it was left with (and writes them to the URL again). A link's value
# still wins over the remembered one: opening a shared link shows what it says.
_REMEMBERED = "_engagement_remembered_settings"


def _remembered(key: str, default: Any, valid: Callable[[Any], bool] = lambda value: True) -> Any:
    """The value the widget ``key`` had when this session last drew it, when still ``valid``; else ``default``."""
    remembered = st.session_state.get(_REMEMBERED, {})
    if key in remembered and valid(remembered[key]):
        return remembered[key]
    return default


def _remember(key: str, value: Any) -> None:
    st.session_state.setdefault(_REMEMBERED, {})[key] = value


def _initial(key: str, parse: Callable[[str], Any], default: Any,
             valid: Callable[[Any], bool] = lambda value: True) -> Any:
    """A widget's value when this run draws it afresh: the URL's, else the remembered one, else ``default``."""
    return _from_query(key, parse, _remembered(key, default, valid))


# Radio buttons, segmented controls and pills render their option labels as markdown; selectboxes and
# multiselects show them as text.
_MARKDOWN_OPTION_WIDGETS = ("radio", "segmented_control", "pills")


def synced_choice(label: str, options: Sequence[Any], key: str, default: Any = None,
                  widget: Callable[..., Any] | None = None, **widget_kwargs: Any) -> Any:
    """A single-choice widget whose value lives in the URL as ``?key=value``.

    ``widget`` is ``st.selectbox`` (default), ``st.radio`` or ``st.segmented_control``; options are
    compared as strings in the URL.
    """
    options = list(options)
    widget = widget or st.selectbox
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        fallback = default if default in options else (options[0] if options else None)
        st.session_state[key] = _initial(key, lambda raw: by_text[raw], fallback, lambda value: value in options)
    elif st.session_state[key] not in options and options:
        st.session_state[key] = default if default in options else options[0]
    if getattr(widget, "__name__", "") in _MARKDOWN_OPTION_WIDGETS:  # these render their options as markdown
        shown = widget_kwargs.pop("format_func", str)
        widget_kwargs["format_func"] = lambda option: plain(shown(option))
    value = widget(label, options, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = str(value)
    return value


def synced_number(label: str, key: str, default: float, widget: Callable[..., Any] | None = None,
                  **widget_kwargs: Any) -> Any:
    """A number input or slider whose value lives in the URL as ``?key=value``."""
    widget = widget or st.number_input
    low, high = widget_kwargs.get("min_value"), widget_kwargs.get("max_value")

    def parse(raw: str) -> float:
        value = type(default)(raw)
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            raise _Refused(raw)
        return value

    def in_range(value: Any) -> bool:  # a remembered value from before the page changed its bounds is dropped
        return (low is None or value >= low) and (high is None or value <= high)

    if key not in st.session_state:
        st.session_state[key] = _initial(key, parse, default, in_range)
    value = widget(label, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = str(value)
    return value


def _split(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


def _known_parts(raw: str, known: Sequence[str]) -> list[str]:
    parts = _split(raw)
    if any(part not in known for part in parts):
        raise _Refused(raw)
    return parts


def synced_text(label: str, key: str, default: str = "", **widget_kwargs: Any) -> str:
    """A text input whose value lives in the URL as ``?key=text`` (left out of the URL when empty)."""
    if key not in st.session_state:
        st.session_state[key] = _initial(key, str, default)
    value = st.text_input(label, key=key, **widget_kwargs)
    _remember(key, value)
    if value:
        st.query_params[key] = value
    elif key in st.query_params:
        del st.query_params[key]
    return value


def synced_multichoice(label: str, options: Sequence[Any], key: str, default: Sequence[Any] = (),
                       **widget_kwargs: Any) -> list[Any]:
    """A multiselect whose values live in the URL as ``?key=a,b``."""
    options = list(options)
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        fallback = [d for d in default if d in options]
        remembered = [v for v in _remembered(key, fallback) if v in options]
        st.session_state[key] = _from_query(key, lambda raw: [by_text[p] for p in _split(raw)], remembered)
    else:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    value = st.multiselect(label, options, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = ",".join(map(str, value))
    return value


def sidebar_filters(store: Store) -> Filters:
    """Shared sidebar: date range, acquisition channel and customer segment, mirrored in the URL."""
    from engagement.value.kpis import data_range, default_filters

    range_ = view_data(data_range)
    defaults = default_filters(range_)
    low = range_.first_order_date or defaults.start
    high = range_.last_order_date or defaults.end
    if st.session_state.get("_filters_database") not in (None, store.path):
        # Another database is shown now (the sidebar's switch, a first upload): the other one's dates and
        # channels mean nothing here, in the session or in the URL.
        for key in ("date_range", "channels", "segments"):
            st.session_state.pop(key, None)
        for key in ("start", "end", "channel", "segment"):
            st.query_params.pop(key, None)
    st.session_state["_filters_database"] = store.path

    if "date_range" not in st.session_state:
        start = _from_query("start", date.fromisoformat, defaults.start)
        end = _from_query("end", date.fromisoformat, defaults.end)
        start, end = max(min(start, high), low), min(max(end, low), high)
        st.session_state["date_range"] = (start, max(start, end))
    for key, state_key, known in (("channel", "channels", range_.channels), ("segment", "segments", range_.segments)):
        if state_key not in st.session_state:
            st.session_state[state_key] = _from_query(key, lambda raw, known=known: _known_parts(raw, known), [])

    with st.sidebar:
        st.subheader("Filters")
        picked = st.date_input("Date range", key="date_range", min_value=low, max_value=high,
                               help="Orders and answers in these days (end included). KPIs compare with "
                                    "the same number of days just before.")
        channels = st.multiselect("Acquisition channel", range_.channels, key="channels",
                                  placeholder="All channels")
        segments = st.multiselect("Customer segment (lifecycle stage)", range_.segments, key="segments",
                                  placeholder="All segments")
    # While a range is being picked the widget briefly holds one date.
    start = picked[0] if len(picked) > 0 else defaults.start
    end = picked[1] if len(picked) > 1 else start
    filters = Filters(start=start, end=end, channels=tuple(channels), segments=tuple(segments))
    st.session_state["filters"] = filters
    write_filters_to_url(filters)
    return filters


def write_filters_to_url(filters: Filters) -> None:
    st.query_params["start"] = filters.start.isoformat()
    st.query_params["end"] = filters.end.isoformat()
    for key, values in (("channel", filters.channels), ("segment", filters.segments)):
        if values:
            st.query_params[key] = ",".join(values)
        elif key in st.query_params:
            del st.query_params[key]


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


def current_filters() -> Filters:
    """The sidebar selection of this run (set by app.py before the page runs)."""
    require_app_shell()
    require_access()
    return st.session_state["filters"]


# ------------------------------------------------------------- phone layout
# The server never learns the screen's width, so the phone layout is CSS: below Streamlit's own 640 px column
# breakpoint (where st.columns stack), a "phone_first" container moves to the top of the container holding it
# (flex order), "wide_only" blocks hide and "phone_only" blocks show. The CSS is a literal: no data in it.
# Streamlit wraps a keyed container in a layout wrapper: the wrapper is the flex item that moves or hides.
_PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-phone_first_"]) { order: -1; }
  [data-testid="stVegaLiteChart"] { overflow-x: auto; }  /* a chart of fixed width scrolls, not the page */
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-wide_only_"]), [class*="st-key-wide_only_"] {
    display: none !important;
  }
}
@media (min-width: 641px) {
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-phone_only_"]), [class*="st-key-phone_only_"] {
    display: none !important;
  }
}
</style>"""


def phone_layout() -> None:
    """The phone rules above, for every page (app.py calls it on every run, before the page)."""
    st.html(_PHONE_CSS)  # style-only HTML takes no space on the page


@contextmanager
def phone_first(name: str) -> Iterator[None]:
    """A container that a phone shows first among its siblings (wrap both in one ``st.container()``):
    ``with st.container(): cards(); with ui.phone_first("charts"): charts()`` shows the charts above the cards
    on a phone, below them on a wide screen."""
    with st.container(key=f"phone_first_{name}"):
        yield


@contextmanager
def wide_only(name: str) -> Iterator[None]:
    """A container shown on screens wider than 640 px only (a heatmap whose labels a phone cannot fit)."""
    with st.container(key=f"wide_only_{name}"):
        yield


@contextmanager
def phone_only(name: str) -> Iterator[None]:
    """A container shown on screens up to 640 px wide only (the table that replaces a wide chart there)."""
    with st.container(key=f"phone_only_{name}"):
        yield


# ------------------------------------------------------------------ helpers
def demo_banner(store: Store) -> None:
    if store.is_demo():
        customers = store.cursor().execute("SELECT count(*) FROM customers").fetchall()[0][0]
        st.info(DEMO_NOTICE.format(customers=int(customers)))


def download_csv(frame: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for ``frame`` as CSV, neutralised against spreadsheet formula injection."""
    st.download_button(label, to_safe_csv(frame), file_name=file_name, mime="text/csv", key=key or file_name)


def download_csv_on_click(make_frame: Callable[[], pd.DataFrame], file_name: str, label: str = "Download CSV",
                          key: str | None = None) -> None:
    """A download button whose CSV is built only when clicked (for lists too big to build on every rerun).

    ``make_frame`` runs on another thread without Streamlit context: give it the store, not ``st`` calls.
    """
    st.download_button(label, lambda: to_safe_csv(make_frame()), file_name=file_name, mime="text/csv",
                       key=key or file_name, on_click="ignore")


def rounds_to_zero(change: float, unit: str) -> bool:
    """True when ``change`` shows as zero at :func:`format_value`'s precision (shares in points)."""
    if change != change:
        return False
    step = {"share": 0.0005, "money": 0.005, "score": 0.5}.get(unit, 0.05 if abs(change) < 100 else 0.5)
    return abs(change) < step


def format_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "money":
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if unit == "days":  # a tenth of a day matters when the typical gap is a week
        return f"{value:,.1f} days" if abs(value) < 100 else f"{value:,.0f} days"
    if unit == "score":
        return f"{value:+.0f}"
    return f"{value:,.2f}"


# ------------------------------------------------------------------ tables
def table_config(frame: pd.DataFrame, units: dict[str, str] | None = None,
                 keep: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame to show (shares x 100) and Streamlit column configuration: every column labelled, numbers with
    thousands separators and the registry's rounding (``engagement/table_format.py``). Columns in ``keep`` are
    configured by the page: shown as they are."""
    from engagement.table_format import column_formats, shown_frame

    formats = {c: f for c, f in column_formats(frame, units).items() if c not in keep}
    config = {}
    for column, spec in formats.items():
        if spec.printf is not None:
            config[column] = st.column_config.NumberColumn(plain(spec.label), format=spec.printf)
        elif spec.date_format is not None:
            config[column] = st.column_config.DatetimeColumn(plain(spec.label), format=spec.date_format)
        else:
            config[column] = st.column_config.Column(plain(spec.label))
    return shown_frame(frame, formats), config


def table(frame: Any, *, units: dict[str, str] | None = None, column_config: dict[str, Any] | None = None,
          container: Any = None, **kwargs: Any) -> None:
    """``st.dataframe`` formatted like a spreadsheet (:func:`table_config`); ``column_config`` entries given by
    the page win (a progress bar, a wider text column). Index hidden and full width unless said otherwise."""
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    shown, config = table_config(frame, units, keep=tuple(column_config or ()))
    config.update(column_config or {})
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    (container if container is not None else st).dataframe(shown, column_config=config, **kwargs)


# ------------------------------------------------------- charts and annotations
def chart(figure: Any, *, n: str, key: str, container: Any = None, settings: str = "") -> None:
    """Draw an Altair chart across its column, with "Export" offering it as PNG and SVG for slides.

    The file carries the chart's title, the sidebar's date range and filters, ``n`` ("n = 1,234 orders") and
    ``settings`` (the page's own choices, "weekly cohorts") stamped on it (``charts/export.py``). Rendered
    only when a button is clicked: vl-convert takes about a second per chart.
    """
    import functools

    from engagement.charts.export import (EXPORT_LABELS, FORMATS, ChartStamp, chart_title, describe_filters,
                                          export_chart, file_stem)

    place = container if container is not None else st
    place.altair_chart(figure, width="stretch")
    filters = st.session_state.get("filters")
    period, chosen = describe_filters(filters) if filters is not None else ("", "")
    stamp = ChartStamp(date_range=period, filters=chosen, n=n, settings=settings)
    stem = file_stem(chart_title(figure))
    with place.popover("Export chart", icon=":material/download:"):
        st.caption("The image carries the chart's title, date range, filters and n.")
        for fmt, mime in FORMATS.items():
            st.download_button(EXPORT_LABELS[fmt], functools.partial(export_chart, figure, stamp, fmt),
                               file_name=f"{stem}.{fmt}", mime=mime, on_click="ignore", key=f"{key}-{fmt}")


def annotations() -> pd.DataFrame:
    """The annotations dated in the sidebar's date range, for the time-series charts (read on every run:
    a note just added shows at once; the table is a handful of rows)."""
    from engagement.leadership.annotations import list_annotations

    filters = st.session_state.get("filters")
    return list_annotations(ui_warehouse.settings_store(get_store()), filters.start if filters else None, filters.end if filters else None)


def sidebar_annotations(store: Store) -> None:
    """A sidebar expander listing the annotations of the date range; analysts add and remove them here."""
    from engagement.leadership.annotations import AnnotationError, add_annotation, remove_annotation

    notes, store = annotations(), ui_warehouse.settings_store(store)
    with st.sidebar.expander(f"Annotations ({len(notes):,} in range)", icon=":material/bookmark:"):
        st.caption("Dated notes (a campaign launch, a price change, Black Friday) drawn on every time-series "
                   "chart. Also `python -m engagement annotations`.")
        for row in notes.itertuples():
            left, right = st.columns([5, 1])
            left.text(f"{row.noted_on:%d %b %Y}: {row.note}")  # st.text: a note is data, never markdown
            if can_write(store) and right.button("", icon=":material/delete:", help="Remove this annotation",
                                                 key=f"annotation-remove-{row.annotation_id}"):
                try:
                    remove_annotation(store, row.annotation_id, actor=current_actor())
                except (AnnotationError, WriteRefused) as exc:
                    st.error(plain(exc))
                else:
                    st.rerun()
        if not can_write(store):
            st.caption("Only analysts can add annotations (this session cannot write).")
            return
        with st.form("annotation-add", clear_on_submit=True, border=False):
            day = st.date_input("Date", value=None, format="YYYY-MM-DD")
            note = st.text_input("Note", max_chars=200, placeholder="Black Friday sale starts")
            added = st.form_submit_button("Add annotation", icon=":material/add:")
        if added:
            try:
                add_annotation(store, day, note, actor=current_actor())
            except (AnnotationError, WriteRefused) as exc:
                st.error(plain(exc))
            else:
                st.rerun()  # every chart of the page draws it


# ------------------------------------------------- "Show SQL" and notebooks
def view_recipe(title: str, *calls: "LibraryCall", filters: Filters | None = None,
                description: str = "") -> "ViewRecipe":
    """A view's recipe: its library calls, each with the SQL it ran (taken from the ``view_data`` cache).

    Call it after the page's ``view_data`` calls with the same arguments (then it costs nothing):
    ``recipe = ui.view_recipe("Cohorts", LibraryCall.of(retention_matrix, filters), filters=filters)``.
    """
    from engagement.notebook.export import ViewRecipe

    filled = tuple(c.with_queries(view_queries(c.callable, *c.args, **dict(c.kwargs))) for c in calls)
    return ViewRecipe(title=title, calls=filled, filters=filters, description=description)


def show_sql(recipe: "ViewRecipe", label: str = "Show SQL") -> None:
    """An expander with every SQL file the view ran, its bound parameters, and the SQL text."""
    from engagement.notebook.export import sql_text

    queries = recipe.queries()
    store = get_store()
    spark = getattr(store, "engine_name", "duckdb") == "spark"  # warehouse mode: the translated SQL ran
    with st.expander(label):
        if not queries and not recipe.sql_cells:
            st.caption("This view ran no SQL of its own.")
        elif queries:
            st.caption("Ran on Spark (warehouse mode): each SQL file, then the Spark SQL that ran."
                       if spark else "Ran on DuckDB (the embedded engine).")
        for query in queries:
            st.code(sql_text(query), language="sql")
            if spark:
                st.code(ui_warehouse.spark_sql(store, query), language="sql")
        for number, sql in enumerate(recipe.sql_cells, start=1):
            st.code(f"-- cell {number}\n{sql.strip()}", language="sql")


def notebook_download(recipe: "ViewRecipe", label: str = "Open as notebook", key: str | None = None) -> None:
    """A download button for the view as a Jupyter notebook (same filters, same library calls, its SQL)."""
    import functools
    import os

    from engagement.notebook.export import file_name, notebook_text

    store = get_store()
    path = store.path if store.path == ":memory:" else os.path.abspath(store.path)
    name = file_name(recipe)
    # Built only when clicked (no nbformat import or notebook on every run), without a rerun.
    opener = ui_warehouse.notebook_opener(store)  # warehouse mode: the notebook opens the same tables on Spark
    st.download_button(label, functools.partial(notebook_text, recipe, path, opener), file_name=name,
                       mime="application/x-ipynb+json", on_click="ignore",
                       key=key or f"notebook-{name}", icon=":material/download:",
                       help="A Jupyter notebook that recomputes this view with the engagement library "
                            "and shows the SQL it ran.")


def view_exports(recipe: "ViewRecipe", key: str | None = None) -> None:
    """"Open as notebook" and "Show SQL": what every view ends with."""
    notebook_download(recipe, key=key)
    show_sql(recipe)


# ------------------------------------------------- forms that write (the Experiments page's metadata)
def experiment_metadata_form(experiment_id: str, meta: "ExperimentMetadata | None") -> None:
    """Analysts describe the experiment; the row is saved through the validated load path (a new load)."""
    from engagement.experiments.catalog import METADATA_METRICS, ExperimentMetadata
    from engagement.intake.experiment_metadata import save_metadata
    from engagement.experiments.options import ExperimentInputError

    store = get_store()
    meta = meta or ExperimentMetadata(experiment_id, "")
    with st.expander("Experiment metadata" + ("" if meta.name else " (not described yet)"), expanded=not meta.name):
        if meta.hypothesis:
            st.caption(f"Hypothesis: {plain(meta.hypothesis)}")
        if not can_write(store):
            st.caption("Only analysts can describe experiments here (this session cannot write); metadata can also "
                       "be loaded as an experiments export.")
            return
        with st.form(f"experiments_meta_{experiment_id}"):
            a, b = st.columns(2)
            name = a.text_input("Name", meta.name)
            programme = b.text_input("Programme (in program_costs; ROI charges it)", meta.programme)
            hypothesis = st.text_area("Hypothesis", meta.hypothesis, height=68)
            c, d, e = st.columns(3)
            primary = c.selectbox("Primary metric", ["", *METADATA_METRICS],
                                  index=([""] + list(METADATA_METRICS)).index(meta.primary_metric)
                                  if meta.primary_metric in METADATA_METRICS else 0)
            guardrails = d.multiselect("Guardrail metrics", list(METADATA_METRICS),
                                       [g for g in meta.guardrail_metrics.split(",") if g in METADATA_METRICS])
            split = e.text_input("Intended split", meta.intended_split, placeholder="control=50,treatment=50")
            f, g, h = st.columns(3)
            planned = f.number_input("Planned units per arm (0 = not planned)", min_value=0, step=100,
                                     value=int(meta.planned_units or 0))
            start = g.date_input("Start", meta.start_date)
            end = h.date_input("End", meta.end_date)
            saved = st.form_submit_button("Save metadata")
        if saved:
            edited = ExperimentMetadata(experiment_id, name.strip(), hypothesis.strip(), programme.strip(), primary,
                                        ",".join(guardrails), split.strip(), int(planned) or None, start, end)
            try:
                result = save_metadata(store, edited, actor=current_actor())
            except (ExperimentInputError, ValueError, WriteRefused) as exc:
                st.error(plain(exc))
            else:
                st.success(f"Saved as load #{result.load_id:,}.")


def experiment_list_and_metadata(experiment_id: str, options: Any, split_typed: bool, planned_typed: bool) -> Any:
    """The Experiments page's list of every loaded experiment (as ``report experiments``) and the chosen one's
    metadata form; returns ``options`` with the metadata's split and planned units where none was typed."""
    from engagement.experiments.catalog import experiments_list, metadata_for, options_with_metadata

    listing = view_data(experiments_list)
    with st.expander("All experiments", expanded=False):
        table(listing, column_config={"srm_p_value": st.column_config.NumberColumn("SRM p", format="%.3f")})
        st.caption("One row per loaded experiment (also `report experiments`): dates and programme from its "
                   "metadata (assignment dates otherwise), sample-ratio status against the intended split "
                   "(p < 0.001 = mismatch), and the verdict of its primary metric (conversion when none is set) "
                   "with the default settings.")
    meta = view_data(metadata_for, experiment_id)
    experiment_metadata_form(experiment_id, meta)
    return options_with_metadata(options, meta, split_typed=split_typed, planned_typed=planned_typed)


def revenue_relation_caption(results: Sequence[Any]) -> None:
    """The CUPED revenue lift beside the unadjusted difference the ROI page quotes (nothing without one)."""
    from engagement.experiments.catalog import revenue_relation

    if relation := revenue_relation(results):
        st.caption(plain(relation))


# ------------------------------------------------------ sign-in and roles
DEMO_ACTOR = Actor("app: demo data on first start", access.ANALYST, "app")
NEXT_LINK_KEY = "engagement.next"
# The deep link a signed-out visitor opened, kept in the tab's sessionStorage across the identity
# provider's round trip (Streamlit's callback returns to the base URL), then reopened once signed in.
# Only same-site paths are kept or followed ("/x", never "//host" or "https://...").
_REMEMBER_LINK_JS = """<script>
const here = window.location.pathname + window.location.search + window.location.hash;
if (here.startsWith('/') && !here.startsWith('//')) { sessionStorage.setItem('%s', here); }
</script>""" % NEXT_LINK_KEY
_RESTORE_LINK_JS = """<script>
const next = sessionStorage.getItem('%s');
sessionStorage.removeItem('%s');
const here = window.location.pathname + window.location.search + window.location.hash;
if (next && next.startsWith('/') && !next.startsWith('//') && next !== here) { window.location.replace(next); }
</script>""" % (NEXT_LINK_KEY, NEXT_LINK_KEY)


def auth_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (sign-in through OpenID Connect)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_data(show_spinner=False, ttl=30)
def _role_table(path: str, modified: float) -> access.RoleTable:
    return access.load_roles(path)


def _roles() -> access.RoleTable:
    import os

    path = os.environ.get(access.ROLES_FILE_ENV, "").strip()
    if not path:
        return access.RoleTable({})
    try:
        modified = os.stat(path).st_mtime
    except OSError:
        modified = -1.0  # load_roles says the file cannot be read
    return _role_table(path, modified)


def current_actor() -> Actor | None:
    """Who this session acts as, from the identity provider's claims (never from widgets or the URL).

    None: sign-in is configured and nobody is signed in. Without ``[auth]``, anyone with the URL is an
    analyst (local use). ``ENGAGEMENT_READ_ONLY=1`` makes everyone a viewer.
    """
    if not auth_configured():
        actor = access.LOCAL_ACTOR
    elif not st.user.is_logged_in:
        return None
    else:
        email = st.user.get("email")
        verified = st.user.get("email_verified")
        verified = verified is True or str(verified).lower() == "true"
        actor = Actor(str(email or st.user.get("sub") or "unknown user"), _roles().role_for(email, verified), "oidc")
    return actor.as_viewer() if config.read_only() else actor


def can_write(store: Store) -> bool:
    """Whether this session may see controls that write (the store checks again when they are used)."""
    actor = current_actor()
    return not store.read_only and actor is not None and actor.can_write


def _login_buttons() -> None:
    auth = st.secrets["auth"]
    named = [key for key, value in auth.items() if hasattr(value, "keys")]
    providers = [None] if "client_id" in auth or not named else named
    for provider in providers:
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        st.button(label, type="primary", on_click=st.login, args=(provider,) if provider else (),
                  icon=":material/login:", key=f"sign_in_{provider or 'default'}")


def has_access() -> bool:
    """Whether this session may see data (signed in with a role, or no sign-in configured)."""
    try:
        actor = current_actor()
    except access.RolesFileError:
        return False
    return actor is not None and actor.role is not None


def require_access() -> None:
    """Stop the run unless this session may see data: the sign-in page, or a "no role" page. Shows nothing else."""
    try:
        actor = current_actor()
    except access.RolesFileError as exc:
        st.title("Engagement Workbench")
        st.error(plain(exc))
        st.stop()
    if actor is None:
        st.title("Engagement Workbench")
        st.write("Sign in to see this workbench. After signing in you return to the page you opened.")
        _login_buttons()
        st.html(_REMEMBER_LINK_JS, unsafe_allow_javascript=True)
        st.stop()
    if actor.role is None:
        st.title("Engagement Workbench")
        st.text(f"You are signed in as {actor.name}, but this workbench has no role for that address.")
        st.write("An administrator adds addresses (or `*@domain` for verified addresses) to the roles file "
                 f"named by `{access.ROLES_FILE_ENV}`. Nothing is shown until then.")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()


def sidebar_identity(store: Store) -> None:
    """Who is signed in and what they may do; without sign-in, a warning that anyone may write."""
    actor = current_actor()
    with st.sidebar:
        if actor is not None and actor.via == "oidc":
            st.text(f"Signed in as {actor.name} ({actor.role})")
            st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign_out")
            if "_next_link_checked" not in st.session_state:
                st.session_state["_next_link_checked"] = True
                st.html(_RESTORE_LINK_JS, unsafe_allow_javascript=True)
        elif ui_warehouse.settings_store(store).read_only:  # warehouse mode: targets and notes may still be written
            st.caption(":material/lock: Read-only server: nobody can load, undo or save here.")
        else:
            st.caption(":material/lock_open: Sign-in is not configured: anyone who can open this URL can load, "
                       "undo and save. Configure `[auth]` in .streamlit/secrets.toml (README) for a shared server.")
        if store.snapshot_of is not None:
            st.caption(f"Showing {plain(store.snapshot_of.describe())}.")
        st.caption(f":material/memory: {plain(ui_warehouse.engine_label(store))}")


def title_with_fit_status(label: str) -> None:
    """A page title, and under it, while the default CLV and churn fits lag the data (refitted after a load
    commits, issue 20), which load they reflect and that they are being refreshed."""
    from engagement.derived.refits import fit_status

    st.title(label)  # the page's own literal title (the scan checks it at the call site)
    status = fit_status(get_store()).label()
    if status:
        st.info(plain(status + " Until then the models here are fitted on demand for the current data, which takes "
                      "longer at the default settings."), icon=":material/hourglass_top:")


def batch_upload(store: Store) -> None:
    """The Data page's several files (a week's exports) loaded in one transaction with one derived update: all or
    none. Each file's kind is read from its header."""
    from engagement.intake.ingest import detect_kind, ingest_batch_bytes

    with st.expander("Several files at once (one transaction: all load, or none)"):
        uploads = st.file_uploader("Export files", accept_multiple_files=True, key="data_batch_upload",
                                   type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"])
        if not uploads:
            return
        files = [(detect_kind(u.getvalue(), u.name)[0], u.getvalue(), u.name) for u in uploads]
        st.dataframe(pd.DataFrame({"file": [plain(n) for _, _, n in files],
                                   "kind": [plain(k or "not detected") for k, _, _ in files]}), hide_index=True)
        unknown = [name for kind, _, name in files if kind is None]
        if unknown:
            st.error(plain(f"The kind of {', '.join(unknown)} could not be detected: load it alone above."))
        elif st.button(f"Validate and load all {len(files)} files", key="data_batch_load", type="primary"):
            try:
                results = ingest_batch_bytes(store, files, actor=current_actor())
            except access.WriteRefused as exc:
                st.error(plain(exc))
                return
            for result in results:
                (st.success if result.status == "loaded" else st.error)(plain(f"{result.file_name}: {result.message}"))


def show_ingest_result(result: Any) -> None:
    """The Data page's outcome of one validate/load (``IngestResult``): counts, every expectation, failing rows
    with their row numbers."""
    (st.success if result.status in ("loaded", "valid") else st.error)(plain(result.message))
    d = result.as_dict()
    cols = st.columns(5)
    for column, key in zip(cols, ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined", "rows_rejected")):
        column.metric(plain(key.replace("_", " ").capitalize()), f"{d[key]:,}")
    for note in result.notes:
        st.caption(plain(note))
    if result.report is None:
        return
    report = result.report
    st.subheader(f"Validation report · {report.rows:,} rows · engine: {plain(report.engine)} · {report.seconds:.1f} s")
    checks = report.results_frame().sort_values("success", kind="stable")  # failures first, suite order kept
    warned = ~checks.success & (checks.level == "warning")
    checks.insert(0, "result", checks.success.map({True: "pass", False: "FAIL"}).where(~warned, "warn"))
    st.caption(f"{(~checks.success & ~warned).sum()} of {len(checks)} expectations fail"
               f"{f'; {warned.sum()} warn (reported, the rows load)' if warned.any() else ''}.")
    order = ["result", "description", "unexpected_count", "unexpected_percent", "level", "fix", "expectation",
             "column", "element_count", "engine", "note"]
    table(
        checks[order], height=min(36 * (len(checks) + 1), 800), units={"unexpected_percent": "percent"},
        column_config={"unexpected_count": st.column_config.NumberColumn("unexpected rows", format="%d")},
    )
    if result.failing_rows is not None and len(result.failing_rows):
        st.markdown(f"**Failing rows** ({report.failing_row_count:,}; row numbers as a spreadsheet shows the file, "
                    "header = row 1)")
        st.dataframe(result.failing_rows.head(200), hide_index=True, width="stretch")
        download_csv(result.failing_rows, f"failing_rows_{result.kind}.csv", label="Download failing rows (CSV)",
                        key="data_failing_download")


# ------------------------------------------------- leadership: headlines, the Summary's cards, targets, alerts
def headline(sentences: Sequence[str]) -> None:
    """A page's headline: one or two plain sentences from its own numbers (engagement/leadership/headlines.py)."""
    for sentence in sentences:
        st.markdown(f"**{plain(sentence)}**")


def how_computed(lines: Sequence[str]) -> None:
    """The methodology behind a page's numbers (tests, models, references), out of the way of its readers."""
    with st.expander("How this is computed"):
        for line in lines:
            st.markdown(f"- {plain(line)}")
        st.page_link("pages/methodology.py", label="Every metric's definition: Methodology",
                     icon=":material/menu_book:")


def summary_cards(summary: Any) -> None:
    """One card per leadership number: its value, its change against the summary's comparison (coloured only
    when more than chance explains it) and its target."""
    from engagement import metrics

    numbers = list(summary.shown)
    for row in (numbers[:3], numbers[3:]):
        for column, number in zip(st.columns(3), row):
            change = number.change(summary.comparison)
            usable = change is not None and change.n and change.value == change.value
            delta = metrics.format_change(number.key, change.change) if usable else None
            column.metric(plain(number.label), metrics.format_value(number.key, number.value), delta=delta,
                          delta_color="normal" if usable and change.significant else "off", border=True,
                          help=plain(metrics.metric(number.key).formula))
            notes = [f"n = {number.n:,}"]
            if usable:
                notes.append(("beyond chance" if change.significant else "within chance" if change.has_interval
                              else "no interval") + f" against {change.label}")
            if number.target is not None:
                notes.append(f"{number.target.describe()}: {'met' if number.meets_target else 'missed'}")
            column.caption(plain(" · ".join(notes)))


def triggered_alerts(results: Sequence[Any]) -> None:
    """Triggered alert rules as warnings (messages are built from rule settings and numbers: shown as text)."""
    fired = [r for r in results if r.triggered]
    if not results:
        st.caption("No alert rules are set. Analysts add them below or with `python -m engagement alerts add`.")
    elif not fired:
        st.success(f"None of the {len(results)} alert rules is triggered.")
    for result in fired:
        st.warning(plain(f"{result.rule.describe()}: {result.message}"), icon=":material/notifications_active:")


def leadership_settings(store: Store, summary: Any) -> None:
    """Targets and alert rules: listed for everyone, editable by analysts (written as the signed-in user)."""
    from engagement import metrics
    from engagement.leadership import alerts, targets
    from engagement.leadership.summary import COMPUTED_METRICS, SUMMARY_METRICS

    store = ui_warehouse.settings_store(store)  # warehouse mode: the workbench's own DuckDB database
    rules = alerts.rules(store)
    saved = st.session_state.pop("leadership_saved", None)
    with st.expander(f"Targets and alert rules ({len(rules)} rules)", expanded=saved is not None):
        if saved:
            st.success(plain(saved))
        last = {e["rule_id"]: e for e in alerts.latest_events(store)}
        for rule in rules:
            seen = last.get(rule.rule_id)
            when = (f" · last evaluated after load #{seen['load_id']}"
                    f"{', e-mailed to ' + seen['emailed_to'] if seen and seen['emailed_to'] else ''}" if seen else "")
            st.caption(plain(f"Rule {rule.rule_id}: {rule.describe()}{' → ' + rule.email if rule.email else ''}{when}"))
        if not can_write(store):
            st.caption("Only analysts set targets and alert rules (this session cannot write).")
            return
        with st.form("leadership_target"):
            a, b, c = st.columns(3)
            key = a.selectbox("Metric", SUMMARY_METRICS, format_func=lambda k: metrics.metric(k).label)
            value = b.text_input("Target", placeholder="30% or 40")
            direction = c.selectbox("Direction", targets.DIRECTIONS, format_func=lambda d: d.replace("_", " "))
            if st.form_submit_button("Set target"):
                try:
                    targets.set_target(store, key, targets.parse_target_value(key, value), direction,
                                       actor=current_actor())
                    # Run the page again: the cards above were drawn before this save.
                    st.session_state["leadership_saved"] = f"Target set for {metrics.metric(key).label}."
                    st.rerun()
                except (ValueError, WriteRefused) as exc:
                    st.error(plain(exc))
        with st.form("leadership_alert"):
            a, b, c, d = st.columns(4)
            key = a.selectbox("Metric", COMPUTED_METRICS, format_func=lambda k: metrics.metric(k).label)
            kind = b.selectbox("When", alerts.KINDS, format_func=lambda k: k.replace("_", " "))
            threshold = c.text_input("Threshold", placeholder="30, 30% or 3 (points of change)")
            email = d.text_input("E-mail (optional)")
            if st.form_submit_button("Add alert rule"):
                try:
                    amount = targets.parse_target_value(key, threshold) if threshold.strip() else None
                    alerts.add_rule(store, key, kind, amount, email=email.strip() or None, actor=current_actor())
                    st.session_state["leadership_saved"] = "Alert rule added; it is evaluated after every load."
                    st.rerun()
                except (ValueError, WriteRefused) as exc:
                    st.error(plain(exc))
