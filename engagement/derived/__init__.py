"""The derived tables and the models fitted at load: what is built, from which inputs, and in what order.

Every entry of :data:`BUILD` names its inputs, canonical tables or other entries (dbt's ``ref()``); the build
order is computed from them (:func:`build_order`), never written by hand. After every load or undo of a kind
some entry reads, the store runs :data:`DERIVED_BUILD` in the load's transaction; the store is handed it when
opened (:func:`engagement.workbench.open_workbench`) and never imports this module. ``derived_build`` keeps a
fingerprint of what built the tables, so that a database built by another version is rebuilt when next opened
for writing.

>>> order = build_order()
>>> order.index("order_facts") < order.index("customer_summary") < order.index("clv_default_model")
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Callable

import duckdb

from engagement.derived import refits as model_refits, update as derived_update
from engagement.retention import churn, clv_default, rfm
from engagement.sql import quote_identifier, read_sql
from engagement.warehouse.schema import KINDS
from engagement.warehouse.store import stored_view_settings

if TYPE_CHECKING:
    from engagement.warehouse.loading import Change
    from engagement.warehouse.store import Store


@dataclass(frozen=True)
class Derived:
    """One thing built after a load: a table from ``derived/<name>.sql``, a stored view, or a fitted model.

    ``view``: for a stored view, the view query the table keeps the result of, run with the settings its page
    opens with (``derived/<name>.sql`` selects them, as one row of that query's parameters, from
    ``dataset_facts`` only). A view reads the table when asked for exactly those parameters
    (``Store.stored_view_params``) and runs its query on demand otherwise, so both paths return the same rows.
    ``build``: for a model fitted in Python on stored inputs, the function that fits it and writes ``tables``.
    """

    name: str
    inputs: tuple[str, ...]
    view: str | None = None
    build: Callable[[Store, duckdb.DuckDBPyConnection], None] | None = None
    tables: tuple[str, ...] = ()
    settings: Callable[[], str] | None = None  # a fitted model's settings, part of the fingerprint
    # How a load keeps it current (engagement/derived/update.py): "rebuilt" whole; "appended" (new rows only,
    # never rebuilt: stable keys); "customers" (the rows of the customers whose inputs changed are replaced);
    # "compared" (recomputed for every customer, cheaply, and only the rows that differ replaced);
    # "sums" (additive per-group sums: the changed customers' old contributions subtracted, new ones added);
    # "deferred" (a stored view, or what is computed from one: dropped by the write, full rebuilds included, so
    # that readers run its query on demand, and built again after the commit, before the model fits).
    maintained: str = "rebuilt"
    measures: tuple[str, ...] = ()  # for "sums": the additive columns, the first counting the group's rows
    # For "compared": the only columns computed from dataset_facts (tests/test_incremental_derived.py checks it).
    cut_columns: tuple[str, ...] = ()
    # For "compared": where each cut column compares a per-customer column with the dataset's facts, as (the
    # per-customer input's column, the dataset_facts expression it is compared with, a margin covering the
    # comparison's rounding). A customer whose own inputs did not change can change in a cut column only if one of
    # its columns lies between that expression's old and new values (margins added), so only those customers are
    # compared; none declared: every customer is (tests/test_incremental_cost.py checks the declaration).
    cut_bounds: tuple[tuple[str, str, str], ...] = ()
    # For "sums": reads none of those cut columns, nor purchases' copy of them (tests/test_incremental_cost.py
    # checks it), so the customers whose rows changed in them alone (a stage moved by "as of" and the cuts) are
    # left out of its update.
    reads_cuts: bool = True
    # Fitted after the write commits (engagement/derived/refits.py), not inside it: a load does not wait for it.
    after_commit: bool = False
    # Text columns stored uncompressed (DuckDB only): ids unique per row or repeated only by a customer's few
    # purchases. DuckDB's default for text (DICT_FSST) spent about a CPU second per such column at 3.75M
    # purchases (order_facts' two ids written: 2.1 CPU s, 0.8 uncompressed; its whole build 4.3 -> 3.4). The
    # price is space: the 5M-order database file grew 556 -> 661 MB with the five tables' ids uncompressed (the
    # snapshot copies it); a scan of the uncompressed ids took less CPU (0.27 against 0.37 s).
    uncompressed: tuple[str, ...] = ()

    def sql_texts(self) -> str:
        """The SQL this entry is built from (for the fingerprint and the schema browser)."""
        if self.build is not None:
            return read_sql(f"derived/{self.name}") if self.tables else ""
        return read_sql(f"derived/{self.name}") + ("\n" + read_sql(self.view) if self.view else "")


def _rfm_scores(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    rfm.store_default_scores(cur)


BUILD: tuple[Derived, ...] = (
    Derived("customer_keys", ("customers", "events", "experiment_assignments", "orders", "surveys"),
            maintained="appended"),
    Derived("order_facts", ("orders",), maintained="customers", uncompressed=("order_id", "customer_id")),
    # Every id an activity names is a customer (implied customers), so customer_facts reads them all.
    Derived("customer_facts", ("customer_keys", "customers", "events", "experiment_assignments", "order_facts",
                               "orders", "surveys"), maintained="customers", uncompressed=("customer_id",)),
    Derived("dataset_facts", ("customer_facts", "events", "order_facts", "orders", "surveys")),
    Derived("customer_summary", ("customer_facts", "dataset_facts"), maintained="compared",
            cut_columns=("lifecycle_stage",), uncompressed=("customer_id",),
            # The stage compares the days since the last purchase with the lapsed and at-risk days (a last purchase
            # before as_of less those days), the gap before it with the lapsed days, the revenue with the VIP cut.
            cut_bounds=(("last_order_at", "as_of - to_days(lapsed_days)", "INTERVAL 1 DAY"),
                        ("last_order_at", "as_of - to_days(at_risk_days)", "INTERVAL 1 DAY"),
                        ("gap_before_last_order_days", "lapsed_days", "1"),
                        ("revenue", "vip_revenue", "1"))),
    Derived("purchases", ("customer_summary", "order_facts"), maintained="customers", uncompressed=("customer_id",)),
    Derived("purchase_days", ("orders", "purchases"), maintained="sums",
            measures=("orders", "revenue", "revenue_squared", "returning_revenue", "repeat_orders"), reads_cuts=False),
    Derived("cohort_cells", ("customer_summary", "purchases"), maintained="sums",
            measures=("active_customers", "purchases", "revenue"), reads_cuts=False),
    Derived("survey_answers", ("customer_summary", "order_facts", "surveys"), maintained="customers"),
    Derived("rfm_default_window_customers", ("dataset_facts", "purchases"), view="rfm/window_customers",
            maintained="deferred"),
    Derived("clv_calibration_summary", ("dataset_facts", "purchases"), view="clv/customer_summary",
            maintained="deferred"),
    Derived("clv_history_summary", ("dataset_facts", "purchases"), view="clv/customer_summary",
            maintained="deferred"),
    Derived("churn_training_features",
            ("customer_summary", "dataset_facts", "events", "messages", "order_facts", "surveys"),
            view="churn/churn_features", maintained="deferred"),
    Derived("churn_current_features",
            ("customer_summary", "dataset_facts", "events", "messages", "order_facts", "surveys"),
            view="churn/churn_features", maintained="deferred"),
    Derived("message_send_days", ("customer_summary", "messages"), maintained="sums", measures=("sends",)),
    Derived("click_facts", ("customer_summary", "events", "order_facts"), maintained="customers"),
    Derived("click_purchases", ("click_facts", "order_facts"), maintained="customers"),
    Derived("email_open_days", ("customer_summary", "events"), maintained="sums", measures=("opens",)),
    Derived("engagement_default_counts", ("customer_summary", "dataset_facts", "events", "order_facts"),
            view="engagement/customer_counts", maintained="deferred"),
    # Models fitted in Python on the stored inputs with the page's default settings; their results are kept in
    # derived tables too (each module lists its tables as STORED_MODEL_TABLES).
    Derived(rfm.STORED_SCORES, (rfm.STORED_WINDOW,), build=_rfm_scores, maintained="deferred"),
    Derived(clv_default.STORED_MODEL, ("clv_calibration_summary", "clv_history_summary", "dataset_facts",
                                       "order_facts", "purchases"),
            build=clv_default.store_default_clv_model, tables=clv_default.STORED_MODEL_TABLES,
            settings=clv_default.model_settings, after_commit=True),
    Derived(churn.STORED_MODEL, ("churn_training_features", "churn_current_features", "dataset_facts", "order_facts"),
            build=churn.store_default_churn_model, tables=churn.STORED_MODEL_TABLES, settings=churn.model_settings,
            after_commit=True),
)
BY_NAME = {entry.name: entry for entry in BUILD}


def build_order() -> tuple[str, ...]:
    """The entries of :data:`BUILD` in an order where each comes after every entry it reads (ties keep the
    order of ``BUILD``). Raises ``graphlib.CycleError`` when the inputs form a cycle."""
    sorter = TopologicalSorter()
    for entry in BUILD:
        sorter.add(entry.name, *(name for name in entry.inputs if name in BY_NAME))
    sorter.prepare()
    position = {entry.name: i for i, entry in enumerate(BUILD)}
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return tuple(order)


BUILD_ORDER = build_order()
# The tables built from SQL (stored views included), in build order; the fitted models' tables come after.
DERIVED_TABLES = tuple(name for name in BUILD_ORDER if BY_NAME[name].build is None)
STORED_VIEWS = {entry.name: entry.view for entry in BUILD if entry.view is not None}
# The default CLV and churn fits, refitted after a write commits (engagement/derived/refits.py).
FITTED_AFTER_COMMIT = tuple(name for name in BUILD_ORDER if BY_NAME[name].after_commit)
# Dropped by every write that changes the derived tables (an incremental update or a full rebuild) and built
# again after its commit (restore_deferred), in build order. A stored view's rows depend on "as of" (recency, T,
# the sliding default window), which a weekly file moves, so keeping one current costs a build of it; readers
# check the table exists (Store.stored_view_params) and otherwise run its query, which returns the same rows.
DEFERRED = tuple(name for name in BUILD_ORDER if BY_NAME[name].maintained == "deferred")
# The derived tables an incremental write keeps in place (the deferred ones may be missing between a write and
# the rebuild after it).
KEPT_BY_WRITES = tuple(name for name in DERIVED_TABLES if name not in DEFERRED)
# Kinds no entry reads (tests/test_store_derived.py checks the SQL): loading or undoing them leaves the derived
# tables as they are, so a programme-cost upload does not pay for a full rebuild. (Experiment assignments are
# read: an assigned id is a customer, one of customer_summary's implied customers.)
KINDS_NOT_DERIVED_FROM = frozenset(KINDS) - {name for entry in BUILD for name in entry.inputs}


def derived_fingerprint() -> str:
    """sha256 of every SQL text the derived tables are built from, in build order, and of the settings of the
    models fitted with them (CLV, churn)."""
    texts = []
    for name in BUILD_ORDER:
        entry = BY_NAME[name]
        texts.append(f"{name}\n{entry.tables}\n{entry.sql_texts()}\n{entry.settings() if entry.settings else ''}")
    texts.append(f"rfm_default_scores\n{read_sql('rfm/customer_scores')}")
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def build_entry(store: Store, cur: duckdb.DuckDBPyConnection, name: str, *, as_select_only: bool = False) -> None:
    """Build one entry whole in ``cur``'s transaction (an appended one gets its new rows). ``as_select_only``:
    every table by ``CREATE OR REPLACE TABLE ... AS`` alone, its columns' storage left to the engine (Spark)."""
    entry = BY_NAME[name]
    if entry.build is not None:
        entry.build(store, cur)
    elif entry.maintained == "appended":
        append_new_rows(cur, name)
    elif entry.view is not None:
        params = stored_view_settings(cur, name)
        cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(entry.view), params)
    elif entry.uncompressed and not as_select_only:
        _create_with_uncompressed(cur, name, read_sql(f"derived/{name}"), entry.uncompressed)
    else:
        cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(f"derived/{name}"))


def _create_with_uncompressed(cur: duckdb.DuckDBPyConnection, name: str, select: str,
                              uncompressed: tuple[str, ...]) -> None:
    """``CREATE OR REPLACE TABLE name AS select``, with the ``uncompressed`` columns stored so: the table is
    declared with the columns and types DuckDB binds for ``select`` (a ``DESCRIBE``, no rows read), then filled
    (DuckDB takes a column's compression only in a declaration, not from ``AS``)."""
    columns = cur.execute(f"DESCRIBE {select}").fetchall()
    declared = ", ".join(f"{quote_identifier(column)} {column_type}"
                         + (" USING COMPRESSION uncompressed" if column in uncompressed else "")
                         for column, column_type, *_ in columns)
    cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} ({declared})")
    cur.execute(f"INSERT INTO {quote_identifier(name)} {select}")


# Tables an earlier version built and this one does not (customer_months is a CTE of cohort_cells now; the
# columns of purchase_states are purchases' now): a full rebuild, which a new fingerprint causes, drops them, so
# that no table left unmaintained stays readable.
RETIRED = ("customer_months", "purchase_states")


def rebuild_derived(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Build every entry in build order in ``cur``'s transaction, except the deferred ones, which are dropped and
    built after the commit (:func:`restore_deferred`), as after an incremental write; the models fitted after
    the commit are marked due (every customer changed).

    The stored views are caches of the pages' default queries, and a reader runs the query when the table is
    missing (``Store.stored_view_params``), so the pages stay exact meanwhile; building them in the load's
    transaction made every full load wait for them (about 5 of 36 CPU s at 5M orders, benchmarks/README.md)."""
    for name in RETIRED:
        cur.execute(f"DROP TABLE IF EXISTS main.{quote_identifier(name)}")
    for name in BUILD_ORDER:
        entry = BY_NAME[name]
        if entry.maintained == "deferred":
            cur.execute(f"DROP TABLE IF EXISTS main.{quote_identifier(name)}")
        elif not entry.after_commit:
            build_entry(store, cur, name)
    model_refits.note_changed(cur, None)


def restore_deferred(store: Store, cur: duckdb.DuckDBPyConnection) -> bool:
    """Build the deferred entries again, in ``cur``'s transaction, when a write dropped them; True when it did.
    All of them, in build order: they are dropped together, and the RFM scores read the RFM window."""
    existing = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if not {"derived_build", "dataset_facts"} <= existing or set(DEFERRED) <= existing:
        return False
    for name in DEFERRED:
        build_entry(store, cur, name)
    return True


def refit_models(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Fit the models fitted after commit, in ``cur``'s transaction (engagement/derived/refits.py calls it)."""
    for name in FITTED_AFTER_COMMIT:
        build_entry(store, cur, name)


APPENDED_DDL = {
    # The ids uncompressed, as Derived.uncompressed declares them for the other tables (0.69 -> 0.56 CPU s at 500,000).
    "customer_keys": "CREATE TABLE IF NOT EXISTS customer_keys "
                     "(customer_id VARCHAR USING COMPRESSION uncompressed NOT NULL, customer_key INTEGER NOT NULL)",
}


# An appended entry's empty table, typed: where a full build starts from nothing (warehouse mode, read-only).
APPENDED_EMPTY = {
    "customer_keys": "SELECT CAST(NULL AS VARCHAR) AS customer_id, CAST(NULL AS INTEGER) AS customer_key WHERE 1 = 0",
}


def build_everything(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Build every entry whole, the fitted models included, with no bookkeeping of loads and fits: what a
    read-only engine over a brand's own tables (warehouse mode, ``warehouse/spark_store.py``) runs once when it
    opens. Only ``CREATE OR REPLACE TABLE ... AS`` statements, so an engine that keeps them as cached views can run
    it; an appended entry starts from its empty table, so its keys are numbered as on a new database."""
    for name in BUILD_ORDER:
        if BY_NAME[name].maintained == "appended":
            cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS {APPENDED_EMPTY[name]}")
            cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(f"derived/{name}"))
        else:
            build_entry(store, cur, name, as_select_only=True)


def append_new_rows(cur: duckdb.DuckDBPyConnection, name: str) -> None:
    """An appended entry (stable keys): create its table once, then add the rows its SQL selects as new."""
    cur.execute(APPENDED_DDL[name])
    cur.execute(f"INSERT INTO {quote_identifier(name)} " + read_sql(f"derived/{name}"))


@dataclass(frozen=True)
class DerivedBuild:
    """What the store runs after a write (see ``engagement.warehouse.store.DerivedBuilder``)."""

    def reads(self, kind: str) -> bool:
        return kind not in KINDS_NOT_DERIVED_FROM

    def fingerprint(self) -> str:
        return derived_fingerprint()

    def rebuild(self, store: Store, cur: duckdb.DuckDBPyConnection) -> None:
        rebuild_derived(store, cur)

    def build_everything(self, store: Store, cur: duckdb.DuckDBPyConnection) -> None:
        build_everything(store, cur)

    def update(self, store: Store, cur: duckdb.DuckDBPyConnection, change: Change) -> None:
        """Update for ``change`` only (engagement/derived/update.py), or rebuild when that would cost more."""
        changed = derived_update.update_derived(store, cur, change, BY_NAME, BUILD_ORDER, KEPT_BY_WRITES,
                                               build_entry)
        if changed is None:
            rebuild_derived(store, cur)
        else:
            model_refits.note_changed(cur, changed)

    def after_commit(self, store: Store) -> None:
        """Build the deferred stored views again, then refit the default CLV and churn models when a write changed
        their inputs enough (in the background when ``store.refit_in_background``)."""
        model_refits.after_commit(store, refit_models, restore_deferred)


DERIVED_BUILD = DerivedBuild()
