"""Warehouse mode's parity suite (marker ``spark``; ``pytest -m spark`` runs it alone): the demo exported with
``lake export``, mapped back through the table mapping ``lake export`` wrote, and on Spark every derived table and
every report command equals DuckDB's (relative 1e-9; rows compared as sets where a table has no order).

Generic on purpose: it iterates over whatever derived tables (``engagement.derived``) and report commands
(``engagement.cli``) exist, so a new table or report is checked without editing this file.

One SparkSession for the whole session, local[2] with 2 shuffle partitions (the machine has 2 cores).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import shutil
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from engagement.cli import build_parser, main
from engagement.derived import BUILD_ORDER, BY_NAME

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="warehouse mode needs Java (pyspark starts a JVM)"),
]

REL = 1e-9
# Columns and report fields that measure time, not data.
NOT_COMPARED = ("fit_seconds", "seconds")
# The churn sample's size here: smaller than the demo's buyers so that the md5 sample is drawn (the model's own is
# 100,000; ENGAGEMENT_SPARK_SAMPLE sets another, e.g. above 100,000 on a larger demo).
SAMPLE = int(os.environ.get("ENGAGEMENT_SPARK_SAMPLE", "700"))
DERIVED = [table for name in BUILD_ORDER for table in (name, *BY_NAME[name].tables)]
REPORTS = sorted(name for name in build_parser()._subparsers._group_actions[0].choices["report"]
                 ._subparsers._group_actions[0].choices if name != "loads")


# spark_engine, lake and warehouse: session fixtures in conftest.py (one Spark session for every Spark test).


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


# ------------------------------------------------------------------ comparison
def _value(value):
    """One cell as a plain comparable value: numbers as float, moments as ISO text, lists as tuples."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_value(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _value(v)) for k, v in value.items()))
    if hasattr(value, "asDict"):  # a Spark Row (struct)
        return _value(value.asDict())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        if isinstance(value, dt.datetime) and value.year >= 9999 or str(value) == "infinity":
            return "infinity"  # Spark's largest timestamp stands for DuckDB's 'infinity'
        if isinstance(value, dt.datetime) and value.year <= 1 or str(value) == "-infinity":
            return "-infinity"
        if isinstance(value, dt.datetime) and value == dt.datetime.combine(value.date(), dt.time()):
            return value.date().isoformat()  # a DATE read back as a midnight timestamp
        return value.isoformat()
    return value


def _same(a, b, where: str) -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-12) or (math.isinf(a) and a == b), f"{where}: {a} != {b}"
    elif isinstance(a, tuple) and isinstance(b, tuple):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_frames_match(duck: pd.DataFrame, spark: pd.DataFrame, name: str) -> None:
    """Same columns, and the same rows as a multiset (sorted by their text), cells equal to 1e-9."""
    assert list(spark.columns) == list(duck.columns), name
    columns = [c for c in duck.columns if not c.endswith(NOT_COMPARED)]
    rows = [sorted((tuple(_value(v) for v in row) for row in frame[columns].itertuples(index=False, name=None)),
                   key=repr) for frame in (duck, spark)]
    assert len(rows[0]) == len(rows[1]), f"{name}: {len(rows[0])} rows on DuckDB, {len(rows[1])} on Spark"
    for i, (x, y) in enumerate(zip(*rows)):
        _same(x, y, f"{name} row {i} {columns}")


def assert_json_match(duck, spark, where: str = "") -> None:
    if isinstance(duck, dict):
        assert isinstance(spark, dict) and set(duck) == set(spark), f"{where}: keys differ"
        for key in duck:
            if not key.endswith(NOT_COMPARED):
                assert_json_match(duck[key], spark[key], f"{where}.{key}")
    elif isinstance(duck, list):
        assert isinstance(spark, list) and len(duck) == len(spark), f"{where}: lengths differ"
        try:
            for i, (x, y) in enumerate(zip(duck, spark)):
                assert_json_match(x, y, f"{where}[{i}]")
        except AssertionError:  # the same items in another order (ties in an order, or no order)
            key = lambda item: json.dumps(item, sort_keys=True, default=str)  # noqa: E731
            for i, (x, y) in enumerate(zip(sorted(duck, key=key), sorted(spark, key=key))):
                assert_json_match(x, y, f"{where}[sorted {i}]")
    elif isinstance(duck, float) or isinstance(spark, float):
        assert duck is not None and spark is not None, f"{where}: {duck} != {spark}"
        assert math.isclose(duck, spark, rel_tol=REL, abs_tol=1e-12), f"{where}: {duck} != {spark}"
    else:
        assert duck == spark, f"{where}: {duck!r} != {spark!r}"


# ------------------------------------------------------------------ the suite
@pytest.mark.parametrize("table", DERIVED)
def test_every_derived_table_on_spark_equals_duckdb(table, warehouse, demo_store):
    duck = demo_store.cursor().execute(f'SELECT * FROM "{table}"').df()
    spark = warehouse.cursor().execute(f"SELECT * FROM {table}").df()
    assert_frames_match(duck, spark, table)


@pytest.mark.parametrize("report", REPORTS)
def test_every_report_on_spark_equals_duckdb(report, warehouse, lake, demo_db_path, demo_store):
    args = [report]
    if report == "experiment":  # the one report that needs an argument: the demo's first experiment
        args.append(demo_store.cursor().execute("SELECT min(experiment_id) FROM experiment_assignments")
                    .fetchall()[0][0])
    code, duck = _run(["report", *args, "--db", str(demo_db_path), "--format", "json"])
    assert code == 0
    code, spark = _run(["report", *args, "--engine", "spark", "--mapping", str(lake / "mapping.toml"),
                        "--format", "json"])
    assert code == 0
    assert_json_match(json.loads(duck), json.loads(spark), report)


def test_views_filtered_by_stage_on_spark_equal_duckdb(warehouse, demo_store):
    """cohort_cells and purchase_days carry no lifecycle stage: with a stage filter the cohort matrix, the window
    totals and the monthly AOV read purchases instead (a branch no report takes with its default filters)."""
    from engagement.filters import Filters
    from engagement.retention.cohorts import retention_matrix
    from engagement.value.kpis import aov_by_month, window_totals

    as_of = demo_store.cursor().execute("SELECT as_of FROM dataset_facts").fetchall()[0][0]
    filters = Filters(as_of.date() - dt.timedelta(days=540), as_of.date(), channels=(),
                      segments=("repeat", "at_risk", "vip"))
    for grain, split in (("month", "discount"), ("week", "channel")):
        duck, spark = (retention_matrix(store, filters, grain, split) for store in (demo_store, warehouse))
        assert len(duck.cells) > 0
        assert_frames_match(duck.cells, spark.cells, f"cohorts {grain}")
        assert_frames_match(duck.averages, spark.averages, f"cohort averages {grain}")
    assert_json_match(window_totals(demo_store, filters), window_totals(warehouse, filters), "window totals")
    assert_frames_match(aov_by_month(demo_store, filters), aov_by_month(warehouse, filters), "AOV by month")

def test_the_churn_sample_drawn_by_md5_is_the_same_on_spark(warehouse, demo_store):
    """A sample smaller than the buyers before the cutoff, so the md5 order decides who is in it."""
    cutoff = demo_store.cursor().execute("SELECT as_of - INTERVAL 60 DAY FROM dataset_facts").fetchall()[0][0]
    params = {"cutoff": cutoff, "label_end": cutoff + dt.timedelta(days=60), "channels": [], "segments": [],
              "sample_customers": SAMPLE}
    duck = demo_store.query("churn/churn_features", params)
    spark = warehouse.query("churn/churn_features", params)
    buyers = demo_store.query("churn/churn_features", {**params, "sample_customers": None})
    assert len(duck) == SAMPLE < len(buyers)
    assert_frames_match(duck, spark, "churn/churn_features sample")


# Each silent difference the rules fix, on a few rows: DuckDB's answer is the reference, and the value sqlglot
# alone would give on Spark is in the comment.
RULE_CASES = {
    "ordered list": ("list(x order by y desc)", ),                   # collect_list: any order
    "list keeps NULLs": ("list(z order by y)", ),                    # collect_list drops NULL
    "distinct ordered list with NULL": ("list(distinct z order by z)", ),
    "1-based index by value": ("(list(x order by y))[max(k)]", ),        # arr[k] on Spark is 0-based
    "quantile_disc exact": ("quantile_disc(x, 0.85)", ),            # percentile_approx
    "quantile_disc list": ("quantile_disc(x, [0.1, 0.5, 0.85])", ),
    "quantile_cont": ("quantile_cont(x, 0.3)", ),
    "decimal division": ("sum(d) / sum(e)", ),                        # DECIMAL with 6 places on Spark
    "average of decimals": ("avg(d)", ),
    "division by zero": ("sum(x) / sum(0)", ),                        # NULL on Spark, inf on DuckDB
    "epoch of an interval": ("epoch(max(t) - min(t))", ),             # whole seconds on Spark
    "date_diff month boundaries": ("date_diff('month', min(t), max(t))", ),  # whole months on Spark
    "date_diff week": ("date_diff('week', min(t), max(t))", ),
    "infinity": ("count(*) filter (where t < 'infinity'::timestamp)", ),
    "md5 order": ("list(x order by md5(x::varchar))", ),
}
RULE_TABLE = """(select * from (values
    (1, 3, 'a', 1.10::decimal(18,2), 3.00::decimal(18,2), TIMESTAMP '2025-01-31 23:00:00.25', 2),
    (2, 1, null, 2.20::decimal(18,2), 7.00::decimal(18,2), TIMESTAMP '2025-03-01 01:00:00.5', 2),
    (3, 2, 'b', 3.30::decimal(18,2), 1.00::decimal(18,2), TIMESTAMP '2025-02-14 12:00:00', 2),
    (4, 5, null, 0.01::decimal(18,2), 9.00::decimal(18,2), TIMESTAMP '2025-01-06 00:00:00', 2),
    (5, 4, 'c', 5.55::decimal(18,2), 2.00::decimal(18,2), TIMESTAMP '2025-04-02 06:30:00', 2)
) as v(x, y, z, d, e, t, k))"""


@pytest.mark.parametrize("case", RULE_CASES)
def test_each_rule_gives_duckdbs_answer_on_spark(case, spark_engine, demo_store):
    sql = f"select {RULE_CASES[case][0]} as value from {RULE_TABLE}"
    duck = demo_store.cursor().execute(sql).df()
    spark = spark_engine.frame(None, sql)
    assert_frames_match(duck, spark, case)


def test_a_table_built_from_tables_holds_its_rows_not_their_plans(spark_engine):
    """``CREATE TABLE x AS`` on Spark keeps x's rows with no trace of what it was computed from: a view that kept
    its lineage made every later statement analyse again the plans of every table upstream of it (the derived
    tables read each other), which took minutes per statement on a few thousand rows. Replacing a table that its
    own statement reads (customer_keys' build) works, and frees the replaced table's blocks."""
    spark_engine.session.range(1000).createOrReplaceTempView("lineage_base")
    cur = spark_engine.cursor()
    cur.execute("CREATE OR REPLACE TABLE lineage_a AS SELECT id AS i, id % 7 AS k FROM lineage_base")
    cur.execute("CREATE OR REPLACE TABLE lineage_b AS SELECT x.k, count(*) AS n "
                "FROM lineage_a AS x JOIN lineage_a AS y ON x.k = y.k GROUP BY x.k")
    plan = spark_engine.session.table("lineage_b")._jdf.queryExecution().analyzed().treeString()
    assert not [word for word in ("lineage_a", "lineage_base", "Range", "Join") if word in plan], plan
    assert cur.execute("SELECT sum(n) FROM lineage_b").fetchall() == [(sum(c * c for c in [143] * 6 + [142]),)]
    blocks = len(spark_engine.session.sparkContext._jsc.getPersistentRDDs())
    cur.execute("CREATE OR REPLACE TABLE lineage_a AS SELECT i + 1 AS i, k FROM lineage_a")
    assert cur.execute("SELECT min(i), max(i), count(*) FROM lineage_a").fetchall() == [(1, 1000, 1000)]
    assert len(spark_engine.session.sparkContext._jsc.getPersistentRDDs()) == blocks
    for name in ("lineage_a", "lineage_b"):
        cur.execute(f"DROP TABLE {name}")
    assert len(spark_engine.session.sparkContext._jsc.getPersistentRDDs()) == blocks - 2


def test_validate_engine_spark_runs_every_suite_on_the_mapped_tables(warehouse, lake):
    """GX's Spark datasource on the tables Spark read from the lake: every expectation of every mapped table's
    suite runs (none raises) and the demo passes them, as it passed them on loading."""
    from engagement.intake.spark_validation import applicable_expectations
    from engagement.intake.suites import load_suite
    from engagement.warehouse.schema import TABLES

    code, out = _run(["validate", "--engine", "spark", "--table-mapping", str(lake / "mapping.toml")])
    records = json.loads(out)
    expected = sum(len(applicable_expectations(load_suite(kind), TABLES[kind].column_names))
                   for kind in warehouse.mapping.sources)
    assert expected > 50 and len(records) == expected and not [r for r in records if r["raised"]]
    assert code == 0 and all(r["success"] for r in records), [r for r in records if not r["success"]]
    orders = [r for r in records if r["table"] == "orders" and r["element_count"] is not None]
    assert orders and {r["element_count"] for r in orders} == {warehouse.table_counts()["orders"]}


# ------------------------------------------------------------------ churn scoring on Spark
def test_churn_scoring_on_spark_leaves_every_customers_features_on_the_executors(warehouse, demo_store, monkeypatch):
    """A fit on demand (a horizon other than the stored one) scores every current customer through mapInPandas:
    no table of every customer's features reaches the driver, and the result equals DuckDB's."""
    from pyspark.sql.classic.dataframe import DataFrame

    from engagement.retention.churn import fit_churn_model

    collected: list[tuple[tuple[str, ...], int]] = []
    to_arrow, collect = DataFrame.toArrow, DataFrame.collect

    def spy_to_arrow(frame):
        table = to_arrow(frame)
        collected.append((tuple(table.column_names), table.num_rows))
        return table

    def spy_collect(frame):
        rows = collect(frame)
        collected.append((tuple(frame.columns), len(rows)))
        return rows

    monkeypatch.setattr(DataFrame, "toArrow", spy_to_arrow)
    monkeypatch.setattr(DataFrame, "collect", spy_collect)
    spark = fit_churn_model(warehouse, 60)
    monkeypatch.undo()
    everyone = demo_store.cursor().execute("SELECT count(*) FROM churn_current_features").fetchall()[0][0]
    feature_tables = [rows for columns, rows in collected if "recency_days" in columns]
    assert feature_tables and max(feature_tables) < everyone  # the training sample came; the current rows did not
    duck = fit_churn_model(demo_store, 60)
    assert len(duck.at_risk_customers) > 0 and duck.risk_bands["customers"].sum() == everyone
    for field in ("risk_bands", "at_risk_customers", "calibration", "feature_importance"):
        assert_frames_match(getattr(duck, field), getattr(spark, field), field)
    assert_json_match(duck.auc, spark.auc, "auc")


# A population larger than the churn model's own training sample (100,000), so that the md5 order decides who is in
# it at the model's scale: built in DuckDB SQL (cheap, exact types) and handed to a separate Spark session as Arrow,
# without building the demo's derived tables at that size. Grain of each table as derived/<table>.sql's.
POPULATION = 120_000
SYNTHETIC = {
    "customer_summary": f"""
        select 'c' || lpad(i::varchar, 6, '0') as customer_id, i % 3 = 0 as is_loyalty_member,
               i % 5 <> 0 as accepts_marketing, ['paid_social', 'referral', 'organic_search'][1 + i % 3]
               as acquisition_channel, 'active' as lifecycle_stage,
               TIMESTAMP '2024-01-01' + to_days((i * 7919) % 540) as first_order_at
        from range({POPULATION}) as r(i)""",
    "order_facts": """
        select s.customer_id, s.first_order_at + to_days(k * (17 + (i * 31) % 97)) as ordered_at,
               (5 + (i * 37 + k * 11) % 20000 / 100)::decimal(18, 2) as net_revenue,
               ((i + k) % 4 = 0)::integer * 2.50::decimal(18, 2) as discount
        from (select *, row_number() over (order by customer_id) - 1 as i from customer_summary) as s,
             range(3) as n(k)
        where k < 1 + i % 3""",
    "events": """
        select customer_id, ['site_visit', 'product_view', 'email_click', 'email_open', 'sms_click',
               'support_ticket'][1 + ordinal % 6] as event_type, ordered_at - to_days(ordinal % 9) as occurred_at
        from (select *, row_number() over (order by customer_id, ordered_at) as ordinal from order_facts)
        where ordinal % 4 = 0""",
    "messages": """
        select customer_id, ordered_at - to_days(3) as sent_at from order_facts where net_revenue > 150""",
    "surveys": """
        select customer_id, 'nps' as kind, (length(customer_id) + ordinal % 11)::integer as score,
               ordered_at + to_days(2) as responded_at
        from (select *, row_number() over (order by customer_id, ordered_at) as ordinal from order_facts)
        where ordinal % 6 = 0""",
}


@pytest.fixture(scope="module")
def population(spark_engine, tmp_path_factory):
    """(DuckDB connection, SparkEngine) holding the same synthetic tables; the Spark side reads them from Parquet
    (as it reads a lake) in its own session (own temporary views: the demo's warehouse keeps its tables)."""
    import duckdb

    from engagement.warehouse.engine import SparkEngine

    folder = tmp_path_factory.mktemp("population")
    con = duckdb.connect()
    session = spark_engine.session.newSession()
    for key in ("spark.sql.session.timeZone", "spark.sql.ansi.enabled", "spark.sql.shuffle.partitions",
                "spark.sql.execution.arrow.pyspark.enabled"):
        session.conf.set(key, spark_engine.session.conf.get(key))
    for name, sql in SYNTHETIC.items():
        con.execute(f"CREATE TABLE {name} AS {sql}")
        con.execute(f"COPY {name} TO '{folder / name}.parquet' (FORMAT parquet)")
        session.read.parquet(str(folder / f"{name}.parquet")).createOrReplaceTempView(name)
    yield con, SparkEngine(session)
    con.close()


def test_churn_sample_and_scores_at_more_than_the_models_sample(population):
    """The md5 sample of 100,000 among 120,000 buyers is the same customers with the same features on both
    engines, and every customer's risk scored on Spark (mapInPandas) equals the DuckDB path's, as do the bands
    and the at-risk list."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from engagement.retention import churn
    from engagement.retention.churn_scoring import spark_risk_summaries, spark_scores
    from engagement.sql import read_sql
    from engagement.warehouse.engine import DuckDBEngine

    con, spark = population
    sql = read_sql("churn/churn_features")
    cutoff = dt.datetime(2025, 6, 1)
    training = {"cutoff": cutoff, "label_end": cutoff + dt.timedelta(days=90), "channels": [], "segments": [],
                "sample_customers": churn.TRAINING_SAMPLE_CUSTOMERS}
    duck = DuckDBEngine().frame(con, sql, training)
    on_spark = spark.frame(None, sql, training)
    buyers = con.execute("SELECT count(*) FROM customer_summary WHERE first_order_at < $c", {"c": cutoff}).fetchall()
    assert len(duck) == churn.TRAINING_SAMPLE_CUSTOMERS < buyers[0][0] <= POPULATION
    assert on_spark["customer_id"].tolist() == duck["customer_id"].tolist()  # both ordered by id
    for name in (*churn.FEATURES, "is_churned"):
        np.testing.assert_allclose(on_spark[name].to_numpy(float), duck[name].to_numpy(float), rtol=REL, err_msg=name)
    assert 0 < duck["is_churned"].mean() < 1

    model = HistGradientBoostingClassifier(**churn.MODEL_PARAMETERS, random_state=churn.RANDOM_STATE)
    model.fit(churn._feature_matrix(duck), duck["is_churned"].to_numpy())
    current = {**training, "sample_customers": None}  # every buyer, scored as of the training cutoff
    duck_current = DuckDBEngine().arrow(con, sql, current)
    duck_risk = churn._predicted_risk(model, duck_current)
    scored = spark_scores(spark.dataframe(sql, current), model, churn.FEATURES).cache()  # read twice below
    spark_risk = scored.select("customer_id", "churn_risk").toArrow().to_pandas().set_index("customer_id")
    assert len(spark_risk) == len(duck_risk) == buyers[0][0]
    np.testing.assert_allclose(spark_risk.loc[duck_current["customer_id"].to_pylist(), "churn_risk"].to_numpy(),
                               duck_risk, rtol=REL, atol=1e-12)
    assert 0.05 < (duck_risk >= 0.5).mean() < 0.95  # both sides of the list's threshold are exercised
    revenue = duck_current["revenue"].to_numpy()
    bands, listed = spark_risk_summaries(scored, churn.AT_RISK_LIST_SIZE)
    assert_frames_match(churn._risk_bands(duck_risk, revenue), bands, "risk bands")
    at_risk = churn._at_risk_customers(duck_current, duck_risk, revenue)
    assert len(at_risk) == churn.AT_RISK_LIST_SIZE
    pd.testing.assert_frame_equal(at_risk.drop(columns="churn_risk"), listed.drop(columns="churn_risk"))
    np.testing.assert_allclose(listed["churn_risk"], at_risk["churn_risk"], rtol=REL)
