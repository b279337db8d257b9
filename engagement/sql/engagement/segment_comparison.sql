-- Grain: one row per engagement segment (engaged, unengaged) of the temporary customer_scores table.
-- Sufficient statistics only (counts, sums, sums of squares); rates and intervals are computed in
-- engagement/value/engagement_score.py.
with segments as (
    select * from (values (true), (false)) as v(is_engaged)
),

totals as (
    select
        is_engaged,
        count(*) as customers,
        count(*) filter (where orders > 0) as buyers,
        count(*) filter (where orders >= 2) as repeat_buyers,
        sum(revenue) as revenue,
        sum(revenue::double * revenue::double) as revenue_squares,
        sum(revenue_to_date) as revenue_to_date,
        sum(revenue_to_date::double * revenue_to_date::double) as revenue_to_date_squares,
        avg(score) as mean_score
    from customer_scores
    group by is_engaged
),

final as (
    select
        s.is_engaged,
        coalesce(t.customers, 0) as customers,
        coalesce(t.buyers, 0) as buyers,
        coalesce(t.repeat_buyers, 0) as repeat_buyers,
        coalesce(t.revenue, 0) as revenue,
        coalesce(t.revenue_squares, 0) as revenue_squares,
        coalesce(t.revenue_to_date, 0) as revenue_to_date,
        coalesce(t.revenue_to_date_squares, 0) as revenue_to_date_squares,
        t.mean_score
    from segments as s
    left join totals as t using (is_engaged)
    order by s.is_engaged desc
)

select * from final
