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


# spark_engine, lake and warehouse: session fixtures in conftest.py, shared with tests/test_app_spark.py.


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


def test_validate_engine_spark_runs_every_suite_on_the_mapped_tables(warehouse, lake):
    """GX's Spark datasource on the tables Spark read from the lake: every expectation of every mapped table's
    suite runs (none raises) and the demo passes them, as it passed them on loading."""
    from engagement.intake.spark_validation import applicable_expectations
    from engagement.intake.validation import load_suite
    from engagement.warehouse.schema import TABLES

    code, out = _run(["validate", "--engine", "spark", "--table-mapping", str(lake / "mapping.toml")])
    records = json.loads(out)
    expected = sum(len(applicable_expectations(load_suite(kind), TABLES[kind].column_names))
                   for kind in warehouse.mapping.sources)
    assert expected > 50 and len(records) == expected and not [r for r in records if r["raised"]]
    assert code == 0 and all(r["success"] for r in records), [r for r in records if not r["success"]]
    orders = [r for r in records if r["table"] == "orders" and r["element_count"] is not None]
    assert orders and {r["element_count"] for r in orders} == {warehouse.table_counts()["orders"]}
