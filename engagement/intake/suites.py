"""Great Expectations suites as the intake reads them, and the results of checking a file against one.

Suites live in ``expectations/<kind>.json`` (GX 1.x suite JSON: ``name``, ``expectations`` of
``type``/``kwargs``/``meta``) and are read at run time: editing the JSON changes the checks.
``meta.level`` says what a failure means: ``file`` rejects the whole file, ``row`` rejects or
quarantines the failing rows, ``warning`` is reported and loads (sentinel dates such as 1970-01-01).
Bounds live in the suite: ``meta.parameters`` gives values for ``{"$PARAMETER": name}`` (ISO dates are
read as timestamps, e.g. ``earliest``); ``now`` is the clock plus a day of slack; ``<column>_long_before`` is
the column's 1st percentile in the file minus ``meta.long_before_years`` years (a date long before the rest
of the file). ``meta.description`` is the per-row reason, ``meta.fix`` what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from dateutil.relativedelta import relativedelta

from engagement import config

LONG_BEFORE_SUFFIX = "_long_before"
DEFAULT_LONG_BEFORE_YEARS = 10
CLOCK_SLACK = timedelta(days=1)
# The note of a row check on a column the file does not have: nothing was checked, so it neither passed nor failed.
NOT_APPLICABLE = "not applicable: the file has no such column"


@dataclass(frozen=True)
class Expectation:
    """One entry of a suite: GX type and kwargs, and our meta (level, description, fix)."""

    index: int
    type: str
    kwargs: dict
    meta: dict

    @property
    def columns(self) -> tuple[str, ...]:
        if "column" in self.kwargs:
            return (self.kwargs["column"],)
        return tuple(self.kwargs.get("column_list", ()))

    @property
    def level(self) -> str:
        return self.meta.get("level", "row")

    @property
    def description(self) -> str:
        return self.meta.get("description", self.type)

    @property
    def label(self) -> str:
        condition = f" where {self.kwargs['row_condition']}" if "row_condition" in self.kwargs else ""
        return f"{self.type}({', '.join(self.columns)}){condition}"


@dataclass(frozen=True)
class Suite:
    kind: str
    name: str
    expectations: tuple[Expectation, ...]
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(e.kwargs["column"] for e in self.expectations if e.type == "expect_column_to_exist")


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation on one file."""

    expectation: str
    column: str
    description: str
    fix: str
    level: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    engine: str
    note: str = ""

    @property
    def applicable(self) -> bool:
        return self.note != NOT_APPLICABLE

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "expectation", "column", "description", "fix", "level", "success", "element_count",
            "unexpected_count", "unexpected_percent", "engine", "note", "applicable")}


@dataclass(frozen=True)
class ValidationReport:
    """Every expectation's result, the failing rows (a sample with reasons) and how it was run."""

    kind: str
    rows: int
    engine: str
    results: tuple[ExpectationResult, ...]
    failing_row_count: int
    sample_failures: pd.DataFrame = field(compare=False, hash=False)
    seconds: float = 0.0

    @property
    def file_errors(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "file")

    @property
    def row_errors(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "row")

    @property
    def warnings(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "warning")

    @property
    def success(self) -> bool:
        """Every check passes (warnings are reported, never refuse a row)."""
        return all(r.success or r.level == "warning" for r in self.results)

    def results_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.as_dict() for r in self.results])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "rows": self.rows, "engine": self.engine, "success": self.success,
            "failing_rows": self.failing_row_count, "seconds": round(self.seconds, 3),
            "expectations": [r.as_dict() for r in self.results],
        }


def suite_path(kind: str) -> Path:
    return config.EXPECTATIONS_DIR / f"{kind}.json"


def load_suite(kind: str, path: Path | None = None) -> Suite:
    """Read ``expectations/<kind>.json``."""
    raw = json.loads((path or suite_path(kind)).read_text(encoding="utf-8"))
    expectations = tuple(
        Expectation(i, e["type"], dict(e.get("kwargs", {})), dict(e.get("meta", {})))
        for i, e in enumerate(raw["expectations"])
    )
    return Suite(kind=kind, name=raw.get("name", kind), expectations=expectations, meta=dict(raw.get("meta", {})))


def _suite_value(value: Any) -> Any:
    """An ISO date in a suite's parameters is a timestamp (a list of them: a list of timestamps)."""
    if isinstance(value, list):
        return [_suite_value(v) for v in value]
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def run_parameters(now: datetime | None = None, suite: Suite | None = None) -> dict[str, Any]:
    """Values for ``{"$PARAMETER": ...}`` in suites: ``now`` (plus one day of clock slack) and the suite's own
    ``meta.parameters`` (``earliest``, ``sentinel_dates``: bounds are edited in the JSON, not here)."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    parameters: dict[str, Any] = {"now": now + CLOCK_SLACK}
    if suite is not None:
        parameters.update({k: _suite_value(v) for k, v in suite.meta.get("parameters", {}).items()})
    return parameters


def _parameter_names(value: Any) -> list[str]:
    return [value["$PARAMETER"]] if isinstance(value, dict) and "$PARAMETER" in value else []


def file_parameters(suite: Suite, parameters: dict[str, Any],
                    first_percentile: Callable[[str], datetime | None]) -> dict[str, Any]:
    """``parameters`` completed with the suite's own and ``<column>_long_before``: the column's 1st percentile
    in this file (``first_percentile(column)``, None when empty or absent) minus ``long_before_years`` years,
    so a date far before the rest of the file (a typo, a default value) is flagged."""
    years = int(suite.meta.get("long_before_years", DEFAULT_LONG_BEFORE_YEARS))
    found = {**run_parameters(suite=suite), **parameters}
    for e in suite.expectations:
        for name in _parameter_names(e.kwargs.get("min_value")):
            if not name.endswith(LONG_BEFORE_SUFFIX) or name in found:
                continue
            value = first_percentile(name.removesuffix(LONG_BEFORE_SUFFIX))
            found[name] = value - relativedelta(years=years) if value is not None else found.get("earliest")
    return found


def long_before_columns(suite: Suite) -> tuple[str, ...]:
    """The columns whose 1st percentile :func:`file_parameters` asks for (the suite's long-before bounds)."""
    return tuple(dict.fromkeys(
        name.removesuffix(LONG_BEFORE_SUFFIX) for e in suite.expectations
        for name in _parameter_names(e.kwargs.get("min_value")) if name.endswith(LONG_BEFORE_SUFFIX)))


def resolve_parameter(value: Any, parameters: dict[str, Any]) -> Any:
    """A kwarg's value, or the parameter it names (``{"$PARAMETER": name}``)."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value
