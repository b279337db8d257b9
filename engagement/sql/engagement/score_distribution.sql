-- Grain: one row per score bucket of the temporary customer_scores table (buckets of equal width up
-- to the 99th percentile; higher scores fall in the last bucket), split by the engaged flag.
with cut as (
    select greatest(quantile_cont(score, 0.99), 1.0) as top, greatest(quantile_cont(score, 0.99), 1.0) / 30.0 as width
    from customer_scores
),

bucketed as (
    select
        floor(least(s.score, cut.top) / cut.width) * cut.width as bucket_start,
        cut.width,
        s.is_engaged
    from customer_scores as s
    cross join cut
),

final as (
    select bucket_start, bucket_start + any_value(width) as bucket_end, is_engaged, count(*) as customers
    from bucketed
    group by bucket_start, is_engaged
    order by bucket_start, is_engaged
)

select * from final
