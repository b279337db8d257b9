"""The Great Expectations evaluator of a suite: GX 1.x, pandas engine, ``SUMMARY`` result format (counts only;
``COMPLETE`` costs seconds and gigabytes when many rows fail). Its counts must equal the SQL evaluator's
(:func:`merge_with_sql_counts`), or the file is refused: a disagreement means one of the two is wrong."""

from __future__ import annotations

import os
import warnings
from datetime import datetime
from typing import Any

import pandas as pd

from engagement.intake.suites import ExpectationResult, Suite, file_parameters


def run_great_expectations(frame: pd.DataFrame, suite: Suite,
                           parameters: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Run the suite with GX 1.x on pandas; {expectation index: success/counts}. Missing columns skipped."""
    import logging

    import great_expectations as gx

    def first_percentile(column: str) -> datetime | None:
        if column not in frame.columns or frame[column].notna().sum() == 0:
            return None
        return pd.Timestamp(frame[column].dropna().quantile(0.01, interpolation="lower")).to_pydatetime()

    parameters = file_parameters(suite, parameters, first_percentile)
    frame = _nanosecond_timestamps(frame)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    applicable = [e for e in suite.expectations
                  if e.type == "expect_table_row_count_to_be_between" or all(c in frame.columns for c in e.columns)]
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("intake").add_dataframe_asset(suite.kind)
        .add_batch_definition_whole_dataframe("whole_file")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    with warnings.catch_warnings():
        # GX 1.9+ deprecates string row conditions in favour of Condition objects, which its suite JSON
        # cannot express as readably; the string form is still supported throughout 1.x. It warns when the
        # suite is built and again when it runs.
        warnings.filterwarnings("ignore", message=".*row_condition.*|.*condition_parser.*")
        gx_suite = gx.ExpectationSuite(name=suite.name, expectations=[
            {"type": e.type, "kwargs": e.kwargs, "meta": {**e.meta, "index": e.index}} for e in applicable
        ])
        outcome = batch.validate(gx_suite, result_format="SUMMARY", expectation_parameters=parameters)
    return {result.expectation_config.meta["index"]: expectation_outcome(result) for result in outcome.results}


def expectation_outcome(result: Any) -> dict[str, Any]:
    """One GX ``ExpectationValidationResult`` as the row both validators report (pandas here, Spark in
    ``spark_validation.py``): success, counts, observed value and whether the check itself raised."""
    return {
        "success": bool(result.success),
        "unexpected_count": result.result.get("unexpected_count"),
        "element_count": result.result.get("element_count"),
        "observed_value": result.result.get("observed_value"),
        "raised": bool(result.exception_info.get("raised_exception")) if result.exception_info else False,
    }


def _nanosecond_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamp columns in nanoseconds where every value fits (1677-2262): GX compares datetime64[ns] columns
    with its bounds in one vectorised step and any other resolution (DuckDB gives microseconds) one value at a
    time in Python (measured on Online Retail's 25,900 orders: 0.94 s of the 1.6 s GX took, for two columns)."""
    low, high = pd.Timestamp.min, pd.Timestamp.max
    converted = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_datetime64_ns_dtype(dtype):
            continue
        values = frame[column].dropna()
        tz = getattr(dtype, "tz", None)
        bounds = (low.tz_localize(tz), high.tz_localize(tz)) if tz is not None else (low, high)
        if values.empty or (values.min() >= bounds[0] and values.max() <= bounds[1]):
            converted[column] = frame[column].astype(f"datetime64[ns, {tz}]" if tz is not None else "datetime64[ns]")
    return frame.assign(**converted) if converted else frame


def merge_with_sql_counts(sql_results: list[ExpectationResult], gx_results: dict[int, dict[str, Any]],
           suite: Suite) -> list[ExpectationResult]:
    """GX decides pass/fail; its counts must match the SQL counts, else the expectation fails."""
    merged = []
    for e, sql in zip(suite.expectations, sql_results):
        gx_result = gx_results.get(e.index)
        if gx_result is None or not sql.applicable:
            merged.append(sql)
            continue
        gx_count = gx_result["unexpected_count"]
        agree = (gx_result["success"] == sql.success
                 and (gx_count is None or sql.unexpected_count is None or int(gx_count) == sql.unexpected_count))
        note = sql.note
        if gx_result["raised"]:
            agree, note = False, "GX raised an error on this expectation"
        elif not agree:
            note = (f"GX and the row checks disagree (GX: success={gx_result['success']}, unexpected={gx_count}; "
                    f"rows: {sql.unexpected_count}); the file is refused until this is resolved")
        merged.append(ExpectationResult(
            sql.expectation, sql.column, sql.description, sql.fix, "file" if not agree else sql.level,
            gx_result["success"] and agree, sql.element_count,
            int(gx_count) if gx_count is not None else sql.unexpected_count, sql.unexpected_percent,
            "great_expectations", note,
        ))
    return merged
