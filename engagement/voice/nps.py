"""Net Promoter Score with its uncertainty, and the survey views shared by NPS and CSAT.

NPS = % promoters (9-10) - % detractors (0-6), on the -100..100 scale. Its interval is the adjusted
Wald interval for the difference of two trinomial proportions (Rocks, "Interval Estimation for the
'Net Promoter Score'", The American Statistician 70(4), 2016): add 3/4 of a promoter and 3/4 of a
detractor (3 answers in all) before applying the Wald formula, which gives close to nominal coverage
even for small samples.

Two NPS are compared with the same adjustment applied to each sample and the variances of the two
independent estimates added (Lewis & Sauro, "How to Statistically Compare Two Net Promoter Scores",
MeasuringU 2021): a z test whose interval excludes 0 exactly when p < 0.05.

The survey views (breakdowns, trend, behaviour after the answer, bottom-box list) work on any
:class:`SurveyScale`; ``engagement/voice/csat.py`` supplies the CSAT scale and its statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from engagement import metrics
from engagement.filters import Filters, as_date
from engagement.stats.intervals import format_p, mean_interval, normal_quantile, two_sided_p, wilson_interval
from engagement.voice import csat
from engagement.voice.survey_scale import SurveyDifference, SurveyScale, proportion_difference  # noqa: F401 (re-exported)
from engagement.warehouse.store import Store

NPS_INTERVAL_METHOD = "adjusted Wald (Rocks 2016)"
NPS_DIFFERENCE_METHOD = (
    "adjusted-Wald z test for two independent NPS (Lewis & Sauro 2021): 3/4 promoter and 3/4 detractor "
    "added to each sample, variances of the two estimates added"
)
# Groups with fewer answers than this are flagged: their interval is wide and their NPS jumps around.
SMALL_GROUP_MIN = 30
# Breakdown dimensions: key -> label. Lifecycle stage is the customer's stage as of the latest data.
DIMENSIONS: dict[str, str] = {
    "touchpoint": "Touchpoint",
    "channel": "Acquisition channel",
    "stage": "Lifecycle stage (today)",
    "loyalty": "Loyalty segment",
    "country": "Country",
    "month": "Month",
    "week": "Week",
}


NPS_SCALE = SurveyScale(
    kind="nps", top_min=9, bottom_max=6, top_label="promoters", middle_label="passives",
    bottom_label="detractors", score_label="NPS", interval_method=NPS_INTERVAL_METHOD,
    difference_method=NPS_DIFFERENCE_METHOD,
)


@dataclass(frozen=True)
class NpsResult:
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    ci_low: float
    ci_high: float

    @property
    def promoter_share(self) -> float:
        return self.promoters / self.responses if self.responses else math.nan

    @property
    def detractor_share(self) -> float:
        return self.detractors / self.responses if self.responses else math.nan


def _adjusted(promoters: int, passives: int, detractors: int) -> tuple[float, float]:
    """Adjusted NPS (as a fraction) and its variance: 3/4 promoter and 3/4 detractor added (Rocks 2016)."""
    n_adj = promoters + passives + detractors + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    return centre, (p_adj + d_adj - centre**2) / n_adj


def nps_summary(promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> NpsResult:
    """NPS and its adjusted-Wald interval from the three counts.

    By hand: n' = 103, p' = 60.75 / 103 = 0.58981, d' = 15.75 / 103 = 0.15291, centre 0.43689,
    variance (0.74272 - 0.43689^2) / 103 = 0.0053577, half-width 1.959964 * 0.073197 = 0.14346.

    >>> r = nps_summary(promoters=60, passives=25, detractors=15)
    >>> round(r.nps, 1), round(r.ci_low, 1), round(r.ci_high, 1)
    (45.0, 29.3, 58.0)
    """
    n = promoters + passives + detractors
    if n == 0:
        return NpsResult(0, 0, 0, 0, math.nan, math.nan, math.nan)
    centre, variance = _adjusted(promoters, passives, detractors)
    half_width = normal_quantile(0.5 + confidence / 2) * math.sqrt(variance)
    low, high = max(-1.0, centre - half_width), min(1.0, centre + half_width)
    nps = (promoters - detractors) / n
    return NpsResult(n, promoters, passives, detractors, 100 * nps, 100 * low, 100 * high)


def nps_difference(a: tuple[int, int, int], b: tuple[int, int, int], label_a: str = "A", label_b: str = "B",
                   confidence: float = 0.95) -> SurveyDifference:
    """NPS of ``a`` minus NPS of ``b`` (counts: promoters, passives, detractors) with a z test.

    Each sample gets the adjusted-Wald correction; the variance of the difference of two independent
    estimates is the sum of their variances. The interval is centred on the adjusted difference, so
    it excludes 0 exactly when the p-value is below ``1 - confidence``.

    By hand: B's centre 0.09709, variance 0.0066480; z = (0.43689 - 0.09709) / sqrt(0.0053577 + 0.0066480)
    = 3.1012, two-sided p = 0.00193.

    >>> d = nps_difference((60, 25, 15), (40, 30, 30))
    >>> round(d.difference, 1), round(d.p_value, 4)
    (35.0, 0.0019)
    """
    n_a, n_b = sum(a), sum(b)
    if n_a == 0 or n_b == 0:
        return SurveyDifference(label_a, label_b, n_a, n_b, math.nan, math.nan, math.nan, math.nan, math.nan,
                                math.nan, NPS_DIFFERENCE_METHOD)
    centre_a, var_a = _adjusted(*a)
    centre_b, var_b = _adjusted(*b)
    se = math.sqrt(var_a + var_b)
    centre = centre_a - centre_b
    half_width = normal_quantile(0.5 + confidence / 2) * se
    p_value = two_sided_p(centre / se)
    score_a = 100 * (a[0] - a[2]) / n_a
    score_b = 100 * (b[0] - b[2]) / n_b
    return SurveyDifference(label_a, label_b, n_a, n_b, score_a, score_b, score_a - score_b,
                            100 * (centre - half_width), 100 * (centre + half_width), p_value, NPS_DIFFERENCE_METHOD)


def difference_sentence(d: SurveyDifference) -> str:
    """The comparison in one plain sentence: difference, interval, p-value, sample sizes, verdict."""
    if math.isnan(d.ci_low):
        return (f"Not enough answers to compare {d.label_a} (n = {d.n_a:,}) with {d.label_b} (n = {d.n_b:,}).")
    text = (f"{d.label_a} minus {d.label_b}: {d.difference:+.1f} points (95 % CI {d.ci_low:+.1f} to "
            f"{d.ci_high:+.1f}, {format_p(d.p_value)}; n = {d.n_a:,} and {d.n_b:,}). ")
    text += ("Significant at the 5 % level." if d.is_significant
             else "Not significant at the 5 % level: the difference could be chance.")
    if min(d.n_a, d.n_b) < SMALL_GROUP_MIN:
        text += f" Caution: a sample has fewer than {SMALL_GROUP_MIN} answers."
    return text


# ------------------------------------------------------------- views (SQL)
def _summarise(scale: SurveyScale, top: int, middle: int, bottom: int) -> tuple[float, float, float]:
    """(score, ci_low, ci_high) in points for one group's counts."""
    if scale.kind == "nps":
        result = nps_summary(top, middle, bottom)
        return result.nps, result.ci_low, result.ci_high
    result = csat.csat_summary(top, middle, bottom)
    return result.satisfied_pct, result.ci_low, result.ci_high


def difference(scale: SurveyScale, a: tuple[int, int, int], b: tuple[int, int, int], label_a: str,
               label_b: str) -> SurveyDifference:
    """The scale's two-sample test on counts (top, middle, bottom) of A and B."""
    if scale.kind == "nps":
        return nps_difference(a, b, label_a, label_b)
    return csat.csat_difference(a, b, label_a, label_b)


def _scored(frame: pd.DataFrame, scale: SurveyScale) -> pd.DataFrame:
    """Add shares, the score, its interval and the small-group flag to a frame of counts."""
    frame = frame.copy()
    for column in ("responses", "top_box", "middle", "bottom_box"):
        frame[column] = frame[column].astype("int64")
    scored = [_summarise(scale, t, m, b) for t, m, b in zip(frame["top_box"], frame["middle"], frame["bottom_box"])]
    frame["score"] = [s[0] for s in scored]
    frame["ci_low"] = [s[1] for s in scored]
    frame["ci_high"] = [s[2] for s in scored]
    for column, share in (("top_box", "top_share"), ("middle", "middle_share"), ("bottom_box", "bottom_share")):
        frame[share] = frame[column] / frame["responses"]
    frame["is_small"] = frame["responses"] < SMALL_GROUP_MIN
    return frame


def survey_breakdown(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE, dimension: str = "all",
                     cursor=None) -> pd.DataFrame:
    """One row per group of ``dimension`` ("all" gives one row): counts, shares, score, interval, n flag.

    Columns: group_value, responses, top_box, middle, bottom_box, mean_score, score_sd, score,
    ci_low, ci_high, top_share, middle_share, bottom_share, is_small.
    """
    if dimension != "all" and dimension not in DIMENSIONS:
        raise ValueError(f"Unknown breakdown {dimension!r}; expected one of: all, {', '.join(DIMENSIONS)}.")
    params = {**filters.params(), **scale.params(), "dimension": dimension}
    return _scored(store.query("nps/answer_counts", params, cursor=cursor), scale)


def survey_trend(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE, grain: str = "month",
                 cursor=None) -> pd.DataFrame:
    """One row per week or month with answers: counts, shares, score and its interval (for the band)."""
    if grain not in ("week", "month"):
        raise ValueError(f"Unknown grain {grain!r}; expected week or month.")
    # The breakdown by month or week is the trend: its group labels ('2025-01', '2025-01-06') become dates.
    params = {**filters.params(), **scale.params(), "dimension": grain}
    counts = store.query("nps/answer_counts", params, cursor=cursor)
    counts.insert(0, "period", pd.to_datetime(counts.pop("group_value")).astype("datetime64[us]"))
    return _scored(counts, scale)


def _counts(frame: pd.DataFrame, group_value: str | None = None) -> tuple[int, int, int]:
    rows = frame if group_value is None else frame[frame["group_value"] == group_value]
    return tuple(int(rows[c].sum()) for c in ("top_box", "middle", "bottom_box"))  # type: ignore[return-value]


@dataclass(frozen=True)
class AnswerSpan:
    """Every answer of one survey kind, whatever the window: how many, and the first and last day one was given."""

    answers: int
    first_day: date | None
    last_day: date | None


def answer_span(store: Store, scale: SurveyScale = NPS_SCALE, cursor=None) -> AnswerSpan:
    """How many answers of ``scale``'s kind are loaded, and when (an empty window: load surveys, or move there)."""
    row = store.query("nps/answer_span", {"kind": scale.kind}, cursor=cursor).iloc[0]
    return AnswerSpan(int(row["answers"]), as_date(row["first_day"]), as_date(row["last_day"]))


def compare_with_previous_period(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE,
                                 cursor=None) -> SurveyDifference:
    """This window against the window of the same length just before it, same customer selection."""
    previous = filters.previous_period()
    current = _counts(survey_breakdown(store, filters, scale, cursor=cursor))
    before = _counts(survey_breakdown(store, previous, scale, cursor=cursor))
    return difference(scale, current, before, f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}",
                      f"{previous.start:%d %b %Y} – {previous.end:%d %b %Y}")


def compare_groups(store: Store, filters: Filters, scale: SurveyScale, dimension: str, group_a: str,
                   group_b: str, cursor=None) -> SurveyDifference:
    """Group A against group B of one breakdown (two independent samples of answers)."""
    frame = survey_breakdown(store, filters, scale, dimension, cursor=cursor)
    return difference(scale, _counts(frame, group_a), _counts(frame, group_b), group_a, group_b)


# ------------------------------------------------ behaviour after the answer
@dataclass(frozen=True)
class CategoryOutcome:
    """What customers of one answer category did in the N days after their first answer."""

    category: str
    label: str
    answers: int
    censored: int
    followed_up: int
    repurchasers: int
    repurchase_rate: float
    repurchase_ci: tuple[float, float]
    churn_rate: float
    churn_ci: tuple[float, float]
    revenue_per_customer: float
    revenue_ci: tuple[float, float]
    revenue_sd: float


@dataclass(frozen=True)
class BehaviourLink:
    """Outcomes by answer category, and top box against bottom box: is the score predictive here?"""

    horizon_days: int
    outcomes: tuple[CategoryOutcome, ...]
    repurchase_difference: SurveyDifference
    revenue_difference: SurveyDifference

    @property
    def censored(self) -> int:
        return sum(o.censored for o in self.outcomes)

    @property
    def followed_up(self) -> int:
        return sum(o.followed_up for o in self.outcomes)

    def readable_table(self) -> pd.DataFrame:
        """The outcomes as text for a screen: each rate or mean with its 95 % interval beside it."""
        def share(value: float, bounds: tuple[float, float]) -> str:
            return "–" if math.isnan(value) else f"{value:.1%} ({bounds[0]:.1%} – {bounds[1]:.1%})"

        def money(value: float, bounds: tuple[float, float]) -> str:
            if math.isnan(value):
                return "–"
            return metrics.money(value) + ("" if math.isnan(bounds[0]) else
                                           f" ({metrics.money(bounds[0])} – {metrics.money(bounds[1])})")

        days = self.horizon_days
        return pd.DataFrame([{
            "answer": o.label, "customers followed up": o.followed_up, "censored (left out)": o.censored,
            f"repurchased within {days} days (95 % CI)": share(o.repurchase_rate, o.repurchase_ci),
            f"churned: no purchase in {days} days (95 % CI)": share(o.churn_rate, o.churn_ci),
            f"revenue per customer in {days} days (95 % CI)": money(o.revenue_per_customer, o.revenue_ci),
        } for o in self.outcomes])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "answer": o.label, "customers": o.followed_up, "censored": o.censored,
            "repurchase_rate": o.repurchase_rate, "repurchase_ci_low": o.repurchase_ci[0],
            "repurchase_ci_high": o.repurchase_ci[1], "churn_rate": o.churn_rate,
            "churn_ci_low": o.churn_ci[0], "churn_ci_high": o.churn_ci[1],
            "revenue_per_customer": o.revenue_per_customer, "revenue_ci_low": o.revenue_ci[0],
            "revenue_ci_high": o.revenue_ci[1],
        } for o in self.outcomes])


def mean_difference(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int,
                    label_a: str = "A", label_b: str = "B", confidence: float = 0.95) -> SurveyDifference:
    """Mean of A minus mean of B with Welch's t interval and test (unequal variances)."""
    if n_a < 2 or n_b < 2 or any(x is None or math.isnan(x) for x in (sd_a, sd_b)):
        return SurveyDifference(label_a, label_b, n_a, n_b, mean_a, mean_b, mean_a - mean_b, math.nan, math.nan,
                                math.nan, "Welch t test")
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return SurveyDifference(label_a, label_b, n_a, n_b, mean_a, mean_b, mean_a - mean_b, mean_a - mean_b,
                                mean_a - mean_b, math.nan, "Welch t test")
    from scipy import stats  # lazily: scipy.stats costs about a second at start-up

    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    t_crit = float(stats.t.ppf(0.5 + confidence / 2, df))
    diff = mean_a - mean_b
    p_value = 2 * float(stats.t.sf(abs(diff) / se, df))
    return SurveyDifference(label_a, label_b, n_a, n_b, mean_a, mean_b, diff, diff - t_crit * se,
                            diff + t_crit * se, p_value, "Welch t test")


def behaviour_after_answer(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE, horizon_days: int = 90,
                           cursor=None) -> BehaviourLink:
    """Repurchase, churn (no purchase) and revenue in the ``horizon_days`` after each customer's first answer.

    Answers whose follow-up window runs past the last purchase in the data are censored: counted,
    not used. Intervals: Wilson for the rates, Student t for revenue per customer; top box against
    bottom box with Agresti-Caffo (rates) and Welch (revenue).
    """
    params = {**filters.params(), **scale.params(), "horizon_days": int(horizon_days)}
    frame = store.query("nps/outcomes_after_answer", params, cursor=cursor)
    rows = {r["category"]: r for r in frame.to_dict("records")}
    outcomes = []
    for category in ("top", "middle", "bottom"):
        r = rows.get(category, {})
        followed = int(r.get("followed_up") or 0)
        buyers = int(r.get("repurchasers") or 0)
        revenue = float(r["revenue_per_customer"]) if followed else math.nan
        sd = r.get("revenue_sd")
        sd = float(sd) if sd is not None and not pd.isna(sd) else math.nan
        rate = buyers / followed if followed else math.nan
        low, high = wilson_interval(buyers, followed)
        outcomes.append(CategoryOutcome(
            category=category, label=scale.category_label(category), answers=int(r.get("answers") or 0),
            censored=int(r.get("censored") or 0), followed_up=followed, repurchasers=buyers,
            repurchase_rate=rate, repurchase_ci=(low, high), churn_rate=1 - rate, churn_ci=(1 - high, 1 - low),
            revenue_per_customer=revenue, revenue_ci=mean_interval(revenue, sd, followed), revenue_sd=sd,
        ))
    top, bottom = outcomes[0], outcomes[2]
    return BehaviourLink(
        horizon_days=int(horizon_days),
        outcomes=tuple(outcomes),
        repurchase_difference=proportion_difference(top.repurchasers, top.followed_up, bottom.repurchasers,
                                                    bottom.followed_up, top.label, bottom.label),
        revenue_difference=mean_difference(top.revenue_per_customer, top.revenue_sd, top.followed_up,
                                           bottom.revenue_per_customer, bottom.revenue_sd, bottom.followed_up,
                                           top.label, bottom.label),
    )


def behaviour_verdict(link: BehaviourLink) -> str:
    """One plain sentence answering "is the score predictive here?" from the top-vs-bottom tests."""
    rep, rev = link.repurchase_difference, link.revenue_difference
    if math.isnan(rep.difference):
        return (f"Not enough answers with a complete {link.horizon_days}-day follow-up to compare "
                f"{rep.label_a} with {rep.label_b}.")
    direction = "more" if rep.difference > 0 else "less"
    text = (f"{rep.label_a.capitalize()} repurchased {abs(rep.difference):.1f} points {direction} often than "
            f"{rep.label_b} within {link.horizon_days} days (95 % CI {rep.ci_low:+.1f} to {rep.ci_high:+.1f}, "
            f"{format_p(rep.p_value)}; n = {rep.n_a:,} and {rep.n_b:,}). ")
    if rep.is_significant and rep.difference > 0:
        text += "Yes: in this data the score predicts repurchase."
    elif rep.is_significant:
        text += "The score predicts repurchase here, but in the unexpected direction: check the survey's scale."
    else:
        text += "The difference could be chance: no evidence here that the score predicts repurchase."
    if not math.isnan(rev.ci_low):
        text += (f" Revenue per customer differs by {metrics.money(rev.difference)} (95 % CI "
                 f"{metrics.money(rev.ci_low)} to {metrics.money(rev.ci_high)}, Welch {format_p(rev.p_value)}).")
    return text


# ------------------------------------------------------------ close the loop
def bottom_box_answers(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE, with_comment_only: bool = False,
                       limit: int = 1000, cursor=None) -> pd.DataFrame:
    """The newest bottom-box answers (detractors for NPS) with comment, customer value and stage."""
    params = {**filters.params(), "kind": scale.kind, "bottom_max": scale.bottom_max,
              "with_comment_only": bool(with_comment_only), "limit": int(limit)}
    return store.query("nps/bottom_box_answers", params, cursor=cursor)


def breakdown_records(frame: pd.DataFrame, scale: SurveyScale = NPS_SCALE) -> list[dict[str, Any]]:
    """CLI/JSON records for a breakdown: for NPS responses, promoters, passives, detractors, nps, ci_low, ci_high."""
    names = {"top_box": scale.top_label, "middle": scale.middle_label, "bottom_box": scale.bottom_label}
    score_name = "nps" if scale.kind == "nps" else "satisfied_pct"
    records = []
    for row in frame.to_dict("records"):
        record: dict[str, Any] = {"group": row["group_value"], "responses": int(row["responses"])}
        record.update({names[c]: int(row[c]) for c in names})
        record.update({score_name: row["score"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                       "is_small_group": bool(row["is_small"])})
        records.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()})
    return records
