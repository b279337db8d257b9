-- Grain: one row per experiment in experiment_assignments: its arms, size and assignment span, and
-- whether it has a control arm (a holdout the ROI page can measure incremental revenue against), and
-- the moment the data ends (to tell whether every outcome window is complete).
with final as (
    select
        experiment_id,
        list(distinct variant order by variant) as variants,
        count(*) as customers,
        count(*) filter (where lower(variant) in ('control', 'holdout')) as control_customers,
        min(assigned_at) as first_assigned_at,
        max(assigned_at) as last_assigned_at
    from experiment_assignments
    group by experiment_id
    order by first_assigned_at desc, experiment_id
)

select
    final.*,
    control_customers > 0 and control_customers < customers as has_control,
    (select as_of from dataset_facts) as data_as_of
from final
