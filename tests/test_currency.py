"""Money is shown in the loaded orders' currency: an EUR shop reads "€38.47", never "$38.47" (engagement/metrics.py:
money; the app sets it per run, the CLI per command, alert e-mails per evaluation)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import hand_fixture_frames, open_app_page
from engagement import metrics
from engagement.charts import aov_trend_chart
from engagement.charts.currency import in_orders_currency
from engagement.table_format import column_formats
from engagement.value.currency import order_currencies
from engagement.workbench import open_workbench


def _store_in(path, currencies):
    frames = hand_fixture_frames()
    frames["orders"]["currency"] = currencies
    store = open_workbench(path, read_only=False)
    for kind, frame in frames.items():
        store.load_frame(kind, frame)
    return store


def test_the_orders_currency_is_read_from_the_orders():
    assert order_currencies(_store_in(":memory:", ["EUR"] * 6)) == ("EUR",)
    mixed = _store_in(":memory:", ["usd", "EUR", "EUR", "EUR", "USD", "EUR"])
    assert order_currencies(mixed) == ("EUR", "USD")  # most orders first, codes as intake compares them


@pytest.mark.parametrize("codes, value, shown", [
    (["EUR"], 38.47, "€38.47"), (["GBP"], -1234.5, "-£1,234.50"), (["CHF"], 38.47, "CHF 38.47"),
    (["EUR", "USD"], 38.47, "38.47 EUR+USD"), (["<img src=x>"], 1, "IMGSRCX 1.00"),
    ([], 38.47, "38.47"),  # orders that name no currency (Online Retail's pounds): no sign rather than "$"
])
def test_money_names_the_currency_and_claims_no_symbol_for_a_mixed_sum(codes, value, shown):
    with metrics.use_currency(codes):
        assert metrics.money(value) == shown
    assert metrics.money(value).startswith(("$", "-$"))  # the block left the context as it was


def test_metric_values_table_columns_and_chart_axes_follow_the_currency():
    with metrics.use_currency(["EUR"]):
        assert metrics.format_value("average_order_value", 38.47) == "€38.47"
        assert metrics.format_change("average_order_value", -2.5) == "-€2.50"
        spec = column_formats(pd.DataFrame({"average_order_value": [38.47]}))["average_order_value"]
        assert spec.printf.startswith("€") and "$" not in spec.printf
        frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01"]), "average_order_value": [38.47],
                              "order_value_sd": [1.0], "orders": [10], "ci_low": [37.0], "ci_high": [40.0]})
        chart = in_orders_currency(aov_trend_chart(frame)).to_dict()
    assert chart["config"]["locale"]["number"]["currency"] == ["€", ""]  # d3's "$,.2f" writes €
    assert "(€)" in str(chart) and "($)" not in str(chart)


def _overview_of(path, currencies, monkeypatch):
    """The Overview of the hand fixture with its orders in ``currencies``, opened read-only by the app."""
    from engagement import ui

    _store_in(path, currencies).close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    monkeypatch.setenv("ENGAGEMENT_SNAPSHOTS", "0")
    ui.get_store.clear()
    try:
        return open_app_page("pages/overview.py", {"start": "2024-11-01", "end": "2025-03-31"})
    finally:
        ui.get_store.clear()


def test_an_eur_shops_overview_shows_euros(tmp_path, monkeypatch):
    at = _overview_of(tmp_path / "eur.duckdb", ["EUR"] * 6, monkeypatch)
    money = {m.label: m.value for m in at.metric if "order value" in m.label.lower()}
    assert money and all(v.startswith("€") for v in money.values()), money
    assert not [m.value for m in at.metric if "$" in str(m.value)]


def test_orders_without_a_currency_show_amounts_without_a_dollar_sign(tmp_path, monkeypatch):
    """Online Retail's export has no currency column and its amounts are pounds: the Overview showed "$515.57".
    Orders that name no currency are shown without a sign, and the sidebar says how to name it."""
    from engagement.value.currency import NO_CURRENCY_NOTE

    at = _overview_of(tmp_path / "none.duckdb", [None] * 6, monkeypatch)
    value = next(m.value for m in at.metric if m.label == "Average order value")
    assert value[0].isdigit() and "$" not in value, value
    assert NO_CURRENCY_NOTE in [c.value for c in at.sidebar.caption]


def test_an_orders_file_without_currency_says_so_and_a_fixed_value_names_it(tmp_path):
    from engagement.intake.ingest import ingest_file

    store = open_workbench(tmp_path / "fixed.duckdb", read_only=False)
    file = tmp_path / "orders.csv"
    file.write_text("order_id,customer_id,ordered_at,net_revenue,status\no1,A,2025-04-01,10,paid\n")
    plain = ingest_file(store, "orders", file)
    assert plain.status == "loaded" and any("has no currency column" in n for n in plain.notes), plain.notes
    file.write_text("order_id,customer_id,ordered_at,net_revenue,status\no2,B,2025-04-02,12,paid\n")
    named = ingest_file(store, "orders", file, mapping={"currency": {"constant": "GBP"}})
    assert named.status == "loaded" and not any("currency" in n for n in named.notes), named.notes
    assert order_currencies(store) == ("GBP",)
    store.close()


def test_no_page_uses_streamlits_dollar_preset():
    """NumberColumn(format="dollar") writes $ whatever the orders' currency: pages use ui.money_format()."""
    from pathlib import Path

    pages = sorted((Path(__file__).resolve().parents[1] / "pages").glob("*.py"))
    assert [p.name for p in pages if '"dollar"' in p.read_text(encoding="utf-8")] == []
    with metrics.use_currency(["EUR"]):
        from engagement.ui.text import money_format

        assert money_format() == "€%,.2f"


def test_a_cli_command_shows_amounts_in_the_databases_currency(tmp_path):
    """``open_store`` (every CLI command's database) sets the currency for the command (run here in a copied
    context, so this test's own context keeps dollars)."""
    import argparse
    import contextvars

    from engagement.commands.common import close_opened_stores, open_store

    path = tmp_path / "eur.duckdb"
    _store_in(path, ["EUR"] * 6).close()

    def command() -> str:
        open_store(argparse.Namespace(db=str(path), demo=False))
        try:
            return metrics.money(38.47)
        finally:
            close_opened_stores()

    assert contextvars.copy_context().run(command) == "€38.47"


def test_an_exported_chart_writes_the_currency_the_page_showed():
    """The export (stamped: the chart inside a vertical concatenation) takes the page's locale with it: it runs
    outside the page's run, and Altair refuses a configured chart inside a concatenation."""
    from engagement.charts.export import ChartStamp, export_chart

    frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "average_order_value": [38.47, 40.0],
                          "order_value_sd": [1.0, 1.0], "orders": [10, 10], "ci_low": [37.0, 38.0],
                          "ci_high": [40.0, 41.0]})
    with metrics.use_currency(["EUR"]):
        figure, locale = aov_trend_chart(frame), metrics.d3_currency_locale()
        in_orders_currency(figure)  # what the page draws leaves the figure itself unconfigured
    svg = export_chart(figure, ChartStamp("Jan 2025", "all", "n = 20 orders", ""), "svg", locale).decode("utf-8")
    assert "€" in svg and "$" not in svg


def test_the_digests_revenue_chart_is_drawn_in_the_currency(monkeypatch):
    """The digest's PNGs (``chart_png``) take the command's currency, as its text does."""
    import json

    import vl_convert

    from engagement.charts import monthly_revenue_chart
    from engagement.charts.summary import chart_png

    seen, real = {}, vl_convert.vegalite_to_png
    monkeypatch.setattr(vl_convert, "vegalite_to_png",
                        lambda spec, **kw: seen.setdefault("spec", spec) and real(spec, **kw))
    months = pd.date_range("2025-11-01", "2026-01-01", freq="MS")
    chart = monthly_revenue_chart(pd.DataFrame({"month": months, "revenue": [1.0, 2.0, 3.0], "orders": [1, 2, 3]}))
    with metrics.use_currency(["GBP"]):
        assert chart_png(chart)[:4] == b"\x89PNG"
    assert json.loads(seen["spec"])["config"]["locale"]["number"]["currency"] == ["£", ""]
