"""DuckDB -> Spark SQL without Spark (default CI, seconds): every SQL file translates within the allow-list, and
each rule of engagement/warehouse/spark_sql.py writes what keeps DuckDB's meaning. That Spark then returns
DuckDB's numbers is tests/test_spark_parity.py's job (marker ``spark``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from engagement.sql import read_sql
from engagement.warehouse.spark_sql import (
    DUCKDB_ONLY, UntranslatableSql, rewrite, to_spark, unsupported,
)

SQL_ROOT = Path(__file__).resolve().parents[1] / "engagement" / "sql"
SQL_FILES = sorted(str(p.relative_to(SQL_ROOT).with_suffix("")) for p in SQL_ROOT.rglob("*.sql"))
# Relations some files read that another file produces (chained as CTEs at run time, see QueryRecord.statement).
INPUTS = {"customer_counts": "engagement/customer_counts"}


@pytest.fixture(scope="module")
def duckdb_columns(demo_store):
    """Column names of a DuckDB probe query on the demo (it has every derived and fitted table)."""
    cur = demo_store.cursor()

    def columns_of(probe: str) -> list[str]:
        tree = sqlglot.parse_one(probe, read="duckdb")
        reads = {t.name for t in tree.find_all(exp.Table)} & set(INPUTS)
        if reads:
            ctes = ", ".join(f"{name} as ({read_sql(INPUTS[name])})" for name in sorted(reads))
            probe = f"with {ctes} select * from ({probe})"
            tree = sqlglot.parse_one(probe, read="duckdb")
        names = {p.name for p in tree.find_all(exp.Placeholder)}
        return [d[0] for d in cur.execute(probe, {n: None for n in names}).description]

    return columns_of


@pytest.mark.parametrize("name", [n for n in SQL_FILES if n not in DUCKDB_ONLY])
def test_every_sql_file_translates_to_spark_within_the_allow_list(name, duckdb_columns):
    tree = rewrite(sqlglot.parse_one(read_sql(name), read="duckdb"), duckdb_columns)
    assert unsupported(tree) == [], f"{name}: constructs outside spark_sql.ALLOWED"
    sqlglot.parse_one(tree.sql(dialect="spark"), read="spark")  # and Spark SQL that parses


def test_the_duckdb_only_files_exist_and_only_read_the_stores_own_tables():
    assert set(DUCKDB_ONLY) <= set(SQL_FILES)
    own = ("loads", "audit_log", "quarantine", "saved_notebooks", "annotations", "alert_events", "alert_rules",
           "metric_targets")
    for name in DUCKDB_ONLY:
        tree = sqlglot.parse_one(read_sql(name), read="duckdb")
        tables = {t.name for t in tree.find_all(exp.Table)} - {c.alias for c in tree.find_all(exp.CTE)}
        assert tables and all(t.startswith(own) or t in own for t in tables), (name, tables)


@pytest.mark.parametrize("sql, why", [
    ("select hash(customer_id) from customers", "hash() differs between engines: md5 is portable"),
    ("select * from a asof join b on a.k = b.k and a.t >= b.t", "ASOF join"),
    ("select a from x union all by name select a from y", "UNION BY NAME"),
    ("unpivot t on (a, b) as m into name metric value v", "simplified UNPIVOT"),
])
def test_constructs_without_a_safe_rewrite_are_outside_the_allow_list(sql, why):
    assert unsupported(rewrite(sqlglot.parse_one(sql, read="duckdb"))), why


def _spark(sql: str, columns_of=None) -> str:
    return to_spark(sql, columns_of).upper()


def _plain(sql: str) -> str:
    """What sqlglot alone writes (the silent differences the rules fix)."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0].upper()


def test_list_order_by_is_kept():
    sql = "select list(x order by y desc, z) from t"
    assert "ORDER" not in _plain(sql) and "COLLECT_LIST(X)" in _plain(sql)  # sqlglot alone drops the order
    out = _spark(sql)
    assert "ARRAY_SORT(COLLECT_LIST(STRUCT(Y AS K0, Z AS K1, X AS V))" in out and "S -> S.V" in out
    assert "R.K0 < L.K0" in out and "L.K1 < R.K1" in out  # y descending, z ascending


def test_list_keeps_nulls_and_distinct_ordered_list_keeps_one_null_last():
    assert "COLLECT_LIST(STRUCT(X AS V))" in _spark("select list(x) from t")
    out = _spark("select list(distinct x order by x) from t")
    assert out.startswith("SELECT CONCAT(SORT_ARRAY(COLLECT_SET(X)), IF(MAX(CASE WHEN X IS NULL THEN 1 ELSE 0 END) = 1, "
                          "ARRAY(NULL), ARRAY()))")
    assert "SORT_ARRAY(COLLECT_SET(X), FALSE)" in _spark("select list(distinct x order by x desc) from t")


def test_list_index_is_shifted_from_one_based():
    assert "[K]" in _plain("select ['a', 'b'][k]")  # 1-based k left as is: off by one on Spark
    assert "ELEMENT_AT(ARRAY('A', 'B'), K)" in _spark("select ['a', 'b'][k]")
    assert "ELEMENT_AT(ARR, 1)" in _spark("select arr[1] from t")
    assert "ELEMENT_AT(ARR, I)" in _spark("select list_extract(arr, i) from t")
    assert "NULLIF(ARRAY_POSITION(ARR, X), 0)" in _spark("select list_position(arr, x) from t")


def test_quantiles_are_exact():
    assert "PERCENTILE(X, 0.9)" in _spark("select quantile_cont(x, 0.9) from t")
    assert "PERCENTILE(X, 0.5)" in _spark("select median(x) from t")
    disc = _spark("select quantile_disc(x, 0.8) from t")
    assert "APPROX" not in disc and "ELEMENT_AT(SORT_ARRAY(COLLECT_LIST(X)), CAST(GREATEST(CEIL(COUNT(X) * 0.8)" \
        in disc
    assert disc.count("TRANSFORM(") == 0
    assert "TRANSFORM(CAST(:F AS ARRAY<DOUBLE>), P ->" in _spark("select quantile_disc(x, $f::double[]) from t")


def test_division_is_double_and_ieee_at_zero():
    out = _spark("select a / b from t")
    assert "CAST((A) AS DOUBLE) / CAST((B) AS DOUBLE)" in out
    assert "WHEN CAST((B) AS DOUBLE) = 0 THEN CAST((A) AS DOUBLE) * CAST('INFINITY' AS DOUBLE)" in out
    assert "CASE" not in _spark("select a / 2 from t")
    assert "AVG(CAST(D AS DOUBLE))" in _spark("select avg(d) from t")


def test_infinite_timestamps_and_epoch_of_an_interval():
    assert "'9999-12-31 23:59:59.999999'" in _spark("select 'infinity'::timestamp")
    assert "'0001-01-01 00:00:00'" in _spark("select '-infinity'::timestamp")
    assert "UNIX_TIMESTAMP(A - B)" in _plain("select epoch(a - b)")  # whole seconds of an interval: wrong
    assert "(UNIX_MICROS(CAST(A AS TIMESTAMP)) - UNIX_MICROS(CAST(B AS TIMESTAMP))) / 1000000.0" in \
        _spark("select epoch(a - b)")


def test_date_diff_counts_boundaries_as_duckdb():
    assert "DATEDIFF(MONTH, A, B)" in _plain("select date_diff('month', a, b)")  # whole months on Spark
    assert "((YEAR(B) * 12 + MONTH(B)) - (YEAR(A) * 12 + MONTH(A)))" in _spark("select date_diff('month', a, b)")
    assert "DATEDIFF(CAST(B AS DATE), CAST(A AS DATE))" in _spark("select date_diff('day', a, b)")
    assert "DIV 7" in _spark("select date_diff('week', a, b)")
    by_value = _spark("select date_diff($grain, a, b)")
    assert by_value.startswith("SELECT CASE WHEN LOWER(:GRAIN) = 'DAY'") and "'QUARTER'" in by_value
    # A unit given by a column stays that column inside the rewritten expression (not the unit 'G').
    assert "DATE_TRUNC(P.G, B.X)" in _spark("select date_diff(p.g, date_trunc(p.g, b.x)::date, p.s) from p, b")


def test_small_rules():
    assert "SIZE(CAST(:C AS ARRAY<STRING>))" in _spark("select len($c::varchar[])")
    assert "MAKE_DT_INTERVAL(CAST(:N AS INT))" in _spark("select ts + to_days($n::integer) from t")
    assert "DECIMAL(38, 0)" in _spark("select x::hugeint from t")
    assert "LIMIT CAST(:N AS INT)" in _spark("select x from t limit $n::bigint")
    assert ":START" in _spark("select x from t where d >= $start")  # parameters stay parameters


def test_star_exclude_and_replace_are_expanded_from_the_engines_columns():
    probes = []

    def columns_of(probe: str) -> list[str]:
        probes.append(probe)
        return ["a", "b", "c"]

    out = to_spark("with j as (select 1 as a, 2 as b, 3 as c) select j.* exclude (b), 1 as d from j", columns_of)
    assert out.endswith('SELECT `j`.`a`, `j`.`c`, 1 AS d FROM j')
    assert probes == ["WITH j AS (SELECT 1 AS a, 2 AS b, 3 AS c) SELECT j.* FROM j LIMIT 0"]
    out = to_spark("select * replace (b / 2 as b) from t", columns_of)
    assert out.startswith("SELECT `a`, CAST((b) AS DOUBLE) / CAST((2) AS DOUBLE) AS b, `c` FROM t")
    with pytest.raises(UntranslatableSql):
        to_spark("select * exclude (a) from t")  # no engine to name the columns
