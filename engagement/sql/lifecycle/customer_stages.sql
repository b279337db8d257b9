-- Grain: one row per selected customer per moment in $moments at which the customer was known (signed up or
-- bought by then). The stage rules live here only: the other files in this folder read "customer_stages",
-- which engagement/retention/lifecycle.py prepends as a CTE. A moment includes purchases up to and including it.
-- Thresholds are bound: $at_risk_days, $lapsed_days, $vip_top_share (VIP = lifetime revenue in the top share
-- of buyers at the data's end, a fixed money bar for every moment) and $vip_tiers (loyalty tiers that make a
-- customer VIP; the export only holds the current tier, so it applies to every moment).
with moments as (
    select unnest($moments::timestamp[]) as moment_at
),

vip_cut as (
    select quantile_cont(revenue, 1 - $vip_top_share::double) as vip_revenue
    from customer_summary
    where order_count > 0
),

tier_vips as (
    -- Buyers whose loyalty tier makes them VIP at every moment ($vip_tiers).
    select customer_key
    from customer_summary
    where order_count > 0 and list_contains($vip_tiers::varchar[], loyalty_tier)
),

buyer_states as (
    -- The purchase in force at each moment: the last one on or before it, until the next one (purchases'
    -- next_ordered_at is 'infinity' on a customer's latest purchase, so the range join is two plain comparisons).
    -- The filters select on the customer's attributes purchases repeats on every row; a customer without a channel
    -- or stage is left out by a filter on it.
    select
        m.moment_at,
        p.customer_id,
        p.order_number as orders_so_far,
        p.revenue_so_far,
        p.days_since_previous_order as gap_before_this_order_days,
        -- a semi-join (mark) on the few tier VIPs: a LEFT JOIN here was planned twice as slow at 5M orders
        p.customer_key in (select customer_key from tier_vips) as is_tier_vip,
        epoch(m.moment_at - p.ordered_at) / 86400.0 as days_since_last_order
    from purchases as p
    join moments as m
      on m.moment_at >= p.ordered_at
     and m.moment_at < p.next_ordered_at
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], p.acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], p.lifecycle_stage))
),

prospects as (
    -- Known by the moment (signed up, or first seen on an order) without a purchase on or before it.
    select m.moment_at, s.customer_id
    from customer_summary as s
    join moments as m
      on coalesce(least(s.created_at, s.first_order_at), s.first_order_at, s.created_at) <= m.moment_at
     and (s.first_order_at is null or s.first_order_at > m.moment_at)
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], s.acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], s.lifecycle_stage))
),

staged as (
    -- Stage codes index the list in "final" (and engagement.retention.lifecycle.STAGES); grouping on a small integer
    -- keeps the size queries fast.
    select
        b.moment_at,
        b.customer_id,
        b.orders_so_far,
        b.revenue_so_far,
        b.days_since_last_order,
        case
            when b.days_since_last_order > $lapsed_days then 7
            when b.days_since_last_order > $at_risk_days then 6
            when b.gap_before_this_order_days > $lapsed_days then 5
            when b.revenue_so_far >= vip_cut.vip_revenue or b.is_tier_vip then 4
            when b.orders_so_far = 1 then 2
            else 3
        end::utinyint as stage_code
    from buyer_states as b
    cross join vip_cut
    union all
    select moment_at, customer_id, 0, 0, null, 1::utinyint
    from prospects
),

final as (
    select
        *,
        ['prospect', 'new', 'repeat', 'vip', 'won_back', 'at_risk', 'lapsed'][stage_code] as lifecycle_stage
    from staged
)

select * from final
