-- Grain: one row per selected customer per moment in $moments at which the customer was known (signed up or
-- bought by then). The stage rules live here only: the other files in this folder read "customer_stages",
-- which engagement/lifecycle.py prepends as a CTE. A moment includes purchases up to and including it.
-- Thresholds are bound: $at_risk_days, $lapsed_days, $vip_top_share (VIP = lifetime revenue in the top share
-- of buyers at the data's end, a fixed money bar for every moment) and $vip_tiers (loyalty tiers that make a
-- customer VIP; the export only holds the current tier, so it applies to every moment).
with moments as (
    select unnest($moments::timestamp[]) as moment_at
),

selected_customers as (
    select
        customer_id,
        loyalty_tier,
        coalesce(least(created_at, first_order_at), first_order_at, created_at) as known_at,
        first_order_at
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

vip_cut as (
    select quantile_cont(revenue, 1 - $vip_top_share::double) as vip_revenue
    from customer_summary
    where order_count > 0
),

buyer_states as (
    -- The purchase in force at each moment: the last one on or before it.
    select
        m.moment_at,
        p.customer_id,
        p.orders_so_far,
        p.revenue_so_far,
        p.gap_before_this_order_days,
        epoch(m.moment_at - p.ordered_at) / 86400.0 as days_since_last_order
    from purchase_states as p
    join moments as m
      on m.moment_at >= p.ordered_at
     and (p.next_ordered_at is null or m.moment_at < p.next_ordered_at)
),

prospects as (
    select m.moment_at, s.customer_id
    from selected_customers as s
    join moments as m
      on s.known_at <= m.moment_at
     and (s.first_order_at is null or s.first_order_at > m.moment_at)
),

final as (
    select
        b.moment_at,
        b.customer_id,
        b.orders_so_far,
        b.revenue_so_far,
        b.days_since_last_order,
        case
            when b.days_since_last_order > $lapsed_days then 'lapsed'
            when b.days_since_last_order > $at_risk_days then 'at_risk'
            when b.gap_before_this_order_days > $lapsed_days then 'won_back'
            when b.revenue_so_far >= vip_cut.vip_revenue
                 or list_contains($vip_tiers::varchar[], s.loyalty_tier) then 'vip'
            when b.orders_so_far = 1 then 'new'
            else 'repeat'
        end as lifecycle_stage
    from buyer_states as b
    join selected_customers as s using (customer_id)
    cross join vip_cut
    union all
    select moment_at, customer_id, 0, 0, null, 'prospect'
    from prospects
)

select * from final
