"""Kaplan-Meier estimates from aggregated durations: how long until something happens, with censoring.

The input is one row per distinct time with the number of events and of censored observations at that
time (what SQL aggregates cheaply), not one row per subject. Censored subjects count as at risk up to
and including their time, so a customer who has not bought a second time yet still informs the curve
for as long as we have watched them.

Pointwise intervals use Greenwood's variance on the log(-log) scale (Kalbfleisch & Prentice 2002,
section 1.4), which stays inside [0, 1]. The median's interval inverts the same test (Brookmeyer &
Crowley 1982, as in SAS PROC LIFETEST and statsmodels' ``SurvfuncRight.quantile_ci``).

Example
-------
>>> km = kaplan_meier([1, 2, 3], [1, 1, 0], [0, 0, 1])
>>> [round(s, 4) for s in km.table["survival"]]  # by hand: 2/3, then 2/3 * 1/2 (one of two at risk)
[0.6667, 0.3333]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from engagement.stats.intervals import normal_quantile


@dataclass(frozen=True)
class KaplanMeierResult:
    """A Kaplan-Meier survival curve.

    ``table`` has one row per distinct time: ``time, at_risk, events, censored, survival, se, ci_low,
    ci_high`` (``se`` is Greenwood's standard error of the survival probability).
    """

    table: pd.DataFrame
    subjects: int
    events: int
    censored: int
    median: float
    median_ci_low: float
    median_ci_high: float
    confidence: float
    follow_up: float = math.nan  # the longest observed time, event or censored

    def followed(self, time: float) -> bool:
        """Whether the curve is known at ``time``: some subject was observed that long, or every subject had the
        event (S fell to 0). Past the longest follow-up the curve is unknown (R's ``summary(survfit(...), times,
        extend = FALSE)`` leaves such times out)."""
        if not self.subjects:
            return False
        ended = not self.table.empty and float(self.table["survival"].iloc[-1]) == 0.0
        return time <= self.follow_up or ended

    def survival_at(self, time: float) -> float:
        """S(time): the share still without an event just after ``time`` (1.0 before the first event)."""
        earlier = self.table[self.table["time"] <= time]
        return 1.0 if earlier.empty else float(earlier["survival"].iloc[-1])

    def event_probability_by(self, time: float) -> tuple[float, float, float]:
        """1 - S(time) with its pointwise interval: the share who had the event by ``time``. Undefined (NaN) with no
        subjects, and past the longest follow-up (:meth:`followed`): no first-time buyer, or none watched 30 days,
        is not "0 % came back within 30 days, 95 % CI 0 % to 0 %"."""
        if not self.followed(time):
            return (math.nan, math.nan, math.nan)
        earlier = self.table[self.table["time"] <= time]
        if earlier.empty:
            return (0.0, 0.0, 0.0)
        last = earlier.iloc[-1]
        return (1.0 - float(last["survival"]), 1.0 - float(last["ci_high"]), 1.0 - float(last["ci_low"]))


def kaplan_meier(times: Sequence[float], events: Sequence[int], censored: Sequence[int],
                 confidence: float = 0.95) -> KaplanMeierResult:
    """Kaplan-Meier estimate from counts per distinct time.

    Parameters
    ----------
    times : sequence of float
        Distinct times (any order).
    events : sequence of int
        Number of events at each time.
    censored : sequence of int
        Number of subjects censored at each time (observed up to it without the event).
    confidence : float
        Level of the pointwise and median intervals.

    Returns
    -------
    KaplanMeierResult
    """
    frame = pd.DataFrame({"time": np.asarray(times, dtype="float64"),
                          "events": np.asarray(events, dtype="int64"),
                          "censored": np.asarray(censored, dtype="int64")})
    frame = frame.groupby("time", as_index=False)[["events", "censored"]].sum().sort_values("time")
    if frame.empty:
        empty = pd.DataFrame(columns=["time", "at_risk", "events", "censored", "survival", "se", "ci_low",
                                      "ci_high"], dtype="float64")
        return KaplanMeierResult(table=empty, subjects=0, events=0, censored=0, median=math.nan,
                                 median_ci_low=math.nan, median_ci_high=math.nan, confidence=confidence)
    subjects = int(frame["events"].sum() + frame["censored"].sum())
    follow_up = float(frame["time"].max())
    # At risk at t: everyone whose time is t or later (events and censorings at t both count).
    leaving = (frame["events"] + frame["censored"]).to_numpy()
    at_risk = subjects - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    frame["at_risk"] = at_risk
    d = frame["events"].to_numpy(dtype="float64")
    n = at_risk.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - d / n)
        greenwood_terms = np.where(n > d, d / (n * (n - d)), 0.0)
        greenwood = np.cumsum(greenwood_terms)
    frame["survival"] = survival
    frame["se"] = survival * np.sqrt(greenwood)
    z = normal_quantile(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # log(-log S) has variance greenwood / (log S)^2; back-transform exp(-exp(.)).
        log_log_se = np.sqrt(greenwood) / np.abs(np.log(survival))
        low = survival ** np.exp(z * log_log_se)
        high = survival ** np.exp(-z * log_log_se)
    defined = (survival > 0) & (survival < 1)
    frame["ci_low"] = np.where(defined, low, survival)
    frame["ci_high"] = np.where(defined, high, survival)
    frame = frame[frame["events"] > 0].reset_index(drop=True) if frame["events"].sum() else frame.iloc[0:0]
    frame = frame[["time", "at_risk", "events", "censored", "survival", "se", "ci_low", "ci_high"]]
    median, median_low, median_high = _median_with_interval(frame, z)
    return KaplanMeierResult(
        table=frame, subjects=subjects, events=int(np.sum(d)), censored=subjects - int(np.sum(d)),
        median=median, median_ci_low=median_low, median_ci_high=median_high, confidence=confidence,
        follow_up=follow_up,
    )


def _median_with_interval(table: pd.DataFrame, z: float) -> tuple[float, float, float]:
    """Median time (first time S <= 0.5) and the Brookmeyer-Crowley interval on the cloglog scale."""
    if table.empty:
        return (math.nan, math.nan, math.nan)
    survival = table["survival"].to_numpy()
    times = table["time"].to_numpy()
    below = np.flatnonzero(survival <= 0.5)
    median = float(times[below[0]]) if len(below) else math.nan
    se = table["se"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(survival))
        g_prime = -1.0 / (survival * np.log(survival))
        statistic = (g - math.log(-math.log(0.5))) / (g_prime * se)
    inside = np.flatnonzero(np.abs(statistic) <= z)
    if len(inside) == 0:
        return (median, math.nan, math.nan)
    low = float(times[inside[0]])
    high = math.inf if inside[-1] == len(times) - 1 else float(times[inside[-1] + 1])
    return (median, low, high)
