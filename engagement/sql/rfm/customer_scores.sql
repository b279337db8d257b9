-- Grain: one row per customer of `window_customers` (rfm/window_customers.sql, or its stored copy for the
-- default window) in the selection ($channels, $segments; an empty list selects all), with recency,
-- frequency and monetary quintile scores and the named segment. Recency is measured from the end of the
-- window. Quintile scores use percent_rank among the selected customers, so tied customers share a score (the lowest tie gets the lower score): with many one-order customers
-- some frequency scores stay empty instead of splitting identical customers at random.
with per_customer as (
    select customer_id, recency_days, orders, revenue
    from window_customers
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

-- Frequency takes few distinct values: its percent_rank, (rank - 1) / (n - 1) with rank - 1 = the number
-- of customers with fewer orders, comes from a group-by over those values instead of a window sort
-- over every customer (same double arithmetic as DuckDB's percent_rank, 0 when n = 1).
frequency_ranks as (
    select
        orders,
        (sum(count(*)) over (order by orders) - count(*))::double
            / nullif((select count(*) from per_customer) - 1, 0)::double as f_rank
    from per_customer
    group by orders
),

scored as (
    select
        p.*,
        least(5, 1 + floor(5 * percent_rank() over (order by p.recency_days desc)))::integer as r_score,
        least(5, 1 + floor(5 * coalesce(fr.f_rank, 0)))::integer as f_score,
        least(5, 1 + floor(5 * percent_rank() over (order by p.revenue)))::integer as m_score
    from per_customer as p
    join frequency_ranks as fr using (orders)
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
