-- Grain: one row per customer of clv/customer_summary.sql (read as `customer_summary_rows`) in a (frequency, recency, T) group of the registered frame `group_predictions`.
-- The customer's BG/NBD predictions are those of the group; clv_forecast.py registers only the groups that can
-- hold one of the top customers by predicted revenue (top_customer_groups), which it takes from here.
-- The Gamma-Gamma expected purchase value is E(M | x, m_x) = (gamma + m_x x) p / (p x + q - 1) with the
-- fitted parameters of the one-row registered frame `gamma_gamma_params`.
with final as (
    select
        c.customer_id,
        c.frequency,
        c.recency,
        c.T,
        c.monetary_value,
        g.probability_alive,
        g.expected_purchases,
        case
            when c.frequency > 0 and c.monetary_value > 0
                then (gg.gamma + c.monetary_value * c.frequency) * gg.p / (gg.p * c.frequency + gg.q - 1)
            else gg.population_mean_value
        end as expected_purchase_value
    from customer_summary_rows as c
    join group_predictions as g using (frequency, recency, T)
    cross join gamma_gamma_params as gg
)

select *, expected_purchases * expected_purchase_value as predicted_revenue from final
