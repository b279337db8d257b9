-- Grain: one row per distinct (frequency, recency, T) triple of clv/customer_summary.sql (read as `customer_summary_rows`).
-- The BG/NBD likelihood only depends on these three numbers, so identical customers are fitted
-- once with a weight; holdout sums and sums of squares give the holdout check's means and intervals.
-- The customers with repeat spend and their exact total repeat value give the group's Gamma-Gamma
-- expected purchase values summed (clv_forecast.py), so that the forecast is added up over groups, not customers
-- (the sum is exact, as DECIMAL, then one double); the largest average repeat value bounds the group's best
-- predicted revenue (which groups can hold a top customer).
-- Ordered, so that the fit (a sum over these rows) is the same to the last bit in every run.
with final as (
    select
        frequency,
        recency,
        T,
        count(*) as customers,
        sum(holdout_frequency) as holdout_purchases,
        sum(holdout_frequency * holdout_frequency) as holdout_purchases_squared,
        count(*) filter (where frequency > 0 and repeat_value > 0) as spending_customers,
        coalesce(sum(repeat_value) filter (where frequency > 0 and repeat_value > 0), 0)::double as repeat_value,
        max(monetary_value) filter (where frequency > 0 and repeat_value > 0) as largest_monetary_value
    from customer_summary_rows
    group by frequency, recency, T
)

select * from final order by frequency, recency, T
