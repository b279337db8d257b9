-- Grain: one row per e-mail or SMS click by a known customer, with the messaging channel, the customer's filter
-- attributes, and the customer's first purchase after the click (null when none): the click
-- converts within N days when that purchase is at most N days later. Stored in click order.
with clicks as (
    select
        event_id,
        customer_id,
        occurred_at as clicked_at,
        case event_type when 'email_click' then 'email' when 'sms_click' then 'sms' end as channel
    from events
    where event_type in ('email_click', 'sms_click')
),

-- The first purchase after each click, for every click in one pass: clicks and purchases in one time line per
-- customer, and the earliest purchase time among the rows after the click. (An ASOF join in DuckDB; written
-- with a window so that Spark runs the same SQL.) A purchase at the click's very moment sorts before it, so it
-- is not "after" (the ASOF condition was ordered_at > clicked_at).
timeline as (
    select customer_id, clicked_at as happened_at, 0 as is_purchase, event_id from clicks
    union all
    select customer_id, ordered_at, 1, null from order_facts
    where customer_id in (select customer_id from clicks)  -- only the customers who clicked
),

next_purchases as (
    select
        event_id,
        min(case when is_purchase = 1 then happened_at end) over (
            partition by customer_id order by happened_at, is_purchase desc
            rows between current row and unbounded following
        ) as next_purchase_at,
        is_purchase
    from timeline
),

final as (
    select
        k.event_id,
        k.customer_id,
        c.acquisition_channel,
        c.lifecycle_stage,
        k.channel,
        k.clicked_at,
        n.next_purchase_at
    from clicks as k
    join customer_summary as c using (customer_id)
    join next_purchases as n on n.event_id = k.event_id and n.is_purchase = 0
)

select * from final
order by clicked_at
