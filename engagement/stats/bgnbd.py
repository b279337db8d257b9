"""The BG/NBD purchase model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

"Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science
24(2), 275-284. While active, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; after
each purchase they become inactive with probability ``p ~ Beta(a, b)``.

Inputs per customer (or per group of identical customers, with a weight = group size):
``frequency`` x (repeat purchases), ``recency`` t_x (time of the last purchase since the first) and
``T`` (time from the first purchase to the end of the calibration period), in one time unit.
Fitting on groups of identical ``(x, t_x, T)`` triples computed in SQL gives exactly the same
likelihood as fitting on customers, and keeps a 1M-customer fit small.

Example
-------
With the published CDNOW parameters, a customer with 2 repeat purchases, the last in week 30.43 of
38.86, is expected to buy 1.226 times in the next 39 weeks (Hardie's BG/NBD spreadsheet):

>>> fit = BgNbdFit(0.243, 4.414, 0.793, 2.426, -9582.4, 2357, (0.0,) * 4, True, "week")
>>> round(float(fit.expected_purchases(39, 2, 30.43, 38.86)[0]), 3)
1.226
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# scipy.special is imported where it is used: importing it costs about 0.5 s of CPU, which every command-line
# process would pay at start-up (this module is imported with the derived build) whether or not it fits a model.

from engagement.stats.mle import single_threaded_blas, standard_errors_at

PARAMETER_NAMES = ("r", "alpha", "a", "b")
UNIT_DAYS = {"day": 1, "week": 7}  # the time units a fit can be in, in days


def _as_arrays(*values) -> list[np.ndarray]:
    return [np.atleast_1d(np.asarray(v, dtype=float)) for v in values]


def log_likelihood_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood, FHL (2005) equation 6 on the log scale (no hypergeometric term).

    ``L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))``
    """
    x, t_x, T = _as_arrays(x, t_x, T)
    order = np.concatenate([np.flatnonzero(x == 0), np.flatnonzero(x != 0)])
    terms = np.empty(len(x))
    terms[order] = _Likelihood(x, t_x, T, None).terms(np.asarray(params, dtype=float))
    return terms


class _Likelihood:
    """The weighted log-likelihood and its gradient in one pass.

    Evaluated at every step of the optimiser over up to a few hundred thousand (x, t_x, T) groups, so
    each step does as little per row as it can: the special functions depend on a row only through x
    and the logarithms only through t_x or T, which take few distinct values (whole days), so those
    are evaluated once per distinct value and gathered. For repeat customers eq. 6 is the "active" term
    times ``1 + exp(d)`` with ``d = log(dropped / active)``, and ``expit(d)`` is the share of the
    "dropped" term, which weights the derivatives.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None):
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        self.n_rows = len(x)
        self.xu, index = np.unique(x, return_inverse=True)
        # Weighted counts per distinct x carry the terms that only depend on x.
        self.weight_u = np.bincount(index, weights=w, minlength=len(self.xu))
        once = x == 0
        self.T0, self.w0 = T[once], w[once]
        self.x1, self.t_x1, self.T1, self.w1 = x[~once], t_x[~once], T[~once], w[~once]
        self.index1 = index[~once]
        self.w1x1 = self.w1 * self.x1
        self.T1u, self.T1_index = np.unique(self.T1, return_inverse=True)
        self.t_x1u, self.t_x1_index = np.unique(self.t_x1, return_inverse=True)
        # The terms linear in log(alpha + T) or 1 / (alpha + T) need only the weights summed per distinct T.
        self.T0u, T0_index = np.unique(self.T0, return_inverse=True)
        self.w0_by_T = np.bincount(T0_index, weights=self.w0, minlength=len(self.T0u))
        self.w1_by_T = np.bincount(self.T1_index, weights=self.w1, minlength=len(self.T1u))
        self.w1x1_by_T = np.bincount(self.T1_index, weights=self.w1x1, minlength=len(self.T1u))

    def terms(self, params) -> np.ndarray:
        """Per-row log-likelihood (rows with x = 0 first, then repeat rows, as stored)."""
        from scipy.special import betaln, gammaln

        r, alpha, a, b = params
        xu = self.xu
        common_u = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)
        zero = common_u[0] - r * np.log(alpha + self.T0) if len(self.T0) else np.empty(0)
        active = -(r + self.x1) * np.log(alpha + self.T1)
        dropped = np.log(a) - np.log(b + self.x1 - 1) - (r + self.x1) * np.log(alpha + self.t_x1)
        return np.concatenate([zero, common_u[self.index1] + np.logaddexp(active, dropped)])

    def value_and_gradient(self, params) -> tuple[float, np.ndarray]:
        from scipy.special import betaln, digamma, gammaln

        r, alpha, a, b = params
        xu, wu = self.xu, self.weight_u
        common_u = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)
        d_r_u = digamma(r + xu) - digamma(r) + np.log(alpha)
        d_a_u = digamma(a + b) - digamma(a + b + xu)
        d_b_u = digamma(a + b) + digamma(b + xu) - digamma(b) - digamma(a + b + xu)
        value = float(np.dot(wu, common_u))
        gradient = np.array([np.dot(wu, d_r_u), wu.sum() * r / alpha, np.dot(wu, d_a_u), np.dot(wu, d_b_u)])
        # Customers without repeat purchases: only the "still active" term.
        log_alpha_T0 = np.log(alpha + self.T0u)
        value -= r * np.dot(self.w0_by_T, log_alpha_T0)
        gradient[0] -= np.dot(self.w0_by_T, log_alpha_T0)
        gradient[1] -= r * np.dot(self.w0_by_T, 1.0 / (alpha + self.T0u))
        if not len(self.x1):
            return value, gradient
        # Repeat customers: log L = -(r + x) log(alpha + T) + log(1 + exp(d)).
        w1 = self.w1
        log_T_u, inverse_T_u = np.log(alpha + self.T1u), 1.0 / (alpha + self.T1u)
        log_t_x_u, inverse_t_x_u = np.log(alpha + self.t_x1u), 1.0 / (alpha + self.t_x1u)
        log_ratio = log_T_u[self.T1_index] - log_t_x_u[self.t_x1_index]
        with np.errstate(divide="ignore", invalid="ignore"):  # b + x - 1 > 0 for every repeat row
            log_odds_u = np.log(a) - np.log(b + xu - 1)
        r_x = r + self.x1
        d = log_odds_u[self.index1] + r_x * log_ratio
        # log(1 + exp(d)) and expit(d), the "dropped" term's share, from one exponential that cannot overflow.
        small = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(small)
        dropped_share = np.where(d >= 0, 1.0, small) / (1.0 + small)
        w_log_T = np.dot(self.w1_by_T, log_T_u)
        value += -(r * w_log_T + np.dot(self.w1x1_by_T, log_T_u)) + np.dot(w1, softplus)
        w_dropped = w1 * dropped_share
        w_dropped_r_x = w_dropped * r_x
        gradient[0] -= w_log_T - np.dot(w_dropped, log_ratio)
        gradient[1] -= (np.dot(r * self.w1_by_T + self.w1x1_by_T, inverse_T_u)
                        + np.dot(np.bincount(self.t_x1_index, w_dropped_r_x, len(self.t_x1u)), inverse_t_x_u)
                        - np.dot(np.bincount(self.T1_index, w_dropped_r_x, len(self.T1u)), inverse_T_u))
        gradient[2] += w_dropped.sum() / a
        dropped_by_x = np.bincount(self.index1, weights=w_dropped, minlength=len(xu))
        gradient[3] -= np.dot(dropped_by_x[xu > 0], 1.0 / (b + xu[xu > 0] - 1))
        return value, gradient

    def total(self, params) -> float:
        return self.value_and_gradient(params)[0]

    def gradient(self, params) -> np.ndarray:
        return self.value_and_gradient(params)[1]


def _gradient(params: np.ndarray, x, t_x, T, weights) -> np.ndarray:
    """Gradient of the weighted log-likelihood with respect to (r, alpha, a, b)."""
    return _Likelihood(*_as_arrays(x, t_x, T), weights).gradient(np.asarray(params, dtype=float))


DROPOUT_BOUNDARY_A = 1e-4
DROPOUT_BOUNDARY_B = 1e4
"""a below (or b above) these is the a -> 0, b -> infinity boundary: fitted values on typical data (CDNOW:
a = 0.79, b = 2.43, FHL 2005 table 1) are orders of magnitude away; on Online Retail the optimum runs to
a = 6.6e-7, b = 22,378."""


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted BG/NBD model. Time quantities are in ``unit`` (``"day"`` or ``"week"``)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    standard_errors: tuple[float, float, float, float]
    converged: bool
    unit: str

    @property
    def params(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b])

    @property
    def identification_problem(self) -> str | None:
        """Why the dropout parameters a and b are not identified, or None when they are.

        When customers are not seen dropping out, the likelihood keeps rising as a -> 0 and b -> infinity
        with a / (a + b), the mean dropout probability per purchase, going to 0: the maximum sits on the
        boundary, the information matrix is singular there (a standard error is undefined or meaningless),
        and a and b carry no separate meaning. ``lifetimes``' fitter raises ConvergenceError on such data. r
        and alpha (the purchase rate) stay well determined, and the forecast is that of customers who
        practically never drop out, so it is kept and this reason is reported beside it.
        """
        at_boundary = self.a < DROPOUT_BOUNDARY_A or self.b > DROPOUT_BOUNDARY_B
        undefined = [name for name, se in zip(("r", "alpha", "a", "b"), self.standard_errors)
                     if not (se > 0 and math.isfinite(se))]
        if not at_boundary and not undefined:
            return None
        reasons = []
        if at_boundary:
            reasons.append(f"a = {self.a:.3g} and b = {self.b:.3g} sit at the boundary a -> 0, b -> infinity "
                           f"(mean dropout probability per purchase a / (a + b) = {self.a / (self.a + self.b):.2g}): "
                           "customers are not seen dropping out, so a and b are not separately identified")
        if undefined:
            reasons.append(f"the standard error of {', '.join(undefined)} is undefined (singular information "
                           "matrix at the maximum)")
        return "; ".join(reasons) + (". r and alpha (the purchase rate) are determined, and the forecast treats "
                                     "dropout as negligible.")

    @property
    def fit_status(self) -> str:
        """"converged, identified", or with the reason it is not identified (for the page)."""
        converged = "converged" if self.converged else "did not converge"
        problem = self.identification_problem
        return f"{converged}, identified" if problem is None else f"{converged}, not identified: {problem.rstrip('.')}"

    @property
    def identified(self) -> bool:
        """False when :attr:`identification_problem` names a reason."""
        return self.identification_problem is None

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | x, t_x, T) (Fader, Hardie & Lee 2008 note "Computing P(alive)", eq. 2)."""
        x, t_x, T = _as_arrays(frequency, recency, T)
        log_ratio = (np.log(self.a) - np.log(np.where(x > 0, self.b + x - 1, 1.0))
                     + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)

    def expected_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` time units given the history (FHL 2005, eq. 10)."""
        from scipy.special import hyp2f1

        x, t_x, T = _as_arrays(frequency, recency, T)
        r, alpha, a, b = self.params
        z = t / (alpha + T + t)
        bracket = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * bracket
        return numerator * self.probability_alive(x, t_x, T)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)]: expected repeat purchases in ``t`` time units after a first purchase (FHL 2005, eq. 9)."""
        from scipy.special import hyp2f1

        (t,) = _as_arrays(t)
        r, alpha, a, b = self.params
        return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def fit_bgnbd(frequency, recency, T, weights=None, unit: str = "week", start=None) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood (L-BFGS-B on log-parameters, analytic gradient).

    Parameters
    ----------
    frequency, recency, T : array-like
        Repeat purchases, time of last purchase since the first, and time since the first purchase
        to the end of calibration, per customer or per group of identical customers.
    weights : array-like, optional
        Number of customers in each row (default 1).
    unit : str
        The time unit of ``recency`` and ``T`` (kept on the result for labelling).
    start : array-like, optional
        Starting (r, alpha, a, b), e.g. a fit of the same customers on a shorter history; by default
        (0.5, alpha, 1, 1) with r / alpha, the mean purchase rate of the Gamma, the customers' repeat purchases
        per unit of time (at 1M customers 27-28 likelihood evaluations, against 29-43 from (1, mean T, 1, 1)).

    Returns
    -------
    BgNbdFit
        Parameters, maximised log-likelihood, and standard errors from the inverse observed
        information (numerical Hessian of the analytic gradient).
    """
    from scipy.optimize import minimize

    x, t_x, T_ = _as_arrays(frequency, recency, T)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if len(x) == 0 or w.sum() == 0:
        raise ValueError("No customers to fit the BG/NBD model on.")
    if np.any(t_x > T_ + 1e-9) or np.any(x < 0):
        raise ValueError("Each customer needs 0 <= recency <= T and frequency >= 0.")
    if not np.any((x > 0) & (w > 0)):
        # With no repeat purchase the likelihood does not depend on a and b (nobody could have been seen
        # dropping out): they would stay at their start, and E[purchases] = (a + b - 1) / (a - 1) ... is infinite.
        raise ValueError("The BG/NBD model needs at least one customer with a repeat purchase in the calibration "
                         "period (no one has bought twice yet).")
    n = float(w.sum())
    likelihood = _Likelihood(x, t_x, T_, w)

    def objective(log_params):
        params = np.exp(log_params)
        value, gradient = likelihood.value_and_gradient(params)
        return -value / n, -gradient * params / n

    if start is None:
        repeat_rate = np.dot(w, x) / np.dot(w, T_) if np.dot(w, T_) > 0 else 0.0
        start = [0.5, 0.5 / repeat_rate if repeat_rate > 0 else max(float(np.average(T_, weights=w)), 1e-3), 1.0, 1.0]
    # The line search's trial points can overflow exp() or the likelihood; L-BFGS-B backs off from the
    # non-finite values they give, so those warnings are noise. The fit itself must be finite (checked below).
    with single_threaded_blas(), np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        result = minimize(objective, np.log(start), jac=True, method="L-BFGS-B",
                          options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 2000})
    params = np.exp(result.x)
    log_likelihood = float(likelihood.total(params))
    if not (np.all(np.isfinite(params)) and np.isfinite(log_likelihood)):
        raise ValueError(f"The BG/NBD fit did not converge to finite parameters ({result.message}).")
    standard_errors = standard_errors_at(likelihood.gradient, params)
    return BgNbdFit(
        *map(float, params), log_likelihood=log_likelihood, n_customers=int(round(n)),
        standard_errors=standard_errors, converged=bool(result.success or np.max(np.abs(result.jac)) < 1e-6),
        unit=unit,
    )
