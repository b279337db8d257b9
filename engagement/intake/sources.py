"""Where an export came from, and how its columns become our canonical columns.

A source turns the text table ``raw_input`` (see :mod:`engagement.intake.readers`) into a SELECT with the
canonical column names of one kind (still text) plus ``file_row``. Supported sources:

``canonical``
    Our own column names (any letter case).
``shopify``, ``klaviyo``
    Their exports (:mod:`engagement.intake.vendor_exports`).
``line_items``
    Line-level orders exports (Online Retail, WooCommerce, Magento, POS) folded into one order per key
    (:mod:`engagement.intake.line_items` writes the fold's SQL; this module plans it from the header).
``mapping``
    Any other file, through a column mapping {canonical field: their header}, which can be saved in
    the database (:mod:`engagement.intake.saved_mappings`) and is reused when a file with the same header arrives.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engagement.intake import float_written_ids, line_items, vendor_exports
from engagement.intake.parsing import money_sql
from engagement.intake.readers import RAW_TABLE, ROW_COLUMN, TYPED_TABLE, FileRejected
from engagement.intake.source_plan import Header, SourcePlan, first_value
from engagement.sql import quote_identifier, sql_literal_value
from engagement.warehouse.schema import TABLES

SOURCES = ("auto", "canonical", "shopify", "klaviyo", "line_items")


def detect_source(columns: tuple[str, ...]) -> str:
    """``shopify``, ``klaviyo`` or ``canonical`` from the header (``canonical`` when nothing else fits)."""
    header = Header(columns)
    if header.has("Name", "Financial Status", "Lineitem quantity") or header.has(
        "First Name", "Last Name", "Email", "Total Spent"
    ):
        return "shopify"
    if header.find("Klaviyo ID", "Profile ID") or (header.has("Metric Name") or header.has("Event Name")) and \
            header.find("Email"):
        return "klaviyo"
    if line_items.preset_for(header.has):
        return "line_items"
    return "canonical"


def detect_kind(columns: tuple[str, ...], source: str | None = None) -> str | None:
    """The kind a header most likely holds: by source layout, else the kind whose required columns it has."""
    header = Header(columns)
    source = source or detect_source(columns)
    if source == "shopify":
        return "orders" if header.has("Name", "Lineitem quantity") else "customers"
    if source == "klaviyo":
        return "events" if header.find("Metric Name", "Event Name", "Metric", "Event") else "customers"
    if source == "line_items":
        return "orders"
    fits = [k for k, spec in TABLES.items()
            if all(header.find(c) for c in spec.required_columns if not (k == "events" and c == "event_id"))]
    # Prefer the most specific kind (the most required columns matched).
    return max(fits, key=lambda k: len(TABLES[k].required_columns), default=None)


def plan(kind: str, columns: tuple[str, ...], source: str, decimal_comma: bool,
         mapping: dict[str, str] | None = None, required: tuple[str, ...] | None = None,
         column_types: dict[str, str] | None = None, lazy_csv: bool = False) -> SourcePlan:
    """The SELECT from ``raw_input`` to canonical columns of ``kind`` for this ``source``.

    ``required`` (the suite's ``expect_column_to_exist`` columns) is checked for canonical files and
    mappings: a missing one rejects the file with a message naming it. ``column_types`` (a Parquet file's
    stored types, ``ReadInfo.column_types``): a line-item fold reads the typed values (``readers.TYPED_TABLE``).
    ``lazy_csv`` (a lazily opened CSV, not decimal-comma): a line-item fold gets its typed variant
    (``SourcePlan.typed_csv``).
    """
    header = Header(columns)
    required = tuple(required if required is not None else TABLES[kind].required_columns)
    preset = line_items.preset_for(header.has) if source in ("auto", "line_items") else None
    if mapping and preset and not any(mapping.get(f) for f in line_items.LINE_FIELDS):
        # a known line-item layout, completed by the mapping (a field it leaves unread keeps the layout's column)
        mapping = {**line_items.PRESETS[preset], **{k: v for k, v in mapping.items() if v is not None}}
    if mapping:
        mapping = _completed(kind, header, mapping)
    if mapping and any(mapping.get(f) for f in line_items.LINE_FIELDS):
        return _with_typed_csv(kind, header, mapping, decimal_comma, "mapping", column_types, lazy_csv)
    if mapping:
        return _mapped(kind, header, mapping, "mapping", required)
    if source == "auto":
        source = detect_source(columns)
    if source == "line_items":
        preset = line_items.preset_for(header.has)
        if preset is None:
            raise FileRejected("No known line-item layout in this header: map its columns (line_quantity, "
                               "line_price and the order columns) on the Data page or with --map.")
        return _with_typed_csv(kind, header, dict(line_items.PRESETS[preset]), decimal_comma, "line_items",
                               column_types, lazy_csv)
    if source == "shopify":
        if header.has("Name", "Lineitem quantity"):
            if kind != "orders":
                raise FileRejected(f"This is a Shopify orders export; load it as kind 'orders', not '{kind}'.")
            return vendor_exports.shopify_orders(header, decimal_comma)
        if kind != "customers":
            raise FileRejected(f"This is a Shopify customers export; load it as kind 'customers', not '{kind}'.")
        return vendor_exports.shopify_customers(header)
    if source == "klaviyo":
        if header.find("Metric Name", "Event Name", "Metric", "Event"):
            if kind not in ("events", "messages"):
                raise FileRejected(
                    f"This is a Klaviyo metric export; load it as kind 'events' or 'messages', not '{kind}'."
                )
            return vendor_exports.klaviyo_events(header, kind)
        if kind != "customers":
            raise FileRejected(f"This is a Klaviyo profiles export; load it as kind 'customers', not '{kind}'.")
        return vendor_exports.klaviyo_profiles(header)
    return _mapped(kind, header, {c: c for c in TABLES[kind].column_names}, "canonical", required)


def _completed(kind: str, header: Header, mapping: dict[str, Any]) -> dict[str, Any]:
    """A mapping names what differs from the file's own names (``--map "amount=net_revenue"``): every field it
    does not name reads the column of the field's name, as without a mapping, unless the mapping reads that
    column for another field. A field mapped to None (the Data page's "—") stays unread."""
    used = {header.find(v) for v in mapping.values() if isinstance(v, str)}
    completed = dict(mapping)
    for column in TABLES[kind].column_names:
        found = header.find(column) if column not in mapping else None
        if found and found not in used:
            completed[column] = found
    return completed


def constant_of(value: Any) -> str | None:
    """The constant a mapping gives a field the file lacks (``{"constant": "GBP"}``), else None."""
    return str(value["constant"]) if isinstance(value, dict) and "constant" in value else None


def parse_map_option(text: str, kind: str) -> dict[str, Any]:
    """``--map "THEIRS=OURS,..."`` as a mapping {our field: their column}; ``FIELD=VALUE`` where FIELD is
    ours and VALUE is not gives the field a constant (``currency=GBP``, ``status=paid``)."""
    fields = set(TABLES[kind].column_names) | (set(line_items.LINE_FIELDS) if kind == "orders" else set())
    mapping: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        theirs, sep, ours = (s.strip() for s in part.partition("="))
        if not sep or not theirs or not ours:
            raise ValueError(f"--map entry {part!r} is not THEIRS=OURS (or FIELD=CONSTANT).")
        if ours in fields:
            mapping[ours] = theirs
        elif theirs in fields:
            mapping[theirs] = {"constant": ours}
        else:
            raise ValueError(f"--map entry {part!r} names no {kind} field; the fields are: {', '.join(sorted(fields))}.")
    return mapping


def _require(kind: str, header: Header, mapping: dict[str, Any], source: str, required: tuple[str, ...]) -> None:
    missing = [c for c in required if constant_of(mapping.get(c)) is None
               and not (mapping.get(c) and header.find(mapping[c]))]
    if missing:
        # One column whose name has several words (CDNOW's "customer_id  date number_of_cds  dollar_value"): the
        # separator was not recognised, which no mapping can fix.
        one_column = len(header.columns) == 1 and len(header.columns[0].split()) > 1
        raise FileRejected(
            f"Missing required column{'s' if len(missing) > 1 else ''} for {kind}: {', '.join(missing)}. "
            f"The file has: {', '.join(header.columns[:30])}. "
            + ("It was read as one column: its values are not separated by commas, semicolons or tabs (spaces "
               "are not read as a separator). Save it as CSV and load it again." if one_column else
               "Rename the column(s) in the file, or map them: the Data page's column mapping, or "
               "--map \"THEIRS=OURS,...\" on the command line"
               f"{'' if source != 'canonical' else ' (or pass --source shopify/klaviyo)'}.")
        )


def _mapped(kind: str, header: Header, mapping: dict[str, str], source: str,
            required: tuple[str, ...]) -> SourcePlan:
    spec = TABLES[kind]
    _require(kind, header, mapping, source, required)
    parts, used = [], set()
    for column in spec.column_names:
        constant = constant_of(mapping.get(column))
        if constant is not None:
            parts.append(f"{sql_literal_value(constant)} AS {quote_identifier(column)}")
            continue
        theirs = header.find(mapping[column]) if mapping.get(column) else None
        if theirs:
            used.add(theirs)
            parts.append(f"{quote_identifier(theirs)} AS {quote_identifier(column)}")
    ignored = tuple(c for c in header.columns if c not in used)
    notes = (f"Ignored {len(ignored)} column(s) we do not use: {', '.join(ignored[:12])}"
             f"{' …' if len(ignored) > 12 else ''}. They stay in the archived file.",) if ignored else ()
    return SourcePlan(
        source=source,
        select_sql=f"SELECT {', '.join(parts)}, {ROW_COLUMN} FROM {RAW_TABLE}",
        mapped={c: mapping[c] if constant_of(mapping[c]) is None else f"constant {constant_of(mapping[c])!r}"
                for c in spec.column_names
                if mapping.get(c) and (constant_of(mapping[c]) is not None or header.find(mapping[c]))},
        ignored_columns=ignored, notes=notes, row_preserving=True,
        read_columns=tuple(c for c in header.columns if c in used),
    )


# Stored types whose values a fold reads as they are: the same DOUBLE (or text) as their text read back, since
# DuckDB writes a DOUBLE as its shortest round-trip text; a FLOAT or DECIMAL cast to DOUBLE can differ in the
# last bit from its text parsed, so those are read as text.
INTEGER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")
EXACT_AS_DOUBLE = ("DOUBLE", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")


def _with_typed_csv(kind: str, header: Header, mapping: dict[str, Any], decimal_comma: bool, source: str,
                    column_types: dict[str, str] | None, lazy_csv: bool) -> SourcePlan:
    """:func:`_line_items`, with its typed variant for a lazily opened CSV (``SourcePlan.typed_csv``): the line
    numbers (quantity, price, order total) read as DOUBLE by the CSV reader, every other column as text."""
    text_plan = _line_items(kind, header, mapping, decimal_comma, source, column_types)
    if not lazy_csv or decimal_comma or column_types:
        return text_plan
    types = {header.find(mapping[f]): "DOUBLE" for f in ("line_quantity", "line_price", "order_total")
             if isinstance(mapping.get(f), str) and header.find(mapping[f])}
    typed = _line_items(kind, header, mapping, decimal_comma, source,
                        {**{c: "VARCHAR" for c in header.columns}, **types}, text_times=True)
    if typed.typed_fold is None:
        return text_plan
    ids = tuple((c, header.find(mapping[c])) for c in float_written_ids.id_columns(kind, ("order_id", "customer_id"))
                if isinstance(mapping.get(c), str) and header.find(mapping[c]))
    return dataclasses.replace(text_plan, typed_csv=typed, csv_types=tuple(types.items()),
                               csv_time=header.find(mapping["ordered_at"]), csv_ids=ids)


def _line_items(kind: str, header: Header, mapping: dict[str, Any], decimal_comma: bool, source: str,
                column_types: dict[str, str] | None = None, text_times: bool = False) -> SourcePlan:
    """One order per repeated order key of a line-level export (see engagement/intake/line_items.py).

    With ``column_types`` (Parquet) the fold reads typed values and makes text of an order's fields once per
    order, not per line: Online Retail's 541,909 lines made text and parsed again cost most of its fold.
    ``text_times`` (a CSV's typed fold): an order time stored as text is typed in the fold ("text_timestamp").
    """
    if kind != "orders":
        raise FileRejected(f"A line-item mapping (line_quantity, line_price) folds orders; load it as kind 'orders', "
                           f"not '{kind}'.")
    missing = [f for f in ("order_id", "ordered_at", "line_quantity", "line_price")
               if not (mapping.get(f) and constant_of(mapping[f]) is None and header.find(mapping[f]))]
    if missing:
        raise FileRejected(f"The line-item mapping needs the column(s) {', '.join(missing)}; the file has: "
                           f"{', '.join(header.columns[:30])}.")

    types = column_types or {}

    def stored_type(field_name: str) -> str:
        value = mapping.get(field_name)
        return types.get(header.find(value), "VARCHAR") if isinstance(value, str) and header.find(value) else "VARCHAR"

    def column(field_name: str) -> str | None:
        value = mapping.get(field_name)
        if constant_of(value) is not None:
            return sql_literal_value(constant_of(value))
        if not (value and header.find(value)):
            return None
        quoted = quote_identifier(header.find(value))
        return quoted if stored_type(field_name) == "VARCHAR" else f"CAST({quoted} AS VARCHAR)"

    def typed(field_name: str) -> str | None:
        if stored_type(field_name) in EXACT_AS_DOUBLE:
            return f"CAST({quote_identifier(header.find(mapping[field_name]))} AS DOUBLE)"
        sql = column(field_name)
        return money_sql(sql, decimal_comma, "DOUBLE") if sql else None

    def first_of(field_name: str) -> str | None:
        sql = column(field_name)
        if sql is None or sql.startswith("'"):
            return sql
        if stored_type(field_name) == "VARCHAR":
            return first_value(sql)
        # a typed cell is blank only when NULL; its text is made once, for the order's first line. No
        # FILTER (WHERE cell IS NOT NULL): DuckDB's arg_min skips a NULL first argument (arg_min_null keeps it),
        # and the filter cost 2-4 ms of CPU per column on Online Retail's 541,909 lines (its two typed columns
        # below; tests/test_typed_fold.py has orders whose first line has neither)
        stored = quote_identifier(header.find(mapping[field_name]))
        return f"CAST(arg_min({stored}, {ROW_COLUMN}) AS VARCHAR)"

    first = {}
    for name in ("customer_id", "ordered_at", "discount", "currency", "channel"):
        sql = first_of(name)
        if sql is not None:
            first[name] = sql
        elif name in ("customer_id", "ordered_at"):
            first[name] = "NULL::VARCHAR"
    fold = dict(raw_table=TYPED_TABLE if column_types else RAW_TABLE, row_column=ROW_COLUMN, key=column("order_id"),
                quantity=typed("line_quantity"), price=typed("line_price"), total=typed("order_total"),
                status=first_of("status"))
    select = line_items.folded_select(**fold, first=first)
    typed_fold, fold_typing, unreadable = None, (), None
    # Every number of the order read as stored, its time a TIMESTAMP and no discount (money read from text):
    # then the text the fold writes is typed back without a forgiving parse, so the typed values can be
    # written with the fold (folding.stage_typed); any other layout takes the text path.
    # A CSV's time is kept as the text of the order's first line that has one (as the text path folds it) and
    # typed per order: its text is what failing rows quote.
    time_as_text = text_times and stored_type("ordered_at") == "VARCHAR"
    if (column_types and (stored_type("ordered_at") == "TIMESTAMP" or time_as_text) and "discount" not in first
            and all(stored_type(f) in EXACT_AS_DOUBLE for f in ("line_quantity", "line_price"))
            and (not mapping.get("order_total") or stored_type("order_total") in EXACT_AS_DOUBLE)):
        kept, typing = dict(first), {"order_id": "text", "net_revenue": "money",
                                     "ordered_at": "text_timestamp" if time_as_text else "timestamp"}
        for name in kept:
            typing.setdefault(name, "text")
        if not time_as_text:
            stored = quote_identifier(header.find(mapping["ordered_at"]))
            kept["ordered_at"] = f"arg_min({stored}, {ROW_COLUMN})"
        if stored_type("customer_id") == "DOUBLE":  # the float-id check reads the number (folding.stage_typed)
            customer = quote_identifier(header.find(mapping["customer_id"]))
            kept["customer_id"] = f"arg_min({customer}, {ROW_COLUMN})"
            typing["customer_id"] = "double_id"
        elif stored_type("customer_id") in INTEGER_TYPES:  # an integer's text: no blank, no space, no float
            typing["customer_id"] = "same"
        typing["status"] = "text" if mapping.get("status") else "same"  # else paid, refunded, ... as written
        typed_fold = line_items.folded_select(**fold, first=kept, typed=True)
        fold_typing = tuple((name, typing[name]) for name in line_items.folded_columns(first))
        unreadable = line_items.unreadable_lines_select(
            fold["raw_table"], ROW_COLUMN, fold["key"], fold["quantity"], fold["price"], total=fold["total"])
    used = {header.find(v) for v in mapping.values() if isinstance(v, str) and header.find(v)}
    ignored = tuple(c for c in header.columns if c not in used)
    return SourcePlan(
        source=source, select_sql=select,
        mapped={f: v if constant_of(v) is None else f"constant {constant_of(v)!r}" for f, v in mapping.items() if v},
        ignored_columns=ignored, read_columns=tuple(c for c in header.columns if c in used), counts_lines=True,
        typed_fold=typed_fold, fold_typing=fold_typing, unreadable_lines=unreadable,
        notes=("Line-item export: lines are folded into one order per order key (row numbers point at the order's "
               "first line); net revenue = the order total if mapped, else the sum of quantity x price. "
               "Cancellations (keys C + digits, or all lines negative) refund the order they name, or are kept as "
               "refunded rows of their own: never new purchases.",),
    )


