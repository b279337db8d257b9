-- Grain: one row per probability-alive band (tenths) per kind of customer (one purchase day or repeat) of clv/customer_forecast.sql (read as `customer_forecast`).
-- BG/NBD lets customers drop out only right after a purchase, so a customer with no repeat
-- purchase is always "alive" (P = 1); the kind keeps them apart from repeat customers on the chart.
-- The sums of doubles add customers in id order, so that they are the same to the last bit in every run
-- (the result stored at load equals a fit on demand; a parallel sum's order, and last bits, vary).
with final as (
    select
        least(9, floor(probability_alive * 10))::integer as band,
        case when frequency > 0 then 'repeat customers' else 'one purchase day' end as customer_kind,
        count(*) as customers,
        sum(expected_purchases order by customer_id) as expected_purchases,
        sum(predicted_revenue order by customer_id) as predicted_revenue,
        avg(probability_alive order by customer_id) as average_probability_alive
    from customer_forecast
    group by all
)

select band / 10.0 as probability_alive_from, (band + 1) / 10.0 as probability_alive_to, * exclude (band)
from final
order by probability_alive_from, customer_kind
