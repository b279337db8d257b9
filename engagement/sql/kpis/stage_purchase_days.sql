-- Grain: one row per purchase day per acquisition channel per loyalty membership, as `purchase_days`, for the
-- customers in the selected lifecycle stages ($segments, not empty) and the window ($start, $end_exclusive).
-- purchase_days carries no stage (a customer's stage today moves with every load's "as of" and cuts: see
-- derived/purchase_days.sql), so a view filtered by stage reads this instead, under that table's name
-- (engagement/value/kpis.py): the same sums from purchases, which carries each customer's current stage. Sums of
-- DECIMALs, so the totals equal those of purchase_days' rows exactly. Guest orders have no stage: none here.
with final as (
    select
        ordered_at::date as purchase_day,
        acquisition_channel,
        is_loyalty_member,
        count(*) as orders,
        sum(net_revenue) as revenue,
        sum(net_revenue::decimal(38, 2) * net_revenue) as revenue_squared,
        coalesce(sum(net_revenue) filter (where order_number > 1), 0) as returning_revenue,
        count(*) filter (where order_number > 1) as repeat_orders
    from purchases
    where list_contains($segments::varchar[], lifecycle_stage)
      and ordered_at >= $start::date and ordered_at < $end_exclusive::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
    group by all
)

select * from final
