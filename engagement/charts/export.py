"""A chart as a file to paste into slides: PNG or SVG, with what it shows stamped on it.

A chart copied out of the app loses its context: which dates, which filters, how many customers. The export
adds them under the chart's own title, in the image itself (:class:`ChartStamp`), and renders the Vega-Lite
spec with vl-convert (Altair's own PNG/SVG engine; no browser). Text in the stamp that came from data
(channel names) is drawn as SVG text, never interpreted.

>>> stamp = ChartStamp(date_range="01 Dec 2024 – 30 Nov 2025", filters="all customers", n="n = 1,234 orders")
>>> stamp.lines()[0]
'01 Dec 2024 – 30 Nov 2025 · all customers · n = 1,234 orders'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import altair as alt

from engagement.charts.currency import in_orders_currency

EXPORT_WIDTH = 720  # pixels of the plot in the file (the app stretches it to the page instead)
PNG_SCALE = 2  # crisp on a slide
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
EXPORT_LABELS = {"png": "PNG image", "svg": "SVG image"}


@dataclass(frozen=True)
class ChartStamp:
    """What the exported image says about itself, under the chart's title."""

    date_range: str
    filters: str
    n: str
    settings: str = ""
    source: str = field(default_factory=lambda: f"Engagement Workbench · exported {date.today():%d %b %Y}")

    def lines(self) -> list[str]:
        first = " · ".join(part for part in (self.date_range, self.filters, self.n) if part)
        return [line for line in (first, self.settings, self.source) if line]


def describe_filters(filters: Any) -> tuple[str, str]:
    """The date range and the filters of an ``engagement.filters.Filters`` in words, for :class:`ChartStamp`."""
    period = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
    parts = []
    if filters.channels:
        parts.append("acquisition channel: " + ", ".join(filters.channels))
    if filters.segments:
        parts.append("segment: " + ", ".join(filters.segments))
    return period, "; ".join(parts) if parts else "all channels and segments"


def chart_title(chart: alt.TopLevelMixin) -> str:
    """The chart's title as plain text ("" when it has none)."""
    title = chart.to_dict().get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    return " ".join(title) if isinstance(title, list) else str(title or "")


def stamped(chart: alt.TopLevelMixin, stamp: ChartStamp) -> alt.VConcatChart:
    """``chart`` at a fixed width under a title block: its own title, then the stamp's lines."""
    inner = chart
    if isinstance(chart, (alt.Chart, alt.LayerChart)):
        inner = chart.properties(width=EXPORT_WIDTH, title="")
    title = chart_title(chart) or "Chart"
    return alt.vconcat(inner).properties(
        title=alt.TitleParams(title, subtitle=stamp.lines(), anchor="start", fontSize=15, subtitleFontSize=11,
                              subtitleColor="#444444", subtitlePadding=6),
        padding=16, background="white",
    )


def _vl_version() -> str:
    return "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]).join(("v", ""))


def export_chart(chart: alt.TopLevelMixin, stamp: ChartStamp, fmt: str, number_locale: dict | None = None) -> bytes:
    """The stamped chart as PNG or SVG bytes (``fmt``: "png" or "svg"); ``number_locale``: the currency the page
    showed (``metrics.d3_currency_locale()``, taken on the page: the export runs outside its run)."""
    import vl_convert

    if fmt not in FORMATS:
        raise ValueError(f"Charts export as {' or '.join(FORMATS)}, not {fmt!r}.")
    spec = in_orders_currency(stamped(chart, stamp), number_locale).to_dict()
    if fmt == "svg":
        return vl_convert.vegalite_to_svg(spec, vl_version=_vl_version()).encode("utf-8")
    return bytes(vl_convert.vegalite_to_png(spec, vl_version=_vl_version(), scale=PNG_SCALE))


def file_stem(title: str) -> str:
    """A file name for a chart titled ``title``: lower case words joined by dashes, at most 60 characters."""
    stem = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")
    return stem or "chart"
