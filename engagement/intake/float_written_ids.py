"""Ids written as floats (``17850.0``, as spreadsheets and pandas write ids with gaps), read as the integer text
(``17850``) with a note, when every value of the column is such a float."""

from __future__ import annotations

import dataclasses

import duckdb

from engagement.intake.source_plan import SourcePlan
from engagement.sql import quote_identifier
from engagement.warehouse.schema import TABLES

FLOAT_ID = r"-?[0-9]+\.0+"
FLOAT_ID_HEAD = 1_000


def id_columns(kind: str, columns) -> list[str]:
    """The text id columns of ``kind`` among ``columns`` (schema order): those a float-written export spoils."""
    return [c.name for c in TABLES[kind].columns if c.name.endswith("_id") and c.sql_type == "VARCHAR" and c.name in columns]


def all_floats_sql(column: str, trimmed: bool = False) -> str:
    """SQL aggregate, true when ``column`` has a value and every value is a whole number written as a float.
    ``trimmed``: the column is already trimmed, NULL where blank (a typed fold's text), so it is read as it is.

    The regular expression reads only values with a point (a CASE evaluates its THEN on those rows alone): ids
    without one, nearly all, cost a tenth (Online Retail's 25,900 invoice numbers: 0.0004 s against 0.0037 s).
    """
    value = quote_identifier(column) if trimmed else f"nullif(trim({quote_identifier(column)}), '')"
    # count_if, not count(value) FILTER: the same count (the test is false where the value is NULL), without the
    # selection a FILTER clause makes (about 0.2 ms of CPU on Online Retail's 25,900 orders)
    return f"(count({value}) > 0 AND count({value}) = count_if({float_id_sql(value)}))"


def float_id_sql(value_sql: str) -> str:
    """SQL true when the (trimmed) text is a whole number written as a float (``17850.0``)."""
    return f"CASE WHEN contains({value_sql}, '.') THEN regexp_full_match({value_sql}, '{FLOAT_ID}') ELSE false END"


def integer_text_sql(column_sql: str) -> str:
    """The integer text of a float-written id (``17850.0`` -> ``17850``)."""
    return f"regexp_replace(trim({column_sql}), '\\.0+$', '')"


def float_ids_note(fixed: list[str]) -> str:
    return (f"{', '.join(fixed)}: every value is a whole number written as a float (e.g. 17850.0); read as the "
            "integer text (17850), as the ids are in other exports.")


def integer_ids(cur: duckdb.DuckDBPyConnection, kind: str, plan: SourcePlan) -> SourcePlan:
    """Read an id column whose every value is an integer written as a float (``17850.0``, as spreadsheets and
    pandas write ids with gaps) as the integer text, with a note. The file's head is looked at first (every id
    column in one query), so a file of ordinary ids costs one small query.

    A fold's orders (``SourcePlan.counts_lines``, read from the table ``folding.write_folded`` wrote) are few: every
    id column is checked on all of them in one query, as ``folding.stage_typed`` checks them, with no look at the
    head first (on Online Retail's 25,900 orders the head query cost as much as the whole check)."""
    mapped = [r[0] for r in cur.execute(f"DESCRIBE SELECT * FROM ({plan.select_sql}) LIMIT 0").fetchall()]
    ids = id_columns(kind, mapped)
    if not ids:
        return plan
    head = [True] * len(ids) if plan.counts_lines else cur.execute(
        f"SELECT {', '.join(all_floats_sql(c) for c in ids)} FROM (SELECT {', '.join(map(quote_identifier, ids))} "
        f"FROM ({plan.select_sql}) LIMIT {FLOAT_ID_HEAD})").fetchall()[0]
    candidates = [c for c, floats in zip(ids, head) if floats]
    if not candidates:
        return plan
    whole = cur.execute(f"SELECT {', '.join(all_floats_sql(c) for c in candidates)} FROM ({plan.select_sql})").fetchall()[0]
    return with_integer_ids(plan, [c for c, floats in zip(candidates, whole) if floats])


def with_integer_ids(plan: SourcePlan, fixed: list[str]) -> SourcePlan:
    """``plan`` reading the ``fixed`` id columns as integer text (:func:`integer_ids`), with its note."""
    if not fixed:
        return plan
    replaced = ", ".join(f"{integer_text_sql(quote_identifier(c))} AS {quote_identifier(c)}" for c in fixed)
    return dataclasses.replace(plan, select_sql=f"SELECT * REPLACE ({replaced}) FROM ({plan.select_sql})",
                               notes=plan.notes + (float_ids_note(fixed),))
