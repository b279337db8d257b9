-- Grain: one row per purchase day per acquisition channel per loyalty membership.
-- No lifecycle stage: it moves with "as of" and the brand's cuts for customers who bought nothing, whose every
-- purchase day a weekly file would then have moved. A stage filter reads purchases instead
-- (kpis/window_totals.sql, kpis/aov_by_month.sql).
-- Additive sums of the purchases made that day (from `purchases`), so windowed totals and monthly
-- trends add up a few thousand rows instead of reading every purchase. Windows start and end on
-- whole days (engagement/filters.py), so sums over these rows are exact. Squares are exact too, DECIMAL(38,4)
-- (an order's DECIMAL(18,2) widened first: its own square would be DECIMAL(18,4), which overflows from an order
-- of 10,000,000.00): a load adds and subtracts customers' sums (engagement/derived_update.py), and exact sums
-- come out the same as a rebuild's, where doubles would differ in the last bits.
-- Guest orders (no customer id) are rows with no channel or membership: they count in the totals
-- of an unfiltered window and drop out as soon as a customer filter is set.
with customer_days as (
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
    group by all
),

guest_days as (
    select
        ordered_at::date as purchase_day,
        null::varchar as acquisition_channel,
        false as is_loyalty_member,
        count(*) as orders,
        sum(net_revenue) as revenue,
        sum(net_revenue::decimal(38, 2) * net_revenue) as revenue_squared,
        0 as returning_revenue,
        0 as repeat_orders
    from orders
    where customer_id is null and status not in ('refunded', 'cancelled')
    group by all
),

final as (
    select * from customer_days
    union all
    select * from guest_days
    order by purchase_day
)

select * from final
