-- Grain: one row for one date window ($start inclusive, $end_exclusive exclusive) and one customer
-- selection ($channels, $segments; an empty list selects all). Sufficient statistics only: the
-- rates, intervals and comparisons are computed from them in engagement/kpis.py.
with selected_purchases as (
    select *
    from purchases
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

window_orders as (
    select customer_id, net_revenue, order_number, days_since_previous_order
    from selected_purchases
    where ordered_at >= $start and ordered_at < $end_exclusive
),

order_totals as (
    select
        count(*) as orders,
        coalesce(sum(net_revenue), 0)::double as revenue,
        stddev_samp(net_revenue::double) as order_value_sd,
        coalesce(sum(net_revenue) filter (where order_number > 1), 0)::double as returning_revenue,
        count(days_since_previous_order) filter (where order_number > 1) as gaps,
        median(days_since_previous_order) filter (where order_number > 1) as median_gap_days
    from window_orders
),

buyer_totals as (
    select count(*) as customers_with_orders, count(*) filter (where orders >= 2) as repeat_customers
    from (select customer_id, count(*) as orders from window_orders group by customer_id)
),

loyalty as (
    select
        (select count(*)
         from customer_summary
         where is_loyalty_member
           and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
           and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
        ) as loyalty_members,
        (select count(distinct customer_id)
         from selected_purchases
         where is_loyalty_member
           and ordered_at >= $end_exclusive - interval 90 day and ordered_at < $end_exclusive
        ) as loyalty_members_active_90d
),

nps_answers as (
    select
        count(*) filter (where s.score >= 9) as promoters,
        count(*) filter (where s.score between 7 and 8) as passives,
        count(*) filter (where s.score <= 6) as detractors
    from surveys as s
    join customer_summary as c using (customer_id)
    where s.kind = 'nps' and s.responded_at >= $start and s.responded_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], c.acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], c.lifecycle_stage))
),

final as (
    select * from order_totals, buyer_totals, loyalty, nps_answers
)

select * from final
