-- Grain: one row for one date window ($start inclusive, $end_exclusive exclusive) and one customer
-- selection ($channels, $segments; an empty list selects all). Sufficient statistics only: the
-- rates, intervals and comparisons are computed from them in engagement/kpis.py.
with selected_customers as (
    select customer_id, is_loyalty_member
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

window_orders as (
    select o.*
    from order_facts as o
    semi join selected_customers using (customer_id)
    where o.ordered_at >= $start and o.ordered_at < $end_exclusive
),

buyers as (
    select customer_id, count(*) as orders
    from window_orders
    group by customer_id
),

gaps as (
    select list(days_since_previous_order order by days_since_previous_order) as sorted_days
    from window_orders
    where order_number > 1
),

recent_buyers as (
    select distinct customer_id
    from order_facts
    where ordered_at >= $end_exclusive - interval 90 day and ordered_at < $end_exclusive
),

loyalty as (
    select
        count(*) as members,
        count(r.customer_id) as members_active_90d
    from selected_customers as s
    left join recent_buyers as r using (customer_id)
    where s.is_loyalty_member
),

nps_answers as (
    select
        count(*) filter (where score >= 9) as promoters,
        count(*) filter (where score between 7 and 8) as passives,
        count(*) filter (where score <= 6) as detractors
    from surveys
    semi join selected_customers using (customer_id)
    where kind = 'nps' and responded_at >= $start and responded_at < $end_exclusive
),

final as (
    select
        (select count(*) from buyers) as customers_with_orders,
        (select count(*) from buyers where orders >= 2) as repeat_customers,
        (select count(*) from window_orders) as orders,
        (select coalesce(sum(net_revenue), 0) from window_orders)::double as revenue,
        (select stddev_samp(net_revenue::double) from window_orders) as order_value_sd,
        (select coalesce(sum(net_revenue) filter (where order_number > 1), 0) from window_orders)::double
            as returning_revenue,
        (select len(sorted_days) from gaps) as gaps,
        (select sorted_days from gaps) as sorted_gap_days,
        loyalty.members as loyalty_members,
        loyalty.members_active_90d as loyalty_members_active_90d,
        nps_answers.promoters,
        nps_answers.passives,
        nps_answers.detractors
    from loyalty, nps_answers
)

select * from final
