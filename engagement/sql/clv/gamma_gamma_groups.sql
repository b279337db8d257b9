-- Grain: one row per distinct (frequency, monetary_value) pair of repeat customers in clv/customer_summary.sql (read as `customer_summary_rows`).
with final as (
    select frequency, monetary_value, count(*) as customers
    from customer_summary_rows
    where frequency > 0 and monetary_value > 0
    group by frequency, monetary_value
)

select * from final order by frequency, monetary_value
