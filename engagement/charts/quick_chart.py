"""Quick charts for an ad-hoc query result: pick x, y, colour and a mark.

Column names come from analysts' SQL (``sum(revenue)``, ``a.b``), so fields are passed to Altair
explicitly (never as shorthand, which would read ``sum(x)`` as an aggregation) with ``.``, ``[`` and
``]`` escaped. Types follow the column's dtype: dates are temporal, numbers quantitative, the rest nominal.

Example
-------
>>> frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "sum(revenue)": [3.0, 4.0]})
>>> spec = suggest_chart(frame)
>>> spec.x, spec.y, spec.mark
('month', 'sum(revenue)', 'line')
>>> quick_chart(frame, spec).to_dict()["encoding"]["y"]["field"]
'sum(revenue)'
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engagement.charts.time_axis import annotated, annotation_layers, month_axis, span
from engagement.notebook.chart_spec import MARKS, QuickChartSpec  # noqa: F401 (MARKS: for the page)

# Altair refuses to embed more rows by default; beyond this the chart shows the first rows and says so.
MAX_CHART_ROWS = 5_000
MAX_SUGGESTED_COLOURS = 12


def field_type(series: pd.Series) -> str:
    """Vega-Lite type of a column: temporal, quantitative or nominal."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "temporal"
    if pd.api.types.is_bool_dtype(series):
        return "nominal"
    if pd.api.types.is_numeric_dtype(series):
        return "quantitative"
    return "nominal"


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def suggest_chart(frame: pd.DataFrame) -> QuickChartSpec | None:
    """A sensible first chart: first date or text column as x, first number as y; None if no number.

    When x repeats and another text column has at most 12 values, that column becomes the colour.
    """
    numbers = [c for c in frame.columns if field_type(frame[c]) == "quantitative"]
    if not numbers:
        return None
    dates = [c for c in frame.columns if field_type(frame[c]) == "temporal"]
    labels = [c for c in frame.columns if field_type(frame[c]) == "nominal"]
    # A second label with few values splits the series (month x channel -> one line per channel).
    groups = [c for c in labels if frame[c].nunique() <= MAX_SUGGESTED_COLOURS]
    if dates:
        colour = str(groups[0]) if groups and frame[dates[0]].duplicated().any() else None
        return QuickChartSpec(x=str(dates[0]), y=str(numbers[0]), color=colour, mark="line")
    if labels:
        rest = [c for c in groups if c != labels[0]]
        colour = str(rest[0]) if rest and frame[labels[0]].duplicated().any() else None
        return QuickChartSpec(x=str(labels[0]), y=str(numbers[0]), color=colour, mark="bar")
    if len(numbers) >= 2:
        return QuickChartSpec(x=str(numbers[0]), y=str(numbers[1]), mark="point")
    return None


def quick_chart(frame: pd.DataFrame, spec: QuickChartSpec,
                annotations: pd.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """The chart ``spec`` describes over ``frame`` (at most :data:`MAX_CHART_ROWS` rows); a date x axis gets
    month ticks and the ``annotations`` dated within the data's span."""
    missing = [c for c in (spec.x, spec.y, spec.color) if c and c not in frame.columns]
    if missing:
        raise ValueError(f"The result has no column {', '.join(map(repr, missing))}.")
    data = frame.head(MAX_CHART_ROWS)
    # Arrow-backed or object columns of dates/decimals: give Vega-Lite plain values.
    data = data.copy()
    for column in {spec.x, spec.y, spec.color} - {None}:
        if field_type(data[column]) == "nominal":
            data[column] = data[column].astype(str)
    temporal = field_type(frame[spec.x]) == "temporal"
    axis = month_axis(data[spec.x].min(), data[spec.x].max()) if temporal else alt.Undefined
    encoding: dict[str, Any] = {
        "x": alt.X(field=_escape(spec.x), type=field_type(frame[spec.x]), title=spec.x, axis=axis),
        "y": alt.Y(field=_escape(spec.y), type=field_type(frame[spec.y]), title=spec.y),
        "tooltip": [
            alt.Tooltip(field=_escape(c), type=field_type(frame[c]), title=c)
            for c in dict.fromkeys(c for c in (spec.x, spec.y, spec.color) if c)
        ],
    }
    if spec.color:
        encoding["color"] = alt.Color(field=_escape(spec.color), type=field_type(frame[spec.color]), title=spec.color)
    title = f"{spec.y} by {spec.x}" + (f" and {spec.color}" if spec.color else "")
    if len(frame) > MAX_CHART_ROWS:
        title += f" (first {MAX_CHART_ROWS:,} rows)"
    mark = {"bar": "mark_bar", "line": "mark_line", "point": "mark_point", "area": "mark_area"}[spec.mark]
    chart = getattr(alt.Chart(data), mark)(**({"point": True} if spec.mark == "line" else {}))
    notes = annotation_layers(annotations, *span(data[spec.x]), spec.x, axis) if temporal else []
    return annotated([chart.encode(**encoding)], notes, title=title, height=320)
