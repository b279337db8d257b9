"""Tooltips of interval bounds: labelled as bounds, formatted like the value they bound.

A band (``mark_area`` with ``y``/``y2``) or an error rule carries no tooltip of its own unless it is given one,
and then the viewer shows its fields raw under the axis title: hovering the Overview AOV band read "Average order
value ($) 59.9833287059 · ci_high 61.5779586685", the first number being the lower bound. Every interval layer
gets :func:`bound_tooltips`.

>>> [t.to_dict()["title"] for t in bound_tooltips("ci_low", "ci_high", ".1%")]
['Lower 95 % bound', 'Upper 95 % bound']
"""

from __future__ import annotations

import altair as alt

LOWER = "Lower 95 % bound"
UPPER = "Upper 95 % bound"


def bound_tooltips(low: str, high: str, fmt: str) -> list[alt.Tooltip]:
    """Tooltips for the fields ``low`` and ``high`` of a 95 % interval, formatted with ``fmt``. Short titles: the
    viewer cuts longer ones ("Lower 95 % bound (average orde…"); the chart's title says what is bounded."""
    return [alt.Tooltip(f"{low}:Q", title=LOWER, format=fmt), alt.Tooltip(f"{high}:Q", title=UPPER, format=fmt)]
