-- Grain: one row: the span of activity dates (orders, events, surveys: a database of surveys alone has a
-- window too) and the choices the shared filters offer. The columns keep their names: the span of the data.
-- Orders count as activity when they are purchases (order_facts: cancelled orders are not).
with activity as (
    select min(ordered_at) as first_at, max(ordered_at) as last_at from order_facts
    union all select min(occurred_at), max(occurred_at) from events
    union all select min(responded_at), max(responded_at) from surveys
)

select
    (select min(first_at)::date from activity) as first_order_date,
    (select max(last_at)::date from activity) as last_order_date,
    (select list(distinct acquisition_channel order by acquisition_channel) from customer_summary) as channels,
    (select list(distinct lifecycle_stage order by lifecycle_stage) from customer_summary) as segments
