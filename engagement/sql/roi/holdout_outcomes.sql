-- Grain: one row per arm (control, treatment) of experiment $experiment_id among customers of the
-- selected acquisition channels ($channels; empty = all): customers, and the sum and sum of squares
-- of each customer's net revenue in the $outcome_days days from assignment. The arm $control_variant is the
-- control (engagement.experiments.analysis.control_arm); the other arms are pooled as treatment.
with selected_customers as (
    select customer_id
    from customer_summary
    where len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel)
),

assigned as (
    select
        a.customer_id,
        a.assigned_at,
        case when a.variant = $control_variant then 'control' else 'treatment' end as arm
    from experiment_assignments as a
    semi join selected_customers using (customer_id)
    where a.experiment_id = $experiment_id
),

per_customer as (
    select
        a.customer_id,
        any_value(a.arm) as arm,
        coalesce(sum(o.net_revenue), 0)::double as revenue,
        count(o.order_id) as orders
    from assigned as a
    left join order_facts as o
        on o.customer_id = a.customer_id
       and o.ordered_at >= a.assigned_at
       and o.ordered_at < a.assigned_at + to_days($outcome_days::integer)
    group by a.customer_id
),

final as (
    select
        arm,
        count(*) as customers,
        count(*) filter (where orders > 0) as buyers,
        sum(revenue) as revenue,
        sum(revenue::double * revenue::double) as revenue_squares
    from per_customer
    group by arm
    order by arm
)

select * from final
