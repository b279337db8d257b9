"""Line-level orders exports folded into one order per key (Online Retail, WooCommerce, Magento, POS).

Such files repeat the order key on every line and carry a quantity and a unit price per line. One order per
key: revenue = the order total where the source has one (mapping field ``order_total``), else the sum of
quantity x price; time, customer and the other order-level fields come from the order's first line that
has them.

Cancellations never become new orders. A cancellation is an order whose key is ``C`` + digits (Online
Retail's cancelled invoices) or whose every line has a negative quantity. When it names an order of the
same file (``C536379`` cancels ``536379``), its amount is refunded from that order (status
``partially_refunded`` or ``refunded``); otherwise it is kept as a refund on its own: a ``refunded`` row
under its own key, which no metric counts as a purchase.

This module only writes SQL text from already quoted column expressions (``engagement.intake.sources`` builds
them from the header), so it knows nothing of headers or mappings.

Column mapping fields besides the orders columns: ``line_quantity``, ``line_price`` (both needed) and
``order_total`` (optional).
"""

from __future__ import annotations

LINE_FIELDS = ("line_quantity", "line_price", "order_total")
CANCELLED_KEY = r"[Cc][0-9]+"

# Known layouts detected from the header alone: {our field: their column}.
PRESETS = {
    "online_retail": {"order_id": "InvoiceNo", "customer_id": "CustomerID", "ordered_at": "InvoiceDate",
                      "line_quantity": "Quantity", "line_price": "UnitPrice"},
}


def preset_for(has_columns) -> str | None:
    """The preset whose columns the header has (``has_columns(*names)`` -> bool)."""
    for name, mapping in PRESETS.items():
        if has_columns(*mapping.values()):
            return name
    return None


def folded_columns(first: dict[str, str]) -> list[str]:
    """The canonical columns of :func:`folded_select`'s rows, in its order (``file_row`` and ``line_count`` follow)."""
    return ["order_id", "customer_id", "ordered_at", "net_revenue",
            *(name for name in first if name not in ("customer_id", "ordered_at")), "status"]


def _typed_lines(raw_table: str, quantity: str, price: str, total: str | None) -> str:
    """The line rows with their numbers typed once (``line_quantity__typed``, ...): written into every aggregate,
    the forgiving parse ran up to seven times per line (Online Retail's 541,909 lines)."""
    typed = {"line_quantity__typed": quantity, "line_price__typed": price}
    if total:
        typed["order_total__typed"] = total
    return f"(SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in typed.items())} FROM {raw_table}) AS lines"


LINE_OK = "(line_quantity__typed IS NOT NULL AND line_price__typed IS NOT NULL)"
LINE_TEXT = "coalesce(CAST(line_quantity__typed AS VARCHAR), '?') || ' x ' || coalesce(CAST(line_price__typed AS VARCHAR), '?')"


def folded_select(raw_table: str, row_column: str, key: str, quantity: str, price: str, *,
                  total: str | None, first: dict[str, str], status: str | None, typed: bool = False) -> str:
    """SELECT of one canonical orders row per order key from line rows.

    ``key``: SQL of the order key; ``quantity``/``price``/``total``: SQL of typed DOUBLE values;
    ``first``: {canonical column: SQL aggregate of its first non-blank value} (customer_id, ordered_at,
    discount, currency, channel); ``status``: SQL aggregate of the source's status, or None ('paid').
    ``line_count`` counts the lines each order folds, its cancellations' lines included (every line once).

    ``typed`` (for ``folding.stage_typed``): net revenue is the DOUBLE the text is written from, NULL-free, and
    ``lines_ok`` says whether every line of the order was read (else its text quotes the first unreadable line:
    :func:`unreadable_lines_select`, only when there is one).
    """
    lines = _typed_lines(raw_table, quantity, price, total)
    quantity, price = "line_quantity__typed", "line_price__typed"
    total = "order_total__typed" if total else None
    fields = ",\n        ".join(f"{sql} AS {name}" for name, sql in first.items())
    # arg_min skips a NULL total (the first line that has one), as sources.first_of relies on: no FILTER needed
    total_sql = f"arg_min({total}, {row_column})" if total else "NULL::DOUBLE"
    passthrough = ", ".join(name for name in first if name not in ("customer_id", "ordered_at"))
    passthrough = f", {passthrough}" if passthrough else ""
    if typed:
        # Counting the read numbers instead of quoting the first unreadable line of every order: Online Retail's
        # fold cost 0.058 s of CPU with the quoting aggregate, 0.049 s with the counts (DuckDB's bare aggregation
        # of the same orders into a table: 0.051 s, same run). The quote is made apart, only when a line needs it.
        read = f"count({quantity}) = count(*) AND count({price}) = count(*) AS lines_ok"
        ok = "{0}.lines_ok"
        order_revenue = ("CASE WHEN r.refunded IS NULL THEN round(o.amount, 2) "
                         "ELSE round(greatest(o.amount - r.refunded, 0), 2) END AS net_revenue")
        refund_revenue = "round(abs(c.amount), 2)"
        order_lines = ", o.lines_ok, o.line_count + coalesce(r.refund_lines, 0) AS line_count"
        refund_lines, counted = ", c.lines_ok, c.line_count", ", sum(line_count) AS refund_lines"
    else:
        # The first unreadable line's text (never NULL for such a line), NULL when every line was read: it also
        # says whether the lines were read. The text is built for such lines only (a CASE inside the aggregate).
        read = (f"arg_min(CASE WHEN NOT {LINE_OK} THEN {LINE_TEXT} END, {row_column}) "
                f"FILTER (WHERE NOT {LINE_OK}) AS unreadable_line")
        ok = "{0}.unreadable_line IS NULL"
        order_revenue = (f"CASE WHEN {ok.format('o')} AND r.refunded IS NULL THEN CAST(round(o.amount, 2) AS VARCHAR)\n"
                         f"             WHEN {ok.format('o')} THEN CAST(round(greatest(o.amount - r.refunded, 0), 2) "
                         "AS VARCHAR)\n             ELSE 'unreadable line item: ' || o.unreadable_line END AS net_revenue")
        refund_revenue = (f"CASE WHEN {ok.format('c')} THEN CAST(round(abs(c.amount), 2) AS VARCHAR)\n"
                          "             ELSE 'unreadable line item: ' || c.unreadable_line END")
        order_lines = ", o.line_count + coalesce(r.refund_lines, 0) AS line_count"
        refund_lines, counted = ", c.line_count", ", sum(line_count) AS refund_lines"
    return f"""
WITH orders AS (
    SELECT
        {key} AS order_key,
        -- coalesce: a line without a key or an order of unreadable quantities is an order (refused by its
        -- checks, kept in quarantine), not NULL, which neither branch of ``final`` would keep
        coalesce(regexp_full_match({key}, '{CANCELLED_KEY}'), false) OR coalesce(bool_and({quantity} < 0), false)
            AS is_cancellation,
        CASE WHEN regexp_full_match({key}, '{CANCELLED_KEY}') THEN substr({key}, 2) ELSE {key} END AS cancels,
        {fields},
        {read},
        coalesce({total_sql}, sum({quantity} * {price})) AS amount,
        {status or "NULL::VARCHAR"} AS source_status,
        min({row_column}) AS {row_column},
        count(*) AS line_count
    FROM {lines}
    GROUP BY {key}
),

refunds AS (
    SELECT cancels, sum(abs(amount)) AS refunded{counted}
    FROM orders
    WHERE is_cancellation AND cancels IN (SELECT order_key FROM orders WHERE NOT is_cancellation)
    GROUP BY cancels
),

final AS (
    SELECT
        o.order_key AS order_id, o.customer_id, o.ordered_at,
        {order_revenue}{passthrough},
        CASE WHEN r.refunded IS NULL THEN coalesce(lower(o.source_status), 'paid')
             WHEN r.refunded >= o.amount THEN 'refunded' ELSE 'partially_refunded' END AS status,
        o.{row_column}{order_lines}
    FROM orders AS o
    LEFT JOIN refunds AS r ON r.cancels = o.order_key
    WHERE NOT o.is_cancellation
    UNION ALL
    SELECT
        c.order_key, c.customer_id, c.ordered_at,
        {refund_revenue}{passthrough},
        'refunded', c.{row_column}{refund_lines}
    FROM orders AS c
    -- IS NULL: a cancellation without a key is kept (and refused by the not-null check), never dropped
    WHERE c.is_cancellation AND (c.cancels IS NULL OR c.cancels NOT IN (SELECT cancels FROM refunds))
)

SELECT * FROM final
"""


def unreadable_lines_select(raw_table: str, row_column: str, key: str, quantity: str, price: str, *,
                            total: str | None) -> str:
    """SELECT of (``file_row`` of the order, text of its first unreadable line) for the orders of
    :func:`folded_select` (``typed``) with such a line: the text the text path quotes in their net revenue."""
    lines = _typed_lines(raw_table, quantity, price, total)
    return f"""
SELECT min({row_column}) AS {row_column},
       arg_min(CASE WHEN NOT {LINE_OK} THEN {LINE_TEXT} END, {row_column}) FILTER (WHERE NOT {LINE_OK}) AS line
FROM {lines}
GROUP BY {key}
HAVING count(*) FILTER (WHERE NOT {LINE_OK}) > 0
"""
