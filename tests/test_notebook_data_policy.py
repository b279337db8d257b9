"""The SQL notebook's data policy (engagement/notebook/data_policy.py), enforced by the engine.

A cell may read the canonical and derived tables, with e-mail addresses hashed and survey comments scrubbed;
the workbench's own tables (audit trail, alert rules, load log, undo copies...) must be out of reach by every
spelling, through the parser *and* with the parser bypassed (the statement sent straight to the engine a cell
runs on). Both engines are covered: the worker process of a database file, and the in-process copy of an
in-memory store. Counts come from the hand fixture (tests/conftest.py: 4 customers, 6 orders, 6 answers).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import hand_fixture_frames
from engagement.leadership import alerts
from engagement.leadership.annotations import add_annotation
from engagement.leadership.targets import set_target
from engagement.notebook import data_policy, policy_database, worker
from engagement.notebook.notebooks import Cell, Notebook, run_cell, save_notebook
from engagement.notebook.schema_browser import schema_tables
from engagement.notebook.sql_safety import QueryRefused, check_query
from engagement.warehouse import snapshots
from engagement.workbench import open_workbench

ROOT = Path(__file__).resolve().parents[1]
EMAILS = ["ann.a@example.com", "bob.b@example.com", "cat.c@example.com", "dan.d@example.com"]
OWNER = "alert-owner@example.com"  # only in alert_rules
COMMENT = "Call me on +44 20 7946 0958 or mail ann.a@example.com, delivery was late"
# The workbench's own tables the fixture fills (each holds something a CX analyst must not see).
HIDDEN = ("audit_log", "loads", "saved_notebooks", "annotations", "alert_rules", "metric_targets",
          "replaced_customers", "derived_build")


def _fill(store) -> None:
    frames = hand_fixture_frames()
    customers = frames["customers"].assign(email=EMAILS)
    store.load_frame("customers", customers)
    alerts.add_rule(store, "nps", "below", -50, email=OWNER)
    set_target(store, "nps", 0.0)
    add_annotation(store, date(2025, 1, 15), "Spring sale")
    save_notebook(store, Notebook(name="private", cells=(Cell("SELECT 1"),)))
    # A second customers file changes A's tier: the replaced row (raw e-mail included) is kept for undo.
    changed = customers.assign(loyalty_tier=["gold", "bronze", None, "bronze"])
    store.load_frame("customers", changed)
    store.load_frame("orders", frames["orders"])
    surveys = frames["surveys"].assign(comment=[COMMENT, None, "fine", None, None, "ok"])
    store.load_frame("surveys", surveys)  # last: the snapshot the notebook reads is made after everything above


@pytest.fixture(scope="module", params=["file", "memory"])
def store(request, tmp_path_factory):
    """A writable workbench of a database file (cells run in a worker) and an in-memory one (cells run here)."""
    path = ":memory:" if request.param == "memory" else tmp_path_factory.mktemp("policy") / "workbench.duckdb"
    opened = open_workbench(path, read_only=False)
    _fill(opened)
    tables = {r[0] for r in opened.cursor().execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert set(HIDDEN) <= tables  # the fixture really holds what must stay hidden
    yield opened
    opened.close()


def _catalog(store) -> str:
    return str(store.cursor().execute("SELECT current_database()").fetchall()[0][0])


def _spellings(table: str, catalog: str) -> list[str]:
    return [
        f"SELECT * FROM {table}", f'SELECT * FROM "{table}"', f"SELECT * FROM {table.upper()}", f"FROM {table}",
        f"SELECT * FROM main.{table}", f'SELECT * FROM "main"."{table}"', f"SELECT * FROM {catalog}.main.{table}",
        f'SELECT * FROM "{catalog}"."main"."{table}"', f"SELECT * FROM {catalog}.{table}",
        f"SELECT * FROM {table} AS t WHERE true",
        f"WITH x AS (SELECT * FROM {table}) SELECT * FROM x",
        f"SELECT * FROM orders WHERE customer_id IN (SELECT CAST(1 AS VARCHAR) FROM {table})",
        f"SELECT * FROM (SELECT * FROM main.{table}) AS sub", f"DESCRIBE {table}", f"SUMMARIZE {table}",
        f"SELECT * FROM pragma_table_info('{table}')", f"SELECT * FROM query_table('{table}')",
    ]


CATALOG_QUERIES = [  # each returns the names of user tables (DuckDB's own views left out); none may be hidden
    "SELECT table_name FROM duckdb_tables()",
    "SELECT DISTINCT table_name FROM duckdb_columns() WHERE NOT internal",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
    "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'main'",
    "SELECT view_name FROM duckdb_views() WHERE NOT internal",
    "SELECT table_name FROM duckdb_constraints()",
]


def _files(store) -> list[Path]:
    """The database file and its latest snapshot (none for an in-memory store)."""
    if store.path == ":memory:":
        return []
    worker.POOL.source(store)  # publishes the snapshot when it is behind
    return [Path(store.path), snapshots.latest(store.path).path]


def _file_reads(path: Path) -> list[str]:
    return [f"SELECT * FROM read_parquet('{path}')", f"SELECT * FROM read_csv('{path}')",
            f"SELECT * FROM read_blob('{path}')", f"SELECT * FROM read_text('{path}')", f"SELECT * FROM '{path}'",
            f"ATTACH '{path}' AS copy (READ_ONLY)"]


def _no_secret(text: str) -> None:
    assert not any(secret in text for secret in (*EMAILS, OWNER, "Spring sale")), text


def test_hidden_tables_are_refused_by_every_spelling(store):
    catalog = _catalog(store)
    for table in HIDDEN:  # every spelling for three of them, the plain one for the rest (each cell costs a copy)
        for sql in _spellings(table, catalog) if table in ("audit_log", "alert_rules", "replaced_customers") else \
                [f"SELECT * FROM {table}"]:
            run = run_cell(store, sql)
            assert run.status in ("refused", "failed"), (sql, run)
            _no_secret(run.message)
    for path in _files(store):
        for sql in _file_reads(path):
            run = run_cell(store, sql)
            assert run.status in ("refused", "failed"), (sql, run)


def test_catalog_views_list_only_what_the_policy_allows(store):
    for sql in CATALOG_QUERIES:
        run = run_cell(store, sql)
        assert run.ok, (sql, run.message)
        names = set(run.result.frame.iloc[:, 0])
        assert not names & set(HIDDEN) and all(data_policy.is_queryable(n) for n in names), (sql, names)
    assert "customer_summary" in set(run_cell(store, CATALOG_QUERIES[0]).result.frame["table_name"])


def test_personal_columns_come_back_masked_and_analysis_still_works(store):
    masked = run_cell(store, "SELECT customer_id, email FROM customers ORDER BY customer_id").result.frame
    assert masked["customer_id"].tolist() == ["A", "B", "C", "D"]
    assert all(v.startswith("masked-") and len(v) == len("masked-") + 16 for v in masked["email"])
    assert masked["email"].nunique() == 4  # equal stays equal, different stays different
    # The key is secret: the plain sha256 of a known address does not find it.
    plain = run_cell(store, f"SELECT 'masked-' || left(sha256('{EMAILS[0]}'), 16) AS h").result.frame["h"][0]
    assert plain not in set(masked["email"])
    comments = run_cell(store, "SELECT comment FROM surveys WHERE response_id = 'r1' "
                               "UNION ALL SELECT comment FROM survey_answers WHERE response_id = 'r1'").result.frame
    assert comments["comment"].tolist() == ["Call me on [phone removed] or mail [e-mail removed], delivery was late"] * 2
    # An analysis as a CX analyst writes it: repeat buyers by channel. By hand from the fixture: A (paid_social)
    # has 2 purchases (o3 is cancelled), B (organic_search) 1, C (paid_social) 2, D none.
    by_channel = run_cell(store, "SELECT s.acquisition_channel, count(*) AS buyers, sum(order_count) AS purchases, "
                                 "count(DISTINCT c.email) AS addresses FROM customer_summary s JOIN customers c "
                                 "USING (customer_id) WHERE order_count > 0 GROUP BY ALL ORDER BY 1").result.frame
    assert by_channel.to_dict("list") == {"acquisition_channel": ["organic_search", "paid_social"],
                                          "buyers": [1, 2], "purchases": [1, 4], "addresses": [1, 2]}


def _engine(store):
    """What a cell's statement really runs on, and a function that runs a statement there with no parser."""
    if store.path == ":memory:":
        copy = policy_database.in_memory_copy(store, [], [])

        def run(sql):
            try:
                relation = copy.sql(sql)
                return "ok", relation.fetchall() if relation is not None else []
            except Exception as exc:  # noqa: BLE001 - any engine error is a refusal here
                return "error", str(exc)
        return run, copy.close
    engine = worker.Worker(worker.POOL.policy_copy(store, worker.POOL.source(store)), Path(store.path).parent)

    def run(sql):
        reply = engine.run(sql, 1000, 2 ** 20, 30)
        return ("ok", reply.table.to_pylist()) if reply.status == "ok" else ("error", reply.message)
    return run, engine.kill


def test_the_engine_itself_holds_with_the_parser_bypassed(store):
    run, close = _engine(store)
    try:
        catalog = _catalog(store)
        for table in HIDDEN:
            for sql in _spellings(table, catalog):
                status, rows = run(sql)
                assert status == "error" or rows == [], (sql, rows)
        for path in _files(store):
            for sql in _file_reads(path):
                assert run(sql)[0] == "error", sql
        for sql in CATALOG_QUERIES:
            status, rows = run(sql)
            names = {next(iter(r.values())) if isinstance(r, dict) else r[0] for r in rows}
            assert status == "ok" and not names & set(HIDDEN), (sql, names)
        status, rows = run("SELECT email FROM customers")
        assert status == "ok" and len(rows) == 4 and EMAILS[0] not in str(rows)
        for table in sorted(data_policy.QUERYABLE):  # no address anywhere a cell can read
            status, rows = run(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {table}")  # as text: ±infinity too
            _no_secret(str(rows))
    finally:
        close()


def test_the_parser_refuses_hidden_tables_in_the_apps_own_catalog(store):
    """The second wall: in the worker's case the parser reads the app's catalog, where the tables do exist."""
    with pytest.raises(QueryRefused, match="not open to the notebook: it holds who did what"):
        check_query(store.cursor(), "SELECT * FROM main.audit_log")
    with pytest.raises(QueryRefused, match="not open to the notebook"):
        check_query(store.cursor(), "WITH x AS (SELECT * FROM replaced_customers) SELECT * FROM x")


def test_schema_browser_lists_only_what_the_policy_allows(store):
    tables = {t.name: t for t in schema_tables(store)}
    assert set(tables) <= data_policy.QUERYABLE and not set(tables) & set(HIDDEN)
    assert {"customers", "orders", "surveys", "customer_summary", "survey_answers"} <= set(tables)
    columns = {c.name: c.description for c in tables["customers"].columns}
    assert "Masked in the notebook" in columns["email"]
    assert "Masked" not in columns["customer_id"]


def test_every_table_the_workbench_makes_is_classified(demo_store):
    """A new table must be placed on a list: queryable, or hidden with its reason (an allow-list hides it anyway)."""
    names = {r[0] for r in demo_store.cursor().execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    unclassified = {n for n in names if not data_policy.is_queryable(n) and data_policy.hidden_reason(n) is None}
    assert not unclassified
    assert data_policy.column_treatment("customers", "email") == "hash"
    assert data_policy.column_treatment("engagement_default_counts", "email_clicks") == "keep"


def test_the_page_shows_a_refused_cell_in_plain_words(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/sql_notebook.py").run()
    at.text_area[0].set_value("SELECT * FROM audit_log")
    at.button(key=f"run_{at.session_state['sqlnb'].cells[0].cell_id}").click().run()
    assert not at.exception
    assert any(w.value.startswith("**Refused:**") and "not open to the notebook" in w.value for w in at.warning)
    assert not any(e.label.startswith(("audit_log", "loads ·")) for e in at.expander)


def test_the_policy_copy_is_made_once_per_snapshot_and_replaced_after_a_load(tmp_path):
    """Beside the snapshots (the next process reuses it), never readable by a cell, and renewed with the data."""
    store = open_workbench(tmp_path / "workbench.duckdb", read_only=False)
    _fill(store)
    first = Path(worker.POOL.policy_copy(store, worker.POOL.source(store)))
    assert first.parent.parent == snapshots.snapshot_dir(store.path)
    made = first.stat().st_mtime_ns
    assert Path(worker.POOL.policy_copy(store, worker.POOL.source(store))) == first  # reused, not rebuilt
    assert first.stat().st_mtime_ns == made
    folders, files = worker.readable_files(Path(store.path).parent, store.path)
    assert not any(str(first).startswith(f) for f in folders + files)
    old_snapshot = Path(worker.POOL.source(store))
    store.load_frame("orders", hand_fixture_frames()["orders"].assign(net_revenue=1.0))
    second = Path(worker.POOL.policy_copy(store, worker.POOL.source(store)))
    assert second != first and first.exists()  # its snapshot is still kept: a reader of it may use the copy
    assert run_cell(store, "SELECT sum(net_revenue) AS s FROM orders").result.frame["s"].tolist() == [6.0]
    old_snapshot.unlink()  # as snapshots.publish prunes it
    store.load_frame("orders", hand_fixture_frames()["orders"].assign(net_revenue=2.0))
    third = Path(worker.POOL.policy_copy(store, worker.POOL.source(store)))
    assert third != second and second.exists() and not first.exists()  # the copy of a pruned snapshot goes
    store.close()


def test_whether_ids_are_e_mail_addresses_is_decided_once_per_snapshot(tmp_path, monkeypatch):
    """A scan of every customer id per cell (20 ms at 500,000 ids) for an answer only a new snapshot can change;
    a load that brings e-mail ids makes a new snapshot, and its copy hashes them."""
    scans = []
    real = policy_database.ids_are_personal
    monkeypatch.setattr(policy_database, "ids_are_personal", lambda cursor: scans.append(1) or real(cursor))
    store = open_workbench(tmp_path / "workbench.duckdb", read_only=False)
    try:
        _fill(store)
        for _ in range(3):
            assert run_cell(store, "SELECT count(*) AS n FROM orders").result.frame["n"][0] > 0
        assert len(scans) == 1
        frames = hand_fixture_frames()
        store.load_frame("orders", frames["orders"].assign(customer_id=frames["orders"]["customer_id"].map(
            dict(zip("ABCD", EMAILS)))))
        ids = run_cell(store, "SELECT list(DISTINCT customer_id) AS i FROM orders").result.frame["i"][0]
        assert len(scans) == 2 and all(i.startswith("masked-") for i in ids)
    finally:
        store.close()


@pytest.mark.parametrize("where", ["file", "memory"])
def test_customer_ids_that_are_e_mail_addresses_are_hashed_everywhere_and_still_join(where, tmp_path):
    """A brand keyed by e-mail (Klaviyo profiles) must not read its customers' addresses through customer_id."""
    ids = dict(zip("ABCD", EMAILS))
    path = ":memory:" if where == "memory" else tmp_path / "workbench.duckdb"
    store = open_workbench(path, read_only=False)
    try:
        frames = hand_fixture_frames()
        for kind in ("customers", "orders", "surveys"):
            store.load_frame(kind, frames[kind].assign(customer_id=frames[kind]["customer_id"].map(ids)))
        everything = run_cell(store, "SELECT * FROM customers NATURAL FULL JOIN customer_summary").result.frame
        _no_secret(everything.to_csv())
        # The same key in every table (within one cell: an in-memory store's copy, and its key, is made per cell).
        same = run_cell(store, "SELECT (SELECT list(DISTINCT customer_id ORDER BY customer_id) FROM orders) AS o, "
                               "(SELECT list(customer_id ORDER BY customer_id) FROM customer_summary "
                               "WHERE order_count > 0) AS s, (SELECT count(*) FROM orders JOIN customers "
                               "USING (customer_id)) AS joined").result.frame
        buyers = list(same["o"][0])
        assert len(buyers) == 3 and all(i.startswith("masked-") for i in buyers)
        assert list(same["s"][0]) == buyers and same["joined"][0] == 6
        # Joins on the hashed id still work: by hand from the fixture, A has 2 purchases (o3 is cancelled), B 1,
        # C 2, D none; answers: A 2, B 2, C 2.
        joined = run_cell(store, "SELECT count(DISTINCT o.customer_id) AS buyers, count(*) AS pairs FROM orders o "
                                 "JOIN surveys s USING (customer_id) WHERE o.status <> 'cancelled'").result.frame
        assert joined.to_dict("list") == {"buyers": [3], "pairs": [2 * 2 + 1 * 2 + 2 * 2]}
        columns = {c.name: c.description for c in
                   {t.name: t for t in schema_tables(store)}["orders"].columns}
        assert "Masked in the notebook" in columns["customer_id"]
    finally:
        store.close()
