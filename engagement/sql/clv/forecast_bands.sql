-- Grain: one row per probability-alive band (tenths) of clv/customer_forecast.sql (read as `customer_forecast`).
with final as (
    select
        least(9, floor(probability_alive * 10))::integer as band,
        count(*) as customers,
        sum(expected_purchases) as expected_purchases,
        sum(predicted_revenue) as predicted_revenue,
        avg(probability_alive) as average_probability_alive
    from customer_forecast
    group by band
)

select band / 10.0 as probability_alive_from, (band + 1) / 10.0 as probability_alive_to, * exclude (band)
from final
order by probability_alive_from
