-- Grain: one row per customer of derived clv_calibration_summary (clv/customer_summary.sql stored for the default calibration end, every customer) in the selection ($channels, $segments; an empty list selects all).
-- The stored recency and T are whole days (unit_days = 1); dividing them by $unit_days gives the same
-- doubles as clv/customer_summary.sql computes for that unit (a whole number of days is exact in a double).
-- The selection keeps the customers whose channel and stage (derived customer_summary, which `purchases`
-- copies) are selected: the customers clv/customer_summary.sql selects from the purchases.
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select * replace (recency / $unit_days::double as recency, T / $unit_days::double as T)
    from clv_calibration_summary
    where len($channels::varchar[]) = 0 and len($segments::varchar[]) = 0
       or customer_id in (select customer_id from selected_customers)
)

select * from final
