-- Grain: one row per (recency score, frequency score) pair present in rfm/customer_scores.sql (read as `customer_scores`).
-- Sums and sums of squares only: segment totals, means and intervals are computed from them in rfm.py,
-- so the customers are scored once per view.
with final as (
    select
        r_score,
        f_score,
        any_value(segment) as segment,
        count(*) as customers,
        sum(revenue) as revenue,
        sum(revenue::double * revenue::double) as revenue_squared,
        sum(recency_days) as recency_days,
        sum(orders) as orders,
        sum(m_score) as m_score
    from customer_scores
    group by r_score, f_score
)

select * from final order by r_score, f_score
