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

final as (
    select
        k.event_id,
        k.customer_id,
        c.acquisition_channel,
        c.lifecycle_stage,
        k.channel,
        k.clicked_at,
        o.ordered_at as next_purchase_at
    from clicks as k
    join customer_summary as c using (customer_id)
    asof left join order_facts as o
        on o.customer_id = k.customer_id
       and o.ordered_at > k.clicked_at
)

select * from final
order by clicked_at
