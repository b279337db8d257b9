-- Grain: one row per customer of the temporary customer_scores table (scored over the pre period,
-- which ends at $cutoff): the engaged flag, the covariates, and net revenue in the post period
-- [$cutoff, $post_end_exclusive), the outcome of the regression-adjusted comparison.
with post_orders as (
    select customer_id, sum(net_revenue)::double as post_revenue
    from order_facts
    where ordered_at >= $cutoff and ordered_at < $post_end_exclusive
    group by customer_id
),

final as (
    select
        s.customer_id,
        s.acquisition_channel,
        s.is_engaged::integer::double as engaged,
        s.revenue as pre_spend,
        s.tenure_days / 365.25 as tenure_years,
        coalesce(p.post_revenue, 0) as post_revenue
    from customer_scores as s
    left join post_orders as p using (customer_id)
)

select * from final
