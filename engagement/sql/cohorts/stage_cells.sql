-- Grain: one row per acquisition cohort per period since acquisition per acquisition channel per first-order
-- discount flag, for one cohort grain ($grain), the customers in the selected lifecycle stages ($segments, not
-- empty) and the cohorts acquired in the window: `cohort_cells`' rows for that selection.
-- cohort_cells carries no stage (a customer's stage today moves with every load's "as of" and cuts: see
-- derived/cohort_cells.sql), so a matrix filtered by stage reads this instead, under that table's name
-- (engagement/retention/cohorts.py): the same counts, from purchases, which carries each customer's current
-- stage. A customer's period is counted on the purchase that opens it, as derived/cohort_cells.sql does.
with buyer_purchases as (
    select
        date_trunc($grain, p.first_ordered_at)::date as cohort_start,
        p.acquisition_channel, s.is_first_order_discounted, p.ordered_at, p.previous_ordered_at, p.net_revenue
    from purchases as p
    join customer_summary as s using (customer_key)
    where list_contains($segments::varchar[], p.lifecycle_stage)
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], p.acquisition_channel))
      and p.first_ordered_at >= date_trunc($grain, $start::timestamp)
      and date_trunc($grain, p.first_ordered_at) < $end_exclusive
),

final as (
    select
        $grain as cohort_grain,
        cohort_start,
        date_diff($grain, cohort_start, date_trunc($grain, ordered_at)::date) as period_number,
        acquisition_channel,
        is_first_order_discounted,
        count(*) filter (
            where previous_ordered_at is null or date_trunc($grain, previous_ordered_at) <> date_trunc($grain, ordered_at)
        ) as active_customers,
        sum(1) as purchases,  -- as cohort_cells sums it (DuckDB: HUGEINT)
        sum(net_revenue)::decimal(38, 2) as revenue
    from buyer_purchases
    group by all
)

select * from final
