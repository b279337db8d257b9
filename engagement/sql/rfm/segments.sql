-- Grain: one row per RFM segment (over the rows of rfm/customer_scores.sql, read as `customer_scores`).
with final as (
    select
        segment,
        count(*) as customers,
        sum(revenue) as revenue,
        stddev_samp(revenue) as revenue_sd,
        avg(recency_days) as average_recency_days,
        avg(orders) as average_orders,
        avg(r_score) as average_r_score,
        avg(f_score) as average_f_score,
        avg(m_score) as average_m_score
    from customer_scores
    group by segment
)

select * from final order by revenue desc
