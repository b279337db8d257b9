"""Great Expectations and the SQL checks give the same result, expectation by expectation, on the same file, for
every export kind (test_validation.py checks orders against a hand count; this covers the other kinds too).

Which validator runs is a size rule (``validation.choose_engine``); a file GX validates is also checked by the SQL
translation, and a disagreement refuses it (``gx_checks.merge_with_sql_counts``). So the two must agree on every kind, and on
files with failures, not only on clean ones."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from engagement.intake import gx_checks, readers, sources, sql_checks, staging, suites
from engagement.intake.demo import generate_demo
from engagement.warehouse.schema import KINDS, TABLES
from engagement.workbench import open_workbench

NOW = datetime(2026, 1, 1)
ROWS = 40


def _with_failures(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The first ROWS rows as text, with failures planted: the first row twice (a duplicate key), a required
    column blank, an unreadable date/time and a number that is text, and an unknown customer."""
    text = frame.head(ROWS).astype("string").reset_index(drop=True)
    required = [c for c in TABLES[kind].required_columns if c in text.columns]
    timestamps = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    text.loc[1, required[-1]] = pd.NA
    if timestamps:
        text.loc[2, timestamps[0]] = "soon"
    if numbers:
        text.loc[3, numbers[0]] = "n/a"
    if "customer_id" in text.columns:
        text.loc[4, "customer_id"] = "ZZ-unknown"
    return pd.concat([text, text.head(1)], ignore_index=True)


@pytest.fixture(scope="module")
def demo_frames():
    return generate_demo(customers=80, seed=42)


@pytest.mark.parametrize("kind", KINDS)
def test_great_expectations_and_the_sql_checks_agree_on_every_kind(kind, demo_frames, tmp_path):
    store = open_workbench(":memory:", read_only=False, readable=(tmp_path,))
    try:
        store.load_frame("customers", demo_frames["customers"])
        if kind == "experiment_assignments":
            store.load_frame("experiments", demo_frames["experiments"])
        path = tmp_path / f"{kind}.csv"
        _with_failures(kind, demo_frames[kind]).to_csv(path, index=False)
        cur = store.cursor()
        info = readers.read_into(cur, path)
        suite = suites.load_suite(kind)
        plan = sources.plan(kind, info.columns, "canonical", False, required=suite.required_columns)
        staged = staging.stage(cur, kind, plan.select_sql, False, strict_customers=True)
        columns = staged.columns + staged.parse_flags + staged.computed
        parameters = suites.run_parameters(NOW, suite)
        sql_results, failing = sql_checks.run_sql_checks(cur, suite, columns, staged.columns, staged.rows,
                                                         parameters)
        frame = cur.execute(f"SELECT {', '.join(columns)} FROM {staging.CHECKED_TABLE}").df()
        gx = gx_checks.run_great_expectations(frame, suite, parameters)
    finally:
        store.close()
    compared = counted = 0
    for expectation, sql in zip(suite.expectations, sql_results):
        if expectation.index not in gx or sql.note.startswith("not applicable"):
            continue
        outcome = gx[expectation.index]
        assert not outcome["raised"], expectation.label
        assert outcome["success"] == sql.success, expectation.label
        if outcome["unexpected_count"] is not None:
            assert int(outcome["unexpected_count"]) == sql.unexpected_count, expectation.label
            compared += 1
            counted += bool(sql.unexpected_count)
    assert failing >= 2 and counted >= 2, (kind, failing, counted)  # the planted failures were seen by both
    assert compared >= 4, kind
