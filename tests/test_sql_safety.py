"""The SQL notebook's safety layer: what it refuses, what it lets through, its row limit and time limit.

Expected counts come from the hand fixture in tests/conftest.py (4 customers, 6 orders, 6 answers),
counted by hand; the refusals are the issue's list (writes, ATTACH, INSTALL/LOAD, COPY, files outside data/).
"""

from __future__ import annotations

import re
import shutil
import threading

import duckdb
import pandas as pd
import pytest

from conftest import hand_fixture_frames
from engagement.cli import main
from engagement.workbench import open_workbench
from engagement.notebook.sql_safety import (
    QueryCancelled, QueryFailed, QueryRefused, check_query, harden_process, run_query,
)

# A query that runs for many seconds on any data: a 3,000^3 cross join (27e9 rows) counted.
SLOW_SQL = "SELECT count(*) FROM range(3000) a, range(3000) b, range(3000) c WHERE a.range + b.range + c.range = -1"


@pytest.fixture(scope="module")
def shared_hand_store():
    """The hand fixture once for the read-only checks of this module (they cannot change it)."""
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


@pytest.fixture()
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "targets.csv").write_text("channel,target\nemail,10\nsms,4\n")
    (tmp_path / "outside.csv").write_text("secret\n42\n")
    (folder / "link.csv").symlink_to(tmp_path / "outside.csv")
    return folder


REFUSED = [
    # (query, words the message must contain)
    ("INSERT INTO orders (order_id) VALUES ('x')", "read-only"),
    ("UPDATE orders SET net_revenue = 0", "read-only"),
    ("DELETE FROM orders", "read-only"),
    ("CREATE TABLE copy_of_orders AS SELECT * FROM orders", "read-only"),
    ("CREATE VIEW v AS SELECT 1", "read-only"),
    ("DROP TABLE orders", "read-only"),
    ("ALTER TABLE orders ADD COLUMN hacked INTEGER", "read-only"),
    ("COPY orders TO 'data/orders.csv'", "COPY"),
    ("COPY orders FROM '/etc/passwd'", "COPY"),
    ("EXPORT DATABASE '/tmp/everything'", "EXPORT"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("DETACH other", "DETACH"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "INSTALL and LOAD"),
    ("SET threads = 1", "configuration"),
    ("RESET threads", "configuration"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("CALL pragma_version()", "CALL"),
    ("CHECKPOINT", "CALL"),
    ("BEGIN TRANSACTION", "transaction"),
    ("USE memory", "configuration"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN"),
    ("SELECT 1; DROP TABLE orders", "one statement"),
    ("SELECT * FROM read_csv('/etc/passwd')", "only read files inside"),
    ("SELECT * FROM read_csv_auto('/etc/hostname')", "only read files inside"),
    ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "only read files inside"),
    ("SELECT * FROM read_json('s3://bucket/key.json')", "only read files inside"),
    ("SELECT * FROM glob('/home/*')", "only read files inside"),
    ("SELECT * FROM read_csv('data/../../etc/passwd')", "'..' is refused"),
    ("SELECT * FROM read_csv(concat('/etc/', 'passwd'))", "text constant"),
    ("SELECT * FROM '/etc/passwd'", "as a file is refused"),
    ("SELECT * FROM 'https://example.com/data.csv'", "as a file is refused"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text() is refused"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob() is refused"),
    ("SELECT * FROM query('DROP TABLE orders')", "query() is refused"),
    ("SELECT * FROM duckdb_secrets()", "duckdb_secrets() is refused"),
    ("SELECT write_log('x')", "write_log() is refused"),
    ("SELECT st_point(1, 2)", "would install and load"),
    ("SELECT * FROM other_db.main.orders", "Only the workbench database"),
    ("SELECT * FROM no_such_table", "no table"),
    ("PIVOT orders ON channel USING sum(net_revenue)", "IN list"),
    ("SELECT * FROM orders WHERE order_id = $id", "Parameters"),
    ("", "empty"),
    ("-- just a comment", "empty"),
]


@pytest.mark.parametrize("sql, words", REFUSED, ids=[q[:40] or "empty" for q, _ in REFUSED])
def test_refuses_with_a_clear_message(shared_hand_store, data_dir, sql, words):
    before = shared_hand_store.table_counts()
    with pytest.raises(QueryRefused, match=re.escape(words)):
        run_query(shared_hand_store, sql, data_dir=data_dir)
    assert shared_hand_store.table_counts() == before


def test_refuses_files_outside_data_even_through_a_symlink(shared_hand_store, data_dir):
    with pytest.raises(QueryRefused, match="only read files inside"):
        run_query(shared_hand_store, f"SELECT * FROM read_csv('{data_dir / 'link.csv'}')", data_dir=data_dir)
    with pytest.raises(QueryRefused, match="only read files inside"):
        run_query(shared_hand_store, f"SELECT * FROM read_csv('{data_dir.parent / 'outside.csv'}')", data_dir=data_dir)


def test_reads_files_inside_data(data_dir):
    # The engine reads only its own data folder (sandbox.py): this store is opened with the test's one.
    shared_hand_store = open_workbench(":memory:", read_only=False, readable=(data_dir,))
    result = run_query(shared_hand_store, f"SELECT sum(target) AS total FROM read_csv('{data_dir / 'targets.csv'}')",
                       data_dir=data_dir)
    assert result.frame["total"].tolist() == [14]  # 10 + 4, the two rows written by the fixture
    listed = run_query(shared_hand_store, f"SELECT count(*) AS n FROM glob('{data_dir}/*.csv')", data_dir=data_dir)
    assert listed.frame["n"].tolist() == [2]  # targets.csv and link.csv


def test_python_variables_are_not_reachable(shared_hand_store):
    secret_frame = pd.DataFrame({"password": ["hunter2"]})  # noqa: F841 - DuckDB could scan it by name
    with pytest.raises(QueryRefused, match="no table"):
        run_query(shared_hand_store, "SELECT * FROM secret_frame")


ALLOWED = [
    # (query, expected first value) - counts from the hand fixture (conftest.hand_fixture_frames)
    ("SELECT count(*) FROM orders", 6),
    ("FROM orders SELECT count(*) WHERE status = 'paid'", 4),  # o1, o4, o5, o6
    ("WITH buyers AS (SELECT DISTINCT customer_id FROM order_facts) SELECT count(*) FROM buyers", 3),  # A, B, C
    ("SELECT count(*) FROM (DESCRIBE orders)", 9),  # 8 canonical columns + load_id
    ("SELECT count(*) FROM customer_summary WHERE order_count >= 2", 2),  # A (2 purchases), C (2)
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT max(n) FROM r", 5),
    ("SELECT count(*) FROM information_schema.columns WHERE table_name = 'surveys'", 8),
    ("SELECT sum(range) FROM range(5)", 10),
    ("PIVOT (SELECT customer_id, status FROM orders) ON status IN ('paid') USING count(*) ORDER BY customer_id", "A"),
    ("SELECT list(score ORDER BY score)[1] FROM surveys", 0),
    ("SELECT count(*) FILTER (WHERE score >= 9) FROM surveys", 3),  # 10, 9, 10
    ("SELECT count(*) FROM (SUMMARIZE orders)", 9),
    ("SELECT row_number() OVER (ORDER BY order_id) FROM orders QUALIFY order_id = 'o3'", 3),
]


@pytest.mark.parametrize("sql, expected", ALLOWED, ids=[q[:40] for q, _ in ALLOWED])
def test_lets_read_queries_through(shared_hand_store, sql, expected):
    result = run_query(shared_hand_store, sql)
    assert result.frame.iloc[0, 0] == expected
    assert result.duration_seconds >= 0 and not result.truncated


def test_a_cte_name_does_not_make_a_file_readable_elsewhere(shared_hand_store):
    """A CTE named like a path is in scope only where it is defined."""
    sql = "SELECT * FROM (WITH \"/etc/passwd\" AS (SELECT 1) SELECT * FROM \"/etc/passwd\"), '/etc/passwd'"
    with pytest.raises(QueryRefused, match="as a file"):
        check_query(shared_hand_store.cursor(), sql)


def test_syntax_errors_come_back_as_failures(shared_hand_store):
    with pytest.raises(QueryFailed, match="syntax error"):
        run_query(shared_hand_store, "SELEC 1")
    with pytest.raises(QueryFailed, match="no_such_column"):
        run_query(shared_hand_store, "SELECT no_such_column FROM orders")


def test_row_limit_truncates_and_says_so(shared_hand_store):
    result = run_query(shared_hand_store, "SELECT range AS n FROM range(25000) ORDER BY n DESC", max_rows=10_000)
    assert result.row_count == 10_000 and result.truncated
    assert result.frame["n"].iloc[0] == 24_999  # the first rows, in the query's order
    assert "first 10,000 rows" in result.summary()
    exact = run_query(shared_hand_store, "SELECT * FROM range(10000)", max_rows=10_000)
    assert exact.row_count == 10_000 and not exact.truncated
    small = run_query(shared_hand_store, "SELECT * FROM range(3)", max_rows=2)
    assert small.row_count == 2 and small.truncated


def test_timeout_cancels_only_the_long_query(hand_store, monkeypatch):
    """No durations: the other session's query starts once the slow one's transaction is open (a signal from
    the timer being started), and both outcomes are checked."""
    import engagement.notebook.sql_safety as sql_safety

    running = threading.Event()

    class SignallingTimer(threading.Timer):
        def start(self) -> None:
            running.set()  # run_query starts its timer right before the statement
            super().start()

    monkeypatch.setattr(sql_safety.threading, "Timer", SignallingTimer)
    other: dict[str, object] = {}

    def count_orders() -> None:
        running.wait()
        other["rows"] = run_query(hand_store, "SELECT count(*) AS n FROM orders").frame["n"].tolist()

    thread = threading.Thread(target=count_orders)
    thread.start()
    with pytest.raises(QueryCancelled, match="longer than 1 s"):
        run_query(hand_store, SLOW_SQL, timeout_seconds=1)
    thread.join()
    assert other["rows"] == [6]
    # The store is still usable, including for writes (no transaction was left open).
    hand_store.refresh_derived()
    assert run_query(hand_store, "SELECT count(*) FROM orders").frame.iloc[0, 0] == 6


def test_harden_process_blocks_files_even_without_the_parser_check(tmp_path, data_dir):
    connection = duckdb.connect()
    harden_process(connection, data_dir)
    cursor = connection.cursor()
    assert cursor.execute(f"SELECT sum(target) FROM read_csv('{data_dir / 'targets.csv'}')").fetchall() == [(14,)]
    with pytest.raises(duckdb.PermissionException):
        cursor.execute(f"SELECT * FROM read_csv('{tmp_path / 'outside.csv'}')").fetchall()
    with pytest.raises(duckdb.Error, match="locked"):
        cursor.execute("SET enable_external_access = true")
    connection.close()


# ------------------------------------------------------------------- CLI
@pytest.fixture()
def demo_copy(demo_db_path, tmp_path):
    """A private copy: the CLI hardens its DuckDB instance, which must not be the session's demo store."""
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db_path, path)
    return path


def test_cli_runs_a_query(demo_copy, capsys):
    code = main(["sql", "SELECT count(*) AS customers FROM customers", "--db", str(demo_copy), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert '"customers": 5000' in out  # the session demo database has 5,000 customers (conftest)
    assert "1 row in" in err


def test_cli_refuses_and_cancels_with_exit_1(demo_copy, capsys):
    assert main(["sql", "DROP TABLE orders", "--db", str(demo_copy)]) == 1
    assert "refused: DROP changes the database" in capsys.readouterr().err
    assert main(["sql", "SELECT * FROM read_csv('/etc/passwd')", "--db", str(demo_copy)]) == 1
    assert "refused" in capsys.readouterr().err
    assert main(["sql", SLOW_SQL, "--db", str(demo_copy), "--timeout", "0.5"]) == 1
    assert "cancelled" in capsys.readouterr().err


def test_cli_csv_output_and_row_limit(demo_copy, capsys):
    assert main(["sql", "SELECT range AS n FROM range(5)", "--db", str(demo_copy), "--max-rows", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["n", "0", "1", "2"]
    assert "more rows exist" in err
