-- Grain: one row per split value per acquisition cohort per period since acquisition (cohorts acquired in the
-- window), plus per split value per period one row with cohort_start null: all cohorts together, using only
-- the cells those cohorts have fully lived through. Sufficient statistics only; engagement/retention/cohorts.py makes
-- the rates and intervals. A period a cohort has not finished yet (as of the data's latest activity) is not
-- mature: its counts are null, never 0.
-- cohort_cells carries no lifecycle stage (a customer's stage today moves with every load's "as of" and cuts: see
-- derived/cohort_cells.sql). With a stage filter the same counts are made from the purchases of the customers in
-- those stages (purchases carries each customer's current stage), as derived/cohort_cells.sql makes them: a
-- period is counted on the purchase that opens it. Each branch is cut by its constant condition on $segments
-- before it reads anything, so the matrix without a stage filter reads cohort_cells alone.
with facts as (
    select as_of from dataset_facts
),

stored_cells as (
    select acquisition_channel, is_first_order_discounted, cohort_start, period_number, active_customers, purchases,
           revenue
    from cohort_cells
    where len($segments::varchar[]) = 0 and cohort_grain = $grain
),

stage_purchases as (
    select
        p.acquisition_channel,
        s.is_first_order_discounted,
        date_trunc($grain, p.first_ordered_at)::date as cohort_start,
        date_diff($grain, date_trunc($grain, p.first_ordered_at)::date, date_trunc($grain, p.ordered_at)::date)
            as period_number,
        case
            when p.previous_ordered_at is null
                or date_trunc($grain, p.previous_ordered_at) <> date_trunc($grain, p.ordered_at) then 1
            else 0
        end as active_customers,
        1 as purchases,
        p.net_revenue as revenue
    from purchases as p
    join (select customer_key, is_first_order_discounted from customer_summary
          where list_contains($segments::varchar[], lifecycle_stage)) as s using (customer_key)
    where len($segments::varchar[]) > 0 and list_contains($segments::varchar[], p.lifecycle_stage)
),

cells as (
    select
        case $split
            when 'channel' then acquisition_channel
            when 'discount' then
                case when is_first_order_discounted then 'discounted first order' else 'full-price first order' end
            else 'all customers'
        end as split_value,
        cohort_start,
        period_number,
        sum(active_customers) as active_customers,
        sum(purchases) as purchases,
        sum(revenue)::double as revenue
    from (select * from stored_cells union all select * from stage_purchases) as selected
    where cohort_start >= date_trunc($grain, $start::timestamp)::date
      and cohort_start < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
    group by all
),

cohorts as (
    select
        split_value,
        cohort_start,
        sum(active_customers) filter (where period_number = 0) as cohort_customers,
        sum(revenue) filter (where period_number = 0) as cohort_first_period_revenue,
        -- A period counts as lived through when the data reaches its last hour: an export through the last
        -- day of a month whose latest order came at 23:57 covers that month (else the latest cohort vanished).
        date_diff($grain, cohort_start,
                  date_trunc($grain, (select as_of from facts) + interval 1 hour)::date) as complete_periods
    from cells
    group by all
),

grid as (
    select cohorts.*, unnest(range((select max(complete_periods) from cohorts))) as period_number
    from cohorts
    where complete_periods > 0
),

matrix as (
    select
        g.split_value,
        g.cohort_start,
        g.period_number,
        g.cohort_customers,
        g.cohort_first_period_revenue,
        g.period_number < g.complete_periods as is_mature,
        case when g.period_number < g.complete_periods then coalesce(c.active_customers, 0) end
            as active_customers,
        case when g.period_number < g.complete_periods then coalesce(c.purchases, 0) end as purchases,
        case when g.period_number < g.complete_periods then coalesce(c.revenue, 0) end as revenue,
        case when g.period_number < g.complete_periods then
            sum(coalesce(c.revenue, 0)) over (
                partition by g.split_value, g.cohort_start order by g.period_number
                rows between unbounded preceding and current row
            )
        end as cumulative_revenue
    from grid as g
    left join cells as c using (split_value, cohort_start, period_number)
),

all_cohorts as (
    -- Cohort-size weights: the customer rates and LTV below are sums over customers, which is the
    -- size-weighted mean of the cohorts' rates; revenue retention is weighted explicitly.
    select
        split_value,
        null::date as cohort_start,
        period_number,
        sum(cohort_customers) as cohort_customers,
        sum(cohort_first_period_revenue) as cohort_first_period_revenue,
        true as is_mature,
        sum(active_customers) as active_customers,
        sum(purchases) as purchases,
        sum(revenue) as revenue,
        sum(cumulative_revenue) as cumulative_revenue,
        count(*) as cohorts,
        sum(cohort_customers * revenue / nullif(cohort_first_period_revenue, 0))
            / sum(cohort_customers) filter (where cohort_first_period_revenue <> 0) as revenue_retention
    from matrix
    where is_mature
    group by split_value, period_number
),

final as (
    -- Columns named in one order in both branches (UNION BY NAME is DuckDB's; Spark unions by position).
    select
        split_value, cohort_start, period_number, cohort_customers, cohort_first_period_revenue, is_mature,
        active_customers, purchases, revenue, cumulative_revenue,
        1 as cohorts,
        revenue / nullif(cohort_first_period_revenue, 0) as revenue_retention
    from matrix
    union all
    select
        split_value, cohort_start, period_number, cohort_customers, cohort_first_period_revenue, is_mature,
        active_customers, purchases, revenue, cumulative_revenue, cohorts, revenue_retention
    from all_cohorts
)

select * from final
order by split_value, cohort_start nulls first, period_number
