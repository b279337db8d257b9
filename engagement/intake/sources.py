"""Where an export came from, and how its columns become our canonical columns.

A source turns the text table ``raw_input`` (see :mod:`engagement.intake.readers`) into a SELECT with the
canonical column names of one kind (still text) plus ``file_row``. Supported sources:

``canonical``
    Our own column names (any letter case).
``shopify``
    Orders export (one row per line item; order-level fields on the first row of each order) folded
    into one row per order; customers export. Customers are identified by lower-cased e-mail, since
    Shopify's orders export carries no customer id.
``klaviyo``
    Profiles export into customers; metric (event) exports into events, and their "Received ..."
    rows into messages.
``mapping``
    Any other file, through a column mapping {canonical field: their header}, which can be saved in
    the database (table ``column_mappings``) and is reused when a file with the same header arrives.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb

from engagement.intake import line_items
from engagement.warehouse.access import CLI_ACTOR, Actor
from engagement.intake.parsing import money_sql
from engagement.intake.readers import RAW_TABLE, ROW_COLUMN, TYPED_TABLE, FileRejected
from engagement.warehouse import audit
from engagement.warehouse.schema import TABLES

SOURCES = ("auto", "canonical", "shopify", "klaviyo", "line_items")

MAPPINGS_DDL = (
    "CREATE TABLE IF NOT EXISTS column_mappings (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, "
    "header_signature VARCHAR NOT NULL, mapping JSON NOT NULL, saved_at TIMESTAMP NOT NULL)"
)

# Klaviyo metric names -> our event types / message channels.
KLAVIYO_EVENT_TYPES = {
    "clicked email": "email_click", "opened email": "email_open", "clicked sms": "sms_click",
    "received sms": "sms_delivered", "viewed product": "product_view", "added to cart": "add_to_cart",
    "active on site": "site_visit", "submitted review": "review",
}
KLAVIYO_SENDS = {"received email": "email", "received sms": "sms", "received push": "push"}
KLAVIYO_EVENT_CHANNELS = {"email_click": "email", "email_open": "email", "sms_click": "sms", "sms_delivered": "sms"}


@dataclass(frozen=True)
class SourcePlan:
    """The SELECT that maps ``raw_input`` to canonical text columns, and what it did to the file."""

    source: str
    select_sql: str
    mapped: dict = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # One output row per file row, in file order (no GROUP BY, no WHERE): the rows can then be
    # typed straight from the file and numbered by position (see ``staging.stage``).
    row_preserving: bool = False
    # The file columns the SELECT reads (None: it may read any). Only these are copied when the file's text
    # is read into a table (``readers.read_text``): the failing rows and the quarantine quote the mapped
    # columns, never the others. Online Retail's fold reads 5 of its 8 columns (Description is most of its text).
    read_columns: tuple[str, ...] | None = None
    # The SELECT has a ``line_count`` column (a fold: how many file rows each output row folds, every row once),
    # dropped once summed: the file's rows are then counted without a text table (``folding.write_folded``).
    counts_lines: bool = False
    # A line-item fold of typed (Parquet) columns that ``folding.stage_typed`` types in the same statement (see
    # there): the fold (``line_items.folded_select(typed=True)``), its canonical columns in order with how each
    # is typed ("text": as staging types text, "same": its text is its value, "double_id": an id stored as
    # DOUBLE, "timestamp", "text_timestamp": text typed as staging's plain cast types it, "money"), and the SELECT
    # quoting unreadable lines (``line_items.unreadable_lines_select``).
    typed_fold: str | None = None
    fold_typing: tuple[tuple[str, str], ...] = ()
    unreadable_lines: str | None = None
    # A line-item fold of a lazily opened CSV: the same fold reading the line numbers as DOUBLE
    # (``csv_types``, for ``readers.typed_reader``), typed in one statement (``folding.stage_typed_csv``), which
    # is tried first; this plan, the text path, is taken when the CSV reader or the plain casts cannot read a value.
    typed_csv: SourcePlan | None = None
    csv_types: tuple[tuple[str, str], ...] = ()
    csv_time: str | None = None  # the CSV's column of the order time (text, typed per order)
    csv_ids: tuple[tuple[str, str], ...] = ()  # (id column, the CSV's column) of the text ids it folds


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Header:
    """Case- and space-insensitive lookup of a file's columns."""

    def __init__(self, columns: tuple[str, ...]):
        self.columns = columns
        self._by_key = {self.key(c): c for c in columns}

    @staticmethod
    def key(name: str) -> str:
        return " ".join(name.strip().lower().replace("_", " ").split())

    def find(self, *aliases: str) -> str | None:
        for alias in aliases:
            hit = self._by_key.get(self.key(alias))
            if hit is not None:
                return hit
        return None

    def has(self, *names: str) -> bool:
        return all(self.find(n) for n in names)

    def col(self, *aliases: str) -> str:
        """SQL for the first alias present, else NULL text."""
        hit = self.find(*aliases)
        return _quote(hit) if hit else "CAST(NULL AS VARCHAR)"


def header_signature(columns: tuple[str, ...] | list[str]) -> str:
    """Order-insensitive fingerprint of a header, used to reuse a saved mapping."""
    return "|".join(sorted(_Header.key(c) for c in columns))


def detect_source(columns: tuple[str, ...]) -> str:
    """``shopify``, ``klaviyo`` or ``canonical`` from the header (``canonical`` when nothing else fits)."""
    header = _Header(columns)
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
    header = _Header(columns)
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
    header = _Header(columns)
    required = tuple(required if required is not None else TABLES[kind].required_columns)
    preset = line_items.preset_for(header.has) if source in ("auto", "line_items") else None
    if mapping and preset and not any(mapping.get(f) for f in line_items.LINE_FIELDS):
        mapping = {**line_items.PRESETS[preset], **mapping}  # a known line-item layout, completed by the mapping
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
            return _shopify_orders(header, decimal_comma)
        if kind != "customers":
            raise FileRejected(f"This is a Shopify customers export; load it as kind 'customers', not '{kind}'.")
        return _shopify_customers(header)
    if source == "klaviyo":
        if header.find("Metric Name", "Event Name", "Metric", "Event"):
            if kind not in ("events", "messages"):
                raise FileRejected(
                    f"This is a Klaviyo metric export; load it as kind 'events' or 'messages', not '{kind}'."
                )
            return _klaviyo_events(header, kind)
        if kind != "customers":
            raise FileRejected(f"This is a Klaviyo profiles export; load it as kind 'customers', not '{kind}'.")
        return _klaviyo_profiles(header)
    return _mapped(kind, header, {c: c for c in TABLES[kind].column_names}, "canonical", required)


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


def _require(kind: str, header: _Header, mapping: dict[str, Any], source: str, required: tuple[str, ...]) -> None:
    missing = [c for c in required if constant_of(mapping.get(c)) is None
               and not (mapping.get(c) and header.find(mapping[c]))]
    if missing:
        raise FileRejected(
            f"Missing required column{'s' if len(missing) > 1 else ''} for {kind}: {', '.join(missing)}. "
            f"The file has: {', '.join(header.columns[:30])}. Rename the column(s) in the file, or map them on "
            f"the Data page (column mapping){'' if source != 'canonical' else ' or pass --source shopify/klaviyo'}."
        )


def _mapped(kind: str, header: _Header, mapping: dict[str, str], source: str,
            required: tuple[str, ...]) -> SourcePlan:
    spec = TABLES[kind]
    _require(kind, header, mapping, source, required)
    parts, used = [], set()
    for column in spec.column_names:
        constant = constant_of(mapping.get(column))
        if constant is not None:
            parts.append(f"{_lit(constant)} AS {_quote(column)}")
            continue
        theirs = header.find(mapping[column]) if mapping.get(column) else None
        if theirs:
            used.add(theirs)
            parts.append(f"{_quote(theirs)} AS {_quote(column)}")
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


def _with_typed_csv(kind: str, header: _Header, mapping: dict[str, Any], decimal_comma: bool, source: str,
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
    ids = tuple((c, header.find(mapping[c])) for c in id_columns(kind, ("order_id", "customer_id"))
                if isinstance(mapping.get(c), str) and header.find(mapping[c]))
    return dataclasses.replace(text_plan, typed_csv=typed, csv_types=tuple(types.items()),
                               csv_time=header.find(mapping["ordered_at"]), csv_ids=ids)


def _line_items(kind: str, header: _Header, mapping: dict[str, Any], decimal_comma: bool, source: str,
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
            return _lit(constant_of(value))
        if not (value and header.find(value)):
            return None
        quoted = _quote(header.find(value))
        return quoted if stored_type(field_name) == "VARCHAR" else f"CAST({quoted} AS VARCHAR)"

    def typed(field_name: str) -> str | None:
        if stored_type(field_name) in EXACT_AS_DOUBLE:
            return f"CAST({_quote(header.find(mapping[field_name]))} AS DOUBLE)"
        sql = column(field_name)
        return money_sql(sql, decimal_comma, "DOUBLE") if sql else None

    def first_of(field_name: str) -> str | None:
        sql = column(field_name)
        if sql is None or sql.startswith("'"):
            return sql
        if stored_type(field_name) == "VARCHAR":
            return _first(sql)
        # a typed cell is blank only when NULL; its text is made once, for the order's first line. No
        # FILTER (WHERE cell IS NOT NULL): DuckDB's arg_min skips a NULL first argument (arg_min_null keeps it),
        # and the filter cost 2-4 ms of CPU per column on Online Retail's 541,909 lines (its two typed columns
        # below; tests/test_typed_fold.py has orders whose first line has neither)
        stored = _quote(header.find(mapping[field_name]))
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
            stored = _quote(header.find(mapping["ordered_at"]))
            kept["ordered_at"] = f"arg_min({stored}, {ROW_COLUMN})"
        if stored_type("customer_id") == "DOUBLE":  # the float-id check reads the number (folding.stage_typed)
            customer = _quote(header.find(mapping["customer_id"]))
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


def _first(column_sql: str) -> str:
    """First non-blank value of an order-level field over the order's line-item rows.

    Non-blank as ``nullif(trim(x), '') IS NOT NULL``, with trim (which also strips Unicode spaces) only for
    cells that do not start with a printable ASCII character: trimming every line's date cost 0.05 s of
    Online Retail's fold, the first-character test 0.007 s.
    """
    present = (f"CASE WHEN ascii({column_sql}) BETWEEN 33 AND 126 THEN true "
               f"ELSE nullif(trim({column_sql}), '') IS NOT NULL END")
    return f"arg_min({column_sql}, {ROW_COLUMN}) FILTER (WHERE {present})"


def _shopify_orders(header: _Header, decimal_comma: bool) -> SourcePlan:
    for needed in ("Name", "Email", "Created at", "Financial Status", "Lineitem quantity", "Lineitem price"):
        if not header.find(needed):
            raise FileRejected(
                f"The Shopify orders export has no '{needed}' column. Export again with 'All fields' selected."
            )
    quantity = money_sql(header.col("Lineitem quantity"), decimal_comma, "DOUBLE")
    price = money_sql(header.col("Lineitem price"), decimal_comma, "DOUBLE")
    discount = money_sql(_first(header.col("Discount Amount")), decimal_comma, "DOUBLE")
    refunded = money_sql(_first(header.col("Refunded Amount")), decimal_comma, "DOUBLE")
    line_ok = f"({quantity} IS NOT NULL AND {price} IS NOT NULL)"
    financial = f"lower({_first(header.col('Financial Status'))})"
    fulfillment = f"lower({_first(header.col('Fulfillment Status'))})"
    select = f"""
SELECT
    {header.col('Name')} AS order_id,
    lower(trim({_first(header.col('Email'))})) AS customer_id,
    {_first(header.col('Created at'))} AS ordered_at,
    CASE WHEN bool_and({line_ok})
         THEN CAST(round(greatest(sum({quantity} * {price}) - coalesce({discount}, 0) - coalesce({refunded}, 0), 0), 2)
              AS VARCHAR)
         ELSE 'unreadable line item: ' || arg_min(coalesce({header.col('Lineitem quantity')}, '') || ' x ' ||
              coalesce({header.col('Lineitem price')}, ''), {ROW_COLUMN}) FILTER (WHERE NOT {line_ok}) END AS net_revenue,
    CAST({discount} AS VARCHAR) AS discount,
    {_first(header.col('Currency'))} AS currency,
    CASE lower({_first(header.col('Source'))}) WHEN 'web' THEN 'web' WHEN 'pos' THEN 'pos'
         WHEN 'iphone' THEN 'mobile_app' WHEN 'android' THEN 'mobile_app'
         ELSE lower({_first(header.col('Source'))}) END AS channel,
    CASE WHEN {_first(header.col('Cancelled at'))} IS NOT NULL THEN 'cancelled'
         WHEN {financial} = 'voided' THEN 'cancelled'
         WHEN {financial} IN ('pending', 'authorized', 'partially_paid', 'unpaid') THEN 'pending'
         WHEN {financial} = 'paid' AND {fulfillment} = 'fulfilled' THEN 'fulfilled'
         ELSE {financial} END AS status,
    min({ROW_COLUMN}) AS {ROW_COLUMN},
    count(*) AS line_count
FROM {RAW_TABLE}
GROUP BY {header.col('Name')}
"""
    used = {header.find(c) for c in ("Name", "Email", "Created at", "Financial Status", "Fulfillment Status",
                                     "Lineitem quantity", "Lineitem price", "Discount Amount", "Refunded Amount",
                                     "Currency", "Source", "Cancelled at")}
    return SourcePlan(
        source="shopify", select_sql=select, counts_lines=True,
        ignored_columns=tuple(c for c in header.columns if c not in used),
        notes=("Shopify orders export: line-item rows are folded into one row per order (row numbers point at "
               "the order's first line); net revenue = sum(quantity x price) - discount - refunded amount, "
               "floored at 0; customers are identified by lower-cased e-mail.",),
    )


def _shopify_customers(header: _Header) -> SourcePlan:
    if not header.find("Email"):
        raise FileRejected("The Shopify customers export has no 'Email' column; export again with all fields.")
    select = f"""
SELECT
    lower(trim({header.col('Email')})) AS customer_id,
    lower(trim({header.col('Email')})) AS email,
    {header.col('Created At', 'Created at', 'Customer Created At')} AS created_at,
    {header.col('Default Address Country Code', 'Country Code', 'Country')} AS country,
    {header.col('Accepts Email Marketing', 'Accepts Marketing')} AS accepts_marketing,
    {ROW_COLUMN}
FROM {RAW_TABLE}
"""
    notes = ("Shopify customers export: customer_id is the lower-cased e-mail (as in the orders export).",)
    if not header.find("Created At", "Created at", "Customer Created At"):
        notes += ("This export has no 'Created At' column, so created_at is empty and every row fails the "
                  "required check; add the column or map it.",)
    return SourcePlan(source="shopify", select_sql=select, notes=notes, row_preserving=True)


def _klaviyo_profiles(header: _Header) -> SourcePlan:
    select = f"""
SELECT
    lower(trim({header.col('Email')})) AS customer_id,
    lower(trim({header.col('Email')})) AS email,
    {header.col('Created', 'Profile Created On', 'Created At', 'Date Added')} AS created_at,
    {header.col('Country')} AS country,
    {header.col('Email Marketing Consent', 'Accepts Marketing')} AS accepts_marketing,
    {ROW_COLUMN}
FROM {RAW_TABLE}
"""
    return SourcePlan(source="klaviyo", select_sql=select,
                      notes=("Klaviyo profiles: customer_id is the lower-cased e-mail.",), row_preserving=True)


def _klaviyo_events(header: _Header, kind: str) -> SourcePlan:
    metric = f"lower(trim({header.col('Metric Name', 'Event Name', 'Metric', 'Event')}))"
    email = f"lower(trim({header.col('Email', 'Profile Email')}))"
    when = header.col("Timestamp", "Datetime", "Event Date", "Time")
    campaign = f"coalesce(nullif(trim({header.col('Campaign Name', 'Campaign')}), ''), " \
               f"nullif(trim({header.col('Flow Name', 'Flow')}), ''), nullif(trim({header.col('Message Name')}), ''))"
    sends = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in KLAVIYO_SENDS.items()) + "}"
    if kind == "messages":
        select = f"""
SELECT {campaign} AS campaign_id, {email} AS customer_id, map_extract_value(MAP {sends}, {metric}) AS channel,
       {when} AS sent_at, {ROW_COLUMN}
FROM {RAW_TABLE} WHERE map_contains(MAP {sends}, {metric})
"""
        note = "Klaviyo metric export as messages: only 'Received Email/SMS/Push' rows are sends; other rows skipped."
    else:
        types = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in KLAVIYO_EVENT_TYPES.items()) + "}"
        channels = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in KLAVIYO_EVENT_CHANNELS.items()) + "}"
        event_type = f"coalesce(map_extract_value(MAP {types}, {metric}), {metric})"
        # Without an id column, staging derives one from the row's content (reloads stay idempotent).
        event_id = f"{header.col('Event ID', 'Id')} AS event_id, " if header.find("Event ID", "Id") else ""
        select = f"""
SELECT {event_id}{email} AS customer_id, {when} AS occurred_at,
       {event_type} AS event_type, map_extract_value(MAP {channels}, {event_type}) AS channel,
       {campaign} AS campaign_id, {ROW_COLUMN}
FROM {RAW_TABLE} WHERE NOT map_contains(MAP {sends}, {metric}) OR {metric} = 'received sms'
"""
        note = ("Klaviyo metric export as events: 'Received Email/Push' rows are sends (load the file as messages "
                "too); unknown metrics are kept under their own name and fail the allowed-values check.")
    return SourcePlan(source="klaviyo", select_sql=select, notes=(note,))


# ------------------------------------------------------------ saved mappings
def save_mapping(cur: duckdb.DuckDBPyConnection, name: str, kind: str, columns: tuple[str, ...],
                 mapping: dict[str, str], actor: Actor = CLI_ACTOR) -> None:
    """Store (or replace) a named column mapping for files with this header, recorded in the audit trail.

    ``actor`` is who saves it, already checked (``store.authorize(user, ...)``): the Data page passes the
    signed-in analyst.
    """
    cur.execute(MAPPINGS_DDL).fetchall()
    cur.execute(
        "INSERT OR REPLACE INTO column_mappings VALUES ($name, $kind, $signature, $mapping, $at)",
        {"name": name, "kind": kind, "signature": header_signature(columns), "mapping": json.dumps(mapping),
         "at": datetime.now(timezone.utc).replace(tzinfo=None)},
    ).fetchall()
    audit.record(cur, actor, "save column mapping", target=name, detail=f"{kind}: {json.dumps(mapping)}")


def saved_mappings(cur: duckdb.DuckDBPyConnection, kind: str | None = None) -> list[dict]:
    """Saved mappings (newest first), optionally for one kind."""
    try:  # the relation API looks the name up as the query below would (0.2 ms of CPU against 0.8 for a
        # duckdb_tables() query, on every load); a missing table raises without ending the caller's transaction
        cur.table("column_mappings")
    except duckdb.CatalogException:
        return []
    rows = cur.execute(
        "SELECT name, kind, header_signature, mapping, saved_at FROM column_mappings "
        "WHERE $kind IS NULL OR kind = $kind ORDER BY saved_at DESC", {"kind": kind},
    ).fetchall()
    return [{"name": r[0], "kind": r[1], "header_signature": r[2], "mapping": json.loads(r[3]), "saved_at": r[4]}
            for r in rows]


def mapping_for_header(cur: duckdb.DuckDBPyConnection, kind: str, columns: tuple[str, ...]) -> dict | None:
    """The newest saved mapping of ``kind`` whose header matches these columns, if any."""
    signature = header_signature(columns)
    for saved in saved_mappings(cur, kind):
        if saved["header_signature"] == signature:
            return saved
    return None


# ------------------------------------------------------------ float-written ids
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
    value = _quote(column) if trimmed else f"nullif(trim({_quote(column)}), '')"
    return f"(count({value}) > 0 AND count({value}) = count({value}) FILTER (WHERE {float_id_sql(value)}))"


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
        f"SELECT {', '.join(all_floats_sql(c) for c in ids)} FROM (SELECT {', '.join(map(_quote, ids))} "
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
    replaced = ", ".join(f"{integer_text_sql(_quote(c))} AS {_quote(c)}" for c in fixed)
    return dataclasses.replace(plan, select_sql=f"SELECT * REPLACE ({replaced}) FROM ({plan.select_sql})",
                               notes=plan.notes + (float_ids_note(fixed),))
