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

# scipy.special is imported where it is used (as in bgnbd.py): a command-line process that fits nothing does not
# pay its import.

from engagement.stats.mle import single_threaded_blas, standard_errors_at

PARAMETER_NAMES = ("p", "q", "gamma")


def log_likelihood_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log density of the average value m_x of x purchases (the 2013 note, eq. 4).

    ``f(m_x | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q * m_x^(px-1) * x^(px) / (gamma + m_x x)^(px+q)``
    """
    from scipy.special import gammaln

    p, q, gamma = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x))


def _gradient(params: np.ndarray, x, m, weights) -> np.ndarray:
    return _Likelihood(x, m, weights).value_and_gradient(params)[1]


class _Likelihood:
    """Weighted log-likelihood and gradient. The gamma functions depend on a customer only through x, so
    they are evaluated once per distinct frequency; the terms linear in p and q are summed once here, so
    that a step of the optimiser computes one logarithm per row, ``log(gamma + m_x x)``."""

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        w = np.asarray(weights, dtype=float)
        self.xu, index = np.unique(x, return_inverse=True)
        self.weight_u = np.bincount(index, weights=w, minlength=len(self.xu))
        self.w, self.wx, self.n = w, w * x, w.sum()
        self.total_value = m * x  # m_x x: the customer's total repeat spend
        log_m, log_x = np.log(m), np.log(x)
        self.sum_w_log_m = np.dot(w, log_m)
        self.sum_wx_log_mx = np.dot(self.wx, log_m + log_x)

    def value_and_gradient(self, params) -> tuple[float, np.ndarray]:
        from scipy.special import digamma, gammaln

        p, q, gamma = params
        xu, wu, n = self.xu, self.weight_u, self.n
        pxu = p * xu
        log_total = np.log(gamma + self.total_value)
        inverse_total = 1.0 / (gamma + self.total_value)
        wx_log_total, w_log_total = np.dot(self.wx, log_total), np.dot(self.w, log_total)
        value = (np.dot(wu, gammaln(pxu + q) - gammaln(pxu)) + n * (q * np.log(gamma) - gammaln(q))
                 + p * self.sum_wx_log_mx - self.sum_w_log_m - p * wx_log_total - q * w_log_total)
        d_p = np.dot(wu, xu * (digamma(pxu + q) - digamma(pxu))) + self.sum_wx_log_mx - wx_log_total
        d_q = np.dot(wu, digamma(pxu + q)) + n * (np.log(gamma) - digamma(q)) - w_log_total
        d_gamma = n * q / gamma - p * np.dot(self.wx, inverse_total) - q * np.dot(self.w, inverse_total)
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

    def summed_expected_average_value(self, frequency, customers, spending_customers, repeat_value) -> np.ndarray:
        """:meth:`expected_average_value` added up over a group of customers with the same ``frequency`` x.

        Of the group's ``customers``, ``spending_customers`` have x > 0 and a positive repeat value, together
        ``repeat_value`` (the sum of their m_x x); the others get the population mean. As eq. 5 is linear in
        m_x x, the group's sum is ``(n gamma + sum m_x x) p / (p x + q - 1) + others E(Z)``.

        >>> fit = GammaGammaFit(6.25, 3.74, 15.44, 0.0, 0, (0.0,) * 3, True)
        >>> one_by_one = fit.expected_average_value([2, 2], [30.0, 50.0]).sum()
        >>> bool(np.isclose(fit.summed_expected_average_value(2, 3, 2, 160.0)[0],
        ...                 one_by_one + fit.population_mean_value))
        True
        """
        x, n, spenders, total = (np.atleast_1d(np.asarray(v, dtype=float))
                                 for v in (frequency, customers, spending_customers, repeat_value))
        others = n - spenders
        with np.errstate(divide="ignore", invalid="ignore"):  # groups with x = 0 have no spenders
            spending = (spenders * self.gamma + total) * self.p / (self.p * x + self.q - 1)
        return (np.where(spenders > 0, spending, 0.0)
                + np.where(others > 0, others * self.population_mean_value, 0.0))


def fit_gamma_gamma(frequency, monetary_value, weights=None, start=None) -> GammaGammaFit:
    """Fit the Gamma-Gamma model by maximum likelihood on repeat customers.

    Parameters
    ----------
    frequency : array-like
        Repeat purchases x (rows with x = 0 are ignored: they carry no repeat spend).
    monetary_value : array-like
        Average value of those repeat purchases, m_x > 0.
    weights : array-like, optional
        Number of customers with this (x, m_x) (default 1).
    start : array-like, optional
        Starting (p, q, gamma); by default (1, 2, the mean of m_x).

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
    start = np.log([1.0, 2.0, mean_value] if start is None else start)
    # Trial points of the line search can overflow (see fit_bgnbd); the fit itself must be finite.
    with single_threaded_blas(), np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        result = minimize(objective, start, jac=True, method="L-BFGS-B",
                          options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 2000})
    params = np.exp(result.x)
    log_likelihood = float(likelihood.value_and_gradient(params)[0])
    if not (np.all(np.isfinite(params)) and np.isfinite(log_likelihood)):
        raise ValueError(f"The Gamma-Gamma fit did not converge to finite parameters ({result.message}).")
    standard_errors = standard_errors_at(lambda p: likelihood.value_and_gradient(p)[1], params)
    return GammaGammaFit(
        *map(float, params),
        log_likelihood=log_likelihood,
        n_customers=int(round(n)),
        standard_errors=standard_errors,
        converged=bool(result.success or np.max(np.abs(result.jac)) < 1e-6),
    )
