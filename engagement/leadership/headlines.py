"""Headlines: one or two plain sentences from a page's own numbers, with the uncertainty in words.

The rule every sentence keeps (property-tested in tests/test_headlines.py): a number "rose" only when the 95 %
interval of its change lies above zero and the change is positive, "fell" only when it lies below zero and the
change is negative. When the interval includes zero the sentence says the number is about the same, within
what chance explains; when there is no interval (revenue from returning customers) it gives both values and
says the change cannot be judged against chance.

>>> from datetime import date
>>> from engagement.leadership.summary import Change
>>> c = Change("year", date(2025, 1, 1), date(2025, 1, 31), 0.267, 900, 0.056, 0.012, 0.099, 0.01, "Agresti-Caffo")
>>> change_sentence("repeat_purchase_rate", 0.323, c)
'Repeat purchase rate rose from 26.7% to 32.3% against the same period last year (+5.6 pts), more than chance explains (95 % CI of the change +1.2 pts to +9.9 pts).'
"""

from __future__ import annotations

import math
from typing import Sequence

from engagement import metrics
from engagement.filters import Filters
from engagement.leadership.summary import SUMMARY_METRICS, Change, LeadershipSummary, SummaryNumber
from engagement.voice.survey_scale import SurveyDifference

ROSE, FELL = "rose", "fell"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def direction(change: Change) -> str | None:
    """``rose`` or ``fell`` when the change is more than chance explains and its estimate agrees with its
    interval; None otherwise (including an interval that includes zero, or none at all)."""
    if not change.significant or _missing(change.change):
        return None
    if change.ci_low > 0 and change.change > 0:
        return ROSE
    if change.ci_high < 0 and change.change < 0:
        return FELL
    return None


def change_sentence(key: str, value: float, change: Change | None) -> str:
    """One sentence on metric ``key``'s ``value`` against ``change``'s comparison window."""
    return sentence(metrics.metric(key).label, value, change, lambda v: metrics.format_value(key, v),
                    lambda c: metrics.format_change(key, c))


def sentence(label: str, value: float, change: Change | None, show_value, show_change) -> str:
    """:func:`change_sentence` for any number, given how to show a value and a change (the NPS page's CSAT)."""
    now = show_value(value)
    if _missing(value):
        return f"{label}: no data in this period."
    if change is None:
        return f"{label} is {now}."
    if _missing(change.value) or not change.n:
        return f"{label} is {now}; {change.label} has no data to compare with."
    then = show_value(change.value)
    delta = show_change(change.change)
    if not change.has_interval:
        return (f"{label} is {now} against {then} in {change.label} ({delta}); no interval is computed for this "
                "figure, so whether the change is more than chance cannot be said.")
    interval = f"95 % CI of the change {show_change(change.ci_low)} to {show_change(change.ci_high)}"
    word = direction(change)
    if word is not None:
        return f"{label} {word} from {then} to {now} against {change.label} ({delta}), more than chance explains ({interval})."
    if change.significant:  # the interval excludes zero but the raw estimate points the other way (tiny samples)
        return (f"{label} is {now} against {then} in {change.label} ({delta}); the interval of the change "
                f"({interval}) and the estimate disagree in sign, so no direction is claimed.")
    return (f"{label} is about the same as in {change.label} ({then} then, {now} now; {delta}), within what "
            f"chance explains ({interval}).")


def survey_headline(d: SurveyDifference, previous: Filters, kind: str) -> str:
    """The NPS and CSAT page's headline from its comparison with the period before (``compare_with_previous_
    period``): the same rule as every headline."""
    change = Change("previous", previous.start, previous.end, d.score_b, d.n_b, d.difference, d.ci_low, d.ci_high,
                    d.p_value, d.method)
    if kind == "nps":
        return change_sentence("nps", d.score_a, change)
    return sentence("% satisfied (CSAT)", d.score_a, change, lambda v: f"{v:.1f}%", lambda c: f"{c:+.1f} pts")


def _phrase_about_same(numbers: Sequence[SummaryNumber], label: str) -> str:
    listed = [f"{n.label.lower() if n.key != 'nps' else n.label} {metrics.format_value(n.key, n.value)}"
              for n in numbers]
    joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    verb = "is" if len(listed) == 1 else "are"
    return f"Against {label}, {joined} {verb} about the same, within what chance explains."


def headline(summary: LeadershipSummary, keys: Sequence[str] = SUMMARY_METRICS, most: int = 2) -> list[str]:
    """At most ``most`` sentences for a page: the changes chance does not explain first (smallest p-value
    first), else one sentence saying nothing moved beyond chance."""
    numbers = [n for n in summary.numbers if n.key in keys and not _missing(n.value)]
    with_change = [(n, n.change(summary.comparison)) for n in numbers if n.change(summary.comparison) is not None]
    if not with_change:
        return [change_sentence(n.key, n.value, None) for n in numbers[:most]] or ["No data in this period."]
    moved = sorted(((n, c) for n, c in with_change if direction(c) is not None), key=lambda nc: nc[1].p_value)
    sentences = [change_sentence(n.key, n.value, c) for n, c in moved[:most]]
    if not sentences:
        # Beyond chance but the estimate and its interval disagree in sign (tiny samples): said, not summed up.
        sentences = [change_sentence(n.key, n.value, c) for n, c in with_change if c.significant][:most]
        judged = [n for n, c in with_change if c.has_interval and c.n and not c.significant]
        if judged and len(sentences) < most:
            sentences.append(_phrase_about_same(judged, summary.comparison_label))
        if not sentences:
            sentences.append(change_sentence(with_change[0][0].key, with_change[0][0].value, with_change[0][1]))
    return sentences


def _segment_value(value: float, unit: str) -> str:
    return f"{value * 100:.1f}%" if unit == "share" else metrics.money(value)


def _segment_contrast(value: float, unit: str, kind: str) -> str:
    if kind == "ratio":
        return f"{value:.2f}x"
    if unit == "share":
        return f"{value * 100:+.1f} pts"
    return metrics.money(value, signed=True)


def segment_sentence(comparison) -> str:
    """Engaged against unengaged customers on one metric (``value/engagement_score.SegmentComparison``): "higher" or
    "lower" only when the contrast's 95 % interval excludes no difference (0 for a difference, 1 for a ratio)."""
    c = comparison
    unit, kind = c.unit, c.contrast_kind
    engaged, unengaged = _segment_value(c.engaged.value, unit), _segment_value(c.unengaged.value, unit)
    if _missing(c.contrast) or not c.engaged.n or not c.unengaged.n:
        return f"{c.label}: not enough engaged and unengaged customers to compare."
    null = 1.0 if kind == "ratio" else 0.0
    named = "ratio" if kind == "ratio" else "difference"
    interval = (f"{named} {_segment_contrast(c.contrast, unit, kind)}, 95 % CI "
                f"{_segment_contrast(c.contrast_low, unit, kind)} to {_segment_contrast(c.contrast_high, unit, kind)}")
    if _missing(c.contrast_low) or _missing(c.contrast_high):
        return (f"{c.label} is {engaged} for engaged customers and {unengaged} for the others; there is no interval "
                "to judge the gap against chance.")
    if c.contrast_low > null and c.contrast > null:
        word = "higher"
    elif c.contrast_high < null and c.contrast < null:
        word = "lower"
    else:
        return (f"{c.label} is about the same for engaged ({engaged}) and other customers ({unengaged}), within "
                f"what chance explains ({interval}).")
    return (f"{c.label} is {word} for engaged customers: {engaged} against {unengaged} for the others ({interval}), "
            "more than chance explains; an association, not proof that engagement causes it.")


def roi_sentence(result, observational: bool = False) -> str:
    """The ROI page's headline (``value/roi.RoiResult``): "paid back" only when the ROI's 95 % interval lies above
    break-even (0), "did not pay back" only when it lies below."""
    r = result
    if _missing(r.roi):
        return "The return cannot be computed for this selection."
    interval = f"95 % CI {r.roi_ci_low:+.0%} to {r.roi_ci_high:+.0%}" if not (
        _missing(r.roi_ci_low) or _missing(r.roi_ci_high)) else "no interval"
    caveat = (" This is an observational estimate: engaged customers differ in ways the model cannot see, so it "
              "likely overstates what the spending causes.") if observational else ""
    if interval == "no interval":
        return f"The return on {metrics.money(r.cost, 0)} of spending is {r.roi:+.0%}, with no interval to judge it against chance.{caveat}"
    if r.roi_ci_low > 0 and r.roi > 0:
        verdict = "it paid back more than it cost, beyond what chance explains"
    elif r.roi_ci_high < 0 and r.roi < 0:
        verdict = "it returned less than it cost, beyond what chance explains"
    else:
        verdict = "whether it pays back is within what chance explains (the interval includes break-even)"
    return f"The return on {metrics.money(r.cost, 0)} of spending is {r.roi:+.0%} ({interval}): {verdict}.{caveat}"


# An experiment's verdict in a CX lead's words; the full verdict (interval, correction, power) stays beside it.
_EXPERIMENT_WORDS = {
    "positive": "the treatment raised {metric}, more than chance explains",
    "negative": "the treatment lowered {metric}, more than chance explains",
    "inconclusive": "no clear difference in {metric}: what was measured is within what chance explains",
    "early": "too early to tell for {metric}: fewer units than planned so far",
    "untrustworthy": "results not trustworthy: the arms' sizes do not match the planned split",
    "no_data": "no data for {metric} yet",
}


def experiment_phrase(experiment: dict) -> str:
    """One plain phrase for a row of ``summary.latest_experiments`` (its primary metric's status)."""
    metric = str(experiment.get("primary_metric") or "the primary metric").replace("_", " ")
    status = "untrustworthy" if experiment.get("srm_status") == "mismatch" else str(experiment.get("status"))
    return _EXPERIMENT_WORDS.get(status, "{metric}: " + status).format(metric=metric)


def period_phrase(summary: LeadershipSummary) -> str:
    f = summary.filters
    return f"{f.start:%d %b %Y} – {f.end:%d %b %Y} ({f.days:,} days)"
