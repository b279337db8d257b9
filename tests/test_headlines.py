"""Headlines never overstate: property tests in the manner of tests/test_verdict_scale.py.

Whatever the numbers, a sentence says "rose" only when the change's 95 % interval lies above zero (and the
estimate is positive), "fell" only when it lies below zero, and otherwise says "about the same ... within what
chance explains" (or, without an interval, that the change cannot be judged). The numbers it quotes are the
registry's formatting of the inputs.
"""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from engagement import metrics
from engagement.filters import Filters
from engagement.leadership.headlines import change_sentence, headline
from engagement.leadership.summary import Change, LeadershipSummary, SummaryNumber
from engagement.voice.survey_scale import proportion_difference

KEYS = ("repeat_purchase_rate", "nps", "active_loyalty_members_90d", "returning_revenue_share")


def _change(key: str, then: float, change: float, low: float, high: float, name: str = "year") -> Change:
    return Change(name, date(2025, 1, 1), date(2025, 1, 30), then, 500, change, low, high, 0.5, "test")


finite = st.floats(min_value=-1, max_value=1, allow_nan=False)


@st.composite
def changes(draw):
    key = draw(st.sampled_from(KEYS))
    scale = 100 if key == "nps" else 1
    now = draw(st.floats(min_value=0, max_value=1)) * scale
    then = draw(st.floats(min_value=0, max_value=1)) * scale
    a, b = sorted((draw(finite) * scale, draw(finite) * scale))
    interval = draw(st.sampled_from(["given", "none"]))
    if interval == "none":
        a = b = math.nan
    return key, now, _change(key, then, now - then, a, b)


@settings(max_examples=400, deadline=None)
@given(changes())
def test_a_sentence_never_claims_a_direction_the_interval_does_not_support(case):
    key, now, change = case
    text = change_sentence(key, now, change)
    words = text.split()
    if "rose" in words:
        assert change.ci_low > 0 and change.change > 0, text
    if "fell" in words:
        assert change.ci_high < 0 and change.change < 0, text
    includes_zero = not (change.ci_low > 0 or change.ci_high < 0)  # NaN bounds count as "includes"
    if math.isnan(change.ci_low):
        assert "cannot be said" in text and "rose" not in words and "fell" not in words
    elif includes_zero:
        assert "about the same" in text and "within what chance explains" in text, text
    else:
        assert "more than chance explains" in text or "no direction is claimed" in text, text
    assert metrics.format_value(key, now) in text and metrics.format_value(key, change.value) in text


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(1, 400), st.integers(0, 400), st.integers(1, 400))
def test_sentences_on_real_tests_of_two_shares_agree_with_the_test(s_a, n_a, s_b, n_b):
    """On counts, the sentence's verdict is the Agresti-Caffo test's: rose/fell exactly when p < 0.05 and the
    estimate agrees with the interval."""
    s_a, s_b = min(s_a, n_a), min(s_b, n_b)
    d = proportion_difference(s_a, n_a, s_b, n_b)
    change = Change("previous", date(2025, 1, 1), date(2025, 1, 30), s_b / n_b, n_b, s_a / n_a - s_b / n_b,
                    d.ci_low / 100, d.ci_high / 100, d.p_value, d.method)
    text = change_sentence("repeat_purchase_rate", s_a / n_a, change)
    claims = "rose" in text.split() or "fell" in text.split()
    if claims:
        assert d.p_value < 0.05
    if d.p_value > 0.05 + 1e-9:
        assert not claims and "about the same" in text


def test_the_issue_example_reads_as_the_issue_asks():
    """Repeat rate 26.7 % -> 32.3 % with an interval above zero: "rose ... more than chance explains"."""
    text = change_sentence("repeat_purchase_rate", 0.323, _change("repeat_purchase_rate", 0.267, 0.056, 0.012, 0.099))
    assert text.startswith("Repeat purchase rate rose from 26.7% to 32.3%")
    assert "more than chance explains (95 % CI of the change +1.2 pts to +9.9 pts)" in text


def test_a_big_change_with_a_wide_interval_is_about_the_same():
    text = change_sentence("nps", 45.0, _change("nps", 34.0, 11.0, -5.0, 27.2))
    assert "rose" not in text and "about the same" in text and "+34 then, +45 now" in text


def _summary(changes_by_key: dict[str, Change]) -> LeadershipSummary:
    numbers = tuple(SummaryNumber(k, 0.5 if k != "nps" else 40.0, 100, math.nan, math.nan, changes={"year": c})
                    for k, c in changes_by_key.items())
    return LeadershipSummary(Filters(date(2026, 1, 1), date(2026, 1, 30)), "year", "", numbers, (), None, None)


def test_a_page_headline_leads_with_what_moved_and_stays_short():
    moved = _change("nps", 30.0, 10.0, 2.0, 18.0)
    more = Change("year", date(2025, 1, 1), date(2025, 1, 30), 0.6, 500, -0.1, -0.15, -0.05, 0.001, "t")
    flat = _change("repeat_purchase_rate", 0.49, 0.01, -0.02, 0.04)
    sentences = headline(_summary({"nps": moved, "active_loyalty_members_90d": more, "repeat_purchase_rate": flat}))
    assert len(sentences) == 2
    assert sentences[0].startswith("Loyalty members active in 90 days fell")  # smaller p-value first
    assert sentences[1].startswith("NPS rose")


def test_a_page_where_nothing_moved_says_so_without_a_direction():
    sentences = headline(_summary({"nps": _change("nps", 38.0, 2.0, -6.0, 10.0),
                                   "repeat_purchase_rate": _change("repeat_purchase_rate", 0.49, 0.01, -0.02, 0.04)}))
    assert len(sentences) == 1
    assert sentences[0] == ("Against the same period last year, NPS +40 and repeat purchase rate 50.0% are about the "
                            "same, within what chance explains.")
    assert "rose" not in sentences[0] and "fell" not in sentences[0]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300), st.integers(1, 300), st.integers(0, 300), st.integers(1, 300))
def test_the_csat_headline_keeps_the_same_rule(s_a, n_a, s_b, n_b):
    """The NPS and CSAT page's headline (CSAT has no registry entry) words its change by the same rule."""
    from engagement.leadership.headlines import survey_headline

    d = proportion_difference(min(s_a, n_a), n_a, min(s_b, n_b), n_b)
    text = survey_headline(d, Filters(date(2025, 1, 1), date(2025, 1, 30)), "csat")
    assert text.startswith("% satisfied (CSAT)")
    if "rose" in text.split():
        assert d.ci_low > 0 and d.difference > 0
    if "fell" in text.split():
        assert d.ci_high < 0 and d.difference < 0
    if d.ci_low <= 0 <= d.ci_high:
        assert "about the same" in text


@settings(max_examples=200, deadline=None)
@given(st.lists(changes(), min_size=1, max_size=4, unique_by=lambda c: c[0]))
def test_a_page_headline_claims_only_what_each_interval_supports(cases):
    """Whole headlines: at most two sentences, and each direction word belongs to a change whose interval lies
    on that side of zero."""
    numbers = tuple(SummaryNumber(key, now, 100, math.nan, math.nan, changes={"year": change})
                    for key, now, change in cases)
    summary = LeadershipSummary(Filters(date(2026, 1, 1), date(2026, 1, 30)), "year", "", numbers, (), None, None)
    sentences = headline(summary)
    assert 1 <= len(sentences) <= 2
    for text in sentences:
        for key, now, change in cases:
            if text.startswith(metrics.metric(key).label + " rose"):
                assert change.ci_low > 0 and change.change > 0
            if text.startswith(metrics.metric(key).label + " fell"):
                assert change.ci_high < 0 and change.change < 0
        if "about the same" in text and text.startswith("Against"):
            assert "rose" not in text.split() and "fell" not in text.split()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["difference", "ratio"]), st.sampled_from(["share", "money"]), finite, finite, finite)
def test_engaged_against_unengaged_says_higher_or_lower_only_beyond_chance(kind, unit, a, b, c):
    """The Engagement page's headline: "higher"/"lower" only when the contrast's interval excludes no difference
    (0 for a difference, 1 for a ratio)."""
    from engagement.leadership.headlines import segment_sentence
    from engagement.value.engagement_score import SegmentComparison, SegmentValue

    low, estimate, high = sorted((a, b, c))
    if kind == "ratio":
        low, estimate, high = 1 + low, 1 + estimate, 1 + high
    null = 1.0 if kind == "ratio" else 0.0
    comparison = SegmentComparison("repeat_rate", unit, SegmentValue(0.5, 0.4, 0.6, 100),
                                   SegmentValue(0.3, 0.2, 0.4, 100), kind, estimate, low, high)
    text = segment_sentence(comparison)
    if " higher " in text:
        assert low > null and estimate > null
    if " lower " in text:
        assert high < null and estimate < null
    if low <= null <= high:
        assert "about the same" in text and "within what chance explains" in text


@settings(max_examples=200, deadline=None)
@given(finite, finite, finite, st.booleans())
def test_the_roi_headline_says_it_paid_back_only_beyond_chance(a, b, c, observational):
    """"paid back" only when the ROI's interval lies above break-even, "less than it cost" only below it."""
    from types import SimpleNamespace

    from engagement.leadership.headlines import roi_sentence

    low, roi, high = sorted((4 * a, 4 * b, 4 * c))
    text = roi_sentence(SimpleNamespace(roi=roi, roi_ci_low=low, roi_ci_high=high, cost=1000.0), observational)
    if "paid back more than it cost" in text:
        assert low > 0 and roi > 0
    if "less than it cost" in text:
        assert high < 0 and roi < 0
    if low <= 0 <= high:
        assert "within what chance explains" in text
    assert ("observational estimate" in text) == observational
