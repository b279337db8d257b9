-- Grain: one row: the span of purchase dates and the choices the shared filters offer.
select
    (select min(ordered_at)::date from order_facts) as first_order_date,
    (select max(ordered_at)::date from order_facts) as last_order_date,
    (select list(distinct acquisition_channel order by acquisition_channel) from customer_summary) as channels,
    (select list(distinct lifecycle_stage order by lifecycle_stage) from customer_summary) as segments
