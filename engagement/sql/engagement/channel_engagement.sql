-- Grain: one row per messaging channel (email, sms, push) for the selected customers in the window
-- [$start, $end_exclusive): sends, recipients, clicks, clickers, and clicks followed by a purchase within
-- $conversion_days days. Opens are counted only to be shown apart, as activity.
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

sends as (
    select channel, count(*) as sends, count(distinct customer_id) as recipients
    from messages
    semi join selected_customers using (customer_id)
    where sent_at >= $start and sent_at < $end_exclusive
    group by channel
),

window_events as materialized (
    select event_id, customer_id, occurred_at, event_type
    from events
    semi join selected_customers using (customer_id)
    where event_type in ('email_click', 'sms_click', 'email_open')
      and occurred_at >= $start and occurred_at < $end_exclusive
),

clicks as (
    select
        event_id,
        customer_id,
        occurred_at,
        case event_type when 'email_click' then 'email' when 'sms_click' then 'sms' end as channel
    from window_events
    where event_type in ('email_click', 'sms_click')
),

clicks_then_orders as (
    select c.channel, c.event_id, o.order_id, o.net_revenue
    from clicks as c
    join order_facts as o
        on o.customer_id = c.customer_id
       and o.ordered_at > c.occurred_at
       and o.ordered_at <= c.occurred_at + to_days($conversion_days::integer)
),

converted as (
    select distinct event_id from clicks_then_orders
),

click_totals as (
    select
        c.channel,
        count(*) as clicks,
        count(distinct c.customer_id) as clickers,
        count(v.event_id) as converted_clicks
    from clicks as c
    left join converted as v using (event_id)
    group by c.channel
),

orders_after_clicks as (
    select channel, count(*) as orders_after_click, sum(net_revenue)::double as revenue_after_click
    from (select distinct channel, order_id, net_revenue from clicks_then_orders)
    group by channel
),

opens as (
    select 'email' as channel, count(*) as opens
    from window_events
    where event_type = 'email_open'
),

channels as (
    select channel from sends
    union
    select channel from click_totals
),

final as (
    select
        ch.channel,
        coalesce(s.sends, 0) as sends,
        coalesce(s.recipients, 0) as recipients,
        coalesce(t.clicks, 0) as clicks,
        coalesce(t.clickers, 0) as clickers,
        coalesce(t.converted_clicks, 0) as converted_clicks,
        coalesce(a.orders_after_click, 0) as orders_after_click,
        coalesce(a.revenue_after_click, 0) as revenue_after_click,
        op.opens as opens_activity
    from channels as ch
    left join sends as s using (channel)
    left join click_totals as t using (channel)
    left join orders_after_clicks as a using (channel)
    left join opens as op using (channel)
    order by ch.channel
)

select * from final
