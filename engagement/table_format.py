"""Tables as a spreadsheet shows them: labelled columns, thousands separators, percentages and money rounded.

Pages used to hand raw frames to ``st.dataframe``: headers such as ``ci_low`` and ``unexpected_percent``,
numbers such as ``39.2369`` and ``157178``. :func:`column_formats` decides, for each column, a label and a
display format from the metric registry (``engagement.metrics``: a column named after a registered metric takes
its label, unit and rounding) or, failing that, from the column's name and type. ``ui.table`` turns the result
into Streamlit column configuration; CSV downloads keep the raw values.

>>> formats = column_formats(pd.DataFrame({"repeat_purchase_rate": [0.2671], "orders": [157178],
...                                         "revenue_ci_low": [39.2369]}))
>>> [(f.label, f.printf, f.scale) for f in formats.values()]
[('Repeat purchase rate', '%.1f%%', 100.0), ('Orders', '%,d', 1.0), ('Revenue (lower 95 % bound)', '$%,.2f', 1.0)]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pandas as pd

from engagement import metrics

# Words written in capitals (or otherwise) in a label.
_WORDS = {"ci": "CI", "n": "n", "aov": "AOV", "nps": "NPS", "csat": "CSAT", "srm": "SRM", "id": "ID", "clv": "CLV",
          "ltv": "LTV", "roi": "ROI", "sd": "SD", "pct": "%", "auc": "AUC", "rfm": "RFM", "utc": "UTC", "url": "URL",
          "sha256": "SHA-256", "json": "JSON", "p": "p"}
_BOUNDS = {"ci_low": "lower 95 % bound", "ci_high": "upper 95 % bound"}
_MONEY = re.compile(r"revenue|value|aov|cost|spend|ltv|clv|profit|amount|price|discount|contrast|difference")
_SHARE = re.compile(r"share|rate|retention|probability|conversion|churn_risk|mean_predicted|observed")
_PERCENT_ALREADY = re.compile(r"(_pct|_percent|percent)$")


@dataclass(frozen=True)
class ColumnFormat:
    """How one column is shown: ``label``; ``printf`` (sprintf-js, as Streamlit's NumberColumn takes it) for
    numbers, None for text and dates; ``scale`` multiplies the shown value (shares shown in %)."""

    label: str
    printf: str | None = None
    scale: float = 1.0
    date_format: str | None = None  # for date columns (moment.js, as Streamlit's DatetimeColumn takes it)


def label_for(column: str) -> str:
    """"revenue_per_customer_ci_low" -> "Revenue per customer (lower 95 % bound)"; registry labels first."""
    for suffix, words in _BOUNDS.items():
        if column == suffix:
            return words[0].upper() + words[1:]
        if column.endswith("_" + suffix):
            return f"{label_for(column[: -len(suffix) - 1])} ({words})"
    if column in metrics.METRICS:
        return metrics.METRICS[column].label
    words = [_WORDS.get(w, w) for w in column.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if words and words[0] not in ("n", "p") else text


def _unit_of(column: str, series: pd.Series, units: dict[str, str]) -> str:
    """share, percent (already x100), money, days, score, p, count, id, number or text."""
    for suffix in ("_ci_low", "_ci_high"):
        if column.endswith(suffix):
            return _unit_of(column[: -len(suffix)], series, units)
    if column in units:
        return units[column]
    if column in ("ci_low", "ci_high") and "value" in units:
        return units["value"]
    if column in metrics.METRICS:
        return metrics.METRICS[column].unit
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "text"
    name = column.lower()
    if name == "id" or name.endswith("_id"):
        return "id"
    if name.startswith("p_value") or name.endswith("_p") or name.endswith("p_value"):
        return "p"
    if _PERCENT_ALREADY.search(name):
        return "percent"
    if _SHARE.search(name):
        return "share"
    if _MONEY.search(name):
        return "money"
    if "days" in name:
        return "days"
    if "score" in name:
        return "score"
    if pd.api.types.is_integer_dtype(series) or (series.dropna() % 1 == 0).all():
        return "count"
    return "number"


def _printf(unit: str, column: str) -> tuple[str | None, float]:
    decimals = metrics.METRICS[column].decimals if column in metrics.METRICS else None
    if unit == "share":
        return f"%.{1 if decimals is None else decimals}f%%", 100.0
    if unit == "percent":
        return "%.1f%%", 1.0
    if unit == "money":
        prefix, suffix = metrics.printf_currency()
        return f"{prefix}%,.{2 if decimals is None else decimals}f{suffix}", 1.0
    if unit == "days":
        return "%,.1f", 1.0
    if unit == "score":  # NPS is signed in the registry ("+37")
        return ("%,.1f" if decimals is None else f"%+.{decimals}f"), 1.0
    if unit == "p":
        return "%.4f", 1.0
    if unit == "count":
        return "%,d", 1.0
    if unit == "id":  # a load number is a name, not a quantity: no thousands separator
        return "%d", 1.0
    if unit == "number":
        return "%,.2f", 1.0
    return None, 1.0


def date_format(series: pd.Series) -> str | None:
    """"MMM YYYY" for months (every value the first of a month at midnight: "Nov 2025", as on the charts),
    "D MMM YYYY" for days, "D MMM YYYY, HH:mm" for moments; None for a column that holds no dates."""
    if not pd.api.types.is_datetime64_any_dtype(series):
        return None
    values = series.dropna()
    if len(values) and (values == values.dt.normalize()).all():
        return "MMM YYYY" if (values.dt.day == 1).all() else "D MMM YYYY"
    return "D MMM YYYY, HH:mm"


def column_formats(frame: pd.DataFrame, units: dict[str, str] | None = None) -> dict[str, ColumnFormat]:
    """A :class:`ColumnFormat` per column of ``frame``; ``units`` overrides the unit of named columns ("share",
    "percent", "money", "days", "score", "p", "count", "number", "text"), and ``units["value"]`` is also the unit
    of bare ``ci_low``/``ci_high`` columns."""
    units = units or {}
    formats = {}
    for column in frame.columns:
        name = str(column)
        printf, scale = _printf(_unit_of(name, frame[column], units), name)
        formats[name] = ColumnFormat(label_for(name), printf, scale, date_format(frame[column]))
    return formats


def shown_frame(frame: pd.DataFrame, formats: dict[str, ColumnFormat]) -> pd.DataFrame:
    """``frame`` with shares multiplied by 100 for display (the formats' ``scale``); other columns unchanged."""
    scaled = [c for c in frame.columns if formats.get(str(c), ColumnFormat("")).scale != 1.0]
    if not scaled:
        return frame
    shown = frame.copy()
    for column in scaled:
        shown[column] = pd.to_numeric(shown[column], errors="coerce") * formats[str(column)].scale
    return shown


def expand_json_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with the JSON objects of ``column`` spread into one text column per key (in first-seen order),
    in place of the JSON text: quarantined rows read as the file's own columns. Values stay text, as they came."""
    if column not in frame.columns or frame.empty:
        return frame.drop(columns=[column], errors="ignore")
    parsed = []
    for raw in frame[column]:
        try:
            value = json.loads(raw) if isinstance(raw, str) else (raw or {})
        except json.JSONDecodeError:
            value = {column: raw}  # not JSON: keep the text as it is
        parsed.append(value if isinstance(value, dict) else {column: raw})
    keys = list(dict.fromkeys(key for row in parsed for key in row))
    spread = pd.DataFrame([{key: (None if row.get(key) is None else str(row.get(key))) for key in keys}
                           for row in parsed], index=frame.index, columns=keys)
    taken = [k for k in keys if k in frame.columns]
    spread = spread.rename(columns={k: f"{k} (in the file)" for k in taken})
    return pd.concat([frame.drop(columns=[column]), spread], axis=1)


def as_file_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as the file had them (failing or quarantined rows): a missing text value, an empty cell in the file
    (a guest order's customer id), shows as an empty cell rather than Streamlit's grey "None", which reads as if
    the file said None. Number columns (the row number) are left as they are."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not text or frame.empty:
        return frame
    shown = frame.copy()
    for column in text:
        shown[column] = shown[column].astype(object).where(shown[column].notna(), "")
    return shown
