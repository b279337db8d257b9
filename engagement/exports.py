"""Files users take away: CSV that spreadsheet programs cannot turn into formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel and LibreOffice (CSV injection, OWASP). Text cells starting so are prefixed with a single quote;
numeric columns are left alone, so negative numbers stay numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_safe_csv(frame: pd.DataFrame) -> str:
    """CSV text of ``frame`` with every text cell neutralised against formula injection.

    >>> to_safe_csv(pd.DataFrame({"comment": ["=1+1", "fine"], "amount": [-5, 3]}))
    "comment,amount\\n'=1+1,-5\\nfine,3\\n"
    """
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    return safe.to_csv(index=False)
