-- Grain: one row per calendar month in the window ($start, $end_exclusive) for the selected customers
-- ($channels, $segments; an empty list selects all), summed from `selected_days`
-- (kpis/selected_days.sql: the daily totals in `purchase_days`), which the caller chains in.
with monthly as (
    select
        date_trunc('month', purchase_day)::date as month,
        sum(orders)::bigint as orders,
        sum(revenue)::double as revenue,
        sum(revenue_squared)::double as revenue_squared
    from selected_days
    group by all
),

final as (
    select
        month,
        orders,
        revenue,
        revenue / orders as average_order_value,
        case when orders > 1
            then sqrt(greatest(revenue_squared - revenue * revenue / orders, 0) / (orders - 1))
        end as order_value_sd
    from monthly
    order by month
)

select * from final
