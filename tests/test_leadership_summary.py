"""The leadership summary: its numbers are the Overview's, its change intervals are the project's tests (checked
against statsmodels), its comparison windows are the ones it names, and targets are written as the acting user."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from engagement.filters import Filters
from engagement.leadership import targets as targets_module
from engagement.leadership.summary import (
    leadership_summary, parse_period, period_filters, same_period_last_year,
)
from engagement.value.kpis import overview_kpis, window_totals
from engagement.warehouse.access import Actor, WriteRefused
from engagement.workbench import open_workbench


@pytest.fixture(scope="module")
def summary(demo_store):
    return leadership_summary(demo_store, period_filters(demo_store, 30))


def test_the_numbers_are_the_overviews(demo_store, summary):
    kpis = {k.key: k for k in overview_kpis(demo_store, summary.filters)}
    for number in summary.numbers:
        if number.key in kpis:
            assert number.value == pytest.approx(kpis[number.key].value, nan_ok=True)
            assert number.n == kpis[number.key].n
            previous = number.change("previous")
            assert previous.value == pytest.approx(kpis[number.key].previous_value, nan_ok=True)


def test_the_default_comparison_is_last_year_when_the_data_covers_it(demo_store, summary):
    """The demo spans 24 months: the same 30 days a year earlier are in the data."""
    assert summary.comparison == "year" and "same period last year" in summary.comparison_note
    year = summary.number("repeat_purchase_rate").change("year")
    assert (year.start, year.end) == (date(summary.filters.start.year - 1, summary.filters.start.month,
                                           summary.filters.start.day),
                                      date(summary.filters.end.year - 1, summary.filters.end.month,
                                           summary.filters.end.day))
    short = Filters(start=summary.data_start, end=summary.data_start.replace(month=summary.data_start.month % 12 + 1)
                    if summary.data_start.month < 12 else summary.data_start)
    assert leadership_summary(demo_store, short).comparison == "previous"


def test_repeat_rate_change_interval_is_agresti_caffo_as_statsmodels_computes_it(demo_store, summary):
    now = window_totals(demo_store, summary.filters)
    year = summary.number("repeat_purchase_rate").change("year")
    then = window_totals(demo_store, Filters(year.start, year.end))
    low, high = confint_proportions_2indep(int(now["repeat_customers"]), int(now["customers_with_orders"]),
                                           int(then["repeat_customers"]), int(then["customers_with_orders"]),
                                           method="agresti-caffo")
    assert (year.ci_low, year.ci_high) == pytest.approx((low, high), abs=1e-9)
    assert year.significant == (low > 0 or high < 0)


def test_a_metric_without_an_interval_is_never_significant(summary):
    change = summary.number("returning_revenue_share").change("year")
    assert math.isnan(change.ci_low) and not change.significant


def test_29_february_maps_to_the_28th_a_year_earlier():
    window = same_period_last_year(Filters(date(2024, 2, 1), date(2024, 2, 29)))
    assert (window.start, window.end) == (date(2023, 2, 1), date(2023, 2, 28))


@pytest.mark.parametrize("text, days", [("30d", 30), ("6w", 42), ("3m", 90), ("1y", 365), ("14", 14)])
def test_periods(text, days):
    assert parse_period(text) == days


@pytest.mark.parametrize("text", ["", "0d", "-3d", "30x", "d30"])
def test_bad_periods_say_what_to_type(text):
    with pytest.raises(ValueError, match="30d"):
        parse_period(text)


def test_targets_are_written_as_the_acting_user_and_read_back(tmp_path):
    store = open_workbench(tmp_path / "t.duckdb", read_only=False)
    try:
        analyst = Actor("ana@example.com", "analyst", "oidc")
        target = targets_module.set_target(store, "nps", targets_module.parse_target_value("nps", "40"),
                                           actor=analyst)
        assert target.set_by == "ana@example.com" and target.is_met(45.0) and not target.is_met(30.0)
        targets_module.set_target(store, "nps", 50.0, actor=analyst)  # replaces
        assert targets_module.targets(store)["nps"].target == 50.0
        with pytest.raises(WriteRefused):
            targets_module.set_target(store, "nps", 10.0, actor=Actor("v@example.com", "viewer", "oidc"))
        assert targets_module.targets(store)["nps"].target == 50.0
        trail = store.cursor().execute("SELECT actor, action FROM audit_log WHERE action LIKE '%target%'").fetchall()
        assert trail == [("ana@example.com", "set target")] * 2
        assert targets_module.remove_target(store, "nps", actor=analyst) and targets_module.targets(store) == {}
    finally:
        store.close()


@pytest.mark.parametrize("key, text, value", [("repeat_purchase_rate", "30%", 0.30),
                                              ("repeat_purchase_rate", "0.3", 0.30),
                                              ("repeat_purchase_rate", "30", 0.30), ("nps", "-10", -10.0)])
def test_target_values_as_people_type_them(key, text, value):
    assert targets_module.parse_target_value(key, text) == pytest.approx(value)


@pytest.mark.parametrize("key, text", [("repeat_purchase_rate", "150%"), ("nps", "120"), ("nps", "abc"),
                                       ("nps", "40%")])
def test_bad_target_values_are_refused(key, text):
    with pytest.raises(ValueError):
        targets_module.parse_target_value(key, text)


def test_latest_experiments_read_in_plain_words(summary):
    """The demo plants one e-mail test with a true lift (recommendations) and null ones; a sample-ratio mismatch
    overrides any status (its numbers cannot be trusted)."""
    from engagement.leadership.headlines import experiment_phrase

    phrases = {e["experiment_id"]: experiment_phrase(e) for e in summary.experiments}
    assert phrases["EXP-recs-email"] == "the treatment raised conversion, more than chance explains"
    assert all(e["status"] != "positive" or "raised" in phrases[e["experiment_id"]] for e in summary.experiments)
    assert experiment_phrase({"primary_metric": "conversion", "status": "positive", "srm_status": "mismatch"}) \
        .startswith("results not trustworthy")
    assert experiment_phrase({"primary_metric": "revenue_per_customer", "status": "inconclusive"}).startswith(
        "no clear difference in revenue per customer")


def test_a_period_before_that_the_data_starts_inside_is_not_compared(demo_store):
    """Online Retail's default year (10 Dec 2010 - 9 Dec 2011) against the period before, of which the data held
    its last 9 days: the Overview said the repeat rate "rose from 18.8% to 64.8%, more than chance explains",
    comparing 365 days of buying with 9. The same shape on the demo: a year whose period before has 9 days of data.
    """
    from engagement.leadership.headlines import headline
    from engagement.value.kpis import data_range

    first = data_range(demo_store).first_order_date
    year = Filters(start=first + timedelta(days=9), end=first + timedelta(days=9 + 364))
    kpis = overview_kpis(demo_store, year)
    assert all(math.isnan(k.previous_value) and k.previous_n == 0 for k in kpis)
    assert "has data for only 9 of its 365 days" in kpis[0].previous_note
    summary = leadership_summary(demo_store, year, models=False)
    assert all(not n.changes for n in summary.numbers)
    assert summary.comparison_note.startswith("Not compared: the data starts on")
    said = " ".join(headline(summary))
    assert " rose " not in said and " fell " not in said and "against" not in said
    # Covered from its first day on: compared, as before.
    covered = Filters(start=first + timedelta(days=365), end=first + timedelta(days=365 + 364))
    assert covered.previous_period().start == first
    assert all(k.previous_note == "" and k.previous_n > 0 for k in overview_kpis(demo_store, covered)
               if k.key != "nps")
    assert "previous" in leadership_summary(demo_store, covered, models=False).number("repeat_purchase_rate").changes
