"""The Gamma-Gamma spend model, fitted by maximum likelihood.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
Journal of Marketing Research 42(4), and the note "The Gamma-Gamma Model of Monetary Value"
(Fader & Hardie, 2013). A customer's purchase values are Gamma(p, nu) around their own mean, and
``nu ~ Gamma(q, gamma)`` across customers. Fitted on repeat customers only: ``frequency`` x >= 1
repeat purchases with average value ``monetary_value`` m_x.

Example
-------
>>> fit = fit_gamma_gamma([1, 2, 3, 1, 5], [20.0, 35.0, 18.0, 60.0, 25.0])
>>> fit.p > 0 and fit.q > 0 and fit.gamma > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

PARAMETER_NAMES = ("p", "q", "gamma")


def log_likelihood_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log density of the average value m_x of x purchases (the 2013 note, eq. 4).

    ``f(m_x | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q * m_x^(px-1) * x^(px) / (gamma + m_x x)^(px+q)``
    """
    p, q, gamma = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x))


def _gradient(params: np.ndarray, x, m, weights) -> np.ndarray:
    return _Likelihood(x, m, weights).value_and_gradient(params)[1]


class _Likelihood:
    """Weighted log-likelihood and gradient; the gamma functions depend on a customer only through x,
    so they are evaluated once per distinct frequency."""

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        self.x, self.m, self.w = x, m, np.asarray(weights, dtype=float)
        self.xu, self.index = np.unique(x, return_inverse=True)
        self.weight_u = np.bincount(self.index, weights=self.w, minlength=len(self.xu))
        self.log_m, self.log_x = np.log(m), np.log(x)

    def value_and_gradient(self, params) -> tuple[float, np.ndarray]:
        p, q, gamma = params
        xu, wu, w = self.xu, self.weight_u, self.w
        pxu = p * xu
        px = p * self.x
        log_total = np.log(gamma + self.m * self.x)
        value = (np.dot(wu, gammaln(pxu + q) - gammaln(pxu)) + w.sum() * (q * np.log(gamma) - gammaln(q))
                 + np.dot(w, (px - 1) * self.log_m + px * self.log_x - (px + q) * log_total))
        d_p = (np.dot(wu, xu * (digamma(pxu + q) - digamma(pxu)))
               + np.dot(w, self.x * (self.log_m + self.log_x - log_total)))
        d_q = np.dot(wu, digamma(pxu + q)) + w.sum() * (np.log(gamma) - digamma(q)) - np.dot(w, log_total)
        d_gamma = w.sum() * q / gamma - np.dot(w, (px + q) / (gamma + self.m * self.x))
        return float(value), np.array([d_p, d_q, d_gamma])


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model; ``frequency_value_correlation`` checks its independence assumption."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int
    standard_errors: tuple[float, float, float]
    converged: bool

    @property
    def params(self) -> np.ndarray:
        return np.array([self.p, self.q, self.gamma])

    @property
    def population_mean_value(self) -> float:
        """E(Z) = p gamma / (q - 1): the expected purchase value of a customer with no history (q > 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E(M | p, q, gamma, m_x, x) = (gamma + m_x x) p / (p x + q - 1) (the 2013 note, eq. 5).

        A weighted mean of the population mean and the customer's own average; customers with no
        repeat purchase get the population mean.
        """
        x = np.atleast_1d(np.asarray(frequency, dtype=float))
        m = np.atleast_1d(np.asarray(monetary_value, dtype=float))
        m = np.where(x > 0, np.nan_to_num(m), 0.0)
        conditional = (self.gamma + m * x) * self.p / (self.p * x + self.q - 1)
        return np.where(x > 0, conditional, self.population_mean_value)


def fit_gamma_gamma(frequency, monetary_value, weights=None) -> GammaGammaFit:
    """Fit the Gamma-Gamma model by maximum likelihood on repeat customers.

    Parameters
    ----------
    frequency : array-like
        Repeat purchases x (rows with x = 0 are ignored: they carry no repeat spend).
    monetary_value : array-like
        Average value of those repeat purchases, m_x > 0.
    weights : array-like, optional
        Number of customers with this (x, m_x) (default 1).

    Returns
    -------
    GammaGammaFit
    """
    from scipy.optimize import minimize

    x = np.atleast_1d(np.asarray(frequency, dtype=float))
    m = np.atleast_1d(np.asarray(monetary_value, dtype=float))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if w.sum() < 3:
        raise ValueError("The Gamma-Gamma model needs at least 3 repeat customers with positive spend.")
    n = float(w.sum())

    likelihood = _Likelihood(x, m, w)

    def objective(log_params):
        params = np.exp(log_params)
        value, gradient = likelihood.value_and_gradient(params)
        return -value / n, -gradient * params / n

    mean_value = float(np.average(m, weights=w))
    start = np.log([1.0, 2.0, mean_value])
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 2000})
    params = np.exp(result.x)
    from engagement.bgnbd import _numerical_hessian, _standard_errors

    hessian = _numerical_hessian(lambda p: likelihood.value_and_gradient(p)[1], params)
    return GammaGammaFit(
        *map(float, params),
        log_likelihood=likelihood.value_and_gradient(params)[0],
        n_customers=int(round(n)),
        standard_errors=_standard_errors(hessian),
        converged=bool(result.success or np.max(np.abs(result.jac)) < 1e-6),
    )
