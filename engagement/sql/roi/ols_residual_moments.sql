-- Grain: one row per acquisition channel of the temporary customer_outcomes table: sums of squared
-- residuals times cross products of the regressors, for heteroskedasticity-robust (HC1) standard errors.
-- The fitted coefficients are bound: $b_engaged, $b_pre_spend, $b_tenure_years, and the intercept of
-- each channel ($channel_names[i] has intercept $channel_intercepts[i]).
with residuals as (
    select
        acquisition_channel,
        engaged,
        pre_spend,
        tenure_years,
        post_revenue - (
            list_extract($channel_intercepts::double[], list_position($channel_names::varchar[], acquisition_channel))
            + $b_engaged * engaged + $b_pre_spend * pre_spend + $b_tenure_years * tenure_years
        ) as residual
    from customer_outcomes
),

final as (
    select
        acquisition_channel,
        sum(residual * residual) as n,
        sum(residual * residual * engaged) as s_engaged,
        sum(residual * residual * pre_spend) as s_pre_spend,
        sum(residual * residual * tenure_years) as s_tenure_years,
        sum(residual * residual * engaged * engaged) as s_engaged__engaged,
        sum(residual * residual * engaged * pre_spend) as s_engaged__pre_spend,
        sum(residual * residual * engaged * tenure_years) as s_engaged__tenure_years,
        sum(residual * residual * pre_spend * pre_spend) as s_pre_spend__pre_spend,
        sum(residual * residual * pre_spend * tenure_years) as s_pre_spend__tenure_years,
        sum(residual * residual * tenure_years * tenure_years) as s_tenure_years__tenure_years
    from residuals
    group by acquisition_channel
    order by acquisition_channel
)

select * from final
