-- Grain: one row per acquisition channel of the temporary customer_outcomes table: the count, sums and
-- sums of cross products of (engaged, pre_spend, tenure_years, post_revenue). X'X, X'y and y'y of the
-- regression with channel dummies are assembled from these in engagement/value/roi.py.
with final as (
    select
        acquisition_channel,
        count(*) as n,
        sum(engaged) as s_engaged,
        sum(pre_spend) as s_pre_spend,
        sum(tenure_years) as s_tenure_years,
        sum(post_revenue) as s_post_revenue,
        sum(engaged * engaged) as s_engaged__engaged,
        sum(engaged * pre_spend) as s_engaged__pre_spend,
        sum(engaged * tenure_years) as s_engaged__tenure_years,
        sum(engaged * post_revenue) as s_engaged__post_revenue,
        sum(pre_spend * pre_spend) as s_pre_spend__pre_spend,
        sum(pre_spend * tenure_years) as s_pre_spend__tenure_years,
        sum(pre_spend * post_revenue) as s_pre_spend__post_revenue,
        sum(tenure_years * tenure_years) as s_tenure_years__tenure_years,
        sum(tenure_years * post_revenue) as s_tenure_years__post_revenue,
        sum(post_revenue * post_revenue) as s_post_revenue__post_revenue,
        sum(engaged * post_revenue * post_revenue) as s_engaged__post_revenue__post_revenue
    from customer_outcomes
    group by acquisition_channel
    order by acquisition_channel
)

select * from final
