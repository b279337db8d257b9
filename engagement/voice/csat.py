"""Customer satisfaction (CSAT): the share of 1-5 answers that are 4 or 5, with its uncertainty.

% satisfied = answers of 4-5 / all answers, with a 95 % Wilson interval (Wilson 1927). Answers of 3
are neutral, 1-2 dissatisfied. Two periods or groups are compared with the Agresti-Caffo interval
for a difference of two proportions. The views (breakdowns, trend, behaviour after the answer,
bottom-box list) are the ones of ``engagement/voice/nps.py`` run with :data:`CSAT_SCALE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from engagement.stats.intervals import wilson_interval
from engagement.voice.survey_scale import SurveyDifference, SurveyScale, proportion_difference

CSAT_INTERVAL_METHOD = "Wilson score interval (Wilson 1927)"
CSAT_DIFFERENCE_METHOD = (
    "Agresti-Caffo interval and z test for the difference of two proportions (Agresti & Caffo 2000)"
)

CSAT_SCALE = SurveyScale(
    kind="csat", top_min=4, bottom_max=2, top_label="satisfied", middle_label="neutral",
    bottom_label="dissatisfied", score_label="% satisfied", interval_method=CSAT_INTERVAL_METHOD,
    difference_method=CSAT_DIFFERENCE_METHOD,
)


@dataclass(frozen=True)
class CsatResult:
    responses: int
    satisfied: int
    neutral: int
    dissatisfied: int
    satisfied_pct: float
    ci_low: float
    ci_high: float


def csat_summary(satisfied: int, neutral: int, dissatisfied: int, confidence: float = 0.95) -> CsatResult:
    """% satisfied (answers of 4-5) and its Wilson interval, in percent, from the three counts.

    (statsmodels ``proportion_confint(81, 263, method="wilson")`` = (0.25529, 0.36621).)

    >>> r = csat_summary(satisfied=81, neutral=100, dissatisfied=82)
    >>> round(r.satisfied_pct, 2), round(r.ci_low, 2), round(r.ci_high, 2)
    (30.8, 25.53, 36.62)
    """
    n = satisfied + neutral + dissatisfied
    if n == 0:
        return CsatResult(0, 0, 0, 0, math.nan, math.nan, math.nan)
    low, high = wilson_interval(satisfied, n, confidence)
    return CsatResult(n, satisfied, neutral, dissatisfied, 100 * satisfied / n, 100 * low, 100 * high)


def csat_difference(a: tuple[int, int, int], b: tuple[int, int, int], label_a: str = "A", label_b: str = "B",
                    confidence: float = 0.95) -> SurveyDifference:
    """% satisfied of A minus that of B (counts: satisfied, neutral, dissatisfied), Agresti-Caffo."""
    result = proportion_difference(a[0], sum(a), b[0], sum(b), label_a, label_b, confidence)
    return replace(result, method=CSAT_DIFFERENCE_METHOD)
