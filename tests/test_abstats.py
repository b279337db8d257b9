"""engagement.stats.abstats against outside references: statsmodels and scipy on raw rows, numpy simulation,
and calculations written out by hand. Sufficient statistics are always built from the raw rows here,
the way SQL builds them, so every test also checks the n / sum / sum-of-squares route."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from engagement.stats import abstats
from engagement.stats.abstats import SampleStats, compare_arms


def stats_of(values, covariate=None) -> SampleStats:
    """Sufficient statistics of raw rows, exactly as sql/experiments/*.sql computes them."""
    y = np.asarray(values, dtype=float)
    if covariate is None:
        return SampleStats(len(y), float(y.sum()), float((y * y).sum()))
    x = np.asarray(covariate, dtype=float)
    return SampleStats(len(y), float(y.sum()), float((y * y).sum()), float(x.sum()), float((x * x).sum()),
                       float((x * y).sum()))


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(42)


# ------------------------------------------------------------------ SRM
def test_srm_matches_scipy_chisquare_on_raw_rows(rng):
    """Counts come from raw assignment rows; scipy.stats.chisquare gives the reference."""
    rows = rng.choice(["control", "treatment", "b"], size=9_000, p=[0.45, 0.35, 0.2])
    labels, counts = np.unique(rows, return_counts=True)
    intended = {"b": 0.2, "control": 0.4, "treatment": 0.4}
    expected = np.array([intended[v] for v in labels]) * counts.sum()
    reference = scipy_stats.chisquare(counts, expected)
    check = abstats.sample_ratio_check(dict(zip(labels, counts)), intended)
    assert check.chi_square == pytest.approx(reference.statistic, rel=1e-12)
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert check.failed  # 45/35 against an intended 40/40 over 9,000 units
    equal = abstats.sample_ratio_check({"a": 5_050, "b": 4_950})
    # Hand calculation: expected 5,000 each; chi2 = 2 * 50^2 / 5000 = 1.0; p = P(chi2_1 > 1) = 0.317311.
    assert equal.chi_square == pytest.approx(1.0)
    assert equal.p_value == pytest.approx(0.3173105, abs=1e-6)
    assert not equal.failed


def test_srm_flags_units_in_an_unplanned_arm():
    check = abstats.sample_ratio_check({"control": 500, "treatment": 500, "oops": 3},
                                       {"control": 0.5, "treatment": 0.5})
    assert check.failed and check.p_value == 0.0


# ------------------------------------------------------------------ binary
def test_two_proportion_z_matches_statsmodels(rng):
    control = rng.binomial(1, 0.10, size=4_000)
    variant = rng.binomial(1, 0.12, size=3_800)
    result = compare_arms(stats_of(control), stats_of(variant), "binary")
    z, p = proportions_ztest([variant.sum(), control.sum()], [len(variant), len(control)])
    assert result.statistic == pytest.approx(z, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-10)
    low, high = confint_proportions_2indep(variant.sum(), len(variant), control.sum(), len(control),
                                           method="wald", compare="diff")
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert result.absolute_lift == pytest.approx(variant.mean() - control.mean())


def test_relative_lift_delta_method_by_hand():
    """Control 100/1000, variant 130/1000. r = 0.13/0.10 - 1 = 0.3.
    Var = var_v / (n_v m_c^2) + m_v^2 var_c / (n_c m_c^4)
        = 0.1131 / (1000 * 0.01) + 0.0169 * 0.09 / (1000 * 0.0001) = 0.01131 + 0.01521 = 0.02652;
    se = 0.162850; 95 % CI = 0.3 -/+ 1.959964 * 0.162850 = (-0.019179, 0.619179)."""
    result = compare_arms(SampleStats(1000, 100, 100), SampleStats(1000, 130, 130), "binary")
    assert result.relative_lift == pytest.approx(0.3)
    assert result.relative_standard_error == pytest.approx(math.sqrt(0.02652), rel=1e-9)
    assert (result.relative_ci_low, result.relative_ci_high) == pytest.approx((-0.019179, 0.619179), abs=1e-6)


# ------------------------------------------------------------------ continuous
def test_welch_matches_statsmodels_on_raw_rows(rng):
    control = rng.gamma(2.0, 20.0, size=1_500)
    variant = rng.gamma(2.0, 23.0, size=900)
    result = compare_arms(stats_of(control), stats_of(variant), "continuous")
    t, p, dof = ttest_ind(variant, control, usevar="unequal")
    assert result.statistic == pytest.approx(t, rel=1e-8)
    assert result.p_value == pytest.approx(p, rel=1e-8)
    assert result.degrees_of_freedom == pytest.approx(dof, rel=1e-8)
    low, high = CompareMeans(DescrStatsW(variant), DescrStatsW(control)).tconfint_diff(usevar="unequal")
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-8)
    # scipy too, a second outside implementation.
    assert result.p_value == pytest.approx(scipy_stats.ttest_ind(variant, control, equal_var=False).pvalue,
                                           rel=1e-8)


# ------------------------------------------------------------------ CUPED
def test_cuped_equals_ols_with_covariate_on_raw_rows(rng):
    """ANCOVA: y ~ arm + x. Our adjusted lift is the OLS arm coefficient; the standard error matches the
    heteroskedasticity-robust (HC2) one closely at this size."""
    import statsmodels.api as sm

    n_c, n_v = 3_000, 2_600
    x = rng.gamma(2.0, 50.0, size=n_c + n_v)
    arm = np.r_[np.zeros(n_c), np.ones(n_v)]
    y = 5 + 0.3 * x + 4.0 * arm + rng.normal(0, 25, size=n_c + n_v)
    result = compare_arms(stats_of(y[:n_c], x[:n_c]), stats_of(y[n_c:], x[n_c:]), "continuous", use_covariate=True)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([arm, x]))).fit(cov_type="HC2")
    assert result.absolute_lift == pytest.approx(fit.params[1], rel=1e-9)
    assert result.standard_error == pytest.approx(fit.bse[1], rel=0.01)
    # Variance reduction, by hand from the raw residuals of the pooled within-arm slope.
    theta = abstats.cuped_slope([stats_of(y[:n_c], x[:n_c]), stats_of(y[n_c:], x[n_c:])])
    assert theta == pytest.approx(fit.params[2], rel=1e-9)
    adjusted = y - theta * x
    raw_var = y[:n_c].var(ddof=1) / n_c + y[n_c:].var(ddof=1) / n_v
    adj_var = adjusted[:n_c].var(ddof=1) / n_c + adjusted[n_c:].var(ddof=1) / n_v
    assert result.variance_reduction == pytest.approx(1 - adj_var / raw_var, rel=1e-9)
    # In theory the reduction is rho^2 = Var(0.3 x) / Var(y) = 0.09 * (2 * 50^2) / (450 + 25^2) = 450 / 1075.
    assert result.variance_reduction == pytest.approx(450 / 1075, abs=0.04)


def test_cuped_with_three_arms_matches_ols(rng):
    import statsmodels.api as sm

    sizes = (2_000, 2_100, 1_900)
    arm = np.repeat([0, 1, 2], sizes)
    x = rng.normal(100, 30, size=sum(sizes))
    y = (rng.random(sum(sizes)) < 0.05 + 0.001 * x + 0.03 * (arm == 2)).astype(float)
    parts = [stats_of(y[arm == k], x[arm == k]) for k in range(3)]
    theta = abstats.cuped_slope(parts)
    grand = x.mean()
    fit = sm.OLS(y, sm.add_constant(np.column_stack([arm == 1, arm == 2, x]).astype(float))).fit()
    for k in (1, 2):
        result = compare_arms(parts[0], parts[k], "binary", use_covariate=True, theta=theta,
                              grand_covariate_mean=grand)
        assert result.absolute_lift == pytest.approx(fit.params[k], rel=1e-9)


# ------------------------------------------------------------------ multiple testing
@pytest.mark.parametrize("method, reference", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_pvalues_match_statsmodels(method, reference, rng):
    p = np.r_[rng.uniform(0, 0.05, 6), rng.uniform(0, 1, 14), [0.01, 0.01]]
    assert abstats.adjust_pvalues(p, method) == pytest.approx(multipletests(p, method=reference)[1], rel=1e-12)


def test_adjusted_pvalues_skip_nan():
    out = abstats.adjust_pvalues([0.01, math.nan, 0.04], "holm")
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)


# ------------------------------------------------------------------ Bayesian
def test_bayesian_view_matches_simulation():
    """Closed form against 2,000,000 draws from the same normal posterior (numpy, fixed seed)."""
    estimate = compare_arms(SampleStats(2000, 200, 200), SampleStats(2000, 230, 230), "binary")
    view = abstats.bayesian_view(estimate)
    draws = np.random.default_rng(7).normal(estimate.absolute_lift, estimate.standard_error, 2_000_000)
    assert view.probability_to_beat_control == pytest.approx((draws > 0).mean(), abs=1e-3)
    assert view.expected_loss == pytest.approx(np.maximum(-draws, 0).mean(), rel=0.01)
    assert view.expected_loss_control == pytest.approx(np.maximum(draws, 0).mean(), rel=0.01)


def test_bayesian_view_close_to_beta_binomial():
    """The normal approximation against Beta(1 + conversions, 1 + failures) posteriors (fixed seed)."""
    estimate = compare_arms(SampleStats(3000, 300, 300), SampleStats(3000, 345, 345), "binary")
    rng = np.random.default_rng(11)
    control = rng.beta(1 + 300, 1 + 2700, 1_000_000)
    variant = rng.beta(1 + 345, 1 + 2655, 1_000_000)
    assert abstats.bayesian_view(estimate).probability_to_beat_control == pytest.approx(
        (variant > control).mean(), abs=0.005)


# ------------------------------------------------------------------ sequential
def test_sequential_interval_by_hand():
    """alpha = 0.05, N = 2,000 units, tuned at N: rho^2 N = -2 ln 0.05 + ln(1 - 2 ln 0.05) = 5.991465 + 1.944690
    = 7.936155; half-width / se = sqrt(2 * 8.936155 / 7.936155 * ln(sqrt(8.936155) / 0.05))
    = sqrt(2.252011 * ln(59.78680)) = sqrt(2.252011 * 4.090786) = sqrt(9.212496) = 3.035209
    (vs 1.959964 for the fixed-horizon interval)."""
    estimate = compare_arms(SampleStats(1000, 100, 100), SampleStats(1000, 130, 130), "binary")
    view = abstats.sequential_view(estimate, tuning_n=2_000)
    assert (view.ci_high - estimate.absolute_lift) / estimate.standard_error == pytest.approx(3.035209, abs=2e-6)
    # The p-value is below alpha exactly when the interval excludes zero.
    assert (view.p_value < 0.05) == (view.ci_low > 0 or view.ci_high < 0)


def test_peeking_inflates_the_fixed_test_but_not_the_sequential_one():
    """A/A simulation (numpy, fixed seed): 400 experiments looked at 20 times each. Stopping at the first
    look with p < 0.05 rejects far more than 5 % with the fixed test; the always-valid p-value stays below 5 %."""
    rng = np.random.default_rng(2024)
    looks = np.linspace(250, 5_000, 20).astype(int)
    fixed_hits = sequential_hits = 0
    for _ in range(400):
        a, b = rng.binomial(1, 0.1, 5_000), rng.binomial(1, 0.1, 5_000)
        ca, cb = np.cumsum(a), np.cumsum(b)
        fixed = sequential = False
        for n in looks:
            est = compare_arms(SampleStats(n, ca[n - 1], ca[n - 1]), SampleStats(n, cb[n - 1], cb[n - 1]), "binary")
            fixed |= est.p_value < 0.05
            sequential |= abstats.sequential_view(est, tuning_n=10_000).p_value < 0.05
        fixed_hits += fixed
        sequential_hits += sequential
    assert fixed_hits / 400 > 0.15
    assert sequential_hits / 400 <= 0.05


# ------------------------------------------------------------------ power
def test_sample_size_matches_statsmodels():
    """Rates 10 % -> 11 %: statsmodels NormalIndPower with the effect size scaled by the mean variance."""
    p1, p2 = 0.10, 0.11
    effect = (p2 - p1) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    reference = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0)
    assert abstats.sample_size_for_rate(0.10, 0.10) == math.ceil(reference)
    reference_mean = NormalIndPower().solve_power(effect_size=2.5 / 40, alpha=0.05, power=0.9, ratio=1.0)
    assert abstats.sample_size_for_mean(50.0, 40.0, 0.05, power=0.9) == math.ceil(reference_mean)


def test_mde_matches_statsmodels():
    sd, n = 40.0, 3_000
    effect = NormalIndPower().solve_power(nobs1=n, alpha=0.05, power=0.8, ratio=1.0)
    # statsmodels counts the (negligible) opposite tail in the power and solves numerically: 1e-5 apart.
    assert abstats.minimum_detectable_effect(sd ** 2, n, sd ** 2, n) == pytest.approx(effect * sd, rel=1e-5)


def test_relative_mde_for_a_rate_matches_statsmodels():
    """10 % baseline, 5,000 units per arm. By hand: (1.959964 + 0.841621) * sqrt(2 * 0.09 / 5000) / 0.1
    = 2.801585 * 0.006 / 0.1 = 0.168095. statsmodels (which also counts the opposite tail) within 1e-4."""
    mde = abstats.minimum_detectable_relative_lift(0.1, math.sqrt(0.1 * 0.9), 5_000)
    assert mde == pytest.approx(0.168095, abs=1e-6)
    effect = NormalIndPower().solve_power(nobs1=5_000, alpha=0.05, power=0.8, ratio=1.0)
    assert mde == pytest.approx(effect * math.sqrt(0.1 * 0.9) / 0.1, rel=1e-4)


# ------------------------------------------------------------------ properties
arm_sizes = st.integers(min_value=2, max_value=5_000)


@settings(max_examples=150, deadline=None)
@given(n_c=arm_sizes, n_v=arm_sizes, share_c=st.floats(0, 1), share_v=st.floats(0, 1))
def test_binary_properties(n_c, n_v, share_c, share_v):
    control = SampleStats(n_c, round(share_c * n_c), round(share_c * n_c))
    variant = SampleStats(n_v, round(share_v * n_v), round(share_v * n_v))
    result = compare_arms(control, variant, "binary")
    swapped = compare_arms(variant, control, "binary")
    if not math.isnan(result.p_value):
        assert 0.0 <= result.p_value <= 1.0
        assert swapped.p_value == pytest.approx(result.p_value)
    assert result.ci_low <= result.absolute_lift <= result.ci_high
    assert swapped.absolute_lift == pytest.approx(-result.absolute_lift)
    assert (swapped.ci_low, swapped.ci_high) == pytest.approx((-result.ci_high, -result.ci_low))


@settings(max_examples=100, deadline=None)
@given(values_c=st.lists(st.floats(0, 1_000), min_size=3, max_size=80),
       values_v=st.lists(st.floats(0, 1_000), min_size=3, max_size=80))
def test_continuous_properties(values_c, values_v):
    control, variant = stats_of(values_c), stats_of(values_v)
    result = compare_arms(control, variant, "continuous")
    swapped = compare_arms(variant, control, "continuous")
    assert swapped.absolute_lift == pytest.approx(-result.absolute_lift, abs=1e-9)
    if not math.isnan(result.p_value):
        assert 0.0 <= result.p_value <= 1.0
        assert result.ci_low <= result.absolute_lift <= result.ci_high
        view = abstats.sequential_view(result)
        assert 0.0 <= view.p_value <= 1.0
        if min(control.n, variant.n) >= 30:  # asymptotic: wider than the t interval once t is near normal
            assert view.ci_low <= result.ci_low and view.ci_high >= result.ci_high


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjustment_properties(p_values):
    holm = abstats.adjust_pvalues(p_values, "holm")
    bh = abstats.adjust_pvalues(p_values, "bh")
    for raw, h, b in zip(p_values, holm, bh):
        assert raw <= b + 1e-12 <= h + 2e-12 <= 1.0 + 2e-12
