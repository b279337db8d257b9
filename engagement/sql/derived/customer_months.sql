-- Grain: one row per customer per calendar month in which the customer made a purchase.
-- Carries the acquisition cohort so that cohort matrices are a single group-by. The cohort month is the month
-- of the customer's first purchase, which every purchase row of order_facts carries (first_ordered_at): the
-- same value as customer_summary's cohort_month, without a join of the purchases to the customers.
with monthly as (
    select
        customer_id,
        date_trunc('month', ordered_at)::date as activity_month,
        date_trunc('month', min(first_ordered_at))::date as cohort_month,
        count(*) as orders,
        sum(net_revenue) as revenue
    from order_facts
    group by all
),

final as (
    select
        customer_id,
        activity_month,
        cohort_month,
        date_diff('month', cohort_month, activity_month) as months_since_first_order,
        orders,
        revenue
    from monthly
)

select * from final
