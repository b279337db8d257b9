-- Grain: one row per calendar month in the window ($start, $end_exclusive) for the selected customers.
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select
        date_trunc('month', o.ordered_at)::date as month,
        count(*) as orders,
        sum(o.net_revenue)::double as revenue,
        avg(o.net_revenue)::double as average_order_value,
        stddev_samp(o.net_revenue::double) as order_value_sd
    from order_facts as o
    semi join selected_customers using (customer_id)
    where o.ordered_at >= $start and o.ordered_at < $end_exclusive
    group by all
    order by month
)

select * from final
