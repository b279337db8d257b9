-- Grain: one row per (recency score, frequency score) pair present in rfm/customer_scores.sql (read as `customer_scores`).
with final as (
    select
        r_score,
        f_score,
        any_value(segment) as segment,
        count(*) as customers,
        sum(revenue) as revenue,
        avg(m_score) as average_m_score
    from customer_scores
    group by r_score, f_score
)

select * from final order by r_score, f_score
