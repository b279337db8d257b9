"""Net Promoter Score with its uncertainty.

NPS = % promoters (9-10) - % detractors (0-6), on the -100..100 scale. Its interval is the adjusted
Wald interval for the difference of two trinomial proportions (Rocks, "Interval Estimation for the
'Net Promoter Score'", The American Statistician 70(4), 2016): add 3/4 of a promoter and 3/4 of a
detractor (3 answers in all) before applying the Wald formula, which gives close to nominal coverage
even for small samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from statistics import NormalDist

NPS_INTERVAL_METHOD = "adjusted Wald (Rocks 2016)"


@dataclass(frozen=True)
class NpsResult:
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    ci_low: float
    ci_high: float

    @property
    def promoter_share(self) -> float:
        return self.promoters / self.responses if self.responses else math.nan

    @property
    def detractor_share(self) -> float:
        return self.detractors / self.responses if self.responses else math.nan


def nps_summary(promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> NpsResult:
    """NPS and its adjusted-Wald interval from the three counts.

    >>> r = nps_summary(promoters=60, passives=25, detractors=15)
    >>> round(r.nps, 1), round(r.ci_low, 1), round(r.ci_high, 1)
    (45.0, 29.3, 58.0)
    """
    n = promoters + passives + detractors
    if n == 0:
        return NpsResult(0, 0, 0, 0, math.nan, math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    se = math.sqrt((p_adj + d_adj - centre**2) / n_adj)
    low, high = max(-1.0, centre - z * se), min(1.0, centre + z * se)
    nps = (promoters - detractors) / n
    return NpsResult(n, promoters, passives, detractors, 100 * nps, 100 * low, 100 * high)
