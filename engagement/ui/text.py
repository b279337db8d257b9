"""Plain text and numbers for Streamlit: text from data shown literally (``plain``) and values formatted by unit.

Imports no Streamlit: the CLI-free helpers every other ui module (and the pages) use.
"""

from __future__ import annotations

import math
import re
from typing import Any

from engagement.metrics import money, printf_currency


# CommonMark lets a backslash escape any ASCII punctuation, and Streamlit's renderer (markdown, widget
# labels, metric labels, expander titles, radio options) honours it. Escaping the characters that open
# inline markup leaves no link, image, HTML tag, emphasis, code, math or :colour[...] directive (``[``
# escaped, ``](`` means nothing); block markers (#, >, -, +, =, "1.") only act at the start of a
# line. Other punctuation stays as it is, so ordinary text reads and compares unchanged.
_INLINE_ESCAPES = {ord(ch): "\\" + ch for ch in "\\`*_[]<>~$&|"}
# ":red" alone is a text directive (an empty coloured span), ":material/x:" an icon: escape a colon before a letter.
_DIRECTIVE = re.compile(r":(?=[A-Za-z])")
_LINE_START = re.compile(r"^([ \t]*)([#+=-]|\d+(?=[.)]))", re.MULTILINE)
# GitHub-flavoured markdown also turns bare URLs and e-mail addresses into links, after escapes are
# resolved (it searches the text itself), so no escape stops it: an invisible WORD JOINER (U+2060)
# between "http:" and "//", "www" and ".", and after "@" breaks the patterns without changing what is read.
_AUTOLINK_SPOTS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(value: Any) -> str:
    r"""``value`` as text that every Streamlit call rendering markdown shows literally.

    Use it for every string that came from data (files, the database, the URL) before it reaches
    ``st.markdown``/``st.caption``/``st.error``/…, a widget or metric label, or an expander title:
    ``st.caption(f"Loaded from {ui.plain(file_name)}")``.

    >>> print(plain("[refund](http://x) **b**").replace(WORD_JOINER, ""))
    \[refund\](http://x) \*\*b\*\*
    >>> print(plain("# not a heading\n2. nor a list"))
    \# not a heading
    2\. nor a list
    """
    text = _AUTOLINK_SPOTS.sub(WORD_JOINER, str(value)).translate(_INLINE_ESCAPES)
    text = _DIRECTIVE.sub(r"\\:", text)
    # "# x" -> "\# x"; "1. x" -> "1\. x" (the digits stay, the dot after them is escaped)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit() else "\\" + m.group(2)),
                           text)


def rounds_to_zero(change: float, unit: str) -> bool:
    """True when ``change`` shows as zero at :func:`format_value`'s precision (shares in points)."""
    if change != change:
        return False
    step = {"share": 0.0005, "money": 0.005, "score": 0.5}.get(unit, 0.05 if abs(change) < 100 else 0.5)
    return abs(change) < step


def format_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "money":
        return money(value)
    if unit == "days":  # a tenth of a day matters when the typical gap is a week
        return f"{value:,.1f} days" if abs(value) < 100 else f"{value:,.0f} days"
    if unit == "score":
        return f"{value:+.0f}"
    return f"{value:,.2f}"


def money_format(decimals: int = 2) -> str:
    """A table column's printf format for amounts in the orders' currency (Streamlit's "dollar" preset says $
    whatever the currency): ``st.column_config.NumberColumn(format=ui.money_format())``."""
    prefix, suffix = printf_currency()
    return f"{prefix}%,.{decimals}f{suffix}"
