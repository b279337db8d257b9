-- Grain: one row per customer of `window_customers` (rfm/window_customers.sql, or its stored copy for the
-- default window) in the selection ($channels, $segments; an empty list selects all), with recency,
-- frequency and monetary scores and the named segment. Recency is measured from the end of the window.
-- Recency and monetary are quintile scores by percent_rank among the selected customers (ties share the
-- lowest score). Frequency is scored on fixed order-count bands (engagement.retention.rfm.FREQUENCY_BANDS:
-- 1 order -> 1, 2 -> 2, 3 -> 3, 4-5 -> 4, 6 or more -> 5): quintiles of a count where most customers
-- have one order leave scores 2-3 empty, so "Potential loyalists" and "Need attention" could never occur;
-- bands keep identical customers on one score and make every score, and so every segment, reachable.
with per_customer as (
    select customer_id, recency_days, orders, revenue
    from window_customers
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

scored as (
    select
        p.*,
        least(5, 1 + floor(5 * percent_rank() over (order by p.recency_days desc)))::integer as r_score,
        case
            when p.orders >= 6 then 5
            when p.orders >= 4 then 4
            when p.orders = 3 then 3
            when p.orders = 2 then 2
            else 1
        end as f_score,
        least(5, 1 + floor(5 * percent_rank() over (order by p.revenue)))::integer as m_score
    from per_customer as p
),

final as (
    select
        *,
        -- The widely used recency x frequency segment map (e.g. the "RFM segments" grid of Putler and
        -- of most open-source RFM tutorials); monetary value is reported per segment, not used to name it.
        case
            when r_score = 5 and f_score >= 4 then 'champions'
            when r_score between 3 and 4 and f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score between 2 and 3 then 'potential_loyalists'
            when r_score = 5 and f_score = 1 then 'new_customers'
            when r_score = 4 and f_score = 1 then 'promising'
            when r_score = 3 and f_score = 3 then 'need_attention'
            when r_score = 3 and f_score <= 2 then 'about_to_sleep'
            when r_score <= 2 and f_score = 5 then 'cant_lose'
            when r_score <= 2 and f_score between 3 and 4 then 'at_risk'
            else 'hibernating'
        end as segment
    from scored
)

select * from final
