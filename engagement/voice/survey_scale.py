"""What NPS and CSAT share: how a survey scale is scored (:class:`SurveyScale`), the result of comparing two groups
or periods (:class:`SurveyDifference`) and the Agresti-Caffo difference of two shares.

Both ``nps.py`` (NPS statistics and every survey view) and ``csat.py`` (the CSAT scale) import this module, so
that neither imports the other for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engagement.stats.intervals import normal_quantile, two_sided_p


@dataclass(frozen=True)
class SurveyScale:
    """How one survey kind is scored: the top box, the bottom box and their names."""

    kind: str
    top_min: int
    bottom_max: int
    top_label: str
    middle_label: str
    bottom_label: str
    score_label: str
    interval_method: str
    difference_method: str

    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, "top_min": self.top_min, "bottom_max": self.bottom_max}

    def category_label(self, category: str) -> str:
        return {"top": self.top_label, "middle": self.middle_label, "bottom": self.bottom_label}[category]


@dataclass(frozen=True)
class SurveyDifference:
    """Score of A minus score of B (points), its interval and two-sided p-value."""

    label_a: str
    label_b: str
    n_a: int
    n_b: int
    score_a: float
    score_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str

    @property
    def is_significant(self) -> bool:
        return self.p_value < 0.05


def proportion_difference(successes_a: int, n_a: int, successes_b: int, n_b: int, label_a: str = "A",
                          label_b: str = "B", confidence: float = 0.95) -> SurveyDifference:
    """Share of A minus share of B (in points) with the Agresti-Caffo interval and its z test.

    Agresti & Caffo (2000), The American Statistician 54(4): add one success and one failure to each
    sample, then use the Wald interval; coverage is close to nominal even for small samples.

    (statsmodels ``confint_proportions_2indep(30, 50, 20, 50, method="agresti-caffo")`` = (0.0037, 0.3809).)

    >>> d = proportion_difference(30, 50, 20, 50)
    >>> round(d.difference, 1), round(d.ci_low, 2), round(d.ci_high, 2)
    (20.0, 0.37, 38.09)
    """
    if n_a == 0 or n_b == 0:
        return SurveyDifference(label_a, label_b, n_a, n_b, math.nan, math.nan, math.nan, math.nan, math.nan,
                                math.nan, "Agresti-Caffo")
    p_a, p_b = (successes_a + 1) / (n_a + 2), (successes_b + 1) / (n_b + 2)
    se = math.sqrt(p_a * (1 - p_a) / (n_a + 2) + p_b * (1 - p_b) / (n_b + 2))
    centre = p_a - p_b
    half_width = normal_quantile(0.5 + confidence / 2) * se
    p_value = two_sided_p(centre / se) if se > 0 else math.nan
    share_a, share_b = 100 * successes_a / n_a, 100 * successes_b / n_b
    return SurveyDifference(label_a, label_b, n_a, n_b, share_a, share_b, share_a - share_b,
                            100 * (centre - half_width), 100 * (centre + half_width), p_value,
                            "Agresti-Caffo interval and z test for two independent proportions")
