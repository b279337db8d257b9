-- Grain: one row per customer of derived clv_history_summary (clv/customer_summary.sql stored for the whole history).
-- The stored recency and T are whole days (unit_days = 1); dividing them by $unit_days gives the same
-- doubles as clv/customer_summary.sql computes for that unit (a whole number of days is exact in a double).
with final as (
    select * replace (recency / $unit_days::double as recency, T / $unit_days::double as T)
    from clv_history_summary
)

select * from final
