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
        min(assigned_at) as first_assigned_at,
        max(window_end_at) as last_at
    from assignments
),

-- Purchases and events inside the experiment's overall span, as one stream (is_event tells them apart), so
-- a single range join per customer finds both. `purchases` is in date order: the span skips the row groups
-- outside it. Events count only after an assignment, purchases also in the window before it (the covariate).
span_activity as (
    select o.customer_id, o.ordered_at as happened_at, o.net_revenue, false as is_event
    from purchases as o, assignment_span as span
    where o.ordered_at >= span.first_at and o.ordered_at < span.last_at
    union all
    select e.customer_id, e.occurred_at as happened_at, null as net_revenue, true as is_event
    from events as e, assignment_span as span
    where e.event_type = $event_type and e.occurred_at >= span.first_assigned_at and e.occurred_at < span.last_at
),

-- One range join for both windows around the assignment: the $window_days before it (the covariate)
-- and the $window_days after it (the outcomes). Units with no purchase or event in either window get no row
-- here: every metric and the covariate are zero for them, so they add to n alone (see `unit_counts`).
active_units as (
    select
        any_value(a.segment) as segment,
        any_value(a.variant) as variant,
        coalesce(sum(x.net_revenue) filter (where x.happened_at < a.assigned_at), 0)::double as pre_revenue,
        (count(*) filter (where not x.is_event and x.happened_at >= a.assigned_at) > 0)::double as conversion,
        coalesce(sum(x.net_revenue) filter (where x.happened_at >= a.assigned_at), 0)::double
            as revenue_per_customer,
        (count(*) filter (where not x.is_event and x.happened_at >= a.assigned_at))::double as orders_per_customer,
        coalesce(bool_or(x.is_event and x.happened_at >= a.assigned_at), false)::double as event_rate
    from assignments as a
    join span_activity as x
        on x.customer_id = a.customer_id
        and x.happened_at >= a.assigned_at - to_days(cast($window_days as integer))
        and x.happened_at < a.window_end_at
    group by a.customer_id
),

unit_counts as (
    select
        segment,
        variant,
        count(*) as n,
        count(*) filter (where window_end_at > (select as_of from facts)) as units_window_incomplete
    from assignments
    group by segment, variant
),

-- Every metric's sums in one pass over the active units (one row per segment and variant), turned into one
-- row per metric afterwards: cheaper than unpivoting the units first and grouping four times as many rows.
active_sums as (
    select
        segment,
        variant,
        sum(pre_revenue) as covariate_total,
        sum(pre_revenue::double * pre_revenue::double) as covariate_sum_squares,
        sum(conversion) as conversion_total,
        sum(conversion * conversion) as conversion_sum_squares,
        sum(conversion * pre_revenue) as conversion_cross_products,
        sum(revenue_per_customer) as revenue_total,
        sum(revenue_per_customer::double * revenue_per_customer::double) as revenue_sum_squares,
        sum(revenue_per_customer * pre_revenue) as revenue_cross_products,
        sum(orders_per_customer) as orders_total,
        sum(orders_per_customer * orders_per_customer) as orders_sum_squares,
        sum(orders_per_customer * pre_revenue) as orders_cross_products,
        sum(event_rate) as event_rate_total,
        sum(event_rate * event_rate) as event_rate_sum_squares,
        sum(event_rate * pre_revenue) as event_rate_cross_products
    from active_units
    group by segment, variant
),

variant_sums as (
    select
        u.segment,
        u.variant,
        u.n,
        u.units_window_incomplete,
        coalesce(s.covariate_total, 0) as covariate_total,
        coalesce(s.covariate_sum_squares, 0) as covariate_sum_squares,
        coalesce(s.conversion_total, 0) as conversion_total,
        coalesce(s.conversion_sum_squares, 0) as conversion_sum_squares,
        coalesce(s.conversion_cross_products, 0) as conversion_cross_products,
        coalesce(s.revenue_total, 0) as revenue_total,
        coalesce(s.revenue_sum_squares, 0) as revenue_sum_squares,
        coalesce(s.revenue_cross_products, 0) as revenue_cross_products,
        coalesce(s.orders_total, 0) as orders_total,
        coalesce(s.orders_sum_squares, 0) as orders_sum_squares,
        coalesce(s.orders_cross_products, 0) as orders_cross_products,
        coalesce(s.event_rate_total, 0) as event_rate_total,
        coalesce(s.event_rate_sum_squares, 0) as event_rate_sum_squares,
        coalesce(s.event_rate_cross_products, 0) as event_rate_cross_products
    from unit_counts as u
    left join active_sums as s using (segment, variant)
),

-- One row per metric: the four metrics' columns stacked (UNPIVOT in DuckDB; written as UNION ALL so that Spark
-- runs the same SQL).
metric_sums as (
    select segment, variant, n, units_window_incomplete, covariate_total, covariate_sum_squares,
        'conversion' as metric, conversion_total as total, conversion_sum_squares as sum_squares,
        conversion_cross_products as cross_products
    from variant_sums
    union all
    select segment, variant, n, units_window_incomplete, covariate_total, covariate_sum_squares,
        'revenue_per_customer' as metric, revenue_total as total, revenue_sum_squares as sum_squares,
        revenue_cross_products as cross_products
    from variant_sums
    union all
    select segment, variant, n, units_window_incomplete, covariate_total, covariate_sum_squares,
        'orders_per_customer' as metric, orders_total as total, orders_sum_squares as sum_squares,
        orders_cross_products as cross_products
    from variant_sums
    union all
    select segment, variant, n, units_window_incomplete, covariate_total, covariate_sum_squares,
        'event_rate' as metric, event_rate_total as total, event_rate_sum_squares as sum_squares,
        event_rate_cross_products as cross_products
    from variant_sums
),

final as (
    select
        segment,
        variant,
        metric,
        n,
        total,
        sum_squares,
        covariate_total,
        covariate_sum_squares,
        cross_products,
        units_window_incomplete
    from metric_sums
)

select * from final
order by segment, variant, metric
