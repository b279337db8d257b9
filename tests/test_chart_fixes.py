"""Issue 19's chart fixes, checked on the chart specs (``chart.to_dict()``), never on pixels.

Every chart with a time axis takes the annotations and draws them (a rule and the note as text); every time
axis ticks on months and reads "Nov 2025"; every interval layer's tooltip names its bounds and formats them;
the cohort heatmap keeps period 0 (100 % by construction) out of its colour scale; the funnel's axis ends at
its largest bar; exports carry their stamp; tables get labels and formats.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from engagement import charts
from engagement.charts import cohorts as cohort_charts
from engagement.charts import engagement as engagement_charts
from engagement.charts import lifecycle as lifecycle_charts
from engagement.charts import nps as nps_charts
from engagement.charts import roi as roi_charts
from engagement.charts.bounds import LOWER, UPPER
from engagement.charts.clv import rfm_grid_chart, rfm_segment_chart
from engagement.charts.experiments import forest_plot
from engagement.charts.export import ChartStamp, export_chart
from engagement.charts.quick_chart import quick_chart
from engagement.charts.time_axis import DATE_FORMAT
from engagement.experiments.analysis import ExperimentQuery, experiment_analysis
from engagement.notebook.chart_spec import QuickChartSpec
from engagement.retention.cohorts import retention_matrix
from engagement.retention.lifecycle import (default_thresholds, month_end_moments, purchase_funnel, stage_sizes,
                                            stage_transitions, time_to_second_purchase)
from engagement.retention.rfm import rfm_segments
from engagement.table_format import column_formats, expand_json_column, shown_frame
from engagement.value.engagement_score import EngagementWeights, channel_engagement, engagement_view
from engagement.value.kpis import aov_by_month, data_range, default_filters
from engagement.value.roi import roi_report
from engagement.voice.csat import CSAT_SCALE
from engagement.voice.nps import NPS_SCALE, behaviour_after_answer, survey_breakdown, survey_trend


@pytest.fixture(scope="module")
def filters(demo_store):
    return default_filters(data_range(demo_store))


@pytest.fixture(scope="module")
def notes(filters):
    """Three annotations inside the window (one in its first days, one in its last quarter) and one outside it."""
    return pd.DataFrame({"noted_on": [filters.start + timedelta(days=2), filters.start + timedelta(days=40),
                                      filters.end - timedelta(days=3), filters.end + timedelta(days=400)],
                         "note": ["Early note", "Spring <b>launch</b>", "Black Friday", "far future"]})


def _layers(spec: dict) -> list[dict]:
    """Every unit spec (a mark with its encoding) inside ``spec``, however it is layered or concatenated."""
    found = [spec] if "mark" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            found += _layers(child)
    return found


def _data(spec: dict, layer: dict) -> list[dict]:
    name = layer.get("data", spec.get("data", {})).get("name")
    return spec["datasets"].get(name, []) if name else []


@pytest.fixture(scope="module")
def time_series(demo_store, filters, notes):
    """Every chart builder with a time axis, built with the annotations."""
    monthly = aov_by_month(demo_store, filters)
    defaults = default_thresholds(demo_store)
    sizes = stage_sizes(demo_store, filters, defaults.thresholds, month_end_moments(filters, defaults.as_of))
    built = {
        "aov_trend": charts.aov_trend_chart(monthly, notes),
        "monthly_revenue": charts.monthly_revenue_chart(monthly, notes),
        "stage_sizes": lifecycle_charts.stage_sizes_chart(sizes, notes),
        "quick_chart": quick_chart(monthly, QuickChartSpec(x="month", y="revenue", mark="line"), notes),
    }
    for scale in (NPS_SCALE, CSAT_SCALE):
        for grain in ("month", "week"):
            trend = survey_trend(demo_store, filters, scale, grain)
            built[f"{scale.kind}_trend_{grain}"] = nps_charts.score_trend_chart(trend, scale, grain, notes)
            built[f"{scale.kind}_split_{grain}"] = nps_charts.category_split_chart(trend, scale, grain, notes)
    return {name: chart.to_dict() for name, chart in built.items()}


@pytest.fixture(scope="module")
def other_charts(demo_store, filters):
    """The chart builders without a time axis (their x is a period number, a score, a group...)."""
    defaults = default_thresholds(demo_store)
    matrix = retention_matrix(demo_store, filters, "month", split="channel")
    view = engagement_view(demo_store, filters, EngagementWeights(), 10)
    report = roi_report(demo_store, filters, method="observational")
    rfm = rfm_segments(demo_store, filters)
    analysis = experiment_analysis(demo_store, ExperimentQuery("EXP-recs-email"))
    link = behaviour_after_answer(demo_store, filters, NPS_SCALE, 90)
    transitions = stage_transitions(demo_store, filters, defaults.thresholds, filters.start, filters.end)
    built = {
        "heatmap": cohort_charts.retention_heatmap(matrix, "customers"),
        "heatmap_ltv": cohort_charts.retention_heatmap(matrix, "ltv"),
        "ltv_curves": cohort_charts.ltv_curves(matrix),
        "split_comparison": cohort_charts.split_comparison(matrix, "customers"),
        "funnel": lifecycle_charts.funnel_chart(purchase_funnel(demo_store, filters, 90)),
        "transitions": lifecycle_charts.transition_heatmap(transitions),
        "km": lifecycle_charts.time_to_second_purchase_chart(time_to_second_purchase(demo_store, filters)),
        "breakdown": nps_charts.breakdown_chart(survey_breakdown(demo_store, filters, NPS_SCALE, "channel"),
                                                NPS_SCALE, "Channel"),
        "behaviour": nps_charts.behaviour_chart(link, "repurchase"),
        "segment_comparison": engagement_charts.segment_comparison_chart(view.comparisons[0]),
        "score_distribution": engagement_charts.score_distribution_chart(view),
        "channels": engagement_charts.channel_engagement_chart(channel_engagement(demo_store, filters)),
        "roi": roi_charts.roi_interval_chart(report.result),
        "adjustment": roi_charts.adjustment_chart(report.observational),
        "rfm_segments": rfm_segment_chart(rfm), "rfm_grid": rfm_grid_chart(rfm),
        "forest": forest_plot(analysis.results),
    }
    return {name: chart.to_dict() for name, chart in built.items()}


def test_every_chart_compiles(time_series, other_charts):
    """Vega-Lite accepts each spec (a spec it refuses draws nothing in the app, silently)."""
    import vl_convert

    from engagement.charts.export import _vl_version

    for name, spec in {**time_series, **other_charts}.items():
        assert vl_convert.vegalite_to_vega(spec, vl_version=_vl_version()), name


def _temporal_x(layer: dict) -> bool:
    return layer.get("encoding", {}).get("x", {}).get("type") == "temporal"


def test_every_time_series_chart_draws_the_annotations_in_its_span(time_series, other_charts):
    # Every chart with a time axis is in ``time_series``: one added later without the annotations fails here.
    assert [name for name, spec in other_charts.items() if any(map(_temporal_x, _layers(spec)))] == []
    for name, spec in time_series.items():
        layers = _layers(spec)
        rules = [l for l in layers if l["mark"]["type"] == "rule" and l["encoding"]["x"]["field"] == "noted_on"]
        labels = [l for l in layers if l["mark"]["type"] == "text" and l["encoding"].get("text", {}).get("field") == "note"]
        assert rules and labels, name
        drawn = {row["note"] for layer in rules for row in _data(spec, layer)}
        # The one outside the span is left out; a quick chart's span ends at its last point (1 Nov: no Black Friday);
        # month-end stage sizes are bars spanning their month, so a note in the first days is on the first bar.
        expected = {"Early note", "Spring <b>launch</b>"} | (set() if name == "quick_chart" else {"Black Friday"})
        assert drawn == expected, name
        tooltip = {t["title"] for t in rules[-1]["encoding"]["tooltip"]}
        assert tooltip == {"Annotation", "Note"}, name
        # The note is text: the data carries it as typed, and the label is a text mark (no HTML, no markdown).
        assert {row["note"] for layer in labels for row in _data(spec, layer)} == drawn, name
        if name != "quick_chart":  # the late note is drawn to the left of its rule, inside the chart
            assert {l["mark"]["align"] for l in labels} == {"left", "right"}, name


def test_every_time_axis_ticks_on_months_in_one_format(time_series):
    for name, spec in time_series.items():
        axes = [l["encoding"]["x"]["axis"] for l in _layers(spec) if _temporal_x(l)]
        assert axes, name
        for axis in axes:
            assert axis["format"] == DATE_FORMAT and axis["tickCount"]["interval"] == "month", name


def test_a_monthly_series_of_one_or_two_months_is_labelled_by_its_months():
    """Hillstrom loaded as outcomes has one month of orders: the revenue bar spanning March was labelled with weekly
    dates ("02 Mar 2008", "09 Mar 2008", ...) and the single AOV point had no tick at all. A monthly series now
    ticks on its own months in the one format; a series of weeks keeps its weekly, day-labelled ticks."""
    march = pd.DataFrame({"month": pd.to_datetime(["2008-03-01"]), "revenue": [67_249.0], "orders": [578],
                          "average_order_value": [116.36], "ci_low": [107.55], "ci_high": [125.18]})
    for chart in (charts.monthly_revenue_chart(march), charts.aov_trend_chart(march)):
        axes = [l["encoding"]["x"]["axis"] for l in _layers(chart.to_dict()) if _temporal_x(l)]
        assert axes and all(a["format"] == DATE_FORMAT and a["values"] == [{"year": 2008, "month": 3, "date": 1}]
                            and "tickCount" not in a for a in axes), axes
    weeks = pd.Series(pd.to_datetime(["2008-03-03", "2008-03-10"]))
    from engagement.charts.time_axis import DAY_FORMAT, time_x

    axis = time_x("week", weeks, "Week").to_dict()["axis"]
    assert axis["format"] == DAY_FORMAT and axis["tickCount"] == {"interval": "week", "step": 1}


def test_interval_layers_label_and_format_their_bounds(time_series, other_charts):
    """Hovering a band or an error bar names the lower and upper bound, formatted (the Overview AOV band read
    "Average order value ($) 59.9833287059 · ci_high 61.5779586685")."""
    checked = 0
    for name, spec in {**time_series, **other_charts}.items():
        for layer in _layers(spec):
            encoding = layer.get("encoding", {})
            if "x2" not in encoding and "y2" not in encoding:
                continue
            checked += 1
            tooltip = encoding.get("tooltip")
            assert isinstance(tooltip, list), f"{name}: an interval layer without its own tooltip"
            titles = [t.get("title", "") for t in tooltip]
            assert any(t.startswith(LOWER) or t.startswith("Lower bound") for t in titles), (name, titles)
            assert any(t.startswith(UPPER) or t.startswith("Upper bound") for t in titles), (name, titles)
            assert all("format" in t for t in tooltip if t.get("type") == "quantitative"), (name, tooltip)
    assert checked >= 12
    aov_band = _layers(time_series["aov_trend"])[0]
    assert [(t["field"], t["title"], t["format"]) for t in aov_band["encoding"]["tooltip"][1:3]] == [
        ("ci_low", "Lower 95 % bound", "$,.2f"), ("ci_high", "Upper 95 % bound", "$,.2f")]


def test_heatmap_period_zero_is_outside_the_colour_scale(other_charts):
    spec = other_charts["heatmap"]
    layers = _layers(spec)
    coloured = next(l for l in layers if l["mark"]["type"] == "rect" and "color" in l["encoding"])
    assert coloured["transform"] == [{"filter": "(datum.period_number > 0)"}]
    rows = _data(spec, coloured)
    later = pd.Series([r["value"] for r in rows if r["period_number"] > 0])
    domain = coloured["encoding"]["color"]["scale"]["domain"]
    assert domain == [0, pytest.approx(later.quantile(0.99))] and domain[1] < 0.5  # 100 % no longer sets the top
    apart = next(l for l in layers if l["mark"]["type"] == "rect" and "color" not in l["encoding"])
    assert apart["transform"] == [{"filter": "(datum.period_number === 0)"}]
    text = next(l for l in layers if l["mark"]["type"] == "text")
    assert [c["value"] for c in text["encoding"]["color"]["condition"]] == ["white", "#444444"]
    for row in rows:  # white text on the darker half of the scale, black on the lighter, dark grey on period 0
        expected = "#444444" if row["period_number"] == 0 else ("white" if row["value"] / domain[1] >= 0.5 else "black")
        assert row["text_colour"] == expected
    assert {r["text_colour"] for r in rows} >= {"white", "black"}
    # Money (LTV) has no 100 % column: one coloured layer over every period.
    ltv = [l for l in _layers(other_charts["heatmap_ltv"]) if l["mark"]["type"] == "rect"]
    assert len(ltv) == 1 and "transform" not in ltv[0]


def test_funnel_axis_ends_at_the_largest_bar(other_charts):
    spec = other_charts["funnel"]
    bars = _layers(spec)[0]
    largest = max(r["customers"] for r in _data(spec, bars))
    assert bars["encoding"]["x"]["scale"] == {"domain": [0, largest], "nice": False}


def test_monthly_cohort_rows_read_like_the_time_axes(other_charts):
    rows = _data(other_charts["heatmap"], _layers(other_charts["heatmap"])[0])
    labels = {r["row_label"] for r in rows} - {"All cohorts (weighted)"}
    assert labels and all(pd.to_datetime(label, format="%b %Y") is not None for label in labels)


def test_export_png_and_svg_carry_the_stamp(demo_store, filters, notes):
    chart = charts.aov_trend_chart(aov_by_month(demo_store, filters), notes)
    stamp = ChartStamp(date_range="01 Dec 2024 – 30 Nov 2025", filters="acquisition channel: <paid & social>",
                       n="n = 12,345 orders", settings="monthly")
    svg = export_chart(chart, stamp, "svg").decode("utf-8")
    for text in ("Average order value by month", "01 Dec 2024 – 30 Nov 2025", "n = 12,345 orders", "monthly",
                 "Engagement Workbench · exported"):
        assert text in svg, text
    assert "&lt;paid &amp; social&gt;" in svg  # text from data is SVG text, escaped, never markup
    assert "Spring &lt;b&gt;launch&lt;/b&gt;" in svg
    png = export_chart(chart, stamp, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    with pytest.raises(ValueError, match="png or svg"):
        export_chart(chart, stamp, "gif")


def test_tables_get_labels_and_spreadsheet_formats():
    frame = pd.DataFrame({"month": pd.to_datetime(["2025-11-01"]), "orders": [157178], "revenue": [1234567.891],
                          "load_id": [1234],
                          "average_order_value": [39.2369], "repeat_purchase_rate": [0.26712], "ci_low": [38.1],
                          "ci_high": [40.3], "unexpected_percent": [12.345], "srm_p_value": [0.01234],
                          "channel": ["email"], "nps": [37.4]})
    formats = column_formats(frame, units={"ci_low": "money", "ci_high": "money"})
    got = {c: (f.label, f.printf) for c, f in formats.items()}
    assert got == {
        "month": ("Month", None), "orders": ("Orders", "%,d"), "revenue": ("Revenue", "$%,.2f"),
        "load_id": ("Load ID", "%d"),
        "average_order_value": ("Average order value", "$%,.2f"),  # the registry's label and rounding
        "repeat_purchase_rate": ("Repeat purchase rate", "%.1f%%"),
        "ci_low": ("Lower 95 % bound", "$%,.2f"), "ci_high": ("Upper 95 % bound", "$%,.2f"),
        "unexpected_percent": ("Unexpected percent", "%.1f%%"), "srm_p_value": ("SRM p value", "%.4f"),
        "channel": ("Channel", None), "nps": ("NPS", "%+.0f"),
    }
    assert shown_frame(frame, formats)["repeat_purchase_rate"].iloc[0] == pytest.approx(26.712)  # shares in %
    assert formats["month"].date_format == "MMM YYYY"  # "Nov 2025", as on the charts
    moments = column_formats(pd.DataFrame({"day": pd.to_datetime(["2025-11-28"]),
                                           "at": pd.to_datetime(["2025-11-28 10:30"])}))
    assert (moments["day"].date_format, moments["at"].date_format) == ("D MMM YYYY", "D MMM YYYY, HH:mm")
    assert all("_" not in f.label for f in formats.values())


def test_quarantined_rows_are_shown_as_the_files_columns():
    rows = pd.DataFrame({"row_number": [2, 3], "reason": ["bad money", "no id"],
                         "row_json": ['{"order_id": "#1", "net_revenue": "abc"}', '{"order_id": null, "reason": "r"}']})
    shown = expand_json_column(rows, "row_json")
    assert list(shown.columns) == ["row_number", "reason", "order_id", "net_revenue", "reason (in the file)"]
    assert shown.iloc[0][["order_id", "net_revenue"]].tolist() == ["#1", "abc"]
    assert pd.isna(shown.iloc[1]["order_id"]) and shown.iloc[1]["reason (in the file)"] == "r"
