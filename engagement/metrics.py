"""The registry of shared metric definitions: one name, label, formula, unit, rounding and interval method per
number that more than one page (or a page and the CLI) shows.

Pages and the CLI read labels and formatting from here, so the same number prints the same way wherever it
appears (before this registry, the demo's NPS change read "+13" on Overview and "+12.7 pts" on the NPS page).
``computed_by`` names the function that computes the metric as a dotted path, not an import, so this module
stays at the bottom of the import graph.

>>> format_change("nps", 12.66)
'+12.7 pts'
>>> format_value("nps", 37.4)
'+37'
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Sequence

__all__ = ["Metric", "METRICS", "metric", "format_value", "format_change", "change_rounds_to_zero", "registry_table",
           "CURRENCY_SYMBOLS", "set_currency", "use_currency", "currency_label", "with_currency", "money",
           "printf_currency",
           "d3_currency_locale"]

# ------------------------------------------------------------------ money in the brand's currency
# Amounts are shown in the currency of the loaded orders (intake quarantines orders in any other currency than
# the most common one, so a database normally holds one). A code whose symbol is unambiguous gets the symbol
# ("€38.47"); any other code is written out ("CHF 38.47": "$" alone would not say which dollar). When the orders
# hold several currencies anyway (a warehouse table, read as it is), no symbol may claim the sum: it shows
# the codes it adds, unconverted ("38.47 EUR+USD").
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪",
                    "NGN": "₦", "PHP": "₱", "VND": "₫", "UAH": "₴", "TRY": "₺"}
# Set per Streamlit run (a session's script thread), per CLI command and per digest: a context variable, so two
# sessions showing two databases in one process never see each other's currency.
_CURRENCY: ContextVar[tuple[str, ...]] = ContextVar("engagement_currency", default=("USD",))


def _codes(codes: Sequence[str]) -> tuple[str, ...]:
    # A code comes from a file (intake does not check its form): letters only, so no markup reaches a page.
    cleaned = (re.sub(r"[^A-Z]", "", str(code).upper())[:8] for code in codes if code is not None)
    return tuple(dict.fromkeys(code for code in cleaned if code))


def set_currency(codes: Sequence[str]) -> None:
    """Show money in ``codes`` (the loaded orders' currencies, most orders first) from here on in this context.
    No codes (orders that name no currency, as Online Retail's, which are pounds): amounts carry no currency sign
    rather than a dollar sign the data never gave. Without a call (a notebook, a test) amounts are in dollars."""
    _CURRENCY.set(_codes(codes))


@contextmanager
def use_currency(codes: Sequence[str]) -> Iterator[None]:
    """:func:`set_currency` for a block (the digest, a test), restored after it."""
    token = _CURRENCY.set(_codes(codes))
    try:
        yield
    finally:
        _CURRENCY.reset(token)


def _affixes() -> tuple[str, str]:
    """(prefix, suffix) written around an amount in the current currency."""
    codes = _CURRENCY.get()
    if not codes:  # the orders name no currency
        return "", ""
    if len(codes) > 1:
        return "", " " + "+".join(sorted(codes))
    return (CURRENCY_SYMBOLS[codes[0]], "") if codes[0] in CURRENCY_SYMBOLS else (codes[0] + " ", "")


def currency_label() -> str:
    """The currency as a unit in a title: "$", "€", "CHF" or "EUR+USD"; "" when the orders name none.

    >>> with use_currency(["EUR"]): currency_label()
    '€'
    """
    prefix, suffix = _affixes()
    return (prefix or suffix).strip()


# How a brand names the currency its exports leave out: the load's note and the app's sidebar both say it.
NAME_THE_CURRENCY = "with a fixed value (Data page: Fixed values, currency=GBP; CLI: --map currency=GBP)"


def with_currency(title: str) -> str:
    """A money axis or field title with its currency: "Net revenue ($)", or "Net revenue" when the orders name
    no currency.

    >>> with use_currency(["GBP"]): with_currency("Net revenue")
    'Net revenue (£)'
    >>> with use_currency([]): with_currency("Net revenue"), money(515.57)
    ('Net revenue', '515.57')
    """
    label = currency_label()
    return f"{title} ({label})" if label else title


def money(value: float, decimals: int = 2, signed: bool = False) -> str:
    """An amount in the current currency, the sign before the symbol.

    >>> with use_currency(["USD"]): money(-1234.5)
    '-$1,234.50'
    >>> with use_currency(["EUR"]): money(38.47)
    '€38.47'
    >>> with use_currency(["CHF"]): money(2.5, signed=True)
    '+CHF 2.50'
    >>> with use_currency(["USD", "EUR"]): money(38.47)
    '38.47 EUR+USD'
    """
    prefix, suffix = _affixes()
    sign = "-" if round(value, decimals) < 0 else ("+" if signed else "")
    return f"{sign}{prefix}{abs(value):,.{decimals}f}{suffix}"


def printf_currency() -> tuple[str, str]:
    """(prefix, suffix) around a printf number format (a table column): "%" doubled."""
    return tuple(part.replace("%", "%%") for part in _affixes())  # type: ignore[return-value]


def d3_currency_locale() -> dict[str, object]:
    """Vega-Lite's number locale whose ``$`` in a d3 format ("$,.2f") writes the current currency."""
    prefix, suffix = _affixes()
    return {"decimal": ".", "thousands": ",", "grouping": [3], "currency": [prefix, suffix]}


@dataclass(frozen=True)
class Metric:
    """One metric's definition.

    ``unit`` is "share" (a fraction, shown as %), "money" (in the orders' currency: :func:`money`), "days" or "score" (a -100..+100 index).
    ``decimals`` is the rounding of the value as shown; a change of a share or a score is shown in points
    (``change_decimals`` of them), a change of money or days in the metric's own unit.
    """

    key: str
    label: str
    formula: str
    unit: str
    decimals: int
    change_decimals: int
    interval_method: str
    computed_by: str
    relates_to: str = ""

    @property
    def change_unit(self) -> str:
        return "pts" if self.unit in ("share", "score") else self.unit


# The same text as engagement.voice.nps.NPS_INTERVAL_METHOD (a test checks they agree; importing it would lift this module).
_NPS_INTERVAL = "adjusted Wald (Rocks 2016)"

METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("repeat_purchase_rate", "Repeat purchase rate",
           "customers with 2 or more purchases in the period / customers with a purchase in the period",
           "share", 1, 1, "Wilson score interval", "engagement.value.kpis.overview_kpis"),
    Metric("median_days_between_orders", "Median days between orders",
           "median of the days since the customer's previous purchase, over repeat purchases in the period",
           "days", 1, 1, "distribution-free interval from exact binomial order statistics",
           "engagement.value.kpis.overview_kpis"),
    Metric("average_order_value", "Average order value",
           "net revenue / purchases in the period (after discounts and refunds)",
           "money", 2, 2, "t interval", "engagement.value.kpis.overview_kpis"),
    Metric("returning_revenue_share", "Revenue from returning customers",
           "net revenue of 2nd and later purchases / net revenue in the period",
           "share", 1, 1, "none", "engagement.value.kpis.overview_kpis"),
    Metric("active_loyalty_members_90d", "Loyalty members active in 90 days",
           "loyalty members with a purchase in the 90 days to the period's end / loyalty members",
           "share", 1, 1, "Wilson score interval", "engagement.value.kpis.overview_kpis"),
    Metric("nps", "NPS", "% promoters (9-10) - % detractors (0-6) of the answers given in the period",
           "score", 0, 1, _NPS_INTERVAL, "engagement.value.kpis.overview_kpis"),
    Metric("incremental_revenue_per_customer", "Incremental revenue per customer (unadjusted)",
           "mean net revenue per treated customer - mean per control customer, in the outcome window after "
           "assignment (treatment arms pooled)",
           "money", 2, 2, "Welch t interval", "engagement.value.roi.holdout_estimate",
           relates_to="ROI's figure: a plain difference of means. The Experiments page estimates the same effect "
                      "over the same window with CUPED (adjusted for each customer's revenue in the window before "
                      "assignment): same expected value, a smaller variance, so the two differ by chance imbalance "
                      "in pre-period spending between the arms."),
    Metric("revenue_per_customer_lift_cuped", "Revenue per customer lift (CUPED-adjusted)",
           "difference of CUPED-adjusted mean net revenue per customer, treatment - control, in the window "
           "after assignment",
           "money", 2, 2, "z interval on the CUPED-adjusted difference (Holm/BH-adjusted as the verdict says)",
           "engagement.experiments.analysis.experiment_analysis",
           relates_to="The Experiments page's figure. ROI's incremental revenue per customer is the unadjusted "
                      "difference of the same arms' means over the same window."),
    Metric("average_probability_alive", "Average P(alive)",
           "mean over modelled customers of P(still active | purchase history) under BG/NBD",
           "share", 1, 1, "none", "engagement.retention.clv_default.fit_clv",
           relates_to="Not the complement of the Lifecycle page's lapsed share: 'lapsed' is a rule on days since "
                      "the last purchase, while BG/NBD lets a customer drop out only right after a repeat "
                      "purchase, so every customer with a single purchase day has P(alive) = 100 % however long "
                      "ago they bought. Many one-time buyers are lapsed by the rule and 'alive' by the model; "
                      "their low expected purchases, not P(alive), carry the model's view of them."),
    Metric("predicted_revenue_90d", "CLV of the base, next 90 days",
           "sum over every customer of BG/NBD expected purchases in the next 90 days x Gamma-Gamma expected spend "
           "per purchase (the model fitted at load on the whole history)",
           "money", 0, 0, "none", "engagement.retention.clv_default.fit_clv",
           relates_to="The CLV of the base as the RFM and CLV page forecasts it; one number for the whole history, "
                      "so the Summary shows no change against an earlier period for it."),
    Metric("sample_ratio_p_value", "Sample-ratio p-value",
           "chi-square goodness of fit of the arm sizes against the intended split",
           "p", 3, 3, "none", "engagement.stats.abstats.sample_ratio_check"),
)}


def registry_table() -> str:
    """The registry as the Markdown table docs/metrics.md carries between its ``registry`` markers (a test
    compares them, so the documentation cannot drift from what the pages and the CLI print)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| key | label | formula | unit, decimals (change) | interval | computed by |", "|---|---|---|---|---|---|"]
    for m in METRICS.values():
        lines.append(f"| `{m.key}` | {cell(m.label)} | {cell(m.formula)} | {m.unit}, {m.decimals} ({m.change_decimals}) "
                     f"| {cell(m.interval_method)} | `{m.computed_by}` |")
    notes = [f"- `{m.key}`: {m.relates_to}" for m in METRICS.values() if m.relates_to]
    return "\n".join(lines + ([""] + notes if notes else []))


def metric(key: str) -> Metric:
    """The definition of ``key``; a KeyError names the known metrics."""
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"No metric {key!r} in the registry; known: {', '.join(sorted(METRICS))}.") from None


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(key: str, value: float | None) -> str:
    """``value`` of metric ``key`` as every page and the CLI's text output show it ("–" when missing)."""
    if _is_missing(value):
        return "–"
    m = metric(key)
    d = m.decimals
    if m.unit == "share":
        return f"{value * 100:.{d}f}%"
    if m.unit == "money":
        return money(value, d)
    if m.unit == "days":  # a tenth of a day matters when the typical gap is a week, not when it is a season
        return f"{value:,.{d}f} days" if abs(value) < 100 else f"{value:,.0f} days"
    if m.unit == "score":
        return f"{0.0 if round(value, d) == 0 else value:+.{d}f}"
    return f"{value:.{d}f}"


def format_change(key: str, change: float | None) -> str:
    """A change of metric ``key`` between two periods: shares and scores in points, others in their unit."""
    if _is_missing(change):
        return "–"
    m = metric(key)
    d = m.change_decimals
    scaled = change * 100 if m.unit == "share" else change
    if round(scaled, d) == 0:
        scaled = 0.0  # never "-0.0"
    if m.unit == "money":
        return money(scaled, d, signed=True)
    if m.unit == "days":
        return f"{scaled:+,.{d}f} days"
    return f"{scaled:+.{d}f} {m.change_unit}"


def change_rounds_to_zero(key: str, change: float) -> bool:
    """True when ``change`` shows as zero at the metric's change rounding."""
    if _is_missing(change):
        return False
    m = metric(key)
    scaled = change * 100 if m.unit == "share" else change
    return round(scaled, m.change_decimals) == 0
