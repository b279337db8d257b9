-- Grain: one row per click (click_facts) per purchase by the same customer in the 90 days after it: the pairs from
-- which the Engagement page counts the distinct orders that followed a click within its conversion window (at
-- most 90 days: engagement_score.MAX_CONVERSION_DAYS).
with final as (
    select
        k.event_id,
        k.customer_id,
        k.acquisition_channel,
        k.lifecycle_stage,
        k.channel,
        k.clicked_at,
        o.order_id,
        o.ordered_at,
        o.net_revenue
    from click_facts as k
    join order_facts as o
        on o.customer_id = k.customer_id
       and o.ordered_at > k.clicked_at
       and o.ordered_at <= k.clicked_at + interval 90 day
)

select * from final
order by clicked_at
