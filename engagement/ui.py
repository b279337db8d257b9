"""Streamlit glue: the only module of the library that imports streamlit.

It holds the process-wide store, the shared sidebar filters mirrored in the URL's query parameters
(so a copied link reopens the same view), cached view data, and small rendering helpers that every
page uses the same way.
"""

from __future__ import annotations

import importlib
import math
import re
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pandas as pd
import streamlit as st

from engagement import config
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
    "with planted patterns. Load your own exports on the Data page to replace it."
)


def get_store() -> Store:
    """One DuckDB connection for the whole process; on an empty database, load the demo brand.

    A database that cannot be opened (held by another process, or read-only and built by another
    version) stops the page with the reason and the fix instead of a traceback.
    """
    require_app_shell()
    require_access()
    try:
        store = _process_store()
        if store.snapshot_of is not None:
            # A read-only instance reads the writer's snapshots: move to a newer one when it is published.
            newest = snapshots.latest(config.db_path())
            if newest is not None and newest.path != store.snapshot_of.path and newest.path.exists():
                _process_store.clear()
                store = _process_store()
        return store
    except (StoreLockedError, StoreOutdatedError, LookupError) as exc:
        # No page can run: replace the navigation (else Streamlit lists the files in pages/) and say why.
        st.navigation([st.Page(_nothing_to_show, title="Engagement Workbench", default=True)], position="hidden")
        st.error(plain(exc))
        st.stop()


def _nothing_to_show() -> None:
    return None


@st.cache_resource(show_spinner="Opening the database…")
def _process_store() -> Store:
    if config.read_only() and snapshots.latest(config.db_path()) is not None:
        # Never hold the database file itself: the writing app (or a CLI load) must be able to open it.
        store = snapshots.open_latest(config.db_path(), derived=DERIVED_BUILD)
    else:
        store = open_workbench(config.db_path(), read_only=config.read_only())
    if store.read_only:
        try:
            store.require_current_derived()
        except StoreOutdatedError:
            store.close()
            raise
    elif store.is_empty():
        from engagement.intake.ingest import ingest_demo

        ingest_demo(store, actor=DEMO_ACTOR)
    if not store.read_only:
        store.actor_required = True  # every write from a session names its signed-in user (current_actor)
        store.refit_in_background = True  # a load returns when its data is in; the model fits follow (issue 20)
        DERIVED_BUILD.after_commit(store)  # fits a CLI load left lagging (ingest --defer-fits) start refitting now
        snapshots.enable(store, keep=config.snapshots_kept(), background=True)
    return store


# Tests and the Data page reopen the database after replacing the file.
get_store.clear = _process_store.clear  # type: ignore[attr-defined]


def data_version(store: Store) -> str:
    """Changes whenever a load or an undo commits, so cached view data is never stale.

    The database file is part of it: a read-only instance moving to a newer snapshot, or two databases
    served by one process, never share cached results that happen to have the same load count.
    """
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
        st.session_state[key] = _from_query(key, lambda raw: by_text[raw], fallback)
    elif st.session_state[key] not in options and options:
        st.session_state[key] = default if default in options else options[0]
    if getattr(widget, "__name__", "") in _MARKDOWN_OPTION_WIDGETS:  # these render their options as markdown
        shown = widget_kwargs.pop("format_func", str)
        widget_kwargs["format_func"] = lambda option: plain(shown(option))
    value = widget(label, options, key=key, **widget_kwargs)
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

    if key not in st.session_state:
        st.session_state[key] = _from_query(key, parse, default)
    value = widget(label, key=key, **widget_kwargs)
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
        st.session_state[key] = _from_query(key, str, default)
    value = st.text_input(label, key=key, **widget_kwargs)
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
        st.session_state[key] = _from_query(key, lambda raw: [by_text[p] for p in _split(raw)], fallback)
    else:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    value = st.multiselect(label, options, key=key, **widget_kwargs)
    st.query_params[key] = ",".join(map(str, value))
    return value


def sidebar_filters(store: Store) -> Filters:
    """Shared sidebar: date range, acquisition channel and customer segment, mirrored in the URL."""
    from engagement.value.kpis import data_range, default_filters

    range_ = view_data(data_range)
    defaults = default_filters(range_)
    low = range_.first_order_date or defaults.start
    high = range_.last_order_date or defaults.end

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
    with st.expander(label):
        if not queries and not recipe.sql_cells:
            st.caption("This view ran no SQL of its own.")
        for query in queries:
            st.code(sql_text(query), language="sql")
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
    st.download_button(label, functools.partial(notebook_text, recipe, path), file_name=name,
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
        st.dataframe(listing, hide_index=True, width="stretch", column_config={
            "srm_p_value": st.column_config.NumberColumn("SRM p", format="%.3f")})
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
        elif store.read_only:
            st.caption(":material/lock: Read-only server: nobody can load, undo or save here.")
        else:
            st.caption(":material/lock_open: Sign-in is not configured: anyone who can open this URL can load, "
                       "undo and save. Configure `[auth]` in .streamlit/secrets.toml (README) for a shared server.")
        if store.snapshot_of is not None:
            st.caption(f"Showing {plain(store.snapshot_of.describe())}.")


def title_with_fit_status(title: str) -> None:
    """A page title, and under it, while the default CLV and churn fits lag the data (refitted after a load
    commits, issue 20), which load they reflect and that they are being refreshed."""
    from engagement.model_refits import fit_status

    st.title(title)
    label = fit_status(get_store()).label()
    if label:
        st.info(plain(label + " Until then the models here are fitted on demand for the current data, which takes "
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
    table = report.results_frame().sort_values("success", kind="stable")  # failures first, suite order kept
    warned = ~table.success & (table.level == "warning")
    table.insert(0, "result", table.success.map({True: "pass", False: "FAIL"}).where(~warned, "warn"))
    st.caption(f"{(~table.success & ~warned).sum()} of {len(table)} expectations fail"
               f"{f'; {warned.sum()} warn (reported, the rows load)' if warned.any() else ''}.")
    order = ["result", "description", "unexpected_count", "unexpected_percent", "level", "fix", "expectation",
             "column", "element_count", "engine", "note"]
    st.dataframe(
        table[order], hide_index=True, width="stretch", height=min(36 * (len(table) + 1), 800),
        column_config={"unexpected_percent": st.column_config.NumberColumn("unexpected %", format="%.2f"),
                       "unexpected_count": st.column_config.NumberColumn("unexpected rows", format="%d")},
    )
    if result.failing_rows is not None and len(result.failing_rows):
        st.markdown(f"**Failing rows** ({report.failing_row_count:,}; row numbers as a spreadsheet shows the file, "
                    "header = row 1)")
        st.dataframe(result.failing_rows.head(200), hide_index=True, width="stretch")
        download_csv(result.failing_rows, f"failing_rows_{result.kind}.csv", label="Download failing rows (CSV)",
                        key="data_failing_download")
