"""The Summary, Methodology and Overview pages: headline first, numbers and alerts, writing controls only for
analysts, the registry rendered in the app; the Summary's changes chart inspected through its spec."""

from __future__ import annotations

from pathlib import Path

from conftest import open_app_page
from streamlit.testing.v1 import AppTest

from engagement import metrics
from engagement.charts.summary import change_chart, change_frame
from engagement.leadership.headlines import headline
from engagement.leadership.summary import leadership_summary, period_filters

ROOT = Path(__file__).resolve().parents[1]


def test_summary_leads_with_its_headline_and_shows_the_numbers(app_env, demo_store):
    at = open_app_page("pages/summary.py")
    expected = headline(leadership_summary(demo_store, period_filters(demo_store, 30)))
    first = at.markdown[0].value.replace("\\", "").replace("\u2060", "")
    assert first == f"**{expected[0]}**"
    labels = [m.label for m in at.metric]
    assert labels == [metrics.metric(k).label for k in ("repeat_purchase_rate", "returning_revenue_share", "nps",
                                                        "active_loyalty_members_90d", "predicted_revenue_90d")]
    assert {"Targets and alert rules (0 rules)", "How this is computed"} <= {e.label for e in at.expander}
    # A read-only (leadership) session sees no form that writes.
    assert not any(b.label in ("Set target", "Add alert rule") for b in at.button)


def test_methodology_renders_every_registered_metric(app_env):
    at = open_app_page("pages/methodology.py")
    shown = [m.value.replace("\\", "") for m in at.markdown]
    for m in metrics.METRICS.values():
        assert f"**{m.label}**: {m.formula}." in shown, m.key
    assert any("Agresti-Caffo" in c.value for c in at.caption)


def test_overview_puts_a_headline_before_its_cards(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    assert at.markdown[0].value.startswith("**") and "chance" in at.markdown[0].value
    assert "How this is computed" in [e.label for e in at.expander]


def test_the_changes_chart_draws_each_interval_around_zero(demo_store):
    summary = leadership_summary(demo_store, period_filters(demo_store, 30))
    frame = change_frame(summary)
    assert list(frame["metric"]) == ["Repeat purchase rate", "NPS", "Loyalty members active in 90 days"]
    nps = summary.number("nps").change("year")
    row = frame.set_index("metric").loc["NPS"]
    assert (row["ci_low"], row["ci_high"]) == (nps.ci_low, nps.ci_high)
    spec = change_chart(summary).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rule", "rule", "point"] and spec["layer"][0]["encoding"]["x"] == {"datum": 0}
    # Every layer reads the rows' data (a layer with its own data breaks the row axis in Streamlit).
    assert all("data" not in layer for layer in spec["layer"])


def test_an_analyst_sets_a_target_on_the_summary_and_the_card_shows_it(demo_db_path, tmp_path, monkeypatch):
    """Without sign-in the app is local and its user an analyst: the form writes through the store as that user,
    and the card reads the target at once (targets are not cached with the data)."""
    import shutil

    from engagement import ui
    from engagement.leadership.targets import targets
    from engagement.warehouse.access import LOCAL_ACTOR
    from engagement.workbench import open_workbench

    db = tmp_path / "writable.duckdb"
    shutil.copy(demo_db_path, db)
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    monkeypatch.delenv("ENGAGEMENT_READ_ONLY", raising=False)
    monkeypatch.setenv("ENGAGEMENT_SNAPSHOTS", "0")
    ui.get_store.clear()
    try:
        at = open_app_page("pages/summary.py")
        metric = next(s for s in at.selectbox if s.label == "Metric")  # the target form's (it comes first)
        metric.set_value("nps")
        next(t for t in at.text_input if t.label == "Target").input("99")
        next(b for b in at.button if b.label == "Set target").click()
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        nps_caption = [c.value for c in at.caption if "target: at least +99" in c.value]
        assert nps_caption and "missed" in nps_caption[0]
        assert [x.value for x in at.success] == ["Target set for NPS."]
        ui.get_store().close()
        ui.get_store.clear()
        store = open_workbench(db, read_only=True)
        assert targets(store)["nps"].set_by == LOCAL_ACTOR.name
        store.close()
    finally:
        ui.get_store.clear()


def test_the_changes_chart_labels_zero_on_a_wide_chart():
    """CDNOW's repeat rate against the year before (+1.9 pts, 95 % CI -0.7 to +4.5) on a chart as wide as the
    Summary's column: the axis ticked every 0.2 points and hid every other label, zero among them, so the dashed
    zero line had no label. Rendered by Vega (vl-convert) as the browser would, and its labels read."""
    import re

    import pandas as pd
    import vl_convert

    from engagement.charts.summary import changes_chart

    frame = pd.DataFrame([{"metric": "Repeat purchase rate", "change": 1.9, "ci_low": -0.7, "ci_high": 4.5,
                           "verdict": "within chance", "shown_change": "+1.9 pts"}])
    chart = changes_chart(frame, "the same period last year").properties(width=700)
    svg = vl_convert.vegalite_to_svg(chart.configure_axis(labelFontSize=12).to_json())  # Streamlit's label size
    # Labels Vega hides for overlapping are drawn with opacity 0.
    shown = [text for opacity, text in re.findall(r'<text[^>]*opacity="([^"]*)"[^>]*>([^<]*)</text>', svg)
             if float(opacity) > 0]
    assert "0" in shown, shown
