"""Kaplan-Meier from aggregated counts against a published table and statsmodels on raw rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from engagement.stats.survival import kaplan_meier

# Freireich et al. (1963) leukaemia trial, 6-MP arm (21 patients, weeks of remission; False = censored), the
# textbook Kaplan-Meier example (Gehan 1965; Klein & Moeschberger, Survival Analysis, 2nd ed., section 4.2).
SIX_MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENTS = [True, True, True, False, True, False, True, False, False, True, True, False, False, False,
                 True, True, False, False, False, False, False]
# The published estimates (R: survfit(Surv(time, status) ~ 1) on the 6-MP arm): time, S(t), Greenwood se.
SIX_MP_PUBLISHED = [
    (6, 0.857, 0.0764), (7, 0.807, 0.0869), (10, 0.753, 0.0963), (13, 0.690, 0.1068),
    (16, 0.627, 0.1141), (22, 0.538, 0.1282), (23, 0.448, 0.1346),
]


def _aggregate(times, events) -> pd.DataFrame:
    frame = pd.DataFrame({"time": times, "event": np.asarray(events, dtype=int)})
    frame["censored"] = 1 - frame["event"]
    return frame.groupby("time", as_index=False)[["event", "censored"]].sum()


@pytest.fixture()
def six_mp():
    counts = _aggregate(SIX_MP_TIMES, SIX_MP_EVENTS)
    return kaplan_meier(counts["time"], counts["event"], counts["censored"])


def test_six_mp_matches_the_published_table(six_mp):
    assert six_mp.table["time"].tolist() == [row[0] for row in SIX_MP_PUBLISHED]
    assert six_mp.table["survival"].to_numpy() == pytest.approx([row[1] for row in SIX_MP_PUBLISHED], abs=5e-4)
    assert six_mp.table["se"].to_numpy() == pytest.approx([row[2] for row in SIX_MP_PUBLISHED], abs=5e-5)
    assert six_mp.table["at_risk"].tolist() == [21, 17, 15, 12, 11, 7, 6]
    assert (six_mp.subjects, six_mp.events, six_mp.censored) == (21, 9, 12)
    assert six_mp.median == 23  # first time S(t) <= 0.5


def test_log_log_interval_by_hand(six_mp):
    """At t = 6: S = 18/21 = 0.857143, Greenwood sum = 3 / (21 * 18) = 0.0079365.
    se of log(-log S) = sqrt(0.0079365) / |ln 0.857143| = 0.0890871 / 0.1541507 = 0.5779221.
    theta = exp(1.959964 * 0.5779221) = 3.104046; interval (S^theta, S^(1/theta)) = (0.619718, 0.951552),
    which R prints as 0.620 to 0.952 (survfit(..., conf.type = "log-log"))."""
    first = six_mp.table.iloc[0]
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((0.619718, 0.951552), abs=2e-6)


def test_median_interval_matches_statsmodels(six_mp):
    reference = SurvfuncRight(np.array(SIX_MP_TIMES, float), np.array(SIX_MP_EVENTS, int))
    low, high = reference.quantile_ci(0.5)  # Brookmeyer-Crowley on the cloglog scale
    assert six_mp.median_ci_low == low
    assert six_mp.median_ci_high == (math.inf if high == np.inf else high)


def test_random_rows_match_statsmodels():
    rng = np.random.default_rng(42)
    times = rng.integers(0, 90, 2_000)
    events = rng.random(2_000) < 0.4
    counts = _aggregate(times, events).sample(frac=1.0, random_state=42)  # order must not matter
    km = kaplan_meier(counts["time"], counts["event"], counts["censored"])
    reference = SurvfuncRight(times.astype(float), events.astype(int))
    assert km.table["time"].to_numpy() == pytest.approx(reference.surv_times)
    assert km.table["survival"].to_numpy() == pytest.approx(reference.surv_prob)
    assert km.table["se"].to_numpy() == pytest.approx(reference.surv_prob_se)
    assert km.table["at_risk"].to_numpy() == pytest.approx(reference.n_risk)


def test_event_probability_by_reads_the_step_function(six_mp):
    assert six_mp.event_probability_by(5)[0] == 0.0
    assert six_mp.event_probability_by(6.5)[0] == pytest.approx(1 - 18 / 21)
    share, low, high = six_mp.event_probability_by(35)  # the longest follow-up (censored)
    assert share == pytest.approx(1 - 0.448, abs=5e-4) and low < share < high


def test_past_the_longest_follow_up_the_share_is_unknown(six_mp):
    """Nobody in the 6-MP arm was watched past 35 weeks: the share by week 100 is unknown, not the plateau (R's
    summary(survfit(...), times = 100, extend = FALSE) returns no row). Hillstrom's 578 buyers, all censored on the
    day of their first purchase, read "within 30 days: 0.0 %, 95 % CI 0.0 % to 0.0 %"."""
    assert six_mp.follow_up == 35 and not six_mp.followed(35.5)
    assert all(math.isnan(v) for v in six_mp.event_probability_by(100))
    same_day = kaplan_meier([0], [0], [578])
    assert same_day.event_probability_by(0) == (0.0, 0.0, 0.0)
    assert all(math.isnan(v) for v in same_day.event_probability_by(30))
    everyone = kaplan_meier([1, 2], [1, 1], [0, 0])  # S falls to 0 at 2: known afterwards
    assert everyone.event_probability_by(10) == (1.0, 1.0, 1.0)


def test_all_censored_gives_no_curve_and_no_median():
    km = kaplan_meier([3, 5], [0, 0], [2, 1])
    assert km.table.empty and km.subjects == 3 and km.events == 0
    assert math.isnan(km.median)
    assert km.survival_at(10) == 1.0


def test_no_subjects_gives_an_empty_result():
    km = kaplan_meier([], [], [])
    assert km.subjects == 0 and km.table.empty and math.isnan(km.median)
    # No subject: the share by any time is undefined, not 0 % with an interval of 0 % to 0 %.
    assert all(math.isnan(v) for v in km.event_probability_by(30))
