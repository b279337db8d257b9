"""Validating the brand's mapped tables in warehouse mode, before the first report: the same Great Expectations
suites (``expectations/<kind>.json``) through GX's Spark datasource, on the tables as Spark reads them.

The frames are the mapped tables' temporary views (read from the brand's files or catalog by Spark), never
``createDataFrame`` from pandas: that turns a pandas 3 ``str`` column's missing values into the string 'NaN'.
The suites' pandas row conditions (``kind=="nps"``) are written as the Spark SQL GX's Spark engine filters with
(``kind = 'nps'``).
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from datetime import datetime
from typing import Any

from engagement.intake.gx_checks import expectation_outcome
from engagement.intake.suites import file_parameters, load_suite, run_parameters

_PANDAS_CONDITION = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*"([^"]*)"\s*$')


def spark_kwargs(kwargs: dict) -> dict:
    """An expectation's kwargs for GX's Spark engine: a pandas ``column=="value"`` row condition in Spark syntax.

    >>> spark_kwargs({"column": "score", "row_condition": 'kind=="nps"', "condition_parser": "pandas"})
    {'column': 'score', 'row_condition': "kind = 'nps'", 'condition_parser': 'spark'}
    """
    if "row_condition" not in kwargs:
        return dict(kwargs)
    match = _PANDAS_CONDITION.match(kwargs["row_condition"])
    if match is None:
        raise ValueError(f"row condition {kwargs['row_condition']!r} has no Spark form here (only column==\"value\")")
    value = match.group(2).replace("'", "''")
    # GX's Spark engine filters with the condition as a Spark SQL expression (df.filter(text)).
    return {**kwargs, "row_condition": f"{match.group(1)} = '{value}'", "condition_parser": "spark"}


def applicable_expectations(suite, columns) -> list:
    """The suite's expectations on the mapped table's columns (and the table-level ones): the checks intake
    adds on derived columns of a file (``created_at_parses``) have no column in a mapped table."""
    present = set(columns)
    return [e for e in suite.expectations
            if e.type == "expect_table_row_count_to_be_between" or all(c in present for c in e.columns)]


def validate_mapped_tables(store) -> list[dict[str, Any]]:
    """Run each mapped table's suite on Spark (``store``: a ``SparkStore``); one record per expectation:
    table, expectation, level, success, unexpected_count, element_count, observed_value."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from engagement.intake.gx_import import require_spark_support

    require_spark_support()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_spark("warehouse")
    records = []
    for kind in store.mapping.sources:
        frame = store.engine.session.table(kind)
        suite = load_suite(kind)
        parameters = file_parameters(suite, run_parameters(suite=suite), lambda column: _first_percentile(frame, column))
        batch = source.add_dataframe_asset(kind).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame})
        with warnings.catch_warnings():  # string row conditions: deprecated in GX 1.9+, supported through 1.x
            warnings.filterwarnings("ignore", message=".*row_condition.*|.*condition_parser.*")
            gx_suite = gx.ExpectationSuite(name=f"{suite.name}_spark", expectations=[
                {"type": e.type, "kwargs": spark_kwargs(e.kwargs), "meta": {**e.meta, "index": e.index}}
                for e in applicable_expectations(suite, frame.columns)])
            outcome = batch.validate(gx_suite, result_format="SUMMARY", expectation_parameters=parameters)
        by_index = {e.index: e for e in suite.expectations}
        for result in outcome.results:
            expectation = by_index[result.expectation_config.meta["index"]]
            records.append({"table": kind, "expectation": expectation.label, "level": expectation.level,
                            **expectation_outcome(result)})
    return records


def _first_percentile(frame, column: str) -> datetime | None:
    """The column's 1st percentile, the lower value (pandas' ``quantile(0.01, interpolation="lower")``)."""
    from pyspark.sql import functions as F

    values = frame.select(column).where(F.col(column).isNotNull())
    n = values.count()
    if n == 0:
        return None
    rank = math.floor((n - 1) * 0.01)
    return values.orderBy(column).limit(rank + 1).collect()[-1][0]
