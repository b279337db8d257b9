"""A/B test statistics on sufficient statistics: no I/O, no pandas, plain numbers in, frozen results out.

The inputs are what SQL can produce in one ``GROUP BY variant``: the unit count ``n``, the sum and
the sum of squares of the metric, and (for CUPED) the sum and sum of squares of a pre-period covariate
and the sum of cross-products. Everything else (means, variances, covariances, tests, intervals,
power, Bayesian and sequential views) is derived here, in the spirit of GrowthBook's ``gbstats``.

Conventions: lifts are always ``variant - control``; relative lifts are ``variant / control - 1``;
``alpha`` is two-sided.

Example
-------
>>> control = SampleStats(n=1000, total=100, sum_squares=100)
>>> variant = SampleStats(n=1000, total=130, sum_squares=130)
>>> result = compare_arms(control, variant, kind="binary")
>>> round(result.absolute_lift, 3), round(result.p_value, 4)
(0.03, 0.0355)

(statsmodels: ``proportions_ztest([130, 100], [1000, 1000])`` gives p = 0.035488. The verdict reads
``result.relative_p_value``, the relative lift's test: 0.0654, written out in tests/test_verdict_scale.py.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Mapping, Sequence

import numpy as np

from engagement.stats.intervals import normal_quantile

# The normal distribution from the standard library: scipy.stats costs about a second at app start-up,
# so it is imported only where the t and chi-square distributions are needed.
_NORMAL = NormalDist()


def _normal_sf(z: float) -> float:
    """Upper tail of the standard normal, accurate far into the tail (1 - cdf would round to 0)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


_normal_quantile = normal_quantile  # the package's one normal quantile (engagement/stats/intervals.py)

SRM_THRESHOLD = 0.001
"""Sample ratio mismatch is declared below this chi-square p-value (the industry's usual, strict cut)."""
SRM_WARNING = 0.01
"""Below this (but above the threshold) the split is flagged as borderline: shown, with a caution."""

CORRECTIONS = ("holm", "bh", "none")
KINDS = ("binary", "continuous")


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class SampleStats:
    """Sufficient statistics of one metric in one arm (and optionally of a pre-period covariate)."""

    n: int
    total: float
    sum_squares: float
    covariate_total: float | None = None
    covariate_sum_squares: float | None = None
    cross_products: float | None = None

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator)."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.sum_squares - self.total ** 2 / self.n) / (self.n - 1))

    @property
    def has_covariate(self) -> bool:
        return None not in (self.covariate_total, self.covariate_sum_squares, self.cross_products)

    @property
    def covariate_mean(self) -> float:
        return self.covariate_total / self.n if self.has_covariate and self.n else math.nan

    def centred_covariate_squares(self) -> float:
        """Sum of squared deviations of the covariate from its arm mean (S_xx)."""
        return self.covariate_sum_squares - self.covariate_total ** 2 / self.n

    def centred_cross_products(self) -> float:
        """Sum of cross-products of deviations from the arm means (S_xy)."""
        return self.cross_products - self.covariate_total * self.total / self.n


@dataclass(frozen=True)
class _Moments:
    """Mean and variance of an arm's estimator input (raw or CUPED-adjusted)."""

    n: int
    mean: float
    variance: float


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class SrmCheck:
    """Chi-square goodness-of-fit of the assignment counts against the intended split."""

    variants: tuple[str, ...]
    observed: tuple[int, ...]
    expected_shares: tuple[float, ...]
    chi_square: float
    degrees_of_freedom: int
    p_value: float
    threshold: float = SRM_THRESHOLD

    @property
    def failed(self) -> bool:
        return self.p_value < self.threshold

    @property
    def is_borderline(self) -> bool:
        return self.threshold <= self.p_value < SRM_WARNING

    @property
    def expected(self) -> tuple[float, ...]:
        total = sum(self.observed)
        return tuple(total * s for s in self.expected_shares)


@dataclass(frozen=True)
class LiftEstimate:
    """One variant against control on one metric: the difference, its interval and its test."""

    test: str
    n_control: int
    n_variant: int
    mean_control: float  # raw arm means; with CUPED the lifts are the adjusted ones
    mean_variant: float
    absolute_lift: float
    standard_error: float
    ci_low: float
    ci_high: float
    relative_lift: float
    relative_standard_error: float
    relative_ci_low: float
    relative_ci_high: float
    statistic: float
    degrees_of_freedom: float
    p_value: float
    alpha: float
    variance_reduction: float = math.nan  # share of variance removed by CUPED (nan when not adjusted)
    # The test of the relative lift (delta-method z, or t with the Welch degrees of freedom): the one the
    # verdict uses, as GrowthBook's gbstats does by default, so that the p-value and the relative interval
    # it quotes agree (p < alpha exactly when that interval excludes zero). nan when the control mean is 0.
    relative_statistic: float = math.nan
    relative_p_value: float = math.nan
    adjusted_mean_control: float = math.nan  # CUPED-adjusted arm means (nan when not adjusted)
    adjusted_mean_variant: float = math.nan

    @property
    def scale(self) -> str:
        """"relative" when the relative lift is tested (control mean not 0), else "absolute"."""
        return "relative" if self.relative_p_value == self.relative_p_value else "absolute"

    @property
    def scale_p_value(self) -> float:
        """The p-value on :attr:`scale`, the one the verdict reads."""
        return self.relative_p_value if self.scale == "relative" else self.p_value

    def critical_value(self, alpha: float) -> float:
        """Two-sided critical value at level ``alpha`` of the distribution this comparison uses."""
        if not alpha > 0:
            return math.nan
        if self.degrees_of_freedom == math.inf:
            return -_normal_quantile(alpha / 2)  # lower tail: exact even when alpha is tiny
        if self.degrees_of_freedom != self.degrees_of_freedom:
            return math.nan
        from scipy import stats

        return float(stats.t.isf(alpha / 2, self.degrees_of_freedom))

    def interval(self, alpha: float | None = None) -> tuple[float, float, float, float]:
        """(absolute low, high, relative low, high) at level ``alpha`` (default: the estimate's own)."""
        crit = self.critical_value(self.alpha if alpha is None else alpha)
        return (self.absolute_lift - crit * self.standard_error, self.absolute_lift + crit * self.standard_error,
                self.relative_lift - crit * self.relative_standard_error,
                self.relative_lift + crit * self.relative_standard_error)


@dataclass(frozen=True)
class BayesianView:
    """Posterior of the absolute lift under a flat prior (normal approximation)."""

    probability_to_beat_control: float
    expected_loss: float  # expected shortfall (metric units) if the variant is shipped and is worse
    expected_loss_control: float  # the same if control is kept and the variant was better
    # Equal-tailed credible interval of the lift (absolute, then relative): under the flat prior the
    # posterior is N(estimate, se^2), so these equal gbstats' ``norm.ppf([alpha/2, 1 - alpha/2], mean, sd)``
    # (EffectBayesianABTest with the default improper prior) and the z confidence interval.
    credible_low: float = math.nan
    credible_high: float = math.nan
    relative_credible_low: float = math.nan
    relative_credible_high: float = math.nan


@dataclass(frozen=True)
class SequentialView:
    """Always-valid interval and p-value: valid however often the experiment is looked at."""

    ci_low: float
    ci_high: float
    relative_ci_low: float
    relative_ci_high: float
    p_value: float
    tuning_n: int
    relative_p_value: float = math.nan  # the same test for the relative lift (nan when control mean is 0)


# ------------------------------------------------------------------ sample ratio
def sample_ratio_check(counts: Mapping[str, int], intended_shares: Mapping[str, float] | None = None,
                       threshold: float = SRM_THRESHOLD) -> SrmCheck:
    """Chi-square test of the units per variant against the intended split (default: equal split).

    Parameters
    ----------
    counts : variant -> units assigned.
    intended_shares : variant -> intended share (normalised to sum to 1); variants absent from it get 0
        and make the test fail loudly, which is right: units landed in an arm that should not exist.
    """
    variants = tuple(counts)
    observed = np.array([counts[v] for v in variants], dtype=float)
    if intended_shares:
        weights = np.array([float(intended_shares.get(v, 0.0)) for v in variants])
    else:
        weights = np.ones(len(variants))
    if len(variants) < 2 or observed.sum() == 0 or weights.sum() <= 0:
        return SrmCheck(variants, tuple(int(x) for x in observed), tuple(weights), math.nan, 0, math.nan, threshold)
    shares = weights / weights.sum()
    expected = observed.sum() * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (observed - expected) ** 2 / expected, np.where(observed > 0, np.inf, 0.0))
    chi_square = float(terms.sum())
    dof = len(variants) - 1
    from scipy import stats

    p_value = float(stats.chi2.sf(chi_square, dof)) if math.isfinite(chi_square) else 0.0
    return SrmCheck(variants, tuple(int(x) for x in observed), tuple(float(s) for s in shares), chi_square, dof,
                    p_value, threshold)


# ------------------------------------------------------------------ CUPED
def cuped_slope(arms: Sequence[SampleStats]) -> float:
    """Pooled within-arm regression slope of the metric on the covariate (theta).

    Using the within-arm slope makes the adjusted difference identical to the treatment coefficient of
    an OLS of ``metric ~ arm + covariate`` (ANCOVA; Deng et al. 2013 section 3.3, Lin 2013).
    """
    sxx = sum(a.centred_covariate_squares() for a in arms)
    sxy = sum(a.centred_cross_products() for a in arms)
    return sxy / sxx if sxx > 0 else 0.0


def covariate_varies(arms: Sequence[SampleStats]) -> bool:
    """Whether the covariate varies within any arm: CUPED's slope is the within-arm regression (S_xy / S_xx), so
    a covariate constant in every arm (S_xx = 0, e.g. no unit had pre-period revenue) adjusts nothing, and the
    comparison is the plain one. Zero up to rounding: S_xx of a constant c is n c^2 - (n c)^2 / n in floats."""
    sxx = sum(a.centred_covariate_squares() for a in arms)
    scale = sum(a.covariate_sum_squares for a in arms)
    return sxx > 1e-12 * scale


def _adjusted_moments(arm: SampleStats, theta: float, grand_covariate_mean: float) -> _Moments:
    """Mean and variance of ``metric - theta * (covariate - grand mean)`` in one arm."""
    mean = arm.mean - theta * (arm.covariate_mean - grand_covariate_mean)
    if arm.n < 2:
        return _Moments(arm.n, mean, math.nan)
    syy = arm.sum_squares - arm.total ** 2 / arm.n
    residual = syy - 2 * theta * arm.centred_cross_products() + theta ** 2 * arm.centred_covariate_squares()
    return _Moments(arm.n, mean, max(0.0, residual / (arm.n - 1)))


# ------------------------------------------------------------------ comparisons
def _relative(mc: _Moments, mv: _Moments) -> tuple[float, float]:
    """Relative lift and its delta-method standard error (arms independent)."""
    if mc.n == 0 or mv.n == 0 or mc.mean ** 4 == 0:  # also a control mean so small its 4th power underflows
        return math.nan, math.nan
    ratio = mv.mean / mc.mean
    variance = mv.variance / (mv.n * mc.mean ** 2) + mv.mean ** 2 * mc.variance / (mc.n * mc.mean ** 4)
    return ratio - 1, math.sqrt(variance) if variance >= 0 else math.nan


def compare_arms(control: SampleStats, variant: SampleStats, kind: str, *, alpha: float = 0.05,
                 use_covariate: bool = False, theta: float | None = None,
                 grand_covariate_mean: float | None = None) -> LiftEstimate:
    """Difference between a variant and control, with a test and intervals.

    ``kind="binary"`` (0/1 metric): two-proportion z test with the pooled proportion (as statsmodels
    ``proportions_ztest``) and an unpooled Wald interval. ``kind="continuous"``: Welch's t test and
    interval with Welch-Satterthwaite degrees of freedom. With ``use_covariate`` (both arms carry
    covariate statistics) the CUPED-adjusted means are compared with a z test; pass the pooled
    ``theta`` and grand covariate mean when there are more than two arms so that every comparison
    uses the same adjustment. The relative lift's interval uses the delta method.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if control.n == 0 or variant.n == 0:
        nan = math.nan
        return LiftEstimate("no data", control.n, variant.n, control.mean, variant.mean, nan, nan, nan, nan, nan,
                            nan, nan, nan, nan, nan, nan, alpha)
    adjust = use_covariate and control.has_covariate and variant.has_covariate
    if adjust:
        theta = cuped_slope([control, variant]) if theta is None else theta
        if grand_covariate_mean is None:
            grand_covariate_mean = (control.covariate_total + variant.covariate_total) / (control.n + variant.n)
        mc = _adjusted_moments(control, theta, grand_covariate_mean)
        mv = _adjusted_moments(variant, theta, grand_covariate_mean)
        raw_var = control.variance / control.n + variant.variance / variant.n
        adjusted_var = mc.variance / mc.n + mv.variance / mv.n
        reduction = 1 - adjusted_var / raw_var if raw_var > 0 else math.nan
    elif kind == "binary":
        pc, pv = control.mean, variant.mean
        mc = _Moments(control.n, pc, pc * (1 - pc))
        mv = _Moments(variant.n, pv, pv * (1 - pv))
        reduction = math.nan
    else:
        mc = _Moments(control.n, control.mean, control.variance)
        mv = _Moments(variant.n, variant.mean, variant.variance)
        reduction = math.nan

    diff = mv.mean - mc.mean
    se = math.sqrt(mc.variance / mc.n + mv.variance / mv.n)
    if adjust:
        test, dof, crit = "CUPED z", math.inf, _normal_quantile(1 - alpha / 2)
        statistic = diff / se if se > 0 else math.nan
        p_value = 2 * _normal_sf(abs(statistic)) if se > 0 else math.nan
    elif kind == "binary":
        test, dof, crit = "two-proportion z", math.inf, _normal_quantile(1 - alpha / 2)
        pooled = (control.total + variant.total) / (control.n + variant.n)
        se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / variant.n))
        statistic = diff / se_pooled if se_pooled > 0 else math.nan
        p_value = 2 * _normal_sf(abs(statistic)) if se_pooled > 0 else (1.0 if diff == 0 else math.nan)
    else:
        test = "Welch t"
        a, b = mc.variance / mc.n, mv.variance / mv.n
        denominator = a ** 2 / (mc.n - 1) + b ** 2 / (mv.n - 1) if min(mc.n, mv.n) > 1 else 0.0
        dof = (a + b) ** 2 / denominator if denominator > 0 else math.nan  # Welch-Satterthwaite
        from scipy import stats

        crit = stats.t.ppf(1 - alpha / 2, dof) if dof == dof else math.nan
        statistic = diff / se if se > 0 else math.nan
        p_value = 2 * stats.t.sf(abs(statistic), dof) if se > 0 and dof == dof else math.nan
    relative, relative_se = _relative(mc, mv)
    crit = float(crit)
    relative_statistic = relative_p = math.nan
    # Tested on the relative scale only when the control mean is positive: with a negative one the relative
    # lift's sign is the opposite of the difference's, and "raised by -20 %" would read wrong.
    if relative_se > 0 and mc.mean > 0:  # false for nan too
        relative_statistic = relative / relative_se
        if dof == math.inf:
            relative_p = 2 * _normal_sf(abs(relative_statistic))
        elif dof == dof:
            from scipy import stats

            relative_p = float(2 * stats.t.sf(abs(relative_statistic), dof))
    return LiftEstimate(
        test=test, n_control=control.n, n_variant=variant.n, mean_control=control.mean, mean_variant=variant.mean,
        absolute_lift=diff, standard_error=se, ci_low=diff - crit * se, ci_high=diff + crit * se,
        relative_lift=relative, relative_standard_error=relative_se,
        relative_ci_low=relative - crit * relative_se, relative_ci_high=relative + crit * relative_se,
        statistic=float(statistic), degrees_of_freedom=float(dof), p_value=float(p_value), alpha=alpha,
        variance_reduction=reduction, relative_statistic=relative_statistic, relative_p_value=relative_p,
        adjusted_mean_control=mc.mean if adjust else math.nan, adjusted_mean_variant=mv.mean if adjust else math.nan,
    )


# ------------------------------------------------------------------ multiple testing
def adjust_pvalues(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Family-wise (Holm 1979) or false-discovery-rate (Benjamini-Hochberg 1995) adjusted p-values.

    NaN p-values are left out of the family and stay NaN.

    >>> [round(p, 3) for p in adjust_pvalues([0.01, 0.04, 0.03], "holm")]  # statsmodels multipletests: same
    [0.03, 0.06, 0.06]
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, not {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    values = p[valid]
    m = len(values)
    if m == 0 or method == "none":
        out[valid] = values
        return out.tolist()
    order = np.argsort(values, kind="mergesort")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adjusted = np.minimum.accumulate((m / np.arange(m, 0, -1) * ranked[::-1]))[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[valid] = result
    return out.tolist()


# ------------------------------------------------------------------ Bayesian view
def bayesian_view(estimate: LiftEstimate) -> BayesianView:
    """Probability that the variant beats control, and the expected loss of each decision.

    The absolute lift's posterior under a flat prior is approximately N(lift, se^2). For
    X ~ N(m, s^2), E[max(X, 0)] = m * Phi(m / s) + s * phi(m / s) (closed form, no sampling); gbstats'
    ``get_risk`` computes the same two risks as P(win) * E[X | X > 0] and P(lose) * E[-X | X < 0].
    """
    m, s = estimate.absolute_lift, estimate.standard_error
    if not (s > 0) or m != m:
        return BayesianView(math.nan, math.nan, math.nan)
    z = m / s
    density = _NORMAL.pdf(z)
    loss_ship = -m * _normal_sf(z) + s * density  # E[max(-lift, 0)]; Phi(-z) = sf(z)
    loss_keep = m * _normal_sf(-z) + s * density  # E[max(lift, 0)]; Phi(z) = sf(-z)
    q = -_normal_quantile(estimate.alpha / 2)
    rel, rel_s = estimate.relative_lift, estimate.relative_standard_error
    return BayesianView(float(_normal_sf(-z)), float(loss_ship), float(loss_keep), m - q * s, m + q * s,
                        rel - q * rel_s, rel + q * rel_s)


# ------------------------------------------------------------------ sequential
SEQUENTIAL_TUNING_N = 5_000
"""Units (both arms) at which the always-valid interval is tightest when no planned size is known
(GrowthBook's default). It must not follow the data: a tuning that changes between looks voids the guarantee."""


def _sequential_ratio(estimate: LiftEstimate, tuning_n: int) -> float:
    """N rho^2 of the normal mixture, rho tuned at the nominal alpha (it must not move with the level)."""
    alpha = estimate.alpha
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning_n
    return (estimate.n_control + estimate.n_variant) * rho2


def sequential_multiplier(estimate: LiftEstimate, alpha: float, tuning_n: int = SEQUENTIAL_TUNING_N) -> float:
    """Half-width of the always-valid interval at level ``alpha``, in standard errors (nan without data)."""
    n = estimate.n_control + estimate.n_variant
    if n == 0 or int(tuning_n) <= 0 or not alpha > 0:
        return math.nan
    ratio = _sequential_ratio(estimate, int(tuning_n))
    return math.sqrt(2 * (ratio + 1) / ratio * math.log(math.sqrt(ratio + 1) / alpha))


def _mixture_p_value(statistic: float, ratio: float) -> float:
    """1 / mixture likelihood ratio for a z statistic (mSPRT)."""
    if statistic != statistic:
        return math.nan
    log_lr = -0.5 * math.log1p(ratio) + ratio * statistic ** 2 / (2 * (1 + ratio))
    return min(1.0, math.exp(-log_lr))


def sequential_view(estimate: LiftEstimate, tuning_n: int = SEQUENTIAL_TUNING_N,
                    alpha: float | None = None) -> SequentialView:
    """Always-valid (anytime) interval and p-value from the normal-mixture martingale.

    Asymptotic confidence sequence of Waudby-Smith et al. (2023, "Time-uniform central limit theory and
    asymptotic confidence sequences", eq. for the Robbins normal mixture; Howard et al. 2021), as used by
    GrowthBook: with N units in the comparison and s^2 = N * se^2, the half-width is
    ``s * sqrt(2 (N rho^2 + 1) / (N^2 rho^2) * log(sqrt(N rho^2 + 1) / alpha))``, where rho is tuned to be
    tightest at ``tuning_n`` units: rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / tuning_n.
    The p-value is 1 / (mixture likelihood ratio) (mSPRT, Johari et al. 2017) with the same mixture, so
    it is below alpha exactly when the interval excludes zero; the relative p-value does the same for the
    relative lift and its delta-method standard error. ``alpha`` widens the interval to another level
    (a multiple-testing-adjusted one) with the same tuning.
    """
    se = estimate.standard_error
    tuning_n = int(tuning_n)
    n = estimate.n_control + estimate.n_variant
    if not (se > 0) or n == 0 or tuning_n <= 0:
        nan = math.nan
        return SequentialView(nan, nan, nan, nan, nan, tuning_n)
    multiplier = sequential_multiplier(estimate, estimate.alpha if alpha is None else alpha, tuning_n)
    half = multiplier * se
    rel_half = multiplier * estimate.relative_standard_error
    ratio = _sequential_ratio(estimate, tuning_n)
    relative_statistic = (estimate.relative_lift / estimate.relative_standard_error
                          if estimate.relative_standard_error > 0 else math.nan)
    return SequentialView(
        estimate.absolute_lift - half, estimate.absolute_lift + half,
        estimate.relative_lift - rel_half, estimate.relative_lift + rel_half,
        _mixture_p_value(estimate.absolute_lift / se, ratio), tuning_n,
        relative_p_value=_mixture_p_value(relative_statistic, ratio),
    )


# ------------------------------------------------------------------ power
def _z_sum(alpha: float, power: float) -> float:
    return _normal_quantile(1 - alpha / 2) + _normal_quantile(power)


def sample_size_per_arm(variance_control: float, variance_variant: float, mde_absolute: float,
                        alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm for a two-sided test to detect ``mde_absolute`` with the given power.

    n = (z_{1-alpha/2} + z_{power})^2 * (var_c + var_v) / mde^2 (normal approximation, equal arms).

    >>> sample_size_per_arm(0.1 * 0.9, 0.11 * 0.89, 0.01)  # statsmodels NormalIndPower: 14748.009, rounded up
    14749
    """
    if mde_absolute == 0 or not (variance_control + variance_variant > 0):
        return 0
    return int(math.ceil(_z_sum(alpha, power) ** 2 * (variance_control + variance_variant) / mde_absolute ** 2))


def sample_size_for_rate(baseline_rate: float, relative_mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm to detect a relative change ``relative_mde`` of a conversion rate."""
    target = baseline_rate * (1 + relative_mde)
    if not (0 < baseline_rate < 1 and 0 < target < 1):
        raise ValueError("The baseline rate and the rate it would move to must be between 0 and 1.")
    return sample_size_per_arm(baseline_rate * (1 - baseline_rate), target * (1 - target),
                               baseline_rate * relative_mde, alpha, power)


def sample_size_for_mean(baseline_mean: float, standard_deviation: float, relative_mde: float,
                         alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm to detect a relative change of a mean (same standard deviation in both arms)."""
    return sample_size_per_arm(standard_deviation ** 2, standard_deviation ** 2, baseline_mean * relative_mde,
                               alpha, power)


def minimum_detectable_effect(variance_control: float, n_control: int, variance_variant: float, n_variant: int,
                              alpha: float = 0.05, power: float = 0.8, critical_value: float | None = None) -> float:
    """Smallest absolute lift detected with probability ``power`` at the current sample sizes.

    ``critical_value`` replaces z_{1-alpha/2} for wider (e.g. always-valid) intervals: an approximation
    that treats the wider boundary like a fixed one.
    """
    if n_control <= 0 or n_variant <= 0:
        return math.nan
    z_sum = _z_sum(alpha, power) if critical_value is None else critical_value + _normal_quantile(power)
    return z_sum * math.sqrt(variance_control / n_control + variance_variant / n_variant)


def minimum_detectable_relative_lift(baseline_mean: float, standard_deviation: float, n_per_arm: int,
                                     alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest relative change of a mean (or a rate, with sd = sqrt(p (1 - p))) found with ``n_per_arm``
    units per arm, assuming the same spread in both arms."""
    if baseline_mean == 0:
        return math.nan
    variance = standard_deviation ** 2
    return minimum_detectable_effect(variance, n_per_arm, variance, n_per_arm, alpha, power) / abs(baseline_mean)
