-- Grain: one row per customer per calendar month in which the customer made a purchase.
-- Carries the acquisition cohort so that cohort matrices are a single group-by.
with monthly as (
    select
        customer_id,
        date_trunc('month', ordered_at)::date as activity_month,
        count(*) as orders,
        sum(net_revenue) as revenue
    from order_facts
    group by all
),

final as (
    select
        m.customer_id,
        m.activity_month,
        s.cohort_month,
        date_diff('month', s.cohort_month, m.activity_month) as months_since_first_order,
        m.orders,
        m.revenue
    from monthly as m
    join customer_summary as s using (customer_id)
)

select * from final
