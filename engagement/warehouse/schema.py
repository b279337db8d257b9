"""The canonical data model: eight export kinds, their columns, types and natural keys.

This module is the single source of truth for the tables that exports load into. The DDL the
store runs, the columns ingest requires and the schema table in the README all come from here.

Every canonical table also carries ``load_id`` (the load that last wrote the row), so that a load
can be traced and undone.

Example
-------
>>> from engagement.warehouse.schema import TABLES
>>> TABLES["orders"].key
('order_id',)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool
    description: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def create_sql(self, table_name: str | None = None) -> str:
        """DDL for this table (identifiers come from this module, never from user input)."""
        cols = [f'    "{c.name}" {c.sql_type}' for c in self.columns]
        cols.append('    "load_id" BIGINT')
        return f'CREATE TABLE IF NOT EXISTS "{table_name or self.name}" (\n' + ",\n".join(cols) + "\n)"


MONEY = "DECIMAL(18,2)"

ORDER_STATUSES = ("paid", "fulfilled", "partially_refunded", "refunded", "cancelled", "pending")
# Orders with these statuses did not result in a purchase and are left out of every metric.
NON_PURCHASE_STATUSES = ("refunded", "cancelled")

ENGAGEMENT_EVENT_TYPES = (
    "site_visit", "product_view", "add_to_cart", "email_click", "sms_click",
    "review", "referral", "community_post", "support_ticket",
)
# Activity is recorded but never counted as engagement: an open or a follow costs the customer nothing.
ACTIVITY_EVENT_TYPES = ("email_open", "sms_delivered", "social_follow")
EVENT_TYPES = ENGAGEMENT_EVENT_TYPES + ACTIVITY_EVENT_TYPES

MESSAGE_CHANNELS = ("email", "sms", "push")
SURVEY_KINDS = ("nps", "csat")


TABLES: dict[str, TableSpec] = {
    "customers": TableSpec(
        name="customers",
        grain="one row per customer",
        key=("customer_id",),
        columns=(
            Column("customer_id", "VARCHAR", True, "Stable customer identifier from the store platform."),
            Column("email", "VARCHAR", False, "E-mail address, used to join ESP exports; optional."),
            Column("created_at", "TIMESTAMP", True, "When the customer record was created (sign-up or first order)."),
            Column("acquisition_channel", "VARCHAR", False, "Channel that acquired the customer (paid_social, organic_search, ...)."),
            Column("country", "VARCHAR", False, "ISO country code."),
            Column("is_loyalty_member", "BOOLEAN", False, "Enrolled in the loyalty programme."),
            Column("loyalty_tier", "VARCHAR", False, "Loyalty tier (bronze, silver, gold), empty for non-members."),
            Column("accepts_marketing", "BOOLEAN", False, "Consented to marketing messages."),
        ),
    ),
    "orders": TableSpec(
        name="orders",
        grain="one row per order",
        key=("order_id",),
        columns=(
            Column("order_id", "VARCHAR", True, "Order identifier (Shopify `Name`, e.g. #1001)."),
            Column("customer_id", "VARCHAR", True, "Customer who placed the order."),
            Column("ordered_at", "TIMESTAMP", True, "When the order was placed (UTC)."),
            Column("net_revenue", MONEY, True, "Revenue after discounts and refunds, before tax and shipping."),
            Column("discount", MONEY, False, "Discount amount applied to the order."),
            Column("currency", "VARCHAR", False, "ISO currency code."),
            Column("channel", "VARCHAR", False, "Sales channel (web, mobile_app, pos, marketplace)."),
            Column("status", "VARCHAR", True, "paid, fulfilled, partially_refunded, refunded, cancelled or pending."),
        ),
    ),
    "events": TableSpec(
        name="events",
        grain="one row per customer event",
        key=("event_id",),
        columns=(
            Column("event_id", "VARCHAR", False, "Event identifier; derived from the other columns when the export has none."),
            Column("customer_id", "VARCHAR", True, "Customer who did it."),
            Column("occurred_at", "TIMESTAMP", True, "When it happened (UTC)."),
            Column("event_type", "VARCHAR", True, "site_visit, product_view, add_to_cart, email_click, sms_click, review, referral, community_post, support_ticket; activity: email_open, sms_delivered, social_follow."),
            Column("channel", "VARCHAR", False, "Where it happened (web, email, sms, app, community)."),
            Column("campaign_id", "VARCHAR", False, "Campaign or flow that caused it, if any."),
        ),
    ),
    "messages": TableSpec(
        name="messages",
        grain="one row per campaign send to one customer on one channel",
        key=("campaign_id", "customer_id", "channel"),
        columns=(
            Column("campaign_id", "VARCHAR", True, "Campaign or flow identifier."),
            Column("customer_id", "VARCHAR", True, "Recipient."),
            Column("channel", "VARCHAR", True, "email, sms or push."),
            Column("sent_at", "TIMESTAMP", True, "When it was sent (UTC)."),
        ),
    ),
    "surveys": TableSpec(
        name="surveys",
        grain="one row per survey answer",
        key=("response_id",),
        columns=(
            Column("response_id", "VARCHAR", True, "Survey response identifier."),
            Column("customer_id", "VARCHAR", True, "Respondent."),
            Column("responded_at", "TIMESTAMP", True, "When the answer was given (UTC)."),
            Column("kind", "VARCHAR", True, "nps (score 0-10) or csat (score 1-5)."),
            Column("score", "INTEGER", True, "The answer on the kind's scale."),
            Column("touchpoint", "VARCHAR", False, "Where it was asked (post_purchase, support, delivery, ...)."),
            Column("comment", "VARCHAR", False, "Free-text comment, if any."),
        ),
    ),
    "experiment_assignments": TableSpec(
        name="experiment_assignments",
        grain="one row per customer per experiment",
        key=("experiment_id", "customer_id"),
        columns=(
            Column("experiment_id", "VARCHAR", True, "Experiment identifier."),
            Column("customer_id", "VARCHAR", True, "Assigned customer."),
            Column("variant", "VARCHAR", True, "Arm the customer was assigned to (control, treatment, ...)."),
            Column("assigned_at", "TIMESTAMP", True, "When the customer was assigned (UTC)."),
        ),
    ),
    "experiments": TableSpec(
        name="experiments",
        grain="one row per experiment (its metadata; the assignments are experiment_assignments)",
        key=("experiment_id",),
        columns=(
            Column("experiment_id", "VARCHAR", True, "Experiment identifier, as in experiment_assignments."),
            Column("name", "VARCHAR", True, "A readable name."),
            Column("hypothesis", "VARCHAR", False, "What the treatment should change, and why."),
            Column("programme", "VARCHAR", False, "Programme in program_costs that pays for it (ROI charges it)."),
            Column("primary_metric", "VARCHAR", False, "conversion, revenue_per_customer or orders_per_customer."),
            Column("guardrail_metrics", "VARCHAR", False, "Metrics that must not get worse, comma-separated."),
            Column("intended_split", "VARCHAR", False, "Planned shares per arm, e.g. control=50,treatment=50."),
            Column("planned_units", "BIGINT", False, "Units per arm the test was sized for."),
            Column("start_date", "DATE", False, "First day of assignment."),
            Column("end_date", "DATE", False, "Last day of assignment."),
        ),
    ),
    "program_costs": TableSpec(
        name="program_costs",
        grain="one row per programme per channel per period",
        key=("period", "program", "channel"),
        columns=(
            Column("period", "DATE", True, "First day of the month the cost belongs to."),
            Column("program", "VARCHAR", True, "Engagement programme (email, sms, loyalty, community, ...)."),
            Column("channel", "VARCHAR", True, "Channel the cost was spent on."),
            Column("cost", MONEY, True, "Cost in the reporting currency."),
        ),
    ),
}

KINDS: tuple[str, ...] = tuple(TABLES)
