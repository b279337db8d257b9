"""Confidence intervals for the proportions and means shown next to every headline number."""

from __future__ import annotations

import math

from statistics import NormalDist

# The standard library's normal distribution: scipy.stats costs about a second at app start-up.
_NORMAL = NormalDist()


def normal_quantile(q: float) -> float:
    """The standard normal quantile, Phi^-1(q): the one place the workbench computes it. For a two-sided
    interval at ``confidence`` the critical value is ``normal_quantile(0.5 + confidence / 2)``.

    >>> round(normal_quantile(0.975), 6)  # scipy.stats.norm.ppf(0.975) = 1.959964
    1.959964
    """
    return _NORMAL.inv_cdf(q)


def two_sided_p(z: float) -> float:
    """2 * P(Z > |z|) via erfc, which keeps tiny p-values instead of rounding 1 - cdf to 0.

    >>> round(two_sided_p(1.959964), 4)
    0.05
    """
    return math.erfc(abs(z) / math.sqrt(2))


def format_p(p_value: float | None, *, floor: float = 1e-4, two_digits_below: float | None = 0.01,
             label: bool = True) -> str:
    """A p-value as people read it: the one formatter of the workbench.

    Below ``floor``: "p < floor"; below ``two_digits_below``: two significant digits; else three decimals;
    "n/a" when there is none. ``label=False`` drops the "p =" (for a table column).

    >>> format_p(2.3e-19), format_p(0.0019271), format_p(0.133)
    ('p < 0.0001', 'p = 0.0019', 'p = 0.133')
    >>> format_p(0.0004, floor=0.001, two_digits_below=None)
    'p < 0.001'
    >>> format_p(0.0123, floor=0.001, two_digits_below=None, label=False)
    '0.012'
    """
    if p_value is None or math.isnan(p_value):
        text = "n/a"
    elif p_value < floor:
        text = f"< {floor:g}"
    elif two_digits_below is not None and p_value < two_digits_below:
        text = f"{p_value:.2g}"
    else:
        text = f"{p_value:.3f}"
    if not label:
        return text
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    Good coverage even for small ``n`` or proportions near 0 or 1, unlike the plain Wald interval.
    Returns ``(nan, nan)`` when ``n`` is 0.

    >>> [round(x, 4) for x in wilson_interval(81, 263)]  # statsmodels proportion_confint(..., method="wilson")
    [0.2553, 0.3662]
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = normal_quantile(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def mean_interval(mean: float, sd: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for a mean from its summary statistics."""
    if n < 2 or sd is None or math.isnan(sd):
        return (math.nan, math.nan)
    from scipy import stats  # lazily: scipy.stats costs about a second at start-up

    t = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1))
    half_width = t * sd / math.sqrt(n)
    return (mean - half_width, mean + half_width)


def median_rank_bounds(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks of the order statistics bounding a distribution-free CI for the median.

    Exact binomial(n, 1/2) order statistics (Conover, Practical Nonparametric Statistics, 3rd ed., section
    3.2; the interval scipy's ``quantile_test(...).confidence_interval()`` returns): the lower rank l is the
    largest with P(B <= l - 1) <= (1 - confidence) / 2, the upper rank n + 1 - l, so that
    P(X_(l) <= median <= X_(n+1-l)) = 1 - 2 P(B <= l - 1) >= confidence. When even (1, n) covers less (n < 6
    at 95 %) the widest interval, (1, n), is returned.

    >>> median_rank_bounds(100), median_rank_bounds(101)  # scipy.stats.quantile_test on 1..n gives the same
    ((40, 61), (41, 61))
    """
    if n <= 0:
        return (1, max(n, 1))
    from scipy.stats import binom  # lazily: scipy.stats costs about a second at start-up

    tail = (1 - confidence) / 2
    k = int(binom.ppf(tail, n, 0.5))  # smallest k with cdf(k) >= tail; step down to cdf(k) <= tail
    while k >= 0 and binom.cdf(k, n, 0.5) > tail:
        k -= 1
    lower = max(1, k + 1)
    return lower, n + 1 - lower


def welch_interval(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int,
                   confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Difference ``mean_a - mean_b`` with its Welch standard error and t interval.

    Returns ``(difference, se, ci_low, ci_high)``; the degrees of freedom follow Welch-Satterthwaite.
    """
    difference = mean_a - mean_b
    if n_a < 2 or n_b < 2:
        return difference, math.nan, math.nan, math.nan
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return difference, 0.0, difference, difference
    df = (va + vb) ** 2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1))
    from scipy import stats  # lazily: scipy.stats costs about a second at start-up

    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return difference, se, difference - t * se, difference + t * se
