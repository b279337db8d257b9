-- Grain: one row per distinct (frequency, recency, T) triple of clv/customer_summary.sql (read as `customer_summary_rows`).
-- The BG/NBD likelihood only depends on these three numbers, so identical customers are fitted
-- once with a weight; holdout sums and sums of squares give the holdout check's means and intervals.
-- Ordered, so that the fit (a sum over these rows) is the same to the last bit in every run.
with final as (
    select
        frequency,
        recency,
        T,
        count(*) as customers,
        sum(holdout_frequency) as holdout_purchases,
        sum(holdout_frequency * holdout_frequency) as holdout_purchases_squared
    from customer_summary_rows
    group by frequency, recency, T
)

select * from final order by frequency, recency, T
