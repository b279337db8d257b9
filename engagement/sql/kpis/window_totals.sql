-- Grain: one row for one date window ($start inclusive, $end_exclusive exclusive, both midnights) and one
-- customer selection ($channels, $segments; an empty list selects all). Sufficient statistics only: the
-- rates, intervals and comparisons are computed from them in engagement/value/kpis.py.
--
-- No grouping by customer: a customer bought in the window exactly when one of their purchases in it has
-- no earlier purchase in it (its previous one is before $start; '-infinity' when there is none), and bought
-- at least twice when that purchase's next one is also before $end_exclusive. Order sums come from
-- `selected_days` (kpis/selected_days.sql: the daily totals in `purchase_days`), which the caller chains in.
with day_totals as (
    select
        coalesce(sum(orders), 0)::bigint as orders,
        coalesce(sum(revenue), 0)::double as revenue,
        coalesce(sum(revenue_squared), 0)::double as revenue_squared,
        coalesce(sum(returning_revenue), 0)::double as returning_revenue,
        coalesce(sum(repeat_orders), 0)::bigint as gaps
    from selected_days
),

order_totals as (
    select
        orders,
        revenue,
        case when orders > 1
            then sqrt(greatest(revenue_squared - revenue * revenue / orders, 0) / (orders - 1))
        end as order_value_sd,
        returning_revenue,
        gaps
    from day_totals
),

buyer_totals as (
    select
        count(*) filter (
            where ordered_at >= $start
              and previous_ordered_at < $start
        ) as customers_with_orders,
        count(*) filter (
            where ordered_at >= $start
              and previous_ordered_at < $start
              and next_ordered_at < $end_exclusive
        ) as repeat_customers,
        count(*) filter (
            where is_loyalty_member
              and ordered_at >= $end_exclusive - interval 90 day
              and previous_ordered_at < $end_exclusive - interval 90 day
        ) as loyalty_members_active_90d
    from purchases
    where ordered_at >= least($start, $end_exclusive - interval 90 day) and ordered_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

loyalty as (
    select count(*) as loyalty_members
    from customer_summary
    where is_loyalty_member
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

nps_answers as (
    select
        count(*) filter (where score >= 9) as promoters,
        count(*) filter (where score between 7 and 8) as passives,
        count(*) filter (where score <= 6) as detractors
    from survey_answers
    where kind = 'nps' and responded_at >= $start and responded_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select * from order_totals, buyer_totals, loyalty, nps_answers
)

select * from final
