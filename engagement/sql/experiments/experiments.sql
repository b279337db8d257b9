-- Grain: one row per experiment per variant: units assigned and the assignment period.
-- Feeds the experiment picker and the sample-ratio check (every assigned unit counts, whatever happened after).
with assignments as (
    select experiment_id, variant, assigned_at
    from experiment_assignments
),

final as (
    select
        experiment_id,
        variant,
        count(*) as units,
        min(assigned_at) as first_assigned_at,
        max(assigned_at) as last_assigned_at
    from assignments
    group by experiment_id, variant
)

select * from final
order by experiment_id, variant
