"""Plain-language verdicts for experiment results, written so that they never overstate.

Rules, in order:

1. A failed sample-ratio check makes every result untrustworthy, whatever its p-value.
2. A fixed-horizon test read before its planned size is "too early to call" (unless the always-valid
   sequential view is on, which is built to be read at any time).
3. Only an adjusted p-value below alpha is called a difference "unlikely to be chance".
4. Anything else is "no clear difference", with the smallest effect the test could have detected, so
   that "we found nothing" is never read as "there is nothing".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engagement import metrics
from engagement.stats import abstats, intervals

if TYPE_CHECKING:  # pragma: no cover
    from engagement.experiments.options import AnalysisOptions

CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no"}


def _unsigned_zero(value: float, decimals: int) -> float:
    """``value`` rounded for display, with -0.0 turned into 0.0 (no "-0.000" or "-0.0 %")."""
    return round(value, decimals) + 0.0


def format_amount(value: float, unit: str, signed: bool = False) -> str:
    """A metric value (or difference) in its unit: shares as %, money in the orders' currency, counts with 3 decimals.

    >>> format_amount(-0.00004, "share", signed=True), format_amount(-0.0001, "count", True)
    ('+0.0 pts', '+0.000')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if signed else ""
    if unit == "share":
        return f"{_unsigned_zero(value * 100, 1):{sign}.1f} {'pts' if signed else '%'}"
    if unit == "money":
        cents = _unsigned_zero(value, 2)
        return metrics.money(cents, signed=signed)
    return f"{_unsigned_zero(value, 3):{sign},.3f}"


def format_relative(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{_unsigned_zero(value * 100, 1):+.1f} %"


def format_p(p: float) -> str:
    """A table's p-value: "< 0.001" or "0.123" (:func:`engagement.stats.intervals.format_p`)."""
    return intervals.format_p(p, floor=0.001, two_digits_below=None, label=False)


def p_phrase(p: float) -> str:
    """"p < 0.001" or "p = 0.123"."""
    return intervals.format_p(p, floor=0.001, two_digits_below=None)


def srm_message(srm: abstats.SrmCheck) -> str:
    """One sentence on the sample-ratio check, loud when it fails."""
    split = ", ".join(f"{v} {n:,} ({e:.0%} intended)" for v, n, e in zip(srm.variants, srm.observed,
                                                                             srm.expected_shares))
    if math.isnan(srm.p_value):
        return f"Sample ratio could not be checked (units: {split})."
    if srm.failed:
        return (f"Sample ratio mismatch: the units per arm ({split}) are far from the intended split "
                f"(chi-square {p_phrase(srm.p_value)}, threshold {srm.threshold}). Assignment or logging is "
                "broken, so every result below is untrustworthy: fix the cause before reading any lift.")
    if srm.is_borderline:
        return (f"Sample ratio borderline: units per arm ({split}) are further from the intended split than "
                f"usual (chi-square {p_phrase(srm.p_value)}), though not past the {srm.threshold} alarm threshold. "
                "Results are shown, but check assignment and logging before acting on them.")
    return (f"Sample ratio OK: units per arm ({split}) match the intended split "
            f"(chi-square {p_phrase(srm.p_value)}).")


def interval_name(options: "AnalysisOptions", sequential: bool, interval_alpha: float) -> str:
    """"95 % CI", "95 % always-valid CI", or "95 % CI, Holm-adjusted (98.3 % per comparison)"."""
    name = f"{(1 - options.alpha) * 100:.0f} % {'always-valid CI' if sequential else 'CI'}"
    if options.correction != "none" and interval_alpha == interval_alpha and interval_alpha < options.alpha:
        name += (f", {CORRECTION_NAMES[options.correction]}-adjusted "
                 f"({(1 - interval_alpha) * 100:.4g} % per comparison)")
    return name


def metric_verdict(*, label: str, unit: str, variant: str, control: str, estimate: abstats.LiftEstimate,
                   sequential: abstats.SequentialView | None, p_value_adjusted: float, mde_absolute: float,
                   options: "AnalysisOptions", srm_failed: bool,
                   interval: tuple[float, float, float, float], interval_alpha: float) -> tuple[str, str]:
    """(status, sentence) for one variant and metric; status is one of untrustworthy, early, positive,
    negative, inconclusive, no_data.

    The test, the p-value, the quoted interval and the status share one scale (``estimate.scale``: the
    relative lift when the control mean is positive, as gbstats tests it, else the difference) and one
    multiple-testing adjustment (``interval`` is at ``interval_alpha``, the level matching the adjusted
    p-value), so "raised" or "lowered" is never said while the quoted interval spans zero.
    """
    if estimate.n_control == 0 or estimate.n_variant == 0 or math.isnan(estimate.absolute_lift):
        return "no_data", f"{label}: not enough data in {variant} or {control} to compare."
    if not estimate.standard_error > 0:
        return "no_data", (f"{label}: no unit differs from the others in its arm ({control} "
                           f"{format_amount(estimate.mean_control, unit)}, {variant} "
                           f"{format_amount(estimate.mean_variant, unit)}), so there is no variation to test.")
    low, high, rel_low, rel_high = interval
    name = interval_name(options, sequential is not None, interval_alpha)
    if estimate.scale == "relative":
        lift, quoted_low, quoted_high = estimate.relative_lift, rel_low, rel_high
        change = (f"{format_relative(estimate.relative_lift)} ({name} "
                  f"{format_relative(rel_low)} to {format_relative(rel_high)})")
    else:
        lift, quoted_low, quoted_high = estimate.absolute_lift, low, high
        change = (f"{format_amount(estimate.absolute_lift, unit, True)} ({name} "
                  f"{format_amount(low, unit, True)} to {format_amount(high, unit, True)})")
    cuped = not math.isnan(estimate.adjusted_mean_control)
    mean_control = estimate.adjusted_mean_control if cuped else estimate.mean_control
    mean_variant = estimate.adjusted_mean_variant if cuped else estimate.mean_variant
    levels = (f"{'CUPED-adjusted ' if cuped else ''}{format_amount(mean_control, unit)} in {control} "
              f"(n = {estimate.n_control:,}) vs {format_amount(mean_variant, unit)} in {variant} "
              f"(n = {estimate.n_variant:,})")
    if srm_failed:
        return "untrustworthy", (
            f"Untrustworthy: {label} {variant} vs {control} reads {change}, but the sample ratio check failed, "
            "so this number cannot be used for a decision. Fix the assignment and rerun.")
    smallest = min(estimate.n_control, estimate.n_variant)
    if options.planned_n_per_arm and smallest < options.planned_n_per_arm and sequential is None:
        return "early", (
            f"Too early to call {label}: {smallest:,} of the planned {options.planned_n_per_arm:,} units per arm. "
            f"The current reading is {change}, but stopping a fixed-size test early inflates false positives. "
            "Wait for the planned size, or switch on the always-valid (sequential) view.")
    correction = CORRECTION_NAMES[options.correction]
    p_text = (p_phrase(p_value_adjusted) + f" for the {estimate.scale} lift"
              + (f" after {correction} correction" if options.correction != "none" else ""))
    if not math.isnan(estimate.variance_reduction):
        p_text += f"; CUPED-adjusted, variance {estimate.variance_reduction:.1%} lower"
    # Both conditions are the same in exact arithmetic (the interval is built at the adjusted level); asking
    # for both keeps a rounding difference at the boundary from ever producing a contradiction.
    excludes_zero = quoted_low > 0 or quoted_high < 0
    if p_value_adjusted < options.alpha and excludes_zero:
        direction = "raised" if lift > 0 else "lowered"
        return ("positive" if lift > 0 else "negative"), (
            f"{variant} {direction} {label} by {change}: {levels}. A difference this large is unlikely to be "
            f"chance ({p_text}).")
    mde = mde_absolute / abs(estimate.mean_control) if estimate.mean_control else math.nan
    detectable = (f"about ±{mde * 100:.1f} %" if not math.isnan(mde)
                  else f"about ±{format_amount(mde_absolute, unit)}")
    return "inconclusive", (
        f"No clear difference in {label}: {variant} vs {control} {change}; {levels} ({p_text}). "
        f"With this many units the test reliably detects only changes of {detectable} or more "
        f"({options.power:.0%} power), so a smaller effect is not ruled out.")
