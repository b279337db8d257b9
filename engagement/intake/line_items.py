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


def folded_select(raw_table: str, row_column: str, key: str, quantity: str, price: str, *,
                  total: str | None, first: dict[str, str], status: str | None) -> str:
    """SELECT of one canonical orders row per order key from line rows.

    ``key``: SQL of the order key; ``quantity``/``price``/``total``: SQL of typed DOUBLE values;
    ``first``: {canonical column: SQL aggregate of its first non-blank value} (customer_id, ordered_at,
    discount, currency, channel); ``status``: SQL aggregate of the source's status, or None ('paid').
    ``line_count`` counts the lines each order folds, its cancellations' lines included (every line once).
    """
    # Each line's numbers are typed once, in a subquery, and the aggregates read the typed values: written
    # into every aggregate, the forgiving parse ran up to seven times per line (Online Retail's 541,909 lines).
    # The text quoting an unreadable line is built for such lines only (a CASE inside the aggregate).
    typed = {"line_quantity__typed": quantity, "line_price__typed": price}
    if total:
        typed["order_total__typed"] = total
    lines = f"(SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in typed.items())} FROM {raw_table}) AS lines"
    quantity, price = "line_quantity__typed", "line_price__typed"
    total = "order_total__typed" if total else None
    line_ok = f"({quantity} IS NOT NULL AND {price} IS NOT NULL)"
    fields = ",\n        ".join(f"{sql} AS {name}" for name, sql in first.items())
    total_sql = f"arg_min({total}, {row_column}) FILTER (WHERE {total} IS NOT NULL)" if total else "NULL::DOUBLE"
    passthrough = ", ".join(name for name in first if name not in ("customer_id", "ordered_at"))
    passthrough = f", {passthrough}" if passthrough else ""
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
        -- the first unreadable line's text (never NULL for such a line), NULL when every line was read: it
        -- also says whether the lines were read (a bool_and of its own cost 0.002 s on Online Retail)
        arg_min(CASE WHEN NOT {line_ok} THEN coalesce(CAST({quantity} AS VARCHAR), '?') || ' x '
                     || coalesce(CAST({price} AS VARCHAR), '?') END,
                {row_column}) FILTER (WHERE NOT {line_ok}) AS unreadable_line,
        coalesce({total_sql}, sum({quantity} * {price})) AS amount,
        {status or "NULL::VARCHAR"} AS source_status,
        min({row_column}) AS {row_column},
        count(*) AS line_count
    FROM {lines}
    GROUP BY {key}
),

refunds AS (
    SELECT cancels, sum(abs(amount)) AS refunded, sum(line_count) AS refund_lines
    FROM orders
    WHERE is_cancellation AND cancels IN (SELECT order_key FROM orders WHERE NOT is_cancellation)
    GROUP BY cancels
),

final AS (
    SELECT
        o.order_key AS order_id, o.customer_id, o.ordered_at,
        CASE WHEN o.unreadable_line IS NULL AND r.refunded IS NULL THEN CAST(round(o.amount, 2) AS VARCHAR)
             WHEN o.unreadable_line IS NULL THEN CAST(round(greatest(o.amount - r.refunded, 0), 2) AS VARCHAR)
             ELSE 'unreadable line item: ' || o.unreadable_line END AS net_revenue{passthrough},
        CASE WHEN r.refunded IS NULL THEN coalesce(lower(o.source_status), 'paid')
             WHEN r.refunded >= o.amount THEN 'refunded' ELSE 'partially_refunded' END AS status,
        o.{row_column}, o.line_count + coalesce(r.refund_lines, 0) AS line_count
    FROM orders AS o
    LEFT JOIN refunds AS r ON r.cancels = o.order_key
    WHERE NOT o.is_cancellation
    UNION ALL
    SELECT
        c.order_key, c.customer_id, c.ordered_at,
        CASE WHEN c.unreadable_line IS NULL THEN CAST(round(abs(c.amount), 2) AS VARCHAR)
             ELSE 'unreadable line item: ' || c.unreadable_line END{passthrough},
        'refunded', c.{row_column}, c.line_count
    FROM orders AS c
    -- IS NULL: a cancellation without a key is kept (and refused by the not-null check), never dropped
    WHERE c.is_cancellation AND (c.cancels IS NULL OR c.cancels NOT IN (SELECT cancels FROM refunds))
)

SELECT * FROM final
"""
