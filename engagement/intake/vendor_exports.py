"""Shopify and Klaviyo exports as our canonical columns: Shopify's orders export (one row per line item,
order-level fields on the first row of each order) folded into one row per order and its customers export;
Klaviyo's profiles export and its metric (event) exports, whose "Received ..." rows are message sends. Both
identify customers by the lower-cased e-mail (Shopify's orders export carries no customer id)."""

from __future__ import annotations

from engagement.intake.parsing import money_sql
from engagement.intake.readers import RAW_TABLE, ROW_COLUMN, FileRejected
from engagement.intake.source_plan import Header, SourcePlan, first_value
from engagement.sql import sql_literal_value

# Klaviyo metric names -> our event types / message channels.
KLAVIYO_EVENT_TYPES = {
    "clicked email": "email_click", "opened email": "email_open", "clicked sms": "sms_click",
    "received sms": "sms_delivered", "viewed product": "product_view", "added to cart": "add_to_cart",
    "active on site": "site_visit", "submitted review": "review",
}
KLAVIYO_SENDS = {"received email": "email", "received sms": "sms", "received push": "push"}
KLAVIYO_EVENT_CHANNELS = {"email_click": "email", "email_open": "email", "sms_click": "sms", "sms_delivered": "sms"}


def shopify_orders(header: Header, decimal_comma: bool) -> SourcePlan:
    for needed in ("Name", "Email", "Created at", "Financial Status", "Lineitem quantity", "Lineitem price"):
        if not header.find(needed):
            raise FileRejected(
                f"The Shopify orders export has no '{needed}' column. Export again with 'All fields' selected."
            )
    quantity = money_sql(header.col("Lineitem quantity"), decimal_comma, "DOUBLE")
    price = money_sql(header.col("Lineitem price"), decimal_comma, "DOUBLE")
    discount = money_sql(first_value(header.col("Discount Amount")), decimal_comma, "DOUBLE")
    refunded = money_sql(first_value(header.col("Refunded Amount")), decimal_comma, "DOUBLE")
    line_ok = f"({quantity} IS NOT NULL AND {price} IS NOT NULL)"
    financial = f"lower({first_value(header.col('Financial Status'))})"
    fulfillment = f"lower({first_value(header.col('Fulfillment Status'))})"
    select = f"""
SELECT
    {header.col('Name')} AS order_id,
    lower(trim({first_value(header.col('Email'))})) AS customer_id,
    {first_value(header.col('Created at'))} AS ordered_at,
    CASE WHEN bool_and({line_ok})
         THEN CAST(round(greatest(sum({quantity} * {price}) - coalesce({discount}, 0) - coalesce({refunded}, 0), 0), 2)
              AS VARCHAR)
         ELSE 'unreadable line item: ' || arg_min(coalesce({header.col('Lineitem quantity')}, '') || ' x ' ||
              coalesce({header.col('Lineitem price')}, ''), {ROW_COLUMN}) FILTER (WHERE NOT {line_ok}) END AS net_revenue,
    CAST({discount} AS VARCHAR) AS discount,
    {first_value(header.col('Currency'))} AS currency,
    CASE lower({first_value(header.col('Source'))}) WHEN 'web' THEN 'web' WHEN 'pos' THEN 'pos'
         WHEN 'iphone' THEN 'mobile_app' WHEN 'android' THEN 'mobile_app'
         ELSE lower({first_value(header.col('Source'))}) END AS channel,
    CASE WHEN {first_value(header.col('Cancelled at'))} IS NOT NULL THEN 'cancelled'
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


def shopify_customers(header: Header) -> SourcePlan:
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


def klaviyo_profiles(header: Header) -> SourcePlan:
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


def klaviyo_events(header: Header, kind: str) -> SourcePlan:
    metric = f"lower(trim({header.col('Metric Name', 'Event Name', 'Metric', 'Event')}))"
    email = f"lower(trim({header.col('Email', 'Profile Email')}))"
    when = header.col("Timestamp", "Datetime", "Event Date", "Time")
    campaign = f"coalesce(nullif(trim({header.col('Campaign Name', 'Campaign')}), ''), " \
               f"nullif(trim({header.col('Flow Name', 'Flow')}), ''), nullif(trim({header.col('Message Name')}), ''))"
    sends = "{" + ", ".join(f"{sql_literal_value(k)}: {sql_literal_value(v)}" for k, v in KLAVIYO_SENDS.items()) + "}"
    if kind == "messages":
        select = f"""
SELECT {campaign} AS campaign_id, {email} AS customer_id, map_extract_value(MAP {sends}, {metric}) AS channel,
       {when} AS sent_at, {ROW_COLUMN}
FROM {RAW_TABLE} WHERE map_contains(MAP {sends}, {metric})
"""
        note = "Klaviyo metric export as messages: only 'Received Email/SMS/Push' rows are sends; other rows skipped."
    else:
        types = "{" + ", ".join(f"{sql_literal_value(k)}: {sql_literal_value(v)}" for k, v in KLAVIYO_EVENT_TYPES.items()) + "}"
        channels = "{" + ", ".join(f"{sql_literal_value(k)}: {sql_literal_value(v)}" for k, v in KLAVIYO_EVENT_CHANNELS.items()) + "}"
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
