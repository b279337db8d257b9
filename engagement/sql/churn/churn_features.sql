-- Grain: one row per selected customer with at least one purchase before $cutoff; with $sample_customers
-- set, only that many of them: those with the smallest md5(customer_id) (the same customers on every run and on
-- every engine, DuckDB or Spark, unrelated to their behaviour). NULL keeps every customer.
-- Features use only what was known before $cutoff; the label `is_churned` is "no purchase in
-- [$cutoff, $label_end)" (meaningless, and ignored, when $cutoff is the end of the data).
with eligible_customers as (
    select customer_id, is_loyalty_member, accepts_marketing
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
      and first_order_at < $cutoff::timestamp  -- customer_summary's first purchase: some order_facts row before it
),

-- Two branches, one of them empty, so that no sample costs no sort.
selected_customers as (
    select * from eligible_customers
    where $sample_customers::bigint is null
    union all
    (select * from eligible_customers
     where $sample_customers::bigint is not null
     order by md5(customer_id), customer_id
     limit coalesce($sample_customers::bigint, 0))  -- Spark refuses LIMIT NULL; this branch is empty then
),

history as (
    select
        o.customer_id,
        epoch($cutoff::timestamp - max(o.ordered_at)) / 86400.0 as recency_days,
        epoch($cutoff::timestamp - min(o.ordered_at)) / 86400.0 as tenure_days,
        count(*) as orders,
        sum(o.net_revenue)::double as revenue,
        count(*) filter (where o.ordered_at >= $cutoff::timestamp - interval 90 day) as orders_90d,
        coalesce(sum(o.net_revenue) filter (where o.ordered_at >= $cutoff::timestamp - interval 90 day), 0)::double
            as revenue_90d,
        coalesce(avg((o.discount > 0)::integer), 0)::double as discounted_order_share
    from order_facts as o
    semi join selected_customers using (customer_id)
    where o.ordered_at < $cutoff::timestamp
    group by o.customer_id
),

recent_events as (
    select
        customer_id,
        count(*) filter (where event_type = 'site_visit') as site_visits_90d,
        count(*) filter (where event_type in ('product_view', 'add_to_cart')) as product_interest_90d,
        count(*) filter (where event_type = 'email_click') as email_clicks_90d,
        count(*) filter (where event_type = 'sms_click') as sms_clicks_90d,
        count(*) filter (where event_type = 'email_open') as email_opens_90d,
        count(*) filter (where event_type = 'support_ticket') as support_tickets_90d
    from events
    semi join history using (customer_id)
    where occurred_at >= $cutoff::timestamp - interval 90 day and occurred_at < $cutoff::timestamp
    group by customer_id
),

recent_messages as (
    select customer_id, count(*) as messages_90d
    from messages
    semi join history using (customer_id)
    where sent_at >= $cutoff::timestamp - interval 90 day and sent_at < $cutoff::timestamp
    group by customer_id
),

latest_nps as (
    select customer_id, arg_max(score, responded_at) as latest_nps_score
    from surveys
    semi join history using (customer_id)
    where kind = 'nps' and responded_at < $cutoff::timestamp
    group by customer_id
),

future_orders as (
    select distinct customer_id
    from order_facts
    semi join history using (customer_id)
    where ordered_at >= $cutoff::timestamp and ordered_at < $label_end::timestamp
),

final as (
    select
        h.customer_id,
        h.recency_days,
        h.tenure_days,
        h.orders,
        h.revenue,
        h.revenue / h.orders as average_order_value,
        h.orders_90d,
        h.revenue_90d,
        h.discounted_order_share,
        coalesce(e.site_visits_90d, 0) as site_visits_90d,
        coalesce(e.product_interest_90d, 0) as product_interest_90d,
        coalesce(e.email_clicks_90d, 0) as email_clicks_90d,
        coalesce(e.sms_clicks_90d, 0) as sms_clicks_90d,
        coalesce(e.email_opens_90d, 0) as email_opens_90d,
        coalesce(e.support_tickets_90d, 0) as support_tickets_90d,
        coalesce(m.messages_90d, 0) as messages_90d,
        coalesce(n.latest_nps_score, -1) as latest_nps_score,
        coalesce(s.is_loyalty_member, false)::integer as is_loyalty_member,
        coalesce(s.accepts_marketing, false)::integer as accepts_marketing,
        (f.customer_id is null)::integer as is_churned
    from history as h
    join selected_customers as s using (customer_id)
    left join recent_events as e using (customer_id)
    left join recent_messages as m using (customer_id)
    left join latest_nps as n using (customer_id)
    left join future_orders as f using (customer_id)
)

-- A stable row order: churn.py draws the model's random holdout split by row position.
select * from final
order by customer_id
