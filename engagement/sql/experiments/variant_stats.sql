-- Grain: one row per segment per variant per metric of one experiment ($experiment_id).
-- Sufficient statistics only (n, sum, sum of squares of the metric; sum and sum of squares of the
-- pre-period revenue covariate; sum of cross-products), measured in the $window_days days after each
-- unit's assignment; the covariate is the revenue in the $window_days days before it. Segments come
-- from customer_summary ($segment_by: 'lifecycle_stage', 'acquisition_channel' or anything else = 'all').
-- The binary event metric counts units with at least one $event_type event in the window (null: none).
with facts as (
    select as_of from dataset_facts
),

assignments as (
    select
        a.customer_id,
        a.variant,
        a.assigned_at,
        a.assigned_at + to_days(cast($window_days as integer)) as window_end_at,
        case $segment_by
            when 'lifecycle_stage' then coalesce(s.lifecycle_stage, 'unknown')
            when 'acquisition_channel' then coalesce(s.acquisition_channel, 'unknown')
            else 'all'
        end as segment
    from experiment_assignments as a
    -- joined only when a segment needs it (the constant condition empties the join otherwise)
    left join customer_summary as s
        on s.customer_id = a.customer_id and $segment_by in ('lifecycle_stage', 'acquisition_channel')
    where a.experiment_id = $experiment_id
),

assignment_span as (
    select
        min(assigned_at) - to_days(cast($window_days as integer)) as first_at,
        max(window_end_at) as last_at
    from assignments
),

-- Only rows inside the experiment's overall span reach the per-customer range joins below.
span_orders as (
    select o.customer_id, o.ordered_at, o.net_revenue
    from order_facts as o, assignment_span as span
    where o.ordered_at >= span.first_at and o.ordered_at < span.last_at
),

span_events as (
    select e.customer_id, e.occurred_at
    from events as e, assignment_span as span
    where e.event_type = $event_type and e.occurred_at >= span.first_at and e.occurred_at < span.last_at
),

-- One range join for both windows around the assignment: the $window_days before it (the covariate)
-- and the $window_days after it (the outcomes).
around_assignment as (
    select
        a.customer_id,
        count(*) filter (where o.ordered_at >= a.assigned_at) as orders,
        sum(o.net_revenue) filter (where o.ordered_at >= a.assigned_at)::double as revenue,
        sum(o.net_revenue) filter (where o.ordered_at < a.assigned_at)::double as pre_revenue
    from assignments as a
    join span_orders as o
        on o.customer_id = a.customer_id
        and o.ordered_at >= a.assigned_at - to_days(cast($window_days as integer))
        and o.ordered_at < a.window_end_at
    group by a.customer_id
),

event_units as (
    select distinct a.customer_id
    from assignments as a
    join span_events as e
        on e.customer_id = a.customer_id
        and e.occurred_at >= a.assigned_at
        and e.occurred_at < a.window_end_at
),

units as (
    select
        a.segment,
        a.variant,
        a.window_end_at > facts.as_of as is_window_incomplete,
        coalesce(p.pre_revenue, 0) as pre_revenue,
        (coalesce(p.orders, 0) > 0)::double as conversion,
        coalesce(p.revenue, 0) as revenue_per_customer,
        coalesce(p.orders, 0)::double as orders_per_customer,
        (e.customer_id is not null)::double as event_rate
    from assignments as a
    cross join facts
    left join around_assignment as p using (customer_id)
    left join event_units as e using (customer_id)
),

long_units as (
    unpivot units
    on conversion, revenue_per_customer, orders_per_customer, event_rate
    into name metric value metric_value
),

final as (
    select
        segment,
        variant,
        metric,
        count(*) as n,
        sum(metric_value) as total,
        sum(metric_value * metric_value) as sum_squares,
        sum(pre_revenue) as covariate_total,
        sum(pre_revenue * pre_revenue) as covariate_sum_squares,
        sum(metric_value * pre_revenue) as cross_products,
        count(*) filter (where is_window_incomplete) as units_window_incomplete
    from long_units
    group by segment, variant, metric
)

select * from final
order by segment, variant, metric
