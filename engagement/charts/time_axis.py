"""What every time-series chart shares: month ticks in one date format, and the analysts' annotations.

Before this module each chart chose its own axis (Vega-Lite's defaults read "Jan 04, February, March, Mar 29",
one chart said "November, 2026" beside "Nov 2025" on the next). Every chart with a time axis now takes
:func:`time_x` (ticks on month starts, labelled "Nov 2025") and draws the dated notes of
``engagement.leadership.annotations`` as vertical rules with the note as text (:func:`annotation_layers`).

>>> axis = month_axis(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-01"))
>>> axis.format, axis.tickCount.to_dict()
('%b %Y', {'interval': 'month', 'step': 1})
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

DATE_FORMAT = "%b %Y"  # "Nov 2025", on every time axis
DAY_FORMAT = "%d %b %Y"  # tooltips of daily or weekly points: "28 Nov 2025"
ANNOTATION_COLOUR = "#8250df"
# Steps between labelled months, so that about a dozen labels fit whatever the span.
_MONTH_STEPS = (1, 2, 3, 6, 12)


def _months_between(first: pd.Timestamp, last: pd.Timestamp) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def month_axis(first: Any, last: Any, **axis_kwargs: Any) -> alt.Axis:
    """An axis with a tick on the first day of every month (every 2nd, 3rd, ... month over long spans),
    labelled "Nov 2025"; spans under two months get weekly ticks labelled with the day ("03 Nov 2025")."""
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    months = _months_between(first, last) if pd.notna(first) and pd.notna(last) else 12
    if months <= 2:
        ticks, label = alt.TickCount(interval="week", step=1), DAY_FORMAT
    else:
        ticks, label = alt.TickCount(interval="month", step=_month_step(months)), DATE_FORMAT
    settings = {"format": label, "tickCount": ticks, "labelAngle": -45, "labelOverlap": True, "grid": False}
    return alt.Axis(**{**settings, **axis_kwargs})


def _month_step(months: int) -> int:
    return next((s for s in _MONTH_STEPS if months / s <= 13), 12)


def month_ticks(first: Any, last: Any) -> list[dict[str, int]]:
    """The month starts from ``first``'s month to ``last``'s (every 2nd, 3rd, ... as :func:`month_axis` steps), as
    Vega-Lite DateTime objects (local time, as the data's dates are read).

    >>> [t["month"] for t in month_ticks(pd.Timestamp("2025-11-01"), pd.Timestamp("2026-10-01"))]
    [11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    """
    first, last = pd.Timestamp(first).to_period("M"), pd.Timestamp(last).to_period("M")
    step = _month_step(_months_between(first.to_timestamp(), last.to_timestamp()))
    return [{"year": p.year, "month": p.month, "date": 1} for p in pd.period_range(first, last, freq="M")[::step]]


def time_x(field: str, values: pd.Series, title: str, time_unit: str | None = None) -> alt.X:
    """The x encoding of a time series: ``field`` on a temporal scale with :func:`month_axis` over ``values``.

    ``time_unit="yearmonth"`` makes each bar span its month (monthly bars), as Vega-Lite's time units do. The
    scale then runs to the end of the last month, where the axis would put a tick of its own ("Nov" after an
    October bar, a 13th month on a year's bars): the ticks are the bars' own months instead.
    """
    dates = pd.to_datetime(values)
    kwargs: dict[str, Any] = {"timeUnit": time_unit} if time_unit else {}
    first, last = dates.min(), dates.max()
    axis = month_axis(first, last)
    if pd.notna(first) and time_unit == "yearmonth" and _months_between(first, last) > 2:
        axis = month_axis(first, last, values=month_ticks(first, last))
    elif pd.notna(first) and _months_between(first, last) <= 2 and (time_unit == "yearmonth" or _month_starts(dates)):
        # One or two months of a monthly series: weekly ticks labelled by day ("02 Mar 2008" under a March bar)
        # or, for a single point, no tick at all; the series' own months instead.
        axis = month_axis(first, last, values=month_ticks(first, last), format=DATE_FORMAT, tickCount=alt.Undefined)
    return alt.X(f"{field}:T", title=title, axis=axis, **kwargs)


def _month_starts(dates: pd.Series) -> bool:
    """Whether every date is the first of its month at midnight (a monthly series)."""
    known = dates.dropna()
    return bool(len(known)) and bool(((known.dt.day == 1) & (known == known.dt.normalize())).all())


def span(values: pd.Series, period: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last moment a chart of ``values`` covers; points that stand for a ``period`` ("month": the
    whole month, drawn as a bar spanning it; "week": the week starting on the point) cover their whole first
    and last period, so a note on 28 November falls on a November bar."""
    dates = pd.to_datetime(values)
    first, last = dates.min(), dates.max()
    if period == "month" and pd.notna(last):
        first, last = first.to_period("M").to_timestamp(), last + pd.offsets.MonthEnd(0)
    elif period == "week" and pd.notna(last):
        last = last + pd.Timedelta(days=6)
    return first, last + pd.Timedelta(hours=23, minutes=59) if period and pd.notna(last) else last


def annotation_layers(annotations: pd.DataFrame | None, first: Any, last: Any, x_title: str,
                      axis: alt.Axis | None = None) -> list[alt.Chart]:
    """A dashed vertical rule and a short label per annotation dated from ``first`` to ``last``; hovering either
    shows the date and the whole note. Nothing when there are no annotations in that span.

    Labels sit just above the plot (over bars of any colour they would not read), beside their rule: to its
    right, or to its left in the last quarter of the span so they stay inside the chart; neighbours alternate
    between two lines. Cut at 120 px: the tooltip gives the whole note. The note is data:
    Vega draws it as text (an SVG text node, a tooltip's text), never as markup. ``x_title`` and ``axis``
    repeat the chart's own, so the shared axis keeps one title.
    """
    if annotations is None or annotations.empty or pd.isna(first) or pd.isna(last):
        return []
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    frame = pd.DataFrame({"noted_on": pd.to_datetime(annotations["noted_on"]),
                          "note": annotations["note"].astype(str)})
    frame = frame[(frame["noted_on"] >= first.normalize()) & (frame["noted_on"] <= last)]
    frame = frame.sort_values("noted_on", kind="stable").reset_index(drop=True)
    if frame.empty:
        return []
    axis = axis if axis is not None else month_axis(first, last)
    x = alt.X("noted_on:T", title=x_title, axis=axis)
    tooltip = [alt.Tooltip("noted_on:T", title="Annotation", format=DAY_FORMAT), alt.Tooltip("note:N", title="Note")]
    late = frame["noted_on"] > first + (last - first) * 0.75
    rules = alt.Chart(frame).encode(x=x, tooltip=tooltip)
    # A white casing under the dashed rule keeps it visible over bars of any colour (and widens the hover target).
    layers: list[alt.Chart] = [rules.mark_rule(color="white", strokeWidth=4, opacity=0.9),
                               rules.mark_rule(color=ANNOTATION_COLOUR, strokeDash=[4, 3], strokeWidth=1.5)]
    upper = frame.index % 2 == 1  # neighbouring notes alternate between two lines, so their labels do not overlap
    for side, align, dx in ((~late, "left", 3), (late, "right", -3)):
        for line, dy in ((~upper, -2), (upper, -14)):
            rows = frame[side & line]
            if len(rows):
                layers.append(alt.Chart(rows).mark_text(
                    align=align, baseline="bottom", dx=dx, dy=dy, fontSize=10, limit=120, color=ANNOTATION_COLOUR,
                ).encode(x=x, y=alt.value(0), text="note:N", tooltip=tooltip))
    return layers


def annotated(layers: list[alt.Chart], notes: list[alt.Chart], **properties: Any) -> alt.Chart | alt.LayerChart:
    """``layers`` and the annotation ``notes`` as one chart; with notes, the title is moved up to leave room for
    their labels above the plot. A single layer without notes stays a plain chart."""
    title = properties.pop("title", alt.Undefined)
    if notes and title is not alt.Undefined:
        title = alt.TitleParams(title, offset=30) if isinstance(title, str) else title
    if len(layers) == 1 and not notes:
        return layers[0].properties(title=title, **properties)
    return alt.layer(*layers, *notes).properties(title=title, **properties)
