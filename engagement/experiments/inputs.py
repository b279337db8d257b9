"""Experiment inputs that do not come from the store: per-unit results files and typed-in summaries.

A per-unit file (one row per unit: a variant column, metric columns, optional covariate and segment
columns) is reshaped to one row per unit and metric and aggregated in DuckDB
(``sql/experiments/unit_stats.sql``); typed-in numbers are already sufficient statistics. Both end in
:func:`engagement.experiments.analysis.analyze`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Sequence

import duckdb
import pandas as pd

from engagement.warehouse import sandbox
from engagement.experiments.analysis import (
    ALL_SEGMENTS, AnalysisOptions, ExperimentAnalysis, ExperimentInputError, MetricSpec, analyze, with_options,
)
from engagement.sql import read_sql


# ----------------------------------------------------------------- per-unit files
def read_unit_file(source: str | Path | IO[bytes], file_name: str | None = None) -> pd.DataFrame:
    """Read a per-unit results file (CSV, optionally gzipped, or Parquet)."""
    name = str(file_name or source).lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(source)
        return pd.read_csv(source, compression="gzip" if name.endswith(".gz") else "infer")
    except FileNotFoundError:
        raise ExperimentInputError(f"No file at {source}.") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ExperimentInputError(f"Could not read {file_name or source} as CSV or Parquet: {exc}") from None


VARIANT_NAMES = ("variant", "arm", "group", "treatment", "segment", "bucket", "cell", "test_group", "variation")


def guess_variant_column(frame: pd.DataFrame) -> str | None:
    """The column that most likely names each unit's arm: one named like it (``VARIANT_NAMES``: Hillstrom's
    ``segment``), else the first text column with 2 to 20 distinct values that repeat (not a unit id), else the
    first column; None for no columns. The page offers it first; the analyst can pick another."""
    columns = list(frame.columns)
    named = [c for c in columns if str(c).strip().lower() in VARIANT_NAMES]
    if named:
        return named[0]
    for column in columns:
        values = frame[column]
        distinct = values.nunique(dropna=True)
        if not pd.api.types.is_numeric_dtype(values) and 2 <= distinct <= 20 and distinct < len(values):
            return column
    return columns[0] if columns else None


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        example = frame.loc[bad, column].iloc[0]
        raise ExperimentInputError(
            f"Column {column!r} must hold numbers; row {int(bad.idxmax()) + 2} holds {example!r} "
            f"({int(bad.sum()):,} non-numeric row(s) in all).")
    return values.astype(float)


def unit_file_stats(frame: pd.DataFrame, variant_column: str, metrics: Sequence[str],
                    covariate: str | None = None, segment_column: str | None = None,
                    ) -> tuple[pd.DataFrame, dict[str, MetricSpec], dict[str, int], list[str]]:
    """Sufficient statistics of a per-unit file, aggregated in DuckDB.

    Returns (stats, metric specs, units per variant, notes). A metric whose values are all 0 or 1 is
    analysed as a proportion, any other as a mean.
    """
    needed = [variant_column, *metrics, *([covariate] if covariate else []), *([segment_column] if segment_column
                                                                              else [])]
    absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if absent:
        raise ExperimentInputError(f"The file has no column(s) {', '.join(map(repr, absent))}; its columns are: "
                                   f"{', '.join(map(str, frame.columns))}.")
    if not metrics:
        raise ExperimentInputError("Pick at least one metric column.")
    notes: list[str] = []
    rows = frame[frame[variant_column].notna()]
    if len(rows) < len(frame):
        notes.append(f"{len(frame) - len(rows):,} rows without a variant were left out.")
    base = pd.DataFrame({
        "segment": rows[segment_column].astype(str) if segment_column else ALL_SEGMENTS,
        "variant": rows[variant_column].astype(str),
        "covariate": _numeric(rows, covariate) if covariate else float("nan"),
    })
    specs: dict[str, MetricSpec] = {}
    parts = []
    for metric in metrics:
        values = _numeric(rows, metric)
        missing = int(values.isna().sum())
        if missing:
            notes.append(f"{missing:,} rows without a value of {metric!r} were left out of that metric.")
        is_binary = bool(values.dropna().isin([0.0, 1.0]).all())
        specs[metric] = MetricSpec(metric, metric, "binary" if is_binary else "continuous",
                                   "share" if is_binary else "count", f"Column {metric!r} of the file.")
        parts.append(base.assign(metric=metric, metric_value=values)[values.notna().to_numpy()])
    unit_values = pd.concat(parts, ignore_index=True)
    if covariate and unit_values["covariate"].isna().any():
        raise ExperimentInputError(f"The covariate {covariate!r} has empty cells; fill them or leave it out.")
    if not covariate:
        unit_values["covariate"] = None
    connection = duckdb.connect()
    try:
        sandbox.harden(connection)  # it runs only our SQL, but no connection of the app reads files freely
        connection.register("unit_values", unit_values)
        stats = connection.execute(read_sql("experiments/unit_stats")).df()
    finally:
        connection.close()
    units = rows[variant_column].astype(str).value_counts().sort_index().to_dict()
    return stats, specs, {str(k): int(v) for k, v in units.items()}, notes


def unit_file_analysis(frame: pd.DataFrame, variant_column: str, metrics: Sequence[str], options: AnalysisOptions,
                       covariate: str | None = None, segment_column: str | None = None,
                       name: str = "uploaded file") -> ExperimentAnalysis:
    """Analyse a per-unit results file: one row per unit, a variant column and metric columns."""
    stats, specs, units, notes = unit_file_stats(frame, variant_column, metrics, covariate, segment_column)
    if covariate:
        notes.append(f"CUPED covariate: {covariate!r}.")
    return analyze(name, stats, specs, units, options, "file" if segment_column else "none", notes)


# ----------------------------------------------------------------- typed-in summaries
def summary_stats(summary: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Sufficient statistics from typed-in numbers, one row per variant.

    Binary metrics need columns variant, units, conversions; continuous metrics variant, units, sum,
    sum_squares.
    """
    required = ["variant", "units", "conversions"] if kind == "binary" else ["variant", "units", "sum", "sum_squares"]
    rows = summary.dropna(subset=["variant"])
    rows = rows[rows["variant"].astype(str).str.strip() != ""]
    for column in required[1:]:
        if column not in rows or rows[column].isna().any():
            raise ExperimentInputError(f"Fill in {column.replace('_', ' ')} for every variant.")
    units = rows["units"].astype(float)
    if (units <= 0).any() or (units != units.round()).any():
        raise ExperimentInputError("Units must be whole numbers above zero.")
    if kind == "binary":
        conversions = rows["conversions"].astype(float)
        if ((conversions < 0) | (conversions > units)).any():
            raise ExperimentInputError("Conversions must be between 0 and the number of units.")
        total, squares = conversions, conversions
    else:
        total, squares = rows["sum"].astype(float), rows["sum_squares"].astype(float)
        if (squares * units < total ** 2 - 1e-9 * total ** 2).any():
            raise ExperimentInputError("A sum of squares is too small for its sum (it must be at least sum² / units).")
    return pd.DataFrame({"segment": ALL_SEGMENTS, "variant": rows["variant"].astype(str).to_numpy(),
                         "metric": "metric", "n": units.astype(int).to_numpy(), "total": total.to_numpy(),
                         "sum_squares": squares.to_numpy()})


def summary_analysis(summary: pd.DataFrame, kind: str, options: AnalysisOptions,
                     label: str = "metric") -> ExperimentAnalysis:
    """Analyse typed-in summary numbers (one metric, one row per variant)."""
    stats = summary_stats(summary, kind)
    if stats["variant"].duplicated().any():
        raise ExperimentInputError("Each variant may appear only once.")
    spec = MetricSpec("metric", label, kind, "share" if kind == "binary" else "count", "Typed-in summary.")
    units = dict(zip(stats["variant"], stats["n"]))
    return analyze("typed-in summary", stats, {"metric": spec}, units, with_options(options, use_cuped=False))


def split_example(arms: Sequence[str]) -> str:
    """An intended split written for these arms, equal shares: the metadata form's placeholder, so that an
    experiment of three arms is not shown "control=50,treatment=50". Fewer than two arms: the generic example.

    >>> split_example(["Mens E-Mail", "No E-Mail", "Womens E-Mail"])
    'Mens E-Mail=33.3,No E-Mail=33.3,Womens E-Mail=33.3'
    """
    names = [str(a) for a in arms]
    if len(names) < 2 or any("," in n for n in names):  # a comma cannot be written in name=share pairs
        return "control=50,treatment=50"
    return ",".join(f"{n}={100 / len(names):.3g}" for n in names)


def parse_split(text: str) -> tuple[tuple[str, float], ...]:
    """``"control=50,treatment=50"`` -> (("control", 0.5), ("treatment", 0.5)); empty text -> ()."""
    pairs = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, share = part.rpartition("=")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or not 0 <= value < float("inf"):  # also refuses nan
            raise ExperimentInputError(f"Write the intended split as variant=share pairs, e.g. "
                                       f"control=50,treatment=50 (got {part!r}).")
        pairs.append((name.strip(), value))
    total = sum(v for _, v in pairs)
    if pairs and total <= 0:
        raise ExperimentInputError("The intended split must have a positive share.")
    return tuple((n, v / total) for n, v in pairs)
