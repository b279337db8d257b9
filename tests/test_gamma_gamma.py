"""Gamma-Gamma: the published CDNOW parameters, the likelihood against scipy.stats, and E(M)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engagement.retention.clv import gamma_gamma_groups
from engagement.stats.gamma_gamma import GammaGammaFit, _gradient, fit_gamma_gamma, log_likelihood_terms
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from conftest import SHARED_DATA

CDNOW_SAMPLE = str(SHARED_DATA) + "/cdnow/CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow_store() -> Store:
    raw = pd.read_csv(CDNOW_SAMPLE, sep=r"\s+", header=None, dtype={"date": str},
                      names=["master_id", "customer_id", "date", "cds", "dollars"])
    orders = pd.DataFrame({
        "order_id": [f"cdnow-{i}" for i in range(len(raw))],
        "customer_id": raw["customer_id"].astype(str),
        "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "net_revenue": raw["dollars"],
        "status": "paid",
    })
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("orders", orders)
    yield store
    store.close()


def test_params_out_is_close_to_Fader_Hardie_2013_gamma_gamma_note(cdnow_store):
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", section 3: CDNOW 1/10 sample,
    # the 946 customers with at least one repeat purchase in weeks 1-39, their average repeat
    # transaction value: p = 6.25, q = 3.74, gamma = 15.44.
    groups = gamma_gamma_groups(cdnow_store, CALIBRATION_END)
    fit = fit_gamma_gamma(groups["frequency"], groups["monetary_value"], groups["customers"])
    assert fit.n_customers == 946
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.gamma, 2)) == (6.25, 3.74, 15.44)
    assert fit.converged


def test_likelihood_equals_scipy_beta_prime_density():
    """m_x | nu ~ Gamma(px, rate x nu) and nu ~ Gamma(q, rate gamma) imply m_x x / gamma ~ BetaPrime(px, q),
    so the density is betaprime.pdf(m_x x / gamma; px, q) * x / gamma (change of variables)."""
    from scipy import stats

    p, q, gamma = 6.25, 3.74, 15.44
    x = np.array([1.0, 2.0, 5.0, 12.0])
    m = np.array([12.5, 40.0, 33.3, 7.9])
    expected = stats.betaprime.logpdf(m * x / gamma, p * x, q) + np.log(x / gamma)
    np.testing.assert_allclose(log_likelihood_terms(np.array([p, q, gamma]), x, m), expected, rtol=1e-10)


def test_fit_equals_an_independent_scipy_maximisation():
    """Our L-BFGS-B with the analytic gradient reaches the maximum Nelder-Mead finds on scipy.stats' density."""
    from scipy import optimize, stats

    rng = np.random.default_rng(42)
    nu = rng.gamma(4.0, 1 / 30.0, 400)  # true q = 4, gamma = 30, p = 3
    x = rng.integers(1, 8, 400).astype(float)
    m = rng.gamma(3.0 * x, 1 / (nu * x))

    def negative(log_params):
        p, q, gamma = np.exp(log_params)
        return -np.sum(stats.betaprime.logpdf(m * x / gamma, p * x, q) + np.log(x / gamma))

    reference = optimize.minimize(negative, np.log([1.0, 1.0, 10.0]), method="Nelder-Mead",
                                  options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000, "maxfev": 20_000})
    fit = fit_gamma_gamma(x, m)
    np.testing.assert_allclose(fit.params, np.exp(reference.x), rtol=1e-4)


def test_analytic_gradient_matches_finite_differences():
    from scipy.optimize import approx_fprime

    x = np.array([1.0, 3.0, 4.0, 9.0])
    m = np.array([10.0, 25.0, 31.0, 18.0])
    w = np.array([3.0, 1.0, 2.0, 1.0])
    params = np.array([4.0, 3.0, 20.0])
    numeric = approx_fprime(params, lambda v: np.sum(w * log_likelihood_terms(v, x, m)), 1e-7)
    np.testing.assert_allclose(_gradient(params, x, m, w), numeric, rtol=1e-5)


def test_expected_average_value_is_a_weighted_mean_of_population_and_own_mean():
    # Hand calculation from the 2013 note, eq. 5: E(M) = (q-1)/(px+q-1) * p*gamma/(q-1) + px/(px+q-1) * m_x.
    fit = GammaGammaFit(6.25, 3.74, 15.44, -4055.9, 946, (0.0, 0.0, 0.0), True)
    x, m = 2, 40.0
    weight = 6.25 * 2 / (6.25 * 2 + 3.74 - 1)
    hand = (1 - weight) * 6.25 * 15.44 / (3.74 - 1) + weight * 40.0
    assert fit.expected_average_value(x, m)[0] == pytest.approx(hand, rel=1e-12)
    assert fit.expected_average_value(0, np.nan)[0] == pytest.approx(6.25 * 15.44 / 2.74)


def test_too_few_repeat_customers_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 repeat customers"):
        fit_gamma_gamma([1, 0], [10.0, 5.0])


def test_optimised_likelihood_equals_the_sum_of_the_per_customer_densities():
    # The fit sums the terms linear in p and q once; the per-customer log densities (the 2013 note,
    # eq. 4, as printed in log_likelihood_terms) must add up to the same value.
    from engagement.stats.gamma_gamma import _Likelihood

    rng = np.random.default_rng(42)
    x = rng.integers(1, 10, 300).astype(float)
    m = rng.gamma(4.0, 10.0, 300)
    w = rng.integers(1, 5, 300).astype(float)
    for params in ([6.25, 3.74, 15.44], [1.0, 2.0, 40.0]):
        expected = np.sum(w * log_likelihood_terms(np.array(params), x, m))
        value = _Likelihood(x, m, w).value_and_gradient(np.array(params))[0]
        assert value == pytest.approx(expected, rel=1e-12)
