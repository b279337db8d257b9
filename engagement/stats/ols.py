"""Ordinary least squares from sufficient statistics: per-level counts and sums of products in, coefficients
with classical and HC1 (heteroskedasticity-robust) standard errors out, without the rows.

The SQL (``roi/ols_moments.sql``) sums x_a, x_a x_b and x_a y per level of one categorical covariate;
X'X and X'y are assembled from those sums (the level dummies' blocks are the level counts and sums), so a fit
on millions of customers reads a few dozen rows. HC1 needs a second pass: per-level sums weighted by the
squared residuals of the first fit (``roi/ols_residual_moments.sql``), the "meat" of the sandwich
(X'X)^-1 X' diag(e^2) X (X'X)^-1 n / (n - p) (MacKinnon & White 1985).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagement.stats.intervals import normal_quantile


@dataclass(frozen=True)
class OlsFit:
    """Ordinary least squares from sufficient statistics, with classical and HC1 standard errors."""

    names: tuple[str, ...]
    coefficients: tuple[float, ...]
    se_classical: tuple[float, ...]
    se_hc1: tuple[float, ...]
    n: int
    r_squared: float

    def coefficient(self, name: str) -> float:
        return self.coefficients[self.names.index(name)]

    def se(self, name: str, robust: bool = True) -> float:
        return (self.se_hc1 if robust else self.se_classical)[self.names.index(name)]

    def table(self) -> pd.DataFrame:
        z = normal_quantile(0.975)
        frame = pd.DataFrame({"term": self.names, "coefficient": self.coefficients,
                              "se_classical": self.se_classical, "se_hc1": self.se_hc1})
        frame["ci_low_hc1"] = frame["coefficient"] - z * frame["se_hc1"]
        frame["ci_high_hc1"] = frame["coefficient"] + z * frame["se_hc1"]
        return frame


def _level_moments(frame: pd.DataFrame, variables: tuple[str, ...]):
    """Per-level count, first moments and second moments from a moments frame (one row per level)."""
    count = frame["n"].to_numpy(dtype=float)
    first = {a: frame[f"s_{a}"].to_numpy(dtype=float) for a in variables}
    second = {}
    for i, a in enumerate(variables):
        for b in variables[i:]:
            second[(a, b)] = second[(b, a)] = frame[f"s_{a}__{b}"].to_numpy(dtype=float)
    return count, first, second


def assemble_cross_products(frame: pd.DataFrame, regressors: tuple[str, ...]) -> np.ndarray:
    """X'WX for X = [1, regressors, one dummy per level but the first] from per-level moments.

    ``frame`` has one row per level of the categorical covariate (sorted; the first is the
    reference), with ``n`` (the sum of weights; the count when unweighted), ``s_<a>`` and
    ``s_<a>__<b>`` (weighted sums of products).
    """
    count, first, second = _level_moments(frame, regressors)
    k, levels = len(regressors), len(count)
    p = 1 + k + levels - 1
    m = np.zeros((p, p))
    m[0, 0] = count.sum()
    for i, a in enumerate(regressors):
        m[0, 1 + i] = first[a].sum()
        for j, b in enumerate(regressors):
            m[1 + i, 1 + j] = second[(a, b)].sum()
    for g in range(1, levels):
        d = k + g
        m[d, d] = m[0, d] = count[g]
        for i, a in enumerate(regressors):
            m[1 + i, d] = first[a][g]
    return np.triu(m) + np.triu(m, 1).T


def _cross_outcome(frame: pd.DataFrame, regressors: tuple[str, ...], outcome: str) -> np.ndarray:
    y = [frame[f"s_{outcome}"].sum()] + [frame[f"s_{a}__{outcome}"].sum() for a in regressors]
    return np.array(y + list(frame[f"s_{outcome}"].to_numpy(dtype=float)[1:]))


def ols_from_moments(moments: pd.DataFrame, regressors: tuple[str, ...], outcome: str,
                     level_column: str, meat: pd.DataFrame | None = None) -> tuple[np.ndarray, OlsFit | None]:
    """Fit OLS from per-level sufficient statistics.

    Returns the coefficient vector and, when ``meat`` (per-level sums weighted by squared residuals
    of those coefficients) is given, the full :class:`OlsFit`. Called twice: once for the
    coefficients, then with the residual moments SQL computed for them.
    """
    xtx = assemble_cross_products(moments, regressors)
    xty = _cross_outcome(moments, regressors, outcome)
    beta = np.linalg.solve(xtx, xty)
    if meat is None:
        return beta, None
    n, p = int(moments["n"].sum()), len(beta)
    yty = float(moments[f"s_{outcome}__{outcome}"].sum())
    ssr = max(0.0, yty - float(beta @ xty))
    y_mean = float(moments[f"s_{outcome}"].sum()) / n
    tss = yty - n * y_mean ** 2
    inverse = np.linalg.inv(xtx)
    classical = inverse * ssr / (n - p)
    hc1 = inverse @ assemble_cross_products(meat, regressors) @ inverse * n / (n - p)
    levels = list(moments[level_column])
    names = ("intercept",) + tuple(regressors) + tuple(f"{level_column}[{level}]" for level in levels[1:])
    fit = OlsFit(names, tuple(float(b) for b in beta), tuple(float(s) for s in np.sqrt(np.diag(classical))),
                 tuple(float(s) for s in np.sqrt(np.diag(hc1))), n, 1 - ssr / tss if tss > 0 else math.nan)
    return beta, fit


# ------------------------------------------------------------------- methods
